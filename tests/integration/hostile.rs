//! Hostile input: arguments with control characters, arguments as long as Linux
//! allows, arguments and stdin that are not UTF-8 or hold NUL bytes, vault files
//! far too large, forged references and absurd KDF headers (beyond the ones
//! `tamper.rs` covers). Every one must end in one clear `intervault:` line with the
//! contract's exit code (2 for bad arguments, 6 for hostile vault data), never a
//! panic (exit 101, "panicked") nor an abort, must not echo control characters to
//! the terminal, and must leave the vault as it was.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{
    cheap_vault, edit_root, open_with, restore, root_path, set_env, write_private, BIN,
};
use crate::support::{Run, TestVault};

const SECRET: &str = "hostile-canary-s3cr3t";

/// The longest single argument Linux passes to a program: MAX_ARG_STRLEN (32
/// pages) including the terminating NUL. A 1 MB argument cannot reach the
/// binary at all (execve fails with E2BIG); see
/// [`a_megabyte_argument_never_reaches_the_binary`].
const LONGEST_ARG: usize = 32 * 4096 - 1;

fn vault() -> TestVault {
    let v = cheap_vault();
    open_with(&v, "acme", &[("ftp", SECRET)]);
    v
}

/// Runs the binary with raw (possibly non-UTF-8) arguments and `stdin`.
fn run_os(v: &TestVault, args: &[OsString], stdin: &[u8]) -> Run {
    let mut c = v.cmd(&[]);
    c.args(args).write_stdin(stdin.to_vec());
    Run(c.output().expect("run intervault"))
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// `args` with `raw` put in place of the `@` placeholder (`--@` gives a flag
/// whose name is `raw`).
fn with_raw(args: &[&str], raw: &[u8]) -> Vec<OsString> {
    args.iter()
        .map(|a| match a.split_once('@') {
            Some((before, after)) => {
                let mut bytes = before.as_bytes().to_vec();
                bytes.extend_from_slice(raw);
                bytes.extend_from_slice(after.as_bytes());
                OsStr::from_bytes(&bytes).to_owned()
            }
            None => OsString::from(a),
        })
        .collect()
}

/// The checks every hostile case shares: `code`, one `intervault:` line (checked
/// by [`Run::fails`]), no panic, no control character but the final newline (a
/// hostile value must not reach the terminal raw), no secret, nothing on stdout,
/// and at most `max_len` bytes of stderr.
#[track_caller]
fn refused(run: Run, code: i32, max_len: usize, ctx: &str) -> Run {
    let err = run.stderr();
    assert!(
        run.code() != 101 && !err.contains("panicked") && run.0.status.signal().is_none(),
        "{ctx}: crashed: {:?} {err}",
        run.0.status
    );
    assert_eq!(run.code(), code, "{ctx}: {}", abbreviate(&err));
    assert_eq!(
        err.lines().count(),
        1,
        "{ctx}: not one line: {}",
        abbreviate(&err)
    );
    assert!(
        !has_raw_controls(&run.0.stderr[..run.0.stderr.len() - 1]),
        "{ctx}: raw control character on stderr: {err:?}"
    );
    assert!(err.len() <= max_len, "{ctx}: {} bytes of stderr", err.len());
    assert!(!err.contains(SECRET), "{ctx}: the secret leaked");
    assert_eq!(run.stdout(), "", "{ctx}: stdout");
    run.fails(code)
}

/// C0 controls but tab and newline, DEL, and C1 controls (U+0080..U+009F, which
/// are 0xC2 0x80..0x9F in UTF-8): what can drive a terminal.
fn has_raw_controls(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| b < 0x20 && b != b'\n' && b != b'\t' || b == 0x7f)
        || bytes
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..0xa0).contains(&w[1]))
}

fn abbreviate(s: &str) -> String {
    if s.len() <= 300 {
        s.to_owned()
    } else {
        let cut = (0..=300)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}... ({} bytes)", &s[..cut], s.len())
    }
}

/// Short errors: the message, not the whole hostile value.
const SHORT: usize = 1024;

#[test]
fn control_characters_in_ids_names_and_texts_are_refused() {
    let v = vault();
    let before = v.snapshot();
    for bad in [
        "a\x01b",
        "a\nb",
        "a\tb",
        "a\rb",
        "a\x7fb",
        "a\x1b[31mb",
        "\x1b]0;pwned\x07",
        "\x1b[2J",
        "a\u{85}b",
        "a\u{202e}b",
    ] {
        let cases: Vec<Vec<&str>> = vec![
            vec!["open", bad, "--client", "C", "--for", "1h"],
            vec!["open", "new", "--client", bad, "--for", "1h"],
            vec!["open", "new", "--client", "C", "--for", "1h", "--note", bad],
            vec!["add", "acme", bad, "--kind", "other"],
            vec!["add", "acme", "x", "--kind", "other", "--url", bad],
            vec!["add", "acme", "x", "--kind", "other", "--user", bad],
            vec!["add", "acme", "x", "--kind", "other", "--note", bad],
            vec!["add", "acme", "x", "--kind", bad],
            vec!["get", bad, "ftp"],
            vec!["get", "acme", bad],
            vec!["show", bad],
            vec!["rm", "acme", bad],
            vec!["close", bad],
            vec!["extend", bad, "--until", "2099-01-01", "--reason", "r"],
            vec!["extend", "acme", "--until", bad, "--reason", "r"],
            vec!["extend", "acme", "--until", "2099-01-01", "--reason", bad],
            vec!["open", "new", "--client", "C", "--for", bad],
            vec!["exec", "acme", "--only", bad, "--", "true"],
        ];
        for args in cases {
            let ctx = format!("{args:?}");
            // Tabs and bidi overrides are refused in free text too (client, note,
            // URL, user, reason): they misalign or reorder what a terminal shows.
            let run = v.run_with_stdin(&args, "value\n");
            refused(run, 2, SHORT, &ctx);
            assert_eq!(v.snapshot(), before, "{ctx}: the vault changed");
        }
    }
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
}

/// Regression: a tab or a bidi override such as U+202E was accepted in a client
/// name or note and printed as it was, misaligning `list` or reordering what a
/// terminal shows. Both are refused now; and whatever is stored comes back out
/// without a raw control character in `list`, `show` and their JSON.
#[test]
fn what_is_stored_is_never_printed_raw() {
    let v = vault();
    for args in [
        &["open", "u1", "--client", "A\u{202e}B", "--for", "1h"][..],
        &[
            "open", "u2", "--client", "C\tD", "--for", "1h", "--note", "x\ty",
        ],
        &[
            "open", "u3", "--client", "C", "--for", "1h", "--note", "x\u{85}y",
        ],
    ] {
        v.run(args).fails(2);
    }
    let accepted: Vec<&str> = ["u1", "u2", "u3"]
        .into_iter()
        .filter(|id| v.run(&["show", id]).code() == 0)
        .collect();
    let mut commands: Vec<Vec<&str>> = vec![vec!["list", "--all"], vec!["list", "--all", "--json"]];
    for id in &accepted {
        commands.push(vec!["show", id]);
        commands.push(vec!["show", id, "--json"]);
    }
    for args in commands {
        let run = v.run(&args).success();
        assert!(
            !has_raw_controls(&run.0.stdout),
            "{args:?}: {:?}",
            run.stdout()
        );
    }
}

/// Linux refuses a single argument of MAX_ARG_STRLEN or more at execve: a 1 MB
/// ID, client or note never reaches intervault, and the caller gets E2BIG. The
/// tests below use the longest argument that does reach it.
#[test]
fn a_megabyte_argument_never_reaches_the_binary() {
    let v = vault();
    let mega = "a".repeat(1 << 20);
    let mut c = Command::new(BIN);
    c.args(["open", &mega, "--client", "C", "--for", "1h"]);
    set_env(&mut c, &v);
    let err = c
        .stdin(Stdio::null())
        .output()
        .expect_err("execve should refuse a 1 MB argument");
    assert_eq!(err.raw_os_error(), Some(7), "{err}"); // E2BIG
}

#[test]
fn the_longest_arguments_linux_allows_are_refused_with_one_short_line() {
    let v = vault();
    let before = v.snapshot();
    let long = "a".repeat(LONGEST_ARG);
    let note = "n".repeat(100_000);
    let path = format!("/tmp/{}", "p".repeat(LONGEST_ARG - 5));
    let l = long.as_str();
    let long_flag = format!("--{}", &l[2..]);
    // (arguments, exit code, longest acceptable stderr)
    let cases: Vec<(Vec<&str>, i32, usize)> = vec![
        (vec!["open", l, "--client", "C", "--for", "1h"], 2, SHORT),
        (vec!["open", "new", "--client", l, "--for", "1h"], 2, SHORT),
        (
            vec![
                "open", "new", "--client", "C", "--for", "1h", "--note", &note,
            ],
            2,
            SHORT,
        ),
        (
            vec!["open", "new", "--client", "C", "--for", "1h", "--note", l],
            2,
            SHORT,
        ),
        (vec!["open", "new", "--client", "C", "--for", l], 2, SHORT),
        (vec!["open", "new", "--client", "C", "--until", l], 2, SHORT),
        (vec!["add", "acme", l, "--kind", "other"], 2, SHORT),
        (vec!["add", "acme", "x", "--kind", l], 2, SHORT),
        (
            vec!["add", "acme", "x", "--kind", "other", "--url", l],
            2,
            SHORT,
        ),
        (
            vec!["add", "acme", "x", "--kind", "other", "--user", l],
            2,
            SHORT,
        ),
        (
            vec!["add", "acme", "x", "--kind", "other", "--note", l],
            2,
            SHORT,
        ),
        (vec!["get", l, "ftp"], 2, SHORT),
        (vec!["get", "acme", l], 2, SHORT),
        (
            vec!["extend", "acme", "--until", "2099-01-01", "--reason", l],
            2,
            SHORT,
        ),
        (vec!["exec", "acme", "--only", l, "--", "true"], 2, SHORT),
        // Values clap itself rejects are quoted whole (one line, not amplified).
        (
            vec!["get", "acme", "ftp", "--field", l],
            2,
            LONGEST_ARG + SHORT,
        ),
        (vec![l], 2, LONGEST_ARG + SHORT),
        (vec!["list", &long_flag], 2, LONGEST_ARG + SHORT),
        // Paths too long for the kernel (ENAMETOOLONG).
        (vec!["--vault", &path, "list"], 1, LONGEST_ARG + SHORT),
        (
            vec!["--passphrase-file", &path, "get", "acme", "ftp"],
            4,
            LONGEST_ARG + SHORT,
        ),
    ];
    for (args, code, max_len) in cases {
        let ctx = format!(
            "{:?}",
            args.iter().map(|a| abbreviate(a)).collect::<Vec<_>>()
        );
        let started = Instant::now();
        let run = v.run_with_stdin(&args, "value\n");
        refused(run, code, max_len, &ctx);
        assert!(started.elapsed() < Duration::from_secs(5), "{ctx}: slow");
    }
    assert_eq!(v.snapshot(), before);
    // exec of a command whose path is too long: one line, nothing run, 126 as a
    // shell gives for ENAMETOOLONG (regression: it was 1 with "try again").
    let run = v.run(&["exec", "acme", "--", &path]);
    let code = run.code();
    assert_eq!(code, 126, "{}", abbreviate(&run.stderr()));
    assert!(
        run.stderr().contains("shorter path"),
        "{}",
        abbreviate(&run.stderr())
    );
    refused(
        run,
        code,
        LONGEST_ARG + SHORT,
        "exec of a too long command path",
    );
}

#[test]
fn invalid_utf8_arguments_are_refused_as_usage_errors() {
    let v = vault();
    let before = v.snapshot();
    for raw in [
        &b"\xff\xfe"[..],
        b"acme\xff",
        b"\xc3\x28",
        b"\xed\xa0\x80",
        b"\xf8\x88\x80\x80\x80",
    ] {
        for args in [
            &["open", "@", "--client", "C", "--for", "1h"][..],
            &["open", "new", "--client", "@", "--for", "1h"],
            &["open", "new", "--client", "C", "--for", "1h", "--note", "@"],
            &["open", "new", "--client", "C", "--for", "@"],
            &["open", "new", "--client", "C", "--until", "@"],
            &["add", "acme", "@", "--kind", "other"],
            &["add", "acme", "x", "--kind", "@"],
            &["add", "acme", "x", "--kind", "other", "--url", "@"],
            &["add", "acme", "x", "--kind", "other", "--user", "@"],
            &["add", "acme", "x", "--kind", "other", "--note", "@"],
            &["get", "@", "ftp"],
            &["get", "acme", "@"],
            &["get", "acme", "ftp", "--field", "@"],
            &["show", "@"],
            &["rm", "acme", "@"],
            &["close", "@"],
            &["extend", "acme", "--until", "2099-01-01", "--reason", "@"],
            &["exec", "acme", "--only", "@", "--", "true"],
            &["@"],
            &["list", "--@"],
        ] {
            let run = run_os(&v, &with_raw(args, raw), b"value\n");
            refused(run, 2, SHORT, &format!("{args:?} with {raw:?}"));
        }
    }
    assert_eq!(v.snapshot(), before);
}

/// Paths are not text: a vault or passphrase file under a non-UTF-8 name works,
/// and a missing one is reported as such, its name shown escaped or replaced.
#[test]
fn non_utf8_paths_work_or_fail_cleanly() {
    let v = vault();
    let tmp = v.dir.parent().expect("parent").to_owned();
    let odd = |name: &[u8]| tmp.join(OsStr::from_bytes(name));
    // A missing vault, a missing passphrase file.
    let missing = odd(b"no-vault-\xff\xfe");
    let run = run_os(
        &v,
        &[
            OsString::from("--vault"),
            missing.clone().into(),
            "list".into(),
        ],
        b"",
    );
    refused(run, 5, SHORT, "missing non-UTF-8 vault");
    let run = run_os(
        &v,
        &[
            "--passphrase-file".into(),
            odd(b"no-pass-\xff").into(),
            "get".into(),
            "acme".into(),
            "ftp".into(),
        ],
        b"",
    );
    refused(run, 4, SHORT, "missing non-UTF-8 passphrase file");
    // A whole life cycle in a vault whose path is not UTF-8, unlocked from a
    // passphrase file whose path is not UTF-8 either.
    let dir = odd(b"vault-\xff\xfe");
    let pass = odd(b"pass-\xe9");
    write_private(&pass, b"another passphrase\n");
    let base: Vec<OsString> = vec![
        "--vault".into(),
        dir.clone().into(),
        "--passphrase-file".into(),
        pass.clone().into(),
    ];
    let go = |args: &[&str], stdin: &[u8]| {
        let mut all = base.clone();
        all.extend(os(args));
        let mut c = v.cmd(&[]);
        c.env_remove("INTERVAULT_PASSPHRASE")
            .env_remove("INTERVAULT_DIR");
        c.args(all).write_stdin(stdin.to_vec());
        Run(c.output().expect("run"))
    };
    go(
        &[
            "init",
            "--kdf-memory",
            "1",
            "--kdf-iterations",
            "1",
            "--kdf-parallelism",
            "1",
        ],
        b"",
    )
    .success();
    go(&["open", "odd", "--client", "Odd", "--for", "1h"], b"").success();
    go(&["add", "odd", "k", "--kind", "other"], b"v\n").success();
    assert_eq!(go(&["get", "odd", "k"], b"").success().stdout(), "v\n");
    // exec passes a non-UTF-8 argument through untouched.
    let mut c = v.cmd(&[]);
    c.args(["exec", "acme", "--", "printf", "%s"])
        .arg(OsStr::from_bytes(b"\xff\xfe"));
    let out = c.output().expect("run");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"\xff\xfe");
}

#[test]
fn hostile_stdin_for_add() {
    let v = vault();
    let before = v.snapshot();
    // (stdin, extra arguments, exit code) for refusals.
    let big = vec![b'x'; 1024 * 1024 + 1];
    let refusals: Vec<(&[u8], &[&str])> = vec![
        (b"\xff\xfe\n", &[]),
        (b"ok\xff\n", &[]),
        (b"\xc3\x28", &["--multiline"]),
        (b"\xed\xa0\x80\n", &[]),
        (b"\n", &[]),
        (b"", &[]),
        (b"\r\n", &[]),
        (b"one\ntwo\n", &[]),
        (&big, &[]),
        (b"secret\n\xff\xfe\n", &["--totp"]),
        (b"secret\n", &["--totp"]),
    ];
    for (stdin, extra) in refusals {
        let mut args = vec!["add", "acme", "new", "--kind", "other"];
        args.extend(extra);
        let run = run_os(&v, &os(&args), stdin);
        let ctx = format!(
            "stdin {:?}, {extra:?}",
            abbreviate(&String::from_utf8_lossy(stdin))
        );
        refused(run, 2, SHORT, &ctx);
        assert_eq!(v.snapshot(), before, "{ctx}");
    }
    // NUL bytes are valid UTF-8: kept exactly, printed exactly; exec refuses to put
    // them in an environment variable, in one line.
    let run = run_os(
        &v,
        &os(&["add", "acme", "nul", "--kind", "other"]),
        b"a\0b\0\n",
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let got = v.run(&["get", "acme", "nul"]).success();
    assert_eq!(got.0.stdout, b"a\0b\0\n");
    let run = v.run(&["exec", "acme", "--only", "nul", "--", "true"]);
    refused(run, 2, SHORT, "exec of a secret with NUL");
    // The largest secret accepted (1 MiB) comes back whole; exec reports that the
    // kernel cannot take it as one variable.
    let mib = vec![b'y'; 1024 * 1024];
    let run = run_os(
        &v,
        &os(&["add", "acme", "mib", "--kind", "other", "--multiline"]),
        &mib,
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        v.run(&["get", "acme", "mib"]).success().0.stdout.len(),
        mib.len() + 1
    );
    let run = v.run(&["exec", "acme", "--only", "mib", "--", "true"]);
    refused(run, 126, SHORT, "exec of a 1 MiB secret");
}

#[test]
fn hostile_passphrase_files() {
    let v = vault();
    let tmp = v.dir.parent().expect("parent").to_owned();
    let file = tmp.join("pass");
    for content in [
        &b"\xff\xfe\n"[..],
        b"correct horse\xff battery staple\n",
        b"\xc3\x28",
        b"correct horse battery staple\0\n",
        b"\0",
        b"",
        b"\n",
    ] {
        write_private(&file, content);
        let started = Instant::now();
        let run = run_os(
            &v,
            &os(&[
                "get",
                "acme",
                "ftp",
                "--passphrase-file",
                file.to_str().expect("path"),
            ]),
            b"",
        );
        refused(run, 4, SHORT, &format!("passphrase file {content:?}"));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    // Not files: a directory, a device that never ends, a 100 MB sparse file.
    let sparse = tmp.join("sparse");
    fs::File::create(&sparse)
        .expect("create")
        .set_len(100 << 20)
        .expect("set_len");
    for path in [tmp.as_path(), Path::new("/dev/zero"), sparse.as_path()] {
        let started = Instant::now();
        let run = run_os(
            &v,
            &os(&[
                "get",
                "acme",
                "ftp",
                "--passphrase-file",
                path.to_str().expect("path"),
            ]),
            b"",
        );
        refused(
            run,
            4,
            SHORT,
            &format!("passphrase file {}", path.display()),
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}",
            path.display()
        );
    }
    // A new vault from a passphrase file with a NUL in it: the passphrase is the
    // whole line, NUL included, and works again the same way.
    write_private(&file, b"pass\0word\n");
    let fresh = tmp.join("fresh");
    let go = |args: &[&str]| {
        let mut c = v.cmd(args);
        c.env_remove("INTERVAULT_PASSPHRASE")
            .env("INTERVAULT_DIR", &fresh)
            .env("INTERVAULT_PASSPHRASE_FILE", &file);
        Run(c.output().expect("run"))
    };
    go(&[
        "init",
        "--kdf-memory",
        "1",
        "--kdf-iterations",
        "1",
        "--kdf-parallelism",
        "1",
    ])
    .success();
    go(&["list"]).success();
    write_private(&file, b"pass\n");
    refused(go(&["list"]), 4, SHORT, "passphrase cut at the NUL");
}

/// `sh -c 'ulimit -d KIB; exec BIN args'`: with the data segment (heap) capped, a
/// command that tried to read a 100 MB file would abort instead of failing cleanly.
fn run_capped(v: &TestVault, args: &[&str], keyless: bool) -> (Run, Duration) {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(r#"ulimit -d 65536 && exec "$0" "$@""#)
        .arg(BIN)
        .args(args);
    set_env(&mut c, v);
    if keyless {
        c.env_remove("INTERVAULT_PASSPHRASE");
    }
    let started = Instant::now();
    let out = c.stdin(Stdio::null()).output().expect("run");
    (Run(out), started.elapsed())
}

/// The peak resident memory of `args`, from `/usr/bin/time -v`, when installed.
fn max_rss_kib(v: &TestVault, args: &[&str]) -> Option<u64> {
    if !Path::new("/usr/bin/time").exists() {
        return None;
    }
    let mut c = Command::new("/usr/bin/time");
    c.arg("-v").arg(BIN).args(args);
    set_env(&mut c, v);
    let out = c.stdin(Stdio::null()).output().expect("run time");
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|n| n.trim().parse().ok())
}

#[test]
fn huge_vault_files_are_refused_before_being_read() {
    let v = vault();
    let pristine = v.snapshot();
    let files: Vec<PathBuf> = pristine.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        files.len(),
        5,
        "vault.json, the history, a record, a key file, a credentials file: {files:?}"
    );
    for file in &files {
        // Sparse: 100 MB that take no disk space, all zeros past the real bytes.
        fs::OpenOptions::new()
            .write(true)
            .open(file)
            .expect("open")
            .set_len(100 << 20)
            .expect("set_len");
        let mut cases = vec![(&["get", "acme", "ftp"][..], false), (&["list"][..], false)];
        if file.ends_with("vault.json") {
            cases.push((&["sweep"][..], true));
        }
        for (args, keyless) in cases {
            let ctx = format!("{} at 100 MB, {args:?}", file.display());
            let (run, took) = run_capped(&v, args, keyless);
            // `list` reads the index (vault.json, records, history) and no key or
            // credentials file; `get` reads one record, its key and credentials,
            // and no history.
            let is = |name: &str| file.to_string_lossy().contains(name);
            let read = match args[0] {
                "get" => !is("history."),
                _ => is("vault.json") || is("history.") || is("records/"),
            };
            if read {
                refused(run, 6, SHORT, &ctx);
            } else {
                assert_eq!(run.code(), 0, "{ctx}: {}", run.stderr());
            }
            assert!(took < Duration::from_millis(900), "{ctx}: took {took:?}");
        }
        if let Some(rss) = max_rss_kib(&v, &["get", "acme", "ftp"]) {
            assert!(rss < 50 * 1024, "{}: peak RSS {rss} KiB", file.display());
        }
        restore(&v, &pristine);
    }
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
}

/// The audit trail is read from its end by every fetch, and line by line by
/// `audit verify`: 100 MB of garbage after its records is refused fast, in little
/// memory, and never taken for an interrupted write; `list`, which fetches
/// nothing, still works.
#[test]
fn a_huge_audit_trail_is_refused_fast_and_in_little_memory() {
    let v = vault();
    let log = v.dir.join("audit/audit.log");
    fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .expect("open")
        .set_len(100 << 20)
        .expect("set_len");
    for args in [&["get", "acme", "ftp"][..], &["audit", "verify"][..]] {
        let ctx = format!("audit.log at 100 MB, {args:?}");
        let (run, took) = run_capped(&v, args, false);
        let run = refused(run, 6, SHORT, &ctx);
        assert!(
            run.stderr().contains("audit trail is broken"),
            "{ctx}: {}",
            run.stderr()
        );
        assert!(took < Duration::from_millis(900), "{ctx}: took {took:?}");
        if let Some(rss) = max_rss_kib(&v, args) {
            assert!(rss < 50 * 1024, "{ctx}: peak RSS {rss} KiB");
        }
    }
    assert_eq!(run_capped(&v, &["list"], false).0.code(), 0);
}

/// Runs `args` and asserts a fast, one-line exit 6.
#[track_caller]
fn refused_fast(v: &TestVault, args: &[&str], keyless: bool, ctx: &str) {
    let mut c = v.cmd(args);
    c.env("INTERVAULT_NEW_PASSPHRASE", "never used");
    if keyless {
        c.env_remove("INTERVAULT_PASSPHRASE");
    }
    let started = Instant::now();
    let run = Run(c.output().expect("run"));
    let took = started.elapsed();
    refused(run, 6, 4 * SHORT, &format!("{ctx}, {args:?}"));
    assert!(
        took < Duration::from_millis(900),
        "{ctx}, {args:?}: took {took:?}"
    );
}

/// `tamper.rs` covers memory 5 GB and 2^32 KiB, iterations 0 and 1000, parallelism
/// 0 and 1000. Here: every cost at u32::MAX, values of the wrong type or out of
/// any integer range, a missing cost, and a salt or algorithm that is not one.
#[test]
fn hostile_kdf_headers_are_refused_before_any_work() {
    let v = vault();
    let pristine = v.snapshot();
    let mut edits: Vec<(String, Value)> = Vec::new();
    for field in ["memory_kib", "iterations", "parallelism"] {
        for value in [
            Value::from(u32::MAX),
            Value::from(u64::MAX),
            Value::from(-1),
            Value::from(1.5),
            serde_json::json!(1e300),
            Value::from("1024"),
            Value::Null,
            serde_json::json!([1024]),
        ] {
            edits.push((field.to_owned(), value));
        }
    }
    edits.push(("salt".to_owned(), Value::from("A".repeat(1 << 20))));
    edits.push(("salt".to_owned(), Value::from("")));
    edits.push(("salt".to_owned(), Value::from("not base64 at all!")));
    edits.push(("algorithm".to_owned(), Value::from("argon2i")));
    edits.push(("algorithm".to_owned(), Value::from("")));
    for (field, value) in edits {
        let shown = abbreviate(&value.to_string());
        edit_root(&v, |root| root["kdf"][&field] = value.clone());
        for args in [&["get", "acme", "ftp"][..], &["list"], &["passwd"]] {
            refused_fast(&v, args, false, &format!("kdf.{field} = {shown}"));
        }
        refused_fast(&v, &["sweep"], true, &format!("kdf.{field} = {shown}"));
        restore(&v, &pristine);
    }
    for field in ["memory_kib", "salt", "algorithm"] {
        edit_root(&v, |root| {
            root["kdf"].as_object_mut().expect("kdf").remove(field);
        });
        refused_fast(
            &v,
            &["get", "acme", "ftp"],
            false,
            &format!("no kdf.{field}"),
        );
        restore(&v, &pristine);
    }
}

/// Issue 12, item 7: each KDF cost within its own cap, the product far above
/// the cap on memory times passes (4 GiB x 100 passes is minutes of work). Refused
/// with exit 6 in well under 2 s, by every command, keyless or not, and by
/// `backup verify` and `restore` of a backup whose header asks for it.
#[test]
fn kdf_costs_whose_product_is_absurd_are_refused_within_milliseconds_issue_12() {
    let v = vault();
    let pristine = v.snapshot();
    let table = [
        (4u64 << 20, 100u64, 64u64), // the review's header
        (4 << 20, 3, 4),
        (1 << 20, 9, 1),
        (2 << 20, 5, 8),
    ];
    for (m, t, p) in table {
        let ctx = format!("m = {m} KiB, t = {t}, p = {p}");
        edit_root(&v, |root| {
            root["kdf"]["memory_kib"] = Value::from(m);
            root["kdf"]["iterations"] = Value::from(t);
            root["kdf"]["parallelism"] = Value::from(p);
        });
        for args in [&["get", "acme", "ftp"][..], &["list"], &["passwd"]] {
            refused_fast(&v, args, false, &ctx);
        }
        refused_fast(&v, &["sweep"], true, &ctx);
        refused_fast(&v, &["status"], true, &ctx);
        restore(&v, &pristine);
    }
    // The same header inside a backup: verify and restore refuse it before
    // asking for anything or writing anything.
    let dir = v.dir.with_file_name("bk");
    v.run(&["backup", "--to", dir.to_str().expect("utf-8")])
        .success();
    let file = fs::read_dir(&dir)
        .expect("backups")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "backup"))
        .expect("a backup");
    let mut backup: Value = serde_json::from_slice(&fs::read(&file).expect("read")).expect("json");
    let b64 = base64_engine();
    let mut root: Value = serde_json::from_slice(
        &base64::Engine::decode(&b64, backup["files"]["vault.json"].as_str().expect("root"))
            .expect("base64"),
    )
    .expect("root json");
    root["kdf"]["memory_kib"] = Value::from(4u64 << 20);
    root["kdf"]["iterations"] = Value::from(100);
    root["kdf"]["parallelism"] = Value::from(64);
    backup["files"]["vault.json"] =
        Value::from(base64::Engine::encode(&b64, root.to_string().as_bytes()));
    write_private(&file, backup.to_string().as_bytes());
    let into = v.dir.with_file_name("restored");
    let path = file.to_str().expect("utf-8");
    let into_arg = into.to_str().expect("utf-8");
    refused_fast(&v, &["backup", "verify", path], false, "backup verify");
    refused_fast(&v, &["restore", path, "--into", into_arg], false, "restore");
    assert!(!into.exists(), "restore wrote something");
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
}

fn base64_engine() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Issue 12, item 7: a KDF header within the caps that this machine cannot give
/// the memory for (a `ulimit -v` here) is one clean line and exit 1, not an
/// abort (exit 134) from a failed allocation.
#[test]
fn kdf_memory_that_cannot_be_allocated_is_a_clean_error_issue_12() {
    let v = vault();
    let pristine = v.snapshot();
    // 1 GiB, 1 pass: allowed; the address space is capped at 512 MiB.
    edit_root(&v, |root| {
        root["kdf"]["memory_kib"] = Value::from(1u64 << 20);
        root["kdf"]["iterations"] = Value::from(1);
    });
    let edited = v.snapshot();
    for args in [&["get", "acme", "ftp"][..], &["list"]] {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(r#"ulimit -v 524288 && exec "$0" "$@""#)
            .arg(BIN)
            .args(args);
        set_env(&mut c, &v);
        let started = Instant::now();
        let out = c.stdin(Stdio::null()).output().expect("run");
        let took = started.elapsed();
        let run = refused(Run(out), 1, SHORT, &format!("ulimit -v, {args:?}"));
        assert!(
            run.stderr().contains("cannot allocate the 1024 MiB"),
            "{}",
            run.stderr()
        );
        assert!(took < Duration::from_secs(2), "{args:?}: took {took:?}");
    }
    assert!(v.snapshot() == edited, "the vault changed");
    restore(&v, &pristine);
}

/// JSON that is hostile as JSON: nested 100 000 deep (a recursive parser without a
/// limit would overflow its stack), or a number with a million digits.
#[test]
fn pathological_json_is_refused_without_crashing() {
    let v = vault();
    let pristine = v.snapshot();
    let root = fs::read_to_string(root_path(&v)).expect("read");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let kdf_at = root.find("\"kdf\":").expect("kdf") + "\"kdf\":".len();
    let kdf_end = kdf_at + root[kdf_at..].find('}').expect("end of kdf") + 1;
    for (what, bytes) in [
        ("nested arrays", deep.clone()),
        (
            "nested objects",
            format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000)),
        ),
        (
            "a deep kdf",
            format!("{}{deep}{}", &root[..kdf_at], &root[kdf_end..]),
        ),
        (
            "a huge number",
            root.replacen(
                "\"version\":2",
                &format!("\"version\":2{}", "0".repeat(1 << 20)),
                1,
            ),
        ),
    ] {
        write_private(&root_path(&v), bytes.as_bytes());
        refused_fast(&v, &["list"], false, what);
        refused_fast(&v, &["sweep"], true, what);
        restore(&v, &pristine);
    }
}

/// The clear expiry table is the one thing a keyless sweep acts on: a reference
/// there becomes a file name. One that is not 32 hex digits (a path, `..`, an
/// absolute path, an empty one) is refused before anything is touched.
#[test]
fn forged_references_cannot_reach_outside_the_vault() {
    let v = vault();
    let pristine = v.snapshot();
    let tmp = v.dir.parent().expect("parent").to_owned();
    let victims = ["victim.age", "victim.1.age", "victim"];
    for name in victims {
        fs::write(tmp.join(name), b"must survive").expect("write victim");
    }
    let dir = v.dir.to_str().expect("path").to_owned();
    for forged in [
        "../../victim".to_owned(),
        "../victim".to_owned(),
        format!("{}/../victim", dir),
        "/etc/passwd".to_owned(),
        ".".to_owned(),
        "".to_owned(),
        "0123456789ABCDEF0123456789ABCDEF".to_owned(),
        "0123456789abcdef0123456789abcde/".to_owned(),
        "0123456789abcdef0123456789abcdef0".to_owned(),
    ] {
        for table in ["expiry", "swept"] {
            edit_root(&v, |root| {
                let entry = match table {
                    "expiry" => serde_json::json!({"ref": forged, "until": "2020-01-01T00:00:00Z"}),
                    _ => serde_json::json!({"ref": forged, "wiped_at": "2020-01-01T00:00:00Z"}),
                };
                root[table].as_array_mut().expect("table").push(entry);
            });
            let ctx = format!("{table} ref {forged:?}");
            refused_fast(&v, &["sweep"], true, &ctx);
            refused_fast(&v, &["get", "acme", "ftp"], false, &ctx);
            for name in victims {
                assert_eq!(
                    fs::read(tmp.join(name)).ok().as_deref(),
                    Some(&b"must survive"[..]),
                    "{ctx}: {name} was touched"
                );
            }
            restore(&v, &pristine);
        }
    }
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
}

#[test]
fn unicode_lookalikes_and_empty_values_are_refused() {
    let v = vault();
    let before = v.snapshot();
    for args in [
        &["open", "", "--client", "C", "--for", "1h"][..],
        &["open", "ACME", "--client", "C", "--for", "1h"],
        &["open", "аcme", "--client", "C", "--for", "1h"], // Cyrillic a
        &["open", "acme\u{200b}", "--client", "C", "--for", "1h"],
        &["open", "-acme", "--client", "C", "--for", "1h"],
        &["open", ".acme", "--client", "C", "--for", "1h"],
        &["open", "new", "--client", "", "--for", "1h"],
        &["open", "new", "--client", "C", "--for", ""],
        &["open", "new", "--client", "C", "--for", "0s"],
        &[
            "open",
            "new",
            "--client",
            "C",
            "--for",
            "99999999999999999999w",
        ],
        &["open", "new", "--client", "C", "--until", "9999999-01-01"],
        &["open", "new", "--client", "C", "--until", "2099-02-30"],
        &["add", "acme", "", "--kind", "other"],
        &["add", "acme", "x", "--kind", ""],
        &["get", "acme", "ftp\u{200b}"],
    ] {
        let run = v.run_with_stdin(args, "value\n");
        refused(run, 2, SHORT, &format!("{args:?}"));
    }
    assert_eq!(v.snapshot(), before);
}

/// Regression: a passphrase file whose first line was longer than 1 MiB was cut
/// silently at 1 MiB; it is refused now, saying why.
#[test]
fn a_passphrase_file_with_an_overlong_first_line_is_refused() {
    let v = vault();
    let file = v.dir.parent().expect("parent").join("long-passphrase");
    std::fs::write(&file, vec![b'a'; 1024 * 1024 + 10]).expect("write");
    let out = v
        .cmd(&["list", "--passphrase-file"])
        .arg(&file)
        .output()
        .expect("run");
    let run = crate::support::Run(out).fails(4);
    assert!(
        run.stderr().contains("longer than 1 MiB"),
        "{}",
        run.stderr()
    );
}

/// An edit of `vault.json`, as JSON.
type Edit = Box<dyn Fn(&mut Value)>;

/// Issue 12, item 8: every clear field of `vault.json` that keyless commands act
/// on, set to a value intervault never writes. `backups.retention_days =
/// 4294967295` made every `sweep` an internal error (an overflow in date
/// arithmetic) that claimed the vault was not changed, after the sweep had
/// wiped. Each is now refused where `vault.json` is parsed: exit 6, one line,
/// by the keyless `sweep` and `status` and by `list`, and the vault is left as
/// it was.
#[test]
fn hostile_clear_fields_are_refused_where_they_are_parsed_issue_12() {
    let v = vault();
    let bk = v.dir.with_file_name("bk");
    v.run(&["backup", "--to", bk.to_str().expect("utf-8")])
        .success();
    let pristine = v.snapshot();
    let reference = crate::helpers::expiry_refs(&v)[0].clone();
    let other = "0123456789abcdef0123456789abcdef";
    let many: Vec<String> = (0..65).map(|i| format!("/backups/{i}")).collect();
    let table: Vec<(&str, Edit)> = vec![
        (
            "retention_days = u32::MAX",
            Box::new(|r| r["backups"]["retention_days"] = Value::from(u32::MAX)),
        ),
        (
            "retention_days = 0",
            Box::new(|r| r["backups"]["retention_days"] = Value::from(0)),
        ),
        (
            "retention_days = 36501",
            Box::new(|r| r["backups"]["retention_days"] = Value::from(36_501)),
        ),
        (
            "no backup directory",
            Box::new(|r| r["backups"]["dirs"] = serde_json::json!([])),
        ),
        (
            "a relative directory",
            Box::new(|r| r["backups"]["dirs"] = serde_json::json!(["bk"])),
        ),
        (
            "a directory twice",
            Box::new(|r| r["backups"]["dirs"] = serde_json::json!(["/bk", "/bk"])),
        ),
        (
            "65 directories",
            Box::new(move |r| r["backups"]["dirs"] = serde_json::json!(many)),
        ),
        (
            "until in year 262142",
            Box::new(|r| r["expiry"][0]["until"] = Value::from("+262142-12-31T23:59:59Z")),
        ),
        (
            "until in year -262143",
            Box::new(|r| r["expiry"][0]["until"] = Value::from("-262143-01-01T00:00:00Z")),
        ),
        (
            "until in year 10001",
            Box::new(|r| r["expiry"][0]["until"] = Value::from("+10001-01-01T00:00:00Z")),
        ),
        (
            "an expiry entry twice",
            Box::new(|r| {
                let e = r["expiry"][0].clone();
                r["expiry"].as_array_mut().expect("expiry").push(e);
            }),
        ),
        (
            "a swept time in year 262142",
            Box::new(move |r| {
                r["swept"] =
                    serde_json::json!([{"ref": other, "wiped_at": "+262142-12-31T23:59:59Z"}]);
            }),
        ),
        (
            "a swept time in year -1",
            Box::new(move |r| {
                r["swept"] =
                    serde_json::json!([{"ref": other, "wiped_at": "-0001-06-01T00:00:00Z"}]);
            }),
        ),
        (
            "a live ref also swept",
            Box::new({
                let reference = reference.clone();
                move |r| {
                    r["swept"] =
                        serde_json::json!([{"ref": reference, "wiped_at": "2026-01-01T00:00:00Z"}])
                }
            }),
        ),
        (
            "a swept ref twice",
            Box::new(move |r| {
                r["swept"] = serde_json::json!([
                    {"ref": other, "wiped_at": "2026-01-01T00:00:00Z"},
                    {"ref": other, "wiped_at": "2026-01-02T00:00:00Z"}
                ]);
            }),
        ),
    ];
    for (what, edit) in &table {
        edit_root(&v, |root| edit(root));
        let edited = v.snapshot();
        let bk_before = crate::helpers::tree(&bk);
        refused_fast(&v, &["sweep"], true, what);
        refused_fast(&v, &["status"], true, what);
        refused_fast(&v, &["list"], false, what);
        assert!(v.snapshot() == edited, "{what}: the vault changed");
        assert_eq!(
            crate::helpers::tree(&bk),
            bk_before,
            "{what}: backups changed"
        );
        restore(&v, &pristine);
    }
    v.run(&["sweep"]).success();
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
}

/// Issue 12, item 11: a `--multiline` secret of several hundred KiB, read
/// through buffers that grow by hand (each old one wiped), comes back whole.
#[test]
fn a_600_kib_multiline_secret_round_trips_issue_12() {
    let v = vault();
    let line = "-----BEGIN LINE 0123456789abcdefghijklmnopqrstuvwxyz-----\n";
    let secret = line.repeat(600 * 1024 / line.len());
    v.run_with_stdin(
        &["add", "acme", "pem", "--kind", "other", "--multiline"],
        &secret,
    )
    .success();
    let got = v.run(&["get", "acme", "pem"]).success().stdout();
    assert_eq!(got.len(), secret.len() + 1);
    assert!(got == format!("{secret}\n"), "the secret came back altered");
}

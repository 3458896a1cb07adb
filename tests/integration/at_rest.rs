//! The vault at rest: nothing a user typed is stored in clear (file contents or
//! file names), before or after `close`; the directory is 0700 and every file 0600
//! even under `umask 000`; and a vault file that is open to others, a symlink or
//! hard-linked, or a vault directory open to others, is refused with exit 6.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::{one_line, run_std, set_env, tree, BIN};
use crate::support::{Run, TestVault};

const ID: &str = "zqv-intervention-7";
const CLIENT: &str = "Zqv Client Holding";
const NOTE: &str = "zqv-note about the job";
const NAME: &str = "zqv-cred-name";
const USER: &str = "zqv-user-login";
const URL: &str = "https://zqv-host.example/admin";
const CRED_NOTE: &str = "zqv-cred-note text";
const SECRET: &str = "zqv-s3cret-value";

/// A vault holding one intervention and one credential made of recognisable strings.
fn recognisable(v: &TestVault) {
    v.run(&[
        "open", ID, "--client", CLIENT, "--for", "2h", "--note", NOTE,
    ])
    .success();
    v.run_with_stdin(
        &[
            "add", ID, NAME, "--kind", "cms", "--user", USER, "--url", URL, "--note", CRED_NOTE,
        ],
        &format!("{SECRET}\n"),
    )
    .success();
}

/// Every typed string that is found in a vault file's bytes or in a path.
fn leaks(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for path in tree(dir) {
        let name = path
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = if path.is_file() {
            fs::read(&path).unwrap()
        } else {
            Vec::new()
        };
        for s in [ID, CLIENT, NOTE, NAME, USER, URL, CRED_NOTE, SECRET] {
            if name.contains(s) {
                found.push(format!("{s:?} in the name {name}"));
            }
            if bytes.windows(s.len()).any(|w| w == s.as_bytes()) {
                found.push(format!("{s:?} in the contents of {name}"));
            }
        }
    }
    found
}

#[test]
fn nothing_typed_is_stored_in_clear_before_or_after_close() {
    let v = TestVault::new();
    recognisable(&v);
    assert_eq!(
        v.run(&["get", ID, NAME]).success().stdout(),
        format!("{SECRET}\n")
    );
    assert_eq!(leaks(&v.dir), Vec::<String>::new());
    v.run(&["close", ID]).success();
    assert_eq!(leaks(&v.dir), Vec::<String>::new());
}

/// Runs the binary with `umask 000`.
fn with_umask_000(v: &TestVault, args: &[&str], stdin: &str) -> Run {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args);
    set_env(&mut c, v);
    c.env("INTERVAULT_NEW_PASSPHRASE", crate::support::PASSPHRASE);
    let mut child = c
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn sh");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    Run(child.wait_with_output().unwrap())
}

fn modes(dir: &Path) -> Vec<(PathBuf, u32, bool)> {
    std::iter::once(dir.to_owned())
        .chain(tree(dir))
        .map(|p| {
            let m = fs::symlink_metadata(&p).unwrap();
            (p, m.mode() & 0o7777, m.is_dir())
        })
        .collect()
}

#[test]
fn directory_is_0700_and_files_0600_even_with_umask_000() {
    let v = TestVault::empty();
    let cmds: [(&[&str], &str); 7] = [
        (&["init", "--kdf-memory", "8", "--kdf-iterations", "1"], ""),
        (&["open", "acme", "--client", "C", "--for", "2h"], ""),
        (&["add", "acme", "ftp", "--kind", "other"], "v1\n"),
        (
            &["add", "acme", "ftp", "--kind", "other", "--replace"],
            "v2\n",
        ),
        (&["open", "beta", "--client", "C", "--for", "2h"], ""),
        (&["close", "beta"], ""),
        (&["passwd"], ""),
    ];
    for (args, stdin) in cmds {
        let out = with_umask_000(&v, args, stdin);
        assert_eq!(out.code(), 0, "{args:?}: {}", out.stderr());
        for (path, mode, is_dir) in modes(&v.dir) {
            let want = if is_dir { 0o700 } else { 0o600 };
            assert_eq!(mode, want, "after {args:?}: {} is {mode:o}", path.display());
        }
    }
    assert_eq!(
        with_umask_000(&v, &["get", "acme", "ftp"], "").stdout(),
        "v2\n"
    );
    assert!(v.dir.join("keys").is_dir() && v.dir.join("creds").is_dir());
}

/// The vault's files: `vault.json`, then one key file and one credentials file.
fn vault_files(v: &TestVault) -> Vec<PathBuf> {
    let mut files = vec![v.dir.join("vault.json")];
    for sub in ["keys", "creds"] {
        let mut names: Vec<PathBuf> = fs::read_dir(v.dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        assert!(!names.is_empty(), "nothing in {sub}/");
        files.push(names[0].clone());
    }
    files
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// `get` (and for `vault.json` also `list` and a keyless `sweep`) is refused with
/// exit 6 and a message naming the file.
#[track_caller]
fn refused(v: &TestVault, file: &Path, what: &str) {
    let mut commands: Vec<Vec<&str>> = vec![vec!["get", "acme", "ftp"]];
    if file.ends_with("vault.json") {
        commands.push(vec!["list"]);
        let mut sweep = v.cmd(&["sweep"]);
        sweep.env_remove("INTERVAULT_PASSPHRASE");
        let out = one_line(Run(sweep.output().unwrap()).fails(6));
        assert!(
            out.stderr().contains("vault.json"),
            "{what}: {}",
            out.stderr()
        );
    }
    for args in commands {
        let out = one_line(v.run(&args).fails(6));
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            out.stderr().contains(&name),
            "{what}: {args:?} should name {name}: {}",
            out.stderr()
        );
        assert_eq!(out.stdout(), "", "{what}: {args:?}");
    }
}

#[test]
fn a_vault_file_open_to_group_or_others_is_refused() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t-value");
    for file in vault_files(&v) {
        for mode in [0o640, 0o604, 0o660, 0o644] {
            chmod(&file, mode);
            refused(&v, &file, &format!("mode {mode:o}"));
            assert_eq!(
                fs::metadata(&file).unwrap().mode() & 0o777,
                mode,
                "left as found"
            );
            chmod(&file, 0o600);
        }
        assert_eq!(
            v.run(&["get", "acme", "ftp"]).success().stdout(),
            "s3cr3t-value\n"
        );
    }
}

#[test]
fn a_vault_file_replaced_by_a_symlink_is_refused() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t-value");
    let outside = v.dir.parent().unwrap().join("outside");
    fs::create_dir(&outside).unwrap();
    for file in vault_files(&v) {
        let real = outside.join(file.file_name().unwrap());
        fs::rename(&file, &real).unwrap();
        symlink(&real, &file).unwrap();
        refused(&v, &file, "symlink");
        fs::remove_file(&file).unwrap();
        fs::rename(&real, &file).unwrap();
        assert_eq!(
            v.run(&["get", "acme", "ftp"]).success().stdout(),
            "s3cr3t-value\n"
        );
    }
}

#[test]
fn a_hard_linked_vault_file_is_refused() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t-value");
    let other = v.dir.parent().unwrap().join("second-name");
    for file in vault_files(&v) {
        fs::hard_link(&file, &other).unwrap();
        refused(&v, &file, "hard link");
        fs::remove_file(&other).unwrap();
        assert_eq!(
            v.run(&["get", "acme", "ftp"]).success().stdout(),
            "s3cr3t-value\n"
        );
    }
}

#[test]
fn a_vault_directory_open_to_others_is_refused() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t-value");
    for mode in [0o755, 0o750, 0o701, 0o707] {
        chmod(&v.dir, mode);
        let before = v.snapshot();
        for args in [
            vec!["list"],
            vec!["get", "acme", "ftp"],
            vec!["show", "acme"],
        ] {
            let out = one_line(v.run(&args).fails(6));
            assert!(
                out.stderr().contains(&*v.dir.to_string_lossy()),
                "{}",
                out.stderr()
            );
        }
        let mut sweep = std::process::Command::new(BIN);
        sweep.arg("sweep");
        set_env(&mut sweep, &v);
        sweep.env_remove("INTERVAULT_PASSPHRASE");
        one_line(run_std(sweep).fails(6));
        assert_eq!(v.snapshot(), before);
        assert_eq!(
            fs::metadata(&v.dir).unwrap().mode() & 0o777,
            mode,
            "left as found"
        );
    }
    chmod(&v.dir, 0o700);
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        "s3cr3t-value\n"
    );
}

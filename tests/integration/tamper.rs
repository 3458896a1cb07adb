//! Damaged and tampered vault data. Every vault file (`vault.json`, a record, a
//! key file, a credentials file) gets bytes flipped at many positions and is truncated at
//! several lengths (in `vault.json` every byte of the clear expiry table is flipped
//! too); after each damage `get` and `list` must fail with exit 6 (or 4
//! where the damage hits what the passphrase unlocks), one `intervault:` line, no
//! panic and no output, and never succeed with wrong data. Also: absurd KDF costs
//! refused at once, an unsupported version, an edited clear expiry table, missing,
//! swapped and rolled-back files, a damaged history.

use std::collections::BTreeSet;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{
    add, cheap_vault, edit_root, expiry_refs, open_with, restore, root_json, root_path,
    write_private,
};
use crate::support::{Run, TestVault};

const SECRET: &str = "s3cr3t-value";

/// A vault with `acme` holding `ftp` and `db`, cheap to unlock many times.
fn vault() -> TestVault {
    let v = cheap_vault();
    open_with(&v, "acme", &[("ftp", SECRET), ("db", "db-secret")]);
    v
}

fn only_file(v: &TestVault, sub: &str) -> PathBuf {
    let files: Vec<PathBuf> = fs::read_dir(v.dir.join(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// Byte ranges of `vault.json` whose damage may read as a wrong passphrase (exit
/// 4): the passphrase-wrapped master key, and the KDF header (salt and costs are
/// inputs of the key that unwraps it, so a changed salt cannot be told apart from a
/// wrong passphrase).
fn passphrase_ranges(root: &[u8]) -> Vec<Range<usize>> {
    vec![
        value_span(root, "master_key", '"', '"'),
        value_span(root, "kdf", '{', '}'),
    ]
}

/// Where the value of top-level `key` lies in `vault.json`, from `open` to `close`.
fn value_span(root: &[u8], key: &str, open: char, close: char) -> Range<usize> {
    let text = std::str::from_utf8(root).unwrap();
    let quoted = format!("\"{key}\":");
    let k = text.find(&quoted).expect(key) + quoted.len();
    let start = k + text[k..].find(open).unwrap();
    let end = start + 1 + text[start + 1..].find(close).unwrap();
    start..end + 1
}

struct Damage {
    what: String,
    bytes: Vec<u8>,
    may_be_4: bool,
}

/// Every 7th byte flipped, the first and last, and every byte of `dense`; then
/// truncations.
fn damages(orig: &[u8], passphrase: &[Range<usize>], dense: Range<usize>) -> Vec<Damage> {
    let in_pass = |i: usize| passphrase.iter().any(|r| r.contains(&i));
    let mut out = Vec::new();
    let mut positions: BTreeSet<usize> = (0..orig.len()).step_by(7).collect();
    positions.insert(orig.len() - 1);
    positions.extend(dense);
    for i in positions {
        let mut bytes = orig.to_vec();
        bytes[i] ^= 0x01;
        let context = String::from_utf8_lossy(&orig[i.saturating_sub(12)..(i + 4).min(orig.len())])
            .into_owned();
        out.push(Damage {
            what: format!("byte {i} flipped (near {context:?})"),
            bytes,
            may_be_4: in_pass(i),
        });
    }
    for mask in [0x80, 0xff] {
        for i in [0, orig.len() - 1] {
            let mut bytes = orig.to_vec();
            bytes[i] ^= mask;
            out.push(Damage {
                what: format!("byte {i} xor {mask:#x}"),
                bytes,
                may_be_4: in_pass(i),
            });
        }
    }
    let len = orig.len();
    for cut in [0, 1, len / 4, len / 2, 3 * len / 4, len - 16, len - 1] {
        out.push(Damage {
            what: format!("truncated to {cut} of {len} bytes"),
            bytes: orig[..cut].to_vec(),
            // A cut file is unreadable: damage, never a wrong passphrase.
            may_be_4: false,
        });
    }
    out
}

/// What is wrong with a run on damaged data, if anything. `allowed_ok` is the only
/// stdout accepted with exit 0 (for `list` when the damage is in a file it does
/// not read).
fn problem(out: &Run, may_be_4: bool, allowed_ok: Option<&Value>) -> Option<String> {
    let err = out.stderr();
    if out.code() == 101 || err.contains("panicked") {
        return Some(format!("panic: {err}"));
    }
    if err.contains(SECRET) || out.stdout().contains(SECRET) && out.code() != 0 {
        return Some("the secret leaked".into());
    }
    if out.code() == 0 {
        let same = allowed_ok.is_some_and(|want| {
            serde_json::from_slice::<Value>(&out.0.stdout).is_ok_and(|got| &got == want)
        });
        return (!same).then(|| format!("exit 0 with stdout {:?}", out.stdout()));
    }
    let code_ok = out.code() == 6 || (may_be_4 && out.code() == 4);
    // One error line, which notices of automatic expiry may precede (a forged
    // window end in the clear table does make the keyless sweep wipe).
    let lines: Vec<&str> = err.lines().collect();
    let last = lines.last().copied().unwrap_or_default();
    let one_line = last.starts_with("intervault: ")
        && last.matches(": ").count() >= 2
        && lines[..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("intervault: expired "));
    if !code_ok || !one_line || !out.stdout().is_empty() {
        return Some(format!("exit {}: stderr {err:?}", out.code()));
    }
    None
}

/// Damages `file` in every way of [`damages`], each in a fresh copy of the vault
/// (a copy this machine has no history of: putting the original back after a
/// command that changed it would be a rollback), runs `get` and `list`, and
/// reports every case that went wrong.
fn damage_each_way(v: &TestVault, file: &Path) {
    let relative = file.strip_prefix(&v.dir).expect("a vault file");
    let list_before = v.run(&["list", "--json"]).success().json();
    let orig = fs::read(file).unwrap();
    let is_root = file.ends_with("vault.json");
    // In vault.json, every byte of the clear expiry table (a few dozen), whose
    // window ends are the one thing a keyless sweep acts on.
    let (ranges, dense) = if is_root {
        (
            passphrase_ranges(&orig),
            value_span(&orig, "expiry", '[', ']'),
        )
    } else {
        (Vec::new(), 0..0)
    };
    let mut failures = Vec::new();
    for d in damages(&orig, &ranges, dense) {
        let w = v.duplicate();
        write_private(&w.dir.join(relative), &d.bytes);
        let get = w.run(&["get", "acme", "ftp"]);
        if let Some(p) = problem(&get, d.may_be_4, None) {
            failures.push(format!("get, {}: {p}", d.what));
        }
        let w = v.duplicate();
        write_private(&w.dir.join(relative), &d.bytes);
        let list = w.run(&["list", "--json"]);
        let ok = (!is_root).then_some(&list_before);
        if let Some(p) = problem(&list, d.may_be_4, ok) {
            failures.push(format!("list, {}: {p}", d.what));
        }
    }
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
    assert!(
        failures.is_empty(),
        "{} of the damaged {} were not refused as they should be:\n{}",
        failures.len(),
        file.display(),
        failures.join("\n")
    );
}

#[test]
fn damaged_vault_json_is_refused_with_6_or_4() {
    let v = vault();
    damage_each_way(&v, &root_path(&v));
}

#[test]
fn damaged_key_file_is_refused_with_6() {
    let v = vault();
    let key = only_file(&v, "keys");
    damage_each_way(&v, &key);
}

#[test]
fn damaged_credentials_file_is_refused_with_6() {
    let v = vault();
    let creds = only_file(&v, "creds");
    damage_each_way(&v, &creds);
}

/// Runs `args` and asserts exit 6, one line, and that it took well under a second.
#[track_caller]
fn refused_fast(v: &TestVault, args: &[&str], keyless: bool) -> Run {
    let mut c = v.cmd(args);
    c.env("INTERVAULT_NEW_PASSPHRASE", "never used");
    if keyless {
        c.env_remove("INTERVAULT_PASSPHRASE");
    }
    let started = Instant::now();
    let out = Run(c.output().unwrap());
    let took = started.elapsed();
    let out = out.fails(6);
    assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    assert!(took < Duration::from_millis(900), "{args:?} took {took:?}");
    out
}

#[test]
fn absurd_kdf_costs_are_refused_before_any_work() {
    let v = vault();
    let pristine = v.snapshot();
    for (field, value) in [
        ("memory_kib", 5_000_000u64),
        ("iterations", 1000),
        ("parallelism", 0),
        ("parallelism", 1000),
        ("iterations", 0),
        ("memory_kib", u64::from(u32::MAX) + 1),
    ] {
        edit_root(&v, |root| root["kdf"][field] = Value::from(value));
        for args in [&["get", "acme", "ftp"][..], &["list"], &["passwd"]] {
            refused_fast(&v, args, false);
        }
        refused_fast(&v, &["sweep"], true);
        restore(&v, &pristine);
    }
}

#[test]
fn an_unsupported_version_is_refused_as_such() {
    let v = vault();
    for version in [3, 0, 999] {
        edit_root(&v, |root| root["version"] = Value::from(version));
        for (args, keyless) in [
            (&["get", "acme", "ftp"][..], false),
            (&["list"], false),
            (&["sweep"], true),
        ] {
            let out = refused_fast(&v, args, keyless);
            assert!(
                out.stderr().contains("unsupported"),
                "version {version}, {args:?}: {}",
                out.stderr()
            );
        }
        edit_root(&v, |root| root["version"] = Value::from(2));
        v.run(&["list"]).success();
    }
}

#[test]
fn a_root_that_is_not_an_intervault_vault_is_refused() {
    let v = vault();
    let pristine = v.snapshot();
    for bytes in [
        &b""[..],
        b"{}",
        b"null",
        b"[]",
        b"{\"format\":\"age\",\"version\":1}",
        b"\xff\xfe\x00garbage",
    ] {
        write_private(&root_path(&v), bytes);
        refused_fast(&v, &["list"], false);
        refused_fast(&v, &["sweep"], true);
        restore(&v, &pristine);
    }
}

#[test]
fn an_until_edited_in_the_clear_expiry_table_is_detected() {
    let v = vault();
    let pristine = v.snapshot();
    let sealed_until = pristine_until(&pristine);
    let shifted = |v: &TestVault, shift: i64| {
        edit_root(v, |root| {
            let until: chrono::DateTime<chrono::Utc> = root["expiry"][0]["until"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            let moved = until + chrono::TimeDelta::seconds(shift);
            root["expiry"][0]["until"] =
                Value::from(moved.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        })
    };
    for shift in [86_400, 60, -60, -3600] {
        for args in [&["get", "acme", "ftp"][..], &["list"], &["show", "acme"]] {
            shifted(&v, shift);
            // Reported once (exit 6, naming what was found), and the table is
            // rewritten from the sealed index: the next command works.
            let out = v.run(args);
            assert_eq!(
                out.code(),
                6,
                "until moved by {shift}s, {args:?}: {}",
                out.stderr()
            );
            assert!(out.stderr().contains("the clear root was altered"));
            out.fails(6);
            assert_eq!(root_json(&v)["expiry"][0]["until"], sealed_until);
            v.run(args).success();
        }
    }
    // An unknown one added: dropped, reported once.
    edit_root(&v, |root| {
        let mut other = root["expiry"][0].clone();
        other["ref"] = Value::from("0123456789abcdef0123456789abcdef");
        root["expiry"].as_array_mut().unwrap().push(other);
    });
    v.run(&["get", "acme", "ftp"]).fails(6);
    assert_eq!(root_json(&v)["expiry"].as_array().unwrap().len(), 1);
    v.run(&["get", "acme", "ftp"]).success();
    // A live intervention left out of the table (a keyless command may have
    // destroyed its key): wiped as tampered, never fetched again.
    edit_root(&v, |root| root["expiry"] = Value::Array(vec![]));
    v.run(&["get", "acme", "ftp"]).fails(6);
    let listed = v.run(&["list", "--all", "--json"]).success().json();
    assert_eq!(listed[0]["wipe_reason"], "tampered", "{listed}");
    assert_eq!(listed[0]["status"], "tampered", "{listed}");
    v.run(&["get", "acme", "ftp"]).fails(3);
}

/// The `until` of the first expiry entry in a snapshot's `vault.json`.
fn pristine_until(snapshot: &[(std::path::PathBuf, Vec<u8>)]) -> Value {
    let (_, bytes) = snapshot
        .iter()
        .find(|(p, _)| p.ends_with("vault.json"))
        .expect("vault.json in the snapshot");
    let root: Value = serde_json::from_slice(bytes).unwrap();
    root["expiry"][0]["until"].clone()
}

/// A clear-table `until` moved into the past makes the keyless expiry wipe the
/// intervention (it cannot know better). The next keyed command can: the sealed
/// index says the window had not ended when it was wiped. That is tampered data,
/// and must be reported as such (exit 6), not as an ordinary expiry.
#[test]
fn an_until_moved_into_the_past_in_the_clear_table_is_reported_as_tampering() {
    let v = vault();
    edit_root(&v, |root| {
        root["expiry"][0]["until"] = Value::from("2020-01-01T00:00:00Z");
    });
    let out = v.run(&["get", "acme", "ftp"]);
    assert_eq!(
        out.code(),
        6,
        "a forged expiry should be reported as tampering: {}",
        out.stderr()
    );
    out.fails(6);
    assert_eq!(v.run(&["get", "acme", "ftp"]).stdout(), "");
}

#[test]
fn a_missing_key_or_credentials_file_is_damage() {
    let v = vault();
    let pristine = v.snapshot();
    for sub in ["keys", "creds"] {
        fs::remove_file(only_file(&v, sub)).unwrap();
        let out = v.run(&["get", "acme", "ftp"]).fails(6);
        assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
        restore(&v, &pristine);
        v.run(&["get", "acme", "ftp"]).success();
    }
    fs::remove_file(root_path(&v)).unwrap();
    // Without its root the directory holds no vault.
    v.run(&["list"]).fails(5);
}

#[test]
fn key_and_credentials_files_swapped_between_interventions_are_refused() {
    let v = vault();
    open_with(&v, "beta", &[("ftp", "beta-secret"), ("db", "beta-db")]);
    let refs = expiry_refs(&v);
    assert_eq!(refs.len(), 2);
    let pristine = v.snapshot();
    let path = |sub: &str, r: &str| -> PathBuf {
        fs::read_dir(v.dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(r))
            .unwrap()
    };
    for sub in ["keys", "creds"] {
        let (a, b) = (path(sub, &refs[0]), path(sub, &refs[1]));
        let (bytes_a, bytes_b) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
        write_private(&a, &bytes_b);
        write_private(&b, &bytes_a);
        for id in ["acme", "beta"] {
            let out = v.run(&["get", id, "ftp"]).fails(6);
            assert_eq!(out.stdout(), "", "{sub} swapped: get {id} printed a secret");
        }
        restore(&v, &pristine);
    }
    assert_eq!(
        v.run(&["get", "beta", "ftp"]).success().stdout(),
        "beta-secret\n"
    );
}

#[test]
fn a_credentials_file_rolled_back_to_other_names_is_refused() {
    let v = vault();
    add(&v, "acme", "third", "x");
    let with_third = fs::read(only_file(&v, "creds")).unwrap();
    v.run(&["rm", "acme", "third"]).success();
    write_private(&only_file(&v, "creds"), &with_third);
    let out = v.run(&["get", "acme", "ftp"]).fails(6);
    assert_eq!(out.stdout(), "");
}

/// The credentials file is replaced by an older generation of itself holding the
/// same names (a `--replace` happened since): only the generation tells them
/// apart, and the old value must not come back.
#[test]
fn a_credentials_file_rolled_back_to_an_older_generation_is_refused() {
    let v = vault();
    let old = fs::read(only_file(&v, "creds")).unwrap();
    v.run_with_stdin(
        &["add", "acme", "ftp", "--kind", "other", "--replace"],
        "rotated\n",
    )
    .success();
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        "rotated\n"
    );
    write_private(&only_file(&v, "creds"), &old);
    let out = v.run(&["get", "acme", "ftp"]);
    assert_eq!(
        out.code(),
        6,
        "an old credentials file put back under the current name was accepted: stdout {:?}",
        out.stdout()
    );
    out.fails(6);
}

#[test]
fn damaged_record_file_is_refused_with_6() {
    let v = vault();
    let record = only_file(&v, "records");
    damage_each_way(&v, &record);
}

/// The history (tombstones, client keys) is read only by what needs it: damaged,
/// it stops those commands (exit 6, nothing changed), not a `get`.
#[test]
fn a_damaged_or_missing_history_stops_what_reads_it_and_only_that() {
    let v = vault();
    let history = fs::read_dir(&v.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("history.")
        })
        .expect("a history file");
    let pristine = v.snapshot();
    let orig = fs::read(&history).unwrap();
    let mut flipped = orig.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x20;
    for damaged in [Some(flipped), None] {
        match &damaged {
            Some(bytes) => write_private(&history, bytes),
            None => fs::remove_file(&history).unwrap(),
        }
        for args in [
            &["list", "--all"][..],
            &["close", "acme"],
            &["show", "nobody"],
        ] {
            let out = v.run(args).fails(6);
            assert_eq!(
                out.stderr().lines().count(),
                1,
                "{args:?}: {}",
                out.stderr()
            );
            assert!(
                out.stderr().contains("history"),
                "{args:?}: {}",
                out.stderr()
            );
        }
        assert_eq!(
            v.run(&["get", "acme", "ftp"]).success().stdout(),
            format!("{SECRET}\n")
        );
        restore(&v, &pristine);
    }
    v.run(&["close", "acme"]).success();
}

#[test]
fn records_swapped_missing_or_rolled_back_are_refused() {
    let v = vault();
    open_with(&v, "beta", &[("ftp", "beta-secret")]);
    let records = || -> Vec<PathBuf> {
        let mut r: Vec<PathBuf> = fs::read_dir(v.dir.join("records"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        r.sort();
        r
    };
    let pristine = v.snapshot();
    let (a, b) = (records()[0].clone(), records()[1].clone());
    let (bytes_a, bytes_b) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    write_private(&a, &bytes_b);
    write_private(&b, &bytes_a);
    for id in ["acme", "beta"] {
        let out = v.run(&["get", id, "ftp"]).fails(6);
        assert_eq!(
            out.stdout(),
            "",
            "records swapped: get {id} printed a secret"
        );
    }
    restore(&v, &pristine);
    fs::remove_file(&a).unwrap();
    v.run(&["list"]).fails(6);
    restore(&v, &pristine);
}

/// A record replaced by an older generation of itself (from before an `extend`):
/// only the generation tells them apart, and the old window must not come back.
#[test]
fn a_record_rolled_back_to_an_older_generation_is_refused() {
    let v = vault();
    let old = fs::read(only_file(&v, "records")).unwrap();
    v.run(&[
        "extend",
        "acme",
        "--until",
        "2099-01-01",
        "--reason",
        "more",
    ])
    .success();
    write_private(&only_file(&v, "records"), &old);
    let out = v.run(&["get", "acme", "ftp"]).fails(6);
    assert!(out.stderr().contains("older copy"), "{}", out.stderr());
}

//! Helpers for the contract, expiry, at-rest, tamper and concurrency tests, on top of
//! `support.rs`: a cheaper vault for tests that run the binary hundreds of times,
//! plain `std::process::Command`s (to spawn, kill or wrap the binary), restoring a
//! vault to a snapshot, and reading the clear parts of `vault.json`.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{Run, TestVault, PASSPHRASE};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_intervault");

/// An initialised vault with the cheapest KDF the binary accepts (1 MiB, 1 pass):
/// for tests that unlock the vault hundreds of times.
pub fn cheap_vault() -> TestVault {
    let v = TestVault::empty();
    v.run(&[
        "init",
        "--kdf-memory",
        "1",
        "--kdf-iterations",
        "1",
        "--kdf-parallelism",
        "1",
    ])
    .success();
    v
}

/// A `std::process::Command` for the binary with the same environment as
/// [`TestVault::cmd`] (stdin, stdout and stderr are left to the caller).
pub fn std_cmd(v: &TestVault, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args);
    set_env(&mut c, v);
    c
}

/// The environment of [`TestVault::cmd`], on any command (e.g. a wrapper).
pub fn set_env(c: &mut Command, v: &TestVault) {
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", v.dir.parent().unwrap_or(Path::new("/")))
        .env("TZ", "UTC")
        .env("INTERVAULT_DIR", &v.dir)
        .env("INTERVAULT_PASSPHRASE", PASSPHRASE);
}

/// Runs a `std::process::Command` to completion with empty stdin.
pub fn run_std(mut c: Command) -> Run {
    Run(c.stdin(Stdio::null()).output().expect("run the command"))
}

/// Opens `id` for two hours and adds one credential per `(name, secret)`.
pub fn open_with(v: &TestVault, id: &str, creds: &[(&str, &str)]) {
    v.run(&["open", id, "--client", "Acme SARL", "--for", "2h"])
        .success();
    for (name, secret) in creds {
        add(v, id, name, secret);
    }
}

/// Adds credential `name` with `secret` (kind `other`).
pub fn add(v: &TestVault, id: &str, name: &str, secret: &str) {
    v.run_with_stdin(
        &["add", id, name, "--kind", "other"],
        &format!("{secret}\n"),
    )
    .success();
}

/// Every path under `dir` (files and directories, the lock file included), sorted.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if fs::symlink_metadata(&p).expect("stat").is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Writes `bytes` to `path` as a fresh private file (0600, one link).
pub fn write_private(path: &Path, bytes: &[u8]) {
    let _ = fs::remove_file(path);
    fs::write(path, bytes).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// Puts the vault back as `snapshot` (from [`TestVault::snapshot`]) has it: files
/// the snapshot lacks are removed, every file it has gets its bytes back, 0600.
/// The audit trail, which the snapshot leaves out, is left as it is (removing it
/// would be an attack of its own: the sealed index binds the trail).
pub fn restore(v: &TestVault, snapshot: &[(PathBuf, Vec<u8>)]) {
    for p in tree(&v.dir) {
        let meta = fs::symlink_metadata(&p).expect("stat");
        let is_lock = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("lock"));
        let is_trail = p.to_string_lossy().contains("audit");
        if !meta.is_dir() && !is_lock && !is_trail && !snapshot.iter().any(|(s, _)| s == &p) {
            fs::remove_file(&p).expect("remove");
        }
    }
    for (p, bytes) in snapshot {
        let same = fs::symlink_metadata(p)
            .is_ok_and(|m| m.is_file() && m.nlink() == 1 && m.mode() & 0o777 == 0o600)
            && fs::read(p).is_ok_and(|b| &b == bytes);
        if !same {
            write_private(p, bytes);
        }
    }
}

/// `vault.json`'s path.
pub fn root_path(v: &TestVault) -> PathBuf {
    v.dir.join("vault.json")
}

/// `vault.json`, parsed.
pub fn root_json(v: &TestVault) -> serde_json::Value {
    serde_json::from_slice(&fs::read(root_path(v)).expect("read vault.json")).expect("JSON")
}

/// Rewrites `vault.json` (keeping it private) after `edit` has changed it.
pub fn edit_root(v: &TestVault, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut root = root_json(v);
    edit(&mut root);
    write_private(
        &root_path(v),
        &serde_json::to_vec_pretty(&root).expect("serialize"),
    );
}

/// The references of the live interventions, from the clear expiry table.
pub fn expiry_refs(v: &TestVault) -> Vec<String> {
    root_json(v)["expiry"]
        .as_array()
        .expect("expiry table")
        .iter()
        .map(|e| e["ref"].as_str().expect("ref").to_owned())
        .collect()
}

/// Names of the files in `dir` under the vault (`keys` or `creds`), sorted.
pub fn names_in(v: &TestVault, dir: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(v.dir.join(dir))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A time `secs` seconds from now, as RFC 3339 UTC with whole seconds.
pub fn in_secs(secs: i64) -> String {
    let t = chrono::Utc::now() + chrono::TimeDelta::seconds(secs);
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Asserts that a failure printed exactly one line on stderr (no notices).
#[track_caller]
pub fn one_line(run: Run) -> Run {
    let err = run.stderr();
    assert_eq!(err.lines().count(), 1, "expected one stderr line: {err:?}");
    assert!(err.ends_with('\n'), "stderr line not terminated: {err:?}");
    run
}

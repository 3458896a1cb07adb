//! Wiped means wiped everywhere (issue 6): an older copy of the vault put back is
//! refused as rolled back, and accepting it wipes again what was wiped since.

use std::fs;
use std::path::Path;

use crate::helpers::one_line;
use crate::support::TestVault;

const SECRET: &str = "s3cr3t-rollback";

/// A copy of the vault directory as it is now, kept beside it.
fn copy_dir(from: &Path, to: &Path) {
    crate::support::copy_tree(from, to);
}

/// Puts `copy` back in place of the vault directory.
fn put_back(v: &TestVault, copy: &Path) {
    fs::remove_dir_all(&v.dir).unwrap();
    copy_dir(copy, &v.dir);
}

#[test]
fn a_copy_of_the_vault_put_back_after_a_close_is_refused_as_rolled_back() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    v.open_with_credential("beta", "ftp", "other-secret");
    let copy = v.dir.with_file_name("copy");
    copy_dir(&v.dir, &copy);
    v.run(&["close", "acme"]).success();
    put_back(&v, &copy);

    for args in [
        &["get", "acme", "ftp"][..],
        &["list"],
        &["get", "beta", "ftp"],
    ] {
        let out = one_line(v.run(args).fails(6));
        assert!(
            out.stderr()
                .starts_with("intervault: the vault was rolled back: it is at generation "),
            "{args:?}: {}",
            out.stderr()
        );
        assert!(!out.stdout().contains(SECRET));
    }
    // Accepting the copy wipes `acme` again first, and keeps `beta`.
    let out = v
        .run(&["list", "--all", "--json", "--accept-rollback"])
        .success();
    let list = out.json();
    let status = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .map(|i| i["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status("acme").as_deref(), Some("closed"));
    assert_eq!(status("beta").as_deref(), Some("active"));
    v.run(&["get", "acme", "ftp"]).fails(3);
    assert_eq!(
        v.run(&["get", "beta", "ftp"]).success().stdout(),
        "other-secret\n"
    );
    // The acceptance is in the audit trail.
    let audit = v.run(&["audit", "--json"]).success().json();
    let accepted: Vec<_> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "rollback_accepted")
        .collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["count"], 1);
}

#[test]
fn a_copy_put_back_before_anything_changed_is_not_a_rollback() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    let copy = v.dir.with_file_name("copy");
    copy_dir(&v.dir, &copy);
    // Reads do not move the generation.
    v.run(&["get", "acme", "ftp"]).success();
    v.run(&["list"]).success();
    put_back(&v, &copy);
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
}

#[test]
fn an_altered_record_of_what_was_seen_is_refused_and_a_new_vault_starts_afresh() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    let state_dir = v.dir.parent().unwrap().join(".local/state/intervault");
    let files: Vec<_> = fs::read_dir(&state_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = fs::read_to_string(&files[0]).unwrap();
    let raised = text.replacen("\"generation\":", "\"generation\":1", 1);
    fs::write(&files[0], raised).unwrap();
    let out = one_line(v.run(&["list"]).fails(6));
    assert!(out.stderr().contains("was altered"), "{}", out.stderr());
    // A new vault at the same place forgets what was seen of the old one.
    fs::remove_dir_all(&v.dir).unwrap();
    v.init_cheap(&[]).success();
    v.run(&["list"]).success();
}

/// The one backup file in `dir`.
fn only_backup(dir: &Path) -> std::path::PathBuf {
    let files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "backup"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// The reference of live intervention `id`, from its key file's name.
fn key_file_of(v: &TestVault) -> Vec<std::path::PathBuf> {
    fs::read_dir(v.dir.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

fn backup_dir(v: &TestVault) -> std::path::PathBuf {
    v.dir.with_file_name("vault-backups")
}

#[test]
fn backup_then_close_then_restore_does_not_bring_the_closed_one_back() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    v.open_with_credential("beta", "ftp", "beta-secret");
    let written = v.run(&["backup", "--json"]).success().json();
    assert_eq!(written["interventions"], 2);
    let file = only_backup(&backup_dir(&v));
    assert_eq!(written["written"][0], file.to_str().unwrap());
    let closed = v.run(&["close", "acme", "--json"]).success().json();
    let into = v.dir.with_file_name("restored");
    let report = v
        .run(&[
            "restore",
            file.to_str().unwrap(),
            "--into",
            into.to_str().unwrap(),
            "--json",
        ])
        .success()
        .json();
    assert_eq!(report["restored"], serde_json::json!(["beta"]));
    let dropped = report["dropped"].as_array().unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0]["id"], "acme");
    assert_eq!(dropped[0]["why"], "it is wiped in the current vault");
    assert_eq!(dropped[0]["receipt"], closed["wiped"][0]["receipt"]);
    let restored = |args: &[&str]| {
        let mut c = v.cmd(args);
        c.env("INTERVAULT_DIR", &into);
        crate::support::Run(c.output().unwrap())
    };
    assert_eq!(
        restored(&["get", "beta", "ftp"]).success().stdout(),
        "beta-secret\n"
    );
    restored(&["get", "acme", "ftp"]).fails(3);
}

#[test]
fn a_backup_taken_before_a_close_cannot_give_that_intervention_back_even_with_the_passphrase() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    let key_files = key_file_of(&v);
    assert_eq!(key_files.len(), 1);
    let key_bytes = fs::read(&key_files[0]).unwrap();
    v.run(&["backup"]).success();
    let file = only_backup(&backup_dir(&v));
    let b64 = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let before = fs::read_to_string(&file).unwrap();
    assert!(
        before.contains(&b64(&key_bytes)),
        "the backup holds the key at first"
    );
    v.run(&["close", "acme"]).success();
    let after = fs::read_to_string(&file).unwrap();
    assert!(
        !after.contains(&b64(&key_bytes)),
        "the key is taken out of the backup"
    );
    // Every file the backup still holds, written out by hand as a vault: the
    // passphrase opens it, and still cannot reach acme's credentials.
    let json: serde_json::Value = serde_json::from_str(&after).unwrap();
    let raw = v.dir.with_file_name("raw");
    for (name, content) in json["files"].as_object().unwrap() {
        use base64::Engine;
        let path = raw.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(content.as_str().unwrap())
            .unwrap();
        fs::write(&path, bytes).unwrap();
    }
    for dir in [
        raw.clone(),
        raw.join("keys"),
        raw.join("creds"),
        raw.join("audit"),
    ] {
        fs::create_dir_all(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mut c = v.cmd(&["get", "acme", "ftp"]);
    c.env("INTERVAULT_DIR", &raw);
    let out = crate::support::Run(c.output().unwrap());
    assert_ne!(out.code(), 0);
    assert!(!out.stdout().contains(SECRET));
    assert!(
        !fs::read_dir(raw.join("keys")).unwrap().any(|_| true),
        "no key file"
    );
}

#[test]
fn backup_verify_passes_an_intact_backup_and_names_a_damaged_one() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    v.run(&["backup"]).success();
    let file = only_backup(&backup_dir(&v));
    let path = file.to_str().unwrap();
    let ok = v
        .run(&["backup", "verify", path, "--json"])
        .success()
        .json();
    assert_eq!(ok["intact"], true);
    assert_eq!(ok["interventions"], 1);
    let pristine = fs::read_to_string(&file).unwrap();
    let json: serde_json::Value = serde_json::from_str(&pristine).unwrap();
    let creds_name = json["files"]
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.starts_with("creds/"))
        .unwrap()
        .clone();
    // A flipped byte inside a credentials file; a credentials file removed
    // without a record of its wipe; not a backup at all.
    let mut flipped = json.clone();
    let blob = flipped["files"][&creds_name].as_str().unwrap().to_owned();
    let at = blob.len() / 2;
    let swap = if &blob[at..=at] == "A" { "B" } else { "A" };
    flipped["files"][&creds_name] = format!("{}{swap}{}", &blob[..at], &blob[at + 1..]).into();
    let mut removed = json.clone();
    removed["files"]
        .as_object_mut()
        .unwrap()
        .remove(&creds_name);
    for (what, text) in [
        ("flipped", flipped.to_string()),
        ("removed", removed.to_string()),
        ("garbage", "not a backup".to_owned()),
    ] {
        fs::write(&file, text).unwrap();
        let out = one_line(v.run(&["backup", "verify", path]).fails(6));
        assert!(
            out.stderr().contains(&file.display().to_string()),
            "{what}: {}",
            out.stderr()
        );
    }
}

/// With `init --key-store keyring` (the tests run inside `keyctl session -`), no
/// key is ever in the vault directory, so a raw copy of it taken before a close
/// is useless after the close, even with the passphrase.
#[test]
fn with_the_keyring_key_store_a_raw_copy_taken_before_a_close_is_useless_after_it() {
    let v = TestVault::empty();
    v.init_cheap(&["--key-store", "keyring"]).success();
    v.open_with_credential("acme", "ftp", SECRET);
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
    assert!(
        fs::read_dir(v.dir.join("keys")).unwrap().next().is_none(),
        "no key file"
    );
    let copy = v.dir.with_file_name("raw-copy");
    copy_dir(&v.dir, &copy);
    let from_copy = |args: &[&str]| {
        let mut c = v.cmd(args);
        c.env("INTERVAULT_DIR", &copy);
        crate::support::Run(c.output().unwrap())
    };
    // Before the close the copy still reaches the key in the keyring...
    assert_eq!(
        from_copy(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
    // A backup of such a vault holds no key either, and still verifies.
    v.run(&["backup"]).success();
    let file = only_backup(&backup_dir(&v));
    assert!(
        !fs::read_to_string(&file).unwrap().contains("\"keys/"),
        "a key in the backup"
    );
    v.run(&["backup", "verify", file.to_str().unwrap()])
        .success();
    v.run(&["close", "acme"]).success();
    // ...after it, nothing does.
    let out = one_line(from_copy(&["get", "acme", "ftp"]).fails(6));
    assert!(
        out.stderr().contains("is not in the OS keyring"),
        "{}",
        out.stderr()
    );
    assert!(!out.stdout().contains(SECRET));
}

#[test]
fn a_backup_disk_away_at_a_close_is_caught_up_by_the_next_backup() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    v.open_with_credential("beta", "ftp", "beta-secret");
    let disk = v.dir.with_file_name("disk2");
    v.run(&["backup", "--to", disk.to_str().unwrap()]).success();
    let on_disk = only_backup(&disk);
    let keys_in = |path: &Path| {
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        json["files"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("keys/"))
            .count()
    };
    assert_eq!(keys_in(&on_disk), 2);
    // The disk is unplugged while acme is closed: the close still succeeds.
    let away = v.dir.with_file_name("disk2-away");
    fs::rename(&disk, &away).unwrap();
    v.run(&["close", "acme"]).success();
    fs::rename(&away, &disk).unwrap();
    assert_eq!(keys_in(&on_disk), 2, "it was away");
    v.run(&["backup"]).success();
    assert_eq!(keys_in(&on_disk), 1, "caught up");
}

/// The keyring keeps a second record of what was seen (the tests run inside
/// `keyctl session -`): deleting the state file is not enough to pass a rollback.
#[test]
fn a_rollback_is_still_refused_when_the_state_file_is_deleted() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    let copy = v.dir.with_file_name("copy");
    copy_dir(&v.dir, &copy);
    v.run(&["close", "acme"]).success();
    put_back(&v, &copy);
    let state_dir = v.dir.parent().unwrap().join(".local/state/intervault");
    fs::remove_dir_all(&state_dir).unwrap();
    let out = one_line(v.run(&["get", "acme", "ftp"]).fails(6));
    assert!(out.stderr().contains("rolled back"), "{}", out.stderr());
    assert!(!out.stdout().contains(SECRET));
}

/// Issue 12 (item 10): an older vault put back together with its older state
/// file is refused from another login session too (cron, SSH, a new login):
/// the keyring's record lives in the user's persistent keyring, not in the
/// session keyring of the command that wrote it.
#[test]
fn a_rollback_replayed_with_its_state_file_is_refused_from_another_login_session() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    let state_dir = v.dir.parent().unwrap().join(".local/state/intervault");
    let copy = v.dir.with_file_name("copy");
    let state_copy = v.dir.with_file_name("state-copy");
    copy_dir(&v.dir, &copy);
    copy_dir(&state_dir, &state_copy);
    v.run(&["close", "acme"]).success();
    put_back(&v, &copy);
    fs::remove_dir_all(&state_dir).unwrap();
    copy_dir(&state_copy, &state_dir);
    let out = one_line(v.run_in_another_login(&["get", "acme", "ftp"]).fails(6));
    assert!(
        out.stderr()
            .starts_with("intervault: the vault was rolled back: it is at generation "),
        "{}",
        out.stderr()
    );
    assert!(!out.stdout().contains(SECRET));
}

#[test]
fn backup_into_an_existing_directory_keeps_its_mode_and_writes_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    let shared = v.dir.with_file_name("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
    v.run(&["backup", "--to", shared.to_str().unwrap()])
        .success();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&shared), 0o755);
    assert_eq!(mode(&only_backup(&shared)), 0o600);
    // A backup into every managed directory makes the default one, private, and
    // leaves the existing one as it was.
    v.run(&["backup"]).success();
    assert_eq!(mode(&backup_dir(&v)), 0o700);
    assert_eq!(mode(&shared), 0o755);
}

/// The entries of `dir`, sorted (empty if it does not exist).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|it| {
            it.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The `.verify-*` entries `backup verify` makes in the vault directory.
fn verify_places(v: &TestVault) -> Vec<String> {
    entries(&v.dir)
        .into_iter()
        .filter(|n| n.starts_with(".verify-"))
        .collect()
}

/// Regression (issue 12, item 6): `backup verify` restored the backup into
/// `$TMPDIR/intervault-verify-*`, where a killed verify left a copy of the vault
/// that opens with the passphrase and that no later wipe reaches. Now nothing is
/// ever written under `$TMPDIR`, and the copy inside the vault directory is gone
/// when the verify ends, whether it passed or failed.
#[test]
fn backup_verify_writes_nothing_under_tmpdir_issue_12() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    v.run(&["backup"]).success();
    let file = only_backup(&backup_dir(&v));
    let tmpdir = v.dir.with_file_name("private-tmp");
    fs::create_dir(&tmpdir).unwrap();
    let verify = |passphrase: &str| {
        let mut c = v.cmd(&["backup", "verify", file.to_str().unwrap()]);
        c.env("TMPDIR", &tmpdir)
            .env("INTERVAULT_PASSPHRASE", passphrase);
        crate::support::Run(c.output().unwrap())
    };
    let before = v.snapshot();
    verify(crate::support::PASSPHRASE).success();
    one_line(verify("wrong passphrase").fails(4));
    assert_eq!(
        entries(&tmpdir),
        Vec::<String>::new(),
        "written under TMPDIR"
    );
    assert_eq!(verify_places(&v), Vec::<String>::new(), "copy left behind");
    assert_eq!(v.snapshot(), before, "the vault changed");
    // No vault: nowhere private to check it in, and nothing written anywhere.
    let mut c = v.cmd(&["backup", "verify", file.to_str().unwrap()]);
    let elsewhere = v.dir.with_file_name("no-vault-here");
    c.env("INTERVAULT_DIR", &elsewhere).env("TMPDIR", &tmpdir);
    one_line(crate::support::Run(c.output().unwrap()).fails(5));
    assert!(!elsewhere.exists());
    assert_eq!(entries(&tmpdir), Vec::<String>::new());
}

/// A `backup verify` killed with SIGKILL while its copy is written (it waits for
/// the passphrase on a FIFO) leaves nothing under `$TMPDIR`; the copy it left in
/// the vault directory is shredded by the next command that opens the vault, and
/// one still running is left alone.
#[test]
fn a_killed_backup_verify_leaves_nothing_the_next_command_does_not_collect() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", SECRET);
    v.run(&["backup"]).success();
    let file = only_backup(&backup_dir(&v));
    let tmpdir = v.dir.with_file_name("private-tmp");
    fs::create_dir(&tmpdir).unwrap();
    let fifo = v.dir.with_file_name("pass.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut c = crate::helpers::std_cmd(&v, &["backup", "verify", file.to_str().unwrap()]);
    c.env_remove("INTERVAULT_PASSPHRASE")
        .env("INTERVAULT_PASSPHRASE_FILE", &fifo)
        .env("TMPDIR", &tmpdir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    // Waiting on the FIFO: the copy is written by then.
    let started = Instant::now();
    let copy = loop {
        let written = verify_places(&v)
            .into_iter()
            .find(|n| !n.ends_with(".lock"))
            .map(|n| v.dir.join(n).join("vault"))
            .filter(|c| c.join("vault.json").exists() && c.join("keys").exists());
        if let Some(copy) = written {
            break copy;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no copy made");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(100));
    // A verify still running keeps its copy: a writer that collects everything
    // now (sweep) leaves it alone, and the vault's change marker with it.
    v.run(&["sweep"]).success();
    assert!(
        copy.join("vault.json").exists(),
        "a running verify's copy was taken"
    );
    assert!(v.dir.join("changing").exists(), "the change marker went");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        entries(&tmpdir),
        Vec::<String>::new(),
        "written under TMPDIR"
    );
    assert_eq!(verify_places(&v).len(), 2, "the copy and its lock are left");
    // The next command, even a read of one credential, collects it.
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
    assert_eq!(
        verify_places(&v),
        Vec::<String>::new(),
        "copy not collected"
    );
    // The next writer drops the marker.
    v.run_with_stdin(&["add", "acme", "db", "--kind", "database"], "x\n")
        .success();
    assert!(!v.dir.join("changing").exists(), "the change marker stayed");
}

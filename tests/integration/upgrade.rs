//! A vault written in format version 1 (the whole index sealed in `vault.json`)
//! by an earlier intervault: it is read as it is, and the first command writes it
//! as version 2 (an index core, a record per live intervention, the history).
//! `tests/data/v1-vault` was made by the last version 1 build with the test
//! passphrase: `acme` (Acme SARL, `ftp`, and `wp` with `--max-uses 5` fetched
//! once; window to 2099) live, `globex` closed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::TestVault;

/// The fixture copied into `v`, private as a vault's files must be (git keeps
/// no modes).
fn version_1_vault() -> TestVault {
    let v = TestVault::empty();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v1-vault");
    crate::support::copy_tree(&fixture, &v.dir);
    set_private(&v.dir);
    v
}

fn set_private(path: &Path) {
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("read_dir") {
            set_private(&e.expect("entry").path());
        }
    }
}

fn version(v: &TestVault) -> u64 {
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(v.dir.join("vault.json")).expect("read"))
            .expect("json");
    root["version"].as_u64().expect("a version")
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_version_1_vault_is_read_and_written_as_version_2_by_its_first_command() {
    let v = version_1_vault();
    assert_eq!(version(&v), 1);
    assert!(!v.dir.join("records").exists());
    let keys_before = names_in(&v.dir.join("keys"));
    let creds_before = names_in(&v.dir.join("creds"));

    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        "hunter2\n"
    );
    assert_eq!(version(&v), 2);
    // One record for the one live intervention, named by its reference.
    let records = names_in(&v.dir.join("records"));
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(records[0].starts_with(keys_before[0].trim_end_matches(".age")));
    let histories: Vec<String> = names_in(&v.dir)
        .into_iter()
        .filter(|n| n.starts_with("history."))
        .collect();
    assert_eq!(
        histories.len(),
        1,
        "the tombstone and client keys: {histories:?}"
    );
    assert_eq!(names_in(&v.dir.join("keys")), keys_before);
    assert_eq!(names_in(&v.dir.join("creds")), creds_before);

    // Everything is still there, with the same meaning.
    let listed = v.run(&["list", "--all", "--json"]).success().json();
    let ids: Vec<&str> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|i| i["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids, ["acme", "globex"]);
    let wiped = v.run(&["get", "globex", "db"]);
    assert_eq!(wiped.code(), 3, "{}", wiped.stderr());
    assert!(wiped.stderr().contains("closed"), "{}", wiped.stderr());
    // The use count came along: 5 allowed, 1 used by version 1.
    assert_eq!(
        v.run(&["get", "acme", "wp"]).success().stdout(),
        "wp-pass\n"
    );
    for _ in 0..2 {
        v.run(&["get", "acme", "wp"]).success();
    }
    let last = v.run(&["get", "acme", "wp"]).success();
    assert!(
        last.stderr().contains("wp"),
        "the last use is told: {}",
        last.stderr()
    );
    let gone = v.run(&["get", "acme", "wp"]);
    assert_eq!(gone.code(), 5, "{}", gone.stderr());
    // The trail written by version 1 goes on, unbroken.
    v.run(&["audit", "verify"]).success();
}

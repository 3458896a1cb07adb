//! Wiped means wiped everywhere (issue 6): an older copy of the vault put back is
//! refused as rolled back, and accepting it wipes again what was wiped since.

use std::fs;
use std::path::Path;

use crate::helpers::one_line;
use crate::support::TestVault;

const SECRET: &str = "s3cr3t-rollback";

/// A copy of the vault directory as it is now, kept beside it.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::metadata(from).unwrap().permissions()).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            fs::copy(&p, &target).unwrap();
        }
    }
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
    v.run(&[
        "init",
        "--kdf-memory",
        "8",
        "--kdf-iterations",
        "1",
        "--kdf-parallelism",
        "1",
    ])
    .success();
    v.run(&["list"]).success();
}

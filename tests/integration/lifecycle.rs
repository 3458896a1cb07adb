//! The life of an intervention: open, add, get, refusal, close with a receipt.

use crate::support::TestVault;

#[test]
fn get_prints_the_bare_secret_inside_the_window() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t-value");
    let out = v.run(&["get", "acme", "ftp"]).success();
    assert_eq!(out.stdout(), "s3cr3t-value\n");
    assert_eq!(
        v.run(&["get", "acme", "ftp", "--field", "user"])
            .success()
            .stdout(),
        "webmaster\n"
    );
}

#[test]
fn close_wipes_and_prints_a_receipt() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t-value");
    let out = v.run(&["close", "acme", "--json"]).success().json();
    let wiped = &out["wiped"][0];
    assert_eq!(wiped["id"], "acme");
    assert_eq!(wiped["client"], "Acme SARL");
    assert_eq!(wiped["credentials"], 1);
    assert_eq!(wiped["names"][0], "ftp");
    assert_eq!(wiped["reason"], "closed");
    assert!(wiped["receipt"].as_str().unwrap().starts_with("sha256:"));
    v.run(&["get", "acme", "ftp"]).fails(3);
    assert!(!v.contains_bytes(b"s3cr3t-value"));
    assert!(!v.contains_bytes(b"Acme SARL"));
}

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

/// Without `--kdf-iterations`, `init` measures the KDF here and picks the passes
/// (at least 3), keeping the memory and lanes it was given, and says so; given
/// passes are kept as they are.
#[test]
fn init_calibrates_the_kdf_passes_unless_they_are_given() {
    let kdf_of = |v: &TestVault| -> serde_json::Value {
        let root = std::fs::read_to_string(v.dir.join("vault.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&root).unwrap()["kdf"].clone()
    };
    let v = TestVault::empty();
    let out = v
        .run(&["init", "--kdf-memory", "8", "--kdf-parallelism", "1"])
        .success();
    let kdf = kdf_of(&v);
    let passes = kdf["iterations"].as_u64().unwrap();
    assert!((3..=100).contains(&passes), "{kdf}");
    assert_eq!(
        (kdf["memory_kib"].as_u64(), kdf["parallelism"].as_u64()),
        (Some(8192), Some(1))
    );
    assert!(
        out.stderr().contains(&format!(
            "argon2id calibrated on this machine: 8 MiB, 1 lane(s), {passes} passes; one unlock takes about "
        )),
        "{}",
        out.stderr()
    );
    let given = TestVault::empty();
    let out = given.init_cheap(&[]).success();
    assert_eq!(kdf_of(&given)["iterations"], 1);
    assert!(!out.stderr().contains("calibrated"), "{}", out.stderr());
}

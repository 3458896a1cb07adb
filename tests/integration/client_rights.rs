//! Clients' rights (issue 5, items 6 and 7). Restriction of processing: `freeze`
//! refuses every fetch with its reason until `unfreeze`, and expiry still wipes a
//! frozen intervention. Receipts in the client's language, with the same digest.

use crate::support::TestVault;

#[test]
fn a_frozen_intervention_refuses_every_fetch_until_unfrozen() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t");
    v.run(&["freeze", "acme", "--reason", "client asked to pause"])
        .success();
    for args in [
        &["get", "acme", "ftp"][..],
        &["get", "acme", "ftp", "--json"],
        &["totp", "acme", "ftp"],
        &["exec", "acme", "--", "true"],
    ] {
        let out = v.run(args).fails(3);
        assert_eq!(out.stdout(), "", "{args:?}");
        assert!(
            out.stderr().contains("frozen"),
            "{args:?}: {}",
            out.stderr()
        );
        assert!(
            out.stderr().contains("client asked to pause"),
            "{}",
            out.stderr()
        );
    }
    let listed = v.run(&["show", "acme", "--json"]).success().json();
    assert_eq!(listed["frozen"]["reason"], "client asked to pause");
    assert!(
        !v.contains_bytes(b"client asked to pause"),
        "the reason is sealed"
    );
    v.run(&["unfreeze", "acme"]).success();
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        "s3cr3t\n"
    );
    assert!(v
        .run(&["show", "acme", "--json"])
        .success()
        .json()
        .get("frozen")
        .is_none());
}

#[test]
fn freeze_needs_a_reason_and_a_live_intervention() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "x");
    v.run(&["freeze", "acme", "--reason", ""]).fails(2);
    v.run(&["freeze", "nope", "--reason", "r"]).fails(5);
    v.run(&["close", "acme"]).success();
    v.run(&["freeze", "acme", "--reason", "r"]).fails(3);
}

#[test]
fn expiry_still_wipes_a_frozen_intervention() {
    let v = TestVault::new();
    // Long enough for three commands on a loaded machine, then waited out.
    let opened = std::time::Instant::now();
    v.run(&["open", "soon", "--client", "Acme", "--for", "6s"])
        .success();
    v.run_with_stdin(&["add", "soon", "ftp", "--kind", "hosting"], "gone-soon\n")
        .success();
    v.run(&["freeze", "soon", "--reason", "paused"]).success();
    std::thread::sleep(std::time::Duration::from_millis(6500).saturating_sub(opened.elapsed()));
    let out = v.run(&["list", "--all", "--json"]).success();
    assert!(out.stderr().contains("expired 'soon'"), "{}", out.stderr());
    assert_eq!(out.json()[0]["status"], "expired");
    assert!(!v.contains_bytes(b"gone-soon"));
}

/// Receipts a client can read (issue 5, item 7): `close --lang fr` prints the
/// receipt in French with the same digest as the JSON record; the default follows
/// the locale.
#[test]
fn close_prints_the_receipt_in_the_clients_language_with_the_same_digest() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "x");
    v.open_with_credential("beta", "ftp", "y");
    let fr = v.run(&["close", "acme", "--lang", "fr"]).success().stdout();
    assert!(fr.contains("reçu :"), "{fr}");
    assert!(fr.contains("détruits :   1 identifiant(s) : ftp"), "{fr}");
    let digest = v.run(&["show", "acme", "--json"]).success().json()["receipt"]
        .as_str()
        .expect("receipt")
        .to_owned();
    assert!(fr.contains(&digest), "{fr}");
    let by_locale = v
        .cmd(&["close", "beta"])
        .env("LANG", "fr_FR.UTF-8")
        .output()
        .expect("close");
    assert!(String::from_utf8_lossy(&by_locale.stdout).contains("reçu :"));
    v.run(&["close", "acme", "--lang", "de"]).fails(2);
}

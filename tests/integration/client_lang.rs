//! Issue 13 item 6: `--lang` is the language of a document for the client
//! (`close`, `show`, `client report`, `client erase`), and the vault keeps the
//! language each client was last served in, so that the next document defaults
//! to it.

use crate::support::TestVault;

const CLIENT: &str = "Acme SARL";

fn closed_for_acme(v: &TestVault, id: &str, lang: &[&str]) -> String {
    v.open_with_credential(id, "wp-admin", "s3cret-wp");
    v.run(&[&["close", id][..], lang].concat())
        .success()
        .stdout()
}

#[test]
fn the_next_document_for_a_client_is_in_the_language_it_was_last_served_in() {
    let v = TestVault::new();
    // Nothing chosen yet, no French locale: English.
    let first = closed_for_acme(&v, "job-1", &[]);
    assert!(first.starts_with("closed job-1\nwiped:       "), "{first}");

    let french = closed_for_acme(&v, "job-2", &["--lang", "fr"]);
    assert!(
        french.starts_with("intervention job-2 clôturée\neffacement : "),
        "{french}"
    );
    // Remembered: the next receipt, the report and a receipt shown again are French.
    let next = closed_for_acme(&v, "job-3", &[]);
    assert!(next.starts_with("intervention job-3 clôturée\n"), "{next}");
    let report = v.run(&["client", "report", CLIENT]).success().stdout();
    assert!(
        report.starts_with("Ce que ce coffre détient sur Acme SARL"),
        "{report}"
    );
    assert!(
        report.contains("\nInterventions effacées : 3\n"),
        "{report}"
    );
    assert!(report.contains("  reçu :       "), "{report}");
    let shown = v.run(&["show", "job-1"]).success().stdout();
    assert!(shown.contains("\neffacement : "), "{shown}");
    assert!(shown.contains("\nétat :       clôturée\n"), "{shown}");

    // `show --lang en` serves the client in English from now on.
    let shown = v.run(&["show", "job-1", "--lang", "en"]).success().stdout();
    assert!(shown.contains("\nwiped:       "), "{shown}");
    let report = v.run(&["client", "report", CLIENT]).success().stdout();
    assert!(
        report.starts_with("What this vault holds about Acme SARL"),
        "{report}"
    );
    let json = v.run(&["show", "job-1", "--json"]).success().json();
    assert_eq!(json["lang"], "en");

    // `client report --lang fr` too; then the erasure's confirmation is French.
    v.run(&["client", "report", CLIENT, "--lang", "fr"])
        .success();
    v.open_with_credential("job-4", "ftp", "s3cret-ftp");
    let erased = v.run(&["client", "erase", CLIENT]).success().stdout();
    assert!(
        erased.starts_with("intervention job-4 clôturée\n"),
        "{erased}"
    );
    assert!(
        erased
            .lines()
            .last()
            .unwrap()
            .starts_with("client effacé : 1 intervention(s)"),
        "{erased}"
    );
}

#[test]
fn each_client_keeps_its_own_language_and_the_vault_holds_it_sealed() {
    let v = TestVault::new();
    closed_for_acme(&v, "job-1", &["--lang", "fr"]);
    v.run(&["open", "other", "--client", "Globex Ltd", "--for", "1h"])
        .success();
    let other = v.run(&["close", "other"]).success().stdout();
    assert!(other.starts_with("closed other\n"), "{other}");
    let again = closed_for_acme(&v, "job-2", &[]);
    assert!(
        again.starts_with("intervention job-2 clôturée\n"),
        "{again}"
    );
    assert!(!v.contains_bytes(b"\"lang\""));
}

#[test]
fn a_client_erased_in_english_gets_an_english_confirmation_whatever_it_was_served_in() {
    let v = TestVault::new();
    closed_for_acme(&v, "job-1", &["--lang", "fr"]);
    let erased = v
        .run(&["client", "erase", CLIENT, "--lang", "en"])
        .success()
        .stdout();
    assert!(
        erased.starts_with("erased client: 0 intervention(s) wiped"),
        "{erased}"
    );
    // The name is gone, and its language with it: the pseudonym's receipt is
    // shown in the caller's default.
    let shown = v.run(&["show", "job-1"]).success().stdout();
    assert!(shown.contains("\nwiped:       "), "{shown}");
}

#[test]
fn an_unknown_language_is_a_usage_error_that_changes_nothing() {
    let v = TestVault::new();
    v.open_with_credential("job-1", "wp-admin", "s3cret-wp");
    let before = v.snapshot();
    for args in [
        &["show", "job-1", "--lang", "de"][..],
        &["client", "report", CLIENT, "--lang", "de"],
        &["close", "job-1", "--lang", "de"],
    ] {
        let run = v.run(args).fails(2);
        assert!(run.stderr().contains("'de'"), "{}", run.stderr());
    }
    assert_eq!(v.snapshot(), before);
}

//! Issue 13: destroying asks first on a terminal (item 2), and `--json` is never
//! silently ignored (item 5). The terminal is a real pseudo-terminal, given by
//! `script` (util-linux), whose stdin is what the user types.

use std::path::Path;

use crate::support::{Run, TestVault, PASSPHRASE};

/// Runs `intervault ARGS` on a pseudo-terminal, `typed` being what the user types.
/// What the terminal shows (stdout, stderr and the echo) comes back as stdout.
fn on_tty(v: &TestVault, args: &str, typed: &str) -> Run {
    let bin = assert_cmd::cargo::cargo_bin("intervault");
    let mut c = assert_cmd::Command::new("script");
    c.args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", v.dir.parent().unwrap_or(Path::new("/")))
        .env("TZ", "UTC")
        .env("INTERVAULT_DIR", &v.dir)
        .env("INTERVAULT_PASSPHRASE", PASSPHRASE)
        .write_stdin(typed);
    Run(c.output().expect("script (util-linux) runs"))
}

fn with_two_credentials() -> TestVault {
    let v = TestVault::new();
    v.open_with_credential("acme-site", "ftp", "s3cret-ftp");
    v.run_with_stdin(
        &["add", "acme-site", "wp-admin", "--kind", "cms"],
        "s3cret-wp\n",
    )
    .success();
    v
}

const CLOSE_QUESTION: &str =
    "Close acme-site (Acme SARL) and wipe 2 credential(s): ftp, wp-admin? [y/N] ";

#[test]
fn issue_13_close_on_a_terminal_answered_no_leaves_the_vault_as_it_was() {
    let v = with_two_credentials();
    let before = v.snapshot();
    for typed in ["n\n", "\n", "nope\n", "", "yess\n"] {
        let out = on_tty(&v, "close acme-site", typed);
        assert_eq!(out.code(), 1, "{typed:?}: {}", out.stdout());
        let shown = out.stdout();
        assert!(shown.contains(CLOSE_QUESTION), "{shown:?}");
        assert!(
            shown.contains("intervault: 'acme-site' not closed: you answered no, so nothing was changed (answer y, or give --yes, to go ahead)\r\n"),
            "{shown:?}"
        );
        assert!(!shown.contains("receipt"), "{shown:?}");
        assert_eq!(
            v.snapshot(),
            before,
            "answering {typed:?} changed the vault"
        );
    }
    assert_eq!(
        v.run(&["get", "acme-site", "ftp"]).success().stdout(),
        "s3cret-ftp\n"
    );
}

#[test]
fn issue_13_close_on_a_terminal_answered_yes_closes() {
    for typed in ["y\n", "YES\n"] {
        let v = with_two_credentials();
        let out = on_tty(&v, "close acme-site", typed);
        assert_eq!(out.code(), 0, "{}", out.stdout());
        assert!(out.stdout().contains(CLOSE_QUESTION), "{}", out.stdout());
        assert!(out.stdout().contains("receipt:"), "{}", out.stdout());
        v.run(&["get", "acme-site", "ftp"]).fails(3);
    }
}

#[test]
fn issue_13_yes_on_a_terminal_does_not_ask() {
    let v = with_two_credentials();
    let out = on_tty(&v, "rm acme-site ftp -y", "");
    assert_eq!(out.code(), 0, "{}", out.stdout());
    assert!(!out.stdout().contains("[y/N]"), "{}", out.stdout());
    let out = on_tty(&v, "close --yes acme-site", "");
    assert_eq!(out.code(), 0, "{}", out.stdout());
    assert!(!out.stdout().contains("[y/N]"), "{}", out.stdout());
    assert!(out
        .stdout()
        .contains("destroyed:   1 credential(s): wp-admin"));
}

/// Scripts keep the contract: with stdin not a terminal, nothing is asked.
#[test]
fn issue_13_piped_stdin_is_never_asked() {
    let v = with_two_credentials();
    let rm = v.run(&["rm", "acme-site", "ftp"]).success();
    assert_eq!(rm.stderr(), "intervault: removed acme-site/ftp\n");
    let close = v.run(&["close", "acme-site"]).success();
    assert!(close.stdout().starts_with("closed acme-site\n"));
    assert!(!close.stderr().contains("[y/N]"));
    v.run(&["client", "erase", "Acme SARL"]).success();
}

#[test]
fn issue_13_rm_and_client_erase_ask_naming_what_they_destroy() {
    let v = with_two_credentials();
    v.run(&["open", "acme-dns", "--client", "Acme SARL", "--for", "1h"])
        .success();
    let before = v.snapshot();
    let out = on_tty(&v, "rm acme-site wp-admin", "n\n");
    assert_eq!(out.code(), 1);
    assert!(out
        .stdout()
        .contains("Remove credential wp-admin from acme-site (Acme SARL)? [y/N] "));
    assert!(out
        .stdout()
        .contains("intervault: 'acme-site/wp-admin' not removed: you answered no"));
    let out = on_tty(&v, "client erase 'Acme SARL'", "n\n");
    assert_eq!(out.code(), 1);
    assert!(out.stdout().contains(
        "Erase client Acme SARL: wipe 2 live intervention(s) (acme-site with 2 credential(s): ftp, wp-admin; acme-dns with 0 credential(s)) and remove its name from 0 tombstone(s)? [y/N] "
    ), "{}", out.stdout());
    assert!(out
        .stdout()
        .contains("intervault: client 'Acme SARL' not erased: you answered no"));
    assert_eq!(v.snapshot(), before);
    let out = on_tty(&v, "client erase 'Acme SARL'", "y\n");
    assert_eq!(out.code(), 0, "{}", out.stdout());
    v.run(&["show", "acme-site"]).success();
    v.run(&["get", "acme-site", "ftp"]).fails(3);
}

/// A refusal is told before any question: nothing to confirm.
#[test]
fn issue_13_no_question_about_what_does_not_exist() {
    let v = with_two_credentials();
    let out = on_tty(&v, "close nothing-here", "y\n");
    assert_eq!(out.code(), 5);
    assert!(!out.stdout().contains("[y/N]"));
    let out = on_tty(&v, "rm acme-site nothing", "y\n");
    assert_eq!(out.code(), 5);
    assert!(!out.stdout().contains("[y/N]"));
}

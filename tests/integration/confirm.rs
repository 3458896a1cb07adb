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

/// Item 5: every command either prints JSON with `--json` (exit 0) or refuses
/// the flag (exit 2, one line naming it) before doing anything.
#[test]
fn issue_13_every_command_prints_json_or_refuses_the_flag() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cret-ftp");
    let spare = tempfile::tempdir().expect("tempdir");
    let out_dir = spare.path().join("man");
    let refused: &[&[&str]] = &[
        &["init"],
        &["add", "acme", "db", "--kind", "database"],
        &["rm", "acme", "ftp"],
        &["totp", "acme", "ftp"],
        &["exec", "acme", "--", "true"],
        &["freeze", "acme", "--reason", "wait"],
        &["unfreeze", "acme"],
        &["passwd"],
        &["unlock"],
        &["lock"],
        &["audit", "restart"],
        &["completions", "bash"],
        &["manpages", out_dir.to_str().expect("utf-8")],
    ];
    for args in refused {
        let before = v.snapshot();
        let run = v
            .run_with_stdin(&[&["--json"], *args].concat(), "x\n")
            .fails(2);
        let name = if args[0] == "audit" {
            "audit restart"
        } else {
            args[0]
        };
        assert_eq!(
            run.stderr(),
            format!("intervault: '{name}' has no JSON output: run it without --json (see --json in 'intervault --help')\n")
        );
        assert_eq!(run.stdout(), "", "{args:?}");
        assert_eq!(v.snapshot(), before, "{args:?} changed the vault");
    }
    assert!(!out_dir.exists());

    let backups = spare.path().join("backups");
    let backups = backups.to_str().expect("utf-8");
    let json = |args: &[&str]| -> serde_json::Value {
        let run = v.run(&[args, &["--json"]].concat());
        assert_eq!(run.code(), 0, "{args:?}: {}", run.stderr());
        serde_json::from_str(&run.stdout())
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", run.stdout()))
    };
    assert_eq!(
        json(&["open", "beta", "--client", "Beta", "--for", "2h"])["id"],
        "beta"
    );
    assert_eq!(json(&["get", "acme", "ftp"])["secret"], "s3cret-ftp");
    assert!(json(&["list"]).is_array());
    assert_eq!(json(&["show", "acme"])["entries"][0]["name"], "ftp");
    let until = "2099-01-01";
    assert_eq!(
        json(&["extend", "beta", "--until", until, "--reason", "more"])["id"],
        "beta"
    );
    assert!(json(&["status"]).is_object());
    assert!(json(&["audit"]).is_array());
    assert_eq!(json(&["audit", "verify"])["intact"], true);
    assert!(json(&["client", "list"]).is_array());
    assert_eq!(json(&["client", "report", "Beta"])["client"], "Beta");
    assert!(json(&["retention"]).is_object());
    let written = json(&["backup", "--to", backups]);
    let file = written["written"][0]
        .as_str()
        .expect("a backup path")
        .to_owned();
    assert_eq!(json(&["backup", "verify", &file])["intact"], true);
    let into = spare.path().join("restored");
    let restored = json(&["restore", &file, "--into", into.to_str().expect("utf-8")]);
    assert!(restored["restored"].is_array());
    assert!(json(&["sweep"])["wiped"].is_array());
    assert_eq!(json(&["close", "beta"])["wiped"][0]["id"], "beta");
    assert!(json(&["client", "erase", "Acme SARL"])["wiped"].is_array());
}

/// Item 5: `get --field F --json` prints only that field.
#[test]
fn issue_13_get_field_json_prints_only_that_field() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cret-ftp");
    let user = v
        .run(&["get", "acme", "ftp", "--field", "user", "--json"])
        .success();
    assert_eq!(
        user.stdout(),
        "{\"intervention\":\"acme\",\"name\":\"ftp\",\"field\":\"user\",\"value\":\"webmaster\"}\n"
    );
    let secret = v
        .run(&["get", "acme", "ftp", "--field", "secret", "--json"])
        .success();
    assert_eq!(secret.json()["value"], "s3cret-ftp");
    assert!(secret.json().get("user").is_none());
    v.run(&["get", "acme", "ftp", "--field", "note", "--json"])
        .fails(5);
    let all = v
        .run(&["get", "acme", "ftp", "--field", "all", "--json"])
        .success();
    assert_eq!(all.json()["user"], "webmaster");
    assert_eq!(all.json()["secret"], "s3cret-ftp");
    assert_eq!(
        v.run(&["get", "acme", "ftp", "--json"]).success().json(),
        all.json()
    );
}

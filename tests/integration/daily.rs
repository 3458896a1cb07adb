//! Daily-use guards: `--max-uses` wipes a credential on its Nth fetch, and fetches
//! warn when less than 30 minutes remain in the window.

use crate::support::TestVault;

#[test]
fn max_uses_wipes_the_credential_on_the_nth_fetch() {
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme", "--for", "2h"])
        .success();
    v.run_with_stdin(
        &[
            "add",
            "acme",
            "otp-code",
            "--kind",
            "other",
            "--max-uses",
            "2",
        ],
        "one-time\n",
    )
    .success();
    let first = v.run(&["get", "acme", "otp-code"]).success();
    assert_eq!(first.stdout(), "one-time\n");
    assert!(!first.stderr().contains("max-uses"), "{}", first.stderr());
    let second = v.run(&["get", "acme", "otp-code"]).success();
    assert_eq!(second.stdout(), "one-time\n");
    assert!(
        second.stderr().contains("reached its --max-uses"),
        "{}",
        second.stderr()
    );
    v.run(&["get", "acme", "otp-code"]).fails(5);
    let show = v.run(&["show", "acme", "--json"]).success().json();
    assert_eq!(show["credentials"], 0);
    assert!(!v.contains_bytes(b"one-time"));
}

#[test]
fn max_uses_counts_survive_other_changes_and_zero_is_refused() {
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme", "--for", "2h"])
        .success();
    v.run_with_stdin(
        &["add", "acme", "a", "--kind", "other", "--max-uses", "2"],
        "x\n",
    )
    .success();
    v.run(&["get", "acme", "a"]).success();
    // Another credential written in between must not reset the count.
    v.run_with_stdin(&["add", "acme", "b", "--kind", "other"], "y\n")
        .success();
    v.run(&["get", "acme", "a"]).success();
    v.run(&["get", "acme", "a"]).fails(5);
    v.run_with_stdin(
        &["add", "acme", "c", "--kind", "other", "--max-uses", "0"],
        "z\n",
    )
    .fails(2);
}

#[test]
fn fetches_warn_when_less_than_thirty_minutes_remain() {
    let v = TestVault::new();
    v.run(&["open", "soon", "--client", "Acme", "--for", "20m"])
        .success();
    v.run_with_stdin(&["add", "soon", "ftp", "--kind", "hosting"], "x\n")
        .success();
    let out = v.run(&["get", "soon", "ftp"]).success();
    assert_eq!(out.stdout(), "x\n");
    let stderr = out.stderr();
    let warning: Vec<&str> = stderr.lines().filter(|l| l.contains("ends in")).collect();
    assert_eq!(warning.len(), 1, "{}", out.stderr());
    v.run(&["open", "later", "--client", "Acme", "--for", "31m"])
        .success();
    v.run_with_stdin(&["add", "later", "ftp", "--kind", "hosting"], "x\n")
        .success();
    let out = v.run(&["get", "later", "ftp"]).success();
    assert!(!out.stderr().contains("ends in"), "{}", out.stderr());
}

/// On a terminal the status column is coloured; NO_COLOR turns colour off, and a
/// pipe never gets any. `script` gives the command a pseudo-terminal.
#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme", "--for", "2h"])
        .success();
    let bin = assert_cmd::cargo::cargo_bin("intervault");
    let on_tty = |no_color: Option<&str>| {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &format!("{} list", bin.display()), "/dev/null"])
            .env("INTERVAULT_DIR", &v.dir)
            .env("INTERVAULT_PASSPHRASE", crate::support::PASSPHRASE)
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            c.env("NO_COLOR", value);
        }
        let out = c.output().expect("script (util-linux) runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(on_tty(None).contains("\x1b[32m"), "{:?}", on_tty(None));
    assert!(!on_tty(Some("1")).contains('\x1b'));
    assert!(
        on_tty(Some("")).contains('\x1b'),
        "an empty NO_COLOR does not count"
    );
    assert!(!v.run(&["list"]).success().stdout().contains('\x1b'));
}

/// A fetch that cannot deliver (the field was never set) must not use up a
/// `--max-uses` credential.
#[test]
fn a_fetch_of_an_unset_field_does_not_count_a_use() {
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme", "--for", "2h"])
        .success();
    v.run_with_stdin(
        &["add", "acme", "once", "--kind", "other", "--max-uses", "1"],
        "x\n",
    )
    .success();
    v.run(&["get", "acme", "once", "--field", "user"]).fails(5);
    v.run(&["totp", "acme", "once"]).fails(5);
    assert_eq!(v.run(&["get", "acme", "once"]).success().stdout(), "x\n");
    v.run(&["get", "acme", "once"]).fails(5);
}

#[test]
fn clip_and_json_together_are_refused_wherever_json_is_given() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "x");
    v.run(&["--json", "get", "acme", "ftp", "--clip"]).fails(2);
    v.run(&["get", "acme", "ftp", "--clip", "--json"]).fails(2);
}

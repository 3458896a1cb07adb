//! Issue 13, item 3: forgiving input, the way `pass` and `git` users type:
//! `ID/NAME` pairs, `extend --for`, `open --from --for`, `audit --since 7d`,
//! `backup verify` without a file, and clear refusals and warnings (a secret on
//! the command line, a misspelt command, a weak passphrase, a secret with spaces).

use chrono::{DateTime, TimeDelta, Utc};

use crate::helpers::{in_secs, one_line};
use crate::support::{Run, TestVault};

const SECRET_ON_ARGV: &str = "intervault: a secret is never taken from the command line (it would stay in the shell history and the process list); nothing was stored: run 'intervault add ID NAME --kind KIND' and type it at the hidden prompt, or pipe it in: printf '%s\\n' \"$SECRET\" | intervault add ID NAME --kind KIND; see 'intervault add --help'\n";

fn acme() -> TestVault {
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme", "--for", "2h"])
        .success();
    v
}

fn time(json: &serde_json::Value) -> DateTime<Utc> {
    json.as_str().unwrap().parse().unwrap()
}

#[test]
fn issue_13_id_slash_name_works_wherever_a_pair_is_taken() {
    let v = acme();
    v.run_with_stdin(
        &["add", "acme/wp-admin", "--kind", "cms", "--user", "bob"],
        "pw-1\n",
    )
    .success();
    let get = v.run(&["get", "acme/wp-admin"]).success();
    assert_eq!(get.stdout(), "pw-1\n");
    let user = v
        .run(&["get", "acme/wp-admin", "--field", "user"])
        .success();
    assert_eq!(user.stdout(), "bob\n");
    // The two-word form keeps working on the same credential.
    assert_eq!(
        v.run(&["get", "acme", "wp-admin"]).success().stdout(),
        "pw-1\n"
    );
    // totp: the pair is understood (this credential has no seed: exit 5).
    v.run(&["totp", "acme/wp-admin"]).fails(5);
    v.run(&["rm", "acme/wp-admin"]).success();
    v.run(&["get", "acme/wp-admin"]).fails(5);
}

#[test]
fn issue_13_both_forms_at_once_or_half_a_pair_is_a_usage_error() {
    let v = acme();
    v.run_with_stdin(&["add", "acme", "ftp", "--kind", "hosting"], "pw\n")
        .success();
    let before = v.snapshot();
    let both = one_line(v.run(&["get", "acme/ftp", "ftp"]).fails(2));
    assert_eq!(
        both.stderr(),
        "intervault: the credential is named twice (ID/NAME and NAME): give ID NAME or ID/NAME; see 'intervault get --help'\n"
    );
    let rm = one_line(v.run(&["rm", "acme"]).fails(2));
    assert_eq!(
        rm.stderr(),
        "intervault: no credential name: give ID NAME or ID/NAME; see 'intervault rm --help'\n"
    );
    for half in ["acme/", "/ftp"] {
        let run = one_line(v.run(&["get", half]).fails(2));
        assert_eq!(
            run.stderr(),
            "intervault: ID/NAME needs both an intervention ID and a credential name: give ID NAME or ID/NAME; see 'intervault get --help'\n"
        );
    }
    assert_eq!(v.snapshot(), before);
}

#[test]
fn issue_13_a_secret_on_the_command_line_is_refused_unechoed_and_never_stored() {
    let v = acme();
    let secret = "s3cret-on-argv-9f2";
    let before = v.snapshot();
    for args in [
        &["add", "acme", "ftp", secret, "--kind", "hosting"][..],
        &["add", "acme/ftp", secret, "--kind", "hosting"][..],
        &["add", "acme", "ftp", "--kind", "hosting", secret][..],
    ] {
        let run = one_line(v.run_with_stdin(args, "from-stdin\n").fails(2));
        assert_eq!(run.stderr(), SECRET_ON_ARGV, "{args:?}");
        assert_eq!(run.stdout(), "");
    }
    // Without --kind, and a secret that looks like an option: the same refusal.
    for args in [
        &["add", "acme", "ftp", secret][..],
        &["add", "acme", "ftp", "-x9-s3cret", "--kind", "cms"][..],
    ] {
        let run = one_line(v.run(args).fails(2));
        assert_eq!(run.stderr(), SECRET_ON_ARGV, "{args:?}");
    }
    // A misspelt option of add still gets clap's suggestion.
    let typo = one_line(v.run(&["add", "acme", "ftp", "--kindd", "cms"]).fails(2));
    assert_eq!(
        typo.stderr(),
        "intervault: unexpected argument '--kindd' found tip: a similar argument exists: '--kind': see 'intervault add --help'\n"
    );
    assert_eq!(v.snapshot(), before, "the vault changed");
    assert!(!v.contains_bytes(secret.as_bytes()));
    assert!(!v.contains_bytes(b"from-stdin"));
}

#[test]
fn issue_13_extend_for_adds_to_the_end_now_planned() {
    let v = TestVault::new();
    let until = in_secs(3600);
    v.run(&["open", "acme", "--client", "Acme", "--until", &until])
        .success();
    let planned: DateTime<Utc> = until.parse().unwrap();
    let out = v
        .run(&[
            "extend",
            "acme",
            "--for",
            "2h",
            "--reason",
            "more work",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(time(&out["until"]), planned + TimeDelta::hours(2));
    // Twice: the lengths add up.
    v.run(&["extend", "acme", "--for", "30m", "--reason", "again"])
        .success();
    let show = v.run(&["show", "acme", "--json"]).success().json();
    assert_eq!(
        time(&show["until"]),
        planned + TimeDelta::hours(2) + TimeDelta::minutes(30)
    );
    let before = v.snapshot();
    let both = one_line(
        v.run(&[
            "extend",
            "acme",
            "--for",
            "1h",
            "--until",
            &in_secs(9000),
            "--reason",
            "x",
        ])
        .fails(2),
    );
    assert_eq!(
        both.stderr(),
        "intervault: the argument '--for <DURATION>' cannot be used with '--until <TIME>': see 'intervault extend --help'\n"
    );
    let neither = one_line(v.run(&["extend", "acme", "--reason", "x"]).fails(2));
    assert!(
        neither
            .stderr()
            .ends_with(": see 'intervault extend --help'\n"),
        "{}",
        neither.stderr()
    );
    one_line(
        v.run(&["extend", "acme", "--for", "2x", "--reason", "x"])
            .fails(2),
    );
    assert_eq!(v.snapshot(), before);
}

#[test]
fn issue_13_open_from_for_is_a_scheduled_window_of_that_length() {
    let v = TestVault::new();
    let out = v
        .run(&[
            "open",
            "later",
            "--client",
            "Acme",
            "--from",
            "2030-01-01T09:00:00Z",
            "--for",
            "1d12h",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(out["from"], "2030-01-01T09:00:00Z");
    assert_eq!(out["until"], "2030-01-02T21:00:00Z");
    assert_eq!(out["status"], "scheduled");
    // --from without --for or --until still says what is missing.
    one_line(
        v.run(&["open", "x", "--client", "X", "--from", "2030-01-01"])
            .fails(2),
    );
}

#[test]
fn issue_13_audit_since_and_until_take_today_yesterday_and_durations() {
    let v = acme();
    // Only the records about acme: the audit reads are recorded too.
    let count = |args: &[&str]| -> usize {
        let filter = ["audit", "--json", "--intervention", "acme"];
        let run = v.run(&[&filter[..], args].concat()).success();
        run.json().as_array().unwrap().len()
    };
    let all = count(&[]);
    assert_eq!(all, 1, "open is recorded");
    assert_eq!(count(&["--since", "today"]), all);
    assert_eq!(count(&["--since", "7d"]), all);
    assert_eq!(count(&["--since", "1h"]), all);
    assert_eq!(count(&["--until", "yesterday"]), 0);
    assert_eq!(count(&["--since", "yesterday", "--until", "7d"]), 0);
    let bad = one_line(v.run(&["audit", "--since", "last week"]).fails(2));
    assert_eq!(
        bad.stderr(),
        "intervault: invalid time \"last week\": use RFC 3339 (2026-12-01T09:00:00+01:00), \"YYYY-MM-DD HH:MM\" or \"YYYY-MM-DD\" in local time, \"today\", \"yesterday\", or a duration ago such as 7d\n"
    );
}

#[test]
fn issue_13_backup_verify_without_a_file_checks_the_newest_managed_backup() {
    let v = acme();
    let none = one_line(v.run(&["backup", "verify"]).fails(5));
    assert_eq!(
        none.stderr(),
        "intervault: no managed backup to verify: make one with 'intervault backup', or name the file: intervault backup verify FILE\n"
    );
    v.run(&["backup"]).success();
    v.run_with_stdin(&["add", "acme/ftp", "--kind", "hosting"], "pw\n")
        .success();
    let newest = v.run(&["backup", "--json"]).success().json();
    let newest = newest["written"][0].as_str().unwrap().to_owned();
    let run = v.run(&["backup", "verify"]).success();
    assert!(
        run.stdout()
            .starts_with(&format!("backup {newest} is intact: ")),
        "{}",
        run.stdout()
    );
    // No vault: exit 5 as for every command.
    let empty = TestVault::empty();
    one_line(empty.run(&["backup", "verify"]).fails(5));
}

#[test]
fn issue_13_a_secret_with_outer_whitespace_is_kept_with_a_warning() {
    let v = acme();
    let run = v
        .run_with_stdin(
            &["add", "acme", "ftp", "--kind", "hosting"],
            "  padded-pw-77 \n",
        )
        .success();
    assert_eq!(
        run.stderr(),
        "intervault: warning: the secret for acme/ftp starts or ends with whitespace; it was kept as given\nintervault: stored acme/ftp\n"
    );
    assert_eq!(
        v.run(&["get", "acme/ftp"]).success().stdout(),
        "  padded-pw-77 \n"
    );
    // A clean one gets no warning.
    let clean = v
        .run_with_stdin(&["add", "acme", "db", "--kind", "database"], "clean\n")
        .success();
    assert_eq!(clean.stderr(), "intervault: stored acme/db\n");
}

fn run_with_env(v: &TestVault, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = v.cmd(args);
    for (k, val) in env {
        c.env(k, val);
    }
    Run(c.output().unwrap())
}

const WEAK: &str = "intervault: warning: the new passphrase is weak (strength 0 of 4: This is a very common password); it guards every client's logins: prefer four or more random words";

#[test]
fn issue_13_a_weak_passphrase_is_warned_about_but_scripts_are_not_refused() {
    let v = TestVault::empty();
    let cheap = [
        "init",
        "--kdf-memory",
        "8",
        "--kdf-iterations",
        "1",
        "--kdf-parallelism",
        "1",
    ];
    let init = run_with_env(&v, &cheap, &[("INTERVAULT_PASSPHRASE", "password1")]).success();
    assert!(
        init.stderr().lines().any(|l| l == WEAK),
        "{}",
        init.stderr()
    );
    assert!(!init.stderr().contains("password1"));
    let env = [
        ("INTERVAULT_PASSPHRASE", "password1"),
        ("INTERVAULT_NEW_PASSPHRASE", "letmein"),
    ];
    let passwd = run_with_env(&v, &["passwd"], &env).success();
    assert!(
        passwd
            .stderr()
            .contains("intervault: warning: the new passphrase is weak (strength"),
        "{}",
        passwd.stderr()
    );
    assert!(!passwd.stderr().contains("letmein"));
    // A strong one: no warning.
    let env = [
        ("INTERVAULT_PASSPHRASE", "letmein"),
        ("INTERVAULT_NEW_PASSPHRASE", crate::support::PASSPHRASE),
    ];
    let strong = run_with_env(&v, &["passwd"], &env).success();
    assert_eq!(strong.stderr(), "intervault: passphrase changed\n");
}

#[test]
fn issue_13_a_misspelt_command_gets_a_suggestion_and_usage_errors_name_their_help() {
    let v = TestVault::new();
    let gte = one_line(v.run(&["gte", "acme", "ftp"]).fails(2));
    assert_eq!(
        gte.stderr(),
        "intervault: no command 'gte': did you mean 'intervault get'? (see 'intervault --help')\n"
    );
    let lsit = one_line(v.run(&["lsit"]).fails(2));
    assert_eq!(
        lsit.stderr(),
        "intervault: no command 'lsit': did you mean 'intervault list'? (see 'intervault --help')\n"
    );
    let nested = one_line(v.run(&["backup", "verfiy"]).fails(2));
    assert_eq!(
        nested.stderr(),
        "intervault: no command 'verfiy': did you mean 'intervault backup verify'? (see 'intervault backup --help')\n"
    );
    let far = one_line(v.run(&["frobnicate"]).fails(2));
    assert_eq!(
        far.stderr(),
        "intervault: no command 'frobnicate': see 'intervault --help' for the commands\n"
    );
    let flag = one_line(v.run(&["get", "acme", "ftp", "--fild", "user"]).fails(2));
    assert_eq!(
        flag.stderr(),
        "intervault: unexpected argument '--fild' found tip: a similar argument exists: '--field': see 'intervault get --help'\n"
    );
    // Bare `intervault`: the short help on stderr, exit 2 (a usage error).
    let bare = v.run(&[]);
    assert_eq!(bare.code(), 2);
    assert_eq!(bare.stdout(), "");
    assert!(
        bare.stderr()
            .contains("Usage: intervault [OPTIONS] <COMMAND>"),
        "{}",
        bare.stderr()
    );
}

//! The command-line contract (`shared/cli-contract.md`), command by command and exit
//! code by exit code: init, open, add, get, rm, list, show, extend, close, sweep and
//! passwd; the JSON shapes; passphrase sources; global options before or after the
//! command; the order in which exit codes win (2, 5 no vault, 4, 5 no intervention,
//! 3, 5/7 credential); and that a failure leaves the vault byte-identical.

use std::collections::BTreeSet;
use std::fs;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::helpers::{in_secs, one_line, set_env, BIN};
use crate::support::{Run, TestVault, PASSPHRASE};

const SECRET: &str = "s3cr3t-value";

/// A vault holding intervention `acme` (active, with a note) and its credential
/// `ftp` (user, url, note and secret all set).
fn acme() -> TestVault {
    let v = TestVault::new();
    v.run(&[
        "open",
        "acme",
        "--client",
        "Acme SARL",
        "--for",
        "2h",
        "--note",
        "WordPress upgrade",
    ])
    .success();
    v.add_with_every_field("acme", "ftp", SECRET);
    v
}

/// Runs an assert_cmd command built by [`TestVault::cmd`] and changed by the caller.
fn run(mut c: assert_cmd::Command) -> Run {
    Run(c.output().expect("run intervault"))
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect()
}

fn set(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|s| s.to_string()).collect()
}

fn is_utc_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

/// Argument lists that are usage errors (exit 2) whatever the vault holds: malformed
/// IDs, names, kinds, times, durations and fields, unknown or missing flags, and
/// windows that are empty or already over.
fn usage_errors() -> Vec<Vec<String>> {
    let future = in_secs(3600);
    let later = in_secs(7200);
    let past = in_secs(-3600);
    let long_id = "a".repeat(65);
    let bad_ids = ["Acme", "-acme", ".acme", "ac me", "a/b", "é", "", &long_id];
    let mut cases: Vec<Vec<&str>> = Vec::new();
    for id in bad_ids {
        cases.push(vec!["get", id, "ftp"]);
        cases.push(vec!["show", id]);
        cases.push(vec!["rm", id, "ftp"]);
        cases.push(vec!["close", id]);
        cases.push(vec!["extend", id, "--until", &future, "--reason", "more"]);
        cases.push(vec!["open", id, "--client", "C", "--for", "1h"]);
        cases.push(vec!["add", id, "ftp2", "--kind", "other"]);
        // The name is bad too: still exit 2.
        cases.push(vec!["get", "acme", id]);
        cases.push(vec!["rm", "acme", id]);
        cases.push(vec!["add", "acme", id, "--kind", "other"]);
    }
    for kind in ["ftp", "Hosting", "", "password"] {
        cases.push(vec!["add", "acme", "new", "--kind", kind]);
    }
    for time in [
        "tomorrow",
        "2027-13-01",
        "2027-02-30",
        "2027-12-01 25:00",
        "12/01/2027",
        "2027-12-01T09:00:00+25:00",
        "",
    ] {
        cases.push(vec!["open", "new", "--client", "C", "--until", time]);
        cases.push(vec![
            "open", "new", "--client", "C", "--from", time, "--until", &later,
        ]);
        cases.push(vec!["extend", "acme", "--until", time, "--reason", "r"]);
    }
    for duration in ["2x", "0s", "h", "1h1d", "-1h", "1.5h", "2 hours", ""] {
        cases.push(vec!["open", "new", "--client", "C", "--for", duration]);
    }
    for field in ["password", "", "SECRET"] {
        cases.push(vec!["get", "acme", "ftp", "--field", field]);
    }
    // Flags: unknown, missing, or in conflict.
    cases.push(vec!["list", "--bogus"]);
    cases.push(vec!["frobnicate"]);
    cases.push(vec!["add", "acme", "new"]);
    cases.push(vec!["open", "new", "--client", "C"]);
    cases.push(vec!["open", "new", "--for", "1h"]);
    cases.push(vec![
        "open", "new", "--client", "C", "--for", "1h", "--until", &future,
    ]);
    cases.push(vec!["extend", "acme", "--until", &future]);
    // Bad windows: until not after from, or already over.
    cases.push(vec![
        "open", "new", "--client", "C", "--from", &later, "--until", &future,
    ]);
    cases.push(vec![
        "open", "new", "--client", "C", "--from", &future, "--until", &future,
    ]);
    cases.push(vec!["open", "new", "--client", "C", "--until", &past]);
    cases.push(vec![
        "open", "new", "--client", "C", "--from", &past, "--until", &past,
    ]);
    cases.push(vec!["extend", "acme", "--until", &past, "--reason", "r"]);
    // Free text that cannot be stored (control characters, empty client).
    cases.push(vec!["open", "new", "--client", "", "--for", "1h"]);
    cases.push(vec!["open", "new", "--client", "a\nb", "--for", "1h"]);
    cases
        .into_iter()
        .map(|c| c.into_iter().map(str::to_owned).collect())
        .collect()
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn init_twice_is_a_conflict_and_keeps_the_vault() {
    let v = acme();
    let before = v.snapshot();
    one_line(
        v.run(&["init", "--kdf-memory", "8", "--kdf-iterations", "1"])
            .fails(7),
    );
    assert_eq!(v.snapshot(), before);
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
}

#[test]
fn every_command_on_a_missing_vault_gives_5_and_creates_nothing() {
    let v = TestVault::empty();
    let future = in_secs(7200);
    let commands: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["list", "--all", "--json"],
        vec!["show", "acme"],
        vec!["get", "acme", "ftp"],
        vec!["add", "acme", "ftp", "--kind", "other"],
        vec!["rm", "acme", "ftp"],
        vec!["open", "acme", "--client", "C", "--for", "1h"],
        vec!["extend", "acme", "--until", &future, "--reason", "r"],
        vec!["close", "acme"],
        vec!["sweep"],
        vec!["sweep", "--json"],
        vec!["passwd"],
    ];
    for args in &commands {
        let out = one_line(v.run_with_stdin(args, "value\n").fails(5));
        assert!(
            out.stderr().contains("init"),
            "{args:?}: the message should say how to create a vault: {}",
            out.stderr()
        );
        // Without any passphrase either: "no vault" comes before the passphrase.
        let out = run({
            let mut c = v.cmd(args);
            c.env_remove("INTERVAULT_PASSPHRASE");
            c
        });
        one_line(out.fails(5));
        assert!(!v.dir.exists(), "{args:?} created {}", v.dir.display());
    }
}

#[test]
fn malformed_arguments_give_2_and_change_nothing() {
    let v = acme();
    let before = v.snapshot();
    for args in usage_errors() {
        let out = v.run_with_stdin(&as_strs(&args), "value\n");
        assert_eq!(out.code(), 2, "{args:?}: stderr {}", out.stderr());
        one_line(out.fails(2));
    }
    assert_eq!(v.snapshot(), before);
}

#[test]
fn usage_errors_win_over_a_missing_vault() {
    let v = TestVault::empty();
    for args in usage_errors() {
        let out = v.run_with_stdin(&as_strs(&args), "value\n");
        assert_eq!(
            out.code(),
            2,
            "{args:?} on a missing vault: stderr {}",
            out.stderr()
        );
        one_line(out);
    }
    assert!(!v.dir.exists());
}

#[test]
fn usage_errors_win_over_a_wrong_passphrase() {
    let v = acme();
    let before = v.snapshot();
    for args in usage_errors() {
        let out = run({
            let mut c = v.cmd(&as_strs(&args));
            c.env("INTERVAULT_PASSPHRASE", "not the passphrase")
                .write_stdin("value\n");
            c
        });
        assert_eq!(
            out.code(),
            2,
            "{args:?} with a wrong passphrase: stderr {}",
            out.stderr()
        );
    }
    assert_eq!(v.snapshot(), before);
}

#[test]
fn a_wrong_passphrase_wins_over_a_missing_intervention_or_credential() {
    let v = acme();
    let future = in_secs(7200);
    for args in [
        vec!["get", "nosuch", "ftp"],
        vec!["get", "acme", "nosuch"],
        vec!["show", "nosuch"],
        vec!["close", "nosuch"],
        vec!["rm", "nosuch", "ftp"],
        vec!["extend", "nosuch", "--until", &future, "--reason", "r"],
        vec!["add", "acme", "ftp", "--kind", "other"],
        vec!["open", "acme", "--client", "C", "--for", "1h"],
    ] {
        let out = run({
            let mut c = v.cmd(&args);
            c.env("INTERVAULT_PASSPHRASE", "not the passphrase")
                .write_stdin("value\n");
            c
        });
        one_line(out.fails(4));
    }
}

#[test]
fn policy_refusals_win_over_credential_errors() {
    let v = acme();
    let (from, until) = (in_secs(86_400), in_secs(2 * 86_400));
    v.run(&[
        "open", "later", "--client", "C", "--from", &from, "--until", &until,
    ])
    .success();
    v.run(&["close", "acme"]).success();
    // A closed intervention: 3, not 5 (no such credential) nor 7 (name taken).
    one_line(v.run(&["get", "acme", "nosuch"]).fails(3));
    one_line(v.run(&["rm", "acme", "nosuch"]).fails(3));
    one_line(
        v.run_with_stdin(&["add", "acme", "ftp", "--kind", "other"], "x\n")
            .fails(3),
    );
    // A scheduled one: get is refused before the credential is looked for.
    one_line(v.run(&["get", "later", "nosuch"]).fails(3));
    // No such intervention at all: 5.
    one_line(v.run(&["get", "nosuch", "ftp"]).fails(5));
    one_line(v.run(&["show", "nosuch"]).fails(5));
    one_line(v.run(&["close", "nosuch"]).fails(5));
    one_line(v.run(&["rm", "nosuch", "ftp"]).fails(5));
}

#[test]
fn open_refuses_an_empty_or_ended_window_and_stores_nothing() {
    let v = TestVault::new();
    let before = v.snapshot();
    let (past, soon, later) = (in_secs(-60), in_secs(3600), in_secs(7200));
    for (from, until) in [
        (Some(&later), &soon),
        (Some(&soon), &soon),
        (None, &past),
        (Some(&past), &past),
        (Some(&in_secs(-7200)), &past),
    ] {
        let mut args = vec!["open", "acme", "--client", "C", "--until", until];
        if let Some(from) = from {
            args.extend(["--from", from]);
        }
        one_line(v.run(&args).fails(2));
    }
    assert_eq!(v.snapshot(), before);
    assert_eq!(
        v.run(&["list", "--all", "--json"]).success().json(),
        Value::Array(vec![])
    );
}

#[test]
fn open_accepts_every_documented_window_form() {
    let v = TestVault::new();
    for (id, duration) in [
        ("s", "90s"),
        ("m", "45m"),
        ("h", "2h"),
        ("d", "3d"),
        ("w", "1w"),
        ("dh", "1d12h"),
        ("dh2", "1d 12h"),
    ] {
        v.run(&["open", id, "--client", "C", "--for", duration])
            .success();
    }
    v.run(&[
        "open",
        "rfc",
        "--client",
        "C",
        "--until",
        "2099-12-01T09:00:00+01:00",
    ])
    .success();
    v.run(&[
        "open",
        "rfcz",
        "--client",
        "C",
        "--until",
        "2099-12-01T09:00:00Z",
    ])
    .success();
    v.run(&[
        "open",
        "local",
        "--client",
        "C",
        "--until",
        "2099-12-01 09:00",
    ])
    .success();
    v.run(&[
        "open",
        "localt",
        "--client",
        "C",
        "--until",
        "2099-12-01T09:00",
    ])
    .success();
    v.run(&["open", "day", "--client", "C", "--until", "2099-12-01"])
        .success();
    v.run(&[
        "open",
        "ranged",
        "--client",
        "C",
        "--from",
        "2099-11-01",
        "--until",
        "2099-12-01",
    ])
    .success();
    let list = v.run(&["list", "--json"]).success().json();
    let until = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed"))["until"]
            .clone()
    };
    assert_eq!(until("rfc"), "2099-12-01T08:00:00Z");
    assert_eq!(until("rfcz"), "2099-12-01T09:00:00Z");
    assert_eq!(until("local"), "2099-12-01T09:00:00Z");
    assert_eq!(until("localt"), "2099-12-01T09:00:00Z");
    assert_eq!(until("day"), "2099-12-01T00:00:00Z");
    let ranged = list
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "ranged");
    assert_eq!(ranged.unwrap()["status"], "scheduled");
    assert_eq!(ranged.unwrap()["from"], "2099-11-01T00:00:00Z");
}

#[test]
fn local_times_follow_tz_and_refuse_dst_gaps_and_overlaps() {
    if !std::path::Path::new("/usr/share/zoneinfo/Europe/Paris").exists() {
        eprintln!("no tzdata for Europe/Paris here; skipping the DST cases");
        return;
    }
    let v = TestVault::new();
    let paris = |args: &[&str]| {
        run({
            let mut c = v.cmd(args);
            c.env("TZ", "Europe/Paris");
            c
        })
    };
    paris(&[
        "open",
        "winter",
        "--client",
        "C",
        "--until",
        "2027-01-15 10:00",
    ])
    .success();
    paris(&["open", "midnight", "--client", "C", "--until", "2027-01-16"]).success();
    // 02:30 is skipped on 2027-03-28 and repeated on 2027-10-31 in Paris.
    for time in ["2027-03-28 02:30", "2027-10-31 02:30"] {
        let out = one_line(paris(&["open", "dst", "--client", "C", "--until", time]).fails(2));
        assert!(
            out.stderr().contains("offset"),
            "the refusal should hint at an offset: {}",
            out.stderr()
        );
    }
    let list = v.run(&["list", "--json"]).success().json();
    let until = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .unwrap()["until"]
            .clone()
    };
    assert_eq!(until("winter"), "2027-01-15T09:00:00Z");
    assert_eq!(until("midnight"), "2027-01-15T23:00:00Z");
}

#[test]
fn open_with_a_taken_id_is_a_conflict_live_or_tombstone() {
    let v = acme();
    let before = v.snapshot();
    one_line(
        v.run(&["open", "acme", "--client", "Other", "--for", "1h"])
            .fails(7),
    );
    assert_eq!(v.snapshot(), before);
    v.run(&["close", "acme"]).success();
    let before = v.snapshot();
    one_line(
        v.run(&["open", "acme", "--client", "Other", "--for", "1h"])
            .fails(7),
    );
    assert_eq!(v.snapshot(), before);
    let show = v.run(&["show", "acme", "--json"]).success().json();
    assert_eq!(show["client"], "Acme SARL");
    assert_eq!(show["status"], "closed");
}

#[test]
fn add_of_an_existing_name_needs_replace() {
    let v = acme();
    let before = v.snapshot();
    one_line(
        v.run_with_stdin(&["add", "acme", "ftp", "--kind", "cms"], "other-value\n")
            .fails(7),
    );
    assert_eq!(v.snapshot(), before);
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
    v.run_with_stdin(
        &[
            "add",
            "acme",
            "ftp",
            "--kind",
            "cms",
            "--user",
            "root",
            "--replace",
        ],
        "new-value\n",
    )
    .success();
    let got = v.run(&["get", "acme", "ftp", "--json"]).success().json();
    assert_eq!(got["secret"], "new-value");
    assert_eq!(got["user"], "root");
    assert_eq!(got["kind"], "cms");
    // The replaced credential is a new one: fields not given again are gone.
    assert_eq!(got["url"], Value::Null);
    let show = v.run(&["show", "acme", "--json"]).success().json();
    assert_eq!(show["credentials"], 1);
    assert_eq!(show["entries"].as_array().unwrap().len(), 1);
}

#[test]
fn add_refuses_an_empty_secret() {
    let v = acme();
    let before = v.snapshot();
    for stdin in ["", "\n"] {
        one_line(
            v.run_with_stdin(&["add", "acme", "empty", "--kind", "other"], stdin)
                .fails(2),
        );
        one_line(
            v.run_with_stdin(
                &["add", "acme", "empty", "--kind", "other", "--multiline"],
                "",
            )
            .fails(2),
        );
    }
    assert_eq!(v.snapshot(), before);
    one_line(v.run(&["get", "acme", "empty"]).fails(5));
}

#[test]
fn add_reads_one_line_and_multiline_keeps_all_of_stdin() {
    let v = acme();
    let before = v.snapshot();
    let lines = "-----BEGIN KEY-----\nabc\n-----END KEY-----\n";
    let out = one_line(
        v.run_with_stdin(&["add", "acme", "key", "--kind", "hosting"], lines)
            .fails(2),
    );
    assert!(out.stderr().contains("--multiline"), "{}", out.stderr());
    assert!(
        !out.stderr().contains("abc"),
        "the secret leaked: {}",
        out.stderr()
    );
    assert_eq!(v.snapshot(), before);
    v.run_with_stdin(
        &["add", "acme", "key", "--kind", "hosting", "--multiline"],
        lines,
    )
    .success();
    let got = v.run(&["get", "acme", "key", "--json"]).success().json();
    assert_eq!(got["secret"], lines);
    assert_eq!(
        v.run(&["get", "acme", "key"]).success().stdout(),
        format!("{lines}\n")
    );
    // One line: only the trailing newline goes; spaces are part of the secret.
    v.run_with_stdin(&["add", "acme", "spaced", "--kind", "other"], "  a b  \n")
        .success();
    assert_eq!(
        v.run(&["get", "acme", "spaced"]).success().stdout(),
        "  a b  \n"
    );
    v.run_with_stdin(&["add", "acme", "bare", "--kind", "other"], "no-newline")
        .success();
    assert_eq!(
        v.run(&["get", "acme", "bare"]).success().stdout(),
        "no-newline\n"
    );
}

#[test]
fn get_prints_each_field_bare_and_a_field_never_set_gives_5() {
    let v = acme();
    for (field, value) in [
        ("secret", SECRET),
        ("user", "webmaster"),
        ("url", "ftp.acme.example"),
        ("note", "port 21"),
    ] {
        let out = v.run(&["get", "acme", "ftp", "--field", field]).success();
        assert_eq!(out.stdout(), format!("{value}\n"), "--field {field}");
    }
    v.run_with_stdin(&["add", "acme", "bare", "--kind", "other"], "only-secret\n")
        .success();
    for field in ["user", "url", "note"] {
        let out = one_line(v.run(&["get", "acme", "bare", "--field", field]).fails(5));
        assert_eq!(out.stdout(), "", "nothing on stdout for a missing field");
    }
    assert_eq!(
        v.run(&["get", "acme", "bare"]).success().stdout(),
        "only-secret\n"
    );
    one_line(v.run(&["get", "acme", "nosuch"]).fails(5));
    one_line(v.run(&["get", "nosuch", "ftp"]).fails(5));
}

#[test]
fn get_field_all_prints_field_value_lines() {
    let v = acme();
    let out = v
        .run(&["get", "acme", "ftp", "--field", "all"])
        .success()
        .stdout();
    let lines: Vec<&str> = out.lines().collect();
    for line in &lines {
        let (field, _) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("not a `field: value` line: {line:?}"));
        assert!(
            [
                "kind",
                "url",
                "user",
                "secret",
                "note",
                "name",
                "intervention"
            ]
            .contains(&field),
            "unknown field in {line:?}"
        );
    }
    for want in [
        format!("secret: {SECRET}"),
        "user: webmaster".into(),
        "url: ftp.acme.example".into(),
        "note: port 21".into(),
    ] {
        assert!(
            lines.contains(&want.as_str()),
            "{want:?} missing from {out:?}"
        );
    }
}

#[test]
fn get_json_has_exactly_the_contract_keys() {
    let v = acme();
    let got = v.run(&["get", "acme", "ftp", "--json"]).success().json();
    assert_eq!(
        keys(&got),
        set(&[
            "intervention",
            "name",
            "kind",
            "url",
            "user",
            "secret",
            "note"
        ])
    );
    assert_eq!(got["intervention"], "acme");
    assert_eq!(got["name"], "ftp");
    assert_eq!(got["kind"], "hosting");
    assert_eq!(got["url"], "ftp.acme.example");
    assert_eq!(got["user"], "webmaster");
    assert_eq!(got["secret"], SECRET);
    assert_eq!(got["note"], "port 21");
    // --json accepted before the command too, and unset fields keep their keys.
    v.run_with_stdin(&["add", "acme", "bare", "--kind", "email"], "x\n")
        .success();
    let got = v.run(&["--json", "get", "acme", "bare"]).success().json();
    assert_eq!(
        keys(&got),
        set(&[
            "intervention",
            "name",
            "kind",
            "url",
            "user",
            "secret",
            "note"
        ])
    );
    assert_eq!(got["secret"], "x");
    assert_eq!(got["kind"], "email");
}

#[test]
fn list_json_has_the_contract_shape() {
    let v = acme();
    let (from, until) = (in_secs(86_400), in_secs(2 * 86_400));
    v.run(&[
        "open", "later", "--client", "Beta", "--from", &from, "--until", &until,
    ])
    .success();
    let out = v.run(&["list", "--json"]).success();
    assert!(!out.stdout().contains(SECRET) && !out.stdout().contains("webmaster"));
    let list = out.json();
    let items = list.as_array().expect("an array");
    assert_eq!(items.len(), 2);
    for item in items {
        let k = keys(item);
        for want in ["id", "client", "status", "from", "until", "credentials"] {
            assert!(k.contains(want), "{want} missing from {item}");
        }
        assert!(
            !k.contains("wiped_at") && !k.contains("wipe_reason"),
            "{item}"
        );
        assert!(
            is_utc_rfc3339(&item["from"]) && is_utc_rfc3339(&item["until"]),
            "{item}"
        );
        assert!(item["credentials"].is_u64(), "{item}");
    }
    let acme = items.iter().find(|o| o["id"] == "acme").expect("acme");
    assert_eq!(acme["client"], "Acme SARL");
    assert_eq!(acme["status"], "active");
    assert_eq!(acme["credentials"], 1);
    assert_eq!(acme["note"], "WordPress upgrade");
    let later = items.iter().find(|o| o["id"] == "later").expect("later");
    assert_eq!(later["status"], "scheduled");
    assert_eq!(later["from"], from.as_str());
    assert_eq!(later["until"], until.as_str());
    assert_eq!(later["credentials"], 0);
    assert!(later.get("note").is_none_or(Value::is_null), "{later}");
    // --json before the command.
    assert_eq!(v.run(&["--json", "list"]).success().json(), list);
}

#[test]
fn show_json_lists_entries_without_user_or_secret() {
    let v = acme();
    v.run_with_stdin(
        &[
            "add", "acme", "db", "--kind", "database", "--user", "dbuser",
        ],
        "dbpass\n",
    )
    .success();
    let out = v.run(&["show", "acme", "--json"]).success();
    for leaked in [SECRET, "webmaster", "dbuser", "dbpass"] {
        assert!(!out.stdout().contains(leaked), "show printed {leaked}");
    }
    let show = out.json();
    for want in [
        "id",
        "client",
        "status",
        "from",
        "until",
        "credentials",
        "entries",
    ] {
        assert!(keys(&show).contains(want), "{want} missing from {show}");
    }
    assert_eq!(show["id"], "acme");
    assert_eq!(show["note"], "WordPress upgrade");
    assert_eq!(show["credentials"], 2);
    let entries = show["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    for e in entries {
        let k = keys(e);
        assert!(k.contains("name") && k.contains("kind"), "{e}");
        assert!(!k.contains("user") && !k.contains("secret"), "{e}");
    }
    let ftp = entries.iter().find(|e| e["name"] == "ftp").expect("ftp");
    assert_eq!(ftp["kind"], "hosting");
    assert_eq!(ftp["url"], "ftp.acme.example");
    let db = entries.iter().find(|e| e["name"] == "db").expect("db");
    assert_eq!(db["kind"], "database");
    assert!(db.get("url").is_none_or(Value::is_null), "{db}");
    // The text form does not show them either.
    let text = v.run(&["show", "acme"]).success().stdout();
    assert!(text.contains("ftp") && text.contains("db"));
    for leaked in [SECRET, "webmaster", "dbuser", "dbpass"] {
        assert!(!text.contains(leaked), "show printed {leaked}");
    }
}

#[test]
fn list_all_adds_tombstones_with_wiped_at_and_wipe_reason() {
    let v = acme();
    v.run(&["open", "beta", "--client", "Beta", "--for", "1h"])
        .success();
    let closed = v.run(&["close", "acme", "--json"]).success().json();
    let wiped = &closed["wiped"][0];
    assert_eq!(
        keys(wiped),
        set(&[
            "ref",
            "id",
            "client",
            "credentials",
            "names",
            "reason",
            "wiped_at",
            "receipt",
            "key"
        ])
    );
    assert_eq!(wiped["key"], "destroyed", "an extension: the key is gone");
    assert!(is_utc_rfc3339(&wiped["wiped_at"]));
    let live = v.run(&["list", "--json"]).success().json();
    let live_ids: Vec<&Value> = live.as_array().unwrap().iter().map(|o| &o["id"]).collect();
    assert_eq!(live_ids, vec!["beta"]);
    let all = v.run(&["list", "--all", "--json"]).success().json();
    let items = all.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let t = items.iter().find(|o| o["id"] == "acme").expect("tombstone");
    assert_eq!(t["status"], "closed");
    assert_eq!(t["client"], "Acme SARL");
    assert_eq!(t["credentials"], 1);
    assert_eq!(t["wipe_reason"], "closed");
    assert_eq!(t["wiped_at"], wiped["wiped_at"]);
    assert!(is_utc_rfc3339(&t["from"]) && is_utc_rfc3339(&t["until"]));
    // show works on the tombstone too.
    let show = v.run(&["show", "acme", "--json"]).success().json();
    assert_eq!(show["status"], "closed");
    assert_eq!(show["wiped_at"], wiped["wiped_at"]);
    assert_eq!(show["receipt"], wiped["receipt"]);
    // A closed intervention cannot be closed again, nor used.
    one_line(v.run(&["close", "acme"]).fails(3));
    one_line(v.run(&["get", "acme", "ftp"]).fails(3));
    one_line(
        v.run_with_stdin(&["add", "acme", "new", "--kind", "other"], "x\n")
            .fails(3),
    );
}

#[test]
fn rm_removes_a_credential_and_get_then_gives_5() {
    let v = acme();
    v.run_with_stdin(&["add", "acme", "db", "--kind", "database"], "dbpass\n")
        .success();
    v.run(&["rm", "acme", "ftp"]).success();
    one_line(v.run(&["get", "acme", "ftp"]).fails(5));
    one_line(v.run(&["rm", "acme", "ftp"]).fails(5));
    assert_eq!(v.run(&["get", "acme", "db"]).success().stdout(), "dbpass\n");
    let show = v.run(&["show", "acme", "--json"]).success().json();
    assert_eq!(show["credentials"], 1);
    let names: Vec<&Value> = show["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["name"])
        .collect();
    assert_eq!(names, vec!["db"]);
}

#[test]
fn extend_moves_the_window_end_and_refuses_the_past_and_wiped() {
    let v = acme();
    let longer = in_secs(5 * 3600);
    v.run(&[
        "extend",
        "acme",
        "--until",
        &longer,
        "--reason",
        "more work",
    ])
    .success();
    let show = v.run(&["show", "acme", "--json"]).success().json();
    assert_eq!(show["until"], longer.as_str());
    assert_eq!(show["status"], "active");
    // Shorter is allowed too, while it stays in the future.
    let shorter = in_secs(3600);
    v.run(&[
        "--json", "extend", "acme", "--until", &shorter, "--reason", "less",
    ])
    .success();
    assert_eq!(
        v.run(&["show", "acme", "--json"]).success().json()["until"],
        shorter.as_str()
    );
    // To the past: a bad window, nothing changes.
    let before = v.snapshot();
    one_line(
        v.run(&["extend", "acme", "--until", &in_secs(-60), "--reason", "r"])
            .fails(2),
    );
    assert_eq!(v.snapshot(), before);
    one_line(
        v.run(&["extend", "nosuch", "--until", &longer, "--reason", "r"])
            .fails(5),
    );
    // A scheduled window cannot end before it starts.
    let (from, until) = (in_secs(86_400), in_secs(2 * 86_400));
    v.run(&[
        "open", "later", "--client", "C", "--from", &from, "--until", &until,
    ])
    .success();
    let before = v.snapshot();
    one_line(
        v.run(&[
            "extend",
            "later",
            "--until",
            &in_secs(3600),
            "--reason",
            "r",
        ])
        .fails(2),
    );
    assert_eq!(v.snapshot(), before);
    // A closed intervention is never re-opened.
    v.run(&["close", "acme"]).success();
    let before = v.snapshot();
    one_line(
        v.run(&["extend", "acme", "--until", &longer, "--reason", "r"])
            .fails(3),
    );
    assert_eq!(v.snapshot(), before);
    assert_eq!(
        v.run(&["show", "acme", "--json"]).success().json()["status"],
        "closed"
    );
}

#[test]
fn a_scheduled_intervention_takes_credentials_but_refuses_get_until_it_opens() {
    let v = TestVault::new();
    let from = chrono::Utc::now() + chrono::TimeDelta::days(1);
    let from_arg = from.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let until = in_secs(2 * 86_400);
    v.run(&[
        "open", "later", "--client", "C", "--from", &from_arg, "--until", &until,
    ])
    .success();
    v.run_with_stdin(
        &["add", "later", "ftp", "--kind", "hosting"],
        "sched-secret\n",
    )
    .success();
    let out = one_line(v.run(&["get", "later", "ftp"]).fails(3));
    let err = out.stderr();
    assert!(err.contains("scheduled"), "{err}");
    // It names when the window opens (TZ=UTC in these tests).
    let when = from.format("%Y-%m-%d %H:%M").to_string();
    assert!(err.contains(&when), "{err:?} does not name {when}");
    assert!(!err.contains("sched-secret"));
    assert_eq!(out.stdout(), "");
    let show = v.run(&["show", "later", "--json"]).success().json();
    assert_eq!(show["status"], "scheduled");
    assert_eq!(show["entries"][0]["name"], "ftp");
    // rm is allowed while scheduled.
    v.run(&["rm", "later", "ftp"]).success();
}

#[test]
fn passwd_changes_the_passphrase() {
    let v = acme();
    run({
        let mut c = v.cmd(&["passwd"]);
        c.env("INTERVAULT_NEW_PASSPHRASE", "a new passphrase");
        c
    })
    .success();
    one_line(v.run(&["list"]).fails(4));
    let with = |pass: &str, args: &[&str]| {
        run({
            let mut c = v.cmd(args);
            c.env("INTERVAULT_PASSPHRASE", pass);
            c
        })
    };
    assert_eq!(
        with("a new passphrase", &["get", "acme", "ftp"])
            .success()
            .stdout(),
        format!("{SECRET}\n")
    );
    // --new-passphrase-file: its first line.
    let file = v.dir.parent().unwrap().join("new-pass");
    fs::write(&file, "third passphrase\nignored\n").unwrap();
    with(
        "a new passphrase",
        &["passwd", "--new-passphrase-file", file.to_str().unwrap()],
    )
    .success();
    one_line(with("a new passphrase", &["list"]).fails(4));
    assert_eq!(
        with("third passphrase", &["get", "acme", "ftp"])
            .success()
            .stdout(),
        format!("{SECRET}\n")
    );
}

#[test]
fn passphrase_file_gives_its_first_line_and_beats_the_environment() {
    let v = acme();
    let dir = v.dir.parent().unwrap().to_owned();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let first_line = write("first-line", &format!("{PASSPHRASE}\nsecond line\n"));
    let no_newline = write("no-newline", PASSPHRASE);
    let crlf = write("crlf", &format!("{PASSPHRASE}\r\n"));
    let wrong = write("wrong", "not the passphrase\n");
    let with_env = |pass: &str, args: &[&str]| {
        run({
            let mut c = v.cmd(args);
            c.env("INTERVAULT_PASSPHRASE", pass);
            c
        })
    };
    for file in [&first_line, &no_newline, &crlf] {
        // After the command and before it; the environment holds a wrong one.
        let out = with_env("wrong", &["get", "acme", "ftp", "--passphrase-file", file]);
        assert_eq!(out.success().stdout(), format!("{SECRET}\n"), "{file}");
        with_env("wrong", &["--passphrase-file", file, "list"]).success();
    }
    // The file wins over INTERVAULT_PASSPHRASE even when the file is the wrong one.
    one_line(
        with_env(
            PASSPHRASE,
            &["get", "acme", "ftp", "--passphrase-file", &wrong],
        )
        .fails(4),
    );
    // INTERVAULT_PASSPHRASE_FILE, with no INTERVAULT_PASSPHRASE at all.
    let out = run({
        let mut c = v.cmd(&["get", "acme", "ftp"]);
        c.env_remove("INTERVAULT_PASSPHRASE")
            .env("INTERVAULT_PASSPHRASE_FILE", &first_line);
        c
    });
    assert_eq!(out.success().stdout(), format!("{SECRET}\n"));
}

/// Runs the binary in a new session (`setsid`), so it has no controlling terminal
/// and `/dev/tty` cannot be opened, with stdin from /dev/null and no passphrase.
fn without_terminal(v: &TestVault, args: &[&str]) -> Run {
    let setsid = ["/usr/bin/setsid", "/bin/setsid"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("setsid (util-linux) is needed to run without a terminal");
    let mut c = Command::new(setsid);
    c.arg("--wait").arg(BIN).args(args);
    set_env(&mut c, v);
    c.env_remove("INTERVAULT_PASSPHRASE");
    Run(c
        .stdin(Stdio::null())
        .output()
        .expect("run intervault under setsid"))
}

#[test]
fn no_passphrase_and_no_terminal_gives_4_saying_how_to_give_one() {
    let v = acme();
    let before = v.snapshot();
    for args in [
        vec!["list"],
        vec!["get", "acme", "ftp"],
        vec!["show", "acme"],
        vec!["close", "acme"],
    ] {
        let out = one_line(without_terminal(&v, &args).fails(4));
        let err = out.stderr();
        assert!(
            err.contains("--passphrase-file") || err.contains("INTERVAULT_PASSPHRASE"),
            "{args:?}: the message should say how to give a passphrase: {err}"
        );
    }
    assert_eq!(v.snapshot(), before);
    // init has nobody to ask for the new vault's passphrase either.
    let fresh = TestVault::empty();
    one_line(without_terminal(&fresh, &["init"]).fails(4));
    assert!(!fresh.dir.join("vault.json").exists());
}

#[test]
fn a_wrong_passphrase_gives_4_and_leaves_the_vault_byte_identical() {
    let v = acme();
    let before = v.snapshot();
    let future = in_secs(5 * 3600);
    for args in [
        vec!["list"],
        vec!["list", "--all", "--json"],
        vec!["show", "acme"],
        vec!["get", "acme", "ftp"],
        vec!["add", "acme", "new", "--kind", "other"],
        vec!["add", "acme", "ftp", "--kind", "other", "--replace"],
        vec!["rm", "acme", "ftp"],
        vec!["open", "beta", "--client", "C", "--for", "1h"],
        vec!["extend", "acme", "--until", &future, "--reason", "r"],
        vec!["close", "acme"],
        vec!["passwd"],
    ] {
        let out = run({
            let mut c = v.cmd(&args);
            c.env("INTERVAULT_PASSPHRASE", "not the passphrase")
                .env("INTERVAULT_NEW_PASSPHRASE", "another")
                .write_stdin("value\n");
            c
        });
        let out = one_line(out.fails(4));
        assert_eq!(out.stdout(), "", "{args:?}");
        assert_eq!(v.snapshot(), before, "{args:?} changed the vault");
    }
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
}

#[test]
fn global_options_are_accepted_before_or_after_the_command() {
    let v = acme();
    let dir = v.dir.to_str().unwrap();
    let elsewhere = |args: &[&str]| {
        run({
            let mut c = v.cmd(args);
            // INTERVAULT_DIR points at nothing: only --vault can find the vault.
            c.env("INTERVAULT_DIR", v.dir.parent().unwrap().join("none"));
            c
        })
    };
    for args in [
        vec!["list", "--vault", dir],
        vec!["--vault", dir, "list"],
        vec!["list", "--json", "--vault", dir],
        vec!["--json", "--vault", dir, "list"],
        vec!["--vault", dir, "--json", "list"],
    ] {
        let out = elsewhere(&args).success();
        assert!(out.stdout().contains("acme"), "{args:?}: {}", out.stdout());
    }
    let json = elsewhere(&["list", "--vault", dir, "--json"])
        .success()
        .json();
    assert_eq!(json[0]["id"], "acme");
    assert_eq!(
        elsewhere(&["get", "acme", "ftp", "--vault", dir])
            .success()
            .stdout(),
        format!("{SECRET}\n")
    );
    assert_eq!(
        elsewhere(&["--json", "show", "acme", "--vault", dir])
            .success()
            .json()["id"],
        "acme"
    );
    // Without --vault, the missing INTERVAULT_DIR vault is reported.
    one_line(elsewhere(&["list"]).fails(5));
}

#[test]
fn the_default_vault_is_under_xdg_data_home_then_home() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let xdg = tmp.path().join("xdg");
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(&xdg).unwrap();
    let cmd = |xdg_dir: Option<&std::path::Path>, args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TZ", "UTC")
            .env("HOME", &home)
            .env("INTERVAULT_PASSPHRASE", PASSPHRASE);
        if let Some(x) = xdg_dir {
            c.env("XDG_DATA_HOME", x);
        }
        Run(c.stdin(Stdio::null()).output().unwrap())
    };
    let init = ["init", "--kdf-memory", "8", "--kdf-iterations", "1"];
    cmd(Some(&xdg), &init).success();
    assert!(xdg.join("intervault/vault.json").exists());
    cmd(None, &init).success();
    assert!(home.join(".local/share/intervault/vault.json").exists());
    cmd(Some(&xdg), &["open", "x", "--client", "C", "--for", "1h"]).success();
    assert_eq!(
        cmd(Some(&xdg), &["list", "--json"]).success().json()[0]["id"],
        "x"
    );
    assert_eq!(
        cmd(None, &["list", "--json"]).success().json(),
        Value::Array(vec![])
    );
}

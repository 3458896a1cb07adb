//! Automatic expiry, observed in real time: an intervention opened `--for 4s` is
//! wiped once its window has ended, by the next keyed command (with a one-line
//! notice naming it and its receipt) or by `sweep` without any passphrase (which
//! destroys its key and credential files and reports an opaque `ref`, the
//! tombstone being completed at the next unlock). All scenarios share one sleep.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{cheap_vault, expiry_refs, in_secs, names_in, one_line};
use crate::support::{Run, TestVault};

/// A vault with `exp` open for four seconds holding credential `ftp`; returns
/// the vault, the intervention's reference and its window end.
fn expiring() -> (TestVault, String, chrono::DateTime<chrono::Utc>) {
    expiring_after(|_| ())
}

/// [`expiring`], with `prepare` run on the vault first: everything a scenario
/// sets up happens before the short window starts, so that a loaded machine
/// never lets the window end during the set-up.
fn expiring_after(
    prepare: impl FnOnce(&TestVault),
) -> (TestVault, String, chrono::DateTime<chrono::Utc>) {
    let v = cheap_vault();
    prepare(&v);
    let before = expiry_refs(&v);
    let opened = v
        .run(&[
            "open",
            "exp",
            "--client",
            "Expiring Co",
            "--for",
            "4s",
            "--json",
        ])
        .success();
    v.run_with_stdin(&["add", "exp", "ftp", "--kind", "hosting"], "short-lived\n")
        .success();
    let until = opened.json()["until"]
        .as_str()
        .map(|s| s.parse().expect("until"))
        .unwrap_or_else(|| in_secs(4).parse().expect("until"));
    let refs: Vec<String> = (expiry_refs(&v).into_iter())
        .filter(|r| !before.contains(r))
        .collect();
    assert_eq!(refs.len(), 1);
    (v, refs[0].clone(), until)
}

fn files_of(v: &TestVault, reference: &str) -> Vec<String> {
    let mut out: Vec<String> = names_in(v, "keys")
        .into_iter()
        .map(|n| format!("keys/{n}"))
        .chain(
            names_in(v, "creds")
                .into_iter()
                .map(|n| format!("creds/{n}")),
        )
        .filter(|n| n.contains(reference))
        .collect();
    out.sort();
    out
}

fn without_passphrase(v: &TestVault, args: &[&str]) -> Run {
    let mut c = v.cmd(args);
    c.env_remove("INTERVAULT_PASSPHRASE");
    Run(c.output().expect("run intervault"))
}

#[test]
fn an_ended_window_is_wiped_by_the_next_command_or_by_sweep_without_passphrase() {
    // Four vaults, each with an intervention that ends seconds from now; in the
    // keyed one, a neighbour that must survive the wipe.
    let (keyed, _, until_a) = expiring_after(|keyed| {
        keyed
            .run(&["open", "stays", "--client", "Other", "--for", "2h"])
            .success();
        keyed
            .run_with_stdin(&["add", "stays", "db", "--kind", "database"], "kept\n")
            .success();
    });
    let (refused, _, until_b) = expiring();
    let (swept, swept_ref, until_c) = expiring();
    let (swept_keyed, _, until_d) = expiring();
    assert_eq!(
        files_of(&swept, &swept_ref).len(),
        2,
        "a key and a credentials file"
    );

    let last = [until_a, until_b, until_c, until_d]
        .into_iter()
        .max()
        .unwrap();
    let wait = (last - chrono::Utc::now()).to_std().unwrap_or_default();
    std::thread::sleep(wait + Duration::from_millis(1100));

    // 1. A keyed command that succeeds: one notice line naming the intervention
    //    and its receipt, then the tombstone is `expired`.
    let out = keyed.run(&["list", "--all", "--json"]).success();
    let err = out.stderr();
    assert_eq!(err.lines().count(), 1, "one notice line expected: {err:?}");
    assert!(err.starts_with("intervault: "), "{err}");
    assert!(
        err.contains("exp"),
        "the notice should name the intervention: {err}"
    );
    let receipt = err
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no receipt in the notice: {err}"))
        .trim_end_matches([',', ';', ')', '.'])
        .to_owned();
    assert!(
        !err.contains("short-lived"),
        "a secret in the notice: {err}"
    );
    let list = out.json();
    let items = list.as_array().unwrap();
    let t = items.iter().find(|o| o["id"] == "exp").expect("tombstone");
    assert_eq!(t["status"], "expired");
    assert_eq!(t["wipe_reason"], "expired");
    assert_eq!(t["credentials"], 1);
    assert!(
        t["wiped_at"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{t}"
    );
    let stays = items
        .iter()
        .find(|o| o["id"] == "stays")
        .expect("neighbour");
    assert_eq!(stays["status"], "active");
    let show = keyed.run(&["show", "exp", "--json"]).success();
    assert_eq!(show.stderr(), "", "the wipe is announced once");
    assert_eq!(show.json()["receipt"], receipt.as_str());
    one_line(keyed.run(&["get", "exp", "ftp"]).fails(3));
    one_line(
        keyed
            .run_with_stdin(&["add", "exp", "new", "--kind", "other"], "x\n")
            .fails(3),
    );
    one_line(
        keyed
            .run(&[
                "extend",
                "exp",
                "--until",
                &in_secs(3600),
                "--reason",
                "late",
            ])
            .fails(3),
    );
    // Its ID stays reserved.
    one_line(
        keyed
            .run(&["open", "exp", "--client", "Again", "--for", "1h"])
            .fails(7),
    );
    assert_eq!(
        keyed.run(&["get", "stays", "db"]).success().stdout(),
        "kept\n"
    );
    assert!(expiry_refs(&keyed).len() == 1 && names_in(&keyed, "keys").len() == 1);

    // 2. The first command after the end is a `get`: the notice precedes the refusal.
    let out = refused.run(&["get", "exp", "ftp"]).fails(3);
    let err = out.stderr();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "a notice, then the error: {err:?}");
    assert!(
        lines[0].contains("exp") && lines[0].contains("sha256:"),
        "{err}"
    );
    assert!(lines[1].contains("expired"), "{err}");
    assert_eq!(out.stdout(), "");

    // 3. `sweep` with no passphrase anywhere: keys and credentials destroyed, the
    //    wipe reported by its ref, everything else null.
    let out = without_passphrase(&swept, &["sweep", "--json"]).success();
    let json = out.json();
    let wiped = json["wiped"].as_array().expect("wiped array");
    assert_eq!(wiped.len(), 1, "{json}");
    let w = &wiped[0];
    assert_eq!(w["ref"], swept_ref.as_str());
    assert_eq!(w["reason"], "expired");
    assert!(
        w["wiped_at"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{w}"
    );
    for key in ["id", "client", "credentials", "names", "receipt"] {
        assert_eq!(w[key], Value::Null, "{key} in {w}");
    }
    assert_eq!(files_of(&swept, &swept_ref), Vec::<String>::new());
    assert!(!swept.contains_bytes(b"short-lived"));
    // A second sweep has nothing to do.
    let again = without_passphrase(&swept, &["sweep", "--json"]).success();
    assert_eq!(again.json()["wiped"], Value::Array(vec![]));
    // The next keyed command completes the tombstone from the sealed metadata.
    let show = swept.run(&["show", "exp", "--json"]).success().json();
    assert_eq!(show["status"], "expired");
    assert_eq!(show["client"], "Expiring Co");
    assert_eq!(show["names"], serde_json::json!(["ftp"]));
    assert_eq!(show["wiped_at"], w["wiped_at"]);
    assert!(
        show["receipt"]
            .as_str()
            .is_some_and(|r| r.starts_with("sha256:")),
        "{show}"
    );
    one_line(swept.run(&["get", "exp", "ftp"]).fails(3));

    // 4. `sweep` with the passphrase at hand reports the full record.
    let out = swept_keyed.run(&["sweep", "--json"]).success().json();
    let w = &out["wiped"][0];
    assert_eq!(w["id"], "exp");
    assert_eq!(w["client"], "Expiring Co");
    assert_eq!(w["credentials"], 1);
    assert_eq!(w["names"], serde_json::json!(["ftp"]));
    assert_eq!(w["reason"], "expired");
    assert!(
        w["receipt"]
            .as_str()
            .is_some_and(|r| r.starts_with("sha256:")),
        "{w}"
    );
    assert_eq!(names_in(&swept_keyed, "keys"), Vec::<String>::new());
    assert_eq!(names_in(&swept_keyed, "creds"), Vec::<String>::new());
}

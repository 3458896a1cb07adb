//! Unlocked sessions in the real OS keyring: unlock, fetch with no passphrase
//! source at all, lock, expiry of the session, and what ends a session early.
//!
//! These tests need a keyring the process possesses: on Linux, run the suite
//! inside a session keyring (`keyctl session - cargo test`), as README.md and
//! .ci/run do.

use std::process::Command;

use crate::support::{Run, TestVault};

/// A command with no passphrase source at all: no variable, no file, and no
/// terminal (a new session via `setsid`, so /dev/tty cannot be opened).
fn without_passphrase(v: &TestVault, args: &[&str]) -> Run {
    let out = Command::new("setsid")
        .arg(assert_cmd::cargo::cargo_bin("intervault"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", v.dir.parent().expect("parent"))
        .env("TZ", "UTC")
        .env("INTERVAULT_DIR", &v.dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run setsid intervault");
    Run(out)
}

fn unlocked_vault(for_: &str) -> TestVault {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t");
    let out = v.run(&["unlock", "--for", for_]);
    assert_eq!(
        out.code(),
        0,
        "unlock failed; on Linux run the tests under `keyctl session -`: {}",
        out.stderr()
    );
    v
}

#[test]
fn unlock_then_fetch_without_any_passphrase_source_then_lock_refuses() {
    let v = unlocked_vault("10m");
    let got = without_passphrase(&v, &["get", "acme", "ftp"]).success();
    assert_eq!(got.stdout(), "s3cr3t\n");
    let status = without_passphrase(&v, &["status", "--json"])
        .success()
        .json();
    assert_eq!(status["locked"], false);
    assert_eq!(status["interventions"][0]["id"], "acme");
    without_passphrase(&v, &["lock"]).success();
    let refused = without_passphrase(&v, &["get", "acme", "ftp"]).fails(4);
    assert_eq!(refused.stdout(), "");
    assert!(
        refused.stderr().contains("intervault unlock"),
        "{}",
        refused.stderr()
    );
    let status = without_passphrase(&v, &["status", "--json"])
        .success()
        .json();
    assert_eq!(status["locked"], true);
    assert_eq!(status["live"], 1);
    assert!(status.get("interventions").is_none());
}

#[test]
fn a_session_past_its_end_is_refused() {
    let v = unlocked_vault("2s");
    without_passphrase(&v, &["get", "acme", "ftp"]).success();
    std::thread::sleep(std::time::Duration::from_millis(3000));
    let out = without_passphrase(&v, &["get", "acme", "ftp"]).fails(4);
    assert_eq!(out.stdout(), "");
}

#[test]
fn passwd_ends_the_session() {
    let v = unlocked_vault("10m");
    let out = v
        .cmd(&["passwd"])
        .env("INTERVAULT_NEW_PASSPHRASE", "another passphrase")
        .output()
        .expect("passwd");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("session was ended"));
    without_passphrase(&v, &["get", "acme", "ftp"]).fails(4);
}

#[test]
fn closing_the_last_open_intervention_ends_the_session() {
    let v = unlocked_vault("10m");
    v.run(&["open", "beta", "--client", "Beta", "--for", "1h"])
        .success();
    without_passphrase(&v, &["close", "acme"]).success();
    // One intervention is still open: the session goes on.
    without_passphrase(&v, &["list"]).success();
    let out = without_passphrase(&v, &["close", "beta"]).success();
    assert!(
        out.stderr().contains("session was ended"),
        "{}",
        out.stderr()
    );
    without_passphrase(&v, &["list"]).fails(4);
}

#[test]
fn unlock_refuses_more_than_twelve_hours_and_a_wrong_passphrase() {
    let v = TestVault::new();
    v.run(&["unlock", "--for", "13h"]).fails(2);
    v.cmd(&["unlock"])
        .env("INTERVAULT_PASSPHRASE", "wrong")
        .assert()
        .code(4);
    without_passphrase(&v, &["list"]).fails(4);
}

#[test]
fn sessions_of_two_vaults_are_separate() {
    let a = unlocked_vault("10m");
    let b = TestVault::new();
    b.open_with_credential("acme", "ftp", "other");
    without_passphrase(&a, &["get", "acme", "ftp"]).success();
    without_passphrase(&b, &["get", "acme", "ftp"]).fails(4);
}

#[test]
fn status_reports_counts_next_expiry_and_a_sweep_timer() {
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme", "--for", "2h"])
        .success();
    v.run(&["open", "beta", "--client", "Beta", "--for", "1h"])
        .success();
    let before = without_passphrase(&v, &["status", "--json"])
        .success()
        .json();
    assert_eq!(before["live"], 2);
    assert_eq!(before["locked"], true);
    assert!(before["sweep_timer"].is_null(), "{before}");
    let listed = v.run(&["list", "--json"]).success().json();
    let beta_until = listed
        .as_array()
        .and_then(|a| a.iter().find(|i| i["id"] == "beta"))
        .map(|i| i["until"].clone())
        .expect("beta listed");
    assert_eq!(before["next_expiry"], beta_until);
    // A systemd user timer whose service runs the sweep is found.
    let units = v.dir.parent().expect("parent").join(".config/systemd/user");
    std::fs::create_dir_all(&units).expect("mkdir");
    std::fs::write(
        units.join("intervault-sweep.service"),
        "[Service]\nType=oneshot\nExecStart=%h/.cargo/bin/intervault sweep\n",
    )
    .expect("service");
    std::fs::write(
        units.join("intervault-sweep.timer"),
        "[Timer]\nOnCalendar=minutely\n",
    )
    .expect("timer");
    let after = without_passphrase(&v, &["status", "--json"])
        .success()
        .json();
    assert_eq!(
        after["sweep_timer"],
        "systemd user timer intervault-sweep.timer"
    );
    // With the passphrase at hand (not a prompt) status lists the interventions.
    let full = v.run(&["status", "--json"]).success().json();
    assert_eq!(full["interventions"].as_array().map(Vec::len), Some(2));
    assert!(
        full["interventions"][0]["seconds_left"]
            .as_i64()
            .unwrap_or(0)
            > 0
    );
}

/// Someone at an unlocked terminal cannot change the passphrase: `passwd` asks
/// for the current one whatever session exists.
#[test]
fn passwd_needs_the_passphrase_even_when_unlocked() {
    let v = unlocked_vault("10m");
    let out = Command::new("setsid")
        .arg(assert_cmd::cargo::cargo_bin("intervault"))
        .arg("passwd")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INTERVAULT_DIR", &v.dir)
        .env("INTERVAULT_NEW_PASSPHRASE", "taken over")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("passwd");
    assert_eq!(Run(out).fails(4).stdout(), "");
    without_passphrase(&v, &["get", "acme", "ftp"]).success();
}

/// A session belongs to the login session that unlocked: another session keyring
/// (another login, another SSH connection) does not see it.
#[test]
fn a_session_stays_in_the_login_session_that_unlocked() {
    let v = unlocked_vault("10m");
    let out = Command::new("keyctl")
        .args(["session", "-", "setsid"])
        .arg(assert_cmd::cargo::cargo_bin("intervault"))
        .args(["get", "acme", "ftp"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INTERVAULT_DIR", &v.dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("keyctl session");
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    without_passphrase(&v, &["get", "acme", "ftp"]).success();
}

//! `intervault exec`: the command's environment, its exit status, the window's
//! end, and signals passed on.

use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{add, in_secs, open_with, std_cmd};
use crate::support::{Run, TestVault};

const SECRET: &str = "s3cr3t-ftp-Pa55";

/// `acme`, open for two hours, with `ftp` (every field set) and `db-main.v2`
/// (only its secret).
fn vault_with_two() -> TestVault {
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme SARL", "--for", "2h"])
        .success();
    v.add_with_every_field("acme", "ftp", SECRET);
    add(&v, "acme", "db-main.v2", "db-pass");
    v
}

/// Runs `exec` with `args` before `--` and `sh -c script` after it.
fn exec_sh(v: &TestVault, before: &[&str], script: &str) -> Run {
    let mut args = vec!["exec"];
    args.extend_from_slice(before);
    args.extend_from_slice(&["--", "sh", "-c", script]);
    v.run(&args)
}

/// Waits up to `secs` for `path` to exist.
fn wait_for(path: &Path, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    path.exists()
}

/// Waits up to `secs` for `child` to end; kills it and fails otherwise.
fn wait_within(child: &mut Child, secs: u64) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("intervault did not end within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("pid");
    rustix::process::kill_process(pid, sig).expect("kill");
}

#[test]
fn the_command_sees_each_set_field_and_nothing_else() {
    let v = vault_with_two();
    let out = exec_sh(
        &v,
        &["acme"],
        r#"printf '%s|%s|%s|%s|%s|%s|%s' "$INTERVAULT_FTP_SECRET" "$INTERVAULT_FTP_USER" \
            "$INTERVAULT_FTP_URL" "$INTERVAULT_FTP_NOTE" "$INTERVAULT_DB_MAIN_V2_SECRET" \
            "${INTERVAULT_DB_MAIN_V2_USER-unset}" "${INTERVAULT_DB_MAIN_V2_URL-unset}""#,
    )
    .success();
    assert_eq!(
        out.stdout(),
        format!("{SECRET}|webmaster|ftp.acme.example|port 21|db-pass|unset|unset")
    );
    assert_eq!(out.stderr(), "", "exec adds nothing on stderr");
    // The vault passphrase is not handed on with the credentials.
    let out = exec_sh(
        &v,
        &["acme"],
        r#"printf %s "${INTERVAULT_PASSPHRASE-unset}""#,
    )
    .success();
    assert_eq!(out.stdout(), "unset");
}

#[test]
fn only_limits_the_credentials() {
    let v = vault_with_two();
    let script = r#"printf '%s|%s' "${INTERVAULT_FTP_SECRET-unset}" "${INTERVAULT_DB_MAIN_V2_SECRET-unset}""#;
    let out = exec_sh(&v, &["acme", "--only", "db-main.v2"], script).success();
    assert_eq!(out.stdout(), "unset|db-pass");
    let out = exec_sh(
        &v,
        &[
            "acme",
            "--only",
            "ftp",
            "--only",
            "db-main.v2",
            "--only",
            "ftp",
        ],
        script,
    )
    .success();
    assert_eq!(out.stdout(), format!("{SECRET}|db-pass"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    exec_sh(&v, &["acme", "--only", "nope"], &touch).fails(5);
    exec_sh(&v, &["acme", "--only", "Bad!"], &touch).fails(2);
    assert!(!marker.exists(), "nothing runs when a name is wrong");
}

#[test]
fn names_giving_the_same_variables_are_refused() {
    let v = TestVault::new();
    open_with(&v, "acme", &[("a-b", "dash"), ("a.b", "dot")]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    let out = exec_sh(&v, &["acme"], &touch).fails(2);
    assert!(out.stderr().contains("'a-b' and 'a.b'"), "{}", out.stderr());
    exec_sh(&v, &["acme", "--only", "a-b", "--only", "a.b"], &touch).fails(2);
    assert!(!marker.exists());
    let out = exec_sh(
        &v,
        &["acme", "--only", "a.b"],
        r#"printf %s "$INTERVAULT_A_B_SECRET""#,
    )
    .success();
    assert_eq!(out.stdout(), "dot");
}

#[test]
fn no_secret_in_intervaults_own_environment_or_command_line() {
    let v = vault_with_two();
    let tmp = tempfile::tempdir().expect("tempdir");
    let pid_file = tmp.path().join("pid");
    let script = format!(
        "echo $$ > '{}.tmp'; mv '{0}.tmp' '{0}'; exec sleep 5",
        pid_file.display()
    );
    let mut intervault = std_cmd(&v, &["exec", "acme", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    assert!(wait_for(&pid_file, 10), "the command did not start");
    let child_pid = std::fs::read_to_string(&pid_file).expect("pid");
    let pid = intervault.id();
    let contains = |path: String| {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes())
    };
    // The way of looking works: the command's own environment has it. (Read
    // again for a while: during the script's `exec` the file can read empty.)
    let child_environ = format!("/proc/{}/environ", child_pid.trim());
    let seen = (0..50).any(|_| {
        let found = contains(child_environ.clone());
        if !found {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        found
    });
    assert!(seen, "the secret never showed in {child_environ}");
    assert!(!contains(format!("/proc/{pid}/environ")));
    assert!(!contains(format!("/proc/{pid}/cmdline")));
    // SIGTERM to intervault reaches the command, whose status comes back.
    signal(pid, rustix::process::Signal::TERM);
    let status = wait_within(&mut intervault, 10);
    assert_eq!(status.code(), Some(128 + 15));
}

#[test]
fn the_commands_exit_status_comes_back() {
    let v = vault_with_two();
    assert_eq!(exec_sh(&v, &["acme"], "exit 7").code(), 7);
    assert_eq!(exec_sh(&v, &["acme"], "exit 0").code(), 0);
    assert_eq!(exec_sh(&v, &["acme"], "kill -USR1 $$").code(), 128 + 10);
    assert_eq!(exec_sh(&v, &["acme"], "kill -KILL $$").code(), 128 + 9);
}

#[test]
fn a_command_that_cannot_run_exits_like_a_shell() {
    let v = vault_with_two();
    let out = v
        .run(&["exec", "acme", "--", "intervault-no-such-command"])
        .fails(127);
    assert!(out.stderr().contains("not found"), "{}", out.stderr());
    let tmp = tempfile::tempdir().expect("tempdir");
    let plain = tmp.path().join("plain");
    std::fs::write(&plain, "#!/bin/sh\n").expect("write");
    v.run(&["exec", "acme", "--", plain.to_str().expect("utf-8")])
        .fails(126);
    v.run(&["exec", "acme", "--", tmp.path().to_str().expect("utf-8")])
        .fails(126);
    // Its stdin is intervault's.
    let out = v
        .run_with_stdin(&["exec", "acme", "--", "cat"], "piped\n")
        .success();
    assert_eq!(out.stdout(), "piped\n");
}

#[test]
fn nothing_runs_outside_the_window() {
    let v = TestVault::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    v.run(&[
        "open",
        "later",
        "--client",
        "Acme",
        "--from",
        &in_secs(3600),
        "--until",
        &in_secs(7200),
    ])
    .success();
    add(&v, "later", "ftp", "pw");
    let out = exec_sh(&v, &["later"], &touch).fails(3);
    assert!(out.stderr().contains("scheduled"), "{}", out.stderr());
    open_with(&v, "done", &[("ftp", "pw")]);
    v.run(&["close", "done"]).success();
    exec_sh(&v, &["done"], &touch).fails(3);
    assert!(!marker.exists(), "the command was run outside the window");
}

#[test]
fn the_command_is_stopped_when_the_window_ends() {
    let v = TestVault::new();
    // Windows long enough for open and add on a loaded machine.
    v.run(&["open", "acme", "--client", "Acme", "--for", "6s"])
        .success();
    add(&v, "acme", "ftp", "pw");
    let started = Instant::now();
    let out = v.run(&["exec", "acme", "--", "sleep", "60"]);
    let took = started.elapsed();
    assert_eq!(out.code(), 128 + 15, "stderr: {}", out.stderr());
    assert!(took < Duration::from_secs(9), "{took:?}");
    let last = out.stderr().lines().last().unwrap_or_default().to_owned();
    assert!(
        last.starts_with("intervault: the window of 'acme' ended at ")
            && last.ends_with(": stopped the command (SIGTERM)"),
        "{}",
        out.stderr()
    );

    // A command that handles SIGTERM ends its own way, and its status is kept.
    v.run(&["open", "acme2", "--client", "Acme", "--for", "6s"])
        .success();
    add(&v, "acme2", "ftp", "pw");
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("stopped");
    let script = format!(
        "trap 'echo \"$INTERVAULT_FTP_SECRET\" > \"{}\"; exit 0' TERM; while :; do sleep 0.2; done",
        marker.display()
    );
    let started = Instant::now();
    let out = exec_sh(&v, &["acme2"], &script);
    assert_eq!(out.code(), 0, "stderr: {}", out.stderr());
    assert!(started.elapsed() < Duration::from_secs(9));
    assert_eq!(std::fs::read_to_string(&marker).expect("marker"), "pw\n");
    assert!(out.stderr().contains("stopped the command (SIGTERM)"));
}

#[test]
fn a_command_ignoring_sigterm_is_killed_ten_seconds_later() {
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme", "--for", "5s"])
        .success();
    add(&v, "acme", "ftp", "pw");
    let started = Instant::now();
    let out = exec_sh(&v, &["acme"], "trap '' TERM; while :; do sleep 0.2; done");
    let took = started.elapsed();
    assert_eq!(out.code(), 128 + 9, "stderr: {}", out.stderr());
    assert!(
        took > Duration::from_secs(10) && took < Duration::from_secs(18),
        "{took:?}"
    );
    let err = out.stderr();
    // The window-ending note of the fetch, then one line for each signal.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].starts_with("intervault: note: "), "{err}");
    assert!(lines[1].ends_with("stopped the command (SIGTERM)"), "{err}");
    assert_eq!(
        lines[2],
        "intervault: the command was still running 10 s after SIGTERM: killed it (SIGKILL)"
    );
}

#[test]
fn sigint_to_intervault_reaches_the_command() {
    let v = vault_with_two();
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = "trap 'echo got-int > marker; kill $! 2>/dev/null; exit 0' INT; \
                  touch ready; sleep 30 & wait";
    let mut intervault = std_cmd(&v, &["exec", "acme", "--", "sh", "-c", script])
        .current_dir(tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    assert!(
        wait_for(&tmp.path().join("ready"), 10),
        "the command did not start"
    );
    signal(intervault.id(), rustix::process::Signal::INT);
    let status = wait_within(&mut intervault, 10);
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("marker")).expect("marker"),
        "got-int\n"
    );
}

/// Issue 13 item 4: `exec` gives a credential's current TOTP code as
/// INTERVAULT_<NAME>_TOTP, as its `--help` says.
#[test]
fn exec_gives_the_current_totp_code_when_a_seed_is_stored() {
    let v = TestVault::new();
    v.open_with_credential("acme-site", "wp-admin", "s3cret-wp");
    v.run_with_stdin(
        &["add", "acme-site", "ovh", "--kind", "domain", "--totp"],
        "pw\nJBSWY3DPEHPK3PXP\n",
    )
    .success();
    let run = v
        .run(&[
            "exec",
            "acme-site",
            "--",
            "sh",
            "-c",
            "echo \"ovh=$INTERVAULT_OVH_TOTP wp=${INTERVAULT_WP_ADMIN_TOTP-unset}\"",
        ])
        .success();
    let out = run.stdout();
    let code = out
        .trim()
        .strip_prefix("ovh=")
        .and_then(|rest| rest.strip_suffix(" wp=unset"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{out}"
    );
    assert!(exec_help().contains("INTERVAULT_<NAME>_TOTP"));
}

fn exec_help() -> String {
    TestVault::empty()
        .run(&["exec", "--help"])
        .success()
        .stdout()
}

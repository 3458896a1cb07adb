//! Issue 13 item 8: a standard output closed by its reader (`intervault list |
//! head -1`) ends the command quietly with its usual exit status: no internal
//! error, no extra line, the same code as with a reader that reads everything.

use std::process::Stdio;

use crate::support::{Run, TestVault};

/// Runs `args` with a standard output whose reader is already gone, so that the
/// first write fails with `EPIPE` every time (no race with a reader's timing).
fn run_into_closed_pipe(v: &TestVault, args: &[&str]) -> Run {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let child = v
        .std_cmd(assert_cmd::cargo::cargo_bin("intervault"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run intervault");
    Run(child.wait_with_output().expect("wait for intervault"))
}

/// A vault with something in every listing: an intervention with a credential,
/// a closed one, a client, a trail and a backup.
fn busy_vault() -> TestVault {
    let v = TestVault::new();
    v.open_with_credential("acme-site", "wp-admin", "s3cret-wp");
    v.open_with_credential("old-job", "ftp", "s3cret-ftp");
    v.run(&["close", "old-job"]).success();
    v.run(&["backup"]).success();
    v
}

#[test]
fn every_listing_into_a_closed_pipe_ends_quietly_with_its_usual_status() {
    let v = busy_vault();
    let commands: &[&[&str]] = &[
        &["list"],
        &["list", "--all"],
        &["list", "--json"],
        &["show", "acme-site"],
        &["show", "old-job"],
        &["show", "acme-site", "--json"],
        &["status"],
        &["status", "--json"],
        &["audit"],
        &["audit", "--json"],
        &["audit", "verify"],
        &["client", "list"],
        &["client", "report", "Acme SARL"],
        &["retention"],
        &["get", "acme-site", "wp-admin"],
        &["get", "acme-site/wp-admin", "--field", "all"],
        &["get", "acme-site/wp-admin", "--json"],
        &["completions", "bash"],
        &["help"],
        &["--help"],
        &["list", "--help"],
        &["--version"],
    ];
    for args in commands {
        let read = v.run(args);
        let closed = run_into_closed_pipe(&v, args);
        assert!(
            !read.stdout().is_empty(),
            "{args:?} printed nothing, so the test proves nothing"
        );
        assert_eq!(
            closed.code(),
            read.code(),
            "{args:?}: exit status with a closed stdout; stderr: {}",
            closed.stderr()
        );
        assert!(
            !closed.stderr().contains("internal error") && !closed.stderr().contains("stdout"),
            "{args:?} complained about its closed stdout: {}",
            closed.stderr()
        );
    }
}

#[test]
fn listings_piped_into_head_print_their_first_line_and_exit_as_usual() {
    let v = busy_vault();
    // Enough records that the trail outgrows a pipe's buffer: `audit` is still
    // writing when `head` has gone.
    for i in 0..60 {
        v.run(&["get", "acme-site", "wp-admin"]).success();
        if i % 20 == 0 {
            v.run(&["list"]).success();
        }
    }
    for args in [
        "list",
        "list --all",
        "audit",
        "client list",
        "status",
        "--help",
    ] {
        let script = format!("set -o pipefail; \"$BIN\" {args} | head -1");
        let run = Run(v
            .std_cmd("bash")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .output()
            .expect("run bash"));
        assert_eq!(run.code(), 0, "{args} | head -1: {}", run.stderr());
        assert_eq!(run.stdout().lines().count(), 1, "{args} | head -1");
        assert!(
            run.stderr().is_empty(),
            "{args} | head -1: {}",
            run.stderr()
        );
    }
}

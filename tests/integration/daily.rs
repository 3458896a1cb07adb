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

//! Process hygiene and locking, observed from outside the running binary.

use std::fs::OpenOptions;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TestVault, PASSPHRASE};

/// While `add` waits for its secret on stdin, its core-dump limit is zero and its
/// command line holds no secret.
#[test]
fn core_dumps_are_disabled_while_running() {
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme", "--for", "1h"])
        .success();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("intervault"))
        .args(["add", "acme", "ftp", "--kind", "hosting"])
        .env("INTERVAULT_DIR", &v.dir)
        .env("INTERVAULT_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    // Wait until the process has started (and hardened itself) before reading it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let limits = loop {
        std::thread::sleep(Duration::from_millis(100));
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
        let core = limits.lines().find(|l| l.starts_with("Max core file size"));
        if core.is_some_and(|l| l.split_whitespace().nth(4) == Some("0"))
            || Instant::now() > deadline
        {
            break limits;
        }
    };
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("limits line");
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&cmdline).contains("the-secret"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"the-secret\n")
        .expect("write secret");
    assert!(child.wait().expect("wait").success());
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        "the-secret\n"
    );
}

/// A writer that cannot get the lock for 10 s gives up with exit 1, says the vault
/// is busy, and changes nothing.
#[test]
fn a_held_lock_makes_writers_give_up_after_ten_seconds() {
    let v = TestVault::new();
    let before = v.snapshot();
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .open(v.dir.join("vault.lock"))
        .expect("open lock");
    lock.lock().expect("hold the lock");
    let started = Instant::now();
    let out = v
        .run(&["open", "acme", "--client", "Acme", "--for", "1h"])
        .fails(1);
    let waited = started.elapsed();
    assert!(out.stderr().contains("busy"), "{}", out.stderr());
    assert!(waited >= Duration::from_secs(10), "{waited:?}");
    assert!(waited < Duration::from_secs(20), "{waited:?}");
    assert_eq!(v.snapshot(), before);
    drop(lock);
    v.run(&["open", "acme", "--client", "Acme", "--for", "1h"])
        .success();
}

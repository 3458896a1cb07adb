//! `get --clip`, against a private Xvfb server per test: the value reaches the
//! clipboard through a detached helper, which clears it later only if it is
//! still ours, and never carries it in its arguments or environment.
//!
//! These tests need `Xvfb` and `xclip` (apt-get install xvfb xclip); they fail,
//! not skip, without them. `.ci/run` installs both.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::support::{Run, TestVault, PASSPHRASE};

/// A private X server on a display number it picks itself (`-displayfd`), so
/// tests running in parallel never share a clipboard; killed on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Self {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "320x240x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start Xvfb ({e}): the clipboard tests need an X server; \
                     install xvfb and xclip (apt-get install xvfb xclip) or run .ci/run"
                )
            });
        // Xvfb writes its display number once it accepts connections.
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("Xvfb stdout"))
            .read_line(&mut line)
            .expect("read the display number");
        let number = line.trim();
        assert!(
            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
            "Xvfb did not start (it said {line:?})"
        );
        Xvfb {
            child,
            display: format!(":{number}"),
        }
    }

    /// The clipboard's text, or None when nobody holds text.
    fn clipboard(&self) -> Option<String> {
        let out = Command::new("xclip")
            .args(["-o", "-selection", "clipboard"])
            .env("DISPLAY", &self.display)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run xclip ({e}): apt-get install xclip"));
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Copies `text` as another application would (xclip stays in the
    /// background to serve it, until this server goes away).
    fn copy_other(&self, text: &str) {
        let mut xclip = Command::new("xclip")
            .args(["-i", "-selection", "clipboard"])
            .env("DISPLAY", &self.display)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run xclip");
        xclip
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to xclip");
        assert!(xclip.wait().expect("wait xclip").success());
    }
}

impl Drop for Xvfb {
    /// SIGTERM, so that Xvfb removes its socket and lock file; SIGKILL after 5 s.
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A vault with `acme/ftp` (user `webmaster`), and the binary under a path of
/// its own, so this test's clipboard helpers can be told from those of tests
/// running alongside by their command line alone (which any user may read,
/// unlike the environment of a non-dumpable process).
struct Setup {
    vault: TestVault,
    _bin_dir: TempDir,
    exe: PathBuf,
}

impl Setup {
    fn new(secret: &str) -> Self {
        let vault = TestVault::new();
        vault.open_with_credential("acme", "ftp", secret);
        let bin = assert_cmd::cargo::cargo_bin("intervault");
        let bin_dir = tempfile::Builder::new()
            .prefix("clip-test-")
            .tempdir_in(bin.parent().expect("target dir"))
            .expect("tempdir");
        let exe = bin_dir.path().join("intervault");
        if std::fs::hard_link(&bin, &exe).is_err() {
            std::fs::copy(&bin, &exe).expect("copy the binary");
        }
        Setup {
            vault,
            _bin_dir: bin_dir,
            exe,
        }
    }

    /// Runs the binary like `TestVault::cmd`, with `DISPLAY` when given.
    fn run(&self, display: Option<&str>, args: &[&str]) -> Run {
        let mut c = Command::new(&self.exe);
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.vault.dir.parent().unwrap_or(Path::new("/")))
            .env("TZ", "UTC")
            .env("INTERVAULT_DIR", &self.vault.dir)
            .env("INTERVAULT_PASSPHRASE", PASSPHRASE)
            .stdin(Stdio::null());
        if let Some(d) = display {
            c.env("DISPLAY", d);
        }
        // output() also proves the helper keeps neither stdout nor stderr open.
        Run(c.output().expect("run intervault"))
    }

    /// The pids of this test's clipboard helpers.
    fn holders(&self) -> Vec<u32> {
        let exe = self.exe.to_string_lossy().into_owned();
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline);
                cmdline.starts_with(&exe) && cmdline.contains("__clip-holder")
            })
            .collect()
    }

    /// Waits (a little) for this test's helpers to exit.
    fn no_holder_left(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.holders().is_empty() {
            assert!(
                Instant::now() < deadline,
                "a clipboard helper is still running"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Waits until the clipboard no longer holds `value`; how long that took.
fn wait_until_gone(x: &Xvfb, value: &str) -> Duration {
    let started = Instant::now();
    while x.clipboard().as_deref() == Some(value) {
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "the clipboard still holds the secret"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

#[test]
fn copies_then_clears_after_the_timeout() {
    let secret = "clip-secret-4f1a";
    let s = Setup::new(secret);
    let x = Xvfb::start();
    let out = s
        .run(
            Some(&x.display),
            &["get", "acme", "ftp", "--clip", "--clip-seconds", "2"],
        )
        .success();
    assert_eq!(out.stdout(), "");
    assert_eq!(
        out.stderr(),
        "intervault: copied the secret of acme/ftp; the clipboard is cleared in 2 s\n"
    );
    assert_eq!(x.clipboard().as_deref(), Some(secret));

    // The helper holds the selection, with the value neither in its arguments
    // nor in its environment (nor the vault passphrase). Its environment is
    // unreadable to other users since it is non-dumpable; root can read it.
    let holders = s.holders();
    assert_eq!(holders.len(), 1, "one helper: {holders:?}");
    let pid = holders[0];
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    assert!(String::from_utf8_lossy(&cmdline).ends_with("__clip-holder\x002\x00"));
    assert!(!String::from_utf8_lossy(&cmdline).contains(secret));
    if let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) {
        let environ = String::from_utf8_lossy(&environ);
        assert!(environ.contains(&format!("DISPLAY={}", x.display)));
        assert!(!environ.contains(secret));
        assert!(!environ.contains(PASSPHRASE));
    }
    // Its own process group: a Ctrl-C at the terminal does not reach it.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat.rsplit_once(") ").expect("stat").1.split(' ').collect();
    assert_eq!(fields[2], pid.to_string(), "pgrp");

    let took = wait_until_gone(&x, secret);
    assert_eq!(x.clipboard(), None, "cleared, not replaced");
    assert!(
        took > Duration::from_millis(1000),
        "cleared too soon: {took:?}"
    );
    s.no_holder_left();
}

#[test]
fn leaves_a_newer_copy_alone() {
    let secret = "clip-secret-77c0";
    let s = Setup::new(secret);
    let x = Xvfb::start();
    s.run(
        Some(&x.display),
        &["get", "acme", "ftp", "--clip", "--clip-seconds", "2"],
    )
    .success();
    assert_eq!(x.clipboard().as_deref(), Some(secret));
    x.copy_other("other");
    // Past the helper's deadline: it has looked, and left the clipboard alone.
    s.no_holder_left();
    assert_eq!(x.clipboard().as_deref(), Some("other"));
}

#[test]
fn copies_the_field_asked_for() {
    let s = Setup::new("clip-secret-0b9e");
    let x = Xvfb::start();
    let out = s
        .run(
            Some(&x.display),
            &[
                "get",
                "acme",
                "ftp",
                "--field",
                "user",
                "--clip",
                "--clip-seconds",
                "1",
            ],
        )
        .success();
    assert_eq!(out.stdout(), "");
    assert!(out.stderr().contains("copied the user of acme/ftp"));
    assert_eq!(x.clipboard().as_deref(), Some("webmaster"));
    wait_until_gone(&x, "webmaster");
    s.no_holder_left();
}

#[test]
fn without_a_display_fails_in_one_line_and_leaves_nothing_running() {
    let s = Setup::new("clip-secret-d1e5");
    let out = s.run(None, &["get", "acme", "ftp", "--clip"]).fails(1);
    assert_eq!(out.stdout(), "");
    assert_eq!(
        out.stderr(),
        "intervault: cannot reach the clipboard: no X11 or Wayland display \
         (DISPLAY and WAYLAND_DISPLAY unset): use get without --clip\n"
    );
    // A display that does not answer: the helper says so, and is gone.
    let out = s
        .run(Some(":4242"), &["get", "acme", "ftp", "--clip"])
        .fails(1);
    assert_eq!(out.stdout(), "");
    assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    assert!(
        out.stderr()
            .starts_with("intervault: cannot reach the clipboard: "),
        "{}",
        out.stderr()
    );
    assert!(out.stderr().contains("DISPLAY=:4242"), "{}", out.stderr());
    assert!(s.holders().is_empty());
}

#[test]
fn outside_the_window_exits_3() {
    let s = Setup::new("clip-secret-93aa");
    let x = Xvfb::start();
    s.run(None, &["close", "acme"]).success();
    s.run(Some(&x.display), &["get", "acme", "ftp", "--clip"])
        .fails(3);
    let (from, until) = ("2099-01-01", "2099-01-02");
    let later = [
        "open", "later", "--client", "C", "--from", from, "--until", until,
    ];
    s.run(None, &later).success();
    s.vault
        .run_with_stdin(&["add", "later", "ftp", "--kind", "other"], "x\n")
        .success();
    s.run(Some(&x.display), &["get", "later", "ftp", "--clip"])
        .fails(3);
    assert_eq!(x.clipboard(), None);
    assert!(s.holders().is_empty());
}

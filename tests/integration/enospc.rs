//! A real full disk: a vault on a small tmpfs, filled up to `ENOSPC`, then a write
//! that needs space. The library tests inject every failure at every step
//! (`src/vault/fault_tests.rs`); this checks the same contract against the kernel.
//!
//! Mounting needs root (CAP_SYS_ADMIN). Where it is not permitted the test says
//! `skipped: ...` and passes, except in CI (`CI=true`), which runs as root and
//! must run it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::helpers::{one_line, BIN};
use crate::support::{Run, PASSPHRASE};

/// A tmpfs mounted on a directory, unmounted on drop (also when the test fails).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` on `dir`, or says why it cannot.
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        if !rustix::process::geteuid().is_root() {
            return Err("not running as root".into());
        }
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},mode=0700"))
            .arg("tmpfs")
            .arg(dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr);
            let why: Vec<&str> = why.split_whitespace().collect();
            return Err(format!("mount failed: {}", why.join(" ")));
        }
        Ok(Tmpfs {
            dir: dir.to_owned(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = |args: &[&str]| {
            Command::new("umount")
                .args(args)
                .arg(&self.dir)
                .stdin(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !unmounted(&[]) && !unmounted(&["-l"]) {
            let _ = writeln!(
                std::io::stderr(),
                "enospc: could not unmount {}",
                self.dir.display()
            );
        }
    }
}

/// Mounts the tmpfs, or returns `None` after saying why the test is skipped.
/// In CI, not being able to mount fails the test.
fn tmpfs_or_skip(dir: &Path, size: &str) -> Option<Tmpfs> {
    match Tmpfs::mount(dir, size) {
        Ok(mount) => Some(mount),
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "cannot mount a tmpfs in CI ({why}): CI runs as root and must run this test"
            );
            // Straight to stderr: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: cannot mount a tmpfs here ({why})"
            );
            None
        }
    }
}

/// The binary against the vault in `vault`, with the environment of the other tests.
fn run(vault: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let home = vault
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"));
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TZ", "UTC")
        .env("INTERVAULT_DIR", vault)
        .env("INTERVAULT_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run intervault");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().expect("wait for intervault");
    feeder.join().expect("stdin feeder");
    Run(out)
}

/// Every file under `dir` but the lock and the audit trail, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if fs::symlink_metadata(&p).expect("stat").is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .is_some_and(|n| n != "vault.lock" && !n.to_string_lossy().contains("audit"))
            {
                // The contract lets a failure change the lock file and the audit
                // trail (which records the failure, when it can).
                let bytes = fs::read(&p).expect("read");
                out.insert(p, bytes);
            }
        }
    }
    out
}

/// Temporary files anywhere under `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    crate::helpers::tree(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
        })
        .collect()
}

/// Writes `path` until the file system is full; gives how many bytes it took.
fn fill(path: &Path) -> u64 {
    let mut file = fs::File::create(path).expect("create the filler");
    let mut written = 0u64;
    for chunk in [64 * 1024, 4096, 1] {
        let bytes = vec![0x55u8; chunk];
        loop {
            match file.write(&bytes) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) => {
                    assert_eq!(
                        e.raw_os_error(),
                        Some(rustix::io::Errno::NOSPC.raw_os_error()),
                        "filling stopped on another error: {e}"
                    );
                    break;
                }
            }
        }
    }
    file.sync_all().ok();
    written
}

#[test]
fn a_full_disk_fails_add_cleanly_and_add_works_once_there_is_room() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mnt = tmp.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    // Declared after `tmp`, so it is unmounted before the directory is removed.
    let Some(_mount) = tmpfs_or_skip(&mnt, "512k") else {
        return;
    };
    let vault = mnt.join("vault");
    let init = [
        "init",
        "--kdf-memory",
        "8",
        "--kdf-iterations",
        "1",
        "--kdf-parallelism",
        "1",
    ];
    run(&vault, &init, b"").success();
    run(
        &vault,
        &["open", "acme", "--client", "Acme SARL", "--for", "2h"],
        b"",
    )
    .success();
    run(
        &vault,
        &["add", "acme", "ftp", "--kind", "other"],
        b"small\n",
    )
    .success();
    let before = snapshot(&vault);

    let filler = mnt.join("filler");
    let filled = fill(&filler);
    assert!(filled > 0, "nothing could be written to the tmpfs");

    // 200 KiB do not fit any more.
    let mut big = vec![b'x'; 200 * 1024];
    big.push(b'\n');
    let add = ["add", "acme", "big", "--kind", "other"];
    let failed = one_line(run(&vault, &add, &big).fails(1));
    let err = failed.stderr();
    assert!(
        err.starts_with("intervault: ") && err.contains("No space left on device"),
        "the error does not give the cause: {err:?}"
    );
    assert!(!err.contains("xxxx"), "the error shows the secret: {err:?}");
    assert_eq!(snapshot(&vault), before, "a failed add changed the vault");
    assert_eq!(temp_files(&mnt), Vec::<PathBuf>::new());

    // With room again, the same add succeeds and the secret reads back whole.
    fs::remove_file(&filler).expect("remove the filler");
    run(&vault, &add, &big).success();
    let got = run(&vault, &["get", "acme", "big"], b"").success();
    assert_eq!(got.stdout().trim_end().len(), 200 * 1024);
    assert_eq!(temp_files(&mnt), Vec::<PathBuf>::new());
}

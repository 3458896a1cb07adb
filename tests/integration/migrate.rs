//! `migrate --to URL` and backups across stores, on a real three-member etcd
//! cluster on loopback (Debian's etcd, started by the tests): a directory
//! vault moved whole, every command working on the URL, the directory gone,
//! no plaintext under the prefix; a migrate killed at any moment loses
//! nothing and a second run finishes it; backups made, verified and restored
//! from and into either store.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cluster::TestCluster;
use crate::support::TestVault;

const SECRET: &str = "Sup3r-S3cret-Migrated-Pw";
const CLIENT: &str = "Boulangerie Martin";

/// A fresh prefix of the shared cluster: its URL and prefix.
fn fresh_prefix() -> (String, String) {
    let cluster = TestCluster::shared();
    let prefix = format!("mig/{}", crate::cluster::random_name());
    (
        format!("etcd://{}/{prefix}", cluster.endpoints().join(",")),
        prefix,
    )
}

/// Every key and value under `prefix`, as `etcdctl` shows them.
fn dump(prefix: &str) -> String {
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!(
            "--endpoints={}",
            TestCluster::shared().endpoints().join(",")
        ))
        .args(["get", "--prefix", prefix])
        .output()
        .expect("etcdctl");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A directory vault with a live intervention (a credential), a closed one,
/// and a managed backup.
fn directory_vault() -> TestVault {
    let v = TestVault::new();
    v.run(&[
        "open",
        "acme",
        "--client",
        CLIENT,
        "--for",
        "2h",
        "--note",
        "refonte du site",
    ])
    .success();
    v.run_with_stdin(
        &[
            "add",
            "acme",
            "ftp",
            "--kind",
            "hosting",
            "--user",
            "bob.the.webmaster",
        ],
        &format!("{SECRET}\n"),
    )
    .success();
    v.run(&["open", "old", "--client", CLIENT, "--for", "2h"])
        .success();
    v.run(&["close", "old", "--yes"]).success();
    v.run(&["backup"]).success();
    v
}

/// `run` again while it finds the vault busy: a killed client's locks on etcd
/// go with its lease (15 s), after the 10 s a command waits, as a user who
/// meets "busy" tries again.
fn patiently(run: impl Fn() -> crate::support::Run) -> crate::support::Run {
    for _ in 0..3 {
        let r = run();
        if !r.stderr().contains("the vault is busy") {
            return r;
        }
    }
    run()
}

/// `args` on the vault at `url`, from the same machine (home) as `v`.
fn on(v: &TestVault, url: &str, args: &[&str]) -> crate::support::Run {
    let mut all = vec!["--vault", url];
    all.extend_from_slice(args);
    v.run(&all)
}

#[test]
fn migrate_moves_a_directory_vault_into_etcd_and_every_command_works_there() {
    let v = directory_vault();
    let (url, prefix) = fresh_prefix();
    let out = v.run(&["migrate", "--to", &url]).success().stdout();
    assert!(out.starts_with("moved the vault from "), "{out}");
    assert!(out.contains("the directory shredded and removed"), "{out}");
    assert!(out.contains("managed backups stay this vault's"), "{out}");
    assert!(
        out.contains(&format!("intervault --vault {url} sweep")),
        "the sweep timer's new command: {out}"
    );
    assert!(!v.dir.exists(), "the directory is gone");
    // Every command works on the URL.
    assert_eq!(
        on(&v, &url, &["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
    let all = on(&v, &url, &["list", "--all"]).success().stdout();
    assert!(all.contains("acme") && all.contains("old"), "{all}");
    on(&v, &url, &["show", "acme"]).success();
    assert!(on(&v, &url, &["audit", "verify"])
        .success()
        .stdout()
        .starts_with("audit trail intact"));
    on(&v, &url, &["backup", "verify"]).success();
    on(&v, &url, &["open", "beta", "--client", "C", "--for", "1h"]).success();
    on(&v, &url, &["sweep"]).success();
    on(&v, &url, &["init"]).fails(7);
    // No plaintext a user typed reaches the cluster.
    let d = dump(&prefix);
    assert!(d.contains("vault.json"), "the dump holds the vault");
    for plain in [SECRET, CLIENT, "refonte du site", "bob.the.webmaster"] {
        assert!(!d.contains(plain), "{plain} in the dump");
    }
    assert!(!d.contains("migration"), "no marker left: {d}");
    // The directory vault is no more.
    let err = v.run(&["list"]).fails(5).stderr();
    assert!(err.starts_with("intervault: no vault at "), "{err}");
    on(&v, &url, &["close", "acme", "--yes"]).success();
}

#[test]
fn migrate_refuses_with_the_contract_exit_codes_and_changes_nothing() {
    let v = directory_vault();
    let (url, prefix) = fresh_prefix();
    // A prefix that holds anything: 7, as init.
    let (busy, _) = fresh_prefix();
    let other = TestVault::new();
    on(
        &other,
        &busy,
        &[
            "init",
            "--kdf-memory",
            "8",
            "--kdf-iterations",
            "1",
            "--kdf-parallelism",
            "1",
        ],
    )
    .success();
    let err = v.run(&["migrate", "--to", &busy]).fails(7).stderr();
    assert!(
        err.starts_with("intervault: a vault already exists at etcd://"),
        "{err}"
    );
    // Plain only to loopback: 2, naming the TLS options.
    let err = v
        .run(&["migrate", "--to", "etcd://10.0.0.5:2379/agency/vault"])
        .fails(2)
        .stderr();
    assert!(err.contains("--etcd-ca"), "{err}");
    v.run(&["migrate", "--to", "/tmp/elsewhere"]).fails(2);
    v.run(&["migrate", "--to", "etcd:/x"]).fails(2);
    // A wrong passphrase: 4.
    v.cmd(&["migrate", "--to", &url])
        .env("INTERVAULT_PASSPHRASE", "wrong")
        .assert()
        .code(4);
    // A vault on etcd already is not a directory vault: 2.
    on(&other, &busy, &["migrate", "--to", &url]).fails(2);
    // Nothing changed: the directory vault is whole, the target empty.
    assert_eq!(
        v.run(&["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
    assert!(dump(&prefix).is_empty(), "the target is untouched");
    v.run(&["migrate", "--to", &url]).success();
}

/// Issue 14: interrupted at any point, nothing is lost and nothing is left
/// half-migrated. The binary has no fault flags: the migrate is killed at
/// moments spread over its run (the library's tests stop it after each step), and each time exactly one place opens the
/// vault, and a second run finishes the move.
#[test]
fn a_migrate_killed_at_any_moment_loses_nothing_and_a_second_run_finishes_it() {
    // How long a whole move takes here, so that the kills spread over it.
    let full = {
        let v = directory_vault();
        let (url, _) = fresh_prefix();
        let started = std::time::Instant::now();
        v.run(&["migrate", "--to", &url]).success();
        started.elapsed().as_millis() as u64
    };
    for delay_ms in (1..=9).map(|k| full * k / 9) {
        let v = directory_vault();
        let (url, prefix) = fresh_prefix();
        let mut child = v
            .std_cmd(assert_cmd::cargo::cargo_bin("intervault"))
            .args(["migrate", "--to", &url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let finished = child.wait().unwrap().success();
        let in_dir = v.run(&["get", "acme", "ftp"]);
        let in_etcd = patiently(|| on(&v, &url, &["get", "acme", "ftp"]));
        let opens = [&in_dir, &in_etcd].iter().filter(|r| r.code() == 0).count();
        eprintln!(
            "killed after {delay_ms} ms: finished {finished}, directory {}, etcd {}, directory left {}",
            in_dir.code(),
            in_etcd.code(),
            v.dir.exists()
        );
        if !finished {
            assert!(opens <= 1, "{delay_ms} ms: the vault opens in both places");
        }
        for r in [&in_dir, &in_etcd] {
            if r.code() != 0 {
                assert_eq!(r.code(), 5, "{delay_ms} ms: {}", r.stderr());
                assert_eq!(r.stderr().lines().count(), 1, "{}", r.stderr());
            } else {
                assert_eq!(r.stdout(), format!("{SECRET}\n"));
            }
        }
        let emptied =
            v.dir.exists() && std::fs::read_dir(&v.dir).is_ok_and(|mut d| d.next().is_none());
        if emptied {
            // Killed between the last shred (the stub) and the directory's
            // removal: nothing is left in it, and the vault is in etcd.
            assert_eq!(in_etcd.code(), 0, "{delay_ms} ms: emptied, not moved");
            std::fs::remove_dir(&v.dir).unwrap();
        } else if in_dir.code() != 0 && v.dir.exists() {
            // Moved, not yet wiped: the directory says where the vault went.
            let err = in_dir.stderr();
            assert!(err.contains(&format!("migrate --to {url}")), "{err}");
        }
        if v.dir.exists() {
            patiently(|| v.run(&["migrate", "--to", &url])).success();
        }
        assert!(!v.dir.exists(), "{delay_ms} ms: the directory is gone");
        assert_eq!(
            on(&v, &url, &["get", "acme", "ftp"]).success().stdout(),
            format!("{SECRET}\n"),
            "{delay_ms} ms"
        );
        on(&v, &url, &["open", "later", "--client", "C", "--for", "1h"]).success();
        assert!(
            !dump(&prefix).contains("migration"),
            "{delay_ms} ms: marker left"
        );
        assert!(on(&v, &url, &["audit", "verify"])
            .success()
            .stdout()
            .starts_with("audit trail intact"));
    }
}

#[test]
fn backup_verify_and_restore_work_from_and_into_etcd() {
    let v = TestVault::new();
    let (url, _) = fresh_prefix();
    on(
        &v,
        &url,
        &[
            "init",
            "--kdf-memory",
            "8",
            "--kdf-iterations",
            "1",
            "--kdf-parallelism",
            "1",
        ],
    )
    .success();
    on(
        &v,
        &url,
        &["open", "acme", "--client", CLIENT, "--for", "2h"],
    )
    .success();
    v.run_with_stdin(
        &["--vault", &url, "add", "acme", "ftp", "--kind", "hosting"],
        &format!("{SECRET}\n"),
    )
    .success();
    let backups = v.dir.parent().unwrap().join("etcd-backups");
    let out = on(
        &v,
        &url,
        &["backup", "--to", backups.to_str().unwrap(), "--json"],
    )
    .success()
    .json();
    let file = out["written"][0].as_str().unwrap().to_owned();
    let out = on(&v, &url, &["backup", "verify", &file])
        .success()
        .stdout();
    assert!(out.contains("a private temporary directory"), "{out}");
    on(&v, &url, &["backup", "verify"]).success();
    // Into another prefix, and into a directory: the same backup format.
    let (restored, _) = fresh_prefix();
    let out = on(&v, &url, &["restore", &file, "--into", &restored])
        .success()
        .stdout();
    assert!(
        out.starts_with(&format!("restored into {restored}: acme")),
        "{out}"
    );
    assert_eq!(
        on(&v, &restored, &["get", "acme", "ftp"])
            .success()
            .stdout(),
        format!("{SECRET}\n")
    );
    on(&v, &url, &["restore", &file, "--into", &restored]).fails(7);
    let dir = v.dir.parent().unwrap().join("restored-dir");
    on(
        &v,
        &url,
        &["restore", &file, "--into", dir.to_str().unwrap()],
    )
    .success();
    assert!(Path::new(&dir).join("vault.json").exists());
    // A directory vault's backup restores into etcd too.
    let d = directory_vault();
    let file = d.run(&["backup", "--json"]).success().json()["written"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let (into, _) = fresh_prefix();
    d.run(&["restore", &file, "--into", &into]).success();
    assert_eq!(
        on(&d, &into, &["get", "acme", "ftp"]).success().stdout(),
        format!("{SECRET}\n")
    );
    d.run(&["backup", "verify", &file]).success();
}

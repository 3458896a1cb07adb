//! An etcd cluster restored from a snapshot, as an operator does it
//! (`etcdctl snapshot save`, then `etcdctl snapshot restore` into new data
//! directories and the members started on them): refused as a rollback with
//! exit 6 until accepted, and accepting it wipes again what was wiped since.

use crate::cluster::{EtcdVault, Options, TestCluster};

const SECRET: &str = "Sup3r-S3cret-Hosting-Pw";

/// The one line a refused command prints, checked for its exit code and for
/// the way out it names.
fn refused(v: &EtcdVault, args: &[&str], starts: &str) {
    let err = v.fails(args, 6);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(starts), "{err}");
    assert!(
        err.contains("if you restored it on purpose, run the command again with --accept-rollback"),
        "{err}"
    );
}

#[test]
fn a_cluster_restored_from_a_snapshot_is_refused_until_the_rollback_is_accepted() {
    let cluster = TestCluster::start(Options::default());
    let snapshots = tempfile::tempdir().unwrap();
    let v = EtcdVault::on(&cluster);
    v.init();
    v.ok(&["open", "acme", "--client", "C", "--for", "2h"]);
    v.add("acme", "ftp", SECRET);
    v.ok(&["open", "beta", "--client", "C", "--for", "2h"]);
    let first = snapshots.path().join("first.db");
    cluster.snapshot_save(&first);
    v.ok(&["close", "acme", "--yes"]);

    // A restore that keeps the cluster's ID (the same token and members):
    // the revision went back.
    cluster.restore_snapshot(&first, true);
    refused(
        &v,
        &["get", "acme", "ftp"],
        "intervault: the vault's etcd cluster went back in time: it is at revision ",
    );
    // Refused again until accepted; accepting wipes acme again.
    refused(
        &v,
        &["list"],
        "intervault: the vault's etcd cluster went back in time",
    );
    let list = v.ok(&["list", "--all", "--accept-rollback"]);
    assert!(list.contains("beta"), "{list}");
    let err = v.fails(&["get", "acme", "ftp"], 3);
    assert!(err.contains("closed"), "{err}");
    assert!(v.ok(&["audit", "verify"]).starts_with("audit trail intact"));
    let audit = v.ok(&["audit", "--json"]);
    assert!(audit.contains("accepted where"), "{audit}");

    // A restore as etcd's docs give it (etcdctl's default token): a new
    // cluster ID.
    let second = snapshots.path().join("second.db");
    cluster.snapshot_save(&second);
    v.ok(&["close", "beta", "--yes"]);
    cluster.restore_snapshot(&second, false);
    refused(
        &v,
        &["get", "beta", "x"],
        "intervault: the vault's etcd cluster is not the one this machine has seen: cluster ",
    );
    v.ok(&["list", "--accept-rollback"]);
    let all = v.ok(&["list", "--all"]);
    assert!(all.contains("beta") && all.contains("closed"), "{all}");
    assert!(v.ok(&["audit", "verify"]).starts_with("audit trail intact"));
    // Normal use goes on: both machines write, neither trips. (On one test
    // user the machines share the user keyring's copy of the record.)
    let other = v.another_machine();
    v.ok(&["open", "gamma", "--client", "C", "--for", "1h"]);
    other.ok(&["open", "delta", "--client", "C", "--for", "1h"]);
    assert!(v.ok(&["list"]).contains("delta"));
    let list = other.ok(&["list"]);
    assert!(list.contains("gamma"), "{list}");
}

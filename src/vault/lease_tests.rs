//! The vault on a real etcd cluster, for what only etcd does: the lease that
//! deletes an intervention's key and credentials at its window end with no
//! client running, and the purge of old revisions after a wipe (compaction
//! and defragmentation), pending while a member cannot be reached.

use std::cell::Cell;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};

use super::test_support::{TestClock, TestUi, FAST};
use super::*;
use crate::intervention::Kind;
use crate::store::etcd::client::{Client, EtcdConfig, EtcdError};
use crate::store::etcd::for_tests;
use crate::store::etcd::test_cluster::{Options, TestCluster};
use crate::store::{Purge, SharedStore, Store};

/// A vault under a fresh prefix of `cluster`, a clock at the real time (a
/// lease counts real seconds), and a client to look at the keys directly.
struct OnCluster {
    store: SharedStore,
    clock: TestClock,
    raw: Client,
    prefix: String,
}

impl OnCluster {
    fn new(cluster: &TestCluster) -> Self {
        let prefix = format!("lease/{}", format::Ref::random());
        let on = OnCluster {
            store: std::sync::Arc::new(for_tests::open(cluster, &prefix)),
            clock: TestClock(Cell::new(Utc::now())),
            raw: Client::connect(&EtcdConfig::new(cluster.endpoints())).unwrap(),
            prefix,
        };
        on.vault().init(FAST, &mut TestUi::new()).unwrap();
        on
    }

    fn vault(&self) -> Vault<'_> {
        Vault::in_store(self.store.clone(), &self.clock)
    }

    /// Opens `id` from now for `length`, with credential `ftp`.
    fn open(&self, id: &str, length: TimeDelta) {
        let now = self.clock.0.get();
        let mut ui = TestUi::new();
        self.vault()
            .open(
                &NewIntervention {
                    id: id.into(),
                    client: "Acme".into(),
                    window: WindowSpec::Range {
                        from: Some(now),
                        until: now + length,
                    },
                    note: None,
                },
                &mut ui,
            )
            .unwrap();
        let cred = super::test_support::bare_credential("ftp", Kind::Hosting);
        self.vault().add(id, &cred, false, &mut ui).unwrap();
    }

    /// The keys under `folder` of the vault's prefix, as etcd has them now.
    fn keys_under(&self, folder: &str) -> Vec<crate::store::etcd::client::KeyValue> {
        let prefix = format!("{}/{folder}", self.prefix);
        self.raw.range_prefix(prefix, false, None).unwrap().kvs
    }

    fn purge_pending(&self) -> bool {
        let bytes = self.store.read(layout::ROOT).unwrap();
        let root = parse_root(&self.store.locate(layout::ROOT), &bytes).unwrap();
        root.purge_pending.is_some()
    }
}

use super::format::parse_root;

#[test]
fn a_window_that_ends_with_no_client_running_is_deleted_by_the_cluster() {
    let on = OnCluster::new(TestCluster::shared());
    on.open("short", TimeDelta::seconds(3));
    on.open("long", TimeDelta::hours(1));
    assert_eq!(on.keys_under("keys/").len(), 2);
    assert_eq!(on.keys_under("creds/").len(), 2);
    assert!(
        on.keys_under("keys/").iter().all(|kv| kv.lease != 0),
        "every intervention key hangs on a lease"
    );
    // No vault, no client of it: only the cluster acts from here on.
    let OnCluster {
        store,
        clock,
        raw,
        prefix,
    } = on;
    drop(store);
    let started = Instant::now();
    let under = |folder: &str| {
        raw.range_prefix(format!("{prefix}/{folder}"), true, None)
            .unwrap()
            .kvs
            .len()
    };
    while under("keys/") != 1 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        under("keys/"),
        1,
        "the ended window's key is gone, the other stays"
    );
    assert_eq!(under("creds/"), 1);
    assert_eq!(under("#lease/"), 1);
    assert_eq!(under("vault.json"), 1, "the vault itself stays");

    // The next command finds the keys gone and wipes as at any expiry: a
    // complete, valid receipt.
    let on = OnCluster {
        store: std::sync::Arc::new(for_tests::open(TestCluster::shared(), &prefix)),
        clock,
        raw,
        prefix,
    };
    on.clock.0.set(Utc::now());
    let mut ui = TestUi::new();
    let items = on.vault().list(&mut ui, true).unwrap();
    let short = items.iter().find(|s| s.id == "short").unwrap();
    assert_eq!(short.status, Status::Expired);
    assert!(ui.told_expired());
    let detail = on.vault().show("short", None, &mut TestUi::new()).unwrap();
    assert!(detail.tombstone.unwrap().receipt_is_valid());
    let secret = on.vault().get("long", "ftp", &mut TestUi::new()).unwrap();
    assert_eq!(secret.secret.expose(), "secret-of-ftp");
}

#[test]
fn extending_a_window_moves_its_keys_to_a_lease_that_ends_later() {
    let on = OnCluster::new(TestCluster::shared());
    on.open("acme", TimeDelta::seconds(4));
    let before = on.keys_under("keys/")[0].lease;
    on.vault()
        .extend_to(
            "acme",
            NewEnd::Later(TimeDelta::hours(2)),
            "more work",
            &mut TestUi::new(),
        )
        .unwrap();
    let keys = on.keys_under("keys/");
    let creds = on.keys_under("creds/");
    assert_ne!(keys[0].lease, before);
    assert_eq!(creds[0].lease, keys[0].lease);
    let ttl = on.raw.lease_ttl(keys[0].lease).unwrap();
    assert!(ttl.remaining.unwrap() > 3600, "{ttl:?}");
    // Past the old end, nothing was deleted.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(on.keys_under("keys/").len(), 1);
    assert_eq!(on.keys_under("creds/").len(), 1);
}

#[test]
fn close_revokes_the_lease_and_old_revisions_answer_compacted() {
    let on = OnCluster::new(TestCluster::shared());
    on.open("acme", TimeDelta::hours(1));
    let creds = on.keys_under("creds/").remove(0);
    let key = on.keys_under("keys/").remove(0);
    assert_eq!(
        on.raw
            .get_at(&key.key, key.mod_revision)
            .unwrap()
            .kv
            .unwrap()
            .value,
        key.value
    );
    let closed = on.vault().close("acme", None, &mut TestUi::new()).unwrap();
    assert!(
        matches!(closed.history, Purge::Done { members: 3, .. }),
        "{:?}",
        closed.history
    );
    assert!(on.keys_under("keys/").is_empty());
    assert!(on.keys_under("creds/").is_empty());
    assert!(on.keys_under("#lease/").is_empty());
    for kv in [&key, &creds] {
        let old = on.raw.get_at(&kv.key, kv.mod_revision);
        assert!(
            matches!(old, Err(EtcdError::Compacted { .. })),
            "an old revision of a wiped object can still be read: {old:?}"
        );
    }
    assert!(!on.purge_pending());
}

#[test]
fn a_purge_that_misses_a_member_is_pending_until_a_sweep_finishes_it() {
    let cluster = TestCluster::start(Options::default());
    let on = OnCluster::new(&cluster);
    on.open("acme", TimeDelta::hours(1));
    cluster.kill(2);
    let closed = on.vault().close("acme", None, &mut TestUi::new()).unwrap();
    let Purge::Pending { why } = &closed.history else {
        panic!("expected a pending purge, got {:?}", closed.history);
    };
    assert!(why.contains("1 of 3 members"), "{why}");
    assert!(on.purge_pending(), "the root keeps the purge to do");
    // Still pending while the member is down: the sweep says so.
    let report = on.vault().sweep(&mut TestUi::keyless()).unwrap();
    assert!(matches!(report.history, Some(Purge::Pending { .. })));
    cluster.restart(2);
    cluster.wait_healthy(Duration::from_secs(20)).unwrap();
    let report = on.vault().sweep(&mut TestUi::keyless()).unwrap();
    assert!(
        matches!(report.history, Some(Purge::Done { members: 3, .. })),
        "{:?}",
        report.history
    );
    assert!(!on.purge_pending());
    // Nothing to finish any more: a sweep does not purge again.
    let report = on.vault().sweep(&mut TestUi::keyless()).unwrap();
    assert_eq!(report.history, None);
}

#[test]
fn with_the_documented_auto_compaction_an_expired_window_cannot_be_read_back() {
    // docs/team.md's settings, with a retention short enough for a test.
    let cluster = TestCluster::start(Options {
        extra_flags: vec![
            "--auto-compaction-mode=periodic".into(),
            "--auto-compaction-retention=2s".into(),
        ],
        ..Options::default()
    });
    let on = OnCluster::new(&cluster);
    on.open("acme", TimeDelta::seconds(2));
    let sealed = on.keys_under("keys/").remove(0);
    let OnCluster { store, raw, .. } = on;
    drop(store);
    // No client runs: the lease deletes, the periodic compaction forgets.
    let started = Instant::now();
    let gone = loop {
        let old = raw.get_at(&sealed.key, sealed.mod_revision);
        if matches!(old, Err(EtcdError::Compacted { .. })) {
            break true;
        }
        if started.elapsed() > Duration::from_secs(30) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(gone, "the expired key's old revision is still readable");
    assert!(raw.get(&sealed.key).unwrap().kv.is_none());
}

#[test]
fn a_vault_moved_in_by_migrate_hangs_on_leases_too() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = TestClock(Cell::new(Utc::now()));
    let dir = Vault::new(tmp.path().join("v"), &clock).with_state_dir(tmp.path().join("state"));
    dir.init(FAST, &mut TestUi::new()).unwrap();
    let now = clock.0.get();
    let new = NewIntervention {
        id: "acme".into(),
        client: "Acme".into(),
        window: WindowSpec::Range {
            from: Some(now),
            until: now + TimeDelta::hours(1),
        },
        note: None,
    };
    dir.open(&new, &mut TestUi::new()).unwrap();
    let cred = super::test_support::bare_credential("ftp", Kind::Hosting);
    dir.add("acme", &cred, false, &mut TestUi::new()).unwrap();
    // An empty prefix to move into (OnCluster would make a vault there).
    let prefix = format!("lease/{}", format::Ref::random());
    let target: SharedStore = std::sync::Arc::new(for_tests::open(TestCluster::shared(), &prefix));
    dir.migrate(target, &mut TestUi::new()).unwrap();
    let raw = Client::connect(&EtcdConfig::new(TestCluster::shared().endpoints())).unwrap();
    let under = |folder: &str| {
        raw.range_prefix(format!("{prefix}/{folder}"), true, None)
            .unwrap()
            .kvs
    };
    let sealed: Vec<_> = under("keys/").into_iter().chain(under("creds/")).collect();
    assert_eq!(sealed.len(), 2);
    for kv in sealed {
        assert_ne!(
            kv.lease,
            0,
            "{} has no lease",
            String::from_utf8_lossy(&kv.key)
        );
        let ttl = raw.lease_ttl(kv.lease).unwrap().remaining.unwrap();
        assert!((3000..=3601).contains(&ttl), "{ttl}");
    }
}

#[test]
fn a_command_that_outlives_its_clients_lease_keeps_its_lock() {
    let prefix = format!("lease/{}", format::Ref::random());
    let mine = for_tests::open(TestCluster::shared(), &prefix);
    let other = for_tests::open(TestCluster::shared(), &prefix);
    let held = mine
        .lock("vault.lock", crate::store::LockMode::Exclusive)
        .unwrap();
    // Longer than the client's lease (15 s): only its renewals keep it.
    std::thread::sleep(Duration::from_secs(17));
    assert!(
        other
            .try_lock_now("vault.lock", crate::store::LockMode::Exclusive)
            .is_none(),
        "the lock was lost with the lease"
    );
    // And what it writes under the lock still counts (its fence holds).
    mine.write("vault.json", b"still mine").unwrap();
    drop(held);
    assert!(other
        .try_lock_now("vault.lock", crate::store::LockMode::Exclusive)
        .is_some());
}

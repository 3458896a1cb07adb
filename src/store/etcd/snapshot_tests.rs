//! What lets a reader on etcd hold nothing: a snapshot reads one revision
//! whatever writers do, writes nothing and holds no lock; an append without
//! the trail's lock lands only where nobody wrote meanwhile.

use super::client::{Client, EtcdConfig};
use super::for_tests;
use super::test_cluster::TestCluster;
use crate::error::Error;
use crate::store::{LockMode, SharedStore, Store, StoreError, Unchanged};

const LOG: &str = "audit/audit.log";
const HEAD: &str = "audit/audit.head";
const LOCK: &str = "audit/audit.lock";

/// Two clients of one fresh prefix (two commands on two machines).
fn two_clients() -> (SharedStore, SharedStore) {
    let cluster = TestCluster::shared();
    let prefix = format!("t/{}", crate::vault::format::Ref::random());
    let one: SharedStore = std::sync::Arc::new(for_tests::open(cluster, &prefix));
    let two: SharedStore = std::sync::Arc::new(for_tests::open(cluster, &prefix));
    (one, two)
}

fn changed<T: std::fmt::Debug>(outcome: Result<T, StoreError>) -> bool {
    matches!(outcome, Err(StoreError::Changed(_)))
}

/// Whether an unlocked append of a stray line at `at` is refused as changed.
fn refused_at(store: &SharedStore, at: u64) -> bool {
    changed(store.append_unlocked(LOG, at, b"x\n", LOCK, (HEAD, b"hx"), None))
}

#[test]
fn a_snapshot_reads_one_revision_whatever_is_written_after_it() {
    let (store, other) = two_clients();
    store.write("vault.json", b"first").unwrap();
    store.write("creds/a.1.age", b"sealed a").unwrap();
    let view = store.snapshot().expect("etcd gives snapshots");
    // Another client commits a new root and drops what the old one named.
    other.write("vault.json", b"second").unwrap();
    other.shred("creds/a.1.age").unwrap();
    other.write("creds/b.1.age", b"sealed b").unwrap();

    assert_eq!(view.read("vault.json").unwrap(), b"first");
    assert_eq!(view.read("creds/a.1.age").unwrap(), b"sealed a");
    assert!(view.exists("creds/a.1.age").unwrap());
    assert!(!view.exists("creds/b.1.age").unwrap());
    assert_eq!(view.list("creds").unwrap(), vec!["a.1.age".to_owned()]);
    // The store itself, and a new snapshot, see the new state.
    assert_eq!(store.read("vault.json").unwrap(), b"second");
    let now = store.snapshot().unwrap();
    assert_eq!(now.list("creds").unwrap(), vec!["b.1.age".to_owned()]);
    assert!(now.read_revision() > view.read_revision());
    assert_eq!(store.read_revision(), None);
}

#[test]
fn a_snapshot_writes_nothing_and_its_shared_lock_holds_nothing() {
    let (store, other) = two_clients();
    store.write("vault.json", b"root").unwrap();
    let view = store.snapshot().unwrap();
    for outcome in [
        view.write("vault.json", b"x").map_err(StoreError::from),
        view.shred("vault.json").map_err(StoreError::from),
        view.log_append(LOG, 0, b"x\n"),
        view.write_new("new", b"x"),
    ] {
        assert!(
            matches!(outcome, Err(StoreError::Failed(Error::Internal(_)))),
            "{outcome:?}"
        );
    }
    assert!(view.lock("vault.lock", LockMode::Exclusive).is_err());
    let reading = view.lock("vault.lock", LockMode::Shared).unwrap();
    // A writer on another machine does not wait for this reader.
    let writer = other.try_lock_now("vault.lock", LockMode::Exclusive);
    assert!(writer.is_some(), "a snapshot's reader held the lock");
    drop((reading, writer));
    assert_eq!(store.read("vault.json").unwrap(), b"root");
}

#[test]
fn a_snapshot_compacted_away_under_it_says_the_vault_changed() {
    let (store, other) = two_clients();
    store.write("vault.json", b"first").unwrap();
    let view = store.snapshot().unwrap();
    other.write("vault.json", b"second").unwrap();
    // A wipe elsewhere compacts the cluster's history.
    let raw = Client::connect(&EtcdConfig::new(TestCluster::shared().endpoints())).unwrap();
    let now = raw.status().unwrap().revision;
    raw.compact(now, true).unwrap();
    let err = Error::from(view.read("vault.json").unwrap_err());
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("run it again"), "{err}");
}

#[test]
fn an_unlocked_append_lands_only_where_nobody_wrote_since_it_read() {
    let (store, other) = two_clients();
    store.ensure_folder("audit").unwrap();
    // An empty log: the first append goes at 0, and moves the head with it.
    store
        .append_unlocked(LOG, 0, b"one\n", LOCK, (HEAD, b"h1"), None)
        .unwrap();
    assert_eq!(store.read(HEAD).unwrap(), b"h1");
    // Read through a snapshot, appended through the store.
    let at = store.snapshot().unwrap().log_len(LOG).unwrap();
    assert_eq!(at, 4);
    store
        .append_unlocked(LOG, at, b"two\n", LOCK, (HEAD, b"h2"), None)
        .unwrap();
    // Where the log no longer ends: another appender went first.
    assert!(refused_at(&store, at));

    // Another client appends: this one's idea of the end is stale.
    let len = store.log_len(LOG).unwrap();
    let theirs = other.log_len(LOG).unwrap();
    other.log_append(LOG, theirs, b"three\n").unwrap();
    assert!(refused_at(&store, len));
    // Read again, then it lands.
    let len = store.log_len(LOG).unwrap();
    store
        .append_unlocked(LOG, len, b"four\n", LOCK, (HEAD, b"h4"), None)
        .unwrap();

    // While a writer holds the trail's lock: refused, then fine once it goes.
    let len = store.log_len(LOG).unwrap();
    let writer = other.lock(LOCK, LockMode::Exclusive).unwrap();
    assert!(refused_at(&store, len));
    drop(writer);
    store
        .append_unlocked(LOG, len, b"five\n", LOCK, (HEAD, b"h5"), None)
        .unwrap();

    // A log rewritten whole (pruning) where it ended: refused.
    let len = store.log_len(LOG).unwrap();
    let whole = other.read(LOG).unwrap();
    other.log_replace(LOG, &whole).unwrap();
    assert!(refused_at(&store, len));
    let len = store.log_len(LOG).unwrap();
    store
        .append_unlocked(LOG, len, b"six\n", LOCK, (HEAD, b"h6"), None)
        .unwrap();

    assert_eq!(
        store.read(LOG).unwrap(),
        b"one\ntwo\nthree\nfour\nfive\nsix\n"
    );
    assert_eq!(store.read(HEAD).unwrap(), b"h6");
}

#[test]
fn an_unlocked_append_waits_for_what_its_reader_read_to_stand() {
    let (store, other) = two_clients();
    store.ensure_folder("audit").unwrap();
    store.write("vault.json", b"root 1").unwrap();
    let view = store.snapshot().unwrap();
    let since = view.read_revision().unwrap();
    let unchanged = Some(Unchanged {
        name: "vault.json",
        since,
    });
    let len = match view.log_len(LOG) {
        Err(StoreError::NotFound(_)) => 0,
        other => other.unwrap(),
    };
    // A writer commits a new root after the reader's snapshot.
    other.write("vault.json", b"root 2").unwrap();
    assert!(changed(store.append_unlocked(
        LOG,
        len,
        b"read\n",
        LOCK,
        (HEAD, b"h"),
        unchanged
    )));
    assert!(matches!(store.log_len(LOG), Err(StoreError::NotFound(_))));
    // From a snapshot after the change, it lands.
    let since = store.snapshot().unwrap().read_revision().unwrap();
    store
        .append_unlocked(
            LOG,
            0,
            b"read\n",
            LOCK,
            (HEAD, b"h"),
            Some(Unchanged {
                name: "vault.json",
                since,
            }),
        )
        .unwrap();
    assert_eq!(store.read(LOG).unwrap(), b"read\n");
}

#[test]
fn a_directory_gives_no_snapshot_and_no_unlocked_append() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::dir::DirStore::new(dir.path());
    store.create(&["audit"]).unwrap();
    assert!(store.snapshot().is_none());
    let outcome = store.append_unlocked(LOG, 0, b"x\n", LOCK, (HEAD, b"h"), None);
    assert!(matches!(
        outcome,
        Err(StoreError::Failed(Error::Internal(_)))
    ));
}

#[test]
fn an_object_in_parts_reads_whole_from_a_snapshot_after_it_was_replaced() {
    let (store, other) = two_clients();
    let big: Vec<u8> = (0..1_700_000u32).map(|i| (i % 251) as u8).collect();
    store.write("vault.json", &big).unwrap();
    let view = store.snapshot().unwrap();
    // Replaced by a smaller one elsewhere: its parts go.
    other.write("vault.json", b"small").unwrap();
    assert_eq!(view.read("vault.json").unwrap(), big);
    assert_eq!(store.read("vault.json").unwrap(), b"small");
}

#[test]
fn a_log_keeps_its_end_in_one_key_through_every_change() {
    let (store, other) = two_clients();
    let end = |s: &SharedStore| s.log_len(LOG).unwrap();
    store.log_append(LOG, 0, b"one\n").unwrap();
    store.log_append(LOG, 4, b"two\n").unwrap();
    assert_eq!(end(&other), 8);
    other.log_truncate(LOG, 6).unwrap();
    assert_eq!(end(&store), 6);
    store.log_append(LOG, 6, b"!\n").unwrap();
    other.log_replace(LOG, b"one\ntw!\nthree\n").unwrap();
    assert_eq!(end(&store), 14);
    assert_eq!(store.read(LOG).unwrap(), b"one\ntw!\nthree\n");
    store.rename(LOG, "audit/kept.log").unwrap();
    assert!(matches!(store.log_len(LOG), Err(StoreError::NotFound(_))));
    assert_eq!(other.log_len("audit/kept.log").unwrap(), 14);
    // The only names the folder shows are the logs.
    assert_eq!(store.list("audit").unwrap(), vec!["kept.log".to_owned()]);
}

//! The suite every store must pass: what [`Store`] promises, specified once
//! and run against the directory store and against an etcd store on a real
//! three-member cluster (`src/store/etcd/test_cluster.rs`). The vault's own
//! behaviour through each store is the vault's suite (`src/vault/tests.rs`,
//! `audit_tests.rs`), run a second time on etcd (`INTERVAULT_TEST_STORE=etcd`).

use std::sync::Arc;

use super::{LockMode, SharedStore, StoreError};
use crate::error::Error;

/// Makes a fresh, empty store for one test; keeps what it needs alive.
pub(crate) trait Maker {
    fn make(&self) -> SharedStore;
    fn name(&self) -> &'static str;
}

/// Stores in fresh temporary directories.
pub(crate) struct Dirs(pub tempfile::TempDir);

impl Maker for Dirs {
    fn make(&self) -> SharedStore {
        let dir = self
            .0
            .path()
            .join(crate::vault::format::Ref::random().to_string());
        Arc::new(super::dir::DirStore::new(&dir))
    }
    fn name(&self) -> &'static str {
        "directory"
    }
}

/// Stores under fresh prefixes of the shared test cluster.
pub(crate) struct EtcdPrefixes;

impl Maker for EtcdPrefixes {
    fn make(&self) -> SharedStore {
        super::etcd::for_tests::fresh_prefix()
    }
    fn name(&self) -> &'static str {
        "etcd"
    }
}

/// Every maker the suite runs on.
pub(crate) fn makers() -> Vec<Box<dyn Maker>> {
    vec![
        Box::new(Dirs(tempfile::tempdir().expect("temp dir"))),
        Box::new(EtcdPrefixes),
    ]
}

fn created(maker: &dyn Maker) -> SharedStore {
    let store = maker.make();
    store.create(&["keys", "creds"]).expect("create");
    store
}

/// Objects: written whole, read back, replaced, listed by folder, shredded.
pub(crate) fn objects(maker: &dyn Maker) {
    let store = created(maker);
    let n = maker.name();
    assert!(
        matches!(store.read("vault.json"), Err(StoreError::NotFound(_))),
        "{n}"
    );
    store.write("vault.json", b"one").expect("write");
    store.write("vault.json", b"two").expect("replace");
    assert_eq!(store.read("vault.json").expect("read"), b"two", "{n}");
    assert!(store.exists("vault.json").expect("exists"), "{n}");
    store.write("creds/a.1.age", b"x").expect("write");
    store.write("creds/b.1.age", b"y").expect("write");
    let mut names = store.list("creds").expect("list");
    names.sort();
    assert_eq!(names, ["a.1.age", "b.1.age"], "{n}");
    assert!(
        store
            .list("")
            .expect("list top")
            .contains(&"vault.json".to_owned()),
        "{n}"
    );
    assert!(
        !store
            .list("")
            .expect("list top")
            .contains(&"a.1.age".to_owned()),
        "{n}"
    );
    store.shred("creds/a.1.age").expect("shred");
    store.shred("creds/a.1.age").expect("shred twice");
    assert_eq!(store.list("creds").expect("list"), ["b.1.age"], "{n}");
    assert!(matches!(
        store.write_new("vault.json", b"three"),
        Err(StoreError::AlreadyExists(_))
    ));
    store.write_new("creds/c.1.age", b"z").expect("write new");
    // Big objects are written and read whole (split in a shared store).
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    store.write("history.1.age", &big).expect("write big");
    assert_eq!(store.read("history.1.age").expect("read big"), big, "{n}");
    store
        .write("history.1.age", b"small again")
        .expect("shrink");
    assert_eq!(store.read("history.1.age").expect("read"), b"small again");
    assert!(
        matches!(
            store.read_up_to("vault.json", 2),
            Err(StoreError::Failed(Error::Damaged { .. }))
        ),
        "{n}"
    );
}

/// Logs: appended at their length only, read at any offset, cut back,
/// replaced, renamed.
pub(crate) fn logs(maker: &dyn Maker) {
    let store = created(maker);
    let n = maker.name();
    let log = "audit/audit.log";
    store.ensure_folder("audit").expect("folder");
    assert!(
        matches!(store.log_len(log), Err(StoreError::NotFound(_))),
        "{n}"
    );
    store.log_append(log, 0, b"first\n").expect("append");
    store.log_append(log, 6, b"second\n").expect("append");
    assert!(
        matches!(
            store.log_append(log, 6, b"again\n"),
            Err(StoreError::Changed(_))
        ),
        "{n}"
    );
    assert_eq!(store.log_len(log).expect("len"), 13, "{n}");
    assert_eq!(store.log_read(log, 3, 6).expect("read"), b"st\nsec", "{n}");
    store.log_truncate(log, 9).expect("truncate");
    assert_eq!(
        store.read_up_to(log, 1 << 20).expect("whole"),
        b"first\nsec",
        "{n}"
    );
    let mut all = Vec::new();
    std::io::Read::read_to_end(
        &mut store.log_reader(log, 1 << 20).expect("reader"),
        &mut all,
    )
    .expect("read all");
    assert_eq!(all, b"first\nsec", "{n}");
    store.log_replace(log, b"checkpoint\n").expect("replace");
    assert_eq!(store.log_len(log).expect("len"), 11, "{n}");
    store.rename(log, "audit/kept.log").expect("rename");
    assert!(
        matches!(store.log_len(log), Err(StoreError::NotFound(_))),
        "{n}"
    );
    assert_eq!(
        store.read_up_to("audit/kept.log", 100).expect("kept"),
        b"checkpoint\n"
    );
    let names = store.list("audit").expect("list");
    assert_eq!(names, ["kept.log"], "{n}");
}

/// A change and its record: written together; when the record cannot go
/// where it should (another appender went first), the change does not land.
pub(crate) fn changes_with_records(maker: &dyn Maker) {
    let store = created(maker);
    let n = maker.name();
    let log = "audit/audit.log";
    store.ensure_folder("audit").expect("folder");
    store
        .write_with_log("vault.json", b"one", log, 0, b"r1\n")
        .expect("write with log");
    assert_eq!(store.read("vault.json").expect("read"), b"one", "{n}");
    assert_eq!(store.log_len(log).expect("len"), 3, "{n}");
    let taken = store.write_with_log("vault.json", b"two", log, 0, b"r2\n");
    assert!(matches!(taken, Err(StoreError::Changed(_))), "{n}");
    assert_eq!(store.read("vault.json").expect("read"), b"one", "{n}");
    assert_eq!(store.read_up_to(log, 100).expect("log"), b"r1\n", "{n}");
    store
        .write_with_log("vault.json", b"two", log, 3, b"r2\n")
        .expect("write with log");
    assert_eq!(store.read("vault.json").expect("read"), b"two", "{n}");
    assert_eq!(store.read_up_to(log, 100).expect("log"), b"r1\nr2\n", "{n}");
}

/// Listings name what a folder holds whatever its logs hold (a log of more
/// chunks than a shared store reads in one request is one name), every object
/// of a folder larger than such a request, and no deeper folder's names; logs
/// of many appends read back at every offset.
pub(crate) fn listings(maker: &dyn Maker) {
    let store = created(maker);
    let n = maker.name();
    assert!(!store.exists("audit/audit.head").expect("exists"), "{n}");
    store.ensure_folder("audit").expect("folder");
    let log = "audit/audit.log";
    let mut whole = Vec::new();
    for i in 0..300u32 {
        let line = format!("record {i}\n");
        store
            .log_append(log, whole.len() as u64, line.as_bytes())
            .expect("append");
        whole.extend_from_slice(line.as_bytes());
    }
    assert_eq!(store.log_len(log).expect("len"), whole.len() as u64, "{n}");
    store.write("audit/audit.head", b"head").expect("head");
    store.write("audit/zz", b"after the log").expect("write");
    let _reader = store
        .lock("audit/audit.lock", LockMode::Shared)
        .expect("lock");
    assert!(store.exists("audit/audit.head").expect("exists"), "{n}");
    let mut names = store.list("audit").expect("list");
    names.retain(|name| !name.ends_with(".lock"));
    names.sort();
    assert_eq!(names, ["audit.head", "audit.log", "zz"], "{n}");
    for offset in [0, 1, 9, 10, 11, 1000, whole.len() as u64 - 1] {
        let len = whole.len() as u64 - offset;
        assert_eq!(
            store.log_read(log, offset, len).expect("read"),
            &whole[offset as usize..],
            "{n}: from {offset}"
        );
    }
    // A read from the start or the middle is that part alone.
    assert_eq!(
        store.log_read(log, 0, 9).expect("read"),
        b"record 0\n",
        "{n}"
    );
    assert_eq!(
        store.log_read(log, 13, 7).expect("read"),
        b"rd 1\nre",
        "{n}"
    );
    // A cut seen by the client that knew where the log ended.
    store.log_truncate(log, 15).expect("truncate");
    assert_eq!(store.log_len(log).expect("len"), 15, "{n}: after a cut");
    whole.truncate(15);
    store.log_append(log, 15, b"again\n").expect("append");
    whole.extend_from_slice(b"again\n");
    assert_eq!(store.log_len(log).expect("len"), 21, "{n}");
    // A chunk far longer than a trail record (a pruned log is written whole),
    // read from inside it and from its end.
    let big: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    store.log_replace(log, &big).expect("replace");
    assert_eq!(store.log_len(log).expect("len"), 100_000, "{n}");
    store
        .log_append(log, big.len() as u64, b"after\n")
        .expect("append");
    assert_eq!(store.log_len(log).expect("len"), 100_006, "{n}");
    for offset in [0u64, 20_000, 90_000, 99_999, 100_000, 100_003] {
        let len = 100_006 - offset;
        let read = store.log_read(log, offset, len).expect("read");
        let mut want = big.get(offset as usize..).unwrap_or_default().to_vec();
        want.extend_from_slice(&b"after\n"[offset.saturating_sub(100_000) as usize..]);
        assert_eq!(read, want, "{n}: from {offset}");
    }
    let mut expected = Vec::new();
    for i in 0..300u32 {
        let name = format!("c{i:03}.1.age");
        store.write(&format!("creds/{name}"), b"x").expect("write");
        expected.push(name);
    }
    if n == "etcd" {
        // A key below a name: a deeper folder, whose names are not listed.
        store
            .write("creds/deeper/x.age", b"x")
            .expect("write deeper");
    }
    let mut names = store.list("creds").expect("list");
    names.sort();
    names.retain(|name| name != "deeper");
    assert_eq!(names, expected, "{n}");
    let top = store.list("").expect("list top");
    assert!(!top.contains(&"c000.1.age".to_owned()), "{n}: {top:?}");
    assert!(!top.contains(&"audit.head".to_owned()), "{n}: {top:?}");
}

/// Locks: readers share, a writer excludes everyone, a dropped hold frees.
pub(crate) fn locks(maker: &dyn Maker) {
    let store = created(maker);
    let n = maker.name();
    let r1 = store.lock("vault.lock", LockMode::Shared).expect("reader");
    let r2 = store.try_lock_now("vault.lock", LockMode::Shared);
    assert!(r2.is_some(), "{n}: readers share");
    assert!(
        store
            .try_lock_now("vault.lock", LockMode::Exclusive)
            .is_none(),
        "{n}"
    );
    drop((r1, r2));
    let w = store
        .lock("vault.lock", LockMode::Exclusive)
        .expect("writer");
    assert_eq!(w.mode(), LockMode::Exclusive);
    assert!(
        store.try_lock_now("vault.lock", LockMode::Shared).is_none(),
        "{n}"
    );
    assert!(
        store
            .try_lock_now("vault.lock", LockMode::Exclusive)
            .is_none(),
        "{n}"
    );
    drop(w);
    assert!(
        store
            .try_lock_now("vault.lock", LockMode::Exclusive)
            .is_some(),
        "{n}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn each(test: fn(&dyn Maker)) {
        for maker in makers() {
            test(maker.as_ref());
        }
    }

    #[test]
    fn objects_on_every_store() {
        each(objects);
    }

    #[test]
    fn logs_on_every_store() {
        each(logs);
    }

    #[test]
    fn changes_with_records_on_every_store() {
        each(changes_with_records);
    }

    #[test]
    fn listings_on_every_store() {
        each(listings);
    }

    #[test]
    fn locks_on_every_store() {
        each(locks);
    }
}

//! The etcd store: each object a key under the vault's prefix.
//!
//! - Objects: `PREFIX/NAME` holds the bytes; an object larger than
//!   [`PART_BYTES`] is split into parts (`PREFIX/NAME/#part/N-DIGEST`), written
//!   first, and `PREFIX/NAME` holds a small manifest naming them: the switch to
//!   the new object is the one put of the manifest, as a file's is its rename
//!   (no value ever nears etcd's 1.5 MiB request limit).
//! - Logs: `PREFIX/NAME/#log/OFFSET` (16 hex digits), one key per append, so
//!   that an append is one put whatever the log's size; an append is
//!   conditioned on no chunk existing at its offset (two appenders cannot
//!   both write at the same place). `PREFIX/NAME/#end` says where the last
//!   chunk starts and the log ends, written in the same transaction as every
//!   change of the log: finding the end is one small read whatever the log's
//!   size (a log from before it is found by its last chunk, once).
//! - Locks: a writer holds `PREFIX/LOCK` and each reader `PREFIX/LOCK#r/ID`,
//!   every one on this client's lease (so a killed client's locks go when its
//!   lease ends); a writer waits until no reader is left, and a reader never
//!   enters while a writer holds it. Every write made under an exclusive lock
//!   is a transaction conditioned on that lock key still being the one this
//!   client created (a fencing token): a client whose lease ended (paused,
//!   partitioned) can no longer change anything.
//!
//! Deleting a key leaves its old revisions readable until the cluster compacts
//! them: see [`EtcdStore::compact_and_defragment`], which every wipe runs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::client::{Client, CmpOp, Compare, EtcdError, Txn, TxnOp};
use crate::error::{Error, Location, Result};
use crate::store::fsio::LOCK_WAIT;
use crate::store::{
    Expiry, Fingerprint, Held, LockMode, Purge, Store, StoreError, StoreResult, Unchanged,
};

/// Objects above this size are split into parts of this size.
const PART_BYTES: usize = 512 * 1024;
/// What starts a manifest of parts (no sealed object or clear root starts so).
const MANIFEST_MAGIC: &[u8] = b"intervault-parts-v1\n";
/// How long a client's lease (and so its locks) outlives the client.
const LEASE_TTL_SECS: i64 = 15;
/// How far before an offset a log read looks for the chunk that holds it
/// before it looks through the whole log (a trail's records are far smaller).
const LOG_WINDOW: u64 = 16 * 1024;
/// How many keys one request of a listing reads.
const LIST_PAGE: usize = 256;
/// How often a waiting lock is tried again.
const LOCK_POLL: Duration = Duration::from_millis(25);

/// Where a log ended when this client last read or wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LogEnd {
    /// Where its last chunk starts.
    last: u64,
    /// Its length.
    len: u64,
    /// The key that changes with every change of the log (its `#end`, or
    /// for a log from before it, its last chunk), and that key's revision.
    guard: (Vec<u8>, i64),
}

/// A vault kept under a prefix of an etcd cluster.
pub struct EtcdStore {
    client: std::sync::Arc<Client>,
    /// `PREFIX/`, with its slash.
    prefix: String,
    address: String,
    state: Arc<Mutex<State>>,
    /// For a snapshot ([`Store::snapshot`]): the revision every read is
    /// made at; such a store writes and locks nothing.
    read_at: Option<i64>,
}

/// This client's lease and the exclusive locks it holds (their keys and
/// create revisions: the fencing tokens).
#[derive(Default)]
struct State {
    lease: Option<i64>,
    fences: Vec<(Vec<u8>, i64)>,
    /// Set to stop the thread that keeps the lease alive.
    stop_keep_alive: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Where each log's last chunk started, where the log ended and the
    /// chunk's revision, when this client last saw it: only a hint, checked
    /// at every use (see `log_len`), and what an unlocked append is
    /// conditioned on (see `append_unlocked`).
    log_ends: std::collections::HashMap<String, LogEnd>,
}

impl EtcdStore {
    /// The store under `prefix` of the cluster `client` reaches; `address` is
    /// the URL the user gave, for messages.
    pub fn new(client: Client, prefix: &str, address: String) -> Self {
        client.keep_pinned_answers();
        EtcdStore {
            client: std::sync::Arc::new(client),
            prefix: format!("{}/", prefix.trim_end_matches('/')),
            address,
            state: Arc::new(Mutex::new(State::default())),
            read_at: None,
        }
    }

    /// The client, for what only this store does (compaction, leases).
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn key(&self, name: &str) -> Vec<u8> {
        format!("{}{name}", self.prefix).into_bytes()
    }

    fn log_prefix(&self, name: &str) -> Vec<u8> {
        self.key(&format!("{name}/#log/"))
    }

    fn log_key(&self, name: &str, offset: u64) -> Vec<u8> {
        self.key(&format!("{name}/#log/{offset:016x}"))
    }

    fn end_key(&self, name: &str) -> Vec<u8> {
        self.key(&format!("{name}/#end"))
    }

    fn parts_prefix(&self, name: &str) -> Vec<u8> {
        self.key(&format!("{name}/#part/"))
    }

    /// A failure of the cluster, in the vault's words.
    fn failed(&self, e: EtcdError) -> Error {
        match (e, self.read_at) {
            // A snapshot's revision compacted away under it (a wipe ran
            // meanwhile): what it read can no longer be read whole.
            (EtcdError::Compacted { .. }, Some(_)) => Error::Conflict {
                at: self.locate(""),
            },
            (e, _) => failure(&self.address, e),
        }
    }

    /// Refuses a change through a snapshot, which only reads.
    fn writable(&self, name: &str) -> Result<()> {
        match self.read_at {
            None => Ok(()),
            Some(_) => Err(Error::Internal(format!(
                "{} was to be changed through a read-only snapshot of the store",
                self.locate(name)
            ))),
        }
    }

    /// This client's lease, granted on first use.
    fn lease(&self) -> Result<i64> {
        let mut state = self.lock_state();
        if let Some(id) = state.lease {
            return Ok(id);
        }
        let id = self
            .client
            .lease_grant(LEASE_TTL_SECS)
            .map_err(|e| self.failed(e))?
            .id;
        state.lease = Some(id);
        state.stop_keep_alive = keep_alive(self.client.clone(), id);
        Ok(id)
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        locked(&self.state)
    }

    /// Compares that make a write count only while this client still holds
    /// every exclusive lock it took.
    fn fenced(&self) -> Vec<Compare> {
        self.lock_state()
            .fences
            .iter()
            .map(|(key, rev)| Compare::create_revision(key, CmpOp::Equal, *rev))
            .collect()
    }

    /// Runs `ops` as one transaction under this client's fences.
    fn commit(&self, at: &str, compares: Vec<Compare>, ops: Vec<TxnOp>) -> StoreResult<()> {
        self.commit_at(at, compares, ops).map(|_| ())
    }

    /// [`EtcdStore::commit`], giving the transaction's revision.
    fn commit_at(&self, at: &str, mut compares: Vec<Compare>, ops: Vec<TxnOp>) -> StoreResult<i64> {
        self.writable(at)?;
        compares.extend(self.fenced());
        let outcome = self
            .client
            .txn(Txn {
                compare: compares,
                success: ops,
                failure: Vec::new(),
            })
            .map_err(|e| StoreError::Failed(self.failed(e)))?;
        match outcome.succeeded {
            true => Ok(outcome.header.revision),
            false => Err(StoreError::Changed(self.locate(at))),
        }
    }

    /// Appends `bytes` to log `name` at `at` if no chunk is there yet and
    /// `compares` hold, doing `also` in the same transaction; remembers
    /// where the log now ends.
    fn append_if(
        &self,
        name: &str,
        at: u64,
        bytes: &[u8],
        mut compares: Vec<Compare>,
        also: Vec<TxnOp>,
    ) -> StoreResult<()> {
        let key = self.log_key(name, at);
        compares.push(Compare::absent(key.clone()));
        let mut ops = vec![put(key, bytes.to_vec(), None)];
        if !bytes.is_empty() {
            ops.push(self.put_end(name, at, at + bytes.len() as u64));
        }
        ops.extend(also);
        let revision = self.commit_at(name, compares, ops)?;
        if !bytes.is_empty() {
            let end = LogEnd {
                last: at,
                len: at + bytes.len() as u64,
                guard: (self.end_key(name), revision),
            };
            self.lock_state().log_ends.insert(name.to_owned(), end);
        }
        Ok(())
    }

    /// The put of log `name`'s end: its last chunk at `last`, `len` long.
    fn put_end(&self, name: &str, last: u64, len: u64) -> TxnOp {
        put(
            self.end_key(name),
            format!("{last} {len}").into_bytes(),
            None,
        )
    }

    /// Log `name`'s end as its `#end` key says, if it has one.
    fn recorded_end(&self, name: &str) -> StoreResult<Option<LogEnd>> {
        let key = self.end_key(name);
        let found = self
            .client
            .get_inner(&key, self.read_at)
            .map_err(|e| self.failed(e))?;
        let Some(kv) = found.kv else {
            return Ok(None);
        };
        let parsed = std::str::from_utf8(&kv.value).ok().and_then(|text| {
            let (last, len) = text.split_once(' ')?;
            Some((last.parse::<u64>().ok()?, len.parse::<u64>().ok()?))
        });
        match parsed {
            Some((last, len)) if last < len => Ok(Some(LogEnd {
                last,
                len,
                guard: (key, kv.mod_revision),
            })),
            _ => Err(StoreError::Failed(Error::damaged(
                self.locate(name),
                "the record of where the log ends is malformed",
            ))),
        }
    }

    fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let found = self
            .client
            .get_inner(&self.key(name), self.read_at)
            .map_err(|e| self.failed(e))?;
        Ok(found.kv.map(|kv| kv.value))
    }

    /// The parts an object's manifest names, joined and checked.
    fn join_parts(&self, name: &str, manifest: &[u8], max: u64) -> StoreResult<Vec<u8>> {
        let damaged = |what: &str| StoreError::Failed(Error::damaged(self.locate(name), what));
        let text = std::str::from_utf8(&manifest[MANIFEST_MAGIC.len()..])
            .map_err(|_| damaged("its manifest of parts is malformed"))?;
        let mut lines = text.lines();
        let digest = lines
            .next()
            .ok_or_else(|| damaged("its manifest of parts is empty"))?
            .to_owned();
        // Every part in one read (with any a writer has not deleted yet).
        let mut parts: std::collections::HashMap<Vec<u8>, Vec<u8>> = self
            .client
            .range_prefix(self.parts_prefix(name), false, self.read_at)
            .map_err(|e| self.failed(e))?
            .kvs
            .into_iter()
            .map(|kv| (kv.key, kv.value))
            .collect();
        let mut bytes = Vec::new();
        for part in lines {
            let key = self.key(&format!("{name}/#part/{part}"));
            let value = parts
                .remove(&key)
                .ok_or_else(|| damaged("a part of it is missing"))?;
            bytes.extend_from_slice(&value);
            if bytes.len() as u64 > max {
                return Err(damaged("it is larger than a vault object can be"));
            }
        }
        if hex_digest(&bytes) != digest {
            return Err(damaged(
                "its parts do not make the object their manifest names",
            ));
        }
        Ok(bytes)
    }

    /// The log's chunks from the one holding `offset` on, as (offset, bytes),
    /// up to the one holding `until - 1` (`None`: to the end).
    fn chunks_from(
        &self,
        name: &str,
        offset: u64,
        until: Option<u64>,
    ) -> Result<Vec<(u64, Vec<u8>)>> {
        let prefix = self.log_prefix(name);
        // The chunk that holds `offset` starts at or before it: the last one
        // below `offset + 1`, then every one after, in one read. etcd (3.4)
        // reads every key of a sorted range before it keeps the last, so the
        // last one is looked for just before `offset` first, and in the whole
        // log only when no chunk starts there (a chunk longer than the window).
        let split = self.log_key(name, offset.saturating_add(1));
        let end = match until {
            Some(until) if until > offset => self.log_key(name, until),
            _ => prefix_end(&prefix),
        };
        let near = self.log_key(name, offset.saturating_sub(LOG_WINDOW));
        let (mut before, mut after) = self
            .client
            .range_last_and_after(&near, &split, &end, self.read_at)
            .map_err(|e| self.failed(e))?;
        if before.is_none() && offset > LOG_WINDOW {
            (before, after) = self
                .client
                .range_last_and_after(&prefix, &split, &end, self.read_at)
                .map_err(|e| self.failed(e))?;
        }
        before
            .into_iter()
            .chain(after)
            .map(|kv| {
                let at = chunk_offset(&prefix, &kv.key).ok_or_else(|| self.bad_chunk(name))?;
                Ok((at, kv.value))
            })
            .collect()
    }

    fn bad_chunk(&self, name: &str) -> Error {
        Error::damaged(self.locate(name), "a chunk of the log has a malformed key")
    }

    /// Destroys what the cluster still keeps of deleted keys: compacts to the
    /// current revision (waiting until every member has applied it), then
    /// defragments every member named in the address, so that the freed
    /// pages are rewritten. Compaction and defragmentation need etcd's root
    /// role where authentication is on: a client without it gets `Pending`,
    /// and so does one that cannot reach every member.
    pub fn compact_and_defragment(&self) -> std::result::Result<Purge, EtcdError> {
        let status = self.client.status()?;
        self.client.compact(status.revision, true)?;
        let outcomes = self.client.defragment_each();
        let members = outcomes.len();
        let failed: Vec<String> = outcomes
            .into_iter()
            .filter_map(|(endpoint, outcome)| outcome.err().map(|e| format!("{endpoint}: {e}")))
            .collect();
        Ok(match failed.is_empty() {
            true => Purge::Done {
                revision: status.revision,
                members,
            },
            false => Purge::Pending {
                why: format!(
                    "old revisions are compacted, but {} of {members} members could not be defragmented ({})",
                    failed.len(),
                    failed.join("; ")
                ),
            },
        })
    }

    fn lease_record_key(&self, group: &str) -> Vec<u8> {
        self.key(&format!("#lease/{group}"))
    }

    /// The lease that ends `expiry`'s group at `expiry.until`: the one its
    /// record names if that ends then, else a new one, recorded (the record
    /// on the lease itself, so that it goes with the keys).
    fn group_lease(&self, expiry: &Expiry<'_>) -> Result<i64> {
        self.writable(expiry.group)?;
        let record = self.lease_record_key(expiry.group);
        let until = crate::timefmt::format_utc(expiry.until);
        let found = self.client.get(&record).map_err(|e| self.failed(e))?;
        if let Some(kv) = found.kv.filter(|kv| kv.value == until.as_bytes()) {
            return Ok(kv.lease);
        }
        // A TTL is a minimum for etcd (a new leader restarts the countdown):
        // rounded up, never below a second.
        let millis = (expiry.until - expiry.now).num_milliseconds();
        let ttl = (millis.max(1) + 999) / 1000;
        let lease = self.client.lease_grant(ttl).map_err(|e| self.failed(e))?.id;
        let name = format!("#lease/{}", expiry.group);
        self.commit(
            &name,
            Vec::new(),
            vec![put(record, until.into_bytes(), Some(lease))],
        )?;
        Ok(lease)
    }

    /// Attaches object `name` and its parts, where they exist, to `lease`
    /// (their values unchanged).
    fn move_to_lease(&self, name: &str, lease: i64) -> Result<()> {
        let mut kvs: Vec<_> = self
            .client
            .get(self.key(name))
            .map_err(|e| self.failed(e))?
            .kv
            .into_iter()
            .collect();
        kvs.extend(
            self.client
                .range_prefix(self.parts_prefix(name), false, None)
                .map_err(|e| self.failed(e))?
                .kvs,
        );
        for kv in kvs.into_iter().filter(|kv| kv.lease != lease) {
            // Only if unchanged since read (this client holds the lock, so
            // another writer means a fence was lost: Changed).
            self.commit(
                name,
                vec![Compare::mod_revision(
                    &kv.key,
                    CmpOp::Equal,
                    kv.mod_revision,
                )],
                vec![put(kv.key, kv.value, Some(lease))],
            )?;
        }
        Ok(())
    }
}

impl Drop for EtcdStore {
    fn drop(&mut self) {
        if self.read_at.is_some() {
            return; // a snapshot: the lease is the store's
        }
        if let Some(stop) = self.lock_state().stop_keep_alive.take() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        // Frees every lock this client still holds at once.
        if let Some(id) = self.lock_state().lease.take() {
            let _ = self.client.lease_revoke(id);
        }
    }
}

/// Keeps lease `id` alive while this client runs (a command longer than the
/// lease, or a test process, keeps its locks), renewing it every third of its
/// time to live, until the flag it gives is set or the lease is gone. A
/// killed client stops renewing: its locks go when the lease ends.
fn keep_alive(client: Arc<Client>, id: i64) -> Option<Arc<std::sync::atomic::AtomicBool>> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let every = Duration::from_secs((LEASE_TTL_SECS / 3) as u64);
    std::thread::Builder::new()
        .name("etcd-lease".into())
        .spawn(move || loop {
            let slept = Instant::now();
            // Small steps, so that a dropped store's thread ends soon.
            while slept.elapsed() < every {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // A renewal that fails is tried again at the next step; one
            // that finds the lease gone ends the thread.
            if let Ok(None) = client.lease_keep_alive(id) {
                return;
            }
        })
        .ok()
        .map(|_| stop)
}

/// A failure of the cluster, in the vault's words (one line, a way out).
pub fn failure(address: &str, e: EtcdError) -> Error {
    match e {
        EtcdError::ClusterMismatch { .. } => Error::damaged(
            Location::Key {
                store: address.to_owned(),
                key: String::new(),
            },
            e.to_string(),
        ),
        EtcdError::Malformed { what } => Error::damaged(
            Location::Key {
                store: address.to_owned(),
                key: String::new(),
            },
            format!("the cluster's answer does not parse ({what})"),
        ),
        EtcdError::Tls { .. } | EtcdError::TlsFiles { .. } | EtcdError::Config { .. } => Error::Unreachable {
            what: e.to_string(),
            fix: "check the CA, certificate and key given for the cluster (they must be current and signed by the cluster's CA)".into(),
        },
        other => Error::Unreachable {
            what: other.to_string(),
            fix: "check that the cluster is up and that a majority of its members can be reached, then try again (nothing was changed)".into(),
        },
    }
}

/// A put in a transaction, attached to `lease` if given.
fn put(key: Vec<u8>, value: Vec<u8>, lease: Option<i64>) -> TxnOp {
    TxnOp::Put { key, value, lease }
}

/// A delete of every key under `prefix` in a transaction.
fn delete_prefix(prefix: Vec<u8>) -> TxnOp {
    TxnOp::DeletePrefix { prefix }
}

/// The key just after every key that starts with `prefix`.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn chunk_offset(prefix: &[u8], key: &[u8]) -> Option<u64> {
    let hex = std::str::from_utf8(key.strip_prefix(prefix)?).ok()?;
    u64::from_str_radix(hex, 16).ok()
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn locked(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // A panic elsewhere cannot leave the state half-changed: plain data.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a snapshot gives for a shared lock: nothing is held in the cluster.
struct SnapshotHold;

impl Held for SnapshotHold {
    fn mode(&self) -> LockMode {
        LockMode::Shared
    }
}

/// A lock held in the cluster; released (its key deleted) on drop.
struct EtcdLock {
    client: Arc<Client>,
    state: Arc<Mutex<State>>,
    key: Vec<u8>,
    mode: LockMode,
}

impl Held for EtcdLock {
    fn mode(&self) -> LockMode {
        self.mode
    }
}

impl Drop for EtcdLock {
    fn drop(&mut self) {
        locked(&self.state)
            .fences
            .retain(|(key, _)| key != &self.key);
        // Best effort: a key left behind goes with this client's lease.
        let _ = self.client.delete(&self.key);
    }
}

impl EtcdStore {
    /// Tries once to take lock `name`; gives the lock key and its create
    /// revision, or `None` if it is not free now.
    fn try_take(&self, name: &str, mode: LockMode) -> Result<Option<(Vec<u8>, i64)>> {
        let lease = self.lease()?;
        let writer = self.key(name);
        let key = match mode {
            LockMode::Exclusive => writer.clone(),
            LockMode::Shared => {
                self.key(&format!("{name}#r/{}", crate::vault::format::Ref::random()))
            }
        };
        let outcome = self
            .client
            .txn(Txn {
                compare: vec![Compare::absent(writer)],
                success: vec![put(key.clone(), b"held".to_vec(), Some(lease))],
                failure: Vec::new(),
            })
            .map_err(|e| self.failed(e))?;
        if !outcome.succeeded {
            return Ok(None);
        }
        Ok(Some((key, outcome.header.revision)))
    }

    /// Whether readers still hold lock `name`.
    fn readers(&self, name: &str) -> Result<bool> {
        let prefix = self.key(&format!("{name}#r/"));
        let found = self
            .client
            .range_prefix(&prefix, true, None)
            .map_err(|e| self.failed(e))?;
        Ok(!found.kvs.is_empty())
    }

    fn held(&self, key: Vec<u8>, revision: i64, mode: LockMode) -> Box<dyn Held> {
        if mode == LockMode::Exclusive {
            self.lock_state().fences.push((key.clone(), revision));
        }
        Box::new(EtcdLock {
            client: self.client.clone(),
            state: self.state.clone(),
            key,
            mode,
        })
    }
}

impl EtcdStore {
    /// Writes object `name` (and its parts) attached to `lease`, if any; the
    /// transaction that switches to the new object also checks and does
    /// what `with` holds.
    fn write_with(
        &self,
        name: &str,
        bytes: &[u8],
        lease: Option<i64>,
        (also_check, also_do): (Vec<Compare>, Vec<TxnOp>),
    ) -> StoreResult<()> {
        let old_parts = self.parts_prefix(name);
        if bytes.len() <= PART_BYTES {
            let mut ops = vec![
                put(self.key(name), bytes.to_vec(), lease),
                delete_prefix(old_parts),
            ];
            ops.extend(also_do);
            return self.commit(name, also_check, ops);
        }
        // Parts under this content's digest first, then the manifest that
        // names them (the switch), then whatever parts the old one named.
        let digest = hex_digest(bytes);
        let mut manifest = MANIFEST_MAGIC.to_vec();
        manifest.extend_from_slice(digest.as_bytes());
        let mut part_names = Vec::new();
        for (i, part) in bytes.chunks(PART_BYTES).enumerate() {
            let part_name = format!("{}-{i:04}", &digest[..16]);
            self.commit(
                name,
                Vec::new(),
                vec![put(
                    self.key(&format!("{name}/#part/{part_name}")),
                    part.to_vec(),
                    lease,
                )],
            )?;
            manifest.push(b'\n');
            manifest.extend_from_slice(part_name.as_bytes());
            part_names.push(part_name);
        }
        let mut ops = vec![put(self.key(name), manifest, lease)];
        ops.extend(also_do);
        self.commit(name, also_check, ops)?;
        let current: Vec<Vec<u8>> = part_names
            .iter()
            .map(|p| self.key(&format!("{name}/#part/{p}")))
            .collect();
        let stale = self
            .client
            .range_prefix(&old_parts, true, None)
            .map_err(|e| self.failed(e))?;
        for kv in stale
            .kvs
            .into_iter()
            .filter(|kv| !current.contains(&kv.key))
        {
            self.commit(name, Vec::new(), vec![TxnOp::delete(kv.key)])?;
        }
        Ok(())
    }
}

impl Store for EtcdStore {
    fn unmark(&self, name: &str) {
        let _ = self.shred(name);
    }

    fn locate(&self, name: &str) -> Location {
        Location::Key {
            store: self.address.clone(),
            key: name.to_owned(),
        }
    }

    fn check_private(&self, _folders: &[&str]) -> Result<()> {
        // Confidentiality never rests on the cluster: everything is sealed.
        Ok(())
    }

    fn create(&self, _folders: &[&str]) -> Result<()> {
        let found = self
            .client
            .range_prefix(self.prefix.as_bytes(), true, None)
            .map_err(|e| self.failed(e))?;
        if !found.kvs.is_empty() {
            return Err(Error::VaultExists {
                at: self.locate(""),
            });
        }
        Ok(())
    }

    fn ensure_folder(&self, _folder: &str) -> Result<()> {
        Ok(())
    }

    fn read_up_to(&self, name: &str, max: u64) -> StoreResult<Vec<u8>> {
        let Some(bytes) = self.get(name)? else {
            // A log is read whole the same way (backups, pruning).
            let chunks = self.chunks_from(name, 0, None)?;
            if chunks.is_empty() {
                return Err(StoreError::NotFound(self.locate(name)));
            }
            let mut all = Vec::new();
            for (_, chunk) in chunks {
                all.extend_from_slice(&chunk);
                if all.len() as u64 > max {
                    return Err(StoreError::Failed(Error::damaged(
                        self.locate(name),
                        "it is larger than a vault object can be",
                    )));
                }
            }
            return Ok(all);
        };
        if bytes.starts_with(MANIFEST_MAGIC) {
            return self.join_parts(name, &bytes, max);
        }
        if bytes.len() as u64 > max {
            return Err(StoreError::Failed(Error::damaged(
                self.locate(name),
                format!("{} bytes is more than a vault object can hold", bytes.len()),
            )));
        }
        Ok(bytes)
    }

    fn exists(&self, name: &str) -> Result<bool> {
        // Without the value: the root is read for itself right after.
        self.client
            .exists(self.key(name), self.read_at)
            .map_err(|e| self.failed(e))
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        Ok(self.write_with(name, bytes, None, Default::default())?)
    }

    fn write_with_log(
        &self,
        name: &str,
        bytes: &[u8],
        log: &str,
        at: u64,
        record: &[u8],
    ) -> StoreResult<()> {
        // The record's chunk goes in the transaction that switches the object,
        // conditioned on its offset being free (as a lone append is).
        let chunk = self.log_key(log, at);
        let mut append = (
            vec![Compare::absent(chunk.clone())],
            vec![put(chunk, record.to_vec(), None)],
        );
        if !record.is_empty() {
            append
                .1
                .push(self.put_end(log, at, at + record.len() as u64));
        }
        self.lock_state().log_ends.remove(log);
        self.write_with(name, bytes, None, append)
    }

    fn write_until(&self, name: &str, bytes: &[u8], expiry: &Expiry<'_>) -> Result<()> {
        let lease = self.group_lease(expiry)?;
        Ok(self.write_with(name, bytes, Some(lease), Default::default())?)
    }

    fn expire_at(&self, expiry: &Expiry<'_>, names: &[String]) -> Result<()> {
        let lease = self.group_lease(expiry)?;
        for name in names {
            self.move_to_lease(name, lease)?;
        }
        Ok(())
    }

    fn expire_now(&self, group: &str) -> Result<()> {
        self.writable(group)?;
        let record = self.lease_record_key(group);
        let Some(kv) = self.client.get(&record).map_err(|e| self.failed(e))?.kv else {
            return Ok(());
        };
        // Revoking deletes every key on the lease at once, the record too; a
        // lease already gone (ended, revoked) has taken its keys with it.
        self.client
            .lease_revoke(kv.lease)
            .map_err(|e| self.failed(e))?;
        Ok(())
    }

    fn purge_deleted(&self) -> Purge {
        if let Err(e) = self.writable("") {
            return Purge::Pending { why: e.to_string() };
        }
        match self.compact_and_defragment() {
            Ok(done) => done,
            Err(e) => Purge::Pending { why: e.to_string() },
        }
    }

    fn address(&self) -> String {
        self.address.clone()
    }

    fn write_new(&self, name: &str, bytes: &[u8]) -> StoreResult<()> {
        let outcome = self.commit(
            name,
            vec![Compare::absent(self.key(name))],
            vec![put(self.key(name), bytes.to_vec(), None)],
        );
        match outcome {
            Err(StoreError::Changed(at)) if self.exists(name)? => {
                Err(StoreError::AlreadyExists(at))
            }
            other => other,
        }
    }

    fn shred(&self, name: &str) -> Result<()> {
        // The key, its parts and its log chunks, in one step. Old revisions
        // stay readable until the wipe's compaction.
        let ops = vec![
            TxnOp::delete(self.key(name)),
            delete_prefix(self.key(&format!("{name}/#"))),
        ];
        Ok(self.commit(name, Vec::new(), ops)?)
    }

    fn list(&self, folder: &str) -> Result<Vec<String>> {
        let prefix = match folder {
            "" => self.prefix.clone(),
            folder => format!("{}{folder}/", self.prefix),
        };
        let end = prefix_end(prefix.as_bytes());
        let mut start = prefix.as_bytes().to_vec();
        let mut names: Vec<String> = Vec::new();
        // Page by page, jumping past whatever lies under a name (a log's
        // chunks, an object's parts, a reader's lock, a deeper folder): a
        // listing costs what the folder holds, not what its logs hold.
        loop {
            let page = self
                .client
                .range_keys(&start, &end, LIST_PAGE, self.read_at)
                .map_err(|e| self.failed(e))?;
            let full = page.len() >= LIST_PAGE;
            let mut next = None;
            for kv in &page {
                let Some(rest) = kv.key.strip_prefix(prefix.as_bytes()) else {
                    continue;
                };
                let rest = String::from_utf8_lossy(rest);
                let (first, below) = match rest.split_once('/') {
                    // An object's parts and chunks count as the object; a
                    // deeper folder's names are not this folder's.
                    Some((first, tail)) => (first.to_owned(), Some(tail.starts_with('#'))),
                    None => (rest.into_owned(), None),
                };
                if below != Some(false) && !first.contains('#') && names.last() != Some(&first) {
                    names.push(first.clone());
                }
                if below.is_some() {
                    // Nothing more under `first/` can add a name: skip it.
                    next = Some(prefix_end(format!("{prefix}{first}/").as_bytes()));
                    break;
                }
            }
            match next {
                Some(after) => start = after,
                None if full => match page.last() {
                    Some(last) => start = [last.key.as_slice(), b"\0"].concat(),
                    None => break,
                },
                None => break,
            }
        }
        names.dedup();
        Ok(names)
    }

    fn lock(&self, name: &str, mode: LockMode) -> Result<Box<dyn Held>> {
        if self.read_at.is_some() {
            // A snapshot's reads see one revision: nothing to hold off.
            self.writable(name).or(match mode {
                LockMode::Shared => Ok(()),
                LockMode::Exclusive => Err(Error::Internal(
                    "a snapshot of the store cannot take a writer's lock".into(),
                )),
            })?;
            return Ok(Box::new(SnapshotHold));
        }
        let started = Instant::now();
        let busy = || Error::Busy {
            seconds: LOCK_WAIT.as_secs(),
        };
        let (key, revision) = loop {
            if let Some(taken) = self.try_take(name, mode)? {
                break taken;
            }
            if started.elapsed() >= LOCK_WAIT {
                return Err(busy());
            }
            std::thread::sleep(LOCK_POLL);
        };
        let held = self.held(key, revision, mode);
        if mode == LockMode::Exclusive {
            // Readers that entered before this writer finish first.
            while self.readers(name)? {
                if started.elapsed() >= LOCK_WAIT {
                    return Err(busy());
                }
                std::thread::sleep(LOCK_POLL);
            }
        }
        Ok(held)
    }

    fn try_lock_now(&self, name: &str, mode: LockMode) -> Option<Box<dyn Held>> {
        if self.read_at.is_some() {
            return (mode == LockMode::Shared).then(|| Box::new(SnapshotHold) as Box<dyn Held>);
        }
        let (key, revision) = self.try_take(name, mode).ok()??;
        let held = self.held(key, revision, mode);
        if mode == LockMode::Exclusive && self.readers(name).unwrap_or(true) {
            return None;
        }
        Some(held)
    }

    fn mark(&self, name: &str) -> Result<()> {
        self.write(name, b"")
    }

    fn log_len(&self, name: &str) -> StoreResult<u64> {
        if let Some(end) = self.recorded_end(name)? {
            let len = end.len;
            self.lock_state().log_ends.insert(name.to_owned(), end);
            return Ok(len);
        }
        // A log from before `#end` (or none).
        let prefix = self.log_prefix(name);
        let end = prefix_end(&prefix);
        // etcd (3.4) reads every key of a sorted range before it keeps the
        // last one: the whole log. Where this client saw the log end, one
        // small read tells whether it still ends there: the last chunk below
        // that end starts where it did and reaches it, and none lies past it.
        let hint = self.lock_state().log_ends.get(name).cloned();
        if let Some(LogEnd {
            last: at,
            len,
            guard: (_, revision),
        }) = hint
        {
            let (last, after) = self
                .client
                .range_last_and_after(
                    &self.log_key(name, at),
                    &self.log_key(name, len),
                    &end,
                    self.read_at,
                )
                .map_err(|e| self.failed(e))?;
            let same = last.is_some_and(|kv| {
                chunk_offset(&prefix, &kv.key) == Some(at)
                    && at + kv.value.len() as u64 == len
                    && kv.mod_revision == revision
            });
            if same && after.is_empty() {
                return Ok(len);
            }
        }
        let last = self
            .client
            .range_last(&prefix, &end, self.read_at)
            .map_err(|e| self.failed(e))?;
        match last {
            None => {
                self.lock_state().log_ends.remove(name);
                Err(StoreError::NotFound(self.locate(name)))
            }
            Some(kv) => {
                let at = chunk_offset(&prefix, &kv.key).ok_or_else(|| self.bad_chunk(name))?;
                let len = at + kv.value.len() as u64;
                let end = LogEnd {
                    last: at,
                    len,
                    guard: (kv.key, kv.mod_revision),
                };
                self.lock_state().log_ends.insert(name.to_owned(), end);
                Ok(len)
            }
        }
    }

    fn log_read(&self, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let end = offset + len;
        let mut out = Vec::with_capacity(len as usize);
        for (at, chunk) in self.chunks_from(name, offset, Some(end))? {
            let chunk_end = at + chunk.len() as u64;
            if chunk_end <= offset || at >= end {
                continue;
            }
            let from = offset.saturating_sub(at) as usize;
            let to = (end.min(chunk_end) - at) as usize;
            out.extend_from_slice(&chunk[from..to]);
        }
        if out.len() as u64 != len {
            return Err(Error::damaged(
                self.locate(name),
                "the log is shorter than it says",
            ));
        }
        Ok(out)
    }

    fn log_append(&self, name: &str, at: u64, bytes: &[u8]) -> StoreResult<()> {
        self.append_if(name, at, bytes, Vec::new(), Vec::new())
    }

    fn append_unlocked(
        &self,
        name: &str,
        at: u64,
        bytes: &[u8],
        lock: &str,
        (object, value): (&str, &[u8]),
        unchanged: Option<Unchanged<'_>>,
    ) -> StoreResult<()> {
        if value.len() > PART_BYTES {
            return Err(StoreError::Failed(Error::Internal(format!(
                "{} is too large to be written with an append",
                self.locate(object)
            ))));
        }
        let also = vec![
            put(self.key(object), value.to_vec(), None),
            delete_prefix(self.parts_prefix(object)),
        ];
        // No writer holds the lock, and the log is as this client read it:
        // its end unchanged (every change of the log changes it; a log from
        // before `#end`: its last chunk, which a rewrite or a cut changes or
        // deletes) and no chunk past it (another appender's lands where this
        // one would).
        let end = self.lock_state().log_ends.get(name).cloned();
        let mut compares = vec![Compare::absent(self.key(lock))];
        if let Some(u) = unchanged {
            // Last changed at or before `since` (an absent key counts as 0).
            compares.push(Compare::mod_revision(
                self.key(u.name),
                CmpOp::Less,
                u.since.saturating_add(1),
            ));
        }
        match end {
            Some(end) if end.len == at => compares.push(Compare::mod_revision(
                &end.guard.0,
                CmpOp::Equal,
                end.guard.1,
            )),
            // An empty log: the first chunk is the one at 0, and no end yet.
            None if at == 0 => compares.push(Compare::absent(self.end_key(name))),
            _ => return Err(StoreError::Changed(self.locate(name))),
        }
        self.append_if(name, at, bytes, compares, also)
    }

    fn log_truncate(&self, name: &str, len: u64) -> Result<()> {
        self.lock_state().log_ends.remove(name);
        // Its end record goes first (an unlocked appender then refuses); the
        // next read finds the end by its last chunk, the next append writes it.
        self.commit(name, Vec::new(), vec![TxnOp::delete(self.end_key(name))])?;
        for (at, chunk) in self.chunks_from(name, len, None)? {
            let key = self.log_key(name, at);
            if at >= len {
                self.commit(name, Vec::new(), vec![TxnOp::delete(key)])?;
            } else if at + (chunk.len() as u64) > len {
                let kept = chunk[..(len - at) as usize].to_vec();
                self.commit(name, Vec::new(), vec![put(key, kept, None)])?;
            }
        }
        Ok(())
    }

    fn log_replace(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.lock_state().log_ends.remove(name);
        // One transaction: the old chunks go and the new ones come at once.
        // etcd refuses a transaction that both deletes and puts one key, and
        // one of more than 128 operations (a log has a chunk per append): so
        // the old chunks go by the ranges between the new keys, however many.
        let prefix = self.log_prefix(name);
        let mut ops = Vec::new();
        let mut from = prefix.clone();
        let (mut at, mut last) = (0u64, 0u64);
        for chunk in bytes.chunks(PART_BYTES) {
            let key = self.log_key(name, at);
            ops.push(TxnOp::DeleteRange {
                start: std::mem::replace(&mut from, [key.as_slice(), b"\0"].concat()),
                end: key.clone(),
            });
            ops.push(put(key, chunk.to_vec(), None));
            last = at;
            at += chunk.len() as u64;
        }
        ops.push(TxnOp::DeleteRange {
            start: from,
            end: prefix_end(&prefix),
        });
        ops.push(match at {
            0 => TxnOp::delete(self.end_key(name)),
            len => self.put_end(name, last, len),
        });
        Ok(self.commit(name, Vec::new(), ops)?)
    }

    fn log_reader(&self, name: &str, max: u64) -> StoreResult<Box<dyn std::io::BufRead>> {
        let mut all = Vec::new();
        for (_, chunk) in self.chunks_from(name, 0, None)? {
            all.extend_from_slice(&chunk);
            if all.len() as u64 > max {
                return Err(StoreError::Failed(Error::damaged(
                    self.locate(name),
                    "it is larger than a log can be",
                )));
            }
        }
        Ok(Box::new(std::io::Cursor::new(all)))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let bytes = self.read_up_to(from, u64::MAX)?;
        self.log_replace(to, &bytes)?;
        self.shred(from)
    }

    fn snapshot(&self) -> Option<crate::store::SharedStore> {
        // At the highest revision this client has heard of: one that every
        // member serving a linearizable read has applied, and that holds
        // this client's own writes.
        let revision = self.read_at.or_else(|| self.client.revision_seen())?;
        Some(Arc::new(EtcdStore {
            client: self.client.clone(),
            prefix: self.prefix.clone(),
            address: self.address.clone(),
            // Shared: where a log ended, as read through the snapshot, is
            // what an unlocked append through the store is conditioned on.
            state: self.state.clone(),
            read_at: Some(revision),
        }))
    }

    fn read_revision(&self) -> Option<i64> {
        self.read_at
    }

    fn fingerprint(&self) -> Option<Fingerprint> {
        // What this client has heard in this command: no request of its own.
        Some(Fingerprint {
            id: self.client.cluster_id()?,
            revision: self.client.revision_seen()?,
        })
    }
}

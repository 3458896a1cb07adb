//! Where a vault's bytes live: the seam between what the vault does and where
//! it keeps it.
//!
//! The vault's logic (windows, keys, the trail, receipts) speaks to a [`Store`]
//! by object *names* (`vault.json`, `creds/REF.3.age`, `audit/audit.log`) and
//! never to a path or a key of its own. A store promises, for every name:
//! - [`Store::write`] replaces an object whole and atomically: a crash leaves
//!   the old bytes or the new, never a mix; [`Store::write_new`] does the same
//!   only where no object of that name exists;
//! - [`Store::shred`] destroys an object so that its bytes cannot be read back
//!   from the store (a missing object is already gone);
//! - a log ([`Store::log_append`]) only grows, except by [`Store::log_truncate`];
//! - [`Store::lock`] gives readers a shared hold and one writer an exclusive
//!   one, so that a writer never changes what a reader is reading.
//!
//! Both stores hold only ciphertext and the clear root: everything else is
//! sealed before it reaches a store.
//!
//! The directory store ([`dir::DirStore`]) keeps each object in a file; the
//! etcd store ([`etcd::EtcdStore`]) each object under a key of a cluster.

pub mod address;
#[cfg(test)]
mod conformance;
pub mod dir;
pub mod etcd;
pub mod fsio;

use crate::error::{Error, Location, Result};

pub use fsio::LockMode;

/// A storage failure the vault's logic acts on: typed, so that "not there" is
/// never read off an I/O error's kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No object of that name.
    #[error("{0} is missing")]
    NotFound(Location),
    /// An object of that name exists where none may.
    #[error("{0} already exists")]
    AlreadyExists(Location),
    /// What the write was conditioned on no longer holds (another writer).
    #[error("{0} changed")]
    Changed(Location),
    /// Anything else, already explained.
    #[error(transparent)]
    Failed(#[from] Error),
}

/// Shorthand for results of store calls.
pub type StoreResult<T> = std::result::Result<T, StoreError>;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(at) => Error::damaged(at, "it is missing"),
            StoreError::AlreadyExists(at) => {
                Error::damaged(at, "it exists where nothing should be")
            }
            StoreError::Changed(at) => Error::Conflict { at },
            StoreError::Failed(e) => e,
        }
    }
}

/// A condition on an unlocked append ([`Store::append_unlocked`]): object
/// `name` has not changed since instant `since` (a snapshot's
/// [`Store::read_revision`]), so that what a reader read there still stands
/// when its record lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unchanged<'a> {
    /// The object.
    pub name: &'a str,
    /// The instant it was read at.
    pub since: i64,
}

/// When a group of objects (one intervention's key and credentials) stops
/// being needed: the end of its window, as the vault's clock sees it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry<'a> {
    /// The group's name (the intervention's opaque reference).
    pub group: &'a str,
    /// When its objects may go.
    pub until: chrono::DateTime<chrono::Utc>,
    /// The vault's time now, so that the store's countdown matches the
    /// vault's clock.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// What a store did to make deleted objects unreadable from its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purge {
    /// The store keeps no history: a shredded object is gone (a directory).
    NothingKept,
    /// History compacted to `revision`, and every member defragmented.
    Done {
        /// The revision compacted to.
        revision: i64,
        /// How many members were defragmented.
        members: usize,
    },
    /// Not done now, for the reason given: a later sweep finishes it.
    Pending {
        /// Why, in words.
        why: String,
    },
}

/// Which store a vault is in and how far the store's history has gone, for a
/// store that can be put back whole behind the vault's back (an etcd cluster
/// restored from a snapshot): kept with the last generation seen, so that the
/// next opening can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    /// The store's identity (an etcd cluster's ID).
    pub id: u64,
    /// The highest revision of the store seen: in normal use it only grows,
    /// whoever writes.
    pub revision: i64,
}

/// A hold on a store's lock; released on drop.
pub trait Held: Send {
    /// How it is held.
    fn mode(&self) -> LockMode;
}

/// Where a vault's objects live. Names are relative, `/`-separated, made of
/// the vault's own characters (no `..`); a folder is a name prefix such as
/// `creds`.
pub trait Store: Send + Sync {
    /// The store as the user gives it: a directory, or a URL.
    fn address(&self) -> String;

    /// The directory the store keeps its files in, for a directory store: what
    /// only a local directory can do (a `backup verify` copy beside it).
    fn local_dir(&self) -> Option<&std::path::Path> {
        None
    }

    /// Removes marker object `name`; best effort (a marker left behind only
    /// makes the next command look for leftovers).
    fn unmark(&self, name: &str);

    /// Where object `name` is, for messages.
    fn locate(&self, name: &str) -> Location;

    /// Refuses a store that is not safe to use (a directory open to others);
    /// checks `folders` too, where they exist.
    fn check_private(&self, folders: &[&str]) -> Result<()>;

    /// Makes the store, and `folders` in it, if missing (no-op where folders
    /// are only name prefixes).
    fn create(&self, folders: &[&str]) -> Result<()>;

    /// Makes `folder` in an existing store if it is missing, checking it like
    /// [`Store::check_private`] otherwise; never makes the store itself
    /// ([`Error::NoVault`] where there is none).
    fn ensure_folder(&self, folder: &str) -> Result<()>;

    /// The bytes of object `name`, refusing more than `max`.
    fn read_up_to(&self, name: &str, max: u64) -> StoreResult<Vec<u8>>;

    /// The bytes of object `name` (at most [`fsio::MAX_FILE_BYTES`]).
    fn read(&self, name: &str) -> StoreResult<Vec<u8>> {
        self.read_up_to(name, fsio::MAX_FILE_BYTES)
    }

    /// Whether object `name` exists.
    fn exists(&self, name: &str) -> Result<bool>;

    /// Writes object `name` whole, atomically, replacing any earlier one.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<()>;

    /// Writes object `name` only if none exists ([`StoreError::AlreadyExists`]).
    fn write_new(&self, name: &str, bytes: &[u8]) -> StoreResult<()>;

    /// Destroys object `name` so that its bytes cannot be read back; a missing
    /// object counts as destroyed.
    fn shred(&self, name: &str) -> Result<()>;

    /// The names directly in `folder` (`""`: the top), empty if none.
    fn list(&self, folder: &str) -> Result<Vec<String>>;

    /// Takes lock `name`, waiting up to [`fsio::LOCK_WAIT`] ([`Error::Busy`]).
    fn lock(&self, name: &str, mode: LockMode) -> Result<Box<dyn Held>>;

    /// Takes lock `name` only if it is free right now.
    fn try_lock_now(&self, name: &str, mode: LockMode) -> Option<Box<dyn Held>>;

    /// Makes marker object `name` (empty), without waiting for it to be
    /// durable: see the change marker in the vault's opening.
    fn mark(&self, name: &str) -> Result<()>;

    /// The length of log `name` ([`StoreError::NotFound`] if there is none).
    fn log_len(&self, name: &str) -> StoreResult<u64>;

    /// `len` bytes of log `name` from `offset`.
    fn log_read(&self, name: &str, offset: u64, len: u64) -> Result<Vec<u8>>;

    /// Appends `bytes` to log `name` (made if missing) durably, where the log
    /// is `at` bytes long ([`StoreError::Changed`] if it is not: another
    /// appender went first). A write cut short is cut off again.
    fn log_append(&self, name: &str, at: u64, bytes: &[u8]) -> StoreResult<()>;

    /// Appends `bytes` to log `name` where it is `at` bytes long, for an
    /// appender that does not hold lock `lock`: lands only while no writer
    /// holds `lock` and the log is still as this store last read it (its
    /// length, through the store or a [`Store::snapshot`] of it), else
    /// [`StoreError::Changed`]: read the end again and retry. Small object
    /// `also` (a name and its bytes) is written in the same step; the append
    /// lands only if `unchanged` holds too, when given. Only a
    /// store that gives snapshots appends so; any other refuses (an internal
    /// error: its appenders take the lock).
    fn append_unlocked(
        &self,
        name: &str,
        at: u64,
        bytes: &[u8],
        lock: &str,
        also: (&str, &[u8]),
        unchanged: Option<Unchanged<'_>>,
    ) -> StoreResult<()> {
        let _ = (at, bytes, lock, also, unchanged);
        Err(StoreError::Failed(Error::Internal(format!(
            "{} cannot be appended to without its lock",
            self.locate(name)
        ))))
    }

    /// Replaces the whole of log `name` with `bytes` (pruning).
    fn log_replace(&self, name: &str, bytes: &[u8]) -> Result<()>;

    /// Cuts log `name` back to its first `len` bytes, durably.
    fn log_truncate(&self, name: &str, len: u64) -> Result<()>;

    /// A reader of the whole of log `name` (at most `max` bytes), for walks
    /// that must not hold it all in memory at once.
    fn log_reader(&self, name: &str, max: u64) -> StoreResult<Box<dyn std::io::BufRead>>;

    /// Renames object `from` to `to` (a log kept aside as evidence).
    fn rename(&self, from: &str, to: &str) -> Result<()>;

    /// Writes object `name` and appends `record` to log `log` (where it is
    /// `at` bytes long) as one change: both or neither where the store can
    /// (etcd: one transaction). A directory appends first, then writes: a
    /// record whose change did not land is followed by one that says so.
    fn write_with_log(
        &self,
        name: &str,
        bytes: &[u8],
        log: &str,
        at: u64,
        record: &[u8],
    ) -> StoreResult<()> {
        self.log_append(log, at, record)?;
        Ok(self.write(name, bytes)?)
    }

    /// Writes object `name` like [`Store::write`], as a member of `expiry`'s
    /// group: a store that can delete objects by itself at a time (etcd's
    /// leases) deletes it once `expiry.until` has passed, even when no client
    /// runs. A backstop only: the vault refuses and wipes by its own clock.
    fn write_until(&self, name: &str, bytes: &[u8], expiry: &Expiry<'_>) -> Result<()> {
        let _ = expiry;
        self.write(name, bytes)
    }

    /// Makes `expiry`'s group, and objects `names` in it, go at
    /// `expiry.until` (a window moved, or objects copied in); no-op for a
    /// store that cannot delete by itself.
    fn expire_at(&self, expiry: &Expiry<'_>, names: &[String]) -> Result<()> {
        let _ = (expiry, names);
        Ok(())
    }

    /// Deletes every object of `group` now, in one step where the store can
    /// (the wipe; the caller still shreds each object it knows of).
    fn expire_now(&self, group: &str) -> Result<()> {
        let _ = group;
        Ok(())
    }

    /// Makes what the store keeps of deleted objects unreadable (etcd:
    /// compaction of old revisions, then defragmentation of every member).
    fn purge_deleted(&self) -> Purge {
        Purge::NothingKept
    }

    /// A read-only view of the store as it is now, for a reader that would
    /// otherwise take a shared lock: every read through it sees the store at
    /// one instant (etcd: one revision, whatever writers commit meanwhile),
    /// its shared locks hold nothing, and it changes nothing (a write is an
    /// internal error). `None` where readers need the shared lock (a
    /// directory, whose writers change files in place).
    fn snapshot(&self) -> Option<SharedStore> {
        None
    }

    /// For a snapshot: the instant it reads at, as the store counts them
    /// (etcd: its revision); `None` for the store itself.
    fn read_revision(&self) -> Option<i64> {
        None
    }

    /// Which store this is and the highest revision of it seen so far in this
    /// command; `None` where the vault's own generation says it all (a
    /// directory).
    fn fingerprint(&self) -> Option<Fingerprint> {
        None
    }
}

/// A store shared by the parts of one command (the opening, the trail, the
/// key store).
pub type SharedStore = std::sync::Arc<dyn Store>;

/// The file name part of a name (`creds/x.1.age` -> `x.1.age`).
pub fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// `folder/name`, or `name` at the top.
pub fn join(folder: &str, name: &str) -> String {
    match folder {
        "" => name.to_owned(),
        folder => format!("{folder}/{name}"),
    }
}

/// The store at `address`: a directory, or an etcd cluster reached over
/// `tls` (plain only to loopback endpoints, which the caller has checked),
/// each request bounded by `timeout`. Nothing is read yet.
pub fn open(
    address: &address::Address,
    tls: Option<&address::TlsFiles>,
    timeout: std::time::Duration,
) -> Result<SharedStore> {
    match address {
        address::Address::Dir(dir) => Ok(std::sync::Arc::new(dir::DirStore::new(dir))),
        address::Address::Etcd(etcd) => {
            let config = etcd::client::EtcdConfig {
                endpoints: etcd.endpoints.clone(),
                tls: tls.map(|t| etcd::client::TlsFiles {
                    ca: t.ca.clone(),
                    cert: t.cert.clone(),
                    key: t.key.clone(),
                }),
                timeout,
            };
            let shown = address.to_string();
            let client =
                etcd::client::Client::connect(&config).map_err(|e| etcd::failure(&shown, e))?;
            Ok(std::sync::Arc::new(etcd::EtcdStore::new(
                client,
                &etcd.prefix,
                shown,
            )))
        }
    }
}

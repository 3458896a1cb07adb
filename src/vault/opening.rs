//! Opening a vault: lock, clear root, keyless expiry, unlock, commit.
//!
//! Words: an *unlocking* ([`Unlocked`], from [`Vault::unlocked`]) is one
//! command's hold on the vault, lock, keys and index, until it commits; a
//! *session* is only ever the keyring unlock of `intervault unlock`
//! ([`crate::session_store`]).

use std::collections::{HashMap, HashSet};

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, TimeDelta, Utc};

use crate::crypto::seal::{open_with, seal_to};
use crate::crypto::{KdfParams, OpenError, PassphraseKey, SealKey, SecretText, WrapKey};
use crate::error::{Error, Result};
use crate::intervention::WipeReason;
use crate::wipe::{Tombstone, WipeRecord};

use super::format::{
    check_history, decode_salt, parse_core, parse_credential_set, parse_history, parse_index,
    parse_master_plain, parse_record, parse_root, to_plain_json, Core, CredentialSet, ExpiryEntry,
    History, Index, InterventionMeta, KdfHeader, Listed, Loaded, MasterPlain, PendingKey, Record,
    Ref, RootFile, SweptEntry, FORMAT_VERSION, SALT_BYTES,
};
use super::fsio;
use super::keystore::{Destruction, FileKeyStore, KeyStore, KeyringKeyStore};
use super::layout;
use super::rollback::{self, Seen, SeenStore};
use super::trail::line::Pending;
use super::trail::{Trail, TrailKeys};
use super::{Interaction, Notice, PassphrasePurpose, Vault};
use crate::audit::{Action, Event};
use crate::error::Location;
use crate::store::{self, Expiry, Held, LockMode, Purge, SharedStore, Store, StoreError};

/// How far a keyless wipe's clear time may lie ahead of the next unlock's clock
/// (a clock set back a little in between) before it counts as forged.
const CLOCK_LEEWAY: TimeDelta = TimeDelta::minutes(2);

/// How stale the high-water mark may get before a read-only command refreshes it.
const HIGH_WATER_REFRESH: TimeDelta = TimeDelta::seconds(60);

/// Where intervention keys live: files in the vault's store, or the OS
/// keyring when `root` says so.
pub(super) fn key_store(store: &SharedStore, root: &RootFile) -> Box<dyn KeyStore> {
    match &root.key_store {
        Some(config) => Box::new(KeyringKeyStore::new(config)),
        None => Box::new(FileKeyStore::new(store.clone())),
    }
}

/// The clear root's bytes; a store without one holds no vault.
pub(super) fn read_root(store: &dyn Store) -> Result<Vec<u8>> {
    match store.read(layout::ROOT) {
        Err(StoreError::NotFound(_)) => Err(super::migrate::no_vault(store)),
        Ok(bytes) => super::migrate::refuse_moved(store, bytes),
        Err(e) => Err(e.into()),
    }
}

/// How many times a reading command starts again when a writer changed
/// what it read (see [`Vault::read_again`]).
pub(super) const READ_AGAIN: u32 = 3;

/// Whether `e` says another command changed the vault while this one read
/// it (nothing done by this one), recorded or not.
pub(super) fn is_conflict(e: &Error) -> bool {
    match e {
        Error::Conflict { .. } => true,
        Error::NotRecorded(cause) => is_conflict(cause),
        _ => false,
    }
}

/// What of the index a command reads at unlock; more is read when it turns out
/// to be needed (a refusal that names a tombstone, a client's name to scrub).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope<'a> {
    /// Everything: the commands that look at every intervention.
    All,
    /// The core and the record of one intervention: fetches and small changes.
    One(&'a str),
    /// The core alone.
    Core,
}

/// Whether a command only reads or also writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

/// The marker of a change in progress ([`layout::CHANGING`]).
///
/// Every command that takes the exclusive lock makes it first and removes it
/// when its change is settled (every file it made obsolete shredded). A command
/// that finds it knows that a change was interrupted, and collects what that
/// change left behind; without it, a command on one intervention need not list
/// every directory of the vault. It is not synced on its own: the commit's sync
/// of the vault directory makes it durable before any old file is shredded.
/// (New files of a change cut off by a power loss before its commit may outlive
/// the marker; the commands that read every intervention collect them.)
const CHANGING: &str = layout::CHANGING;

/// The vault with its lock held and its clear root read; ended interventions have
/// been wiped if the lock is exclusive.
pub(super) struct Handle {
    /// What the vault is read from: under a shared lock, a snapshot of the
    /// store where it gives one (see [`Store::snapshot`]), else the store.
    pub store: SharedStore,
    /// The store itself, for what a reader writes (the trail) or locks next.
    pub live: SharedStore,
    /// Whether `store` is a snapshot: nothing held, nothing to collect.
    pub snapshot: bool,
    /// Whether this command holds the change marker ([`CHANGING`]).
    marked: bool,
    /// Whether a change was interrupted before this command (the marker was there).
    pub interrupted: bool,
    /// Whether something may be left to collect: the marker then stays.
    pub uncollected: std::cell::Cell<bool>,
    /// Whether this command collected the leftovers it can see without the key.
    leftovers_collected: bool,
    pub lock: Box<dyn Held>,
    pub root: RootFile,
    pub root_bytes: Vec<u8>,
    pub now: DateTime<Utc>,
    /// Wipes done by this command, before unlocking.
    pub swept_now: Vec<SweptEntry>,
    /// Key destructions left pending by an earlier command that this one
    /// finished (to say so).
    pub keys_finished: Vec<PendingKey>,
    /// Whether wipes reach the managed backups (not in a copy being checked).
    pub upkeep_backups: bool,
    /// What this command did to the store's history after a wipe, if it
    /// tried (see [`Handle::purge_history`]).
    pub purged: Option<Purge>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Runs before the lock is released (fields drop after this).
        if self.marked && !self.uncollected.get() {
            self.store.unmark(CHANGING);
        }
    }
}

impl Handle {
    /// A handle on a vault whose lock is held, with its root read; makes the
    /// change marker when the lock is exclusive.
    fn new(
        (store, live): (SharedStore, SharedStore),
        lock: Box<dyn Held>,
        root_read: (RootFile, Vec<u8>),
        now: DateTime<Utc>,
        upkeep_backups: bool,
    ) -> Result<Self> {
        let interrupted = store.exists(CHANGING)?;
        let marked = lock.mode() == LockMode::Exclusive;
        if marked && !interrupted {
            store.mark(CHANGING)?;
        }
        let (root, root_bytes) = root_read;
        Ok(Handle {
            snapshot: !std::sync::Arc::ptr_eq(&store, &live),
            store,
            live,
            marked,
            interrupted,
            uncollected: std::cell::Cell::new(interrupted),
            leftovers_collected: false,
            lock,
            root,
            root_bytes,
            now,
            swept_now: Vec::new(),
            keys_finished: Vec::new(),
            upkeep_backups,
            purged: None,
        })
    }

    /// Notes the outcome of best-effort cleaning: a failure leaves the marker.
    pub(super) fn cleaned<T, E>(&self, outcome: std::result::Result<T, E>) {
        if outcome.is_err() {
            self.uncollected.set(true);
        }
    }
}

/// Objects written or made obsolete by the change in progress.
#[derive(Default)]
struct Txn {
    written: Vec<String>,
    written_keys: Vec<Ref>,
    obsolete_files: Vec<String>,
    obsolete_keys: Vec<Ref>,
}

/// The vault unlocked: master key and index in memory, changes pending.
pub(super) struct Unlocked<'v> {
    pub h: Handle,
    pub master: SealKey,
    /// Seals the index's files (derived from the master key).
    index_key: WrapKey,
    pub index: Index,
    pub keys: Box<dyn KeyStore>,
    txn: Txn,
    /// What the cross-check of the clear root against the sealed index found
    /// (an intervention wiped before its sealed window ended, a reference the
    /// index does not know), reported as tampering once the facts are committed.
    pub tampering: Vec<String>,
    /// Live interventions the clear expiry table dropped: wiped as tampered.
    dropped_from_clear: HashSet<Ref>,
    /// The audit trail, and the keys to write it.
    pub trail: Trail,
    pub trail_keys: TrailKeys,
    /// Events of the unlock itself (tombstones pruned), recorded with the next.
    pub owed: Vec<Event>,
    /// Keyless wipes folded in at unlock, until the trail records them.
    pub unrecorded_wipes: Vec<Ref>,
    /// Whether the unlock changed the index (so a reader must commit it).
    pub changed_at_unlock: bool,
    /// The time retention counts from in this command (see
    /// [`Index::retention_clock`]).
    pub retention_now: DateTime<Utc>,
    /// The last audit record this command wrote: number and hash.
    pub last_record: Option<(u64, String)>,
    /// Where the last generation seen is kept, what it said, and the wipes of
    /// this change (kept there at commit).
    pub seen_store: SeenStore<'v>,
    pub seen: Seen,
    pub new_wipes: Vec<(Ref, WipeReason)>,
    /// Audit records to write in the same store transaction as the root of
    /// the change being committed (see [`Unlocked::record_and_commit`]).
    pub staged_record: Option<super::trail::Staged>,
}

impl Drop for Unlocked<'_> {
    fn drop(&mut self) {
        // A change that did not commit must leave the vault as it was: remove the
        // files it wrote (they hold ciphertext only, but they are not the old state).
        for name in self.txn.written.drain(..) {
            self.h.cleaned(self.h.store.shred(&name));
        }
        for r in self.txn.written_keys.drain(..) {
            self.h.cleaned(self.keys.destroy(&r));
        }
    }
}

impl Unlocked<'_> {
    /// On an older copy accepted with `--accept-rollback`: wipes again every live
    /// intervention that was wiped since, and takes the generation up to what
    /// was seen; says whether it did anything. The caller commits.
    pub(super) fn accept_rollback(&mut self) -> Result<bool> {
        if !rollback::put_back(&self.seen, self.index.generation) {
            return Ok(false);
        }
        self.read_everything()?;
        let again = rollback::wiped_since(&self.index, &self.seen);
        for (id, reason) in &again {
            if let Ok(pos) = self.live(id) {
                self.wipe(pos, *reason)?;
            }
        }
        self.owed.push(rollback::acceptance_event(
            self.index.generation,
            &self.seen,
            again.len(),
        ));
        self.index.generation = self.index.generation.max(self.seen.generation);
        Ok(true)
    }

    /// After a commit: keeps the new generation, and what it wiped, outside the
    /// vault.
    pub(super) fn remember_generation(&mut self) {
        let seen = std::mem::take(&mut self.seen);
        let wipes = std::mem::take(&mut self.new_wipes);
        let store = self.h.store.fingerprint();
        self.seen = rollback::seen_after(seen, self.index.generation, store, wipes);
        self.seen_store.save(&self.master, &self.seen);
    }
}

/// The index as this command's last unlocking read it (before any change),
/// with the root it was read from.
pub(super) struct CachedIndex {
    root_bytes: Vec<u8>,
    root: RootFile,
    index: Index,
}

/// The master key unwrapped during this command, with what it was unwrapped from.
pub(super) struct CachedMaster {
    kdf: KdfHeader,
    master_key: String,
    master: SealKey,
}

impl Vault<'_> {
    /// Opens the vault for a command: lock, read the root, wipe what has ended.
    /// `keyed` says the command will unlock, so pending keyless wipes can be
    /// folded into tombstones (which needs the exclusive lock). `full` says it
    /// reads every intervention anyway, so it also collects what a change may
    /// have left behind even without the marker of an interrupted one.
    pub(super) fn handle(&self, mode: LockMode, keyed: bool, full: bool) -> Result<Handle> {
        let store = &self.store;
        if !store.exists(layout::ROOT)? {
            return Err(super::migrate::no_vault(store.as_ref()));
        }
        store.check_private(&[layout::KEYS, layout::CREDS, layout::RECORDS])?;
        let mut mode = mode;
        let mut collecting = false;
        loop {
            // A reader reads a snapshot where the store gives one, and then
            // holds nothing that a writer waits for; unless it has leftovers
            // of an interrupted change to collect, which needs the lock.
            let snapshot = match mode {
                LockMode::Shared if !collecting => store.snapshot(),
                _ => None,
            };
            let reading = snapshot.unwrap_or_else(|| store.clone());
            let lock = reading.lock(layout::LOCK, mode)?;
            let root_bytes = read_root(reading.as_ref())?;
            let root = match self.cached_root(&root_bytes) {
                Some(root) => root,
                None => parse_root(&store.locate(layout::ROOT), &root_bytes)?,
            };
            let now = self.clock.now();
            let has_ended = root.expiry.iter().any(|e| e.until <= now);
            // A pending key destruction is retried by every command: one that
            // can reach the key finishes it and must record that.
            let needs_write =
                has_ended || (keyed && !root.swept.is_empty()) || !root.keys_pending.is_empty();
            if needs_write && mode == LockMode::Shared {
                drop(lock);
                mode = LockMode::Exclusive;
                continue;
            }
            let mut h = Handle::new(
                (reading, store.clone()),
                lock,
                (root, root_bytes),
                now,
                self.upkeep_backups,
            )?;
            if h.snapshot && h.interrupted {
                drop(h);
                collecting = true;
                continue;
            }
            if mode == LockMode::Exclusive {
                h.expire_without_key()?;
                h.finish_pending_keys()?;
            }
            // Any lock held means no writer is mid-change, so whatever a crashed
            // writer left behind can go, even under a shared lock. Best effort:
            // what cannot go now is tried again by every later command (the
            // marker stays).
            if (h.interrupted || full) && !h.snapshot {
                let collected = h.collect_leftovers();
                h.leftovers_collected = collected.is_ok();
                h.cleaned(collected);
            }
            return Ok(h);
        }
    }

    /// Opens and unlocks the vault for a keyed command, telling `ui` of the wipes
    /// this command did. A reader that had to take the exclusive lock (to fold in
    /// wipes) commits at once, so the read itself starts from a settled vault.
    ///
    /// The lock is never held while the user types: the vault is opened once to
    /// wipe what has ended and to read the KDF header, released during the prompt
    /// and the key derivation, then opened again. The unwrapped master key is kept
    /// for the rest of the command, so a second unlocking does not prompt again.
    pub(super) fn unlocked(
        &self,
        ui: &mut dyn Interaction,
        access: Access,
    ) -> Result<Unlocked<'_>> {
        self.unlocked_in_scope(ui, access, Scope::All)
    }

    /// [`Vault::unlocked`] for a command on intervention `id` alone: the core and
    /// that intervention's record are read, the rest only if needed.
    pub(super) fn unlocked_for(
        &self,
        ui: &mut dyn Interaction,
        access: Access,
        id: &str,
    ) -> Result<Unlocked<'_>> {
        self.unlocked_in_scope(ui, access, Scope::One(id))
    }

    pub(super) fn unlocked_in_scope(
        &self,
        ui: &mut dyn Interaction,
        access: Access,
        scope: Scope<'_>,
    ) -> Result<Unlocked<'_>> {
        let mode = match access {
            Access::Read => LockMode::Shared,
            Access::Write => LockMode::Exclusive,
        };
        self.unlocked_in(ui, access, mode, scope)
    }

    fn unlocked_in(
        &self,
        ui: &mut dyn Interaction,
        access: Access,
        mode: LockMode,
        scope: Scope<'_>,
    ) -> Result<Unlocked<'_>> {
        let full = scope == Scope::All;
        let mut h = self.handle(mode, true, full)?;
        let master = match self.known_master(&h.root, h.now) {
            Some(master) => master,
            None => {
                let first_root = h.root.clone();
                let mut swept = std::mem::take(&mut h.swept_now);
                let mut finished = std::mem::take(&mut h.keys_finished);
                drop(h);
                let passphrase = match ui.passphrase(PassphrasePurpose::Unlock) {
                    Ok(p) => p,
                    Err(e) => {
                        notify_keyless(ui, &swept);
                        return Err(self.explain_missing_passphrase(e));
                    }
                };
                let root_at = self.store.locate(layout::ROOT);
                let master = match open_master(&root_at, &first_root, &passphrase) {
                    Ok(master) => master,
                    Err(e) => {
                        self.note_failed_passphrase(&e);
                        notify_keyless(ui, &swept);
                        return Err(e);
                    }
                };
                self.remember_master(&first_root, &master);
                h = match self.handle(mode, true, full) {
                    Ok(h) => h,
                    Err(e) => {
                        notify_keyless(ui, &swept);
                        return Err(e);
                    }
                };
                swept.append(&mut h.swept_now);
                h.swept_now = swept;
                finished.append(&mut h.keys_finished);
                h.keys_finished = finished;
                match self.cached_master(&h.root) {
                    Some(master) => master,
                    // The passphrase changed while we were prompting: derive again.
                    None => match open_master(&root_at, &h.root, &passphrase) {
                        Ok(master) => {
                            self.remember_master(&h.root, &master);
                            master
                        }
                        Err(e) => {
                            self.note_failed_passphrase(&e);
                            notify_keyless(ui, &h.swept_now);
                            return Err(e);
                        }
                    },
                }
            }
        };
        let cache = Some(&self.index_cache);
        let (mut u, completed) = match unlock_handle(h, master, self.seen_store(), scope, cache) {
            Ok(done) => done,
            Err((swept, e)) => {
                notify_keyless(ui, &swept);
                return Err(e);
            }
        };
        for t in completed {
            if u.h.swept_now.iter().any(|s| s.reference == t.reference) {
                ui.notice(Notice::Expired(t.into()));
            }
        }
        let keys_to_tell = !u.h.keys_finished.is_empty() || !u.h.root.keys_pending.is_empty();
        if keys_to_tell && !self.keys_told.replace(true) {
            // Once per command (`add` opens the vault twice).
            notify_keys(ui, &u.h);
        }
        let exclusive = u.h.lock.mode() == LockMode::Exclusive;
        if u.changed_at_unlock && !exclusive {
            // The unlock changed the index (a client's first pseudonym key, pruned
            // tombstones): commit that first, under the exclusive lock.
            drop(u);
            return self.unlocked_in(ui, access, LockMode::Exclusive, scope);
        }
        u.settle_leftovers(full);
        // Complete what keyless commands recorded, before anything else happens.
        // A reader goes on if it cannot: it delivers nothing by itself, and what
        // it fetches is recorded (or refused) on its own. A writer stops.
        if let Err(e) = u.record(Vec::new()) {
            if access == Access::Write && !self.restarting_trail.get() {
                return Err(e);
            }
        }
        if exclusive && (access == Access::Read || u.changed_at_unlock) {
            u.commit()?;
        }
        u.report_tampering()?;
        Ok(u)
    }

    /// Runs a reading command again, from the vault as it is now, when a
    /// writer changed what its snapshot read (a wipe compacted it away, or a
    /// fetch found the vault changed before its record): at most
    /// [`READ_AGAIN`] more times. A conflict tells that nothing was done.
    pub(super) fn read_again<T>(&self, mut read: impl FnMut() -> Result<T>) -> Result<T> {
        let mut again = 0;
        loop {
            match read() {
                Err(e) if is_conflict(&e) && again < READ_AGAIN => again += 1,
                done => return done,
            }
        }
    }

    /// Keeps what `u` read for the next unlocking of this command (`add`
    /// checks, asks for the secret, then opens the vault again): if nobody writes
    /// in between, the next one reads neither the root nor the index again. `u`
    /// must not hold uncommitted changes.
    pub(super) fn keep_for_reuse(&self, mut u: Unlocked<'_>) {
        let index = std::mem::replace(&mut u.index, Index::placeholder());
        *self.index_cache.borrow_mut() = Some(CachedIndex {
            root_bytes: std::mem::take(&mut u.h.root_bytes),
            root: u.h.root.clone(),
            index,
        });
    }

    /// The root as this command's last unlocking parsed it, if `root_bytes` are
    /// still what it read.
    fn cached_root(&self, root_bytes: &[u8]) -> Option<RootFile> {
        let cache = self.index_cache.borrow();
        let c = cache.as_ref().filter(|c| c.root_bytes == root_bytes)?;
        Some(c.root.clone())
    }

    /// The master key without asking: unwrapped earlier in this command, or kept
    /// by an unlocked session (the contract's first passphrase source).
    fn known_master(&self, root: &RootFile, now: DateTime<Utc>) -> Option<SealKey> {
        self.cached_master(root).or_else(|| {
            let master = self.session_master(root, now)?;
            self.remember_master(root, &master);
            Some(master)
        })
    }

    /// The master key unwrapped earlier in this command, if the root still wraps
    /// it the same way (same header, same wrapped key).
    fn cached_master(&self, root: &RootFile) -> Option<SealKey> {
        self.master_cache
            .borrow()
            .as_ref()
            .filter(|c| c.kdf == root.kdf && c.master_key == root.master_key)
            .map(|c| c.master.clone())
    }

    pub(super) fn remember_master(&self, root: &RootFile, master: &SealKey) {
        *self.master_cache.borrow_mut() = Some(CachedMaster {
            kdf: root.kdf.clone(),
            master_key: root.master_key.clone(),
            master: master.clone(),
        });
    }

    /// After a read under the shared lock: moves the high-water mark forward when
    /// it is stale, if the exclusive lock is free right now and nobody wrote since.
    /// Best effort by design: the read has succeeded, and a busy vault must not
    /// make it wait.
    pub(super) fn after_read(&self, u: Unlocked<'_>) {
        if u.h.lock.mode() == LockMode::Exclusive
            || u.index.high_water + HIGH_WATER_REFRESH >= u.h.now
        {
            return;
        }
        let (store, before, master) = (u.h.live.clone(), u.h.root_bytes.clone(), u.master.clone());
        drop(u); // releases the shared lock
        let Some(lock) = store.try_lock_now(layout::LOCK, LockMode::Exclusive) else {
            return;
        };
        let Ok(root_bytes) = store.read(layout::ROOT) else {
            return;
        };
        if root_bytes != before {
            return;
        }
        let Ok(root) = parse_root(&store.locate(layout::ROOT), &root_bytes) else {
            return;
        };
        let Ok(h) = Handle::new(
            (store.clone(), store),
            lock,
            (root, root_bytes),
            self.clock.now(),
            self.upkeep_backups,
        ) else {
            return;
        };
        if h.interrupted {
            // Someone else's interrupted change: leave it to a full command.
            return;
        }
        if let Ok((mut u, _)) = unlock_handle(h, master, self.seen_store(), Scope::Core, None) {
            if u.record(Vec::new()).is_ok() {
                let _ = u.commit();
            }
        }
    }
}

/// Tells of the key destructions this command finished, and of those still
/// pending.
pub(super) fn notify_keys(ui: &mut dyn Interaction, h: &Handle) {
    for p in &h.keys_finished {
        ui.notice(Notice::KeyDestroyed {
            reference: p.reference.clone(),
            since: p.since,
        });
    }
    if let Some(since) = h.root.keys_pending.iter().map(|p| p.since).min() {
        ui.notice(Notice::KeysPending {
            count: h.root.keys_pending.len(),
            since,
        });
    }
}

fn notify_keyless(ui: &mut dyn Interaction, swept: &[SweptEntry]) {
    for s in swept {
        ui.notice(Notice::Expired(WipeRecord {
            reference: s.reference.clone(),
            reason: WipeReason::Expired,
            wiped_at: s.wiped_at,
            tombstone: None,
            key_pending: false,
        }));
    }
}

/// Derives the passphrase key for a KDF header.
pub(super) fn passphrase_key(
    path: &Location,
    kdf: &KdfHeader,
    passphrase: &SecretText,
) -> Result<PassphraseKey> {
    let salt = decode_salt(path, kdf)?;
    let kek = kdf
        .params
        .derive(passphrase, &salt)
        .map_err(|e| e.into_error(path))?;
    Ok(PassphraseKey::new(kek))
}

/// Seals the master key under a passphrase, with the header repeated inside.
pub(super) fn seal_master(
    path: &Location,
    kdf: &KdfHeader,
    master: &SealKey,
    passphrase: &SecretText,
) -> Result<String> {
    let key = passphrase_key(path, kdf, passphrase)?;
    let plain = to_plain_json(&MasterPlain {
        version: FORMAT_VERSION,
        kdf: kdf.clone(),
        identity: master.to_secret(),
    });
    let sealed = crate::crypto::seal::seal_to(&key, &plain).map_err(Error::Internal)?;
    Ok(STANDARD.encode(sealed))
}

/// A new KDF header with a fresh salt.
pub(super) fn new_kdf_header(params: KdfParams) -> KdfHeader {
    KdfHeader {
        algorithm: "argon2id".into(),
        params,
        salt: STANDARD.encode(crate::crypto::random_bytes::<SALT_BYTES>()),
    }
}

/// Seals a plaintext with the index key, as base64 (the index core in `vault.json`).
pub(super) fn seal_base64<T: serde::Serialize>(key: &WrapKey, value: &T) -> Result<String> {
    let plain = to_plain_json(value);
    seal_to(key, &plain)
        .map(|sealed| STANDARD.encode(sealed))
        .map_err(Error::Internal)
}

/// Unwraps the master key with the passphrase and checks the clear header
/// against its sealed copy.
pub(super) fn open_master(
    path: &Location,
    root: &RootFile,
    passphrase: &SecretText,
) -> Result<SealKey> {
    let key = passphrase_key(path, &root.kdf, passphrase)?;
    let blob = STANDARD
        .decode(&root.master_key)
        .map_err(|_| Error::damaged(path.clone(), "the master key is not valid base64"))?;
    let plain = open_with(&key, &blob).map_err(|e| match e {
        OpenError::WrongKey => Error::WrongPassphrase,
        OpenError::Corrupt(what) => Error::damaged(path.clone(), format!("the master key {what}")),
    })?;
    let master_plain =
        parse_master_plain(&plain).map_err(|what| Error::damaged(path.clone(), what))?;
    // The master key keeps the version that sealed it: a vault moved up to a
    // newer version keeps its master key until the passphrase changes.
    if master_plain.version > root.version || master_plain.kdf != root.kdf {
        return Err(Error::damaged(
            path.clone(),
            "the clear header was altered (it does not match its sealed copy)",
        ));
    }
    SealKey::from_secret(&master_plain.identity)
        .ok_or_else(|| Error::damaged(path.clone(), "the master key is malformed"))
}

/// Opens the index with the master key, reading what `scope` needs; also folds
/// keyless wipes into tombstones.
/// On failure the keyless wipes come back so the caller can still report them.
pub(super) fn unlock_handle<'v>(
    mut h: Handle,
    master: SealKey,
    seen_store: SeenStore<'v>,
    scope: Scope<'_>,
    cache: Option<&std::cell::RefCell<Option<CachedIndex>>>,
) -> std::result::Result<(Unlocked<'v>, Vec<Tombstone>), (Vec<SweptEntry>, Error)> {
    // Derived once: it opens the core now, and the records and history later.
    let index_key = WrapKey::index(&master);
    let mut tampering = Vec::new();
    let mut forced = HashSet::new();
    // The same root read earlier in this command: the index is what was read then.
    let cached = cache
        .and_then(|c| c.borrow_mut().take())
        .filter(|c| c.root_bytes == h.root_bytes)
        .map(|c| c.index);
    let opened = match cached {
        Some(index) => Ok(index),
        None => open_index(&h, &master, &index_key),
    };
    let checked = opened.and_then(|index| {
        tampering.extend(repair_clear_config(&mut h, &index));
        let (findings, dropped) = clear_table_findings(&h, &index);
        tampering.extend(findings);
        // Folded in as keyless wipes, judged tampered whatever the clock says.
        for reference in dropped {
            h.root.swept.push(SweptEntry {
                reference: reference.clone(),
                wiped_at: h.now,
            });
            forced.insert(reference);
        }
        let mut seen = seen_store.load(&master)?;
        let store = h.store.fingerprint();
        rollback::check(
            &mut seen,
            index.generation,
            store,
            seen_store.accept_rollback,
        )?;
        Ok((index, seen))
    });
    let (index, seen) = match checked {
        Ok(done) => done,
        Err(e) => return Err((std::mem::take(&mut h.swept_now), e)),
    };
    let keys = key_store(&h.store, &h.root);
    let trail = Trail::new(h.live.clone());
    let trail_keys = TrailKeys::new(&master);
    let mut u = Unlocked {
        h,
        index_key,
        master,
        index,
        keys,
        txn: Txn::default(),
        tampering,
        dropped_from_clear: forced,
        trail,
        trail_keys,
        owed: Vec::new(),
        unrecorded_wipes: Vec::new(),
        changed_at_unlock: false,
        last_record: None,
        retention_now: DateTime::<Utc>::MIN_UTC,
        seen_store,
        seen,
        new_wipes: Vec::new(),
        staged_record: None,
    };
    if let Err(e) = u.read_for(scope) {
        return Err((std::mem::take(&mut u.h.swept_now), e));
    }

    let completed = match u.complete_keyless_wipes() {
        Ok(completed) => completed,
        Err(e) => return Err((std::mem::take(&mut u.h.swept_now), e)),
    };
    let rolled_back = match u.accept_rollback() {
        Ok(rolled_back) => rolled_back,
        Err(e) => return Err((std::mem::take(&mut u.h.swept_now), e)),
    };
    u.unrecorded_wipes = completed.iter().map(|t| t.reference.clone()).collect();
    // Client keys for clients that have none (vaults from before pseudonyms):
    // only when every client is in memory.
    let keyed = u.index.loaded.has_everything() && u.index.ensure_client_keys();
    u.retention_now = super::retention::retention_now(&u.index, u.h.now);
    if let Some(jump) = super::retention::clock_jump(&u.index, u.h.now) {
        u.owed.push(jump);
    }
    let pruned = match u.prune_tombstones() {
        Ok(pruned) => pruned,
        Err(e) => return Err((std::mem::take(&mut u.h.swept_now), e)),
    };
    let migrating = u.index.loaded.from_v1;
    if let Err(e) = u.check_pending_keys() {
        return Err((std::mem::take(&mut u.h.swept_now), e));
    }
    u.changed_at_unlock = !completed.is_empty()
        || keyed
        || pruned
        || rolled_back
        || migrating
        || !u.tampering.is_empty();
    Ok((u, completed))
}

/// Opens the index: all of a version 1 index, the core of a version 2 one.
fn open_index(h: &Handle, master: &SealKey, index_key: &WrapKey) -> Result<Index> {
    let path = &h.store.locate(layout::ROOT);
    let blob = STANDARD
        .decode(&h.root.index)
        .map_err(|_| Error::damaged(path, "the index is not valid base64"))?;
    // Version 1 sealed its index to the master key; version 2, with the index key.
    let opened = match h.root.version {
        1 => master.open(&blob),
        _ => open_with(index_key, &blob),
    };
    let plain = opened.map_err(|e| match e {
        OpenError::WrongKey => Error::damaged(path, "the index was not sealed by this vault"),
        OpenError::Corrupt(what) => Error::damaged(path, format!("the index {what}")),
    })?;
    if h.root.version == 1 {
        let mut index = parse_index(&plain).map_err(|what| Error::damaged(path, what))?;
        index.loaded.live = index.interventions.iter().map(|m| listed(m, 0)).collect();
        index.loaded.from_v1 = true;
        return Ok(index);
    }
    let core = parse_core(&plain).map_err(|what| Error::damaged(path, what))?;
    Ok(Index {
        high_water: core.high_water,
        retention_clock: core.retention_clock,
        interventions: Vec::new(),
        tombstones: Vec::new(),
        clients: Vec::new(),
        retention: core.retention,
        audit_seq: core.audit_seq,
        audit_hash: core.audit_hash,
        generation: core.generation,
        backups: core.backups,
        key_store: core.key_store,
        loaded: Loaded {
            live: core.live,
            history_gen: core.history,
            oldest_tombstone: core.oldest_tombstone,
            ..Loaded::default()
        },
    })
}

/// How the core lists intervention `m`, whose record is generation `record`.
fn listed(m: &InterventionMeta, record: u64) -> Listed {
    Listed {
        id: m.id.clone(),
        reference: m.reference.clone(),
        until: m.window.until,
        record,
        creds: m.creds_gen,
    }
}

/// The clear copies of the key store and of the managed backup directories must
/// be the sealed ones: keyless commands act on them (where keys are destroyed,
/// which backups are rewritten or deleted). An altered copy is put back from the
/// sealed index (the commit writes it) and reported; the keys of interventions
/// wiped keylessly under an altered key store are destroyed again, in the real
/// one (a file store finds nothing to destroy where the keyring holds the key).
fn repair_clear_config(h: &mut Handle, index: &Index) -> Vec<String> {
    let mut findings = Vec::new();
    if h.root.key_store != index.key_store {
        findings.push(
            "the key store was altered (put back from the sealed index; the keys of keyless wipes are destroyed again)"
                .to_owned(),
        );
        h.root.key_store = index.key_store.clone();
        let swept: Vec<Ref> = h.root.swept.iter().map(|s| s.reference.clone()).collect();
        h.expect_key_destruction(&swept);
        if h.root.key_store.is_none() {
            h.root.keys_pending.clear();
        }
    }
    if h.root.backups != index.backups {
        findings.push(
            "the backup directories or their retention were altered (put back from the sealed index)"
                .to_owned(),
        );
        h.root.backups = index.backups.clone();
    }
    findings
}

/// What the clear tables that drive keyless decisions say that the sealed index
/// does not: the expiry table must list exactly the live interventions with
/// their sealed window ends (a keyless wipe folds in at unlock), and a pending
/// key destruction may only name a wiped intervention. Gives the findings (for
/// the tampering report) and the live interventions the clear tables dropped,
/// whose keys a keyless command may already have destroyed.
fn clear_table_findings(h: &Handle, index: &Index) -> (Vec<String>, Vec<Ref>) {
    let mut findings = Vec::new();
    // Maps, not a scan per entry: this runs at every unlock of vaults of any size.
    let sealed: HashMap<&Ref, DateTime<Utc>> = (index.loaded.live.iter())
        .map(|l| (&l.reference, l.until))
        .collect();
    for e in &h.root.expiry {
        match sealed.get(&e.reference) {
            Some(until) if *until == e.until => {}
            Some(_) => findings.push(format!(
                "the expiry table gives '{}' another window end than the sealed index (rewritten from it)",
                e.reference
            )),
            None => findings.push(format!(
                "the expiry table names '{}', which the sealed index does not know (removed)",
                e.reference
            )),
        }
    }
    let listed: HashSet<&Ref> = (h.root.expiry.iter().map(|e| &e.reference))
        .chain(h.root.swept.iter().map(|s| &s.reference))
        .collect();
    let mut dropped: Vec<Ref> = (sealed.keys())
        .filter(|r| !listed.contains(*r))
        .map(|r| (*r).clone())
        .collect();
    dropped.sort();
    for r in &dropped {
        findings.push(format!(
            "the expiry table no longer lists live intervention '{r}', so a keyless command may have destroyed its key (its tombstone says 'tampered')"
        ));
    }
    (findings, dropped)
}

impl Handle {
    /// Wipes every intervention whose window has ended, knowing only the clear
    /// expiry table: the root first records the wipe, then keys and credentials
    /// are destroyed (a crash in between leaves files the next open collects).
    fn expire_without_key(&mut self) -> Result<()> {
        let now = self.now;
        let (ended, live): (Vec<ExpiryEntry>, Vec<ExpiryEntry>) =
            self.root.expiry.drain(..).partition(|e| e.until <= now);
        self.root.expiry = live;
        if ended.is_empty() {
            return Ok(());
        }
        let swept: Vec<SweptEntry> = ended
            .into_iter()
            .map(|e| SweptEntry {
                reference: e.reference,
                wiped_at: now,
            })
            .collect();
        self.root.swept.extend(swept.iter().cloned());
        let wiped: Vec<Ref> = swept.iter().map(|s| s.reference.clone()).collect();
        self.expect_key_destruction(&wiped);
        self.write_root()?;
        // The root now records the wipe: it has happened. A file that cannot be
        // destroyed now is a leftover the next command collects (as after a
        // commit), and must not turn the wipe into a failure that nobody hears of.
        // One listing of creds/ for all of them, not one per wipe.
        let creds = self.store.list(layout::CREDS).unwrap_or_default();
        let mut outcomes = Vec::new();
        for s in &swept {
            // Every object on the intervention's store expiry goes at once.
            self.cleaned(self.store.expire_now(s.reference.as_str()));
        }
        for s in &swept {
            match self.destroy_intervention_files(&s.reference, &creds) {
                Ok(outcome) => outcomes.push((s.reference.clone(), outcome)),
                Err(e) => self.cleaned::<(), _>(Err(e)),
            }
        }
        self.settle_key_destructions(&outcomes)?;
        self.purge_history();
        // The wipe reaches the managed backups too. Best effort: a backup that
        // cannot be rewritten now is by every later sweep (its window has ended).
        if let Some(config) = &self.root.backups {
            if self.upkeep_backups {
                let _ = super::backup::upkeep(config, &[], now);
            }
        }
        // Recorded without the key, folded into sealed records at the next unlock
        // (which also records any wipe whose keyless record could not be written).
        let records = swept
            .iter()
            .map(|s| Pending {
                action: Action::Expired,
                reference: Some(s.reference.to_string()),
                count: None,
            })
            .collect();
        let _ = Trail::new(self.store.clone()).append_pending_all(now, records);
        self.swept_now = swept;
        Ok(())
    }

    /// Shreds an intervention's key and every generation of its credentials
    /// (found among `creds`, the names in `creds/`); says what became of the key.
    fn destroy_intervention_files(&self, reference: &Ref, creds: &[String]) -> Result<Destruction> {
        let outcome = key_store(&self.store, &self.root).destroy(reference)?;
        let prefix = format!("{reference}.");
        for name in creds.iter().filter(|n| n.starts_with(&prefix)) {
            self.store.shred(&store::join(layout::CREDS, name))?;
        }
        Ok(outcome)
    }

    /// Before a root that wipes `wiped` is written: where keys live in the OS
    /// keyring, which cannot be listed for leftovers, their destruction is
    /// recorded as pending in that same root, so that a crash, or a keyring that
    /// this process cannot reach, never loses track of a key. Settled by
    /// [`Handle::settle_key_destructions`] once the keys are destroyed.
    fn expect_key_destruction(&mut self, wiped: &[Ref]) {
        if self.root.key_store.is_none() {
            return;
        }
        for r in wiped {
            if !self.root.keys_pending.iter().any(|p| &p.reference == r) {
                self.root.keys_pending.push(PendingKey {
                    reference: r.clone(),
                    since: self.now,
                });
            }
        }
    }

    /// After keys were destroyed (or not): a key known to be gone leaves the
    /// pending list; one the store could not reach joins it. Rewrites the root
    /// when that changed it.
    fn settle_key_destructions(&mut self, outcomes: &[(Ref, Destruction)]) -> Result<()> {
        let mut changed = false;
        for (r, outcome) in outcomes {
            let listed = self.root.keys_pending.iter().any(|p| &p.reference == r);
            match (outcome.is_done(), listed) {
                (true, true) => {
                    self.root.keys_pending.retain(|p| &p.reference != r);
                    changed = true;
                }
                (false, false) => {
                    self.root.keys_pending.push(PendingKey {
                        reference: r.clone(),
                        since: self.now,
                    });
                    changed = true;
                }
                _ => {}
            }
        }
        if changed {
            self.write_root()?;
        }
        Ok(())
    }

    /// Retries every key destruction an earlier command left pending, for
    /// interventions the clear root does not list as live (a live one in that
    /// list is tampering, which the next unlock reports). Keyless, like expiry.
    fn finish_pending_keys(&mut self) -> Result<()> {
        if self.root.keys_pending.is_empty() {
            return Ok(());
        }
        let live: HashSet<&Ref> = self.root.expiry.iter().map(|e| &e.reference).collect();
        let store = key_store(&self.store, &self.root);
        let mut outcomes = Vec::new();
        for p in &self.root.keys_pending {
            if live.contains(&p.reference) {
                continue;
            }
            if let Ok(outcome) = store.destroy(&p.reference) {
                outcomes.push((p.reference.clone(), outcome));
            }
        }
        let finished: Vec<PendingKey> = (self.root.keys_pending.iter())
            .filter(|p| {
                outcomes
                    .iter()
                    .any(|(r, o)| r == &p.reference && o.is_done())
            })
            .cloned()
            .collect();
        self.settle_key_destructions(&outcomes)?;
        self.keys_finished = finished;
        Ok(())
    }

    /// Removes what a crash can leave behind: temporary files, and keys or
    /// credentials of interventions the root no longer lists as live.
    fn collect_leftovers(&self) -> Result<()> {
        let records = self.store.list(layout::RECORDS)?;
        for folder in ["", layout::KEYS, layout::CREDS] {
            for name in self.store.list(folder)? {
                if name.starts_with(fsio::TEMP_PREFIX) {
                    self.store.shred(&store::join(folder, &name))?;
                }
            }
        }
        let live: HashSet<&Ref> = self.root.expiry.iter().map(|e| &e.reference).collect();
        let is_live = |r: &Ref| live.contains(r);
        let keys = key_store(&self.store, &self.root);
        for r in keys.stored()? {
            if !is_live(&r) {
                keys.destroy(&r)?;
            }
        }
        for name in self.store.list(layout::CREDS)? {
            let owner = name.split('.').next().and_then(Ref::parse);
            if owner.is_some_and(|r| !is_live(&r)) {
                self.store.shred(&store::join(layout::CREDS, &name))?;
            }
        }
        // A record outlives its keys until the next unlock folds a keyless wipe
        // into a tombstone: keep the records of what the root lists as swept.
        let swept: HashSet<&Ref> = self.root.swept.iter().map(|s| &s.reference).collect();
        for name in records {
            let owner = name.split('.').next().and_then(Ref::parse);
            let stale = owner.is_some_and(|r| !is_live(&r) && !swept.contains(&r));
            if stale || name.starts_with(fsio::TEMP_PREFIX) {
                self.store.shred(&store::join(layout::RECORDS, &name))?;
            }
        }
        // What a killed `migrate` left after its switch (issue 14).
        super::migrate::collect_leftovers(self.store.as_ref())?;
        // Copies of a backup that a killed `backup verify` left (issue 12); one
        // still running is an error here, so that the change marker stays.
        super::backup_cmds::collect_verify_leftovers(self.store.as_ref())
    }

    /// After a wipe, or to finish one: makes what the store keeps of deleted
    /// objects unreadable (etcd: compaction and defragmentation). When it
    /// cannot, the root records it as pending until a later call does it
    /// (best effort: the wipe itself has happened).
    pub(super) fn purge_history(&mut self) -> Purge {
        let outcome = self.store.purge_deleted();
        let pending = matches!(outcome, Purge::Pending { .. });
        if pending != self.root.purge_pending.is_some() {
            self.root.purge_pending = pending.then_some(self.now);
            let _ = self.write_root();
        }
        self.purged = Some(outcome.clone());
        outcome
    }

    /// Writes the root as it is in memory, and appends `staged` audit records
    /// in the same store transaction.
    pub(super) fn write_root_with_records(&mut self, staged: &super::trail::Staged) -> Result<()> {
        let bytes = serde_json::to_vec(&self.root)
            .map_err(|e| Error::Internal(format!("cannot serialize the root: {e}")))?;
        self.store
            .write_with_log(
                layout::ROOT,
                &bytes,
                super::trail::LOG,
                staged.at,
                &staged.bytes,
            )
            .map_err(|e| match e {
                StoreError::Failed(e) => e,
                other => Error::NotRecorded(Box::new(other.into())),
            })?;
        self.root_bytes = bytes;
        Ok(())
    }

    /// Writes the root as it is in memory.
    pub(super) fn write_root(&mut self) -> Result<()> {
        let bytes = serde_json::to_vec(&self.root)
            .map_err(|e| Error::Internal(format!("cannot serialize the root: {e}")))?;
        self.store.write(layout::ROOT, &bytes)?;
        self.root_bytes = bytes;
        Ok(())
    }
}

impl Unlocked<'_> {
    /// Takes every wiped intervention out of the managed backups (all tombstones,
    /// so that one a failed upkeep missed is taken out by the next), and what has
    /// ended. Best effort, like the shredding after a commit.
    pub(super) fn backup_upkeep(&self) {
        let Some(config) = &self.index.backups else {
            return;
        };
        if !self.h.upkeep_backups {
            return;
        }
        let wiped: Vec<(Ref, WipeReason)> = self
            .index
            .tombstones
            .iter()
            .map(|t| (t.reference.clone(), t.reason))
            .chain(self.new_wipes.iter().cloned())
            .collect();
        let _ = super::backup::upkeep(config, &wiped, self.h.now);
    }

    /// Turns interventions wiped by a keyless sweep into full tombstones.
    fn complete_keyless_wipes(&mut self) -> Result<Vec<Tombstone>> {
        if self.h.root.swept.is_empty() {
            return Ok(Vec::new());
        }
        self.read_history()?;
        for s in self.h.root.swept.clone() {
            self.read_record_of(&s.reference)?;
        }
        let mut done = Vec::new();
        for s in std::mem::take(&mut self.h.root.swept) {
            let Some(pos) = self
                .index
                .interventions
                .iter()
                .position(|m| m.reference == s.reference)
            else {
                // Every keyless wipe names a live intervention of the sealed
                // index: anything else was written by someone else.
                self.tampering.push(format!(
                    "the clear list of keyless wipes names '{}', which the sealed index does not know",
                    s.reference
                ));
                continue;
            };
            let m = self.index.interventions.remove(pos);
            let (wiped_at, reason) = match self.dropped_from_clear.contains(&s.reference) {
                true => (self.h.now, WipeReason::Tampered),
                false => judge_keyless_wipe(&s, m.window.until, self.h.now),
            };
            if reason == WipeReason::Tampered && !self.dropped_from_clear.contains(&s.reference) {
                self.tampering.push(format!(
                    "'{}' was wiped before its window ended, by a keyless command misled by an altered expiry table (its tombstone says 'tampered')",
                    m.id
                ));
            }
            let t = tombstone_of(&m, wiped_at, reason);
            self.new_wipes.push((t.reference.clone(), reason));
            self.index.tombstones.push(t.clone());
            done.push(t);
        }
        Ok(done)
    }

    /// A pending key destruction drives a keyless decision (destroy that key):
    /// it must name a wiped intervention of the sealed history. Anything else is
    /// dropped from the list and reported.
    fn check_pending_keys(&mut self) -> Result<()> {
        if self.h.root.keys_pending.is_empty() {
            return Ok(());
        }
        self.read_history()?;
        let wiped: HashSet<&Ref> = self.index.tombstones.iter().map(|t| &t.reference).collect();
        let (known, foreign): (Vec<PendingKey>, Vec<PendingKey>) =
            (self.h.root.keys_pending.iter().cloned()).partition(|p| wiped.contains(&p.reference));
        for p in &foreign {
            self.tampering.push(format!(
                "the list of pending key destructions names '{}', which is no wiped intervention (removed)",
                p.reference
            ));
        }
        self.h.root.keys_pending = known;
        Ok(())
    }

    /// Fails, once, when the cross-check of the clear root found tampering (a
    /// keyless wipe before the sealed window end, a reference the index does not
    /// know): what happened cannot be undone, so the facts are committed first
    /// (a `tampered` tombstone), then the tampering is reported (exit 6) so that
    /// nobody takes it for an ordinary expiry.
    pub(super) fn report_tampering(&mut self) -> Result<()> {
        if self.tampering.is_empty() {
            return Ok(());
        }
        self.commit()?;
        Err(Error::damaged(
            self.h.store.locate(layout::ROOT),
            format!(
                "the clear root was altered: {}",
                std::mem::take(&mut self.tampering).join("; ")
            ),
        ))
    }

    /// After the unlock of a command that reads everything, or that follows an
    /// interrupted change: collects stale generations; once everything is
    /// collected, the marker of the interrupted change can go.
    pub(super) fn settle_leftovers(&self, full: bool) {
        if !(self.h.interrupted || full) || self.h.snapshot {
            return;
        }
        match self.collect_stale_generations() {
            Err(_) => self.h.uncollected.set(true),
            Ok(()) if self.h.leftovers_collected && self.h.interrupted => {
                self.h.uncollected.set(false)
            }
            Ok(()) => {}
        }
    }

    /// Shreds credentials and record files of live interventions that are not
    /// their current generation, and history files that are not the current
    /// one: what a crash right after a commit can leave behind.
    pub(super) fn collect_stale_generations(&self) -> Result<()> {
        let live = &self.index.loaded.live;
        let creds: HashMap<&Ref, Option<u64>> =
            live.iter().map(|l| (&l.reference, l.creds)).collect();
        let records: HashMap<&Ref, Option<u64>> = (live.iter())
            .map(|l| (&l.reference, (l.record > 0).then_some(l.record)))
            .collect();
        for (dir, current) in [(layout::CREDS, &creds), (layout::RECORDS, &records)] {
            for name in self.h.store.list(dir)? {
                let mut parts = name.split('.');
                let (Some(owner), Some(generation)) =
                    (parts.next().and_then(Ref::parse), parts.next())
                else {
                    continue;
                };
                if let Some(g) = current.get(&owner) {
                    if g.map(|g| g.to_string()).as_deref() != Some(generation) {
                        self.h.store.shred(&store::join(dir, &name))?;
                    }
                }
            }
        }
        let history = self.index.loaded.history_gen;
        for name in self.h.store.list("")? {
            let generation = layout::history_generation(&name);
            if generation.is_some_and(|g| g != history) {
                self.h.store.shred(&name)?;
            }
        }
        Ok(())
    }

    /// Finds a live intervention by ID; a tombstone gives the policy refusal.
    pub fn live(&mut self, id: &str) -> Result<usize> {
        if let Some(pos) = self.index.interventions.iter().position(|m| m.id == id) {
            return Ok(pos);
        }
        if let Some(l) = self.index.loaded.live.iter().find(|l| l.id == id) {
            let reference = l.reference.clone();
            self.read_record_of(&reference)?;
            if let Some(pos) = self.index.interventions.iter().position(|m| m.id == id) {
                return Ok(pos);
            }
        }
        self.read_history()?;
        match self.index.tombstones.iter().find(|t| t.id == id) {
            Some(t) => Err(Error::Wiped {
                id: id.to_owned(),
                reason: t.reason,
                wiped_at: t.wiped_at,
            }),
            None => Err(Error::NoSuchIntervention { id: id.to_owned() }),
        }
    }

    /// Stores a new intervention key as part of this change; the store may
    /// delete it by itself once `until` has passed (a backstop).
    pub fn put_key(&mut self, reference: &Ref, key: &SealKey, until: DateTime<Utc>) -> Result<()> {
        let expiry = Expiry {
            group: reference.as_str(),
            until,
            now: self.h.now,
        };
        self.keys.put(reference, key, &self.master, &expiry)?;
        self.txn.written_keys.push(reference.clone());
        Ok(())
    }

    /// Loads an intervention's credentials (empty before the first `add`).
    pub fn load_credentials(&self, m: &InterventionMeta) -> Result<CredentialSet> {
        let Some(generation) = m.creds_gen else {
            return Ok(CredentialSet {
                reference: m.reference.clone(),
                generation: 0,
                credentials: Vec::new(),
            });
        };
        let key = self.keys.get(&m.reference, &self.master)?;
        let name = layout::creds(&m.reference, generation);
        let path = self.h.store.locate(&name);
        let sealed = match self.h.store.read(&name) {
            Err(StoreError::NotFound(_)) => {
                return Err(Error::damaged(path, "the credentials file is missing"))
            }
            other => other?,
        };
        let plain = key.open(&sealed).map_err(|e| match e {
            OpenError::WrongKey => Error::damaged(&path, "not sealed to this intervention"),
            OpenError::Corrupt(what) => {
                Error::damaged(&path, format!("the credentials file {what}"))
            }
        })?;
        let set = parse_credential_set(&plain).map_err(|what| Error::damaged(&path, what))?;
        if set.reference != m.reference {
            return Err(Error::damaged(&path, "it belongs to another intervention"));
        }
        if set.generation != generation {
            return Err(Error::damaged(
                &path,
                "it is an older copy of the credentials",
            ));
        }
        let names: Vec<&str> = set.credentials.iter().map(|c| c.name.as_str()).collect();
        let listed: Vec<&str> = m.entries.iter().map(|e| e.name.as_str()).collect();
        if names != listed {
            return Err(Error::damaged(&path, "it does not match the index"));
        }
        Ok(set)
    }

    /// Writes a new generation of intervention `pos`'s credentials and updates
    /// its entries; the old generation is shredded after the commit.
    pub fn store_credentials(&mut self, pos: usize, set: &mut CredentialSet) -> Result<()> {
        let m = &self.index.interventions[pos];
        let key = self.keys.get(&m.reference, &self.master)?;
        let next = m.creds_gen.map_or(1, |g| g + 1);
        set.generation = next;
        let name = layout::creds(&m.reference, next);
        let sealed = key.seal(&to_plain_json(set)).map_err(Error::Internal)?;
        let expiry = Expiry {
            group: m.reference.as_str(),
            until: m.window.until,
            now: self.h.now,
        };
        self.h.store.write_until(&name, &sealed, &expiry)?;
        self.txn.written.push(name);
        if let Some(old) = m.creds_gen {
            self.txn
                .obsolete_files
                .push(layout::creds(&m.reference, old));
        }
        let m = &mut self.index.interventions[pos];
        m.creds_gen = Some(next);
        // The entries follow the credentials; use counts stay with their names.
        let previous = std::mem::take(&mut m.entries);
        m.entries = set
            .credentials
            .iter()
            .map(|c| {
                let before = previous.iter().find(|e| e.name == c.name);
                super::format::EntryMeta {
                    name: c.name.clone(),
                    kind: c.kind,
                    max_uses: before.and_then(|e| e.max_uses),
                    uses: before.map_or(0, |e| e.uses),
                }
            })
            .collect();
        Ok(())
    }

    /// Wipes live intervention `pos`: its tombstone replaces it in the index, and
    /// its key and credentials are destroyed when the change commits.
    pub fn wipe(&mut self, pos: usize, reason: WipeReason) -> Result<Tombstone> {
        self.read_history()?;
        let m = self.index.interventions.remove(pos);
        let t = tombstone_of(&m, self.h.now, reason);
        if let Some(generation) = m.creds_gen {
            self.txn
                .obsolete_files
                .push(layout::creds(&m.reference, generation));
        }
        self.txn.obsolete_keys.push(m.reference);
        self.new_wipes.push((t.reference.clone(), reason));
        self.index.tombstones.push(t.clone());
        Ok(t)
    }

    /// Commits the change: new records and history first, then the root (with the
    /// index core re-sealed and the expiry table derived from it) replaces the old
    /// one, then obsolete files are shredded.
    pub fn commit(&mut self) -> Result<()> {
        self.index.high_water = self.index.high_water.max(self.h.now);
        self.index.retention_clock = Some(self.retention_now);
        if let Some((seq, hash)) = &self.last_record {
            if *seq >= self.index.audit_seq {
                self.index.audit_seq = *seq;
                self.index.audit_hash = Some(hash.clone());
            }
        }
        self.index.generation += 1;
        let mut written = Vec::new();
        let staged = self.stage_index(&mut written);
        // Whatever was written is part of this change: shredded if it fails.
        self.txn.written.extend(written);
        let staged = staged.and_then(|(core, loaded, obsolete)| {
            let sealed = seal_base64(&self.index_key, &core)?;
            Ok((core, loaded, obsolete, sealed))
        });
        let (core, loaded, obsolete, sealed) = match staged {
            Ok(staged) => staged,
            Err(e) => {
                self.index.generation -= 1;
                return Err(e);
            }
        };
        let before = self.h.root.clone();
        self.h.root.version = FORMAT_VERSION;
        self.h.root.index = sealed;
        self.h.root.expiry = core
            .live
            .iter()
            .map(|l| ExpiryEntry {
                reference: l.reference.clone(),
                until: l.until,
            })
            .collect();
        self.h.root.swept.clear();
        self.h.root.backups = self.index.backups.clone();
        self.h.root.key_store = self.index.key_store.clone();
        let wiped_keys = self.txn.obsolete_keys.clone();
        self.h.expect_key_destruction(&wiped_keys);
        // A window that moves later, or a new one, takes its objects' store
        // expiry along before the commit (so that a failure never leaves the
        // store deleting them at the old end); one that moves earlier, after.
        let written = self.tie_windows(&before.expiry, |old, new| old.is_none_or(|old| new > old));
        let staged = self.staged_record.take();
        let written = written.and_then(|()| match &staged {
            Some(staged) => self.h.write_root_with_records(staged),
            None => self.h.write_root(),
        });
        if let Err(e) = written {
            self.h.root = before;
            self.index.generation -= 1;
            self.staged_record = staged;
            return Err(e);
        }
        if let Some(staged) = staged {
            let last = self.trail.staged_written(staged);
            self.recorded(last);
        }
        let shortened =
            self.tie_windows(&before.expiry, |old, new| old.is_some_and(|old| new < old));
        self.h.cleaned(shortened);
        let wiped_now = !self.new_wipes.is_empty();
        self.index.loaded = loaded;
        self.txn.written.clear();
        self.txn.written_keys.clear();
        self.txn.obsolete_files.extend(obsolete);
        if !self.new_wipes.is_empty() {
            self.backup_upkeep();
        }
        self.remember_generation();
        // The commit has happened; a shred that fails now leaves a file that the
        // next command collects, because the root no longer names it.
        for name in std::mem::take(&mut self.txn.obsolete_files) {
            self.h.cleaned(self.h.store.shred(&name));
        }
        let mut outcomes = Vec::new();
        let doomed = std::mem::take(&mut self.txn.obsolete_keys);
        for r in &doomed {
            // Every object on the intervention's store expiry goes at once.
            self.h.cleaned(self.h.store.expire_now(r.as_str()));
        }
        for r in doomed {
            match self.keys.destroy(&r) {
                Ok(outcome) => outcomes.push((r, outcome)),
                Err(e) => self.h.cleaned::<(), _>(Err(e)),
            }
        }
        // Best effort, like the shredding: the wipe has committed; a root that
        // cannot record the outcome keeps the key pending, and the next command
        // settles it.
        let _ = self.h.settle_key_destructions(&outcomes);
        if wiped_now {
            self.h.purge_history();
        }
        Ok(())
    }

    /// Makes the store's expiry of every live intervention whose window end
    /// `moved(old end, new end)` say (old: in the root `old`) follow it.
    fn tie_windows(
        &self,
        old: &[ExpiryEntry],
        moved: impl Fn(Option<DateTime<Utc>>, DateTime<Utc>) -> bool,
    ) -> Result<()> {
        let before: HashMap<&Ref, DateTime<Utc>> =
            old.iter().map(|e| (&e.reference, e.until)).collect();
        let moved = (self.index.interventions.iter())
            .filter(|m| moved(before.get(&m.reference).copied(), m.window.until));
        tie_to_windows(self.h.store.as_ref(), moved, self.h.now)
    }

    /// Whether the destruction of wiped intervention `reference`'s key is still
    /// pending (its key store could not be reached).
    pub fn key_pending(&self, reference: &Ref) -> bool {
        self.h
            .root
            .keys_pending
            .iter()
            .any(|p| &p.reference == reference)
    }

    /// Writes a new generation of every record and of the history that changed
    /// since they were read (adding them to `written`); gives the core that names
    /// them, what is then in memory, and the files the commit makes obsolete.
    fn stage_index(&self, written: &mut Vec<String>) -> Result<(Core, Loaded, Vec<String>)> {
        let mut loaded = self.index.loaded.clone();
        loaded.from_v1 = false;
        let mut obsolete = Vec::new();
        if self.index.loaded.from_v1 {
            // A version 1 vault becomes version 2: its records need a directory.
            self.h.store.ensure_folder(layout::RECORDS)?;
        }
        let current: HashMap<&Ref, &InterventionMeta> = (self.index.interventions.iter())
            .map(|m| (&m.reference, m))
            .collect();
        let mut live = Vec::with_capacity(current.len());
        let mut listed_before = HashSet::new();
        for l in &self.index.loaded.live {
            listed_before.insert(&l.reference);
            match current.get(&l.reference) {
                Some(m) => {
                    let record = self.stage_record(m, l.record, &mut loaded, written)?;
                    if record != l.record && l.record > 0 {
                        obsolete.push(layout::record(&l.reference, l.record));
                    }
                    live.push(listed(m, record));
                }
                // Read, then taken out of the index: wiped.
                None if self.index.loaded.from_v1
                    || self.index.loaded.records.contains_key(&l.reference) =>
                {
                    loaded.records.remove(&l.reference);
                    if l.record > 0 {
                        obsolete.push(layout::record(&l.reference, l.record));
                    }
                }
                // Never read: unchanged.
                None => live.push(l.clone()),
            }
        }
        for m in &self.index.interventions {
            if !listed_before.contains(&m.reference) {
                let record = self.stage_record(m, 0, &mut loaded, written)?;
                live.push(listed(m, record));
            }
        }
        loaded.live = live.clone();
        if self.index.loaded.has_history() {
            let history = History {
                generation: loaded.history_gen,
                tombstones: self.index.tombstones.clone(),
                clients: self.index.clients.clone(),
            };
            let empty = history.tombstones.is_empty() && history.clients.is_empty();
            let unchanged = match &self.index.loaded.history {
                Some(read) => *read == history,
                None => empty && loaded.history_gen == 0,
            };
            if !unchanged {
                let next = loaded.history_gen + 1;
                let written_history = History {
                    generation: next,
                    ..history
                };
                let path = layout::history(next);
                self.write_sealed(&path, &written_history, written)?;
                if loaded.history_gen > 0 {
                    obsolete.push(layout::history(loaded.history_gen));
                }
                loaded.history_gen = next;
                loaded.oldest_tombstone = (written_history.tombstones.iter())
                    .map(|t| t.wiped_at)
                    .min();
                loaded.history = Some(written_history);
            } else {
                loaded.history = Some(history);
            }
        }
        let core = Core {
            high_water: self.index.high_water,
            retention_clock: self.index.retention_clock,
            live,
            history: loaded.history_gen,
            oldest_tombstone: loaded.oldest_tombstone,
            retention: self.index.retention,
            audit_seq: self.index.audit_seq,
            audit_hash: self.index.audit_hash.clone(),
            generation: self.index.generation,
            backups: self.index.backups.clone(),
            key_store: self.index.key_store.clone(),
        };
        Ok((core, loaded, obsolete))
    }

    /// Writes a new generation of `m`'s record if it changed since it was read
    /// (its record is generation `current`, 0 for none); gives its generation.
    fn stage_record(
        &self,
        m: &InterventionMeta,
        current: u64,
        loaded: &mut Loaded,
        written: &mut Vec<String>,
    ) -> Result<u64> {
        let read = self.index.loaded.records.get(&m.reference);
        let pseudonym = match (self.index.loaded.has_history(), read) {
            (true, _) | (false, None) => self
                .index
                .pseudonym_of(&m.client)
                .ok_or_else(|| Error::Internal("a client has no pseudonym key".into()))?,
            (false, Some((_, pseudonym))) => pseudonym.clone(),
        };
        let unchanged = current > 0
            && read.is_some_and(|(meta, p)| meta == m && *p == pseudonym)
            && !self.index.loaded.from_v1;
        if unchanged {
            return Ok(current);
        }
        let next = current + 1;
        let record = Record {
            reference: m.reference.clone(),
            generation: next,
            pseudonym,
            meta: m.clone(),
        };
        self.write_sealed(&layout::record(&m.reference, next), &record, written)?;
        loaded
            .records
            .insert(m.reference.clone(), (record.meta, record.pseudonym));
        Ok(next)
    }

    /// Seals `value` with the index key into a new file, noted in `written`.
    fn write_sealed<T: serde::Serialize>(
        &self,
        name: &str,
        value: &T,
        written: &mut Vec<String>,
    ) -> Result<()> {
        let sealed = seal_to(&self.index_key, &to_plain_json(value)).map_err(Error::Internal)?;
        self.h.store.write(name, &sealed)?;
        written.push(name.to_owned());
        Ok(())
    }

    /// Reads what `scope` needs beyond the core.
    fn read_for(&mut self, scope: Scope<'_>) -> Result<()> {
        match scope {
            Scope::All => self.read_everything(),
            Scope::One(id) => {
                let found = self.index.loaded.live.iter().find(|l| l.id == id);
                match found.map(|l| l.reference.clone()) {
                    Some(reference) => self.read_record_of(&reference),
                    None => Ok(()),
                }
            }
            Scope::Core => Ok(()),
        }
    }

    /// Reads every record and the history.
    pub(super) fn read_everything(&mut self) -> Result<()> {
        self.read_history()?;
        if !self.index.loaded.all_records {
            let refs: Vec<Ref> = (self.index.loaded.live.iter())
                .map(|l| l.reference.clone())
                .collect();
            for r in &refs {
                self.read_record_of(r)?;
            }
            self.index.loaded.all_records = true;
        }
        Ok(())
    }

    /// Reads the history (tombstones and client keys) if it is not in memory.
    pub(super) fn read_history(&mut self) -> Result<()> {
        if self.index.loaded.has_history() {
            return Ok(());
        }
        let generation = self.index.loaded.history_gen;
        let name = layout::history(generation);
        let path = self.h.store.locate(&name);
        let history = if generation == 0 {
            History {
                generation,
                tombstones: Vec::new(),
                clients: Vec::new(),
            }
        } else {
            let plain = self.open_sealed(&name, "history")?;
            parse_history(&plain).map_err(|what| Error::damaged(&path, what))?
        };
        if history.generation != generation {
            return Err(Error::damaged(&path, "it is an older copy of the history"));
        }
        let live = self.index.loaded.live.iter().map(|l| l.id.as_str());
        check_history(live, &history.tombstones, &history.clients)
            .map_err(|what| Error::damaged(&path, what))?;
        self.index.tombstones = history.tombstones.clone();
        self.index.clients = history.clients.clone();
        self.index.loaded.history = Some(history);
        Ok(())
    }

    /// Reads the record of live intervention `reference`, unless it is in memory
    /// (or not live: a keyless wipe already folded in).
    pub(super) fn read_record_of(&mut self, reference: &Ref) -> Result<()> {
        let loaded = &self.index.loaded;
        if loaded.from_v1 || loaded.records.contains_key(reference) {
            return Ok(());
        }
        let Some(l) = loaded.live.iter().find(|l| &l.reference == reference) else {
            return Ok(());
        };
        let name = layout::record(reference, l.record);
        let path = self.h.store.locate(&name);
        let plain = self.open_sealed(&name, "record")?;
        let record = parse_record(&plain).map_err(|what| Error::damaged(&path, what))?;
        if record.reference != l.reference {
            return Err(Error::damaged(&path, "it belongs to another intervention"));
        }
        if record.generation != l.record {
            return Err(Error::damaged(&path, "it is an older copy of the record"));
        }
        let m = &record.meta;
        if m.id != l.id || m.window.until != l.until || m.creds_gen != l.creds {
            return Err(Error::damaged(&path, "it does not match the index"));
        }
        self.index.interventions.push(record.meta.clone());
        self.index
            .loaded
            .records
            .insert(record.reference, (record.meta, record.pseudonym));
        Ok(())
    }

    /// Opens a file sealed with the index key.
    fn open_sealed(&self, name: &str, what: &str) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let path = self.h.store.locate(name);
        let sealed = match self.h.store.read(name) {
            Err(StoreError::NotFound(_)) => {
                return Err(Error::damaged(path, format!("the {what} file is missing")))
            }
            other => other?,
        };
        open_with(&self.index_key, &sealed).map_err(|e| match e {
            OpenError::WrongKey => Error::damaged(path, "it was not sealed by this vault"),
            OpenError::Corrupt(how) => Error::damaged(path, format!("the {what} file {how}")),
        })
    }
}

/// When a keyless wipe happened and why, judged against the sealed window end
/// `until`: the clear wipe time is not authenticated, so it is believed only
/// where a keyless expiry can really have happened (at or after `until`, and
/// not after `now`). A wipe that is not that was driven by an altered clear
/// root: `tampered`, at the time given if it is plausible, else `now`.
pub(super) fn judge_keyless_wipe(
    s: &SweptEntry,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, WipeReason) {
    let at = s.wiped_at.min(now);
    if s.wiped_at > now + CLOCK_LEEWAY || at < until {
        (at, WipeReason::Tampered)
    } else {
        (at, WipeReason::Expired)
    }
}

/// The tombstone of a live intervention wiped at `at`.
pub(super) fn tombstone_of(
    m: &InterventionMeta,
    at: DateTime<Utc>,
    reason: WipeReason,
) -> Tombstone {
    Tombstone::new(
        &m.id,
        m.reference.clone(),
        &m.client,
        m.window,
        at,
        reason,
        m.entries.iter().map(|e| e.name.clone()).collect(),
    )
}

/// Makes `store` delete each of `interventions`' key and credentials by
/// itself at its window end (a backstop where it can: etcd's leases), as of
/// `now`: after a window moved, or a vault was copied into `store`.
pub(super) fn tie_to_windows<'m>(
    store: &dyn Store,
    interventions: impl Iterator<Item = &'m InterventionMeta>,
    now: DateTime<Utc>,
) -> Result<()> {
    for m in interventions {
        let mut names = vec![layout::key(&m.reference)];
        names.extend(m.creds_gen.map(|g| layout::creds(&m.reference, g)));
        let expiry = Expiry {
            group: m.reference.as_str(),
            until: m.window.until,
            now,
        };
        store.expire_at(&expiry, &names)?;
    }
    Ok(())
}

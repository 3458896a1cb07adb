//! `migrate`: a directory vault moved into another store (an etcd prefix),
//! so that an interruption at any point loses nothing and leaves nothing
//! half-migrated.
//!
//! Every object is copied verbatim: what the directory held sealed stays
//! sealed with the same keys, so nothing is decrypted on the way and the same
//! passphrase opens the copy. The move goes through states that each tell the
//! next run what to do:
//!
//! 1. the target gets a migration marker ([`MARKER`]) naming the source
//!    directory, in phase "copying", and is then held under its exclusive lock;
//! 2. every object but the root is copied, and the root under a staged name
//!    ([`STAGED_ROOT`]): no command opens the target yet (it has no root);
//! 3. the copy is checked: every object read back and compared, then the
//!    copy opened with the passphrase as the vault it will be (every
//!    intervention, record, credential set and the audit trail);
//! 4. the marker says "moved" (only a checked copy gets there); then the
//!    directory's root is replaced by a *moved stub* that names the target
//!    and keeps the old root, so that every command on the directory refuses
//!    and says where the vault went. This is the switch: before it the
//!    directory is the vault, after it the target is;
//! 5. the target's root is written under its real name (with the change
//!    marker around it), and the staged root and the migration marker go;
//! 6. the directory is wiped as a close wipes: every object shredded through
//!    the store, the stub last, then the directory removed.
//!
//! A run that finds the target in phase "copying" starts the copy over (the
//! directory is still the vault). A run on a directory that holds the stub
//! finishes steps 5 and 6, after checking that the target still holds this
//! vault; if it does not (another run took the prefix over), the old root goes
//! back into the directory and the vault stays there.

use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::crypto::{MacKey, SealKey};
use crate::error::{Error, Location, Result};
use crate::store::{self, Held, LockMode, SharedStore, Store, StoreError, StoreResult};

use super::format::parse_root;
use super::opening::{open_master, Access};
use super::{fsio, layout, Interaction, PassphrasePurpose, Vault};

/// The marker of a migration under way, in the target.
pub(super) const MARKER: &str = "migration.json";
/// The root of the copy until the switch, in the target.
pub(super) const STAGED_ROOT: &str = "migration.root";
/// The lock the check of the copy takes, in the target (the migration holds
/// the vault lock itself).
const CHECK_LOCK: &str = "migration.lock";
/// How the moved stub starts (how a reader tells it from a root).
const STUB_FORMAT: &str = "intervault-moved";
const MARKER_FORMAT: &str = "intervault-migration";
/// The largest audit log copied (as a backup).
const MAX_LOG_BYTES: u64 = 256 << 20;

/// The migration marker kept in the target while a move is under way.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Marker {
    format: String,
    /// The source directory, absolute.
    source: String,
    /// `copying`, or `moved` once the copy was checked.
    phase: String,
}

/// What replaces a moved directory vault's root until the directory is wiped.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stub {
    format: String,
    /// Where the vault went.
    to: String,
    /// The root as it was, base64: kept until the target is the vault.
    root: String,
}

/// The steps of a move, for tests that stop it between two of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// The target holds the marker, nothing else.
    Marked,
    /// Every object but the root is copied.
    Copied,
    /// The root is copied under its staged name.
    Staged,
    /// The copy was checked.
    Checked,
    /// The marker says "moved".
    Ready,
    /// The directory holds the moved stub (the switch).
    Switched,
    /// The target's root is written under its real name.
    RootWritten,
    /// The target is the vault: no marker, no staged root.
    TargetDone,
    /// Part of the directory is shredded.
    HalfWiped,
}

/// What `migrate` did.
#[derive(Debug, Clone)]
pub struct MigrateReport {
    /// The directory the vault was in (now gone).
    pub from: PathBuf,
    /// Where it is now.
    pub to: String,
    /// Live interventions moved.
    pub interventions: usize,
    /// Tombstones moved.
    pub tombstones: usize,
    /// Objects copied and compared.
    pub objects: usize,
    /// Managed backup directories the vault keeps managing from its new home.
    pub backup_dirs: Vec<PathBuf>,
    /// Whether this run finished a move an earlier run had begun.
    pub resumed: bool,
}

impl<'c> Vault<'c> {
    /// Moves this directory vault into `to` (an empty store, or one this
    /// move left half-done), checks the copy, then wipes the directory.
    pub fn migrate(&self, to: SharedStore, ui: &mut dyn Interaction) -> Result<MigrateReport> {
        self.migrate_with(to, ui, &mut |_| Ok(()))
    }

    /// [`Vault::migrate`], calling `step` after each step (a failure stops
    /// the move there, as an interruption would).
    pub(super) fn migrate_with(
        &self,
        to: SharedStore,
        ui: &mut dyn Interaction,
        step: &mut dyn FnMut(Step) -> Result<()>,
    ) -> Result<MigrateReport> {
        let Some(dir) = self.store.local_dir().map(Path::to_owned) else {
            return Err(Error::usage(
                format!(
                    "the vault at {} is not in a directory",
                    self.store.address()
                ),
                "migrate moves a directory vault into etcd; this one is there already",
            ));
        };
        let source = std::fs::canonicalize(&dir)
            .unwrap_or_else(|_| dir.clone())
            .display()
            .to_string();
        if to.address() == self.store.address() {
            return Err(Error::usage(
                "the vault would move onto itself",
                "give the new location of the vault",
            ));
        }
        let root_bytes = match self.store.read(layout::ROOT) {
            Ok(bytes) => bytes,
            Err(StoreError::NotFound(_)) => {
                return Err(Error::NoVault {
                    at: self.store.locate(""),
                })
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(stub) = stub_of(&root_bytes) {
            return self.finish_moved(&dir, &source, stub, to, ui, step);
        }
        let root = parse_root(&self.store.locate(layout::ROOT), &root_bytes)?;
        if root.key_store.is_some() {
            return Err(Error::usage(
                format!(
                    "the vault at {} keeps its intervention keys in this machine's OS keyring, which no other machine can reach",
                    dir.display()
                ),
                "such a vault cannot move: wait for its interventions to end (or close them), then make a new vault in the new location",
            ));
        }
        // The directory's exclusive lock, held until the switch; ended
        // interventions are wiped first, so only what is live moves.
        let u = self.unlocked(ui, Access::Write)?;
        let master = u.master.clone();
        let root_bytes = u.h.root_bytes.clone();
        let names = object_names(&u, self.store.as_ref())?;
        let _target_lock = claim(&to, &source)?;
        step(Step::Marked)?;

        // Copy, the root last and under its staged name.
        let mut copied = Vec::with_capacity(names.len());
        for (name, log) in &names {
            let bytes = match log {
                true => self.store.read_up_to(name, MAX_LOG_BYTES)?,
                false => self.store.read(name)?,
            };
            match log {
                true => to.log_replace(name, &bytes)?,
                false => to.write(name, &bytes)?,
            }
            copied.push((name.clone(), *log, bytes));
        }
        clear_others(to.as_ref(), &copied)?;
        // Each intervention's key and credentials go at its window end on
        // the cluster too, with no client running.
        super::opening::tie_to_windows(to.as_ref(), u.index.interventions.iter(), u.h.now)?;
        step(Step::Copied)?;
        to.write(STAGED_ROOT, &root_bytes)?;
        step(Step::Staged)?;

        let checked = self.check_copy(&to, &root_bytes, &copied, &master, &u, ui)?;
        step(Step::Checked)?;

        write_marker(to.as_ref(), &source, "moved")?;
        step(Step::Ready)?;
        let stub = Stub {
            format: STUB_FORMAT.into(),
            to: to.address(),
            root: STANDARD.encode(&root_bytes),
        };
        let stub_bytes = serde_json::to_vec(&stub)
            .map_err(|e| Error::Internal(format!("cannot serialize the moved stub: {e}")))?;
        // The old root's blocks are overwritten: the stub keeps its bytes, and
        // the stub is shredded with the rest.
        fsio::replace_and_scrub(&dir.join(layout::ROOT), &stub_bytes)?;
        let backup_dirs = u
            .index
            .backups
            .as_ref()
            .map(|c| c.dirs.clone())
            .unwrap_or_default();
        let (interventions, tombstones) = checked;
        // The directory is no vault any more: its lock can go.
        drop(u);
        step(Step::Switched)?;
        self.finish_target(&to, &root_bytes, step)?;
        self.wipe_dir(&dir, step)?;
        Ok(MigrateReport {
            from: dir,
            to: to.address(),
            interventions,
            tombstones,
            objects: copied.len() + 1,
            backup_dirs,
            resumed: false,
        })
    }

    /// The vault in `store` as this one's new home: its rollback record and
    /// sessions kept where this one's are, read through `clock`.
    fn moved_vault<'a>(&'a self, store: SharedStore, clock: &'a dyn Clock) -> Vault<'a> {
        let mut v = Vault::in_store(store, clock);
        v.sessions = self.sessions;
        v.seen_records = self.seen_records;
        v.state_dir = self.state_dir.clone();
        v.upkeep_backups = false;
        v
    }

    /// Reads every object back from `to` and compares it, then opens the copy
    /// (under its staged root) as the vault it will be: every intervention,
    /// record and credential set, the tombstones and the audit trail, each
    /// compared with the source. Gives (live interventions, tombstones).
    fn check_copy(
        &self,
        to: &SharedStore,
        root_bytes: &[u8],
        copied: &[(String, bool, Vec<u8>)],
        master: &SealKey,
        source: &super::opening::Unlocked<'_>,
        ui: &mut dyn Interaction,
    ) -> Result<(usize, usize)> {
        let differs = |name: &str| {
            Error::damaged(
                to.locate(name),
                "the copy does not hold what the directory holds (nothing was moved; the vault stays in its directory)",
            )
        };
        for (name, log, bytes) in copied {
            let back = match log {
                true => to.read_up_to(name, MAX_LOG_BYTES)?,
                false => to.read(name)?,
            };
            if &back != bytes {
                return Err(differs(name));
            }
        }
        if to.read(STAGED_ROOT)? != root_bytes {
            return Err(differs(layout::ROOT));
        }
        let staged: SharedStore = std::sync::Arc::new(Staged(to.clone()));
        let clock = Frozen(source.h.now);
        let copy = self.moved_vault(staged, &clock);
        let root = parse_root(&to.locate(STAGED_ROOT), root_bytes)?;
        // The copy's root is the source's, byte for byte: the key the
        // passphrase unwrapped from it opens the copy. The new address starts
        // from what this machine has seen of the vault (rollback detection).
        copy.remember_master(&root, master);
        copy.seen_store().save(master, &source.seen);
        let c = copy.unlocked(ui, Access::Read)?;
        let ids = |u: &super::opening::Unlocked<'_>| {
            u.index
                .interventions
                .iter()
                .map(|m| (m.id.clone(), m.reference.clone()))
                .collect::<Vec<_>>()
        };
        let receipts = |u: &super::opening::Unlocked<'_>| {
            u.index
                .tombstones
                .iter()
                .map(|t| (t.reference.clone(), t.receipt.clone()))
                .collect::<Vec<_>>()
        };
        if c.index.generation != source.index.generation
            || ids(&c) != ids(source)
            || receipts(&c) != receipts(source)
        {
            return Err(differs(layout::ROOT));
        }
        for m in &c.index.interventions {
            let copy_set = c.load_credentials(m).map_err(|e| {
                Error::damaged(
                    to.locate(""),
                    format!("intervention '{}' does not open in the copy: {e}", m.id),
                )
            })?;
            let original = source.load_credentials(m)?;
            let names = |set: &super::format::CredentialSet| {
                set.credentials
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>()
            };
            if copy_set.generation != original.generation || names(&copy_set) != names(&original) {
                return Err(differs(layout::CREDS));
            }
        }
        if copied.iter().any(|(n, _, _)| n == "audit/audit.log") {
            c.walk_trail(false)
                .map_err(|e| Error::damaged(to.locate(""), format!("its audit trail: {e}")))?;
        }
        Ok((c.index.interventions.len(), c.index.tombstones.len()))
    }

    /// Steps 5 on: the target's root under its real name, then the marker
    /// and staged root gone.
    fn finish_target(
        &self,
        to: &SharedStore,
        root_bytes: &[u8],
        step: &mut dyn FnMut(Step) -> Result<()>,
    ) -> Result<()> {
        // A command that meets the target half-finished collects the rest
        // (see [`collect_leftovers`]).
        to.mark(layout::CHANGING)?;
        if !to.exists(layout::ROOT)? {
            to.write(layout::ROOT, root_bytes)?;
        }
        step(Step::RootWritten)?;
        to.shred(STAGED_ROOT)?;
        to.shred(MARKER)?;
        to.unmark(layout::CHANGING);
        step(Step::TargetDone)
    }

    /// A run on a directory that already holds the moved stub: finishes the
    /// move if the target holds this vault, else puts the vault back.
    fn finish_moved(
        &self,
        dir: &Path,
        source: &str,
        stub: Stub,
        to: SharedStore,
        ui: &mut dyn Interaction,
        step: &mut dyn FnMut(Step) -> Result<()>,
    ) -> Result<MigrateReport> {
        if stub.to != to.address() {
            return Err(Error::usage(
                format!(
                    "the vault at {} was moved to {}, not to {}",
                    dir.display(),
                    stub.to,
                    to.address()
                ),
                "finish that move by giving its location",
            ));
        }
        let at = self.store.locate(layout::ROOT);
        let root_bytes = STANDARD
            .decode(&stub.root)
            .map_err(|_| Error::damaged(at.clone(), "the moved stub is malformed"))?;
        let root = parse_root(&at, &root_bytes)?;
        let passphrase = ui.passphrase(PassphrasePurpose::Unlock)?;
        let master = open_master(&at, &root, &passphrase)?;
        let _dir_lock = self.store.lock(layout::LOCK, LockMode::Exclusive)?;
        let _target_lock = to.lock(layout::LOCK, LockMode::Exclusive)?;
        let ours = match read_marker(to.as_ref())? {
            Some(m) => {
                m.source == source
                    && m.phase == "moved"
                    && (to_bytes(to.as_ref(), STAGED_ROOT)?.as_deref() == Some(&root_bytes[..])
                        || to_bytes(to.as_ref(), layout::ROOT)?.as_deref() == Some(&root_bytes[..]))
            }
            // Finished in the target: the vault there may have changed since,
            // but it must be this vault (the same master key).
            None => match to_bytes(to.as_ref(), layout::ROOT)? {
                Some(bytes) => {
                    let there = parse_root(&to.locate(layout::ROOT), &bytes)?;
                    same_key(
                        &open_master(&to.locate(layout::ROOT), &there, &passphrase)?,
                        &master,
                    )
                }
                None => false,
            },
        };
        if !ours {
            fsio::replace_and_scrub(&dir.join(layout::ROOT), &root_bytes)?;
            return Err(Error::Input {
                what: format!(
                    "{} does not hold this vault any more (another move took it over)",
                    to.address()
                ),
                fix: format!(
                    "the vault is back in {}, as it was; move it again, to an empty location",
                    dir.display()
                ),
                code: 7,
            });
        }
        if read_marker(to.as_ref())?.is_some() {
            self.finish_target(&to, &root_bytes, step)?;
        }
        drop(_dir_lock);
        self.wipe_dir(dir, step)?;
        Ok(MigrateReport {
            from: dir.to_owned(),
            to: to.address(),
            interventions: root.expiry.len(),
            tombstones: 0,
            objects: 0,
            backup_dirs: root.backups.map(|c| c.dirs).unwrap_or_default(),
            resumed: true,
        })
    }

    /// Wipes the moved directory as a close wipes: every object shredded
    /// through the store, the stub last, then the directory removed.
    fn wipe_dir(&self, dir: &Path, step: &mut dyn FnMut(Step) -> Result<()>) -> Result<()> {
        let store = self.store.as_ref();
        let lock = store.lock(layout::LOCK, LockMode::Exclusive)?;
        let mut first = true;
        for folder in [layout::KEYS, layout::CREDS, layout::RECORDS, layout::AUDIT] {
            for name in store.list(folder)? {
                let path = dir.join(folder).join(&name);
                if is_dir(&path) {
                    super::backup_cmds::shred_tree(&path)?;
                } else {
                    store.shred(&store::join(folder, &name))?;
                }
            }
            remove_dir(&dir.join(folder))?;
            if std::mem::take(&mut first) {
                step(Step::HalfWiped)?;
            }
        }
        for name in store.list("")? {
            if name == layout::ROOT || name == layout::LOCK {
                continue;
            }
            let path = dir.join(&name);
            if is_dir(&path) {
                super::backup_cmds::shred_tree(&path)?;
            } else {
                store.shred(&name)?;
            }
        }
        store.shred(layout::LOCK)?;
        store.shred(layout::ROOT)?;
        drop(lock);
        remove_dir(dir)?;
        // Its unlocked session opened a vault that is gone.
        if let Some(sessions) = self.sessions {
            let _ = sessions.forget(&self.session_account());
        }
        Ok(())
    }
}

/// The fingerprint of two master keys compared without showing either.
fn same_key(a: &SealKey, b: &SealKey) -> bool {
    let tag = |k: &SealKey| MacKey::derive(k, "intervault migration identity v1").tag(b"vault");
    tag(a) == tag(b)
}

fn to_bytes(store: &dyn Store, name: &str) -> Result<Option<Vec<u8>>> {
    match store.read(name) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn is_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

fn remove_dir(path: &Path) -> Result<()> {
    match std::fs::remove_dir(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path, e)),
        _ => Ok(()),
    }
}

/// The vault's objects as a backup takes them, each with whether it is a log.
fn object_names(
    u: &super::opening::Unlocked<'_>,
    store: &dyn Store,
) -> Result<Vec<(String, bool)>> {
    let mut names: Vec<(String, bool)> = super::backup_cmds::object_names(u)
        .into_iter()
        .map(|n| (n, false))
        .collect();
    // The whole trail, a log kept aside after a damaged one included.
    for name in store.list(layout::AUDIT)? {
        let log = name.ends_with(".log");
        if log || name == "audit.head" {
            names.push((store::join(layout::AUDIT, &name), log));
        }
    }
    Ok(names)
}

/// Takes `to` for a move from `source`: an empty store gets the marker; one
/// this source's earlier run left in phase "copying" (or "moved", the
/// directory not switched yet) starts over. Anything else is refused (exit 7).
fn claim(to: &SharedStore, source: &str) -> Result<Box<dyn Held>> {
    let occupied = || Error::VaultExists { at: to.locate("") };
    if blank(to.as_ref())? {
        // (What a killed run made is there already: `create` refuses a
        // store that holds anything.)
        if to.list("")?.is_empty() {
            to.create(&[layout::KEYS, layout::CREDS, layout::RECORDS])?;
        }
        let lock = to.lock(layout::LOCK, LockMode::Exclusive)?;
        // Still blank now that it is ours (an `init` may have been under way).
        if !blank(to.as_ref())? {
            return Err(occupied());
        }
        let marker = marker_bytes(source, "copying")?;
        match to.write_new(MARKER, &marker) {
            Err(StoreError::AlreadyExists(_)) => return Err(occupied()),
            other => other?,
        }
        return Ok(lock);
    }
    let lock = to.lock(layout::LOCK, LockMode::Exclusive)?;
    match read_marker(to.as_ref())? {
        Some(m) if m.source == source && !to.exists(layout::ROOT)? => {
            write_marker(to.as_ref(), source, "copying")?;
            Ok(lock)
        }
        Some(m) => Err(Error::Input {
            what: format!(
                "{} holds a move of another vault ({}) that is not finished",
                to.address(),
                m.source
            ),
            fix: "finish that move, or choose another location".into(),
            code: 7,
        }),
        None => Err(occupied()),
    }
}

/// Whether `to` holds nothing but what a run killed before it wrote its
/// marker leaves: the lock (on etcd, until its client's lease ends) and empty
/// folders.
fn blank(to: &dyn Store) -> Result<bool> {
    for name in to.list("")? {
        let folder = [layout::KEYS, layout::CREDS, layout::RECORDS].contains(&name.as_str());
        if name != layout::LOCK && !(folder && to.list(&name)?.is_empty()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Shreds what an earlier run left in the target that this copy does not hold.
fn clear_others(to: &dyn Store, copied: &[(String, bool, Vec<u8>)]) -> Result<()> {
    let keep = |name: &str| {
        copied.iter().any(|(n, _, _)| n == name)
            || [MARKER, STAGED_ROOT, CHECK_LOCK, layout::LOCK].contains(&name)
    };
    for folder in [
        "",
        layout::KEYS,
        layout::CREDS,
        layout::RECORDS,
        layout::AUDIT,
    ] {
        for name in to.list(folder)? {
            let name = store::join(folder, &name);
            let is_folder = folder.is_empty()
                && [layout::KEYS, layout::CREDS, layout::RECORDS, layout::AUDIT]
                    .contains(&name.as_str());
            if !is_folder && !keep(&name) && !name.starts_with(&format!("{}#", layout::LOCK)) {
                to.shred(&name)?;
            }
        }
    }
    Ok(())
}

fn marker_bytes(source: &str, phase: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(&Marker {
        format: MARKER_FORMAT.into(),
        source: source.into(),
        phase: phase.into(),
    })
    .map_err(|e| Error::Internal(format!("cannot serialize the migration marker: {e}")))
}

fn write_marker(to: &dyn Store, source: &str, phase: &str) -> Result<()> {
    to.write(MARKER, &marker_bytes(source, phase)?)
}

fn read_marker(store: &dyn Store) -> Result<Option<Marker>> {
    match to_bytes(store, MARKER)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice::<Marker>(&bytes)
            .ok()
            .filter(|m| m.format == MARKER_FORMAT)
            .map(Some)
            .ok_or_else(|| {
                Error::damaged(store.locate(MARKER), "the migration marker is malformed")
            }),
    }
}

fn stub_of(bytes: &[u8]) -> Option<Stub> {
    let start = format!("{{\"format\":\"{STUB_FORMAT}\"");
    if !bytes.starts_with(start.as_bytes()) {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

/// The root's bytes as read, unless they are the stub of a moved vault.
pub(super) fn refuse_moved(store: &dyn Store, bytes: Vec<u8>) -> Result<Vec<u8>> {
    match stub_of(&bytes) {
        None => Ok(bytes),
        Some(stub) => Err(Error::Moved {
            from: store.locate(""),
            to: stub.to,
        }),
    }
}

/// Why `store` holds no vault: none at all, or a move into it not finished.
pub(super) fn no_vault(store: &dyn Store) -> Error {
    match read_marker(store) {
        Ok(Some(m)) => Error::MigrationUnfinished {
            at: store.locate(""),
            from: m.source,
        },
        _ => Error::NoVault {
            at: store.locate(""),
        },
    }
}

/// Part of a command's leftover collection: a move whose switch is done (the
/// marker says "moved" and the root is in place) but whose marker and staged
/// root a kill left behind.
pub(super) fn collect_leftovers(store: &dyn Store) -> Result<()> {
    let Some(m) = read_marker(store)? else {
        return Ok(());
    };
    if m.phase == "moved" && store.exists(layout::ROOT)? {
        store.shred(STAGED_ROOT)?;
        store.shred(MARKER)?;
    }
    Ok(())
}

/// A clock stopped at the source's time: the copy is checked as of the
/// moment it was taken (no window ends in between).
struct Frozen(DateTime<Utc>);

impl Clock for Frozen {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The target seen with its staged root as its root, and a lock of its own:
/// the copy opened before the switch.
struct Staged(SharedStore);

impl Staged {
    fn name<'a>(&self, name: &'a str) -> &'a str {
        match name {
            layout::ROOT => STAGED_ROOT,
            layout::LOCK => CHECK_LOCK,
            other => other,
        }
    }
}

impl Store for Staged {
    fn address(&self) -> String {
        self.0.address()
    }
    fn unmark(&self, name: &str) {
        self.0.unmark(self.name(name))
    }
    fn locate(&self, name: &str) -> Location {
        self.0.locate(self.name(name))
    }
    fn check_private(&self, folders: &[&str]) -> Result<()> {
        self.0.check_private(folders)
    }
    fn create(&self, folders: &[&str]) -> Result<()> {
        self.0.create(folders)
    }
    fn ensure_folder(&self, folder: &str) -> Result<()> {
        self.0.ensure_folder(folder)
    }
    fn read_up_to(&self, name: &str, max: u64) -> StoreResult<Vec<u8>> {
        self.0.read_up_to(self.name(name), max)
    }
    fn exists(&self, name: &str) -> Result<bool> {
        self.0.exists(self.name(name))
    }
    fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.0.write(self.name(name), bytes)
    }
    fn write_new(&self, name: &str, bytes: &[u8]) -> StoreResult<()> {
        self.0.write_new(self.name(name), bytes)
    }
    fn shred(&self, name: &str) -> Result<()> {
        self.0.shred(self.name(name))
    }
    fn list(&self, folder: &str) -> Result<Vec<String>> {
        self.0.list(folder)
    }
    fn lock(&self, name: &str, mode: LockMode) -> Result<Box<dyn Held>> {
        self.0.lock(self.name(name), mode)
    }
    fn try_lock_now(&self, name: &str, mode: LockMode) -> Option<Box<dyn Held>> {
        self.0.try_lock_now(self.name(name), mode)
    }
    fn mark(&self, name: &str) -> Result<()> {
        self.0.mark(self.name(name))
    }
    fn log_len(&self, name: &str) -> StoreResult<u64> {
        self.0.log_len(name)
    }
    fn log_read(&self, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.0.log_read(name, offset, len)
    }
    fn log_append(&self, name: &str, at: u64, bytes: &[u8]) -> StoreResult<()> {
        self.0.log_append(name, at, bytes)
    }
    fn log_replace(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.0.log_replace(name, bytes)
    }
    fn log_truncate(&self, name: &str, len: u64) -> Result<()> {
        self.0.log_truncate(name, len)
    }
    fn log_reader(&self, name: &str, max: u64) -> StoreResult<Box<dyn std::io::BufRead>> {
        self.0.log_reader(name, max)
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.0.rename(from, to)
    }
}

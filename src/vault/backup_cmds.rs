//! `backup`, `backup verify` and `restore`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::audit::{Action, Event, Outcome};
use crate::error::{Error, Result};
use crate::wipe::Tombstone;

use super::backup::{self, BackupConfig, BackupFile, DEFAULT_RETENTION_DAYS};
use super::format::Ref;
use super::fsio;
use super::layout;
use super::opening::Access;
use super::{Interaction, Vault};
use crate::store::{SharedStore, Store, StoreError};

/// What `backup` did.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The backup files written.
    pub written: Vec<PathBuf>,
    /// The vault's generation they hold.
    pub generation: u64,
    /// How many live interventions they hold.
    pub interventions: usize,
}

/// What `backup verify` found.
#[derive(Debug, Clone)]
pub struct BackupCheck {
    /// When the backup was made.
    pub created_at: DateTime<Utc>,
    /// The vault's generation it holds.
    pub generation: u64,
    /// Live interventions whose credentials were opened and checked.
    pub interventions: usize,
    /// Interventions taken out of it since (wiped in the vault).
    pub taken_out: usize,
}

/// An intervention a restore did not bring back, and why.
#[derive(Debug, Clone)]
pub struct Dropped {
    /// Its tombstone (the current vault's, when it was wiped there).
    pub tombstone: Tombstone,
    /// Why it was not restored.
    pub why: &'static str,
}

/// What `restore` did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The live interventions restored.
    pub restored: Vec<String>,
    /// Those not brought back, with their receipts.
    pub dropped: Vec<Dropped>,
}

impl<'c> Vault<'c> {
    /// The vault in directory `dir`, set up like this one.
    pub(super) fn sibling(&self, dir: PathBuf) -> Vault<'c> {
        self.sibling_in(std::sync::Arc::new(crate::store::dir::DirStore::new(&dir)))
    }

    /// The vault in `store`, set up like this one.
    pub(super) fn sibling_in(&self, store: SharedStore) -> Vault<'c> {
        Vault {
            store,
            clock: self.clock,
            master_cache: std::cell::RefCell::new(None),
            index_cache: std::cell::RefCell::new(None),
            sessions: self.sessions,
            seen_records: self.seen_records,
            ignore_sessions: std::cell::Cell::new(false),
            expired_session: std::cell::Cell::new(None),
            restarting_trail: std::cell::Cell::new(false),
            state_dir: self.state_dir.clone(),
            accept_rollback: self.accept_rollback,
            upkeep_backups: self.upkeep_backups,
            keys_told: std::cell::Cell::new(false),
        }
    }

    /// The default managed backup directory: beside the vault, `<name>-backups`.
    pub(super) fn default_backup_dir(&self) -> Result<PathBuf> {
        let Some(local) = self.store.local_dir() else {
            // A shared store has no "beside": this machine's data directory,
            // one folder per vault.
            let data = std::env::var_os("XDG_DATA_HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| {
                    std::env::var_os("HOME")
                        .map(|h| PathBuf::from(h).join(".local/share"))
                        .filter(|p| p.is_absolute())
                })
                .ok_or_else(|| {
                    Error::usage(
                        "no place for this vault's backups: neither XDG_DATA_HOME nor HOME is set",
                        "give the backup directory",
                    )
                })?;
            return Ok(data.join("intervault-backups").join(self.session_account()));
        };
        let dir = std::fs::canonicalize(local).map_err(|e| Error::io("resolve", local, e))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "intervault".into());
        Ok(dir.with_file_name(format!("{name}-backups")))
    }

    /// Writes a backup into every managed backup directory, or only into `to`,
    /// which then becomes one of them (so that later wipes reach it).
    pub fn backup(&self, to: Option<PathBuf>, ui: &mut dyn Interaction) -> Result<BackupReport> {
        let to = match to {
            Some(dir) if dir.is_relative() => Some(
                std::env::current_dir()
                    .map_err(|e| Error::io("resolve", &dir, e))?
                    .join(dir),
            ),
            other => other,
        };
        let default_dir = self.default_backup_dir()?;
        let mut u = self.unlocked(ui, Access::Write)?;
        let needs_config = match (&u.index.backups, &to) {
            (None, _) => true,
            (Some(c), Some(dir)) => !c.dirs.contains(dir),
            (Some(_), None) => false,
        };
        // Within what every later read accepts (BackupConfig::check).
        let listed = u.index.backups.as_ref().map_or(1, |c| c.dirs.len());
        if needs_config && to.is_some() && listed >= backup::MAX_BACKUP_DIRS {
            return Err(Error::usage(
                format!("the vault already has {listed} managed backup directories"),
                format!(
                    "{} is the most; back up into one of them",
                    backup::MAX_BACKUP_DIRS
                ),
            ));
        }
        if needs_config {
            let template = Event::new(Action::Backup, Outcome::Done);
            let to = to.clone();
            u.audited(template, |u| {
                let config = u.index.backups.get_or_insert_with(|| BackupConfig {
                    id: Ref::random(),
                    dirs: vec![default_dir],
                    retention_days: DEFAULT_RETENTION_DAYS,
                });
                if let Some(dir) = to {
                    if !config.dirs.contains(&dir) {
                        config.dirs.push(dir);
                    }
                }
                let e = Event::new(Action::Backup, Outcome::Done).reason(format!(
                    "managed backup directories: {}",
                    shown(&config.dirs)
                ));
                Ok(((), vec![e]))
            })?;
        }
        let config =
            u.index.backups.clone().ok_or_else(|| {
                Error::Internal("no backup configuration after setting one".into())
            })?;
        let targets = match &to {
            Some(dir) => vec![dir.clone()],
            None => config.dirs.clone(),
        };
        // A managed directory that was away (an unplugged disk) at a wipe is
        // caught up now.
        u.backup_upkeep();
        let mut made =
            Event::new(Action::Backup, Outcome::Done).reason(format!("into {}", shown(&targets)));
        made.count = Some(u.index.interventions.len() as u64);
        u.record(vec![made])?;
        // The vault as it is now, under the exclusive lock.
        let mut files = BTreeMap::new();
        let store = &u.h.store;
        files.insert(layout::ROOT.to_owned(), store.read(layout::ROOT)?);
        for name in object_names(&u) {
            let bytes = store.read(&name)?;
            files.insert(name, bytes);
        }
        for name in ["audit/audit.log", "audit/audit.head"] {
            match store.read_up_to(name, 256 << 20) {
                Ok(bytes) => {
                    files.insert(name.to_owned(), bytes);
                }
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let (name, bytes) = backup::make(&config, &u.master, u.h.now, u.index.generation, files)?;
        let mut written = Vec::new();
        for target in targets {
            // A directory that exists (a mounted disk, a shared folder) keeps
            // its permissions: the backup file itself is 0600. A new one is 0700.
            if !target.is_dir() {
                fsio::create_private_dir(&target)?;
            }
            let path = target.join(&name);
            fsio::write_atomic(&path, &bytes)?;
            written.push(path);
        }
        Ok(BackupReport {
            written,
            generation: u.index.generation,
            interventions: u.index.interventions.len(),
        })
    }

    /// The newest managed backup of this vault (by the time it was made), from
    /// the list of backup directories kept in clear in `vault.json`, so without
    /// the passphrase; `None` when there is none. Whatever it names is then
    /// checked by [`Vault::backup_verify`] against its sealed manifest.
    pub fn latest_backup(&self) -> Result<Option<PathBuf>> {
        let bytes = super::opening::read_root(self.store.as_ref())?;
        let root = super::format::parse_root(&self.store.locate(layout::ROOT), &bytes)?;
        let Some(config) = root.backups else {
            return Ok(None);
        };
        Ok(backup::managed(&config.dirs, &config.id)
            .into_iter()
            .max_by_key(|(_, b)| (b.created_at, b.generation))
            .map(|(path, _)| path))
    }

    /// Checks a backup as a restore would use it: restores it into a private
    /// place (inside the vault directory, see [`VerifyPlace`]; for a vault in
    /// another store, a private temporary directory, see [`TempPlace`]), opens
    /// it with the passphrase, checks every file against the sealed manifest,
    /// opens every live intervention's credentials, and checks its audit
    /// trail. Exit 6 when anything does not hold.
    pub fn backup_verify(&self, file: &Path, ui: &mut dyn Interaction) -> Result<BackupCheck> {
        let b = backup::read(file)?;
        // Headers first: an absurd KDF cost is refused before anything is written.
        b.root(file)?;
        let place = match self.store.local_dir() {
            Some(dir) => Place::InVault(VerifyPlace::new(dir)?),
            None => {
                // Only for a vault that exists (as beside a directory vault).
                super::opening::read_root(self.store.as_ref())?;
                Place::Temporary(TempPlace::new()?)
            }
        };
        let copy = place.dir().join("vault");
        write_vault(&copy, file, &b)?;
        let mut v = Vault::new(copy, self.clock);
        v.upkeep_backups = false;
        let u = v.unlocked(ui, Access::Read)?;
        let manifest = backup::open_manifest(file, &b, &u.master)?;
        backup::check_against(file, &b, &manifest)?;
        let mut interventions = 0;
        for m in &u.index.interventions {
            if b.removed.iter().any(|r| r.reference == m.reference) {
                continue;
            }
            u.load_credentials(m)
                .map_err(|e| Error::damaged(file, format!("intervention '{}': {e}", m.id)))?;
            interventions += 1;
        }
        if b.files.contains_key("audit/audit.log") {
            u.walk_trail(false)
                .map_err(|e| Error::damaged(file, format!("its audit trail: {e}")))?;
        }
        drop(u);
        place.finish()?;
        Ok(BackupCheck {
            created_at: b.created_at,
            generation: b.generation,
            interventions,
            taken_out: b.removed.len(),
        })
    }

    /// Restores a backup into `into` (a new or empty directory), never bringing
    /// back an intervention that is wiped in this vault (if it exists), was taken
    /// out of the backup, or whose window has ended: each is reported with its
    /// receipt.
    pub fn restore(
        &self,
        file: &Path,
        into: &Path,
        ui: &mut dyn Interaction,
    ) -> Result<RestoreReport> {
        self.restore_to(file, Into::Dir(into), ui)
    }

    /// [`Vault::restore`] into `into`, an empty store (an etcd prefix that
    /// holds anything is refused, exit 7, as `init` refuses it).
    pub fn restore_to_store(
        &self,
        file: &Path,
        into: SharedStore,
        ui: &mut dyn Interaction,
    ) -> Result<RestoreReport> {
        match into.local_dir().map(Path::to_owned) {
            Some(dir) => self.restore_to(file, Into::Dir(&dir), ui),
            None => self.restore_to(file, Into::Store(into), ui),
        }
    }

    fn restore_to(
        &self,
        file: &Path,
        into: Into<'_>,
        ui: &mut dyn Interaction,
    ) -> Result<RestoreReport> {
        let b = backup::read(file)?;
        // Its header first (KDF costs, expiry table): refused before any prompt,
        // key derivation or write.
        let backup_root = b.root(file)?;
        let into = match into {
            Into::Dir(dir) => dir,
            Into::Store(store) => {
                if !store.list("")?.is_empty() {
                    return Err(Error::VaultExists {
                        at: store.locate(""),
                    });
                }
                return self.restore_in_store(file, &b, backup_root, store, ui);
            }
        };
        let existed = match std::fs::read_dir(into) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(Error::usage(
                        format!("{} is not empty", into.display()),
                        "restore into a new or empty directory",
                    ));
                }
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(Error::io("read", into, e)),
        };
        // What the current vault has wiped (by reference), when there is one.
        let current: Vec<Tombstone> = match self.unlocked(ui, Access::Read) {
            Ok(u) => u.index.tombstones.clone(),
            Err(Error::NoVault { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let ended: Vec<Ref> = backup_root
            .expiry
            .into_iter()
            .filter(|e| e.until <= self.clock.now())
            .map(|e| e.reference)
            .collect();
        let restored = self.sibling(into.to_owned());
        let result = write_vault(into, file, &b)
            .and_then(|()| self.restore_into(&restored, &b, file, &current, &ended, ui));
        if result.is_err() {
            // Nothing half-restored stays behind: the directory is as it was.
            clear_dir(into, existed);
        }
        result
    }

    fn restore_in_store(
        &self,
        file: &Path,
        b: &BackupFile,
        backup_root: super::format::RootFile,
        store: SharedStore,
        ui: &mut dyn Interaction,
    ) -> Result<RestoreReport> {
        let current: Vec<Tombstone> = match self.unlocked(ui, Access::Read) {
            Ok(u) => u.index.tombstones.clone(),
            Err(Error::NoVault { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let ended: Vec<Ref> = backup_root
            .expiry
            .into_iter()
            .filter(|e| e.until <= self.clock.now())
            .map(|e| e.reference)
            .collect();
        let restored = self.sibling_in(store.clone());
        let result = write_store(store.as_ref(), file, b)
            .and_then(|()| self.restore_into(&restored, b, file, &current, &ended, ui));
        if result.is_err() {
            // Nothing half-restored stays behind: the prefix was empty.
            clear_store(store.as_ref());
        }
        result
    }

    fn restore_into(
        &self,
        restored: &Vault<'_>,
        b: &BackupFile,
        file: &Path,
        current: &[Tombstone],
        ended: &[Ref],
        ui: &mut dyn Interaction,
    ) -> Result<RestoreReport> {
        let mut u = restored.unlocked(ui, Access::Write)?;
        let template = Event::new(Action::Restore, Outcome::Done);
        let from = file.display().to_string();
        let report = u.audited(template, |u| {
            let mut dropped = Vec::new();
            // Ended windows were wiped as the restored vault opened.
            for t in u
                .index
                .tombstones
                .iter()
                .filter(|t| ended.contains(&t.reference))
            {
                dropped.push(Dropped {
                    tombstone: t.clone(),
                    why: "its window has ended",
                });
            }
            let live: Vec<(String, Ref)> = u
                .index
                .interventions
                .iter()
                .map(|m| (m.id.clone(), m.reference.clone()))
                .collect();
            for (id, reference) in live {
                let wiped_here = current.iter().find(|t| t.reference == reference);
                let taken_out = b.removed.iter().find(|r| r.reference == reference);
                let (reason, why) = match (wiped_here, taken_out) {
                    (Some(t), _) => (t.reason, "it is wiped in the current vault"),
                    (None, Some(r)) => (r.reason, "it was wiped after this backup was made"),
                    (None, None) => continue,
                };
                let pos = u.live(&id)?;
                let t = u.wipe(pos, reason)?;
                dropped.push(Dropped {
                    // The client holds the receipt of the real wipe.
                    tombstone: wiped_here.cloned().unwrap_or(t),
                    why,
                });
            }
            // What is brought back goes at its window end on the store too.
            super::opening::tie_to_windows(
                u.h.store.as_ref(),
                u.index.interventions.iter(),
                u.h.now,
            )?;
            let restored: Vec<String> =
                u.index.interventions.iter().map(|m| m.id.clone()).collect();
            let mut e = Event::new(Action::Restore, Outcome::Done)
                .reason(format!("from {from}; {} not brought back", dropped.len()));
            e.count = Some(restored.len() as u64);
            Ok((RestoreReport { restored, dropped }, vec![e]))
        })?;
        Ok(report)
    }
}

/// The objects of the vault as `u` committed it, but the root and the trail:
/// each live intervention's key (unless keys live in the OS keyring: a backup
/// holds none), credentials and record, and the history.
pub(super) fn object_names(u: &super::opening::Unlocked<'_>) -> Vec<String> {
    let key_files = u.index.key_store.is_none();
    let mut names = Vec::new();
    for l in &u.index.loaded.live {
        if key_files {
            names.push(layout::key(&l.reference));
        }
        if let Some(g) = l.creds {
            names.push(layout::creds(&l.reference, g));
        }
        names.push(layout::record(&l.reference, l.record));
    }
    if u.index.loaded.history_gen > 0 {
        names.push(layout::history(u.index.loaded.history_gen));
    }
    names
}

/// Empties `dir` of what a failed restore wrote, and removes it if it was new.
fn clear_dir(dir: &Path, existed: bool) {
    if existed {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Where a restore goes.
enum Into<'a> {
    Dir(&'a Path),
    Store(SharedStore),
}

/// Writes a backup's files as a vault in `store`, the root last (until it is
/// there, no command opens the vault).
fn write_store(store: &dyn Store, file: &Path, b: &BackupFile) -> Result<()> {
    store.create(&[layout::KEYS, layout::CREDS, layout::RECORDS])?;
    for name in b.files.keys().filter(|n| *n != layout::ROOT) {
        let bytes = b.file(file, name)?.unwrap_or_default();
        match name.ends_with(".log") {
            true => store.log_replace(name, &bytes)?,
            false => store.write(name, &bytes)?,
        }
    }
    let root = b.file(file, layout::ROOT)?.unwrap_or_default();
    store.write(layout::ROOT, &root)
}

/// Shreds everything a failed restore wrote into an empty store.
fn clear_store(store: &dyn Store) {
    let _ = store.shred(layout::ROOT);
    for folder in [
        layout::KEYS,
        layout::CREDS,
        layout::RECORDS,
        layout::AUDIT,
        "",
    ] {
        for name in store.list(folder).unwrap_or_default() {
            let _ = store.shred(&crate::store::join(folder, &name));
        }
    }
}

/// Writes a backup's files as a vault in `dir` (created 0700, files 0600).
fn write_vault(dir: &Path, file: &Path, b: &BackupFile) -> Result<()> {
    for sub in ["", "keys", "creds", "records", "audit"] {
        fsio::create_private_dir(&dir.join(sub))?;
    }
    for name in b.files.keys() {
        let bytes = b.file(file, name)?.unwrap_or_default();
        fsio::write_atomic(&dir.join(name), &bytes)?;
    }
    Ok(())
}

/// The names of what `backup verify` writes in the vault directory:
/// `.verify-REF/` (the copy) and `.verify-REF.lock`.
const VERIFY_PREFIX: &str = ".verify-";
const VERIFY_LOCK_SUFFIX: &str = ".lock";

/// Where `backup verify` restores the backup it checks: a private directory
/// inside the vault directory, never `$TMPDIR`. A copy there opens with the
/// passphrase of its day like the backup itself, so it must stay where wipes and
/// leftover collection reach it: the verify shreds it when it ends, and a verify
/// killed half-way leaves the vault's change marker, so that the next command
/// collects the copy ([`collect_verify_leftovers`]) unless its lock shows that
/// the verify is still running.
struct VerifyPlace {
    dir: PathBuf,
    lock_path: PathBuf,
    vault_dir: PathBuf,
    /// Whether this verify made the change marker (and so may remove it).
    made_marker: bool,
    _lock: fsio::VaultLock,
}

impl VerifyPlace {
    fn new(vault_dir: &Path) -> Result<Self> {
        // Only inside an existing vault directory, which is private.
        match std::fs::symlink_metadata(vault_dir.join("vault.json")) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoVault {
                    at: vault_dir.into(),
                })
            }
            Err(e) => return Err(Error::io("inspect", vault_dir.join("vault.json"), e)),
            Ok(_) => fsio::check_private_dir(vault_dir)?,
        }
        let marker = vault_dir.join(layout::CHANGING);
        let made_marker = std::fs::symlink_metadata(&marker).is_err();
        fsio::create_marker(&marker)?;
        let name = format!("{VERIFY_PREFIX}{}", Ref::random());
        let lock_path = vault_dir.join(format!("{name}{VERIFY_LOCK_SUFFIX}"));
        // The lock before the directory: a collector never sees the directory
        // without a lock that says whether its verify is still running.
        let lock = fsio::lock(&lock_path, fsio::LockMode::Exclusive)?;
        let dir = vault_dir.join(name);
        let place = VerifyPlace {
            dir,
            lock_path,
            vault_dir: vault_dir.to_owned(),
            made_marker,
            _lock: lock,
        };
        fsio::create_private_dir(&place.dir)?;
        Ok(place)
    }

    /// Shreds the copy, and says so if it could not.
    fn finish(self) -> Result<()> {
        let shredded = shred_tree(&self.dir);
        self.release_marker();
        shredded
    }

    /// Removes the change marker this verify made, once no writer holds the
    /// vault (a writer that found it there counts on it) and the copy is gone.
    fn release_marker(&self) {
        if !self.made_marker || std::fs::symlink_metadata(&self.dir).is_ok() {
            return;
        }
        if let Some(_held) = fsio::try_lock_now(
            &self.vault_dir.join("vault.lock"),
            fsio::LockMode::Exclusive,
        ) {
            let _ = std::fs::remove_file(self.vault_dir.join(layout::CHANGING));
        }
    }
}

/// Where `backup verify` restores a backup: see [`VerifyPlace`] and [`TempPlace`].
enum Place {
    InVault(VerifyPlace),
    Temporary(TempPlace),
}

impl Place {
    fn dir(&self) -> &Path {
        match self {
            Place::InVault(p) => &p.dir,
            Place::Temporary(p) => p.path(),
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Place::InVault(p) => p.finish(),
            Place::Temporary(p) => p.finish(),
        }
    }
}

/// Where `backup verify` restores the backup it checks for a vault that is not
/// in a directory (an etcd vault has no "inside"): a private (0700) directory
/// under `$XDG_RUNTIME_DIR` (a per-user tmpfs, emptied at logout, where one
/// exists), else the system's temporary directory. The copy is shredded when
/// the verify ends, failed or not; only a verify killed half-way leaves it,
/// still sealed with the passphrase of its day, until the tmpfs goes.
struct TempPlace {
    dir: Option<tempfile::TempDir>,
}

impl TempPlace {
    fn new() -> Result<Self> {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && p.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let dir = tempfile::Builder::new()
            .prefix("intervault-verify-")
            .tempdir_in(&base)
            .map_err(|e| Error::io("create a private directory in", &base, e))?;
        fsio::create_private_dir(dir.path())?;
        Ok(TempPlace { dir: Some(dir) })
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }

    fn finish(mut self) -> Result<()> {
        match self.dir.take() {
            Some(dir) => {
                let shredded = shred_tree(dir.path());
                drop(dir);
                shredded
            }
            None => Ok(()),
        }
    }
}

impl Drop for TempPlace {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = shred_tree(dir.path());
        }
    }
}

impl Drop for VerifyPlace {
    fn drop(&mut self) {
        // A failed verify: shred the copy (a second call after finish is a no-op).
        if shred_tree(&self.dir).is_ok() {
            let _ = fsio::shred(&self.lock_path);
            self.release_marker();
        }
    }
}

/// Shreds what killed or failed `backup verify`s left in `vault_dir`: every
/// `.verify-*` copy whose lock no running verify holds. Part of the vault's
/// leftover collection: a copy left to a running verify is an error, so that
/// the vault's change marker stays until a later command collects it.
pub(super) fn collect_verify_leftovers(store: &dyn Store) -> Result<()> {
    let Some(vault_dir) = store.local_dir() else {
        return Ok(());
    };
    let mut running = false;
    for name in fsio::list_dir(vault_dir)? {
        let Some(rest) = name.strip_prefix(VERIFY_PREFIX) else {
            continue;
        };
        let base = rest.strip_suffix(VERIFY_LOCK_SUFFIX).unwrap_or(rest);
        let dir = vault_dir.join(format!("{VERIFY_PREFIX}{base}"));
        let lock_path = vault_dir.join(format!("{VERIFY_PREFIX}{base}{VERIFY_LOCK_SUFFIX}"));
        let held = std::fs::symlink_metadata(&lock_path).is_ok();
        let lock = fsio::try_lock_now(&lock_path, fsio::LockMode::Exclusive);
        if held && lock.is_none() {
            running = true;
            continue;
        }
        shred_tree(&dir)?;
        fsio::shred(&lock_path)?;
    }
    if running {
        return Err(Error::io(
            "collect the copy of a running backup verify in",
            vault_dir,
            std::io::Error::new(std::io::ErrorKind::ResourceBusy, "it is still running"),
        ));
    }
    Ok(())
}

/// Shreds every file under `path` and removes its directories; never follows a
/// symlink. Gives the first error met (everything is still tried).
pub(super) fn shred_tree(path: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("inspect", path, e)),
    };
    if !meta.is_dir() {
        return fsio::shred(path);
    }
    let mut first_error = None;
    for name in fsio::list_dir(path)? {
        if let Err(e) = shred_tree(&path.join(name)) {
            first_error.get_or_insert(e);
        }
    }
    if let Err(e) = std::fs::remove_dir(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            first_error.get_or_insert(Error::io("remove", path, e));
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// A list of directories, for a record or a message.
fn shown(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

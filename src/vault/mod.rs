//! The vault: opening, unlocking, committing, and the commands built on them.
//!
//! A command opens the vault in three steps: take the lock and read the clear root
//! ([`opening`]), wipe every intervention whose window has ended without needing the
//! passphrase, then (for keyed commands) unlock the master key and index. Changes are
//! made in memory and committed at once: new key and credential files first, then
//! the root, then the shredding of what the root no longer names.

mod audit_view;
pub mod backup;
mod backup_cmds;
mod clients;
mod credentials;
pub mod format;
mod interventions;
pub mod keystore;
mod layout;
mod migrate;
mod opening;
mod recording;
mod retention;
mod rollback;
mod status;
mod trail;
mod unlocked;

/// The file system discipline, now under [`crate::store`]; kept here for the
/// paths that name it.
pub use crate::store::fsio;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::crypto::{KdfParams, SecretText};
use crate::error::Result;
use crate::intervention::{Status, Window};
use crate::wipe::WipeRecord;

pub use audit_view::AuditView;
pub use backup_cmds::{BackupCheck, BackupReport, Dropped, RestoreReport};
pub use clients::{ClientReport, ClientSummary, Erasure, ReportedEntry, ReportedIntervention};
pub use credentials::{Fetched, NewCredential, StoredCredential};
pub use format::Retention;
pub use interventions::{
    Closed, EntryView, InitOptions, InterventionDetail, InterventionSummary, NewEnd,
    NewIntervention, SweepReport, WindowSpec,
};
pub use migrate::MigrateReport;
pub use retention::{RetentionChange, RetentionView};
pub use status::StatusReport;
pub use unlocked::{DEFAULT_UNLOCK, MAX_UNLOCK};

/// What the library asks of the person at the keyboard; the binary implements it.
pub trait Interaction {
    /// A passphrase for `purpose`. Implementations return
    /// [`crate::Error::NoPassphrase`] when none is available.
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<SecretText>;
    /// The secret value of a credential being added.
    fn secret(&mut self, intervention: &str, name: &str) -> Result<SecretText>;
    /// The TOTP seed (`otpauth://` URI or base32) of a credential being added.
    fn totp_seed(&mut self, intervention: &str, name: &str) -> Result<SecretText>;
    /// Something the user should know, such as an automatic wipe.
    fn notice(&mut self, notice: Notice);
    /// Whether to go ahead with `what`, asked before anything is destroyed and
    /// while the vault is not locked: `Ok(false)` leaves the vault as it was
    /// ([`crate::Error::Declined`]). An implementation that cannot ask (no
    /// terminal, a script) decides by its own policy.
    fn confirm(&mut self, what: &Destruction) -> Result<bool>;
}

/// What a command is about to destroy, for [`Interaction::confirm`]. The command
/// checks once more, with the vault locked, that this is still exactly what it
/// destroys, and destroys nothing otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Destruction {
    /// `close`: an intervention and all its credentials.
    Close {
        /// The intervention.
        id: String,
        /// Its client.
        client: String,
        /// The names of its credentials.
        names: Vec<String>,
    },
    /// `rm`: one credential.
    Remove {
        /// The intervention.
        id: String,
        /// Its client.
        client: String,
        /// The credential's name.
        name: String,
    },
    /// `client erase`: a client's live interventions, and its name everywhere.
    ClientErase {
        /// The client's name.
        client: String,
        /// Its live interventions, each with the names of its credentials.
        interventions: Vec<(String, Vec<String>)>,
        /// How many of its tombstones lose the name.
        tombstones: usize,
    },
}

impl Destruction {
    /// The refusal when the user answers no.
    pub fn declined(&self) -> crate::Error {
        let what = match self {
            Destruction::Close { id, .. } => format!("'{id}' not closed"),
            Destruction::Remove { id, name, .. } => format!("'{id}/{name}' not removed"),
            Destruction::ClientErase { client, .. } => format!("client '{client}' not erased"),
        };
        crate::Error::Declined { what }
    }

    /// The refusal when the vault changed between the question and the answer.
    pub(crate) fn changed(&self) -> crate::Error {
        let what = match self {
            Destruction::Close { id, .. } | Destruction::Remove { id, .. } => {
                format!("'{id}' changed while you answered")
            }
            Destruction::ClientErase { client, .. } => {
                format!("what the vault holds about client '{client}' changed while you answered")
            }
        };
        crate::Error::Input {
            what,
            fix: "nothing was destroyed; run the command again to see what it would destroy now"
                .into(),
            code: 1,
        }
    }
}

/// Why a passphrase is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphrasePurpose {
    /// To open the vault.
    Unlock,
    /// To open the vault if a passphrase is at hand without prompting (sweep).
    UnlockIfAvailable,
    /// The passphrase of a new vault (confirm it when prompting).
    NewVault,
    /// The new passphrase for `passwd` (confirm it when prompting).
    NewPassphrase,
}

/// Something that happened that the user should hear about.
#[derive(Debug, Clone)]
pub enum Notice {
    /// An intervention was wiped because its window ended.
    Expired(WipeRecord),
    /// The KDF parameters chosen at `init` are below the OWASP floor.
    WeakKdf(KdfParams),
    /// `init` calibrated the KDF's passes on this machine.
    KdfCalibrated {
        /// The parameters chosen.
        params: KdfParams,
        /// How long one derivation is expected to take with them.
        expected: std::time::Duration,
    },
    /// Less than [`ENDING_SOON`] is left in the window of a fetched credential.
    EndingSoon {
        /// The intervention.
        id: String,
        /// Its window end.
        until: DateTime<Utc>,
        /// The time of the fetch.
        now: DateTime<Utc>,
    },
    /// The unlocked session was ended by intervault.
    SessionEnded {
        /// Why, as a phrase ("the passphrase changed").
        why: &'static str,
    },
    /// An earlier wipe's key destruction was pending (its key store could not
    /// be reached) and this command finished it: the wipe is now complete.
    KeyDestroyed {
        /// The wiped intervention's reference.
        reference: format::Ref,
        /// When it was wiped.
        since: DateTime<Utc>,
    },
    /// Wiped interventions whose key could not be destroyed from here yet.
    KeysPending {
        /// How many.
        count: usize,
        /// When the oldest was wiped.
        since: DateTime<Utc>,
    },
    /// A credential reached its `--max-uses` and was wiped after this fetch.
    UsedUp {
        /// The intervention.
        id: String,
        /// The credential.
        name: String,
    },
}

/// The audit trail's file format and its checks, for tools that read the trail
/// and for fuzzing (docs/audit.md describes the format).
pub mod audit_log {
    pub use super::trail::line::{checkpoint, hash, pending, sealed, Kind, Line, Pending, GENESIS};
    pub use super::trail::{check_log, TrailKeys, Walked};
}

/// Below this much time left in the window, fetches warn.
pub const ENDING_SOON: chrono::TimeDelta = chrono::TimeDelta::minutes(30);

/// The vault in a store (a directory, or a shared store), read through a clock.
pub struct Vault<'c> {
    store: crate::store::SharedStore,
    clock: &'c dyn Clock,
    master_cache: std::cell::RefCell<Option<opening::CachedMaster>>,
    /// The index read by this command's last unlocking (a command such as `add`
    /// opens the vault twice: the second read is skipped when nothing changed).
    index_cache: std::cell::RefCell<Option<opening::CachedIndex>>,
    sessions: Option<&'c dyn crate::session_store::SessionStore>,
    /// Where the keyring copy of the rollback record lives (it must outlive the
    /// login, unlike a session).
    seen_records: Option<&'c dyn crate::os_keyring::SecretStore>,
    ignore_sessions: std::cell::Cell<bool>,
    expired_session: std::cell::Cell<Option<DateTime<Utc>>>,
    /// Set while `audit restart` opens the vault: a damaged trail must not stop it.
    restarting_trail: std::cell::Cell<bool>,
    /// Where the last generation seen of each vault is kept (rollback detection).
    state_dir: Option<PathBuf>,
    /// Whether an older copy of the vault is accepted (`--accept-rollback`).
    accept_rollback: bool,
    /// Whether wipes reach the managed backups (off for a copy being checked).
    upkeep_backups: bool,
    /// Whether this command already told of pending key destructions.
    keys_told: std::cell::Cell<bool>,
}

impl<'c> Vault<'c> {
    /// The vault in directory `dir`; nothing is read until a command runs.
    pub fn new(dir: PathBuf, clock: &'c dyn Clock) -> Self {
        Self::in_store(
            std::sync::Arc::new(crate::store::dir::DirStore::new(&dir)),
            clock,
        )
    }

    /// The vault in `store`; nothing is read until a command runs.
    pub fn in_store(store: crate::store::SharedStore, clock: &'c dyn Clock) -> Self {
        Vault {
            store,
            clock,
            master_cache: std::cell::RefCell::new(None),
            index_cache: std::cell::RefCell::new(None),
            sessions: None,
            seen_records: None,
            ignore_sessions: std::cell::Cell::new(false),
            expired_session: std::cell::Cell::new(None),
            restarting_trail: std::cell::Cell::new(false),
            state_dir: None,
            accept_rollback: false,
            upkeep_backups: true,
            keys_told: std::cell::Cell::new(false),
        }
    }

    /// Lets commands use (and `unlock` create) sessions kept in `store`.
    pub fn with_sessions(mut self, store: &'c dyn crate::session_store::SessionStore) -> Self {
        self.sessions = Some(store);
        self
    }

    /// Keeps a second copy of the last generation seen of this vault in `store`
    /// (the user's keyring: reachable from every login, outliving logout).
    pub fn with_seen_records(mut self, store: &'c dyn crate::os_keyring::SecretStore) -> Self {
        self.seen_records = Some(store);
        self
    }

    /// Keeps the last generation seen of this vault under `dir` (and in the
    /// keyring given to [`Vault::with_seen_records`]), and refuses an older copy
    /// of the vault.
    pub fn with_state_dir(mut self, dir: PathBuf) -> Self {
        self.state_dir = Some(dir);
        self
    }

    /// Accepts an older copy of the vault once: the interventions wiped since
    /// are wiped again first (`--accept-rollback`).
    pub fn accepting_rollback(mut self) -> Self {
        self.accept_rollback = true;
        self
    }

    /// Forgets the master key kept for the rest of this command (for a command
    /// that goes on running, such as `exec`, once it has what it needs).
    pub fn forget_keys(&self) {
        self.master_cache.borrow_mut().take();
    }

    /// Where the vault is, as the user gives it: a directory, or a URL.
    pub fn address(&self) -> String {
        self.store.address()
    }

    /// The vault's directory, when it is kept in one.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.store.local_dir()
    }
}

/// The status of a live intervention at `now` (an ended one is about to be wiped).
fn live_status(window: &Window, now: DateTime<Utc>) -> Status {
    match window.phase(now) {
        crate::intervention::Phase::Scheduled => Status::Scheduled,
        _ => Status::Active,
    }
}

#[cfg(test)]
mod audit_tests;
#[cfg(test)]
mod backup_tests;
#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod lease_tests;
#[cfg(test)]
mod migrate_tests;
#[cfg(test)]
mod reader_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

//! Typed errors, each with the exit code the command-line contract gives it.
//!
//! Every message reads as one line, `what happened: what to do`, and is printed by
//! the binary behind `intervault: `. No variant ever carries a secret: credential
//! values, passphrases and decrypted bytes never reach an error.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::timefmt::{format_local, format_utc};

/// Where vault data lives, for messages: a file of a directory vault, or a
/// key of a shared store (never a made-up path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file or directory.
    Path(PathBuf),
    /// An entry of the OS keyring.
    Keyring {
        /// The keyring entry's account name.
        account: String,
    },
    /// A key (or key prefix) in a store addressed by a URL.
    Key {
        /// The store's address (`etcd://HOST:PORT/PREFIX`).
        store: String,
        /// The key, relative to the store's prefix (empty: the prefix itself).
        key: String,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Path(path) => write!(f, "{}", path.display()),
            Location::Keyring { account } => write!(f, "the OS keyring ({account})"),
            Location::Key { store, key } if key.is_empty() => f.write_str(store),
            Location::Key { store, key } => write!(f, "{store} (key {key})"),
        }
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Self {
        Location::Path(path)
    }
}

impl From<&std::path::Path> for Location {
    fn from(path: &std::path::Path) -> Self {
        Location::Path(path.to_owned())
    }
}

impl From<&Location> for Location {
    fn from(at: &Location) -> Self {
        at.clone()
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Self {
        Location::Path(path.clone())
    }
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, grouped by the contract's exit codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A malformed argument: ID, name, time, duration, kind or window (exit 2).
    #[error("{what}: {fix}")]
    Usage {
        /// What was wrong with the input.
        what: String,
        /// What the user should give instead.
        fix: String,
    },

    /// The vault directory (or store prefix) holds no vault (exit 5).
    #[error(
        "no vault at {at}: create one with 'intervault init', or choose the location of your vault"
    )]
    NoVault {
        /// Where the vault was looked for.
        at: Location,
    },

    /// The directory vault was moved elsewhere by `migrate`, whose wipe of the
    /// directory has not finished (exit 5: the vault is not here).
    #[error("the vault at {from} was moved to {to}: use it there; the move was interrupted before this directory was wiped: run the move again, to the same location, to finish it")]
    Moved {
        /// The directory.
        from: Location,
        /// Where the vault is now.
        to: String,
    },

    /// A store holds a move of a directory vault into it that is not finished
    /// (exit 5: no vault here yet).
    #[error("no vault at {at} yet: the move of the directory vault {from} into it was interrupted; run the move again on the machine that holds that directory, to finish it")]
    MigrationUnfinished {
        /// The store.
        at: Location,
        /// The directory the vault comes from.
        from: String,
    },

    /// `init` found a vault already there (exit 7).
    #[error("a vault already exists at {at}: use it, or choose another location for the new one")]
    VaultExists {
        /// The existing vault.
        at: Location,
    },

    /// The passphrase did not open the vault (exit 4).
    #[error("wrong passphrase: the vault was not unlocked; try again (check the passphrase file or variable, if one is set)")]
    WrongPassphrase,

    /// No passphrase source was available (exit 4).
    #[error("no passphrase available: {hint}")]
    NoPassphrase {
        /// How to give one.
        hint: String,
    },

    /// No live intervention and no tombstone has this ID (exit 5).
    #[error("no intervention '{id}': list every intervention, the wiped ones included, for the IDs in this vault")]
    NoSuchIntervention {
        /// The ID asked for.
        id: String,
    },

    /// The intervention holds no credential of this name (exit 5).
    #[error("no credential '{name}' in intervention '{id}': see 'intervault show {id}' for its credentials")]
    NoSuchCredential {
        /// The intervention.
        id: String,
        /// The credential asked for.
        name: String,
    },

    /// No live intervention and no tombstone names this client (exit 5).
    #[error(
        "no client '{name}' in this vault: see 'intervault client list' for the clients it holds"
    )]
    NoSuchClient {
        /// The name asked for.
        name: String,
    },

    /// The credential exists but the field asked for was never set (exit 5).
    #[error(
        "credential '{name}' in '{id}' has no {field}: it was never set; ask for another field, or add the credential again, replacing it"
    )]
    FieldNotSet {
        /// The intervention.
        id: String,
        /// The credential.
        name: String,
        /// The field that is empty.
        field: &'static str,
    },

    /// The intervention's window has not started (exit 3).
    #[error("intervention '{id}' is scheduled: its window opens at {}; credentials can be fetched from then on", format_local(*from))]
    NotYetOpen {
        /// The intervention.
        id: String,
        /// When its window opens.
        from: DateTime<Utc>,
    },

    /// The intervention was wiped, by `close` or by the end of its window (exit 3).
    #[error("intervention '{id}' is {reason}: its credentials were wiped at {}; open a new intervention if more work is agreed", format_local(*wiped_at))]
    Wiped {
        /// The intervention.
        id: String,
        /// `closed` or `expired`.
        reason: crate::lifecycle::WipeReason,
        /// When it was wiped.
        wiped_at: DateTime<Utc>,
    },

    /// Processing of the intervention is restricted by `freeze` (exit 3).
    #[error("intervention '{id}' is frozen since {} ({reason}): every fetch is refused until 'intervault unfreeze {id}'", format_local(*since))]
    Frozen {
        /// The intervention.
        id: String,
        /// Why, as given to `freeze`.
        reason: String,
        /// Since when.
        since: DateTime<Utc>,
    },

    /// The system clock is behind the latest time the vault has seen (exit 3).
    #[error("the clock went backwards: it reads {} but the vault has already seen {}; fix the system time before using the vault", format_local(*now), format_local(*seen))]
    ClockWentBack {
        /// What the clock says now.
        now: DateTime<Utc>,
        /// The high-water mark kept in the vault.
        seen: DateTime<Utc>,
    },

    /// The ID is taken by a live intervention or a tombstone (exit 7).
    #[error("intervention '{id}' already exists{}: choose another ID", if *tombstone { " as a tombstone (IDs stay reserved after a wipe)" } else { "" })]
    InterventionExists {
        /// The ID asked for.
        id: String,
        /// Whether the holder is a tombstone.
        tombstone: bool,
    },

    /// The credential name is taken (exit 7).
    #[error("credential '{name}' already exists in '{id}': choose another name, or add it again, replacing it")]
    CredentialExists {
        /// The intervention.
        id: String,
        /// The credential name.
        name: String,
    },

    /// Vault data failed to decrypt, parse or verify (exit 6).
    #[error("damaged vault data in {at}: {what}; restore the vault from a backup")]
    Damaged {
        /// The file or key at fault.
        at: Location,
        /// What is wrong with it.
        what: String,
    },

    /// A vault file or directory is not safe to use (exit 6).
    #[error("unsafe vault file {}: {problem}; {fix}", path.display())]
    UnsafeFile {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// How to repair it.
        fix: String,
    },

    /// The vault was written by a newer intervault (exit 6).
    #[error("unsupported vault format version {found} in {at}: this intervault reads version {supported}; upgrade intervault")]
    UnsupportedVersion {
        /// The vault root.
        at: Location,
        /// The version found.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },

    /// The unlocked session ended and no other passphrase source is available (exit 4).
    #[error("the unlocked session ended at {}: run 'intervault unlock' again, or give a passphrase", format_local(*at))]
    SessionExpired {
        /// When it ended.
        at: DateTime<Utc>,
    },

    /// The OS keyring is missing or failing (exit 1).
    #[error("{what}: the vault stays locked; on Linux, run intervault inside a session keyring of its own ('keyctl session - bash', package keyutils), or use a build with the Secret Service (GNOME Keyring, KWallet)")]
    Keyring {
        /// What went wrong.
        what: String,
    },

    /// The lock was held by another command for too long (exit 1).
    #[error("the vault is busy: another intervault command has held it for more than {seconds} s; try again when it has finished")]
    Busy {
        /// How long we waited.
        seconds: u64,
    },

    /// Another command changed the vault between this command's read and its
    /// write, past what it could retry (exit 1): this one changed nothing.
    #[error("{at} was changed by another command while this one ran: nothing was changed by this one; run it again")]
    Conflict {
        /// What changed.
        at: Location,
    },

    /// The vault's store could not be reached or refused this client (exit 1).
    #[error("{what}: {fix}")]
    Unreachable {
        /// What failed, naming where (every endpoint tried).
        what: String,
        /// What to do.
        fix: String,
    },

    /// An operating-system call failed (exit 1).
    #[error("could not {op} {}: {source}; {}", path.display(), io_fix(source))]
    Io {
        /// What we were doing, as a verb phrase (`read`, `write`, `lock`).
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },

    /// Reading a secret or passphrase from the user failed (exit 1, or 2 when empty).
    #[error("{what}: {fix}")]
    Input {
        /// What went wrong.
        what: String,
        /// What to do.
        fix: String,
        /// Exit code: 2 for refused input, 1 for an I/O failure.
        code: u8,
    },

    /// The user answered no to the question before a destruction (exit 1):
    /// nothing was changed.
    #[error(
        "{what}: you answered no, so nothing was changed (answer y, or confirm in advance, to go ahead)"
    )]
    Declined {
        /// What was not done, as a phrase (`'acme' not closed`).
        what: String,
    },

    /// A wipe happened but the destruction of its key is pending: the key store
    /// (the OS keyring of another login session) cannot be reached (exit 1).
    #[error("{what}, but {count} intervention key(s) could not be destroyed from this login session (the OS keyring that holds them cannot be reached here): the destruction is recorded as pending, and until it is done a copy of the vault taken earlier still opens those credentials with the passphrase; run any intervault command where the keyring can be reached (the login session that stored the keys) to finish it")]
    KeysPending {
        /// What did happen ("closed 'acme'").
        what: String,
        /// How many keys wait.
        count: usize,
    },

    /// A wipe happened, but the store still keeps old revisions of what it
    /// wiped: the purge (etcd: compaction and defragmentation) could not be
    /// done from here (exit 1, from `sweep`, which is there to finish it).
    #[error("{what}, but the cluster still keeps old revisions of what was wiped ({why}): they hold only ciphertext, but until they are compacted whoever has a copy of the cluster's data and the passphrase could read them back; run 'intervault sweep' with a client certificate that has etcd's root role, on a machine that reaches every member, to finish it")]
    PurgePending {
        /// What did happen ("swept 2 intervention(s)").
        what: String,
        /// Why the purge could not be done.
        why: String,
    },

    /// An intervention's key is not in the OS keyring any more (exit 6).
    #[error("the key of intervention {reference} is not in the OS keyring: {why}")]
    KeyNotInKeyring {
        /// The intervention's opaque reference.
        reference: String,
        /// Whether the store itself is out of reach, and what to do.
        why: String,
    },

    /// The vault is older than what this machine has seen of it (exit 6).
    #[error("the vault was rolled back: it is at generation {found}, but this machine has seen generation {seen}; an older copy was put back, which would bring back interventions wiped since; if you restored it on purpose, run the command again accepting the rollback (it wipes those interventions again first)")]
    RolledBack {
        /// The vault's generation.
        found: u64,
        /// The highest generation seen.
        seen: u64,
    },

    /// The vault's store is not the one this machine has seen it in, or its
    /// history went back (exit 6): an etcd cluster restored from a snapshot.
    #[error("{what}; if you restored it on purpose, run the command again accepting the rollback (it wipes those interventions again first)")]
    StoreRolledBack {
        /// What was found where what was seen, as a phrase.
        what: String,
    },

    /// The audit trail failed a check (exit 6): named record, or its head.
    #[error("the audit trail is broken at {}: {what}; keep a copy of the vault directory as evidence, then 'intervault audit restart' starts a new trail (see 'man intervault-audit')", record.map_or_else(|| "its head".to_owned(), |n| format!("record {n}")))]
    AuditBroken {
        /// The first bad record (`None`: the head).
        record: Option<u64>,
        /// What is wrong with it.
        what: String,
    },

    /// An access or change was refused because its audit record could not be
    /// written (exit code of the cause).
    #[error("refused, because the audit trail could not record it: {0}")]
    NotRecorded(Box<Error>),

    /// A bug or an impossible state (exit 1).
    #[error("internal error: {0}; please report it")]
    Internal(String),
}

impl Error {
    /// The process exit code the contract gives this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } => 2,
            Error::NoVault { .. }
            | Error::Moved { .. }
            | Error::MigrationUnfinished { .. }
            | Error::NoSuchIntervention { .. }
            | Error::NoSuchCredential { .. }
            | Error::NoSuchClient { .. }
            | Error::FieldNotSet { .. } => 5,
            Error::WrongPassphrase | Error::NoPassphrase { .. } | Error::SessionExpired { .. } => 4,
            Error::NotYetOpen { .. }
            | Error::Wiped { .. }
            | Error::Frozen { .. }
            | Error::ClockWentBack { .. } => 3,
            Error::VaultExists { .. }
            | Error::InterventionExists { .. }
            | Error::CredentialExists { .. } => 7,
            Error::Damaged { .. }
            | Error::UnsafeFile { .. }
            | Error::UnsupportedVersion { .. }
            | Error::AuditBroken { .. }
            | Error::RolledBack { .. }
            | Error::StoreRolledBack { .. }
            | Error::KeyNotInKeyring { .. } => 6,
            Error::NotRecorded(cause) => cause.exit_code(),
            Error::Input { code, .. } => *code,
            Error::Busy { .. }
            | Error::Conflict { .. }
            | Error::Unreachable { .. }
            | Error::Declined { .. }
            | Error::Io { .. }
            | Error::Keyring { .. }
            | Error::KeysPending { .. }
            | Error::PurgePending { .. }
            | Error::Internal(_) => 1,
        }
    }

    /// Why, as the audit trail records a refusal: a short phrase that names no
    /// intervention, credential or client (the record's own fields do), with
    /// times in UTC. Only text the user typed (a freeze reason) is quoted, and the
    /// trail scrubs client names from it.
    pub fn audit_reason(&self) -> String {
        match self {
            Error::NoSuchIntervention { .. } => "no such intervention".into(),
            Error::NoSuchCredential { .. } => "no such credential".into(),
            Error::NoSuchClient { .. } => "no client of that name".into(),
            Error::FieldNotSet { field, .. } => format!("its {field} was never set"),
            Error::NotYetOpen { from, .. } => {
                format!("scheduled: the window opens at {}", format_utc(*from))
            }
            Error::Wiped {
                reason, wiped_at, ..
            } => format!("{reason}: wiped at {}", format_utc(*wiped_at)),
            Error::Frozen { reason, since, .. } => {
                format!("frozen since {}: {reason}", format_utc(*since))
            }
            Error::ClockWentBack { now, seen } => format!(
                "the clock went backwards: it read {}, the vault had seen {}",
                format_utc(*now),
                format_utc(*seen)
            ),
            Error::InterventionExists { tombstone, .. } => match tombstone {
                true => "the ID is held by a tombstone".into(),
                false => "the ID is taken".into(),
            },
            Error::CredentialExists { .. } => "a credential of that name exists".into(),
            Error::Usage { what, .. } => what.clone(),
            Error::AuditBroken { record, what } => match record {
                Some(n) => format!("the trail is broken at record {n}: {what}"),
                None => format!("the trail is broken at its head: {what}"),
            },
            Error::NotRecorded(cause) => {
                format!("the trail could not record it: {}", cause.audit_reason())
            }
            other => other.to_string(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Usage {
            what: what.into(),
            fix: fix.into(),
        }
    }

    /// Damaged data at `at` (exit 6).
    pub fn damaged(at: impl Into<Location>, what: impl Into<String>) -> Self {
        Error::Damaged {
            at: at.into(),
            what: what.into(),
        }
    }

    /// An I/O failure doing `op` on `path` (exit 1).
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// What to do about an I/O failure, by its cause.
fn io_fix(e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(code) if code == rustix::io::Errno::NOSPC.raw_os_error() => {
            "free some disk space and try again (the vault was not changed)"
        }
        Some(code) if code == rustix::io::Errno::DQUOT.raw_os_error() => {
            "free some space within your disk quota and try again (the vault was not changed)"
        }
        _ => "check the path and its permissions",
    }
}

impl From<crate::timefmt::ParseError> for Error {
    fn from(e: crate::timefmt::ParseError) -> Self {
        // The parse error already says what is accepted; split it at its own colon.
        match e.0.split_once(": ") {
            Some((what, fix)) => Error::usage(what, fix),
            None => Error::usage(e.0, "see the command's help for the accepted forms"),
        }
    }
}

//! What the audit trail records: one [`Event`] per thing done to the vault or
//! refused by it, and the [`Record`] that `intervault audit` shows.
//!
//! An event names the intervention, the client, the credential, the outcome and
//! its reason; never a secret value. In the trail the client is always a keyed
//! pseudonym (see `docs/audit.md`), so that erasing a client never needs the
//! trail to be rewritten.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What was done or attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The vault was created.
    Init,
    /// An intervention was opened.
    Open,
    /// A credential was added (or replaced).
    Add,
    /// A credential was removed.
    Rm,
    /// A credential was fetched by `get`.
    Get,
    /// Credentials were fetched for `exec`.
    Exec,
    /// A TOTP code was computed.
    Totp,
    /// A field was copied to the clipboard.
    Clip,
    /// A window was moved by `extend`.
    Extend,
    /// Processing was restricted by `freeze`.
    Freeze,
    /// A restriction was lifted by `unfreeze`.
    Unfreeze,
    /// An intervention was wiped by `close`.
    Close,
    /// An intervention was wiped because its window ended.
    Expired,
    /// A credential was wiped after its last allowed use (`--max-uses`).
    UsedUp,
    /// `sweep` wiped ended interventions.
    Sweep,
    /// An unlocked session was started.
    Unlock,
    /// The unlocked session was ended.
    Lock,
    /// The passphrase was changed.
    Passwd,
    /// A passphrase was tried and did not open the vault.
    PassphraseRefused,
    /// The trail itself was read (`audit`, `audit verify`).
    Audit,
    /// A client's data was listed (`client report`).
    ClientReport,
    /// A client was erased (`client erase`).
    ClientErase,
    /// The retention periods were changed.
    Retention,
    /// Tombstones older than the retention were pruned.
    PruneTombstones,
    /// A new trail was started after a damaged one (kept aside as evidence).
    AuditRestart,
    /// An older copy of the vault was accepted (`--accept-rollback`); the
    /// interventions wiped since were wiped again.
    RollbackAccepted,
    /// A backup was made.
    Backup,
    /// This vault was restored from a backup.
    Restore,
    /// A keyless line the vault cannot vouch for (out of order, dated ahead of
    /// its clock, or an expiry it did not do): completed as foreign, never
    /// taken for what it claims.
    ForeignRecord,
    /// The clock read far past the last time the vault saw (see
    /// `retention`: pruning does not follow such a jump at once).
    ClockJump,
}

impl Action {
    /// The name used in the trail and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Init => "init",
            Action::Open => "open",
            Action::Add => "add",
            Action::Rm => "rm",
            Action::Get => "get",
            Action::Exec => "exec",
            Action::Totp => "totp",
            Action::Clip => "clip",
            Action::Extend => "extend",
            Action::Freeze => "freeze",
            Action::Unfreeze => "unfreeze",
            Action::Close => "close",
            Action::Expired => "expired",
            Action::UsedUp => "used_up",
            Action::Sweep => "sweep",
            Action::Unlock => "unlock",
            Action::Lock => "lock",
            Action::Passwd => "passwd",
            Action::PassphraseRefused => "passphrase_refused",
            Action::Audit => "audit",
            Action::ClientReport => "client_report",
            Action::ClientErase => "client_erase",
            Action::Retention => "retention",
            Action::PruneTombstones => "prune_tombstones",
            Action::AuditRestart => "audit_restart",
            Action::RollbackAccepted => "rollback_accepted",
            Action::Backup => "backup",
            Action::Restore => "restore",
            Action::ForeignRecord => "foreign_record",
            Action::ClockJump => "clock_jump",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An access was allowed and the credentials delivered.
    Granted,
    /// An access or a change was refused; the reason says why.
    Refused,
    /// A change was made.
    Done,
    /// A change was recorded, then failed to commit; the reason says why.
    Failed,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Granted => "granted",
            Outcome::Refused => "refused",
            Outcome::Done => "done",
            Outcome::Failed => "failed",
        })
    }
}

/// One event, as sealed in the trail (where `client` is a pseudonym) and as shown
/// (where it is the client's name, unless the client was erased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// What was done.
    pub action: Action,
    /// How it ended.
    pub outcome: Outcome,
    /// The intervention's ID, if one was concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervention: Option<String>,
    /// The client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The credential's name, if one was concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Why: the refusal or failure, or the reason given to `extend` or `freeze`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The receipt digest of a wipe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// How many (interventions swept, tombstones pruned, credentials wiped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The window's start (`open`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// The window's end (`open`, `extend`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// The opaque reference of a wiped intervention.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// For a record that completes one written without the key: its number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completes: Option<u64>,
}

impl Event {
    /// An event with only its action and outcome set.
    pub fn new(action: Action, outcome: Outcome) -> Self {
        Event {
            action,
            outcome,
            intervention: None,
            client: None,
            credential: None,
            reason: None,
            receipt: None,
            count: None,
            from: None,
            until: None,
            reference: None,
            completes: None,
        }
    }

    /// Sets the intervention.
    pub fn intervention(mut self, id: &str) -> Self {
        self.intervention = Some(id.to_owned());
        self
    }

    /// Sets the client.
    pub fn client(mut self, name: &str) -> Self {
        self.client = Some(name.to_owned());
        self
    }

    /// Sets the credential.
    pub fn credential(mut self, name: &str) -> Self {
        self.credential = Some(name.to_owned());
        self
    }

    /// Sets the reason.
    pub fn reason(mut self, why: impl Into<String>) -> Self {
        self.reason = Some(why.into());
        self
    }
}

/// One record of the trail, as `intervault audit` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Its number in the trail, from 1.
    pub seq: u64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// Whether it was sealed with the key (false: written by a keyless command and
    /// not yet completed by the next unlock).
    pub sealed: bool,
    /// What it says.
    #[serde(flatten)]
    pub event: Event,
}

/// Which records `intervault audit` shows; every bound is optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// At or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
    /// About this intervention.
    pub intervention: Option<String>,
    /// About this client (by name).
    pub client: Option<String>,
}

/// What `intervault audit verify` found in an intact trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Records in the trail now (after the checkpoint, if any).
    pub records: u64,
    /// The last record's number.
    pub last: u64,
    /// Records pruned by retention, summarised by the checkpoint.
    pub pruned: u64,
    /// Records written without the key and not yet sealed by an unlock.
    pub unsealed: u64,
    /// Whether an interrupted write was found at the end (ignored, never granted).
    pub torn_tail: bool,
    /// Keyless lines that the unlock which completed them could not vouch for
    /// (see [`Action::ForeignRecord`]).
    pub foreign: u64,
}

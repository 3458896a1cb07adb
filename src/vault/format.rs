//! The on-disk format, version 2.
//!
//! ```text
//! vault/              0700
//!   vault.json        clear JSON: format, version, KDF header, the expiry table that
//!                     a keyless sweep needs, and two base64 age files: the master
//!                     key (passphrase stanza) and the index core (index key)
//!   vault.lock        the lock file; never replaced, so every process locks one inode
//!   history.N.age     generation N of the history: tombstones and client keys,
//!                     sealed with the index key (derived from the master key)
//!   records/REF.N.age generation N of a live intervention's record (window, client,
//!                     credential names...), sealed with the index key
//!   keys/REF.age      an intervention key, sealed to the master key
//!   creds/REF.N.age   generation N of an intervention's credentials, sealed to its key
//! ```
//! The index core lists every live intervention (ID, reference, window end and
//! the generations of its record and credentials) and names the history's
//! generation: a command reads the core and only the records it needs, and a
//! change rewrites the core and what it changed, never the whole vault.
//!
//! `vault.json` is the commit point: a write stores new record, history, key or
//! credential files first, then replaces `vault.json`, then shreds the files it no
//! longer names. Everything a user typed is inside an age file; the clear part
//! holds only random references, window ends and the KDF header.
//!
//! Version 1 kept the whole index (records and history included) in `vault.json`;
//! it is read, and written as version 2 by the first command that opens it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use std::path::PathBuf;

use base64::{engine::general_purpose::STANDARD, Engine};

use crate::crypto::{KdfParams, SecretText};
use crate::error::{Error, Location, Result};
use crate::intervention::{Kind, Window};
use crate::wipe::Tombstone;

/// The `format` field of `vault.json`.
pub const FORMAT_NAME: &str = "intervault";
/// The version this build writes.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest version this build reads (and rewrites as [`FORMAT_VERSION`]).
pub const OLDEST_READ_VERSION: u32 = 1;

pub use crate::intervention::Ref;

// The managed backups' and the keyring key store's settings are part of the
// clear root: they live here, so that the format imports neither module.

/// The longest retention accepted (`retention --backup-days` refuses more).
pub const MAX_RETENTION_DAYS: u32 = 36_500;
/// The most managed backup directories a vault may list.
pub const MAX_BACKUP_DIRS: usize = 64;
/// Where a vault's managed backups go, and how long they are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// This vault's identity in its backups (random).
    pub id: Ref,
    /// The managed backup directories.
    pub dirs: Vec<PathBuf>,
    /// Days a managed backup is kept.
    pub retention_days: u32,
}

impl BackupConfig {
    /// Checks the ranges the types cannot: a retention `retention --backup-days`
    /// could have set, and at most [`MAX_BACKUP_DIRS`] distinct absolute
    /// directories (a relative one would depend on where a command runs).
    pub fn check(&self) -> std::result::Result<(), String> {
        if !(1..=MAX_RETENTION_DAYS).contains(&self.retention_days) {
            return Err(format!(
                "the backup retention of {} days is outside 1..={MAX_RETENTION_DAYS}",
                self.retention_days
            ));
        }
        if self.dirs.is_empty() || self.dirs.len() > MAX_BACKUP_DIRS {
            return Err(format!(
                "it lists {} managed backup directories, not 1..={MAX_BACKUP_DIRS}",
                self.dirs.len()
            ));
        }
        for (i, dir) in self.dirs.iter().enumerate() {
            if !dir.is_absolute() || self.dirs[..i].contains(dir) {
                return Err("a managed backup directory is relative or listed twice".to_owned());
            }
        }
        Ok(())
    }

    /// When the oldest backup still kept was made, at `now`; `None` when
    /// nothing is old enough to go (a retention beyond the calendar).
    pub fn keep_from(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        TimeDelta::try_days(i64::from(self.retention_days)).and_then(|d| now.checked_sub_signed(d))
    }
}

/// A vault whose intervention keys live in the OS keyring: its identity there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyringConfig {
    /// The vault's identity in the keyring accounts (random).
    pub id: Ref,
}

/// The clear KDF header: algorithm, costs and salt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfHeader {
    /// Always `argon2id`.
    pub algorithm: String,
    /// Costs.
    #[serde(flatten)]
    pub params: KdfParams,
    /// 16 random bytes, base64.
    pub salt: String,
}

/// A live intervention as the keyless sweep sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpiryEntry {
    /// Its reference.
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// Its window end.
    pub until: DateTime<Utc>,
}

/// An intervention wiped without the passphrase, whose tombstone is completed at
/// the next unlock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweptEntry {
    /// Its reference.
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// When its key and credentials were destroyed.
    pub wiped_at: DateTime<Utc>,
}

/// An intervention key whose destruction is not confirmed yet: the wipe has
/// happened (the intervention is closed or expired), but the key store could not
/// be reached (the OS keyring of another login session). Kept in clear so that
/// keyless commands finish it too; every command that can reach the key does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingKey {
    /// The wiped intervention's reference.
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// When the wipe happened.
    pub since: DateTime<Utc>,
}

/// `vault.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootFile {
    /// [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// How the passphrase becomes a key.
    pub kdf: KdfHeader,
    /// The master key, as a base64 age file with the passphrase stanza.
    pub master_key: String,
    /// The index core, as a base64 age file: sealed with the index key (derived
    /// from the master key) since format 2; format 1 sealed the whole index to
    /// the master key.
    pub index: String,
    /// Live interventions' window ends, for the keyless sweep.
    pub expiry: Vec<ExpiryEntry>,
    /// Wipes done without the passphrase, not yet folded into tombstones.
    pub swept: Vec<SweptEntry>,
    /// The managed backup directories, for the keyless sweep (a sealed copy is
    /// in the index, and the two must agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<BackupConfig>,
    /// Set when intervention keys live in the OS keyring (`init --key-store
    /// keyring`); a sealed copy is in the index, and the two must agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_store: Option<KeyringConfig>,
    /// Keys of wiped interventions whose destruction is still to be confirmed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys_pending: Vec<PendingKey>,
    /// Since when the purge of the store's history after a wipe (etcd:
    /// compaction and defragmentation) is still to be done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_pending: Option<DateTime<Utc>>,
}

/// Just enough of `vault.json` to say which version wrote it.
#[derive(Deserialize)]
pub struct VersionProbe {
    /// See [`RootFile::format`].
    pub format: String,
    /// See [`RootFile::version`].
    pub version: u32,
}

/// The master key file's plaintext. It repeats the clear header so that a header
/// edited on disk is detected after decryption (the header is authenticated).
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct MasterPlain {
    /// The version that sealed it: at most [`RootFile::version`].
    #[zeroize(skip)]
    pub version: u32,
    /// Copy of [`RootFile::kdf`].
    #[zeroize(skip)]
    pub kdf: KdfHeader,
    /// The master identity, `AGE-SECRET-KEY-1...`.
    pub identity: SecretText,
}

/// A key file's plaintext.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct KeyPlain {
    /// The intervention it belongs to; checked, so key files cannot be swapped.
    #[zeroize(skip)]
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// The intervention identity.
    pub identity: SecretText,
}

/// A credential's name and kind, kept in the index (they outlive a wipe, in the
/// tombstone and receipt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryMeta {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// After this many successful fetches the credential is wiped.
    #[serde(default)]
    pub max_uses: Option<u32>,
    /// Successful fetches so far.
    #[serde(default)]
    pub uses: u32,
}

/// A change of window made by `extend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The previous end.
    pub previous_until: DateTime<Utc>,
    /// The new end.
    pub until: DateTime<Utc>,
    /// Why, as given.
    pub reason: String,
}

/// A live intervention in the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterventionMeta {
    /// Its ID.
    pub id: String,
    /// Its opaque reference.
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// The client's name.
    pub client: String,
    /// A note given at `open`.
    pub note: Option<String>,
    /// Its window.
    pub window: Window,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// Generation of its credentials file; `None` before the first `add`.
    pub creds_gen: Option<u64>,
    /// Its credentials' names and kinds, sorted by name.
    pub entries: Vec<EntryMeta>,
    /// Window changes, oldest first.
    pub extensions: Vec<Extension>,
    /// Set while processing is restricted (`freeze`): every fetch is refused.
    #[serde(default)]
    pub frozen: Option<Freeze>,
}

/// A restriction of processing, as `freeze` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Freeze {
    /// When it was frozen.
    pub since: DateTime<Utc>,
    /// Why, as given.
    pub reason: String,
}

/// The index: everything the vault knows, apart from keys and credential values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// The latest time the vault has seen (clock rollback guard).
    pub high_water: DateTime<Utc>,
    /// How far retention has got: the time that pruning (audit records,
    /// tombstones) counts from. It follows the clock, but moves at most
    /// [`super::retention::MAX_RETENTION_STEP`] per change, so that one forward
    /// jump of the clock cannot prune everything at once. Absent before it was
    /// kept: the high-water mark stands in for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_clock: Option<DateTime<Utc>>,
    /// Live interventions.
    pub interventions: Vec<InterventionMeta>,
    /// Wiped interventions.
    pub tombstones: Vec<Tombstone>,
    /// Each client's pseudonym key: the audit trail names clients only by their
    /// pseudonym, and `client erase` destroys the key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientKey>,
    /// How long audit records and tombstones are kept.
    #[serde(default)]
    pub retention: Retention,
    /// The last audit record known to have been written when this index was
    /// sealed: a trail that ends before it was cut short.
    #[serde(default)]
    pub audit_seq: u64,
    /// The hash of that record: a trail that holds another record under its
    /// number was replaced or rolled back. (Absent in indexes sealed before it
    /// was kept: they bind the number alone until their next commit.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_hash: Option<String>,
    /// One more at every commit: an older copy of the vault has a lower one.
    #[serde(default)]
    pub generation: u64,
    /// The managed backup directories (the clear copy in `vault.json` must agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<BackupConfig>,
    /// The OS keyring key store, if keys live there (the clear copy must agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_store: Option<KeyringConfig>,
    /// What of a version 2 index is in memory; `interventions`, `tombstones` and
    /// `clients` hold what was read so far.
    #[serde(skip)]
    pub loaded: Loaded,
}

/// What of the index is in memory. The core is always read; records and the
/// history are read when a command needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Every live intervention, as the core lists them (read or not).
    pub live: Vec<Listed>,
    /// The records read so far, as read (to tell what changed), with the
    /// pseudonym of their client.
    pub records: HashMap<Ref, (InterventionMeta, String)>,
    /// Whether every record was read.
    pub all_records: bool,
    /// The history as read, once read.
    pub history: Option<History>,
    /// The history's generation on disk (0: none written yet).
    pub history_gen: u64,
    /// When the oldest tombstone was wiped (kept in the core).
    pub oldest_tombstone: Option<DateTime<Utc>>,
    /// Read from a version 1 vault: all of it is in memory, and all of it is
    /// written as version 2 at the next commit.
    pub from_v1: bool,
}

impl Loaded {
    /// Whether `tombstones` and `clients` hold the whole history.
    pub fn has_history(&self) -> bool {
        self.from_v1 || self.history.is_some()
    }

    /// Whether everything is in memory.
    pub fn has_everything(&self) -> bool {
        self.from_v1 || (self.history.is_some() && self.all_records)
    }
}

/// A live intervention as the index core lists it. Every command reads the core,
/// so each entry is written as an array, `[id, ref, until, record, creds]`,
/// with the window end in nanoseconds since the epoch: half the bytes of an
/// object, and an integer parses ten times faster than an RFC 3339 date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ListedOnDisk", into = "ListedOnDisk")]
pub struct Listed {
    /// Its ID.
    pub id: String,
    /// Its reference.
    pub reference: Ref,
    /// Its window end (the clear expiry table must agree).
    pub until: DateTime<Utc>,
    /// The generation of its record file.
    pub record: u64,
    /// The generation of its credentials file, if it has one.
    pub creds: Option<u64>,
}

/// [`Listed`] as written: an array.
#[derive(Serialize, Deserialize)]
struct ListedOnDisk(
    String,
    Ref,
    #[serde(with = "unix_nanos")] DateTime<Utc>,
    u64,
    Option<u64>,
);

impl From<ListedOnDisk> for Listed {
    fn from(l: ListedOnDisk) -> Self {
        Listed {
            id: l.0,
            reference: l.1,
            until: l.2,
            record: l.3,
            creds: l.4,
        }
    }
}

impl From<Listed> for ListedOnDisk {
    fn from(l: Listed) -> Self {
        ListedOnDisk(l.id, l.reference, l.until, l.record, l.creds)
    }
}

/// A time as nanoseconds since the Unix epoch (an `i128`: every date chrono
/// can hold fits, to the nanosecond).
mod unix_nanos {
    use chrono::{DateTime, Utc};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    const NANOS: i128 = 1_000_000_000;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i128(i128::from(t.timestamp()) * NANOS + i128::from(t.timestamp_subsec_nanos()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let n = i128::deserialize(d)?;
        let secs = i64::try_from(n.div_euclid(NANOS)).map_err(D::Error::custom)?;
        let nanos = u32::try_from(n.rem_euclid(NANOS)).map_err(D::Error::custom)?;
        DateTime::from_timestamp(secs, nanos).ok_or_else(|| D::Error::custom("time out of range"))
    }
}

/// The index core (version 2), sealed in `vault.json`: what every keyed command
/// reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Core {
    /// See [`Index::high_water`].
    pub high_water: DateTime<Utc>,
    /// See [`Index::retention_clock`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_clock: Option<DateTime<Utc>>,
    /// Every live intervention.
    pub live: Vec<Listed>,
    /// The generation of the history file (0: none yet, the history is empty).
    pub history: u64,
    /// When the oldest tombstone was wiped, so that pruning can be due without
    /// reading the history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_tombstone: Option<DateTime<Utc>>,
    /// See [`Index::retention`].
    pub retention: Retention,
    /// See [`Index::audit_seq`].
    pub audit_seq: u64,
    /// See [`Index::audit_hash`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_hash: Option<String>,
    /// See [`Index::generation`].
    pub generation: u64,
    /// See [`Index::backups`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<BackupConfig>,
    /// See [`Index::key_store`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_store: Option<KeyringConfig>,
}

/// A record file's plaintext: one live intervention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The intervention it belongs to; checked, so records cannot be swapped.
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// Its generation, checked against the core, so an older copy is refused.
    pub generation: u64,
    /// Its client's pseudonym, so that recording an access needs no client key.
    pub pseudonym: String,
    /// The intervention.
    pub meta: InterventionMeta,
}

/// The history file's plaintext: what outlives the interventions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// Its generation, checked against the core.
    pub generation: u64,
    /// Wiped interventions.
    pub tombstones: Vec<Tombstone>,
    /// Each client's pseudonym key.
    pub clients: Vec<ClientKey>,
}

/// A client's name and the key of its pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientKey {
    /// The client's name.
    pub name: String,
    /// The HMAC key of its pseudonym, hexadecimal.
    pub key: String,
    /// The language the agency last chose for one of the client's documents
    /// (`--lang`): the next one defaults to it. Goes with the key at erasure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<crate::lang::Lang>,
}

/// Retention periods, in months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Audit records older than this are pruned.
    pub audit_months: u32,
    /// Tombstones are pruned this long after their wipe.
    pub tombstone_months: u32,
}

impl Retention {
    /// The agency's policy: technical logs at most 13 months; tombstones 3 years.
    pub const DEFAULT: Retention = Retention {
        audit_months: 13,
        tombstone_months: 36,
    };
}

impl Default for Retention {
    fn default() -> Self {
        Retention::DEFAULT
    }
}

impl Index {
    /// The last audit record this index knows, which the trail must still hold.
    pub(super) fn audit_anchor(&self) -> super::trail::Anchor {
        super::trail::Anchor {
            seq: self.audit_seq,
            hash: self.audit_hash.clone(),
        }
    }

    /// An empty index, standing in for one that was moved out.
    pub fn placeholder() -> Self {
        Index {
            high_water: DateTime::<Utc>::MIN_UTC,
            retention_clock: None,
            interventions: Vec::new(),
            tombstones: Vec::new(),
            clients: Vec::new(),
            retention: Retention::DEFAULT,
            audit_seq: 0,
            audit_hash: None,
            generation: 0,
            backups: None,
            key_store: None,
            loaded: Loaded::default(),
        }
    }

    /// Checks a version 1 index, whole: unique IDs and references, sorted
    /// unique names.
    pub fn check(&self) -> Result<(), String> {
        let mut refs = BTreeSet::new();
        for m in &self.interventions {
            if !refs.insert(&m.reference) {
                return Err(format!("intervention '{}' appears twice", m.id));
            }
            m.check()?;
        }
        let live = self.interventions.iter().map(|m| m.id.as_str());
        check_history(live, &self.tombstones, &self.clients)
    }
}

impl InterventionMeta {
    /// Checks what the types cannot: a window, sorted unique names, a file for them.
    pub fn check(&self) -> Result<(), String> {
        if self.window.until <= self.window.from {
            return Err(format!("intervention '{}' has an empty window", self.id));
        }
        if self.entries.windows(2).any(|w| w[0].name >= w[1].name) {
            return Err(format!(
                "intervention '{}' lists a credential twice",
                self.id
            ));
        }
        if !self.entries.is_empty() && self.creds_gen.is_none() {
            return Err(format!(
                "intervention '{}' lists credentials it lacks",
                self.id
            ));
        }
        Ok(())
    }
}

impl Core {
    /// Checks what the types cannot: unique IDs and references.
    pub fn check(&self) -> Result<(), String> {
        let mut ids = HashSet::with_capacity(self.live.len());
        let mut refs = HashSet::with_capacity(self.live.len());
        for l in &self.live {
            if !ids.insert(l.id.as_str()) || !refs.insert(&l.reference) {
                return Err(format!("intervention '{}' appears twice", l.id));
            }
        }
        Ok(())
    }
}

/// Checks tombstones and client keys against the live IDs: every ID once, every
/// client once with a well-formed key.
pub fn check_history<'a>(
    live: impl Iterator<Item = &'a str>,
    tombstones: &'a [Tombstone],
    clients: &[ClientKey],
) -> Result<(), String> {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    for id in live.chain(tombstones.iter().map(|t| t.id.as_str())) {
        if !ids.insert(id) {
            return Err(format!("intervention '{id}' appears twice"));
        }
    }
    let mut names = BTreeSet::new();
    for c in clients {
        if !names.insert(c.name.as_str()) {
            return Err(format!("client '{}' has two pseudonym keys", c.name));
        }
        if crate::crypto::MacKey::from_hex(&c.key).is_none() {
            return Err(format!("client '{}' has a malformed pseudonym key", c.name));
        }
    }
    Ok(())
}

/// One credential, as stored in its intervention's credentials file.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Its name.
    pub name: String,
    /// Its kind.
    #[zeroize(skip)]
    pub kind: Kind,
    /// Where to log in.
    pub url: Option<String>,
    /// Login name.
    pub user: Option<String>,
    /// The secret.
    pub secret: SecretText,
    /// A note.
    pub note: Option<String>,
    /// A TOTP seed, as an `otpauth://` URI or base32.
    #[serde(default)]
    pub totp: Option<SecretText>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Name and kind only: the other fields are the client's data.
        f.debug_struct("Credential")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A credentials file's plaintext.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct CredentialSet {
    /// The intervention it belongs to; checked, so files cannot be swapped.
    #[zeroize(skip)]
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// Its generation, checked against the index, so an older copy of the file
    /// put back in place of the current one is refused.
    #[zeroize(skip)]
    pub generation: u64,
    /// Its credentials, sorted by name.
    pub credentials: Vec<Credential>,
}

/// Salt length for argon2id.
pub const SALT_BYTES: usize = 16;

/// Parses `vault.json`, checking version and KDF header before anything else.
pub fn parse_root(path: &Location, bytes: &[u8]) -> Result<RootFile> {
    let check_probe = |format: &str, version: u32| {
        if format != FORMAT_NAME {
            return Err(Error::damaged(
                path.clone(),
                "this is not an intervault vault",
            ));
        }
        if !(OLDEST_READ_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion {
                at: path.clone(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        Ok(())
    };
    // One pass when it is a root of ours (every command reads it); the probe
    // only to say why it is not.
    let root: RootFile = match serde_json::from_slice(bytes) {
        Ok(root) => root,
        Err(e) => {
            let probe: VersionProbe = serde_json::from_slice(bytes)
                .map_err(|_| Error::damaged(path.clone(), "the vault root is not valid JSON"))?;
            check_probe(&probe.format, probe.version)?;
            return Err(Error::damaged(
                path.clone(),
                format!("the vault root is malformed ({e})"),
            ));
        }
    };
    check_probe(&root.format, root.version)?;
    if root.kdf.algorithm != "argon2id" {
        return Err(Error::damaged(
            path.clone(),
            "unknown key derivation algorithm",
        ));
    }
    // Refuse absurd costs before doing any work: a planted header must not be able
    // to make us allocate terabytes or spin for hours.
    root.kdf
        .params
        .check()
        .map_err(|e| Error::damaged(path.clone(), format!("{} (refused before any work)", e.0)))?;
    decode_salt(path, &root.kdf)?;
    check_clear_fields(path, &root)?;
    Ok(root)
}

/// Whether a clear time is one intervault can have written: what the contract's
/// TIME syntax can express (four-digit years, with any offset, so in UTC from
/// year 0 to 10000).
fn time_in_range(t: &DateTime<Utc>) -> bool {
    (0..=10_000).contains(&chrono::Datelike::year(t))
}

/// Checks the ranges of every clear field that keyless commands (`sweep`,
/// `status`, the expiry at every open) act on before any key can vouch for it:
/// times, the references of the expiry and swept tables (each once), the backup
/// retention and directories. A value out of range is damaged data (exit 6),
/// never a panic or an internal error further on.
fn check_clear_fields(path: &Location, root: &RootFile) -> Result<()> {
    let bad = |what: String| Err(Error::damaged(path.clone(), what));
    let mut refs = HashSet::with_capacity(root.expiry.len() + root.swept.len());
    for e in &root.expiry {
        if !time_in_range(&e.until) {
            return bad(format!(
                "the clear expiry table gives ref {} an impossible window end",
                e.reference
            ));
        }
        if !refs.insert(&e.reference) {
            return bad(format!(
                "the clear expiry table lists ref {} twice",
                e.reference
            ));
        }
    }
    for s in &root.swept {
        if !time_in_range(&s.wiped_at) {
            return bad(format!(
                "the clear list of keyless wipes gives ref {} an impossible time",
                s.reference
            ));
        }
        if !refs.insert(&s.reference) {
            return bad(format!(
                "ref {} is listed twice among the live and swept interventions",
                s.reference
            ));
        }
    }
    if let Some(b) = &root.backups {
        b.check()
            .map_err(|what| Error::damaged(path.clone(), what))?;
    }
    Ok(())
}

/// The KDF salt's bytes.
pub fn decode_salt(path: &Location, kdf: &KdfHeader) -> Result<Vec<u8>> {
    match STANDARD.decode(&kdf.salt) {
        Ok(salt) if salt.len() == SALT_BYTES => Ok(salt),
        _ => Err(Error::damaged(path.clone(), "the KDF salt is malformed")),
    }
}

/// Parses and checks a decrypted version 1 index.
pub fn parse_index(plain: &[u8]) -> Result<Index, String> {
    let index: Index =
        serde_json::from_slice(plain).map_err(|_| "the index is malformed".to_owned())?;
    index.check()?;
    Ok(index)
}

/// Parses and checks a decrypted index core.
pub fn parse_core(plain: &[u8]) -> Result<Core, String> {
    let core: Core =
        serde_json::from_slice(plain).map_err(|_| "the index is malformed".to_owned())?;
    core.check()?;
    Ok(core)
}

/// Parses and checks a decrypted record file.
pub fn parse_record(plain: &[u8]) -> Result<Record, String> {
    let record: Record =
        serde_json::from_slice(plain).map_err(|_| "the record is malformed".to_owned())?;
    record.meta.check()?;
    if record.meta.reference != record.reference {
        return Err("the record names another intervention".into());
    }
    Ok(record)
}

/// Parses a decrypted history file (checked against the live IDs by the caller).
pub fn parse_history(plain: &[u8]) -> Result<History, String> {
    serde_json::from_slice(plain).map_err(|_| "the history is malformed".to_owned())
}

/// Parses a decrypted credentials file.
pub fn parse_credential_set(plain: &[u8]) -> Result<CredentialSet, String> {
    serde_json::from_slice(plain).map_err(|_| "the credentials file is malformed".to_owned())
}

/// Parses a decrypted key file.
pub fn parse_key_plain(plain: &[u8]) -> Result<KeyPlain, String> {
    serde_json::from_slice(plain).map_err(|_| "the key file is malformed".to_owned())
}

/// Parses a decrypted master key file.
pub fn parse_master_plain(plain: &[u8]) -> Result<MasterPlain, String> {
    serde_json::from_slice(plain).map_err(|_| "the master key is malformed".to_owned())
}

/// Serializes a plaintext into a zeroizing buffer of exactly the right size: a
/// growing Vec would leave unzeroized copies of the plaintext behind.
pub fn to_plain_json<T: Serialize>(value: &T) -> zeroize::Zeroizing<Vec<u8>> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to these sinks cannot fail, and our types have string keys only.
    let _ = serde_json::to_writer(&mut count, value);
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(count.0));
    let _ = serde_json::to_writer(&mut *buf, value);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_hex_only() {
        assert!(Ref::parse(Ref::random().as_str()).is_some());
        assert!(Ref::parse("../../../../etc/passwd000000000000").is_none());
        assert!(Ref::parse("0123456789ABCDEF0123456789abcdef").is_none());
        assert!(Ref::parse("0123456789abcdef").is_none());
    }

    #[test]
    fn credential_debug_shows_no_values() {
        let c = Credential {
            name: "ftp".into(),
            kind: Kind::Hosting,
            url: Some("ftp.example".into()),
            user: Some("bob".into()),
            secret: SecretText::new("hunter2".into()),
            note: Some("n".into()),
            totp: None,
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("bob"));
    }
}

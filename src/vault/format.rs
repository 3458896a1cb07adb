//! The on-disk format, version 1.
//!
//! ```text
//! vault/            0700
//!   vault.json      clear JSON: format, version, KDF header, the expiry table that a
//!                   keyless sweep needs, and two base64 age files: the master key
//!                   (passphrase stanza) and the index (to the master key)
//!   vault.lock      the lock file; never replaced, so every process locks one inode
//!   keys/REF.age    an intervention key, sealed to the master key
//!   creds/REF.N.age generation N of an intervention's credentials, sealed to its key
//! ```
//! `vault.json` is the commit point: a write stores new key or credential files
//! first, then replaces `vault.json`, then shreds the files it no longer names.
//! Everything a user typed is inside an age file; the clear part holds only random
//! references, window ends and the KDF header.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use std::path::Path;

use base64::{engine::general_purpose::STANDARD, Engine};

use crate::crypto::{KdfParams, SecretText};
use crate::error::{Error, Result};
use crate::intervention::{Kind, Window};
use crate::wipe::Tombstone;

/// The `format` field of `vault.json`.
pub const FORMAT_NAME: &str = "intervault";
/// The only version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// An intervention's opaque reference: 16 random bytes in hex. It names the key and
/// credential files and is all a keyless sweep knows of an intervention.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Ref(String);

impl Ref {
    /// A fresh random reference.
    pub fn random() -> Self {
        Ref(crate::crypto::hex(&crate::crypto::random_bytes::<16>()))
    }

    /// Parses a reference, which must be 32 lower-case hex digits: it becomes part
    /// of file names, so a tampered one must not be able to name another path.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Ref(s.to_owned()))
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Ref {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ref::parse(&s).ok_or_else(|| serde::de::Error::custom("malformed intervention reference"))
    }
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
    /// The index, as a base64 age file sealed to the master key.
    pub index: String,
    /// Live interventions' window ends, for the keyless sweep.
    pub expiry: Vec<ExpiryEntry>,
    /// Wipes done without the passphrase, not yet folded into tombstones.
    pub swept: Vec<SweptEntry>,
    /// The managed backup directories, for the keyless sweep (a sealed copy is
    /// in the index, and the two must agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<super::backup::BackupConfig>,
    /// Set when intervention keys live in the OS keyring (`init --key-store
    /// keyring`); a sealed copy is in the index, and the two must agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_store: Option<super::keystore::KeyringConfig>,
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
    /// Copy of [`RootFile::version`].
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
    /// One more at every commit: an older copy of the vault has a lower one.
    #[serde(default)]
    pub generation: u64,
    /// The managed backup directories (the clear copy in `vault.json` must agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<super::backup::BackupConfig>,
    /// The OS keyring key store, if keys live there (the clear copy must agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_store: Option<super::keystore::KeyringConfig>,
}

/// A client's name and the key of its pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientKey {
    /// The client's name.
    pub name: String,
    /// The HMAC key of its pseudonym, hexadecimal.
    pub key: String,
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
    /// Checks what the types cannot: unique IDs and references, sorted unique names.
    pub fn check(&self) -> Result<(), String> {
        let mut ids = BTreeSet::new();
        let mut refs = BTreeSet::new();
        for m in &self.interventions {
            if !ids.insert(m.id.as_str()) || !refs.insert(&m.reference) {
                return Err(format!("intervention '{}' appears twice", m.id));
            }
            if m.window.until <= m.window.from {
                return Err(format!("intervention '{}' has an empty window", m.id));
            }
            if m.entries.windows(2).any(|w| w[0].name >= w[1].name) {
                return Err(format!("intervention '{}' lists a credential twice", m.id));
            }
            if !m.entries.is_empty() && m.creds_gen.is_none() {
                return Err(format!(
                    "intervention '{}' lists credentials it lacks",
                    m.id
                ));
            }
        }
        for t in &self.tombstones {
            if !ids.insert(t.id.as_str()) {
                return Err(format!("intervention '{}' appears twice", t.id));
            }
        }
        let mut names = BTreeSet::new();
        for c in &self.clients {
            if !names.insert(c.name.as_str()) {
                return Err(format!("client '{}' has two pseudonym keys", c.name));
            }
            if crate::crypto::MacKey::from_hex(&c.key).is_none() {
                return Err(format!("client '{}' has a malformed pseudonym key", c.name));
            }
        }
        Ok(())
    }
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
pub fn parse_root(path: &Path, bytes: &[u8]) -> Result<RootFile> {
    let probe: VersionProbe = serde_json::from_slice(bytes)
        .map_err(|_| Error::damaged(path, "the vault root is not valid JSON"))?;
    if probe.format != FORMAT_NAME {
        return Err(Error::damaged(path, "this is not an intervault vault"));
    }
    if probe.version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            path: path.to_owned(),
            found: probe.version,
            supported: FORMAT_VERSION,
        });
    }
    let root: RootFile = serde_json::from_slice(bytes)
        .map_err(|e| Error::damaged(path, format!("the vault root is malformed ({e})")))?;
    if root.kdf.algorithm != "argon2id" {
        return Err(Error::damaged(path, "unknown key derivation algorithm"));
    }
    // Refuse absurd costs before doing any work: a planted header must not be able
    // to make us allocate terabytes or spin for hours.
    root.kdf
        .params
        .check()
        .map_err(|e| Error::damaged(path, format!("{} (refused before any work)", e.0)))?;
    decode_salt(path, &root.kdf)?;
    Ok(root)
}

/// The KDF salt's bytes.
pub fn decode_salt(path: &Path, kdf: &KdfHeader) -> Result<Vec<u8>> {
    match STANDARD.decode(&kdf.salt) {
        Ok(salt) if salt.len() == SALT_BYTES => Ok(salt),
        _ => Err(Error::damaged(path, "the KDF salt is malformed")),
    }
}

/// Parses and checks a decrypted index.
pub fn parse_index(plain: &[u8]) -> Result<Index, String> {
    let index: Index =
        serde_json::from_slice(plain).map_err(|_| "the index is malformed".to_owned())?;
    index.check()?;
    Ok(index)
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

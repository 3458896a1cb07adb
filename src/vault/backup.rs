//! Backups that restore but never resurrect.
//!
//! A backup is one file, `intervault-<time>-g<generation>.backup`, written into
//! every managed backup directory (the vault's list, kept in clear in `vault.json`
//! for the keyless sweep and sealed in the index against tampering). It holds the
//! vault's files as they are (`vault.json`, the live interventions' key and
//! credentials files, the audit trail), so it needs the passphrase of its day to
//! open, and a manifest sealed to the master key with the SHA-256 of each.
//!
//! Wiping reaches the backups: when an intervention is closed or expires, its key
//! and credentials files are taken out of every managed backup (the file is
//! rewritten, then the old bytes overwritten), and the backup records the removal
//! in clear. Backups older than the retention are deleted by `sweep`. Restoring
//! drops what is wiped in the current vault, what was taken out of the backup, and
//! what has ended, and reports each with its receipt.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::{hex, SealKey};
use crate::error::{Error, Result};
use crate::intervention::WipeReason;

use super::format::{parse_root, Ref, RootFile};
pub use super::format::{BackupConfig, MAX_BACKUP_DIRS, MAX_RETENTION_DAYS};
use super::fsio;

/// The backup file format's name and version.
const FORMAT: &str = "intervault-backup";
const VERSION: u32 = 1;
/// Managed backups are deleted this long after they were made, unless told.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// The largest backup read.
const MAX_BACKUP_BYTES: u64 = 512 << 20;

/// One backup file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFile {
    /// [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The vault it is a backup of ([`BackupConfig::id`]).
    pub vault: Ref,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The vault's generation then.
    pub generation: u64,
    /// The vault's files, by path under the vault directory, base64.
    pub files: BTreeMap<String, String>,
    /// The manifest, a base64 age file sealed to the master key.
    pub manifest: String,
    /// Interventions taken out since it was made (wiped in the vault).
    #[serde(default)]
    pub removed: Vec<Removed>,
}

/// An intervention taken out of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removed {
    /// Its opaque reference.
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// When.
    pub at: DateTime<Utc>,
    /// Why: it was closed, or it expired.
    pub reason: WipeReason,
}

/// What the manifest vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Its format version.
    pub version: u32,
    /// The vault's identity.
    pub vault: Ref,
    /// When the backup was made.
    pub created_at: DateTime<Utc>,
    /// The vault's generation then.
    pub generation: u64,
    /// Each file's SHA-256, hexadecimal.
    pub files: BTreeMap<String, String>,
}

/// The hex SHA-256 of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Whether `path` is a path a vault file can have (no traversal, nothing else).
pub fn is_vault_path(path: &str) -> bool {
    let ref_then = |rest: &str, suffix_ok: &dyn Fn(&str) -> bool| {
        rest.get(..32).and_then(Ref::parse).is_some() && rest.get(32..).is_some_and(suffix_ok)
    };
    let generation = |s: &str| {
        s.strip_prefix('.')
            .and_then(|s| s.strip_suffix(".age"))
            .is_some_and(|n| {
                !n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit())
            })
    };
    match path.split_once('/') {
        None => path == "vault.json" || path.strip_prefix("history").is_some_and(generation),
        Some(("keys", rest)) => ref_then(rest, &|s| s == ".age"),
        Some(("creds", rest)) => ref_then(rest, &generation),
        Some(("records", rest)) => ref_then(rest, &generation),
        Some(("audit", name)) => name == "audit.log" || name == "audit.head",
        _ => false,
    }
}

/// The reference a key or credentials path belongs to.
fn owner(path: &str) -> Option<Ref> {
    let rest = path
        .strip_prefix("keys/")
        .or_else(|| path.strip_prefix("creds/"))?;
    Ref::parse(rest.get(..32)?)
}

impl BackupFile {
    /// Parses a backup file, refusing anything but this format and version and
    /// vault paths.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let b: BackupFile = serde_json::from_slice(bytes)
            .map_err(|_| Error::damaged(path, "it is not an intervault backup"))?;
        if b.format != FORMAT {
            return Err(Error::damaged(path, "it is not an intervault backup"));
        }
        if b.version != VERSION {
            return Err(Error::UnsupportedVersion {
                at: path.into(),
                found: b.version,
                supported: VERSION,
            });
        }
        if let Some(bad) = b.files.keys().find(|p| !is_vault_path(p)) {
            return Err(Error::damaged(
                path,
                format!("it names a file no vault has: {bad:?}"),
            ));
        }
        if !b.files.contains_key("vault.json") {
            return Err(Error::damaged(path, "it holds no vault.json"));
        }
        Ok(b)
    }

    /// The bytes of one of its files.
    pub fn file(&self, path: &Path, name: &str) -> Result<Option<Vec<u8>>> {
        self.files
            .get(name)
            .map(|b64| {
                STANDARD
                    .decode(b64)
                    .map_err(|_| Error::damaged(path, format!("{name} is not valid base64")))
            })
            .transpose()
    }

    /// Its `vault.json`.
    pub fn root(&self, path: &Path) -> Result<RootFile> {
        let bytes = self.file(path, "vault.json")?.unwrap_or_default();
        parse_root(&path.into(), &bytes)
    }

    /// Takes out every intervention in `wiped` (or, when `now` is given, whose
    /// window ended by then according to the backup's own expiry table); gives
    /// whether anything changed.
    pub fn take_out(
        &mut self,
        path: &Path,
        wiped: &[(Ref, WipeReason)],
        ended_by: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let ended: Vec<Ref> = match ended_by {
            Some(t) => self
                .root(path)?
                .expiry
                .into_iter()
                .filter(|e| e.until <= t)
                .map(|e| e.reference)
                .collect(),
            None => Vec::new(),
        };
        let held: Vec<Ref> = self.files.keys().filter_map(|p| owner(p)).collect();
        let mut changed = false;
        for r in held {
            let reason = match wiped.iter().find(|(w, _)| *w == r) {
                Some((_, reason)) => *reason,
                None if ended.contains(&r) => WipeReason::Expired,
                None => continue,
            };
            self.files.retain(|p, _| owner(p).as_ref() != Some(&r));
            if !self.removed.iter().any(|x| x.reference == r) {
                self.removed.push(Removed {
                    reference: r,
                    at: now,
                    reason,
                });
            }
            changed = true;
        }
        Ok(changed)
    }
}

/// Makes a backup of the files given (path under the vault -> bytes).
pub fn make(
    config: &BackupConfig,
    master: &SealKey,
    now: DateTime<Utc>,
    generation: u64,
    files: BTreeMap<String, Vec<u8>>,
) -> Result<(String, Vec<u8>)> {
    let manifest = Manifest {
        version: VERSION,
        vault: config.id.clone(),
        created_at: now,
        generation,
        files: files.iter().map(|(p, b)| (p.clone(), digest(b))).collect(),
    };
    let plain = serde_json::to_vec(&manifest)
        .map_err(|e| Error::Internal(format!("cannot serialize a manifest: {e}")))?;
    let sealed = master.seal(&plain).map_err(Error::Internal)?;
    let file = BackupFile {
        format: FORMAT.into(),
        version: VERSION,
        vault: config.id.clone(),
        created_at: now,
        generation,
        files: files
            .into_iter()
            .map(|(p, b)| (p, STANDARD.encode(b)))
            .collect(),
        manifest: STANDARD.encode(sealed),
        removed: Vec::new(),
    };
    let bytes = serde_json::to_vec(&file)
        .map_err(|e| Error::Internal(format!("cannot serialize a backup: {e}")))?;
    // Local time with its offset, as everything else intervault shows (the
    // offset keeps names unambiguous across a DST change or a move).
    let name = format!(
        "intervault-{}-g{generation}.backup",
        now.with_timezone(&chrono::Local).format("%Y%m%dT%H%M%S%z")
    );
    Ok((name, bytes))
}

/// Opens the manifest with the master key.
pub fn open_manifest(path: &Path, b: &BackupFile, master: &SealKey) -> Result<Manifest> {
    let sealed = STANDARD
        .decode(&b.manifest)
        .map_err(|_| Error::damaged(path, "its manifest is not valid base64"))?;
    let plain = master
        .open(&sealed)
        .map_err(|e| Error::damaged(path, format!("its manifest {e}")))?;
    let m: Manifest = serde_json::from_slice(&plain)
        .map_err(|_| Error::damaged(path, "its manifest is malformed"))?;
    if m.vault != b.vault || m.generation != b.generation || m.created_at != b.created_at {
        return Err(Error::damaged(
            path,
            "its clear header does not match its sealed manifest",
        ));
    }
    Ok(m)
}

/// Checks every file against the manifest: each present file has its digest; a
/// file missing belongs to an intervention taken out; nothing else is there.
pub fn check_against(path: &Path, b: &BackupFile, m: &Manifest) -> Result<()> {
    for (name, sha) in &m.files {
        match b.file(path, name)? {
            Some(bytes) if &digest(&bytes) == sha => {}
            Some(_) => return Err(Error::damaged(path, format!("{name} was altered"))),
            None => {
                let taken_out =
                    owner(name).is_some_and(|r| b.removed.iter().any(|x| x.reference == r));
                if !taken_out {
                    return Err(Error::damaged(path, format!("{name} is missing")));
                }
            }
        }
    }
    if let Some(extra) = b.files.keys().find(|p| !m.files.contains_key(*p)) {
        return Err(Error::damaged(
            path,
            format!("{extra} is not in its manifest"),
        ));
    }
    Ok(())
}

/// The managed backups of vault `id` in `dirs`: path and parsed file. Files that
/// are not backups of this vault are left alone; unreadable ones are skipped.
pub fn managed(dirs: &[PathBuf], id: &Ref) -> Vec<(PathBuf, BackupFile)> {
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(names) = fsio::list_dir(dir) else {
            continue;
        };
        for name in names {
            if !(name.starts_with("intervault-") && name.ends_with(".backup")) {
                continue;
            }
            let path = dir.join(&name);
            let Ok(bytes) = fsio::read_checked_up_to(&path, MAX_BACKUP_BYTES) else {
                continue;
            };
            if let Ok(b) = BackupFile::parse(&path, &bytes) {
                if &b.vault == id {
                    out.push((path, b));
                }
            }
        }
    }
    out
}

/// Reads one backup file (any vault's).
pub fn read(path: &Path) -> Result<BackupFile> {
    let bytes = fsio::read_checked_up_to(path, MAX_BACKUP_BYTES)?;
    BackupFile::parse(path, &bytes)
}

/// Upkeep of the managed backups, without the key: takes out of each the
/// interventions in `wiped`, and those whose window has ended by `now`; deletes
/// backups older than the retention. Gives the first error met (every backup is
/// still tried).
pub fn upkeep(
    config: &BackupConfig,
    wiped: &[(Ref, WipeReason)],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut first_error = None;
    let keep_from = config.keep_from(now);
    for (path, mut b) in managed(&config.dirs, &config.id) {
        let result = if keep_from.is_some_and(|t| b.created_at < t) {
            fsio::shred(&path)
        } else {
            match b.take_out(&path, wiped, Some(now), now) {
                Ok(true) => serde_json::to_vec(&b)
                    .map_err(|e| Error::Internal(format!("cannot serialize a backup: {e}")))
                    .and_then(|bytes| fsio::replace_and_scrub(&path, &bytes)),
                Ok(false) => Ok(()),
                Err(e) => Err(e),
            }
        };
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(retention_days: u32, dirs: &[&str]) -> BackupConfig {
        BackupConfig {
            id: Ref::random(),
            dirs: dirs.iter().map(PathBuf::from).collect(),
            retention_days,
        }
    }

    /// Issue 12, item 8: the retention comes from the clear `vault.json`; the
    /// date arithmetic on it never overflows, and its range is checked.
    #[test]
    fn retention_arithmetic_is_checked_and_its_range_too() {
        let now = Utc::now();
        for days in [
            0,
            1,
            30,
            MAX_RETENTION_DAYS,
            MAX_RETENTION_DAYS + 1,
            u32::MAX,
        ] {
            let c = config(days, &["/bk"]);
            let expected = (1..=MAX_RETENTION_DAYS).contains(&days);
            assert_eq!(c.check().is_ok(), expected, "{days} days");
            if let Some(t) = c.keep_from(now) {
                assert!(t <= now);
            }
        }
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            assert_eq!(config(30, &["/bk"]).keep_from(at).is_some(), at > now);
            assert!(config(u32::MAX, &["/bk"]).keep_from(at).is_none());
        }
        let table: [(&[&str], bool); 5] = [
            (&["/a"], true),
            (&["/a", "/b"], true),
            (&[], false),
            (&["relative"], false),
            (&["/a", "/a"], false),
        ];
        for (dirs, ok) in table {
            assert_eq!(config(30, dirs).check().is_ok(), ok, "{dirs:?}");
        }
        let many: Vec<String> = (0..=MAX_BACKUP_DIRS).map(|i| format!("/d{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(config(30, &many).check().is_err());
        assert!(config(30, &many[1..]).check().is_ok());
    }
}

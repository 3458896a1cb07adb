//! Where intervention keys live. One small interface, so that an OS-keyring store
//! can replace the file store without the vault logic changing.

use std::path::{Path, PathBuf};

use crate::crypto::SealKey;
use crate::error::{Error, Result};

use super::format::{parse_key_plain, to_plain_json, KeyPlain, Ref};
use super::fsio;

/// Stores, loads and destroys per-intervention keys.
pub trait KeyStore {
    /// Stores the key of intervention `reference`, protected by `master`.
    fn put(&self, reference: &Ref, key: &SealKey, master: &SealKey) -> Result<()>;
    /// Loads the key of intervention `reference`.
    fn get(&self, reference: &Ref, master: &SealKey) -> Result<SealKey>;
    /// Destroys the key of intervention `reference`; needs no master key, so that
    /// expiry works without the passphrase. Destroying a missing key succeeds.
    fn destroy(&self, reference: &Ref) -> Result<()>;
    /// The references that have a key stored (to find leftovers of a crash).
    fn stored(&self) -> Result<Vec<Ref>>;
}

/// Keys as files `keys/REF.age`, each sealed to the master key.
#[derive(Debug, Clone)]
pub struct FileKeyStore {
    dir: PathBuf,
}

impl FileKeyStore {
    /// A store in `dir` (the vault's `keys/`).
    pub fn new(dir: &Path) -> Self {
        FileKeyStore {
            dir: dir.to_owned(),
        }
    }

    fn path(&self, reference: &Ref) -> PathBuf {
        self.dir.join(format!("{reference}.age"))
    }
}

impl KeyStore for FileKeyStore {
    fn put(&self, reference: &Ref, key: &SealKey, master: &SealKey) -> Result<()> {
        let plain = to_plain_json(&KeyPlain {
            reference: reference.clone(),
            identity: key.to_secret(),
        });
        let sealed = master.seal(&plain).map_err(Error::Internal)?;
        fsio::write_atomic(&self.path(reference), &sealed)
    }

    fn get(&self, reference: &Ref, master: &SealKey) -> Result<SealKey> {
        let path = self.path(reference);
        let sealed = match fsio::read_checked(&path) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::damaged(&path, "the intervention's key is missing"))
            }
            other => other?,
        };
        let plain = master
            .open(&sealed)
            .map_err(|e| Error::damaged(&path, format!("the key file {e}")))?;
        let parsed = parse_key_plain(&plain).map_err(|what| Error::damaged(&path, what))?;
        if &parsed.reference != reference {
            return Err(Error::damaged(
                &path,
                "key file belongs to another intervention",
            ));
        }
        SealKey::from_secret(&parsed.identity)
            .ok_or_else(|| Error::damaged(&path, "key file holds no valid key"))
    }

    fn destroy(&self, reference: &Ref) -> Result<()> {
        fsio::shred(&self.path(reference))
    }

    fn stored(&self) -> Result<Vec<Ref>> {
        Ok(fsio::list_dir(&self.dir)?
            .iter()
            .filter_map(|name| name.strip_suffix(".age").and_then(Ref::parse))
            .collect())
    }
}

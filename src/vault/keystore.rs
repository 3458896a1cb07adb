//! Where intervention keys live. One small interface, so that an OS-keyring store
//! can replace the file store without the vault logic changing: `init
//! --key-store keyring` keeps each intervention's key (sealed to the master key,
//! as on disk) only in the OS keyring, so that no copy of the vault directory,
//! made by anyone, holds a key once it is destroyed.

use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};

use crate::crypto::{SealKey, SecretText};
use crate::error::{Error, Result};
use crate::session_store::{OsKeyring, SessionStore};

use super::format::{parse_key_plain, to_plain_json, KeyPlain, Ref};
use super::fsio;

/// Stores, loads and destroys per-intervention keys.
pub trait KeyStore {
    /// Stores the key of intervention `reference`, protected by `master`.
    fn put(&self, reference: &Ref, key: &SealKey, master: &SealKey) -> Result<()>;
    /// Loads the key of intervention `reference`.
    fn get(&self, reference: &Ref, master: &SealKey) -> Result<SealKey>;
    /// Destroys the key of intervention `reference`; needs no master key, so that
    /// expiry works without the passphrase. Says what it could establish: a wipe
    /// is reported as done only on [`Destruction::Destroyed`] or
    /// [`Destruction::AlreadyGone`].
    fn destroy(&self, reference: &Ref) -> Result<Destruction>;
    /// The references that have a key stored (to find leftovers of a crash).
    fn stored(&self) -> Result<Vec<Ref>>;
}

/// What [`KeyStore::destroy`] established about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destruction {
    /// The key was there and is gone now.
    Destroyed,
    /// The store was reachable and holds no such key (destroyed earlier, or
    /// forgotten by the keyring): nothing is left to destroy.
    AlreadyGone,
    /// The store cannot tell: the key may still exist where this process cannot
    /// reach it (another login session's keyring). The destruction is pending;
    /// `why` says what could not be reached (never a key).
    Unreachable {
        /// What could not be reached, for the user.
        why: String,
    },
}

impl Destruction {
    /// Whether the key is known to be gone.
    pub fn is_done(&self) -> bool {
        !matches!(self, Destruction::Unreachable { .. })
    }
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

    fn destroy(&self, reference: &Ref) -> Result<Destruction> {
        let path = self.path(reference);
        let existed = std::fs::symlink_metadata(&path).is_ok();
        fsio::shred(&path)?;
        Ok(if existed {
            Destruction::Destroyed
        } else {
            Destruction::AlreadyGone
        })
    }

    fn stored(&self) -> Result<Vec<Ref>> {
        Ok(fsio::list_dir(&self.dir)?
            .iter()
            .filter_map(|name| name.strip_suffix(".age").and_then(Ref::parse))
            .collect())
    }
}

/// A vault whose intervention keys live in the OS keyring: its identity there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyringConfig {
    /// The vault's identity in the keyring accounts (random).
    pub id: Ref,
}

/// How long a key lives in the keyring where the keyring can make it vanish (the
/// Linux kernel keyring also forgets it at logout).
const KEY_TTL: std::time::Duration = std::time::Duration::from_secs(400 * 24 * 3600);

/// Keys in the OS keyring, each sealed to the master key (as a key file would
/// be), under the account `key-VAULT-REF`.
pub struct KeyringKeyStore {
    config: KeyringConfig,
}

impl KeyringKeyStore {
    /// The keyring store of the vault `config` names.
    pub fn new(config: &KeyringConfig) -> Self {
        KeyringKeyStore {
            config: config.clone(),
        }
    }

    fn account(&self, reference: &Ref) -> String {
        format!("key-{}-{reference}", self.config.id)
    }

    fn keyring() -> Result<OsKeyring> {
        OsKeyring::new()
    }
}

impl KeyStore for KeyringKeyStore {
    fn put(&self, reference: &Ref, key: &SealKey, master: &SealKey) -> Result<()> {
        let plain = to_plain_json(&KeyPlain {
            reference: reference.clone(),
            identity: key.to_secret(),
        });
        let sealed = master.seal(&plain).map_err(Error::Internal)?;
        let text = SecretText::new(STANDARD.encode(sealed));
        Self::keyring()?.save(&self.account(reference), &text, KEY_TTL)
    }

    fn get(&self, reference: &Ref, master: &SealKey) -> Result<SealKey> {
        let account = self.account(reference);
        let where_ = PathBuf::from(format!("the OS keyring ({account})"));
        let Some(text) = Self::keyring()?.load(&account)? else {
            return Err(Error::KeyNotInKeyring {
                reference: reference.to_string(),
            });
        };
        let sealed = STANDARD
            .decode(text.expose())
            .map_err(|_| Error::damaged(&where_, "the key is not valid base64"))?;
        let plain = master
            .open(&sealed)
            .map_err(|e| Error::damaged(&where_, format!("the key {e}")))?;
        let parsed = parse_key_plain(&plain).map_err(|what| Error::damaged(&where_, what))?;
        if &parsed.reference != reference {
            return Err(Error::damaged(
                &where_,
                "the key belongs to another intervention",
            ));
        }
        SealKey::from_secret(&parsed.identity)
            .ok_or_else(|| Error::damaged(&where_, "it holds no valid key"))
    }

    fn destroy(&self, reference: &Ref) -> Result<Destruction> {
        let existed = Self::keyring()?.forget(&self.account(reference))?;
        Ok(if existed {
            Destruction::Destroyed
        } else {
            Destruction::AlreadyGone
        })
    }

    fn stored(&self) -> Result<Vec<Ref>> {
        // A keyring cannot be listed by prefix: a key a crash left behind (sealed
        // to the master key) stays until the keyring forgets it.
        Ok(Vec::new())
    }
}

/// A new keyring key store, once the OS keyring has shown it can keep a key and
/// give it back.
pub fn probe_keyring() -> Result<KeyringConfig> {
    let config = KeyringConfig { id: Ref::random() };
    let refuse = |e: Error| {
        Error::Input {
        what: format!(
            "the OS keyring cannot keep the intervention keys here ({})",
            match e {
                Error::Keyring { what } => what,
                other => other.to_string(),
            }
        ),
        fix: "on Linux, run inside a session keyring ('keyctl session -'), or keep the keys in files (the default)".into(),
        code: 1,
    }
    };
    let keyring = OsKeyring::new().map_err(refuse)?;
    let account = format!("probe-{}", config.id);
    let probe = SecretText::new("probe".into());
    keyring.save(&account, &probe, KEY_TTL).map_err(refuse)?;
    let back = keyring.load(&account).map_err(refuse)?;
    let _ = keyring.forget(&account);
    match back {
        Some(text) if text.expose() == "probe" => Ok(config),
        _ => Err(refuse(Error::Keyring {
            what: "what was stored could not be read back".into(),
        })),
    }
}

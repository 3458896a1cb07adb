//! Where intervention keys live. One small interface, so that an OS-keyring store
//! can replace the file store without the vault logic changing: `init
//! --key-store keyring` keeps each intervention's key (sealed to the master key,
//! as on disk) only in the OS keyring, so that no copy of the vault directory,
//! made by anyone, holds a key once it is destroyed.
//!
//! The keyring store keeps its keys in the user's keyring, the one every login
//! session of the user reaches (on Linux the persistent kernel keyring), so that
//! `close` or the sweep timer run from cron, a systemd user timer or SSH destroys
//! them. Next to the keys it keeps a marker of the vault (no secret): a process
//! that sees the marker but not a key knows the key is gone; one that sees
//! neither cannot tell, and says so ([`Destruction::Unreachable`]).

use base64::{engine::general_purpose::STANDARD, Engine};

use crate::crypto::{SealKey, SecretText};
use crate::error::{Error, Result};
use crate::os_keyring::{SecretStore, UserKeyring};

pub use super::format::KeyringConfig;
use super::format::{parse_key_plain, to_plain_json, KeyPlain, Ref};
use super::layout;
use crate::store::{Expiry, SharedStore, StoreError};

/// Stores, loads and destroys per-intervention keys.
pub trait KeyStore {
    /// Stores the key of intervention `reference`, protected by `master`; a
    /// store that can delete it by itself does so after `expiry` (a backstop).
    fn put(&self, reference: &Ref, key: &SealKey, master: &SealKey, expiry: &Expiry) -> Result<()>;
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

/// Keys as objects `keys/REF.age` of the vault's store, each sealed to the
/// master key.
#[derive(Clone)]
pub struct FileKeyStore {
    store: SharedStore,
}

impl FileKeyStore {
    /// The keys kept in `store`.
    pub fn new(store: SharedStore) -> Self {
        FileKeyStore { store }
    }
}

impl KeyStore for FileKeyStore {
    fn put(&self, reference: &Ref, key: &SealKey, master: &SealKey, expiry: &Expiry) -> Result<()> {
        let plain = to_plain_json(&KeyPlain {
            reference: reference.clone(),
            identity: key.to_secret(),
        });
        let sealed = master.seal(&plain).map_err(Error::Internal)?;
        self.store
            .write_until(&layout::key(reference), &sealed, expiry)
    }

    fn get(&self, reference: &Ref, master: &SealKey) -> Result<SealKey> {
        let name = layout::key(reference);
        let path = self.store.locate(&name);
        let sealed = match self.store.read(&name) {
            Err(StoreError::NotFound(_)) => {
                return Err(Error::damaged(path, "the intervention's key is missing"))
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
        let name = layout::key(reference);
        let existed = self.store.exists(&name)?;
        self.store.shred(&name)?;
        Ok(if existed {
            Destruction::Destroyed
        } else {
            Destruction::AlreadyGone
        })
    }

    fn stored(&self) -> Result<Vec<Ref>> {
        Ok(self
            .store
            .list(layout::KEYS)?
            .iter()
            .filter_map(|name| name.strip_suffix(".age").and_then(Ref::parse))
            .collect())
    }
}

/// Unused by the user keyring (its records last as long as it does); kept for
/// the trait.
const KEY_TTL: std::time::Duration = std::time::Duration::from_secs(400 * 24 * 3600);

/// What the marker holds: nothing secret, only what it is.
const MARKER: &str = "intervault key store marker";

/// Keys in the user's OS keyring, each sealed to the master key (as a key file
/// would be), under the account `key-VAULT-REF`, beside the marker `marker-VAULT`.
pub struct KeyringKeyStore {
    config: KeyringConfig,
    keyring: Result<Box<dyn SecretStore>>,
}

impl KeyringKeyStore {
    /// The keyring store of the vault `config` names, in the user's keyring.
    pub fn new(config: &KeyringConfig) -> Self {
        KeyringKeyStore {
            config: config.clone(),
            keyring: UserKeyring::new().map(|k| Box::new(k) as Box<dyn SecretStore>),
        }
    }

    fn account(&self, reference: &Ref) -> String {
        format!("key-{}-{reference}", self.config.id)
    }

    fn marker_account(&self) -> String {
        marker_account(&self.config.id)
    }

    fn keyring(&self) -> Result<&dyn SecretStore> {
        match &self.keyring {
            Ok(k) => Ok(k.as_ref()),
            Err(e) => Err(Error::Keyring {
                what: format!(
                    "could not reach {} ({})",
                    UserKeyring::name(),
                    keyring_what(e)
                ),
            }),
        }
    }

    /// Whether this process sees the vault's marker: `Ok(true)` means the keyring
    /// that holds this vault's keys is the one this process reaches.
    fn sees_marker(&self) -> Result<bool> {
        Ok(self.keyring()?.load(&self.marker_account())?.is_some())
    }

    /// Why the store cannot tell where the keys are, for messages.
    fn unreachable_why(&self) -> String {
        format!(
            "this vault's marker is not in {} as this process sees it: it runs as another user or in another user namespace, or the keyring was emptied ({}; the keys went with it)",
            UserKeyring::name(),
            UserKeyring::forgets()
        )
    }
}

/// What a keyring failure was, without the advice meant for sessions.
fn keyring_what(e: &Error) -> String {
    match e {
        Error::Keyring { what } => what.clone(),
        other => other.to_string(),
    }
}

fn marker_account(id: &Ref) -> String {
    format!("marker-{id}")
}

impl KeyStore for KeyringKeyStore {
    // The keyring's own expiry (KEY_TTL) is the backstop here.
    fn put(&self, reference: &Ref, key: &SealKey, master: &SealKey, _: &Expiry) -> Result<()> {
        let plain = to_plain_json(&KeyPlain {
            reference: reference.clone(),
            identity: key.to_secret(),
        });
        let sealed = master.seal(&plain).map_err(Error::Internal)?;
        let text = SecretText::new(STANDARD.encode(sealed));
        let keyring = self.keyring()?;
        // A vault made before the marker existed gets it with its next key.
        if !self.sees_marker()? {
            keyring.save(
                &self.marker_account(),
                &SecretText::new(MARKER.into()),
                KEY_TTL,
            )?;
        }
        keyring.save(&self.account(reference), &text, KEY_TTL)
    }

    fn get(&self, reference: &Ref, master: &SealKey) -> Result<SealKey> {
        let account = self.account(reference);
        let where_ = crate::error::Location::Keyring {
            account: account.clone(),
        };
        let Some(text) = self.keyring()?.load(&account)? else {
            let why = match self.sees_marker() {
                Ok(true) => format!(
                    "{} holds this vault's other keys but not this one, so it was destroyed; its credentials cannot be opened any more; close it (its tombstone and receipt stay) and ask the client for the credentials again",
                    UserKeyring::name()
                ),
                Ok(false) => format!(
                    "{}; if the keyring was emptied, the credentials cannot be opened any more: close it and ask the client for the credentials again",
                    self.unreachable_why()
                ),
                Err(e) => format!(
                    "the key store cannot be reached from this login session ({}); try again from the login session that opened the vault",
                    keyring_what(&e)
                ),
            };
            return Err(Error::KeyNotInKeyring {
                reference: reference.to_string(),
                why,
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

    /// Never `AlreadyGone` unless the marker shows that the keyring this process
    /// searched is the one that holds the vault's keys.
    fn destroy(&self, reference: &Ref) -> Result<Destruction> {
        let unreachable = |e: Error| Destruction::Unreachable {
            why: format!("the key store cannot be reached ({})", keyring_what(&e)),
        };
        let keyring = match self.keyring() {
            Ok(k) => k,
            Err(e) => return Ok(unreachable(e)),
        };
        match keyring.forget(&self.account(reference)) {
            Ok(true) => Ok(Destruction::Destroyed),
            Ok(false) => match self.sees_marker() {
                Ok(true) => Ok(Destruction::AlreadyGone),
                Ok(false) => Ok(Destruction::Unreachable {
                    why: self.unreachable_why(),
                }),
                Err(e) => Ok(unreachable(e)),
            },
            Err(e) => Ok(unreachable(e)),
        }
    }

    fn stored(&self) -> Result<Vec<Ref>> {
        // A keyring cannot be listed by prefix: a key a crash left behind (sealed
        // to the master key) stays until the keyring forgets it.
        Ok(Vec::new())
    }
}

/// A new keyring key store, once the user's keyring has shown it can keep the
/// vault's marker and give it back (the marker stays: it is how a wipe run from
/// another login session tells a destroyed key from an unreachable one).
pub fn probe_keyring() -> Result<KeyringConfig> {
    let config = KeyringConfig { id: Ref::random() };
    let refuse = |e: Error| {
        Error::Input {
        what: format!(
            "the OS keyring cannot keep the intervention keys here ({})",
            keyring_what(&e)
        ),
        fix: "keep the keys in files (the default), or use a system whose keyring works for this user".into(),
        code: 1,
    }
    };
    let keyring = UserKeyring::new().map_err(refuse)?;
    let account = marker_account(&config.id);
    let marker = SecretText::new(MARKER.into());
    keyring.save(&account, &marker, KEY_TTL).map_err(refuse)?;
    match keyring.load(&account).map_err(refuse)? {
        Some(text) if text.expose() == MARKER => Ok(config),
        _ => Err(refuse(Error::Keyring {
            what: "what was stored could not be read back".into(),
        })),
    }
}

/// The keyring store against the real kernel keyring (run the tests inside
/// `keyctl session -`): the three outcomes of a destroy, in this process and in
/// processes of other login sessions.
#[cfg(all(test, target_os = "linux", not(feature = "secret-service")))]
mod keyring_tests {
    // The helper process reports its outcome on stdout.
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )]

    /// An expiry a day away, for keys the tests store.
    fn a_day() -> crate::store::Expiry<'static> {
        let now = chrono::Utc::now();
        crate::store::Expiry {
            group: "test",
            until: now + chrono::TimeDelta::days(1),
            now,
        }
    }

    use super::*;
    use std::process::Command;

    const HELPER: &str = "vault::keystore::keyring_tests::destroy_named_by_the_environment";
    const HELPER_ENV: &str = "INTERVAULT_TEST_KEYRING_DESTROY";

    /// A vault's keyring store, as `init --key-store keyring` makes it.
    fn new_store() -> (KeyringConfig, KeyringKeyStore) {
        let config = probe_keyring().expect("the user keyring works here");
        let store = KeyringKeyStore::new(&config);
        (config, store)
    }

    /// Runs the destroy of `reference` in a new process of another login session
    /// (`keyctl session -`), in a new user namespace too if `elsewhere`; its
    /// outcome as it printed it.
    fn destroy_in_another_session(
        config: &KeyringConfig,
        reference: &Ref,
        elsewhere: bool,
    ) -> Option<String> {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = if elsewhere {
            let mut c = Command::new("unshare");
            c.args(["--user", "--map-root-user", "keyctl", "session", "-"]);
            c
        } else {
            let mut c = Command::new("keyctl");
            c.args(["session", "-"]);
            c
        };
        let out = cmd
            .arg(exe)
            .args([
                "--exact",
                HELPER,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HELPER_ENV, format!("{} {reference}", config.id))
            .output()
            .expect("run keyctl");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let outcome = stdout
            .lines()
            .find_map(|l| l.split_once("outcome: ").map(|(_, o)| o))
            .map(str::to_owned);
        if outcome.is_none() && elsewhere {
            // No user namespaces here (a locked-down CI): nothing to learn.
            eprintln!(
                "skipped: unshare --user failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        outcome
    }

    /// Not a test of its own: the other process of the tests above.
    #[test]
    #[ignore]
    fn destroy_named_by_the_environment() {
        let Ok(named) = std::env::var(HELPER_ENV) else {
            return;
        };
        let (id, reference) = named.split_once(' ').unwrap();
        let config = KeyringConfig {
            id: Ref::parse(id).unwrap(),
        };
        let outcome = KeyringKeyStore::new(&config).destroy(&Ref::parse(reference).unwrap());
        // On a line of its own: libtest prints the test's name before it.
        println!("\noutcome: {outcome:?}");
    }

    #[test]
    fn keyring_destroy_says_destroyed_then_already_gone() {
        let (_, store) = new_store();
        let (reference, key, master) = (Ref::random(), SealKey::generate(), SealKey::generate());
        store.put(&reference, &key, &master, &a_day()).unwrap();
        let back = store.get(&reference, &master).unwrap();
        assert_eq!(back.to_secret().expose(), key.to_secret().expose());
        assert_eq!(store.destroy(&reference).unwrap(), Destruction::Destroyed);
        assert_eq!(store.destroy(&reference).unwrap(), Destruction::AlreadyGone);
        let err = store.get(&reference, &master).unwrap_err();
        assert!(matches!(err, Error::KeyNotInKeyring { .. }), "{err}");
        assert_eq!(err.exit_code(), 6);
        assert!(err.to_string().contains("so it was destroyed"), "{err}");
    }

    /// Issue 12: a store this process cannot see (no marker: another user
    /// namespace, or a keyring emptied by a reboot) is never reported as wiped.
    #[test]
    fn keyring_destroy_without_the_marker_is_unreachable_never_already_gone() {
        let config = KeyringConfig { id: Ref::random() };
        let store = KeyringKeyStore::new(&config);
        let outcome = store.destroy(&Ref::random()).unwrap();
        let Destruction::Unreachable { why } = outcome else {
            panic!("{outcome:?}");
        };
        assert!(
            why.contains("marker is not in the user's persistent kernel keyring"),
            "{why}"
        );
        let err = store.get(&Ref::random(), &SealKey::generate()).unwrap_err();
        assert!(matches!(err, Error::KeyNotInKeyring { .. }), "{err}");
        assert!(err.to_string().contains("marker is not in"), "{err}");
    }

    /// Issue 12: `close` or the sweep timer run from another login session (cron,
    /// a systemd user timer, SSH) reaches and destroys the key.
    #[test]
    fn keyring_key_stored_in_one_session_is_destroyed_from_another() {
        let (config, store) = new_store();
        let (reference, master) = (Ref::random(), SealKey::generate());
        store
            .put(&reference, &SealKey::generate(), &master, &a_day())
            .unwrap();
        let outcome = destroy_in_another_session(&config, &reference, false);
        assert_eq!(outcome.as_deref(), Some("Ok(Destroyed)"));
        assert_eq!(store.destroy(&reference).unwrap(), Destruction::AlreadyGone);
        let again = destroy_in_another_session(&config, &reference, false);
        assert_eq!(again.as_deref(), Some("Ok(AlreadyGone)"));
    }

    /// Issue 12: a process in another user namespace has another persistent
    /// keyring: it cannot reach the key, and says so.
    #[test]
    fn keyring_key_out_of_reach_of_another_user_namespace_is_unreachable() {
        let (config, store) = new_store();
        let (reference, master) = (Ref::random(), SealKey::generate());
        store
            .put(&reference, &SealKey::generate(), &master, &a_day())
            .unwrap();
        if let Some(outcome) = destroy_in_another_session(&config, &reference, true) {
            assert!(outcome.starts_with("Ok(Unreachable"), "{outcome}");
        }
        // Still there for this one.
        assert!(store.get(&reference, &master).is_ok());
        assert_eq!(store.destroy(&reference).unwrap(), Destruction::Destroyed);
    }
}

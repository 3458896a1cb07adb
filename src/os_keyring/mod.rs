//! The OS keyring, by purpose: each use gets the keyring and lifetime it needs.
//!
//! | purpose | type | Linux (kernel keyring) | elsewhere |
//! |---|---|---|---|
//! | unlocked sessions (`unlock`) | [`LoginSessionKeyring`] | the session keyring of the login that unlocked, possessor-only, with a kernel timeout | the native store |
//! | intervention keys (`init --key-store keyring`) | [`UserKeyring`] | the user's persistent keyring | the native store |
//! | rollback records (last generation seen) | [`UserKeyring`] | the user's persistent keyring | the native store |
//!
//! A session holds the master key: it must stay in the login session that
//! unlocked and vanish on its own, so it never goes near a keyring that another
//! login of the user reaches. Intervention keys are the opposite: `close` or the
//! `sweep` timer (cron, a systemd user timer, SSH) must reach them from any login
//! session, or a wipe destroys nothing; they are sealed to the master key, so
//! reaching them gives nothing without the passphrase. Rollback records carry no
//! secret and must outlive logout.
//!
//! The Linux persistent keyring is per user (and user namespace), reached by every
//! login session of the UID; the kernel drops it, with everything in it, after
//! `/proc/sys/kernel/keys/persistent_keyring_expiry` seconds (3 days by default)
//! without a `keyctl_get_persistent`, which intervault calls at every use, and at
//! reboot. intervault uses the kernel keyring through `linux-keyutils` directly:
//! the `keyring` crate's keyutils backend links every key it touches into the
//! persistent keyring, which is right for neither sessions nor timeouts set
//! before the secret is written. The `keyring` crate keeps the macOS Keychain,
//! the Windows Credential Manager and the Secret Service (`--features
//! secret-service`). A platform without a native store gets an error, never the
//! `keyring` crate's silent in-memory mock.

use std::time::Duration;

use crate::crypto::SecretText;
use crate::error::Result;

#[cfg(all(target_os = "linux", not(feature = "secret-service")))]
mod kernel;
#[cfg(all(target_os = "linux", not(feature = "secret-service")))]
use kernel as backend;

#[cfg(not(all(target_os = "linux", not(feature = "secret-service"))))]
mod portable;
#[cfg(not(all(target_os = "linux", not(feature = "secret-service"))))]
use portable as backend;

/// The service name of every intervault entry (the `keyring` crate's stores).
pub const SERVICE: &str = "intervault";

/// Keeps, finds and forgets small secret records by account.
pub trait SecretStore {
    /// Stores `record` for `account`, replacing any earlier one; it should vanish
    /// by itself after `ttl` where the backend and purpose allow it.
    fn save(&self, account: &str, record: &SecretText, ttl: Duration) -> Result<()>;
    /// The record of `account`, if there is one.
    fn load(&self, account: &str) -> Result<Option<SecretText>>;
    /// Forgets the record of `account`; `Ok(false)` if there was none.
    fn forget(&self, account: &str) -> Result<bool>;
}

/// Where unlocked sessions live: only this login session's keyring.
#[derive(Debug)]
pub struct LoginSessionKeyring {
    _private: (),
}

impl LoginSessionKeyring {
    /// This login session's keyring, or an error on a platform without one.
    pub fn new() -> Result<Self> {
        backend::available()?;
        Ok(LoginSessionKeyring { _private: () })
    }
}

impl SecretStore for LoginSessionKeyring {
    fn save(&self, account: &str, record: &SecretText, ttl: Duration) -> Result<()> {
        backend::session_save(account, record, ttl)
    }
    fn load(&self, account: &str) -> Result<Option<SecretText>> {
        backend::session_load(account)
    }
    fn forget(&self, account: &str) -> Result<bool> {
        backend::session_forget(account)
    }
}

/// Where what must outlive a login lives, reachable from every login session of
/// the user: intervention keys and rollback records.
#[derive(Debug)]
pub struct UserKeyring {
    _private: (),
}

impl UserKeyring {
    /// The user's keyring, or an error on a platform without one.
    pub fn new() -> Result<Self> {
        backend::available()?;
        Ok(UserKeyring { _private: () })
    }

    /// What this keyring is, for messages ("the user's persistent kernel keyring").
    pub fn name() -> &'static str {
        backend::USER_KEYRING_NAME
    }

    /// What makes this keyring lose everything it holds, for messages.
    pub fn forgets() -> &'static str {
        backend::USER_KEYRING_FORGETS
    }
}

impl SecretStore for UserKeyring {
    /// `ttl` is ignored: these records last as long as the keyring does.
    fn save(&self, account: &str, record: &SecretText, _ttl: Duration) -> Result<()> {
        backend::user_save(account, record)
    }
    fn load(&self, account: &str) -> Result<Option<SecretText>> {
        backend::user_load(account)
    }
    fn forget(&self, account: &str) -> Result<bool> {
        backend::user_forget(account)
    }
}

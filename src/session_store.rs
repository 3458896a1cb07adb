//! Where an unlocked session lives: the OS keyring.
//!
//! `intervault unlock` derives the master key once and keeps it in the OS keyring
//! (the Linux kernel keyring through keyutils, the macOS Keychain, the Windows
//! Credential Manager, or the Secret Service when built with `--features
//! secret-service`) until the session ends. The end is enforced by intervault
//! itself, from the expiry sealed in the session record, and also by the kernel
//! where it can: on Linux the key gets a keyutils timeout, so it disappears even
//! if intervault never runs again, and it is kept out of the user's persistent
//! keyring, so it stays in the login session that unlocked.
//!
//! A `keyring` build without a native store silently uses an in-memory mock. That
//! would make `unlock` a lie, so every platform gets its native store in
//! Cargo.toml, and any other platform gets [`OsKeyring::new`]'s error instead.

use std::time::Duration;

use crate::crypto::SecretText;
use crate::error::{Error, Result};

/// The keyring service name of every intervault session.
pub const SERVICE: &str = "intervault";

/// Keeps, finds and forgets session records by account (one per vault).
pub trait SessionStore {
    /// Stores `record` for `account`, replacing any earlier one; it should vanish
    /// by itself after `ttl` where the backend can do that.
    fn save(&self, account: &str, record: &SecretText, ttl: Duration) -> Result<()>;
    /// The record of `account`, if there is one.
    fn load(&self, account: &str) -> Result<Option<SecretText>>;
    /// Forgets the record of `account`; `Ok(false)` if there was none.
    fn forget(&self, account: &str) -> Result<bool>;
}

/// The platform's keyring.
#[derive(Debug)]
pub struct OsKeyring {
    _private: (),
}

impl OsKeyring {
    /// The platform's keyring, or an error on a platform without a native store.
    pub fn new() -> Result<Self> {
        if cfg!(any(
            target_os = "linux",
            target_os = "macos",
            target_os = "windows"
        )) {
            Ok(OsKeyring { _private: () })
        } else {
            Err(Error::Keyring {
                what: "this platform has no OS keyring backend in this build".into(),
            })
        }
    }

    fn entry(account: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(SERVICE, account).map_err(|e| keyring_error("open", e))
    }
}

impl SessionStore for OsKeyring {
    fn save(&self, account: &str, record: &SecretText, ttl: Duration) -> Result<()> {
        let entry = Self::entry(account)?;
        let kept = entry
            .set_password(record.expose())
            .map_err(|e| keyring_error("store the session in", e))
            .and_then(|()| scope_to_login_session(account, ttl));
        if kept.is_err() {
            // Never leave a master key behind without its timeout or scope.
            let _ = entry.delete_credential();
        }
        kept
    }

    fn load(&self, account: &str) -> Result<Option<SecretText>> {
        match Self::entry(account)?.get_password() {
            Ok(record) => {
                // Reading re-links the key into the persistent keyring: undo that.
                let _ = unlink_from_persistent(account);
                Ok(Some(SecretText::new(record)))
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error("read the session from", e)),
        }
    }

    fn forget(&self, account: &str) -> Result<bool> {
        match Self::entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_error("remove the session from", e)),
        }
    }
}

/// The description the `keyring` crate gives keyutils keys: `keyring-rs:ACCOUNT@SERVICE`.
#[cfg(all(target_os = "linux", not(feature = "secret-service")))]
fn description(account: &str) -> String {
    format!("keyring-rs:{account}@{SERVICE}")
}

/// Gives the session key a kernel timeout, so it expires even if nothing deletes
/// it, and keeps it to this login session: the `keyring` crate also links keys
/// into the user's persistent keyring, which every other login of the user
/// reaches and which outlives logout.
#[cfg(all(target_os = "linux", not(feature = "secret-service")))]
fn scope_to_login_session(account: &str, ttl: Duration) -> Result<()> {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};
    let failed = |what: &str, e: linux_keyutils::KeyError| Error::Keyring {
        what: format!("could not {what} ({e:?}); the session was not kept"),
    };
    let ring = KeyRing::from_special_id(KeyRingIdentifier::Session, false)
        .map_err(|e| failed("open the session keyring", e))?;
    let key = ring
        .search(&description(account))
        .map_err(|e| failed("find the session key", e))?;
    let seconds = usize::try_from(ttl.as_secs().max(1)).unwrap_or(usize::MAX);
    key.set_timeout(seconds)
        .map_err(|e| failed("set the session's kernel timeout", e))?;
    unlink_from_persistent(account)
}

#[cfg(all(target_os = "linux", not(feature = "secret-service")))]
fn unlink_from_persistent(account: &str) -> Result<()> {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};
    let failed = |e: linux_keyutils::KeyError| Error::Keyring {
        what: format!("could not keep the session to this login ({e:?}); the session was not kept"),
    };
    let Ok(persistent) = KeyRing::get_persistent(KeyRingIdentifier::Session) else {
        return Ok(()); // no persistent keyring: nothing links there
    };
    match persistent.search(&description(account)) {
        Ok(key) => persistent.unlink_key(key).map_err(failed),
        Err(_) => Ok(()),
    }
}

#[cfg(not(all(target_os = "linux", not(feature = "secret-service"))))]
fn scope_to_login_session(_account: &str, _ttl: Duration) -> Result<()> {
    // Other backends have no per-item timeout; intervault's own check of the
    // sealed expiry ends the session.
    Ok(())
}

#[cfg(not(all(target_os = "linux", not(feature = "secret-service"))))]
fn unlink_from_persistent(_account: &str) -> Result<()> {
    Ok(())
}

/// Describes a keyring failure without ever quoting stored bytes (the
/// `BadEncoding` variant carries the secret itself).
fn keyring_error(action: &str, e: keyring::Error) -> Error {
    let why = match e {
        keyring::Error::PlatformFailure(inner) => format!("it failed: {inner}"),
        keyring::Error::NoStorageAccess(inner) => format!("it cannot be reached: {inner}"),
        keyring::Error::NoEntry => "the entry was not found right after it was written".into(),
        keyring::Error::BadEncoding(_) => "the stored session is not text".into(),
        keyring::Error::TooLong(what, max) => format!("{what} is longer than {max}"),
        keyring::Error::Invalid(what, why) => format!("{what} is invalid: {why}"),
        _ => "it failed".into(),
    };
    Error::Keyring {
        what: format!("could not {action} the OS keyring ({why})"),
    }
}

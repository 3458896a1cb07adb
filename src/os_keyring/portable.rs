//! The `keyring` crate's native stores: the macOS Keychain, the Windows
//! Credential Manager, and the Secret Service (`--features secret-service`).
//! They have no per-item timeout (intervault's own check of the sealed expiry
//! ends a session) and no per-login scope: every entry is the user's.

use std::time::Duration;

use super::SERVICE;
use crate::crypto::SecretText;
use crate::error::{Error, Result};

pub(super) const USER_KEYRING_NAME: &str = "the OS keyring";
pub(super) const USER_KEYRING_FORGETS: &str =
    "it is locked, or not reachable from this login session";

pub(super) fn available() -> Result<()> {
    if cfg!(any(
        target_os = "linux",
        target_os = "macos",
        target_os = "windows"
    )) {
        Ok(())
    } else {
        Err(Error::Keyring {
            what: "this platform has no OS keyring backend in this build".into(),
        })
    }
}

fn entry(account: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, account).map_err(|e| keyring_error("open", e))
}

fn save(account: &str, record: &SecretText) -> Result<()> {
    entry(account)?
        .set_password(record.expose())
        .map_err(|e| keyring_error("store a record in", e))
}

fn load(account: &str) -> Result<Option<SecretText>> {
    match entry(account)?.get_password() {
        Ok(record) => Ok(Some(SecretText::new(record))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keyring_error("read a record from", e)),
    }
}

fn forget(account: &str) -> Result<bool> {
    match entry(account)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keyring_error("remove a record from", e)),
    }
}

pub(super) fn session_save(account: &str, record: &SecretText, _ttl: Duration) -> Result<()> {
    save(account, record)
}
pub(super) fn session_load(account: &str) -> Result<Option<SecretText>> {
    load(account)
}
pub(super) fn session_forget(account: &str) -> Result<bool> {
    forget(account)
}
pub(super) fn user_save(account: &str, record: &SecretText) -> Result<()> {
    save(account, record)
}
pub(super) fn user_load(account: &str) -> Result<Option<SecretText>> {
    load(account)
}
pub(super) fn user_forget(account: &str) -> Result<bool> {
    forget(account)
}

/// Describes a keyring failure without ever quoting stored bytes (the
/// `BadEncoding` variant carries the secret itself).
fn keyring_error(action: &str, e: keyring::Error) -> Error {
    let why = match e {
        keyring::Error::PlatformFailure(inner) => format!("it failed: {inner}"),
        keyring::Error::NoStorageAccess(inner) => format!("it cannot be reached: {inner}"),
        keyring::Error::NoEntry => "the entry was not found right after it was written".into(),
        keyring::Error::BadEncoding(_) => "the stored record is not text".into(),
        keyring::Error::TooLong(what, max) => format!("{what} is longer than {max}"),
        keyring::Error::Invalid(what, why) => format!("{what} is invalid: {why}"),
        _ => "it failed".into(),
    };
    Error::Keyring {
        what: format!("could not {action} the OS keyring ({why})"),
    }
}

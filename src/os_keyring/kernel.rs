//! The Linux kernel keyring through keyutils, without the `keyring` crate.
//!
//! Every key gets its permissions (possessor only: no other process of the user
//! sees it unless it possesses the keyring that holds it) and, for a session, its
//! timeout before any other process can reach its secret (see [`put_expiring`]
//! and [`put_lasting`]). A session key goes into this login's session keyring and nowhere else;
//! records that must outlive the login go into the user's persistent keyring,
//! which is linked for the call into this process's own keyring (not the session
//! keyring), so using it leaves no trace in the login session.

use std::time::Duration;

use linux_keyutils::{
    Key, KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission,
};
use zeroize::Zeroizing;

use crate::crypto::SecretText;
use crate::error::{Error, Result};

pub(super) const USER_KEYRING_NAME: &str = "the user's persistent kernel keyring";
pub(super) const USER_KEYRING_FORGETS: &str =
    "the kernel empties it at reboot and after 3 days (kernel.keys.persistent_keyring_expiry) without any intervault command";

/// What a key holds before its permissions and timeout are set.
const PLACEHOLDER: &[u8] = b"-";

/// The largest payload of a `user` key.
const MAX_PAYLOAD: usize = 32_767;

pub(super) fn available() -> Result<()> {
    Ok(())
}

fn session_description(account: &str) -> String {
    format!("intervault:session:{account}")
}

fn user_description(account: &str) -> String {
    format!("intervault:{account}")
}

/// Possessor-only permissions: everything but linking the key elsewhere.
fn possessor_only() -> linux_keyutils::KeyPermissions {
    KeyPermissionsBuilder::builder()
        .posessor(
            Permission::VIEW
                | Permission::READ
                | Permission::WRITE
                | Permission::SEARCH
                | Permission::SETATTR,
        )
        .build()
}

/// Says what a keyutils error means, for a one-line message.
fn describe(e: KeyError) -> &'static str {
    match e {
        KeyError::AccessDenied | KeyError::PermissionDenied => "permission denied",
        KeyError::QuotaExceeded => {
            "the user's key quota is full (kernel.keys.maxkeys and maxbytes)"
        }
        KeyError::KeyExpired => "the keyring has expired",
        KeyError::KeyRevoked => "the keyring was revoked",
        KeyError::KeyringDoesNotExist | KeyError::KeyDoesNotExist => "no such keyring",
        KeyError::OutOfMemory => "out of memory",
        KeyError::OperationNotSupported => "the kernel has no keyring support",
        _ => "the kernel refused",
    }
}

fn failed(what: &str, e: KeyError) -> Error {
    Error::Keyring {
        what: format!("could not {what} ({})", describe(e)),
    }
}

/// This login's session keyring; refused when the process has none of its own
/// (the kernel would fall back to the user-session keyring, which every login
/// without a session keyring shares).
fn session_ring() -> Result<KeyRing> {
    let ring = KeyRing::from_special_id(KeyRingIdentifier::Session, false)
        .map_err(|e| failed("open this login's session keyring", e))?;
    let meta = ring
        .metadata()
        .map_err(|e| failed("inspect this login's session keyring", e))?;
    if meta.get_description().starts_with("_uid_ses") {
        return Err(Error::Keyring {
            what: "this process has no session keyring of its own, only the one every login of this user without one shares".into(),
        });
    }
    Ok(ring)
}

/// The user's persistent keyring, linked into this process's keyring; resets its
/// expiry.
fn user_ring() -> Result<KeyRing> {
    KeyRing::get_persistent(KeyRingIdentifier::Process)
        .map_err(|e| failed(&format!("reach {USER_KEYRING_NAME}"), e))
}

/// Adds or replaces `description` in `ring` without a timeout: placeholder,
/// permissions, then the secret; on any failure the key is destroyed.
fn put_lasting(ring: KeyRing, description: &str, secret: &[u8]) -> Result<()> {
    let key = ring
        .add_key(description, PLACEHOLDER)
        .map_err(|e| failed("add a key to the keyring", e))?;
    let kept = key
        .set_perms(possessor_only())
        .map_err(|e| failed("make the key private", e))
        .and_then(|()| key.update(&secret).map_err(|e| failed("write the key", e)));
    if kept.is_err() {
        let _ = key.invalidate();
    }
    kept
}

/// Adds `description` to `ring` with a kernel timeout that it has before any
/// other process can reach it. Updating a `user` key resets its expiry (the
/// kernel's `user_update` takes the new payload's, which is none), so the key
/// is born with its secret in this process's own keyring, which no other
/// process possesses and which dies with this process; it gets its timeout and
/// permissions there, and only then is it moved into `ring`.
fn put_expiring(ring: KeyRing, description: &str, secret: &[u8], ttl: Duration) -> Result<()> {
    let own = KeyRing::from_special_id(KeyRingIdentifier::Process, true)
        .map_err(|e| failed("create this process's keyring", e))?;
    // The record it replaces goes now, not at the next garbage collection.
    let _ = remove(ring, description);
    let key = own
        .add_key(description, secret)
        .map_err(|e| failed("add a key to the keyring", e))?;
    let seconds = usize::try_from(ttl.as_secs().max(1)).unwrap_or(usize::MAX);
    let linkable = KeyPermissionsBuilder::builder()
        .posessor(
            Permission::VIEW
                | Permission::READ
                | Permission::WRITE
                | Permission::SEARCH
                | Permission::LINK
                | Permission::SETATTR,
        )
        .build();
    let kept = key
        .set_timeout(seconds)
        .map_err(|e| failed("set the key's kernel timeout", e))
        .and_then(|()| {
            key.set_perms(linkable)
                .map_err(|e| failed("make the key private", e))
        })
        .and_then(|()| {
            ring.link_key(key)
                .map_err(|e| failed("put the key in the keyring", e))
        })
        .and_then(|()| {
            key.set_perms(possessor_only())
                .map_err(|e| failed("make the key private", e))
        });
    if kept.is_err() {
        // Never leave a key behind without its timeout or permissions.
        let _ = key.invalidate();
        return kept;
    }
    let _ = own.unlink_key(key);
    // Look it up as the next command will (a search from `ring`): a keyring this
    // process can write into but not search from (one it does not possess, as
    // in some terminal multiplexers, SSH and container set-ups) would hold a
    // key that nobody finds, and a session that is claimed but never used.
    let found = ring.search(description).ok().map(|k| k.get_id());
    if found != Some(key.get_id()) {
        let _ = key.invalidate();
        return Err(Error::Keyring {
            what: "the session was stored, but the next command could not find it in this login's session keyring (it is not usable here), so it was removed".into(),
        });
    }
    Ok(())
}

/// The key `description` in `ring`, if there is one.
fn find(ring: KeyRing, description: &str) -> Result<Option<Key>> {
    match ring.search(description) {
        Ok(key) => Ok(Some(key)),
        Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => Ok(None),
        Err(e) => Err(failed("search the keyring", e)),
    }
}

fn read(ring: KeyRing, description: &str) -> Result<Option<SecretText>> {
    let Some(key) = find(ring, description)? else {
        return Ok(None);
    };
    let mut buf = Zeroizing::new(vec![0u8; MAX_PAYLOAD + 1]);
    let len = match key.read(&mut *buf) {
        Ok(len) => len,
        Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
            return Ok(None)
        }
        Err(e) => return Err(failed("read the key", e)),
    };
    let bytes = buf.get(..len).ok_or_else(|| Error::Keyring {
        what: "could not read the key (it is longer than a keyring key can be)".into(),
    })?;
    let text = std::str::from_utf8(bytes).map_err(|_| Error::Keyring {
        what: "could not read the key (it is not text)".into(),
    })?;
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    out.push_str(text);
    Ok(Some(SecretText::from(out)))
}

fn remove(ring: KeyRing, description: &str) -> Result<bool> {
    let Some(key) = find(ring, description)? else {
        return Ok(false);
    };
    match key.invalidate() {
        Ok(()) => Ok(true),
        Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => Ok(false),
        Err(e) => Err(failed("destroy the key", e)),
    }
}

pub(super) fn session_save(account: &str, record: &SecretText, ttl: Duration) -> Result<()> {
    put_expiring(
        session_ring()?,
        &session_description(account),
        record.expose().as_bytes(),
        ttl,
    )
}

pub(super) fn session_load(account: &str) -> Result<Option<SecretText>> {
    read(session_ring()?, &session_description(account))
}

pub(super) fn session_forget(account: &str) -> Result<bool> {
    remove(session_ring()?, &session_description(account))
}

pub(super) fn user_save(account: &str, record: &SecretText) -> Result<()> {
    put_lasting(
        user_ring()?,
        &user_description(account),
        record.expose().as_bytes(),
    )
}

pub(super) fn user_load(account: &str) -> Result<Option<SecretText>> {
    read(user_ring()?, &user_description(account))
}

pub(super) fn user_forget(account: &str) -> Result<bool> {
    remove(user_ring()?, &user_description(account))
}

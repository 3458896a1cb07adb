//! Unlocked sessions: `unlock`, `lock`, and finding a session's master key.
//!
//! A session record holds the master key, when the session ends, and a binding to
//! the wrapped master key in `vault.json`: after `passwd` the binding no longer
//! matches, so a session can never keep working with an old key. The record is
//! trusted only until its sealed end, and not at all if the clock reads earlier
//! than its creation (minus the rollback tolerance).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::audit::{Action, Event, Outcome};
use crate::clock::clock_is_sane;
use crate::crypto::{sha256_tagged, SealKey, SecretText};
use crate::error::{Error, Result};

use super::format::{to_plain_json, RootFile};
use super::opening::Access;
use super::{Interaction, Vault};

/// How long `unlock` lasts when not told.
pub const DEFAULT_UNLOCK: TimeDelta = TimeDelta::minutes(15);
/// The longest `unlock` allowed.
pub const MAX_UNLOCK: TimeDelta = TimeDelta::hours(12);

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct SessionRecord {
    #[zeroize(skip)]
    version: u32,
    #[zeroize(skip)]
    binding: String,
    #[zeroize(skip)]
    created_at: DateTime<Utc>,
    #[zeroize(skip)]
    expires_at: DateTime<Utc>,
    master: SecretText,
}

/// Ties a session to the way `vault.json` wraps the master key right now.
fn binding(root: &RootFile) -> String {
    sha256_tagged(format!("{}\n{}", root.kdf.salt, root.master_key).as_bytes())
}

impl Vault<'_> {
    /// The keyring account of this vault: a digest of its absolute path, so that
    /// each vault has its own session and no path is written into the keyring.
    pub(super) fn session_account(&self) -> String {
        // A directory by its absolute path; a shared store by its address.
        let identity = match self.store.local_dir() {
            Some(dir) => std::fs::canonicalize(dir)
                .unwrap_or_else(|_| dir.to_owned())
                .into_os_string()
                .into_encoded_bytes(),
            None => self.store.address().into_bytes(),
        };
        let digest = sha256_tagged(&identity);
        let hex = digest.trim_start_matches("sha256:");
        format!("vault-{}", &hex[..32.min(hex.len())])
    }

    /// The master key of a live session for this root, if there is one. An ended
    /// or stale session is forgotten; an ended one is remembered for the error.
    pub(super) fn session_master(&self, root: &RootFile, now: DateTime<Utc>) -> Option<SealKey> {
        if self.ignore_sessions.get() {
            return None;
        }
        let store = self.sessions?;
        let account = self.session_account();
        let text = store.load(&account).ok().flatten()?;
        let Ok(record) = serde_json::from_str::<SessionRecord>(text.expose()) else {
            let _ = store.forget(&account);
            return None;
        };
        if record.version != 1 || record.binding != binding(root) {
            let _ = store.forget(&account);
            return None;
        }
        if now >= record.expires_at || !clock_is_sane(now, record.created_at) {
            self.expired_session.set(Some(record.expires_at));
            let _ = store.forget(&account);
            return None;
        }
        SealKey::from_secret(&record.master)
    }

    /// The error to give when no passphrase is available: say the session ended
    /// if that is why.
    pub(super) fn explain_missing_passphrase(&self, e: Error) -> Error {
        match (e, self.expired_session.get()) {
            (Error::NoPassphrase { .. }, Some(at)) => Error::SessionExpired { at },
            (e, _) => e,
        }
    }

    /// Unlocks the vault for `duration` (default 15 minutes, at most 12 hours):
    /// asks for the passphrase whatever session exists (so repeating `unlock`
    /// cannot extend a session without it), and keeps the master key in the OS
    /// keyring. Returns when the session ends.
    pub fn unlock(
        &self,
        duration: Option<TimeDelta>,
        ui: &mut dyn Interaction,
    ) -> Result<DateTime<Utc>> {
        let duration = duration.unwrap_or(DEFAULT_UNLOCK);
        if duration > MAX_UNLOCK {
            return Err(Error::usage(
                "an unlocked session lasts at most 12h",
                "ask for a shorter session, and unlock again later",
            ));
        }
        let store = self.sessions.ok_or_else(|| Error::Keyring {
            what: "no OS keyring is available to this command".into(),
        })?;
        self.ignore_sessions.set(true);
        let opened = self.unlocked(ui, Access::Read);
        self.ignore_sessions.set(false);
        let mut u = opened?;
        let now = u.h.now;
        let expires_at = now + duration;
        let mut e = Event::new(Action::Unlock, Outcome::Done);
        e.until = Some(expires_at);
        u.record(vec![e])?;
        let record = SessionRecord {
            version: 1,
            binding: binding(&u.h.root),
            created_at: now,
            expires_at,
            master: u.master.to_secret(),
        };
        let plain = to_plain_json(&record);
        let text = SecretText::new(
            String::from_utf8(plain.to_vec())
                .map_err(|_| Error::Internal("a session record is not UTF-8".into()))?,
        );
        let ttl = duration
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(1));
        store.save(&self.session_account(), &text, ttl)?;
        self.after_read(u);
        Ok(expires_at)
    }

    /// Forgets the unlocked session at once; `Ok(false)` if there was none.
    pub fn lock(&self) -> Result<bool> {
        let store = self.sessions.ok_or_else(|| Error::Keyring {
            what: "no OS keyring is available to this command".into(),
        })?;
        let ended = store.forget(&self.session_account())?;
        if ended {
            self.note_keyless(Action::Lock, None, None);
        }
        Ok(ended)
    }

    /// When the unlocked session ends, if there is one that commands would use
    /// (same checks as [`Vault::session_master`], without forgetting anything).
    pub(super) fn session_until(
        &self,
        root: &RootFile,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let store = self.sessions?;
        let text = store.load(&self.session_account()).ok().flatten()?;
        let record = serde_json::from_str::<SessionRecord>(text.expose()).ok()?;
        let usable = record.version == 1
            && record.binding == binding(root)
            && now < record.expires_at
            && clock_is_sane(now, record.created_at);
        usable.then_some(record.expires_at)
    }

    /// Ends the session (used after `passwd`, and when no intervention is left
    /// open); says whether there was one.
    pub(super) fn end_session(&self) -> bool {
        self.sessions
            .is_some_and(|store| store.forget(&self.session_account()).unwrap_or(false))
    }
}

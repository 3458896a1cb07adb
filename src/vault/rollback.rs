//! Rollback detection: the sealed index carries a generation, one more at every
//! commit, and the highest generation this machine has seen of a vault is kept
//! outside its directory: in a state file (`$XDG_STATE_HOME/intervault/`) and, when
//! there is one, in the user's OS keyring (on Linux the persistent kernel keyring,
//! which every login session of the user reaches and which outlives logout, but
//! not a reboot or 3 days without any intervault command). A vault older than what was seen is an older
//! copy put back (a backup, a snapshot, a sync folder): it would bring back
//! interventions wiped since, so it is refused unless the user accepts it, and
//! then those interventions are wiped again first.
//!
//! Both copies carry an HMAC under a key derived from the master key, so nobody
//! without it can raise the generation (to lock the user out) or shorten the list
//! of what was wiped. Deleting both copies is possible for whoever can write them;
//! the first command after that starts again from the vault's own generation.
//! The MAC does not stop a replay: an older vault put back with its older state
//! file passes once the keyring copy is gone (docs/design.md, residual risks).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::crypto::{MacKey, SealKey, SecretText};
use crate::error::{Error, Result};
use crate::intervention::WipeReason;
use crate::os_keyring::SecretStore;

use super::format::{Index, Ref};
use super::fsio;
use super::Vault;
use crate::audit::{Action, Event, Outcome};

/// How long the keyring copy lives, where the keyring can make it vanish.
const KEYRING_TTL: Duration = Duration::from_secs(400 * 24 * 3600);

/// An intervention wiped at some generation: what `--accept-rollback` wipes again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WipedRef {
    /// Its opaque reference.
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// The generation that recorded the wipe.
    pub generation: u64,
    /// Why it was wiped.
    pub reason: WipeReason,
}

/// What was seen of a vault, as kept outside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    /// The highest generation seen.
    pub generation: u64,
    /// The interventions wiped, by reference.
    pub wiped: Vec<WipedRef>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    version: u32,
    generation: u64,
    wiped: Vec<WipedRef>,
    mac: String,
}

fn mac_key(master: &SealKey) -> MacKey {
    MacKey::derive(master, "intervault rollback state v1")
}

fn message(seen: &Seen) -> Vec<u8> {
    // Plain structs of strings and numbers always serialize.
    serde_json::to_vec(seen).unwrap_or_default()
}

/// Where a vault's last seen generation is kept: the state file and the keyring
/// account, either of which may be absent; and whether an older vault is accepted.
#[derive(Clone)]
pub(super) struct SeenStore<'a> {
    pub file: Option<std::path::PathBuf>,
    pub keyring: Option<(&'a dyn SecretStore, String)>,
    pub accept_rollback: bool,
}

impl SeenStore<'_> {
    /// The most that was seen, from both copies (an altered copy is an error).
    pub fn load(&self, master: &SealKey) -> Result<Seen> {
        let key = mac_key(master);
        let mut best = Seen::default();
        let mut take = |text: &[u8], whence: &str| -> Result<()> {
            let stored: Stored =
                serde_json::from_slice(text).map_err(|_| altered(whence, "it is malformed"))?;
            let seen = Seen {
                generation: stored.generation,
                wiped: stored.wiped,
            };
            if stored.version != 1 || !key.verify(&message(&seen), &stored.mac) {
                return Err(altered(whence, "its MAC does not match this vault"));
            }
            if seen.generation >= best.generation {
                let mut wiped = seen.wiped;
                for w in std::mem::take(&mut best.wiped) {
                    if !wiped.iter().any(|x| x.reference == w.reference) {
                        wiped.push(w);
                    }
                }
                best = Seen {
                    generation: seen.generation,
                    wiped,
                };
            }
            Ok(())
        };
        if let Some(path) = &self.file {
            match fsio::read_checked(path) {
                Ok(bytes) => take(&bytes, &path.display().to_string())?,
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if let Some((store, account)) = &self.keyring {
            if let Ok(Some(text)) = store.load(account) {
                take(text.expose().as_bytes(), "the OS keyring's copy")?;
            }
        }
        Ok(best)
    }

    /// Keeps `seen` in both places. Best effort: the command has succeeded, and
    /// a copy that cannot be written only weakens the next check.
    pub fn save(&self, master: &SealKey, seen: &Seen) {
        let Some(text) = stored_text(master, seen) else {
            return;
        };
        if let Some(path) = &self.file {
            if let Some(dir) = path.parent() {
                if fsio::create_private_dir(dir).is_ok() {
                    let _ = fsio::write_atomic(path, text.as_bytes());
                }
            }
        }
        if let Some((store, account)) = &self.keyring {
            // The kernel keyring counts every byte against the user's quota
            // (20,000 bytes by default): the keyring copy keeps the generation
            // and only the latest wipes.
            let latest = Seen {
                generation: seen.generation,
                wiped: seen.wiped[seen.wiped.len().saturating_sub(KEYRING_WIPED)..].to_vec(),
            };
            if let Some(text) = stored_text(master, &latest) {
                let _ = store.save(account, &SecretText::new(text), KEYRING_TTL);
            }
        }
    }
}

/// The most wiped references in the keyring copy.
const KEYRING_WIPED: usize = 16;

fn stored_text(master: &SealKey, seen: &Seen) -> Option<String> {
    let stored = Stored {
        version: 1,
        generation: seen.generation,
        wiped: seen.wiped.clone(),
        mac: mac_key(master).tag(&message(seen)),
    };
    serde_json::to_string(&stored).ok()
}

fn altered(whence: &str, what: &str) -> Error {
    Error::Input {
        what: format!(
            "the record of the last vault generation seen, {whence}, was altered ({what})"
        ),
        fix: "if you trust this vault, delete that record and run the command again".into(),
        code: 6,
    }
}

/// The most wiped references kept (the oldest go first).
const MAX_WIPED: usize = 10_000;

impl<'c> Vault<'c> {
    /// Where this vault's last seen generation is kept.
    pub(super) fn seen_store(&self) -> SeenStore<'c> {
        let account = self.session_account();
        SeenStore {
            file: self
                .state_dir
                .as_ref()
                .map(|dir| dir.join(format!("{account}.json"))),
            keyring: self
                .seen_records
                .map(|store| (store, format!("{account}-seen"))),
            accept_rollback: self.accept_rollback,
        }
    }
}

/// The live interventions of `index` that an accepted older copy must wipe
/// again: those `seen` says were wiped since, by ID, with why.
pub(super) fn wiped_since(index: &Index, seen: &Seen) -> Vec<(String, WipeReason)> {
    index
        .interventions
        .iter()
        .filter_map(|m| {
            let w = seen.wiped.iter().find(|w| w.reference == m.reference)?;
            Some((m.id.clone(), w.reason))
        })
        .collect()
}

/// The audit event of an older copy accepted at generation `found` where
/// `seen` was seen, with `wiped_again` interventions wiped again.
pub(super) fn acceptance_event(found: u64, seen: u64, wiped_again: usize) -> Event {
    let mut e = Event::new(Action::RollbackAccepted, Outcome::Done);
    e.count = Some(wiped_again as u64);
    e.reason = Some(format!("generation {found} accepted where {seen} was seen"));
    e
}

/// What is seen of the vault after a commit at `generation` that wiped
/// `new_wipes` (the oldest wipes go past [`MAX_WIPED`]).
pub(super) fn seen_after(
    seen: Seen,
    generation: u64,
    new_wipes: impl IntoIterator<Item = (Ref, WipeReason)>,
) -> Seen {
    let mut wiped = seen.wiped;
    for (reference, reason) in new_wipes {
        if !wiped.iter().any(|w| w.reference == reference) {
            wiped.push(WipedRef {
                reference,
                generation,
                reason,
            });
        }
    }
    if wiped.len() > MAX_WIPED {
        wiped.drain(..wiped.len() - MAX_WIPED);
    }
    Seen {
        generation: generation.max(seen.generation),
        wiped,
    }
}

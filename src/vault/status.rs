//! `status`: the vault at a glance, without ever prompting.

use chrono::{DateTime, Utc};

use crate::crypto::SecretText;
use crate::error::{Error, Result};

use super::fsio::LockMode;
use super::{Destruction, Interaction, InterventionSummary, Notice, PassphrasePurpose, Vault};

/// What `status` reports.
#[derive(Debug, Clone)]
pub struct StatusReport {
    /// The time of the report.
    pub now: DateTime<Utc>,
    /// When the unlocked session ends, if the vault is unlocked.
    pub unlocked_until: Option<DateTime<Utc>>,
    /// How many interventions are live (scheduled or active).
    pub live: usize,
    /// The earliest window end among them.
    pub next_expiry: Option<DateTime<Utc>>,
    /// Wiped interventions whose key is not destroyed yet (the key store could
    /// not be reached, from here either): their wipe is not complete.
    pub keys_pending: usize,
    /// The live interventions, when a session or a non-prompting passphrase
    /// source could open the vault; `None` when it stayed locked.
    pub interventions: Option<Vec<InterventionSummary>>,
}

/// Passes everything through but never lets the vault prompt.
struct NoPrompt<'a>(&'a mut dyn Interaction);

impl Interaction for NoPrompt<'_> {
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<SecretText> {
        let purpose = match purpose {
            PassphrasePurpose::Unlock => PassphrasePurpose::UnlockIfAvailable,
            other => other,
        };
        self.0.passphrase(purpose)
    }
    fn secret(&mut self, intervention: &str, name: &str) -> Result<SecretText> {
        self.0.secret(intervention, name)
    }
    fn totp_seed(&mut self, intervention: &str, name: &str) -> Result<SecretText> {
        self.0.totp_seed(intervention, name)
    }
    fn notice(&mut self, notice: Notice) {
        self.0.notice(notice);
    }
    fn confirm(&mut self, _: &Destruction) -> Result<bool> {
        // `status` destroys nothing, and must not ask.
        Ok(false)
    }
}

impl Vault<'_> {
    /// Reports the vault's state. The clear expiry table gives the counts and
    /// the next expiry without the passphrase; the list of interventions needs an
    /// unlocked session or a passphrase at hand (never a prompt).
    pub fn status(&self, ui: &mut dyn Interaction) -> Result<StatusReport> {
        self.read_again(|| self.status_once(&mut *ui))
    }

    /// One try of [`Vault::status`].
    fn status_once(&self, ui: &mut dyn Interaction) -> Result<StatusReport> {
        let h = self.handle(LockMode::Shared, false, false)?;
        let now = h.now;
        let live = h.root.expiry.len();
        let next_expiry = h.root.expiry.iter().map(|e| e.until).min();
        let keys_pending = h.root.keys_pending.len();
        let unlocked_until = self.session_until(&h.root, now);
        drop(h);
        let interventions = match self.list(&mut NoPrompt(ui), false) {
            Ok(items) => Some(items),
            Err(Error::NoPassphrase { .. } | Error::SessionExpired { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(StatusReport {
            now,
            unlocked_until,
            live,
            next_expiry,
            keys_pending,
            interventions,
        })
    }
}

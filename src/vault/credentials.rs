//! Commands on credentials: add, get, rm.

use crate::crypto::SecretText;
use crate::error::{Error, Result};
use crate::intervention::{may_edit, may_fetch, validate_name, validate_text, Kind, State};

use super::format::{Credential, InterventionMeta};
use super::session::Access;
use super::{Interaction, Vault};

/// A stored credential, as `get` returns it. Its fields zeroize on drop.
pub type StoredCredential = Credential;

/// What `add` needs, apart from the secret (asked through [`Interaction::secret`]
/// once every check has passed, so nobody types a secret for nothing).
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Where to log in.
    pub url: Option<String>,
    /// Login name.
    pub user: Option<String>,
    /// A note.
    pub note: Option<String>,
}

impl Vault<'_> {
    /// Adds (or with `replace`, replaces) a credential in a scheduled or active
    /// intervention.
    pub fn add(
        &self,
        id: &str,
        new: &NewCredential,
        replace: bool,
        ui: &mut dyn Interaction,
    ) -> Result<()> {
        validate_name("intervention ID", id)?;
        validate_name("credential name", &new.name)?;
        for (what, value) in [("URL", &new.url), ("user", &new.user), ("note", &new.note)] {
            if let Some(v) = value {
                validate_text(what, v, false)?;
            }
        }
        // Every check passes before the secret is asked for, and the vault is not
        // locked while it is typed; the checks run again once it is locked.
        let checked = |u: &super::session::Unlocked| -> Result<usize> {
            let pos = u.live(id)?;
            let m = &u.index.interventions[pos];
            may_edit(id, State::Live(m.window), u.h.now, u.index.high_water)?;
            if !replace && m.entries.iter().any(|e| e.name == new.name) {
                return Err(Error::CredentialExists {
                    id: id.to_owned(),
                    name: new.name.clone(),
                });
            }
            Ok(pos)
        };
        checked(&self.session(ui, Access::Write)?)?;
        let secret: SecretText = ui.secret(id, &new.name)?;
        if secret.is_empty() {
            return Err(Error::Input {
                what: "empty secret".into(),
                fix: "give a non-empty secret".into(),
                code: 2,
            });
        }
        let mut u = self.session(ui, Access::Write)?;
        let pos = checked(&u)?;
        let mut set = u.load_credentials(&u.index.interventions[pos])?;
        set.credentials.retain(|c| c.name != new.name);
        set.credentials.push(Credential {
            name: new.name.clone(),
            kind: new.kind,
            url: new.url.clone(),
            user: new.user.clone(),
            secret,
            note: new.note.clone(),
        });
        set.credentials.sort_by(|a, b| a.name.cmp(&b.name));
        u.store_credentials(pos, &mut set)?;
        u.commit()
    }

    /// Fetches a credential; only inside the intervention's window.
    pub fn get(&self, id: &str, name: &str, ui: &mut dyn Interaction) -> Result<StoredCredential> {
        validate_name("intervention ID", id)?;
        validate_name("credential name", name)?;
        let u = self.session(ui, Access::Read)?;
        let pos = u.live(id)?;
        let m = &u.index.interventions[pos];
        may_fetch(id, State::Live(m.window), u.h.now, u.index.high_water)?;
        require_entry(m, name)?;
        let mut set = u.load_credentials(m)?;
        let found = set
            .credentials
            .iter()
            .position(|c| c.name == name)
            .map(|i| set.credentials.swap_remove(i));
        self.after_read(u);
        // The index listed it, so the credentials file must hold it; load_credentials
        // has checked that their names agree.
        found.ok_or_else(|| Error::Internal("a listed credential is missing".into()))
    }

    /// Removes a credential from a scheduled or active intervention; its old
    /// credentials file is shredded.
    pub fn rm(&self, id: &str, name: &str, ui: &mut dyn Interaction) -> Result<()> {
        validate_name("intervention ID", id)?;
        validate_name("credential name", name)?;
        let mut u = self.session(ui, Access::Write)?;
        let pos = u.live(id)?;
        let m = &u.index.interventions[pos];
        may_edit(id, State::Live(m.window), u.h.now, u.index.high_water)?;
        require_entry(m, name)?;
        let mut set = u.load_credentials(m)?;
        set.credentials.retain(|c| c.name != name);
        u.store_credentials(pos, &mut set)?;
        u.commit()
    }
}

/// The credential `name` must be listed in intervention `m` (exit 5 otherwise).
fn require_entry(m: &InterventionMeta, name: &str) -> Result<()> {
    if m.entries.iter().any(|e| e.name == name) {
        Ok(())
    } else {
        Err(Error::NoSuchCredential {
            id: m.id.clone(),
            name: name.to_owned(),
        })
    }
}

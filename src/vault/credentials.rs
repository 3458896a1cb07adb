//! Commands on credentials: add, fetch (get, exec, totp, clip), rm.

use chrono::{DateTime, Utc};

use crate::audit::{Action, Event, Outcome};
use crate::crypto::SecretText;
use crate::error::{Error, Result};
use crate::intervention::{may_edit, may_fetch, validate_name, validate_text, Kind, State};

use super::format::{Credential, InterventionMeta};
use super::opening::{Access, Unlocked};
use super::{Destruction, Interaction, Notice, Vault, ENDING_SOON};

/// A stored credential, as a fetch returns it. Its fields zeroize on drop.
pub type StoredCredential = Credential;

/// What `add` needs, apart from the secret and TOTP seed (asked through
/// [`Interaction`] once every check has passed, so nobody types a secret for
/// nothing).
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
    /// Whether to ask for a TOTP seed too.
    pub totp: bool,
    /// Wipe the credential after this many successful fetches.
    pub max_uses: Option<u32>,
}

/// What a fetch gives: the credentials asked for and the window they live in.
#[derive(Debug)]
pub struct Fetched {
    /// The credentials, in the order asked (or by name for all).
    pub credentials: Vec<StoredCredential>,
    /// The intervention's window end: anything derived from the credentials (a
    /// clipboard, a child process) must not outlive it.
    pub until: DateTime<Utc>,
    /// The time of the fetch.
    pub now: DateTime<Utc>,
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
        let checked = |u: &mut Unlocked| -> Result<usize> {
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
        let mut first = self.unlocked_for(ui, Access::Write, id)?;
        checked(&mut first)?;
        self.keep_for_reuse(first);
        let secret = non_empty(ui.secret(id, &new.name)?, "secret")?;
        let totp = match new.totp {
            true => Some(crate::totp::normalize(&non_empty(
                ui.totp_seed(id, &new.name)?,
                "TOTP seed",
            )?)?),
            false => None,
        };
        let mut u = self.unlocked_for(ui, Access::Write, id)?;
        let mut template = Event::new(Action::Add, Outcome::Done)
            .intervention(id)
            .credential(&new.name);
        if replace {
            template.reason = Some(super::recording::REPLACE_REASON.into());
        }
        u.audited(template.clone(), |u| {
            let pos = checked(u)?;
            let mut set = u.load_credentials(&u.index.interventions[pos])?;
            set.credentials.retain(|c| c.name != new.name);
            set.credentials.push(Credential {
                name: new.name.clone(),
                kind: new.kind,
                url: new.url.clone(),
                user: new.user.clone(),
                secret,
                note: new.note.clone(),
                totp,
            });
            set.credentials.sort_by(|a, b| a.name.cmp(&b.name));
            u.store_credentials(pos, &mut set)?;
            let entry = u.index.interventions[pos]
                .entries
                .iter_mut()
                .find(|e| e.name == new.name)
                .ok_or_else(|| Error::Internal("a stored credential is not listed".into()))?;
            entry.max_uses = new.max_uses;
            entry.uses = 0;
            Ok(((), vec![template]))
        })
    }

    /// Fetches one credential; only inside the intervention's window.
    pub fn get(&self, id: &str, name: &str, ui: &mut dyn Interaction) -> Result<StoredCredential> {
        let mut fetched = self.fetch(Action::Get, id, Some(&[name.to_owned()]), ui)?;
        fetched
            .credentials
            .pop()
            .ok_or_else(|| Error::Internal("a fetched credential is missing".into()))
    }

    /// Fetches credentials of an intervention (`names`, or all of them); only
    /// inside its window. Each credential fetched counts one use; one that reaches
    /// its `max_uses` is wiped once this fetch has it.
    /// `action` (get, exec, totp or clip) is what the audit trail records.
    pub fn fetch(
        &self,
        action: Action,
        id: &str,
        names: Option<&[String]>,
        ui: &mut dyn Interaction,
    ) -> Result<Fetched> {
        self.fetch_checked(action, id, names, &|_| Ok(()), ui)
    }

    /// [`Vault::fetch`], with a check that every credential must pass (say, that
    /// the field asked for is set) before anything is delivered or counted: a
    /// fetch that cannot deliver must not use up a `--max-uses` credential.
    pub fn fetch_checked(
        &self,
        action: Action,
        id: &str,
        names: Option<&[String]>,
        check: &dyn Fn(&StoredCredential) -> Result<()>,
        ui: &mut dyn Interaction,
    ) -> Result<Fetched> {
        validate_name("intervention ID", id)?;
        for name in names.unwrap_or_default() {
            validate_name("credential name", name)?;
        }
        let mut template = Event::new(action, Outcome::Granted).intervention(id);
        if let [name] = names.unwrap_or_default() {
            template.credential = Some(name.clone());
        }
        let mut again = 0;
        let u = loop {
            // A snapshot that a writer changed or compacted away meanwhile:
            // the fetch starts again from the vault as it is now (nothing was
            // delivered, and nothing is recorded as refused).
            let read_again = |e: &Error, again: &mut u32| {
                let yes = super::opening::is_conflict(e) && *again < READ_AGAIN;
                *again += u32::from(yes);
                yes
            };
            let mut u = match self.unlocked_for(ui, Access::Read, id) {
                Err(e) if read_again(&e, &mut again) => continue,
                opened => opened?,
            };
            let checked = fetch_checks(&mut u, id, names).and_then(|(pos, wanted)| {
                let limited = u.index.interventions[pos]
                    .entries
                    .iter()
                    .any(|e| wanted.contains(&e.name) && e.max_uses.is_some());
                let fetched = take(&u, pos, &wanted, check, ui)?;
                Ok((fetched, wanted, limited))
            });
            let (fetched, wanted, limited) = match checked {
                Ok(done) => done,
                Err(e) if read_again(&e, &mut again) => continue,
                Err(e) => {
                    u.record_refusal(&template, &e);
                    return Err(e);
                }
            };
            if limited {
                // Counting uses writes the vault: all again under the exclusive lock.
                drop(fetched);
                break u;
            }
            // No credential leaves the vault unless its record is written.
            match u.record_delivery(granted(&template, &wanted)) {
                Ok(()) => {
                    self.after_read(u);
                    return Ok(fetched);
                }
                // The vault is no longer what was read (a close may have
                // wiped it): nothing is delivered.
                Err(e) if read_again(&e, &mut again) => continue,
                Err(e) => return Err(e),
            }
        };
        self.keep_for_reuse(u);
        let mut u = self.unlocked_for(ui, Access::Write, id)?;
        let fetched = u.audited(template.clone(), |u| {
            let (pos, wanted) = fetch_checks(u, id, names)?;
            let fetched = take(u, pos, &wanted, check, ui)?;
            let mut used_up = Vec::new();
            for e in u.index.interventions[pos].entries.iter_mut() {
                if wanted.contains(&e.name) && e.max_uses.is_some() {
                    e.uses = e.uses.saturating_add(1);
                    if e.max_uses.is_some_and(|max| e.uses >= max) {
                        used_up.push(e.name.clone());
                    }
                }
            }
            if !used_up.is_empty() {
                let mut set = u.load_credentials(&u.index.interventions[pos])?;
                set.credentials.retain(|c| !used_up.contains(&c.name));
                u.store_credentials(pos, &mut set)?;
            }
            let mut events = granted(&template, &wanted);
            events.extend(used_up.iter().map(|name| {
                Event::new(Action::UsedUp, Outcome::Done)
                    .intervention(id)
                    .credential(name)
            }));
            Ok(((fetched, used_up), events))
        })?;
        let (fetched, used_up) = fetched;
        for name in used_up {
            ui.notice(Notice::UsedUp {
                id: id.to_owned(),
                name,
            });
        }
        Ok(fetched)
    }

    /// Removes a credential from a scheduled or active intervention; its old
    /// credentials file is shredded.
    pub fn rm(&self, id: &str, name: &str, ui: &mut dyn Interaction) -> Result<()> {
        validate_name("intervention ID", id)?;
        validate_name("credential name", name)?;
        let template = Event::new(Action::Rm, Outcome::Done)
            .intervention(id)
            .credential(name);
        let doomed = |u: &mut Unlocked| -> Result<(usize, Destruction)> {
            let pos = u.live(id)?;
            let m = &u.index.interventions[pos];
            may_edit(id, State::Live(m.window), u.h.now, u.index.high_water)?;
            require_entry(m, name)?;
            let what = Destruction::Remove {
                id: id.to_owned(),
                client: m.client.clone(),
                name: name.to_owned(),
            };
            Ok((pos, what))
        };
        // Asked with the vault unlocked but not locked, as `add` asks for the
        // secret; checked again under the lock.
        let mut first = self.unlocked_for(ui, Access::Write, id)?;
        let asked = match doomed(&mut first) {
            Ok((_, what)) => what,
            Err(e) => {
                first.record_refusal(&template, &e);
                return Err(e);
            }
        };
        self.keep_for_reuse(first);
        if !ui.confirm(&asked)? {
            return Err(asked.declined());
        }
        let mut u = self.unlocked_for(ui, Access::Write, id)?;
        u.audited(template.clone(), |u| {
            let (pos, what) = doomed(u)?;
            if what != asked {
                return Err(asked.changed());
            }
            let m = &u.index.interventions[pos];
            let mut set = u.load_credentials(m)?;
            set.credentials.retain(|c| c.name != name);
            u.store_credentials(pos, &mut set)?;
            Ok(((), vec![template]))
        })
    }
}

/// One granted record per credential fetched.
use super::opening::READ_AGAIN;

fn granted(template: &Event, wanted: &[String]) -> Vec<Event> {
    wanted
        .iter()
        .map(|name| template.clone().credential(name))
        .collect()
}

/// The policy checks of a fetch; gives the intervention's position and the names
/// to fetch.
fn fetch_checks(
    u: &mut Unlocked,
    id: &str,
    names: Option<&[String]>,
) -> Result<(usize, Vec<String>)> {
    let pos = u.live(id)?;
    let m = &u.index.interventions[pos];
    may_fetch(id, State::Live(m.window), u.h.now, u.index.high_water)?;
    if let Some(f) = &m.frozen {
        return Err(Error::Frozen {
            id: id.to_owned(),
            reason: f.reason.clone(),
            since: f.since,
        });
    }
    let wanted = match names {
        Some(names) => {
            for name in names {
                require_entry(m, name)?;
            }
            names.to_vec()
        }
        None => m.entries.iter().map(|e| e.name.clone()).collect(),
    };
    Ok((pos, wanted))
}

/// Decrypts the wanted credentials, and warns when the window ends soon.
fn take(
    u: &Unlocked,
    pos: usize,
    wanted: &[String],
    check: &dyn Fn(&StoredCredential) -> Result<()>,
    ui: &mut dyn Interaction,
) -> Result<Fetched> {
    let m = &u.index.interventions[pos];
    let mut set = u.load_credentials(m)?;
    let mut credentials = Vec::with_capacity(wanted.len());
    for name in wanted {
        let i = set
            .credentials
            .iter()
            .position(|c| &c.name == name)
            // The index listed it and load_credentials checked the names agree.
            .ok_or_else(|| Error::Internal("a listed credential is missing".into()))?;
        let credential = set.credentials.swap_remove(i);
        check(&credential)?;
        credentials.push(credential);
    }
    if m.window.until - u.h.now < ENDING_SOON {
        ui.notice(Notice::EndingSoon {
            id: m.id.clone(),
            until: m.window.until,
            now: u.h.now,
        });
    }
    Ok(Fetched {
        credentials,
        until: m.window.until,
        now: u.h.now,
    })
}

fn non_empty(value: SecretText, what: &str) -> Result<SecretText> {
    if value.is_empty() {
        return Err(Error::Input {
            what: format!("empty {what}"),
            fix: format!("give a non-empty {what}"),
            code: 2,
        });
    }
    Ok(value)
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

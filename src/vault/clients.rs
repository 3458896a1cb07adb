//! The clients' rights: `client list`, `client report` (access, portability) and
//! `client erase` (erasure: wipe, then pseudonymise what must stay).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::audit::{Action, Event, Outcome, Record};
use crate::error::{Error, Result};
use crate::intervention::{validate_text, Kind, WipeReason};
use crate::lang::Lang;
use crate::wipe::Tombstone;

use super::audit_view::with_names;
use super::format::Extension;
use super::interventions::wipe_event;
use super::opening::{Access, Unlocked};
use super::{Destruction, Interaction, InterventionSummary, Notice, Vault};

/// One client as `client list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSummary {
    /// The client's name (its pseudonym once erased).
    pub client: String,
    /// Live interventions.
    pub live: usize,
    /// Tombstones.
    pub past: usize,
    /// Whether the client was erased (`client` is then a pseudonym).
    pub erased: bool,
}

/// A credential as a client report lists it: what is held, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedEntry {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Its URL, if set.
    pub url: Option<String>,
    /// Which fields hold a value (`user`, `secret`, `note`, `totp`).
    pub fields: Vec<&'static str>,
}

/// A live intervention in a client report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedIntervention {
    /// Its list line.
    pub summary: InterventionSummary,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// Its credentials.
    pub entries: Vec<ReportedEntry>,
    /// Window changes, with their reasons.
    pub extensions: Vec<Extension>,
}

/// Everything the vault holds, or held, about one client.
#[derive(Debug, Clone)]
pub struct ClientReport {
    /// The client's name.
    pub client: String,
    /// When the report was made.
    pub at: DateTime<Utc>,
    /// Live interventions.
    pub interventions: Vec<ReportedIntervention>,
    /// Wiped interventions, with their receipts.
    pub tombstones: Vec<Tombstone>,
    /// Every audit record about the client.
    pub history: Vec<Record>,
    /// The client's language: the one given to `client report`, else the one
    /// its last document was given in (none yet: the caller's default).
    pub lang: Option<Lang>,
}

/// What `client erase` did.
#[derive(Debug, Clone)]
pub struct Erasure {
    /// The pseudonym that now stands for the client.
    pub pseudonym: String,
    /// The live interventions wiped, with their receipts.
    pub wiped: Vec<Tombstone>,
    /// How many tombstones now name the pseudonym.
    pub tombstones: usize,
    /// The language of the client's confirmation: the one given to `client
    /// erase`, else the one its last document was given in (the vault forgets
    /// it with the name).
    pub lang: Option<Lang>,
}

impl Vault<'_> {
    /// Every client the vault holds a live intervention or a tombstone of.
    pub fn client_list(&self, ui: &mut dyn Interaction) -> Result<Vec<ClientSummary>> {
        self.read_again(|| self.client_list_once(&mut *ui))
    }

    /// One try of [`Vault::client_list`].
    fn client_list_once(&self, ui: &mut dyn Interaction) -> Result<Vec<ClientSummary>> {
        let u = self.unlocked(ui, Access::Read)?;
        let mut by_name: BTreeMap<String, ClientSummary> = BTreeMap::new();
        let clients = u
            .index
            .interventions
            .iter()
            .map(|m| (&m.client, false, 1, 0))
            .chain(
                u.index
                    .tombstones
                    .iter()
                    .map(|t| (&t.client, t.client_erased, 0, 1)),
            );
        for (name, erased, live, past) in clients {
            let c = by_name
                .entry(name.clone())
                .or_insert_with(|| ClientSummary {
                    client: name.clone(),
                    live: 0,
                    past: 0,
                    erased,
                });
            c.live += live;
            c.past += past;
        }
        let out = by_name.into_values().collect();
        self.after_read(u);
        Ok(out)
    }

    /// Everything the vault holds or held about client `name`: live interventions
    /// (windows, credential names, kinds and which fields are set), tombstones
    /// with receipts, and the client's audit history. Never a secret value.
    /// With `lang`, the client's documents are given in that language from now on.
    pub fn client_report(
        &self,
        name: &str,
        lang: Option<Lang>,
        ui: &mut dyn Interaction,
    ) -> Result<ClientReport> {
        self.read_again(|| self.client_report_once(name, lang, &mut *ui))
    }

    /// One try of [`Vault::client_report`].
    fn client_report_once(
        &self,
        name: &str,
        lang: Option<Lang>,
        ui: &mut dyn Interaction,
    ) -> Result<ClientReport> {
        validate_text("client name", name, true)?;
        // Remembering a language is a change: it takes the write lock.
        let access = match lang {
            Some(_) => Access::Write,
            None => Access::Read,
        };
        let mut u = self.unlocked(ui, access)?;
        let template = Event::new(Action::ClientReport, Outcome::Done);
        let known = u.index.interventions.iter().any(|m| m.client == name)
            || u.index
                .tombstones
                .iter()
                .any(|t| t.client == name && !t.client_erased);
        if !known {
            let e = Error::NoSuchClient {
                name: name.to_owned(),
            };
            u.record_refusal(&template, &e);
            return Err(e);
        }
        let now = u.h.now;
        let mut interventions = Vec::new();
        for m in u.index.interventions.iter().filter(|m| m.client == name) {
            let set = u.load_credentials(m)?;
            interventions.push(ReportedIntervention {
                summary: super::interventions::summary_of_live(m, now),
                opened_at: m.opened_at,
                entries: set
                    .credentials
                    .iter()
                    .map(|c| ReportedEntry {
                        name: c.name.clone(),
                        kind: c.kind,
                        url: c.url.clone(),
                        fields: [
                            ("user", c.user.is_some()),
                            ("secret", true),
                            ("note", c.note.is_some()),
                            ("totp", c.totp.is_some()),
                        ]
                        .into_iter()
                        .filter_map(|(f, set)| set.then_some(f))
                        .collect(),
                    })
                    .collect(),
                extensions: m.extensions.clone(),
            });
        }
        let tombstones = u
            .index
            .tombstones
            .iter()
            .filter(|t| t.client == name && !t.client_erased)
            .cloned()
            .collect();
        let pseudonym = u.index.pseudonym_of(name);
        let records = u
            .walk_trail(true)?
            .records
            .into_iter()
            .filter(|r| r.event.client.is_some() && r.event.client == pseudonym)
            .collect();
        let history = with_names(&u.index, records);
        let lang = u.settle_client_lang(name, lang)?;
        u.record(vec![template.client(name)])?;
        self.after_read(u);
        Ok(ClientReport {
            client: name.to_owned(),
            at: now,
            interventions,
            tombstones,
            history,
            lang,
        })
    }

    /// Erases client `name`: wipes all of its live interventions at once, then
    /// puts a keyed pseudonym in place of its name in its tombstones, and
    /// destroys the pseudonym's key, so that the audit trail (which only ever
    /// held the pseudonym) still verifies and nothing links it back to the name.
    /// `lang` is the language of the client's confirmation (see [`Erasure::lang`]).
    pub fn client_erase(
        &self,
        name: &str,
        lang: Option<Lang>,
        ui: &mut dyn Interaction,
    ) -> Result<Erasure> {
        validate_text("client name", name, true)?;
        let template = Event::new(Action::ClientErase, Outcome::Done);
        let doomed = |u: &mut Unlocked| -> Result<(String, Destruction)> {
            let known = u.index.interventions.iter().any(|m| m.client == name)
                || u.index
                    .tombstones
                    .iter()
                    .any(|t| t.client == name && !t.client_erased);
            let pseudonym = match u.index.pseudonym_of(name) {
                Some(p) if known => p,
                _ => {
                    return Err(Error::NoSuchClient {
                        name: name.to_owned(),
                    })
                }
            };
            let interventions = (u.index.interventions.iter())
                .filter(|m| m.client == name)
                .map(|m| {
                    (
                        m.id.clone(),
                        m.entries.iter().map(|e| e.name.clone()).collect(),
                    )
                })
                .collect();
            let tombstones = (u.index.tombstones.iter())
                .filter(|t| t.client == name && !t.client_erased)
                .count();
            let what = Destruction::ClientErase {
                client: name.to_owned(),
                interventions,
                tombstones,
            };
            Ok((pseudonym, what))
        };
        // Asked with the vault unlocked but not locked; checked again under the lock.
        let mut first = self.unlocked(ui, Access::Write)?;
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
        let mut u = self.unlocked(ui, Access::Write)?;
        let erasure = u.audited(template, |u| {
            let (pseudonym, what) = doomed(u)?;
            if what != asked {
                return Err(asked.changed());
            }
            let Destruction::ClientErase { interventions, .. } = what else {
                return Err(Error::Internal(
                    "a client erasure is not a client erasure".into(),
                ));
            };
            let ids: Vec<String> = interventions.into_iter().map(|(id, _)| id).collect();
            let mut wiped = Vec::new();
            let mut events = Vec::new();
            for id in ids {
                let pos = u.live(&id)?;
                let t = u.wipe(pos, WipeReason::Closed)?;
                events.push(wipe_event(&t).reason("client erase"));
                wiped.push(t);
            }
            let tombstones = u
                .index
                .tombstones
                .iter()
                .filter(|t| t.client == name && !t.client_erased)
                .count();
            let mut e = Event::new(Action::ClientErase, Outcome::Done).client(name);
            e.count = Some(wiped.len() as u64);
            events.push(e);
            // Recorded while the key still exists, so the records name the
            // pseudonym; then the name goes from the tombstones and the key
            // from the index.
            u.record(events)?;
            for t in u.index.tombstones.iter_mut() {
                if t.client == name && !t.client_erased {
                    t.client = pseudonym.clone();
                    t.client_erased = true;
                }
            }
            for t in &mut wiped {
                t.client = pseudonym.clone();
                t.client_erased = true;
            }
            let lang = lang.or_else(|| u.index.client_lang(name));
            u.index.clients.retain(|c| c.name != name);
            Ok((
                Erasure {
                    pseudonym,
                    wiped,
                    tombstones,
                    lang,
                },
                Vec::new(),
            ))
        })?;
        if !erasure.wiped.is_empty() && u.index.loaded.live.is_empty() && self.end_session() {
            ui.notice(Notice::SessionEnded {
                why: "no intervention is open any more",
            });
        }
        Ok(erasure)
    }
}

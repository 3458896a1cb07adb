//! Commands on interventions and on the vault as a whole: init, open, list, show,
//! extend, close, sweep, passwd.

use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::clock_is_sane;
use crate::crypto::{KdfParams, SealKey};
use crate::error::{Error, Result};
use crate::intervention::{validate_name, validate_text, Kind, Status, Window, WipeReason};
use crate::lang::Lang;
use crate::wipe::{Tombstone, WipeRecord};

use super::format::{
    Core, Extension, Freeze, InterventionMeta, Ref, Retention, RootFile, FORMAT_NAME,
    FORMAT_VERSION,
};
use super::layout;
use super::opening::{self, Access, Scope, Unlocked};
use super::trail::{Anchor, Trail, TrailKeys};
use super::{live_status, Destruction, Interaction, Notice, PassphrasePurpose, Vault};
use crate::audit::{Action, Event, Outcome};
use crate::store::{LockMode, Purge, StoreError};

/// What `sweep` did.
#[derive(Debug)]
pub struct SweepReport {
    /// The interventions wiped by this sweep.
    pub wiped: Vec<WipeRecord>,
    /// Wiped interventions whose key could not be destroyed yet (by reference):
    /// the key store cannot be reached from here (see [`Closed::key_pending`]).
    pub keys_pending: Vec<Ref>,
    /// Why the optional unlock (to complete the records) failed, if it did.
    pub unlock_error: Option<Error>,
    /// What became of the store's history of wiped objects, when this sweep
    /// wiped something or finished an earlier wipe's purge.
    pub history: Option<Purge>,
}

impl SweepReport {
    fn keyless(wiped: Vec<WipeRecord>) -> Self {
        SweepReport {
            wiped,
            keys_pending: Vec::new(),
            unlock_error: None,
            history: None,
        }
    }

    fn with_keys(mut self, keys_pending: Vec<Ref>, history: Option<Purge>) -> Self {
        self.keys_pending = keys_pending;
        self.history = history;
        self
    }

    fn with_error(wiped: Vec<WipeRecord>, e: Error) -> Self {
        SweepReport {
            wiped,
            keys_pending: Vec::new(),
            unlock_error: Some(e),
            history: None,
        }
    }
}

/// What `close` did.
#[derive(Debug, Clone)]
pub struct Closed {
    /// The tombstone and its receipt: the intervention is closed, whatever follows.
    pub tombstone: Tombstone,
    /// Whether its key could not be destroyed yet: the key store (the OS keyring
    /// of another login session) cannot be reached from here. The destruction
    /// is recorded as pending, and the next command that reaches the key
    /// finishes it; until then a copy of the vault taken before the close still
    /// opens the credentials with the passphrase.
    pub key_pending: bool,
    /// The client's language: the one given to `close`, else the one its last
    /// document was given in (none yet: the caller's default).
    pub lang: Option<Lang>,
    /// What became of the store's history of the wiped objects (etcd: old
    /// revisions compacted and members defragmented, or pending).
    pub history: Purge,
}

/// How `init` makes a vault.
#[derive(Debug, Clone, Copy)]
pub struct InitOptions {
    /// The KDF parameters (passes replaced when calibrating).
    pub kdf: KdfParams,
    /// Pick the passes so that one unlock takes about 0.75 s here (never < 3).
    pub calibrate: bool,
    /// Keep intervention keys only in the OS keyring.
    pub keyring_keys: bool,
}

/// How `open` is given its window.
#[derive(Debug, Clone, Copy)]
pub enum WindowSpec {
    /// From now, for this long.
    For(TimeDelta),
    /// From `from` (default now) until `until`.
    Range {
        /// Start; `None` for now.
        from: Option<DateTime<Utc>>,
        /// End.
        until: DateTime<Utc>,
    },
}

/// How `extend` is given the new end of a window.
#[derive(Debug, Clone, Copy)]
pub enum NewEnd {
    /// At this time.
    At(DateTime<Utc>),
    /// This much later than the current end.
    Later(TimeDelta),
}

/// What `open` needs.
#[derive(Debug, Clone)]
pub struct NewIntervention {
    /// Its ID.
    pub id: String,
    /// The client's name.
    pub client: String,
    /// Its window.
    pub window: WindowSpec,
    /// An optional note.
    pub note: Option<String>,
}

/// One line of `list`: a live intervention or a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterventionSummary {
    /// Its ID.
    pub id: String,
    /// The client's name.
    pub client: String,
    /// Its status now.
    pub status: Status,
    /// Its window.
    pub window: Window,
    /// How many credentials it holds (or held, for a tombstone).
    pub credentials: usize,
    /// The note given at `open` (live interventions only).
    pub note: Option<String>,
    /// When and why it was wiped (tombstones only).
    pub wiped: Option<(DateTime<Utc>, WipeReason)>,
    /// Since when and why every fetch is refused (`freeze`), if it is.
    pub frozen: Option<(DateTime<Utc>, String)>,
}

/// One credential as `show` lists it: no user, no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryView {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Its URL, if set.
    pub url: Option<String>,
}

/// What `show` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterventionDetail {
    /// The list line.
    pub summary: InterventionSummary,
    /// Its credentials (empty for a tombstone).
    pub entries: Vec<EntryView>,
    /// Window changes made by `extend`.
    pub extensions: Vec<Extension>,
    /// The tombstone, for a wiped intervention.
    pub tombstone: Option<Tombstone>,
    /// The client's language: the one given to `show`, else the one its last
    /// document was given in (none yet, or an erased client: the caller's default).
    pub lang: Option<Lang>,
}

pub(super) fn summary_of_live(m: &InterventionMeta, now: DateTime<Utc>) -> InterventionSummary {
    InterventionSummary {
        id: m.id.clone(),
        client: m.client.clone(),
        status: live_status(&m.window, now),
        window: m.window,
        credentials: m.entries.len(),
        note: m.note.clone(),
        wiped: None,
        frozen: m.frozen.as_ref().map(|f| (f.since, f.reason.clone())),
    }
}

fn summary_of_tombstone(t: &Tombstone) -> InterventionSummary {
    InterventionSummary {
        id: t.id.clone(),
        client: t.client.clone(),
        status: t.reason.into(),
        window: t.window,
        credentials: t.names.len(),
        note: None,
        wiped: Some((t.wiped_at, t.reason)),
        frozen: None,
    }
}

impl Vault<'_> {
    /// Creates a new vault. Warns (through `ui`) when the KDF costs are below the
    /// OWASP floor.
    pub fn init(&self, kdf: KdfParams, ui: &mut dyn Interaction) -> Result<()> {
        self.init_with(
            InitOptions {
                kdf,
                calibrate: false,
                keyring_keys: false,
            },
            ui,
        )
    }

    /// [`Vault::init`] with options: the KDF's passes calibrated on this machine
    /// (once the passphrase is known, so nobody waits for nothing), and the
    /// intervention keys kept only in the OS keyring (checked to work first).
    pub fn init_with(&self, options: InitOptions, ui: &mut dyn Interaction) -> Result<()> {
        let InitOptions {
            mut kdf,
            calibrate,
            keyring_keys: keyring,
        } = options;
        let key_store = match keyring {
            true => Some(super::keystore::probe_keyring()?),
            false => None,
        };
        kdf.check().map_err(|e| {
            Error::usage(
                e.0,
                "choose the argon2id memory, passes and lanes within the limits",
            )
        })?;
        let store = &self.store;
        let exists = || Error::VaultExists {
            at: store.locate(""),
        };
        if store.exists(layout::ROOT)? {
            return Err(exists());
        }
        if kdf.below_floor() {
            ui.notice(Notice::WeakKdf(kdf));
        }
        let passphrase = ui.passphrase(PassphrasePurpose::NewVault)?;
        if calibrate {
            let (chosen, expected) = kdf.calibrate(KdfParams::CALIBRATION_TARGET).map_err(|e| {
                Error::usage(
                    e.0,
                    "choose the argon2id memory and lanes within the limits",
                )
            })?;
            kdf = chosen;
            ui.notice(Notice::KdfCalibrated {
                params: kdf,
                expected,
            });
        }
        store.create(&[layout::KEYS, layout::CREDS, layout::RECORDS])?;
        let _lock = store.lock(layout::LOCK, LockMode::Exclusive)?;
        if store.exists(layout::ROOT)? {
            return Err(exists());
        }
        let header = opening::new_kdf_header(kdf);
        let master = SealKey::generate();
        let now = self.clock.now();
        // No vault exists: whatever a failed `init` left in the trail goes, and the
        // trail starts with this one.
        let trail = Trail::new(store.clone());
        trail.clear()?;
        let first = trail
            .append_sealed(
                &TrailKeys::new(&master),
                now,
                vec![Event::new(Action::Init, Outcome::Done)],
                &mut |_, _| Vec::new(),
                &Anchor::default(),
            )
            .map_err(|e| Error::NotRecorded(Box::new(e)))?;
        let core = Core {
            high_water: now,
            retention_clock: Some(now),
            live: Vec::new(),
            history: 0,
            oldest_tombstone: None,
            retention: Retention::DEFAULT,
            audit_seq: first.as_ref().map_or(0, |f| f.0),
            audit_hash: first.map(|f| f.1),
            generation: 0,
            backups: None,
            key_store: key_store.clone(),
        };
        let root = RootFile {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            master_key: opening::seal_master(
                &store.locate(layout::ROOT),
                &header,
                &master,
                &passphrase,
            )?,
            kdf: header,
            index: opening::seal_base64(&crate::crypto::WrapKey::index(&master), &core)?,
            expiry: Vec::new(),
            swept: Vec::new(),
            backups: None,
            key_store,
            keys_pending: Vec::new(),
            purge_pending: None,
        };
        let bytes = serde_json::to_vec(&root)
            .map_err(|e| Error::Internal(format!("cannot serialize the root: {e}")))?;
        match store.write_new(layout::ROOT, &bytes) {
            Err(StoreError::AlreadyExists(_)) => return Err(exists()),
            other => other?,
        }
        // A new vault: whatever was seen of an earlier one at this path is gone.
        self.seen_store()
            .save(&master, &super::rollback::Seen::default());
        Ok(())
    }

    /// Opens a new intervention.
    pub fn open(
        &self,
        new: &NewIntervention,
        ui: &mut dyn Interaction,
    ) -> Result<InterventionSummary> {
        validate_name("intervention ID", &new.id)?;
        validate_text("client name", &new.client, true)?;
        if let Some(note) = &new.note {
            validate_text("note", note, false)?;
        }
        let now = self.clock.now();
        let window = match new.window {
            WindowSpec::For(d) => Window::new(now, now + d, now)?,
            WindowSpec::Range { from, until } => Window::new(from.unwrap_or(now), until, now)?,
        };
        // The core and the history say whether the ID is taken: no record is read.
        let mut u = self.unlocked_in_scope(ui, Access::Write, Scope::Core)?;
        let template = Event::new(Action::Open, Outcome::Done).intervention(&new.id);
        u.audited(template, |u| {
            if !clock_is_sane(now, u.index.high_water) {
                return Err(Error::ClockWentBack {
                    now,
                    seen: u.index.high_water,
                });
            }
            u.read_history()?;
            let tombstone = u.index.tombstones.iter().any(|t| t.id == new.id);
            if tombstone || u.index.loaded.live.iter().any(|l| l.id == new.id) {
                return Err(Error::InterventionExists {
                    id: new.id.clone(),
                    tombstone,
                });
            }
            let reference = Ref::random();
            u.put_key(&reference, &SealKey::generate(), window.until)?;
            let meta = InterventionMeta {
                id: new.id.clone(),
                reference,
                client: new.client.clone(),
                note: new.note.clone(),
                window,
                opened_at: now,
                creds_gen: None,
                entries: Vec::new(),
                extensions: Vec::new(),
                frozen: None,
            };
            let summary = summary_of_live(&meta, now);
            u.index.interventions.push(meta);
            u.index.ensure_client_key(&new.client);
            let mut e = Event::new(Action::Open, Outcome::Done)
                .intervention(&new.id)
                .client(&new.client);
            (e.from, e.until) = (Some(window.from), Some(window.until));
            Ok((summary, vec![e]))
        })
    }

    /// Lists live interventions, and tombstones too with `all`.
    pub fn list(&self, ui: &mut dyn Interaction, all: bool) -> Result<Vec<InterventionSummary>> {
        self.read_again(|| self.list_once(&mut *ui, all))
    }

    /// One try of [`Vault::list`].
    fn list_once(&self, ui: &mut dyn Interaction, all: bool) -> Result<Vec<InterventionSummary>> {
        let u = self.unlocked(ui, Access::Read)?;
        let now = u.h.now;
        let mut out: Vec<_> = u
            .index
            .interventions
            .iter()
            .map(|m| summary_of_live(m, now))
            .collect();
        out.sort_by(|a, b| (a.window.from, &a.id).cmp(&(b.window.from, &b.id)));
        if all {
            let mut gone: Vec<_> = u
                .index
                .tombstones
                .iter()
                .map(summary_of_tombstone)
                .collect();
            gone.sort_by(|a, b| (a.wiped.map(|w| w.0), &a.id).cmp(&(b.wiped.map(|w| w.0), &b.id)));
            out.extend(gone);
        }
        self.after_read(u);
        Ok(out)
    }

    /// Shows one intervention, live or tombstone. With `lang`, the client's
    /// documents are given in that language from now on (see [`Lang`]).
    pub fn show(
        &self,
        id: &str,
        lang: Option<Lang>,
        ui: &mut dyn Interaction,
    ) -> Result<InterventionDetail> {
        self.read_again(|| self.show_once(id, lang, &mut *ui))
    }

    /// One try of [`Vault::show`].
    fn show_once(
        &self,
        id: &str,
        lang: Option<Lang>,
        ui: &mut dyn Interaction,
    ) -> Result<InterventionDetail> {
        validate_name("intervention ID", id)?;
        // Remembering a language is a change: it takes the write lock.
        let access = match lang {
            Some(_) => Access::Write,
            None => Access::Read,
        };
        let mut u = self.unlocked(ui, access)?;
        let mut detail = if let Some(m) = u.index.interventions.iter().find(|m| m.id == id) {
            let set = u.load_credentials(m)?;
            InterventionDetail {
                summary: summary_of_live(m, u.h.now),
                entries: set
                    .credentials
                    .iter()
                    .map(|c| EntryView {
                        name: c.name.clone(),
                        kind: c.kind,
                        url: c.url.clone(),
                    })
                    .collect(),
                extensions: m.extensions.clone(),
                tombstone: None,
                lang: None,
            }
        } else if let Some(t) = u.index.tombstones.iter().find(|t| t.id == id) {
            InterventionDetail {
                summary: summary_of_tombstone(t),
                entries: Vec::new(),
                extensions: Vec::new(),
                tombstone: Some(t.clone()),
                lang: None,
            }
        } else {
            return Err(Error::NoSuchIntervention { id: id.to_owned() });
        };
        let erased = detail.tombstone.as_ref().is_some_and(|t| t.client_erased);
        if !erased {
            detail.lang = u.settle_client_lang(&detail.summary.client, lang)?;
        }
        self.after_read(u);
        Ok(detail)
    }

    /// Moves the end of a scheduled or active window; never re-opens a wiped one.
    pub fn extend(
        &self,
        id: &str,
        until: DateTime<Utc>,
        reason: &str,
        ui: &mut dyn Interaction,
    ) -> Result<InterventionSummary> {
        self.extend_to(id, NewEnd::At(until), reason, ui)
    }

    /// [`Vault::extend`], with the new end given as a time or as a length added
    /// to the current end (read under the vault's lock, so two extensions add up).
    pub fn extend_to(
        &self,
        id: &str,
        end: NewEnd,
        reason: &str,
        ui: &mut dyn Interaction,
    ) -> Result<InterventionSummary> {
        validate_name("intervention ID", id)?;
        validate_text("reason", reason, true)?;
        if matches!(end, NewEnd::At(until) if until <= self.clock.now()) {
            // A usage error wins over every other outcome, so check it before
            // opening the vault; `until <= from` is checked once `from` is known.
            return Err(Error::usage(
                "the new window end has already passed",
                "give a window end in the future, or use 'intervault close' to end it now",
            ));
        }
        let mut u = self.unlocked_for(ui, Access::Write, id)?;
        let template = Event::new(Action::Extend, Outcome::Done)
            .intervention(id)
            .reason(reason);
        u.audited(template.clone(), |u| {
            let pos = u.live(id)?;
            let now = u.h.now;
            if !clock_is_sane(now, u.index.high_water) {
                return Err(Error::ClockWentBack {
                    now,
                    seen: u.index.high_water,
                });
            }
            let m = &mut u.index.interventions[pos];
            let until = match end {
                NewEnd::At(until) => until,
                NewEnd::Later(by) => m.window.until.checked_add_signed(by).ok_or_else(|| {
                    Error::usage(
                        "the new window end is too far away",
                        "lengthen the window by less",
                    )
                })?,
            };
            let window = Window::new(m.window.from, until, now)?;
            m.extensions.push(Extension {
                at: now,
                previous_until: m.window.until,
                until,
                reason: reason.to_owned(),
            });
            m.window = window;
            let summary = summary_of_live(m, now);
            let mut e = template;
            e.until = Some(until);
            Ok((summary, vec![e]))
        })
    }

    /// Restricts processing of a live intervention (the client's right to
    /// restriction): every fetch is refused until [`Vault::unfreeze`]; expiry and
    /// `close` still wipe it.
    pub fn freeze(&self, id: &str, reason: &str, ui: &mut dyn Interaction) -> Result<()> {
        validate_name("intervention ID", id)?;
        validate_text("reason", reason, true)?;
        let mut u = self.unlocked_for(ui, Access::Write, id)?;
        let template = Event::new(Action::Freeze, Outcome::Done)
            .intervention(id)
            .reason(reason);
        u.audited(template.clone(), |u| {
            let pos = u.live(id)?;
            let now = u.h.now;
            u.index.interventions[pos].frozen = Some(Freeze {
                since: now,
                reason: reason.to_owned(),
            });
            Ok(((), vec![template]))
        })
    }

    /// Lifts a restriction set by [`Vault::freeze`]; `Ok(false)` if there was none.
    pub fn unfreeze(&self, id: &str, ui: &mut dyn Interaction) -> Result<bool> {
        validate_name("intervention ID", id)?;
        let mut u = self.unlocked_for(ui, Access::Write, id)?;
        let template = Event::new(Action::Unfreeze, Outcome::Done).intervention(id);
        u.audited(template.clone(), |u| {
            let pos = u.live(id)?;
            let was = u.index.interventions[pos].frozen.take().is_some();
            let events = if was { vec![template] } else { Vec::new() };
            Ok((was, events))
        })
    }

    /// Wipes an intervention now and returns its tombstone (with the receipt).
    /// With `lang`, the client's documents are given in that language from now on.
    pub fn close(&self, id: &str, lang: Option<Lang>, ui: &mut dyn Interaction) -> Result<Closed> {
        validate_name("intervention ID", id)?;
        let template = Event::new(Action::Close, Outcome::Done).intervention(id);
        // Closing is allowed whatever the clock says: wiping early is always safe.
        let doomed = |u: &mut Unlocked| -> Result<(usize, Destruction)> {
            let pos = u.live(id)?;
            let m = &u.index.interventions[pos];
            let what = Destruction::Close {
                id: id.to_owned(),
                client: m.client.clone(),
                names: m.entries.iter().map(|e| e.name.clone()).collect(),
            };
            Ok((pos, what))
        };
        // Asked with the vault unlocked but not locked (the sweep timer and other
        // commands go on), then checked again under the lock.
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
        let tombstone = u.audited(template, |u| {
            let (pos, what) = doomed(u)?;
            if what != asked {
                return Err(asked.changed());
            }
            let t = u.wipe(pos, WipeReason::Closed)?;
            if let Some(lang) = lang {
                u.index.remember_client_lang(&t.client, lang);
            }
            let e = wipe_event(&t);
            Ok((t, vec![e]))
        })?;
        let client_lang = lang.or_else(|| u.index.client_lang(&tombstone.client));
        // With nothing left open there is nothing to fetch: do not leave the
        // master key waiting in the keyring.
        if u.index.loaded.live.is_empty() && self.end_session() {
            ui.notice(Notice::SessionEnded {
                why: "no intervention is open any more",
            });
        }
        let key_pending = u.key_pending(&tombstone.reference);
        Ok(Closed {
            history: u.h.purged.clone().unwrap_or(Purge::NothingKept),
            tombstone,
            key_pending,
            lang: client_lang,
        })
    }

    /// Wipes every intervention whose window has ended, without the passphrase.
    /// When `ui` has a passphrase at hand without prompting, the vault is also
    /// unlocked and the records come back complete; if that unlock fails, the
    /// wipes stand and are reported all the same, with the error beside them.
    pub fn sweep(&self, ui: &mut dyn Interaction) -> Result<SweepReport> {
        let mut h = self.handle(LockMode::Exclusive, false, true)?;
        // An earlier wipe's purge of the store's history that could not be
        // done then (etcd: compaction needs the root role) is done now.
        if h.root.purge_pending.is_some() && h.purged.is_none() {
            h.purge_history();
        }
        let history = h.purged.clone();
        // Managed backups past their retention go, and what has ended leaves them.
        if let Some(config) = h.root.backups.as_ref().filter(|_| self.upkeep_backups) {
            let _ = super::backup::upkeep(config, &[], h.now);
        }
        if !h.swept_now.is_empty() {
            let count = h.swept_now.len() as u64;
            self.note_keyless(Action::Sweep, None, Some(count));
        }
        let keys_pending: Vec<Ref> = (h.root.keys_pending.iter())
            .map(|p| p.reference.clone())
            .collect();
        opening::notify_keys(ui, &h);
        let keyless: Vec<WipeRecord> = h
            .swept_now
            .iter()
            .map(|s| WipeRecord {
                reference: s.reference.clone(),
                reason: WipeReason::Expired,
                wiped_at: s.wiped_at,
                tombstone: None,
                key_pending: false,
            })
            .collect();
        let passphrase = match ui.passphrase(PassphrasePurpose::UnlockIfAvailable) {
            Ok(p) => p,
            Err(Error::NoPassphrase { .. }) => {
                return Ok(SweepReport::keyless(keyless).with_keys(keys_pending, history))
            }
            Err(e) => {
                return Ok(SweepReport::with_error(keyless, e).with_keys(keys_pending, history))
            }
        };
        let completed = opening::open_master(&h.store.locate(layout::ROOT), &h.root, &passphrase)
            .inspect_err(|e| self.note_failed_passphrase(e))
            .and_then(|master| {
                opening::unlock_handle(h, master, self.seen_store(), opening::Scope::All, None)
                    .map_err(|(_, e)| e)
            })
            .and_then(|(mut u, completed)| {
                u.settle_leftovers(true);
                u.record(Vec::new())?;
                u.commit()?;
                u.report_tampering()?;
                Ok(completed)
            });
        let completed = match completed {
            Ok(completed) => completed,
            Err(e) => {
                return Ok(SweepReport::with_error(keyless, e).with_keys(keys_pending, history))
            }
        };
        let wiped = keyless
            .into_iter()
            .map(
                |r| match completed.iter().find(|t| t.reference == r.reference) {
                    Some(t) => t.clone().into(),
                    None => r,
                },
            )
            .collect();
        Ok(SweepReport::keyless(wiped).with_keys(keys_pending, history))
    }

    /// Changes the passphrase: re-wraps the master key under a new salt.
    pub fn passwd(&self, ui: &mut dyn Interaction) -> Result<()> {
        // Check the current passphrase first (an unlocked session is not enough:
        // whoever sits at an unlocked terminal must not change it), then ask for
        // the new one without holding the lock while the user types.
        self.ignore_sessions.set(true);
        let checked = self.unlocked(ui, Access::Write);
        self.ignore_sessions.set(false);
        drop(checked?);
        let passphrase = ui.passphrase(PassphrasePurpose::NewPassphrase)?;
        let mut u = self.unlocked(ui, Access::Write)?;
        let template = Event::new(Action::Passwd, Outcome::Done);
        u.audited(template.clone(), |u| {
            let header = opening::new_kdf_header(u.h.root.kdf.params);
            u.h.root.master_key = opening::seal_master(
                &u.h.store.locate(layout::ROOT),
                &header,
                &u.master,
                &passphrase,
            )?;
            u.h.root.kdf = header;
            Ok(((), vec![template]))
        })?;
        // The session's binding no longer matches anyway; forget it outright.
        if self.end_session() {
            ui.notice(Notice::SessionEnded {
                why: "the passphrase changed",
            });
        }
        Ok(())
    }
}

/// The event of a wipe by `close` (or `client erase`): its receipt and count.
pub(super) fn wipe_event(t: &Tombstone) -> Event {
    let mut e = Event::new(Action::Close, Outcome::Done).intervention(&t.id);
    e.receipt = Some(t.receipt.clone());
    e.count = Some(t.names.len() as u64);
    e.reference = Some(t.reference.to_string());
    e
}

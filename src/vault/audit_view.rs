//! `audit` and `audit verify`: reading the trail back, with clients by name.

use chrono::{DateTime, Utc};

use crate::audit::{Action, Event, Filter, Outcome, Record, Verified};
use crate::error::Result;

use super::format::Index;
use super::opening::{Access, Unlocked};
use super::trail::Walked;
use super::{Interaction, Vault};

/// What `intervault audit` shows.
#[derive(Debug, Clone)]
pub struct AuditView {
    /// The records that pass the filter, in order.
    pub records: Vec<Record>,
    /// Records up to this number were pruned by retention, at this time.
    pub pruned_through: Option<(u64, DateTime<Utc>)>,
}

impl Unlocked<'_> {
    /// Reads and checks the whole trail; with `decrypt`, opens every record.
    pub(super) fn walk_trail(&self, decrypt: bool) -> Result<Walked> {
        self.trail
            .walk(&self.trail_keys, &self.index.audit_anchor(), decrypt)
    }
}

/// Puts client names back in place of their pseudonyms (erased clients keep
/// theirs: nothing can link them to a name any more).
pub(super) fn with_names(index: &Index, mut records: Vec<Record>) -> Vec<Record> {
    let names = index.names_by_pseudonym();
    for r in &mut records {
        if let Some(name) = r.event.client.as_ref().and_then(|p| names.get(p)) {
            r.event.client = Some(name.clone());
        }
        if let Some(reason) = &mut r.event.reason {
            for (pseudonym, name) in &names {
                if reason.contains(pseudonym.as_str()) {
                    *reason = reason.replace(pseudonym.as_str(), name);
                }
            }
        }
    }
    records
}

impl Vault<'_> {
    /// The trail's records that pass `filter`, clients by name. The whole trail
    /// is checked as it is read: a broken one is an error (exit 6) naming the
    /// first bad record. Reading the trail is itself recorded.
    pub fn audit(&self, filter: &Filter, ui: &mut dyn Interaction) -> Result<AuditView> {
        self.read_again(|| self.audit_once(filter, &mut *ui))
    }

    /// One try of [`Vault::audit`].
    fn audit_once(&self, filter: &Filter, ui: &mut dyn Interaction) -> Result<AuditView> {
        let mut u = self.unlocked(ui, Access::Read)?;
        let walked = u.walk_trail(true)?;
        let wanted_client = filter
            .client
            .as_ref()
            .map(|name| u.index.pseudonym_of(name).unwrap_or_default());
        let records = walked
            .records
            .into_iter()
            .filter(|r| filter.since.is_none_or(|t| r.at >= t))
            .filter(|r| filter.until.is_none_or(|t| r.at < t))
            .filter(|r| {
                filter
                    .intervention
                    .as_ref()
                    .is_none_or(|id| r.event.intervention.as_ref() == Some(id))
            })
            .filter(|r| {
                wanted_client
                    .as_ref()
                    .is_none_or(|p| !p.is_empty() && r.event.client.as_ref() == Some(p))
            })
            .collect();
        let records = with_names(&u.index, records);
        u.record(vec![Event::new(Action::Audit, Outcome::Done).reason("read")])?;
        let view = AuditView {
            records,
            pruned_through: walked.checkpoint,
        };
        self.after_read(u);
        Ok(view)
    }

    /// Checks the whole trail: the chain, every record's MAC and seal, the head,
    /// and the index's lower bound. Records the check (best effort when the trail
    /// is broken: the error is the answer).
    pub fn audit_verify(&self, ui: &mut dyn Interaction) -> Result<Verified> {
        self.read_again(|| self.audit_verify_once(&mut *ui))
    }

    /// One try of [`Vault::audit_verify`].
    fn audit_verify_once(&self, ui: &mut dyn Interaction) -> Result<Verified> {
        let mut u = self.unlocked(ui, Access::Read)?;
        let walked = match u.walk_trail(true) {
            Ok(w) => w,
            Err(e) => {
                let mut failed = Event::new(Action::Audit, Outcome::Failed);
                failed.reason = Some(format!("verify: {}", e.audit_reason()));
                let _ = u.record(vec![failed]);
                return Err(e);
            }
        };
        u.record(vec![
            Event::new(Action::Audit, Outcome::Done).reason("verify: intact")
        ])?;
        self.after_read(u);
        Ok(walked.verified)
    }
}

impl Vault<'_> {
    /// Starts a new trail after a damaged one: refused while the trail verifies
    /// (exit 3). The damaged file stays in `audit/` as evidence, under the name
    /// given back; the new trail's first record says what was wrong with it.
    pub fn audit_restart(&self, ui: &mut dyn Interaction) -> Result<String> {
        self.restarting_trail.set(true);
        let opened = self.unlocked(ui, Access::Write);
        self.restarting_trail.set(false);
        let mut u = opened?;
        let damage = match u.walk_trail(false) {
            Ok(_) => {
                return Err(crate::Error::Input {
                    what: "the audit trail is intact".into(),
                    fix: "there is nothing to restart; 'intervault audit verify' checks it".into(),
                    code: 3,
                })
            }
            Err(crate::Error::AuditBroken { record, what }) => match record {
                Some(n) => format!("record {n}: {what}"),
                None => format!("its head: {what}"),
            },
            Err(e) => return Err(e),
        };
        let mut first = Event::new(Action::AuditRestart, Outcome::Done);
        let now = u.h.now;
        let kept = u.trail.kept_name(now)?;
        first.reason = Some(format!(
            "the previous trail, kept as audit/{kept}, was broken at {damage}"
        ));
        u.last_record = u.trail.restart(&u.trail_keys, now, &kept, first)?;
        u.index.audit_seq = 0;
        u.index.audit_hash = None;
        u.commit()?;
        Ok(kept)
    }
}

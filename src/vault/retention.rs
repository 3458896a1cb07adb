//! Retention: how long audit records and tombstones are kept, and the pruning of
//! tombstones (audit records are pruned by the trail itself).

use std::collections::HashSet;

use chrono::{DateTime, Months, TimeDelta, Utc};

use crate::audit::{Action, Event, Outcome};
use crate::error::{Error, Result};

use super::backup::{BackupConfig, DEFAULT_RETENTION_DAYS};
use super::format::{Index, Ref, Retention};
use super::opening::{Access, Unlocked};
use super::{Interaction, Vault};

/// A change to the retention periods.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetentionChange {
    /// Keep audit records this many months.
    pub audit_months: Option<u32>,
    /// Keep tombstones this many months after their wipe.
    pub tombstone_months: Option<u32>,
    /// Keep managed backups this many days.
    pub backup_days: Option<u32>,
    /// Allow periods longer than the policy's (13 months, 3 years, 30 days).
    pub beyond_policy: bool,
}

/// The retention periods of a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionView {
    /// Audit records and tombstones, in months.
    pub periods: Retention,
    /// Managed backups, in days.
    pub backup_days: u32,
}

impl Unlocked<'_> {
    /// Drops tombstones wiped longer ago than the retention, and the pseudonym
    /// keys of clients nothing refers to any more; says whether any went. The
    /// unlock's caller commits, and the trail records it.
    pub(super) fn prune_tombstones(&mut self) -> Result<bool> {
        let months = Months::new(self.index.retention.tombstone_months);
        let Some(cutoff) = self.retention_now.checked_sub_months(months) else {
            return Ok(false);
        };
        let loaded = &self.index.loaded;
        let oldest = match loaded.has_history() {
            true => self.index.tombstones.iter().map(|t| t.wiped_at).min(),
            false => loaded.oldest_tombstone,
        };
        if oldest.is_none_or(|t| t >= cutoff) {
            return Ok(false);
        }
        // Which client keys are still named needs every intervention.
        self.read_everything()?;
        let before = self.index.tombstones.len();
        self.index.tombstones.retain(|t| t.wiped_at >= cutoff);
        let pruned = before - self.index.tombstones.len();
        if pruned == 0 {
            return Ok(false);
        }
        let index = &mut self.index;
        let named: HashSet<String> = index
            .interventions
            .iter()
            .map(|m| m.client.clone())
            .chain(index.tombstones.iter().map(|t| t.client.clone()))
            .collect();
        index.clients.retain(|c| named.contains(&c.name));
        let mut e = Event::new(Action::PruneTombstones, Outcome::Done);
        e.count = Some(pruned as u64);
        e.reason = Some(format!(
            "wiped more than {} months ago",
            self.index.retention.tombstone_months
        ));
        self.owed.push(e);
        Ok(true)
    }
}

/// The most that retention moves forward in one change: a clock set far ahead
/// prunes a week's worth more per change, not everything at once (and the jump
/// is recorded in the trail, where it stays for the full retention).
pub(super) const MAX_RETENTION_STEP: TimeDelta = TimeDelta::days(7);

/// A forward move of the clock past the last time the vault saw that is worth
/// recording (a vault left alone for longer also records it, harmlessly).
pub(super) const LARGE_CLOCK_JUMP: TimeDelta = TimeDelta::days(31);

/// The time retention counts from at `now`: the clock, but never more than
/// [`MAX_RETENTION_STEP`] past where retention had got, and never back.
pub(super) fn retention_now(index: &Index, now: DateTime<Utc>) -> DateTime<Utc> {
    let reached = index.retention_clock.unwrap_or(index.high_water);
    let furthest = reached
        .checked_add_signed(MAX_RETENTION_STEP)
        .unwrap_or(reached);
    now.min(furthest).max(reached)
}

/// The event that records a large forward jump of the clock, if `now` is one.
pub(super) fn clock_jump(index: &Index, now: DateTime<Utc>) -> Option<Event> {
    let gap = now.signed_duration_since(index.high_water);
    if index.high_water == DateTime::<Utc>::MIN_UTC || gap <= LARGE_CLOCK_JUMP {
        return None;
    }
    let mut e = Event::new(Action::ClockJump, Outcome::Done);
    e.reason = Some(format!(
        "the clock reads {} days past the last time this vault saw ({}); retention moves at most {} days per change",
        gap.num_days(),
        crate::timefmt::format_utc(index.high_water),
        MAX_RETENTION_STEP.num_days()
    ));
    Some(e)
}

impl Vault<'_> {
    /// Shows the retention periods, or changes them. A period longer than the
    /// policy's needs `beyond_policy`; a period of zero is refused.
    pub fn retention(
        &self,
        change: RetentionChange,
        ui: &mut dyn Interaction,
    ) -> Result<RetentionView> {
        let wanted = [
            (
                change.audit_months,
                Retention::DEFAULT.audit_months,
                "an audit retention",
            ),
            (
                change.tombstone_months,
                Retention::DEFAULT.tombstone_months,
                "a tombstone retention",
            ),
        ];
        for (months, default, period) in wanted {
            match months {
                Some(0) => {
                    return Err(Error::usage(
                        format!("{period} of 0 months would keep nothing"),
                        "give at least 1 month",
                    ))
                }
                Some(m) if m > default && !change.beyond_policy => return Err(Error::usage(
                    format!("{period} of {m} months is longer than the policy's {default} months"),
                    "keep it shorter, or go beyond the policy explicitly if a longer period is really agreed",
                )),
                Some(m) if m > 1200 => {
                    return Err(Error::usage(
                        format!("{period} of {m} months is more than a century"),
                        "give at most 1200 months",
                    ))
                }
                _ => {}
            }
        }
        match change.backup_days {
            Some(0) => {
                return Err(Error::usage(
                    "a backup retention of 0 days would keep no backup",
                    "give at least 1 day",
                ))
            }
            Some(d) if d > DEFAULT_RETENTION_DAYS && !change.beyond_policy => {
                return Err(Error::usage(
                    format!("a backup retention of {d} days is longer than the default {DEFAULT_RETENTION_DAYS} days"),
                    "keep it shorter, or go beyond the policy explicitly if a longer period is really agreed",
                ))
            }
            Some(d) if d > 36_500 => {
                return Err(Error::usage(
                    format!("a backup retention of {d} days is more than a century"),
                    "give at most 36500 days",
                ))
            }
            _ => {}
        }
        let changing = change.audit_months.is_some()
            || change.tombstone_months.is_some()
            || change.backup_days.is_some();
        let default_dir = self.default_backup_dir()?;
        let mut u = self.unlocked(
            ui,
            if changing {
                Access::Write
            } else {
                Access::Read
            },
        )?;
        let view = |u: &Unlocked<'_>| RetentionView {
            periods: u.index.retention,
            backup_days: u
                .index
                .backups
                .as_ref()
                .map_or(DEFAULT_RETENTION_DAYS, |b| b.retention_days),
        };
        if !changing {
            let current = view(&u);
            self.after_read(u);
            return Ok(current);
        }
        u.audited(Event::new(Action::Retention, Outcome::Done), |u| {
            let r = &mut u.index.retention;
            r.audit_months = change.audit_months.unwrap_or(r.audit_months);
            r.tombstone_months = change.tombstone_months.unwrap_or(r.tombstone_months);
            if let Some(days) = change.backup_days {
                let config = u.index.backups.get_or_insert_with(|| BackupConfig {
                    id: Ref::random(),
                    dirs: vec![default_dir],
                    retention_days: DEFAULT_RETENTION_DAYS,
                });
                config.retention_days = days;
            }
            let now = view(u);
            let e = Event::new(Action::Retention, Outcome::Done).reason(format!(
                "audit records {} months, tombstones {} months, managed backups {} days",
                now.periods.audit_months, now.periods.tombstone_months, now.backup_days
            ));
            Ok((now, vec![e]))
        })
    }
}

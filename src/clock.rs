//! Where the library reads the time, and the guard against a clock set backwards.
//!
//! Every window decision takes a [`Clock`] so the policy can be tested at exact
//! boundaries. The binary only ever builds a [`SystemClock`]: there is deliberately
//! no flag, variable or feature that fakes time in the shipped product, because a
//! fake clock would re-open windows that have ended.

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current time.
pub trait Clock {
    /// The current time, to the second.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        truncate_to_second(Utc::now())
    }
}

/// A clock that always says the same time; for tests of the library.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// How far the clock may lag behind the latest time the vault has seen before
/// access is refused. NTP steps and VM resumes move clocks by seconds, not minutes.
pub const ROLLBACK_TOLERANCE: TimeDelta = TimeDelta::minutes(5);

/// Whether `now` is acceptable given the vault's high-water mark `seen`:
/// it may lag `seen` by at most [`ROLLBACK_TOLERANCE`] (inclusive).
pub fn clock_is_sane(now: DateTime<Utc>, seen: DateTime<Utc>) -> bool {
    now >= seen - ROLLBACK_TOLERANCE
}

/// Drops the sub-second part: the vault keeps times to the second.
pub fn truncate_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("test time")
    }

    #[test]
    fn tolerance_boundary_is_inclusive() {
        let seen = at("2026-12-01T12:00:00Z");
        assert!(clock_is_sane(at("2026-12-01T11:55:00Z"), seen));
        assert!(!clock_is_sane(at("2026-12-01T11:54:59Z"), seen));
        assert!(clock_is_sane(at("2026-12-01T12:00:00Z"), seen));
        assert!(clock_is_sane(at("2027-01-01T00:00:00Z"), seen));
    }

    #[test]
    fn system_clock_has_whole_seconds() {
        assert_eq!(SystemClock.now().timestamp_subsec_nanos(), 0);
    }
}

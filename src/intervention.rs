//! Interventions as policy: names, windows, statuses and the access decision.
//!
//! This module is pure: it knows nothing of files or keys, and takes the time as an
//! argument, so every rule here is tested at its exact boundaries.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::clock::clock_is_sane;
use crate::error::{Error, Result};

pub use crate::lifecycle::{Status, WipeReason};

/// Longest client name or note accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;

/// Checks an intervention ID or credential name: `[a-z0-9][a-z0-9._-]{0,63}`.
pub fn validate_name(what: &str, value: &str) -> Result<()> {
    let bytes = value.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b));
    if first_ok && rest_ok && bytes.len() <= 64 {
        Ok(())
    } else {
        Err(Error::usage(
            format!("invalid {what} {:?}", shorten(value)),
            "use 1 to 64 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
        ))
    }
}

/// Checks free text given by the user (client name, note, reason).
pub fn validate_text(what: &str, value: &str, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(Error::usage(
            format!("empty {what}"),
            format!("give a non-empty {what}"),
        ));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::usage(
            format!("{what} too long"),
            format!("keep it under {MAX_TEXT_CHARS} characters"),
        ));
    }
    // Control characters (tabs included: they break tables) and the Unicode
    // bidirectional controls, which can make printed text lie about its order.
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if value.chars().any(|c| c.is_control() || bidi(c)) {
        return Err(Error::usage(
            format!("{what} contains control or text-direction characters"),
            "use printable text on one line",
        ));
    }
    Ok(())
}

/// Cuts user input for quoting in an error message, at a character boundary.
pub(crate) fn shorten(value: &str) -> String {
    const MAX: usize = 64;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &value[..cut]),
        None => value.to_owned(),
    }
}

/// What a credential is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Hosting panel, SSH or FTP.
    Hosting,
    /// Domain registrar.
    Domain,
    /// Content management system.
    Cms,
    /// Database.
    Database,
    /// Mailbox or mail service.
    Email,
    /// Anything else.
    Other,
}

impl Kind {
    /// Every kind, in the contract's order.
    pub const ALL: [Kind; 6] = [
        Kind::Hosting,
        Kind::Domain,
        Kind::Cms,
        Kind::Database,
        Kind::Email,
        Kind::Other,
    ];

    /// The kind's name in the contract.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hosting => "hosting",
            Kind::Domain => "domain",
            Kind::Cms => "cms",
            Kind::Database => "database",
            Kind::Email => "email",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::usage(
                    format!("invalid kind {:?}", shorten(s)),
                    "use hosting, domain, cms, database, email or other",
                )
            })
    }
}

/// A time window `[from, until)`: `from` inclusive, `until` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// First second of access.
    pub from: DateTime<Utc>,
    /// First second without access.
    pub until: DateTime<Utc>,
}

impl Window {
    /// A window for `open` or `extend`: `until` after `from`, and not already ended.
    pub fn new(from: DateTime<Utc>, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self> {
        if until <= now {
            return Err(Error::usage(
                "the window has already ended",
                "give a window end in the future, or a length from now",
            ));
        }
        if until <= from {
            return Err(Error::usage(
                "the window ends before it starts",
                "give a window end later than its start",
            ));
        }
        Ok(Window { from, until })
    }

    /// The phase of this window at `now`.
    pub fn phase(&self, now: DateTime<Utc>) -> Phase {
        if now < self.from {
            Phase::Scheduled
        } else if now < self.until {
            Phase::Active
        } else {
            Phase::Ended
        }
    }
}

/// Where `now` falls relative to a live intervention's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before `from`.
    Scheduled,
    /// In `[from, until)`.
    Active,
    /// At or after `until`: the intervention must be wiped.
    Ended,
}

/// What an intervention is, for the access decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Credentials present, window as given.
    Live(Window),
    /// Credentials wiped.
    Wiped {
        /// Why.
        reason: WipeReason,
        /// When.
        at: DateTime<Utc>,
    },
}

/// Decides whether credentials of intervention `id` may be fetched at `now`, given the
/// vault's high-water mark `seen`. Granted iff the intervention is live,
/// `from <= now < until`, and the clock is not behind `seen` by more than the tolerance.
pub fn may_fetch(id: &str, state: State, now: DateTime<Utc>, seen: DateTime<Utc>) -> Result<()> {
    if !clock_is_sane(now, seen) {
        return Err(Error::ClockWentBack { now, seen });
    }
    match state {
        State::Wiped { reason, at } => Err(Error::Wiped {
            id: id.to_owned(),
            reason,
            wiped_at: at,
        }),
        State::Live(window) => match window.phase(now) {
            Phase::Active => Ok(()),
            Phase::Scheduled => Err(Error::NotYetOpen {
                id: id.to_owned(),
                from: window.from,
            }),
            // Expiry runs before any access, so an ended live window means the
            // wipe has not been committed yet; refuse as expired all the same.
            Phase::Ended => Err(Error::Wiped {
                id: id.to_owned(),
                reason: WipeReason::Expired,
                wiped_at: window.until,
            }),
        },
    }
}

/// Decides whether credentials may be added to or removed from intervention `id`:
/// while it is live and not ended (scheduled or active).
pub fn may_edit(id: &str, state: State, now: DateTime<Utc>, seen: DateTime<Utc>) -> Result<()> {
    match state {
        State::Live(window) if window.phase(now) == Phase::Scheduled => {
            if clock_is_sane(now, seen) {
                Ok(())
            } else {
                Err(Error::ClockWentBack { now, seen })
            }
        }
        _ => may_fetch(id, state, now, seen),
    }
}

/// An intervention's opaque reference: 16 random bytes in hex. It names the key and
/// credential files and is all a keyless sweep knows of an intervention.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Ref(String);

impl Ref {
    /// A fresh random reference.
    pub fn random() -> Self {
        Ref(crate::crypto::hex(&crate::crypto::random_bytes::<16>()))
    }

    /// Parses a reference, which must be 32 lower-case hex digits: it becomes part
    /// of file names, so a tampered one must not be able to name another path.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Ref(s.to_owned()))
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Ref {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ref::parse(&s).ok_or_else(|| serde::de::Error::custom("malformed intervention reference"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("test time")
    }

    fn window() -> Window {
        Window {
            from: at("2026-12-01T09:00:00Z"),
            until: at("2026-12-01T18:00:00Z"),
        }
    }

    #[test]
    fn from_is_inclusive_until_is_exclusive() {
        let w = State::Live(window());
        let seen = at("2026-11-01T00:00:00Z");
        let fetch = |t: &str| may_fetch("acme", w, at(t), seen);
        assert!(matches!(
            fetch("2026-12-01T08:59:59Z"),
            Err(Error::NotYetOpen { .. })
        ));
        assert!(fetch("2026-12-01T09:00:00Z").is_ok());
        assert!(fetch("2026-12-01T17:59:59Z").is_ok());
        assert!(matches!(
            fetch("2026-12-01T18:00:00Z"),
            Err(Error::Wiped {
                reason: WipeReason::Expired,
                ..
            })
        ));
    }

    #[test]
    fn rollback_tolerance_is_five_minutes() {
        let w = State::Live(window());
        let now = at("2026-12-01T10:00:00Z");
        assert!(may_fetch("acme", w, now, now + TimeDelta::minutes(5)).is_ok());
        assert!(matches!(
            may_fetch(
                "acme",
                w,
                now,
                now + TimeDelta::minutes(5) + TimeDelta::seconds(1)
            ),
            Err(Error::ClockWentBack { .. })
        ));
    }

    #[test]
    fn wiped_is_always_refused() {
        let state = State::Wiped {
            reason: WipeReason::Closed,
            at: at("2026-12-01T10:00:00Z"),
        };
        let now = at("2026-12-01T11:00:00Z");
        let err = may_fetch("acme", state, now, now).unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(may_edit("acme", state, now, now).is_err());
    }

    #[test]
    fn edit_allowed_while_scheduled_or_active_only() {
        let w = State::Live(window());
        let seen = at("2026-11-01T00:00:00Z");
        assert!(may_edit("a", w, at("2026-11-30T00:00:00Z"), seen).is_ok());
        assert!(may_edit("a", w, at("2026-12-01T12:00:00Z"), seen).is_ok());
        assert!(may_edit("a", w, at("2026-12-01T18:00:00Z"), seen).is_err());
    }

    #[test]
    fn window_rules() {
        let now = at("2026-12-01T12:00:00Z");
        assert!(Window::new(now, now, now - TimeDelta::hours(1)).is_err());
        assert!(Window::new(now, now - TimeDelta::seconds(1), now - TimeDelta::hours(1)).is_err());
        assert!(Window::new(now - TimeDelta::hours(2), now, now).is_err());
        assert!(Window::new(now - TimeDelta::hours(2), now + TimeDelta::seconds(1), now).is_ok());
    }

    #[test]
    fn names() {
        for ok in ["a", "0", "acme-site", "acme.fr_2", &"a".repeat(64)] {
            assert!(validate_name("ID", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            ".a",
            "A",
            "a b",
            "é",
            "a\n",
            &"a".repeat(65),
            "a/b",
        ] {
            assert_eq!(
                validate_name("ID", bad).unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), k);
        }
        assert!("Hosting".parse::<Kind>().is_err());
    }

    proptest! {
        /// Access is granted iff the intervention is live, from <= now < until, and
        /// now is not more than the tolerance behind the high-water mark.
        #[test]
        fn access_iff_inside_window_and_clock_sane(
            from in 0i64..1_000_000,
            len in 1i64..1_000_000,
            now in -10_000i64..2_100_000,
            seen in -10_000i64..2_100_000,
            wiped in any::<bool>(),
        ) {
            let base = at("2026-01-01T00:00:00Z");
            let s = |x: i64| base + TimeDelta::seconds(x);
            let w = Window { from: s(from), until: s(from + len) };
            let state = if wiped {
                State::Wiped { reason: WipeReason::Closed, at: s(from) }
            } else {
                State::Live(w)
            };
            let granted = may_fetch("x", state, s(now), s(seen)).is_ok();
            let expected = !wiped && from <= now && now < from + len && now >= seen - 300;
            prop_assert_eq!(granted, expected);
        }
    }
}

//! Parsing and formatting of the TIME and DURATION arguments.
//!
//! TIME is RFC 3339 (`2026-12-01T09:00:00+01:00`, `2026-12-01T08:00:00Z`,
//! fractional seconds allowed) or a local wall-clock time
//! (`YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS]`, `YYYY-MM-DD` for
//! midnight) in the local time zone ([`chrono::Local`], which honours `TZ`).
//! Every parsed time is truncated to whole seconds.
//!
//! DURATION is one or more `<number><unit>` parts with the units `w`, `d`,
//! `h`, `m` and `s`, each at most once and largest first (`1d12h`, `1d 12h`).

use std::fmt;

use chrono::format::ParseErrorKind;
use chrono::{
    DateTime, FixedOffset, Local, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat,
    TimeDelta, TimeZone, Timelike, Utc,
};

/// Why a TIME or DURATION argument was refused; the message is one line meant to follow `intervault: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// At most this many characters of the user's input are echoed in an error.
const MAX_ECHO_CHARS: usize = 64;

/// The longest accepted duration: 100 years of 365.25 days, in seconds.
const MAX_DURATION_SECS: u64 = 36_525 * 86_400;

/// What a TIME must look like, appended to time errors.
const TIME_HELP: &str = "use RFC 3339 (2026-12-01T09:00:00+01:00), \"YYYY-MM-DD HH:MM\" or \"YYYY-MM-DD\" in local time";

/// What a DURATION must look like, appended to duration errors.
const DURATION_HELP: &str = "use a number and a unit s, m, h, d or w, e.g. 45m, 2h, 1d12h";

/// Quotes user input for an error message: at most [`MAX_ECHO_CHARS`]
/// characters (cut on a char boundary, marked with `…`), escaped with
/// `{:?}` so control characters cannot garble the terminal.
pub(crate) fn quote(input: &str) -> String {
    let mut chars = input.chars();
    let mut shown: String = chars.by_ref().take(MAX_ECHO_CHARS).collect();
    if chars.next().is_some() {
        shown.push('…');
    }
    format!("{shown:?}")
}

fn time_error(input: &str, why: &str) -> ParseError {
    ParseError(format!("invalid time {}: {why}", quote(input)))
}

fn duration_error(input: &str, why: &str) -> ParseError {
    ParseError(format!("invalid duration {}: {why}", quote(input)))
}

/// Drops the sub-second part. `with_nanosecond(0)` (rather than
/// `trunc_subsecs`) also folds a leap second `23:59:60` into `23:59:59`.
fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

/// Parses a TIME argument (see the module documentation) into UTC, truncated to whole seconds.
///
/// Local wall-clock forms are interpreted in [`chrono::Local`]; a local time
/// that does not exist or occurs twice because of a daylight saving time
/// change is refused, with a hint to give an explicit UTC offset.
///
/// # Errors
///
/// A [`ParseError`] naming the input and what is accepted when the input has
/// none of the accepted forms, is not a real date, time or offset, or is a
/// skipped or repeated local time.
pub fn parse_time(input: &str) -> Result<DateTime<Utc>, ParseError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(time_error(input, &format!("it is empty; {TIME_HELP}")));
    }

    let rfc3339_error = match DateTime::parse_from_rfc3339(text) {
        Ok(t) => return Ok(whole_seconds(t.with_timezone(&Utc))),
        Err(e) => e,
    };

    match parse_local_naive(text) {
        LocalShape::Valid(naive) => {
            // For the hint when the time falls into a gap: the offset in force
            // a day earlier (usually the one before the change). Uses only
            // non-panicking chrono calls (`Local::offset_from_utc_datetime`
            // may panic if the zone cannot be read).
            let offset_before = naive
                .checked_sub_signed(TimeDelta::days(1))
                .and_then(|earlier| Local.from_local_datetime(&earlier).earliest())
                .map(|t| t.fixed_offset().timezone());
            resolve_local(
                input,
                naive,
                Local.from_local_datetime(&naive),
                offset_before,
            )
        }
        LocalShape::OutOfRange => Err(time_error(
            input,
            "no such date or time of day (check month, day, hour, minute and second)",
        )),
        LocalShape::NoMatch if rfc3339_error.kind() == ParseErrorKind::OutOfRange => {
            Err(time_error(input, "no such date, time of day or UTC offset"))
        }
        LocalShape::NoMatch => Err(time_error(input, TIME_HELP)),
    }
}

/// Parses a point in the past for filters such as `audit --since`: a TIME,
/// `today` or `yesterday` (local midnight), or a DURATION meaning that long
/// before `now` (`7d` is seven days ago).
///
/// # Errors
///
/// A [`ParseError`] when the input is none of these, or names a local
/// midnight that does not exist (a daylight saving time change at midnight).
pub fn parse_time_or_ago(input: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ParseError> {
    let text = input.trim();
    let days_back = match text.to_ascii_lowercase().as_str() {
        "today" => Some(0),
        "yesterday" => Some(1),
        _ => None,
    };
    if let Some(back) = days_back {
        let date = now.with_timezone(&Local).date_naive() - TimeDelta::days(back);
        let midnight = date.and_time(NaiveTime::MIN);
        return Local
            .from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| {
                time_error(
                    input,
                    "local midnight does not exist on that day (a daylight saving time change); give a time with an offset",
                )
            });
    }
    // A DURATION starts with a digit and has no '-' or ':' (unlike every TIME).
    let looks_like_duration =
        text.starts_with(|c: char| c.is_ascii_digit()) && !text.contains(['-', ':']);
    if looks_like_duration {
        let ago = parse_duration(text)?;
        return now
            .checked_sub_signed(ago)
            .map(whole_seconds)
            .ok_or_else(|| duration_error(input, "too far back"));
    }
    parse_time(input).map_err(|e| {
        if text.is_empty() || !e.0.ends_with(TIME_HELP) {
            e
        } else {
            time_error(
                input,
                &format!("{TIME_HELP}, \"today\", \"yesterday\", or a duration ago such as 7d"),
            )
        }
    })
}

/// Result of matching the local wall-clock forms.
#[derive(Debug, PartialEq, Eq)]
enum LocalShape {
    /// Not one of the local forms.
    NoMatch,
    /// The right shape, but not a real date or time of day (e.g. `2026-02-30`).
    OutOfRange,
    /// A valid wall-clock date and time.
    Valid(NaiveDateTime),
}

/// Matches `YYYY-MM-DD`, `YYYY-MM-DD[ T]HH:MM` and `YYYY-MM-DD[ T]HH:MM:SS`
/// exactly (fixed digit counts, ASCII only). Hand-written because chrono's
/// `%m`, `%H`, ... also accept one-digit fields and `%Y` accepts signs.
fn parse_local_naive(text: &str) -> LocalShape {
    let b = text.as_bytes();
    // Reads `len` ASCII digits at `at`; all indexing goes through `get`.
    let num = |at: usize, len: usize| -> Option<u32> {
        let digits = b.get(at..at + len)?;
        digits.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let is = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));

    if !matches!(b.len(), 10 | 16 | 19) || !is(4, b"-") || !is(7, b"-") {
        return LocalShape::NoMatch;
    }
    let (Some(year), Some(month), Some(day)) = (num(0, 4), num(5, 2), num(8, 2)) else {
        return LocalShape::NoMatch;
    };
    let (hour, minute, second) = if b.len() == 10 {
        (0, 0, 0)
    } else {
        if !is(10, b" T") || !is(13, b":") {
            return LocalShape::NoMatch;
        }
        let (Some(hour), Some(minute)) = (num(11, 2), num(14, 2)) else {
            return LocalShape::NoMatch;
        };
        let second = if b.len() == 19 {
            if !is(16, b":") {
                return LocalShape::NoMatch;
            }
            match num(17, 2) {
                Some(s) => s,
                None => return LocalShape::NoMatch,
            }
        } else {
            0
        };
        (hour, minute, second)
    };

    let date = i32::try_from(year)
        .ok()
        .and_then(|year| NaiveDate::from_ymd_opt(year, month, day));
    let time = NaiveTime::from_hms_opt(hour, minute, second);
    match (date, time) {
        (Some(date), Some(time)) => LocalShape::Valid(date.and_time(time)),
        _ => LocalShape::OutOfRange,
    }
}

/// Turns the result of `tz.from_local_datetime(&naive)` into UTC, refusing
/// wall-clock times that a daylight saving time change skipped or repeated.
///
/// Generic over the zone so tests can feed `LocalResult::None` and
/// `LocalResult::Ambiguous` without touching the process-wide `TZ`.
/// `offset_before` only serves the hint for a skipped time.
fn resolve_local<Tz: TimeZone>(
    input: &str,
    naive: NaiveDateTime,
    local: LocalResult<DateTime<Tz>>,
    offset_before: Option<FixedOffset>,
) -> Result<DateTime<Utc>, ParseError> {
    let wall = naive.format("%Y-%m-%d %H:%M:%S");
    match local {
        LocalResult::Single(t) => Ok(whole_seconds(t.with_timezone(&Utc))),
        LocalResult::None => {
            let offset = offset_before.map_or_else(|| "+00:00".to_owned(), |o| o.to_string());
            Err(time_error(
                input,
                &format!(
                    "{wall} does not exist in the local time zone (skipped by a daylight saving \
                     time change); give an explicit UTC offset, e.g. {}{offset}",
                    naive.format("%Y-%m-%dT%H:%M:%S"),
                ),
            ))
        }
        LocalResult::Ambiguous(a, b) => {
            // chrono's `Local` does not list the two in time order; do so.
            let (first, second) = if a.naive_utc() <= b.naive_utc() {
                (a, b)
            } else {
                (b, a)
            };
            let rfc = |t: DateTime<Tz>| t.fixed_offset().format("%Y-%m-%dT%H:%M:%S%:z");
            Err(time_error(
                input,
                &format!(
                    "{wall} is ambiguous in the local time zone (it occurs twice because of a \
                     daylight saving time change); give an explicit UTC offset, e.g. {} (the earlier) \
                     or {} (the later)",
                    rfc(first),
                    rfc(second),
                ),
            ))
        }
    }
}

/// Parses a DURATION argument such as `90s`, `45m`, `2h`, `3d`, `1w`, `1d12h` or `1d 12h`.
///
/// Units are exactly `w`, `d`, `h`, `m`, `s`, each at most once and largest
/// first; whitespace is allowed around and between parts (not inside one).
/// The total must be positive and at most 100 years.
///
/// # Errors
///
/// A [`ParseError`] naming the input and what is accepted when the syntax is
/// wrong, a unit repeats or is out of order, or the total is zero or too long.
//
// Written by hand rather than with a crate such as `humantime`: those also
// accept `ms`, `months`, `years`, `min`, ... which the product contract does
// not allow, and a hand parser gives the exact error messages we want.
pub fn parse_duration(input: &str) -> Result<TimeDelta, ParseError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(duration_error(
            input,
            &format!("it is empty; {DURATION_HELP}"),
        ));
    }
    let syntax = || duration_error(input, DURATION_HELP);
    let too_long = || duration_error(input, "longer than the maximum of 100 years (36525d)");

    // Unit rank (larger = bigger unit) and length in seconds.
    let unit = |c: char| -> Option<(u8, u64)> {
        match c {
            'w' => Some((4, 7 * 86_400)),
            'd' => Some((3, 86_400)),
            'h' => Some((2, 3_600)),
            'm' => Some((1, 60)),
            's' => Some((0, 1)),
            _ => None,
        }
    };

    let mut chars = text.chars().peekable();
    let mut total: u64 = 0;
    let mut last_rank: Option<u8> = None;
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        // The number: ASCII digits only (`char::is_ascii_digit`, so no
        // full-width or other Unicode digits).
        let mut number: Option<u64> = None;
        while let Some(&c) = chars.peek() {
            let Some(digit) = c.to_digit(10).filter(|_| c.is_ascii_digit()) else {
                break;
            };
            chars.next();
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(digit)))
                    .ok_or_else(too_long)?,
            );
        }
        let number = number.ok_or_else(syntax)?;
        let (rank, seconds) = chars.next().and_then(unit).ok_or_else(syntax)?;
        if last_rank.is_some_and(|last| rank >= last) {
            return Err(duration_error(
                input,
                "each unit may appear only once, largest first (w d h m s), e.g. 1d12h",
            ));
        }
        last_rank = Some(rank);
        total = number
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(too_long)?;
        if total > MAX_DURATION_SECS {
            return Err(too_long());
        }
    }

    if total == 0 {
        return Err(duration_error(input, "it must be longer than zero"));
    }
    i64::try_from(total)
        .ok()
        .and_then(TimeDelta::try_seconds)
        .ok_or_else(too_long)
}

/// Formats `t` in the local time zone with its offset, e.g. `2026-12-01 09:00:00 +01:00`.
#[must_use]
pub fn format_local(t: DateTime<Utc>) -> String {
    format_in_zone(t, &Local)
}

/// [`format_local`] for any zone, so it can be tested with a fixed offset.
fn format_in_zone<Tz: TimeZone>(t: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: fmt::Display,
{
    t.with_timezone(tz)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// `text` with every UTC time in it written as [`format_utc`] writes them
/// (`2026-12-01T08:00:00Z`) shown in local time instead: the audit trail keeps
/// its reasons in UTC, and a person reading them sees the zone of every other
/// time on the screen.
#[must_use]
pub fn localize_utc_times(text: &str) -> String {
    const LEN: usize = "2026-12-01T08:00:00Z".len();
    let mut shown = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let candidate = rest.get(start..start + LEN).filter(|c| c.ends_with('Z'));
        match candidate.and_then(|c| DateTime::parse_from_rfc3339(c).ok()) {
            Some(t) => {
                shown.push_str(&rest[..start]);
                shown.push_str(&format_local(t.with_timezone(&Utc)));
                rest = &rest[start + LEN..];
            }
            None => {
                // Skip this run of digits: a time never starts inside one.
                let run = rest[start..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map_or(rest.len(), |n| start + n);
                shown.push_str(&rest[..run]);
                rest = &rest[run..];
            }
        }
    }
    shown.push_str(rest);
    shown
}

/// Formats `t` as RFC 3339 in UTC with whole seconds and `Z`, e.g. `2026-12-01T08:00:00Z`.
#[must_use]
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Formats a time left compactly with its two most significant non-zero
/// units among `d`, `h`, `m`, `s`, e.g. `2d 3h`, `3h 12m`, `12m 5s`, `45s`.
///
/// Sub-second parts are dropped; zero or negative durations give `0s`.
#[must_use]
pub fn format_duration(d: TimeDelta) -> String {
    let mut rest = d.num_seconds();
    if rest <= 0 {
        return "0s".to_owned();
    }
    let mut parts: Vec<String> = Vec::with_capacity(2);
    for (size, unit) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        let count = rest / size;
        rest %= size;
        if count > 0 && parts.len() < 2 {
            parts.push(format!("{count}{unit}"));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Issue 13, item 3: `audit --since today`, `yesterday`, `7d`.
    #[test]
    fn issue_13_time_or_ago_takes_words_and_durations() {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 15, 30, 0).unwrap();
        assert_eq!(
            parse_time_or_ago("7d", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 27, 15, 30, 0).unwrap()
        );
        assert_eq!(
            parse_time_or_ago("2h", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 4, 13, 30, 0).unwrap()
        );
        let today = parse_time_or_ago("today", now).unwrap();
        let yesterday = parse_time_or_ago("Yesterday", now).unwrap();
        assert!(today <= now && now - today < TimeDelta::days(1));
        assert!(today - yesterday >= TimeDelta::hours(23));
        assert_eq!(today.with_timezone(&Local).time(), NaiveTime::MIN);
        assert_eq!(
            parse_time_or_ago("2026-12-01T09:00:00Z", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
        );
        let err = parse_time_or_ago("last week", now).unwrap_err().to_string();
        assert!(
            err.contains("\"today\", \"yesterday\", or a duration ago such as 7d"),
            "{err}"
        );
        assert!(parse_time_or_ago("7x", now)
            .unwrap_err()
            .0
            .starts_with("invalid duration"));
        assert!(parse_time_or_ago("2026-02-30", now)
            .unwrap_err()
            .0
            .contains("no such date"));
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn naive(s: &str) -> NaiveDateTime {
        match parse_local_naive(s) {
            LocalShape::Valid(n) => n,
            other => panic!("{s:?} gave {other:?}"),
        }
    }

    fn offset(hours: i32) -> FixedOffset {
        FixedOffset::east_opt(hours * 3600).unwrap()
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    // ---- TIME ----

    #[test]
    fn rfc3339_with_offset_and_z() {
        let want = utc("2026-12-01T08:00:00Z");
        assert_eq!(parse_time("2026-12-01T09:00:00+01:00"), Ok(want));
        assert_eq!(parse_time("2026-12-01T08:00:00Z"), Ok(want));
        assert_eq!(parse_time("2026-12-01T03:00:00-05:00"), Ok(want));
        assert_eq!(parse_time("  2026-12-01T08:00:00Z\n"), Ok(want));
        assert_eq!(want.timestamp(), 1_796_112_000);
    }

    #[test]
    fn rfc3339_fraction_truncated() {
        let t = parse_time("2026-12-01T09:00:00.999999999+01:00").unwrap();
        assert_eq!(t, utc("2026-12-01T08:00:00Z"));
        assert_eq!(t.nanosecond(), 0);
        let t = parse_time("2026-12-01T08:00:59.5Z").unwrap();
        assert_eq!(t, utc("2026-12-01T08:00:59Z"));
        assert_eq!(t.nanosecond(), 0);
    }

    #[test]
    fn rfc3339_leap_second_folds_to_59() {
        let t = parse_time("2016-12-31T23:59:60Z").unwrap();
        assert_eq!(format_utc(t), "2016-12-31T23:59:59Z");
    }

    #[test]
    fn local_shapes_accepted() {
        let n = NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(9, 5, 0)
            .unwrap();
        assert_eq!(naive("2026-12-01 09:05"), n);
        assert_eq!(naive("2026-12-01T09:05"), n);
        assert_eq!(naive("2026-12-01 09:05:00"), n);
        assert_eq!(naive("2026-12-01T09:05:00"), n);
        assert_eq!(naive("2026-12-01T09:05:07"), n.with_second(7).unwrap());
        assert_eq!(
            naive("2026-12-01"),
            NaiveDate::from_ymd_opt(2026, 12, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        );
    }

    #[test]
    fn local_shapes_refused() {
        for s in [
            "2026-1-01",
            "2026-12-1",
            "2026-12-01 9:05",
            "2026-12-01 09:5",
            "2026-12-01 09",
            "2026-12-01x09:05",
            "2026-12-01  09:05",
            "+2026-12-01",
            "20261-12-01",
            "2026/12/01",
            "2026-12-01 09:05:0",
            "2026-12-01 09:05:00.5",
            "２026-12-01",
            "2026-12-01 ０9:05",
            "",
        ] {
            assert_eq!(parse_local_naive(s), LocalShape::NoMatch, "{s:?}");
        }
        for s in [
            "2026-02-30",
            "2026-13-01",
            "2026-00-10",
            "2026-12-01 24:00",
            "2026-12-01 23:60",
            "2026-12-01 23:59:60",
        ] {
            assert_eq!(parse_local_naive(s), LocalShape::OutOfRange, "{s:?}");
        }
    }

    #[test]
    fn local_under_fixed_zone() {
        let tz = offset(1);
        let n = naive("2026-12-01 09:00");
        let t = resolve_local("x", n, tz.from_local_datetime(&n), None).unwrap();
        assert_eq!(t, utc("2026-12-01T08:00:00Z"));
        let n = naive("2026-12-01");
        let tz = offset(-5);
        let t = resolve_local("x", n, tz.from_local_datetime(&n), None).unwrap();
        assert_eq!(t, utc("2026-12-01T05:00:00Z"));
    }

    #[test]
    fn local_gap_refused_with_hint() {
        let n = naive("2026-03-29 02:30");
        let err =
            resolve_local::<FixedOffset>("2026-03-29 02:30", n, LocalResult::None, Some(offset(1)))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid time \"2026-03-29 02:30\": 2026-03-29 02:30:00 does not exist in the local \
             time zone (skipped by a daylight saving time change); give an explicit UTC offset, \
             e.g. 2026-03-29T02:30:00+01:00"
        );
        let err = resolve_local::<FixedOffset>("t", n, LocalResult::None, None).unwrap_err();
        assert!(err.0.contains("does not exist"), "{err}");
        assert!(err.0.ends_with("2026-03-29T02:30:00+00:00"), "{err}");
    }

    #[test]
    fn local_ambiguous_refused_with_both_offsets() {
        let n = naive("2026-10-25 02:30");
        let first = offset(2).from_local_datetime(&n).unwrap();
        let second = offset(1).from_local_datetime(&n).unwrap();
        let err = resolve_local(
            "2026-10-25 02:30",
            n,
            LocalResult::Ambiguous(first, second),
            None,
        )
        .unwrap_err();
        // Listed in time order whatever order chrono gives.
        let swapped = resolve_local(
            "2026-10-25 02:30",
            n,
            LocalResult::Ambiguous(second, first),
            None,
        )
        .unwrap_err();
        assert_eq!(err, swapped);
        assert!(
            err.0.starts_with("invalid time \"2026-10-25 02:30\": "),
            "{err}"
        );
        assert!(err.0.contains("ambiguous"), "{err}");
        assert!(err.0.contains("daylight saving"), "{err}");
        assert!(
            err.0
                .ends_with("e.g. 2026-10-25T02:30:00+02:00 (the earlier) or 2026-10-25T02:30:00+01:00 (the later)"),
            "{err}"
        );
    }

    #[test]
    fn local_parse_time_matches_process_zone() {
        // Whatever the process zone is, parse_time must agree with it.
        for s in ["2026-12-01 09:00", "2026-07-01T12:34:56", "2026-12-01"] {
            let n = naive(s);
            match Local.from_local_datetime(&n) {
                LocalResult::Single(t) => {
                    assert_eq!(parse_time(s), Ok(t.with_timezone(&Utc)), "{s}");
                }
                _ => assert!(parse_time(s).is_err()),
            }
        }
    }

    #[test]
    fn time_errors() {
        let err = parse_time("tomorrow").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid time \"tomorrow\": use RFC 3339 (2026-12-01T09:00:00+01:00), \
             \"YYYY-MM-DD HH:MM\" or \"YYYY-MM-DD\" in local time"
        );
        assert!(parse_time("").unwrap_err().0.contains("empty"));
        assert!(parse_time("   ").unwrap_err().0.contains("empty"));
        assert!(parse_time("2026-02-30")
            .unwrap_err()
            .0
            .contains("no such date"));
        assert!(parse_time("2026-02-30T00:00:00Z")
            .unwrap_err()
            .0
            .contains("no such date"));
        assert!(parse_time("2026-12-01T09:00:00+25:00").is_err());
        assert!(parse_time("2026-12-01T09:00+01:00").is_err());
        assert!(parse_time("1796112000").is_err());
    }

    #[test]
    fn error_echo_is_escaped_and_truncated() {
        let err = parse_time("bad\u{1b}[31m\n").unwrap_err();
        assert!(
            err.0.starts_with("invalid time \"bad\\u{1b}[31m\\n\": "),
            "{err}"
        );
        assert!(!err.0.contains('\u{1b}') && !err.0.contains('\n'));

        let long = "é".repeat(100);
        let err = parse_duration(&long).unwrap_err();
        let want = format!("invalid duration \"{}…\": ", "é".repeat(64));
        assert!(err.0.starts_with(&want), "{err}");

        let exact = "x".repeat(64);
        let err = parse_duration(&exact).unwrap_err();
        assert!(err
            .0
            .starts_with(&format!("invalid duration \"{exact}\": ")));
    }

    // ---- DURATION ----

    #[test]
    fn every_unit() {
        assert_eq!(parse_duration("90s"), Ok(secs(90)));
        assert_eq!(parse_duration("45m"), Ok(secs(45 * 60)));
        assert_eq!(parse_duration("2h"), Ok(secs(2 * 3600)));
        assert_eq!(parse_duration("3d"), Ok(secs(3 * 86_400)));
        assert_eq!(parse_duration("1w"), Ok(secs(7 * 86_400)));
        assert_eq!(parse_duration("007m"), Ok(secs(7 * 60)));
    }

    #[test]
    fn combinations() {
        let d = secs(86_400 + 12 * 3600);
        assert_eq!(parse_duration("1d12h"), Ok(d));
        assert_eq!(parse_duration("1d 12h"), Ok(d));
        assert_eq!(parse_duration("  1d   12h \t"), Ok(d));
        assert_eq!(
            parse_duration("1w2d3h4m5s"),
            Ok(secs(7 * 86_400 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5))
        );
        assert_eq!(parse_duration("1w 5s"), Ok(secs(7 * 86_400 + 5)));
        assert_eq!(parse_duration("0h30m"), Ok(secs(1800)));
        assert_eq!(parse_duration("36525d"), Ok(secs(36_525 * 86_400)));
    }

    #[test]
    fn duration_rejections() {
        let help = "use a number and a unit s, m, h, d or w, e.g. 45m, 2h, 1d12h";
        assert_eq!(
            parse_duration("5x").unwrap_err().to_string(),
            format!("invalid duration \"5x\": {help}")
        );
        for s in [
            "5", "h", "1x", "-5m", "+5m", "1.5h", "1 h", "1h m", "1hh", "1ms", "1M", "1H", "5 m",
            "m5", "1d12", "５m", "1ｈ", "1h\u{0}", "1_000s", "٣m",
        ] {
            let err = parse_duration(s).unwrap_err();
            assert!(err.0.ends_with(help), "{s:?}: {err}");
        }
        for s in ["", " ", "\t\n"] {
            assert!(parse_duration(s).unwrap_err().0.contains("empty"), "{s:?}");
        }
        for s in ["1h1h", "1m1h", "1s1w", "1d 2d", "1h 0h"] {
            let err = parse_duration(s).unwrap_err();
            assert!(err.0.contains("only once, largest first"), "{s:?}: {err}");
        }
        for s in ["0s", "0w0d0h0m0s", "000m"] {
            let err = parse_duration(s).unwrap_err();
            assert!(err.0.contains("longer than zero"), "{s:?}: {err}");
        }
        for s in [
            "36526d",
            "5218w",
            "36525d1s",
            "99999999999999999999999999s",
            "18446744073709551615s",
            "18446744073709551615w",
            "3000000000000000h",
        ] {
            let err = parse_duration(s).unwrap_err();
            assert!(err.0.contains("100 years"), "{s:?}: {err}");
        }
    }

    // ---- formatting ----

    #[test]
    fn utc_times_in_a_text_are_shown_local() {
        let local = format_local(Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap());
        assert_eq!(
            localize_utc_times("frozen since 2026-12-01T08:00:00Z: audit"),
            format!("frozen since {local}: audit")
        );
        assert_eq!(
            localize_utc_times("from 2026-12-01T08:00:00Z to 2026-12-01T08:00:00Z"),
            format!("from {local} to {local}")
        );
        // Not a time, or not in UTC: left as it is.
        for kept in [
            "",
            "count 12345",
            "2026-12-01T08:00:00+01:00",
            "2026-13-01T08:00:00Z",
            "20261-12-01T08:00:00Z",
            "é2026-12-01T08:00:0",
        ] {
            assert_eq!(localize_utc_times(kept), kept);
        }
    }

    #[test]
    fn format_utc_and_local() {
        let t = utc("2026-12-01T08:00:00Z");
        assert_eq!(format_utc(t), "2026-12-01T08:00:00Z");
        assert_eq!(format_in_zone(t, &offset(1)), "2026-12-01 09:00:00 +01:00");
        assert_eq!(format_in_zone(t, &offset(-5)), "2026-12-01 03:00:00 -05:00");
        assert_eq!(
            format_local(t),
            t.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S %:z")
                .to_string()
        );
    }

    #[test]
    fn format_duration_examples() {
        assert_eq!(format_duration(secs(2 * 86_400 + 3 * 3600 + 59)), "2d 3h");
        assert_eq!(format_duration(secs(3 * 3600 + 12 * 60 + 9)), "3h 12m");
        assert_eq!(format_duration(secs(12 * 60 + 5)), "12m 5s");
        assert_eq!(format_duration(secs(45)), "45s");
        assert_eq!(format_duration(secs(3600)), "1h");
        assert_eq!(format_duration(secs(86_400 + 30)), "1d 30s");
        assert_eq!(format_duration(secs(20 * 86_400)), "20d");
        assert_eq!(format_duration(TimeDelta::milliseconds(1500)), "1s");
        assert_eq!(format_duration(TimeDelta::milliseconds(999)), "0s");
        assert_eq!(format_duration(TimeDelta::zero()), "0s");
        assert_eq!(format_duration(secs(-5)), "0s");
        assert_eq!(format_duration(TimeDelta::MIN), "0s");
        assert!(!format_duration(TimeDelta::MAX).is_empty());
    }

    // ---- properties ----

    proptest! {
        #[test]
        fn components_roundtrip(
            w in 0u64..6000,
            d in 0u64..100,
            h in 0u64..1000,
            m in 0u64..100_000,
            s in 0u64..1_000_000,
            keep_zero in any::<[bool; 5]>(),
            spaced in any::<[bool; 5]>(),
        ) {
            let mut text = String::new();
            for (i, (n, u)) in [(w, 'w'), (d, 'd'), (h, 'h'), (m, 'm'), (s, 's')]
                .into_iter()
                .enumerate()
            {
                if n > 0 || keep_zero[i] {
                    if spaced[i] {
                        text.push(' ');
                    }
                    text.push_str(&format!("{n}{u}"));
                }
            }
            let total = w * 604_800 + d * 86_400 + h * 3_600 + m * 60 + s;
            let got = parse_duration(&text);
            if text.trim().is_empty() || total == 0 || total > MAX_DURATION_SECS {
                prop_assert!(got.is_err(), "{:?} -> {:?}", text, got);
            } else {
                prop_assert_eq!(got, Ok(secs(total as i64)), "{:?}", text);
            }
        }

        #[test]
        fn formatted_duration_parses_back_close(total in 1i64..(MAX_DURATION_SECS as i64)) {
            let shown = format_duration(secs(total));
            let back = parse_duration(&shown).unwrap();
            prop_assert!(back <= secs(total));
            // Two units keep the error below one unit of the larger one.
            let biggest = if total >= 86_400 { 86_400 } else if total >= 3_600 { 3_600 }
                else if total >= 60 { 60 } else { 1 };
            prop_assert!(secs(total) - back < secs(biggest));
            if total < 3600 {
                prop_assert_eq!(back, secs(total));
            }
        }

        #[test]
        fn utc_roundtrip(ts in -62_000_000_000i64..250_000_000_000i64) {
            let t = DateTime::from_timestamp(ts, 0).unwrap();
            prop_assert_eq!(parse_time(&format_utc(t)), Ok(t));
        }

        #[test]
        fn never_panics_printable(s in "\\PC*") {
            let _ = parse_duration(&s);
            let _ = parse_time(&s);
        }

        #[test]
        fn never_panics_any(s in any::<String>()) {
            let _ = parse_duration(&s);
            let _ = parse_time(&s);
        }

        #[test]
        fn never_panics_near_miss(
            s in "[0-9 T:+Zz.-]{0,30}|[0-9]{1,25}[smhdwx ]{0,3}([0-9]{1,25}[smhdw]){0,4}"
        ) {
            if let Err(e) = parse_duration(&s) {
                prop_assert!(!e.0.contains('\n'));
            }
            if let Err(e) = parse_time(&s) {
                prop_assert!(!e.0.contains('\n'));
            }
        }
    }
}

//! The TIME and DURATION arguments, from arbitrary UTF-8. The first byte picks
//! the local time zone (`TZ`), so skipped and repeated wall-clock times are
//! reached; the rest is the argument.
#![no_main]

use chrono::{DateTime, Datelike, Timelike, Utc};
use intervault::timefmt::{format_duration, format_local, format_utc, parse_duration, parse_time};
use libfuzzer_sys::fuzz_target;

/// Zones with DST gaps and overlaps of 1 h and 30 min, offsets near ±14 h, a
/// POSIX rule string, and a TZ that names nothing.
const ZONES: [&str; 8] = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "EST5EDT,M3.2.0,M11.1.0",
    "Not/AZone",
];

fn set_zone(selector: u8) {
    let zone = ZONES[usize::from(selector) % ZONES.len()];
    if std::env::var("TZ").ok().as_deref() != Some(zone) {
        // The fuzzer runs one input at a time on one thread.
        std::env::set_var("TZ", zone);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    set_zone(selector);

    match parse_time(text) {
        Ok(t) => {
            assert_eq!(t.nanosecond(), 0, "not truncated to whole seconds");
            let _ = format_local(t);
            // The vault stores times through serde: what is accepted must read back.
            let json = serde_json::to_string(&t).expect("a time serializes");
            let back: DateTime<Utc> =
                serde_json::from_str(&json).expect("a stored time reads back");
            assert_eq!(back, t);
            // The UTC form round-trips wherever RFC 3339 can write the year.
            if (0..=9999).contains(&t.year()) {
                assert_eq!(parse_time(&format_utc(t)), Ok(t), "{text:?}");
            }
        }
        Err(e) => assert!(!e.0.contains('\n'), "multi-line error {:?}", e.0),
    }

    match parse_duration(text) {
        Ok(d) => {
            assert!(d.num_seconds() > 0, "{text:?} gave {d:?}");
            assert!(d.num_seconds() <= 36_525 * 86_400, "{text:?} gave {d:?}");
            assert_eq!(d.subsec_nanos(), 0);
            let shown = format_duration(d);
            let back = parse_duration(&shown).expect("a formatted duration parses");
            assert!(back <= d && back > chrono::TimeDelta::zero(), "{shown:?}");
        }
        Err(e) => assert!(!e.0.contains('\n'), "multi-line error {:?}", e.0),
    }
});

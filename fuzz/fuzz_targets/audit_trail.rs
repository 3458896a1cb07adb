//! The audit trail: whole logs through the checks of `audit verify` (chain, MACs,
//! seals, checkpoint, torn tail), and every line through the parser and the MAC
//! check. A trail is the one vault file that keyless commands append to, so its
//! reader must hold against anything. The key is fixed so the seed corpus holds
//! logs whose MACs verify and whose records open (see examples/make_seeds.rs).
#![no_main]

use std::sync::LazyLock;

use intervault::crypto::{SealKey, SecretText};
use intervault::vault::audit_log::{check_log, hash, Kind, Line, TrailKeys};
use libfuzzer_sys::fuzz_target;

/// A fuzzing-only identity, never a vault's. Kept in step with make_seeds.rs.
const FUZZ_IDENTITY: &str =
    "AGE-SECRET-KEY-1RQSJJQUF40PUP7XPVP4XRKUE4HWKD6PX708D78AE7LD97XYJ0TCQZGZDAZ";

static KEYS: LazyLock<TrailKeys> = LazyLock::new(|| {
    let master =
        SealKey::from_secret(&SecretText::new(FUZZ_IDENTITY.to_owned())).expect("fuzz identity");
    TrailKeys::new(&master)
});

fuzz_target!(|data: &[u8]| {
    // The head a real trail would have: its last sealed record.
    let head = data
        .split(|&b| b == b'\n')
        .filter_map(|raw| Line::parse(raw).ok())
        .filter(|l| matches!(l.kind, Kind::Sealed(_)))
        .last()
        .map(|l| (l.seq, l.hash));
    if let Ok(walked) = check_log(data, &KEYS, head, true) {
        // Every record counted was shown, and numbers only grow.
        assert_eq!(walked.records.len() as u64, walked.verified.records);
        assert!(walked.records.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
    }
    for raw in data.split(|&b| b == b'\n') {
        if let Ok(line) = Line::parse(raw) {
            assert_eq!(line.hash, hash(raw));
            let _ = line.mac_ok(raw, KEYS.mac());
        }
    }
});

//! The decrypted index: a version 1 index, or the parts of a version 2 one (the
//! core, a record, the history). They are only reachable by someone who holds the
//! master key, but a bug here would still turn a damaged vault into a crash. The
//! first byte picks the part.
#![no_main]

use intervault::vault::format::{
    parse_core, parse_history, parse_index, parse_record, to_plain_json,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;

/// What the vault writes must be what serde writes, and must parse back.
fn round_trip<T: Serialize + PartialEq + std::fmt::Debug>(
    value: &T,
    parse: impl Fn(&[u8]) -> Result<T, String>,
) {
    let plain = to_plain_json(value);
    let plain_vec = serde_json::to_vec(value).expect("it serializes");
    assert_eq!(
        plain.as_slice(),
        plain_vec.as_slice(),
        "to_plain_json differs"
    );
    let again = parse(&plain).expect("what is written parses back");
    assert_eq!(*value, again);
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(index) = parse_index(data) {
                assert!(index.check().is_ok());
                round_trip(&index, parse_index);
            }
        }
        1 => {
            if let Ok(core) = parse_core(data) {
                assert!(core.check().is_ok());
                round_trip(&core, parse_core);
            }
        }
        2 => {
            if let Ok(record) = parse_record(data) {
                assert!(record.meta.check().is_ok());
                round_trip(&record, parse_record);
            }
        }
        _ => {
            if let Ok(history) = parse_history(data) {
                round_trip(&history, parse_history);
            }
        }
    }
});

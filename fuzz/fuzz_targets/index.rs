//! The decrypted index. It is only reachable by someone who holds the master key,
//! but a bug here would still turn a damaged vault into a crash.
#![no_main]

use intervault::vault::format::{parse_index, to_plain_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(index) = parse_index(data) else {
        return;
    };
    assert!(index.check().is_ok());
    // Round trip through the writer the vault uses (exact-size zeroizing buffer).
    let plain = to_plain_json(&index);
    let plain_vec = serde_json::to_vec(&index).expect("an index serializes");
    assert_eq!(
        plain.as_slice(),
        plain_vec.as_slice(),
        "to_plain_json differs"
    );
    let again = parse_index(&plain).expect("a written index parses back");
    assert_eq!(index, again);
});

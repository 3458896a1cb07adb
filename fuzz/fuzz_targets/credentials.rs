//! A decrypted credentials file.
#![no_main]

use intervault::vault::format::{parse_credential_set, to_plain_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(set) = parse_credential_set(data) else {
        return;
    };
    // Debug is what a log or a panic message would show: names and kinds only.
    for c in &set.credentials {
        let _ = format!("{c:?}");
    }
    // Round trip: CredentialSet has no PartialEq, so compare the written forms.
    let written = to_plain_json(&set);
    let again = parse_credential_set(&written).expect("a written set parses back");
    assert_eq!(again.reference, set.reference);
    assert_eq!(again.generation, set.generation);
    assert_eq!(to_plain_json(&again).as_slice(), written.as_slice());
});

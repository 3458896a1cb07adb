//! `vault.json`, the clear root file: anyone who can write the vault directory
//! controls these bytes. parse_root must refuse or accept without panicking, and
//! must never accept KDF costs above the caps (they are checked before any work).
#![no_main]

use std::path::Path;

use intervault::vault::format::{
    decode_salt, parse_root, FORMAT_NAME, FORMAT_VERSION, OLDEST_READ_VERSION,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/fuzz/vault.json");
    let root = match parse_root(path, data) {
        Ok(root) => root,
        Err(e) => {
            // The message is rendered for the user: it must not panic either.
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(root.format, FORMAT_NAME);
    assert!((OLDEST_READ_VERSION..=FORMAT_VERSION).contains(&root.version));
    assert_eq!(root.kdf.algorithm, "argon2id");
    assert!(
        root.kdf.params.check().is_ok(),
        "accepted costs above the caps"
    );
    assert!(decode_salt(path, &root.kdf).is_ok());

    // Round trip: what is accepted is written back (the vault rewrites vault.json
    // on every change) and reads back equal.
    let written = serde_json::to_vec(&root).expect("a parsed root serializes");
    let again = parse_root(path, &written).expect("a written root parses back");
    assert_eq!(root, again);
});

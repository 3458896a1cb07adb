//! Decrypted key files and the decrypted master key file, and the age identity
//! each carries (the vault parses it right after).
#![no_main]

use intervault::crypto::SealKey;
use intervault::vault::format::{parse_key_plain, parse_master_plain, to_plain_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = parse_key_plain(data) {
        let _ = SealKey::from_secret(&key.identity);
        let written = to_plain_json(&key);
        let again = parse_key_plain(&written).expect("a written key file parses back");
        assert_eq!(again.reference, key.reference);
        assert!(again.identity.ct_eq(&key.identity));
        assert_eq!(to_plain_json(&again).as_slice(), written.as_slice());
    }
    if let Ok(master) = parse_master_plain(data) {
        if let Some(k) = SealKey::from_secret(&master.identity) {
            // A valid identity prints back to itself.
            assert!(SealKey::from_secret(&k.to_secret()).is_some());
        }
        let written = to_plain_json(&master);
        let again = parse_master_plain(&written).expect("a written master file parses back");
        assert_eq!(again.version, master.version);
        assert_eq!(again.kdf, master.kdf);
        assert!(again.identity.ct_eq(&master.identity));
        assert_eq!(to_plain_json(&again).as_slice(), written.as_slice());
    }
});

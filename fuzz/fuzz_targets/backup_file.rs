//! Backup files: `backup verify` and `restore` read whatever file they are given,
//! before any key is at hand. Whatever parses names only vault paths, survives a
//! round trip, and can have interventions taken out of it.
#![no_main]

use std::path::Path;

use intervault::intervention::WipeReason;
use intervault::vault::backup::{is_vault_path, BackupFile};
use intervault::vault::format::Ref;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.backup");
    let Ok(mut b) = BackupFile::parse(path, data) else {
        return;
    };
    for name in b.files.keys() {
        assert!(is_vault_path(name), "{name:?}");
        assert!(!name.contains(".."), "{name:?}");
        assert!(!name.starts_with('/'), "{name:?}");
    }
    let written = serde_json::to_vec(&b).expect("a backup serializes");
    let again = BackupFile::parse(path, &written).expect("a written backup parses back");
    assert_eq!(serde_json::to_vec(&again).expect("again"), written);
    // Taking out every intervention it holds (and what has ended) never panics,
    // and leaves no key or credentials file of them.
    let held: Vec<(Ref, WipeReason)> = b
        .files
        .keys()
        .filter_map(|p| p.strip_prefix("keys/"))
        .filter_map(|p| Ref::parse(p.get(..32)?))
        .map(|r| (r, WipeReason::Closed))
        .collect();
    let now = chrono::DateTime::UNIX_EPOCH;
    if b.take_out(path, &held, Some(now), now).is_ok() {
        assert!(b
            .files
            .keys()
            .all(|p| !p.starts_with("keys/") && !held.iter().any(|(r, _)| p.contains(r.as_str()))));
    }
});

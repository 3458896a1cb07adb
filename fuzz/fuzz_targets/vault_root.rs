//! `vault.json`, the clear root file: anyone who can write the vault directory
//! controls these bytes. parse_root must refuse or accept without panicking, and
//! must never accept KDF costs above the caps (they are checked before any work).
//! What it accepts then goes through the keyless paths that act on it before any
//! key can vouch for it (issue 12): `sweep` (expiry wipe, backup upkeep with the
//! clear retention) and `status`, at a fixed time, in a scratch vault. Neither may
//! panic or end in an internal error.
#![no_main]

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use intervault::clock::FixedClock;
use intervault::crypto::SecretText;
use intervault::vault::format::{
    decode_salt, parse_root, RootFile, FORMAT_NAME, FORMAT_VERSION, OLDEST_READ_VERSION,
};
use intervault::vault::{Interaction, Notice, PassphrasePurpose, Vault};
use intervault::{Error, Result};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = &intervault::error::Location::Path(Path::new("/fuzz/vault.json").to_owned());
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

    keyless_paths(root);
});

/// Never has a passphrase; swallows notices (rendering them is the binary's).
struct Keyless;

impl Interaction for Keyless {
    fn passphrase(&mut self, _: PassphrasePurpose) -> Result<SecretText> {
        Err(Error::NoPassphrase {
            hint: "fuzzing".into(),
        })
    }
    fn secret(&mut self, _: &str, _: &str) -> Result<SecretText> {
        Err(Error::NoPassphrase {
            hint: "fuzzing".into(),
        })
    }
    fn totp_seed(&mut self, _: &str, _: &str) -> Result<SecretText> {
        Err(Error::NoPassphrase {
            hint: "fuzzing".into(),
        })
    }
    fn notice(&mut self, _: Notice) {}
    fn confirm(&mut self, _: &intervault::vault::Destruction) -> Result<bool> {
        // What a damaged root may lead to is never destroyed on its word.
        Ok(false)
    }
}

fn private_dir(dir: &Path) {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .expect("scratch dir");
}

/// A scratch vault holding `root` (its backup directories moved into the
/// scratch area, so that upkeep never reaches a real directory), swept and
/// asked for its status without a key.
fn keyless_paths(mut root: RootFile) {
    let scratch: PathBuf =
        std::env::temp_dir().join(format!("intervault-fuzz-root-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    let dir = scratch.join("vault");
    for sub in ["keys", "creds", "records", "audit"] {
        private_dir(&dir.join(sub));
    }
    if let Some(b) = root.backups.as_mut() {
        let bk = scratch.join("bk");
        private_dir(&bk);
        b.dirs = vec![bk];
    }
    let bytes = serde_json::to_vec(&root).expect("serializes");
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join("vault.json"))
        .and_then(|mut f| f.write_all(&bytes))
        .expect("write vault.json");
    let now: DateTime<Utc> = "2026-06-01T12:00:00Z".parse().expect("time");
    let clock = FixedClock(now);
    let vault = Vault::new(dir, &clock);
    let outcomes = [
        vault.status(&mut Keyless).map(drop),
        vault.sweep(&mut Keyless).map(drop),
        vault.status(&mut Keyless).map(drop),
    ];
    for outcome in outcomes {
        if let Err(e) = outcome {
            let shown = e.to_string();
            assert!(!matches!(e, Error::Internal(_)), "internal error: {shown}");
        }
    }
    let _ = fs::remove_dir_all(&scratch);
}

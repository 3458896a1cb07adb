//! The floor of the passphrase path: one process that derives the key of a
//! vault's KDF header (same argon2id crate, parameters and salt) and nothing else.
//! `scripts/bench.sh` times it beside `intervault get --passphrase-file`.
//!
//! Usage: kdf_floor VAULT_DIR < PASSPHRASE_FILE

use std::io::Read;
use std::process::ExitCode;

use base64::{engine::general_purpose::STANDARD, Engine};
use intervault::crypto::{KdfParams, SecretText};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kdf_floor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: kdf_floor VAULT_DIR")?;
    let root = std::fs::read(std::path::Path::new(&dir).join("vault.json"))
        .map_err(|e| format!("cannot read the vault root: {e}"))?;
    let root: serde_json::Value =
        serde_json::from_slice(&root).map_err(|e| format!("the vault root is not JSON: {e}"))?;
    let kdf = &root["kdf"];
    let params: KdfParams = serde_json::from_value(kdf.clone())
        .map_err(|e| format!("the KDF header is malformed: {e}"))?;
    let salt = kdf["salt"]
        .as_str()
        .and_then(|s| STANDARD.decode(s).ok())
        .ok_or("the KDF salt is malformed")?;
    let mut passphrase = String::new();
    std::io::stdin()
        .read_to_string(&mut passphrase)
        .map_err(|e| format!("cannot read the passphrase: {e}"))?;
    let passphrase = SecretText::new(passphrase.trim_end_matches('\n').to_owned());
    params.derive(&passphrase, &salt).map_err(|e| e.0)?;
    Ok(())
}

//! All cryptography of intervault, and the only code that touches key bytes.
//!
//! The key hierarchy, from the passphrase down:
//! - the passphrase and a per-vault salt give a key-encryption key through argon2id
//!   ([`kdf`]); it wraps the master key in an age file with our own stanza
//!   ([`passphrase`]), so `passwd` re-wraps one small file;
//! - the master key is an age X25519 identity ([`seal::SealKey`]); the vault index and
//!   every intervention key are age-encrypted to it;
//! - each intervention has its own X25519 identity; its credentials are encrypted to
//!   it, and destroying it is what makes a wipe final (crypto-shredding).
//!
//! age does not authenticate senders: anyone who knows a recipient can write a file
//! that decrypts. No recipient is ever written anywhere: each is derived from its
//! secret identity when needed, so only a holder of the identity can produce a file
//! the vault accepts. This module knows nothing of interventions or files.

pub mod kdf;
pub mod mac;
pub mod passphrase;
pub mod seal;
pub mod secret;

pub use kdf::KdfParams;
pub use mac::MacKey;
pub use passphrase::{PassphraseKey, WrapKey};
pub use seal::{OpenError, SealKey};
pub use secret::SecretText;

/// Fills a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut out = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut out);
    out
}

/// Lower-case hexadecimal of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-256 of some bytes, as `sha256:` and lower-case hexadecimal.
pub fn sha256_tagged(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

//! age recipients and identities made from a symmetric key: the passphrase's, and
//! the index key.
//!
//! age's own passphrase stanza uses scrypt; the vault wants argon2id, whose
//! parameters live in the vault header. So the master key file is an age file with
//! one stanza of our own, `intervault-argon2id`: a fresh random salt in its argument,
//! and the file key sealed with ChaCha20-Poly1305 under
//! `HKDF-SHA256(salt, "intervault/v1/passphrase-wrap", argon2id(passphrase))`.
//! The fresh salt makes each wrapping key single-use, which age's zero nonce needs.
//!
//! The index (its core, the records, the history) is sealed the same way, in a
//! stanza `intervault-index`, under a key derived from the master key: every
//! command opens the core and a record or a thousand, and an X25519 agreement
//! for each would cost 40 µs a file where this costs one HKDF.

use std::collections::HashSet;

use age::{DecryptError, EncryptError};
use age_core::format::{FileKey, Stanza, FILE_KEY_BYTES};
use age_core::primitives::{aead_decrypt, aead_encrypt, hkdf};
use age_core::secrecy::ExposeSecret;
use base64::{engine::general_purpose::STANDARD_NO_PAD, Engine};
use zeroize::{Zeroize, Zeroizing};

use super::random_bytes;

const PASSPHRASE_TAG: &str = "intervault-argon2id";
const PASSPHRASE_LABEL: &[u8] = b"intervault/v1/passphrase-wrap";
const INDEX_TAG: &str = "intervault-index";
const INDEX_LABEL: &[u8] = b"intervault/v2/index-wrap";
const SALT_BYTES: usize = 16;

/// A symmetric key that wraps age file keys in a stanza of its own.
pub struct WrapKey {
    kek: Zeroizing<[u8; 32]>,
    tag: &'static str,
    label: &'static [u8],
}

/// The passphrase's key, which wraps the master key file.
pub type PassphraseKey = WrapKey;

impl WrapKey {
    /// The passphrase's key, from a key-encryption key derived by
    /// [`super::KdfParams::derive`].
    pub fn new(kek: Zeroizing<[u8; 32]>) -> Self {
        WrapKey {
            kek,
            tag: PASSPHRASE_TAG,
            label: PASSPHRASE_LABEL,
        }
    }

    /// The index key: derived from the master key, for the index's files.
    pub fn index(master: &super::SealKey) -> Self {
        WrapKey {
            kek: super::mac::derive_key(master, "intervault/v2/index-key"),
            tag: INDEX_TAG,
            label: INDEX_LABEL,
        }
    }

    fn wrapping_key(&self, salt: &[u8]) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(hkdf(salt, self.label, self.kek.as_ref()))
    }
}

impl age::Recipient for WrapKey {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), EncryptError> {
        let salt: [u8; SALT_BYTES] = random_bytes();
        let body = aead_encrypt(&self.wrapping_key(&salt), file_key.expose_secret());
        let stanza = Stanza {
            tag: self.tag.to_owned(),
            args: vec![STANDARD_NO_PAD.encode(salt)],
            body,
        };
        // A label of our own: age refuses to mix this stanza with any other
        // recipient, so the file can only ever be opened by this key.
        Ok((vec![stanza], HashSet::from([self.tag.to_owned()])))
    }
}

impl age::Identity for WrapKey {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        if stanza.tag != self.tag {
            return None;
        }
        let salt = match stanza.args.as_slice() {
            [salt] => match STANDARD_NO_PAD.decode(salt) {
                Ok(salt) if salt.len() == SALT_BYTES => salt,
                _ => return Some(Err(DecryptError::InvalidHeader)),
            },
            _ => return Some(Err(DecryptError::InvalidHeader)),
        };
        if stanza.body.len() != FILE_KEY_BYTES + 16 {
            return Some(Err(DecryptError::InvalidHeader));
        }
        let key = self.wrapping_key(&salt);
        Some(
            aead_decrypt(&key, FILE_KEY_BYTES, &stanza.body)
                .map_err(|_| DecryptError::KeyDecryptionFailed)
                .map(|mut plain| {
                    let file_key = FileKey::init_with_mut(|k| k.copy_from_slice(&plain));
                    plain.zeroize();
                    file_key
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::seal::{open_with, seal_to, OpenError};

    #[test]
    fn round_trip_and_wrong_key() {
        let right = PassphraseKey::new(Zeroizing::new([7u8; 32]));
        let wrong = PassphraseKey::new(Zeroizing::new([8u8; 32]));
        let sealed = seal_to(&right, b"master").unwrap();
        assert_eq!(open_with(&right, &sealed).unwrap().as_slice(), b"master");
        assert!(matches!(
            open_with(&wrong, &sealed),
            Err(OpenError::WrongKey)
        ));
    }

    #[test]
    fn the_index_key_opens_only_its_own_files() {
        let master = crate::crypto::SealKey::generate();
        let index = WrapKey::index(&master);
        let sealed = seal_to(&index, b"core").unwrap();
        assert_eq!(open_with(&index, &sealed).unwrap().as_slice(), b"core");
        let other = WrapKey::index(&crate::crypto::SealKey::generate());
        assert!(matches!(
            open_with(&other, &sealed),
            Err(OpenError::WrongKey)
        ));
        // Same key bytes, other stanza: the passphrase's identity does not open it,
        // nor the master key itself.
        let kek = crate::crypto::mac::derive_key(&master, "intervault/v2/index-key");
        assert!(matches!(
            open_with(&WrapKey::new(kek), &sealed),
            Err(OpenError::WrongKey)
        ));
        assert!(matches!(master.open(&sealed), Err(OpenError::WrongKey)));
    }

    #[test]
    fn each_wrap_uses_a_fresh_salt() {
        let k = PassphraseKey::new(Zeroizing::new([7u8; 32]));
        assert_ne!(seal_to(&k, b"x").unwrap(), seal_to(&k, b"x").unwrap());
    }
}

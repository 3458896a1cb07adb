//! age encryption to keys we hold: the master key and the per-intervention keys.

use std::io::Read;
use std::iter;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use age::x25519;
use age::{DecryptError, Decryptor, Encryptor, Identity, Recipient};
use zeroize::Zeroizing;

use super::SecretText;

/// An age X25519 identity used as a symmetric-in-practice sealing key: files are
/// encrypted to its recipient, which is derived on the spot and never stored.
#[derive(Clone)]
pub struct SealKey(x25519::Identity);

/// Why a sealed file did not open.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The file was sealed to another key (or its key stanza was altered).
    WrongKey,
    /// The file is not a well-formed age file, or its payload fails authentication;
    /// the text completes "the file ...".
    Corrupt(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::WrongKey => f.write_str("is sealed to another key"),
            OpenError::Corrupt(what) => f.write_str(what),
        }
    }
}

impl SealKey {
    /// A new random key.
    pub fn generate() -> Self {
        SealKey(x25519::Identity::generate())
    }

    /// The key in age's text form (`AGE-SECRET-KEY-1...`).
    pub fn to_secret(&self) -> SecretText {
        SecretText::new(self.0.to_string().expose_secret().to_owned())
    }

    /// Parses the text form; `None` if it is not a valid age X25519 identity.
    pub fn from_secret(text: &SecretText) -> Option<Self> {
        x25519::Identity::from_str(text.expose()).ok().map(SealKey)
    }

    /// Encrypts `plaintext` to this key.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        seal_to(&self.0.to_public(), plaintext)
    }

    /// Decrypts a whole file sealed to this key.
    pub fn open(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        open_with(&self.0, ciphertext)
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(***)")
    }
}

/// Encrypts `plaintext` to one recipient, in age's binary format.
pub fn seal_to(recipient: &dyn Recipient, plaintext: &[u8]) -> Result<Vec<u8>, String> {
    let encryptor =
        Encryptor::with_recipients(iter::once(recipient)).map_err(|e| format!("age: {e}"))?;
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| format!("age: {e}"))?;
    std::io::Write::write_all(&mut writer, plaintext).map_err(|e| format!("age: {e}"))?;
    writer.finish().map_err(|e| format!("age: {e}"))?;
    Ok(out)
}

/// Decrypts a whole age file with one identity. Nothing is returned until every
/// chunk has been authenticated: age streams release plaintext chunk by chunk, and
/// a caller must never parse the first chunk of a file whose last one is forged.
pub fn open_with(
    identity: &dyn Identity,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let decryptor = Decryptor::new_buffered(ciphertext).map_err(classify)?;
    let mut reader = decryptor.decrypt(iter::once(identity)).map_err(classify)?;
    // The plaintext is shorter than the ciphertext, so this buffer never reallocates
    // (a reallocation would leave an unzeroized copy behind).
    let mut plain = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    reader
        .read_to_end(&mut plain)
        .map_err(|_| OpenError::Corrupt("fails authentication".to_owned()))?;
    Ok(plain)
}

/// age's own messages run over several lines; ours must fit in one.
fn classify(e: DecryptError) -> OpenError {
    let what = match e {
        DecryptError::NoMatchingKeys | DecryptError::KeyDecryptionFailed => {
            return OpenError::WrongKey
        }
        DecryptError::UnknownFormat => "is not an age file",
        DecryptError::InvalidHeader => "has a malformed age header",
        DecryptError::InvalidMac => "has an age header that fails authentication",
        DecryptError::DecryptionFailed => "fails authentication",
        DecryptError::Io(_) => "is truncated or unreadable",
        _ => "cannot be decrypted",
    };
    OpenError::Corrupt(what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let k = SealKey::generate();
        let sealed = k.seal(b"hello").unwrap();
        assert_eq!(k.open(&sealed).unwrap().as_slice(), b"hello");
    }

    #[test]
    fn other_key_is_refused() {
        let sealed = SealKey::generate().seal(b"hello").unwrap();
        assert!(matches!(
            SealKey::generate().open(&sealed),
            Err(OpenError::WrongKey)
        ));
    }

    #[test]
    fn text_form_round_trips_and_debug_hides_it() {
        let k = SealKey::generate();
        let back = SealKey::from_secret(&k.to_secret()).unwrap();
        let sealed = k.seal(b"x").unwrap();
        assert_eq!(back.open(&sealed).unwrap().as_slice(), b"x");
        assert_eq!(format!("{k:?}"), "SealKey(***)");
        assert!(SealKey::from_secret(&SecretText::new("nope".into())).is_none());
    }

    #[test]
    fn every_flipped_or_truncated_byte_is_refused() {
        let k = SealKey::generate();
        let sealed = k.seal(&[42u8; 100]).unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(k.open(&bad).is_err(), "flip at {i}");
        }
        for len in 0..sealed.len() {
            assert!(k.open(&sealed[..len]).is_err(), "truncated to {len}");
        }
    }
}

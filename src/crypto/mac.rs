//! Keyed digests (HMAC-SHA256): what authenticates the audit trail, and the keyed
//! pseudonyms that replace a client's name once the client asks to be erased.

use hmac::{Mac, SimpleHmac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{hex, random_bytes, SealKey};

type HmacSha256 = SimpleHmac<Sha256>;

/// A 256-bit HMAC key; zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MacKey([u8; 32]);

impl MacKey {
    /// A key derived from the master key for one `purpose` (HMAC as a KDF, keyed
    /// with the master identity's text form): a different purpose gives an
    /// unrelated key, and nothing short of the master key gives any of them.
    pub fn derive(master: &SealKey, purpose: &str) -> Self {
        MacKey(*derive_key(master, purpose))
    }

    /// A new random key.
    pub fn generate() -> Self {
        MacKey(random_bytes())
    }

    /// The key from its hexadecimal form; `None` if malformed.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(MacKey(key))
    }

    /// The key in hexadecimal, to be stored sealed.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// The tag of `message`, in lower-case hexadecimal.
    pub fn tag(&self, message: &[u8]) -> String {
        hex(&digest(&self.0, message))
    }

    /// Whether `tag` (hexadecimal) is the tag of `message`, compared in constant time.
    pub fn verify(&self, message: &[u8], tag: &str) -> bool {
        self.tag(message).as_bytes().ct_eq(tag.as_bytes()).into()
    }
}

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(***)")
    }
}

/// A 256-bit key derived from the master key for one `purpose` (HMAC-SHA256 as a
/// KDF, keyed with the master identity's text form).
pub(crate) fn derive_key(master: &SealKey, purpose: &str) -> zeroize::Zeroizing<[u8; 32]> {
    let secret = master.to_secret();
    zeroize::Zeroizing::new(digest(secret.expose().as_bytes(), purpose.as_bytes()))
}

fn digest(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_test_case_2() {
        let key = b"Jefe";
        let tag = hex(&digest(key, b"what do ya want for nothing?"));
        assert_eq!(
            tag,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn purposes_give_unrelated_keys_and_tags_verify_only_their_message() {
        let master = SealKey::generate();
        let a = MacKey::derive(&master, "a");
        let b = MacKey::derive(&master, "b");
        assert_ne!(a.to_hex(), b.to_hex());
        let tag = a.tag(b"record");
        assert!(a.verify(b"record", &tag));
        assert!(!a.verify(b"recorD", &tag));
        assert!(!b.verify(b"record", &tag));
        assert_eq!(
            MacKey::from_hex(&a.to_hex()).map(|k| k.to_hex()),
            Some(a.to_hex())
        );
        assert!(MacKey::from_hex("zz").is_none());
        assert_eq!(format!("{a:?}"), "MacKey(***)");
    }
}

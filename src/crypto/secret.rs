//! Secret text that zeroizes its memory on drop and never prints through `Debug`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// A secret string (a credential's secret, a passphrase, a key in text form).
///
/// Its buffer is zeroed when dropped; `Debug` shows `SecretText(***)`; there is no
/// `Display`, so printing it takes an explicit [`SecretText::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    /// Takes ownership of `s` without copying it.
    pub fn new(s: String) -> Self {
        SecretText(Zeroizing::new(s))
    }

    /// The secret itself; the caller must not copy it anywhere that outlives it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares two secrets in constant time (for a given length).
    pub fn ct_eq(&self, other: &SecretText) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl From<Zeroizing<String>> for SecretText {
    fn from(s: Zeroizing<String>) -> Self {
        SecretText(s)
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(***)")
    }
}

impl Zeroize for SecretText {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Serialize for SecretText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The String is moved in, not copied. serde_json copies strings that contain
        // escapes through a scratch buffer it does not zeroize: best effort, as
        // docs/design.md says.
        String::deserialize(d).map(SecretText::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretText::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "SecretText(***)");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }

    #[test]
    fn constant_time_compare() {
        let a = SecretText::new("abc".into());
        assert!(a.ct_eq(&SecretText::new("abc".into())));
        assert!(!a.ct_eq(&SecretText::new("abd".into())));
        assert!(!a.ct_eq(&SecretText::new("ab".into())));
    }

    #[test]
    fn serde_round_trip() {
        let s = SecretText::new("p\"w".into());
        let json = serde_json::to_string(&s).unwrap();
        let back: SecretText = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "p\"w");
    }
}

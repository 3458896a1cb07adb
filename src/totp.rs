//! TOTP (RFC 6238) codes for client accounts protected by two-factor login.
//! (To be written.)

use chrono::{DateTime, Utc};

use crate::crypto::SecretText;
use crate::error::{Error, Result};

/// A TOTP code and how long it stays valid.
#[derive(Debug)]
pub struct TotpCode {
    /// The code, as digits.
    pub code: SecretText,
    /// Seconds until the next code.
    pub seconds_left: u64,
}

/// Checks what the user gave (an `otpauth://totp/...` URI or a base32 seed) and
/// returns the form to store.
pub fn normalize(_input: &SecretText) -> Result<SecretText> {
    Err(Error::Internal("TOTP is not built yet".into()))
}

/// The code at `at` for a stored TOTP secret.
pub fn code_at(_stored: &SecretText, _at: DateTime<Utc>) -> Result<TotpCode> {
    Err(Error::Internal("TOTP is not built yet".into()))
}

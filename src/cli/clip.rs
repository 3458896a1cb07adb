//! `get --clip`: the clipboard, held by a detached helper process and cleared
//! after a while. (To be written.)

use chrono::{DateTime, Utc};
use intervault::crypto::SecretText;
use intervault::{Error, Result};

/// The longest the clipboard holds a secret.
pub const CLEAR_AFTER_SECONDS: u64 = 45;

/// Puts `value` on the clipboard and arranges for it to be cleared after
/// `seconds` or at `until`, whichever comes first, if it still holds `value`.
pub fn copy(_value: &SecretText, _seconds: u64, _until: DateTime<Utc>) -> Result<()> {
    Err(Error::Internal("clipboard support is not built yet".into()))
}

/// The hidden `__clip-holder` command.
pub fn hold(_seconds: u64) -> Result<()> {
    Err(Error::Internal("clipboard support is not built yet".into()))
}

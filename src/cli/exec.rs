//! `intervault exec`. (To be written.)

use std::ffi::OsString;

use intervault::vault::Vault;
use intervault::{Error, Result};

use super::ui::TerminalUi;

pub fn exec(
    _vault: &Vault,
    _ui: &mut TerminalUi,
    _id: &str,
    _only: &[String],
    _command: &[OsString],
) -> Result<()> {
    Err(Error::Internal("exec is not built yet".into()))
}

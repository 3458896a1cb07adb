//! `unlock`, `lock`, `status`. (To be written.)

use intervault::vault::Vault;
use intervault::{Error, Result};

use super::ui::TerminalUi;

pub fn unlock(_vault: &Vault, _ui: &mut TerminalUi, _for: Option<&str>) -> Result<()> {
    Err(Error::Internal("unlock is not built yet".into()))
}

pub fn lock(_vault: &Vault) -> Result<()> {
    Err(Error::Internal("lock is not built yet".into()))
}

pub fn status(_vault: &Vault, _ui: &mut TerminalUi, _json: bool) -> Result<()> {
    Err(Error::Internal("status is not built yet".into()))
}

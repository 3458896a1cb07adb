//! Shell completions and man pages, generated from the clap definition. (To be written.)

use std::path::Path;

use intervault::{Error, Result};

/// Shells we generate completions for.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum CompletionShell {
    /// bash
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
}

pub fn completions(_shell: CompletionShell) -> Result<()> {
    Err(Error::Internal("completions are not built yet".into()))
}

pub fn manpages(_dir: &Path) -> Result<()> {
    Err(Error::Internal("man pages are not built yet".into()))
}

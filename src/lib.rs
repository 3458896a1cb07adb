//! intervault: a vault for the credentials a client hands over for one piece of
//! work, an *intervention*. Credentials can be fetched only inside the
//! intervention's time window; closing it, or the window ending, wipes them.
//!
//! The key hierarchy in five lines:
//! - passphrase --argon2id--> key-encryption key (salt and costs in the vault header)
//! - key-encryption key wraps the master key (an age X25519 identity)
//! - the master key decrypts the index (clients, windows, tombstones) and...
//! - ...each intervention's own key (another X25519 identity), which decrypts
//! - ...that intervention's credentials. Wiping destroys that key: crypto-shredding.
//!
//! ```no_run
//! use intervault::{clock::SystemClock, vault::Vault};
//! # fn demo(ui: &mut dyn intervault::vault::Interaction) -> intervault::Result<()> {
//! let vault = Vault::new("/home/me/.local/share/intervault".into(), &SystemClock);
//! for item in vault.list(ui, false)? {
//!     let _ = (item.id, item.status);
//! }
//! # Ok(()) }
//! ```
//!
//! The library never prints, prompts or exits: passphrases, secrets and notices go
//! through the [`vault::Interaction`] trait that the binary implements.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The library never prints: output is the binary's job.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod audit;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod hygiene;
pub mod intervention;
pub mod lang;
pub mod lifecycle;
pub mod os_keyring;
pub mod session_store;
pub mod store;
pub mod timefmt;
pub mod totp;
pub mod vault;
pub mod wipe;

pub use error::{Error, Result};
#[cfg(test)]
mod wording_tests;

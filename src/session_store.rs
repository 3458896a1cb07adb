//! Where an unlocked session lives: this login session's keyring.
//!
//! `intervault unlock` derives the master key once and keeps it in the OS keyring
//! until the session ends. The end is enforced by intervault itself, from the
//! expiry sealed in the session record, and by the kernel where it can: on Linux
//! the key lives only in the session keyring of the login that unlocked,
//! readable only by processes that possess that keyring, with a kernel timeout
//! set before the master key is written, and it is never linked into the user's
//! persistent keyring (which every login of the user reaches). See
//! [`crate::os_keyring`] for where the other keyring records go.

pub use crate::os_keyring::{LoginSessionKeyring, SecretStore as SessionStore, SERVICE};

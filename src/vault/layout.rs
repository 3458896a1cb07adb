//! The names of a vault's objects in its store: one place, for the opening,
//! the commit, the key store, backups and restores.

use super::format::Ref;

/// The clear root: format, KDF header, wrapped master key, sealed index core,
/// and the clear tables that keyless commands act on.
pub const ROOT: &str = "vault.json";
/// The lock every command takes (shared to read, exclusive to change).
pub const LOCK: &str = "vault.lock";
/// The marker of a change in progress (see [`super::opening::Handle`]).
pub const CHANGING: &str = "changing";
/// Intervention keys sealed to the master key (when they are not in the OS keyring).
pub const KEYS: &str = "keys";
/// Credential sets, one object per generation.
pub const CREDS: &str = "creds";
/// Intervention records, one object per generation.
pub const RECORDS: &str = "records";
/// The audit trail.
pub const AUDIT: &str = "audit";

/// Generation `generation` of the credentials of intervention `reference`.
pub fn creds(reference: &Ref, generation: u64) -> String {
    format!("{CREDS}/{reference}.{generation}.age")
}

/// Generation `generation` of the record of intervention `reference`.
pub fn record(reference: &Ref, generation: u64) -> String {
    format!("{RECORDS}/{reference}.{generation}.age")
}

/// Generation `generation` of the history (tombstones and client keys).
pub fn history(generation: u64) -> String {
    format!("history.{generation}.age")
}

/// The key of intervention `reference`, sealed to the master key.
pub fn key(reference: &Ref) -> String {
    format!("{KEYS}/{reference}.age")
}

/// The generation a history object's name gives, if it is one.
pub fn history_generation(name: &str) -> Option<u64> {
    name.strip_prefix("history.")
        .and_then(|n| n.strip_suffix(".age"))
        .and_then(|n| n.parse::<u64>().ok())
}

//! One integration test binary that drives the real `intervault` executable, as a
//! user meets it: arguments, stdin, environment, exit codes and exact stderr lines.
// Test code may panic on a broken expectation: that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod lifecycle;

mod helpers;

mod at_rest;
mod audit;
mod backups;
mod client_lang;
mod client_rights;
mod clip;
mod cluster;
mod concurrency;
mod config;
mod confirm;
mod contract;
mod daily;
mod docs;
mod enospc;
mod etcd;
mod etcd_crash;
mod etcd_rollback;
mod exec;
mod expiry;
mod forgiving;
mod hostile;
mod hygiene;
mod keyring_scope;
mod leaks;
mod manual;
mod migrate;
mod pipes;
mod sessions;
mod tamper;
mod totp;
mod upgrade;

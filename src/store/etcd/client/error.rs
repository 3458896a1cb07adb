//! Why a call failed, and what etcd's own error answers mean: which gRPC
//! codes are worth asking another member, which messages prove a write was
//! not applied, and which say a revision is compacted.

use std::path::PathBuf;

/// Why a call failed. Messages are one line and never contain a key's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EtcdError {
    /// The configuration cannot work (no endpoints, an endpoint that is not `host:port`).
    #[error("etcd configuration: {what}")]
    Config {
        /// What is wrong and how to fix it.
        what: String,
    },
    /// A TLS file is missing or is not what it should be.
    #[error("etcd TLS file {}: {what}", path.display())]
    TlsFiles {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// No endpoint answered within the time limit; nothing was changed.
    #[error("no etcd endpoint answered (tried {}): {why}", tried.join(", "))]
    Unreachable {
        /// Every endpoint tried, in order.
        tried: Vec<String>,
        /// What happened on each.
        why: String,
    },
    /// A request that changes data reached `endpoint` but no answer came: it
    /// may or may not have been applied. Read before deciding what to do.
    #[error(
        "no answer from etcd at {endpoint} after the request was sent (tried {}): {why}; \
         it may or may not have been applied",
        tried.join(", ")
    )]
    Indeterminate {
        /// The endpoint that took the request.
        endpoint: String,
        /// Every endpoint tried, in order.
        tried: Vec<String>,
        /// What happened.
        why: String,
    },
    /// The TLS handshake failed: our certificate was refused, the server's is
    /// not signed by our CA, or the two sides do not both speak TLS.
    #[error("TLS with etcd at {endpoint} failed: {what}")]
    Tls {
        /// The endpoint whose handshake failed (the first one, if several did).
        endpoint: String,
        /// What went wrong, and what to check.
        what: String,
    },
    /// The server answered and said no (permission denied, lease not found...).
    #[error("etcd refused the request: {message} (gRPC code {code})")]
    Refused {
        /// The gRPC status code.
        code: i64,
        /// The server's message.
        message: String,
    },
    /// The revision asked for has been compacted away.
    #[error("etcd revision {revision} has been compacted")]
    Compacted {
        /// The revision asked for.
        revision: i64,
    },
    /// An endpoint belongs to another cluster than the one this client first
    /// talked to: the endpoint list mixes clusters.
    #[error(
        "etcd at {endpoint} belongs to cluster {found:x}, not {expected:x}: check the endpoint list"
    )]
    ClusterMismatch {
        /// The endpoint that answered for the other cluster.
        endpoint: String,
        /// The cluster this client first talked to.
        expected: u64,
        /// The cluster that endpoint belongs to.
        found: u64,
    },
    /// An answer did not parse as what etcd sends.
    #[error("etcd answered something unexpected: {what}")]
    Malformed {
        /// What did not parse.
        what: String,
    },
}

/// gRPC codes that mean "this member cannot serve now", worth asking another.
pub(super) fn member_unavailable(code: i64) -> bool {
    // 14 Unavailable (no leader, timed out, stopped), 8 ResourceExhausted
    // (too many requests).
    code == 14 || code == 8
}

/// etcd errors that are given before a request is proposed to raft, so a
/// write that got them did not happen.
pub(super) fn rejected_before_proposal(message: &str) -> bool {
    [
        "no leader",
        "server stopped",
        "too many requests",
        "not capable",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// Whether a member refused a read at a revision it has not applied yet.
pub(super) fn is_future_revision(e: &EtcdError) -> bool {
    matches!(e, EtcdError::Refused { code: 11, message } if message.contains("future revision"))
}

/// Turns "required revision has been compacted" into [`EtcdError::Compacted`].
pub(super) fn compacted(e: EtcdError, revision: Option<i64>) -> EtcdError {
    match (e, revision) {
        (EtcdError::Refused { code: 11, message }, Some(revision))
            if message.contains("has been compacted") =>
        {
            EtcdError::Compacted { revision }
        }
        (e, _) => e,
    }
}

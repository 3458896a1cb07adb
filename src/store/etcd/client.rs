//! A small blocking etcd v3 client that speaks etcd's JSON gRPC gateway over
//! HTTP/1.1.
//!
//! Why the gateway and not gRPC: gRPC in Rust means protoc (or vendored
//! generated code) and an async runtime, for a tool that makes a handful of
//! calls per command. The gateway (`POST /v3/kv/range` and friends) carries the
//! same messages as JSON, so a blocking HTTP client and serde are enough.
//!
//! The gateway's JSON has three habits every parser here must survive: bytes
//! fields (keys, values, range ends) are base64, 64-bit integers are strings,
//! and a field at its default value is left out (no `kvs` when nothing
//! matched, no `succeeded` when a transaction failed, no `count` when it is 0).
//! An answer that does not parse is a [`EtcdError::Malformed`], never a panic.
//!
//! ```no_run
//! use intervault::store::etcd::client::{Client, Compare, EtcdConfig, Txn, TxnOp};
//! # fn demo() -> Result<(), intervault::store::etcd::client::EtcdError> {
//! let client = Client::connect(&EtcdConfig::new(vec!["127.0.0.1:2379".into()]))?;
//! // Create the key only if nobody else has.
//! let outcome = client.txn(
//!     Txn::new()
//!         .when([Compare::absent(b"vault/root")])
//!         .and_then([TxnOp::put(b"vault/root", b"sealed bytes")]),
//! )?;
//! let _ = (outcome.succeeded, outcome.header.cluster_id);
//! # Ok(()) }
//! ```
//!
//! Failover and time: every call tries the endpoint that answered last, then
//! the others in order, and the whole call (all attempts together) is bounded
//! by [`EtcdConfig::timeout`]. A request that may have reached a server and
//! changed something is never sent again to another member: its outcome is
//! unknown and the caller hears so ([`EtcdError::Indeterminate`]).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

/// How long one whole call may take, all endpoints together, unless the
/// configuration says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer read from a server. A vault is small; this only stops a
/// confused or hostile server from filling memory.
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// The shortest connect slice: below this, a connect to a live server on a
/// busy machine can fail for no good reason.
const MIN_CONNECT_SLICE: Duration = Duration::from_millis(200);

/// Where the cluster is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdConfig {
    /// Client endpoints as `host:port` (no scheme: TLS or not is [`Self::tls`]).
    pub endpoints: Vec<String>,
    /// Mutual TLS; `None` speaks plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Bound on one whole call, all attempts on all endpoints together.
    pub timeout: Duration,
}

impl EtcdConfig {
    /// Plain HTTP to these endpoints, with [`DEFAULT_TIMEOUT`].
    pub fn new(endpoints: Vec<String>) -> Self {
        EtcdConfig {
            endpoints,
            tls: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// PEM files for mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA (one or more certificates) that signed the servers' certificates.
    pub ca: PathBuf,
    /// Our client certificate (chain), presented to the servers.
    pub cert: PathBuf,
    /// The private key of [`Self::cert`].
    pub key: PathBuf,
}

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

/// The header of every KV, lease and status answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The cluster's ID: the same on every member, and for the cluster's life.
    pub cluster_id: u64,
    /// The member that answered.
    pub member_id: u64,
    /// The store's revision when the answer was made.
    pub revision: i64,
    /// The raft term when the answer was made.
    pub raft_term: u64,
}

/// One key and its value, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: Vec<u8>,
    /// The value (empty when the range asked for keys only).
    pub value: Vec<u8>,
    /// The revision that created the key (since its last deletion).
    pub create_revision: i64,
    /// The revision of the last change to the key.
    pub mod_revision: i64,
    /// How many times the key was written since it was created.
    pub version: i64,
    /// The lease the key is attached to, 0 for none.
    pub lease: i64,
}

// Values may be sealed secrets: Debug shows their length, never their bytes.
impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValue")
            .field("key", &String::from_utf8_lossy(&self.key))
            .field("value", &format_args!("<{} bytes>", self.value.len()))
            .field("create_revision", &self.create_revision)
            .field("mod_revision", &self.mod_revision)
            .field("version", &self.version)
            .field("lease", &self.lease)
            .finish()
    }
}

/// The answer to [`Client::get`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The key, if it exists (at the revision asked for).
    pub kv: Option<KeyValue>,
    /// The answer's header.
    pub header: Header,
}

/// The answer to a range read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The keys found, in key order.
    pub kvs: Vec<KeyValue>,
    /// How many keys the range holds.
    pub count: i64,
    /// The answer's header; `header.revision` is the revision read.
    pub header: Header,
}

/// How a [`Compare`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `>`
    Greater,
    /// `<`
    Less,
}

impl CmpOp {
    fn wire(self) -> &'static str {
        match self {
            CmpOp::Equal => "EQUAL",
            CmpOp::NotEqual => "NOT_EQUAL",
            CmpOp::Greater => "GREATER",
            CmpOp::Less => "LESS",
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
enum Target {
    Version(i64),
    Create(i64),
    Mod(i64),
    Value(Vec<u8>),
    Lease(i64),
}

/// One condition of a transaction.
#[derive(Clone, PartialEq, Eq)]
pub struct Compare {
    key: Vec<u8>,
    op: CmpOp,
    target: Target,
}

// A value compared against may be a sealed secret: never shown.
impl fmt::Debug for Compare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target: &dyn fmt::Debug = match &self.target {
            Target::Version(v) => v,
            Target::Create(v) => v,
            Target::Mod(v) => v,
            Target::Value(_) => &"<value>",
            Target::Lease(v) => v,
        };
        f.debug_struct("Compare")
            .field("key", &String::from_utf8_lossy(&self.key))
            .field("op", &self.op)
            .field("target", target)
            .finish()
    }
}

impl Compare {
    /// The key's last modification revision compared with `revision`.
    pub fn mod_revision(key: impl AsRef<[u8]>, op: CmpOp, revision: i64) -> Self {
        Self::new(key, op, Target::Mod(revision))
    }
    /// The key's creation revision compared with `revision` (0 when absent).
    pub fn create_revision(key: impl AsRef<[u8]>, op: CmpOp, revision: i64) -> Self {
        Self::new(key, op, Target::Create(revision))
    }
    /// The key's version compared with `version` (0 when absent).
    pub fn version(key: impl AsRef<[u8]>, op: CmpOp, version: i64) -> Self {
        Self::new(key, op, Target::Version(version))
    }
    /// The key's value compared with `value` (bytewise).
    pub fn value(key: impl AsRef<[u8]>, op: CmpOp, value: impl AsRef<[u8]>) -> Self {
        Self::new(key, op, Target::Value(value.as_ref().to_vec()))
    }
    /// The key's lease compared with `lease` (0 for none).
    pub fn lease(key: impl AsRef<[u8]>, op: CmpOp, lease: i64) -> Self {
        Self::new(key, op, Target::Lease(lease))
    }
    /// The key does not exist: its creation revision is 0.
    pub fn absent(key: impl AsRef<[u8]>) -> Self {
        Self::create_revision(key, CmpOp::Equal, 0)
    }

    fn new(key: impl AsRef<[u8]>, op: CmpOp, target: Target) -> Self {
        Compare {
            key: key.as_ref().to_vec(),
            op,
            target,
        }
    }

    fn wire(&self) -> Value {
        let mut c = json!({ "key": b64(&self.key), "result": self.op.wire() });
        let (target, field, value) = match &self.target {
            Target::Version(v) => ("VERSION", "version", json!(v.to_string())),
            Target::Create(v) => ("CREATE", "create_revision", json!(v.to_string())),
            Target::Mod(v) => ("MOD", "mod_revision", json!(v.to_string())),
            Target::Value(v) => ("VALUE", "value", json!(b64(v))),
            Target::Lease(v) => ("LEASE", "lease", json!(v.to_string())),
        };
        c["target"] = json!(target);
        c[field] = value;
        c
    }
}

/// One operation of a transaction branch.
#[derive(Clone, PartialEq, Eq)]
pub enum TxnOp {
    /// Write `value` at `key`, attached to `lease` if given.
    Put {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
        /// The lease to attach the key to.
        lease: Option<i64>,
    },
    /// Delete one key.
    Delete {
        /// The key.
        key: Vec<u8>,
    },
    /// Delete every key under a prefix.
    DeletePrefix {
        /// The prefix.
        prefix: Vec<u8>,
    },
    /// Delete every key in `[start, end)`.
    DeleteRange {
        /// The first key of the range.
        start: Vec<u8>,
        /// The key just after the range.
        end: Vec<u8>,
    },
    /// Read one key.
    Get {
        /// The key.
        key: Vec<u8>,
    },
    /// Read every key under a prefix.
    GetPrefix {
        /// The prefix.
        prefix: Vec<u8>,
    },
}

impl fmt::Debug for TxnOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, key) = match self {
            TxnOp::Put { key, .. } => ("Put", key),
            TxnOp::Delete { key } => ("Delete", key),
            TxnOp::DeletePrefix { prefix } => ("DeletePrefix", prefix),
            TxnOp::DeleteRange { start, .. } => ("DeleteRange", start),
            TxnOp::Get { key } => ("Get", key),
            TxnOp::GetPrefix { prefix } => ("GetPrefix", prefix),
        };
        write!(f, "{op}({:?})", String::from_utf8_lossy(key))
    }
}

impl TxnOp {
    /// A put without a lease.
    pub fn put(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        TxnOp::Put {
            key: key.as_ref().to_vec(),
            value: value.as_ref().to_vec(),
            lease: None,
        }
    }
    /// A delete of one key.
    pub fn delete(key: impl AsRef<[u8]>) -> Self {
        TxnOp::Delete {
            key: key.as_ref().to_vec(),
        }
    }
    /// A read of one key.
    pub fn get(key: impl AsRef<[u8]>) -> Self {
        TxnOp::Get {
            key: key.as_ref().to_vec(),
        }
    }

    fn wire(&self) -> Value {
        match self {
            TxnOp::Put { key, value, lease } => {
                let mut put = json!({ "key": b64(key), "value": b64(value) });
                if let Some(lease) = lease {
                    put["lease"] = json!(lease.to_string());
                }
                json!({ "request_put": put })
            }
            TxnOp::Delete { key } => json!({ "request_delete_range": { "key": b64(key) } }),
            TxnOp::DeletePrefix { prefix } => {
                let (key, end) = prefix_range(prefix);
                json!({ "request_delete_range": { "key": b64(&key), "range_end": b64(&end) } })
            }
            TxnOp::DeleteRange { start, end } => {
                json!({ "request_delete_range": { "key": b64(start), "range_end": b64(end) } })
            }
            TxnOp::Get { key } => json!({ "request_range": { "key": b64(key) } }),
            TxnOp::GetPrefix { prefix } => {
                let (key, end) = prefix_range(prefix);
                json!({ "request_range": { "key": b64(&key), "range_end": b64(&end) } })
            }
        }
    }
}

/// A transaction: if every comparison holds, the success branch runs, else
/// the failure branch; atomically either way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Txn {
    /// The conditions (all must hold).
    pub compare: Vec<Compare>,
    /// What runs when they hold.
    pub success: Vec<TxnOp>,
    /// What runs when one does not.
    pub failure: Vec<TxnOp>,
}

impl Txn {
    /// An empty transaction (it succeeds and does nothing).
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds conditions.
    pub fn when(mut self, compare: impl IntoIterator<Item = Compare>) -> Self {
        self.compare.extend(compare);
        self
    }
    /// Adds operations to the success branch.
    pub fn and_then(mut self, ops: impl IntoIterator<Item = TxnOp>) -> Self {
        self.success.extend(ops);
        self
    }
    /// Adds operations to the failure branch.
    pub fn or_else(mut self, ops: impl IntoIterator<Item = TxnOp>) -> Self {
        self.failure.extend(ops);
        self
    }

    fn wire(&self) -> Value {
        json!({
            "compare": self.compare.iter().map(Compare::wire).collect::<Vec<_>>(),
            "success": self.success.iter().map(TxnOp::wire).collect::<Vec<_>>(),
            "failure": self.failure.iter().map(TxnOp::wire).collect::<Vec<_>>(),
        })
    }
}

/// The result of one operation of the branch that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResponse {
    /// A put was done.
    Put,
    /// A delete removed this many keys.
    Deleted(i64),
    /// A read found these keys.
    Range(Vec<KeyValue>),
}

/// What a transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOutcome {
    /// Whether the comparisons held (the success branch ran).
    pub succeeded: bool,
    /// The answer's header; `header.revision` is the revision after the transaction.
    pub header: Header,
    /// One result per operation of the branch that ran, in order.
    pub responses: Vec<OpResponse>,
}

/// A lease just granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The lease's ID.
    pub id: i64,
    /// Its time to live, in seconds, as the server granted it.
    pub ttl: i64,
    /// The answer's header.
    pub header: Header,
}

/// What a lease has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTtl {
    /// Seconds left; `None` when the lease has expired or never existed.
    pub remaining: Option<i64>,
    /// The time to live it was granted with (0 when unknown).
    pub granted: i64,
    /// The answer's header.
    pub header: Header,
}

/// One member's view of itself and the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The endpoint that answered.
    pub endpoint: String,
    /// The cluster's ID.
    pub cluster_id: u64,
    /// The member's ID.
    pub member_id: u64,
    /// The store's revision.
    pub revision: i64,
    /// The ID of the leader this member knows of (0 for none).
    pub leader: u64,
    /// The size of the member's database file, in bytes.
    pub db_size: i64,
    /// The part of that file in use (the rest is freed by defragmenting).
    pub db_size_in_use: i64,
    /// The member's etcd version.
    pub version: String,
    /// The answer's header.
    pub header: Header,
}

/// Whether a request may be sent again to another member after it may have
/// reached one: only when sending it twice has the same effect as once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    Safe,
    Never,
}

/// A blocking etcd client. Cheap to share by reference across threads:
/// connections are pooled and kept alive.
pub struct Client {
    endpoints: Vec<String>,
    urls: Vec<String>,
    /// Connects bounded by `connect_slice`, so a dead host that swallows SYNs
    /// leaves time for the other members.
    agent: ureq::Agent,
    /// Used when less than `connect_slice` is left: its connects are bounded
    /// by the request's own deadline, so the call never overruns its timeout.
    last_chance: ureq::Agent,
    /// Asks a server that hung up what it speaks; see
    /// [`Client::diagnose_hang_up`].
    diagnostic: ureq::Agent,
    connect_slice: Duration,
    timeout: Duration,
    /// Index of the endpoint that answered last: the first one tried.
    preferred: AtomicUsize,
    /// The cluster ID first seen, 0 until then.
    cluster_id: AtomicU64,
    /// The highest revision any answer carried, 0 until then.
    revision: AtomicI64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.endpoints)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client: checks the endpoints and reads the TLS files. Nothing
    /// is sent yet.
    pub fn connect(config: &EtcdConfig) -> Result<Client, EtcdError> {
        if config.endpoints.is_empty() {
            return Err(EtcdError::Config {
                what: "no endpoint: give at least one host:port".into(),
            });
        }
        for endpoint in &config.endpoints {
            check_endpoint(endpoint)?;
        }
        if config.timeout.is_zero() {
            return Err(EtcdError::Config {
                what: "the timeout is zero".into(),
            });
        }
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let connect_slice = (config.timeout / config.endpoints.len().max(1) as u32)
            .max(MIN_CONNECT_SLICE)
            .min(config.timeout);
        let tls = config.tls.as_ref().map(tls_configs).transpose()?;
        let builder = |tls: Option<&Arc<rustls::ClientConfig>>| {
            let builder = ureq::AgentBuilder::new()
                .redirects(0)
                .max_idle_connections_per_host(4)
                .user_agent(concat!("intervault/", env!("CARGO_PKG_VERSION")));
            match tls {
                Some(tls) => builder.tls_config(tls.clone()),
                None => builder,
            }
        };
        let (normal, tls12) = match &tls {
            Some((normal, tls12)) => (Some(normal), Some(tls12)),
            None => (None, None),
        };
        Ok(Client {
            endpoints: config.endpoints.clone(),
            urls: config
                .endpoints
                .iter()
                .map(|e| format!("{scheme}://{e}"))
                .collect(),
            agent: builder(normal).timeout_connect(connect_slice).build(),
            last_chance: builder(normal).build(),
            diagnostic: builder(tls12).build(),
            connect_slice,
            timeout: config.timeout,
            preferred: AtomicUsize::new(0),
            cluster_id: AtomicU64::new(0),
            revision: AtomicI64::new(0),
        })
    }

    /// The endpoints, as configured.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The cluster ID this client has seen, once any answer came.
    pub fn cluster_id(&self) -> Option<u64> {
        match self.cluster_id.load(Ordering::Relaxed) {
            0 => None,
            id => Some(id),
        }
    }

    /// The highest store revision this client has heard of, once any answer
    /// came: the cluster's history only grows, so a lower one later means the
    /// cluster was put back (a snapshot restored).
    pub fn revision_seen(&self) -> Option<i64> {
        match self.revision.load(Ordering::Relaxed) {
            0 => None,
            revision => Some(revision),
        }
    }

    /// Reads one key at the latest revision.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Found, EtcdError> {
        self.get_inner(key.as_ref(), None)
    }

    /// Reads one key as it was at `revision`.
    pub fn get_at(&self, key: impl AsRef<[u8]>, revision: i64) -> Result<Found, EtcdError> {
        self.get_inner(key.as_ref(), Some(revision))
    }

    fn get_inner(&self, key: &[u8], revision: Option<i64>) -> Result<Found, EtcdError> {
        let mut body = json!({ "key": b64(key) });
        if let Some(revision) = revision {
            body["revision"] = json!(revision.to_string());
        }
        let range = self.range(body, revision)?;
        Ok(Found {
            kv: range.kvs.into_iter().find(|kv| kv.key == key),
            header: range.header,
        })
    }

    /// Reads every key under `prefix` (all keys when it is empty), at the
    /// latest revision or at `revision`.
    pub fn range_prefix(
        &self,
        prefix: impl AsRef<[u8]>,
        keys_only: bool,
        revision: Option<i64>,
    ) -> Result<Range, EtcdError> {
        let (key, end) = prefix_range(prefix.as_ref());
        let mut body = json!({ "key": b64(&key), "range_end": b64(&end) });
        if keys_only {
            body["keys_only"] = json!(true);
        }
        if let Some(revision) = revision {
            body["revision"] = json!(revision.to_string());
        }
        self.range(body, revision)
    }

    fn range(&self, body: Value, revision: Option<i64>) -> Result<Range, EtcdError> {
        let (endpoint, answer) = self
            .call("/v3/kv/range", &body, Retry::Safe)
            .map_err(|e| compacted(e, revision))?;
        let range = parse_range(&answer)?;
        self.pin(&endpoint, &range.header)?;
        Ok(range)
    }

    /// Writes `value` at `key`, attached to `lease` if given.
    pub fn put(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        lease: Option<i64>,
    ) -> Result<Header, EtcdError> {
        let mut body = json!({ "key": b64(key.as_ref()), "value": b64(value.as_ref()) });
        if let Some(lease) = lease {
            body["lease"] = json!(lease.to_string());
        }
        let (endpoint, answer) = self.call("/v3/kv/put", &body, Retry::Never)?;
        let header = parse_header_only(&answer)?;
        self.pin(&endpoint, &header)?;
        Ok(header)
    }

    /// Deletes one key; says whether it existed.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<(bool, Header), EtcdError> {
        let body = json!({ "key": b64(key.as_ref()) });
        let (deleted, header) = self.delete_range(body)?;
        Ok((deleted > 0, header))
    }

    /// Deletes every key under `prefix` (every key when it is empty); says how
    /// many there were.
    pub fn delete_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<(i64, Header), EtcdError> {
        let (key, end) = prefix_range(prefix.as_ref());
        self.delete_range(json!({ "key": b64(&key), "range_end": b64(&end) }))
    }

    fn delete_range(&self, body: Value) -> Result<(i64, Header), EtcdError> {
        let (endpoint, answer) = self.call("/v3/kv/deleterange", &body, Retry::Never)?;
        let (deleted, header) = parse_delete(&answer)?;
        self.pin(&endpoint, &header)?;
        Ok((deleted, header))
    }

    /// Runs a transaction.
    pub fn txn(&self, txn: Txn) -> Result<TxnOutcome, EtcdError> {
        let (endpoint, answer) = self.call("/v3/kv/txn", &txn.wire(), Retry::Never)?;
        let outcome = parse_txn(&answer, &txn)?;
        self.pin(&endpoint, &outcome.header)?;
        Ok(outcome)
    }

    /// Grants a lease of `ttl_secs` seconds.
    pub fn lease_grant(&self, ttl_secs: i64) -> Result<Lease, EtcdError> {
        let body = json!({ "TTL": ttl_secs.to_string() });
        let (endpoint, answer) = self.call("/v3/lease/grant", &body, Retry::Never)?;
        let lease = parse_lease_grant(&answer)?;
        self.pin(&endpoint, &lease.header)?;
        Ok(lease)
    }

    /// Renews a lease for its whole time to live; `None` when it is gone
    /// (expired or revoked). The gateway streams keep-alives: one request
    /// sent, one answer read.
    pub fn lease_keep_alive(&self, id: i64) -> Result<Option<i64>, EtcdError> {
        let body = json!({ "ID": id.to_string() });
        // Safe to resend: a renewal twice is a renewal.
        let (_, answer) = self.call("/v3/lease/keepalive", &body, Retry::Safe)?;
        parse_keep_alive(&answer)
    }

    /// Revokes a lease, deleting its keys. `None` when the lease was already
    /// gone (expired or revoked): that is not an error, the keys are gone too.
    pub fn lease_revoke(&self, id: i64) -> Result<Option<Header>, EtcdError> {
        let body = json!({ "ID": id.to_string() });
        // Safe to resend: a second revoke finds no lease, which is `None`.
        match self.call("/v3/lease/revoke", &body, Retry::Safe) {
            Ok((endpoint, answer)) => {
                let header = parse_header_only(&answer)?;
                self.pin(&endpoint, &header)?;
                Ok(Some(header))
            }
            Err(EtcdError::Refused { code: 5, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// How long a lease has left.
    pub fn lease_ttl(&self, id: i64) -> Result<LeaseTtl, EtcdError> {
        let body = json!({ "ID": id.to_string() });
        let (endpoint, answer) = self.call("/v3/lease/timetolive", &body, Retry::Safe)?;
        let ttl = parse_lease_ttl(&answer)?;
        self.pin(&endpoint, &ttl.header)?;
        Ok(ttl)
    }

    /// Compacts history up to `revision`; `physical` waits until the space is
    /// really freed. `None` when history was already compacted at or past
    /// `revision`: not an error, the goal is met.
    pub fn compact(&self, revision: i64, physical: bool) -> Result<Option<Header>, EtcdError> {
        let body = json!({ "revision": revision.to_string(), "physical": physical });
        // Safe to resend: a second compaction at the same revision is `None`.
        match self.call("/v3/kv/compaction", &body, Retry::Safe) {
            Ok((endpoint, answer)) => {
                let header = parse_header_only(&answer)?;
                self.pin(&endpoint, &header)?;
                Ok(Some(header))
            }
            Err(e) => match compacted(e, Some(revision)) {
                EtcdError::Compacted { .. } => Ok(None),
                e => Err(e),
            },
        }
    }

    /// The status of whichever member answers first.
    pub fn status(&self) -> Result<Status, EtcdError> {
        let (endpoint, answer) = self.call("/v3/maintenance/status", &json!({}), Retry::Safe)?;
        let status = parse_status(&answer, &endpoint)?;
        self.pin(&endpoint, &status.header)?;
        Ok(status)
    }

    /// The status of every member, each asked directly.
    pub fn status_each(&self) -> Vec<(String, Result<Status, EtcdError>)> {
        self.each(|i| {
            let answer = self.call_one(i, "/v3/maintenance/status", &json!({}))?;
            let status = parse_status(&answer, &self.endpoints[i])?;
            self.pin(&self.endpoints[i], &status.header)?;
            Ok(status)
        })
    }

    /// Defragments every member, one after the other (defragmenting is per
    /// member and blocks that member while it runs). Each gets the full
    /// timeout. etcd 3.4 answers a defragment with `{}`: no header.
    pub fn defragment_each(&self) -> Vec<(String, Result<(), EtcdError>)> {
        self.each(|i| {
            let answer = self.call_one(i, "/v3/maintenance/defragment", &json!({}))?;
            parse_object(&answer).map(|_| ())
        })
    }

    fn each<T>(
        &self,
        f: impl Fn(usize) -> Result<T, EtcdError>,
    ) -> Vec<(String, Result<T, EtcdError>)> {
        (0..self.endpoints.len())
            .map(|i| (self.endpoints[i].clone(), f(i)))
            .collect()
    }

    /// Ties this client to the first cluster it hears from: an endpoint list
    /// that mixes two clusters would otherwise read one and write the other.
    /// Keeps the highest revision heard of from it.
    fn pin(&self, endpoint: &str, header: &Header) -> Result<(), EtcdError> {
        match self.cluster_id.compare_exchange(
            0,
            header.cluster_id,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => {}
            Err(expected) if expected == header.cluster_id => {}
            Err(expected) => {
                return Err(EtcdError::ClusterMismatch {
                    endpoint: endpoint.to_string(),
                    expected,
                    found: header.cluster_id,
                })
            }
        }
        self.revision.fetch_max(header.revision, Ordering::Relaxed);
        Ok(())
    }

    /// One request to one endpoint, with the whole timeout.
    fn call_one(&self, i: usize, path: &str, body: &Value) -> Result<Vec<u8>, EtcdError> {
        let body = body.to_string().into_bytes();
        let body = body.as_slice();
        let endpoint = &self.endpoints[i];
        let tried = || vec![endpoint.clone()];
        match self.attempt(i, path, body, self.timeout, self.timeout) {
            Attempt::Answered(answer) => Ok(answer),
            Attempt::ServerError { code, message, .. } => Err(EtcdError::Refused { code, message }),
            Attempt::NotSent(why) | Attempt::MaybeSent(why) => Err(EtcdError::Unreachable {
                tried: tried(),
                why,
            }),
            Attempt::Tls(what) => Err(EtcdError::Tls {
                endpoint: endpoint.clone(),
                what,
            }),
            Attempt::NotEtcd(what) => Err(EtcdError::Malformed {
                what: format!("{endpoint}: {what}"),
            }),
        }
    }

    /// One request, with failover across the endpoints, within the timeout.
    /// Gives the endpoint that answered and the answer's body.
    fn call(&self, path: &str, body: &Value, retry: Retry) -> Result<(String, Vec<u8>), EtcdError> {
        let deadline = Instant::now() + self.timeout;
        let body = body.to_string().into_bytes();
        let body = body.as_slice();
        let n = self.endpoints.len();
        let start = self.preferred.load(Ordering::Relaxed) % n;
        let mut tried: Vec<String> = Vec::new();
        let mut reasons = Vec::new();
        let mut tls: Option<EtcdError> = None;
        let mut not_etcd: Option<EtcdError> = None;
        'passes: loop {
            // Whether every member failed in a way that passes (an election
            // after a member died, a member restarting): then ask again while
            // time is left, rather than fail a command the cluster can serve
            // a moment later.
            let mut passing = true;
            reasons.clear();
            for step in 0..n {
                let i = (start + step) % n;
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    reasons.push("time limit reached".to_string());
                    break 'passes;
                }
                // A read gets a fair share of what is left, so a member that hangs
                // (a partition, a lost quorum) leaves time to ask the others. A
                // write must wait for its answer: it cannot be resent elsewhere.
                let budget = match retry {
                    Retry::Safe => remaining / (n - step) as u32,
                    Retry::Never => remaining,
                };
                let endpoint = &self.endpoints[i];
                if !tried.contains(endpoint) {
                    tried.push(endpoint.clone());
                }
                match self.attempt(i, path, body, budget, remaining) {
                    Attempt::Answered(answer) => {
                        self.preferred.store(i, Ordering::Relaxed);
                        return Ok((endpoint.clone(), answer));
                    }
                    Attempt::ServerError { code, message, .. } if member_unavailable(code) => {
                        if retry == Retry::Never && !rejected_before_proposal(&message) {
                            return Err(EtcdError::Indeterminate {
                                endpoint: endpoint.clone(),
                                tried,
                                why: message,
                            });
                        }
                        reasons.push(format!("{endpoint}: {message}"));
                    }
                    Attempt::ServerError { code, message } => {
                        self.preferred.store(i, Ordering::Relaxed);
                        return Err(EtcdError::Refused { code, message });
                    }
                    Attempt::NotSent(why) => reasons.push(format!("{endpoint}: {why}")),
                    Attempt::MaybeSent(why) => {
                        if retry == Retry::Never {
                            return Err(EtcdError::Indeterminate {
                                endpoint: endpoint.clone(),
                                tried,
                                why,
                            });
                        }
                        reasons.push(format!("{endpoint}: {why}"));
                    }
                    Attempt::Tls(what) => {
                        passing = false;
                        reasons.push(format!("{endpoint}: TLS: {what}"));
                        tls.get_or_insert(EtcdError::Tls {
                            endpoint: endpoint.clone(),
                            what,
                        });
                    }
                    Attempt::NotEtcd(what) => {
                        passing = false;
                        reasons.push(format!("{endpoint}: {what}"));
                        not_etcd.get_or_insert(EtcdError::Malformed {
                            what: format!("{endpoint}: {what}"),
                        });
                    }
                }
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !passing || remaining <= PASS_PAUSE {
                break;
            }
            std::thread::sleep(PASS_PAUSE);
        }
        // Nobody answered: start the next call elsewhere.
        self.preferred.store((start + 1) % n, Ordering::Relaxed);
        // A refused certificate must not hide behind "unreachable": it is the
        // one failure the user has to fix on their side.
        Err(tls.or(not_etcd).unwrap_or(EtcdError::Unreachable {
            tried,
            why: reasons.join("; "),
        }))
    }

    /// One request to endpoint `i`, answered within `budget`; `remaining` is
    /// what is left of the whole call.
    fn attempt(
        &self,
        i: usize,
        path: &str,
        body: &[u8],
        budget: Duration,
        remaining: Duration,
    ) -> Attempt {
        let started = Instant::now();
        let agent = if remaining >= self.connect_slice {
            &self.agent
        } else {
            &self.last_chance
        };
        let url = format!("{}{}", self.urls[i], path);
        let request = agent
            .post(&url)
            .timeout(budget)
            .set("Content-Type", "application/json");
        match request.send_bytes(body) {
            Ok(response) => match read_body(response) {
                Ok(answer) => Attempt::Answered(answer),
                Err(why) => Attempt::MaybeSent(why),
            },
            Err(ureq::Error::Status(status, response)) => match read_body(response) {
                Ok(answer) => server_error(status, &answer),
                Err(why) => Attempt::MaybeSent(why),
            },
            Err(ureq::Error::Transport(transport)) => {
                let attempt = transport_error(&transport);
                if matches!(attempt, Attempt::Tls(_)) || !hung_up(&transport) {
                    return attempt;
                }
                let left = remaining.saturating_sub(started.elapsed());
                self.diagnose_hang_up(i, left).map_or(attempt, Attempt::Tls)
            }
        }
    }

    /// The server hung up without an answer. Either it does not speak our
    /// protocol at all (plain HTTP to a TLS port: etcd just closes; TLS to a
    /// plain port: the same), or, with TLS 1.3, it refused our client
    /// certificate after our side had finished its handshake and sent the
    /// request, so that the refusal shows only as a reset or a broken pipe.
    /// A second, harmless request tells these apart from a server that may
    /// have acted on ours: a GET over plain HTTP, or over TLS 1.2, where the
    /// server judges our certificate before the handshake ends. Gives the TLS
    /// failure, if that is what it was.
    fn diagnose_hang_up(&self, i: usize, left: Duration) -> Option<String> {
        if left.is_zero() {
            return None;
        }
        let tls = self.urls[i].starts_with("https:");
        let probe = self
            .diagnostic
            .get(&format!("{}/version", self.urls[i]))
            .timeout(left.min(Duration::from_secs(1)));
        match probe.call() {
            Ok(_) | Err(ureq::Error::Status(..)) => None,
            Err(ureq::Error::Transport(t)) => match (find_rustls_error(&t), hung_up(&t), tls) {
                (Some(e), _, _) => Some(describe_tls(e)),
                (None, true, true) => Some(
                    "the server hung up during the TLS handshake: does it speak TLS, and does \
                     it accept our client certificate?"
                        .into(),
                ),
                (None, true, false) => Some(
                    "the server hangs up on plain HTTP: it probably expects TLS (give the CA, \
                     client certificate and key)"
                        .into(),
                ),
                (None, false, _) => None,
            },
        }
    }
}

/// Whether the server closed the connection on us.
fn hung_up(transport: &ureq::Transport) -> bool {
    use std::io::ErrorKind as K;
    transport_io_error(transport).is_some_and(|io| {
        matches!(
            io.kind(),
            K::ConnectionAborted | K::ConnectionReset | K::BrokenPipe | K::UnexpectedEof
        )
    })
}

/// What one attempt on one endpoint gave.
#[derive(Debug)]
enum Attempt {
    /// A 2xx answer's body.
    Answered(Vec<u8>),
    /// etcd's own error answer.
    ServerError { code: i64, message: String },
    /// Nothing reached the server (refused, unresolvable, connect timed out).
    NotSent(String),
    /// The request may have reached the server, but no answer came.
    MaybeSent(String),
    /// The TLS handshake failed.
    Tls(String),
    /// Something answered that is not etcd's gateway.
    NotEtcd(String),
}

/// How long to wait before asking every member again, when none could serve.
const PASS_PAUSE: Duration = Duration::from_millis(200);

/// gRPC codes that mean "this member cannot serve now", worth asking another.
fn member_unavailable(code: i64) -> bool {
    // 14 Unavailable (no leader, timed out, stopped), 8 ResourceExhausted
    // (too many requests).
    code == 14 || code == 8
}

/// etcd errors that are given before a request is proposed to raft, so a
/// write that got them did not happen.
fn rejected_before_proposal(message: &str) -> bool {
    [
        "no leader",
        "server stopped",
        "too many requests",
        "not capable",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn read_body(response: ureq::Response) -> Result<Vec<u8>, String> {
    // etcd's gateway ends its error answers with an HTTP trailer
    // (Grpc-Trailer-Content-Type), which ureq 2's chunked decoder rejects
    // after it has delivered the whole body. With trailers announced, keep
    // what was read: the JSON parser then tells a whole answer from a cut one.
    let trailers = response.header("Trailer").is_some();
    let mut answer = Vec::new();
    let read = response
        .into_reader()
        .take(MAX_ANSWER_BYTES + 1)
        .read_to_end(&mut answer);
    match read {
        Ok(_) => {}
        Err(e) if trailers && e.kind() == std::io::ErrorKind::InvalidInput => {}
        Err(e) => return Err(format!("reading the answer: {}", io_reason(&e))),
    }
    if answer.len() as u64 > MAX_ANSWER_BYTES {
        return Err(format!("answer larger than {MAX_ANSWER_BYTES} bytes"));
    }
    Ok(answer)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timed out".into(),
        _ => e.to_string(),
    }
}

/// Reads etcd's error answer: `{"error": "...", "message": "...", "code": N}`.
fn server_error(status: u16, answer: &[u8]) -> Attempt {
    #[derive(Deserialize)]
    struct Wire {
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default, deserialize_with = "wire::i64")]
        code: i64,
    }
    match serde_json::from_slice::<Wire>(answer) {
        Ok(w) if w.message.is_some() || w.error.is_some() => Attempt::ServerError {
            code: w.code,
            message: w.message.or(w.error).unwrap_or_default(),
        },
        _ => {
            // Go's TLS server answers plain HTTP with this 400.
            let text = String::from_utf8_lossy(&answer[..answer.len().min(200)]).into_owned();
            if text.contains("HTTP request to an HTTPS server") {
                Attempt::Tls(
                    "the server speaks TLS and this client plain HTTP: give the CA, client \
                     certificate and key"
                        .into(),
                )
            } else {
                Attempt::NotEtcd(format!("HTTP {status} that is not etcd's error JSON"))
            }
        }
    }
}

/// Sorts a transport failure: TLS, before sending, or after.
fn transport_error(transport: &ureq::Transport) -> Attempt {
    if let Some(tls) = find_rustls_error(transport) {
        return Attempt::Tls(describe_tls(tls));
    }
    let why = match transport_io_error(transport) {
        Some(io) => io_reason(io),
        None => transport.kind().to_string(),
    };
    match transport.kind() {
        ureq::ErrorKind::ConnectionFailed
        | ureq::ErrorKind::Dns
        | ureq::ErrorKind::InvalidUrl
        | ureq::ErrorKind::UnknownScheme => Attempt::NotSent(why),
        // A reset or a timeout while sending or reading: the server may have
        // read the whole request and acted on it.
        _ => Attempt::MaybeSent(why),
    }
}

fn transport_io_error(transport: &ureq::Transport) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(transport);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = e.source();
    }
    None
}

/// rustls errors travel inside `io::Error`s, whose `source()` skips the error
/// they wrap: look inside each one.
fn find_rustls_error(transport: &ureq::Transport) -> Option<&rustls::Error> {
    let mut source = std::error::Error::source(transport);
    while let Some(e) = source {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
        }
        source = e.source();
    }
    None
}

fn describe_tls(e: &rustls::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C};
    match e {
        rustls::Error::AlertReceived(
            A::BadCertificate
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::CertificateUnknown
            | A::UnknownCA
            | A::UnsupportedCertificate
            | A::CertificateRequired
            | A::AccessDenied,
        ) => format!(
            "the server refused our client certificate ({e}): is it signed by the cluster's CA \
             and still valid?"
        ),
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            format!("the server's certificate is not signed by our CA ({e}): check the CA file")
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            format!("the server's certificate has expired ({e})")
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => format!("the server's certificate does not name this endpoint ({e})"),
        rustls::Error::InvalidMessage(_) => {
            format!("the server does not speak TLS ({e}): is it plain HTTP? then configure no TLS")
        }
        _ => e.to_string(),
    }
}

/// Turns "required revision has been compacted" into [`EtcdError::Compacted`].
fn compacted(e: EtcdError, revision: Option<i64>) -> EtcdError {
    match (e, revision) {
        (EtcdError::Refused { code: 11, message }, Some(revision))
            if message.contains("has been compacted") =>
        {
            EtcdError::Compacted { revision }
        }
        (e, _) => e,
    }
}

fn check_endpoint(endpoint: &str) -> Result<(), EtcdError> {
    let bad = |why: &str| {
        Err(EtcdError::Config {
            what: format!("endpoint {endpoint:?} {why}: give host:port, as 127.0.0.1:2379"),
        })
    };
    if endpoint.contains("://") {
        return bad("has a scheme");
    }
    if endpoint
        .chars()
        .any(|c| c.is_whitespace() || "/?#@".contains(c))
    {
        return bad("is not a host and port");
    }
    match endpoint.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
            Ok(())
        }
        _ => bad("has no port"),
    }
}

/// The client's TLS configuration, and the same restricted to TLS 1.2 for
/// [`Client::diagnose_hang_up`].
fn tls_configs(
    files: &TlsFiles,
) -> Result<(Arc<rustls::ClientConfig>, Arc<rustls::ClientConfig>), EtcdError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let certs = |path: &Path| -> Result<Vec<CertificateDer<'static>>, EtcdError> {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| pem_error(path, &e))?;
        if certs.is_empty() {
            return Err(EtcdError::TlsFiles {
                path: path.to_path_buf(),
                what: "no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)".into(),
            });
        }
        Ok(certs)
    };
    let mut roots = rustls::RootCertStore::empty();
    for ca in certs(&files.ca)? {
        roots.add(ca).map_err(|e| EtcdError::TlsFiles {
            path: files.ca.clone(),
            what: format!("not a usable CA certificate: {e}"),
        })?;
    }
    let roots = Arc::new(roots);
    let chain = certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| pem_error(&files.key, &e))?;
    // ureq 2 is built on *ring*; naming the provider avoids depending on a
    // process-wide default that nobody installed. rustls deprecates it for
    // lacking post-quantum key exchange, which etcd (Go's TLS as of 3.4/3.5)
    // would not negotiate anyway.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = |versions: &[&'static rustls::SupportedProtocolVersion]| {
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(|e| EtcdError::TlsFiles {
                path: files.cert.clone(),
                what: format!("TLS setup: {e}"),
            })?
            .with_root_certificates(roots.clone())
            .with_client_auth_cert(chain.clone(), key.clone_key())
            .map(Arc::new)
            .map_err(|e| EtcdError::TlsFiles {
                path: files.key.clone(),
                what: format!("the key does not go with {}: {e}", files.cert.display()),
            })
    };
    Ok((
        config(rustls::DEFAULT_VERSIONS)?,
        config(&[&rustls::version::TLS12])?,
    ))
}

/// Describes a PEM error without quoting the file: it may be a private key.
fn pem_error(path: &Path, e: &rustls_pki_types::pem::Error) -> EtcdError {
    use rustls_pki_types::pem::Error as E;
    let what = match e {
        E::Io(io) if io.kind() == std::io::ErrorKind::NotFound => "no such file".to_string(),
        E::Io(io) => format!("cannot read it: {io}"),
        E::NoItemsFound => "nothing of the expected kind in it (expected PEM)".to_string(),
        _ => "not valid PEM".to_string(),
    };
    EtcdError::TlsFiles {
        path: path.to_path_buf(),
        what,
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The key and range end that select every key starting with `prefix`: the
/// range end is the prefix "plus one" (trailing 0xff bytes dropped, the last
/// other byte incremented), and "\0" for both means every key.
pub fn prefix_range(prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return (prefix.to_vec(), end);
        }
    }
    // Empty, or all 0xff: no key is "greater" than every key under it, so the
    // range runs to the end of the keyspace ("\0" as range_end means that).
    let key = if prefix.is_empty() {
        vec![0]
    } else {
        prefix.to_vec()
    };
    (key, vec![0])
}

/// The gateway's JSON, as it comes: every field may be missing.
mod wire {
    use serde::de::{self, Deserializer, Visitor};
    use serde::Deserialize;
    use std::fmt;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Header {
        #[serde(deserialize_with = "u64")]
        pub cluster_id: u64,
        #[serde(deserialize_with = "u64")]
        pub member_id: u64,
        #[serde(deserialize_with = "i64")]
        pub revision: i64,
        #[serde(deserialize_with = "u64")]
        pub raft_term: u64,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Kv {
        #[serde(deserialize_with = "bytes")]
        pub key: Vec<u8>,
        #[serde(deserialize_with = "bytes")]
        pub value: Vec<u8>,
        #[serde(deserialize_with = "i64")]
        pub create_revision: i64,
        #[serde(deserialize_with = "i64")]
        pub mod_revision: i64,
        #[serde(deserialize_with = "i64")]
        pub version: i64,
        #[serde(deserialize_with = "i64")]
        pub lease: i64,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Range {
        pub header: Option<Header>,
        pub kvs: Option<Vec<Kv>>,
        #[serde(deserialize_with = "i64")]
        pub count: i64,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Delete {
        pub header: Option<Header>,
        #[serde(deserialize_with = "i64")]
        pub deleted: i64,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct HeaderOnly {
        pub header: Option<Header>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Txn {
        pub header: Option<Header>,
        pub succeeded: Option<bool>,
        pub responses: Option<Vec<OpResponse>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct OpResponse {
        pub response_range: Option<Range>,
        pub response_put: Option<HeaderOnly>,
        pub response_delete_range: Option<Delete>,
    }

    /// One answer of the keep-alive stream (one request sent, one answer).
    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct KeepAlive {
        pub result: Option<LeaseGrant>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct LeaseGrant {
        pub header: Option<Header>,
        #[serde(rename = "ID", deserialize_with = "i64")]
        pub id: i64,
        #[serde(rename = "TTL", deserialize_with = "i64")]
        pub ttl: i64,
        pub error: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct LeaseTtl {
        pub header: Option<Header>,
        #[serde(rename = "TTL", deserialize_with = "i64")]
        pub ttl: i64,
        #[serde(rename = "grantedTTL", deserialize_with = "i64")]
        pub granted: i64,
    }

    // The status message's fields are camelCase in etcd's proto (dbSize), so
    // the gateway sends them so; snake_case is accepted too in case a version
    // changes its mind.
    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Status {
        pub header: Option<Header>,
        pub version: Option<String>,
        #[serde(rename = "dbSize", alias = "db_size", deserialize_with = "i64")]
        pub db_size: i64,
        #[serde(
            rename = "dbSizeInUse",
            alias = "db_size_in_use",
            deserialize_with = "i64"
        )]
        pub db_size_in_use: i64,
        #[serde(deserialize_with = "u64")]
        pub leader: u64,
    }

    /// A JSON integer, or a string holding one (int64 in the gateway), or
    /// null (taken as 0, as a missing field).
    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(IntVisitor::<i64>(std::marker::PhantomData))
    }

    /// As [`i64`], unsigned.
    pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(IntVisitor::<u64>(std::marker::PhantomData))
    }

    struct IntVisitor<T>(std::marker::PhantomData<T>);

    impl<T> Visitor<'_> for IntVisitor<T>
    where
        T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr + Default,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer or a string holding one")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            T::try_from(v).map_err(|_| E::custom("integer out of range"))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            T::try_from(v).map_err(|_| E::custom("integer out of range"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            v.parse().map_err(|_| E::custom("not an integer"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<T, E> {
            Ok(T::default())
        }
    }

    /// A base64 string (bytes in the gateway), or null (empty).
    pub fn bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
                LENIENT
                    .decode(v)
                    .map_err(|_| E::custom("bytes field is not base64"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Vec<u8>, E> {
                Ok(Vec::new())
            }
        }
        d.deserialize_any(V)
    }

    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    /// Go writes padded standard base64; accept it unpadded too.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
}

fn parse<'a, T: Deserialize<'a>>(answer: &'a [u8], what: &str) -> Result<T, EtcdError> {
    serde_json::from_slice(answer).map_err(|e| EtcdError::Malformed {
        // serde_json's message names the line and column, never the input.
        what: format!("{what}: {e}"),
    })
}

fn header(h: Option<wire::Header>, what: &str) -> Result<Header, EtcdError> {
    match h {
        Some(h) if h.cluster_id != 0 => Ok(Header {
            cluster_id: h.cluster_id,
            member_id: h.member_id,
            revision: h.revision,
            raft_term: h.raft_term,
        }),
        // The caller's rollback check hangs on the cluster ID: an answer
        // without one is not taken.
        _ => Err(EtcdError::Malformed {
            what: format!("{what} without a header naming the cluster"),
        }),
    }
}

fn key_value(kv: wire::Kv) -> KeyValue {
    KeyValue {
        key: kv.key,
        value: kv.value,
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        lease: kv.lease,
    }
}

fn parse_range(answer: &[u8]) -> Result<Range, EtcdError> {
    let w: wire::Range = parse(answer, "range answer")?;
    let kvs: Vec<KeyValue> = w
        .kvs
        .unwrap_or_default()
        .into_iter()
        .map(key_value)
        .collect();
    Ok(Range {
        count: w.count.max(kvs.len() as i64),
        kvs,
        header: header(w.header, "range answer")?,
    })
}

fn parse_header_only(answer: &[u8]) -> Result<Header, EtcdError> {
    let w: wire::HeaderOnly = parse(answer, "answer")?;
    header(w.header, "answer")
}

fn parse_delete(answer: &[u8]) -> Result<(i64, Header), EtcdError> {
    let w: wire::Delete = parse(answer, "delete answer")?;
    Ok((w.deleted, header(w.header, "delete answer")?))
}

fn parse_object(answer: &[u8]) -> Result<(), EtcdError> {
    parse::<serde_json::Map<String, Value>>(answer, "answer").map(|_| ())
}

fn parse_txn(answer: &[u8], txn: &Txn) -> Result<TxnOutcome, EtcdError> {
    let w: wire::Txn = parse(answer, "transaction answer")?;
    let succeeded = w.succeeded.unwrap_or(false);
    let ops = if succeeded {
        &txn.success
    } else {
        &txn.failure
    };
    let responses = w.responses.unwrap_or_default();
    if responses.len() != ops.len() {
        return Err(EtcdError::Malformed {
            what: format!(
                "transaction answer with {} results for {} operations",
                responses.len(),
                ops.len()
            ),
        });
    }
    let responses = responses
        .into_iter()
        .zip(ops)
        .map(|(r, op)| match (op, r) {
            (
                TxnOp::Put { .. },
                wire::OpResponse {
                    response_put: Some(_),
                    ..
                },
            ) => Ok(OpResponse::Put),
            (
                TxnOp::Delete { .. } | TxnOp::DeletePrefix { .. } | TxnOp::DeleteRange { .. },
                wire::OpResponse {
                    response_delete_range: Some(d),
                    ..
                },
            ) => Ok(OpResponse::Deleted(d.deleted)),
            (
                TxnOp::Get { .. } | TxnOp::GetPrefix { .. },
                wire::OpResponse {
                    response_range: Some(r),
                    ..
                },
            ) => Ok(OpResponse::Range(
                r.kvs
                    .unwrap_or_default()
                    .into_iter()
                    .map(key_value)
                    .collect(),
            )),
            (op, _) => Err(EtcdError::Malformed {
                what: format!("transaction answer without the result of {op:?}"),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TxnOutcome {
        succeeded,
        header: header(w.header, "transaction answer")?,
        responses,
    })
}

fn parse_lease_grant(answer: &[u8]) -> Result<Lease, EtcdError> {
    let w: wire::LeaseGrant = parse(answer, "lease grant answer")?;
    if let Some(error) = w.error.filter(|e| !e.is_empty()) {
        // gRPC's Unknown: the answer carries no code of its own.
        return Err(EtcdError::Refused {
            code: 2,
            message: error,
        });
    }
    if w.id == 0 {
        return Err(EtcdError::Malformed {
            what: "lease grant answer without a lease ID".into(),
        });
    }
    Ok(Lease {
        id: w.id,
        ttl: w.ttl,
        header: header(w.header, "lease grant answer")?,
    })
}

fn parse_keep_alive(answer: &[u8]) -> Result<Option<i64>, EtcdError> {
    let w: wire::KeepAlive = parse(answer, "lease keep-alive answer")?;
    // A lease that is gone answers a TTL of 0 (or none at all).
    Ok(w.result.map(|r| r.ttl).filter(|ttl| *ttl > 0))
}

fn parse_lease_ttl(answer: &[u8]) -> Result<LeaseTtl, EtcdError> {
    let w: wire::LeaseTtl = parse(answer, "lease time-to-live answer")?;
    Ok(LeaseTtl {
        // etcd says -1 for a lease that expired or never was.
        remaining: (w.ttl >= 0).then_some(w.ttl),
        granted: w.granted,
        header: header(w.header, "lease time-to-live answer")?,
    })
}

fn parse_status(answer: &[u8], endpoint: &str) -> Result<Status, EtcdError> {
    let w: wire::Status = parse(answer, "status answer")?;
    let header = header(w.header, "status answer")?;
    Ok(Status {
        endpoint: endpoint.to_string(),
        cluster_id: header.cluster_id,
        member_id: header.member_id,
        revision: header.revision,
        leader: w.leader,
        db_size: w.db_size,
        db_size_in_use: w.db_size_in_use,
        version: w.version.unwrap_or_default(),
        header,
    })
}

/// Ordered reads of a key range, for the store's logs.
impl Client {
    /// The last key in `[start, end)` (by key order), if any.
    pub fn range_last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyValue>, EtcdError> {
        let body = json!({
            "key": b64(start),
            "range_end": b64(end),
            "sort_order": "DESCEND",
            "sort_target": "KEY",
            "limit": "1",
        });
        Ok(self.range(body, None)?.kvs.into_iter().next())
    }

    /// Every key in `[start, end)`, in key order.
    pub fn range_between(&self, start: &[u8], end: &[u8]) -> Result<Vec<KeyValue>, EtcdError> {
        let body = json!({ "key": b64(start), "range_end": b64(end) });
        Ok(self.range(body, None)?.kvs)
    }

    /// The last key in `[start, split)` and every key in `[split, end)`, read
    /// at one revision in one round trip: a transaction of reads only, which
    /// etcd serves as a linearizable read, without a raft proposal.
    pub fn range_last_and_after(
        &self,
        start: &[u8],
        split: &[u8],
        end: &[u8],
    ) -> Result<(Option<KeyValue>, Vec<KeyValue>), EtcdError> {
        let body = json!({
            "compare": [],
            "success": [
                { "request_range": {
                    "key": b64(start),
                    "range_end": b64(split),
                    "sort_order": "DESCEND",
                    "sort_target": "KEY",
                    "limit": "1",
                } },
                { "request_range": { "key": b64(split), "range_end": b64(end) } },
            ],
            "failure": [],
        });
        // Reads only: as safe to send again as a range.
        let (endpoint, answer) = self.call("/v3/kv/txn", &body, Retry::Safe)?;
        let w: wire::Txn = parse(&answer, "transaction answer")?;
        let header = header(w.header, "transaction answer")?;
        self.pin(&endpoint, &header)?;
        let mut ranges = w.responses.unwrap_or_default().into_iter().map(|r| {
            r.response_range
                .map(|r| r.kvs.unwrap_or_default().into_iter().map(key_value))
                .ok_or_else(|| EtcdError::Malformed {
                    what: "transaction answer without the result of a read".into(),
                })
        });
        let (Some(before), Some(after), None) = (ranges.next(), ranges.next(), ranges.next())
        else {
            return Err(EtcdError::Malformed {
                what: "transaction answer without two results for two reads".into(),
            });
        };
        Ok((before?.next(), after?.collect()))
    }

    /// At most `limit` keys of `[start, end)`, in key order, without values.
    pub fn range_keys(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, EtcdError> {
        let body = json!({
            "key": b64(start),
            "range_end": b64(end),
            "keys_only": true,
            "limit": limit.to_string(),
        });
        Ok(self.range(body, None)?.kvs)
    }

    /// Whether `key` exists, without reading its value.
    pub fn exists(&self, key: impl AsRef<[u8]>) -> Result<bool, EtcdError> {
        let key = key.as_ref();
        let body = json!({ "key": b64(key), "keys_only": true });
        Ok(self.range(body, None)?.kvs.iter().any(|kv| kv.key == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::etcd::test_cluster::{ClientCerts, Options, TestCluster};
    use proptest::prelude::*;

    // Answers as etcd 3.4.23's gateway gives them.
    const HEADER: &str = r#""header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"}"#;

    fn client_for(endpoints: Vec<String>, timeout: Duration) -> Client {
        Client::connect(&EtcdConfig {
            endpoints,
            tls: None,
            timeout,
        })
        .unwrap()
    }

    fn shared() -> Client {
        Client::connect(&EtcdConfig::new(TestCluster::shared().endpoints())).unwrap()
    }

    fn tls_client(endpoints: Vec<String>, files: ClientCerts) -> Client {
        Client::connect(&EtcdConfig {
            endpoints,
            tls: Some(TlsFiles {
                ca: files.ca,
                cert: files.cert,
                key: files.key,
            }),
            timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    /// A port nothing listens on: bound, then released.
    fn dead_endpoint() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("127.0.0.1:{port}")
    }

    // --- Without a server ---

    #[test]
    fn prefix_range_increments_the_last_byte_below_0xff() {
        assert_eq!(prefix_range(b"a/"), (b"a/".to_vec(), b"a0".to_vec()));
        assert_eq!(prefix_range(b"a\xff"), (b"a\xff".to_vec(), b"b".to_vec()));
        assert_eq!(
            prefix_range(b"a\xfe\xff\xff"),
            (b"a\xfe\xff\xff".to_vec(), b"a\xff".to_vec())
        );
        assert_eq!(prefix_range(b"\xff\xff"), (b"\xff\xff".to_vec(), vec![0]));
        assert_eq!(prefix_range(b""), (vec![0], vec![0]));
    }

    proptest! {
        #[test]
        fn prefix_range_holds_exactly_the_keys_under_the_prefix(
            prefix in proptest::collection::vec(any::<u8>(), 0..6),
            key in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let (start, end) = prefix_range(&prefix);
            let in_range = key >= start && (end == [0] || key < end);
            // With an empty prefix the range starts at "\0": the empty key is
            // not a key etcd can hold.
            prop_assume!(!key.is_empty());
            prop_assert_eq!(in_range, key.starts_with(&prefix));
        }
    }

    #[test]
    fn connect_rejects_bad_endpoints_and_names_them() {
        for bad in [
            "",
            "localhost",
            "http://127.0.0.1:2379",
            "127.0.0.1:0",
            "a b:1",
            ":2379",
        ] {
            let err = Client::connect(&EtcdConfig::new(vec![bad.into()])).unwrap_err();
            assert!(matches!(err, EtcdError::Config { .. }), "{bad}: {err}");
            assert!(err.to_string().contains("host:port"), "{err}");
        }
        let err = Client::connect(&EtcdConfig::new(vec![])).unwrap_err();
        assert!(matches!(err, EtcdError::Config { .. }));
        for good in ["127.0.0.1:2379", "[::1]:2379", "etcd-0.example:2379"] {
            Client::connect(&EtcdConfig::new(vec![good.into()])).unwrap();
        }
    }

    #[test]
    fn tls_file_errors_name_the_file_and_never_quote_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        let secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0IGtleSBtYXRlcmlhbA=!!\n";
        std::fs::write(&garbage, secret).unwrap();
        let config = |ca: &Path, cert: &Path, key: &Path| EtcdConfig {
            endpoints: vec!["127.0.0.1:2379".into()],
            tls: Some(TlsFiles {
                ca: ca.into(),
                cert: cert.into(),
                key: key.into(),
            }),
            timeout: DEFAULT_TIMEOUT,
        };
        let err = Client::connect(&config(&missing, &missing, &missing)).unwrap_err();
        match &err {
            EtcdError::TlsFiles { path, what } => {
                assert_eq!(path, &missing);
                assert_eq!(what, "no such file");
            }
            e => panic!("{e}"),
        }
        for err in [
            Client::connect(&config(&garbage, &missing, &missing)).unwrap_err(),
            Client::connect(&config(&missing, &missing, &garbage)).unwrap_err(),
        ] {
            let text = err.to_string();
            assert!(matches!(err, EtcdError::TlsFiles { .. }), "{text}");
            assert!(!text.contains("c2VjcmV0"), "{text}");
        }
        // Good PEM of the wrong kind.
        let cluster = TestCluster::shared_tls();
        let good = cluster.tls_files();
        let err = Client::connect(&config(&good.key, &good.cert, &good.key)).unwrap_err();
        assert!(
            matches!(&err, EtcdError::TlsFiles { path, .. } if path == &good.key),
            "{err}"
        );
        // A key that does not go with the certificate.
        let other = cluster.client_certs("bob");
        let err = Client::connect(&config(&good.ca, &good.cert, &other.key)).unwrap_err();
        assert!(
            matches!(&err, EtcdError::TlsFiles { path, .. } if path == &other.key),
            "{err}"
        );
    }

    #[test]
    fn key_values_never_show_their_value() {
        let kv = KeyValue {
            key: b"vault/root".to_vec(),
            value: b"hunter2".to_vec(),
            create_revision: 1,
            mod_revision: 2,
            version: 1,
            lease: 0,
        };
        let shown = format!("{kv:?}");
        assert!(
            shown.contains("vault/root") && shown.contains("<7 bytes>"),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"));
        let compare = format!("{:?}", Compare::value("k", CmpOp::Equal, "hunter2"));
        assert!(!compare.contains("hunter2"), "{compare}");
        let txn = format!("{:?}", Txn::new().and_then([TxnOp::put("k", "hunter2")]));
        assert!(!txn.contains("hunter2"), "{txn}");
    }

    #[test]
    fn parses_the_gateways_answers() {
        let range = parse_range(
            format!(r#"{{{HEADER},"kvs":[{{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"YmFy","lease":"7"}}],"count":"1"}}"#)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(range.header.cluster_id, 15118495548433857066);
        assert_eq!(range.header.member_id, 13668033151171901709);
        assert_eq!(range.header.revision, 2);
        assert_eq!(range.count, 1);
        assert_eq!(
            range.kvs,
            vec![KeyValue {
                key: b"foo".to_vec(),
                value: b"bar".to_vec(),
                create_revision: 2,
                mod_revision: 3,
                version: 2,
                lease: 7,
            }]
        );
        // Nothing found: no kvs, no count.
        let empty = parse_range(format!("{{{HEADER}}}").as_bytes()).unwrap();
        assert!(empty.kvs.is_empty() && empty.count == 0);
        // Deleted nothing: no "deleted".
        assert_eq!(
            parse_delete(format!("{{{HEADER}}}").as_bytes()).unwrap().0,
            0
        );
        // A failed transaction: no "succeeded"; inner headers carry only the revision.
        let txn = Txn::new()
            .when([Compare::absent("foo")])
            .and_then([TxnOp::put("foo", "a")])
            .or_else([TxnOp::get("foo"), TxnOp::delete("x")]);
        let outcome = parse_txn(
            format!(r#"{{{HEADER},"responses":[{{"response_range":{{"header":{{"revision":"2"}},"kvs":[{{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}}],"count":"1"}}}},{{"response_delete_range":{{"header":{{"revision":"2"}}}}}}]}}"#)
                .as_bytes(),
            &txn,
        )
        .unwrap();
        assert!(!outcome.succeeded);
        assert!(matches!(&outcome.responses[0], OpResponse::Range(kvs) if kvs[0].value == b"bar"));
        assert_eq!(outcome.responses[1], OpResponse::Deleted(0));
        // Status: camelCase fields.
        let status = parse_status(
            format!(r#"{{{HEADER},"version":"3.4.23","dbSize":"20480","leader":"13668033151171901709","raftIndex":"12","raftTerm":"2","raftAppliedIndex":"12","dbSizeInUse":"16384"}}"#).as_bytes(),
            "e",
        )
        .unwrap();
        assert_eq!(
            (status.db_size, status.db_size_in_use, status.leader),
            (20480, 16384, 13668033151171901709)
        );
        let lease = parse_lease_grant(
            format!(r#"{{{HEADER},"ID":"4111120489908696588","TTL":"5"}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!((lease.id, lease.ttl), (4111120489908696588, 5));
        let gone = parse_lease_ttl(format!(r#"{{{HEADER},"ID":"1","TTL":"-1"}}"#).as_bytes());
        assert_eq!(gone.unwrap().remaining, None);
        // Defragment: "{}".
        parse_object(b"{}").unwrap();
    }

    #[test]
    fn answers_without_a_cluster_id_or_with_bad_fields_are_malformed() {
        for body in [
            "{}".to_string(),
            r#"{"header":{"revision":"3"}}"#.to_string(),
            format!(r#"{{{HEADER},"kvs":[{{"key":"not base64!"}}]}}"#),
            format!(r#"{{{HEADER},"kvs":[{{"key":"Zm9v","version":"x"}}]}}"#),
            format!(r#"{{{HEADER},"count":"99999999999999999999"}}"#),
            format!(r#"{{{HEADER},"kvs":{{}}}}"#),
            "[]".to_string(),
            "".to_string(),
        ] {
            let err = parse_range(body.as_bytes()).unwrap_err();
            assert!(matches!(err, EtcdError::Malformed { .. }), "{body}: {err}");
        }
        // A transaction whose results do not match its operations.
        let txn = Txn::new().and_then([TxnOp::put("a", "b")]);
        for body in [
            format!(r#"{{{HEADER},"succeeded":true}}"#),
            format!(r#"{{{HEADER},"succeeded":true,"responses":[{{"response_range":{{}}}}]}}"#),
            format!(r#"{{{HEADER},"responses":[{{"response_put":{{}}}}]}}"#),
        ] {
            let err = parse_txn(body.as_bytes(), &txn).unwrap_err();
            assert!(matches!(err, EtcdError::Malformed { .. }), "{body}: {err}");
        }
    }

    /// JSON shaped like the gateway's, with fields of any type at any depth.
    fn json_like() -> impl Strategy<Value = Value> {
        let names = prop::sample::select(vec![
            "header",
            "cluster_id",
            "member_id",
            "revision",
            "kvs",
            "key",
            "value",
            "create_revision",
            "mod_revision",
            "version",
            "lease",
            "count",
            "deleted",
            "succeeded",
            "responses",
            "response_range",
            "response_put",
            "response_delete_range",
            "ID",
            "TTL",
            "grantedTTL",
            "error",
            "dbSize",
            "leader",
            "code",
            "message",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::from)),
            any::<i64>().prop_map(|i| Value::from(i.to_string())),
            "[A-Za-z0-9+/=!-]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(names.clone(), inner, 0..6).prop_map(|m| {
                    Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
    }

    fn feed_every_parser(body: &[u8]) {
        let txn = Txn::new()
            .when([Compare::absent("a")])
            .and_then([TxnOp::put("a", "b"), TxnOp::get("a")])
            .or_else([TxnOp::delete("a")]);
        let _ = parse_range(body);
        let _ = parse_header_only(body);
        let _ = parse_delete(body);
        let _ = parse_txn(body, &txn);
        let _ = parse_lease_grant(body);
        let _ = parse_lease_ttl(body);
        let _ = parse_status(body, "e");
        let _ = parse_object(body);
        let _ = server_error(500, body);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn no_answer_makes_a_parser_panic(value in json_like()) {
            feed_every_parser(value.to_string().as_bytes());
        }

        #[test]
        fn no_bytes_make_a_parser_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            feed_every_parser(&bytes);
        }

        #[test]
        fn no_truncated_answer_makes_a_parser_panic(cut in 0usize..400) {
            let body = format!(r#"{{{HEADER},"succeeded":true,"responses":[{{"response_put":{{"header":{{"revision":"2"}}}}}},{{"response_range":{{"kvs":[{{"key":"YQ==","value":"Yg=="}}]}}}}]}}"#);
            feed_every_parser(&body.as_bytes()[..cut.min(body.len())]);
        }
    }

    #[test]
    fn refused_connections_are_unreachable_and_name_every_endpoint() {
        let endpoints = vec![dead_endpoint(), dead_endpoint()];
        let client = client_for(endpoints.clone(), Duration::from_secs(3));
        let started = Instant::now();
        let err = client.put("k", "v", None).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        match &err {
            EtcdError::Unreachable { tried, .. } => assert_eq!(tried, &endpoints),
            e => panic!("{e}"),
        }
        let text = err.to_string();
        assert!(
            endpoints.iter().all(|e| text.contains(e.as_str())),
            "{text}"
        );
    }

    #[test]
    fn a_member_that_hangs_costs_a_read_its_share_and_a_write_the_timeout() {
        // Accepts connections (the kernel does, into the backlog) and never
        // answers: a partitioned member, or one without quorum.
        let hanging = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let hanging = hanging.local_addr().map(|a| a.to_string()).unwrap();
        let live = TestCluster::shared().endpoints()[0].clone();
        let endpoints = vec![hanging.clone(), live.clone()];
        let timeout = Duration::from_secs(2);

        let c = client_for(endpoints.clone(), timeout);
        let started = Instant::now();
        assert!(c.get("t/hanging/none").unwrap().kv.is_none());
        let took = started.elapsed();
        assert!(took >= timeout / 2 && took < timeout, "{took:?}");
        // The live member answered last: it is asked first now.
        let started = Instant::now();
        c.put("t/hanging/k", "v", None).unwrap();
        assert!(started.elapsed() < timeout / 4);

        // A write that the hanging member took is not resent elsewhere.
        let c = client_for(endpoints, timeout);
        let started = Instant::now();
        let err = c.put("t/hanging/k", "w", None).unwrap_err();
        let took = started.elapsed();
        assert!(
            took >= timeout && took < timeout + Duration::from_millis(500),
            "{took:?}"
        );
        match &err {
            EtcdError::Indeterminate {
                endpoint, tried, ..
            } => {
                assert_eq!(endpoint, &hanging);
                assert_eq!(tried, &vec![hanging.clone()]);
            }
            e => panic!("{e}"),
        }
        assert!(err.to_string().contains("may or may not have been applied"));
    }

    // --- Against the shared 3-member cluster ---

    #[test]
    fn put_get_range_delete_round_trip() {
        let c = shared();
        let p = "t/round-trip/";
        let put = c.put(format!("{p}a"), "1", None).unwrap();
        assert_ne!(put.cluster_id, 0);
        c.put(format!("{p}b"), [0u8, 0xff, 7], None).unwrap();
        c.put(format!("{p}c"), "", None).unwrap();
        c.put("t/round-trip0", "outside the prefix", None).unwrap();

        let found = c.get(format!("{p}a")).unwrap();
        let kv = found.kv.unwrap();
        assert_eq!((kv.value.as_slice(), kv.version), (&b"1"[..], 1));
        assert_eq!(kv.create_revision, put.revision);
        assert_eq!(found.header.cluster_id, put.cluster_id);
        assert!(c.get(format!("{p}none")).unwrap().kv.is_none());

        let range = c.range_prefix(p, false, None).unwrap();
        let keys: Vec<_> = range.kvs.iter().map(|kv| kv.key.clone()).collect();
        assert_eq!(
            keys,
            vec![
                b"t/round-trip/a".to_vec(),
                b"t/round-trip/b".to_vec(),
                b"t/round-trip/c".to_vec()
            ]
        );
        assert_eq!(range.kvs[1].value, vec![0u8, 0xff, 7]);
        assert_eq!(range.count, 3);
        assert!(range.header.revision >= put.revision);
        let keys_only = c.range_prefix(p, true, None).unwrap();
        assert!(keys_only.kvs.iter().all(|kv| kv.value.is_empty()));

        // The range as it was before b and c.
        let then = c.range_prefix(p, false, Some(put.revision)).unwrap();
        assert_eq!(then.kvs.len(), 1);

        assert!(c.delete(format!("{p}a")).unwrap().0);
        assert!(!c.delete(format!("{p}a")).unwrap().0);
        assert_eq!(c.delete_prefix(p).unwrap().0, 2);
        assert!(c.range_prefix(p, false, None).unwrap().kvs.is_empty());
        assert!(c.get("t/round-trip0").unwrap().kv.is_some());
    }

    #[test]
    fn txn_on_mod_revision_succeeds_then_fails_after_a_concurrent_put() {
        let c = shared();
        let other = shared();
        let key = "t/txn/cas";
        let first = c.put(key, "v1", None).unwrap();
        let rev = c.get(key).unwrap().kv.unwrap().mod_revision;
        assert_eq!(rev, first.revision);

        let swap = |value: &str, expected: i64| {
            c.txn(
                Txn::new()
                    .when([Compare::mod_revision(key, CmpOp::Equal, expected)])
                    .and_then([TxnOp::put(key, value), TxnOp::get(key)])
                    .or_else([TxnOp::get(key)]),
            )
            .unwrap()
        };
        let won = swap("v2", rev);
        assert!(won.succeeded);
        assert_eq!(won.responses.len(), 2);
        assert_eq!(won.responses[0], OpResponse::Put);
        assert!(matches!(&won.responses[1], OpResponse::Range(kvs) if kvs[0].value == b"v2"));
        let v2_rev = won.header.revision;

        // Someone else writes in between: the next swap on v2's revision loses
        // and sees their value.
        other.put(key, "theirs", None).unwrap();
        let lost = swap("v3", v2_rev);
        assert!(!lost.succeeded);
        assert!(matches!(&lost.responses[0], OpResponse::Range(kvs) if kvs[0].value == b"theirs"));

        // The other comparisons.
        let kv = c.get(key).unwrap().kv.unwrap();
        let holds = |cmp: Compare| c.txn(Txn::new().when([cmp])).unwrap().succeeded;
        assert!(holds(Compare::version(key, CmpOp::Equal, kv.version)));
        assert!(holds(Compare::version(key, CmpOp::Greater, 1)));
        assert!(holds(Compare::create_revision(
            key,
            CmpOp::Less,
            kv.mod_revision
        )));
        assert!(holds(Compare::mod_revision(key, CmpOp::NotEqual, v2_rev)));
        assert!(holds(Compare::value(key, CmpOp::Equal, "theirs")));
        assert!(!holds(Compare::value(key, CmpOp::Equal, "mine")));
        assert!(holds(Compare::lease(key, CmpOp::Equal, 0)));
    }

    #[test]
    fn absent_makes_a_create_only_put() {
        let c = shared();
        let key = "t/absent/root";
        let create = |value: &str| {
            c.txn(
                Txn::new()
                    .when([Compare::absent(key)])
                    .and_then([TxnOp::put(key, value)]),
            )
            .unwrap()
            .succeeded
        };
        assert!(create("first"));
        assert!(!create("second"));
        assert_eq!(c.get(key).unwrap().kv.unwrap().value, b"first");
        // Prefix operations inside a transaction.
        c.put("t/absent/x/1", "a", None).unwrap();
        c.put("t/absent/x/2", "b", None).unwrap();
        let out = c
            .txn(Txn::new().and_then([
                TxnOp::GetPrefix {
                    prefix: b"t/absent/x/".to_vec(),
                },
                TxnOp::DeletePrefix {
                    prefix: b"t/absent/".to_vec(),
                },
            ]))
            .unwrap();
        assert!(matches!(&out.responses[0], OpResponse::Range(kvs) if kvs.len() == 2));
        assert_eq!(out.responses[1], OpResponse::Deleted(3));
    }

    #[test]
    fn revoking_a_lease_deletes_its_keys() {
        let c = shared();
        let lease = c.lease_grant(60).unwrap();
        assert!(lease.id != 0 && lease.ttl == 60);
        c.put("t/lease-revoke/k", "v", Some(lease.id)).unwrap();
        let kv = c.get("t/lease-revoke/k").unwrap().kv.unwrap();
        assert_eq!(kv.lease, lease.id);
        let ttl = c.lease_ttl(lease.id).unwrap();
        assert!(matches!(ttl.remaining, Some(1..=60)), "{ttl:?}");
        assert_eq!(ttl.granted, 60);

        assert!(c.lease_revoke(lease.id).unwrap().is_some());
        assert!(c.get("t/lease-revoke/k").unwrap().kv.is_none());
        // Already gone is not an error.
        assert_eq!(c.lease_revoke(lease.id).unwrap(), None);
        assert_eq!(c.lease_ttl(lease.id).unwrap().remaining, None);
        // A put on a lease that is gone is refused.
        let err = c.put("t/lease-revoke/k", "v", Some(lease.id)).unwrap_err();
        assert!(matches!(err, EtcdError::Refused { code: 5, .. }), "{err}");
    }

    #[test]
    fn an_expiring_lease_deletes_its_keys() {
        let c = shared();
        let lease = c.lease_grant(2).unwrap();
        c.put("t/lease-expiry/k", "v", Some(lease.id)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.get("t/lease-expiry/k").unwrap().kv.is_some() {
            assert!(
                Instant::now() < deadline,
                "the key outlived its lease by 8 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(c.lease_ttl(lease.id).unwrap().remaining, None);
    }

    #[test]
    fn reading_a_compacted_revision_says_compacted() {
        let c = shared();
        let old = c.put("t/compact/k", "old", None).unwrap().revision;
        let new = c.put("t/compact/k", "new", None).unwrap().revision;
        assert_eq!(
            c.get_at("t/compact/k", old).unwrap().kv.unwrap().value,
            b"old"
        );
        assert!(c.compact(new, true).unwrap().is_some());
        let err = c.get_at("t/compact/k", old).unwrap_err();
        assert!(
            matches!(err, EtcdError::Compacted { revision } if revision == old),
            "{err}"
        );
        let err = c.range_prefix("t/compact/", false, Some(old)).unwrap_err();
        assert!(matches!(err, EtcdError::Compacted { .. }), "{err}");
        assert_eq!(
            c.get_at("t/compact/k", new).unwrap().kv.unwrap().value,
            b"new"
        );
        // Compacting again at or below what is compacted is fine.
        assert_eq!(c.compact(new, false).unwrap(), None);
        assert_eq!(c.compact(old, false).unwrap(), None);
        // A future revision is refused, not "compacted".
        let err = c.compact(i64::MAX / 2, false).unwrap_err();
        assert!(matches!(err, EtcdError::Refused { code: 11, .. }), "{err}");
    }

    #[test]
    fn defragment_reaches_every_member() {
        let c = shared();
        let results = c.defragment_each();
        assert_eq!(
            results.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>(),
            TestCluster::shared().endpoints()
        );
        for (endpoint, result) in results {
            result.unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        }
    }

    #[test]
    fn status_names_one_cluster_on_every_member() {
        let c = shared();
        let statuses: Vec<Status> = c
            .status_each()
            .into_iter()
            .map(|(e, s)| s.unwrap_or_else(|err| panic!("{e}: {err}")))
            .collect();
        assert_eq!(statuses.len(), 3);
        let cluster = statuses[0].cluster_id;
        assert_ne!(cluster, 0);
        assert!(statuses.iter().all(|s| s.cluster_id == cluster));
        let mut members: Vec<u64> = statuses.iter().map(|s| s.member_id).collect();
        members.sort_unstable();
        members.dedup();
        assert_eq!(members.len(), 3);
        let leader = statuses[0].leader;
        assert!(members.contains(&leader));
        assert!(statuses.iter().all(|s| s.leader == leader && s.db_size > 0));
        assert!(statuses[0].version.starts_with("3."));
        let one = c.status().unwrap();
        assert_eq!(one.cluster_id, cluster);
        assert_eq!(c.cluster_id(), Some(cluster));
    }

    // --- A cluster of its own: members die ---

    #[test]
    fn fails_over_then_fails_in_bounded_time_without_quorum() {
        let cluster = TestCluster::start(Options::default());
        let endpoints = cluster.endpoints();
        let timeout = Duration::from_secs(3);
        let c = client_for(endpoints.clone(), timeout);
        c.put("t/failover/k", "v1", None).unwrap();

        // An endpoint list that mixes two clusters is caught.
        let mixed = client_for(
            vec![
                TestCluster::shared().endpoints()[0].clone(),
                endpoints[0].clone(),
            ],
            timeout,
        );
        mixed.get("t/failover/k").unwrap();
        let (_, second) = &mixed.status_each()[1];
        assert!(
            matches!(second, Err(EtcdError::ClusterMismatch { .. })),
            "{second:?}"
        );

        // Member 0 (tried first) is gone: the others answer.
        cluster.kill(0);
        let c = client_for(endpoints.clone(), timeout);
        assert_eq!(c.get("t/failover/k").unwrap().kv.unwrap().value, b"v1");
        c.put("t/failover/k", "v2", None).unwrap();
        let out = c
            .txn(Txn::new().when([Compare::value("t/failover/k", CmpOp::Equal, "v2")]))
            .unwrap();
        assert!(out.succeeded);

        // Two of three gone: no quorum. Member 2 takes the connection and
        // hangs; the call ends with the timeout.
        cluster.kill(1);
        let c = client_for(endpoints.clone(), timeout);
        let started = Instant::now();
        let err = c.put("t/failover/k", "v3", None).unwrap_err();
        let took = started.elapsed();
        assert!(took < timeout + Duration::from_secs(2), "{took:?}");
        match &err {
            EtcdError::Indeterminate {
                endpoint, tried, ..
            } => {
                assert_eq!(endpoint, &endpoints[2]);
                assert_eq!(tried, &endpoints);
            }
            EtcdError::Unreachable { tried, .. } => assert_eq!(tried, &endpoints),
            e => panic!("{e}"),
        }
        let text = err.to_string();
        assert!(
            endpoints.iter().all(|e| text.contains(e.as_str())),
            "{text}"
        );
        // A read is resent, but here nobody can answer it either.
        let started = Instant::now();
        let err = c.get("t/failover/k").unwrap_err();
        assert!(started.elapsed() < timeout + Duration::from_secs(2));
        assert!(matches!(err, EtcdError::Unreachable { .. }), "{err}");

        // Quorum back: the write that may have been applied is visible or not,
        // and new writes go through.
        cluster.restart(1);
        cluster.wait_healthy(Duration::from_secs(20)).unwrap();
        let c = client_for(endpoints.clone(), Duration::from_secs(10));
        c.put("t/failover/k", "v4", None).unwrap();
        assert_eq!(c.get("t/failover/k").unwrap().kv.unwrap().value, b"v4");
        assert!(cluster.data_dir(0).join("member").is_dir());
    }

    // --- The shared TLS cluster ---

    #[test]
    fn tls_works_with_the_right_certificates_only() {
        let cluster = TestCluster::shared_tls();
        let endpoints = cluster.endpoints();
        let good = cluster.tls_files();
        let c = tls_client(endpoints.clone(), good.clone());
        c.put("t/tls/k", "v", None).unwrap();
        assert_eq!(c.get("t/tls/k").unwrap().kv.unwrap().value, b"v");

        let refused = |files: ClientCerts, what: &str| {
            let c = tls_client(endpoints.clone(), files);
            for err in [
                c.get("t/tls/k").unwrap_err(),
                c.put("t/tls/k", "x", None).unwrap_err(),
            ] {
                match &err {
                    EtcdError::Tls {
                        endpoint,
                        what: why,
                    } => {
                        assert_eq!(endpoint, &endpoints[0]);
                        assert!(why.contains(what), "{err}");
                    }
                    e => panic!("{e}"),
                }
            }
        };
        refused(
            cluster.foreign_tls_files(),
            "refused our client certificate",
        );
        refused(
            cluster.expired_tls_files(),
            "refused our client certificate",
        );
        let wrong_ca = ClientCerts {
            ca: cluster.foreign_ca(),
            ..good
        };
        refused(wrong_ca, "not signed by our CA");
        assert_eq!(c.get("t/tls/k").unwrap().kv.unwrap().value, b"v");
    }

    #[test]
    fn plain_http_to_tls_and_tls_to_plain_fail_as_tls() {
        let tls = TestCluster::shared_tls();
        let c = client_for(tls.endpoints(), Duration::from_secs(5));
        for err in [
            c.get("t/x").unwrap_err(),
            c.put("t/x", "v", None).unwrap_err(),
        ] {
            assert!(
                matches!(&err, EtcdError::Tls { what, .. } if what.contains("expects TLS")),
                "{err}"
            );
        }
        let c = tls_client(TestCluster::shared().endpoints(), tls.tls_files());
        let err = c.get("t/x").unwrap_err();
        assert!(
            matches!(&err, EtcdError::Tls { what, .. } if what.contains("does it speak TLS")),
            "{err}"
        );
    }
}

//! The public request and answer types, and how a transaction's parts are
//! written for the gateway. Values may be sealed secrets: no `Debug` here
//! shows one.

use std::fmt;

use serde_json::{json, Value};

use super::keys::prefix_range;
use super::wire::b64;

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

/// The answer to [`Client::get`](super::Client::get).
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

    pub(super) fn wire(&self) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

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
//!
//! The files, one job each: `config` and `tls` say where the cluster is and
//! how to reach it; `failover` carries one call across the endpoints and
//! `attempt` sorts what one endpoint gave; `types` are what callers send and
//! get; `wire` is the gateway's JSON as it comes and `parse` turns it into
//! `types`; `error` says why a call failed; `keys` turns a prefix into a range.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

mod attempt;
mod config;
mod error;
mod failover;
mod keys;
mod parse;
mod tls;
mod types;
mod wire;

pub use config::{EtcdConfig, TlsFiles, DEFAULT_TIMEOUT};
pub use error::EtcdError;
pub use keys::prefix_range;
pub use types::{
    CmpOp, Compare, Found, Header, KeyValue, Lease, LeaseTtl, OpResponse, Range, Status, Txn,
    TxnOp, TxnOutcome,
};

use config::check_endpoint;
use error::{compacted, is_future_revision};
use failover::Retry;
use parse::{
    header, key_value, parse, parse_delete, parse_header_only, parse_keep_alive, parse_lease_grant,
    parse_lease_ttl, parse_object, parse_range, parse_status, parse_txn,
};
use tls::tls_configs;
use wire::b64;

/// The shortest connect slice: below this, a connect to a live server on a
/// busy machine can fail for no good reason.
const MIN_CONNECT_SLICE: Duration = Duration::from_millis(200);

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
    /// Answers to reads at a revision, by request, once
    /// [`Client::keep_pinned_answers`] was called: what a revision holds
    /// never changes, so a read asked again (the trail's end, read by each
    /// step of a command) is answered from here. Forgotten at compaction.
    pinned: std::sync::Mutex<Answers>,
    keep_pinned: std::sync::atomic::AtomicBool,
}

/// How many answers to reads at a revision a client keeps (then it forgets
/// them all: a command asks far fewer).
const PINNED_ANSWERS: usize = 256;

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
            pinned: Default::default(),
            keep_pinned: Default::default(),
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

    /// Reads one key at `revision`, or at the latest one when `None`.
    pub fn get_inner(&self, key: &[u8], revision: Option<i64>) -> Result<Found, EtcdError> {
        let body = json!({ "key": b64(key) });
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
        self.range(body, revision)
    }

    /// A range read, at `revision` when given.
    ///
    /// A read at a revision this client has heard of is served by the member
    /// asked alone (serializable, no round of the leader's): a revision's
    /// keys never change, so only a member that has not applied it yet can
    /// answer otherwise, and it says so; the read is then asked again
    /// linearizably, which waits until it has.
    fn range(&self, mut body: Value, revision: Option<i64>) -> Result<Range, EtcdError> {
        let asked = match revision {
            Some(revision) => {
                body["revision"] = json!(revision.to_string());
                body["serializable"] = json!(true);
                self.read_pinned("/v3/kv/range", &body, |body| {
                    body["serializable"] = json!(false);
                })
            }
            None => self.call("/v3/kv/range", &body, Retry::Safe),
        };
        let (endpoint, answer) = asked.map_err(|e| compacted(e, revision))?;
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
        self.ask_header("/v3/kv/put", &body, Retry::Never)
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
        match self.ask_header("/v3/lease/revoke", &body, Retry::Safe) {
            Ok(header) => Ok(Some(header)),
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
        // What was compacted away is not kept in memory either.
        self.pinned_answers().clear();
        let body = json!({ "revision": revision.to_string(), "physical": physical });
        // Safe to resend: a second compaction at the same revision is `None`.
        match self.ask_header("/v3/kv/compaction", &body, Retry::Safe) {
            Ok(header) => Ok(Some(header)),
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

    /// A request whose answer is only a header, checked by [`Self::pin`].
    /// Parsing and pinning fail as `Malformed` or `ClusterMismatch`, which
    /// the callers' matches on `Refused` and `Compacted` pass through.
    fn ask_header(&self, path: &str, body: &Value, retry: Retry) -> Result<Header, EtcdError> {
        let (endpoint, answer) = self.call(path, body, retry)?;
        let header = parse_header_only(&answer)?;
        self.pin(&endpoint, &header)?;
        Ok(header)
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
}

impl Client {
    /// A read at a revision (`body` asks for it serializable): answered
    /// from the answers kept if asked before, else by the member, or, by one
    /// that has not applied the revision yet, asked again as `linearizable`
    /// makes it (see `range`).
    fn read_pinned(
        &self,
        path: &str,
        body: &Value,
        linearizable: impl FnOnce(&mut Value),
    ) -> Result<(String, Vec<u8>), EtcdError> {
        let keep = self.keep_pinned.load(Ordering::Relaxed);
        let asked = format!("{path} {body}");
        if let Some(answer) = self.pinned_answers().get(&asked).filter(|_| keep) {
            return Ok(answer.clone());
        }
        let answer = match self.call(path, body, Retry::Safe) {
            Err(e) if is_future_revision(&e) => {
                let mut body = body.clone();
                linearizable(&mut body);
                self.call(path, &body, Retry::Safe)
            }
            other => other,
        }?;
        if keep {
            let mut pinned = self.pinned_answers();
            if pinned.len() >= PINNED_ANSWERS {
                pinned.clear();
            }
            pinned.insert(asked, answer.clone());
        }
        Ok(answer)
    }
}

type Answers = std::collections::HashMap<String, (String, Vec<u8>)>;

impl Client {
    /// From now on, answers reads at a revision asked before from memory
    /// (a store's snapshots ask the same reads again; a client that checks
    /// what the cluster still holds must not).
    pub fn keep_pinned_answers(&self) {
        self.keep_pinned.store(true, Ordering::Relaxed);
    }

    fn pinned_answers(&self) -> std::sync::MutexGuard<'_, Answers> {
        // Plain data: a panic elsewhere cannot leave it half-changed.
        self.pinned.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ordered reads of a key range, for the store's logs.
impl Client {
    /// The last key in `[start, end)` (by key order), if any, at `at` (a
    /// revision) or at the latest one.
    pub fn range_last(
        &self,
        start: &[u8],
        end: &[u8],
        at: Option<i64>,
    ) -> Result<Option<KeyValue>, EtcdError> {
        let body = json!({
            "key": b64(start),
            "range_end": b64(end),
            "sort_order": "DESCEND",
            "sort_target": "KEY",
            "limit": "1",
        });
        Ok(self.range(body, at)?.kvs.into_iter().next())
    }

    /// Every key in `[start, end)`, in key order.
    pub fn range_between(&self, start: &[u8], end: &[u8]) -> Result<Vec<KeyValue>, EtcdError> {
        let body = json!({ "key": b64(start), "range_end": b64(end) });
        Ok(self.range(body, None)?.kvs)
    }

    /// The last key in `[start, split)` and every key in `[split, end)`, read
    /// at one revision in one round trip: a transaction of reads only, which
    /// etcd serves as a linearizable read, without a raft proposal. At
    /// revision `at` when given.
    pub fn range_last_and_after(
        &self,
        start: &[u8],
        split: &[u8],
        end: &[u8],
        at: Option<i64>,
    ) -> Result<(Option<KeyValue>, Vec<KeyValue>), EtcdError> {
        let mut body = json!({
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
        // At a revision heard of: serializable, as a lone range (see `range`);
        // etcd serves a transaction whose reads all are so without the leader.
        let set_reads = |body: &mut Value, serializable: bool| {
            for read in body["success"].as_array_mut().into_iter().flatten() {
                read["request_range"]["revision"] = json!(at.unwrap_or(0).to_string());
                read["request_range"]["serializable"] = json!(serializable);
            }
        };
        // Reads only: as safe to send again as a range.
        let asked = match at {
            Some(_) => {
                set_reads(&mut body, true);
                self.read_pinned("/v3/kv/txn", &body, |body| set_reads(body, false))
            }
            None => self.call("/v3/kv/txn", &body, Retry::Safe),
        };
        let (endpoint, answer) = asked.map_err(|e| compacted(e, at))?;
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

    /// At most `limit` keys of `[start, end)`, in key order, without values,
    /// at revision `at` or at the latest one.
    pub fn range_keys(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        at: Option<i64>,
    ) -> Result<Vec<KeyValue>, EtcdError> {
        let body = json!({
            "key": b64(start),
            "range_end": b64(end),
            "keys_only": true,
            "limit": limit.to_string(),
        });
        Ok(self.range(body, at)?.kvs)
    }

    /// Whether `key` exists (at revision `at`, or now), without reading its
    /// value.
    pub fn exists(&self, key: impl AsRef<[u8]>, at: Option<i64>) -> Result<bool, EtcdError> {
        let key = key.as_ref();
        let body = json!({ "key": b64(key), "keys_only": true });
        Ok(self.range(body, at)?.kvs.iter().any(|kv| kv.key == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::etcd::test_cluster::TestCluster;
    use std::time::{Duration, Instant};

    pub(super) fn client_for(endpoints: Vec<String>, timeout: Duration) -> Client {
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
}

//! From the gateway's answers to the public types. An answer that does not
//! parse, or lacks the header naming the cluster, is an
//! [`EtcdError::Malformed`], never a panic.

use serde::Deserialize;
use serde_json::Value;

use super::types::{
    Header, KeyValue, Lease, LeaseTtl, OpResponse, Range, Status, Txn, TxnOp, TxnOutcome,
};
use super::wire;
use super::EtcdError;

pub(super) fn parse<'a, T: Deserialize<'a>>(answer: &'a [u8], what: &str) -> Result<T, EtcdError> {
    serde_json::from_slice(answer).map_err(|e| EtcdError::Malformed {
        // serde_json's message names the line and column, never the input.
        what: format!("{what}: {e}"),
    })
}

pub(super) fn header(h: Option<wire::Header>, what: &str) -> Result<Header, EtcdError> {
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

pub(super) fn key_value(kv: wire::Kv) -> KeyValue {
    KeyValue {
        key: kv.key,
        value: kv.value,
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        lease: kv.lease,
    }
}

/// The keys of a range answer; none when the gateway left `kvs` out.
fn key_values(kvs: Option<Vec<wire::Kv>>) -> Vec<KeyValue> {
    kvs.unwrap_or_default().into_iter().map(key_value).collect()
}

pub(super) fn parse_range(answer: &[u8]) -> Result<Range, EtcdError> {
    let w: wire::Range = parse(answer, "range answer")?;
    let kvs = key_values(w.kvs);
    Ok(Range {
        count: w.count.max(kvs.len() as i64),
        kvs,
        header: header(w.header, "range answer")?,
    })
}

pub(super) fn parse_header_only(answer: &[u8]) -> Result<Header, EtcdError> {
    let w: wire::HeaderOnly = parse(answer, "answer")?;
    header(w.header, "answer")
}

pub(super) fn parse_delete(answer: &[u8]) -> Result<(i64, Header), EtcdError> {
    let w: wire::Delete = parse(answer, "delete answer")?;
    Ok((w.deleted, header(w.header, "delete answer")?))
}

pub(super) fn parse_object(answer: &[u8]) -> Result<(), EtcdError> {
    parse::<serde_json::Map<String, Value>>(answer, "answer").map(|_| ())
}

pub(super) fn parse_txn(answer: &[u8], txn: &Txn) -> Result<TxnOutcome, EtcdError> {
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
            ) => Ok(OpResponse::Range(key_values(r.kvs))),
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

pub(super) fn parse_lease_grant(answer: &[u8]) -> Result<Lease, EtcdError> {
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

pub(super) fn parse_keep_alive(answer: &[u8]) -> Result<Option<i64>, EtcdError> {
    let w: wire::KeepAlive = parse(answer, "lease keep-alive answer")?;
    // A lease that is gone answers a TTL of 0 (or none at all).
    Ok(w.result.map(|r| r.ttl).filter(|ttl| *ttl > 0))
}

pub(super) fn parse_lease_ttl(answer: &[u8]) -> Result<LeaseTtl, EtcdError> {
    let w: wire::LeaseTtl = parse(answer, "lease time-to-live answer")?;
    Ok(LeaseTtl {
        // etcd says -1 for a lease that expired or never was.
        remaining: (w.ttl >= 0).then_some(w.ttl),
        granted: w.granted,
        header: header(w.header, "lease time-to-live answer")?,
    })
}

pub(super) fn parse_status(answer: &[u8], endpoint: &str) -> Result<Status, EtcdError> {
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

#[cfg(test)]
mod tests {
    use super::super::attempt::server_error;
    use super::*;
    use crate::store::etcd::client::Compare;
    use proptest::prelude::*;

    // Answers as etcd 3.4.23's gateway gives them.
    const HEADER: &str = r#""header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"}"#;

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
}

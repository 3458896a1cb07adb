//! One call across the endpoints: which member is asked first, how the time
//! bound is shared out, and when a request may be sent again elsewhere.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::attempt::{
    find_rustls_error, hung_up, read_body, server_error, transport_error, Attempt,
};
use super::error::{member_unavailable, rejected_before_proposal};
use super::tls::describe_tls;
use super::{Client, EtcdError};

/// Whether a request may be sent again to another member after it may have
/// reached one: only when sending it twice has the same effect as once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    Safe,
    Never,
}

/// How long to wait before asking every member again, when none could serve.
const PASS_PAUSE: Duration = Duration::from_millis(200);

impl Client {
    /// One request to one endpoint, with the whole timeout.
    pub(super) fn call_one(
        &self,
        i: usize,
        path: &str,
        body: &Value,
    ) -> Result<Vec<u8>, EtcdError> {
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
    pub(super) fn call(
        &self,
        path: &str,
        body: &Value,
        retry: Retry,
    ) -> Result<(String, Vec<u8>), EtcdError> {
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

#[cfg(test)]
mod tests {
    use super::super::tests::client_for;
    use super::*;
    use crate::store::etcd::client::{CmpOp, Compare, Txn};
    use crate::store::etcd::test_cluster::{Options, TestCluster};

    /// A port nothing listens on: bound, then released.
    fn dead_endpoint() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("127.0.0.1:{port}")
    }

    /// The error's one line names every endpoint tried.
    fn assert_names_every_endpoint(err: &EtcdError, endpoints: &[String]) {
        let text = err.to_string();
        assert!(
            endpoints.iter().all(|e| text.contains(e.as_str())),
            "{text}"
        );
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
        assert_names_every_endpoint(&err, &endpoints);
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
        assert_names_every_endpoint(&err, &endpoints);
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
}

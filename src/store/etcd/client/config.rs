//! Where the cluster is and how to reach it: endpoints, TLS files, the time
//! bound, and the checks that catch a bad endpoint before anything is sent.

use std::path::PathBuf;
use std::time::Duration;

use super::EtcdError;

/// How long one whole call may take, all endpoints together, unless the
/// configuration says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

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

pub(super) fn check_endpoint(endpoint: &str) -> Result<(), EtcdError> {
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

#[cfg(test)]
mod tests {
    use super::super::Client;
    use super::*;

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
}

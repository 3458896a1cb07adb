//! Mutual TLS: the rustls configuration from PEM files, and what a failed
//! handshake means in words the user can act on.

use std::path::Path;
use std::sync::Arc;

use super::{EtcdError, TlsFiles};

/// The client's TLS configuration, and the same restricted to TLS 1.2 for
/// [`Client::diagnose_hang_up`](super::Client::diagnose_hang_up).
pub(super) fn tls_configs(
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

pub(super) fn describe_tls(e: &rustls::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::super::tests::client_for;
    use super::super::{Client, EtcdConfig, DEFAULT_TIMEOUT};
    use super::*;
    use crate::store::etcd::test_cluster::{ClientCerts, TestCluster};
    use std::time::Duration;

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

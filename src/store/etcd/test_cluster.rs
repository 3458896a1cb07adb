//! Real etcd clusters on loopback, for tests.
//!
//! Each member is the system's `etcd` (3.4 here) on 127.0.0.1 with ports the
//! kernel handed out and a temporary data directory. A test either starts its
//! own cluster (when it kills members) or shares one per test binary through
//! [`TestCluster::shared`] and keeps apart from the other tests by key prefix.
//!
//! No etcd outlives the test process, even a static cluster that is never
//! dropped: each member runs under a tiny `sh` watchdog that holds the read
//! end of a pipe whose write end only this process has. When the process ends,
//! however it ends, the kernel closes the pipe, the watchdog reads end-of-file
//! and kills its etcd, then removes the cluster's directory.
//!
//! This file uses only std, tempfile and rcgen, so an integration test can
//! include it with `#[path = "../../src/store/etcd/test_cluster.rs"] mod test_cluster;`.
// A test crate that includes this file uses only part of it.
#![allow(dead_code)]
// A harness that cannot start its cluster can only stop the test, loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a cluster may take to become healthy before the test gives up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The watchdog: fd 3 is the lifeline pipe. The background subshell waits on
/// it; `$$` in it is the pid of this shell, which `exec` turns into etcd. A
/// line "keep" (from [`TestCluster::kill`]) means: kill etcd but keep its data
/// for a restart. Plain end-of-file means the test process is gone: kill etcd
/// and remove the cluster's directory.
const WATCHDOG: &str = r#"
root=$1; shift
exec 3<&0
(
    keep=
    while read -r line <&3; do [ "$line" = keep ] && keep=1; done
    kill -9 $$ 2>/dev/null
    if [ -z "$keep" ]; then sleep 0.3; rm -rf "$root"; fi
) &
exec "$@" 0</dev/null 3<&-
"#;

/// What cluster to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many members.
    pub members: usize,
    /// Whether clients must speak TLS with a client certificate.
    pub tls: bool,
    /// More etcd flags, given to every member.
    pub extra_flags: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            members: 3,
            tls: false,
            extra_flags: Vec::new(),
        }
    }
}

/// PEM files a client needs for mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCerts {
    /// The CA the client trusts.
    pub ca: PathBuf,
    /// The client's certificate.
    pub cert: PathBuf,
    /// The client's private key.
    pub key: PathBuf,
}

struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    metrics_port: u16,
    running: Mutex<Option<Running>>,
}

struct Running {
    child: Child,
    /// Dropping it (closing the pipe) makes the watchdog kill etcd.
    lifeline: ChildStdin,
}

struct Certs {
    dir: PathBuf,
    ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    ca_file: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

/// A running etcd cluster on loopback.
pub struct TestCluster {
    // Dropped last (fields drop in order): the members are killed first.
    members: Vec<Member>,
    args: Vec<Vec<String>>,
    certs: Option<Certs>,
    dir: tempfile::TempDir,
}

impl TestCluster {
    /// Starts a cluster and waits until every member is healthy. Panics, with
    /// the tail of each member's log, when that takes more than 20 s.
    pub fn start(options: Options) -> TestCluster {
        let installed = Command::new("etcd")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "these tests start real etcd servers, and no etcd is on PATH \
             (Debian: apt-get install etcd-server)"
        );
        // A port the kernel gave us can be taken again before etcd binds it:
        // try again with new ports before blaming etcd.
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(&options) {
                Ok(cluster) => return cluster,
                Err(why) => last = why,
            }
        }
        panic!("etcd test cluster did not start:\n{last}");
    }

    /// The cluster shared by the tests of this binary: 3 plain members.
    pub fn shared() -> &'static TestCluster {
        static SHARED: OnceLock<TestCluster> = OnceLock::new();
        SHARED.get_or_init(|| TestCluster::start(Options::default()))
    }

    /// A TLS cluster shared by the tests of this binary: 1 member, enough to
    /// test handshakes.
    pub fn shared_tls() -> &'static TestCluster {
        static SHARED: OnceLock<TestCluster> = OnceLock::new();
        SHARED.get_or_init(|| {
            TestCluster::start(Options {
                members: 1,
                tls: true,
                extra_flags: Vec::new(),
            })
        })
    }

    fn try_start(options: &Options) -> Result<TestCluster, String> {
        assert!(options.members > 0, "a cluster needs a member");
        let dir = tempfile::Builder::new()
            .prefix("intervault-etcd-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let certs = options.tls.then(|| Certs::generate(dir.path()));
        let ports = free_ports(options.members * 3)?;
        let members: Vec<Member> = (0..options.members)
            .map(|i| Member {
                name: format!("m{i}"),
                client_port: ports[i * 3],
                peer_port: ports[i * 3 + 1],
                metrics_port: ports[i * 3 + 2],
                running: Mutex::new(None),
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        static TOKENS: AtomicUsize = AtomicUsize::new(0);
        let token = format!(
            "intervault-test-{}-{}",
            std::process::id(),
            TOKENS.fetch_add(1, Ordering::Relaxed)
        );
        let scheme = if options.tls { "https" } else { "http" };
        let args = members
            .iter()
            .map(|m| {
                let client_url = format!("{scheme}://127.0.0.1:{}", m.client_port);
                let peer_url = format!("http://127.0.0.1:{}", m.peer_port);
                let path = |p: &Path| p.display().to_string();
                let mut args = vec![
                    format!("--name={}", m.name),
                    format!("--data-dir={}", path(&dir.path().join(&m.name))),
                    format!("--listen-client-urls={client_url}"),
                    format!("--advertise-client-urls={client_url}"),
                    format!("--listen-peer-urls={peer_url}"),
                    format!("--initial-advertise-peer-urls={peer_url}"),
                    // Plain HTTP for /health whatever the client side speaks.
                    format!("--listen-metrics-urls=http://127.0.0.1:{}", m.metrics_port),
                    format!("--initial-cluster={initial_cluster}"),
                    format!("--initial-cluster-token={token}"),
                    "--initial-cluster-state=new".to_string(),
                    // 3.4 checkpoints leases only with the zap logger.
                    "--logger=zap".to_string(),
                    format!(
                        "--log-outputs={}",
                        path(&dir.path().join(format!("{}.log", m.name)))
                    ),
                    "--experimental-enable-lease-checkpoint".to_string(),
                ];
                if let Some(certs) = &certs {
                    args.extend([
                        format!("--cert-file={}", path(&certs.server_cert)),
                        format!("--key-file={}", path(&certs.server_key)),
                        format!("--trusted-ca-file={}", path(&certs.ca_file)),
                        "--client-cert-auth".to_string(),
                    ]);
                }
                args.extend(options.extra_flags.iter().cloned());
                args
            })
            .collect();
        let cluster = TestCluster {
            members,
            args,
            certs,
            dir,
        };
        for i in 0..cluster.members.len() {
            cluster.spawn(i).map_err(|e| format!("spawn etcd: {e}"))?;
        }
        cluster.wait_healthy(START_TIMEOUT)?;
        Ok(cluster)
    }

    fn spawn(&self, i: usize) -> std::io::Result<()> {
        let member = &self.members[i];
        let out = fs::File::create(self.dir.path().join(format!("{}.out", member.name)))?;
        let child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("sh")
            .arg(self.dir.path())
            .arg("etcd")
            .args(&self.args[i])
            .stdin(Stdio::piped())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let mut child = child;
        let lifeline = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin pipe"))?;
        *member.running.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Running { child, lifeline });
        Ok(())
    }

    /// Waits until every running member says it is healthy (it has a leader
    /// and no alarm).
    pub fn wait_healthy(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut sick = Vec::new();
            for (i, member) in self.members.iter().enumerate() {
                let mut running = member.running.lock().unwrap_or_else(|e| e.into_inner());
                let Some(run) = running.as_mut() else {
                    continue;
                };
                if let Ok(Some(status)) = run.child.try_wait() {
                    *running = None;
                    return Err(format!(
                        "{} exited ({status})\n{}",
                        member.name,
                        self.log_tails()
                    ));
                }
                if !healthy(member.metrics_port) {
                    sick.push(i);
                }
            }
            if sick.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "members {sick:?} not healthy after {timeout:?}\n{}",
                    self.log_tails()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The members' client endpoints, `127.0.0.1:port`.
    pub fn endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| format!("127.0.0.1:{}", m.client_port))
            .collect()
    }

    /// The CA and a client certificate (CN "alice") the cluster accepts.
    pub fn tls_files(&self) -> ClientCerts {
        self.client_certs("alice")
    }

    /// A client certificate with this common name, signed by the cluster's CA.
    pub fn client_certs(&self, common_name: &str) -> ClientCerts {
        let certs = self.certs();
        let (cert, key) = certs.issue(common_name, false, &certs.ca);
        ClientCerts {
            ca: certs.ca_file.clone(),
            cert,
            key,
        }
    }

    /// The cluster's CA and a client certificate (CN "mallory") from a CA the
    /// cluster does not know.
    pub fn foreign_tls_files(&self) -> ClientCerts {
        let certs = self.certs();
        let (cert, key) = certs.issue("mallory", false, &ca("foreign CA"));
        ClientCerts {
            ca: certs.ca_file.clone(),
            cert,
            key,
        }
    }

    /// A CA that did not sign the cluster's server certificate, to trust by
    /// mistake.
    pub fn foreign_ca(&self) -> PathBuf {
        let path = self.certs().dir.join("foreign-ca.pem");
        fs::write(&path, ca("foreign CA").pem()).unwrap();
        path
    }

    /// A client certificate signed by the cluster's CA that expired in 2020.
    pub fn expired_tls_files(&self) -> ClientCerts {
        let certs = self.certs();
        let (cert, key) = certs.issue("expired-alice", true, &certs.ca);
        ClientCerts {
            ca: certs.ca_file.clone(),
            cert,
            key,
        }
    }

    fn certs(&self) -> &Certs {
        self.certs
            .as_ref()
            .expect("this cluster was started without TLS")
    }

    /// Kills member `i` (SIGKILL), keeping its data for [`Self::restart`].
    pub fn kill(&self, i: usize) {
        let running = self.members[i]
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mut run) = running {
            // The watchdog kills etcd; etcd stays unreaped (a zombie, so its
            // pid cannot be reused) until the wait below.
            let _ = run.lifeline.write_all(b"keep\n");
            drop(run.lifeline);
            let _ = run.child.wait();
        }
    }

    /// Starts member `i` again on its data and ports, after [`Self::kill`];
    /// returns once it accepts connections (not necessarily healthy: it may
    /// have no quorum; see [`Self::wait_healthy`]).
    pub fn restart(&self, i: usize) {
        self.kill(i);
        self.spawn(i).unwrap();
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.members[i].client_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{} did not come back\n{}",
                self.members[i].name,
                self.log_tails()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Member `i`'s data directory.
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(&self.members[i].name)
    }

    /// The last lines of every member's log, for a failure message.
    pub fn log_tails(&self) -> String {
        let mut tails = String::new();
        for m in &self.members {
            for ext in ["log", "out"] {
                let path = self.dir.path().join(format!("{}.{ext}", m.name));
                let text = fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let _ = writeln!(tails, "--- {} ---", path.display());
                for line in &lines[lines.len().saturating_sub(15)..] {
                    let _ = writeln!(tails, "{line}");
                }
            }
        }
        tails
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for member in &self.members {
            let running = member
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(mut run) = running {
                drop(run.lifeline);
                let _ = run.child.wait();
            }
        }
    }
}

/// Snapshots, as an operator takes and restores them.
impl TestCluster {
    /// Saves a snapshot of the cluster (taken from member 0) into `file`, with
    /// `etcdctl snapshot save`.
    pub fn snapshot_save(&self, file: &Path) {
        assert!(self.certs.is_none(), "snapshots of plain clusters only");
        let out = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoints()[0]))
            .args(["snapshot", "save"])
            .arg(file)
            .output()
            .expect("etcdctl");
        assert!(
            out.status.success(),
            "etcdctl snapshot save: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Puts the whole cluster back to `snapshot` as the etcd docs say: every
    /// member stopped, `etcdctl snapshot restore` into a new data directory
    /// for each, members started again on them. With `same_id` the restore
    /// gives the cluster's own token, so the cluster keeps its ID; without,
    /// etcdctl's default token, so the cluster gets a new ID.
    pub fn restore_snapshot(&self, snapshot: &Path, same_id: bool) {
        let flag = |i: usize, name: &str| -> String {
            let start = format!("--{name}=");
            self.args[i]
                .iter()
                .find_map(|a| a.strip_prefix(&start))
                .unwrap_or_else(|| panic!("member {i} has no --{name}"))
                .to_owned()
        };
        for i in 0..self.members.len() {
            self.kill(i);
        }
        for (i, member) in self.members.iter().enumerate() {
            let data = self.data_dir(i);
            fs::remove_dir_all(&data).unwrap();
            let mut c = Command::new("etcdctl");
            c.env("ETCDCTL_API", "3")
                .args(["snapshot", "restore"])
                .arg(snapshot)
                .arg(format!("--name={}", member.name))
                .arg(format!("--initial-cluster={}", flag(i, "initial-cluster")))
                .arg(format!(
                    "--initial-advertise-peer-urls={}",
                    flag(i, "initial-advertise-peer-urls")
                ))
                .arg(format!("--data-dir={}", data.display()));
            if same_id {
                c.arg(format!(
                    "--initial-cluster-token={}",
                    flag(i, "initial-cluster-token")
                ));
            }
            let out = c.output().expect("etcdctl");
            assert!(
                out.status.success(),
                "etcdctl snapshot restore: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for i in 0..self.members.len() {
            self.restart(i);
        }
        self.wait_healthy(START_TIMEOUT).unwrap();
    }
}

/// Asks a member's plain-HTTP metrics listener whether it is healthy.
fn healthy(metrics_port: u16) -> bool {
    let ask = || -> std::io::Result<String> {
        let addr = ("127.0.0.1", metrics_port);
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let _ = stream.shutdown(Shutdown::Write);
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    };
    ask().is_ok_and(|a| a.contains("\"health\":\"true\""))
}

fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    // Hold them all at once so the kernel gives n different ones.
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("free port: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("free port: {e}"))
}

fn ca(name: &str) -> rcgen::CertifiedIssuer<'static, rcgen::KeyPair> {
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap()
}

impl Certs {
    fn generate(dir: &Path) -> Certs {
        let dir = dir.join("certs");
        fs::create_dir_all(&dir).unwrap();
        let ca = ca("intervault test CA");
        let ca_file = dir.join("ca.pem");
        fs::write(&ca_file, ca.pem()).unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "etcd test server");
        // etcd 3.4's gateway dials its own gRPC server presenting this same
        // certificate as a client certificate, so it must be good for both.
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        let server_cert = dir.join("server.pem");
        let server_key = dir.join("server-key.pem");
        fs::write(&server_cert, cert.pem()).unwrap();
        fs::write(&server_key, key.serialize_pem()).unwrap();
        Certs {
            dir,
            ca,
            ca_file,
            server_cert,
            server_key,
        }
    }

    /// A client certificate for `common_name` signed by `issuer`, written as
    /// `<common_name>.pem` and `<common_name>-key.pem`.
    fn issue(
        &self,
        common_name: &str,
        expired: bool,
        issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
    ) -> (PathBuf, PathBuf) {
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        if expired {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, issuer).unwrap();
        // Files of their own: tests that run at once may ask for the same name,
        // and a certificate must never meet another call's key.
        static ISSUED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = ISSUED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cert_file = self.dir.join(format!("{common_name}-{n}.pem"));
        let key_file = self.dir.join(format!("{common_name}-{n}-key.pem"));
        fs::write(&cert_file, cert.pem()).unwrap();
        fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }
}

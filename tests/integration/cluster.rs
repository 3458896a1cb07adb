//! A vault on a real etcd cluster driven through the binary, for every test
//! file that needs one: each machine a home of its own, each command a
//! process of its own. The one copy of the library's test clusters in this
//! test binary (one shared cluster for all its files).

use std::process::{Command, Output, Stdio};

#[path = "../../src/store/etcd/test_cluster.rs"]
pub mod test_cluster;

pub use test_cluster::{ClientCerts, Options, TestCluster};

/// A vault under a fresh prefix of a cluster, used from a home of its own.
pub struct EtcdVault {
    pub home: tempfile::TempDir,
    pub url: String,
    pub endpoints: Vec<String>,
    pub prefix: String,
    /// The client certificate this machine uses, on a cluster with TLS.
    pub tls: Option<ClientCerts>,
}

impl EtcdVault {
    /// A vault-to-be under a fresh prefix of `cluster`.
    pub fn on(cluster: &TestCluster) -> Self {
        let prefix = format!("it/{}", random_name());
        let endpoints = cluster.endpoints();
        EtcdVault {
            home: tempfile::tempdir().unwrap(),
            url: format!("etcd://{}/{prefix}", endpoints.join(",")),
            endpoints,
            prefix,
            tls: None,
        }
    }

    /// Another machine of the agency: the same vault, a home of its own.
    pub fn another_machine(&self) -> Self {
        EtcdVault {
            home: tempfile::tempdir().unwrap(),
            url: self.url.clone(),
            endpoints: self.endpoints.clone(),
            prefix: self.prefix.clone(),
            tls: self.tls.clone(),
        }
    }

    /// The command, with this machine's home and the vault's URL.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("intervault"));
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("TZ", "UTC")
            .env("INTERVAULT_DIR", &self.url)
            .env("INTERVAULT_PASSPHRASE", "correct horse battery staple")
            .stdin(Stdio::null());
        if let Some(tls) = &self.tls {
            c.env("INTERVAULT_ETCD_CA", &tls.ca)
                .env("INTERVAULT_ETCD_CERT", &tls.cert)
                .env("INTERVAULT_ETCD_KEY", &tls.key);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stderr)
    }

    pub fn init(&self) {
        self.ok(&[
            "init",
            "--kdf-memory",
            "8",
            "--kdf-iterations",
            "1",
            "--kdf-parallelism",
            "1",
        ]);
    }

    /// `add ID NAME` with `secret` on stdin, started (not waited for).
    pub fn spawn_add(&self, id: &str, name: &str, secret: &str) -> std::process::Child {
        self.spawn_add_as(id, name, secret, "bob")
    }

    /// [`EtcdVault::spawn_add`] with `user` as the credential's user name.
    pub fn spawn_add_as(
        &self,
        id: &str,
        name: &str,
        secret: &str,
        user: &str,
    ) -> std::process::Child {
        let mut c = self.command(&["add", id, name, "--kind", "hosting", "--user", user]);
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{secret}").unwrap();
        child
    }

    pub fn add(&self, id: &str, name: &str, secret: &str) {
        self.add_as(id, name, secret, "bob");
    }

    /// [`EtcdVault::add`] with `user` as the credential's user name.
    pub fn add_as(&self, id: &str, name: &str, secret: &str, user: &str) {
        let child = self.spawn_add_as(id, name, secret, user);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "add: {}", text(&out.stderr));
    }

    /// `etcdctl` with the cluster's endpoints (and this machine's client
    /// certificate, on a cluster with TLS) and `args`, as an operator runs it.
    pub fn etcdctl_output(&self, args: &[&str]) -> Output {
        let mut c = Command::new("etcdctl");
        c.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoints.join(",")));
        if let Some(tls) = &self.tls {
            c.arg(format!("--cacert={}", tls.ca.display()))
                .arg(format!("--cert={}", tls.cert.display()))
                .arg(format!("--key={}", tls.key.display()));
        }
        c.args(args).output().expect("etcdctl")
    }

    /// [`EtcdVault::etcdctl_output`], which must succeed; its stdout.
    pub fn etcdctl(&self, args: &[&str]) -> String {
        let out = self.etcdctl_output(args);
        assert!(out.status.success(), "etcdctl: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// Every key and value under the vault's prefix, as `etcdctl` shows them.
    pub fn dump(&self) -> String {
        self.etcdctl(&["get", "--prefix", &self.prefix])
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn random_name() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

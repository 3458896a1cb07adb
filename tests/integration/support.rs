//! A small fluent helper to run the real binary against a private vault.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

/// The passphrase every test vault uses.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// A scratch vault in its own temporary directory.
pub struct TestVault {
    _tmp: TempDir,
    pub dir: PathBuf,
}

/// The account under which intervault keeps a vault's records in the OS keyring
/// (as `Vault::session_account` derives it from the canonical path).
pub fn keyring_account(dir: &Path) -> String {
    let path = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    let digest = intervault::crypto::sha256_tagged(path.as_os_str().as_encoded_bytes());
    let hex = digest.trim_start_matches("sha256:");
    format!("vault-{}", &hex[..32])
}

impl Drop for TestVault {
    /// A test vault leaves its records in the user's persistent keyring, which
    /// outlives the test run (every run's rollback records and key-store markers
    /// would pile up there): take them out. Best effort, and only this vault's.
    fn drop(&mut self) {
        if !self.dir.join("vault.json").exists() {
            return;
        }
        let account = keyring_account(&self.dir);
        let mut prefixes = vec![format!("intervault:{account}")];
        if let Ok(root) = std::fs::read(self.dir.join("vault.json")) {
            if let Ok(root) = serde_json::from_slice::<serde_json::Value>(&root) {
                if let Some(id) = root["key_store"]["id"].as_str() {
                    prefixes.push(format!("intervault:marker-{id}"));
                    prefixes.push(format!("intervault:key-{id}-"));
                }
            }
        }
        let purge: Vec<String> = prefixes
            .iter()
            .map(|p| format!("keyctl purge -p user '{p}' >/dev/null 2>&1"))
            .collect();
        let script = format!(
            "keyctl get_persistent @s >/dev/null 2>&1 || exit 0; {}",
            purge.join("; ")
        );
        let _ = std::process::Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

impl TestVault {
    /// A directory where a vault can be created (not yet initialised).
    pub fn empty() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("vault");
        TestVault { _tmp: tmp, dir }
    }

    /// A copy of this vault in a directory of its own: a vault this machine has
    /// never seen (so nothing it did to the original counts as its history).
    pub fn duplicate(&self) -> Self {
        let copy = Self::empty();
        copy_tree(&self.dir, &copy.dir);
        copy
    }

    /// An initialised vault with cheap KDF costs (tests run hundreds of unlocks).
    pub fn new() -> Self {
        let v = Self::empty();
        v.init_cheap(&[]).success();
        v
    }

    /// `init` with cheap KDF costs, and `extra` arguments.
    pub fn init_cheap(&self, extra: &[&str]) -> Run {
        let cheap = [
            "init",
            "--kdf-memory",
            "8",
            "--kdf-iterations",
            "1",
            "--kdf-parallelism",
            "1",
        ];
        self.run(&[&cheap[..], extra].concat())
    }

    /// A command against this vault, with the passphrase in the environment and
    /// nothing inherited that could change the outcome.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("intervault").expect("binary");
        c.args(args);
        self.with_vault_env(c)
    }

    fn with_vault_env(&self, mut c: Command) -> Command {
        c.env_clear().envs(self.env()).write_stdin("");
        c
    }

    /// The whole environment of a command against this vault.
    fn env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("HOME", self.dir.parent().unwrap_or(Path::new("/")).into()),
            ("TZ", "UTC".into()),
            ("INTERVAULT_DIR", self.dir.clone().into()),
            ("INTERVAULT_PASSPHRASE", PASSPHRASE.into()),
        ]
    }

    /// `program` as a std command with this vault's environment (for tests
    /// that need to own the standard streams), and `BIN` naming intervault.
    pub fn std_cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        c.env_clear()
            .envs(self.env())
            .env("BIN", assert_cmd::cargo::cargo_bin("intervault"));
        c
    }

    /// Runs intervault under `wrapper` (a program and its arguments, which then
    /// runs intervault with `args`), with this vault's environment.
    pub fn run_under(&self, wrapper: &[&str], args: &[&str]) -> Run {
        let mut c = Command::new(wrapper[0]);
        c.args(&wrapper[1..])
            .arg(assert_cmd::cargo::cargo_bin("intervault"))
            .args(args);
        let mut out = self.with_vault_env(c).output().expect("run the wrapper");
        // keyctl announces the session it joined on stderr: not intervault's.
        let err = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.starts_with("Joined session keyring"))
            .map(|l| format!("{l}\n"))
            .collect::<String>();
        out.stderr = err.into_bytes();
        Run(out)
    }

    /// Runs a command as another login session of the same user would (cron, a
    /// systemd user timer, SSH): in a new session keyring (`keyctl session -`).
    pub fn run_in_another_login(&self, args: &[&str]) -> Run {
        self.run_under(&["keyctl", "session", "-"], args)
    }

    /// Runs a command with empty stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.cmd(args).output().expect("run intervault"))
    }

    /// Runs a command with `stdin`.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        Run(self
            .cmd(args)
            .write_stdin(stdin)
            .output()
            .expect("run intervault"))
    }

    /// Opens an intervention active for two hours and adds one credential.
    pub fn open_with_credential(&self, id: &str, name: &str, secret: &str) {
        self.run(&["open", id, "--client", "Acme SARL", "--for", "2h"])
            .success();
        self.run_with_stdin(
            &[
                "add",
                id,
                name,
                "--kind",
                "hosting",
                "--user",
                "webmaster",
                "--url",
                "ftp.acme.example",
            ],
            &format!("{secret}\n"),
        )
        .success();
    }

    /// Adds a hosting credential with every field set: user `webmaster`, URL
    /// `ftp.acme.example`, note `port 21`, and `secret`.
    pub fn add_with_every_field(&self, id: &str, name: &str, secret: &str) {
        self.run_with_stdin(
            &[
                "add",
                id,
                name,
                "--kind",
                "hosting",
                "--user",
                "webmaster",
                "--url",
                "ftp.acme.example",
                "--note",
                "port 21",
            ],
            &format!("{secret}\n"),
        )
        .success();
    }

    /// Every file under the vault but the lock files and the audit trail, with
    /// its bytes, sorted by path.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        // The contract lets a failed command change the lock file and the audit
        // trail (which records the failure): neither counts as a change here.
        self.all_files()
            .into_iter()
            .filter(|(p, _)| !p.to_string_lossy().contains("audit"))
            .collect()
    }

    /// Every file under the vault but the lock files, with its bytes, sorted.
    pub fn all_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read_dir") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().contains("lock"))
                {
                    out.push((p.clone(), std::fs::read(&p).expect("read")));
                }
            }
        }
        out.sort();
        out
    }

    /// Whether `needle` appears in any file under the vault.
    pub fn contains_bytes(&self, needle: &[u8]) -> bool {
        self.all_files()
            .iter()
            .any(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
    }
}

/// The outcome of one run.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Asserts exit 0 and returns self.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(
            self.code(),
            0,
            "expected success; stderr: {}",
            self.stderr()
        );
        self
    }
    /// Asserts a failure with `code`, and that stderr ends with exactly one
    /// `intervault: what: what to do` line (expiry notices may precede it).
    #[track_caller]
    pub fn fails(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        let err = self.stderr();
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("intervault: ") && last.matches(": ").count() >= 2,
            "not a one-line error: {err:?}"
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.0.stdout).expect("stdout is JSON")
    }
}

/// Copies a directory tree, keeping permissions.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    let mode = std::fs::metadata(from).expect("stat").permissions();
    std::fs::set_permissions(to, mode).expect("chmod");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let p = e.expect("entry").path();
        let target = to.join(p.file_name().expect("a name"));
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

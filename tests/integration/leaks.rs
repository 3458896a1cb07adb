//! Leak checks on the running binary, from outside it, as another process on the
//! same machine would look:
//! - while intervault holds a secret (`exec` supervising its command, `add`
//!   holding part of a secret read from stdin) the secret is in neither its
//!   `/proc/PID/cmdline` nor its `/proc/PID/environ`, and a passphrase given with
//!   `--passphrase-file` is in neither either (the tests otherwise give the
//!   passphrase in `INTERVAULT_PASSPHRASE`, by design);
//! - with `ulimit -c unlimited` and a SIGABRT while a secret is in memory, no
//!   core is dumped: RLIMIT_CORE is 0 (soft and hard) whatever the shell set, and
//!   the process is not dumpable (which also covers a `core_pattern` that pipes to a
//!   handler, where RLIMIT_CORE does not apply);
//! - a ptrace attach by the same (unprivileged) user is refused, while the same
//!   attach on a plain `sleep` of that user succeeds;
//! - no failing command prints a stored secret or the passphrase, on stderr or on
//!   stdout, and no successful command but `get` prints the secret.
//!
//! The ptrace test needs `python3` (ctypes calls ptrace(2); `unsafe` is forbidden in
//! this crate). Run as root, it drops to `nobody` (65534) for both sides, since
//! CAP_SYS_PTRACE lets root attach to anything.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{cheap_vault, open_with, set_env, std_cmd, write_private, BIN};
use crate::support::{Run, TestVault, PASSPHRASE};

/// The credential secret every test looks for.
const SECRET: &str = "leak-canary-7f3e9a1c";

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Whether `needle` occurs in `hay`.
fn has(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Polls `f` every 20 ms for up to 10 s.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The soft and hard core-size limits of `pid`, as `/proc/PID/limits` shows them.
fn core_limits(pid: u32) -> Option<(String, String)> {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    Some((fields.get(4)?.to_string(), fields.get(5)?.to_string()))
}

/// Waits until `pid` has hardened itself (its core limit is zero), and a little
/// more so that it is blocked where the test wants it.
fn wait_hardened(pid: u32) {
    wait_for("the process to harden itself", || {
        core_limits(pid).filter(|(soft, hard)| soft == "0" && hard == "0")
    });
    std::thread::sleep(Duration::from_millis(200));
}

/// The child of `parent` whose command name is `comm`.
fn child_named(parent: u32, comm: &str) -> Option<u32> {
    for entry in fs::read_dir("/proc").ok()? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let ppid = stat[close + 1..].split_whitespace().nth(1);
        if &stat[open + 1..close] == comm && ppid == Some(&parent.to_string()) {
            return Some(pid);
        }
    }
    None
}

/// `/proc/PID/cmdline` and `/proc/PID/environ` of `pid` hold none of `needles`.
/// `environ` of a non-dumpable process is readable only with CAP_SYS_PTRACE: as
/// root it must be read (and is checked); otherwise refusing the read is the
/// protection. Returns the environment when it could be read.
#[track_caller]
fn assert_not_exposed(pid: u32, needles: &[&str], ctx: &str) -> Option<Vec<u8>> {
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).expect("read cmdline");
    assert!(!cmdline.is_empty(), "{ctx}: process {pid} is gone");
    let environ = match fs::read(format!("/proc/{pid}/environ")) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && !is_root() => None,
        Err(e) => panic!("{ctx}: cannot read /proc/{pid}/environ: {e}"),
    };
    for needle in needles {
        assert!(!has(&cmdline, needle), "{ctx}: {needle:?} in cmdline");
        if let Some(env) = &environ {
            assert!(!has(env, needle), "{ctx}: {needle:?} in environ");
        }
    }
    environ
}

fn signal(pid: u32, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
    rustix::process::kill_process(pid, sig).expect("kill");
}

/// A vault with `acme/ftp` holding [`SECRET`].
fn vault() -> TestVault {
    let v = cheap_vault();
    open_with(&v, "acme", &[("ftp", SECRET)]);
    v
}

#[test]
fn the_secret_is_not_in_cmdline_or_environ_while_exec_runs() {
    let v = vault();
    let child = std_cmd(&v, &["exec", "acme", "--", "sleep", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn exec");
    let pid = child.id();
    let sleep = wait_for("exec to start sleep", || child_named(pid, "sleep"));
    let own = assert_not_exposed(pid, &[SECRET], "intervault exec");
    if let Some(env) = own {
        // The read was real: the test's own variables are there.
        assert!(has(&env, "INTERVAULT_DIR="), "environ not read");
    }
    // Control: the command does get the secret, in its environment only, and
    // not the passphrase.
    let env = fs::read(format!("/proc/{sleep}/environ")).expect("environ of the command");
    assert!(has(&env, &format!("INTERVAULT_FTP_SECRET={SECRET}")));
    assert!(!has(&env, PASSPHRASE), "the command got the passphrase");
    assert!(!has(&env, "INTERVAULT_PASSPHRASE"));
    let cmdline = fs::read(format!("/proc/{sleep}/cmdline")).expect("cmdline");
    assert!(!has(&cmdline, SECRET));
    // SIGTERM is passed on to the command; intervault ends with 128 + 15.
    signal(pid, rustix::process::Signal::TERM);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(143), "{:?}", out);
    assert!(!has(&out.stderr, SECRET));
}

/// `add --multiline` with the first line of a secret read and stdin still open:
/// the secret is in memory, and nowhere another process can read it. With
/// `passphrase_file`, the passphrase comes from that file and must not be exposed
/// either.
fn add_holding_a_secret(v: &TestVault, passphrase_file: Option<&Path>) {
    let mut args = vec!["add", "acme", "held", "--kind", "other", "--multiline"];
    let file_arg;
    if let Some(file) = passphrase_file {
        file_arg = file.to_str().expect("UTF-8 path").to_owned();
        args.extend(["--passphrase-file", &file_arg]);
    }
    let mut cmd = std_cmd(v, &args);
    if passphrase_file.is_some() {
        cmd.env_remove("INTERVAULT_PASSPHRASE");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn add");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{SECRET}\n").as_bytes())
        .expect("write the first line");
    wait_hardened(pid);
    let ctx =
        format!("add waiting for the rest of its secret (passphrase file: {passphrase_file:?})");
    let env = match passphrase_file {
        Some(_) => assert_not_exposed(pid, &[SECRET, PASSPHRASE], &ctx),
        None => assert_not_exposed(pid, &[SECRET], &ctx),
    };
    if let (Some(env), Some(_)) = (env, passphrase_file) {
        assert!(!has(&env, "INTERVAULT_PASSPHRASE"), "{ctx}");
    }
    stdin.write_all(b"second line\n").expect("write the rest");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{ctx}: {out:?}");
    assert!(!has(&out.stderr, SECRET));
    let got = v.run(&["get", "acme", "held"]).success().stdout();
    assert!(
        got.starts_with(&format!("{SECRET}\nsecond line")),
        "{got:?}"
    );
}

#[test]
fn a_secret_being_read_is_not_in_cmdline_or_environ() {
    let v = vault();
    add_holding_a_secret(&v, None);
}

#[test]
fn a_passphrase_from_a_file_is_not_in_cmdline_or_environ() {
    let v = vault();
    let file = v.dir.parent().expect("parent").join("passphrase");
    write_private(&file, format!("{PASSPHRASE}\n").as_bytes());
    add_holding_a_secret(&v, Some(&file));
}

/// Runs `program args` through `sh -c 'ulimit -c unlimited; exec ...'` in `cwd`,
/// feeds `stdin` (keeping it open), waits for `ready`, sends SIGABRT, and gives
/// the status with the core limits the process had.
fn abort_with_cores_allowed(
    v: &TestVault,
    cwd: &Path,
    program: &str,
    args: &[&str],
    stdin: &str,
    ready: impl Fn(u32) -> bool,
) -> (ExitStatus, (String, String)) {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(r#"ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -H -c)"; exec "$0" "$@""#)
        .arg(program)
        .args(args);
    set_env(&mut c, v);
    let mut child: Child = c
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sh");
    let pid = child.id();
    let mut pipe = child.stdin.take().expect("stdin");
    pipe.write_all(stdin.as_bytes()).expect("write stdin");
    wait_for("the process to be ready", || ready(pid).then_some(()));
    std::thread::sleep(Duration::from_millis(200));
    let limits = core_limits(pid).expect("limits");
    signal(pid, rustix::process::Signal::ABORT);
    let status = child.wait().expect("wait");
    drop(pipe);
    (status, limits)
}

fn cores_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("core"))
        })
        .collect()
}

#[test]
fn no_core_is_dumped_on_sigabrt_even_with_ulimit_unlimited() {
    let pattern = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    let pattern = pattern.trim();
    let piped = pattern.starts_with('|');
    if piped {
        eprintln!(
            "note: core_pattern pipes cores to a handler ({pattern}); RLIMIT_CORE does not \
             stop a piped dump, non-dumpability does"
        );
    }
    let v = vault();
    let cwd = tempfile::tempdir().expect("tempdir");

    // Control: a plain `sleep` under the same wrapper does dump a core.
    let (status, (soft, _)) =
        abort_with_cores_allowed(&v, cwd.path(), "sleep", &["30"], "", |pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        });
    assert_eq!(status.signal(), Some(6), "{status:?}");
    if soft == "0" || piped || pattern.is_empty() {
        eprintln!(
            "note: control not asserted (core limit {soft}, core_pattern {pattern:?}): this \
             machine writes no core for anyone"
        );
    } else {
        assert!(
            status.core_dumped(),
            "control: sleep with core limit {soft} and core_pattern {pattern:?} dumped no core"
        );
        if !pattern.contains('/') {
            assert!(!cores_in(cwd.path()).is_empty(), "control: no core file");
        }
    }
    for core in cores_in(cwd.path()) {
        fs::remove_file(core).expect("remove the control's core");
    }

    // intervault, holding part of a secret read from stdin.
    let (status, limits) = abort_with_cores_allowed(
        &v,
        cwd.path(),
        BIN,
        &["add", "acme", "held", "--kind", "other", "--multiline"],
        &format!("{SECRET}\n"),
        |pid| core_limits(pid).is_some_and(|(s, h)| s == "0" && h == "0"),
    );
    assert_eq!(
        limits,
        ("0".to_owned(), "0".to_owned()),
        "RLIMIT_CORE despite ulimit -c unlimited"
    );
    assert_eq!(status.signal(), Some(6), "{status:?}");
    assert!(!status.core_dumped(), "intervault dumped a core");
    assert_eq!(cores_in(cwd.path()), Vec::<PathBuf>::new());
    // Nothing was stored by the aborted add.
    let show = v.run(&["show", "acme", "--json"]).success().json();
    assert_eq!(show["credentials"], 1, "{show}");
}

/// Run by python3 as the attacking user: starts the target itself (so that a
/// Yama ptrace_scope of 1, which allows attaching to descendants, does not stop the
/// control), feeds its stdin, waits until it is ready, then reports the owner of
/// its /proc entries, whether its environ can be read, and the errno of
/// ptrace(PTRACE_ATTACH) (0 when it succeeded).
const ATTACHER: &str = r#"
import ctypes, json, os, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
ready, feed, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
p.stdin.write(feed.encode())
p.stdin.flush()
def is_ready():
    try:
        if ready == "hardened":
            for line in open("/proc/%d/limits" % p.pid):
                if line.startswith("Max core file size"):
                    return line.split()[4] == "0"
            return False
        return open("/proc/%d/comm" % p.pid).read().strip() == ready
    except OSError:
        return False
deadline = time.monotonic() + 10
while not is_ready() and p.poll() is None and time.monotonic() < deadline:
    time.sleep(0.02)
time.sleep(0.2)
out = {"uid": os.getuid(), "ready": is_ready(), "alive": p.poll() is None}
out["environ_owner"] = os.stat("/proc/%d/environ" % p.pid).st_uid
try:
    open("/proc/%d/environ" % p.pid, "rb").read()
    out["environ_read"] = 0
except OSError as e:
    out["environ_read"] = e.errno
if libc.ptrace(16, p.pid, None, None) == 0:  # PTRACE_ATTACH
    out["attach"] = 0
    os.waitpid(p.pid, 0)
    libc.ptrace(17, p.pid, None, None)  # PTRACE_DETACH
else:
    out["attach"] = ctypes.get_errno()
p.kill()
p.wait()
print(json.dumps(out))
"#;

const EPERM: i64 = 1;
const EACCES: i64 = 13;

fn python3() -> String {
    // Not a pyenv shim under /root: the attacker may not be root.
    for p in ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"] {
        if Path::new(p).exists() {
            return p.to_owned();
        }
    }
    let found = Command::new("sh")
        .args(["-c", "command -v python3"])
        .output()
        .expect("sh");
    let path = String::from_utf8_lossy(&found.stdout).trim().to_owned();
    assert!(
        !path.is_empty(),
        "python3 is needed for the ptrace test (install python3)"
    );
    path
}

/// The unprivileged user both sides run as: `nobody` when the tests run as root
/// (root's CAP_SYS_PTRACE would attach to anything), else the current user.
fn attacker_ids() -> (u32, u32) {
    if is_root() {
        (65534, 65534)
    } else {
        (
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw(),
        )
    }
}

struct Unprivileged {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    bin: PathBuf,
    uid: u32,
    gid: u32,
}

impl Unprivileged {
    fn new() -> Self {
        let (uid, gid) = attacker_ids();
        let tmp = tempfile::tempdir().expect("tempdir");
        let home = tmp.path().to_owned();
        std::os::unix::fs::chown(&home, Some(uid), Some(gid)).expect("chown the scratch dir");
        // A copy of the binary the user can surely reach (the checkout may not be).
        let bin = home.join("intervault");
        fs::copy(BIN, &bin).expect("copy the binary");
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod");
        Unprivileged {
            _tmp: tmp,
            home,
            bin,
            uid,
            gid,
        }
    }

    fn cmd(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("TZ", "UTC")
            .env("INTERVAULT_DIR", self.home.join("vault"))
            .env("INTERVAULT_PASSPHRASE", PASSPHRASE)
            .current_dir(&self.home)
            .uid(self.uid)
            .gid(self.gid);
        c
    }

    fn intervault(&self, args: &[&str], stdin: &str) {
        let mut child = self
            .cmd(&self.bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn as the unprivileged user");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin");
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{args:?}: {out:?}");
    }

    fn attach(&self, ready: &str, feed: &str, target: &[&str]) -> serde_json::Value {
        let out = self
            .cmd(Path::new(&python3()))
            .arg("-c")
            .arg(ATTACHER)
            .arg(ready)
            .arg(feed)
            .args(target)
            .stdin(Stdio::null())
            .output()
            .expect("run python3");
        assert!(out.status.success(), "attacher failed: {out:?}");
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("attacher report");
        assert_eq!(report["uid"], self.uid, "{report}");
        assert_eq!(report["ready"], true, "target never became ready: {report}");
        assert_eq!(report["alive"], true, "target died early: {report}");
        report
    }
}

#[test]
fn a_same_user_ptrace_attach_is_refused() {
    let u = Unprivileged::new();
    u.intervault(
        &[
            "init",
            "--kdf-memory",
            "1",
            "--kdf-iterations",
            "1",
            "--kdf-parallelism",
            "1",
        ],
        "",
    );
    u.intervault(&["open", "acme", "--client", "Acme", "--for", "2h"], "");
    u.intervault(
        &["add", "acme", "ftp", "--kind", "other"],
        &format!("{SECRET}\n"),
    );

    // Control: the same user attaches to its own `sleep`.
    let control = u.attach("sleep", "", &["sleep", "30"]);
    if control["attach"] == 0 {
        assert_eq!(control["environ_owner"], u.uid, "{control}");
        assert_eq!(control["environ_read"], 0, "{control}");
    } else {
        // Yama's ptrace_scope 2 (admin only) or 3 (none) forbids even this; then
        // only the intervault case below can be asserted.
        let scope = fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").unwrap_or_default();
        assert!(
            scope.trim().parse::<u32>().is_ok_and(|s| s >= 2),
            "control attach to a plain sleep failed ({control}) with ptrace_scope {scope:?}"
        );
        eprintln!("note: kernel.yama.ptrace_scope = {scope}: the control attach is refused too");
    }

    // intervault, in memory: the master key, and part of a new secret.
    let report = u.attach(
        "hardened",
        &format!("{SECRET}-2\n"),
        &[
            u.bin.to_str().expect("UTF-8 path"),
            "add",
            "acme",
            "held",
            "--kind",
            "other",
            "--multiline",
        ],
    );
    assert_eq!(
        report["attach"], EPERM,
        "ptrace attach was not refused: {report}"
    );
    // Not dumpable: its /proc entries belong to root, and its environment is closed
    // to its own user.
    assert_eq!(report["environ_owner"], 0, "{report}");
    assert_eq!(report["environ_read"], EACCES, "{report}");
}

/// Asserts that a run printed neither the secret nor a passphrase anywhere.
#[track_caller]
fn no_leak(run: &Run, ctx: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            !run.stderr().contains(needle),
            "{ctx}: {needle:?} in stderr: {}",
            run.stderr()
        );
        assert!(
            !run.stdout().contains(needle),
            "{ctx}: {needle:?} in stdout: {}",
            run.stdout()
        );
    }
    assert!(
        !run.stderr().contains("panicked"),
        "{ctx}: {}",
        run.stderr()
    );
}

/// A failing command of the battery below.
struct Case {
    what: &'static str,
    args: Vec<String>,
    stdin: String,
    /// Replaces the right passphrase in `INTERVAULT_PASSPHRASE`.
    passphrase: Option<&'static str>,
    code: i32,
}

impl Case {
    fn new(what: &'static str, args: &[&str], code: i32) -> Self {
        Self::owned(what, args.iter().map(|a| a.to_string()).collect(), code)
    }
    fn owned(what: &'static str, args: Vec<String>, code: i32) -> Self {
        Case {
            what,
            args,
            stdin: String::new(),
            passphrase: None,
            code,
        }
    }
    fn stdin(mut self, stdin: &str) -> Self {
        self.stdin = stdin.to_owned();
        self
    }
    fn env(mut self, passphrase: &'static str) -> Self {
        self.passphrase = Some(passphrase);
        self
    }
}

#[test]
fn no_failing_command_prints_a_secret_or_the_passphrase() {
    const NEW_SECRET: &str = "fresh-canary-0b5d2e";
    const WRONG: &str = "wrong-passphrase-canary-4411";
    let v = vault();
    let tmp = v.dir.parent().expect("parent").to_owned();
    // A scheduled intervention and a closed one, each holding a secret too.
    v.run(&[
        "open",
        "later",
        "--client",
        "Later",
        "--from",
        "2099-01-01T00:00:00Z",
        "--until",
        "2099-01-02T00:00:00Z",
    ])
    .success();
    v.run_with_stdin(
        &["add", "later", "ftp", "--kind", "other"],
        &format!("{SECRET}-later\n"),
    )
    .success();
    open_with(&v, "gone", &[("ftp", &format!("{SECRET}-gone"))]);
    v.run(&["close", "gone"]).success();
    let bad_passfile = tmp.join("not-utf8");
    write_private(&bad_passfile, b"\xff\xfe\n");
    let bad = bad_passfile.to_str().expect("UTF-8 path");
    let needles = [SECRET, NEW_SECRET, PASSPHRASE, WRONG];

    let pass_file = |args: &[&'static str], file: &str| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        v.extend(["--passphrase-file".to_owned(), file.to_owned()]);
        v
    };
    let new_secret = format!("{NEW_SECRET}\n");
    let cases = [
        Case::new("wrong passphrase", &["get", "acme", "ftp"], 4).env(WRONG),
        Case::new("the secret as the passphrase", &["get", "acme", "ftp"], 4).env(SECRET),
        Case::owned(
            "missing passphrase file",
            pass_file(&["get", "acme", "ftp"], "/nonexistent/p"),
            4,
        ),
        Case::owned(
            "passphrase file not UTF-8",
            pass_file(&["get", "acme", "ftp"], bad),
            4,
        ),
        Case::new("no such credential", &["get", "acme", "nosuch"], 5),
        Case::new("no such intervention", &["get", "nosuch", "ftp"], 5),
        Case::new(
            "field never set",
            &["get", "acme", "ftp", "--field", "note"],
            5,
        ),
        Case::new(
            "totp never set",
            &["get", "acme", "ftp", "--field", "totp"],
            5,
        ),
        Case::new("scheduled window", &["get", "later", "ftp"], 3),
        Case::new("closed intervention", &["get", "gone", "ftp"], 3),
        Case::new(
            "add over a name",
            &["add", "acme", "ftp", "--kind", "other"],
            7,
        )
        .stdin(&new_secret),
        Case::new("add, bad kind", &["add", "acme", "x", "--kind", "bogus"], 2).stdin(&new_secret),
        Case::new(
            "add, two lines",
            &["add", "acme", "x", "--kind", "other"],
            2,
        )
        .stdin(&format!("{NEW_SECRET}\n{SECRET}\n")),
        Case::new(
            "add when closed",
            &["add", "gone", "x", "--kind", "other"],
            3,
        )
        .stdin(&new_secret),
        Case::new(
            "the secret given to an unknown flag",
            &["add", "acme", "x", "--kind", "other", "--secret", SECRET],
            2,
        ),
        Case::owned(
            "the secret given to an unknown flag with =",
            vec![
                "add".into(),
                "acme".into(),
                "x".into(),
                "--kind".into(),
                "other".into(),
                format!("--password={SECRET}"),
            ],
            2,
        ),
        Case::new(
            "the secret given to an unknown short flag",
            &["get", "acme", "ftp", "-p", SECRET],
            2,
        ),
        Case::owned(
            "the secret after = of an unknown flag",
            vec![
                "get".into(),
                "acme".into(),
                "ftp".into(),
                format!("--secret={SECRET}"),
            ],
            2,
        ),
        Case::new("rm of no such credential", &["rm", "acme", "nosuch"], 5),
        Case::new(
            "extend into the past",
            &["extend", "acme", "--until", "2000-01-01", "--reason", "r"],
            2,
        ),
        Case::new(
            "open over a live ID",
            &["open", "acme", "--client", "X", "--for", "1h"],
            7,
        ),
        Case::new(
            "exec of a missing command",
            &["exec", "acme", "--", "/nonexistent/cmd"],
            127,
        ),
        Case::new(
            "exec of no such credential",
            &["exec", "acme", "--only", "nosuch", "--", "true"],
            5,
        ),
        Case::new(
            "exec outside the window",
            &["exec", "later", "--", "true"],
            3,
        ),
        Case::new(
            "clipboard without a display",
            &["get", "acme", "ftp", "--clip"],
            1,
        ),
        Case::new(
            "passwd, missing new passphrase file",
            &["passwd", "--new-passphrase-file", "/nonexistent/new"],
            4,
        ),
    ];
    for case in &cases {
        let mut c = v.cmd(&case.args.iter().map(String::as_str).collect::<Vec<_>>());
        c.write_stdin(case.stdin.as_bytes());
        if let Some(passphrase) = case.passphrase {
            c.env("INTERVAULT_PASSPHRASE", passphrase);
        }
        let run = Run(c.output().expect("run"));
        let ctx = format!("{}: {:?}", case.what, case.args);
        no_leak(&run, &ctx, &needles);
        assert_eq!(run.code(), case.code, "{ctx}: {}", run.stderr());
        run.fails(case.code);
    }

    // Damaged files: each vault file gets a byte flipped in its middle, then is cut.
    // Damage to the files of `later` (the intervention ending in 2099) does not
    // concern `acme`: there, success is fine.
    let acme_ref = crate::helpers::root_json(&v)["expiry"]
        .as_array()
        .expect("expiry")
        .iter()
        .find(|e| e["until"] != "2099-01-02T00:00:00Z")
        .expect("acme's entry")["ref"]
        .as_str()
        .expect("ref")
        .to_owned();
    let pristine = v.snapshot();
    for (path, bytes) in &pristine {
        let concerns_acme =
            path.ends_with("vault.json") || path.to_string_lossy().contains(&acme_ref);
        for damaged in [
            {
                let mut b = bytes.clone();
                b[bytes.len() / 2] ^= 0x20;
                b
            },
            bytes[..bytes.len() / 2].to_vec(),
        ] {
            write_private(path, &damaged);
            for args in [&["get", "acme", "ftp"][..], &["exec", "acme", "--", "true"]] {
                let run = v.run(args);
                let ctx = format!("{} damaged (acme is {acme_ref}), {args:?}", path.display());
                if run.code() == 0 && !concerns_acme {
                    continue;
                }
                no_leak(&run, &ctx, &needles);
                if run.code() != 0 || concerns_acme {
                    assert!([4, 6].contains(&run.code()), "{ctx}: {}", run.stderr());
                    let code = run.code();
                    run.fails(code);
                }
            }
            crate::helpers::restore(&v, &pristine);
        }
    }

    // Successful commands print the secret only where asked for it.
    for args in [
        &["list", "--all", "--json"][..],
        &["list", "--all"],
        &["show", "acme", "--json"],
        &["show", "gone", "--json"],
        &["show", "acme"],
        &["status"],
    ] {
        let run = v.run(args).success();
        no_leak(&run, &format!("{args:?}"), &needles);
    }
    let run = v.run(&["get", "acme", "ftp"]).success();
    assert_eq!(run.stdout(), format!("{SECRET}\n"));
    assert!(!run.stderr().contains(SECRET), "{}", run.stderr());
}

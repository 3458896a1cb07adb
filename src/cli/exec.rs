//! `intervault exec ID [--only NAME...] -- CMD [ARGS...]`: runs CMD with the
//! intervention's credentials in CMD's environment, and only there, for no longer
//! than the intervention's window.
//!
//! # Variables
//! For each credential (all of them, or those named by `--only`), CMD gets
//! `INTERVAULT_<NAME>_USER`, `_SECRET`, `_URL` and `_NOTE`, only for the fields that
//! are set, and `_TOTP`, the code current when CMD starts, when a seed is stored. `<NAME>` is the credential name upper-cased, with `-` and `.` turned into
//! `_`: `db-main.v2` gives `INTERVAULT_DB_MAIN_V2_SECRET`. Two credentials whose
//! names give the same variables (`a-b` and `a.b`) are refused (exit 2) before
//! anything is fetched, so neither silently hides the other.
//!
//! The variables are set on CMD's [`Command`] only, never in intervault's own
//! environment, and no secret is ever in anyone's argv. `INTERVAULT_PASSPHRASE` and
//! `INTERVAULT_NEW_PASSPHRASE` (and `INTERVAULT_PASSPHRASE_FILE`) are removed from
//! CMD's environment: CMD gets the credentials it was given, not the passphrase.
//! (While the vault is unlocked, a CMD running as the same user in the same login
//! session can still use that session, as any such program can: see
//! docs/design.md.)
//!
//! # The window
//! Outside the intervention's window nothing is run (exit 3, from the fetch). The
//! window's end is turned once into a deadline on the monotonic clock
//! ([`Instant`]), and the wall clock is also checked every 15 s, because Instant
//! stops while the machine is suspended; whichever says the window has ended
//! first wins, so setting the clock back gains nothing. When the deadline passes while
//! CMD runs, CMD gets SIGTERM (and SIGCONT, in case it is stopped), intervault says
//! why on stderr, and CMD gets SIGKILL if it is still alive [`KILL_AFTER`] later.
//! `extend` does not move the deadline of an exec already running.
//!
//! # Signals
//! SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to intervault are
//! passed on to CMD, and intervault keeps waiting for CMD. CMD stays in
//! intervault's process group, so it can use the terminal; a SIGINT or SIGQUIT typed
//! on the terminal (sent by the kernel to the whole foreground group) has reached
//! CMD already and is not sent a second time (as `sudo` does).
//!
//! # Exit status
//! - CMD's exit code, or 128 + N when CMD was ended by signal N (as a shell does),
//!   including when the window's end stopped it (143 for SIGTERM, 137 for SIGKILL,
//!   or whatever CMD chose to exit with on SIGTERM);
//! - 127 when CMD is not found, 126 when it is found but cannot be executed (not
//!   executable, a directory, not a valid executable, arguments too long), as a
//!   shell does; 1 when it cannot be started for another reason (out of processes);
//! - the usual codes of the contract (2, 3, 4, 5, 6) when the fetch fails; then
//!   nothing is run.
//!
//! # Residual risks
//! - std's `Command` keeps its own copies of the values until it is dropped (right
//!   after the spawn), and frees them without zeroing them.
//! - Only CMD itself is signalled at the window's end: processes CMD started and
//!   left behind (with the variables in their environment) are not followed, and a
//!   CMD that changed its user (`sudo ...`) may not accept intervault's signals.
//! - After a suspend across the window's end, CMD is stopped within 15 s of the
//!   resume (the wall-clock check), not at once.
//! - CMD inherits intervault's core-dump limit of zero.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use intervault::intervention::validate_name;
use intervault::timefmt::format_local;
use intervault::vault::{StoredCredential, Vault};
use intervault::{Error, Result};
use rustix::process::{kill_process, Pid, Signal};
use signal_hook::consts::signal::{
    SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
};
use signal_hook::iterator::exfiltrator::WithRawSiginfo;
use signal_hook::iterator::{Handle, SignalsInfo};

use super::ui::TerminalUi;

/// How long CMD has to stop after SIGTERM at the window's end, before SIGKILL.
pub const KILL_AFTER: Duration = Duration::from_secs(10);

/// How often the wall clock is checked too. It can only stop CMD earlier than the
/// monotonic deadline (after a suspend), never later: setting the clock back
/// gains nothing.
const WALL_CLOCK_CHECK: Duration = Duration::from_secs(15);

/// The signals passed on to CMD.
const FORWARDED: [i32; 6] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2];

/// Variables of intervault's environment that CMD does not inherit: the
/// passphrase, and where to read it.
const WITHHELD: [&str; 3] = [
    "INTERVAULT_PASSPHRASE",
    "INTERVAULT_NEW_PASSPHRASE",
    "INTERVAULT_PASSPHRASE_FILE",
];

/// `si_code` of a signal the kernel sent, e.g. for a key typed on the terminal
/// (Linux's `SI_KERNEL`).
#[cfg(any(target_os = "linux", target_os = "android"))]
const SI_KERNEL: i32 = 0x80;

pub fn exec(
    vault: &Vault,
    ui: &mut TerminalUi,
    id: &str,
    only: &[String],
    command: &[OsString],
) -> Result<()> {
    let code = run(vault, ui, id, only, command)?;
    // CMD's status becomes ours. `run` has dropped every credential and every copy
    // of their values (ours zeroized, the `Command`'s freed) before returning, so
    // nothing secret is skipped by exiting here without unwinding; the vault's
    // cached master key was forgotten right after the fetch.
    std::process::exit(i32::from(code))
}

/// Fetches, spawns, supervises; gives the exit code to end with.
fn run(
    vault: &Vault,
    ui: &mut TerminalUi,
    id: &str,
    only: &[String],
    command: &[OsString],
) -> Result<u8> {
    let Some((program, args)) = command.split_first() else {
        return Err(Error::usage(
            "no command to run",
            "give it after '--': intervault exec ID -- CMD [ARGS...]",
        ));
    };
    let names = wanted(only)?;
    // Refuse clashing names before the fetch, which counts uses (and may wipe a
    // credential that reaches its --max-uses).
    match &names {
        Some(names) => distinct_variables(names.iter().map(String::as_str))?,
        None => {
            let detail = vault.show(id, None, ui)?;
            distinct_variables(detail.entries.iter().map(|e| e.name.as_str()))?;
        }
    }
    let fetched = vault.fetch(intervault::audit::Action::Exec, id, names.as_deref(), ui)?;
    // The command may run for hours: keep no key to the vault meanwhile.
    vault.forget_keys();
    // The one conversion of the window's end to the monotonic clock.
    let remaining = (fetched.until - fetched.now)
        .to_std()
        .unwrap_or(Duration::ZERO);
    let deadline = Instant::now().checked_add(remaining);
    let until = fetched.until;

    let mut cmd = Command::new(program);
    cmd.args(args);
    for name in WITHHELD {
        cmd.env_remove(name);
    }
    // Something may have been added between `show` and the fetch.
    distinct_variables(fetched.credentials.iter().map(|c| c.name.as_str()))?;
    for credential in &fetched.credentials {
        set_variables(&mut cmd, credential, fetched.now)?;
    }
    // Our copies go (zeroized) before the spawn, the Command's right after it.
    drop(fetched);
    let watch = Watch::start()?;
    let spawned = cmd.spawn();
    drop(cmd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            watch.stop();
            return Err(spawn_error(program, &e));
        }
    };
    let status = supervise(&mut child, &watch, deadline, id, until);
    watch.stop();
    Ok(exit_code(status?))
}

/// `--only`, checked, without repeats; `None` for every credential.
fn wanted(only: &[String]) -> Result<Option<Vec<String>>> {
    if only.is_empty() {
        return Ok(None);
    }
    let mut names: Vec<String> = Vec::with_capacity(only.len());
    for name in only {
        validate_name("credential name", name)?;
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    Ok(Some(names))
}

/// `INTERVAULT_<NAME>`, the stem of a credential's variables.
fn variable_stem(name: &str) -> String {
    format!(
        "INTERVAULT_{}",
        name.to_ascii_uppercase().replace(['-', '.'], "_")
    )
}

/// Refuses two names that give the same variables. (Names differ from stems only
/// by `-` and `.`, and no field suffix ends another, so equal stems are the only
/// way two variables can coincide.)
fn distinct_variables<'a>(names: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::BTreeMap::new();
    for name in names {
        let stem = variable_stem(name);
        if let Some(other) = seen.insert(stem.clone(), name) {
            if other != name {
                return Err(Error::usage(
                    format!("credentials '{other}' and '{name}' would both be given as {stem}_*"),
                    "pick one of them with --only",
                ));
            }
        }
    }
    Ok(())
}

/// Puts a credential's set fields into CMD's environment.
fn set_variables(
    cmd: &mut Command,
    c: &StoredCredential,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let stem = variable_stem(&c.name);
    // The code current when CMD starts; it zeroizes on drop, as the rest does.
    let totp = c
        .totp
        .as_ref()
        .map(|seed| intervault::totp::code_at(seed, now))
        .transpose()?;
    let fields = [
        ("USER", c.user.as_deref()),
        ("SECRET", Some(c.secret.expose())),
        ("URL", c.url.as_deref()),
        ("NOTE", c.note.as_deref()),
        ("TOTP", totp.as_ref().map(|t| t.code.expose())),
    ];
    for (field, value) in fields {
        let Some(value) = value else { continue };
        if value.contains('\0') {
            return Err(Error::usage(
                format!(
                    "the {} of credential '{}' holds a NUL character, which an environment variable cannot carry",
                    field.to_ascii_lowercase(),
                    c.name
                ),
                "leave it out with --only, or use 'intervault get' for it",
            ));
        }
        cmd.env(format!("{stem}_{field}"), value);
    }
    Ok(())
}

/// A spawn failure as a shell reports it: 127 not found, 126 not executable.
fn spawn_error(program: &OsStr, e: &std::io::Error) -> Error {
    use std::io::ErrorKind;
    let shown = program.to_string_lossy();
    let not_executable = matches!(
        e.kind(),
        ErrorKind::PermissionDenied
            | ErrorKind::IsADirectory
            | ErrorKind::NotADirectory
            | ErrorKind::ExecutableFileBusy
            | ErrorKind::ArgumentListTooLong
    ) || e.raw_os_error() == Some(rustix::io::Errno::NOEXEC.raw_os_error());
    let (what, fix, code) = if e.kind() == ErrorKind::ArgumentListTooLong {
        (
            format!("cannot run '{shown}': {e}"),
            "the arguments, or a credential value, exceed the kernel's limit (128 KiB per \
             argument or variable): pass large values in a file instead; nothing was run",
            126,
        )
    } else if e.raw_os_error() == Some(rustix::io::Errno::NAMETOOLONG.raw_os_error()) {
        (
            format!("cannot run '{shown}': {e}"),
            "give a shorter path to the command",
            126,
        )
    } else if e.kind() == ErrorKind::NotFound {
        (
            format!("cannot run '{shown}': command not found"),
            "check its name and PATH",
            127,
        )
    } else if not_executable {
        (
            format!("cannot run '{shown}': {e}"),
            "check that it is an executable file",
            126,
        )
    } else {
        (
            format!("cannot start '{shown}': {e}"),
            "try again; nothing was run",
            1,
        )
    };
    Error::Input {
        what,
        fix: fix.into(),
        code,
    }
}

/// A signal received by intervault.
struct Received {
    signal: i32,
    /// Sent by the kernel (a key typed on the terminal), not by a process.
    from_kernel: bool,
}

/// The signals intervault receives, read on a thread and passed to the waiting
/// loop, which alone signals and reaps CMD (so a signal never goes to a reaped,
/// possibly reused, PID).
struct Watch {
    events: Receiver<Received>,
    handle: Handle,
    thread: JoinHandle<()>,
}

impl Watch {
    /// Starts watching the forwarded signals and SIGCHLD; before the spawn, so
    /// that neither a signal nor CMD's end can be missed.
    fn start() -> Result<Self> {
        let mut wanted = FORWARDED.to_vec();
        wanted.push(SIGCHLD);
        let cannot = |e: std::io::Error| Error::Input {
            what: format!("cannot watch signals: {e}"),
            fix: "try again; nothing was run".into(),
            code: 1,
        };
        let mut signals = SignalsInfo::<WithRawSiginfo>::new(&wanted).map_err(cannot)?;
        let handle = signals.handle();
        let (tx, events) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for info in signals.forever() {
                    let received = Received {
                        signal: info.si_signo,
                        from_kernel: sent_by_kernel(info.si_code),
                    };
                    if tx.send(received).is_err() {
                        break;
                    }
                }
            })
            .map_err(cannot)?;
        Ok(Watch {
            events,
            handle,
            thread,
        })
    }

    /// Waits for the next signal until `until` (forever with `None`).
    fn next(&self, until: Option<Instant>) -> Event {
        let got = match until {
            Some(at) => self
                .events
                .recv_timeout(at.saturating_duration_since(Instant::now())),
            None => self
                .events
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
        };
        match got {
            Ok(received) => Event::Signal(received),
            Err(RecvTimeoutError::Timeout) => Event::Deadline,
            // The thread only ends when stopped; should it be gone, poll.
            Err(RecvTimeoutError::Disconnected) => {
                let nap = Duration::from_millis(100);
                match until {
                    Some(at) => {
                        std::thread::sleep(nap.min(at.saturating_duration_since(Instant::now())));
                        if Instant::now() >= at {
                            Event::Deadline
                        } else {
                            Event::Nothing
                        }
                    }
                    None => {
                        std::thread::sleep(nap);
                        Event::Nothing
                    }
                }
            }
        }
    }

    fn stop(self) {
        self.handle.close();
        let _ = self.thread.join();
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn sent_by_kernel(si_code: i32) -> bool {
    si_code == SI_KERNEL
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn sent_by_kernel(_si_code: i32) -> bool {
    false
}

enum Event {
    Signal(Received),
    Deadline,
    Nothing,
}

/// Where CMD is with respect to the window's end.
enum Stage {
    Running,
    Terminated { kill_at: Option<Instant> },
    Killed,
}

/// Waits for CMD, forwarding signals, and stops it at the window's end.
fn supervise(
    child: &mut Child,
    watch: &Watch,
    deadline: Option<Instant>,
    id: &str,
    until: DateTime<Utc>,
) -> Result<ExitStatus> {
    let pid = Pid::from_child(child);
    let mut stage = Stage::Running;
    loop {
        // CMD is reaped here and nowhere else, and only signalled before.
        if let Some(status) = child.try_wait().map_err(wait_error)? {
            return Ok(status);
        }
        let wake = match stage {
            // Also wake now and then to look at the wall clock: Instant stops
            // while the machine is suspended, the wall clock does not.
            Stage::Running => deadline.map(|d| d.min(Instant::now() + WALL_CLOCK_CHECK)),
            Stage::Terminated { kill_at } => kill_at,
            Stage::Killed => None,
        };
        match watch.next(wake) {
            Event::Signal(r) if r.signal == SIGCHLD => {}
            Event::Signal(r) => {
                let typed = r.from_kernel && (r.signal == SIGINT || r.signal == SIGQUIT);
                if !typed {
                    send(pid, r.signal);
                }
            }
            Event::Deadline => match stage {
                // Neither clock says the window has ended: a wall-clock check only.
                Stage::Running
                    if deadline.is_some_and(|d| Instant::now() < d) && Utc::now() < until => {}
                Stage::Running => {
                    send(pid, SIGTERM);
                    send(pid, SIGCONT);
                    errln!(
                        "intervault: the window of '{id}' ended at {}: stopped the command (SIGTERM)",
                        format_local(until)
                    );
                    stage = Stage::Terminated {
                        kill_at: Instant::now().checked_add(KILL_AFTER),
                    };
                }
                Stage::Terminated { .. } => {
                    send(pid, SIGKILL);
                    errln!(
                        "intervault: the command was still running {} s after SIGTERM: killed it (SIGKILL)",
                        KILL_AFTER.as_secs()
                    );
                    stage = Stage::Killed;
                }
                Stage::Killed => {}
            },
            Event::Nothing => {}
        }
    }
}

/// Sends `signal` to CMD. A failure means CMD has just ended (a zombie still
/// accepts signals, and it is not reaped yet): nothing to do.
fn send(pid: Pid, signal: i32) {
    if let Some(signal) = Signal::from_named_raw(signal) {
        let _ = kill_process(pid, signal);
    }
}

fn wait_error(e: std::io::Error) -> Error {
    Error::Input {
        what: format!("cannot wait for the command: {e}"),
        fix: "check whether it is still running".into(),
        code: 1,
    }
}

/// CMD's status as an exit code: its own, or 128 + N for signal N.
fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(u8::MAX),
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_upper_case_and_replace_dashes_and_dots() {
        assert_eq!(variable_stem("ftp"), "INTERVAULT_FTP");
        assert_eq!(variable_stem("db-main.v2"), "INTERVAULT_DB_MAIN_V2");
        assert_eq!(variable_stem("a_b"), "INTERVAULT_A_B");
    }

    #[test]
    fn clashing_names_are_refused() {
        let err = distinct_variables(["a-b", "x", "a.b"].into_iter()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("'a-b' and 'a.b'"), "{err}");
        assert!(distinct_variables(["a-b", "ab", "a-c"].into_iter()).is_ok());
        assert!(distinct_variables(["a-b", "a-b"].into_iter()).is_ok());
    }

    #[test]
    fn only_is_checked_and_deduplicated() {
        assert_eq!(wanted(&[]).unwrap(), None);
        let names = ["ftp".to_owned(), "db".to_owned(), "ftp".to_owned()];
        assert_eq!(
            wanted(&names).unwrap(),
            Some(vec!["ftp".to_owned(), "db".to_owned()])
        );
        assert_eq!(wanted(&["FTP".to_owned()]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(SIGTERM)), 143);
        assert_eq!(exit_code(ExitStatus::from_raw(SIGKILL)), 137);
    }

    #[test]
    fn spawn_errors_follow_the_shell() {
        let not_found = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(spawn_error(OsStr::new("x"), &not_found).exit_code(), 127);
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(spawn_error(OsStr::new("x"), &denied).exit_code(), 126);
        let noexec = std::io::Error::from_raw_os_error(rustix::io::Errno::NOEXEC.raw_os_error());
        assert_eq!(spawn_error(OsStr::new("x"), &noexec).exit_code(), 126);
        let again = std::io::Error::from(std::io::ErrorKind::WouldBlock);
        assert_eq!(spawn_error(OsStr::new("x"), &again).exit_code(), 1);
    }
}

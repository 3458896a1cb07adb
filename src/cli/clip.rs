//! `get --clip`: the clipboard, held by a detached helper process and cleared
//! after a while.
//!
//! On X11 and Wayland a copied value lives in the process that set it: it must
//! stay alive to answer paste requests. So `copy` starts the same binary as a
//! detached helper, `intervault __clip-holder SECONDS`, in its own process group
//! (Ctrl-C on the terminal does not reach it) and with a short allowlisted
//! environment. The value goes through the helper's stdin, never its arguments
//! or environment. The helper takes the clipboard, answers one line on its
//! stdout (`ok`, or `error: why`) and `copy` returns only once it has read that
//! line, so a missing display fails the command instead of passing silently.
//! The helper then sleeps until its deadline (or a SIGTERM, SIGINT or SIGHUP),
//! and clears the clipboard only if it still holds the value.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use intervault::crypto::SecretText;
use intervault::{Error, Result};
use zeroize::Zeroizing;

/// The longest the clipboard holds a secret.
pub const CLEAR_AFTER_SECONDS: u64 = 45;

/// The largest value the helper accepts on its stdin.
const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// How long `copy` waits for the helper to take the clipboard.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The helper's answer once it holds the clipboard.
const READY: &str = "ok";

/// The only variables the helper inherits: what reaching the display needs, and
/// what `run` needs to name a vault directory (the helper never opens it). Not
/// the passphrase, nor anything else of the caller's environment.
const HOLDER_ENV: &[&str] = &[
    "DISPLAY",
    "XAUTHORITY",
    "WAYLAND_DISPLAY",
    "XDG_RUNTIME_DIR",
    "HOME",
    "XDG_DATA_HOME",
    "INTERVAULT_DIR",
    "PATH",
];

/// Puts `value` on the clipboard and arranges for it to be cleared after
/// `seconds` or at `until`, whichever comes first, if it still holds `value`.
pub fn copy(value: &SecretText, seconds: u64, until: DateTime<Utc>) -> Result<()> {
    check_display()?;
    if value.expose().len() > MAX_VALUE_BYTES {
        return Err(clipboard_error(
            "the value is larger than 1 MiB",
            "use get without --clip",
        ));
    }
    let to_window_end = u64::try_from((until - Utc::now()).num_seconds()).unwrap_or(0);
    let seconds = seconds.min(CLEAR_AFTER_SECONDS).min(to_window_end).max(1);

    let exe =
        std::env::current_exe().map_err(|e| Error::io("locate", "the intervault binary", e))?;
    let mut command = Command::new(&exe);
    command
        .arg("__clip-holder")
        .arg(seconds.to_string())
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C meant for the terminal's foreground job
        // does not cut the countdown short and leave the secret behind.
        .process_group(0);
    for name in HOLDER_ENV {
        if let Some(v) = std::env::var_os(name) {
            command.env(name, v);
        }
    }
    let mut child = command.spawn().map_err(|e| Error::io("start", &exe, e))?;

    match handshake(&mut child, value) {
        Ok(()) => Ok(()),
        Err(e) => {
            // Whatever went wrong, leave nothing running (the helper may be
            // stuck connecting); it is our own child, reaped here.
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

/// Hands `value` to the helper and waits for its one-line answer.
fn handshake(child: &mut Child, value: &SecretText) -> Result<()> {
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::Internal("the clipboard helper has no stdin".into()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Internal("the clipboard helper has no stdout".into()))?;
    // The helper reads all of stdin before it answers, so the answer is read on
    // another thread only to bound the wait.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout.take(4096)).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    let written = stdin
        .write_all(value.expose().as_bytes())
        .and_then(|()| stdin.flush());
    drop(stdin);
    let answer = rx.recv_timeout(HANDSHAKE_TIMEOUT);
    let line = match answer {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => {
            return Err(clipboard_error(
                format!("the clipboard helper did not answer: {e}"),
                FIX,
            ))
        }
        Err(_) => {
            return Err(clipboard_error(
                format!(
                    "the display did not answer within {} s",
                    HANDSHAKE_TIMEOUT.as_secs()
                ),
                FIX,
            ))
        }
    };
    let line = line.trim_end();
    if line == READY {
        return Ok(());
    }
    // A failed write (the helper died early) is only interesting when the
    // helper did not say why itself.
    let why = match (line.strip_prefix("error: "), written) {
        (Some(why), _) => one_line(why),
        (None, Err(e)) => format!("the clipboard helper stopped: {e}"),
        (None, Ok(())) => "the clipboard helper stopped before taking the clipboard".into(),
    };
    Err(clipboard_error(why, FIX))
}

/// The hidden `__clip-holder` command.
pub fn hold(seconds: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds.clamp(1, CLEAR_AFTER_SECONDS));
    // Termination signals clear the clipboard early rather than leave the value
    // behind; SIGHUP too (the terminal went away, so did the user).
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Error::io("watch signals for", "the clipboard helper", e))?;
    }
    let mut report = std::io::stdout();
    let taken =
        read_value(&mut std::io::stdin().lock()).and_then(|v| take_clipboard(&v).map(|c| (v, c)));
    let (value, mut clipboard) = match taken {
        Ok(taken) => taken,
        Err(why) => {
            let _ = writeln!(report, "error: {why}").and_then(|()| report.flush());
            return Err(clipboard_error(why, FIX));
        }
    };
    // `copy` stops reading after this line; nothing else is ever written here.
    let _ = writeln!(report, "{READY}").and_then(|()| report.flush());

    while !stop.load(Ordering::Relaxed) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(200)));
    }
    clear_if_ours(&mut clipboard, &value);
    // Dropping the clipboard now: on X11 arboard gives up the selection instead of
    // handing it to a clipboard manager, since the value is marked as a password.
    drop(clipboard);
    Ok(())
}

/// Refuses early when there is obviously no display to reach. `copy` calls it
/// first; a caller may call it before fetching, so that a use is not counted for
/// nothing.
pub fn check_display() -> Result<()> {
    let set = |n: &str| std::env::var_os(n).is_some_and(|v| !v.is_empty());
    if set("DISPLAY") || set("WAYLAND_DISPLAY") {
        return Ok(());
    }
    Err(clipboard_error(
        "no X11 or Wayland display (DISPLAY and WAYLAND_DISPLAY unset)",
        "use get without --clip",
    ))
}

/// Reads the value from the helper's stdin into memory that is zeroed on drop.
/// Errors are a reason, for the helper's answer line.
fn read_value(input: &mut impl Read) -> std::result::Result<SecretText, String> {
    // A fixed buffer, so no reallocation leaves a copy of the value behind.
    let mut buf = Zeroizing::new(vec![0u8; MAX_VALUE_BYTES + 1]);
    let mut len = 0;
    while len < buf.len() {
        match input.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read the value: {e}")),
        }
    }
    if len > MAX_VALUE_BYTES {
        return Err("the value is larger than 1 MiB".into());
    }
    let text = std::str::from_utf8(&buf[..len]).map_err(|_| "the value is not UTF-8 text")?;
    Ok(SecretText::new(text.to_owned()))
}

/// Takes the clipboard with `value` and checks that it holds it.
fn take_clipboard(value: &SecretText) -> std::result::Result<arboard::Clipboard, String> {
    let mut clipboard = arboard::Clipboard::new().map_err(|e| arboard_error(&e))?;
    // Asks clipboard managers (KDE's convention, widely followed) to keep the
    // value out of their history.
    #[cfg(target_os = "linux")]
    let set = arboard::SetExtLinux::exclude_from_history(clipboard.set());
    #[cfg(not(target_os = "linux"))]
    let set = clipboard.set();
    // arboard keeps its own copy, which it does not zeroize: best effort.
    set.text(value.expose()).map_err(|e| arboard_error(&e))?;
    // Reading back proves the selection is ours (X11 asks the server who owns it;
    // Wayland pastes through the compositor).
    if !holds(&mut clipboard, value) {
        let _ = clipboard.clear();
        return Err("the clipboard did not keep the value".into());
    }
    Ok(clipboard)
}

/// Clears the clipboard if it still holds `value`; another copy is left alone.
fn clear_if_ours(clipboard: &mut arboard::Clipboard, value: &SecretText) {
    if holds(clipboard, value) {
        let _ = clipboard.clear();
    }
}

/// Whether the clipboard's text is `value` (compared in constant time).
fn holds(clipboard: &mut arboard::Clipboard, value: &SecretText) -> bool {
    clipboard
        .get_text()
        .map(|text| SecretText::new(text).ct_eq(value))
        .unwrap_or(false)
}

/// An arboard error as a phrase (its messages hold no clipboard content), with
/// the display it tried.
fn arboard_error(e: &arboard::Error) -> String {
    let why = match e {
        arboard::Error::Unknown { description } => one_line(description),
        other => one_line(&other.to_string()),
    };
    let shown = |n: &str| std::env::var(n).ok().map(|v| format!("{n}={v}"));
    let displays: Vec<String> = ["WAYLAND_DISPLAY", "DISPLAY"]
        .iter()
        .filter_map(|n| shown(n))
        .collect();
    format!("{why} ({})", displays.join(", "))
}

/// Folds a message onto one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What to do when the clipboard cannot be reached.
const FIX: &str = "check DISPLAY or WAYLAND_DISPLAY, or use get without --clip";

/// `cannot reach the clipboard: WHY: FIX`, exit 1.
fn clipboard_error(why: impl Into<String>, fix: &str) -> Error {
    Error::Input {
        what: format!("cannot reach the clipboard: {}", why.into()),
        fix: fix.to_owned(),
        code: 1,
    }
}

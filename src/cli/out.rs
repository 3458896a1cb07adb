//! Standard output and standard error: one writer each, and one policy for a
//! stream that cannot be written.
//!
//! `println!` panics when its stream is closed (`intervault list | head -1`), and
//! the panic hook then reports an internal error. Every line the binary prints
//! goes through [`outln!`] / [`out!`] (stdout) and [`errln!`] (stderr) instead:
//! a closed pipe (`EPIPE`) quietly stops further output, and the command goes on
//! to its end and its usual exit status, as ripgrep does; any other write
//! failure (a full disk behind a redirection) is remembered, and the command
//! then fails with one line and exit 1 ([`finish`]). Nothing is printed twice or
//! half: each call writes one formatted piece under the stream's lock.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// The state of a stream: writable, closed by the reader, or failed.
const OPEN: u8 = 0;
const CLOSED: u8 = 1;
const FAILED: u8 = 2;

static STDOUT: AtomicU8 = AtomicU8::new(OPEN);
static STDERR: AtomicU8 = AtomicU8::new(OPEN);

/// What went wrong on stdout, other than a closed pipe, for [`finish`].
static STDOUT_ERROR: std::sync::Mutex<Option<io::Error>> = std::sync::Mutex::new(None);

/// Writes `args` to stdout (see the module's policy).
pub fn stdout_fmt(args: fmt::Arguments<'_>) {
    if STDOUT.load(Ordering::Relaxed) != OPEN {
        return;
    }
    let mut lock = io::stdout().lock();
    if let Err(e) = lock.write_fmt(args) {
        fail(&STDOUT, e, true);
    }
}

/// Writes raw bytes to stdout (a secret for a pipe), then flushes.
pub fn stdout_bytes(bytes: &[u8]) {
    if STDOUT.load(Ordering::Relaxed) != OPEN {
        return;
    }
    let mut lock = io::stdout().lock();
    if let Err(e) = lock.write_all(bytes).and_then(|()| lock.flush()) {
        fail(&STDOUT, e, true);
    }
}

/// Writes `args` to stderr; a stderr that cannot be written is given up on.
pub fn stderr_fmt(args: fmt::Arguments<'_>) {
    if STDERR.load(Ordering::Relaxed) != OPEN {
        return;
    }
    let mut lock = io::stderr().lock();
    if let Err(e) = lock.write_fmt(args) {
        fail(&STDERR, e, false);
    }
}

fn fail(state: &AtomicU8, e: io::Error, remember: bool) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        state.store(CLOSED, Ordering::Relaxed);
        return;
    }
    state.store(FAILED, Ordering::Relaxed);
    if remember {
        if let Ok(mut kept) = STDOUT_ERROR.lock() {
            kept.get_or_insert(e);
        }
    }
}

/// Flushes stdout at the end of a command; fails if anything the command
/// printed could not be written (a closed pipe is not a failure).
pub fn finish() -> intervault::Result<()> {
    if STDOUT.load(Ordering::Relaxed) == OPEN {
        if let Err(e) = io::stdout().lock().flush() {
            fail(&STDOUT, e, true);
        }
    }
    match STDOUT_ERROR.lock().ok().and_then(|mut kept| kept.take()) {
        Some(e) => Err(intervault::Error::io("write to", "stdout", e)),
        None => Ok(()),
    }
}

/// `println!` on stdout, with the module's policy.
macro_rules! outln {
    () => { $crate::cli::out::stdout_fmt(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::out::stdout_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` on stdout, with the module's policy.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::out::stdout_fmt(format_args!($($arg)*)) };
}

/// `eprint!` on stderr, with the module's policy.
macro_rules! err {
    ($($arg:tt)*) => { $crate::cli::out::stderr_fmt(format_args!($($arg)*)) };
}

/// `eprintln!` on stderr, with the module's policy.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::out::stderr_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

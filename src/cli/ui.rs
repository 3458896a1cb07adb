//! The terminal side of [`Interaction`]: where passphrases and secrets come from,
//! and how notices are shown.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use intervault::crypto::SecretText;
use intervault::timefmt::format_local;
use intervault::vault::{Destruction, Interaction, Notice, PassphrasePurpose};
use intervault::{Error, Result};
use zeroize::Zeroizing;

/// Largest secret or passphrase file read.
const MAX_INPUT_BYTES: u64 = 1024 * 1024;

const PASSPHRASE_HINT: &str = "no unlocked session and no terminal to ask on; run \
     'intervault unlock' on a terminal first, or give --passphrase-file FILE, \
     INTERVAULT_PASSPHRASE_FILE, or INTERVAULT_PASSPHRASE (for automation)";

/// Passphrase and secret sources for one command.
pub struct TerminalUi {
    passphrase_file: Option<PathBuf>,
    /// `passwd --new-passphrase-file`.
    pub new_passphrase_file: Option<PathBuf>,
    /// `add --multiline`.
    pub multiline: bool,
    /// `add --totp`: stdin holds the secret, then the TOTP seed.
    pub expect_totp: bool,
    /// `--yes`: destroy without asking.
    pub assume_yes: bool,
    /// Lines read from stdin and not yet used.
    stdin_lines: std::collections::VecDeque<SecretText>,
}

impl TerminalUi {
    pub fn new(passphrase_file: Option<PathBuf>) -> Self {
        TerminalUi {
            passphrase_file,
            new_passphrase_file: None,
            multiline: false,
            expect_totp: false,
            assume_yes: false,
            stdin_lines: std::collections::VecDeque::new(),
        }
    }
}

impl Interaction for TerminalUi {
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<SecretText> {
        let (file, var) = match purpose {
            PassphrasePurpose::NewPassphrase => (
                self.new_passphrase_file.as_deref(),
                "INTERVAULT_NEW_PASSPHRASE",
            ),
            _ => (self.passphrase_file.as_deref(), "INTERVAULT_PASSPHRASE"),
        };
        let given = match file {
            Some(path) => Some(first_line_of(path)?),
            None => std::env::var(var).ok().map(SecretText::new),
        };
        let prompted = given.is_none();
        let passphrase = match (given, purpose) {
            (Some(p), _) => p,
            (None, PassphrasePurpose::UnlockIfAvailable) => {
                return Err(Error::NoPassphrase {
                    hint: "none given".into(),
                })
            }
            (None, PassphrasePurpose::Unlock) => prompt_hidden("Vault passphrase: ")?,
            (None, PassphrasePurpose::NewVault | PassphrasePurpose::NewPassphrase) => {
                prompt_twice("New vault passphrase: ", "passphrases")?
            }
        };
        let is_new = matches!(
            purpose,
            PassphrasePurpose::NewVault | PassphrasePurpose::NewPassphrase
        );
        if is_new && passphrase.is_empty() {
            return Err(Error::Input {
                what: "empty passphrase".into(),
                fix: "choose a non-empty passphrase (a long one: it guards every client's logins)"
                    .into(),
                code: 2,
            });
        }
        if is_new {
            check_strength(&passphrase, prompted)?;
        }
        Ok(passphrase)
    }

    fn secret(&mut self, intervention: &str, name: &str) -> Result<SecretText> {
        let from_terminal = std::io::stdin().is_terminal();
        let secret = if from_terminal {
            prompt_twice(&format!("Secret for {intervention}/{name}: "), "secrets")?
        } else if self.expect_totp {
            let mut lines = read_stdin_lines(2)?.into_iter();
            let (Some(secret), Some(seed)) = (lines.next(), lines.next()) else {
                return Err(Error::Internal("two lines were read, not two".into()));
            };
            self.stdin_lines.push_back(seed);
            secret
        } else {
            read_stdin_secret(self.multiline)?
        };
        // A stray space from a copy and paste into a pipe is easy to miss; a
        // multiline secret (a key file) keeps its final newline on purpose.
        let text = secret.expose();
        if !from_terminal && !self.multiline && text.trim() != text {
            errln!("intervault: warning: the secret for {intervention}/{name} starts or ends with whitespace; it was kept as given");
        }
        if secret.is_empty() {
            return Err(Error::Input {
                what: "empty secret".into(),
                fix: "give the secret on stdin or at the prompt".into(),
                code: 2,
            });
        }
        Ok(secret)
    }

    fn totp_seed(&mut self, intervention: &str, name: &str) -> Result<SecretText> {
        if std::io::stdin().is_terminal() {
            prompt_hidden(&format!(
                "TOTP seed for {intervention}/{name} (otpauth:// URI or base32): "
            ))
        } else {
            // The second line of stdin; the first was the secret.
            self.stdin_lines.pop_front().ok_or_else(|| Error::Input {
                what: "no TOTP seed on stdin".into(),
                fix: "give the secret on the first line and the TOTP seed on the second".into(),
                code: 2,
            })
        }
    }

    fn notice(&mut self, notice: Notice) {
        match notice {
            Notice::Expired(record) => match &record.tombstone {
                Some(t) => errln!(
                    "intervault: expired '{}' ({}): window ended {}; {} credential(s) wiped{}; receipt {}",
                    t.id,
                    t.client,
                    format_local(t.window.until),
                    t.names.len(),
                    if t.names.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", t.names.join(", "))
                    },
                    t.receipt
                ),
                None => errln!(
                    "intervault: expired intervention ref {}: its window ended; its key and credentials were wiped at {} (the receipt is completed at the next unlock)",
                    record.reference,
                    format_local(record.wiped_at)
                ),
            },
            Notice::KeyDestroyed { reference, since } => errln!(
                "intervault: the key of intervention ref {reference}, wiped at {}, is now destroyed: that wipe is complete",
                format_local(since)
            ),
            Notice::KeysPending { count, since } => errln!(
                "intervault: warning: {count} wiped intervention key(s) not destroyed yet (pending since {}): the OS keyring that holds them cannot be reached from this login session; run intervault where it can be",
                format_local(since)
            ),
            Notice::EndingSoon { id, until, now } => errln!(
                "intervault: note: the window of '{id}' ends in {} (at {}); extend it if the work needs longer",
                intervault::timefmt::format_duration(until - now),
                format_local(until)
            ),
            Notice::SessionEnded { why } => errln!(
                "intervault: the unlocked session was ended ({why}); run 'intervault unlock' to start another"
            ),
            Notice::UsedUp { id, name } => errln!(
                "intervault: '{id}/{name}' reached its --max-uses and has been wiped"
            ),
            Notice::KdfCalibrated { params, expected } => errln!(
                "intervault: argon2id calibrated on this machine: {} MiB, {} lane(s), {} passes; one unlock takes about {:.2} s",
                params.memory_kib / 1024,
                params.parallelism,
                params.iterations,
                expected.as_secs_f64()
            ),
            Notice::WeakKdf(p) => errln!(
                "intervault: warning: argon2id with {} MiB and {} pass(es) is below the OWASP floor (19 MiB, 2 passes): use the defaults for a real vault",
                p.memory_kib / 1024,
                p.iterations
            ),
        }
    }

    fn confirm(&mut self, what: &Destruction) -> Result<bool> {
        if self.assume_yes || !std::io::stdin().is_terminal() {
            return Ok(true);
        }
        confirm_on_terminal(what)
    }
}

/// Whether to destroy: asked on the terminal only when stdin is one (a script
/// that pipes into intervault keeps the contract's behaviour, and acts at once).
fn confirm_on_terminal(what: &Destruction) -> Result<bool> {
    use std::io::{BufRead, Write};
    let cannot = |e: std::io::Error| Error::Input {
        what: format!("cannot ask on the terminal: {e}"),
        fix: "nothing was changed; give --yes to go ahead without the question".into(),
        code: 1,
    };
    let mut tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(cannot)?;
    write!(tty, "{} [y/N] ", super::render::question(what)).map_err(cannot)?;
    tty.flush().map_err(cannot)?;
    let mut answer = String::new();
    // At most one short line: anything else is not a yes.
    std::io::BufReader::new(tty.take(64))
        .read_line(&mut answer)
        .map_err(cannot)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The first line of a passphrase file, line ending removed.
fn first_line_of(path: &Path) -> Result<SecretText> {
    let cannot = |e: std::io::Error| Error::NoPassphrase {
        hint: format!("cannot read passphrase file {}: {e}", path.display()),
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let bytes = read_secret_bytes(file, MAX_INPUT_BYTES).map_err(cannot)?;
    let end = match bytes.iter().position(|&b| b == b'\n') {
        Some(end) => end,
        None if bytes.len() as u64 > MAX_INPUT_BYTES => {
            return Err(Error::NoPassphrase {
                hint: format!(
                    "the first line of passphrase file {} is longer than 1 MiB; put the passphrase on its own first line",
                    path.display()
                ),
            })
        }
        None => bytes.len(),
    };
    let mut line = &bytes[..end];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let text = std::str::from_utf8(line).map_err(|_| Error::NoPassphrase {
        hint: format!("passphrase file {} is not UTF-8 text", path.display()),
    })?;
    Ok(SecretText::new(text.to_owned()))
}

/// Reads a secret from stdin: one line (its newline removed), or everything with
/// `multiline`. Several lines without `multiline` are refused rather than cut.
fn read_stdin_secret(multiline: bool) -> Result<SecretText> {
    let bytes =
        read_secret_bytes(std::io::stdin().lock(), MAX_INPUT_BYTES).map_err(|e| Error::Input {
            what: format!("cannot read the secret from stdin: {e}"),
            fix: "pipe the secret in, or run on a terminal to be prompted".into(),
            code: 1,
        })?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::Input {
            what: "secret too long".into(),
            fix: "secrets are limited to 1 MiB".into(),
            code: 2,
        });
    }
    let mut end = bytes.len();
    if !multiline {
        if bytes[..end].last() == Some(&b'\n') {
            end -= 1;
            if bytes[..end].last() == Some(&b'\r') {
                end -= 1;
            }
        }
        if bytes[..end].contains(&b'\n') {
            return Err(Error::Input {
                what: "stdin holds several lines".into(),
                fix: "give the secret on one line, or add --multiline to keep every line".into(),
                code: 2,
            });
        }
    }
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| Error::Input {
        what: "the secret is not valid UTF-8".into(),
        fix: "give the secret as UTF-8 text".into(),
        code: 2,
    })?;
    Ok(SecretText::new(text.to_owned()))
}

/// Reads a secret (a passphrase file, stdin): at most `max` bytes and one more,
/// so that the caller can tell a longer input. Every buffer that ever held a
/// byte of it is zeroed before it is freed: the buffer grows by hand (a bigger
/// one, a copy, the old one wiped) where `read_to_end` would leave the old
/// allocations as they were, and the chunks are read through a zeroized one.
fn read_secret_bytes(mut input: impl Read, max: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let limit = usize::try_from(max).unwrap_or(usize::MAX).saturating_add(1);
    let mut chunk = Zeroizing::new([0u8; 8192]);
    let mut bytes = Zeroizing::new(Vec::with_capacity(chunk.len().min(limit)));
    while bytes.len() < limit {
        let want = (limit - bytes.len()).min(chunk.len());
        let n = match input.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if bytes.len() + n > bytes.capacity() {
            let capacity = (bytes.capacity().saturating_mul(2))
                .max(bytes.len() + n)
                .min(limit);
            bytes = moved_to_bigger(&mut bytes, capacity);
        }
        // Within the capacity: never a reallocation.
        bytes.extend_from_slice(&chunk[..n]);
    }
    Ok(bytes)
}

/// A copy of `old` in a new buffer of at least `capacity` bytes; `old` is
/// overwritten with zeros, so that no copy of a secret outlives a growth.
fn moved_to_bigger(old: &mut [u8], capacity: usize) -> Zeroizing<Vec<u8>> {
    let mut bigger = Zeroizing::new(Vec::with_capacity(capacity.max(old.len())));
    bigger.extend_from_slice(old);
    zeroize::Zeroize::zeroize(old);
    bigger
}

/// Reads exactly `count` lines from stdin (`add --totp`: the secret, then the seed).
fn read_stdin_lines(count: usize) -> Result<Vec<SecretText>> {
    let all = read_stdin_secret(true)?;
    let text = all.expose();
    let text = text.strip_suffix('\n').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() != count {
        return Err(Error::Input {
            what: format!("stdin holds {} line(s), not {count}", lines.len()),
            fix: "give the secret on the first line and the TOTP seed on the second".into(),
            code: 2,
        });
    }
    Ok(lines
        .into_iter()
        .map(|l| SecretText::new(l.strip_suffix('\r').unwrap_or(l).to_owned()))
        .collect())
}

/// Below this zxcvbn score (0 to 4) a new passphrase is called weak.
const STRONG_ENOUGH: u8 = 3;

/// Warns about a weak new passphrase (zxcvbn's estimate, never the passphrase
/// itself). One typed at the prompt must then be confirmed (y/N); one given by
/// a file or the environment (scripts, tests) only gets the warning.
fn check_strength(passphrase: &SecretText, prompted: bool) -> Result<()> {
    let estimate = zxcvbn::zxcvbn(passphrase.expose(), &["intervault"]);
    let score = u8::from(estimate.score());
    if score >= STRONG_ENOUGH {
        return Ok(());
    }
    let why = estimate
        .feedback()
        .and_then(|f| f.warning())
        .map(|w| format!(": {}", w.to_string().trim_end_matches('.')))
        .unwrap_or_default();
    errln!("intervault: warning: the new passphrase is weak (strength {score} of 4{why}); it guards every client's logins: prefer four or more random words");
    if !prompted {
        return Ok(());
    }
    if confirm("Use this weak passphrase anyway? [y/N] ")? {
        return Ok(());
    }
    Err(Error::Input {
        what: "weak passphrase not confirmed".into(),
        fix: "nothing was changed; run the command again with a stronger passphrase".into(),
        code: 2,
    })
}

/// Asks a yes/no question on the terminal; only `y` or `yes` is a yes.
fn confirm(question: &str) -> Result<bool> {
    use std::io::{BufRead, Write};
    let cannot = |e: std::io::Error| Error::Input {
        what: format!("cannot ask on the terminal: {e}"),
        fix: "try again on a terminal".into(),
        code: 1,
    };
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(cannot)?;
    (&tty).write_all(question.as_bytes()).map_err(cannot)?;
    let mut answer = String::new();
    std::io::BufReader::new(&tty)
        .take(64)
        .read_line(&mut answer)
        .map_err(cannot)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn ensure_terminal() -> Result<()> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map(drop)
        .map_err(|_| Error::NoPassphrase {
            hint: PASSPHRASE_HINT.into(),
        })
}

fn prompt_hidden(prompt: &str) -> Result<SecretText> {
    ensure_terminal()?;
    rpassword::prompt_password(prompt)
        .map(SecretText::new)
        .map_err(|e| Error::Input {
            what: format!("cannot read from the terminal: {e}"),
            fix: "try again, or give --passphrase-file FILE".into(),
            code: 1,
        })
}

/// Asks twice with echo off and compares in constant time.
fn prompt_twice(prompt: &str, what: &str) -> Result<SecretText> {
    let first = prompt_hidden(prompt)?;
    let again = prompt_hidden("Repeat: ")?;
    if !first.ct_eq(&again) {
        return Err(Error::Input {
            what: format!("the {what} do not match"),
            fix: "nothing was changed; try again".into(),
            code: 2,
        });
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12, item 11: a `--multiline` secret of several hundred KiB (a key
    /// file, a certificate chain) comes back byte for byte, through buffers that
    /// grew many times.
    #[test]
    fn a_large_multiline_secret_round_trips() {
        let line = "-----0123456789abcdefghijklmnopqrstuvwxyz-----\n";
        let secret = line.repeat(700 * 1024 / line.len());
        assert!(secret.len() > 600 * 1024);
        // Reads of odd sizes, as a pipe gives them.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(4093);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let read = read_secret_bytes(Trickle(secret.as_bytes()), MAX_INPUT_BYTES).unwrap();
        assert_eq!(&read[..], secret.as_bytes());
        assert!(read.capacity() <= MAX_INPUT_BYTES as usize + 1);
    }

    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        let input = vec![b'x'; 5000];
        assert_eq!(read_secret_bytes(&input[..], 4096).unwrap().len(), 4097);
        assert_eq!(read_secret_bytes(&input[..], 5000).unwrap().len(), 5000);
        assert_eq!(read_secret_bytes(&b""[..], 10).unwrap().len(), 0);
    }

    /// The growth step wipes the buffer it leaves.
    #[test]
    fn growing_wipes_the_old_buffer() {
        let mut old = vec![0xA5u8; 3000];
        let bigger = moved_to_bigger(&mut old, 8000);
        assert_eq!(&bigger[..], &[0xA5u8; 3000][..]);
        assert!(bigger.capacity() >= 8000);
        assert_eq!(old.len(), 3000);
        assert!(
            old.iter().all(|&b| b == 0),
            "the old buffer still holds the secret"
        );
    }
}

//! The vault's file system discipline: private directories, checked reads, atomic
//! writes, shredding, and the lock.
//!
//! Every write goes to a temporary file in the same directory, is fsynced, renamed
//! over the target, and the directory is fsynced: a crash leaves the old or the new
//! file, never a mix. Only ciphertext and the clear header ever reach a temporary file.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Largest vault file read; anything bigger is refused before it is read whole.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How long a command waits for the lock before saying the vault is busy.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Prefix of temporary files, so a crashed write's leftovers are recognised.
pub const TEMP_PREFIX: &str = ".tmp-";

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Creates `dir` (and parents) if missing, then forces it to 0700 whatever the umask.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    seam::check(Step::CreateDir, dir)
        .and_then(|()| {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
        })
        .map_err(|e| Error::io("create directory", dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("set permissions on", dir, e))
}

/// Refuses a vault directory that is a symlink, not ours, or open to others.
pub fn check_private_dir(dir: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(dir).map_err(|e| Error::io("inspect", dir, e))?;
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(Error::UnsafeFile {
            path: dir.to_owned(),
            problem: "it is a symlink or not a directory".into(),
            fix: "use the real directory, not a link to it".into(),
        });
    }
    check_owner_and_mode(dir, &meta, "700")
}

/// Refuses what belongs to another user or is open to group or others; `private`
/// is the mode to suggest in the fix.
fn check_owner_and_mode(path: &Path, meta: &fs::Metadata, private: &str) -> Result<()> {
    let refuse = |problem: &str, fix: String| Error::UnsafeFile {
        path: path.to_owned(),
        problem: problem.to_owned(),
        fix,
    };
    if meta.uid() != euid() {
        return Err(refuse(
            "it belongs to another user",
            "use your own vault".into(),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(refuse(
            "it is accessible to group or others",
            format!(
                "check who could read it, then run: chmod {private} '{}'",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Opens a vault file for reading, refusing symlinks (O_NOFOLLOW), hard links,
/// files of other users, files open to group or others, and oversized files.
pub fn read_checked(path: &Path) -> Result<Vec<u8>> {
    read_checked_up_to(path, MAX_FILE_BYTES)
}

/// [`read_checked`] with another size cap (the audit trail grows past 64 MiB).
pub fn read_checked_up_to(path: &Path, max: u64) -> Result<Vec<u8>> {
    let (mut file, meta) = open_read_checked(path, max)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    Read::by_ref(&mut file)
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    Ok(bytes)
}

/// Opens a vault file for reading with the checks of [`read_checked`], refusing
/// one larger than `max` bytes, to be read in pieces.
pub fn open_read_checked(path: &Path, max: u64) -> Result<(File, fs::Metadata)> {
    let (file, meta) = open_checked(path, OpenOptions::new().read(true))?;
    if meta.len() > max {
        return Err(Error::damaged(
            path,
            format!("{} bytes is more than a vault file can hold", meta.len()),
        ));
    }
    Ok((file, meta))
}

/// Opens a vault file with `options` (plus O_NOFOLLOW) and refuses anything but a
/// regular file of ours, private, with one link.
fn open_checked(path: &Path, options: &OpenOptions) -> Result<(File, fs::Metadata)> {
    let file = options
        .clone()
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => Error::UnsafeFile {
                path: path.to_owned(),
                problem: "it is a symlink".into(),
                fix: "replace it with the real file from a backup".into(),
            },
            _ => Error::io("read", path, e),
        })?;
    let meta = file.metadata().map_err(|e| Error::io("inspect", path, e))?;
    let unsafe_file = |problem: &str, fix: String| Error::UnsafeFile {
        path: path.to_owned(),
        problem: problem.to_owned(),
        fix,
    };
    if !meta.is_file() {
        return Err(unsafe_file(
            "it is not a regular file",
            "restore it from a backup".into(),
        ));
    }
    if meta.nlink() != 1 {
        return Err(unsafe_file(
            "it has other hard links",
            "remove the other links to it".into(),
        ));
    }
    check_owner_and_mode(path, &meta, "600")?;
    Ok((file, meta))
}

/// Opens a vault file for reading and appending, creating it (0600, and the
/// directory entry made durable) if missing; same checks as [`read_checked`].
/// Gives the file and its length.
pub fn open_for_append(path: &Path) -> Result<(File, u64)> {
    match open_checked(path, OpenOptions::new().read(true).append(true)) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            seam::check(Step::CreateTemp, path).map_err(|e| Error::io("create", path, e))?;
            let created = OpenOptions::new()
                .read(true)
                .append(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(path)
                .map_err(|e| Error::io("create", path, e))?;
            sync_dir(parent(path)?)?;
            Ok((created, 0))
        }
        Err(e) => Err(e),
        Ok((file, meta)) => Ok((file, meta.len())),
    }
}

/// Appends `bytes` to a file opened by [`open_for_append`] and fsyncs it. A write
/// cut short leaves a partial last line, which the next appender cuts off.
pub fn append_synced(file: &mut File, path: &Path, bytes: &[u8]) -> Result<()> {
    seam::writer(Step::Write, path, &mut *file)
        .write_all(bytes)
        .and_then(|()| seam::check(Step::SyncFile, path))
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("append to", path, e))
}

/// Cuts a file back to its first `len` bytes and fsyncs it.
pub fn truncate_synced(file: &File, path: &Path, len: u64) -> Result<()> {
    seam::check(Step::Truncate, path)
        .and_then(|()| file.set_len(len))
        .and_then(|()| seam::check(Step::SyncFile, path))
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("repair", path, e))
}

/// Writes `bytes` to `path` atomically: temp file (0600) in the same directory,
/// fsync, rename over `path`, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent(path)?;
    let mut tmp = seam::check(Step::CreateTemp, dir)
        .and_then(|()| {
            tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .permissions(fs::Permissions::from_mode(0o600))
                .tempfile_in(dir)
        })
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    let tmp_path = tmp.path().to_owned();
    seam::writer(Step::Write, &tmp_path, tmp.as_file_mut())
        .write_all(bytes)
        .and_then(|()| seam::check(Step::SyncFile, &tmp_path))
        .and_then(|()| tmp.as_file().sync_all())
        // Name the file being replaced: the temporary one is gone by the time
        // the user reads this.
        .map_err(|e| Error::io("write", path, e))?;
    // On failure the temporary file is removed when `tmp` drops.
    seam::check(Step::Rename, path).map_err(|e| Error::io("replace", path, e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    // The rename has happened: the new state is the vault's state now, and callers
    // treat an error as "nothing changed" (and undo their new files). So a failing
    // directory fsync, which only weakens durability across a power cut, must
    // not be reported as a failed write.
    let _ = sync_dir(dir);
    Ok(())
}

/// Replaces `path` atomically with `bytes` (as [`write_atomic`]), then overwrites
/// the old file's bytes, through a descriptor opened before the rename, with
/// random bytes: what it held (a key taken out of a backup) is not left in its
/// blocks. The overwrite is best effort, like [`shred`]'s.
pub fn replace_and_scrub(path: &Path, bytes: &[u8]) -> Result<()> {
    let old = OpenOptions::new()
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .ok();
    write_atomic(path, bytes)?;
    if let Some(mut file) = old {
        overwrite_with_random(&mut file, path);
        let _ = file.sync_all();
    }
    Ok(())
}

/// Overwrites a file's bytes in place with random bytes; best effort (stops at
/// the first failed write).
fn overwrite_with_random(file: &mut File, path: &Path) {
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let out = &mut seam::writer(Step::Overwrite, path, file);
    let mut left = len;
    while left > 0 {
        let chunk: [u8; 4096] = crate::crypto::random_bytes();
        let n = left.min(chunk.len() as u64) as usize;
        if out.write_all(&chunk[..n]).is_err() {
            break;
        }
        left -= n as u64;
    }
}

/// Fsyncs a directory so that renames and unlinks in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    seam::check(Step::SyncDir, dir)
        .and_then(|()| File::open(dir))
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync directory", dir, e))
}

fn parent(path: &Path) -> Result<&Path> {
    path.parent()
        .ok_or_else(|| Error::Internal(format!("{} has no parent directory", path.display())))
}

/// Overwrites a file with random bytes, fsyncs, then unlinks it. The overwrite is
/// best effort (copy-on-write file systems and flash keep old blocks); the unlink
/// must succeed. A missing file is already gone and counts as success.
///
/// The directory is fsynced after the unlink, but a failure there is not reported:
/// the file is gone, and if a power cut brings it back, the next command collects
/// it like any leftover (a temporary file, a file of an intervention that is not
/// live, an older credentials generation). Reporting it would abort a wipe half-way
/// (the expiry wipe destroys the key, then the credentials) for nothing.
pub fn shred(path: &Path) -> Result<()> {
    let opened = seam::check(Step::OpenForShred, path).and_then(|()| {
        OpenOptions::new()
            .write(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
    });
    match opened {
        Ok(mut file) => {
            if file.metadata().map(|m| m.len()).unwrap_or(0) > 0 {
                overwrite_with_random(&mut file, path);
            }
            let _ = seam::check(Step::SyncFile, path).and_then(|()| file.sync_all());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {} // not writable (or a symlink): still unlink it below
    }
    match seam::check(Step::Unlink, path).and_then(|()| fs::remove_file(path)) {
        Ok(()) => {
            let _ = sync_dir(parent(path)?);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Opens `path` for reading and writing, made private (0600) if it is new, never
/// through a symlink, and never truncated.
fn open_or_create_private(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

/// Makes an empty private file (the change marker), not synced: see its use.
pub fn create_marker(path: &Path) -> Result<()> {
    open_or_create_private(path)
        .map(drop)
        .map_err(|e| Error::io("create", path, e))
}

/// Names of the entries of a directory (empty if it does not exist).
pub fn list_dir(dir: &Path) -> Result<Vec<String>> {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| {
                e.map(|e| e.file_name().to_string_lossy().into_owned())
                    .map_err(|e| Error::io("list", dir, e))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io("list", dir, e)),
    }
}

/// Shared (readers) or exclusive (writers) hold on the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Many readers at once.
    Shared,
    /// One writer, no readers.
    Exclusive,
}

/// A held lock on the vault's lock file; released on drop.
#[derive(Debug)]
pub struct VaultLock {
    _file: File,
    /// How it is held.
    pub mode: LockMode,
}

/// Takes the lock on `path` (a separate, stable file that is never replaced, so every
/// process locks the same inode), waiting up to [`LOCK_WAIT`].
pub fn lock(path: &Path, mode: LockMode) -> Result<VaultLock> {
    let file =
        open_or_create_private(path).map_err(|e| Error::io("open the lock file", path, e))?;
    let started = Instant::now();
    loop {
        let attempt = match mode {
            LockMode::Shared => file.try_lock_shared(),
            LockMode::Exclusive => file.try_lock(),
        };
        match attempt {
            Ok(()) => return Ok(VaultLock { _file: file, mode }),
            Err(fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::Busy {
                    seconds: LOCK_WAIT.as_secs(),
                })
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io("lock", path, e)),
        }
    }
}

/// Takes the lock only if it is free right now.
pub fn try_lock_now(path: &Path, mode: LockMode) -> Option<VaultLock> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .ok()?;
    let locked = match mode {
        LockMode::Shared => file.try_lock_shared(),
        LockMode::Exclusive => file.try_lock(),
    };
    locked.ok().map(|()| VaultLock { _file: file, mode })
}

/// Path of an entry under the vault.
pub fn join(dir: &Path, parts: &[&str]) -> PathBuf {
    parts.iter().fold(dir.to_owned(), |p, part| p.join(part))
}

/// The mutating steps of the file system discipline. Each goes through [`seam`],
/// where a test can make it fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Creating a private directory.
    CreateDir,
    /// Creating a temporary file for an atomic write.
    CreateTemp,
    /// Writing the temporary file.
    Write,
    /// Fsyncing a file (the temporary file, or a file being shredded).
    SyncFile,
    /// Renaming the temporary file over its target.
    Rename,
    /// Fsyncing a directory (after a rename or an unlink).
    SyncDir,
    /// Opening a file to shred it.
    OpenForShred,
    /// Overwriting a file being shredded.
    Overwrite,
    /// Unlinking a shredded file.
    Unlink,
    /// Cutting a file back to a shorter length (the audit trail's repairs).
    Truncate,
}

/// Where every mutating step passes. Outside tests it is the identity and
/// compiles to nothing; under `cfg(test)` it consults the thread's fault plan.
mod seam {
    #[cfg(not(test))]
    use std::{io, path::Path};

    #[cfg(not(test))]
    use super::Step;

    /// Lets step `_step` on `_path` go ahead.
    #[cfg(not(test))]
    #[inline(always)]
    pub(super) fn check(_step: Step, _path: &Path) -> io::Result<()> {
        Ok(())
    }

    /// The writer through which step `_step` on `_path` writes: `w` itself.
    #[cfg(not(test))]
    #[inline(always)]
    pub(super) fn writer<W: io::Write>(_step: Step, _path: &Path, w: W) -> W {
        w
    }

    #[cfg(test)]
    pub(super) use super::fault::{check, writer};
}

/// Fault injection for tests: a thread-local plan makes the n-th mutating step
/// of this thread fail (ENOSPC, EIO, or a short write followed by ENOSPC), or
/// fills the disk from the n-th step on; every step is traced.
#[cfg(test)]
pub(crate) mod fault {
    use std::cell::RefCell;
    use std::io::{self, Write};
    use std::path::{Path, PathBuf};

    use super::Step;

    /// How an injected failure looks.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Kind {
        /// `ENOSPC`.
        NoSpace,
        /// `EIO`.
        Io,
        /// A write that writes part of its buffer, then `ENOSPC`. At a step that
        /// writes nothing it is plain `ENOSPC`.
        ShortWrite,
    }

    /// What to inject.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Plan {
        /// Step `n` (1-based, counted in this thread) fails once with `Kind`.
        At(usize, Kind),
        /// From step `n` on the disk is full: every step that needs space
        /// (creating a directory or a file, writing, fsyncing a file) fails with
        /// `ENOSPC`, a write after writing part of its buffer.
        DiskFullFrom(usize),
    }

    impl Step {
        /// Whether the step writes bytes (a short write applies to it).
        pub(crate) fn writes(self) -> bool {
            matches!(self, Step::Write | Step::Overwrite)
        }

        /// Whether the step can need free space.
        pub(crate) fn needs_space(self) -> bool {
            matches!(
                self,
                Step::CreateDir | Step::CreateTemp | Step::Write | Step::SyncFile | Step::Overwrite
            )
        }
    }

    /// One step as it happened.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct Traced {
        /// Which step.
        pub step: Step,
        /// On what.
        pub path: PathBuf,
        /// The failure injected there, if any.
        pub injected: Option<Kind>,
    }

    #[derive(Default)]
    struct State {
        plan: Option<Plan>,
        trace: Vec<Traced>,
    }

    thread_local! {
        static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    }

    /// Injection (and tracing) for this thread until the guard is finished or dropped.
    pub(crate) struct Armed(());

    /// Starts tracing this thread's steps and injects `plan` (none: trace only).
    pub(crate) fn arm(plan: Option<Plan>) -> Armed {
        STATE.with(|s| {
            *s.borrow_mut() = Some(State {
                plan,
                trace: Vec::new(),
            })
        });
        Armed(())
    }

    impl Armed {
        /// Stops injecting and gives the trace.
        pub(crate) fn finish(self) -> Vec<Traced> {
            STATE.with(|s| s.borrow_mut().take().map(|s| s.trace).unwrap_or_default())
        }
    }

    impl Drop for Armed {
        fn drop(&mut self) {
            STATE.with(|s| s.borrow_mut().take());
        }
    }

    /// The error an injected failure of `kind` gives.
    pub(crate) fn error(kind: Kind) -> io::Error {
        let errno = match kind {
            Kind::NoSpace | Kind::ShortWrite => rustix::io::Errno::NOSPC,
            Kind::Io => rustix::io::Errno::IO,
        };
        io::Error::from_raw_os_error(errno.raw_os_error())
    }

    /// Counts a step and says what, if anything, to inject there.
    fn hit(step: Step, path: &Path) -> Option<Kind> {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            let s = s.as_mut()?;
            let n = s.trace.len() + 1;
            let injected = match s.plan {
                Some(Plan::At(at, kind)) if at == n => Some(kind),
                Some(Plan::DiskFullFrom(from)) if n >= from && step.needs_space() => {
                    Some(Kind::ShortWrite)
                }
                _ => None,
            };
            s.trace.push(Traced {
                step,
                path: path.to_owned(),
                injected,
            });
            injected
        })
    }

    /// The seam's check: fails the step when the plan says so.
    pub(crate) fn check(step: Step, path: &Path) -> io::Result<()> {
        match hit(step, path) {
            Some(kind) => Err(error(kind)),
            None => Ok(()),
        }
    }

    /// The seam's writer: `w`, failing as the plan says.
    pub(crate) fn writer<W: Write>(step: Step, path: &Path, w: W) -> Writer<W> {
        Writer {
            inner: w,
            fault: hit(step, path),
        }
    }

    /// A writer that may write part of a buffer, then fail.
    pub(crate) struct Writer<W> {
        inner: W,
        fault: Option<Kind>,
    }

    impl<W: Write> Write for Writer<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            match self.fault {
                None => self.inner.write(buf),
                Some(Kind::ShortWrite) if buf.len() > 1 => {
                    // Part of the buffer reaches the file; the next write fails.
                    self.fault = Some(Kind::NoSpace);
                    self.inner.write(&buf[..buf.len() / 2])
                }
                Some(kind) => Err(error(kind)),
            }
        }

        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_private_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(read_checked(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(list_dir(dir.path()).unwrap(), vec!["f".to_string()]);
    }

    #[test]
    fn symlinks_hard_links_and_open_modes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        write_atomic(&real, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(read_checked(&link).unwrap_err().exit_code(), 6);
        let hard = dir.path().join("hard");
        fs::hard_link(&real, &hard).unwrap();
        assert_eq!(read_checked(&real).unwrap_err().exit_code(), 6);
        fs::remove_file(&hard).unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(read_checked(&real).unwrap_err().exit_code(), 6);
    }

    #[test]
    fn shred_removes_and_tolerates_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        write_atomic(&path, &[1u8; 10_000]).unwrap();
        shred(&path).unwrap();
        assert!(!path.exists());
        shred(&path).unwrap();
    }

    #[test]
    fn private_dir_is_0700_whatever_exists() {
        let dir = tempfile::tempdir().unwrap();
        let v = dir.path().join("v");
        fs::create_dir(&v).unwrap();
        fs::set_permissions(&v, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(check_private_dir(&v).is_err());
        create_private_dir(&v).unwrap();
        check_private_dir(&v).unwrap();
    }

    /// The steps of one call, as traced.
    fn steps_of(f: impl FnOnce()) -> Vec<Step> {
        let armed = fault::arm(None);
        f();
        armed.finish().iter().map(|t| t.step).collect()
    }

    fn kinds_for(step: Step) -> Vec<fault::Kind> {
        let mut kinds = vec![fault::Kind::NoSpace, fault::Kind::Io];
        if step.writes() {
            kinds.push(fault::Kind::ShortWrite);
        }
        kinds
    }

    #[test]
    fn fault_at_any_step_of_an_atomic_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"old").unwrap();
        let new = vec![7u8; 10_000];
        let steps = steps_of(|| write_atomic(&path, &new).unwrap());
        assert_eq!(
            steps,
            [
                Step::CreateTemp,
                Step::Write,
                Step::SyncFile,
                Step::Rename,
                Step::SyncDir
            ]
        );
        for (i, step) in steps.iter().enumerate() {
            for kind in kinds_for(*step) {
                write_atomic(&path, b"old").unwrap();
                let armed = fault::arm(Some(fault::Plan::At(i + 1, kind)));
                let result = write_atomic(&path, &new);
                let trace = armed.finish();
                assert_eq!(trace[i].injected, Some(kind));
                if *step == Step::SyncDir {
                    // The rename has happened: the write has, too.
                    result.unwrap();
                    assert_eq!(read_checked(&path).unwrap(), new);
                } else {
                    let err = result.unwrap_err();
                    let Error::Io { source, .. } = &err else {
                        panic!("{step:?} {kind:?}: {err}");
                    };
                    assert_eq!(
                        source.raw_os_error(),
                        fault::error(kind).raw_os_error(),
                        "{step:?} {kind:?}"
                    );
                    assert_eq!(read_checked(&path).unwrap(), b"old", "{step:?} {kind:?}");
                }
                assert_eq!(
                    list_dir(dir.path()).unwrap(),
                    vec!["f".to_string()],
                    "{step:?} {kind:?}"
                );
            }
        }
    }

    #[test]
    fn fault_short_write_really_writes_part_then_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let armed = fault::arm(Some(fault::Plan::At(1, fault::Kind::ShortWrite)));
        let mut out = seam::writer(Step::Write, &path, &file);
        assert_eq!(out.write(b"abcdef").unwrap(), 3);
        let err = out.write(b"def").unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(rustix::io::Errno::NOSPC.raw_os_error())
        );
        drop(armed);
        assert_eq!(fs::read(&path).unwrap(), b"abc");
    }

    #[test]
    fn fault_only_a_failing_unlink_fails_a_shred() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        write_atomic(&path, &[1u8; 10_000]).unwrap();
        let steps = steps_of(|| shred(&path).unwrap());
        assert_eq!(
            steps,
            [
                Step::OpenForShred,
                Step::Overwrite,
                Step::SyncFile,
                Step::Unlink,
                Step::SyncDir
            ]
        );
        for (i, step) in steps.iter().enumerate() {
            for kind in kinds_for(*step) {
                write_atomic(&path, &[1u8; 10_000]).unwrap();
                let armed = fault::arm(Some(fault::Plan::At(i + 1, kind)));
                let result = shred(&path);
                armed.finish();
                if *step == Step::Unlink {
                    assert!(result.is_err(), "{step:?} {kind:?}");
                    assert!(path.exists());
                } else {
                    // Overwriting is best effort; after the unlink the file is gone.
                    result.unwrap();
                    assert!(!path.exists(), "{step:?} {kind:?}");
                }
            }
        }
        // A disk that stays full does not stop a shred.
        write_atomic(&path, &[1u8; 10_000]).unwrap();
        let armed = fault::arm(Some(fault::Plan::DiskFullFrom(1)));
        shred(&path).unwrap();
        assert!(armed.finish().iter().any(|t| t.injected.is_some()));
        assert!(!path.exists());
    }

    #[test]
    fn exclusive_lock_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.lock");
        let _held = lock(&path, LockMode::Shared).unwrap();
        let _also = lock(&path, LockMode::Shared).unwrap();
    }
}

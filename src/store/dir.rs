//! The directory store: each object a file under the vault directory, written
//! by [`fsio`]'s discipline (private modes, checked reads, temp + fsync +
//! rename + fsync of the directory, shredding), locks as `flock`s on stable
//! lock files.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::fsio::{self, LockMode, VaultLock};
use super::{Held, Store, StoreError, StoreResult};
use crate::error::{Error, Location, Result};

/// A vault kept in a directory of files.
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
}

impl DirStore {
    /// The store in `dir`; nothing is touched until a call.
    pub fn new(dir: &Path) -> Self {
        DirStore {
            dir: dir.to_owned(),
        }
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        match name {
            "" => self.dir.clone(),
            name => self.dir.join(name),
        }
    }
}

/// A missing file is the typed "not found"; anything else stays as explained.
fn typed(e: Error) -> StoreError {
    match e {
        Error::Io { source, path, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            StoreError::NotFound(Location::Path(path))
        }
        other => StoreError::Failed(other),
    }
}

impl Held for VaultLock {
    fn mode(&self) -> LockMode {
        self.mode
    }
}

impl Store for DirStore {
    fn address(&self) -> String {
        self.dir.display().to_string()
    }

    fn local_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn unmark(&self, name: &str) {
        let _ = std::fs::remove_file(self.path(name));
    }

    fn locate(&self, name: &str) -> Location {
        Location::Path(self.path(name))
    }

    fn check_private(&self, folders: &[&str]) -> Result<()> {
        fsio::check_private_dir(&self.dir)?;
        for folder in folders {
            let path = self.path(folder);
            if std::fs::symlink_metadata(&path).is_ok() {
                fsio::check_private_dir(&path)?;
            }
        }
        Ok(())
    }

    fn create(&self, folders: &[&str]) -> Result<()> {
        fsio::create_private_dir(&self.dir)?;
        for folder in folders {
            fsio::create_private_dir(&self.path(folder))?;
        }
        Ok(())
    }

    fn ensure_folder(&self, folder: &str) -> Result<()> {
        let path = self.path(folder);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => fsio::check_private_dir(&path),
            // Never make a vault directory out of nothing (recording a `lock`
            // for a vault that does not exist, say).
            Err(_) if !self.dir.is_dir() => Err(Error::NoVault {
                at: self.locate(""),
            }),
            Err(_) => fsio::create_private_dir(&path),
        }
    }

    fn read_up_to(&self, name: &str, max: u64) -> StoreResult<Vec<u8>> {
        fsio::read_checked_up_to(&self.path(name), max).map_err(typed)
    }

    fn exists(&self, name: &str) -> Result<bool> {
        let path = self.path(name);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("inspect", &path, e)),
        }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        fsio::write_atomic(&self.path(name), bytes)
    }

    fn write_new(&self, name: &str, bytes: &[u8]) -> StoreResult<()> {
        // Callers hold the exclusive lock: nobody creates it in between.
        if self.exists(name)? {
            return Err(StoreError::AlreadyExists(self.locate(name)));
        }
        Ok(self.write(name, bytes)?)
    }

    fn shred(&self, name: &str) -> Result<()> {
        fsio::shred(&self.path(name))
    }

    fn list(&self, folder: &str) -> Result<Vec<String>> {
        fsio::list_dir(&self.path(folder))
    }

    fn lock(&self, name: &str, mode: LockMode) -> Result<Box<dyn Held>> {
        Ok(Box::new(fsio::lock(&self.path(name), mode)?))
    }

    fn try_lock_now(&self, name: &str, mode: LockMode) -> Option<Box<dyn Held>> {
        fsio::try_lock_now(&self.path(name), mode).map(|l| Box::new(l) as Box<dyn Held>)
    }

    fn mark(&self, name: &str) -> Result<()> {
        fsio::create_marker(&self.path(name))
    }

    fn log_len(&self, name: &str) -> StoreResult<u64> {
        let path = self.path(name);
        let (_, meta) = fsio::open_read_checked(&path, u64::MAX).map_err(typed)?;
        Ok(meta.len())
    }

    fn log_read(&self, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let path = self.path(name);
        let (file, _) = fsio::open_read_checked(&path, u64::MAX)?;
        let mut buf = vec![0u8; len as usize];
        file.read_exact_at(&mut buf, offset)
            .map_err(|e| Error::io("read", &path, e))?;
        Ok(buf)
    }

    fn log_append(&self, name: &str, at: u64, bytes: &[u8]) -> StoreResult<()> {
        let path = self.path(name);
        let (mut file, len) = fsio::open_for_append(&path)?;
        if len != at {
            return Err(StoreError::Changed(self.locate(name)));
        }
        Ok(
            fsio::append_synced(&mut file, &path, bytes).inspect_err(|_| {
                // Whatever part of it reached the file is cut off again.
                let _ = fsio::truncate_synced(&file, &path, len);
            })?,
        )
    }

    fn log_replace(&self, name: &str, bytes: &[u8]) -> Result<()> {
        fsio::write_atomic(&self.path(name), bytes)
    }

    fn log_truncate(&self, name: &str, len: u64) -> Result<()> {
        let path = self.path(name);
        let (file, _) = fsio::open_for_append(&path)?;
        fsio::truncate_synced(&file, &path, len)
    }

    fn log_reader(&self, name: &str, max: u64) -> StoreResult<Box<dyn std::io::BufRead>> {
        let (file, _): (File, _) = fsio::open_read_checked(&self.path(name), max).map_err(typed)?;
        Ok(Box::new(std::io::BufReader::new(file)))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from, to) = (self.path(from), self.path(to));
        std::fs::rename(&from, &to).map_err(|e| Error::io("move aside", &from, e))?;
        match to.parent() {
            Some(dir) => fsio::sync_dir(dir),
            None => Ok(()),
        }
    }
}

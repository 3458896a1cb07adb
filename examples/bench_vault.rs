//! Benchmark helpers for `scripts/bench-etcd.sh`: filling big vaults fast,
//! through the public library API, and timing a `get` by store calls.
//!
//! ```text
//! bench_vault fill DIR N PASSPHRASE_FILE
//!     A directory vault of N credentials: N/10 interventions i0, i1, ... (one
//!     client each, 7 days) of 10 credentials c0..c9 (kind hosting, user admin,
//!     secret "secret-G-C"), as scripts/bench.sh makes with the command line,
//!     but in one process with one unlocking (each open and add is still a
//!     whole command of the library: its commit, its audit record, its fsyncs).
//! bench_vault copy DIR URL
//!     Copies every object of directory vault DIR into the empty etcd prefix
//!     URL with the store API: the same bytes, so the same vault (the same
//!     passphrase opens it). The audit log is appended record by record for
//!     its last TAIL records (default 2,000) and in appends of 256 KiB before
//!     that: a command reads only the log's end, which so has the shape that
//!     one append per command gives.
//! bench_vault phases VAULT ID NAME RUNS PASSPHRASE_FILE
//!     Unlocks VAULT (a directory or URL) into an in-memory session, then
//!     times RUNS `get ID NAME`s in this process, each on a fresh Vault as a
//!     command is, and prints where the time went, store call by store call.
//! ```
//!
//! Filling 10,000 credentials on etcd through the command line would be 11,000
//! commits of a growing index (about 170 KB at 1,000 interventions), each kept
//! by etcd as a revision until a compaction: hours, and gigabytes of history
//! that no real vault of that size has. The copy gives etcd the vault's bytes
//! once.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use intervault::clock::SystemClock;
use intervault::crypto::{KdfParams, SecretText};
use intervault::intervention::Kind;
use intervault::session_store::SessionStore;
use intervault::store::{self, Held, LockMode, SharedStore, Store, StoreResult};
use intervault::vault::{
    Destruction, Interaction, NewCredential, NewIntervention, Notice, PassphrasePurpose, Vault,
    WindowSpec,
};

/// Answers with the passphrase read from a file and scripts/bench.sh's secrets.
struct Ui {
    passphrase: String,
}

impl Interaction for Ui {
    fn passphrase(&mut self, _: PassphrasePurpose) -> intervault::Result<SecretText> {
        Ok(SecretText::new(self.passphrase.clone()))
    }
    fn secret(&mut self, intervention: &str, name: &str) -> intervault::Result<SecretText> {
        let g = intervention.trim_start_matches('i');
        let c = name.trim_start_matches('c');
        Ok(SecretText::new(format!("secret-{g}-{c}")))
    }
    fn totp_seed(&mut self, _: &str, _: &str) -> intervault::Result<SecretText> {
        Err(intervault::Error::Internal("no TOTP in the bench".into()))
    }
    fn notice(&mut self, _: Notice) {}
    fn confirm(&mut self, _: &Destruction) -> intervault::Result<bool> {
        Ok(true)
    }
}

/// A session store in memory, standing for the OS keyring.
#[derive(Default)]
struct Memory(RefCell<HashMap<String, String>>);

impl SessionStore for Memory {
    fn save(&self, account: &str, record: &SecretText, _: Duration) -> intervault::Result<()> {
        self.0
            .borrow_mut()
            .insert(account.into(), record.expose().into());
        Ok(())
    }
    fn load(&self, account: &str) -> intervault::Result<Option<SecretText>> {
        Ok(self.0.borrow().get(account).cloned().map(SecretText::new))
    }
    fn forget(&self, account: &str) -> intervault::Result<bool> {
        Ok(self.0.borrow_mut().remove(account).is_some())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let done = match args.as_slice() {
        ["fill", dir, n, pass] => fill(Path::new(dir), n, Path::new(pass)),
        ["copy", dir, url] => copy(Path::new(dir), url),
        ["phases", vault, id, name, runs, pass] => phases(vault, id, name, runs, Path::new(pass)),
        _ => Err(
            "usage: bench_vault fill DIR N PASSPHRASE_FILE | copy DIR URL | \
                  phases VAULT ID NAME RUNS PASSPHRASE_FILE (see the example's docs)"
                .into(),
        ),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_vault: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ui(pass: &Path) -> Result<Ui, String> {
    let text = std::fs::read_to_string(pass)
        .map_err(|e| format!("cannot read {}: {e}", pass.display()))?;
    Ok(Ui {
        passphrase: text.trim_end_matches('\n').to_owned(),
    })
}

fn open_store(address: &str) -> Result<SharedStore, String> {
    let address = store::address::Address::parse(address).map_err(|e| e.to_string())?;
    store::open(&address, None, Duration::from_secs(10)).map_err(|e| e.to_string())
}

fn fill(dir: &Path, n: &str, pass: &Path) -> Result<(), String> {
    let n: usize = n.parse().map_err(|_| format!("N is not a number: {n}"))?;
    let mut ui = ui(pass)?;
    let sessions = Memory::default();
    let clock = SystemClock;
    let v = Vault::new(dir.to_owned(), &clock).with_sessions(&sessions);
    // The floor OWASP gives for argon2id: the KDF is not what is measured.
    let kdf = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
    v.init(kdf, &mut ui).map_err(|e| e.to_string())?;
    v.unlock(Some(TimeDelta::hours(1)), &mut ui)
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    for g in 0..n / 10 {
        let id = format!("i{g}");
        let new = NewIntervention {
            id: id.clone(),
            client: format!("Client {g}"),
            window: WindowSpec::For(TimeDelta::days(7)),
            note: None,
        };
        v.open(&new, &mut ui)
            .map_err(|e| format!("open {id}: {e}"))?;
        for c in 0..10 {
            let cred = NewCredential {
                name: format!("c{c}"),
                kind: Kind::Hosting,
                url: None,
                user: Some("admin".into()),
                note: None,
                totp: false,
                max_uses: None,
            };
            v.add(&id, &cred, false, &mut ui)
                .map_err(|e| format!("add {id}/c{c}: {e}"))?;
        }
        if g % 100 == 99 {
            eprintln!(
                "bench_vault: {} credentials in {:.0?}",
                (g + 1) * 10,
                started.elapsed()
            );
        }
    }
    v.lock().map_err(|e| e.to_string())?;
    Ok(())
}

/// The audit log, the one object a store keeps as a log.
const AUDIT_LOG: &str = "audit/audit.log";

fn copy(dir: &Path, url: &str) -> Result<(), String> {
    let target = open_store(url)?;
    if !target.list("").map_err(|e| e.to_string())?.is_empty() {
        return Err(format!("{url} is not empty"));
    }
    let mut names = Vec::new();
    walk(dir, "", &mut names)?;
    let started = Instant::now();
    let mut bytes = 0usize;
    // The root last: before it, the prefix is no vault.
    names.sort_by_key(|n| n == "vault.json");
    for name in &names {
        let path = dir.join(name);
        if name == AUDIT_LOG {
            bytes += copy_log(&path, target.as_ref())?;
            continue;
        }
        let content =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        bytes += content.len();
        target.write(name, &content).map_err(|e| e.to_string())?;
    }
    eprintln!(
        "bench_vault: copied {} objects ({bytes} bytes) into {url} in {:.1?}",
        names.len(),
        started.elapsed()
    );
    Ok(())
}

/// The object names under `dir`, without locks, markers and temporary files
/// (none is part of a vault at rest).
fn walk(dir: &Path, folder: &str, names: &mut Vec<String>) -> Result<(), String> {
    let here = dir.join(folder);
    let entries =
        std::fs::read_dir(&here).map_err(|e| format!("cannot list {}: {e}", here.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let name = store::join(folder, &file);
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            walk(dir, &name, names)?;
        } else if !file.ends_with(".lock")
            && !file.starts_with(store::fsio::TEMP_PREFIX)
            && file != "changing"
        {
            names.push(name);
        }
    }
    Ok(())
}

fn copy_log(path: &Path, target: &dyn Store) -> Result<usize, String> {
    let tail: usize = std::env::var("TAIL")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2000);
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(file).split(b'\n') {
        let mut line = line.map_err(|e| e.to_string())?;
        line.push(b'\n');
        lines.push(line);
    }
    let bulk = lines.len().saturating_sub(tail);
    let mut at = 0u64;
    let mut pending = Vec::new();
    let append = |bytes: &[u8], at: &mut u64| -> Result<(), String> {
        target
            .log_append(AUDIT_LOG, *at, bytes)
            .map_err(|e| format!("append to the audit log: {e}"))?;
        *at += bytes.len() as u64;
        Ok(())
    };
    for (i, line) in lines.iter().enumerate() {
        if i < bulk {
            pending.extend_from_slice(line);
            if pending.len() >= 256 * 1024 || i + 1 == bulk {
                append(&pending, &mut at)?;
                pending.clear();
            }
        } else {
            append(line, &mut at)?;
        }
    }
    Ok(at as usize)
}

fn phases(vault: &str, id: &str, name: &str, runs: &str, pass: &Path) -> Result<(), String> {
    let runs: u32 = runs
        .parse()
        .map_err(|_| format!("RUNS is not a number: {runs}"))?;
    let mut ui = ui(pass)?;
    let sessions = Memory::default();
    let clock = SystemClock;
    let calls = Arc::new(Mutex::new(BTreeMap::new()));
    let timed = |calls: &Arc<Mutex<Calls>>| -> Result<SharedStore, String> {
        Ok(Arc::new(Timed {
            inner: open_store(vault)?,
            calls: calls.clone(),
        }))
    };
    Vault::in_store(timed(&calls)?, &clock)
        .with_sessions(&sessions)
        .unlock(Some(TimeDelta::hours(1)), &mut ui)
        .map_err(|e| e.to_string())?;
    calls.lock().map_err(|e| e.to_string())?.clear();
    let mut total = Duration::ZERO;
    for _ in 0..runs {
        let started = Instant::now();
        let v = Vault::in_store(timed(&calls)?, &clock).with_sessions(&sessions);
        v.get(id, name, &mut ui).map_err(|e| e.to_string())?;
        // The store goes with the vault (on etcd: its lease is revoked).
        let dropping = Instant::now();
        drop(v);
        note(&calls, "(drop)", dropping);
        total += started.elapsed();
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(runs);
    println!("get {id}/{name} on {vault}: {:.2} ms a run ({runs} runs, in process, with the store's drop)", per(total));
    println!("{:<14} {:>8} {:>10}", "store call", "calls/run", "ms/run");
    let calls = calls.lock().map_err(|e| e.to_string())?;
    let mut in_store = Duration::ZERO;
    for (method, (count, spent)) in calls.iter() {
        in_store += *spent;
        println!(
            "{method:<14} {:>8.1} {:>10.3}",
            f64::from(*count) / f64::from(runs),
            per(*spent)
        );
    }
    println!(
        "{:<14} {:>8} {:>10.3}",
        "all store calls",
        "",
        per(in_store)
    );
    println!(
        "{:<14} {:>8} {:>10.3}",
        "the rest",
        "",
        per(total.saturating_sub(in_store))
    );
    Ok(())
}

type Calls = BTreeMap<&'static str, (u32, Duration)>;

/// A store that counts and times every call to the store it wraps (the time
/// of a lock's release and of the store's drop included).
struct Timed {
    inner: SharedStore,
    calls: Arc<Mutex<Calls>>,
}

fn note(calls: &Mutex<Calls>, method: &'static str, started: Instant) {
    let spent = started.elapsed();
    let mut calls = calls.lock().unwrap_or_else(|p| p.into_inner());
    let entry = calls.entry(method).or_default();
    entry.0 += 1;
    entry.1 += spent;
}

impl Timed {
    fn time<T>(&self, method: &'static str, f: impl FnOnce(&dyn Store) -> T) -> T {
        let started = Instant::now();
        let out = f(self.inner.as_ref());
        note(&self.calls, method, started);
        out
    }
}

/// A lock whose release is timed.
struct TimedHeld {
    inner: Option<Box<dyn Held>>,
    calls: Arc<Mutex<Calls>>,
}

impl Held for TimedHeld {
    fn mode(&self) -> LockMode {
        self.inner.as_ref().map_or(LockMode::Shared, |h| h.mode())
    }
}

impl Drop for TimedHeld {
    fn drop(&mut self) {
        let started = Instant::now();
        drop(self.inner.take());
        note(&self.calls, "(unlock)", started);
    }
}

impl Store for Timed {
    fn address(&self) -> String {
        self.inner.address()
    }
    fn local_dir(&self) -> Option<&Path> {
        self.inner.local_dir()
    }
    fn unmark(&self, name: &str) {
        self.time("unmark", |s| s.unmark(name))
    }
    fn locate(&self, name: &str) -> intervault::error::Location {
        self.inner.locate(name)
    }
    fn check_private(&self, folders: &[&str]) -> intervault::Result<()> {
        self.time("check_private", |s| s.check_private(folders))
    }
    fn create(&self, folders: &[&str]) -> intervault::Result<()> {
        self.time("create", |s| s.create(folders))
    }
    fn ensure_folder(&self, folder: &str) -> intervault::Result<()> {
        self.time("ensure_folder", |s| s.ensure_folder(folder))
    }
    fn read_up_to(&self, name: &str, max: u64) -> StoreResult<Vec<u8>> {
        self.time("read", |s| s.read_up_to(name, max))
    }
    fn exists(&self, name: &str) -> intervault::Result<bool> {
        self.time("exists", |s| s.exists(name))
    }
    fn write(&self, name: &str, bytes: &[u8]) -> intervault::Result<()> {
        self.time("write", |s| s.write(name, bytes))
    }
    fn write_new(&self, name: &str, bytes: &[u8]) -> StoreResult<()> {
        self.time("write_new", |s| s.write_new(name, bytes))
    }
    fn shred(&self, name: &str) -> intervault::Result<()> {
        self.time("shred", |s| s.shred(name))
    }
    fn list(&self, folder: &str) -> intervault::Result<Vec<String>> {
        self.time("list", |s| s.list(folder))
    }
    fn lock(&self, name: &str, mode: LockMode) -> intervault::Result<Box<dyn Held>> {
        let held = self.time("lock", |s| s.lock(name, mode))?;
        Ok(Box::new(TimedHeld {
            inner: Some(held),
            calls: self.calls.clone(),
        }))
    }
    fn try_lock_now(&self, name: &str, mode: LockMode) -> Option<Box<dyn Held>> {
        let held = self.time("try_lock_now", |s| s.try_lock_now(name, mode))?;
        Some(Box::new(TimedHeld {
            inner: Some(held),
            calls: self.calls.clone(),
        }))
    }
    fn mark(&self, name: &str) -> intervault::Result<()> {
        self.time("mark", |s| s.mark(name))
    }
    fn log_len(&self, name: &str) -> StoreResult<u64> {
        self.time("log_len", |s| s.log_len(name))
    }
    fn log_read(&self, name: &str, offset: u64, len: u64) -> intervault::Result<Vec<u8>> {
        self.time("log_read", |s| s.log_read(name, offset, len))
    }
    fn log_append(&self, name: &str, at: u64, bytes: &[u8]) -> StoreResult<()> {
        self.time("log_append", |s| s.log_append(name, at, bytes))
    }
    fn log_replace(&self, name: &str, bytes: &[u8]) -> intervault::Result<()> {
        self.time("log_replace", |s| s.log_replace(name, bytes))
    }
    fn log_truncate(&self, name: &str, len: u64) -> intervault::Result<()> {
        self.time("log_truncate", |s| s.log_truncate(name, len))
    }
    fn log_reader(&self, name: &str, max: u64) -> StoreResult<Box<dyn std::io::BufRead>> {
        self.time("log_reader", |s| s.log_reader(name, max))
    }
    fn rename(&self, from: &str, to: &str) -> intervault::Result<()> {
        self.time("rename", |s| s.rename(from, to))
    }
}

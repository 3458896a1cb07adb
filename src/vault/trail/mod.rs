//! The audit trail: `audit/audit.log`, append-only, encrypted, hash-chained.
//!
//! Each record is one line (see [`line`]): sealed records hold an event
//! age-encrypted to the master key and carry an HMAC under a key derived from it;
//! keyless commands (a sweep, a refused passphrase, `lock`) write pending records
//! that hold no names, which the next keyed command completes with sealed ones
//! ("folding"). Every line names the hash of the one before, so a sealed record
//! vouches for everything before it. `audit/audit.head` holds the number and hash
//! of the last sealed record under the same HMAC, so cutting records off the end
//! is seen too; the sealed index keeps the last number it saw as a lower bound.
//!
//! Appenders take `audit/audit.lock`, not the vault's lock: readers of the vault
//! (a `get` under the shared lock) append too. Pruning (retention) replaces the
//! oldest records by a checkpoint line that carries the hash of the last one
//! pruned, so the chain still verifies from there.

pub mod line;
mod walk;

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{Action, Event};
use crate::crypto::{MacKey, SealKey};
use crate::error::{Error, Result};

use super::format::to_plain_json;
use super::fsio;
use super::layout::AUDIT;
use crate::store::{self, Held, LockMode, SharedStore, StoreError};
use line::{Kind, Line, Pending, GENESIS};
pub use walk::Walked;

/// The largest trail read whole (`audit`, `audit verify`, pruning).
const MAX_TRAIL_BYTES: u64 = 256 << 20;
/// How much of the end of the trail an appender reads first.
const TAIL_CHUNK: u64 = 64 * 1024;
/// The longest a partial last line may be: a record is under 8 KiB (reasons are
/// capped), so more bytes than this after the last newline, which is also less
/// than [`TAIL_CHUNK`], are not an interrupted write.
const MAX_LINE: u64 = 16 * 1024;
/// How far back an appender looks for the last sealed record: far more than the
/// keyless records between two unlocks (about 150 bytes each) ever take.
const MAX_TAIL: u64 = 16 * 1024 * 1024;
/// Pruning removes a day's worth at once, so it runs about once a day, not on
/// every command: records go a little before their retention ends, never after.
const PRUNE_BATCH: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The keys the trail needs, derived from the master key.
pub struct TrailKeys {
    master: SealKey,
    mac: MacKey,
}

impl TrailKeys {
    /// The trail keys of a vault's master key.
    pub fn new(master: &SealKey) -> Self {
        TrailKeys {
            master: master.clone(),
            mac: MacKey::derive(master, "intervault audit trail v1"),
        }
    }

    /// The key of the records' MACs.
    pub fn mac(&self) -> &MacKey {
        &self.mac
    }
}

/// Checks a whole log held in memory, as `audit verify` checks the file, against
/// the head `head` (number and hash of the last sealed record) if given; with
/// `decrypt`, opens every sealed record too. For tools and fuzzing.
pub fn check_log(
    bytes: &[u8],
    keys: &TrailKeys,
    head: Option<(u64, String)>,
    decrypt: bool,
) -> Result<Walked> {
    walk::walk(bytes, head, keys, &Anchor::default(), decrypt)
}

/// The last record the sealed index knows: its number and hash. The trail must
/// still hold that very record, or it was deleted, replaced or rolled back (an
/// older `audit/` put back), and nothing may be appended to it: an access
/// recorded there would be recorded nowhere that the vault can vouch for.
/// Vaults sealed before the hash was kept give only the number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anchor {
    /// Its number (0: the index knows no record yet).
    pub seq: u64,
    /// Its hash, when the index keeps it.
    pub hash: Option<String>,
}

impl Anchor {
    /// Checks record `seq`, which hashes to `hash`, against the anchor.
    fn check(&self, seq: u64, hash: &str) -> Result<()> {
        if seq == self.seq && self.hash.as_deref().is_some_and(|h| h != hash) {
            return Err(broken(
                Some(seq),
                "it is not the record the vault index knows under its number: the trail was replaced or rolled back",
            ));
        }
        Ok(())
    }

    /// The error for a trail that ends at `last`, before the anchor.
    fn missing(&self, last: u64) -> Error {
        broken(
            Some(last + 1),
            format!(
                "it is missing: the trail ends before record {}, the last one the vault index knows (it was deleted, cut short or rolled back)",
                self.seq
            ),
        )
    }
}

/// A keyless record waiting to be completed by the next sealed append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsealed {
    /// Its number.
    pub seq: u64,
    /// When it says it was written (not authenticated).
    pub at: DateTime<Utc>,
    /// What it says.
    pub record: Pending,
}

/// Makes the sealed events that complete the keyless records written since the
/// last sealed one, which was written at the time given (if there is one).
pub type Fold<'a> = dyn FnMut(Option<DateTime<Utc>>, &[Unsealed]) -> Vec<Event> + 'a;

/// The last sealed record, as `audit.head` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    seq: u64,
    hash: String,
    mac: String,
}

fn head_message(seq: u64, hash: &str) -> Vec<u8> {
    format!("intervault audit head\n{seq}\n{hash}").into_bytes()
}

/// The trail of the vault in a directory.
#[derive(Clone)]
pub struct Trail {
    store: SharedStore,
}

/// Sealed records ready to append to the trail, with its lock held until
/// they are (see [`Trail::stage_sealed`]), or read without it (see
/// [`Trail::stage_unlocked`]).
pub struct Staged {
    /// The trail's lock; `None` when the records are to be appended without it.
    lock: Option<Box<dyn Held>>,
    /// Where in the log they go (its length now).
    pub at: u64,
    /// The records, one line each.
    pub bytes: Vec<u8>,
    /// The last record's number and hash.
    pub last: (u64, String),
    head: Vec<u8>,
}

impl Staged {
    /// Whether the records were staged under the trail's lock.
    pub fn locked(&self) -> bool {
        self.lock.is_some()
    }
}

/// The log, its head and its lock, in the store.
/// The log's object name (see [`Staged`]).
pub(super) const LOG: &str = "audit/audit.log";
const HEAD: &str = "audit/audit.head";
const LOCK: &str = "audit/audit.lock";

/// The end of the log: where the valid bytes end, the last record, and the
/// pending records after the last sealed one.
struct Tail {
    valid_len: u64,
    torn: bool,
    last: Option<(u64, String)>,
    pending: Vec<Unsealed>,
    /// When the last sealed record (or checkpoint) was written.
    settled_at: Option<DateTime<Utc>>,
    /// Number and hash of every record read, back to the last sealed one.
    seen: Vec<(u64, String)>,
    /// Whether a sealed record or a checkpoint was among them.
    settled: bool,
}

impl Tail {
    /// The end of the log must still hold the record the head names: if it
    /// ends before it, or holds another record under its number, records were
    /// cut off or replaced, and appending would hide it.
    fn check_head(&self, head: Option<&(u64, String)>) -> Result<()> {
        let last = self.last.as_ref().map_or(0, |l| l.0);
        match head {
            None if self.settled => Err(broken(
                None,
                "its head (audit.head) is missing, so records cut off its end would go unseen",
            )),
            None => Ok(()),
            Some((seq, _)) if *seq > last => Err(broken(
                Some(last + 1),
                format!("it is missing: the trail was cut short (its head names record {seq})"),
            )),
            Some((seq, hash)) => match self.seen.iter().find(|(s, _)| s == seq) {
                Some((_, h)) if h != hash => Err(broken(
                    Some(*seq),
                    "it is not the record the head names: it was altered or replaced",
                )),
                // Older than what was read: the head lags after a failed write.
                _ => Ok(()),
            },
        }
    }
}

/// A broken trail, naming the record (or the head).
pub(super) fn broken(record: Option<u64>, what: impl Into<String>) -> Error {
    Error::AuditBroken {
        record,
        what: what.into(),
    }
}

impl Trail {
    /// The trail of the vault in `store`.
    pub fn new(store: SharedStore) -> Self {
        Trail { store }
    }

    /// Removes whatever a failed `init` left (only called while no vault exists).
    pub fn clear(&self) -> Result<()> {
        for name in self.store.list(AUDIT)? {
            self.store.shred(&store::join(AUDIT, &name))?;
        }
        Ok(())
    }

    fn locked(&self, mode: LockMode) -> Result<Box<dyn Held>> {
        self.store.ensure_folder(AUDIT)?;
        let lock = self.store.lock(LOCK, mode)?;
        if mode == LockMode::Exclusive {
            // What an interrupted head write or pruning left behind.
            for name in self.store.list(AUDIT)? {
                if name.starts_with(fsio::TEMP_PREFIX) {
                    self.store.shred(&store::join(AUDIT, &name))?;
                }
            }
        }
        Ok(lock)
    }

    /// The trail as a reader sees it without holding the lock, where the
    /// store gives a snapshot (every read at one instant); else the trail
    /// itself with the shared lock held.
    fn reading(&self) -> Result<(Option<Box<dyn Held>>, Trail)> {
        match self.store.snapshot() {
            Some(view) => Ok((None, Trail::new(view))),
            None => Ok((
                Some(self.locked(LockMode::Shared)?),
                Trail::new(self.store.clone()),
            )),
        }
    }

    /// The log's length, 0 when there is none yet.
    fn log_len(&self) -> Result<u64> {
        match self.store.log_len(LOG) {
            Err(StoreError::NotFound(_)) => Ok(0),
            other => Ok(other?),
        }
    }

    /// Appends a keyless record; gives its number.
    pub fn append_pending(&self, at: DateTime<Utc>, p: Pending) -> Result<u64> {
        self.append_pending_all(at, vec![p])
    }

    /// Appends keyless records at once (one read of the end, one write and one
    /// fsync, however many); gives the last one's number.
    pub fn append_pending_all(&self, at: DateTime<Utc>, records: Vec<Pending>) -> Result<u64> {
        let _lock = self.locked(LockMode::Exclusive)?;
        let len = self.log_len()?;
        let tail = self.read_tail(len, 0)?;
        // Without the key the head's MAC cannot be checked, only what it names.
        tail.check_head(self.read_head_unchecked().as_ref())?;
        self.repair(&tail)?;
        let (mut seq, mut prev) = next_after(&tail);
        let mut bytes = Vec::new();
        for p in records {
            let l = line::pending(seq, &prev, at, p);
            prev = line::hash(&l);
            bytes.extend_from_slice(&l);
            bytes.push(b'\n');
            seq += 1;
        }
        self.store.log_append(LOG, tail.valid_len, &bytes)?;
        Ok(seq - 1)
    }

    /// Seals `events` into the trail, after the events `fold` makes of the pending
    /// records written since the last sealed one; gives the last record's number
    /// and hash, or `None` when there was nothing to write. Refuses a trail that
    /// does not hold the record `anchor` names (the last the sealed index knows).
    pub fn append_sealed(
        &self,
        keys: &TrailKeys,
        at: DateTime<Utc>,
        events: Vec<Event>,
        fold: &mut Fold<'_>,
        anchor: &Anchor,
    ) -> Result<Option<(u64, String)>> {
        let Some(staged) = self.stage_sealed(keys, at, events, fold, anchor)? else {
            return Ok(None);
        };
        // A write cut short is cut off again by the store: a record whose
        // command failed must not stand as if it had been granted. (If even
        // that fails, the next appender cuts the partial last line, and any
        // whole lines before it stand; `audit` shows them, and the failure.)
        self.store.log_append(LOG, staged.at, &staged.bytes)?;
        Ok(Some(self.staged_written(staged)))
    }

    /// Seals records as [`Trail::append_sealed`] does, without appending
    /// them: the caller appends [`Staged::bytes`] at [`Staged::at`] of
    /// [`LOG`], in the same store transaction as the change they record, then
    /// calls [`Trail::staged_written`]. The trail stays locked meanwhile.
    pub fn stage_sealed(
        &self,
        keys: &TrailKeys,
        at: DateTime<Utc>,
        events: Vec<Event>,
        fold: &mut Fold<'_>,
        anchor: &Anchor,
    ) -> Result<Option<Staged>> {
        let lock = self.locked(LockMode::Exclusive)?;
        let tail = self.checked_end(keys, anchor)?;
        let mut all = fold(tail.settled_at, &tail.pending);
        all.extend(events);
        if all.is_empty() {
            // Nothing to write: a partial last line stays for `audit verify`
            // to report, and the next append cuts it off.
            return Ok(None);
        }
        self.repair(&tail)?;
        seal(keys, at, &tail, all, Some(lock))
    }

    /// Seals records as [`Trail::stage_sealed`] does, without the trail's
    /// lock where the store can append so (etcd): the end is read from a
    /// snapshot, and [`Trail::append`] lands only if nobody wrote the trail
    /// meanwhile ([`StoreError::Changed`]: stage again). A reader then holds
    /// nothing a writer waits for. Elsewhere, [`Trail::stage_sealed`].
    pub fn stage_unlocked(
        &self,
        keys: &TrailKeys,
        at: DateTime<Utc>,
        events: Vec<Event>,
        fold: &mut Fold<'_>,
        anchor: &Anchor,
    ) -> Result<Option<Staged>> {
        let Some(view) = self.store.snapshot() else {
            return self.stage_sealed(keys, at, events, fold, anchor);
        };
        let tail = Trail::new(view).checked_end(keys, anchor)?;
        if tail.torn {
            // Only a writer cuts a partial line off (never on etcd).
            return self.stage_sealed(keys, at, events, fold, anchor);
        }
        let mut all = fold(tail.settled_at, &tail.pending);
        all.extend(events);
        seal(keys, at, &tail, all, None)
    }

    /// Appends staged records where [`Staged::at`] says, with the lock
    /// they were staged under, or without it ([`Trail::stage_unlocked`]).
    /// Without the lock, the head moves in the same step, and the records
    /// land only if `unchanged` holds.
    pub fn append(
        &self,
        staged: &Staged,
        unchanged: Option<crate::store::Unchanged<'_>>,
    ) -> crate::store::StoreResult<()> {
        match staged.lock {
            Some(_) => self.store.log_append(LOG, staged.at, &staged.bytes),
            None => self.store.append_unlocked(
                LOG,
                staged.at,
                &staged.bytes,
                LOCK,
                (HEAD, &staged.head),
                unchanged,
            ),
        }
    }

    /// After [`Staged::bytes`] were appended: moves the head, releases the
    /// trail, and gives the last record's number and hash.
    pub fn staged_written(&self, staged: Staged) -> (u64, String) {
        // The records are written and durable. The head only bounds what may be
        // cut off the end: if it cannot be moved now, it lags until the next
        // append moves it, and no record is lost. (Appended without the lock,
        // it moved with them.)
        if staged.lock.is_some() {
            let _ = self.store.write(HEAD, &staged.head);
        }
        staged.last
    }

    /// The end of the log, read back to `anchor` and checked against the
    /// head and the anchor.
    fn checked_end(&self, keys: &TrailKeys, anchor: &Anchor) -> Result<Tail> {
        let len = self.log_len()?;
        let tail = self.read_tail(len, anchor.seq)?;
        tail.check_head(self.read_head(keys)?.as_ref())?;
        self.check_anchor(&tail, anchor, keys)?;
        Ok(tail)
    }

    /// The trail must hold the record `anchor` names, unchanged: found among
    /// the records read from its end, or else by a walk of the whole trail
    /// (only when it lies further back than an appender reads).
    fn check_anchor(&self, tail: &Tail, anchor: &Anchor, keys: &TrailKeys) -> Result<()> {
        if anchor.seq == 0 {
            return Ok(());
        }
        if let Some((seq, hash)) = tail.seen.iter().find(|(s, _)| *s == anchor.seq) {
            return anchor.check(*seq, hash);
        }
        let last = tail.last.as_ref().map_or(0, |l| l.0);
        if last < anchor.seq {
            return Err(anchor.missing(last));
        }
        if anchor.hash.is_none() {
            return Ok(()); // an index from before the hash: the number is all it knows
        }
        self.walk_locked(keys, anchor, false).map(|_| ())
    }

    /// Whether a keyless expiry record waits to be completed by the next sealed
    /// append (completing it needs the tombstones).
    pub fn expiry_pending(&self) -> Result<bool> {
        let (_lock, trail) = self.reading()?;
        let len = trail.log_len()?;
        if len == 0 {
            return Ok(false);
        }
        let tail = trail.read_tail(len, 0)?;
        Ok(tail
            .pending
            .iter()
            .any(|u| u.record.action == Action::Expired))
    }

    /// Cuts off a partial last line: a write that never completed, so the access
    /// it described was never granted.
    fn repair(&self, tail: &Tail) -> Result<()> {
        if tail.torn {
            self.store.log_truncate(LOG, tail.valid_len)?;
        }
        Ok(())
    }

    /// Reads the end of the log, further back while it finds only pending
    /// records, and (within [`MAX_TAIL`]) until it reaches record `back_to`.
    fn read_tail(&self, len: u64, back_to: u64) -> Result<Tail> {
        let mut chunk = TAIL_CHUNK;
        loop {
            let start = len.saturating_sub(chunk);
            let buf = match len - start {
                0 => Vec::new(),
                n => self.store.log_read(LOG, start, n)?,
            };
            let too_far = || {
                broken(
                    None,
                    format!(
                        "no sealed record in its last {} MiB; run 'intervault audit verify'",
                        MAX_TAIL >> 20
                    ),
                )
            };
            let valid_end = match buf.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => 0,
            };
            if (buf.len() - valid_end) as u64 > MAX_LINE {
                return Err(broken(
                    None,
                    format!(
                        "it ends with {} bytes that are not a record; run 'intervault audit verify'",
                        buf.len() - valid_end
                    ),
                ));
            }
            let mut tail = Tail {
                valid_len: start + valid_end as u64,
                torn: valid_end < buf.len(),
                last: None,
                pending: Vec::new(),
                settled_at: None,
                seen: Vec::new(),
                settled: false,
            };
            let mut lines: Vec<&[u8]> = buf[..valid_end].split(|&b| b == b'\n').collect();
            lines.pop(); // after the last newline
            if start > 0 && !lines.is_empty() {
                lines.remove(0); // may be cut
            }
            let mut settled = false;
            let mut reached = back_to == 0;
            for raw in lines.iter().rev() {
                let l = Line::parse(raw).map_err(|what| {
                    broken(
                        None,
                        format!("a record near its end {what}; run 'intervault audit verify'"),
                    )
                })?;
                let entry = match &l.kind {
                    Kind::Checkpoint { hash, .. } => (l.seq, hash.clone()),
                    _ => (l.seq, l.hash.clone()),
                };
                if tail.last.is_none() {
                    tail.last = Some(entry.clone());
                }
                tail.seen.push(entry);
                reached = reached || l.seq <= back_to;
                match l.kind {
                    Kind::Pending(record) if !settled => tail.pending.push(Unsealed {
                        seq: l.seq,
                        at: l.at,
                        record,
                    }),
                    Kind::Pending(_) => {}
                    _ if !settled => {
                        settled = true;
                        tail.settled_at = Some(l.at);
                    }
                    _ => {}
                }
                if settled && reached {
                    break;
                }
            }
            tail.settled = settled;
            if (settled && (reached || chunk >= MAX_TAIL)) || start == 0 {
                tail.pending.reverse();
                return Ok(tail);
            }
            if chunk >= MAX_TAIL {
                return Err(too_far());
            }
            chunk = chunk.saturating_mul(4);
        }
    }

    /// Reads, checks and (with `decrypt`) opens the whole trail. `anchor` is
    /// the last record the sealed index has seen.
    pub fn walk(&self, keys: &TrailKeys, anchor: &Anchor, decrypt: bool) -> Result<Walked> {
        let (_lock, trail) = self.reading()?;
        trail.walk_locked(keys, anchor, decrypt)
    }

    fn walk_locked(&self, keys: &TrailKeys, anchor: &Anchor, decrypt: bool) -> Result<Walked> {
        let head = self.read_head(keys)?;
        match self.store.log_reader(LOG, MAX_TRAIL_BYTES) {
            Err(StoreError::NotFound(_)) => {
                walk::walk(std::io::empty(), head, keys, anchor, decrypt)
            }
            Err(e) => Err(e.into()),
            Ok(reader) => walk::walk(reader, head, keys, anchor, decrypt),
        }
    }

    /// The head's number and hash, unchecked (for a keyless appender), if it
    /// can be read at all.
    fn read_head_unchecked(&self) -> Option<(u64, String)> {
        let bytes = self.store.read(HEAD).ok()?;
        let head: Head = serde_json::from_slice(&bytes).ok()?;
        Some((head.seq, head.hash))
    }

    fn read_head(&self, keys: &TrailKeys) -> Result<Option<(u64, String)>> {
        let bytes = match self.store.read(HEAD) {
            Err(StoreError::NotFound(_)) => return Ok(None),
            other => other?,
        };
        let head: Head = serde_json::from_slice(&bytes)
            .map_err(|_| broken(None, "its head (audit.head) is malformed"))?;
        if !keys
            .mac
            .verify(&head_message(head.seq, &head.hash), &head.mac)
        {
            return Err(broken(
                None,
                "its head (audit.head) was altered (its MAC does not match)",
            ));
        }
        Ok(Some((head.seq, head.hash)))
    }

    /// A name, free in `audit/`, to keep a damaged trail under.
    pub fn kept_name(&self, at: DateTime<Utc>) -> Result<String> {
        let stamp = at.format("%Y%m%dT%H%M%SZ");
        (0..1000)
            .map(|n| match n {
                0 => format!("audit-damaged-{stamp}.log"),
                n => format!("audit-damaged-{stamp}-{n}.log"),
            })
            .find(|name| !self.store.exists(&store::join(AUDIT, name)).unwrap_or(true))
            .ok_or_else(|| Error::Internal("too many damaged trails kept".into()))
    }

    /// Moves a damaged trail aside as `kept` (evidence) and starts a new one
    /// whose first record is `first`.
    pub fn restart(
        &self,
        keys: &TrailKeys,
        at: DateTime<Utc>,
        kept: &str,
        first: Event,
    ) -> Result<Option<(u64, String)>> {
        let lock = self.locked(LockMode::Exclusive)?;
        self.store.rename(LOG, &store::join(AUDIT, kept))?;
        let _ = self.store.shred(HEAD);
        drop(lock);
        self.append_sealed(
            keys,
            at,
            vec![first],
            &mut |_, _| Vec::new(),
            &Anchor::default(),
        )
    }

    /// Prunes records written before `cutoff`, if the oldest is that old, and
    /// leaves a checkpoint; gives how many went. Never prunes the last sealed
    /// record (the head) or pending records not yet folded, and never a trail
    /// that does not verify (that would hide the evidence).
    pub fn prune(
        &self,
        keys: &TrailKeys,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        if !self.oldest_before(cutoff)? {
            return Ok(0);
        }
        let _lock = self.locked(LockMode::Exclusive)?;
        let Some(head) = self.read_head(keys)? else {
            return Ok(0);
        };
        // Only a trail that verifies is read whole, and rewritten.
        self.walk_locked(keys, &Anchor::default(), false)?;
        let bytes = self.store.read_up_to(LOG, MAX_TRAIL_BYTES)?;
        let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let limit = cutoff + PRUNE_BATCH;
        let mut offset = 0;
        let mut already = 0;
        let mut last: Option<(u64, String)> = None;
        let mut count = 0;
        for raw in bytes[..end].split_inclusive(|&b| b == b'\n') {
            let l = Line::parse(&raw[..raw.len() - 1]).map_err(|w| broken(None, w))?;
            match l.kind {
                Kind::Checkpoint { hash, pruned } => {
                    already = pruned;
                    last = Some((l.seq, hash));
                }
                _ if l.at < limit && l.seq < head.0 => {
                    last = Some((l.seq, l.hash));
                    count += 1;
                }
                _ => break,
            }
            offset += raw.len();
        }
        let Some((seq, hash)) = last.filter(|_| count > 0) else {
            return Ok(0);
        };
        let mut out = line::checkpoint(seq, &hash, now, already + count, &keys.mac);
        out.push(b'\n');
        out.extend_from_slice(&bytes[offset..end]);
        self.store.log_replace(LOG, &out)?;
        Ok(count)
    }

    /// Whether the oldest record (after any checkpoint) was written before `cutoff`:
    /// a cheap look at the start of the log.
    fn oldest_before(&self, cutoff: DateTime<Utc>) -> Result<bool> {
        // Only a hint (the pruning reads again under the lock): from a
        // snapshot where the store gives one.
        let trail = self
            .store
            .snapshot()
            .map_or_else(|| self.clone(), Trail::new);
        let len = trail.log_len()?;
        let buf = trail.store.log_read(LOG, 0, len.min(TAIL_CHUNK))?;
        let n = buf.len();
        for raw in buf[..n].split(|&b| b == b'\n').take(2) {
            match Line::parse(raw) {
                Ok(l) if matches!(l.kind, Kind::Checkpoint { .. }) => continue,
                Ok(l) => return Ok(l.at < cutoff),
                Err(_) => return Ok(false),
            }
        }
        Ok(false)
    }
}

/// Seals `all` (what the pending records at the end of the log make, then
/// the new events) as the records that follow `tail`; `None` when there is
/// nothing to write.
fn seal(
    keys: &TrailKeys,
    at: DateTime<Utc>,
    tail: &Tail,
    all: Vec<Event>,
    lock: Option<Box<dyn Held>>,
) -> Result<Option<Staged>> {
    if all.is_empty() {
        return Ok(None);
    }
    let (mut seq, mut prev) = next_after(tail);
    let mut bytes = Vec::new();
    for event in &all {
        let plain = to_plain_json(event);
        let blob = keys.master.seal(&plain).map_err(Error::Internal)?;
        let l = line::sealed(seq, &prev, at, STANDARD.encode(blob), &keys.mac);
        prev = line::hash(&l);
        bytes.extend_from_slice(&l);
        bytes.push(b'\n');
        seq += 1;
    }
    let last = seq - 1;
    let head = Head {
        seq: last,
        mac: keys.mac.tag(&head_message(last, &prev)),
        hash: prev.clone(),
    };
    let head = serde_json::to_vec(&head)
        .map_err(|e| Error::Internal(format!("cannot serialize the audit head: {e}")))?;
    Ok(Some(Staged {
        lock,
        at: tail.valid_len,
        bytes,
        last: (last, prev),
        head,
    }))
}

/// The number and `prev` of the next record.
fn next_after(tail: &Tail) -> (u64, String) {
    match &tail.last {
        Some((seq, hash)) => (seq + 1, hash.clone()),
        None => (1, GENESIS.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::line::{checkpoint, hash, pending, sealed, Pending, GENESIS};
    use super::*;
    use crate::audit::{Action, Outcome};

    /// A log of `n` sealed records then one keyless record, and its head.
    fn log(keys: &TrailKeys, n: u64) -> (Vec<Vec<u8>>, (u64, String)) {
        let at = chrono::DateTime::UNIX_EPOCH;
        let mut prev = GENESIS.to_owned();
        let mut lines = Vec::new();
        for seq in 1..=n {
            let e = Event::new(Action::Get, Outcome::Granted).intervention("acme");
            let blob = keys.master.seal(&serde_json::to_vec(&e).unwrap()).unwrap();
            let l = sealed(seq, &prev, at, STANDARD.encode(blob), &keys.mac);
            prev = hash(&l);
            lines.push(l);
        }
        let head = (n, prev.clone());
        let p = Pending {
            action: Action::Sweep,
            reference: None,
            count: Some(2),
        };
        lines.push(pending(n + 1, &prev, at, p));
        (lines, head)
    }

    fn joined(lines: &[Vec<u8>]) -> Vec<u8> {
        lines
            .iter()
            .flat_map(|l| l.iter().copied().chain([b'\n']))
            .collect()
    }

    fn named(result: Result<Walked>) -> Option<u64> {
        match result {
            Err(Error::AuditBroken { record, .. }) => record,
            other => panic!("not broken: {other:?}"),
        }
    }

    #[test]
    fn an_intact_log_checks_and_every_change_names_its_first_bad_record() {
        let keys = TrailKeys::new(&SealKey::generate());
        let (lines, head) = log(&keys, 4);
        let ok = check_log(&joined(&lines), &keys, Some(head.clone()), true).unwrap();
        assert_eq!((ok.verified.records, ok.verified.unsealed), (5, 1));
        assert_eq!(ok.records.len(), 5);

        let check =
            |lines: &[Vec<u8>]| named(check_log(&joined(lines), &keys, Some(head.clone()), true));
        let mut removed = lines.clone();
        removed.remove(1);
        assert_eq!(check(&removed), Some(2));
        let mut swapped = lines.clone();
        swapped.swap(1, 2);
        assert_eq!(check(&swapped), Some(2));
        let mut altered = lines.clone();
        let i = altered[2].len() - 80;
        altered[2][i] ^= 1;
        assert_eq!(check(&altered), Some(3));
        assert_eq!(check(&lines[..2]), Some(3), "cut short before the head");
        // The keyless record after the head is vouched for by nothing yet: its
        // removal is not an error (documented), an edit of a record before it is.
        assert!(check_log(&joined(&lines[..4]), &keys, Some(head.clone()), false).is_ok());
        let other = TrailKeys::new(&SealKey::generate());
        assert_eq!(
            named(check_log(
                &joined(&lines),
                &other,
                Some(head.clone()),
                false
            )),
            Some(1)
        );
    }

    #[test]
    fn a_checkpoint_stands_for_the_pruned_records_and_only_as_the_first_line() {
        let keys = TrailKeys::new(&SealKey::generate());
        let (lines, head) = log(&keys, 4);
        let at = chrono::DateTime::UNIX_EPOCH;
        let cp = checkpoint(2, &hash(&lines[1]), at, 2, &keys.mac);
        let pruned = [vec![cp.clone()], lines[2..].to_vec()].concat();
        let ok = check_log(&joined(&pruned), &keys, Some(head.clone()), true).unwrap();
        assert_eq!((ok.verified.pruned, ok.verified.records), (2, 3));
        assert_eq!(ok.checkpoint, Some((2, at)));
        // A checkpoint that does not match the next record, a forged one, or
        // one in the middle.
        let wrong = checkpoint(2, &hash(&lines[0]), at, 2, &keys.mac);
        let forged = checkpoint(2, &hash(&lines[1]), at, 2, &MacKey::generate());
        for bad in [
            [vec![wrong], lines[2..].to_vec()].concat(),
            [vec![forged], lines[2..].to_vec()].concat(),
            [lines[..2].to_vec(), vec![cp], lines[2..].to_vec()].concat(),
        ] {
            assert!(check_log(&joined(&bad), &keys, Some(head.clone()), false).is_err());
        }
    }
}

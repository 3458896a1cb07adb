//! Reading the whole trail: every check `intervault audit verify` makes, and the
//! records `intervault audit` shows.

use base64::{engine::general_purpose::STANDARD, Engine};
use std::io::{BufRead, Read};

use chrono::{DateTime, Utc};

use crate::audit::{Event, Outcome, Record, Verified};
use crate::error::Result;

use super::line::{Kind, Line, GENESIS};
use super::{broken, Anchor, TrailKeys};

/// What a walk found: the checks passed, and the records (events as sealed,
/// clients as pseudonyms) when asked to decrypt.
#[derive(Debug)]
pub struct Walked {
    /// The summary `audit verify` gives.
    pub verified: Verified,
    /// The records, in order (empty unless decrypting).
    pub records: Vec<Record>,
    /// The checkpoint left by pruning: last pruned number, and when.
    pub checkpoint: Option<(u64, DateTime<Utc>)>,
}

/// Checks the log, read line by line from `log`, against the head and the index's
/// lower bound; the first problem found is the error, naming its record. Memory
/// stays small whatever the file holds: one line at a time, at most
/// [`super::MAX_LINE`] bytes of it.
pub fn walk(
    log: impl BufRead,
    head: Option<(u64, String)>,
    keys: &TrailKeys,
    anchor: &Anchor,
    decrypt: bool,
) -> Result<Walked> {
    let mut log = log;
    let mut expected = 1u64;
    let mut running = GENESIS.to_owned();
    let mut out = Walked {
        verified: Verified {
            records: 0,
            last: 0,
            pruned: 0,
            unsealed: 0,
            torn_tail: false,
            foreign: 0,
        },
        records: Vec::new(),
        checkpoint: None,
    };
    let mut head_hash_seen: Option<String> = None;
    let mut any_sealed = false;
    let mut buf = Vec::new();
    for i in 0.. {
        buf.clear();
        let read = Read::by_ref(&mut log)
            .take(super::MAX_LINE + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| broken(Some(expected), format!("it cannot be read: {e}")))?;
        if read == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            if buf.len() as u64 > super::MAX_LINE {
                return Err(broken(
                    Some(expected),
                    "it is longer than any record can be",
                ));
            }
            // A partial last line: a write interrupted before it was complete,
            // which granted nothing (the next append cuts it off).
            out.verified.torn_tail = true;
            break;
        }
        let raw = &buf[..buf.len() - 1];
        let l = Line::parse(raw).map_err(|what| broken(Some(expected), format!("it {what}")))?;
        if let Kind::Checkpoint { hash, pruned } = &l.kind {
            if i != 0 {
                return Err(broken(
                    Some(expected),
                    "a checkpoint stands where a record should be",
                ));
            }
            if !l.mac_ok(raw, &keys.mac) {
                return Err(broken(
                    Some(l.seq),
                    "the checkpoint of the records pruned up to it was altered (its MAC does not match)",
                ));
            }
            anchor.check(l.seq, hash)?;
            expected = l.seq + 1;
            running = hash.clone();
            out.verified.pruned = *pruned;
            out.checkpoint = Some((l.seq, l.at));
            if head.as_ref().is_some_and(|(seq, _)| *seq == l.seq) {
                head_hash_seen = Some(hash.clone());
            }
            continue;
        }
        if l.seq != expected {
            return Err(broken(
                Some(expected),
                if l.seq > expected {
                    format!("it is missing: record {} stands in its place (records were removed or moved)", l.seq)
                } else {
                    format!(
                        "record {} stands in its place (records were repeated or moved)",
                        l.seq
                    )
                },
            ));
        }
        if l.prev.as_deref() != Some(running.as_str()) {
            return Err(broken(
                Some(l.seq),
                format!(
                    "it does not follow record {}: a record before it was altered, removed or moved",
                    l.seq - 1
                ),
            ));
        }
        match &l.kind {
            Kind::Sealed(blob) => {
                if !l.mac_ok(raw, &keys.mac) {
                    return Err(broken(
                        Some(l.seq),
                        "it was altered (its MAC does not match)",
                    ));
                }
                any_sealed = true;
                out.verified.unsealed = 0;
                if decrypt {
                    let event = open_event(keys, blob)
                        .map_err(|what| broken(Some(l.seq), format!("it does not open: {what}")))?;
                    if event.action == crate::audit::Action::ForeignRecord {
                        out.verified.foreign += 1;
                    }
                    out.records.push(Record {
                        seq: l.seq,
                        at: l.at,
                        sealed: true,
                        event,
                    });
                }
            }
            Kind::Pending(p) => {
                out.verified.unsealed += 1;
                if decrypt {
                    let mut event = Event::new(
                        p.action,
                        match p.action {
                            crate::audit::Action::PassphraseRefused => Outcome::Refused,
                            _ => Outcome::Done,
                        },
                    );
                    event.reference = p.reference.clone();
                    event.count = p.count;
                    out.records.push(Record {
                        seq: l.seq,
                        at: l.at,
                        sealed: false,
                        event,
                    });
                }
            }
            Kind::Checkpoint { .. } => {}
        }
        if head.as_ref().is_some_and(|(seq, _)| *seq == l.seq) {
            head_hash_seen = Some(l.hash.clone());
        }
        anchor.check(l.seq, &l.hash)?;
        running = l.hash;
        out.verified.records += 1;
        out.verified.last = l.seq;
        expected = l.seq + 1;
    }
    let last = out.verified.last.max(expected - 1);
    match head {
        None if any_sealed => {
            return Err(broken(
                None,
                "its head (audit.head) is missing, so records cut off its end would go unseen",
            ))
        }
        None => {}
        Some((seq, hash)) => {
            if seq > last {
                return Err(broken(
                    Some(last + 1),
                    format!("it is missing: the trail was cut short (its head names record {seq})"),
                ));
            }
            if head_hash_seen.as_deref() != Some(hash.as_str()) {
                return Err(broken(
                    Some(seq),
                    "it is not the record the head names: it was altered or replaced",
                ));
            }
        }
    }
    if anchor.seq > last {
        return Err(anchor.missing(last));
    }
    Ok(out)
}

fn open_event(keys: &TrailKeys, blob: &str) -> Result<Event, String> {
    let sealed = STANDARD
        .decode(blob)
        .map_err(|_| "it is not valid base64".to_owned())?;
    let plain = keys.master.open(&sealed).map_err(|e| e.to_string())?;
    serde_json::from_slice(&plain).map_err(|_| "its event is malformed".to_owned())
}

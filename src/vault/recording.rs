//! Recording events in the audit trail: clients become pseudonyms, free text is
//! scrubbed of client names, keyless records are completed ("folded"), and a
//! change is recorded before it commits, so that nothing happens unrecorded.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::audit::{Action, Event, Outcome};
use crate::crypto::MacKey;
use crate::error::{Error, Result};
use crate::intervention::WipeReason;
use crate::lang::Lang;

use super::format::{ClientKey, Index};
use super::layout;
use super::opening::Unlocked;
use super::trail::line::Pending;
use super::trail::Unsealed;

/// The pseudonym that stands for a client in the trail (and, once the client is
/// erased, in its tombstones): `client-` and 16 hex digits of HMAC(key, name).
pub(super) fn pseudonym(key: &MacKey, name: &str) -> String {
    let tag = key.tag(name.as_bytes());
    format!("client-{}", &tag[..16])
}

impl Index {
    fn client_key(&self, name: &str) -> Option<MacKey> {
        self.clients
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| MacKey::from_hex(&c.key))
    }

    /// The pseudonym of client `name`, if it has a key.
    pub(super) fn pseudonym_of(&self, name: &str) -> Option<String> {
        self.client_key(name).map(|k| pseudonym(&k, name))
    }

    /// The language client `name`'s documents were last given in, if any.
    pub(super) fn client_lang(&self, name: &str) -> Option<Lang> {
        self.clients.iter().find(|c| c.name == name)?.lang
    }

    /// Remembers `lang` for client `name`'s next document; says whether that
    /// changed anything (an erased client, who has no entry, keeps nothing).
    pub(super) fn remember_client_lang(&mut self, name: &str, lang: Lang) -> bool {
        match self.clients.iter_mut().find(|c| c.name == name) {
            Some(c) if c.lang != Some(lang) => {
                c.lang = Some(lang);
                true
            }
            _ => false,
        }
    }

    /// Gives client `name` a pseudonym key if it has none.
    pub(super) fn ensure_client_key(&mut self, name: &str) {
        if !self.clients.iter().any(|c| c.name == name) {
            self.clients.push(ClientKey {
                name: name.to_owned(),
                key: MacKey::generate().to_hex(),
                lang: None,
            });
        }
    }

    /// Gives a pseudonym key to every client that a live intervention or a
    /// tombstone names and that has none (vaults from before pseudonyms); says
    /// whether any was added.
    pub(super) fn ensure_client_keys(&mut self) -> bool {
        // A set, not a scan per intervention: this runs at every unlock.
        let keyed: HashSet<&str> = self.clients.iter().map(|c| c.name.as_str()).collect();
        let mut missing: Vec<String> = self
            .interventions
            .iter()
            .map(|m| m.client.as_str())
            .chain(
                self.tombstones
                    .iter()
                    .filter(|t| !t.client_erased)
                    .map(|t| t.client.as_str()),
            )
            .filter(|name| !keyed.contains(name))
            .map(str::to_owned)
            .collect();
        missing.sort();
        missing.dedup();
        let added = !missing.is_empty();
        for name in missing {
            self.clients.push(ClientKey {
                name,
                key: MacKey::generate().to_hex(),
                lang: None,
            });
        }
        added
    }

    /// Every keyed client by pseudonym.
    pub(super) fn names_by_pseudonym(&self) -> HashMap<String, String> {
        self.clients
            .iter()
            .filter_map(|c| {
                Some((
                    pseudonym(&MacKey::from_hex(&c.key)?, &c.name),
                    c.name.clone(),
                ))
            })
            .collect()
    }

    /// The client of intervention `id` (live or tombstone) as the trail names it.
    fn client_in_trail(&self, id: &str) -> Option<String> {
        if let Some(m) = self.interventions.iter().find(|m| m.id == id) {
            if !self.loaded.has_history() {
                // The client keys were not read: the record keeps the pseudonym.
                return self
                    .loaded
                    .records
                    .get(&m.reference)
                    .map(|(_, p)| p.clone());
            }
            return self.pseudonym_of(&m.client);
        }
        let t = self.tombstones.iter().find(|t| t.id == id)?;
        match t.client_erased {
            true => Some(t.client.clone()),
            false => self.pseudonym_of(&t.client),
        }
    }

    /// `text` with every keyed client's name (in any letter case) replaced by its
    /// pseudonym: reasons are free text, and a client's name must reach the trail
    /// only as a pseudonym.
    pub(super) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for c in &self.clients {
            if let Some(key) = MacKey::from_hex(&c.key) {
                out = replace_caseless(&out, &c.name, &pseudonym(&key, &c.name));
            }
        }
        out
    }
}

/// Reasons that this code writes itself and that name no client: recording
/// them needs no scrubbing, so no client keys (a `get` or an `add` reads none).
pub(super) const OWN_REASONS: &[&str] = &[REPLACE_REASON];

/// The reason of an `add` that replaces a credential.
pub(super) const REPLACE_REASON: &str = "--replace";

/// Whether `reason` may hold a client's name (and must be scrubbed).
fn is_free_text(reason: &str) -> bool {
    !OWN_REASONS.contains(&reason)
}

/// The longest reason a record keeps (a reason typed by the user is at most 1,000
/// characters, but scrubbing can lengthen it), so that a record stays small.
const MAX_REASON_BYTES: usize = 4096;

/// `text` cut to at most `max` bytes, on a character boundary, marked with `...`.
fn cap(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max - 3;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

/// Replaces every occurrence of `needle` in `haystack`, in any letter case, that
/// stands as whole words (see [`joins`]).
fn replace_caseless(haystack: &str, needle: &str, with: &str) -> String {
    let folded: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    if folded.is_empty() {
        return haystack.to_owned();
    }
    let chars: Vec<char> = haystack.chars().collect();
    let mut out = String::with_capacity(haystack.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !joins(chars[i - 1], i.checked_sub(2).map(|j| chars[j]));
        if let Some(end) = starts_word.then(|| match_at(&chars, i, &folded)).flatten() {
            if end == chars.len() || !joins(chars[end], chars.get(end + 1).copied()) {
                out.push_str(with);
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Whether `c`, next to a match (with `beyond` on its other side), makes the
/// match part of a longer word or identifier: a letter or digit, or one of
/// `- _ .` between the match and a letter or digit (`acme-site`, `acme.fr`; but
/// not a full stop ending a sentence).
fn joins(c: char, beyond: Option<char>) -> bool {
    c.is_alphanumeric()
        || (matches!(c, '-' | '_' | '.') && beyond.is_some_and(char::is_alphanumeric))
}

/// Where a caseless match of `folded` starting at `chars[start]` ends, if any.
fn match_at(chars: &[char], start: usize, folded: &[char]) -> Option<usize> {
    let (mut j, mut k) = (start, 0);
    while k < folded.len() {
        let lower: Vec<char> = chars.get(j)?.to_lowercase().collect();
        if folded.get(k..k + lower.len())? != lower.as_slice() {
            return None;
        }
        k += lower.len();
        j += 1;
    }
    Some(j)
}

/// How far ahead of the clock of the unlock that completes it a keyless record
/// may be dated (a clock set back a little in between) before it is foreign.
const KEYLESS_LEEWAY: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

/// Why the vault cannot vouch for keyless record `u`, if it cannot. Anyone who
/// can write the trail can append such lines: they are taken for what they say
/// only when they are in time order (not before the record they follow, not
/// after `now`) and, for an expiry, when this vault did wipe that intervention
/// without the key at that very time (its tombstone says so).
fn unvouched(
    index: &Index,
    u: &Unsealed,
    floor: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    covered: &[String],
) -> Option<&'static str> {
    if u.at > now + KEYLESS_LEEWAY {
        return Some("it is dated after the clock of the unlock that completes it");
    }
    if floor.is_some_and(|f| u.at < f) {
        return Some("it is dated before the record it follows");
    }
    if u.record.action != Action::Expired {
        return None;
    }
    let Some(r) = u.record.reference.as_deref() else {
        return Some("an expiry that names no intervention");
    };
    if covered.iter().any(|c| c == r) {
        return Some("a second expiry of the same intervention");
    }
    match index.tombstones.iter().find(|t| t.reference.as_str() == r) {
        Some(t) if t.reason == WipeReason::Tampered => None,
        Some(t) if t.reason == WipeReason::Expired && t.wiped_at == u.at => None,
        Some(_) => Some("an expiry that does not match how this vault wiped that intervention"),
        None => Some("an expiry of an intervention this vault did not wipe"),
    }
}

/// The sealed events that complete the keyless records `pending` (written after
/// a sealed record of time `since`), then the wipes folded in at unlock that no
/// keyless record describes. A record the vault cannot vouch for is completed
/// as foreign, saying why.
fn fold_events(
    index: &Index,
    since: Option<DateTime<Utc>>,
    pending: &[Unsealed],
    unrecorded: &[super::format::Ref],
    now: DateTime<Utc>,
) -> Vec<Event> {
    let mut events = Vec::new();
    let mut covered: Vec<String> = Vec::new();
    let mut floor = since;
    for u in pending {
        let p = &u.record;
        if let Some(why) = unvouched(index, u, floor, now, &covered) {
            let mut e = Event::new(Action::ForeignRecord, Outcome::Refused);
            e.completes = Some(u.seq);
            e.reason = Some(format!("a keyless '{}' line: {why}", p.action.as_str()));
            events.push(e);
            continue;
        }
        floor = Some(floor.map_or(u.at, |f| f.max(u.at)));
        let outcome = match p.action {
            Action::PassphraseRefused => Outcome::Refused,
            _ => Outcome::Done,
        };
        let mut e = Event::new(p.action, outcome);
        e.completes = Some(u.seq);
        e.count = p.count;
        e.reference = p.reference.clone();
        if p.action == Action::Expired {
            if let Some(r) = &p.reference {
                covered.push(r.clone());
                e = expired_event(index, r, e);
            }
        }
        events.push(e);
    }
    for r in unrecorded {
        if !covered.iter().any(|c| c == r.as_str()) {
            let mut e = Event::new(Action::Expired, Outcome::Done);
            e.reference = Some(r.to_string());
            events.push(expired_event(index, r.as_str(), e));
        }
    }
    events
}

/// Fills an expiry event from the tombstone of reference `r`.
fn expired_event(index: &Index, r: &str, mut e: Event) -> Event {
    match index.tombstones.iter().find(|t| t.reference.as_str() == r) {
        Some(t) => {
            e.intervention = Some(t.id.clone());
            e.client = index.client_in_trail(&t.id);
            e.receipt = Some(t.receipt.clone());
            e.count = Some(t.names.len() as u64);
        }
        None => e.reason = Some("no tombstone holds this reference".into()),
    }
    e
}

/// How records are staged: under the trail's lock until they are written
/// with the change they record, or without it where the store can (a record
/// written on its own; see [`super::trail::Trail::stage_unlocked`]).
#[derive(Clone, Copy)]
enum Staging {
    Locked,
    Unlocked,
}

impl Unlocked<'_> {
    /// Whether recording `events` needs the history (tombstones and client
    /// keys), when it was not read: a client to name or scrub from a reason, an
    /// intervention not in memory, or a keyless expiry record to complete.
    fn needs_history<'e>(&self, mut events: impl Iterator<Item = &'e Event>) -> bool {
        if self.index.loaded.has_history() {
            return false;
        }
        let unknown = |id: &String| !self.index.interventions.iter().any(|m| &m.id == id);
        events.any(|e| {
            e.client.is_some()
                || e.reason.as_deref().is_some_and(is_free_text)
                || e.intervention.as_ref().is_some_and(unknown)
        }) || !self.unrecorded_wipes.is_empty()
            // Unsure means yes: reading the history is never wrong, only slower.
            || self.trail.expiry_pending().unwrap_or(true)
    }

    /// The event as the trail keeps it: the client as a pseudonym (found from
    /// the intervention when not given), client names scrubbed from the reason.
    fn for_trail(&self, mut e: Event) -> Result<Event> {
        e.client = match (e.client.take(), &e.intervention) {
            (Some(name), _) => Some(
                self.index
                    .pseudonym_of(&name)
                    .ok_or_else(|| Error::Internal("a client has no pseudonym key".into()))?,
            ),
            (None, Some(id)) => self.index.client_in_trail(id),
            (None, None) => None,
        };
        e.reason = e.reason.map(|r| match is_free_text(&r) {
            true => cap(self.index.scrub(&r), MAX_REASON_BYTES),
            false => r,
        });
        Ok(e)
    }

    /// Seals `events` into the trail, after completing what keyless commands
    /// wrote and what was folded in at unlock. Fails (so that the access or
    /// change it describes is refused) when the trail cannot be written.
    pub(super) fn record(&mut self, events: Vec<Event>) -> Result<()> {
        self.record_read(events, false)
    }

    /// Records the delivery of credentials read from this command's view of
    /// the vault ([`Unlocked::record`]): a reader of a snapshot records it only
    /// while the vault is still what it read, else [`Error::Conflict`] (read
    /// again: a writer may have wiped what was read).
    pub(super) fn record_delivery(&mut self, events: Vec<Event>) -> Result<()> {
        self.record_read(events, true)
    }

    fn record_read(&mut self, events: Vec<Event>, delivers: bool) -> Result<()> {
        let (started, mut tries) = (std::time::Instant::now(), 0);
        let staged = loop {
            let Some(staged) = self.stage_audit(events.clone(), Staging::Unlocked)? else {
                self.owed.clear();
                self.unrecorded_wipes.clear();
                return Ok(());
            };
            // A write cut short is cut off again by the store (see
            // Trail::append_sealed). Staged without the lock, the records land
            // only if nobody wrote the trail since they were read (else
            // again), and, for a delivery read from a snapshot, only if the
            // vault is still what it read: else what it read may be gone (a
            // close), and the whole fetch must start again.
            let read_at = (self.h.store.read_revision()).filter(|_| self.h.snapshot && delivers);
            let unchanged = read_at.map(|since| crate::store::Unchanged {
                name: layout::ROOT,
                since,
            });
            match self.trail.append(&staged, unchanged) {
                Ok(()) => break staged,
                Err(crate::store::StoreError::Changed(_))
                    if unchanged.is_some() && self.root_moved()? =>
                {
                    return Err(Error::Conflict {
                        at: self.h.live.locate(layout::ROOT),
                    })
                }
                Err(crate::store::StoreError::Changed(_))
                    if !staged.locked() && started.elapsed() < crate::store::fsio::LOCK_WAIT =>
                {
                    // Another appender went first: again at once; a writer
                    // holding the trail: again after a pause.
                    if tries > 0 {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    tries += 1;
                    continue;
                }
                Err(e) => return Err(Error::NotRecorded(Box::new(e.into()))),
            }
        };
        self.owed.clear();
        let last = self.trail.staged_written(staged);
        self.recorded(last);
        Ok(())
    }

    /// Whether the vault's root is no longer what this command read.
    fn root_moved(&self) -> Result<bool> {
        Ok(self.h.live.read(layout::ROOT)? != self.h.root_bytes)
    }

    /// Records `events` in the same store transaction as the change pending
    /// (where the store has transactions: etcd), and commits: the change and
    /// its record land together or not at all.
    pub(super) fn record_and_commit(&mut self, events: Vec<Event>) -> Result<()> {
        let staged = self.stage_audit(events, Staging::Locked)?;
        self.owed.clear();
        let Some(staged) = staged else {
            self.unrecorded_wipes.clear();
            return self.commit();
        };
        let before = self.last_record.replace(staged.last.clone());
        self.staged_record = Some(staged);
        let outcome = self.commit();
        if self.staged_record.take().is_some() {
            // Not written with the change: the sealed index must not name it.
            self.last_record = before;
        }
        outcome
    }

    /// After staged records were written: what follows a record.
    pub(super) fn recorded(&mut self, last: (u64, String)) {
        self.unrecorded_wipes.clear();
        self.last_record = Some(last);
        // Best effort: the record is written; pruning is tried again next time.
        let months = chrono::Months::new(self.index.retention.audit_months);
        if let Some(cutoff) = self.retention_now.checked_sub_months(months) {
            let _ = self.trail.prune(&self.trail_keys, cutoff, self.h.now);
        }
    }

    /// Seals `events`, after completing what keyless commands wrote and what
    /// was folded in at unlock, ready to append (the trail locked meanwhile);
    /// `None` when there is nothing to write.
    fn stage_audit(
        &mut self,
        events: Vec<Event>,
        staging: Staging,
    ) -> Result<Option<super::trail::Staged>> {
        if self.needs_history(self.owed.iter().chain(&events)) {
            self.read_history()?;
        }
        let mut all = self.owed.clone();
        all.extend(events);
        let all = all
            .into_iter()
            .map(|e| self.for_trail(e))
            .collect::<Result<Vec<_>>>()?;
        let (index, unrecorded, now) = (&self.index, &self.unrecorded_wipes, self.h.now);
        let mut fold = |since: Option<DateTime<Utc>>, pending: &[Unsealed]| {
            fold_events(index, since, pending, unrecorded, now)
        };
        let (keys, anchor) = (&self.trail_keys, &self.index.audit_anchor());
        match staging {
            Staging::Locked => self.trail.stage_sealed(keys, now, all, &mut fold, anchor),
            Staging::Unlocked => self.trail.stage_unlocked(keys, now, all, &mut fold, anchor),
        }
        .map_err(|e| Error::NotRecorded(Box::new(e)))
    }

    /// Records that `template` (an action on an intervention) was refused by `e`.
    /// Best effort: the refusal stands whether or not it could be recorded.
    pub(super) fn record_refusal(&mut self, template: &Event, e: &Error) {
        let mut refused = template.clone();
        refused.outcome = Outcome::Refused;
        refused.reason = Some(e.audit_reason());
        let _ = self.record(vec![refused]);
    }

    /// Makes a change: `change` checks and applies it in memory and gives the
    /// events that describe it; they are recorded, then the change commits. A
    /// refusal is recorded with its reason; a commit that fails after its record
    /// was written is recorded as failed.
    pub(super) fn audited<T>(
        &mut self,
        template: Event,
        change: impl FnOnce(&mut Unlocked) -> Result<(T, Vec<Event>)>,
    ) -> Result<T> {
        let (value, events) = match change(self) {
            Ok(done) => done,
            Err(e) => {
                self.record_refusal(&template, &e);
                return Err(e);
            }
        };
        if let Err(e) = self.record_and_commit(events) {
            let mut failed = template;
            failed.outcome = Outcome::Failed;
            failed.reason = Some(e.audit_reason());
            let _ = self.record(vec![failed]);
            return Err(e);
        }
        Ok(value)
    }
}

impl Unlocked<'_> {
    /// Remembers `lang`, when given, for client `name`'s next documents
    /// (committing only a change), and gives the client's language.
    pub(super) fn settle_client_lang(
        &mut self,
        name: &str,
        lang: Option<Lang>,
    ) -> Result<Option<Lang>> {
        if let Some(lang) = lang {
            if self.index.remember_client_lang(name, lang) {
                self.commit()?;
            }
        }
        Ok(lang.or_else(|| self.index.client_lang(name)))
    }
}

impl super::Vault<'_> {
    /// Records, without the key, something a keyless command did. Best effort:
    /// what it describes has happened (a wipe) or was refused (a passphrase).
    pub(super) fn note_keyless(
        &self,
        action: Action,
        reference: Option<String>,
        count: Option<u64>,
    ) {
        let p = Pending {
            action,
            reference,
            count,
        };
        let _ = super::trail::Trail::new(self.store.clone()).append_pending(self.clock.now(), p);
    }

    /// Records a passphrase that did not open the vault.
    pub(super) fn note_failed_passphrase(&self, e: &Error) {
        if matches!(e, Error::WrongPassphrase) {
            self.note_keyless(Action::PassphraseRefused, None, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reasons_are_cut_on_a_character_boundary() {
        assert_eq!(cap("short".into(), 10), "short");
        let cut = cap("é".repeat(10), 10);
        assert!(cut.len() <= 10 && cut.ends_with("..."), "{cut}");
    }

    #[test]
    fn names_are_replaced_in_any_letter_case() {
        assert_eq!(
            replace_caseless("ACME asked; acme agreed", "Acme", "X"),
            "X asked; X agreed"
        );
        assert_eq!(replace_caseless("Acm", "Acme", "X"), "Acm");
        assert_eq!(replace_caseless("Ça va, ÇA VA", "ça va", "X"), "X, X");
        assert_eq!(replace_caseless("anything", "", "X"), "anything");
    }
}

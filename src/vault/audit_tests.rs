//! The audit trail driven through the library with a hand-moved clock: what lands
//! in it, retention at its exact boundaries, erasure down to the decrypted byte,
//! and refusal when a record cannot be written.

use std::cell::Cell;

use super::fsio::fault::{self, Kind as FaultKind, Plan};
use super::fsio::Step;
use super::opening::Access;
use super::test_support::{at, MemoryStore, TestClock, TestUi, FAST};
use super::*;
use crate::audit::{Action, Filter, Outcome, Record};
use crate::error::Error;
use crate::intervention::Kind;

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    clock: TestClock,
    store: MemoryStore,
    vault_store: crate::store::SharedStore,
}

impl Fixture {
    fn new(now: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        let f = Fixture {
            vault_store: super::test_support::test_store(&dir),
            dir,
            _tmp: tmp,
            clock: TestClock(Cell::new(at(now))),
            store: MemoryStore::default(),
        };
        f.vault().init(FAST, &mut TestUi::new()).unwrap();
        f
    }

    /// At 10:00 on 2026-12-01, `acme` (client Acme) open 09:00-18:00 with `ftp`.
    fn with_acme_for_the_day() -> Self {
        let f = Fixture::new("2026-12-01T10:00:00Z");
        f.open(
            "acme",
            "Acme",
            "2026-12-01T09:00:00Z",
            "2026-12-01T18:00:00Z",
        );
        f.add("acme", "ftp", None);
        f
    }

    fn vault(&self) -> Vault<'_> {
        Vault::in_store(self.vault_store.clone(), &self.clock).with_sessions(&self.store)
    }

    fn set(&self, now: &str) {
        self.clock.0.set(at(now));
    }

    fn open(&self, id: &str, client: &str, from: &str, until: &str) {
        let new = NewIntervention {
            id: id.into(),
            client: client.into(),
            window: WindowSpec::Range {
                from: Some(at(from)),
                until: at(until),
            },
            note: Some(format!("work for {client}")),
        };
        self.vault().open(&new, &mut TestUi::new()).unwrap();
    }

    fn add(&self, id: &str, name: &str, max_uses: Option<u32>) {
        let cred = NewCredential {
            name: name.into(),
            kind: Kind::Hosting,
            url: Some("https://example.org".into()),
            user: Some(format!("user-of-{name}")),
            note: Some(format!("note-of-{name}")),
            totp: true,
            max_uses,
        };
        self.vault()
            .add(id, &cred, false, &mut TestUi::new())
            .unwrap();
    }

    fn get(&self, id: &str, name: &str) -> Result<StoredCredential> {
        self.vault().get(id, name, &mut TestUi::new())
    }

    fn records(&self) -> Vec<Record> {
        self.vault()
            .audit(&Filter::default(), &mut TestUi::new())
            .unwrap()
            .records
    }
}

/// Everything the vault holds, decrypted: the index, every live intervention's
/// credentials, every record of the trail; then every file's raw bytes.
fn decrypted_everything(f: &Fixture) -> String {
    let v = f.vault();
    let u = v.unlocked(&mut TestUi::new(), Access::Read).unwrap();
    let mut out = serde_json::to_string(&u.index).unwrap();
    for m in &u.index.interventions {
        let set = u.load_credentials(m).unwrap();
        for c in &set.credentials {
            out.push_str(&serde_json::to_string(c).unwrap());
            out.push_str(c.secret.expose());
        }
    }
    for r in u.walk_trail(true).unwrap().records {
        out.push_str(&serde_json::to_string(&r).unwrap());
    }
    drop(u);
    // The directory vault's files (the etcd store's keys are dumped by the
    // integration tests, with etcdctl, as an operator would).
    let mut stack = match super::test_support::on_etcd() {
        true => Vec::new(),
        false => vec![f.dir.clone()],
    };
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

#[test]
fn every_keyed_and_keyless_event_lands_with_its_outcome() {
    let f = Fixture::new("2026-12-01T08:00:00Z");
    f.open(
        "acme",
        "Acme",
        "2026-12-01T09:00:00Z",
        "2026-12-01T18:00:00Z",
    );
    f.add("acme", "ftp", None);
    f.add("acme", "once", Some(1));
    f.add("acme", "tmp", None);
    assert!(matches!(
        f.get("acme", "ftp"),
        Err(Error::NotYetOpen { .. })
    ));
    f.set("2026-12-01T10:00:00Z");
    let v = f.vault();
    let mut ui = TestUi::new();
    f.get("acme", "ftp").unwrap();
    v.fetch(Action::Exec, "acme", None, &mut ui).unwrap();
    v.fetch(Action::Totp, "acme", Some(&["ftp".into()]), &mut ui)
        .unwrap();
    v.fetch(Action::Clip, "acme", Some(&["ftp".into()]), &mut ui)
        .unwrap();
    assert!(matches!(
        f.get("acme", "once"),
        Err(Error::NoSuchCredential { .. })
    ));
    v.rm("acme", "tmp", &mut ui).unwrap();
    v.extend("acme", at("2026-12-01T19:00:00Z"), "more time", &mut ui)
        .unwrap();
    v.freeze("acme", "dispute", &mut ui).unwrap();
    assert!(matches!(f.get("acme", "ftp"), Err(Error::Frozen { .. })));
    v.unfreeze("acme", &mut ui).unwrap();
    v.unlock(None, &mut ui).unwrap();
    v.lock().unwrap();
    let mut wrong = TestUi::new();
    wrong.passphrase = Some("wrong");
    assert!(matches!(
        f.vault().list(&mut wrong, false),
        Err(Error::WrongPassphrase)
    ));
    v.passwd(&mut ui).unwrap();
    f.open(
        "beta",
        "Beta",
        "2026-12-01T10:00:00Z",
        "2026-12-01T11:00:00Z",
    );
    f.set("2026-12-01T11:00:00Z");
    f.vault().sweep(&mut TestUi::keyless()).unwrap();
    v.retention(
        RetentionChange {
            audit_months: Some(12),
            ..RetentionChange::default()
        },
        &mut ui,
    )
    .unwrap();
    v.client_report("Acme", None, &mut ui).unwrap();
    let closed = v.close("acme", None, &mut ui).unwrap().tombstone;
    v.audit_verify(&mut ui).unwrap();

    use Action as A;
    use Outcome as O;
    let records = f.records();
    let got: Vec<(Action, Outcome, bool)> = records
        .iter()
        .map(|r| (r.event.action, r.event.outcome, r.sealed))
        .collect();
    let expected = [
        (A::Init, O::Done, true),
        (A::Open, O::Done, true),
        (A::Add, O::Done, true),
        (A::Add, O::Done, true),
        (A::Add, O::Done, true),
        (A::Get, O::Refused, true), // before the window
        (A::Get, O::Granted, true),
        // exec of every credential: one record each, then `once` is used up
        (A::Exec, O::Granted, true),
        (A::Exec, O::Granted, true),
        (A::Exec, O::Granted, true),
        (A::UsedUp, O::Done, true),
        (A::Totp, O::Granted, true),
        (A::Clip, O::Granted, true),
        (A::Get, O::Refused, true), // `once` is gone
        (A::Rm, O::Done, true),
        (A::Extend, O::Done, true),
        (A::Freeze, O::Done, true),
        (A::Get, O::Refused, true), // frozen
        (A::Unfreeze, O::Done, true),
        (A::Unlock, O::Done, true),
        (A::Lock, O::Done, false),
        (A::PassphraseRefused, O::Refused, false),
        (A::Lock, O::Done, true), // completed by the next unlock (passwd)
        (A::PassphraseRefused, O::Refused, true),
        (A::Passwd, O::Done, true),
        (A::Open, O::Done, true),
        (A::Expired, O::Done, false), // the keyless sweep
        (A::Sweep, O::Done, false),
        (A::Expired, O::Done, true), // completed by the next unlock
        (A::Sweep, O::Done, true),
        (A::Retention, O::Done, true),
        (A::ClientReport, O::Done, true),
        (A::Close, O::Done, true),
        (A::Audit, O::Done, true),
    ];
    assert_eq!(got, expected, "{records:#?}");

    let by_seq = |seq: u64| records.iter().find(|r| r.seq == seq).unwrap();
    let early = &records[5].event;
    assert_eq!(
        early.reason.as_deref(),
        Some("scheduled: the window opens at 2026-12-01T09:00:00Z")
    );
    assert_eq!(early.client.as_deref(), Some("Acme"));
    let exec: Vec<_> = records[7..10]
        .iter()
        .map(|r| r.event.credential.as_deref().unwrap())
        .collect();
    assert_eq!(exec, ["ftp", "once", "tmp"]);
    assert_eq!(records[10].event.credential.as_deref(), Some("once"));
    assert_eq!(
        records[17].event.reason.as_deref(),
        Some("frozen since 2026-12-01T10:00:00Z: dispute")
    );
    assert_eq!(
        records[13].event.reason.as_deref(),
        Some("no such credential")
    );
    let extend = &records[15].event;
    assert_eq!(extend.reason.as_deref(), Some("more time"));
    assert_eq!(extend.until, Some(at("2026-12-01T19:00:00Z")));
    // The completed expiry names the keyless record, the intervention, its
    // client and its receipt.
    let expired = &records[28].event;
    assert_eq!(expired.completes, Some(records[26].seq));
    assert_eq!(
        by_seq(expired.completes.unwrap()).event.reference,
        expired.reference
    );
    assert_eq!(expired.intervention.as_deref(), Some("beta"));
    assert_eq!(expired.client.as_deref(), Some("Beta"));
    assert!(expired.receipt.as_deref().unwrap().starts_with("sha256:"));
    assert_eq!(records[29].event.count, Some(1));
    let close = &records[32].event;
    assert_eq!(close.receipt.as_deref(), Some(closed.receipt.as_str()));
    assert_eq!(close.count, Some(1)); // `ftp`: `once` was used up, `tmp` removed
                                      // Numbers run from 1 without a gap.
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=records.len() as u64).collect::<Vec<_>>());
}

const MAX_STEP: chrono::TimeDelta = super::retention::MAX_RETENTION_STEP;

/// As if the vault had been in use all along up to the fixture's clock: the
/// retention clock, which moves at most a week per change, has caught up.
fn retention_caught_up(f: &Fixture) {
    let v = f.vault();
    let mut u = v.unlocked(&mut TestUi::new(), Access::Write).unwrap();
    u.retention_now = u.h.now;
    u.commit().unwrap();
}

/// Issue 12, item 9: one command with the clock set 14 months ahead prunes
/// nothing it could not prune a week later, and records the jump; each later
/// change moves retention at most a week.
#[test]
fn issue_12_one_forward_clock_jump_does_not_erase_the_trail() {
    let f = Fixture::new("2026-01-01T00:00:00Z");
    f.open(
        "acme",
        "Acme",
        "2026-01-01T00:00:00Z",
        "2028-01-01T00:00:00Z",
    );
    f.add("acme", "ftp", None);
    for day in 2..=20 {
        f.set(&format!("2026-01-{day:02}T00:00:00Z"));
        f.get("acme", "ftp").unwrap();
    }
    let before = f.records().len();
    f.set("2027-03-01T00:00:00Z"); // 14 months after the first records
    f.get("acme", "ftp").unwrap();
    let records = f.records();
    let first = records.first().expect("records").seq;
    assert_eq!(first, 1, "one jump pruned nothing of January");
    assert!(records.len() > before);
    let jumps: Vec<&Record> = (records.iter())
        .filter(|r| r.event.action == Action::ClockJump)
        .collect();
    assert!(!jumps.is_empty(), "the jump is in the trail");
    // Each change moves retention a week at most: more commands (each one
    // commits, two minutes apart) still leave January's records alone.
    for minute in [2, 4, 6] {
        f.set(&format!("2027-03-01T00:{minute:02}:00Z"));
        f.get("acme", "ftp").unwrap();
    }
    let records = f.records();
    assert_eq!(records.first().map(|r| r.seq), Some(1));
    let v = f.vault();
    let u = v.unlocked(&mut TestUi::new(), Access::Read).unwrap();
    let reached = u.index.retention_clock.expect("kept");
    assert!(
        reached <= at("2026-01-20T00:00:00Z") + MAX_STEP * 4,
        "retention reached {reached}"
    );
    drop(u);
    assert!(records.iter().any(|r| r.event.action == Action::ClockJump));
    f.vault().audit_verify(&mut TestUi::new()).unwrap();
}

#[test]
fn audit_records_go_after_thirteen_months_to_the_second_and_the_chain_still_verifies() {
    let f = Fixture::new("2026-01-01T00:00:00Z");
    f.open(
        "acme",
        "Acme",
        "2026-01-01T00:00:00Z",
        "2028-01-01T00:00:00Z",
    );
    f.add("acme", "ftp", None);
    f.set("2026-01-01T01:00:00Z");
    f.get("acme", "ftp").unwrap();
    // init, open, add, get (and this reading is recorded as the fifth)
    assert_eq!(f.records().len(), 4);

    // 13 months after the oldest record, to the second: nothing is older yet.
    f.set("2027-02-01T00:00:00Z");
    retention_caught_up(&f);
    f.get("acme", "ftp").unwrap();
    let kept = f
        .vault()
        .audit(&Filter::default(), &mut TestUi::new())
        .unwrap();
    assert_eq!(kept.pruned_through, None);
    assert_eq!(kept.records.first().map(|r| r.seq), Some(1));

    // One second later the oldest is too old: it goes, with everything of its
    // day (pruning runs about once a day), behind a checkpoint.
    f.set("2027-02-01T00:00:01Z");
    f.get("acme", "ftp").unwrap();
    let view = f
        .vault()
        .audit(&Filter::default(), &mut TestUi::new())
        .unwrap();
    let (last_pruned, when) = view.pruned_through.expect("a checkpoint");
    assert_eq!(last_pruned, 5, "the first day's five records were pruned");
    assert_eq!(when, at("2027-02-01T00:00:01Z"));
    assert_eq!(view.records.first().map(|r| r.seq), Some(6));
    assert!(view
        .records
        .iter()
        .all(|r| r.at >= at("2027-02-01T00:00:00Z")));
    let verified = f.vault().audit_verify(&mut TestUi::new()).unwrap();
    assert_eq!(verified.pruned, 5);
    assert_eq!(verified.last, view.records.last().unwrap().seq + 1);

    // A shorter retention prunes sooner; pruning again extends the checkpoint.
    f.vault()
        .retention(
            RetentionChange {
                audit_months: Some(1),
                ..RetentionChange::default()
            },
            &mut TestUi::new(),
        )
        .unwrap();
    f.set("2027-03-05T00:00:00Z");
    retention_caught_up(&f);
    f.get("acme", "ftp").unwrap();
    let verified = f.vault().audit_verify(&mut TestUi::new()).unwrap();
    assert!(verified.pruned > 5, "{verified:?}");
    let view = f
        .vault()
        .audit(&Filter::default(), &mut TestUi::new())
        .unwrap();
    assert!(view
        .records
        .iter()
        .all(|r| r.at >= at("2027-02-05T00:00:00Z")));
}

#[test]
fn tombstones_go_three_years_after_their_wipe_to_the_second_and_the_unlock_records_it() {
    let f = Fixture::new("2026-12-01T08:00:00Z");
    f.open(
        "acme",
        "Acme",
        "2026-12-01T09:00:00Z",
        "2026-12-01T18:00:00Z",
    );
    f.open(
        "beta",
        "Beta",
        "2026-12-01T09:00:00Z",
        "2029-12-31T18:00:00Z",
    );
    f.set("2026-12-01T10:00:00Z");
    f.vault().close("acme", None, &mut TestUi::new()).unwrap();
    let listed = |f: &Fixture| -> Vec<String> {
        f.vault()
            .list(&mut TestUi::new(), true)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect()
    };
    f.set("2029-12-01T10:00:00Z");
    retention_caught_up(&f);
    assert_eq!(listed(&f), ["beta", "acme"]);
    f.set("2029-12-01T10:00:01Z");
    assert_eq!(listed(&f), ["beta"]);
    // The ID is free again, and the client's pseudonym key went with its last
    // tombstone (Beta's stays: its intervention is live).
    let v = f.vault();
    let u = v.unlocked(&mut TestUi::new(), Access::Read).unwrap();
    let clients: Vec<&str> = u.index.clients.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(clients, ["Beta"]);
    drop(u);
    let pruned: Vec<Record> = f
        .records()
        .into_iter()
        .filter(|r| r.event.action == Action::PruneTombstones)
        .collect();
    assert_eq!(pruned.len(), 1, "recorded once: {pruned:?}");
    assert_eq!(pruned[0].event.count, Some(1));
    f.open(
        "acme",
        "Acme",
        "2029-12-01T10:00:00Z",
        "2029-12-02T10:00:00Z",
    );
}

#[test]
fn retention_is_never_longer_than_the_policy_without_the_explicit_flag() {
    let f = Fixture::new("2026-12-01T08:00:00Z");
    let v = f.vault();
    let change = |audit, tombstone, beyond_policy| RetentionChange {
        audit_months: audit,
        tombstone_months: tombstone,
        backup_days: None,
        beyond_policy,
    };
    let shown = v
        .retention(change(None, None, false), &mut TestUi::new())
        .unwrap();
    assert_eq!(shown.periods, Retention::DEFAULT);
    assert_eq!(shown.backup_days, 30);
    for refused in [
        change(Some(14), None, false),
        change(None, Some(37), false),
        change(Some(0), None, true),
        change(None, Some(0), false),
        change(Some(1201), None, true),
    ] {
        let e = v.retention(refused, &mut TestUi::new()).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{refused:?}: {e}");
    }
    assert_eq!(
        v.retention(change(None, None, false), &mut TestUi::new())
            .unwrap()
            .periods,
        Retention::DEFAULT
    );
    let longer = v
        .retention(change(Some(24), Some(12), true), &mut TestUi::new())
        .unwrap();
    assert_eq!(
        (longer.periods.audit_months, longer.periods.tombstone_months),
        (24, 12)
    );
    let days = |d, beyond_policy| RetentionChange {
        backup_days: Some(d),
        beyond_policy,
        ..RetentionChange::default()
    };
    for refused in [days(0, true), days(31, false), days(36_501, true)] {
        let e = v.retention(refused, &mut TestUi::new()).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{refused:?}: {e}");
    }
    let shorter = v.retention(days(7, false), &mut TestUi::new()).unwrap();
    assert_eq!(shorter.backup_days, 7);
}

#[test]
fn client_erase_leaves_no_trace_of_the_name_in_any_decrypted_byte_and_the_trail_verifies() {
    let f = Fixture::new("2026-12-01T08:00:00Z");
    let name = "Boulangerie Dupont";
    f.open("site", name, "2026-12-01T09:00:00Z", "2026-12-01T18:00:00Z");
    f.open("old", name, "2026-12-01T09:00:00Z", "2026-12-01T18:00:00Z");
    f.open(
        "other",
        "Acme",
        "2026-12-01T09:00:00Z",
        "2026-12-01T18:00:00Z",
    );
    f.add("site", "ftp", None);
    f.add("other", "ftp", None);
    f.set("2026-12-01T10:00:00Z");
    let v = f.vault();
    let mut ui = TestUi::new();
    v.close("old", None, &mut ui).unwrap();
    v.extend(
        "site",
        at("2026-12-01T19:00:00Z"),
        "BOULANGERIE DUPONT asked for more time",
        &mut ui,
    )
    .unwrap();
    v.freeze("site", "boulangerie dupont disputes the invoice", &mut ui)
        .unwrap();
    f.get("site", "ftp").unwrap_err();
    v.unfreeze("site", &mut ui).unwrap();
    f.get("site", "ftp").unwrap();
    f.get("other", "ftp").unwrap();
    let before = decrypted_everything(&f).to_lowercase();
    assert!(
        before.contains("boulangerie dupont"),
        "the test sees the name before"
    );

    let erased = v.client_erase(name, None, &mut ui).unwrap();
    assert_eq!(erased.wiped.len(), 1);
    assert_eq!(erased.wiped[0].id, "site");
    assert_eq!(erased.tombstones, 2);
    assert!(erased.pseudonym.starts_with("client-"));

    let after = decrypted_everything(&f).to_lowercase();
    assert!(
        !after.contains("boulangerie dupont"),
        "the name is still in the vault"
    );
    assert!(after.contains(&erased.pseudonym));
    v.audit_verify(&mut ui).unwrap();
    // The other client is untouched, and still shown by name.
    assert!(f.get("other", "ftp").is_ok());
    let acme = v.client_report("Acme", None, &mut ui).unwrap();
    assert_eq!(acme.interventions.len(), 1);
    assert!(acme
        .history
        .iter()
        .all(|r| r.event.client.as_deref() == Some("Acme")));
    assert!(matches!(
        v.client_report(name, None, &mut ui),
        Err(Error::NoSuchClient { .. })
    ));
    let clients = v.client_list(&mut ui).unwrap();
    let erased_entry = clients.iter().find(|c| c.erased).unwrap();
    assert_eq!(
        (
            erased_entry.client.as_str(),
            erased_entry.live,
            erased_entry.past
        ),
        (erased.pseudonym.as_str(), 0, 2)
    );
}

#[test]
fn a_fetch_whose_record_cannot_be_written_is_refused() {
    if super::test_support::on_etcd() {
        return; // faults are injected into the directory store's file steps
    }
    let f = Fixture::with_acme_for_the_day();
    // The steps of a clean get, to find the append of its record.
    let armed = fault::arm(None);
    f.get("acme", "ftp").unwrap();
    let trace = armed.finish();
    let append = trace
        .iter()
        .position(|t| t.step == Step::Write && t.path.ends_with("audit/audit.log"))
        .expect("a get appends its record");
    for kind in [FaultKind::NoSpace, FaultKind::Io, FaultKind::ShortWrite] {
        let armed = fault::arm(Some(Plan::At(append + 1, kind)));
        let got = f.get("acme", "ftp");
        armed.finish();
        match got {
            Err(Error::NotRecorded(cause)) => assert!(matches!(*cause, Error::Io { .. })),
            other => panic!("{kind:?}: {other:?}"),
        }
    }
    // The short write left half a line: the next append cuts it off, and the
    // trail still verifies, with every granted fetch in it.
    f.get("acme", "ftp").unwrap();
    f.vault().audit_verify(&mut TestUi::new()).unwrap();
    let granted = f
        .records()
        .iter()
        .filter(|r| r.event.outcome == Outcome::Granted)
        .count();
    assert_eq!(granted, 2);
}

#[test]
fn a_damaged_trail_is_named_by_verify_then_restarted_with_the_damaged_one_kept() {
    let f = Fixture::with_acme_for_the_day();
    f.get("acme", "ftp").unwrap();
    let log = "audit/audit.log";
    let text = String::from_utf8(f.vault_store.read_up_to(log, 1 << 20).unwrap()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Flip one character of record 2's ciphertext.
    let pos = lines[1].find("\"sealed\":\"").unwrap() + 40;
    let flipped = if &lines[1][pos..=pos] == "A" {
        "B"
    } else {
        "A"
    };
    lines[1].replace_range(pos..=pos, flipped);
    f.vault_store
        .log_replace(log, (lines.join("\n") + "\n").as_bytes())
        .unwrap();

    let v = f.vault();
    let mut ui = TestUi::new();
    match v.audit_verify(&mut ui) {
        Err(Error::AuditBroken { record, what }) => {
            assert_eq!(record, Some(2), "{what}");
            assert!(what.contains("MAC"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        v.audit(&Filter::default(), &mut ui),
        Err(Error::AuditBroken { .. })
    ));
    let kept = v.audit_restart(&mut ui).unwrap();
    assert!(
        f.vault_store.exists(&format!("audit/{kept}")).unwrap()
            || f.vault_store.log_len(&format!("audit/{kept}")).is_ok(),
        "{kept}"
    );
    let verified = v.audit_verify(&mut ui).unwrap();
    assert_eq!(verified.last, 1);
    let first = &f.records()[0];
    assert_eq!(first.event.action, Action::AuditRestart);
    let reason = first.event.reason.as_deref().unwrap();
    assert!(
        reason.contains(&kept) && reason.contains("record 2"),
        "{reason}"
    );
    let again = v.audit_restart(&mut ui).unwrap_err();
    assert_eq!(again.exit_code(), 3, "{again}");
}

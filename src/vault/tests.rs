//! The vault driven through its library API with a fixed clock: window boundaries,
//! expiry, keyless sweep and the clock-rollback guard, at exact seconds.

use std::cell::Cell;

use super::test_support::{at, on_etcd, MemoryStore, TestClock, TestUi, FAST};
use super::*;
use crate::error::Error;
use crate::intervention::{Kind, WipeReason};

struct Fixture {
    _tmp: tempfile::TempDir,
    store: crate::store::SharedStore,
    clock: TestClock,
}

impl Fixture {
    fn new(now: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("v");
        let f = Fixture {
            _tmp: tmp,
            store: super::test_support::test_store(&dir),
            clock: TestClock(Cell::new(at(now))),
        };
        f.vault().init(FAST, &mut TestUi::new()).unwrap();
        f
    }

    fn vault(&self) -> Vault<'_> {
        Vault::in_store(self.store.clone(), &self.clock)
    }

    fn set(&self, now: &str) {
        self.clock.0.set(at(now));
    }

    /// Opens `id` for [09:00, 18:00) on 2026-12-01 and adds credential `ftp`.
    fn open_day(&self, id: &str) {
        let v = self.vault();
        let mut ui = TestUi::new();
        v.open(
            &NewIntervention {
                id: id.into(),
                client: "Acme".into(),
                window: WindowSpec::Range {
                    from: Some(at("2026-12-01T09:00:00Z")),
                    until: at("2026-12-01T18:00:00Z"),
                },
                note: None,
            },
            &mut ui,
        )
        .unwrap();
        let cred = NewCredential {
            name: "ftp".into(),
            kind: Kind::Hosting,
            url: None,
            user: Some("bob".into()),
            note: None,
            totp: false,
            max_uses: None,
        };
        v.add(id, &cred, false, &mut ui).unwrap();
    }

    fn get(&self, id: &str) -> Result<String> {
        self.vault()
            .get(id, "ftp", &mut TestUi::new())
            .map(|c| c.secret.expose().to_owned())
    }
}

#[test]
fn fetch_window_is_from_inclusive_until_exclusive() {
    let f = Fixture::new("2026-11-30T12:00:00Z");
    f.open_day("acme");
    f.set("2026-12-01T08:59:59Z");
    assert!(matches!(f.get("acme"), Err(Error::NotYetOpen { .. })));
    f.set("2026-12-01T09:00:00Z");
    assert_eq!(f.get("acme").unwrap(), "secret-of-ftp");
    f.set("2026-12-01T17:59:59Z");
    assert_eq!(f.get("acme").unwrap(), "secret-of-ftp");
    f.set("2026-12-01T18:00:00Z");
    let err = f.get("acme").unwrap_err();
    assert!(matches!(
        err,
        Error::Wiped {
            reason: WipeReason::Expired,
            ..
        }
    ));
}

#[test]
fn expiry_at_until_notifies_with_a_full_receipt_and_destroys_the_files() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    assert_eq!(f.store.list("keys").unwrap().len(), 1);
    f.set("2026-12-01T18:00:00Z");
    let mut ui = TestUi::new();
    let items = f.vault().list(&mut ui, true).unwrap();
    assert_eq!(items[0].status, Status::Expired);
    let [Notice::Expired(record)] = ui.notices.as_slice() else {
        panic!("expected one expiry notice, got {:?}", ui.notices);
    };
    let t = record.tombstone.as_ref().expect("full tombstone");
    assert_eq!(
        (t.id.as_str(), t.names.as_slice()),
        ("acme", &["ftp".to_string()][..])
    );
    assert_eq!(t.wiped_at, at("2026-12-01T18:00:00Z"));
    assert!(t.receipt_is_valid());
    assert_eq!(f.store.list("keys").unwrap().len(), 0);
    assert_eq!(f.store.list("creds").unwrap().len(), 0);
}

#[test]
fn keyless_sweep_wipes_at_until_and_the_next_unlock_completes_the_tombstone() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    let mut keyless = TestUi::keyless();
    f.set("2026-12-01T17:59:59Z");
    assert!(f.vault().sweep(&mut keyless).unwrap().wiped.is_empty());
    f.set("2026-12-01T18:00:00Z");
    let records = f.vault().sweep(&mut keyless).unwrap().wiped;
    assert_eq!(records.len(), 1);
    assert!(records[0].tombstone.is_none());
    assert_eq!(f.store.list("keys").unwrap().len(), 0);
    f.set("2026-12-02T08:00:00Z");
    let mut ui = TestUi::new();
    let detail = f.vault().show("acme", None, &mut ui).unwrap();
    let t = detail.tombstone.expect("completed tombstone");
    assert_eq!(t.reason, WipeReason::Expired);
    assert_eq!(t.wiped_at, at("2026-12-01T18:00:00Z"));
    assert_eq!(t.client, "Acme");
    assert!(
        ui.notices.is_empty(),
        "the sweep already reported this wipe"
    );
}

#[test]
fn sweep_with_a_passphrase_at_hand_reports_full_records() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    f.set("2026-12-01T18:00:01Z");
    let records = f.vault().sweep(&mut TestUi::new()).unwrap().wiped;
    assert_eq!(records[0].tombstone.as_ref().unwrap().client, "Acme");
}

#[test]
fn clock_set_back_more_than_five_minutes_is_refused() {
    let f = Fixture::new("2026-12-01T12:00:00Z");
    f.open_day("acme"); // a write at 12:00 sets the high-water mark
    f.set("2026-12-01T11:55:00Z");
    assert_eq!(f.get("acme").unwrap(), "secret-of-ftp");
    f.set("2026-12-01T11:54:59Z");
    let err = f.get("acme").unwrap_err();
    assert!(matches!(err, Error::ClockWentBack { .. }));
    assert_eq!(err.exit_code(), 3);
}

#[test]
fn readers_move_the_high_water_mark_forward() {
    let f = Fixture::new("2026-12-01T09:00:00Z");
    f.open_day("acme");
    f.set("2026-12-01T15:00:00Z");
    f.get("acme").unwrap(); // a read, 6 h after the last write
    f.set("2026-12-01T14:54:59Z");
    assert!(matches!(f.get("acme"), Err(Error::ClockWentBack { .. })));
}

#[test]
fn close_is_allowed_even_when_the_clock_went_back() {
    let f = Fixture::new("2026-12-01T12:00:00Z");
    f.open_day("acme");
    f.set("2026-12-01T11:00:00Z");
    let t = f
        .vault()
        .close("acme", None, &mut TestUi::new())
        .unwrap()
        .tombstone;
    assert_eq!(t.reason, WipeReason::Closed);
}

#[test]
fn extend_moves_the_expiry_table_too() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    f.vault()
        .extend(
            "acme",
            at("2026-12-02T18:00:00Z"),
            "more work",
            &mut TestUi::new(),
        )
        .unwrap();
    f.set("2026-12-02T17:59:59Z");
    let mut keyless = TestUi::keyless();
    assert!(f.vault().sweep(&mut keyless).unwrap().wiped.is_empty());
    assert_eq!(f.get("acme").unwrap(), "secret-of-ftp");
    f.set("2026-12-02T18:00:00Z");
    assert_eq!(f.vault().sweep(&mut keyless).unwrap().wiped.len(), 1);
}

#[test]
fn a_failed_command_leaves_no_new_files() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    let before = f.store.list("creds").unwrap();
    let cred = super::test_support::bare_credential("ftp", Kind::Hosting);
    let err = f
        .vault()
        .add("acme", &cred, false, &mut TestUi::new())
        .unwrap_err();
    assert_eq!(err.exit_code(), 7);
    let after = f.store.list("creds").unwrap();
    assert_eq!(before, after);
}

#[test]
fn nothing_is_asked_while_the_vault_is_locked() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    let mut ui = TestUi::new();
    ui.lock_path = Some(f.store.clone());
    let v = f.vault();
    v.open(
        &NewIntervention {
            id: "acme".into(),
            client: "Acme".into(),
            window: WindowSpec::For(chrono::TimeDelta::hours(2)),
            note: None,
        },
        &mut ui,
    )
    .unwrap();
    let cred = super::test_support::bare_credential("ftp", Kind::Hosting);
    v.add("acme", &cred, false, &mut ui).unwrap();
    Vault::in_store(f.store.clone(), &f.clock)
        .passwd(&mut ui)
        .unwrap();
    // Issue 13, item 2: the question before a destruction too.
    let v = f.vault();
    v.rm("acme", "ftp", &mut ui).unwrap();
    v.close("acme", None, &mut ui).unwrap();
    v.client_erase("Acme", None, &mut ui).unwrap();
    assert_eq!(ui.confirmed.len(), 3);
    assert_eq!(ui.asked_while_locked, 0);
}

/// Issue 13, item 2: answering no to `close`, `rm` or `client erase` destroys
/// nothing, and the question names what would have been destroyed.
#[test]
fn issue_13_answering_no_destroys_nothing() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    let mut no = TestUi::new();
    no.answer = false;
    let v = f.vault();
    assert!(matches!(
        v.close("acme", None, &mut no),
        Err(Error::Declined { .. })
    ));
    assert!(matches!(
        v.rm("acme", "ftp", &mut no),
        Err(Error::Declined { .. })
    ));
    let err = v.client_erase("Acme", None, &mut no).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        err.to_string(),
        "client 'Acme' not erased: you answered no, so nothing was changed (answer y, or confirm in advance, to go ahead)"
    );
    assert_eq!(f.get("acme").unwrap(), "secret-of-ftp");
    assert_eq!(
        no.confirmed[0],
        Destruction::Close {
            id: "acme".into(),
            client: "Acme".into(),
            names: vec!["ftp".into()],
        }
    );
    assert_eq!(
        no.confirmed[2],
        Destruction::ClientErase {
            client: "Acme".into(),
            interventions: vec![("acme".into(), vec!["ftp".into()])],
            tombstones: 0,
        }
    );
}

#[test]
fn a_sweep_whose_unlock_fails_still_reports_its_wipes() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    f.set("2026-12-01T18:00:00Z");
    let mut wrong = TestUi {
        passphrase: Some("not the passphrase"),
        ..TestUi::new()
    };
    let report = f.vault().sweep(&mut wrong).unwrap();
    assert_eq!(report.wiped.len(), 1);
    assert!(matches!(report.unlock_error, Some(Error::WrongPassphrase)));
}

#[test]
fn stale_credential_generations_are_collected() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    let current = format!("creds/{}", f.store.list("creds").unwrap()[0]);
    // What a crash right after a commit leaves: the previous generation.
    let stale = current.replace(".1.age", ".0.age");
    f.store
        .write(&stale, &f.store.read(&current).unwrap())
        .unwrap();
    // ... and the marker of the change it was making.
    f.store.mark("changing").unwrap();
    f.vault()
        .extend(
            "acme",
            at("2026-12-01T19:00:00Z"),
            "more",
            &mut TestUi::new(),
        )
        .unwrap();
    assert!(!f.store.exists(&stale).unwrap());
    assert!(f.store.exists(&current).unwrap());
    assert!(
        !f.store.exists("changing").unwrap(),
        "everything is collected: the marker goes"
    );
}

#[test]
fn without_the_marker_a_command_on_one_intervention_lists_no_directory_but_list_collects() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    // What a power loss can leave of a change cut off before its commit, while
    // the marker of that change was never made durable.
    let unknown = "0".repeat(32);
    let orphans = [
        format!("keys/{unknown}.age"),
        format!("creds/{unknown}.1.age"),
        format!("records/{unknown}.1.age"),
    ];
    for name in &orphans {
        f.store.write(name, b"ciphertext").unwrap();
    }
    let there = |name: &String| f.store.exists(name).unwrap();
    assert_eq!(f.get("acme").unwrap(), "secret-of-ftp");
    assert!(orphans.iter().all(there), "get lists no directory");
    assert!(!f.store.exists("changing").unwrap());
    f.vault().list(&mut TestUi::new(), false).unwrap();
    if on_etcd() {
        // A reader of a snapshot holds no lock, so it collects nothing (a
        // writer may be writing new objects right now); on etcd the marker
        // is durable before any object of a change, so orphans come with it
        // and the reader then takes the lock (the test above).
        assert!(
            orphans.iter().all(there),
            "a snapshot's reader collects nothing"
        );
        return;
    }
    assert!(!orphans.iter().any(there), "list collects them");
}

#[test]
fn a_forged_clear_wipe_time_cannot_predate_the_window_end() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    f.set("2026-12-01T18:00:05Z");
    f.vault().sweep(&mut TestUi::keyless()).unwrap();
    let root = String::from_utf8(f.store.read("vault.json").unwrap()).unwrap();
    let forged = root.replace("2026-12-01T18:00:05Z", "2026-12-01T11:00:00Z");
    assert_ne!(root, forged);
    f.store.write("vault.json", forged.as_bytes()).unwrap();
    let err = f
        .vault()
        .show("acme", None, &mut TestUi::new())
        .unwrap_err();
    assert_eq!(err.exit_code(), 6, "{err}");
    assert!(
        err.to_string().contains("wiped before its window ended"),
        "{err}"
    );
    // Reported once; the tombstone was committed as tampered, never as an
    // ordinary expiry.
    let t = f
        .vault()
        .show("acme", None, &mut TestUi::new())
        .unwrap()
        .tombstone
        .unwrap();
    assert_eq!(t.reason, WipeReason::Tampered);
    assert_eq!(t.wiped_at, at("2026-12-01T11:00:00Z"));
}

/// Issue 12, item 5: an entry moved by hand from the clear expiry table to the
/// keyless wipes, with a wipe time in the future, gets the intervention
/// shredded by the next sweep; the next unlock reports tampering (exit 6) and
/// the tombstone says `tampered`, never `expired`.
#[test]
fn issue_12_a_forged_future_keyless_wipe_is_reported_as_tampering() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    let mut root: serde_json::Value =
        serde_json::from_slice(&f.store.read("vault.json").unwrap()).unwrap();
    let entry = root["expiry"].as_array_mut().unwrap().remove(0);
    root["swept"] =
        serde_json::json!([{ "ref": entry["ref"], "wiped_at": "2027-06-01T00:00:00Z" }]);
    f.store
        .write("vault.json", &serde_json::to_vec(&root).unwrap())
        .unwrap();
    // The keyless sweep collects the key of what is no longer listed as live.
    f.vault().sweep(&mut TestUi::keyless()).unwrap();
    f.set("2026-12-01T20:00:00Z"); // after the sealed window end
    let err = f.vault().list(&mut TestUi::new(), true).unwrap_err();
    assert_eq!(err.exit_code(), 6, "{err}");
    assert!(err.to_string().contains("was altered"), "{err}");
    let t = f
        .vault()
        .show("acme", None, &mut TestUi::new())
        .unwrap()
        .tombstone
        .unwrap();
    assert_eq!(t.reason, WipeReason::Tampered);
}

/// Issue 12, item 5 (the class): every clear field that drives a keyless
/// decision is judged against the sealed index. A keyless wipe is an expiry
/// only at or after the sealed window end and not after the unlock's clock.
#[test]
fn issue_12_keyless_wipe_times_are_judged_against_the_sealed_window() {
    use super::format::{Ref, SweptEntry};
    use super::opening::judge_keyless_wipe;
    let until = at("2026-12-01T18:00:00Z");
    let now = at("2026-12-02T09:00:00Z");
    let cases = [
        (
            "2026-12-01T18:00:00Z",
            WipeReason::Expired,
            "at the window end",
        ),
        (
            "2026-12-02T08:00:00Z",
            WipeReason::Expired,
            "between end and now",
        ),
        (
            "2026-12-02T09:01:00Z",
            WipeReason::Expired,
            "within the clock leeway",
        ),
        (
            "2026-12-01T17:59:59Z",
            WipeReason::Tampered,
            "one second early",
        ),
        (
            "2026-12-02T09:05:00Z",
            WipeReason::Tampered,
            "after the unlock's clock",
        ),
        (
            "2030-01-01T00:00:00Z",
            WipeReason::Tampered,
            "far in the future",
        ),
        (
            "1970-01-01T00:00:00Z",
            WipeReason::Tampered,
            "before anything",
        ),
    ];
    for (wiped_at, expected, why) in cases {
        let s = SweptEntry {
            reference: Ref::random(),
            wiped_at: at(wiped_at),
        };
        let (when, reason) = judge_keyless_wipe(&s, until, now);
        assert_eq!(reason, expected, "{why}");
        assert!(when <= now, "{why}: a wipe time is never after the unlock");
    }
}

#[test]
fn a_session_opens_until_its_exact_end_then_says_it_ended() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    let store = MemoryStore::default();
    let v = Vault::in_store(f.store.clone(), &f.clock).with_sessions(&store);
    let until = v
        .unlock(Some(chrono::TimeDelta::minutes(15)), &mut TestUi::new())
        .unwrap();
    assert_eq!(until, at("2026-12-01T10:15:00Z"));
    f.set("2026-12-01T10:14:59Z");
    let v = Vault::in_store(f.store.clone(), &f.clock).with_sessions(&store);
    assert_eq!(
        v.get("acme", "ftp", &mut TestUi::keyless())
            .unwrap()
            .secret
            .expose(),
        "secret-of-ftp"
    );
    f.set("2026-12-01T10:15:00Z");
    let v = Vault::in_store(f.store.clone(), &f.clock).with_sessions(&store);
    let err = v.get("acme", "ftp", &mut TestUi::keyless()).unwrap_err();
    assert!(matches!(err, Error::SessionExpired { .. }), "{err}");
    assert_eq!(err.exit_code(), 4);
    // What stays is the last generation seen (rollback detection), not a session.
    let kept: Vec<String> = store.0.borrow().keys().cloned().collect();
    assert!(
        kept.iter().all(|k| k.ends_with("-seen")),
        "an ended session is forgotten: {kept:?}"
    );
}

#[test]
fn a_session_is_not_trusted_when_the_clock_reads_before_it_began() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    let store = MemoryStore::default();
    let v = Vault::in_store(f.store.clone(), &f.clock).with_sessions(&store);
    v.unlock(None, &mut TestUi::new()).unwrap();
    f.set("2026-12-01T09:54:59Z");
    let v = Vault::in_store(f.store.clone(), &f.clock).with_sessions(&store);
    assert!(v.get("acme", "ftp", &mut TestUi::keyless()).is_err());
}

#[test]
fn a_session_does_not_survive_a_passphrase_change() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    let store = MemoryStore::default();
    let v = Vault::in_store(f.store.clone(), &f.clock).with_sessions(&store);
    v.unlock(None, &mut TestUi::new()).unwrap();
    // Change the passphrase behind the session's back (no store given), as an
    // older intervault or a restored vault.json would.
    f.vault().passwd(&mut TestUi::new()).unwrap();
    let v = Vault::in_store(f.store.clone(), &f.clock).with_sessions(&store);
    let err = v.get("acme", "ftp", &mut TestUi::keyless()).unwrap_err();
    assert!(matches!(err, Error::NoPassphrase { .. }), "{err}");
}

/// A keyring backend that fails, as a locked or missing Secret Service would.
struct FailingStore;

impl crate::session_store::SessionStore for FailingStore {
    fn save(&self, _: &str, _: &SecretText, _: std::time::Duration) -> Result<()> {
        Err(Error::Keyring {
            what: "could not store the session in the OS keyring (it failed)".into(),
        })
    }
    fn load(&self, _: &str) -> Result<Option<SecretText>> {
        Err(Error::Keyring {
            what: "could not read the session from the OS keyring (it failed)".into(),
        })
    }
    fn forget(&self, _: &str) -> Result<bool> {
        Err(Error::Keyring {
            what: "could not remove the session from the OS keyring (it failed)".into(),
        })
    }
}

#[test]
fn a_failing_keyring_gives_a_clear_error_and_never_unlocks() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    let v = Vault::in_store(f.store.clone(), &f.clock).with_sessions(&FailingStore);
    let err = v.unlock(None, &mut TestUi::new()).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("OS keyring"), "{err}");
    // The next command finds no session; the passphrase still works.
    let v = Vault::in_store(f.store.clone(), &f.clock).with_sessions(&FailingStore);
    assert!(v.get("acme", "ftp", &mut TestUi::keyless()).is_err());
    let v = Vault::in_store(f.store.clone(), &f.clock).with_sessions(&FailingStore);
    assert!(v.get("acme", "ftp", &mut TestUi::new()).is_ok());
    assert_eq!(v.lock().unwrap_err().exit_code(), 1);
}

/// Closes `acme` through another handle on the vault while the secret is typed.
struct ClosesWhileTyping<'v>(&'v Vault<'v>);

impl Interaction for ClosesWhileTyping<'_> {
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<SecretText> {
        TestUi::new().passphrase(purpose)
    }
    fn secret(&mut self, _: &str, _: &str) -> Result<SecretText> {
        self.0.close("acme", None, &mut TestUi::new())?;
        Ok(SecretText::new("typed too late".into()))
    }
    fn totp_seed(&mut self, _: &str, _: &str) -> Result<SecretText> {
        Err(Error::Internal("no TOTP seed is asked for".into()))
    }
    fn notice(&mut self, _: Notice) {}
    fn confirm(&mut self, _: &Destruction) -> Result<bool> {
        Ok(true)
    }
}

/// `add` opens the vault twice (check, then write, with the secret typed in
/// between); what the first one read serves the second only if nobody wrote in
/// between.
#[test]
fn add_sees_a_close_made_while_its_secret_was_typed() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open_day("acme");
    let other = f.vault();
    let cred = super::test_support::bare_credential("db", Kind::Database);
    let err = f
        .vault()
        .add("acme", &cred, false, &mut ClosesWhileTyping(&other))
        .unwrap_err();
    assert!(matches!(err, Error::Wiped { .. }), "{err:?}");
    assert!(f.get("acme").is_err());
}

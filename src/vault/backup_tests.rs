//! Backups through the library with a hand-moved clock: wipes and expiry reach
//! them, retention deletes them at its exact end, and a restore never resurrects.

use std::cell::Cell;

use super::backup;
use super::test_support::{at, TestClock, TestUi, FAST};
use super::*;
use crate::error::Error;
use crate::intervention::Kind;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    clock: TestClock,
}

impl Fixture {
    fn new(now: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let f = Fixture {
            root: tmp.path().to_owned(),
            _tmp: tmp,
            clock: TestClock(Cell::new(at(now))),
        };
        f.vault().init(FAST, &mut TestUi::new()).unwrap();
        f
    }

    fn vault(&self) -> Vault<'_> {
        self.vault_at("v")
    }

    fn vault_at(&self, name: &str) -> Vault<'_> {
        Vault::new(self.root.join(name), &self.clock).with_state_dir(self.root.join("state"))
    }

    fn set(&self, now: &str) {
        self.clock.0.set(at(now));
    }

    fn open(&self, id: &str, until: &str) {
        let new = NewIntervention {
            id: id.into(),
            client: "Acme".into(),
            window: WindowSpec::Range {
                from: None,
                until: at(until),
            },
            note: None,
        };
        self.vault().open(&new, &mut TestUi::new()).unwrap();
        let cred = super::test_support::bare_credential("ftp", Kind::Hosting);
        self.vault()
            .add(id, &cred, false, &mut TestUi::new())
            .unwrap();
    }

    fn backups(&self) -> Vec<PathBuf> {
        let dir = self.root.join("v-backups");
        let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    /// The references whose key a backup still holds.
    fn held(&self, path: &std::path::Path) -> Vec<String> {
        let b = backup::read(path).unwrap();
        b.files
            .keys()
            .filter_map(|p| p.strip_prefix("keys/"))
            .map(|p| p.trim_end_matches(".age").to_owned())
            .collect()
    }
}

fn reference_of(f: &Fixture, id: &str) -> String {
    let v = f.vault();
    let u = v
        .unlocked(&mut TestUi::new(), opening::Access::Read)
        .unwrap();
    let m = u.index.interventions.iter().find(|m| m.id == id).unwrap();
    m.reference.to_string()
}

#[test]
fn an_expiry_takes_the_intervention_out_of_every_backup_even_without_the_key() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open("short", "2026-12-01T12:00:00Z");
    f.open("long", "2026-12-05T12:00:00Z");
    let short = reference_of(&f, "short");
    f.vault().backup(None, &mut TestUi::new()).unwrap();
    let [b] = f.backups().try_into().unwrap();
    assert_eq!(f.held(&b).len(), 2);
    // One second before the end, nothing changes; at the end, a keyless sweep
    // takes it out of the backup too.
    f.set("2026-12-01T11:59:59Z");
    f.vault().sweep(&mut TestUi::keyless()).unwrap();
    assert!(f.held(&b).contains(&short));
    f.set("2026-12-01T12:00:00Z");
    f.vault().sweep(&mut TestUi::keyless()).unwrap();
    assert!(!f.held(&b).contains(&short));
    let file = backup::read(&b).unwrap();
    assert_eq!(file.removed.len(), 1);
    assert_eq!(
        file.removed[0].reason,
        crate::intervention::WipeReason::Expired
    );
    // What is left still verifies.
    let check = f.vault().backup_verify(&b, &mut TestUi::new()).unwrap();
    assert_eq!((check.interventions, check.taken_out), (1, 1));
}

#[test]
fn managed_backups_go_when_their_retention_ends_to_the_second() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open("long", "2027-12-01T12:00:00Z");
    f.vault().backup(None, &mut TestUi::new()).unwrap();
    assert_eq!(f.backups().len(), 1);
    f.set("2026-12-31T10:00:00Z"); // exactly 30 days: kept
    f.vault().sweep(&mut TestUi::keyless()).unwrap();
    assert_eq!(f.backups().len(), 1);
    f.set("2026-12-31T10:00:01Z");
    f.vault().sweep(&mut TestUi::keyless()).unwrap();
    assert!(f.backups().is_empty());
}

#[test]
fn a_restore_never_brings_back_what_was_wiped_since_or_has_ended() {
    let f = Fixture::new("2026-12-01T10:00:00Z");
    f.open("closed-later", "2026-12-05T12:00:00Z");
    f.open("ends-soon", "2026-12-01T11:00:00Z");
    f.open("kept", "2026-12-05T12:00:00Z");
    f.vault().backup(None, &mut TestUi::new()).unwrap();
    let [b] = f.backups().try_into().unwrap();
    let closed = f
        .vault()
        .close("closed-later", None, &mut TestUi::new())
        .unwrap()
        .tombstone;
    f.set("2026-12-01T11:00:00Z");
    let into = f.root.join("restored");
    let report = f.vault().restore(&b, &into, &mut TestUi::new()).unwrap();
    assert_eq!(report.restored, ["kept"]);
    let mut dropped: Vec<(&str, &str)> = report
        .dropped
        .iter()
        .map(|d| (d.tombstone.id.as_str(), d.why))
        .collect();
    dropped.sort();
    assert_eq!(
        dropped,
        [
            ("closed-later", "it is wiped in the current vault"),
            ("ends-soon", "its window has ended"),
        ]
    );
    let receipt = &report
        .dropped
        .iter()
        .find(|d| d.tombstone.id == "closed-later")
        .unwrap()
        .tombstone
        .receipt;
    assert_eq!(receipt, &closed.receipt, "the receipt of the real wipe");
    // The restored vault works, and has the wiped ones as tombstones.
    let restored = f.vault_at("restored");
    assert!(restored.get("kept", "ftp", &mut TestUi::new()).is_ok());
    assert!(matches!(
        restored.get("closed-later", "ftp", &mut TestUi::new()),
        Err(Error::Wiped { .. })
    ));
    // Not into a directory that holds something.
    let again = f
        .vault()
        .restore(&b, &into, &mut TestUi::new())
        .unwrap_err();
    assert_eq!(again.exit_code(), 2, "{again}");
}

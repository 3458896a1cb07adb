//! `migrate` through the library: a directory vault moved into a fresh etcd
//! prefix of the shared test cluster, whole; stopped after each of its steps
//! (as a kill would stop it), the vault is in exactly one place, and a second
//! run finishes or starts over.

use std::cell::Cell;

use super::migrate::Step;
use super::test_support::{at, bare_credential, TestClock, TestUi, FAST};
use super::*;
use crate::error::Error;
use crate::intervention::Kind;
use crate::store::SharedStore;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    clock: TestClock,
    target: SharedStore,
}

const NOW: &str = "2026-12-01T10:00:00Z";

impl Fixture {
    /// A directory vault with a live intervention holding a credential, and a
    /// closed one (a tombstone).
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let f = Fixture {
            root: tmp.path().to_owned(),
            _tmp: tmp,
            clock: TestClock(Cell::new(at(NOW))),
            target: crate::store::etcd::for_tests::fresh_prefix(),
        };
        f.vault().init(FAST, &mut TestUi::new()).unwrap();
        for id in ["acme", "gone"] {
            let new = NewIntervention {
                id: id.into(),
                client: "Acme".into(),
                window: WindowSpec::Range {
                    from: None,
                    until: at("2026-12-02T10:00:00Z"),
                },
                note: None,
            };
            f.vault().open(&new, &mut TestUi::new()).unwrap();
            let cred = bare_credential("ftp", Kind::Hosting);
            f.vault().add(id, &cred, false, &mut TestUi::new()).unwrap();
        }
        f.vault().close("gone", None, &mut TestUi::new()).unwrap();
        f
    }

    fn dir(&self) -> PathBuf {
        self.root.join("v")
    }

    fn vault(&self) -> Vault<'_> {
        Vault::new(self.dir(), &self.clock).with_state_dir(self.root.join("state"))
    }

    fn moved(&self) -> Vault<'_> {
        Vault::in_store(self.target.clone(), &self.clock).with_state_dir(self.root.join("state"))
    }

    /// The secret of acme/ftp, read from `v`.
    fn secret(&self, v: &Vault<'_>) -> Result<String> {
        let fetched = v.fetch(crate::audit::Action::Get, "acme", None, &mut TestUi::new())?;
        Ok(fetched.credentials[0].secret.expose().to_owned())
    }

    /// The move is done: the vault works in the target, with its tombstone
    /// and its trail, and the directory is gone.
    fn assert_moved(&self) {
        assert!(!self.dir().exists(), "the directory is gone");
        let v = self.moved();
        assert_eq!(self.secret(&v).unwrap(), "secret-of-ftp");
        let all = v.list(&mut TestUi::new(), true).unwrap();
        let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["acme", "gone"]);
        v.audit_verify(&mut TestUi::new()).unwrap();
        // A writer settles whatever a reader left to collect (the house's
        // change marker stays until one does).
        v.freeze("acme", "checking", &mut TestUi::new()).unwrap();
        v.unfreeze("acme", &mut TestUi::new()).unwrap();
        for name in [migrate::MARKER, migrate::STAGED_ROOT, layout::CHANGING] {
            assert!(!self.target.exists(name).unwrap(), "{name} left behind");
        }
        assert!(matches!(
            self.vault().list(&mut TestUi::new(), false),
            Err(Error::NoVault { .. })
        ));
    }
}

#[test]
fn a_directory_vault_moves_whole_and_its_directory_is_shredded_and_removed() {
    let f = Fixture::new();
    let report = f
        .vault()
        .migrate(f.target.clone(), &mut TestUi::new())
        .unwrap();
    assert_eq!(report.interventions, 1);
    assert_eq!(report.tombstones, 1);
    assert!(!report.resumed);
    f.assert_moved();
    // Once moved, it cannot move again: the directory is gone.
    let again = f.vault().migrate(f.target.clone(), &mut TestUi::new());
    assert!(matches!(again, Err(Error::NoVault { .. })), "{again:?}");
}

#[test]
fn the_moved_vault_starts_from_what_this_machine_had_seen_of_it() {
    let f = Fixture::new();
    let before = {
        let v = f.vault();
        let u = v
            .unlocked(&mut TestUi::new(), opening::Access::Read)
            .unwrap();
        u.seen.generation
    };
    assert!(before > 0);
    f.vault()
        .migrate(f.target.clone(), &mut TestUi::new())
        .unwrap();
    let v = f.moved();
    let u = v
        .unlocked(&mut TestUi::new(), opening::Access::Read)
        .unwrap();
    assert_eq!(
        u.seen.generation, before,
        "the new address has the old record"
    );
}

#[test]
fn a_wrong_passphrase_moves_nothing() {
    let f = Fixture::new();
    let mut ui = TestUi::new();
    ui.passphrase = Some("not it");
    let e = f.vault().migrate(f.target.clone(), &mut ui).unwrap_err();
    assert_eq!(e.exit_code(), 4, "{e}");
    assert!(
        f.target.list("").unwrap().is_empty(),
        "the target is untouched"
    );
    assert_eq!(f.secret(&f.vault()).unwrap(), "secret-of-ftp");
}

#[test]
fn a_target_that_holds_anything_is_refused_with_exit_7() {
    let f = Fixture::new();
    f.target.write("stray", b"x").unwrap();
    let e = f
        .vault()
        .migrate(f.target.clone(), &mut TestUi::new())
        .unwrap_err();
    assert_eq!(e.exit_code(), 7, "{e}");
    assert_eq!(f.secret(&f.vault()).unwrap(), "secret-of-ftp");
    // Another vault's unfinished move is not taken over either.
    let g = Fixture::new();
    let stop = |s: Step| match s {
        Step::Copied => Err(Error::Internal("stopped".into())),
        _ => Ok(()),
    };
    let e = f
        .vault()
        .migrate_with(g.target.clone(), &mut TestUi::new(), &mut |s| stop(s))
        .unwrap_err();
    assert!(matches!(e, Error::Internal(_)));
    let e = g
        .vault()
        .migrate(g.target.clone(), &mut TestUi::new())
        .unwrap_err();
    assert_eq!(e.exit_code(), 7, "{e}");
    assert!(e.to_string().contains("another vault"), "{e}");
}

#[test]
fn a_vault_not_in_a_directory_is_not_moved() {
    let f = Fixture::new();
    f.vault()
        .migrate(f.target.clone(), &mut TestUi::new())
        .unwrap();
    let other = crate::store::etcd::for_tests::fresh_prefix();
    let e = f.moved().migrate(other, &mut TestUi::new()).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
}

/// Issue 14: interrupted at any point, nothing is lost and nothing is left
/// half-migrated; a second run finishes (or starts over).
#[test]
fn a_move_stopped_after_any_step_loses_nothing_and_a_second_run_finishes_it() {
    let steps = [
        Step::Marked,
        Step::Copied,
        Step::Staged,
        Step::Checked,
        Step::Ready,
        Step::Switched,
        Step::RootWritten,
        Step::TargetDone,
        Step::HalfWiped,
    ];
    for stop_at in steps {
        let f = Fixture::new();
        let e = f
            .vault()
            .migrate_with(
                f.target.clone(),
                &mut TestUi::new(),
                &mut |s| match s == stop_at {
                    true => Err(Error::Internal("killed".into())),
                    false => Ok(()),
                },
            )
            .unwrap_err();
        assert!(matches!(e, Error::Internal(_)), "{stop_at:?}: {e}");
        let switched = !matches!(
            stop_at,
            Step::Marked | Step::Copied | Step::Staged | Step::Checked | Step::Ready
        );
        // Exactly one place opens the vault, and the other says why not.
        match switched {
            false => {
                assert_eq!(
                    f.secret(&f.vault()).unwrap(),
                    "secret-of-ftp",
                    "{stop_at:?}"
                );
                let e = f.secret(&f.moved()).unwrap_err();
                assert!(
                    matches!(e, Error::MigrationUnfinished { .. }),
                    "{stop_at:?}: {e}"
                );
                assert_eq!(e.exit_code(), 5);
            }
            true => {
                let e = f.secret(&f.vault()).unwrap_err();
                assert!(matches!(e, Error::Moved { .. }), "{stop_at:?}: {e}");
                assert_eq!(e.exit_code(), 5);
                match f.secret(&f.moved()) {
                    Ok(secret) => assert_eq!(secret, "secret-of-ftp", "{stop_at:?}"),
                    Err(e) => {
                        assert_eq!(stop_at, Step::Switched, "{e}");
                        assert!(matches!(e, Error::MigrationUnfinished { .. }), "{e}");
                    }
                }
            }
        }
        let report = f
            .vault()
            .migrate(f.target.clone(), &mut TestUi::new())
            .unwrap_or_else(|e| panic!("{stop_at:?}: second run: {e}"));
        assert_eq!(report.resumed, switched, "{stop_at:?}");
        f.assert_moved();
    }
}

/// A command on the target meets a move stopped after its switch and its
/// root: it works, and collects the marker and the staged root.
#[test]
fn a_command_on_the_target_collects_what_a_move_stopped_after_its_root_left() {
    let f = Fixture::new();
    let _ =
        f.vault()
            .migrate_with(f.target.clone(), &mut TestUi::new(), &mut |s| match s
                == Step::RootWritten
            {
                true => Err(Error::Internal("killed".into())),
                false => Ok(()),
            });
    assert!(f.target.exists(migrate::STAGED_ROOT).unwrap());
    f.moved().list(&mut TestUi::new(), true).unwrap();
    assert!(!f.target.exists(migrate::STAGED_ROOT).unwrap());
    assert!(!f.target.exists(migrate::MARKER).unwrap());
    // The change marker goes with the next writer, as after any interruption.
    f.moved()
        .freeze("acme", "checking", &mut TestUi::new())
        .unwrap();
    assert!(!f.target.exists(layout::CHANGING).unwrap());
}

#[test]
fn a_move_killed_between_its_lock_and_its_marker_is_taken_up_again() {
    use crate::store::etcd::client::{Client, EtcdConfig};
    use crate::store::etcd::test_cluster::TestCluster;
    let f = Fixture::new();
    // All a run killed right after it took the target's lock leaves: that
    // lock, on its dead client's lease (no marker yet).
    let address = f.target.address();
    let prefix = address.splitn(4, '/').nth(3).unwrap().to_owned();
    let raw = Client::connect(&EtcdConfig::new(TestCluster::shared().endpoints())).unwrap();
    let lease = raw.lease_grant(2).unwrap().id;
    raw.put(format!("{prefix}/vault.lock"), "held", Some(lease))
        .unwrap();
    // The next run waits for that lease to end, then moves the vault.
    f.vault()
        .migrate(f.target.clone(), &mut TestUi::new())
        .unwrap();
    assert_eq!(f.secret(&f.moved()).unwrap(), "secret-of-ftp");
    assert!(!f.dir().exists());
}

//! Readers on etcd hold nothing (they read a snapshot and append their
//! record without the trail's lock): several machines fetching at once while
//! another one writes all get their credential, every fetch is recorded
//! once, and the trail still verifies.

use std::cell::Cell;

use chrono::{TimeDelta, Utc};

use super::test_support::{bare_credential, TestClock, TestUi, FAST};
use super::*;
use crate::audit::{Action, Filter};
use crate::intervention::Kind;
use crate::store::etcd::client::{Client, EtcdConfig};
use crate::store::etcd::for_tests;
use crate::store::etcd::test_cluster::TestCluster;

/// A vault on another machine: its own client of the prefix, its own clock.
fn machine(prefix: &str) -> (crate::store::SharedStore, TestClock) {
    (
        std::sync::Arc::new(for_tests::open(TestCluster::shared(), prefix)),
        TestClock(Cell::new(Utc::now())),
    )
}

fn open_with(vault: &Vault<'_>, id: &str, names: &[&str]) {
    let now = Utc::now();
    let mut ui = TestUi::new();
    vault
        .open(
            &NewIntervention {
                id: id.into(),
                client: "Acme".into(),
                window: WindowSpec::Range {
                    from: Some(now - TimeDelta::minutes(1)),
                    until: now + TimeDelta::hours(1),
                },
                note: None,
            },
            &mut ui,
        )
        .unwrap();
    for name in names {
        vault
            .add(id, &bare_credential(name, Kind::Hosting), false, &mut ui)
            .unwrap();
    }
}

#[test]
fn readers_on_several_machines_hold_nothing_and_each_fetch_is_recorded_once() {
    const READERS: usize = 4;
    const FETCHES: usize = 4;
    let prefix = format!("readers/{}", format::Ref::random());
    {
        let (store, clock) = machine(&prefix);
        let vault = Vault::in_store(store, &clock);
        vault.init(FAST, &mut TestUi::new()).unwrap();
        open_with(&vault, "job", &["ftp", "cms"]);
    }
    std::thread::scope(|s| {
        for r in 0..READERS {
            let prefix = &prefix;
            s.spawn(move || {
                let (store, clock) = machine(prefix);
                let vault = Vault::in_store(store, &clock);
                for i in 0..FETCHES {
                    let name = ["ftp", "cms"][(r + i) % 2];
                    let got = vault.get("job", name, &mut TestUi::new());
                    let got = got.unwrap_or_else(|e| panic!("reader {r}, fetch {i}: {e}"));
                    assert_eq!(got.secret.expose(), format!("secret-of-{name}"));
                }
            });
        }
        // Meanwhile another machine writes: each of its commits changes the
        // root the readers read (they read again, and are recorded once).
        let prefix = &prefix;
        s.spawn(move || {
            let (store, clock) = machine(prefix);
            let vault = Vault::in_store(store, &clock);
            for k in 0..3 {
                open_with(&vault, &format!("other{k}"), &["ssh"]);
            }
        });
    });

    let (store, clock) = machine(&prefix);
    let vault = Vault::in_store(store, &clock);
    let view = vault.audit(&Filter::default(), &mut TestUi::new()).unwrap();
    let fetches = view
        .records
        .iter()
        .filter(|r| r.event.action == Action::Get && r.event.intervention.as_deref() == Some("job"))
        .count();
    assert_eq!(fetches, READERS * FETCHES, "each fetch recorded once");
    let verified = vault.audit_verify(&mut TestUi::new()).unwrap();
    assert!(verified.records as usize >= READERS * FETCHES);
    // No reader left a lock behind, nor took one: the cluster holds no
    // reader key of the vault's lock or of the trail's.
    let raw = Client::connect(&EtcdConfig::new(TestCluster::shared().endpoints())).unwrap();
    for lock in ["vault.lock#r/", "audit/audit.lock#r/"] {
        let held = raw
            .range_prefix(format!("{prefix}/{lock}"), true, None)
            .unwrap()
            .kvs;
        assert!(held.is_empty(), "{lock}: {held:?}");
    }
}

#[test]
fn a_fetch_after_a_close_elsewhere_is_refused_never_served_from_an_old_revision() {
    let prefix = format!("readers/{}", format::Ref::random());
    let (store, clock) = machine(&prefix);
    let vault = Vault::in_store(store, &clock);
    vault.init(FAST, &mut TestUi::new()).unwrap();
    open_with(&vault, "job", &["ftp"]);
    // A reader on one machine has read the vault (its client has seen it).
    let (reader_store, reader_clock) = machine(&prefix);
    let reader = Vault::in_store(reader_store, &reader_clock);
    reader.get("job", "ftp", &mut TestUi::new()).unwrap();
    // Another machine closes the intervention.
    vault.close("job", None, &mut TestUi::new()).unwrap();
    // The reader's next fetch reads the vault as it is now.
    let err = reader
        .get("job", "ftp", &mut TestUi::new())
        .expect_err("a closed intervention's credential was served");
    assert_eq!(err.exit_code(), 3, "{err}");
}

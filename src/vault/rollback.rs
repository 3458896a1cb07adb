//! Rollback detection: the sealed index carries a generation, one more at every
//! commit, and the highest generation this machine has seen of a vault is kept
//! outside its directory: in a state file (`$XDG_STATE_HOME/intervault/`) and, when
//! there is one, in the user's OS keyring (on Linux the persistent kernel keyring,
//! which every login session of the user reaches and which outlives logout, but
//! not a reboot or 3 days without any intervault command). A vault older than what was seen is an older
//! copy put back (a backup, a snapshot, a sync folder): it would bring back
//! interventions wiped since, so it is refused unless the user accepts it, and
//! then those interventions are wiped again first.
//!
//! Both copies carry an HMAC under a key derived from the master key, so nobody
//! without it can raise the generation (to lock the user out) or shorten the list
//! of what was wiped. Deleting both copies is possible for whoever can write them;
//! the first command after that starts again from the vault's own generation.
//! The MAC does not stop a replay: an older vault put back with its older state
//! file passes once the keyring copy is gone (docs/design.md, residual risks).
//!
//! A store that can be put back whole behind the vault's back (an etcd cluster
//! restored from a snapshot) also gives a [`Fingerprint`]: its ID and the
//! highest revision seen, kept with the generation. A revision lower than the
//! one seen, or another cluster, is refused the same way; normal use never
//! lowers it, since a cluster's revision only grows whoever writes. This also
//! catches what the generation alone cannot: a snapshot from after the last
//! change but before later records of the trail.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::crypto::{MacKey, SealKey, SecretText};
use crate::error::{Error, Result};
use crate::intervention::WipeReason;
use crate::os_keyring::SecretStore;
use crate::store::Fingerprint;

use super::format::{Index, Ref};
use super::fsio;
use super::Vault;
use crate::audit::{Action, Event, Outcome};

/// How long the keyring copy lives, where the keyring can make it vanish.
const KEYRING_TTL: Duration = Duration::from_secs(400 * 24 * 3600);

/// An intervention wiped at some generation: what `--accept-rollback` wipes again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WipedRef {
    /// Its opaque reference.
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// The generation that recorded the wipe.
    pub generation: u64,
    /// Why it was wiped.
    pub reason: WipeReason,
}

/// What was seen of a vault, as kept outside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    /// The highest generation seen.
    pub generation: u64,
    /// The interventions wiped, by reference.
    pub wiped: Vec<WipedRef>,
    /// The store it was in and how far its history had gone (absent for a
    /// directory, and in records from before etcd stores: the MAC then covers
    /// what it always covered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Fingerprint>,
    /// In this command only: the store that was put back, accepted (for the
    /// audit record of the acceptance).
    #[serde(skip)]
    pub store_accepted: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    version: u32,
    generation: u64,
    wiped: Vec<WipedRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    store: Option<Fingerprint>,
    mac: String,
}

fn mac_key(master: &SealKey) -> MacKey {
    MacKey::derive(master, "intervault rollback state v1")
}

fn message(seen: &Seen) -> Vec<u8> {
    // Plain structs of strings and numbers always serialize.
    serde_json::to_vec(seen).unwrap_or_default()
}

/// Where a vault's last seen generation is kept: the state file and the keyring
/// account, either of which may be absent; and whether an older vault is accepted.
#[derive(Clone)]
pub(super) struct SeenStore<'a> {
    pub file: Option<std::path::PathBuf>,
    pub keyring: Option<(&'a dyn SecretStore, String)>,
    pub accept_rollback: bool,
}

impl SeenStore<'_> {
    /// The most that was seen, from both copies (an altered copy is an error).
    pub fn load(&self, master: &SealKey) -> Result<Seen> {
        let key = mac_key(master);
        let mut best = Seen::default();
        let mut take = |text: &[u8], whence: &str| -> Result<()> {
            let stored: Stored =
                serde_json::from_slice(text).map_err(|_| altered(whence, "it is malformed"))?;
            let seen = Seen {
                generation: stored.generation,
                wiped: stored.wiped,
                store: stored.store,
                store_accepted: None,
            };
            if stored.version != 1 || !key.verify(&message(&seen), &stored.mac) {
                return Err(altered(whence, "its MAC does not match this vault"));
            }
            if seen.generation >= best.generation {
                let mut wiped = seen.wiped;
                for w in std::mem::take(&mut best.wiped) {
                    if !wiped.iter().any(|x| x.reference == w.reference) {
                        wiped.push(w);
                    }
                }
                // Of two copies at one generation, the further one.
                let store = match (seen.store, best.store) {
                    (Some(a), Some(b)) if seen.generation == best.generation && a.id == b.id => {
                        Some(if a.revision >= b.revision { a } else { b })
                    }
                    (a, b) => a.or(b),
                };
                best = Seen {
                    generation: seen.generation,
                    wiped,
                    store,
                    store_accepted: None,
                };
            }
            Ok(())
        };
        if let Some(path) = &self.file {
            match fsio::read_checked(path) {
                Ok(bytes) => take(&bytes, &path.display().to_string())?,
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if let Some((store, account)) = &self.keyring {
            if let Ok(Some(text)) = store.load(account) {
                take(text.expose().as_bytes(), "the OS keyring's copy")?;
            }
        }
        Ok(best)
    }

    /// Keeps `seen` in both places. Best effort: the command has succeeded, and
    /// a copy that cannot be written only weakens the next check.
    pub fn save(&self, master: &SealKey, seen: &Seen) {
        let Some(text) = stored_text(master, seen) else {
            return;
        };
        if let Some(path) = &self.file {
            if let Some(dir) = path.parent() {
                if fsio::create_private_dir(dir).is_ok() {
                    let _ = fsio::write_atomic(path, text.as_bytes());
                }
            }
        }
        if let Some((store, account)) = &self.keyring {
            // The kernel keyring counts every byte against the user's quota
            // (20,000 bytes by default): the keyring copy keeps the generation
            // and only the latest wipes.
            let latest = Seen {
                generation: seen.generation,
                wiped: seen.wiped[seen.wiped.len().saturating_sub(KEYRING_WIPED)..].to_vec(),
                store: seen.store,
                store_accepted: None,
            };
            if let Some(text) = stored_text(master, &latest) {
                let _ = store.save(account, &SecretText::new(text), KEYRING_TTL);
            }
        }
    }
}

/// The most wiped references in the keyring copy.
const KEYRING_WIPED: usize = 16;

fn stored_text(master: &SealKey, seen: &Seen) -> Option<String> {
    let stored = Stored {
        version: 1,
        generation: seen.generation,
        wiped: seen.wiped.clone(),
        store: seen.store,
        mac: mac_key(master).tag(&message(seen)),
    };
    serde_json::to_string(&stored).ok()
}

fn altered(whence: &str, what: &str) -> Error {
    Error::Input {
        what: format!(
            "the record of the last vault generation seen, {whence}, was altered ({what})"
        ),
        fix: "if you trust this vault, delete that record and run the command again".into(),
        code: 6,
    }
}

/// The most wiped references kept (the oldest go first).
const MAX_WIPED: usize = 10_000;

impl<'c> Vault<'c> {
    /// Where this vault's last seen generation is kept.
    pub(super) fn seen_store(&self) -> SeenStore<'c> {
        let account = self.session_account();
        SeenStore {
            file: self
                .state_dir
                .as_ref()
                .map(|dir| dir.join(format!("{account}.json"))),
            keyring: self
                .seen_records
                .map(|store| (store, format!("{account}-seen"))),
            accept_rollback: self.accept_rollback,
        }
    }
}

/// Refuses a vault at `generation` in `store` older than what `seen` says
/// (or in another store), unless `accept`: then `seen` notes what was
/// accepted, so that the opening wipes again what was wiped since and the
/// next commit keeps the store as it is now.
pub(super) fn check(
    seen: &mut Seen,
    generation: u64,
    store: Option<Fingerprint>,
    accept: bool,
) -> Result<()> {
    if let (Some(was), Some(now)) = (seen.store, store) {
        let put_back = if now.id != was.id {
            Some((
                format!(
                    "the vault's etcd cluster is not the one this machine has seen: cluster {:016x} answers, where cluster {:016x} was seen; either it was rebuilt from a snapshot, which would bring back interventions wiped since, or this is not the vault seen before",
                    now.id, was.id
                ),
                format!("cluster {:016x} accepted where {:016x} was seen", now.id, was.id),
            ))
        } else if now.revision < was.revision {
            Some((
                format!(
                    "the vault's etcd cluster went back in time: it is at revision {}, but this machine has seen revision {}; it was restored from an older snapshot, which would bring back interventions wiped since",
                    now.revision, was.revision
                ),
                format!(
                    "cluster revision {} accepted where {} was seen",
                    now.revision, was.revision
                ),
            ))
        } else {
            None
        };
        if let Some((what, accepted)) = put_back {
            if !accept {
                return Err(Error::StoreRolledBack { what });
            }
            seen.store_accepted = Some(accepted);
        }
    }
    if generation < seen.generation && !accept {
        return Err(Error::RolledBack {
            found: generation,
            seen: seen.generation,
        });
    }
    Ok(())
}

/// Whether the opening accepts an older copy or another store (see [`check`]).
pub(super) fn put_back(seen: &Seen, generation: u64) -> bool {
    generation < seen.generation || seen.store_accepted.is_some()
}

/// The live interventions of `index` that an accepted older copy must wipe
/// again: those `seen` says were wiped since, by ID, with why.
pub(super) fn wiped_since(index: &Index, seen: &Seen) -> Vec<(String, WipeReason)> {
    index
        .interventions
        .iter()
        .filter_map(|m| {
            let w = seen.wiped.iter().find(|w| w.reference == m.reference)?;
            Some((m.id.clone(), w.reason))
        })
        .collect()
}

/// The audit event of an older copy accepted at generation `found` where
/// `seen` was seen, with `wiped_again` interventions wiped again.
pub(super) fn acceptance_event(found: u64, seen: &Seen, wiped_again: usize) -> Event {
    let mut e = Event::new(Action::RollbackAccepted, Outcome::Done);
    e.count = Some(wiped_again as u64);
    let generations = format!(
        "generation {found} accepted where {} was seen",
        seen.generation
    );
    e.reason = Some(match &seen.store_accepted {
        Some(store) => format!("{store}; {generations}"),
        None => generations,
    });
    e
}

/// What is seen of the vault after a commit at `generation`, in `store` as
/// it is now, that wiped `new_wipes` (the oldest wipes go past [`MAX_WIPED`]).
pub(super) fn seen_after(
    seen: Seen,
    generation: u64,
    store: Option<Fingerprint>,
    new_wipes: impl IntoIterator<Item = (Ref, WipeReason)>,
) -> Seen {
    let mut wiped = seen.wiped;
    for (reference, reason) in new_wipes {
        if !wiped.iter().any(|w| w.reference == reference) {
            wiped.push(WipedRef {
                reference,
                generation,
                reason,
            });
        }
    }
    if wiped.len() > MAX_WIPED {
        wiped.drain(..wiped.len() - MAX_WIPED);
    }
    Seen {
        generation: generation.max(seen.generation),
        wiped,
        store,
        store_accepted: None,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::store::etcd::client::{Client, EtcdConfig};
    use crate::store::etcd::test_cluster::{Options, TestCluster};
    use crate::store::etcd::{for_tests, EtcdStore};
    use crate::vault::test_support::{at, bare_credential, TestClock, TestUi, FAST};
    use crate::vault::{NewIntervention, WindowSpec};

    fn fingerprint(id: u64, revision: i64) -> Option<Fingerprint> {
        Some(Fingerprint { id, revision })
    }

    fn seen_in(store: Option<Fingerprint>) -> Seen {
        Seen {
            generation: 5,
            store,
            ..Seen::default()
        }
    }

    #[test]
    fn a_record_from_before_etcd_stores_still_loads_and_keeps_its_mac() {
        let master = SealKey::generate();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.json");
        // Exactly what the code before fingerprints wrote, MAC included.
        let mac = mac_key(&master).tag(br#"{"generation":3,"wiped":[]}"#);
        let old = format!(r#"{{"version":1,"generation":3,"wiped":[],"mac":"{mac}"}}"#);
        fsio::write_atomic(&file, old.as_bytes()).unwrap();
        let seen_store = SeenStore {
            file: Some(file.clone()),
            keyring: None,
            accept_rollback: false,
        };
        let seen = seen_store.load(&master).unwrap();
        assert_eq!((seen.generation, seen.store), (3, None));
        // A directory's record is written as it always was.
        seen_store.save(&master, &seen);
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(!written.contains("store"), "{written}");
        // An etcd vault's record carries its fingerprint, under the MAC.
        let etcd = seen_after(seen, 4, fingerprint(7, 120), []);
        seen_store.save(&master, &etcd);
        assert_eq!(seen_store.load(&master).unwrap().store, fingerprint(7, 120));
        let forged = std::fs::read_to_string(&file).unwrap().replace("120", "12");
        std::fs::write(&file, forged).unwrap();
        assert!(matches!(
            seen_store.load(&master),
            Err(Error::Input { code: 6, .. })
        ));
    }

    #[test]
    fn a_store_older_than_seen_or_another_one_is_refused_unless_accepted() {
        let refused = |seen: Option<Fingerprint>, now: Option<Fingerprint>| match check(
            &mut seen_in(seen),
            5,
            now,
            false,
        ) {
            Err(Error::StoreRolledBack { what }) => Some(what),
            Ok(()) => None,
            Err(other) => panic!("{other:?}"),
        };
        // Normal use: the revision grew; a directory has none.
        assert_eq!(refused(fingerprint(7, 100), fingerprint(7, 100)), None);
        assert_eq!(refused(fingerprint(7, 100), fingerprint(7, 250)), None);
        assert_eq!(refused(None, None), None);
        // First time seen in a store: nothing to compare.
        assert_eq!(refused(None, fingerprint(7, 1)), None);
        let older = refused(fingerprint(7, 100), fingerprint(7, 99)).unwrap();
        assert!(older.contains("revision 99") && older.contains("revision 100"));
        let other = refused(fingerprint(7, 100), fingerprint(8, 500)).unwrap();
        assert!(other.contains("not the vault seen before"), "{other}");
        // Accepted: noted, so that the opening re-records it.
        let mut seen = seen_in(fingerprint(7, 100));
        check(&mut seen, 5, fingerprint(8, 3), true).unwrap();
        assert!(put_back(&seen, 5));
        let event = acceptance_event(5, &seen, 0);
        assert!(event
            .reason
            .unwrap()
            .starts_with("cluster 0000000000000008 accepted"));
        // The generation is still checked on its own.
        assert!(matches!(
            check(&mut seen_in(fingerprint(7, 1)), 4, fingerprint(7, 2), false),
            Err(Error::RolledBack { found: 4, seen: 5 })
        ));
    }

    /// A vault under `prefix` of a cluster, each command a new process: a
    /// store (and client) of its own, the same state directory.
    struct Machine<'t> {
        cluster: &'t TestCluster,
        prefix: String,
        address: String,
        state: tempfile::TempDir,
        clock: TestClock,
    }

    impl<'t> Machine<'t> {
        fn new(cluster: &'t TestCluster) -> Self {
            let prefix = format!("rb/{}", Ref::random());
            Machine {
                cluster,
                address: format!("etcd://{}/{prefix}", cluster.endpoints().join(",")),
                prefix,
                state: tempfile::tempdir().unwrap(),
                clock: TestClock(Cell::new(at("2026-12-01T09:00:00Z"))),
            }
        }

        /// Another machine of the agency: the same vault, its own state.
        fn another(&self) -> Self {
            Machine {
                cluster: self.cluster,
                prefix: self.prefix.clone(),
                address: self.address.clone(),
                state: tempfile::tempdir().unwrap(),
                clock: TestClock(Cell::new(self.clock.0.get())),
            }
        }

        fn vault(&self) -> Vault<'_> {
            let config = EtcdConfig::new(self.cluster.endpoints());
            let client = Client::connect(&config).unwrap();
            // The address the user gives, whatever cluster answers at it.
            let store = EtcdStore::new(client, &self.prefix, self.address.clone());
            Vault::in_store(std::sync::Arc::new(store), &self.clock)
                .with_state_dir(self.state.path().to_owned())
        }

        fn open(&self, id: &str) {
            let new = NewIntervention {
                id: id.into(),
                client: "Acme".into(),
                window: WindowSpec::For(chrono::TimeDelta::hours(2)),
                note: None,
            };
            self.vault().open(&new, &mut TestUi::new()).unwrap();
            let cred = bare_credential("ftp", crate::intervention::Kind::Hosting);
            self.vault()
                .add(id, &cred, false, &mut TestUi::new())
                .unwrap();
        }

        fn get(&self, vault: Vault<'_>, id: &str) -> Result<()> {
            vault.get(id, "ftp", &mut TestUi::new()).map(|_| ())
        }
    }

    fn refused(outcome: Result<()>, words: &str) {
        match outcome {
            Err(Error::StoreRolledBack { what }) => assert!(what.contains(words), "{what}"),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_cluster_restored_from_a_snapshot_is_refused_until_accepted() {
        let cluster = TestCluster::start(Options::default());
        let m = Machine::new(&cluster);
        m.vault().init(FAST, &mut TestUi::new()).unwrap();
        m.open("a");
        m.open("b");
        let snapshots = tempfile::tempdir().unwrap();
        let before_a = snapshots.path().join("1.db");
        cluster.snapshot_save(&before_a);
        m.vault().close("a", None, &mut TestUi::new()).unwrap();

        // Restored keeping the cluster's ID: its revision went back.
        cluster.restore_snapshot(&before_a, true);
        refused(m.get(m.vault(), "b"), "went back in time");
        refused(m.get(m.vault(), "a"), "went back in time");
        // Accepted: what was wiped since is wiped again, and it is recorded.
        m.get(m.vault().accepting_rollback(), "b").unwrap();
        assert!(matches!(m.get(m.vault(), "a"), Err(Error::Wiped { .. })));
        m.get(m.vault(), "b").unwrap();

        // Restored with a new cluster ID (etcdctl's default).
        let before_b = snapshots.path().join("2.db");
        cluster.snapshot_save(&before_b);
        m.vault().close("b", None, &mut TestUi::new()).unwrap();
        cluster.restore_snapshot(&before_b, false);
        refused(m.get(m.vault(), "b"), "not the vault seen before");
        m.vault()
            .accepting_rollback()
            .list(&mut TestUi::new(), true)
            .unwrap();
        assert!(matches!(m.get(m.vault(), "b"), Err(Error::Wiped { .. })));
        assert!(m
            .vault()
            .list(&mut TestUi::new(), false)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn another_cluster_at_the_same_address_is_not_the_vault_seen_before() {
        let first = TestCluster::start(Options::default());
        let m = Machine::new(&first);
        m.vault().init(FAST, &mut TestUi::new()).unwrap();
        m.open("a");
        // The same vault, copied key by key into another cluster that now
        // answers at the address this machine uses.
        let from = for_tests::open(&first, &m.prefix);
        let to = for_tests::open(TestCluster::shared(), &m.prefix);
        let kvs = from
            .client()
            .range_prefix(format!("{}/", m.prefix), false, None)
            .unwrap()
            .kvs;
        for kv in kvs {
            to.client().put(&kv.key, &kv.value, None).unwrap();
        }
        let moved = Machine {
            cluster: TestCluster::shared(),
            ..m
        };
        refused(moved.get(moved.vault(), "a"), "not the vault seen before");
        moved.get(moved.vault().accepting_rollback(), "a").unwrap();
        moved.get(moved.vault(), "a").unwrap();
    }

    #[test]
    fn machines_taking_turns_never_trip_the_check() {
        let a = Machine::new(TestCluster::shared());
        a.vault().init(FAST, &mut TestUi::new()).unwrap();
        let b = a.another();
        for i in 0..3 {
            a.open(&format!("a{i}"));
            b.open(&format!("b{i}"));
            a.get(a.vault(), &format!("b{i}")).unwrap();
            b.get(b.vault(), &format!("a{i}")).unwrap();
        }
        b.vault().close("a0", None, &mut TestUi::new()).unwrap();
        assert_eq!(a.vault().list(&mut TestUi::new(), false).unwrap().len(), 5);
    }
}

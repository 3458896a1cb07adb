//! The in-process hot paths, with criterion: opening the vault with a key already
//! at hand (an unlocked session), the access decision, sealing and opening one
//! intervention's credentials, and a wipe; `get` and `add` at two vault sizes.
//! Real files in a temporary directory, real age, a fast KDF (the KDF is measured
//! on its own by benches/unlock-cost.sh).

// A bench stops at once on a broken setup, like a test.
#![allow(clippy::expect_used)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use intervault::clock::SystemClock;
use intervault::crypto::{KdfParams, SealKey, SecretText};
use intervault::intervention::{may_fetch, Kind, State, Window};
use intervault::session_store::SessionStore;
use intervault::vault::{
    Interaction, NewCredential, NewIntervention, Notice, PassphrasePurpose, Vault, WindowSpec,
};

/// Answers with a fixed passphrase and secret.
struct Ui;

impl Interaction for Ui {
    fn passphrase(&mut self, _: PassphrasePurpose) -> intervault::Result<SecretText> {
        Ok(SecretText::new("bench".into()))
    }
    fn secret(&mut self, _: &str, name: &str) -> intervault::Result<SecretText> {
        Ok(SecretText::new(format!("secret-of-{name}")))
    }
    fn totp_seed(&mut self, _: &str, _: &str) -> intervault::Result<SecretText> {
        Ok(SecretText::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into()))
    }
    fn notice(&mut self, _: Notice) {}
    fn confirm(&mut self, _: &intervault::vault::Destruction) -> intervault::Result<bool> {
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

const FAST: KdfParams = KdfParams {
    memory_kib: 8 * 1024,
    iterations: 1,
    parallelism: 1,
};

fn open(v: &Vault, id: &str, credentials: usize) {
    let new = NewIntervention {
        id: id.into(),
        client: "Acme SARL".into(),
        window: WindowSpec::For(TimeDelta::days(1)),
        note: None,
    };
    v.open(&new, &mut Ui).expect("open");
    for i in 0..credentials {
        let cred = NewCredential {
            name: format!("c{i}"),
            kind: Kind::Hosting,
            url: Some("https://example.org".into()),
            user: Some("admin".into()),
            note: None,
            totp: false,
            max_uses: None,
        };
        v.add(id, &cred, false, &mut Ui).expect("add");
    }
}

/// A vault of `interventions` interventions of 10 credentials, unlocked in `store`.
fn filled<'s>(dir: &std::path::Path, store: &'s Memory, interventions: usize) -> Vault<'s> {
    let v = Vault::new(dir.to_owned(), &SystemClock).with_sessions(store);
    v.init(FAST, &mut Ui).expect("init");
    v.unlock(Some(TimeDelta::hours(1)), &mut Ui)
        .expect("unlock");
    for n in 0..interventions {
        open(&v, &format!("i{n}"), 10);
    }
    v
}

/// `get` and `add --replace` with 100 and 10,000 credentials: a command on one
/// intervention reads the index core and that intervention's record, whatever the
/// size of the vault.
fn scale_benches(c: &mut Criterion) {
    let replaced = NewCredential {
        name: "c9".into(),
        kind: Kind::Hosting,
        url: None,
        user: None,
        note: None,
        totp: false,
        max_uses: None,
    };
    for interventions in [10, 1000] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Memory::default();
        let dir = tmp.path().join("v");
        filled(&dir, &store, interventions);
        let credentials = interventions * 10;
        let fresh = || Vault::new(dir.clone(), &SystemClock).with_sessions(&store);
        c.bench_function(&format!("get, {credentials} credentials"), |b| {
            b.iter(|| fresh().get("i5", "c5", &mut Ui).expect("get"))
        });
        c.bench_function(&format!("add --replace, {credentials} credentials"), |b| {
            b.iter(|| fresh().add("i5", &replaced, true, &mut Ui).expect("add"))
        });
    }
}

fn vault_benches(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Memory::default();
    let v = filled(&tmp.path().join("v"), &store, 10);

    // Each iteration is a fresh Vault, as a command is: the master key comes from
    // the session, not from a cache of an earlier call.
    c.bench_function("get with an unlocked session (100 credentials)", |b| {
        b.iter(|| {
            let v = Vault::new(tmp.path().join("v"), &SystemClock).with_sessions(&store);
            v.get("i5", "c5", &mut Ui).expect("get")
        })
    });
    c.bench_function("list with an unlocked session", |b| {
        b.iter(|| {
            let v = Vault::new(tmp.path().join("v"), &SystemClock).with_sessions(&store);
            v.list(&mut Ui, false).expect("list")
        })
    });
    let mut n = 0;
    c.bench_function(
        "wipe: open an intervention with 10 credentials, then close it",
        |b| {
            b.iter_batched(
                || {
                    n += 1;
                    let id = format!("w{n}");
                    open(&v, &id, 10);
                    id
                },
                |id| {
                    let v = Vault::new(tmp.path().join("v"), &SystemClock).with_sessions(&store);
                    v.close(&id, None, &mut Ui).expect("close")
                },
                BatchSize::PerIteration,
            )
        },
    );
}

fn pure_benches(c: &mut Criterion) {
    let now = Utc::now();
    let window =
        Window::new(now - TimeDelta::hours(1), now + TimeDelta::hours(1), now).expect("window");
    c.bench_function("access decision (may_fetch)", |b| {
        b.iter(|| may_fetch("acme", State::Live(window), now, now))
    });
    // One intervention's credentials as the vault seals them: ten of them.
    let set: String = (0..10)
        .map(|i| format!(r#"{{"name":"c{i}","kind":"hosting","url":"https://example.org","user":"admin","secret":"s3cr3t-{i}"}}"#))
        .collect::<Vec<_>>()
        .join(",");
    let plain = format!(
        r#"{{"ref":"00000000000000000000000000000000","generation":1,"credentials":[{set}]}}"#
    );
    let key = SealKey::generate();
    c.bench_function("seal one intervention's credentials (10)", |b| {
        b.iter(|| key.seal(plain.as_bytes()).expect("seal"))
    });
    let sealed = key.seal(plain.as_bytes()).expect("seal");
    c.bench_function("open one intervention's credentials (10)", |b| {
        b.iter(|| key.open(&sealed).expect("open"))
    });
}

criterion_group!(benches, pure_benches, vault_benches, scale_benches);
criterion_main!(benches);

//! Test doubles shared by the library's vault tests: a clock moved by hand and an
//! `Interaction` that answers fixed values and records notices.

use std::cell::Cell;

use chrono::{DateTime, Utc};

use super::{Destruction, Interaction, Notice, PassphrasePurpose};
use crate::clock::Clock;
use crate::crypto::{KdfParams, SecretText};
use crate::error::{Error, Result};

/// A clock the test moves by hand.
pub(super) struct TestClock(pub(super) Cell<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.get()
    }
}

/// Answers with a fixed passphrase and secret, and records notices. When it has a
/// lock path, it records whether the vault lock was free each time it was asked
/// something (nobody must wait on a vault while its user types).
pub(super) struct TestUi {
    pub(super) passphrase: Option<&'static str>,
    pub(super) notices: Vec<Notice>,
    pub(super) lock_path: Option<crate::store::SharedStore>,
    pub(super) asked_while_locked: usize,
    /// The answer to every confirmation question, and the questions asked.
    pub(super) answer: bool,
    pub(super) confirmed: Vec<Destruction>,
}

impl TestUi {
    pub(super) fn new() -> Self {
        TestUi {
            passphrase: Some("pw"),
            notices: Vec::new(),
            lock_path: None,
            asked_while_locked: 0,
            answer: true,
            confirmed: Vec::new(),
        }
    }

    pub(super) fn keyless() -> Self {
        TestUi {
            passphrase: None,
            ..TestUi::new()
        }
    }

    /// Whether this command told of an expiry wipe.
    pub(super) fn told_expired(&self) -> bool {
        self.notices.iter().any(|n| matches!(n, Notice::Expired(_)))
    }

    fn note_lock(&mut self) {
        if let Some(store) = &self.lock_path {
            if store
                .try_lock_now("vault.lock", crate::store::LockMode::Exclusive)
                .is_none()
            {
                self.asked_while_locked += 1;
            }
        }
    }
}

impl Interaction for TestUi {
    fn passphrase(&mut self, purpose: PassphrasePurpose) -> Result<SecretText> {
        if purpose != PassphrasePurpose::UnlockIfAvailable {
            self.note_lock();
        }
        self.passphrase
            .map(|p| SecretText::new(p.into()))
            .ok_or_else(|| Error::NoPassphrase {
                hint: "test".into(),
            })
    }
    fn secret(&mut self, _: &str, name: &str) -> Result<SecretText> {
        self.note_lock();
        Ok(SecretText::new(format!("secret-of-{name}")))
    }
    fn totp_seed(&mut self, _: &str, _: &str) -> Result<SecretText> {
        self.note_lock();
        Ok(SecretText::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into()))
    }
    fn notice(&mut self, notice: Notice) {
        self.notices.push(notice);
    }
    fn confirm(&mut self, what: &Destruction) -> Result<bool> {
        self.note_lock();
        self.confirmed.push(what.clone());
        Ok(self.answer)
    }
}

pub(super) const FAST: KdfParams = KdfParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

pub(super) fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test time")
}

/// A session store kept in memory: a stand-in for the OS keyring in library
/// tests (the real keyring is tested by the integration tests).
#[derive(Default)]
pub(super) struct MemoryStore(
    pub(super) std::cell::RefCell<std::collections::HashMap<String, String>>,
);

impl crate::session_store::SessionStore for MemoryStore {
    fn save(&self, account: &str, record: &SecretText, _: std::time::Duration) -> Result<()> {
        self.0
            .borrow_mut()
            .insert(account.into(), record.expose().into());
        Ok(())
    }
    fn load(&self, account: &str) -> Result<Option<SecretText>> {
        Ok(self.0.borrow().get(account).cloned().map(SecretText::new))
    }
    fn forget(&self, account: &str) -> Result<bool> {
        Ok(self.0.borrow_mut().remove(account).is_some())
    }
}

/// A credential with only a name and a kind.
pub(super) fn bare_credential(name: &str, kind: crate::intervention::Kind) -> super::NewCredential {
    super::NewCredential {
        name: name.into(),
        kind,
        url: None,
        user: None,
        note: None,
        totp: false,
        max_uses: None,
    }
}

/// The store the library's vault tests run on: the directory store, or, with
/// `INTERVAULT_TEST_STORE=etcd` (as `scripts/test.sh` runs them a second
/// time), a fresh prefix of a real three-member etcd cluster started on
/// loopback, so that one suite specifies the vault's behaviour for both.
pub(super) fn test_store(dir: &std::path::Path) -> crate::store::SharedStore {
    if on_etcd() {
        return crate::store::etcd::for_tests::fresh_prefix();
    }
    std::sync::Arc::new(crate::store::dir::DirStore::new(dir))
}

/// Whether the vault tests run on etcd (see [`test_store`]); tests that look
/// at the files of a directory vault check nothing more there.
pub(super) fn on_etcd() -> bool {
    std::env::var_os("INTERVAULT_TEST_STORE").is_some_and(|v| v == "etcd")
}

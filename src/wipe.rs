//! What is left after a wipe: tombstones and their receipts.
//!
//! A receipt's digest lets anyone check, without intervault, what was wiped and
//! when. It is `sha256:` and the hex SHA-256 of the tombstone's canonical form: the
//! UTF-8 bytes of this compact JSON object, keys in this order, no spaces, times in
//! RFC 3339 UTC with `Z` and whole seconds, names sorted bytewise, JSON string
//! escaping as RFC 8259 with `/` not escaped and non-ASCII left as UTF-8:
//!
//! ```text
//! {"receipt":"intervault-wipe-v1","id":"acme-site","client":"Acme SARL",
//!  "from":"2026-12-01T08:00:00Z","until":"2026-12-05T17:00:00Z",
//!  "wiped_at":"2026-12-03T10:15:00Z","reason":"closed","credentials":2,
//!  "names":["ftp","wp-admin"]}
//! ```
//! (one line in reality). `docs/receipts.md` shows how to recompute it with `jq`
//! and `sha256sum`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::intervention::{Ref, Window, WipeReason};
use crate::timefmt::format_utc;

/// What remains of a wiped intervention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tombstone {
    /// Its ID, reserved for as long as the tombstone exists.
    pub id: String,
    /// Its opaque reference (as reported by a keyless sweep).
    #[serde(rename = "ref")]
    pub reference: Ref,
    /// The client's name.
    pub client: String,
    /// Its last window.
    pub window: Window,
    /// When its key and credentials were destroyed.
    pub wiped_at: DateTime<Utc>,
    /// Why.
    pub reason: WipeReason,
    /// Names of the credentials destroyed, sorted.
    pub names: Vec<String>,
    /// The receipt digest, `sha256:...`.
    pub receipt: String,
    /// Whether `client` is the pseudonym `client erase` put in place of the name
    /// (the receipt was computed with the name, which only the client still has).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_erased: bool,
}

#[derive(Serialize)]
struct Canonical<'a> {
    receipt: &'static str,
    id: &'a str,
    client: &'a str,
    from: String,
    until: String,
    wiped_at: String,
    reason: WipeReason,
    credentials: usize,
    names: &'a [String],
}

impl Tombstone {
    /// Builds the tombstone of an intervention wiped at `wiped_at`, and its receipt.
    pub fn new(
        id: &str,
        reference: Ref,
        client: &str,
        window: Window,
        wiped_at: DateTime<Utc>,
        reason: WipeReason,
        mut names: Vec<String>,
    ) -> Self {
        names.sort();
        let mut t = Tombstone {
            id: id.to_owned(),
            reference,
            client: client.to_owned(),
            window,
            wiped_at,
            reason,
            names,
            receipt: String::new(),
            client_erased: false,
        };
        t.receipt = crate::crypto::sha256_tagged(t.canonical_form().as_bytes());
        t
    }

    /// The canonical form the receipt digest is computed over.
    pub fn canonical_form(&self) -> String {
        let c = Canonical {
            receipt: "intervault-wipe-v1",
            id: &self.id,
            client: &self.client,
            from: format_utc(self.window.from),
            until: format_utc(self.window.until),
            wiped_at: format_utc(self.wiped_at),
            reason: self.reason,
            credentials: self.names.len(),
            names: &self.names,
        };
        serde_json::to_string(&c).unwrap_or_default()
    }

    /// Whether the stored receipt matches the tombstone's fields.
    pub fn receipt_is_valid(&self) -> bool {
        crate::crypto::sha256_tagged(self.canonical_form().as_bytes()) == self.receipt
    }
}

/// A wipe as reported by `close`, `sweep` and expiry notices. A wipe done without
/// the passphrase knows only its reference, reason and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WipeRecord {
    /// The intervention's opaque reference.
    pub reference: Ref,
    /// Why.
    pub reason: WipeReason,
    /// When.
    pub wiped_at: DateTime<Utc>,
    /// The full tombstone, when the vault was unlocked.
    pub tombstone: Option<Tombstone>,
    /// Whether the destruction of its key is still pending (the key store
    /// could not be reached): the wipe is not complete until it is done.
    pub key_pending: bool,
}

impl From<Tombstone> for WipeRecord {
    fn from(t: Tombstone) -> Self {
        WipeRecord {
            reference: t.reference.clone(),
            reason: t.reason,
            wiped_at: t.wiped_at,
            tombstone: Some(t),
            key_pending: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn sample() -> Tombstone {
        Tombstone::new(
            "acme-site",
            Ref::parse("00112233445566778899aabbccddeeff").unwrap(),
            "Acme SARL",
            Window {
                from: at("2026-12-01T08:00:00Z"),
                until: at("2026-12-05T17:00:00Z"),
            },
            at("2026-12-03T10:15:00Z"),
            WipeReason::Closed,
            vec!["wp-admin".into(), "ftp".into()],
        )
    }

    /// The canonical form is a contract: receipts given to clients must stay
    /// verifiable. This pins it byte for byte, with its digest computed by
    /// `printf %s '<form>' | sha256sum`.
    #[test]
    fn canonical_form_is_pinned() {
        let t = sample();
        assert_eq!(
            t.canonical_form(),
            r#"{"receipt":"intervault-wipe-v1","id":"acme-site","client":"Acme SARL","from":"2026-12-01T08:00:00Z","until":"2026-12-05T17:00:00Z","wiped_at":"2026-12-03T10:15:00Z","reason":"closed","credentials":2,"names":["ftp","wp-admin"]}"#
        );
        assert_eq!(
            t.receipt,
            "sha256:017b9c0e30ab2acc821a5e856be1821fa0a3ef810cdefbd810ff05750470f110"
        );
    }

    #[test]
    fn any_field_change_breaks_the_receipt() {
        let mut t = sample();
        assert!(t.receipt_is_valid());
        t.client.push('!');
        assert!(!t.receipt_is_valid());
    }
}

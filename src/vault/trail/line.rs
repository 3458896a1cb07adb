//! One line of `audit.log`: its three shapes, how each is written, and how a line
//! is parsed, hashed and authenticated.
//!
//! Every line is one compact JSON object, fields in this order:
//! - sealed (written with the key):
//!   `{"seq":N,"prev":H,"at":T,"sealed":B64,"mac":M}`, where `sealed` is the event
//!   age-encrypted to the master key, and `mac` the HMAC-SHA256, under the trail
//!   key, of the line's bytes up to (not including) `,"mac":`;
//! - pending (written by a keyless command):
//!   `{"seq":N,"prev":H,"at":T,"pending":{"action":A,"ref":R?,"count":C?}}`;
//! - checkpoint (only ever the first line, left by pruning):
//!   `{"seq":N,"at":T,"checkpoint":H,"pruned":C,"mac":M}`: records up to N were
//!   pruned; H is the hash of record N, which record N+1 names as its `prev`.
//!
//! A line's hash is the hex SHA-256 of its bytes (without the newline); `prev` is
//! the previous line's hash, [`GENESIS`] for record 1.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::Action;
use crate::crypto::{hex, MacKey};

/// The `prev` of record 1.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const MAC_FIELD: &[u8] = b",\"mac\":\"";

/// What a keyless command records: no names, nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// `expired`, `sweep`, `lock` or `passphrase_refused`.
    pub action: Action,
    /// The opaque reference of a wiped intervention.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// How many (a sweep's wipes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl Pending {
    fn allowed(&self) -> bool {
        matches!(
            self.action,
            Action::Expired | Action::Sweep | Action::Lock | Action::PassphraseRefused
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
    at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<Pending>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pruned: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
}

/// What a line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An event sealed with the key (base64 age file).
    Sealed(String),
    /// A keyless record.
    Pending(Pending),
    /// Records up to `seq` were pruned; the last one hashed to `hash`.
    Checkpoint {
        /// The hash of the last pruned record.
        hash: String,
        /// How many records were pruned in all.
        pruned: u64,
    },
}

/// A parsed line.
#[derive(Debug, Clone)]
pub struct Line {
    /// Its number (for a checkpoint: the last pruned record's).
    pub seq: u64,
    /// The previous line's hash (none for a checkpoint).
    pub prev: Option<String>,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// What it holds.
    pub kind: Kind,
    /// Its hash.
    pub hash: String,
    mac: Option<String>,
}

/// The hex SHA-256 of a line's bytes.
pub fn hash(raw: &[u8]) -> String {
    hex(&Sha256::digest(raw))
}

fn is_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Line {
    /// Parses one line (without its newline); the error completes "it ...".
    pub fn parse(raw: &[u8]) -> Result<Line, String> {
        let f: Fields = serde_json::from_slice(raw)
            .map_err(|_| "is not a well-formed audit record".to_owned())?;
        let kind = match (f.sealed, f.pending, f.checkpoint, f.pruned) {
            (Some(s), None, None, None) if f.prev.is_some() && f.mac.is_some() => Kind::Sealed(s),
            (None, Some(p), None, None) if f.prev.is_some() && f.mac.is_none() => {
                if !p.allowed() {
                    return Err(format!("records '{}' without the key", p.action));
                }
                Kind::Pending(p)
            }
            (None, None, Some(hash), Some(pruned))
                if f.prev.is_none() && f.mac.is_some() && is_hash(&hash) =>
            {
                Kind::Checkpoint { hash, pruned }
            }
            _ => return Err("mixes the fields of different kinds of record".into()),
        };
        if f.prev.as_deref().is_some_and(|p| !is_hash(p)) {
            return Err("names a malformed previous record".into());
        }
        Ok(Line {
            seq: f.seq,
            prev: f.prev,
            at: f.at,
            kind,
            hash: hash(raw),
            mac: f.mac,
        })
    }

    /// Whether the MAC of a sealed or checkpoint line is right (a pending line
    /// has none: it is vouched for by the next sealed line's chain).
    pub fn mac_ok(&self, raw: &[u8], key: &MacKey) -> bool {
        let Some(tag) = &self.mac else {
            return matches!(self.kind, Kind::Pending(_));
        };
        let Some(pos) = raw.windows(MAC_FIELD.len()).rposition(|w| w == MAC_FIELD) else {
            return false;
        };
        let (prefix, rest) = raw.split_at(pos);
        // The tag must be the very end of the line, as it was written.
        let expected_rest = [MAC_FIELD, tag.as_bytes(), b"\"}"].concat();
        rest == expected_rest.as_slice() && key.verify(prefix, tag)
    }
}

fn serialize(f: &Fields) -> Vec<u8> {
    // Plain structs of strings and numbers always serialize.
    serde_json::to_vec(f).unwrap_or_default()
}

/// Appends `,"mac":"..."}` to a serialized object, over everything before it.
fn with_mac(mut json: Vec<u8>, key: &MacKey) -> Vec<u8> {
    json.pop(); // the closing brace
    let tag = key.tag(&json);
    json.extend_from_slice(MAC_FIELD);
    json.extend_from_slice(tag.as_bytes());
    json.extend_from_slice(b"\"}");
    json
}

/// A sealed line.
pub fn sealed(seq: u64, prev: &str, at: DateTime<Utc>, blob_b64: String, key: &MacKey) -> Vec<u8> {
    let f = Fields {
        seq,
        prev: Some(prev.to_owned()),
        at,
        sealed: Some(blob_b64),
        pending: None,
        checkpoint: None,
        pruned: None,
        mac: None,
    };
    with_mac(serialize(&f), key)
}

/// A pending line.
pub fn pending(seq: u64, prev: &str, at: DateTime<Utc>, p: Pending) -> Vec<u8> {
    serialize(&Fields {
        seq,
        prev: Some(prev.to_owned()),
        at,
        sealed: None,
        pending: Some(p),
        checkpoint: None,
        pruned: None,
        mac: None,
    })
}

/// A checkpoint line.
pub fn checkpoint(seq: u64, hash: &str, at: DateTime<Utc>, pruned: u64, key: &MacKey) -> Vec<u8> {
    let f = Fields {
        seq,
        prev: None,
        at,
        sealed: None,
        pending: None,
        checkpoint: Some(hash.to_owned()),
        pruned: Some(pruned),
        mac: None,
    };
    with_mac(serialize(&f), key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SealKey;

    fn key() -> MacKey {
        MacKey::derive(&SealKey::generate(), "test")
    }

    #[test]
    fn each_shape_parses_back_and_its_mac_holds_only_for_its_key() {
        let k = key();
        let at = chrono::DateTime::UNIX_EPOCH;
        let s = sealed(1, GENESIS, at, "YWJj".into(), &k);
        let line = Line::parse(&s).unwrap();
        assert_eq!(line.kind, Kind::Sealed("YWJj".into()));
        assert!(line.mac_ok(&s, &k));
        assert!(!line.mac_ok(&s, &key()));
        assert_eq!(line.hash, hash(&s));

        let p = pending(
            2,
            &line.hash,
            at,
            Pending {
                action: Action::Expired,
                reference: Some("r".into()),
                count: None,
            },
        );
        let parsed = Line::parse(&p).unwrap();
        assert!(matches!(parsed.kind, Kind::Pending(_)));
        assert!(parsed.mac_ok(&p, &k));

        let c = checkpoint(7, GENESIS, at, 7, &k);
        let parsed = Line::parse(&c).unwrap();
        assert_eq!(
            parsed.kind,
            Kind::Checkpoint {
                hash: GENESIS.into(),
                pruned: 7
            }
        );
        assert!(parsed.mac_ok(&c, &k));
    }

    #[test]
    fn an_altered_or_extended_sealed_line_fails_its_mac() {
        let k = key();
        let s = sealed(1, GENESIS, chrono::DateTime::UNIX_EPOCH, "YWJj".into(), &k);
        let text = String::from_utf8(s.clone()).unwrap();
        let altered = text.replace("\"seq\":1", "\"seq\":2").into_bytes();
        assert!(!Line::parse(&altered).unwrap().mac_ok(&altered, &k));
        let extended = text.replace("YWJj", "YWJk").into_bytes();
        assert!(!Line::parse(&extended).unwrap().mac_ok(&extended, &k));
    }

    #[test]
    fn mixed_or_keyed_pending_shapes_are_refused() {
        assert!(Line::parse(br#"{"seq":1,"at":"2026-01-01T00:00:00Z"}"#).is_err());
        let get = format!(
            r#"{{"seq":1,"prev":"{GENESIS}","at":"2026-01-01T00:00:00Z","pending":{{"action":"get"}}}}"#
        );
        assert!(Line::parse(get.as_bytes()).is_err());
        assert!(Line::parse(b"not json").is_err());
    }
}

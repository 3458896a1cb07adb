//! The gateway's JSON, as it comes: every field may be missing, 64-bit
//! integers come as strings and bytes as base64.

use std::fmt;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Header {
    #[serde(deserialize_with = "u64")]
    pub cluster_id: u64,
    #[serde(deserialize_with = "u64")]
    pub member_id: u64,
    #[serde(deserialize_with = "i64")]
    pub revision: i64,
    #[serde(deserialize_with = "u64")]
    pub raft_term: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Kv {
    #[serde(deserialize_with = "bytes")]
    pub key: Vec<u8>,
    #[serde(deserialize_with = "bytes")]
    pub value: Vec<u8>,
    #[serde(deserialize_with = "i64")]
    pub create_revision: i64,
    #[serde(deserialize_with = "i64")]
    pub mod_revision: i64,
    #[serde(deserialize_with = "i64")]
    pub version: i64,
    #[serde(deserialize_with = "i64")]
    pub lease: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Range {
    pub header: Option<Header>,
    pub kvs: Option<Vec<Kv>>,
    #[serde(deserialize_with = "i64")]
    pub count: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Delete {
    pub header: Option<Header>,
    #[serde(deserialize_with = "i64")]
    pub deleted: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HeaderOnly {
    pub header: Option<Header>,
}

/// etcd's error answer: `{"error": "...", "message": "...", "code": N}`.
#[derive(Deserialize)]
pub struct ErrorAnswer {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "i64")]
    pub code: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Txn {
    pub header: Option<Header>,
    pub succeeded: Option<bool>,
    pub responses: Option<Vec<OpResponse>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OpResponse {
    pub response_range: Option<Range>,
    pub response_put: Option<HeaderOnly>,
    pub response_delete_range: Option<Delete>,
}

/// One answer of the keep-alive stream (one request sent, one answer).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KeepAlive {
    pub result: Option<LeaseGrant>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LeaseGrant {
    pub header: Option<Header>,
    #[serde(rename = "ID", deserialize_with = "i64")]
    pub id: i64,
    #[serde(rename = "TTL", deserialize_with = "i64")]
    pub ttl: i64,
    pub error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LeaseTtl {
    pub header: Option<Header>,
    #[serde(rename = "TTL", deserialize_with = "i64")]
    pub ttl: i64,
    #[serde(rename = "grantedTTL", deserialize_with = "i64")]
    pub granted: i64,
}

// The status message's fields are camelCase in etcd's proto (dbSize), so
// the gateway sends them so; snake_case is accepted too in case a version
// changes its mind.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Status {
    pub header: Option<Header>,
    pub version: Option<String>,
    #[serde(rename = "dbSize", alias = "db_size", deserialize_with = "i64")]
    pub db_size: i64,
    #[serde(
        rename = "dbSizeInUse",
        alias = "db_size_in_use",
        deserialize_with = "i64"
    )]
    pub db_size_in_use: i64,
    #[serde(deserialize_with = "u64")]
    pub leader: u64,
}

/// A JSON integer, or a string holding one (int64 in the gateway), or
/// null (taken as 0, as a missing field).
pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(IntVisitor::<i64>(std::marker::PhantomData))
}

/// As [`i64`], unsigned.
pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(IntVisitor::<u64>(std::marker::PhantomData))
}

struct IntVisitor<T>(std::marker::PhantomData<T>);

impl<T> Visitor<'_> for IntVisitor<T>
where
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr + Default,
{
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string holding one")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::custom("integer out of range"))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::custom("integer out of range"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(|_| E::custom("not an integer"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
}

/// A base64 string (bytes in the gateway), or null (empty).
pub fn bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a base64 string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            LENIENT
                .decode(v)
                .map_err(|_| E::custom("bytes field is not base64"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<u8>, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V)
}

/// Go writes padded standard base64; accept it unpadded too.
/// Go writes padded standard base64; accept it unpadded too.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(super) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

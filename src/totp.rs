//! TOTP (RFC 6238) codes for client accounts protected by two-factor login.
//!
//! # What the user gives
//!
//! Either the `otpauth://totp/LABEL?secret=...` URI behind the service's QR code, or
//! the bare base32 key the service shows next to it. A bare key means HMAC-SHA1,
//! 6 digits and a 30 s period, as everywhere. Accepted leniently:
//! - surrounding whitespace; in the key, spaces, tabs and hyphens between groups,
//!   lower case, and trailing `=` padding;
//! - in a URI: any case for the scheme, host and algorithm name, percent-encoding,
//!   any label, and parameters other than `secret`, `algorithm`, `digits` and
//!   `period` (`issuer`, `image`, ...), which are ignored.
//!
//! Refused, each with a usage error (exit 2) that never quotes the input: a key that
//! is empty, not base32, or shorter than 80 bits (what some real services use, below
//! the 128 bits RFC 4226 asks for; anything shorter is a truncated copy); an HOTP or
//! other non-TOTP URI; an algorithm other than SHA1, SHA256 or SHA512; digits outside
//! 6..=8; a period of 0 or over 300 s; any of the four parameters given twice.
//!
//! # What is stored
//!
//! [`normalize`] returns one canonical otpauth URI, every parameter spelt out in a
//! fixed order, with an empty label:
//!
//! ```text
//! otpauth://totp/?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30
//! ```
//!
//! The secret is re-encoded from its decoded bytes (upper case, no padding). So the
//! stored form keeps exactly what the codes depend on, key, algorithm, digits and
//! period, and nothing else: the label and issuer are untrusted free text that the
//! credential's own name, user and URL already cover. Two inputs that give the same
//! codes are stored identically, the form is still an otpauth URI (the one `totp-rs`
//! renders, less the label; `totp_rs::TOTP::from_url_unchecked` reads it back), and
//! normalizing it again gives it back unchanged. [`code_at`] reads the canonical form, and also anything
//! else [`normalize`] accepts.
//!
//! Codes are computed by the `totp-rs` crate. Decoded keys live in zeroizing buffers
//! and the key copy handed to `totp-rs` is zeroed after use.

use chrono::{DateTime, Utc};
use totp_rs::{Algorithm, TOTP};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::SecretText;
use crate::error::{Error, Result};

/// The shortest key accepted, in bytes (80 bits).
const MIN_KEY_BYTES: usize = 10;
/// The longest period accepted, in seconds.
const MAX_PERIOD: u64 = 300;
/// The base32 alphabet of RFC 4648.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A TOTP code and how long it stays valid.
#[derive(Debug)]
pub struct TotpCode {
    /// The code, as digits.
    pub code: SecretText,
    /// Seconds until the next code.
    pub seconds_left: u64,
}

/// Checks what the user gave (an `otpauth://totp/...` URI or a base32 seed) and
/// returns the form to store: the canonical URI described in the module docs.
pub fn normalize(input: &SecretText) -> Result<SecretText> {
    Ok(parse(input.expose())?.render())
}

/// The code at `at` for a stored TOTP secret.
pub fn code_at(stored: &SecretText, at: DateTime<Utc>) -> Result<TotpCode> {
    let params = parse(stored.expose()).map_err(|e| {
        let why = match e {
            Error::Usage { what, .. } => what,
            other => other.to_string(),
        };
        Error::Internal(format!("the stored TOTP seed does not parse ({why})"))
    })?;
    let time = u64::try_from(at.timestamp())
        .map_err(|_| Error::Internal("a TOTP code was asked for a time before 1970".into()))?;
    Ok(TotpCode {
        code: params.generate(time),
        seconds_left: params.period - time % params.period,
    })
}

/// Everything a code depends on.
struct Params {
    algorithm: Algorithm,
    digits: u32,
    period: u64,
    key: Zeroizing<Vec<u8>>,
}

impl Params {
    /// The canonical otpauth URI.
    fn render(&self) -> SecretText {
        let algorithm = algorithm_name(self.algorithm);
        let encoded_len = (self.key.len() * 8).div_ceil(5);
        // Sized up front so that the buffer holding the key never reallocates and
        // leaves an unzeroed copy behind.
        let mut out = String::with_capacity(encoded_len + 96);
        out.push_str("otpauth://totp/?secret=");
        base32_encode(&self.key, &mut out);
        out.push_str("&algorithm=");
        out.push_str(algorithm);
        out.push_str("&digits=");
        out.push_str(&self.digits.to_string());
        out.push_str("&period=");
        out.push_str(&self.period.to_string());
        SecretText::new(out)
    }

    /// The code for the Unix time `time`. `digits` is 6..=8 and `period` 1..=300,
    /// as [`parse`] guarantees: `totp-rs` would panic on a period of 0 or 10 digits.
    fn generate(&self, time: u64) -> SecretText {
        let mut totp = TOTP::new_unchecked(
            self.algorithm,
            self.digits as usize,
            1,
            self.period,
            self.key.to_vec(),
            None,
            String::new(),
        );
        let code = SecretText::new(totp.generate(time));
        totp.secret.zeroize();
        code
    }
}

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::SHA1 => "SHA1",
        Algorithm::SHA256 => "SHA256",
        Algorithm::SHA512 => "SHA512",
    }
}

const FIX_SEED: &str = "give the otpauth://totp/ URI from the QR code, or the base32 key the service shows (letters A-Z and digits 2-7)";

/// Reads a bare base32 key or an otpauth URI.
fn parse(input: &str) -> Result<Params> {
    let input = input.trim();
    if input.is_empty() {
        return Err(Error::usage("empty TOTP seed", FIX_SEED));
    }
    match strip_prefix_ignore_case(input, "otpauth:") {
        Some(rest) => parse_uri(rest),
        None if input.contains("://") => Err(Error::usage(
            "the TOTP seed is a URI but not an otpauth:// one",
            FIX_SEED,
        )),
        None => Ok(Params {
            algorithm: Algorithm::SHA1,
            digits: 6,
            period: 30,
            key: decode_key(input)?,
        }),
    }
}

/// Reads the part of an otpauth URI after `otpauth:`.
fn parse_uri(rest: &str) -> Result<Params> {
    let Some(rest) = rest.strip_prefix("//") else {
        return Err(Error::usage(
            "the otpauth URI is malformed",
            "it must start with otpauth://totp/; copy it again exactly as the service gave it",
        ));
    };
    // The fragment, if any, is not part of the query.
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    if host.eq_ignore_ascii_case("hotp") {
        return Err(Error::usage(
            "HOTP (counter-based) codes are not supported",
            "intervault makes time-based codes only: give an otpauth://totp/ URI or a base32 key",
        ));
    }
    if !host.eq_ignore_ascii_case("totp") {
        return Err(Error::usage(
            "the otpauth URI is not a TOTP one",
            "it must start with otpauth://totp/; give that URI, or the base32 key",
        ));
    }
    let query = rest[host_end..]
        .split_once('?')
        .map_or("", |(_, query)| query);

    let mut secret: Option<Zeroizing<String>> = None;
    let mut algorithm: Option<Algorithm> = None;
    let mut digits: Option<u32> = None;
    let mut period: Option<u64> = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "secret" => set_once(&mut secret, percent_decode(value)?, "secret")?,
            "algorithm" => {
                let value = percent_decode(value)?;
                let parsed = match value.to_ascii_uppercase().as_str() {
                    "SHA1" => Algorithm::SHA1,
                    "SHA256" => Algorithm::SHA256,
                    "SHA512" => Algorithm::SHA512,
                    _ => {
                        return Err(Error::usage(
                            "unsupported TOTP algorithm in the otpauth URI",
                            "intervault knows SHA1, SHA256 and SHA512",
                        ))
                    }
                };
                set_once(&mut algorithm, parsed, "algorithm")?;
            }
            "digits" => {
                let parsed = percent_decode(value)?
                    .parse::<u32>()
                    .ok()
                    .filter(|d| (6..=8).contains(d))
                    .ok_or_else(|| {
                        Error::usage(
                            "unsupported number of TOTP digits in the otpauth URI",
                            "codes have 6, 7 or 8 digits; copy the URI again exactly as the service gave it",
                        )
                    })?;
                set_once(&mut digits, parsed, "digits")?;
            }
            "period" => {
                let parsed = percent_decode(value)?
                    .parse::<u64>()
                    .ok()
                    .filter(|p| (1..=MAX_PERIOD).contains(p))
                    .ok_or_else(|| {
                        Error::usage(
                            "unsupported TOTP period in the otpauth URI",
                            "the period must be 1 to 300 seconds; copy the URI again exactly as the service gave it",
                        )
                    })?;
                set_once(&mut period, parsed, "period")?;
            }
            _ => {}
        }
    }
    let Some(secret) = secret else {
        return Err(Error::usage(
            "the otpauth URI has no secret",
            "copy the whole URI, secret= parameter included, or give the base32 key",
        ));
    };
    Ok(Params {
        algorithm: algorithm.unwrap_or(Algorithm::SHA1),
        digits: digits.unwrap_or(6),
        period: period.unwrap_or(30),
        key: decode_key(&secret)?,
    })
}

/// Sets a URI parameter, refusing a second value.
fn set_once<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<()> {
    if slot.is_some() {
        return Err(Error::usage(
            format!("the otpauth URI gives {name} twice"),
            "copy the URI again exactly as the service gave it",
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Decodes `%XX` escapes, and `+` as a space, as query strings do.
fn percent_decode(value: &str) -> Result<Zeroizing<String>> {
    let malformed = || {
        Error::usage(
            "the otpauth URI is malformed (a bad %-escape)",
            "copy the URI again exactly as the service gave it",
        )
    };
    let bytes = value.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(malformed)?;
                let hi = hex_value(hex[0]).ok_or_else(malformed)?;
                let lo = hex_value(hex[1]).ok_or_else(malformed)?;
                out.push((hi << 4) | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    // Moves the buffer into the String without copying it.
    match String::from_utf8(std::mem::take(&mut *out)) {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(malformed())
        }
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes a base32 key, tolerating spaces, hyphens, lower case and trailing `=`,
/// and refuses keys too short to be real.
fn decode_key(text: &str) -> Result<Zeroizing<Vec<u8>>> {
    let text = text.trim_end_matches(|c: char| c == '=' || c.is_whitespace());
    let mut bits: u32 = 0;
    let mut nbits = 0u32;
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() * 5 / 8 + 1));
    for c in text.bytes() {
        if c.is_ascii_whitespace() || c == b'-' {
            continue;
        }
        let Some(value) = base32_value(c) else {
            bits.zeroize();
            return Err(Error::usage("the TOTP seed is not base32", FIX_SEED));
        };
        bits = ((bits << 5) | u32::from(value)) & 0x1fff;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
        }
    }
    // Leftover bits (fewer than 8) are dropped, as base32 decoders (and totp-rs) do.
    bits.zeroize();
    if out.is_empty() {
        return Err(Error::usage("empty TOTP seed", FIX_SEED));
    }
    if out.len() < MIN_KEY_BYTES {
        return Err(Error::usage(
            "the TOTP seed is too short",
            "a key holds at least 80 bits (16 base32 characters); check that all of it was copied",
        ));
    }
    Ok(out)
}

fn base32_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

/// Appends the RFC 4648 base32 form of `data`, without padding.
fn base32_encode(data: &[u8], out: &mut String) {
    let mut bits: u32 = 0;
    let mut nbits = 0u32;
    for &b in data {
        bits = ((bits << 8) | u32::from(b)) & 0x1fff;
        nbits += 8;
        while nbits >= 5 {
            nbits -= 5;
            out.push(char::from(BASE32[((bits >> nbits) & 31) as usize]));
        }
    }
    if nbits > 0 {
        out.push(char::from(BASE32[((bits << (5 - nbits)) & 31) as usize]));
    }
    bits.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret(s: &str) -> SecretText {
        SecretText::new(s.to_owned())
    }

    fn at(unix: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(unix, 0).unwrap()
    }

    fn b32(bytes: &[u8]) -> String {
        let mut s = String::new();
        base32_encode(bytes, &mut s);
        s
    }

    fn code(input: &str, unix: i64) -> TotpCode {
        let stored = normalize(&secret(input)).unwrap();
        code_at(&stored, at(unix)).unwrap()
    }

    /// The RFC 6238 Appendix B table: time, then SHA1, SHA256 and SHA512 codes.
    const RFC6238: [(i64, [&str; 3]); 6] = [
        (59, ["94287082", "46119246", "90693936"]),
        (1111111109, ["07081804", "68084774", "25091201"]),
        (1111111111, ["14050471", "67062674", "99943326"]),
        (1234567890, ["89005924", "91819424", "93441116"]),
        (2000000000, ["69279037", "90698825", "38618901"]),
        (20000000000, ["65353130", "77737706", "47863826"]),
    ];

    fn rfc_uris() -> [String; 3] {
        let seed = |n: usize| {
            b"1234567890"
                .iter()
                .cycle()
                .take(n)
                .copied()
                .collect::<Vec<u8>>()
        };
        [
            format!(
                "otpauth://totp/x?secret={}&digits=8&algorithm=SHA1&period=30",
                b32(&seed(20))
            ),
            format!(
                "otpauth://totp/x?secret={}&digits=8&algorithm=SHA256&period=30",
                b32(&seed(32))
            ),
            format!(
                "otpauth://totp/x?secret={}&digits=8&algorithm=SHA512&period=30",
                b32(&seed(64))
            ),
        ]
    }

    #[test]
    fn rfc6238_appendix_b_vectors() {
        let uris = rfc_uris();
        assert_eq!(
            b32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        for (time, expected) in RFC6238 {
            for (uri, want) in uris.iter().zip(expected) {
                let got = code(uri, time);
                assert_eq!(got.code.expose(), want, "{uri} at {time}");
                assert_eq!(got.seconds_left, 30 - (time as u64 % 30));
            }
        }
    }

    #[test]
    fn rfc_vectors_agree_with_totp_rs_reading_the_stored_form() {
        for (i, uri) in rfc_uris().iter().enumerate() {
            let stored = normalize(&secret(uri)).unwrap();
            let theirs = TOTP::from_url_unchecked(stored.expose()).unwrap();
            for (time, expected) in RFC6238 {
                assert_eq!(theirs.generate(time as u64), expected[i]);
            }
        }
    }

    #[test]
    fn canonical_form_keeps_the_parameters_and_drops_the_label() {
        let stored = normalize(&secret(
            "OTPAUTH://TOTP/Acme%20Inc:me%40acme.example?issuer=Acme+Inc&SECRET=jbswy3dpehpk3pxp%3D%3D&algorithm=sha512&digits=7&period=60&image=x#frag",
        ))
        .unwrap();
        assert_eq!(
            stored.expose(),
            "otpauth://totp/?secret=JBSWY3DPEHPK3PXP&algorithm=SHA512&digits=7&period=60"
        );
        // Idempotent.
        assert_eq!(normalize(&stored).unwrap().expose(), stored.expose());
    }

    #[test]
    fn bare_seed_means_sha1_six_digits_thirty_seconds() {
        let canonical = "otpauth://totp/?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30";
        for input in [
            "JBSWY3DPEHPK3PXP",
            "jbsw y3dp ehpk 3pxp",
            "  JBSWY3DP-EHPK3PXP\t",
            "JBSWY3DPEHPK3PXP====",
            "otpauth://totp/?secret=JBSWY3DPEHPK3PXP",
            "otpauth://totp?secret=JBSW%20Y3DP+EHPK+3PXP",
        ] {
            assert_eq!(
                normalize(&secret(input)).unwrap().expose(),
                canonical,
                "{input:?}"
            );
        }
        // The RFC key, as a bare seed with spaces and lower case, gives the RFC
        // code cut to 6 digits.
        let c = code("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", 59);
        assert_eq!(c.code.expose(), "287082");
        assert_eq!(c.seconds_left, 1);
    }

    #[test]
    fn eighty_bit_seeds_are_accepted() {
        let totp = TOTP::new_unchecked(
            Algorithm::SHA1,
            6,
            1,
            30,
            b"0123456789".to_vec(),
            None,
            String::new(),
        );
        let seed = totp.get_secret_base32();
        assert_eq!(seed.len(), 16);
        assert_eq!(
            code(&seed, 1_700_000_000).code.expose(),
            totp.generate(1_700_000_000)
        );
    }

    #[test]
    fn seconds_left_at_the_boundaries() {
        let seed = "JBSWY3DPEHPK3PXP";
        assert_eq!(code(seed, 59).seconds_left, 1);
        assert_eq!(code(seed, 60).seconds_left, 30);
        assert_eq!(code(seed, 0).seconds_left, 30);
        assert_eq!(code(seed, 61).seconds_left, 29);
        let sixty = "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=60";
        assert_eq!(code(sixty, 59).seconds_left, 1);
        assert_eq!(code(sixty, 60).seconds_left, 60);
        // The code changes exactly at the boundary.
        assert_ne!(code(seed, 59).code.expose(), code(seed, 60).code.expose());
        assert_eq!(code(seed, 30).code.expose(), code(seed, 59).code.expose());
    }

    #[test]
    fn refusals_are_usage_errors_that_never_quote_the_seed() {
        let seed = "JBSWY3DPEHPK3PXP";
        let cases = [
            ("", "empty TOTP seed"),
            ("   ", "empty TOTP seed"),
            ("====", "empty TOTP seed"),
            ("JBSWY3DPEHPK3PX1", "not base32"),
            ("JBSWY3DPEHPK3PXP!", "not base32"),
            ("JBSWY3DPÉHPK3PXP", "not base32"),
            ("JBSWY3DPEHPK", "too short"),
            (
                "https://example.com/?secret=JBSWY3DPEHPK3PXP",
                "not an otpauth",
            ),
            ("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1", "HOTP"),
            ("otpauth://steam/x?secret=JBSWY3DPEHPK3PXP", "not a TOTP"),
            ("otpauth:totp/x?secret=JBSWY3DPEHPK3PXP", "malformed"),
            ("otpauth://totp/x?issuer=JBSWY3DPEHPK3PXP", "no secret"),
            ("otpauth://totp/x?secret=", "empty TOTP seed"),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=12",
                "digits",
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=5",
                "digits",
            ),
            ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=", "digits"),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0",
                "period",
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=301",
                "period",
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=-30",
                "period",
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
                "algorithm",
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&secret=GEZDGNBVGY3TQOJQ",
                "twice",
            ),
            ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP%2", "malformed"),
            ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP%FF", "malformed"),
            ("otpauth://totp/x?secret=%4ABSWY3DPEHPK3PX%ZZ", "malformed"),
        ];
        for (input, expected) in cases {
            let err = normalize(&secret(input)).unwrap_err();
            let msg = err.to_string();
            assert_eq!(err.exit_code(), 2, "{input:?}: {msg}");
            assert!(matches!(err, Error::Usage { .. }), "{input:?}: {err:?}");
            assert!(msg.contains(expected), "{input:?}: {msg}");
            assert_eq!(msg.lines().count(), 1, "{msg}");
            assert!(msg.matches(": ").count() >= 1, "{msg}");
            for needle in [seed, "JBSWY3DP", "jbswy3dp", "BSWY3DPEHPK3PX"] {
                assert!(!msg.contains(needle), "{input:?}: {msg}");
                assert!(!format!("{err:?}").contains(needle), "{input:?}: {err:?}");
            }
        }
        // The parameters' edges are accepted.
        for ok in [
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=6&period=1",
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=8&period=300",
        ] {
            normalize(&secret(ok)).unwrap();
        }
    }

    #[test]
    fn code_at_refuses_garbage_and_times_before_1970_without_panicking() {
        let err = code_at(&secret("not a seed!"), at(59)).unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
        assert!(!err.to_string().contains("not a seed"));
        let stored = normalize(&secret("JBSWY3DPEHPK3PXP")).unwrap();
        assert!(matches!(
            code_at(&stored, at(-1)).unwrap_err(),
            Error::Internal(_)
        ));
    }

    #[test]
    fn debug_output_hides_the_code() {
        let c = code("JBSWY3DPEHPK3PXP", 1_700_000_000);
        let shown = format!("{c:?}");
        assert!(!shown.contains(c.code.expose()), "{shown}");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_strings(s in "\\PC*", unix in 0i64..40_000_000_000) {
            let input = secret(&s);
            if let Ok(stored) = normalize(&input) {
                let c = code_at(&stored, at(unix)).unwrap();
                prop_assert!(c.seconds_left >= 1);
            }
            let _ = code_at(&input, at(unix));
        }

        #[test]
        fn never_panics_on_uri_shaped_strings(
            host in "(totp|totp|totp|TOTP|hotp|x|)",
            label in "[^?#]{0,12}",
            secret_value in "([A-Za-z2-7 +]{14,40}(%3D|=){0,3}|[A-Za-z2-7 =%+]{0,40})",
            extra in "(&(digits|period|algorithm|secret|issuer)=(6|7|8|9|30|60|0|301|SHA1|sha256|SHA512|MD5|%41|%|x|)){0,4}",
            unix in 0i64..40_000_000_000,
        ) {
            let uri = format!("otpauth://{host}/{label}?secret={secret_value}{extra}");
            if let Ok(stored) = normalize(&secret(&uri)) {
                let again = normalize(&stored).unwrap();
                prop_assert_eq!(again.expose(), stored.expose());
                let c = code_at(&stored, at(unix)).unwrap();
                prop_assert!(c.seconds_left >= 1 && c.seconds_left <= MAX_PERIOD);
                prop_assert!((6..=8).contains(&c.code.expose().len()));
                prop_assert!(c.code.expose().bytes().all(|b| b.is_ascii_digit()));
            }
            let _ = code_at(&secret(&uri), at(unix));
        }

        #[test]
        fn codes_match_totp_rs(
            key in proptest::collection::vec(any::<u8>(), 10..80),
            alg in 0usize..3,
            digits in 6u32..=8,
            period in 1u64..=300,
            unix in 0u64..40_000_000_000,
        ) {
            let algorithm = [Algorithm::SHA1, Algorithm::SHA256, Algorithm::SHA512][alg];
            let theirs = TOTP::new_unchecked(
                algorithm, digits as usize, 1, period, key.clone(), None, String::new(),
            );
            let seed = theirs.get_secret_base32();
            prop_assert_eq!(&b32(&key), &seed);
            let uri = format!(
                "otpauth://totp/a:b?secret={seed}&algorithm={}&digits={digits}&period={period}",
                algorithm_name(algorithm),
            );
            let ours = code(&uri, unix as i64);
            prop_assert_eq!(ours.code.expose(), theirs.generate(unix));
            prop_assert_eq!(ours.seconds_left, theirs.step - unix % theirs.step);
            // The stored form is what totp-rs renders, less the label.
            let stored = normalize(&secret(&uri)).unwrap();
            prop_assert_eq!(
                stored.expose(),
                format!("otpauth://totp/?secret={seed}&algorithm={}&digits={digits}&period={period}", algorithm_name(algorithm))
            );
        }

        #[test]
        fn decoding_matches_totp_rs(s in "[A-Z2-7]{16,120}") {
            let theirs = totp_rs::Secret::Encoded(s.clone()).to_bytes().unwrap();
            let ours = decode_key(&s).unwrap();
            prop_assert_eq!(&*ours, &theirs);
        }

        #[test]
        fn errors_never_quote_the_seed(s in "[A-Za-z0-9!@]{12,40}") {
            for input in [s.clone(), format!("otpauth://totp/x?secret={s}&digits=9")] {
                if let Err(e) = normalize(&secret(&input)) {
                    prop_assert!(!e.to_string().contains(&s));
                }
            }
        }
    }
}

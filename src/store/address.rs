//! Where a vault lives, as the user names it: a directory, or a prefix on an
//! etcd cluster written as `etcd://HOST:PORT[,HOST:PORT...]/PREFIX`.
//!
//! The URL is checked whole before anything connects. A mistyped URL must not
//! quietly become a directory of that name in the current directory, nor a key
//! prefix that reaches another vault's keys (`..`, empty parts), so anything
//! that looks like a URL is either a valid etcd URL or refused. A URL with user
//! information (`user:pass@`), a query or a fragment may carry a secret: those
//! are refused without echoing the input.

use std::ffi::OsStr;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::timefmt::quote;

/// A vault's location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A directory on this machine.
    Dir(PathBuf),
    /// A key prefix on an etcd cluster.
    Etcd(EtcdAddress),
}

/// A vault on an etcd cluster: where to connect, and under which key prefix
/// the vault's keys live. Built by [`Address::parse`], which keeps both canonical
/// (host names in lower case, IP addresses in their standard form), so that two
/// spellings of one vault compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdAddress {
    /// `host:port` of each endpoint, in the order given (`[::1]:2379` for IPv6).
    pub endpoints: Vec<String>,
    /// The key prefix, without a leading or trailing `/` (`agency/vault`).
    pub prefix: String,
}

/// The files of a TLS connection to etcd: the CA that signs the servers'
/// certificates, and this client's certificate and private key (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate authority that the servers' certificates must chain to.
    pub ca: PathBuf,
    /// This client's certificate.
    pub cert: PathBuf,
    /// This client's private key.
    pub key: PathBuf,
}

/// The URL form, as the fix of every malformed URL.
pub const URL_FORM: &str = "write it as etcd://HOST:PORT[,HOST:PORT...]/PREFIX, e.g. etcd://10.0.0.5:2379,10.0.0.6:2379/agency/vault (IPv6 as [::1]:2379; PREFIX of letters, digits, '.', '_' and '-', with '/' between parts)";

/// Longer input is refused before it is looked at.
const MAX_URL_CHARS: usize = 2048;

/// The longest key prefix: the vault's own key names follow it, and etcd keeps
/// every key of every revision in memory.
const MAX_PREFIX_CHARS: usize = 256;

impl Address {
    /// Reads a vault address: an `etcd://` URL (the scheme in any case), or
    /// else a directory. A text that starts like a URL of another scheme
    /// (`https://`), or like an etcd URL without its `//` (`etcd:/x`), is
    /// refused rather than taken for a directory; such a directory can be named
    /// `./NAME`.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] (exit 2) for an empty text or a malformed URL, its fix
    /// showing the URL form.
    pub fn parse(text: &str) -> Result<Address> {
        if text.is_empty() {
            return Err(Error::usage(
                "the vault address is empty",
                "give a directory or an etcd:// URL",
            ));
        }
        match scheme_of(text) {
            Some(scheme) if scheme.eq_ignore_ascii_case("etcd") => {
                let rest = text.get(scheme.len() + 3..).unwrap_or_default();
                EtcdAddress::parse_rest(rest).map(Address::Etcd)
            }
            Some(scheme) => Err(Error::usage(
                format!("unsupported vault URL scheme {}", quote(scheme)),
                "a vault is a directory or an etcd:// URL (a directory of that name can be written ./NAME)",
            )),
            None if text
                .get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("etcd:")) =>
            {
                Err(invalid("it lacks the '//' after 'etcd:'"))
            }
            None => Ok(Address::Dir(PathBuf::from(text))),
        }
    }

    /// [`Address::parse`] for a command-line or environment value: a value that
    /// is not UTF-8 cannot be a URL, so it is a directory (unless it starts like
    /// one, which is refused).
    ///
    /// # Errors
    ///
    /// As [`Address::parse`].
    pub fn parse_os(text: &OsStr) -> Result<Address> {
        match text.to_str() {
            Some(text) => Address::parse(text),
            None => {
                let lossy = text.to_string_lossy();
                match Address::parse(&lossy)? {
                    Address::Dir(_) => Ok(Address::Dir(PathBuf::from(text))),
                    etcd => Ok(etcd),
                }
            }
        }
    }

    /// The directory, when the vault is one.
    pub fn as_dir(&self) -> Option<&Path> {
        match self {
            Address::Dir(dir) => Some(dir),
            Address::Etcd(_) => None,
        }
    }
}

impl fmt::Display for Address {
    /// The directory as a path, or the canonical URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Dir(dir) => write!(f, "{}", dir.display()),
            Address::Etcd(etcd) => etcd.fmt(f),
        }
    }
}

impl EtcdAddress {
    /// Whether every endpoint is on this machine (127.0.0.0/8, `::1`, or
    /// `localhost`): the only case where a connection without TLS keeps the
    /// vault's traffic off the network.
    pub fn all_loopback(&self) -> bool {
        !self.endpoints.is_empty() && self.endpoints.iter().all(|e| is_loopback_endpoint(e))
    }

    /// The URL after `etcd://`.
    fn parse_rest(rest: &str) -> Result<EtcdAddress> {
        if rest.chars().count() > MAX_URL_CHARS {
            return Err(invalid(format!(
                "it is longer than {MAX_URL_CHARS} characters"
            )));
        }
        // Checked first and never echoed: these parts are where a password or
        // a token would be.
        if rest.contains('@') {
            return Err(Error::usage(
                "an etcd URL cannot carry a user name or password (the part before '@')",
                "authenticate with a TLS client certificate instead, and write the URL as etcd://HOST:PORT[,HOST:PORT...]/PREFIX",
            ));
        }
        if rest.contains(['?', '#']) {
            return Err(invalid(
                "it has a query or a fragment ('?' or '#'), which a vault URL does not take",
            ));
        }
        let Some((authority, prefix)) = rest.split_once('/') else {
            return Err(invalid("it names no PREFIX after the endpoints"));
        };
        if authority.is_empty() {
            return Err(invalid("it names no endpoint"));
        }
        let mut endpoints: Vec<String> = Vec::new();
        for given in authority.split(',') {
            let endpoint = parse_endpoint(given)?;
            if endpoints.contains(&endpoint) {
                return Err(invalid(format!(
                    "the endpoint {} is named twice",
                    quote(&endpoint)
                )));
            }
            endpoints.push(endpoint);
        }
        check_prefix(prefix)?;
        Ok(EtcdAddress {
            endpoints,
            prefix: prefix.to_owned(),
        })
    }
}

impl fmt::Display for EtcdAddress {
    /// `etcd://HOST:PORT[,HOST:PORT...]/PREFIX`, which [`Address::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "etcd://{}/{}", self.endpoints.join(","), self.prefix)
    }
}

/// A malformed etcd URL: what is wrong, and the URL form.
fn invalid(why: impl fmt::Display) -> Error {
    Error::usage(format!("invalid etcd URL: {why}"), URL_FORM)
}

/// The scheme of `scheme://...` (RFC 3986: a letter, then letters, digits, `+`,
/// `-` or `.`), if the text starts with one.
fn scheme_of(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// One `HOST:PORT` or `[IPV6]:PORT`, in canonical form.
fn parse_endpoint(given: &str) -> Result<String> {
    if given.is_empty() {
        return Err(invalid(
            "an endpoint is empty (two commas together, or a comma at an end)",
        ));
    }
    let (host, port) = match given.strip_prefix('[') {
        Some(inner) => {
            let Some((v6, after)) = inner.split_once(']') else {
                return Err(invalid(format!(
                    "the endpoint {} has no closing ']'",
                    quote(given)
                )));
            };
            let Ok(ip) = v6.parse::<Ipv6Addr>() else {
                return Err(invalid(format!("{} is not an IPv6 address", quote(v6))));
            };
            let Some(port) = after.strip_prefix(':') else {
                return Err(no_port(given));
            };
            (format!("[{ip}]"), port)
        }
        None => {
            let Some((host, port)) = given.rsplit_once(':') else {
                return Err(no_port(given));
            };
            if host.contains(':') {
                return Err(invalid(format!(
                    "the endpoint {} looks like an IPv6 address, which is written in brackets, as [::1]:2379",
                    quote(given)
                )));
            }
            (canonical_host(host, given)?, port)
        }
    };
    let port = parse_port(port, given)?;
    Ok(format!("{host}:{port}"))
}

fn no_port(endpoint: &str) -> Error {
    invalid(format!(
        "the endpoint {} has no port (etcd listens on 2379 by default)",
        quote(endpoint)
    ))
}

/// A port from 1 to 65535, digits only.
fn parse_port(port: &str, endpoint: &str) -> Result<u16> {
    let bad = || {
        invalid(format!(
            "the endpoint {} has no valid port (a number from 1 to 65535)",
            quote(endpoint)
        ))
    };
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad()),
        Ok(n) => Ok(n),
    }
}

/// An IPv4 address in its standard form, or a DNS host name in lower case.
fn canonical_host(host: &str, endpoint: &str) -> Result<String> {
    if host.is_empty() {
        return Err(invalid(format!(
            "the endpoint {} has no host",
            quote(endpoint)
        )));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(ip.to_string());
    }
    // `10.0.0.256` or `10.1`: meant as an address, so not looked up as a name.
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(invalid(format!("{} is not an IPv4 address", quote(host))));
    }
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(invalid(format!(
            "{} is not a host name (letters, digits and '-', in parts of at most 63 separated by '.')",
            quote(host)
        )));
    }
    Ok(host.to_ascii_lowercase())
}

/// A non-empty prefix of safe parts: no empty part, none made of dots, no `..`.
fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Err(invalid("it names no PREFIX after the endpoints"));
    }
    if prefix.chars().count() > MAX_PREFIX_CHARS {
        return Err(invalid(format!(
            "its PREFIX is longer than {MAX_PREFIX_CHARS} characters"
        )));
    }
    if let Some(c) = prefix
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')))
    {
        return Err(invalid(format!(
            "its PREFIX {} holds the character {c:?}, which is not allowed",
            quote(prefix)
        )));
    }
    if prefix.split('/').any(str::is_empty) {
        return Err(invalid(format!(
            "its PREFIX {} has an empty part (a '/' at an end, or two together)",
            quote(prefix)
        )));
    }
    if prefix.contains("..") || prefix.split('/').any(|part| part == ".") {
        return Err(invalid(format!(
            "its PREFIX {} has a '.' or '..' part, or '..' within a part",
            quote(prefix)
        )));
    }
    Ok(())
}

/// Whether `host:port` names this machine. Reads any endpoint string, not only
/// the canonical ones, since the fields are public.
fn is_loopback_endpoint(endpoint: &str) -> bool {
    let host = endpoint.rsplit_once(':').map_or(endpoint, |(host, _)| host);
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|ip| {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        });
    }
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn etcd(text: &str) -> EtcdAddress {
        match Address::parse(text) {
            Ok(Address::Etcd(a)) => a,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn refused(text: &str) -> String {
        match Address::parse(text) {
            Err(e @ Error::Usage { .. }) => {
                assert_eq!(e.exit_code(), 2);
                e.to_string()
            }
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn anything_but_a_url_is_a_directory() {
        for dir in [
            "/home/me/vault",
            "vault",
            "./etcd:x",
            "my etcd vault",
            "/srv/etcd://x",
        ] {
            assert_eq!(Address::parse(dir).unwrap(), Address::Dir(dir.into()));
        }
    }

    #[test]
    fn urls_are_read_into_canonical_endpoints_and_prefix() {
        let a = etcd("etcd://10.0.0.5:2379,Etcd-2.Example:2380,[0:0::1]:2379/agency/vault");
        assert_eq!(
            a.endpoints,
            ["10.0.0.5:2379", "etcd-2.example:2380", "[::1]:2379"]
        );
        assert_eq!(a.prefix, "agency/vault");
        assert_eq!(
            a.to_string(),
            "etcd://10.0.0.5:2379,etcd-2.example:2380,[::1]:2379/agency/vault"
        );
        // The scheme is case-insensitive (RFC 3986) and shown in lower case.
        assert_eq!(
            Address::parse("ETCD://localhost:2379/v")
                .unwrap()
                .to_string(),
            "etcd://localhost:2379/v"
        );
        assert_eq!(etcd("etcd://h:1/a.b_c-d/E9").prefix, "a.b_c-d/E9");
    }

    #[test]
    fn malformed_urls_are_usage_errors_that_show_the_form() {
        for (url, why) in [
            ("etcd://", "names no PREFIX"),
            ("etcd://h:2379", "names no PREFIX"),
            ("etcd://h:2379/", "names no PREFIX"),
            ("etcd:///v", "names no endpoint"),
            ("etcd://h/v", "has no port"),
            ("etcd://h:/v", "no valid port"),
            ("etcd://h:0/v", "no valid port"),
            ("etcd://h:65536/v", "no valid port"),
            ("etcd://h:+80/v", "no valid port"),
            ("etcd://h:2379,/v", "an endpoint is empty"),
            ("etcd://,h:2379/v", "an endpoint is empty"),
            ("etcd://:2379/v", "has no host"),
            ("etcd://::1:2379/v", "written in brackets"),
            ("etcd://[::1]/v", "has no port"),
            ("etcd://[::1/v", "no closing ']'"),
            ("etcd://[zz::1]:1/v", "not an IPv6 address"),
            ("etcd://10.0.0.256:1/v", "not an IPv4 address"),
            ("etcd://-h:1/v", "not a host name"),
            ("etcd://h_1:1/v", "not a host name"),
            ("etcd://h..x:1/v", "not a host name"),
            ("etcd://h:1,h:1/v", "named twice"),
            ("etcd://H:1,h:1/v", "named twice"),
            ("etcd://h:1/a//b", "empty part"),
            ("etcd://h:1/a/", "empty part"),
            ("etcd://h:1//a", "empty part"),
            ("etcd://h:1/a/../b", "'..'"),
            ("etcd://h:1/../b", "'..'"),
            ("etcd://h:1/a/./b", "'.'"),
            ("etcd://h:1/a..b", "'..'"),
            ("etcd://h:1/a b", "' '"),
            ("etcd://h:1/a%2Fb", "'%'"),
            ("etcd://h:1/vault?x=1", "query"),
            ("etcd://h:1/vault#top", "fragment"),
            ("etcd:/h:1/vault", "lacks the '//'"),
            ("etcd:h:1/vault", "lacks the '//'"),
        ] {
            let shown = refused(url);
            assert!(shown.starts_with("invalid etcd URL: "), "{url}: {shown}");
            assert!(shown.contains(why), "{url}: {shown}");
            assert!(shown.ends_with(URL_FORM), "{url}: {shown}");
        }
    }

    #[test]
    fn user_information_is_refused_without_echoing_it() {
        let shown = refused("etcd://root:hunter2@10.0.0.5:2379/v");
        assert!(shown.contains("user name or password"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let shown = refused("etcd://10.0.0.5:2379/v?password=hunter2");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn other_schemes_are_refused_not_taken_for_directories() {
        let shown = refused("https://10.0.0.5:2379/v");
        assert!(
            shown.contains("unsupported vault URL scheme \"https\""),
            "{shown}"
        );
        refused("file:///home/me/vault");
        refused("");
    }

    #[test]
    fn loopback_is_127_8_ipv6_one_and_localhost() {
        for url in [
            "etcd://127.0.0.1:2379/v",
            "etcd://127.255.0.9:2379,localhost:2380/v",
            "etcd://[::1]:2379/v",
            "etcd://[::ffff:127.0.0.1]:2379/v",
            "etcd://LocalHost:2379/v",
        ] {
            assert!(etcd(url).all_loopback(), "{url}");
        }
        for url in [
            "etcd://10.0.0.5:2379/v",
            "etcd://127.0.0.1:2379,10.0.0.5:2379/v",
            "etcd://[::2]:2379/v",
            "etcd://localhost.example:2379/v",
            "etcd://128.0.0.1:2379/v",
            "etcd://0.0.0.0:2379/v",
        ] {
            assert!(!etcd(url).all_loopback(), "{url}");
        }
        let none = EtcdAddress {
            endpoints: Vec::new(),
            prefix: "v".into(),
        };
        assert!(!none.all_loopback());
    }

    #[test]
    fn a_path_that_is_not_utf8_is_a_directory() {
        use std::os::unix::ffi::OsStrExt;
        let raw = OsStr::from_bytes(b"/tmp/v\xff");
        assert_eq!(
            Address::parse_os(raw).unwrap(),
            Address::Dir(PathBuf::from(raw))
        );
        assert!(Address::parse_os(OsStr::from_bytes(b"etcd://h:1/\xff")).is_err());
    }

    fn host() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|b| Ipv4Addr::from(b).to_string()),
            any::<[u16; 8]>().prop_map(|s| format!("[{}]", Ipv6Addr::from(s))),
            "[a-zA-Z]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?(\\.[a-zA-Z][a-zA-Z0-9]{0,5}){0,3}",
            Just("localhost".to_owned()),
        ]
    }

    fn url() -> impl Strategy<Value = String> {
        (
            prop::collection::vec((host(), 1u16..), 1..4),
            "[A-Za-z0-9_-]{1,4}(\\.[A-Za-z0-9_-]{1,4})?(/[A-Za-z0-9_-]{1,4}(\\.[A-Za-z0-9_-]{1,4})?){0,3}",
        )
            .prop_map(|(endpoints, prefix)| {
                let endpoints: Vec<String> = endpoints
                    .iter()
                    .map(|(h, p)| format!("{h}:{p}"))
                    .collect();
                format!("etcd://{}/{prefix}", endpoints.join(","))
            })
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,80}") {
            let _ = Address::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_url_like_text(
            tail in "[a-zA-Z0-9:/\\[\\],.@?#%_ -]{0,60}",
        ) {
            let _ = Address::parse(&format!("etcd://{tail}"));
        }

        #[test]
        fn what_parses_displays_as_itself_and_parses_back(text in url()) {
            let parsed = Address::parse(&text);
            // Duplicate endpoints are the only refusal these strings can meet.
            if let Ok(a) = parsed {
                let shown = a.to_string();
                prop_assert_eq!(Address::parse(&shown).unwrap(), a.clone());
                prop_assert_eq!(Address::parse(&shown).unwrap().to_string(), shown);
            } else {
                prop_assert!(parsed.unwrap_err().to_string().contains("named twice"));
            }
        }

        #[test]
        fn any_text_that_parses_round_trips(
            tail in "[a-zA-Z0-9:/\\[\\],._-]{0,40}",
        ) {
            if let Ok(a) = Address::parse(&format!("etcd://{tail}")) {
                prop_assert_eq!(Address::parse(&a.to_string()).unwrap(), a);
            }
        }
    }
}

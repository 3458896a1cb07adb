//! The configuration file, `$XDG_CONFIG_HOME/intervault/config.toml` (else
//! `~/.config/intervault/config.toml`): where the vault is, and how to reach it
//! when it lives on etcd.
//!
//! ```toml
//! vault = "etcd://10.0.0.5:2379,10.0.0.6:2379/agency/vault"   # or a directory
//!
//! [etcd]
//! ca = "tls/ca.pem"          # relative paths are relative to this file's directory
//! cert = "tls/client.pem"
//! key = "tls/client-key.pem"
//! timeout = "10s"
//! ```
//!
//! This module only reads the file into typed values, each with its line so that
//! a later refusal can point at it; which source wins (the command line, the
//! environment, this file, the default) is the binary's business. Unknown keys
//! are refused, not ignored: a misspelt `vualt` would otherwise silently send
//! the user to the default vault.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::store::address::Address;
use crate::timefmt::{format_duration, parse_duration};

/// How long a request to etcd may take when nothing says otherwise.
pub const DEFAULT_ETCD_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest etcd timeout accepted: beyond it a command that cannot reach
/// the cluster looks hung.
pub const MAX_ETCD_TIMEOUT: Duration = Duration::from_secs(3600);

/// A configuration file is a few lines; more is not one.
const MAX_BYTES: u64 = 64 * 1024;

/// What the file holds. Every key is optional, and an empty file is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// `vault`: a directory (relative to the file's directory) or an etcd URL.
    pub vault: Option<Setting<Address>>,
    /// The `[etcd]` table.
    pub etcd: EtcdSettings,
}

/// The `[etcd]` table: used only when the vault is on etcd.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdSettings {
    /// `ca`: the certificate authority of the servers (PEM).
    pub ca: Option<Setting<PathBuf>>,
    /// `cert`: this client's certificate (PEM).
    pub cert: Option<Setting<PathBuf>>,
    /// `key`: this client's private key (PEM).
    pub key: Option<Setting<PathBuf>>,
    /// `timeout`: a DURATION such as `10s`.
    pub timeout: Option<Setting<Duration>>,
}

/// A value and the line of the file that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value, checked and with relative paths made relative to the file.
    pub value: T,
    /// Its line, from 1.
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    vault: Option<Spanned<String>>,
    etcd: Option<RawEtcd>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEtcd {
    ca: Option<Spanned<String>>,
    cert: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

/// What the file may hold, as the fix of a file that does not parse.
const KEYS: &str = "correct it: the file takes vault = \"DIR or etcd://...\", and an [etcd] table with ca, cert, key and timeout (see FILES in 'man intervault')";

/// Where the file is: `XDG_CONFIG_HOME` and `HOME` as the environment gives
/// them (a relative one is ignored, as the XDG specification says). `None` when
/// neither is usable.
pub fn path(xdg_config_home: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    let absolute = |v: Option<&OsStr>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    absolute(xdg_config_home)
        .or_else(|| absolute(home).map(|home| home.join(".config")))
        .map(|dir| dir.join("intervault").join("config.toml"))
}

/// Reads the file at `path`; `None` when there is none.
///
/// # Errors
///
/// [`Error::Usage`] (exit 2) naming the file, and the line where there is one,
/// when it does not parse, holds an unknown key or a bad value, or may be
/// changed by another user; [`Error::Io`] when it exists but cannot be read.
pub fn load(path: &Path) -> Result<Option<Config>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io("inspect", path, e))?;
    check_ownership(path, &meta)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Error::usage(
            format!(
                "invalid config file {}: it is larger than {} KiB",
                path.display(),
                MAX_BYTES / 1024
            ),
            KEYS,
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::usage(
            format!(
                "invalid config file {}: it is not UTF-8 text",
                path.display()
            ),
            KEYS,
        )
    })?;
    parse(&text, path).map(Some)
}

/// The file decides where the vault is and which certificates vouch for it:
/// whoever may rewrite it may send the passphrase's work to their own vault.
fn check_ownership(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(Error::usage(
            format!("config file {} belongs to another user", path.display()),
            "it chooses where your vault is; use a file of your own",
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Error::usage(
            format!(
                "config file {} can be changed by other users (mode {:o})",
                path.display(),
                meta.mode() & 0o7777
            ),
            format!(
                "it chooses where your vault is; run 'chmod go-w {}'",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Parses the text of the file at `path` (which only names it in errors and
/// anchors its relative paths).
///
/// # Errors
///
/// As [`load`], but for the file's ownership and reading.
pub fn parse(text: &str, path: &Path) -> Result<Config> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let what = e.message().trim().replace(['\n', '\r'], "; ");
        let place = match e.span() {
            Some(span) => format!(", line {}", line_of(text, span.start)),
            None => String::new(),
        };
        Error::usage(
            format!("invalid config file {}{place}: {what}", path.display()),
            KEYS,
        )
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let file = File { text, path };
    let vault = raw
        .vault
        .map(|v| {
            file.setting("vault", &v, |text| {
                if text.starts_with('~') {
                    return Err(tilde());
                }
                match Address::parse(text)? {
                    Address::Dir(dir) => Ok(Address::Dir(base.join(dir))),
                    etcd => Ok(etcd),
                }
            })
        })
        .transpose()?;
    let mut etcd = EtcdSettings::default();
    if let Some(raw) = raw.etcd {
        let paths = |key: &str, v: Option<Spanned<String>>| {
            v.map(|v| file.setting(key, &v, |text| relative_to(base, text)))
                .transpose()
        };
        etcd.ca = paths("ca", raw.ca)?;
        etcd.cert = paths("cert", raw.cert)?;
        etcd.key = paths("key", raw.key)?;
        etcd.timeout = raw
            .timeout
            .map(|v| file.setting("timeout", &v, parse_timeout))
            .transpose()?;
    }
    Ok(Config {
        path: path.to_owned(),
        vault,
        etcd,
    })
}

/// The text being parsed and its name, to place a value's refusal.
struct File<'a> {
    text: &'a str,
    path: &'a Path,
}

impl File<'_> {
    /// The value of `key`, read by `read`, with its line; a refusal of it names
    /// the file, the line and the key.
    fn setting<T>(
        &self,
        key: &str,
        value: &Spanned<String>,
        read: impl Fn(&str) -> Result<T>,
    ) -> Result<Setting<T>> {
        let line = line_of(self.text, value.span().start);
        match read(value.get_ref()) {
            Ok(value) => Ok(Setting { value, line }),
            Err(Error::Usage { what, fix }) => Err(Error::usage(
                format!(
                    "invalid config file {}, line {line}: {key}: {what}",
                    self.path.display()
                ),
                fix,
            )),
            Err(other) => Err(other),
        }
    }
}

/// A path from the file: absolute, or relative to the file's directory.
fn relative_to(base: &Path, text: &str) -> Result<PathBuf> {
    if text.is_empty() {
        return Err(Error::usage(
            "the path is empty",
            "give a path, or remove the line",
        ));
    }
    if text.starts_with('~') {
        return Err(tilde());
    }
    Ok(base.join(text))
}

/// `~` is a shell's expansion, not a file's: taken as it is, it would name a
/// directory called `~`.
fn tilde() -> Error {
    Error::usage(
        "'~' is not expanded in this file",
        "write the full path, or one relative to the file's directory",
    )
}

/// An etcd request timeout: a DURATION from 1 s to 1 h.
///
/// # Errors
///
/// [`Error::Usage`] (exit 2) for a malformed or out-of-range duration.
pub fn parse_timeout(text: &str) -> Result<Duration> {
    let delta = parse_duration(text)?;
    let long = delta
        .to_std()
        .map_err(|_| Error::usage("a timeout cannot be negative", "give one such as 10s"))?;
    if long > MAX_ETCD_TIMEOUT {
        return Err(Error::usage(
            format!("an etcd timeout of {} is too long", format_duration(delta)),
            "give at most 1h",
        ));
    }
    Ok(long)
}

/// The line, from 1, of byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .unwrap_or(text)
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file() -> &'static Path {
        Path::new("/home/me/.config/intervault/config.toml")
    }

    fn refused(text: &str) -> String {
        match parse(text, file()) {
            Err(e @ Error::Usage { .. }) => e.to_string(),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn the_path_follows_xdg_then_home() {
        let p = |x: Option<&str>, h: Option<&str>| path(x.map(OsStr::new), h.map(OsStr::new));
        assert_eq!(
            p(Some("/x"), Some("/h")),
            Some(PathBuf::from("/x/intervault/config.toml"))
        );
        assert_eq!(
            p(Some("relative"), Some("/h")),
            Some(PathBuf::from("/h/.config/intervault/config.toml"))
        );
        assert_eq!(
            p(None, Some("/h")),
            Some(PathBuf::from("/h/.config/intervault/config.toml"))
        );
        assert_eq!(p(None, None), None);
    }

    #[test]
    fn every_key_is_read_with_its_line_and_paths_relative_to_the_file() {
        let c = parse(
            "# where\nvault = \"etcd://10.0.0.5:2379/agency/vault\"\n\n[etcd]\nca = \"tls/ca.pem\"\ncert = \"/etc/iv/client.pem\"\nkey = \"client-key.pem\"\ntimeout = \"1m30s\"\n",
            file(),
        )
        .unwrap();
        let vault = c.vault.unwrap();
        assert_eq!(vault.line, 2);
        assert_eq!(vault.value.to_string(), "etcd://10.0.0.5:2379/agency/vault");
        let ca = c.etcd.ca.unwrap();
        assert_eq!(
            (ca.value, ca.line),
            (PathBuf::from("/home/me/.config/intervault/tls/ca.pem"), 5)
        );
        assert_eq!(
            c.etcd.cert.unwrap().value,
            PathBuf::from("/etc/iv/client.pem")
        );
        assert_eq!(
            c.etcd.key.unwrap().value,
            PathBuf::from("/home/me/.config/intervault/client-key.pem")
        );
        assert_eq!(c.etcd.timeout.unwrap().value, Duration::from_secs(90));
    }

    #[test]
    fn an_empty_file_sets_nothing_and_a_directory_is_relative_to_the_file() {
        let c = parse("", file()).unwrap();
        assert_eq!((c.vault, c.etcd), (None, EtcdSettings::default()));
        let c = parse("vault = \"vaults/work\"", file()).unwrap();
        assert_eq!(
            c.vault.unwrap().value,
            Address::Dir("/home/me/.config/intervault/vaults/work".into())
        );
    }

    #[test]
    fn mistakes_name_the_file_the_line_and_what_is_wrong() {
        let shown = refused("vault = \"/v\"\nvualt = \"/w\"\n");
        assert!(
            shown.starts_with(
                "invalid config file /home/me/.config/intervault/config.toml, line 2: unknown field `vualt`, expected `vault` or `etcd`: correct it"
            ),
            "{shown}"
        );
        let shown = refused("[etcd]\nca = \"a\"\ncafile = \"b\"\n");
        assert!(
            shown.contains(", line 3: unknown field `cafile`"),
            "{shown}"
        );
        let shown = refused("vault = /v\n");
        assert!(shown.contains(", line 1: "), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
        let shown = refused("[etcd]\ntimeout = 10\n");
        assert!(shown.contains(", line 2: "), "{shown}");
        let shown = refused("\nvault = \"etcd://h/v\"\n");
        assert!(
            shown.contains(", line 2: vault: invalid etcd URL: the endpoint \"h\" has no port"),
            "{shown}"
        );
        assert!(shown.ends_with(crate::store::address::URL_FORM), "{shown}");
        let shown = refused("[etcd]\n\ntimeout = \"soon\"\n");
        assert!(
            shown.contains(", line 3: timeout: invalid duration \"soon\""),
            "{shown}"
        );
        let shown = refused("[etcd]\nkey = \"~/k.pem\"\n");
        assert!(
            shown.contains("line 2: key: '~' is not expanded"),
            "{shown}"
        );
        let shown = refused("vault = \"~/vault\"\n");
        assert!(
            shown.contains("line 1: vault: '~' is not expanded"),
            "{shown}"
        );
        let shown = refused("[etcd]\nca = \"\"\n");
        assert!(shown.contains("line 2: ca: the path is empty"), "{shown}");
    }

    #[test]
    fn timeouts_run_from_one_second_to_one_hour() {
        assert_eq!(parse_timeout("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_timeout("1h").unwrap(), MAX_ETCD_TIMEOUT);
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("61m")
            .unwrap_err()
            .to_string()
            .contains("too long: give at most 1h"));
        assert_eq!(parse_timeout("x").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn a_missing_file_is_none_and_a_file_others_may_change_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.toml");
        assert_eq!(load(&path).unwrap(), None);
        std::fs::write(&path, "vault = \"/v\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            load(&path).unwrap().unwrap().vault.unwrap().value,
            Address::Dir("/v".into())
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        let e = load(&path).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .contains("can be changed by other users (mode 664)"),
            "{e}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, b"vault = \"\xff\"").unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("not UTF-8"));
    }
}

//! Which vault a command works on, and how to reach it: the options, the
//! environment and the configuration file resolved into one [`Target`].
//!
//! Each setting is taken from the first of: its flag, its environment
//! variable, the configuration file, the default. The file is read only when
//! it is needed (no vault given, or an etcd vault whose TLS files or timeout
//! may be in it), so a broken file cannot stop the sweep timer of a vault
//! named by INTERVAULT_DIR. The file's `[etcd]` table applies only to an etcd
//! vault; a TLS or timeout option given on the command line or in the
//! environment for a directory vault is refused, since it would do nothing.

use std::path::PathBuf;
use std::time::Duration;

use intervault::config::{self, Config, Setting, DEFAULT_ETCD_TIMEOUT};
use intervault::store::address::{Address, EtcdAddress, TlsFiles};
use intervault::{Error, Result};

use super::Global;

/// The vault a command works on, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where the vault is.
    pub address: Address,
    /// The TLS files, for an etcd vault reached over TLS.
    pub tls: Option<TlsFiles>,
    /// How long one request to etcd may take.
    pub timeout: Duration,
    /// Who chose the address, for advice that points there.
    pub origin: Origin,
}

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Its flag, e.g. `--vault`.
    Flag(&'static str),
    /// Its environment variable, e.g. `INTERVAULT_DIR`.
    Env(&'static str),
    /// A key of the configuration file.
    Config {
        /// The key, e.g. `vault` or `ca`.
        key: &'static str,
        /// The file.
        file: PathBuf,
        /// Its line.
        line: usize,
    },
    /// The default directory.
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(name) | Origin::Env(name) => f.write_str(name),
            Origin::Config { key, file, line } => {
                write!(f, "{key} in {} (line {line})", file.display())
            }
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// One of the global options that choose the vault, by its clap id.
struct Opt {
    id: &'static str,
    flag: &'static str,
    env: &'static str,
}

const VAULT: Opt = Opt {
    id: "vault",
    flag: "--vault",
    env: "INTERVAULT_DIR",
};
const CA: Opt = Opt {
    id: "etcd_ca",
    flag: "--etcd-ca",
    env: "INTERVAULT_ETCD_CA",
};
const CERT: Opt = Opt {
    id: "etcd_cert",
    flag: "--etcd-cert",
    env: "INTERVAULT_ETCD_CERT",
};
const KEY: Opt = Opt {
    id: "etcd_key",
    flag: "--etcd-key",
    env: "INTERVAULT_ETCD_KEY",
};
const TIMEOUT: Opt = Opt {
    id: "etcd_timeout",
    flag: "--etcd-timeout",
    env: "INTERVAULT_ETCD_TIMEOUT",
};

/// The clap ids of the options above, whose source `parse` records.
pub const IDS: [&str; 5] = [VAULT.id, CA.id, CERT.id, KEY.id, TIMEOUT.id];

impl Opt {
    /// The flag or the variable, as clap says the value came.
    fn origin(&self, global: &Global) -> Origin {
        match global.from_env.contains(&self.id) {
            true => Origin::Env(self.env),
            false => Origin::Flag(self.flag),
        }
    }
}

/// Resolves the vault and its connection settings from `global` and the
/// environment (`XDG_CONFIG_HOME`, `HOME`, `XDG_DATA_HOME`).
pub fn resolve(global: &Global) -> Result<Target> {
    resolve_in(global, &mut Lazy::from_env(), false)
}

/// Resolves the vault and the other location a command names (`migrate --to`,
/// `restore --into`, given as `flag`): an etcd URL there is reached with the
/// same TLS files and timeout as an etcd vault, so those options are not stray
/// for a directory vault; plain connections only to loopback, as for the vault.
pub fn resolve_pair(
    global: &Global,
    other: &std::ffi::OsStr,
    flag: &'static str,
) -> Result<(Target, Target)> {
    let origin = Origin::Flag(flag);
    let address = Address::parse_os(other).map_err(|e| from(&origin, e))?;
    let mut config = Lazy::from_env();
    let etcd_there = matches!(address, Address::Etcd(_));
    let vault = resolve_in(global, &mut config, etcd_there)?;
    let other = match address {
        Address::Dir(dir) => Target {
            address: Address::Dir(dir),
            tls: None,
            timeout: DEFAULT_ETCD_TIMEOUT,
            origin,
        },
        Address::Etcd(etcd) => etcd_target(global, &mut config, etcd, origin)?,
    };
    Ok((vault, other))
}

fn resolve_in(global: &Global, config: &mut Lazy, etcd_elsewhere: bool) -> Result<Target> {
    let (address, origin) = match global
        .vault
        .as_deref()
        .filter(|v| !v.as_os_str().is_empty())
    {
        Some(given) => {
            let origin = VAULT.origin(global);
            let address = Address::parse_os(given.as_os_str()).map_err(|e| from(&origin, e))?;
            (address, origin)
        }
        None => match config.get()?.and_then(|c| c.vault.clone()) {
            Some(Setting { value, line }) => {
                let file = config.path().unwrap_or_default();
                let origin = Origin::Config {
                    key: "vault",
                    file,
                    line,
                };
                (value, origin)
            }
            None => (Address::Dir(default_dir()?), Origin::Default),
        },
    };
    match address {
        Address::Dir(dir) => {
            if !etcd_elsewhere {
                refuse_etcd_options(global, &dir)?;
            }
            Ok(Target {
                address: Address::Dir(dir),
                tls: None,
                timeout: DEFAULT_ETCD_TIMEOUT,
                origin,
            })
        }
        Address::Etcd(etcd) => etcd_target(global, config, etcd, origin),
    }
}

/// An etcd location with its TLS files and timeout, from the options, the
/// environment or the configuration file.
fn etcd_target(
    global: &Global,
    config: &mut Lazy,
    etcd: EtcdAddress,
    origin: Origin,
) -> Result<Target> {
    let settings = config.get()?.map(|c| c.etcd.clone()).unwrap_or_default();
    let file = config.path().unwrap_or_default();
    let from_file = |key: &'static str, s: &Option<Setting<PathBuf>>| {
        s.as_ref().map(|s| {
            let origin = Origin::Config {
                key,
                file: file.clone(),
                line: s.line,
            };
            (s.value.clone(), origin)
        })
    };
    let pick = |opt: &Opt, given: &Option<PathBuf>, key, s| {
        given
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| (p, opt.origin(global)))
            .or_else(|| from_file(key, s))
    };
    let ca = pick(&CA, &global.etcd_ca, "ca", &settings.ca);
    let cert = pick(&CERT, &global.etcd_cert, "cert", &settings.cert);
    let key = pick(&KEY, &global.etcd_key, "key", &settings.key);
    // Each value first, then how they go together.
    let timeout = match global.etcd_timeout.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => config::parse_timeout(text).map_err(|e| from(&TIMEOUT.origin(global), e))?,
        None => settings.timeout.map_or(DEFAULT_ETCD_TIMEOUT, |s| s.value),
    };
    let tls = tls_files(ca, cert, key)?;
    if tls.is_none() && !etcd.all_loopback() {
        return Err(plain_refused(&etcd));
    }
    Ok(Target {
        address: Address::Etcd(etcd),
        tls,
        timeout,
        origin,
    })
}

/// The configuration file, read the first time it is asked for.
struct Lazy {
    path: Option<PathBuf>,
    read: Option<Option<Config>>,
}

impl Lazy {
    /// The file `XDG_CONFIG_HOME` or `HOME` names.
    fn from_env() -> Self {
        let env = |name: &str| std::env::var_os(name);
        let path = config::path(env("XDG_CONFIG_HOME").as_deref(), env("HOME").as_deref());
        Lazy { path, read: None }
    }

    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    fn get(&mut self) -> Result<Option<&Config>> {
        if self.read.is_none() {
            let loaded = match &self.path {
                Some(path) => config::load(path)?,
                None => None,
            };
            self.read = Some(loaded);
        }
        Ok(self.read.as_ref().and_then(Option::as_ref))
    }
}

/// A usage error about a value, prefixed with the option or variable that gave it.
fn from(origin: &Origin, e: Error) -> Error {
    match e {
        Error::Usage { what, fix } => Error::usage(format!("{origin}: {what}"), fix),
        other => other,
    }
}

/// TLS or timeout options given for a directory vault, where they would do nothing.
fn refuse_etcd_options(global: &Global, dir: &std::path::Path) -> Result<()> {
    let given = |opt: &Opt, set: bool| set.then(|| opt.origin(global).to_string());
    let nonempty = |p: &Option<PathBuf>| p.as_ref().is_some_and(|p| !p.as_os_str().is_empty());
    let stray: Vec<String> = [
        given(&CA, nonempty(&global.etcd_ca)),
        given(&CERT, nonempty(&global.etcd_cert)),
        given(&KEY, nonempty(&global.etcd_key)),
        given(
            &TIMEOUT,
            global.etcd_timeout.as_ref().is_some_and(|t| !t.is_empty()),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if stray.is_empty() {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "{} {} only for a vault on etcd, but the vault is the directory {}",
            and_list(&stray),
            if stray.len() == 1 { "is" } else { "are" },
            dir.display()
        ),
        "leave out the etcd options, or give the vault's etcd:// URL with --vault or INTERVAULT_DIR",
    ))
}

/// All three TLS files, or none; a partial set names what is missing.
fn tls_files(
    ca: Option<(PathBuf, Origin)>,
    cert: Option<(PathBuf, Origin)>,
    key: Option<(PathBuf, Origin)>,
) -> Result<Option<TlsFiles>> {
    match (ca, cert, key) {
        (None, None, None) => Ok(None),
        (Some((ca, _)), Some((cert, _)), Some((key, _))) => Ok(Some(TlsFiles { ca, cert, key })),
        (ca, cert, key) => {
            let given: Vec<String> = [&ca, &cert, &key]
                .into_iter()
                .flatten()
                .map(|(_, origin)| origin.to_string())
                .collect();
            let missing: Vec<String> = [(&ca, &CA), (&cert, &CERT), (&key, &KEY)]
                .into_iter()
                .filter(|(set, _)| set.is_none())
                .map(|(_, opt)| opt.flag.to_owned())
                .collect();
            Err(Error::usage(
                format!(
                    "incomplete TLS options for etcd: {} {} given, but {} {} missing",
                    and_list(&given),
                    if given.len() == 1 { "is" } else { "are" },
                    and_list(&missing),
                    if missing.len() == 1 { "is" } else { "are" },
                ),
                format!("give all three or none: {TLS_WAYS}"),
            ))
        }
    }
}

/// How the TLS files can be given.
const TLS_WAYS: &str = "--etcd-ca, --etcd-cert and --etcd-key, or INTERVAULT_ETCD_CA, INTERVAULT_ETCD_CERT and INTERVAULT_ETCD_KEY, or ca, cert and key in the [etcd] table of the config file";

/// A connection without TLS to a machine other than this one.
fn plain_refused(etcd: &EtcdAddress) -> Error {
    Error::usage(
        format!(
            "refusing to reach {etcd} without TLS: not every endpoint is on this machine, and anyone on the way could read and change what the vault sends"
        ),
        format!("give the cluster's CA and a client certificate and key: {TLS_WAYS}"),
    )
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `$XDG_DATA_HOME/intervault`, then `~/.local/share/intervault`.
fn default_dir() -> Result<PathBuf> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(data) = from_env("XDG_DATA_HOME") {
        return Ok(data.join("intervault"));
    }
    if let Some(home) = from_env("HOME") {
        return Ok(home.join(".local/share/intervault"));
    }
    Err(Error::usage(
        "no vault directory: neither XDG_DATA_HOME nor HOME is set",
        "give --vault DIR or set INTERVAULT_DIR",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(name: &'static str) -> Option<(PathBuf, Origin)> {
        Some((PathBuf::from(name), Origin::Flag(name)))
    }

    #[test]
    fn tls_files_are_all_three_or_none_and_a_partial_set_names_the_missing() {
        assert_eq!(tls_files(None, None, None).unwrap(), None);
        let all = tls_files(given("a"), given("b"), given("c"))
            .unwrap()
            .unwrap();
        assert_eq!(all.key, PathBuf::from("c"));
        let e = tls_files(None, given("--etcd-cert"), None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().starts_with(
                "incomplete TLS options for etcd: --etcd-cert is given, but --etcd-ca and --etcd-key are missing: give all three or none: "
            ),
            "{e}"
        );
    }

    #[test]
    fn lists_read_as_english() {
        let l = |items: &[&str]| and_list(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(l(&["a"]), "a");
        assert_eq!(l(&["a", "b"]), "a and b");
        assert_eq!(l(&["a", "b", "c"]), "a, b and c");
    }
}

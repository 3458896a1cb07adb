//! The line a failure prints: the library's words, with the advice that only
//! the binary can give because it knows this command line, its flags and
//! variables, and whether the vault is a directory or on etcd (as rage wraps
//! age's errors). The library says "choose the location of your vault"; here
//! that becomes "point --vault or INTERVAULT_DIR at your vault".

use intervault::store::address::Address;
use intervault::Error;

use super::target::{Origin, Target};

/// A failed command as the user meets it.
#[derive(Debug)]
pub struct Failure {
    /// What follows `intervault: `, on one line.
    pub line: String,
    /// The contract's exit code.
    pub code: u8,
}

impl Failure {
    /// The failure of `e` in a command working on `target` (`None` before the
    /// vault was resolved).
    pub fn of(e: &Error, target: Option<&Target>) -> Failure {
        // One line, whatever a message from below may hold.
        let line = line(e, target).replace(['\n', '\r'], " ");
        Failure {
            line,
            code: e.exit_code(),
        }
    }
}

/// The message of `e`, its advice naming the flags that apply.
fn line(e: &Error, target: Option<&Target>) -> String {
    let etcd = target.and_then(|t| match &t.address {
        Address::Etcd(etcd) => Some(etcd.to_string()),
        Address::Dir(_) => None,
    });
    // Where else the vault can be chosen: the config file too, when it chose.
    let point = match target.map(|t| &t.origin) {
        Some(Origin::Config { file, line, .. }) => format!(
            "--vault, INTERVAULT_DIR or vault in {} (line {line})",
            file.display()
        ),
        _ => "--vault or INTERVAULT_DIR".to_owned(),
    };
    match e {
        Error::NoVault { at } => match etcd {
            Some(url) => format!(
                "no vault at {url}: run 'intervault init' to create one under that prefix, or point {point} at your vault's etcd:// URL"
            ),
            None => format!(
                "no vault at {at}: run 'intervault init', or point {point} at your vault"
            ),
        },
        Error::VaultExists { at } => match etcd {
            Some(url) => format!(
                "a vault already exists at {url}: use it, or choose another prefix in the etcd:// URL given with --vault"
            ),
            None => format!(
                "a vault already exists at {at}: use it, or choose another directory with --vault"
            ),
        },
        Error::Moved { from, to } => format!(
            "the vault at {from} was moved to {to}: point {point} at it; the move was interrupted before this directory was wiped: run 'intervault --vault {from} migrate --to {to}' to finish it"
        ),
        Error::MigrationUnfinished { at, from } => format!(
            "no vault at {at} yet: the move of the directory vault {from} into it was interrupted; run 'intervault --vault {from} migrate --to {at}' on the machine that holds that directory to finish it"
        ),
        Error::WrongPassphrase => "wrong passphrase: the vault was not unlocked; try again (check --passphrase-file or INTERVAULT_PASSPHRASE if set)".to_owned(),
        Error::NoSuchIntervention { id } => {
            format!("no intervention '{id}': see 'intervault list --all' for the IDs in this vault")
        }
        Error::FieldNotSet { id, name, field } => format!(
            "credential '{name}' in '{id}' has no {field}: it was never set; ask for another field, or add it again with --replace"
        ),
        Error::CredentialExists { id, name } => {
            format!("credential '{name}' already exists in '{id}': add --replace to overwrite it")
        }
        Error::Keyring { what } => format!(
            "{what}: the vault stays locked; on Linux, run intervault inside a session keyring of its own ('keyctl session - bash', package keyutils), or use a build with --features secret-service (GNOME Keyring, KWallet)"
        ),
        Error::Declined { what } => format!(
            "{what}: you answered no, so nothing was changed (answer y, or give --yes, to go ahead)"
        ),
        Error::RolledBack { found, seen } => format!(
            "the vault was rolled back: it is at generation {found}, but this machine has seen generation {seen}; an older copy was put back, which would bring back interventions wiped since; if you restored it on purpose, run the command again with --accept-rollback (it wipes those interventions again first)"
        ),
        Error::StoreRolledBack { what } => format!(
            "{what}; if you restored it on purpose, run the command again with --accept-rollback (it wipes those interventions again first)"
        ),
        Error::NotRecorded(cause) => format!(
            "refused, because the audit trail could not record it: {}",
            line(cause, target)
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use intervault::config::DEFAULT_ETCD_TIMEOUT;
    use std::path::PathBuf;

    fn dir(origin: Origin) -> Target {
        Target {
            address: Address::Dir("/v".into()),
            tls: None,
            timeout: DEFAULT_ETCD_TIMEOUT,
            origin,
        }
    }

    fn etcd() -> Target {
        Target {
            address: Address::parse("etcd://127.0.0.1:2379/agency/vault").unwrap(),
            tls: None,
            timeout: DEFAULT_ETCD_TIMEOUT,
            origin: Origin::Flag("--vault"),
        }
    }

    #[test]
    fn a_directory_user_reads_what_they_always_read() {
        let no_vault = Error::NoVault {
            at: std::path::Path::new("/v").into(),
        };
        assert_eq!(
            Failure::of(&no_vault, Some(&dir(Origin::Default))).line,
            "no vault at /v: run 'intervault init', or point --vault or INTERVAULT_DIR at your vault"
        );
        assert_eq!(
            Failure::of(&no_vault, None).line,
            "no vault at /v: run 'intervault init', or point --vault or INTERVAULT_DIR at your vault"
        );
        let wrapped = Error::NotRecorded(Box::new(Error::WrongPassphrase));
        let f = Failure::of(&wrapped, None);
        assert_eq!(
            f.line,
            "refused, because the audit trail could not record it: wrong passphrase: the vault was not unlocked; try again (check --passphrase-file or INTERVAULT_PASSPHRASE if set)"
        );
        assert_eq!(f.code, 4);
    }

    #[test]
    fn the_advice_points_where_the_vault_was_chosen() {
        let no_vault = Error::NoVault {
            at: std::path::Path::new("/v").into(),
        };
        let from_file = dir(Origin::Config {
            key: "vault",
            file: PathBuf::from("/h/.config/intervault/config.toml"),
            line: 3,
        });
        assert_eq!(
            Failure::of(&no_vault, Some(&from_file)).line,
            "no vault at /v: run 'intervault init', or point --vault, INTERVAULT_DIR or vault in /h/.config/intervault/config.toml (line 3) at your vault"
        );
        let f = Failure::of(&no_vault, Some(&etcd()));
        assert_eq!(
            f.line,
            "no vault at etcd://127.0.0.1:2379/agency/vault: run 'intervault init' to create one under that prefix, or point --vault or INTERVAULT_DIR at your vault's etcd:// URL"
        );
        assert_eq!(f.code, 5);
        let exists = Error::VaultExists {
            at: std::path::Path::new("/v").into(),
        };
        assert!(Failure::of(&exists, Some(&etcd()))
            .line
            .contains("choose another prefix"));
    }

    #[test]
    fn other_errors_keep_the_library_words_on_one_line() {
        let e = Error::usage("a\nb", "c\rd");
        let f = Failure::of(&e, None);
        assert_eq!((f.line.as_str(), f.code), ("a b: c d", 2));
    }
}

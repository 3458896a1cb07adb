//! `migrate --to URL`.

use intervault::store::address::Address;
use intervault::store::SharedStore;
use intervault::vault::Vault;
use intervault::{Error, Result};

use super::target::Target;
use super::ui::TerminalUi;

pub fn migrate(
    vault: &Vault,
    ui: &mut TerminalUi,
    to: Option<(Target, SharedStore)>,
) -> Result<()> {
    let Some((target, store)) = to else {
        return Err(Error::Internal("migrate without its --to".into()));
    };
    if let Address::Dir(dir) = &target.address {
        return Err(Error::usage(
            format!("--to {} is a directory", dir.display()),
            "migrate moves a directory vault into etcd: give --to etcd://HOST:PORT[,HOST:PORT...]/PREFIX",
        ));
    }
    let report = vault.migrate(store, ui)?;
    match report.resumed {
        false => outln!(
            "moved the vault from {} to {}: every object copied as it was (still sealed: the same passphrase opens it), the copy opened and checked against the directory ({} live intervention(s), {} tombstone(s)), then the directory shredded and removed",
            report.from.display(),
            report.to,
            report.interventions,
            report.tombstones,
        ),
        true => outln!(
            "finished the interrupted move of the vault from {} to {} (its copy was checked before the switch): the vault is there, and the directory is shredded and removed",
            report.from.display(),
            report.to,
        ),
    }
    if !report.backup_dirs.is_empty() {
        let dirs: Vec<String> = report
            .backup_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        outln!(
            "managed backups stay this vault's: {} (wipes on the new vault still take interventions out of them, from this machine)",
            dirs.join(", ")
        );
    }
    outln!(
        "move the sweep timer to the new vault: its command is now {}",
        sweep_command(&target)
    );
    Ok(())
}

/// The sweep command for the vault at `target`, with its TLS options.
fn sweep_command(target: &Target) -> String {
    let mut words = vec![
        "intervault".to_owned(),
        "--vault".to_owned(),
        quoted(&target.address.to_string()),
    ];
    if let Some(tls) = &target.tls {
        for (flag, path) in [
            ("--etcd-ca", &tls.ca),
            ("--etcd-cert", &tls.cert),
            ("--etcd-key", &tls.key),
        ] {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            words.push(flag.to_owned());
            words.push(quoted(&path.display().to_string()));
        }
    }
    words.push("sweep".to_owned());
    words.join(" ")
}

/// `text` as one shell word.
fn quoted(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/.:,_-=@".contains(c));
    match plain {
        true => text.to_owned(),
        false => format!("'{}'", text.replace('\'', r"'\''")),
    }
}

//! `backup`, `backup verify`, `restore`.

use std::path::{Path, PathBuf};

use intervault::timefmt::{format_local, format_utc};
use intervault::vault::Vault;
use intervault::{Error, Result};
use serde_json::json;

use super::render;
use super::target::Target;
use super::ui::TerminalUi;
use intervault::store::SharedStore;

pub fn backup(vault: &Vault, ui: &mut TerminalUi, to: Option<PathBuf>, json: bool) -> Result<()> {
    let report = vault.backup(to, ui)?;
    if json {
        render::print_json(&json!({
            "written": report.written,
            "generation": report.generation,
            "interventions": report.interventions,
        }));
        return Ok(());
    }
    for path in &report.written {
        outln!(
            "backup written: {} (generation {}, {} live intervention(s))",
            path.display(),
            report.generation,
            report.interventions
        );
    }
    Ok(())
}

/// `backup verify [FILE]`: without FILE, the newest managed backup.
pub fn verify(vault: &Vault, ui: &mut TerminalUi, file: Option<PathBuf>, json: bool) -> Result<()> {
    let file = match file {
        Some(file) => file,
        None => vault.latest_backup()?.ok_or_else(|| Error::Input {
            what: "no managed backup to verify".into(),
            fix:
                "make one with 'intervault backup', or name the file: intervault backup verify FILE"
                    .into(),
            code: 5,
        })?,
    };
    let file = file.as_path();
    let check = vault.backup_verify(file, ui)?;
    if json {
        render::print_json(&json!({
            "intact": true,
            "created_at": format_utc(check.created_at),
            "generation": check.generation,
            "interventions": check.interventions,
            "taken_out": check.taken_out,
        }));
        return Ok(());
    }
    let place = match vault.dir() {
        Some(_) => "a private place in the vault directory",
        None => "a private temporary directory",
    };
    outln!(
        "backup {} is intact: made {}, generation {}; restored into {place} (shredded since), {} intervention(s) opened and checked against its manifest, {} taken out since (wiped)",
        file.display(),
        format_local(check.created_at),
        check.generation,
        check.interventions,
        check.taken_out
    );
    Ok(())
}

pub fn restore(
    vault: &Vault,
    ui: &mut TerminalUi,
    file: &Path,
    into: &Path,
    other: Option<(Target, SharedStore)>,
    json: bool,
) -> Result<()> {
    let (report, shown) = match other {
        Some((target, store)) if target.address.as_dir().is_none() => (
            vault.restore_to_store(file, store, ui)?,
            target.address.to_string(),
        ),
        _ => (vault.restore(file, into, ui)?, into.display().to_string()),
    };
    if json {
        let dropped: Vec<_> = report
            .dropped
            .iter()
            .map(|d| {
                let t = &d.tombstone;
                json!({"id": t.id, "client": t.client, "reason": t.reason.to_string(),
                       "why": d.why, "wiped_at": format_utc(t.wiped_at), "receipt": t.receipt})
            })
            .collect();
        render::print_json(&json!({"restored": report.restored, "dropped": dropped}));
        return Ok(());
    }
    outln!(
        "restored into {shown}: {}",
        if report.restored.is_empty() {
            "no live intervention".to_owned()
        } else {
            report.restored.join(", ")
        }
    );
    for d in &report.dropped {
        outln!("not brought back: {} ({})", d.tombstone.id, d.why);
        for line in super::documents::receipt_text(&d.tombstone, intervault::lang::Lang::En).lines()
        {
            outln!("  {line}");
        }
    }
    Ok(())
}

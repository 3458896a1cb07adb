//! `init`, `open`, `list`, `show`, `extend`, `close`, `sweep`.

use intervault::crypto::KdfParams;
use intervault::lang::Lang;
use intervault::store::Purge;
use intervault::timefmt::{format_local, parse_duration, parse_time};
use intervault::vault::{NewEnd, NewIntervention, Vault, WindowSpec};
use intervault::wipe::WipeRecord;
use intervault::{Error, Result};
use serde_json::json;
use std::io::IsTerminal;

use super::documents;
use super::render;
use super::ui::TerminalUi;

pub fn init(
    vault: &Vault,
    ui: &mut TerminalUi,
    [memory_mib, iterations, parallelism]: [Option<u32>; 3],
    keyring: bool,
) -> Result<()> {
    let d = KdfParams::DEFAULT;
    let kdf = KdfParams {
        memory_kib: memory_mib.map_or(d.memory_kib, |m| m.saturating_mul(1024)),
        iterations: iterations.unwrap_or(d.iterations),
        parallelism: parallelism.unwrap_or(d.parallelism),
    };
    vault.init_with(
        intervault::vault::InitOptions {
            kdf,
            // Given passes are kept; otherwise they are measured here.
            calibrate: iterations.is_none(),
            keyring_keys: keyring,
        },
        ui,
    )?;
    errln!("intervault: created a vault at {}", vault.address());
    if keyring {
        errln!(
            "intervault: intervention keys are kept only in the OS keyring: on Linux in the user's persistent kernel keyring, which every login session and the sweep timer reach, and which the kernel empties at reboot and after 3 days without any intervault command, taking the credentials with it; with the Secret Service or the macOS Keychain they persist (see 'man intervault-init')"
        );
    }
    Ok(())
}

/// Turns `--for` / `--until` / `--from` into a window (clap has checked that
/// exactly one of `--for` and `--until` is there). `--from TIME --for DURATION`
/// is a scheduled window given as a length: it ends at TIME + DURATION.
pub fn window_spec(
    for_: Option<String>,
    until: Option<String>,
    from: Option<String>,
) -> Result<WindowSpec> {
    let from = from.as_deref().map(parse_time).transpose()?;
    let until = match (for_, from) {
        (Some(d), None) => return Ok(WindowSpec::For(parse_duration(&d)?)),
        (Some(d), Some(from)) => from
            .checked_add_signed(parse_duration(&d)?)
            .ok_or_else(|| Error::usage("the window ends too far away", "give a shorter --for"))?,
        (None, _) => parse_time(until.as_deref().unwrap_or_default())?,
    };
    Ok(WindowSpec::Range { from, until })
}

/// Turns `extend --until` / `--for` into the new end (clap has checked that
/// exactly one is there): `--for` adds to the end now planned.
pub fn new_end(until: Option<String>, for_: Option<String>) -> Result<NewEnd> {
    match for_ {
        Some(d) => Ok(NewEnd::Later(parse_duration(&d)?)),
        None => Ok(NewEnd::At(parse_time(
            until.as_deref().unwrap_or_default(),
        )?)),
    }
}

pub fn open(
    vault: &Vault,
    ui: &mut TerminalUi,
    id: String,
    client: String,
    window: WindowSpec,
    note: Option<String>,
    json: bool,
) -> Result<()> {
    let new = NewIntervention {
        id,
        client,
        window,
        note,
    };
    let s = vault.open(&new, ui)?;
    if json {
        render::print_json(&render::summary_json(&s));
    } else {
        outln!(
            "opened {} for {}: {} -> {} ({})",
            s.id,
            s.client,
            format_local(s.window.from),
            format_local(s.window.until),
            s.status.as_str()
        );
    }
    Ok(())
}

pub fn list(vault: &Vault, ui: &mut TerminalUi, all: bool, json: bool) -> Result<()> {
    let items = vault.list(ui, all)?;
    if json {
        let arr: Vec<_> = items.iter().map(render::summary_json).collect();
        render::print_json(&arr);
    } else {
        out!("{}", render::list_text(&items));
    }
    Ok(())
}

pub fn show(
    vault: &Vault,
    ui: &mut TerminalUi,
    id: &str,
    lang: Option<Lang>,
    json: bool,
) -> Result<()> {
    let d = vault.show(id, lang, ui)?;
    let lang = documents::resolve(d.lang);
    if json {
        let mut v = render::detail_json(&d);
        v["lang"] = json!(lang.code());
        render::print_json(&v);
    } else {
        out!("{}", documents::detail_text(&d, lang));
    }
    Ok(())
}

pub fn extend(
    vault: &Vault,
    ui: &mut TerminalUi,
    id: &str,
    end: NewEnd,
    reason: &str,
    json: bool,
) -> Result<()> {
    let s = vault.extend_to(id, end, reason, ui)?;
    if json {
        render::print_json(&render::summary_json(&s));
    } else {
        outln!(
            "{} now runs {} -> {}",
            s.id,
            format_local(s.window.from),
            format_local(s.window.until)
        );
    }
    Ok(())
}

pub fn close(
    vault: &Vault,
    ui: &mut TerminalUi,
    id: &str,
    json: bool,
    lang: Option<Lang>,
) -> Result<()> {
    let closed = vault.close(id, lang, ui)?;
    let lang = documents::resolve(closed.lang);
    let t = &closed.tombstone;
    if json {
        let mut record: WipeRecord = t.clone().into();
        record.key_pending = closed.key_pending;
        let value = json!({ "wiped": [render::wipe_json(&record)] });
        render::print_json(&render::with_history(value, Some(&closed.history)));
    } else {
        out!("{}", documents::closing_receipt(t, lang));
        if closed.key_pending {
            out!("{}", documents::key_pending_line(lang));
        }
        if let Some(line) = documents::history_line(&closed.history, lang) {
            out!("{line}");
        }
    }
    if closed.key_pending {
        return Err(Error::KeysPending {
            what: format!("closed '{id}'"),
            count: 1,
        });
    }
    Ok(())
}

pub fn sweep(vault: &Vault, ui: &mut TerminalUi, json: bool) -> Result<()> {
    let mut report = vault.sweep(ui)?;
    for r in report.wiped.iter_mut() {
        r.key_pending = report.keys_pending.contains(&r.reference);
    }
    let records = &report.wiped;
    if json {
        let arr: Vec<_> = records.iter().map(render::wipe_json).collect();
        let value = json!({ "wiped": arr });
        render::print_json(&render::with_history(value, report.history.as_ref()));
    } else if records.is_empty() && report.history.is_none() && std::io::stderr().is_terminal() {
        // Silent when nothing happened and nobody watches: cron mails any output.
        errln!("intervault: nothing to wipe");
    }
    for r in records.iter().filter(|_| !json) {
        match &r.tombstone {
            Some(t) => outln!(
                "expired {} ({}): {} credential(s) wiped at {}; receipt {}",
                t.id,
                t.client,
                t.names.len(),
                format_local(r.wiped_at),
                t.receipt
            ),
            None => outln!(
                "expired ref {}: key and credentials wiped at {}; details at the next unlock",
                r.reference,
                format_local(r.wiped_at)
            ),
        }
    }
    let history = report.history.as_ref();
    if let Some(line) = history
        .filter(|_| !json)
        .and_then(|h| documents::history_line(h, Lang::En))
    {
        out!("{line}");
    }
    match report.unlock_error {
        Some(e) => Err(e),
        // The sweep is what finishes a purge: it fails loudly while one waits.
        None if matches!(history, Some(Purge::Pending { .. })) => Err(Error::PurgePending {
            what: format!("swept {} intervention(s)", records.len()),
            why: match history {
                Some(Purge::Pending { why }) => why.clone(),
                _ => String::new(),
            },
        }),
        // A timer must fail loudly while a wipe is not complete.
        None if !report.keys_pending.is_empty() => Err(Error::KeysPending {
            what: format!("swept {} intervention(s)", records.len()),
            count: report.keys_pending.len(),
        }),
        None => Ok(()),
    }
}

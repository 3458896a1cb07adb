//! How results look: the contract's JSON shapes and the human text.

use intervault::intervention::Status;
use intervault::timefmt::{format_duration, format_local, format_utc};
use intervault::vault::{Destruction, InterventionDetail, InterventionSummary};
use intervault::wipe::{Tombstone, WipeRecord};
use serde::Serialize;
use serde_json::{json, Value};

/// `list --json` object.
pub fn summary_json(s: &InterventionSummary) -> Value {
    let mut v = json!({
        "id": s.id,
        "client": s.client,
        "status": s.status.as_str(),
        "from": format_utc(s.window.from),
        "until": format_utc(s.window.until),
        "credentials": s.credentials,
    });
    if let Some(note) = &s.note {
        v["note"] = json!(note);
    }
    if let Some((at, reason)) = s.wiped {
        v["wiped_at"] = json!(format_utc(at));
        v["wipe_reason"] = json!(reason.to_string());
    }
    if let Some((since, reason)) = &s.frozen {
        v["frozen"] = json!({"since": format_utc(*since), "reason": reason});
    }
    v
}

/// `show --json` object: the list object plus entries (and the tombstone's receipt).
pub fn detail_json(d: &InterventionDetail) -> Value {
    let mut v = summary_json(&d.summary);
    v["entries"] = d
        .entries
        .iter()
        .map(|e| {
            let mut entry = json!({"name": e.name, "kind": e.kind.as_str()});
            if let Some(url) = &e.url {
                entry["url"] = json!(url);
            }
            entry
        })
        .collect();
    if !d.extensions.is_empty() {
        v["extensions"] = d.extensions.iter().map(extension_json).collect();
    }
    if let Some(t) = &d.tombstone {
        v["names"] = json!(t.names);
        v["receipt"] = json!(t.receipt);
    }
    v
}

/// One window change made by `extend`.
pub fn extension_json(x: &intervault::vault::format::Extension) -> Value {
    json!({"at": format_utc(x.at), "previous_until": format_utc(x.previous_until),
           "until": format_utc(x.until), "reason": x.reason})
}

/// One element of `close --json` / `sweep --json`'s `wiped` array.
pub fn wipe_json(r: &WipeRecord) -> Value {
    let t = r.tombstone.as_ref();
    json!({
        "ref": r.reference.as_str(),
        "id": t.map(|t| &t.id),
        "client": t.map(|t| &t.client),
        "credentials": t.map(|t| t.names.len()),
        "names": t.map(|t| &t.names),
        "reason": r.reason.to_string(),
        "wiped_at": format_utc(r.wiped_at),
        "receipt": t.map(|t| &t.receipt),
        "key": if r.key_pending { "pending" } else { "destroyed" },
    })
}

/// Prints a JSON value and a newline on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// The human form of a list line's status, with time left for an active window.
fn status_text(s: &InterventionSummary, now: chrono::DateTime<chrono::Utc>) -> String {
    if s.frozen.is_some() {
        return format!("{}, frozen", s.status.as_str());
    }
    match s.status {
        Status::Active => format!("active, {} left", format_duration(s.window.until - now)),
        Status::Scheduled => format!(
            "scheduled, opens in {}",
            format_duration(s.window.from - now)
        ),
        other => other.as_str().to_owned(),
    }
}

/// `list` as a table.
pub fn list_text(items: &[InterventionSummary]) -> String {
    if items.is_empty() {
        return "no interventions\n".into();
    }
    let now = chrono::Utc::now();
    let rows: Vec<[String; 6]> = items
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.client.clone(),
                status_text(s, now),
                format_local(s.window.from),
                format_local(s.window.until),
                s.credentials.to_string(),
            ]
        })
        .collect();
    let header = ["ID", "CLIENT", "STATUS", "FROM", "UNTIL", "CREDENTIALS"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let color = use_color();
    let mut out = String::new();
    let statuses = std::iter::once(None).chain(items.iter().map(|s| Some(s.status)));
    for (row, status) in std::iter::once(&header).chain(&rows).zip(statuses) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let padded = format!("{c:<w$}");
                match status {
                    // Colour after padding, so escape codes never skew the columns.
                    Some(st) if i == 2 && color => paint(st, &padded),
                    _ => padded,
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `show` as text.
pub fn detail_text(d: &InterventionDetail) -> String {
    let s = &d.summary;
    let mut out = format!(
        "intervention {}\nclient:      {}\nstatus:      {}\nwindow:      {} -> {}\n",
        s.id,
        s.client,
        status_text(s, chrono::Utc::now()),
        format_local(s.window.from),
        format_local(s.window.until)
    );
    if let Some(note) = &s.note {
        out.push_str(&format!("note:        {note}\n"));
    }
    for x in &d.extensions {
        out.push_str(&format!(
            "extended:    {} ({} -> {}): {}\n",
            format_local(x.at),
            format_local(x.previous_until),
            format_local(x.until),
            x.reason
        ));
    }
    if let Some(t) = &d.tombstone {
        out.push_str(&format!(
            "wiped:       {} ({})\ndestroyed:   {}\nreceipt:     {}\n",
            format_local(t.wiped_at),
            t.reason,
            destroyed_text(t),
            t.receipt
        ));
    } else if d.entries.is_empty() {
        out.push_str("credentials: none\n");
    } else {
        out.push_str("credentials:\n");
        let rows: Vec<Vec<String>> = (d.entries.iter())
            .map(|e| {
                vec![
                    e.name.clone(),
                    format!("({})", e.kind),
                    e.url.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&super::table::render(None, &rows, "  "));
    }
    out
}

fn destroyed_text(t: &Tombstone) -> String {
    if t.names.is_empty() {
        "0 credentials".into()
    } else {
        format!("{} credential(s): {}", t.names.len(), t.names.join(", "))
    }
}

/// The language of a receipt given to a client.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English
    En,
    /// French
    Fr,
}

impl Lang {
    /// French when the locale (LC_ALL, then LC_MESSAGES, then LANG) says so.
    pub fn from_locale() -> Lang {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        if locale.starts_with("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }
}

/// What `close` prints: the receipt, in the client's language. The digest is the
/// same whatever the language: it covers the tombstone's canonical form.
pub fn closing_receipt(t: &Tombstone, lang: Lang) -> String {
    match lang {
        Lang::En => format!("closed {}\n{}", t.id, receipt_text(t)),
        Lang::Fr => {
            let names = if t.names.is_empty() {
                "aucun identifiant".to_owned()
            } else {
                format!("{} identifiant(s) : {}", t.names.len(), t.names.join(", "))
            };
            let reason = match t.reason {
                intervault::intervention::WipeReason::Closed => "clôture de l'intervention",
                intervault::intervention::WipeReason::Expired => "fin de la fenêtre",
                intervault::intervention::WipeReason::Tampered => {
                    "effacement anticipé après une altération du coffre"
                }
            };
            format!(
                "intervention {} clôturée\neffacement : {} ({reason})\nclient :     {}\nfenêtre :    {} -> {}\ndétruits :   {names}\nreçu :       {}\n",
                t.id,
                format_local(t.wiped_at),
                t.client,
                format_local(t.window.from),
                format_local(t.window.until),
                t.receipt
            )
        }
    }
}

/// The receipt's line for a key whose destruction is still pending.
pub fn key_pending_line(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "key:         PENDING: not destroyed yet (its OS keyring cannot be reached from here); the wipe is complete once it is",
        Lang::Fr => "clé :        EN ATTENTE : pas encore détruite (son trousseau n'est pas joignable d'ici) ; l'effacement sera complet une fois la clé détruite",
    }
}

/// A wipe receipt as text.
pub fn receipt_text(t: &Tombstone) -> String {
    format!(
        "wiped:       {} ({})\nclient:      {}\nwindow:      {} -> {}\ndestroyed:   {}\nreceipt:     {}\n",
        format_local(t.wiped_at),
        t.reason,
        t.client,
        format_local(t.window.from),
        format_local(t.window.until),
        destroyed_text(t),
        t.receipt
    )
}

/// Colour only for a terminal, and never when NO_COLOR is set to anything
/// non-empty (<https://no-color.org>).
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

fn paint(status: Status, text: &str) -> String {
    let code = match status {
        Status::Active => "32",                                     // green
        Status::Scheduled => "33",                                  // yellow
        Status::Closed | Status::Expired | Status::Tampered => "2", // dim
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The question asked before a destruction (`[y/N]` is added by the prompt).
pub fn question(what: &Destruction) -> String {
    let names = |names: &[String]| match names.is_empty() {
        true => String::new(),
        false => format!(": {}", names.join(", ")),
    };
    match what {
        Destruction::Close {
            id,
            client,
            names: n,
        } => format!(
            "Close {id} ({client}) and wipe {} credential(s){}?",
            n.len(),
            names(n)
        ),
        Destruction::Remove { id, client, name } => {
            format!("Remove credential {name} from {id} ({client})?")
        }
        Destruction::ClientErase {
            client,
            interventions,
            tombstones,
        } => {
            let live: Vec<String> = interventions
                .iter()
                .map(|(id, n)| format!("{id} with {} credential(s){}", n.len(), names(n)))
                .collect();
            let live = match live.is_empty() {
                true => String::new(),
                false => format!(" ({})", live.join("; ")),
            };
            format!(
                "Erase client {client}: wipe {} live intervention(s){live} and remove its name from {tombstones} tombstone(s)?",
                interventions.len()
            )
        }
        _ => "Destroy it?".to_owned(),
    }
}

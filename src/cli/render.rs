//! How results look: the contract's JSON shapes and the human text.

use intervault::intervention::Status;
use intervault::store::Purge;
use intervault::timefmt::{format_duration, format_local, format_utc};
use intervault::vault::{Destruction, InterventionDetail, InterventionSummary};
use intervault::wipe::WipeRecord;
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

/// Adds the `history` field to `close --json` / `sweep --json`: what became
/// of the store's old copies of wiped objects, on a store that keeps any (a
/// directory keeps none: no field, as before).
pub fn with_history(mut value: Value, purge: Option<&Purge>) -> Value {
    let word = match purge {
        None | Some(Purge::NothingKept) => return value,
        Some(Purge::Done { .. }) => "compacted",
        Some(Purge::Pending { .. }) => "pending",
    };
    if let Some(map) = value.as_object_mut() {
        map.insert("history".into(), json!(word));
    }
    value
}

/// Prints a JSON value and a newline on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    outln!(
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

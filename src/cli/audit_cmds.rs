//! `audit`, `audit verify`, `client list|report|erase`, `retention`.

use intervault::audit::{Filter, Record};
use intervault::lang::Lang;
use intervault::timefmt::{format_local, format_utc, localize_utc_times, parse_time_or_ago};
use intervault::vault::{ClientReport, RetentionChange, Vault};
use intervault::wipe::{Tombstone, WipeRecord};
use intervault::Result;
use serde_json::{json, Value};

use super::documents;
use super::render;
use super::ui::TerminalUi;

/// The JSON of one audit record: times in RFC 3339 UTC, to the second.
fn record_json(r: &Record) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    v["at"] = json!(format_utc(r.at));
    for (key, t) in [("from", r.event.from), ("until", r.event.until)] {
        if let Some(t) = t {
            v[key] = json!(format_utc(t));
        }
    }
    v
}

/// One audit record as a line of text.
fn record_text(r: &Record) -> String {
    let e = &r.event;
    let mut line = format!(
        "#{:<5} {}  {:<18} {:<8}",
        r.seq,
        format_local(r.at),
        e.action.as_str(),
        e.outcome.to_string()
    );
    let target = match (&e.intervention, &e.credential) {
        (Some(id), Some(name)) => Some(format!("{id}/{name}")),
        (Some(id), None) => Some(id.clone()),
        (None, Some(name)) => Some(name.clone()),
        (None, None) => None,
    };
    let mut parts: Vec<String> = target.into_iter().collect();
    if let Some(c) = &e.client {
        parts.push(format!("client {c}"));
    }
    if let Some(until) = e.until {
        parts.push(format!("until {}", format_local(until)));
    }
    if let Some(n) = e.count {
        parts.push(format!("count {n}"));
    }
    if let Some(receipt) = &e.receipt {
        parts.push(format!("receipt {receipt}"));
    }
    if let Some(r) = &e.reference {
        if e.intervention.is_none() {
            parts.push(format!("ref {r}"));
        }
    }
    if let Some(reason) = &e.reason {
        parts.push(format!("({})", localize_utc_times(reason)));
    }
    if let Some(seq) = e.completes {
        parts.push(format!("(completes #{seq})"));
    }
    if !r.sealed {
        parts.push("[keyless; completed at the next unlock]".into());
    }
    if !parts.is_empty() {
        line.push(' ');
        line.push_str(&parts.join("  "));
    }
    line
}

pub fn audit(
    vault: &Vault,
    ui: &mut TerminalUi,
    since: Option<&str>,
    until: Option<&str>,
    intervention: Option<String>,
    client: Option<String>,
    json: bool,
) -> Result<()> {
    // `--since 7d` and `today` are taken against this machine's clock.
    let now = chrono::Utc::now();
    let filter = Filter {
        since: since.map(|t| parse_time_or_ago(t, now)).transpose()?,
        until: until.map(|t| parse_time_or_ago(t, now)).transpose()?,
        intervention,
        client,
    };
    let view = vault.audit(&filter, ui)?;
    if json {
        let records: Vec<Value> = view.records.iter().map(record_json).collect();
        render::print_json(&records);
        return Ok(());
    }
    if let Some((seq, at)) = view.pruned_through {
        outln!(
            "records up to #{seq} were pruned by retention on {}",
            format_local(at)
        );
    }
    if view.records.is_empty() {
        outln!("no audit records match");
    }
    for r in &view.records {
        outln!("{}", record_text(r));
    }
    Ok(())
}

pub fn verify(vault: &Vault, ui: &mut TerminalUi, json: bool) -> Result<()> {
    let v = vault.audit_verify(ui)?;
    if json {
        render::print_json(&json!({
            "intact": true,
            "records": v.records,
            "last": v.last,
            "pruned": v.pruned,
            "unsealed": v.unsealed,
            "torn_tail": v.torn_tail,
            "foreign": v.foreign,
        }));
        return Ok(());
    }
    outln!(
        "audit trail intact: {} record(s) up to #{}, each sealed and linked to the one before{}",
        v.records,
        v.last,
        if v.pruned > 0 {
            format!(
                " ({} older record(s) pruned by retention, from a checked checkpoint)",
                v.pruned
            )
        } else {
            String::new()
        }
    );
    if v.unsealed > 0 {
        outln!(
            "{} record(s) at the end were written without the key and are vouched for by the next sealed one",
            v.unsealed
        );
    }
    if v.torn_tail {
        outln!("an interrupted write at the end was ignored (it granted nothing)");
    }
    if v.foreign > 0 {
        outln!(
            "warning: {} keyless line(s) could not be vouched for and were completed as foreign (see 'intervault audit': foreign_record); someone wrote to the trail without the key",
            v.foreign
        );
    }
    Ok(())
}

pub fn client_list(vault: &Vault, ui: &mut TerminalUi, json: bool) -> Result<()> {
    let clients = vault.client_list(ui)?;
    if json {
        let arr: Vec<Value> = clients
            .iter()
            .map(
                |c| json!({"client": c.client, "live": c.live, "past": c.past, "erased": c.erased}),
            )
            .collect();
        render::print_json(&arr);
        return Ok(());
    }
    if clients.is_empty() {
        outln!("no clients");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = clients
        .iter()
        .map(|c| {
            vec![
                c.client.clone(),
                c.live.to_string(),
                c.past.to_string(),
                if c.erased { "erased (a pseudonym)" } else { "" }.to_owned(),
            ]
        })
        .collect();
    let header: &[&str] = &["CLIENT", "LIVE", "PAST", ""];
    out!("{}", super::table::render(Some(header), &rows, ""));
    Ok(())
}

fn tombstone_json(t: &Tombstone) -> Value {
    json!({
        "id": t.id,
        "ref": t.reference.as_str(),
        "from": format_utc(t.window.from),
        "until": format_utc(t.window.until),
        "wiped_at": format_utc(t.wiped_at),
        "reason": t.reason.to_string(),
        "credentials": t.names.len(),
        "names": t.names,
        "receipt": t.receipt,
    })
}

fn report_json(r: &ClientReport) -> Value {
    let interventions: Vec<Value> = r
        .interventions
        .iter()
        .map(|i| {
            let mut v = render::summary_json(&i.summary);
            v["opened_at"] = json!(format_utc(i.opened_at));
            v["entries"] = i
                .entries
                .iter()
                .map(|e| {
                    let mut entry =
                        json!({"name": e.name, "kind": e.kind.as_str(), "fields": e.fields});
                    if let Some(url) = &e.url {
                        entry["url"] = json!(url);
                    }
                    entry
                })
                .collect();
            v["extensions"] = i.extensions.iter().map(render::extension_json).collect();
            v
        })
        .collect();
    json!({
        "client": r.client,
        "generated_at": format_utc(r.at),
        "interventions": interventions,
        "tombstones": r.tombstones.iter().map(tombstone_json).collect::<Vec<_>>(),
        "history": r.history.iter().map(record_json).collect::<Vec<_>>(),
    })
}

pub fn client_report(
    vault: &Vault,
    ui: &mut TerminalUi,
    name: &str,
    lang: Option<Lang>,
    json: bool,
) -> Result<()> {
    let report = vault.client_report(name, lang, ui)?;
    let lang = documents::resolve(report.lang);
    if json {
        let mut v = report_json(&report);
        v["lang"] = json!(lang.code());
        render::print_json(&v);
    } else {
        out!("{}", documents::report_text(&report, lang, record_text));
    }
    Ok(())
}

pub fn client_erase(
    vault: &Vault,
    ui: &mut TerminalUi,
    name: &str,
    lang: Option<Lang>,
    json: bool,
) -> Result<()> {
    let erasure = vault.client_erase(name, lang, ui)?;
    let lang = documents::resolve(erasure.lang);
    // The receipts go to the client, who knows its own name: show them with it
    // (their digests were computed with it).
    let with_name = |t: &Tombstone| {
        let mut t = t.clone();
        t.client = name.to_owned();
        t.client_erased = false;
        t
    };
    if json {
        let wiped: Vec<Value> = erasure
            .wiped
            .iter()
            .map(|t| render::wipe_json(&WipeRecord::from(with_name(t))))
            .collect();
        render::print_json(&json!({
            "client": erasure.pseudonym,
            "wiped": wiped,
            "tombstones": erasure.tombstones,
            "lang": lang.code(),
        }));
        return Ok(());
    }
    for t in &erasure.wiped {
        out!("{}", documents::closing_receipt(&with_name(t), lang));
    }
    outln!("{}", documents::erasure_line(&erasure, lang));
    Ok(())
}

pub fn retention(
    vault: &Vault,
    ui: &mut TerminalUi,
    change: RetentionChange,
    json: bool,
) -> Result<()> {
    let r = vault.retention(change, ui)?;
    if json {
        render::print_json(&json!({
            "audit_months": r.periods.audit_months,
            "tombstone_months": r.periods.tombstone_months,
            "backup_days": r.backup_days,
        }));
    } else {
        outln!(
            "audit records are kept {} months; tombstones {} months after their wipe; managed backups {} days",
            r.periods.audit_months, r.periods.tombstone_months, r.backup_days
        );
    }
    Ok(())
}

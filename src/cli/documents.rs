//! What the agency hands to a client, in the client's language: the wipe
//! receipt (`close`, `show` of a wiped intervention), `show`, `client report`
//! and the confirmation of `client erase`.
//!
//! `--lang` always chooses the language of such a document, never the
//! interface's. Without it, a document is in the language the client was last
//! served in (the vault remembers it per client), else in the locale's. The
//! receipt's digest covers the tombstone, so it is the same in every language.

use intervault::intervention::{Status, WipeReason};
use intervault::lang::Lang;
use intervault::store::Purge;
use intervault::timefmt::{format_duration, format_local};
use intervault::vault::{ClientReport, Erasure, InterventionDetail, InterventionSummary};
use intervault::wipe::Tombstone;

/// `--lang`: the language of a document for the client.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LangArg {
    /// English
    En,
    /// French
    Fr,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::En => Lang::En,
            LangArg::Fr => Lang::Fr,
        }
    }
}

/// The language of a document when neither `--lang` nor the vault names one:
/// French when the locale (LC_ALL, then LC_MESSAGES, then LANG) says so.
pub fn locale_lang() -> Lang {
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

/// The language of a document: the one the vault gives (chosen now, or the
/// client's last), else the locale's.
pub fn resolve(lang: Option<Lang>) -> Lang {
    lang.unwrap_or_else(locale_lang)
}

/// The words of the documents, one table per language.
struct Words {
    /// Between a field's name and its value (French puts a space before).
    colon: &'static str,
    intervention: &'static str,
    client: &'static str,
    status: &'static str,
    window: &'static str,
    note: &'static str,
    extended: &'static str,
    wiped: &'static str,
    destroyed: &'static str,
    receipt: &'static str,
    credentials: &'static str,
    none: &'static str,
    no_credentials: &'static str,
    credentials_count: &'static str,
    credential: &'static str,
    from: &'static str,
    to: &'static str,
    frozen: &'static str,
    left: &'static str,
    opens_in: &'static str,
    key_pending: &'static str,
    report_title: &'static str,
    in_progress: &'static str,
    opened: &'static str,
    holds: &'static str,
    at: &'static str,
    window_moved: &'static str,
    frozen_since: &'static str,
    wiped_interventions: &'static str,
    history: &'static str,
    records: &'static str,
    no_secret: &'static str,
    erased: &'static str,
}

const EN: Words = Words {
    colon: ":",
    intervention: "intervention",
    client: "client",
    status: "status",
    window: "window",
    note: "note",
    extended: "extended",
    wiped: "wiped",
    destroyed: "destroyed",
    receipt: "receipt",
    credentials: "credentials",
    none: "none",
    no_credentials: "0 credentials",
    credentials_count: "credential(s)",
    credential: "credential",
    from: "from",
    to: "to",
    frozen: "frozen",
    left: "left",
    opens_in: "opens in",
    key_pending: "PENDING: not destroyed yet (its OS keyring cannot be reached from here); the wipe is complete once it is",
    report_title: "What this vault holds about",
    in_progress: "Interventions in progress",
    opened: "opened",
    holds: "holds",
    at: "at",
    window_moved: "window moved on",
    frozen_since: "frozen since",
    wiped_interventions: "Wiped interventions",
    history: "Access history",
    records: "record(s)",
    no_secret: "No secret value is part of this report.",
    erased: "erased client: {wiped} intervention(s) wiped; in {tombstones} tombstone(s) and in the audit trail the client is now {pseudonym}, which nothing links back to the name",
};

const FR: Words = Words {
    colon: " :",
    intervention: "intervention",
    client: "client",
    status: "état",
    window: "fenêtre",
    note: "note",
    extended: "prolongée",
    wiped: "effacement",
    destroyed: "détruits",
    receipt: "reçu",
    credentials: "identifiants",
    none: "aucun",
    no_credentials: "aucun identifiant",
    credentials_count: "identifiant(s)",
    credential: "identifiant",
    from: "du",
    to: "au",
    frozen: "gelée",
    left: "restantes",
    opens_in: "ouvre dans",
    key_pending: "EN ATTENTE : pas encore détruite (son trousseau n'est pas joignable d'ici) ; l'effacement sera complet une fois la clé détruite",
    report_title: "Ce que ce coffre détient sur",
    in_progress: "Interventions en cours",
    opened: "ouverte le",
    holds: "contient",
    at: "sur",
    window_moved: "fenêtre déplacée le",
    frozen_since: "gelée depuis le",
    wiped_interventions: "Interventions effacées",
    history: "Historique des accès",
    records: "enregistrement(s)",
    no_secret: "Aucune valeur secrète ne figure dans ce rapport.",
    erased: "client effacé : {wiped} intervention(s) effacée(s) ; dans {tombstones} trace(s) d'effacement et dans le journal d'audit, le client est désormais {pseudonym}, que rien ne relie plus à son nom",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    }
}

/// One `name:      value` line, names padded so that values line up.
fn field(w: &Words, name: &str, value: impl std::fmt::Display) -> String {
    format!("{:<13}{value}\n", format!("{name}{}", w.colon))
}

fn status_word(status: Status, lang: Lang) -> &'static str {
    match (lang, status) {
        (Lang::En, s) => s.as_str(),
        (Lang::Fr, Status::Scheduled) => "programmée",
        (Lang::Fr, Status::Active) => "active",
        (Lang::Fr, Status::Closed) => "clôturée",
        (Lang::Fr, Status::Expired) => "expirée",
        (Lang::Fr, Status::Tampered) => "altérée",
    }
}

fn reason_words(reason: WipeReason, lang: Lang) -> &'static str {
    match (lang, reason) {
        (Lang::En, WipeReason::Closed) => "closed",
        (Lang::En, WipeReason::Expired) => "expired",
        (Lang::En, WipeReason::Tampered) => "tampered",
        (Lang::Fr, WipeReason::Closed) => "clôture de l'intervention",
        (Lang::Fr, WipeReason::Expired) => "fin de la fenêtre",
        (Lang::Fr, WipeReason::Tampered) => "effacement anticipé après une altération du coffre",
    }
}

/// A time left, `2d 3h` in English and `2 j 3 h` in French.
fn duration_words(d: chrono::TimeDelta, lang: Lang) -> String {
    let en = format_duration(d);
    match lang {
        Lang::En => en,
        Lang::Fr => en
            .split(' ')
            .map(|part| {
                let (count, unit) = part.split_at(part.len().saturating_sub(1));
                let unit = match unit {
                    "d" => "j",
                    "m" => "min",
                    other => other,
                };
                format!("{count} {unit}")
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// An intervention's status, with the time left in an open window.
fn status_text(s: &InterventionSummary, lang: Lang, now: chrono::DateTime<chrono::Utc>) -> String {
    let w = words(lang);
    let word = status_word(s.status, lang);
    if s.frozen.is_some() {
        return format!("{word}, {}", w.frozen);
    }
    match s.status {
        Status::Active => format!(
            "{word}, {} {}",
            duration_words(s.window.until - now, lang),
            w.left
        ),
        Status::Scheduled => format!(
            "{word}, {} {}",
            w.opens_in,
            duration_words(s.window.from - now, lang)
        ),
        _ => word.to_owned(),
    }
}

fn destroyed_text(t: &Tombstone, lang: Lang) -> String {
    let w = words(lang);
    if t.names.is_empty() {
        w.no_credentials.into()
    } else {
        format!(
            "{} {}{} {}",
            t.names.len(),
            w.credentials_count,
            w.colon,
            t.names.join(", ")
        )
    }
}

/// A wipe receipt's lines (without a title).
pub fn receipt_text(t: &Tombstone, lang: Lang) -> String {
    let w = words(lang);
    [
        field(
            w,
            w.wiped,
            format_args!(
                "{} ({})",
                format_local(t.wiped_at),
                reason_words(t.reason, lang)
            ),
        ),
        field(w, w.client, &t.client),
        field(
            w,
            w.window,
            format_args!(
                "{} -> {}",
                format_local(t.window.from),
                format_local(t.window.until)
            ),
        ),
        field(w, w.destroyed, destroyed_text(t, lang)),
        field(w, w.receipt, &t.receipt),
    ]
    .concat()
}

/// What `close` prints: a title and the receipt.
pub fn closing_receipt(t: &Tombstone, lang: Lang) -> String {
    let title = match lang {
        Lang::En => format!("closed {}\n", t.id),
        Lang::Fr => format!("intervention {} clôturée\n", t.id),
    };
    title + &receipt_text(t, lang)
}

/// The receipt's line for a key whose destruction is still pending.
pub fn key_pending_line(lang: Lang) -> String {
    let name = match lang {
        Lang::En => "key",
        Lang::Fr => "clé",
    };
    let w = words(lang);
    field(w, name, w.key_pending)
}

/// The receipt's line on what became of the store's old copies of the wiped
/// objects: nothing for a directory (a shredded file keeps none).
pub fn history_line(purge: &Purge, lang: Lang) -> Option<String> {
    let name = match lang {
        Lang::En => "old copies",
        Lang::Fr => "anciennes copies",
    };
    let text = match (purge, lang) {
        (Purge::NothingKept, _) => return None,
        (Purge::Done { revision, members }, Lang::En) => format!(
            "compacted on the cluster (revision {revision}), {members} member(s) defragmented"
        ),
        (Purge::Done { revision, members }, Lang::Fr) => format!(
            "compactées sur le cluster (révision {revision}), {members} membre(s) défragmenté(s)"
        ),
        (Purge::Pending { why }, Lang::En) => format!(
            "PENDING: the cluster still keeps old revisions (ciphertext only) until a sweep with the maintenance certificate compacts them ({why})"
        ),
        (Purge::Pending { why }, Lang::Fr) => format!(
            "EN ATTENTE : le cluster garde d'anciennes révisions (chiffrées) jusqu'à ce qu'un balayage avec le certificat de maintenance les compacte ({why})"
        ),
    };
    Some(field(words(lang), name, text))
}

/// `show` as text.
pub fn detail_text(d: &InterventionDetail, lang: Lang) -> String {
    let w = words(lang);
    let s = &d.summary;
    let mut out = format!("{} {}\n", w.intervention, s.id);
    out.push_str(&field(w, w.client, &s.client));
    out.push_str(&field(
        w,
        w.status,
        status_text(s, lang, chrono::Utc::now()),
    ));
    out.push_str(&field(
        w,
        w.window,
        format_args!(
            "{} -> {}",
            format_local(s.window.from),
            format_local(s.window.until)
        ),
    ));
    if let Some(note) = &s.note {
        out.push_str(&field(w, w.note, note));
    }
    for x in &d.extensions {
        out.push_str(&field(
            w,
            w.extended,
            format_args!(
                "{} ({} -> {}): {}",
                format_local(x.at),
                format_local(x.previous_until),
                format_local(x.until),
                x.reason
            ),
        ));
    }
    if let Some(t) = &d.tombstone {
        out.push_str(&field(
            w,
            w.wiped,
            format_args!(
                "{} ({})",
                format_local(t.wiped_at),
                reason_words(t.reason, lang)
            ),
        ));
        out.push_str(&field(w, w.destroyed, destroyed_text(t, lang)));
        out.push_str(&field(w, w.receipt, &t.receipt));
    } else if d.entries.is_empty() {
        out.push_str(&field(w, w.credentials, w.none));
    } else {
        out.push_str(&format!("{}{}\n", w.credentials, w.colon));
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

/// `client report` as text; `record_text` renders one audit record.
pub fn report_text(
    r: &ClientReport,
    lang: Lang,
    record_text: impl Fn(&intervault::audit::Record) -> String,
) -> String {
    let w = words(lang);
    let mut out = format!(
        "{} {} ({})\n\n{}{} {}\n",
        w.report_title,
        r.client,
        format_local(r.at),
        w.in_progress,
        w.colon,
        r.interventions.len()
    );
    for i in &r.interventions {
        let s = &i.summary;
        out.push_str(&format!(
            "- {} ({}), {} {}, {} {} -> {}\n",
            s.id,
            status_word(s.status, lang),
            w.opened,
            format_local(i.opened_at),
            w.window,
            format_local(s.window.from),
            format_local(s.window.until)
        ));
        if let Some(note) = &s.note {
            out.push_str(&format!("  {}{} {note}\n", w.note, w.colon));
        }
        if let Some((since, reason)) = &s.frozen {
            out.push_str(&format!(
                "  {} {} ({reason})\n",
                w.frozen_since,
                format_local(*since)
            ));
        }
        for e in &i.entries {
            let url = e
                .url
                .as_ref()
                .map(|u| format!(" {} {u}", w.at))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {} {} ({}){url}{} {} {}\n",
                w.credential,
                e.name,
                e.kind.as_str(),
                w.colon,
                w.holds,
                e.fields.join(", ")
            ));
        }
        for x in &i.extensions {
            out.push_str(&format!(
                "  {} {} {} {} {} {} ({})\n",
                w.window_moved,
                format_local(x.at),
                w.from,
                format_local(x.previous_until),
                w.to,
                format_local(x.until),
                x.reason
            ));
        }
    }
    out.push_str(&format!(
        "\n{}{} {}\n",
        w.wiped_interventions,
        w.colon,
        r.tombstones.len()
    ));
    for t in &r.tombstones {
        out.push_str(&format!("- {}\n", t.id));
        for line in receipt_text(t, lang).lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str(&format!(
        "\n{}{} {} {}\n",
        w.history,
        w.colon,
        r.history.len(),
        w.records
    ));
    for rec in &r.history {
        out.push_str(&format!("  {}\n", record_text(rec)));
    }
    out.push('\n');
    out.push_str(w.no_secret);
    out.push('\n');
    out
}

/// `client erase`'s last line: what now stands for the client.
pub fn erasure_line(e: &Erasure, lang: Lang) -> String {
    words(lang)
        .erased
        .replace("{wiped}", &e.wiped.len().to_string())
        .replace("{tombstones}", &e.tombstones.to_string())
        .replace("{pseudonym}", &e.pseudonym)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_durations_use_french_units() {
        let d = chrono::TimeDelta::seconds(2 * 86_400 + 3 * 3600);
        assert_eq!(duration_words(d, Lang::Fr), "2 j 3 h");
        let d = chrono::TimeDelta::seconds(3 * 3600 + 12 * 60);
        assert_eq!(duration_words(d, Lang::Fr), "3 h 12 min");
        assert_eq!(duration_words(d, Lang::En), "3h 12m");
    }

    #[test]
    fn every_field_name_lines_up_in_both_languages() {
        for w in [&EN, &FR] {
            for name in [
                w.wiped,
                w.client,
                w.window,
                w.destroyed,
                w.receipt,
                w.status,
            ] {
                let line = field(w, name, "X");
                assert_eq!(line.chars().position(|c| c == 'X'), Some(13), "{line:?}");
            }
        }
    }
}

//! `add`, `get`, `totp`, `rm`.

use intervault::audit::Action;
use intervault::vault::{NewCredential, StoredCredential, Vault};
use intervault::{Error, Result};
use serde::Serialize;
use zeroize::Zeroizing;

use super::clip;
use super::ui::TerminalUi;
use super::Field;

/// Where `get` sends what it fetched.
#[derive(Debug, Clone, Copy)]
pub enum Output {
    /// The bare value (or `field: value` lines) on stdout.
    Stdout,
    /// Every field as JSON on stdout.
    Json,
    /// One field as JSON on stdout (`--field F --json`).
    JsonField,
    /// The clipboard, cleared after this many seconds (or at the window end).
    Clipboard(u64),
}

/// The intervention and credential of `command`, given as `ID NAME` or, the way
/// intervault prints them, `ID/NAME`.
pub fn pair(command: &str, id: String, name: Option<String>) -> Result<(String, String)> {
    let see = || format!("give ID NAME or ID/NAME; see 'intervault {command} --help'");
    match (id.split_once('/'), name) {
        (Some(_), Some(_)) => Err(Error::usage(
            "the credential is named twice (ID/NAME and NAME)",
            see(),
        )),
        (Some((id, name)), None) if id.is_empty() || name.is_empty() => Err(Error::usage(
            "ID/NAME needs both an intervention ID and a credential name",
            see(),
        )),
        (Some((id, name)), None) => Ok((id.to_owned(), name.to_owned())),
        (None, Some(name)) => Ok((id, name)),
        (None, None) => Err(Error::usage("no credential name", see())),
    }
}

/// Why `add` refuses a secret on the command line, and how to give one.
pub const SECRET_ON_ARGV: &str = "a secret is never taken from the command line (it would stay in the shell history and the process list); nothing was stored: run 'intervault add ID NAME --kind KIND' and type it at the hidden prompt, or pipe it in: printf '%s\\n' \"$SECRET\" | intervault add ID NAME --kind KIND; see 'intervault add --help'";

/// [`pair`] for `add`, where a word after `ID/NAME` is most likely the secret:
/// refused without quoting it.
pub fn add_pair(id: String, name: Option<String>) -> Result<(String, String)> {
    if id.contains('/') && name.is_some() {
        let (what, fix) = SECRET_ON_ARGV
            .split_once(": ")
            .unwrap_or((SECRET_ON_ARGV, ""));
        return Err(Error::usage(what, fix));
    }
    pair("add", id, name)
}

pub fn new_credential(
    name: String,
    kind: &str,
    url: Option<String>,
    user: Option<String>,
    note: Option<String>,
    totp: bool,
    max_uses: Option<u32>,
) -> Result<NewCredential> {
    Ok(NewCredential {
        name,
        kind: kind.parse()?,
        url,
        user,
        note,
        totp,
        max_uses,
    })
}

pub fn add(
    vault: &Vault,
    ui: &mut TerminalUi,
    id: &str,
    new: NewCredential,
    replace: bool,
) -> Result<()> {
    vault.add(id, &new, replace, ui)?;
    errln!("intervault: stored {id}/{}", new.name);
    Ok(())
}

/// `get --json`; borrows the credential so no extra copy of the secret is made.
#[derive(Serialize)]
struct GetJson<'a> {
    intervention: &'a str,
    name: &'a str,
    kind: &'a str,
    url: Option<&'a str>,
    user: Option<&'a str>,
    secret: &'a str,
    note: Option<&'a str>,
    /// An extension of the contract's shape, present only for TOTP credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    totp: Option<&'a str>,
}

/// `get --field F --json`: one field.
#[derive(Serialize)]
struct FieldJson<'a> {
    intervention: &'a str,
    name: &'a str,
    field: &'a str,
    value: &'a str,
}

pub fn get(
    vault: &Vault,
    ui: &mut TerminalUi,
    id: &str,
    name: &str,
    field: Field,
    output: Output,
) -> Result<()> {
    if matches!(output, Output::Clipboard(_)) && field == Field::All {
        return Err(Error::usage(
            "--clip copies one field",
            "choose it with --field secret, user, url, note or totp",
        ));
    }
    if matches!(output, Output::Clipboard(_)) {
        // Before the fetch, which counts a use (and may wipe a --max-uses one).
        clip::check_display()?;
    }
    // A field that was never set fails before the fetch counts a use.
    // `--field F --json`: only that field (`--field all --json` is `--json`).
    let output = match output {
        Output::Json if field != Field::All => Output::JsonField,
        other => other,
    };
    let check = |c: &StoredCredential| match output {
        Output::Json => Ok(()),
        Output::JsonField | Output::Stdout | Output::Clipboard(_) => field_is_set(id, c, field),
    };
    let action = match output {
        Output::Clipboard(_) => Action::Clip,
        Output::Json | Output::JsonField | Output::Stdout => Action::Get,
    };
    let fetched = vault.fetch_checked(action, id, Some(&[name.to_owned()]), &check, ui)?;
    let c = fetched
        .credentials
        .first()
        .ok_or_else(|| Error::Internal("a fetched credential is missing".into()))?;
    let mut out = Zeroizing::new(Vec::with_capacity(4 * (c.secret.expose().len() + 512)));
    match output {
        Output::Json => {
            let code = c
                .totp
                .as_ref()
                .map(|t| intervault::totp::code_at(t, fetched.now))
                .transpose()?;
            let view = GetJson {
                intervention: id,
                name: &c.name,
                kind: c.kind.as_str(),
                url: c.url.as_deref(),
                user: c.user.as_deref(),
                secret: c.secret.expose(),
                note: c.note.as_deref(),
                totp: code.as_ref().map(|t| t.code.expose()),
            };
            serde_json::to_writer(&mut *out, &view)
                .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))?;
            out.push(b'\n');
        }
        Output::JsonField => {
            let value = one_field(id, c, field, fetched.now)?;
            let view = FieldJson {
                intervention: id,
                name: &c.name,
                field: field_name(field),
                value: value.expose(),
            };
            serde_json::to_writer(&mut *out, &view)
                .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))?;
            out.push(b'\n');
        }
        Output::Stdout if field == Field::All => {
            let totp = c
                .totp
                .as_ref()
                .map(|t| intervault::totp::code_at(t, fetched.now))
                .transpose()?;
            out.extend_from_slice(format!("kind: {}\n", c.kind).as_bytes());
            let fields = [
                ("user", c.user.as_deref()),
                ("url", c.url.as_deref()),
                ("secret", Some(c.secret.expose())),
                ("note", c.note.as_deref()),
                ("totp", totp.as_ref().map(|t| t.code.expose())),
            ];
            for (f, v) in fields {
                if let Some(v) = v {
                    out.extend_from_slice(f.as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(v.as_bytes());
                    out.push(b'\n');
                }
            }
        }
        Output::Stdout => {
            let value = one_field(id, c, field, fetched.now)?;
            out.extend_from_slice(value.expose().as_bytes());
            out.push(b'\n');
        }
        Output::Clipboard(seconds) => {
            let value = one_field(id, c, field, fetched.now)?;
            clip::copy(&value, seconds, fetched.until)?;
            errln!(
                "intervault: copied the {} of {id}/{name}; the clipboard is cleared in {} s",
                field_name(field),
                seconds.min((fetched.until - fetched.now).num_seconds().max(0) as u64)
            );
            return Ok(());
        }
    }
    write_stdout(&out)
}

pub fn totp(vault: &Vault, ui: &mut TerminalUi, id: &str, name: &str) -> Result<()> {
    let check = |c: &StoredCredential| field_is_set(id, c, Field::Totp);
    let fetched = vault.fetch_checked(Action::Totp, id, Some(&[name.to_owned()]), &check, ui)?;
    let c = fetched
        .credentials
        .first()
        .ok_or_else(|| Error::Internal("a fetched credential is missing".into()))?;
    let stored = c.totp.as_ref().ok_or(Error::FieldNotSet {
        id: id.to_owned(),
        name: name.to_owned(),
        field: "totp",
    })?;
    let code = intervault::totp::code_at(stored, fetched.now)?;
    let mut out = Zeroizing::new(Vec::with_capacity(16));
    out.extend_from_slice(code.code.expose().as_bytes());
    out.push(b'\n');
    write_stdout(&out)?;
    errln!("intervault: valid for {} s", code.seconds_left);
    Ok(())
}

/// Fails with exit 5 when `field` of `c` was never set.
fn field_is_set(id: &str, c: &StoredCredential, field: Field) -> Result<()> {
    let set = match field {
        Field::Secret | Field::All => true,
        Field::User => c.user.is_some(),
        Field::Url => c.url.is_some(),
        Field::Note => c.note.is_some(),
        Field::Totp => c.totp.is_some(),
    };
    if set {
        Ok(())
    } else {
        Err(Error::FieldNotSet {
            id: id.to_owned(),
            name: c.name.clone(),
            field: field_name(field),
        })
    }
}

fn field_name(field: Field) -> &'static str {
    match field {
        Field::Secret => "secret",
        Field::User => "user",
        Field::Url => "url",
        Field::Note => "note",
        Field::Totp => "totp",
        Field::All => "all",
    }
}

/// One field's value (exit 5 when it was never set).
fn one_field(
    id: &str,
    c: &StoredCredential,
    field: Field,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<intervault::crypto::SecretText> {
    use intervault::crypto::SecretText;
    let plain = |v: &Option<String>| v.as_ref().map(|v| SecretText::new(v.clone()));
    let value = match field {
        Field::Secret => Some(c.secret.clone()),
        Field::User => plain(&c.user),
        Field::Url => plain(&c.url),
        Field::Note => plain(&c.note),
        Field::Totp => c
            .totp
            .as_ref()
            .map(|t| intervault::totp::code_at(t, now).map(|t| t.code))
            .transpose()?,
        Field::All => None,
    };
    value.ok_or(Error::FieldNotSet {
        id: id.to_owned(),
        name: c.name.clone(),
        field: field_name(field),
    })
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    super::out::stdout_bytes(bytes);
    Ok(())
}

pub fn rm(vault: &Vault, ui: &mut TerminalUi, id: &str, name: &str) -> Result<()> {
    vault.rm(id, name, ui)?;
    errln!("intervault: removed {id}/{name}");
    Ok(())
}

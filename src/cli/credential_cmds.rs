//! `add`, `get`, `rm`.

use std::io::Write;

use intervault::vault::{NewCredential, Vault};
use intervault::{Error, Result};
use serde::Serialize;
use zeroize::Zeroizing;

use super::ui::TerminalUi;
use super::Field;

#[allow(clippy::too_many_arguments)]
pub fn add(
    vault: &Vault,
    ui: &mut TerminalUi,
    id: &str,
    name: String,
    kind: &str,
    url: Option<String>,
    user: Option<String>,
    note: Option<String>,
    replace: bool,
) -> Result<()> {
    let new = NewCredential {
        name,
        kind: kind.parse()?,
        url,
        user,
        note,
    };
    vault.add(id, &new, replace, ui)?;
    eprintln!("intervault: stored {id}/{}", new.name);
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
}

pub fn get(
    vault: &Vault,
    ui: &mut TerminalUi,
    id: &str,
    name: &str,
    field: Field,
    json: bool,
) -> Result<()> {
    let c = vault.get(id, name, ui)?;
    let mut out = Zeroizing::new(Vec::with_capacity(4 * (c.secret.expose().len() + 256)));
    if json {
        let view = GetJson {
            intervention: id,
            name: &c.name,
            kind: c.kind.as_str(),
            url: c.url.as_deref(),
            user: c.user.as_deref(),
            secret: c.secret.expose(),
            note: c.note.as_deref(),
        };
        serde_json::to_writer(&mut *out, &view)
            .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))?;
        out.push(b'\n');
    } else {
        let fields: [(&str, Option<&str>); 4] = [
            ("user", c.user.as_deref()),
            ("url", c.url.as_deref()),
            ("secret", Some(c.secret.expose())),
            ("note", c.note.as_deref()),
        ];
        let one = |wanted: &'static str| {
            fields
                .iter()
                .find(|(f, _)| *f == wanted)
                .and_then(|(_, v)| *v)
                .ok_or(Error::FieldNotSet {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    field: wanted,
                })
        };
        let value = match field {
            Field::Secret => Some(one("secret")?),
            Field::User => Some(one("user")?),
            Field::Url => Some(one("url")?),
            Field::Note => Some(one("note")?),
            Field::All => None,
        };
        match value {
            Some(v) => {
                out.extend_from_slice(v.as_bytes());
                out.push(b'\n');
            }
            None => {
                out.extend_from_slice(format!("kind: {}\n", c.kind).as_bytes());
                for (f, v) in fields {
                    if let Some(v) = v {
                        out.extend_from_slice(f.as_bytes());
                        out.extend_from_slice(b": ");
                        out.extend_from_slice(v.as_bytes());
                        out.push(b'\n');
                    }
                }
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("write to", "stdout", e))
}

pub fn rm(vault: &Vault, ui: &mut TerminalUi, id: &str, name: &str) -> Result<()> {
    vault.rm(id, name, ui)?;
    eprintln!("intervault: removed {id}/{name}");
    Ok(())
}

//! Completion of intervention IDs and credential names, for the scripts of
//! `intervault completions`: the shell runs the hidden `intervault __complete --
//! WORDS...` with the words before the one being completed, and offers what it
//! prints, one candidate a line.
//!
//! IDs and names are sealed in the vault, so they come only from an unlocked
//! session (`intervault unlock`). Completion never asks for a passphrase, never
//! reads one from the environment or a file, and never prints an error: without
//! a session, or for a word that is not an ID or a name, it prints nothing and
//! the shell falls back to its usual completion.

use std::path::PathBuf;

use intervault::crypto::SecretText;
use intervault::vault::{Destruction, Interaction, Notice, PassphrasePurpose, Vault};
use intervault::{Error, Result};

/// What the word being completed is.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    /// An intervention ID.
    Id,
    /// The name of a credential of intervention `id`.
    Name { id: String },
}

/// What to complete after `words` (the words before the one being completed,
/// without the program name), and the vault `--vault` names there, if any.
pub fn wanted(words: &[String]) -> (Option<Wanted>, Option<PathBuf>) {
    let root = super::help::command();
    let mut vault = None;
    let mut sub: Option<clap::Command> = None;
    let mut positionals: Vec<&str> = Vec::new();
    let mut rest = words.iter();
    while let Some(word) = rest.next() {
        if word == "--" {
            // What follows is `exec`'s command: not ours to complete.
            return (None, vault);
        }
        if let Some(option) = word.strip_prefix("--") {
            let (name, inline) = match option.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (option, None),
            };
            let value = match inline {
                Some(v) => Some(v.to_owned()),
                None if takes_value(&root, sub.as_ref(), name) => rest.next().cloned(),
                None => None,
            };
            if name == "vault" {
                vault = value.map(PathBuf::from);
            }
            continue;
        }
        if word.starts_with('-') {
            continue;
        }
        match &sub {
            None => sub = root.find_subcommand(word).cloned(),
            Some(_) => positionals.push(word),
        }
    }
    let Some(sub) = sub else {
        return (None, vault);
    };
    let wanted = match (sub.get_name(), positionals.as_slice()) {
        (
            "get" | "totp" | "add" | "rm" | "show" | "extend" | "freeze" | "unfreeze" | "close"
            | "exec",
            [],
        ) => Some(Wanted::Id),
        ("get" | "totp" | "rm", [id]) if !id.contains('/') => Some(Wanted::Name {
            id: (*id).to_owned(),
        }),
        _ => None,
    };
    (wanted, vault)
}

/// Whether long option `name` takes a value (in the command so far, or globally).
fn takes_value(root: &clap::Command, sub: Option<&clap::Command>, name: &str) -> bool {
    sub.into_iter()
        .chain(std::iter::once(root))
        .flat_map(clap::Command::get_arguments)
        .find(|a| a.get_long() == Some(name))
        .is_some_and(|a| a.get_action().takes_values())
}

/// The candidates for `wanted` in `vault`, from an unlocked session only.
pub fn candidates(vault: &Vault, wanted: &Wanted) -> Vec<String> {
    let mut ui = NeverAsk;
    let found = match wanted {
        Wanted::Id => vault
            .list(&mut ui, false)
            .map(|items| items.into_iter().map(|s| s.id).collect()),
        Wanted::Name { id } => vault
            .show(id, None, &mut ui)
            .map(|d| d.entries.into_iter().map(|e| e.name).collect()),
    };
    found.unwrap_or_default()
}

/// An [`Interaction`] for completion: it has no passphrase and no secret to
/// give, says nothing, and agrees to nothing.
struct NeverAsk;

impl Interaction for NeverAsk {
    fn passphrase(&mut self, _: PassphrasePurpose) -> Result<SecretText> {
        Err(Error::NoPassphrase {
            hint: "completion uses an unlocked session only".into(),
        })
    }

    fn secret(&mut self, _: &str, _: &str) -> Result<SecretText> {
        Err(Error::Internal("completion asked for a secret".into()))
    }

    fn totp_seed(&mut self, _: &str, _: &str) -> Result<SecretText> {
        Err(Error::Internal("completion asked for a TOTP seed".into()))
    }

    fn notice(&mut self, _: Notice) {}

    fn confirm(&mut self, _: &Destruction) -> Result<bool> {
        Ok(false)
    }
}

/// clap's completion `script` for `shell`, made to complete IDs and names too:
/// bash and fish get a function that asks `__complete` first; zsh's ID and
/// name arguments are given a completer that does.
pub fn with_values(shell: super::manual::CompletionShell, script: &str) -> String {
    use super::manual::CompletionShell;
    match shell {
        CompletionShell::Bash => format!("{script}{BASH}"),
        CompletionShell::Fish => format!("{script}{FISH}"),
        CompletionShell::Zsh => zsh_with_values(script),
    }
}

const BASH: &str = r#"
# Intervention IDs and credential names, from an unlocked session only.
_intervault_with_values() {
    local cur=${COMP_WORDS[COMP_CWORD]} found
    if [[ $cur != -* ]]; then
        found=$("${COMP_WORDS[0]}" __complete -- "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)
        if [[ -n $found ]]; then
            local IFS=$'\n'
            COMPREPLY=($(compgen -W "$found" -- "$cur"))
            return 0
        fi
    fi
    _intervault "$@"
}
complete -F _intervault_with_values -o bashdefault -o default intervault
"#;

const FISH: &str = r#"
# Intervention IDs and credential names, from an unlocked session only.
function __intervault_values
    set -l words (commandline -opc)
    $words[1] __complete -- $words[2..-1] 2>/dev/null
end
complete -c intervault -f -n 'count (__intervault_values) >/dev/null' -a '(__intervault_values)'
"#;

/// The zsh script with its ID and name arguments completed by `__complete`.
fn zsh_with_values(script: &str) -> String {
    let function = r#"
# Intervention IDs and credential names, from an unlocked session only.
(( $+functions[_intervault_values] )) ||
_intervault_values() {
    local -a line found
    line=(${(z)LBUFFER})
    [[ $LBUFFER == *' ' ]] || line=(${line[1,-2]})
    found=(${(f)"$(${(Q)line[1]} __complete -- ${(Q)line[2,-1]} 2>/dev/null)"})
    if (( ${#found} )); then
        compadd -a found
    else
        _default
    fi
}

"#;
    let mut out = String::with_capacity(script.len() + function.len());
    for line in script.split_inclusive('\n') {
        let is_value = line.starts_with("':id -- Intervention ID")
            || line.starts_with("'::name -- Credential name");
        match line.strip_suffix(":_default' \\\n") {
            Some(spec) if is_value => {
                out.push_str(spec);
                out.push_str(":_intervault_values' \\\n");
            }
            _ => out.push_str(line),
        }
    }
    match out.rfind("\nif [ \"$funcstack[1]\" = \"_intervault\" ]") {
        Some(at) => out.insert_str(at + 1, function.trim_start()),
        None => out.push_str(function),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_word_after_a_command_that_takes_an_id_is_an_id() {
        for line in [
            "get",
            "show",
            "close --lang fr",
            "exec --only db",
            "--vault /v extend",
            "get --field=user",
        ] {
            assert_eq!(wanted(&words(line)).0, Some(Wanted::Id), "{line}");
        }
    }

    #[test]
    fn the_word_after_an_id_is_one_of_its_credentials() {
        let name = Some(Wanted::Name {
            id: "acme-site".into(),
        });
        assert_eq!(wanted(&words("get acme-site")).0, name);
        assert_eq!(wanted(&words("get --field user acme-site")).0, name);
        assert_eq!(wanted(&words("--json rm acme-site")).0, name);
    }

    #[test]
    fn other_words_are_left_to_the_shell() {
        for line in [
            "",
            "list",
            "open",
            "get acme-site/wp-admin",
            "get acme-site wp-admin",
            "exec acme-site --",
            "exec acme-site -- get",
            "nosuch",
            "close acme-site",
        ] {
            assert_eq!(wanted(&words(line)).0, None, "{line}");
        }
    }

    #[test]
    fn the_vault_named_on_the_line_is_the_one_asked() {
        assert_eq!(
            wanted(&words("--vault /tmp/v get")).1,
            Some(PathBuf::from("/tmp/v"))
        );
        assert_eq!(
            wanted(&words("get --vault=/tmp/w")).1,
            Some(PathBuf::from("/tmp/w"))
        );
    }

    #[test]
    fn zsh_ids_and_names_use_the_completer() {
        let script = "_intervault() {\n':id -- Intervention ID:_default' \\\n'::name -- Credential name (unless given as ID/NAME):_default' \\\n}\nif [ \"$funcstack[1]\" = \"_intervault\" ]; then\n";
        let out = zsh_with_values(script);
        assert!(out.contains("':id -- Intervention ID:_intervault_values' \\\n"));
        assert!(out.contains(":_intervault_values' \\\n}"));
        let function = out.find("_intervault_values() {").unwrap();
        assert!(function < out.find("\nif [ \"$funcstack").unwrap());
    }
}

//! Shell completions and man pages: `intervault completions bash|zsh|fish` and
//! `intervault manpages DIR`, and that the committed pages in `docs/man/` are what
//! the current command line generates.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::support::{Run, TestVault};

/// Runs a command that needs no vault (nothing is created in the scratch dir).
fn run(args: &[&str]) -> Run {
    TestVault::empty().run(args)
}

/// A completion script, after checking the command succeeded quietly.
fn completions(shell: &str) -> String {
    let run = run(&["completions", shell]).success();
    assert_eq!(run.stderr(), "", "completions {shell} wrote to stderr");
    run.stdout()
}

/// Every regular file in `dir`, by file name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, fs::read(&path).expect("read page"))
        })
        .collect()
}

/// Generates the man pages into a fresh temporary directory.
fn generate() -> (tempfile::TempDir, BTreeMap<String, Vec<u8>>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("man1");
    let dir_arg = dir.to_str().expect("utf-8 temp path");
    let run = run(&["manpages", dir_arg]).success();
    assert_eq!(run.stdout(), "");
    let pages = files(&dir);
    (tmp, pages)
}

#[test]
fn bash_completions_register_a_function_and_know_the_commands() {
    let script = completions("bash");
    assert!(script.contains("complete -F"), "{script}");
    for word in ["unlock", "exec", "get", "--clip", "--passphrase-file"] {
        assert!(script.contains(word), "no {word} in the bash script");
    }
}

#[test]
fn zsh_completions_are_a_compdef_file() {
    let script = completions("zsh");
    assert!(script.starts_with("#compdef intervault"), "{script}");
    assert!(script.contains("unlock"));
}

#[test]
fn fish_completions_use_complete_c() {
    let script = completions("fish");
    assert!(script.contains("complete -c intervault"), "{script}");
    assert!(script.contains("unlock"));
}

#[test]
fn completions_do_not_offer_hidden_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let script = completions(shell);
        assert!(
            !script.contains("clip-holder"),
            "{shell} completions offer the hidden __clip-holder command"
        );
    }
}

#[test]
fn unknown_shell_is_a_usage_error_on_one_line() {
    let run = run(&["completions", "powershell"]).fails(2);
    assert_eq!(run.stdout(), "");
    let err = run.stderr();
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("intervault: "), "{err:?}");
    assert!(err.contains("powershell"), "{err:?}");
}

#[test]
fn manpages_writes_one_page_per_visible_command() {
    let (_tmp, pages) = generate();
    for name in [
        "intervault.1",
        "intervault-init.1",
        "intervault-open.1",
        "intervault-add.1",
        "intervault-get.1",
        "intervault-exec.1",
        "intervault-unlock.1",
        "intervault-completions.1",
        "intervault-manpages.1",
    ] {
        assert!(pages.contains_key(name), "no {name} in {:?}", pages.keys());
    }
    for (name, page) in &pages {
        assert!(
            name.starts_with("intervault") && name.ends_with(".1"),
            "{name}"
        );
        // `.TH` opens the page, after only the two-line prelude clap_mangen puts
        // first to define the apostrophe string `\*(Aq` for groff and others.
        let text = String::from_utf8_lossy(page);
        let th = text
            .lines()
            .find(|l| !l.starts_with(".ie \\n(.g .ds Aq") && !l.starts_with(".el .ds Aq"))
            .unwrap_or_default();
        assert!(
            th.starts_with(&format!(".TH {} 1", name.trim_end_matches(".1"))),
            "{th}"
        );
    }
    assert!(
        !pages
            .keys()
            .any(|n| n.contains("clip-holder") || n == "intervault-help.1"),
        "pages for hidden or implicit commands: {:?}",
        pages.keys()
    );
    let get = String::from_utf8_lossy(&pages["intervault-get.1"]).into_owned();
    assert!(get.contains("\\fBintervault get\\fR"), "{get}");
    assert!(get.contains("clip\\-seconds"), "{get}");
}

#[test]
fn manpages_are_the_same_from_run_to_run() {
    let (_a, first) = generate();
    let (_b, second) = generate();
    assert_eq!(first, second);
}

#[test]
fn manpages_into_an_impossible_directory_fail_on_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("a-file");
    fs::write(&file, b"").expect("write");
    let below = file.join("man1");
    let run = run(&["manpages", below.to_str().expect("utf-8")]).fails(1);
    let err = run.stderr();
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.contains("a-file"), "{err:?}");
}

/// The committed pages are what this build generates. Flags added since the last
/// regeneration make this fail until `cargo run -q -- manpages docs/man` is run.
#[test]
fn committed_manpages_are_fresh() {
    let committed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    let committed = files(&committed_dir);
    let (_tmp, generated) = generate();
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    let differing: Vec<&String> = generated
        .iter()
        .filter(|(name, page)| committed.get(*name).is_some_and(|c| c != *page))
        .map(|(name, _)| name)
        .collect();
    assert!(
        names(&committed) == names(&generated) && differing.is_empty(),
        "docs/man is stale: run cargo run -q -- manpages docs/man \
         (and delete pages no longer generated)\n\
         committed: {:?}\ngenerated: {:?}\ndiffering: {:?}",
        names(&committed),
        names(&generated),
        differing
    );
}

/// Issue 13, item 4: `manpages --install` puts the pages beside the binary,
/// where man-db finds them without MANPATH, and says where.
#[test]
fn issue_13_manpages_install_puts_the_pages_where_man_finds_them() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    fs::create_dir(&bin).unwrap();
    fs::copy(
        assert_cmd::cargo::cargo_bin("intervault"),
        bin.join("intervault"),
    )
    .unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = std::process::Command::new(bin.join("intervault"))
        .args(["manpages", "--install"])
        .env_clear()
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    let dir = tmp.path().join("share/man/man1");
    assert!(said.contains(&dir.display().to_string()), "{said}");
    let pages = files(&dir);
    assert!(pages.contains_key("intervault.1") && pages.contains_key("intervault-get.1"));
    // man-db, when installed, finds them from PATH alone.
    if let Ok(found) = std::process::Command::new("man")
        .args(["-w", "intervault-get"])
        .env_clear()
        .env("PATH", &path)
        .output()
    {
        if found.status.success() {
            let where_ = String::from_utf8_lossy(&found.stdout);
            assert!(where_.starts_with(&dir.display().to_string()), "{where_}");
        }
    }
}

/// Issue 13, item 4: every page has the sections a man reader expects.
#[test]
fn issue_13_man_pages_have_examples_exit_status_and_see_also() {
    let (_tmp, pages) = generate();
    for (name, page) in &pages {
        let page = String::from_utf8_lossy(page);
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "SEE ALSO"] {
            assert!(
                page.contains(&format!(".SH {section}"))
                    || page.contains(&format!(".SH \"{section}\"")),
                "{name} has no {section}"
            );
        }
    }
    let top = String::from_utf8_lossy(&pages["intervault.1"]);
    for section in ["ENVIRONMENT", "FILES", "EXAMPLES"] {
        assert!(top.contains(section), "intervault.1 has no {section}");
    }
    assert!(top.contains("INTERVAULT_PASSPHRASE_FILE"));
    let get = String::from_utf8_lossy(&pages["intervault-get.1"]);
    assert!(
        get.contains(".SH EXAMPLES") && get.contains("\\-\\-field user"),
        "{get}"
    );
}

/// Issue 13 item 4: an installed binary has its man pages and `--help`, not this
/// repository's docs: no message, hint or help text points at a `docs/*.md`.
#[test]
fn no_message_points_at_a_file_of_the_repository() {
    let bin = std::fs::read(assert_cmd::cargo::cargo_bin("intervault")).expect("read the binary");
    let text = String::from_utf8_lossy(&bin);
    let mut found = Vec::new();
    for (at, _) in text.match_indices("docs/") {
        let tail: String = text[at..].chars().take(40).collect();
        let name_end = tail[5..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map_or(tail.len(), |n| n + 5);
        if tail[name_end..].starts_with(".md") {
            found.push(tail);
        }
    }
    assert!(found.is_empty(), "the binary points at {found:?}");
}

/// Issue 13 item 4: the completion scripts complete intervention IDs and
/// credential names from an unlocked session, and never use a passphrase.
#[test]
fn bash_completes_ids_and_names_from_an_unlocked_session_only() {
    let v = TestVault::new();
    v.open_with_credential("acme-site", "wp-admin", "s3cret-wp");
    let script = completions("bash");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("intervault.bash");
    fs::write(&path, script).expect("write the script");
    // Completes `intervault get <TAB>` and `intervault get acme-site <TAB>`,
    // locked (with the passphrase in the environment: it must not be used),
    // then unlocked, in a login session of its own.
    let probe = r#"
        source "$SCRIPT"
        complete_line() {
            COMP_WORDS=("$BIN" "$@" ''); COMP_CWORD=$(( $# + 1 ))
            COMPREPLY=(); _intervault_with_values "$BIN" '' "$BIN"
            echo "${COMPREPLY[*]}"
        }
        echo "locked ids: $(complete_line get)"
        "$BIN" unlock 2>/dev/null
        unset INTERVAULT_PASSPHRASE
        echo "ids: $(complete_line get)"
        echo "names: $(complete_line get acme-site)"
        echo "ids for close: $(complete_line --vault "$INTERVAULT_DIR" close)"
        "$BIN" lock 2>/dev/null
        echo "after lock: $(complete_line get)"
    "#;
    let out = v
        .std_cmd("keyctl")
        .args(["session", "-", "bash", "-c", probe])
        .env("SCRIPT", &path)
        .output()
        .expect("run bash");
    let run = Run(out);
    let text = run.stdout();
    let line = |label: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {text}; stderr {}", run.stderr()))
            .to_owned()
    };
    assert!(!line("locked ids: ").contains("acme-site"), "{text}");
    assert_eq!(line("ids: "), "acme-site", "{text}");
    assert_eq!(line("names: "), "wp-admin", "{text}");
    assert_eq!(line("ids for close: "), "acme-site", "{text}");
    assert!(!line("after lock: ").contains("acme-site"), "{text}");
}

/// The completion helper itself: nothing on stderr and exit 0 whatever happens
/// (no vault, a locked vault, a word that is not an ID).
#[test]
fn the_completion_helper_never_complains() {
    let v = TestVault::new();
    v.open_with_credential("acme-site", "wp-admin", "s3cret-wp");
    for words in [
        &["--", "get"][..],
        &["--", "get", "nosuch"],
        &["--", "list"],
        &[],
    ] {
        let args = [&["__complete"][..], words].concat();
        let run = v.run(&args).success();
        assert_eq!(run.stdout(), "", "{words:?}: locked, so nothing");
        assert_eq!(run.stderr(), "", "{words:?}");
    }
    let gone = TestVault::empty();
    let run = gone.run(&["__complete", "--", "get"]).success();
    assert_eq!((run.stdout(), run.stderr()), (String::new(), String::new()));
}

/// zsh and fish parse their scripts (when those shells are installed: the test
/// script installs them).
#[test]
fn zsh_and_fish_scripts_parse() {
    for (shell, check) in [("zsh", &["-n"][..]), ("fish", &["--no-execute"])] {
        if std::process::Command::new(shell)
            .arg("-c")
            .arg("true")
            .output()
            .is_err()
        {
            eprintln!("{shell} is not installed: its script is not parsed");
            continue;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(format!("intervault.{shell}"));
        fs::write(&path, completions(shell)).expect("write the script");
        let out = std::process::Command::new(shell)
            .args(check)
            .arg(&path)
            .output()
            .expect("run the shell");
        assert!(
            out.status.success(),
            "{shell} rejects its script: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

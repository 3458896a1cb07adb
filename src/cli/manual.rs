//! Shell completions and man pages, generated from the clap definition.
//!
//! Both come straight from [`super::Cli`], so they follow every flag as it is added.
//! Neither output depends on the clock: the man pages carry no date, so pages
//! generated on different days (as the committed `docs/man/` ones) compare equal.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;
use intervault::{Error, Result};

/// Shells we generate completions for.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum CompletionShell {
    /// bash
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
}

impl CompletionShell {
    fn shell(self) -> Shell {
        match self {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
        }
    }
}

/// The clap command the pages and completions are generated from (the pages
/// write their EXAMPLES themselves, from the same table as `--help`).
fn command() -> clap::Command {
    super::help::with_forms(<super::Cli as CommandFactory>::command())
}

/// Prints the completion script for `shell` on stdout.
pub fn completions(shell: CompletionShell) -> Result<()> {
    let mut cmd = without_hidden_commands(&command());
    let name = cmd.get_name().to_owned();
    // clap_complete panics if its writer fails; render into memory, then write
    // ourselves so that a closed stdout is an ordinary error.
    let mut script = Vec::new();
    clap_complete::generate(shell.shell(), &mut cmd, name, &mut script);
    // Then intervention IDs and credential names, from an unlocked session.
    let script = super::complete::with_values(shell, &String::from_utf8_lossy(&script));
    super::out::stdout_bytes(script.as_bytes());
    Ok(())
}

/// The root command with only its visible commands, for completions.
///
/// clap_complete offers hidden commands too (clap-rs/clap#1335), and a `Command`
/// cannot drop a subcommand, so the root is assembled again from the original's
/// own parts: its arguments, groups and visible commands are reused as they are,
/// so no option or command is restated here. Only the root's help layout is left
/// behind, which no completion script shows. The name and version come from
/// Cargo because clap's `Str` cannot borrow them from `full`; the unit test below
/// checks the result against the original.
fn without_hidden_commands(full: &clap::Command) -> clap::Command {
    let mut root = clap::Command::new(env!("CARGO_BIN_NAME"))
        .subcommand_required(full.is_subcommand_required_set())
        .arg_required_else_help(full.is_arg_required_else_help_set())
        .args_conflicts_with_subcommands(full.is_args_conflicts_with_subcommands_set())
        .disable_help_flag(full.is_disable_help_flag_set())
        .disable_help_subcommand(full.is_disable_help_subcommand_set())
        .disable_version_flag(full.is_disable_version_flag_set())
        .propagate_version(full.is_propagate_version_set())
        .args(full.get_arguments().cloned())
        .groups(full.get_groups().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = full.get_about() {
        root = root.about(about.clone());
    }
    if let Some(about) = full.get_long_about() {
        root = root.long_about(about.clone());
    }
    if full.get_version().is_some() {
        root = root.version(env!("CARGO_PKG_VERSION"));
    }
    root
}

/// Writes `intervault.1` and one `intervault-<command>.1` per visible command into
/// `dir`, creating it if needed. Existing pages of the same names are overwritten.
/// Gives how many pages were written.
pub fn manpages(dir: &Path) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create the directory", dir, e))?;
    let pages = pages()?;
    for (file_name, page) in &pages {
        let path = dir.join(file_name);
        std::fs::write(&path, page).map_err(|e| Error::io("write", &path, e))?;
    }
    Ok(pages.len())
}

/// Where `man` finds pages without MANPATH: man-db looks in `../share/man`
/// beside every directory of PATH, so beside the directory the binary was
/// installed in (`~/.cargo/bin` gives `~/.cargo/share/man/man1`).
pub fn install_dir() -> Result<std::path::PathBuf> {
    let exe = std::env::current_exe().map_err(|e| Error::io("find", "the intervault binary", e))?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let prefix = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| Error::Input {
            what: format!("{} is not in a bin directory", exe.display()),
            fix: "give a directory: 'intervault manpages DIR'".into(),
            code: 2,
        })?;
    Ok(prefix.join("share/man/man1"))
}

/// Every page as (file name, roff bytes): the top level first, then the visible
/// commands in their declared order. Hidden commands (`__clip-holder`) get none,
/// nor does clap's implicit `help` command.
fn pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = command().disable_help_subcommand(true);
    // Building propagates the global options into each command and gives each its
    // display name (`intervault-get`) and usage name (`intervault get`).
    cmd.build();
    // Every page names the program and its version, as `intervault 0.1.0`; a
    // command's own version would be empty.
    let source = format!(
        "{} {}",
        cmd.get_name(),
        cmd.get_version().unwrap_or_default()
    )
    .trim_end()
    .to_owned();
    let mut pages = vec![render(cmd.clone(), &source)?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(render(sub.clone(), &source)?);
    }
    Ok(pages)
}

fn render(cmd: clap::Command, source: &str) -> Result<(String, Vec<u8>)> {
    // After `build`, a command's display name is `intervault-get`.
    let display = cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned();
    let sub_name = display.strip_prefix("intervault-").unwrap_or("").to_owned();
    let top = sub_name.is_empty();
    let subcommands: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_owned())
        .collect();
    let has_args = cmd.get_arguments().any(|a| !a.is_hide_set());
    // No date: the page must not change from one run to the next.
    let man = clap_mangen::Man::new(cmd).date("").source(source);
    let mut page = Vec::new();
    let failed = |e: std::io::Error| Error::Internal(format!("could not render a man page: {e}"));
    man.render_title(&mut page).map_err(failed)?;
    man.render_name_section(&mut page).map_err(failed)?;
    man.render_synopsis_section(&mut page).map_err(failed)?;
    man.render_description_section(&mut page).map_err(failed)?;
    if has_args {
        man.render_options_section(&mut page).map_err(failed)?;
    }
    if !subcommands.is_empty() {
        man.render_subcommands_section(&mut page).map_err(failed)?;
    }
    let examples = super::examples::of(&sub_name);
    if !examples.is_empty() {
        page.extend(roff_examples(examples).into_bytes());
    }
    if top {
        page.extend(roff_section("EXIT STATUS", super::examples::EXIT_STATUS).into_bytes());
        page.extend(roff_section("ENVIRONMENT", super::examples::ENVIRONMENT).into_bytes());
        page.extend(roff_section("FILES", super::examples::FILES).into_bytes());
        let see: Vec<String> = subcommands
            .iter()
            .map(|s| format!("intervault-{s}(1)"))
            .collect();
        page.extend(roff_see_also(&see).into_bytes());
    } else {
        page.extend(
            roff_text(
                "EXIT STATUS",
                "0 on success; otherwise the status intervault(1) lists (2 usage, 3 refused by policy, 4 authentication, 5 not found, 6 damaged or tampered data, 7 conflict, 1 anything else), with one line on standard error saying what happened and what to do.",
            )
            .into_bytes(),
        );
        page.extend(roff_see_also(&["intervault(1)".to_owned()]).into_bytes());
    }
    Ok((man.get_filename(), page))
}

/// Text escaped for roff: backslashes, hyphens (so that options print as
/// hyphens), and a leading dot or quote that roff would take for a request.
fn roff_escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.starts_with(['.', '\'']) {
        true => format!("\\&{escaped}"),
        false => escaped,
    }
}

fn roff_section(title: &str, entries: &[(&str, &str)]) -> String {
    let mut out = format!(".SH \"{title}\"\n");
    for (term, what) in entries {
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff_escape(term),
            roff_escape(what)
        ));
    }
    out
}

fn roff_text(title: &str, text: &str) -> String {
    format!(".SH \"{title}\"\n{}\n", roff_escape(text))
}

fn roff_examples(examples: &[(&str, &str)]) -> String {
    let mut out = String::from(".SH EXAMPLES\n");
    for (what, line) in examples {
        out.push_str(&format!(
            ".PP\n{}:\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
            roff_escape(what),
            roff_escape(line)
        ));
    }
    out
}

fn roff_see_also(pages: &[String]) -> String {
    let names: Vec<String> = pages
        .iter()
        .map(|p| format!("\\fB{}\\fR", roff_escape(p)))
        .collect();
    format!(".SH \"SEE ALSO\"\n{}\n", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn man_page(cmd: clap::Command) -> Vec<u8> {
        let mut cmd = cmd.disable_help_subcommand(true);
        cmd.build();
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut page)
            .expect("render to memory");
        page
    }

    /// The reassembled root shows the same name, version, options and visible
    /// commands as the original: its man page (which already skips hidden
    /// commands) is the same, byte for byte.
    #[test]
    fn completion_root_matches_the_cli_but_for_hidden_commands() {
        let full = command();
        let root = without_hidden_commands(&full);
        assert_eq!(root.get_name(), full.get_name());
        assert!(full.get_subcommands().any(|s| s.is_hide_set()));
        assert!(!root.get_subcommands().any(|s| s.is_hide_set()));
        assert_eq!(
            String::from_utf8_lossy(&man_page(root)),
            String::from_utf8_lossy(&man_page(full))
        );
    }
}

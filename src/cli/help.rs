//! What the help adds to clap's own, the same for every command: each TIME and
//! DURATION option says which forms it takes, and each command's `--help` ends
//! with its EXAMPLES (the table the man pages use too).

use clap::builder::StyledStr;
use clap::{Arg, Command, CommandFactory};

/// The forms of a TIME, as every TIME option's help ends.
pub const TIME_FORMS: &str =
    "TIME: RFC 3339, \"YYYY-MM-DD HH:MM\" or YYYY-MM-DD (local time; TZ is honoured)";

/// The forms of a DURATION, as every DURATION option's help ends.
pub const DURATION_FORMS: &str = "DURATION: 90s, 45m, 2h, 3d, 1w, 1d12h (units w d h m s)";

/// The command line the binary parses: clap's, with forms and examples.
pub fn command() -> Command {
    with_examples(with_forms(super::Cli::command()), "")
}

/// The command with every TIME and DURATION option's help ending in its forms.
pub fn with_forms(cmd: Command) -> Command {
    cmd.mut_args(describe_forms).mut_subcommands(with_forms)
}

fn describe_forms(arg: Arg) -> Arg {
    let forms = match arg.get_value_names() {
        Some([name]) if name.as_str() == "TIME" => TIME_FORMS,
        Some([name]) if name.as_str() == "DURATION" => DURATION_FORMS,
        _ => return arg,
    };
    let add = |help: Option<&StyledStr>| match help {
        Some(h) => format!("{h} [{forms}]"),
        None => format!("[{forms}]"),
    };
    let help = add(arg.get_help());
    match arg.get_long_help().map(|h| add(Some(h))) {
        Some(long) => arg.help(help).long_help(long),
        None => arg.help(help),
    }
}

/// The command with its examples after its help, and its subcommands' after
/// theirs (`path` is the command's name below the top, `""` for the top).
fn with_examples(cmd: Command, path: &str) -> Command {
    let examples = super::examples::of(path);
    let cmd = if examples.is_empty() {
        cmd
    } else {
        cmd.after_help(examples_text(examples))
    };
    cmd.mut_subcommands(|sub| {
        let name = match path {
            "" => sub.get_name().to_owned(),
            _ => format!("{path} {}", sub.get_name()),
        };
        with_examples(sub, &name)
    })
}

fn examples_text(examples: &[(&str, &str)]) -> String {
    let mut text = String::from("Examples:\n");
    for (what, line) in examples {
        text.push_str(&format!("  # {what}\n  {line}\n"));
    }
    text.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_commands(cmd: &Command) -> Vec<Command> {
        let mut out = vec![cmd.clone()];
        for sub in cmd.get_subcommands() {
            out.extend(all_commands(sub));
        }
        out
    }

    #[test]
    fn every_time_and_duration_option_names_its_forms() {
        let mut seen = 0;
        for cmd in all_commands(&command()) {
            for arg in cmd.get_arguments() {
                let Some([name]) = arg.get_value_names() else {
                    continue;
                };
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                match name.as_str() {
                    "TIME" => assert!(help.ends_with(&format!("[{TIME_FORMS}]")), "{help}"),
                    "DURATION" => {
                        assert!(help.ends_with(&format!("[{DURATION_FORMS}]")), "{help}");
                    }
                    _ => continue,
                }
                seen += 1;
            }
        }
        // open --for/--from/--until, unlock --for, extend --until/--for,
        // audit --since/--until.
        assert!(seen >= 8, "{seen}");
    }

    #[test]
    fn every_visible_command_has_examples_in_its_help() {
        let mut top = command();
        top.build();
        for sub in top.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name() == "help" {
                continue;
            }
            let help = sub.clone().render_help().to_string();
            assert!(
                help.contains("\nExamples:\n  # "),
                "{} --help has no examples:\n{help}",
                sub.get_name()
            );
        }
    }
}

//! Command-line arguments (clap derive), and the dispatch from a parsed command to
//! the library and back to rendering.

// First: its macros are used by every module after it.
#[macro_use]
pub mod out;
mod advice;
mod audit_cmds;
mod backup_cmds;
mod clip;
mod complete;
mod credential_cmds;
mod documents;
mod examples;
mod exec;
mod help;
mod intervention_cmds;
mod manual;
mod migrate_cmds;
mod render;
mod session_cmds;
mod table;
mod target;
mod ui;

pub use advice::Failure;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use intervault::clock::SystemClock;
use intervault::vault::Vault;
use intervault::{Error, Result};

/// A vault for client credentials that opens only inside the intervention window
/// and wipes itself when the work is done.
#[derive(Parser, Debug)]
#[command(name = "intervault", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command accepts, before or after its name: shown under their
/// own heading in every command's help.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// The vault: a directory, or etcd://HOST:PORT[,HOST:PORT...]/PREFIX [default: vault in
    /// ~/.config/intervault/config.toml, else $XDG_DATA_HOME/intervault or
    /// ~/.local/share/intervault]
    #[arg(long, global = true, value_name = "DIR|URL", env = "INTERVAULT_DIR")]
    vault: Option<PathBuf>,
    /// Read the passphrase from the first line of FILE
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "INTERVAULT_PASSPHRASE_FILE"
    )]
    passphrase_file: Option<PathBuf>,
    /// Print JSON: open, get, list, show, extend, close, sweep, status, audit, client,
    /// backup, restore, retention (the other commands refuse it)
    #[arg(long, global = true)]
    json: bool,
    /// Accept a vault older than the last one seen on this machine (a copy put
    /// back on purpose); the interventions wiped since are wiped again first
    #[arg(long, global = true)]
    accept_rollback: bool,
    /// For an etcd vault over TLS: the CA certificate (PEM) of the etcd servers; give
    /// --etcd-ca, --etcd-cert and --etcd-key together (TLS is required unless every
    /// endpoint is on this machine)
    #[arg(long, global = true, value_name = "FILE", env = "INTERVAULT_ETCD_CA")]
    etcd_ca: Option<PathBuf>,
    /// For an etcd vault over TLS: this client's certificate (PEM)
    #[arg(long, global = true, value_name = "FILE", env = "INTERVAULT_ETCD_CERT")]
    etcd_cert: Option<PathBuf>,
    /// For an etcd vault over TLS: this client's private key (PEM)
    #[arg(long, global = true, value_name = "FILE", env = "INTERVAULT_ETCD_KEY")]
    etcd_key: Option<PathBuf>,
    /// For an etcd vault: how long one request may take [default: 10s; at most 1h]
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        env = "INTERVAULT_ETCD_TIMEOUT"
    )]
    etcd_timeout: Option<String>,
    /// The ids of the options above whose value came from the environment
    /// rather than the command line (set by `parse`), for messages that name
    /// the one the user gave.
    #[arg(skip)]
    from_env: Vec<&'static str>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a new vault
    Init {
        /// argon2id memory in MiB [default: 64]
        #[arg(long, value_name = "MIB")]
        kdf_memory: Option<u32>,
        /// argon2id passes [default: calibrated so that an unlock takes about 0.75 s, at least 3]
        #[arg(long, value_name = "N")]
        kdf_iterations: Option<u32>,
        /// argon2id lanes [default: 4]
        #[arg(long, value_name = "N")]
        kdf_parallelism: Option<u32>,
        /// Where intervention keys live: files in the vault, or only the OS keyring
        /// (then no copy of the vault directory holds a key once it is destroyed)
        #[arg(long, value_enum, default_value_t = KeyStoreArg::File)]
        key_store: KeyStoreArg,
    },
    /// Open an intervention for a client, with its time window
    #[command(group(clap::ArgGroup::new("window").required(true).args(["for_", "until"])))]
    Open {
        /// Intervention ID: [a-z0-9][a-z0-9._-]{0,63}
        id: String,
        /// The client's name
        #[arg(long)]
        client: String,
        /// Window of DURATION, from now or from --from
        #[arg(long = "for", value_name = "DURATION", conflicts_with = "until")]
        for_: Option<String>,
        /// Window end
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Window start [default: now]
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// A note about the intervention
        #[arg(long)]
        note: Option<String>,
    },
    /// Store a credential; the secret is prompted for (twice) or read from stdin,
    /// never taken from the command line
    Add {
        /// Intervention ID, or ID/NAME
        id: String,
        /// Credential name (unless given as ID/NAME)
        name: Option<String>,
        /// hosting, domain, cms, database, email or other
        #[arg(long)]
        kind: String,
        /// Where to log in
        #[arg(long)]
        url: Option<String>,
        /// Login name
        #[arg(long)]
        user: Option<String>,
        /// A note
        #[arg(long)]
        note: Option<String>,
        /// Overwrite a credential of the same name
        #[arg(long)]
        replace: bool,
        /// Keep all of stdin as the secret, newlines included
        #[arg(long)]
        multiline: bool,
        /// Also store a TOTP seed (otpauth:// URI or base32): prompted for after the
        /// secret, or the second line of stdin
        #[arg(long, conflicts_with = "multiline")]
        totp: bool,
        /// Wipe the credential after N successful fetches (get, exec, totp, clip)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_uses: Option<u32>,
    },
    /// Print a credential's field (only inside the intervention's window)
    Get {
        /// Intervention ID, or ID/NAME
        id: String,
        /// Credential name (unless given as ID/NAME)
        name: Option<String>,
        /// Which field to print [default: secret; with --json, every field]
        #[arg(long, value_enum)]
        field: Option<Field>,
        /// Copy the field to the clipboard instead of printing it; cleared after
        /// 45 s or at the window end, whichever comes first
        #[arg(long, conflicts_with = "json")]
        clip: bool,
        /// Clear the clipboard sooner than 45 s
        #[arg(long, value_name = "SECONDS", requires = "clip", value_parser = clap::value_parser!(u64).range(1..=45))]
        clip_seconds: Option<u64>,
    },
    /// Print the current TOTP code of a credential (seconds left on stderr)
    Totp {
        /// Intervention ID, or ID/NAME
        id: String,
        /// Credential name (unless given as ID/NAME)
        name: Option<String>,
    },
    /// Run a command with the intervention's credentials in its environment only
    ///
    /// For each credential NAME (all, or those given with --only), CMD gets
    /// INTERVAULT_<NAME>_SECRET, and INTERVAULT_<NAME>_USER, _URL and _NOTE when
    /// those fields are set, and INTERVAULT_<NAME>_TOTP (the code current when CMD
    /// starts) when a TOTP seed is stored. <NAME> is the credential name in upper
    /// case with '-' and '.' turned into '_': db-main.v2 gives
    /// INTERVAULT_DB_MAIN_V2_SECRET. The passphrase variables are removed from
    /// CMD's environment, and CMD is stopped when the window ends.
    Exec {
        /// Intervention ID
        id: String,
        /// Only these credentials (repeat for several)
        #[arg(long, value_name = "NAME")]
        only: Vec<String>,
        /// The command and its arguments, after --
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
    },
    /// Keep the vault unlocked in the OS keyring for a while
    Unlock {
        /// How long [default: 15m; at most 12h]
        #[arg(long = "for", value_name = "DURATION")]
        for_: Option<String>,
    },
    /// Forget the unlocked session at once
    Lock,
    /// Vault, session, interventions and expiry at a glance
    Status,
    /// Print a shell completion script
    Completions {
        /// bash, zsh or fish
        #[arg(value_enum)]
        shell: manual::CompletionShell,
    },
    /// Write man pages into a directory, or install them where `man` finds them
    Manpages {
        /// Where to write intervault.1 and one page per command
        #[arg(required_unless_present = "install")]
        dir: Option<PathBuf>,
        /// Install them beside the binary (BIN/../share/man/man1), where `man
        /// intervault` finds them without MANPATH, and say where
        #[arg(long, conflicts_with = "dir")]
        install: bool,
    },
    /// Completes intervention IDs and credential names for the shell scripts
    /// (internal; prints candidates or nothing)
    #[command(hide = true, name = "__complete")]
    Complete {
        /// The words before the one being completed, after --
        #[arg(last = true)]
        words: Vec<String>,
    },
    /// Holds the clipboard for `get --clip` (internal; reads its value from stdin)
    #[command(hide = true, name = "__clip-holder")]
    ClipHolder {
        /// Seconds before clearing
        seconds: u64,
    },
    /// Remove a credential
    Rm {
        /// Intervention ID, or ID/NAME
        id: String,
        /// Credential name (unless given as ID/NAME)
        name: Option<String>,
        /// Do not ask before destroying (the question is only asked when stdin is a terminal)
        #[arg(short, long)]
        yes: bool,
    },
    /// List interventions
    List {
        /// Include closed and expired interventions (tombstones)
        #[arg(long)]
        all: bool,
    },
    /// Show an intervention and its credentials' names (or its tombstone)
    Show {
        /// Intervention ID
        id: String,
        /// Language of what is shown, for the client (a receipt printed again
        /// after `close`) [default: the client's last, else from LC_ALL,
        /// LC_MESSAGES or LANG]
        #[arg(long, value_enum, value_name = "LANG")]
        lang: Option<documents::LangArg>,
    },
    /// Move the end of a scheduled or active window
    #[command(group(clap::ArgGroup::new("end").required(true).args(["until", "for_"])))]
    Extend {
        /// Intervention ID
        id: String,
        /// New window end
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Make the window DURATION longer than it is now planned: the new end is
        /// the current end plus DURATION
        #[arg(long = "for", value_name = "DURATION")]
        for_: Option<String>,
        /// Why the window changes (kept with the intervention)
        #[arg(long)]
        reason: String,
    },
    /// Refuse every fetch of an intervention until unfrozen (restriction of processing)
    Freeze {
        /// Intervention ID
        id: String,
        /// Why (shown in every refusal)
        #[arg(long)]
        reason: String,
    },
    /// Lift a freeze
    Unfreeze {
        /// Intervention ID
        id: String,
    },
    /// Wipe an intervention now and print the receipt
    Close {
        /// Intervention ID
        id: String,
        /// Language of the receipt, for the client [default: the client's last,
        /// else from LC_ALL, LC_MESSAGES or LANG]
        #[arg(long, value_enum, value_name = "LANG")]
        lang: Option<documents::LangArg>,
        /// Do not ask before destroying (the question is only asked when stdin is a terminal)
        #[arg(short, long)]
        yes: bool,
    },
    /// Wipe every intervention whose window has ended (no passphrase needed)
    Sweep,
    /// Change the vault passphrase
    Passwd {
        /// Read the new passphrase from the first line of FILE
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Show the audit trail (every access, refusal and wipe), or check it with `audit verify`
    #[command(args_conflicts_with_subcommands = true)]
    Audit {
        #[command(subcommand)]
        check: Option<AuditCheck>,
        /// Only records written at or after TIME (also today, yesterday: local
        /// midnight; or a DURATION ago: 7d)
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only records written before TIME (same forms as --since)
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Only records about this intervention
        #[arg(long, value_name = "ID")]
        intervention: Option<String>,
        /// Only records about this client
        #[arg(long, value_name = "NAME")]
        client: Option<String>,
    },
    /// What the vault holds about a client: list, report (access, portability), erase
    Client {
        #[command(subcommand)]
        action: ClientAction,
    },
    /// Write an encrypted backup into the managed backup directories, or check one
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[command(subcommand)]
        check: Option<BackupCheckCmd>,
        /// Write it into DIR only, and add DIR to the managed backup directories
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
    },
    /// Restore a backup into a new or empty directory, or an empty etcd prefix
    /// (never bringing back what is wiped)
    Restore {
        /// The backup file
        file: PathBuf,
        /// The new vault's directory (new or empty), or etcd://HOST:PORT[,...]/PREFIX
        /// (an empty prefix; reached with the --etcd-* options)
        #[arg(long, value_name = "DIR|URL")]
        into: PathBuf,
    },
    /// Move a directory vault into etcd: copy, check, then shred the directory
    ///
    /// Every object is copied as it is (sealed: the same passphrase opens the
    /// vault there), the copy is opened and checked against the directory, then
    /// the directory is wiped as a close wipes. Interrupted, run it again: it
    /// finishes or starts over, and loses nothing. Managed backups stay managed.
    Migrate {
        /// The new home: etcd://HOST:PORT[,HOST:PORT...]/PREFIX, an empty prefix
        /// (reached with the --etcd-* options, as --vault)
        #[arg(long, value_name = "URL")]
        to: PathBuf,
    },
    /// Show, or change, how long audit records and tombstones are kept
    Retention {
        /// Keep audit records N months [policy and default: 13]
        #[arg(long, value_name = "N")]
        audit_months: Option<u32>,
        /// Keep tombstones N months after their wipe [policy and default: 36]
        #[arg(long, value_name = "N")]
        tombstone_months: Option<u32>,
        /// Keep managed backups N days [default: 30]
        #[arg(long, value_name = "N")]
        backup_days: Option<u32>,
        /// Allow periods longer than the policy's
        #[arg(long)]
        beyond_policy: bool,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCheck {
    /// Check the whole trail: exit 0 when intact, 6 naming the first bad record
    Verify,
    /// Start a new trail after a damaged one (kept in audit/ as evidence)
    Restart,
}

#[derive(Subcommand, Debug)]
enum BackupCheckCmd {
    /// Restore a backup into a temporary place and check it against its manifest
    Verify {
        /// The backup file [default: the newest managed backup]
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ClientAction {
    /// Clients with live or past interventions
    List,
    /// Everything the vault holds or held about a client (never a secret)
    Report {
        /// The client's name, as given to `open --client`
        name: String,
        /// Language of the report, for the client [default: the client's last,
        /// else from LC_ALL, LC_MESSAGES or LANG]
        #[arg(long, value_enum, value_name = "LANG")]
        lang: Option<documents::LangArg>,
    },
    /// Wipe all of a client's live interventions, then pseudonymise its name
    Erase {
        /// The client's name, as given to `open --client`
        name: String,
        /// Do not ask before destroying (the question is only asked when stdin is a terminal)
        #[arg(short, long)]
        yes: bool,
        /// Language of the receipts and confirmation, for the client [default:
        /// the client's last, else from LC_ALL, LC_MESSAGES or LANG]
        #[arg(long, value_enum, value_name = "LANG")]
        lang: Option<documents::LangArg>,
    },
}

/// Where `init` keeps intervention keys.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum KeyStoreArg {
    /// `keys/REF.age` files in the vault directory
    File,
    /// The OS keyring only
    Keyring,
}

/// The fields `get` can print.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The secret
    Secret,
    /// The login name
    User,
    /// The URL
    Url,
    /// The note
    Note,
    /// The current TOTP code
    Totp,
    /// Every field, as `field: value` lines
    All,
}

/// Parses the command line; on failure prints one `intervault:` line (or the help)
/// and gives the exit code.
pub fn parse() -> std::result::Result<Cli, u8> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.len() <= 1 {
        // Bare `intervault`: the short help, as a usage error (git prints its help
        // and exits 1; 2 is this contract's usage code). Done here, not with clap's
        // `arg_required_else_help`, which INTERVAULT_DIR in the environment defeats.
        let help = help::command().render_help();
        err!("{help}");
        return Err(2);
    }
    let parsed = help::command()
        .try_get_matches_from(&args)
        .and_then(|matches| {
            let mut cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches)?;
            cli.global.from_env = target::IDS
                .into_iter()
                .filter(|id| {
                    matches.value_source(id) == Some(clap::parser::ValueSource::EnvVariable)
                })
                .collect();
            Ok(cli)
        });
    parsed.map_err(|e| {
        use clap::error::ErrorKind;
        let path = command_path(&args);
        match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    2
                } else {
                    0
                }
            }
            // `add ID NAME s3cret`: most likely the secret itself, so it is
            // neither quoted (clap would) nor kept.
            ErrorKind::UnknownArgument
                if path.first().is_some_and(|c| c == "add") && !unknown_is_flag(&e) =>
            {
                errln!("intervault: {}", credential_cmds::SECRET_ON_ARGV);
                2
            }
            ErrorKind::InvalidSubcommand => {
                errln!("intervault: {}", unknown_command(&e, &path));
                2
            }
            _ => {
                errln!("intervault: {}", one_line(&e.render().to_string(), &path));
                2
            }
        }
    })
}

/// Whether the argument clap did not expect is a misspelt option (`--kindd`,
/// for which clap has a suggestion), rather than a stray word that may be a secret.
fn unknown_is_flag(e: &clap::Error) -> bool {
    use clap::error::{ContextKind, ContextValue};
    let flag = matches!(e.get(ContextKind::InvalidArg), Some(ContextValue::String(a)) if a.starts_with('-'));
    flag && e.get(ContextKind::SuggestedArg).is_some()
}

/// The (sub)commands named on the command line, e.g. `["backup", "verify"]`, so
/// that a usage error can point at that command's own `--help`.
fn command_path(args: &[std::ffi::OsString]) -> Vec<String> {
    let mut path = Vec::new();
    let mut cmd = <Cli as clap::CommandFactory>::command();
    // The global options that take a separate value (`--vault DIR`), whose value
    // is not a command name.
    let valued: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set() && a.get_action().takes_values())
        .filter_map(|a| a.get_long().map(|long| format!("--{long}")))
        .collect();
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        if valued.iter().any(|v| *v == word) {
            words.next();
            continue;
        }
        let Some(sub) = cmd.find_subcommand(word.as_ref()).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_owned());
        cmd = sub;
    }
    path
}

/// `intervault gte`: the command the user most likely meant, by edit distance
/// with transpositions (so that `gte` finds `get` and `lsit` finds `list`).
fn unknown_command(e: &clap::Error, path: &[String]) -> String {
    use clap::error::{ContextKind, ContextValue};
    let typed = match e.get(ContextKind::InvalidSubcommand) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let mut cmd = <Cli as clap::CommandFactory>::command();
    for name in path {
        if let Some(sub) = cmd.find_subcommand(name).cloned() {
            cmd = sub;
        }
    }
    let within = std::iter::once("intervault")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let allowed = if typed.chars().count() <= 4 { 1 } else { 2 };
    let best = cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| {
            let name = c.get_name();
            (strsim::damerau_levenshtein(&typed, name), name.to_owned())
        })
        .filter(|(distance, _)| *distance <= allowed)
        .min();
    let shown: String = typed
        .chars()
        .take(64)
        .collect::<String>()
        .escape_debug()
        .to_string();
    match best {
        Some((_, name)) => {
            format!("no command '{shown}': did you mean '{within} {name}'? (see '{within} --help')")
        }
        None => format!("no command '{shown}': see '{within} --help' for the commands"),
    }
}

/// Folds clap's multi-line error into `what: what to do`, pointing at the
/// `--help` of the command in `path`.
fn one_line(rendered: &str, path: &[String]) -> String {
    let lines: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .collect();
    let mut parts = lines.iter();
    let first = parts
        .next()
        .map_or("invalid arguments", |l| l.trim_start_matches("error: "));
    // "the following required arguments were not provided:" is followed by them.
    let mut out = first.trim_end_matches(':').to_owned();
    if first.ends_with(':') {
        let listed: Vec<&str> = parts
            .clone()
            .take_while(|l| !l.starts_with("tip:"))
            .copied()
            .collect();
        out.push(' ');
        out.push_str(&listed.join(", "));
    }
    for extra in parts.filter(|l| l.starts_with("[possible values") || l.starts_with("tip:")) {
        out.push(' ');
        out.push_str(extra);
    }
    // clap quotes the offending value whole; keep the line readable.
    const MAX: usize = 300;
    if let Some((cut, _)) = out.char_indices().nth(MAX) {
        out.truncate(cut);
        out.push_str("...");
    }
    let within = std::iter::once("intervault")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    out.push_str(&format!(": see '{within} --help'"));
    out
}

/// Runs a parsed command; a failure comes back as the line to print (after
/// `intervault: `) and the exit code.
pub fn run(cli: Cli) -> std::result::Result<(), Failure> {
    // Completion prints candidates or nothing: never an error line under the
    // user's prompt.
    let completing = matches!(cli.command, Command::Complete { .. });
    let done = run_command(cli).and_then(|()| out::finish().map_err(|e| Failure::of(&e, None)));
    if completing {
        return Ok(());
    }
    done
}

fn run_command(mut cli: Cli) -> std::result::Result<(), Failure> {
    let early = |e: Error| Failure::of(&e, None);
    if let Command::Complete { words } = &cli.command {
        // The vault the line being completed names, if it names one.
        if let (_, Some(named)) = complete::wanted(words) {
            cli.global.vault = Some(named);
            cli.global.from_env.retain(|id| *id != "vault");
        }
    }
    if cli.global.json {
        if let Some(name) = without_json(&cli.command) {
            return Err(early(Error::usage(
                format!("'{name}' has no JSON output"),
                "run it without --json (see --json in 'intervault --help')",
            )));
        }
    }
    // These need no vault, so not even a vault address.
    match &cli.command {
        Command::Completions { shell } => return manual::completions(*shell).map_err(early),
        Command::Manpages { dir, install } => {
            return manpages(dir.clone(), *install).map_err(early)
        }
        Command::ClipHolder { seconds } => return clip::hold(*seconds).map_err(early),
        _ => {}
    }
    // `migrate --to` and `restore --into` name a second location.
    let second = match &cli.command {
        Command::Migrate { to } => Some((to.as_os_str(), "--to")),
        Command::Restore { into, .. } => Some((into.as_os_str(), "--into")),
        _ => None,
    };
    let (target, other) = match second {
        Some((text, flag)) => {
            let (target, other) = target::resolve_pair(&cli.global, text, flag).map_err(early)?;
            (target, Some(other))
        }
        None => (target::resolve(&cli.global).map_err(early)?, None),
    };
    let store = intervault::store::open(&target.address, target.tls.as_ref(), target.timeout)
        .map_err(|e| Failure::of(&e, Some(&target)))?;
    let other = match other {
        Some(other) => {
            let store = intervault::store::open(&other.address, other.tls.as_ref(), other.timeout)
                .map_err(|e| Failure::of(&e, Some(&other)))?;
            Some((other, store))
        }
        None => None,
    };
    dispatch(cli, store, other).map_err(|e| Failure::of(&e, Some(&target)))
}

/// `intervault manpages DIR` or `--install`.
fn manpages(dir: Option<PathBuf>, install: bool) -> Result<()> {
    let dir = match dir {
        Some(dir) => dir,
        None => manual::install_dir()?,
    };
    let written = manual::manpages(&dir)?;
    if install {
        errln!(
            "intervault: installed {written} man pages in {}; 'man intervault' and 'man intervault-COMMAND' find them",
            dir.display()
        );
    }
    Ok(())
}

/// Runs a command that works on the vault in `store`.
fn dispatch(
    cli: Cli,
    store: intervault::store::SharedStore,
    other: Option<(target::Target, intervault::store::SharedStore)>,
) -> Result<()> {
    let clock = SystemClock;
    // Sessions stay in this login's keyring; the rollback record goes where every
    // login of the user (and the sweep timer) finds it after this one ends.
    let sessions = intervault::os_keyring::LoginSessionKeyring::new();
    let seen_records = intervault::os_keyring::UserKeyring::new();
    let mut vault = Vault::in_store(store, &clock);
    if let Ok(store) = &sessions {
        vault = vault.with_sessions(store);
    }
    if let Ok(store) = &seen_records {
        vault = vault.with_seen_records(store);
    }
    if let Some(state) = state_dir() {
        vault = vault.with_state_dir(state);
    }
    if cli.global.accept_rollback {
        vault = vault.accepting_rollback();
    }
    let mut ui = ui::TerminalUi::new(cli.global.passphrase_file.clone());
    let json = cli.global.json;
    match cli.command {
        Command::Init {
            kdf_memory,
            kdf_iterations,
            kdf_parallelism,
            key_store,
        } => intervention_cmds::init(
            &vault,
            &mut ui,
            [kdf_memory, kdf_iterations, kdf_parallelism],
            key_store == KeyStoreArg::Keyring,
        ),
        Command::Open {
            id,
            client,
            for_,
            until,
            from,
            note,
        } => {
            let window = intervention_cmds::window_spec(for_, until, from)?;
            intervention_cmds::open(&vault, &mut ui, id, client, window, note, json)
        }
        Command::Add {
            id,
            name,
            kind,
            url,
            user,
            note,
            replace,
            multiline,
            totp,
            max_uses,
        } => {
            let (id, name) = credential_cmds::add_pair(id, name)?;
            ui.multiline = multiline;
            ui.expect_totp = totp;
            let new =
                credential_cmds::new_credential(name, &kind, url, user, note, totp, max_uses)?;
            credential_cmds::add(&vault, &mut ui, &id, new, replace)
        }
        Command::Get {
            id,
            name,
            field,
            clip,
            clip_seconds,
        } => {
            if clip && json {
                // --json is global, so clap's conflict rule cannot see it here.
                return Err(Error::usage(
                    "--clip and --json do not go together",
                    "copy one field with --clip, or print them all with --json",
                ));
            }
            let output = match clip {
                true => credential_cmds::Output::Clipboard(
                    clip_seconds.unwrap_or(clip::CLEAR_AFTER_SECONDS),
                ),
                false if json => credential_cmds::Output::Json,
                false => credential_cmds::Output::Stdout,
            };
            let (id, name) = credential_cmds::pair("get", id, name)?;
            let field = field.unwrap_or(match json {
                true => Field::All,
                false => Field::Secret,
            });
            credential_cmds::get(&vault, &mut ui, &id, &name, field, output)
        }
        Command::Totp { id, name } => {
            let (id, name) = credential_cmds::pair("totp", id, name)?;
            credential_cmds::totp(&vault, &mut ui, &id, &name)
        }
        Command::Exec { id, only, command } => exec::exec(&vault, &mut ui, &id, &only, &command),
        Command::Unlock { for_ } => session_cmds::unlock(&vault, &mut ui, for_.as_deref()),
        Command::Lock => session_cmds::lock(&vault),
        Command::Status => session_cmds::status(&vault, &mut ui, json),
        Command::Completions { .. } | Command::Manpages { .. } | Command::ClipHolder { .. } => {
            Err(Error::Internal("handled above".into()))
        }

        Command::Rm { id, name, yes } => {
            let (id, name) = credential_cmds::pair("rm", id, name)?;
            ui.assume_yes = yes;
            credential_cmds::rm(&vault, &mut ui, &id, &name)
        }
        Command::List { all } => intervention_cmds::list(&vault, &mut ui, all, json),
        Command::Show { id, lang } => {
            intervention_cmds::show(&vault, &mut ui, &id, lang.map(Into::into), json)
        }
        Command::Extend {
            id,
            until,
            for_,
            reason,
        } => {
            let end = intervention_cmds::new_end(until, for_)?;
            intervention_cmds::extend(&vault, &mut ui, &id, end, &reason, json)
        }
        Command::Freeze { id, reason } => {
            vault.freeze(&id, &reason, &mut ui)?;
            errln!("intervault: '{id}' is frozen: every fetch is refused until 'intervault unfreeze {id}'");
            Ok(())
        }
        Command::Unfreeze { id } => {
            if vault.unfreeze(&id, &mut ui)? {
                errln!("intervault: '{id}' is no longer frozen");
            } else {
                errln!("intervault: '{id}' was not frozen");
            }
            Ok(())
        }
        Command::Close { id, lang, yes } => {
            ui.assume_yes = yes;
            intervention_cmds::close(&vault, &mut ui, &id, json, lang.map(Into::into))
        }
        Command::Sweep => intervention_cmds::sweep(&vault, &mut ui, json),
        Command::Audit {
            check: Some(AuditCheck::Verify),
            ..
        } => audit_cmds::verify(&vault, &mut ui, json),
        Command::Audit {
            check: Some(AuditCheck::Restart),
            ..
        } => {
            let kept = vault.audit_restart(&mut ui)?;
            errln!("intervault: a new audit trail was started; the damaged one is kept as audit/{kept}");
            Ok(())
        }
        Command::Audit {
            check: None,
            since,
            until,
            intervention,
            client,
        } => audit_cmds::audit(
            &vault,
            &mut ui,
            since.as_deref(),
            until.as_deref(),
            intervention,
            client,
            json,
        ),
        Command::Backup {
            check: Some(BackupCheckCmd::Verify { file }),
            ..
        } => backup_cmds::verify(&vault, &mut ui, file, json),
        Command::Backup { check: None, to } => backup_cmds::backup(&vault, &mut ui, to, json),
        Command::Restore { file, into } => {
            backup_cmds::restore(&vault, &mut ui, &file, &into, other, json)
        }
        Command::Migrate { .. } => migrate_cmds::migrate(&vault, &mut ui, other),
        Command::Client { action } => match action {
            ClientAction::List => audit_cmds::client_list(&vault, &mut ui, json),
            ClientAction::Report { name, lang } => {
                audit_cmds::client_report(&vault, &mut ui, &name, lang.map(Into::into), json)
            }
            ClientAction::Erase { name, yes, lang } => {
                ui.assume_yes = yes;
                audit_cmds::client_erase(&vault, &mut ui, &name, lang.map(Into::into), json)
            }
        },
        Command::Retention {
            audit_months,
            tombstone_months,
            backup_days,
            beyond_policy,
        } => {
            let change = intervault::vault::RetentionChange {
                audit_months,
                tombstone_months,
                backup_days,
                beyond_policy,
            };
            audit_cmds::retention(&vault, &mut ui, change, json)
        }
        Command::Passwd {
            new_passphrase_file,
        } => {
            ui.new_passphrase_file = new_passphrase_file;
            vault.passwd(&mut ui)?;
            errln!("intervault: passphrase changed");
            Ok(())
        }
        Command::Complete { words } => {
            if let (Some(wanted), _) = complete::wanted(&words) {
                for candidate in complete::candidates(&vault, &wanted) {
                    outln!("{candidate}");
                }
            }
            Ok(())
        }
    }
}

/// The name of a command that has nothing to say in JSON, which refuses
/// `--json` (exit 2) rather than ignore it; `None` for those that print JSON.
fn without_json(command: &Command) -> Option<&'static str> {
    let name = match command {
        Command::Open { .. }
        | Command::Get { .. }
        | Command::List { .. }
        | Command::Show { .. }
        | Command::Extend { .. }
        | Command::Close { .. }
        | Command::Sweep
        | Command::Status
        | Command::Client { .. }
        | Command::Backup { .. }
        | Command::Restore { .. }
        | Command::Retention { .. }
        | Command::Audit {
            check: None | Some(AuditCheck::Verify),
            ..
        } => return None,
        Command::Audit {
            check: Some(AuditCheck::Restart),
            ..
        } => "audit restart",
        Command::Init { .. } => "init",
        Command::Add { .. } => "add",
        Command::Totp { .. } => "totp",
        Command::Exec { .. } => "exec",
        Command::Unlock { .. } => "unlock",
        Command::Lock => "lock",
        Command::Completions { .. } => "completions",
        Command::Manpages { .. } => "manpages",
        Command::ClipHolder { .. } => "__clip-holder",
        Command::Complete { .. } => "__complete",
        Command::Rm { .. } => "rm",
        Command::Freeze { .. } => "freeze",
        Command::Unfreeze { .. } => "unfreeze",
        Command::Passwd { .. } => "passwd",
        Command::Migrate { .. } => "migrate",
    };
    Some(name)
}

/// Where what this machine has seen of each vault is kept (rollback detection):
/// `$XDG_STATE_HOME/intervault`, else `~/.local/state/intervault`; outside the
/// vault directory, so that a copy of it put back is seen as older.
fn state_dir() -> Option<PathBuf> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    from_env("XDG_STATE_HOME")
        .or_else(|| from_env("HOME").map(|home| home.join(".local/state")))
        .map(|state| state.join("intervault"))
}

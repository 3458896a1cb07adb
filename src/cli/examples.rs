//! The EXAMPLES of each command, and what the man pages say beyond the options:
//! exit status, environment, files. One table, so that `--help` and the man
//! pages say the same thing.

/// A few typical uses of command `name` (`""` for the top level), as
/// `(what it does, the command line)`.
pub fn of(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "" => &[
            ("create a vault", "intervault init"),
            (
                "open an intervention for three days",
                "intervault open acme-site --client \"Acme SARL\" --for 3d",
            ),
            (
                "store a login (the secret is asked for, hidden)",
                "intervault add acme-site wp-admin --kind cms --user admin",
            ),
            ("fetch it for a pipe", "intervault get acme-site wp-admin"),
            ("wipe it all when the work is done", "intervault close acme-site"),
        ],
        "init" => &[
            ("create the vault in the default place", "intervault init"),
            (
                "keep intervention keys only in the OS keyring",
                "intervault init --key-store keyring",
            ),
        ],
        "open" => &[
            (
                "a window from now",
                "intervault open acme-site --client \"Acme SARL\" --for 3d --note \"WordPress upgrade\"",
            ),
            (
                "a scheduled window",
                "intervault open later-job --client Beta --from \"2026-12-10 09:00\" --until \"2026-12-12 18:00\"",
            ),
        ],
        "add" => &[
            (
                "asks for the secret twice, hidden",
                "intervault add acme-site ftp --kind hosting --user acme --url sftp://ftp.acme.example",
            ),
            (
                "from a pipe: one line",
                "printf '%s\\n' \"$PW\" | intervault add acme-site db --kind database --user app",
            ),
            (
                "a one-shot credential, wiped after its first fetch",
                "intervault add acme-site token --kind other --max-uses 1",
            ),
        ],
        "get" => &[
            ("the bare secret, for pipes", "intervault get acme-site ftp"),
            ("another field", "intervault get acme-site ftp --field user"),
            (
                "to the clipboard, cleared after 45 s",
                "intervault get acme-site ftp --clip",
            ),
        ],
        "totp" => &[("the current code", "intervault totp acme-site registrar")],
        "exec" => &[
            (
                "credentials in the child's environment only",
                "intervault exec acme-site -- ./deploy.sh",
            ),
            (
                "one credential, used by name (INTERVAULT_DB_SECRET, INTERVAULT_DB_USER)",
                "intervault exec acme-site --only db -- sh -c 'MYSQL_PWD=\"$INTERVAULT_DB_SECRET\" mysql -u \"$INTERVAULT_DB_USER\"'",
            ),
        ],
        "unlock" => &[("the passphrase once, for two hours", "intervault unlock --for 2h")],
        "lock" => &[("end the session now", "intervault lock")],
        "status" => &[
            ("the vault at a glance", "intervault status"),
            ("for a script", "intervault status --json"),
        ],
        "rm" => &[("remove one credential", "intervault rm acme-site ftp")],
        "list" => &[
            ("the open interventions", "intervault list"),
            ("with the wiped ones", "intervault list --all --json"),
        ],
        "show" => &[("an intervention, or a tombstone", "intervault show acme-site")],
        "extend" => &[(
            "move the window's end",
            "intervault extend acme-site --until \"2026-12-06 18:00\" --reason \"client asked for one more day\"",
        )],
        "freeze" => &[(
            "refuse every fetch until unfrozen",
            "intervault freeze acme-site --reason \"dispute\"",
        )],
        "unfreeze" => &[("fetches allowed again", "intervault unfreeze acme-site")],
        "close" => &[
            ("wipe now and print the receipt", "intervault close acme-site"),
            (
                "the receipt in the client's language",
                "intervault close acme-site --lang fr",
            ),
        ],
        "sweep" => &[
            (
                "wipe what has ended, without the passphrase (for a timer)",
                "intervault sweep",
            ),
            (
                "run it every minute from cron (the timer `status` looks for)",
                "( crontab -l 2>/dev/null; echo '* * * * * intervault sweep --json >/dev/null' ) | crontab -",
            ),
        ],
        "passwd" => &[("change the passphrase", "intervault passwd")],
        "audit" => &[
            (
                "every access and wipe for a client",
                "intervault audit --since 2026-12-01 --client \"Acme SARL\"",
            ),
            ("check the trail", "intervault audit verify"),
        ],
        "client" => &[
            ("the clients the vault holds", "intervault client list"),
            (
                "everything held about one, never a secret",
                "intervault client report \"Acme SARL\" --json",
            ),
            (
                "erase a client: wipe and pseudonymise",
                "intervault client erase \"Acme SARL\"",
            ),
        ],
        "backup" => &[
            ("an encrypted backup", "intervault backup"),
            ("check one", "intervault backup verify BACKUP-FILE"),
        ],
        "restore" => &[
            (
                "into a new directory",
                "intervault restore BACKUP-FILE --into ~/restored-vault",
            ),
            (
                "into an empty etcd prefix",
                "intervault restore BACKUP-FILE --into etcd://10.0.0.5:2379,10.0.0.6:2379/agency/vault",
            ),
        ],
        "migrate" => &[(
            "move the directory vault into etcd (TLS options as for --vault)",
            "intervault migrate --to etcd://10.0.0.5:2379,10.0.0.6:2379/agency/vault",
        )],
        "retention" => &[
            ("show the periods", "intervault retention"),
            ("keep audit records 6 months", "intervault retention --audit-months 6"),
        ],
        "completions" => &[(
            "bash completions",
            "intervault completions bash > ~/.local/share/bash-completion/completions/intervault",
        )],
        "manpages" => &[
            ("where 'man intervault' finds them", "intervault manpages --install"),
            ("into a directory", "intervault manpages ./man"),
        ],
        _ => &[],
    }
}

/// The exit statuses, as the contract gives them.
pub const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success"),
    (
        "1",
        "other failure: I/O, the vault busy for more than 10 s, the OS keyring, a wipe whose key destruction is still pending, internal",
    ),
    (
        "2",
        "usage: a bad flag, a malformed ID, time, duration or kind, a bad window",
    ),
    (
        "3",
        "refused by policy: outside the window (scheduled or ended), closed, expired, frozen",
    ),
    (
        "4",
        "authentication: wrong passphrase, no passphrase available, session expired",
    ),
    (
        "5",
        "not found: no vault, no such intervention, credential or client",
    ),
    (
        "6",
        "damaged or tampered vault data, unsupported format version, rollback detected, broken audit trail",
    ),
    (
        "7",
        "conflict: already exists (vault, intervention ID, credential name without --replace)",
    ),
];

/// The environment variables intervault reads.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "INTERVAULT_DIR",
        "the vault, a directory or an etcd:// URL (as --vault); default vault in the configuration file, else $XDG_DATA_HOME/intervault, else ~/.local/share/intervault",
    ),
    (
        "INTERVAULT_ETCD_CA, INTERVAULT_ETCD_CERT, INTERVAULT_ETCD_KEY",
        "the TLS files of a vault on etcd (as --etcd-ca, --etcd-cert and --etcd-key): all three or none",
    ),
    (
        "INTERVAULT_ETCD_TIMEOUT",
        "how long one request to etcd may take (as --etcd-timeout); default 10s",
    ),
    (
        "XDG_CONFIG_HOME",
        "where the configuration file is; default ~/.config",
    ),
    (
        "INTERVAULT_PASSPHRASE_FILE",
        "a file whose first line is the passphrase (as --passphrase-file)",
    ),
    (
        "INTERVAULT_PASSPHRASE",
        "the passphrase itself, for automation and tests",
    ),
    (
        "INTERVAULT_NEW_PASSPHRASE",
        "the new passphrase for passwd",
    ),
    (
        "XDG_STATE_HOME",
        "where the record of the last vault generation seen is kept (rollback detection); default ~/.local/state",
    ),
    (
        "TZ",
        "the time zone times are read and shown in",
    ),
    (
        "LC_ALL, LC_MESSAGES, LANG",
        "the default language of documents for clients (fr_* gives French)",
    ),
    ("NO_COLOR", "no colour in listings"),
];

/// The files intervault keeps.
pub const FILES: &[(&str, &str)] = &[
    (
        "~/.config/intervault/config.toml",
        "the configuration file (TOML), read when no flag or variable names the vault, or when the vault is on etcd: vault = \"DIR or etcd://HOST:PORT[,HOST:PORT...]/PREFIX\", and an [etcd] table with ca, cert and key (PEM files; a relative path is relative to the file's directory) and timeout (a DURATION from 1s to 1h). Every key is optional; an unknown key, a bad value, or a file that others may change is refused (exit 2)",
    ),
    (
        "~/.local/share/intervault/",
        "the vault (directory 0700, files 0600): vault.json, keys/, creds/, records/, history.N.age, audit/",
    ),
    (
        "~/.local/share/intervault-backups/",
        "the vault's managed backups",
    ),
    (
        "~/.local/state/intervault/",
        "the last generation seen of each vault (rollback detection)",
    ),
];

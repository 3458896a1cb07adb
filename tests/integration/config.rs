//! Where the vault is: `--vault`, `INTERVAULT_DIR`, the configuration file and
//! the default, in that order; etcd URLs and their TLS and timeout options; and
//! the advice that names the flags, added by the binary alone.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

use crate::support::{Run, TestVault, PASSPHRASE};

/// The home directory of `v`'s commands (the vault is `HOME/vault`).
fn home(v: &TestVault) -> PathBuf {
    v.dir.parent().expect("a parent").to_owned()
}

/// Writes `HOME/.config/intervault/config.toml`, mode 0600; gives its path.
fn write_config(v: &TestVault, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = home(v).join(".config/intervault");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Runs intervault with `v`'s home and passphrase but without INTERVAULT_DIR,
/// with `env` added, in the home directory.
fn run(v: &TestVault, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = Command::cargo_bin("intervault").unwrap();
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home(v))
        .env("TZ", "UTC")
        .env("INTERVAULT_PASSPHRASE", PASSPHRASE)
        .envs(env.iter().copied())
        .current_dir(home(v))
        .args(args)
        .write_stdin("");
    Run(c.output().unwrap())
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn the_vault_comes_from_the_flag_then_the_variable_then_the_file_then_the_default() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cret");
    let file = write_config(&v, "# the agency's vault\nvault = \"vault\"\n");
    // The file's relative directory is relative to the file, not to the cwd.
    let relative = home(&v).join(".config/intervault/vault");
    run(&v, &["list"], &[]).fails(5);
    std::fs::remove_file(&file).unwrap();
    write_config(&v, &format!("vault = \"{}\"\n", shown(&v.dir)));
    let listed = run(&v, &["list"], &[]).success();
    assert!(listed.stdout().contains("acme"), "{}", listed.stdout());
    let elsewhere = home(&v).join("elsewhere");
    let env = [("INTERVAULT_DIR", elsewhere.to_str().unwrap())];
    let err = run(&v, &["list"], &env).fails(5).stderr();
    assert_eq!(
        err,
        format!(
            "intervault: no vault at {}: run 'intervault init', or point --vault or INTERVAULT_DIR at your vault\n",
            shown(&elsewhere)
        )
    );
    let flagged = home(&v).join("flagged");
    let err = run(&v, &["list", "--vault", flagged.to_str().unwrap()], &env)
        .fails(5)
        .stderr();
    assert!(
        err.contains(&format!("no vault at {}:", shown(&flagged))),
        "{err}"
    );
    // No flag, no variable, no `vault` key: the default directory.
    write_config(&v, "[etcd]\ntimeout = \"5s\"\n");
    let err = run(&v, &["list"], &[]).fails(5).stderr();
    let default = home(&v).join(".local/share/intervault");
    assert!(
        err.contains(&format!("no vault at {}:", shown(&default))),
        "{err}"
    );
    assert!(!relative.exists());
}

#[test]
fn a_vault_named_by_the_file_gets_advice_that_points_at_the_file() {
    let v = TestVault::empty();
    let missing = home(&v).join("nowhere");
    let file = write_config(&v, &format!("\nvault = \"{}\"\n", shown(&missing)));
    let err = run(&v, &["list"], &[]).fails(5).stderr();
    assert_eq!(
        err,
        format!(
            "intervault: no vault at {}: run 'intervault init', or point --vault, INTERVAULT_DIR or vault in {} (line 2) at your vault\n",
            shown(&missing),
            shown(&file)
        )
    );
    // `init` creates it there.
    run(
        &v,
        &[
            "init",
            "--kdf-memory",
            "8",
            "--kdf-iterations",
            "1",
            "--kdf-parallelism",
            "1",
        ],
        &[],
    )
    .success();
    assert!(missing.join("vault.json").exists());
}

#[test]
fn a_config_file_with_a_mistake_is_refused_with_its_line_unless_it_is_not_needed() {
    let v = TestVault::new();
    let file = write_config(&v, "vault = \"/v\"\n[etcd]\ncafile = \"ca.pem\"\n");
    let err = run(&v, &["list"], &[]).fails(2).stderr();
    assert_eq!(
        err,
        format!(
            "intervault: invalid config file {}, line 3: unknown field `cafile`, expected one of `ca`, `cert`, `key`, `timeout`: correct it: the file takes vault = \"DIR or etcd://...\", and an [etcd] table with ca, cert, key and timeout (see FILES in 'man intervault')\n",
            shown(&file)
        )
    );
    // A vault named by the variable needs no file: the sweep timer goes on.
    v.run(&["sweep"]).success();
    write_config(&v, "vault = \"etcd://h/v\"\n");
    let err = run(&v, &["list"], &[]).fails(2).stderr();
    assert!(
        err.contains(", line 1: vault: invalid etcd URL: the endpoint \"h\" has no port"),
        "{err}"
    );
    let file = write_config(&v, "vault = \"/v\"\n");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o620)).unwrap();
    let err = run(&v, &["list"], &[]).fails(2).stderr();
    assert!(
        err.contains("can be changed by other users (mode 620)"),
        "{err}"
    );
    // XDG_CONFIG_HOME moves the file.
    let xdg = home(&v).join("xdg");
    let env = [("XDG_CONFIG_HOME", xdg.to_str().unwrap())];
    let err = run(&v, &["list"], &env).fails(5).stderr();
    assert!(err.contains(".local/share/intervault"), "{err}");
}

#[test]
fn an_etcd_address_is_checked_before_any_connection() {
    let v = TestVault::empty();
    let url = "etcd://10.0.0.5:2379,10.0.0.6:2379/agency/vault";
    let err = run(&v, &["list", "--vault", url], &[]).fails(2).stderr();
    assert!(
        err.starts_with(
            "intervault: refusing to reach etcd://10.0.0.5:2379,10.0.0.6:2379/agency/vault without TLS: "
        ),
        "{err}"
    );
    assert!(
        err.contains("--etcd-ca, --etcd-cert and --etcd-key"),
        "{err}"
    );
    let err = run(
        &v,
        &["list", "--vault", url, "--etcd-cert", "c.pem"],
        &[("INTERVAULT_ETCD_CA", "ca.pem")],
    )
    .fails(2)
    .stderr();
    assert!(
        err.starts_with(
            "intervault: incomplete TLS options for etcd: INTERVAULT_ETCD_CA and --etcd-cert are given, but --etcd-key is missing: give all three or none: "
        ),
        "{err}"
    );
    let tls = ["--etcd-ca", "a", "--etcd-cert", "b", "--etcd-key", "c"];
    // The TLS files are read before anything is sent.
    let err = run(&v, &[&["list", "--vault", url][..], &tls].concat(), &[])
        .fails(1)
        .stderr();
    assert!(
        err.starts_with("intervault: etcd TLS file a: no such file: "),
        "{err}"
    );
    // On this machine, TLS is not required; every endpoint is tried.
    let err = run(
        &v,
        &["sweep"],
        &[("INTERVAULT_DIR", "ETCD://LocalHost:1,[0::1]:1/v")],
    )
    .fails(1)
    .stderr();
    assert!(
        err.starts_with("intervault: no etcd endpoint answered (tried localhost:1, [::1]:1)"),
        "{err}"
    );
    let err = run(&v, &["list", "--vault", url, "--etcd-timeout", "2h"], &[])
        .fails(2)
        .stderr();
    assert_eq!(
        err,
        "intervault: --etcd-timeout: an etcd timeout of 2h is too long: give at most 1h\n"
    );
    // Nothing was created for any of these, here or in the cwd.
    assert!(!v.dir.exists());
    assert_eq!(std::fs::read_dir(home(&v)).unwrap().count(), 0);
}

#[test]
fn the_config_file_completes_the_etcd_options_and_flags_win_over_it() {
    let v = TestVault::empty();
    let file = write_config(
        &v,
        "vault = \"etcd://10.0.0.5:2379/agency/vault\"\n\n[etcd]\nca = \"tls/ca.pem\"\ncert = \"tls/client.pem\"\n",
    );
    let err = run(&v, &["list"], &[]).fails(2).stderr();
    let f = shown(&file);
    assert!(
        err.starts_with(&format!(
            "intervault: incomplete TLS options for etcd: ca in {f} (line 4) and cert in {f} (line 5) are given, but --etcd-key is missing"
        )),
        "{err}"
    );
    let err = run(&v, &["list"], &[("INTERVAULT_ETCD_KEY", "k.pem")])
        .fails(1)
        .stderr();
    // The CA and certificate files come from the file, relative to it.
    let tls = home(&v).join(".config/intervault/tls/ca.pem");
    assert!(
        err.starts_with(&format!(
            "intervault: etcd TLS file {}: no such file",
            shown(&tls)
        )),
        "{err}"
    );
    // A directory given on the command line does not use the [etcd] table...
    let dir = home(&v).join("d");
    let err = run(&v, &["list", "--vault", dir.to_str().unwrap()], &[])
        .fails(5)
        .stderr();
    assert!(err.starts_with("intervault: no vault at "), "{err}");
    // ...but refuses etcd options given with it, which would do nothing.
    let err = run(
        &v,
        &["list", "--vault", dir.to_str().unwrap()],
        &[("INTERVAULT_ETCD_TIMEOUT", "5s")],
    )
    .fails(2)
    .stderr();
    assert_eq!(
        err,
        format!("intervault: INTERVAULT_ETCD_TIMEOUT is only for a vault on etcd, but the vault is the directory {}: leave out the etcd options, or give the vault's etcd:// URL with --vault or INTERVAULT_DIR\n", shown(&dir))
    );
}

#[test]
fn what_only_looks_like_a_url_is_refused_not_made_a_directory() {
    let v = TestVault::empty();
    for (given, starts) in [
        (
            "etcd:/10.0.0.5:2379/v",
            "intervault: --vault: invalid etcd URL: it lacks the '//' after 'etcd:'",
        ),
        (
            "https://10.0.0.5:2379/v",
            "intervault: --vault: unsupported vault URL scheme \"https\"",
        ),
        (
            "etcd://root:pw@10.0.0.5:2379/v",
            "intervault: --vault: an etcd URL cannot carry a user name or password",
        ),
        (
            "etcd://10.0.0.5:2379/a/../b",
            "intervault: --vault: invalid etcd URL: its PREFIX \"a/../b\" has a '.' or '..' part",
        ),
    ] {
        let err = run(&v, &["init", "--vault", given], &[]).fails(2).stderr();
        assert!(err.starts_with(starts), "{given}: {err}");
        assert!(!err.contains("pw@"), "{err}");
    }
    assert_eq!(std::fs::read_dir(home(&v)).unwrap().count(), 0);
}

/// Issue: flag hints move out of the library. A directory user still reads the
/// advice with the flags, added by the binary.
#[test]
fn the_binary_adds_the_flags_to_the_library_advice() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cret");
    let err = v
        .run(&["get", "acme", "ftp", "--field", "note"])
        .fails(5)
        .stderr();
    assert!(
        err.ends_with("it was never set; ask for another field, or add it again with --replace\n"),
        "{err}"
    );
    let err = v
        .run_with_stdin(&["add", "acme", "ftp", "--kind", "other"], "x\n")
        .fails(7)
        .stderr();
    assert_eq!(
        err,
        "intervault: credential 'ftp' already exists in 'acme': add --replace to overwrite it\n"
    );
    let err = v.init_cheap(&[]).fails(7).stderr();
    assert!(
        err.ends_with(": use it, or choose another directory with --vault\n"),
        "{err}"
    );
    let err = v.run(&["show", "nosuch"]).fails(5).stderr();
    assert_eq!(
        err,
        "intervault: no intervention 'nosuch': see 'intervault list --all' for the IDs in this vault\n"
    );
    // Usage errors from the library say it in words.
    let err = v
        .run(&["extend", "acme", "--until", "2001-01-01", "--reason", "r"])
        .fails(2)
        .stderr();
    assert_eq!(
        err,
        "intervault: the new window end has already passed: give a window end in the future, or use 'intervault close' to end it now\n"
    );
}

//! Writes the seed corpus of every fuzz target into `fuzz/corpus/`.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example make_seeds -- VAULT_DIR PASSPHRASE OUT_DIR
//! ```
//!
//! VAULT_DIR is a throwaway vault made with the debug binary (see
//! docs/fuzzing-results.md); its files are decrypted with PASSPHRASE so the
//! payload targets start from real plaintexts, and the plaintexts are sealed
//! again to the fixed keys the `age_open` target holds. The hand-written edge
//! cases are listed below. `make_seeds genkey` prints a fresh age identity.
//! `make_seeds audit OUT_DIR` writes only the `audit_trail` seeds: logs built
//! with the fixed key, so that their MACs verify and their records open.

use std::fs;
use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine};
use intervault::crypto::seal::{open_with, seal_to};
use intervault::crypto::{PassphraseKey, SealKey, SecretText, WrapKey};
use intervault::vault::format::{decode_salt, parse_root};
use zeroize::Zeroizing;

/// The identity the `age_open` target opens with (a fuzzing-only key, never a
/// vault's). Kept in step with fuzz_targets/age_open.rs.
const FUZZ_IDENTITY: &str =
    "AGE-SECRET-KEY-1RQSJJQUF40PUP7XPVP4XRKUE4HWKD6PX708D78AE7LD97XYJ0TCQZGZDAZ";

/// An `index` seed: the target's first byte picks the part (0: a version 1
/// index, 1: a core, 2: a record, 3: the history).
fn part(which: u8, plain: &[u8]) -> Vec<u8> {
    let mut seed = vec![which];
    seed.extend_from_slice(plain);
    seed
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("create corpus dir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("genkey") {
        println!("{}", SealKey::generate().to_secret().expose());
        return;
    }
    if let ["audit", out] = args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        audit_seeds(&PathBuf::from(out).join("audit_trail"));
        return;
    }
    let [vault, passphrase, out] = args.as_slice() else {
        eprintln!("usage: make_seeds VAULT_DIR PASSPHRASE OUT_DIR | make_seeds genkey");
        std::process::exit(2);
    };
    let vault = PathBuf::from(vault);
    let out = PathBuf::from(out);
    let fuzz_key =
        SealKey::from_secret(&SecretText::new(FUZZ_IDENTITY.to_owned())).expect("fuzz identity");
    let fuzz_pass = PassphraseKey::new(Zeroizing::new([7u8; 32]));

    // ---- vault_root: the real vault.json and edits of it ----
    let root_path = vault.join("vault.json");
    let root_bytes = fs::read(&root_path).expect("read vault.json");
    let dir = out.join("vault_root");
    write(&dir, "real-vault.json", &root_bytes);
    let root = parse_root(&root_path, &root_bytes).expect("the seed vault parses");
    let text = String::from_utf8(root_bytes.clone()).expect("utf-8");
    let edits: &[(&str, &str, &str)] = &[
        ("version-1.json", "\"version\":2", "\"version\":1"),
        ("version-3.json", "\"version\":2", "\"version\":3"),
        (
            "version-huge.json",
            "\"version\":2",
            "\"version\":4294967296",
        ),
        (
            "format-other.json",
            "\"format\":\"intervault\"",
            "\"format\":\"other\"",
        ),
        ("algo-argon2i.json", "\"argon2id\"", "\"argon2i\""),
        (
            "memory-huge.json",
            "\"memory_kib\":8192",
            "\"memory_kib\":4294967295",
        ),
        (
            "memory-tiny.json",
            "\"memory_kib\":8192",
            "\"memory_kib\":1",
        ),
        ("iterations-0.json", "\"iterations\":1", "\"iterations\":0"),
        (
            "parallelism-65.json",
            "\"parallelism\":4",
            "\"parallelism\":65",
        ),
        ("salt-bad.json", &root.kdf.salt, "AAAA"),
        ("extra-field.json", "\"swept\"", "\"extra\":1,\"swept\""),
        ("ref-path.json", "\"ref\":\"", "\"ref\":\"../"),
    ];
    for (name, from, to) in edits {
        assert!(text.contains(from), "{name}: {from} not in vault.json");
        write(&dir, name, text.replacen(from, to, 1).as_bytes());
    }
    // Clear fields the keyless sweep and status act on (issue 12): a backup
    // retention that overflowed date arithmetic, a valid one with every window
    // ended (so the target's sweep wipes and runs the backup upkeep), a window
    // end beyond four-digit years, a ref both live and swept.
    let value: serde_json::Value = serde_json::from_slice(&root_bytes).expect("json");
    let backups = |days: u64| {
        serde_json::json!({"id": "0123456789abcdef0123456789abcdef",
                           "dirs": ["/var/backups/intervault"], "retention_days": days})
    };
    let hostile: [(&str, Box<dyn Fn(&mut serde_json::Value)>); 4] = [
        (
            "backups-retention-max.json",
            Box::new(move |v| v["backups"] = backups(4294967295)),
        ),
        (
            "backups-retention-ok-ended.json",
            Box::new(move |v| {
                v["backups"] = backups(36500);
                for e in v["expiry"].as_array_mut().expect("expiry") {
                    e["until"] = "2020-01-01T00:00:00Z".into();
                }
            }),
        ),
        (
            "until-year-262142.json",
            Box::new(|v| {
                for e in v["expiry"].as_array_mut().expect("expiry") {
                    e["until"] = "+262142-12-31T23:59:59Z".into();
                }
            }),
        ),
        (
            "swept-also-live.json",
            Box::new(|v| {
                let live = v["expiry"][0]["ref"].clone();
                v["swept"]
                    .as_array_mut()
                    .expect("swept")
                    .push(serde_json::json!({"ref": live, "wiped_at": "2026-01-01T00:00:00Z"}));
            }),
        ),
    ];
    for (name, edit) in hostile {
        let mut v = value.clone();
        edit(&mut v);
        write(&dir, name, &serde_json::to_vec(&v).expect("json"));
    }
    write(&dir, "not-json", b"age-encryption.org/v1\n");
    write(
        &dir,
        "probe-only.json",
        br#"{"format":"intervault","version":1}"#,
    );
    write(&dir, "empty-tables.json", br#"{"format":"intervault","version":1,"kdf":{"algorithm":"argon2id","memory_kib":64,"iterations":1,"parallelism":1,"salt":"AAAAAAAAAAAAAAAAAAAAAA=="},"master_key":"","index":"","expiry":[],"swept":[]}"#);

    // ---- decrypt the vault: master key, index, intervention keys, credentials ----
    let salt = decode_salt(&root_path, &root.kdf).expect("salt");
    let kek = root
        .kdf
        .params
        .derive(&SecretText::new(passphrase.clone()), &salt)
        .expect("derive");
    let pass_key = PassphraseKey::new(kek);
    let master_blob = STANDARD.decode(&root.master_key).expect("master base64");
    let master_plain = open_with(&pass_key, &master_blob).expect("wrong passphrase?");
    let master_json: serde_json::Value = serde_json::from_slice(&master_plain).expect("json");
    let master_id = master_json["identity"]
        .as_str()
        .expect("identity")
        .to_owned();
    let master = SealKey::from_secret(&SecretText::new(master_id)).expect("master identity");
    let index_blob = STANDARD.decode(&root.index).expect("index base64");
    // Version 2: the index's files are sealed with the index key.
    let index_key = WrapKey::index(&master);
    let index_plain = open_with(&index_key, &index_blob).expect("index opens");

    let km = out.join("key_and_master");
    write(&km, "master.json", &master_plain);
    write(&out.join("index"), "real-core.json", &part(1, &index_plain));
    let records = fs::read_dir(vault.join("records")).expect("records dir");
    for (n, entry) in records.enumerate() {
        let blob = fs::read(entry.expect("entry").path()).expect("record file");
        let plain = open_with(&index_key, &blob).expect("record opens");
        write(
            &out.join("index"),
            &format!("record-{n}.json"),
            &part(2, &plain),
        );
    }
    for entry in fs::read_dir(&vault).expect("vault dir") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("history."))
        {
            let sealed = fs::read(&path).expect("history");
            let plain = open_with(&index_key, &sealed).expect("history opens");
            write(&out.join("index"), "history.json", &part(3, &plain));
        }
    }

    let age_dir = out.join("age_open");
    // Real files sealed to keys the target does not hold: the header paths.
    write(&age_dir, "real-master-key.age", &master_blob);
    write(&age_dir, "real-index.age", &index_blob);
    // Plaintexts sealed to the target's own keys: the payload paths too.
    let seal = |name: &str, plain: &[u8]| {
        write(
            &age_dir,
            &format!("x25519-{name}.age"),
            &fuzz_key.seal(plain).expect("seal"),
        );
        write(
            &age_dir,
            &format!("pass-{name}.age"),
            &seal_to(&fuzz_pass, plain).expect("seal"),
        );
    };
    seal("index", &index_plain);
    seal("empty", b"");
    write(
        &age_dir,
        "header-only",
        b"age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n--- AAAA\n",
    );
    write(&age_dir, "not-age", b"-----BEGIN AGE ENCRYPTED FILE-----\n");

    let mut keys: Vec<_> = fs::read_dir(vault.join("keys"))
        .expect("keys dir")
        .map(|e| e.expect("entry").path())
        .collect();
    keys.sort();
    let creds: Vec<_> = fs::read_dir(vault.join("creds"))
        .expect("creds dir")
        .map(|e| e.expect("entry").path())
        .collect();
    for (n, key_path) in keys.iter().enumerate() {
        let blob = fs::read(key_path).expect("key file");
        let key_plain = master.open(&blob).expect("key opens");
        write(&km, &format!("key-{n}.json"), &key_plain);
        if n == 0 {
            write(&age_dir, "real-key-file.age", &blob);
        }
        let v: serde_json::Value = serde_json::from_slice(&key_plain).expect("json");
        let reference = v["ref"].as_str().expect("ref").to_owned();
        let key = SealKey::from_secret(&SecretText::new(
            v["identity"].as_str().expect("identity").to_owned(),
        ))
        .expect("key identity");
        for c in &creds {
            let name = c.file_name().expect("name").to_string_lossy().into_owned();
            if name.starts_with(&reference) {
                let plain = key
                    .open(&fs::read(c).expect("creds file"))
                    .expect("creds open");
                write(&out.join("credentials"), &format!("creds-{n}.json"), &plain);
                seal(&format!("creds-{n}"), &plain);
            }
        }
    }

    // ---- hand-written payload edge cases ----
    let r = "0123456789abcdef0123456789abcdef";
    let t = "2026-12-01T08:00:00Z";
    let index = out.join("index");
    write(
        &index,
        "empty.json",
        &part(
            0,
            format!(r#"{{"high_water":"{t}","interventions":[],"tombstones":[]}}"#).as_bytes(),
        ),
    );
    write(&index, "dup-id.json", &part(0, format!(r#"{{"high_water":"{t}","interventions":[{{"id":"a","ref":"{r}","client":"c","note":null,"window":{{"from":"{t}","until":"2026-12-02T08:00:00Z"}},"opened_at":"{t}","creds_gen":null,"entries":[],"extensions":[]}}],"tombstones":[{{"id":"a","ref":"{r}","client":"c","window":{{"from":"{t}","until":"2026-12-02T08:00:00Z"}},"wiped_at":"{t}","reason":"closed","names":[],"receipt":"sha256:00"}}]}}"#).as_bytes()));
    write(
        &index,
        "leap-second.json",
        &part(
            0,
            br#"{"high_water":"2016-12-31T23:59:60Z","interventions":[],"tombstones":[]}"#,
        ),
    );
    let creds_dir = out.join("credentials");
    write(
        &creds_dir,
        "empty.json",
        format!(r#"{{"ref":"{r}","generation":18446744073709551615,"credentials":[]}}"#).as_bytes(),
    );
    write(&creds_dir, "unicode.json", format!(r#"{{"ref":"{r}","generation":1,"credentials":[{{"name":"\u00e9\ud83d\ude00","kind":"other","url":null,"user":null,"secret":"a\u0000b","note":null,"totp":"JBSWY3DPEHPK3PXP"}}]}}"#).as_bytes());
    write(
        &km,
        "key-hand.json",
        format!(r#"{{"ref":"{r}","identity":"{FUZZ_IDENTITY}"}}"#).as_bytes(),
    );
    write(
        &km,
        "key-bad-identity.json",
        format!(r#"{{"ref":"{r}","identity":"AGE-SECRET-KEY-1QQQQ"}}"#).as_bytes(),
    );
    write(&km, "master-hand.json", format!(r#"{{"version":1,"kdf":{{"algorithm":"argon2id","memory_kib":64,"iterations":1,"parallelism":1,"salt":"AAAAAAAAAAAAAAAAAAAAAA=="}},"identity":"{FUZZ_IDENTITY}"}}"#).as_bytes());

    // ---- time_args: the first byte picks the time zone (see the target) ----
    let times = [
        "2026-12-01T09:00:00+01:00",
        "2026-12-01T08:00:00Z",
        "2026-12-01T08:00:59.999999999z",
        "2016-12-31T23:59:60Z",
        "0000-01-01T00:00:00+00:01",
        "9999-12-31T23:59:59-23:59",
        "2026-12-01 09:00",
        "2026-12-01T09:00:30",
        "2026-12-01",
        "2026-02-30",
        "2026-03-29 02:30",
        "2026-10-25 02:30",
        "2026-13-01 25:61:61",
        "+2026-12-01",
        "2026-1-1",
        "  2026-12-01  ",
        "１２３",
        "",
    ];
    let durations = [
        "90s",
        "45m",
        "2h",
        "3d",
        "1w",
        "1d12h",
        "1d 12h",
        " 1w 2d 3h 4m 5s ",
        "36525d",
        "36526d",
        "18446744073709551615s",
        "99999999999999999999w",
        "0s",
        "1h1d",
        "1d1d",
        "1ms",
        "5",
        "m",
        "1 d",
        "١h",
    ];
    let tdir = out.join("time_args");
    for (n, s) in times.iter().chain(durations.iter()).enumerate() {
        // Zone selectors '0' (UTC), '1' (Europe/Paris), '3' (Australia/Lord_Howe).
        let zone = [b'0', b'1', b'3'][n % 3];
        let mut bytes = vec![zone];
        bytes.extend_from_slice(s.as_bytes());
        write(&tdir, &format!("s{n:02}"), &bytes);
    }

    // ---- totp_seed ----
    let seeds = [
        "JBSWY3DPEHPK3PXP",
        "jbsw y3dp-ehpk 3pxp====",
        "otpauth://totp/ACME:bob?secret=JBSWY3DPEHPK3PXP&issuer=ACME",
        "otpauth://totp/?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30",
        "OTPAUTH://TOTP/x?SECRET=jbswy3dpehpk3pxp&Algorithm=sha512&digits=8&period=300#frag",
        "otpauth://totp/a%20b?secret=JBSW%59%33DPEHPK3PXP+&digits=7&period=1",
        "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0&digits=10",
        "otpauth://totp/x?secret=%zz",
        "otpauth:totp",
        "https://example.com/?secret=JBSWY3DPEHPK3PXP",
        "JBSWY3DP",
        "JBSWY3DPEHPK3PXP1",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    ];
    for (n, s) in seeds.iter().enumerate() {
        write(&out.join("totp_seed"), &format!("s{n:02}"), s.as_bytes());
    }
}

/// Audit logs sealed and MAC'd with the fuzz identity: a valid one (sealed records,
/// keyless ones, and the record that completes them), one with a partial last
/// line, one starting with a checkpoint, and keyless records alone.
fn audit_seeds(dir: &Path) {
    use intervault::audit::{Action, Event, Outcome};
    use intervault::vault::audit_log::{
        checkpoint, hash, pending, sealed, Pending, TrailKeys, GENESIS,
    };

    let master =
        SealKey::from_secret(&SecretText::new(FUZZ_IDENTITY.to_owned())).expect("fuzz identity");
    let keys = TrailKeys::new(&master);
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
        .expect("time")
        .to_utc();
    let client = "client-0123456789abcdef";
    let mut refused = Event::new(Action::Get, Outcome::Refused)
        .intervention("acme")
        .client(client)
        .credential("ftp");
    refused.reason = Some("frozen since 2026-12-01T09:00:00Z: dispute".into());
    let mut completes = Event::new(Action::Expired, Outcome::Done).intervention("beta");
    completes.completes = Some(5);
    completes.reference = Some("43e0e7783e05d3579762f3b912ca43fe".into());
    completes.receipt = Some(format!("sha256:{}", "ab".repeat(32)));
    let seal = |seq: u64, prev: &str, e: &Event| {
        let blob = master
            .seal(&serde_json::to_vec(e).expect("event"))
            .expect("seal");
        sealed(seq, prev, at, STANDARD.encode(blob), keys.mac())
    };
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut prev = GENESIS.to_owned();
    let mut push = |line: Vec<u8>, prev: &mut String| {
        *prev = hash(&line);
        lines.push(line);
    };
    let events = [
        Event::new(Action::Init, Outcome::Done),
        Event::new(Action::Open, Outcome::Done)
            .intervention("acme")
            .client(client),
        Event::new(Action::Get, Outcome::Granted)
            .intervention("acme")
            .client(client)
            .credential("ftp"),
        refused,
    ];
    for (i, e) in events.iter().enumerate() {
        let line = seal(i as u64 + 1, &prev, e);
        push(line, &mut prev);
    }
    let expired = Pending {
        action: Action::Expired,
        reference: Some("43e0e7783e05d3579762f3b912ca43fe".into()),
        count: None,
    };
    let swept = Pending {
        action: Action::Sweep,
        reference: None,
        count: Some(1),
    };
    let line = pending(5, &prev, at, expired.clone());
    push(line, &mut prev);
    let line = pending(6, &prev, at, swept);
    push(line, &mut prev);
    let line = seal(7, &prev, &completes);
    push(line, &mut prev);
    let join = |ls: &[Vec<u8>]| -> Vec<u8> {
        ls.iter()
            .flat_map(|l| l.iter().copied().chain([b'\n']))
            .collect()
    };
    let valid = join(&lines);
    write(dir, "valid.log", &valid);
    let mut torn = valid.clone();
    torn.extend_from_slice(&lines[1][..40]);
    write(dir, "torn.log", &torn);
    let mut pruned = checkpoint(4, &hash(&lines[3]), at, 4, keys.mac());
    pruned.push(b'\n');
    pruned.extend(join(&lines[4..]));
    write(dir, "checkpoint.log", &pruned);
    let alone = pending(1, GENESIS, at, expired);
    write(dir, "keyless-only.log", &join(&[alone]));
}

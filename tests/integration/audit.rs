//! The audit trail (issue 5): every access, refusal, change and keyless event is
//! recorded in order, refusals with their reason; `audit verify` names the first
//! bad record of a tampered trail; no secret value ever reaches the trail; the
//! client rights (`client report`, `client erase`) and `retention`; and an access
//! or a change that cannot be recorded is refused.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::helpers::{in_secs, one_line};
use crate::support::{Run, TestVault, PASSPHRASE};

/// How a command refused because the trail could not record it begins its line.
const NOT_RECORDED: &str = "intervault: refused, because the audit trail could not record it: ";
/// How `audit` and `audit verify` begin their line on a broken trail.
const BROKEN: &str = "intervault: the audit trail is broken at";
/// A TOTP seed (base32 of `zq-totp-seed-7731!!!`).
const TOTP_SEED: &str = "PJYS25DPORYC243FMVSC2NZXGMYSCIJB";
/// What `exec` runs to use the secret of credential `reg` without printing it.
const USES_SECRET: &str = "test -n \"$INTERVAULT_REG_SECRET\"";

/// The words of `line`, as arguments.
fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

/// Runs `args` and asserts success.
fn ok(v: &TestVault, args: &[&str]) -> Run {
    v.run(args).success()
}

/// Runs `args` (a `--json` command), asserts success and parses stdout.
fn json_of(v: &TestVault, args: &[&str]) -> Value {
    v.run(args).success().json()
}

/// Opens `id` for `client` for `duration`.
fn open(v: &TestVault, id: &str, client: &str, duration: &str) {
    ok(v, &["open", id, "--client", client, "--for", duration]);
}

/// Adds credential `name` of `kind` holding only `secret`.
fn add(v: &TestVault, id: &str, name: &str, kind: &str, secret: &str) {
    let args = ["add", id, name, "--kind", kind];
    v.run_with_stdin(&args, &format!("{secret}\n")).success();
}

/// Adds `name` to `id` with a secret, a user, a note and a TOTP seed.
fn add_with_totp(v: &TestVault, id: &str, name: &str, secret: &str, user: &str, note: &str) {
    let args = [
        &["add", id, name, "--user", user, "--note", note][..],
        &words("--kind domain --totp"),
    ];
    let args = args.concat();
    let stdin = format!("{secret}\n{TOTP_SEED}\n");
    v.run_with_stdin(&args, &stdin).success();
}

/// Moves the end of `id`'s window to `until`, for `reason`.
fn extend(v: &TestVault, id: &str, until: &str, reason: &str) {
    let args = ["extend", id, "--until", until, "--reason", reason];
    ok(v, &args);
}

/// Freezes `id` for `reason`.
fn freeze(v: &TestVault, id: &str, reason: &str) {
    let args = ["freeze", id, "--reason", reason];
    ok(v, &args);
}

/// Runs `args` with the environment changed: `(variable, Some(value))` sets it,
/// `(variable, None)` removes it.
fn run_env(v: &TestVault, args: &[&str], env: (&str, Option<&str>)) -> Run {
    let mut c = v.cmd(args);
    match env {
        (key, Some(value)) => c.env(key, value),
        (key, None) => c.env_remove(key),
    };
    Run(c.output().expect("run intervault"))
}

/// `audit --json` with extra filter arguments, as a list of records.
fn records(v: &TestVault, filters: &[&str]) -> Vec<Value> {
    let args: Vec<&str> = ["audit", "--json"].iter().chain(filters).copied().collect();
    json_of(v, &args).as_array().expect("an array").clone()
}

/// A record as `action outcome [intervention[/credential]]`, then `[keyless]`
/// for an unsealed record and `(completes N)` for one that completes record N.
fn describe(r: &Value) -> String {
    let mut s = format!("{} {}", text(&r["action"]), text(&r["outcome"]));
    if let Some(id) = r["intervention"].as_str() {
        s.push_str(&format!(" {id}"));
    }
    if let Some(name) = r["credential"].as_str() {
        s.push_str(&format!("/{name}"));
    }
    if r["sealed"] == false {
        s.push_str(" [keyless]");
    }
    if let Some(n) = r["completes"].as_u64() {
        s.push_str(&format!(" (completes {n})"));
    }
    s
}

fn describe_all(records: &[Value]) -> Vec<String> {
    records.iter().map(describe).collect()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Record number `seq`.
fn record(records: &[Value], seq: u64) -> &Value {
    let found = records.iter().find(|r| r["seq"] == seq);
    found.unwrap_or_else(|| panic!("no record #{seq}"))
}

/// The last record that [`describe`] gives as `what`.
fn last_described<'a>(records: &'a [Value], what: &str) -> &'a Value {
    let found = records.iter().rev().find(|r| describe(r) == what);
    found.unwrap_or_else(|| panic!("no '{what}' in {:#?}", describe_all(records)))
}

/// The error line without `intervault: `: what the trail keeps as the reason.
fn error_of(run: &Run) -> String {
    let err = run.stderr();
    let last = err.lines().last().unwrap_or_default();
    let reason = last.strip_prefix("intervault: ");
    reason.expect("an error line").to_owned()
}

/// Asserts stderr begins with `prefix`.
#[track_caller]
fn assert_error_starts(run: &Run, prefix: &str, ctx: &str) {
    let err = run.stderr();
    assert!(err.starts_with(prefix), "{ctx}: {err:?}");
}

fn log_path(v: &TestVault) -> PathBuf {
    v.dir.join("audit").join("audit.log")
}

fn head_path(v: &TestVault) -> PathBuf {
    v.dir.join("audit").join("audit.head")
}

fn trail_lines(v: &TestVault) -> Vec<String> {
    let log = fs::read_to_string(log_path(v)).expect("read audit.log");
    log.lines().map(str::to_owned).collect()
}

/// Rewrites `audit/audit.log` (its mode kept) with `lines`.
fn write_trail(v: &TestVault, lines: &[String]) {
    let bytes: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(log_path(v), bytes).expect("write audit.log");
}

/// Every file under `dir`, lock files included, with its bytes, sorted.
fn every_file(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(every_file(&p));
        } else {
            out.push((p.clone(), fs::read(&p).expect("read")));
        }
    }
    out.sort();
    out
}

/// Asserts that no needle appears in `hay`, in any letter case.
#[track_caller]
fn assert_absent(hay: &[u8], needles: &[&str], ctx: &str) {
    let hay = hay.to_ascii_lowercase();
    for n in needles {
        let n = n.to_ascii_lowercase().into_bytes();
        let found = hay.windows(n.len()).any(|w| w == n.as_slice());
        assert!(!found, "{ctx}: found {:?}", String::from_utf8_lossy(&n));
    }
}

/// A vault whose trail holds seven sealed records: init, open, add, four gets.
fn trail_of_seven() -> TestVault {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t");
    for _ in 0..4 {
        ok(&v, &["get", "acme", "ftp"]);
    }
    assert_eq!(trail_lines(&v).len(), 7);
    v
}

/// Makes the trail unwritable in a way the code detects: open to others, or a
/// symlink to the real file. Gives back what undoes it.
fn break_trail(v: &TestVault, how: &str) -> Box<dyn Fn()> {
    let log = log_path(v);
    if how == "mode 0644" {
        fs::set_permissions(&log, fs::Permissions::from_mode(0o644)).unwrap();
        return Box::new(move || {
            fs::set_permissions(&log, fs::Permissions::from_mode(0o600)).unwrap()
        });
    }
    let real = v.dir.parent().unwrap().join("real-audit.log");
    fs::rename(&log, &real).unwrap();
    std::os::unix::fs::symlink(&real, &log).unwrap();
    Box::new(move || {
        fs::remove_file(&log).unwrap();
        fs::rename(&real, &log).unwrap();
    })
}

#[test]
fn every_access_change_and_keyless_event_lands_in_the_trail_in_order() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t");
    ok(&v, &["get", "acme", "ftp"]);
    let missing = v.run(&["get", "acme", "nope"]).fails(5);
    freeze(&v, "acme", "client asked to pause");
    let frozen = v.run(&["get", "acme", "ftp"]).fails(3);
    ok(&v, &["unfreeze", "acme"]);
    let until = in_secs(3 * 3600);
    extend(&v, "acme", &until, "one more hour");
    add_with_totp(&v, "acme", "reg", "reg-secret", "reg-user", "reg-note");
    ok(&v, &["totp", "acme", "reg"]);
    ok(&v, &["exec", "acme", "--", "true"]);
    ok(&v, &["rm", "acme", "reg"]);
    let once = ["add", "acme", "once", "--kind", "other", "--max-uses", "1"];
    v.run_with_stdin(&once, "once-secret\n").success();
    ok(&v, &["get", "acme", "once"]);
    let unlock = v.run(&["unlock", "--for", "1m"]);
    assert_eq!(unlock.code(), 0, "keyctl session? {}", unlock.stderr());
    ok(&v, &["lock"]);
    let same_passphrase = ("INTERVAULT_NEW_PASSPHRASE", Some(PASSPHRASE));
    run_env(&v, &["passwd"], same_passphrase).success();
    run_env(&v, &["list"], ("INTERVAULT_PASSPHRASE", Some("wrong"))).fails(4);
    let closed = json_of(&v, &["close", "acme", "--json"]);
    open(&v, "soon", "Beta", "3s");
    add(&v, "soon", "k", "other", "k-secret");
    std::thread::sleep(std::time::Duration::from_secs(4));
    let swept = run_env(&v, &["sweep", "--json"], ("INTERVAULT_PASSPHRASE", None));
    let swept = swept.success().json();
    ok(&v, &["list", "--all", "--json"]);

    let all = records(&v, &[]);
    // Phase by phase: fetches and refusals, window changes and TOTP/exec, a
    // use-limited credential, sessions and passphrases, close, then expiry.
    let expected = [
        "init done; open done acme; add done acme/ftp; get granted acme/ftp",
        "get refused acme/nope; freeze done acme; get refused acme/ftp; unfreeze done acme",
        "extend done acme; add done acme/reg; totp granted acme/reg",
        "exec granted acme/ftp; exec granted acme/reg; rm done acme/reg",
        "add done acme/once; get granted acme/once; used_up done acme/once",
        "unlock done; lock done [keyless]; lock done (completes 19); passwd done",
        "passphrase_refused refused [keyless]; passphrase_refused refused (completes 22)",
        "close done acme; open done soon; add done soon/k",
        "expired done [keyless]; sweep done [keyless]",
        "expired done soon (completes 27); sweep done (completes 28)",
    ];
    assert_eq!(describe_all(&all).join("; "), expected.join("; "));
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r["seq"], i as u64 + 1);
        let at = text(&r["at"]);
        let utc = at.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(at).is_ok();
        assert!(utc, "{r}");
        let client = match r["intervention"].as_str() {
            Some("acme") => json!("Acme SARL"),
            Some("soon") => json!("Beta"),
            _ => Value::Null,
        };
        assert_eq!(r.get("client").unwrap_or(&Value::Null), &client, "{r}");
    }
    assert!(error_of(&missing).starts_with("no credential 'nope' in intervention 'acme'"));
    assert_eq!(record(&all, 5)["reason"], "no such credential");
    assert_eq!(record(&all, 6)["reason"], "client asked to pause");
    assert!(error_of(&frozen).contains("(client asked to pause)"));
    let frozen_reason = text(&record(&all, 7)["reason"]);
    assert!(
        frozen_reason.starts_with("frozen since ")
            && frozen_reason.ends_with("Z: client asked to pause"),
        "{frozen_reason}"
    );
    assert_eq!(record(&all, 9)["reason"], "one more hour");
    assert_eq!(record(&all, 9)["until"], until.as_str());
    let wiped = &closed["wiped"][0];
    assert_eq!(record(&all, 24)["receipt"], wiped["receipt"]);
    assert_eq!(record(&all, 24)["ref"], wiped["ref"]);
    assert_eq!(record(&all, 24)["count"], 1);
    // The keyless expiry names only the reference; its completion names the rest.
    let reference = &swept["wiped"][0]["ref"];
    let (pending, completed) = (record(&all, 27), record(&all, 29));
    assert_eq!(pending["ref"], *reference);
    assert_eq!(pending.get("intervention"), None);
    assert_eq!(pending.get("receipt"), None);
    assert_eq!(completed["ref"], *reference);
    for sweep_or_expiry in [28, 29, 30] {
        assert_eq!(record(&all, sweep_or_expiry)["count"], 1);
    }
    let tombstone = json_of(&v, &["show", "soon", "--json"]);
    assert_eq!(completed["receipt"], tombstone["receipt"]);
    assert!(text(&completed["receipt"]).starts_with("sha256:"));
}

#[test]
fn refusals_are_recorded_with_a_reason_that_names_no_intervention() {
    let v = TestVault::new();
    let (from, until) = (in_secs(3600), in_secs(7200));
    let window = ["--from", &from, "--until", &until];
    let args = [&["open", "later", "--client", "Acme SARL"][..], &window].concat();
    ok(&v, &args);
    add(&v, "later", "ftp", "hosting", "x");
    v.open_with_credential("paused", "ftp", "y");
    freeze(&v, "paused", "client asked to pause");
    v.open_with_credential("acme", "ftp", "z");
    let cases: [(&[&str], i32, &str); 5] = [
        (&["get", "later", "ftp"], 3, "get refused later/ftp"),
        (&["exec", "later", "--", "true"], 3, "exec refused later"),
        (&["get", "paused", "ftp"], 3, "get refused paused/ftp"),
        (&["get", "acme", "db"], 5, "get refused acme/db"),
        (&["get", "nope", "ftp"], 5, "get refused nope/ftp"),
    ];
    let errors: Vec<String> = cases
        .iter()
        .map(|(args, code, _)| error_of(&v.run(args).fails(*code)))
        .collect();
    let all = records(&v, &[]);
    let refused: Vec<&Value> = all.iter().filter(|r| r["outcome"] == "refused").collect();
    assert_eq!(refused.len(), cases.len(), "{:#?}", describe_all(&all));
    // The record's own fields name the intervention and credential; the reason
    // says why, with times in UTC.
    let opens = format!(
        "scheduled: the window opens at {}",
        chrono::DateTime::parse_from_rfc3339(&from)
            .unwrap()
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
    );
    let reasons = [
        opens.as_str(),
        opens.as_str(),
        "frozen since",
        "no such credential",
        "no such intervention",
    ];
    for ((r, (_, _, what)), reason) in refused.iter().zip(&cases).zip(reasons) {
        assert_eq!(describe(r), *what);
        assert!(text(&r["reason"]).starts_with(reason), "{what}: {r}");
    }
    assert!(text(&refused[2]["reason"]).ends_with("Z: client asked to pause"));
    assert!(errors[0].starts_with("intervention 'later' is scheduled: its window opens at"));
    assert!(errors[2].starts_with("intervention 'paused' is frozen since"));
    assert!(errors[2].contains("(client asked to pause)"));
    assert!(errors[3].starts_with("no credential 'db' in intervention 'acme'"));
    assert!(errors[4].starts_with("no intervention 'nope'"));
}

#[test]
fn an_id_that_spells_the_clients_name_is_left_alone_in_reasons() {
    let v = TestVault::new();
    open(&v, "acme", "Acme", "1h");
    freeze(&v, "acme", "acme-site paused, see acme.example; ACME asked");
    let all = records(&v, &[]);
    let frozen = last_described(&all, "freeze done acme");
    // Identifiers joined by - _ . are not the name; the name itself is kept as a
    // pseudonym and shown back as the client's name.
    assert_eq!(
        frozen["reason"],
        "acme-site paused, see acme.example; Acme asked"
    );
}

#[test]
fn an_intact_trail_verifies_with_its_counts() {
    let v = trail_of_seven();
    assert_eq!(
        json_of(&v, &["audit", "verify", "--json"]),
        json!({"intact": true, "records": 7, "last": 7, "pruned": 0, "unsealed": 0, "torn_tail": false, "foreign": 0})
    );
    // The check itself was recorded (#8).
    assert_eq!(
        ok(&v, &["audit", "verify"]).stdout(),
        "audit trail intact: 8 record(s) up to #8, each sealed and linked to the one before\n"
    );
}

#[test]
fn an_interrupted_write_at_the_end_is_ignored_then_cut_off() {
    let v = trail_of_seven();
    let mut bytes = fs::read(log_path(&v)).unwrap();
    bytes.extend_from_slice(br#"{"seq":8,"prev":"0a1b"#);
    fs::write(log_path(&v), &bytes).unwrap();
    let first = json_of(&v, &["audit", "verify", "--json"]);
    assert_eq!(first["records"], 7);
    assert_eq!(first["torn_tail"], true);
    let second = json_of(&v, &["audit", "verify", "--json"]);
    assert_eq!(second["records"], 8);
    assert_eq!(second["last"], 8);
    assert_eq!(second["torn_tail"], false);
    for line in trail_lines(&v) {
        serde_json::from_str::<Value>(&line).expect("every line is whole");
    }
}

#[test]
fn each_kind_of_tampering_is_named_at_its_first_bad_record() {
    type Edit = fn(&mut Vec<String>);
    let cases: [(&str, &str, Edit); 6] = [
        ("a byte of record 3's sealed event", "record 3", |lines| {
            let at = lines[2].find("\"sealed\":\"").unwrap() + 50;
            let new = if &lines[2][at..=at] == "A" { "B" } else { "A" };
            lines[2].replace_range(at..=at, new);
        }),
        ("line 3 deleted", "record 3", |l| drop(l.remove(2))),
        ("lines 3 and 4 swapped", "record 3", |l| l.swap(2, 3)),
        ("line 3 repeated", "record 4", |l| l.insert(3, l[2].clone())),
        ("the last 2 lines cut off", "record 6", |l| l.truncate(5)),
        ("the time of record 3 changed", "record 3", |lines| {
            assert!(lines[2].contains("\"at\":\"20"));
            lines[2] = lines[2].replacen("\"at\":\"20", "\"at\":\"19", 1);
        }),
    ];
    let check = |v: &TestVault, what: &str, named: &str| {
        let expected = format!("{BROKEN} {named}: ");
        // The listing first: a failed `audit verify` records its own failure.
        for args in [&["audit", "--json"][..], &["audit", "verify"]] {
            let out = one_line(v.run(args).fails(6));
            assert_eq!(out.stdout(), "", "{what}: {args:?}");
            assert_error_starts(&out, &expected, &format!("{what}: {args:?}"));
        }
    };
    for (what, named, edit) in cases {
        let v = trail_of_seven();
        let mut lines = trail_lines(&v);
        edit(&mut lines);
        write_trail(&v, &lines);
        check(&v, what, named);
    }
    let v = trail_of_seven();
    fs::remove_file(head_path(&v)).unwrap();
    check(&v, "audit.head deleted", "its head");
}

#[test]
fn a_trail_cut_short_or_without_its_head_stays_broken_after_the_next_command() {
    let cut: fn(&TestVault) = |v| write_trail(v, &trail_lines(v)[..5]);
    let beheaded: fn(&TestVault) = |v| fs::remove_file(head_path(v)).unwrap();
    for (what, edit, named) in [("cut", cut, "record 6"), ("no head", beheaded, "its head")] {
        let v = trail_of_seven();
        edit(&v);
        let expected = format!("{BROKEN} {named}: ");
        let first = v.run(&["audit", "verify"]).fails(6);
        assert_error_starts(&first, &expected, what);
        // A fetch cannot be recorded after a damaged end: it is refused, and
        // nothing papers over the damage.
        let get = one_line(v.run(&["get", "acme", "ftp"]).fails(6));
        assert_eq!(get.stdout(), "", "{what}");
        assert!(get
            .stderr()
            .contains("refused, because the audit trail could not record it"));
        let again = v.run(&["audit", "verify"]);
        assert_eq!(again.code(), 6, "{what} was forgotten: {}", again.stdout());
        assert_error_starts(&again, &expected, what);
        // Restarting keeps the damaged trail as evidence and lets work go on.
        ok(&v, &["audit", "restart"]);
        let kept = fs::read_dir(v.dir.join("audit"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("audit-damaged-")
            })
            .count();
        assert_eq!(kept, 1, "{what}");
        ok(&v, &["audit", "verify"]);
        ok(&v, &["get", "acme", "ftp"]);
    }
}

#[test]
fn no_secret_value_reaches_the_trail_however_it_is_fetched() {
    let secrets = ["S3cr3t-Zq81-value", "usr-Kx42-login", "note-Wp93-private"];
    let v = TestVault::new();
    open(&v, "acme", "Acme SARL", "2h");
    add_with_totp(&v, "acme", "reg", secrets[0], secrets[1], secrets[2]);
    let fetches: [&[&str]; 8] = [
        &["get", "acme", "reg"],
        &["get", "acme", "reg", "--field", "user"],
        &["get", "acme", "reg", "--field", "note"],
        &["get", "acme", "reg", "--field", "all"],
        &["get", "acme", "reg", "--json"],
        &["get", "acme", "reg", "--field", "totp"],
        &["totp", "acme", "reg"],
        &["exec", "acme", "--", "sh", "-c", USES_SECRET],
    ];
    for args in fetches {
        ok(&v, args);
    }
    let needles = [&secrets[..], &[TOTP_SEED, "zq-totp-seed-7731"]].concat();
    let listing = ok(&v, &["audit", "--json"]);
    assert_absent(&listing.0.stdout, &needles, "audit --json");
    assert_absent(&ok(&v, &["audit"]).0.stdout, &needles, "audit");
    let all = records(&v, &[]);
    let granted = all.iter().filter(|r| r["outcome"] == "granted").count();
    assert_eq!(granted, fetches.len());
    for (path, bytes) in every_file(&v.dir.join("audit")) {
        assert_absent(&bytes, &needles, &path.display().to_string());
    }
}

#[test]
fn client_report_lists_exactly_what_the_vault_holds_about_that_client() {
    let secrets = ["ftp-Zq81", "reg-Zq82", "user-Zq83", "note-Zq84", TOTP_SEED];
    let v = TestVault::new();
    open(&v, "acme-old", "Acme SARL", "1h");
    add(&v, "acme-old", "db", "other", "old");
    let old = json_of(&v, &["close", "acme-old", "--json"]);
    open(&v, "acme-site", "Acme SARL", "2h");
    let opened_until = json_of(&v, &["show", "acme-site", "--json"])["until"].clone();
    v.add_with_every_field("acme-site", "ftp", secrets[0]);
    add_with_totp(&v, "acme-site", "reg", secrets[1], secrets[2], secrets[3]);
    let until = in_secs(5 * 3600);
    extend(&v, "acme-site", &until, "more work");
    ok(&v, &["get", "acme-site", "ftp"]);
    open(&v, "durand-dns", "Durand & Fils", "1h");
    add(&v, "durand-dns", "ns", "domain", "durand-s3cr3t");
    ok(&v, &["get", "durand-dns", "ns"]);
    ok(&v, &["close", "durand-dns"]);

    let acme_records: Vec<Value> = records(&v, &[])
        .into_iter()
        .filter(|r| r["client"] == "Acme SARL")
        .collect();
    let out = ok(&v, &["client", "report", "Acme SARL", "--json"]);
    let report = out.json();
    assert_eq!(report["client"], "Acme SARL");
    assert_eq!(report["interventions"].as_array().unwrap().len(), 1);
    let site = &report["interventions"][0];
    assert_eq!(site["id"], "acme-site");
    assert_eq!(site["status"], "active");
    assert_eq!(
        site["entries"],
        json!([
            {"name": "ftp", "kind": "hosting", "url": "ftp.acme.example", "fields": ["user", "secret", "note"]},
            {"name": "reg", "kind": "domain", "fields": ["user", "secret", "note", "totp"]},
        ])
    );
    let extension = json!({"previous_until": opened_until, "until": until, "reason": "more work"});
    let mut extensions = site["extensions"].clone();
    extensions[0].as_object_mut().unwrap().remove("at");
    assert_eq!(extensions, json!([extension]));
    let wiped = &old["wiped"][0];
    let tombstones = report["tombstones"].as_array().unwrap();
    assert_eq!(tombstones.len(), 1);
    for key in ["id", "ref", "receipt", "names", "reason", "wiped_at"] {
        assert_eq!(tombstones[0][key], wiped[key], "{key}");
    }
    assert_eq!(report["history"], json!(acme_records));
    assert_absent(&out.0.stdout, &secrets, "report --json");
    assert_absent(&out.0.stdout, &["durand"], "report --json");

    let report_text = ok(&v, &["client", "report", "Acme SARL"]).stdout();
    for line in [
        "Interventions in progress: 1",
        "  credential ftp (hosting) at ftp.acme.example: holds user, secret, note",
        "  credential reg (domain): holds user, secret, note, totp",
        "Wiped interventions: 1",
        "- acme-old",
        &format!("  receipt:     {}", text(&wiped["receipt"])),
        // The JSON report above is part of the history now.
        &format!("Access history: {} record(s)", acme_records.len() + 1),
        "No secret value is part of this report.",
    ] {
        let found = report_text.lines().any(|l| l == line);
        assert!(found, "no line {line:?} in:\n{report_text}");
    }
    assert_absent(report_text.as_bytes(), &secrets, "report");
    assert_absent(report_text.as_bytes(), &["durand"], "report");
    one_line(v.run(&["client", "report", "Nobody"]).fails(5));
}

#[test]
fn client_erase_wipes_the_client_and_leaves_its_name_nowhere() {
    let name = "Boulangerie Dupont";
    let v = TestVault::new();
    open(&v, "bd-old", name, "1h");
    let old = json_of(&v, &["close", "bd-old", "--json"]);
    let note = "site of boulangerie dupont";
    let args = [
        &words("open bd-site --for 2h --client")[..],
        &[name, "--note", note],
    ];
    ok(&v, &args.concat());
    v.add_with_every_field("bd-site", "ftp", "bd-s3cr3t");
    let (until, why) = (in_secs(3 * 3600), "Boulangerie Dupont asked for more time");
    extend(&v, "bd-site", &until, why);
    freeze(&v, "bd-site", "BOULANGERIE DUPONT wants a pause");
    v.run(&["get", "bd-site", "ftp"]).fails(3);
    v.open_with_credential("acme", "ftp", "acme-s3cr3t");
    let acme_before = json_of(&v, &["show", "acme", "--json"]);
    let acme_records = records(&v, &["--client", "Acme SARL"]);

    let erased = json_of(&v, &["client", "erase", name, "--json"]);
    let pseudonym = text(&erased["client"]).to_owned();
    let hex = pseudonym.strip_prefix("client-").unwrap_or_default();
    let is_hex = hex.bytes().all(|b| b.is_ascii_hexdigit());
    assert!(hex.len() == 16 && is_hex, "{pseudonym}");
    assert_eq!(erased["tombstones"], 2);
    let wiped = erased["wiped"].as_array().unwrap();
    assert_eq!(wiped.len(), 1);
    assert_eq!(wiped[0]["id"], "bd-site");
    assert_eq!(wiped[0]["client"], name);

    // Every view, and every byte of the vault, is free of the name.
    let all = records(&v, &[]);
    let listed = json_of(&v, &["list", "--all", "--json"]);
    let clients = json_of(&v, &["client", "list", "--json"]);
    let site = json_of(&v, &["show", "bd-site", "--json"]);
    let older = json_of(&v, &["show", "bd-old", "--json"]);
    for (what, view) in [
        ("audit --json", &json!(all)),
        ("list --all --json", &listed),
        ("client list --json", &clients),
        ("show bd-site --json", &site),
        ("show bd-old --json", &older),
    ] {
        let view = view.to_string();
        assert_absent(view.as_bytes(), &["dupont", "boulangerie"], what);
    }
    for (path, bytes) in every_file(&v.dir) {
        assert_absent(&bytes, &["boulangerie dupont"], &path.display().to_string());
    }
    assert_eq!(
        clients,
        json!([
            {"client": "Acme SARL", "live": 1, "past": 0, "erased": false},
            {"client": pseudonym, "live": 0, "past": 2, "erased": true},
        ])
    );
    for tombstone in [&site, &older] {
        assert_eq!(tombstone["client"], pseudonym.as_str());
        let entries = listed.as_array().unwrap();
        let entry = entries.iter().find(|e| e["id"] == tombstone["id"]).unwrap();
        assert_eq!(entry["client"], pseudonym.as_str());
    }
    // The receipts printed keep their digests in the tombstones.
    assert_eq!(wiped[0]["receipt"], site["receipt"]);
    assert_eq!(old["wiped"][0]["receipt"], older["receipt"]);
    // The trail still holds the client's records, under the pseudonym.
    let opened = last_described(&all, "open done bd-site");
    assert_eq!(opened["client"], pseudonym.as_str());
    let extended = last_described(&all, "extend done bd-site");
    let scrubbed = format!("{pseudonym} asked for more time");
    assert_eq!(extended["reason"], scrubbed);
    let erase = last_described(&all, "client_erase done");
    assert_eq!(erase["client"], pseudonym.as_str());
    assert_eq!(erase["count"], 1);
    ok(&v, &["audit", "verify"]);
    // The other client is untouched.
    assert_eq!(json_of(&v, &["show", "acme", "--json"]), acme_before);
    assert_eq!(records(&v, &["--client", "Acme SARL"]), acme_records);
    assert_eq!(ok(&v, &["get", "acme", "ftp"]).stdout(), "acme-s3cr3t\n");
    // The name no longer resolves.
    one_line(v.run(&["client", "report", name]).fails(5));
}

#[test]
fn asking_about_an_erased_client_does_not_write_its_name_back() {
    let v = TestVault::new();
    open(&v, "bd", "Boulangerie Dupont", "1h");
    ok(&v, &["client", "erase", "Boulangerie Dupont"]);
    one_line(v.run(&["client", "report", "Boulangerie Dupont"]).fails(5));
    one_line(v.run(&["client", "erase", "Boulangerie Dupont"]).fails(5));
    let listing = ok(&v, &["audit", "--json"]);
    assert_absent(&listing.0.stdout, &["dupont"], "audit --json");
}

#[test]
fn retention_shows_lowers_and_raises_only_beyond_policy() {
    let v = TestVault::new();
    let months = |audit: u32, tombstone: u32| json!({"audit_months": audit, "tombstone_months": tombstone, "backup_days": 30});
    assert_eq!(json_of(&v, &["retention", "--json"]), months(13, 36));
    assert_eq!(
        ok(&v, &["retention"]).stdout(),
        "audit records are kept 13 months; tombstones 36 months after their wipe; managed backups 30 days\n"
    );
    let lower = words("retention --audit-months 6 --tombstone-months 24 --json");
    assert_eq!(json_of(&v, &lower), months(6, 24));
    let before = every_file(&v.dir);
    for args in [
        "retention --audit-months 14",
        "retention --tombstone-months 37",
        "retention --audit-months 0",
        "retention --tombstone-months 0 --beyond-policy",
    ] {
        one_line(v.run(&words(args)).fails(2));
        assert_eq!(every_file(&v.dir), before, "{args:?} changed the vault");
    }
    assert_eq!(json_of(&v, &["retention", "--json"]), months(6, 24));
    let raise = words("retention --audit-months 14 --beyond-policy --json");
    assert_eq!(json_of(&v, &raise), months(14, 24));
    assert_eq!(json_of(&v, &["retention", "--json"]), months(14, 24));
    let changes: Vec<Value> = records(&v, &[])
        .into_iter()
        .filter(|r| r["action"] == "retention")
        .map(|r| json!([r["outcome"], r["reason"]]))
        .collect();
    assert_eq!(
        changes,
        [
            json!([
                "done",
                "audit records 6 months, tombstones 24 months, managed backups 30 days"
            ]),
            json!([
                "done",
                "audit records 14 months, tombstones 24 months, managed backups 30 days"
            ]),
        ]
    );
}

#[test]
fn an_access_that_cannot_be_recorded_is_refused() {
    for how in ["mode 0644", "a symlink"] {
        let v = TestVault::new();
        v.open_with_credential("acme", "ftp", "s3cr3t-Zq81");
        let undo = break_trail(&v, how);
        for args in [
            &["get", "acme", "ftp"][..],
            &["get", "acme", "ftp", "--json"],
            &["exec", "acme", "--", "printenv"],
        ] {
            let out = one_line(v.run(args).fails(6));
            assert_eq!(out.stdout(), "", "{how}: {args:?}");
            assert_error_starts(&out, NOT_RECORDED, how);
        }
        undo();
        ok(&v, &["audit", "verify"]);
        let all = records(&v, &[]);
        let granted: Vec<&Value> = all.iter().filter(|r| r["outcome"] == "granted").collect();
        assert_eq!(granted, Vec::<&Value>::new(), "{how}");
    }
}

#[test]
fn a_change_that_cannot_be_recorded_is_not_made() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t");
    let before = v.snapshot();
    let undo = break_trail(&v, "mode 0644");
    for (args, stdin) in [
        (&["rm", "acme", "ftp"][..], ""),
        (&["add", "acme", "db", "--kind", "other"], "db-secret\n"),
        (&["close", "acme"], ""),
        (&["freeze", "acme", "--reason", "pause"], ""),
    ] {
        let out = one_line(v.run_with_stdin(args, stdin).fails(6));
        assert_error_starts(&out, NOT_RECORDED, &format!("{args:?}"));
        assert_eq!(v.snapshot(), before, "{args:?} changed the vault");
    }
    undo();
    assert_eq!(ok(&v, &["get", "acme", "ftp"]).stdout(), "s3cr3t\n");
}

#[test]
fn audit_filters_by_intervention_client_and_time() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "a");
    open(&v, "durand", "Durand & Fils", "1h");
    add(&v, "durand", "ns", "domain", "d");
    ok(&v, &["get", "durand", "ns"]);
    ok(&v, &["get", "acme", "ftp"]);
    let by_id = records(&v, &["--intervention", "acme"]);
    let acme = "open done acme, add done acme/ftp, get granted acme/ftp";
    assert_eq!(describe_all(&by_id).join(", "), acme);
    let by_client = records(&v, &["--client", "Durand & Fils"]);
    let durand = "open done durand, add done durand/ns, get granted durand/ns";
    assert_eq!(describe_all(&by_client).join(", "), durand);
    assert!(by_client.iter().all(|r| r["client"] == "Durand & Fils"));
    let (later, long_ago) = (in_secs(3600), "2000-01-01T00:00:00Z");
    assert_eq!(records(&v, &["--since", &later]), Vec::<Value>::new());
    assert_eq!(records(&v, &["--until", long_ago]), Vec::<Value>::new());
    let since = records(&v, &["--since", long_ago]);
    // Seven records, and the four listings above.
    assert_eq!(since.len(), 11, "{:#?}", describe_all(&since));
    assert_eq!(records(&v, &["--until", &later])[..11], since[..]);
    let none = ok(&v, &["audit", "--intervention", "nope"]);
    assert_eq!(none.stdout(), "no audit records match\n");
}

/// Issue 12, item 3: the sealed index binds the trail by its last record's
/// number and hash. Deleting the trail, or putting back an older `audit/`,
/// leaves a trail without that record: every later access is refused (exit 6)
/// and `audit verify` names the damage, however many records follow.
#[test]
fn issue_12_the_trail_cannot_be_deleted_or_rolled_back_without_the_key() {
    let older = |v: &TestVault| -> Vec<(PathBuf, Vec<u8>)> { every_file(&v.dir.join("audit")) };
    type Attack = Box<dyn Fn(&TestVault, &[(PathBuf, Vec<u8>)])>;
    let attacks: Vec<(&str, Attack)> = vec![
        (
            "deleted",
            Box::new(|v: &TestVault, _: &[(PathBuf, Vec<u8>)]| {
                fs::remove_dir_all(v.dir.join("audit")).unwrap()
            }),
        ),
        (
            "log deleted",
            Box::new(|v: &TestVault, _: &[(PathBuf, Vec<u8>)]| {
                fs::remove_file(log_path(v)).unwrap()
            }),
        ),
        (
            "rolled back",
            Box::new(|v: &TestVault, snapshot: &[(PathBuf, Vec<u8>)]| {
                fs::remove_dir_all(v.dir.join("audit")).unwrap();
                fs::create_dir(v.dir.join("audit")).unwrap();
                fs::set_permissions(v.dir.join("audit"), fs::Permissions::from_mode(0o700))
                    .unwrap();
                for (path, bytes) in snapshot {
                    fs::write(path, bytes).unwrap();
                    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
                }
            }),
        ),
    ];
    for (what, attack) in attacks {
        let v = TestVault::new();
        open(&v, "acme", "Acme SARL", "1d");
        add(&v, "acme", "ftp", "other", "s3cret");
        let snapshot = older(&v);
        // A change after the copy: the index now knows a later record.
        add(&v, "acme", "db", "database", "s3cret-db");
        attack(&v, &snapshot);
        for _ in 0..3 {
            let get = one_line(v.run(&["get", "acme", "ftp"]).fails(6));
            assert_eq!(get.stdout(), "", "{what}: no secret without a record");
            assert!(
                get.stderr().starts_with(NOT_RECORDED),
                "{what}: {}",
                get.stderr()
            );
        }
        let verify = v.run(&["audit", "verify"]).fails(6);
        assert_error_starts(&verify, BROKEN, what);
    }
}

/// Issue 12, item 3: a rolled-back trail whose numbering has passed the
/// index's count (keyless records, such as refused passphrases, can be added by
/// anyone) holds another record under the number the index knows: refused by
/// its hash, where the number alone let it through.
#[test]
fn issue_12_a_rolled_back_trail_is_refused_even_once_its_numbering_catches_up() {
    let v = TestVault::new();
    open(&v, "acme", "Acme SARL", "1d");
    add(&v, "acme", "ftp", "other", "s3cret");
    let snapshot = every_file(&v.dir.join("audit"));
    let old_len = trail_lines(&v).len();
    add(&v, "acme", "db", "database", "s3cret-db");
    let known_len = trail_lines(&v).len();
    fs::remove_dir_all(v.dir.join("audit")).unwrap();
    fs::create_dir(v.dir.join("audit")).unwrap();
    fs::set_permissions(v.dir.join("audit"), fs::Permissions::from_mode(0o700)).unwrap();
    for (path, bytes) in &snapshot {
        fs::write(path, bytes).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }
    for _ in old_len..=known_len + 1 {
        let mut wrong = v.cmd(&["get", "acme", "ftp"]);
        wrong.env("INTERVAULT_PASSPHRASE", "not the passphrase");
        assert_eq!(wrong.output().unwrap().status.code(), Some(4));
    }
    assert!(trail_lines(&v).len() > known_len, "the numbering caught up");
    let get = one_line(v.run(&["get", "acme", "ftp"]).fails(6));
    assert_eq!(get.stdout(), "");
    assert!(get.stderr().starts_with(NOT_RECORDED), "{}", get.stderr());
    let verify = v.run(&["audit", "verify"]).fails(6);
    assert_error_starts(&verify, BROKEN, "rolled back");
    assert!(
        verify.stderr().contains("rolled back"),
        "{}",
        verify.stderr()
    );
}

/// Issue 12, item 4: keyless lines can be appended by anyone who can write the
/// trail. The unlock that completes them vouches only for what it can: lines
/// in time order, not dated after its clock, and expiries this vault did; the
/// rest are completed as `foreign_record`, and `audit verify` says so.
#[test]
fn issue_12_keyless_lines_the_vault_cannot_vouch_for_are_completed_as_foreign() {
    use intervault::audit::Action;
    use intervault::vault::audit_log::{hash, pending, Pending};
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "s3cr3t");
    // One genuine keyless line: a refused passphrase.
    let mut wrong = v.cmd(&["get", "acme", "ftp"]);
    wrong.env("INTERVAULT_PASSPHRASE", "not the passphrase");
    assert_eq!(wrong.output().unwrap().status.code(), Some(4));
    let mut lines = trail_lines(&v);
    let forged: [(&str, Action, Option<String>); 3] = [
        ("2001-01-01T00:00:00Z", Action::PassphraseRefused, None),
        ("2099-01-01T00:00:00Z", Action::Lock, None),
        (
            "2026-01-01T00:00:00Z",
            Action::Expired,
            Some("0123456789abcdef0123456789abcdef".into()),
        ),
    ];
    for (at, action, reference) in forged {
        let last = lines.last().unwrap().clone();
        let seq = lines.len() as u64 + 1;
        let p = Pending {
            action,
            reference,
            count: None,
        };
        let line = pending(seq, &hash(last.as_bytes()), at.parse().unwrap(), p);
        lines.push(String::from_utf8(line).unwrap());
    }
    write_trail(&v, &lines);
    // The next keyed command completes them.
    ok(&v, &["get", "acme", "ftp"]);
    let all = records(&v, &[]);
    let described = describe_all(&all);
    let foreign = described
        .iter()
        .filter(|d| d.starts_with("foreign_record refused"))
        .count();
    assert_eq!(foreign, 3, "{described:#?}");
    assert!(
        described
            .iter()
            .any(|d| d.starts_with("passphrase_refused refused (completes")),
        "the genuine refusal is completed as itself: {described:#?}"
    );
    let verify = ok(&v, &["audit", "verify"]);
    assert!(
        verify
            .stdout()
            .contains("3 keyless line(s) could not be vouched for"),
        "{}",
        verify.stdout()
    );
    assert_eq!(json_of(&v, &["audit", "verify", "--json"])["foreign"], 3);
}

/// Issue 13 item 7: the times inside a record's reason are shown in local time,
/// like the record's own time; `--json` keeps them in UTC.
#[test]
fn times_in_reasons_are_shown_in_local_time() {
    let v = TestVault::new();
    v.open_with_credential("acme-site", "wp-admin", "s3cret-wp");
    v.run(&["freeze", "acme-site", "--reason", "client asked to pause"])
        .success();
    v.run(&["get", "acme-site", "wp-admin"]).fails(3);
    let local = v
        .cmd(&["audit", "--intervention", "acme-site"])
        .env("TZ", "Europe/Paris")
        .output()
        .expect("run audit");
    let text = String::from_utf8_lossy(&local.stdout).into_owned();
    let refused = text
        .lines()
        .find(|l| l.contains(" refused "))
        .unwrap_or_else(|| panic!("no refusal in {text}"));
    // `(frozen since 2026-12-06 23:51:24 +01:00: client asked to pause)`
    let since = refused
        .split("(frozen since ")
        .nth(1)
        .unwrap_or_else(|| panic!("{refused}"));
    assert!(
        since.get(19..26) == Some(" +01:00") || since.get(19..26) == Some(" +02:00"),
        "{refused}"
    );
    assert!(!refused.contains("Z:"), "{refused}");
    let json = v.run(&["audit", "--json"]).success().json();
    let reason = json
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| {
            r["reason"]
                .as_str()
                .filter(|r| r.starts_with("frozen since"))
        })
        .expect("the refusal in JSON")
        .to_owned();
    assert!(
        reason.get(13..33).is_some_and(|t| t.ends_with('Z')),
        "{reason}"
    );
}

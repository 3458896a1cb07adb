//! TOTP credentials through the real binary: `add --totp`, `totp`, `get --field totp`
//! and `get --json`, refusals of bad seeds, and no seed at rest in clear.

use totp_rs::{Algorithm, Secret, TOTP};

use crate::helpers::{in_secs, one_line};
use crate::support::{Run, TestVault};

/// A demo seed (the bytes `Hello!\xDE\xAD\xBE\xEF`).
const SEED: &str = "JBSWY3DPEHPK3PXP";

fn reference(seed: &str, algorithm: Algorithm, digits: usize, period: u64) -> TOTP {
    let key = Secret::Encoded(seed.to_owned()).to_bytes().unwrap();
    TOTP::new_unchecked(algorithm, digits, 1, period, key, None, String::new())
}

/// Runs `args` and checks that stdout is one code that `totp` gives at some moment
/// during the run (the code is computed before and after, in case a period ends
/// in between). Returns the run.
#[track_caller]
fn run_expecting_code(v: &TestVault, args: &[&str], totp: &TOTP) -> Run {
    let before = totp.generate_current().unwrap();
    let out = v.run(args).success();
    let after = totp.generate_current().unwrap();
    let stdout = out.stdout();
    let code = stdout.strip_suffix('\n').expect("a newline after the code");
    assert_eq!(code.len(), totp.digits, "{stdout:?}");
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{stdout:?}");
    assert!(
        code == before || code == after,
        "{code} is neither {before} nor {after}"
    );
    out
}

/// The N of the `valid for N s` line on stderr.
#[track_caller]
fn valid_for(out: &Run) -> u64 {
    let err = out.stderr();
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("intervault: valid for "))
        .unwrap_or_else(|| panic!("no 'valid for' line: {err:?}"));
    line.strip_suffix(" s")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad 'valid for' line: {err:?}"))
}

/// A vault with `acme` open for two hours, holding `otp` (secret `secret`, TOTP
/// `seed`) and `ftp` (no TOTP).
fn with_totp(seed: &str) -> TestVault {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "ftp-password");
    v.run_with_stdin(
        &["add", "acme", "otp", "--kind", "cms", "--totp"],
        &format!("secret\n{seed}\n"),
    )
    .success();
    v
}

#[test]
fn totp_prints_the_current_code_and_how_long_it_lasts() {
    let v = with_totp(SEED);
    let totp = reference(SEED, Algorithm::SHA1, 6, 30);
    let out = run_expecting_code(&v, &["totp", "acme", "otp"], &totp);
    assert!((1..=30).contains(&valid_for(&out)), "{}", out.stderr());
    // The secret is still the secret.
    assert_eq!(
        v.run(&["get", "acme", "otp"]).success().stdout(),
        "secret\n"
    );
}

#[test]
fn get_gives_the_code_as_a_field_and_in_json() {
    let v = with_totp(SEED);
    let totp = reference(SEED, Algorithm::SHA1, 6, 30);
    run_expecting_code(&v, &["get", "acme", "otp", "--field", "totp"], &totp);

    let before = totp.generate_current().unwrap();
    let json = v.run(&["get", "acme", "otp", "--json"]).success().json();
    let after = totp.generate_current().unwrap();
    let code = json["totp"].as_str().expect("a totp key");
    assert!(code == before || code == after, "{json}");
    assert_eq!(json["secret"], "secret");

    let plain = v.run(&["get", "acme", "ftp", "--json"]).success().json();
    assert!(plain.get("totp").is_none(), "{plain}");
    assert_eq!(plain["secret"], "ftp-password");
}

#[test]
fn an_otpauth_uri_keeps_its_algorithm_digits_and_period() {
    let seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
    let v = TestVault::new();
    v.run(&["open", "acme", "--client", "Acme SARL", "--for", "2h"])
        .success();
    v.run_with_stdin(
        &["add", "acme", "otp", "--kind", "cms", "--totp"],
        &format!(
            "secret\notpauth://totp/Acme:me%40acme.example?secret={}&issuer=Acme&algorithm=SHA256&digits=8&period=60\n",
            seed.to_lowercase()
        ),
    )
    .success();
    let totp = reference(seed, Algorithm::SHA256, 8, 60);
    let out = run_expecting_code(&v, &["totp", "acme", "otp"], &totp);
    assert!((1..=60).contains(&valid_for(&out)), "{}", out.stderr());
    assert!(!v.contains_bytes(seed.as_bytes()));
    assert!(!v.contains_bytes(b"otpauth"));
}

#[test]
fn the_seed_is_never_stored_in_clear() {
    let v = with_totp("jbsw y3dp ehpk 3pxp");
    let totp = reference(SEED, Algorithm::SHA1, 6, 30);
    run_expecting_code(&v, &["totp", "acme", "otp"], &totp);
    for needle in [
        SEED.as_bytes(),
        b"jbswy3dp",
        b"JBSWY3DP",
        b"Hello!\xde\xad\xbe\xef",
        b"otpauth",
    ] {
        assert!(!v.contains_bytes(needle), "{needle:?} found in the vault");
    }
}

#[test]
fn totp_of_a_credential_without_one_exits_5() {
    let v = with_totp(SEED);
    let out = one_line(v.run(&["totp", "acme", "ftp"]).fails(5));
    assert!(out.stdout().is_empty());
    one_line(v.run(&["get", "acme", "ftp", "--field", "totp"]).fails(5));
    one_line(v.run(&["totp", "acme", "nosuch"]).fails(5));
}

#[test]
fn a_bad_seed_exits_2_and_changes_nothing() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "ftp-password");
    let before = v.snapshot();
    for seed in [
        "not-base32!",
        "JBSWY3DPEHPK3PX1",
        "JBSWY3DP",
        "   ",
        "otpauth://hotp/Acme?secret=JBSWY3DPEHPK3PXP&counter=3",
        "otpauth://totp/Acme?secret=JBSWY3DPEHPK3PXP&digits=12",
        "otpauth://totp/Acme?secret=JBSWY3DPEHPK3PXP&period=0",
        "otpauth://totp/Acme?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
        "otpauth://totp/Acme?issuer=Acme",
    ] {
        let out = v
            .run_with_stdin(
                &["add", "acme", "otp", "--kind", "cms", "--totp"],
                &format!("secret\n{seed}\n"),
            )
            .fails(2);
        let err = out.stderr();
        assert!(err.contains("TOTP") || err.contains("otpauth"), "{err}");
        for needle in ["JBSWY3DP", "not-base32", "EHPK3PX"] {
            assert!(!err.contains(needle), "{seed:?}: {err}");
        }
        assert!(v.snapshot() == before, "{seed:?} changed the vault");
    }
    one_line(v.run(&["totp", "acme", "otp"]).fails(5));
}

#[test]
fn add_totp_with_one_stdin_line_exits_2_and_changes_nothing() {
    let v = TestVault::new();
    v.open_with_credential("acme", "ftp", "ftp-password");
    let before = v.snapshot();
    v.run_with_stdin(
        &["add", "acme", "otp", "--kind", "cms", "--totp"],
        "secret\n",
    )
    .fails(2);
    assert!(v.snapshot() == before);
}

#[test]
fn totp_outside_the_window_exits_3() {
    let v = TestVault::new();
    let (from, until) = (in_secs(86_400), in_secs(2 * 86_400));
    v.run(&[
        "open", "later", "--client", "C", "--from", &from, "--until", &until,
    ])
    .success();
    v.run_with_stdin(
        &["add", "later", "otp", "--kind", "cms", "--totp"],
        &format!("secret\n{SEED}\n"),
    )
    .success();
    let out = one_line(v.run(&["totp", "later", "otp"]).fails(3));
    assert!(out.stdout().is_empty());
    one_line(v.run(&["get", "later", "otp", "--field", "totp"]).fails(3));

    // And once closed, it is gone.
    let v = with_totp(SEED);
    v.run(&["close", "acme"]).success();
    one_line(v.run(&["totp", "acme", "otp"]).fails(3));
}

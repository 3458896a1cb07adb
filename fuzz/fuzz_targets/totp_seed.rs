//! TOTP seeds as the user gives them: a base32 key or an otpauth:// URI.
#![no_main]

use chrono::DateTime;
use intervault::crypto::SecretText;
use intervault::totp::{code_at, normalize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let input = SecretText::new(text.to_owned());
    let canonical = match normalize(&input) {
        Ok(c) => c,
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "multi-line error");
            return;
        }
    };
    let c = canonical.expose();
    assert!(
        c.starts_with("otpauth://totp/?secret="),
        "not canonical: {c}"
    );
    // Normalizing the stored form gives it back unchanged.
    let again = normalize(&canonical).expect("the canonical form normalizes");
    assert_eq!(again.expose(), c);
    // Codes from the stored form and from what the user typed agree.
    let at = DateTime::from_timestamp(1_796_112_000, 0).expect("time");
    let code = code_at(&canonical, at).expect("a stored seed gives a code");
    let digits = code.code.expose();
    assert!((6..=8).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()));
    assert!((1..=300).contains(&code.seconds_left));
    let raw = code_at(&input, at).expect("an accepted seed gives a code");
    assert_eq!(raw.code.expose(), digits);
    assert_eq!(raw.seconds_left, code.seconds_left);
});

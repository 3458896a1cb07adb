//! Whole age files: header and stanza parsing, header MAC, STREAM payload. Two
//! identities: an X25519 one (intervention keys, the master key) and the
//! passphrase stanza of our own (`intervault-argon2id`, the master key file).
//! The keys are fixed so the seed corpus holds files sealed to them and the
//! fuzzer reaches the payload (see examples/make_seeds.rs).
#![no_main]

use std::sync::LazyLock;

use intervault::crypto::seal::open_with;
use intervault::crypto::{OpenError, PassphraseKey, SealKey, SecretText};
use libfuzzer_sys::fuzz_target;
use zeroize::Zeroizing;

/// A fuzzing-only identity, never a vault's. Kept in step with make_seeds.rs.
const FUZZ_IDENTITY: &str =
    "AGE-SECRET-KEY-1RQSJJQUF40PUP7XPVP4XRKUE4HWKD6PX708D78AE7LD97XYJ0TCQZGZDAZ";

static X25519: LazyLock<SealKey> = LazyLock::new(|| {
    SealKey::from_secret(&SecretText::new(FUZZ_IDENTITY.to_owned())).expect("fuzz identity")
});
static PASSPHRASE: LazyLock<PassphraseKey> =
    LazyLock::new(|| PassphraseKey::new(Zeroizing::new([7u8; 32])));

fn check(data: &[u8], result: Result<Zeroizing<Vec<u8>>, OpenError>) {
    match result {
        // The plaintext is never longer than the file (open_with sizes its
        // buffer on that, so that it never reallocates).
        Ok(plain) => assert!(plain.len() <= data.len()),
        // Errors are one line, to follow "the file ..." in a message.
        Err(OpenError::Corrupt(what)) => assert!(!what.contains('\n')),
        Err(OpenError::WrongKey) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, X25519.open(data));
    check(data, open_with(&*PASSPHRASE, data));
});

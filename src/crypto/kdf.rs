//! The passphrase key-derivation function: argon2id with parameters kept in the
//! vault header.

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::SecretText;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// Why a parameter set was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdfParamsError(pub String);

impl KdfParams {
    /// RFC 9106's second recommended option (also Bitwarden's default):
    /// 64 MiB, 3 passes, 4 lanes.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 4,
    };

    /// Largest memory accepted when reading a vault: 4 GiB. A header asking for more
    /// is refused before any work, so a planted header cannot exhaust the machine.
    pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
    /// Largest number of passes accepted.
    pub const MAX_ITERATIONS: u32 = 100;
    /// Largest number of lanes accepted.
    pub const MAX_PARALLELISM: u32 = 64;
    /// OWASP's floor for argon2id: 19 MiB and 2 passes.
    pub const FLOOR_MEMORY_KIB: u32 = 19 * 1024;
    /// See [`KdfParams::FLOOR_MEMORY_KIB`].
    pub const FLOOR_ITERATIONS: u32 = 2;

    /// Checks the parameters against the caps and argon2's own minimums.
    pub fn check(&self) -> Result<(), KdfParamsError> {
        let fail = |m: String| Err(KdfParamsError(m));
        if self.memory_kib > Self::MAX_MEMORY_KIB {
            return fail(format!(
                "argon2id memory {} MiB is above the cap of 4096 MiB",
                self.memory_kib / 1024
            ));
        }
        if self.iterations == 0 || self.iterations > Self::MAX_ITERATIONS {
            return fail(format!(
                "argon2id iterations {} outside 1..={}",
                self.iterations,
                Self::MAX_ITERATIONS
            ));
        }
        if self.parallelism == 0 || self.parallelism > Self::MAX_PARALLELISM {
            return fail(format!(
                "argon2id parallelism {} outside 1..={}",
                self.parallelism,
                Self::MAX_PARALLELISM
            ));
        }
        if self.memory_kib < 8 * self.parallelism {
            return fail(format!(
                "argon2id memory {} KiB is below 8 KiB per lane",
                self.memory_kib
            ));
        }
        Ok(())
    }

    /// Whether the parameters are below the OWASP floor (weak, but allowed).
    pub fn below_floor(&self) -> bool {
        self.memory_kib < Self::FLOOR_MEMORY_KIB || self.iterations < Self::FLOOR_ITERATIONS
    }

    /// How long `init` aims for one derivation to take: KeePassXC's way, between
    /// half a second and a second on the machine that creates the vault.
    pub const CALIBRATION_TARGET: Duration = Duration::from_millis(750);
    /// Calibration never picks fewer passes (RFC 9106's second option).
    pub const MIN_CALIBRATED_ITERATIONS: u32 = 3;

    /// These parameters with the number of passes that makes one derivation take
    /// about `target`, given that `passes` passes took `measured`: never below
    /// [`KdfParams::MIN_CALIBRATED_ITERATIONS`], never above the cap.
    pub fn with_iterations_for(self, measured: Duration, passes: u32, target: Duration) -> Self {
        let per_pass = measured.as_secs_f64() / f64::from(passes.max(1));
        let wanted = if per_pass > 0.0 {
            (target.as_secs_f64() / per_pass).round()
        } else {
            f64::from(Self::MAX_ITERATIONS)
        };
        let iterations = (wanted.min(f64::from(Self::MAX_ITERATIONS)) as u32)
            .max(Self::MIN_CALIBRATED_ITERATIONS);
        KdfParams { iterations, ..self }
    }

    /// Measures one derivation with these parameters at the minimum passes on
    /// this machine, and gives the parameters calibrated to `target` with the
    /// time one derivation is then expected to take.
    pub fn calibrate(self, target: Duration) -> Result<(Self, Duration), KdfParamsError> {
        let probe = KdfParams {
            iterations: Self::MIN_CALIBRATED_ITERATIONS,
            ..self
        };
        let pass = SecretText::new("calibration".into());
        let started = Instant::now();
        probe.derive(&pass, b"intervault-calibration")?;
        let took = started.elapsed();
        let chosen = probe.with_iterations_for(took, probe.iterations, target);
        let expected = took.mul_f64(f64::from(chosen.iterations) / f64::from(probe.iterations));
        Ok((chosen, expected))
    }

    /// Derives a 32-byte key from `passphrase` and `salt`.
    pub fn derive(
        &self,
        passphrase: &SecretText,
        salt: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, KdfParamsError> {
        self.check()?;
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| KdfParamsError(format!("argon2id parameters refused: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.expose().as_bytes(), salt, out.as_mut())
            .map_err(|e| KdfParamsError(format!("argon2id failed: {e}")))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn caps_refuse_absurd_headers() {
        let over = |m, t, p| {
            KdfParams {
                memory_kib: m,
                iterations: t,
                parallelism: p,
            }
            .check()
            .is_err()
        };
        assert!(over(KdfParams::MAX_MEMORY_KIB + 1, 3, 4));
        assert!(over(65536, 101, 4));
        assert!(over(65536, 0, 4));
        assert!(over(65536, 3, 0));
        assert!(over(65536, 3, 65));
        assert!(over(16, 1, 4));
        assert!(!over(KdfParams::MAX_MEMORY_KIB, 100, 64));
        assert!(KdfParams::DEFAULT.check().is_ok());
    }

    #[test]
    fn calibration_aims_at_the_target_within_its_bounds() {
        let at = |ms: u64| {
            KdfParams::DEFAULT
                .with_iterations_for(Duration::from_millis(ms), 3, KdfParams::CALIBRATION_TARGET)
                .iterations
        };
        assert_eq!(at(135), 17); // 45 ms a pass: 17 passes, about 0.77 s
        assert_eq!(at(750), 3); // exactly on target at the minimum
        assert_eq!(at(3000), 3); // a slow machine never goes below 3
        assert_eq!(at(1), KdfParams::MAX_ITERATIONS); // a fast one stops at the cap
        assert_eq!(at(0), KdfParams::MAX_ITERATIONS);
        let chosen = KdfParams::DEFAULT.with_iterations_for(
            Duration::from_millis(135),
            3,
            KdfParams::CALIBRATION_TARGET,
        );
        assert_eq!((chosen.memory_kib, chosen.parallelism), (64 * 1024, 4));
    }

    #[test]
    fn calibrating_measures_and_keeps_memory_and_lanes() {
        let small = KdfParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 2,
        };
        let (chosen, expected) = small.calibrate(Duration::from_millis(20)).unwrap();
        assert_eq!((chosen.memory_kib, chosen.parallelism), (256, 2));
        assert!(chosen.iterations >= 3 && chosen.iterations <= KdfParams::MAX_ITERATIONS);
        assert!(expected > Duration::ZERO);
    }

    #[test]
    fn floor() {
        assert!(!KdfParams::DEFAULT.below_floor());
        assert!(FAST.below_floor());
    }

    /// Known answers from the reference implementation (Debian's `argon2` CLI):
    /// `echo -n "correct horse" | argon2 0123456789abcdef -id -t 1 -k 64 -p 1 -l 32 -r`
    /// and the same with `-t 2 -k 256 -p 2`.
    #[test]
    fn matches_the_reference_implementation() {
        let pass = SecretText::new("correct horse".into());
        let salt = b"0123456789abcdef";
        assert_eq!(
            crate::crypto::hex(FAST.derive(&pass, salt).unwrap().as_ref()),
            "32364fd7ed54f4951b0d6bc3bed2f212c66235738a114c5f8ba3b6a1ee3abb10"
        );
        let two_lanes = KdfParams {
            memory_kib: 256,
            iterations: 2,
            parallelism: 2,
        };
        assert_eq!(
            crate::crypto::hex(two_lanes.derive(&pass, salt).unwrap().as_ref()),
            "f86386289bc8a13125f754c2804d3202b984a30f34ada2e4c4e5cf71e35847d1"
        );
    }

    #[test]
    fn derive_is_deterministic_and_salted() {
        let pass = SecretText::new("correct horse".into());
        let a = FAST.derive(&pass, b"0123456789abcdef").unwrap();
        let b = FAST.derive(&pass, b"0123456789abcdef").unwrap();
        let c = FAST.derive(&pass, b"fedcba9876543210").unwrap();
        assert_eq!(*a, *b);
        assert_ne!(*a, *c);
    }
}

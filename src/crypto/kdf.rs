//! The passphrase key-derivation function: argon2id with parameters kept in the
//! vault header.

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Why a parameter set was refused, or a derivation failed: the message, and
/// whether the parameters were refused or the memory could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdfParamsError(pub String, KdfFailure);

/// What kind of failure a [`KdfParamsError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KdfFailure {
    /// The parameters are outside the caps or argon2's limits.
    Refused,
    /// The memory block could not be allocated (a memory limit, a small machine).
    OutOfMemory,
}

impl KdfParamsError {
    fn refused(what: String) -> Self {
        KdfParamsError(what, KdfFailure::Refused)
    }

    /// Whether the memory argon2id needs could not be allocated (the
    /// parameters themselves are within the caps).
    pub fn is_out_of_memory(&self) -> bool {
        self.1 == KdfFailure::OutOfMemory
    }

    /// The error a command reports for the KDF header of `path`: refused
    /// parameters are damaged data (exit 6); memory that could not be had is a
    /// failure of this machine (exit 1).
    pub fn into_error(self, path: &crate::error::Location) -> crate::error::Error {
        match self.1 {
            KdfFailure::Refused => crate::error::Error::damaged(path.clone(), self.0),
            KdfFailure::OutOfMemory => crate::error::Error::Input {
                what: self.0,
                fix: "free some memory or raise this process's memory limit (ulimit -v), then try again".into(),
                code: 1,
            },
        }
    }
}

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
    /// Largest number of lanes accepted. Lanes split the memory, they add no
    /// work (and this build computes them one after the other).
    pub const MAX_PARALLELISM: u32 = 64;
    /// Largest total work accepted: memory times passes, in KiB, 8 GiB (64 MiB x
    /// 128, 1 GiB x 8, 4 GiB x 2): each parameter within its own cap can still ask
    /// for minutes of work (4 GiB x 100 passes), so the product is capped too,
    /// and refused before any work. The time of one derivation is about
    /// proportional to it: 64 MiB x 3 (the default) is 192 MiB.
    pub const MAX_WORK_KIB: u64 = 8 * 1024 * 1024;
    /// OWASP's floor for argon2id: 19 MiB and 2 passes.
    pub const FLOOR_MEMORY_KIB: u32 = 19 * 1024;
    /// See [`KdfParams::FLOOR_MEMORY_KIB`].
    pub const FLOOR_ITERATIONS: u32 = 2;

    /// Checks the parameters against the caps and argon2's own minimums.
    pub fn check(&self) -> Result<(), KdfParamsError> {
        let fail = |m: String| Err(KdfParamsError::refused(m));
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
        if self.work_kib() > Self::MAX_WORK_KIB {
            return fail(format!(
                "argon2id cost {} MiB x {} passes is above the cap of {} MiB x passes",
                self.memory_kib / 1024,
                self.iterations,
                Self::MAX_WORK_KIB / 1024
            ));
        }
        Ok(())
    }

    /// Memory times passes, in KiB: what one derivation costs.
    pub fn work_kib(&self) -> u64 {
        u64::from(self.memory_kib) * u64::from(self.iterations)
    }

    /// The most passes these memory costs allow within the caps (at least 1).
    fn max_iterations(&self) -> u32 {
        let by_work = Self::MAX_WORK_KIB / u64::from(self.memory_kib.max(1));
        u32::try_from(by_work)
            .unwrap_or(u32::MAX)
            .clamp(1, Self::MAX_ITERATIONS)
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
    /// [`KdfParams::MIN_CALIBRATED_ITERATIONS`] unless the work cap says so,
    /// never above the caps (passes, and memory times passes).
    pub fn with_iterations_for(self, measured: Duration, passes: u32, target: Duration) -> Self {
        let per_pass = measured.as_secs_f64() / f64::from(passes.max(1));
        let most = self.max_iterations();
        let wanted = if per_pass > 0.0 {
            (target.as_secs_f64() / per_pass).round()
        } else {
            f64::from(most)
        };
        let iterations = (wanted.min(f64::from(Self::MAX_ITERATIONS)) as u32)
            .max(Self::MIN_CALIBRATED_ITERATIONS)
            .min(most);
        KdfParams { iterations, ..self }
    }

    /// Measures one derivation with these parameters at the minimum passes on
    /// this machine, and gives the parameters calibrated to `target` with the
    /// time one derivation is then expected to take.
    pub fn calibrate(self, target: Duration) -> Result<(Self, Duration), KdfParamsError> {
        let probe = KdfParams {
            iterations: Self::MIN_CALIBRATED_ITERATIONS.min(self.max_iterations()),
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
            .map_err(|e| KdfParamsError::refused(format!("argon2id parameters refused: {e}")))?;
        let mut memory = allocate_blocks(params.block_count())?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into_with_memory(
                passphrase.expose().as_bytes(),
                salt,
                out.as_mut(),
                memory.as_mut_slice(),
            )
            .map_err(|e| KdfParamsError::refused(format!("argon2id failed: {e}")))?;
        Ok(out)
    }
}

/// argon2id's memory, allocated so that a machine or a limit (`ulimit -v`)
/// that cannot give it is an error, not an abort; zeroized when dropped, as it
/// holds state derived from the passphrase.
fn allocate_blocks(count: usize) -> Result<Zeroizing<Vec<Block>>, KdfParamsError> {
    let mut memory = Zeroizing::new(Vec::new());
    memory.try_reserve_exact(count).map_err(|_| {
        KdfParamsError(
            format!(
                "cannot allocate the {} MiB of memory argon2id needs to derive the vault key",
                count / 1024
            ),
            KdfFailure::OutOfMemory,
        )
    })?;
    // Within the capacity just reserved: no reallocation.
    memory.resize(count, Block::new());
    Ok(memory)
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
        assert!(over(KdfParams::MAX_MEMORY_KIB, 100, 64));
        assert!(KdfParams::DEFAULT.check().is_ok());
    }

    /// Issue 12, item 7: each cost within its own cap could still ask for 4 GiB
    /// times 100 passes (minutes of work); the product is capped too.
    #[test]
    fn the_total_cost_is_capped_issue_12() {
        const MIB: u32 = 1024;
        let table = [
            // (memory KiB, passes, lanes, accepted)
            (64 * MIB, 3, 4, true),   // the default
            (64 * MIB, 100, 4, true), // the most calibration picks at 64 MiB
            (1024 * MIB, 8, 4, true),
            (1024 * MIB, 9, 4, false),
            (4096 * MIB, 2, 64, true),
            (4096 * MIB, 3, 4, false),
            (4096 * MIB, 100, 64, false), // the review's header
            (8 * MIB, 100, 64, true),
            (KdfParams::MAX_MEMORY_KIB, 1, 1, true),
        ];
        for (memory_kib, iterations, parallelism, accepted) in table {
            let p = KdfParams {
                memory_kib,
                iterations,
                parallelism,
            };
            assert_eq!(p.check().is_ok(), accepted, "{p:?}");
            assert!(p.work_kib() <= KdfParams::MAX_WORK_KIB || !accepted);
        }
    }

    proptest::proptest! {
        /// Whatever is accepted is within every cap; whatever calibration picks
        /// for parameters accepted at one pass is accepted.
        #[test]
        fn accepted_costs_are_within_the_caps(m in 0u32..=u32::MAX, t in 0u32..=200, p in 0u32..=100,
                                              ms in 0u64..10_000) {
            let params = KdfParams { memory_kib: m, iterations: t, parallelism: p };
            if params.check().is_ok() {
                proptest::prop_assert!(m <= KdfParams::MAX_MEMORY_KIB);
                proptest::prop_assert!((1..=KdfParams::MAX_ITERATIONS).contains(&t));
                proptest::prop_assert!((1..=KdfParams::MAX_PARALLELISM).contains(&p));
                proptest::prop_assert!(params.work_kib() <= KdfParams::MAX_WORK_KIB);
            }
            let one_pass = KdfParams { iterations: 1, ..params };
            if one_pass.check().is_ok() {
                let chosen = one_pass.with_iterations_for(
                    Duration::from_millis(ms), 3, KdfParams::CALIBRATION_TARGET);
                proptest::prop_assert!(chosen.check().is_ok(), "{:?}", chosen);
            }
        }
    }

    #[test]
    fn calibration_stays_within_the_work_cap() {
        let big = KdfParams {
            memory_kib: 4096 * 1024,
            iterations: 1,
            parallelism: 4,
        };
        let chosen = big.with_iterations_for(Duration::from_millis(1), 3, Duration::from_secs(1));
        assert_eq!(chosen.iterations, 2);
        assert!(chosen.check().is_ok());
    }

    /// Memory that cannot be had is an error that says so, not an abort.
    #[test]
    fn an_unallocatable_memory_block_is_an_error() {
        let e = allocate_blocks(usize::MAX / 2).unwrap_err();
        assert!(e.is_out_of_memory());
        assert!(e.0.contains("cannot allocate"), "{}", e.0);
        let path = crate::error::Location::Path("/v/vault.json".into());
        assert_eq!(e.into_error(&path).exit_code(), 1);
        let refused = KdfParams {
            memory_kib: 4096 * 1024,
            iterations: 100,
            parallelism: 64,
        }
        .check()
        .unwrap_err();
        assert!(!refused.is_out_of_memory());
        assert_eq!(refused.into_error(&path).exit_code(), 6);
        assert_eq!(allocate_blocks(8).unwrap().len(), 8);
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

//! Randomness: the OS RNG with `std`, any `rand_core` RNG otherwise.
//!
//! Every operation that needs randomness has a `*_with_rng` form taking
//! `&mut R where R: TryCryptoRng + ?Sized`; with the `std` feature the plain
//! form uses [`OsRng`]. An RNG failure is reported as [`Error::Rng`]; nothing
//! falls back to weaker randomness.

use crate::error::{Error, Result};
pub use rand_core::{TryCryptoRng, TryRng};

/// The operating system's RNG (`getrandom`), available with the `std` feature.
#[cfg(feature = "std")]
pub use getrandom::SysRng as OsRng;

/// Fills `buf` from `rng`, mapping any RNG failure to [`Error::Rng`].
pub(crate) fn fill<R: TryCryptoRng + ?Sized>(rng: &mut R, buf: &mut [u8]) -> Result<()> {
    rng.try_fill_bytes(buf).map_err(|_| Error::Rng)
}

/// A continuous health test of RNG output across calls, in the spirit of
/// the repetition count test of NIST SP 800-90B §4.4.1 with whole samples
/// (64 random bytes) as the symbols: a good RNG never repeats one, so any
/// repeat is a failure.
///
/// Each sample's fingerprint (64 bits of its SHA-256, never the bytes,
/// which may have become someone's key) is compared with the last
/// fingerprints of the same source and with the most recent ones of any
/// source, then remembered. Sources are opaque identities (the FFI layer's
/// callback and its user pointer); a source that changes identity on every
/// call (a fresh closure) is still caught by the recent ones.
pub struct RepetitionTest {
    history: crate::lock::Lock<History>,
}

/// Sources remembered, least recently used dropped first.
const SOURCES: usize = 8;
/// Fingerprints remembered per source.
const PER_SOURCE: usize = 4;
/// Fingerprints remembered of all sources together.
const RECENT: usize = 16;

/// A fingerprint's value before anything was recorded: no SHA-256 output in
/// practice, and refused as a sample's fingerprint never happens to be it.
const EMPTY: u64 = 0;

#[derive(Clone, Copy)]
struct SourceHistory {
    source: [usize; 2],
    fingerprints: [u64; PER_SOURCE],
    next: usize,
    last_used: u64,
}

struct History {
    sources: [SourceHistory; SOURCES],
    recent: [u64; RECENT],
    next_recent: usize,
    clock: u64,
}

impl Default for RepetitionTest {
    fn default() -> Self {
        Self::new()
    }
}

impl RepetitionTest {
    /// An empty history (a `static` can hold one).
    pub const fn new() -> Self {
        const NO_SOURCE: SourceHistory = SourceHistory {
            source: [0; 2],
            fingerprints: [EMPTY; PER_SOURCE],
            next: 0,
            last_used: 0,
        };
        RepetitionTest {
            history: crate::lock::Lock::new(History {
                sources: [NO_SOURCE; SOURCES],
                recent: [EMPTY; RECENT],
                next_recent: 0,
                clock: 0,
            }),
        }
    }

    /// Judges `sample` from `source` and remembers it: [`Error::Rng`] if it
    /// repeats a remembered sample (this source's last ones or anyone's
    /// recent ones), [`Error::Busy`] without `std` while another thread is
    /// in here (nothing waits in firmware).
    pub fn check(&self, source: [usize; 2], sample: &[u8]) -> Result<()> {
        let mut digest = [0u8; 32];
        crate::mac::sha256_into(&[sample], &mut digest);
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let fingerprint = u64::from_le_bytes(first);
        self.history
            .with(|history| history.record(source, fingerprint))?
    }
}

impl History {
    fn record(&mut self, source: [usize; 2], fingerprint: u64) -> Result<()> {
        self.clock += 1;
        let clock = self.clock;
        let mut repeated = fingerprint == EMPTY || holds(&self.recent, fingerprint);
        // Remembered even when repeated: the source stays under suspicion.
        self.recent[self.next_recent] = fingerprint;
        self.next_recent = (self.next_recent + 1) % RECENT;
        // One pass finds the source's slot, or else the least recently used.
        let (mut slot, mut known) = (0, false);
        for (i, s) in self.sources.iter().enumerate() {
            if s.last_used != 0 && s.source == source {
                (slot, known) = (i, true);
                repeated |= holds(&s.fingerprints, fingerprint);
                break;
            }
            if s.last_used < self.sources[slot].last_used {
                slot = i;
            }
        }
        let entry = &mut self.sources[slot];
        if !known {
            *entry = SourceHistory {
                source,
                fingerprints: [EMPTY; PER_SOURCE],
                next: 0,
                last_used: clock,
            };
        }
        entry.last_used = clock;
        entry.fingerprints[entry.next] = fingerprint;
        entry.next = (entry.next + 1) % PER_SOURCE;
        if repeated { Err(Error::Rng) } else { Ok(()) }
    }
}

/// Whether `list` holds `fingerprint`: a plain loop, not `contains`, whose
/// unrolled search links 80 more bytes into firmware.
#[allow(clippy::manual_contains)] // on purpose: see above
fn holds(list: &[u64], fingerprint: u64) -> bool {
    list.iter().any(|&f| f == fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seed: u8) -> [u8; 64] {
        core::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
    }

    #[test]
    fn a_sample_repeated_by_its_source_fails() {
        let test = RepetitionTest::new();
        assert!(test.check([1, 0], &sample(1)).is_ok());
        assert!(test.check([1, 0], &sample(2)).is_ok());
        assert_eq!(test.check([1, 0], &sample(1)), Err(Error::Rng));
    }

    #[test]
    fn a_source_remembers_its_samples_while_others_are_busy() {
        let test = RepetitionTest::new();
        assert!(test.check([7, 7], &sample(200)).is_ok());
        // Far more than RECENT samples from another source in between.
        for seed in 0..100 {
            assert!(test.check([1, 0], &sample(seed)).is_ok());
        }
        assert_eq!(test.check([7, 7], &sample(200)), Err(Error::Rng));
    }

    #[test]
    fn a_source_with_a_new_identity_each_call_is_caught_by_the_recent_samples() {
        let test = RepetitionTest::new();
        assert!(test.check([100, 0], &sample(9)).is_ok());
        assert_eq!(test.check([101, 0], &sample(9)), Err(Error::Rng));
    }

    #[test]
    fn a_new_source_takes_the_place_of_the_least_recently_used() {
        let test = RepetitionTest::new();
        for id in 1..=SOURCES {
            assert!(test.check([id, 0], &sample(id as u8)).is_ok());
        }
        // Source 1 is used again, so source 2 is now the least recently used,
        // and a ninth source takes its place.
        assert!(test.check([1, 0], &sample(100)).is_ok());
        assert!(test.check([99, 0], &sample(99)).is_ok());
        // Enough fresh samples that the recent ones no longer hold any of the above.
        for seed in 0..RECENT as u8 {
            assert!(test.check([1, 0], &sample(150 + seed)).is_ok());
        }
        assert_eq!(test.check([3, 0], &sample(3)), Err(Error::Rng));
        assert_eq!(test.check([99, 0], &sample(99)), Err(Error::Rng));
        assert!(
            test.check([2, 0], &sample(2)).is_ok(),
            "source 2 was forgotten"
        );
    }

    #[test]
    fn fresh_samples_from_many_sources_pass() {
        let test = RepetitionTest::new();
        for seed in 0..=255u8 {
            let source = [usize::from(seed % 11), 0];
            assert!(test.check(source, &sample(seed)).is_ok(), "seed {seed}");
        }
    }
}

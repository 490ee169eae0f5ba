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

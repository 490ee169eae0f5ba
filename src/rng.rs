//! A caller-supplied RNG (a firmware's hardware RNG) as a `rand_core` RNG.

use core::ffi::{c_int, c_void};

use paramcrypt_core::rng::{TryCryptoRng, TryRng};

use crate::status::paramcrypt_status;

/// Fills `buf` with `len` cryptographically secure random bytes. Returns 0 on
/// success and anything else on failure, which paramcrypt reports as
/// `PARAMCRYPT_ERR_RNG` (never replaced by weaker randomness). `user` is the
/// pointer given alongside the callback. Must be thread-safe if the same
/// callback is used from several threads at once.
pub type paramcrypt_rng_callback =
    Option<unsafe extern "C" fn(user: *mut c_void, buf: *mut u8, len: usize) -> c_int>;

/// The RNG failed: the callback returned non-zero, or this build has no OS RNG.
#[derive(Debug)]
pub(crate) struct RngFailed;

impl core::fmt::Display for RngFailed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RNG failed")
    }
}

impl core::error::Error for RngFailed {}

/// The RNG an exported function uses: the OS RNG for the plain functions, the
/// caller's callback for the `*_with_rng` ones.
pub(crate) enum FfiRng {
    #[cfg(feature = "std")]
    Os(paramcrypt_core::rng::OsRng),
    /// A build without `std` has no OS RNG: the plain functions report
    /// `PARAMCRYPT_ERR_RNG`, and firmware uses the `*_with_rng` functions.
    #[cfg(not(feature = "std"))]
    Unavailable,
    Callback {
        fill: unsafe extern "C" fn(*mut c_void, *mut u8, usize) -> c_int,
        user: *mut c_void,
    },
}

impl FfiRng {
    pub(crate) fn os() -> Self {
        #[cfg(feature = "std")]
        {
            FfiRng::Os(paramcrypt_core::rng::OsRng)
        }
        #[cfg(not(feature = "std"))]
        {
            FfiRng::Unavailable
        }
    }

    pub(crate) fn callback(
        callback: paramcrypt_rng_callback,
        user: *mut c_void,
    ) -> Result<Self, paramcrypt_status> {
        let fill = callback.ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)?;
        Ok(FfiRng::Callback { fill, user })
    }
}

impl TryRng for FfiRng {
    type Error = RngFailed;

    fn try_next_u32(&mut self) -> Result<u32, RngFailed> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, RngFailed> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RngFailed> {
        match self {
            #[cfg(feature = "std")]
            FfiRng::Os(os) => os.try_fill_bytes(dst).map_err(|_| RngFailed),
            #[cfg(not(feature = "std"))]
            FfiRng::Unavailable => Err(RngFailed),
            FfiRng::Callback { .. } if dst.is_empty() => Ok(()),
            // SAFETY: the caller of the exported function promised that `fill`
            // writes at most `len` bytes to `buf`.
            FfiRng::Callback { fill, user } => {
                match unsafe { fill(*user, dst.as_mut_ptr(), dst.len()) } {
                    0 => Ok(()),
                    _ => Err(RngFailed),
                }
            }
        }
    }
}

// The OS RNG is cryptographic; a callback's owner vouches for it.
impl TryCryptoRng for FfiRng {}

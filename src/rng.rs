//! A caller-supplied RNG (a firmware's hardware RNG) as a `rand_core` RNG.

use core::ffi::{c_int, c_void};

use paramcrypt_core::rng::{TryCryptoRng, TryRng};
use zeroize::Zeroize;

use crate::status::paramcrypt_status;

/// Fills `buf` with `len` cryptographically secure random bytes. Returns 0 on
/// success and anything else on failure, which paramcrypt reports as
/// `PARAMCRYPT_ERR_RNG` (never replaced by weaker randomness). `user` is the
/// pointer given alongside the callback. Must be thread-safe if the same
/// callback is used from several threads at once.
///
/// paramcrypt asks for 64 bytes at a time and checks each answer cheaply: a
/// buffer with 16 or more equal bytes in a row (left as it was, zeroed,
/// constant), or one that repeats an earlier answer, is `PARAMCRYPT_ERR_RNG`
/// too, even when the callback returned 0. Repeats are caught across calls:
/// the library remembers a fingerprint (part of a SHA-256, never the bytes)
/// of the last answers of each callback and user pointer, and of the most
/// recent answers of any callback. This catches drivers that fail silently
/// and generators reseeded the same way each call; it is no test of
/// randomness. In builds without `std` (firmware) that memory has a lock
/// that never waits: a callback answer judged while another thread is
/// judging one fails with `PARAMCRYPT_ERR_RNG` too.
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
    Callback(CallbackRng),
}

/// Bytes asked of the callback at a time. Small requests (the `rsa` crate
/// asks for single bytes) are served from this pool, so that every call the
/// health checks judge fills enough bytes for them to be meaningful.
const POOL: usize = 64;

/// A run this long of one byte value ends the call: an RNG that did not
/// write (the pool is pre-filled with one value) or wrote a constant. A good
/// RNG makes such a run about once in 2^120 pools.
const STUCK_RUN: usize = 16;

/// The pool: in the RNG's frame with `std`; on the heap without it
/// (firmware), where that frame stays on the small stack under a whole
/// open (64 of the 1,700 bytes the firmware's unwrap + decrypt may use).
#[cfg(feature = "std")]
type Pool = [u8; POOL];
#[cfg(not(feature = "std"))]
type Pool = alloc::boxed::Box<[u8; POOL]>;

fn new_pool() -> Pool {
    #[cfg(feature = "std")]
    return [0; POOL];
    #[cfg(not(feature = "std"))]
    alloc::boxed::Box::new([0; POOL])
}

/// The caller's RNG callback, with a pool and the health checks.
pub(crate) struct CallbackRng {
    fill: unsafe extern "C" fn(*mut c_void, *mut u8, usize) -> c_int,
    user: *mut c_void,
    pool: Pool,
    /// Unused bytes at the end of `pool`.
    available: usize,
}

/// Every callback's recent answers, across calls and threads: a repeat
/// means a stuck RNG (or one seeded the same way each time).
static REPETITIONS: paramcrypt_core::rng::RepetitionTest =
    paramcrypt_core::rng::RepetitionTest::new();

impl Drop for CallbackRng {
    fn drop(&mut self) {
        // Unused random bytes could be someone's next key: wipe them.
        self.pool.as_mut_slice().zeroize();
    }
}

impl CallbackRng {
    fn refill(&mut self) -> Result<(), RngFailed> {
        self.pool.fill(0xA5);
        // SAFETY: the caller of the exported function promised that `fill`
        // writes at most `len` bytes to `buf`.
        if unsafe { (self.fill)(self.user, self.pool.as_mut_ptr(), POOL) } != 0 {
            return Err(RngFailed);
        }
        let stuck = self
            .pool
            .windows(STUCK_RUN)
            .any(|run| run.iter().all(|&b| b == run[0]));
        // The pool is judged even when stuck, so that the source is remembered.
        let source = [self.fill as usize, self.user as usize];
        let repeated = REPETITIONS.check(source, &self.pool[..]).is_err();
        if stuck || repeated {
            return Err(RngFailed);
        }
        self.available = POOL;
        Ok(())
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RngFailed> {
        let mut done = 0;
        while done < dst.len() {
            if self.available == 0 {
                self.refill()?;
            }
            let start = POOL - self.available;
            let n = self.available.min(dst.len() - done);
            dst[done..done + n].copy_from_slice(&self.pool[start..start + n]);
            self.pool[start..start + n].zeroize();
            self.available -= n;
            done += n;
        }
        Ok(())
    }
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
        Ok(FfiRng::Callback(CallbackRng {
            fill,
            user,
            pool: new_pool(),
            available: 0,
        }))
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
            FfiRng::Callback(rng) => rng.fill_bytes(dst),
        }
    }
}

// The OS RNG is cryptographic; a callback's owner vouches for it.
impl TryCryptoRng for FfiRng {}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn counting(user: *mut c_void, buf: *mut u8, len: usize) -> c_int {
        // SAFETY: the tests pass a u8 counter and a buffer of `len` bytes.
        unsafe {
            let next = &mut *user.cast::<u8>();
            for i in 0..len {
                *buf.add(i) = *next;
                *next = next.wrapping_add(1);
            }
        }
        0
    }

    unsafe extern "C" fn silent(_: *mut c_void, _: *mut u8, _: usize) -> c_int {
        0 // "success" without writing: a broken driver
    }

    unsafe extern "C" fn zeros(_: *mut c_void, buf: *mut u8, len: usize) -> c_int {
        // SAFETY: `buf` holds `len` bytes.
        unsafe { core::ptr::write_bytes(buf, 0, len) };
        0
    }

    unsafe extern "C" fn repeating(_: *mut c_void, buf: *mut u8, len: usize) -> c_int {
        // SAFETY: `buf` holds `len` bytes.
        unsafe {
            for i in 0..len {
                *buf.add(i) = (i * 7) as u8;
            }
        }
        0
    }

    fn rng(
        fill: unsafe extern "C" fn(*mut c_void, *mut u8, usize) -> c_int,
        user: *mut c_void,
    ) -> FfiRng {
        FfiRng::callback(Some(fill), user).unwrap()
    }

    #[test]
    fn small_requests_come_in_order_from_one_pooled_call() {
        let mut next = 0u8;
        let mut rng = rng(counting, (&mut next as *mut u8).cast());
        let mut a = [0u8; 1];
        let mut b = [0u8; 20];
        rng.try_fill_bytes(&mut a).unwrap();
        rng.try_fill_bytes(&mut b).unwrap();
        assert_eq!(a, [0]);
        assert_eq!(b[..], (1..=20).collect::<alloc::vec::Vec<u8>>()[..]);
        assert_eq!(next, 64, "one call of 64 bytes");
        let mut c = [0u8; 100];
        rng.try_fill_bytes(&mut c).unwrap();
        assert_eq!(c[0], 21);
        assert_eq!(c[99], 120);
    }

    #[test]
    fn a_silent_constant_or_stuck_rng_is_a_failure() {
        for fill in [silent, zeros] {
            let mut rng = rng(fill, core::ptr::null_mut());
            assert!(rng.try_fill_bytes(&mut [0u8; 16]).is_err());
            assert!(rng.try_fill_bytes(&mut [0u8; 1]).is_err());
        }
        // The same answer twice: the second call fails.
        let mut rng = rng(repeating, core::ptr::null_mut());
        assert!(rng.try_fill_bytes(&mut [0u8; 64]).is_ok());
        assert!(rng.try_fill_bytes(&mut [0u8; 1]).is_err());
    }

    unsafe extern "C" fn reseeded(_: *mut c_void, buf: *mut u8, len: usize) -> c_int {
        // SAFETY: `buf` holds `len` bytes.
        unsafe {
            for i in 0..len {
                *buf.add(i) = (i * 13 + 5) as u8;
            }
        }
        0
    }

    #[test]
    fn an_answer_repeated_in_a_later_call_is_a_failure() {
        // Each exported function makes its own FfiRng: the memory of earlier
        // answers must outlive it.
        assert!(
            rng(reseeded, core::ptr::null_mut())
                .try_fill_bytes(&mut [0u8; 32])
                .is_ok()
        );
        assert!(
            rng(reseeded, core::ptr::null_mut())
                .try_fill_bytes(&mut [0u8; 32])
                .is_err()
        );
        let mut other = 0u8;
        assert!(
            rng(reseeded, (&mut other as *mut u8).cast())
                .try_fill_bytes(&mut [0u8; 32])
                .is_err()
        );
    }
}

//! The lock of shared mutable state (the server's tables, the compact RSA
//! key's blinding pair): a mutex with `std`; without it, a lock that never
//! waits (firmware: a second thread gets [`Error::Busy`]).

#[cfg(not(feature = "std"))]
use crate::error::Error;
use crate::error::Result;

pub(crate) struct Lock<T> {
    #[cfg(feature = "std")]
    inner: std::sync::Mutex<T>,
    #[cfg(not(feature = "std"))]
    inner: spin::Mutex<T>,
}

impl<T> Lock<T> {
    pub(crate) const fn new(value: T) -> Self {
        Lock {
            #[cfg(feature = "std")]
            inner: std::sync::Mutex::new(value),
            #[cfg(not(feature = "std"))]
            inner: spin::Mutex::new(value),
        }
    }

    /// Runs `f` on the locked state.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R> {
        #[cfg(feature = "std")]
        {
            // Poisoning is ignored: nothing that runs under the lock
            // panics, and refusing every later request would be worse.
            let mut guard = self
                .inner
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok(f(&mut guard))
        }
        #[cfg(not(feature = "std"))]
        {
            let mut guard = self.inner.try_lock().ok_or(Error::Busy)?;
            Ok(f(&mut guard))
        }
    }
}

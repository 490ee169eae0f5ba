//! The one error type of the core.

use core::fmt;

pub use crate::json_rpc::{ENCRYPTION_FAILED_CODE, ENCRYPTION_FAILED_MESSAGE};

/// Everything that can go wrong in paramcrypt.
///
/// Anything a peer can cause while unwrapping an `encKey` or decrypting a
/// parameter is [`Error::EncryptionFailed`], with no further detail: bad base64,
/// wrong length, bad RSA padding, malformed key:iv text, bad PKCS#7 padding and
/// a wrong key all look the same, so that none of them can serve as an oracle.
/// The other variants report local misuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The one uniform failure: JSON-RPC error 40002 "Encryption Failed".
    EncryptionFailed,
    /// Key generation was asked for a size other than 2048, 3072 or 4096 bits.
    UnsupportedKeySize,
    /// A private or public key could not be parsed or encoded (malformed
    /// PKCS#8/PKCS#1/SPKI data, wrong PEM label, not RSA, a size out of range:
    /// 1024-bit keys only with [`crate::KeySizes::AllowLegacy1024`]).
    InvalidKey,
    /// The random number generator failed. Never silently replaced.
    Rng,
    /// The output buffer is too small; `needed` bytes are required.
    BufferTooSmall {
        /// The size the output buffer must have.
        needed: usize,
    },
    /// The public key is too small for the chosen padding and mode (the
    /// 65-byte key:iv text does not fit OAEP-SHA-256 under a 1024-bit key).
    KeyTooSmall,
    /// A server configuration value is out of range (a refusal or peer
    /// capacity of 0, a capacity above the documented maximum, a failure
    /// policy with a limit but no window), or a server without `std` was
    /// given no clock.
    InvalidConfig,
    /// A length is too large: the output it implies would exceed `isize::MAX`
    /// bytes.
    TooLong,
    /// Builds without `std` only: the server is in use by another thread,
    /// and the firmware lock does not wait. Use a server from one task.
    Busy,
    /// A saved server state could not be loaded: corrupted, made by a server
    /// with another key pair, or of another format version. Nothing of it
    /// was loaded.
    InvalidState,
}

impl Error {
    /// Whether this is the uniform encryption failure (code 40002).
    pub fn is_encryption_failure(&self) -> bool {
        matches!(self, Error::EncryptionFailed)
    }

    /// A short English description without run-time detail: the text every
    /// interface (the C library's `paramcrypt_status_message`, `Display`)
    /// shows for this error. For [`Error::EncryptionFailed`] it is exactly
    /// [`ENCRYPTION_FAILED_MESSAGE`].
    pub const fn message(&self) -> &'static str {
        match self {
            Error::EncryptionFailed => ENCRYPTION_FAILED_MESSAGE,
            Error::UnsupportedKeySize => "unsupported RSA key size (use 2048, 3072 or 4096 bits)",
            Error::InvalidKey => "invalid or unsupported RSA key encoding",
            Error::Rng => "random number generator failed",
            Error::BufferTooSmall { .. } => "output buffer too small",
            Error::KeyTooSmall => "public key too small for this padding and mode",
            Error::InvalidConfig => "server configuration value out of range",
            Error::TooLong => "length too large",
            Error::Busy => "server in use by another thread (firmware builds do not wait)",
            Error::InvalidState => {
                "saved server state is corrupted, of another key pair or of another version"
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())?;
        if let Error::BufferTooSmall { needed } = self {
            write!(f, " ({needed} bytes needed)")?;
        }
        Ok(())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Shorthand for results of this crate.
pub type Result<T> = core::result::Result<T, Error>;

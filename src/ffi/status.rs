//! The status codes and option enums, and the functions that describe them.

use core::ffi::c_char;

use super::boundary::guard;
use crate::{Error, Mode, Padding};

/// The result of every fallible paramcrypt function.
///
/// 0 is success. 40002 is the one encryption failure, the JSON-RPC error a
/// server answers ("Encryption Failed") for anything a peer can cause. Other
/// values report local misuse. Numbers are grouped and never reused.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum paramcrypt_status {
    /// Success.
    PARAMCRYPT_OK = 0,
    /// A required pointer argument was NULL.
    PARAMCRYPT_ERR_NULL_ARGUMENT = 1,
    /// An argument is out of range (an unknown padding or mode value, a
    /// length above `PTRDIFF_MAX`).
    PARAMCRYPT_ERR_INVALID_ARGUMENT = 2,
    /// The output buffer is too small; `*out_len` holds the size needed.
    PARAMCRYPT_ERR_BUFFER_TOO_SMALL = 3,
    /// Key generation was asked for a size other than 1024, 2048, 3072 or 4096 bits.
    PARAMCRYPT_ERR_UNSUPPORTED_KEY_SIZE = 100,
    /// A key could not be parsed or encoded (malformed, not RSA, or not 1024 to 4096 bits).
    PARAMCRYPT_ERR_INVALID_KEY = 101,
    /// The random number generator failed.
    PARAMCRYPT_ERR_RNG = 102,
    /// The public key is too small for the chosen padding and mode
    /// (key:iv text under OAEP-SHA-256 needs more than 1024 bits).
    PARAMCRYPT_ERR_KEY_TOO_SMALL = 103,
    /// An internal error (a panic was caught at the boundary). Please report it.
    PARAMCRYPT_ERR_PANIC = 900,
    /// JSON-RPC 40002 "Encryption Failed": unwrapping or decrypting failed
    /// (bad base64, wrong length, bad padding, wrong key, ...). Deliberately
    /// carries no detail.
    PARAMCRYPT_ERR_ENCRYPTION_FAILED = 40002,
}

impl From<Error> for paramcrypt_status {
    fn from(error: Error) -> Self {
        match error {
            Error::EncryptionFailed => paramcrypt_status::PARAMCRYPT_ERR_ENCRYPTION_FAILED,
            Error::UnsupportedKeySize => paramcrypt_status::PARAMCRYPT_ERR_UNSUPPORTED_KEY_SIZE,
            Error::InvalidKey => paramcrypt_status::PARAMCRYPT_ERR_INVALID_KEY,
            Error::Rng => paramcrypt_status::PARAMCRYPT_ERR_RNG,
            Error::KeyTooSmall => paramcrypt_status::PARAMCRYPT_ERR_KEY_TOO_SMALL,
            Error::BufferTooSmall { .. } => paramcrypt_status::PARAMCRYPT_ERR_BUFFER_TOO_SMALL,
        }
    }
}

/// The RSA scheme that wraps the common key into `encKey`. A server uses one,
/// fixed by configuration; it never tries several.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum paramcrypt_padding {
    /// RSAES-PKCS1-v1_5, what deployed devices use. The default.
    PARAMCRYPT_PADDING_PKCS1V15 = 0,
    /// RSAES-OAEP with SHA-1 and MGF1-SHA-1 (Java's `OAEPWithSHA-1AndMGF1Padding`).
    /// Builds without OAEP (firmware) refuse the OAEP values with
    /// `PARAMCRYPT_ERR_INVALID_ARGUMENT`.
    PARAMCRYPT_PADDING_OAEP_SHA1 = 1,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256.
    PARAMCRYPT_PADDING_OAEP_SHA256 = 2,
}

/// How the IV of secret parameters is chosen.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum paramcrypt_mode {
    /// encKey carries `hex(key):hex(iv)`; every parameter uses that IV. The default.
    PARAMCRYPT_MODE_KEY_IV = 0,
    /// encKey carries the raw 16-byte key; every parameter is base64(IV || ciphertext).
    PARAMCRYPT_MODE_PER_MESSAGE_IV = 1,
}

pub(crate) fn padding_from_c(value: u32) -> Result<Padding, paramcrypt_status> {
    match value {
        0 => Ok(Padding::Pkcs1v15),
        #[cfg(feature = "oaep")]
        1 => Ok(Padding::OaepSha1),
        #[cfg(feature = "oaep")]
        2 => Ok(Padding::OaepSha256),
        _ => Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT),
    }
}

pub(crate) fn mode_from_c(value: u32) -> Result<Mode, paramcrypt_status> {
    match value {
        0 => Ok(Mode::KeyIv),
        1 => Ok(Mode::PerMessageIv),
        _ => Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT),
    }
}

pub(crate) fn mode_to_c(mode: Mode) -> paramcrypt_mode {
    match mode {
        Mode::KeyIv => paramcrypt_mode::PARAMCRYPT_MODE_KEY_IV,
        Mode::PerMessageIv => paramcrypt_mode::PARAMCRYPT_MODE_PER_MESSAGE_IV,
    }
}

/// A static, NUL-terminated English description of `status` (any value,
/// including unknown ones). Never NULL; never to be freed. Thread-safe.
///
/// For `PARAMCRYPT_ERR_ENCRYPTION_FAILED` it is exactly the JSON-RPC message
/// `"Encryption Failed"`.
#[unsafe(no_mangle)]
pub extern "C" fn paramcrypt_status_message(status: u32) -> *const c_char {
    guard(|| {
        let message = match status {
            0 => c"OK",
            1 => c"a required pointer argument was NULL",
            2 => c"an argument is out of range",
            3 => c"output buffer too small (*out_len holds the size needed)",
            100 => c"unsupported RSA key size (use 1024, 2048, 3072 or 4096 bits)",
            101 => c"invalid or unsupported RSA key encoding",
            102 => c"random number generator failed",
            103 => c"public key too small for this padding and mode",
            900 => c"internal error (panic)",
            40002 => c"Encryption Failed",
            _ => c"unknown status",
        };
        message.as_ptr()
    })
}

/// The library version, a static NUL-terminated string such as `"0.1.0"`;
/// equal to `PARAMCRYPT_VERSION` in the header it was built with. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn paramcrypt_version() -> *const c_char {
    guard(|| {
        const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
        VERSION.as_ptr().cast()
    })
}

//! The C vocabulary, defined once: the status codes with their messages, the
//! padding and mode values, and the 40002 constants. The header, the message
//! table and every conversion are derived from these definitions.

use core::ffi::CStr;

use paramcrypt_core::{
    AcceptedModes, ENCRYPTION_FAILED_CODE, ENCRYPTION_FAILED_MESSAGE, Error, KeySizes, Mode,
    Padding,
};

/// The JSON-RPC error code of every encryption failure. In the header it is
/// a `#define` written by build.rs from the same source.
pub const PARAMCRYPT_ENCRYPTION_FAILED_CODE: u32 = ENCRYPTION_FAILED_CODE;

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
    /// length above `PTRDIFF_MAX`, a server capacity out of range).
    PARAMCRYPT_ERR_INVALID_ARGUMENT = 2,
    /// The output buffer is too small; `*out_len` holds the size needed.
    PARAMCRYPT_ERR_BUFFER_TOO_SMALL = 3,
    /// Firmware builds only: the server is in use by another thread, and
    /// their lock does not wait. Use a server from one task.
    PARAMCRYPT_ERR_BUSY = 4,
    /// A handle of the wrong type (a key pair passed as a session), or one
    /// already freed. Detected as a best effort: passing anything but a live
    /// handle of the right type remains a bug.
    PARAMCRYPT_ERR_INVALID_HANDLE = 5,
    /// Key generation was asked for a size other than 2048, 3072 or 4096 bits.
    PARAMCRYPT_ERR_UNSUPPORTED_KEY_SIZE = 100,
    /// A key could not be parsed or encoded (malformed, not RSA, or not 2048
    /// to 4096 bits; 1024 bits only through a `*_with_sizes` loader).
    PARAMCRYPT_ERR_INVALID_KEY = 101,
    /// The random number generator failed.
    PARAMCRYPT_ERR_RNG = 102,
    /// The public key is too small for the chosen padding and mode
    /// (key:iv text under OAEP-SHA-256 needs more than 1024 bits).
    PARAMCRYPT_ERR_KEY_TOO_SMALL = 103,
    /// A saved server state could not be loaded (corrupted, of a server with
    /// another key pair, or of another format version); nothing of it was
    /// loaded.
    PARAMCRYPT_ERR_INVALID_STATE = 104,
    /// Client: the device presented a public key other than the pinned one;
    /// nothing secret was sent (`paramcrypt_client_error_message` names both
    /// fingerprints; `paramcrypt_client_repin` accepts the new key).
    PARAMCRYPT_ERR_PIN_MISMATCH = 105,
    /// Client: too many 40002 answers in a short time; no more encrypted
    /// calls until `paramcrypt_client_reset_failures` (a possible attack).
    PARAMCRYPT_ERR_FAILURE_BUDGET = 106,
    /// Client: the transport callback failed.
    PARAMCRYPT_ERR_TRANSPORT = 107,
    /// Client: the device answered a JSON-RPC error other than 40002
    /// (`paramcrypt_client_error_message` shows it).
    PARAMCRYPT_ERR_RPC = 108,
    /// Client: the device's answer is not what the protocol says.
    PARAMCRYPT_ERR_BAD_RESPONSE = 109,
    /// An internal error (a panic was caught at the boundary). Please report it.
    PARAMCRYPT_ERR_PANIC = 900,
    /// JSON-RPC 40002 "Encryption Failed": unwrapping or decrypting failed
    /// (bad base64, wrong length, bad padding, wrong key, ...). Deliberately
    /// carries no detail.
    PARAMCRYPT_ERR_ENCRYPTION_FAILED = PARAMCRYPT_ENCRYPTION_FAILED_CODE,
}

/// A `&'static CStr` of a `&'static str` constant, made at compile time.
macro_rules! c_str_of {
    ($text:expr) => {{
        const TEXT: &str = $text;
        const BYTES: [u8; TEXT.len() + 1] = nul_terminated(TEXT);
        match CStr::from_bytes_with_nul(&BYTES) {
            Ok(text) => text,
            Err(_) => panic!("a status message contains a NUL byte"),
        }
    }};
}

const fn nul_terminated<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

impl paramcrypt_status {
    /// Every status, for converting numbers that come from C.
    const ALL: [paramcrypt_status; 18] = [
        Self::PARAMCRYPT_OK,
        Self::PARAMCRYPT_ERR_NULL_ARGUMENT,
        Self::PARAMCRYPT_ERR_INVALID_ARGUMENT,
        Self::PARAMCRYPT_ERR_BUFFER_TOO_SMALL,
        Self::PARAMCRYPT_ERR_BUSY,
        Self::PARAMCRYPT_ERR_INVALID_HANDLE,
        Self::PARAMCRYPT_ERR_UNSUPPORTED_KEY_SIZE,
        Self::PARAMCRYPT_ERR_INVALID_KEY,
        Self::PARAMCRYPT_ERR_RNG,
        Self::PARAMCRYPT_ERR_KEY_TOO_SMALL,
        Self::PARAMCRYPT_ERR_INVALID_STATE,
        Self::PARAMCRYPT_ERR_PIN_MISMATCH,
        Self::PARAMCRYPT_ERR_FAILURE_BUDGET,
        Self::PARAMCRYPT_ERR_TRANSPORT,
        Self::PARAMCRYPT_ERR_RPC,
        Self::PARAMCRYPT_ERR_BAD_RESPONSE,
        Self::PARAMCRYPT_ERR_PANIC,
        Self::PARAMCRYPT_ERR_ENCRYPTION_FAILED,
    ];

    /// The status with this number, if there is one (values from C are
    /// checked, never transmuted).
    pub(crate) fn from_u32(value: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|status| *status as u32 == value)
    }

    /// The status's English description. Statuses that report a core error
    /// use that error's message; the others are C-only.
    pub(crate) const fn message(self) -> &'static CStr {
        match self {
            Self::PARAMCRYPT_OK => c"OK",
            Self::PARAMCRYPT_ERR_NULL_ARGUMENT => c"a required pointer argument was NULL",
            Self::PARAMCRYPT_ERR_INVALID_ARGUMENT => c"an argument is out of range",
            Self::PARAMCRYPT_ERR_BUFFER_TOO_SMALL => {
                c"output buffer too small (*out_len holds the size needed)"
            }
            Self::PARAMCRYPT_ERR_BUSY => c_str_of!(Error::Busy.message()),
            Self::PARAMCRYPT_ERR_INVALID_HANDLE => {
                c"invalid handle (another type, or already freed)"
            }
            Self::PARAMCRYPT_ERR_UNSUPPORTED_KEY_SIZE => {
                c_str_of!(Error::UnsupportedKeySize.message())
            }
            Self::PARAMCRYPT_ERR_INVALID_KEY => c_str_of!(Error::InvalidKey.message()),
            Self::PARAMCRYPT_ERR_RNG => c_str_of!(Error::Rng.message()),
            Self::PARAMCRYPT_ERR_KEY_TOO_SMALL => c_str_of!(Error::KeyTooSmall.message()),
            Self::PARAMCRYPT_ERR_INVALID_STATE => c_str_of!(Error::InvalidState.message()),
            Self::PARAMCRYPT_ERR_PIN_MISMATCH => {
                c"the device presented a public key other than the pinned one"
            }
            Self::PARAMCRYPT_ERR_FAILURE_BUDGET => {
                c"too many encryption failures: no more encrypted calls (possible attack)"
            }
            Self::PARAMCRYPT_ERR_TRANSPORT => c"the transport failed",
            Self::PARAMCRYPT_ERR_RPC => c"the device answered a JSON-RPC error",
            Self::PARAMCRYPT_ERR_BAD_RESPONSE => c"the device's answer is malformed",
            Self::PARAMCRYPT_ERR_PANIC => c"internal error (panic)",
            Self::PARAMCRYPT_ERR_ENCRYPTION_FAILED => {
                c_str_of!(ENCRYPTION_FAILED_MESSAGE)
            }
        }
    }
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
            Error::InvalidConfig | Error::TooLong => {
                paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT
            }
            Error::Busy => paramcrypt_status::PARAMCRYPT_ERR_BUSY,
            Error::InvalidState => paramcrypt_status::PARAMCRYPT_ERR_INVALID_STATE,
            // `Error` is non-exhaustive; a new variant needs its own status.
            _ => paramcrypt_status::PARAMCRYPT_ERR_PANIC,
        }
    }
}

// Enum values as C passes them: the header types these parameters and
// fields with the enum's name (cbindgen.toml renames the aliases), and the
// code checks the value against the enum instead of trusting it, since an
// out-of-range value in a Rust enum would be undefined behaviour.
/// A `paramcrypt_status` value from C.
pub type StatusValue = u32;
/// A `paramcrypt_padding` value from C.
pub type PaddingValue = u32;
/// A `paramcrypt_mode` value from C.
pub type ModeValue = u32;
/// A `paramcrypt_accepted_modes` value from C.
pub type AcceptedModesValue = u32;
/// A `paramcrypt_key_sizes` value from C.
pub type KeySizesValue = u32;

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

/// The encKey modes a server accepts (`paramcrypt_server_config.modes`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum paramcrypt_accepted_modes {
    /// Only `PARAMCRYPT_MODE_KEY_IV`, what deployed clients send. The default:
    /// an encKey made for another server key then always fails.
    PARAMCRYPT_ACCEPT_KEY_IV = 0,
    /// Only `PARAMCRYPT_MODE_PER_MESSAGE_IV`.
    PARAMCRYPT_ACCEPT_PER_MESSAGE_IV = 1,
    /// Both, told apart by the plaintext length (a stale encKey then
    /// unwraps about 1 time in 245 to a random key, which fails later).
    PARAMCRYPT_ACCEPT_BOTH = 2,
}

/// The core accepted modes of a `paramcrypt_accepted_modes` value from C.
pub(crate) fn accepted_modes_from_c(value: u32) -> Result<AcceptedModes, paramcrypt_status> {
    use paramcrypt_accepted_modes as C;
    [
        (C::PARAMCRYPT_ACCEPT_KEY_IV, AcceptedModes::KeyIv),
        (
            C::PARAMCRYPT_ACCEPT_PER_MESSAGE_IV,
            AcceptedModes::PerMessageIv,
        ),
        (C::PARAMCRYPT_ACCEPT_BOTH, AcceptedModes::Both),
    ]
    .into_iter()
    .find(|(c, _)| *c as u32 == value)
    .map(|(_, modes)| modes)
    .ok_or(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT)
}

/// Which key sizes a loaded key may have (the `*_with_sizes` loaders).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum paramcrypt_key_sizes {
    /// 2048 to 4096 bits, what the plain loaders accept.
    PARAMCRYPT_KEY_SIZES_MODERN = 0,
    /// 1024 to 4096 bits: an explicit opt-in, only to talk to legacy peers
    /// whose keys are 1024-bit. 1024-bit RSA is weak.
    PARAMCRYPT_KEY_SIZES_ALLOW_LEGACY_1024 = 1,
}

/// The core key sizes of a `paramcrypt_key_sizes` value from C.
pub(crate) fn key_sizes_from_c(value: u32) -> Result<KeySizes, paramcrypt_status> {
    use paramcrypt_key_sizes as C;
    [
        (C::PARAMCRYPT_KEY_SIZES_MODERN, KeySizes::Modern),
        (
            C::PARAMCRYPT_KEY_SIZES_ALLOW_LEGACY_1024,
            KeySizes::AllowLegacy1024,
        ),
    ]
    .into_iter()
    .find(|(c, _)| *c as u32 == value)
    .map(|(_, sizes)| sizes)
    .ok_or(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT)
}

/// The core padding of a `paramcrypt_padding` value from C.
pub(crate) fn padding_from_c(value: u32) -> Result<Padding, paramcrypt_status> {
    use paramcrypt_padding as C;
    const PKCS1V15: u32 = C::PARAMCRYPT_PADDING_PKCS1V15 as u32;
    #[cfg(feature = "oaep")]
    const OAEP_SHA1: u32 = C::PARAMCRYPT_PADDING_OAEP_SHA1 as u32;
    #[cfg(feature = "oaep")]
    const OAEP_SHA256: u32 = C::PARAMCRYPT_PADDING_OAEP_SHA256 as u32;
    match value {
        PKCS1V15 => Ok(Padding::Pkcs1v15),
        #[cfg(feature = "oaep")]
        OAEP_SHA1 => Ok(Padding::OaepSha1),
        #[cfg(feature = "oaep")]
        OAEP_SHA256 => Ok(Padding::OaepSha256),
        _ => Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT),
    }
}

/// The core mode of a `paramcrypt_mode` value from C.
pub(crate) fn mode_from_c(value: u32) -> Result<Mode, paramcrypt_status> {
    [Mode::KeyIv, Mode::PerMessageIv]
        .into_iter()
        .find(|mode| mode_to_c(*mode) as u32 == value)
        .ok_or(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT)
}

/// The C value of a core mode.
pub(crate) fn mode_to_c(mode: Mode) -> paramcrypt_mode {
    match mode {
        Mode::KeyIv => paramcrypt_mode::PARAMCRYPT_MODE_KEY_IV,
        Mode::PerMessageIv => paramcrypt_mode::PARAMCRYPT_MODE_PER_MESSAGE_IV,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_c_map_back_to_their_status() {
        for status in paramcrypt_status::ALL {
            assert_eq!(paramcrypt_status::from_u32(status as u32), Some(status));
        }
        for unknown in [6, 99, 110, 899, 901, 40001, 40003, u32::MAX] {
            assert_eq!(paramcrypt_status::from_u32(unknown), None);
        }
    }

    #[test]
    fn messages_come_from_the_core_where_the_core_has_one() {
        assert_eq!(
            paramcrypt_status::PARAMCRYPT_ERR_ENCRYPTION_FAILED.message(),
            c"Encryption Failed"
        );
        for error in [
            Error::UnsupportedKeySize,
            Error::InvalidKey,
            Error::Rng,
            Error::KeyTooSmall,
            Error::EncryptionFailed,
            Error::Busy,
            Error::InvalidState,
        ] {
            let status = paramcrypt_status::from(error);
            assert_eq!(status.message().to_str(), Ok(error.message()));
        }
    }

    #[test]
    fn padding_and_mode_values_round_trip() {
        assert_eq!(padding_from_c(0), Ok(Padding::Pkcs1v15));
        assert_eq!(
            padding_from_c(3),
            Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT)
        );
        for mode in [Mode::KeyIv, Mode::PerMessageIv] {
            assert_eq!(mode_from_c(mode_to_c(mode) as u32), Ok(mode));
        }
        assert_eq!(
            mode_from_c(2),
            Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT)
        );
        assert_eq!(accepted_modes_from_c(2), Ok(AcceptedModes::Both));
        assert_eq!(
            accepted_modes_from_c(3),
            Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT)
        );
    }
}

//! What the library says about itself: its version and the text of a status.

use core::ffi::c_char;

use crate::boundary::guard;
use crate::status::paramcrypt_status;

/// A static, NUL-terminated English description of `status` (any value,
/// including unknown ones). Never NULL; never to be freed. Thread-safe.
///
/// For `PARAMCRYPT_ERR_ENCRYPTION_FAILED` it is exactly the JSON-RPC message
/// `PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE` ("Encryption Failed").
#[unsafe(no_mangle)]
pub extern "C" fn paramcrypt_status_message(status: u32) -> *const c_char {
    guard(|| {
        paramcrypt_status::from_u32(status)
            .map_or(c"unknown status", paramcrypt_status::message)
            .as_ptr()
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

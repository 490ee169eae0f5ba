//! What the library says about itself: its version and the text of a status.

use core::ffi::c_char;

use crate::boundary::guard;
use crate::status::{StatusValue, paramcrypt_status};

/// A static, NUL-terminated English description of `status` (any value,
/// including unknown ones). Never NULL; never to be freed. Thread-safe.
///
/// For `PARAMCRYPT_ERR_ENCRYPTION_FAILED` it is exactly the JSON-RPC message
/// `PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE` ("Encryption Failed").
#[unsafe(no_mangle)]
pub extern "C" fn paramcrypt_status_message(status: StatusValue) -> *const c_char {
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
        // The bytes in a static of their own, not a string literal: the
        // firmware link then keeps them without the merged section of
        // every other string.
        const TEXT: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();
        static VERSION: [u8; TEXT.len()] = {
            let mut bytes = [0u8; TEXT.len()];
            let mut i = 0;
            while i < TEXT.len() {
                bytes[i] = TEXT[i];
                i += 1;
            }
            bytes
        };
        VERSION.as_ptr().cast()
    })
}

/// The backend that runs the RSA private-key operation (unwrap) in this
/// build, a static NUL-terminated string: `"aws-lc"` (server builds on
/// x86-64 and aarch64 Linux and macOS, the default), `"rsa-crate"` (the Rust
/// `rsa` crate's arithmetic: server builds on other targets) or
/// `"compact"` (paramcrypt's own compact RSA: firmware builds, without the
/// `rsa-crate` feature). It says which randomness blinds unwraps: AWS-LC's
/// own generator (seeded by the OS; the `rng` callbacks of
/// `paramcrypt_keypair_unwrap_with_rng` and `paramcrypt_server_open_with_rng`
/// are not called), or the callback (or OS RNG) with the other two. Never
/// NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn paramcrypt_rsa_backend() -> *const c_char {
    guard(|| match paramcrypt_core::RSA_BACKEND.as_bytes() {
        b"aws-lc" => c"aws-lc".as_ptr(),
        b"compact" => c"compact".as_ptr(),
        _ => c"rsa-crate".as_ptr(),
    })
}

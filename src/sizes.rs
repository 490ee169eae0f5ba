//! Sizes: how long an encKey and a parameter's wire value are, and a buffer
//! size that always holds a plaintext. Last in the header.

use paramcrypt_core::Session;

use crate::boundary::{borrow, guard};
use crate::handles::paramcrypt_public_key;
use crate::status::{ModeValue, mode_from_c};

/// The exact length of an `encKey` wrapped for this public key (base64 of one
/// RSA block: 344 bytes for 2048 bits); 0 for NULL. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_wrapped_len(
    public_key: *const paramcrypt_public_key,
) -> usize {
    // SAFETY: the caller upholds the module's pointer rules.
    guard(|| {
        unsafe { borrow(public_key) }
            .ok()
            .and_then(|k| Session::wrapped_len(k.0.size()).ok())
            .unwrap_or(0)
    })
}

/// The exact length of the base64 wire value of a `plaintext_len`-byte
/// parameter in `mode` (a `paramcrypt_mode` value); 0 for an unknown mode or
/// a length whose wire value would exceed `PTRDIFF_MAX`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn paramcrypt_encrypted_len(mode: ModeValue, plaintext_len: usize) -> usize {
    guard(|| {
        mode_from_c(mode)
            .ok()
            .and_then(|mode| Session::encrypted_len(mode, plaintext_len).ok())
            .unwrap_or(0)
    })
}

/// A buffer size always large enough for the plaintext of a `text_len`-byte
/// wire value (`text_len / 4 * 3`). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn paramcrypt_decrypted_max_len(text_len: usize) -> usize {
    guard(|| Session::decrypted_max_len(text_len))
}

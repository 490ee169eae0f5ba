//! Sessions (common keys): creation, wrapping into `encKey`, and secret
//! parameter encryption and decryption. (A server gets its sessions from
//! `paramcrypt_keypair_unwrap`, in keypair.rs.)

use core::ffi::c_void;

use paramcrypt_core::{Error, Session};

use crate::boundary::{
    borrow, copy_out, guard, guard_status, handle_slot, output, put, release, report, with_buffers,
};
use crate::handles::{paramcrypt_public_key, paramcrypt_session};
use crate::rng::{FfiRng, paramcrypt_rng_callback};
use crate::status::{
    ModeValue, PaddingValue, mode_from_c, mode_to_c, padding_from_c, paramcrypt_mode,
    paramcrypt_status,
};

unsafe fn new_session(
    rng: &mut FfiRng,
    mode: ModeValue,
    out: *mut *mut paramcrypt_session,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let slot = unsafe { handle_slot(out) }?;
    put(
        slot,
        paramcrypt_session(Session::new_with_rng(rng, mode_from_c(mode)?)?),
    );
    Ok(())
}

/// Client side: makes a fresh common key (random AES-128 key and IV from the
/// OS RNG) in `mode` (a `paramcrypt_mode` value) and stores a new handle in
/// `*out`. Errors: `PARAMCRYPT_ERR_INVALID_ARGUMENT` (unknown mode),
/// `PARAMCRYPT_ERR_RNG`, `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_session_new(
    mode: ModeValue,
    out: *mut *mut paramcrypt_session,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe { new_session(&mut FfiRng::os(), mode, out) })
}

/// Like `paramcrypt_session_new`, with randomness from `rng(user, buf, len)`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_session_new_with_rng(
    mode: ModeValue,
    rng: paramcrypt_rng_callback,
    user: *mut c_void,
    out: *mut *mut paramcrypt_session,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| {
        FfiRng::callback(rng, user).and_then(|mut rng| unsafe { new_session(&mut rng, mode, out) })
    })
}

/// Writes the session's IV mode (a `paramcrypt_mode` value) to `*out_mode`.
/// Errors: `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_session_mode(
    session: *const paramcrypt_session,
    out_mode: *mut paramcrypt_mode,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the module's pointer rules.
        let (session, out_mode) = unsafe { (borrow(session)?, out_mode.as_mut()) };
        *out_mode.ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)? =
            mode_to_c(session.0.mode());
        Ok(())
    })
}

unsafe fn wrap(
    rng: &mut FfiRng,
    session: *const paramcrypt_session,
    public_key: *const paramcrypt_public_key,
    padding: PaddingValue,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let (session, public_key, (out, out_len)) = unsafe {
        (
            borrow(session)?,
            borrow(public_key)?,
            output(out, out_cap, out_len)?,
        )
    };
    let padding = padding_from_c(padding)?;
    // Size check first: RSA encryption is the expensive part.
    let needed = Session::wrapped_len(public_key.0.size())?;
    if out.len() < needed {
        return report(Err(Error::BufferTooSmall { needed }), out_len);
    }
    copy_out(
        session
            .0
            .wrap_with_rng(rng, &public_key.0, padding)?
            .as_bytes(),
        out,
        out_len,
    )
}

/// Client side: wraps the session's common key for `public_key` into the
/// base64 `encKey`. Uses the OS RNG. Thread-safe.
///
/// @param session     the client's session (`paramcrypt_session_new`)
/// @param public_key  the device's public key (its getPublicKey value)
/// @param padding     a `paramcrypt_padding`: what the device expects
/// @param out         receives `encKey` (not NUL-terminated), `out_cap` bytes;
///                    it is exactly `paramcrypt_public_key_wrapped_len(public_key)`
/// @param out_len     receives its length, on `PARAMCRYPT_OK` only
/// @return `PARAMCRYPT_OK`; `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` =
///         the size needed), `PARAMCRYPT_ERR_INVALID_ARGUMENT` (unknown
///         padding), `PARAMCRYPT_ERR_KEY_TOO_SMALL`, `PARAMCRYPT_ERR_RNG`,
///         `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_session_wrap(
    session: *const paramcrypt_session,
    public_key: *const paramcrypt_public_key,
    padding: PaddingValue,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe {
        wrap(
            &mut FfiRng::os(),
            session,
            public_key,
            padding,
            out,
            out_cap,
            out_len,
        )
    })
}

/// Like `paramcrypt_session_wrap`, with randomness from `rng(user, buf, len)`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_session_wrap_with_rng(
    session: *const paramcrypt_session,
    public_key: *const paramcrypt_public_key,
    padding: PaddingValue,
    rng: paramcrypt_rng_callback,
    user: *mut c_void,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    guard_status(|| {
        let mut rng = FfiRng::callback(rng, user)?;
        // SAFETY: the caller upholds the module's pointer rules.
        unsafe {
            wrap(
                &mut rng, session, public_key, padding, out, out_cap, out_len,
            )
        }
    })
}

unsafe fn encrypt(
    rng: &mut FfiRng,
    session: *const paramcrypt_session,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    unsafe {
        with_buffers(
            session,
            plaintext,
            plaintext_len,
            out,
            out_cap,
            out_len,
            |s, pt, out| s.0.encrypt_into(rng, pt, out),
        )
    }
}

/// Encrypts a secret parameter (UTF-8 text or any bytes) into its base64
/// wire value. In per-message-IV mode a fresh IV comes from the OS RNG.
/// Thread-safe.
///
/// @param session     a client session, or one from `paramcrypt_keypair_unwrap`
/// @param plaintext   the secret, `plaintext_len` bytes
/// @param out         receives the wire value (not NUL-terminated), `out_cap`
///                    bytes; it is exactly `paramcrypt_encrypted_len(mode,
///                    plaintext_len)`
/// @param out_len     receives its length, on `PARAMCRYPT_OK` only
/// @return `PARAMCRYPT_OK`; `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` =
///         the size needed), `PARAMCRYPT_ERR_RNG`, `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_session_encrypt(
    session: *const paramcrypt_session,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe {
        encrypt(
            &mut FfiRng::os(),
            session,
            plaintext,
            plaintext_len,
            out,
            out_cap,
            out_len,
        )
    })
}

/// Like `paramcrypt_session_encrypt`, with per-message IVs from
/// `rng(user, buf, len)` (unused in key:iv mode).
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_session_encrypt_with_rng(
    session: *const paramcrypt_session,
    plaintext: *const u8,
    plaintext_len: usize,
    rng: paramcrypt_rng_callback,
    user: *mut c_void,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    guard_status(|| {
        let mut rng = FfiRng::callback(rng, user)?;
        // SAFETY: the caller upholds the module's pointer rules.
        unsafe {
            encrypt(
                &mut rng,
                session,
                plaintext,
                plaintext_len,
                out,
                out_cap,
                out_len,
            )
        }
    })
}

/// Decrypts a secret parameter's base64 wire value (CR/LF tolerated) and
/// writes the plaintext bytes to `out` (no NUL added). `out_cap` must be at
/// least the ciphertext length minus one; `paramcrypt_decrypted_max_len(text_len)`
/// is always enough. The size is checked from `text_len` before anything is
/// decoded, so it reveals nothing about the padding. Secret: wipe `out`
/// after use. On failure `out` holds no plaintext (what was written is
/// wiped), and `*out_len` is a data length only on `PARAMCRYPT_OK`.
///
/// Errors: `PARAMCRYPT_ERR_ENCRYPTION_FAILED` (40002) for every bad value,
/// whatever the cause; `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` = size
/// needed), `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_session_decrypt(
    session: *const paramcrypt_session,
    text: *const u8,
    text_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        with_buffers(
            session,
            text,
            text_len,
            out,
            out_cap,
            out_len,
            |s, text, out| s.0.decrypt_into(text, out),
        )
    })
}

/// Releases a session and wipes its key and IV. NULL is a no-op. The handle
/// must not be in use by another thread, nor used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_session_free(session: *mut paramcrypt_session) {
    // SAFETY: the caller hands back a handle it no longer uses.
    guard(|| unsafe { release(session) })
}

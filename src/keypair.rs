//! Key pairs (the server's): generation, import and export, and unwrapping
//! a client's `encKey` into a session.

use core::ffi::c_void;

use paramcrypt_core::{KeyPair, KeySizes};

use crate::boundary::{
    borrow, copy_out, guard, guard_status, handle_slot, input, output, put, release,
};
use crate::handles::{paramcrypt_keypair, paramcrypt_public_key, paramcrypt_session};
use crate::rng::{FfiRng, paramcrypt_rng_callback};
use crate::status::{
    KeySizesValue, PaddingValue, key_sizes_from_c, padding_from_c, paramcrypt_status,
};

unsafe fn generate(
    rng: &mut FfiRng,
    bits: usize,
    out: *mut *mut paramcrypt_keypair,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let slot = unsafe { handle_slot(out) }?;
    put(
        slot,
        paramcrypt_keypair(KeyPair::generate_with_rng(rng, bits)?),
    );
    Ok(())
}

/// Generates an RSA key pair of `bits` bits (2048, 3072 or 4096) with the
/// OS RNG, and stores a new handle in `*out`.
///
/// Slow on small CPUs (seconds for 2048 bits): generate once, then store the
/// key with `paramcrypt_keypair_to_pkcs8_pem`. Errors:
/// `PARAMCRYPT_ERR_UNSUPPORTED_KEY_SIZE`, `PARAMCRYPT_ERR_RNG` (also in builds
/// without an OS RNG: use `paramcrypt_keypair_generate_with_rng`),
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_generate(
    bits: usize,
    out: *mut *mut paramcrypt_keypair,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe { generate(&mut FfiRng::os(), bits, out) })
}

/// Like `paramcrypt_keypair_generate`, with randomness from `rng(user, buf, len)`
/// (a hardware RNG). A non-zero return from `rng` ends in `PARAMCRYPT_ERR_RNG`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_generate_with_rng(
    bits: usize,
    rng: paramcrypt_rng_callback,
    user: *mut c_void,
    out: *mut *mut paramcrypt_keypair,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| {
        FfiRng::callback(rng, user).and_then(|mut rng| unsafe { generate(&mut rng, bits, out) })
    })
}

unsafe fn load_keypair(
    data: *const u8,
    len: usize,
    sizes: KeySizes,
    out: *mut *mut paramcrypt_keypair,
    parse: fn(&[u8], KeySizes) -> Result<KeyPair, paramcrypt_status>,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let (data, slot) = unsafe { (input(data, len)?, handle_slot(out)?) };
    put(slot, paramcrypt_keypair(parse(data, sizes)?));
    Ok(())
}

fn keypair_from_pem(pem: &[u8], sizes: KeySizes) -> Result<KeyPair, paramcrypt_status> {
    let pem =
        core::str::from_utf8(pem).map_err(|_| paramcrypt_status::PARAMCRYPT_ERR_INVALID_KEY)?;
    Ok(KeyPair::from_pem_with(pem, sizes)?)
}

fn keypair_from_pkcs8_der(der: &[u8], sizes: KeySizes) -> Result<KeyPair, paramcrypt_status> {
    Ok(KeyPair::from_pkcs8_der_with(der, sizes)?)
}

/// Loads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
/// (`BEGIN RSA PRIVATE KEY`), 2048 to 4096 bits, and stores a new handle in
/// `*out`. Thread-safe.
///
/// @param pem         the PEM text, `pem_len` bytes (no NUL needed)
/// @param out         receives the key pair; free it with
///                    `paramcrypt_keypair_free`
/// @return `PARAMCRYPT_OK`; `PARAMCRYPT_ERR_INVALID_KEY` (also for a 1024-bit
///         key: see `paramcrypt_keypair_from_pem_with_sizes`),
///         `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_from_pem(
    pem: *const u8,
    pem_len: usize,
    out: *mut *mut paramcrypt_keypair,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { load_keypair(pem, pem_len, KeySizes::Modern, out, keypair_from_pem) })
}

/// Like `paramcrypt_keypair_from_pem`, with the key sizes `sizes` (a
/// `paramcrypt_key_sizes` value) allows: `PARAMCRYPT_KEY_SIZES_ALLOW_LEGACY_1024`
/// is the explicit opt-in for a legacy device's 1024-bit key.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_from_pem_with_sizes(
    pem: *const u8,
    pem_len: usize,
    sizes: KeySizesValue,
    out: *mut *mut paramcrypt_keypair,
) -> paramcrypt_status {
    guard_status(|| {
        let sizes = key_sizes_from_c(sizes)?;
        // SAFETY: the caller upholds the crate's pointer rules.
        unsafe { load_keypair(pem, pem_len, sizes, out, keypair_from_pem) }
    })
}

/// Loads an unencrypted PKCS#8 DER private key (2048 to 4096 bits) and stores
/// a new handle in `*out`. Errors: `PARAMCRYPT_ERR_INVALID_KEY`,
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_from_pkcs8_der(
    der: *const u8,
    der_len: usize,
    out: *mut *mut paramcrypt_keypair,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        load_keypair(der, der_len, KeySizes::Modern, out, keypair_from_pkcs8_der)
    })
}

/// Like `paramcrypt_keypair_from_pkcs8_der`, with the key sizes `sizes`
/// allows (see `paramcrypt_keypair_from_pem_with_sizes`).
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_from_pkcs8_der_with_sizes(
    der: *const u8,
    der_len: usize,
    sizes: KeySizesValue,
    out: *mut *mut paramcrypt_keypair,
) -> paramcrypt_status {
    guard_status(|| {
        let sizes = key_sizes_from_c(sizes)?;
        // SAFETY: the caller upholds the crate's pointer rules.
        unsafe { load_keypair(der, der_len, sizes, out, keypair_from_pkcs8_der) }
    })
}

/// Writes the private key as PKCS#8 PEM text (`BEGIN PRIVATE KEY`, LF line
/// endings, not NUL-terminated) to `out`. Secret: store it with restrictive
/// permissions and wipe the buffer after use. Errors:
/// `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` = size needed),
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_to_pkcs8_pem(
    keypair: *const paramcrypt_keypair,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the module's pointer rules.
        let (keypair, (out, out_len)) =
            unsafe { (borrow(keypair)?, output(out, out_cap, out_len)?) };
        copy_out(keypair.0.to_pkcs8_pem()?.as_bytes(), out, out_len)
    })
}

/// Writes the private key as unencrypted PKCS#8 DER to `out`. Secret, as for
/// `paramcrypt_keypair_to_pkcs8_pem`; same errors. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_to_pkcs8_der(
    keypair: *const paramcrypt_keypair,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the module's pointer rules.
        let (keypair, (out, out_len)) =
            unsafe { (borrow(keypair)?, output(out, out_cap, out_len)?) };
        copy_out(&keypair.0.to_pkcs8_der()?, out, out_len)
    })
}

/// The modulus size of the key pair in bits; 0 for NULL. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_bits(keypair: *const paramcrypt_keypair) -> usize {
    // SAFETY: the caller upholds the module's pointer rules.
    guard(|| unsafe { borrow(keypair) }.map(|k| k.0.bits()).unwrap_or(0))
}

/// Stores a new handle to the key pair's public key in `*out` (release it with
/// `paramcrypt_public_key_free`). Errors: `PARAMCRYPT_ERR_NULL_ARGUMENT`.
/// Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_public_key(
    keypair: *const paramcrypt_keypair,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the module's pointer rules.
        let (keypair, slot) = unsafe { (borrow(keypair)?, handle_slot(out)?) };
        put(slot, paramcrypt_public_key(keypair.0.public_key().clone()));
        Ok(())
    })
}

/// Releases a key pair and wipes its private key. NULL is a no-op. The handle
/// must not be in use by another thread, nor used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_free(keypair: *mut paramcrypt_keypair) {
    // SAFETY: the caller hands back a handle it no longer uses.
    guard(|| unsafe { release(keypair) })
}

unsafe fn unwrap(
    rng: &mut FfiRng,
    keypair: *const paramcrypt_keypair,
    enc_key: *const u8,
    enc_key_len: usize,
    padding: PaddingValue,
    out: *mut *mut paramcrypt_session,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let (keypair, enc_key, slot) = unsafe {
        (
            borrow(keypair)?,
            input(enc_key, enc_key_len)?,
            handle_slot(out)?,
        )
    };
    let padding = padding_from_c(padding)?;
    put(
        slot,
        paramcrypt_session(keypair.0.unwrap_with_rng(rng, enc_key, padding)?),
    );
    Ok(())
}

/// Server side: unwraps a base64 `encKey` (CR/LF tolerated, no NUL needed)
/// with the key pair under the server's configured `padding` (a
/// `paramcrypt_padding` value; never try several), detecting the mode from
/// the plaintext, and stores a new session handle in `*out`. Uses the OS RNG
/// for RSA blinding.
///
/// Thread-safe: many threads may unwrap with one key pair at once. A server
/// should use `paramcrypt_server_open`, which adds the cache and the
/// failure policy.
///
/// @param keypair     the device's key pair
/// @param enc_key     the request's `encKey`, `enc_key_len` bytes
/// @param padding     the server's padding (a `paramcrypt_padding`)
/// @param out         receives the session; free it with
///                    `paramcrypt_session_free`
/// @return `PARAMCRYPT_OK`; `PARAMCRYPT_ERR_ENCRYPTION_FAILED` (40002) for
///         every bad `encKey`, whatever the cause;
///         `PARAMCRYPT_ERR_INVALID_ARGUMENT` (unknown padding),
///         `PARAMCRYPT_ERR_RNG`, `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_unwrap(
    keypair: *const paramcrypt_keypair,
    enc_key: *const u8,
    enc_key_len: usize,
    padding: PaddingValue,
    out: *mut *mut paramcrypt_session,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe {
        unwrap(
            &mut FfiRng::os(),
            keypair,
            enc_key,
            enc_key_len,
            padding,
            out,
        )
    })
}

/// Like `paramcrypt_keypair_unwrap`, with blinding randomness from
/// `rng(user, buf, len)`: in builds on the `rsa-crate` or `compact` RSA
/// backend (`paramcrypt_rsa_backend()`; firmware builds are `compact`). Server builds with
/// AWS-LC (the default on x86-64 and aarch64 Linux and macOS) blind with
/// AWS-LC's own generator, seeded by the OS, and do not call `rng` for
/// any encKey (the ciphertexts 0 and 1, which AWS-LC refuses, included).
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_unwrap_with_rng(
    keypair: *const paramcrypt_keypair,
    enc_key: *const u8,
    enc_key_len: usize,
    padding: PaddingValue,
    rng: paramcrypt_rng_callback,
    user: *mut c_void,
    out: *mut *mut paramcrypt_session,
) -> paramcrypt_status {
    guard_status(|| {
        let mut rng = FfiRng::callback(rng, user)?;
        // SAFETY: the caller upholds the module's pointer rules.
        unsafe { unwrap(&mut rng, keypair, enc_key, enc_key_len, padding, out) }
    })
}

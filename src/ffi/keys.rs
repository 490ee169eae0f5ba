//! Key pairs and public keys.

use core::ffi::c_void;

use super::boundary::{
    borrow, copy_out, guard, guard_status, handle_slot, input, output, put, release,
};
use super::handles::{paramcrypt_keypair, paramcrypt_public_key};
use super::rng::{FfiRng, paramcrypt_rng_callback};
use super::status::paramcrypt_status;
use crate::{KeyPair, PublicKey, Session};

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

/// Generates an RSA key pair of `bits` bits (1024, 2048, 3072 or 4096) with the
/// OS RNG, and stores a new handle in `*out`.
///
/// Slow on small CPUs (seconds for 2048 bits): generate once, then store the
/// key with `paramcrypt_keypair_to_pkcs8_pem`. Errors:
/// `PARAMCRYPT_ERR_UNSUPPORTED_KEY_SIZE`, `PARAMCRYPT_ERR_RNG` (also in builds
/// without an OS RNG: use `paramcrypt_keypair_generate_with_rng`),
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
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

/// Loads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
/// (`BEGIN RSA PRIVATE KEY`), 1024 to 4096 bits, and stores a new handle in
/// `*out`. `pem` need not be NUL-terminated. Errors: `PARAMCRYPT_ERR_INVALID_KEY`,
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_from_pem(
    pem: *const u8,
    pem_len: usize,
    out: *mut *mut paramcrypt_keypair,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the module's pointer rules.
        let (pem, slot) = unsafe { (input(pem, pem_len)?, handle_slot(out)?) };
        let pem =
            core::str::from_utf8(pem).map_err(|_| paramcrypt_status::PARAMCRYPT_ERR_INVALID_KEY)?;
        put(slot, paramcrypt_keypair(KeyPair::from_pem(pem)?));
        Ok(())
    })
}

/// Loads an unencrypted PKCS#8 DER private key (1024 to 4096 bits) and stores
/// a new handle in `*out`. Errors: `PARAMCRYPT_ERR_INVALID_KEY`,
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_keypair_from_pkcs8_der(
    der: *const u8,
    der_len: usize,
    out: *mut *mut paramcrypt_keypair,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the module's pointer rules.
        let (der, slot) = unsafe { (input(der, der_len)?, handle_slot(out)?) };
        put(slot, paramcrypt_keypair(KeyPair::from_pkcs8_der(der)?));
        Ok(())
    })
}

/// Writes the private key as PKCS#8 PEM text (`BEGIN PRIVATE KEY`, LF line
/// endings, not NUL-terminated) to `out`. Secret: store it with restrictive
/// permissions and wipe the buffer after use. Errors:
/// `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` = size needed),
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
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

unsafe fn load_public(
    data: *const u8,
    len: usize,
    out: *mut *mut paramcrypt_public_key,
    parse: fn(&[u8]) -> Result<PublicKey, paramcrypt_status>,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let (data, slot) = unsafe { (input(data, len)?, handle_slot(out)?) };
    put(slot, paramcrypt_public_key(parse(data)?));
    Ok(())
}

fn utf8(data: &[u8]) -> Result<&str, paramcrypt_status> {
    core::str::from_utf8(data).map_err(|_| paramcrypt_status::PARAMCRYPT_ERR_INVALID_KEY)
}

/// Parses the `getPublicKey` value (base64 of the DER SubjectPublicKeyInfo;
/// CR/LF line breaks tolerated) and stores a new handle in `*out`. Errors:
/// `PARAMCRYPT_ERR_INVALID_KEY`, `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_base64(
    text: *const u8,
    text_len: usize,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe {
        load_public(text, text_len, out, |d| {
            Ok(PublicKey::from_base64(utf8(d)?)?)
        })
    })
}

/// Parses a PEM public key (`BEGIN PUBLIC KEY`); otherwise as
/// `paramcrypt_public_key_from_base64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_pem(
    pem: *const u8,
    pem_len: usize,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe {
        load_public(pem, pem_len, out, |d| Ok(PublicKey::from_pem(utf8(d)?)?))
    })
}

/// Parses a DER SubjectPublicKeyInfo; otherwise as
/// `paramcrypt_public_key_from_base64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_der(
    der: *const u8,
    der_len: usize,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe { load_public(der, der_len, out, |d| Ok(PublicKey::from_der(d)?)) })
}

unsafe fn export_public(
    public_key: *const paramcrypt_public_key,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    encode: fn(&PublicKey) -> crate::Result<alloc::vec::Vec<u8>>,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let (public_key, (out, out_len)) =
        unsafe { (borrow(public_key)?, output(out, out_cap, out_len)?) };
    copy_out(&encode(&public_key.0)?, out, out_len)
}

/// Writes the `getPublicKey` value: standard base64 of the DER
/// SubjectPublicKeyInfo, no line breaks, not NUL-terminated (392 bytes for
/// 2048 bits). Errors: `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` = size
/// needed), `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_to_base64(
    public_key: *const paramcrypt_public_key,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe {
        export_public(public_key, out, out_cap, out_len, |k| {
            Ok(k.to_base64()?.into_bytes())
        })
    })
}

/// Writes the public key as PEM (`BEGIN PUBLIC KEY`, LF line endings, not
/// NUL-terminated); otherwise as `paramcrypt_public_key_to_base64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_to_pem(
    public_key: *const paramcrypt_public_key,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe {
        export_public(public_key, out, out_cap, out_len, |k| {
            Ok(k.to_pem()?.into_bytes())
        })
    })
}

/// Writes the DER SubjectPublicKeyInfo; otherwise as
/// `paramcrypt_public_key_to_base64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_to_der(
    public_key: *const paramcrypt_public_key,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe { export_public(public_key, out, out_cap, out_len, PublicKey::to_der) })
}

/// The modulus size of the public key in bits; 0 for NULL. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_bits(
    public_key: *const paramcrypt_public_key,
) -> usize {
    // SAFETY: the caller upholds the module's pointer rules.
    guard(|| {
        unsafe { borrow(public_key) }
            .map(|k| k.0.bits())
            .unwrap_or(0)
    })
}

/// The exact length of an `encKey` wrapped for this public key (base64 of one
/// RSA block: 344 bytes for 2048 bits); 0 for NULL. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_wrapped_len(
    public_key: *const paramcrypt_public_key,
) -> usize {
    // SAFETY: the caller upholds the module's pointer rules.
    guard(|| {
        unsafe { borrow(public_key) }
            .map(|k| Session::wrapped_len(k.0.size()))
            .unwrap_or(0)
    })
}

/// Releases a public key. NULL is a no-op. The handle must not be in use by
/// another thread, nor used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_free(public_key: *mut paramcrypt_public_key) {
    // SAFETY: the caller hands back a handle it no longer uses.
    guard(|| unsafe { release(public_key) })
}

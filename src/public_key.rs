//! Public keys (what `getPublicKey` returns and clients wrap to): import
//! and export.

use paramcrypt_core::{KeySizes, PublicKey};

use crate::boundary::{
    borrow, copy_out, guard, guard_status, handle_slot, input, output, put, release, report,
};
use crate::handles::paramcrypt_public_key;
use crate::status::{KeySizesValue, key_sizes_from_c, paramcrypt_status};

unsafe fn load_public(
    data: *const u8,
    len: usize,
    sizes: KeySizes,
    out: *mut *mut paramcrypt_public_key,
    parse: fn(&[u8], KeySizes) -> Result<PublicKey, paramcrypt_status>,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let (data, slot) = unsafe { (input(data, len)?, handle_slot(out)?) };
    put(slot, paramcrypt_public_key(parse(data, sizes)?));
    Ok(())
}

/// `load_public` with a `paramcrypt_key_sizes` value from C.
unsafe fn load_public_with_sizes(
    data: *const u8,
    len: usize,
    sizes: KeySizesValue,
    out: *mut *mut paramcrypt_public_key,
    parse: fn(&[u8], KeySizes) -> Result<PublicKey, paramcrypt_status>,
) -> Result<(), paramcrypt_status> {
    let sizes = key_sizes_from_c(sizes)?;
    // SAFETY: forwarded from the exported function's contract.
    unsafe { load_public(data, len, sizes, out, parse) }
}

fn utf8(data: &[u8]) -> Result<&str, paramcrypt_status> {
    core::str::from_utf8(data).map_err(|_| paramcrypt_status::PARAMCRYPT_ERR_INVALID_KEY)
}

fn from_base64(data: &[u8], sizes: KeySizes) -> Result<PublicKey, paramcrypt_status> {
    Ok(PublicKey::from_base64_with(utf8(data)?, sizes)?)
}

fn from_pem(data: &[u8], sizes: KeySizes) -> Result<PublicKey, paramcrypt_status> {
    Ok(PublicKey::from_pem_with(utf8(data)?, sizes)?)
}

fn from_der(data: &[u8], sizes: KeySizes) -> Result<PublicKey, paramcrypt_status> {
    Ok(PublicKey::from_der_with(data, sizes)?)
}

fn from_published(data: &[u8], sizes: KeySizes) -> Result<PublicKey, paramcrypt_status> {
    Ok(PublicKey::from_published_with(data, sizes)?)
}

/// Parses a public key in any form devices and their documentation publish
/// and stores a new handle in `*out`: base64 of the DER
/// SubjectPublicKeyInfo (the `getPublicKey` value), PEM (`PUBLIC KEY` or
/// PKCS#1 `RSA PUBLIC KEY`), base64 of a DER PKCS#1 RSAPublicKey, or the
/// OpenSSH wire form (`ssh-rsa`, e, n; base64, with or without the
/// `ssh-rsa ` prefix and a comment). Every form gets the checks of
/// `paramcrypt_public_key_from_der`. Errors: `PARAMCRYPT_ERR_INVALID_KEY`,
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_published(
    text: *const u8,
    text_len: usize,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { load_public(text, text_len, KeySizes::Modern, out, from_published) })
}

/// Like `paramcrypt_public_key_from_published`, with the key sizes `sizes`
/// (a `paramcrypt_key_sizes` value) allows.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_published_with_sizes(
    text: *const u8,
    text_len: usize,
    sizes: KeySizesValue,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { load_public_with_sizes(text, text_len, sizes, out, from_published) })
}

/// Writes the key's fingerprint: `SHA256:` and the unpadded base64 of the
/// SHA-256 digest of its DER SubjectPublicKeyInfo (50 bytes, not
/// NUL-terminated), what a client pins. Errors:
/// `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` = size needed),
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_fingerprint(
    public_key: *const paramcrypt_public_key,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe {
        export_public(public_key, out, out_cap, out_len, |k| {
            Ok(k.fingerprint()?.into_bytes())
        })
    })
}

/// Parses the `getPublicKey` value (base64 of the DER SubjectPublicKeyInfo
/// of a 2048- to 4096-bit key; CR/LF line breaks tolerated) and stores a new
/// handle in `*out`. Errors: `PARAMCRYPT_ERR_INVALID_KEY` (also for a
/// 1024-bit key: see `paramcrypt_public_key_from_base64_with_sizes`),
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_base64(
    text: *const u8,
    text_len: usize,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { load_public(text, text_len, KeySizes::Modern, out, from_base64) })
}

/// Like `paramcrypt_public_key_from_base64`, with the key sizes `sizes` (a
/// `paramcrypt_key_sizes` value) allows: `PARAMCRYPT_KEY_SIZES_ALLOW_LEGACY_1024`
/// is the explicit opt-in for a legacy device's 1024-bit key.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_base64_with_sizes(
    text: *const u8,
    text_len: usize,
    sizes: KeySizesValue,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { load_public_with_sizes(text, text_len, sizes, out, from_base64) })
}

/// Parses a PEM public key (`BEGIN PUBLIC KEY`); otherwise as
/// `paramcrypt_public_key_from_base64`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_pem(
    pem: *const u8,
    pem_len: usize,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { load_public(pem, pem_len, KeySizes::Modern, out, from_pem) })
}

/// Like `paramcrypt_public_key_from_pem`, with the key sizes `sizes` allows.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_pem_with_sizes(
    pem: *const u8,
    pem_len: usize,
    sizes: KeySizesValue,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { load_public_with_sizes(pem, pem_len, sizes, out, from_pem) })
}

/// Parses a DER SubjectPublicKeyInfo; otherwise as
/// `paramcrypt_public_key_from_base64`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_der(
    der: *const u8,
    der_len: usize,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { load_public(der, der_len, KeySizes::Modern, out, from_der) })
}

/// Like `paramcrypt_public_key_from_der`, with the key sizes `sizes` allows.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_from_der_with_sizes(
    der: *const u8,
    der_len: usize,
    sizes: KeySizesValue,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { load_public_with_sizes(der, der_len, sizes, out, from_der) })
}

unsafe fn export_public(
    public_key: *const paramcrypt_public_key,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    encode: fn(&PublicKey) -> paramcrypt_core::Result<alloc::vec::Vec<u8>>,
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
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_to_base64(
    public_key: *const paramcrypt_public_key,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the module's pointer rules.
    guard_status(|| unsafe {
        let (public_key, (out, out_len)) = (borrow(public_key)?, output(out, out_cap, out_len)?);
        report(public_key.0.to_base64_into(out), out_len)
    })
}

/// Writes the public key as PEM (`BEGIN PUBLIC KEY`, LF line endings, not
/// NUL-terminated); otherwise as `paramcrypt_public_key_to_base64`.
#[must_use]
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
#[must_use]
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

/// Releases a public key. NULL is a no-op. The handle must not be in use by
/// another thread, nor used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_public_key_free(public_key: *mut paramcrypt_public_key) {
    // SAFETY: the caller hands back a handle it no longer uses.
    guard(|| unsafe { release(public_key) })
}

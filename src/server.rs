//! The server object: configuration, opening encKeys (cached, refused after
//! a failure) and the server sessions that decrypt requests and encrypt
//! replies.

use core::ffi::c_void;

use paramcrypt_core::{Server, ServerConfig};

use crate::boundary::{
    borrow, guard, guard_status, handle_slot, input, put, release, with_buffers,
};
use crate::handles::{
    paramcrypt_keypair, paramcrypt_public_key, paramcrypt_server, paramcrypt_server_session,
};
use crate::rng::{FfiRng, paramcrypt_rng_callback};
use crate::status::{
    accepted_modes_from_c, mode_to_c, padding_from_c, paramcrypt_mode, paramcrypt_status,
};

/// Sessions a server caches by default: one per client of a busy device or gateway.
pub const PARAMCRYPT_SERVER_CACHE_CAPACITY: usize = 1024;
/// Refused common keys a server remembers by default (0.86 MiB).
pub const PARAMCRYPT_SERVER_REFUSAL_CAPACITY: usize = 65536;
/// Sessions a firmware server caches (a handful of clients).
pub const PARAMCRYPT_FIRMWARE_CACHE_CAPACITY: usize = 4;
/// Refused common keys a firmware server remembers (about 3.5 KiB).
pub const PARAMCRYPT_FIRMWARE_REFUSAL_CAPACITY: usize = 256;

// The header needs literals; these keep them equal to the core's settings.
const _: () = {
    assert!(PARAMCRYPT_SERVER_CACHE_CAPACITY == ServerConfig::DEFAULT_CACHE_CAPACITY);
    assert!(PARAMCRYPT_SERVER_REFUSAL_CAPACITY == ServerConfig::DEFAULT_REFUSAL_CAPACITY);
    assert!(PARAMCRYPT_FIRMWARE_CACHE_CAPACITY == ServerConfig::FIRMWARE_CACHE_CAPACITY);
    assert!(PARAMCRYPT_FIRMWARE_REFUSAL_CAPACITY == ServerConfig::FIRMWARE_REFUSAL_CAPACITY);
};

#[allow(clippy::too_many_arguments)] // the C signature, one argument each
unsafe fn new_server(
    rng: &mut FfiRng,
    keypair: *const paramcrypt_keypair,
    padding: u32,
    modes: u32,
    cache_capacity: usize,
    refusal_capacity: usize,
    out: *mut *mut paramcrypt_server,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let (keypair, slot) = unsafe { (borrow(keypair)?, handle_slot(out)?) };
    let config = ServerConfig {
        padding: padding_from_c(padding)?,
        modes: accepted_modes_from_c(modes)?,
        cache_capacity,
        refusal_capacity,
    };
    let server = Server::new_with_rng(rng, keypair.0.clone(), config)?;
    put(slot, paramcrypt_server(server));
    Ok(())
}

/// Makes a server for a copy of `keypair` (free yours when you no longer need
/// it) and stores a new handle in `*out`.
///
/// - `padding`: the one RSA padding of encKeys (a `paramcrypt_padding` value).
/// - `modes`: the accepted encKey modes (a `paramcrypt_accepted_modes` value;
///   `PARAMCRYPT_ACCEPT_KEY_IV` is what deployed clients send).
/// - `cache_capacity`: encKeys kept unwrapped, so that a client reusing its
///   encKey costs no RSA work (`PARAMCRYPT_SERVER_CACHE_CAPACITY`, or
///   `PARAMCRYPT_FIRMWARE_CACHE_CAPACITY`; 0 disables the cache; at most
///   1,048,576).
/// - `refusal_capacity`: refused common keys remembered
///   (`PARAMCRYPT_SERVER_REFUSAL_CAPACITY`, in 0.86 MiB, or
///   `PARAMCRYPT_FIRMWARE_REFUSAL_CAPACITY`, about 3.5 KiB; 1 to 16,777,216).
///
/// Both tables are allocated now, in full; nothing grows per request. A
/// random digest key comes from the OS RNG. Errors:
/// `PARAMCRYPT_ERR_INVALID_ARGUMENT` (unknown padding or modes, capacity out
/// of range), `PARAMCRYPT_ERR_RNG`, `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_new(
    keypair: *const paramcrypt_keypair,
    padding: u32,
    modes: u32,
    cache_capacity: usize,
    refusal_capacity: usize,
    out: *mut *mut paramcrypt_server,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        new_server(
            &mut FfiRng::os(),
            keypair,
            padding,
            modes,
            cache_capacity,
            refusal_capacity,
            out,
        )
    })
}

/// Like `paramcrypt_server_new`, with the digest key from `rng(user, buf, len)`
/// (firmware: the hardware RNG).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_new_with_rng(
    keypair: *const paramcrypt_keypair,
    padding: u32,
    modes: u32,
    cache_capacity: usize,
    refusal_capacity: usize,
    rng: paramcrypt_rng_callback,
    user: *mut c_void,
    out: *mut *mut paramcrypt_server,
) -> paramcrypt_status {
    guard_status(|| {
        let mut rng = FfiRng::callback(rng, user)?;
        // SAFETY: the caller upholds the crate's pointer rules.
        unsafe {
            new_server(
                &mut rng,
                keypair,
                padding,
                modes,
                cache_capacity,
                refusal_capacity,
                out,
            )
        }
    })
}

/// Stores a new handle to the server's public key in `*out` (for
/// `getPublicKey`; release it with `paramcrypt_public_key_free`). Errors:
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_public_key(
    server: *const paramcrypt_server,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let (server, slot) = unsafe { (borrow(server)?, handle_slot(out)?) };
        put(slot, paramcrypt_public_key(server.0.public_key().clone()));
        Ok(())
    })
}

unsafe fn open(
    rng: &mut FfiRng,
    server: *mut paramcrypt_server,
    enc_key: *const u8,
    enc_key_len: usize,
    out: *mut *mut paramcrypt_server_session,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let (server, enc_key, slot) = unsafe {
        (
            borrow(server)?,
            input(enc_key, enc_key_len)?,
            handle_slot(out)?,
        )
    };
    put(
        slot,
        paramcrypt_server_session(server.0.open_with_rng(rng, enc_key)?),
    );
    Ok(())
}

/// Opens a request's base64 `encKey` (CR/LF tolerated, no NUL needed) and
/// stores a new server session in `*out`: from the cache, without RSA work,
/// when this encKey was opened before; else by unwrapping it (OS RNG for
/// blinding). Open it once per request.
///
/// Errors: `PARAMCRYPT_ERR_ENCRYPTION_FAILED` (40002) for every bad encKey,
/// whatever the cause (malformed, stale, a mode the server does not accept,
/// a refused common key); `PARAMCRYPT_ERR_RNG`, `PARAMCRYPT_ERR_BUSY`
/// (firmware builds), `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe: the server
/// locks only around its tables, never around RSA work.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_open(
    server: *mut paramcrypt_server,
    enc_key: *const u8,
    enc_key_len: usize,
    out: *mut *mut paramcrypt_server_session,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { open(&mut FfiRng::os(), server, enc_key, enc_key_len, out) })
}

/// Like `paramcrypt_server_open`, with blinding randomness from
/// `rng(user, buf, len)` (firmware: the hardware RNG). As with
/// `paramcrypt_keypair_unwrap_with_rng`, server builds with AWS-LC blind
/// with AWS-LC's own generator instead and do not call `rng`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_open_with_rng(
    server: *mut paramcrypt_server,
    enc_key: *const u8,
    enc_key_len: usize,
    rng: paramcrypt_rng_callback,
    user: *mut c_void,
    out: *mut *mut paramcrypt_server_session,
) -> paramcrypt_status {
    guard_status(|| {
        let mut rng = FfiRng::callback(rng, user)?;
        // SAFETY: the caller upholds the crate's pointer rules.
        unsafe { open(&mut rng, server, enc_key, enc_key_len, out) }
    })
}

/// Releases a server and wipes its key pair and cached keys. NULL is a
/// no-op. Server sessions still open stay usable (they share the server's
/// state). The handle must not be in use by another thread, nor used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_free(server: *mut paramcrypt_server) {
    // SAFETY: the caller hands back a handle it no longer uses.
    guard(|| unsafe { release(server) })
}

/// Writes the client's IV mode (a `paramcrypt_mode` value) to `*out_mode`.
/// Errors: `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_mode(
    session: *const paramcrypt_server_session,
    out_mode: *mut paramcrypt_mode,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let (session, out_mode) = unsafe { (borrow(session)?, out_mode.as_mut()) };
        *out_mode.ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)? =
            mode_to_c(session.0.mode());
        Ok(())
    })
}

/// An identifier of the client's common key (0 for NULL): equal for every
/// session with the same key, whatever encKey carried it; a keyed digest
/// that reveals nothing about the key. Use it to keep per-client state, such
/// as the secrets a client stored. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_key_id(
    session: *const paramcrypt_server_session,
) -> u64 {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard(|| {
        unsafe { borrow(session) }
            .map(|s| s.0.key_id())
            .unwrap_or(0)
    })
}

/// Decrypts a secret parameter of the request, as
/// `paramcrypt_session_decrypt` does (same sizes; secret output). When it
/// fails, the server refuses the common key: this and every later call on
/// any session with that key, and every later open of an encKey carrying it,
/// fail with `PARAMCRYPT_ERR_ENCRYPTION_FAILED`. (Honest clients start over
/// with a new key after 40002; an attacker replaying a captured encKey gets
/// one guess, not a padding oracle.)
///
/// Errors: `PARAMCRYPT_ERR_ENCRYPTION_FAILED` (40002),
/// `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` = size needed; checked
/// before decrypting, refuses nothing), `PARAMCRYPT_ERR_BUSY` (firmware
/// builds), `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_decrypt(
    session: *mut paramcrypt_server_session,
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

unsafe fn server_encrypt(
    rng: &mut FfiRng,
    session: *mut paramcrypt_server_session,
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

/// Encrypts a reply value under the client's common key, as
/// `paramcrypt_session_encrypt` does (exactly
/// `paramcrypt_encrypted_len(mode, plaintext_len)` bytes; per-message IVs
/// from the OS RNG). Fails with `PARAMCRYPT_ERR_ENCRYPTION_FAILED` once the
/// key is refused; otherwise as `paramcrypt_session_encrypt`. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_encrypt(
    session: *mut paramcrypt_server_session,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        server_encrypt(
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

/// Like `paramcrypt_server_session_encrypt`, with per-message IVs from
/// `rng(user, buf, len)` (unused in key:iv mode).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_encrypt_with_rng(
    session: *mut paramcrypt_server_session,
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
        // SAFETY: the caller upholds the crate's pointer rules.
        unsafe {
            server_encrypt(
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

/// Releases a server session and wipes its key and IV. NULL is a no-op. The
/// handle must not be in use by another thread, nor used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_free(session: *mut paramcrypt_server_session) {
    // SAFETY: the caller hands back a handle it no longer uses.
    guard(|| unsafe { release(session) })
}

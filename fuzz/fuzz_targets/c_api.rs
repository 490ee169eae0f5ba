//! The C entry points, called through their exported symbols as a C program
//! calls them, with arbitrary inputs, lengths, output capacities and enum
//! values. Output buffers are allocated at exactly the capacity passed, so
//! AddressSanitizer catches a write past it. No call may panic (that is
//! `PARAMCRYPT_ERR_PANIC`), return an undocumented status, or report a
//! length that does not fit its buffer.
//!
//! Input: an operation byte, a capacity byte (scaled), a parameter byte,
//! then the data.
#![no_main]

use std::ptr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use paramcrypt::paramcrypt_server_config; // and links the C ABI

#[repr(C)]
struct Opaque {
    _private: [u8; 0],
}

const OK: i32 = 0;
const NULL_ARGUMENT: i32 = 1;
const INVALID_ARGUMENT: i32 = 2;
const BUFFER_TOO_SMALL: i32 = 3;
const UNSUPPORTED_KEY_SIZE: i32 = 100;
const INVALID_KEY: i32 = 101;
const KEY_TOO_SMALL: i32 = 103;
const PANIC: i32 = 900;
const ENCRYPTION_FAILED: i32 = 40002;

unsafe extern "C" {
    fn paramcrypt_keypair_from_pkcs8_der(der: *const u8, len: usize, out: *mut *mut Opaque) -> i32;
    fn paramcrypt_keypair_from_pem_with_sizes(
        pem: *const u8,
        len: usize,
        sizes: u32,
        out: *mut *mut Opaque,
    ) -> i32;
    fn paramcrypt_keypair_public_key(keypair: *const Opaque, out: *mut *mut Opaque) -> i32;
    fn paramcrypt_keypair_unwrap(
        keypair: *const Opaque,
        enc_key: *const u8,
        len: usize,
        padding: u32,
        out: *mut *mut Opaque,
    ) -> i32;
    fn paramcrypt_keypair_free(keypair: *mut Opaque);
    fn paramcrypt_public_key_from_base64(text: *const u8, len: usize, out: *mut *mut Opaque)
    -> i32;
    fn paramcrypt_public_key_from_der_with_sizes(
        der: *const u8,
        len: usize,
        sizes: u32,
        out: *mut *mut Opaque,
    ) -> i32;
    fn paramcrypt_public_key_from_pem(pem: *const u8, len: usize, out: *mut *mut Opaque) -> i32;
    fn paramcrypt_public_key_to_pem(
        key: *const Opaque,
        out: *mut u8,
        cap: usize,
        out_len: *mut usize,
    ) -> i32;
    fn paramcrypt_public_key_to_der(
        key: *const Opaque,
        out: *mut u8,
        cap: usize,
        out_len: *mut usize,
    ) -> i32;
    fn paramcrypt_public_key_free(key: *mut Opaque);
    fn paramcrypt_session_new(mode: u32, out: *mut *mut Opaque) -> i32;
    fn paramcrypt_session_wrap(
        session: *const Opaque,
        public_key: *const Opaque,
        padding: u32,
        out: *mut u8,
        cap: usize,
        out_len: *mut usize,
    ) -> i32;
    fn paramcrypt_session_encrypt(
        session: *const Opaque,
        plaintext: *const u8,
        len: usize,
        out: *mut u8,
        cap: usize,
        out_len: *mut usize,
    ) -> i32;
    fn paramcrypt_session_decrypt(
        session: *const Opaque,
        text: *const u8,
        len: usize,
        out: *mut u8,
        cap: usize,
        out_len: *mut usize,
    ) -> i32;
    fn paramcrypt_session_free(session: *mut Opaque);
    fn paramcrypt_server_config_init(setting: u32, config: *mut paramcrypt_server_config) -> i32;
    fn paramcrypt_server_new(
        keypair: *const Opaque,
        config: *const paramcrypt_server_config,
        out: *mut *mut Opaque,
    ) -> i32;
    fn paramcrypt_server_open(
        server: *mut Opaque,
        peer: *const u8,
        peer_len: usize,
        enc_key: *const u8,
        len: usize,
        out: *mut *mut Opaque,
    ) -> i32;
    fn paramcrypt_server_session_decrypt(
        session: *mut Opaque,
        text: *const u8,
        len: usize,
        out: *mut u8,
        cap: usize,
        out_len: *mut usize,
    ) -> i32;
    fn paramcrypt_server_session_free(session: *mut Opaque);
}

/// Handles made once and shared by every run (the C API is thread-safe).
struct Fixture {
    keypair: *mut Opaque,
    public_key: *mut Opaque,
    server: *mut Opaque,
    sessions: [*mut Opaque; 2], // key:iv, per-message IV
}

// SAFETY: the handles are never freed, and the C API allows their use from
// any thread.
unsafe impl Send for Fixture {}
unsafe impl Sync for Fixture {}

const SERVER_KEY: &[u8] = include_bytes!("../../tests/data/keys/rsa2048_pkcs8.der");

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| unsafe {
        let mut keypair = ptr::null_mut();
        assert_eq!(
            paramcrypt_keypair_from_pkcs8_der(SERVER_KEY.as_ptr(), SERVER_KEY.len(), &mut keypair),
            OK
        );
        let mut public_key = ptr::null_mut();
        assert_eq!(paramcrypt_keypair_public_key(keypair, &mut public_key), OK);
        let mut server = ptr::null_mut();
        // PKCS#1 v1.5, both modes, 8 sessions, 8 failed keys and peers; no
        // peer or server lockdown, so that failures never stop the decryptions.
        let mut config = std::mem::MaybeUninit::<paramcrypt_server_config>::uninit();
        assert_eq!(paramcrypt_server_config_init(0, config.as_mut_ptr()), OK);
        let mut config = config.assume_init();
        config.modes = 2;
        config.cache_capacity = 8;
        config.refusal_capacity = 8;
        config.peer_capacity = 8;
        config.policy.peer_failure_limit = 0;
        config.policy.server_failure_limit = 0;
        assert_eq!(paramcrypt_server_new(keypair, &config, &mut server), OK);
        let mut sessions = [ptr::null_mut(); 2];
        for (mode, session) in sessions.iter_mut().enumerate() {
            assert_eq!(paramcrypt_session_new(mode as u32, session), OK);
        }
        Fixture {
            keypair,
            public_key,
            server,
            sessions,
        }
    })
}

/// A pointer for an input of `data.len()` bytes: NULL when empty, which the
/// contract allows.
fn input(data: &[u8]) -> *const u8 {
    if data.is_empty() {
        ptr::null()
    } else {
        data.as_ptr()
    }
}

/// Calls `f(out, cap, &mut out_len)` with a buffer of exactly `cap` bytes
/// (NULL when 0) and checks the output contract.
fn with_output(
    cap: usize,
    allowed: &[i32],
    f: impl FnOnce(*mut u8, usize, *mut usize) -> i32,
) -> (i32, Vec<u8>) {
    let mut out = vec![0u8; cap];
    let out_ptr = if cap == 0 {
        ptr::null_mut()
    } else {
        out.as_mut_ptr()
    };
    let mut out_len = usize::MAX;
    let status = f(out_ptr, cap, &mut out_len);
    check_status(status, allowed);
    match status {
        OK => {
            assert!(out_len <= cap, "OK with out_len {out_len} > capacity {cap}");
            out.truncate(out_len);
        }
        BUFFER_TOO_SMALL => assert!(
            out_len > cap,
            "BUFFER_TOO_SMALL with out_len {out_len} <= capacity {cap}"
        ),
        _ => assert_eq!(out_len, usize::MAX, "out_len changed by a failure"),
    }
    (status, out)
}

fn check_status(status: i32, allowed: &[i32]) {
    assert_ne!(status, PANIC, "a panic reached the C boundary");
    assert!(
        status == OK || allowed.contains(&status),
        "undocumented status {status}"
    );
}

fuzz_target!(|data: &[u8]| {
    let [operation, cap_byte, param, data @ ..] = data else {
        return;
    };
    let fixture = fixture();
    // Capacities from 0 to about 4 KiB, finer near the small end.
    let cap = usize::from(*cap_byte).pow(2) / 16;
    unsafe {
        match operation % 8 {
            0 | 1 => {
                let session = fixture.sessions[usize::from(*operation % 2)];
                with_output(
                    cap,
                    &[BUFFER_TOO_SMALL, ENCRYPTION_FAILED],
                    |out, cap, len| {
                        paramcrypt_session_decrypt(session, input(data), data.len(), out, cap, len)
                    },
                );
            }
            2 => {
                // encKey, then the parameter after the first '.' (not base64).
                let split = data.iter().position(|&c| c == b'.').unwrap_or(data.len());
                let (enc_key, value) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
                let mut session = ptr::null_mut();
                // The parameter byte is the peer.
                let status = paramcrypt_server_open(
                    fixture.server,
                    param,
                    1,
                    input(enc_key),
                    enc_key.len(),
                    &mut session,
                );
                check_status(status, &[ENCRYPTION_FAILED]);
                if status == OK {
                    with_output(
                        cap,
                        &[BUFFER_TOO_SMALL, ENCRYPTION_FAILED],
                        |out, cap, len| {
                            paramcrypt_server_session_decrypt(
                                session,
                                input(value),
                                value.len(),
                                out,
                                cap,
                                len,
                            )
                        },
                    );
                    paramcrypt_server_session_free(session);
                }
            }
            3 => {
                let mut keypair = ptr::null_mut();
                let status = if param & 1 == 0 {
                    paramcrypt_keypair_from_pkcs8_der(input(data), data.len(), &mut keypair)
                } else {
                    let sizes = u32::from(*param >> 1);
                    paramcrypt_keypair_from_pem_with_sizes(
                        input(data),
                        data.len(),
                        sizes,
                        &mut keypair,
                    )
                };
                check_status(
                    status,
                    &[INVALID_ARGUMENT, INVALID_KEY, UNSUPPORTED_KEY_SIZE],
                );
                paramcrypt_keypair_free(keypair);
            }
            4 => {
                let mut key = ptr::null_mut();
                let status = match param % 3 {
                    0 => paramcrypt_public_key_from_base64(input(data), data.len(), &mut key),
                    1 => paramcrypt_public_key_from_pem(input(data), data.len(), &mut key),
                    _ => paramcrypt_public_key_from_der_with_sizes(
                        input(data),
                        data.len(),
                        u32::from(param / 3),
                        &mut key,
                    ),
                };
                check_status(
                    status,
                    &[INVALID_ARGUMENT, INVALID_KEY, UNSUPPORTED_KEY_SIZE],
                );
                if status == OK {
                    with_output(cap, &[BUFFER_TOO_SMALL], |out, cap, len| {
                        paramcrypt_public_key_to_pem(key, out, cap, len)
                    });
                    with_output(cap, &[BUFFER_TOO_SMALL], |out, cap, len| {
                        paramcrypt_public_key_to_der(key, out, cap, len)
                    });
                }
                paramcrypt_public_key_free(key);
            }
            5 => {
                let session = fixture.sessions[usize::from(param & 1)];
                let (status, text) = with_output(cap, &[BUFFER_TOO_SMALL], |out, cap, len| {
                    paramcrypt_session_encrypt(session, input(data), data.len(), out, cap, len)
                });
                if status == OK {
                    let (status, plaintext) = with_output(text.len(), &[], |out, cap, len| {
                        paramcrypt_session_decrypt(session, input(&text), text.len(), out, cap, len)
                    });
                    assert_eq!(status, OK);
                    assert_eq!(plaintext, data, "encrypt then decrypt changed the value");
                }
            }
            6 => {
                let mut session = ptr::null_mut();
                let status = paramcrypt_keypair_unwrap(
                    fixture.keypair,
                    input(data),
                    data.len(),
                    u32::from(*param),
                    &mut session,
                );
                check_status(status, &[INVALID_ARGUMENT, ENCRYPTION_FAILED]);
                paramcrypt_session_free(session);
            }
            _ => {
                let session = fixture.sessions[usize::from(param & 1)];
                with_output(
                    cap,
                    &[BUFFER_TOO_SMALL, INVALID_ARGUMENT, KEY_TOO_SMALL],
                    |out, cap, len| {
                        paramcrypt_session_wrap(
                            session,
                            fixture.public_key,
                            u32::from(*param >> 1),
                            out,
                            cap,
                            len,
                        )
                    },
                );
            }
        }
    }
    let _ = NULL_ARGUMENT; // documented, but every pointer here is valid
});

//! The C functions' pointer handling, called as C calls them: size
//! queries with NULL buffers, exact and short capacities, NULL and
//! mistyped handles, overlapping buffers. Small enough to run under Miri
//! (`make test-miri`), which checks every access for undefined behaviour;
//! no RSA private-key work, which would take Miri hours.

use core::ptr;

use crate::handles::{paramcrypt_public_key, paramcrypt_session};
use crate::public_key::*;
use crate::session::*;
use crate::sizes::*;
use crate::status::paramcrypt_mode;
use crate::status::paramcrypt_status::{self, *};

const PUBLIC_B64: &str = include_str!("../tests/data/keys/rsa2048_public.b64");
const KEY_IV: u32 = 0;
const PER_MESSAGE_IV: u32 = 1;

fn new_session(mode: u32) -> *mut paramcrypt_session {
    let mut session = ptr::null_mut();
    assert_eq!(
        unsafe { paramcrypt_session_new(mode, &mut session) },
        PARAMCRYPT_OK
    );
    assert!(!session.is_null());
    session
}

/// Calls `f(out, cap, out_len)` for a size query (NULL, 0), one byte short,
/// then exactly the size; checks each step and returns the output.
fn sized_call(mut f: impl FnMut(*mut u8, usize, *mut usize) -> paramcrypt_status) -> Vec<u8> {
    let mut needed = 0;
    assert_eq!(
        f(ptr::null_mut(), 0, &mut needed),
        PARAMCRYPT_ERR_BUFFER_TOO_SMALL
    );
    assert!(needed > 0);
    let mut short = vec![0xA5u8; needed - 1];
    let mut reported = 0;
    assert_eq!(
        f(short.as_mut_ptr(), short.len(), &mut reported),
        PARAMCRYPT_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(reported, needed);
    assert!(
        short.iter().all(|&b| b == 0xA5),
        "a short buffer was written"
    );
    let mut out = vec![0u8; needed];
    let mut len = usize::MAX;
    assert_eq!(f(out.as_mut_ptr(), out.len(), &mut len), PARAMCRYPT_OK);
    assert!(len <= needed);
    out.truncate(len);
    out
}

#[test]
fn encrypt_and_decrypt_through_size_queries_and_exact_buffers() {
    for mode in [KEY_IV, PER_MESSAGE_IV] {
        let session = new_session(mode);
        let plaintext = b"a secret parameter, longer than one block";
        let text = sized_call(|out, cap, len| unsafe {
            paramcrypt_session_encrypt(session, plaintext.as_ptr(), plaintext.len(), out, cap, len)
        });
        assert_eq!(text.len(), paramcrypt_encrypted_len(mode, plaintext.len()));
        let decrypted = sized_call(|out, cap, len| unsafe {
            paramcrypt_session_decrypt(session, text.as_ptr(), text.len(), out, cap, len)
        });
        assert_eq!(decrypted, plaintext);
        // An empty plaintext, given as NULL with length 0.
        let empty = sized_call(|out, cap, len| unsafe {
            paramcrypt_session_encrypt(session, ptr::null(), 0, out, cap, len)
        });
        let mut out = [0u8; 16];
        let mut len = usize::MAX;
        let status = unsafe {
            paramcrypt_session_decrypt(
                session,
                empty.as_ptr(),
                empty.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            )
        };
        assert_eq!((status, len), (PARAMCRYPT_OK, 0));
        unsafe { paramcrypt_session_free(session) };
    }
}

#[test]
fn a_failed_decryption_leaves_no_plaintext_and_no_length() {
    let session = new_session(KEY_IV);
    let plaintext = [0x42u8; 40];
    let mut text = sized_call(|out, cap, len| unsafe {
        paramcrypt_session_encrypt(session, plaintext.as_ptr(), plaintext.len(), out, cap, len)
    });
    // Flip a bit of the last base64 character group until the padding fails.
    let mut out = vec![0u8; plaintext.len() + 16];
    let failed = (0..64u8).any(|n| {
        let at = text.len() - 8;
        text[at] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[usize::from(n)];
        let mut len = usize::MAX;
        let status = unsafe {
            paramcrypt_session_decrypt(
                session,
                text.as_ptr(),
                text.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            )
        };
        if status == PARAMCRYPT_ERR_ENCRYPTION_FAILED {
            assert_eq!(len, usize::MAX, "out_len set by a failure");
            assert!(
                out.iter().all(|&b| b == 0),
                "plaintext left after a failure"
            );
            return true;
        }
        false
    });
    assert!(failed);
    unsafe { paramcrypt_session_free(session) };
}

#[test]
fn null_pointers_are_refused_and_empty_inputs_may_be_null() {
    let session = new_session(KEY_IV);
    let mut out = [0u8; 64];
    let mut len = 0;
    unsafe {
        let text = b"AAAAAAAAAAAAAAAAAAAAAA==";
        assert_eq!(
            paramcrypt_session_decrypt(
                ptr::null(),
                text.as_ptr(),
                text.len(),
                out.as_mut_ptr(),
                64,
                &mut len
            ),
            PARAMCRYPT_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            paramcrypt_session_decrypt(session, ptr::null(), 5, out.as_mut_ptr(), 64, &mut len),
            PARAMCRYPT_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            paramcrypt_session_decrypt(
                session,
                text.as_ptr(),
                text.len(),
                ptr::null_mut(),
                64,
                &mut len
            ),
            PARAMCRYPT_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            paramcrypt_session_decrypt(
                session,
                text.as_ptr(),
                text.len(),
                out.as_mut_ptr(),
                64,
                ptr::null_mut()
            ),
            PARAMCRYPT_ERR_NULL_ARGUMENT
        );
        // An empty text (NULL, 0) is a malformed value, not a NULL argument.
        assert_eq!(
            paramcrypt_session_decrypt(session, ptr::null(), 0, out.as_mut_ptr(), 64, &mut len),
            PARAMCRYPT_ERR_ENCRYPTION_FAILED
        );
        let mut mode = paramcrypt_mode::PARAMCRYPT_MODE_PER_MESSAGE_IV;
        assert_eq!(
            paramcrypt_session_mode(ptr::null(), &mut mode),
            PARAMCRYPT_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            paramcrypt_session_mode(session, ptr::null_mut()),
            PARAMCRYPT_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            paramcrypt_session_new(KEY_IV, ptr::null_mut()),
            PARAMCRYPT_ERR_NULL_ARGUMENT
        );
        paramcrypt_session_free(ptr::null_mut());
        paramcrypt_session_free(session);
    }
}

#[test]
fn an_output_overlapping_the_input_is_refused() {
    let session = new_session(KEY_IV);
    let mut buffer = vec![0u8; 128];
    let plaintext_len = 16;
    let mut len = 0;
    let status = unsafe {
        let base = buffer.as_mut_ptr();
        paramcrypt_session_encrypt(session, base, plaintext_len, base.add(8), 64, &mut len)
    };
    assert_eq!(status, PARAMCRYPT_ERR_INVALID_ARGUMENT);
    // Adjacent is not overlapping.
    let status = unsafe {
        let base = buffer.as_mut_ptr();
        paramcrypt_session_encrypt(
            session,
            base,
            plaintext_len,
            base.add(plaintext_len),
            64,
            &mut len,
        )
    };
    assert_eq!(status, PARAMCRYPT_OK);
    unsafe { paramcrypt_session_free(session) };
}

#[test]
fn an_out_len_inside_the_output_or_the_input_is_refused() {
    let session = new_session(KEY_IV);
    // usize-aligned storage, so that an out_len may point inside it.
    let mut words = vec![0usize; 16];
    let bytes = words.len() * size_of::<usize>();
    let status = unsafe {
        let base = words.as_mut_ptr().cast::<u8>();
        // The plaintext (16 bytes) is read from elsewhere; out_len is the
        // output's second word.
        let plaintext = [7u8; 16];
        paramcrypt_session_encrypt(
            session,
            plaintext.as_ptr(),
            16,
            base,
            bytes,
            words.as_mut_ptr().add(1),
        )
    };
    assert_eq!(status, PARAMCRYPT_ERR_INVALID_ARGUMENT);
    assert!(words.iter().all(|&w| w == 0), "nothing written");
    let status = unsafe {
        let base = words.as_mut_ptr().cast::<u8>();
        let mut out = [0u8; 64];
        paramcrypt_session_encrypt(
            session,
            base,
            16,
            out.as_mut_ptr(),
            out.len(),
            words.as_mut_ptr().add(1),
        )
    };
    assert_eq!(status, PARAMCRYPT_ERR_INVALID_ARGUMENT);
    unsafe { paramcrypt_session_free(session) };
}

#[test]
fn a_handle_of_another_type_is_refused() {
    let session = new_session(KEY_IV);
    let mut key: *mut paramcrypt_public_key = ptr::null_mut();
    unsafe {
        assert_eq!(
            paramcrypt_public_key_from_base64(PUBLIC_B64.as_ptr(), PUBLIC_B64.len(), &mut key),
            PARAMCRYPT_OK
        );
        let mut mode = paramcrypt_mode::PARAMCRYPT_MODE_PER_MESSAGE_IV;
        assert_eq!(
            paramcrypt_session_mode(key.cast::<paramcrypt_session>(), &mut mode),
            PARAMCRYPT_ERR_INVALID_HANDLE
        );
        assert_eq!(
            paramcrypt_public_key_bits(session.cast::<paramcrypt_public_key>()),
            0
        );
        // Freeing through the wrong function is ignored, not a double free.
        paramcrypt_session_free(key.cast::<paramcrypt_session>());
        paramcrypt_public_key_free(session.cast::<paramcrypt_public_key>());
        paramcrypt_public_key_free(key);
        paramcrypt_session_free(session);
    }
}

#[test]
fn a_public_key_exports_through_size_queries_and_wraps() {
    let mut key: *mut paramcrypt_public_key = ptr::null_mut();
    unsafe {
        assert_eq!(
            paramcrypt_public_key_from_base64(PUBLIC_B64.as_ptr(), PUBLIC_B64.len(), &mut key),
            PARAMCRYPT_OK
        );
        assert_eq!(paramcrypt_public_key_bits(key), 2048);
        let der = sized_call(|out, cap, len| paramcrypt_public_key_to_der(key, out, cap, len));
        let pem = sized_call(|out, cap, len| paramcrypt_public_key_to_pem(key, out, cap, len));
        assert!(pem.starts_with(b"-----BEGIN PUBLIC KEY-----"));
        let base64 =
            sized_call(|out, cap, len| paramcrypt_public_key_to_base64(key, out, cap, len));
        assert_eq!(base64, PUBLIC_B64.trim_ascii().as_bytes());
        let mut again: *mut paramcrypt_public_key = ptr::null_mut();
        assert_eq!(
            paramcrypt_public_key_from_der(der.as_ptr(), der.len(), &mut again),
            PARAMCRYPT_OK
        );
        let der_again =
            sized_call(|out, cap, len| paramcrypt_public_key_to_der(again, out, cap, len));
        assert_eq!(der, der_again);
        // Wrapping runs the RSA public-key operation (e = 65537: cheap).
        let session = new_session(KEY_IV);
        let enc_key =
            sized_call(|out, cap, len| paramcrypt_session_wrap(session, key, 0, out, cap, len));
        assert_eq!(enc_key.len(), paramcrypt_public_key_wrapped_len(key));
        paramcrypt_session_free(session);
        paramcrypt_public_key_free(again);
        paramcrypt_public_key_free(key);
    }
}

#[test]
fn an_unknown_mode_from_c_is_an_invalid_argument() {
    let mut session = ptr::null_mut();
    let status: paramcrypt_status = unsafe { paramcrypt_session_new(99, &mut session) };
    assert_eq!(status, PARAMCRYPT_ERR_INVALID_ARGUMENT);
    assert!(session.is_null(), "*out written on failure");
}

//! Secret-parameter decryption, both modes, into buffers of every size near
//! the one needed: no crash, `decrypt` and `decrypt_into` agree, a short
//! buffer is refused before anything is decrypted, a failure leaves no
//! plaintext, and a key:iv value that decrypts re-encrypts to itself.
//! Input: a selector byte (mode, buffer slack), key, IV, then the text.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use paramcrypt_core::{Error, Mode, Session};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some((key, iv, text)) = common::key_iv_rest(rest) else {
        return;
    };
    let mode = common::mode(selector);
    let session = Session::from_parts(key, iv, mode);

    let whole = session.decrypt(text);
    if let Err(error) = &whole {
        assert!(
            error.is_encryption_failure(),
            "decrypt failed with {error:?}, not 40002"
        );
    }

    // The same text into a buffer from 3 bytes short to 4 bytes over.
    let needed = Session::decrypted_max_len(text.len());
    let slack = i64::from(selector >> 1 & 7) - 3;
    let capacity = (needed as i64 + slack).max(0) as usize;
    let mut out = vec![0xA5u8; capacity];
    match session.decrypt_into(text, &mut out) {
        Ok(len) => {
            assert_eq!(&out[..len], &whole.as_ref().expect("decrypt agrees")[..]);
        }
        Err(Error::BufferTooSmall { needed: exact }) => {
            assert!(
                exact > capacity && exact <= needed,
                "needed {exact} for capacity {capacity}"
            );
            assert!(
                out.iter().all(|&b| b == 0xA5),
                "a refused buffer was written"
            );
        }
        Err(error) => {
            assert!(
                error.is_encryption_failure(),
                "decrypt_into failed with {error:?}"
            );
            assert!(
                whole.is_err(),
                "decrypt_into failed where decrypt succeeded"
            );
            assert!(
                out.iter().all(|&b| b == 0 || b == 0xA5),
                "plaintext left after a failure"
            );
        }
    }

    // key:iv encryption is deterministic: a value that decrypts is the
    // encryption of its plaintext (once line breaks are gone).
    if let (Ok(plaintext), Mode::KeyIv) = (&whole, mode) {
        let again = session.encrypt(plaintext).expect("encrypt");
        assert_eq!(again.as_bytes(), &common::without_line_breaks(text)[..]);
    }
});

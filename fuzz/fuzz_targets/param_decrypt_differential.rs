//! paramcrypt's one-pass parameter decryption against the `base64`, `aes`
//! and `cbc` crates used directly: the same accept or reject, the same
//! plaintext. Input: a mode selector byte, key, IV, then the text.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use aes::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use paramcrypt_core::{Mode, Session};

/// The protocol as DESIGN.md states it, assembled from independent parts.
fn reference(mode: Mode, key: &[u8; 16], iv: &[u8; 16], text: &[u8]) -> Option<Vec<u8>> {
    let body = base64::engine::general_purpose::STANDARD
        .decode(common::without_line_breaks(text))
        .ok()?;
    let (iv, ciphertext) = match mode {
        Mode::KeyIv => (iv, &body[..]),
        Mode::PerMessageIv => {
            let (iv, rest) = body.split_first_chunk::<16>()?;
            (iv, rest)
        }
    };
    if ciphertext.is_empty() {
        return None;
    }
    cbc::Decryptor::<aes::Aes128>::new(key.into(), iv.into())
        .decrypt_padded_vec::<Pkcs7>(ciphertext)
        .ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some((key, iv, text)) = common::key_iv_rest(rest) else {
        return;
    };
    let mode = common::mode(selector);
    let ours = Session::from_parts(key, iv, mode).decrypt(text).ok();
    let theirs = reference(mode, &key, &iv, text);
    assert_eq!(
        ours.as_deref().map(|p| &p[..]),
        theirs.as_deref(),
        "paramcrypt and the reference disagree"
    );
});

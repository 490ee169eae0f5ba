//! What the targets share: the server key, and reading choices off the
//! front of the fuzzer's input.
#![allow(dead_code)] // each target uses a part

use paramcrypt_core::{KeyPair, Mode, Padding};

/// The 2048-bit key of the interop vectors, so that their encKeys are seeds
/// that open.
pub const SERVER_KEY_PKCS8_DER: &[u8] = include_bytes!("../../tests/data/keys/rsa2048_pkcs8.der");

pub fn server_key() -> KeyPair {
    KeyPair::from_pkcs8_der(SERVER_KEY_PKCS8_DER).expect("the test key loads")
}

pub const PADDINGS: [Padding; 3] = [Padding::Pkcs1v15, Padding::OaepSha1, Padding::OaepSha256];

pub fn padding(selector: u8) -> Padding {
    PADDINGS[usize::from(selector) % PADDINGS.len()]
}

pub fn mode(selector: u8) -> Mode {
    if selector & 1 == 0 {
        Mode::KeyIv
    } else {
        Mode::PerMessageIv
    }
}

/// Splits the input into a key, an IV and the rest (`None` when too short).
pub fn key_iv_rest(data: &[u8]) -> Option<([u8; 16], [u8; 16], &[u8])> {
    let (key, rest) = data.split_first_chunk::<16>()?;
    let (iv, rest) = rest.split_first_chunk::<16>()?;
    Some((*key, *iv, rest))
}

/// CR and LF removed: what the wire decoder skips.
pub fn without_line_breaks(text: &[u8]) -> Vec<u8> {
    text.iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect()
}

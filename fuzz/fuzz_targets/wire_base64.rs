//! The wire base64 decoder (used for encKeys and parameters) against the
//! `base64` crate: the same accept or reject and bytes, and the length it
//! predicts from the text's shape is the length it decodes. The small codec
//! of builds without std (firmware) likewise, on texts without line
//! breaks, and what it decodes it encodes back to the same text.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use paramcrypt_core::hazmat::{
    decode_wire_base64, small_base64_round_trip, wire_base64_decoded_len,
};

fuzz_target!(|text: &[u8]| {
    let ours = decode_wire_base64(text);
    let stripped = common::without_line_breaks(text);
    // The wire rejects an empty value; the base64 crate decodes it to nothing.
    let theirs = match stripped.is_empty() {
        true => None,
        false => base64::engine::general_purpose::STANDARD
            .decode(&stripped)
            .ok(),
    };
    assert_eq!(
        ours, theirs,
        "the wire decoder and the base64 crate disagree"
    );
    if let Some(bytes) = &ours {
        assert_eq!(wire_base64_decoded_len(text), Some(bytes.len()));
    }
    if stripped.len() == text.len() && !text.is_empty() {
        let small = small_base64_round_trip(text);
        assert_eq!(
            small.as_ref().map(|(bytes, _)| bytes),
            theirs.as_ref(),
            "the small codec and the base64 crate disagree"
        );
        if let Some((_, again)) = small {
            assert_eq!(again, text, "the small codec does not encode back");
        }
    }
});

//! Base64 as it travels on the wire: RFC 4648 standard alphabet with `=`
//! padding. Decoding tolerates CR/LF line breaks (some device stacks wrap at
//! 76 columns) and rejects everything else, including non-canonical padding
//! bits. `base64ct` does the work in constant time.

use alloc::string::String;
use alloc::vec::Vec;
use base64ct::{Base64, Encoding};

/// Length of the base64 text for `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Upper bound of the decoded length of a base64 text of `text_len` bytes.
pub(crate) const fn decoded_len_max(text_len: usize) -> usize {
    text_len / 4 * 3
}

/// Encodes `bytes` into a new `String`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// Encodes `bytes` into `out`, which must hold `encoded_len(bytes.len())` bytes.
pub(crate) fn encode_into(bytes: &[u8], out: &mut [u8]) -> usize {
    // The callers size `out` with `encoded_len`, so this cannot fail.
    Base64::encode(bytes, out).map(str::len).unwrap_or(0)
}

/// Decodes `text`, skipping CR and LF. `None` for anything that is not
/// canonical padded base64 (including empty input).
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    let stripped: Vec<u8>;
    let text = if text.iter().any(|&c| c == b'\r' || c == b'\n') {
        stripped = text
            .iter()
            .copied()
            .filter(|&c| c != b'\r' && c != b'\n')
            .collect();
        &stripped[..]
    } else {
        text
    };
    if text.is_empty() {
        return None;
    }
    // `decode` (unlike `decode_in_place`) also rejects non-canonical final bits.
    let mut out = alloc::vec![0u8; decoded_len_max(text.len())];
    let len = Base64::decode(text, &mut out).ok()?.len();
    out.truncate(len);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_matches_encoder() {
        for n in 0..50 {
            let data: Vec<u8> = (0..n as u8).collect();
            assert_eq!(encode(&data).len(), encoded_len(n));
            let mut out = [0u8; 80];
            assert_eq!(encode_into(&data, &mut out), encoded_len(n));
            assert!(decoded_len_max(encoded_len(n)) >= n);
        }
    }

    #[test]
    fn decode_accepts_line_breaks_only() {
        assert_eq!(
            decode(b"AAEC\r\nAw==").as_deref(),
            Some(&[0u8, 1, 2, 3][..])
        );
        assert_eq!(
            decode(b"AAEC\nAw==\n").as_deref(),
            Some(&[0u8, 1, 2, 3][..])
        );
        assert_eq!(decode(b"AAEC Aw=="), None);
        assert_eq!(decode(b"AAEC\tAw=="), None);
        assert_eq!(decode(b"AAECAw"), None, "padding is required");
        assert_eq!(decode(b"AAECAx=="), None, "non-canonical trailing bits");
        assert_eq!(
            decode(b"AAEC-w=="),
            None,
            "URL-safe alphabet is not accepted"
        );
        assert_eq!(decode(b""), None);
        assert_eq!(decode(b"\r\n"), None);
    }
}

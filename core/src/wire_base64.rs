//! Base64 as it travels on the wire: RFC 4648 standard alphabet with `=`
//! padding. Decoding tolerates CR/LF line breaks (some device stacks wrap at
//! 76 columns) and rejects everything else, including non-canonical padding
//! bits. These values are public (ciphertexts, encKeys, public keys), so
//! nothing here needs constant time: on std targets the SIMD `base64-simd`
//! does the work, with runtime CPU detection; without std (firmware) a
//! small codec (`small`), checked against `base64ct` below
//! and by the `wire_base64` fuzz target's differential. Secret material
//! (PEM keys, the key:iv text) never comes through here: it goes through
//! `base64ct` and `base16ct`, in constant time.

use alloc::string::String;
use alloc::vec::Vec;

/// Length of the base64 text for `n` bytes (`n` no larger than a key or a
/// fixed bound; see `checked_encoded_len` for lengths from callers).
pub(crate) const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Length of the base64 text for `n` bytes, or `None` when it would exceed
/// `isize::MAX` (no buffer can be that large).
pub(crate) const fn checked_encoded_len(n: usize) -> Option<usize> {
    match n.div_ceil(3).checked_mul(4) {
        Some(len) if len <= isize::MAX as usize => Some(len),
        _ => None,
    }
}

/// Upper bound of the decoded length of a base64 text of `text_len` bytes.
pub(crate) const fn decoded_len_max(text_len: usize) -> usize {
    text_len / 4 * 3
}

/// Encodes `bytes` into a new `String`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    #[cfg(feature = "std")]
    return base64_simd::STANDARD.encode_to_string(bytes);
    #[cfg(not(feature = "std"))]
    {
        let mut text = alloc::vec![0u8; encoded_len(bytes.len())];
        small::encode(bytes, &mut text);
        // ASCII, char by char: smaller than UTF-8 validation in firmware.
        text.iter().map(|&c| char::from(c)).collect()
    }
}

/// Encodes `bytes` into `out`, which must hold `encoded_len(bytes.len())` bytes.
pub(crate) fn encode_into(bytes: &[u8], out: &mut [u8]) -> usize {
    let out = &mut out[..encoded_len(bytes.len())];
    #[cfg(feature = "std")]
    return base64_simd::STANDARD
        .encode(bytes, base64_simd::AsOut::as_out(out))
        .len();
    #[cfg(not(feature = "std"))]
    small::encode(bytes, out)
}

/// Where one chunk is decoded, on the stack. With std it is not zeroed
/// first (base64-simd writes into uninitialized memory), which matters for
/// short values when the chunk is large.
#[cfg(feature = "std")]
type ChunkBuffer<const N: usize> = [core::mem::MaybeUninit<u8>; N];
#[cfg(not(feature = "std"))]
type ChunkBuffer<const N: usize> = [u8; N];

fn chunk_buffer<const N: usize>() -> ChunkBuffer<N> {
    #[cfg(feature = "std")]
    return [core::mem::MaybeUninit::uninit(); N];
    #[cfg(not(feature = "std"))]
    [0u8; N]
}

/// Decodes one block of padded base64 (no line breaks, at most `N / 3 * 4`
/// characters) into `out`: `None` for anything but canonical padded base64.
fn decode_block<'a, const N: usize>(text: &[u8], out: &'a mut ChunkBuffer<N>) -> Option<&'a [u8]> {
    #[cfg(feature = "std")]
    return base64_simd::STANDARD
        .decode(text, base64_simd::Out::from_uninit_slice(out))
        .ok()
        .map(|decoded| &*decoded);
    #[cfg(not(feature = "std"))]
    small::decode(text, out).map(|len| &out[..len])
}

/// Base64 for targets without `base64-simd` (firmware): a few compares a
/// character where `base64ct`'s constant-time arithmetic takes about a
/// hundred, in less flash. Public values only.
#[cfg(any(not(feature = "std"), test, feature = "hazmat"))]
pub(crate) mod small {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    /// A character's six bits, or 0xFF for anything outside the alphabet
    /// (`=` included: padding is handled apart). By ranges: a 256-byte
    /// table cost 200 bytes more flash for 0.01 M fewer instructions a KiB.
    fn sextet(c: u8) -> u8 {
        match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c + 4,
            b'+' => 62,
            b'/' => 63,
            _ => 0xFF,
        }
    }

    /// Encodes `bytes` into `out` (at least `encoded_len` bytes); returns
    /// the length.
    pub(crate) fn encode(bytes: &[u8], out: &mut [u8]) -> usize {
        let mut len = 0;
        for (group, quad) in bytes.chunks(3).zip(out.chunks_exact_mut(4)) {
            let b = [
                group[0],
                group.get(1).copied().unwrap_or(0),
                group.get(2).copied().unwrap_or(0),
            ];
            let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            for (i, c) in quad.iter_mut().enumerate() {
                *c = if i <= group.len() {
                    ALPHABET[(v >> (18 - 6 * i) & 63) as usize]
                } else {
                    b'='
                };
            }
            len += 4;
        }
        len
    }

    /// Decodes padded base64 (a multiple of four characters, no line
    /// breaks) into `out`; `None` for a character outside the alphabet,
    /// padding anywhere but at the end, non-zero bits under the padding,
    /// or an `out` too small.
    pub(crate) fn decode(text: &[u8], out: &mut [u8]) -> Option<usize> {
        if !text.len().is_multiple_of(4) {
            return None;
        }
        let (body, last) = match text.len() {
            0 => return Some(0),
            n => text.split_at(n - 4),
        };
        let mut len = 0;
        for quad in body.chunks_exact(4) {
            let v = sextets(quad)?;
            out.get_mut(len..len + 3)?
                .copy_from_slice(&v.to_be_bytes()[1..]);
            len += 3;
        }
        // The last quad: "xxxx", "xxx=" or "xx==", with zero bits under
        // the padding.
        let (padding, kept) = match last {
            [_, _, b'=', b'='] => (2, 1),
            [_, _, _, b'='] => (1, 2),
            _ => (0, 3),
        };
        let mut quad = [b'A'; 4];
        quad[..4 - padding].copy_from_slice(&last[..4 - padding]);
        let v = sextets(&quad)?;
        let bytes = v.to_be_bytes();
        if bytes[1 + kept..].iter().any(|&b| b != 0) {
            return None;
        }
        out.get_mut(len..len + kept)?
            .copy_from_slice(&bytes[1..1 + kept]);
        Some(len + kept)
    }

    /// Four characters' 24 bits, or `None` when one is not in the alphabet.
    fn sextets(quad: &[u8]) -> Option<u32> {
        let mut v = 0u32;
        let mut invalid = 0u8;
        for &c in quad {
            let six = sextet(c);
            invalid |= six;
            v = v << 6 | u32::from(six & 63);
        }
        (invalid & 0x80 == 0).then_some(v)
    }
}

/// The longest text accepted for at most `decoded_max` bytes: the base64
/// plus a CR/LF after every 64 characters or more (PEM and MIME wrap at 64
/// and 76 columns), so that nothing longer is ever decoded.
pub(crate) const fn max_text_len(decoded_max: usize) -> usize {
    let encoded = encoded_len(decoded_max);
    encoded + 2 * (encoded / 64 + 1)
}

fn is_line_break(c: u8) -> bool {
    c == b'\r' || c == b'\n'
}

/// How many CR and LF bytes `text` holds: a scan of the whole text, before
/// anything is decoded, on every value. With std, memchr's SIMD search
/// (usually finding none).
#[cfg(feature = "std")]
fn count_line_breaks(text: &[u8]) -> usize {
    memchr::memchr2_iter(b'\r', b'\n', text).count()
}

/// Without std: byte by byte. A word-at-a-time scan took 140 B more flash
/// to save 3% of a 1 KiB decryption.
#[cfg(not(feature = "std"))]
fn count_line_breaks(text: &[u8]) -> usize {
    text.iter().filter(|&&c| is_line_break(c)).count()
}

/// What a text's length and line breaks say before it is decoded: public
/// information only, not what the characters encode.
#[derive(Clone, Copy)]
pub(crate) struct Shape {
    /// The exact decoded length (CR/LF skipped, `=` padding counted).
    pub(crate) decoded_len: usize,
    /// Whether it has CR/LF line breaks (which the decoder skips).
    pub(crate) line_breaks: bool,
}

/// The [`Shape`] of `text`: `None` when no well-formed base64 has it.
pub(crate) fn shape(text: &[u8]) -> Option<Shape> {
    let breaks = count_line_breaks(text);
    let chars = text.len() - breaks;
    if chars == 0 || !chars.is_multiple_of(4) {
        return None;
    }
    let mut tail = text.iter().rev().filter(|&&c| !is_line_break(c));
    let padding = tail.by_ref().take(2).take_while(|&&c| c == b'=').count();
    Some(Shape {
        decoded_len: chars / 4 * 3 - padding,
        line_breaks: breaks > 0,
    })
}

/// Characters decoded at a time (on the stack): 3 KiB, 192 AES blocks,
/// on servers; 96 bytes, six blocks, on small targets, whose stacks are
/// small (the text and the bytes both take the stack: 224 bytes there).
#[cfg(target_pointer_width = "64")]
const CHUNK: usize = 4096;
#[cfg(not(target_pointer_width = "64"))]
const CHUNK: usize = 128;

/// Characters gathered at a time from a text with line breaks, which are
/// copied without them into a buffer of their own and then decoded: on
/// servers a quarter of `CHUNK`, so that this rare path's two buffers
/// (1.75 KiB) take less stack than the usual path's one (3 KiB). Glibc's
/// smallest thread stack, 16 KiB, must hold a whole decryption.
#[cfg(target_pointer_width = "64")]
const FILTERED_CHUNK: usize = CHUNK / 4;
#[cfg(not(target_pointer_width = "64"))]
const FILTERED_CHUNK: usize = CHUNK;

/// Decodes `text` (CR/LF skipped) in chunks of `CHUNK / 4 * 3` bytes
/// (`FILTERED_CHUNK / 4 * 3` for a text with line breaks; the last one
/// shorter), handing each to `sink` in order, without allocating. `None`
/// for anything that is not canonical padded base64 (including empty input),
/// or when `sink` returns `None`.
pub(crate) fn decode_chunks(text: &[u8], sink: impl FnMut(&[u8]) -> Option<()>) -> Option<()> {
    decode_chunks_shaped(text, count_line_breaks(text) > 0, sink)
}

/// [`decode_chunks`] for a text whose line breaks were already looked for
/// (by [`shape`]), which saves scanning it again.
pub(crate) fn decode_chunks_shaped(
    text: &[u8],
    line_breaks: bool,
    sink: impl FnMut(&[u8]) -> Option<()>,
) -> Option<()> {
    // No line breaks (the usual case): decode the text where it is. Servers
    // only; small targets keep their flash and always take the general
    // loop.
    #[cfg(target_pointer_width = "64")]
    if !line_breaks {
        return decode_chunks_in_place(text, sink);
    }
    #[cfg(not(target_pointer_width = "64"))]
    let _ = line_breaks;
    decode_chunks_filtered(text, sink)
}

/// [`decode_chunks_shaped`] for a text without line breaks: `CHUNK`
/// characters at a time, straight from the text. Not inlined, nor is
/// [`decode_chunks_filtered`]: each path's buffers stay off the other's
/// stack.
#[cfg(target_pointer_width = "64")]
#[inline(never)]
fn decode_chunks_in_place(text: &[u8], mut sink: impl FnMut(&[u8]) -> Option<()>) -> Option<()> {
    let mut bytes = chunk_buffer::<{ CHUNK / 4 * 3 }>();
    let mut chunks = text.chunks(CHUNK).peekable();
    chunks.peek()?; // empty input
    while let Some(chunk) = chunks.next() {
        let decoded = decode_block(chunk, &mut bytes)?;
        if chunks.peek().is_some() && decoded.len() != CHUNK / 4 * 3 {
            return None; // padding before the end
        }
        sink(decoded)?;
    }
    Some(())
}

/// [`decode_chunks_shaped`] for any text: CR/LF skipped, `FILTERED_CHUNK`
/// characters gathered at a time.
#[cfg_attr(target_pointer_width = "64", inline(never))]
fn decode_chunks_filtered(text: &[u8], mut sink: impl FnMut(&[u8]) -> Option<()>) -> Option<()> {
    let mut bytes = chunk_buffer::<{ FILTERED_CHUNK / 4 * 3 }>();
    let mut chars = [0u8; FILTERED_CHUNK];
    let mut held = 0;
    for &c in text.iter().filter(|&&c| !is_line_break(c)) {
        if held == FILTERED_CHUNK {
            // More follows, so this chunk must be whole: no padding in it.
            let decoded = decode_block(&chars, &mut bytes)?;
            if decoded.len() != FILTERED_CHUNK / 4 * 3 {
                return None;
            }
            sink(decoded)?;
            held = 0;
        }
        chars[held] = c;
        held += 1;
    }
    if held == 0 {
        return None;
    }
    // Both decoders reject non-canonical final bits.
    sink(decode_block(&chars[..held], &mut bytes)?)
}

/// Decodes `text` (CR/LF skipped) into `out` and returns the length, or
/// `None` for malformed base64 or a text that does not fit `out`.
pub(crate) fn decode_into(text: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    decode_chunks(text, |chunk| {
        out.get_mut(len..len + chunk.len())?.copy_from_slice(chunk);
        len += chunk.len();
        Some(())
    })?;
    Some(len)
}

/// Decodes a text that may hold at most `decoded_max` bytes. A longer text
/// is rejected before anything is decoded or allocated; the buffer is sized
/// by `decoded_max`, never by the text.
pub(crate) fn decode_bounded(text: &[u8], decoded_max: usize) -> Option<Vec<u8>> {
    if text.len() > max_text_len(decoded_max) {
        return None;
    }
    let mut out = alloc::vec![0u8; decoded_max];
    let len = decode_into(text, &mut out)?;
    out.truncate(len);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_small_codec_matches_base64ct() {
        use base64ct::{Base64, Encoding};
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
        for n in 0..300 {
            let data: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            let mut text = alloc::vec![0u8; encoded_len(n)];
            assert_eq!(small::encode(&data, &mut text), text.len());
            assert_eq!(text, Base64::encode_string(&data).into_bytes(), "{n} bytes");
            let mut out = alloc::vec![0u8; n + 3];
            assert_eq!(small::decode(&text, &mut out), Some(n));
            assert_eq!(&out[..n], &data[..]);
            // Mutated texts: the same verdict and bytes as base64ct.
            for _ in 0..20 {
                let mut bad = text.clone();
                if bad.is_empty() {
                    break;
                }
                let at = next() as usize % bad.len();
                bad[at] = match next() % 3 {
                    0 => alphabet[next() as usize % alphabet.len()],
                    1 => next() as u8,
                    _ => bad[at] ^ 1,
                };
                let mut ours = alloc::vec![0u8; n + 3];
                let mut theirs = alloc::vec![0u8; n + 3];
                let ours = small::decode(&bad, &mut ours).map(|len| ours[..len].to_vec());
                let theirs = Base64::decode(&bad, &mut theirs).ok().map(<[u8]>::to_vec);
                assert_eq!(ours, theirs, "{:?}", core::str::from_utf8(&bad));
            }
        }
        // Too small an output is an error, not a panic.
        assert_eq!(small::decode(b"QUJD", &mut [0u8; 2]), None);
    }

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

    fn decode(text: &[u8]) -> Option<Vec<u8>> {
        decode_bounded(text, 4096)
    }

    #[test]
    fn chunked_decoding_agrees_with_whole_decoding() {
        // Lengths around each path's chunk: decoded in place without line
        // breaks (`CHUNK`), gathered with them (`FILTERED_CHUNK`).
        let edges = [CHUNK, FILTERED_CHUNK, 2 * FILTERED_CHUNK]
            .into_iter()
            .flat_map(|chars| [chars / 4 * 3 - 1, chars / 4 * 3, chars / 4 * 3 + 1]);
        for n in (0..200usize).chain([383, 384, 385, 1000]).chain(edges) {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
            let text = encode(&data);
            if n == 0 {
                assert_eq!(decode(text.as_bytes()), None);
                continue;
            }
            assert_eq!(
                decode(text.as_bytes()).as_deref(),
                Some(&data[..]),
                "{n} bytes"
            );
            assert_eq!(shape(text.as_bytes()).map(|s| s.decoded_len), Some(n));
            // Wrapped at 76 columns with CRLF, as MIME does.
            let wrapped: Vec<u8> = text
                .as_bytes()
                .chunks(76)
                .flat_map(|line| line.iter().copied().chain(*b"\r\n"))
                .collect();
            assert_eq!(decode(&wrapped).as_deref(), Some(&data[..]));
            assert_eq!(shape(&wrapped).map(|s| s.decoded_len), Some(n));
        }
    }

    #[test]
    fn padding_inside_the_text_is_rejected_even_at_a_chunk_boundary() {
        // A chunk's worth of characters ending in padding, then more: the
        // padding is not final.
        let mut text = encode(&[7u8; CHUNK / 4 * 3 - 1]).into_bytes();
        assert_eq!(text.len(), CHUNK);
        assert!(text.ends_with(b"="));
        text.extend_from_slice(b"AAAA");
        assert_eq!(decode(&text), None);
        assert_eq!(decode(b"AA==AAAA"), None);
        // The same with line breaks, at the boundary of the chunks they are
        // gathered in.
        let mut text = encode(&[7u8; FILTERED_CHUNK / 4 * 3 - 1]).into_bytes();
        assert!(text.ends_with(b"="));
        text.extend_from_slice(b"\r\nAAAA");
        assert_eq!(decode(&text), None);
    }

    #[test]
    fn nothing_longer_than_the_bound_is_decoded() {
        let text = encode(&[1u8; 300]);
        assert_eq!(decode_bounded(text.as_bytes(), 299), None);
        assert_eq!(
            decode_bounded(text.as_bytes(), 300).map(|v| v.len()),
            Some(300)
        );
        let mut out = [0u8; 299];
        assert_eq!(decode_into(text.as_bytes(), &mut out), None);
        assert!(max_text_len(256) >= 344 + 2 * 6);
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

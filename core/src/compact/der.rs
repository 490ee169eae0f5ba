//! Strict DER for exactly the RSA key structures paramcrypt reads and
//! writes, and their PEM armour:
//!
//! - PKCS#8 `PrivateKeyInfo` (RFC 5208): version 0, algorithm
//!   rsaEncryption with NULL parameters, the PKCS#1 key in an OCTET STRING,
//!   no attributes;
//! - PKCS#1 `RSAPrivateKey` (RFC 8017 A.1.2): version 0 (two primes), nine
//!   positive INTEGERs;
//! - `SubjectPublicKeyInfo` (RFC 5280) of an rsaEncryption key, with the
//!   PKCS#1 `RSAPublicKey` in a BIT STRING with no unused bits.
//!
//! Every tag and length is checked: definite, minimal lengths; minimal,
//! non-negative INTEGERs; nothing left over at any level. Anything else is
//! rejected.

use alloc::string::String;
use alloc::vec::Vec;
use base64ct::{Base64, Encoding};
use zeroize::Zeroizing;

use crate::cursor::Cursor;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
/// AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }. A
/// static: the firmware link keeps it without the section of merged
/// constants (and every string in it).
static RSA_ALGORITHM: [u8; 15] = [
    0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// Reads DER elements one after another from a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The contents of the next element, which must have tag `tag`.
    fn element(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&found, rest) = self.0.split_first()?;
        if found != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = match first {
            0..=0x7F => usize::from(first),
            0x81..=0x83 => {
                let count = usize::from(first & 0x7F);
                if rest.len() < count {
                    return None;
                }
                let (octets, after) = rest.split_at(count);
                rest = after;
                let len = octets
                    .iter()
                    .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
                // Minimal: the long form only from 128 on, no leading zero.
                if len < 0x80 || octets[0] == 0 {
                    return None;
                }
                len
            }
            _ => return None,
        };
        if rest.len() < len {
            return None;
        }
        let (contents, after) = rest.split_at(len);
        self.0 = after;
        Some(contents)
    }

    /// A non-negative INTEGER in minimal form: its magnitude, without the
    /// sign octet (empty for zero).
    fn unsigned(&mut self) -> Option<&'a [u8]> {
        let contents = self.element(INTEGER)?;
        match contents {
            [] => None,
            [first, ..] if first & 0x80 != 0 => None, // negative
            [0] => Some(&[]),
            [0, second, ..] if second & 0x80 == 0 => None, // not minimal
            [0, rest @ ..] => Some(rest),
            _ => Some(contents),
        }
    }

    /// The INTEGER zero (a version).
    fn zero(&mut self) -> Option<()> {
        self.unsigned()?.is_empty().then_some(())
    }

    /// `Some(value)` when nothing follows it.
    fn end<T>(&self, value: T) -> Option<T> {
        self.0.is_empty().then_some(value)
    }
}

/// A PKCS#1 `RSAPrivateKey`'s values (magnitudes, big-endian), but for
/// the CRT exponents: they are checked as INTEGERs, and computed again from
/// d at load, as the `rsa` crate does.
pub(crate) struct PrivateKeyFields<'a> {
    pub(crate) n: &'a [u8],
    pub(crate) e: &'a [u8],
    pub(crate) d: &'a [u8],
    pub(crate) p: &'a [u8],
    pub(crate) q: &'a [u8],
    pub(crate) qinv: &'a [u8],
}

/// Parses a PKCS#1 `RSAPrivateKey`.
pub(crate) fn parse_pkcs1_private(der: &[u8]) -> Option<PrivateKeyFields<'_>> {
    let mut outer = Reader(der);
    let mut key = Reader(outer.element(SEQUENCE)?);
    outer.end(())?;
    key.zero()?; // two-prime
    let fields = PrivateKeyFields {
        n: key.unsigned()?,
        e: key.unsigned()?,
        d: key.unsigned()?,
        p: key.unsigned()?,
        q: key.unsigned()?,
        qinv: {
            key.unsigned()?; // d mod (p - 1)
            key.unsigned()?; // d mod (q - 1)
            key.unsigned()?
        },
    };
    key.end(fields)
}

/// Parses a PKCS#8 `PrivateKeyInfo` holding an RSA key.
pub(crate) fn parse_pkcs8_private(der: &[u8]) -> Option<PrivateKeyFields<'_>> {
    let mut outer = Reader(der);
    let mut info = Reader(outer.element(SEQUENCE)?);
    outer.end(())?;
    info.zero()?;
    let algorithm = info.0.get(..RSA_ALGORITHM.len())?;
    if algorithm != RSA_ALGORITHM {
        return None;
    }
    info.0 = &info.0[RSA_ALGORITHM.len()..];
    let key = info.element(OCTET_STRING)?;
    info.end(())?;
    parse_pkcs1_private(key)
}

/// Parses a `SubjectPublicKeyInfo` of an RSA key: (n, e) magnitudes.
pub(crate) fn parse_spki(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut outer = Reader(der);
    let mut info = Reader(outer.element(SEQUENCE)?);
    outer.end(())?;
    let algorithm = info.0.get(..RSA_ALGORITHM.len())?;
    if algorithm != RSA_ALGORITHM {
        return None;
    }
    info.0 = &info.0[RSA_ALGORITHM.len()..];
    let bits = info.element(BIT_STRING)?;
    info.end(())?;
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    let mut outer = Reader(key);
    let mut key = Reader(outer.element(SEQUENCE)?);
    outer.end(())?;
    let n = key.unsigned()?;
    let e = key.unsigned()?;
    key.end((n, e))
}

/// A tag and a definite, minimal length.
fn put_header(out: &mut Cursor<'_>, tag: u8, len: usize) {
    out.byte(tag);
    if len < 0x80 {
        out.byte(len as u8);
    } else {
        let octets = len.to_be_bytes();
        let count = length_len(len) - 1;
        out.byte(0x80 | count as u8);
        out.put(&octets[octets.len() - count..]);
    }
}

/// A non-negative INTEGER from a big-endian magnitude.
fn put_unsigned(out: &mut Cursor<'_>, magnitude: &[u8]) {
    let (magnitude, sign) = minimal(magnitude);
    put_header(out, INTEGER, magnitude.len() + usize::from(sign));
    if sign {
        out.byte(0);
    }
    out.put(magnitude);
}

/// The bytes a DER length takes.
fn length_len(len: usize) -> usize {
    match len {
        0..=0x7F => 1,
        _ => 1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize,
    }
}

/// The bytes an element with `contents` bytes of contents takes.
fn element_len(contents: usize) -> usize {
    1 + length_len(contents) + contents
}

/// A magnitude without its leading zeros (they are allowed), and whether
/// its INTEGER needs a zero octet in front to stay non-negative.
fn minimal(magnitude: &[u8]) -> (&[u8], bool) {
    let first = magnitude
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(magnitude.len());
    let magnitude = &magnitude[first..];
    (magnitude, magnitude.first().is_none_or(|&b| b & 0x80 != 0))
}

/// The bytes [`put_unsigned`] writes for `magnitude`.
fn unsigned_len(magnitude: &[u8]) -> usize {
    let (magnitude, sign) = minimal(magnitude);
    element_len(magnitude.len() + usize::from(sign))
}

/// A PKCS#8 `PrivateKeyInfo` from the key's values in PKCS#1 order (n, e,
/// d, p, q, dp, dq, qinv).
pub(crate) fn encode_pkcs8_private(values: &[Zeroizing<Vec<u8>>; 8]) -> Zeroizing<Vec<u8>> {
    // The contents' lengths, innermost first; then the bytes, outermost first.
    let version = unsigned_len(&[]);
    let key = version + values.iter().map(|v| unsigned_len(v)).sum::<usize>();
    let pkcs1 = element_len(key);
    let info = version + RSA_ALGORITHM.len() + element_len(pkcs1);
    let mut out = Zeroizing::new(alloc::vec![0u8; element_len(info)]);
    let mut der = Cursor::new(&mut out);
    put_header(&mut der, SEQUENCE, info);
    put_unsigned(&mut der, &[]);
    der.put(&RSA_ALGORITHM);
    put_header(&mut der, OCTET_STRING, pkcs1);
    put_header(&mut der, SEQUENCE, key);
    put_unsigned(&mut der, &[]);
    for value in values {
        put_unsigned(&mut der, value);
    }
    debug_assert!(der.is_full());
    out
}

/// A `SubjectPublicKeyInfo` from n and e (big-endian magnitudes).
pub(crate) fn encode_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    // The contents' lengths, innermost first; then the bytes, outermost first.
    let key = unsigned_len(n) + unsigned_len(e);
    let bits = 1 + element_len(key);
    let info = RSA_ALGORITHM.len() + element_len(bits);
    let mut out = alloc::vec![0u8; element_len(info)];
    let mut der = Cursor::new(&mut out);
    put_header(&mut der, SEQUENCE, info);
    der.put(&RSA_ALGORITHM);
    put_header(&mut der, BIT_STRING, bits);
    der.byte(0);
    put_header(&mut der, SEQUENCE, key);
    put_unsigned(&mut der, n);
    put_unsigned(&mut der, e);
    debug_assert!(der.is_full());
    out
}

/// PEM armour (RFC 7468): the label, base64 in 64-column lines, LF line
/// endings. Base64 in constant time (this carries private keys).
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut line = Zeroizing::new([0u8; 64]);
    for chunk in der.chunks(48) {
        if let Ok(text) = Base64::encode(chunk, &mut line[..]) {
            out.push_str(text);
        }
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The DER inside PEM armour with this label: the BEGIN line (after
/// explanatory text ending in a line break, if any, as RFC 7468 allows),
/// base64 lines (ending in CRLF, CR or LF), the END line, then only
/// whitespace. Base64 is
/// decoded in constant time and must be canonical.
pub(crate) fn pem_decode(pem: &str, label: &str) -> Option<Zeroizing<Vec<u8>>> {
    let text = match pem.find("\n-----BEGIN ") {
        Some(at) if !pem.starts_with("-----BEGIN ") && !pem[..at].contains('\0') => &pem[at + 1..],
        _ => pem,
    };
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let text = text.strip_prefix("-----BEGIN ")?.strip_prefix(label)?;
    let text = text.strip_prefix("-----")?;
    let text = text.strip_suffix("-----")?.strip_suffix(label)?;
    let body = text.strip_suffix("-----END ")?;
    // Lines end in CRLF, CR or LF (RFC 7468's eol); one follows the BEGIN line.
    let body = body.strip_prefix(['\r', '\n'])?;
    let joined: Zeroizing<Vec<u8>> =
        Zeroizing::new(body.bytes().filter(|&b| b != b'\r' && b != b'\n').collect());
    Base64::decode_vec(core::str::from_utf8(&joined).ok()?)
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKCS8_PEM: &str = include_str!("../../../tests/data/keys/rsa2048_pkcs8.pem");
    const PKCS1_PEM: &str = include_str!("../../../tests/data/keys/rsa2048_pkcs1.pem");
    const PUBLIC_PEM: &str = include_str!("../../../tests/data/keys/rsa2048_public.pem");

    #[test]
    fn openssl_keys_parse_and_encode_back_byte_for_byte() {
        let der = pem_decode(PKCS8_PEM, "PRIVATE KEY").expect("PEM");
        let fields = parse_pkcs8_private(&der).expect("PKCS#8");
        assert_eq!(fields.n.len(), 256);
        assert_eq!(fields.e, &[1, 0, 1]);
        assert_eq!(&pem_encode("PRIVATE KEY", &der)[..], PKCS8_PEM);
        // The loaded key encodes back to the same bytes (its CRT values
        // computed again).
        let key = crate::compact::private_from_pkcs8_der(&der).expect("key");
        assert_eq!(&encode_pkcs8_private(&key.component_bytes())[..], &der[..]);

        let pkcs1 = pem_decode(PKCS1_PEM, "RSA PRIVATE KEY").expect("PEM");
        let same = parse_pkcs1_private(&pkcs1).expect("PKCS#1");
        assert_eq!(same.n, fields.n);
        assert_eq!(same.qinv, fields.qinv);

        let public = pem_decode(PUBLIC_PEM, "PUBLIC KEY").expect("PEM");
        let (n, e) = parse_spki(&public).expect("SPKI");
        assert_eq!((n, e), (fields.n, fields.e));
        assert_eq!(encode_spki(n, e), &public[..]);
    }

    #[test]
    fn lengths_worked_out_first_are_the_lengths_written() {
        // Short and long form lengths, up to three length octets, each read
        // back by the strict reader; the size worked out is the size written.
        for len in [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x101, 0xFFFF, 0x1_0000] {
            let contents = alloc::vec![0x5A; len];
            let mut out = alloc::vec![0u8; element_len(len)];
            let mut der = Cursor::new(&mut out);
            put_header(&mut der, OCTET_STRING, len);
            der.put(&contents);
            assert!(der.is_full(), "length {len}");
            let mut reader = Reader(&out);
            assert_eq!(
                reader.element(OCTET_STRING),
                Some(&contents[..]),
                "length {len}"
            );
            assert!(reader.0.is_empty());
        }
        // INTEGERs: zero, leading zeros dropped, a sign octet before a high bit.
        for (magnitude, expected) in [
            (&[][..], &[2, 1, 0][..]),
            (&[0, 0][..], &[2, 1, 0][..]),
            (&[0, 0x7F][..], &[2, 1, 0x7F][..]),
            (&[0x80][..], &[2, 2, 0, 0x80][..]),
            (&[0, 1, 0][..], &[2, 2, 1, 0][..]),
        ] {
            let mut out = alloc::vec![0u8; unsigned_len(magnitude)];
            let mut der = Cursor::new(&mut out);
            put_unsigned(&mut der, magnitude);
            assert!(der.is_full());
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn anything_but_the_exact_structures_is_rejected() {
        let der = pem_decode(PKCS8_PEM, "PRIVATE KEY").unwrap().to_vec();
        let public = pem_decode(PUBLIC_PEM, "PUBLIC KEY").unwrap().to_vec();
        // Truncated anywhere, or with a byte appended.
        for cut in 0..der.len() {
            assert!(parse_pkcs8_private(&der[..cut]).is_none(), "cut at {cut}");
        }
        for cut in 0..public.len() {
            assert!(parse_spki(&public[..cut]).is_none(), "cut at {cut}");
        }
        let mut longer = der.clone();
        longer.push(0);
        assert!(parse_pkcs8_private(&longer).is_none());
        // Every single-bit change of a structural byte (the first 37 hold
        // tags, lengths, versions and the algorithm, up to n's sign octet)
        // is rejected; no change panics.
        for i in 0..der.len() {
            for bit in 0..8 {
                let mut bad = der.clone();
                bad[i] ^= 1 << bit;
                let _ = parse_pkcs8_private(&bad);
                if i < 37 {
                    assert!(parse_pkcs8_private(&bad).is_none(), "byte {i} bit {bit}");
                }
            }
        }
        // Non-minimal and negative INTEGERs, long-form short lengths.
        let parse_int = |bytes: &[u8]| Reader(bytes).unsigned().map(<[u8]>::to_vec);
        assert_eq!(parse_int(&[2, 1, 0]), Some(alloc::vec![]));
        assert_eq!(parse_int(&[2, 2, 0, 0x80]), Some(alloc::vec![0x80]));
        assert_eq!(parse_int(&[2, 2, 0, 0x7F]), None);
        assert_eq!(parse_int(&[2, 1, 0x80]), None);
        assert_eq!(parse_int(&[2, 0]), None);
        assert_eq!(parse_int(&[2, 0x81, 1, 5]), None);
        assert_eq!(parse_int(&[2, 0x80, 5, 0, 0]), None);
        // Labels and armour.
        assert!(pem_decode(PKCS8_PEM, "RSA PRIVATE KEY").is_none());
        assert!(pem_decode(&PKCS8_PEM.replace('\n', "\r\n"), "PRIVATE KEY").is_some());
        // CR alone ends a line too (found by fuzz/compact_key_import).
        assert!(pem_decode(&PKCS8_PEM.replace('\n', "\r"), "PRIVATE KEY").is_some());
        assert!(pem_decode(&PKCS8_PEM.replacen('M', "*", 2), "PRIVATE KEY").is_none());
        assert!(pem_decode(&PKCS8_PEM[..PKCS8_PEM.len() - 3], "PRIVATE KEY").is_none());
        // Explanatory text before the armour (found by fuzz/compact_key_import:
        // the rsa crate takes it, as RFC 7468 allows), but no NUL in it.
        let annotated = alloc::format!("Key of device 7\x04\n{PKCS8_PEM}");
        assert!(pem_decode(&annotated, "PRIVATE KEY").is_some());
        assert!(pem_decode(&annotated.replace('7', "\0"), "PRIVATE KEY").is_none());
    }
}

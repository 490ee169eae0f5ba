//! The forms in which devices and their documentation publish a public key,
//! turned into the DER SubjectPublicKeyInfo the key loaders take, so that
//! every form gets the same size floor and exponent checks:
//!
//! - base64 of the DER SubjectPublicKeyInfo (what devices send);
//! - PEM: `BEGIN PUBLIC KEY` (SPKI) or `BEGIN RSA PUBLIC KEY` (PKCS#1);
//! - base64 of a DER PKCS#1 RSAPublicKey;
//! - the OpenSSH wire form (string `ssh-rsa`, mpint e, mpint n; RFC 4253
//!   §6.6), in base64, alone or after the `ssh-rsa ` text prefix (with an
//!   optional comment after it), as the vendor's documentation shows it.
//!
//! Public data only; nothing is sized by the text before its length is
//! checked.

use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::wire_base64;

/// The longest text accepted (a 4096-bit key in PEM is under 1 KiB).
pub(crate) const MAX_TEXT: usize = 16 * 1024;
/// The longest DER accepted.
const MAX_DER: usize = 4096;

const SSH_RSA: &[u8] = b"ssh-rsa";
/// The AlgorithmIdentifier of rsaEncryption with NULL parameters.
const RSA_ALGORITHM: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// The published key `text` as candidate SPKI DER: exactly one candidate,
/// except for bare base64 DER, which may be SPKI or PKCS#1 (both are
/// returned, SPKI first; the loader decides).
pub(crate) fn candidates(text: &[u8]) -> Result<Vec<Vec<u8>>> {
    if text.len() > MAX_TEXT {
        return Err(Error::InvalidKey);
    }
    let text = trim(text);
    if let Some(rest) = text.strip_prefix(b"-----BEGIN ") {
        return pem(rest).map(|der| alloc::vec![der]);
    }
    if let Some(rest) = text.strip_prefix(b"ssh-rsa ") {
        let token = rest
            .split(|b| b.is_ascii_whitespace())
            .next()
            .unwrap_or(&[]);
        let wire = decode_base64(token)?;
        return ssh_wire(&wire).map(|der| alloc::vec![der]);
    }
    let bytes = decode_base64(text)?;
    if bytes.starts_with(&[0, 0, 0, 7]) && bytes[4..].starts_with(SSH_RSA) {
        return ssh_wire(&bytes).map(|der| alloc::vec![der]);
    }
    let pkcs1 = spki_of_pkcs1(&bytes);
    Ok(alloc::vec![bytes, pkcs1])
}

fn trim(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &text[start..end]
}

fn decode_base64(text: &[u8]) -> Result<Vec<u8>> {
    wire_base64::decode_bounded(text, MAX_DER).ok_or(Error::InvalidKey)
}

/// `rest` follows `-----BEGIN `: the label, the base64 body, the END line.
fn pem(rest: &[u8]) -> Result<Vec<u8>> {
    let (label, pkcs1) = if rest.starts_with(b"PUBLIC KEY-----") {
        (&b"PUBLIC KEY"[..], false)
    } else if rest.starts_with(b"RSA PUBLIC KEY-----") {
        (&b"RSA PUBLIC KEY"[..], true)
    } else {
        return Err(Error::InvalidKey);
    };
    let body = &rest[label.len() + 5..];
    let mut end_line = Vec::with_capacity(label.len() + 14);
    end_line.extend_from_slice(b"-----END ");
    end_line.extend_from_slice(label);
    end_line.extend_from_slice(b"-----");
    let end = body
        .windows(end_line.len())
        .position(|window| window == end_line.as_slice())
        .ok_or(Error::InvalidKey)?;
    if !trim(&body[end + end_line.len()..]).is_empty() {
        return Err(Error::InvalidKey);
    }
    // Lines may end in CR/LF (the wire decoder skips both); spaces or tabs
    // inside the body are not base64.
    let der = decode_base64(trim(&body[..end]))?;
    Ok(if pkcs1 { spki_of_pkcs1(&der) } else { der })
}

/// An SSH string (uint32 length, then the bytes) from the front of `input`.
fn ssh_string<'a>(input: &mut &'a [u8]) -> Result<&'a [u8]> {
    if input.len() < 4 {
        return Err(Error::InvalidKey);
    }
    let len = u32::from_be_bytes([input[0], input[1], input[2], input[3]]) as usize;
    let rest = &input[4..];
    if rest.len() < len {
        return Err(Error::InvalidKey);
    }
    let (value, rest) = rest.split_at(len);
    *input = rest;
    Ok(value)
}

/// The OpenSSH `ssh-rsa` wire form: string "ssh-rsa", mpint e, mpint n,
/// nothing after. mpints are two's complement: a negative one is refused.
fn ssh_wire(wire: &[u8]) -> Result<Vec<u8>> {
    let mut input = wire;
    if ssh_string(&mut input)? != SSH_RSA {
        return Err(Error::InvalidKey);
    }
    let e = ssh_string(&mut input)?;
    let n = ssh_string(&mut input)?;
    let negative = |m: &[u8]| m.first().is_some_and(|&b| b & 0x80 != 0);
    if !input.is_empty() || negative(e) || negative(n) {
        return Err(Error::InvalidKey);
    }
    let mut pkcs1 = der_unsigned(n);
    pkcs1.extend_from_slice(&der_unsigned(e));
    Ok(spki_of_pkcs1(&der_tlv(0x30, &pkcs1)))
}

/// A DER PKCS#1 RSAPublicKey wrapped in a SubjectPublicKeyInfo.
fn spki_of_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let mut bit_string = Vec::with_capacity(pkcs1.len() + 1);
    bit_string.push(0); // no unused bits
    bit_string.extend_from_slice(pkcs1);
    let mut content = RSA_ALGORITHM.to_vec();
    content.extend_from_slice(&der_tlv(0x03, &bit_string));
    der_tlv(0x30, &content)
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        // MAX_DER keeps every length below 2^16.
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER of the unsigned big-endian `magnitude` (minimal: leading
/// zeros dropped, one added when the high bit is set).
fn der_unsigned(magnitude: &[u8]) -> Vec<u8> {
    let first = magnitude
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(magnitude.len());
    let digits = &magnitude[first..];
    let mut content = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|&b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(digits);
    der_tlv(0x02, &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integers_are_minimal() {
        assert_eq!(der_unsigned(&[0, 0, 1]), [2, 1, 1]);
        assert_eq!(der_unsigned(&[0x80]), [2, 2, 0, 0x80]);
        assert_eq!(der_unsigned(&[]), [2, 1, 0]);
        assert_eq!(der_tlv(0x30, &[0; 300])[..4], [0x30, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn malformed_ssh_wire_forms_are_refused() {
        let string = |bytes: &[u8]| {
            let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
            out.extend_from_slice(bytes);
            out
        };
        let good = [string(SSH_RSA), string(&[1, 0, 1]), string(&[0, 0xc5, 1])].concat();
        assert!(ssh_wire(&good).is_ok());
        let cases = [
            [string(b"ssh-dss"), string(&[3]), string(&[5])].concat(),
            [string(SSH_RSA), string(&[0x81]), string(&[5])].concat(), // negative e
            [string(SSH_RSA), string(&[3]), string(&[0xc5])].concat(), // negative n
            [good.clone(), alloc::vec![0]].concat(),                   // trailing byte
            good[..good.len() - 1].to_vec(),                           // truncated
        ];
        for case in cases {
            assert_eq!(ssh_wire(&case), Err(Error::InvalidKey));
        }
    }

    #[test]
    fn too_long_texts_and_unknown_pem_labels_are_refused() {
        assert!(candidates(&[b'A'; MAX_TEXT + 1]).is_err());
        assert!(
            candidates(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err()
        );
        assert!(
            candidates(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----x").is_err()
        );
    }
}

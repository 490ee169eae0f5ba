//! The compact key backend (firmware builds, without the `rsa-crate`
//! feature): paramcrypt's own Montgomery arithmetic over 32-bit limbs, the
//! RSA private-key operation with CRT, a cached blinding pair, exponent
//! blinding and a fault check, key generation, and strict parsers and
//! encoders for exactly the key structures paramcrypt uses, in place of
//! the `rsa` crate and its DER stack. It offers the same functions as
//! `rsa_crate.rs`; host builds compile it for its tests, which compare it
//! with the `rsa` crate.

// Host builds with the `rsa` crate compile this module for its tests (and
// the fuzz targets, through `hazmat`) only.
#![cfg_attr(feature = "rsa-crate", allow(dead_code))]

pub(crate) mod bignum;
pub(crate) mod der;
pub(crate) mod keygen;
pub(crate) mod rsa;

use alloc::string::String;
use alloc::vec::Vec;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::rng::TryCryptoRng;
use crate::rsa_private::RawRsaPrivate;

pub(crate) type Private = rsa::PrivateKey;
pub(crate) type Public = rsa::PublicKey;

/// The name `KeyPair::rsa_backend` gives this backend.
pub(crate) const KEY_BACKEND_NAME: &str = "compact";

const PKCS8_LABEL: &str = "PRIVATE KEY";
const PKCS1_LABEL: &str = "RSA PRIVATE KEY";
const PUBLIC_LABEL: &str = "PUBLIC KEY";

pub(crate) fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R, bits: usize) -> Result<Private> {
    keygen::generate(rng, bits)
}

fn from_fields(fields: &der::PrivateKeyFields<'_>) -> Result<Private> {
    rsa::PrivateKey::from_components(&rsa::Components {
        n: fields.n,
        e: fields.e,
        d: fields.d,
        p: fields.p,
        q: fields.q,
        qinv: Some(fields.qinv),
    })
}

pub(crate) fn private_from_pkcs8_der(der: &[u8]) -> Result<Private> {
    from_fields(&der::parse_pkcs8_private(der).ok_or(Error::InvalidKey)?)
}

/// PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`), by
/// the label.
pub(crate) fn private_from_pem(pem: &str) -> Result<Private> {
    if let Some(der) = der::pem_decode(pem, PKCS1_LABEL) {
        return from_fields(&der::parse_pkcs1_private(&der).ok_or(Error::InvalidKey)?);
    }
    let der = der::pem_decode(pem, PKCS8_LABEL).ok_or(Error::InvalidKey)?;
    private_from_pkcs8_der(&der)
}

pub(crate) fn private_to_pkcs8_der(key: &Private) -> Result<Zeroizing<Vec<u8>>> {
    Ok(der::encode_pkcs8_private(&key.component_bytes()))
}

pub(crate) fn private_to_pkcs8_pem(key: &Private) -> Result<Zeroizing<String>> {
    Ok(der::pem_encode(PKCS8_LABEL, &private_to_pkcs8_der(key)?))
}

pub(crate) fn public_of(key: &Private) -> Public {
    key.public().clone()
}

/// d as k big-endian octets (the implicit rejection derives a key from it).
pub(crate) fn d_bytes(key: &Private) -> Zeroizing<Vec<u8>> {
    key.d_bytes()
}

pub(crate) fn raw_decrypt<R: TryCryptoRng + ?Sized>(
    key: &Private,
    rng: &mut R,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    key.raw_decrypt(rng, ciphertext)
}

pub(crate) fn public_from_der(der: &[u8]) -> Result<Public> {
    let (n, e) = der::parse_spki(der).ok_or(Error::InvalidKey)?;
    rsa::PublicKey::new(n, e)
}

pub(crate) fn public_from_pem(pem: &str) -> Result<Public> {
    public_from_der(&der::pem_decode(pem, PUBLIC_LABEL).ok_or(Error::InvalidKey)?)
}

pub(crate) fn public_to_der(key: &Public) -> Result<Vec<u8>> {
    Ok(der::encode_spki(&key.n_bytes(), &key.e_bytes()))
}

pub(crate) fn public_to_pem(key: &Public) -> Result<String> {
    Ok(String::clone(&der::pem_encode(
        PUBLIC_LABEL,
        &public_to_der(key)?,
    )))
}

pub(crate) fn public_bits(key: &Public) -> usize {
    key.bits()
}

pub(crate) fn public_size(key: &Public) -> usize {
    key.size()
}

pub(crate) fn raw_encrypt(key: &Public, em: &[u8]) -> Result<Vec<u8>> {
    key.raw_encrypt(em)
}

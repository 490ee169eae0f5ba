//! The key backend of std builds (feature `rsa-crate`): RSA keys, their
//! encodings, key generation and the RSA operations (where AWS-LC does not run) from the `rsa`
//! crate (with its DER stack). The compact backend (`compact/`) offers the
//! same functions for firmware builds; `keys.rs` uses whichever is built.

use alloc::string::String;
use alloc::vec::Vec;
use rsa::BoxedUint;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::rng::TryCryptoRng;
use crate::rsa_private::RawRsaPrivate;

pub(crate) type Private = rsa::PrivateKey;
pub(crate) type Public = rsa::PublicKey;

/// The name `KeyPair::rsa_backend` gives this backend's own arithmetic.
pub(crate) const KEY_BACKEND_NAME: &str = "rsa-crate";

pub(crate) fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R, bits: usize) -> Result<Private> {
    rsa::PrivateKey::new(rng, bits).map_err(|e| rsa_error(e, Error::InvalidKey))
}

/// Refuses an AlgorithmIdentifier other than rsaEncryption: the `rsa` crate
/// also takes id-RSASSA-PSS, whose keys are for signatures only (the
/// compact backend's parser takes rsaEncryption alone, too).
fn rsa_encryption_only(oid: rsa::pkcs8::ObjectIdentifier) -> Result<()> {
    if oid == rsa::pkcs1::ALGORITHM_OID {
        Ok(())
    } else {
        Err(Error::InvalidKey)
    }
}

pub(crate) fn private_from_pkcs8_der(der: &[u8]) -> Result<Private> {
    let info = rsa::pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|_| Error::InvalidKey)?;
    rsa_encryption_only(info.algorithm.oid)?;
    rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| Error::InvalidKey)
}

/// PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`), by
/// the label.
pub(crate) fn private_from_pem(pem: &str) -> Result<Private> {
    if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        return rsa::PrivateKey::from_pkcs1_pem(pem).map_err(|_| Error::InvalidKey);
    }
    // Wiped when dropped: the DER of the private key.
    let (label, der) = rsa::pkcs8::SecretDocument::from_pem(pem).map_err(|_| Error::InvalidKey)?;
    if label != "PRIVATE KEY" {
        return Err(Error::InvalidKey);
    }
    private_from_pkcs8_der(der.as_bytes())
}

pub(crate) fn private_to_pkcs8_der(key: &Private) -> Result<Zeroizing<Vec<u8>>> {
    let doc = key.to_pkcs8_der().map_err(|_| Error::InvalidKey)?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

pub(crate) fn private_to_pkcs8_pem(key: &Private) -> Result<Zeroizing<String>> {
    key.to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| Error::InvalidKey)
}

pub(crate) fn public_of(key: &Private) -> Public {
    key.to_public_key()
}

/// d as k big-endian octets (the implicit rejection derives a key from it).
pub(crate) fn d_bytes(key: &Private) -> Zeroizing<Vec<u8>> {
    i2osp(key.d(), key.size())
}

pub(crate) fn raw_decrypt<R: TryCryptoRng + ?Sized>(
    key: &Private,
    rng: &mut R,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    key.raw_decrypt(rng, ciphertext)
}

pub(crate) fn public_from_der(der: &[u8]) -> Result<Public> {
    let spki = rsa::pkcs8::SubjectPublicKeyInfoRef::try_from(der).map_err(|_| Error::InvalidKey)?;
    rsa_encryption_only(spki.algorithm.oid)?;
    rsa::PublicKey::from_public_key_der(der).map_err(|_| Error::InvalidKey)
}

pub(crate) fn public_from_pem(pem: &str) -> Result<Public> {
    let (label, der) = rsa::pkcs8::Document::from_pem(pem).map_err(|_| Error::InvalidKey)?;
    if label != "PUBLIC KEY" {
        return Err(Error::InvalidKey);
    }
    public_from_der(der.as_bytes())
}

pub(crate) fn public_to_der(key: &Public) -> Result<Vec<u8>> {
    key.to_public_key_der()
        .map(|doc| doc.into_vec())
        .map_err(|_| Error::InvalidKey)
}

pub(crate) fn public_to_pem(key: &Public) -> Result<String> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|_| Error::InvalidKey)
}

pub(crate) fn public_bits(key: &Public) -> usize {
    key.n().bit_width() as usize
}

pub(crate) fn public_size(key: &Public) -> usize {
    key.size()
}

/// RSAEP on `em` (k octets, below the modulus; [`Error::KeyTooSmall`]
/// otherwise).
pub(crate) fn raw_encrypt(key: &Public, em: &[u8]) -> Result<Vec<u8>> {
    let m = BoxedUint::from_be_slice(em, key.n_bits_precision()).map_err(|_| Error::KeyTooSmall)?;
    let c = rsa::hazmat::rsa_encrypt(key, &m).map_err(|_| Error::KeyTooSmall)?;
    Ok(i2osp(&c, key.size()).to_vec())
}

impl RawRsaPrivate for rsa::PrivateKey {
    fn raw_decrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let k = self.size();
        if ciphertext.len() != k {
            return Err(Error::EncryptionFailed);
        }
        let c = BoxedUint::from_be_slice(ciphertext, self.n_bits_precision())
            .map_err(|_| Error::EncryptionFailed)?;
        let m = Zeroizing::new(
            rsa::hazmat::rsa_decrypt_and_check(self, Some(rng), &c)
                .map_err(|e| rsa_error(e, Error::EncryptionFailed))?,
        );
        Ok(i2osp(&m, k))
    }
}

/// I2OSP: `value` as exactly `len` big-endian octets. The storage precision
/// of `value` is public (that of the modulus); octets above `len` are zero
/// for every value below the modulus, and dropped.
pub(crate) fn i2osp(value: &BoxedUint, len: usize) -> Zeroizing<Vec<u8>> {
    let bytes = Zeroizing::new(value.to_be_bytes());
    let mut out = Zeroizing::new(alloc::vec![0u8; len]);
    if bytes.len() >= len {
        out.copy_from_slice(&bytes[bytes.len() - len..]);
    } else {
        out[len - bytes.len()..].copy_from_slice(&bytes);
    }
    out
}

/// Maps an `rsa` error from an operation that consumed randomness: an RNG
/// failure stays [`Error::Rng`], anything else becomes `other`.
pub(crate) fn rsa_error(err: rsa::Error, other: Error) -> Error {
    match err {
        rsa::Error::Rng => Error::Rng,
        _ => other,
    }
}

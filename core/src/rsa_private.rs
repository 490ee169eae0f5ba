//! The seam for the RSA private-key operation: the raw operation (RSADP,
//! c -> c^d mod n as k octets, blinded, with the CRT fault check) behind a
//! small interface, so that the padding layers above it (paramcrypt's own
//! PKCS#1 v1.5 decoding with implicit rejection, `pkcs1v15.rs`) do not care
//! which arithmetic runs it. Today's one backend is the `rsa` crate.

use alloc::vec::Vec;
use rsa::BoxedUint;
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::rng::{self, TryCryptoRng};

/// The raw RSA private-key operation.
pub(crate) trait RawRsaPrivate {
    /// RSADP on the k-octet `ciphertext`: its plaintext as k octets
    /// (I2OSP), computed in constant time with `rng` blinding it. An error
    /// for a ciphertext of another length or not below the modulus (public
    /// facts), a failed fault check, or an RNG failure.
    fn raw_decrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>>;
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
                .map_err(|e| rng::rsa_error(e, Error::EncryptionFailed))?,
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

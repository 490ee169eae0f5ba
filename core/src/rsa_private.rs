//! The seam for the RSA private-key operation: the raw operation (RSADP,
//! c -> c^d mod n as k octets, blinded, with the CRT fault check) behind a
//! small interface, so that the padding layers above it (paramcrypt's own
//! PKCS#1 v1.5 decoding with implicit rejection, `pkcs1v15.rs`, and OAEP)
//! do not care which arithmetic runs it. Its backends: the `rsa` crate
//! (`rsa_crate.rs`), AWS-LC over it on servers (below), and the compact
//! arithmetic in firmware (`compact/`).

use alloc::vec::Vec;
use zeroize::Zeroizing;

use crate::error::Result;
use crate::rng::TryCryptoRng;

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

/// The accelerated backend of a key pair, where it is built: AWS-LC on
/// servers (feature `aws-lc`), nothing elsewhere. `raw_decrypt` answers
/// `None` when there is no accelerated key, and the key backend's runs.
// paramcrypt_aws_lc: where the aws-lc backend is built (build.rs).
#[cfg(all(
    paramcrypt_aws_lc,
    not(miri), // Miri cannot run AWS-LC's C code: the key backend runs
))]
pub(crate) mod accelerated {
    use super::*;
    use alloc::sync::Arc;
    use rsa::pkcs1::EncodeRsaPrivateKey;

    pub(crate) type Key = Option<Arc<paramcrypt_aws_lc::PrivateKey>>;
    pub(crate) type PublicKey = Option<Arc<paramcrypt_aws_lc::PublicKey>>;

    /// AWS-LC's copy of a public key, through its PKCS#1 encoding.
    pub(crate) fn load_public(key: &rsa::PublicKey) -> PublicKey {
        use rsa::pkcs1::EncodeRsaPublicKey;
        let der = key.to_pkcs1_der().ok()?;
        paramcrypt_aws_lc::PublicKey::from_pkcs1_der(der.as_bytes()).map(Arc::new)
    }

    /// RSAEP with AWS-LC; `None` when there is no AWS-LC key or it refuses.
    pub(crate) fn raw_encrypt(key: &PublicKey, em: &[u8]) -> Option<Vec<u8>> {
        let key = key.as_ref()?;
        let mut out = alloc::vec![0u8; key.size()];
        key.raw_encrypt(em, &mut out).then_some(out)
    }

    pub(crate) const NAME: &str = "aws-lc";

    /// AES-128-CBC encryption of whole blocks in place with AWS-LC; `false`
    /// (nothing written) when `blocks` is not whole blocks.
    pub(crate) fn aes128_cbc_encrypt_in_place(
        key: &[u8; 16],
        chain: &mut [u8; 16],
        blocks: &mut [u8],
    ) -> bool {
        paramcrypt_aws_lc::aes128_cbc_encrypt_in_place(key, chain, blocks)
    }

    pub(crate) fn is_loaded(key: &Key) -> bool {
        key.is_some()
    }

    /// AWS-LC's copy of the key, through its PKCS#1 encoding. A key AWS-LC
    /// does not take stays on the key backend.
    pub(crate) fn load(private: &rsa::PrivateKey) -> Key {
        let der = private.to_pkcs1_der().ok()?;
        paramcrypt_aws_lc::PrivateKey::from_pkcs1_der(der.as_bytes()).map(Arc::new)
    }

    /// `None` when there is no AWS-LC key or AWS-LC refuses the ciphertext
    /// (of another length, or not below the modulus): the key
    /// backend's operation then answers with its error, before drawing randomness.
    ///
    /// AWS-LC also refuses the ciphertexts 0 and 1, whose RSADP is the
    /// ciphertext itself (as the `rsa` crate computes). They are answered
    /// here, after the same AWS-LC operation on a stand-in ciphertext: the
    /// work does not depend on them, and a peer never reaches the key
    /// backend's operation and its caller-supplied RNG (the `*_with_rng` functions
    /// promise not to call it on AWS-LC builds). The ciphertext is public,
    /// so the branch reveals nothing.
    pub(crate) fn raw_decrypt(key: &Key, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let key = key.as_ref()?;
        let k = key.size();
        let mut out = Zeroizing::new(alloc::vec![0u8; k]);
        if key.raw_decrypt(ciphertext, &mut out) {
            return Some(out);
        }
        let (&last, rest) = ciphertext.split_last()?;
        if ciphertext.len() != k || last > 1 || rest.iter().any(|&b| b != 0) {
            return None;
        }
        let mut stand_in = alloc::vec![0u8; k];
        stand_in[k - 1] = 2;
        let _ = key.raw_decrypt(&stand_in, &mut out);
        out.fill(0);
        out[k - 1] = last;
        Some(out)
    }
}

#[cfg(not(all(paramcrypt_aws_lc, not(miri))))]
pub(crate) mod accelerated {
    use super::*;

    /// No accelerated copy of a key.
    #[derive(Clone, Copy, Default)]
    pub(crate) struct Absent;

    pub(crate) type Key = Absent;
    pub(crate) type PublicKey = Absent;

    pub(crate) fn load_public(_key: &crate::key_backend::Public) -> PublicKey {
        Absent
    }

    pub(crate) fn raw_encrypt(_key: &PublicKey, _em: &[u8]) -> Option<Vec<u8>> {
        None
    }

    pub(crate) const NAME: &str = crate::key_backend::KEY_BACKEND_NAME;

    /// No AWS-LC: the `aes` crate's AES-CBC runs.
    pub(crate) fn aes128_cbc_encrypt_in_place(
        _key: &[u8; 16],
        _chain: &mut [u8; 16],
        _blocks: &mut [u8],
    ) -> bool {
        false
    }

    pub(crate) fn is_loaded(_key: &Key) -> bool {
        false
    }

    pub(crate) fn load(_private: &crate::key_backend::Private) -> Key {
        Absent
    }

    pub(crate) fn raw_decrypt(_key: &Key, _ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
}

//! The common key and its RSA-wrapped form, `encKey`.
//!
//! A client makes a [`Session`] (random AES-128 key and IV), wraps it with the
//! server's public key into `encKey`, and sends that with every request that
//! carries secrets. The server unwraps it with [`KeyPair::unwrap`] into the same
//! session.
//!
//! The `encKey` plaintext is, by default, the ASCII text `hex(key):hex(iv)`
//! (65 bytes, lower case; either case accepted). In [`Mode::PerMessageIv`] it
//! is the raw 16-byte key, and every parameter carries its own IV.

use alloc::string::String;
use alloc::vec::Vec;
#[cfg(feature = "oaep")]
use sha1::Sha1;
#[cfg(feature = "oaep")]
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::keys::{KeyPair, PublicKey};
use crate::pkcs1v15;
use crate::rng::{self, TryCryptoRng};
use crate::wire_base64;

/// AES-128 key length in bytes.
pub const KEY_LEN: usize = 16;
/// AES-CBC IV length in bytes.
pub const IV_LEN: usize = 16;
/// Length of the key:iv plaintext: 32 hex digits, a colon, 32 hex digits.
pub const KEY_IV_TEXT_LEN: usize = 2 * KEY_LEN + 1 + 2 * IV_LEN;

/// The RSA encryption scheme that wraps the common key.
///
/// A server is configured for exactly one; it never tries several, because
/// trying several is an oracle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Padding {
    /// RSAES-PKCS1-v1_5 (RFC 8017 §7.2), what deployed devices use. The default.
    #[default]
    Pkcs1v15,
    /// RSAES-OAEP with SHA-1 and MGF1-SHA-1 (Java's `OAEPWithSHA-1AndMGF1Padding`).
    /// Needs the `oaep` feature (on by default; off in firmware builds).
    #[cfg(feature = "oaep")]
    OaepSha1,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256. With a 1024-bit key it fits
    /// at most 62 bytes, so only [`Mode::PerMessageIv`] works there; wrapping a
    /// key:iv session fails with [`Error::KeyTooSmall`].
    #[cfg(feature = "oaep")]
    OaepSha256,
}

/// How the IV of the secret parameters is chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The IV travels inside `encKey` (`hex(key):hex(iv)`) and is used for every
    /// parameter. What deployed devices and clients do. The default.
    #[default]
    KeyIv,
    /// `encKey` carries the raw 16-byte key only; every parameter is
    /// `base64(IV || ciphertext)` with a fresh random IV.
    PerMessageIv,
}

/// A common key: an AES-128 key, an IV, and the IV mode.
///
/// Made by a client with [`Session::new`], or by a server from an `encKey` with
/// [`KeyPair::unwrap`]. Key and IV are zeroized when the session is dropped.
/// A `Session` is immutable: share it freely between threads.
#[derive(Clone)]
pub struct Session {
    pub(crate) key: [u8; KEY_LEN],
    pub(crate) iv: [u8; IV_LEN],
    pub(crate) mode: Mode,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.key.zeroize();
        self.iv.zeroize();
    }
}

impl ZeroizeOnDrop for Session {}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print key or IV.
        f.debug_struct("Session")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A fresh random key and IV from the OS RNG.
    #[cfg(feature = "std")]
    pub fn new(mode: Mode) -> Result<Self> {
        Self::new_with_rng(&mut rng::OsRng, mode)
    }

    /// A fresh random key and IV from `rng`.
    pub fn new_with_rng<R: TryCryptoRng + ?Sized>(rng: &mut R, mode: Mode) -> Result<Self> {
        let mut session = Session {
            key: [0; KEY_LEN],
            iv: [0; IV_LEN],
            mode,
        };
        rng::fill(rng, &mut session.key)?;
        if mode == Mode::KeyIv {
            rng::fill(rng, &mut session.iv)?;
        }
        Ok(session)
    }

    /// The IV mode of this session.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Wraps this session for `public_key` into the base64 `encKey`, using the OS RNG.
    #[cfg(feature = "std")]
    pub fn wrap(&self, public_key: &PublicKey, padding: Padding) -> Result<String> {
        self.wrap_with_rng(&mut rng::OsRng, public_key, padding)
    }

    /// Wraps this session for `public_key` into the base64 `encKey`.
    pub fn wrap_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        public_key: &PublicKey,
        padding: Padding,
    ) -> Result<String> {
        let plaintext = self.enc_key_plaintext();
        let k = public_key.size();
        // The padding is ours, with randomness from `rng` on every backend;
        // the RSA public-key operation runs on AWS-LC where it is built.
        let em = match padding {
            Padding::Pkcs1v15 => pkcs1v15::encode(rng, &plaintext, k)?,
            #[cfg(feature = "oaep")]
            Padding::OaepSha1 => crate::oaep::encode::<Sha1, _>(rng, &plaintext, k)?,
            #[cfg(feature = "oaep")]
            Padding::OaepSha256 => crate::oaep::encode::<Sha256, _>(rng, &plaintext, k)?,
        };
        let wrapped = public_key.raw_encrypt(&em)?;
        Ok(wire_base64::encode(&wrapped))
    }

    /// Length of the base64 `encKey` for a public key of `modulus_bytes`
    /// bytes; [`Error::TooLong`] beyond `isize::MAX`.
    pub const fn wrapped_len(modulus_bytes: usize) -> Result<usize> {
        match wire_base64::checked_encoded_len(modulus_bytes) {
            Some(len) => Ok(len),
            None => Err(Error::TooLong),
        }
    }

    fn enc_key_plaintext(&self) -> Zeroizing<Vec<u8>> {
        match self.mode {
            Mode::KeyIv => {
                let mut text = Zeroizing::new(alloc::vec![0u8; KEY_IV_TEXT_LEN]);
                let (key_hex, rest) = text.split_at_mut(2 * KEY_LEN);
                let (colon, iv_hex) = rest.split_at_mut(1);
                // Exact sizes, so encoding cannot fail.
                let _ = base16ct::lower::encode(&self.key, key_hex);
                let _ = base16ct::lower::encode(&self.iv, iv_hex);
                colon[0] = b':';
                text
            }
            Mode::PerMessageIv => Zeroizing::new(self.key.to_vec()),
        }
    }

    /// Parses an unwrapped `encKey` plaintext, detecting the mode from its length.
    pub(crate) fn from_enc_key_plaintext(plaintext: &[u8]) -> Result<Self> {
        let mut session = Session {
            key: [0; KEY_LEN],
            iv: [0; IV_LEN],
            mode: Mode::KeyIv,
        };
        match plaintext.len() {
            KEY_IV_TEXT_LEN => {
                // base16ct decodes in constant time; the single accept/reject
                // at the end is the uniform failure either way.
                let key_ok =
                    base16ct::mixed::decode(&plaintext[..2 * KEY_LEN], &mut session.key).is_ok();
                let iv_ok =
                    base16ct::mixed::decode(&plaintext[2 * KEY_LEN + 1..], &mut session.iv).is_ok();
                let colon_ok = plaintext[2 * KEY_LEN] == b':';
                if key_ok & iv_ok & colon_ok {
                    Ok(session)
                } else {
                    Err(Error::EncryptionFailed)
                }
            }
            KEY_LEN => {
                session.key.copy_from_slice(plaintext);
                session.mode = Mode::PerMessageIv;
                Ok(session)
            }
            _ => Err(Error::EncryptionFailed),
        }
    }
}

impl KeyPair {
    /// Unwraps a base64 `encKey` into the client's session, using the OS RNG
    /// for RSA blinding.
    ///
    /// `padding` is the server's configured scheme. Every failure is
    /// [`Error::EncryptionFailed`] (except an RNG failure, [`Error::Rng`]).
    #[cfg(feature = "std")]
    pub fn unwrap(&self, enc_key: &[u8], padding: Padding) -> Result<Session> {
        self.unwrap_with_rng(&mut rng::OsRng, enc_key, padding)
    }

    /// Unwraps a base64 `encKey` into the client's session; `rng` blinds the
    /// RSA operation on the `rsa-crate` and `compact` backends. On AWS-LC ([`KeyPair::rsa_backend`],
    /// the `aws-lc` feature) AWS-LC blinds with its own generator, seeded by
    /// the OS, and `rng` is not used.
    ///
    /// PKCS#1 v1.5 uses implicit rejection: a bad padding yields a synthetic
    /// plaintext that then fails to parse, so it ends in the same
    /// [`Error::EncryptionFailed`] as every other bad input.
    pub fn unwrap_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        enc_key: &[u8],
        padding: Padding,
    ) -> Result<Session> {
        // Nothing longer than the modulus allows is decoded; the buffer is
        // modulus-sized whatever the peer sends.
        let wrapped = wire_base64::decode_bounded(enc_key, self.public_key().size())
            .ok_or(Error::EncryptionFailed)?;
        let plaintext = self.rsa_decrypt(rng, &wrapped, padding)?;
        Session::from_enc_key_plaintext(&plaintext)
    }

    /// Decrypts the binary RSA ciphertext of an `encKey`: the plaintext, or
    /// the uniform failure. With PKCS#1 v1.5 a bad padding returns a
    /// deterministic synthetic plaintext (implicit rejection).
    pub(crate) fn rsa_decrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        wrapped: &[u8],
        padding: Padding,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if wrapped.len() != self.public_key().size() {
            return Err(Error::EncryptionFailed);
        }
        match padding {
            // The raw operation through the seam, then our own decoding
            // with implicit rejection (byte-identical to the rsa crate's).
            Padding::Pkcs1v15 => {
                let em = self.raw_decrypt(rng, wrapped)?;
                Ok(pkcs1v15::decrypt(self.rejection_key(), em, wrapped))
            }
            #[cfg(feature = "oaep")]
            Padding::OaepSha1 => crate::oaep::decode::<Sha1>(self.raw_decrypt(rng, wrapped)?),
            #[cfg(feature = "oaep")]
            Padding::OaepSha256 => crate::oaep::decode::<Sha256>(self.raw_decrypt(rng, wrapped)?),
        }
    }
}

/// Low-level access for test suites that cross-check against independent
/// implementations and published vectors. Not for protocol code: these
/// bypass the choices (random key and IV, uniform parsing) that keep the
/// protocol safe.
#[cfg(feature = "hazmat")]
pub mod hazmat {
    use super::*;

    impl Session {
        /// A session from a given key and IV (the IV is ignored in
        /// [`Mode::PerMessageIv`]).
        pub fn from_parts(key: [u8; KEY_LEN], iv: [u8; IV_LEN], mode: Mode) -> Session {
            Session { key, iv, mode }
        }

        /// The AES key.
        pub fn key(&self) -> &[u8; KEY_LEN] {
            &self.key
        }

        /// The IV of [`Mode::KeyIv`].
        pub fn iv(&self) -> &[u8; IV_LEN] {
            &self.iv
        }
    }

    impl KeyPair {
        /// The same key pair without its AWS-LC copy, so that its RSA
        /// private-key operation runs on the key backend (`rsa-crate` on
        /// servers), to compare the backends.
        pub fn without_aws_lc(&self) -> KeyPair {
            let mut key = self.clone();
            key.accelerated = Default::default();
            key
        }
    }

    impl PublicKey {
        /// The same public key without its AWS-LC copy (its RSA operation
        /// on the key backend), to compare the backends.
        pub fn without_aws_lc(&self) -> PublicKey {
            self.without_accelerated_copy()
        }
    }

    impl KeyPair {
        /// RSA-decrypts a binary `encKey` ciphertext without parsing the
        /// plaintext. PKCS#1 v1.5 returns a synthetic plaintext for a bad padding.
        pub fn decrypt_enc_key_plaintext<R: TryCryptoRng + ?Sized>(
            &self,
            rng: &mut R,
            wrapped: &[u8],
            padding: Padding,
        ) -> Result<Zeroizing<Vec<u8>>> {
            self.rsa_decrypt(rng, wrapped, padding)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_iv_text_is_lower_hex_colon_hex() {
        let session = Session {
            key: *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff",
            iv: [0xAB; 16],
            mode: Mode::KeyIv,
        };
        let text = session.enc_key_plaintext();
        assert_eq!(
            core::str::from_utf8(&text).unwrap(),
            "00112233445566778899aabbccddeeff:abababababababababababababababab"
        );
        let parsed = Session::from_enc_key_plaintext(&text).unwrap();
        assert_eq!(
            (parsed.key, parsed.iv, parsed.mode),
            (session.key, session.iv, Mode::KeyIv)
        );
    }

    #[test]
    fn key_iv_text_accepts_upper_case_and_rejects_malformed() {
        let upper = b"00112233445566778899AABBCCDDEEFF:ABABABABABABABABABABABABABABABAB";
        let parsed = Session::from_enc_key_plaintext(upper).unwrap();
        assert_eq!(parsed.key[10], 0xAA);
        assert_eq!(parsed.iv, [0xAB; 16]);

        let mut bad_colon = *upper;
        bad_colon[32] = b';';
        let mut bad_hex = *upper;
        bad_hex[5] = b'g';
        let mut bad_iv_hex = *upper;
        bad_iv_hex[64] = b' ';
        for bad in [
            &bad_colon[..],
            &bad_hex[..],
            &bad_iv_hex[..],
            &upper[..64],
            b"",
        ] {
            assert_eq!(
                Session::from_enc_key_plaintext(bad).unwrap_err(),
                Error::EncryptionFailed
            );
        }
    }

    #[test]
    fn raw_key_means_per_message_iv() {
        let parsed = Session::from_enc_key_plaintext(&[7u8; 16]).unwrap();
        assert_eq!(parsed.mode, Mode::PerMessageIv);
        assert_eq!(parsed.key, [7u8; 16]);
        assert_eq!(
            Session::from_enc_key_plaintext(&[7u8; 15]).unwrap_err(),
            Error::EncryptionFailed
        );
        assert_eq!(
            Session::from_enc_key_plaintext(&[7u8; 17]).unwrap_err(),
            Error::EncryptionFailed
        );
    }
}

//! The server's RSA key pair and the public key that clients wrap to.

use alloc::string::String;
use alloc::vec::Vec;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key_backend as backend;
#[cfg(feature = "std")]
use crate::rng;
use crate::rng::TryCryptoRng;
use crate::wire_base64;

/// The RSA key sizes that [`KeyPair::generate`] accepts, in bits. New keys
/// are never smaller than 2048 bits.
pub const SUPPORTED_KEY_BITS: [usize; 3] = [2048, 3072, 4096];

/// The key size used when none is given.
pub const DEFAULT_KEY_BITS: usize = 2048;

/// The modulus sizes accepted when loading a key, in bits. Smaller keys are
/// weak; larger ones would let a peer's key make every operation slow.
pub const LOADABLE_KEY_BITS: core::ops::RangeInclusive<usize> = 2048..=4096;

/// Which key sizes a loaded key may have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeySizes {
    /// 2048 to 4096 bits ([`LOADABLE_KEY_BITS`]). The default everywhere.
    #[default]
    Modern,
    /// 1024 to 4096 bits: an explicit opt-in, only to talk to legacy peers
    /// whose keys are 1024-bit. 1024-bit RSA is weak; generate 2048 bits or
    /// more for anything new.
    AllowLegacy1024,
}

impl KeySizes {
    /// The modulus sizes in bits this setting accepts.
    pub const fn bits(self) -> core::ops::RangeInclusive<usize> {
        match self {
            KeySizes::Modern => LOADABLE_KEY_BITS,
            KeySizes::AllowLegacy1024 => 1024..=4096,
        }
    }
}

/// Longer than the DER SubjectPublicKeyInfo of any loadable key (550 bytes
/// for 4096 bits): the bound of a `getPublicKey` value's decoding.
const MAX_PUBLIC_KEY_DER: usize = 1024;

fn check_loadable(bits: usize, sizes: KeySizes) -> Result<()> {
    if sizes.bits().contains(&bits) {
        Ok(())
    } else {
        Err(Error::InvalidKey)
    }
}

/// The server's RSA key pair.
///
/// Generated once and kept (key generation is slow on small CPUs): store it
/// with [`KeyPair::to_pkcs8_pem`] or [`KeyPair::to_pkcs8_der`] and load it with
/// [`KeyPair::from_pem`] or [`KeyPair::from_pkcs8_der`]. The private key is
/// zeroized when the key pair is dropped. A `KeyPair` is `Send + Sync`: share
/// one between request threads.
#[derive(Clone)]
pub struct KeyPair {
    private: backend::Private,
    public: PublicKey,
    /// PKCS#1 v1.5 implicit rejection's key-only derivation, done at load.
    rejection: crate::pkcs1v15::RejectionKey,
    /// The same key in the accelerated backend, where there is one.
    pub(crate) accelerated: crate::rsa_private::accelerated::Key,
}

impl core::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the private key.
        f.debug_struct("KeyPair")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Generates a key pair of `bits` bits (2048, 3072 or 4096) from the OS RNG.
    #[cfg(feature = "std")]
    pub fn generate(bits: usize) -> Result<Self> {
        Self::generate_with_rng(&mut rng::OsRng, bits)
    }

    /// Generates a key pair of `bits` bits (2048, 3072 or 4096) from `rng`.
    pub fn generate_with_rng<R: TryCryptoRng + ?Sized>(rng: &mut R, bits: usize) -> Result<Self> {
        if !SUPPORTED_KEY_BITS.contains(&bits) {
            return Err(Error::UnsupportedKeySize);
        }
        Ok(Self::from_private(backend::generate(rng, bits)?))
    }

    fn from_private(private: backend::Private) -> Self {
        let public = PublicKey::new(backend::public_of(&private));
        let rejection = crate::pkcs1v15::RejectionKey::new(&backend::d_bytes(&private));
        KeyPair {
            accelerated: crate::rsa_private::accelerated::load(&private),
            private,
            public,
            rejection,
        }
    }

    fn from_loaded(private: backend::Private, sizes: KeySizes) -> Result<Self> {
        let key = Self::from_private(private);
        check_loadable(key.bits(), sizes)?;
        Ok(key)
    }

    /// Loads a PKCS#8 DER private key (`PrivateKeyInfo`, unencrypted) of
    /// 2048 to 4096 bits.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        Self::from_pkcs8_der_with(der, KeySizes::Modern)
    }

    /// Like [`KeyPair::from_pkcs8_der`], with the key sizes `sizes` allows.
    pub fn from_pkcs8_der_with(der: &[u8], sizes: KeySizes) -> Result<Self> {
        Self::from_loaded(backend::private_from_pkcs8_der(der)?, sizes)
    }

    /// Loads a PEM private key of 2048 to 4096 bits: PKCS#8 (`BEGIN PRIVATE
    /// KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`), chosen by the PEM label.
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::from_pem_with(pem, KeySizes::Modern)
    }

    /// Like [`KeyPair::from_pem`], with the key sizes `sizes` allows.
    pub fn from_pem_with(pem: &str, sizes: KeySizes) -> Result<Self> {
        Self::from_loaded(backend::private_from_pem(pem)?, sizes)
    }

    /// Exports the private key as PKCS#8 DER. The buffer is zeroized when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        backend::private_to_pkcs8_der(&self.private)
    }

    /// Exports the private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`, LF line
    /// endings). The string is zeroized when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        backend::private_to_pkcs8_pem(&self.private)
    }

    /// The public half, as clients see it.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.public.bits()
    }

    pub(crate) fn rejection_key(&self) -> &crate::pkcs1v15::RejectionKey {
        &self.rejection
    }

    /// The backend that runs this key's RSA private-key operation: "aws-lc"
    /// (servers built with the `aws-lc` feature), "rsa-crate" (the `rsa`
    /// crate's arithmetic) or "compact" (paramcrypt's own, in firmware
    /// builds).
    pub fn rsa_backend(&self) -> &'static str {
        if crate::rsa_private::accelerated::is_loaded(&self.accelerated) {
            crate::rsa_private::accelerated::NAME
        } else {
            backend::KEY_BACKEND_NAME
        }
    }

    /// The raw RSA private-key operation, on the accelerated backend where
    /// there is one (which blinds with its own generator, not `rng`).
    pub(crate) fn raw_decrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        match crate::rsa_private::accelerated::raw_decrypt(&self.accelerated, ciphertext) {
            Some(em) => Ok(em),
            None => backend::raw_decrypt(&self.private, rng, ciphertext),
        }
    }
}

/// An RSA public key: what `getPublicKey` returns and what a client wraps its
/// common key to.
#[derive(Clone)]
pub struct PublicKey(backend::Public, crate::rsa_private::accelerated::PublicKey);

impl core::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("PublicKey").field(&self.0).finish()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for PublicKey {}

impl PublicKey {
    /// The key, with its copy in the accelerated backend where there is one.
    fn new(key: backend::Public) -> Self {
        let accelerated = crate::rsa_private::accelerated::load_public(&key);
        PublicKey(key, accelerated)
    }

    /// RSAEP on the encoded message `em` (k octets, below the modulus), on
    /// the accelerated backend where there is one.
    pub(crate) fn raw_encrypt(&self, em: &[u8]) -> Result<Vec<u8>> {
        if let Some(c) = crate::rsa_private::accelerated::raw_encrypt(&self.1, em) {
            return Ok(c);
        }
        backend::raw_encrypt(&self.0, em)
    }

    /// The same key without its accelerated copy (tests compare the backends).
    #[cfg(feature = "hazmat")]
    pub(crate) fn without_accelerated_copy(&self) -> Self {
        PublicKey(self.0.clone(), Default::default())
    }

    /// Parses the `getPublicKey` value: base64 of the DER SubjectPublicKeyInfo
    /// of a 2048- to 4096-bit RSA key. CR/LF line breaks are tolerated.
    pub fn from_base64(text: &str) -> Result<Self> {
        Self::from_base64_with(text, KeySizes::Modern)
    }

    /// Like [`PublicKey::from_base64`], with the key sizes `sizes` allows.
    pub fn from_base64_with(text: &str, sizes: KeySizes) -> Result<Self> {
        let der = wire_base64::decode_bounded(text.as_bytes(), MAX_PUBLIC_KEY_DER)
            .ok_or(Error::InvalidKey)?;
        Self::from_der_with(&der, sizes)
    }

    /// Parses a DER SubjectPublicKeyInfo of a 2048- to 4096-bit RSA key.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_der_with(der, KeySizes::Modern)
    }

    /// Like [`PublicKey::from_der`], with the key sizes `sizes` allows.
    pub fn from_der_with(der: &[u8], sizes: KeySizes) -> Result<Self> {
        Self::from_loaded(backend::public_from_der(der), sizes)
    }

    /// Parses a PEM SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) of a 2048- to
    /// 4096-bit RSA key.
    pub fn from_pem(pem: &str) -> Result<Self> {
        Self::from_pem_with(pem, KeySizes::Modern)
    }

    /// Like [`PublicKey::from_pem`], with the key sizes `sizes` allows.
    pub fn from_pem_with(pem: &str, sizes: KeySizes) -> Result<Self> {
        Self::from_loaded(backend::public_from_pem(pem), sizes)
    }

    fn from_loaded(parsed: Result<backend::Public>, sizes: KeySizes) -> Result<Self> {
        let key = PublicKey::new(parsed?);
        check_loadable(key.bits(), sizes)?;
        Ok(key)
    }

    /// Parses a public key in any form devices and their documentation
    /// publish: base64 of the DER SubjectPublicKeyInfo (the `getPublicKey`
    /// value), PEM (`PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`), base64 of a
    /// DER PKCS#1 RSAPublicKey, or the OpenSSH wire form (`ssh-rsa`, e, n;
    /// base64, with or without the `ssh-rsa ` text prefix). Every form gets
    /// the same checks as [`PublicKey::from_der`]. Errors: [`Error::InvalidKey`].
    pub fn from_published(text: &[u8]) -> Result<Self> {
        Self::from_published_with(text, KeySizes::Modern)
    }

    /// Like [`PublicKey::from_published`], with the key sizes `sizes` allows.
    pub fn from_published_with(text: &[u8], sizes: KeySizes) -> Result<Self> {
        let mut last = Err(Error::InvalidKey);
        for der in crate::public_key_forms::candidates(text)? {
            last = Self::from_der_with(&der, sizes);
            if last.is_ok() {
                break;
            }
        }
        last
    }

    /// The key's fingerprint: `SHA256:` and the unpadded base64 of the
    /// SHA-256 digest of its DER SubjectPublicKeyInfo, shown as OpenSSH
    /// shows fingerprints. What a client pins.
    pub fn fingerprint(&self) -> Result<String> {
        use base64ct::Encoding;
        let mut digest = [0u8; 32];
        crate::mac::sha256_into(&[&self.to_der()?], &mut digest);
        let mut text = String::from("SHA256:");
        text.push_str(&base64ct::Base64Unpadded::encode_string(&digest));
        Ok(text)
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        backend::public_to_der(&self.0)
    }

    /// The `getPublicKey` value: standard base64 of the DER
    /// SubjectPublicKeyInfo, with no line breaks.
    pub fn to_base64(&self) -> Result<String> {
        Ok(wire_base64::encode(&self.to_der()?))
    }

    /// Writes the `getPublicKey` value ([`PublicKey::to_base64`]) into
    /// `out` and returns its length; [`Error::BufferTooSmall`] with the
    /// length needed, and `out` untouched, when it does not fit.
    pub fn to_base64_into(&self, out: &mut [u8]) -> Result<usize> {
        let der = self.to_der()?;
        let needed = wire_base64::encoded_len(der.len());
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        Ok(wire_base64::encode_into(&der, out))
    }

    /// PEM SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`, LF line endings).
    pub fn to_pem(&self) -> Result<String> {
        backend::public_to_pem(&self.0)
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        backend::public_bits(&self.0)
    }

    /// The modulus size in bytes: the length of every RSA ciphertext for this key.
    pub fn size(&self) -> usize {
        backend::public_size(&self.0)
    }
}

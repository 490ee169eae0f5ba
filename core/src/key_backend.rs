//! The key backend contract. A key backend gives `keys.rs` RSA keys, their
//! encodings, key generation and the RSA operations that AWS-LC does not take over; there are two,
//! with the same functions: `rsa_crate.rs` (servers, feature `rsa-crate`)
//! and `compact/` (firmware, paramcrypt's own). `crate::key_backend` is the
//! one built.
//!
//! The contract is the list of signatures below, which the compiler checks
//! for each backend that is compiled (both, in test builds). Besides the
//! types, a backend must:
//! - load exactly PKCS#8 and PKCS#1 RSA private keys and SubjectPublicKeyInfo
//!   public keys with the rsaEncryption algorithm, refusing anything else with
//!   `Error::InvalidKey`, and apply the same checks on the key's values as
//!   the `rsa` crate;
//! - run `raw_decrypt` blinded and in constant time with respect to the
//!   private key, drawing its blinding from the given RNG (an RNG failure is
//!   `Error::Rng`), and check its result before returning it;
//! - return secrets (private key encodings, the private exponent, decrypted
//!   blocks) in `Zeroizing` buffers.
//!
//! The accelerated backend (`aws-lc`, in `rsa_private.rs`) runs in front of
//! the key backend on servers and is not part of this contract.

/// Fails to compile unless `$backend` has every function of the contract
/// with its signature. The RNG type stands for any `TryCryptoRng`.
macro_rules! key_backend_contract {
    ($backend:path) => {
        const _: () = {
            use crate::error::Result;
            use alloc::string::String;
            use alloc::vec::Vec;
            use $backend as backend;
            use zeroize::Zeroizing;
            type Rng = dyn crate::rng::TryCryptoRng<Error = core::convert::Infallible>;
            type Private = backend::Private;
            type Public = backend::Public;
            let _: &str = backend::KEY_BACKEND_NAME;
            let _: fn(&mut Rng, usize) -> Result<Private> = backend::generate::<Rng>;
            let _: fn(&[u8]) -> Result<Private> = backend::private_from_pkcs8_der;
            let _: fn(&str) -> Result<Private> = backend::private_from_pem;
            let _: fn(&Private) -> Result<Zeroizing<Vec<u8>>> = backend::private_to_pkcs8_der;
            let _: fn(&Private) -> Result<Zeroizing<String>> = backend::private_to_pkcs8_pem;
            let _: fn(&Private) -> Public = backend::public_of;
            let _: fn(&Private) -> Zeroizing<Vec<u8>> = backend::d_bytes;
            let _: fn(&Private, &mut Rng, &[u8]) -> Result<Zeroizing<Vec<u8>>> =
                backend::raw_decrypt::<Rng>;
            let _: fn(&[u8]) -> Result<Public> = backend::public_from_der;
            let _: fn(&str) -> Result<Public> = backend::public_from_pem;
            let _: fn(&Public) -> Result<Vec<u8>> = backend::public_to_der;
            let _: fn(&Public) -> Result<String> = backend::public_to_pem;
            let _: fn(&Public) -> usize = backend::public_bits;
            let _: fn(&Public) -> usize = backend::public_size;
            let _: fn(&Public, &[u8]) -> Result<Vec<u8>> = backend::raw_encrypt;
        };
    };
}

// The one built: the `rsa` crate, or paramcrypt's compact RSA without it.
#[cfg(not(feature = "rsa-crate"))]
pub(crate) use crate::compact::*;
#[cfg(feature = "rsa-crate")]
pub(crate) use crate::rsa_crate::*;

#[cfg(feature = "rsa-crate")]
key_backend_contract!(crate::rsa_crate);
#[cfg(any(not(feature = "rsa-crate"), test, feature = "hazmat"))]
key_backend_contract!(crate::compact);

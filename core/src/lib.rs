//! # paramcrypt-core
//!
//! The Rust API of paramcrypt: parameter encryption for the JSON-RPC API of networked devices: the server
//! publishes an RSA public key (`getPublicKey`), a client wraps a random
//! AES-128 key and IV into `encKey`, and secret string parameters travel as
//! base64 AES-128-CBC ciphertext. Every failure a peer can cause is the one
//! [`Error::EncryptionFailed`] (JSON-RPC error 40002 "Encryption Failed").
//!
//! **Warning:** CBC without authentication protects against eavesdropping,
//! not against tampering or impersonation. That is the protocol's design.
//!
//! ```
//! use paramcrypt_core::{KeyPair, Mode, Padding, PublicKey, Session};
//!
//! # fn main() -> Result<(), paramcrypt_core::Error> {
//! // Server, once: generate (or load) the key pair and publish the public key.
//! # let server = KeyPair::from_pem(include_str!("../../tests/data/keys/rsa2048_pkcs8.pem"))?;
//! # /*
//! let server = KeyPair::generate(2048)?;
//! # */
//! let public_key_b64 = server.public_key().to_base64()?;
//!
//! // Client: make a common key, wrap it, encrypt a secret parameter.
//! let client = Session::new(Mode::KeyIv)?;
//! let enc_key = client.wrap(&PublicKey::from_base64(&public_key_b64)?, Padding::Pkcs1v15)?;
//! let secret = client.encrypt("my password".as_bytes())?;
//!
//! // Server: unwrap encKey and decrypt the parameter.
//! let session = server.unwrap(enc_key.as_bytes(), Padding::Pkcs1v15)?;
//! assert_eq!(&session.decrypt(secret.as_bytes())?[..], b"my password");
//!
//! // Anything wrong is the one uniform failure, code 40002.
//! let err = session.decrypt(b"AAAAAAAAAAAAAAAAAAAAAA==").unwrap_err();
//! assert!(err.is_encryption_failure());
//! # Ok(())
//! # }
//! ```
//!
//! The core is `no_std` + `alloc`; the default `std` feature adds the OS RNG
//! (the plain `generate`/`new`/`wrap`/`unwrap`/`encrypt` functions). Without
//! it, use the `*_with_rng` forms with any `rand_core` [`TryCryptoRng`].
//!
//! Features: `std` (default) as above; `oaep` (default) adds the OAEP
//! paddings; `rsa-crate` (default) takes RSA keys, their encodings, key
//! generation and the RSA arithmetic from the `rsa` crate (the RSA backend
//! `rsa-crate`), and without it paramcrypt's own `compact` backend does all
//! of that (firmware: smaller and faster on a Cortex-M4; `umaal` gives it
//! its Montgomery row in Arm assembly); `aws-lc` (default) runs the RSA
//! operations and AES-CBC encryption on AWS-LC on x86-64 and aarch64 Linux
//! and macOS (the backend `aws-lc`; [`RSA_BACKEND`] names the build's);
//! `client` (default) adds the [`client::Client`] object
//! (JSON-RPC calls with re-keying, retry, failure budget and key pinning);
//! `hazmat` exposes raw RSA decryption and sessions from given keys, for
//! test suites.
//!
//! This crate has no `unsafe` code and no C types. The C library
//! (`libparamcrypt.a`/`libparamcrypt.so` with `include/paramcrypt.h`, and the
//! firmware's allocator and panic hooks) is the `paramcrypt` crate at the
//! root of the workspace, a thin C ABI over this one.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

#[cfg(not(target_has_atomic = "ptr"))]
pub(crate) use alloc::rc::Rc as Shared;
/// Shared ownership for the server's state: `Arc`, or `Rc` on
/// microcontrollers without atomic compare-and-swap (rv32imc), where a
/// server is used from one thread (interrupt handlers excluded).
#[cfg(target_has_atomic = "ptr")]
pub(crate) use alloc::sync::Arc as Shared;

#[cfg(feature = "client")]
pub mod client;
#[cfg(any(not(feature = "rsa-crate"), test, feature = "hazmat"))]
mod compact;
mod cursor;
mod enckey;
mod error;
mod json_rpc;
mod key_backend;
mod keys;
mod lock;
mod mac;
#[cfg(feature = "oaep")]
mod oaep;
mod pkcs1v15;
mod public_key_forms;
pub mod rng;
#[cfg(feature = "rsa-crate")]
mod rsa_crate;
mod rsa_private;
mod secret_param;
mod server;
#[cfg(any(test, feature = "hazmat"))]
mod test_rng;
mod wire_base64;

pub use enckey::{IV_LEN, KEY_IV_TEXT_LEN, KEY_LEN, Mode, Padding, Session};
pub use error::{ENCRYPTION_FAILED_CODE, ENCRYPTION_FAILED_MESSAGE, Error, Result};
pub use keys::{
    DEFAULT_KEY_BITS, KeyPair, KeySizes, LOADABLE_KEY_BITS, PublicKey, SUPPORTED_KEY_BITS,
};
pub use rng::{TryCryptoRng, TryRng};
pub use server::{
    AcceptedModes, Clock, EventHook, FailurePolicy, PEER_NAME_MAX, Server, ServerBuilder,
    ServerConfig, ServerEvent, ServerEventKind, ServerSession, ServerStats,
};

/// The backend this build runs the RSA private-key operation on: `"aws-lc"`
/// (feature `aws-lc`, on by default on x86-64 and aarch64 Linux and macOS),
/// `"rsa-crate"` (the `rsa` crate's arithmetic, feature `rsa-crate`: other
/// server targets) or `"compact"` (paramcrypt's own compact RSA, without
/// `rsa-crate`: firmware). With AWS-LC the blinding randomness is AWS-LC's
/// own (seeded by the OS); with the others it is the RNG passed to the
/// `*_with_rng` functions, or the OS RNG. See [`KeyPair::rsa_backend`].
pub const RSA_BACKEND: &str = rsa_private::accelerated::NAME;

/// Internals exposed for the fuzz targets and differential tests (feature
/// `hazmat`). Not for protocol code.
#[cfg(feature = "hazmat")]
pub mod hazmat {
    use alloc::vec::Vec;

    pub use crate::test_rng::TestRng;

    /// Decodes base64 as the wire decoder does (standard alphabet, canonical
    /// `=` padding, CR/LF skipped; empty input rejected): `None` for anything
    /// it rejects.
    pub fn decode_wire_base64(text: &[u8]) -> Option<Vec<u8>> {
        let mut out = alloc::vec![0u8; crate::wire_base64::decoded_len_max(text.len())];
        let len = crate::wire_base64::decode_into(text, &mut out)?;
        out.truncate(len);
        Some(out)
    }

    /// The decoded length the wire decoder predicts from the text's shape
    /// alone (`None` when no well-formed base64 has this shape).
    pub fn wire_base64_decoded_len(text: &[u8]) -> Option<usize> {
        crate::wire_base64::shape(text).map(|shape| shape.decoded_len)
    }

    /// Decodes base64 (no line breaks) and encodes the result again with
    /// the small codec that builds without std (firmware) use for wire
    /// values: `None` for anything it rejects.
    pub fn small_base64_round_trip(text: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut bytes = alloc::vec![0u8; crate::wire_base64::decoded_len_max(text.len())];
        let len = crate::wire_base64::small::decode(text, &mut bytes)?;
        bytes.truncate(len);
        let mut again = alloc::vec![0u8; crate::wire_base64::encoded_len(len)];
        crate::wire_base64::small::encode(&bytes, &mut again);
        Some((bytes, again))
    }

    /// Loads a PKCS#8 DER private key with the compact backend (firmware's
    /// strict parser and checks) and exports it again: `None` when it
    /// rejects the key.
    pub fn compact_private_key_round_trip(der: &[u8]) -> Option<Vec<u8>> {
        let key = crate::compact::private_from_pkcs8_der(der).ok()?;
        Some(crate::compact::private_to_pkcs8_der(&key).ok()?.to_vec())
    }

    /// Loads a PEM private key (PKCS#8 or PKCS#1, by its label) with the
    /// compact backend and exports it as PKCS#8 DER: `None` when it rejects
    /// the key.
    pub fn compact_private_key_from_pem(pem: &str) -> Option<Vec<u8>> {
        let key = crate::compact::private_from_pem(pem).ok()?;
        Some(crate::compact::private_to_pkcs8_der(&key).ok()?.to_vec())
    }

    /// Loads a DER SubjectPublicKeyInfo with the compact backend and
    /// encodes it again: `None` when it rejects the key.
    pub fn compact_public_key_round_trip(der: &[u8]) -> Option<Vec<u8>> {
        let key = crate::compact::public_from_der(der).ok()?;
        crate::compact::public_to_der(&key).ok()
    }
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

//! The compact backend's key import (firmware's strict PKCS#8 and
//! SubjectPublicKeyInfo parsers, and its key checks) against the `rsa`
//! crate's: a key it accepts, the `rsa` crate accepts too and encodes to
//! the same bytes; a key the `rsa` crate accepts in its own canonical
//! encoding (and of a size firmware loads), it accepts too. Being stricter
//! on non-canonical encodings is allowed. PEM private keys (PKCS#8 and
//! PKCS#1): what the `rsa` crate loads, it loads to the same key, and what
//! it loads is a key the `rsa` crate takes. The `rsa` crate stands for
//! itself as paramcrypt uses it: for rsaEncryption keys only (it also takes
//! id-RSASSA-PSS, keys for signatures, which paramcrypt refuses). Input: a
//! selector byte (0: PKCS#8 DER, 1: SubjectPublicKeyInfo DER, 2: PEM), then
//! the key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paramcrypt_core::hazmat;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;

/// Whether a PKCS#8 key is an rsaEncryption key (what paramcrypt takes).
fn rsa_encryption_pkcs8(der: &[u8]) -> bool {
    rsa::pkcs8::PrivateKeyInfoRef::try_from(der)
        .is_ok_and(|info| info.algorithm.oid == rsa::pkcs1::ALGORITHM_OID)
}

/// Whether a SubjectPublicKeyInfo is an rsaEncryption key.
fn rsa_encryption_spki(der: &[u8]) -> bool {
    rsa::pkcs8::SubjectPublicKeyInfoRef::try_from(der)
        .is_ok_and(|spki| spki.algorithm.oid == rsa::pkcs1::ALGORITHM_OID)
}

/// The modulus sizes the compact backend takes.
fn loadable(key: &impl PublicKeyParts) -> bool {
    (1024..=4096).contains(&key.n().bit_width())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, der)) = data.split_first() else {
        return;
    };
    if selector % 3 == 2 {
        let Ok(pem) = std::str::from_utf8(der) else {
            return;
        };
        let ours = hazmat::compact_private_key_from_pem(pem);
        let theirs = if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            rsa::PrivateKey::from_pkcs1_pem(pem).ok()
        } else {
            rsa::pkcs8::SecretDocument::from_pem(pem)
                .ok()
                .filter(|(_, der)| rsa_encryption_pkcs8(der.as_bytes()))
                .and_then(|_| rsa::PrivateKey::from_pkcs8_pem(pem).ok())
        };
        let theirs = theirs
            .filter(loadable)
            .map(|key| key.to_pkcs8_der().expect("export").as_bytes().to_vec());
        match (ours, theirs) {
            (Some(ours), Some(theirs)) => assert_eq!(ours, theirs, "the two read another key"),
            (None, Some(_)) => panic!("the compact backend rejects a PEM key the rsa crate loads"),
            (Some(ours), None) => assert!(
                rsa::PrivateKey::from_pkcs8_der(&ours).is_ok(),
                "the compact backend loads a PEM key the rsa crate would not take"
            ),
            (None, None) => {}
        }
        return;
    }
    let (ours, theirs) = if selector % 3 == 0 {
        let theirs = rsa::PrivateKey::from_pkcs8_der(der)
            .ok()
            .filter(|_| rsa_encryption_pkcs8(der))
            .filter(loadable)
            .map(|key| key.to_pkcs8_der().expect("export").as_bytes().to_vec());
        (hazmat::compact_private_key_round_trip(der), theirs)
    } else {
        let theirs = rsa::PublicKey::from_public_key_der(der)
            .ok()
            .filter(|_| rsa_encryption_spki(der))
            .filter(loadable)
            .map(|key| key.to_public_key_der().expect("export").into_vec());
        (hazmat::compact_public_key_round_trip(der), theirs)
    };
    match (ours, theirs) {
        (Some(ours), Some(theirs)) => {
            assert_eq!(ours, theirs, "the two encode the key differently")
        }
        (Some(_), None) => panic!("the compact backend accepts a key the rsa crate rejects"),
        (None, Some(theirs)) => assert_ne!(
            &theirs[..],
            der,
            "the compact backend rejects a canonical key the rsa crate loads"
        ),
        (None, None) => {}
    }
});

//! Private-key import: PKCS#8 DER, and PEM (PKCS#8 "PRIVATE KEY" and PKCS#1
//! "RSA PRIVATE KEY", whose body goes through the PKCS#1 DER parser), with
//! the modern and the legacy key-size policies. No crash; a key that loads
//! exports and loads back to the same key. Input: a selector byte, then
//! the key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paramcrypt_core::{KeyPair, KeySizes};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let sizes = if selector & 2 == 0 {
        KeySizes::Modern
    } else {
        KeySizes::AllowLegacy1024
    };
    let loaded = if selector & 1 == 0 {
        KeyPair::from_pkcs8_der_with(input, sizes)
    } else {
        match std::str::from_utf8(input) {
            Ok(pem) => KeyPair::from_pem_with(pem, sizes),
            Err(_) => return,
        }
    };
    let Ok(key_pair) = loaded else { return };
    let der = key_pair.to_pkcs8_der().expect("a loaded key exports");
    let again = KeyPair::from_pkcs8_der_with(&der, sizes).expect("an exported key loads");
    assert_eq!(again.bits(), key_pair.bits());
    assert_eq!(
        again.public_key().to_der().ok(),
        key_pair.public_key().to_der().ok()
    );
    assert_eq!(&again.to_pkcs8_der().expect("export")[..], &der[..]);
});

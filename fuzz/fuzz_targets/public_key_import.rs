//! Public-key import from base64 (what getPublicKey returns), DER and PEM,
//! with both key-size policies. No crash; a key that loads round-trips
//! through every export. Input: a selector byte, then the key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paramcrypt_core::{KeySizes, PublicKey};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let sizes = if selector & 4 == 0 {
        KeySizes::Modern
    } else {
        KeySizes::AllowLegacy1024
    };
    let text = std::str::from_utf8(input);
    let loaded = match (selector % 4, text) {
        (0, _) => PublicKey::from_der_with(input, sizes),
        (1, Ok(text)) => PublicKey::from_base64_with(text, sizes),
        (2, Ok(text)) => PublicKey::from_pem_with(text, sizes),
        _ => return,
    };
    let Ok(key) = loaded else { return };
    let der = key.to_der().expect("a loaded key exports");
    let b64 = key.to_base64().expect("base64");
    let pem = key.to_pem().expect("pem");
    for again in [
        PublicKey::from_der_with(&der, sizes),
        PublicKey::from_base64_with(&b64, sizes),
        PublicKey::from_pem_with(&pem, sizes),
    ] {
        let again = again.expect("an exported key loads");
        assert_eq!(again.to_der().expect("der"), der);
        assert_eq!(again.bits(), key.bits());
    }
});

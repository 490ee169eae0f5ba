//! Every form in which devices and their documentation publish a public key
//! (`PublicKey::from_published`), made by OpenSSL and `ssh-keygen` from one
//! key with public exponent 35 (as the vendor's sample key has): each loads
//! to the key OpenSSL made, with the fingerprint OpenSSL computed, and
//! malformed or foreign forms are refused.
mod common;

use common::{b64, read_text, unb64};
use paramcrypt_core::{Error, KeySizes, PublicKey};

const FORMS: [&str; 6] = [
    "spki.b64",
    "spki.pem",
    "pkcs1.pem",
    "pkcs1.b64",
    "openssh.pub",
    "openssh_wire.b64",
];

fn published(name: &str) -> String {
    read_text(&format!("keys/published/{name}"))
}

#[test]
fn every_published_form_loads_to_the_same_key_and_fingerprint() {
    let spki = unb64(published("spki.b64").trim());
    let fingerprint = published("fingerprint.txt");
    for form in FORMS {
        let key = PublicKey::from_published(published(form).as_bytes())
            .unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(key.to_der().unwrap(), spki, "{form}");
        assert_eq!(key.fingerprint().unwrap(), fingerprint.trim(), "{form}");
        assert_eq!(key.bits(), 2048);
    }
    // CR/LF line endings and surrounding blank lines are tolerated.
    let crlf = published("pkcs1.pem").replace('\n', "\r\n");
    assert!(PublicKey::from_published(format!("\n{crlf}\n").as_bytes()).is_ok());
}

#[test]
fn the_fixture_keys_fingerprint_matches_openssl() {
    // rsa2048_public.b64 is OpenSSL's DER SPKI; its SHA-256, as base64.
    let key = PublicKey::from_base64(&read_text("keys/rsa2048_public.b64")).unwrap();
    let fingerprint = key.fingerprint().unwrap();
    assert!(fingerprint.starts_with("SHA256:") && !fingerprint.ends_with('='));
    assert_eq!(fingerprint.len(), "SHA256:".len() + 43);
}

#[test]
fn malformed_and_foreign_forms_are_refused_like_any_bad_key() {
    let wire = unb64(published("openssh_wire.b64").trim());
    let mut other_type = wire.clone();
    other_type[4..11].copy_from_slice(b"ssh-dss");
    let truncated = &wire[..wire.len() - 3];
    let cases: Vec<Vec<u8>> = vec![
        b64(&other_type).into_bytes(),
        b64(truncated).into_bytes(),
        format!("ssh-rsa {}", b64(truncated)).into_bytes(),
        b"ssh-rsa".to_vec(),
        b"".to_vec(),
        b"not base64 at all".to_vec(),
        read_text("keys/bad_ec_p256_public.pem").into_bytes(),
        published("spki.pem")
            .replace("PUBLIC KEY", "CERTIFICATE")
            .into_bytes(),
        published("pkcs1.pem")
            .replace("RSA PUBLIC KEY-----\n", "RSA PUBLIC KEY-----\n AAAA")
            .into_bytes(),
    ];
    for case in cases {
        assert_eq!(
            PublicKey::from_published(&case).unwrap_err(),
            Error::InvalidKey,
            "{}",
            String::from_utf8_lossy(&case)
        );
    }
    // The size floor holds in every form: a 1024-bit key only by opt-in.
    let legacy = paramcrypt_core::KeyPair::from_pem_with(
        &read_text("keys/rsa1024_pkcs8.pem"),
        KeySizes::AllowLegacy1024,
    )
    .unwrap();
    let pem = legacy.public_key().to_pem().unwrap();
    assert_eq!(
        PublicKey::from_published(pem.as_bytes()).unwrap_err(),
        Error::InvalidKey
    );
    assert!(PublicKey::from_published_with(pem.as_bytes(), KeySizes::AllowLegacy1024).is_ok());
}

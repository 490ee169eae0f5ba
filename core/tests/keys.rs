//! Key generation, storage and the getPublicKey value, checked against OpenSSL.
mod common;

use common::*;
use paramcrypt_core::{Error, KeyPair, KeySizes, Mode, Padding, PublicKey, Session};

#[test]
fn public_key_base64_matches_openssl() {
    let key = fixture_key(2048);
    let expected = read_text("keys/rsa2048_public.b64");
    let ours = key.public_key().to_base64().unwrap();
    assert_eq!(ours, expected.trim());
    assert!(ours.starts_with("MIIBIjANBgkqhkiG9w0BAQEFAAOC"));
    assert!(!ours.contains('\n'));
}

#[test]
fn public_key_base64_into_a_buffer_matches_openssl() {
    let key = fixture_key(2048);
    let expected = read_text("keys/rsa2048_public.b64");
    let expected = expected.trim().as_bytes();
    let mut out = [0u8; 400];
    let len = key.public_key().to_base64_into(&mut out).unwrap();
    assert_eq!(&out[..len], expected);
    // One byte short: the length needed, and nothing written.
    let mut short = [0xAAu8; 391];
    assert_eq!(expected.len(), 392);
    assert_eq!(
        key.public_key().to_base64_into(&mut short),
        Err(Error::BufferTooSmall { needed: 392 })
    );
    assert!(short.iter().all(|&b| b == 0xAA));
}

#[test]
fn public_key_pem_matches_openssl() {
    let key = fixture_key(2048);
    assert_eq!(
        key.public_key().to_pem().unwrap(),
        read_text("keys/rsa2048_public.pem")
    );
}

#[test]
fn pkcs8_der_export_matches_openssl() {
    let key = fixture_key(2048);
    assert!(key.to_pkcs8_der().unwrap()[..] == read_bytes("keys/rsa2048_pkcs8.der")[..]);
}

#[test]
fn pkcs8_pem_export_matches_openssl() {
    let key = fixture_key(2048);
    assert_eq!(
        &key.to_pkcs8_pem().unwrap()[..],
        read_text("keys/rsa2048_pkcs8.pem")
    );
}

#[test]
fn all_private_key_formats_load_the_same_key() {
    let from_pkcs8_pem = fixture_key(2048);
    let from_der = KeyPair::from_pkcs8_der(&read_bytes("keys/rsa2048_pkcs8.der")).unwrap();
    let from_pkcs1_pem = KeyPair::from_pem(&read_text("keys/rsa2048_pkcs1.pem")).unwrap();
    assert_eq!(from_der.public_key(), from_pkcs8_pem.public_key());
    assert_eq!(from_pkcs1_pem.public_key(), from_pkcs8_pem.public_key());
    // And they decrypt what the others' public key wrapped.
    let session = Session::new(Mode::KeyIv).unwrap();
    let enc_key = session
        .wrap(from_pkcs8_pem.public_key(), Padding::Pkcs1v15)
        .unwrap();
    let secret = session.encrypt(b"same key").unwrap();
    for key in [&from_der, &from_pkcs1_pem] {
        let opened = key.unwrap(enc_key.as_bytes(), Padding::Pkcs1v15).unwrap();
        assert_eq!(&opened.decrypt(secret.as_bytes()).unwrap()[..], b"same key");
    }
}

#[test]
fn public_key_imports_from_base64_pem_and_der() {
    let expected = fixture_key(2048).public_key();
    let b64 = read_text("keys/rsa2048_public.b64");
    assert_eq!(&PublicKey::from_base64(b64.trim()).unwrap(), expected);
    assert_eq!(
        &PublicKey::from_pem(&read_text("keys/rsa2048_public.pem")).unwrap(),
        expected
    );
    assert_eq!(&PublicKey::from_der(&unb64(b64.trim())).unwrap(), expected);
    // Some device stacks wrap base64 at 76 columns with CRLF.
    let wrapped: Vec<&str> = b64
        .trim()
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    assert_eq!(
        &PublicKey::from_base64(&wrapped.join("\r\n")).unwrap(),
        expected
    );
    assert_eq!(expected.bits(), 2048);
    assert_eq!(expected.size(), 256);
}

#[test]
fn fixture_keys_of_every_size_load() {
    for bits in [1024, 2048, 3072, 4096] {
        let key = fixture_key(bits);
        assert_eq!(key.bits(), bits);
        assert_eq!(key.public_key().bits(), bits);
    }
}

#[test]
fn a_1024_bit_key_loads_only_with_the_legacy_opt_in() {
    let pem = read_text("keys/rsa1024_pkcs8.pem");
    let key = KeyPair::from_pem_with(&pem, KeySizes::AllowLegacy1024).unwrap();
    let der = key.to_pkcs8_der().unwrap();
    let public = key.public_key();
    let (public_b64, public_pem, public_der) = (
        public.to_base64().unwrap(),
        public.to_pem().unwrap(),
        public.to_der().unwrap(),
    );
    // Refused by default: private and public, every encoding.
    assert_eq!(KeyPair::from_pem(&pem).unwrap_err(), Error::InvalidKey);
    assert_eq!(
        KeyPair::from_pkcs8_der(&der).unwrap_err(),
        Error::InvalidKey
    );
    assert_eq!(
        PublicKey::from_base64(&public_b64).unwrap_err(),
        Error::InvalidKey
    );
    assert_eq!(
        PublicKey::from_pem(&public_pem).unwrap_err(),
        Error::InvalidKey
    );
    assert_eq!(
        PublicKey::from_der(&public_der).unwrap_err(),
        Error::InvalidKey
    );
    // Accepted with the opt-in, which still refuses smaller keys.
    let legacy = KeySizes::AllowLegacy1024;
    assert_eq!(
        KeyPair::from_pkcs8_der_with(&der, legacy).unwrap().bits(),
        1024
    );
    assert_eq!(
        PublicKey::from_base64_with(&public_b64, legacy)
            .unwrap()
            .bits(),
        1024
    );
    assert_eq!(
        PublicKey::from_pem_with(&public_pem, legacy)
            .unwrap()
            .bits(),
        1024
    );
    assert_eq!(
        PublicKey::from_der_with(&public_der, legacy)
            .unwrap()
            .bits(),
        1024
    );
    let small = read_text("keys/bad_rsa512_pkcs8.pem");
    assert_eq!(
        KeyPair::from_pem_with(&small, legacy).unwrap_err(),
        Error::InvalidKey
    );
}

#[test]
fn generation_of_unsupported_sizes_is_refused() {
    // 1024 bits among them: new keys are at least 2048 bits.
    for bits in [0, 512, 1023, 1024, 1025, 1536, 2047, 2049, 8192, usize::MAX] {
        assert_eq!(
            KeyPair::generate(bits).unwrap_err(),
            Error::UnsupportedKeySize,
            "{bits}"
        );
    }
}

#[test]
fn generation_reports_rng_failure() {
    assert_eq!(
        KeyPair::generate_with_rng(&mut FailingRng, 2048).unwrap_err(),
        Error::Rng
    );
}

#[test]
fn generated_key_survives_pkcs8_pem_and_der_round_trips() {
    let key = KeyPair::generate(2048).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let der = key.to_pkcs8_der().unwrap();
    let from_pem = KeyPair::from_pem(&pem).unwrap();
    let from_der = KeyPair::from_pkcs8_der(&der).unwrap();
    assert_eq!(from_pem.public_key(), key.public_key());
    assert_eq!(from_der.public_key(), key.public_key());
    assert_eq!(&from_pem.to_pkcs8_der().unwrap()[..], &der[..]);
}

#[test]
fn debug_output_never_shows_key_material() {
    let key = fixture_key(1024);
    let shown = format!("{key:?}");
    assert_eq!(shown, "KeyPair { bits: 1024, .. }");
    let session = Session::new(Mode::KeyIv).unwrap();
    assert_eq!(format!("{session:?}"), "Session { mode: KeyIv, .. }");
}

#[test]
fn malformed_and_foreign_keys_are_invalid_key() {
    let pem = read_text("keys/rsa2048_pkcs8.pem");
    let der = read_bytes("keys/rsa2048_pkcs8.der");
    let truncated_pem = {
        let mut lines: Vec<&str> = pem.lines().collect();
        lines.remove(5);
        lines.join("\n")
    };
    let cases: Vec<(&str, Result<KeyPair, Error>)> = vec![
        ("empty PEM", KeyPair::from_pem("")),
        ("not PEM", KeyPair::from_pem("hello")),
        ("PEM with a line missing", KeyPair::from_pem(&truncated_pem)),
        (
            "public key as private",
            KeyPair::from_pem(&read_text("keys/rsa2048_public.pem")),
        ),
        (
            "512-bit RSA",
            KeyPair::from_pem(&read_text("keys/bad_rsa512_pkcs8.pem")),
        ),
        (
            "EC key",
            KeyPair::from_pem(&read_text("keys/bad_ec_p256_pkcs8.pem")),
        ),
        (
            "RSASSA-PSS key",
            KeyPair::from_pem(&read_text("keys/bad_rsa_pss_pkcs8.pem")),
        ),
        (
            "PKCS#1 body under PKCS#8 label",
            KeyPair::from_pem(
                &read_text("keys/rsa2048_pkcs1.pem").replace("RSA PRIVATE KEY", "PRIVATE KEY"),
            ),
        ),
        ("empty DER", KeyPair::from_pkcs8_der(&[])),
        (
            "truncated DER",
            KeyPair::from_pkcs8_der(&der[..der.len() - 1]),
        ),
        (
            "DER with trailing byte",
            KeyPair::from_pkcs8_der(&[&der[..], &[0]].concat()),
        ),
        (
            "garbage DER",
            KeyPair::from_pkcs8_der(&[0x30, 0x82, 0xff, 0xff, 1, 2, 3]),
        ),
    ];
    for (name, result) in cases {
        assert_eq!(result.unwrap_err(), Error::InvalidKey, "{name}");
    }
    let public_cases: Vec<(&str, Result<PublicKey, Error>)> = vec![
        ("empty base64", PublicKey::from_base64("")),
        ("not base64", PublicKey::from_base64("not base64!")),
        ("base64 of garbage", PublicKey::from_base64("AAAA")),
        ("private key PEM as public", PublicKey::from_pem(&pem)),
        (
            "EC public key",
            PublicKey::from_pem(&read_text("keys/bad_ec_p256_public.pem")),
        ),
        ("empty DER", PublicKey::from_der(&[])),
        // An RSA key restricted to RSASSA-PSS signatures is no encryption
        // key, in any form.
        (
            "RSASSA-PSS public key",
            PublicKey::from_pem(&read_text("keys/bad_rsa_pss_public.pem")),
        ),
        (
            "RSASSA-PSS public key, published form",
            PublicKey::from_published(read_text("keys/bad_rsa_pss_public.pem").as_bytes()),
        ),
    ];
    for (name, result) in public_cases {
        assert_eq!(result.unwrap_err(), Error::InvalidKey, "{name}");
    }
}

//! encKeys and parameters made by Python `cryptography` (OpenSSL), opened by
//! paramcrypt. Fixtures: tests/data/interop/from_cryptography.json, made by
//! tests/interop/make_fixtures.py. The other direction (paramcrypt's output
//! opened by `cryptography`) is tests/interop/open_paramcrypt_output.py.
mod common;

use common::*;
use paramcrypt_core::{Mode, Padding};

fn padding_named(name: &str) -> Padding {
    match name {
        "pkcs1v15" => Padding::Pkcs1v15,
        "oaep-sha1" => Padding::OaepSha1,
        "oaep-sha256" => Padding::OaepSha256,
        other => panic!("unknown padding {other}"),
    }
}

#[test]
fn cryptography_enc_keys_and_parameters_open_exactly() {
    let doc = read_json("interop/from_cryptography.json");
    let key = fixture_key(2048);
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9, "3 paddings x 3 plaintext forms");
    for case in cases {
        let padding = padding_named(case["padding"].as_str().unwrap());
        let form = case["mode"].as_str().unwrap();
        let session = key
            .unwrap(case["encKey"].as_str().unwrap().as_bytes(), padding)
            .unwrap();
        assert_eq!(
            &session.key()[..],
            &hex(case["key"].as_str().unwrap())[..],
            "{form}"
        );
        let expected_mode = if form == "per-message-iv" {
            Mode::PerMessageIv
        } else {
            Mode::KeyIv
        };
        assert_eq!(session.mode(), expected_mode);
        if expected_mode == Mode::KeyIv {
            assert_eq!(
                &session.iv()[..],
                &hex(case["iv"].as_str().unwrap())[..],
                "{form}"
            );
        }
        let params = case["params"].as_array().unwrap();
        assert_eq!(params.len(), 5);
        for param in params {
            let plaintext = param["plaintext"].as_str().unwrap();
            let value = param["value"].as_str().unwrap();
            let opened = session.decrypt(value.as_bytes()).unwrap();
            assert_eq!(std::str::from_utf8(&opened).unwrap(), plaintext);
            if expected_mode == Mode::KeyIv {
                // Deterministic for a given key and IV: byte-for-byte the same wire value.
                assert_eq!(session.encrypt(plaintext.as_bytes()).unwrap(), value);
            }
        }
    }
}

#[test]
fn cryptography_enc_key_fails_under_the_wrong_padding_setting() {
    let doc = read_json("interop/from_cryptography.json");
    let key = fixture_key(2048);
    for case in doc["cases"].as_array().unwrap() {
        let configured = padding_named(case["padding"].as_str().unwrap());
        for other in [Padding::Pkcs1v15, Padding::OaepSha1, Padding::OaepSha256] {
            if other == configured {
                continue;
            }
            let result = key.unwrap(case["encKey"].as_str().unwrap().as_bytes(), other);
            assert_eq!(
                result.unwrap_err(),
                paramcrypt_core::Error::EncryptionFailed
            );
        }
    }
}

//! Every vector of the four Wycheproof files (C2SP/wycheproof), at the RSA
//! layer and at the encKey/parameter layer, where every invalid vector must
//! end in the one uniform 40002 error.
mod common;

use common::*;
use paramcrypt_core::{Error, KeyPair, Mode, Padding, Session};
use serde_json::Value;

/// Invalid OAEP vectors the RSA layer accepts: none. (rsa 0.10.0's OAEP
/// decoder does not check that the first octet of the encoded message is
/// zero, RFC 8017 §7.1.2 step 3g, and accepted Wycheproof's "First byte is
/// 1", tcId 23; paramcrypt decodes OAEP itself since the RSA seam, and
/// checks it.)
const KNOWN_LENIENT_OAEP: [u64; 0] = [];

#[derive(Default)]
struct Counts {
    valid: usize,
    invalid: usize,
    lenient: Vec<u64>,
}

fn tests_of(group: &Value) -> &Vec<Value> {
    group["tests"].as_array().unwrap()
}

fn has_flag(test: &Value, flag: &str) -> bool {
    test["flags"].as_array().unwrap().iter().any(|f| f == flag)
}

/// Runs one RSA file: the RSA layer must decrypt valid vectors exactly and
/// reject (or, with implicit rejection, replace) invalid ones; the encKey layer
/// must answer every vector whose plaintext is not a key:iv text or a 16-byte
/// key with the uniform error.
fn check_rsa_file(file: &str, padding: Padding) -> Counts {
    let doc = read_json(&format!("wycheproof/{file}"));
    let mut counts = Counts::default();
    let mut rng = paramcrypt_core::rng::OsRng;
    for group in doc["testGroups"].as_array().unwrap() {
        let key =
            KeyPair::from_pkcs8_der(&hex(group["privateKeyPkcs8"].as_str().unwrap())).unwrap();
        let key_backend = key.without_aws_lc();
        for test in tests_of(group) {
            let id = test["tcId"].as_u64().unwrap();
            let ct = hex(test["ct"].as_str().unwrap());
            let msg = hex(test["msg"].as_str().unwrap());
            let labelled = !test["label"].as_str().unwrap_or("").is_empty();
            let valid = test["result"] == "valid" || test["result"] == "acceptable";
            let raw = key.decrypt_enc_key_plaintext(&mut rng, &ct, padding);
            // Both RSA backends (AWS-LC where built, and the key backend)
            // give the same bytes, or the same error.
            let on_key_backend = key_backend.decrypt_enc_key_plaintext(&mut rng, &ct, padding);
            assert_eq!(
                raw.as_ref().map(|m| m.to_vec()),
                on_key_backend.as_ref().map(|m| m.to_vec()),
                "{file} tcId {id}: the backends differ"
            );
            if valid && !labelled {
                counts.valid += 1;
                assert_eq!(
                    &raw.expect("valid vector")[..],
                    &msg[..],
                    "{file} tcId {id}"
                );
            } else {
                // paramcrypt never uses an OAEP label, so labelled vectors are
                // invalid for it even where Wycheproof calls them valid.
                counts.invalid += 1;
                match (padding, raw) {
                    (_, Err(e)) => assert_eq!(e, Error::EncryptionFailed, "{file} tcId {id}"),
                    (Padding::Pkcs1v15, Ok(synthetic)) => {
                        // Implicit rejection: deterministic, and not the message.
                        let again = key
                            .decrypt_enc_key_plaintext(&mut rng, &ct, padding)
                            .unwrap();
                        assert_eq!(&synthetic[..], &again[..], "{file} tcId {id}");
                        assert_ne!(&synthetic[..], &msg[..], "{file} tcId {id}");
                    }
                    (_, Ok(_)) => {
                        assert!(
                            KNOWN_LENIENT_OAEP.contains(&id),
                            "{file} tcId {id}: invalid OAEP vector accepted"
                        );
                        counts.lenient.push(id);
                    }
                }
            }
            // The encKey layer: none of these plaintexts is a key:iv text, and a
            // plaintext of exactly 16 bytes is a per-message-IV key.
            let unwrapped = key.unwrap(b64(&ct).as_bytes(), padding);
            if valid && !labelled && msg.len() == 16 {
                assert_eq!(
                    unwrapped.unwrap().mode(),
                    Mode::PerMessageIv,
                    "{file} tcId {id}"
                );
            } else {
                assert_eq!(
                    unwrapped.unwrap_err(),
                    Error::EncryptionFailed,
                    "{file} tcId {id}"
                );
            }
        }
    }
    counts
}

#[test]
fn rsa_pkcs1v15_vectors() {
    let counts = check_rsa_file("rsa_pkcs1_2048_test.json", Padding::Pkcs1v15);
    assert_eq!((counts.valid, counts.invalid), (42, 25));
    assert!(counts.lenient.is_empty());
}

#[test]
fn rsa_pkcs1v15_invalid_padding_vectors_all_end_in_the_same_error() {
    let doc = read_json("wycheproof/rsa_pkcs1_2048_test.json");
    let group = &doc["testGroups"][0];
    let key = KeyPair::from_pkcs8_der(&hex(group["privateKeyPkcs8"].as_str().unwrap())).unwrap();
    let errors: Vec<Error> = tests_of(group)
        .iter()
        .filter(|t| has_flag(t, "InvalidPkcs1Padding"))
        .map(|t| {
            let ct = hex(t["ct"].as_str().unwrap());
            key.unwrap(b64(&ct).as_bytes(), Padding::Pkcs1v15)
                .unwrap_err()
        })
        .collect();
    assert_eq!(errors.len(), 19);
    assert!(errors.iter().all(|e| *e == Error::EncryptionFailed));
    // Nothing in what a caller can observe tells them apart.
    let shown: Vec<String> = errors.iter().map(|e| format!("{e} {e:?}")).collect();
    assert!(shown.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn rsa_oaep_sha1_vectors() {
    let counts = check_rsa_file("rsa_oaep_2048_sha1_mgf1sha1_test.json", Padding::OaepSha1);
    assert_eq!(counts.valid + counts.invalid, 36);
    assert_eq!(counts.valid, 17 - 7, "valid vectors without a label");
    assert_eq!(counts.lenient, KNOWN_LENIENT_OAEP);
}

#[test]
fn rsa_oaep_sha256_vectors() {
    let counts = check_rsa_file(
        "rsa_oaep_2048_sha256_mgf1sha256_test.json",
        Padding::OaepSha256,
    );
    assert_eq!(counts.valid + counts.invalid, 37);
    assert_eq!(counts.valid, 18 - 8, "valid vectors without a label");
    assert_eq!(counts.lenient, KNOWN_LENIENT_OAEP);
}

#[test]
fn aes_cbc_pkcs7_vectors() {
    let doc = read_json("wycheproof/aes_cbc_pkcs5_test.json");
    let mut checked = Counts::default();
    for group in doc["testGroups"].as_array().unwrap() {
        if group["keySize"] != 128 {
            continue;
        }
        for test in tests_of(group) {
            let id = test["tcId"].as_u64().unwrap();
            let key: [u8; 16] = hex(test["key"].as_str().unwrap()).try_into().unwrap();
            let iv: [u8; 16] = hex(test["iv"].as_str().unwrap()).try_into().unwrap();
            let msg = hex(test["msg"].as_str().unwrap());
            let ct = hex(test["ct"].as_str().unwrap());
            let key_iv = Session::from_parts(key, iv, Mode::KeyIv);
            // The same vector in per-message-IV form: IV || ciphertext.
            let per_message = Session::from_parts(key, [0; 16], Mode::PerMessageIv);
            let ct_b64 = b64(&ct);
            let iv_ct_b64 = b64(&[&iv[..], &ct[..]].concat());
            if test["result"] == "valid" {
                checked.valid += 1;
                assert_eq!(
                    &key_iv.decrypt(ct_b64.as_bytes()).unwrap()[..],
                    &msg[..],
                    "tcId {id}"
                );
                assert_eq!(key_iv.encrypt(&msg).unwrap(), ct_b64, "tcId {id}");
                assert_eq!(
                    &per_message.decrypt(iv_ct_b64.as_bytes()).unwrap()[..],
                    &msg[..],
                    "tcId {id}"
                );
            } else {
                checked.invalid += 1;
                assert_eq!(
                    key_iv.decrypt(ct_b64.as_bytes()).unwrap_err(),
                    Error::EncryptionFailed,
                    "tcId {id}"
                );
                assert_eq!(
                    per_message.decrypt(iv_ct_b64.as_bytes()).unwrap_err(),
                    Error::EncryptionFailed,
                    "tcId {id}"
                );
            }
        }
    }
    assert_eq!((checked.valid, checked.invalid), (24, 48));
}

//! Bad input, case by case: each returns the right error and nothing panics.
mod common;

use common::*;
use paramcrypt_core::{Error, KeyPair, Mode, Padding, Session};
use rsa::pkcs8::DecodePublicKey;

const FAIL: Error = Error::EncryptionFailed;

/// Wraps an arbitrary plaintext for the fixture key with PKCS#1 v1.5, using
/// the rsa crate directly, to build encKeys that paramcrypt would never make.
fn wrap_raw(plaintext: &[u8]) -> String {
    let pk = rsa::PublicKey::from_public_key_pem(&read_text("keys/rsa2048_public.pem")).unwrap();
    b64(&pk
        .pkcs1v15_encrypt_with_rng(&mut paramcrypt_core::rng::OsRng, plaintext)
        .unwrap())
}

fn key_iv_text() -> Vec<u8> {
    b"00112233445566778899aabbccddeeff:0f1e2d3c4b5a69788796a5b4c3d2e1f0".to_vec()
}

fn with_byte(mut text: Vec<u8>, at: usize, byte: u8) -> Vec<u8> {
    text[at] = byte;
    text
}

#[test]
fn bad_enc_keys() {
    let server = fixture_key(2048);
    let good = Session::new(Mode::KeyIv)
        .unwrap()
        .wrap(server.public_key(), Padding::Pkcs1v15)
        .unwrap();
    assert!(
        server.unwrap(good.as_bytes(), Padding::Pkcs1v15).is_ok(),
        "the baseline works"
    );
    assert!(
        server
            .unwrap(wrap_raw(&key_iv_text()).as_bytes(), Padding::Pkcs1v15)
            .is_ok(),
        "wrap_raw works"
    );

    // Fixed rather than fresh: with implicit rejection a random foreign encKey
    // unwraps, about 1 time in 245, to a random per-message key (which then
    // fails at the first parameter). A fixed one makes the outcome repeatable.
    let other_2048 = KeyPair::from_pkcs8_der(&hex(read_json(
        "wycheproof/rsa_pkcs1_2048_test.json",
    )["testGroups"][0]["privateKeyPkcs8"]
        .as_str()
        .unwrap()))
    .unwrap();
    let for_other_key = read_text("bad_input/enc_key_for_wycheproof_key.txt")
        .trim()
        .to_string();
    assert!(
        other_2048
            .unwrap(for_other_key.as_bytes(), Padding::Pkcs1v15)
            .is_ok(),
        "valid for its own key"
    );
    let for_1024 = Session::new(Mode::KeyIv)
        .unwrap()
        .wrap(fixture_key(1024).public_key(), Padding::Pkcs1v15)
        .unwrap();
    let mut url_safe = good.clone().into_bytes();
    url_safe[10] = b'-';

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", b"".to_vec()),
        ("a space", b" ".to_vec()),
        ("line breaks only", b"\r\n\r\n".to_vec()),
        ("not base64", b"!!!!".to_vec()),
        ("URL-safe alphabet", url_safe),
        (
            "padding stripped",
            good.trim_end_matches('=').as_bytes().to_vec(),
        ),
        (
            "truncated by 4 characters",
            good.as_bytes()[..good.len() - 4].to_vec(),
        ),
        ("over-long by one block", format!("{good}AAAA").into_bytes()),
        (
            "space inside",
            format!("{} {}", &good[..100], &good[100..]).into_bytes(),
        ),
        (
            "tab inside",
            format!("{}\t{}", &good[..100], &good[100..]).into_bytes(),
        ),
        (
            "NUL inside",
            format!("{}\0{}", &good[..100], &good[100..]).into_bytes(),
        ),
        ("non-UTF-8", vec![0xff, 0xfe, 0x80, 0x81]),
        ("255 bytes", b64(&[0x42; 255]).into_bytes()),
        ("257 bytes", b64(&[0x42; 257]).into_bytes()),
        ("all zeros", b64(&[0; 256]).into_bytes()),
        (
            "all ones: not below the modulus",
            b64(&[0xff; 256]).into_bytes(),
        ),
        ("made for a 1024-bit key", for_1024.into_bytes()),
        ("made for another 2048-bit key", for_other_key.into_bytes()),
        ("huge input", vec![b'A'; 8 << 20]),
        (
            "key:iv with a bad character",
            wrap_raw(&with_byte(key_iv_text(), 3, b'g')).into_bytes(),
        ),
        (
            "key:iv with a space",
            wrap_raw(&with_byte(key_iv_text(), 40, b' ')).into_bytes(),
        ),
        (
            "key:iv with ';' for ':'",
            wrap_raw(&with_byte(key_iv_text(), 32, b';')).into_bytes(),
        ),
        (
            "key:iv with the colon moved",
            wrap_raw(b"00112233445566778899aabbccddeef:f0f1e2d3c4b5a69788796a5b4c3d2e1f0")
                .into_bytes(),
        ),
        (
            "key:iv one digit short",
            wrap_raw(&key_iv_text()[..64]).into_bytes(),
        ),
        (
            "key:iv one digit long",
            wrap_raw(&[&key_iv_text()[..], b"0"].concat()).into_bytes(),
        ),
        (
            "key:iv with CRLF appended",
            wrap_raw(&[&key_iv_text()[..], b"\r\n"].concat()).into_bytes(),
        ),
        (
            "key and iv without colon",
            wrap_raw(
                &key_iv_text()
                    .into_iter()
                    .filter(|&c| c != b':')
                    .collect::<Vec<_>>(),
            )
            .into_bytes(),
        ),
        ("empty plaintext", wrap_raw(b"").into_bytes()),
        ("15-byte raw key", wrap_raw(&[1; 15]).into_bytes()),
        ("17-byte raw key", wrap_raw(&[1; 17]).into_bytes()),
        ("24-byte raw key (AES-192)", wrap_raw(&[1; 24]).into_bytes()),
        ("32-byte raw key (AES-256)", wrap_raw(&[1; 32]).into_bytes()),
        (
            "hex key:iv for AES-256",
            wrap_raw(&[&[b'a'; 64][..], b":", &[b'b'; 32][..]].concat()).into_bytes(),
        ),
    ];
    assert!(cases.len() >= 30);
    for (name, enc_key) in &cases {
        let result = std::panic::catch_unwind(|| server.unwrap(enc_key, Padding::Pkcs1v15));
        assert_eq!(result.expect(name).unwrap_err(), FAIL, "{name}");
        for padding in [Padding::OaepSha1, Padding::OaepSha256] {
            assert_eq!(
                server.unwrap(enc_key, padding).unwrap_err(),
                FAIL,
                "{name} under {padding:?}"
            );
        }
    }
}

#[test]
fn bad_parameter_values() {
    let key = *b"0123456789abcdef";
    let iv = *b"fedcba9876543210";
    let session = Session::from_parts(key, iv, Mode::KeyIv);
    let per_message = Session::from_parts(key, [0; 16], Mode::PerMessageIv);
    // 20 bytes: two blocks, the last with 12 bytes of padding.
    let plaintext = b"twenty bytes of text";
    let good = session.encrypt(plaintext).unwrap();
    assert_eq!(&session.decrypt(good.as_bytes()).unwrap()[..], plaintext);
    let ct = unb64(&good);
    let tweak = |at: usize, xor: u8| {
        let mut c = ct.clone();
        c[at] ^= xor;
        b64(&c).into_bytes()
    };
    // In CBC, flipping byte 15 of the first block flips the last padding byte.
    let wrong_key = Session::from_parts(*b"0123456789abcdeF", iv, Mode::KeyIv);
    let wrong_iv_same_padding = Session::from_parts(key, *b"Fedcba9876543210", Mode::KeyIv);

    let cases: Vec<(&str, &Session, Vec<u8>)> = vec![
        ("empty", &session, b"".to_vec()),
        ("not base64", &session, b"%%%%".to_vec()),
        ("15 bytes", &session, b64(&[0; 15]).into_bytes()),
        ("17 bytes", &session, b64(&[0; 17]).into_bytes()),
        (
            "one block short of padding",
            &session,
            b64(&ct[..16]).into_bytes(),
        ),
        ("padding byte made 0", &session, tweak(15, 12)),
        ("padding byte made 17", &session, tweak(15, 12 ^ 17)),
        ("padding byte made 255", &session, tweak(15, 12 ^ 255)),
        ("one padding byte wrong", &session, tweak(8, 1)),
        (
            "over-long by 3 bytes",
            &session,
            format!("{good}AAAA").into_bytes(),
        ),
        (
            "truncated base64",
            &session,
            good.as_bytes()[..good.len() - 1].to_vec(),
        ),
        (
            "space inside",
            &session,
            format!("{} {}", &good[..4], &good[4..]).into_bytes(),
        ),
        ("non-UTF-8", &session, vec![0xc3, 0x28, 0xa0, 0xa1]),
        ("wrong key", &wrong_key, good.clone().into_bytes()),
        (
            "per-message value shorter than an IV",
            &per_message,
            b64(&[0; 10]).into_bytes(),
        ),
        (
            "per-message value of an IV only",
            &per_message,
            b64(&[0; 16]).into_bytes(),
        ),
        (
            "per-message value with a partial block",
            &per_message,
            b64(&[0; 40]).into_bytes(),
        ),
        ("huge input", &session, vec![b'A'; 8 << 20]),
    ];
    for (name, session, value) in &cases {
        let result = std::panic::catch_unwind(|| session.decrypt(value));
        assert_eq!(result.expect(name).unwrap_err(), FAIL, "{name}");
    }
    // A wrong IV in key:iv mode only garbles the first block: CBC has no
    // integrity, which is why the protocol only protects against eavesdropping.
    let garbled = wrong_iv_same_padding.decrypt(good.as_bytes()).unwrap();
    assert_ne!(&garbled[..16], &plaintext[..16]);
    assert_eq!(&garbled[16..], &plaintext[16..]);
}

#[test]
fn output_buffers_that_are_too_small_report_the_size_needed() {
    let session = Session::from_parts([7; 16], [9; 16], Mode::KeyIv);
    let mut rng = paramcrypt_core::rng::OsRng;
    let needed = Session::encrypted_len(Mode::KeyIv, 5).unwrap();
    assert_eq!(needed, 24);
    let mut small = vec![0u8; needed - 1];
    assert_eq!(
        session
            .encrypt_into(&mut rng, b"hello", &mut small)
            .unwrap_err(),
        Error::BufferTooSmall { needed }
    );
    assert!(small.iter().all(|&b| b == 0), "untouched on error");
    let mut out = vec![0u8; needed];
    assert_eq!(
        session.encrypt_into(&mut rng, b"hello", &mut out).unwrap(),
        needed
    );

    // Decryption checks the size before decrypting, from the public length only.
    let mut small = [0u8; 14];
    assert_eq!(
        session.decrypt_into(&out, &mut small).unwrap_err(),
        Error::BufferTooSmall { needed: 15 }
    );
    let mut plain = [0u8; 15];
    assert_eq!(session.decrypt_into(&out, &mut plain).unwrap(), 5);
    assert_eq!(&plain[..5], b"hello");
    assert!(Session::decrypted_max_len(out.len()) >= 15);
}

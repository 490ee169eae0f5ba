//! Round trips in every mode, padding and key size, with freshly generated keys.
mod common;

use common::*;
use paramcrypt_core::{Error, KeyPair, KeySizes, Mode, Padding, PublicKey, Session};

const PADDINGS: [Padding; 3] = [Padding::Pkcs1v15, Padding::OaepSha1, Padding::OaepSha256];
const MODES: [Mode; 2] = [Mode::KeyIv, Mode::PerMessageIv];

fn plaintexts() -> Vec<Vec<u8>> {
    vec![
        b"".to_vec(),
        b"a".to_vec(),
        b"15 bytes long!!".to_vec(),
        b"exactly 16 bytes".to_vec(),
        "パスワード 🔑".as_bytes().to_vec(),
        (0..=255u8).collect(),
        vec![0x5a; 10_000],
    ]
}

fn round_trip_all(server: &KeyPair) {
    // The client only ever sees the published base64 value (and opts in to
    // the legacy peer's 1024-bit key).
    let text = server.public_key().to_base64().unwrap();
    let published = PublicKey::from_base64_with(&text, KeySizes::AllowLegacy1024).unwrap();
    for padding in PADDINGS {
        for mode in MODES {
            let client = Session::new(mode).unwrap();
            if server.bits() == 1024 && padding == Padding::OaepSha256 && mode == Mode::KeyIv {
                // 65 bytes do not fit OAEP-SHA-256 under a 1024-bit key (62 at most).
                assert_eq!(
                    client.wrap(&published, padding).unwrap_err(),
                    Error::KeyTooSmall
                );
                continue;
            }
            let enc_key = client.wrap(&published, padding).unwrap();
            assert_eq!(
                enc_key.len(),
                Session::wrapped_len(server.public_key().size()).unwrap()
            );
            let opened = server.unwrap(enc_key.as_bytes(), padding).unwrap();
            assert_eq!(opened.mode(), mode);
            for plaintext in plaintexts() {
                // Client to server.
                let value = client.encrypt(&plaintext).unwrap();
                assert_eq!(
                    value.len(),
                    Session::encrypted_len(mode, plaintext.len()).unwrap()
                );
                assert_eq!(
                    &opened.decrypt(value.as_bytes()).unwrap()[..],
                    &plaintext[..]
                );
                // Server to client (getSecretData).
                let reply = opened.encrypt(&plaintext).unwrap();
                assert_eq!(
                    &client.decrypt(reply.as_bytes()).unwrap()[..],
                    &plaintext[..]
                );
            }
        }
    }
}

#[test]
fn generated_2048_bit_key_and_legacy_1024_bit_fixture_round_trip() {
    let server = KeyPair::generate(2048).unwrap();
    assert_eq!(server.bits(), 2048);
    round_trip_all(&server);
    round_trip_all(fixture_key(1024));
}

#[test]
fn generated_3072_bit_key_round_trips() {
    let server = KeyPair::generate(3072).unwrap();
    assert_eq!(server.bits(), 3072);
    round_trip_all(&server);
}

#[test]
fn generated_4096_bit_key_round_trips() {
    let server = KeyPair::generate(4096).unwrap();
    assert_eq!(server.bits(), 4096);
    round_trip_all(&server);
}

#[test]
fn reloaded_key_opens_enc_keys_made_for_the_original() {
    let server = fixture_key(2048);
    let client = Session::new(Mode::KeyIv).unwrap();
    let enc_key = client.wrap(server.public_key(), Padding::Pkcs1v15).unwrap();
    let reloaded = KeyPair::from_pem(&server.to_pkcs8_pem().unwrap()).unwrap();
    let opened = reloaded
        .unwrap(enc_key.as_bytes(), Padding::Pkcs1v15)
        .unwrap();
    assert_eq!(
        &opened
            .decrypt(client.encrypt(b"kept").unwrap().as_bytes())
            .unwrap()[..],
        b"kept"
    );
}

#[test]
fn key_iv_mode_reuses_the_iv_and_per_message_mode_does_not() {
    let client = Session::new(Mode::KeyIv).unwrap();
    assert_eq!(
        client.encrypt(b"same").unwrap(),
        client.encrypt(b"same").unwrap()
    );
    let client = Session::new(Mode::PerMessageIv).unwrap();
    let (a, b) = (
        client.encrypt(b"same").unwrap(),
        client.encrypt(b"same").unwrap(),
    );
    assert_ne!(a, b);
    assert_ne!(unb64(&a)[..16], unb64(&b)[..16], "a fresh IV per value");
}

#[test]
fn sessions_are_random() {
    let server = fixture_key(1024);
    let a = Session::new(Mode::KeyIv).unwrap();
    let b = Session::new(Mode::KeyIv).unwrap();
    let (a, b) = (
        server
            .unwrap(
                a.wrap(server.public_key(), Padding::Pkcs1v15)
                    .unwrap()
                    .as_bytes(),
                Padding::Pkcs1v15,
            )
            .unwrap(),
        server
            .unwrap(
                b.wrap(server.public_key(), Padding::Pkcs1v15)
                    .unwrap()
                    .as_bytes(),
                Padding::Pkcs1v15,
            )
            .unwrap(),
    );
    assert_ne!(a.key(), b.key());
    assert_ne!(a.iv(), b.iv());
    // RSA encryption is randomized too: the same session wraps differently.
    let s = Session::new(Mode::KeyIv).unwrap();
    assert_ne!(
        s.wrap(server.public_key(), Padding::Pkcs1v15).unwrap(),
        s.wrap(server.public_key(), Padding::Pkcs1v15).unwrap()
    );
}

#[test]
fn enc_key_plaintext_is_lower_case_key_colon_iv() {
    // The hazmat decrypt shows the exact RSA plaintext.
    let server = fixture_key(2048);
    let client = Session::new(Mode::KeyIv).unwrap();
    let enc_key = client.wrap(server.public_key(), Padding::Pkcs1v15).unwrap();
    let text = server
        .decrypt_enc_key_plaintext(
            &mut paramcrypt_core::rng::OsRng,
            &unb64(&enc_key),
            Padding::Pkcs1v15,
        )
        .unwrap();
    let lower_hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let expected = format!("{}:{}", lower_hex(client.key()), lower_hex(client.iv()));
    assert_eq!(std::str::from_utf8(&text).unwrap(), expected);
    assert_eq!(text.len(), 65);

    let per_message = Session::new(Mode::PerMessageIv).unwrap();
    let enc_key = per_message
        .wrap(server.public_key(), Padding::OaepSha256)
        .unwrap();
    let raw = server
        .decrypt_enc_key_plaintext(
            &mut paramcrypt_core::rng::OsRng,
            &unb64(&enc_key),
            Padding::OaepSha256,
        )
        .unwrap();
    assert_eq!(&raw[..], &per_message.key()[..]);
}

#[test]
fn rng_failures_are_reported_not_hidden() {
    let server = fixture_key(1024);
    assert_eq!(
        Session::new_with_rng(&mut FailingRng, Mode::KeyIv).unwrap_err(),
        Error::Rng
    );
    let client = Session::new(Mode::PerMessageIv).unwrap();
    for padding in PADDINGS {
        assert_eq!(
            client
                .wrap_with_rng(&mut FailingRng, server.public_key(), padding)
                .unwrap_err(),
            Error::Rng
        );
    }
    assert_eq!(
        client.encrypt_with_rng(&mut FailingRng, b"x").unwrap_err(),
        Error::Rng
    );
    let enc_key = client.wrap(server.public_key(), Padding::Pkcs1v15).unwrap();
    assert_eq!(
        server
            .without_aws_lc()
            .unwrap_with_rng(&mut FailingRng, enc_key.as_bytes(), Padding::Pkcs1v15)
            .unwrap_err(),
        Error::Rng,
        "blinding on the rsa-crate backend needs the RNG"
    );
    // AWS-LC blinds with its own generator, as documented: the caller's RNG
    // is not asked.
    if server.rsa_backend() == "aws-lc" {
        assert!(
            server
                .unwrap_with_rng(&mut FailingRng, enc_key.as_bytes(), Padding::Pkcs1v15)
                .is_ok()
        );
    }
    // Key:iv mode encrypts without randomness, so a dead RNG does not matter there.
    let key_iv = Session::new(Mode::KeyIv).unwrap();
    assert!(key_iv.encrypt_with_rng(&mut FailingRng, b"x").is_ok());
}

#[test]
fn sessions_and_keys_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KeyPair>();
    assert_send_sync::<PublicKey>();
    assert_send_sync::<Session>();
    let server = fixture_key(1024);
    std::thread::scope(|scope| {
        for i in 0..4 {
            scope.spawn(move || {
                for j in 0..5 {
                    let client = Session::new(Mode::KeyIv).unwrap();
                    let enc_key = client.wrap(server.public_key(), Padding::Pkcs1v15).unwrap();
                    let opened = server
                        .unwrap(enc_key.as_bytes(), Padding::Pkcs1v15)
                        .unwrap();
                    let msg = format!("thread {i} call {j}");
                    let value = client.encrypt(msg.as_bytes()).unwrap();
                    assert_eq!(
                        &opened.decrypt(value.as_bytes()).unwrap()[..],
                        msg.as_bytes()
                    );
                }
            });
        }
    });
}

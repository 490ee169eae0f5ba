//! The RSA backends behind the seam: server builds run the private-key
//! operation on AWS-LC, and both backends give the same bytes for every
//! ciphertext, valid or not, in every padding (the 100,000-case runs are
//! `make test-differential`; Wycheproof's vectors run through both in
//! core/tests/wycheproof.rs).
mod common;

use common::*;
use paramcrypt_core::{Mode, Padding, Session};

#[test]
#[cfg(paramcrypt_aws_lc)]
fn server_builds_run_rsa_on_aws_lc() {
    let key = fixture_key(2048);
    assert_eq!(key.rsa_backend(), "aws-lc");
    assert_eq!(key.without_aws_lc().rsa_backend(), "rsa-crate");
}

/// The `*_with_rng` unwraps promise not to call the caller's RNG on AWS-LC
/// builds. AWS-LC refuses the ciphertexts 0 and 1; before they were answered
/// on the AWS-LC side, they fell back to the key backend's operation, which drew
/// from the RNG (so a peer reached the callback, and a failing callback
/// turned 40002 into an RNG error).
#[test]
#[cfg(paramcrypt_aws_lc)]
fn aws_lc_unwraps_never_draw_from_the_given_rng() {
    use paramcrypt_core::rng::{TryCryptoRng, TryRng};

    /// An RNG that counts its uses and always fails.
    struct Refusing(usize);
    #[derive(Debug)]
    struct Down;
    impl core::fmt::Display for Down {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("RNG down")
        }
    }
    impl core::error::Error for Down {}
    impl TryRng for Refusing {
        type Error = Down;
        fn try_next_u32(&mut self) -> Result<u32, Down> {
            self.0 += 1;
            Err(Down)
        }
        fn try_next_u64(&mut self) -> Result<u64, Down> {
            self.0 += 1;
            Err(Down)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Down> {
            self.0 += 1;
            Err(Down)
        }
    }
    impl TryCryptoRng for Refusing {}

    let key = fixture_key(2048);
    let k = key.public_key().size();
    let mut ciphertexts = Vec::new();
    for last in [0u8, 1, 2, 3] {
        let mut c = vec![0u8; k];
        c[k - 1] = last;
        ciphertexts.push(c);
    }
    ciphertexts.push(vec![0xFF; k]); // not below the modulus
    ciphertexts.push(vec![0x00; k - 1]); // short
    for padding in [Padding::Pkcs1v15, Padding::OaepSha1, Padding::OaepSha256] {
        for c in &ciphertexts {
            let mut rng = Refusing(0);
            let answer = key.unwrap_with_rng(&mut rng, b64(c).as_bytes(), padding);
            assert!(
                matches!(answer, Err(paramcrypt_core::Error::EncryptionFailed)),
                "{padding:?} on {:02x?}..: {:?}",
                &c[k.saturating_sub(2)..],
                answer.err()
            );
            assert_eq!(rng.0, 0, "{padding:?}: the RNG was called");
        }
    }
    // The key backend does draw from it: the counter can count.
    let mut rng = Refusing(0);
    let answer = key.without_aws_lc().unwrap_with_rng(
        &mut rng,
        b64(&ciphertexts[2]).as_bytes(),
        Padding::Pkcs1v15,
    );
    assert!(matches!(answer, Err(paramcrypt_core::Error::Rng)));
    assert!(rng.0 > 0);
}

/// Built without the `rsa` crate (as firmware is: `make test-compact` runs
/// this suite so on the host), the compact backend runs.
#[test]
#[cfg(not(paramcrypt_aws_lc))]
fn builds_without_aws_lc_name_their_backend() {
    let key = fixture_key(2048);
    assert!(["rsa-crate", "compact"].contains(&key.rsa_backend()));
    assert_eq!(key.rsa_backend(), paramcrypt_core::RSA_BACKEND);
}

#[test]
fn both_backends_agree_on_valid_and_invalid_ciphertexts() {
    let mut rng = paramcrypt_core::rng::OsRng;
    for bits in [2048, 3072] {
        let key = fixture_key(bits);
        let key_backend = key.without_aws_lc();
        let k = key.public_key().size();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for padding in [Padding::Pkcs1v15, Padding::OaepSha1, Padding::OaepSha256] {
            let mut ciphertexts: Vec<Vec<u8>> = Vec::new();
            for mode in [Mode::KeyIv, Mode::PerMessageIv] {
                let enc_key = Session::new(mode)
                    .unwrap()
                    .wrap(key.public_key(), padding)
                    .unwrap();
                ciphertexts.push(unb64(&enc_key));
            }
            // Random values below the modulus, the smallest ones (which AWS-LC
            // refuses and the key backend answers), and the modulus's
            // length of 0xFF (not below it).
            for _ in 0..40 {
                let mut c: Vec<u8> = (0..k).map(|_| next() as u8).collect();
                c[0] = 0;
                ciphertexts.push(c);
            }
            for small in [0u8, 1, 2] {
                let mut c = vec![0u8; k];
                c[k - 1] = small;
                ciphertexts.push(c);
            }
            ciphertexts.push(vec![0xFF; k]);
            for c in &ciphertexts {
                let a = key.decrypt_enc_key_plaintext(&mut rng, c, padding);
                let b = key_backend.decrypt_enc_key_plaintext(&mut rng, c, padding);
                assert_eq!(
                    a.as_ref().map(|m| m.to_vec()),
                    b.as_ref().map(|m| m.to_vec()),
                    "{bits} bits {padding:?}: the backends differ on {c:02x?}"
                );
            }
        }
    }
}

#[test]
fn wraps_made_on_either_backend_open_on_both_and_in_the_rsa_crate() {
    use rsa::pkcs8::DecodePrivateKey;
    let key = fixture_key(2048);
    let independent =
        rsa::PrivateKey::from_pkcs8_pem(&read_text("keys/rsa2048_pkcs8.pem")).unwrap();
    let key_backend_key = key.without_aws_lc();
    for public in [key.public_key().clone(), key.public_key().without_aws_lc()] {
        for padding in [Padding::Pkcs1v15, Padding::OaepSha1, Padding::OaepSha256] {
            for mode in [Mode::KeyIv, Mode::PerMessageIv] {
                let session = Session::new(mode).unwrap();
                let enc_key = session.wrap(&public, padding).unwrap();
                let secret = session.encrypt(b"secret").unwrap();
                for opener in [key, &key_backend_key] {
                    let opened = opener.unwrap(enc_key.as_bytes(), padding).unwrap();
                    assert_eq!(&opened.decrypt(secret.as_bytes()).unwrap()[..], b"secret");
                }
                // The rsa crate's own decryption reads our encoding.
                let ciphertext = unb64(&enc_key);
                let plaintext = match padding {
                    Padding::Pkcs1v15 => independent.decrypt(rsa::Pkcs1v15Encrypt, &ciphertext),
                    Padding::OaepSha1 => {
                        independent.decrypt(rsa::Oaep::<sha1::Sha1>::new(), &ciphertext)
                    }
                    Padding::OaepSha256 => {
                        independent.decrypt(rsa::Oaep::<rsa::sha2::Sha256>::new(), &ciphertext)
                    }
                }
                .unwrap();
                let expected = if mode == Mode::KeyIv { 65 } else { 16 };
                assert_eq!(plaintext.len(), expected, "{padding:?} {mode:?}");
            }
        }
    }
}

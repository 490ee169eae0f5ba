//! Mutated wire values, thousands of them: every one ends in `Ok` (a mutation
//! that happens to stay valid) or the uniform `EncryptionFailed`, and nothing
//! panics. A deterministic PRNG makes failures reproducible.
mod common;

use common::*;
use paramcrypt_core::hazmat::TestRng;
use paramcrypt_core::{Error, Mode, Padding, Session};

/// One random change: flip a bit, replace a byte with one from an
/// interesting set, insert, delete, truncate, or duplicate a run.
fn mutate(rng: &mut TestRng, input: &[u8]) -> Vec<u8> {
    const INTERESTING: &[u8] = b"=+/\r\n \0\xffA-_:.";
    let mut out = input.to_vec();
    let at = rng.below(out.len().max(1));
    match rng.below(6) {
        0 if !out.is_empty() => out[at] ^= 1 << rng.below(8),
        1 if !out.is_empty() => out[at] = INTERESTING[rng.below(INTERESTING.len())],
        2 => out.insert(at.min(out.len()), INTERESTING[rng.below(INTERESTING.len())]),
        3 if !out.is_empty() => {
            out.remove(at);
        }
        4 => out.truncate(at),
        _ => {
            let end = (at + 1 + rng.below(8)).min(out.len());
            let run = out[at.min(end)..end].to_vec();
            out.splice(at.min(out.len())..at.min(out.len()), run);
        }
    }
    out
}

#[test]
fn mutated_parameter_values_never_panic() {
    let mut rng = TestRng(0x1234_5678_9abc_def0);
    for mode in [Mode::KeyIv, Mode::PerMessageIv] {
        let session = Session::new(mode).unwrap();
        let valid = session
            .encrypt(b"a secret of some thirty-odd bytes")
            .unwrap();
        let (mut accepted, mut rejected) = (0, 0);
        for _ in 0..20_000 {
            let mut value = mutate(&mut rng, valid.as_bytes());
            if rng.below(4) == 0 {
                value = mutate(&mut rng, &value);
            }
            match session.decrypt(&value) {
                Ok(_) => accepted += 1,
                Err(e) => {
                    assert_eq!(
                        e,
                        Error::EncryptionFailed,
                        "{:?}",
                        String::from_utf8_lossy(&value)
                    );
                    rejected += 1;
                }
            }
        }
        assert!(
            rejected > 15_000,
            "most mutations must be rejected ({accepted} accepted)"
        );
    }
}

#[test]
fn mutated_enc_keys_never_panic() {
    let mut rng = TestRng(0x0fed_cba9_8765_4321);
    let server = fixture_key(1024);
    for padding in [Padding::Pkcs1v15, Padding::OaepSha1] {
        let valid = Session::new(Mode::KeyIv)
            .unwrap()
            .wrap(server.public_key(), padding)
            .unwrap();
        let mut rejected = 0;
        for _ in 0..400 {
            let enc_key = mutate(&mut rng, valid.as_bytes());
            match server.unwrap(&enc_key, padding) {
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e, Error::EncryptionFailed);
                    rejected += 1;
                }
            }
        }
        assert!(
            rejected > 300,
            "most mutated encKeys must be rejected, got {rejected}"
        );
    }
}

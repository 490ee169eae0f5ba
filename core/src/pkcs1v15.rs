//! PKCS#1 v1.5 decryption with implicit rejection, as
//! draft-irtf-cfrg-rsa-guidance-10 §7 specifies: a ciphertext with invalid
//! padding decrypts to a synthetic message derived from the private key
//! and the ciphertext, chosen without a branch on the padding's validity,
//! so that neither the answer nor its timing tells valid from invalid.
//!
//! Above the RSA seam (`rsa_private.rs`): it decodes the raw plaintext, so
//! any backend of the raw operation gives the same result. The result is
//! byte-identical to the `rsa` crate's PKCS#1 v1.5 decryption for the same
//! key and ciphertext, valid or not (the differential tests below and in
//! `tests/`).

use alloc::vec::Vec;
use ctutils::{Choice, CtAssign, CtEq, CtGt, CtSelect};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::mac::{self, hmac_sha256, hmac_sha256_of};
use crate::rng::{self, TryCryptoRng};

/// The key of the key-derivation step, DH = SHA-256(I2OSP(d, k)) (§7.2
/// step 3.1.1–3.1.2). It depends on the private key only, so it is computed
/// once at key load.
#[derive(Clone)]
pub(crate) struct RejectionKey(Zeroizing<[u8; 32]>);

impl RejectionKey {
    /// From the private exponent `d` (as stored, not an equivalent one) as
    /// k big-endian octets, k the modulus length.
    pub(crate) fn new(d: &[u8]) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        mac::sha256_into(&[d], &mut key);
        RejectionKey(key)
    }

    /// KDK = HMAC-SHA-256(DH, C) (§7.2 step 3.1.3).
    fn kdk(&self, ciphertext: &[u8]) -> Zeroizing<[u8; 32]> {
        hmac_sha256_of(&self.0, &[ciphertext])
    }

    /// HMAC-SHA-256(DH, `label`): a key for another use of the same secret
    /// (the server's saved state). A label is shorter than any ciphertext
    /// (k is at least 128 octets), so no derived key is ever a KDK.
    pub(crate) fn derive(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        debug_assert!(label.len() < 128);
        self.kdk(label)
    }
}

/// IRPRF(KDK, label, length) (§7.1): HMAC-SHA-256 in counter mode.
/// `length` is at most 8191 octets (k of at most 4096-bit keys is 512).
fn irprf(kdk: &[u8; 32], label: &[u8], length: usize) -> Zeroizing<Vec<u8>> {
    let bit_length = ((length * 8) as u16).to_be_bytes();
    let keyed = hmac_sha256(kdk);
    let mut output = Zeroizing::new(alloc::vec![0u8; length]);
    for (i, chunk) in (0u16..).zip(output.chunks_mut(32)) {
        mac::finish(&keyed, &[&i.to_be_bytes(), label, &bit_length], chunk);
    }
    output
}

/// AL (§7.2 step 3.3): the last of the 128 candidate lengths in `cl`,
/// masked to the bit length of `max_len`, that is at most `max_len`
/// (k - 11); zero if none is.
fn synthetic_len(cl: &[u8], max_len: u16) -> u16 {
    let mut mask = max_len;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    cl.chunks_exact(2).fold(0u16, |al, pair| {
        let candidate = u16::from_be_bytes([pair[0], pair[1]]) & mask;
        al.ct_select(&candidate, !candidate.ct_gt(&max_len))
    })
}

/// EME-PKCS1-v1_5 decoding (§7.2 step 4): whether the padding is invalid,
/// and the length L of the message after the first zero separator (zero
/// without one). Both stay secret; every octet is read.
fn decode_padding(em: &[u8]) -> (Choice, u32) {
    let k = em.len();
    // EM = 0x00 || 0x02 || PS || 0x00 || M, with PS at least 8 octets.
    let mut invalid = !em[0].ct_eq(&0u8) | !em[1].ct_eq(&2u8);
    let mut looking = Choice::TRUE;
    let mut separator = 0u32;
    for (i, octet) in em.iter().enumerate().skip(2) {
        let is_zero = octet.ct_eq(&0u8);
        separator.ct_assign(&(i as u32), looking & is_zero);
        looking &= !is_zero;
    }
    invalid |= looking | !separator.ct_gt(&9);
    let len = 0u32.ct_select(&(k as u32 - separator - 1), !looking);
    (invalid, len)
}

/// Moves the last `len` octets of `buf` to its front without a branch or
/// an address that depends on `len`: a barrel shifter, one pass over the
/// buffer per bit of the shift.
fn shift_to_front(buf: &mut [u8], len: u32) {
    let k = buf.len();
    let shift = k as u32 - len;
    let mut amount = 1usize;
    while amount < k {
        let take = Choice::from_u8_lsb(((shift >> amount.trailing_zeros()) & 1) as u8);
        // Ascending, so each read is of an octet this pass has not written.
        for i in 0..k {
            let from = if i + amount < k { buf[i + amount] } else { 0 };
            buf[i].ct_assign(&from, take);
        }
        amount <<= 1;
    }
}

/// Decrypts with implicit rejection: `em` is the raw RSA plaintext of
/// `ciphertext` (k octets, from the seam). Returns the message when the
/// padding is valid, else the synthetic message; the two are selected
/// octet by octet, and the chosen one is moved to the front of `em` in
/// constant time, before its length (public, as the draft allows) is used:
/// no allocation or copy depends on the message's length.
pub(crate) fn decrypt(
    key: &RejectionKey,
    mut em: Zeroizing<Vec<u8>>,
    ciphertext: &[u8],
) -> Zeroizing<Vec<u8>> {
    let k = em.len();
    debug_assert!((11..=8191).contains(&k) && ciphertext.len() == k);
    // Step 3: the synthetic message, computed whether or not it is needed.
    let kdk = key.kdk(ciphertext);
    let cl = irprf(&kdk, b"length", 256);
    let am = irprf(&kdk, b"message", k);
    let al = synthetic_len(&cl, (k - 11) as u16);
    // Step 4: the real padding.
    let (invalid, l) = decode_padding(&em);
    // Step 5: select every octet, then the length.
    for (em_octet, am_octet) in em.iter_mut().zip(am.iter()) {
        em_octet.ct_assign(am_octet, invalid);
    }
    let len = l.ct_select(&u32::from(al), invalid);
    shift_to_front(&mut em, len);
    // The octets past the message stay in the buffer's capacity, wiped
    // with it when it is dropped.
    em.truncate(len as usize);
    em
}

/// EME-PKCS1-v1_5 encoding for encryption (RFC 8017 §7.2.1 step 2):
/// 0x00 || 0x02 || PS || 0x00 || M, with PS nonzero octets from `rng`, as a
/// k-octet block for the RSA public-key operation. [`Error::KeyTooSmall`]
/// when M does not fit.
pub(crate) fn encode<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    message: &[u8],
    k: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    if message.len() + 11 > k {
        return Err(Error::KeyTooSmall);
    }
    let mut em = Zeroizing::new(alloc::vec![0u8; k]);
    em[1] = 2;
    let separator = k - message.len() - 1;
    let padding = &mut em[2..separator];
    rng::fill(rng, padding)?;
    // A zero octet would end the padding early: draw it again.
    for octet in padding.iter_mut() {
        while *octet == 0 {
            let mut fresh = [0u8; 1];
            rng::fill(rng, &mut fresh)?;
            *octet = fresh[0];
        }
    }
    em[separator + 1..].copy_from_slice(message);
    Ok(em)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn the_constant_time_shift_moves_every_suffix_to_the_front() {
        for k in [11usize, 128, 256, 384, 512] {
            let original: Vec<u8> = (0..k).map(|i| (i * 7 + 1) as u8).collect();
            for len in 0..=k {
                let mut buf = original.clone();
                shift_to_front(&mut buf, len as u32);
                assert_eq!(&buf[..len], &original[k - len..], "k {k}, len {len}");
            }
        }
    }
    use crate::compact::rsa::tests::be as i2osp;
    use rsa::BoxedUint;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};

    /// A small deterministic generator for test inputs (not for keys).
    struct Xorshift(u64);

    impl Xorshift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn byte(&mut self) -> u8 {
            self.next() as u8
        }

        fn nonzero(&mut self) -> u8 {
            loop {
                let b = self.byte();
                if b != 0 {
                    return b;
                }
            }
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// An encoded message of one of several shapes, valid and not: every
    /// header, separators at every distance (none, too early, the earliest
    /// valid, anywhere), zeros in and after the padding string, random.
    fn encoded_message(rng: &mut Xorshift, k: usize) -> Vec<u8> {
        let mut em: Vec<u8> = (0..k).map(|_| rng.nonzero()).collect();
        em[0] = 0;
        em[1] = 2;
        match rng.below(10) {
            0..=3 => em[rng.below(k - 10) + 10] = 0, // valid, message of any length
            4 => em[10] = 0,                         // valid, longest message
            5 => em[rng.below(8) + 2] = 0,           // padding string too short
            6 => {}                                  // no separator
            7 => {
                // A bad header byte, and a separator.
                em[rng.below(2)] = [1, 3, 0x80][rng.below(3)];
                em[rng.below(k - 10) + 10] = 0;
            }
            8 => {
                // Valid, with more zeros after the separator.
                em[rng.below(k - 20) + 10] = 0;
                em[k - 1 - rng.below(5)] = 0;
            }
            _ => {
                // Anything below the modulus.
                em.iter_mut().skip(1).for_each(|b| *b = rng.byte());
            }
        }
        em
    }

    #[test]
    fn candidate_length_selection_matches_the_drafts_rules() {
        let mut cl = [0xffu8; 256];
        cl[..2].copy_from_slice(&5u16.to_be_bytes());
        cl[252..254].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(synthetic_len(&cl, 20), 20);
        cl[252..254].fill(0xff);
        assert_eq!(synthetic_len(&cl, 20), 5);
        cl[..2].fill(0xff);
        assert_eq!(synthetic_len(&cl, 20), 0);
    }

    #[test]
    fn padding_decoding_at_every_separator_and_header() {
        const K: usize = 32;
        for header in [[0, 2], [1, 2], [0, 1], [0, 0]] {
            for separator in 2..=K {
                let mut em = [0x42u8; K];
                em[..2].copy_from_slice(&header);
                if separator < K {
                    em[separator] = 0;
                }
                let (invalid, len) = decode_padding(&em);
                let expected_invalid = header != [0, 2] || !(10..K).contains(&separator);
                let expected_len = if separator < K { K - separator - 1 } else { 0 };
                assert_eq!(
                    invalid.to_bool(),
                    expected_invalid,
                    "{header:?} {separator}"
                );
                assert_eq!(len as usize, expected_len);
            }
        }
    }

    /// Our decoding of the raw plaintext against the `rsa` crate's whole
    /// PKCS#1 v1.5 decryption, on ciphertexts of every shape made with the
    /// public key. (The 100,000-case runs are in tests/pkcs1v15_differential.rs.)
    #[test]
    fn decoding_matches_the_rsa_crate_on_random_shapes() {
        let pem = include_str!("../../tests/data/keys/rsa2048_pkcs8.pem");
        let key = rsa::PrivateKey::from_pkcs8_pem(pem).expect("key");
        let k = key.size();
        let rejection = RejectionKey::new(&i2osp(key.d(), k));
        let ours_key = crate::key_backend::private_from_pem(pem).expect("key");
        let mut rng = Xorshift(0x0123_4567_89AB_CDEF);
        for _ in 0..200 {
            let em = encoded_message(&mut rng, k);
            let m = BoxedUint::from_be_slice(&em, key.n_bits_precision()).expect("em");
            let c = i2osp(&rsa::hazmat::rsa_encrypt(&key, &m).expect("encrypt"), k);
            let ours = decrypt(&rejection, Zeroizing::new(em.clone()), &c);
            let theirs = key.decrypt(rsa::Pkcs1v15Encrypt, &c).expect("rsa decrypt");
            assert_eq!(&ours[..], &theirs[..], "EM {em:02x?}");
            // The seam gives back the encoded message.
            let raw = crate::key_backend::raw_decrypt(&ours_key, &mut crate::rng::OsRng, &c)
                .expect("raw");
            assert_eq!(&raw[..], &em[..]);
        }
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// The draft's own vectors (Appendix B): valid ciphertexts and invalid
    /// ones with the synthetic message each must decrypt to, through the
    /// whole path (the seam, then this decoding).
    #[test]
    fn the_drafts_vectors_decrypt_to_their_messages() {
        use crate::{KeyPair, Padding};
        let cases: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/data/cfrg_rsa_guidance/test_cases.json"
        ))
        .expect("json");
        let mut checked = 0;
        for (section, pem) in [
            (
                "B.1",
                include_str!("../../tests/data/cfrg_rsa_guidance/k2048.pem"),
            ),
            (
                "B.2",
                include_str!("../../tests/data/cfrg_rsa_guidance/k2049.pem"),
            ),
            (
                "B.3",
                include_str!("../../tests/data/cfrg_rsa_guidance/k3072.pem"),
            ),
            (
                "B.4",
                include_str!("../../tests/data/cfrg_rsa_guidance/k4096.pem"),
            ),
        ] {
            let key = KeyPair::from_pem(pem).expect("key");
            for case in cases[section]["cases"].as_array().expect("cases") {
                let ciphertext = hex(case["ciphertext_hex"].as_str().expect("ciphertext"));
                let expect = &case["expect"];
                let expected = if expect["empty"].as_bool() == Some(true) {
                    Vec::new()
                } else if let Some(ascii) = expect["ascii"].as_str() {
                    ascii.as_bytes().to_vec()
                } else {
                    hex(expect["hex"].as_str().expect("hex"))
                };
                let got = key
                    .rsa_decrypt(&mut crate::rng::OsRng, &ciphertext, Padding::Pkcs1v15)
                    .expect("implicit rejection never fails");
                assert_eq!(&got[..], &expected[..], "{}", case["id"]);
                checked += 1;
            }
        }
        assert_eq!(checked, 48);
    }

    /// `count` ciphertexts of every shape against the `rsa` crate's whole
    /// PKCS#1 v1.5 decryption, on two threads; every 100th also checks that
    /// the built backend's seam returns the encoded message, every 10th
    /// the compact backend's (firmware), and every one AWS-LC's where it
    /// is built.
    fn differential(pem: &str, count: usize, seed: u64) {
        let key = rsa::PrivateKey::from_pkcs8_pem(pem).expect("key");
        let k = key.size();
        let rejection = RejectionKey::new(&i2osp(key.d(), k));
        let backend = crate::key_backend::private_from_pem(pem).expect("key");
        let compact = crate::compact::private_from_pem(pem).expect("key");
        let accelerated = crate::rsa_private::accelerated::load(&backend);
        let (mut valid, mut invalid, mut on_accelerated, mut on_compact) = (0, 0, 0, 0);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2u64)
                .map(|worker| {
                    let (key, rejection, accelerated) = (&key, &rejection, &accelerated);
                    let (backend, compact) = (&backend, &compact);
                    scope.spawn(move || {
                        let mut rng =
                            Xorshift(seed ^ (worker + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                        let mut counts = (0usize, 0usize, 0usize, 0usize);
                        for i in 0..count / 2 {
                            let em = encoded_message(&mut rng, k);
                            let m =
                                BoxedUint::from_be_slice(&em, key.n_bits_precision()).expect("em");
                            let c = i2osp(&rsa::hazmat::rsa_encrypt(key, &m).expect("encrypt"), k);
                            let ours = decrypt(rejection, Zeroizing::new(em.clone()), &c);
                            let theirs =
                                key.decrypt(rsa::Pkcs1v15Encrypt, &c).expect("rsa decrypt");
                            assert_eq!(
                                &ours[..],
                                &theirs[..],
                                "seed {seed:#x} worker {worker} case {i}"
                            );
                            if decode_padding(&em).0.to_bool() {
                                counts.1 += 1;
                            } else {
                                counts.0 += 1;
                            }
                            if i % 100 == 0 {
                                let raw = crate::key_backend::raw_decrypt(
                                    backend,
                                    &mut crate::rng::OsRng,
                                    &c,
                                )
                                .expect("raw");
                                assert_eq!(&raw[..], &em[..]);
                            }
                            if i % 10 == 0 {
                                let raw = crate::compact::raw_decrypt(
                                    compact,
                                    &mut crate::rng::OsRng,
                                    &c,
                                )
                                .expect("compact");
                                assert_eq!(
                                    &raw[..],
                                    &em[..],
                                    "compact: seed {seed:#x} worker {worker} case {i}"
                                );
                                counts.3 += 1;
                            }
                            // The accelerated backend (AWS-LC, where built)
                            // on every case: the same encoded message.
                            if let Some(raw) =
                                crate::rsa_private::accelerated::raw_decrypt(accelerated, &c)
                            {
                                assert_eq!(
                                    &raw[..],
                                    &em[..],
                                    "seed {seed:#x} worker {worker} case {i}"
                                );
                                counts.2 += 1;
                            }
                        }
                        counts
                    })
                })
                .collect();
            for worker in workers {
                let (v, i, a, c) = worker.join().expect("worker");
                valid += v;
                invalid += i;
                on_accelerated += a;
                on_compact += c;
            }
        });
        // Both kinds in good number: the generator covers both.
        assert!(
            valid > count / 4 && invalid > count / 4,
            "{valid} valid, {invalid} invalid"
        );
        std::println!(
            "{} bits: {valid} valid and {invalid} invalid ciphertexts agree with the rsa crate; \
             {on_accelerated} decrypted to the same encoded message on {}, {on_compact} on the \
             compact backend",
            k * 8,
            crate::rsa_private::accelerated::NAME
        );
    }

    /// 100,000 ciphertexts at 2048 bits, 10,000 at 3072 and 4096 (about 2.5
    /// minutes optimized on two cores): `make test-differential`.
    #[test]
    #[ignore = "minutes of RSA; run by make test-differential (release build)"]
    fn decoding_matches_the_rsa_crate_on_120000_ciphertexts() {
        differential(
            include_str!("../../tests/data/keys/rsa2048_pkcs8.pem"),
            100_000,
            0x5EED_2048,
        );
        differential(
            include_str!("../../tests/data/keys/rsa3072_pkcs8.pem"),
            10_000,
            0x5EED_3072,
        );
        differential(
            include_str!("../../tests/data/keys/rsa4096_pkcs8.pem"),
            10_000,
            0x5EED_4096,
        );
    }
}

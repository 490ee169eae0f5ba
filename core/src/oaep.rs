//! RSAES-OAEP decoding (RFC 8017 §7.1.2 step 3) above the RSA seam, with
//! the empty label and MGF1 over the same hash, as the `rsa` crate's
//! `Oaep::new::<D>()` does: its results are the same for every ciphertext.
//! Every check is folded into one `Choice` before the single branch, so
//! the time does not tell which check failed, and the candidate message is
//! copied out before it, so that a valid and an invalid padding do the same
//! work up to the answer.

use alloc::vec::Vec;
use ctutils::{Choice, CtAssign, CtEq};
use sha2::Digest;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::rng::{self, TryCryptoRng};

/// `out` ^= MGF1(seed), with the hash `D`.
fn mgf1_xor<D: Digest>(seed: &[u8], out: &mut [u8]) {
    let h = <D as Digest>::output_size();
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(h)) {
        let mut hash = D::new();
        hash.update(seed);
        hash.update(counter.to_be_bytes());
        let mask = Zeroizing::new(hash.finalize().to_vec());
        chunk.iter_mut().zip(mask.iter()).for_each(|(o, m)| *o ^= m);
    }
}

/// Decodes the raw RSA plaintext `em` (k octets) of an OAEP ciphertext:
/// the message, or the uniform failure.
pub(crate) fn decode<D: Digest>(mut em: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>> {
    let h = <D as Digest>::output_size();
    let k = em.len();
    if k < 2 * h + 2 {
        return Err(Error::EncryptionFailed); // a public fact of the key size
    }
    let (y, rest) = em.split_at_mut(1);
    let (seed, db) = rest.split_at_mut(h);
    mgf1_xor::<D>(db, seed);
    mgf1_xor::<D>(seed, db);
    let label_hash = D::digest([]);
    let mut valid = y[0].ct_eq(&0u8) & db[..h].ct_eq(&label_hash[..]);
    // DB = lHash || PS (zeros) || 0x01 || M: find the 0x01 after the zeros.
    let mut looking = Choice::TRUE;
    let mut separator = 0u32;
    for (i, octet) in db[h..].iter().enumerate() {
        let is_zero = octet.ct_eq(&0u8);
        let is_one = octet.ct_eq(&1u8);
        separator.ct_assign(&(i as u32), looking & is_one);
        valid &= !(looking & !is_zero & !is_one);
        looking &= is_zero;
    }
    valid &= !looking;
    // PS || 0x01 || M, copied whatever the outcome (the same allocation and
    // copy for a valid and an invalid padding); wiped when dropped.
    let mut message = Zeroizing::new(db[h..].to_vec());
    if !valid.to_bool() {
        return Err(Error::EncryptionFailed);
    }
    message.drain(..separator as usize + 1);
    Ok(message)
}

/// EME-OAEP encoding (RFC 8017 §7.1.1 step 2) with the empty label and
/// MGF1 over `D`, the seed from `rng`: the k-octet block for the RSA
/// public-key operation. [`Error::KeyTooSmall`] when M does not fit.
pub(crate) fn encode<D: Digest, R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    message: &[u8],
    k: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let h = <D as Digest>::output_size();
    if k < 2 * h + 2 || message.len() > k - 2 * h - 2 {
        return Err(Error::KeyTooSmall);
    }
    let mut em = Zeroizing::new(alloc::vec![0u8; k]);
    let (_, rest) = em.split_at_mut(1);
    let (seed, db) = rest.split_at_mut(h);
    // DB = lHash || PS (zeros) || 0x01 || M.
    db[..h].copy_from_slice(&D::digest([]));
    let one = db.len() - message.len() - 1;
    db[one] = 1;
    db[one + 1..].copy_from_slice(message);
    rng::fill(rng, seed)?;
    mgf1_xor::<D>(seed, db);
    mgf1_xor::<D>(db, seed);
    Ok(em)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::rsa::tests::be as i2osp;
    use rsa::BoxedUint;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    use sha1::Sha1;
    use sha2::Sha256;

    /// Valid OAEP ciphertexts of random messages (made by the rsa crate)
    /// and invalid ones (random blocks below the modulus, and valid ones
    /// with one octet of the encoded message changed): the same message or
    /// the same failure as the rsa crate's decryption. The first octet stays
    /// zero: rsa 0.10.0 does not check it (RFC 8017 §7.1.2 step 3g), this
    /// decoder does (Wycheproof's tcId 23 in core/tests/wycheproof.rs).
    fn matches_the_rsa_crate<
        D: Digest + sha2::digest::FixedOutputReset + Default + Send + Sync + 'static,
    >(
        cases: usize,
    ) {
        let pem = include_str!("../../tests/data/keys/rsa2048_pkcs8.pem");
        let key = rsa::PrivateKey::from_pkcs8_pem(pem).expect("key");
        // The seam of the backend built (the rsa crate's or the compact one).
        let ours_key = crate::key_backend::private_from_pem(pem).expect("key");
        let raw = |c: &[u8]| {
            crate::key_backend::raw_decrypt(&ours_key, &mut crate::rng::OsRng, c).expect("raw")
        };
        let public = key.to_public_key();
        let k = key.size();
        let mut os = crate::rng::OsRng;
        let mut state = 0x0123_4567_89AB_CDEFu64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut valid, mut invalid) = (0, 0);
        for i in 0..cases {
            let message: Vec<u8> = (0..next() as usize % 100).map(|_| next() as u8).collect();
            let c = public
                .encrypt(&mut os, rsa::Oaep::<D>::new(), &message)
                .expect("encrypt");
            let c = match i % 3 {
                0 => c,
                1 => {
                    // One octet of the encoded message changed.
                    let mut em = raw(&c);
                    let at = 1 + next() as usize % (k - 1);
                    em[at] ^= 1 << (next() % 8);
                    let m = BoxedUint::from_be_slice(&em, key.n_bits_precision()).expect("em");
                    i2osp(&rsa::hazmat::rsa_encrypt(&public, &m).expect("encrypt"), k).to_vec()
                }
                _ => {
                    let mut em: Vec<u8> = (0..k).map(|_| next() as u8).collect();
                    em[0] = 0;
                    let m = BoxedUint::from_be_slice(&em, key.n_bits_precision()).expect("em");
                    i2osp(&rsa::hazmat::rsa_encrypt(&public, &m).expect("encrypt"), k).to_vec()
                }
            };
            let ours = decode::<D>(raw(&c));
            let theirs = key.decrypt(rsa::Oaep::<D>::new(), &c);
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(&a[..], &b[..]);
                    valid += 1;
                }
                (Err(_), Err(_)) => invalid += 1,
                _ => panic!(
                    "case {i}: ours {:?}, the rsa crate's {:?}",
                    ours.is_ok(),
                    theirs.is_ok()
                ),
            }
        }
        assert!(
            valid >= cases / 3 && invalid >= cases / 2,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn sha1_decoding_matches_the_rsa_crate() {
        matches_the_rsa_crate::<Sha1>(150);
    }

    #[test]
    fn sha256_decoding_matches_the_rsa_crate() {
        matches_the_rsa_crate::<Sha256>(150);
    }
}

//! Key generation on the compact arithmetic: two random primes of half the
//! modulus size with their top two bits set (so that n has exactly the
//! size asked for), e = 65537, d = e^-1 mod (p - 1)(q - 1). Each candidate
//! is sieved by the odd primes below 1,000 and then tested with
//! Miller-Rabin rounds on random bases, as FIPS 186-4 (Appendix C.3)
//! counts them; the finished key goes through the same checks as a loaded
//! one.

use zeroize::Zeroizing;

use super::bignum::{
    self, LIMB_BITS, Limb, Limbs, Modulus, eq_bit, mul, mul_small_add, sub_assign, zeros,
};
use super::rsa::{Components, PrivateKey, random_below};
use crate::error::{Error, Result};
use crate::rng::{self, TryCryptoRng};

/// The public exponent of new keys.
const E: u32 = 65537;

/// The odd primes below 1,000: a candidate divisible by one is no prime.
const SMALL_PRIMES: [u16; 167] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193,
    197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307,
    311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397, 401, 409, 419, 421,
    431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503, 509, 521, 523, 541, 547,
    557, 563, 569, 571, 577, 587, 593, 599, 601, 607, 613, 617, 619, 631, 641, 643, 647, 653, 659,
    661, 673, 677, 683, 691, 701, 709, 719, 727, 733, 739, 743, 751, 757, 761, 769, 773, 787, 797,
    809, 811, 821, 823, 827, 829, 839, 853, 857, 859, 863, 877, 881, 883, 887, 907, 911, 919, 929,
    937, 941, 947, 953, 967, 971, 977, 983, 991, 997,
];

/// A new key of `bits` bits (2048, 3072 or 4096: the key pair checks).
pub(crate) fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R, bits: usize) -> Result<PrivateKey> {
    if !bits.is_multiple_of(2 * LIMB_BITS) {
        return Err(Error::UnsupportedKeySize);
    }
    let half = bits / 2;
    // Two independent random primes are far apart but with negligible
    // probability; an RNG that repeats itself is an error, not a loop.
    for _ in 0..4 {
        let p = random_prime(rng, half)?;
        let q = random_prime(rng, half)?;
        if !far_apart(&p, &q, half) {
            continue;
        }
        let mut n = zeros(2 * p.len());
        mul(&p, &q, &mut n);
        let d = private_exponent(&p, &q)?;
        let bytes = |limbs: &[Limb]| {
            let mut out = Zeroizing::new(alloc::vec![0u8; limbs.len() * bignum::LIMB_BYTES]);
            bignum::to_be_bytes(limbs, &mut out);
            out
        };
        let (n, d, p, q) = (bytes(&n), bytes(&d), bytes(&p), bytes(&q));
        return PrivateKey::from_components(&Components {
            n: &n,
            e: &E.to_be_bytes()[1..],
            d: &d,
            p: &p,
            q: &q,
            qinv: None,
        });
    }
    Err(Error::Rng)
}

/// |p - q| above 2^(half - 100) (FIPS 186-4 B.3.3), which random primes
/// miss only with negligible probability.
fn far_apart(p: &[Limb], q: &[Limb], half: usize) -> bool {
    let mut diff = zeros(p.len());
    diff.copy_from_slice(p);
    if sub_assign(&mut diff, q) == 1 {
        diff.copy_from_slice(q);
        sub_assign(&mut diff, p);
    }
    bignum::bit_len_vartime(&diff) > half - 100
}

/// d = e^-1 mod (p - 1)(q - 1), as (1 + k phi) / e with k = -phi^-1 mod e.
fn private_exponent(p: &[Limb], q: &[Limb]) -> Result<Limbs> {
    let (mut p1, mut q1) = (zeros(p.len()), zeros(q.len()));
    p1.copy_from_slice(p);
    q1.copy_from_slice(q);
    p1[0] &= !1;
    q1[0] &= !1;
    let mut phi = zeros(p.len() + q.len() + 1);
    let len = phi.len();
    mul(&p1, &q1, &mut phi[..len - 1]);
    let phi_mod_e = rem_u32(&phi, E);
    // e is prime: phi^-1 = phi^(e-2) mod e (phi is no multiple of e, as
    // neither p - 1 nor q - 1 is).
    let inverse = pow_mod_u32(phi_mod_e, E - 2, E);
    let k = (E - inverse) % E;
    let carry = mul_small_add(&mut phi, k, 1);
    if carry != 0 || bignum::div_small(&mut phi, E) != 0 {
        return Err(Error::InvalidKey); // cannot happen for primes p, q
    }
    let mut d = zeros(p.len() + q.len());
    d.copy_from_slice(&phi[..len - 1]);
    Ok(d)
}

/// A random prime of exactly `bits` bits (a multiple of 32) with its top two
/// bits set, whose p - 1 is no multiple of e.
fn random_prime<R: TryCryptoRng + ?Sized>(rng: &mut R, bits: usize) -> Result<Limbs> {
    let len = bits / LIMB_BITS;
    let rounds = if bits <= 1024 { 5 } else { 4 };
    let mut bytes = Zeroizing::new(alloc::vec![0u8; len * bignum::LIMB_BYTES]);
    let mut candidate = zeros(len);
    // A prime turns up within a few hundred candidates (one in 355 odd
    // 1024-bit numbers is prime); ten thousand without one mean the RNG
    // is broken.
    for _ in 0..10_000 {
        rng::fill(rng, &mut bytes)?;
        bignum::from_be_bytes(&bytes, &mut candidate).ok_or(Error::Rng)?;
        candidate[len - 1] |= 0b11 << (LIMB_BITS - 2);
        candidate[0] |= 1;
        if SMALL_PRIMES
            .iter()
            .any(|&prime| bignum::rem_small(&candidate, prime) == 0)
            || rem_u32(&candidate, E) == 1
        {
            continue;
        }
        if is_probable_prime(rng, &candidate, rounds)? {
            return Ok(candidate);
        }
    }
    Err(Error::Rng)
}

/// Miller-Rabin with `rounds` random bases.
fn is_probable_prime<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    w: &[Limb],
    rounds: usize,
) -> Result<bool> {
    let modulus = Modulus::new(w).ok_or(Error::InvalidKey)?;
    let len = w.len();
    let mut w1 = zeros(len);
    w1.copy_from_slice(w);
    w1[0] &= !1;
    // w - 1 = 2^a * m with m odd.
    let a = w1
        .iter()
        .enumerate()
        .find(|(_, limb)| **limb != 0)
        .map_or(0, |(i, limb)| {
            i * LIMB_BITS + limb.trailing_zeros() as usize
        });
    let mut m = zeros(len);
    for bit in 0..len * LIMB_BITS - a {
        let from = bit + a;
        m[bit / LIMB_BITS] |=
            ((w1[from / LIMB_BITS] >> (from % LIMB_BITS)) & 1) << (bit % LIMB_BITS);
    }
    let mut scratch = modulus.scratch();
    let mut minus_one = zeros(len);
    modulus.to_monty(&w1, &mut minus_one, &mut scratch);
    let (mut base, mut x, mut y) = (zeros(len), zeros(len), zeros(len));
    'rounds: for _ in 0..rounds {
        let b = loop {
            let b = random_below(rng, &w1)?;
            if bignum::bit_len_vartime(&b) > 1 {
                break b; // 2 <= b <= w - 2
            }
        };
        modulus.to_monty(&b, &mut base, &mut scratch);
        modulus.pow(&base, &m, &mut x);
        if eq_bit(&x, modulus.one()) == 1 || eq_bit(&x, &minus_one) == 1 {
            continue;
        }
        for _ in 1..a {
            modulus.mul(&x, &x, &mut y, &mut scratch);
            core::mem::swap(&mut x, &mut y);
            if eq_bit(&x, &minus_one) == 1 {
                continue 'rounds;
            }
            if eq_bit(&x, modulus.one()) == 1 {
                return Ok(false);
            }
        }
        return Ok(false);
    }
    Ok(true)
}

/// `a mod m` for a 32-bit `m`.
fn rem_u32(a: &[Limb], m: u32) -> u32 {
    a.iter().rev().fold(0u64, |r, &limb| {
        ((r << LIMB_BITS) | u64::from(limb)) % u64::from(m)
    }) as u32
}

/// `base^exp mod m` in 64-bit arithmetic (public values).
fn pow_mod_u32(base: u32, mut exp: u32, m: u32) -> u32 {
    let (mut result, mut base) = (1u64, u64::from(base) % u64::from(m));
    while exp > 0 {
        if exp & 1 == 1 {
            result = result * base % u64::from(m);
        }
        base = base * base % u64::from(m);
        exp >>= 1;
    }
    result as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::rsa::tests::TestRng;
    use alloc::vec::Vec;

    #[test]
    fn small_primes_are_the_odd_primes_below_1000() {
        let sieve: Vec<u16> = (3..1000u16)
            .step_by(2)
            .filter(|&n| {
                (3..n)
                    .step_by(2)
                    .take_while(|d| d * d <= n)
                    .all(|d| n % d != 0)
            })
            .collect();
        assert_eq!(&SMALL_PRIMES[..], &sieve[..]);
    }

    #[test]
    fn miller_rabin_tells_primes_from_composites() {
        let mut rng = TestRng(11);
        // 2^127 - 1 is prime; 2^128 + 1 = 59649589127497217 * 5704689200685129054721.
        let mersenne = [u32::MAX, u32::MAX, u32::MAX, 0x7FFF_FFFF];
        assert!(is_probable_prime(&mut rng, &mersenne, 5).unwrap());
        let fermat7 = [1, 0, 0, 0, 1];
        assert!(!is_probable_prime(&mut rng, &fermat7, 5).unwrap());
        // A Carmichael number (561 = 3 * 11 * 17) and a strong pseudoprime
        // to base 2 (2047 = 23 * 89).
        assert!(!is_probable_prime(&mut rng, &[561], 5).unwrap());
        assert!(!is_probable_prime(&mut rng, &[2047], 5).unwrap());
        assert!(is_probable_prime(&mut rng, &[65537], 5).unwrap());
    }

    #[test]
    fn a_generated_key_is_a_valid_key_that_the_rsa_crate_accepts() {
        use rsa::pkcs8::DecodePrivateKey;
        let mut rng = TestRng(0xC0FFEE);
        let key = generate(&mut rng, 2048).expect("key");
        assert_eq!(key.public().bits(), 2048);
        let der = crate::compact::der::encode_pkcs8_private(&key.component_bytes());
        let theirs = rsa::PrivateKey::from_pkcs8_der(&der).expect("the rsa crate loads it");
        // And decrypts what the public key encrypts.
        let mut m = alloc::vec![0x5Au8; 256];
        m[0] = 0;
        let c = key.public().raw_encrypt(&m).unwrap();
        let raw = crate::rsa_private::RawRsaPrivate::raw_decrypt(&key, &mut rng, &c).unwrap();
        assert_eq!(&raw[..], &m[..]);
        let value = rsa::BoxedUint::from_be_slice(&c, 2048).unwrap();
        let theirs_m = rsa::hazmat::rsa_decrypt_and_check(&theirs, Some(&mut rng), &value).unwrap();
        assert_eq!(crate::compact::rsa::tests::be(&theirs_m, 256), m);
    }
}

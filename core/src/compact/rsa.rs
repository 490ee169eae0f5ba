//! RSA keys on the compact arithmetic: the public-key operation, and the
//! private-key operation with CRT, base blinding by a cached pair updated
//! by squaring (as mbedTLS and OpenSSL do), exponent blinding, and a check
//! of the result against the public key before anything is returned.

use alloc::vec::Vec;
use zeroize::Zeroizing;

use super::bignum::{
    self, LIMB_BITS, Limb, Limbs, Modulus, add_assign, eq_bit, from_be_bytes, is_zero, lt_bit, mul,
    mul_small_add, to_be_bytes, zeros,
};
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::rng::{self, TryCryptoRng};
use crate::rsa_private::RawRsaPrivate;

/// Modulus sizes this backend takes, in bits: what any key-size setting
/// can load (the key pair checks the setting itself), and no more, so that
/// a key's size bounds the work.
const MODULUS_BITS: core::ops::RangeInclusive<usize> = 1024..=4096;

/// Public exponents, as the `rsa` crate bounds them (and odd).
const EXPONENT: core::ops::RangeInclusive<u64> = 2..=(1 << 33) - 1;

/// Bits of the random multiple of p - 1 (q - 1) added to each CRT exponent.
const EXPONENT_BLINDING_BITS: usize = LIMB_BITS;

/// An RSA public key.
#[derive(Clone)]
pub(crate) struct PublicKey {
    n: Modulus,
    e: u64,
    bits: usize,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.e == other.e && self.n.modulus() == other.n.modulus()
    }
}

impl Eq for PublicKey {}

impl core::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits)
            .field("e", &self.e)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// From the big-endian magnitudes of n and e.
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Result<Self> {
        let n_limbs = n_limbs(n)?;
        let bits = bignum::bit_len_vartime(&n_limbs);
        if !MODULUS_BITS.contains(&bits) {
            return Err(Error::InvalidKey);
        }
        let mut e_value = 0u64;
        for &byte in e {
            if e_value >> 56 != 0 {
                return Err(Error::InvalidKey);
            }
            e_value = e_value << 8 | u64::from(byte);
        }
        if !EXPONENT.contains(&e_value) || e_value.is_multiple_of(2) {
            return Err(Error::InvalidKey);
        }
        let n = Modulus::new(&n_limbs).ok_or(Error::InvalidKey)?;
        Ok(PublicKey {
            n,
            e: e_value,
            bits,
        })
    }

    /// The modulus size in bits.
    pub(crate) fn bits(&self) -> usize {
        self.bits
    }

    /// The modulus size in octets (of every ciphertext).
    pub(crate) fn size(&self) -> usize {
        self.bits.div_ceil(8)
    }

    /// n, big-endian, `size()` octets.
    pub(crate) fn n_bytes(&self) -> Vec<u8> {
        let mut out = alloc::vec![0u8; self.size()];
        to_be_bytes(self.n.modulus(), &mut out);
        out
    }

    /// e, big-endian, without leading zeros.
    pub(crate) fn e_bytes(&self) -> Vec<u8> {
        let bytes = self.e.to_be_bytes();
        let first = bytes.iter().position(|&b| b != 0).unwrap_or(7);
        bytes[first..].to_vec()
    }

    /// RSAEP: `em`^e mod n as `size()` octets, for `em` of `size()` octets
    /// below n ([`Error::KeyTooSmall`] otherwise, as for the `rsa` crate).
    pub(crate) fn raw_encrypt(&self, em: &[u8]) -> Result<Vec<u8>> {
        let n = &self.n;
        let mut m = zeros(n.len());
        if em.len() != self.size()
            || from_be_bytes(em, &mut m).is_none()
            || lt_bit(&m, n.modulus()) == 0
        {
            return Err(Error::KeyTooSmall);
        }
        let c = self.power(&m);
        let mut out = alloc::vec![0u8; self.size()];
        to_be_bytes(&c, &mut out);
        Ok(out)
    }

    /// `x^e mod n` for `x < n`.
    fn power(&self, x: &[Limb]) -> Limbs {
        let n = &self.n;
        let mut scratch = n.scratch();
        let (mut xm, mut ym, mut y) = (zeros(n.len()), zeros(n.len()), zeros(n.len()));
        n.to_monty(x, &mut xm, &mut scratch);
        n.pow_vartime(&xm, self.e, &mut ym);
        n.leave_monty(&ym, &mut y, &mut scratch);
        y
    }
}

/// n's limbs from its big-endian magnitude: odd, no leading zero octet.
fn n_limbs(n: &[u8]) -> Result<Limbs> {
    if n.first().is_none_or(|&b| b == 0) || n.last().is_none_or(|&b| b & 1 == 0) {
        return Err(Error::InvalidKey);
    }
    let mut limbs = zeros(bignum::limbs_for(n.len()));
    from_be_bytes(n, &mut limbs).ok_or(Error::InvalidKey)?;
    Ok(limbs)
}

/// The private key's components as big-endian magnitudes (PKCS#1 order).
pub(crate) struct Components<'a> {
    pub(crate) n: &'a [u8],
    pub(crate) e: &'a [u8],
    pub(crate) d: &'a [u8],
    pub(crate) p: &'a [u8],
    pub(crate) q: &'a [u8],
    /// The stored CRT coefficient q^-1 mod p, used when it is right.
    pub(crate) qinv: Option<&'a [u8]>,
}

/// The blinding pair: `vi = r^e` and `vf = r^-1` mod n for a secret random
/// r, both in Montgomery form modulo n.
struct Blinding {
    vi: Limbs,
    vf: Limbs,
}

/// An RSA private key (two primes).
pub(crate) struct PrivateKey {
    public: PublicKey,
    /// d as stored (the implicit rejection derives a key from it).
    d: Limbs,
    p: Modulus,
    q: Modulus,
    /// d mod (p - 1), d mod (q - 1).
    dp: Limbs,
    dq: Limbs,
    /// q^-1 mod p.
    qinv: Limbs,
    /// Taken by a decryption and put back squared; `None` until the first
    /// decryption (and while another thread holds it: that one makes its
    /// own).
    blinding: Lock<Option<Blinding>>,
}

impl Clone for PrivateKey {
    /// A clone makes its own blinding pair: two keys never share one.
    fn clone(&self) -> Self {
        PrivateKey {
            public: self.public.clone(),
            d: self.d.clone(),
            p: self.p.clone(),
            q: self.q.clone(),
            dp: self.dp.clone(),
            dq: self.dq.clone(),
            qinv: self.qinv.clone(),
            blinding: Lock::new(None),
        }
    }
}

impl PrivateKey {
    /// From the components, checked as the `rsa` crate checks them: n odd,
    /// e in range, d < n, p and q distinct, odd, each at most half of n's
    /// bits (rounded up), p * q = n, d * e = 1 mod p - 1 and mod q - 1. The
    /// CRT exponents are computed from d (as the `rsa` crate does); the
    /// stored q^-1 mod p is used when it is right. Every check on secret
    /// values runs in constant time; only the outcome is revealed.
    pub(crate) fn from_components(c: &Components<'_>) -> Result<Self> {
        let public = PublicKey::new(c.n, c.e)?;
        let n = public.n.modulus();
        let half_bits = public.bits.div_ceil(2);
        let half = half_bits.div_ceil(LIMB_BITS);
        let p = prime_limbs(c.p, half, half_bits)?;
        let q = prime_limbs(c.q, half, half_bits)?;
        let mut d = zeros(n.len());
        from_be_bytes(c.d, &mut d).ok_or(Error::InvalidKey)?;

        let mut bad = lt_bit(&d, n) ^ 1; // d < n
        bad |= eq_bit(&p, &q);
        bad |= (p[0] & q[0] & 1) ^ 1; // both odd
        let mut product = zeros(2 * half);
        mul(&p, &q, &mut product);
        let mut n_wide = zeros(2 * half);
        n_wide[..n.len()].copy_from_slice(n);
        bad |= eq_bit(&product, &n_wide) ^ 1;
        // d * e = 1 mod (p - 1) and mod (q - 1), checked as dp * e = 1
        // for dp = d mod (p - 1) (e is below 2^34: two limbs).
        let (p1, q1) = (minus_one(&p), minus_one(&q));
        let dp = bignum::rem(&d, &p1);
        let dq = bignum::rem(&d, &q1);
        let e_limbs = [public.e as Limb, (public.e >> LIMB_BITS) as Limb];
        for (d_half, prime_minus_one) in [(&dp, &p1), (&dq, &q1)] {
            let mut de = zeros(half + 2);
            mul(d_half, &e_limbs, &mut de);
            bad |= bignum::is_one(&bignum::rem(&de, prime_minus_one)) ^ 1;
        }
        if bad != 0 {
            return Err(Error::InvalidKey);
        }
        let p = Modulus::new(&p).ok_or(Error::InvalidKey)?;
        let q = Modulus::new(&q).ok_or(Error::InvalidKey)?;
        let qinv = crt_coefficient(&p, &q, c.qinv);
        Ok(PrivateKey {
            public,
            d,
            p,
            q,
            dp,
            dq,
            qinv,
            blinding: Lock::new(None),
        })
    }

    pub(crate) fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The components for export, big-endian: n, e, d, p, q, dp, dq, qinv.
    pub(crate) fn component_bytes(&self) -> [Zeroizing<Vec<u8>>; 8] {
        let bytes = |limbs: &[Limb]| {
            let mut out = Zeroizing::new(alloc::vec![0u8; limbs.len() * bignum::LIMB_BYTES]);
            to_be_bytes(limbs, &mut out);
            out
        };
        [
            Zeroizing::new(self.public.n_bytes()),
            Zeroizing::new(self.public.e_bytes()),
            bytes(&self.d),
            bytes(self.p.modulus()),
            bytes(self.q.modulus()),
            bytes(&self.dp),
            bytes(&self.dq),
            bytes(&self.qinv),
        ]
    }

    /// d as `size()` big-endian octets.
    pub(crate) fn d_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(alloc::vec![0u8; self.public.size()]);
        to_be_bytes(&self.d, &mut out);
        out
    }
}

impl RawRsaPrivate for PrivateKey {
    /// RSADP: `ciphertext`^d mod n as k octets. An error for a ciphertext
    /// of another length or not below n (public facts), for an RNG
    /// failure, and when the result fails the check against the public key
    /// (a fault: nothing is returned then).
    fn raw_decrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let n = &self.public.n;
        let mut c = zeros(n.len());
        if ciphertext.len() != self.public.size()
            || from_be_bytes(ciphertext, &mut c).is_none()
            || lt_bit(&c, n.modulus()) == 0
        {
            return Err(Error::EncryptionFailed);
        }
        let mut pair = match self.blinding.with(Option::take) {
            Ok(Some(pair)) => pair,
            _ => self.new_blinding(rng)?,
        };
        let mut scratch = n.scratch();
        // Blind: c * r^e; the CRT result is then m * r.
        let mut blinded = zeros(n.len());
        n.mul(&c, &pair.vi, &mut blinded, &mut scratch);
        let result = self.crt_power(rng, &blinded)?;
        // The fault check: the result must encrypt back to its input.
        if eq_bit(&self.public.power(&result), &blinded) != 1 {
            return Err(Error::EncryptionFailed);
        }
        // Unblind: times r^-1.
        let mut m = zeros(n.len());
        n.mul(&result, &pair.vf, &mut m, &mut scratch);
        // The next pair: r^2.
        let mut squared = zeros(n.len());
        n.mul(&pair.vi, &pair.vi, &mut squared, &mut scratch);
        core::mem::swap(&mut pair.vi, &mut squared);
        n.mul(&pair.vf, &pair.vf, &mut squared, &mut scratch);
        core::mem::swap(&mut pair.vf, &mut squared);
        // A busy lock (without std) keeps none; the next call makes one.
        let _ = self.blinding.with(|slot| *slot = Some(pair));
        let mut out = Zeroizing::new(alloc::vec![0u8; self.public.size()]);
        to_be_bytes(&m, &mut out);
        Ok(out)
    }
}

impl PrivateKey {
    /// `x^d mod n` for `x < n` by CRT (Garner), each half with a blinded
    /// exponent d_p + k (p - 1) for a random 32-bit k.
    fn crt_power<R: TryCryptoRng + ?Sized>(&self, rng: &mut R, x: &[Limb]) -> Result<Limbs> {
        let (p, q) = (&self.p, &self.q);
        let mp = half_power(rng, p, &self.dp, x)?; // Montgomery form mod p
        let mq_monty = half_power(rng, q, &self.dq, x)?;
        let mut scratch = q.scratch();
        let mut mq = zeros(q.len());
        q.leave_monty(&mq_monty, &mut mq, &mut scratch);
        Ok(self.garner(&mp, &mq))
    }

    /// m = mq + q ((mp - mq) q^-1 mod p), for `mp` in Montgomery form mod p
    /// and `mq` mod q: the number below n with those residues.
    fn garner(&self, mp: &[Limb], mq: &[Limb]) -> Limbs {
        let (p, q) = (&self.p, &self.q);
        let mut scratch = p.scratch();
        let mut mq_in_p = zeros(p.len());
        p.reduce_wide_to_monty(mq, &mut mq_in_p);
        let mut diff = zeros(p.len());
        diff.copy_from_slice(mp);
        p.sub(&mut diff, &mq_in_p);
        let mut h = zeros(p.len());
        p.mul(&diff, &self.qinv, &mut h, &mut scratch); // (mp - mq) q^-1, plain
        let mut m = zeros(p.len() + q.len());
        mul(q.modulus(), &h, &mut m);
        add_assign(&mut m, mq);
        let mut out = zeros(self.public.n.len());
        let len = out.len();
        out.copy_from_slice(&m[..len]);
        out
    }

    /// A fresh blinding pair: r random below n, r^e, and r^-1 (modulo p
    /// and q in constant time, joined by CRT), checked by r * r^-1 = 1.
    /// An RNG that keeps giving non-invertible values is [`Error::Rng`].
    fn new_blinding<R: TryCryptoRng + ?Sized>(&self, rng: &mut R) -> Result<Blinding> {
        let n = &self.public.n;
        let mut scratch = n.scratch();
        for _ in 0..RNG_ATTEMPTS {
            let r = random_below(rng, n.modulus())?;
            // r^-1 mod p, in Montgomery form (as `garner` takes it), and
            // r^-1 mod q, plain.
            let inverse_mod = |prime: &Modulus, monty: bool| {
                let mut scratch = prime.scratch();
                let (mut rm, mut plain, mut inverse) =
                    (zeros(prime.len()), zeros(prime.len()), zeros(prime.len()));
                prime.reduce_wide_to_monty(&r, &mut rm);
                prime.leave_monty(&rm, &mut plain, &mut scratch);
                let invertible = prime.invert(&plain, &mut inverse);
                if monty {
                    prime.to_monty(&inverse, &mut plain, &mut scratch);
                    core::mem::swap(&mut plain, &mut inverse);
                }
                invertible.then_some(inverse)
            };
            let (Some(inv_p), Some(inv_q)) =
                (inverse_mod(&self.p, true), inverse_mod(&self.q, false))
            else {
                continue; // r shares a factor with n: negligibly likely
            };
            let inverse = self.garner(&inv_p, &inv_q);
            let mut check = zeros(n.len());
            let mut rm = zeros(n.len());
            n.to_monty(&r, &mut rm, &mut scratch);
            n.mul(&rm, &inverse, &mut check, &mut scratch); // r * r^-1, plain
            if bignum::is_one(&check) != 1 {
                continue;
            }
            let mut vf = zeros(n.len());
            n.to_monty(&inverse, &mut vf, &mut scratch);
            let mut vi = zeros(n.len());
            n.pow_vartime(&rm, self.public.e, &mut vi);
            return Ok(Blinding { vi, vf });
        }
        Err(Error::Rng)
    }
}

/// `x^(exp + k (p - 1))` in Montgomery form mod `prime`, for `x` of up to
/// twice the prime's length and a random 32-bit k.
fn half_power<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    prime: &Modulus,
    exp: &[Limb],
    x: &[Limb],
) -> Result<Limbs> {
    let len = prime.len();
    let mut xm = zeros(len);
    prime.reduce_wide_to_monty(x, &mut xm);
    let mut k = [0u8; EXPONENT_BLINDING_BITS / 8];
    rng::fill(rng, &mut k)?;
    let mut blinded = zeros(len + 1);
    blinded[..len].copy_from_slice(&minus_one(prime.modulus()));
    blinded[len] = mul_small_add(&mut blinded[..len], Limb::from_le_bytes(k), 0);
    add_assign(&mut blinded, exp);
    let mut out = zeros(len);
    prime.pow(&xm, &blinded, &mut out);
    Ok(out)
}

/// A prime's limbs (`len` of them) from its magnitude: at most `bits` bits.
fn prime_limbs(bytes: &[u8], len: usize, bits: usize) -> Result<Limbs> {
    let mut limbs = zeros(len);
    from_be_bytes(bytes, &mut limbs).ok_or(Error::InvalidKey)?;
    // The bits above `bits` in the top limb must be zero (constant time).
    let spare = len * LIMB_BITS - bits;
    let above = match spare {
        0 => 0,
        _ => limbs[len - 1] >> (LIMB_BITS - spare),
    };
    if above != 0 {
        return Err(Error::InvalidKey);
    }
    Ok(limbs)
}

/// `x - 1` for odd `x`.
fn minus_one(x: &[Limb]) -> Limbs {
    let mut out = zeros(x.len());
    out.copy_from_slice(x);
    out[0] &= !1;
    out
}

/// q^-1 mod p: the stored value when it is right (below p, times q is one
/// mod p), else computed.
fn crt_coefficient(p: &Modulus, q: &Modulus, stored: Option<&[u8]>) -> Limbs {
    let mut scratch = p.scratch();
    let mut q_monty = zeros(p.len());
    p.reduce_wide_to_monty(q.modulus(), &mut q_monty);
    if let Some(stored) = stored {
        let mut qinv = zeros(p.len());
        if from_be_bytes(stored, &mut qinv).is_some() && lt_bit(&qinv, p.modulus()) == 1 {
            let mut product = zeros(p.len());
            p.mul(&qinv, &q_monty, &mut product, &mut scratch); // qinv * q, plain
            if bignum::is_one(&product) == 1 {
                return qinv;
            }
        }
    }
    let mut q_mod_p = zeros(p.len());
    p.leave_monty(&q_monty, &mut q_mod_p, &mut scratch);
    let mut qinv = zeros(p.len());
    // p and q are distinct primes (p * q = n was checked), so this succeeds.
    p.invert(&q_mod_p, &mut qinv);
    qinv
}

/// Draws of a random value before an RNG that gives none usable (all
/// zeros, say) is [`Error::Rng`] rather than a loop without end. Each draw
/// succeeds with probability above one half for a working RNG.
const RNG_ATTEMPTS: usize = 64;

/// A uniformly random nonzero number below `bound` (rejection sampling on
/// its bit length).
pub(crate) fn random_below<R: TryCryptoRng + ?Sized>(rng: &mut R, bound: &[Limb]) -> Result<Limbs> {
    let bits = bignum::bit_len_vartime(bound);
    let mut bytes = Zeroizing::new(alloc::vec![0u8; bound.len() * bignum::LIMB_BYTES]);
    let mut value = zeros(bound.len());
    for _ in 0..RNG_ATTEMPTS {
        rng::fill(rng, &mut bytes)?;
        from_be_bytes(&bytes, &mut value).ok_or(Error::Rng)?;
        let spare = bound.len() * LIMB_BITS - bits;
        let top = bound.len() - 1;
        value[top] &= Limb::MAX >> spare;
        if lt_bit(&value, bound) == 1 && is_zero(&value) == 0 {
            return Ok(value);
        }
    }
    Err(Error::Rng)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::compact::der;
    use crate::rsa_private::RawRsaPrivate;
    use rsa::BoxedUint;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};

    pub(crate) use crate::test_rng::TestRng;

    pub(crate) const KEYS: [&str; 5] = [
        include_str!("../../../tests/data/keys/rsa1024_pkcs8.pem"),
        include_str!("../../../tests/data/keys/rsa2048_pkcs8.pem"),
        include_str!("../../../tests/data/cfrg_rsa_guidance/k2049.pem"),
        include_str!("../../../tests/data/keys/rsa3072_pkcs8.pem"),
        include_str!("../../../tests/data/keys/rsa4096_pkcs8.pem"),
    ];

    pub(crate) fn load(pem: &str) -> PrivateKey {
        crate::compact::private_from_pem(pem).expect("key")
    }

    /// The `rsa` crate's number as `len` big-endian octets.
    pub(crate) fn be(value: &BoxedUint, len: usize) -> Vec<u8> {
        let bytes = value.to_be_bytes();
        let mut out = alloc::vec![0u8; len];
        let take = bytes.len().min(len);
        out[len - take..].copy_from_slice(&bytes[bytes.len() - take..]);
        out
    }

    #[test]
    fn keys_load_with_the_rsa_crates_values() {
        for pem in KEYS {
            let ours = load(pem);
            let theirs = rsa::PrivateKey::from_pkcs8_pem(pem).expect("rsa");
            let k = theirs.size();
            assert_eq!(ours.public().size(), k);
            assert_eq!(ours.public().bits(), theirs.n().bit_width() as usize);
            let values = ours.component_bytes();
            let trim = |v: &[u8]| v[v.iter().position(|&b| b != 0).unwrap_or(v.len())..].to_vec();
            assert_eq!(trim(&values[0]), trim(&be(theirs.n(), k)), "n");
            assert_eq!(trim(&values[2]), trim(&be(theirs.d(), k)), "d");
            assert_eq!(trim(&values[5]), trim(&be(theirs.dp().unwrap(), k)), "dp");
            assert_eq!(trim(&values[6]), trim(&be(theirs.dq().unwrap(), k)), "dq");
            let qinv = theirs.crt_coefficient().unwrap();
            assert_eq!(trim(&values[7]), trim(&be(&qinv, k)), "qinv");
            assert_eq!(&ours.d_bytes()[..], &be(theirs.d(), k)[..]);
        }
    }

    #[test]
    fn raw_operations_match_the_rsa_crate() {
        let mut rng = TestRng(0x5EED);
        for pem in KEYS {
            let ours = load(pem);
            let theirs = rsa::PrivateKey::from_pkcs8_pem(pem).expect("rsa");
            let public = theirs.to_public_key();
            let k = theirs.size();
            let n = be(theirs.n(), k);
            let mut n_minus_one = n.clone();
            *n_minus_one.last_mut().unwrap() -= 1;
            let mut inputs = alloc::vec![alloc::vec![0u8; k], n_minus_one];
            let mut one = alloc::vec![0u8; k];
            one[k - 1] = 1;
            inputs.push(one);
            for _ in 0..40 {
                let mut c = alloc::vec![0u8; k];
                rand_core::TryRng::try_fill_bytes(&mut rng, &mut c).unwrap();
                c[0] &= n[0] >> 1; // below n
                inputs.push(c);
            }
            for c in &inputs {
                let value = BoxedUint::from_be_slice(c, theirs.n_bits_precision()).unwrap();
                let expected = rsa::hazmat::rsa_decrypt_and_check(&theirs, Some(&mut rng), &value)
                    .expect("rsa decrypt");
                let got = ours.raw_decrypt(&mut rng, c).expect("decrypt");
                assert_eq!(&got[..], &be(&expected, k)[..]);
                let encrypted = rsa::hazmat::rsa_encrypt(&public, &value).unwrap();
                assert_eq!(ours.public().raw_encrypt(c).unwrap(), be(&encrypted, k));
            }
            // Not below n, or of another length: rejected.
            assert!(ours.raw_decrypt(&mut rng, &n).is_err());
            assert!(ours.raw_decrypt(&mut rng, &[0xFF; 8]).is_err());
            assert!(ours.raw_decrypt(&mut rng, &n[1..]).is_err());
            assert!(ours.public().raw_encrypt(&n).is_err());
        }
    }

    /// An RNG that only ever gives zeros.
    struct ZeroRng;
    impl rand_core::TryRng for ZeroRng {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
            Ok(0)
        }
        fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
            Ok(0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
            dst.fill(0);
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for ZeroRng {}

    #[test]
    fn an_rng_stuck_at_zero_is_an_rng_error_not_a_hang() {
        let key = load(KEYS[1]);
        assert_eq!(key.raw_decrypt(&mut ZeroRng, &[7u8; 256]), Err(Error::Rng));
        assert!(matches!(
            crate::compact::keygen::generate(&mut ZeroRng, 2048),
            Err(Error::Rng)
        ));
    }

    #[test]
    fn a_fault_returns_an_error_never_a_wrong_plaintext() {
        let mut rng = TestRng(7);
        let mut key = load(KEYS[1]);
        let c = [0x42u8; 256];
        let good = key.raw_decrypt(&mut rng, &c).expect("decrypt");
        key.dp[3] ^= 0x10; // a fault in one CRT half
        assert!(key.raw_decrypt(&mut rng, &c).is_err());
        key.dp[3] ^= 0x10;
        assert_eq!(key.raw_decrypt(&mut rng, &c).unwrap(), good);
        // A clone makes its own blinding pair, and agrees.
        let clone = key.clone();
        assert_eq!(clone.raw_decrypt(&mut rng, &c).unwrap(), good);
    }

    #[test]
    fn inconsistent_components_are_rejected_and_a_wrong_qinv_is_replaced() {
        let der = der::pem_decode(KEYS[1], "PRIVATE KEY").unwrap();
        let f = der::parse_pkcs8_private(&der).unwrap();
        let base = Components {
            n: f.n,
            e: f.e,
            d: f.d,
            p: f.p,
            q: f.q,
            qinv: Some(f.qinv),
        };
        let flip = |v: &[u8], i: usize| {
            let mut v = v.to_vec();
            v[i] ^= 2;
            v
        };
        let (d, p, n, e) = (flip(f.d, 100), flip(f.p, 50), flip(f.n, 70), [1u8, 0, 3]);
        // Public keys: an even exponent (found by fuzz/compact_key_import)
        // and exponents out of range.
        for e in [&[1u8, 0, 0xA4][..], &[2], &[1], &[2, 0, 0, 0, 1], &[]] {
            assert!(PublicKey::new(f.n, e).is_err(), "e = {e:?}");
        }
        assert!(PublicKey::new(f.n, &[1, 0, 0, 0, 1]).is_ok());
        for bad in [
            Components { d: &d, ..base },
            Components { p: &p, ..base },
            Components { n: &n, ..base },
            Components { e: &e, ..base },
            Components { q: f.p, ..base }, // p = q
            Components { d: f.n, ..base }, // d not below n
        ] {
            assert!(PrivateKey::from_components(&bad).is_err());
        }
        // p and q swapped is the same key (another q^-1 mod p, computed).
        let swapped = PrivateKey::from_components(&Components {
            p: f.q,
            q: f.p,
            ..base
        })
        .expect("swapped primes");
        let wrong_qinv = flip(f.qinv, 10);
        let fixed = PrivateKey::from_components(&Components {
            qinv: Some(&wrong_qinv),
            ..base
        })
        .expect("a wrong qinv is recomputed");
        let mut rng = TestRng(3);
        let c = [0x17u8; 256];
        let expected = load(KEYS[1]).raw_decrypt(&mut rng, &c).unwrap();
        assert_eq!(swapped.raw_decrypt(&mut rng, &c).unwrap(), expected);
        assert_eq!(fixed.raw_decrypt(&mut rng, &c).unwrap(), expected);
    }
}

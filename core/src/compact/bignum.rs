//! Unsigned integers as little-endian slices of 32-bit limbs, and
//! Montgomery arithmetic modulo an odd number: the arithmetic of the compact
//! RSA backend.
//!
//! Lengths are public (they follow the modulus); values may be secret, so
//! nothing here branches on a value or indexes memory with one, except the
//! functions marked `_vartime`, which take public values only (the public
//! exponent). One copy of the code serves every key size, which is what
//! keeps it small; 32-bit limbs make the inner loop one `UMAAL` on a
//! Cortex-M4.

use alloc::vec;
use alloc::vec::Vec;
use zeroize::Zeroizing;

pub(crate) type Limb = u32;
type Wide = u64;
pub(crate) const LIMB_BYTES: usize = 4;
pub(crate) const LIMB_BITS: usize = 32;

/// A secret number's limbs, wiped when dropped.
pub(crate) type Limbs = Zeroizing<Vec<Limb>>;

pub(crate) fn zeros(len: usize) -> Limbs {
    Zeroizing::new(vec![0; len])
}

/// `a * b + c + d`, as (low, high) limbs; it cannot overflow.
#[inline(always)]
fn mac(a: Limb, b: Limb, c: Limb, d: Limb) -> (Limb, Limb) {
    let wide = Wide::from(a) * Wide::from(b) + Wide::from(c) + Wide::from(d);
    (wide as Limb, (wide >> LIMB_BITS) as Limb)
}

/// One row of the Montgomery product (FIOS): for `j` in `1..n`, adds
/// `ai * b[j] + u * m[j]` and the carries to `t[j]` and stores the sum one
/// limb down in `next[j - 1]`; returns the carries. On Arm with the `umaal`
/// feature, the assembly of `paramcrypt-umaal` (5.5 instructions a limb
/// against this loop's 10 on a Cortex-M4) runs instead; the tests compare
/// the two where both run.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
// Kept where the assembly runs, as the reference its test compares with.
#[cfg_attr(all(feature = "umaal", target_arch = "arm"), allow(dead_code))]
fn row_rust(
    t: &[Limb],
    b: &[Limb],
    m: &[Limb],
    next: &mut [Limb],
    ai: Limb,
    u: Limb,
    mut c1: Limb,
    mut c2: Limb,
) -> (Limb, Limb) {
    for (((&tj, &bj), &mj), dst) in t.iter().zip(b).zip(m).zip(next.iter_mut()) {
        let (s, h1) = mac(ai, bj, tj, c1);
        let (r, h2) = mac(u, mj, s, c2);
        *dst = r;
        c1 = h1;
        c2 = h2;
    }
    (c1, c2)
}

#[cfg(all(feature = "umaal", target_arch = "arm"))]
use paramcrypt_umaal::row;
#[cfg(not(all(feature = "umaal", target_arch = "arm")))]
use row_rust as row;

/// `a + b + carry` (carry 0 or 1), as (sum, carry).
#[inline(always)]
fn adc(a: Limb, b: Limb, carry: Limb) -> (Limb, Limb) {
    let wide = Wide::from(a) + Wide::from(b) + Wide::from(carry);
    (wide as Limb, (wide >> LIMB_BITS) as Limb)
}

/// `a - b - borrow` (borrow 0 or 1), as (difference, borrow).
#[inline(always)]
fn sbb(a: Limb, b: Limb, borrow: Limb) -> (Limb, Limb) {
    let wide = Wide::from(a)
        .wrapping_sub(Wide::from(b))
        .wrapping_sub(Wide::from(borrow));
    (wide as Limb, (wide >> (2 * LIMB_BITS - 1)) as Limb)
}

/// All ones when `bit` (0 or 1) is 1, else zero.
#[inline(always)]
fn mask(bit: Limb) -> Limb {
    bit.wrapping_neg()
}

/// 1 when `x` is zero, else 0.
#[inline(always)]
fn is_zero_bit(x: Limb) -> Limb {
    // The top bit of x | -x is set exactly when x is nonzero.
    1 ^ ((x | x.wrapping_neg()) >> (LIMB_BITS - 1))
}

/// The number of limbs that hold `bytes` octets.
pub(crate) const fn limbs_for(bytes: usize) -> usize {
    bytes.div_ceil(LIMB_BYTES)
}

/// Big-endian octets into `out`'s limbs (zero above them). `None` when a
/// nonzero octet does not fit; the lengths, not the values, decide the work.
pub(crate) fn from_be_bytes(bytes: &[u8], out: &mut [Limb]) -> Option<()> {
    out.fill(0);
    let mut overflow = 0u8;
    for (i, &byte) in bytes.iter().rev().enumerate() {
        match out.get_mut(i / LIMB_BYTES) {
            Some(limb) => *limb |= Limb::from(byte) << (8 * (i % LIMB_BYTES)),
            None => overflow |= byte,
        }
    }
    (overflow == 0).then_some(())
}

/// The low `out.len()` octets of `a`, big-endian (the caller knows the
/// rest is zero).
pub(crate) fn to_be_bytes(a: &[Limb], out: &mut [u8]) {
    let len = out.len();
    for (i, byte) in out.iter_mut().enumerate() {
        let at = len - 1 - i;
        *byte = a
            .get(at / LIMB_BYTES)
            .map_or(0, |limb| (limb >> (8 * (at % LIMB_BYTES))) as u8);
    }
}

/// `a += b` over `a`'s length (`b` no longer); returns the carry out.
pub(crate) fn add_assign(a: &mut [Limb], b: &[Limb]) -> Limb {
    let mut carry = 0;
    for (i, x) in a.iter_mut().enumerate() {
        let (sum, c) = adc(*x, b.get(i).copied().unwrap_or(0), carry);
        *x = sum;
        carry = c;
    }
    carry
}

/// `a -= b` over `a`'s length (`b` no longer); returns the borrow out.
pub(crate) fn sub_assign(a: &mut [Limb], b: &[Limb]) -> Limb {
    let mut borrow = 0;
    for (i, x) in a.iter_mut().enumerate() {
        let (diff, c) = sbb(*x, b.get(i).copied().unwrap_or(0), borrow);
        *x = diff;
        borrow = c;
    }
    borrow
}

/// `a - m` where `top:a` (an extra top limb of 0 or 1 above `a`) is at
/// least `m`, else `a` unchanged: the final step of modular additions and
/// Montgomery products, whose value is below 2m. Same length as `m`.
fn sub_if_at_least(a: &mut [Limb], m: &[Limb], top: Limb) {
    let mut borrow = 0;
    for (&x, &y) in a.iter().zip(m) {
        borrow = sbb(x, y, borrow).1;
    }
    let keep = mask(top | (borrow ^ 1));
    let mut borrow = 0;
    for (x, &y) in a.iter_mut().zip(m) {
        let (diff, b) = sbb(*x, y & keep, borrow);
        *x = diff;
        borrow = b;
    }
}

/// `a -= b & keep` over the shorter length; returns the borrow out. Not
/// inlined, like `masked_add`: one copy serves the inversion's steps
/// (flash); the Montgomery product keeps its own loop (speed).
#[inline(never)]
fn masked_sub(a: &mut [Limb], b: &[Limb], keep: Limb) -> Limb {
    let mut borrow = 0;
    for (x, &y) in a.iter_mut().zip(b) {
        let (diff, c) = sbb(*x, y & keep, borrow);
        *x = diff;
        borrow = c;
    }
    borrow
}

/// `a += b & keep` over the shorter length; returns the carry out.
#[inline(never)]
fn masked_add(a: &mut [Limb], b: &[Limb], keep: Limb) -> Limb {
    let mut carry = 0;
    for (x, &y) in a.iter_mut().zip(b) {
        let (sum, c) = adc(*x, y & keep, carry);
        *x = sum;
        carry = c;
    }
    carry
}

/// `a = (top:a) / 2` for a top bit `top` (0 or 1).
fn halve(a: &mut [Limb], mut top: Limb) {
    for x in a.iter_mut().rev() {
        let low = *x & 1;
        *x = (*x >> 1) | (top << (LIMB_BITS - 1));
        top = low;
    }
}

/// 1 when `a == b` (same length), else 0.
pub(crate) fn eq_bit(a: &[Limb], b: &[Limb]) -> Limb {
    debug_assert_eq!(a.len(), b.len());
    let diff = a.iter().zip(b).fold(0, |acc, (&x, &y)| acc | (x ^ y));
    is_zero_bit(diff)
}

/// 1 when `a < b` (same length), else 0.
pub(crate) fn lt_bit(a: &[Limb], b: &[Limb]) -> Limb {
    debug_assert_eq!(a.len(), b.len());
    let mut borrow = 0;
    for (&x, &y) in a.iter().zip(b) {
        borrow = sbb(x, y, borrow).1;
    }
    borrow
}

/// 1 when `a` is zero, else 0.
pub(crate) fn is_zero(a: &[Limb]) -> Limb {
    is_zero_bit(a.iter().fold(0, |acc, &x| acc | x))
}

/// 1 when `a` is one, else 0.
pub(crate) fn is_one(a: &[Limb]) -> Limb {
    let (&low, high) = a.split_first().expect("at least one limb");
    is_zero_bit(high.iter().fold(low ^ 1, |acc, &x| acc | x))
}

/// `out = a * b` (schoolbook); `out` holds `a.len() + b.len()` limbs.
pub(crate) fn mul(a: &[Limb], b: &[Limb], out: &mut [Limb]) {
    debug_assert_eq!(out.len(), a.len() + b.len());
    out.fill(0);
    for (i, &ai) in a.iter().enumerate() {
        let mut carry = 0;
        let row = &mut out[i..i + b.len() + 1];
        let (last, row) = row.split_last_mut().expect("b.len() + 1 limbs");
        for (o, &bj) in row.iter_mut().zip(b) {
            let (lo, hi) = mac(ai, bj, *o, carry);
            *o = lo;
            carry = hi;
        }
        *last = carry;
    }
}

/// `a = a * small + add`; returns the limb carried out.
pub(crate) fn mul_small_add(a: &mut [Limb], small: Limb, add: Limb) -> Limb {
    let mut carry = add;
    for x in a.iter_mut() {
        let (lo, hi) = mac(*x, small, 0, carry);
        *x = lo;
        carry = hi;
    }
    carry
}

/// `a mod m` for a `Limb`-sized `m` (public), from the top limb down, 16
/// bits at a time so that the division stays in 32 bits (one `UDIV` on a
/// Cortex-M4, no library call).
pub(crate) fn rem_small(a: &[Limb], m: u16) -> u16 {
    let m = Limb::from(m);
    a.iter().rev().fold(0, |r, &limb| {
        let r = ((r << 16) | (limb >> 16)) % m;
        ((r << 16) | (limb & 0xFFFF)) % m
    }) as u16
}

/// `a = a / small` (exact or not; the remainder is returned), `small`
/// public and nonzero.
pub(crate) fn div_small(a: &mut [Limb], small: Limb) -> Limb {
    let mut rem: Wide = 0;
    for x in a.iter_mut().rev() {
        let cur = (rem << LIMB_BITS) | Wide::from(*x);
        *x = (cur / Wide::from(small)) as Limb;
        rem = cur % Wide::from(small);
    }
    rem as Limb
}

/// `x mod m` for any nonzero `m` (even ones too), one bit at a time: key
/// load only (it checks exponents against p - 1 and q - 1). Constant time.
/// The result has `m.len()` limbs.
pub(crate) fn rem(x: &[Limb], m: &[Limb]) -> Limbs {
    let mut r = zeros(m.len());
    for limb in x.iter().rev() {
        for bit in (0..LIMB_BITS).rev() {
            // r = 2r + bit: below 2m, so one conditional subtraction.
            let mut top = 0;
            for x in r.iter_mut() {
                let next = *x >> (LIMB_BITS - 1);
                *x = (*x << 1) | top;
                top = next;
            }
            r[0] |= (limb >> bit) & 1;
            sub_if_at_least(&mut r, m, top);
        }
    }
    r
}

/// Bits of a public value up to its highest set bit.
pub(crate) fn bit_len_vartime(a: &[Limb]) -> usize {
    match a.iter().rposition(|&x| x != 0) {
        Some(top) => top * LIMB_BITS + (LIMB_BITS - a[top].leading_zeros() as usize),
        None => 0,
    }
}

/// An odd modulus `m` with what Montgomery arithmetic modulo it needs.
/// `R = 2^(32 * len)`; a number `x` in Montgomery form is `x * R mod m`.
#[derive(Clone)]
pub(crate) struct Modulus {
    m: Limbs,
    /// `-m^-1 mod 2^32`.
    m0_inv: Limb,
    /// `R mod m`: one, in Montgomery form.
    one: Limbs,
    /// `R^2 mod m`: converts into Montgomery form.
    rr: Limbs,
}

/// Window width of the constant-time exponentiation: 16 table entries.
const WINDOW: usize = 4;

impl Modulus {
    /// `None` unless `m` is odd and greater than one.
    pub(crate) fn new(m: &[Limb]) -> Option<Self> {
        if m.first()? & 1 == 0 || (m.len() == 1 && m[0] == 1) {
            return None;
        }
        // Newton's iteration doubles the correct low bits of m^-1 each step.
        let mut inv: Limb = 1;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(m[0].wrapping_mul(inv)));
        }
        let len = m.len();
        let mut modulus = Modulus {
            m: Zeroizing::new(m.to_vec()),
            m0_inv: inv.wrapping_neg(),
            one: zeros(len),
            rr: zeros(len),
        };
        // R mod m by doubling 2^(bits - 1) (below m) up to 2^(32 len), then
        // 2^len * R by doubling len more times, then five Montgomery
        // squarings: (2^len)^32 = R, so the result is R in Montgomery form,
        // R^2 mod m. (The bit length of a prime of a key is public in all
        // but name: half of n's.)
        let bits = bit_len_vartime(m);
        let mut x = zeros(len);
        x[(bits - 1) / LIMB_BITS] = 1 << ((bits - 1) % LIMB_BITS);
        for _ in bits..=len * LIMB_BITS {
            modulus.double(&mut x);
        }
        modulus.one.copy_from_slice(&x);
        for _ in 0..len {
            modulus.double(&mut x);
        }
        let mut scratch = modulus.scratch();
        let mut y = zeros(len);
        for _ in 0..5 {
            modulus.mul(&x, &x, &mut y, &mut scratch);
            core::mem::swap(&mut x, &mut y);
        }
        modulus.rr.copy_from_slice(&x);
        Some(modulus)
    }

    pub(crate) fn len(&self) -> usize {
        self.m.len()
    }

    pub(crate) fn modulus(&self) -> &[Limb] {
        &self.m
    }

    /// Montgomery form of one.
    pub(crate) fn one(&self) -> &[Limb] {
        &self.one
    }

    /// Working space for [`Modulus::mul`].
    pub(crate) fn scratch(&self) -> Limbs {
        zeros(2 * self.len() + 2)
    }

    /// `x = 2x mod m` for `x < m`.
    fn double(&self, x: &mut [Limb]) {
        let mut top = 0;
        for limb in x.iter_mut() {
            let next = *limb >> (LIMB_BITS - 1);
            *limb = (*limb << 1) | top;
            top = next;
        }
        sub_if_at_least(x, &self.m, top);
    }

    /// `a = a + b mod m` for `a, b < m`.
    pub(crate) fn add(&self, a: &mut [Limb], b: &[Limb]) {
        let top = add_assign(a, b);
        sub_if_at_least(a, &self.m, top);
    }

    /// `a = a - b mod m` for `a, b < m`.
    pub(crate) fn sub(&self, a: &mut [Limb], b: &[Limb]) {
        let borrow = sub_assign(a, b);
        masked_add(a, &self.m, mask(borrow));
    }

    /// The Montgomery product `out = a * b / R mod m`, for `a < R` and
    /// `b < m` (then the value before the last subtraction is below 2m).
    /// `scratch` is [`Modulus::scratch`]. Multiplication and reduction in
    /// one pass per limb of `a` (FIOS): two `UMAAL`s per inner step, the
    /// running value alternating between two halves of `scratch` so that
    /// every loop is a plain zip (no bounds checks, no shifting in place).
    pub(crate) fn mul(&self, a: &[Limb], b: &[Limb], out: &mut [Limb], scratch: &mut [Limb]) {
        let n = self.len();
        // Split by slice patterns, whose length checks stay inline: at
        // `opt-level = "z"` range indexing, `split_first` and the like in
        // the row loop were calls (15% of an RSA-2048 unwrap).
        let ([m0, m_rest @ ..], [b0, b_rest @ ..]) = (&self.m[..n], &b[..n]) else {
            unreachable!("a modulus has limbs");
        };
        let (mut t, mut next) = scratch[..2 * n + 2].split_at_mut(n + 1);
        t.fill(0);
        for &ai in &a[..n] {
            let ([t0, t_mid @ .., t_top], [next_low @ .., r_slot, top_slot]) = (&*t, &mut *next)
            else {
                unreachable!("n + 1 limbs each");
            };
            // The low limb: u makes t + ai * b + u * m divisible by 2^32.
            let (low, c1) = mac(ai, *b0, *t0, 0);
            let u = low.wrapping_mul(self.m0_inv);
            let (c1, c2) = row(
                t_mid,
                b_rest,
                m_rest,
                next_low,
                ai,
                u,
                c1,
                mac(u, *m0, low, 0).1,
            );
            // The top: t[n] (0 or 1) and both carries, over two limbs.
            let (s, h1) = adc(*t_top, c1, 0);
            let (r, h2) = adc(s, c2, 0);
            *r_slot = r;
            *top_slot = h1 + h2;
            core::mem::swap(&mut t, &mut next);
        }
        out[..n].copy_from_slice(&t[..n]);
        sub_if_at_least(&mut out[..n], &self.m[..n], t[n]);
    }

    /// `x * R mod m` (Montgomery form) of `x < m`.
    pub(crate) fn to_monty(&self, x: &[Limb], out: &mut [Limb], scratch: &mut [Limb]) {
        self.mul(x, &self.rr, out, scratch);
    }

    /// `x mod m` from Montgomery form.
    pub(crate) fn leave_monty(&self, x: &[Limb], out: &mut [Limb], scratch: &mut [Limb]) {
        let mut unit = zeros(self.len());
        unit[0] = 1;
        // a * 1 / R, with 1 < m as the reduced operand.
        self.mul(x, &unit, out, scratch);
    }

    /// `x * R mod m` for `x` of up to twice this modulus's length: its
    /// Montgomery form, reduced. (Reduces a ciphertext modulo a prime.)
    pub(crate) fn reduce_wide_to_monty(&self, x: &[Limb], out: &mut [Limb]) {
        let n = self.len();
        debug_assert!(x.len() <= 2 * n);
        let mut low = zeros(n);
        let mut high = zeros(n);
        for (i, &limb) in x.iter().enumerate() {
            if i < n {
                low[i] = limb;
            } else {
                high[i - n] = limb;
            }
        }
        // x * R = high * R^2 + low * R: the Montgomery products with R^3
        // and R^2 (both below m) give each term reduced.
        let mut scratch = self.scratch();
        let mut rrr = zeros(n);
        self.mul(&self.rr, &self.rr, &mut rrr, &mut scratch);
        self.mul(&high, &rrr, out, &mut scratch);
        self.mul(&low, &self.rr, &mut high, &mut scratch);
        self.add(out, &high);
    }

    /// `x^-1 mod m` (plain form) for `x < m`, in constant time: the binary
    /// extended Euclidean algorithm with every step done in full (a fixed
    /// count of conditional swaps, subtractions and halvings). `false`
    /// when x has no inverse (shares a factor with m).
    pub(crate) fn invert(&self, x: &[Limb], out: &mut [Limb]) -> bool {
        let n = self.len();
        let m = &self.m[..n];
        // a = u x and b = v x (mod m) throughout; b stays odd.
        let (mut a, mut b, mut u, mut v) = (zeros(n), zeros(n), zeros(n), zeros(n));
        a.copy_from_slice(&x[..n]);
        b.copy_from_slice(m);
        u[0] = 1;
        for _ in 0..2 * n * LIMB_BITS {
            let odd = a[0] & 1;
            // When a is odd and below b, swap (a, u) with (b, v).
            let swap = mask(odd & lt_bit(&a, &b));
            for (x, y) in a
                .iter_mut()
                .zip(b.iter_mut())
                .chain(u.iter_mut().zip(v.iter_mut()))
            {
                let t = (*x ^ *y) & swap;
                *x ^= t;
                *y ^= t;
            }
            // When a is odd: a -= b (now a >= b), u -= v (mod m).
            let keep = mask(odd);
            masked_sub(&mut a, &b, keep);
            let borrow = masked_sub(&mut u, &v, keep);
            masked_add(&mut u, m, mask(borrow));
            // a is even: halve it, and u with it (mod m: add m when odd).
            halve(&mut a, 0);
            let add = mask(u[0] & 1);
            let carry = masked_add(&mut u, m, add);
            halve(&mut u, carry);
        }
        // a is zero and b the gcd: one when x is invertible.
        out[..n].copy_from_slice(&v);
        is_one(&b) == 1
    }

    /// `base^exp` in Montgomery form, for `base` in Montgomery form and a
    /// secret exponent whose length (in limbs) is public: fixed 4-bit
    /// windows, every table entry read for each window, the same products
    /// whatever the exponent's bits.
    pub(crate) fn pow(&self, base: &[Limb], exp: &[Limb], out: &mut [Limb]) {
        let n = self.len();
        let mut scratch = self.scratch();
        let mut table = zeros(n << WINDOW);
        table[..n].copy_from_slice(&self.one);
        table[n..2 * n].copy_from_slice(&base[..n]);
        for i in 2..1 << WINDOW {
            let (done, rest) = table.split_at_mut(i * n);
            self.mul(&done[(i - 1) * n..], base, &mut rest[..n], &mut scratch);
        }
        let mut acc = zeros(n);
        acc.copy_from_slice(&self.one);
        let mut tmp = zeros(n);
        let mut entry = zeros(n);
        let windows_per_limb = LIMB_BITS / WINDOW;
        for (i, limb) in exp.iter().rev().enumerate() {
            for w in (0..windows_per_limb).rev() {
                if i > 0 || w + 1 < windows_per_limb {
                    for _ in 0..WINDOW {
                        self.mul(&acc, &acc, &mut tmp, &mut scratch);
                        core::mem::swap(&mut acc, &mut tmp);
                    }
                }
                let digit = (limb >> (w * WINDOW)) & ((1 << WINDOW) - 1);
                select(&table, digit, &mut entry);
                self.mul(&acc, &entry, &mut tmp, &mut scratch);
                core::mem::swap(&mut acc, &mut tmp);
            }
        }
        out[..n].copy_from_slice(&acc);
    }

    /// `base^e` in Montgomery form for a public exponent `e` (square and
    /// multiply, left to right).
    pub(crate) fn pow_vartime(&self, base: &[Limb], e: u64, out: &mut [Limb]) {
        let n = self.len();
        let mut scratch = self.scratch();
        let mut acc = zeros(n);
        acc.copy_from_slice(&self.one);
        let mut tmp = zeros(n);
        for bit in (0..64 - e.leading_zeros()).rev() {
            self.mul(&acc, &acc, &mut tmp, &mut scratch);
            core::mem::swap(&mut acc, &mut tmp);
            // From e's 32-bit halves: a 64-bit shift by a variable amount
            // would link a helper on 32-bit targets.
            let half = if bit >= 32 {
                (e >> 32) as u32
            } else {
                e as u32
            };
            if (half >> (bit % 32)) & 1 == 1 {
                self.mul(&acc, base, &mut tmp, &mut scratch);
                core::mem::swap(&mut acc, &mut tmp);
            }
        }
        out[..n].copy_from_slice(&acc);
    }
}

/// `out = table[index]` (entries of `out.len()` limbs), reading every
/// entry so that the index stays secret.
fn select(table: &[Limb], index: Limb, out: &mut [Limb]) {
    let n = out.len();
    out.fill(0);
    for (i, entry) in table.chunks_exact(n).enumerate() {
        let take = mask(is_zero_bit(i as Limb ^ index));
        for (o, &x) in out.iter_mut().zip(entry) {
            *o |= x & take;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for test values.
    struct Xorshift(u64);
    impl Xorshift {
        fn limbs(&mut self, n: usize) -> Vec<Limb> {
            (0..n)
                .map(|_| {
                    self.0 ^= self.0 << 13;
                    self.0 ^= self.0 >> 7;
                    self.0 ^= self.0 << 17;
                    self.0 as Limb
                })
                .collect()
        }
    }

    /// Reference arithmetic through u128 for one- to three-limb values.
    fn value(a: &[Limb]) -> u128 {
        a.iter()
            .rev()
            .fold(0u128, |acc, &x| (acc << 32) | u128::from(x))
    }

    fn limbs_of(x: u128, n: usize) -> Vec<Limb> {
        (0..n).map(|i| (x >> (32 * i)) as Limb).collect()
    }

    fn pow_mod(mut b: u128, mut e: u128, m: u128) -> u128 {
        // Values below 2^63, so products fit.
        let mut r = 1 % m;
        b %= m;
        while e > 0 {
            if e & 1 == 1 {
                r = r * b % m;
            }
            b = b * b % m;
            e >>= 1;
        }
        r
    }

    /// The assembly row (feature `umaal`, Arm only: `make test-cross` runs
    /// this on armv7 under qemu-user) against the Rust loop it replaces: odd
    /// and even lengths, random and extreme limbs, every carry in.
    #[cfg(all(feature = "umaal", target_arch = "arm"))]
    #[test]
    fn the_umaal_row_matches_the_rust_row() {
        let mut rng = Xorshift(0x2545_F491_4F6C_DD1D);
        for len in 1..=70 {
            for round in 0..20 {
                let mut inputs: Vec<Vec<Limb>> = (0..3).map(|_| rng.limbs(len)).collect();
                if round == 0 {
                    inputs.iter_mut().for_each(|v| v.fill(Limb::MAX));
                }
                let extra = rng.limbs(4);
                let (ai, u) = if round == 0 {
                    (Limb::MAX, Limb::MAX)
                } else {
                    (extra[0], extra[1])
                };
                let (c1, c2) = if round == 0 {
                    (Limb::MAX, Limb::MAX)
                } else {
                    (extra[2], extra[3])
                };
                let (mut ours, mut theirs) = (vec![0; len], vec![0; len]);
                let asm = paramcrypt_umaal::row(
                    &inputs[0], &inputs[1], &inputs[2], &mut ours, ai, u, c1, c2,
                );
                let rust = row_rust(
                    &inputs[0],
                    &inputs[1],
                    &inputs[2],
                    &mut theirs,
                    ai,
                    u,
                    c1,
                    c2,
                );
                assert_eq!((asm, &ours), (rust, &theirs), "length {len}, round {round}");
            }
        }
    }

    #[test]
    fn montgomery_arithmetic_matches_u128_arithmetic() {
        let mut rng = Xorshift(0x1234_5678_9abc_def1);
        for _ in 0..300 {
            // Two-limb odd moduli below 2^63 keep the reference in u128.
            let mut m = rng.limbs(2);
            m[0] |= 1;
            m[1] &= 0x7FFF_FFFF;
            m[1] |= 1 << 20;
            let mv = value(&m);
            let modulus = Modulus::new(&m).expect("odd");
            let r = (1u128 << 64) % mv;
            assert_eq!(value(modulus.one()), r);
            assert_eq!(value(&modulus.rr), r * r % mv);
            let a = value(&rng.limbs(2)) % mv;
            let b = value(&rng.limbs(2)) % mv;
            let e = value(&rng.limbs(2));
            let (al, bl) = (limbs_of(a, 2), limbs_of(b, 2));
            let mut scratch = modulus.scratch();
            let (mut am, mut bm, mut out, mut plain) = (zeros(2), zeros(2), zeros(2), zeros(2));
            modulus.to_monty(&al, &mut am, &mut scratch);
            modulus.to_monty(&bl, &mut bm, &mut scratch);
            modulus.mul(&am, &bm, &mut out, &mut scratch);
            modulus.leave_monty(&out, &mut plain, &mut scratch);
            assert_eq!(value(&plain), a * b % mv, "product");
            modulus.pow(&am, &limbs_of(e, 2), &mut out);
            modulus.leave_monty(&out, &mut plain, &mut scratch);
            assert_eq!(value(&plain), pow_mod(a, e, mv), "pow");
            modulus.pow_vartime(&am, e as u64, &mut out);
            modulus.leave_monty(&out, &mut plain, &mut scratch);
            assert_eq!(
                value(&plain),
                pow_mod(a, e as u64 as u128, mv),
                "pow_vartime"
            );
            let mut sum = al.clone();
            modulus.add(&mut sum, &bl);
            assert_eq!(value(&sum), (a + b) % mv, "add");
            let mut diff = al.clone();
            modulus.sub(&mut diff, &bl);
            assert_eq!(value(&diff), (a + mv - b) % mv, "sub");
            // A value of twice the length, reduced into Montgomery form.
            let wide = rng.limbs(4);
            let mut reduced = zeros(2);
            modulus.reduce_wide_to_monty(&wide, &mut reduced);
            modulus.leave_monty(&reduced, &mut plain, &mut scratch);
            let expected = ((value(&wide[2..]) % mv) * ((1u128 << 64) % mv) % mv
                + value(&wide[..2]) % mv)
                % mv;
            assert_eq!(value(&plain), expected, "reduce_wide_to_monty");
            assert_eq!(value(&rem(&wide, &m)), expected, "rem");
            // The inverse, when there is one.
            let mut inverse = zeros(2);
            if modulus.invert(&al, &mut inverse) {
                assert_eq!(value(&inverse) * a % mv, 1 % mv, "invert");
            } else {
                let (mut x, mut y) = (a, mv);
                while y != 0 {
                    (x, y) = (y, x % y);
                }
                assert_ne!(x, 1, "invert failed for an invertible value");
            }
        }
    }

    #[test]
    fn helpers_match_u128_arithmetic() {
        let mut rng = Xorshift(99);
        for _ in 0..300 {
            let a = rng.limbs(2);
            let b = rng.limbs(1);
            let mut out = vec![0; 3];
            mul(&a, &b, &mut out);
            assert_eq!(value(&out), value(&a) * value(&b));
            let small = (rng.limbs(1)[0] as u16) | 1;
            assert_eq!(
                u128::from(rem_small(&a, small)),
                value(&a) % u128::from(small)
            );
            let mut q = a.clone();
            let r = div_small(&mut q, Limb::from(small));
            assert_eq!(value(&q), value(&a) / u128::from(small));
            assert_eq!(u128::from(r), value(&a) % u128::from(small));
            let mut even = rng.limbs(1);
            even[0] |= 2;
            even[0] &= !1;
            assert_eq!(value(&rem(&a, &even)), value(&a) % value(&even));
            let mut bytes = [0u8; 8];
            to_be_bytes(&a, &mut bytes);
            assert_eq!(u64::from_be_bytes(bytes) as u128, value(&a));
            let mut back = vec![0; 2];
            from_be_bytes(&bytes, &mut back).unwrap();
            assert_eq!(back, a);
            assert!(from_be_bytes(&[1, 0, 0, 0, 0], &mut [0; 1]).is_none());
            assert!(from_be_bytes(&[0, 0, 0, 0, 7], &mut [0; 1]).is_some());
            assert_eq!(is_one(&[1, 0]), 1);
            assert_eq!(
                is_one(&[1, 1]) | is_one(&[0, 0]) | is_one(&[3]) | is_one(&[0, 1]),
                0
            );
            assert_eq!(lt_bit(&a, &a), 0);
            assert_eq!(eq_bit(&a, &a), 1);
            let c = rng.limbs(2);
            assert_eq!(lt_bit(&a, &c) == 1, value(&a) < value(&c));
        }
    }
}

//! Secret parameters: base64(AES-128-CBC(key, iv, PKCS#7(plaintext))).
//!
//! In [`Mode::PerMessageIv`] each value is `base64(IV || ciphertext)` with a
//! fresh IV. CBC has no integrity protection: the protocol protects against
//! eavesdropping, not tampering. Unpadding is constant-time, and every
//! failure is the one [`Error::EncryptionFailed`].

#[cfg(not(target_pointer_width = "64"))]
use aes::cipher::ParBlocks;
use aes::cipher::array::Array;
use aes::cipher::consts::U16;
use aes::cipher::{
    BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt, BlockCipherEncrypt,
    BlockSizeUser, KeyInit,
};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ctutils::Choice;
use zeroize::{Zeroize, Zeroizing};

use crate::enckey::{IV_LEN, KEY_LEN, Mode, Session};
use crate::error::{Error, Result};
use crate::rng::{self, TryCryptoRng};
use crate::wire_base64;

const BLOCK: usize = 16;

/// Body bytes per step of the encryption pipeline: whole AES blocks that
/// are also whole base64 quanta (multiples of 48), on the stack.
#[cfg(target_pointer_width = "64")]
const STEP: usize = 4080;
#[cfg(not(target_pointer_width = "64"))]
const STEP: usize = 240;
/// The step for short values (up to 14 blocks of body).
const SHORT_STEP: usize = 240;

/// AES-128-CBC encryption of whole blocks in place, continuing the chain
/// from `chain`, which is left holding the last ciphertext block. AWS-LC
/// where it is built (its AES-NI loop keeps the serial CBC chain in
/// registers), the `aes` and `cbc` crates elsewhere.
fn cbc_encrypt_in_place(key: &[u8; BLOCK], chain: &mut [u8; BLOCK], blocks: &mut [u8]) {
    if crate::rsa_private::accelerated::aes128_cbc_encrypt_in_place(key, chain, blocks) {
        return;
    }
    cbc_encrypt_in_place_aes_crate(key, chain, blocks);
}

/// CBC with the `aes` crate's block cipher: one serial chain, so one block
/// at a time (the chaining is two lines; the `cbc` crate, which the tests
/// compare against, would add its own copies around them).
fn cbc_encrypt_in_place_aes_crate(key: &[u8; BLOCK], chain: &mut [u8; BLOCK], blocks: &mut [u8]) {
    let cipher = aes::Aes128::new(key.into());
    let (blocks, rest) = blocks.as_chunks_mut::<BLOCK>();
    debug_assert!(rest.is_empty(), "whole blocks only");
    for block in blocks {
        for (x, y) in block.iter_mut().zip(chain.iter()) {
            *x ^= y;
        }
        cipher.encrypt_block(block.into());
        *chain = *block;
    }
}

impl Session {
    /// Length of the base64 text that [`Session::encrypt`] produces for a
    /// plaintext of `plaintext_len` bytes in `mode`. [`Error::TooLong`] when
    /// it would not fit in memory (above `isize::MAX`).
    pub const fn encrypted_len(mode: Mode, plaintext_len: usize) -> Result<usize> {
        match body_len(mode, plaintext_len) {
            Some(body) => match wire_base64::checked_encoded_len(body) {
                Some(len) => Ok(len),
                None => Err(Error::TooLong),
            },
            None => Err(Error::TooLong),
        }
    }

    /// An upper bound of the plaintext length that [`Session::decrypt`] can
    /// return for a base64 text of `text_len` bytes. A buffer of this size is
    /// always large enough for [`Session::decrypt_into`].
    pub const fn decrypted_max_len(text_len: usize) -> usize {
        wire_base64::decoded_len_max(text_len)
    }

    /// Encrypts `plaintext` (a UTF-8 string's bytes, or any bytes) to its base64
    /// wire form. Uses the OS RNG for the per-message IV in that mode.
    #[cfg(feature = "std")]
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String> {
        self.encrypt_with_rng(&mut rng::OsRng, plaintext)
    }

    /// Encrypts `plaintext` to its base64 wire form; `rng` makes the IV in
    /// [`Mode::PerMessageIv`] and is not used in [`Mode::KeyIv`].
    pub fn encrypt_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<String> {
        let mut text = vec![0u8; Self::encrypted_len(self.mode, plaintext.len())?];
        let len = self.encrypt_into(rng, plaintext, &mut text)?;
        text.truncate(len);
        // Base64 output is ASCII.
        String::from_utf8(text).map_err(|_| Error::EncryptionFailed)
    }

    /// Encrypts `plaintext` into `out` as base64 text and returns its length,
    /// exactly [`Session::encrypted_len`]. `out` is untouched on error.
    ///
    /// One pass, without allocating: the plaintext is padded, encrypted and
    /// encoded a few KiB at a time through a buffer on the stack, straight
    /// into `out`.
    pub fn encrypt_into<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let needed = Self::encrypted_len(self.mode, plaintext.len())?;
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let body = body_len(self.mode, plaintext.len()).ok_or(Error::TooLong)?;
        // Short values take a short buffer: setting up a large one would
        // cost more than the encryption itself.
        let written = if body <= SHORT_STEP {
            self.encrypt_steps::<SHORT_STEP, R>(rng, plaintext, out)?
        } else {
            self.encrypt_steps::<STEP, R>(rng, plaintext, out)?
        };
        debug_assert_eq!(written, needed);
        Ok(written)
    }

    /// The body of `encrypt_into` with a stack buffer of `N` bytes (whole
    /// AES blocks and whole base64 quanta): each step fills it with body
    /// bytes (the IV first in per-message mode, then plaintext, padded in
    /// the last step), encrypts the plaintext part in place and encodes the
    /// step into `out`.
    fn encrypt_steps<const N: usize, R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        const { assert!(N.is_multiple_of(48) && N > IV_LEN) };
        // Not wiped afterwards, on purpose: plaintext is in `step` only
        // between its copy and its encryption in place, a few lines apart
        // with no way out between them; what is left is ciphertext (and the
        // public per-message IV). Wiping 4 KiB byte by byte would cost more
        // than encrypting 1 KiB.
        let mut step = [0u8; N];
        let mut chain = Zeroizing::new(self.iv);
        let mut prefix = 0; // body bytes before the plaintext in this step
        if self.mode == Mode::PerMessageIv {
            rng::fill(rng, &mut step[..IV_LEN])?;
            chain.copy_from_slice(&step[..IV_LEN]);
            prefix = IV_LEN;
        }
        let mut rest = plaintext;
        let mut written = 0;
        loop {
            let room = N - prefix;
            // The last step holds what is left and its padding (1 to 16
            // bytes), which fits: `room` is whole blocks.
            let last = rest.len() < room;
            let take = if last { rest.len() } else { room };
            let padded = if last {
                (take / BLOCK + 1) * BLOCK
            } else {
                take
            };
            let (now, later) = rest.split_at(take);
            let region = &mut step[prefix..prefix + padded];
            region[..take].copy_from_slice(now);
            region[take..].fill((padded - take) as u8);
            cbc_encrypt_in_place(&self.key, &mut chain, region);
            written += wire_base64::encode_into(&step[..prefix + padded], &mut out[written..]);
            if last {
                return Ok(written);
            }
            prefix = 0;
            rest = later;
        }
    }

    /// Decrypts a base64 wire value. The plaintext is zeroized when dropped.
    pub fn decrypt(&self, text: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        decrypt_to_vec(self.mode, text, |text, out| self.decrypt_into(text, out))
    }

    /// Decrypts a base64 wire value into `out` and returns the plaintext length.
    ///
    /// One pass, without allocating: base64 is decoded 48 bytes at a time
    /// and decrypted straight into `out`. `out` must hold the ciphertext
    /// body less one byte (always satisfied by
    /// [`Session::decrypted_max_len`]); this is checked from the text's
    /// length before anything is decoded, so it reveals nothing about the
    /// contents. On error `out` holds no plaintext: what was written is wiped.
    pub fn decrypt_into(&self, text: &[u8], out: &mut [u8]) -> Result<usize> {
        let (max_plaintext, shape) = plaintext_capacity(self.mode, text)?;
        if out.len() < max_plaintext {
            return Err(Error::BufferTooSmall {
                needed: max_plaintext,
            });
        }
        let out = &mut out[..max_plaintext];
        match self.decrypt_stream(text, shape.line_breaks, out) {
            Some((len, valid)) => {
                // Valid padding or not, the same work: every byte is ANDed
                // with a mask that keeps it (0xFF) or wipes it (0x00), a
                // word at a time; then the one branch on the outcome (which
                // the caller learns anyway). The mask goes through black_box
                // so the compiler cannot specialize the loop on its two
                // values; the AND vectorizes.
                let mask = core::hint::black_box(valid.select_u8(0x00, 0xFF));
                let word_mask = u32::from_ne_bytes([mask; 4]);
                let (words, rest) = out.as_chunks_mut::<4>();
                for word in words {
                    *word = (u32::from_ne_bytes(*word) & word_mask).to_ne_bytes();
                }
                for byte in rest {
                    *byte &= mask;
                }
                if valid.to_bool() {
                    Ok(len)
                } else {
                    Err(Error::EncryptionFailed)
                }
            }
            // Malformed base64 or a body of the wrong length: public facts.
            None => {
                out.zeroize();
                Err(Error::EncryptionFailed)
            }
        }
    }

    /// The body of `decrypt_into`, for an `out` of exactly the ciphertext
    /// length less one byte: `None` for malformed base64, else the
    /// plaintext length and whether the padding is valid (the length means
    /// nothing when it is not).
    fn decrypt_stream(
        &self,
        text: &[u8],
        line_breaks: bool,
        out: &mut [u8],
    ) -> Option<(usize, Choice)> {
        let blocks = out.len() / BLOCK + 1;
        let cipher = cipher_for_stream(&self.key);
        // The CBC chain: the IV, then each previous ciphertext block. In
        // per-message mode the IV is the body's first block, read below.
        let mut chain = Zeroizing::new(self.iv);
        let mut need_iv = self.mode == Mode::PerMessageIv;
        let mut last = Zeroizing::new([0u8; BLOCK]);
        let mut done = 0; // ciphertext blocks decrypted
        wire_base64::decode_chunks_shaped(text, line_breaks, |mut chunk| {
            if need_iv {
                // Chunks hold whole blocks, so it is all in the first chunk.
                let (iv, rest) = chunk.split_first_chunk::<IV_LEN>()?;
                chain.copy_from_slice(iv);
                chunk = rest;
                need_iv = false;
            }
            let (ciphertext, partial) = Array::slice_as_chunks(chunk);
            let count = ciphertext.len();
            if !partial.is_empty() || done + count > blocks {
                return None; // not whole blocks, or longer than its length said
            }
            // Straight into `out`, but the body's last block (`out` is one
            // byte short of it), which goes to `last`.
            let direct = count.min(blocks - 1 - done);
            let (to_out, to_last) = ciphertext.split_at(direct);
            let target = &mut out[done * BLOCK..(done + direct) * BLOCK];
            cipher.decrypt_with_backend(CbcDecrypt {
                input: to_out,
                output: Array::slice_as_chunks_mut(target).0,
                chain: &mut chain,
            });
            if !to_last.is_empty() {
                cipher.decrypt_with_backend(CbcDecrypt {
                    input: to_last,
                    output: Array::slice_as_chunks_mut(&mut last[..]).0,
                    chain: &mut chain,
                });
            }
            done += count;
            Some(())
        })?;
        if done != blocks {
            return None;
        }
        // The last block carries the padding; copy all of it but its final
        // byte (always padding), whatever the padding's length.
        let (in_last, valid) = pkcs7_check(&last[..]);
        let tail = (blocks - 1) * BLOCK;
        out[tail..].copy_from_slice(&last[..BLOCK - 1]);
        Some((tail + in_last, valid))
    }
}

/// The AES-128 key schedule for a decryption. With `std` on the stack;
/// without it (firmware, whose stacks are small) on the heap: on the stack
/// the software AES's key schedule would save a little flash but take the
/// firmware's unwrap + decrypt stack to the edge of its budget (the
/// firmware README has the figures). Either way it is wiped when dropped.
#[cfg(feature = "std")]
fn cipher_for_stream(key: &[u8; KEY_LEN]) -> aes::Aes128 {
    aes::Aes128::new(key.into())
}

#[cfg(not(feature = "std"))]
fn cipher_for_stream(key: &[u8; KEY_LEN]) -> alloc::boxed::Box<aes::Aes128> {
    alloc::boxed::Box::new(aes::Aes128::new(key.into()))
}

/// CBC decryption of `input` into `output` (whole blocks, as many),
/// continuing `chain` (the IV or the previous ciphertext block), groups of
/// blocks at a time through the cipher's parallel path. On small targets a
/// short last group is decrypted in a copy filled up with its last block,
/// whose extra outputs are dropped (CBC chains on the last ciphertext
/// block, which stays the same): the cipher's one-block path then never
/// runs and is not linked (the `aes` crate's software backend has a
/// separate, byte-sliced one-block decryption: 1.5 KiB of flash). The
/// chaining is done here rather than by the `cbc` crate, whose parallel
/// path copies each group three times.
struct CbcDecrypt<'a> {
    input: &'a [Array<u8, U16>],
    output: &'a mut [Array<u8, U16>],
    chain: &'a mut [u8; BLOCK],
}

impl BlockSizeUser for CbcDecrypt<'_> {
    type BlockSize = U16;
}

impl BlockCipherDecClosure for CbcDecrypt<'_> {
    fn call<B: BlockCipherDecBackend<BlockSize = U16>>(self, backend: &B) {
        let chain = self.chain;
        let (groups_in, tail_in) = Array::<_, B::ParBlocksSize>::slice_as_chunks(self.input);
        let (groups_out, tail_out) = Array::<_, B::ParBlocksSize>::slice_as_chunks_mut(self.output);
        for (group_in, group_out) in groups_in.iter().zip(groups_out) {
            backend.decrypt_par_blocks((group_in, &mut *group_out).into());
            xor_chain(group_out, group_in, chain);
        }
        if tail_in.is_empty() {
            return;
        }
        // Servers: the rest one block at a time (a group is up to 64
        // blocks there, too many to fill up for a short value).
        #[cfg(target_pointer_width = "64")]
        for (block_in, block_out) in tail_in.iter().zip(tail_out) {
            backend.decrypt_block((block_in, &mut *block_out).into());
            xor_chain(
                core::slice::from_mut(block_out),
                core::slice::from_ref(block_in),
                chain,
            );
        }
        // Small targets (groups of two): one group filled up with copies of
        // the last block.
        #[cfg(not(target_pointer_width = "64"))]
        {
            let last = &tail_in[tail_in.len() - 1];
            let mut group_in = ParBlocks::<B>::default();
            for (i, slot) in group_in.iter_mut().enumerate() {
                *slot = *tail_in.get(i).unwrap_or(last);
            }
            let mut group_out = ParBlocks::<B>::default();
            backend.decrypt_par_blocks((&group_in, &mut group_out).into());
            xor_chain(&mut group_out, &group_in, chain);
            for (plain, block) in group_out.iter().zip(tail_out) {
                block.copy_from_slice(plain);
            }
            for block in group_out.iter_mut() {
                block.as_mut_slice().zeroize();
            }
        }
    }
}

/// The CBC step after decrypting `ciphertext` into `plain`: each block
/// XORed with the ciphertext block before it (`chain` for the first);
/// `chain` becomes the last ciphertext block.
fn xor_chain(plain: &mut [Array<u8, U16>], ciphertext: &[Array<u8, U16>], chain: &mut [u8; BLOCK]) {
    let xor = |block: &mut Array<u8, U16>, previous: &[u8; BLOCK]| {
        let mine: [u8; BLOCK] = (*block).into();
        let value = u128::from_ne_bytes(mine) ^ u128::from_ne_bytes(*previous);
        block.copy_from_slice(&value.to_ne_bytes());
    };
    let Some((first, rest)) = plain.split_first_mut() else {
        return;
    };
    xor(first, chain);
    for (block, previous) in rest.iter_mut().zip(ciphertext) {
        xor(block, &(*previous).into());
    }
    if let Some(last) = ciphertext.last() {
        chain.copy_from_slice(last);
    }
}

/// The size `out` needs to decrypt `text` in `mode`: the ciphertext body
/// less one byte (a valid padding has at least one), from the text's
/// length alone (and the text's shape). Malformed lengths are the uniform
/// failure.
fn plaintext_capacity(mode: Mode, text: &[u8]) -> Result<(usize, wire_base64::Shape)> {
    let shape = wire_base64::shape(text).ok_or(Error::EncryptionFailed)?;
    let body = shape.decoded_len;
    let iv = match mode {
        Mode::KeyIv => 0,
        Mode::PerMessageIv => IV_LEN,
    };
    match body.checked_sub(iv) {
        Some(ciphertext) if ciphertext > 0 && ciphertext % BLOCK == 0 => {
            Ok((ciphertext - 1, shape))
        }
        _ => Err(Error::EncryptionFailed),
    }
}

/// Runs a `decrypt_into` with a buffer of the size `text` needs in `mode`
/// (known from its length before anything is decoded) and returns the
/// plaintext, zeroized when dropped.
pub(crate) fn decrypt_to_vec(
    mode: Mode,
    text: &[u8],
    decrypt_into: impl FnOnce(&[u8], &mut [u8]) -> Result<usize>,
) -> Result<Zeroizing<Vec<u8>>> {
    // A malformed length gets an empty buffer: `decrypt_into` then reports
    // (and a server session counts) the failure itself.
    let capacity = plaintext_capacity(mode, text).map_or(0, |(capacity, _)| capacity);
    let mut out = Zeroizing::new(vec![0u8; capacity]);
    let len = decrypt_into(text, &mut out)?;
    out.truncate(len);
    Ok(out)
}

/// Bytes of binary ciphertext (IV included in per-message mode), or `None`
/// on overflow.
const fn body_len(mode: Mode, plaintext_len: usize) -> Option<usize> {
    let Some(padded) = (plaintext_len / BLOCK + 1).checked_mul(BLOCK) else {
        return None;
    };
    match mode {
        Mode::KeyIv => Some(padded),
        Mode::PerMessageIv => padded.checked_add(IV_LEN),
    }
}

/// The length of `padded` without its PKCS#7 padding, or `None` when the
/// padding is invalid.
#[cfg(test)]
fn pkcs7_unpadded_len(padded: &[u8]) -> Option<usize> {
    let (len, valid) = pkcs7_check(padded);
    valid.to_bool().then_some(len)
}

/// The length of `padded` without its PKCS#7 padding (meaningless when
/// invalid) and whether the padding is valid. Runs in time independent of
/// the padding bytes: every byte of the last block is examined and the
/// validity is folded into one `Choice`, with no branch on it.
fn pkcs7_check(padded: &[u8]) -> (usize, Choice) {
    let last: &[u8] = &padded[padded.len() - BLOCK..];
    let pad = last[BLOCK - 1];
    let mut valid = Choice::from_u8_nz(pad) & Choice::from_u8_le(pad, BLOCK as u8);
    for (i, &byte) in last.iter().enumerate() {
        // Byte i is inside the padding when i >= BLOCK - pad.
        let in_padding = Choice::from_u8_le(BLOCK as u8 - i as u8, pad);
        valid &= !in_padding | Choice::from_u8_eq(byte, pad);
    }
    (padded.len().saturating_sub(pad as usize), valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: the `cbc` crate's padded encryption in one call,
    /// and base64ct.
    fn reference_body(key: &[u8; 16], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
        use aes::cipher::block_padding::Pkcs7;
        use aes::cipher::{BlockModeEncrypt, KeyIvInit};
        type Encryptor = cbc::Encryptor<aes::Aes128>;
        let mut body = vec![0u8; (plaintext.len() / 16 + 1) * 16];
        let len = Encryptor::new(key.into(), iv.into())
            .encrypt_padded_b2b::<Pkcs7>(plaintext, &mut body)
            .unwrap()
            .len();
        assert_eq!(len, body.len());
        body
    }

    /// Lengths around the pipeline's step boundaries (both step sizes, in
    /// both modes, where the IV shifts the plaintext by one block).
    const EDGE_LENGTHS: &[usize] = &[
        0, 1, 15, 16, 17, 47, 48, 207, 208, 209, 223, 224, 225, 239, 240, 241, 4063, 4064, 4065,
        4079, 4080, 4081, 8143, 8144, 8159, 8160, 8161, 12_345, 65_536,
    ];

    #[test]
    fn the_encryption_pipeline_matches_one_call_encryption_at_every_step_edge() {
        use base64ct::{Base64, Encoding};
        let key = [0x4Bu8; 16];
        let iv = [0x1Fu8; 16];
        for &len in EDGE_LENGTHS {
            let plaintext: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let session = Session {
                key,
                iv,
                mode: Mode::KeyIv,
            };
            let text = session.encrypt_with_rng(&mut NoRng, &plaintext).unwrap();
            let expected = Base64::encode_string(&reference_body(&key, &iv, &plaintext));
            assert_eq!(text, expected, "key:iv mode, {len} bytes");
            assert_eq!(
                &session.decrypt(text.as_bytes()).unwrap()[..],
                &plaintext[..]
            );

            let session = Session {
                key,
                iv,
                mode: Mode::PerMessageIv,
            };
            let text = session
                .encrypt_with_rng(&mut CountingRng(9), &plaintext)
                .unwrap();
            let body = Base64::decode_vec(&text).unwrap();
            let message_iv: [u8; 16] = body[..16].try_into().unwrap();
            assert_ne!(message_iv, iv);
            assert_eq!(
                &body[16..],
                &reference_body(&key, &message_iv, &plaintext)[..]
            );
            assert_eq!(
                &session.decrypt(text.as_bytes()).unwrap()[..],
                &plaintext[..]
            );
        }
    }

    #[test]
    fn aws_lc_and_aes_crate_cbc_encryption_agree() {
        let key = [0xA5u8; 16];
        for blocks in [0usize, 1, 2, 3, 7, 8, 9, 64, 255] {
            let data: Vec<u8> = (0..blocks * 16).map(|i| (i * 31 + 5) as u8).collect();
            let (mut fast, mut aes_crate) = (data.clone(), data.clone());
            let (mut fast_chain, mut aes_crate_chain) = ([3u8; 16], [3u8; 16]);
            cbc_encrypt_in_place(&key, &mut fast_chain, &mut fast);
            cbc_encrypt_in_place_aes_crate(&key, &mut aes_crate_chain, &mut aes_crate);
            assert_eq!(fast, aes_crate, "{blocks} blocks");
            assert_eq!(
                fast_chain, aes_crate_chain,
                "{blocks} blocks: the chain value"
            );
        }
    }

    /// An RNG that must not be called (key:iv mode uses none).
    struct NoRng;
    impl rand_core::TryRng for NoRng {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
            unreachable!("key:iv mode draws no randomness")
        }
        fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
            unreachable!("key:iv mode draws no randomness")
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> core::result::Result<(), Self::Error> {
            unreachable!("key:iv mode draws no randomness")
        }
    }
    impl rand_core::TryCryptoRng for NoRng {}

    /// Distinct bytes for each IV (tests only).
    struct CountingRng(u8);
    impl rand_core::TryRng for CountingRng {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
            unreachable!()
        }
        fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
            unreachable!()
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
            for byte in dst {
                self.0 = self.0.wrapping_mul(5).wrapping_add(1);
                *byte = self.0;
            }
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for CountingRng {}

    #[test]
    fn lengths_near_the_limit_are_an_error_not_an_overflow() {
        for mode in [Mode::KeyIv, Mode::PerMessageIv] {
            for n in [
                usize::MAX,
                usize::MAX - 15,
                isize::MAX as usize,
                usize::MAX / 4 * 3,
            ] {
                assert_eq!(Session::encrypted_len(mode, n), Err(Error::TooLong), "{n}");
            }
            assert_eq!(Session::encrypted_len(mode, 0).unwrap() % 4, 0);
        }
        assert_eq!(Session::encrypted_len(Mode::KeyIv, 15), Ok(24));
        assert_eq!(Session::encrypted_len(Mode::PerMessageIv, 16), Ok(64));
        assert_eq!(Session::wrapped_len(usize::MAX), Err(Error::TooLong));
        assert_eq!(Session::wrapped_len(256), Ok(344));
        assert_eq!(Session::decrypted_max_len(usize::MAX), usize::MAX / 4 * 3);
    }

    #[test]
    fn pkcs7_unpadding_accepts_exactly_the_valid_paddings() {
        for pad in 0u16..=255 {
            for fill in [0u8, 1, 16, 0xff] {
                let mut block = [fill; 2 * BLOCK];
                block[2 * BLOCK - 1] = pad as u8;
                let pad = pad as usize;
                let expected_valid = (1..=BLOCK).contains(&pad)
                    && block[2 * BLOCK - pad..].iter().all(|&b| b as usize == pad);
                let got = pkcs7_unpadded_len(&block);
                if expected_valid {
                    assert_eq!(got, Some(2 * BLOCK - pad), "pad {pad} fill {fill}");
                } else {
                    assert_eq!(got, None, "pad {pad} fill {fill}");
                }
            }
        }
        // A full block of padding.
        assert_eq!(pkcs7_unpadded_len(&[16u8; 16]), Some(0));
        // One wrong byte inside the padding.
        let mut block = [4u8; 16];
        block[12] = 5;
        assert_eq!(pkcs7_unpadded_len(&block), None);
    }
}

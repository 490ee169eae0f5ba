//! Secret parameters: base64(AES-128-CBC(key, iv, PKCS#7(plaintext))).
//!
//! In [`Mode::PerMessageIv`] each value is `base64(IV || ciphertext)` with a
//! fresh IV. CBC has no integrity protection: the protocol protects against
//! eavesdropping, not tampering. Unpadding is constant-time, and every
//! failure is the one [`Error::EncryptionFailed`].

use aes::cipher::array::Array;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ctutils::Choice;
use zeroize::{Zeroize, Zeroizing};

use crate::enckey::{IV_LEN, Mode, Session};
use crate::error::{Error, Result};
use crate::rng::{self, TryCryptoRng};
use crate::wire_base64;

const BLOCK: usize = 16;

type Encryptor = cbc::Encryptor<aes::Aes128>;
type Decryptor = cbc::Decryptor<aes::Aes128>;

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
        Ok(wire_base64::encode(&self.encrypt_body(rng, plaintext)?))
    }

    /// Encrypts `plaintext` into `out` as base64 text and returns its length,
    /// exactly [`Session::encrypted_len`]. `out` is untouched on error.
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
        Ok(wire_base64::encode_into(
            &self.encrypt_body(rng, plaintext)?,
            out,
        ))
    }

    /// The binary ciphertext (IV first in per-message mode).
    fn encrypt_body<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let body_len = body_len(self.mode, plaintext.len()).ok_or(Error::TooLong)?;
        let mut body = vec![0u8; body_len];
        // The key is used where it is; the IV's copy is wiped on return.
        let mut iv = Zeroizing::new(self.iv);
        let ciphertext = match self.mode {
            Mode::KeyIv => &mut body[..],
            Mode::PerMessageIv => {
                let (iv_part, ct_part) = body.split_at_mut(IV_LEN);
                rng::fill(rng, iv_part)?;
                iv.copy_from_slice(iv_part);
                ct_part
            }
        };
        Encryptor::new((&self.key).into(), (&*iv).into())
            .encrypt_padded_b2b::<Pkcs7>(plaintext, ciphertext)
            // `body` is sized for the padded plaintext, so this cannot fail.
            .map_err(|_| Error::EncryptionFailed)?;
        Ok(body)
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
                // with a mask that keeps it (0xFF) or wipes it (0x00); then
                // the one branch on the outcome (which the caller learns
                // anyway). The mask goes through black_box so the compiler
                // cannot specialize the loop on its two values; the AND
                // vectorizes.
                let mask = core::hint::black_box(valid.select_u8(0x00, 0xFF));
                for byte in out.iter_mut() {
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
        let mut decryptor = match self.mode {
            Mode::KeyIv => Some(Decryptor::new((&self.key).into(), (&self.iv).into())),
            Mode::PerMessageIv => None,
        };
        let mut last = Zeroizing::new([0u8; BLOCK]);
        let mut done = 0; // ciphertext blocks decrypted
        wire_base64::decode_chunks_shaped(text, line_breaks, |mut chunk| {
            let decryptor = match &mut decryptor {
                Some(decryptor) => decryptor,
                None => {
                    // Per-message IV: the body's first block (chunks hold
                    // whole blocks, so it is all in the first chunk).
                    let (iv, rest) = chunk.split_first_chunk::<IV_LEN>()?;
                    chunk = rest;
                    decryptor.insert(Decryptor::new((&self.key).into(), iv.into()))
                }
            };
            // Whole blocks before the last are decrypted straight into
            // `out`, several at a time (AES-NI pipelines them).
            let in_chunk = chunk.len() / BLOCK;
            let direct = in_chunk.min(blocks - 1 - done.min(blocks - 1));
            if direct > 0 {
                let (in_blocks, _) = Array::slice_as_chunks(&chunk[..direct * BLOCK]);
                let target = &mut out[done * BLOCK..(done + direct) * BLOCK];
                let (out_blocks, _) = Array::slice_as_chunks_mut(target);
                decryptor.decrypt_blocks_b2b(in_blocks, out_blocks).ok()?;
                done += direct;
            }
            for block in chunk[direct * BLOCK..].chunks(BLOCK) {
                let block: &[u8; BLOCK] = block.try_into().ok()?;
                if done + 1 != blocks {
                    return None; // longer than its length said: cannot happen
                }
                decryptor.decrypt_block_b2b(block.into(), (&mut *last).into());
                done += 1;
            }
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

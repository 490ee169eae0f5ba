//! Secret parameters: base64(AES-128-CBC(key, iv, PKCS#7(plaintext))).
//!
//! In [`Mode::PerMessageIv`] each value is `base64(IV || ciphertext)` with a
//! fresh IV. CBC has no integrity protection: the protocol protects against
//! eavesdropping, not tampering. Unpadding is constant-time, and every
//! failure is the one [`Error::EncryptionFailed`].

use aes::cipher::block_padding::{NoPadding, Pkcs7};
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ctutils::Choice;
use zeroize::Zeroizing;

use crate::enckey::{IV_LEN, Mode, Session};
use crate::error::{Error, Result};
use crate::rng::{self, TryCryptoRng};
use crate::wire_base64;

const BLOCK: usize = 16;

type Encryptor = cbc::Encryptor<aes::Aes128>;
type Decryptor = cbc::Decryptor<aes::Aes128>;

impl Session {
    /// Length of the base64 text that [`Session::encrypt`] produces for a
    /// plaintext of `plaintext_len` bytes in `mode`.
    pub const fn encrypted_len(mode: Mode, plaintext_len: usize) -> usize {
        wire_base64::encoded_len(body_len(mode, plaintext_len))
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
        let needed = Self::encrypted_len(self.mode, plaintext.len());
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
        let mut body = vec![0u8; body_len(self.mode, plaintext.len())];
        let (iv, ciphertext) = match self.mode {
            Mode::KeyIv => (self.iv, &mut body[..]),
            Mode::PerMessageIv => {
                let (iv_part, ct_part) = body.split_at_mut(IV_LEN);
                rng::fill(rng, iv_part)?;
                let mut iv = [0u8; IV_LEN];
                iv.copy_from_slice(iv_part);
                (iv, ct_part)
            }
        };
        Encryptor::new(&self.key.into(), &iv.into())
            .encrypt_padded_b2b::<Pkcs7>(plaintext, ciphertext)
            // `body` is sized for the padded plaintext, so this cannot fail.
            .map_err(|_| Error::EncryptionFailed)?;
        Ok(body)
    }

    /// Decrypts a base64 wire value. The plaintext is zeroized when dropped.
    pub fn decrypt(&self, text: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        decrypt_to_vec(text, |text, out| self.decrypt_into(text, out))
    }

    /// Decrypts a base64 wire value into `out` and returns the plaintext length.
    ///
    /// `out` must be at least as large as the ciphertext body allows (always
    /// satisfied by [`Session::decrypted_max_len`]); this is checked before
    /// decrypting, so the size check reveals nothing about the padding.
    /// `out` is untouched on error.
    pub fn decrypt_into(&self, text: &[u8], out: &mut [u8]) -> Result<usize> {
        let body = wire_base64::decode(text).ok_or(Error::EncryptionFailed)?;
        let (iv, ciphertext) = match self.mode {
            Mode::KeyIv => (&self.iv[..], &body[..]),
            Mode::PerMessageIv if body.len() >= IV_LEN => body.split_at(IV_LEN),
            Mode::PerMessageIv => return Err(Error::EncryptionFailed),
        };
        if ciphertext.is_empty() || ciphertext.len() % BLOCK != 0 {
            return Err(Error::EncryptionFailed);
        }
        // A valid PKCS#7 padding is at least one byte.
        let max_plaintext = ciphertext.len() - 1;
        if out.len() < max_plaintext {
            return Err(Error::BufferTooSmall {
                needed: max_plaintext,
            });
        }
        let mut padded = Zeroizing::new(vec![0u8; ciphertext.len()]);
        let mut iv_block = [0u8; IV_LEN];
        iv_block.copy_from_slice(iv);
        Decryptor::new(&self.key.into(), &iv_block.into())
            .decrypt_padded_b2b::<NoPadding>(ciphertext, &mut padded)
            .map_err(|_| Error::EncryptionFailed)?;
        let len = pkcs7_unpadded_len(&padded).ok_or(Error::EncryptionFailed)?;
        out[..len].copy_from_slice(&padded[..len]);
        Ok(len)
    }
}

/// Runs a `decrypt_into` with a buffer of the largest size `text` can need
/// and returns the plaintext, zeroized when dropped.
pub(crate) fn decrypt_to_vec(
    text: &[u8],
    decrypt_into: impl FnOnce(&[u8], &mut [u8]) -> Result<usize>,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(vec![0u8; Session::decrypted_max_len(text.len())]);
    let len = decrypt_into(text, &mut out)?;
    out.truncate(len);
    Ok(out)
}

/// Bytes of binary ciphertext (IV included in per-message mode).
const fn body_len(mode: Mode, plaintext_len: usize) -> usize {
    let padded = (plaintext_len / BLOCK + 1) * BLOCK;
    match mode {
        Mode::KeyIv => padded,
        Mode::PerMessageIv => IV_LEN + padded,
    }
}

/// The length of `padded` without its PKCS#7 padding, or `None` when the
/// padding is invalid. Runs in time independent of the padding bytes: every
/// byte of the last block is examined and the validity is folded into one
/// `Choice` before the single final branch.
fn pkcs7_unpadded_len(padded: &[u8]) -> Option<usize> {
    let last: &[u8] = &padded[padded.len() - BLOCK..];
    let pad = last[BLOCK - 1];
    let mut valid = Choice::from_u8_nz(pad) & Choice::from_u8_le(pad, BLOCK as u8);
    for (i, &byte) in last.iter().enumerate() {
        // Byte i is inside the padding when i >= BLOCK - pad.
        let in_padding = Choice::from_u8_le(BLOCK as u8 - i as u8, pad);
        valid &= !in_padding | Choice::from_u8_eq(byte, pad);
    }
    valid.to_bool().then(|| padded.len() - pad as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! SHA-256 and HMAC-SHA-256 keyed with 32 bytes, through the `sha2` and
//! `hmac` crates' block-level API: implicit rejection's key, KDK and PRF,
//! the server's keyed digests, the MAC of its saved state, the RNG
//! repetition test's fingerprints and public-key fingerprints.
//!
//! None of its functions is inlined: [`hmac_sha256`] keys an HMAC state,
//! and [`finish`] is the only place one is finished. Callers hold at most a
//! keyed state, never one being finished (with the copy `finalize` takes by
//! value), so the stack under the RSA work stays small on firmware, and
//! firmware carries one copy of each step for all callers. [`sha256_into`]
//! shares those steps: the `Digest` API on top of them would be a second
//! copy of the buffering and finishing (266 B of firmware flash).

use hmac::KeyInit;
use hmac::block_api::HmacCore;
use sha2::Sha256;
use sha2::digest::Output;
use sha2::digest::block_api::{Buffer, EagerHash, FixedOutputCore, UpdateCore};
use zeroize::Zeroizing;

/// HMAC-SHA-256 keyed, before any message: the `hmac` crate's block-level
/// state (the inner and outer hash states, without a message buffer).
pub(crate) type Keyed = HmacCore<Sha256>;

/// The HMAC state keyed by `key` (two SHA-256 blocks of work), to pass to
/// [`finish`] as often as needed.
#[inline(never)]
pub(crate) fn hmac_sha256(key: &[u8; 32]) -> Keyed {
    Keyed::new_from_slice(key).expect("HMAC takes any key length")
}

/// The HMAC under `keyed` (left as it is) of the concatenation of `parts`,
/// into `out`: its first `out.len()` bytes (at most 32). Through the
/// block-level API, which finishes by reference: `Hmac::finalize` takes
/// the state by value, and firmware's stack paid for its copy.
#[inline(never)]
pub(crate) fn finish(keyed: &Keyed, parts: &[&[u8]], out: &mut [u8]) {
    let mut core = keyed.clone();
    let mut buffer = Buffer::<Keyed>::default();
    for part in parts {
        buffer.digest_blocks(part, |blocks| core.update_blocks(blocks));
    }
    let mut digest = Zeroizing::new([0u8; 32]);
    core.finalize_fixed_core(&mut buffer, <&mut Output<Keyed>>::from(&mut *digest));
    out.copy_from_slice(&digest[..out.len()]);
}

/// SHA-256's block-level state, as HMAC-SHA-256 uses it.
type Sha256Core = <Sha256 as EagerHash>::Core;

/// SHA-256 of the concatenation of `parts`, into `out`.
#[inline(never)]
pub(crate) fn sha256_into(parts: &[&[u8]], out: &mut [u8; 32]) {
    let mut core = Sha256Core::default();
    let mut buffer = Buffer::<Sha256Core>::default();
    for part in parts {
        buffer.digest_blocks(part, |blocks| core.update_blocks(blocks));
    }
    core.finalize_fixed_core(&mut buffer, <&mut Output<Sha256Core>>::from(out));
}

/// HMAC-SHA-256 under `key` of the concatenation of `parts`. Not inlined:
/// its keyed state stays off the caller's frame.
#[inline(never)]
pub(crate) fn hmac_sha256_of(key: &[u8; 32], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    finish(&hmac_sha256(key), parts, &mut out[..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    /// The `hmac` crate's own HMAC of `message` under `key`.
    fn reference(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn parts_are_hashed_as_their_concatenation_across_block_boundaries() {
        let key = [7u8; 32];
        let message: alloc::vec::Vec<u8> = (0..200u8).collect();
        let expected = reference(&key, &message);
        // Parts that end inside a block, on a block's end, and span blocks.
        for cuts in [[0, 0], [1, 63], [64, 128], [3, 190], [200, 200]] {
            let parts = [
                &message[..cuts[0]],
                &message[cuts[0]..cuts[1]],
                &message[cuts[1]..],
            ];
            assert_eq!(*hmac_sha256_of(&key, &parts), expected, "cuts {cuts:?}");
        }
    }

    #[test]
    fn sha256_of_parts_is_the_digest_of_their_concatenation() {
        use sha2::Digest;
        let message: alloc::vec::Vec<u8> = (0..=255u8).cycle().take(300).collect();
        for cuts in [[0, 0], [1, 63], [64, 128], [55, 56], [3, 290], [300, 300]] {
            let parts = [
                &message[..cuts[0]],
                &message[cuts[0]..cuts[1]],
                &message[cuts[1]..],
            ];
            let mut out = [0u8; 32];
            sha256_into(&parts, &mut out);
            assert_eq!(
                out,
                <[u8; 32]>::from(Sha256::digest(&message)),
                "cuts {cuts:?}"
            );
        }
        // The empty message, and one of exactly one block.
        for len in [0, 64] {
            let mut out = [0u8; 32];
            sha256_into(&[&message[..len]], &mut out);
            assert_eq!(
                out,
                <[u8; 32]>::from(Sha256::digest(&message[..len])),
                "len {len}"
            );
        }
    }

    #[test]
    fn a_keyed_state_is_reused_unchanged_and_outputs_truncate() {
        let key = [0x5a; 32];
        let keyed = hmac_sha256(&key);
        let mut tag = [0u8; 8];
        finish(&keyed, &[b"first"], &mut tag);
        assert_eq!(tag, reference(&key, b"first")[..8]);
        let mut full = [0u8; 32];
        finish(&keyed, &[b"sec", b"ond"], &mut full);
        assert_eq!(full, reference(&key, b"second"));
    }
}

//! HMAC-SHA-256 keyed with 32 bytes: implicit rejection's KDK and PRF, the
//! server's keyed digests and the MAC of its saved state.

use hmac::{Hmac, KeyInit};
use sha2::Sha256;

/// Not inlined: firmware carries one copy of the keying (two SHA-256
/// blocks) for every caller, where each had its own.
#[inline(never)]
pub(crate) fn hmac_sha256(key: &[u8; 32]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length")
}

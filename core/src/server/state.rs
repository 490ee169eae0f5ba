//! The server's failure state as a blob that survives restarts: the digest
//! key, the failure records of common keys and peers, and the server-wide
//! limiter. Times are saved as what remains of each window, so that a
//! restart neither ends a refusal nor a lockdown early.
//!
//! Layout (version 2): `"PCST"`, version, three zero bytes, the 32-byte
//! digest key, the server limiter, a count and the key records, a count and
//! the peer records (oldest first, little-endian), then HMAC-SHA-256 over
//! everything before it under a key derived from the private key. A blob
//! of another key pair therefore fails the check like a corrupted one.

use alloc::vec::Vec;
use ctutils::CtEq;
use zeroize::Zeroizing;

use super::State;
use super::policy::{FOREVER, KeyRecord, Limiter, Secs};
use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::keys::KeyPair;

const MAGIC: &[u8; 4] = b"PCST";
const VERSION: u8 = 2;
const MAC_LEN: usize = 32;
const HEADER_LEN: usize = 8 + 32;
const LIMITER_LEN: usize = 4 * 4 + 2;
const KEY_RECORD_LEN: usize = 8 + 1 + 4;
const PEER_RECORD_LEN: usize = 8 + LIMITER_LEN;

/// The MAC of the blob's `body`, keyed by a key derived from the private
/// exponent (through the implicit-rejection secret, under a label of its
/// own).
fn mac_of(key_pair: &KeyPair, body: &[u8]) -> Zeroizing<[u8; MAC_LEN]> {
    let mac_key = key_pair
        .rejection_key()
        .derive(b"paramcrypt server state v2");
    crate::mac::hmac_sha256_of(&mac_key, &[body])
}

fn put_limiter(out: &mut Cursor<'_>, now: Secs, limiter: &Limiter) {
    for value in [
        limiter.failures,
        limiter.window_end.saturating_sub(now),
        limiter.locked_until.saturating_sub(now),
        now.saturating_sub(limiter.last_failure),
    ] {
        out.put(&value.to_le_bytes());
    }
    out.byte(limiter.level);
    out.byte(u8::from(limiter.locked));
}

pub(super) fn export(
    now: Secs,
    key_pair: &KeyPair,
    digest_key: &[u8; 32],
    state: &State,
) -> Result<Zeroizing<Vec<u8>>> {
    let len = HEADER_LEN
        + LIMITER_LEN
        + 4
        + state.keys.len() * KEY_RECORD_LEN
        + 4
        + state.peers.len() * PEER_RECORD_LEN
        + MAC_LEN;
    let mut out = Zeroizing::new(alloc::vec![0u8; len]);
    let (body, mac_out) = out.split_at_mut(len - MAC_LEN);
    let mut body_out = Cursor::new(body);
    body_out.put(MAGIC);
    body_out.put(&[VERSION, 0, 0, 0]);
    body_out.put(digest_key);
    put_limiter(&mut body_out, now, &state.server);
    body_out.put(&(state.keys.len() as u32).to_le_bytes());
    for (tag, record) in state.keys.oldest_first() {
        body_out.put(&tag.to_le_bytes());
        body_out.byte(record.failures);
        let remaining = match record.refused_until {
            FOREVER => FOREVER,
            until => until.saturating_sub(now),
        };
        body_out.put(&remaining.to_le_bytes());
    }
    body_out.put(&(state.peers.len() as u32).to_le_bytes());
    for (tag, peer) in state.peers.oldest_first() {
        body_out.put(&tag.to_le_bytes());
        put_limiter(&mut body_out, now, peer);
    }
    debug_assert!(body_out.is_full());
    mac_out.copy_from_slice(&mac_of(key_pair, body)[..]);
    Ok(out)
}

/// Reads fixed-size fields; any shortfall is [`Error::InvalidState`].
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(Error::InvalidState);
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(bytes))
    }

    fn u64(&mut self) -> Result<u64> {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(bytes))
    }

    /// A limiter saved by `put_limiter`, at time 0 of a new server.
    fn limiter(&mut self) -> Result<Limiter> {
        let failures = self.u32()?;
        let window_end = self.u32()?;
        let locked_until = self.u32()?;
        let _since_last_failure = self.u32()?;
        let level = self.u8()?;
        let locked = match self.u8()? {
            0 => false,
            1 => true,
            _ => return Err(Error::InvalidState),
        };
        Ok(Limiter {
            failures,
            window_end,
            locked_until,
            // The idle time before the restart is not credited.
            last_failure: 0,
            level,
            locked,
        })
    }

    /// A count of records of `record_len` bytes that the rest can hold.
    fn count(&mut self, record_len: usize) -> Result<usize> {
        let count = self.u32()? as usize;
        if count > self.rest.len() / record_len {
            return Err(Error::InvalidState);
        }
        Ok(count)
    }
}

/// Loads `blob` into the fresh `state` and `digest_key` of a server with
/// `key_pair` (its clock at 0). The blob is checked whole before anything
/// is read from it.
pub(super) fn import(
    blob: &[u8],
    key_pair: &KeyPair,
    digest_key: &mut [u8; 32],
    state: &mut State,
) -> Result<()> {
    if blob.len() < HEADER_LEN + MAC_LEN || &blob[..4] != MAGIC || blob[4..8] != [VERSION, 0, 0, 0]
    {
        return Err(Error::InvalidState);
    }
    let (body, tag) = blob.split_at(blob.len() - MAC_LEN);
    if !bool::from(mac_of(key_pair, body)[..].ct_eq(tag)) {
        return Err(Error::InvalidState);
    }

    let mut reader = Reader { rest: &body[8..] };
    digest_key.copy_from_slice(reader.take(32)?);
    state.server = reader.limiter()?;
    // More records than the tables hold: the oldest drop out as usual.
    for _ in 0..reader.count(KEY_RECORD_LEN)? {
        let tag = reader.u64()?;
        let failures = reader.u8()?;
        let refused_until = reader.u32()?;
        state.keys.insert(
            tag,
            KeyRecord {
                failures,
                refused_until,
            },
        );
    }
    for _ in 0..reader.count(PEER_RECORD_LEN)? {
        let tag = reader.u64()?;
        let peer = reader.limiter()?;
        state.peers.insert(tag, peer);
    }
    if !reader.rest.is_empty() {
        return Err(Error::InvalidState);
    }
    Ok(())
}

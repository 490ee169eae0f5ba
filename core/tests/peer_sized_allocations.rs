//! Nothing a peer sends is decoded or allocated for before its length is
//! checked: a counting allocator shows the peak heap use of each entry point
//! a peer reaches, for inputs far larger than any valid one. One test in its
//! own binary, so that no other test allocates while it measures.
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{b64, fixture_key};
use paramcrypt_core::{Error, Mode, Padding, PublicKey, Server, ServerConfig, Session};

/// The hostile requester.
const PEER: &[u8] = b"192.0.2.66";

struct PeakAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's layout contract is forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: PeakAllocator = PeakAllocator;

/// The most `op` allocated at once, above what was live before it.
fn peak_of<T>(op: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = op();
    (result, PEAK.load(Ordering::Relaxed) - before)
}

const MIB: usize = 1 << 20;

#[test]
fn peer_input_is_checked_before_anything_is_sized_by_it() {
    let key = fixture_key(2048);
    let modulus = key.public_key().size();
    // Far longer than any encKey: a valid-looking base64 text of 1 MiB, and
    // one with a line break every 64 characters.
    let huge = b64(&vec![0x41u8; 3 * MIB / 4]);
    let wrapped: String = huge
        .as_bytes()
        .chunks(64)
        .map(|line| format!("{}\r\n", std::str::from_utf8(line).unwrap()))
        .collect();
    assert!(huge.len() >= MIB);

    // The RSA work itself allocates a few KiB (big integers, blinding); the
    // bound is the modulus-sized buffer plus that, never the input.
    let bound = modulus + 16 * 1024;
    for text in [&huge, &wrapped] {
        let (result, peak) = peak_of(|| key.unwrap(text.as_bytes(), Padding::Pkcs1v15));
        assert_eq!(result.unwrap_err(), Error::EncryptionFailed);
        assert!(peak <= bound, "KeyPair::unwrap allocated {peak} bytes");
    }
    let server = Server::new(key.clone(), ServerConfig::server()).unwrap();
    for text in [&huge, &wrapped] {
        let (result, peak) = peak_of(|| server.open(PEER, text.as_bytes()).map(|_| ()));
        assert_eq!(result.unwrap_err(), Error::EncryptionFailed);
        assert!(peak <= bound, "Server::open allocated {peak} bytes");
    }
    // The getPublicKey value a client receives.
    let (result, peak) = peak_of(|| PublicKey::from_base64(&huge));
    assert_eq!(result.unwrap_err(), Error::InvalidKey);
    assert!(
        peak <= 4096,
        "PublicKey::from_base64 allocated {peak} bytes"
    );

    // Parameters: decrypting into the caller's buffer allocates nothing,
    // whatever the length; a buffer too small is reported from the length.
    let session = Session::new(Mode::KeyIv).unwrap();
    let value = session.encrypt(&vec![0x5Au8; MIB]).unwrap();
    let mut out = vec![0u8; MIB + 15];
    let (result, peak) = peak_of(|| session.decrypt_into(value.as_bytes(), &mut out));
    assert_eq!(result, Ok(MIB));
    assert_eq!(peak, 0, "decrypt_into allocated {peak} bytes");
    let mut small = [0u8; 64];
    let (result, peak) = peak_of(|| session.decrypt_into(value.as_bytes(), &mut small));
    assert_eq!(result, Err(Error::BufferTooSmall { needed: MIB + 15 }));
    assert_eq!(peak, 0);
    let (result, peak) = peak_of(|| session.decrypt_into(huge.as_bytes(), &mut small));
    assert!(result.is_err());
    assert_eq!(peak, 0);
    // The Vec-returning form allocates the plaintext's buffer once.
    let (result, peak) = peak_of(|| session.decrypt(value.as_bytes()).map(|p| p.len()));
    assert_eq!(result, Ok(MIB));
    assert!(peak <= MIB + 64, "decrypt allocated {peak} bytes");

    // Through the server: the same, and a failure still refuses the key.
    let enc_key = session.wrap(key.public_key(), Padding::Pkcs1v15).unwrap();
    let opened = server.open(PEER, enc_key.as_bytes()).unwrap();
    let (result, peak) = peak_of(|| opened.decrypt_into(value.as_bytes(), &mut out));
    assert_eq!(result, Ok(MIB));
    assert_eq!(
        peak, 0,
        "ServerSession::decrypt_into allocated {peak} bytes"
    );
    let (result, _) = peak_of(|| opened.decrypt(huge.as_bytes()).map(|p| p.len()));
    assert_eq!(result, Err(Error::EncryptionFailed));
    assert!(
        server.open(PEER, enc_key.as_bytes()).is_err(),
        "refused after the failure"
    );
}

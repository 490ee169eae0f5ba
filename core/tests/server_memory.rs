//! The server's memory is fixed when it is made: a flood of encKeys (valid,
//! junk, refused) does not grow the heap. One test in its own binary, so
//! that no other test allocates while the counting allocator measures.
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{b64, fixture_key};
use paramcrypt_core::{FailurePolicy, Mode, Padding, Server, ServerConfig, Session};

/// The requester of the flood.
const PEER: &[u8] = b"192.0.2.1";

/// Counts live heap bytes.
struct CountingAllocator;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout contract is forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn live() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

#[test]
fn server_memory_is_fixed_when_it_is_made() {
    let key = fixture_key(2048);

    // The default tables (1,024 sessions, 16,384 failed keys, 1,024 failed
    // peers) take under 1 MiB.
    let before = live();
    let server = Server::new(key.clone(), ServerConfig::server()).unwrap();
    let made = live() - before;
    println!("a default server takes {made} bytes (key pair and tables)");
    assert!(made < 1 << 20, "a default server takes {made} bytes");
    drop(server);

    // A flood of valid encKeys (some refused after a failure) and junk from
    // many peers: once the small tables are full, the heap does not grow.
    // (No peer or server limit here, so that every request does its work.)
    let server = Server::new(
        key.clone(),
        ServerConfig {
            cache_capacity: 8,
            refusal_capacity: 8,
            peer_capacity: 8,
            policy: FailurePolicy::per_key_only(),
            ..ServerConfig::server()
        },
    )
    .unwrap();
    let forged = b64(&[0x5Au8; 17]);
    let flood = |round: usize| {
        for i in 0..24 {
            let client = Session::new(Mode::KeyIv).unwrap();
            let enc_key = client.wrap(key.public_key(), Padding::Pkcs1v15).unwrap();
            let peer = format!("{}.{round}.{i}", String::from_utf8_lossy(PEER));
            let session = server.open(peer.as_bytes(), enc_key.as_bytes()).unwrap();
            if i % 3 == 0 {
                assert!(session.decrypt(forged.as_bytes()).is_err());
            }
            let junk = b64(&vec![(round + i) as u8; key.public_key().size()]);
            assert!(server.open(PEER, junk.as_bytes()).is_err());
        }
    };
    flood(0);
    let filled = live();
    for round in 1..4 {
        flood(round);
    }
    assert_eq!(live(), filled, "the heap grew during the flood");
    let stats = server.stats().unwrap();
    assert_eq!(
        (
            stats.cached_sessions,
            stats.remembered_keys,
            stats.remembered_peers
        ),
        (8, 8, 8)
    );
    assert_eq!(stats.unwraps, 4 * 48);
}

//! encKey unwrap, each padding, through the server object (the path every
//! request takes) and through `KeyPair::unwrap`: neither may crash, and both
//! must agree on accept or reject and on the session. Input: a padding
//! selector byte, then the encKey text.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use paramcrypt_core::{AcceptedModes, KeyPair, Server, ServerConfig};

/// The requester's identity (no request here fails a decryption, so the
/// failure policy never engages).
const PEER: &[u8] = b"fuzzer";

struct Fixture {
    key_pair: KeyPair,
    servers: Vec<Server>, // one per padding, in common::PADDINGS order
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture {
        key_pair: common::server_key(),
        servers: common::PADDINGS
            .iter()
            .map(|&padding| {
                let config = ServerConfig {
                    padding,
                    modes: AcceptedModes::Both,
                    cache_capacity: 8,
                    refusal_capacity: 8,
                    ..ServerConfig::server()
                };
                Server::new(common::server_key(), config).expect("server")
            })
            .collect(),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, enc_key)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let index = usize::from(selector) % common::PADDINGS.len();
    let padding = common::PADDINGS[index];
    let server = &fixture.servers[index];

    let unwrapped = fixture.key_pair.unwrap(enc_key, padding);
    let opened = server.open(PEER, enc_key);
    match (&unwrapped, &opened) {
        (Ok(session), Ok(server_session)) => {
            assert_eq!(session.mode(), server_session.mode());
            // A second open is a cache hit for the same common key.
            let again = server
                .open(PEER, enc_key)
                .expect("a key that opened opens again");
            assert_eq!(again.key_id(), server_session.key_id());
            // Both ends hold the same key: what one encrypts the other decrypts.
            let text = server_session.encrypt(b"fuzz").expect("encrypt");
            assert_eq!(
                &session.decrypt(text.as_bytes()).expect("decrypt")[..],
                b"fuzz"
            );
        }
        (Err(a), Err(b)) => {
            assert!(
                a.is_encryption_failure(),
                "unwrap failed with {a:?}, not 40002"
            );
            assert!(
                b.is_encryption_failure(),
                "open failed with {b:?}, not 40002"
            );
        }
        _ => panic!(
            "unwrap and open disagree: {:?} vs {:?}",
            unwrapped.is_ok(),
            opened.is_ok()
        ),
    }
});

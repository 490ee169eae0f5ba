//! The server object: the encKey cache, refusal after failure (and Vaudenay's
//! padding-oracle attack, which refusal stops), modes, capacities and
//! threads. Memory bounds: tests/server_memory.rs.
mod common;

use common::{b64, fixture_key, unb64};
use paramcrypt_core::rng::OsRng;
use paramcrypt_core::{AcceptedModes, Error, Mode, Padding, Server, ServerConfig, Session};

fn server_with(config: ServerConfig) -> Server {
    Server::new(fixture_key(2048).clone(), config).unwrap()
}

fn server() -> Server {
    server_with(ServerConfig::server())
}

fn client(mode: Mode) -> (Session, String) {
    let session = Session::new(mode).unwrap();
    let enc_key = session
        .wrap(fixture_key(2048).public_key(), Padding::Pkcs1v15)
        .unwrap();
    (session, enc_key)
}

/// A value that fails to decrypt under any key (17 bytes is no whole
/// number of blocks). The attack test below forges real padding failures.
fn forged_value() -> String {
    b64(&[0x5Au8; 17])
}

#[test]
fn a_reused_enc_key_is_opened_from_the_cache_under_any_encoding() {
    let server = server();
    let (client, enc_key) = client(Mode::KeyIv);
    let value = client.encrypt(b"secret").unwrap();
    for _ in 0..3 {
        let session = server.open(enc_key.as_bytes()).unwrap();
        assert_eq!(&session.decrypt(value.as_bytes()).unwrap()[..], b"secret");
    }
    // The same RSA ciphertext with line breaks is the same cache entry.
    let wrapped: String = enc_key
        .as_bytes()
        .chunks(76)
        .map(|line| format!("{}\r\n", std::str::from_utf8(line).unwrap()))
        .collect();
    server.open(wrapped.as_bytes()).unwrap();
    let stats = server.stats().unwrap();
    assert_eq!((stats.unwraps, stats.cache_hits), (1, 3));
    assert_eq!(stats.cached_sessions, 1);
}

#[test]
fn a_server_accepts_only_its_configured_modes() {
    let key_iv_only = server();
    let (_, per_message) = client(Mode::PerMessageIv);
    let (_, key_iv) = client(Mode::KeyIv);
    assert_eq!(
        key_iv_only.open(per_message.as_bytes()).unwrap_err(),
        Error::EncryptionFailed
    );
    key_iv_only.open(key_iv.as_bytes()).unwrap();

    let per_message_only = server_with(ServerConfig {
        modes: AcceptedModes::PerMessageIv,
        ..ServerConfig::server()
    });
    assert_eq!(
        per_message_only.open(key_iv.as_bytes()).unwrap_err(),
        Error::EncryptionFailed
    );
    let session = per_message_only.open(per_message.as_bytes()).unwrap();
    assert_eq!(session.mode(), Mode::PerMessageIv);

    let both = server_with(ServerConfig {
        modes: AcceptedModes::Both,
        ..ServerConfig::server()
    });
    assert_eq!(both.open(key_iv.as_bytes()).unwrap().mode(), Mode::KeyIv);
    assert_eq!(
        both.open(per_message.as_bytes()).unwrap().mode(),
        Mode::PerMessageIv
    );
}

#[test]
fn after_one_failure_the_common_key_is_refused_everywhere() {
    let server = server();
    let (client, enc_key) = client(Mode::KeyIv);
    let value = client.encrypt(b"secret").unwrap();
    let first = server.open(enc_key.as_bytes()).unwrap();
    let second = server.open(enc_key.as_bytes()).unwrap();
    assert_eq!(&second.decrypt(value.as_bytes()).unwrap()[..], b"secret");

    assert_eq!(
        first.decrypt(forged_value().as_bytes()).unwrap_err(),
        Error::EncryptionFailed
    );
    // Sessions still open with that key: decryption and encryption fail.
    for session in [&first, &second] {
        assert_eq!(
            session.decrypt(value.as_bytes()).unwrap_err(),
            Error::EncryptionFailed
        );
        assert_eq!(
            session.encrypt(b"chosen").unwrap_err(),
            Error::EncryptionFailed
        );
    }
    // The same encKey, re-encoded, and another RSA ciphertext of the same
    // key and IV: refused too (the last one after its RSA unwrap).
    let rewrapped = client
        .wrap(fixture_key(2048).public_key(), Padding::Pkcs1v15)
        .unwrap();
    assert_ne!(rewrapped, enc_key);
    let with_line_break = format!("{}\n{}", &enc_key[..100], &enc_key[100..]);
    for refused in [&enc_key, &with_line_break, &rewrapped] {
        assert_eq!(
            server.open(refused.as_bytes()).unwrap_err(),
            Error::EncryptionFailed
        );
    }
    // An honest client that starts over with a new key is served.
    let (fresh, fresh_enc_key) = self::client(Mode::KeyIv);
    let session = server.open(fresh_enc_key.as_bytes()).unwrap();
    let value = fresh.encrypt(b"again").unwrap();
    assert_eq!(&session.decrypt(value.as_bytes()).unwrap()[..], b"again");
    let stats = server.stats().unwrap();
    assert_eq!(stats.refusals, 1);
    assert_eq!(stats.remembered_refusals, 1);
}

#[test]
fn a_too_small_buffer_refuses_nothing() {
    let server = server();
    let (client, enc_key) = client(Mode::KeyIv);
    let value = client.encrypt(&[7u8; 40]).unwrap();
    let session = server.open(enc_key.as_bytes()).unwrap();
    let mut small = [0u8; 8];
    assert_eq!(
        session.decrypt_into(value.as_bytes(), &mut small),
        Err(Error::BufferTooSmall { needed: 47 })
    );
    assert_eq!(&session.decrypt(value.as_bytes()).unwrap()[..], &[7u8; 40]);
}

#[test]
fn capacities_are_checked_and_the_least_recently_used_session_goes() {
    for refusal_capacity in [0, ServerConfig::MAX_REFUSAL_CAPACITY + 1] {
        let config = ServerConfig {
            refusal_capacity,
            ..ServerConfig::server()
        };
        assert_eq!(
            Server::new(fixture_key(2048).clone(), config).unwrap_err(),
            Error::InvalidConfig
        );
    }
    let server = server_with(ServerConfig {
        cache_capacity: 2,
        ..ServerConfig::server()
    });
    let keys: Vec<String> = (0..3).map(|_| client(Mode::KeyIv).1).collect();
    server.open(keys[0].as_bytes()).unwrap();
    server.open(keys[1].as_bytes()).unwrap();
    server.open(keys[0].as_bytes()).unwrap(); // hit: keys[1] is now the oldest
    server.open(keys[2].as_bytes()).unwrap(); // evicts keys[1]
    server.open(keys[0].as_bytes()).unwrap(); // hit
    server.open(keys[1].as_bytes()).unwrap(); // miss: unwrapped again
    let stats = server.stats().unwrap();
    assert_eq!((stats.unwraps, stats.cache_hits), (4, 2));
    assert_eq!(stats.cached_sessions, 2);

    let no_cache = server_with(ServerConfig {
        cache_capacity: 0,
        ..ServerConfig::server()
    });
    no_cache.open(keys[0].as_bytes()).unwrap();
    no_cache.open(keys[0].as_bytes()).unwrap();
    assert_eq!(no_cache.stats().unwrap().unwraps, 2);
}

#[test]
fn refusals_are_bounded_and_the_least_recently_tried_one_goes_first() {
    let server = server_with(ServerConfig {
        refusal_capacity: 3,
        ..ServerConfig::server()
    });
    let refuse = |enc_key: &str| {
        let session = server.open(enc_key.as_bytes()).unwrap();
        assert!(session.decrypt(forged_value().as_bytes()).is_err());
    };
    let keys: Vec<String> = (0..5).map(|_| client(Mode::KeyIv).1).collect();
    for key in &keys[..3] {
        refuse(key);
    }
    // Trying keys[0] again keeps it refused longest.
    assert!(server.open(keys[0].as_bytes()).is_err());
    refuse(&keys[3]); // evicts keys[1]
    refuse(&keys[4]); // evicts keys[2]
    assert!(server.open(keys[0].as_bytes()).is_err());
    assert!(server.open(keys[1].as_bytes()).is_ok());
    assert_eq!(server.stats().unwrap().remembered_refusals, 3);
}

/// Vaudenay's attack on blocks 2 and 3 of a captured 3-block secret. The
/// oracle is the server's answer: `open` then `decrypt` succeeds or not.
/// Returns the plaintext bytes it recovered (None where it found no valid
/// padding) and the number of forged requests.
fn vaudenay(oracle: &mut dyn FnMut(&[u8]) -> bool, ciphertext: &[u8]) -> (Vec<Option<u8>>, usize) {
    let mut requests = 0;
    let mut recovered = Vec::new();
    for target in 1..ciphertext.len() / 16 {
        let previous = &ciphertext[(target - 1) * 16..target * 16];
        let block = &ciphertext[target * 16..(target + 1) * 16];
        let mut intermediate = [0u8; 16];
        let mut known = [false; 16];
        for pad in 1..=16u8 {
            let position = 16 - pad as usize;
            let mut forged = [0u8; 32];
            forged[16..].copy_from_slice(block);
            for i in position + 1..16 {
                forged[i] = intermediate[i] ^ pad;
            }
            let mut found = None;
            for guess in 0..=255u8 {
                forged[position] = guess;
                requests += 1;
                if !oracle(&forged) {
                    continue;
                }
                if pad == 1 {
                    // Rule out a longer valid padding by changing the byte before.
                    forged[position - 1] ^= 0xFF;
                    requests += 1;
                    let still_valid = oracle(&forged);
                    forged[position - 1] ^= 0xFF;
                    if !still_valid {
                        continue;
                    }
                }
                found = Some(guess ^ pad);
                break;
            }
            match found {
                Some(value) => {
                    intermediate[position] = value;
                    known[position] = true;
                }
                // No valid padding at all: the oracle is gone. Give up.
                None => {
                    let blocks_left = ciphertext.len() / 16 - target;
                    recovered.extend(std::iter::repeat_n(None, 16 * blocks_left));
                    return (recovered, requests);
                }
            }
        }
        recovered.extend((0..16).map(|i| known[i].then_some(intermediate[i] ^ previous[i])));
    }
    (recovered, requests)
}

/// The attack against `server`: what it recovered, how many requests it
/// sent, and which request (counting from 1) first got 40002.
fn attack(
    server: &Server,
    enc_key: &str,
    ciphertext: &[u8],
) -> (Vec<Option<u8>>, usize, Option<usize>) {
    let mut sent = 0;
    let mut first_failure = None;
    let mut oracle = |forged: &[u8]| {
        sent += 1;
        let ok = server
            .open(enc_key.as_bytes())
            .and_then(|session| session.decrypt(b64(forged).as_bytes()))
            .is_ok();
        if !ok && first_failure.is_none() {
            first_failure = Some(sent);
        }
        ok
    };
    let (recovered, requests) = vaudenay(&mut oracle, ciphertext);
    (recovered, requests, first_failure)
}

#[test]
fn vaudenay_recovers_a_secret_without_refusal_and_nothing_from_the_server() {
    let secret = b"the victim's 40-byte password, captured!";
    assert_eq!(secret.len(), 40); // 3 blocks of ciphertext
    let (victim, enc_key) = client(Mode::KeyIv);
    let ciphertext = unb64(&victim.encrypt(secret).unwrap());
    assert_eq!(ciphertext.len(), 48);

    // The padding oracle that every server was before refusal.
    let oracle_server = Server::without_refusal_with_rng(
        &mut OsRng,
        fixture_key(2048).clone(),
        ServerConfig::server(),
    )
    .unwrap();
    let (recovered, requests, _) = attack(&oracle_server, &enc_key, &ciphertext);
    let recovered: Vec<u8> = recovered.into_iter().map(|b| b.unwrap()).collect();
    assert_eq!(&recovered[..16], &secret[16..32], "block 2");
    assert_eq!(
        &recovered[16..24],
        &secret[32..],
        "block 3 up to its padding"
    );
    assert!(requests < 2 * 256 * 32, "{requests} requests");
    assert_eq!(oracle_server.stats().unwrap().unwraps, 1);

    // The server object: the first forged request refuses the key, and every
    // request after it gets 40002, so nothing is recovered.
    let server = server();
    let (recovered, requests, first_failure) = attack(&server, &enc_key, &ciphertext);
    assert!(
        recovered.iter().all(Option::is_none),
        "recovered {recovered:?}"
    );
    let first_failure = first_failure.unwrap();
    assert!(
        first_failure <= 3,
        "the attack's first requests already fail"
    );
    let stats = server.stats().unwrap();
    assert_eq!(stats.refusals, 1, "one failure refused the key");
    assert_eq!(
        stats.refused as usize,
        requests - first_failure,
        "every request after the first failure was refused"
    );
    // The victim's own key is refused too; the victim starts over and is served.
    assert!(server.open(enc_key.as_bytes()).is_err());
    let (fresh, fresh_enc_key) = client(Mode::KeyIv);
    let session = server.open(fresh_enc_key.as_bytes()).unwrap();
    let value = fresh.encrypt(secret).unwrap();
    assert_eq!(&session.decrypt(value.as_bytes()).unwrap()[..], secret);
}

#[test]
fn threads_open_and_refuse_concurrently_without_losing_a_refusal() {
    let server = server();
    let threads = 4;
    let keys_per_thread = 6;
    let clients: Vec<Vec<(Session, String)>> = (0..threads)
        .map(|_| (0..keys_per_thread).map(|_| client(Mode::KeyIv)).collect())
        .collect();
    std::thread::scope(|scope| {
        for keys in &clients {
            let server = server.clone();
            scope.spawn(move || {
                for round in 0..20 {
                    for (index, (client, enc_key)) in keys.iter().enumerate() {
                        let session = server.open(enc_key.as_bytes());
                        // Odd keys are refused after their first round.
                        if index % 2 == 1 && round > 0 {
                            assert!(session.is_err());
                            continue;
                        }
                        let session = session.unwrap();
                        if index % 2 == 1 {
                            assert!(session.decrypt(forged_value().as_bytes()).is_err());
                        } else {
                            let value = client.encrypt(b"ok").unwrap();
                            assert_eq!(&session.decrypt(value.as_bytes()).unwrap()[..], b"ok");
                        }
                    }
                }
            });
        }
    });
    let stats = server.stats().unwrap();
    let refused_keys = (threads * keys_per_thread / 2) as u64;
    assert_eq!(stats.refusals, refused_keys);
    assert_eq!(stats.remembered_refusals as u64, refused_keys);
    for (index, (_, enc_key)) in clients.iter().flatten().enumerate() {
        assert_eq!(server.open(enc_key.as_bytes()).is_err(), index % 2 == 1);
    }
}

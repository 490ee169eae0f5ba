//! The server object: the encKey cache, modes, capacities and threads, and
//! the failure policy against Vaudenay's padding-oracle attack: per-key
//! refusal windows with a lifetime budget, per-peer and server-wide
//! lockdown, the unwrap limit, application-reported failures, and state
//! that survives a restart. Time runs on a fake clock, so that days pass in
//! milliseconds. Memory bounds: core/tests/server_memory.rs.
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::{b64, fixture_key, unb64};
use paramcrypt_core::rng::OsRng;
use paramcrypt_core::{
    AcceptedModes, Error, FailurePolicy, Mode, Padding, Server, ServerConfig, ServerEventKind,
    Session,
};

const VICTIM: &[u8] = b"192.0.2.10";
const ATTACKER: &[u8] = b"192.0.2.66";
const DAY: u64 = 24 * 60 * 60;

/// A clock the test moves by hand (milliseconds).
#[derive(Clone, Default)]
struct FakeClock(Arc<AtomicU64>);

impl FakeClock {
    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs * 1000, Ordering::Relaxed);
    }

    fn secs(&self) -> u64 {
        self.0.load(Ordering::Relaxed) / 1000
    }
}

fn server_on(clock: &FakeClock, config: ServerConfig) -> Server {
    let clock = clock.clone();
    Server::builder(fixture_key(2048).clone(), config)
        .clock(move || clock.0.load(Ordering::Relaxed))
        .build()
        .unwrap()
}

fn server_with(config: ServerConfig) -> Server {
    server_on(&FakeClock::default(), config)
}

fn server() -> Server {
    server_with(ServerConfig::server())
}

fn wrap(session: &Session) -> String {
    session
        .wrap(fixture_key(2048).public_key(), Padding::Pkcs1v15)
        .unwrap()
}

fn client(mode: Mode) -> (Session, String) {
    let session = Session::new(mode).unwrap();
    let enc_key = wrap(&session);
    (session, enc_key)
}

/// A value that fails to decrypt under any key (17 bytes is no whole
/// number of blocks). The attack tests below forge real padding failures.
fn forged_value() -> String {
    b64(&[0x5Au8; 17])
}

/// One request: open `enc_key` from `peer` and decrypt `value`.
fn request(server: &Server, peer: &[u8], enc_key: &str, value: &str) -> Result<Vec<u8>, Error> {
    let session = server.open(peer, enc_key.as_bytes())?;
    Ok(session.decrypt(value.as_bytes())?.to_vec())
}

#[test]
fn a_reused_enc_key_is_opened_from_the_cache_under_any_encoding() {
    let server = server();
    let (client, enc_key) = client(Mode::KeyIv);
    let value = client.encrypt(b"secret").unwrap();
    for _ in 0..3 {
        assert_eq!(
            request(&server, VICTIM, &enc_key, &value).unwrap(),
            b"secret"
        );
    }
    // The same RSA ciphertext with line breaks is the same cache entry.
    let wrapped: String = enc_key
        .as_bytes()
        .chunks(76)
        .map(|line| format!("{}\r\n", std::str::from_utf8(line).unwrap()))
        .collect();
    server.open(VICTIM, wrapped.as_bytes()).unwrap();
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
        key_iv_only
            .open(VICTIM, per_message.as_bytes())
            .unwrap_err(),
        Error::EncryptionFailed
    );
    key_iv_only.open(VICTIM, key_iv.as_bytes()).unwrap();

    let per_message_only = server_with(ServerConfig {
        modes: AcceptedModes::PerMessageIv,
        ..ServerConfig::server()
    });
    assert_eq!(
        per_message_only
            .open(VICTIM, key_iv.as_bytes())
            .unwrap_err(),
        Error::EncryptionFailed
    );
    let session = per_message_only
        .open(VICTIM, per_message.as_bytes())
        .unwrap();
    assert_eq!(session.mode(), Mode::PerMessageIv);

    let both = server_with(ServerConfig {
        modes: AcceptedModes::Both,
        ..ServerConfig::server()
    });
    assert_eq!(
        both.open(VICTIM, key_iv.as_bytes()).unwrap().mode(),
        Mode::KeyIv
    );
    assert_eq!(
        both.open(VICTIM, per_message.as_bytes()).unwrap().mode(),
        Mode::PerMessageIv
    );
}

#[test]
fn after_a_failure_the_common_key_is_refused_everywhere_until_its_window_ends() {
    let clock = FakeClock::default();
    let server = server_on(&clock, ServerConfig::server());
    let (client, enc_key) = client(Mode::KeyIv);
    let value = client.encrypt(b"secret").unwrap();
    let first = server.open(ATTACKER, enc_key.as_bytes()).unwrap();
    let second = server.open(VICTIM, enc_key.as_bytes()).unwrap();
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
    let rewrapped = wrap(&client);
    assert_ne!(rewrapped, enc_key);
    let with_line_break = format!("{}\n{}", &enc_key[..100], &enc_key[100..]);
    for refused in [&enc_key, &with_line_break, &rewrapped] {
        assert_eq!(
            server.open(VICTIM, refused.as_bytes()).unwrap_err(),
            Error::EncryptionFailed
        );
    }
    // An honest client that starts over with a new key is served.
    let (fresh, fresh_enc_key) = self::client(Mode::KeyIv);
    let value = fresh.encrypt(b"again").unwrap();
    assert_eq!(
        request(&server, VICTIM, &fresh_enc_key, &value).unwrap(),
        b"again"
    );
    // The window ends after 10 s: the old key is served again.
    clock.advance(9);
    assert!(server.open(VICTIM, enc_key.as_bytes()).is_err());
    clock.advance(1);
    assert_eq!(
        &second
            .decrypt(client.encrypt(b"back").unwrap().as_bytes())
            .unwrap()[..],
        b"back"
    );
    let stats = server.stats().unwrap();
    assert_eq!(stats.failures, 1);
    assert_eq!(stats.remembered_keys, 1);
    assert_eq!(stats.refused, 8);
}

#[test]
fn a_too_small_buffer_counts_nothing() {
    let server = server();
    let (client, enc_key) = client(Mode::KeyIv);
    let value = client.encrypt(&[7u8; 40]).unwrap();
    let session = server.open(VICTIM, enc_key.as_bytes()).unwrap();
    let mut small = [0u8; 8];
    assert_eq!(
        session.decrypt_into(value.as_bytes(), &mut small),
        Err(Error::BufferTooSmall { needed: 47 })
    );
    assert_eq!(&session.decrypt(value.as_bytes()).unwrap()[..], &[7u8; 40]);
    assert_eq!(server.stats().unwrap().failures, 0);
}

#[test]
fn capacities_and_policies_are_checked_and_the_least_recently_used_session_goes() {
    let bad = [
        ServerConfig {
            refusal_capacity: 0,
            ..ServerConfig::server()
        },
        ServerConfig {
            refusal_capacity: ServerConfig::MAX_REFUSAL_CAPACITY + 1,
            ..ServerConfig::server()
        },
        ServerConfig {
            peer_capacity: 0,
            ..ServerConfig::server()
        },
        ServerConfig {
            policy: FailurePolicy {
                key_failure_budget: 0,
                ..FailurePolicy::server()
            },
            ..ServerConfig::server()
        },
        ServerConfig {
            policy: FailurePolicy {
                server_window_secs: 0,
                ..FailurePolicy::server()
            },
            ..ServerConfig::server()
        },
    ];
    for config in bad {
        assert_eq!(
            Server::new(fixture_key(2048).clone(), config).unwrap_err(),
            Error::InvalidConfig,
            "{config:?}"
        );
    }
    let server = server_with(ServerConfig {
        cache_capacity: 2,
        ..ServerConfig::server()
    });
    let keys: Vec<String> = (0..3).map(|_| client(Mode::KeyIv).1).collect();
    let open = |i: usize| server.open(VICTIM, keys[i].as_bytes()).unwrap();
    open(0);
    open(1);
    open(0); // hit: keys[1] is now the oldest
    open(2); // evicts keys[1]
    open(0); // hit
    open(1); // miss: unwrapped again
    let stats = server.stats().unwrap();
    assert_eq!((stats.unwraps, stats.cache_hits), (4, 2));
    assert_eq!(stats.cached_sessions, 2);

    let no_cache = server_with(ServerConfig {
        cache_capacity: 0,
        ..ServerConfig::server()
    });
    no_cache.open(VICTIM, keys[0].as_bytes()).unwrap();
    no_cache.open(VICTIM, keys[0].as_bytes()).unwrap();
    assert_eq!(no_cache.stats().unwrap().unwraps, 2);
}

#[test]
fn failed_keys_are_bounded_and_the_least_recently_tried_one_goes_first() {
    let server = server_with(ServerConfig {
        refusal_capacity: 3,
        policy: FailurePolicy::per_key_only(),
        ..ServerConfig::server()
    });
    let refuse = |enc_key: &str| {
        assert!(request(&server, ATTACKER, enc_key, &forged_value()).is_err());
    };
    let keys: Vec<String> = (0..5).map(|_| client(Mode::KeyIv).1).collect();
    for key in &keys[..3] {
        refuse(key);
    }
    // Trying keys[0] again keeps it remembered longest.
    assert!(server.open(VICTIM, keys[0].as_bytes()).is_err());
    refuse(&keys[3]); // evicts keys[1]
    refuse(&keys[4]); // evicts keys[2]
    assert!(server.open(VICTIM, keys[0].as_bytes()).is_err());
    assert!(server.open(VICTIM, keys[1].as_bytes()).is_ok());
    assert_eq!(server.stats().unwrap().remembered_keys, 3);
}

/// The one published client: one common key and IV for its whole life,
/// wrapped afresh (a new RSA ciphertext) on every call, never a new key
/// after 40002. One forged request must not lock it out for good.
#[test]
fn a_client_that_never_rekeys_is_served_again_after_an_injected_failure() {
    let clock = FakeClock::default();
    let server = server_on(&clock, ServerConfig::server());
    let client = Session::new(Mode::KeyIv).unwrap();
    let call = |text: &[u8]| {
        let value = client.encrypt(text).unwrap();
        request(&server, VICTIM, &wrap(&client), &value)
    };
    assert_eq!(call(b"volume 10").unwrap(), b"volume 10");

    // The attacker replays a captured request once with a junk value.
    let captured = wrap(&client);
    assert!(request(&server, ATTACKER, &captured, &forged_value()).is_err());
    // The client keeps calling once a second: refused for the first window
    // (10 s), and served after it.
    let mut refused_seconds = 0;
    while call(b"volume 11").is_err() {
        refused_seconds += 1;
        clock.advance(1);
    }
    assert_eq!(refused_seconds, 10);
    assert_eq!(call(b"volume 12").unwrap(), b"volume 12");

    // A patient attacker spends the key's budget: 8 failures, each after
    // the previous window; then the key is refused for good.
    let mut injected = 1;
    while injected < 8 {
        clock.advance(3600);
        if request(&server, ATTACKER, &captured, &forged_value()).is_err() {
            injected += 1;
        }
    }
    for _ in 0..365 {
        clock.advance(DAY);
        assert!(call(b"volume 13").is_err());
    }
    let stats = server.stats().unwrap();
    assert_eq!((stats.failures, stats.keys_refused_for_good), (8, 1));
    // A client that starts over with a new key is served.
    let (fresh, enc_key) = self::client(Mode::KeyIv);
    let value = fresh.encrypt(b"volume 14").unwrap();
    assert_eq!(
        request(&server, VICTIM, &enc_key, &value).unwrap(),
        b"volume 14"
    );
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

#[test]
fn vaudenay_recovers_a_secret_without_the_policy_and_nothing_from_the_server_in_a_year() {
    let secret = b"the victim's 40-byte password, captured!";
    assert_eq!(secret.len(), 40); // 3 blocks of ciphertext
    // A fixed key and IV make the ciphertext, and so the attack's path, the
    // same on every run.
    let victim = Session::from_parts([0x42; 16], [0x24; 16], Mode::KeyIv);
    let enc_key = wrap(&victim);
    let ciphertext = unb64(&victim.encrypt(secret).unwrap());
    assert_eq!(ciphertext.len(), 48);

    // The padding oracle that every server was before refusal.
    let oracle_server = Server::without_refusal_with_rng(
        &mut OsRng,
        fixture_key(2048).clone(),
        ServerConfig::server(),
    )
    .unwrap();
    let mut oracle =
        |forged: &[u8]| request(&oracle_server, ATTACKER, &enc_key, &b64(forged)).is_ok();
    let (recovered, requests) = vaudenay(&mut oracle, &ciphertext);
    let recovered: Vec<u8> = recovered.into_iter().map(|b| b.unwrap()).collect();
    assert_eq!(&recovered[..16], &secret[16..32], "block 2");
    assert_eq!(
        &recovered[16..24],
        &secret[32..],
        "block 3 up to its padding"
    );
    assert!(requests < 2 * 256 * 32, "{requests} requests");

    // The server object, one request an hour for a year on the captured
    // encKey (the attack starts over whenever it gives up): at most the
    // key's failure budget of answers, then nothing.
    let clock = FakeClock::default();
    let server = server_on(&clock, ServerConfig::server());
    let year = 365 * 24;
    let mut sent = 0u64;
    let mut recovered_any = Vec::new();
    while sent < year {
        let mut oracle = |forged: &[u8]| {
            if sent == year {
                return false;
            }
            sent += 1;
            clock.advance(3600);
            request(&server, ATTACKER, &enc_key, &b64(forged)).is_ok()
        };
        let (recovered, _) = vaudenay(&mut oracle, &ciphertext);
        recovered_any.extend(recovered.into_iter().flatten());
    }
    assert!(recovered_any.is_empty(), "recovered {recovered_any:?}");
    let stats = server.stats().unwrap();
    assert_eq!(stats.failures, 8, "the key's budget of failure answers");
    assert_eq!(stats.keys_refused_for_good, 1);
    // The victim starts over with a new key and is served.
    let fresh = Session::new(Mode::KeyIv).unwrap();
    let value = fresh.encrypt(secret).unwrap();
    assert_eq!(
        request(&server, VICTIM, &wrap(&fresh), &value).unwrap(),
        secret
    );
}

/// The cross-key attack: the victim sends the same secret every `period`
/// seconds under a fresh common key; the attacker replays each captured
/// request once from `attacker` with a forged value that tests one guess of
/// the last byte of the secret's second block (guesses 0, 1, 2, ...; a
/// valid padding says the guess is right). Returns the failure answers the
/// attacker got per day, the recovered byte, and the victim's calls that
/// failed.
fn cross_key_attack(attacker: &[u8], days: u64, period: u64) -> (Vec<u64>, Option<u8>, u64) {
    let clock = FakeClock::default();
    let server = server_on(&clock, ServerConfig::server());
    let secret = b"PIN 7391 and a passphrase: xylophone"; // byte 31 is 'p'
    let mut failures_per_day = vec![0u64; days as usize];
    let mut victim_failures = 0;
    let mut guess = 0u8;
    let mut recovered = None;
    while clock.secs() < days * DAY {
        let victim = Session::new(Mode::KeyIv).unwrap();
        let enc_key = wrap(&victim);
        let value = unb64(&victim.encrypt(secret).unwrap());
        if request(&server, VICTIM, &enc_key, &b64(&value)).is_err() {
            victim_failures += 1;
        }
        if recovered.is_none() {
            let mut forged = value[..32].to_vec();
            forged[15] ^= guess ^ 1;
            let before = server.stats().unwrap().failures;
            if request(&server, attacker, &enc_key, &b64(&forged)).is_ok() {
                recovered = Some(guess);
            }
            let failed = server.stats().unwrap().failures - before;
            failures_per_day[(clock.secs() / DAY) as usize] += failed;
            // Only a decrypted (not a refused or locked-down) request tests
            // the guess; then the next guess.
            if failed > 0 {
                guess = guess.wrapping_add(1);
            }
        }
        clock.advance(period);
    }
    (failures_per_day, recovered, victim_failures)
}

#[test]
fn the_cross_key_attack_from_another_address_locks_out_only_the_attacker() {
    // The victim calls once a minute for a day.
    let (failures, recovered, victim_failures) = cross_key_attack(ATTACKER, 1, 60);
    assert_eq!(recovered, None);
    assert_eq!(victim_failures, 0, "the victim stays served");
    // 10 failures, then a lockdown that grows: 50 answers in the first day.
    assert_eq!(failures[0], 50);
}

#[test]
fn the_cross_key_attack_from_the_victims_address_gets_at_most_100_answers_a_day_then_10() {
    // The worst case: the attacker injects from the victim's own address
    // (so the victim shares every lockdown), for 10 days.
    let (failures, recovered, victim_failures) = cross_key_attack(VICTIM, 10, 60);
    println!("failure answers per day from the victim's address: {failures:?}");
    println!(
        "victim calls answered 40002 (lockdowns): {victim_failures} of {}",
        10 * 24 * 60
    );
    assert!(failures[0] <= 100, "{failures:?}");
    assert!(failures[1..].iter().all(|&n| n <= 10), "{failures:?}");
    // 50 guesses on the first day and 10 a day after reach 'p' (112) on
    // the eighth day: the residual risk the README states.
    assert_eq!(recovered, Some(b'p'));
}

#[test]
fn a_peer_in_lockdown_gets_40002_without_rsa_work_and_events_report_it() {
    let clock = FakeClock::default();
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    let clock_fn = clock.clone();
    let server = Server::builder(fixture_key(2048).clone(), ServerConfig::server())
        .clock(move || clock_fn.0.load(Ordering::Relaxed))
        .on_event(move |event| {
            log.lock()
                .unwrap()
                .push((event.kind, event.peer.to_vec(), event.seconds));
        })
        .build()
        .unwrap();
    for _ in 0..10 {
        let (_, enc_key) = client(Mode::KeyIv);
        assert!(request(&server, ATTACKER, &enc_key, &forged_value()).is_err());
    }
    assert_eq!(
        *events.lock().unwrap(),
        [(
            ServerEventKind::PeerLockdownStarted,
            ATTACKER.to_vec(),
            3600
        )]
    );
    // In lockdown: a valid request from the attacker's address fails, and
    // costs no RSA work; the victim is served.
    let unwraps = server.stats().unwrap().unwraps;
    let (good, enc_key) = client(Mode::KeyIv);
    let value = good.encrypt(b"ok").unwrap();
    assert!(request(&server, ATTACKER, &enc_key, &value).is_err());
    assert_eq!(server.stats().unwrap().unwraps, unwraps);
    assert_eq!(request(&server, VICTIM, &enc_key, &value).unwrap(), b"ok");
    // A session opened before the lockdown cannot decrypt during it.
    clock.advance(3600);
    let open_session = server.open(ATTACKER, enc_key.as_bytes()).unwrap();
    assert_eq!(
        events.lock().unwrap()[1].0,
        ServerEventKind::PeerLockdownEnded
    );
    for _ in 0..10 {
        let (_, enc_key) = client(Mode::KeyIv);
        let _ = request(&server, ATTACKER, &enc_key, &forged_value());
    }
    assert!(open_session.decrypt(value.as_bytes()).is_err());
    let stats = server.stats().unwrap();
    assert_eq!(stats.peer_lockdowns, 2);
    assert_eq!(
        events.lock().unwrap()[2],
        (
            ServerEventKind::PeerLockdownStarted,
            ATTACKER.to_vec(),
            7200
        )
    );
    assert!(stats.lockdown_answers >= 2);
}

#[test]
fn an_attacker_hopping_addresses_meets_the_server_wide_lockdown() {
    let clock = FakeClock::default();
    let server = server_on(&clock, ServerConfig::server());
    for i in 0..100 {
        let (_, enc_key) = client(Mode::KeyIv);
        let peer = format!("198.51.100.{i}");
        assert!(request(&server, peer.as_bytes(), &enc_key, &forged_value()).is_err());
    }
    let stats = server.stats().unwrap();
    assert_eq!((stats.server_lockdowns, stats.peer_lockdowns), (1, 0));
    assert_eq!(stats.server_lockdown_secs, 3600);
    // Every peer gets 40002 now, the victim included (the denial of service
    // an injecting attacker can cause), until the cool-down ends.
    let (good, enc_key) = client(Mode::KeyIv);
    let value = good.encrypt(b"ok").unwrap();
    assert!(request(&server, VICTIM, &enc_key, &value).is_err());
    clock.advance(3600);
    assert_eq!(request(&server, VICTIM, &enc_key, &value).unwrap(), b"ok");
}

#[test]
fn honest_clients_with_stale_enc_keys_after_a_key_change_trip_nothing() {
    // 100 clients hold encKeys made for the device's previous key.
    let old_key = fixture_key(3072);
    let clients: Vec<(Session, String)> = (0..100)
        .map(|_| {
            let session = Session::new(Mode::KeyIv).unwrap();
            let enc_key = session
                .wrap(old_key.public_key(), Padding::Pkcs1v15)
                .unwrap();
            (session, enc_key)
        })
        .collect();
    let server = server();
    for (i, (session, enc_key)) in clients.iter().enumerate() {
        let peer = format!("192.0.2.{i}");
        let value = session.encrypt(b"hello").unwrap();
        assert!(request(&server, peer.as_bytes(), enc_key, &value).is_err());
        // The client starts over with the new public key and is served.
        let fresh = Session::new(Mode::KeyIv).unwrap();
        let value = fresh.encrypt(b"hello").unwrap();
        assert_eq!(
            request(&server, peer.as_bytes(), &wrap(&fresh), &value).unwrap(),
            b"hello"
        );
    }
    let stats = server.stats().unwrap();
    assert_eq!((stats.peer_lockdowns, stats.server_lockdowns), (0, 0));
}

#[test]
fn the_unwrap_limit_bounds_rsa_work_per_window_and_spares_cached_keys() {
    let clock = FakeClock::default();
    let server = server_on(
        &clock,
        ServerConfig {
            policy: FailurePolicy::firmware(),
            ..ServerConfig::server()
        },
    );
    let (_, cached) = client(Mode::KeyIv);
    server.open(VICTIM, cached.as_bytes()).unwrap();
    for _ in 1..30 {
        server
            .open(VICTIM, client(Mode::KeyIv).1.as_bytes())
            .unwrap();
    }
    let (_, fresh) = client(Mode::KeyIv);
    assert!(server.open(VICTIM, fresh.as_bytes()).is_err());
    server.open(VICTIM, cached.as_bytes()).unwrap();
    let stats = server.stats().unwrap();
    assert_eq!((stats.unwraps, stats.unwraps_limited), (30, 1));
    clock.advance(60);
    server.open(VICTIM, fresh.as_bytes()).unwrap();
}

#[test]
fn reported_failures_and_text_that_is_not_utf8_count_like_a_bad_padding() {
    let server = server();
    let (client, enc_key) = client(Mode::KeyIv);
    let session = server.open(VICTIM, enc_key.as_bytes()).unwrap();
    assert_eq!(
        &*session
            .decrypt_text(client.encrypt("héllo".as_bytes()).unwrap().as_bytes())
            .unwrap(),
        "héllo"
    );
    let not_utf8 = client.encrypt(&[0xC3, 0x28]).unwrap();
    assert_eq!(
        session.decrypt_text(not_utf8.as_bytes()).unwrap_err(),
        Error::EncryptionFailed
    );
    let mut out = [0x55u8; 32];
    assert!(
        session
            .decrypt_text_into(not_utf8.as_bytes(), &mut out)
            .is_err()
    );
    assert_eq!(
        out, [0x55; 32],
        "refused before decrypting: nothing written"
    );
    assert_eq!(server.stats().unwrap().failures, 1);

    let (other, enc_key) = self::client(Mode::KeyIv);
    let session = server.open(VICTIM, enc_key.as_bytes()).unwrap();
    let value = other.encrypt(b"volume=300").unwrap();
    assert_eq!(
        &session.decrypt(value.as_bytes()).unwrap()[..],
        b"volume=300"
    );
    session.report_failure().unwrap(); // the application rejects the setting
    assert!(session.decrypt(value.as_bytes()).is_err());
    assert_eq!(server.stats().unwrap().failures, 2);
}

#[test]
fn a_text_value_that_is_not_utf8_leaves_nothing_in_the_buffer() {
    let server = server();
    let (client, enc_key) = client(Mode::KeyIv);
    let session = server.open(VICTIM, enc_key.as_bytes()).unwrap();
    let not_utf8 = client.encrypt(&[b'a', b'b', 0xFF, b'c']).unwrap();
    let mut out = [0x55u8; 32];
    assert!(
        session
            .decrypt_text_into(not_utf8.as_bytes(), &mut out)
            .is_err()
    );
    assert!(out[..4].iter().all(|&b| b == 0), "{:?}", &out[..4]);
}

#[test]
fn the_failure_state_survives_a_restart_and_bad_blobs_load_nothing() {
    let clock = FakeClock::default();
    let server = server_on(&clock, ServerConfig::server());
    let (client, enc_key) = client(Mode::KeyIv);
    let value = client.encrypt(b"secret").unwrap();
    assert!(request(&server, ATTACKER, &enc_key, &forged_value()).is_err());
    for _ in 0..9 {
        let (_, other) = self::client(Mode::KeyIv);
        assert!(request(&server, ATTACKER, &other, &forged_value()).is_err());
    }
    assert_eq!(server.stats().unwrap().peer_lockdowns, 1);
    clock.advance(4);
    let blob = server.export_state().unwrap();
    drop(server);

    // The restarted server: the key is still refused for the rest of its
    // window (6 s), the attacker still locked down, the victim served.
    let restarted_clock = FakeClock::default();
    let restarted = Server::builder(fixture_key(2048).clone(), ServerConfig::server())
        .clock({
            let clock = restarted_clock.clone();
            move || clock.0.load(Ordering::Relaxed)
        })
        .state(&blob)
        .build()
        .unwrap();
    assert!(request(&restarted, VICTIM, &enc_key, &value).is_err());
    restarted_clock.advance(6);
    assert_eq!(
        request(&restarted, VICTIM, &enc_key, &value).unwrap(),
        b"secret"
    );
    let (good, fresh) = self::client(Mode::KeyIv);
    let good_value = good.encrypt(b"ok").unwrap();
    assert!(request(&restarted, ATTACKER, &fresh, &good_value).is_err());
    let stats = restarted.stats().unwrap();
    assert_eq!((stats.remembered_keys, stats.remembered_peers), (10, 1));

    // Corrupted, truncated, extended, of the previous layout, of another
    // key pair: rejected whole.
    let mut flipped = blob.to_vec();
    flipped[60] ^= 1;
    let truncated = &blob[..blob.len() - 1];
    let mut extended = blob.to_vec();
    extended.push(0);
    let mut version_1 = blob.to_vec();
    assert_eq!(version_1[4], 2, "the layout version");
    version_1[4] = 1;
    let other_key = fixture_key(3072).clone();
    for (key, bad) in [
        (fixture_key(2048).clone(), &flipped[..]),
        (fixture_key(2048).clone(), truncated),
        (fixture_key(2048).clone(), &extended[..]),
        (fixture_key(2048).clone(), &version_1[..]),
        (fixture_key(2048).clone(), b"PCST".as_slice()),
        (other_key, &blob[..]),
    ] {
        let result = Server::builder(key, ServerConfig::server())
            .state(bad)
            .build();
        assert_eq!(result.unwrap_err(), Error::InvalidState);
    }
}

#[test]
fn concurrent_forgeries_never_find_a_key_usable_after_its_failure() {
    let server = server_with(ServerConfig {
        policy: FailurePolicy::per_key_only(),
        ..ServerConfig::server()
    });
    let keys: Vec<(Session, String)> = (0..4).map(|_| client(Mode::KeyIv)).collect();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for (client, enc_key) in &keys {
                    let value = client.encrypt(b"ok").unwrap();
                    let Ok(session) = server.open(ATTACKER, enc_key.as_bytes()) else {
                        continue;
                    };
                    for _ in 0..50 {
                        if session.decrypt(forged_value().as_bytes()).is_err() {
                            // Whoever failed, the key is refused from now on.
                            assert!(session.decrypt(value.as_bytes()).is_err());
                            assert!(server.open(VICTIM, enc_key.as_bytes()).is_err());
                        }
                    }
                }
            });
        }
    });
    // Each key failed once: every later decryption was refused unanswered.
    assert_eq!(server.stats().unwrap().failures, 4);
}

#[test]
fn threads_open_and_refuse_concurrently_without_losing_a_refusal() {
    let server = server_with(ServerConfig {
        policy: FailurePolicy::per_key_only(),
        ..ServerConfig::server()
    });
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
                        let session = server.open(VICTIM, enc_key.as_bytes());
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
    assert_eq!(stats.failures, refused_keys);
    assert_eq!(stats.remembered_keys as u64, refused_keys);
    for (index, (_, enc_key)) in clients.iter().flatten().enumerate() {
        assert_eq!(
            server.open(VICTIM, enc_key.as_bytes()).is_err(),
            index % 2 == 1
        );
    }
}

//! Prints throughput figures for the operations a server and a client run.
//!
//!     cargo run --release -p paramcrypt-bench
//!
//! Single-threaded except the server rows marked "2 threads"; each figure is
//! the median of five timed rounds.
use std::hint::black_box;
use std::time::{Duration, Instant};

use paramcrypt_core::{KeyPair, Mode, Padding, Server, ServerConfig, Session};

/// The requester every benchmark request comes from.
const PEER: &[u8] = b"127.0.0.1";

/// Runs `op` for about `budget` per round, five rounds; returns the median
/// operations per second.
fn rate(budget: Duration, mut op: impl FnMut()) -> f64 {
    let mut rates: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let mut n = 0u32;
            while start.elapsed() < budget {
                op();
                n += 1;
            }
            f64::from(n) / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[2]
}

fn main() -> Result<(), paramcrypt_core::Error> {
    let budget = Duration::from_millis(300);
    println!(
        "paramcrypt benchmarks (single thread, median of 5 rounds; RSA on {})\n",
        paramcrypt_core::RSA_BACKEND
    );
    println!("| operation | rate |");
    println!("| --- | ---: |");
    for bits in [2048, 3072, 4096] {
        let start = Instant::now();
        let key = KeyPair::generate(bits)?;
        println!(
            "| RSA-{bits} key generation (one run) | {:.0} ms |",
            start.elapsed().as_secs_f64() * 1e3
        );
        for padding in [Padding::Pkcs1v15, Padding::OaepSha256] {
            let enc_key = Session::new(Mode::KeyIv)?.wrap(key.public_key(), padding)?;
            let unwraps = rate(budget, || {
                black_box(key.unwrap(enc_key.as_bytes(), padding).unwrap());
            });
            let wraps = rate(budget, || {
                black_box(
                    Session::new(Mode::KeyIv)
                        .unwrap()
                        .wrap(key.public_key(), padding)
                        .unwrap(),
                );
            });
            println!("| RSA-{bits} {padding:?} unwrap (server) | {unwraps:.0}/s |");
            if paramcrypt_core::RSA_BACKEND != "rsa-crate" && padding == Padding::Pkcs1v15 {
                // The key backend (`rsa-crate`) without AWS-LC, for comparison.
                let key_backend = key.without_aws_lc();
                let key_backend_unwraps = rate(budget, || {
                    black_box(key_backend.unwrap(enc_key.as_bytes(), padding).unwrap());
                });
                println!(
                    "| RSA-{bits} {padding:?} unwrap on the {} backend | {key_backend_unwraps:.0}/s |",
                    key_backend.rsa_backend()
                );
            }
            println!("| RSA-{bits} {padding:?} new session + wrap (client) | {wraps:.0}/s |");
        }
    }
    server_opens(budget)?;
    full_tables()?;
    let session = Session::new(Mode::KeyIv)?;
    for size in [16usize, 1024, 65536] {
        let plaintext = vec![0x5au8; size];
        let value = session.encrypt(&plaintext)?;
        let enc = rate(budget, || {
            black_box(session.encrypt(black_box(&plaintext)).unwrap());
        });
        let dec = rate(budget, || {
            black_box(session.decrypt(black_box(value.as_bytes())).unwrap());
        });
        let mib = |r: f64| r * size as f64 / (1024.0 * 1024.0);
        println!(
            "| {size}-byte parameter encrypt | {enc:.0}/s ({:.0} MiB/s) |",
            mib(enc)
        );
        println!(
            "| {size}-byte parameter decrypt | {dec:.0}/s ({:.0} MiB/s) |",
            mib(dec)
        );
    }
    Ok(())
}

/// The server object: opening a reused encKey from the cache against a
/// fresh RSA-2048 unwrap, with one thread and with two sharing the server.
fn server_opens(budget: Duration) -> Result<(), paramcrypt_core::Error> {
    let key = KeyPair::generate(2048)?;
    let clients: Vec<String> = (0..64)
        .map(|_| Session::new(Mode::KeyIv)?.wrap(key.public_key(), Padding::Pkcs1v15))
        .collect::<Result<_, _>>()?;
    let no_cache = Server::new(
        key.clone(),
        ServerConfig {
            cache_capacity: 0,
            ..ServerConfig::server()
        },
    )?;
    let fresh = rate(budget, || {
        black_box(no_cache.open(PEER, clients[0].as_bytes()).unwrap());
    });
    let server = Server::new(key, ServerConfig::server())?;
    let hits = |threads: usize| {
        rate_threads(budget, threads, |thread, i| {
            let enc_key = &clients[(thread * 32 + i) % clients.len()];
            black_box(server.open(PEER, enc_key.as_bytes()).unwrap());
        })
    };
    let one = hits(1);
    let two = hits(2);
    println!("| server open, fresh RSA-2048 unwrap (no cache) | {fresh:.0}/s |");
    println!(
        "| server open, cache hit (64 clients) | {one:.0}/s ({:.0}x a fresh unwrap) |",
        one / fresh
    );
    println!(
        "| server open, cache hit, 2 threads | {two:.0}/s ({:.2}x one thread) |",
        two / one
    );
    Ok(())
}

/// A fresh open (an RSA unwrap and the table work around it) on a server
/// whose cache, failed-key and failed-peer tables are all full, at 1,024
/// entries each and at 2^20: the tables take the same time at any size
/// (lookups probe a hash index, eviction takes a list's tail).
fn full_tables() -> Result<(), paramcrypt_core::Error> {
    let key = KeyPair::from_pem(include_str!("../../tests/data/keys/rsa2048_pkcs8.pem"))?;
    const OPENS: usize = 400;
    // Distinct encKeys for every open of both servers: each one is fresh.
    let enc_keys: Vec<String> = (0..2 * 5 * OPENS)
        .map(|_| Session::new(Mode::KeyIv)?.wrap(key.public_key(), Padding::Pkcs1v15))
        .collect::<Result<_, _>>()?;
    let mut unused = enc_keys.iter();
    let mut cost = |capacity: usize| -> Result<f64, paramcrypt_core::Error> {
        let config = ServerConfig {
            cache_capacity: capacity,
            refusal_capacity: capacity,
            peer_capacity: capacity,
            ..ServerConfig::server()
        };
        let server = Server::new(key.clone(), config)?;
        server.fill_tables()?;
        let stats = server.stats()?;
        assert_eq!(
            (
                stats.cached_sessions,
                stats.remembered_keys,
                stats.remembered_peers
            ),
            (capacity, capacity, capacity)
        );
        // Five rounds of OPENS fresh opens; the median round.
        let mut rounds: Vec<f64> = (0..5)
            .map(|_| {
                let batch: Vec<&String> = unused.by_ref().take(OPENS).collect();
                let start = Instant::now();
                for enc_key in batch {
                    black_box(server.open(PEER, enc_key.as_bytes()).unwrap());
                }
                start.elapsed().as_secs_f64() * 1e6 / OPENS as f64
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        Ok(rounds[2])
    };
    let small = cost(1024)?;
    let large = cost(1 << 20)?;
    println!(
        "| server open, fresh RSA-2048 unwrap, tables full at 1,024 entries | {small:.1} µs |"
    );
    println!(
        "| server open, fresh RSA-2048 unwrap, tables full at 2^20 entries | {large:.1} µs ({:.2}x) |",
        large / small
    );
    let verdict = if large <= 1.2 * small {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "\ntarget: a fresh open with tables of 2^20 within 1.2x of 1,024: {verdict} ({:.2}x)\n",
        large / small
    );
    Ok(())
}

/// Like `rate`, with `threads` threads running `op(thread, i)` at once; the
/// rate is their total.
fn rate_threads(budget: Duration, threads: usize, op: impl Fn(usize, usize) + Sync) -> f64 {
    let mut rates: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let done: usize = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|thread| {
                        let op = &op;
                        scope.spawn(move || {
                            let mut count = 0;
                            while start.elapsed() < budget {
                                op(thread, count);
                                count += 1;
                            }
                            count
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).sum()
            });
            done as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[2]
}

//! Timing leakage measurement, dudect-style: two classes of input to one
//! operation, interleaved at random, each execution timed, and Welch's
//! t-test on the two samples (on all measurements and on versions cropped
//! at several percentiles, as dudect does). |t| above about 5 says the
//! classes are told apart by time; below, they were not after this many
//! measurements.
//!
//!     cargo run --release -p paramcrypt-bench --bin paramcrypt-timing -- [CASE ...] [--measurements N]
//!
//! Cases (default: all), N measurements per class (default 1,000,000):
//!
//! - `unwrap`: RSA-2048 PKCS#1 v1.5 encKey unwrap, valid encKeys vs
//!   ciphertexts with invalid padding (implicit rejection).
//! - `unwrap-invalid`: the same, with both classes ending in 40002: valid
//!   padding around a message that is not a key vs invalid padding (the
//!   padding oracle question: does the padding check show through time?).
//! - `pkcs7`: parameter decryption, valid vs invalid PKCS#7 padding (same
//!   length).
//! - `pkcs7-invalid`: the same, two invalid paddings: a zero final byte vs
//!   a full block of padding with its first byte wrong (where the check
//!   fails, with the outcome the same).
//! - `pkcs7-valid`: the same, two valid paddings: a full block vs one byte.
//! - `base64`: wire base64 decoding of 1 KiB, zeros vs random bytes.
//! - `refused`: server `open`, a cached encKey vs an encKey whose common key
//!   is refused.
//! - `refused-vs-bad`: server `open`, an encKey whose key is refused vs one
//!   that was never valid (both end in 40002).
//! - `server-open`, `server-open-oaep`: `paramcrypt_server_open` through
//!   the C API (a PKCS#1 v1.5 or an OAEP-SHA-256 server): a ciphertext with
//!   valid padding around a message that is no common key vs one with
//!   invalid padding (both 40002; every failure path of open does the same
//!   work).
//!
//! Time is read with the CPU's time-stamp counter on x86-64 (cycles at the
//! nominal frequency), elsewhere with the monotonic clock (nanoseconds).
use std::hint::black_box;
use std::time::Instant;

use base64ct::{Base64, Encoding};
use paramcrypt_core::hazmat::decode_wire_base64;
use paramcrypt_core::{
    AcceptedModes, FailurePolicy, KeyPair, Mode, Padding, PublicKey, Server, ServerConfig, Session,
};
use rsa::hazmat::rsa_encrypt;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;

/// The requester of every measured open.
const PEER: &[u8] = b"127.0.0.1";

const KEY_PEM: &str = include_str!("../../../tests/data/keys/rsa2048_pkcs8.pem");
const PUBLIC_PEM: &str = include_str!("../../../tests/data/keys/rsa2048_public.pem");
const POOL: usize = 256;
/// Measurements before the counted ones (caches, predictors, the crop
/// limits): a tenth of the count, at least 1,000 and at most 100,000.
fn warmup_count(per_class: usize) -> usize {
    (per_class / 10).clamp(1_000, 100_000)
}

/// Percentiles of the warm-up sample at which measurements are cropped
/// (dudect's: more and more weight on the fast end).
fn crop_percentiles() -> Vec<f64> {
    (0..10)
        .map(|i| 1.0 - 0.5f64.powf(10.0 * (i as f64 + 1.0) / 100.0 * 2.0))
        .collect()
}

#[cfg(target_arch = "x86_64")]
fn now() -> u64 {
    use std::arch::x86_64::{_mm_lfence, _rdtsc};
    // lfence keeps the read from moving across the measured code.
    // SAFETY: every x86-64 CPU has SSE2 (lfence) and the time-stamp counter.
    unsafe {
        _mm_lfence();
        let t = _rdtsc();
        _mm_lfence();
        t
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn now() -> u64 {
    use std::sync::OnceLock;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Welford's running mean and variance, per class.
#[derive(Default, Clone)]
struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn push(&mut self, x: f64) {
        self.n += 1.0;
        let delta = x - self.mean;
        self.mean += delta / self.n;
        self.m2 += delta * (x - self.mean);
    }

    fn variance(&self) -> f64 {
        if self.n < 2.0 {
            0.0
        } else {
            self.m2 / (self.n - 1.0)
        }
    }
}

/// Welch's t statistic of two samples.
fn welch_t(a: &Moments, b: &Moments) -> f64 {
    let se = (a.variance() / a.n + b.variance() / b.n).sqrt();
    if se == 0.0 {
        0.0
    } else {
        (a.mean - b.mean) / se
    }
}

/// One t-test: all measurements below `limit`.
struct Test {
    limit: u64,
    classes: [Moments; 2],
}

/// A small xorshift for the class sequence (not for keys).
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs `op` on inputs of both classes, `per_class` times per class in
/// random order, and prints the largest |t| over the tests. Each input is
/// first copied into the one buffer `op` reads, outside the timed region,
/// so that where an input lies in memory is not told apart instead.
fn measure(name: &str, per_class: usize, inputs: &[Vec<Vec<u8>>; 2], mut op: impl FnMut(&[u8])) {
    let mut buffer = Vec::with_capacity(inputs.iter().flatten().map(Vec::len).max().unwrap_or(0));
    let mut op = |class: usize, index: usize| {
        let input = &inputs[class][index % inputs[class].len()];
        buffer.clear();
        buffer.extend_from_slice(input);
        let start = now();
        op(black_box(&buffer));
        now() - start
    };
    let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15 ^ Instant::now().elapsed().as_nanos() as u64 | 1);
    // Warm-up: caches, branch predictors, and the crop limits.
    let mut warmup: Vec<u64> = (0..warmup_count(per_class))
        .map(|i| {
            let class = (rng.next() & 1) as usize;
            op(class, i)
        })
        .collect();
    warmup.sort_unstable();
    let mut tests = vec![Test {
        limit: u64::MAX,
        classes: Default::default(),
    }];
    for p in crop_percentiles() {
        let limit = warmup[((warmup.len() - 1) as f64 * p) as usize];
        tests.push(Test {
            limit,
            classes: Default::default(),
        });
    }
    let mut counts = [0usize; 2];
    let report_every = (per_class / 5).max(1);
    let mut next_report = report_every;
    let started = Instant::now();
    while counts[0] < per_class || counts[1] < per_class {
        let mut class = (rng.next() & 1) as usize;
        if counts[class] >= per_class {
            class ^= 1;
        }
        let index = (rng.next() % POOL as u64) as usize;
        let elapsed = op(class, index);
        counts[class] += 1;
        for test in &mut tests {
            if elapsed < test.limit || test.limit == u64::MAX {
                test.classes[class].push(elapsed as f64);
            }
        }
        if counts[0].min(counts[1]) >= next_report {
            next_report += report_every;
            report(name, &tests, counts, started, false);
        }
    }
    report(name, &tests, counts, started, true);
}

fn report(name: &str, tests: &[Test], counts: [usize; 2], started: Instant, last: bool) {
    let t_all = welch_t(&tests[0].classes[0], &tests[0].classes[1]).abs();
    let (worst, t_max) = tests
        .iter()
        .enumerate()
        .filter(|(_, t)| t.classes[0].n > 1000.0 && t.classes[1].n > 1000.0)
        .map(|(i, t)| (i, welch_t(&t.classes[0], &t.classes[1]).abs()))
        .fold((0, 0.0f64), |acc, x| if x.1 > acc.1 { x } else { acc });
    let means = [tests[0].classes[0].mean, tests[0].classes[1].mean];
    let verdict = if t_max < 5.0 {
        "not told apart (|t| < 5)"
    } else {
        "TOLD APART (|t| >= 5)"
    };
    println!(
        "{}{name}: {} + {} measurements, mean {:.0} / {:.0} ticks, |t| all {:.2}, max |t| {:.2} (test {}), {:.0} s{}",
        if last { "" } else { "  " },
        counts[0],
        counts[1],
        means[0],
        means[1],
        t_all,
        t_max,
        worst,
        started.elapsed().as_secs_f64(),
        if last {
            format!(": {verdict}")
        } else {
            String::new()
        }
    );
}

/// RSA ciphertexts of PKCS#1 v1.5 blocks with invalid padding, made with
/// the raw public-key operation: each breaks one rule (first byte, block
/// type, no zero separator, separator too early).
fn invalid_padding_ciphertexts(count: usize) -> Vec<Vec<u8>> {
    let key = rsa::PublicKey::from_public_key_pem(PUBLIC_PEM).expect("public key");
    let size = key.size();
    let mut seed = Xorshift(0x2545_F491_4F6C_DD1D);
    (0..count)
        .map(|i| {
            let mut block: Vec<u8> = (0..size).map(|_| (seed.next() as u8) | 1).collect(); // no zeros
            block[0] = 0;
            block[1] = 2;
            match i % 4 {
                0 => block[0] = 1,
                1 => block[1] = 1,
                2 => {}            // no separator
                _ => block[5] = 0, // padding string shorter than 8 bytes
            }
            let m = rsa::BoxedUint::from_be_slice(&block, key.n_bits_precision()).expect("block");
            let c = rsa_encrypt(&key, &m).expect("encrypt");
            let bytes = c.to_be_bytes();
            Base64::encode_string(&bytes[bytes.len() - size..]).into_bytes()
        })
        .collect()
}

/// PKCS#1 v1.5 ciphertexts with valid padding around 40 bytes that are
/// neither a key:iv text nor a 16-byte key.
fn pkcs1v15_not_keys(count: usize) -> Vec<Vec<u8>> {
    let public = rsa::PublicKey::from_public_key_pem(PUBLIC_PEM).expect("public key");
    let mut os = paramcrypt_core::rng::OsRng;
    (0..count)
        .map(|i| {
            let message: Vec<u8> = (0..40).map(|j| (i * 7 + j * 13) as u8).collect();
            let c = public
                .encrypt(&mut os, rsa::Pkcs1v15Encrypt, &message)
                .expect("encrypt");
            Base64::encode_string(&c).into_bytes()
        })
        .collect()
}

/// OAEP-SHA-256 ciphertexts with valid padding around 40 bytes (no key).
fn oaep_not_keys(count: usize) -> Vec<Vec<u8>> {
    let public = rsa::PublicKey::from_public_key_pem(PUBLIC_PEM).expect("public key");
    let mut os = paramcrypt_core::rng::OsRng;
    (0..count)
        .map(|i| {
            let message: Vec<u8> = (0..40).map(|j| (i * 11 + j * 5) as u8).collect();
            let c = public
                .encrypt(&mut os, rsa::Oaep::<sha2::Sha256>::new(), &message)
                .expect("encrypt");
            Base64::encode_string(&c).into_bytes()
        })
        .collect()
}

/// RSA ciphertexts of random blocks (first byte zero) below the modulus:
/// invalid OAEP paddings.
fn oaep_invalid(count: usize) -> Vec<Vec<u8>> {
    let key = rsa::PublicKey::from_public_key_pem(PUBLIC_PEM).expect("public key");
    let size = key.size();
    let mut seed = Xorshift(0x9E37_79B9_7F4A_7C15);
    (0..count)
        .map(|_| {
            let mut block: Vec<u8> = (0..size).map(|_| seed.next() as u8).collect();
            block[0] = 0;
            let m = rsa::BoxedUint::from_be_slice(&block, key.n_bits_precision()).expect("block");
            let c = rsa_encrypt(&key, &m).expect("encrypt");
            let bytes = c.to_be_bytes();
            Base64::encode_string(&bytes[bytes.len() - size..]).into_bytes()
        })
        .collect()
}

/// The server object through the C library's exported functions, called
/// as a C program calls them.
mod c_api {
    use paramcrypt::paramcrypt_server_config;
    use std::ffi::c_void;
    use std::ptr;

    unsafe extern "C" {
        fn paramcrypt_keypair_from_pem(pem: *const u8, len: usize, out: *mut *mut c_void) -> u32;
        fn paramcrypt_keypair_free(keypair: *mut c_void);
        fn paramcrypt_server_config_init(
            setting: u32,
            config: *mut paramcrypt_server_config,
        ) -> u32;
        fn paramcrypt_server_new(
            keypair: *const c_void,
            config: *const paramcrypt_server_config,
            out: *mut *mut c_void,
        ) -> u32;
        fn paramcrypt_server_open(
            server: *mut c_void,
            peer: *const u8,
            peer_len: usize,
            enc_key: *const u8,
            enc_key_len: usize,
            out: *mut *mut c_void,
        ) -> u32;
        fn paramcrypt_server_session_free(session: *mut c_void);
        fn paramcrypt_server_free(server: *mut c_void);
    }

    pub(crate) struct Server(*mut c_void);

    impl Server {
        /// A server with the default configuration and `padding`.
        pub(crate) fn new(pem: &str, padding: u32) -> Self {
            // SAFETY: valid pointers and lengths, as the header requires.
            unsafe {
                let mut keypair = ptr::null_mut();
                assert_eq!(
                    paramcrypt_keypair_from_pem(pem.as_ptr(), pem.len(), &mut keypair),
                    0
                );
                let mut config = std::mem::MaybeUninit::<paramcrypt_server_config>::uninit();
                assert_eq!(paramcrypt_server_config_init(0, config.as_mut_ptr()), 0);
                let mut config = config.assume_init();
                config.padding = padding;
                let mut server = ptr::null_mut();
                assert_eq!(paramcrypt_server_new(keypair, &config, &mut server), 0);
                paramcrypt_keypair_free(keypair);
                Server(server)
            }
        }

        /// `paramcrypt_server_open`'s status (the session, if any, freed).
        pub(crate) fn open(&self, enc_key: &[u8]) -> u32 {
            let peer = b"192.0.2.10";
            let mut session = ptr::null_mut();
            // SAFETY: a live server, valid buffers and out-pointer.
            unsafe {
                let status = paramcrypt_server_open(
                    self.0,
                    peer.as_ptr(),
                    peer.len(),
                    enc_key.as_ptr(),
                    enc_key.len(),
                    &mut session,
                );
                paramcrypt_server_session_free(session);
                status
            }
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            // SAFETY: the server is no longer used.
            unsafe { paramcrypt_server_free(self.0) }
        }
    }
}

fn valid_enc_keys(public_key: &PublicKey, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| {
            Session::new(Mode::KeyIv)
                .and_then(|s| s.wrap(public_key, Padding::Pkcs1v15))
                .expect("wrap")
        })
        .map(String::into_bytes)
        .collect()
}

fn main() {
    let mut per_class = 1_000_000usize;
    let mut cases = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--measurements" {
            per_class = args
                .next()
                .and_then(|n| n.parse().ok())
                .expect("--measurements N");
        } else {
            cases.push(arg);
        }
    }
    const ALL: [&str; 10] = [
        "unwrap",
        "unwrap-invalid",
        "pkcs7",
        "pkcs7-invalid",
        "pkcs7-valid",
        "base64",
        "refused",
        "refused-vs-bad",
        "server-open",
        "server-open-oaep",
    ];
    if cases.is_empty() {
        cases = ALL.iter().map(|s| s.to_string()).collect();
    }
    if let Some(unknown) = cases.iter().find(|c| !ALL.contains(&c.as_str())) {
        eprintln!("unknown case {unknown}; cases: {}", ALL.join(", "));
        std::process::exit(2);
    }
    let key_pair = KeyPair::from_pem(KEY_PEM).expect("key");
    println!(
        "paramcrypt timing: {per_class} measurements per class; |t| < 5 means not told apart; RSA on {}",
        key_pair.rsa_backend()
    );
    for case in &cases {
        match case.as_str() {
            "unwrap" => {
                // About 1 in 250 synthetic messages of implicit rejection is
                // 16 bytes long, which parses as a per-message-IV key (the
                // README says so): keep the ones that fail.
                let mut invalid = invalid_padding_ciphertexts(2 * POOL);
                invalid.retain(|text| key_pair.unwrap(text, Padding::Pkcs1v15).is_err());
                invalid.truncate(POOL);
                let inputs = [valid_enc_keys(key_pair.public_key(), POOL), invalid];
                measure(
                    "unwrap, valid vs invalid PKCS#1 v1.5 padding",
                    per_class,
                    &inputs,
                    |text| {
                        let _ = black_box(key_pair.unwrap(text, Padding::Pkcs1v15));
                    },
                );
            }
            "unwrap-invalid" => {
                // PKCS#1 v1.5 ciphertexts with valid padding around 40
                // bytes (neither a key:iv text nor a 16-byte key).
                let not_keys = pkcs1v15_not_keys(POOL);
                let mut invalid = invalid_padding_ciphertexts(2 * POOL);
                invalid.retain(|text| key_pair.unwrap(text, Padding::Pkcs1v15).is_err());
                invalid.truncate(POOL);
                assert!(
                    not_keys
                        .iter()
                        .all(|t| key_pair.unwrap(t, Padding::Pkcs1v15).is_err())
                );
                let inputs = [not_keys, invalid];
                measure(
                    "unwrap, valid padding (not a key) vs invalid padding (both 40002)",
                    per_class,
                    &inputs,
                    |text| {
                        let _ = black_box(key_pair.unwrap(text, Padding::Pkcs1v15));
                    },
                );
            }
            "pkcs7" | "pkcs7-invalid" | "pkcs7-valid" => {
                let session = Session::new(Mode::KeyIv).expect("session");
                // 32 bytes encrypt to three blocks, the last all padding
                // (0x10). CBC lets the second block's bytes flip the last
                // block's plaintext: its last byte 0x10 ^ 0x10 = 0x00 or
                // 0x10 ^ 0x30 = 0x20 (invalid paddings) or 0x10 ^ 0x11 =
                // 0x01 (a valid one-byte padding), or its first byte 0x10 ^
                // 0x01 = 0x11 (a full padding block, wrong at the first byte).
                let flip = |text: &str, at: usize, by: u8| {
                    let mut body = Base64::decode_vec(text).expect("base64");
                    body[at] ^= by;
                    Base64::encode_string(&body).into_bytes()
                };
                let mut inputs = [Vec::new(), Vec::new()];
                for i in 0..POOL {
                    let plaintext: Vec<u8> = (0..32).map(|j| (i * 31 + j) as u8).collect();
                    let text = session.encrypt(&plaintext).expect("encrypt");
                    let (a, b) = match case.as_str() {
                        "pkcs7" => (
                            text.clone().into_bytes(),
                            flip(&text, 31, [0x10, 0x30][i % 2]),
                        ),
                        "pkcs7-valid" => (text.clone().into_bytes(), flip(&text, 31, 0x11)),
                        _ => (flip(&text, 31, 0x10), flip(&text, 16, 0x01)),
                    };
                    inputs[0].push(a);
                    inputs[1].push(b);
                }
                let (valid, name) = match case.as_str() {
                    "pkcs7" => (
                        [true, false],
                        "parameter decrypt, valid vs invalid PKCS#7 padding",
                    ),
                    "pkcs7-valid" => (
                        [true, true],
                        "parameter decrypt, 16-byte vs 1-byte padding (both valid)",
                    ),
                    _ => (
                        [false, false],
                        "parameter decrypt, zero pad byte vs wrong first pad byte (both invalid)",
                    ),
                };
                for (class, texts) in inputs.iter().enumerate() {
                    assert!(
                        texts
                            .iter()
                            .all(|t| session.decrypt(t).is_ok() == valid[class])
                    );
                }
                let mut out = vec![0u8; 64];
                measure(name, per_class, &inputs, |text| {
                    let _ = black_box(session.decrypt_into(text, &mut out));
                });
            }
            "base64" => {
                let mut seed = Xorshift(0xD1B5_4A32_D192_ED03);
                let zeros = vec![Base64::encode_string(&[0u8; 1024]).into_bytes()];
                let random: Vec<Vec<u8>> = (0..POOL)
                    .map(|_| {
                        let bytes: Vec<u8> = (0..1024).map(|_| seed.next() as u8).collect();
                        Base64::encode_string(&bytes).into_bytes()
                    })
                    .collect();
                measure(
                    "base64 decode of 1 KiB, zeros vs random",
                    per_class,
                    &[zeros, random],
                    |text| {
                        black_box(decode_wire_base64(text));
                    },
                );
            }
            "server-open" | "server-open-oaep" => {
                let oaep = case == "server-open-oaep";
                let padding = if oaep {
                    Padding::OaepSha256
                } else {
                    Padding::Pkcs1v15
                };
                let (not_keys, invalid) = if oaep {
                    (oaep_not_keys(POOL), oaep_invalid(POOL))
                } else {
                    let mut invalid = invalid_padding_ciphertexts(2 * POOL);
                    invalid.retain(|text| key_pair.unwrap(text, Padding::Pkcs1v15).is_err());
                    invalid.truncate(POOL);
                    (pkcs1v15_not_keys(POOL), invalid)
                };
                for text in not_keys.iter().chain(&invalid) {
                    assert!(key_pair.unwrap(text, padding).is_err());
                }
                let server = c_api::Server::new(KEY_PEM, padding as u32);
                let name = if oaep {
                    "C API server open, OAEP-SHA-256: valid padding (not a key) vs invalid padding (both 40002)"
                } else {
                    "C API server open, PKCS#1 v1.5: valid padding (not a key) vs invalid padding (both 40002)"
                };
                measure(name, per_class, &[not_keys, invalid], |text| {
                    black_box(server.open(text));
                });
            }
            "refused" | "refused-vs-bad" => {
                // One failure refuses a key for good, and no peer or server
                // limit: the measured opens are refusals, not lockdowns.
                let config = ServerConfig {
                    padding: Padding::Pkcs1v15,
                    modes: AcceptedModes::KeyIv,
                    cache_capacity: 2 * POOL,
                    refusal_capacity: 2 * POOL,
                    peer_capacity: 1,
                    policy: FailurePolicy {
                        key_failure_budget: 1,
                        ..FailurePolicy::per_key_only()
                    },
                };
                let server = Server::new(key_pair.clone(), config).expect("server");
                let cached = valid_enc_keys(server.public_key(), POOL);
                for text in &cached {
                    server.open(PEER, text).expect("open");
                }
                let refused = valid_enc_keys(server.public_key(), POOL);
                for text in &refused {
                    let session = server.open(PEER, text).expect("open");
                    // A forged value fails its padding (about 255 times in
                    // 256; try the next one otherwise), which refuses the key.
                    let forged = (0u8..).map(|n| Base64::encode_string(&[n; 16]));
                    forged
                        .take(64)
                        .find(|text| session.decrypt(text.as_bytes()).is_err())
                        .expect("refused");
                    assert!(server.open(PEER, text).is_err());
                }
                let inputs = if case == "refused" {
                    [cached, refused]
                } else {
                    let mut invalid = invalid_padding_ciphertexts(2 * POOL);
                    invalid.retain(|text| server.open(PEER, text).is_err());
                    invalid.truncate(POOL);
                    [refused, invalid]
                };
                let name = if case == "refused" {
                    "server open, cached encKey vs refused key"
                } else {
                    "server open, refused key vs never-valid encKey (both 40002)"
                };
                measure(name, per_class, &inputs, |text| {
                    let _ = black_box(server.open(PEER, text));
                });
            }
            _ => unreachable!(),
        }
    }
}

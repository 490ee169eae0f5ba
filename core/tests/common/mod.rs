//! Shared helpers for the integration tests: fixture keys, hex and base64
//! from crates independent of paramcrypt's own encoders, and a failing RNG.
// Each test binary uses only some of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine as _;
use paramcrypt_core::{KeyPair, KeySizes};

pub fn data_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(rel)
}

pub fn read_text(rel: &str) -> String {
    std::fs::read_to_string(data_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn read_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(data_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn read_json(rel: &str) -> serde_json::Value {
    serde_json::from_str(&read_text(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The OpenSSL-made fixture key of `bits` bits, loaded once per test binary.
pub fn fixture_key(bits: usize) -> &'static KeyPair {
    static KEYS: [OnceLock<KeyPair>; 4] = [const { OnceLock::new() }; 4];
    let slot = match bits {
        1024 => 0,
        2048 => 1,
        3072 => 2,
        4096 => 3,
        _ => panic!("no fixture key of {bits} bits"),
    };
    KEYS[slot].get_or_init(|| {
        // The 1024-bit fixture stands for a legacy peer's key: opted in.
        let pem = read_text(&format!("keys/rsa{bits}_pkcs8.pem"));
        KeyPair::from_pem_with(&pem, KeySizes::AllowLegacy1024).expect("fixture key")
    })
}

pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

/// An RNG that always fails, to prove failures surface as `Error::Rng`.
pub struct FailingRng;

#[derive(Debug)]
pub struct RngDown;

impl std::fmt::Display for RngDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hardware RNG down")
    }
}

impl std::error::Error for RngDown {}

impl paramcrypt_core::TryRng for FailingRng {
    type Error = RngDown;
    fn try_next_u32(&mut self) -> Result<u32, RngDown> {
        Err(RngDown)
    }
    fn try_next_u64(&mut self) -> Result<u64, RngDown> {
        Err(RngDown)
    }
    fn try_fill_bytes(&mut self, _dst: &mut [u8]) -> Result<(), RngDown> {
        Err(RngDown)
    }
}

impl paramcrypt_core::TryCryptoRng for FailingRng {}

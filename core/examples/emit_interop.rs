//! Prints, as JSON, encKeys and secret parameters that paramcrypt makes for a
//! given public key, in every padding and mode, so that another
//! implementation can check it opens them (tests/interop/open_paramcrypt_output.py
//! does so with Python `cryptography`).
//!
//!     cargo run -p paramcrypt-core --example emit_interop -- tests/data/keys/rsa2048_public.pem
//!     cargo run -p paramcrypt-core --example emit_interop -- --tsv tests/data/keys/rsa2048_public.pem
//!
//! `--tsv` prints one parameter per line instead, tab-separated (for the C
//! tests): padding, mode, "-", "-", encKey, plaintext hex ("-" if empty), value.
//!
//! The plaintexts are fixed test strings, not secrets.
use paramcrypt_core::{Mode, Padding, PublicKey, Session};
use serde_json::json;

const PLAINTEXTS: [&str; 5] = [
    "",
    "secret",
    "exactly 16 bytes",
    "Zürich — パスワード — 🔑",
    "the quick brown fox jumps over the lazy dog",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (tsv, path) = match args.as_slice() {
        [flag, path] if flag == "--tsv" => (true, path),
        [path] => (false, path),
        _ => return Err("usage: emit_interop [--tsv] PUBLIC_KEY.pem".into()),
    };
    let public_key = PublicKey::from_pem(&std::fs::read_to_string(path)?)?;
    let mut cases = Vec::new();
    for (padding_name, padding) in [
        ("pkcs1v15", Padding::Pkcs1v15),
        ("oaep-sha1", Padding::OaepSha1),
        ("oaep-sha256", Padding::OaepSha256),
    ] {
        for (mode_name, mode) in [
            ("key-iv", Mode::KeyIv),
            ("per-message-iv", Mode::PerMessageIv),
        ] {
            let session = Session::new(mode)?;
            let params: Vec<_> = PLAINTEXTS
                .iter()
                .map(|text| {
                    Ok(json!({ "plaintext": text, "value": session.encrypt(text.as_bytes())? }))
                })
                .collect::<Result<_, paramcrypt_core::Error>>()?;
            cases.push(json!({
                "padding": padding_name,
                "mode": mode_name,
                "encKey": session.wrap(&public_key, padding)?,
                "params": params,
            }));
        }
    }
    if !tsv {
        let document = json!({ "generator": "paramcrypt", "cases": cases });
        println!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(());
    }
    for case in &cases {
        for param in case["params"].as_array().into_iter().flatten() {
            let plaintext = param["plaintext"].as_str().unwrap_or_default();
            let hex: String = plaintext.bytes().map(|b| format!("{b:02x}")).collect();
            let fields = [
                case["padding"].as_str().unwrap_or_default(),
                case["mode"].as_str().unwrap_or_default(),
                "-",
                "-",
                case["encKey"].as_str().unwrap_or_default(),
                if hex.is_empty() { "-" } else { &hex },
                param["value"].as_str().unwrap_or_default(),
            ];
            println!("{}", fields.join("\t"));
        }
    }
    Ok(())
}

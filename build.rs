//! Generates the C header from the C ABI in src/ with cbindgen, into the
//! build directory only: `$OUT_DIR/paramcrypt.h`.
//!
//! The committed copy, include/paramcrypt.h, is never written by a build.
//! `tests/header.rs` fails when it differs from the generated one, and
//! `make header` (the same test with `UPDATE=1`) brings it up to date.
use std::path::PathBuf;

/// The 40002 constants, from the one file that defines them for every interface.
mod json_rpc {
    include!("core/src/json_rpc.rs");
}

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=core/src/json_rpc.rs");

    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let version = std::env::var("CARGO_PKG_VERSION").expect("CARGO_PKG_VERSION");
    let (major, minor, patch) = (
        std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap(),
        std::env::var("CARGO_PKG_VERSION_MINOR").unwrap(),
        std::env::var("CARGO_PKG_VERSION_PATCH").unwrap(),
    );
    let config = cbindgen::Config {
        after_includes: Some(format!(
            "\n#define PARAMCRYPT_VERSION \"{version}\"\n\
             #define PARAMCRYPT_VERSION_MAJOR {major}\n\
             #define PARAMCRYPT_VERSION_MINOR {minor}\n\
             #define PARAMCRYPT_VERSION_PATCH {patch}\n\n\
             /** The JSON-RPC error code of every encryption failure. */\n\
             #define PARAMCRYPT_ENCRYPTION_FAILED_CODE {code}\n\
             /** The JSON-RPC error message of every encryption failure. */\n\
             #define PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE {message:?}",
            code = json_rpc::ENCRYPTION_FAILED_CODE,
            message = json_rpc::ENCRYPTION_FAILED_MESSAGE,
        )),
        ..config
    };

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    cbindgen::Builder::new()
        .with_src(crate_dir.join("src/lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(out_dir.join("paramcrypt.h"));
}

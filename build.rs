//! Generates the C header from the C ABI in src/ with cbindgen, into the
//! build directory only: `$OUT_DIR/paramcrypt.h`.
//!
//! The committed copy, include/paramcrypt.h, is never written by a build.
//! `tests/header.rs` fails when it differs from the generated one, and
//! `make header` (the same test with `UPDATE=1`) brings it up to date.
use std::path::PathBuf;

/// The 40002 constants for the header. The core's `json_rpc.rs` defines them
/// for every interface; a build script cannot read the core's source from a
/// published package, so they are repeated here, and
/// `tests/header.rs` checks the header's values against the core's.
mod json_rpc {
    pub const ENCRYPTION_FAILED_CODE: u32 = 40002;
    pub const ENCRYPTION_FAILED_MESSAGE: &str = "Encryption Failed";
}

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");

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
             /** Marks functions whose status must be checked. */\n\
             #if defined(__GNUC__) || defined(__clang__)\n\
             #define PARAMCRYPT_NODISCARD __attribute__((warn_unused_result))\n\
             #else\n\
             #define PARAMCRYPT_NODISCARD\n\
             #endif\n\n\
             /** The JSON-RPC error code of every encryption failure. */\n\
             #define PARAMCRYPT_ENCRYPTION_FAILED_CODE {code}\n\
             /** The JSON-RPC error message of every encryption failure. */\n\
             #define PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE {message:?}",
            code = json_rpc::ENCRYPTION_FAILED_CODE,
            message = json_rpc::ENCRYPTION_FAILED_MESSAGE,
        )),
        ..config
    };

    // A versioned SONAME on ELF systems: programs linked against
    // libparamcrypt.so record libparamcrypt.so.<major>, the name `make install`
    // gives the library (with libparamcrypt.so as the link-time symlink), so
    // an incompatible 1.0 can be installed beside 0.x.
    if matches!(
        std::env::var("CARGO_CFG_TARGET_OS").as_deref(),
        Ok("linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos")
    ) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libparamcrypt.so.{major}");
    }

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    cbindgen::Builder::new()
        .with_src(crate_dir.join("src/lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(out_dir.join("paramcrypt.h"));
}

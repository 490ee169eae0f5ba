//! Generates include/paramcrypt.h from src/ffi with cbindgen.
//!
//! The header is committed. When the generated text differs from the
//! committed file, the file is rewritten and a warning printed; CI checks
//! that the committed header is current (`git diff --exit-code`).
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=src/ffi");
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
             /** The JSON-RPC error code of every encryption failure. */\n\
             #define PARAMCRYPT_ENCRYPTION_FAILED_CODE 40002\n\
             /** The JSON-RPC error message of every encryption failure. */\n\
             #define PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE \"Encryption Failed\""
        )),
        ..config
    };

    let mut generated = Vec::new();
    cbindgen::Builder::new()
        // Only the C face: the core has nothing to export.
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write(&mut generated);

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out_dir.join("paramcrypt.h"), &generated).expect("write OUT_DIR header");

    let committed = crate_dir.join("include/paramcrypt.h");
    if std::fs::read(&committed).ok().as_deref() != Some(&generated[..]) {
        std::fs::create_dir_all(committed.parent().unwrap()).expect("create include/");
        std::fs::write(&committed, &generated).expect("write include/paramcrypt.h");
        println!("cargo:warning=include/paramcrypt.h was regenerated; commit it");
    }
}

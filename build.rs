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
    let mut header = Vec::new();
    cbindgen::Builder::new()
        .with_src(crate_dir.join("src/lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write(&mut header);
    let header = String::from_utf8(header).expect("the header is UTF-8");
    let header = with_sections(&c_comments(&header));
    std::fs::write(out_dir.join("paramcrypt.h"), header).expect("write the header");
}

/// cbindgen ends its `#endif`s and `extern "C"` with `//` comments; the rest
/// of the header (preamble, documentation) uses `/* */`: one style.
fn c_comments(header: &str) -> String {
    header
        .split_inclusive('\n')
        .map(|line| match line.split_once(" // ") {
            Some((code, comment)) if line.starts_with(['#', '}']) => {
                format!("{code} /* {} */\n", comment.trim_end())
            }
            _ => line.to_string(),
        })
        .collect()
}

/// The header's function sections, in reading order: the first function of
/// each and its title. cbindgen emits the functions in the order of the
/// modules in src/lib.rs but has no section headings, so they are added here
/// as Doxygen member groups.
const SECTIONS: [(&str, &str); 5] = [
    ("paramcrypt_status_message", "Library information"),
    (
        "paramcrypt_keypair_generate",
        "Keys: key pairs (load, generate, store, unwrap) and public keys",
    ),
    (
        "paramcrypt_session_new",
        "Client side: sessions (wrap, encrypt, decrypt) and the client object",
    ),
    (
        "paramcrypt_server_config_init",
        "Server side: the server object and its sessions",
    ),
    ("paramcrypt_public_key_wrapped_len", "Sizes of outputs"),
];

/// Opens a `@name` group before the doc comment of each section's first
/// function and closes it before the next section (the last one before the
/// end of `extern "C"`).
fn with_sections(header: &str) -> String {
    // The declaration is the line, outside comments, that names the function
    // followed by its parameter list.
    let doc_start = |function: &str| {
        let call = format!("{function}(");
        let mut offset = 0;
        let at = header
            .split_inclusive('\n')
            .find_map(|line| {
                let here = offset;
                offset += line.len();
                let declaration = !line.starts_with([' ', '/', '#'])
                    && line.split(&call).next().is_some_and(|before| {
                        before.len() < line.len() && before.ends_with([' ', '*'])
                    });
                declaration.then_some(here)
            })
            .unwrap_or_else(|| panic!("{function} is declared in the header"));
        header[..at].rfind("/**").expect("a documented function")
    };
    let end = header
        .rfind("#ifdef __cplusplus")
        .expect("the end of extern \"C\"");
    let mut out = String::with_capacity(header.len() + 1024);
    let mut copied = 0;
    for (index, (function, title)) in SECTIONS.iter().enumerate() {
        let start = doc_start(function);
        assert!(start >= copied, "the sections are in the header's order");
        out.push_str(&header[copied..start]);
        if index > 0 {
            out.push_str("/** @} */\n\n");
        }
        out.push_str(&format!("/** @name {title} */\n/** @{{ */\n\n"));
        copied = start;
    }
    out.push_str(&header[copied..end]);
    out.push_str("/** @} */\n\n");
    out.push_str(&header[end..]);
    out
}

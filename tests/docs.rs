//! What the documents say that the code can check: the RSA backend names
//! (the README's Platforms table, the C function, the core's constant), and
//! that the names the library no longer returns are gone from the documents
//! a reader looks in.
use std::collections::BTreeSet;
use std::ffi::CStr;
use std::fs;
use std::path::Path;

// The C function, through the C library's exported symbol.
unsafe extern "C" {
    fn paramcrypt_rsa_backend() -> *const std::ffi::c_char;
}
// Links the C library into this test.
use paramcrypt as _;

/// Every name `paramcrypt_rsa_backend()` can return, one per backend.
const BACKENDS: [&str; 3] = ["aws-lc", "rsa-crate", "compact"];

fn read(path: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The backticked names in the README Platforms table's second column.
fn readme_platform_backends() -> BTreeSet<String> {
    let readme = read("README.md");
    let table = readme
        .split("## Platforms")
        .nth(1)
        .expect("README has a Platforms section");
    let mut names = BTreeSet::new();
    for row in table.lines().take_while(|l| !l.starts_with("## ")) {
        let Some(cell) = row.strip_prefix('|').and_then(|r| r.split('|').nth(1)) else {
            continue;
        };
        if cell.contains("RSA backend") || cell.trim_start().starts_with("---") {
            continue;
        }
        let first = cell.split('`').nth(1).expect("a backend name in backticks");
        names.insert(first.to_string());
    }
    names
}

#[test]
fn the_readme_names_exactly_the_backends_the_library_returns() {
    let documented = readme_platform_backends();
    let known: BTreeSet<String> = BACKENDS.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        documented, known,
        "README Platforms table vs the backend names"
    );

    let returned = unsafe { CStr::from_ptr(paramcrypt_rsa_backend()) }
        .to_str()
        .unwrap();
    assert_eq!(returned, paramcrypt_core::RSA_BACKEND);
    assert!(
        BACKENDS.contains(&returned),
        "{returned} is not a documented backend"
    );
}

#[test]
fn retired_backend_names_are_not_documented() {
    for path in [
        "README.md",
        "SECURITY.md",
        "c-examples/README.md",
        "c-examples/firmware/README.md",
        "bench/README.md",
        "python/README.md",
        "include/paramcrypt.h",
        "python/paramcrypt/__init__.py",
        "CONTRIBUTING.md",
        "fuzz/README.md",
        "core/src/lib.rs",
    ] {
        let text = read(path);
        // The old names, and "portable" as a backend (it meant both the `rsa`
        // crate and "not AWS-LC").
        for retired in [
            "\"portable\"",
            "\"AWS-LC\"",
            "portable backend",
            "portable arithmetic",
            "portable RSA",
        ] {
            assert!(
                !text.contains(retired),
                "{path} still documents the backend name {retired}"
            );
        }
    }
}

//! include/paramcrypt.h is generated from src/ by build.rs (into the build
//! directory) and committed. This test fails when the committed copy differs
//! from the generated one; `make header` (this test with `UPDATE=1`) writes
//! the generated header to include/.

use std::path::Path;

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/paramcrypt.h"));

#[test]
fn committed_header_is_the_generated_one() {
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/paramcrypt.h");
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    if committed == GENERATED {
        return;
    }
    if std::env::var_os("UPDATE").is_some_and(|v| v == "1") {
        std::fs::write(&committed_path, GENERATED).expect("write include/paramcrypt.h");
        eprintln!("updated {}", committed_path.display());
        return;
    }
    panic!(
        "include/paramcrypt.h differs from the header generated from src/: \
         run `make header` and commit it"
    );
}

/// build.rs repeats the 40002 constants (it cannot read the core's source
/// from a published package): the header must carry the core's values.
#[test]
fn the_headers_40002_constants_are_the_cores() {
    let header = include_str!("../include/paramcrypt.h");
    let code = format!(
        "#define PARAMCRYPT_ENCRYPTION_FAILED_CODE {}\n",
        paramcrypt_core::ENCRYPTION_FAILED_CODE
    );
    let message = format!(
        "#define PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE {:?}\n",
        paramcrypt_core::ENCRYPTION_FAILED_MESSAGE
    );
    assert!(header.contains(&code), "header lacks {code}");
    assert!(header.contains(&message), "header lacks {message}");
}

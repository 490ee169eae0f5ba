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

//! Every exported C function runs its whole body inside the panic guard, so
//! no panic can cross the C boundary (rustls-ffi shipped one without it once).
//! A source check, because a forgotten guard only shows when something panics.

use std::fs;
use std::path::Path;

#[test]
fn every_extern_c_function_body_is_one_guard_call() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut exported = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let source = fs::read_to_string(&path).unwrap();
        // Unit tests (which define C callbacks of their own) are not exports.
        let exported_part = source.split("#[cfg(test)]").next().unwrap();
        let mut rest = exported_part;
        while let Some(at) = rest.find("extern \"C\" fn ") {
            let after = &rest[at..];
            let name: String = after["extern \"C\" fn ".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let preceding = &rest[..at];
            assert!(
                preceding.trim_end().ends_with("pub unsafe")
                    || preceding.trim_end().ends_with("pub"),
                "{name}: exported functions are `pub`"
            );
            assert!(
                preceding
                    .rfind("#[unsafe(no_mangle)]")
                    .is_some_and(|i| !preceding[i..].contains("fn ")),
                "{name} in {path:?} lacks #[unsafe(no_mangle)]"
            );
            let body_start = after.find("{\n").expect("function body");
            let first_statement = after[body_start + 2..]
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty() && !line.starts_with("//"))
                .unwrap();
            assert!(
                first_statement.starts_with("guard(")
                    || first_statement.starts_with("guard_status("),
                "{name} in {path:?} does not start with the panic guard: {first_statement}"
            );
            exported += 1;
            rest = &after[body_start..];
        }
    }
    assert!(exported >= 45, "found only {exported} exported functions");
}

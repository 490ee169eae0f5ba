//! Compiles `src/private_op.c` (AWS-LC's allocator hooks and the private-key
//! operation that lends them stack memory) against the headers of the
//! AWS-LC that aws-lc-sys built, with its symbol prefix.
fn main() {
    println!("cargo:rerun-if-changed=src/private_op.c");
    // aws-lc-sys `links = "aws_lc_<version>"` and exports its include
    // directory as DEP_AWS_LC_<VERSION>_INCLUDE; the prefix of its symbols is
    // that links name.
    let (var, include) = std::env::vars()
        .find(|(k, _)| k.starts_with("DEP_AWS_LC_") && k.ends_with("_INCLUDE"))
        .expect("aws-lc-sys exports its include directory");
    let prefix = var
        .trim_start_matches("DEP_")
        .trim_end_matches("_INCLUDE")
        .to_ascii_lowercase();
    cc::Build::new()
        .file("src/private_op.c")
        .include(include)
        .define("BORINGSSL_PREFIX", prefix.as_str())
        .flag_if_supported("-std=c11")
        .flag_if_supported("-fvisibility=hidden")
        // The operation's frame holds up to 25 KiB (private_op.c): probe it
        // page by page, so that a too-small stack faults on its guard page.
        .flag_if_supported("-fstack-clash-protection")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("paramcrypt_aws_lc_private_op");
}

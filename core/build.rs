//! Emits `cfg(paramcrypt_aws_lc)` where the RSA backend `aws-lc` is built:
//! the `aws-lc` feature (with `rsa-crate`, which it implies) on x86-64 or
//! aarch64, Linux or macOS. The one place that says where AWS-LC runs; the
//! code (and the tests) use the cfg, and Cargo.toml's target table for the
//! `paramcrypt-aws-lc` dependency repeats the platform part, which Cargo
//! needs before any build script runs.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(paramcrypt_aws_lc)");
    let feature = |name: &str| std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if feature("AWS_LC")
        && feature("RSA_CRATE")
        && matches!(arch.as_str(), "x86_64" | "aarch64")
        && matches!(os.as_str(), "linux" | "macos")
    {
        println!("cargo::rustc-cfg=paramcrypt_aws_lc");
    }
}

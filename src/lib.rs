//! # paramcrypt: the C library
//!
//! The C ABI of paramcrypt (`libparamcrypt.a`, `libparamcrypt.so`,
//! `include/paramcrypt.h`): every `extern "C"` item, and nothing else. The
//! cryptography and the Rust API live in `paramcrypt-core`; this crate checks
//! pointers, converts, catches panics and maps errors to status codes. The
//! core forbids `unsafe` code; the project's `unsafe` code is here and in two
//! small crates below the core: `paramcrypt-aws-lc` (the calls into
//! AWS-LC, and a C file for its allocator hooks) and `paramcrypt-umaal` (Arm
//! assembly).
//!
//! # Safety
//!
//! The rules every function follows, stated once:
//!
//! - Inputs are `(const uint8_t *ptr, size_t len)` pairs. `ptr` may be NULL
//!   only when `len` is 0; otherwise it must point to `len` readable bytes.
//!   Text inputs need no terminating NUL.
//! - Outputs are `(uint8_t *out, size_t out_cap, size_t *out_len)`.
//!   `*out_len` is a data length only on `PARAMCRYPT_OK`: the number of bytes
//!   written (text is not NUL-terminated). If `out_cap` is too small, nothing
//!   is written to `out`, `*out_len` is set to the size needed, and the status
//!   is `PARAMCRYPT_ERR_BUFFER_TOO_SMALL`; `out` may be NULL when `out_cap` is
//!   0, which makes a size query. After any other status `*out_len` is left
//!   unchanged. A failed decryption leaves no plaintext in `out`. Output
//!   buffers must not overlap any input.
//! - Handles (`paramcrypt_keypair`, `paramcrypt_public_key`,
//!   `paramcrypt_session`, `paramcrypt_server`, `paramcrypt_server_session`)
//!   are created by the functions that take a
//!   `**out` pointer, owned by the caller, and released with the matching
//!   `*_free`, which accepts NULL. `*out` is written only on success.
//! - A `const` handle is never mutated: any number of threads may use one
//!   handle at the same time. A server (and its sessions) changes its own
//!   tables under an internal lock, so its functions take non-`const`
//!   handles but are thread-safe too. Only `*_free` needs exclusive access.
//! - Every pointer is checked for NULL; a NULL where one is not allowed is
//!   `PARAMCRYPT_ERR_NULL_ARGUMENT`. Enum values from C are checked, never
//!   transmuted. No panic crosses the boundary: it becomes `PARAMCRYPT_ERR_PANIC`.
//!
//! Features: `std` (default: the OS RNG, panics caught at the boundary),
//! `oaep` (default: the OAEP paddings), `client` (default: the client
//! object, `paramcrypt_client_*`), `aws-lc` (default: the RSA backend
//! `aws-lc` on x86-64 and aarch64 Linux and macOS), `rsa-crate` (the RSA
//! backend `rsa-crate`; without it and without `aws-lc` the core's `compact`
//! backend), `umaal` (the compact backend's Montgomery row in Arm assembly)
//! and `embedded` (firmware, without `std`: the allocator calls the C
//! library's `malloc`/`free` and a panic calls `abort()`).
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
// The C names (paramcrypt_status, paramcrypt_keypair, ...) are the API.
#![allow(non_camel_case_types)]

extern crate alloc;

#[cfg(all(feature = "std", feature = "embedded"))]
compile_error!(
    "the `embedded` feature is for firmware builds without `std`: use --no-default-features --features embedded"
);

#[cfg(all(feature = "embedded", not(feature = "std"), not(test)))]
mod embedded;

// The helpers, then the C functions in the header's reading order (cbindgen
// follows the order of these declarations; the blank lines keep rustfmt from
// sorting them): library information, keys, the client side, the server
// side, sizes.
mod boundary;
mod handles;
mod rng;
mod status;

mod library_info;

mod keypair;

mod public_key;

mod session;

#[cfg(feature = "client")]
mod client;

mod server;

mod sizes;

#[cfg(test)]
mod pointer_tests;

#[cfg(feature = "client")]
pub use client::{paramcrypt_client_config, paramcrypt_param, paramcrypt_transport_callback};
#[cfg(feature = "client")]
pub use handles::paramcrypt_client;
pub use handles::{
    paramcrypt_keypair, paramcrypt_public_key, paramcrypt_server, paramcrypt_server_session,
    paramcrypt_session,
};
pub use rng::paramcrypt_rng_callback;
pub use server::{
    paramcrypt_clock_callback, paramcrypt_event_callback, paramcrypt_failure_policy,
    paramcrypt_server_config, paramcrypt_server_event, paramcrypt_server_event_kind,
    paramcrypt_server_setting, paramcrypt_server_stats,
};
pub use status::{
    paramcrypt_accepted_modes, paramcrypt_key_sizes, paramcrypt_mode, paramcrypt_padding,
    paramcrypt_status,
};

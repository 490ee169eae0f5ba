//! The C ABI: every `extern "C"` item, and nothing else.
//!
//! # Safety
//!
//! The rules every function follows, stated once:
//!
//! - Inputs are `(const uint8_t *ptr, size_t len)` pairs. `ptr` may be NULL
//!   only when `len` is 0; otherwise it must point to `len` readable bytes.
//!   Text inputs need no terminating NUL.
//! - Outputs are `(uint8_t *out, size_t out_cap, size_t *out_len)`. On success
//!   `*out_len` is the number of bytes written (text is not NUL-terminated).
//!   If `out_cap` is too small, nothing is written to `out`, `*out_len` is set
//!   to the size needed, and the status is `PARAMCRYPT_ERR_BUFFER_TOO_SMALL`;
//!   `out` may be NULL when `out_cap` is 0, which makes a size query.
//!   Output buffers must not overlap any input.
//! - Handles (`paramcrypt_keypair`, `paramcrypt_public_key`,
//!   `paramcrypt_session`) are created by the functions that take a
//!   `**out` pointer, owned by the caller, and released with the matching
//!   `*_free`, which accepts NULL. `*out` is written only on success.
//! - A `const` handle is never mutated: any number of threads may use one
//!   handle at the same time. Only `*_free` needs exclusive access.
//! - Every pointer is checked for NULL; a NULL where one is not allowed is
//!   `PARAMCRYPT_ERR_NULL_ARGUMENT`. Enum values from C are checked, never
//!   transmuted. No panic crosses the boundary: it becomes `PARAMCRYPT_ERR_PANIC`.
#![allow(non_camel_case_types)]
#![allow(unsafe_code)]

mod boundary;
mod handles;
mod keys;
mod rng;
mod session;
mod status;

pub use handles::{paramcrypt_keypair, paramcrypt_public_key, paramcrypt_session};
pub use rng::paramcrypt_rng_callback;
pub use status::{paramcrypt_mode, paramcrypt_padding, paramcrypt_status};

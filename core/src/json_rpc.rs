// The JSON-RPC error of every encryption failure, defined once for every
// interface: the core re-exports these from `error`. The C library's build
// script repeats them for paramcrypt.h (a published package cannot read
// another's source); tests/header.rs checks that they agree.

/// The JSON-RPC error code a server answers for every encryption failure.
pub const ENCRYPTION_FAILED_CODE: u32 = 40002;

/// The JSON-RPC error message that goes with [`ENCRYPTION_FAILED_CODE`].
pub const ENCRYPTION_FAILED_MESSAGE: &str = "Encryption Failed";

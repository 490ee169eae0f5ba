// The JSON-RPC error of every encryption failure, defined once for every
// interface: the core re-exports these from `error`, and the C library's
// build script includes this file to write them into paramcrypt.h. Keep it
// free of `use` items and crate paths so that it compiles on its own.

/// The JSON-RPC error code a server answers for every encryption failure.
pub const ENCRYPTION_FAILED_CODE: u32 = 40002;

/// The JSON-RPC error message that goes with [`ENCRYPTION_FAILED_CODE`].
pub const ENCRYPTION_FAILED_MESSAGE: &str = "Encryption Failed";

//! The firmware static library: paramcrypt's `extern "C"` functions, its
//! allocator (the firmware's `malloc`/`free`) and its panic handler
//! (`abort()`), with nothing added.
#![no_std]

pub use paramcrypt;

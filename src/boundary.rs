//! Pointer checks, output copying and the panic boundary, in one place.

use core::ffi::c_char;

use paramcrypt_core::Error;

use crate::status::paramcrypt_status;

/// What an exported function returns if its body panicked.
#[cfg_attr(not(feature = "std"), allow(dead_code))] // nothing unwinds without std
pub(crate) trait PanicValue {
    fn panic_value() -> Self;
}

impl PanicValue for paramcrypt_status {
    fn panic_value() -> Self {
        paramcrypt_status::PARAMCRYPT_ERR_PANIC
    }
}

impl PanicValue for usize {
    fn panic_value() -> Self {
        0
    }
}

impl PanicValue for u64 {
    fn panic_value() -> Self {
        0
    }
}

impl PanicValue for () {
    fn panic_value() -> Self {}
}

impl PanicValue for *const c_char {
    fn panic_value() -> Self {
        c"internal error (panic)".as_ptr()
    }
}

/// Runs the whole body of an exported function. With `std`, a panic becomes
/// the function's panic value; without it (firmware builds use
/// `panic = "abort"`) there is nothing to unwind.
pub(crate) fn guard<T: PanicValue>(body: impl FnOnce() -> T) -> T {
    #[cfg(feature = "std")]
    {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
            .unwrap_or_else(|_| T::panic_value())
    }
    #[cfg(not(feature = "std"))]
    {
        body()
    }
}

/// Runs the whole body of an exported function that returns a status.
pub(crate) fn guard_status(
    body: impl FnOnce() -> Result<(), paramcrypt_status>,
) -> paramcrypt_status {
    guard(|| match body() {
        Ok(()) => paramcrypt_status::PARAMCRYPT_OK,
        Err(status) => status,
    })
}

/// A C input buffer as a slice.
///
/// # Safety
/// `ptr` must be NULL or point to `len` readable bytes that stay valid and
/// unmodified for `'a`.
pub(crate) unsafe fn input<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], paramcrypt_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT);
    }
    if len > isize::MAX as usize {
        return Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, length checked, validity guaranteed by the caller.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A C output buffer as a mutable slice, plus the `out_len` to report into.
///
/// # Safety
/// `ptr` must be NULL or point to `cap` writable bytes, and `out_len` must be
/// NULL or writable, both valid and unaliased for `'a`.
pub(crate) unsafe fn output<'a>(
    ptr: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Result<(&'a mut [u8], &'a mut usize), paramcrypt_status> {
    // `*out_len` inside the output would alias a `&mut usize` with the
    // `&mut [u8]` (and a length written over the output): refuse it before
    // any reference exists.
    if overlaps(out_len.cast::<u8>(), size_of::<usize>(), ptr, cap) {
        return Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: the caller guarantees `out_len` is NULL or valid.
    let out_len =
        unsafe { out_len.as_mut() }.ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)?;
    if cap == 0 {
        return Ok((&mut [], out_len));
    }
    if ptr.is_null() {
        return Err(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT);
    }
    if cap > isize::MAX as usize {
        return Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, length checked, validity guaranteed by the caller.
    Ok((
        unsafe { core::slice::from_raw_parts_mut(ptr, cap) },
        out_len,
    ))
}

/// The body of every function that turns one input buffer into one output
/// buffer with a handle (encryption, decryption): checks the pointers, runs
/// `op` and reports the length it wrote (see `report`).
///
/// # Safety
/// As for `borrow`, `input` and `output`.
pub(crate) unsafe fn with_buffers<H: Handle>(
    handle: *const H,
    data: *const u8,
    data_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    op: impl FnOnce(&H, &[u8], &mut [u8]) -> Result<usize, Error>,
) -> Result<(), paramcrypt_status> {
    // An output (or `*out_len`) overlapping the input would alias a `&[u8]`
    // with a `&mut`: refuse it before any slice exists.
    if overlaps(data, data_len, out, out_cap)
        || overlaps(data, data_len, out_len.cast::<u8>(), size_of::<usize>())
    {
        return Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: forwarded from the caller's contract.
    let (handle, data, (out, out_len)) = unsafe {
        (
            borrow(handle)?,
            input(data, data_len)?,
            output(out, out_cap, out_len)?,
        )
    };
    report(op(handle, data, out), out_len)
}

/// Whether two byte ranges given by C share a byte (empty ones never do).
fn overlaps(a: *const u8, a_len: usize, b: *const u8, b_len: usize) -> bool {
    let (a, b) = (a as usize, b as usize);
    a_len > 0 && b_len > 0 && a < b.saturating_add(b_len) && b < a.saturating_add(a_len)
}

/// Writes `len` into `*out_len` on success, or the needed size on
/// `Error::BufferTooSmall`, and maps the result to a status.
pub(crate) fn report(
    result: Result<usize, Error>,
    out_len: &mut usize,
) -> Result<(), paramcrypt_status> {
    match result {
        Ok(len) => {
            *out_len = len;
            Ok(())
        }
        Err(Error::BufferTooSmall { needed }) => {
            *out_len = needed;
            Err(paramcrypt_status::PARAMCRYPT_ERR_BUFFER_TOO_SMALL)
        }
        Err(e) => Err(e.into()),
    }
}

/// Copies `data` into a C output buffer (see `report` for the length rules).
pub(crate) fn copy_out(
    data: &[u8],
    out: &mut [u8],
    out_len: &mut usize,
) -> Result<(), paramcrypt_status> {
    let result = match out.get_mut(..data.len()) {
        Some(dst) => {
            dst.copy_from_slice(data);
            Ok(data.len())
        }
        None => Err(Error::BufferTooSmall { needed: data.len() }),
    };
    report(result, out_len)
}

/// The caller's `*out` slot for a new handle, checked before any work is done.
///
/// # Safety
/// `out` must be NULL or writable for `'a`.
pub(crate) unsafe fn handle_slot<'a, T>(
    out: *mut *mut T,
) -> Result<&'a mut *mut T, paramcrypt_status> {
    // SAFETY: the caller guarantees `out` is NULL or valid.
    unsafe { out.as_mut() }.ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)
}

/// A handle type: the tag that marks its live objects.
pub(crate) trait Handle {
    /// A value no other handle type uses, nor `POISON`.
    const TAG: u32;
}

/// What a freed handle's tag is overwritten with.
const POISON: u32 = 0xDEAD_F4EE;

/// What a handle pointer given to C points to: the tag first (at offset 0
/// for every handle type, so it can be read before the type is known), then
/// the handle. C sees only an opaque pointer.
#[repr(C)]
struct Tagged<T> {
    tag: u32,
    value: T,
}

/// Hands a new handle to C through its slot.
pub(crate) fn put<T: Handle>(slot: &mut *mut T, value: T) {
    let tagged = alloc::boxed::Box::new(Tagged { tag: T::TAG, value });
    *slot = alloc::boxed::Box::into_raw(tagged).cast::<T>();
}

/// The tagged object behind a handle pointer, when its tag is `T`'s.
///
/// # Safety
/// `ptr` must be NULL or point to readable memory of at least 4 bytes (any
/// handle from this library, live or, as a best effort, recently freed).
unsafe fn tagged<T: Handle>(ptr: *const T) -> Result<*mut Tagged<T>, paramcrypt_status> {
    // SAFETY: forwarded from this function's contract.
    unsafe { check_tag(ptr.cast::<u32>(), T::TAG)? };
    Ok(ptr.cast::<Tagged<T>>().cast_mut())
}

/// The tag check behind [`tagged`], one copy for every handle type
/// (firmware flash).
///
/// # Safety
/// As [`tagged`].
unsafe fn check_tag(ptr: *const u32, tag: u32) -> Result<(), paramcrypt_status> {
    if ptr.is_null() {
        return Err(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT);
    }
    // SAFETY: every handle starts with its u32 tag (`Tagged` is repr(C)).
    if unsafe { ptr.read() } == tag {
        Ok(())
    } else {
        Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_HANDLE)
    }
}

/// Borrows a handle. A handle of another type, or one already freed, is
/// `PARAMCRYPT_ERR_INVALID_HANDLE` (a best effort: freed memory may have
/// been reused).
///
/// # Safety
/// `ptr` must be NULL or a handle from this library.
pub(crate) unsafe fn borrow<'a, T: Handle>(ptr: *const T) -> Result<&'a T, paramcrypt_status> {
    // SAFETY: the caller guarantees `ptr` is NULL or one of our handles;
    // the tag says it is a live `T`.
    unsafe { Ok(&(*tagged(ptr)?).value) }
}

/// Releases a handle; NULL, a handle of another type and (as a best effort)
/// one already freed are ignored.
///
/// # Safety
/// `ptr` must be NULL or a handle from this library that is not used again.
pub(crate) unsafe fn release<T: Handle>(ptr: *mut T) {
    // SAFETY: the caller hands back ownership of a handle made by `put`.
    unsafe {
        if let Ok(tagged) = tagged(ptr) {
            (*tagged).tag = POISON;
            drop(alloc::boxed::Box::from_raw(tagged));
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_not_an_unwind() {
        let status = guard_status(|| panic!("boom"));
        assert_eq!(status, paramcrypt_status::PARAMCRYPT_ERR_PANIC);
        assert_eq!(guard(|| -> usize { panic!("boom") }), 0);
    }

    #[test]
    fn overlapping_ranges_are_found() {
        let buf = [0u8; 32];
        let p = buf.as_ptr();
        let at = |i: usize| p.wrapping_add(i);
        assert!(overlaps(at(0), 16, at(8), 16));
        assert!(overlaps(at(8), 16, at(0), 16));
        assert!(overlaps(at(0), 32, at(4), 1));
        assert!(
            !overlaps(at(0), 16, at(16), 16),
            "adjacent ranges do not overlap"
        );
        assert!(
            !overlaps(at(0), 0, at(0), 16),
            "an empty range overlaps nothing"
        );
        assert!(!overlaps(at(0), 16, at(0), 0));
    }

    #[test]
    fn copy_out_writes_only_when_it_fits() {
        let mut buf = [0xAAu8; 4];
        let mut len = 0;
        assert_eq!(
            copy_out(b"hello", &mut buf, &mut len),
            Err(paramcrypt_status::PARAMCRYPT_ERR_BUFFER_TOO_SMALL)
        );
        assert_eq!((len, buf), (5, [0xAA; 4]));
        let mut buf = [0u8; 8];
        assert_eq!(copy_out(b"hello", &mut buf, &mut len), Ok(()));
        assert_eq!((len, &buf[..5]), (5, &b"hello"[..]));
    }
}

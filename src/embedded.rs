//! Firmware glue, with the `embedded` feature (and without `std`): memory
//! comes from the firmware's C library and a panic ends in `abort()`.
//!
//! - The global allocator forwards to `malloc`/`free`, and to `memalign` for
//!   alignments above 8 bytes (newlib's `malloc` guarantee). A reallocation
//!   copies to a new block and wipes the old one before freeing it (C's
//!   `realloc` would leave its bytes behind). Firmware that manages memory
//!   differently provides these three symbols.
//! - A panic (only an internal bug or allocation failure can cause one: bad
//!   input returns a status) calls `abort()`, with `panic = "abort"` in the
//!   `firmware` profile. Firmware hooks it by defining `abort()`; it must not
//!   return.
use core::alloc::{GlobalAlloc, Layout};

use zeroize::Zeroize;

unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
    fn memalign(align: usize, size: usize) -> *mut u8;
    fn abort() -> !;
}

/// The alignment newlib's `malloc` guarantees on 32-bit Arm.
const MALLOC_ALIGN: usize = 8;

struct CAllocator;

// SAFETY: forwards to the C allocator, which returns suitably aligned,
// exclusive blocks or NULL; alignments above MALLOC_ALIGN go to memalign.
unsafe impl GlobalAlloc for CAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain C allocator calls.
        unsafe {
            if layout.align() <= MALLOC_ALIGN {
                malloc(layout.size())
            } else {
                memalign(layout.align(), layout.size())
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from malloc or memalign above.
        unsafe { free(ptr) }
    }

    /// Allocate, copy, wipe the old block, free it: C's realloc would leave
    /// the old bytes (perhaps key material) behind in the freed block.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a live block of `layout` from this allocator; the
        // new block is fresh, so the two do not overlap.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new_ptr = self.alloc(new_layout);
            if !new_ptr.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
                core::slice::from_raw_parts_mut(ptr, layout.size()).zeroize();
                self.dealloc(ptr, layout);
            }
            new_ptr
        }
    }
}

#[global_allocator]
static ALLOCATOR: CAllocator = CAllocator;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: abort() ends the program; the firmware may hook it.
    unsafe { abort() }
}

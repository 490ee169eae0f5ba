//! One row of the Montgomery product of paramcrypt's compact RSA (FIOS),
//! in Arm assembly: per limb two `UMAAL`s, two limbs per iteration with
//! paired loads and stores, 5.5 instructions a limb (the Rust loop compiles
//! to 10 on a Cortex-M4).
//!
//! The row adds `ai * b[j] + u * m[j]` to the running value `t[j]` and
//! stores it one limb down, for `j` in `1..n`:
//!
//! ```text
//! (s, c1) = t[j] + ai * b[j] + c1
//! (r, c2) = s + u * m[j] + c2
//! next[j - 1] = r
//! ```
//!
//! The work is the same for every value (no branch but the loop count, which
//! is public): constant time as the Rust loop is.
//!
//! Built for `target_arch = "arm"` only (Thumb-2 or A32, both assemble the
//! same text); elsewhere the crate is empty and the core's Rust loop runs.
#![no_std]
#![deny(missing_docs)]

#[cfg(target_arch = "arm")]
mod arm {
    /// The row's operands, read by the assembly with one `ldm` (the field
    /// order is the register order r1..r9) and its carries written back.
    #[repr(C)]
    struct Row {
        t: *const u32,
        next: *mut u32,
        b: *const u32,
        m: *const u32,
        count: usize,
        ai: u32,
        u: u32,
        c1: u32,
        c2: u32,
    }

    // AAPCS: r0 = &mut Row; r4-r11 saved and restored. Post-indexed loads
    // walk t, b and m; the store walks next. No `.thumb` or `.arm`: the text
    // assembles in the target's own instruction set (Thumb-2 on Cortex-M,
    // A32 on armv7 Linux), and the assembler marks a function symbol
    // defined in Thumb code as Thumb.
    core::arch::global_asm!(
        ".syntax unified",
        ".section .text.paramcrypt_umaal_row,\"ax\",%progbits",
        ".global paramcrypt_umaal_row",
        ".hidden paramcrypt_umaal_row",
        ".type paramcrypt_umaal_row,%function",
        ".p2align 2",
        "paramcrypt_umaal_row:",
        include_str!("row.s"),
        ".size paramcrypt_umaal_row, .-paramcrypt_umaal_row",
    );

    unsafe extern "C" {
        fn paramcrypt_umaal_row(row: *mut Row);
    }

    /// One FIOS row (see the crate documentation): reads `t` (limbs 1..n of
    /// the running value), `b` and `m` (limbs 1..n), writes `next` (limbs
    /// 0..n-1 of the next running value), and returns the carries
    /// `(c1, c2)`.
    ///
    /// # Panics
    ///
    /// When the four slices differ in length or are empty.
    #[inline]
    #[allow(clippy::too_many_arguments)] // the row's operands, as the Rust loop takes them
    pub fn row(
        t: &[u32],
        b: &[u32],
        m: &[u32],
        next: &mut [u32],
        ai: u32,
        u: u32,
        c1: u32,
        c2: u32,
    ) -> (u32, u32) {
        let count = t.len();
        assert!(count > 0 && b.len() == count && m.len() == count && next.len() == count);
        let mut row = Row {
            t: t.as_ptr(),
            next: next.as_mut_ptr(),
            b: b.as_ptr(),
            m: m.as_ptr(),
            count,
            ai,
            u,
            c1,
            c2,
        };
        // SAFETY: the assembly reads `count` limbs from each of t, b and m
        // and writes `count` limbs to next, all checked above to hold that
        // many; `next` is a unique borrow, so it overlaps none of the
        // others. It touches no other memory than `row` and restores every
        // callee-saved register (AAPCS).
        unsafe { paramcrypt_umaal_row(&mut row) };
        (row.c1, row.c2)
    }
}

#[cfg(target_arch = "arm")]
pub use arm::row;

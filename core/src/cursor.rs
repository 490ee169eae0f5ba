//! Writing into a buffer sized beforehand.

/// Writes bytes one after another into a buffer of exactly their total
/// size, worked out by the caller first: nothing grows or reallocates (a
/// reallocation leaves a copy of what was written behind, and growth code
/// costs firmware flash). Writing past the end is a bug, and panics.
pub(crate) struct Cursor<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        Cursor { out, at: 0 }
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }

    // Not `put(&[byte])`: a constant slice would pull the firmware link's
    // section of merged constants in.
    pub(crate) fn byte(&mut self, byte: u8) {
        self.out[self.at] = byte;
        self.at += 1;
    }

    /// Whether every byte has been written.
    pub(crate) fn is_full(&self) -> bool {
        self.at == self.out.len()
    }
}

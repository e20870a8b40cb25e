//! Short ASCII texts built in a fixed buffer on the stack.
//!
//! Raw signatures are written for every SYN and SYN+ACK. Built piece by
//! piece onto a `String`, each piece paid a capacity check and most a call
//! to `memcpy`; here each piece is a bounds-checked store into an array and
//! the finished text is copied out once.

/// At most `N` bytes of ASCII text. Pieces that would not fit are dropped,
/// so callers size `N` for their longest text (and say why it suffices).
pub struct FixedText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> FixedText<N> {
    pub const fn new() -> Self {
        FixedText {
            bytes: [0; N],
            len: 0,
        }
    }

    #[inline]
    pub fn push(&mut self, b: u8) {
        debug_assert!(b.is_ascii());
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        } else {
            debug_assert!(false, "FixedText<{N}> is full");
        }
    }

    #[inline]
    pub fn push_str(&mut self, s: &str) {
        let end = self.len + s.len();
        if let Some(dst) = self.bytes.get_mut(self.len..end) {
            dst.copy_from_slice(s.as_bytes());
            self.len = end;
        } else {
            debug_assert!(false, "FixedText<{N}> is full");
        }
    }

    /// Appends `v` in decimal: its digits are stored as one 8-byte word and
    /// the length advanced by their count, instead of a digit at a time.
    #[inline]
    pub fn push_u16(&mut self, v: u16) {
        let (digits, n) = u16_digits(v);
        if let Some(dst) = self.bytes.get_mut(self.len..self.len + 8) {
            dst.copy_from_slice(&digits);
            self.len += n;
        } else {
            for &d in &digits[..n] {
                self.push(d);
            }
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever pushed.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// The decimal digits of `v` at the start of an 8-byte word (so that they
/// can be stored in one piece), and how many there are.
#[inline]
pub fn u16_digits(v: u16) -> ([u8; 8], usize) {
    let n = match v {
        10000.. => 5,
        1000.. => 4,
        100.. => 3,
        10.. => 2,
        _ => 1,
    };
    let mut digits = [0u8; 8];
    let mut rest = v;
    for slot in digits[..n].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    (digits, n)
}

/// `piece` in the first bytes of a zeroed 16-byte array, when it is at most
/// 16 bytes long, copied without a call to `memcpy`: it is read as two
/// overlapping words (as `memcpy` itself does, but inline).
#[inline]
pub fn short_chunk(piece: &[u8]) -> Option<[u8; 16]> {
    let n = piece.len();
    let mut chunk = [0u8; 16];
    if n > 16 {
        return None;
    }
    if let (Some(head), Some(tail)) = (piece.first_chunk::<8>(), piece.last_chunk::<8>()) {
        chunk[..8].copy_from_slice(head);
        chunk[n - 8..n].copy_from_slice(tail);
    } else if let (Some(head), Some(tail)) = (piece.first_chunk::<4>(), piece.last_chunk::<4>()) {
        chunk[..4].copy_from_slice(head);
        chunk[n - 4..n].copy_from_slice(tail);
    } else {
        match *piece {
            [a] => chunk[0] = a,
            [a, b] => chunk[..2].copy_from_slice(&[a, b]),
            [a, b, c] => chunk[..3].copy_from_slice(&[a, b, c]),
            _ => {}
        }
    }
    Some(chunk)
}

/// Appends `piece` to `buf`; see [`short_chunk`] for why.
///
/// A console block is some twenty pieces, most of them a few bytes; each
/// `extend_from_slice` of a length unknown at compile time is a call into
/// libc's `memcpy`, and those calls were a tenth of all instructions. A
/// short piece is instead written as one 16-byte chunk and the buffer cut
/// back to its length.
#[inline]
pub fn append_short(buf: &mut Vec<u8>, piece: &[u8]) {
    match short_chunk(piece) {
        Some(chunk) => {
            let end = buf.len() + piece.len();
            buf.extend_from_slice(&chunk);
            buf.truncate(end);
        }
        None => buf.extend_from_slice(piece),
    }
}

/// `word` (at most 8 bytes of text) padded with spaces to 8 bytes.
#[inline]
pub fn pad8(word: &[u8]) -> Option<[u8; 8]> {
    let chunk = short_chunk(word).filter(|_| word.len() <= 8)?;
    let text = u64::from_le_bytes(chunk[..8].try_into().ok()?);
    let keep = match word.len() {
        8 => u64::MAX,
        n => (1u64 << (8 * n)) - 1,
    };
    let spaces = u64::from_le_bytes(*b"        ");
    Some(((text & keep) | (spaces & !keep)).to_le_bytes())
}

impl<const N: usize> Default for FixedText<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn numbers_print_as_display(a: u16, b: u16) {
            let mut t = FixedText::<32>::new();
            t.push_u16(a);
            t.push(b':');
            t.push_u16(b);
            proptest::prop_assert_eq!(t.as_str(), format!("{a}:{b}"));
        }
    }

    proptest::proptest! {
        #[test]
        fn append_short_appends_exactly(
            start in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            piece in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            let mut buf = start.clone();
            append_short(&mut buf, &piece);
            let mut want = start;
            want.extend_from_slice(&piece);
            proptest::prop_assert_eq!(buf, want);
        }
    }

    proptest::proptest! {
        #[test]
        fn pad8_pads_with_spaces(word in "[a-z_]{0,10}") {
            let want = (word.len() <= 8).then(|| format!("{word:<8}"));
            let got = pad8(word.as_bytes()).map(|p| String::from_utf8(p.to_vec()).unwrap());
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn the_last_bytes_fill_without_the_word_store() {
        let mut t = FixedText::<6>::new();
        t.push_str("ab");
        t.push_u16(1234);
        assert_eq!(t.as_str(), "ab1234");
    }
}

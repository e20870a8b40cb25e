//! A fixed-capacity ASCII text, so that summaries are `Copy` and never
//! allocate.

/// At most `N` bytes of text; what does not fit is dropped and remembered
/// as `cut` (rendered as a final `+` list item by the callers).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Text<const N: usize> {
    bytes: [u8; N],
    len: u16,
    cut: bool,
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Text {
            bytes: [0; N],
            len: 0,
            cut: false,
        }
    }
}

impl<const N: usize> std::fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}{}", self.as_str(), if self.cut { "+" } else { "" })
    }
}

impl<const N: usize> Text<N> {
    /// The text (always ASCII: every byte pushed is checked).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0 && !self.cut
    }

    /// True when something did not fit.
    pub fn was_cut(&self) -> bool {
        self.cut
    }

    pub fn clear(&mut self) {
        self.len = 0;
        self.cut = false;
    }

    fn room(&self) -> usize {
        N - usize::from(self.len)
    }

    /// Appends one list item (preceded by `,` unless first), mapping each
    /// byte through `map`; an item that does not fit whole is dropped and
    /// the text marked cut.
    pub fn push_item(&mut self, item: &[u8], map: impl Fn(u8) -> u8) {
        if self.cut {
            return;
        }
        let sep = usize::from(self.len > 0);
        if item.len() + sep > self.room() {
            self.cut = true;
            return;
        }
        if sep == 1 {
            self.push_mapped(b",", &|c| c);
        }
        self.push_mapped(item, &map);
    }

    /// Appends bytes up to the capacity (the rest is dropped, marked cut).
    pub fn push_clipped(&mut self, s: &[u8], map: impl Fn(u8) -> u8) {
        let take = s.len().min(self.room());
        self.push_mapped(&s[..take], &map);
        if take < s.len() {
            self.cut = true;
        }
    }

    /// Appends `s` (which fits), each byte mapped and then made printable.
    /// One pass over a slice rather than a bounds check per byte: banners
    /// and EHLO keywords are the bulk of what a dialogue records.
    fn push_mapped(&mut self, s: &[u8], map: &impl Fn(u8) -> u8) {
        let start = usize::from(self.len);
        let end = start + s.len();
        for (dst, &b) in self.bytes[start..end].iter_mut().zip(s) {
            // Callers map bytes to printable ASCII; anything else becomes '?'.
            let b = map(b);
            *dst = if (0x20..0x7f).contains(&b) { b } else { b'?' };
        }
        // `end` is at most N, and no text is longer than a u16 holds.
        self.len = end as u16;
    }

    /// Writes the list as a raw-signature field: `-` when empty, a final
    /// `,+` when cut.
    pub fn push_list_field(&self, out: &mut String) {
        if self.len == 0 {
            out.push_str(if self.cut { "+" } else { "-" });
            return;
        }
        out.push_str(self.as_str());
        if self.cut {
            out.push_str(",+");
        }
    }
}

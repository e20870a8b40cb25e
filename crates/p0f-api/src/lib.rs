//! The wire formats of p0f's query protocols, apart from any server or
//! client (the way hickory-dns keeps its protocol crate apart).
//!
//! * [`v3`]: p0f 3.x. A client sends a 21-byte query naming one address and
//!   reads a 232-byte reply describing that host.
//! * [`v2`]: p0f 2.0.8. A client names one connection (both addresses and
//!   ports) and reads a 144-byte reply. p0f 3 dropped it; p0f-rs serves it
//!   again because it answers per connection, which matters behind NAT.
//! * [`smtp`]: p0f-rs's extension on the v3 socket: a v3 reply plus the
//!   last SMTP dialect verdict of a host or connection.
//!
//! Both protocols carry integers in the byte order of the machine (client
//! and server share it: the transport is a Unix socket) and addresses in
//! network order. Decoding never panics; every malformed input is an error
//! value that says what is wrong.

pub mod smtp;
pub mod v2;
pub mod v3;

/// A fixed-size, NUL-padded text field. Text that fills the field is not
/// NUL-terminated, as in p0f.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedStr<const N: usize>(pub [u8; N]);

impl<const N: usize> FixedStr<N> {
    /// Copies at most `limit` bytes of `s` (and never more than N).
    pub fn new_limited(s: &str, limit: usize) -> Self {
        let mut b = [0u8; N];
        let n = s.len().min(limit).min(N);
        b[..n].copy_from_slice(&s.as_bytes()[..n]);
        FixedStr(b)
    }
    pub fn new(s: &str) -> Self {
        Self::new_limited(s, N)
    }
    /// The text up to the first NUL (invalid UTF-8 is replaced).
    pub fn as_string(&self) -> String {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        String::from_utf8_lossy(&self.0[..end]).into_owned()
    }
    pub fn is_empty(&self) -> bool {
        self.0[0] == 0
    }
}

impl<const N: usize> Default for FixedStr<N> {
    fn default() -> Self {
        FixedStr([0; N])
    }
}

impl<const N: usize> std::fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_string())
    }
}

/// Reads a native-order u32 at `at` (callers check the length).
fn ne32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn ne16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn fixed<const N: usize>(b: &[u8], at: usize) -> FixedStr<N> {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[at..at + N]);
    FixedStr(out)
}

//! A minimal JSON writer for the observation lines.
//!
//! serde_json serialises every map key and every string through its
//! escaping loop, byte by byte, and through its generic map machinery; for
//! the observation stream that made `--json` cost almost twice the text
//! output. Observation lines have one fixed shape (see
//! `docs/p0f-observation.schema.json`), their keys are constant
//! identifiers, and most values are text this program made (addresses,
//! time stamps, numbers), so they are written here directly. Values that
//! come from outside (signature labels, HTTP headers in raw signatures)
//! still go through [`JsonWriter::string`], which escapes per RFC 8259.

/// Appends JSON to a buffer. The caller keeps the structure balanced; the
/// writer only places the commas.
pub struct JsonWriter<'a> {
    buf: &'a mut Vec<u8>,
    /// True right after an opening brace or bracket: no comma before the
    /// next member.
    fresh: bool,
}

impl<'a> JsonWriter<'a> {
    pub fn new(buf: &'a mut Vec<u8>) -> JsonWriter<'a> {
        JsonWriter { buf, fresh: true }
    }

    fn comma(&mut self) {
        if !self.fresh {
            self.buf.push(b',');
        }
        self.fresh = false;
    }

    pub fn begin_object(&mut self) {
        self.buf.push(b'{');
        self.fresh = true;
    }

    pub fn end_object(&mut self) {
        self.buf.push(b'}');
        self.fresh = false;
    }

    pub fn begin_array(&mut self) {
        self.buf.push(b'[');
        self.fresh = true;
    }

    pub fn end_array(&mut self) {
        self.buf.push(b']');
        self.fresh = false;
    }

    /// `"key":` for a member of an object. Keys are this program's own
    /// constant identifiers, which need no escaping.
    pub fn key(&mut self, key: &'static str) {
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        self.comma();
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
        // The value follows the colon directly.
        self.fresh = true;
    }

    /// A string this program made from characters that never need
    /// escaping (digits, dots, colons, letters, `-`, `+`).
    pub fn plain_string(&mut self, s: &str) {
        debug_assert!(!needs_escape(s.as_bytes()));
        self.comma();
        self.buf.push(b'"');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(b'"');
    }

    /// Any string, escaped as RFC 8259 requires.
    pub fn string(&mut self, s: &str) {
        self.comma();
        self.buf.push(b'"');
        if needs_escape(s.as_bytes()) {
            escape_into(self.buf, s);
        } else {
            self.buf.extend_from_slice(s.as_bytes());
        }
        self.buf.push(b'"');
    }

    pub fn opt_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.null(),
        }
    }

    pub fn u32(&mut self, v: u32) {
        self.comma();
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    pub fn opt_u32(&mut self, v: Option<u32>) {
        match v {
            Some(v) => self.u32(v),
            None => self.null(),
        }
    }

    /// A float as serde_json writes it (shortest round-trip form), or null
    /// when it is not finite. Rare (uptime frequencies), so serde_json
    /// itself formats it.
    pub fn opt_f64(&mut self, v: Option<f64>) {
        match v.filter(|v| v.is_finite()) {
            Some(v) => {
                self.comma();
                // Writing a finite f64 into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *self.buf, &v);
            }
            None => self.null(),
        }
    }

    pub fn bool(&mut self, v: bool) {
        self.comma();
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
    }

    pub fn null(&mut self) {
        self.comma();
        self.buf.extend_from_slice(b"null");
    }
}

/// Whether `s` holds a byte that a JSON string must escape: a control
/// character, `"` or `\`. Eight bytes at a time (SWAR): a byte below 0x20
/// borrows in `x - 0x20…`, and `"` and `\` become zero bytes after an XOR.
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut words = s.chunks_exact(8);
    for w in &mut words {
        let x = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
        if below_space
            || has_zero(x ^ (ONES * u64::from(b'"')))
            || has_zero(x ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

fn escape_into(buf: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in s.as_bytes() {
        match b {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            0x08 => buf.extend_from_slice(b"\\b"),
            0x0c => buf.extend_from_slice(b"\\f"),
            0..=0x1f => buf.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]),
            _ => buf.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The SWAR test agrees with the byte-by-byte rule.
        #[test]
        fn needs_escape_is_exact(s in proptest::collection::vec(any::<u8>(), 0..40)) {
            let plain = s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(needs_escape(&s), plain);
        }

        /// Any string written reads back as itself.
        #[test]
        fn strings_round_trip(s in any::<String>()) {
            let mut buf = Vec::new();
            JsonWriter::new(&mut buf).string(&s);
            let back: String = serde_json::from_slice(&buf).unwrap();
            prop_assert_eq!(back, s);
        }
    }

    #[test]
    fn commas_go_between_members_only() {
        let mut buf = Vec::new();
        let mut w = JsonWriter::new(&mut buf);
        w.begin_object();
        w.key("a");
        w.u32(1);
        w.key("b");
        w.begin_array();
        w.string("x");
        w.null();
        w.end_array();
        w.key("c");
        w.begin_object();
        w.end_object();
        w.key("d");
        w.opt_f64(Some(1000.03));
        w.key("e");
        w.opt_f64(Some(f64::NAN));
        w.end_object();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            r#"{"a":1,"b":["x",null],"c":{},"d":1000.03,"e":null}"#
        );
    }
}

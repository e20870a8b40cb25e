//! Reading `p0f.fp` text into a [`Database`].
//!
//! The accepted language is exactly p0f 3.09b's, including its oddities
//! (numbers are even read with C's `atol` narrowed to 32 bits), so a database
//! loads here if and only if it loads in p0f. Each line is scanned with a cursor that reads NUL past the
//! end, which is how the C parser sees its NUL-terminated lines; this keeps
//! the many "what follows this token" checks identical without ever indexing
//! out of bounds.

use std::path::Path;

use crate::error::DbError;
use crate::tcp_match::{covering_line, TcpIndex};
use crate::types::*;

/// Extra characters (besides ASCII letters and digits) allowed in OS and
/// application names.
const NAME_CHARS: &[u8] = b" ./-_!?()";

/// Most headers an HTTP signature may list (in either list).
const HTTP_MAX_HDRS: usize = 32;

/// Limits that keep a hostile or mistaken database from taking unbounded
/// time (the duplicate check compares each signature with the earlier ones
/// of its option layout) or memory. p0f's own file is 36 KB with 322
/// signatures.
const MAX_FILE_BYTES: u64 = 8 << 20;
const MAX_SIGNATURES: usize = 20_000;

/// Byte at `i`, or 0 past the end (the C code's terminating NUL).
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || (c != 0 && NAME_CHARS.contains(&c))
}

fn is_header_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

fn starts(s: &[u8], i: usize, lit: &[u8]) -> bool {
    s.get(i..).is_some_and(|rest| rest.starts_with(lit))
}

/// End of the run of ASCII digits starting at `i`.
fn digits_end(s: &[u8], mut i: usize) -> usize {
    while at(s, i).is_ascii_digit() {
        i += 1;
    }
    i
}

/// C's `atol` on glibc/LP64 narrowed to the `s32` p0f stores it in: optional
/// leading white space and sign, then digits, saturating on overflow.
fn atol(s: &[u8], mut i: usize) -> i64 {
    while matches!(at(s, i), b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = match at(s, i) {
        b'-' => {
            i += 1;
            true
        }
        b'+' => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    while at(s, i).is_ascii_digit() {
        let d = i64::from(at(s, i) - b'0');
        v = if negative {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
        i += 1;
    }
    i64::from(v as i32)
}

/// Text for messages: lossy UTF-8 with control characters escaped.
/// After a list item: true at the closing `:`, false after a `,` (which is
/// consumed), an error on anything else.
fn list_ends(val: &[u8], i: &mut usize, list: &str, item: &str) -> Result<bool, String> {
    match at(val, *i) {
        b':' => Ok(true),
        b',' => {
            *i += 1;
            Ok(false)
        }
        0 => Err(format!("the signature ends inside the {list}")),
        _ => Err(format!(
            "malformed {list}: unexpected '{}' after {item}",
            token(val, *i)
        )),
    }
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).escape_debug().to_string()
}

/// The field starting at `i`, up to the next `,` or `:`, for messages.
fn token(s: &[u8], i: usize) -> String {
    let rest = s.get(i..).unwrap_or(&[]);
    let end = rest
        .iter()
        .position(|&c| c == b',' || c == b':')
        .unwrap_or(rest.len());
    show(&rest[..end])
}

/// A number for messages: its digits as written (so that values beyond 32
/// bits are not shown wrapped), or the parsed value when there are no digits.
/// A `*` or a number in 0..=max, then `:`; `i` moves past the colon.
fn number_or_star(val: &[u8], i: &mut usize, what: &str, max: i64) -> Result<Option<i64>, String> {
    if at(val, *i) == b'*' && at(val, *i + 1) == b':' {
        *i += 2;
        return Ok(None);
    }
    let n = digits_end(val, *i);
    if at(val, n) != b':' {
        return Err(format!(
            "malformed {what} '{}' (expected a number or *)",
            token(val, *i)
        ));
    }
    let v = atol(val, *i);
    if !(0..=max).contains(&v) {
        return Err(format!("{what} {} is outside 0..{max}", num(val, *i, n, v)));
    }
    *i = n + 1;
    Ok(Some(v))
}

fn num(s: &[u8], start: usize, end: usize, parsed: i64) -> String {
    match s.get(start..end) {
        Some(digits) if !digits.is_empty() => show(digits),
        _ => parsed.to_string(),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What the parser expects next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Section,
    Label,
    Sys,
    Sig,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Module {
    Mtu,
    Tcp,
    Http,
    /// `[smtp:client]` (request) / `[smtp:server]`: p0f-rs only.
    Smtp,
}

struct Parser<'a> {
    source: &'a str,
    line_no: u32,
    line: &'a [u8],
    state: State,
    module: Module,
    /// true for `request`, false for `response`.
    request: bool,
    db: Database,
    index: TcpIndex,
    /// The link name of the current `[mtu]` label.
    link: String,
    /// Index of the current non-mtu label.
    label: u32,
    /// The current `[smtp:*]` label.
    smtp_label: Option<crate::smtp::SmtpLabel>,
    sigs: usize,
}

type Res<T> = Result<T, String>;

impl<'a> Parser<'a> {
    fn fail(&self, message: String) -> DbError {
        let mut message = message;
        if self.line.contains(&b'\r') {
            message.push_str(
                " (the line contains a carriage return: the file must use Unix \
                 line endings, not CRLF)",
            );
        }
        DbError::at(self.source, self.line_no, message)
    }

    fn run(mut self, data: &'a [u8]) -> Result<Database, DbError> {
        let data = match data.iter().position(|&c| c == 0) {
            Some(end) => &data[..end],
            None => data,
        };
        for (n, raw) in data.split(|&c| c == b'\n').enumerate() {
            self.line_no = u32::try_from(n + 1).unwrap_or(u32::MAX);
            let start = raw.iter().position(|&c| !is_blank(c)).unwrap_or(raw.len());
            let line = &raw[start..];
            if line.is_empty() || line[0] == b';' {
                continue;
            }
            self.line = line;
            self.parse_line(line).map_err(|m| self.fail(m))?;
        }
        if self.sigs == 0 {
            return Err(DbError::whole(self.source, "no signatures found"));
        }
        let mut db = self.db;
        db.tcp_index = self.index;
        Ok(db)
    }

    fn parse_line(&mut self, line: &[u8]) -> Res<()> {
        if line[0] == b'[' {
            return self.section(&line[1..]);
        }
        let mut i = 0;
        while at(line, i).is_ascii_alphabetic() || at(line, i) == b'_' {
            i += 1;
        }
        let key = &line[..i];
        while is_blank(at(line, i)) {
            i += 1;
        }
        if key.is_empty() || at(line, i) != b'=' {
            return Err(format!(
                "expected 'key = value' or a [section] header, found '{}'",
                show(line)
            ));
        }
        i += 1;
        while is_blank(at(line, i)) {
            i += 1;
        }
        let val = &line[i..];
        match key {
            b"classes" => {
                if self.state != State::Section {
                    return Err("'classes' must come before the first section header".into());
                }
                self.classes(val)
            }
            b"ua_os" => {
                if self.state != State::Label || self.module != Module::Http || !self.request {
                    return Err(
                        "'ua_os' is only allowed directly after the [http:request] header".into(),
                    );
                }
                self.ua_os(val)
            }
            b"label" => {
                match self.state {
                    State::Section => return Err("'label' comes before any section header".into()),
                    State::Sys => {
                        return Err("expected a 'sys' line after the application label, found \
                                    another 'label'"
                            .into())
                    }
                    _ => {}
                }
                self.label(val)
            }
            b"sys" => {
                if self.state != State::Sys {
                    return Err("'sys' is only allowed right after a label of class '!'".into());
                }
                self.sys(val)?;
                self.state = State::Sig;
                Ok(())
            }
            b"sig" => {
                match self.state {
                    State::Sig => {}
                    State::Section => return Err("'sig' comes before any section header".into()),
                    State::Label => return Err("'sig' without a 'label' line before it".into()),
                    State::Sys => {
                        return Err("expected a 'sys' line after the application label, found \
                                    'sig'"
                            .into())
                    }
                }
                if self.sigs >= MAX_SIGNATURES {
                    return Err(format!(
                        "more than {MAX_SIGNATURES} signatures; this does not look like a p0f \
                         database (p0f's own has 322)"
                    ));
                }
                match self.module {
                    Module::Mtu => self.mtu_sig(val)?,
                    Module::Tcp => self.tcp_sig(val)?,
                    Module::Http => self.http_sig(val)?,
                    Module::Smtp => self.smtp_sig(val)?,
                }
                self.sigs += 1;
                Ok(())
            }
            _ => Err(format!(
                "unknown field '{}' (expected classes, label, sys, sig or ua_os)",
                show(key)
            )),
        }
    }

    fn section(&mut self, rest: &[u8]) -> Res<()> {
        if rest == b"mtu]" {
            self.module = Module::Mtu;
            self.state = State::Label;
            return Ok(());
        }
        let Some(colon) = rest.iter().position(|&c| c == b':') else {
            return Err(format!(
                "malformed section header '[{}' (expected [mtu], [tcp:request], \
                 [tcp:response], [http:request], [http:response], [smtp:client] or \
                 [smtp:server])",
                show(rest)
            ));
        };
        self.module = match &rest[..colon] {
            b"tcp" => Module::Tcp,
            b"http" => Module::Http,
            b"smtp" => return self.smtp_section(&rest[colon + 1..]),
            other => {
                return Err(format!(
                    "unknown module '{}' in section header (expected mtu, tcp, http or smtp)",
                    show(other)
                ))
            }
        };
        self.request = match &rest[colon + 1..] {
            b"request]" => true,
            b"response]" => false,
            other => {
                return Err(format!(
                    "unknown direction '{}' in section header (expected 'request]' or \
                     'response]')",
                    show(other)
                ))
            }
        };
        self.state = State::Label;
        Ok(())
    }

    fn classes(&mut self, val: &[u8]) -> Res<()> {
        let mut i = 0;
        while at(val, i) != 0 {
            while is_blank(at(val, i)) || at(val, i) == b',' {
                i += 1;
            }
            let start = i;
            while at(val, i).is_ascii_alphanumeric() {
                i += 1;
            }
            if i == start || (at(val, i) != 0 && at(val, i) != b',') {
                return Err(format!(
                    "malformed class list '{}': classes are letters and digits separated by \
                     commas",
                    show(val)
                ));
            }
            self.db.classes.push(text(&val[start..i]));
        }
        Ok(())
    }

    fn find_class(&self, name: &[u8]) -> Option<u32> {
        self.db
            .classes
            .iter()
            .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
            .map(|p| p as u32)
    }

    /// Interned name id, case-insensitively; the first spelling is kept.
    fn intern(&mut self, name: &[u8]) -> u32 {
        if let Some(p) = self
            .db
            .names
            .iter()
            .position(|n| n.as_bytes().eq_ignore_ascii_case(name))
        {
            return p as u32;
        }
        self.db.names.push(text(name));
        (self.db.names.len() - 1) as u32
    }

    fn smtp_section(&mut self, direction: &[u8]) -> Res<()> {
        self.request = match direction {
            b"client]" => true,
            b"server]" => false,
            other => {
                return Err(format!(
                    "unknown direction '{}' in an smtp section header (expected 'client]' or \
                     'server]')",
                    show(other)
                ))
            }
        };
        self.module = Module::Smtp;
        self.state = State::Label;
        self.smtp_label = None;
        Ok(())
    }

    fn smtp_sig(&mut self, val: &[u8]) -> Res<()> {
        let Some(label) = self.smtp_label.clone() else {
            return Err("'sig' without a 'label' line before it".into());
        };
        let line = self.line_no;
        if self.request {
            let fields = crate::smtp::parse_client_sig(val)?;
            self.db.smtp_client.push(crate::smtp::SmtpClientRecord {
                fields,
                label,
                line,
            });
        } else {
            let (lines, keywords, banner) = crate::smtp::parse_server_sig(val)?;
            self.db.smtp_server.push(crate::smtp::SmtpServerRecord {
                lines,
                keywords,
                banner,
                label,
                line,
            });
        }
        Ok(())
    }

    fn label(&mut self, val: &[u8]) -> Res<()> {
        if self.module == Module::Smtp {
            self.smtp_label = Some(crate::smtp::parse_label(val)?);
            self.state = State::Sig;
            return Ok(());
        }
        if self.module == Module::Mtu {
            if val.is_empty() {
                return Err("empty link name in an [mtu] label".into());
            }
            self.link = text(val);
            self.state = State::Sig;
            return Ok(());
        }
        let generic = match at(val, 0) {
            b'g' => true,
            b's' => false,
            _ => {
                return Err(format!(
                    "malformed label '{}': it must start with 's:' (specific) or 'g:' (generic)",
                    show(val)
                ))
            }
        };
        if at(val, 1) != b':' {
            return Err(format!(
                "malformed label '{}': it must start with 's:' (specific) or 'g:' (generic)",
                show(val)
            ));
        }
        let cstart = 2;
        let mut i = cstart;
        while at(val, i).is_ascii_alphanumeric() || at(val, i) == b'!' {
            i += 1;
        }
        if i == cstart || at(val, i) != b':' {
            return Err(format!(
                "malformed class in label '{}' (expected a declared class or '!', then ':')",
                show(val)
            ));
        }
        let class = if at(val, cstart) == b'!' && at(val, cstart + 1) == b':' {
            None
        } else {
            let name = &val[cstart..i];
            match self.find_class(name) {
                Some(c) => Some(c),
                None => {
                    return Err(format!(
                        "unknown class '{}' in label (declared classes: {})",
                        show(name),
                        self.db.classes.join(",")
                    ))
                }
            }
        };
        i += 1;
        let nstart = i;
        while is_name_char(at(val, i)) {
            i += 1;
        }
        if i == nstart || at(val, i) != b':' {
            return Err(format!(
                "malformed name in label '{}' (names use letters, digits and \" ./-_!?()\", \
                 followed by ':')",
                show(val)
            ));
        }
        let name = self.intern(&val[nstart..i]);
        let flavor = if i + 1 < val.len() {
            Some(text(&val[i + 1..]))
        } else {
            None
        };
        let index = self.db.labels.len() as u32;
        // p0f numbers labels from 1; the number is compared with name
        // indexes by one of its bugs (reproduced under --bug-compat), so it
        // must be p0f's own.
        let label_id = index + 1;
        self.db.labels.push(Label {
            generic,
            class,
            name,
            flavor,
            label_id,
            sys: Vec::new(),
        });
        self.label = index;
        self.state = if class.is_none() {
            State::Sys
        } else {
            State::Sig
        };
        Ok(())
    }

    fn sys(&mut self, val: &[u8]) -> Res<()> {
        let mut entries = Vec::new();
        let mut i = 0;
        while at(val, i) != 0 {
            while is_blank(at(val, i)) || at(val, i) == b',' {
                i += 1;
            }
            let is_class = at(val, i) == b'@';
            if is_class {
                i += 1;
            }
            let start = i;
            while is_name_char(at(val, i)) {
                i += 1;
            }
            if i == start || (at(val, i) != 0 && at(val, i) != b',') {
                return Err(format!(
                    "malformed sys entry in '{}' (expected OS names or @class, separated by \
                     commas)",
                    show(val)
                ));
            }
            let name = &val[start..i];
            if is_class {
                match self.find_class(name) {
                    Some(c) => entries.push(SysEntry::Class(c)),
                    None => return Err(format!("unknown class '@{}' in sys list", show(name))),
                }
            } else {
                let id = self.intern(name);
                entries.push(SysEntry::Name(id));
            }
        }
        if let Some(label) = self.db.labels.get_mut(self.label as usize) {
            label.sys = entries;
        }
        Ok(())
    }

    fn ua_os(&mut self, val: &[u8]) -> Res<()> {
        let mut i = 0;
        while at(val, i) != 0 {
            let start = i;
            while is_name_char(at(val, i)) {
                i += 1;
            }
            if i == start {
                return Err(format!(
                    "malformed OS name in ua_os at '{}'",
                    show(&val[start..])
                ));
            }
            let name = self.intern(&val[start..i]);
            let mut needle = None;
            if at(val, i) == b'=' {
                if at(val, i + 1) != b'[' {
                    return Err("expected '[' after '=' in ua_os".into());
                }
                i += 2;
                let vstart = i;
                while at(val, i) != 0 && at(val, i) != b']' {
                    i += 1;
                }
                if i == vstart || at(val, i) == 0 {
                    return Err(
                        "malformed ua_os alias: expected a non-empty '[text]' after '='".into(),
                    );
                }
                needle = Some(text(&val[vstart..i]));
                i += 1;
            }
            let needle = needle.unwrap_or_else(|| self.db.names[name as usize].clone());
            self.db.ua_os.push(UaOs { name, needle });
            if at(val, i) == b',' {
                i += 1;
            }
        }
        Ok(())
    }

    fn mtu_sig(&mut self, val: &[u8]) -> Res<()> {
        let end = digits_end(val, 0);
        if end == 0 || end != val.len() {
            return Err(format!(
                "malformed MTU value '{}' (expected a decimal number)",
                show(val)
            ));
        }
        let mtu = atol(val, 0);
        if !(1..=65535).contains(&mtu) {
            return Err(format!("MTU {} is outside 1..65535", show(val)));
        }
        self.db.mtu.push(MtuRecord {
            mtu: mtu as u16,
            link: self.link.clone(),
            line: self.line_no,
        });
        Ok(())
    }

    fn tcp_sig(&mut self, val: &[u8]) -> Res<()> {
        let sig = parse_tcp_sig(val)?;
        let response = !self.request;
        if let Some(line) = covering_line(&self.db, &self.index, response, &sig) {
            return Err(format!(
                "this signature is already covered by the one in line {line}, so it could \
                 never match"
            ));
        }
        let record = TcpRecord {
            sig,
            label: self.label,
            line: self.line_no,
        };
        let list = if response {
            &mut self.db.tcp_response
        } else {
            &mut self.db.tcp_request
        };
        list.push(record);
        let idx = (list.len() - 1) as u32;
        self.index.add(response, sig.layout, idx);
        Ok(())
    }

    fn http_sig(&mut self, val: &[u8]) -> Res<()> {
        let sig = parse_http_sig(val)?;
        let list = if self.request {
            &self.db.http_request
        } else {
            &self.db.http_response
        };
        if let Some(line) = http_covering_line(list, &self.db.labels, &sig) {
            return Err(format!(
                "this signature is already covered by the one in line {line}, so it could \
                 never match"
            ));
        }
        let record = HttpRecord {
            sig,
            label: self.label,
            line: self.line_no,
        };
        if self.request {
            self.db.http_request.push(record);
        } else {
            self.db.http_response.push(record);
        }
        Ok(())
    }
}

fn parse_tcp_sig(val: &[u8]) -> Res<TcpSig> {
    let ver = match at(val, 0) {
        b'4' => IpVersion::V4,
        b'6' => IpVersion::V6,
        b'*' => IpVersion::Any,
        _ => {
            return Err(format!(
                "IP version must be 4, 6 or *, found '{}'",
                token(val, 0)
            ))
        }
    };
    if at(val, 1) != b':' {
        return Err(format!(
            "malformed signature: expected ':' after the IP version, found '{}'",
            show(val)
        ));
    }
    let mut i = 2;

    // Initial TTL: N, N+D or N- (random TTL).
    let mut n = digits_end(val, i);
    let delim = at(val, n);
    if delim != b':' && delim != b'+' && delim != b'-' {
        return Err(format!(
            "malformed initial TTL '{}' (expected N, N+D or N-)",
            token(val, i)
        ));
    }
    let mut ttl = atol(val, i);
    if !(1..=255).contains(&ttl) {
        if n == i && ttl == 0 {
            return Err("the initial TTL is missing".into());
        }
        return Err(format!(
            "initial TTL {} is outside 1..255",
            num(val, i, n, ttl)
        ));
    }
    i = n + 1;
    let mut bad_ttl = false;
    if delim == b'-' && at(val, n + 1) == b':' {
        bad_ttl = true;
        // p0f steps over one character more than the ':', i.e. the first
        // character of the option length; stock files always have "0" there.
        i += 2;
    } else if delim == b'+' {
        n = digits_end(val, n + 1);
        if at(val, n) != b':' {
            return Err(format!(
                "malformed TTL distance '{}' after '+'",
                token(val, i)
            ));
        }
        let add = atol(val, i);
        if add < 0 || ttl + add > 255 {
            return Err(format!(
                "initial TTL {ttl}+{} exceeds 255",
                num(val, i, n, add)
            ));
        }
        ttl += add;
        i = n + 1;
    }

    // IP option length.
    let n = digits_end(val, i);
    if at(val, n) != b':' {
        return Err(format!("malformed IP option length '{}'", token(val, i)));
    }
    let olen = atol(val, i);
    if !(0..=255).contains(&olen) {
        return Err(format!(
            "IP option length {} is outside 0..255",
            num(val, i, n, olen)
        ));
    }
    i = n + 1;

    // MSS.
    let mss = number_or_star(val, &mut i, "MSS", 65535)?.map(|v| v as u16);

    // Window size, then ','.
    let win = if at(val, i) == b'*' && at(val, i + 1) == b',' {
        i += 2;
        WindowSpec::Any
    } else if at(val, i) == b'%' {
        i += 1;
        let n = digits_end(val, i);
        if at(val, n) != b',' {
            return Err(format!("malformed window modulus '%{}'", token(val, i)));
        }
        let v = atol(val, i);
        if !(2..=65535).contains(&v) {
            return Err(format!(
                "window modulus %{} is outside 2..65535",
                num(val, i, n, v)
            ));
        }
        i = n + 1;
        WindowSpec::Modulo(v as u16)
    } else if starts(val, i, b"mss*") || starts(val, i, b"mtu*") {
        let mtu = at(val, i + 1) == b't';
        i += 4;
        let n = digits_end(val, i);
        if at(val, n) != b',' {
            return Err(format!(
                "malformed window multiplier '{}*{}'",
                if mtu { "mtu" } else { "mss" },
                token(val, i)
            ));
        }
        let v = atol(val, i);
        if !(1..=1000).contains(&v) {
            return Err(format!(
                "window multiplier {} is outside 1..1000",
                num(val, i, n, v)
            ));
        }
        i = n + 1;
        if mtu {
            WindowSpec::MtuMultiple(v as u16)
        } else {
            WindowSpec::MssMultiple(v as u16)
        }
    } else {
        let n = digits_end(val, i);
        if at(val, n) != b',' {
            return Err(format!("malformed window size '{}'", token(val, i)));
        }
        let v = atol(val, i);
        if !(0..=65535).contains(&v) {
            return Err(format!(
                "window size {} is outside 0..65535",
                num(val, i, n, v)
            ));
        }
        i = n + 1;
        WindowSpec::Exact(v as u16)
    };

    // Window scale.
    let scale = number_or_star(val, &mut i, "window scale", 255)?.map(|v| v as u8);

    // Option layout.
    let mut layout = OptLayout::new();
    let mut eol_pad = 0u8;
    while at(val, i) != b':' {
        if layout.is_full() {
            return Err(format!("more than {MAX_TCP_OPT} TCP options"));
        }
        if at(val, i) == 0 {
            return Err("the signature ends inside the TCP option list".into());
        }
        let kind = if starts(val, i, b"eol") {
            i += 3;
            if at(val, i) != b'+' {
                return Err("the 'eol' option must be written 'eol+N'".into());
            }
            i += 1;
            let n = digits_end(val, i);
            if at(val, n) == 0 {
                return Err("the signature ends inside the TCP option list".into());
            }
            if at(val, n) != b':' {
                return Err("'eol+N' must be the last TCP option".into());
            }
            let v = atol(val, i);
            if !(0..=255).contains(&v) {
                return Err(format!(
                    "EOL padding {} is outside 0..255",
                    num(val, i, n, v)
                ));
            }
            eol_pad = v as u8;
            i = n;
            opt::EOL
        } else if starts(val, i, b"nop") {
            i += 3;
            opt::NOP
        } else if starts(val, i, b"mss") {
            i += 3;
            opt::MSS
        } else if starts(val, i, b"ws") {
            i += 2;
            opt::WS
        } else if starts(val, i, b"sok") {
            i += 3;
            opt::SOK
        } else if starts(val, i, b"sack") {
            i += 4;
            opt::SACK
        } else if starts(val, i, b"ts") {
            i += 2;
            opt::TS
        } else if at(val, i) == b'?' {
            i += 1;
            let n = digits_end(val, i);
            if at(val, n) != b':' && at(val, n) != b',' {
                return Err(format!("malformed option '?{}'", token(val, i)));
            }
            let v = atol(val, i);
            if !(0..=255).contains(&v) {
                return Err(format!(
                    "option kind ?{} is outside 0..255",
                    num(val, i, n, v)
                ));
            }
            i = n;
            v as u8
        } else {
            return Err(format!(
                "unknown TCP option '{}' (expected eol+N, nop, mss, ws, sok, sack, ts or ?N)",
                token(val, i)
            ));
        };
        layout.push(kind);
        if list_ends(val, &mut i, "TCP option list", "an option")? {
            break;
        }
    }
    i += 1;

    // Quirks.
    let mut quirks = Quirks::empty();
    while at(val, i) != b':' {
        if at(val, i) == 0 {
            return Err("the signature ends inside the quirk list (payload class missing)".into());
        }
        // No quirk token is a prefix of another, so the first hit is the one.
        let Some(&(bit, tok)) = Quirks::TOKENS
            .iter()
            .find(|(_, tok)| starts(val, i, tok.as_bytes()))
        else {
            return Err(format!("unknown quirk '{}'", token(val, i)));
        };
        let v4_only = Quirks::DF
            .union(Quirks::NZ_ID)
            .union(Quirks::ZERO_ID)
            .union(Quirks::NZ_MBZ);
        if ver == IpVersion::V6 && v4_only.contains(bit) {
            return Err(format!("quirk '{tok}' cannot occur in an IPv6 signature"));
        }
        if ver == IpVersion::V4 && bit == Quirks::FLOW {
            return Err("quirk 'flow' cannot occur in an IPv4 signature".into());
        }
        quirks.insert(bit);
        i += tok.len();
        if list_ends(val, &mut i, "quirk list", "a quirk")? {
            break;
        }
    }
    i += 1;

    // Payload class: exactly the rest of the line.
    let rest = val.get(i..).unwrap_or(&[]);
    let pclass = match rest {
        b"*" => None,
        b"0" => Some(false),
        b"+" => Some(true),
        _ => {
            return Err(format!(
                "payload class must be 0, + or *, found '{}'",
                show(rest)
            ))
        }
    };

    Ok(TcpSig {
        ver,
        ttl: ttl as u8,
        bad_ttl,
        ip_opt_len: olen as u8,
        mss,
        win,
        scale,
        layout,
        eol_pad,
        quirks,
        pclass,
    })
}

fn parse_http_sig(val: &[u8]) -> Res<HttpSig> {
    if at(val, 1) != b':' {
        return Err(format!(
            "malformed signature: expected ':' after the HTTP version, found '{}'",
            show(val)
        ));
    }
    let ver = match at(val, 0) {
        b'0' => Some(0),
        b'1' => Some(1),
        b'*' => None,
        other => {
            return Err(format!(
                "HTTP version must be 0, 1 or *, found '{}'",
                show(&[other])
            ))
        }
    };
    let mut i = 2;

    let mut horder = Vec::new();
    while at(val, i) != b':' {
        if horder.len() >= HTTP_MAX_HDRS {
            return Err(format!(
                "more than {HTTP_MAX_HDRS} headers in the header list"
            ));
        }
        let optional = at(val, i) == b'?';
        if optional {
            i += 1;
        }
        let start = i;
        while is_header_char(at(val, i)) {
            i += 1;
        }
        if i == start {
            return Err(format!(
                "malformed header name '{}' in the header list",
                token(val, start)
            ));
        }
        let name = text(&val[start..i]);
        let mut value = None;
        if at(val, i) == b'=' {
            if at(val, i + 1) != b'[' {
                return Err(format!("expected '[' after '{name}='"));
            }
            i += 2;
            let vstart = i;
            while at(val, i) != 0 && at(val, i) != b']' {
                i += 1;
            }
            if i == vstart || at(val, i) == 0 {
                return Err(format!(
                    "malformed value for header '{name}': expected non-empty '[text]'"
                ));
            }
            value = Some(text(&val[vstart..i]));
            i += 1;
        }
        horder.push(HttpHeaderSpec {
            name,
            optional,
            value,
        });
        if at(val, i) == b',' {
            i += 1;
        } else if at(val, i) != b':' {
            return Err(format!(
                "malformed header list: unexpected '{}' after a header",
                token(val, i)
            ));
        }
    }
    i += 1;

    let mut habsent = Vec::new();
    while at(val, i) != b':' {
        if habsent.len() >= HTTP_MAX_HDRS {
            return Err(format!(
                "more than {HTTP_MAX_HDRS} headers in the absent-header list"
            ));
        }
        let start = i;
        while is_header_char(at(val, i)) {
            i += 1;
        }
        if i == start {
            return Err(format!(
                "malformed header name '{}' in the absent-header list",
                token(val, start)
            ));
        }
        habsent.push(text(&val[start..i]));
        if at(val, i) == b',' {
            i += 1;
        } else if at(val, i) != b':' {
            return Err(format!(
                "malformed absent-header list: unexpected '{}' after a header",
                token(val, i)
            ));
        }
    }
    i += 1;

    let rest = val.get(i..).unwrap_or(&[]);
    if rest.contains(&b':') {
        return Err(format!(
            "the software string '{}' must not contain ':'",
            show(rest)
        ));
    }
    Ok(HttpSig {
        ver,
        horder,
        habsent,
        expsw: text(rest),
    })
}

/// p0f's HTTP duplicate check: the line of an earlier specific signature
/// (same direction) that the new one could never beat.
///
/// p0f prefilters with a Bloom filter built from the *mandatory* headers of
/// the new signature; here that filter is applied exactly (it is not a mere
/// optimisation in this mode, as optional headers never enter it).
fn http_covering_line(earlier: &[HttpRecord], labels: &[Label], new: &HttpSig) -> Option<u32> {
    let mandatory = |name: &str| new.horder.iter().any(|h| !h.optional && h.name == name);
    'next: for rec in earlier {
        let rs = &rec.sig;
        if rs.ver.is_some() && rs.ver != new.ver {
            continue;
        }
        if rs.horder.iter().any(|h| !h.optional && !mandatory(&h.name)) {
            continue;
        }
        let mut t = 0;
        let mut r = 0;
        while r < rs.horder.len() {
            let want = &rs.horder[r];
            let orig = t;
            while t < new.horder.len() && new.horder[t].name != want.name {
                t += 1;
            }
            if t == new.horder.len() {
                if !want.optional || new.horder.iter().any(|h| h.name == want.name) {
                    continue 'next;
                }
                t = orig;
                r += 1;
                continue;
            }
            if let Some(v) = &want.value {
                match &new.horder[t].value {
                    Some(have) if have.contains(v.as_str()) => {}
                    _ => continue 'next,
                }
            }
            t += 1;
            r += 1;
        }
        if rs.habsent.iter().any(|m| mandatory(m)) {
            continue;
        }
        if rs.habsent.len() > new.habsent.len()
            || rs.habsent.iter().any(|m| !new.habsent.contains(m))
        {
            continue;
        }
        let generic = labels.get(rec.label as usize).is_some_and(|l| l.generic);
        if !generic {
            return Some(rec.line);
        }
    }
    None
}

impl Database {
    /// Parses database text. `source` names it in error messages.
    pub fn parse(text: &[u8], source: &str) -> Result<Database, DbError> {
        let parser = Parser {
            source,
            line_no: 0,
            line: &[],
            state: State::Section,
            module: Module::Mtu,
            request: false,
            db: Database::default(),
            index: TcpIndex::default(),
            link: String::new(),
            label: 0,
            smtp_label: None,
            sigs: 0,
        };
        parser.run(text)
    }

    /// Reads and parses a database file.
    pub fn load(path: &Path) -> Result<Database, DbError> {
        use std::io::Read;
        let source = path.display().to_string();
        let cannot =
            |e: std::io::Error| DbError::whole(&source, format!("cannot read the file: {e}"));
        // Bounded, so that a device or an endless pipe given as the database
        // is an error, not a hang.
        let mut data = Vec::new();
        std::fs::File::open(path)
            .map_err(cannot)?
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(cannot)?;
        if data.len() as u64 > MAX_FILE_BYTES {
            return Err(DbError::whole(
                &source,
                format!(
                    "larger than {} MiB; this does not look like a p0f database",
                    MAX_FILE_BYTES >> 20
                ),
            ));
        }
        Database::parse(&data, &source)
    }

    /// Number of `sig` lines, `[mtu]` included (what p0f reports when loading).
    pub fn sig_count(&self) -> usize {
        self.mtu.len()
            + self.tcp_request.len()
            + self.tcp_response.len()
            + self.http_request.len()
            + self.http_response.len()
            + self.smtp_client.len()
            + self.smtp_server.len()
    }

    /// The link type of the first `[mtu]` signature with this MTU.
    pub fn mtu_link(&self, mtu: u16) -> Option<&str> {
        self.mtu
            .iter()
            .find(|r| r.mtu == mtu)
            .map(|r| r.link.as_str())
    }
}

//! `[smtp:client]` and `[smtp:server]` signatures (p0f-rs only; p0f 3.09b
//! has no such module and rejects a file that uses it).
//!
//! The vocabulary of raw SMTP signatures lives here, next to the parser,
//! so that the observer (`p0f-smtp`) writes exactly the tokens the parser
//! accepts. The format is described in `docs/smtp.md`.

/// Number of `:`-separated fields of a client signature.
pub const SMTP_CLIENT_FIELDS: usize = 12;

/// Names of the client fields, in order (for messages and docs).
pub const SMTP_CLIENT_FIELD_NAMES: [&str; SMTP_CLIENT_FIELDS] = [
    "greet", "first", "helo", "case", "mail", "rcpt", "params", "eol", "pipe", "order", "extra",
    "end",
];

/// Index of the `end` field (the one a verdict given during the dialogue
/// does not know yet).
pub const SMTP_FIELD_END: usize = 11;

/// Command verbs the observer names; anything else is written `?`.
/// RFC 5321 (HELO..QUIT), 3207 (STARTTLS), 4954 (AUTH), 3030 (BDAT),
/// 1985 (ETRN).
pub const SMTP_VERBS: [&str; 15] = [
    "EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP",
    "STARTTLS", "AUTH", "BDAT", "ETRN",
];

/// The commands listed in the `extra` field, in the order it lists them.
pub const SMTP_EXTRA: [&str; 5] = ["RSET", "NOOP", "VRFY", "EXPN", "HELP"];

/// Allowed values of the fields that take one token from a fixed set
/// (`None`: a list field, or `first`, checked separately).
const FIXED_TOKENS: [Option<&[&str]>; SMTP_CLIENT_FIELDS] = [
    Some(&["wait", "pre"]),
    None,
    Some(&["fqdn", "word", "lit4", "lit6", "none", "bad", "-"]),
    Some(&["upper", "lower", "mixed", "-"]),
    Some(&["nosp", "sp", "bare", "odd", "-"]),
    Some(&["nosp", "sp", "bare", "odd", "-"]),
    None,
    Some(&["crlf", "lf", "mixed"]),
    Some(&["no", "adv", "unadv"]),
    None,
    None,
    Some(&["quit", "close", "tls", "limit"]),
];

/// What kind of software a signature names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmtpKind {
    /// A mail transfer agent (relays mail: Postfix, Exim, Exchange...).
    Mta,
    /// A submission program or library (msmtp, swaks, smtplib...).
    Client,
    /// A spam engine.
    Bot,
}

impl SmtpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpKind::Mta => "mta",
            SmtpKind::Client => "client",
            SmtpKind::Bot => "bot",
        }
    }

    /// The API's code (0 is "unknown dialect").
    pub fn code(self) -> u8 {
        match self {
            SmtpKind::Mta => 1,
            SmtpKind::Client => 2,
            SmtpKind::Bot => 3,
        }
    }

    fn parse(s: &[u8]) -> Option<SmtpKind> {
        match s {
            b"mta" => Some(SmtpKind::Mta),
            b"client" => Some(SmtpKind::Client),
            b"bot" => Some(SmtpKind::Bot),
            _ => None,
        }
    }
}

/// The `label =` line of an SMTP signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpLabel {
    pub generic: bool,
    pub kind: SmtpKind,
    pub name: String,
    /// None when empty.
    pub flavor: Option<String>,
}

impl SmtpLabel {
    /// `NAME FLAVOR`, or `NAME` without a flavor (as HTTP applications print).
    pub fn push_text(&self, out: &mut String) {
        out.push_str(&self.name);
        if let Some(f) = &self.flavor {
            out.push(' ');
            out.push_str(f);
        }
    }
}

/// One `[smtp:client]` signature: each field is `None` for `*`, or the
/// exact raw value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpClientRecord {
    pub fields: [Option<String>; SMTP_CLIENT_FIELDS],
    pub label: SmtpLabel,
    pub line: u32,
}

/// One `[smtp:server]` signature (`None` = `*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpServerRecord {
    pub lines: Option<u16>,
    pub keywords: Option<String>,
    /// A text the banner must contain.
    pub banner: Option<String>,
    pub label: SmtpLabel,
    pub line: u32,
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).escape_debug().to_string()
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b" ./-_!?()".contains(&c)
}

/// Parses `TYPE:KIND:NAME:FLAVOR`.
pub(crate) fn parse_label(val: &[u8]) -> Result<SmtpLabel, String> {
    let mut parts = val.splitn(4, |&c| c == b':');
    let generic = match parts.next() {
        Some(b"s") => false,
        Some(b"g") => true,
        _ => {
            return Err(format!(
                "malformed label '{}': it must start with 's:' (specific) or 'g:' (generic)",
                show(val)
            ))
        }
    };
    let kind = parts.next().unwrap_or_default();
    let Some(kind) = SmtpKind::parse(kind) else {
        return Err(format!(
            "unknown kind '{}' in an SMTP label (expected mta, client or bot)",
            show(kind)
        ));
    };
    let (Some(name), Some(flavor)) = (parts.next(), parts.next()) else {
        return Err(format!(
            "malformed label '{}' (expected TYPE:KIND:NAME:FLAVOR, the flavor may be empty)",
            show(val)
        ));
    };
    if name.is_empty() || !name.iter().all(|&c| is_name_char(c)) {
        return Err(format!(
            "malformed name '{}' in label (names use letters, digits and \" ./-_!?()\")",
            show(name)
        ));
    }
    Ok(SmtpLabel {
        generic,
        kind,
        name: String::from_utf8_lossy(name).into_owned(),
        flavor: (!flavor.is_empty()).then(|| String::from_utf8_lossy(flavor).into_owned()),
    })
}

fn is_verb_token(t: &[u8]) -> bool {
    t == b"?" || SMTP_VERBS.iter().any(|v| v.as_bytes() == t)
}

/// A `,`-separated list whose items satisfy `item`, optionally ending in a
/// lone `+` (the observer's "cut here").
fn valid_list(v: &[u8], item: impl Fn(&[u8]) -> bool) -> bool {
    let items: Vec<&[u8]> = v.split(|&c| c == b',').collect();
    let n = items.len();
    items
        .iter()
        .enumerate()
        .all(|(i, t)| (i + 1 == n && *t == b"+") || (!t.is_empty() && item(t)))
}

fn check_client_field(i: usize, v: &[u8]) -> Result<(), String> {
    let name = SMTP_CLIENT_FIELD_NAMES[i];
    let ok = match (i, FIXED_TOKENS[i]) {
        (_, Some(tokens)) => tokens.iter().any(|t| t.as_bytes() == v),
        (1, None) => v == b"-" || is_verb_token(v),
        (6, None) => {
            v == b"-"
                || valid_list(v, |t| {
                    t.iter().all(|&c| {
                        c.is_ascii_uppercase() || c.is_ascii_digit() || b"-=.?".contains(&c)
                    })
                })
        }
        (9, None) => v == b"-" || valid_list(v, is_verb_token),
        (10, None) => v == b"-" || valid_list(v, |t| SMTP_EXTRA.iter().any(|e| e.as_bytes() == t)),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "malformed '{name}' field '{}' in an [smtp:client] signature (see docs/smtp.md)",
            show(v)
        ))
    }
}

/// Parses the twelve fields of an `[smtp:client]` `sig =`.
pub(crate) fn parse_client_sig(val: &[u8]) -> Result<[Option<String>; SMTP_CLIENT_FIELDS], String> {
    let parts: Vec<&[u8]> = val.split(|&c| c == b':').collect();
    if parts.len() != SMTP_CLIENT_FIELDS {
        return Err(format!(
            "an [smtp:client] signature has {SMTP_CLIENT_FIELDS} ':'-separated fields ({}), \
             found {}",
            SMTP_CLIENT_FIELD_NAMES.join(":"),
            parts.len()
        ));
    }
    let mut fields: [Option<String>; SMTP_CLIENT_FIELDS] = Default::default();
    for (i, v) in parts.iter().enumerate() {
        if *v == b"*" {
            continue;
        }
        check_client_field(i, v)?;
        fields[i] = Some(String::from_utf8_lossy(v).into_owned());
    }
    Ok(fields)
}

/// The three fields of an `[smtp:server]` `sig =`.
pub(crate) type ServerSig = (Option<u16>, Option<String>, Option<String>);

/// Parses `lines:keywords:banner` (the banner may contain `:`).
pub(crate) fn parse_server_sig(val: &[u8]) -> Result<ServerSig, String> {
    let mut parts = val.splitn(3, |&c| c == b':');
    let (Some(lines), Some(keywords), Some(banner)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("an [smtp:server] signature is lines:keywords:banner".into());
    };
    let lines = match lines {
        b"*" => None,
        d if !d.is_empty()
            && d.iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(d).is_ok_and(|s| s.parse::<u16>().is_ok()) =>
        {
            std::str::from_utf8(d)
                .ok()
                .and_then(|s| s.parse::<u16>().ok())
        }
        other => {
            return Err(format!(
                "malformed 'lines' field '{}' (expected * or a number up to 65535)",
                show(other)
            ))
        }
    };
    let keywords = match keywords {
        b"*" => None,
        b"-" => Some("-".to_string()),
        k if valid_list(k, |t| {
            t.iter()
                .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || b"-_=?".contains(&c))
        }) =>
        {
            Some(String::from_utf8_lossy(k).into_owned())
        }
        other => {
            return Err(format!(
                "malformed 'keywords' field '{}' (expected *, - or upper-case keywords \
                 separated by ',')",
                show(other)
            ))
        }
    };
    let banner = match banner {
        b"*" => None,
        b"" => return Err("empty 'banner' field (use * for any banner)".into()),
        b if b.iter().all(|&c| (0x20..0x7f).contains(&c)) => {
            Some(String::from_utf8_lossy(b).into_owned())
        }
        other => {
            return Err(format!(
                "the 'banner' field '{}' must be printable ASCII",
                show(other)
            ))
        }
    };
    Ok((lines, keywords, banner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_sig_fields_are_checked() {
        let ok =
            b"wait:EHLO:fqdn:upper:nosp:nosp:SIZE,BODY=8BITMIME:crlf:adv:EHLO,MAIL,RCPT:-:quit";
        let f = parse_client_sig(ok).unwrap();
        assert_eq!(f[6].as_deref(), Some("SIZE,BODY=8BITMIME"));
        let any = parse_client_sig(b"*:*:*:*:*:*:*:*:*:*:*:*").unwrap();
        assert!(any.iter().all(Option::is_none));
        assert!(parse_client_sig(b"wait:EHLO").unwrap_err().contains("12"));
        let bad = parse_client_sig(b"late:*:*:*:*:*:*:*:*:*:*:*").unwrap_err();
        assert!(bad.contains("'greet'"), "{bad}");
        assert!(parse_client_sig(b"*:*:*:*:*:*:*:*:*:EHLO,FOO:*:*").is_err());
        assert!(parse_client_sig(b"*:*:*:*:*:*:*:*:*:EHLO,+:*:*").is_ok());
        assert!(parse_client_sig(b"*:*:*:*:*:*:+:*:*:*:*:*").is_ok());
        assert!(parse_client_sig(b"*:*:*:*:*:*:*:*:*:+,EHLO:*:*").is_err());
        assert!(parse_client_sig(b"*:*:*:*:*:*:*:*:*:*:RSET,QUIT:*").is_err());
    }

    #[test]
    fn server_sig_banner_may_hold_colons() {
        let (l, k, b) = parse_server_sig(b"1:PIPELINING,SIZE:ESMTP a:b").unwrap();
        assert_eq!(
            (l, k.as_deref(), b.as_deref()),
            (Some(1), Some("PIPELINING,SIZE"), Some("ESMTP a:b"))
        );
        assert!(parse_server_sig(b"x:*:*").is_err());
        assert!(parse_server_sig(b"1:*").is_err());
        assert!(parse_server_sig(b"1:*:").is_err());
    }

    #[test]
    fn labels_need_a_kind() {
        let l = parse_label(b"s:mta:Postfix:3.x").unwrap();
        assert_eq!(
            (l.kind, l.name.as_str(), l.flavor.as_deref()),
            (SmtpKind::Mta, "Postfix", Some("3.x"))
        );
        assert_eq!(parse_label(b"g:bot:Cutwail:").unwrap().flavor, None);
        assert!(parse_label(b"s:unix:Postfix:")
            .unwrap_err()
            .contains("kind"));
        assert!(parse_label(b"s:mta:Postfix").is_err());
        assert!(parse_label(b"x:mta:P:").is_err());
    }
}

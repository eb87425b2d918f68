//! Reading and writing the CPIM header grammar (RFC 3862 §3.6) and its escape mechanism
//! (§2.3), and the MIME headers of the content (RFC 2045 §3, RFC 5322 §2.2).

use super::{
    Address, CpimError, CpimHeader, CpimMessage, DateTime, Header, HeaderName, MimePart, Namespace,
    Section, Subject, MAX_HEADERS, MAX_HEAD_LEN,
};

/// The typed header names of RFC 3862 §4.
const STANDARD: [&str; 7] = ["From", "To", "cc", "DateTime", "Subject", "NS", "Require"];

pub(super) fn standard_name(name: &str) -> bool {
    STANDARD.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// NAMECHAR of RFC 3862 §3.6: no `.`, `:`, white space, quotes or brackets.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-^_`|~".contains(c)
}

/// `Name = 1*NAMECHAR`.
pub(super) fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_name_char)
}

/// The lines of one header section: each without its CRLF or LF, with its 1-based number.
struct Lines<'a> {
    input: &'a [u8],
    pos: usize,
    line: usize,
}

enum Next<'a> {
    Line(usize, &'a [u8]),
    Blank,
}

impl<'a> Lines<'a> {
    /// The next line of the section that started at `start`, within [`MAX_HEAD_LEN`].
    fn next(&mut self, start: usize, section: Section) -> Result<Next<'a>, CpimError> {
        let limit = self.input.len().min(start.saturating_add(MAX_HEAD_LEN));
        let window = self.input.get(self.pos..limit).unwrap_or_default();
        let Some(nl) = window.iter().position(|b| *b == b'\n') else {
            return Err(if self.input.len() > limit {
                CpimError::HeadTooLarge(section)
            } else {
                CpimError::NoEndOfHeaders(section)
            });
        };
        let raw = &window[..nl];
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        self.pos += nl + 1;
        self.line += 1;
        if line.is_empty() {
            Ok(Next::Blank)
        } else {
            Ok(Next::Line(self.line, line))
        }
    }
}

/// Checks a header line for control characters (HTAB excepted) and UTF-8.
fn text_line(raw: &[u8], line: usize) -> Result<&str, CpimError> {
    if raw.iter().any(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f) {
        return Err(CpimError::BadHeader { line });
    }
    core::str::from_utf8(raw).map_err(|_| CpimError::NotText { line })
}

pub(super) fn parse(input: &[u8]) -> Result<CpimMessage, CpimError> {
    let mut lines = Lines {
        input,
        pos: 0,
        line: 0,
    };
    let mut headers = Vec::new();
    let (mut seen_from, mut seen_datetime) = (false, false);
    loop {
        let (line, raw) = match lines.next(0, Section::Message)? {
            Next::Blank => break,
            Next::Line(n, raw) => (n, raw),
        };
        if headers.len() == MAX_HEADERS {
            return Err(CpimError::TooManyHeaders(Section::Message));
        }
        let h = parse_header(text_line(raw, line)?, line)?;
        let once = match &h {
            CpimHeader::From(_) => Some(("From", &mut seen_from)),
            CpimHeader::DateTime(_) => Some(("DateTime", &mut seen_datetime)),
            _ => None,
        };
        if let Some((name, seen)) = once {
            if *seen {
                return Err(CpimError::DuplicateHeader { name, line });
            }
            *seen = true;
        }
        headers.push(h);
    }

    let start = lines.pos;
    let mut mime: Vec<(String, String)> = Vec::new();
    loop {
        let (line, raw) = match lines.next(start, Section::Content)? {
            Next::Blank => break,
            Next::Line(n, raw) => (n, raw),
        };
        let text = text_line(raw, line)?;
        if text.starts_with([' ', '\t']) {
            // Folded continuation (RFC 5322 §2.2.3): joined with one space.
            let (_, value) = mime.last_mut().ok_or(CpimError::BadHeader { line })?;
            let more = text.trim_matches([' ', '\t']);
            if !value.is_empty() && !more.is_empty() {
                value.push(' ');
            }
            value.push_str(more);
            continue;
        }
        if mime.len() == MAX_HEADERS {
            return Err(CpimError::TooManyHeaders(Section::Content));
        }
        let (name, value) = text.split_once(':').ok_or(CpimError::BadHeader { line })?;
        let name = name.trim_end_matches([' ', '\t']);
        if name.is_empty() || !name.bytes().all(is_field_name_byte) {
            return Err(CpimError::BadHeader { line });
        }
        mime.push((
            name.to_string(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    let body = input.get(lines.pos..).unwrap_or_default().to_vec();
    Ok(CpimMessage {
        headers,
        content: MimePart {
            headers: mime,
            body,
        },
    })
}

/// RFC 5322 §3.6.8 ftext: printable ASCII except the colon.
fn is_field_name_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && b != b':'
}

/// `Header-name ":" *( ";" Parameter ) SP Header-value` (RFC 3862 §3.6).
fn parse_header(text: &str, line: usize) -> Result<CpimHeader, CpimError> {
    let (name, mut rest) = text.split_once(':').ok_or(CpimError::BadHeader { line })?;
    let name = HeaderName::parse(name.trim_end_matches([' ', '\t']))
        .ok_or(CpimError::BadHeader { line })?;
    let mut params = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        let (param, tail) = parse_param(after).ok_or(CpimError::BadParam { line })?;
        params.push(param);
        rest = tail;
    }
    // After parameters the SP is mandatory; without any, `From:<im:a@b>` is read leniently.
    if !params.is_empty() && !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(CpimError::BadParam { line });
    }
    let raw = rest.trim_matches([' ', '\t']);
    if name.prefix.is_some() {
        return Ok(other(name, params, raw));
    }
    let is = |s: &str| name.name.eq_ignore_ascii_case(s);
    let addr = |raw| parse_address(raw).ok_or(CpimError::BadAddress { line });
    Ok(if is("From") {
        CpimHeader::From(addr(raw)?)
    } else if is("To") {
        CpimHeader::To(addr(raw)?)
    } else if is("cc") {
        CpimHeader::Cc(addr(raw)?)
    } else if is("DateTime") {
        let d =
            DateTime::parse_rfc3339(raw).map_err(|error| CpimError::BadDateTime { line, error })?;
        CpimHeader::DateTime(d)
    } else if is("Subject") {
        let lang = params
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("lang"))
            .map(|(_, v)| v);
        CpimHeader::Subject(Subject {
            lang,
            text: unescape(raw),
        })
    } else if is("NS") {
        CpimHeader::Ns(parse_namespace(raw).ok_or(CpimError::BadNamespace { line })?)
    } else if is("Require") {
        let names: Option<Vec<HeaderName>> = raw
            .split(',')
            .map(|n| HeaderName::parse(n.trim_matches([' ', '\t'])))
            .collect();
        CpimHeader::Require(names.ok_or(CpimError::BadRequire { line })?)
    } else {
        other(name, params, raw)
    })
}

fn other(name: HeaderName, params: Vec<(String, String)>, raw: &str) -> CpimHeader {
    CpimHeader::Other(Header {
        name,
        params,
        value: unescape(raw),
    })
}

/// `Param-name "=" ( Token / Number / String )`, returning the rest after the value.
fn parse_param(s: &str) -> Option<((String, String), &str)> {
    let eq = s.find('=')?;
    let name = &s[..eq];
    if !is_name(name) {
        return None;
    }
    let after = &s[eq + 1..];
    let (value, rest) = if after.starts_with('"') {
        parse_string(after)?
    } else {
        let end = after.find([';', ' ', '\t']).unwrap_or(after.len());
        let v = &after[..end];
        if v.is_empty() || !v.chars().all(|c| is_name_char(c) || c == '.') {
            return None;
        }
        (v.to_string(), &after[end..])
    };
    Some(((name.to_string(), value), rest))
}

/// A `String` (RFC 3862 §3.6) at the start of `s`: the unescaped text and what follows.
fn parse_string(s: &str) -> Option<(String, &str)> {
    let inner = s.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            return Some((unescape(&inner[..i]), &inner[i + 1..]));
        }
    }
    None
}

/// `[ Formal-name ] "<" URI ">"`; a bare URI without brackets is accepted too.
fn parse_address(s: &str) -> Option<Address> {
    let (display_name, rest) = if s.starts_with('"') {
        let (name, rest) = parse_string(s)?;
        (Some(name), rest.trim_start_matches([' ', '\t']))
    } else if let Some(lt) = s.find('<') {
        let tokens: Vec<&str> = s[..lt].split_whitespace().collect();
        if tokens.iter().any(|t| t.contains('"')) {
            return None;
        }
        let name = (!tokens.is_empty()).then(|| tokens.join(" "));
        (name, &s[lt..])
    } else {
        return is_uri(s).then(|| Address::new(s));
    };
    let uri = bracketed_uri(rest)?;
    Some(Address {
        display_name,
        uri: uri.to_string(),
    })
}

/// `[ Name-prefix ] "<" URI ">"` of an `NS` header.
fn parse_namespace(s: &str) -> Option<Namespace> {
    let lt = s.find('<')?;
    let prefix = s[..lt].trim_matches([' ', '\t']);
    if !prefix.is_empty() && !is_name(prefix) {
        return None;
    }
    let uri = bracketed_uri(&s[lt..])?;
    Some(Namespace {
        prefix: (!prefix.is_empty()).then(|| prefix.to_string()),
        uri: uri.to_string(),
    })
}

/// `"<" URI ">"` with nothing after it.
fn bracketed_uri(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('<')?;
    let gt = inner.find('>')?;
    let uri = &inner[..gt];
    (inner[gt + 1..].trim_matches([' ', '\t']).is_empty() && is_uri(uri)).then_some(uri)
}

/// An absolute URI: a scheme (RFC 3986 §3.1), a colon, and no white space, quotes or
/// angle brackets.
fn is_uri(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut sc = scheme.chars();
    sc.next().is_some_and(|c| c.is_ascii_alphabetic())
        && sc.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"".contains(c))
}

/// Decodes the escapes of RFC 3862 §2.3. A backslash that starts no valid escape is kept
/// as it is, so peers that never escape still read correctly.
pub(super) fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let esc = &rest[i + 1..];
        let simple = match esc.as_bytes().first() {
            Some(b'b') => Some('\u{8}'),
            Some(b't') => Some('\t'),
            Some(b'n') => Some('\n'),
            Some(b'r') => Some('\r'),
            Some(b'"') => Some('"'),
            Some(b'\'') => Some('\''),
            Some(b'\\') => Some('\\'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            rest = &esc[1..];
        } else if let Some((c, used)) = unicode_escape(esc) {
            out.push(c);
            rest = &esc[used..];
        } else {
            out.push('\\');
            rest = esc;
        }
    }
    out.push_str(rest);
    out
}

/// `u` and four hex digits, or a UTF-16 surrogate pair of two such escapes. A lone
/// surrogate decodes to U+FFFD. Returns the character and the bytes used.
fn unicode_escape(s: &str) -> Option<(char, usize)> {
    let unit = |s: &str| -> Option<u32> {
        let hex = s.strip_prefix('u')?.get(..4)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(hex, 16).ok()
    };
    let hi = unit(s)?;
    if (0xD800..0xDC00).contains(&hi) {
        let lo = s.get(5..).and_then(|t| t.strip_prefix('\\')).and_then(unit);
        if let Some(lo) = lo.filter(|lo| (0xDC00..0xE000).contains(lo)) {
            let c = char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
            return Some((c.unwrap_or('\u{FFFD}'), 11));
        }
    }
    Some((char::from_u32(hi).unwrap_or('\u{FFFD}'), 5))
}

/// Escapes `c` into `out` when it may not appear raw in a header value.
fn push_escaped(out: &mut String, c: char, quote: bool) {
    match c {
        '\\' => out.push_str("\\\\"),
        '"' if quote => out.push_str("\\\""),
        '\u{8}' => out.push_str("\\b"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if c.is_control() => push_unicode(out, c),
        c => out.push(c),
    }
}

fn push_unicode(out: &mut String, c: char) {
    use core::fmt::Write;
    // Writing to a String cannot fail; control characters fit in one UTF-16 unit.
    let _ = write!(out, "\\u{:04X}", u32::from(c));
}

/// Free text as a Header-value: escaped, with white space at either end written as `\u0020`
/// so that it survives the trimming of the reader.
fn write_text(out: &mut String, s: &str) {
    let last = s.chars().count().saturating_sub(1);
    for (i, c) in s.chars().enumerate() {
        if c == ' ' && (i == 0 || i == last) {
            push_unicode(out, c);
        } else {
            push_escaped(out, c, false);
        }
    }
}

fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        push_escaped(out, c, true);
    }
    out.push('"');
}

/// A Name, with characters outside NAMECHAR replaced by `_`.
fn write_name(out: &mut String, s: &str) {
    if s.is_empty() {
        out.push('_');
    }
    out.extend(s.chars().map(|c| if is_name_char(c) { c } else { '_' }));
}

pub(super) fn write_header_name(out: &mut String, n: &HeaderName) {
    if let Some(p) = &n.prefix {
        write_name(out, p);
        out.push('.');
    }
    write_name(out, &n.name);
}

/// A URI with white space, controls, quotes and angle brackets percent-encoded.
fn write_uri(out: &mut String, uri: &str) {
    for c in uri.chars() {
        if c.is_whitespace() || c.is_control() || "<>\"".contains(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        } else {
            out.push(c);
        }
    }
}

fn write_address(out: &mut String, a: &Address) {
    if let Some(name) = &a.display_name {
        write_quoted(out, name);
        out.push(' ');
    }
    out.push('<');
    write_uri(out, &a.uri);
    out.push('>');
}

fn write_param(out: &mut String, name: &str, value: &str) {
    out.push(';');
    write_name(out, name);
    out.push('=');
    if !value.is_empty() && value.chars().all(|c| is_name_char(c) || c == '.') {
        out.push_str(value);
    } else {
        write_quoted(out, value);
    }
}

pub(super) fn write_header(out: &mut String, h: &CpimHeader) {
    match h {
        CpimHeader::From(a) | CpimHeader::To(a) | CpimHeader::Cc(a) => {
            out.push_str(match h {
                CpimHeader::From(_) => "From: ",
                CpimHeader::To(_) => "To: ",
                _ => "cc: ",
            });
            write_address(out, a);
        }
        CpimHeader::DateTime(d) => {
            out.push_str("DateTime: ");
            d.write_rfc3339(out);
        }
        CpimHeader::Subject(s) => {
            out.push_str("Subject:");
            if let Some(lang) = &s.lang {
                write_param(out, "lang", lang);
            }
            out.push(' ');
            write_text(out, &s.text);
        }
        CpimHeader::Ns(ns) => {
            out.push_str("NS: ");
            if let Some(p) = &ns.prefix {
                write_name(out, p);
                out.push(' ');
            }
            out.push('<');
            write_uri(out, &ns.uri);
            out.push('>');
        }
        CpimHeader::Require(names) => {
            out.push_str("Require: ");
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_header_name(out, n);
            }
        }
        CpimHeader::Other(h) => {
            write_header_name(out, &h.name);
            out.push(':');
            for (k, v) in &h.params {
                write_param(out, k, v);
            }
            out.push(' ');
            write_text(out, &h.value);
        }
    }
    out.push_str("\r\n");
}

pub(super) fn write_mime_header(out: &mut String, name: &str, value: &str) {
    if name.is_empty() {
        out.push('_');
    }
    out.extend(name.bytes().map(|b| {
        if is_field_name_byte(b) {
            char::from(b)
        } else {
            '_'
        }
    }));
    out.push_str(": ");
    // HTAB is legal inside a value (RFC 5322 §2.2) and non-ASCII text is kept as parsed;
    // other ASCII controls (CR, LF...) could break the framing.
    out.extend(value.chars().map(|c| {
        if c.is_ascii_control() && c != '\t' {
            ' '
        } else {
            c
        }
    }));
    out.push_str("\r\n");
}

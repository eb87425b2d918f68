//! A minimal, strict XML 1.0 reader for small status documents (XML 1.0 §2–§4, Namespaces
//! in XML 1.0 §3–§6).
//!
//! It builds a small tree of elements with resolved namespaces and decoded text. It refuses
//! what a status document never needs and an attacker would use: any DOCTYPE (so no entity
//! definitions and no expansion attacks), input past a size limit, nesting past a depth
//! limit, undeclared prefixes, and every well-formedness error it can see.

use super::IsComposingError as E;

/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 16;
/// Most attributes accepted on one element.
const MAX_ATTRIBUTES: usize = 32;
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// An element with its namespace resolved.
#[derive(Debug)]
pub(super) struct Element {
    /// The namespace URI, `None` for no namespace.
    pub ns: Option<String>,
    /// The local name.
    pub name: String,
    /// Children in order.
    pub children: Vec<Node>,
    /// The 1-based line of the start tag.
    pub line: usize,
}

#[derive(Debug)]
pub(super) enum Node {
    Element(Element),
    /// Character data with references decoded (CDATA included).
    Text(String),
}

struct Reader<'a> {
    s: &'a str,
    pos: usize,
    /// The last `(pos, line)` computed, so that line numbers cost O(n) overall.
    line_cache: core::cell::Cell<(usize, usize)>,
}

/// Prefix bindings in scope: `(prefix, uri)`, the empty prefix for the default namespace
/// (an empty uri undeclares it).
type Scope = Vec<(String, String)>;

/// Parses a whole document into its root element.
pub(super) fn parse(input: &[u8]) -> Result<Element, E> {
    let s = core::str::from_utf8(input).map_err(|_| E::NotUtf8)?;
    let s = s.strip_prefix('\u{FEFF}').unwrap_or(s);
    let mut r = Reader {
        s,
        pos: 0,
        line_cache: core::cell::Cell::new((0, 1)),
    };
    if r.rest().starts_with("<?xml") && r.rest().get(5..).is_some_and(|t| t.starts_with(is_space)) {
        r.xml_declaration()?;
    }
    r.misc()?;
    if !r.rest().starts_with('<') {
        return Err(r.malformed("no root element"));
    }
    let mut scope = Scope::new();
    let root = r.element(&mut scope, 0)?;
    r.misc()?;
    if !r.rest().is_empty() {
        return Err(r.malformed("content after the root element"));
    }
    Ok(root)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && c != '\u{D7}' && c != '\u{F7}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.'
}

/// XML 1.0 §2.2 Char: no C0 controls but tab, LF and CR; no U+FFFE or U+FFFF.
fn is_xml_char(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    fn line(&self) -> usize {
        let (mut from, mut line) = self.line_cache.get();
        if from > self.pos {
            (from, line) = (0, 1);
        }
        let span = self.s.as_bytes().get(from..self.pos).unwrap_or_default();
        line += span.iter().filter(|b| **b == b'\n').count();
        self.line_cache.set((self.pos, line));
        line
    }

    fn malformed(&self, reason: &'static str) -> E {
        E::Malformed {
            line: self.line(),
            reason,
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, lit: &str, reason: &'static str) -> Result<(), E> {
        if self.eat(lit) {
            Ok(())
        } else {
            Err(self.malformed(reason))
        }
    }

    fn skip_space(&mut self) -> bool {
        let rest = self.rest();
        let n = rest.len() - rest.trim_start_matches(is_space).len();
        self.pos += n;
        n > 0
    }

    /// `Name` of XML 1.0 §2.3, colons allowed (split later).
    fn name(&mut self) -> Result<&'a str, E> {
        let rest = self.rest();
        let end = rest
            .char_indices()
            .find(|(_, c)| !(is_name_char(*c) || *c == ':'))
            .map_or(rest.len(), |(i, _)| i);
        let name = &rest[..end];
        if !name.starts_with(is_name_start) {
            return Err(self.malformed("invalid name"));
        }
        self.pos += end;
        Ok(name)
    }

    /// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`, in that order.
    fn xml_declaration(&mut self) -> Result<(), E> {
        self.pos += 5;
        let mut seen = 0;
        loop {
            let spaced = self.skip_space();
            if self.eat("?>") {
                break;
            }
            if !spaced {
                return Err(self.malformed("bad XML declaration"));
            }
            let name = self.name()?;
            self.skip_space();
            self.expect("=", "bad XML declaration")?;
            self.skip_space();
            let value = self.attribute_value()?;
            let (order, ok) = match name {
                "version" => (1, value.starts_with("1.") && value.len() > 2),
                "encoding" => (2, value.eq_ignore_ascii_case("UTF-8")),
                "standalone" => (3, value == "yes" || value == "no"),
                _ => (0, false),
            };
            if !ok || order <= seen || (seen == 0 && order != 1) {
                return Err(self.malformed("bad XML declaration"));
            }
            seen = order;
        }
        if seen == 0 {
            return Err(self.malformed("XML declaration without version"));
        }
        Ok(())
    }

    /// Comments, processing instructions and white space outside the root element.
    fn misc(&mut self) -> Result<(), E> {
        loop {
            self.skip_space();
            let rest = self.rest();
            if rest.starts_with("<!--") {
                self.comment()?;
            } else if rest.starts_with("<?") {
                self.pi()?;
            } else if rest.starts_with("<!") {
                return Err(self.doctype_or_malformed());
            } else {
                return Ok(());
            }
        }
    }

    fn doctype_or_malformed(&self) -> E {
        if self.rest().starts_with("<!DOCTYPE") {
            E::DoctypeForbidden { line: self.line() }
        } else {
            self.malformed("unexpected markup declaration")
        }
    }

    fn comment(&mut self) -> Result<(), E> {
        self.pos += 4;
        let rest = self.rest();
        let end = rest
            .find("--")
            .ok_or_else(|| self.malformed("unterminated comment"))?;
        if !rest[end..].starts_with("-->") {
            return Err(self.malformed("'--' inside a comment"));
        }
        self.check_chars(&rest[..end])?;
        self.pos += end + 3;
        Ok(())
    }

    fn pi(&mut self) -> Result<(), E> {
        self.pos += 2;
        let target = self.name()?;
        if target.eq_ignore_ascii_case("xml") || target.contains(':') {
            return Err(self.malformed("misplaced XML declaration"));
        }
        let rest = self.rest();
        let end = rest
            .find("?>")
            .ok_or_else(|| self.malformed("unterminated processing instruction"))?;
        if end > 0 && !rest.starts_with(is_space) {
            return Err(self.malformed("bad processing instruction"));
        }
        self.check_chars(&rest[..end])?;
        self.pos += end + 2;
        Ok(())
    }

    fn check_chars(&self, s: &str) -> Result<(), E> {
        if s.chars().all(is_xml_char) {
            Ok(())
        } else {
            Err(self.malformed("character not allowed in XML"))
        }
    }

    /// A quoted attribute value with references decoded and white space normalised
    /// (XML 1.0 §3.3.3).
    fn attribute_value(&mut self) -> Result<String, E> {
        let quote = match self.rest().chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => return Err(self.malformed("attribute value without quotes")),
        };
        self.pos += 1;
        let rest = self.rest();
        let end = rest
            .find(quote)
            .ok_or_else(|| self.malformed("unterminated attribute value"))?;
        let raw = &rest[..end];
        if raw.contains('<') {
            return Err(self.malformed("'<' in an attribute value"));
        }
        let raw = raw.replace("\r\n", " ").replace(['\r', '\n', '\t'], " ");
        let value = self.decode(&raw)?;
        self.pos += end + 1;
        Ok(value)
    }

    /// Decodes the five predefined entities and character references (XML 1.0 §4.1, §4.6).
    fn decode(&self, raw: &str) -> Result<String, E> {
        self.check_chars(raw)?;
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let after = &rest[amp + 1..];
            let semi = after
                .find(';')
                .filter(|i| *i <= 10)
                .ok_or_else(|| E::BadReference { line: self.line() })?;
            let c = match &after[..semi] {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                r => char_reference(r),
            };
            out.push(c.ok_or_else(|| E::BadReference { line: self.line() })?);
            rest = &after[semi + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// An element and its content, its start tag at the cursor.
    fn element(&mut self, scope: &mut Scope, depth: usize) -> Result<Element, E> {
        if depth >= MAX_DEPTH {
            return Err(E::TooDeep);
        }
        let line = self.line();
        self.expect("<", "expected an element")?;
        let qname = self.name()?;
        let mut attrs: Vec<(&str, String)> = Vec::new();
        let empty = loop {
            let spaced = self.skip_space();
            if self.eat("/>") {
                break true;
            }
            if self.eat(">") {
                break false;
            }
            if !spaced {
                return Err(self.malformed("attributes must be separated by white space"));
            }
            let name = self.name()?;
            self.skip_space();
            self.expect("=", "attribute without '='")?;
            self.skip_space();
            let value = self.attribute_value()?;
            if attrs.iter().any(|(n, _)| *n == name) {
                return Err(self.malformed("duplicate attribute"));
            }
            if attrs.len() == MAX_ATTRIBUTES {
                return Err(self.malformed("too many attributes"));
            }
            attrs.push((name, value));
        };

        let outer = scope.len();
        for (name, value) in &attrs {
            let prefix = match name.split_once(':') {
                None if *name == "xmlns" => "",
                Some(("xmlns", p)) => p,
                _ => continue,
            };
            let reserved = prefix == "xml" || prefix == "xmlns" || value == XML_NS;
            if reserved || (!prefix.is_empty() && value.is_empty()) {
                return Err(E::BadNamespace { line });
            }
            scope.push((prefix.to_string(), value.clone()));
        }
        let result = self.resolve_and_fill(qname, &attrs, scope, depth, line, empty);
        scope.truncate(outer);
        result
    }

    fn resolve_and_fill(
        &mut self,
        qname: &str,
        attrs: &[(&str, String)],
        scope: &mut Scope,
        depth: usize,
        line: usize,
        empty: bool,
    ) -> Result<Element, E> {
        let (ns, name) = resolve(qname, scope, true).ok_or(E::BadNamespace { line })?;
        let (ns, name) = (ns.map(str::to_string), name.to_string());
        // Attribute prefixes must be bound too, and no two may name the same attribute.
        let mut seen: Vec<(Option<&str>, &str)> = Vec::new();
        for (a, _) in attrs {
            if *a == "xmlns" || a.starts_with("xmlns:") {
                continue;
            }
            let (ans, local) = resolve(a, scope, false).ok_or(E::BadNamespace { line })?;
            if seen.contains(&(ans, local)) {
                return Err(E::BadNamespace { line });
            }
            seen.push((ans, local));
        }
        let mut el = Element {
            ns,
            name,
            children: Vec::new(),
            line,
        };
        if !empty {
            self.content(&mut el, qname, scope, depth)?;
        }
        Ok(el)
    }

    /// Content up to and including the end tag of `qname`.
    fn content(
        &mut self,
        el: &mut Element,
        qname: &str,
        scope: &mut Scope,
        depth: usize,
    ) -> Result<(), E> {
        loop {
            let rest = self.rest();
            let lt = rest
                .find('<')
                .ok_or_else(|| self.malformed("unclosed element"))?;
            if lt > 0 {
                let raw = &rest[..lt];
                if raw.contains("]]>") {
                    return Err(self.malformed("']]>' in text"));
                }
                let raw = raw.replace("\r\n", "\n").replace('\r', "\n");
                let text = self.decode(&raw)?;
                self.pos += lt;
                el.children.push(Node::Text(text));
                continue;
            }
            if self.eat("</") {
                let name = self.name()?;
                self.skip_space();
                if name != qname || !self.eat(">") {
                    return Err(self.malformed("mismatched end tag"));
                }
                return Ok(());
            } else if rest.starts_with("<!--") {
                self.comment()?;
            } else if rest.starts_with("<?") {
                self.pi()?;
            } else if self.eat("<![CDATA[") {
                let rest = self.rest();
                let end = rest
                    .find("]]>")
                    .ok_or_else(|| self.malformed("unterminated CDATA section"))?;
                self.check_chars(&rest[..end])?;
                let text = rest[..end].replace("\r\n", "\n").replace('\r', "\n");
                el.children.push(Node::Text(text));
                self.pos += end + 3;
            } else if rest.starts_with("<!") {
                return Err(self.doctype_or_malformed());
            } else {
                let child = self.element(scope, depth + 1)?;
                el.children.push(Node::Element(child));
            }
        }
    }
}

/// `&#N;` or `&#xH;` naming a character allowed in XML.
fn char_reference(r: &str) -> Option<char> {
    let num = r.strip_prefix('#')?;
    let (digits, radix) = match num.strip_prefix('x') {
        Some(hex) => (hex, 16),
        None => (num, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(digits, radix).ok()?)?;
    (is_xml_char(c) && c != '\u{0}').then_some(c)
}

/// Splits `prefix:local` and looks the prefix up. Unprefixed attributes have no namespace;
/// unprefixed elements take the default one.
fn resolve<'s>(
    qname: &'s str,
    scope: &'s Scope,
    element: bool,
) -> Option<(Option<&'s str>, &'s str)> {
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (p, l),
        None if !element => return Some((None, qname)),
        None => ("", qname),
    };
    if local.is_empty() || local.contains(':') || !local.starts_with(is_name_start) {
        return None;
    }
    if prefix == "xml" {
        return Some((Some(XML_NS), local));
    }
    if prefix.is_empty() && qname.contains(':') {
        return None;
    }
    let uri = scope
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.as_str());
    match (prefix.is_empty(), uri) {
        (true, None | Some("")) => Some((None, local)),
        (_, Some(u)) => Some((Some(u), local)),
        (false, None) => None,
    }
}

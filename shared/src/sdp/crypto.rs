//! `a=crypto`, SDP security descriptions for SRTP (RFC 4568 §4, §6.1, grammar in §9.1).

use super::attributes::{is_token, parse_num, Attribute};
use core::fmt;

/// `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]` (RFC 4568 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    /// The tag that identifies this line within the media description.
    pub tag: u32,
    /// The crypto suite, `AES_CM_128_HMAC_SHA1_80` and so on.
    pub suite: String,
    /// The `;`-separated key parameters, at least one.
    pub key_params: Vec<KeyParam>,
    /// The session parameters (`KDR=1`, `UNENCRYPTED_SRTCP`, ...) as written.
    pub session_params: Vec<String>,
}

/// One key parameter, `<method>:<info>` (RFC 4568 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyParam {
    /// The key method; `inline` is the only one defined.
    pub method: String,
    /// The key information as written.
    pub info: String,
}

/// The `inline` key information: `<key||salt>[|<lifetime>][|<MKI>:<length>]`
/// (RFC 4568 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineKey {
    /// The base64 concatenated master key and salt.
    pub key_salt: String,
    /// The master key lifetime as written (`2^20` or a decimal number).
    pub lifetime: Option<String>,
    /// The master key identifier.
    pub mki: Option<Mki>,
}

/// A master key identifier and its length on the wire (RFC 4568 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mki {
    /// The MKI value as decimal digits (up to 128 of them, so not a number type).
    pub value: String,
    /// The MKI length in bytes, 1 to 128.
    pub length: u8,
}

impl Crypto {
    /// Parses the value of an `a=crypto` attribute.
    pub fn parse(value: &str) -> Option<Crypto> {
        let mut w = value.split_ascii_whitespace();
        let tag = w.next().filter(|t| t.len() <= 9).and_then(parse_num)?;
        let suite = w.next().filter(|s| is_token(s))?;
        let key_params = w
            .next()?
            .split(';')
            .map(KeyParam::parse)
            .collect::<Option<Vec<_>>>()?;
        Some(Crypto {
            tag,
            suite: suite.to_string(),
            key_params,
            session_params: w.map(str::to_string).collect(),
        })
    }

    /// The first `inline` key.
    pub fn inline_key(&self) -> Option<InlineKey> {
        self.key_params.iter().find_map(KeyParam::inline)
    }

    /// The attribute `a=crypto:...`.
    pub fn to_attribute(&self) -> Attribute {
        Attribute::new("crypto", self.to_string())
    }
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.tag, self.suite)?;
        for (i, k) in self.key_params.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{}:{}", k.method, k.info)?;
        }
        for p in &self.session_params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

impl KeyParam {
    fn parse(s: &str) -> Option<KeyParam> {
        let (method, info) = s.split_once(':')?;
        if !is_token(method) || info.is_empty() {
            return None;
        }
        Some(KeyParam {
            method: method.to_string(),
            info: info.to_string(),
        })
    }

    /// The key information read as `inline`, when that is the method.
    pub fn inline(&self) -> Option<InlineKey> {
        if !self.method.eq_ignore_ascii_case("inline") {
            return None;
        }
        let mut parts = self.info.split('|');
        let key_salt = parts.next().filter(|k| !k.is_empty())?;
        let (mut lifetime, mut mki) = (None, None);
        for part in parts {
            match part.split_once(':') {
                Some((value, length)) if mki.is_none() => {
                    let value_ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                    let length = parse_num::<u8>(length).filter(|l| (1..=128).contains(l))?;
                    if !value_ok {
                        return None;
                    }
                    mki = Some(Mki {
                        value: value.to_string(),
                        length,
                    });
                }
                // The lifetime comes before the MKI, once.
                None if lifetime.is_none() && mki.is_none() && !part.is_empty() => {
                    lifetime = Some(part.to_string());
                }
                _ => return None,
            }
        }
        Some(InlineKey {
            key_salt: key_salt.to_string(),
            lifetime,
            mki,
        })
    }
}

//! Validation of settings documents: each error names the setting it is about
//! (`registration.expires`, `sip.outbound_proxy[1].host`), so a settings page can point at
//! the field.

use core::fmt;

use super::types::{
    AccountSettings, AudioSettings, BonjourSettings, ChatSettings, GeneralSettings, Route,
    SipAddress, Transport,
};
use crate::sip::uri::{is_hostname, parse_ipv6_reference};
use crate::sip::{is_token, Uri};

/// The shortest registration lifetime accepted, in seconds (registrars answer shorter ones
/// with 423, RFC 3261 §10.2.8).
pub const MIN_REGISTRATION_EXPIRES: u32 = 30;
/// The longest registration lifetime accepted, in seconds (one week).
pub const MAX_REGISTRATION_EXPIRES: u32 = 604_800;

/// What is wrong with a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// It must not be empty.
    Empty,
    /// It is not a SIP address `user@domain`.
    NotASipAddress,
    /// It is not a host name, IPv4 address or bracketed IPv6 address.
    NotAHost,
    /// Port 0 cannot be reached.
    ZeroPort,
    /// It holds a control character (CR, LF ...), which would corrupt a header.
    ControlCharacter,
    /// The number is outside `min..=max`.
    OutOfRange {
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
        /// The value given.
        value: u64,
    },
    /// The value is not one of the values allowed.
    NotAllowed {
        /// The value given.
        value: String,
    },
    /// This list entry repeats an earlier one.
    Duplicate {
        /// The repeated value.
        value: String,
    },
    /// The value is not an RFC 3261 token.
    NotAToken {
        /// The value given.
        value: String,
    },
    /// The value is not a MIME type `type/subtype`.
    NotAMimeType {
        /// The value given.
        value: String,
    },
    /// The setting cannot be changed once saved.
    Immutable,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => f.write_str("must not be empty"),
            Problem::NotASipAddress => f.write_str("is not a SIP address user@domain"),
            Problem::NotAHost => f.write_str("is not a host name or IP address"),
            Problem::ZeroPort => f.write_str("port 0 is not allowed"),
            Problem::ControlCharacter => f.write_str("holds a control character"),
            Problem::OutOfRange { min, max, value } => {
                write!(f, "must be between {min} and {max}, got {value}")
            }
            Problem::NotAllowed { value } => write!(f, "{value:?} is not allowed"),
            Problem::Duplicate { value } => write!(f, "{value:?} is listed twice"),
            Problem::NotAToken { value } => write!(f, "{value:?} is not a token"),
            Problem::NotAMimeType { value } => write!(f, "{value:?} is not a type/subtype"),
            Problem::Immutable => f.write_str("cannot be changed"),
        }
    }
}

/// A setting that failed validation: which one and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The setting's name, dotted, with list indexes (`sip.outbound_proxy[0].port`).
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl ValidationError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, problem: Problem) -> ValidationError {
        ValidationError {
            field: field.into(),
            problem,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ValidationError {}

/// A settings document that can check itself.
pub trait Validate {
    /// `Ok` when every setting is acceptable, else the first bad one.
    fn validate(&self) -> Result<(), ValidationError>;
}

type Check = Result<(), ValidationError>;

fn err(field: impl Into<String>, problem: Problem) -> Check {
    Err(ValidationError::new(field, problem))
}

/// Checks a SIP address `user@domain` (no port, parameters or headers).
pub fn validate_sip_address(field: &str, address: &SipAddress) -> Check {
    if address.as_str().is_empty() {
        return err(field, Problem::Empty);
    }
    match address.uri() {
        Some(Uri {
            user: Some(_),
            password: None,
            port: None,
            params,
            headers: None,
            ..
        }) if params.is_empty() && !address.domain().is_empty() => Ok(()),
        _ => err(field, Problem::NotASipAddress),
    }
}

fn validate_host(field: &str, host: &str) -> Check {
    if host.is_empty() {
        return err(field, Problem::Empty);
    }
    if is_hostname(host) || parse_ipv6_reference(host).is_some() {
        Ok(())
    } else {
        err(field, Problem::NotAHost)
    }
}

fn validate_text(field: &str, text: &str) -> Check {
    if text.chars().any(char::is_control) {
        err(field, Problem::ControlCharacter)
    } else {
        Ok(())
    }
}

fn validate_range(field: &str, value: u64, min: u64, max: u64) -> Check {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        err(field, Problem::OutOfRange { min, max, value })
    }
}

/// Checks a route's host and port.
pub fn validate_route(field: &str, route: &Route) -> Check {
    validate_host(&format!("{field}.host"), &route.host)?;
    if route.port == Some(0) {
        return err(format!("{field}.port"), Problem::ZeroPort);
    }
    Ok(())
}

fn validate_transports(field: &str, transports: &[Transport]) -> Check {
    if transports.is_empty() {
        return err(field, Problem::Empty);
    }
    for (i, t) in transports.iter().enumerate() {
        if transports.get(..i).is_some_and(|before| before.contains(t)) {
            return err(
                format!("{field}[{i}]"),
                Problem::Duplicate {
                    value: t.to_string(),
                },
            );
        }
    }
    Ok(())
}

fn validate_audio(field: &str, audio: &AudioSettings) -> Check {
    let list = format!("{field}.codec_list");
    if audio.codec_list.is_empty() {
        return err(list, Problem::Empty);
    }
    for (i, codec) in audio.codec_list.iter().enumerate() {
        if !is_token(codec) {
            return err(
                format!("{list}[{i}]"),
                Problem::NotAToken {
                    value: codec.clone(),
                },
            );
        }
        let before = audio.codec_list.get(..i).unwrap_or_default();
        if before.iter().any(|c| c.eq_ignore_ascii_case(codec)) {
            return err(
                format!("{list}[{i}]"),
                Problem::Duplicate {
                    value: codec.clone(),
                },
            );
        }
    }
    Ok(())
}

fn validate_chat(field: &str, chat: &ChatSettings) -> Check {
    for (i, t) in chat.accept_types.iter().enumerate() {
        let ok = match t.split_once('/') {
            Some((ty, sub)) => (ty == "*" || is_token(ty)) && (sub == "*" || is_token(sub)),
            None => t == "*",
        };
        if !ok {
            return err(
                format!("{field}.accept_types[{i}]"),
                Problem::NotAMimeType { value: t.clone() },
            );
        }
    }
    if let Some(relay) = &chat.msrp_relay {
        validate_route(&format!("{field}.msrp_relay"), relay)?;
    }
    Ok(())
}

impl Validate for AccountSettings {
    fn validate(&self) -> Check {
        validate_sip_address("id", &self.id)?;
        if let Some(name) = &self.display_name {
            validate_text("display_name", name)?;
        }
        if let Some(user) = &self.auth_username {
            if user.is_empty() {
                return err("auth_username", Problem::Empty);
            }
            validate_text("auth_username", user)?;
        }
        for (i, route) in self.sip.outbound_proxy.iter().enumerate() {
            validate_route(&format!("sip.outbound_proxy[{i}]"), route)?;
        }
        validate_transports("sip.transports", &self.sip.transports)?;
        validate_range(
            "registration.expires",
            u64::from(self.registration.expires),
            u64::from(MIN_REGISTRATION_EXPIRES),
            u64::from(MAX_REGISTRATION_EXPIRES),
        )?;
        validate_audio("audio", &self.audio)?;
        validate_chat("chat", &self.chat)
    }
}

impl Validate for BonjourSettings {
    fn validate(&self) -> Check {
        if let Some(name) = &self.display_name {
            validate_text("display_name", name)?;
        }
        validate_transports("transports", &self.transports)?;
        validate_audio("audio", &self.audio)?;
        validate_chat("chat", &self.chat)
    }
}

impl Validate for GeneralSettings {
    fn validate(&self) -> Check {
        if self.user_agent.trim().is_empty() {
            return err("user_agent", Problem::Empty);
        }
        validate_text("user_agent", &self.user_agent)?;
        validate_transports("sip.transports", &self.sip.transports)?;
        for (name, device) in [
            ("audio.input_device", &self.audio.input_device),
            ("audio.output_device", &self.audio.output_device),
            ("audio.alert_device", &self.audio.alert_device),
        ] {
            if let Some(device) = device {
                validate_text(name, device)?;
            }
        }
        const RATES: [u32; 5] = [8_000, 16_000, 32_000, 44_100, 48_000];
        if !RATES.contains(&self.audio.sample_rate) {
            return err(
                "audio.sample_rate",
                Problem::NotAllowed {
                    value: self.audio.sample_rate.to_string(),
                },
            );
        }
        validate_range(
            "chat.iscomposing_refresh",
            u64::from(self.chat.iscomposing_refresh),
            1,
            3_600,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Check) -> String {
        r.err().map(|e| e.field).unwrap_or_default()
    }

    #[test]
    fn sip_addresses() {
        let ok = |s: &str| validate_sip_address("id", &SipAddress::new(s)).is_ok();
        assert!(ok("alice@example.com"));
        assert!(ok("alice@10.0.0.1"));
        assert!(ok("alice@[2001:db8::1]"));
        assert!(!ok(""));
        assert!(!ok("alice"));
        assert!(!ok("@example.com"));
        assert!(!ok("alice@"));
        assert!(!ok("alice@example.com:5060"));
        assert!(!ok("alice@example.com;transport=tcp"));
        assert!(!ok("al ice@example.com"));
        assert!(!ok("alice@exa mple.com"));
    }

    #[test]
    fn transports_must_be_distinct_and_present() {
        assert_eq!(
            field_of(validate_transports("t", &[Transport::Ws, Transport::Ws])),
            "t[1]"
        );
        assert_eq!(field_of(validate_transports("t", &[])), "t");
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(GeneralSettings::default().validate(), Ok(()));
        assert_eq!(BonjourSettings::default().validate(), Ok(()));
        assert_eq!(AccountSettings::new("a@b.c").validate(), Ok(()));
        assert_eq!(
            field_of(AccountSettings::default().validate()),
            "id",
            "the default id is empty"
        );
    }
}

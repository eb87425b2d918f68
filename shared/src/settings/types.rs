//! The settings documents: general settings, account settings and the Bonjour account's
//! settings (the Configuration API's `SIPSimpleSettings`, `Account` and `BonjourAccount`).
//!
//! Every struct is `#[serde(default)]`, so a document written by an older version (missing a
//! newer field) still loads, and unknown fields are ignored, so a newer document loads in an
//! older version. Field names are the setting names reported in change notifications
//! (`registration.enabled`, `sip.outbound_proxy`).

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::sip::Uri;

/// A SIP address `user@domain` (the Configuration API's `SIPAddress`). It is checked by
/// validation, not on construction, so that a stored document with a bad id can still be
/// loaded, reported and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SipAddress(String);

impl SipAddress {
    /// Wraps `address` without checking it.
    pub fn new(address: impl Into<String>) -> SipAddress {
        SipAddress(address.into())
    }

    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the first `@` (empty if there is none).
    pub fn username(&self) -> &str {
        self.0.split_once('@').map_or("", |(user, _)| user)
    }

    /// The part after the first `@` (the whole address if there is none).
    pub fn domain(&self) -> &str {
        self.0
            .split_once('@')
            .map_or(self.0.as_str(), |(_, domain)| domain)
    }

    /// The address as a `sip:` URI, if it parses as one.
    pub fn uri(&self) -> Option<Uri> {
        Uri::parse(&format!("sip:{}", self.0)).ok()
    }
}

impl fmt::Display for SipAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for SipAddress {
    fn from(s: &str) -> SipAddress {
        SipAddress::new(s)
    }
}

/// A SIP transport (RFC 3261 §18, RFC 7118).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    /// Every transport, in the default preference order of a browser-first SDK.
    pub const ALL: [Transport; 5] = [
        Transport::Wss,
        Transport::Ws,
        Transport::Tls,
        Transport::Tcp,
        Transport::Udp,
    ];

    /// The `transport=` URI parameter value, in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }

    /// The transport named `s` (case-insensitive).
    pub fn parse(s: &str) -> Option<Transport> {
        Transport::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A next hop: an outbound proxy (the seed's `sipsimple.core.Route`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Host name or IP address (an IPv6 address in brackets).
    pub host: String,
    /// The port; `None` for the transport's default (or DNS SRV).
    #[serde(default)]
    pub port: Option<u16>,
    /// The transport to reach it with.
    #[serde(default = "Route::default_transport")]
    pub transport: Transport,
}

impl Route {
    /// A route to `host` on the default port over `transport`.
    pub fn new(host: impl Into<String>, transport: Transport) -> Route {
        Route {
            host: host.into(),
            port: None,
            transport,
        }
    }

    fn default_transport() -> Transport {
        Transport::Udp
    }

    /// The loose-routing URI of the hop: `sip:host[:port];transport=t;lr`.
    pub fn uri(&self) -> Uri {
        let mut uri = Uri::sip(None, &self.host);
        uri.port = self.port;
        if self.transport != Transport::Udp {
            uri.set_param("transport", Some(self.transport.as_str()));
        }
        uri.set_param("lr", None);
        uri
    }
}

/// An optional function of an account that only needs an on/off flag for now
/// (`presence`, `dialog_event`, `message_summary`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureSettings {
    /// Whether the function runs while the account is active.
    pub enabled: bool,
}

/// The account's registration (`registration.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistrationSettings {
    /// Whether the account registers while it is active.
    pub enabled: bool,
    /// The binding lifetime asked for, in seconds.
    pub expires: u32,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        RegistrationSettings {
            enabled: true,
            expires: 600,
        }
    }
}

/// How an account reaches its domain (`sip.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSipSettings {
    /// Outbound proxies, tried in order; empty to use the domain itself.
    pub outbound_proxy: Vec<Route>,
    /// Transports this account may use, most preferred first.
    pub transports: Vec<Transport>,
}

impl Default for AccountSipSettings {
    fn default() -> Self {
        AccountSipSettings {
            outbound_proxy: Vec::new(),
            transports: vec![Transport::Wss, Transport::Ws],
        }
    }
}

/// SRTP use for audio (placeholder for the media issue).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SrtpEncryption {
    /// Plain RTP only.
    Disabled,
    /// Offer SRTP, accept RTP.
    #[default]
    Optional,
    /// Refuse plain RTP.
    Mandatory,
}

/// Audio options of an account (`audio.*`, placeholder for the media issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AudioSettings {
    /// Codec names, most preferred first (RFC 3551 / RFC 7587 encoding names).
    pub codec_list: Vec<String>,
    /// SRTP use.
    pub srtp_encryption: SrtpEncryption,
}

impl Default for AudioSettings {
    fn default() -> Self {
        AudioSettings {
            codec_list: ["opus", "G722", "PCMU", "PCMA"]
                .map(str::to_string)
                .to_vec(),
            srtp_encryption: SrtpEncryption::Optional,
        }
    }
}

/// Chat options of an account (`chat.*`, placeholder for the MSRP issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatSettings {
    /// MIME types accepted in chat streams (`a=accept-types`, RFC 4975 §8.6).
    pub accept_types: Vec<String>,
    /// An MSRP relay (RFC 4976) to use, if any.
    pub msrp_relay: Option<Route>,
}

impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            accept_types: ["message/cpim", "text/*", "application/im-iscomposing+xml"]
                .map(str::to_string)
                .to_vec(),
            msrp_relay: None,
        }
    }
}

/// The settings of one SIP account (the Configuration API's `Account`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSettings {
    /// The SIP id, `user@domain`; it names the account and cannot change.
    pub id: SipAddress,
    /// The display name put in From.
    pub display_name: Option<String>,
    /// Whether the account is used at all (off for a new account, as in the seed).
    pub enabled: bool,
    /// The digest password.
    pub password: String,
    /// The digest user name when it differs from the id's user part.
    pub auth_username: Option<String>,
    /// Proxies and transports.
    pub sip: AccountSipSettings,
    /// Registration.
    pub registration: RegistrationSettings,
    /// Presence subscriptions and publication (not implemented yet).
    pub presence: FeatureSettings,
    /// Dialog-info subscriptions and publication (not implemented yet).
    pub dialog_event: FeatureSettings,
    /// Message-summary subscription (not implemented yet).
    pub message_summary: FeatureSettings,
    /// Audio options.
    pub audio: AudioSettings,
    /// Chat options.
    pub chat: ChatSettings,
}

impl AccountSettings {
    /// The default settings of the account `id`.
    pub fn new(id: impl Into<String>) -> AccountSettings {
        AccountSettings {
            id: SipAddress::new(id),
            ..AccountSettings::default()
        }
    }
}

/// The settings of the Bonjour (peer-to-peer) account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BonjourSettings {
    /// The display name put in From.
    pub display_name: Option<String>,
    /// Whether the account is used. Off by default: the browser cannot do mDNS, so only a
    /// native shell opts in.
    pub enabled: bool,
    /// Transports the account may use, most preferred first.
    pub transports: Vec<Transport>,
    /// Audio options.
    pub audio: AudioSettings,
    /// Chat options.
    pub chat: ChatSettings,
}

impl Default for BonjourSettings {
    fn default() -> Self {
        BonjourSettings {
            display_name: None,
            enabled: false,
            transports: vec![Transport::Tls, Transport::Tcp, Transport::Udp],
            audio: AudioSettings::default(),
            chat: ChatSettings::default(),
        }
    }
}

/// Application-wide SIP options (`sip.*` of the general settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeneralSipSettings {
    /// Transports the application offers, most preferred first.
    pub transports: Vec<Transport>,
    /// The UDP port to listen on (0 for any), where the shell can listen.
    pub udp_port: u16,
    /// The TCP port to listen on (0 for any).
    pub tcp_port: u16,
    /// The TLS port to listen on (0 for any).
    pub tls_port: u16,
}

impl Default for GeneralSipSettings {
    fn default() -> Self {
        GeneralSipSettings {
            transports: Transport::ALL.to_vec(),
            udp_port: 0,
            tcp_port: 0,
            tls_port: 0,
        }
    }
}

/// Application-wide audio options (placeholder for the media issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeneralAudioSettings {
    /// The capture device, `None` for the system default.
    pub input_device: Option<String>,
    /// The playback device, `None` for the system default.
    pub output_device: Option<String>,
    /// The device that rings, `None` for the system default.
    pub alert_device: Option<String>,
    /// The sample rate in Hz.
    pub sample_rate: u32,
}

impl Default for GeneralAudioSettings {
    fn default() -> Self {
        GeneralAudioSettings {
            input_device: None,
            output_device: None,
            alert_device: None,
            sample_rate: 48_000,
        }
    }
}

/// Application-wide chat options (placeholder for the MSRP issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeneralChatSettings {
    /// Seconds between is-composing refreshes (RFC 3994 §3.2 suggests 120).
    pub iscomposing_refresh: u32,
}

impl Default for GeneralChatSettings {
    fn default() -> Self {
        GeneralChatSettings {
            iscomposing_refresh: 120,
        }
    }
}

/// The application's general settings (the Configuration API's `SIPSimpleSettings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeneralSettings {
    /// The User-Agent header value.
    pub user_agent: String,
    /// SIP options.
    pub sip: GeneralSipSettings,
    /// Audio options.
    pub audio: GeneralAudioSettings,
    /// Chat options.
    pub chat: GeneralChatSettings,
}

impl Default for GeneralSettings {
    fn default() -> Self {
        GeneralSettings {
            user_agent: concat!("sipsimple-rs/", env!("CARGO_PKG_VERSION")).to_string(),
            sip: GeneralSipSettings::default(),
            audio: GeneralAudioSettings::default(),
            chat: GeneralChatSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_address_parts() {
        let a = SipAddress::new("alice@example.com");
        assert_eq!(a.username(), "alice");
        assert_eq!(a.domain(), "example.com");
        assert_eq!(SipAddress::new("nobody").username(), "");
        assert_eq!(
            a.uri().map(|u| u.to_string()).as_deref(),
            Some("sip:alice@example.com")
        );
    }

    #[test]
    fn route_uri() {
        let mut r = Route::new("proxy.example.com", Transport::Tls);
        r.port = Some(5061);
        assert_eq!(
            r.uri().to_string(),
            "sip:proxy.example.com:5061;transport=tls;lr"
        );
        assert_eq!(
            Route::new("10.0.0.1", Transport::Udp).uri().to_string(),
            "sip:10.0.0.1;lr"
        );
    }

    #[test]
    fn transports_round_trip_by_name() {
        for t in Transport::ALL {
            assert_eq!(Transport::parse(t.as_str()), Some(t));
        }
        assert_eq!(Transport::parse("TLS"), Some(Transport::Tls));
        assert_eq!(Transport::parse("sctp"), None);
    }
}

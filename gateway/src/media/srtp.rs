//! SDES-SRTP for the SIP leg: master keys exchanged in `a=crypto` (RFC 4568 §4, §6.1,
//! §6.2.1 for the two AES_CM_128_HMAC_SHA1 suites) and the SRTP/SRTCP transforms of
//! RFC 3711 through `webrtc-srtp`.
//!
//! The attribute syntax is read by the shared core (`sipsimple::sdp::Crypto`); this module
//! decides what the gateway accepts: one inline key of 16 bytes of key and 14 of salt, a
//! key lifetime of at least 2^20 packets (the gateway never re-keys, see
//! [`SdesKey::from_attribute`]), no MKI, and no session parameters other than a zero key
//! derivation rate or a window size hint.

// A building block of the relay: the binary need not use every item yet; the test build
// still reports code that nothing, not even a test, uses.
#![cfg_attr(not(test), allow(dead_code))]

use crate::base64::{decode as base64_decode, encode as base64_encode};
use bytes::Bytes;
use sipsimple::sdp::{Crypto, KeyParam};
use std::fmt;
use webrtc_srtp::context::Context;
use webrtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use webrtc_srtp::protection_profile::ProtectionProfile;

/// Master key length of both suites (RFC 4568 §6.2.1).
const KEY_LEN: usize = 16;
/// Master salt length of both suites.
const SALT_LEN: usize = 14;
/// The replay window (RFC 3711 §3.3.2 asks for at least 64).
const REPLAY_WINDOW: usize = 128;
/// The smallest key lifetime accepted, in packets: 2^20 packets last about 5.8 hours at
/// 50 packets/s, longer than any call the gateway expects to relay on one key.
const MIN_LIFETIME_LOG2: u32 = 20;
/// An RTP fixed header (RFC 3550 §5.1).
const RTP_HEADER_LEN: usize = 12;
/// The RTCP header with the sender SSRC, and the SRTCP E flag and index (RFC 3711 §3.4).
const SRTCP_MIN_PLAIN: usize = 8;
const SRTCP_INDEX_LEN: usize = 4;

/// An SDES crypto suite the gateway supports (RFC 4568 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// AES counter mode, 128-bit key, HMAC-SHA1 tag of 80 bits.
    AesCm128HmacSha1_80,
    /// AES counter mode, 128-bit key, HMAC-SHA1 tag of 32 bits on SRTP (80 on SRTCP).
    AesCm128HmacSha1_32,
}

impl Suite {
    /// The suite's name in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite named in `a=crypto`. Suite names are case-sensitive tokens (RFC 4568
    /// §9.1); other cases are accepted all the same, as some phones send them.
    pub fn from_name(name: &str) -> Option<Suite> {
        [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32]
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    fn profile(self) -> ProtectionProfile {
        match self {
            Suite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            Suite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What went wrong with SDES keys or an SRTP packet.
#[derive(Debug)]
#[non_exhaustive]
pub enum SrtpError {
    /// The `a=crypto` value does not follow RFC 4568's grammar.
    Malformed(String),
    /// A crypto suite the gateway does not support.
    UnsupportedSuite(String),
    /// A key method other than `inline`, or more than one key.
    UnsupportedKeyMethod(String),
    /// The key is not valid base64.
    BadBase64,
    /// The key and salt are not 30 bytes.
    KeyLength(usize),
    /// A key lifetime too short to go without re-keying, or unreadable.
    UnsupportedLifetime(String),
    /// A master key identifier; `webrtc-srtp` has no MKI support.
    UnsupportedMki(String),
    /// A session parameter the gateway does not implement (RFC 4568 §6.3).
    UnsupportedSessionParam(String),
    /// The system's random generator failed.
    Random(String),
    /// A packet too short for SRTP or SRTCP.
    TooShort(usize),
    /// The SRTP library's error: authentication failure, replay, bad header...
    Srtp(webrtc_srtp::Error),
}

impl fmt::Display for SrtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SrtpError::Malformed(v) => write!(f, "malformed a=crypto value {v:?}"),
            SrtpError::UnsupportedSuite(s) => write!(f, "unsupported SRTP crypto suite {s}"),
            SrtpError::UnsupportedKeyMethod(m) => {
                write!(f, "unsupported SDES key parameters: {m}")
            }
            SrtpError::BadBase64 => f.write_str("the SDES inline key is not valid base64"),
            SrtpError::KeyLength(n) => write!(
                f,
                "the SDES key and salt must be {} bytes, not {n}",
                KEY_LEN + SALT_LEN
            ),
            SrtpError::UnsupportedLifetime(l) => write!(
                f,
                "unsupported SDES key lifetime {l} (at least 2^{MIN_LIFETIME_LOG2} packets needed)"
            ),
            SrtpError::UnsupportedMki(m) => {
                write!(f, "SDES master key identifiers are not supported (MKI {m})")
            }
            SrtpError::UnsupportedSessionParam(p) => {
                write!(f, "unsupported SDES session parameter {p}")
            }
            SrtpError::Random(e) => write!(f, "cannot generate an SRTP key: {e}"),
            SrtpError::TooShort(n) => write!(f, "a {n}-byte packet is too short for SRTP"),
            SrtpError::Srtp(e) => write!(f, "SRTP: {e}"),
        }
    }
}

impl std::error::Error for SrtpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SrtpError::Srtp(e) => Some(e),
            _ => None,
        }
    }
}

impl From<webrtc_srtp::Error> for SrtpError {
    fn from(e: webrtc_srtp::Error) -> SrtpError {
        SrtpError::Srtp(e)
    }
}

/// One side's SDES master key and salt.
#[derive(Clone, PartialEq, Eq)]
pub struct SdesKey {
    /// The crypto suite.
    pub suite: Suite,
    /// The master key (16 bytes) followed by the master salt (14 bytes).
    pub key_salt: [u8; 30],
}

impl fmt::Debug for SdesKey {
    // Never log key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdesKey")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl SdesKey {
    /// A fresh random key for `suite` from the operating system's generator.
    pub fn generate(suite: Suite) -> Result<SdesKey, SrtpError> {
        let mut key_salt = [0u8; KEY_LEN + SALT_LEN];
        getrandom::fill(&mut key_salt).map_err(|e| SrtpError::Random(e.to_string()))?;
        Ok(SdesKey { suite, key_salt })
    }

    /// The value of an `a=crypto:` attribute offering this key under `tag`, for instance
    /// `1 AES_CM_128_HMAC_SHA1_80 inline:<40 characters of base64>`.
    pub fn to_attribute(&self, tag: u32) -> String {
        Crypto {
            tag,
            suite: self.suite.name().to_string(),
            key_params: vec![KeyParam {
                method: "inline".to_string(),
                info: base64_encode(&self.key_salt),
            }],
            session_params: Vec::new(),
        }
        .to_string()
    }

    /// Reads the value of an `a=crypto:` attribute into its tag and key.
    ///
    /// Refused, each with its own [`SrtpError`]: other suites, a key method other than
    /// `inline` or several keys, bad base64, a key that is not 30 bytes, an MKI, a lifetime
    /// under 2^20 packets (longer ones are accepted and not enforced: no call lasts the
    /// 5.8 hours 2^20 packets take at 50 packets/s), and session parameters other than
    /// `KDR=0` and `WSH=`.
    pub fn from_attribute(value: &str) -> Result<(u32, SdesKey), SrtpError> {
        let crypto = Crypto::parse(value).ok_or_else(|| SrtpError::Malformed(value.to_string()))?;
        SdesKey::from_crypto(&crypto)
    }

    /// Like [`SdesKey::from_attribute`], for an attribute the SDP parser has already read.
    pub fn from_crypto(crypto: &Crypto) -> Result<(u32, SdesKey), SrtpError> {
        let suite = Suite::from_name(&crypto.suite)
            .ok_or_else(|| SrtpError::UnsupportedSuite(crypto.suite.clone()))?;
        let [param] = crypto.key_params.as_slice() else {
            return Err(SrtpError::UnsupportedKeyMethod(format!(
                "{} keys (only one is supported)",
                crypto.key_params.len()
            )));
        };
        if !param.method.eq_ignore_ascii_case("inline") {
            return Err(SrtpError::UnsupportedKeyMethod(param.method.clone()));
        }
        let inline = param
            .inline()
            .ok_or_else(|| SrtpError::Malformed(crypto.to_string()))?;
        if let Some(mki) = &inline.mki {
            return Err(SrtpError::UnsupportedMki(format!(
                "{}:{}",
                mki.value, mki.length
            )));
        }
        if let Some(lifetime) = &inline.lifetime {
            check_lifetime(lifetime)?;
        }
        for p in &crypto.session_params {
            let upper = p.to_ascii_uppercase();
            let harmless = upper.starts_with("WSH=") || upper == "KDR=0";
            if !harmless {
                return Err(SrtpError::UnsupportedSessionParam(p.clone()));
            }
        }
        let bytes = base64_decode(&inline.key_salt).ok_or(SrtpError::BadBase64)?;
        let key_salt: [u8; KEY_LEN + SALT_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SrtpError::KeyLength(bytes.len()))?;
        Ok((crypto.tag, SdesKey { suite, key_salt }))
    }

    fn context(&self, replay_protection: bool) -> Result<Context, SrtpError> {
        let (key, salt) = self.key_salt.split_at(KEY_LEN);
        let (rtp_opt, rtcp_opt) = if replay_protection {
            (
                Some(srtp_replay_protection(REPLAY_WINDOW)),
                Some(srtcp_replay_protection(REPLAY_WINDOW)),
            )
        } else {
            (None, None)
        };
        Ok(Context::new(
            key,
            salt,
            self.suite.profile(),
            rtp_opt,
            rtcp_opt,
        )?)
    }
}

/// Accepts a lifetime of `2^n` with n ≥ 20 or a decimal number of at least 2^20.
fn check_lifetime(lifetime: &str) -> Result<(), SrtpError> {
    let bad = || SrtpError::UnsupportedLifetime(lifetime.to_string());
    let packets_log2_ok = if let Some(exp) = lifetime.strip_prefix("2^") {
        exp.parse::<u32>().map_err(|_| bad())? >= MIN_LIFETIME_LOG2
    } else {
        // More digits than a u64 holds is certainly long enough.
        lifetime.bytes().all(|b| b.is_ascii_digit())
            && lifetime
                .parse::<u64>()
                .map_or(!lifetime.is_empty(), |n| n >= 1 << MIN_LIFETIME_LOG2)
    };
    if packets_log2_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// The SRTP transforms of one SIP leg: ours protects what we send with our key, the other
/// unprotects what the peer sends with its key (RFC 4568 §6.1: each side sends with the
/// key it offered or answered). Replay protection (a 128-packet window) is on for
/// received packets.
pub struct SrtpSession {
    local_suite: Suite,
    remote_suite: Suite,
    outbound: Context,
    inbound: Context,
}

impl fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpSession")
            .field("local_suite", &self.local_suite)
            .field("remote_suite", &self.remote_suite)
            .finish_non_exhaustive()
    }
}

impl SrtpSession {
    /// A session sending with `local` and receiving with `remote`.
    pub fn new(local: &SdesKey, remote: &SdesKey) -> Result<SrtpSession, SrtpError> {
        Ok(SrtpSession {
            local_suite: local.suite,
            remote_suite: remote.suite,
            outbound: local.context(false)?,
            inbound: remote.context(true)?,
        })
    }

    /// Encrypts and authenticates an RTP packet (RFC 3711 §3.3).
    pub fn protect_rtp(&mut self, rtp: &[u8]) -> Result<Bytes, SrtpError> {
        if rtp.len() < RTP_HEADER_LEN {
            return Err(SrtpError::TooShort(rtp.len()));
        }
        Ok(self.outbound.encrypt_rtp(rtp)?)
    }

    /// Authenticates and decrypts an SRTP packet from the peer; replays and forgeries are
    /// errors.
    pub fn unprotect_rtp(&mut self, srtp: &[u8]) -> Result<Bytes, SrtpError> {
        let tag = self.remote_suite.profile().rtp_auth_tag_len();
        if srtp.len() < RTP_HEADER_LEN + tag {
            return Err(SrtpError::TooShort(srtp.len()));
        }
        Ok(self.inbound.decrypt_rtp(srtp)?)
    }

    /// Encrypts and authenticates an RTCP compound packet (RFC 3711 §3.4).
    pub fn protect_rtcp(&mut self, rtcp: &[u8]) -> Result<Bytes, SrtpError> {
        if rtcp.len() < SRTCP_MIN_PLAIN {
            return Err(SrtpError::TooShort(rtcp.len()));
        }
        Ok(self.outbound.encrypt_rtcp(rtcp)?)
    }

    /// Authenticates and decrypts an SRTCP packet from the peer.
    pub fn unprotect_rtcp(&mut self, srtcp: &[u8]) -> Result<Bytes, SrtpError> {
        // webrtc-srtp indexes the E flag, the index and the SSRC before checking lengths.
        let tag = self.remote_suite.profile().rtcp_auth_tag_len();
        if srtcp.len() < SRTCP_MIN_PLAIN + SRTCP_INDEX_LEN + tag {
            return Err(SrtpError::TooShort(srtcp.len()));
        }
        Ok(self.inbound.decrypt_rtcp(srtcp)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libsrtp's `srtp_validate` vector (test/srtp_driver.c): master key and salt, an RTP
    /// packet of SSRC 0xcafebabe, sequence 0x1234, and its SRTP and SRTCP forms.
    const VECTOR_KEY_SALT: [u8; 30] = [
        0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41,
        0x39, 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
    ];
    const VECTOR_RTP: [u8; 28] = [
        0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab, 0xab,
        0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
    ];
    const VECTOR_SRTP: [u8; 38] = [
        0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0x4e, 0x55, 0xdc,
        0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d, 0x24, 0x02, 0xb7, 0x8d,
        0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb,
    ];
    const VECTOR_RTCP: [u8; 24] = [
        0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
        0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
    ];
    const VECTOR_SRTCP: [u8; 38] = [
        0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0x71, 0x28, 0x03, 0x5b, 0xe4, 0x87, 0xb9,
        0xbd, 0xbe, 0xf8, 0x90, 0x41, 0xf9, 0x77, 0xa5, 0xa8, 0x80, 0x00, 0x00, 0x01, 0x99, 0x3e,
        0x08, 0xcd, 0x54, 0xd6, 0xc1, 0x23, 0x07, 0x98,
    ];

    fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 0x00];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        p.extend_from_slice(&0x1122_3344u32.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn suites_by_name() {
        assert_eq!(
            Suite::from_name("AES_CM_128_HMAC_SHA1_80"),
            Some(Suite::AesCm128HmacSha1_80)
        );
        assert_eq!(
            Suite::from_name("AES_CM_128_HMAC_SHA1_32"),
            Some(Suite::AesCm128HmacSha1_32)
        );
        assert_eq!(Suite::from_name("AEAD_AES_128_GCM"), None);
        assert_eq!(Suite::AesCm128HmacSha1_32.name(), "AES_CM_128_HMAC_SHA1_32");
    }

    #[test]
    fn attribute_round_trip() {
        let key = SdesKey::generate(Suite::AesCm128HmacSha1_80).expect("key");
        let other = SdesKey::generate(Suite::AesCm128HmacSha1_80).expect("key");
        assert_ne!(key.key_salt, other.key_salt);
        let value = key.to_attribute(1);
        assert!(
            value.starts_with("1 AES_CM_128_HMAC_SHA1_80 inline:"),
            "{value}"
        );
        assert_eq!(value.len(), "1 AES_CM_128_HMAC_SHA1_80 inline:".len() + 40);
        let (tag, back) = SdesKey::from_attribute(&value).expect("parse");
        assert_eq!(tag, 1);
        assert_eq!(back, key);
        let parsed = Crypto::parse(&key.to_attribute(7)).expect("crypto");
        assert_eq!(
            SdesKey::from_crypto(&parsed).expect("key"),
            (7, key.clone())
        );
        assert!(!format!("{key:?}").contains("key_salt"));
    }

    #[test]
    fn attribute_known_value() {
        // A key often seen in examples; its bytes happen to be printable ASCII.
        let (tag, key) = SdesKey::from_attribute(
            "1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj",
        )
        .expect("parse");
        assert_eq!(tag, 1);
        assert_eq!(key.suite, Suite::AesCm128HmacSha1_32);
        assert_eq!(&key.key_salt[..8], b"70xwPH5@");
        assert_eq!(
            key.to_attribute(1),
            "1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"
        );
        // Long lifetimes and harmless session parameters are accepted.
        for v in [
            "2 AES_CM_128_HMAC_SHA1_80 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^31",
            "2 AES_CM_128_HMAC_SHA1_80 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20",
            "2 AES_CM_128_HMAC_SHA1_80 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|1048576",
            "2 AES_CM_128_HMAC_SHA1_80 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj KDR=0 WSH=64",
        ] {
            assert!(SdesKey::from_attribute(v).is_ok(), "{v}");
        }
    }

    #[test]
    fn attribute_rejections() {
        let key = "NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj";
        type Check = fn(&SrtpError) -> bool;
        let cases: &[(String, Check)] = &[
            ("garbage".into(), |e| matches!(e, SrtpError::Malformed(_))),
            (format!("1 AEAD_AES_256_GCM inline:{key}"), |e| {
                matches!(e, SrtpError::UnsupportedSuite(_))
            }),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key};inline:{key}"),
                |e| matches!(e, SrtpError::UnsupportedKeyMethod(_)),
            ),
            (format!("1 AES_CM_128_HMAC_SHA1_80 uri:{key}"), |e| {
                matches!(e, SrtpError::UnsupportedKeyMethod(_))
            }),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Z!".into(),
                |e| matches!(e, SrtpError::BadBase64),
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdU".into(),
                |e| matches!(e, SrtpError::KeyLength(24)),
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^20|1:4"),
                |e| matches!(e, SrtpError::UnsupportedMki(_)),
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^10"),
                |e| matches!(e, SrtpError::UnsupportedLifetime(_)),
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key}|1000"),
                |e| matches!(e, SrtpError::UnsupportedLifetime(_)),
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key} UNENCRYPTED_SRTP"),
                |e| matches!(e, SrtpError::UnsupportedSessionParam(_)),
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key} KDR=24"),
                |e| matches!(e, SrtpError::UnsupportedSessionParam(_)),
            ),
        ];
        for (value, expected) in cases {
            let err = SdesKey::from_attribute(value).expect_err(value);
            assert!(expected(&err), "{value}: {err}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn base64_codec() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_decode("Zg==").as_deref(), Some(&b"f"[..]));
        assert_eq!(base64_decode("Zm8").as_deref(), Some(&b"fo"[..]));
        assert_eq!(base64_decode("Zm9vYmFy").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base64_decode("Zh=="), None, "non-canonical");
        assert_eq!(base64_decode("Z"), None);
        assert_eq!(base64_decode("Zg==="), None);
        assert_eq!(base64_decode("Zm9v YmFy"), None);
    }

    #[test]
    fn libsrtp_vector() {
        let key = SdesKey {
            suite: Suite::AesCm128HmacSha1_80,
            key_salt: VECTOR_KEY_SALT,
        };
        let mut s = SrtpSession::new(&key, &key).expect("session");
        assert_eq!(
            &s.protect_rtp(&VECTOR_RTP).expect("protect")[..],
            &VECTOR_SRTP[..]
        );
        assert_eq!(
            &s.unprotect_rtp(&VECTOR_SRTP).expect("unprotect")[..],
            &VECTOR_RTP[..]
        );
        assert_eq!(
            &s.protect_rtcp(&VECTOR_RTCP).expect("protect")[..],
            &VECTOR_SRTCP[..]
        );
        assert_eq!(
            &s.unprotect_rtcp(&VECTOR_SRTCP).expect("unprotect")[..],
            &VECTOR_RTCP[..]
        );

        // The 32-bit tag suite truncates the same HMAC.
        let key32 = SdesKey {
            suite: Suite::AesCm128HmacSha1_32,
            key_salt: VECTOR_KEY_SALT,
        };
        let mut s = SrtpSession::new(&key32, &key32).expect("session");
        assert_eq!(
            &s.protect_rtp(&VECTOR_RTP).expect("protect")[..],
            &VECTOR_SRTP[..32]
        );
        assert_eq!(
            &s.unprotect_rtp(&VECTOR_SRTP[..32]).expect("unprotect")[..],
            &VECTOR_RTP[..]
        );
    }

    #[test]
    fn sessions_with_swapped_keys_talk() {
        for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
            let a = SdesKey::generate(suite).expect("key");
            let b = SdesKey::generate(suite).expect("key");
            let mut alice = SrtpSession::new(&a, &b).expect("session");
            let mut bob = SrtpSession::new(&b, &a).expect("session");
            for seq in [65_530u16, 65_535, 0, 1, 7] {
                let plain = rtp(seq, &[seq as u8; 160]);
                let sealed = alice.protect_rtp(&plain).expect("protect");
                assert_ne!(&sealed[12..172], &plain[12..]);
                assert_eq!(
                    &bob.unprotect_rtp(&sealed).expect("unprotect")[..],
                    &plain[..]
                );
                let back = bob.protect_rtp(&plain).expect("protect");
                assert_eq!(
                    &alice.unprotect_rtp(&back).expect("unprotect")[..],
                    &plain[..]
                );
            }
            let sr = VECTOR_RTCP;
            let sealed = alice.protect_rtcp(&sr).expect("protect");
            assert_eq!(
                &bob.unprotect_rtcp(&sealed).expect("unprotect")[..],
                &sr[..]
            );
            // Alice cannot read her own packets with the peer's key.
            let sealed = alice.protect_rtp(&rtp(100, b"hello")).expect("protect");
            assert!(alice.unprotect_rtp(&sealed).is_err());
        }
    }

    #[test]
    fn tampering_replay_and_short_packets_fail() {
        let a = SdesKey::generate(Suite::AesCm128HmacSha1_80).expect("key");
        let b = SdesKey::generate(Suite::AesCm128HmacSha1_80).expect("key");
        let mut alice = SrtpSession::new(&a, &b).expect("session");
        let mut bob = SrtpSession::new(&b, &a).expect("session");
        let sealed = alice.protect_rtp(&rtp(10, &[1; 20])).expect("protect");
        for i in [1, 12, 20, sealed.len() - 1] {
            let mut bad = sealed.to_vec();
            bad[i] ^= 0x01;
            assert!(bob.unprotect_rtp(&bad).is_err(), "flipped byte {i}");
        }
        assert!(bob.unprotect_rtp(&sealed).is_ok());
        assert!(bob.unprotect_rtp(&sealed).is_err(), "a replay");

        let sealed = alice.protect_rtcp(&VECTOR_RTCP).expect("protect");
        let mut bad = sealed.to_vec();
        bad[10] ^= 0x80;
        assert!(bob.unprotect_rtcp(&bad).is_err());

        for n in 0..22 {
            let junk = vec![0x80u8; n];
            assert!(bob.unprotect_rtp(&junk).is_err());
            assert!(bob.unprotect_rtcp(&junk).is_err());
        }
        // Random bytes (a fixed LCG) with RTP and RTCP-looking first bytes never panic.
        let mut state = 0x1234_5678u32;
        for i in 0..3000usize {
            let len = i % 80;
            let mut junk: Vec<u8> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 24) as u8
                })
                .collect();
            if let Some(first) = junk.first_mut() {
                *first = if i % 2 == 0 {
                    0x80 | (*first & 0x3F)
                } else {
                    0x81
                };
            }
            if let Some(second) = junk.get_mut(1) {
                if i % 2 == 1 {
                    *second = 200;
                }
            }
            let _ = bob.unprotect_rtp(&junk);
            let _ = bob.unprotect_rtcp(&junk);
            let _ = alice.protect_rtp(&junk);
            let _ = alice.protect_rtcp(&junk);
        }
        assert!(alice.protect_rtp(&[0x80; 4]).is_err());
        assert!(alice.protect_rtcp(&[0x81; 4]).is_err());
    }
}

//! The gateway's settings: where it listens (HTTP, HTTPS for RFC 7118 WSS, UDP, TCP and TLS
//! for RFC 3261 §18), the SIP domain its registrar serves (RFC 3261 §10.3), where its files
//! live, the limits of the edge (rates, lockout, message size, WebSocket Origins) and logging.
//!
//! Settings come in layers, each overriding the one before: built-in defaults, the TOML file
//! of `--config`, environment variables `SIPSIMPLE_<KEY>` (the dotted key upper-cased with
//! `_` for `.`: `security.lockout_after` is `SIPSIMPLE_SECURITY_LOCKOUT_AFTER`; lists are
//! comma-separated), then command-line flags. The merged result is checked once at start-up;
//! an error names the key (`config error: security.lockout_after: must be at least 1`).

use crate::guard::{LockoutPolicy, RatePolicy};
pub use cluster::{Cluster, ClusterSettings};
pub use edge::{EdgeDomain, EdgeSettings};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Settings of `sipsimple-gateway serve`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds `gateway.db`, `cert.pem`, `key.pem` and `demo-accounts.txt`.
    pub data_dir: PathBuf,
    /// Plain HTTP and WS.
    pub http: SocketAddr,
    /// HTTPS and WSS, or `None` when disabled with `--https off`.
    pub https: Option<SocketAddr>,
    /// The SIP UDP socket toward SIP servers and phones.
    pub sip_udp: SocketAddr,
    /// The SIP TCP listener, or `None` when disabled with `--sip-tcp off`.
    pub sip_tcp: Option<SocketAddr>,
    /// The SIP TLS listener, or `None` when disabled with `--sip-tls off`.
    pub sip_tls: Option<SocketAddr>,
    /// The SIP domain (and digest realm) of the embedded registrar, lower case.
    pub domain: String,
    /// Static files of the softphone page.
    pub web_dir: PathBuf,
    /// Create the `alice` and `bob` demo accounts in an empty user table.
    pub demo: bool,
    /// The limits of the edge.
    pub security: Security,
    /// Log every SIP message in full (target `sipsimple_gateway::sip`, level debug).
    pub log_sip: bool,
    /// `database.url`: `postgres://...` for PostgreSQL; `None` for `gateway.db` in `data_dir`.
    pub database_url: Option<String>,
    /// `[upstream]`: the proxy requests to foreign domains go through.
    pub upstream: Option<Upstream>,
    /// `[media]`: the WebRTC ⇄ RTP relay.
    pub media: Media,
    /// `[msrp]`: the MSRP relay (RFC 4976) over TCP and WebSocket (RFC 7977).
    pub msrp: Msrp,
    /// `[cluster]`: this node of several gateways sharing PostgreSQL, or `None` alone.
    pub cluster: Option<Cluster>,
    /// `[edge]`: remote registrar domains fronted for browsers (empty: none).
    pub edge: Vec<EdgeDomain>,
}

/// The `[msrp]` settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msrp {
    /// The MSRP over TCP listener, or `None` with `off`.
    pub tcp: Option<SocketAddr>,
    /// `true` when `tcp` is the built-in default: a port already taken (another relay on
    /// this machine) then only turns the listener off with a warning.
    pub tcp_is_default: bool,
    /// The MSRP over TLS listener (RFC 4975 `msrps`, the SIP TLS certificate), or `None`.
    pub tls: Option<SocketAddr>,
    /// `true` when `tls` is the built-in default (a taken port only turns it off).
    pub tls_is_default: bool,
    /// The host written in the relay's URIs (Use-Path), when not the bound address.
    pub advertise: Option<String>,
    /// The largest content of one MSRP chunk (one frame) the relay forwards, in bytes.
    pub max_chunk_size: usize,
    /// MSRP connections (TCP and WebSocket) at most from one source address.
    pub max_connections_per_ip: usize,
}

/// What SRTP the gateway asks of the SIP side in its own offers (RFC 4568 SDES).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpPolicy {
    /// Plain `RTP/AVP`.
    Off,
    /// `RTP/AVP` with `a=crypto`: SRTP when the peer answers with a key.
    Optional,
    /// `RTP/SAVP`: the peer must do SRTP.
    Required,
}

/// The `[media]` settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Anchor media between browsers and the SIP side.
    pub enabled: bool,
    /// The address RTP and ICE sockets bind to.
    pub address: std::net::IpAddr,
    /// The address written in SDP and ICE candidates, when it differs (1:1 NAT).
    pub advertise: Option<std::net::IpAddr>,
    /// The one UDP port of every browser leg (ICE multiplexed); 0 picks a free one.
    pub webrtc_port: u16,
    /// The RTP ports of SIP legs, even port for RTP and the next for RTCP.
    pub rtp_ports: (u16, u16),
    /// SRTP in the gateway's offers to the SIP side.
    pub srtp: SrtpPolicy,
    /// Record every anchored call.
    pub record_calls: bool,
    /// Where recordings go (one folder per user).
    pub recordings_dir: PathBuf,
}

/// The `[upstream]` settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Where requests to foreign domains go (RFC 3261 §8.1.2 outbound proxy).
    pub proxy: sipsimple::sip::Uri,
    /// The transport of `proxy` (its `transport` parameter, UDP by default; TLS for `sips:`).
    pub transport: sipsimple::transaction::TransportKind,
    /// The host of `proxy`.
    pub host: String,
    /// The port of `proxy` (5060, or 5061 for TLS, when absent).
    pub port: u16,
    /// The user name to answer the upstream's 401/407 with.
    pub username: Option<String>,
    /// Its password.
    pub password: Option<String>,
}

/// The limits of the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// Requests per second (and burst) accepted from one source address.
    pub rate: RatePolicy,
    /// When wrong digest answers lock a source out.
    pub lockout: LockoutPolicy,
    /// The largest SIP message on any transport, in bytes.
    pub max_message_size: usize,
    /// Origins allowed to open the SIP WebSocket besides the page's own (`*`: any).
    pub allowed_origins: Vec<String>,
    /// Front proxies (a Kamailio in front of a cluster) whose `X-Sipsimple-Source` header
    /// names the client a request came from: rate limits and lockouts key on that client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// The help text on the configuration file and the environment.
pub const HELP: &str = "\
Configuration: --config FILE (TOML) sets any key below; environment variables
SIPSIMPLE_<KEY> (upper case, `_` for `.`, lists comma-separated) override the file;
command-line flags override both. Keys, defaults and environment variables:
  data_dir = \"gateway-data\"             SIPSIMPLE_DATA_DIR
  domain = \"sipsimple.local\"            SIPSIMPLE_DOMAIN
  http = \"127.0.0.1:8080\"               SIPSIMPLE_HTTP
  https = \"127.0.0.1:8443\" | \"off\"      SIPSIMPLE_HTTPS
  sip_udp = \"127.0.0.1:5060\"            SIPSIMPLE_SIP_UDP
  sip_tcp = \"127.0.0.1:5060\" | \"off\"    SIPSIMPLE_SIP_TCP
  sip_tls = \"127.0.0.1:5061\" | \"off\"    SIPSIMPLE_SIP_TLS
  web_dir = \"web\"                       SIPSIMPLE_WEB_DIR
  demo = true                           SIPSIMPLE_DEMO
  [security]
  rate_limit = 50          requests/s per source address, 0 = off   SIPSIMPLE_SECURITY_RATE_LIMIT
  rate_burst = 200         token bucket size                        SIPSIMPLE_SECURITY_RATE_BURST
  lockout_after = 20       wrong digest answers that lock a source  SIPSIMPLE_SECURITY_LOCKOUT_AFTER
  lockout_window = 300     seconds the wrong answers are counted in SIPSIMPLE_SECURITY_LOCKOUT_WINDOW
  lockout_duration = 900   seconds a lockout lasts                  SIPSIMPLE_SECURITY_LOCKOUT_DURATION
  max_message_size = 65536 bytes, every transport (1024..=16777216) SIPSIMPLE_SECURITY_MAX_MESSAGE_SIZE
  allowed_origins = []     WebSocket Origins besides the page's own and localhost; \"*\" = any
                                                                    SIPSIMPLE_SECURITY_ALLOWED_ORIGINS
  trusted_proxies = []     IP addresses of front proxies (Kamailio) whose header
                           X-Sipsimple-Source: <client IP> the rate limit and the
                           lockout key on instead of the proxy's own address
                                                                    SIPSIMPLE_SECURITY_TRUSTED_PROXIES
  [database]
  url = \"\"                 \"postgres://user:pass@host/db\" for PostgreSQL; empty =
                           gateway.db (SQLite) in data_dir      SIPSIMPLE_DATABASE_URL
  [upstream]
  proxy = \"\"               \"sip:host:port;transport=udp|tcp|tls\": requests of local users
                           to other domains go through it     SIPSIMPLE_UPSTREAM_PROXY
  username = \"\"            credentials for its 401/407         SIPSIMPLE_UPSTREAM_USERNAME
  password = \"\"                                                SIPSIMPLE_UPSTREAM_PASSWORD
  [media]
  enabled = true           relay audio between browsers (WebRTC) and SIP (RTP)  SIPSIMPLE_MEDIA_ENABLED
  address = \"127.0.0.1\"    address media sockets bind to                    SIPSIMPLE_MEDIA_ADDRESS
  advertise = \"\"           address written in SDP/ICE when behind 1:1 NAT    SIPSIMPLE_MEDIA_ADVERTISE
  webrtc_port = 0          the one UDP port of browser media (0 = any free)   SIPSIMPLE_MEDIA_WEBRTC_PORT
  rtp_ports = \"20000-29999\" RTP/RTCP port pairs of SIP legs                  SIPSIMPLE_MEDIA_RTP_PORTS
  srtp = \"off\"             \"off\" | \"optional\" | \"required\": SDES-SRTP offered to SIP
                                                                    SIPSIMPLE_MEDIA_SRTP
  record_calls = false     record every anchored call to WAV                  SIPSIMPLE_MEDIA_RECORD_CALLS
  recordings_dir = \"\"      default: <data_dir>/recordings                     SIPSIMPLE_MEDIA_RECORDINGS_DIR
  [msrp]
  tcp = \"127.0.0.1:2855\" | \"off\" MSRP relay (RFC 4976) over TCP; WebSocket at /msrp always
                                                                    SIPSIMPLE_MSRP_TCP
  tls = \"127.0.0.1:2856\" | \"off\" MSRP over TLS (msrps, the SIP TLS certificate)
                                                                    SIPSIMPLE_MSRP_TLS
  advertise = \"\"           host written in the relay's Use-Path URIs (default: bound IP)
                                                                    SIPSIMPLE_MSRP_ADVERTISE
  max_chunk_size = 1048576 largest chunk forwarded, bytes; larger ones get 413
                                                                    SIPSIMPLE_MSRP_MAX_CHUNK_SIZE
  max_connections_per_ip = 64  MSRP connections per source address  SIPSIMPLE_MSRP_MAX_CONNECTIONS_PER_IP
  [cluster]                (several gateways behind a front proxy, sharing PostgreSQL;
                           docs/scaling.md. Setting any key needs node_id, address, secret
                           and a postgres:// database.url)
  node_id = \"\"             this node's id, 1-64 of A-Z a-z 0-9 . _ -  SIPSIMPLE_CLUSTER_NODE_ID
  address = \"\"             \"10.0.0.11:5060\" or \"sip:host:port;transport=udp|tcp\": where the
                           other nodes and the front proxy reach this node; also the SIP
                           address advertised when sip_udp is 0.0.0.0  SIPSIMPLE_CLUSTER_ADDRESS
  secret = \"\"              shared by every node (16+ characters): signs the requests a node
                           hands to another for its WebSocket users  SIPSIMPLE_CLUSTER_SECRET
  peers = []               addresses (\"10.0.0.12\" or \"10.0.0.12:5060\") hand-overs are
                           accepted from; empty = any source with a valid signature
                                                                    SIPSIMPLE_CLUSTER_PEERS
  [edge]                   (outbound proxy for browsers registering to REMOTE registrars,
                           RFC 3327 Path; empty = every REGISTER is the embedded registrar's)
  domains = []             remote domains: a browser's REGISTER for user@DOMAIN goes to
                           the domain's registrar with our Path      SIPSIMPLE_EDGE_DOMAINS
  registrar = \"\"           \"sip:host:port;transport=udp|tcp|tls\": every edge domain's
                           registrar and outbound proxy (default: upstream.proxy)
                                                                    SIPSIMPLE_EDGE_REGISTRAR
  [edge.registrars]        \"DOMAIN\" = \"sip:host:port;transport=...\" per domain
                           (env: \"dom=uri,dom2=uri2\")              SIPSIMPLE_EDGE_REGISTRARS
  [log]
  sip = false              log every SIP message (debug, target sipsimple_gateway::sip)
                                                                    SIPSIMPLE_LOG_SIP
Listening on an address other than loopback happens only when configured.
A configuration error is reported as `config error: <key>: <what>` with exit code 2.";

/// A configuration error; its text names the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "config error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

pub mod cluster;
pub mod edge;

fn key_error(key: &str, what: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("{key}: {what}"))
}

/// One layer of settings (the file, the environment or the command line): what it sets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `data_dir`.
    pub data_dir: Option<PathBuf>,
    /// `domain`.
    pub domain: Option<String>,
    /// `http`.
    pub http: Option<String>,
    /// `https`.
    pub https: Option<String>,
    /// `sip_udp`.
    pub sip_udp: Option<String>,
    /// `sip_tcp`.
    pub sip_tcp: Option<String>,
    /// `sip_tls`.
    pub sip_tls: Option<String>,
    /// `web_dir`.
    pub web_dir: Option<PathBuf>,
    /// `demo`.
    pub demo: Option<bool>,
    /// `[security]`.
    #[serde(default)]
    pub security: SecuritySettings,
    /// `[log]`.
    #[serde(default)]
    pub log: LogSettings,
    /// `[database]`.
    #[serde(default)]
    pub database: DatabaseSettings,
    /// `[upstream]`.
    #[serde(default)]
    pub upstream: UpstreamSettings,
    /// `[media]`.
    #[serde(default)]
    pub media: MediaSettings,
    /// `[msrp]`.
    #[serde(default)]
    pub msrp: MsrpSettings,
    /// `[cluster]`.
    #[serde(default)]
    pub cluster: ClusterSettings,
    /// `[edge]`.
    #[serde(default)]
    pub edge: EdgeSettings,
}

/// The `[msrp]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsrpSettings {
    /// `msrp.tcp`: an address or `off`.
    pub tcp: Option<String>,
    /// `msrp.tls`: an address or `off`.
    pub tls: Option<String>,
    /// `msrp.advertise`.
    pub advertise: Option<String>,
    /// `msrp.max_chunk_size`, bytes.
    pub max_chunk_size: Option<u64>,
    /// `msrp.max_connections_per_ip`.
    pub max_connections_per_ip: Option<u32>,
}

/// The `[media]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSettings {
    /// `media.enabled`.
    pub enabled: Option<bool>,
    /// `media.address`.
    pub address: Option<String>,
    /// `media.advertise`.
    pub advertise: Option<String>,
    /// `media.webrtc_port`.
    pub webrtc_port: Option<u16>,
    /// `media.rtp_ports`, `"20000-29999"`.
    pub rtp_ports: Option<String>,
    /// `media.srtp`.
    pub srtp: Option<String>,
    /// `media.record_calls`.
    pub record_calls: Option<bool>,
    /// `media.recordings_dir`.
    pub recordings_dir: Option<PathBuf>,
}

/// The `[database]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `database.url`.
    pub url: Option<String>,
}

/// The `[upstream]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSettings {
    /// `upstream.proxy`.
    pub proxy: Option<String>,
    /// `upstream.username`.
    pub username: Option<String>,
    /// `upstream.password`.
    pub password: Option<String>,
}

/// The `[security]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// `security.rate_limit`.
    pub rate_limit: Option<u32>,
    /// `security.rate_burst`.
    pub rate_burst: Option<u32>,
    /// `security.lockout_after`.
    pub lockout_after: Option<u32>,
    /// `security.lockout_window`, seconds.
    pub lockout_window: Option<u64>,
    /// `security.lockout_duration`, seconds.
    pub lockout_duration: Option<u64>,
    /// `security.max_message_size`.
    pub max_message_size: Option<u64>,
    /// `security.allowed_origins`.
    pub allowed_origins: Option<Vec<String>>,
    /// `security.trusted_proxies`.
    pub trusted_proxies: Option<Vec<String>>,
}

/// The `[log]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `log.sip`.
    pub sip: Option<bool>,
}

/// The environment variable of `key`.
pub fn env_name(key: &str) -> String {
    format!("SIPSIMPLE_{}", key.replace('.', "_").to_ascii_uppercase())
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(key_error(key, format!("{v:?} is not true or false"))),
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| key_error(key, format!("{v:?} is not a whole number in range")))
}

impl Settings {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        Settings::from_toml(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    /// Parses TOML text. An unknown key or a value of the wrong type is named in the error.
    pub fn from_toml(text: &str) -> Result<Settings, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(e.to_string().trim_end().to_string()))
    }

    /// The layer of the environment variables `get` knows (`SIPSIMPLE_<KEY>`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let val = |key: &str| get(&env_name(key)).filter(|v| !v.is_empty());
        let mut s = Settings::default();
        let text = |key: &str| val(key);
        s.data_dir = text("data_dir").map(PathBuf::from);
        s.domain = text("domain");
        s.http = text("http");
        s.https = text("https");
        s.sip_udp = text("sip_udp");
        s.sip_tcp = text("sip_tcp");
        s.sip_tls = text("sip_tls");
        s.web_dir = text("web_dir").map(PathBuf::from);
        s.demo = val("demo").map(|v| parse_bool("demo", &v)).transpose()?;
        let sec = &mut s.security;
        let num32 = |k: &str| val(k).map(|v| parse_num::<u32>(k, &v)).transpose();
        let num64 = |k: &str| val(k).map(|v| parse_num::<u64>(k, &v)).transpose();
        sec.rate_limit = num32("security.rate_limit")?;
        sec.rate_burst = num32("security.rate_burst")?;
        sec.lockout_after = num32("security.lockout_after")?;
        sec.lockout_window = num64("security.lockout_window")?;
        sec.lockout_duration = num64("security.lockout_duration")?;
        sec.max_message_size = num64("security.max_message_size")?;
        let list = |k: &str| {
            val(k).map(|v| {
                v.split(',')
                    .map(|o| o.trim().to_string())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
        };
        sec.allowed_origins = list("security.allowed_origins");
        sec.trusted_proxies = list("security.trusted_proxies");
        s.log.sip = val("log.sip")
            .map(|v| parse_bool("log.sip", &v))
            .transpose()?;
        s.database.url = text("database.url");
        s.upstream.proxy = text("upstream.proxy");
        s.upstream.username = text("upstream.username");
        s.upstream.password = text("upstream.password");
        let m = &mut s.media;
        m.enabled = val("media.enabled")
            .map(|v| parse_bool("media.enabled", &v))
            .transpose()?;
        m.address = text("media.address");
        m.advertise = text("media.advertise");
        m.webrtc_port = val("media.webrtc_port")
            .map(|v| parse_num::<u16>("media.webrtc_port", &v))
            .transpose()?;
        m.rtp_ports = text("media.rtp_ports");
        m.srtp = text("media.srtp");
        m.record_calls = val("media.record_calls")
            .map(|v| parse_bool("media.record_calls", &v))
            .transpose()?;
        m.recordings_dir = text("media.recordings_dir").map(PathBuf::from);
        let r = &mut s.msrp;
        r.tcp = text("msrp.tcp");
        r.tls = text("msrp.tls");
        r.advertise = text("msrp.advertise");
        r.max_chunk_size = num64("msrp.max_chunk_size")?;
        r.max_connections_per_ip = num32("msrp.max_connections_per_ip")?;
        s.cluster = ClusterSettings::from_env(text);
        s.edge = EdgeSettings::from_env(text);
        Ok(s)
    }

    /// `self` with what `over` sets put on top.
    pub fn overlay(self, over: Settings) -> Settings {
        let (a, b) = (self.security, over.security);
        Settings {
            data_dir: over.data_dir.or(self.data_dir),
            domain: over.domain.or(self.domain),
            http: over.http.or(self.http),
            https: over.https.or(self.https),
            sip_udp: over.sip_udp.or(self.sip_udp),
            sip_tcp: over.sip_tcp.or(self.sip_tcp),
            sip_tls: over.sip_tls.or(self.sip_tls),
            web_dir: over.web_dir.or(self.web_dir),
            demo: over.demo.or(self.demo),
            security: SecuritySettings {
                rate_limit: b.rate_limit.or(a.rate_limit),
                rate_burst: b.rate_burst.or(a.rate_burst),
                lockout_after: b.lockout_after.or(a.lockout_after),
                lockout_window: b.lockout_window.or(a.lockout_window),
                lockout_duration: b.lockout_duration.or(a.lockout_duration),
                max_message_size: b.max_message_size.or(a.max_message_size),
                allowed_origins: b.allowed_origins.or(a.allowed_origins),
                trusted_proxies: b.trusted_proxies.or(a.trusted_proxies),
            },
            log: LogSettings {
                sip: over.log.sip.or(self.log.sip),
            },
            database: DatabaseSettings {
                url: over.database.url.or(self.database.url),
            },
            upstream: UpstreamSettings {
                proxy: over.upstream.proxy.or(self.upstream.proxy),
                username: over.upstream.username.or(self.upstream.username),
                password: over.upstream.password.or(self.upstream.password),
            },
            media: MediaSettings {
                enabled: over.media.enabled.or(self.media.enabled),
                address: over.media.address.or(self.media.address),
                advertise: over.media.advertise.or(self.media.advertise),
                webrtc_port: over.media.webrtc_port.or(self.media.webrtc_port),
                rtp_ports: over.media.rtp_ports.or(self.media.rtp_ports),
                srtp: over.media.srtp.or(self.media.srtp),
                record_calls: over.media.record_calls.or(self.media.record_calls),
                recordings_dir: over.media.recordings_dir.or(self.media.recordings_dir),
            },
            msrp: MsrpSettings {
                tcp: over.msrp.tcp.or(self.msrp.tcp),
                tls: over.msrp.tls.or(self.msrp.tls),
                advertise: over.msrp.advertise.or(self.msrp.advertise),
                max_chunk_size: over.msrp.max_chunk_size.or(self.msrp.max_chunk_size),
                max_connections_per_ip: over
                    .msrp
                    .max_connections_per_ip
                    .or(self.msrp.max_connections_per_ip),
            },
            cluster: self.cluster.overlay(over.cluster),
            edge: self.edge.overlay(over.edge),
        }
    }

    /// The data directory and domain (all the user commands need).
    pub fn store_place(&self) -> Result<(PathBuf, String), ConfigError> {
        let data_dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("gateway-data"));
        let domain = parse_domain(self.domain.as_deref().unwrap_or("sipsimple.local"))
            .map_err(|e| key_error("domain", e))?;
        Ok((data_dir, domain))
    }

    /// `database.url`, when set and not empty.
    pub fn database_url(&self) -> Option<String> {
        self.database
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string)
    }

    /// Checks the merged settings and fills in the defaults.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let (data_dir, domain) = self.store_place()?;
        let database_url = self.database_url();
        let upstream = parse_upstream(&self.upstream)?;
        let media = parse_media(&self.media, &data_dir)?;
        let msrp = parse_msrp(&self.msrp)?;
        let cluster = cluster::parse_cluster(&self.cluster, database_url.as_deref())?;
        let edge = edge::parse_edge(&self.edge, &domain, upstream.as_ref())?;
        let addr =
            |key: &str, v: &Option<String>, default: &str| -> Result<SocketAddr, ConfigError> {
                let v = v.as_deref().unwrap_or(default);
                v.trim().parse().map_err(|e| {
                    key_error(
                        key,
                        format!("{v:?} is not an address like 127.0.0.1:5060: {e}"),
                    )
                })
            };
        let optional = |key: &str, v: &Option<String>, default: &str| {
            parse_optional_addr(v.as_deref().unwrap_or(default))
                .map(|o| o.0)
                .map_err(|e| key_error(key, e))
        };
        let sec = self.security;
        let rate = RatePolicy {
            per_second: sec.rate_limit.unwrap_or(50),
            burst: sec.rate_burst.unwrap_or(200),
        };
        if rate.per_second > 0 && rate.burst < 1 {
            return Err(key_error("security.rate_burst", "must be at least 1"));
        }
        let at_least_1 = |key: &str, v: u64| {
            if v < 1 {
                Err(key_error(key, "must be at least 1"))
            } else {
                Ok(v)
            }
        };
        let lockout = LockoutPolicy {
            after: u32::try_from(at_least_1(
                "security.lockout_after",
                u64::from(sec.lockout_after.unwrap_or(20)),
            )?)
            .unwrap_or(u32::MAX),
            window: Duration::from_secs(at_least_1(
                "security.lockout_window",
                sec.lockout_window.unwrap_or(300),
            )?),
            duration: Duration::from_secs(at_least_1(
                "security.lockout_duration",
                sec.lockout_duration.unwrap_or(900),
            )?),
        };
        let max = sec.max_message_size.unwrap_or(64 * 1024);
        if !(1024..=16 * 1024 * 1024).contains(&max) {
            return Err(key_error(
                "security.max_message_size",
                "must be between 1024 and 16777216 bytes",
            ));
        }
        let allowed_origins = sec.allowed_origins.unwrap_or_default();
        for o in &allowed_origins {
            if o != "*" && Origin::parse(o).is_none() {
                return Err(key_error(
                    "security.allowed_origins",
                    format!("{o:?} is not \"*\" nor an origin like https://example.com:8443"),
                ));
            }
        }
        let trusted_proxies = sec
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|p| {
                p.parse::<std::net::IpAddr>().map_err(|_| {
                    key_error(
                        "security.trusted_proxies",
                        format!("{p:?} is not an IP address"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sip_tcp = optional("sip_tcp", &self.sip_tcp, "127.0.0.1:5060")?;
        if cluster
            .as_ref()
            .is_some_and(|c| c.dest.transport == sipsimple::transaction::TransportKind::Tcp)
            && sip_tcp.is_none()
        {
            return Err(key_error(
                "cluster.address",
                "names TCP but sip_tcp is off: the other nodes could not reach this one",
            ));
        }
        Ok(Config {
            data_dir,
            domain,
            database_url,
            upstream,
            http: addr("http", &self.http, "127.0.0.1:8080")?,
            https: optional("https", &self.https, "127.0.0.1:8443")?,
            sip_udp: addr("sip_udp", &self.sip_udp, "127.0.0.1:5060")?,
            sip_tcp,
            sip_tls: optional("sip_tls", &self.sip_tls, "127.0.0.1:5061")?,
            web_dir: self.web_dir.unwrap_or_else(|| PathBuf::from("web")),
            demo: self.demo.unwrap_or(true),
            security: Security {
                rate,
                lockout,
                max_message_size: usize::try_from(max).unwrap_or(usize::MAX),
                allowed_origins,
                trusted_proxies,
            },
            log_sip: self.log.sip.unwrap_or(false),
            media,
            msrp,
            cluster,
            edge,
        })
    }
}

/// A web origin (RFC 6454 §4): scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`, lower case.
    pub scheme: String,
    /// The host, lower case (IPv6 in brackets).
    pub host: String,
    /// The port, when written.
    pub port: Option<u16>,
}

impl Origin {
    /// Parses `scheme://host[:port]` (no path), as browsers send in `Origin`.
    pub fn parse(s: &str) -> Option<Origin> {
        let (scheme, rest) = s.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "http" | "https") || rest.is_empty() {
            return None;
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = split_host_port(rest)?;
        Some(Origin { scheme, host, port })
    }

    /// The port, or the scheme's default.
    pub fn effective_port(&self) -> u16 {
        self.port
            .unwrap_or(if self.scheme == "https" { 443 } else { 80 })
    }

    /// `true` when this origin is allowed: the page's own (its host and port are the
    /// request's `Host`), a loopback host, or one of `allowed` (`*` allows any; an entry
    /// without a port allows every port).
    pub fn allowed(&self, host_header: Option<&str>, allowed: &[String]) -> bool {
        let same = host_header.and_then(split_host_port).is_some_and(|(h, p)| {
            h == self.host && p.unwrap_or(self.effective_port()) == self.effective_port()
        });
        let loopback = matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
        same || loopback
            || allowed.iter().any(|a| {
                a == "*"
                    || Origin::parse(a).is_some_and(|o| {
                        o.scheme == self.scheme
                            && o.host == self.host
                            && o.port.is_none_or(|p| p == self.effective_port())
                    })
            })
    }
}

/// Splits `host[:port]` (`[v6]:port` for IPv6), lower-casing the host.
pub fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    if s.is_empty() || s.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{v6}]"), port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    if host.is_empty() || host.contains(':') && !host.starts_with('[') {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

/// The value of `--https`, `--sip-tcp` and `--sip-tls`: an address, or `None` for `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalAddr(pub Option<SocketAddr>);

/// Parses an address (`127.0.0.1:8443`, `[::1]:5061`) or `off`.
pub fn parse_optional_addr(s: &str) -> Result<OptionalAddr, String> {
    if s.eq_ignore_ascii_case("off") {
        Ok(OptionalAddr(None))
    } else {
        s.parse()
            .map(|a| OptionalAddr(Some(a)))
            .map_err(|e| format!("{s:?} is neither `off` nor an address like 127.0.0.1:8443: {e}"))
    }
}

/// The transport and port of a next hop's `sip:`/`sips:` URI (RFC 3263 without DNS): its
/// `transport` parameter (`sips:` alone means TLS, else UDP) and its port (5061 for TLS, else
/// 5060); `Err` with what is wrong for another transport.
fn transport_and_port(
    uri: &sipsimple::sip::Uri,
) -> Result<(sipsimple::transaction::TransportKind, u16), &'static str> {
    use sipsimple::transaction::TransportKind;
    let transport = match uri
        .param("transport")
        .flatten()
        .map(|t| t.to_ascii_lowercase())
    {
        None if uri.scheme == "sips" => TransportKind::Tls,
        None => TransportKind::Udp,
        Some(t) => match t.as_str() {
            "udp" => TransportKind::Udp,
            "tcp" => TransportKind::Tcp,
            "tls" => TransportKind::Tls,
            _ => return Err("has a transport other than udp, tcp or tls"),
        },
    };
    let default = if transport == TransportKind::Tls {
        5061
    } else {
        5060
    };
    Ok((transport, uri.port.unwrap_or(default)))
}

/// Checks the `[upstream]` table: `proxy` must be a `sip:`/`sips:` URI with a host; a password
/// needs a user name.
fn parse_upstream(u: &UpstreamSettings) -> Result<Option<Upstream>, ConfigError> {
    let nonempty = |v: &Option<String>| v.as_deref().filter(|v| !v.is_empty()).map(str::to_string);
    let Some(text) = nonempty(&u.proxy) else {
        if u.username.is_some() || u.password.is_some() {
            return Err(key_error(
                "upstream.proxy",
                "needed when upstream credentials are set",
            ));
        }
        return Ok(None);
    };
    let bad = |what: &str| key_error("upstream.proxy", format!("{text:?} {what}"));
    let proxy = sipsimple::sip::Uri::parse(text.trim())
        .map_err(|_| bad("is not a URI like sip:proxy.example.com:5060;transport=udp"))?;
    if !proxy.is_sip() || proxy.host.is_empty() {
        return Err(bad("is not a sip: or sips: URI with a host"));
    }
    let (transport, port) = transport_and_port(&proxy).map_err(bad)?;
    let host = proxy.host.clone();
    let username = nonempty(&u.username);
    let password = nonempty(&u.password);
    if password.is_some() && username.is_none() {
        return Err(key_error(
            "upstream.username",
            "needed with upstream.password",
        ));
    }
    Ok(Some(Upstream {
        proxy,
        transport,
        host,
        port,
        username,
        password,
    }))
}

/// Checks the `[media]` table.
fn parse_media(m: &MediaSettings, data_dir: &Path) -> Result<Media, ConfigError> {
    let ip = |key: &str, v: &str| {
        v.trim()
            .parse::<std::net::IpAddr>()
            .map_err(|_| key_error(key, format!("{v:?} is not an IP address like 127.0.0.1")))
    };
    let address = ip("media.address", m.address.as_deref().unwrap_or("127.0.0.1"))?;
    let advertise = match m.advertise.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) => Some(ip("media.advertise", a)?),
    };
    let ports = m.rtp_ports.as_deref().unwrap_or("20000-29999");
    let bad_ports = || {
        key_error(
            "media.rtp_ports",
            format!("{ports:?} is not a range like 20000-29999 of at least 2 ports above 1023"),
        )
    };
    let (lo, hi) = ports.split_once('-').ok_or_else(bad_ports)?;
    let lo: u16 = lo.trim().parse().map_err(|_| bad_ports())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad_ports())?;
    if lo < 1024 || hi <= lo {
        return Err(bad_ports());
    }
    let srtp = match m
        .srtp
        .as_deref()
        .unwrap_or("off")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "off" => SrtpPolicy::Off,
        "optional" => SrtpPolicy::Optional,
        "required" => SrtpPolicy::Required,
        other => {
            return Err(key_error(
                "media.srtp",
                format!("{other:?} is not off, optional or required"),
            ))
        }
    };
    let recordings_dir = m
        .recordings_dir
        .clone()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| data_dir.join("recordings"));
    Ok(Media {
        enabled: m.enabled.unwrap_or(true),
        address,
        advertise,
        webrtc_port: m.webrtc_port.unwrap_or(0),
        rtp_ports: (lo, hi),
        srtp,
        record_calls: m.record_calls.unwrap_or(false),
        recordings_dir,
    })
}

/// The default MSRP over TCP listener (RFC 4975 §15.1 registers port 2855).
pub const MSRP_DEFAULT_TCP: &str = "127.0.0.1:2855";
/// The default MSRP over TLS listener.
const MSRP_DEFAULT_TLS: &str = "127.0.0.1:2856";

/// Checks the `[msrp]` table.
fn parse_msrp(m: &MsrpSettings) -> Result<Msrp, ConfigError> {
    let text = m.tcp.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let tcp = parse_optional_addr(text.unwrap_or(MSRP_DEFAULT_TCP))
        .map_err(|e| key_error("msrp.tcp", e))?
        .0;
    let advertise = match m.advertise.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) => {
            let bare = a
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(a);
            let is_ip = bare.parse::<std::net::IpAddr>().is_ok();
            if !is_ip && parse_domain(a).is_err() {
                return Err(key_error(
                    "msrp.advertise",
                    format!("{a:?} is neither an IP address nor a host name"),
                ));
            }
            Some(a.to_ascii_lowercase())
        }
    };
    let chunk = m.max_chunk_size.unwrap_or(1024 * 1024);
    if !(1024..=16 * 1024 * 1024).contains(&chunk) {
        return Err(key_error(
            "msrp.max_chunk_size",
            "must be between 1024 and 16777216 bytes",
        ));
    }
    let per_ip = m.max_connections_per_ip.unwrap_or(64);
    if per_ip < 1 {
        return Err(key_error(
            "msrp.max_connections_per_ip",
            "must be at least 1",
        ));
    }
    let tls_text = m.tls.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let tls = parse_optional_addr(tls_text.unwrap_or(MSRP_DEFAULT_TLS))
        .map_err(|e| key_error("msrp.tls", e))?
        .0;
    Ok(Msrp {
        tcp,
        tcp_is_default: text.is_none(),
        tls,
        tls_is_default: tls_text.is_none(),
        advertise,
        max_chunk_size: usize::try_from(chunk).unwrap_or(usize::MAX),
        max_connections_per_ip: usize::try_from(per_ip).unwrap_or(usize::MAX),
    })
}

/// Checks a SIP domain given on the command line: a host name or an IP address literal.
pub fn parse_domain(s: &str) -> Result<String, String> {
    let s = s.trim().to_ascii_lowercase();
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(s)
    } else {
        Err(format!("{s:?} is not a valid SIP domain"))
    }
}

/// Checks a user name: the user part of `user@domain`, kept to characters that need no
/// escaping in a SIP URI (RFC 3261 §25.1 `unreserved`).
pub fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key, its environment variable is `SIPSIMPLE_` + the key upper-cased with `_` for
    /// `.`; the defaults and meanings are listed in `--help`.
    const KEYS: [&str; 29] = [
        "data_dir",
        "domain",
        "http",
        "https",
        "sip_udp",
        "sip_tcp",
        "sip_tls",
        "web_dir",
        "demo",
        "security.rate_limit",
        "security.rate_burst",
        "security.lockout_after",
        "security.lockout_window",
        "security.lockout_duration",
        "security.max_message_size",
        "security.allowed_origins",
        "security.trusted_proxies",
        "log.sip",
        "database.url",
        "upstream.proxy",
        "upstream.username",
        "upstream.password",
        "cluster.node_id",
        "cluster.address",
        "cluster.secret",
        "cluster.peers",
        "edge.domains",
        "edge.registrar",
        "edge.registrars",
    ];

    /// The deployment example resolves as it is, and its trusted proxy is read; a bad one is
    /// named.
    #[test]
    fn the_cluster_node_example_resolves_and_trusted_proxies_are_addresses() {
        let text = include_str!("../../deploy/gateway-node.example.toml");
        let c = Settings::from_toml(text)
            .expect("the example parses")
            .resolve()
            .expect("the example resolves");
        assert_eq!(
            c.security.trusted_proxies,
            vec![
                std::net::IpAddr::from([10, 0, 0, 10]),
                std::net::IpAddr::from([10, 0, 0, 12])
            ]
        );
        let env = Settings::from_env(|k| {
            (k == "SIPSIMPLE_SECURITY_TRUSTED_PROXIES").then(|| "127.0.0.1, ::1".into())
        })
        .expect("valid");
        let c = env.resolve().expect("valid");
        assert_eq!(c.security.trusted_proxies.len(), 2);
        let bad = Settings::from_toml("[security]\ntrusted_proxies = [\"kamailio.local\"]\n")
            .expect("parses")
            .resolve();
        let err = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("security.trusted_proxies"), "{err}");
    }

    #[test]
    fn off_or_address() {
        assert_eq!(parse_optional_addr("off"), Ok(OptionalAddr(None)));
        assert_eq!(
            parse_optional_addr("127.0.0.1:0"),
            Ok(OptionalAddr(Some("127.0.0.1:0".parse().expect("address"))))
        );
        assert_eq!(
            parse_optional_addr("[::1]:5061"),
            Ok(OptionalAddr(Some("[::1]:5061".parse().expect("address"))))
        );
        assert!(parse_optional_addr("nope").is_err());
    }

    #[test]
    fn layers_defaults_and_errors_that_name_the_key() {
        let file = Settings::from_toml(
            "http = \"127.0.0.1:9000\"\n[security]\nlockout_after = 5\nallowed_origins = [\"https://a.example\"]\n",
        )
        .expect("valid");
        let env = Settings::from_env(|k| match k {
            "SIPSIMPLE_SECURITY_LOCKOUT_AFTER" => Some("7".into()),
            "SIPSIMPLE_LOG_SIP" => Some("true".into()),
            _ => None,
        })
        .expect("valid");
        let cli = Settings {
            http: Some("127.0.0.1:9001".into()),
            ..Settings::default()
        };
        let c = file.overlay(env).overlay(cli).resolve().expect("valid");
        assert_eq!(
            c.http,
            "127.0.0.1:9001"
                .parse::<std::net::SocketAddr>()
                .expect("addr")
        );
        assert_eq!(c.security.lockout.after, 7);
        assert!(c.log_sip);
        assert_eq!(c.security.allowed_origins, vec!["https://a.example"]);
        assert_eq!(c.https, "127.0.0.1:8443".parse().ok());
        assert_eq!(c.security.max_message_size, 65536);

        let bad = Settings::from_toml("[security]\nlockout_after = 0\n")
            .expect("parses")
            .resolve()
            .expect_err("refused");
        assert_eq!(
            bad.to_string(),
            "config error: security.lockout_after: must be at least 1"
        );
        let unknown = Settings::from_toml("[security]\nlockot_after = 3\n").expect_err("unknown");
        assert!(unknown.to_string().contains("lockot_after"), "{unknown}");
        let env =
            Settings::from_env(|k| (k == "SIPSIMPLE_SECURITY_RATE_LIMIT").then(|| "x".into()))
                .expect_err("not a number");
        assert!(env
            .to_string()
            .starts_with("config error: security.rate_limit: "));
        let addr = Settings {
            sip_tcp: Some("nope".into()),
            ..Settings::default()
        }
        .resolve()
        .expect_err("bad address");
        assert!(
            addr.to_string().starts_with("config error: sip_tcp: "),
            "{addr}"
        );
        assert_eq!(KEYS.len(), 29);
        for k in KEYS {
            assert!(HELP.contains(&env_name(k)), "{k} is documented");
        }
    }

    #[test]
    fn origins() {
        let o = Origin::parse("https://Example.com:8443").expect("origin");
        assert_eq!((o.host.as_str(), o.port), ("example.com", Some(8443)));
        assert_eq!(
            Origin::parse("http://[::1]").map(|o| o.effective_port()),
            Some(80)
        );
        assert!(Origin::parse("ftp://x").is_none());
        assert!(Origin::parse("http://x/path").is_none());
        assert!(Origin::parse("null").is_none());
        let allowed = vec!["https://app.example".to_string()];
        let o = |s: &str| Origin::parse(s).expect("origin");
        assert!(o("http://gw.example:8080").allowed(Some("gw.example:8080"), &[]));
        assert!(!o("http://gw.example:8081").allowed(Some("gw.example:8080"), &[]));
        assert!(o("http://localhost:3000").allowed(Some("gw.example"), &[]));
        assert!(o("https://[::1]").allowed(None, &[]));
        assert!(!o("https://evil.example").allowed(Some("gw.example"), &[]));
        assert!(o("https://app.example:443").allowed(Some("gw.example"), &allowed));
        assert!(!o("http://app.example").allowed(Some("gw.example"), &allowed));
        assert!(o("https://evil.example").allowed(None, &["*".to_string()]));
    }

    #[test]
    fn domains_and_user_names() {
        assert_eq!(
            parse_domain("SipSimple.Local"),
            Ok("sipsimple.local".into())
        );
        assert!(parse_domain("a b").is_err());
        assert!(valid_user_name("alice.smith"));
        assert!(!valid_user_name("alice@x"));
        assert!(!valid_user_name(""));
    }
}

#[cfg(test)]
mod upstream_and_database_tests {
    use super::*;
    use sipsimple::transaction::TransportKind;

    #[test]
    fn upstream_and_database_keys() {
        let s = Settings::from_toml(
            "[database]\nurl = \"postgres://gw@127.0.0.1/gw\"\n\
             [upstream]\nproxy = \"sip:proxy.example:5080;transport=tcp\"\n\
             username = \"gw\"\npassword = \"pw\"\n",
        )
        .expect("parses");
        let c = s.resolve().expect("valid");
        assert_eq!(
            c.database_url.as_deref(),
            Some("postgres://gw@127.0.0.1/gw")
        );
        let u = c.upstream.expect("upstream");
        assert_eq!(
            (u.transport, u.host.as_str(), u.port),
            (TransportKind::Tcp, "proxy.example", 5080)
        );
        assert_eq!(u.username.as_deref(), Some("gw"));
        let env = Settings::from_env(|k| {
            (k == "SIPSIMPLE_UPSTREAM_PROXY").then(|| "sips:[::1]".to_string())
        })
        .expect("env");
        let u = env.resolve().expect("valid").upstream.expect("upstream");
        assert_eq!((u.transport, u.port), (TransportKind::Tls, 5061));
        let bad = |toml: &str| {
            Settings::from_toml(toml)
                .expect("parses")
                .resolve()
                .expect_err("invalid")
                .to_string()
        };
        assert!(bad("[upstream]\nproxy = \"tel:123\"").contains("upstream.proxy"));
        assert!(
            bad("[upstream]\nproxy = \"sip:p.example;transport=sctp\"").contains("upstream.proxy")
        );
        assert!(bad("[upstream]\nusername = \"gw\"").contains("upstream.proxy"));
        assert!(
            bad("[upstream]\nproxy = \"sip:p.example\"\npassword = \"pw\"")
                .contains("upstream.username")
        );
        assert!(Settings::default()
            .resolve()
            .expect("valid")
            .upstream
            .is_none());
    }

    #[test]
    fn msrp_keys() {
        let c = Settings::default().resolve().expect("valid").msrp;
        assert_eq!(c.tcp, Some("127.0.0.1:2855".parse().expect("addr")));
        assert!(c.tcp_is_default);
        assert_eq!((c.max_chunk_size, c.max_connections_per_ip), (1 << 20, 64));
        let s = Settings::from_toml(
            "[msrp]\ntcp = \"off\"\nadvertise = \"Relay.Example.com\"\nmax_chunk_size = 4096\n",
        )
        .expect("parses");
        let c = s.resolve().expect("valid").msrp;
        assert_eq!(c.tcp, None);
        assert!(!c.tcp_is_default);
        assert_eq!(c.advertise.as_deref(), Some("relay.example.com"));
        assert_eq!(c.max_chunk_size, 4096);
        let env = Settings::from_env(|k| {
            (k == "SIPSIMPLE_MSRP_MAX_CONNECTIONS_PER_IP").then(|| "3".to_string())
        })
        .expect("env");
        assert_eq!(env.resolve().expect("valid").msrp.max_connections_per_ip, 3);
        let bad = |toml: &str| {
            Settings::from_toml(toml)
                .expect("parses")
                .resolve()
                .expect_err("invalid")
                .to_string()
        };
        assert!(bad("[msrp]\ntcp = \"nowhere\"").contains("msrp.tcp"));
        assert!(bad("[msrp]\nmax_chunk_size = 10").contains("msrp.max_chunk_size"));
        assert!(bad("[msrp]\nadvertise = \"a b\"").contains("msrp.advertise"));
        assert!(bad("[msrp]\nmax_connections_per_ip = 0").contains("msrp.max_connections_per_ip"));
    }
}

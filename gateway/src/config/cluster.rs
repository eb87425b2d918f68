//! The `[cluster]` table: several gateways behind a front proxy (Kamailio's dispatcher),
//! sharing one PostgreSQL database (docs/scaling.md). A node has an id, the SIP address the
//! other nodes and the front proxy reach it on, and the secret every node shares: requests
//! one node hands to another for delivery over its own flows carry a MAC made with it, so
//! the hand-over can never be used as an open relay.

use super::{key_error, ConfigError};
use serde::Deserialize;
use sipsimple::sip::Uri;
use sipsimple::transaction::{Dest, TransportKind};
use std::net::IpAddr;

/// Shortest shared secret accepted.
pub const MIN_SECRET_LEN: usize = 16;

/// The `[cluster]` table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// `cluster.node_id`.
    pub node_id: Option<String>,
    /// `cluster.address`: `host:port` (UDP) or a `sip:` URI with a transport.
    pub address: Option<String>,
    /// `cluster.secret`.
    pub secret: Option<String>,
    /// `cluster.peers`: the addresses hand-overs are accepted from (empty: any, signed).
    pub peers: Option<Vec<String>>,
}

impl ClusterSettings {
    /// `self` with what `over` sets put on top.
    pub fn overlay(self, over: ClusterSettings) -> ClusterSettings {
        ClusterSettings {
            node_id: over.node_id.or(self.node_id),
            address: over.address.or(self.address),
            secret: over.secret.or(self.secret),
            peers: over.peers.or(self.peers),
        }
    }

    /// The layer of the environment (`SIPSIMPLE_CLUSTER_*`).
    pub fn from_env(val: impl Fn(&str) -> Option<String>) -> ClusterSettings {
        ClusterSettings {
            node_id: val("cluster.node_id"),
            address: val("cluster.address"),
            secret: val("cluster.secret"),
            peers: val("cluster.peers").map(|v| {
                v.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            }),
        }
    }
}

/// One peer a hand-over is accepted from: an IP address, optionally with a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The address.
    pub ip: IpAddr,
    /// The source port, when given.
    pub port: Option<u16>,
}

impl Peer {
    /// `true` when `source` is this peer.
    pub fn matches(&self, source: &Dest) -> bool {
        crate::proxy::route::parse_ip(&source.host) == Some(self.ip)
            && self.port.is_none_or(|p| p == source.port)
    }
}

/// The `[cluster]` settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// This node's id, written beside each registration it holds.
    pub node_id: String,
    /// The SIP URI other nodes reach this node on (`sip:host:port;transport=...`).
    pub uri: Uri,
    /// Where that is, as a destination.
    pub dest: Dest,
    /// The secret every node shares.
    pub secret: String,
    /// The sources hand-overs are accepted from; empty: any source with a valid MAC.
    pub peers: Vec<Peer>,
}

/// A node id: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn valid_node_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Parses `cluster.address`: `host:port`, `[v6]:port`, or a `sip:` URI whose transport is
/// udp or tcp (the default UDP).
pub fn parse_address(text: &str) -> Result<(Uri, Dest), String> {
    let text = text.trim();
    let uri_text = if text.to_ascii_lowercase().starts_with("sip:") {
        text.to_string()
    } else {
        format!("sip:{text}")
    };
    let uri = Uri::parse(&uri_text)
        .ok()
        .filter(|u| u.scheme == "sip" && !u.host.is_empty() && u.user.is_none())
        .ok_or_else(|| format!("{text:?} is not an address like 10.0.0.11:5060 or sip:gw-a.example:5060;transport=tcp"))?;
    let dest = crate::proxy::route::uri_dest(&uri)
        .ok_or_else(|| format!("{text:?} names a transport other than udp or tcp"))?;
    if !matches!(dest.transport, TransportKind::Udp | TransportKind::Tcp) {
        return Err(format!("{text:?} names a transport other than udp or tcp"));
    }
    if uri.port.is_none() {
        return Err(format!("{text:?} has no port"));
    }
    Ok((uri, dest))
}

fn parse_peer(text: &str) -> Option<Peer> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(Peer { ip, port: None });
    }
    let addr: std::net::SocketAddr = text.parse().ok()?;
    Some(Peer {
        ip: addr.ip(),
        port: Some(addr.port()),
    })
}

/// Checks the `[cluster]` table: nothing set means a gateway on its own; otherwise
/// `node_id`, `address` and `secret` are all needed, and the database must be PostgreSQL
/// (the nodes share their registrations through it).
pub fn parse_cluster(
    c: &ClusterSettings,
    database_url: Option<&str>,
) -> Result<Option<Cluster>, ConfigError> {
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let (node_id, address, secret) = (
        nonempty(&c.node_id),
        nonempty(&c.address),
        nonempty(&c.secret),
    );
    let peers = c.peers.clone().unwrap_or_default();
    if node_id.is_none() && address.is_none() && secret.is_none() && peers.is_empty() {
        return Ok(None);
    }
    let Some(node_id) = node_id else {
        return Err(key_error(
            "cluster.node_id",
            "needed when any [cluster] key is set",
        ));
    };
    if !valid_node_id(&node_id) {
        return Err(key_error(
            "cluster.node_id",
            format!("{node_id:?} must be 1 to 64 of A-Z a-z 0-9 . _ -"),
        ));
    }
    let Some(address) = address else {
        return Err(key_error(
            "cluster.address",
            "needed in a cluster: the SIP address other nodes and the front proxy reach this node on",
        ));
    };
    let (uri, dest) = parse_address(&address).map_err(|e| key_error("cluster.address", e))?;
    let Some(secret) = secret else {
        return Err(key_error(
            "cluster.secret",
            "needed in a cluster: the secret every node shares",
        ));
    };
    if secret.len() < MIN_SECRET_LEN {
        return Err(key_error(
            "cluster.secret",
            format!("must be at least {MIN_SECRET_LEN} characters"),
        ));
    }
    let peers = peers
        .iter()
        .map(|p| {
            parse_peer(p).ok_or_else(|| {
                key_error(
                    "cluster.peers",
                    format!("{p:?} is not an address like 10.0.0.12 or 10.0.0.12:5060"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !database_url.is_some_and(crate::store::is_postgres_url) {
        return Err(key_error(
            "cluster.node_id",
            "a cluster needs database.url = \"postgres://...\": the nodes share registrations through it",
        ));
    }
    Ok(Some(Cluster {
        node_id,
        uri,
        dest,
        secret,
        peers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: Option<&str> = Some("postgres://gw@db/sip");

    fn settings(toml: &str) -> ClusterSettings {
        crate::config::Settings::from_toml(toml)
            .expect("toml")
            .cluster
    }

    fn err(toml: &str, db: Option<&str>) -> String {
        parse_cluster(&settings(toml), db)
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn absent_means_alone() {
        assert_eq!(parse_cluster(&ClusterSettings::default(), None), Ok(None));
    }

    #[test]
    fn a_valid_node() {
        let c = parse_cluster(
            &settings(
                "[cluster]\nnode_id = \"gw-a\"\naddress = \"10.0.0.11:5070\"\n\
                 secret = \"0123456789abcdef\"\npeers = [\"10.0.0.12\", \"10.0.0.13:5060\"]\n",
            ),
            PG,
        )
        .expect("valid")
        .expect("cluster");
        assert_eq!(c.node_id, "gw-a");
        assert_eq!(c.dest, Dest::new(TransportKind::Udp, "10.0.0.11", 5070));
        assert_eq!(c.peers.len(), 2);
        assert!(c.peers[0].matches(&Dest::new(TransportKind::Udp, "10.0.0.12", 1)));
        assert!(!c.peers[1].matches(&Dest::new(TransportKind::Udp, "10.0.0.13", 1)));
        let (_, d) = parse_address("sip:gw-b.example:5060;transport=tcp").expect("uri");
        assert_eq!(d, Dest::new(TransportKind::Tcp, "gw-b.example", 5060));
    }

    #[test]
    fn errors_name_the_key() {
        let ok_rest = "address = \"10.0.0.11:5060\"\nsecret = \"0123456789abcdef\"\n";
        assert!(err(&format!("[cluster]\n{ok_rest}"), PG).contains("cluster.node_id: needed"));
        assert!(err(&format!("[cluster]\nnode_id = \"a b\"\n{ok_rest}"), PG)
            .contains("cluster.node_id"));
        assert!(err(
            "[cluster]\nnode_id = \"a\"\nsecret = \"0123456789abcdef\"\n",
            PG
        )
        .contains("cluster.address"));
        assert!(err(
            "[cluster]\nnode_id = \"a\"\naddress = \"10.0.0.1\"\nsecret = \"0123456789abcdef\"\n",
            PG
        )
        .contains("has no port"));
        assert!(err(
            "[cluster]\nnode_id = \"a\"\naddress = \"sip:h:1;transport=ws\"\nsecret = \"0123456789abcdef\"\n",
            PG
        )
        .contains("cluster.address"));
        assert!(
            err("[cluster]\nnode_id = \"a\"\naddress = \"h:1\"\n", PG).contains("cluster.secret")
        );
        assert!(err(
            "[cluster]\nnode_id = \"a\"\naddress = \"h:1\"\nsecret = \"short\"\n",
            PG
        )
        .contains("at least 16"));
        assert!(err(
            &format!("[cluster]\nnode_id = \"a\"\n{ok_rest}peers = [\"nope\"]\n"),
            PG
        )
        .contains("cluster.peers"));
        assert!(
            err(&format!("[cluster]\nnode_id = \"a\"\n{ok_rest}"), None).contains("postgres://")
        );
    }
}

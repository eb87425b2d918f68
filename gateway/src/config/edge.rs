//! The `[edge]` table: remote registrar domains the gateway fronts for browsers (RFC 3327
//! Path, RFC 5626 §5 edge proxy). A browser's REGISTER for an AOR of one of these domains is
//! forwarded to the domain's registrar instead of the embedded one; `proxy/edge.rs` has the
//! behaviour. Empty by default: nothing changes.

use super::{key_error, parse_domain, transport_and_port, ConfigError, Upstream};
use serde::Deserialize;
use sipsimple::transaction::Dest;
use std::collections::BTreeMap;

/// The `[edge]` table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeSettings {
    /// `edge.domains`.
    pub domains: Option<Vec<String>>,
    /// `edge.registrar`: the default registrar of every edge domain.
    pub registrar: Option<String>,
    /// `[edge.registrars]`: domain → registrar, overriding the default.
    pub registrars: Option<BTreeMap<String, String>>,
}

impl EdgeSettings {
    /// `self` with what `over` sets put on top.
    pub fn overlay(self, over: EdgeSettings) -> EdgeSettings {
        EdgeSettings {
            domains: over.domains.or(self.domains),
            registrar: over.registrar.or(self.registrar),
            registrars: over.registrars.or(self.registrars),
        }
    }

    /// The layer of the environment: `SIPSIMPLE_EDGE_DOMAINS` (comma-separated),
    /// `SIPSIMPLE_EDGE_REGISTRAR`, `SIPSIMPLE_EDGE_REGISTRARS` (`domain=uri,...`).
    pub fn from_env(val: impl Fn(&str) -> Option<String>) -> EdgeSettings {
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        };
        EdgeSettings {
            domains: val("edge.domains").map(list),
            registrar: val("edge.registrar"),
            registrars: val("edge.registrars").map(|v| {
                list(v)
                    .into_iter()
                    .map(|p| match p.split_once('=') {
                        Some((d, u)) => (d.trim().to_string(), u.trim().to_string()),
                        None => (p, String::new()),
                    })
                    .collect()
            }),
        }
    }
}

/// One edge domain, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeDomain {
    /// The domain, lower case.
    pub domain: String,
    /// Its registrar (and outbound proxy).
    pub registrar: Dest,
}

/// Parses a registrar: `sip:host[:port][;transport=udp|tcp|tls]`, `sips:` for TLS, or the
/// short `host:port;transport=udp`.
fn parse_registrar(key: &str, text: &str) -> Result<Dest, ConfigError> {
    let text = text.trim();
    let bad = |what: &str| key_error(key, format!("{text:?} {what}"));
    let full = if text.starts_with("sip:") || text.starts_with("sips:") {
        text.to_string()
    } else {
        format!("sip:{text}")
    };
    let uri = sipsimple::sip::Uri::parse(&full)
        .map_err(|_| bad("is not a registrar like sip:pbx.example.com:5060;transport=udp"))?;
    if !uri.is_sip() || uri.host.is_empty() || uri.user.is_some() {
        return Err(bad("is not a sip: or sips: URI with a host and no user"));
    }
    let (transport, port) = transport_and_port(&uri).map_err(bad)?;
    Ok(Dest::new(
        transport,
        crate::proxy::route::bare_host(&uri.host),
        port,
    ))
}

/// Checks the `[edge]` table against our own `domain` and the upstream proxy (the default
/// registrar when `edge.registrar` is not set).
pub fn parse_edge(
    e: &EdgeSettings,
    domain: &str,
    upstream: Option<&Upstream>,
) -> Result<Vec<EdgeDomain>, ConfigError> {
    let domains = e.domains.clone().unwrap_or_default();
    let registrars = e.registrars.clone().unwrap_or_default();
    let default = match e.registrar.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(parse_registrar("edge.registrar", t)?),
    };
    if domains.is_empty() {
        if default.is_some() || !registrars.is_empty() {
            return Err(key_error(
                "edge.domains",
                "needed when edge.registrar or edge.registrars is set",
            ));
        }
        return Ok(Vec::new());
    }
    let default = default.or_else(|| {
        upstream.map(|u| Dest::new(u.transport, crate::proxy::route::bare_host(&u.host), u.port))
    });
    let mut out: Vec<EdgeDomain> = Vec::new();
    for d in &domains {
        let d = parse_domain(d).map_err(|e| key_error("edge.domains", e))?;
        if d == domain {
            return Err(key_error(
                "edge.domains",
                format!("{d:?} is the gateway's own domain, served by its registrar"),
            ));
        }
        if out.iter().any(|o| o.domain == d) {
            return Err(key_error("edge.domains", format!("{d:?} is listed twice")));
        }
        let own = registrars
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(&d))
            .map(|(_, v)| parse_registrar("edge.registrars", v))
            .transpose()?;
        let Some(registrar) = own.or_else(|| default.clone()) else {
            return Err(key_error(
                "edge.registrar",
                format!(
                    "{d:?} has no registrar: set edge.registrar, edge.registrars or upstream.proxy"
                ),
            ));
        };
        out.push(EdgeDomain {
            domain: d,
            registrar,
        });
    }
    for k in registrars.keys() {
        if !out.iter().any(|o| o.domain.eq_ignore_ascii_case(k.trim())) {
            return Err(key_error(
                "edge.registrars",
                format!("{k:?} is not one of edge.domains"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use sipsimple::transaction::{Dest, TransportKind};

    fn bad(toml: &str) -> String {
        Settings::from_toml(toml)
            .expect("parses")
            .resolve()
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn the_example_config_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/gateway-edge.example.toml");
        let c = Settings::from_file(&path)
            .expect("parses")
            .resolve()
            .expect("valid");
        assert_eq!(c.edge.len(), 1);
        assert_eq!(
            c.edge[0].registrar,
            Dest::new(TransportKind::Udp, "pbx.example", 5060)
        );
    }

    #[test]
    fn edge_keys() {
        assert!(Settings::default()
            .resolve()
            .expect("valid")
            .edge
            .is_empty());
        let c = Settings::from_toml(
            "[edge]\ndomains = [\"PBX.example\", \"b.example\"]\n\
             registrar = \"127.0.0.1:5070;transport=tcp\"\n\
             [edge.registrars]\n\"b.example\" = \"sips:b.example\"\n",
        )
        .expect("parses")
        .resolve()
        .expect("valid");
        assert_eq!(c.edge.len(), 2);
        assert_eq!(c.edge[0].domain, "pbx.example");
        assert_eq!(
            c.edge[0].registrar,
            Dest::new(TransportKind::Tcp, "127.0.0.1", 5070)
        );
        assert_eq!(
            c.edge[1].registrar,
            Dest::new(TransportKind::Tls, "b.example", 5061)
        );
        // The upstream proxy is the default registrar.
        let c = Settings::from_toml(
            "[upstream]\nproxy = \"sip:10.0.0.1:5080\"\n[edge]\ndomains = [\"pbx.example\"]\n",
        )
        .expect("parses")
        .resolve()
        .expect("valid");
        assert_eq!(
            c.edge[0].registrar,
            Dest::new(TransportKind::Udp, "10.0.0.1", 5080)
        );
        let env = Settings::from_env(|k| match k {
            "SIPSIMPLE_EDGE_DOMAINS" => Some("a.example, c.example".into()),
            "SIPSIMPLE_EDGE_REGISTRAR" => Some("sip:127.0.0.1".into()),
            "SIPSIMPLE_EDGE_REGISTRARS" => Some("c.example=sip:127.0.0.2:5062".into()),
            _ => None,
        })
        .expect("env");
        let c = env.resolve().expect("valid");
        assert_eq!(c.edge[1].registrar.port, 5062);
        assert!(bad("[edge]\ndomains = [\"pbx.example\"]").contains("edge.registrar: "));
        assert!(bad("[edge]\nregistrar = \"sip:x\"").contains("edge.domains: "));
        assert!(
            bad("[edge]\ndomains = [\"sipsimple.local\"]\nregistrar = \"sip:x\"")
                .contains("own domain")
        );
        assert!(bad("[edge]\ndomains = [\"a b\"]\nregistrar = \"sip:x\"").contains("edge.domains"));
        assert!(
            bad("[edge]\ndomains = [\"p.example\"]\nregistrar = \"sip:x;transport=sctp\"")
                .contains("edge.registrar: ")
        );
        assert!(bad(
            "[edge]\ndomains = [\"p.example\"]\nregistrar = \"sip:x\"\n[edge.registrars]\n\"q.example\" = \"sip:y\""
        )
        .contains("edge.registrars: "));
        assert!(
            bad("[edge]\ndomains = [\"p.example\", \"P.example\"]\nregistrar = \"sip:x\"")
                .contains("twice")
        );
    }
}

//! Edge mode: the gateway as the outbound proxy (RFC 3327 Path, RFC 5626 §5 edge proxy,
//! RFC 7118) of browsers whose accounts live at a REMOTE registrar. For a configured edge
//! domain, a REGISTER arriving over a WebSocket flow is not handled by the embedded
//! registrar: it is forwarded statefully to the domain's registrar with `Supported: path`
//! and a `Path: <sip:pt-TOKEN@gateway;lr;ob>` whose user part is a signed flow token naming
//! the browser's WebSocket flow and the AOR (not a Call-ID: every later dialog uses it).
//! The registrar's 401/407 go back to the browser, which answers; its 2xx marks the flow as
//! authenticated for that AOR until the binding expires or the flow closes.
//!
//! Requests from an authenticated edge flow go to the domain's registrar/proxy with their
//! Request-URI kept (outbound proxy, no local digest); in-dialog ones follow the Record-Route
//! as for local users. A flow with no 2xx for the From AOR is refused (403): never an open
//! relay. Requests from the remote side whose top Route is our Path URI are delivered over
//! the flow its token names, or get 430 Flow Failed when that flow is gone (RFC 5626 §5.3);
//! a Path token that does not verify is 403.

use super::forward::is_ws;
use super::route::{hex, unhex};
use super::Core;
use crate::sipmsg::{name_addr, pop_top_route, prepend, top_route};
use sipsimple::auth::{constant_time_eq, Algorithm};
use sipsimple::sip::{Message, NameAddr, Uri};
use sipsimple::transaction::{Dest, TransactionId, TransportKind};
use sipsimple::Time;
use std::collections::HashMap;
use std::time::Duration;

/// Prefix of the Path tokens (the Record-Route flow tokens use `ft-`).
const PATH_PREFIX: &str = "pt-";
/// Hex characters of a Path token's MAC.
const MAC_LEN: usize = 24;

/// One remote domain the gateway fronts for browsers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeDomain {
    /// The domain, lower case.
    pub domain: String,
    /// Its registrar (and the outbound proxy of its users' requests).
    pub registrar: Dest,
}

/// The edge domains and which flows the remote registrars accepted, for which AORs.
#[derive(Debug, Default)]
pub struct Edge {
    domains: Vec<EdgeDomain>,
    /// Flow id → AOR (`user@domain`, lower-case domain) → when its binding lapses.
    flows: HashMap<u64, HashMap<String, Time>>,
}

/// What the top Route says about a Path URI of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PathRoute {
    /// The top Route is not one of our Path URIs.
    None,
    /// A valid token: deliver over this flow, for this AOR.
    Flow(Dest, String),
    /// Our Path URI with a token that does not verify.
    Forged,
}

/// The AOR of a URI: `user@host`, the host lower case.
fn aor(uri: &Uri) -> Option<String> {
    Some(format!(
        "{}@{}",
        uri.user.as_deref()?,
        uri.host.to_ascii_lowercase()
    ))
}

impl super::route::Local {
    fn path_mac(&self, payload: &str) -> String {
        // Distinct from the Record-Route MAC (`secret|payload|call-id|secret`): the literal
        // `path` cannot be a hex payload.
        let h = Algorithm::Sha256.hex(&format!("{}|path|{payload}|{}", self.secret, self.secret));
        h.get(..MAC_LEN).unwrap_or(&h).to_string()
    }

    /// A Path token naming WebSocket flow `flow` for `aor`.
    pub fn path_token(&self, flow: &Dest, aor: &str) -> String {
        let text = format!(
            "{}|{}|{}|{}|{aor}",
            flow.transport.via_name(),
            flow.host,
            flow.port,
            flow.flow.map(|f| f.to_string()).unwrap_or_default()
        );
        let payload = hex(text.as_bytes());
        let mac = self.path_mac(&payload);
        format!("{PATH_PREFIX}{payload}-{mac}")
    }

    /// The flow and AOR of a Path token written by [`path_token`](Self::path_token); `None`
    /// for anything else.
    pub fn verify_path_token(&self, user: &str) -> Option<(Dest, String)> {
        let rest = user.strip_prefix(PATH_PREFIX)?;
        let (payload, mac) = rest.rsplit_once('-')?;
        let expected = self.path_mac(payload);
        if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
            return None;
        }
        let text = String::from_utf8(unhex(payload)?).ok()?;
        let mut parts = text.splitn(5, '|');
        let kind = TransportKind::from_via_name(parts.next()?)?;
        let host = parts.next()?.to_string();
        let port = parts.next()?.parse().ok()?;
        let flow: u64 = parts.next()?.parse().ok()?;
        let aor = parts.next()?.to_string();
        Some((Dest::new(kind, host, port).with_flow(flow), aor))
    }
}

/// `true` when a URI user part is shaped like one of our Path tokens.
fn is_path_token(user: &str) -> bool {
    user.starts_with(PATH_PREFIX)
}

impl Edge {
    /// The edge domain of `host`.
    fn domain(&self, host: &str) -> Option<&EdgeDomain> {
        self.domains
            .iter()
            .find(|d| d.domain.eq_ignore_ascii_case(host))
    }

    /// `true` when no domain is configured.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// The flows that hold a live binding (for tests and metrics).
    pub fn authenticated(&self, flow: u64, aor: &str, now: Time) -> bool {
        self.flows
            .get(&flow)
            .and_then(|m| m.get(aor))
            .is_some_and(|t| *t > now)
    }
}

impl Core {
    /// Sets the edge domains.
    pub fn set_edge(&mut self, domains: Vec<EdgeDomain>) {
        self.edge = Edge {
            domains,
            flows: HashMap::new(),
        };
    }

    /// The edge domain a REGISTER over a WebSocket flow is for, when it is one.
    pub(super) fn edge_register_domain(&self, source: &Dest, msg: &Message) -> Option<Dest> {
        if self.edge.is_empty() || !is_ws(source) || source.flow.is_none() {
            return None;
        }
        let to = name_addr(msg, "To")?;
        self.edge.domain(&to.uri.host).map(|d| d.registrar.clone())
    }

    /// Forwards a browser's REGISTER for an edge domain to that domain's registrar, with our
    /// Path (RFC 3327 §5.1) and `Supported: path`.
    pub(super) fn edge_register(
        &mut self,
        now: Time,
        server: TransactionId,
        source: Dest,
        mut msg: Message,
        registrar: Dest,
    ) {
        let max_forwards = match msg.header("Max-Forwards") {
            None => super::DEFAULT_MAX_FORWARDS,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) => n,
                Err(_) => return self.reply(now, server, &msg, 400, "Invalid Max-Forwards"),
            },
        };
        if max_forwards == 0 {
            return self.reply(now, server, &msg, 483, "Too Many Hops");
        }
        let Some(to_aor) = name_addr(&msg, "To").and_then(|t| aor(&t.uri)) else {
            return self.reply(now, server, &msg, 400, "Bad To");
        };
        let hash = self.local.loop_hash(&msg);
        // Routes naming us (a client using us as its outbound proxy) are consumed here.
        if self.pop_routes(&mut msg).is_err() {
            return self.reply(now, server, &msg, 400, "Bad Route Header");
        }
        msg.set_header("Max-Forwards", (max_forwards - 1).to_string());
        let Some(host) = self.local.sent_by(registrar.transport) else {
            return self.reply(now, server, &msg, 503, "Service Unavailable");
        };
        let transport = match registrar.transport {
            TransportKind::Udp => String::new(),
            t => format!(";transport={}", t.via_name().to_ascii_lowercase()),
        };
        let token = self.local.path_token(&source, &to_aor);
        prepend(
            &mut msg,
            "Path",
            format!("<sip:{token}@{host}{transport};lr;ob>"),
        );
        let supports_path = msg
            .header_values("Supported")
            .iter()
            .any(|s| s.split(',').any(|o| o.trim().eq_ignore_ascii_case("path")));
        if !supports_path {
            msg.push_header("Supported", "path");
        }
        let prep = super::forward::Prepared {
            server,
            source,
            msg,
            hash,
            from_node: false,
            node_dests: Vec::new(),
        };
        self.forward(now, prep, vec![(None, registrar)]);
    }

    /// A 2xx to a REGISTER we forwarded for flow `source`: the flow is authenticated for the
    /// AOR until the binding of its Contact lapses; a removal (expires 0, `*`) forgets it.
    pub(super) fn edge_registered(
        &mut self,
        now: Time,
        source: &Dest,
        req: &Message,
        resp: &Message,
    ) {
        let Some(flow) = source.flow else { return };
        if self.edge_register_domain(source, req).is_none() {
            return;
        }
        let Some(to_aor) = name_addr(req, "To").and_then(|t| aor(&t.uri)) else {
            return;
        };
        let sent: Vec<NameAddr> = req
            .header_values("Contact")
            .iter()
            .filter_map(|c| NameAddr::parse(c).ok())
            .collect();
        if sent.is_empty() && req.header("Contact").is_none() {
            // A query: nothing changes.
            return;
        }
        let header_expires = resp
            .header("Expires")
            .and_then(|e| e.trim().parse::<u32>().ok());
        let granted: Vec<NameAddr> = resp
            .header_values("Contact")
            .iter()
            .filter_map(|c| NameAddr::parse(c).ok())
            .collect();
        let mut best: Option<u32> = None;
        for c in &sent {
            let found = granted
                .iter()
                .find(|g| g.uri.user == c.uri.user && g.uri.host.eq_ignore_ascii_case(&c.uri.host));
            let secs = found
                .and_then(|g| g.expires().or(header_expires))
                .unwrap_or(0);
            if secs > 0 {
                best = Some(best.map_or(secs, |b| b.max(secs)));
                self.learn_ws_host(source, &c.uri.host);
            }
        }
        let entry = self.edge.flows.entry(flow).or_default();
        match best {
            Some(secs) => {
                entry.insert(to_aor, now + Duration::from_secs(u64::from(secs)));
            }
            None => {
                entry.remove(&to_aor);
            }
        }
        if entry.is_empty() {
            self.edge.flows.remove(&flow);
        }
    }

    /// `true` when WebSocket flow `flow` holds a live edge binding for the request's From.
    pub(super) fn edge_may_send(&self, now: Time, flow: Option<u64>, msg: &Message) -> bool {
        let Some(flow) = flow else { return false };
        name_addr(msg, "From")
            .and_then(|f| aor(&f.uri))
            .is_some_and(|a| self.edge.authenticated(flow, &a, now))
    }

    /// The next hop of an out-of-dialog request from an authenticated edge flow: its domain's
    /// registrar/proxy, the Request-URI kept.
    pub(super) fn edge_outbound(&self, now: Time, source: &Dest, msg: &Message) -> Option<Dest> {
        if self.edge.is_empty() || !is_ws(source) || !self.edge_may_send(now, source.flow, msg) {
            return None;
        }
        if name_addr(msg, "To").is_some_and(|t| t.tag().is_some()) {
            return None;
        }
        let from = name_addr(msg, "From")?;
        self.edge
            .domain(&from.uri.host)
            .map(|d| d.registrar.clone())
    }

    /// `true` when the request comes from an edge user (a WebSocket flow whose From is of an
    /// edge domain): the challenges of its hops are the browser's to answer.
    pub(super) fn is_edge_request(&self, source: &Dest, msg: &Message) -> bool {
        !self.edge.is_empty()
            && is_ws(source)
            && name_addr(msg, "From").is_some_and(|f| self.edge.domain(&f.uri.host).is_some())
    }

    /// Reads (and pops) a top Route that is one of our Path URIs.
    pub(super) fn take_path_route(&self, msg: &mut Message) -> PathRoute {
        if self.edge.is_empty() {
            return PathRoute::None;
        }
        let Some(route) = top_route(msg) else {
            return PathRoute::None;
        };
        let Some(user) = route.uri.user.as_deref() else {
            return PathRoute::None;
        };
        if !self.local.is_us(&route.uri) || !is_path_token(user) {
            return PathRoute::None;
        }
        match self.local.verify_path_token(user) {
            Some((dest, aor)) => {
                pop_top_route(msg);
                PathRoute::Flow(dest, aor)
            }
            None => PathRoute::Forged,
        }
    }

    /// The flow a Path token names while it is open and still holds the token's AOR.
    pub(super) fn path_target(&self, now: Time, dest: &Dest, aor: &str) -> Option<Dest> {
        let flow = dest.flow?;
        (self.live_flows.contains(&flow) && self.edge.authenticated(flow, aor, now))
            .then(|| dest.clone())
    }

    /// Forgets the edge bindings of a closed flow.
    pub(super) fn edge_flow_closed(&mut self, flow: u64) {
        self.edge.flows.remove(&flow);
    }

    /// Drops lapsed edge bindings.
    pub(super) fn edge_expire(&mut self, now: Time) {
        self.edge.flows.retain(|_, m| {
            m.retain(|_, t| *t > now);
            !m.is_empty()
        });
    }
}

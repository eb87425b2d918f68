//! The proxy between WebSocket flows (RFC 7118) and UDP (RFC 3261 §18): request validation
//! (§16.3), route preprocessing (§16.4), targets from the location service (§16.5), forwarding
//! with Via, Max-Forwards and Record-Route (§16.6), response forwarding (§16.7) and the
//! stateless branch rule (§16.11), plus `received`/`rport` on UDP (§18.2.1, RFC 3581).
//!
//! Pure logic: each entry point takes a parsed message and the time and returns what to send;
//! the shells (`ws`, `udp`, `gateway`) own sockets and the user store. The proxy is stateless
//! for this skeleton, but every request passes through [`Proxy::forward`] and every response
//! through [`Proxy::on_response`], which is where server and client transactions go when it
//! becomes transaction-stateful.

use crate::registrar::{Outcome, Registrar};
use crate::sipmsg::{
    name_addr, pop_top_route, pop_top_via, prepend, replace_top_via, reply, top_route, top_via,
};
use crate::store::Hashes;
use sipsimple::auth::Algorithm;
use sipsimple::sip::{CSeq, Message, StartLine, Uri, Via};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Identifies one WebSocket connection for the life of the process.
pub type ConnId = u64;

/// How long a forwarded request's origin is remembered for its responses (64·T1 plus slack
/// for INVITE transactions whose final answer comes late).
pub const BRANCH_LIFETIME: Duration = Duration::from_secs(64);
/// Max-Forwards added to requests that have none (§16.6 step 3).
pub const DEFAULT_MAX_FORWARDS: u32 = 70;
/// Methods the gateway itself answers to or forwards, for OPTIONS.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER";

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A WebSocket connection.
    Ws(ConnId),
    /// A UDP peer.
    Udp(SocketAddr),
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// Over a WebSocket connection.
    Ws(ConnId),
    /// Over UDP to an address.
    Udp(SocketAddr),
    /// Over UDP to a host name the shell must resolve first.
    UdpHost {
        /// The host name.
        host: String,
        /// The port.
        port: u16,
    },
}

/// One message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Where to.
    pub dest: Dest,
    /// What.
    pub msg: Message,
}

/// What the proxy decided about one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send these.
    Send(Vec<Outgoing>),
    /// A REGISTER for the registrar: fetch the hashes of
    /// [`Registrar::digest_username`] and call [`Proxy::on_register`].
    Register {
        /// The connection it came on.
        conn: ConnId,
        /// The request.
        msg: Message,
    },
    /// A request for a user of our domain: find out whether the user exists and call
    /// [`Proxy::deliver_local`].
    Local {
        /// Where it came from.
        src: Source,
        /// The request, ready to forward but for the Request-URI.
        msg: Message,
        /// The user part of the Request-URI.
        user: String,
    },
    /// Nothing to do; the reason is for the debug log.
    Drop(&'static str),
}

/// The proxy's fixed settings.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Our SIP domain, lower case.
    pub domain: String,
    /// Our UDP address as written in Via and Record-Route.
    pub udp: SocketAddr,
    /// Secret mixed into branch values so that they cannot be predicted.
    pub salt: String,
}

/// The proxy with the registrar it asks for locations.
#[derive(Debug)]
pub struct Proxy {
    cfg: ProxyConfig,
    /// The location service.
    pub registrar: Registrar,
    /// Our branch → where the request came from, and until when to remember it.
    branches: HashMap<String, (Source, Instant)>,
    /// The `.invalid` host of each WebSocket flow (RFC 7118 §5) → its connection.
    flows: HashMap<String, ConnId>,
    /// The users each connection authenticated as (connection-bound authentication).
    conn_users: HashMap<ConnId, HashSet<String>>,
}

/// Parses a URI or Via host as an IP address, IPv6 with or without brackets.
fn parse_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// A UDP destination for `host:port`: an address when `host` is an IP literal.
fn udp_dest(host: &str, port: u16) -> Dest {
    match parse_ip(host) {
        Some(ip) => Dest::Udp(SocketAddr::new(ip, port)),
        None => Dest::UdpHost {
            host: host.to_string(),
            port,
        },
    }
}

/// Where to send a response over UDP given the Via it answers: `received` or sent-by, and
/// `rport` or the sent-by port (RFC 3261 §18.2.2, RFC 3581 §4).
pub fn via_response_dest(via: &Via) -> Dest {
    let host = via.param("received").flatten().unwrap_or(&via.host);
    let port = via
        .param("rport")
        .flatten()
        .and_then(|p| p.parse::<u16>().ok())
        .or(via.port)
        .unwrap_or(5060);
    udp_dest(host, port)
}

impl Proxy {
    /// A proxy with an empty location service.
    pub fn new(cfg: ProxyConfig) -> Proxy {
        let registrar = Registrar::new(&cfg.domain);
        Proxy {
            cfg,
            registrar,
            branches: HashMap::new(),
            flows: HashMap::new(),
            conn_users: HashMap::new(),
        }
    }

    /// `true` when `uri` names the gateway: our domain, or our UDP address and port.
    pub fn is_us(&self, uri: &Uri) -> bool {
        uri.host.eq_ignore_ascii_case(&self.cfg.domain)
            || (parse_ip(&uri.host) == Some(self.cfg.udp.ip())
                && uri.port.unwrap_or(5060) == self.cfg.udp.port())
    }

    /// `true` when the Via is one the gateway put on a request it forwarded.
    fn is_our_via(&self, via: &Via) -> bool {
        match via.transport.as_str() {
            "UDP" => {
                parse_ip(&via.host) == Some(self.cfg.udp.ip())
                    && via.port.unwrap_or(5060) == self.cfg.udp.port()
            }
            "WS" | "WSS" => via.host.eq_ignore_ascii_case(&self.cfg.domain),
            _ => false,
        }
    }

    /// Feeds one parsed message.
    pub fn on_message(&mut self, now: Instant, src: Source, msg: Message) -> Decision {
        if msg.is_request() {
            self.on_request(now, src, msg)
        } else {
            self.on_response(now, msg)
        }
    }

    /// A response of our own to `req`, sent back where it came from. ACK gets none (§17).
    fn respond(&self, src: Source, req: &Message, code: u16, reason: &str) -> Decision {
        if req.method() == Some("ACK") {
            return Decision::Drop("an ACK is never answered");
        }
        let mut r = reply(req, code, reason);
        if code == 200 || code == 405 {
            r.push_header("Allow", ALLOW);
        }
        let dest = match src {
            Source::Ws(c) => Dest::Ws(c),
            Source::Udp(addr) => top_via(req).map_or(Dest::Udp(addr), |v| via_response_dest(&v)),
        };
        Decision::Send(vec![Outgoing { dest, msg: r }])
    }

    /// A request from a WebSocket connection or a UDP peer.
    fn on_request(&mut self, now: Instant, src: Source, mut msg: Message) -> Decision {
        let Some(mut via) = top_via(&msg) else {
            return Decision::Drop("request without a valid Via");
        };
        if let Source::Udp(addr) = src {
            via.set_param("received", Some(&addr.ip().to_string()));
            if via.param("rport").is_some() {
                via.set_param("rport", Some(&addr.port().to_string()));
            }
            replace_top_via(&mut msg, &via);
        }
        let method = msg.method().unwrap_or_default().to_string();
        // §16.3 step 1: the headers a proxy relies on must make sense.
        let cseq_ok = msg
            .header("CSeq")
            .and_then(|c| CSeq::parse(c).ok())
            .is_some_and(|c| c.method == method);
        if !cseq_ok
            || name_addr(&msg, "From").is_none()
            || name_addr(&msg, "To").is_none()
            || msg.header("Call-ID").is_none()
        {
            return self.respond(src, &msg, 400, "Bad Request");
        }
        if method == "REGISTER" {
            return match src {
                Source::Ws(conn) => Decision::Register { conn, msg },
                // Bindings live on WebSocket flows; there is nothing to bind a UDP peer to.
                Source::Udp(_) => self.respond(src, &msg, 403, "Forbidden"),
            };
        }
        if let Source::Ws(conn) = src {
            // Connection-bound authentication: the flow proved its user with REGISTER.
            // Digest on INVITE (and Proxy-Authenticate) comes in a later issue.
            if !self.may_send(conn, &msg) {
                return self.respond(src, &msg, 403, "Forbidden");
            }
            self.learn_flow(conn, &via.host);
        }
        // §16.3 step 3.
        let max_forwards = match msg.header("Max-Forwards") {
            None => DEFAULT_MAX_FORWARDS,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) => n,
                Err(_) => return self.respond(src, &msg, 400, "Invalid Max-Forwards"),
            },
        };
        // §16.4: the Route we record-routed leads here; the next one (if any) is the hop.
        while top_route(&msg).is_some_and(|r| self.is_us(&r.uri)) {
            pop_top_route(&mut msg);
        }
        if msg.header("Route").is_some() && top_route(&msg).is_none() {
            return self.respond(src, &msg, 400, "Bad Route Header");
        }
        let next_route = top_route(&msg);
        let Some(ruri) = msg.request_uri().cloned() else {
            return Decision::Drop("not a request");
        };
        if next_route.is_none() && ruri.user.is_none() && self.is_us(&ruri) {
            // A request for the gateway itself (§16.3 step 2, §11).
            return match method.as_str() {
                "OPTIONS" => self.respond(src, &msg, 200, "OK"),
                _ => self.respond(src, &msg, 404, "Not Found"),
            };
        }
        if max_forwards == 0 {
            return self.respond(src, &msg, 483, "Too Many Hops");
        }
        msg.set_header("Max-Forwards", (max_forwards - 1).to_string());
        match next_route {
            // Loose routing toward another hop (§16.12): only our own users may do that.
            Some(route) => match src {
                Source::Ws(_) => self.forward_to_uri(now, src, msg, &route.uri),
                Source::Udp(_) => self.respond(src, &msg, 403, "Forbidden"),
            },
            None => self.route_by_request_uri(now, src, msg, &ruri),
        }
    }

    /// §16.5: the target set from the Request-URI.
    fn route_by_request_uri(
        &mut self,
        now: Instant,
        src: Source,
        msg: Message,
        ruri: &Uri,
    ) -> Decision {
        let host = ruri.host.to_ascii_lowercase();
        if host.ends_with(".invalid") {
            return self.forward_to_uri(now, src, msg, ruri);
        }
        if self.is_us(ruri) {
            return match ruri.user.clone() {
                Some(user) => Decision::Local { src, msg, user },
                None => self.respond(src, &msg, 404, "Not Found"),
            };
        }
        match src {
            Source::Ws(_) => self.forward_to_uri(now, src, msg, ruri),
            // Never an open relay: UDP peers reach our users and nothing else.
            Source::Udp(_) => self.respond(src, &msg, 403, "Forbidden"),
        }
    }

    /// Forwards toward `uri`: a WebSocket flow for its `.invalid` host, else UDP.
    fn forward_to_uri(&mut self, now: Instant, src: Source, msg: Message, uri: &Uri) -> Decision {
        let host = uri.host.to_ascii_lowercase();
        if host.ends_with(".invalid") {
            return match self.flows.get(&host) {
                Some(conn) => self.forward(now, src, msg, Dest::Ws(*conn)),
                None => self.respond(src, &msg, 480, "Temporarily Unavailable"),
            };
        }
        self.forward(now, src, msg, udp_dest(&uri.host, uri.port.unwrap_or(5060)))
    }

    /// §16.6 steps 4 to 8 (the Request-URI and Max-Forwards are already done): Record-Route
    /// on dialog-creating INVITEs, our Via with the §16.11 branch, and the origin remembered.
    pub fn forward(&mut self, now: Instant, src: Source, mut msg: Message, dest: Dest) -> Decision {
        let Some(in_via) = top_via(&msg) else {
            return Decision::Drop("request without a valid Via");
        };
        let branch = self.branch_for(&msg, &in_via);
        let method = msg.method().unwrap_or_default().to_string();
        let initial = name_addr(&msg, "To").is_some_and(|t| t.tag().is_none());
        if method == "INVITE" && initial {
            // So that in-dialog requests (ACK, BYE) from either side come back through us.
            prepend(
                &mut msg,
                "Record-Route",
                format!("<sip:{};lr>", self.cfg.udp),
            );
        }
        let via = match dest {
            Dest::Ws(_) => format!("SIP/2.0/WSS {};branch={branch}", self.cfg.domain),
            Dest::Udp(_) | Dest::UdpHost { .. } => {
                format!("SIP/2.0/UDP {};branch={branch}", self.cfg.udp)
            }
        };
        prepend(&mut msg, "Via", via);
        if method != "ACK" {
            self.branches.insert(branch, (src, now + BRANCH_LIFETIME));
        }
        Decision::Send(vec![Outgoing { dest, msg }])
    }

    /// §16.11: the same incoming branch always gives the same outgoing branch, so that
    /// retransmissions, CANCEL and the ACK of a non-2xx take the INVITE's path; RFC 2543
    /// requests without the magic cookie are keyed by the fields §16.11 names instead.
    fn branch_for(&self, msg: &Message, via: &Via) -> String {
        let sent_by = format!("{}:{}", via.host, via.port.unwrap_or(0));
        let key = match via.branch() {
            Some(b) if b.starts_with("z9hG4bK") => format!("{b}|{sent_by}"),
            _ => {
                let tag = |h: &str| {
                    name_addr(msg, h)
                        .and_then(|n| n.tag().map(str::to_string))
                        .unwrap_or_default()
                };
                let seq = msg
                    .header("CSeq")
                    .and_then(|c| CSeq::parse(c).ok())
                    .map_or(0, |c| c.seq);
                let ruri = msg.request_uri().map(Uri::to_string).unwrap_or_default();
                let call_id = msg.header("Call-ID").unwrap_or_default();
                format!(
                    "{ruri}|{sent_by}|{}|{}|{call_id}|{seq}",
                    tag("From"),
                    tag("To")
                )
            }
        };
        let hash = Algorithm::Sha256.hex(&format!("{}|{key}", self.cfg.salt));
        format!("z9hG4bK{}", hash.get(..32).unwrap_or(&hash))
    }

    /// §16.7: a response whose top Via is ours loses it and goes to the next Via's sender.
    fn on_response(&mut self, now: Instant, mut msg: Message) -> Decision {
        let Some(via) = top_via(&msg) else {
            return Decision::Drop("response without a valid Via");
        };
        if !self.is_our_via(&via) {
            return Decision::Drop("response whose top Via is not ours");
        }
        pop_top_via(&mut msg);
        let Some(next) = top_via(&msg) else {
            return Decision::Drop("response to a request the gateway made itself");
        };
        let origin = via
            .branch()
            .and_then(|b| self.branches.get(b))
            .filter(|(_, until)| *until > now)
            .map(|(src, _)| *src);
        let dest = match next.transport.as_str() {
            "UDP" => via_response_dest(&next),
            "WS" | "WSS" => match origin {
                Some(Source::Ws(conn)) => Dest::Ws(conn),
                _ => match self.flows.get(&next.host.to_ascii_lowercase()) {
                    Some(conn) => Dest::Ws(*conn),
                    None => return Decision::Drop("response for a WebSocket flow that is gone"),
                },
            },
            _ => return Decision::Drop("response for a transport the gateway does not speak"),
        };
        Decision::Send(vec![Outgoing { dest, msg }])
    }

    /// The registrar's answer to a REGISTER from `conn`; on success the connection is
    /// authenticated as the user and its contacts' hosts name its flow.
    pub fn on_register(
        &mut self,
        now: Instant,
        conn: ConnId,
        msg: &Message,
        hashes: Option<&Hashes>,
    ) -> Vec<Outgoing> {
        let response = match self.registrar.handle(now, conn, msg, hashes) {
            Outcome::Respond(r) => r,
            Outcome::Registered {
                response,
                user,
                contact_hosts,
            } => {
                self.conn_users.entry(conn).or_default().insert(user);
                for host in contact_hosts {
                    self.learn_flow(conn, &host);
                }
                if let Some(via) = top_via(msg) {
                    self.learn_flow(conn, &via.host);
                }
                response
            }
        };
        vec![Outgoing {
            dest: Dest::Ws(conn),
            msg: response,
        }]
    }

    /// The second half of a [`Decision::Local`]: retarget to the user's freshest binding.
    /// Stateless forwarding cannot fork, so other bindings are not tried.
    pub fn deliver_local(
        &mut self,
        now: Instant,
        src: Source,
        mut msg: Message,
        user: &str,
        exists: bool,
    ) -> Decision {
        if !exists {
            return self.respond(src, &msg, 404, "Not Found");
        }
        let Some((contact, conn)) = self
            .registrar
            .lookup(user, now)
            .first()
            .map(|b| (b.contact.clone(), b.conn))
        else {
            return self.respond(src, &msg, 480, "Temporarily Unavailable");
        };
        if let StartLine::Request { uri, .. } = &mut msg.start {
            *uri = contact;
        }
        self.forward(now, src, msg, Dest::Ws(conn))
    }

    /// `true` when the request's From is a user this connection authenticated as.
    fn may_send(&self, conn: ConnId, msg: &Message) -> bool {
        let Some(from) = name_addr(msg, "From") else {
            return false;
        };
        let users = self.conn_users.get(&conn);
        from.uri.host.eq_ignore_ascii_case(&self.cfg.domain)
            && from
                .uri
                .user
                .as_ref()
                .is_some_and(|u| users.is_some_and(|s| s.contains(u)))
    }

    /// Remembers that `host` (a `.invalid` name, RFC 7118 §5) is reached over `conn`. A name
    /// already held by another live connection is not taken over.
    fn learn_flow(&mut self, conn: ConnId, host: &str) {
        let host = host.to_ascii_lowercase();
        if host.ends_with(".invalid") {
            self.flows.entry(host).or_insert(conn);
        }
    }

    /// A WebSocket connection closed: its bindings, flow names and authentication go.
    pub fn connection_closed(&mut self, conn: ConnId) {
        self.registrar.remove_connection(conn);
        self.flows.retain(|_, c| *c != conn);
        self.conn_users.remove(&conn);
        self.branches.retain(|_, (src, _)| *src != Source::Ws(conn));
    }

    /// Forgets what has lapsed: branches, bindings, nonces.
    pub fn expire(&mut self, now: Instant) {
        self.branches.retain(|_, (_, until)| *until > now);
        self.registrar.expire(now);
    }
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;

//! The relay's routing state (RFC 4976 §6, §7): the connections, the URIs issued to
//! authenticated clients, the requests forwarded and awaiting their next hop's response, and
//! the decision where a request goes, with the path rewriting of §7.3. Pure logic, no I/O:
//! the connection tasks (`conn.rs`) lock it, ask, and do the sending themselves.

use sipsimple::msrp::{ByteRange, FailureReport, Flag, Frame, Method, Scheme, Uri};
use sipsimple::rng::Rng;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A connection's number, unique for the life of the process.
pub type ConnId = u64;

/// The write queue of one connection: whole frames in wire form.
pub type Tx = mpsc::Sender<Vec<u8>>;

/// How long a forwarded request waits for its next hop's response (RFC 4975 §7.1.1).
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);
/// URIs one connection may hold at once; a further AUTH retires the oldest.
const MAX_ISSUED_PER_CONN: usize = 16;

/// How a connection reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Accepted on the MSRP TCP listener.
    Tcp,
    /// Accepted on the MSRP TLS listener (`msrps`).
    Tls,
    /// Upgraded on the HTTP listener (RFC 7977, `ws`).
    Ws,
    /// Upgraded on the HTTPS listener (RFC 7977, `ws` over TLS).
    Wss,
    /// Opened by the relay toward a next hop.
    Outbound,
}

/// The relay's own authorities: what its URIs are made of and how they are recognised.
#[derive(Debug, Clone)]
pub struct Local {
    /// The host written in issued URIs (`msrp.advertise` or the bound address).
    pub host: String,
    /// The MSRP TCP listener's port, when on.
    pub tcp_port: Option<u16>,
    /// The MSRP TLS listener's port, when on.
    pub tls_port: Option<u16>,
    /// The HTTP listener's port (WebSocket `/msrp`).
    pub http_port: Option<u16>,
    /// The HTTPS listener's port (secure WebSocket `/msrp`), when on.
    pub https_port: Option<u16>,
}

impl Local {
    /// The URI issued for `session_id`. Peers reach the relay over TCP, so the URI is the
    /// TCP listener's (`;tcp`) whatever carried the AUTH, as RFC 7977 §8's example writes
    /// it (and Kamailio and OpenSIPS do). With the listener off only clients of this relay
    /// can use the URI, and it names the WebSocket the client came over (`;ws`, `msrps`
    /// for the secure one).
    pub fn issue_uri(&self, session_id: &str, transport: Transport) -> Uri {
        // A client that came over TLS gets the TLS listener's `msrps` URI: peers reach it
        // through the relay over TLS too (RFC 4975 §6: msrps means TLS on every hop).
        if let (Transport::Tls, Some(port)) = (transport, self.tls_port) {
            return Uri::new(
                Scheme::Msrps,
                &self.host,
                Some(port),
                Some(session_id),
                "tcp",
            );
        }
        if let Some(port) = self.tcp_port {
            return Uri::new(
                Scheme::Msrp,
                &self.host,
                Some(port),
                Some(session_id),
                "tcp",
            );
        }
        let (scheme, port) = if transport == Transport::Wss {
            (Scheme::Msrps, self.https_port)
        } else {
            (Scheme::Msrp, self.http_port)
        };
        Uri::new(scheme, &self.host, port, Some(session_id), "ws")
    }

    /// `true` when `uri` names one of the relay's own authorities (host and port).
    pub fn is_ours(&self, uri: &Uri) -> bool {
        let bare = |h: &str| {
            h.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(h)
                .to_ascii_lowercase()
        };
        let (a, b) = (bare(&uri.host), bare(&self.host));
        let same_host = match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        };
        same_host
            && uri.port.is_some_and(|p| {
                [
                    self.tcp_port,
                    self.tls_port,
                    self.http_port,
                    self.https_port,
                ]
                .contains(&Some(p))
            })
    }
}

/// One connection as the table knows it.
#[derive(Debug)]
struct Conn {
    tx: Tx,
    transport: Transport,
    peer: IpAddr,
    /// The user that authenticated on it.
    user: Option<String>,
    /// Wrong digest answers so far.
    failures: u32,
    /// For outbound connections, the `host:port` they reach.
    authority: Option<String>,
}

/// A URI issued to an authenticated client (RFC 4976 §5.1 Use-Path).
#[derive(Debug, Clone)]
pub struct Issued {
    /// The URI as written in Use-Path.
    pub uri: Uri,
    /// The client's connection.
    pub conn: ConnId,
    /// When it lapses.
    pub expires: Instant,
}

/// A request forwarded to a next hop, awaiting that hop's transaction response.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The connection it came from.
    pub upstream: ConnId,
    /// The request as received (transaction id, paths, report headers), without body.
    pub request: Frame,
    /// The bytes the chunk carried, for a failure REPORT.
    pub range: Option<ByteRange>,
    /// `true` when the relay already answered 200 upstream (a SEND with Failure-Report
    /// `yes`): a failure downstream then becomes a REPORT; otherwise it becomes the response.
    pub acked: bool,
    /// When the next hop's response is overdue.
    pub deadline: Instant,
}

/// Where a request goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Over this connection (a client of this relay).
    Conn(ConnId),
    /// To a remote MSRP endpoint or relay, over TCP.
    Remote {
        /// Its host.
        host: String,
        /// Its port.
        port: u16,
        /// `msrps`: TLS to it (RFC 4975 §6).
        tls: bool,
    },
}

/// Why a connection was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The source has `msrp.max_connections_per_ip` connections already.
    TooManyFromIp,
}

/// The routing table.
#[derive(Debug)]
pub struct Table {
    local: Local,
    max_per_ip: usize,
    conns: HashMap<ConnId, Conn>,
    per_ip: HashMap<IpAddr, usize>,
    issued: HashMap<String, Issued>,
    outbound: HashMap<String, ConnId>,
    pending: HashMap<(ConnId, String), Pending>,
}

impl Table {
    /// An empty table.
    pub fn new(local: Local, max_per_ip: usize) -> Table {
        Table {
            local,
            max_per_ip: max_per_ip.max(1),
            conns: HashMap::new(),
            per_ip: HashMap::new(),
            issued: HashMap::new(),
            outbound: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// The relay's authorities.
    pub fn local(&self) -> &Local {
        &self.local
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// URIs issued and not lapsed.
    pub fn issued_count(&self) -> usize {
        self.issued.len()
    }

    /// Registers a connection, within the per-source limit (outbound ones are not counted:
    /// the relay chose to open them).
    pub fn open(
        &mut self,
        id: ConnId,
        tx: Tx,
        transport: Transport,
        peer: IpAddr,
    ) -> Result<(), Refused> {
        if transport != Transport::Outbound {
            let n = self.per_ip.entry(peer).or_default();
            if *n >= self.max_per_ip {
                return Err(Refused::TooManyFromIp);
            }
            *n += 1;
        }
        self.conns.insert(
            id,
            Conn {
                tx,
                transport,
                peer,
                user: None,
                failures: 0,
                authority: None,
            },
        );
        Ok(())
    }

    /// `true` when a further connection from `peer` would be refused.
    pub fn at_ip_limit(&self, peer: IpAddr) -> bool {
        self.per_ip.get(&peer).copied().unwrap_or(0) >= self.max_per_ip
    }

    /// The write queue of `id`.
    pub fn sender(&self, id: ConnId) -> Option<Tx> {
        self.conns.get(&id).map(|c| c.tx.clone())
    }

    /// How `id` reached us.
    pub fn transport(&self, id: ConnId) -> Option<Transport> {
        self.conns.get(&id).map(|c| c.transport)
    }

    /// Counts a wrong digest answer on `id`; returns the count.
    pub fn auth_failed(&mut self, id: ConnId) -> u32 {
        self.conns.get_mut(&id).map_or(u32::MAX, |c| {
            c.failures += 1;
            c.failures
        })
    }

    /// The user authenticated on `id`.
    pub fn user(&self, id: ConnId) -> Option<&str> {
        self.conns.get(&id).and_then(|c| c.user.as_deref())
    }

    /// Issues a URI with `session_id` to `conn`, authenticated as `user`, until `expires`.
    pub fn issue(
        &mut self,
        conn: ConnId,
        user: &str,
        session_id: &str,
        expires: Instant,
    ) -> Option<Uri> {
        let c = self.conns.get_mut(&conn)?;
        c.user = Some(user.to_string());
        c.failures = 0;
        let uri = self.local.issue_uri(session_id, c.transport);
        let mine: Vec<(String, Instant)> = self
            .issued
            .iter()
            .filter(|(_, i)| i.conn == conn)
            .map(|(k, i)| (k.clone(), i.expires))
            .collect();
        if mine.len() >= MAX_ISSUED_PER_CONN {
            if let Some((oldest, _)) = mine.iter().min_by_key(|(_, e)| *e) {
                self.issued.remove(oldest);
            }
        }
        self.issued.insert(
            session_id.to_string(),
            Issued {
                uri: uri.clone(),
                conn,
                expires,
            },
        );
        Some(uri)
    }

    /// The issue behind `uri`, when it is one of ours (RFC 4975 §6.1 comparison).
    pub fn lookup(&self, uri: &Uri) -> Option<&Issued> {
        let i = self.issued.get(uri.session_id.as_deref()?)?;
        (i.uri == *uri).then_some(i)
    }

    /// The outbound connection to `authority`, if one is open.
    pub fn outbound(&self, authority: &str) -> Option<ConnId> {
        self.outbound.get(authority).copied()
    }

    /// Records `id` as the outbound connection to `authority`.
    pub fn set_outbound(&mut self, id: ConnId, authority: &str) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.authority = Some(authority.to_string());
            self.outbound.insert(authority.to_string(), id);
        }
    }

    /// Decides where a request from connection `from` goes, rewriting its paths as RFC 4976
    /// §7.3 asks: each leading To-Path URI that is ours moves to the front of From-Path.
    ///
    /// - The first To-Path URI must be one this relay issued (no open relay): else 403, or
    ///   481 for a URI of ours that is no longer issued.
    /// - A URI issued to `from` itself sends the request outward: to the next URI, which may
    ///   be ours again (both clients on this relay) or a remote hop reached over TCP.
    /// - A URI issued to another connection delivers to that client (inbound): the rest of
    ///   To-Path must then be the client's own URI alone.
    /// - From-Path may hold no URI issued to another connection (403): a client cannot
    ///   make responses and reports travel back through someone else's session.
    pub fn route(&self, from: ConnId, frame: &mut Frame) -> Result<Route, u16> {
        let foreign_in_from = frame
            .from_path
            .iter()
            .any(|u| self.lookup(u).is_some_and(|i| i.conn != from));
        if foreign_in_from {
            return Err(403);
        }
        let mut consumed = 0usize;
        let mut outward = false;
        loop {
            let Some(first) = frame.to_path.first() else {
                return Err(400);
            };
            let Some(issued) = self.lookup(first) else {
                if self.local.is_ours(first) {
                    return Err(481);
                }
                if consumed == 0 || !outward {
                    return Err(403);
                }
                if !first.transport.eq_ignore_ascii_case("tcp") {
                    // Only MSRP over TCP (msrp) or TLS (msrps) leaves the relay.
                    return Err(403);
                }
                return Ok(Route::Remote {
                    host: first.host.clone(),
                    port: first.port.unwrap_or(2855),
                    tls: first.scheme == Scheme::Msrps,
                });
            };
            let owner = issued.conn;
            if frame.to_path.len() < 2 {
                // Addressed to the relay itself: nothing is sent to relays but AUTH.
                return Err(400);
            }
            let ours = frame.to_path.remove(0);
            frame.from_path.insert(0, ours);
            consumed += 1;
            if owner == from {
                outward = true;
                continue;
            }
            let next_is_ours = frame
                .to_path
                .first()
                .is_some_and(|n| self.lookup(n).is_some());
            if next_is_ours {
                continue;
            }
            if frame.to_path.len() != 1 {
                return Err(403);
            }
            return Ok(Route::Conn(owner));
        }
    }

    /// Remembers a request forwarded as `tid` on `downstream`.
    pub fn add_pending(&mut self, downstream: ConnId, tid: &str, pending: Pending) {
        self.pending.insert((downstream, tid.to_string()), pending);
    }

    /// The request a response on `downstream` answers.
    pub fn take_pending(&mut self, downstream: ConnId, tid: &str) -> Option<Pending> {
        self.pending.remove(&(downstream, tid.to_string()))
    }

    /// Removes a connection: its URIs lapse, requests waiting on it fail back toward their
    /// senders (returned: the connection and frame to send), requests from it are forgotten.
    pub fn close(&mut self, id: ConnId, rng: &mut Rng) -> Vec<(ConnId, Frame)> {
        if let Some(c) = self.conns.remove(&id) {
            if c.transport != Transport::Outbound {
                if let Some(n) = self.per_ip.get_mut(&c.peer) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.per_ip.remove(&c.peer);
                    }
                }
            }
            if let Some(a) = c.authority {
                if self.outbound.get(&a) == Some(&id) {
                    self.outbound.remove(&a);
                }
            }
        }
        self.issued.retain(|_, i| i.conn != id);
        let keys: Vec<(ConnId, String)> = self
            .pending
            .iter()
            .filter(|((down, _), p)| *down == id || p.upstream == id)
            .map(|(k, _)| k.clone())
            .collect();
        let mut failed = Vec::new();
        for k in keys {
            if let Some(p) = self.pending.remove(&k) {
                if k.0 == id && p.upstream != id {
                    failed.push(p);
                }
            }
        }
        failures(failed, 481, "Session Does Not Exist", false, rng)
    }

    /// Lapses issued URIs and overdue transactions; returns the failures to send.
    pub fn expire(&mut self, now: Instant, rng: &mut Rng) -> Vec<(ConnId, Frame)> {
        self.issued.retain(|_, i| i.expires > now);
        let due: Vec<(ConnId, String)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(k, _)| k.clone())
            .collect();
        let overdue: Vec<Pending> = due
            .into_iter()
            .filter_map(|k| self.pending.remove(&k))
            .collect();
        failures(overdue, 408, "Request Timeout", true, rng)
    }
}

/// The bytes a chunk carried, as a REPORT names them (RFC 4975 §7.1.2).
pub fn chunk_range(frame: &Frame) -> Option<ByteRange> {
    let br = frame.byte_range?;
    let len = u64::try_from(frame.body().len()).unwrap_or(u64::MAX);
    let end = br.start.saturating_sub(1).saturating_add(len);
    let total = br.total.or((frame.flag == Flag::End).then_some(end));
    Some(ByteRange {
        start: br.start,
        end: Some(end),
        total,
    })
}

/// What a forwarded request that failed with `code` owes its sender: a failure REPORT when
/// the relay had already answered 200, else the response itself (RFC 4976 §7.3, RFC 4975
/// §7.1.1). One REPORT per message and sender is enough. A timeout of a `partial`
/// transaction is silent: no news is good news.
pub fn failures(
    failed: Vec<Pending>,
    code: u16,
    comment: &str,
    timeout: bool,
    rng: &mut Rng,
) -> Vec<(ConnId, Frame)> {
    let mut reported = HashSet::new();
    let mut out = Vec::new();
    for p in failed {
        let partial = p.request.failure_report == Some(FailureReport::Partial);
        if p.acked {
            let key = (p.upstream, p.request.message_id.clone());
            if !reported.insert(key) {
                continue;
            }
            if let Some(r) = p.request.report(rng, code, Some(comment), p.range) {
                out.push((p.upstream, r));
            }
        } else if !(timeout && partial) && p.request.method() != Some(&Method::Report) {
            if let Some(r) = p.request.response(code, Some(comment)) {
                out.push((p.upstream, r));
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;

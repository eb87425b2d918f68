//! Requests through the proxy: validation (RFC 3261 §16.3: headers, Max-Forwards, loops,
//! Proxy-Require), route preprocessing with our flow tokens (§16.4), target determination
//! (§16.5) and forwarding to every target in parallel (§16.6), the caller's CANCEL
//! (§16.10), and the ACK for a 2xx forwarded statelessly end to end (§16.11, §13.2.2.4).

use super::context::Context;
use super::route::{bare_host, uri_dest};
use super::{Core, Pending, DEFAULT_MAX_FORWARDS};
use crate::sipmsg::{name_addr, pop_top_route, prepend, top_route};
use sipsimple::sip::{CSeq, Message, StartLine, Uri};
use sipsimple::transaction::{Dest, TransactionId, TransportKind};
use sipsimple::Time;

/// A validated request, ready to be forwarded but for its Request-URI and our headers.
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    pub(super) server: TransactionId,
    pub(super) source: Dest,
    /// Max-Forwards decremented, our Routes popped.
    pub(super) msg: Message,
    /// The loop-detection hash of the request as received.
    pub(super) hash: String,
    /// Another node of the cluster handed it over: deliver to our own flows only.
    pub(super) from_node: bool,
    /// The branches that are hand-overs to other nodes (signed when sent).
    pub(super) node_dests: Vec<Dest>,
}

/// What route preprocessing (§16.4) found.
#[derive(Debug, Default)]
pub(super) struct Routes {
    /// The destination named by the flow token of the last of our Routes popped.
    token: Option<Dest>,
    /// One of our Routes carried a valid token: the request follows a dialog that was set
    /// up through us, so it may go where the dialog goes.
    pub(super) in_dialog: bool,
}

/// Where a request goes.
enum Target {
    /// These (new Request-URI, destination) pairs.
    Dests(Vec<(Option<Uri>, Dest)>),
    /// A user of our domain.
    Local(String),
    /// Refuse it.
    Reject(u16, &'static str),
}

pub(super) type Targets = Vec<(Option<Uri>, Dest)>;

pub(super) fn is_ws(d: &Dest) -> bool {
    matches!(d.transport, TransportKind::Ws | TransportKind::Wss)
}

/// §16.3 step 1: the headers a proxy relies on must make sense (the transaction layer has
/// already dropped requests without a Via, a Call-ID or a CSeq naming their method).
fn headers_ok(msg: &Message) -> bool {
    let method = msg.method().unwrap_or_default();
    msg.header("CSeq")
        .and_then(|c| CSeq::parse(c).ok())
        .is_some_and(|c| c.method == method)
        && name_addr(msg, "From").is_some()
        && name_addr(msg, "To").is_some()
}

/// Methods whose out-of-dialog request creates a dialog we record-route.
fn creates_dialog(msg: &Message) -> bool {
    matches!(msg.method(), Some("INVITE" | "SUBSCRIBE" | "REFER"))
        && name_addr(msg, "To").is_some_and(|t| t.tag().is_none())
}

impl Core {
    /// A new request created server transaction `server`.
    pub(super) fn on_request(
        &mut self,
        now: Time,
        server: TransactionId,
        source: Dest,
        msg: Message,
    ) {
        let method = msg.method().unwrap_or_default().to_string();
        // A source that gave too many wrong digest answers is refused without a look at its
        // credentials until its lockout ends.
        if self.lockout.is_locked(now, &self.client_key(&source, &msg)) {
            return self.reply(now, server, &msg, 403, "Forbidden");
        }
        if !headers_ok(&msg) {
            return self.reply(now, server, &msg, 400, "Bad Request");
        }
        if method == "CANCEL" {
            return self.on_cancel(now, server, &msg);
        }
        if method == "REGISTER" {
            // Edge mode: a browser's REGISTER for a remote domain goes to its registrar.
            if let Some(registrar) = self.edge_register_domain(&source, &msg) {
                return self.edge_register(now, server, source, msg, registrar);
            }
            return match crate::registrar::Registrar::digest_username(&msg) {
                Some(user) => {
                    let pending = Pending::Register {
                        server,
                        source,
                        msg: msg.clone(),
                    };
                    if !self.lookup(user, pending) {
                        self.reply(now, server, &msg, 503, "Service Unavailable");
                    }
                }
                None => self.register(now, server, &source, &msg, None),
            };
        }
        if is_ws(&source) {
            // Connection-bound authentication: the flow proved its user with REGISTER (to
            // us, or to an edge domain's registrar).
            if !self.may_send(source.flow, &msg) && !self.edge_may_send(now, source.flow, &msg) {
                return self.reply(now, server, &msg, 403, "Forbidden");
            }
            if let Some(via) = crate::sipmsg::top_via(&msg) {
                self.learn_ws_host(&source, &via.host);
            }
        }
        // §16.3 step 3.
        let max_forwards = match msg.header("Max-Forwards") {
            None => DEFAULT_MAX_FORWARDS,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) => n,
                Err(_) => return self.reply(now, server, &msg, 400, "Invalid Max-Forwards"),
            },
        };
        // §16.3 step 4: our own branch with this request's hash means it came around.
        if self.local.is_loop(&msg) {
            return self.reply(now, server, &msg, 482, "Loop Detected");
        }
        // §16.3 step 5: no extension is supported.
        let required: Vec<String> = msg
            .header_values("Proxy-Require")
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !required.is_empty() {
            let mut r = crate::sipmsg::reply(&msg, 420, "Bad Extension");
            r.push_header("Unsupported", required.join(", "));
            return self.send_response(now, server, None, r);
        }
        // Another node of the cluster vouches for a hand-over (its MAC); a header that does
        // not verify is refused rather than ignored.
        let from_node = match self.hand_over(&source, &msg) {
            super::cluster::HandOver::Forged => {
                return self.reply(now, server, &msg, 403, "Forbidden")
            }
            super::cluster::HandOver::Valid => true,
            super::cluster::HandOver::None => false,
        };
        // §16.3 step 6, §22.3: our users prove who they are before their requests go on
        // (a hand-over was challenged on the node that took it first).
        if !from_node && self.needs_auth(&source, &msg) {
            return self.authorize(now, server, source, msg, max_forwards);
        }
        self.route(now, server, source, msg, max_forwards, false);
    }

    /// The rest of a validated request's way (§16.4 to §16.6); `authenticated` when it came
    /// from one of our users who answered our digest challenge.
    pub(super) fn route(
        &mut self,
        now: Time,
        server: TransactionId,
        source: Dest,
        mut msg: Message,
        max_forwards: u32,
        authenticated: bool,
    ) {
        let method = msg.method().unwrap_or_default().to_string();
        let hash = self.local.loop_hash(&msg);
        // A hand-over header reaching this point was verified in `on_request`; it is ours to
        // consume.
        let from_node = msg.remove_header(super::cluster::NODE_HEADER) > 0;
        // Edge mode: our Path URI on top leads to the browser's flow (RFC 5626 §5.3).
        let path = match self.take_path_route(&mut msg) {
            super::edge::PathRoute::Forged => {
                return self.reply(now, server, &msg, 403, "Forbidden")
            }
            super::edge::PathRoute::Flow(dest, aor) => Some((dest, aor)),
            super::edge::PathRoute::None => None,
        };
        let routes = match self.pop_routes(&mut msg) {
            Ok(r) => r,
            Err(()) => return self.reply(now, server, &msg, 400, "Bad Route Header"),
        };
        let Some(ruri) = msg.request_uri().cloned() else {
            return;
        };
        if msg.header("Route").is_none() && ruri.user.is_none() && self.local.is_us(&ruri) {
            // A request for the gateway itself (§16.3 step 2, §11).
            return match method.as_str() {
                "OPTIONS" => self.reply(now, server, &msg, 200, "OK"),
                _ => self.reply(now, server, &msg, 404, "Not Found"),
            };
        }
        if max_forwards == 0 {
            return self.reply(now, server, &msg, 483, "Too Many Hops");
        }
        msg.set_header("Max-Forwards", (max_forwards - 1).to_string());
        if method == "BYE" {
            if let Some(ev) = self.calls.bye(msg.header("Call-ID").unwrap_or_default()) {
                self.out
                    .push_back(super::Output::Store(super::StoreOp::Call(ev)));
            }
        }
        let id = self.rng.token(16);
        if let Some(ev) = self.calls.start(server, &msg, id) {
            self.out
                .push_back(super::Output::Store(super::StoreOp::Call(ev)));
        }
        let prep = Prepared {
            server,
            source,
            msg,
            hash,
            from_node,
            node_dests: Vec::new(),
        };
        if let Some((dest, aor)) = path {
            return match self.path_target(now, &dest, &aor) {
                Some(d) => self.forward(now, prep, vec![(None, d)]),
                None => self.reply(now, server, &prep.msg, 430, "Flow Failed"),
            };
        }
        match self.target(now, &prep.source, &prep.msg, &routes, authenticated) {
            Target::Reject(code, reason) => self.reply(now, server, &prep.msg, code, reason),
            Target::Dests(t) => self.forward(now, prep, t),
            Target::Local(user) if self.clustered() && !prep.from_node => {
                // The location service is the shared store's: the user may be on any node.
                let msg = prep.msg.clone();
                if !self.look_up(user.clone(), Pending::Local { prep, user }, true) {
                    self.reply(now, server, &msg, 503, "Service Unavailable");
                }
            }
            Target::Local(user) => {
                let targets = if prep.from_node {
                    self.hand_over_targets(now, &user)
                } else {
                    self.local_targets(now, &user)
                };
                if !targets.is_empty() {
                    return self.forward(now, prep, targets);
                }
                // No binding: ask the store whether the user exists at all (404 or 480).
                let msg = prep.msg.clone();
                if !self.lookup(user.clone(), Pending::Local { prep, user }) {
                    self.reply(now, server, &msg, 503, "Service Unavailable");
                }
            }
        }
    }

    /// §16.4: pops the Routes that name us, reading their flow tokens. A Route header that
    /// does not parse is an error.
    pub(super) fn pop_routes(&self, msg: &mut Message) -> Result<Routes, ()> {
        let call_id = msg.header("Call-ID").unwrap_or_default().to_string();
        let mut routes = Routes::default();
        while let Some(r) = top_route(msg).filter(|r| self.local.is_us(&r.uri)) {
            pop_top_route(msg);
            routes.token = r
                .uri
                .user
                .as_deref()
                .and_then(|u| self.local.verify_token(u, &call_id));
            routes.in_dialog |= routes.token.is_some();
        }
        // Only a request inside a dialog (it has a To tag, §12.2.1.1) may use the dialog's
        // tokens; an initial request carrying them is routed like any other.
        if name_addr(msg, "To").is_none_or(|t| t.tag().is_none()) {
            routes.token = None;
            routes.in_dialog = false;
        }
        if msg.header("Route").is_some() && top_route(msg).is_none() {
            return Err(());
        }
        Ok(routes)
    }

    /// §16.5: where the request goes.
    fn target(
        &self,
        now: Time,
        source: &Dest,
        msg: &Message,
        routes: &Routes,
        authenticated: bool,
    ) -> Target {
        // Edge mode: an edge user's new request goes to its domain's registrar/proxy.
        if !routes.in_dialog {
            if let Some(d) = self.edge_outbound(now, source, msg) {
                return Target::Dests(vec![(None, d)]);
            }
        }
        let trusted = is_ws(source) || routes.in_dialog || authenticated;
        if let Some(route) = top_route(msg) {
            // Loose routing toward another hop (§16.12).
            if !trusted {
                return Target::Reject(403, "Forbidden");
            }
            return match self.uri_target(&route.uri) {
                Some(d) => Target::Dests(vec![(None, d)]),
                None => Target::Reject(480, "Temporarily Unavailable"),
            };
        }
        let Some(ruri) = msg.request_uri() else {
            return Target::Reject(400, "Bad Request");
        };
        // A dialog's flow token leads back to the flow of its other side.
        if let Some(token) = routes.token.as_ref().filter(|t| !same_flow(t, source)) {
            if let Some(d) = self.token_target(token, ruri) {
                return Target::Dests(vec![(None, d)]);
            }
        }
        if bare_host(&ruri.host).ends_with(".invalid") {
            return match self.uri_target(ruri) {
                Some(d) => Target::Dests(vec![(None, d)]),
                None => Target::Reject(480, "Temporarily Unavailable"),
            };
        }
        if self.local.is_us(ruri) {
            return match &ruri.user {
                Some(user) => Target::Local(user.clone()),
                None => Target::Reject(404, "Not Found"),
            };
        }
        if !trusted {
            // Never an open relay: other peers reach our users and nothing else.
            return Target::Reject(403, "Forbidden");
        }
        // Upstream mode: another domain is reached through the upstream proxy, the
        // Request-URI kept (§16.6 step 7: the upstream is the next hop).
        if let Some(up) = &self.upstream {
            return Target::Dests(vec![(None, up.dest.clone())]);
        }
        match self.uri_target(ruri) {
            Some(d) => Target::Dests(vec![(None, d)]),
            None => Target::Reject(416, "Unsupported URI Scheme"),
        }
    }

    /// The destination of a URI: a WebSocket flow for an `.invalid` host, else its address.
    fn uri_target(&self, uri: &Uri) -> Option<Dest> {
        let host = bare_host(&uri.host);
        if host.ends_with(".invalid") {
            return self.ws_hosts.get(&host).cloned();
        }
        uri_dest(uri)
    }

    /// The destination a dialog's flow token names: its connection while that is open (a
    /// WebSocket flow or a stream the peer opened), else the Request-URI's address. UDP
    /// dialogs follow the Request-URI, the remote target (§12.2.1.1).
    fn token_target(&self, token: &Dest, ruri: &Uri) -> Option<Dest> {
        match (token.transport, token.flow) {
            (TransportKind::Udp, _) => None,
            (_, Some(f)) if self.live_flows.contains(&f) => Some(token.clone()),
            (TransportKind::Ws | TransportKind::Wss, _) => None,
            (_, Some(_)) => uri_dest(ruri),
            (_, None) => Some(token.clone()),
        }
    }

    /// §16.6 for each target: a copy of the request with its Request-URI, Record-Route for
    /// both sides of a new dialog (RFC 5658), our Via, and a client transaction.
    pub(super) fn forward(&mut self, now: Time, prep: Prepared, targets: Targets) {
        let server = prep.server;
        let mut ctx = self
            .contexts
            .remove(&server)
            .unwrap_or_else(|| Context::new(prep.source.clone(), prep.msg.clone()));
        let call_id = prep.msg.header("Call-ID").unwrap_or_default().to_string();
        let record = creates_dialog(&prep.msg);
        for (uri, dest) in targets {
            if ctx.cancelled {
                break;
            }
            let mut msg = prep.msg.clone();
            if let (Some(uri), StartLine::Request { uri: ruri, .. }) = (uri, &mut msg.start) {
                *ruri = uri;
            }
            self.sign_hand_over(&prep, &dest, &mut msg);
            if record {
                let rr_in = self.local.record_route(&prep.source, &call_id);
                let rr_out = self.local.record_route(&dest, &call_id);
                if let (Some(rr_in), Some(rr_out)) = (rr_in, rr_out) {
                    prepend(&mut msg, "Record-Route", rr_in);
                    prepend(&mut msg, "Record-Route", rr_out);
                }
            }
            let branch = self.next_branch(&prep.hash);
            let sent = match self.local.via(dest.transport, &branch) {
                Some(via) => {
                    prepend(&mut msg, "Via", via);
                    let copy = msg.clone();
                    self.layer
                        .send_request(now, dest.clone(), msg)
                        .ok()
                        .map(|id| (id, copy))
                }
                None => None,
            };
            match sent {
                Some((client, request)) => {
                    ctx.add_branch(client, request, dest);
                    self.branch_of.insert(client, server);
                }
                // No listener for that transport: as if the branch answered 503 (§16.9).
                None => ctx.offer(crate::sipmsg::reply(&prep.msg, 503, "Service Unavailable")),
            }
        }
        self.contexts.insert(server, ctx);
        self.maybe_finish(now, server);
    }

    /// §16.10: the caller cancels its INVITE. The CANCEL is answered here; the pending
    /// branches are cancelled, and their 487s make the INVITE's final response.
    fn on_cancel(&mut self, now: Time, server: TransactionId, cancel: &Message) {
        let Some(invite) = self.layer.cancel_target(cancel) else {
            return self.reply(now, server, cancel, 481, "Call/Transaction Does Not Exist");
        };
        self.reply(now, server, cancel, 200, "OK");
        if let Some(ctx) = self.contexts.get_mut(&invite) {
            ctx.cancelled = true;
            super::responses::cancel_branches(&mut self.layer, now, ctx);
            return;
        }
        // Still waiting for the store: nothing was forwarded, so answer the INVITE here.
        let waiting = self.pending.iter().find_map(|(t, p)| match p {
            Pending::Local { prep, .. } if prep.server == invite => Some(*t),
            Pending::Authorize { server, .. } if *server == invite => Some(*t),
            _ => None,
        });
        match waiting.and_then(|token| self.pending.remove(&token)) {
            Some(Pending::Local { prep, .. }) => {
                self.reply(now, invite, &prep.msg, 487, "Request Terminated")
            }
            Some(Pending::Authorize { msg, .. }) => {
                self.reply(now, invite, &msg, 487, "Request Terminated")
            }
            _ => {}
        }
    }

    /// The ACK for a 2xx: routed like any request and sent on without a transaction.
    pub(super) fn on_ack(&mut self, now: Time, source: Dest, mut msg: Message) {
        if !headers_ok(&msg)
            || (is_ws(&source)
                && !self.may_send(source.flow, &msg)
                && !self.edge_may_send(now, source.flow, &msg))
        {
            return;
        }
        let max_forwards = msg
            .header("Max-Forwards")
            .map_or(Some(DEFAULT_MAX_FORWARDS), |v| v.trim().parse::<u32>().ok());
        let Some(max_forwards) = max_forwards.filter(|n| *n > 0) else {
            return;
        };
        let hash = self.local.loop_hash(&msg);
        let Ok(routes) = self.pop_routes(&mut msg) else {
            return;
        };
        msg.set_header("Max-Forwards", (max_forwards - 1).to_string());
        let (uri, dest) = match self.target(now, &source, &msg, &routes, false) {
            Target::Dests(mut t) if !t.is_empty() => t.swap_remove(0),
            Target::Local(user) => match self.local_targets(now, &user).into_iter().next() {
                Some(t) => t,
                None => return,
            },
            _ => return,
        };
        if let (Some(uri), StartLine::Request { uri: ruri, .. }) = (uri, &mut msg.start) {
            *ruri = uri;
        }
        let branch = self.next_branch(&hash);
        if let Some(via) = self.local.via(dest.transport, &branch) {
            prepend(&mut msg, "Via", via);
            self.layer.send_stateless(dest, &msg);
        }
    }
}

/// `true` when a token names the flow the request came on: only one of our two Routes was
/// present, so the token says nothing about where to go.
fn same_flow(token: &Dest, source: &Dest) -> bool {
    match (token.flow, source.flow) {
        (Some(a), Some(b)) => a == b,
        (None, None) => {
            token.transport == source.transport
                && token.host == source.host
                && token.port == source.port
        }
        _ => false,
    }
}

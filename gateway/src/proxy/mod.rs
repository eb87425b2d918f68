//! The transaction-stateful proxy of RFC 3261 §16 with the embedded registrar (§10.3), built
//! on the core's transaction layer (§17): a server transaction per incoming request, a client
//! transaction per branch, 100 Trying for INVITE (§16.2), request validation (§16.3, with
//! Max-Forwards and loop detection), route preprocessing (§16.4), targets from the location
//! service with parallel forking (§16.5, §16.6), response contexts with best-response
//! selection and merged challenges (§16.7), 408 on Timers B and C (§16.8), CANCEL (§16.10),
//! and the 2xx ACK forwarded end to end (§16.11 for ACK, §13.2.2.4).
//!
//! Sans-IO like the transaction layer it drives: [`Core::handle_input`] takes the time and
//! what happened, [`Core::poll_output`] says what to send, which user to look up and what to
//! store, and [`Core::poll_timeout`] when to come back. The shell (`gateway`) owns sockets,
//! the clock and the database.
//!
//! Open-relay rule: only WebSocket flows that registered with digest (connection-bound
//! authentication), and requests from our users over UDP, TCP or TLS that answered the
//! proxy's digest challenge (407, §22.3, `auth.rs`), may reach foreign hosts; every other
//! peer reaches our users, or follows a dialog that our signed Record-Route proves went
//! through us. A source that gave too many wrong digest answers is locked out (403).

mod auth;
pub mod calls;
pub mod cluster;
pub mod context;
pub mod edge;
mod forward;
mod responses;
pub mod route;
pub mod upstream;

use crate::guard::{client_key, Lockout, LockoutPolicy};
use crate::registrar::{Binding, Registrar};
use crate::store::Hashes;
use calls::{CallEvent, Calls};
use context::Context;
use route::Local;
use sipsimple::rng::Rng;
use sipsimple::sip::Message;
use sipsimple::transaction::{self, Config, Event, TransactionId, TransactionLayer};
use sipsimple::Time;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

pub use sipsimple::transaction::{Dest, TransportKind};

/// Max-Forwards added to requests that have none (§16.6 step 3).
pub const DEFAULT_MAX_FORWARDS: u32 = 70;
/// Methods the gateway itself answers to or forwards, for OPTIONS.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER";
/// User look-ups waiting for the store at most; past that, requests get 503.
const MAX_PENDING: usize = 10_000;

/// What the shell feeds in.
// `Received` carries a whole `Message`, as the transaction layer's own input does; boxing it
// would cost an allocation per message to save queue space nobody holds.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A message arrived from `source` (for a stream or WebSocket, `source.flow` is set).
    Received {
        /// Where it came from.
        source: Dest,
        /// The message.
        msg: Message,
    },
    /// [`Core::poll_timeout`] has passed.
    Timeout,
    /// A connection closed; `dest` is the source of the messages that came on it.
    FlowClosed {
        /// The flow.
        dest: Dest,
    },
    /// Sending to `dest` failed.
    SendFailed {
        /// The destination.
        dest: Dest,
    },
    /// The answer to [`Output::Locate`]: the user's hashes and its bindings on every node.
    Located {
        /// The look-up's token.
        token: u64,
        /// What the store said about the user.
        answer: UserAnswer,
        /// The user's live bindings in the shared store.
        bindings: Vec<cluster::NodeBinding>,
    },
    /// The answer to [`Output::Lookup`].
    User {
        /// The look-up's token.
        token: u64,
        /// What the store said.
        answer: UserAnswer,
    },
}

/// The store's answer about one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAnswer {
    /// The user exists; these are its hashes.
    Found(Hashes),
    /// There is no such user.
    Missing,
    /// The store failed: the request gets 503 rather than a wrong verdict.
    Failed,
}

/// A change for the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    /// Save (insert or refresh) a binding of `user` that is not tied to a connection.
    SaveBinding {
        /// The user.
        user: String,
        /// The binding.
        binding: Binding,
        /// Seconds it has left.
        expires_in: u64,
    },
    /// Remove the binding of `user` for `contact`.
    RemoveBinding {
        /// The user.
        user: String,
        /// The contact URI.
        contact: String,
    },
    /// Remove every binding of `user`.
    RemoveBindings {
        /// The user.
        user: String,
    },
    /// Remove this node's binding of `user` for `contact` (its connection closed).
    ForgetFlowBinding {
        /// The user.
        user: String,
        /// The contact URI.
        contact: String,
    },
    /// A call log event.
    Call(CallEvent),
}

/// What the core asks of the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send one message.
    Transmit {
        /// Where to.
        dest: Dest,
        /// The message in wire form.
        bytes: Vec<u8>,
    },
    /// Fetch the hashes of `user` and answer with [`Input::User`].
    Lookup {
        /// Returned with the answer.
        token: u64,
        /// The user name.
        user: String,
    },
    /// Fetch the hashes of `user` and its bindings on every node of the cluster, and
    /// answer with [`Input::Located`].
    Locate {
        /// Returned with the answer.
        token: u64,
        /// The user name.
        user: String,
    },
    /// Write to the database.
    Store(StoreOp),
}

/// A request waiting for a user look-up.
#[derive(Debug, Clone)]
enum Pending {
    /// A REGISTER whose Authorization names a user.
    Register {
        server: TransactionId,
        source: Dest,
        msg: Message,
    },
    /// A request for a local user who has no binding: 404 or 480?
    Local {
        prep: forward::Prepared,
        user: String,
    },
    /// A request from a local user that answered our 407: check the answer.
    Authorize {
        server: TransactionId,
        source: Dest,
        msg: Message,
        max_forwards: u32,
    },
}

/// What the core counts, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Live registered contacts.
    pub registrations: usize,
    /// Answered calls not yet ended.
    pub dialogs: usize,
    /// Wrong digest answers.
    pub auth_failures: u64,
    /// Lockouts begun.
    pub lockouts: u64,
}

/// The proxy core: transaction layer, registrar, response contexts and call log.
#[derive(Debug)]
pub struct Core {
    local: Local,
    layer: TransactionLayer,
    rng: Rng,
    /// The location service.
    pub registrar: Registrar,
    /// Response contexts by server transaction.
    contexts: HashMap<TransactionId, Context>,
    /// The server transaction of each client transaction.
    branch_of: HashMap<TransactionId, TransactionId>,
    pending: HashMap<u64, Pending>,
    next_token: u64,
    /// The `.invalid` host of each WebSocket flow (RFC 7118 §5) → the flow.
    ws_hosts: HashMap<String, Dest>,
    /// The users each WebSocket flow authenticated as.
    flow_users: HashMap<u64, HashSet<String>>,
    /// Flows that are open, as far as the core has heard.
    live_flows: HashSet<u64>,
    calls: Calls,
    /// Wrong digest answers per source, and who is locked out.
    lockout: Lockout,
    /// `[security] trusted_proxies`.
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Where requests of our users to other domains go, when configured.
    upstream: Option<upstream::Upstream>,
    /// This node of a cluster, when configured.
    cluster: Option<cluster::ClusterNode>,
    /// Edge mode: remote registrars fronted for browsers, and the flows they accepted.
    edge: edge::Edge,
    out: VecDeque<Output>,
}

impl Core {
    /// A core for `local`, its randomness seeded with `seed`.
    pub fn new(local: Local, seed: u64) -> Core {
        let mut config = Config::default();
        // §16.2: a stateful proxy answers every INVITE with 100 Trying at once.
        config.trying_delay = Some(Duration::ZERO);
        Core {
            registrar: Registrar::new(&local.domain),
            layer: TransactionLayer::new(config, seed),
            rng: Rng::from_seed(seed ^ 0x9e37_79b9_7f4a_7c15),
            local,
            contexts: HashMap::new(),
            branch_of: HashMap::new(),
            pending: HashMap::new(),
            next_token: 1,
            ws_hosts: HashMap::new(),
            flow_users: HashMap::new(),
            live_flows: HashSet::new(),
            calls: Calls::default(),
            lockout: Lockout::new(LockoutPolicy::default()),
            trusted_proxies: Vec::new(),
            upstream: None,
            cluster: None,
            edge: edge::Edge::default(),
            out: VecDeque::new(),
        }
    }

    /// Sets the wall clock (Unix ms) at the core's time zero, which digest nonces carry.
    pub fn set_digest_clock(&mut self, epoch_unix_ms: u64) {
        self.registrar.digest.set_clock(epoch_unix_ms);
    }

    /// Sets when a source is locked out after wrong digest answers.
    pub fn set_lockout_policy(&mut self, policy: LockoutPolicy) {
        self.lockout = Lockout::new(policy);
    }

    /// The counters of `/metrics` at `now`.
    pub fn stats(&self, now: Time) -> Stats {
        Stats {
            registrations: self.registrar.binding_count(now),
            dialogs: self.calls.active(),
            auth_failures: self.lockout.failures_total,
            lockouts: self.lockout.lockouts_total,
        }
    }

    /// Counts a wrong digest answer in `msg` from `source`.
    fn auth_failed(&mut self, now: Time, source: &Dest, msg: &Message) {
        let client = client_key(source, msg, &self.trusted_proxies);
        if self.lockout.failed(now, &client) {
            tracing::warn!(%source, %client, "too many wrong digest answers; source locked out");
        }
    }

    /// Sets the front proxies whose `X-Sipsimple-Source` names the client (`[security]
    /// trusted_proxies`).
    pub fn set_trusted_proxies(&mut self, trusted: Vec<std::net::IpAddr>) {
        self.trusted_proxies = trusted;
    }

    /// The key `msg` from `source` is locked out under.
    pub(super) fn client_key(&self, source: &Dest, msg: &Message) -> String {
        client_key(source, msg, &self.trusted_proxies)
    }

    /// Our identity on the wire.
    pub fn local(&self) -> &Local {
        &self.local
    }

    /// Feeds one input, then runs the transaction layer's events through the proxy logic.
    pub fn handle_input(&mut self, now: Time, input: Input) {
        match input {
            Input::Received { source, msg } => {
                if let Some(f) = source.flow {
                    self.live_flows.insert(f);
                }
                self.layer
                    .handle_input(now, transaction::Input::Received { source, msg });
            }
            Input::Timeout => self.layer.handle_input(now, transaction::Input::Timeout),
            Input::FlowClosed { dest } => {
                if let Some(flow) = dest.flow {
                    self.live_flows.remove(&flow);
                    let gone = self.registrar.flow_closed(flow);
                    if self.clustered() {
                        for (user, contact) in gone {
                            self.out
                                .push_back(Output::Store(StoreOp::ForgetFlowBinding {
                                    user,
                                    contact: contact.to_string(),
                                }));
                        }
                    }
                    self.ws_hosts.retain(|_, d| d.flow != Some(flow));
                    self.flow_users.remove(&flow);
                    self.edge_flow_closed(flow);
                }
                self.layer
                    .handle_input(now, transaction::Input::TransportError { dest });
            }
            Input::SendFailed { dest } => self
                .layer
                .handle_input(now, transaction::Input::TransportError { dest }),
            Input::User { token, answer } => self.on_user(now, token, answer, None),
            Input::Located {
                token,
                answer,
                bindings,
            } => self.on_user(now, token, answer, Some(bindings)),
        }
        self.drain(now);
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to feed [`Input::Timeout`].
    pub fn poll_timeout(&self) -> Option<Time> {
        self.layer.poll_timeout()
    }

    /// How many transactions are live (tests check that none is left behind).
    #[cfg(test)]
    pub fn transactions(&self) -> usize {
        self.layer.len()
    }

    /// Puts back a binding from the store at start-up.
    pub fn restore_binding(
        &mut self,
        now: Time,
        user: &str,
        contact: sipsimple::sip::Uri,
        source: Dest,
        remaining: Duration,
    ) {
        self.registrar
            .restore(now, user, contact, source, remaining);
    }

    /// Drops lapsed bindings, nonces and forgotten calls; the shell calls it every few seconds.
    pub fn expire(&mut self, now: Time) {
        self.registrar.expire(now);
        self.calls.expire(now);
        self.lockout.expire(now);
        self.edge_expire(now);
    }

    fn drain(&mut self, now: Time) {
        while let Some(o) = self.layer.poll_output() {
            match o {
                transaction::Output::Transmit { dest, bytes } => {
                    self.out.push_back(Output::Transmit { dest, bytes })
                }
                transaction::Output::Event(e) => self.on_event(now, e),
            }
        }
    }

    fn on_event(&mut self, now: Time, e: Event) {
        match e {
            Event::Request { id, source, msg } => self.on_request(now, id, source, msg),
            Event::Response { id, msg } => self.on_response(now, id, msg),
            Event::Ack { source, msg, .. } => self.on_ack(now, source, msg),
            Event::Timeout { id } => self.on_branch_failure(now, id, 408, "Request Timeout"),
            Event::TransportError { id } => {
                self.on_branch_failure(now, id, 503, "Service Unavailable")
            }
            Event::Terminated { id } => self.on_terminated(now, id),
        }
    }

    fn lookup(&mut self, user: String, pending: Pending) -> bool {
        self.look_up(user, pending, false)
    }

    /// Asks the store about `user`; `locate` for its bindings on every node as well.
    fn look_up(&mut self, user: String, pending: Pending, locate: bool) -> bool {
        if self.pending.len() >= MAX_PENDING {
            return false;
        }
        let token = self.next_token;
        self.next_token += 1;
        self.pending.insert(token, pending);
        self.out.push_back(if locate {
            Output::Locate { token, user }
        } else {
            Output::Lookup { token, user }
        });
        true
    }

    fn on_user(
        &mut self,
        now: Time,
        token: u64,
        answer: UserAnswer,
        stored: Option<Vec<cluster::NodeBinding>>,
    ) {
        let pending = self.pending.remove(&token);
        if answer == UserAnswer::Failed {
            let (server, msg) = match &pending {
                Some(Pending::Register { server, msg, .. })
                | Some(Pending::Authorize { server, msg, .. }) => (*server, msg),
                Some(Pending::Local { prep, .. }) => (prep.server, &prep.msg),
                None => return,
            };
            let msg = msg.clone();
            return self.reply(now, server, &msg, 503, "Service Unavailable");
        }
        let hashes = match answer {
            UserAnswer::Found(h) => Some(h),
            _ => None,
        };
        match pending {
            Some(Pending::Register {
                server,
                source,
                msg,
            }) => self.register(now, server, &source, &msg, hashes.as_ref()),
            Some(Pending::Local { prep, user }) => {
                if hashes.is_none() {
                    return self.reply(now, prep.server, &prep.msg, 404, "Not Found");
                }
                let mut prep = prep;
                let targets = match stored {
                    Some(stored) => {
                        let (targets, nodes) = self.cluster_targets(now, &user, &stored);
                        prep.node_dests = nodes;
                        targets
                    }
                    None if prep.from_node => self.hand_over_targets(now, &user),
                    None => self.local_targets(now, &user),
                };
                if targets.is_empty() {
                    return self.reply(now, prep.server, &prep.msg, 480, "Temporarily Unavailable");
                }
                self.forward(now, prep, targets);
            }
            Some(Pending::Authorize {
                server,
                source,
                msg,
                max_forwards,
            }) => self.on_authorize(now, server, source, msg, max_forwards, hashes.as_ref()),
            None => {}
        }
    }

    /// A REGISTER with the user's hashes: the registrar decides; a success authenticates a
    /// WebSocket flow and names it by its `.invalid` hosts, and the bindings that outlive
    /// connections go to the store.
    fn register(
        &mut self,
        now: Time,
        server: TransactionId,
        source: &Dest,
        msg: &Message,
        hashes: Option<&Hashes>,
    ) {
        use crate::registrar::{Change, Outcome};
        let response = match self.registrar.handle(now, source, msg, hashes) {
            Outcome::Respond(r) => r,
            Outcome::Refused(r) => {
                self.auth_failed(now, source, msg);
                r
            }
            Outcome::Registered {
                response,
                user,
                contact_hosts,
                changes,
            } => {
                if let (TransportKind::Ws | TransportKind::Wss, Some(flow)) =
                    (source.transport, source.flow)
                {
                    self.flow_users
                        .entry(flow)
                        .or_default()
                        .insert(user.clone());
                    for host in contact_hosts {
                        self.learn_ws_host(source, &host);
                    }
                }
                let clustered = self.clustered();
                for change in changes {
                    let op = match change {
                        // A WebSocket binding dies with its connection; in a cluster the
                        // other nodes still need to know which node holds it.
                        Change::Saved(b) if b.flow_bound() && !clustered => continue,
                        Change::Saved(b) => StoreOp::SaveBinding {
                            user: user.clone(),
                            expires_in: b.remaining(now),
                            binding: b,
                        },
                        Change::Removed(uri) => StoreOp::RemoveBinding {
                            user: user.clone(),
                            contact: uri.to_string(),
                        },
                        Change::RemovedAll => StoreOp::RemoveBindings { user: user.clone() },
                    };
                    self.out.push_back(Output::Store(op));
                }
                response
            }
        };
        let _ = self.layer.respond(now, server, response);
    }

    /// Remembers that the `.invalid` `host` (RFC 7118 §5) is reached over the WebSocket flow
    /// `source`. A name already held by another live flow is not taken over.
    fn learn_ws_host(&mut self, source: &Dest, host: &str) {
        let host = host.to_ascii_lowercase();
        if !host.ends_with(".invalid") {
            return;
        }
        let live = &self.live_flows;
        let entry = self.ws_hosts.entry(host).or_insert_with(|| source.clone());
        if entry.flow.is_none_or(|f| !live.contains(&f)) {
            *entry = source.clone();
        }
    }

    /// `true` when the request's From is a user that WebSocket flow `flow` authenticated as.
    fn may_send(&self, flow: Option<u64>, msg: &Message) -> bool {
        let Some(from) = crate::sipmsg::name_addr(msg, "From") else {
            return false;
        };
        let users = flow.and_then(|f| self.flow_users.get(&f));
        self.local.is_us(&from.uri)
            && from
                .uri
                .user
                .as_ref()
                .is_some_and(|u| users.is_some_and(|s| s.contains(u)))
    }

    /// The live bindings of a local user as branch targets, freshest first.
    fn local_targets(&self, now: Time, user: &str) -> Vec<(Option<sipsimple::sip::Uri>, Dest)> {
        self.registrar
            .lookup(user, now)
            .into_iter()
            .filter_map(|b| Some((Some(b.contact.clone()), b.dest()?)))
            .collect()
    }

    /// A response of our own to the request of server transaction `server`.
    fn reply(&mut self, now: Time, server: TransactionId, req: &Message, code: u16, reason: &str) {
        if req.method() == Some("ACK") {
            return;
        }
        let mut r = crate::sipmsg::reply(req, code, reason);
        if code == 200 || code == 405 {
            r.push_header("Allow", ALLOW);
        }
        self.send_response(now, server, None, r);
    }

    /// Sends `resp` upstream on `server`, logging the final response of a call. A 2xx the
    /// transaction can no longer take (it ended after Timer L, or sent a non-2xx) goes out
    /// statelessly to `source` (§16.7 step 10, RFC 6026 §8.7).
    fn send_response(
        &mut self,
        now: Time,
        server: TransactionId,
        source: Option<&Dest>,
        resp: Message,
    ) {
        let code = resp.code().unwrap_or(0);
        if code >= 200 {
            let call_id = resp.header("Call-ID").unwrap_or_default().to_string();
            if let Some(ev) = self.calls.final_response(now, server, code, &call_id) {
                self.out.push_back(Output::Store(StoreOp::Call(ev)));
            }
        }
        let is_2xx = (200..300).contains(&code);
        if is_2xx {
            // Edge mode: a remote registrar's 2xx authenticates the browser's flow.
            if let Some(ctx) = self.contexts.get(&server) {
                if ctx.request.method() == Some("REGISTER") {
                    let (source, req) = (ctx.source.clone(), ctx.request.clone());
                    self.edge_registered(now, &source, &req, &resp);
                }
            }
        }
        let copy = is_2xx.then(|| resp.clone());
        if self.layer.respond(now, server, resp).is_err() {
            if let (Some(resp), Some(dest)) = (copy, source) {
                self.layer.send_stateless(dest.clone(), &resp);
            }
        }
    }

    fn next_branch(&mut self, hash: &str) -> String {
        format!("z9hG4bK{hash}.{}", self.rng.token(10))
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
#[cfg(test)]
#[path = "tests_auth.rs"]
mod tests_auth;
#[cfg(test)]
#[path = "tests_cluster.rs"]
mod tests_cluster;
#[cfg(test)]
#[path = "tests_edge.rs"]
mod tests_edge;
#[cfg(test)]
#[path = "tests_routing.rs"]
mod tests_routing;
#[cfg(test)]
#[path = "tests_upstream.rs"]
mod tests_upstream;

//! The registration client (RFC 3261 §10.2): REGISTER with digest retry (§22.2), `423 Interval
//! Too Brief` (§10.2.8), refresh before expiry, retry with back-off after failures, and
//! unregistration. Notifications: SIPAccountRegistrationDidSucceed/DidFail/DidEnd.
//!
//! Over WebSocket the registration asks for RFC 5626 outbound (§4.2: `Supported: outbound`,
//! `+sip.instance`, `reg-id=1`) and notes whether the registrar's 2xx accepted it. A flow
//! that closes while outbound is in use counts as a failed registration (§4.5): the back-off
//! says when to retry, and a reopened flow re-registers at once. A REGISTER that gets no
//! response moves to the account's next route (failover, the seed's `next_route`).
//!
//! Each REGISTER is a non-INVITE client transaction of the user agent's transaction layer:
//! Timer F (64·T1) reports a registrar that never answers, Timer E retransmits on UDP.

use crate::auth::Challenge;
use crate::dialog::cseq_of;
use crate::notification::Event;
use crate::session::Failure;
use crate::sip::{split_list, Message, NameAddr, Uri};
use crate::time::Time;
use crate::transaction::TransactionId;
use crate::ua::{Ctx, ALLOW};
use core::time::Duration;

/// Longest wait between failed attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);
/// Wait after the first failure.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(30);
/// Wait before trying a route not yet tried since the last success: time for the shell to
/// connect there (it may call `handle_transport_opened` sooner).
pub const ROUTE_SWITCH_DELAY: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Pending {
    tx: TransactionId,
    cseq: u32,
    expires: u32,
    /// Whether this request already carried an answer to the latest challenge.
    answered: bool,
}

#[derive(Debug)]
struct Auth {
    header: &'static str,
    challenge: Challenge,
    nc: u32,
}

/// A registration of one contact for one account.
#[derive(Debug)]
pub struct Registration {
    call_id: String,
    from_tag: String,
    cseq: u32,
    pending: Option<Pending>,
    auth: Option<Auth>,
    /// When to send the next REGISTER (refresh or retry).
    next_attempt: Option<Time>,
    /// Consecutive failures, for the back-off.
    failures: u32,
    /// The registration should exist (between `start` and `stop`).
    wanted: bool,
    registered: bool,
    /// Expires value asked for (changes after a 423).
    expires: u32,
    /// The last 2xx accepted RFC 5626 outbound.
    outbound: bool,
    /// Consecutive REGISTERs without a response, for the route failover.
    route_misses: usize,
}

impl Registration {
    pub(crate) fn new(ctx: &mut Ctx) -> Registration {
        Registration {
            call_id: ctx.rng.token(24),
            from_tag: ctx.rng.token(10),
            cseq: 0,
            pending: None,
            auth: None,
            next_attempt: None,
            failures: 0,
            wanted: false,
            registered: false,
            expires: ctx.cfg.register_expires,
            outbound: false,
            route_misses: 0,
        }
    }

    pub(crate) fn start(&mut self, ctx: &mut Ctx, now: Time) {
        self.wanted = true;
        self.failures = 0;
        if self.pending.is_none() {
            self.send(ctx, now, self.expires);
        }
    }

    pub(crate) fn stop(&mut self, ctx: &mut Ctx, now: Time) {
        self.wanted = false;
        self.next_attempt = None;
        if self.registered || self.pending.is_some() {
            self.send(ctx, now, 0);
        }
    }

    fn send(&mut self, ctx: &mut Ctx, now: Time, expires: u32) {
        self.cseq += 1;
        let branch = ctx.branch();
        let registrar = Uri::sip(None, &ctx.aor.host);
        let mut req = Message::request("REGISTER", registrar.clone());
        req.push_header("Via", ctx.via(&branch));
        req.push_header("Max-Forwards", "70");
        req.push_header("To", NameAddr::new(ctx.aor.clone()).to_string());
        req.push_header("From", ctx.local_party(&self.from_tag));
        req.push_header("Call-ID", self.call_id.clone());
        req.push_header("CSeq", format!("{} REGISTER", self.cseq));
        let mut contact = NameAddr::new(ctx.contact.clone());
        if ctx.cfg.transport.is_websocket() {
            // RFC 5626 §4.2.1: one flow, registered under a stable instance id.
            // `set_param` quotes it (the value is not a token): `"<urn:uuid:...>"`.
            let instance = format!("<{}>", ctx.instance_id);
            contact.set_param("+sip.instance", Some(&instance));
            contact.set_param("reg-id", Some("1"));
        }
        contact.set_param("expires", Some(&expires.to_string()));
        req.push_header("Contact", contact.to_string());
        req.push_header("Expires", expires.to_string());
        req.push_header("Allow", ALLOW);
        if ctx.cfg.transport.is_websocket() {
            req.push_header("Supported", "path, outbound");
        }
        let answered = if let Some(auth) = &mut self.auth {
            auth.nc += 1;
            let cnonce = ctx.rng.token(16);
            let value = auth.challenge.answer(
                ctx.auth_username(),
                &ctx.cfg.password,
                "REGISTER",
                &registrar.to_string(),
                &cnonce,
                auth.nc,
            );
            req.push_header(auth.header, value);
            true
        } else {
            false
        };
        self.next_attempt = None;
        let Some(tx) = ctx.send_request(now, req) else {
            // The layer refuses only malformed requests, which this is not; retry later.
            self.fail(ctx, now, None, "cannot send REGISTER".into(), expires);
            return;
        };
        self.pending = Some(Pending {
            tx,
            cseq: self.cseq,
            expires,
            answered,
        });
    }

    pub(crate) fn on_response(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        tx: TransactionId,
        msg: &Message,
    ) {
        let Some(code) = msg.code() else { return };
        let Some(p) = self.pending.as_ref() else {
            return;
        };
        let cseq = cseq_of(msg);
        if p.tx != tx || cseq.is_none_or(|c| c.seq != p.cseq) || code < 200 {
            return;
        }
        let (expires, answered) = (p.expires, p.answered);
        self.pending = None;
        match code {
            401 | 407 => {
                let header = if code == 401 {
                    ("WWW-Authenticate", "Authorization")
                } else {
                    ("Proxy-Authenticate", "Proxy-Authorization")
                };
                let challenge = msg.header(header.0).map(Challenge::parse);
                match challenge {
                    // A fresh challenge, or a stale nonce: answer it once.
                    Some(Ok(c)) if !answered || c.stale => {
                        self.auth = Some(Auth {
                            header: header.1,
                            challenge: c,
                            nc: 0,
                        });
                        self.send(ctx, now, expires);
                    }
                    // Our answer was refused: the credentials are wrong.
                    Some(Ok(_)) => {
                        self.auth = None;
                        self.fail(ctx, now, Some(code), msg.reason().to_string(), expires);
                    }
                    Some(Err(e)) => self.fail(
                        ctx,
                        now,
                        Some(code),
                        format!("cannot authenticate: {e}"),
                        expires,
                    ),
                    None => self.fail(
                        ctx,
                        now,
                        Some(code),
                        format!("{code} without a {} challenge", header.0),
                        expires,
                    ),
                }
            }
            423 if expires != 0 => {
                let min = msg
                    .header("Min-Expires")
                    .and_then(|v| v.trim().parse::<u32>().ok());
                match min {
                    Some(min) if min > expires => {
                        self.expires = min;
                        self.send(ctx, now, min);
                    }
                    _ => self.fail(ctx, now, Some(code), msg.reason().to_string(), expires),
                }
            }
            200..=299 if expires == 0 => {
                self.registered = false;
                ctx.notify(
                    ctx.account_sender(),
                    Event::SIPAccountRegistrationDidEnd {
                        code: Some(code),
                        reason: Some(msg.reason().to_string()),
                    },
                );
            }
            200..=299 => self.succeed(ctx, now, msg, code, expires),
            _ => self.fail(ctx, now, Some(code), msg.reason().to_string(), expires),
        }
    }

    fn succeed(&mut self, ctx: &mut Ctx, now: Time, msg: &Message, code: u16, asked: u32) {
        let contacts: Vec<NameAddr> = msg
            .header_values("Contact")
            .into_iter()
            .filter_map(|c| NameAddr::parse(c).ok())
            .collect();
        let ours = contacts
            .iter()
            .find(|c| c.uri.user == ctx.contact.user && c.uri.host == ctx.contact.host);
        let granted = ours
            .and_then(|c| c.param("expires").flatten())
            .or(msg.header("Expires"))
            .and_then(|e| e.trim().parse::<u32>().ok())
            .unwrap_or(asked);
        if granted == 0 {
            // A 2xx that keeps no binding: retrying at once would loop, so back off.
            self.fail(
                ctx,
                now,
                Some(code),
                "registrar granted no lifetime".into(),
                asked,
            );
            return;
        }
        self.registered = true;
        self.failures = 0;
        self.route_misses = 0;
        // RFC 5626 §4.2.1: the registrar says it did outbound with `Require: outbound`;
        // some put it in Supported only.
        self.outbound = ctx.cfg.transport.is_websocket()
            && ["Require", "Supported"].iter().any(|h| {
                msg.header_lines(h)
                    .flat_map(split_list)
                    .any(|t| t.eq_ignore_ascii_case("outbound"))
            });
        ctx.notify(
            ctx.account_sender(),
            Event::SIPAccountRegistrationDidSucceed {
                code,
                reason: msg.reason().to_string(),
                contact_uri: ctx.contact.to_string(),
                contact_uri_list: contacts.iter().map(|c| c.uri.to_string()).collect(),
                expires: granted,
            },
        );
        if self.wanted {
            // Refresh ahead of expiry: at 90% of the lifetime, at least 5 s before it.
            let secs = u64::from(granted);
            let lead = (secs / 10).max(5).min(secs / 2);
            self.next_attempt = Some(now + Duration::from_secs(secs - lead));
        }
    }

    fn fail(&mut self, ctx: &mut Ctx, now: Time, code: Option<u16>, reason: String, asked: u32) {
        if asked == 0 {
            self.registered = false;
            ctx.notify(
                ctx.account_sender(),
                Event::SIPAccountRegistrationDidEnd {
                    code,
                    reason: Some(reason),
                },
            );
            return;
        }
        self.registered = false;
        self.failures += 1;
        let mut delay = FIRST_RETRY_DELAY
            .saturating_mul(1 << (self.failures - 1).min(4))
            .min(MAX_RETRY_DELAY);
        let routes = ctx.cfg.routes.len();
        if code.is_none() && routes > 1 {
            // No response: the route may be down, so fail over to the next one, at once
            // while some route has not been tried since the last success.
            self.route_misses += 1;
            ctx.route_index = (ctx.route_index + 1) % routes;
            ctx.route_switch = Some(ctx.route_index);
            if self.route_misses < routes {
                delay = ROUTE_SWITCH_DELAY;
            }
        }
        ctx.notify(
            ctx.account_sender(),
            Event::SIPAccountRegistrationDidFail {
                code,
                reason,
                next_route: ctx.cfg.routes.get(ctx.route_index).cloned(),
                delay: delay.as_secs_f64(),
            },
        );
        if self.wanted {
            self.next_attempt = Some(now + delay);
        }
    }

    /// The pending REGISTER timed out (Timer F) or its flow failed.
    pub(crate) fn on_failure(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        tx: TransactionId,
        failure: Failure,
    ) {
        if self.pending.as_ref().is_some_and(|p| p.tx == tx) {
            if let Some(p) = self.pending.take() {
                let reason = match failure {
                    Failure::Timeout => "Request Timeout",
                    Failure::Transport => "Transport closed",
                };
                self.fail(ctx, now, None, reason.into(), p.expires);
            }
        }
    }

    /// Whether the last 2xx accepted RFC 5626 outbound.
    pub(crate) fn outbound(&self) -> bool {
        self.outbound
    }

    /// The flow closed. With outbound in use the binding is gone with it (RFC 5626 §4.5):
    /// report the failure, with the back-off, unless a pending REGISTER just did.
    pub(crate) fn on_flow_closed(&mut self, ctx: &mut Ctx, now: Time) {
        if self.outbound && self.registered && self.wanted && self.pending.is_none() {
            self.fail(ctx, now, None, "Transport closed".into(), self.expires);
        }
    }

    /// The flow is open again (or on a new route): register now rather than after the
    /// back-off (RFC 5626 §4.5) after a first failure, on a route not tried since the last
    /// success, or when nothing is scheduled; after repeated failures the back-off stands.
    pub(crate) fn on_flow_opened(&mut self, ctx: &mut Ctx, now: Time) {
        if !self.wanted || self.pending.is_some() {
            return;
        }
        let untried_route = self.route_misses > 0 && self.route_misses < ctx.cfg.routes.len();
        if self.failures <= 1 || untried_route || self.next_attempt.is_none() {
            self.send(ctx, now, self.expires);
        }
    }

    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx, now: Time) {
        if self.next_attempt.is_some_and(|t| now >= t) && self.pending.is_none() {
            self.next_attempt = None;
            if self.wanted {
                self.send(ctx, now, self.expires);
            }
        }
    }

    pub(crate) fn next_timeout(&self) -> Option<Time> {
        self.next_attempt
    }
}

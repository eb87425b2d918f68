//! The proxy's own digest challenge (RFC 3261 §22.3, §16.3 step 6; RFC 7616): out-of-dialog
//! INVITE, MESSAGE and SUBSCRIBE requests whose From is one of our users, arriving over UDP,
//! TCP or TLS, get `407 Proxy Authentication Required` until they carry a
//! `Proxy-Authorization` that matches the user's stored HA1. Nonces and the check are the
//! registrar's ([`crate::digest`]). A wrong answer is a 403 and counts toward the source's
//! lockout.
//!
//! WebSocket flows keep connection-bound authentication: the flow proved its user with a
//! digest REGISTER, and its requests must name that user in From (`Core::may_send`).

use super::forward::is_ws;
use super::{Core, Pending};
use crate::digest::{Check, Scheme};
use crate::sipmsg::name_addr;
use crate::store::Hashes;
use sipsimple::sip::Message;
use sipsimple::transaction::{Dest, TransactionId};
use sipsimple::Time;

/// Methods whose out-of-dialog requests from our users are challenged.
const CHALLENGED: [&str; 3] = ["INVITE", "MESSAGE", "SUBSCRIBE"];

impl Core {
    /// The user part of From when it is one of our users.
    fn local_from_user(&self, msg: &Message) -> Option<String> {
        let from = name_addr(msg, "From")?;
        if !self.local.is_us(&from.uri) {
            return None;
        }
        from.uri.user
    }

    /// `true` when `msg` must prove its From: a challenged method from one of our users, not
    /// on a WebSocket flow, and not inside a dialog our signed Record-Route vouches for.
    pub(super) fn needs_auth(&self, source: &Dest, msg: &Message) -> bool {
        if is_ws(source) || !CHALLENGED.contains(&msg.method().unwrap_or_default()) {
            return false;
        }
        if self.local_from_user(msg).is_none() {
            return false;
        }
        let mut copy = msg.clone();
        !self.pop_routes(&mut copy).is_ok_and(|r| r.in_dialog)
    }

    /// Challenges `msg`, or looks its user up to check the answer it carries.
    pub(super) fn authorize(
        &mut self,
        now: Time,
        server: TransactionId,
        source: Dest,
        msg: Message,
        max_forwards: u32,
    ) {
        let digest = &mut self.registrar.digest;
        let Some(creds) = digest.credentials(&msg, Scheme::Proxy) else {
            let r = digest.challenge(now, &msg, Scheme::Proxy, false);
            return self.send_response(now, server, None, r);
        };
        let realm_ok = creds.realm.eq_ignore_ascii_case(digest.realm());
        if !realm_ok || self.local_from_user(&msg).as_deref() != Some(creds.username.as_str()) {
            // Credentials of another user (or realm) than the From claims.
            return self.reply(now, server, &msg, 403, "Forbidden");
        }
        let pending = Pending::Authorize {
            server,
            source,
            msg: msg.clone(),
            max_forwards,
        };
        if !self.lookup(creds.username, pending) {
            self.reply(now, server, &msg, 503, "Service Unavailable");
        }
    }

    /// The store answered for a request waiting in [`authorize`](Self::authorize).
    pub(super) fn on_authorize(
        &mut self,
        now: Time,
        server: TransactionId,
        source: Dest,
        mut msg: Message,
        max_forwards: u32,
        hashes: Option<&Hashes>,
    ) {
        let digest = &mut self.registrar.digest;
        let Some(creds) = digest.credentials(&msg, Scheme::Proxy) else {
            return;
        };
        let method = msg.method().unwrap_or_default().to_string();
        match digest.check(now, &creds, &method, hashes) {
            Check::Wrong => {
                self.auth_failed(now, &source, &msg);
                self.reply(now, server, &msg, 403, "Forbidden")
            }
            Check::Stale => {
                let r = digest.challenge(now, &msg, Scheme::Proxy, true);
                self.send_response(now, server, None, r)
            }
            Check::Valid => {
                // The credentials were for our realm: consumed here, not passed on (§22.3).
                let realm = digest.realm().to_string();
                msg.headers.retain(|h| {
                    !(h.name.eq_ignore_ascii_case("Proxy-Authorization")
                        && sipsimple::auth::Credentials::parse(&h.value)
                            .is_ok_and(|c| c.realm.eq_ignore_ascii_case(&realm)))
                });
                self.route(now, server, source, msg, max_forwards, true)
            }
        }
    }
}

//! The embedded registrar (RFC 3261 §10.3) with digest authentication (§22, RFC 7616):
//! challenges with `WWW-Authenticate` (§22.1), stale nonces (RFC 7616 §3.3), `423 Interval Too
//! Brief` (§10.3 step 7), bindings with expiry that remember the flow they came on (RFC 7118
//! §5 for WebSocket, connection reuse for TCP and TLS, RFC 3581 source addresses for UDP),
//! and the location service lookup (§16.5).
//!
//! Pure logic: the caller hands in the time, the request's source and the user's stored
//! hashes, and persists the [`Change`]s it reports. Nonces and the check of an answer are
//! [`crate::digest`]'s, shared with the proxy's own challenges (407).

use crate::digest::{Check, Digest, Scheme};
use crate::sipmsg::{name_addr, reply};
use crate::store::Hashes;
use sipsimple::auth::Credentials;
use sipsimple::sip::{Message, NameAddr, Uri};
use sipsimple::transaction::{Dest, TransportKind};
use sipsimple::Time;
use std::collections::HashMap;
use std::time::Duration;

/// Shortest registration accepted (a nonzero shorter one gets 423).
pub const MIN_EXPIRES: u32 = 60;
/// Longest registration granted; longer requests are shortened.
pub const MAX_EXPIRES: u32 = 3600;
/// Granted when the request names no lifetime (§10.2.1.1 leaves it to the registrar).
pub const DEFAULT_EXPIRES: u32 = 3600;
/// Contacts one user may register at most; the oldest give way.
const MAX_BINDINGS_PER_USER: usize = 16;

/// One registered contact of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI requests are retargeted to.
    pub contact: Uri,
    /// When the binding lapses.
    pub expires_at: Time,
    /// Where the REGISTER came from: the flow requests for the contact take while it lives.
    pub source: Dest,
    /// When it was last refreshed; the freshest binding is tried first.
    pub updated: Time,
}

impl Binding {
    /// `true` for bindings that live and die with their WebSocket connection (RFC 7118 §5):
    /// they are neither persisted nor restored.
    pub fn flow_bound(&self) -> bool {
        matches!(
            self.source.transport,
            TransportKind::Ws | TransportKind::Wss
        )
    }

    /// Where requests for this contact go: the connection it registered on while that is
    /// open, the address a UDP REGISTER came from (RFC 3581 symmetric routing), else the
    /// contact's own address.
    pub fn dest(&self) -> Option<Dest> {
        match self.source.transport {
            TransportKind::Ws | TransportKind::Wss => self.source.flow.map(|_| self.source.clone()),
            TransportKind::Udp => Some(self.source.clone()),
            _ if self.source.flow.is_some() => Some(self.source.clone()),
            _ => crate::proxy::route::uri_dest(&self.contact),
        }
    }

    /// Seconds left at `now`.
    pub fn remaining(&self, now: Time) -> u64 {
        self.expires_at.saturating_since(now).as_secs()
    }
}

/// A change to persist, reported with [`Outcome::Registered`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The binding was added or refreshed.
    Saved(Binding),
    /// The binding for this contact was removed.
    Removed(Uri),
    /// Every binding of the user was removed (`Contact: *`).
    RemovedAll,
}

/// What the registrar decided about one REGISTER.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Answer with this response; nothing changed (a challenge or an error).
    Respond(Message),
    /// A wrong password (or an unknown user): answer with this 403; the failure counts
    /// toward the source's lockout.
    Refused(Message),
    /// The request was authenticated and applied.
    Registered {
        /// The 200 OK listing the user's contacts.
        response: Message,
        /// The authenticated user name; the connection now speaks for this user.
        user: String,
        /// The hosts of the contacts added (the flow's `.invalid` names, RFC 7118 §5).
        contact_hosts: Vec<String>,
        /// What changed, for the store.
        changes: Vec<Change>,
    },
}

/// The registrar of one domain.
#[derive(Debug)]
pub struct Registrar {
    domain: String,
    /// The digest challenges of our realm, also used by the proxy's.
    pub digest: Digest,
    /// Bindings by user name.
    bindings: HashMap<String, Vec<Binding>>,
}

impl Registrar {
    /// A registrar for `domain` (also the digest realm).
    pub fn new(domain: &str) -> Registrar {
        Registrar {
            domain: domain.to_ascii_lowercase(),
            digest: Digest::new(domain),
            bindings: HashMap::new(),
        }
    }

    /// The user name whose hashes [`handle`](Self::handle) will need: the `username` of the
    /// Authorization header, when there is one that parses.
    pub fn digest_username(msg: &Message) -> Option<String> {
        let creds = Credentials::parse(msg.header("Authorization")?).ok()?;
        Some(creds.username)
    }

    fn challenge(&mut self, now: Time, req: &Message, stale: bool) -> Outcome {
        Outcome::Respond(self.digest.challenge(now, req, Scheme::Www, stale))
    }

    /// Processes a REGISTER that arrived from `source` (RFC 3261 §10.3). `hashes` are
    /// the stored secrets of [`digest_username`](Self::digest_username) in our realm, `None`
    /// when there is no such user.
    pub fn handle(
        &mut self,
        now: Time,
        source: &Dest,
        req: &Message,
        hashes: Option<&Hashes>,
    ) -> Outcome {
        let forbidden = |req: &Message| Outcome::Respond(reply(req, 403, "Forbidden"));
        // Step 3 of §10.3 needs the AOR: only users of our domain register here.
        let Some(to) = name_addr(req, "To") else {
            return Outcome::Respond(reply(req, 400, "Bad To Header"));
        };
        let our_domain = matches!(to.uri.scheme.as_str(), "sip" | "sips")
            && to.uri.host.eq_ignore_ascii_case(&self.domain);
        let Some(user) = to.uri.user.clone().filter(|_| our_domain) else {
            return forbidden(req);
        };
        // Step 3: authentication (§22.3).
        let Some(creds) = req
            .header("Authorization")
            .and_then(|a| Credentials::parse(a).ok())
        else {
            return self.challenge(now, req, false);
        };
        if creds.username != user || creds.realm != self.domain {
            return forbidden(req);
        }
        match self.digest.check(now, &creds, "REGISTER", hashes) {
            Check::Wrong => Outcome::Refused(reply(req, 403, "Forbidden")),
            Check::Stale => self.challenge(now, req, true),
            Check::Valid => self.apply(now, source, req, user),
        }
    }

    /// Steps 5 to 8 of §10.3 for an authenticated request.
    fn apply(&mut self, now: Time, source: &Dest, req: &Message, user: String) -> Outcome {
        let header_expires = req
            .header("Expires")
            .and_then(|e| e.trim().parse::<u32>().ok());
        let contacts = req.header_values("Contact");
        if contacts.iter().any(|c| c.trim() == "*") {
            // `Contact: *` removes every binding, and only with Expires: 0 (§10.2.2).
            if contacts.len() != 1 || header_expires != Some(0) {
                return Outcome::Respond(reply(req, 400, "Invalid Wildcard Contact"));
            }
            self.bindings.remove(&user);
            return self.ok(now, req, user, 0, Vec::new(), vec![Change::RemovedAll]);
        }
        let mut changes = Vec::new();
        for c in &contacts {
            let Ok(c) = NameAddr::parse(c) else {
                return Outcome::Respond(reply(req, 400, "Bad Contact Header"));
            };
            let asked = c
                .param("expires")
                .flatten()
                .and_then(|e| e.trim().parse::<u32>().ok())
                .or(header_expires)
                .unwrap_or(DEFAULT_EXPIRES);
            if asked != 0 && asked < MIN_EXPIRES {
                let mut r = reply(req, 423, "Interval Too Brief");
                r.push_header("Min-Expires", MIN_EXPIRES.to_string());
                return Outcome::Respond(r);
            }
            changes.push((c.uri, asked.min(MAX_EXPIRES)));
        }
        let granted = changes.first().map_or(0, |(_, e)| *e);
        let list = self.bindings.entry(user.clone()).or_default();
        let mut contact_hosts = Vec::new();
        let mut done = Vec::new();
        for (uri, expires) in changes {
            let key = uri.to_string();
            list.retain(|b| b.contact.to_string() != key);
            if expires > 0 {
                contact_hosts.push(uri.host.clone());
                let b = Binding {
                    contact: uri,
                    expires_at: now + Duration::from_secs(u64::from(expires)),
                    source: source.clone(),
                    updated: now,
                };
                done.push(Change::Saved(b.clone()));
                list.push(b);
            } else {
                done.push(Change::Removed(uri));
            }
        }
        list.retain(|b| b.expires_at > now);
        while list.len() > MAX_BINDINGS_PER_USER {
            let oldest = list.remove(0);
            done.push(Change::Removed(oldest.contact));
        }
        if list.is_empty() {
            self.bindings.remove(&user);
        }
        let mut outcome = self.ok(now, req, user, granted, contact_hosts, done);
        if let Outcome::Registered { response, .. } = &mut outcome {
            if granted > 0 && outbound_flow(source, req) {
                // RFC 5626 §6: the binding is this WebSocket flow, so the UA may count on
                // it: when the flow drops it reconnects and registers again, and its dialogs
                // go on (in-dialog requests find the new flow by the contact's host).
                response.push_header("Require", "outbound");
            }
        }
        outcome
    }

    /// The 200 OK with every current contact and its remaining lifetime (§10.3 step 8).
    fn ok(
        &self,
        now: Time,
        req: &Message,
        user: String,
        granted: u32,
        contact_hosts: Vec<String>,
        changes: Vec<Change>,
    ) -> Outcome {
        let mut r = reply(req, 200, "OK");
        for b in self.lookup(&user, now) {
            let mut c = NameAddr::new(b.contact.clone());
            let left = b.remaining(now);
            c.set_param("expires", Some(&left.to_string()));
            r.push_header("Contact", c.to_string());
        }
        r.push_header("Expires", granted.to_string());
        Outcome::Registered {
            response: r,
            user,
            contact_hosts,
            changes,
        }
    }

    /// How many live bindings there are (for `/metrics`).
    pub fn binding_count(&self, now: Time) -> usize {
        self.bindings
            .values()
            .map(|l| l.iter().filter(|b| b.expires_at > now).count())
            .sum()
    }

    /// The live bindings of `user`, freshest first (the location service, §16.5).
    pub fn lookup(&self, user: &str, now: Time) -> Vec<&Binding> {
        let mut v: Vec<&Binding> = self
            .bindings
            .get(user)
            .map(|l| l.iter().filter(|b| b.expires_at > now).collect())
            .unwrap_or_default();
        v.sort_by_key(|b| std::cmp::Reverse(b.updated));
        v
    }

    /// A connection closed: the WebSocket bindings made over it go (RFC 7118 §5: their
    /// contacts cannot be reached any more); TCP and TLS bindings fall back to their
    /// contact's address. Returns the (user, contact) of the bindings that went.
    pub fn flow_closed(&mut self, flow: u64) -> Vec<(String, Uri)> {
        let mut gone = Vec::new();
        self.bindings.retain(|user, list| {
            list.retain(|b| {
                let dead = b.flow_bound() && b.source.flow == Some(flow);
                if dead {
                    gone.push((user.clone(), b.contact.clone()));
                }
                !dead
            });
            for b in list.iter_mut() {
                if b.source.flow == Some(flow) {
                    b.source.flow = None;
                }
            }
            !list.is_empty()
        });
        gone
    }

    /// Puts back a binding read from the store at start-up, `remaining` from `now`.
    pub fn restore(
        &mut self,
        now: Time,
        user: &str,
        contact: Uri,
        source: Dest,
        remaining: Duration,
    ) {
        if remaining.is_zero() {
            return;
        }
        let list = self.bindings.entry(user.to_string()).or_default();
        let key = contact.to_string();
        list.retain(|b| b.contact.to_string() != key);
        list.push(Binding {
            contact,
            expires_at: now + remaining,
            source,
            updated: now,
        });
        while list.len() > MAX_BINDINGS_PER_USER {
            list.remove(0);
        }
    }

    /// Drops lapsed bindings and the nonce counts of lapsed nonces.
    pub fn expire(&mut self, now: Time) {
        self.bindings.retain(|_, list| {
            list.retain(|b| b.expires_at > now);
            !list.is_empty()
        });
        self.digest.expire(now);
    }
}

/// A REGISTER over a WebSocket from a UA that does RFC 5626 outbound: `Supported: outbound`
/// and a Contact with `+sip.instance` and `reg-id` (§4.2).
fn outbound_flow(source: &Dest, req: &Message) -> bool {
    let ws = matches!(source.transport, TransportKind::Ws | TransportKind::Wss);
    let supported = req
        .header_values("Supported")
        .iter()
        .any(|t| t.eq_ignore_ascii_case("outbound"));
    let instance = req.header_values("Contact").iter().any(|c| {
        NameAddr::parse(c).is_ok_and(|c| {
            c.param("+sip.instance").flatten().is_some() && c.param("reg-id").flatten().is_some()
        })
    });
    ws && supported && instance
}

#[cfg(test)]
#[path = "registrar_tests.rs"]
mod tests;

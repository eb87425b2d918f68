//! Upstream mode: an outbound proxy (RFC 3261 §8.1.2, §16.6 step 7 "next hop") for the
//! requests of our users to other domains. Such requests keep their Request-URI and go to
//! the configured upstream address instead of the Request-URI's host; when the upstream
//! challenges a branch (401/407, §22.2, §22.3) and credentials are configured, the proxy
//! answers for the gateway's account at the upstream and sends the request again on a new
//! branch, once per nonce. Calls coming from the upstream to our users need nothing
//! special: requests to local users are accepted from any peer.

use super::context::BranchState;
use super::Core;
use crate::sipmsg::{pop_top_via, prepend, top_via};
use sipsimple::auth::Challenge;
use sipsimple::sip::Message;
use sipsimple::transaction::{Dest, TransactionId};
use sipsimple::Time;

/// Challenges answered for one request at most (a misbehaving upstream cannot make the
/// gateway loop: each nonce is answered once anyway).
const MAX_ANSWERS: usize = 3;

/// The upstream proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Where requests to foreign domains go.
    pub dest: Dest,
    /// `(username, password)` for the upstream's 401/407.
    pub credentials: Option<(String, String)>,
}

impl Upstream {
    /// `true` when `d` is the upstream's address (a connection to it included).
    pub fn is(&self, d: &Dest) -> bool {
        d.transport == self.dest.transport
            && d.port == self.dest.port
            && d.host.eq_ignore_ascii_case(&self.dest.host)
    }
}

/// The first challenge of `resp` (a 401 or 407) whose nonce is not in `answered`, with the
/// header name of the answer.
fn fresh_challenge(resp: &Message, answered: &[String]) -> Option<(Challenge, &'static str)> {
    let (ask, answer) = match resp.code() {
        Some(401) => ("WWW-Authenticate", "Authorization"),
        Some(407) => ("Proxy-Authenticate", "Proxy-Authorization"),
        _ => return None,
    };
    resp.header_lines(ask)
        .filter_map(|v| Challenge::parse(v).ok())
        .find(|c| !answered.contains(&c.nonce))
        .map(|c| (c, answer))
}

impl Core {
    /// Sets the upstream proxy.
    pub fn set_upstream(&mut self, upstream: Option<Upstream>) {
        self.upstream = upstream;
    }

    /// The upstream's 401/407 `resp` on branch `client` of `server`: answers it and resends
    /// the branch's request on a new branch. `false` when it is not ours to answer (no
    /// credentials, another hop's challenge, nonce already answered, caller gone), and the
    /// response then goes on like any other.
    pub(super) fn answer_upstream(
        &mut self,
        now: Time,
        server: TransactionId,
        client: TransactionId,
        resp: &Message,
    ) -> bool {
        let Some(up) = self.upstream.as_ref() else {
            return false;
        };
        let Some((user, password)) = up.credentials.clone() else {
            return false;
        };
        // An edge user's hops challenge the browser, which answers for itself.
        if self
            .contexts
            .get(&server)
            .is_some_and(|c| self.is_edge_request(&c.source, &c.request))
        {
            return false;
        }
        let Some(ctx) = self.contexts.get_mut(&server) else {
            return false;
        };
        if ctx.cancelled || ctx.final_sent || ctx.upstream_nonces.len() >= MAX_ANSWERS {
            return false;
        }
        let Some(branch) = ctx.branches.iter().find(|b| b.client == client) else {
            return false;
        };
        if !up.is(&branch.dest) {
            return false;
        }
        let Some((challenge, header)) = fresh_challenge(resp, &ctx.upstream_nonces) else {
            return false;
        };
        let dest = branch.dest.clone();
        let mut msg = branch.request.clone();
        // The loop-detection part of our branch parameter stays (`z9hG4bK<hash>.<random>`).
        let hash = top_via(&msg)
            .and_then(|v| v.branch().map(str::to_string))
            .and_then(|b| {
                b.strip_prefix("z9hG4bK")
                    .and_then(|b| b.rsplit_once('.'))
                    .map(|(h, _)| h.to_string())
            })
            .unwrap_or_default();
        pop_top_via(&mut msg);
        let (Some(method), Some(uri)) = (
            msg.method().map(str::to_string),
            msg.request_uri().map(ToString::to_string),
        ) else {
            return false;
        };
        // Earlier answers for this realm are replaced; other hops' credentials stay.
        let realm = challenge.realm.clone();
        msg.headers.retain(|h| {
            !(h.name.eq_ignore_ascii_case(header)
                && sipsimple::auth::Credentials::parse(&h.value).is_ok_and(|c| c.realm == realm))
        });
        let cnonce = self.rng.token(16);
        let value = challenge.answer(&user, &password, &method, &uri, &cnonce, 1);
        msg.push_header(header, value);
        let branch_id = self.next_branch(&hash);
        let Some(via) = self.local.via(dest.transport, &branch_id) else {
            return false;
        };
        prepend(&mut msg, "Via", via);
        let copy = msg.clone();
        let Ok(new_client) = self.layer.send_request(now, dest.clone(), msg) else {
            return false;
        };
        let Some(ctx) = self.contexts.get_mut(&server) else {
            return false;
        };
        ctx.upstream_nonces.push(challenge.nonce);
        if let Some(b) = ctx.branch_mut(client) {
            b.state = BranchState::Done;
        }
        ctx.add_branch(new_client, copy, dest);
        self.branch_of.insert(new_client, server);
        tracing::debug!(realm = %realm, "answered the upstream's challenge");
        true
    }
}

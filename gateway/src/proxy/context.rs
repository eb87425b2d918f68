//! The response context of a proxied request (RFC 3261 §16.7): its branches, the best final
//! response so far (§16.7 step 6), the merged digest challenges (§16.7 step 7) and whether a
//! final response went upstream. Pure bookkeeping; the proxy core acts on what it answers.

use sipsimple::sip::{Header, Message};
use sipsimple::transaction::{Dest, TransactionId};

/// Where one branch (one client transaction) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchState {
    /// Sent; no response yet (a CANCEL may not be sent yet, §9.1).
    Calling,
    /// A provisional response arrived: the branch may be cancelled.
    Proceeding,
    /// A final response (or a timeout or transport error standing for one) arrived.
    Done,
}

/// One branch of a proxied request.
#[derive(Debug, Clone)]
pub struct Branch {
    /// Its client transaction.
    pub client: TransactionId,
    /// Where it stands.
    pub state: BranchState,
    /// A CANCEL is owed as soon as a provisional response allows it.
    pub cancel_pending: bool,
    /// The CANCEL went out.
    pub cancel_sent: bool,
    /// The client transaction has terminated.
    pub terminated: bool,
    /// The request as forwarded, and where: a CANCEL is built from it after Timer C
    /// (§16.8), when the transaction is already gone.
    pub request: Message,
    /// Where the branch went.
    pub dest: Dest,
}

/// The response context of one server transaction.
#[derive(Debug, Clone)]
pub struct Context {
    /// Where the request came from (responses go back there, also after the server
    /// transaction has ended).
    pub source: Dest,
    /// The request as received (stamped), for the responses the proxy makes itself.
    pub request: Message,
    /// The branches in the order they were made.
    pub branches: Vec<Branch>,
    /// The best final non-2xx response received so far.
    pub best: Option<Message>,
    /// `WWW-Authenticate` and `Proxy-Authenticate` lines of every 401 and 407 (§16.7 step 7).
    pub challenges: Vec<Header>,
    /// A final response went upstream.
    pub final_sent: bool,
    /// A 2xx or 6xx arrived or the caller cancelled: no new branch, pending ones cancelled.
    pub cancelled: bool,
    /// The nonces of the upstream's challenges the proxy answered (each once).
    pub upstream_nonces: Vec<String>,
}

/// The preference of a final response code: lower is better (§16.7 step 6). 6xx first, then
/// the lowest class; within 4xx, the responses that let the caller retry (401, 407, 415,
/// 420, 484) before the others.
pub fn rank(code: u16) -> (u8, u8, u16) {
    let class = match code {
        600..=699 => 0,
        200..=299 => 0,
        300..=399 => 1,
        400..=499 => 2,
        _ => 3,
    };
    let retry = u8::from(!matches!(code, 401 | 407 | 415 | 420 | 484));
    (class, retry, code)
}

impl Context {
    /// A context for the request `request` from `source`.
    pub fn new(source: Dest, request: Message) -> Context {
        Context {
            source,
            request,
            branches: Vec::new(),
            best: None,
            challenges: Vec::new(),
            final_sent: false,
            cancelled: false,
            upstream_nonces: Vec::new(),
        }
    }

    /// The branch of client transaction `id`.
    pub fn branch_mut(&mut self, id: TransactionId) -> Option<&mut Branch> {
        self.branches.iter_mut().find(|b| b.client == id)
    }

    /// Adds a branch for client transaction `client`, `request` sent to `dest`.
    pub fn add_branch(&mut self, client: TransactionId, request: Message, dest: Dest) {
        self.branches.push(Branch {
            client,
            request,
            dest,
            state: BranchState::Calling,
            cancel_pending: false,
            cancel_sent: false,
            terminated: false,
        });
    }

    /// Keeps `response`, a final non-2xx of one branch, if it beats the best so far, and
    /// collects its challenges.
    pub fn offer(&mut self, response: Message) {
        let Some(code) = response.code() else { return };
        if matches!(code, 401 | 407) {
            for h in &response.headers {
                if h.name.eq_ignore_ascii_case("WWW-Authenticate")
                    || h.name.eq_ignore_ascii_case("Proxy-Authenticate")
                {
                    self.challenges.push(h.clone());
                }
            }
        }
        let better = match self.best.as_ref().and_then(Message::code) {
            Some(best) => rank(code) < rank(best),
            None => true,
        };
        if better {
            self.best = Some(response);
        }
    }

    /// `true` while some branch has no final response.
    pub fn pending(&self) -> bool {
        self.branches.iter().any(|b| b.state != BranchState::Done)
    }

    /// `true` once every client transaction has ended: the context can go.
    pub fn finished(&self) -> bool {
        self.branches.iter().all(|b| b.terminated)
    }

    /// The final response to send upstream once no branch is pending (§16.7 step 6): the
    /// best one, a 503 turned into 500, a 401/407 carrying every challenge (§16.7 step 7).
    /// `None` when nothing was received (the caller answers 408 itself).
    pub fn choose(&self) -> Option<Message> {
        let mut best = self.best.clone()?;
        let code = best.code()?;
        if code == 503 {
            if let sipsimple::sip::StartLine::Response { code, reason } = &mut best.start {
                *code = 500;
                *reason = "Server Internal Error".to_string();
            }
        }
        if matches!(code, 401 | 407) {
            best.headers.retain(|h| {
                !h.name.eq_ignore_ascii_case("WWW-Authenticate")
                    && !h.name.eq_ignore_ascii_case("Proxy-Authenticate")
            });
            best.headers.extend(self.challenges.iter().cloned());
        }
        Some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipsimple::transaction::TransportKind;

    fn response(code: u16, extra: &str) -> Message {
        let text = format!(
            "SIP/2.0 {code} X\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n\
             To: <sip:c@d>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Message::parse(text.as_bytes()).expect("valid")
    }

    fn ctx() -> Context {
        let req = Message::parse(
            b"INVITE sip:c@d SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
        )
        .expect("valid");
        Context::new(Dest::new(TransportKind::Udp, "192.0.2.9", 5060), req)
    }

    #[test]
    fn ranking_follows_16_7() {
        let mut codes = vec![500, 486, 404, 302, 603, 407, 503];
        codes.sort_by_key(|c| rank(*c));
        assert_eq!(codes, vec![603, 302, 407, 404, 486, 500, 503]);
    }

    #[test]
    fn best_response_and_merged_challenges() {
        let mut c = ctx();
        c.offer(response(486, ""));
        c.offer(response(
            401,
            "WWW-Authenticate: Digest realm=\"a\", nonce=\"1\"\r\n",
        ));
        c.offer(response(
            407,
            "Proxy-Authenticate: Digest realm=\"b\", nonce=\"2\"\r\n",
        ));
        c.offer(response(500, ""));
        let best = c.choose().expect("best");
        assert_eq!(best.code(), Some(401));
        assert_eq!(best.header_lines("WWW-Authenticate").count(), 1);
        assert_eq!(best.header_lines("Proxy-Authenticate").count(), 1);
        c.offer(response(600, ""));
        assert_eq!(c.choose().and_then(|m| m.code()), Some(600));
    }

    #[test]
    fn a_503_goes_up_as_500() {
        let mut c = ctx();
        assert!(c.choose().is_none());
        c.offer(response(503, ""));
        assert_eq!(c.choose().and_then(|m| m.code()), Some(500));
    }
}

//! The client side of MSRP relay authentication (RFC 4976 §5, §8): the AUTH request, the
//! answer to the relay's digest challenge (RFC 7616 through [`crate::auth`]), and what the
//! relay's 200 grants: the `Use-Path` to put in front of our own URI in the SDP `a=path`,
//! and how long it stays valid (`Expires`).
//!
//! Sans-IO like the rest of the crate: [`AuthClient::start`] and
//! [`AuthClient::handle_response`] take and return [`Frame`]s; the shell writes them to the
//! connection (over WebSocket, one frame per message, RFC 7977) and feeds back the
//! responses whose transaction id is [`AuthClient::tid`].
//!
//! ```
//! use sipsimple::msrp::auth::{AuthClient, AuthStep};
//! use sipsimple::msrp::{Frame, Uri};
//! use sipsimple::rng::Rng;
//! let relay = Uri::parse("msrp://relay.example.com:2855;tcp")?;
//! let me = Uri::parse("msrp://client.invalid:2855/c1;tcp")?;
//! let mut rng = Rng::from_seed(1);
//! let mut auth = AuthClient::new(relay, me, "alice", "secret");
//! let first = auth.start(&mut rng);
//! assert_eq!(first.to_bytes().starts_with(b"MSRP "), true);
//! // A relay's 200 with a Use-Path ends the exchange.
//! let mut ok = first.response(200, Some("OK")).expect("AUTH is answered");
//! ok.headers.push(sipsimple::msrp::Header {
//!     name: "Use-Path".into(),
//!     value: "msrp://relay.example.com:2855/abcd;tcp".into(),
//! });
//! match auth.handle_response(&mut rng, &ok) {
//!     AuthStep::Done { use_path, .. } => assert_eq!(use_path.len(), 1),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), sipsimple::msrp::UriError>(())
//! ```

use super::message::{new_tid, Frame, Header, Method};
use super::uri::{parse_path, Uri};
use crate::auth::Challenge;
use crate::rng::Rng;

/// Challenges answered at most in one exchange: a relay that keeps challenging a fresh
/// answer is refusing the password.
const MAX_CHALLENGES: u32 = 2;

/// What to do after a response to the AUTH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// Send this AUTH (the answer to a challenge) and wait for its response.
    Send(Box<Frame>),
    /// Authenticated: `use_path` is the relay's path for us (RFC 4976 §5.1), valid for
    /// `expires` seconds when the relay said.
    Done {
        /// The URIs of the `Use-Path` header, first relay first.
        use_path: Vec<Uri>,
        /// The `Expires` header, in seconds.
        expires: Option<u32>,
    },
    /// The relay refused (403, a second 401, a malformed challenge or 200, ...).
    Failed {
        /// The status code of the response.
        code: u16,
        /// What went wrong.
        reason: String,
    },
    /// The response is not for the AUTH in progress; nothing changes.
    Ignored,
}

/// One AUTH exchange with the first relay of a path (RFC 4976 §5.1).
#[derive(Debug, Clone)]
pub struct AuthClient {
    relay: Uri,
    local: Uri,
    username: String,
    password: String,
    expires: Option<u32>,
    tid: Option<String>,
    challenges: u32,
}

impl AuthClient {
    /// An exchange with `relay` (its URI without session id, as configured, e.g.
    /// `msrps://relay.example.com:2855;tcp` or `msrps://relay.example.com:443;ws`), from
    /// `local` (our URI on that connection), as `username` with `password`.
    pub fn new(relay: Uri, local: Uri, username: &str, password: &str) -> AuthClient {
        AuthClient {
            relay,
            local,
            username: username.to_string(),
            password: password.to_string(),
            expires: None,
            tid: None,
            challenges: 0,
        }
    }

    /// Asks for `seconds` of validity with an `Expires` header (the relay may grant less).
    pub fn with_expires(mut self, seconds: u32) -> AuthClient {
        self.expires = Some(seconds);
        self
    }

    /// The transaction id of the AUTH awaiting its response.
    pub fn tid(&self) -> Option<&str> {
        self.tid.as_deref()
    }

    /// The first AUTH, without credentials; the relay answers it with a 401 challenge.
    pub fn start(&mut self, rng: &mut Rng) -> Frame {
        self.challenges = 0;
        self.request(rng, None)
    }

    fn request(&mut self, rng: &mut Rng, authorization: Option<String>) -> Frame {
        let tid = new_tid(rng, &[]);
        self.tid = Some(tid.clone());
        let mut f = Frame::request(
            Method::Auth,
            tid,
            vec![self.relay.clone()],
            vec![self.local.clone()],
        );
        if let Some(a) = authorization {
            f.headers.push(Header {
                name: "Authorization".into(),
                value: a,
            });
        }
        if let Some(e) = self.expires {
            f.headers.push(Header {
                name: "Expires".into(),
                value: e.to_string(),
            });
        }
        f
    }

    /// Handles a response: a 401 is answered (once per exchange, again when the nonce was
    /// only stale), a 200 yields the Use-Path, anything else fails.
    pub fn handle_response(&mut self, rng: &mut Rng, response: &Frame) -> AuthStep {
        let Some(code) = response.code() else {
            return AuthStep::Ignored;
        };
        if self.tid.as_deref() != Some(response.tid.as_str()) {
            return AuthStep::Ignored;
        }
        self.tid = None;
        let failed = |reason: &str| AuthStep::Failed {
            code,
            reason: reason.to_string(),
        };
        match code {
            200 => {
                let Some(path) = response.header("Use-Path") else {
                    return failed("200 without Use-Path");
                };
                let Ok(use_path) = parse_path(path) else {
                    return failed("malformed Use-Path");
                };
                let expires = response
                    .header("Expires")
                    .and_then(|e| e.trim().parse::<u32>().ok());
                AuthStep::Done { use_path, expires }
            }
            401 => {
                let Some(challenge) = response
                    .header("WWW-Authenticate")
                    .and_then(|v| Challenge::parse(v).ok())
                else {
                    return failed("401 without a usable digest challenge");
                };
                if self.challenges >= MAX_CHALLENGES || (self.challenges >= 1 && !challenge.stale) {
                    return failed("credentials refused");
                }
                self.challenges += 1;
                let cnonce = rng.token(16);
                let answer = challenge.answer(
                    &self.username,
                    &self.password,
                    Method::Auth.as_str(),
                    &self.relay.to_string(),
                    &cnonce,
                    1,
                );
                AuthStep::Send(Box::new(self.request(rng, Some(answer))))
            }
            _ => failed(match &response.start {
                super::message::StartLine::Response {
                    comment: Some(c), ..
                } => c.as_str(),
                _ => "refused",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Algorithm, Credentials};

    fn uri(s: &str) -> Uri {
        Uri::parse(s).expect("valid")
    }

    fn challenge_response(req: &Frame, stale: bool) -> Frame {
        let mut r = req.response(401, Some("Unauthorized")).expect("answered");
        let c = Challenge {
            realm: "example.com".into(),
            nonce: "n0nce".into(),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop_auth: true,
            stale,
        };
        r.headers.push(Header {
            name: "WWW-Authenticate".into(),
            value: c.to_header(),
        });
        r
    }

    #[test]
    fn challenge_answer_and_use_path() {
        let mut rng = Rng::from_seed(7);
        let relay = uri("msrps://relay.example.com:2855;tcp");
        let mut a = AuthClient::new(
            relay.clone(),
            uri("msrps://c.invalid:1/s1;tcp"),
            "alice",
            "pw",
        )
        .with_expires(600);
        let first = a.start(&mut rng);
        assert_eq!(first.method(), Some(&Method::Auth));
        assert_eq!(first.to_path, vec![relay.clone()]);
        assert_eq!(first.header("Expires"), Some("600"));
        assert!(first.header("Authorization").is_none());

        let AuthStep::Send(second) =
            a.handle_response(&mut rng, &challenge_response(&first, false))
        else {
            panic!("the challenge is answered");
        };
        assert_ne!(second.tid, first.tid);
        let creds = Credentials::parse(second.header("Authorization").expect("credentials"))
            .expect("parses");
        assert_eq!(creds.uri, relay.to_string());
        let ha1 = crate::auth::ha1(Algorithm::Md5, "alice", "example.com", "pw");
        assert!(creds.verify(&ha1, "AUTH"));

        // A response to another transaction changes nothing.
        let stray = first.response(200, None).expect("answered");
        assert_eq!(a.handle_response(&mut rng, &stray), AuthStep::Ignored);

        let mut ok = second.response(200, Some("OK")).expect("answered");
        ok.headers.push(Header {
            name: "Use-Path".into(),
            value: "msrps://relay.example.com:2855/x1;tcp msrps://r2.example.com:2855/y2;tcp"
                .into(),
        });
        ok.headers.push(Header {
            name: "Expires".into(),
            value: "300".into(),
        });
        match a.handle_response(&mut rng, &ok) {
            AuthStep::Done { use_path, expires } => {
                assert_eq!(use_path.len(), 2);
                assert_eq!(use_path[0].session_id.as_deref(), Some("x1"));
                assert_eq!(expires, Some(300));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_second_challenge_fails_unless_stale_and_403_fails() {
        let mut rng = Rng::from_seed(8);
        let relay = uri("msrp://relay.example.com:2855;tcp");
        let mut a = AuthClient::new(relay, uri("msrp://c.invalid:1/s1;tcp"), "alice", "bad");
        let first = a.start(&mut rng);
        let AuthStep::Send(second) =
            a.handle_response(&mut rng, &challenge_response(&first, false))
        else {
            panic!("answered");
        };
        // Stale: answered once more.
        let AuthStep::Send(third) = a.handle_response(&mut rng, &challenge_response(&second, true))
        else {
            panic!("stale nonces are answered again");
        };
        assert!(matches!(
            a.handle_response(&mut rng, &challenge_response(&third, true)),
            AuthStep::Failed { code: 401, .. }
        ));
        let first = a.start(&mut rng);
        let forbidden = first.response(403, Some("Forbidden")).expect("answered");
        assert_eq!(
            a.handle_response(&mut rng, &forbidden),
            AuthStep::Failed {
                code: 403,
                reason: "Forbidden".into()
            }
        );
        // A 200 without Use-Path is useless.
        let again = a.start(&mut rng);
        let bare = again.response(200, None).expect("answered");
        assert!(matches!(
            a.handle_response(&mut rng, &bare),
            AuthStep::Failed { code: 200, .. }
        ));
    }
}

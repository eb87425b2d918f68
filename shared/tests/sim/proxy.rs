//! A tiny stateless proxy (RFC 3261 §16.11) with a registrar (§10.3) for the simulator: the
//! outbound proxy of every simulated [`UserAgent`](sipsimple::UserAgent), like the gateway
//! is for the browser.
//!
//! - It learns each user agent's flow from the `.invalid` host of the top Via of its
//!   requests (RFC 7118 §5 style), and routes requests whose Request-URI has such a host to
//!   that flow, and requests to an address-of-record through the location service (the
//!   registrar's bindings, or [`Proxy::bind`]).
//! - Its branch is derived from the incoming one, so retransmissions, ACKs for non-2xx and
//!   CANCELs get the same branch downstream; responses go back through the second Via's flow.
//! - Optionally it Record-Routes INVITEs, challenges REGISTER with 401 and INVITE with 407
//!   (digest, MD5, a fixed nonce), answering statelessly and absorbing the ACKs of its own
//!   final responses.
//! - Optionally it plays the gateway's recorder ([`Proxy::recorder`]): it answers the
//!   recording INFOs (`application/vnd.sipsimple.recording+json`) itself, and
//!   [`Proxy::send_to_user`] lets a test send requests as the gateway does (a MESSAGE with
//!   `Target-Dialog` relaying DTMF).

use super::Endpoint;
use sipsimple::auth::{ha1, Algorithm, Challenge, Credentials};
use sipsimple::sip::{Message, NameAddr, Uri, Via};
use sipsimple::transaction::Dest;
use sipsimple::Time;
use std::collections::{BTreeMap, VecDeque};

/// The To tag of the proxy's own responses.
const PROXY_TAG: &str = "proxy";
/// The nonce of every challenge.
const NONCE: &str = "simnonce";

/// The proxy and registrar.
pub struct Proxy {
    /// Its host.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The domain it is registrar for.
    pub domain: String,
    /// Add `Record-Route: <sip:host:port;lr>` to INVITEs.
    pub record_route: bool,
    /// user → password; a user listed here must authenticate its REGISTERs.
    pub users: BTreeMap<String, String>,
    /// Challenge INVITEs with 407 until they carry valid Proxy-Authorization.
    pub challenge_invites: bool,
    /// Act as an RFC 5626 registrar: a 2xx to a REGISTER that supports outbound carries
    /// `Require: outbound`.
    pub outbound: bool,
    /// Location service: user → (contact, flow).
    bindings: BTreeMap<String, (Uri, Dest)>,
    /// Flows by the `.invalid` host of their user agent.
    flows: BTreeMap<String, Dest>,
    outbox: VecDeque<(Dest, Vec<u8>)>,
    /// Requests answered by the proxy itself: (time, status code, method).
    pub answered: Vec<(Time, u16, String)>,
    /// Play the recorder: answer recording INFOs with this status, a 2xx to a start
    /// carrying `{"file_name": "<dir><name asked>"}` with `dir` from [`Recorder::dir`].
    pub recorder: Option<Recorder>,
}

/// The gateway's recorder, as the proxy plays it.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// Prefixed to the file name asked for, in the 2xx to a start; `None`: the 2xx has no
    /// body.
    pub dir: Option<String>,
    /// The status code of the answers (200 unless set).
    pub status: Option<u16>,
    /// The bodies of the recording INFOs received, in order.
    pub commands: Vec<String>,
}

impl Proxy {
    /// A proxy at `host:port`, registrar for `domain`, that neither authenticates nor
    /// Record-Routes.
    pub fn new(host: &str, port: u16, domain: &str) -> Proxy {
        Proxy {
            host: host.to_string(),
            port,
            domain: domain.to_string(),
            record_route: false,
            users: BTreeMap::new(),
            challenge_invites: false,
            outbound: false,
            bindings: BTreeMap::new(),
            flows: BTreeMap::new(),
            outbox: VecDeque::new(),
            answered: Vec::new(),
            recorder: None,
        }
    }

    /// Sends `req` to `user`'s binding, its Request-URI set to the bound contact, as the
    /// gateway sends its own requests; `false` when `user` has no binding.
    pub fn send_to_user(&mut self, user: &str, mut req: Message) -> bool {
        let Some((contact, flow)) = self.bindings.get(user).cloned() else {
            return false;
        };
        if let sipsimple::sip::StartLine::Request { uri, .. } = &mut req.start {
            *uri = contact;
        }
        self.send(flow, &req);
        true
    }

    /// Answers a recording INFO as the recorder, if the proxy plays one.
    fn record(&mut self, now: Time, source: &Dest, req: &Message) -> bool {
        let is_recording = req.method() == Some("INFO")
            && req
                .header("Content-Type")
                .is_some_and(|c| c.eq_ignore_ascii_case(sipsimple::ua::RECORDING));
        let Some(recorder) = self.recorder.as_mut().filter(|_| is_recording) else {
            return false;
        };
        let body = String::from_utf8_lossy(&req.body).into_owned();
        recorder.commands.push(body.clone());
        let status = recorder.status.unwrap_or(200);
        let dir = recorder.dir.clone();
        let mut r = self.answer(
            now,
            req,
            status,
            if status < 300 { "OK" } else { "Refused" },
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if let (Some(dir), Some(name), true) = (dir, v["file_name"].as_str(), status < 300) {
            let json = serde_json::json!({ "file_name": format!("{dir}{name}") });
            r.set_body("application/json", json.to_string().into_bytes());
        }
        self.send(source.clone(), &r);
        true
    }

    /// A static binding: requests to `user@domain` go to `contact` over `flow`.
    pub fn bind(&mut self, user: &str, contact: Uri, flow: Dest) {
        if let Some(host) = contact.host.strip_suffix(".invalid") {
            self.flows.insert(format!("{host}.invalid"), flow.clone());
        }
        self.bindings.insert(user.to_string(), (contact, flow));
    }

    /// Whether `user` has a binding.
    pub fn is_bound(&self, user: &str) -> bool {
        self.bindings.contains_key(user)
    }

    fn me(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn answer(&mut self, now: Time, req: &Message, code: u16, reason: &str) -> Message {
        let mut r = Message::response_to(req, code, reason);
        if let Some(mut t) = req.header("To").and_then(|t| NameAddr::parse(t).ok()) {
            if t.tag().is_none() {
                t.set_param("tag", Some(PROXY_TAG));
                r.set_header("To", t.to_string());
            }
        }
        self.answered
            .push((now, code, req.method().unwrap_or("").to_string()));
        r
    }

    fn send(&mut self, to: Dest, msg: &Message) {
        self.outbox.push_back((to, msg.to_bytes()));
    }

    fn challenge(&self, stale: bool) -> String {
        Challenge {
            realm: self.domain.clone(),
            nonce: NONCE.into(),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop_auth: true,
            stale,
        }
        .to_header()
    }

    /// Whether `value` (an Authorization header) proves `user`'s password for `method`.
    fn authentic(&self, value: Option<&str>, method: &str) -> bool {
        let Some(c) = value.and_then(|v| Credentials::parse(v).ok()) else {
            return false;
        };
        let Some(password) = self.users.get(&c.username) else {
            return false;
        };
        c.nonce == NONCE
            && c.verify(
                &ha1(Algorithm::Md5, &c.username, &self.domain, password),
                method,
            )
    }

    fn on_register(&mut self, now: Time, source: Dest, req: &Message) {
        let Some(user) = req
            .header("To")
            .and_then(|t| NameAddr::parse(t).ok())
            .and_then(|t| t.uri.user)
        else {
            let r = self.answer(now, req, 400, "Bad To");
            self.send(source, &r);
            return;
        };
        if self.users.contains_key(&user)
            && !self.authentic(req.header("Authorization"), "REGISTER")
        {
            let mut r = self.answer(now, req, 401, "Unauthorized");
            r.push_header("WWW-Authenticate", self.challenge(false));
            self.send(source, &r);
            return;
        }
        let contact = req.header("Contact").and_then(|c| NameAddr::parse(c).ok());
        let expires = contact
            .as_ref()
            .and_then(NameAddr::expires)
            .or_else(|| req.header("Expires").and_then(|e| e.trim().parse().ok()))
            .unwrap_or(3600);
        let mut r = self.answer(now, req, 200, "OK");
        let supports_outbound = req
            .header_lines("Supported")
            .flat_map(sipsimple::sip::split_list)
            .any(|t| t == "outbound");
        if self.outbound && supports_outbound {
            r.push_header("Require", "outbound");
        }
        match contact {
            Some(c) if expires > 0 => {
                self.bind(&user, c.uri.clone(), source.clone());
                let mut c = NameAddr::new(c.uri);
                c.set_param("expires", Some(&expires.to_string()));
                r.push_header("Contact", c.to_string());
            }
            _ => {
                self.bindings.remove(&user);
            }
        }
        self.send(source, &r);
    }

    fn on_request(&mut self, now: Time, source: Dest, mut req: Message) {
        let method = req.method().unwrap_or("").to_string();
        let Some(top) = req
            .header_values("Via")
            .first()
            .and_then(|v| Via::parse(v).ok())
        else {
            return;
        };
        if top.host.ends_with(".invalid") {
            self.flows.insert(top.host.clone(), source.clone());
        }
        let to_tag = req
            .header("To")
            .and_then(|t| NameAddr::parse(t).ok())
            .and_then(|t| t.tag().map(str::to_string));
        if method == "ACK" && to_tag.as_deref() == Some(PROXY_TAG) {
            return; // The ACK of one of our own final responses.
        }
        let max_forwards: u32 = req
            .header("Max-Forwards")
            .and_then(|m| m.trim().parse().ok())
            .unwrap_or(70);
        if self.record(now, &source, &req) {
            return;
        }
        if max_forwards == 0 {
            let r = self.answer(now, &req, 483, "Too Many Hops");
            self.send(source, &r);
            return;
        }
        let ruri = req.request_uri().cloned();
        let for_domain = ruri.as_ref().is_some_and(|u| u.host == self.domain);
        if method == "REGISTER" && for_domain {
            self.on_register(now, source, &req);
            return;
        }
        if method == "INVITE"
            && to_tag.is_none()
            && self.challenge_invites
            && !self.authentic(req.header("Proxy-Authorization"), "INVITE")
        {
            let mut r = self.answer(now, &req, 407, "Proxy Authentication Required");
            r.push_header("Proxy-Authenticate", self.challenge(false));
            self.send(source, &r);
            return;
        }
        // Our own Route entry goes (§16.4).
        if let Some(first) = req.header_values("Route").first() {
            let ours = NameAddr::parse(first).is_ok_and(|r| {
                format!("{}:{}", r.uri.host, r.uri.port.unwrap_or(5060)) == self.me()
            });
            if ours {
                let rest: Vec<String> = req
                    .header_values("Route")
                    .iter()
                    .skip(1)
                    .map(|s| s.to_string())
                    .collect();
                req.remove_header("Route");
                for r in rest {
                    req.push_header("Route", r);
                }
            }
        }
        let Some(mut ruri) = ruri else { return };
        let dest = if ruri.host.ends_with(".invalid") {
            self.flows.get(&ruri.host).cloned()
        } else if for_domain {
            let bound = ruri
                .user
                .as_ref()
                .and_then(|u| self.bindings.get(u))
                .cloned();
            bound.map(|(contact, flow)| {
                ruri = contact;
                flow
            })
        } else {
            None
        };
        let Some(dest) = dest else {
            if method != "ACK" {
                let r = self.answer(now, &req, 404, "Not Found");
                self.send(source, &r);
            }
            return;
        };
        if let sipsimple::sip::StartLine::Request { uri, .. } = &mut req.start {
            *uri = ruri;
        }
        let branch = top.branch().unwrap_or("none").to_string();
        req.prepend_header(
            "Via",
            format!(
                "SIP/2.0/{} {};branch=z9hG4bKpx{branch}",
                dest.transport.via_name(),
                self.me()
            ),
        );
        req.set_header("Max-Forwards", (max_forwards - 1).to_string());
        if self.record_route && method == "INVITE" && to_tag.is_none() {
            req.prepend_header("Record-Route", format!("<sip:{};lr>", self.me()));
        }
        self.send(dest, &req);
    }

    fn on_response(&mut self, mut resp: Message) {
        let vias: Vec<String> = resp
            .header_values("Via")
            .iter()
            .map(|s| s.to_string())
            .collect();
        let Some(top) = vias.first().and_then(|v| Via::parse(v).ok()) else {
            return;
        };
        if format!("{}:{}", top.host, top.port.unwrap_or(5060)) != self.me() {
            return;
        }
        let Some(next) = vias.get(1).and_then(|v| Via::parse(v).ok()) else {
            return;
        };
        let Some(dest) = self.flows.get(&next.host).cloned() else {
            return;
        };
        resp.remove_header("Via");
        for v in vias.iter().skip(1) {
            resp.push_header("Via", v.clone());
        }
        self.send(dest, &resp);
    }
}

impl Endpoint for Proxy {
    fn handle_receive(&mut self, now: Time, source: Dest, bytes: Vec<u8>) {
        let Ok(msg) = Message::parse(&bytes) else {
            return;
        };
        if msg.is_request() {
            self.on_request(now, source, msg);
        } else {
            self.on_response(msg);
        }
    }

    fn handle_timeout(&mut self, _now: Time) {}

    fn handle_transport_error(&mut self, _now: Time, _dest: Dest) {}

    fn poll_transmit(&mut self) -> Option<(Dest, Vec<u8>)> {
        self.outbox.pop_front()
    }

    fn poll_timeout(&self) -> Option<Time> {
        None
    }
}

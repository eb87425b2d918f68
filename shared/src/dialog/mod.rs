//! Dialogs (RFC 3261 §12): creation by the UAC from a 1xx with a To tag or a 2xx (§12.1.2)
//! and by the UAS from the INVITE it answers (§12.1.1), early and confirmed states, route
//! sets, local and remote CSeq, remote target refresh (§12.2.1.2, §12.2.2), in-dialog request
//! construction (§12.2.1.1) and validation (§12.2.2, §14.2).
//!
//! A [`Dialog`] is plain state: it builds messages and checks the requests it is given, and
//! never sends nor times anything. Its companions:
//! - [`uac::ForkSet`]: the early dialogs of one INVITE and what to do with each 2xx (§13.2.2.4:
//!   the first 2xx confirms its dialog, later ones from other forks get an ACK and a BYE,
//!   retransmissions get the same ACK again);
//! - [`uas::Retransmitter`]: the UAS core's 2xx retransmission until the ACK (§13.3.1.4: T1
//!   doubling to T2, give up after 64·T1) and the dialog-creating responses
//!   ([`uas::dialog_response`]).
//!
//! The transaction layer ([`crate::transaction`]) carries the messages; the session decides
//! what to send. Vias are the caller's: request builders take the `Via` value to put on top,
//! with a fresh branch.
//!
//! ```
//! use sipsimple::dialog::{Dialog, DialogState};
//! use sipsimple::sip::Message;
//! let invite = Message::parse(
//!     b"INVITE sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\n\
//!       From: <sip:alice@a.example>;tag=a1\r\nTo: <sip:bob@b.example>\r\nCall-ID: c1\r\n\
//!       CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\nContent-Length: 0\r\n\r\n",
//! ).expect("valid");
//! let mut ok = Message::response_to(&invite, 200, "OK");
//! ok.set_header("To", "<sip:bob@b.example>;tag=b1");
//! ok.push_header("Contact", "<sip:bob@192.0.2.2>");
//! ok.push_header("Record-Route", "<sip:p2.example;lr>, <sip:p1.example;lr>");
//! let mut dialog = Dialog::uac(&invite, &ok).expect("a dialog");
//! assert_eq!(dialog.state(), DialogState::Confirmed);
//! let bye = dialog.request("BYE", "SIP/2.0/UDP a.example;branch=z9hG4bK2".into());
//! assert_eq!(bye.request_uri().map(|u| u.to_string()).as_deref(), Some("sip:bob@192.0.2.2"));
//! assert_eq!(bye.header_values("Route"), ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]);
//! assert_eq!(bye.header("CSeq"), Some("2 BYE"));
//! ```

pub mod uac;
pub mod uas;

use crate::sip::{split_list, CSeq, Message, NameAddr, Uri};
use core::fmt;

/// What identifies a dialog (RFC 3261 §12): the Call-ID and both tags, seen from this end.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// The Call-ID.
    pub call_id: String,
    /// Our tag: From of our requests, To of the requests we receive.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The id of the dialog a received request belongs to: local tag from To, remote tag from
    /// From (§12.2.2). `None` when a tag or the Call-ID is missing.
    pub fn of_request(req: &Message) -> Option<DialogId> {
        Some(DialogId {
            call_id: req.header("Call-ID")?.trim().to_string(),
            local_tag: tag_of(req, "To")?,
            remote_tag: tag_of(req, "From")?,
        })
    }

    /// The id of the dialog a response to our request belongs to: local tag from From,
    /// remote tag from To (§12.1.2).
    pub fn of_response(resp: &Message) -> Option<DialogId> {
        Some(DialogId {
            call_id: resp.header("Call-ID")?.trim().to_string(),
            local_tag: tag_of(resp, "From")?,
            remote_tag: tag_of(resp, "To")?,
        })
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};local={};remote={}",
            self.call_id, self.local_tag, self.remote_tag
        )
    }
}

/// The `tag` parameter of header `name` (From or To).
pub fn tag_of(msg: &Message, name: &str) -> Option<String> {
    let value = msg.header(name)?;
    NameAddr::parse(value).ok()?.tag().map(str::to_string)
}

/// The CSeq of a message, if it parses.
pub fn cseq_of(msg: &Message) -> Option<CSeq> {
    CSeq::parse(msg.header("CSeq")?).ok()
}

/// The URI of the first Contact of a message.
pub fn contact_of(msg: &Message) -> Option<Uri> {
    let first = *msg.header_values("Contact").first()?;
    NameAddr::parse(first).ok().map(|c| c.uri)
}

/// Every Record-Route entry of a message, in order, as name-addrs (unparsable ones skipped).
pub fn record_route_of(msg: &Message) -> Vec<NameAddr> {
    msg.header_lines("Record-Route")
        .flat_map(split_list)
        .filter_map(|v| NameAddr::parse(v).ok())
        .collect()
}

/// The two states a dialog has while it exists (RFC 3261 §12); a terminated dialog is
/// dropped by its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a provisional response; the INVITE has no 2xx yet.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
}

/// Which side of the dialog-creating request this end was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the INVITE.
    Uac,
    /// We received the INVITE.
    Uas,
}

/// Why a dialog cannot be made from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DialogError {
    /// A header the dialog needs is missing or does not parse.
    BadHeader(&'static str),
    /// The response has no To tag (§12.1.2: no dialog without one).
    NoRemoteTag,
    /// The response is not a 101-299.
    NotDialogCreating,
}

impl fmt::Display for DialogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialogError::BadHeader(h) => write!(f, "missing or invalid {h} header"),
            DialogError::NoRemoteTag => f.write_str("the response has no To tag"),
            DialogError::NotDialogCreating => f.write_str("the response creates no dialog"),
        }
    }
}

impl std::error::Error for DialogError {}

/// Why a request received in a dialog is refused (RFC 3261 §12.2.2, §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Its CSeq is lower than the last one received: 500 (§12.2.2).
    OutOfOrder,
    /// An INVITE while the previous one from the peer has no final response yet: 500 with
    /// Retry-After (§14.2).
    InviteInProgress,
    /// An INVITE while ours is pending in the same dialog: 491 Request Pending (§14.2).
    Glare,
    /// No CSeq to read: 400.
    BadRequest,
}

impl Rejection {
    /// The status code to answer with.
    pub fn code(self) -> u16 {
        match self {
            Rejection::OutOfOrder | Rejection::InviteInProgress => 500,
            Rejection::Glare => 491,
            Rejection::BadRequest => 400,
        }
    }

    /// The reason phrase.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::OutOfOrder => "Server Internal Error (CSeq Out of Order)",
            Rejection::InviteInProgress => "Server Internal Error (INVITE in Progress)",
            Rejection::Glare => "Request Pending",
            Rejection::BadRequest => "Bad Request",
        }
    }

    /// Whether the response carries Retry-After: the 500s do, so that the peer tries again
    /// later rather than giving up on the dialog.
    pub fn wants_retry_after(self) -> bool {
        self.code() == 500
    }

    /// The response to `req`, with `Retry-After: retry_after` (seconds, §14.2 asks for a
    /// random 0 to 10) when [`wants_retry_after`](Self::wants_retry_after).
    pub fn response(self, req: &Message, retry_after: u32) -> Message {
        let mut r = Message::response_to(req, self.code(), self.reason());
        if self.wants_retry_after() {
            r.push_header("Retry-After", retry_after.to_string());
        }
        r
    }
}

/// Methods whose requests and 2xx responses refresh the remote target (RFC 3261 §12.2,
/// RFC 3311 §5).
pub fn is_target_refresh(method: &str) -> bool {
    matches!(method, "INVITE" | "UPDATE")
}

/// One dialog (RFC 3261 §12).
#[derive(Debug, Clone)]
pub struct Dialog {
    id: DialogId,
    state: DialogState,
    role: Role,
    /// Our From (as UAC) or To (as UAS), tag included.
    local: NameAddr,
    /// The peer's name-addr, tag included.
    remote: NameAddr,
    /// 0 while empty (a UAS that has sent nothing yet).
    local_seq: u32,
    remote_seq: Option<u32>,
    local_target: Uri,
    remote_target: Uri,
    route_set: Vec<NameAddr>,
    secure: bool,
    /// CSeq of our INVITE without a final response yet.
    invite_out: Option<u32>,
    /// CSeq of the peer's INVITE we have not sent a final response to yet.
    invite_in: Option<u32>,
    /// The last ACK we built for a 2xx, by INVITE CSeq, for 2xx retransmissions.
    ack: Option<(u32, Message)>,
}

impl Dialog {
    /// The dialog a dialog-creating response (101-299 with a To tag) to our `request`
    /// creates (§12.1.2): early for a 1xx, confirmed for a 2xx. The route set is the
    /// response's Record-Route list reversed; the remote target its Contact (a 1xx without
    /// one targets the Request-URI until a later response says better).
    pub fn uac(request: &Message, response: &Message) -> Result<Dialog, DialogError> {
        let code = response.code().ok_or(DialogError::NotDialogCreating)?;
        if !(101..300).contains(&code) {
            return Err(DialogError::NotDialogCreating);
        }
        let call_id = request
            .header("Call-ID")
            .ok_or(DialogError::BadHeader("Call-ID"))?
            .trim()
            .to_string();
        let local = name_addr(request, "From")?;
        let remote = name_addr(response, "To")?;
        let local_tag = local
            .tag()
            .ok_or(DialogError::BadHeader("From"))?
            .to_string();
        let remote_tag = remote.tag().ok_or(DialogError::NoRemoteTag)?.to_string();
        let seq = cseq_of(request).ok_or(DialogError::BadHeader("CSeq"))?.seq;
        let request_uri = request
            .request_uri()
            .cloned()
            .ok_or(DialogError::NotDialogCreating)?;
        let remote_target = match contact_of(response) {
            Some(c) => c,
            None if code < 200 => request_uri.clone(),
            None => return Err(DialogError::BadHeader("Contact")),
        };
        let local_target = contact_of(request).ok_or(DialogError::BadHeader("Contact"))?;
        let mut route_set = record_route_of(response);
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id,
                local_tag,
                remote_tag,
            },
            state: if code < 200 {
                DialogState::Early
            } else {
                DialogState::Confirmed
            },
            role: Role::Uac,
            local,
            remote,
            local_seq: seq,
            remote_seq: None,
            local_target,
            remote_target,
            route_set,
            secure: request_uri.scheme == "sips",
            invite_out: if code < 200 { Some(seq) } else { None },
            invite_in: None,
            ack: None,
        })
    }

    /// The dialog we create by answering `request` with a dialog-creating response carrying
    /// `local_tag` in To and `local_target` in Contact (§12.1.1): the route set is the
    /// request's Record-Route list as is, the remote target its Contact, the remote CSeq
    /// its CSeq. The dialog is early; [`confirm`](Self::confirm) it on sending a 2xx.
    pub fn uas(
        request: &Message,
        local_tag: &str,
        local_target: Uri,
    ) -> Result<Dialog, DialogError> {
        let call_id = request
            .header("Call-ID")
            .ok_or(DialogError::BadHeader("Call-ID"))?
            .trim()
            .to_string();
        let remote = name_addr(request, "From")?;
        let remote_tag = remote
            .tag()
            .ok_or(DialogError::BadHeader("From"))?
            .to_string();
        let mut local = name_addr(request, "To")?;
        local.set_param("tag", Some(local_tag));
        let seq = cseq_of(request).ok_or(DialogError::BadHeader("CSeq"))?.seq;
        let remote_target = contact_of(request).ok_or(DialogError::BadHeader("Contact"))?;
        let secure = request.request_uri().is_some_and(|u| u.scheme == "sips");
        let is_invite = request.method() == Some("INVITE");
        Ok(Dialog {
            id: DialogId {
                call_id,
                local_tag: local_tag.to_string(),
                remote_tag,
            },
            state: DialogState::Early,
            role: Role::Uas,
            local,
            remote,
            local_seq: 0,
            remote_seq: Some(seq),
            local_target,
            remote_target,
            route_set: record_route_of(request),
            secure,
            invite_out: None,
            invite_in: is_invite.then_some(seq),
            ack: None,
        })
    }

    /// The dialog's id.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// Early or confirmed.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// Whether we sent the dialog-creating request.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Our name-addr with our tag (From in our requests).
    pub fn local(&self) -> &NameAddr {
        &self.local
    }

    /// The peer's name-addr with its tag (To in our requests).
    pub fn remote(&self) -> &NameAddr {
        &self.remote
    }

    /// The CSeq number of our last request (0 while we have sent none as UAS).
    pub fn local_seq(&self) -> u32 {
        self.local_seq
    }

    /// The CSeq number of the peer's last request.
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }

    /// Where our requests go: the peer's Contact.
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    /// Our Contact.
    pub fn local_target(&self) -> &Uri {
        &self.local_target
    }

    /// The route set, in the order our requests' Route headers list it.
    pub fn route_set(&self) -> &[NameAddr] {
        &self.route_set
    }

    /// Whether the dialog-creating request had a SIPS Request-URI.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The early dialog becomes confirmed (a 2xx was sent or received).
    pub fn confirm(&mut self) {
        self.state = DialogState::Confirmed;
    }

    /// A 2xx to our INVITE for this early dialog: the dialog is confirmed and its route set
    /// and remote target recomputed from the 2xx (§13.2.2.4).
    pub fn confirm_with(&mut self, response: &Message) {
        if self.state == DialogState::Early && self.role == Role::Uac {
            let mut route_set = record_route_of(response);
            route_set.reverse();
            self.route_set = route_set;
        }
        if let Some(c) = contact_of(response) {
            self.remote_target = c;
        }
        self.state = DialogState::Confirmed;
        self.invite_out = None;
    }

    /// A target refresh request or its 2xx: its Contact, if any, becomes the remote target
    /// (§12.2.1.2, §12.2.2).
    pub fn refresh_target(&mut self, msg: &Message) {
        if let Some(c) = contact_of(msg) {
            self.remote_target = c;
        }
    }

    /// Whether an INVITE of ours in this dialog has no final response yet.
    pub fn invite_pending_out(&self) -> bool {
        self.invite_out.is_some()
    }

    /// Whether an INVITE of the peer in this dialog has no final response from us yet.
    pub fn invite_pending_in(&self) -> bool {
        self.invite_in.is_some()
    }

    /// Whether we may start an INVITE now (§14.1: none in progress in either direction).
    pub fn can_invite(&self) -> bool {
        self.invite_out.is_none() && self.invite_in.is_none()
    }

    /// Our INVITE in this dialog got its final response.
    pub fn invite_out_done(&mut self) {
        self.invite_out = None;
    }

    /// We sent the final response to the peer's INVITE.
    pub fn invite_in_done(&mut self) {
        self.invite_in = None;
    }

    /// The Request-URI and Route headers of a request in this dialog (§12.2.1.1): loose
    /// routing when the route set is empty or its first entry has `lr`, else strict routing
    /// with the remote target appended.
    fn target(&self) -> (Uri, Vec<String>) {
        match self.route_set.first() {
            Some(first) if !first.uri.is_loose_route() => {
                let mut uri = first.uri.clone();
                // Parameters not allowed in a Request-URI go (§19.1.1 table).
                uri.params
                    .retain(|(k, _)| !k.eq_ignore_ascii_case("method"));
                uri.headers = None;
                let mut routes: Vec<String> = self
                    .route_set
                    .iter()
                    .skip(1)
                    .map(ToString::to_string)
                    .collect();
                routes.push(NameAddr::new(self.remote_target.clone()).to_string());
                (uri, routes)
            }
            _ => (
                self.remote_target.clone(),
                self.route_set.iter().map(ToString::to_string).collect(),
            ),
        }
    }

    /// A new request in this dialog (§12.2.1.1) with `via` on top: From, To, Call-ID, the
    /// next local CSeq (ACK and CANCEL reuse the current one), Request-URI and Route from
    /// the remote target and the route set, Max-Forwards, and our Contact for target refresh
    /// requests. An INVITE marks our INVITE pending ([`invite_out_done`](Self::invite_out_done)
    /// clears it).
    pub fn request(&mut self, method: &str, via: String) -> Message {
        let seq = if matches!(method, "ACK" | "CANCEL") {
            self.local_seq.max(1)
        } else {
            self.local_seq = self.local_seq.wrapping_add(1).max(1);
            self.local_seq
        };
        if method == "INVITE" {
            self.invite_out = Some(seq);
        }
        self.build(method, seq, via)
    }

    fn build(&self, method: &str, seq: u32, via: String) -> Message {
        let (uri, routes) = self.target();
        let mut m = Message::request(method, uri);
        m.push_header("Via", via);
        m.push_header("Max-Forwards", "70");
        for r in routes {
            m.push_header("Route", r);
        }
        m.push_header("From", self.local.to_string());
        m.push_header("To", self.remote.to_string());
        m.push_header("Call-ID", self.id.call_id.clone());
        m.push_header("CSeq", format!("{seq} {method}"));
        if is_target_refresh(method) {
            m.push_header(
                "Contact",
                NameAddr::new(self.local_target.clone()).to_string(),
            );
        }
        m
    }

    /// The ACK for a 2xx to our INVITE `invite_seq` (§13.2.2.4), with `via` on top (a new
    /// branch: the ACK of a 2xx is a transaction of its own). It is kept for
    /// [`ack_again`](Self::ack_again).
    pub fn ack(&mut self, invite_seq: u32, via: String) -> Message {
        let ack = self.build("ACK", invite_seq, via);
        self.ack = Some((invite_seq, ack.clone()));
        ack
    }

    /// The ACK for a 2xx to `invite` (§13.2.2.4): as [`ack`](Self::ack) with the INVITE's
    /// CSeq number, and the INVITE's Authorization and Proxy-Authorization credentials, which
    /// the ACK must repeat (§22.1 via §13.2.2.4).
    pub fn ack_for(&mut self, invite: &Message, via: String) -> Message {
        let seq = cseq_of(invite).map_or(self.local_seq, |c| c.seq);
        let mut ack = self.build("ACK", seq, via);
        for name in ["Authorization", "Proxy-Authorization"] {
            for v in invite.header_lines(name) {
                ack.push_header(name, v);
            }
        }
        self.ack = Some((seq, ack.clone()));
        ack
    }

    /// The ACK already sent for the 2xx to INVITE `invite_seq`, to answer a retransmission
    /// of that 2xx with the very same ACK.
    pub fn ack_again(&self, invite_seq: u32) -> Option<&Message> {
        self.ack
            .as_ref()
            .filter(|(seq, _)| *seq == invite_seq)
            .map(|(_, m)| m)
    }

    /// Checks a request received in this dialog and updates the dialog (§12.2.2, §14.2):
    /// refuses CSeqs lower than the last one and overlapping INVITEs, then records the
    /// remote CSeq, marks an INVITE pending until [`invite_in_done`](Self::invite_in_done),
    /// and refreshes the remote target for INVITE and UPDATE. ACK and CANCEL are not checked
    /// (they carry the CSeq number of their INVITE).
    pub fn receive(&mut self, req: &Message) -> Result<(), Rejection> {
        let method = req.method().unwrap_or_default();
        if matches!(method, "ACK" | "CANCEL") {
            return Ok(());
        }
        let seq = cseq_of(req).ok_or(Rejection::BadRequest)?.seq;
        if self.remote_seq.is_some_and(|r| seq < r) {
            return Err(Rejection::OutOfOrder);
        }
        if method == "INVITE" {
            if self.invite_in.is_some() {
                return Err(Rejection::InviteInProgress);
            }
            if self.invite_out.is_some() {
                return Err(Rejection::Glare);
            }
            self.invite_in = Some(seq);
        }
        self.remote_seq = Some(seq);
        if is_target_refresh(method) {
            self.refresh_target(req);
        }
        Ok(())
    }

    /// A response to a request received in this dialog: [`Message::response_to`] with our
    /// tag on To when the request had none (the dialog-creating INVITE), and for 101-299
    /// responses to target refresh requests our Contact and, for the dialog-creating ones,
    /// the request's Record-Route (§12.1.1).
    pub fn response(&self, req: &Message, code: u16, reason: &str) -> Message {
        uas::dialog_response(req, code, reason, &self.id.local_tag, &self.local_target)
    }
}

fn name_addr(msg: &Message, name: &'static str) -> Result<NameAddr, DialogError> {
    msg.header(name)
        .and_then(|v| NameAddr::parse(v).ok())
        .ok_or(DialogError::BadHeader(name))
}

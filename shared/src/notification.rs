//! The notification bus's messages (the seed's middleware API, "Notifications" sections).
//!
//! The core emits [`Notification`]s through its output queue; the shells deliver them to
//! observers (the browser SDK's `addObserver`, the gateway's logs). Names are exactly the
//! seed's. The seed's `timestamp` attribute is added by the shell, which owns the wall clock.
//!
//! The seed lists no notifications for `SIPApplication`; the four `SIPApplication*` names are
//! python-sipsimple's. The seed gives no data for the `MediaStream*` notifications: each
//! carries the stream's type, and `MediaStreamDidFail` a reason.

use serde::Serialize;

/// The object a notification comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "id")]
pub enum Sender {
    /// An account, by its SIP id (`alice@example.com`).
    Account(String),
    /// A session, by the id the user agent gave it.
    Session(u64),
    /// A media stream of a session (the seed's `IMediaStream` object), by the session's id
    /// and the position of the stream's m-line in the session's SDP.
    Stream {
        /// The session's id.
        session: u64,
        /// The stream's m-line index.
        index: usize,
    },
    /// The application object (the seed's `SIPApplication`).
    Application,
}

/// Who caused something: the local application or the remote party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Originator {
    /// This end.
    Local,
    /// The other end.
    Remote,
}

/// The states of a session (the seed's state diagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionState {
    /// Created, not yet connected or received.
    Null,
    /// An outgoing INVITE is pending.
    Calling,
    /// An incoming INVITE awaits `accept`/`reject`.
    Incoming,
    /// `accept` was called; the 2xx awaits its ACK.
    Accepting,
    /// The session is up.
    Established,
    /// A local stream proposal is pending.
    Proposing,
    /// A remote stream proposal awaits an answer.
    Proposed,
    /// The session is being torn down.
    Terminating,
    /// The session is over.
    Terminated,
}

impl SessionState {
    /// The seed's name of the state, as serialised (`ESTABLISHED`).
    pub fn name(self) -> &'static str {
        match self {
            SessionState::Null => "NULL",
            SessionState::Calling => "CALLING",
            SessionState::Incoming => "INCOMING",
            SessionState::Accepting => "ACCEPTING",
            SessionState::Established => "ESTABLISHED",
            SessionState::Proposing => "PROPOSING",
            SessionState::Proposed => "PROPOSED",
            SessionState::Terminating => "TERMINATING",
            SessionState::Terminated => "TERMINATED",
        }
    }
}

/// A notification with its data, serialised as `{"name": ..., "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "name", content = "data")]
#[allow(clippy::enum_variant_names)]
#[non_exhaustive]
pub enum Event {
    /// The account activated.
    SIPAccountDidActivate {},
    /// The account deactivated.
    SIPAccountDidDeactivate {},
    /// A REGISTER (or a refresh) succeeded.
    SIPAccountRegistrationDidSucceed {
        /// Status code of the final response.
        code: u16,
        /// Reason phrase of the final response.
        reason: String,
        /// The contact this user agent registered.
        contact_uri: String,
        /// Every contact the registrar holds for the account.
        contact_uri_list: Vec<String>,
        /// Seconds until the binding expires.
        expires: u32,
    },
    /// A REGISTER failed.
    SIPAccountRegistrationDidFail {
        /// Status code, absent when no response came (timeout, transport error).
        code: Option<u16>,
        /// Why it failed.
        reason: String,
        /// The route the next attempt goes through (the seed's `next_route`): the next of
        /// the account's routes after a REGISTER that got no response, else the one in use;
        /// `None` when the account has no routes (the shell resolves the domain itself).
        next_route: Option<crate::settings::Route>,
        /// Seconds until the next attempt.
        delay: f64,
    },
    /// The registration ended (unregistered).
    SIPAccountRegistrationDidEnd {
        /// Status code of the response to the `Expires: 0` REGISTER, if one came.
        code: Option<u16>,
        /// Its reason phrase, if one came.
        reason: Option<String>,
    },
    /// The session changed state.
    SIPSessionChangedState {
        /// The state before.
        prev_state: SessionState,
        /// The state now.
        state: SessionState,
    },
    /// The application started an outgoing session.
    SIPSessionNewOutgoing {
        /// The streams proposed.
        streams: Vec<String>,
    },
    /// A new incoming session arrived.
    SIPSessionNewIncoming {
        /// The streams proposed by the remote party.
        streams: Vec<String>,
    },
    /// The remote device is ringing.
    SIPSessionGotRingIndication {},
    /// A final 2xx arrived; the ACK is about to go.
    SIPSessionWillStart {},
    /// The session is established.
    SIPSessionDidStart {},
    /// The session failed; `SIPSessionDidEnd` follows.
    SIPSessionDidFail {
        /// Who failed it.
        originator: Originator,
        /// The SIP status code, 0 for an internal error.
        code: u16,
        /// What happened.
        reason: String,
    },
    /// The application asked to end the session.
    SIPSessionWillEnd {},
    /// The session ended.
    SIPSessionDidEnd {
        /// Who ended it.
        originator: Originator,
    },
    /// The session was put on hold, by this end (`local`) or by the other (`remote`).
    SIPSessionGotHoldRequest {
        /// Who put the session on hold.
        originator: Originator,
    },
    /// The session was taken out of hold by the party that had put it on hold.
    SIPSessionGotUnholdRequest {
        /// Who took the session out of hold.
        originator: Originator,
    },
    /// One party proposed to add streams to the session.
    SIPSessionGotStreamProposal {
        /// Who proposed.
        proposer: Originator,
        /// The stream types proposed (`audio`, `chat`, ...).
        streams: Vec<String>,
    },
    /// A stream proposal was rejected (by the other party, or by the application for a
    /// remote proposal).
    SIPSessionRejectedStreamProposal {
        /// Who proposed.
        proposer: Originator,
        /// Why it was rejected.
        reason: String,
    },
    /// A stream proposal was accepted.
    SIPSessionAcceptedStreamProposal {
        /// Who proposed.
        proposer: Originator,
    },
    /// Streams were activated or deactivated.
    SIPSessionGotStreamUpdate {
        /// The stream types active from now on, in m-line order.
        streams: Vec<String>,
    },
    /// A media stream was initialized (sender: the stream).
    MediaStreamDidInitialize {
        /// The stream's type.
        stream: String,
    },
    /// A media stream started (sender: the stream).
    MediaStreamDidStart {
        /// The stream's type.
        stream: String,
    },
    /// A media stream failed (sender: the stream); `MediaStreamDidEnd` follows.
    MediaStreamDidFail {
        /// The stream's type.
        stream: String,
        /// What went wrong.
        reason: String,
    },
    /// A media stream is about to end (sender: the stream).
    MediaStreamWillEnd {
        /// The stream's type.
        stream: String,
    },
    /// A media stream ended (sender: the stream).
    MediaStreamDidEnd {
        /// The stream's type.
        stream: String,
    },
    /// The application is starting its sub-systems.
    SIPApplicationWillStart {},
    /// The application started.
    SIPApplicationDidStart {},
    /// The application is stopping its sub-systems.
    SIPApplicationWillEnd {},
    /// The application stopped.
    SIPApplicationDidEnd {},
}

impl Event {
    /// The seed's notification name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::SIPAccountDidActivate {} => "SIPAccountDidActivate",
            Event::SIPAccountDidDeactivate {} => "SIPAccountDidDeactivate",
            Event::SIPAccountRegistrationDidSucceed { .. } => "SIPAccountRegistrationDidSucceed",
            Event::SIPAccountRegistrationDidFail { .. } => "SIPAccountRegistrationDidFail",
            Event::SIPAccountRegistrationDidEnd { .. } => "SIPAccountRegistrationDidEnd",
            Event::SIPSessionChangedState { .. } => "SIPSessionChangedState",
            Event::SIPSessionNewOutgoing { .. } => "SIPSessionNewOutgoing",
            Event::SIPSessionNewIncoming { .. } => "SIPSessionNewIncoming",
            Event::SIPSessionGotRingIndication {} => "SIPSessionGotRingIndication",
            Event::SIPSessionWillStart {} => "SIPSessionWillStart",
            Event::SIPSessionDidStart {} => "SIPSessionDidStart",
            Event::SIPSessionDidFail { .. } => "SIPSessionDidFail",
            Event::SIPSessionWillEnd {} => "SIPSessionWillEnd",
            Event::SIPSessionDidEnd { .. } => "SIPSessionDidEnd",
            Event::SIPSessionGotHoldRequest { .. } => "SIPSessionGotHoldRequest",
            Event::SIPSessionGotUnholdRequest { .. } => "SIPSessionGotUnholdRequest",
            Event::SIPSessionGotStreamProposal { .. } => "SIPSessionGotStreamProposal",
            Event::SIPSessionRejectedStreamProposal { .. } => "SIPSessionRejectedStreamProposal",
            Event::SIPSessionAcceptedStreamProposal { .. } => "SIPSessionAcceptedStreamProposal",
            Event::SIPSessionGotStreamUpdate { .. } => "SIPSessionGotStreamUpdate",
            Event::MediaStreamDidInitialize { .. } => "MediaStreamDidInitialize",
            Event::MediaStreamDidStart { .. } => "MediaStreamDidStart",
            Event::MediaStreamDidFail { .. } => "MediaStreamDidFail",
            Event::MediaStreamWillEnd { .. } => "MediaStreamWillEnd",
            Event::MediaStreamDidEnd { .. } => "MediaStreamDidEnd",
            Event::SIPApplicationWillStart {} => "SIPApplicationWillStart",
            Event::SIPApplicationDidStart {} => "SIPApplicationDidStart",
            Event::SIPApplicationWillEnd {} => "SIPApplicationWillEnd",
            Event::SIPApplicationDidEnd {} => "SIPApplicationDidEnd",
        }
    }
}

/// A notification: who sent it and what it says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// The sender.
    pub sender: Sender,
    /// The name and data.
    #[serde(flatten)]
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_the_seed_names() {
        let n = Notification {
            sender: Sender::Session(3),
            event: Event::SIPSessionChangedState {
                prev_state: SessionState::Null,
                state: SessionState::Calling,
            },
        };
        let v = serde_json::to_value(&n).expect("serialise");
        assert_eq!(v["name"], "SIPSessionChangedState");
        assert_eq!(v["sender"]["type"], "Session");
        assert_eq!(v["data"]["state"], "CALLING");
        assert_eq!(n.event.name(), "SIPSessionChangedState");
        for state in [
            SessionState::Null,
            SessionState::Accepting,
            SessionState::Terminated,
        ] {
            let v = serde_json::to_value(state).expect("serialise");
            assert_eq!(v, state.name());
        }
        let hold = Event::SIPSessionGotHoldRequest {
            originator: Originator::Remote,
        };
        let v = serde_json::to_value(&hold).expect("serialise");
        assert_eq!(v["name"], hold.name());
        assert_eq!(v["data"]["originator"], "remote");
    }
}

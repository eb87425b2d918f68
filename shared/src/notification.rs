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
    /// A DTMF digit arrived from the remote party (an INFO `application/dtmf-relay` or
    /// `application/dtmf` in the dialog, or a MESSAGE naming the dialog in `Target-Dialog`).
    SIPSessionGotDTMF {
        /// The digit, one of `0`-`9`, `*`, `#`, `A`-`D`.
        digit: String,
    },
    /// No audio came from the remote party in the first 5 s of the audio stream (the seed's
    /// `SIPSessionGotNoAudio`); for a browser call the gateway's relay tells, by a MESSAGE
    /// naming the dialog in `Target-Dialog`.
    SIPSessionGotNoAudio {},
    /// The application asked to record the session's audio; the request is on its way.
    SIPSessionWillStartRecordingAudio {
        /// The file name asked for.
        file_name: String,
    },
    /// The recorder started recording the session's audio.
    SIPSessionDidStartRecordingAudio {
        /// The file the recorder writes, as it named it (with its path).
        file_name: String,
    },
    /// The recording is about to stop (asked by the application, or the session ends).
    SIPSessionWillStopRecordingAudio {
        /// The file being recorded.
        file_name: String,
    },
    /// The recording stopped.
    SIPSessionDidStopRecordingAudio {
        /// The file recorded.
        file_name: String,
    },
    /// A chat message arrived on the session's chat stream (sender: the session; the
    /// stream posts `ChatStreamGotMessage` with the same data first).
    SIPSessionGotMessage {
        /// The MSRP Message-ID (the seed's `message`, reduced to its id).
        message_id: String,
        /// The content, as text (invalid UTF-8 replaced).
        content: String,
        /// The Content-Type of the user's message (the wrapped one under CPIM).
        content_type: String,
        /// The CPIM headers by name; empty without a CPIM wrapper.
        cpim_headers: std::collections::BTreeMap<String, String>,
    },
    /// A chat message `send_message` sent was delivered (sender: the session).
    SIPSessionDidDeliverMessage {
        /// The id `send_message` returned.
        message_id: String,
        /// The status code of the success report (200).
        code: u16,
        /// Its comment.
        reason: String,
    },
    /// A chat message `send_message` sent was not delivered (sender: the session; the
    /// seed's second `SIPSessionDidDeliverMessage`, named as its `send_message` says).
    SIPSessionDidNotDeliverMessage {
        /// The id `send_message` returned.
        message_id: String,
        /// The status code (408 when no response came or the connection closed).
        code: u16,
        /// Its comment.
        reason: String,
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
    /// A chat message arrived (sender: the chat stream), unwrapped from CPIM when it came
    /// wrapped.
    ChatStreamGotMessage {
        /// The MSRP Message-ID (the seed's `message`, the MSRP data, reduced to its id).
        message_id: String,
        /// The content, as text (invalid UTF-8 replaced).
        content: String,
        /// The Content-Type of the user's message (the wrapped one under CPIM).
        content_type: String,
        /// The CPIM headers by name (`From`, `To`, `DateTime`, ...; repeated ones joined
        /// with `, `); empty without a CPIM wrapper.
        cpim_headers: std::collections::BTreeMap<String, String>,
    },
    /// A success report for a sent chat message arrived (sender: the chat stream).
    ChatStreamDidDeliverMessage {
        /// The Message-ID `send_message` returned.
        message_id: String,
        /// The status code (200).
        code: u16,
        /// The status comment.
        reason: String,
    },
    /// A chat message was not delivered: a failure report, a failure transaction response,
    /// or no response in time (sender: the chat stream).
    ChatStreamDidNotDeliverMessage {
        /// The Message-ID `send_message` returned.
        message_id: String,
        /// The status code (408 when no response came).
        code: u16,
        /// The status comment.
        reason: String,
    },
    /// A chat message was sent (its last chunk went out) (sender: the chat stream).
    ChatStreamDidSendMessage {
        /// The Message-ID `send_message` returned.
        message_id: String,
    },
    /// The remote party's composing state changed (RFC 3994) (sender: the chat stream).
    ChatStreamGotComposingIndication {
        /// `active` or `idle`.
        state: String,
        /// Seconds until an active state expires unless refreshed, for `active`.
        refresh: Option<u32>,
        /// What is being composed (`text/plain`, `audio`, ...), when said.
        content_type: Option<String>,
        /// When the remote party was last active (RFC 3339), with an idle document.
        last_active: Option<String>,
        /// The CPIM `From` of the indication, when it came wrapped.
        sender: Option<String>,
    },
    /// A chunk of the file being received arrived (sender: the file-transfer stream); the
    /// shell writes its bytes at `offset`.
    FileTransferStreamGotChunk {
        /// The Content-Type of the file.
        content_type: Option<String>,
        /// Where the chunk goes in the file, 0-based.
        offset: u64,
        /// The chunk's length.
        length: u64,
        /// Distinct bytes of the file received so far.
        transferred_bytes: u64,
        /// The file's size, when known.
        file_size: Option<u64>,
    },
    /// A chunk of the file being sent was acknowledged (sender: the file-transfer stream).
    FileTransferStreamDidDeliverChunk {
        /// The MSRP Message-ID of the transfer.
        message_id: String,
        /// Where the chunk starts in the file, 0-based.
        offset: u64,
        /// The chunk's length.
        length: u64,
        /// Bytes acknowledged so far.
        transferred_bytes: u64,
        /// The file's size.
        file_size: u64,
    },
    /// The file being sent could not be delivered (sender: the file-transfer stream);
    /// `FileTransferStreamDidFinish` with the error follows.
    FileTransferStreamDidNotDeliverChunk {
        /// The MSRP Message-ID of the transfer.
        message_id: String,
        /// The status code (408 when no response came).
        code: u16,
        /// The status comment.
        reason: String,
    },
    /// The transfer ended (sender: the file-transfer stream).
    FileTransferStreamDidFinish {
        /// `None` on success; otherwise what went wrong (hash mismatch, aborted, failure
        /// report, ...).
        error: Option<String>,
    },
    /// The desktop-sharing stream's handler failed (sender: the desktop-sharing stream):
    /// the VNC server could not be reached or closed, the viewer went away.
    /// `MediaStreamDidFail` follows.
    DesktopSharingHandlerDidFail {
        /// What the handler was doing: `connecting`, `reading` or `sending`.
        context: String,
        /// What went wrong.
        reason: String,
    },
    /// RFB data arrived for an internal handler (sender: the desktop-sharing stream). The
    /// external handlers of the native driver take the bytes from
    /// [`UserAgent::poll_desktop`](crate::UserAgent::poll_desktop) instead.
    DesktopSharingStreamGotData {
        /// The RFB bytes, in order.
        data: Vec<u8>,
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
            Event::SIPSessionGotDTMF { .. } => "SIPSessionGotDTMF",
            Event::SIPSessionGotNoAudio { .. } => "SIPSessionGotNoAudio",
            Event::SIPSessionWillStartRecordingAudio { .. } => "SIPSessionWillStartRecordingAudio",
            Event::SIPSessionDidStartRecordingAudio { .. } => "SIPSessionDidStartRecordingAudio",
            Event::SIPSessionWillStopRecordingAudio { .. } => "SIPSessionWillStopRecordingAudio",
            Event::SIPSessionDidStopRecordingAudio { .. } => "SIPSessionDidStopRecordingAudio",
            Event::SIPSessionGotMessage { .. } => "SIPSessionGotMessage",
            Event::SIPSessionDidDeliverMessage { .. } => "SIPSessionDidDeliverMessage",
            Event::SIPSessionDidNotDeliverMessage { .. } => "SIPSessionDidNotDeliverMessage",
            Event::MediaStreamDidInitialize { .. } => "MediaStreamDidInitialize",
            Event::MediaStreamDidStart { .. } => "MediaStreamDidStart",
            Event::MediaStreamDidFail { .. } => "MediaStreamDidFail",
            Event::MediaStreamWillEnd { .. } => "MediaStreamWillEnd",
            Event::MediaStreamDidEnd { .. } => "MediaStreamDidEnd",
            Event::ChatStreamGotMessage { .. } => "ChatStreamGotMessage",
            Event::ChatStreamDidDeliverMessage { .. } => "ChatStreamDidDeliverMessage",
            Event::ChatStreamDidNotDeliverMessage { .. } => "ChatStreamDidNotDeliverMessage",
            Event::ChatStreamDidSendMessage { .. } => "ChatStreamDidSendMessage",
            Event::ChatStreamGotComposingIndication { .. } => "ChatStreamGotComposingIndication",
            Event::FileTransferStreamGotChunk { .. } => "FileTransferStreamGotChunk",
            Event::FileTransferStreamDidDeliverChunk { .. } => "FileTransferStreamDidDeliverChunk",
            // One line, so that `cargo xtask pack` finds the name beside its variant.
            #[rustfmt::skip]
            Event::FileTransferStreamDidNotDeliverChunk { .. } => "FileTransferStreamDidNotDeliverChunk",
            Event::FileTransferStreamDidFinish { .. } => "FileTransferStreamDidFinish",
            Event::DesktopSharingHandlerDidFail { .. } => "DesktopSharingHandlerDidFail",
            Event::DesktopSharingStreamGotData { .. } => "DesktopSharingStreamGotData",
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

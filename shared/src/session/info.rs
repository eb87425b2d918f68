//! DTMF and recording control over SIP INFO (RFC 6086, legacy usage without Info-Package),
//! for calls whose media the gateway anchors: the browser can neither send nor read RTP
//! telephone events (RFC 4733) reliably, and the gateway does the recording.
//!
//! - Sending a digit: an INFO with `Content-Type: application/dtmf-relay` and the body
//!   `Signal=<digit>\r\nDuration=160\r\n`.
//! - Receiving one: an INFO `application/dtmf-relay` (`Signal=`, any case, spaces allowed) or
//!   `application/dtmf` (the digit alone) gets 200 and `SIPSessionGotDTMF`; an INFO without
//!   a body gets 200 (RFC 6086 §2, the legacy keep-alive); any other body 415 with `Accept`.
//!   The gateway also relays digits a phone sent in RTP as an out-of-dialog MESSAGE naming
//!   the dialog in `Target-Dialog` (RFC 4538), handled by the user agent.
//! - Recording: an INFO `application/vnd.sipsimple.recording+json` with
//!   `{"action":"start","file_name":…}` or `{"action":"stop"}`; the recorder's 2xx to a start
//!   may carry `{"file_name":…}`, the file it really writes.
//!
//! One INFO at a time per dialog: the others wait in order until the previous one gets a
//! final response. As for any in-dialog request (RFC 5057 §5.1), 481 and 408 end the session;
//! other failures only drop the digit or the recording command.

use super::{Failure, Session};
use crate::cpim::DateTime;
use crate::notification::{Event, Originator, SessionState};
use crate::sip::{ContentType, Message};
use crate::stream::AUDIO;
use crate::time::Time;
use crate::transaction::TransactionId;
use crate::ua::{Ctx, Error};

/// The body type of DTMF relayed in SIP INFO (the widely deployed Cisco/SIP INFO format).
pub const DTMF_RELAY: &str = "application/dtmf-relay";
/// The body type of a bare DTMF digit.
pub const DTMF: &str = "application/dtmf";
/// The body type of the gateway's recording commands.
pub const RECORDING: &str = "application/vnd.sipsimple.recording+json";
/// The `Accept` of our 415 to an INFO we do not understand.
pub const INFO_ACCEPT: &str = "application/dtmf-relay, application/dtmf";
/// The `Duration` (ms) of the digits we send.
pub const DTMF_DURATION: u32 = 160;
/// How many INFOs may wait for their turn.
pub const MAX_PENDING_INFO: usize = 64;

/// What one of our INFOs carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum InfoKind {
    /// A DTMF digit.
    Dtmf(char),
    /// Start recording to this file.
    StartRecording(String),
    /// Stop recording to this file.
    StopRecording(String),
}

/// Where the recording of the session's audio stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) enum RecordingState {
    /// Not recording.
    #[default]
    Idle,
    /// SIPSessionWillStartRecordingAudio sent, the start INFO waits or is on its way.
    Starting(String),
    /// The recorder records to this file (the session's `audio_recording_file_name`).
    Active(String),
    /// SIPSessionWillStopRecordingAudio sent, the stop INFO waits or is on its way.
    Stopping(String),
}

/// The DTMF digit `c` in upper case, if it is one (`0`-`9`, `*`, `#`, `A`-`D`).
pub fn dtmf_digit(c: char) -> Option<char> {
    let c = c.to_ascii_uppercase();
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
}

/// The digit of an `application/dtmf-relay` body: its `Signal=` line, the name in any case,
/// spaces around the name, the `=` and the value allowed. RFC 4733's event numbers 10-15
/// (`*`, `#`, `A`-`D`), which some devices write, are understood too.
pub fn parse_dtmf_relay(body: &str) -> Option<char> {
    body.lines().find_map(|line| {
        let (name, value) = line.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("signal") {
            return None;
        }
        let value = value.trim();
        let mut chars = value.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => dtmf_digit(c),
            _ => match value {
                "10" => Some('*'),
                "11" => Some('#'),
                "12" => Some('A'),
                "13" => Some('B'),
                "14" => Some('C'),
                "15" => Some('D'),
                _ => None,
            },
        }
    })
}

/// The digit of an `application/dtmf` body: one digit, blanks around it allowed.
pub fn parse_dtmf(body: &str) -> Option<char> {
    let mut chars = body.trim().chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => dtmf_digit(c),
        _ => None,
    }
}

/// What a DTMF body says: `Ok(Some(digit))`, `Ok(None)` for a type we do not understand,
/// `Err(())` for a DTMF type whose body holds no digit.
pub(crate) fn dtmf_of(msg: &Message) -> Result<Option<char>, ()> {
    let Some(ct) = msg
        .header("Content-Type")
        .and_then(|c| ContentType::parse(c).ok())
    else {
        return Ok(None);
    };
    let body = String::from_utf8_lossy(&msg.body);
    let digit = if ct.is("application", "dtmf-relay") {
        parse_dtmf_relay(&body)
    } else if ct.is("application", "dtmf") {
        parse_dtmf(&body)
    } else {
        return Ok(None);
    };
    digit.map(Some).ok_or(())
}

/// Keeps the characters a file name may safely hold everywhere (`[A-Za-z0-9._-]`), the
/// others written `_`.
fn sanitise(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Session {
    /// The seed's `audio_recording_file_name`: the file the recorder writes the session's
    /// audio to, as its 2xx named it, while recording.
    pub fn audio_recording_file_name(&self) -> Option<&str> {
        match &self.recording {
            RecordingState::Active(name) | RecordingState::Stopping(name) => Some(name),
            _ => None,
        }
    }

    /// The default recording name: `<local user>-<remote user>-<YYYYMMDD-HHMMSS>.wav`.
    fn default_recording_name(&self, wall_now: DateTime) -> String {
        let user = |u: &crate::sip::Uri| u.user.clone().unwrap_or_else(|| u.host.clone());
        let name = format!(
            "{}-{}-{:04}{:02}{:02}-{:02}{:02}{:02}.wav",
            user(&self.local_uri),
            user(&self.remote_uri),
            wall_now.year(),
            wall_now.month(),
            wall_now.day(),
            wall_now.hour(),
            wall_now.minute(),
            wall_now.second()
        );
        sanitise(&name)
    }

    /// The seed's rule for `send_dtmf` and the recording commands: ESTABLISHED, with an
    /// audio stream in effect.
    fn check_audio(&self) -> Result<(), Error> {
        if self.state != SessionState::Established {
            return Err(Error::InvalidState(self.state.name()));
        }
        if !self.has_audio() {
            return Err(Error::NoSuchStream(AUDIO.to_string()));
        }
        if self.info_queue.len() >= MAX_PENDING_INFO {
            return Err(Error::TooManyPending);
        }
        Ok(())
    }

    /// The seed's `send_dtmf`: queues an INFO with the digit.
    pub(crate) fn send_dtmf(&mut self, ctx: &mut Ctx, now: Time, digit: char) -> Result<(), Error> {
        let digit = dtmf_digit(digit).ok_or(Error::InvalidDtmfDigit(digit))?;
        self.check_audio()?;
        self.info_queue.push_back(InfoKind::Dtmf(digit));
        self.pump_info(ctx, now);
        Ok(())
    }

    /// The seed's `start_recording_audio`: SIPSessionWillStartRecordingAudio and the start
    /// INFO to the recorder. Without `file_name` (or with an empty one) the name is
    /// [`default_recording_name`](Self::default_recording_name) at `wall_now`.
    pub(crate) fn start_recording_audio(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        file_name: Option<&str>,
        wall_now: DateTime,
    ) -> Result<(), Error> {
        self.check_audio()?;
        if self.recording != RecordingState::Idle {
            return Err(Error::AlreadyRecording);
        }
        let name = match file_name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => self.default_recording_name(wall_now),
        };
        self.recording = RecordingState::Starting(name.clone());
        self.notify(
            ctx,
            Event::SIPSessionWillStartRecordingAudio {
                file_name: name.clone(),
            },
        );
        self.info_queue.push_back(InfoKind::StartRecording(name));
        self.pump_info(ctx, now);
        Ok(())
    }

    /// The seed's `stop_recording_audio`: SIPSessionWillStopRecordingAudio and the stop INFO.
    pub(crate) fn stop_recording_audio(&mut self, ctx: &mut Ctx, now: Time) -> Result<(), Error> {
        self.check_audio()?;
        let RecordingState::Active(name) = self.recording.clone() else {
            return Err(Error::NotRecording);
        };
        self.recording = RecordingState::Stopping(name.clone());
        self.notify(
            ctx,
            Event::SIPSessionWillStopRecordingAudio {
                file_name: name.clone(),
            },
        );
        self.info_queue.push_back(InfoKind::StopRecording(name));
        self.pump_info(ctx, now);
        Ok(())
    }

    /// Sends the next waiting INFO if none is on its way; once the session is ending, the
    /// waiting ones are dropped.
    pub(super) fn pump_info(&mut self, ctx: &mut Ctx, now: Time) {
        if !matches!(
            self.state,
            SessionState::Established | SessionState::Proposing | SessionState::Proposed
        ) {
            self.info_queue.clear();
            return;
        }
        while self.info.is_none() {
            let Some(kind) = self.info_queue.pop_front() else {
                return;
            };
            let (content_type, body) = match &kind {
                InfoKind::Dtmf(d) => (
                    DTMF_RELAY,
                    format!("Signal={d}\r\nDuration={DTMF_DURATION}\r\n"),
                ),
                InfoKind::StartRecording(name) => (
                    RECORDING,
                    serde_json::json!({ "action": "start", "file_name": name }).to_string(),
                ),
                InfoKind::StopRecording(_) => (RECORDING, r#"{"action":"stop"}"#.to_string()),
            };
            let via = ctx.new_via();
            let Some(d) = self.dialog.as_mut() else {
                self.info_queue.clear();
                return;
            };
            let mut info = d.request("INFO", via);
            info.set_body(content_type, body.into_bytes());
            match ctx.send_request(now, info) {
                Some(tx) => self.info = Some((tx, kind)),
                None => self.info_failed(&kind),
            }
        }
    }

    /// Whether `tx` is our INFO on its way.
    pub(super) fn is_info_tx(&self, tx: TransactionId) -> bool {
        self.info.as_ref().is_some_and(|(t, _)| *t == tx)
    }

    /// A response to our INFO.
    pub(super) fn on_info_response(&mut self, ctx: &mut Ctx, now: Time, msg: &Message, code: u16) {
        if code < 200 {
            return;
        }
        let Some((_, kind)) = self.info.take() else {
            return;
        };
        // Once our BYE is out, its outcome ends the session.
        let ending = self.state == SessionState::Terminating;
        match code {
            200..=299 => self.info_succeeded(ctx, kind, msg),
            481 | 408 if ending => {}
            // RFC 5057 §5.1: the dialog is gone, or the peer is.
            481 => {
                self.fail(ctx, now, Originator::Remote, code, msg.reason());
                return;
            }
            408 => {
                self.fail_with_bye(ctx, now, Originator::Remote, code, msg.reason());
                return;
            }
            _ => self.info_failed(&kind),
        }
        self.pump_info(ctx, now);
    }

    /// Our INFO got no response: a timeout ends the session as for any in-dialog request
    /// (RFC 3261 §12.2.1.2); a broken flow only loses it and the INFOs waiting, stale by
    /// the time a flow is back (with RFC 5626 outbound the session may outlive the flow).
    pub(super) fn on_info_failure(&mut self, ctx: &mut Ctx, now: Time, failure: Failure) {
        let Some((_, kind)) = self.info.take() else {
            return;
        };
        match failure {
            Failure::Timeout if self.state == SessionState::Terminating => {}
            Failure::Timeout => {
                let (code, reason) = failure.code_reason();
                self.fail_with_bye(ctx, now, Originator::Local, code, reason);
            }
            Failure::Transport => {
                self.info_failed(&kind);
                for waiting in std::mem::take(&mut self.info_queue) {
                    self.info_failed(&waiting);
                }
            }
        }
    }

    fn info_succeeded(&mut self, ctx: &mut Ctx, kind: InfoKind, msg: &Message) {
        match kind {
            InfoKind::Dtmf(_) => {}
            InfoKind::StartRecording(asked) => {
                if self.recording != RecordingState::Starting(asked.clone()) {
                    return;
                }
                let file_name = recorder_file_name(msg).unwrap_or(asked);
                self.recording = RecordingState::Active(file_name.clone());
                self.notify(ctx, Event::SIPSessionDidStartRecordingAudio { file_name });
            }
            InfoKind::StopRecording(name) => {
                if self.recording != RecordingState::Stopping(name.clone()) {
                    return;
                }
                self.recording = RecordingState::Idle;
                self.notify(
                    ctx,
                    Event::SIPSessionDidStopRecordingAudio { file_name: name },
                );
            }
        }
    }

    /// The INFO failed without ending the session: a digit is lost; a start leaves the
    /// session unrecorded, a stop leaves the recording going. The seed has no notification
    /// for either.
    fn info_failed(&mut self, kind: &InfoKind) {
        match kind {
            InfoKind::Dtmf(_) => {}
            InfoKind::StartRecording(name) => {
                if self.recording == RecordingState::Starting(name.clone()) {
                    self.recording = RecordingState::Idle;
                }
            }
            InfoKind::StopRecording(name) => {
                if self.recording == RecordingState::Stopping(name.clone()) {
                    self.recording = RecordingState::Active(name.clone());
                }
            }
        }
    }

    /// The session ends: the recorder finalises the file with the call, so a recording in
    /// progress stops (WillStop, DidStop, before the session's last notifications). A start
    /// never confirmed ends silently.
    pub(super) fn end_recording(&mut self, ctx: &mut Ctx) {
        self.info_queue.clear();
        match std::mem::take(&mut self.recording) {
            RecordingState::Active(file_name) => {
                self.notify(
                    ctx,
                    Event::SIPSessionWillStopRecordingAudio {
                        file_name: file_name.clone(),
                    },
                );
                self.notify(ctx, Event::SIPSessionDidStopRecordingAudio { file_name });
            }
            RecordingState::Stopping(file_name) => {
                self.notify(ctx, Event::SIPSessionDidStopRecordingAudio { file_name });
            }
            RecordingState::Idle | RecordingState::Starting(_) => {}
        }
    }

    /// An INFO from the peer in our dialog (RFC 6086 §4.2.2).
    pub(super) fn on_info(&mut self, ctx: &mut Ctx, now: Time, tx: TransactionId, req: &Message) {
        if req.body.is_empty() {
            let ok = self.in_dialog_response(ctx, req, 200, "OK");
            ctx.respond(now, tx, ok);
            return;
        }
        match dtmf_of(req) {
            Ok(Some(digit)) => {
                let ok = self.in_dialog_response(ctx, req, 200, "OK");
                ctx.respond(now, tx, ok);
                self.notify(
                    ctx,
                    Event::SIPSessionGotDTMF {
                        digit: digit.to_string(),
                    },
                );
            }
            Ok(None) => {
                let mut r = self.in_dialog_response(ctx, req, 415, "Unsupported Media Type");
                r.push_header("Accept", INFO_ACCEPT);
                ctx.respond(now, tx, r);
            }
            Err(()) => {
                let r = self.in_dialog_response(ctx, req, 400, "Bad Request (no DTMF digit)");
                ctx.respond(now, tx, r);
            }
        }
    }

    /// No audio came from the remote party in the first 5 s: the gateway's relay or the
    /// shell's media saw it. Posted once per session, however many noticed.
    pub(crate) fn got_no_audio(&mut self, ctx: &mut Ctx) {
        if std::mem::replace(&mut self.no_audio_reported, true) {
            return;
        }
        self.notify(ctx, Event::SIPSessionGotNoAudio {});
    }

    /// The shell's media received no audio in the stream's first 5 s (a browser's
    /// end-to-end WebRTC call, which no relay watches). Allowed while ESTABLISHED with audio.
    pub(crate) fn report_no_audio(&mut self, ctx: &mut Ctx) -> Result<(), Error> {
        self.check_audio()?;
        self.got_no_audio(ctx);
        Ok(())
    }

    /// A digit the gateway relayed by MESSAGE with `Target-Dialog` naming this session.
    pub(crate) fn got_relayed_dtmf(&mut self, ctx: &mut Ctx, digit: char) {
        self.notify(
            ctx,
            Event::SIPSessionGotDTMF {
                digit: digit.to_string(),
            },
        );
    }

    /// Whether `Target-Dialog` names this session's dialog: its Call-ID, our tag as
    /// `local-tag` and the peer's as `remote-tag` (RFC 4538 §7, from the recipient's view).
    pub(crate) fn is_target_dialog(
        &self,
        call_id: &str,
        local_tag: &str,
        remote_tag: &str,
    ) -> bool {
        !self.is_over()
            && self.dialog.is_some()
            && self.call_id == call_id
            && self.local_tag == local_tag
            && self.remote_tag.as_deref() == Some(remote_tag)
    }
}

/// The content type of the gateway relay's reports on a call's audio (docs/decisions.md).
pub const MEDIA_EVENT: &str = "application/vnd.sipsimple.media-event+json";

/// Whether `msg` carries a relay's media event.
pub(crate) fn is_media_event(msg: &Message) -> bool {
    msg.header("Content-Type")
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case(MEDIA_EVENT))
}

/// The `event` of a media event body (`{"event": "no-audio"}`).
pub(crate) fn media_event_of(msg: &Message) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&msg.body).ok()?;
    v.get("event")?.as_str().map(str::to_string)
}

/// The `file_name` of the recorder's 2xx body (`{"file_name": "…"}`), if it has one.
fn recorder_file_name(msg: &Message) -> Option<String> {
    if msg.body.is_empty() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&msg.body).ok()?;
    v.get("file_name")?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `Target-Dialog` (RFC 4538 §7): `callid *(; td-param)` → (Call-ID, local-tag, remote-tag).
pub(crate) fn parse_target_dialog(value: &str) -> Option<(String, String, String)> {
    let mut parts = value.split(';');
    let call_id = parts.next()?.trim();
    if call_id.is_empty() {
        return None;
    }
    let (mut local, mut remote) = (None, None);
    for p in parts {
        // Generic parameters without a value are allowed, and of no use here.
        let Some((name, v)) = p.split_once('=') else {
            continue;
        };
        let (name, v) = (name.trim(), v.trim().to_string());
        if name.eq_ignore_ascii_case("local-tag") {
            local = Some(v);
        } else if name.eq_ignore_ascii_case("remote-tag") {
            remote = Some(v);
        }
    }
    Some((call_id.to_string(), local?, remote?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_checked_and_upper_cased() {
        assert_eq!(dtmf_digit('a'), Some('A'));
        assert_eq!(dtmf_digit('#'), Some('#'));
        assert_eq!(dtmf_digit('e'), None);
        assert_eq!(dtmf_digit('é'), None);
    }

    #[test]
    fn dtmf_relay_bodies() {
        assert_eq!(parse_dtmf_relay("Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(parse_dtmf_relay("duration=100\nSIGNAL = b \n"), Some('B'));
        assert_eq!(parse_dtmf_relay("Signal=10\r\n"), Some('*'));
        assert_eq!(parse_dtmf_relay("Signal=\r\n"), None);
        assert_eq!(parse_dtmf_relay("Signal=x"), None);
        assert_eq!(parse_dtmf_relay("Duration=160"), None);
        assert_eq!(parse_dtmf(" 7\r\n"), Some('7'));
        assert_eq!(parse_dtmf("77"), None);
    }

    #[test]
    fn target_dialog_values() {
        assert_eq!(
            parse_target_dialog("abc@h ; local-tag=x;remote-tag=y"),
            Some(("abc@h".into(), "x".into(), "y".into()))
        );
        assert_eq!(parse_target_dialog("abc;local-tag=x"), None);
        assert_eq!(parse_target_dialog(";local-tag=x;remote-tag=y"), None);
        assert_eq!(parse_target_dialog("abc;local-tag"), None);
        assert_eq!(
            parse_target_dialog("abc;early-only;remote-tag=y;local-tag=x"),
            Some(("abc".into(), "x".into(), "y".into()))
        );
    }

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(sanitise("al ice/../x:y.wav"), "al_ice_.._x_y.wav");
    }
}

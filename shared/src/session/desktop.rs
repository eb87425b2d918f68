//! The desktop-sharing stream's MSRP engine (the seed's `DesktopSharingStream`: RFB,
//! RFC 6143, over MSRP, RFC 4975, as python-sipsimple carries it) and the session's
//! desktop-sharing commands.
//!
//! Each piece of RFB the shell's handler reads becomes one MSRP message of type
//! `application/x-rfb` with `Success-Report: no`; pieces go out strictly one after the
//! other (the next message is handed to the MSRP session only once the previous one's last
//! chunk left), so the byte stream keeps its order whatever the chunking. Received chunks
//! of `application/x-rfb` are handed to the shell as they arrive, in arrival order (TCP
//! keeps the peer's order), without being put back together into messages.

use super::Session;
use crate::msrp::{
    FailureReport, MsrpSession, Role, SendOptions, SessionConfig, SessionEvent, SessionOutput, Uri,
};
use crate::notification::{Event, Sender};
use crate::stream::DESKTOP_SHARING;
use crate::time::Time;
use crate::ua::{Ctx, DesktopOutput, DesktopRole, Error};
use std::collections::VecDeque;

/// The content type of RFB over MSRP.
pub const RFB_CONTENT_TYPE: &str = "application/x-rfb";

/// What a [`DesktopEngine`] produced.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum DesktopEngineOutput {
    /// Bytes for the MSRP connection.
    Transmit(Vec<u8>),
    /// RFB bytes from the peer, for the handler.
    Data(Vec<u8>),
    /// A notification of the stream.
    Notification(Event),
}

/// One desktop-sharing stream's MSRP side: the RFB byte stream both ways.
#[derive(Debug, Default)]
pub(super) struct DesktopEngine {
    session: Option<MsrpSession>,
    /// Pieces pushed and not yet handed to the MSRP session, oldest first.
    queue: VecDeque<Vec<u8>>,
    /// The Message-ID handed to the MSRP session whose last chunk has not left yet.
    sending: Option<String>,
    out: VecDeque<DesktopEngineOutput>,
}

impl DesktopEngine {
    /// The MSRP session settings: RFB only (others refused with 415), nothing buffered
    /// into whole messages.
    pub(super) fn session_config(local_uri: Uri, to_path: Vec<Uri>, role: Role) -> SessionConfig {
        let mut cfg = SessionConfig::new(local_uri, to_path, role);
        cfg.accept_types = vec![RFB_CONTENT_TYPE.to_string()];
        cfg.max_buffered_size = 0;
        cfg
    }

    /// The connection is up.
    pub(super) fn start(&mut self, now: Time, mut session: MsrpSession) {
        session.start(now);
        self.session = Some(session);
        self.pump(now);
    }

    /// The MSRP session, once started.
    pub(super) fn session(&self) -> Option<&MsrpSession> {
        self.session.as_ref()
    }

    /// RFB bytes read by the handler: one MSRP message, after those pushed before.
    pub(super) fn push(&mut self, now: Time, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.queue.push_back(bytes.to_vec());
        }
        self.pump(now);
    }

    pub(super) fn handle_input(&mut self, now: Time, bytes: &[u8]) {
        if let Some(s) = self.session.as_mut() {
            s.handle_input(now, bytes);
        }
        self.pump(now);
    }

    pub(super) fn handle_timeout(&mut self, now: Time) {
        if let Some(s) = self.session.as_mut() {
            s.handle_timeout(now);
        }
        self.pump(now);
    }

    pub(super) fn poll_timeout(&self) -> Option<Time> {
        self.session.as_ref().and_then(MsrpSession::poll_timeout)
    }

    pub(super) fn poll_output(&mut self) -> Option<DesktopEngineOutput> {
        self.out.pop_front()
    }

    /// The stream or its connection ended: nothing more goes out.
    pub(super) fn end(&mut self, now: Time) {
        if let Some(s) = self.session.as_mut() {
            s.close(now);
        }
        self.queue.clear();
        self.sending = None;
        self.pump(now);
    }

    /// Hands queued pieces to the MSRP session, one message at a time, and moves its
    /// outputs out.
    fn pump(&mut self, now: Time) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        loop {
            if self.sending.is_none() && !s.is_closed() {
                if let Some(piece) = self.queue.pop_front() {
                    // No report either way (python-sipsimple asks for `partial`; with
                    // `no` nothing waits in the MSRP session for a response that never
                    // comes): TCP carries the bytes, a lost connection ends the stream.
                    let opts =
                        SendOptions::new(RFB_CONTENT_TYPE).with_failure_report(FailureReport::No);
                    match s.send_bytes(now, opts, piece) {
                        Ok(id) => self.sending = Some(id),
                        Err(_) => self.queue.clear(),
                    }
                }
            }
            let Some(o) = s.poll_output() else {
                break;
            };
            match o {
                SessionOutput::Transmit(bytes) => {
                    self.out.push_back(DesktopEngineOutput::Transmit(bytes))
                }
                SessionOutput::Event(SessionEvent::Sent { message_id }) => {
                    if self.sending.as_deref() == Some(message_id.as_str()) {
                        self.sending = None;
                    }
                }
                SessionOutput::Event(SessionEvent::ChunkReceived {
                    content_type, data, ..
                }) => {
                    let rfb = content_type
                        .as_deref()
                        .is_none_or(|t| t.eq_ignore_ascii_case(RFB_CONTENT_TYPE));
                    if rfb && !data.is_empty() {
                        self.out.push_back(DesktopEngineOutput::Data(data));
                    }
                }
                SessionOutput::Event(SessionEvent::DeliveryFailed { code, reason, .. }) => {
                    self.out.push_back(DesktopEngineOutput::Notification(
                        Event::MediaStreamDidFail {
                            stream: DESKTOP_SHARING.to_string(),
                            reason: format!("MSRP: {code} {reason}"),
                        },
                    ));
                }
                // Memory messages never ask for data; other events say nothing the
                // handler needs.
                SessionOutput::NeedData { .. } | SessionOutput::Event(_) => {}
            }
        }
    }
}

impl Session {
    /// Proposes a desktop-sharing stream in which we take `role`.
    pub(crate) fn add_desktop(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        role: DesktopRole,
    ) -> Result<(), Error> {
        self.desktop_offer = Some(role);
        let r = self.add_stream(ctx, now, DESKTOP_SHARING);
        if r.is_err() {
            self.desktop_offer = None;
        }
        r
    }

    /// The `a=rfbsetup` of the desktop-sharing stream we offer next, if the application
    /// chose one (`connect_desktop`, `add_desktop`).
    pub(super) fn take_desktop_offer(&mut self, ctx: &Ctx) -> Option<&'static str> {
        self.desktop_offer
            .take()
            .or(ctx.desktop_offer)
            .map(DesktopRole::rfbsetup)
    }

    /// Our role in the desktop-sharing stream on m-line `index`: our SDP in effect says,
    /// else (not answered yet) the peer's offer leaves us the other role.
    pub fn desktop_role(&self, index: usize) -> Option<DesktopRole> {
        if let Some(local) = self.media.local_sd() {
            if let Some(m) = local.media.get(index) {
                return DesktopRole::from_rfbsetup(m.attribute_value("rfbsetup"));
            }
        }
        let offer = crate::sdp::SessionDescription::parse(self.remote_sdp()?.as_bytes()).ok()?;
        let m = offer.media.get(index)?;
        DesktopRole::from_rfbsetup(m.attribute_value("rfbsetup")).map(DesktopRole::peer)
    }

    /// The desktop-sharing stream on m-line `index` is carried: the shell starts its
    /// handler.
    pub(super) fn desktop_started(&self, ctx: &mut Ctx, index: usize) {
        if self.link(index).is_some_and(|l| l.is_desktop()) {
            ctx.desktop_out.push_back(DesktopOutput::Started {
                session: self.id,
                stream: index,
                role: self.desktop_role(index).unwrap_or(DesktopRole::Viewer),
            });
        }
    }

    /// The desktop-sharing stream on m-line `index` is no longer carried: the shell stops
    /// its handler.
    pub(super) fn desktop_ended(&self, ctx: &mut Ctx, index: usize) {
        if self.link(index).is_some_and(|l| l.is_desktop()) {
            ctx.desktop_out.push_back(DesktopOutput::Ended {
                session: self.id,
                stream: index,
            });
        }
    }

    /// The desktop engine of m-line `index`, while its link is open.
    fn desktop_engine_mut(&mut self, index: usize) -> Option<&mut DesktopEngine> {
        self.link_mut(index)?.desktop_mut()
    }

    /// RFB bytes from our handler for the desktop-sharing stream on m-line `index`.
    pub(crate) fn push_desktop_data(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        index: usize,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let (session, stream) = (self.id, index);
        let engine = self
            .desktop_engine_mut(index)
            .ok_or(Error::NoSuchMsrpStream { session, stream })?;
        engine.push(now, bytes);
        self.pump_link(ctx, index);
        Ok(())
    }

    /// Our handler of the desktop-sharing stream on m-line `index` failed.
    pub(crate) fn desktop_handler_failed(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        index: usize,
        context: &str,
        reason: &str,
    ) -> Result<(), Error> {
        let (session, stream) = (self.id, index);
        if self.desktop_engine_mut(index).is_none() {
            return Err(Error::NoSuchMsrpStream { session, stream });
        }
        let sender = Sender::Stream { session, index };
        ctx.notify(
            sender.clone(),
            Event::DesktopSharingHandlerDidFail {
                context: context.to_string(),
                reason: reason.to_string(),
            },
        );
        ctx.notify(
            sender,
            Event::MediaStreamDidFail {
                stream: DESKTOP_SHARING.to_string(),
                reason: reason.to_string(),
            },
        );
        self.end_link(ctx, index);
        // The stream cannot go on: remove it, or end the session it was alone in.
        let others = self
            .streams()
            .iter()
            .filter(|t| **t != DESKTOP_SHARING)
            .count();
        if others == 0 {
            self.end(ctx, now)
        } else {
            self.remove_stream(ctx, now, DESKTOP_SHARING)
        }
    }
}

/// Moves a desktop engine's outputs to the user agent's queues; its notifications to
/// `events`.
pub(super) fn pump_desktop(
    engine: &mut DesktopEngine,
    ctx: &mut Ctx,
    session: u64,
    stream: usize,
    events: &mut Vec<Event>,
) {
    while let Some(o) = engine.poll_output() {
        match o {
            DesktopEngineOutput::Transmit(bytes) => {
                ctx.msrp_out.push_back(crate::ua::MsrpOutput::Send {
                    session,
                    stream,
                    bytes,
                })
            }
            DesktopEngineOutput::Data(bytes) => ctx.desktop_out.push_back(DesktopOutput::Data {
                session,
                stream,
                bytes,
            }),
            DesktopEngineOutput::Notification(e) => events.push(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        Uri::parse(s).expect("a URI")
    }

    /// Carries bytes between two engines until both are quiet; what each handed out.
    fn settle(a: &mut DesktopEngine, b: &mut DesktopEngine, now: Time) -> (Vec<u8>, Vec<u8>) {
        let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
        loop {
            let mut moved = false;
            while let Some(o) = a.poll_output() {
                match o {
                    DesktopEngineOutput::Transmit(bytes) => {
                        b.handle_input(now, &bytes);
                        moved = true;
                    }
                    DesktopEngineOutput::Data(d) => got_a.extend(d),
                    DesktopEngineOutput::Notification(e) => panic!("unexpected {e:?}"),
                }
            }
            while let Some(o) = b.poll_output() {
                match o {
                    DesktopEngineOutput::Transmit(bytes) => {
                        a.handle_input(now, &bytes);
                        moved = true;
                    }
                    DesktopEngineOutput::Data(d) => got_b.extend(d),
                    DesktopEngineOutput::Notification(e) => panic!("unexpected {e:?}"),
                }
            }
            if !moved {
                return (got_a, got_b);
            }
        }
    }

    #[test]
    fn carries_the_byte_stream_in_order_both_ways() {
        let (ua, ub) = (
            uri("msrp://a.invalid:1/aa11;tcp"),
            uri("msrp://b.invalid:2/bb22;tcp"),
        );
        let now = Time::from_millis(0);
        let mut a = DesktopEngine::default();
        let mut b = DesktopEngine::default();
        // Pushed before the connection is up: kept for it.
        a.push(now, b"RFB 003.008\n");
        let mut cfg = DesktopEngine::session_config(ua.clone(), vec![ub.clone()], Role::Active);
        cfg.chunk_size = 7;
        a.start(now, MsrpSession::new(cfg, 1));
        b.start(
            now,
            MsrpSession::new(
                DesktopEngine::session_config(ub, vec![ua], Role::Passive),
                2,
            ),
        );
        // Larger than a chunk, and many of them: order is kept.
        let big: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        a.push(now, &big);
        a.push(now, b"tail");
        b.push(now, b"RFB 003.008\n");
        let (got_a, got_b) = settle(&mut a, &mut b, now);
        let mut want = b"RFB 003.008\n".to_vec();
        want.extend(&big);
        want.extend(b"tail");
        assert_eq!(got_b, want);
        assert_eq!(got_a, b"RFB 003.008\n");
    }
}

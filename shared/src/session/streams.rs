//! The session's media streams and stream proposals (the seed's `add_audio`, `add_chat`,
//! `remove_*`, `accept_proposal`, `reject_proposal`) by re-INVITE (RFC 3261 §14, RFC 3264
//! §8.1-§8.2): a new m-line (or a disabled one re-used) proposes a stream, port 0 removes
//! one. Our proposals move the session to PROPOSING until the answer; the peer's to
//! PROPOSED until the application answers, the re-INVITE's transaction held open meanwhile.
//! Removals need nobody's consent and are answered at once.
//!
//! The streams in effect follow the descriptions in effect: after each completed offer/answer
//! [`Session::sync_streams`] starts the streams both sides enabled, updates the others and
//! ends those now disabled, relaying each stream's notifications (sender: the stream).

use super::media::{self, rejected_copy, text};
use super::{Change, ReInvite, Session};
use crate::dialog::uas::Retransmitter;
use crate::notification::{Event, Originator, Sender, SessionState};
use crate::sdp::{Direction, SessionDescription};
use crate::sip::Message;
use crate::stream::{MediaStream, MediaStreamRegistry, StreamConfig, StreamEvent};
use crate::time::Time;
use crate::transaction::TransactionId;
use crate::ua::{Ctx, Error, ALLOW};
use crate::vec_map::VecMap;

/// A stream on one m-line.
#[derive(Debug)]
pub(super) struct Slot {
    stream: Box<dyn MediaStream>,
    started: bool,
    ended: bool,
    /// The MSRP connection and engine of a started chat or file-transfer stream.
    pub(super) link: Option<super::msrp::MsrpLink>,
}

impl Slot {
    pub(super) fn new(stream: Box<dyn MediaStream>) -> Slot {
        Slot {
            stream,
            started: false,
            ended: false,
            link: None,
        }
    }
}

/// The peer's re-INVITE proposing streams, waiting for `accept_proposal`/`reject_proposal`.
#[derive(Debug, Clone)]
pub(super) struct RemoteProposal {
    tx: TransactionId,
    req: Message,
    offer: String,
    /// The m-lines that add a stream, with the stream's type.
    added: Vec<(usize, &'static str)>,
}

/// How sending a re-INVITE went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sent {
    /// It is on its way.
    Yes,
    /// The dialog has an INVITE in progress: later.
    NotNow,
    /// It could not be sent.
    Failed,
}

/// The name of m-line `index`: its stream type, else its media type.
fn name_at(registry: &MediaStreamRegistry, sd: &SessionDescription, index: usize) -> String {
    registry
        .classify(sd, index)
        .map(str::to_string)
        .or_else(|| sd.media.get(index).map(|m| m.media.as_str().to_string()))
        .unwrap_or_default()
}

/// The names of the enabled m-lines of `sdp` (SIPSessionNewOutgoing/NewIncoming).
pub(super) fn names_of(registry: &MediaStreamRegistry, sdp: &str) -> Vec<String> {
    let Some(sd) = media::parse(sdp) else {
        return Vec::new();
    };
    (0..sd.media.len())
        .filter(|i| !sd.media[*i].is_rejected())
        .map(|i| name_at(registry, &sd, i))
        .collect()
}

impl Session {
    /// The configuration of a new stream of this session: the user agent's host and a
    /// token unique to the stream.
    pub(super) fn stream_config(&mut self, ctx: &Ctx) -> StreamConfig {
        self.stream_seq += 1;
        let (host, port) = match &ctx.cfg.msrp_listen {
            Some((h, p)) if h.contains(':') && !h.starts_with('[') => (format!("[{h}]"), *p),
            Some((h, p)) => (h.clone(), *p),
            None => (ctx.local_host.clone(), 2855),
        };
        let mut cfg = StreamConfig::new(host, format!("{}{}", self.local_tag, self.stream_seq));
        cfg.msrp_port = port;
        cfg.tls = ctx.cfg.msrp_tls;
        cfg.relay_path.clone_from(&ctx.cfg.msrp_relay_path);
        cfg
    }

    /// A new stream of type `t` for our offer: a file-transfer stream sends the file
    /// selected by `connect_file`/`add_file`, if any.
    fn offer_stream(
        &mut self,
        ctx: &Ctx,
        t: &str,
        cfg: &StreamConfig,
    ) -> Option<Box<dyn MediaStream>> {
        if t == crate::stream::FILE_TRANSFER {
            if let Some(selector) = self.file_offer.take() {
                return Some(Box::new(crate::stream::FileTransferStream::sending(
                    cfg, &selector,
                )));
            }
        }
        if t == crate::stream::DESKTOP_SHARING {
            if let Some(rfbsetup) = self.take_desktop_offer(ctx) {
                return Some(Box::new(
                    crate::stream::DesktopSharingStream::with_rfbsetup(cfg, rfbsetup),
                ));
            }
        }
        ctx.registry.create(t, cfg)
    }

    /// The types of the streams in effect, in m-line order (`audio`, `chat`, ...; an m-line
    /// no registered type takes is named by its media type).
    pub fn streams(&self) -> Vec<&str> {
        self.active_streams
            .iter()
            .map(|(_, n)| n.as_str())
            .collect()
    }

    /// The seed's `has_audio`: an audio stream is in effect.
    pub fn has_audio(&self) -> bool {
        self.streams().contains(&crate::stream::AUDIO)
    }

    /// The seed's `has_chat`: a chat stream is in effect.
    pub fn has_chat(&self) -> bool {
        self.streams().contains(&crate::stream::CHAT)
    }

    /// The stream object on m-line `index`, if the registry knows its type.
    pub fn stream(&self, index: usize) -> Option<&dyn MediaStream> {
        self.streams
            .get(index)?
            .as_ref()
            .filter(|s| !s.ended)
            .map(|s| s.stream.as_ref())
    }

    /// The types the peer proposes while PROPOSED.
    pub fn proposed_streams(&self) -> Vec<&'static str> {
        self.proposal
            .as_ref()
            .map(|p| p.added.iter().map(|(_, t)| *t).collect())
            .unwrap_or_default()
    }

    /// Builds the first offer from streams of `types` (one m-line each).
    pub(super) fn initial_offer(&mut self, ctx: &mut Ctx, types: &[&str]) -> String {
        let mut sd = media::empty_description(&mut ctx.rng, &ctx.local_host);
        for t in types {
            let cfg = self.stream_config(ctx);
            if let Some(stream) = self.offer_stream(ctx, t, &cfg) {
                sd.media.push(stream.get_local_media(true));
                self.streams.push(Some(Slot::new(stream)));
            }
        }
        text(&sd)
    }

    /// Builds our answer to the initial offer, taking the first offered stream of each type
    /// in `accept`; `None` when the offer does not parse.
    pub(super) fn initial_answer(
        &mut self,
        ctx: &mut Ctx,
        offer: &str,
        accept: &[&str],
    ) -> Option<String> {
        let offer = media::parse(offer)?;
        let mut sd = media::empty_description(&mut ctx.rng, &ctx.local_host);
        let mut taken: Vec<&'static str> = Vec::new();
        self.streams.clear();
        for i in 0..offer.media.len() {
            let cfg = self.stream_config(ctx);
            let stream = ctx
                .registry
                .new_from_sdp(&cfg, &offer, i)
                .filter(|s| accept.contains(&s.stream_type()))
                .filter(|s| !taken.contains(&s.stream_type()));
            match stream {
                Some(s) => {
                    taken.push(s.stream_type());
                    sd.media.push(s.get_local_media(false));
                    self.streams.push(Some(Slot::new(s)));
                }
                None => {
                    sd.media.push(rejected_copy(&offer.media[i]));
                    self.streams.push(None);
                }
            }
        }
        Some(text(&sd))
    }

    /// Brings the stream objects in line with the descriptions in effect; `true` when the
    /// set of streams in effect changed.
    pub(super) fn sync_streams(&mut self, ctx: &mut Ctx) -> bool {
        let local = self.media.local_sd();
        let remote = self.media.remote.as_deref().and_then(media::parse);
        let (Some(local), Some(remote)) = (local, remote) else {
            return false;
        };
        let n = local.media.len().max(self.streams.len());
        self.streams.resize_with(n, || None);
        let mut names = Vec::new();
        for i in 0..n {
            let active = local.media.get(i).is_some_and(|m| !m.is_rejected())
                && remote.media.get(i).is_some_and(|m| !m.is_rejected());
            if !active {
                self.end_link(ctx, i);
                if let Some(mut slot) = self.streams[i].take() {
                    if slot.started && !slot.ended {
                        slot.stream.end();
                        self.relay(ctx, i, &mut slot);
                    }
                }
                continue;
            }
            if self.streams[i].is_none() {
                let cfg = self.stream_config(ctx);
                let stream = ctx
                    .registry
                    .new_from_sdp(&cfg, &remote, i)
                    .or_else(|| ctx.registry.new_from_sdp(&cfg, &local, i));
                self.streams[i] = stream.map(Slot::new);
            }
            let Some(mut slot) = self.streams[i].take() else {
                names.push((i, name_at(&ctx.registry, &remote, i)));
                continue;
            };
            if !slot.started {
                slot.started = true;
                if self.on_hold_by_local && slot.stream.hold_supported() {
                    slot.stream.hold();
                }
                slot.stream.initialize(self.direction);
                slot.stream.start(&local, &remote, i);
                self.relay(ctx, i, &mut slot);
                if !slot.ended {
                    // A chat or file transfer now needs its MSRP connection.
                    slot.link = self.new_link(ctx, slot.stream.stream_type(), &local, &remote, i);
                }
            } else if !slot.ended {
                slot.stream.update(&local, &remote, i);
            }
            self.relay(ctx, i, &mut slot);
            if !slot.ended {
                names.push((i, slot.stream.stream_type().to_string()));
            }
            self.streams[i] = Some(slot);
        }
        let changed = names
            .iter()
            .map(|(_, n)| n)
            .ne(self.active_streams.iter().map(|(_, n)| n));
        self.active_streams = names;
        changed
    }

    /// Relays a stream's notifications.
    fn relay(&self, ctx: &mut Ctx, index: usize, slot: &mut Slot) {
        let stream_type = slot.stream.stream_type();
        while let Some(e) = slot.stream.poll_event() {
            if e == StreamEvent::DidEnd {
                slot.ended = true;
            }
            let sender = Sender::Stream {
                session: self.id,
                index,
            };
            ctx.notify(sender, e.to_event(stream_type));
        }
    }

    /// Ends every stream (the session is over).
    pub(super) fn end_streams(&mut self, ctx: &mut Ctx) {
        for i in 0..self.streams.len() {
            self.end_link(ctx, i);
            if let Some(mut slot) = self.streams[i].take() {
                if slot.started && !slot.ended {
                    slot.stream.end();
                    self.relay(ctx, i, &mut slot);
                }
            }
        }
        self.active_streams.clear();
    }

    /// Tells the streams that support hold about our hold.
    pub(super) fn hold_streams(&mut self, hold: bool) {
        for slot in self.streams.iter_mut().flatten() {
            if slot.stream.hold_supported() {
                if hold {
                    slot.stream.hold();
                } else {
                    slot.stream.unhold();
                }
            }
        }
    }

    /// The seed's `add_audio`/`add_chat`: SIPSessionGotStreamProposal, ESTABLISHED →
    /// PROPOSING, and the re-INVITE as soon as the dialog allows.
    pub(crate) fn add_stream(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        stream_type: &str,
    ) -> Result<(), Error> {
        if self.state != SessionState::Established {
            return Err(Error::InvalidState(self.state.name()));
        }
        let Some(t) = ctx.registry.get(stream_type).map(|f| f.stream_type) else {
            return Err(Error::UnknownStreamType(stream_type.to_string()));
        };
        if self.streams().contains(&t) {
            return Err(Error::StreamExists(t.to_string()));
        }
        if self.media.local_sd().is_none() {
            return Err(Error::InvalidState(
                "ESTABLISHED without a parsable local SDP",
            ));
        }
        self.want_add = vec![t];
        self.notify(
            ctx,
            Event::SIPSessionGotStreamProposal {
                proposer: Originator::Local,
                streams: vec![t.to_string()],
            },
        );
        self.set_state(ctx, SessionState::Proposing);
        self.sync_hold(ctx, now);
        Ok(())
    }

    /// The seed's `remove_audio`/`remove_chat`: a re-INVITE disabling the stream's m-line;
    /// SIPSessionGotStreamUpdate once it is answered.
    pub(crate) fn remove_stream(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        stream_type: &str,
    ) -> Result<(), Error> {
        if self.state != SessionState::Established {
            return Err(Error::InvalidState(self.state.name()));
        }
        let Some(t) = ctx.registry.get(stream_type).map(|f| f.stream_type) else {
            return Err(Error::UnknownStreamType(stream_type.to_string()));
        };
        if !self.streams().contains(&t) {
            return Err(Error::NoSuchStream(t.to_string()));
        }
        if !self.want_remove.contains(&t) {
            self.want_remove.push(t);
        }
        self.sync_hold(ctx, now);
        Ok(())
    }

    /// Sends a re-INVITE offering `offer` for `change`.
    pub(super) fn send_reinvite(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        offer: String,
        change: Change,
    ) -> Sent {
        let via = ctx.new_via();
        let Some(dialog) = self.dialog.as_mut().filter(|d| d.can_invite()) else {
            return Sent::NotNow;
        };
        let mut req = dialog.request("INVITE", via);
        let seq = dialog.local_seq();
        req.push_header("Allow", ALLOW);
        req.set_body("application/sdp", offer.clone().into_bytes());
        match ctx.send_request(now, req) {
            Some(tx) => {
                self.reinvite = Some(ReInvite {
                    tx,
                    seq,
                    offer,
                    change,
                });
                Sent::Yes
            }
            None => {
                dialog.invite_out_done();
                Sent::Failed
            }
        }
    }

    /// Sends our proposal: the streams of `want_add` on disabled m-lines or new ones.
    pub(super) fn send_proposal(&mut self, ctx: &mut Ctx, now: Time) {
        let Some(mut sd) = self.media.local_sd() else {
            self.end_local_proposal(ctx, "no local description");
            return;
        };
        let mut added: Vec<(usize, Box<dyn MediaStream>)> = Vec::new();
        for t in self.want_add.clone() {
            let cfg = self.stream_config(ctx);
            let Some(mut stream) = self.offer_stream(ctx, t, &cfg) else {
                continue;
            };
            if self.on_hold_by_local && stream.hold_supported() {
                stream.hold();
            }
            let line = stream.get_local_media(true);
            let free = (0..sd.media.len())
                .find(|i| sd.media[*i].is_rejected() && !added.iter().any(|(a, _)| a == i));
            let index = match free {
                Some(i) => {
                    sd.media[i] = line;
                    i
                }
                None => {
                    sd.media.push(line);
                    sd.media.len() - 1
                }
            };
            added.push((index, stream));
        }
        sd.increment_version();
        if self.send_reinvite(ctx, now, text(&sd), Change::Add(added)) == Sent::Failed {
            self.end_local_proposal(ctx, "cannot send the re-INVITE");
        }
    }

    /// Sends the re-INVITE disabling the streams of `want_remove`.
    pub(super) fn send_removal(&mut self, ctx: &mut Ctx, now: Time) {
        let Some(mut sd) = self.media.local_sd() else {
            self.want_remove.clear();
            return;
        };
        let mut removed = Vec::new();
        for t in &self.want_remove {
            let index = self
                .active_streams
                .iter()
                .find(|(i, n)| n == t && !removed.contains(i))
                .map(|(i, _)| *i);
            if let Some(m) = index.and_then(|i| sd.media.get_mut(i)) {
                m.reject();
                removed.extend(index);
            }
        }
        if removed.is_empty() {
            self.want_remove.clear();
            return;
        }
        sd.increment_version();
        if self.send_reinvite(ctx, now, text(&sd), Change::Remove) == Sent::Failed {
            self.want_remove.clear();
        }
    }

    /// Our proposal is over without a stream added: PROPOSING → ESTABLISHED,
    /// SIPSessionRejectedStreamProposal.
    pub(super) fn end_local_proposal(&mut self, ctx: &mut Ctx, reason: &str) {
        self.want_add.clear();
        if self.state != SessionState::Proposing {
            return;
        }
        self.set_state(ctx, SessionState::Established);
        self.notify(
            ctx,
            Event::SIPSessionRejectedStreamProposal {
                proposer: Originator::Local,
                reason: reason.to_string(),
            },
        );
    }

    /// The 2xx to our proposal: the streams the answer enabled join the session.
    pub(super) fn on_proposal_answered(
        &mut self,
        ctx: &mut Ctx,
        added: Vec<(usize, Box<dyn MediaStream>)>,
    ) {
        self.want_add.clear();
        let answer = self.media.remote.as_deref().and_then(media::parse);
        let mut accepted = false;
        for (i, stream) in added {
            let enabled = answer
                .as_ref()
                .and_then(|a| a.media.get(i))
                .is_some_and(|m| !m.is_rejected());
            if self.streams.len() <= i {
                self.streams.resize_with(i + 1, || None);
            }
            if enabled {
                accepted = true;
                self.media.set_base(i, Direction::SendRecv);
                self.streams[i] = Some(Slot::new(stream));
            }
        }
        if self.state != SessionState::Proposing {
            // The application hung up meanwhile: no news.
            self.sync_streams(ctx);
            return;
        }
        self.set_state(ctx, SessionState::Established);
        if accepted {
            self.notify(
                ctx,
                Event::SIPSessionAcceptedStreamProposal {
                    proposer: Originator::Local,
                },
            );
            self.sync_streams(ctx);
            self.notify_stream_update(ctx);
        } else {
            self.notify(
                ctx,
                Event::SIPSessionRejectedStreamProposal {
                    proposer: Originator::Local,
                    reason: "rejected by the remote party".to_string(),
                },
            );
            if self.sync_streams(ctx) {
                self.notify_stream_update(ctx);
            }
        }
    }

    pub(super) fn notify_stream_update(&self, ctx: &mut Ctx) {
        let streams = self.streams().iter().map(|s| s.to_string()).collect();
        self.notify(ctx, Event::SIPSessionGotStreamUpdate { streams });
    }

    /// The m-lines of the peer's re-offer that add a stream of a registered type: enabled
    /// where our m-line is missing, disabled or of another media type.
    pub(super) fn offered_additions(
        &self,
        ctx: &Ctx,
        offer: &SessionDescription,
    ) -> Vec<(usize, &'static str)> {
        let local = self.media.local_sd();
        let ours = local
            .as_ref()
            .map(|l| l.media.as_slice())
            .unwrap_or_default();
        (0..offer.media.len())
            .filter(|i| {
                let theirs = &offer.media[*i];
                !theirs.is_rejected()
                    && ours
                        .get(*i)
                        .is_none_or(|m| m.is_rejected() || m.media != theirs.media)
            })
            .filter_map(|i| ctx.registry.classify(offer, i).map(|t| (i, t)))
            .collect()
    }

    /// The peer's re-INVITE adds streams: ESTABLISHED → PROPOSED after
    /// SIPSessionGotStreamProposal; its transaction waits for the application.
    pub(super) fn on_remote_proposal(
        &mut self,
        ctx: &mut Ctx,
        tx: TransactionId,
        req: &Message,
        added: Vec<(usize, &'static str)>,
    ) {
        let streams = added.iter().map(|(_, t)| t.to_string()).collect();
        self.proposal = Some(RemoteProposal {
            tx,
            req: req.clone(),
            offer: String::from_utf8_lossy(&req.body).into_owned(),
            added,
        });
        self.notify(
            ctx,
            Event::SIPSessionGotStreamProposal {
                proposer: Originator::Remote,
                streams,
            },
        );
        self.set_state(ctx, SessionState::Proposed);
    }

    /// The seed's `accept_proposal`: the 2xx enabling the accepted streams (port 0 for the
    /// others), PROPOSED → ESTABLISHED, SIPSessionAcceptedStreamProposal and
    /// SIPSessionGotStreamUpdate. Accepting nothing is `reject_proposal`.
    pub(crate) fn accept_proposal(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        accept: &[&str],
    ) -> Result<(), Error> {
        if self.state != SessionState::Proposed {
            return Err(Error::InvalidState(self.state.name()));
        }
        let proposed = self.proposed_streams();
        if let Some(t) = accept.iter().find(|t| !proposed.contains(t)) {
            return Err(Error::StreamNotProposed(t.to_string()));
        }
        if accept.is_empty() {
            return self.reject_proposal(ctx, now);
        }
        let Some(p) = self.proposal.take() else {
            return Err(Error::InvalidState(self.state.name()));
        };
        let Some(offer) = media::parse(&p.offer) else {
            self.proposal = Some(p);
            return self.reject_proposal(ctx, now);
        };
        let mut lines = VecMap::new();
        let mut streams = Vec::new();
        for (i, t) in &p.added {
            if !accept.contains(t)
                || streams
                    .iter()
                    .any(|(_, s): &(usize, Box<dyn MediaStream>)| s.stream_type() == *t)
            {
                continue;
            }
            let cfg = self.stream_config(ctx);
            if let Some(mut s) = ctx.registry.new_from_sdp(&cfg, &offer, *i) {
                if self.on_hold_by_local && s.hold_supported() {
                    s.hold();
                }
                lines.insert(*i, s.get_local_media(false));
                streams.push((*i, s));
            }
        }
        let answer = self
            .media
            .answer_offer(&p.offer, self.on_hold_by_local, &lines);
        let Some(answer) = answer.filter(|_| !streams.is_empty()) else {
            self.proposal = Some(p);
            return self.reject_proposal(ctx, now);
        };
        let mut ok = self.in_dialog_response(ctx, &p.req, 200, "OK");
        ok.push_header("Allow", ALLOW);
        ok.set_body("application/sdp", answer.clone().into_bytes());
        if let Some(d) = self.dialog.as_mut() {
            d.invite_in_done();
        }
        ctx.respond(now, p.tx, ok.clone());
        self.retransmit = Some((p.tx, Retransmitter::new(now, ok, ctx.timers())));
        for (i, s) in streams {
            if self.streams.len() <= i {
                self.streams.resize_with(i + 1, || None);
            }
            self.media.set_base(i, Direction::SendRecv);
            self.streams[i] = Some(Slot::new(s));
        }
        self.set_state(ctx, SessionState::Established);
        self.notify(
            ctx,
            Event::SIPSessionAcceptedStreamProposal {
                proposer: Originator::Remote,
            },
        );
        // The new streams start; SIPSessionGotStreamUpdate follows.
        self.apply_remote_offer(ctx, answer, Some(p.offer));
        Ok(())
    }

    /// The seed's `reject_proposal`: 488 to the re-INVITE (the descriptions stay as they
    /// were, RFC 3261 §14.2), PROPOSED → ESTABLISHED, SIPSessionRejectedStreamProposal.
    pub(crate) fn reject_proposal(&mut self, ctx: &mut Ctx, now: Time) -> Result<(), Error> {
        if self.state != SessionState::Proposed {
            return Err(Error::InvalidState(self.state.name()));
        }
        self.close_remote_proposal(ctx, now, 488, "Not Acceptable Here");
        self.set_state(ctx, SessionState::Established);
        self.notify(
            ctx,
            Event::SIPSessionRejectedStreamProposal {
                proposer: Originator::Remote,
                reason: "rejected by the local party".to_string(),
            },
        );
        Ok(())
    }

    /// Answers the pending remote proposal with a failure `code`, if there is one.
    pub(super) fn close_remote_proposal(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        code: u16,
        reason: &str,
    ) -> bool {
        let Some(p) = self.proposal.take() else {
            return false;
        };
        if let Some(d) = self.dialog.as_mut() {
            d.invite_in_done();
        }
        let r = self.in_dialog_response(ctx, &p.req, code, reason);
        ctx.respond(now, p.tx, r);
        true
    }

    /// Whether `tx` is the re-INVITE of the pending remote proposal.
    pub(super) fn is_proposal_tx(&self, tx: TransactionId) -> bool {
        self.proposal.as_ref().is_some_and(|p| p.tx == tx)
    }
}

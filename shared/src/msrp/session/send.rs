//! The sending half of [`MsrpSession`]: chunking outgoing messages (RFC 4975 §7.1.1),
//! their transactions and timeouts, and the responses and REPORTs (§7.1.2) that tell
//! whether they arrived.

use super::{
    comment, MsrpSession, Outgoing, Output, SendError, SendOptions, SessionError, SessionEvent,
    Source, Transaction,
};
use crate::msrp::chunk::ChunkSender;
use crate::msrp::header::{is_ident, FailureReport};
use crate::msrp::message::{Flag, Frame, StartLine};
use crate::time::Time;

impl MsrpSession {
    /// Sends a message of `total` bytes whose content the application supplies piece by
    /// piece: the session asks with [`Output::NeedData`] and takes each piece with
    /// [`push_data`](Self::push_data). Returns the Message-ID.
    pub fn send_message(
        &mut self,
        now: Time,
        opts: SendOptions,
        total: u64,
    ) -> Result<String, SendError> {
        self.resume_message(now, opts, total, 0)
    }

    /// Sends a message held in memory (a chat message), chunked as
    /// [`SessionConfig::chunk_size`](super::SessionConfig::chunk_size) says. Returns the
    /// Message-ID.
    pub fn send_bytes(
        &mut self,
        now: Time,
        opts: SendOptions,
        body: Vec<u8>,
    ) -> Result<String, SendError> {
        self.now = now;
        let total = u64::try_from(body.len()).unwrap_or(u64::MAX);
        let opts = self.check_new(opts, total)?;
        let o = self.make_outgoing(opts, total, 0, Source::Memory(body));
        let id = o.id.clone();
        self.outgoing.push(o);
        Ok(id)
    }

    /// Sends the rest of a streamed message from byte `offset` (0-based), for a receiver
    /// that reported holding the first `offset` bytes (its
    /// [`SessionEvent::MessageAborted`] `prefix`, or
    /// [`incoming_progress`](Self::incoming_progress)). Give the original Message-ID in
    /// `opts` so that the receiver adds the bytes to the same message.
    pub fn resume_message(
        &mut self,
        now: Time,
        opts: SendOptions,
        total: u64,
        offset: u64,
    ) -> Result<String, SendError> {
        self.now = now;
        let opts = self.check_new(opts, total)?;
        let o = self.make_outgoing(opts, total, offset, Source::Stream { requested: None });
        let id = o.id.clone();
        self.outgoing.push(o);
        Ok(id)
    }

    /// Gives the piece asked for by the last [`Output::NeedData`] of `message_id`:
    /// `1..=max_len` bytes from its `offset`. Fewer bytes than `max_len` are fine (the
    /// next request starts after them). The chunk is ready in [`poll_output`](Self::poll_output).
    pub fn push_data(&mut self, now: Time, message_id: &str, data: &[u8]) -> Result<(), SendError> {
        self.now = now;
        if self.closed {
            return Err(SendError::Closed);
        }
        let i = self
            .outgoing_index(message_id)
            .ok_or(SendError::UnknownMessage)?;
        let o = self.outgoing.get_mut(i).ok_or(SendError::UnknownMessage)?;
        let Source::Stream { requested } = &mut o.source else {
            return Err(SendError::NoDataRequested);
        };
        let (_, max_len) = requested.ok_or(SendError::NoDataRequested)?;
        if data.is_empty() || data.len() > max_len {
            return Err(SendError::BadLength {
                len: data.len(),
                max_len,
            });
        }
        *requested = None;
        let frame = o
            .sender
            .chunk(&mut self.rng, data)
            .map_err(|_| SendError::NoDataRequested)?;
        self.emit_chunk(i, frame);
        Ok(())
    }

    /// Abandons an outgoing message: when chunks remain, the receiver is told with an
    /// empty chunk ending in `#` (§7.1.1). No event follows for it.
    pub fn abort(&mut self, now: Time, message_id: &str) -> Result<(), SendError> {
        self.now = now;
        let i = self
            .outgoing_index(message_id)
            .ok_or(SendError::UnknownMessage)?;
        let mut o = self.remove_outgoing(i);
        if !self.closed {
            if let Some(f) = o.sender.abort(&mut self.rng) {
                self.transmit(&f);
            }
        }
        Ok(())
    }

    /// Content bytes of an outgoing message put in chunks so far (a resumed message
    /// counts from its offset), or `None` when it is not in progress.
    pub fn bytes_sent(&self, message_id: &str) -> Option<u64> {
        self.outgoing_index(message_id)
            .and_then(|i| self.outgoing.get(i))
            .map(|o| o.sender.bytes_sent())
    }

    fn check_new(&mut self, mut opts: SendOptions, total: u64) -> Result<SendOptions, SendError> {
        if self.closed {
            return Err(SendError::Closed);
        }
        if total > 0 && opts.content_type.is_none() {
            return Err(SendError::MissingContentType);
        }
        match &opts.message_id {
            Some(id) if !is_ident(id) => return Err(SendError::BadMessageId),
            Some(id) if self.outgoing_index(id).is_some() => {
                return Err(SendError::DuplicateMessageId)
            }
            Some(_) => {}
            None => opts.message_id = Some(self.rng.token(16)),
        }
        Ok(opts)
    }

    pub(super) fn make_outgoing(
        &mut self,
        opts: SendOptions,
        total: u64,
        offset: u64,
        source: Source,
    ) -> Outgoing {
        let id = opts.message_id.unwrap_or_else(|| self.rng.token(16));
        let message = crate::msrp::chunk::OutgoingMessage {
            to_path: self.cfg.to_path.clone(),
            from_path: vec![self.cfg.local_uri.clone()],
            message_id: id.clone(),
            content_type: opts.content_type,
            // Written only where they differ from RFC 4975's defaults.
            success_report: opts.success_report.then_some(true),
            failure_report: (opts.failure_report != FailureReport::Yes)
                .then_some(opts.failure_report),
            headers: opts.headers,
        };
        let sender = ChunkSender::new(message, Some(total), self.cfg.chunk_size).resume_at(offset);
        Outgoing {
            id,
            sender,
            source,
            total,
            success_report: opts.success_report,
            failure_report: opts.failure_report,
            bind: false,
            reported: Default::default(),
            last_acked: false,
        }
    }

    pub(super) fn outgoing_index(&self, message_id: &str) -> Option<usize> {
        self.outgoing.iter().position(|o| o.id == message_id)
    }

    /// Drops an outgoing message and its transactions.
    fn remove_outgoing(&mut self, i: usize) -> Outgoing {
        let o = self.outgoing.remove(i);
        self.transactions.retain(|_, t| t.message_id != o.id);
        if self.cursor > i {
            self.cursor -= 1;
        }
        o
    }

    /// Cuts the next chunk or asks for the next piece of data: at most one output, taking
    /// turns between messages. `false` when there is nothing to do (or the window of
    /// transactions awaiting a response is full).
    pub(super) fn schedule(&mut self) -> bool {
        if self.closed {
            return false;
        }
        let in_flight = self.transactions.values().filter(|t| !t.silent).count();
        if in_flight >= self.cfg.max_in_flight {
            return false;
        }
        let n = self.outgoing.len();
        for k in 0..n {
            let i = (self.cursor + k) % n;
            let Some(o) = self.outgoing.get_mut(i) else {
                continue;
            };
            let Some(len) = o.sender.next_len() else {
                continue;
            };
            let offset = o.sender.bytes_sent();
            let piece = match &mut o.source {
                Source::Memory(body) => {
                    let start = usize::try_from(offset).unwrap_or(usize::MAX);
                    body.get(start..start.saturating_add(len))
                        .unwrap_or_default()
                        .to_vec()
                }
                Source::Stream { requested } => {
                    if len > 0 {
                        if requested.is_some() {
                            continue;
                        }
                        *requested = Some((offset, len));
                        self.cursor = i + 1;
                        self.out.push_back(Output::NeedData {
                            message_id: o.id.clone(),
                            offset,
                            max_len: len,
                        });
                        return true;
                    }
                    Vec::new()
                }
            };
            self.cursor = i + 1;
            match o.sender.chunk(&mut self.rng, &piece) {
                Ok(frame) => {
                    if frame.flag == Flag::End {
                        // The content is all in chunks: free it.
                        o.source = Source::Memory(Vec::new());
                    }
                    self.emit_chunk(i, frame);
                }
                Err(_) => {
                    // A memory body shorter than its total cannot happen (the total is
                    // its length); fail the message rather than loop.
                    let id = o.id.clone();
                    self.fail_outgoing(&id, 400, "Bad Request");
                }
            }
            return true;
        }
        false
    }

    /// Queues a chunk of outgoing message `i`, opening its transaction.
    fn emit_chunk(&mut self, i: usize, frame: Frame) {
        let Some(o) = self.outgoing.get(i) else {
            return;
        };
        let offset = frame.byte_range.map_or(0, |r| r.start.saturating_sub(1));
        let len = u64::try_from(frame.body().len()).unwrap_or(u64::MAX);
        let last = frame.flag == Flag::End;
        if o.failure_report != FailureReport::No {
            self.transactions.insert(
                frame.tid.clone(),
                Transaction {
                    message_id: o.id.clone(),
                    offset,
                    len,
                    last,
                    deadline: self.now + self.cfg.transaction_timeout,
                    silent: o.failure_report == FailureReport::Partial,
                },
            );
        }
        let (id, bind, success_report, failure_report) =
            (o.id.clone(), o.bind, o.success_report, o.failure_report);
        self.transmit(&frame);
        if last && !bind {
            self.event(SessionEvent::Sent {
                message_id: id.clone(),
            });
            if failure_report == FailureReport::No && !success_report {
                // Nothing can tell whether it arrived.
                self.remove_outgoing(i);
            }
        }
    }

    /// A transaction response arrived (§7.2).
    pub(super) fn on_response(&mut self, frame: Frame) {
        let Some(t) = self.transactions.remove(&frame.tid) else {
            // A response to an abort, to a message given up, or a stray one.
            return;
        };
        let code = frame.code().unwrap_or(0);
        let reason = match &frame.start {
            StartLine::Response {
                comment: Some(c), ..
            } => c.clone(),
            _ => comment(code).to_string(),
        };
        let Some(i) = self.outgoing_index(&t.message_id) else {
            return;
        };
        if code != 200 {
            self.fail_outgoing(&t.message_id, code, &reason);
            return;
        }
        if self.outgoing.get(i).is_some_and(|o| o.bind) {
            self.remove_outgoing(i);
            self.mark_bound();
            return;
        }
        self.event(SessionEvent::ChunkDelivered {
            message_id: t.message_id.clone(),
            offset: t.offset,
            len: t.len,
        });
        if let Some(o) = self.outgoing.get_mut(i) {
            o.last_acked |= t.last;
        }
        self.check_delivered(&t.message_id, &reason);
    }

    /// A REPORT arrived (§7.1.2). REPORTs are never answered.
    pub(super) fn on_report(&mut self, frame: Frame) {
        if !self.is_ours(&frame) {
            self.event(SessionEvent::Error(SessionError::WrongSession {
                tid: frame.tid.clone(),
            }));
            return;
        }
        self.mark_bound();
        let (Some(id), Some(status)) = (&frame.message_id, &frame.status) else {
            self.event(SessionEvent::Error(SessionError::BadRequest {
                tid: frame.tid.clone(),
                reason: "REPORT without Message-ID or Status",
            }));
            return;
        };
        let reason = status
            .comment
            .clone()
            .unwrap_or_else(|| comment(status.code).to_string());
        let Some(i) = self.outgoing_index(id) else {
            return;
        };
        if status.code != 200 {
            self.fail_outgoing(id, status.code, &reason);
            return;
        }
        if let Some(o) = self.outgoing.get_mut(i) {
            let (a, b) = match frame.byte_range {
                Some(r) => (r.start.saturating_sub(1), r.end.unwrap_or(o.total)),
                None => (0, o.total),
            };
            o.reported.insert(a, b);
        }
        self.check_delivered(id, &reason);
    }

    /// Forgets a fully sent `partial` message without Success-Report once no negative
    /// response can come any more: nothing will tell whether it arrived.
    pub(super) fn forget_if_done(&mut self, message_id: &str) {
        let Some(i) = self.outgoing_index(message_id) else {
            return;
        };
        let done = self.outgoing.get(i).is_some_and(|o| {
            !o.success_report
                && o.sender.is_finished()
                && !self.transactions.values().any(|t| t.message_id == o.id)
        });
        if done {
            self.remove_outgoing(i);
        }
    }

    /// Reports an outgoing message delivered once all the evidence is in.
    fn check_delivered(&mut self, message_id: &str, reason: &str) {
        let Some(i) = self.outgoing_index(message_id) else {
            return;
        };
        let Some(o) = self.outgoing.get(i) else {
            return;
        };
        let done = if o.success_report {
            o.reported.covers(o.total)
        } else {
            o.last_acked && !self.transactions.values().any(|t| t.message_id == o.id)
        };
        if done {
            self.remove_outgoing(i);
            self.event(SessionEvent::Delivered {
                message_id: message_id.to_string(),
                code: 200,
                reason: reason.to_string(),
            });
        }
    }

    /// Gives up an outgoing message with `code`.
    pub(super) fn fail_outgoing(&mut self, message_id: &str, code: u16, reason: &str) {
        let Some(i) = self.outgoing_index(message_id) else {
            return;
        };
        let o = self.remove_outgoing(i);
        let reason = reason.to_string();
        self.event(if o.bind {
            SessionEvent::BindFailed { code, reason }
        } else {
            SessionEvent::DeliveryFailed {
                message_id: o.id,
                code,
                reason,
            }
        });
    }
}

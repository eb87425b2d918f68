//! The receiving half of [`MsrpSession`]: checking and answering incoming SEND requests
//! (RFC 4975 §7.2, §7.3), following their chunks, interleaved or not (§7.1.1, §7.3.1), and
//! the success REPORTs asked for (§7.1.2).

use super::{
    comment, type_accepted, Incoming, IncomingProgress, MsrpSession, SessionError, SessionEvent,
    MAX_REFUSED,
};
use crate::msrp::chunk::MAX_RANGES;
use crate::msrp::header::ByteRange;
use crate::msrp::message::{Flag, Frame};

impl MsrpSession {
    /// Tells the session that the application already holds the first `prefix` bytes of
    /// incoming message `message_id` (from an interrupted transfer, RFC 5547 §9), so that
    /// the message completes once the sender resumes from there
    /// ([`resume_message`](Self::resume_message)). `total` is its size, when known. Such a
    /// message is delivered chunk by chunk only: its [`SessionEvent::MessageReceived`] has
    /// no body.
    pub fn resume_incoming(&mut self, message_id: &str, prefix: u64, total: Option<u64>) {
        let m = self.incoming.get_or_default(message_id.to_string());
        m.buffer = None;
        m.total = m.total.or(total);
        m.ranges.insert(0, prefix);
    }

    /// What was received of an incoming message in progress.
    pub fn incoming_progress(&self, message_id: &str) -> Option<IncomingProgress> {
        self.incoming.get(message_id).map(|m| IncomingProgress {
            received: m.ranges.covered(),
            prefix: m.ranges.prefix(),
            total: m.total,
        })
    }

    /// Forgets an incoming message in progress (it stalled); `true` if there was one.
    pub fn abandon_incoming(&mut self, message_id: &str) -> bool {
        self.incoming.remove(message_id).is_some()
    }

    /// Answers `frame` with `code`, when its Failure-Report lets us (§7.2).
    fn respond(&mut self, frame: &Frame, code: u16) {
        if let Some(r) = frame.response(code, Some(comment(code))) {
            self.transmit(&r);
        }
    }

    fn bad_request(&mut self, frame: &Frame, reason: &'static str) {
        self.respond(frame, 400);
        self.event(SessionEvent::Error(SessionError::BadRequest {
            tid: frame.tid.clone(),
            reason,
        }));
    }

    /// Refuses message `id` with `code`, now and for its later chunks.
    fn refuse(&mut self, frame: &Frame, id: &str, code: u16) {
        self.respond(frame, code);
        self.incoming.remove(id);
        if self.refused.len() >= MAX_REFUSED {
            self.refused.pop_front();
        }
        self.refused.push_back((id.to_string(), code));
        self.event(SessionEvent::MessageRefused {
            message_id: id.to_string(),
            code,
        });
    }

    /// A SEND arrived: one chunk of a message.
    pub(super) fn on_send(&mut self, mut frame: Frame) {
        if !self.is_ours(&frame) {
            self.event(SessionEvent::Error(SessionError::WrongSession {
                tid: frame.tid.clone(),
            }));
            self.respond(&frame, 481);
            return;
        }
        self.mark_bound();
        let Some(id) = frame.message_id.clone() else {
            self.bad_request(&frame, "SEND without Message-ID");
            return;
        };
        if let Some(&(_, code)) = self.refused.iter().find(|(r, _)| *r == id) {
            self.respond(&frame, code);
            return;
        }
        let known = self.incoming.contains_key(&id);
        if frame.flag == Flag::Abort {
            self.respond(&frame, 200);
            if let Some(m) = self.incoming.remove(&id) {
                self.event(SessionEvent::MessageAborted {
                    message_id: id,
                    received: m.ranges.covered(),
                    prefix: m.ranges.prefix(),
                });
            }
            return;
        }
        let br = frame.byte_range.unwrap_or(ByteRange {
            start: 1,
            end: None,
            total: None,
        });
        // The empty SEND of §5.4 and §7.1.1 binds the connection and carries no message.
        let empty = frame.body.is_none() && frame.content_type.is_none();
        if empty && !known && frame.flag == Flag::End && br.start == 1 {
            self.respond(&frame, 200);
            return;
        }
        // Where the bytes go: the body's length is authoritative, the range-end may lie
        // beyond it only on an interrupted `+` chunk (§7.1.1).
        let len = u64::try_from(frame.body().len()).unwrap_or(u64::MAX);
        let a = br.start.saturating_sub(1);
        let Some(b) = a.checked_add(len) else {
            self.bad_request(&frame, "Byte-Range overflows");
            return;
        };
        let last = frame.flag == Flag::End;
        if br.end.is_some_and(|e| e < b || last && e != b) {
            self.bad_request(&frame, "Byte-Range disagrees with the body");
            return;
        }
        let total = match (br.total, last) {
            (Some(t), true) if t != b => {
                self.bad_request(&frame, "last chunk ends before the total");
                return;
            }
            (_, true) => Some(b),
            (t, false) => t,
        };
        if total.is_some_and(|t| b > t) {
            self.bad_request(&frame, "chunk ends past the total");
            return;
        }
        if let Some(m) = self.incoming.get(&id) {
            let inconsistent = match (m.total, total) {
                (Some(t0), Some(t)) => t0 != t,
                (None, Some(t)) => m.ranges.max_end() > t,
                _ => false,
            };
            if inconsistent {
                self.bad_request(&frame, "chunks disagree on the total");
                return;
            }
        }
        let content_type = frame
            .content_type
            .clone()
            .or_else(|| self.incoming.get(&id).and_then(|m| m.content_type.clone()));
        let accepted = self.cfg.accept_types.is_empty()
            || content_type
                .as_deref()
                .is_none_or(|ct| self.cfg.accept_types.iter().any(|p| type_accepted(p, ct)));
        if !accepted {
            self.refuse(&frame, &id, 415);
            return;
        }
        let too_large = self
            .cfg
            .max_message_size
            .is_some_and(|max| b > max || total.is_some_and(|t| t > max));
        let crowded = !known && self.incoming.len() >= self.cfg.max_incoming;
        let fragmented = self
            .incoming
            .get(&id)
            .is_some_and(|m| m.ranges.len() >= MAX_RANGES);
        if too_large || crowded || fragmented {
            self.refuse(&frame, &id, 413);
            return;
        }
        self.respond(&frame, 200);
        let data = frame.body.take().unwrap_or_default();
        let max_buffered = u64::try_from(self.cfg.max_buffered_size).unwrap_or(u64::MAX);
        let m = self.incoming.get_or_insert_with(id.clone(), || Incoming {
            buffer: Some(Vec::new()),
            ..Incoming::default()
        });
        m.total = m.total.or(total);
        if m.content_type.is_none() || a == 0 {
            m.content_type = content_type.clone();
            m.headers = frame.headers.clone();
        }
        let fits = b <= max_buffered && m.total.is_none_or(|t| t <= max_buffered);
        match (&mut m.buffer, fits) {
            (Some(buf), true) => {
                // Both ends are at most `max_buffered_size`, a usize.
                let (au, bu) = (
                    usize::try_from(a).unwrap_or(0),
                    usize::try_from(b).unwrap_or(0),
                );
                if buf.len() < bu {
                    buf.resize(bu, 0);
                }
                if let Some(dst) = buf.get_mut(au..bu) {
                    dst.copy_from_slice(&data);
                }
            }
            (buffer, _) => *buffer = None,
        }
        m.ranges.insert(a, b);
        let (received, m_total) = (m.ranges.covered(), m.total);
        let complete = m_total.is_some_and(|t| m.ranges.covers(t));
        self.event(SessionEvent::ChunkReceived {
            message_id: id.clone(),
            content_type,
            offset: a,
            data,
            received,
            total: m_total,
        });
        if !complete {
            return;
        }
        let Some(m) = self.incoming.remove(&id) else {
            return;
        };
        let total = m_total.unwrap_or(0);
        let body = m.buffer.map(|mut b| {
            b.truncate(usize::try_from(total).unwrap_or(usize::MAX));
            b
        });
        self.event(SessionEvent::MessageReceived {
            message_id: id,
            content_type: m.content_type,
            headers: m.headers,
            total,
            body,
        });
        // One success REPORT for the whole message (§7.1.2 allows one per chunk or one in
        // all), when asked for.
        if let Some(r) = frame.report(
            &mut self.rng,
            200,
            Some("OK"),
            Some(ByteRange::whole(total)),
        ) {
            self.transmit(&r);
        }
    }
}

//! The UAS side of an INVITE's dialog (RFC 3261 §12.1.1, §13.3.1.4): the dialog-creating
//! responses (our To tag, our Contact, the request's Record-Route) and the retransmission of
//! a 2xx to INVITE until its ACK arrives: the INVITE server transaction does not retransmit
//! 2xx (it is end-to-end), so the UAS core does, every T1 doubling up to T2, and gives up
//! after 64·T1, when the session should end with a BYE.

use super::{cseq_of, is_target_refresh};
use crate::sip::{Message, NameAddr, Uri};
use crate::time::Time;
use crate::transaction::Config;
use core::time::Duration;

/// A response to `req` (RFC 3261 §8.2.6) from the UAS core of a dialog: `local_tag` added to
/// To when the request had none, and for a 101-299 to INVITE or UPDATE our `contact`, plus
/// the request's Record-Route when the response creates the dialog (§12.1.1).
pub fn dialog_response(
    req: &Message,
    code: u16,
    reason: &str,
    local_tag: &str,
    contact: &Uri,
) -> Message {
    let mut r = Message::response_to(req, code, reason);
    let mut creates = false;
    if code > 100 {
        if let Some(mut to) = req.header("To").and_then(|t| NameAddr::parse(t).ok()) {
            if to.tag().is_none() {
                to.set_param("tag", Some(local_tag));
                r.set_header("To", to.to_string());
                creates = true;
            }
        }
    }
    let refresh = req.method().is_some_and(is_target_refresh);
    if (101..300).contains(&code) && refresh {
        if creates {
            for rr in req.header_lines("Record-Route") {
                r.push_header("Record-Route", rr);
            }
        }
        r.push_header("Contact", NameAddr::new(contact.clone()).to_string());
    }
    r
}

/// What a [`Retransmitter`] asks for when its timeout passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retransmit {
    /// Not yet.
    Nothing,
    /// Send the 2xx ([`Retransmitter::response`]) again.
    Resend,
    /// 64·T1 passed without an ACK: the dialog is confirmed but the session should end
    /// with a BYE (§13.3.1.4).
    GiveUp,
}

/// The UAS core's retransmission of one 2xx to INVITE until the ACK (§13.3.1.4).
#[derive(Debug, Clone)]
pub struct Retransmitter {
    response: Message,
    invite_seq: u32,
    interval: Duration,
    t2: Duration,
    next: Time,
    give_up: Time,
}

impl Retransmitter {
    /// Starts retransmitting `response`, sent at `now`, with the timers of `config`.
    pub fn new(now: Time, response: Message, config: &Config) -> Retransmitter {
        let invite_seq = cseq_of(&response).map_or(0, |c| c.seq);
        Retransmitter {
            response,
            invite_seq,
            interval: config.t1,
            t2: config.t2,
            next: now + config.t1,
            give_up: now + config.timeout(),
        }
    }

    /// The 2xx being retransmitted.
    pub fn response(&self) -> &Message {
        &self.response
    }

    /// The CSeq number of the INVITE it answers.
    pub fn invite_seq(&self) -> u32 {
        self.invite_seq
    }

    /// When [`on_timeout`](Self::on_timeout) must next be called.
    pub fn poll_timeout(&self) -> Time {
        self.next.min(self.give_up)
    }

    /// Whether `ack` acknowledges this 2xx: an ACK with the INVITE's CSeq number.
    pub fn is_acked_by(&self, ack: &Message) -> bool {
        ack.method() == Some("ACK") && cseq_of(ack).is_some_and(|c| c.seq == self.invite_seq)
    }

    /// What to do at `now`.
    pub fn on_timeout(&mut self, now: Time) -> Retransmit {
        if now >= self.give_up {
            return Retransmit::GiveUp;
        }
        if now < self.next {
            return Retransmit::Nothing;
        }
        self.interval = self.interval.saturating_mul(2).min(self.t2);
        self.next = now + self.interval;
        Retransmit::Resend
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Message {
        Message::parse(
            b"INVITE sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\n\
              Record-Route: <sip:p1.example;lr>\r\nFrom: <sip:alice@a.example>;tag=a1\r\n\
              To: <sip:bob@b.example>\r\nCall-ID: c1\r\nCSeq: 4 INVITE\r\n\
              Contact: <sip:alice@192.0.2.1>\r\nContent-Length: 0\r\n\r\n",
        )
        .expect("valid")
    }

    #[test]
    fn retransmits_t1_doubling_to_t2_then_gives_up_at_64_t1() {
        let contact = Uri::sip(Some("bob"), "192.0.2.2");
        let ok = dialog_response(&invite(), 200, "OK", "b1", &contact);
        assert_eq!(ok.header("Record-Route"), Some("<sip:p1.example;lr>"));
        assert_eq!(ok.header("Contact"), Some("<sip:bob@192.0.2.2>"));
        let mut r = Retransmitter::new(Time::from_millis(0), ok, &Config::default());
        assert_eq!(r.invite_seq(), 4);
        let mut sent = Vec::new();
        loop {
            let at = r.poll_timeout();
            match r.on_timeout(at) {
                Retransmit::Resend => sent.push(at.as_millis()),
                Retransmit::GiveUp => {
                    assert_eq!(at.as_millis(), 32_000);
                    break;
                }
                Retransmit::Nothing => panic!("woken for nothing at {at:?}"),
            }
        }
        assert_eq!(
            &sent[..6],
            [500, 1_500, 3_500, 7_500, 11_500, 15_500],
            "T1, 2·T1, 4·T1, then T2"
        );
        assert_eq!(sent.last(), Some(&31_500));
    }
}

//! The UAC side of an INVITE's dialogs (RFC 3261 §12.1.2, §13.2.2.4): one early dialog per
//! To tag of the provisional responses (a forking proxy may produce several), the first 2xx
//! confirming its dialog, and a 2xx from any other fork answered with an ACK and a BYE.
//! Retransmitted 2xx get the ACK already sent.

use super::{cseq_of, tag_of, Dialog};
use crate::sip::Message;

/// How many forks' dialogs one INVITE keeps: a peer may send any number of To tags, and
/// memory must not follow it.
pub const MAX_FORKS: usize = 16;

/// What a response to the INVITE means for its dialogs.
// The variants carry whole messages and a dialog; boxing the messages would cost
// allocations for a value that lives for one match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ForkOutcome {
    /// Nothing to do with dialogs: a 100, a response without To tag, a final non-2xx, a
    /// provisional after the 2xx, or a fork beyond [`MAX_FORKS`].
    Nothing,
    /// A provisional response with a To tag: the early dialog of that fork, `new` when this
    /// response created it.
    Early {
        /// The fork's To tag.
        remote_tag: String,
        /// Whether the dialog was created now.
        new: bool,
    },
    /// The first 2xx: its dialog, confirmed, for the caller to keep and ACK
    /// ([`Dialog::ack_for`] the INVITE).
    Confirmed(Box<Dialog>),
    /// A retransmission of the 2xx that confirmed the caller's dialog: send
    /// [`Dialog::ack_again`] again.
    Retransmission,
    /// A 2xx from another fork: send `ack` then `bye` (RFC 3261 §13.2.2.4).
    HangUp {
        /// The ACK for that 2xx.
        ack: Message,
        /// The BYE ending that fork's dialog.
        bye: Message,
    },
    /// A retransmission of another fork's 2xx: send its ACK again.
    AckAgain(Message),
}

/// The dialogs of one INVITE we sent.
#[derive(Debug, Clone)]
pub struct ForkSet {
    invite: Message,
    invite_seq: u32,
    early: Vec<Dialog>,
    confirmed: Option<String>,
    others: Vec<Dialog>,
}

impl ForkSet {
    /// The dialogs of `invite`, as sent (with its From tag, Contact and CSeq).
    pub fn new(invite: Message) -> ForkSet {
        let invite_seq = cseq_of(&invite).map_or(1, |c| c.seq);
        ForkSet {
            invite,
            invite_seq,
            early: Vec::new(),
            confirmed: None,
            others: Vec::new(),
        }
    }

    /// The INVITE.
    pub fn invite(&self) -> &Message {
        &self.invite
    }

    /// The INVITE's CSeq number.
    pub fn invite_seq(&self) -> u32 {
        self.invite_seq
    }

    /// The early dialogs, in the order they were created.
    pub fn early(&self) -> &[Dialog] {
        &self.early
    }

    /// The To tag of the fork whose 2xx confirmed a dialog.
    pub fn confirmed_tag(&self) -> Option<&str> {
        self.confirmed.as_deref()
    }

    /// Takes a response to the INVITE; `via` gives a fresh top Via (with a new branch) for
    /// each request built.
    pub fn on_response(&mut self, resp: &Message, via: &mut dyn FnMut() -> String) -> ForkOutcome {
        let Some(code) = resp.code() else {
            return ForkOutcome::Nothing;
        };
        let Some(tag) = tag_of(resp, "To") else {
            return ForkOutcome::Nothing;
        };
        match code {
            101..=199 if self.confirmed.is_none() => self.on_provisional(resp, tag),
            200..=299 => self.on_success(resp, tag, via),
            300..=699 => {
                // The INVITE failed: every early dialog ends with it (§12.3).
                self.early.clear();
                ForkOutcome::Nothing
            }
            _ => ForkOutcome::Nothing,
        }
    }

    fn on_provisional(&mut self, resp: &Message, tag: String) -> ForkOutcome {
        if let Some(d) = self.early.iter_mut().find(|d| d.id().remote_tag == tag) {
            d.refresh_target(resp);
            return ForkOutcome::Early {
                remote_tag: tag,
                new: false,
            };
        }
        if self.early.len() >= MAX_FORKS {
            return ForkOutcome::Nothing;
        }
        match Dialog::uac(&self.invite, resp) {
            Ok(d) => {
                self.early.push(d);
                ForkOutcome::Early {
                    remote_tag: tag,
                    new: true,
                }
            }
            Err(_) => ForkOutcome::Nothing,
        }
    }

    fn on_success(
        &mut self,
        resp: &Message,
        tag: String,
        via: &mut dyn FnMut() -> String,
    ) -> ForkOutcome {
        if self.confirmed.as_deref() == Some(tag.as_str()) {
            return ForkOutcome::Retransmission;
        }
        if let Some(d) = self.others.iter().find(|d| d.id().remote_tag == tag) {
            if let Some(ack) = d.ack_again(self.invite_seq) {
                return ForkOutcome::AckAgain(ack.clone());
            }
        }
        let dialog = match self.early.iter().position(|d| d.id().remote_tag == tag) {
            Some(i) => {
                let mut d = self.early.remove(i);
                d.confirm_with(resp);
                Ok(d)
            }
            None => Dialog::uac(&self.invite, resp),
        };
        let Ok(mut dialog) = dialog else {
            return ForkOutcome::Nothing;
        };
        if self.confirmed.is_none() {
            self.confirmed = Some(tag);
            return ForkOutcome::Confirmed(Box::new(dialog));
        }
        let ack = dialog.ack_for(&self.invite, via());
        let bye = dialog.request("BYE", via());
        if self.others.len() < MAX_FORKS {
            self.others.push(dialog);
        }
        ForkOutcome::HangUp { ack, bye }
    }
}

/// The ACK and BYE for a 2xx to `invite` that no session wants any more (it arrived after
/// the session ended): the dialog it creates is acknowledged and ended at once
/// (RFC 3261 §13.2.2.4). `None` when the 2xx creates no dialog.
pub fn hang_up(
    invite: &Message,
    resp: &Message,
    via: &mut dyn FnMut() -> String,
) -> Option<(Message, Message)> {
    let mut dialog = Dialog::uac(invite, resp).ok()?;
    let ack = dialog.ack_for(invite, via());
    let bye = dialog.request("BYE", via());
    Some((ack, bye))
}

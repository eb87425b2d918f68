//! The session's offer/answer state (RFC 3264 with RFC 3261 §13.2.1, §14): the descriptions
//! in effect, the placeholder audio offer used when the shell supplies none, answers to the
//! peer's re-offers and what a re-offer says about hold (RFC 3264 §8.4).
//!
//! The shell may hand in its own SDP (a browser's WebRTC offer or answer): it is sent as is,
//! and later re-offers (hold, unhold) are derived from it with the offer/answer engine.

use crate::offer_answer::{Codec, LocalCapabilities, MediaCapabilities};
use crate::rng::Rng;
use crate::sdp::{Connection, Direction, MediaDescription, MediaType, Origin, SessionDescription};
use crate::vec_map::VecMap;

/// The descriptions of one session.
#[derive(Debug, Clone, Default)]
pub(crate) struct Media {
    /// Our description in effect (the last offer or answer we sent that took effect).
    pub local: Option<String>,
    /// The peer's description in effect.
    pub remote: Option<String>,
    /// The directions we want on each m-line, as first offered or answered: hold narrows
    /// them, unhold restores them.
    base: Vec<Direction>,
}

impl Media {
    /// Records the first local description and the directions it asks for.
    pub fn set_initial_local(&mut self, sdp: String) {
        self.base = parse(&sdp)
            .map(|sd| sd.media.iter().map(|m| sd.direction_of(m)).collect())
            .unwrap_or_default();
        self.local = Some(sdp);
    }

    /// Records that m-line `index` now carries a new stream wanting `direction`.
    pub fn set_base(&mut self, index: usize, direction: Direction) {
        if self.base.len() <= index {
            self.base.resize(index + 1, Direction::SendRecv);
        }
        self.base[index] = direction;
    }

    /// Our description, parsed.
    pub fn local_sd(&self) -> Option<SessionDescription> {
        self.local.as_deref().and_then(parse)
    }

    /// The re-offer putting the session on hold (`hold`) or taking it off hold, from our
    /// description in effect; `None` when it cannot be parsed.
    pub fn reoffer(&self, hold: bool) -> Option<String> {
        let local = self.local_sd()?;
        let mut sd = if hold {
            crate::offer_answer::hold(&local)
        } else {
            crate::offer_answer::unhold(&local)
        };
        if !hold {
            // Unhold offers what we first wanted; a peer still holding narrows it in its answer.
            for (i, m) in sd.media.iter_mut().enumerate() {
                if !m.is_rejected() {
                    m.set_direction(self.base.get(i).copied().unwrap_or(Direction::SendRecv));
                }
            }
        }
        Some(text(&sd))
    }

    /// Our answer to the peer's re-offer `offer` (RFC 3264 §8): our description in effect
    /// with a new version and one m-line per offered one. A stream both sides keep gets
    /// what we want (narrowed to `sendonly` while we hold) intersected with the mirror of the
    /// offered direction; a stream the offer disables is disabled (port 0); a new or
    /// re-used m-line gets its line from `new_lines` (the streams we accept), else port 0.
    /// `None` when the offer does not parse or drops m-lines (RFC 3264 §8: 488).
    pub fn answer_offer(
        &self,
        offer: &str,
        local_hold: bool,
        new_lines: &VecMap<usize, MediaDescription>,
    ) -> Option<String> {
        let offer = parse(offer)?;
        let mut sd = self.local_sd()?;
        if offer.media.len() < sd.media.len() {
            return None;
        }
        let mut media = Vec::with_capacity(offer.media.len());
        for (i, offered) in offer.media.iter().enumerate() {
            if let Some(line) = new_lines.get(&i) {
                media.push(line.clone());
                continue;
            }
            match sd.media.get(i) {
                Some(ours)
                    if ours.media == offered.media
                        && !ours.is_rejected()
                        && !offered.is_rejected() =>
                {
                    let mut m = ours.clone();
                    let mut want = self.base.get(i).copied().unwrap_or(Direction::SendRecv);
                    if local_hold {
                        want = want.intersect(Direction::SendOnly);
                    }
                    m.set_direction(want.intersect(offer.direction_of(offered).reverse()));
                    media.push(m);
                }
                _ => media.push(rejected_copy(offered)),
            }
        }
        sd.media = media;
        sd.increment_version();
        Some(text(&sd))
    }

    /// The same description with its version bumped, as the offer of a 2xx to an
    /// offer-less re-INVITE (RFC 3261 §14.2).
    pub fn fresh_offer(&self) -> Option<String> {
        let mut sd = self.local_sd()?;
        sd.increment_version();
        Some(text(&sd))
    }
}

/// Parses a description, leniently about line ends.
pub(crate) fn parse(sdp: &str) -> Option<SessionDescription> {
    sdp.parse::<SessionDescription>().ok()
}

/// The answer line refusing an offered m-line: port 0, same media, transport and formats.
pub(crate) fn rejected_copy(offered: &MediaDescription) -> MediaDescription {
    let mut m = MediaDescription::new(
        offered.media.clone(),
        0,
        &offered.proto,
        offered.formats.clone(),
    );
    m.reject();
    m
}

pub(crate) fn text(sd: &SessionDescription) -> String {
    String::from_utf8_lossy(&sd.to_bytes()).into_owned()
}

/// Whether a peer's offer puts us on hold (RFC 3264 §8.4): it has active streams and
/// receives on none of them (`sendonly` or `inactive`, at media or session level).
pub(crate) fn offer_holds(offer: &str) -> bool {
    let Some(sd) = parse(offer) else {
        return false;
    };
    let active: Vec<Direction> = sd
        .media
        .iter()
        .filter(|m| !m.is_rejected())
        .map(|m| sd.direction_of(m))
        .collect();
    !active.is_empty() && active.iter().all(|d| !d.receives())
}

/// What we offer and answer when the shell has no media of its own: one audio stream with
/// G.711 and telephone-event on the discard port, so that peers can negotiate and hold
/// works, though no media flows. The address is `host`: the account's local address on
/// UDP/TCP/TLS, else the user agent's `.invalid` name (RFC 6761: it never resolves);
/// `0.0.0.0` would read as an RFC 2543 hold (RFC 3264 §8.4). An IPv6 host (with or without
/// brackets) is written bare with address type `IP6` (RFC 8866 §5.7).
pub(crate) fn placeholder_capabilities(rng: &mut Rng, host: &str) -> LocalCapabilities {
    let id = (rng.next_u64() >> 12).to_string();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let (origin, connection) = if bare.contains(':') {
        let mut o = Origin::new("-", id, 1, bare);
        o.addr_type = "IP6".to_string();
        (o, Connection::ip6(bare))
    } else {
        (Origin::new("-", id, 1, host), Connection::ip4(host))
    };
    let mut caps = LocalCapabilities::new(origin, connection);
    caps.session_name = "sipsimple-rs".to_string();
    let mut audio = MediaCapabilities::rtp(
        MediaType::Audio,
        9,
        "RTP/AVP",
        vec![Codec::new("PCMU", 8000), Codec::new("PCMA", 8000)],
    );
    audio.telephone_event = true;
    caps.media.push(audio);
    caps
}

/// A description without m-lines, with the placeholder's origin, name and address: the
/// session part of the descriptions the streams fill.
pub(crate) fn empty_description(rng: &mut Rng, host: &str) -> SessionDescription {
    let mut caps = placeholder_capabilities(rng, host);
    caps.media.clear();
    caps.offer()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(sdp: &str) -> Vec<Direction> {
        let sd = parse(sdp).expect("valid");
        sd.media.iter().map(|m| sd.direction_of(m)).collect()
    }

    #[test]
    fn hold_unhold_and_answers_follow_rfc_3264() {
        let mut rng = Rng::from_seed(1);
        let offer = text(&placeholder_capabilities(&mut rng, "abc.invalid").offer());
        assert!(!offer_holds(&offer));
        let mut m = Media::default();
        m.set_initial_local(offer.clone());
        let held = m.reoffer(true).expect("parsable");
        assert_eq!(dirs(&held), [Direction::SendOnly]);
        assert!(offer_holds(&held));
        // The peer answers a hold with recvonly; we hold, so we send only.
        let none = VecMap::new();
        let answer = m.answer_offer(&held, false, &none).expect("same m-lines");
        assert_eq!(dirs(&answer), [Direction::RecvOnly]);
        let answer = m.answer_offer(&held, true, &none).expect("same m-lines");
        assert_eq!(dirs(&answer), [Direction::Inactive]);
        m.local = Some(held);
        let resumed = m.reoffer(false).expect("parsable");
        assert_eq!(dirs(&resumed), [Direction::SendRecv]);
        let two = format!("{offer}m=video 9 RTP/AVP 31\r\n");
        let answer = m.answer_offer(&two, false, &none).expect("an added stream");
        let sd = parse(&answer).expect("valid");
        assert_eq!(sd.media.len(), 2);
        assert!(
            sd.media[1].is_rejected(),
            "a stream nobody accepted gets port 0"
        );
        let empty = format!("{}", empty_description(&mut rng, "b.invalid").media.len());
        assert_eq!(empty, "0");
    }
}

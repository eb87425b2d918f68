//! The per-packet work of an anchored call: SIP-side RTP to the browser and back (latching,
//! SRTP, passthrough or transcoding, the recording tap, statistics), RTCP (RFC 3550 §6), and
//! RFC 4733 events out.

use super::*;

impl MediaSession {
    /// Handles a packet from the SIP side: what to write to the browser, and a DTMF digit.
    pub(in crate::media) fn on_sip_packet(
        &self,
        from: SocketAddr,
        data: &[u8],
        now_ms: u64,
    ) -> (Vec<Packet>, Option<char>) {
        let mut st = lock(&self.state);
        let Some(p) = st.sip else {
            return (Vec::new(), None);
        };
        match st.latched {
            Some(l) if l != from => return (Vec::new(), None),
            Some(_) => {}
            None => st.latched = Some(from),
        }
        let plain;
        let data = match st.srtp.as_mut() {
            Some(s) => match s.unprotect_rtp(data) {
                Ok(b) => {
                    plain = b;
                    &plain[..]
                }
                Err(_) => return (Vec::new(), None),
            },
            None => data,
        };
        let mut buf = data;
        let Ok(pkt) = Packet::unmarshal(&mut buf) else {
            return (Vec::new(), None);
        };
        let h = &pkt.header;
        st.remote_ssrc = Some(h.ssrc);
        st.stats_from_sip.on_packet(
            h.sequence_number,
            h.timestamp,
            now_ms,
            p.codec.clock_rate(),
            data.len(),
        );
        if Some(h.payload_type) == p.te {
            let digit = st.dtmf_in.on_packet(h.timestamp, &pkt.payload);
            return (Vec::new(), digit);
        }
        if h.payload_type != p.pt {
            return (Vec::new(), None);
        }
        st.record(Leg::B, p.codec, &pkt.payload);
        if !st.to_browser_open() {
            return (Vec::new(), None);
        }
        let mut out = Vec::new();
        match st.to_browser.transcoder.as_mut() {
            None => {
                let mut hdr = st.to_browser.header(sdp::OPUS_PT, h.timestamp, h.marker);
                hdr.ssrc = st.to_browser.ssrc;
                out.push(Packet {
                    header: hdr,
                    payload: pkt.payload.clone(),
                });
            }
            Some(t) => {
                let mut frames = Vec::new();
                if t.push(&pkt.payload, &mut frames).is_err() {
                    return (Vec::new(), None);
                }
                for f in frames {
                    st.to_browser.ts = st.to_browser.ts.wrapping_add(960);
                    let ts = st.to_browser.ts;
                    let hdr = st.to_browser.header(sdp::OPUS_PT, ts, false);
                    out.push(Packet {
                        header: hdr,
                        payload: f.into(),
                    });
                }
            }
        }
        for p in &out {
            st.stats_from_browser.on_sent(p.payload.len() + 12);
        }
        (out, None)
    }

    /// Handles a packet from the browser: the datagrams to send to the SIP side, and where.
    pub(in crate::media) fn on_browser_packet(
        &self,
        pkt: &Packet,
        now_ms: u64,
    ) -> (Vec<Vec<u8>>, Option<SocketAddr>) {
        let mut st = lock(&self.state);
        let h = &pkt.header;
        st.stats_from_browser.on_packet(
            h.sequence_number,
            h.timestamp,
            now_ms,
            48000,
            pkt.payload.len() + 12,
        );
        let Some(p) = st.sip else {
            return (Vec::new(), None);
        };
        let Some(dest) = st.latched.or(p.remote) else {
            return (Vec::new(), None);
        };
        st.record(Leg::A, Codec::Opus, &pkt.payload);
        if !st.to_sip_open() {
            return (Vec::new(), None);
        }
        let sending_dtmf = st.dtmf_out.holds_audio();
        let mut payloads: Vec<(u32, bytes::Bytes)> = Vec::new();
        match st.to_sip.transcoder.as_mut() {
            None => payloads.push((h.timestamp, pkt.payload.clone())),
            Some(t) => {
                let mut frames = Vec::new();
                if t.push(&pkt.payload, &mut frames).is_err() {
                    return (Vec::new(), None);
                }
                for f in frames {
                    st.to_sip.ts = st.to_sip.ts.wrapping_add(160);
                    payloads.push((st.to_sip.ts, f.into()));
                }
            }
        }
        if st.to_sip.transcoder.is_none() {
            st.to_sip.ts = h.timestamp;
        }
        if sending_dtmf {
            // RFC 4733 events are going out in this audio's place (its clock still moves).
            return (Vec::new(), None);
        }
        let mut out = Vec::with_capacity(payloads.len());
        for (ts, mut payload) in payloads {
            // An in-band DTMF tone takes the place of the microphone's audio, frame by frame.
            if let Some(tone) = st.dtmf_frames.pop_front() {
                payload = tone;
            }
            let header = st.to_sip.header(p.pt, ts, false);
            let Some(wire) = st.seal(Packet { header, payload }) else {
                continue;
            };
            st.stats_from_sip.on_sent(wire.len());
            out.push(wire);
        }
        (out, Some(dest))
    }

    /// The sender report for the SIP side's RTCP port (RFC 3550 §6.4.1): our sending
    /// counts and a reception report about its stream; `None` before negotiation.
    pub(in crate::media) fn rtcp_report(&self, now_ms: u64) -> Option<(Vec<u8>, SocketAddr)> {
        use webrtc::rtcp::reception_report::ReceptionReport;
        use webrtc::rtcp::sender_report::SenderReport;
        let mut st = lock(&self.state);
        let dest = st.sip?.rtcp?;
        let sent = st.stats_from_sip.snapshot();
        let reports = match (st.remote_ssrc, st.stats_from_sip.take_report()) {
            (Some(ssrc), Some(r)) => vec![ReceptionReport {
                ssrc,
                fraction_lost: r.fraction_lost,
                total_lost: u32::try_from(r.cumulative_lost.max(0)).unwrap_or(0),
                last_sequence_number: r.extended_highest_seq,
                jitter: r.jitter,
                last_sender_report: 0,
                delay: 0,
            }],
            _ => Vec::new(),
        };
        let secs = now_ms / 1000 + 2_208_988_800;
        let frac = ((now_ms % 1000) << 32) / 1000;
        let sr = SenderReport {
            ssrc: st.to_sip.ssrc,
            ntp_time: (secs << 32) | frac,
            rtp_time: st.to_sip.ts,
            packet_count: u32::try_from(sent.packets_sent).unwrap_or(u32::MAX),
            octet_count: u32::try_from(sent.bytes_sent).unwrap_or(u32::MAX),
            reports,
            profile_extensions: bytes::Bytes::new(),
        };
        let raw = sr.marshal().ok()?;
        let wire = match st.srtp.as_mut() {
            Some(s) => s.protect_rtcp(&raw).ok()?.to_vec(),
            None => raw.to_vec(),
        };
        Some((wire, dest))
    }

    /// RTCP from the SIP side: report blocks about our stream give the round trip time.
    pub(in crate::media) fn on_rtcp(&self, data: &[u8], now_ms: u64) {
        use webrtc::rtcp::receiver_report::ReceiverReport;
        use webrtc::rtcp::sender_report::SenderReport;
        let mut st = lock(&self.state);
        let plain;
        let mut buf = match st.srtp.as_mut() {
            Some(s) => match s.unprotect_rtcp(data) {
                Ok(b) => {
                    plain = b;
                    &plain[..]
                }
                Err(_) => return,
            },
            None => data,
        };
        let Ok(packets) = webrtc::rtcp::packet::unmarshal(&mut buf) else {
            return;
        };
        let ours = st.to_sip.ssrc;
        let arrival = sipsimple::rtp::ntp_middle32(now_ms);
        for p in packets {
            let blocks = if let Some(sr) = p.as_any().downcast_ref::<SenderReport>() {
                sr.reports.clone()
            } else if let Some(rr) = p.as_any().downcast_ref::<ReceiverReport>() {
                rr.reports.clone()
            } else {
                continue;
            };
            for b in blocks.iter().filter(|b| b.ssrc == ours) {
                st.stats_from_sip
                    .on_rtcp_rr(b.last_sender_report, b.delay, arrival);
            }
        }
    }

    /// The round trip time to the SIP side from its RTCP, when measured.
    pub fn rtt_ms(&self) -> Option<f64> {
        lock(&self.state).stats_from_sip.rtt_ms()
    }

    /// Queues `digit` as a dual tone (ITU-T Q.23: 160 ms of tone, 40 ms of silence) in the
    /// SIP leg's codec, sent in place of the browser's audio; `false` before negotiation.
    pub(in crate::media) fn inband_dtmf(&self, digit: char) -> bool {
        let Some((low, high)) = dual_tone(digit) else {
            return false;
        };
        let mut st = lock(&self.state);
        let Some(p) = st.sip else { return false };
        let Ok(mut enc) = super::super::codec::Encoder::new(p.codec) else {
            return false;
        };
        let rate = f64::from(p.codec.clock_rate());
        let n = p.codec.samples_per_20ms();
        for frame in 0..10usize {
            let pcm: Vec<i16> = (0..n)
                .map(|i| {
                    if frame >= 8 {
                        return 0;
                    }
                    let t = (frame * n + i) as f64 / rate;
                    let v = (2.0 * std::f64::consts::PI * low * t).sin()
                        + (2.0 * std::f64::consts::PI * high * t).sin();
                    (v * 7000.0) as i16
                })
                .collect();
            let mut out = Vec::new();
            if enc.encode(&pcm, &mut out).is_ok() {
                st.dtmf_frames.push_back(bytes::Bytes::from(out));
            }
        }
        true
    }

    /// Queues the RFC 4733 packets of `digit` for the SIP leg: `None` without
    /// telephone-event (or before negotiation), else whether the caller must start the task
    /// that sends them ([`MediaSession::next_dtmf_event`]); one already sending takes them.
    pub(in crate::media) fn queue_dtmf_event(&self, digit: char) -> Option<bool> {
        let mut st = lock(&self.state);
        let p = st.sip?;
        p.te?;
        st.latched.or(p.remote)?;
        st.dtmf_out.queue(digit)
    }

    /// The next queued RFC 4733 packet, sealed now with the SIP leg's next sequence number,
    /// and where it goes; `None` when none is left, and the browser's audio flows again.
    pub(in crate::media) fn next_dtmf_event(&self) -> Option<(Vec<u8>, SocketAddr)> {
        let mut st = lock(&self.state);
        let st = &mut *st;
        let target = st.sip.and_then(|p| Some((p.te?, st.latched.or(p.remote)?)));
        let Some((te, dest)) = target else {
            st.dtmf_out.clear();
            return None;
        };
        let (header, payload) = st.dtmf_out.next(&mut st.to_sip, te)?;
        let Some(wire) = st.seal(Packet {
            header,
            payload: bytes::Bytes::copy_from_slice(&payload),
        }) else {
            st.dtmf_out.clear();
            return None;
        };
        st.stats_from_sip.on_sent(wire.len());
        Some((wire, dest))
    }
}

/// The row and column frequencies of a DTMF digit (ITU-T Q.23).
fn dual_tone(digit: char) -> Option<(f64, f64)> {
    let (row, col) = match digit.to_ascii_uppercase() {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        'A' => (0, 3),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        'B' => (1, 3),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        'C' => (2, 3),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        'D' => (3, 3),
        _ => return None,
    };
    let rows = [697.0, 770.0, 852.0, 941.0];
    let cols = [1209.0, 1336.0, 1477.0, 1633.0];
    Some((*rows.get(row)?, *cols.get(col)?))
}

impl State {
    /// Feeds the recording (when on and not on hold) with a packet's audio from `leg`,
    /// decoded through that direction's tap.
    fn record(&mut self, leg: Leg, codec: Codec, payload: &[u8]) {
        if self.recorder.is_none() || self.on_hold() {
            return;
        }
        let tap = match leg {
            Leg::A => &mut self.to_sip.tap,
            Leg::B => &mut self.to_browser.tap,
        };
        if tap.is_none() {
            *tap = PcmTap::new(codec).ok();
        }
        let mut pcm = Vec::new();
        if let Some(t) = tap.as_mut() {
            t.tap(payload, &mut pcm);
        }
        if let Some(r) = self.recorder.as_mut() {
            r.push(leg, &pcm);
        }
    }

    /// A packet for the SIP leg on the wire: marshalled, and protected when SRTP is on.
    fn seal(&mut self, packet: Packet) -> Option<Vec<u8>> {
        let raw = packet.marshal().ok()?;
        match self.srtp.as_mut() {
            Some(s) => s.protect_rtp(&raw).ok().map(|b| b.to_vec()),
            None => Some(raw.to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dual_tone;

    #[test]
    fn dual_tones_follow_q23() {
        assert_eq!(dual_tone('5'), Some((770.0, 1336.0)));
        assert_eq!(dual_tone('#'), Some((941.0, 1477.0)));
        assert_eq!(dual_tone('d'), Some((941.0, 1633.0)));
        assert_eq!(dual_tone('x'), None);
    }
}

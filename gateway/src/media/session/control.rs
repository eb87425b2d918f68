//! What the browser asks of the gateway inside a call: DTMF as INFO (relayed as RFC 4733),
//! recording control, and digits from the SIP side passed on as a MESSAGE with
//! `Target-Dialog` (RFC 4538).

use super::*;

impl MediaSession {
    /// INFO from the browser towards the SIP side: DTMF becomes RFC 4733 events on the RTP
    /// leg, recording control is answered here. `true` when the INFO was consumed.
    pub(in crate::media) async fn intercept_info(
        &self,
        gw: &Arc<Gateway>,
        msg: &Message,
        dest: &Dest,
        ct: &str,
    ) -> bool {
        match ct {
            "application/dtmf-relay" | "application/dtmf" => {
                let body = String::from_utf8_lossy(&msg.body);
                let digit = if ct == "application/dtmf" {
                    body.trim().chars().next()
                } else {
                    body.lines().find_map(|l| {
                        let (k, v) = l.split_once('=')?;
                        k.trim()
                            .eq_ignore_ascii_case("signal")
                            .then(|| v.trim().chars().next())
                            .flatten()
                    })
                };
                let Some(digit) = digit.filter(|d| digit_to_event(*d).is_some()) else {
                    respond(gw, msg, dest, 400, "Bad DTMF Signal", None);
                    return true;
                };
                let Some(start) = self.queue_dtmf_event(digit) else {
                    // No telephone-event on the SIP side: the digit goes in band, as its
                    // dual tone in the audio (what a G.711 phone without RFC 4733 hears).
                    if self.inband_dtmf(digit) {
                        self.shared
                            .counters
                            .dtmf_sent
                            .fetch_add(1, Ordering::Relaxed);
                        debug!(call_id = %self.call_id, %digit, "DTMF relayed in band");
                        respond(gw, msg, dest, 200, "OK", None);
                        return true;
                    }
                    // Not negotiated yet: let the far end have the INFO.
                    return false;
                };
                self.shared
                    .counters
                    .dtmf_sent
                    .fetch_add(1, Ordering::Relaxed);
                if start {
                    self.spawn_dtmf_sender();
                }
                debug!(call_id = %self.call_id, %digit, "DTMF relayed as RFC 4733");
                respond(gw, msg, dest, 200, "OK", None);
                true
            }
            RECORDING_CONTROL => {
                let (code, reason, body) = self.recording_control(&msg.body);
                respond(gw, msg, dest, code, reason, body);
                true
            }
            _ => false,
        }
    }

    /// The task that sends the queued RFC 4733 packets on the SIP leg, one every 20 ms
    /// (RFC 4733 §2.5.1.2), until none is left.
    fn spawn_dtmf_sender(&self) {
        let (Some(io), Some(me)) = (self.io_now(), self.shared.session(&self.call_id)) else {
            lock(&self.state).dtmf_out.clear();
            return;
        };
        let rtp = Arc::clone(&io.rtp);
        let weak = Arc::downgrade(&me);
        drop(me);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tick.tick().await;
                let Some(s) = weak.upgrade() else { break };
                let Some((wire, to)) = s.next_dtmf_event() else {
                    break;
                };
                drop(s);
                let _ = rtp.send_to(&wire, to).await;
            }
        });
    }

    fn recording_control(&self, body: &[u8]) -> (u16, &'static str, Option<String>) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return (400, "Bad Recording Request", None);
        };
        match v.get("action").and_then(|a| a.as_str()) {
            Some("start") => {
                let name = v.get("file_name").and_then(|n| n.as_str());
                match self.start_recording(name) {
                    Ok(path) => {
                        let body = serde_json::json!({ "file_name": path.display().to_string() });
                        (200, "OK", Some(body.to_string()))
                    }
                    Err(e) => {
                        warn!(call_id = %self.call_id, error = %e, "recording did not start");
                        (500, "Recording Failed", None)
                    }
                }
            }
            Some("stop") => match self.stop_recording() {
                Some(path) => {
                    let body = serde_json::json!({ "file_name": path.display().to_string() });
                    (200, "OK", Some(body.to_string()))
                }
                None => (481, "Not Recording", None),
            },
            _ => (400, "Bad Recording Request", None),
        }
    }

    /// Starts recording to `name` (made safe) in the owner's folder; the full path.
    pub fn start_recording(&self, name: Option<&str>) -> Result<PathBuf, String> {
        let mut st = lock(&self.state);
        if st.sip.is_none() {
            return Err("the call has no media yet".into());
        }
        if let Some(r) = &st.recorder {
            return Ok(r.path().to_path_buf());
        }
        let owner = st.dialog.owner.clone().unwrap_or_else(|| "unknown".into());
        let peer = st.dialog.peer.clone().unwrap_or_else(|| "peer".into());
        let dir = self.shared.cfg.recordings_dir.join(safe_name(&owner));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let wanted = name
            .map(safe_name)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| {
                let secs = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                format!("{}-{}-{secs}", safe_name(&owner), safe_name(&peer))
            });
        let stem = wanted.strip_suffix(".wav").unwrap_or(&wanted).to_string();
        let mut path = dir.join(format!("{stem}.wav"));
        let mut n = 1;
        while path.exists() && n < 1000 {
            path = dir.join(format!("{stem}-{n}.wav"));
            n += 1;
        }
        let mut r = Recorder::create(&path, Layout::Mixed)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        r.set_paused(st.on_hold());
        st.recorder = Some(r);
        info!(call_id = %self.call_id, path = %path.display(), "recording started");
        Ok(path)
    }

    /// Stops the recording; its path, or `None` when nothing was being recorded.
    pub fn stop_recording(&self) -> Option<PathBuf> {
        let r = lock(&self.state).recorder.take()?;
        let path = r.path().to_path_buf();
        match r.finish() {
            Ok(info) => {
                info!(call_id = %self.call_id, path = %info.path.display(), ms = info.duration_ms, "recording finished")
            }
            Err(e) => warn!(call_id = %self.call_id, error = %e, "recording not finalised"),
        }
        Some(path)
    }

    /// Five seconds after the media is negotiated, tells the browser when nothing came from
    /// a SIP side that was meant to send (the seed's `SIPSessionGotNoAudio`).
    pub(in crate::media) fn watch_audio(&self) {
        let Some(me) = self.shared.session(&self.call_id) else {
            return;
        };
        let weak = Arc::downgrade(&me);
        drop(me);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let Some(s) = weak.upgrade() else { return };
            let silent = {
                let st = lock(&s.state);
                st.sip_dir.sends() && st.stats_from_sip.snapshot().packets_received == 0
            };
            if silent && !s.ended() {
                if let Some(gw) = s.shared.gateway() {
                    debug!(call_id = %s.call_id, "no audio from the SIP side in 5 s");
                    s.notify_no_audio(&gw);
                }
            }
        });
    }

    /// Tells the browser about a digit the SIP side sent in RTP.
    pub(in crate::media) fn notify_dtmf(&self, gw: &Arc<Gateway>, digit: char) {
        let body = format!("Signal={digit}\r\nDuration=160\r\n");
        if self.tell_browser(gw, "application/dtmf-relay", &body) {
            self.shared
                .counters
                .dtmf_received
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Tells the browser that no audio came from the SIP side in the first 5 s
    /// (`SIPSessionGotNoAudio` on its side).
    pub(in crate::media) fn notify_no_audio(&self, gw: &Arc<Gateway>) {
        let body = r#"{"event":"no-audio"}"#;
        if self.tell_browser(gw, "application/vnd.sipsimple.media-event+json", body) {
            self.shared
                .counters
                .no_audio
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends the browser an out-of-dialog MESSAGE naming the call's dialog in
    /// `Target-Dialog` (RFC 4538): the gateway is a proxy and owns no CSeq in the dialog, so
    /// a request of its own inside it would collide with the peer's. `false` when the
    /// dialog is not known yet.
    fn tell_browser(&self, gw: &Arc<Gateway>, content_type: &str, body: &str) -> bool {
        let d = lock(&self.state).dialog.clone();
        let (Some(dest), Some(mine), Some(theirs)) = (d.browser_dest, d.browser_tag, d.other_tag)
        else {
            return false;
        };
        let uri = d
            .browser_uri
            .unwrap_or_else(|| format!("sip:{}", gw.cfg.domain));
        let via = if dest.transport == TransportKind::Wss {
            "WSS"
        } else {
            "WS"
        };
        let domain = &gw.cfg.domain;
        let text = format!(
            "MESSAGE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/{via} {domain};branch=z9hG4bK{branch}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:gateway@{domain}>;tag={tag}\r\n\
             To: <{uri}>\r\n\
             Call-ID: {cid}@{domain}\r\n\
             CSeq: 1 MESSAGE\r\n\
             Target-Dialog: {call};local-tag={mine};remote-tag={theirs}\r\n\
             Content-Type: {content_type}\r\n\
             Content-Length: {len}\r\n\r\n{body}",
            branch = crate::random::hex(16),
            tag = crate::random::hex(8),
            cid = crate::random::hex(16),
            call = self.call_id,
            len = body.len(),
        );
        gw.transmit(dest, text.into_bytes());
        true
    }
}

/// A synthesised response to a request the gateway consumed, fed to the proxy core as if
/// the next hop had sent it, so its client transaction completes and the response goes back
/// to the browser the usual way.
pub(in crate::media) fn respond(
    gw: &Arc<Gateway>,
    req: &Message,
    dest: &Dest,
    code: u16,
    reason: &str,
    json: Option<String>,
) {
    let mut r = Message::response_to(req, code, reason);
    if let Some(b) = json {
        r.set_body("application/json", b.into_bytes());
    } else {
        r.set_header("Content-Length", "0");
    }
    gw.input(Input::Received {
        source: dest.clone(),
        msg: r,
    });
}

/// A file name with only `[A-Za-z0-9._-]`, no leading dot, at most 100 characters.
pub fn safe_name(s: &str) -> String {
    let base = s.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    cleaned.trim_start_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_cannot_escape_the_folder() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("..\\x.wav"), "x.wav");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name("a b?.wav"), "a_b_.wav");
        assert_eq!(safe_name(".."), "");
    }
}

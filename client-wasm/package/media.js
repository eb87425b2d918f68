// @sipsimple/client: BrowserMedia, the WebRTC side of audio calls.
//
// The SDK's SIPApplication does signalling only: it sends whatever SDP the page gives it and
// reports the peer's with `remoteSdp(id)`. BrowserMedia is that page-side half for audio: one
// RTCPeerConnection per session, the microphone track, the remote audio, hold, mute, DTMF and
// statistics, driven by the application's notifications. Plain JavaScript with no imports, so
// that it works unbundled beside the wasm-bindgen glue (the softphone page loads it from
// web/pkg/media.js) as well as from the npm package. Types and docs: index.d.ts.
//
// Offers and answers are sent whole (no trickle ICE): BrowserMedia waits for ICE gathering
// to complete, at most `gatheringTimeout` ms (2 s by default), then sends what it gathered.

const DEFAULT_GATHERING_TIMEOUT = 2000;
/** How long a call's audio may stay silent before SIPSessionGotNoAudio (the seed's 5 s). */
const NO_AUDIO_AFTER = 5000;

/** Waits until `pc` finished gathering ICE candidates, or `ms` milliseconds. */
function gathered(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      pc.removeEventListener('icecandidate', onCandidate);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const onCandidate = (e) => { if (!e.candidate) done(); };
    const timer = setTimeout(done, ms);
    pc.addEventListener('icegatheringstatechange', check);
    pc.addEventListener('icecandidate', onCandidate);
  });
}

/**
 * Drops the `a=candidate` lines `keep` refuses from an SDP and, when the default address of
 * an m-section (its `c=` line and port) was one of them, points it at the first candidate
 * kept for RTP (component 1).
 */
export function filterCandidates(sdp, keep) {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  // Sections: the session part, then one per m= line.
  const sections = [[]];
  for (const line of lines) {
    if (line.startsWith('m=')) sections.push([]);
    sections[sections.length - 1].push(line);
  }
  const out = [];
  for (const section of sections) {
    const kept = section.filter((l) => !l.startsWith('a=candidate:') || keep(l.slice(2)));
    const dropped = section.length !== kept.length;
    if (dropped && kept[0]?.startsWith('m=')) {
      const rtp = kept
        .filter((l) => l.startsWith('a=candidate:'))
        .map((l) => l.slice(2).split(' '))
        .find((f) => f[1] === '1');
      const ci = kept.findIndex((l) => l.startsWith('c='));
      if (rtp && ci >= 0) {
        const [address, port] = [rtp[4], rtp[5]];
        const c = kept[ci].split(' ');
        if (c[2] !== address) {
          kept[ci] = `c=IN ${address.includes(':') ? 'IP6' : 'IP4'} ${address}`;
          const m = kept[0].split(' ');
          m[1] = port;
          kept[0] = m.join(' ');
        }
      }
    }
    out.push(...kept);
  }
  return out.join(eol);
}

/** Only the candidates on a loopback address (127.0.0.0/8, ::1): for tests on one machine. */
export function loopbackOnly(candidate) {
  const address = candidate.split(' ')[4] ?? '';
  return address.startsWith('127.') || address === '::1';
}

/**
 * The WebRTC side of a SIPApplication's audio calls. See index.d.ts for the documentation.
 */
export class BrowserMedia extends EventTarget {
  constructor(app, options = {}) {
    super();
    if (!app || typeof app.connect !== 'function' || typeof app.addObserver !== 'function') {
      throw new TypeError('BrowserMedia needs a SIPApplication');
    }
    this.app = app;
    this.audioElement = options.audioElement ?? null;
    this.deviceId = options.deviceId ?? null;
    this.iceServers = options.iceServers ?? [];
    this.gatheringTimeout = options.gatheringTimeout ?? DEFAULT_GATHERING_TIMEOUT;
    this.candidateFilter = options.candidateFilter ?? null;
    /** @type {Map<number, object>} session id -> call */
    this.calls = new Map();
    this._observer = (n) => this._onNotification(n);
    app.addObserver(this._observer);
  }

  /** Whether this browser can capture audio (a secure context with mediaDevices). */
  static get supported() {
    return typeof navigator !== 'undefined' && !!navigator.mediaDevices?.getUserMedia
      && typeof RTCPeerConnection === 'function';
  }

  /** Places an audio call; resolves with the session id. */
  async call(target) {
    const call = this._newCall(null);
    try {
      await this._openMicrophone(call);
      call.sender = call.pc.addTrack(call.micTrack, call.micStream);
      const offer = await call.pc.createOffer();
      await call.pc.setLocalDescription(offer);
      await gathered(call.pc, this.gatheringTimeout);
      const sdp = this._outgoingSdp(call.pc.localDescription.sdp);
      if (call.closed) throw new Error('BrowserMedia was closed');
      // connect() notifies SIPSessionNewOutgoing synchronously; the answer comes later.
      call.id = this.app.connect(target, sdp);
    } catch (e) {
      this._close(call);
      throw e;
    }
    this.calls.set(call.id, call);
    // The answer may already be there (a notification handled while connect() ran).
    this._applyRemote(call, 'answer');
    return call.id;
  }

  /** Answers an incoming session (SIPSessionNewIncoming) with audio. */
  async answer(id) {
    if (this.calls.has(id)) throw new Error(`session ${id} already has media`);
    const offer = this.app.remoteSdp(id);
    if (!offer) throw new Error(`session ${id} has no SDP offer`);
    const call = this._newCall(id);
    this.calls.set(id, call);
    try {
      try {
        await call.pc.setRemoteDescription({ type: 'offer', sdp: offer });
      } catch (e) {
        throw new Error(`the caller's SDP offer is not usable by WebRTC: ${e.message ?? e}`, { cause: e });
      }
      call.remoteApplied = true;
      await this._openMicrophone(call);
      call.sender = call.pc.addTrack(call.micTrack, call.micStream);
      const answer = await call.pc.createAnswer();
      await call.pc.setLocalDescription(answer);
      await gathered(call.pc, this.gatheringTimeout);
      if (call.closed) throw new Error(`session ${id} ended while answering`);
      this.app.accept(id, this._outgoingSdp(call.pc.localDescription.sdp));
      this._syncSending(call);
    } catch (e) {
      this._close(call);
      throw e;
    }
  }

  /** Puts a call on hold: the re-INVITE, and the microphone stops being sent. */
  hold(id) {
    const call = this._call(id);
    this.app.hold(id);
    call.heldLocal = true;
    this._syncSending(call);
  }

  /** Takes a call off hold: the re-INVITE, and the microphone is sent again. */
  unhold(id) {
    const call = this._call(id);
    this.app.unhold(id);
    call.heldLocal = false;
    this._syncSending(call);
  }

  /** Mutes (`true`) or unmutes the microphone of a call (silence is sent while muted). */
  mute(id, muted = true) {
    const call = this._call(id);
    call.muted = !!muted;
    if (call.micTrack) call.micTrack.enabled = !call.muted;
  }

  /** Whether a call's microphone is muted. */
  isMuted(id) {
    return this._call(id).muted;
  }

  /** Sends one DTMF digit (0-9, *, #, A-D) by SIP INFO (application/dtmf-relay). */
  sendDTMF(id, digit) {
    const d = String(digit);
    if (!/^[0-9*#A-Da-d]$/.test(d)) throw new RangeError(`not a DTMF digit: ${JSON.stringify(d)}`);
    if (typeof this.app.sendDtmf !== 'function') {
      throw new Error('this build of the SDK cannot send DTMF (SIPApplication.sendDtmf is missing)');
    }
    this.app.sendDtmf(id, d.toUpperCase());
  }

  /** Packet and byte counters of a call's audio, and the received audio level. */
  async stats(id) {
    const call = this._call(id);
    const out = { packetsSent: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0, audioLevel: 0 };
    const report = await call.pc.getStats();
    report.forEach((s) => {
      if (s.kind !== undefined && s.kind !== 'audio') return;
      if (s.type === 'outbound-rtp') {
        out.packetsSent += s.packetsSent ?? 0;
        out.bytesSent += s.bytesSent ?? 0;
      } else if (s.type === 'inbound-rtp') {
        out.packetsReceived += s.packetsReceived ?? 0;
        out.bytesReceived += s.bytesReceived ?? 0;
        out.audioLevel = Math.max(out.audioLevel, s.audioLevel ?? 0);
      }
    });
    return out;
  }

  /** The RTCPeerConnection of a call, `undefined` when it has none. */
  peerConnection(id) {
    return this.calls.get(id)?.pc;
  }

  /** The remote audio of a call, `undefined` until the first remote track. */
  remoteStream(id) {
    return this.calls.get(id)?.remoteStream ?? undefined;
  }

  /** Uses the microphone `deviceId` from now on, switching live calls to it. */
  async selectMicrophone(deviceId) {
    this.deviceId = deviceId || null;
    const calls = [...this.calls.values()].filter((c) => c.micTrack && !c.closed);
    for (const call of calls) {
      const old = call.micTrack;
      const stream = await navigator.mediaDevices.getUserMedia(this._constraints());
      const track = stream.getAudioTracks()[0];
      if (call.closed) { stream.getTracks().forEach((t) => t.stop()); continue; }
      track.enabled = !call.muted;
      call.micStream = stream;
      call.micTrack = track;
      if (call.sending) await call.sender.replaceTrack(track);
      old.stop();
    }
  }

  /** Closes every call's media and stops observing the application. */
  close() {
    this.app.removeObserver(this._observer);
    for (const call of [...this.calls.values()]) this._close(call);
  }

  // ---- internals ------------------------------------------------------------------------

  _call(id) {
    const call = this.calls.get(id);
    if (!call) throw new Error(`session ${id} has no media`);
    return call;
  }

  _constraints() {
    // `exact`: a bare deviceId is only a preference, which browsers may override.
    return { audio: this.deviceId ? { deviceId: { exact: this.deviceId } } : true, video: false };
  }

  _newCall(id) {
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require',
    });
    const call = {
      id, pc, micStream: null, micTrack: null, sender: null, remoteStream: null,
      audioElement: null, ownAudioElement: false, heldLocal: false, heldRemote: false,
      muted: false, sending: true, remoteApplied: false, earlyApplied: false, closed: false,
      audioWatch: null,
    };
    pc.addEventListener('track', (e) => {
      if (e.track.kind !== 'audio') return;
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      call.remoteStream = stream;
      let el = this.audioElement;
      if (!el && typeof Audio === 'function') {
        el = new Audio();
        call.ownAudioElement = true;
      }
      if (el) {
        call.audioElement = el;
        el.autoplay = true;
        el.srcObject = stream;
        el.play?.()?.catch?.(() => {}); // autoplay policy: the element's own controls remain
      }
      this._emit('remotestream', { session: call.id, stream });
    });
    return call;
  }

  async _openMicrophone(call) {
    if (!BrowserMedia.supported) {
      throw new Error('no microphone access in this browser (navigator.mediaDevices.getUserMedia is '
        + 'unavailable: the page needs https or localhost)');
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(this._constraints());
    } catch (e) {
      throw new Error(`microphone unavailable: ${e.name ?? ''} ${e.message ?? e}`.trim(), { cause: e });
    }
    if (call.closed) {
      stream.getTracks().forEach((t) => t.stop());
      throw new Error('the call ended while opening the microphone');
    }
    call.micStream = stream;
    call.micTrack = stream.getAudioTracks()[0];
    call.micTrack.enabled = !call.muted;
  }

  _outgoingSdp(sdp) {
    return this.candidateFilter ? filterCandidates(sdp, this.candidateFilter) : sdp;
  }

  /** Applies the peer's SDP as our offer's answer (`pranswer` for early media), once. */
  _applyRemote(call, type) {
    if (call.remoteApplied || call.closed || call.id === null) return;
    if (type === 'pranswer' && call.earlyApplied) return;
    const sdp = this.app.remoteSdp(call.id);
    if (!sdp) return;
    if (type === 'answer') call.remoteApplied = true; else call.earlyApplied = true;
    call.pc.setRemoteDescription({ type, sdp }).catch((e) => {
      if (call.closed) return;
      this._emit('error', {
        session: call.id,
        error: new Error(`the peer's SDP answer is not usable by WebRTC (no audio): ${e.message ?? e}`, { cause: e }),
      });
    });
  }

  /** Sends the microphone unless the call is on hold, by either end. */
  _syncSending(call) {
    if (!call.sender || call.closed) return;
    const sending = !call.heldLocal && !call.heldRemote;
    if (sending === call.sending) return;
    call.sending = sending;
    call.sender.replaceTrack(sending ? call.micTrack : null).catch((e) => {
      this._emit('error', { session: call.id, error: e });
    });
  }

  _onNotification(n) {
    if (n.sender?.type !== 'Session') return;
    const call = this.calls.get(n.sender.id);
    if (!call) return;
    switch (n.name) {
      case 'SIPSessionGotRingIndication':
        // Early media, when the core exposes a 183's SDP.
        this._applyRemote(call, 'pranswer');
        break;
      case 'SIPSessionWillStart':
      case 'SIPSessionDidStart':
        this._applyRemote(call, 'answer');
        if (n.name === 'SIPSessionDidStart') this._watchAudio(call);
        break;
      case 'SIPSessionGotHoldRequest':
      case 'SIPSessionGotUnholdRequest': {
        const hold = n.name === 'SIPSessionGotHoldRequest';
        if (n.data?.originator === 'remote') call.heldRemote = hold; else call.heldLocal = hold;
        this._syncSending(call);
        break;
      }
      case 'SIPSessionDidFail':
      case 'SIPSessionDidEnd':
        this._close(call);
        break;
    }
  }

  /**
   * SIPSessionGotNoAudio when nothing came from the peer in the call's first 5 s and
   * neither end holds it (through the SDK, which posts it once: for a call the gateway
   * anchors, its relay watches too).
   */
  _watchAudio(call) {
    if (call.audioWatch !== null) return;
    call.audioWatch = setTimeout(async () => {
      if (call.closed || call.heldLocal || call.heldRemote) return;
      let received;
      try {
        received = (await this.stats(call.id)).packetsReceived;
      } catch {
        return; // the call ended meanwhile
      }
      if (received > 0 || call.closed || typeof this.app.reportNoAudio !== 'function') return;
      try {
        this.app.reportNoAudio(call.id);
      } catch {
        // Not established with audio any more: nothing to report.
      }
    }, NO_AUDIO_AFTER);
  }

  _close(call) {
    if (call.closed) return;
    call.closed = true;
    clearTimeout(call.audioWatch);
    if (call.id !== null && this.calls.get(call.id) === call) this.calls.delete(call.id);
    call.micStream?.getTracks().forEach((t) => t.stop());
    try { call.pc.close(); } catch { /* already closed */ }
    if (call.audioElement && call.audioElement.srcObject === call.remoteStream) {
      call.audioElement.srcObject = null;
    }
    this._emit('ended', { session: call.id });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

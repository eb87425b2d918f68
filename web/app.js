// The softphone page: a thin UI over the sipsimple-wasm SDK. All SIP happens in the SDK and
// all WebRTC in its BrowserMedia (pkg/media.js); this file only maps notifications to what
// the user sees and clicks to SDK calls.
import init, { SIPApplication } from './pkg/sipsimple_wasm.js';
import { BrowserMedia, loopbackOnly } from './pkg/media.js';

const $ = (id) => document.getElementById(id);
let app = null;
let media = null;
let session = null;
let placing = false; // a call is being set up (microphone, ICE gathering) before connect()
let timer = null;

// For tests and debugging: the live application and its media.
window.softphone = {
  get app() { return app; },
  get media() { return media; },
  get session() { return session; },
};

// A page served from loopback reaches only peers on this machine: offer loopback ICE
// candidates only, so that no WebRTC packet is addressed beyond it (?ice=all sends every one).
const params = new URLSearchParams(location.search);
const LOOPBACK_PAGE = ['127.0.0.1', 'localhost', '[::1]'].includes(location.hostname);
const candidateFilter = params.get('ice') === 'all' || (!LOOPBACK_PAGE && params.get('ice') !== 'loopback')
  ? null : loopbackOnly;

function setState(el, state, text) {
  el.dataset.state = state;
  el.textContent = text;
}

const setMedia = (state, text) => setState($('media-state'), state, text);
const errorText = (e) => e?.message ?? String(e);

function logEvent(n) {
  const li = document.createElement('li');
  li.dataset.name = n.name;
  li.textContent = `${n.timestamp.toLocaleTimeString()} ${n.name} ${JSON.stringify(n.data)}`;
  $('events').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

// ---- the call panel ------------------------------------------------------------------

function formatDuration(ms) {
  const s = Math.floor(ms / 1000);
  const mm = String(Math.floor(s / 60) % 60).padStart(s >= 3600 ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

function startTimer() {
  stopTimer();
  const started = Date.now();
  const el = $('call-timer');
  el.hidden = false;
  el.textContent = formatDuration(0);
  timer = setInterval(() => { el.textContent = formatDuration(Date.now() - started); }, 500);
}

function stopTimer() {
  if (timer !== null) clearInterval(timer);
  timer = null;
}

/** The in-call controls: shown and enabled while a session is established. */
function showInCall(on) {
  $('in-call').hidden = !on;
  $('hold').disabled = !on;
  $('mute').disabled = !on;
  $('call-panel').dataset.call = on ? 'active' : $('call-panel').dataset.call;
  if (on) {
    $('dtmf-sent').textContent = '';
    $('dtmf-received').textContent = '';
  }
}

function resetCallControls() {
  stopTimer();
  showInCall(false);
  session = null;
  $('incoming').hidden = true;
  $('hangup').disabled = true;
  $('hold').textContent = 'Hold';
  $('hold').setAttribute('aria-pressed', 'false');
  $('mute').textContent = 'Mute';
  $('mute').setAttribute('aria-pressed', 'false');
  $('call').disabled = !app;
  $('call-panel').dataset.call = 'idle';
}

// ---- media -----------------------------------------------------------------------------

function attachMedia() {
  media = new BrowserMedia(app, {
    audioElement: $('remote-audio'),
    deviceId: $('microphone').value || null,
    candidateFilter,
  });
  media.addEventListener('error', (e) => {
    if (e.detail.session !== null && e.detail.session !== session) return;
    setMedia('failed', errorText(e.detail.error));
  });
  // Microphone labels are readable once the page was allowed the microphone.
  media.addEventListener('remotestream', () => listMicrophones());
}

/** Shows the state of the call's WebRTC connection (ICE and DTLS) in #media-state. */
function watchConnection(id, waiting) {
  const pc = media?.peerConnection(id);
  if (!pc) return;
  const show = () => {
    if (id !== session || $('media-state').dataset.state === 'failed') return;
    switch (pc.connectionState) {
      case 'connected': setMedia('connected', 'audio connected'); break;
      case 'connecting': setMedia('waiting', 'connecting audio…'); break;
      case 'disconnected': setMedia('waiting', 'audio interrupted, reconnecting…'); break;
      case 'failed': setMedia('failed', 'the audio connection failed (ICE/DTLS)'); break;
      case 'new': setMedia('waiting', waiting); break;
      default: break;
    }
  };
  pc.addEventListener('connectionstatechange', show);
  show();
}

function detachMedia() {
  media?.close();
  media = null;
}

/** Fills the microphone list (labels appear once the page was allowed the microphone). */
async function listMicrophones() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  const select = $('microphone');
  const current = select.value;
  const inputs = devices.filter((d) => d.kind === 'audioinput' && d.deviceId && d.deviceId !== 'default');
  select.replaceChildren(new Option('default', ''),
    ...inputs.map((d, i) => new Option(d.label || `microphone ${i + 1}`, d.deviceId)));
  select.value = inputs.some((d) => d.deviceId === current) ? current : '';
}

// ---- notifications ---------------------------------------------------------------------

function onNotification(n) {
  logEvent(n);
  const d = n.data;
  switch (n.name) {
    case 'SIPAccountRegistrationDidSucceed':
      setState($('reg-state'), 'registered', `registered as ${app.aor} (expires in ${d.expires} s)`);
      $('reg-state').title = `contact ${d.contact_uri}`;
      $('call').disabled = session !== null || placing;
      $('unregister').disabled = false;
      break;
    case 'SIPAccountRegistrationDidFail':
      setState($('reg-state'), 'failed',
        `failed: ${d.code ?? ''} ${d.reason} (retry in ${Math.round(d.delay)} s)`);
      break;
    case 'SIPAccountRegistrationDidEnd':
      setState($('reg-state'), 'unregistered', 'not registered');
      $('call').disabled = true;
      break;
    case 'SIPApplicationWillReconnect':
      // The SDK reopens the WebSocket by itself, then registers again.
      setState($('reg-state'), 'reconnecting',
        `reconnecting… (attempt ${d.attempt} in ${(d.delay / 1000).toFixed(1)} s)`);
      $('call').disabled = true;
      break;
    case 'SIPApplicationDidReconnect':
      setState($('reg-state'), 'registering', 'reconnected, registering…');
      break;
    case 'SIPApplicationDidEnd':
      setState($('reg-state'), 'unregistered', `disconnected (${d.code} ${d.reason})`);
      $('register').disabled = false;
      $('call').disabled = true;
      detachMedia();
      app = null;
      break;
    case 'SIPSessionNewOutgoing':
      setState($('call-state'), 'calling', 'calling…');
      break;
    case 'SIPSessionNewIncoming': {
      if (session !== null || placing) {
        // One call at a time in this page: a second caller hears busy.
        app.reject(n.sender.id, true);
        break;
      }
      session = n.sender.id;
      const info = app.session(session);
      $('incoming-from').textContent = info?.remote_uri ?? 'unknown';
      $('incoming').hidden = false;
      $('call').disabled = true;
      $('call-panel').dataset.call = 'incoming';
      setState($('call-state'), 'incoming', 'incoming call…');
      $('answer').focus();
      break;
    }
    case 'SIPSessionGotRingIndication':
      setState($('call-state'), 'ringing', 'ringing…');
      break;
    case 'SIPSessionDidStart':
      if (n.sender.id !== session) break;
      setState($('call-state'), 'established', 'established');
      $('incoming').hidden = true;
      $('hangup').disabled = false;
      showInCall(true);
      startTimer();
      break;
    case 'SIPSessionGotHoldRequest':
      if (n.sender.id !== session) break;
      setState($('call-state'), 'held', `on hold (by ${d.originator})`);
      if (d.originator === 'local') { $('hold').textContent = 'Resume'; $('hold').setAttribute('aria-pressed', 'true'); }
      break;
    case 'SIPSessionGotUnholdRequest': {
      if (n.sender.id !== session) break;
      const info = app.session(n.sender.id);
      if (info?.on_hold) {
        setState($('call-state'), 'held', `on hold (by ${info.on_hold_by_local ? 'local' : 'remote'})`);
      } else {
        setState($('call-state'), 'established', 'established');
      }
      if (d.originator === 'local') { $('hold').textContent = 'Hold'; $('hold').setAttribute('aria-pressed', 'false'); }
      break;
    }
    case 'SIPSessionGotDTMF':
      if (n.sender.id !== session) break;
      $('dtmf-received').textContent += d.digit;
      break;
    case 'SIPSessionDidFail':
      if (n.sender.id !== session) break;
      setState($('call-state'), 'failed', `failed: ${d.code} ${d.reason}`);
      break;
    case 'SIPSessionDidEnd':
      if (n.sender.id !== session) break;
      if ($('call-state').dataset.state !== 'failed') {
        setState($('call-state'), 'ended', `ended by ${d.originator}`);
      }
      if ($('media-state').dataset.state !== 'failed') setMedia('idle', 'no call');
      resetCallControls();
      break;
  }
}

// ---- user actions ----------------------------------------------------------------------

async function placeCall(target) {
  placing = true;
  $('call').disabled = true;
  $('call-panel').dataset.call = 'calling';
  setState($('call-state'), 'starting', 'opening the microphone…');
  setMedia('starting', 'opening the microphone…');
  try {
    const id = await media.call(target);
    session = id;
    $('hangup').disabled = false;
    watchConnection(id, 'waiting for the answer');
  } catch (e) {
    // No microphone (permission refused, no device, an insecure page) or a bad target: no
    // call was placed.
    setState($('call-state'), 'failed', `failed: ${errorText(e)}`);
    setMedia('failed', errorText(e));
    $('call').disabled = !app;
    $('call-panel').dataset.call = 'idle';
  } finally {
    placing = false;
  }
}

async function answerCall(id) {
  $('answer').disabled = true;
  $('decline').disabled = true;
  setState($('call-state'), 'answering', 'answering…');
  setMedia('starting', 'opening the microphone…');
  try {
    await media.answer(id);
    watchConnection(id, 'answered, connecting audio…');
  } catch (e) {
    // Not a WebRTC offer (a plain RTP phone), or no microphone: the call is still answered,
    // without audio, and the page says why.
    if (app && id === session && app.sessionState(id) === 'INCOMING') {
      setMedia('failed', `no audio: ${errorText(e)}`);
      try { app.accept(id); } catch (e2) { setState($('call-state'), 'failed', `failed: ${errorText(e2)}`); }
    }
  } finally {
    $('answer').disabled = false;
    $('decline').disabled = false;
  }
}

/** Runs `withMedia` when the session has media, else `without` (a call answered without audio). */
function sessionCommand(withMedia, without) {
  if (!app || session === null) return;
  try {
    if (media?.peerConnection(session)) withMedia(media, session); else without(app, session);
  } catch (e) {
    setMedia('failed', errorText(e));
  }
}

async function main() {
  await init();
  const cfg = await fetch('api/config').then((r) => r.json()).catch(() => ({}));
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  $('domain').value = cfg.domain ?? location.hostname;
  $('server').value = `${scheme}://${location.host}${cfg.ws_path ?? '/ws'}`;
  if (!BrowserMedia.supported) {
    setMedia('failed', 'no microphone access here (the page needs https or localhost): calls are not possible');
  }
  listMicrophones();
  navigator.mediaDevices?.addEventListener?.('devicechange', listMicrophones);

  $('account-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (app) { detachMedia(); app.stop(); }
    try {
      app = new SIPApplication({
        server: $('server').value,
        id: `${$('user').value}@${$('domain').value}`,
        password: $('password').value,
      });
    } catch (e) {
      setState($('reg-state'), 'failed', `failed: ${errorText(e)}`);
      return;
    }
    app.addObserver(onNotification);
    attachMedia();
    setState($('reg-state'), 'registering', 'registering…');
    $('register').disabled = true;
    try {
      await app.start();
    } catch (e) {
      setState($('reg-state'), 'failed', `failed: ${errorText(e)}`);
      $('register').disabled = false;
      detachMedia();
      app = null;
    }
  });

  $('unregister').addEventListener('click', () => {
    app?.stop();
    $('unregister').disabled = true;
  });

  $('call-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!app || !media || session !== null || placing) return;
    let target = $('target').value.trim();
    if (!target.includes('@') && !target.includes(':')) target = `${target}@${$('domain').value}`;
    placeCall(target);
  });

  $('hangup').addEventListener('click', () => {
    if (app && session !== null) {
      try { app.end(session); } catch (e) { console.warn(e); }
    }
  });

  $('answer').addEventListener('click', () => {
    if (app && media && session !== null) answerCall(session);
  });

  $('decline').addEventListener('click', () => {
    if (app && session !== null) {
      try { app.reject(session, false); } catch (e) { console.warn(e); }
    }
  });

  $('hold').addEventListener('click', () => {
    if (!app || session === null) return;
    const held = app.session(session)?.on_hold_by_local;
    sessionCommand(
      (m, id) => (held ? m.unhold(id) : m.hold(id)),
      (a, id) => (held ? a.unhold(id) : a.hold(id)),
    );
  });

  $('mute').addEventListener('click', () => {
    if (!media || session === null || !media.peerConnection(session)) return;
    const muted = !media.isMuted(session);
    media.mute(session, muted);
    $('mute').textContent = muted ? 'Unmute' : 'Mute';
    $('mute').setAttribute('aria-pressed', String(muted));
  });

  $('dtmf-keypad').addEventListener('click', (ev) => {
    const digit = ev.target.closest?.('button[data-digit]')?.dataset.digit;
    if (!digit || !app || session === null) return;
    try {
      if (media) media.sendDTMF(session, digit);
      else app.sendDtmf(session, digit);
      $('dtmf-sent').textContent += digit;
    } catch (e) {
      setMedia('failed', `DTMF: ${errorText(e)}`);
    }
  });

  $('microphone').addEventListener('change', () => {
    media?.selectMicrophone($('microphone').value || null)
      .catch((e) => setMedia('failed', `microphone: ${errorText(e)}`));
  });
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  document.body.dataset.ready = 'error';
  setState($('reg-state'), 'failed', `the SDK failed to load: ${errorText(e)}`);
});

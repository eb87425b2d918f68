// The softphone page: a thin UI over the sipsimple-wasm SDK. All SIP happens in the SDK and
// all WebRTC in its BrowserMedia (pkg/media.js); this file only maps notifications to what
// the user sees and clicks to SDK calls. Besides the call itself it keeps a call history per
// account (localStorage) and lists and downloads the gateway's recordings of the user's calls
// (HTTP Basic with the credentials the user signed in with, kept in memory only). Chat and
// file transfer (MSRP through the gateway's relay) run in the same session as the call, or in
// a chat-only session (the Chat button); received files are offered as a download. In a call,
// "View desktop" asks the other party to share their desktop (a desktop-sharing stream, RFB
// over MSRP), which the SDK draws on the page's canvas and controls with its mouse and keys;
// a desktop the other party offers to share is shown the same way.
import init, { SIPApplication } from './pkg/sipsimple_wasm.js';
import { BrowserMedia, loopbackOnly } from './pkg/media.js';

const $ = (id) => document.getElementById(id);
let app = null;
let media = null;
let session = null;
let placing = false; // a call is being set up (microphone, ICE gathering) before connect()
let timer = null;
let callStarted = null; // when the current call was established (ms)
let creds = null; // {user, domain, password, base}: the account signed in, for /api/recordings
let recordingsLoaded = false;
let current = null; // the history entry of the call in progress
let recording = 'off'; // off | starting | on | stopping
let recordingTimer = null;
let incomingStreams = []; // the stream types of the incoming session's offer
let composingTimer = null;
let receivedUrl = null; // the object URL of the last received file's download link

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

const HISTORY_MAX = 100;
const LAST_USER_KEY = 'sipsimple.lastUser';

function setState(el, state, text) {
  el.dataset.state = state;
  el.textContent = text;
}

const setMedia = (state, text) => setState($('media-state'), state, text);
const errorText = (e) => e?.message ?? String(e);

const CHUNK_EVENTS = new Set(['FileTransferStreamGotChunk', 'FileTransferStreamDidDeliverChunk']);

function logEvent(n) {
  // A file makes a notification per chunk: the log shows the transfer's start and end only.
  if (CHUNK_EVENTS.has(n.name)) return;
  const list = $('events');
  const li = document.createElement('li');
  li.dataset.name = n.name;
  li.textContent = `${n.timestamp.toLocaleTimeString()} ${n.name} ${JSON.stringify(n.data)}`;
  list.append(li);
  while (list.childElementCount > 2000) list.firstElementChild.remove();
  // Scroll the log itself, never the page under the user's finger.
  list.scrollTop = list.scrollHeight;
}

// ---- plain words for failures ------------------------------------------------------------

/**
 * Shows an error in the alert region (role="alert": read out at once). `kind` names what it
 * is about, so that a later success clears only its own kind ('registration').
 */
function showAlert(text, kind = 'general') {
  $('alert').hidden = false;
  $('alert').dataset.kind = kind;
  $('alert-text').textContent = text;
}

function clearAlert(kind = null) {
  if (kind !== null && $('alert').dataset.kind !== kind) return;
  $('alert').hidden = true;
  $('alert-text').textContent = '';
}

/** A failed call in plain words, from its SIP status code (0: no response or an internal error). */
function callFailureText(code, reason = '') {
  switch (code) {
    case 486: case 600: return 'Busy';
    case 404: case 604: return 'No such user';
    case 480: return 'Not available';
    case 408: return 'No answer';
    case 487: return 'Cancelled';
    case 488: case 606: return 'Call could not agree on audio';
    case 503: return 'Service unavailable';
    case 603: return 'Declined';
    case 401: case 403: case 407: return 'Not allowed';
    case 484: case 416: return 'Incomplete or invalid address';
    case 481: return 'The call no longer exists';
    default:
      if (/time(d)? ?out|no response/i.test(reason)) return 'No answer';
      if (/transport|closed|connection/i.test(reason)) return 'Lost the connection to the gateway';
      return code >= 500 ? 'Server error' : 'Call failed';
  }
}

const statusDetail = (code, reason) => [code || '', reason || ''].join(' ').trim();

/** A media failure from BrowserMedia (microphone, WebRTC) in plain words. */
function mediaFailureText(e) {
  const m = errorText(e);
  if (/NotAllowedError|Permission/i.test(m)) return 'Microphone access was refused: allow the microphone for this page';
  if (/NotFoundError|Requested device not found/i.test(m)) return 'No microphone found';
  if (/NotReadableError|Could not start/i.test(m)) return 'The microphone is in use or cannot be opened';
  if (/OverconstrainedError/.test(m)) return 'The chosen microphone is not available';
  if (/no microphone access in this browser/.test(m)) return 'This page cannot use the microphone (it needs https or localhost)';
  if (/not usable by WebRTC/.test(m)) return 'The other side\'s audio cannot be played in the browser';
  if (/ICE|DTLS/.test(m)) return 'The audio connection failed';
  return 'Audio problem';
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
  callStarted = Date.now();
  const el = $('call-timer');
  el.hidden = false;
  el.textContent = formatDuration(0);
  timer = setInterval(() => { el.textContent = formatDuration(Date.now() - callStarted); }, 500);
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
  $('record').disabled = !on;
  updateChat();
  $('call-panel').dataset.call = on ? 'active' : $('call-panel').dataset.call;
  if (on) {
    $('dtmf-sent').textContent = '';
    $('dtmf-received').textContent = '';
  }
}

/** Keyboard focus that sat on a control now disabled or hidden goes to `fallback`. */
function keepFocus(fallback) {
  const a = document.activeElement;
  if (!a || a === document.body || a.disabled || a.closest('[hidden]')) fallback.focus();
}

function resetCallControls() {
  stopTimer();
  $('call-timer').hidden = true;
  showInCall(false);
  setRecording('off');
  session = null;
  current = null;
  $('incoming').hidden = true;
  $('hangup').disabled = true;
  $('hold').textContent = 'Hold';
  $('hold').setAttribute('aria-pressed', 'false');
  $('mute').textContent = 'Mute';
  $('mute').setAttribute('aria-pressed', 'false');
  $('call').disabled = !app;
  $('chat-call').disabled = !app;
  $('call-panel').dataset.call = 'idle';
  incomingStreams = [];
  setComposing(false);
  if (['requesting', 'viewing'].includes($('desktop').dataset.state)) setDesktopState('ended', 'desktop sharing ended');
  updateChat();
  keepFocus($('target'));
}

const peerName = (uri) => String(uri ?? '').replace(/^<|>$/g, '').replace(/^sips?:/, '');

// ---- recording ---------------------------------------------------------------------------

function setRecording(state) {
  recording = state;
  clearTimeout(recordingTimer);
  recordingTimer = null;
  const on = state === 'on' || state === 'stopping';
  $('record').setAttribute('aria-pressed', String(on));
  $('record').setAttribute('aria-busy', String(state === 'starting' || state === 'stopping'));
  $('recording-indicator').hidden = !on;
  $('call-panel').dataset.recording = state;
  if (state === 'starting' || state === 'stopping') {
    // The gateway may refuse without a word (the core then emits nothing more): give up
    // waiting after a while and show what the SDK says.
    recordingTimer = setTimeout(() => {
      const still = session !== null && app?.audioRecordingFileName(session) !== undefined;
      if (state === 'starting' && !still) showAlert('The gateway did not start the recording');
      if (state === 'stopping' && still) showAlert('The gateway did not stop the recording');
      setRecording(still ? 'on' : 'off');
    }, 10000);
  }
}

const baseName = (path) => String(path ?? '').split(/[\\/]/).pop();

function basicAuth() {
  const bytes = new TextEncoder().encode(`${creds.user}:${creds.password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/** The gateway's HTTP address for `path`, from its WebSocket URL. */
function gatewayUrl(path) {
  return new URL(path, creds.base).href;
}

const blobUrls = new Set();

/** Fetches a recording with the account's credentials; resolves with a blob: URL. */
async function fetchRecording(name) {
  const r = await fetch(gatewayUrl(`api/recordings/${encodeURIComponent(name)}`), {
    headers: { authorization: basicAuth() }, cache: 'no-store',
  });
  if (!r.ok) throw new Error(r.status === 401 ? 'the gateway refused the credentials' : `${r.status} ${r.statusText}`);
  const url = URL.createObjectURL(await r.blob());
  blobUrls.add(url);
  return url;
}

/** A download link for a recording: fetched with the credentials when first used. */
function recordingLink(name, text) {
  const a = document.createElement('a');
  a.className = 'download';
  a.textContent = text;
  a.download = name;
  a.href = gatewayUrl(`api/recordings/${encodeURIComponent(name)}`);
  a.setAttribute('aria-label', `Download ${name}`);
  a.addEventListener('click', async (ev) => {
    if (a.href.startsWith('blob:')) return; // fetched: the browser saves it
    ev.preventDefault();
    if (a.getAttribute('aria-busy') === 'true') return;
    a.setAttribute('aria-busy', 'true');
    try {
      a.href = await fetchRecording(name);
      a.click();
    } catch (e) {
      showAlert(`Cannot download ${name}: ${errorText(e)}`);
    } finally {
      a.removeAttribute('aria-busy');
    }
  });
  return a;
}

/** A recording just stopped: a link to download it at once. */
async function showLastRecording(path) {
  const name = baseName(path);
  if (!name || !creds || creds.password === null) return;
  const box = $('last-recording');
  box.hidden = false;
  box.textContent = `Saving ${name}…`;
  try {
    const url = await fetchRecording(name);
    const a = document.createElement('a');
    a.id = 'recording-link';
    a.className = 'download';
    a.href = url;
    a.download = name;
    a.textContent = 'Download';
    a.setAttribute('aria-label', `Download ${name}`);
    const label = document.createElement('span');
    label.className = 'info';
    label.textContent = `Recording saved: ${name}`;
    box.replaceChildren(label, a);
  } catch (e) {
    box.textContent = `The recording ${name} could not be fetched: ${errorText(e)}`;
  }
  loadRecordings();
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/** "today 5:07 PM", or the date and time of another day. */
function when(ms) {
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? `today ${timeFormat.format(d)}` : dateFormat.format(d);
}

/** Lists the user's recordings from GET /api/recordings. */
async function loadRecordings() {
  if (!creds || creds.password === null) return;
  const status = $('recordings-status');
  const list = $('recordings-list');
  status.textContent = 'Loading recordings…';
  let items;
  try {
    const r = await fetch(gatewayUrl('api/recordings'), { headers: { authorization: basicAuth() }, cache: 'no-store' });
    if (!r.ok) throw new Error(r.status === 401 ? 'the gateway refused the credentials' : `${r.status} ${r.statusText}`);
    items = await r.json();
  } catch (e) {
    status.textContent = `Cannot load the recordings: ${errorText(e)}`;
    return;
  }
  for (const url of blobUrls) {
    if (!$('last-recording').contains(document.querySelector(`a[href="${url}"]`))) {
      URL.revokeObjectURL(url);
      blobUrls.delete(url);
    }
  }
  items.sort((a, b) => (b.modified_ms ?? 0) - (a.modified_ms ?? 0));
  list.replaceChildren(...items.map((item) => {
    const li = document.createElement('li');
    li.dataset.name = item.name;
    const info = document.createElement('div');
    info.className = 'info';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = item.name;
    const meta = document.createElement('span');
    meta.className = 'meta';
    const at = item.modified_ms ? when(item.modified_ms) : '';
    meta.textContent = [formatSize(item.size ?? 0), at].filter(Boolean).join(' · ');
    info.append(name, meta);
    li.append(info, recordingLink(item.name, 'Download'));
    return li;
  }));
  status.textContent = items.length ? `${items.length} recording${items.length === 1 ? '' : 's'}` : 'No recordings yet.';
}

// ---- call history (localStorage, per account) ------------------------------------------

function historyAccount() {
  if (creds) return `${creds.user}@${creds.domain}`;
  return `${$('user').value.trim()}@${$('domain').value.trim()}`;
}

const historyKey = () => `sipsimple.history.${historyAccount()}`;

function loadHistory() {
  try {
    const v = JSON.parse(localStorage.getItem(historyKey()) ?? '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function saveHistory(entries) {
  try {
    localStorage.setItem(historyKey(), JSON.stringify(entries.slice(0, HISTORY_MAX)));
  } catch (e) {
    console.warn('cannot save the call history', e);
  }
}

function addHistory(entry) {
  const entries = loadHistory();
  entries.unshift(entry);
  saveHistory(entries);
  renderHistory();
}

const OUTCOME_TEXT = {
  answered: 'answered', missed: 'missed', rejected: 'declined', busy: 'busy',
  failed: 'failed', cancelled: 'cancelled',
};

function renderHistory() {
  const entries = loadHistory();
  $('history-empty').hidden = entries.length > 0;
  $('history-clear').disabled = entries.length === 0;
  $('history-list').replaceChildren(...entries.map((e) => {
    const li = document.createElement('li');
    li.dataset.outcome = e.outcome;
    li.dataset.direction = e.direction;
    const dir = document.createElement('span');
    dir.className = 'dir';
    dir.textContent = e.direction === 'incoming' ? '↙' : '↗';
    dir.setAttribute('aria-hidden', 'true');
    const info = document.createElement('div');
    info.className = 'info';
    const peer = document.createElement('span');
    peer.className = 'peer';
    peer.textContent = peerName(e.peer);
    const meta = document.createElement('span');
    meta.className = 'meta';
    const time = document.createElement('time');
    time.dateTime = new Date(e.start).toISOString();
    time.textContent = when(e.start);
    const parts = [e.direction === 'incoming' ? 'Incoming' : 'Outgoing', time];
    if (e.duration != null) {
      const d = document.createElement('span');
      d.className = 'duration';
      d.textContent = formatDuration(e.duration);
      parts.push(d);
    }
    parts.forEach((p, i) => meta.append(...(i ? [' · ', p] : [p])));
    const outcome = document.createElement('span');
    outcome.className = 'outcome';
    outcome.textContent = OUTCOME_TEXT[e.outcome] ?? e.outcome;
    if (e.reason) outcome.textContent += `: ${e.reason}`;
    if (e.recorded) outcome.textContent += ' · recorded';
    info.append(peer, meta, outcome);
    const back = document.createElement('button');
    back.type = 'button';
    back.className = 'callback secondary small';
    back.textContent = 'Call back';
    back.setAttribute('aria-label', `Call back ${peerName(e.peer)}`);
    back.addEventListener('click', () => callBack(e.peer));
    li.append(dir, info, back);
    return li;
  }));
}

function callBack(peer) {
  $('target').value = peer;
  if (app && media && session === null && !placing && $('reg-state').dataset.state === 'registered') {
    placeCall(peer);
  } else {
    $('target').focus();
  }
}

/** Starts the history entry of a new call. */
function beginHistory(direction, peer) {
  current = { direction, peer, start: Date.now(), duration: null, outcome: null, reason: null, recorded: false };
}

/** Closes the current call's entry: outcome from how it went, duration if it was answered. */
function endHistory() {
  if (!current) return;
  const e = current;
  current = null;
  if (callStarted !== null) {
    e.outcome = 'answered';
    e.duration = Date.now() - callStarted;
  } else if (!e.outcome) {
    e.outcome = e.direction === 'incoming' ? 'missed' : 'failed';
  }
  callStarted = null;
  addHistory(e);
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
    setMedia('failed', `${mediaFailureText(e.detail.error)} (${errorText(e.detail.error)})`);
    showAlert(mediaFailureText(e.detail.error));
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
      case 'failed':
        setMedia('failed', 'the audio connection failed (ICE/DTLS)');
        showAlert('The audio connection failed: the call goes on without sound');
        break;
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

// ---- the account -----------------------------------------------------------------------

/** Shows the sign-in fields, or hides them while an application runs. */
function showSignedIn(on) {
  $('account-panel').dataset.signedIn = String(on);
  $('account-fields').hidden = on;
  $('register').hidden = on;
  $('register').disabled = on;
  $('unregister').hidden = !on;
  $('unregister').disabled = !on;
  $('recordings-refresh').disabled = !on;
}

/**
 * The application ended (signed out, refused or unreachable): the password leaves memory and
 * the recordings listed with it leave the page; the account stays for the call history.
 */
function forgetCredentials() {
  if (creds) creds = { ...creds, password: null };
  recordingsLoaded = false;
  for (const url of blobUrls) URL.revokeObjectURL(url);
  blobUrls.clear();
  $('recordings-list').replaceChildren();
  $('last-recording').hidden = true;
  $('last-recording').replaceChildren();
  $('recordings-status').textContent = 'Sign in to see your recordings.';
}

function registrationFailureText(code, reason) {
  if (code === 401 || code === 403 || code === 404 || code === 407) return 'Wrong user name or password';
  if (code === 503) return 'Service unavailable';
  if (code === null || code === undefined) return 'No answer from the gateway';
  if (code === 423) return 'The registration interval was refused';
  return reason || 'Registration failed';
}


// ---- chat and files ----------------------------------------------------------------------

/** The stream types in effect in the current session (`[]` without one). */
function sessionStreams() {
  if (!app || session === null) return [];
  try { return app.streams(session); } catch { return []; }
}

/** Shows the chat panel and the Add/Remove chat buttons as the current session's streams say. */
function updateChat() {
  const established = !!app && session !== null && ['ESTABLISHED', 'PROPOSING', 'PROPOSED']
    .includes(app.sessionState(session) ?? '');
  const chat = established && sessionStreams().includes('chat');
  $('chat').hidden = !chat && $('chat-log').childElementCount === 0;
  $('chat').dataset.active = String(chat);
  $('chat-input').disabled = !chat;
  $('chat-send').disabled = !chat;
  $('add-chat').disabled = !established || chat;
  $('remove-chat').disabled = !established || !chat;
  $('send-file').disabled = !app;
  updateDesktop(established);
  if (chat) setState($('chat-status'), 'established', `chatting with ${peerName(app.session(session)?.remote_uri)}`);
  else if (!$('chat').hidden) setState($('chat-status'), 'ended', 'chat ended');
}

// ---- desktop sharing -----------------------------------------------------------------------

const DESKTOP = 'desktop-sharing';

function setDesktopState(state, text) {
  $('desktop').dataset.state = state;
  setState($('desktop-status'), state, text);
}

/** The "View desktop" button as the current session's streams say. */
function updateDesktop(established) {
  const viewing = established && sessionStreams().includes(DESKTOP);
  const busy = $('desktop').dataset.state === 'requesting';
  const btn = $('view-desktop');
  btn.disabled = !established || (busy && !viewing);
  btn.textContent = viewing ? 'Stop viewing' : 'View desktop';
  btn.setAttribute('aria-pressed', String(viewing));
}

/** The options of viewDesktop/attachDesktop: the VNC password when one was typed. */
function desktopOptions() {
  const password = $('desktop-password').value;
  return password ? { password } : undefined;
}

/** Shows the desktop section for the current session, its canvas handed to the SDK. */
function showDesktop(id, state, text) {
  app.attachDesktop(id, $('desktop-canvas'), desktopOptions());
  $('desktop').hidden = false;
  setDesktopState(state, text);
}

function toggleDesktop() {
  if (!app || session === null) return;
  const peer = peerName(app.session(session)?.remote_uri);
  try {
    if (sessionStreams().includes(DESKTOP)) {
      app.removeDesktop(session);
      setDesktopState('ended', 'stopped viewing');
      return;
    }
    app.viewDesktop(session, $('desktop-canvas'), desktopOptions());
    $('desktop').hidden = false;
    setDesktopState('requesting', `asking ${peer} to share their desktop…`);
    updateChat();
  } catch (e) {
    showAlert(`Cannot ask for the desktop: ${errorText(e)}`);
  }
}

/** Desktop-sharing notifications of the current session. */
function onDesktopNotification(n) {
  const d = n.data;
  const sid = n.sender?.type === 'Stream' ? n.sender.id.session : n.sender?.id;
  if (session === null || sid !== session) return;
  const peer = () => peerName(app.session(session)?.remote_uri);
  switch (n.name) {
    case 'MediaStreamDidStart':
      if (d.stream === DESKTOP) setDesktopState('viewing', `viewing the desktop of ${peer()}`);
      break;
    case 'MediaStreamDidEnd':
      if (d.stream === DESKTOP && $('desktop').dataset.state !== 'failed') setDesktopState('ended', 'desktop sharing ended');
      break;
    case 'DesktopSharingHandlerDidFail':
      setDesktopState('failed', `desktop sharing failed: ${d.reason}`);
      showAlert(`Desktop sharing failed (${d.context}): ${d.reason}.`);
      if (/password|authentication/i.test(d.reason)) {
        // The VNC server wants a password: ask for it, and View desktop tries again.
        $('desktop-auth').hidden = false;
        $('desktop-password').focus();
      }
      break;
    case 'SIPSessionRejectedStreamProposal':
      if (d.proposer === 'local' && $('desktop').dataset.state === 'requesting') {
        setDesktopState('failed', `${peer()} did not share their desktop (${d.reason})`);
      }
      break;
  }
  updateChat();
}

/** Starts a fresh chat log for a new session. */
function clearChat() {
  $('chat-log').replaceChildren();
  setComposing(false);
  // The last session's desktop too.
  $('desktop').hidden = true;
  $('desktop-auth').hidden = true;
  $('desktop-password').value = '';
  setDesktopState('idle', '');
}

function setComposing(on, refresh = null) {
  clearTimeout(composingTimer);
  composingTimer = null;
  $('composing').hidden = !on;
  if (on) {
    const peer = peerName(app?.session(session)?.remote_uri).split('@')[0] || 'The other party';
    $('composing').textContent = `${peer} is typing…`;
    // An `active` state lapses unless refreshed (RFC 3994); 120 s without a refresh time.
    composingTimer = setTimeout(() => setComposing(false), (refresh ?? 120) * 1000);
  }
}

const TICKS = { sent: '✓', delivered: '✓✓', failed: '✗' };
const TICK_LABELS = { sent: 'sent', delivered: 'delivered', failed: 'not delivered' };

function setTick(li, status, reason = '') {
  li.dataset.status = status;
  const tick = li.querySelector('.tick');
  tick.textContent = TICKS[status];
  tick.title = reason ? `${TICK_LABELS[status]}: ${reason}` : TICK_LABELS[status];
  tick.setAttribute('aria-label', tick.title);
}

function addChatLine(direction, text, messageId) {
  const li = document.createElement('li');
  li.dataset.direction = direction;
  if (messageId) li.dataset.messageId = messageId;
  const who = document.createElement('span');
  who.className = 'visually-hidden';
  who.textContent = direction === 'out' ? 'You: ' : 'They: ';
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  li.append(who, body);
  if (direction === 'out') {
    const tick = document.createElement('span');
    tick.className = 'tick';
    li.append(tick);
    setTick(li, 'sent');
  }
  $('chat-log').append(li);
  $('chat-log').scrollTop = $('chat-log').scrollHeight;
  return li;
}

function chatLine(messageId) {
  return [...$('chat-log').children].find((li) => li.dataset.messageId === messageId) ?? null;
}

function sendChat() {
  const text = $('chat-input').value;
  if (!app || session === null || !text.trim()) return;
  try {
    const id = app.sendMessage(session, text, 'text/plain');
    addChatLine('out', text, id);
    $('chat-input').value = '';
  } catch (e) {
    showAlert(`Cannot send the message: ${errorText(e)}`);
  }
}

function startChat(target) {
  clearAlert();
  try {
    const id = app.connectChat(target);
    session = id;
    clearChat();
    beginHistory('outgoing', target);
    $('call').disabled = true; $('chat-call').disabled = true;
    $('chat-call').disabled = true;
    $('hangup').disabled = false;
    $('call-panel').dataset.call = 'calling';
    setMedia('idle', 'no audio (chat only)');
  } catch (e) {
    setState($('call-state'), 'failed', `Cannot start the chat: ${errorText(e)}`);
    showAlert(`Cannot start the chat: ${errorText(e)}`);
  }
}

function fileProgress(direction, done, total) {
  const bar = $('file-progress');
  bar.hidden = false;
  bar.dataset.direction = direction;
  bar.max = total || 1;
  bar.value = Math.min(done, total || 1);
  const pct = total ? Math.floor((100 * done) / total) : 0;
  setState($('file-status'), direction === 'out' ? 'sending' : 'receiving',
    `${direction === 'out' ? 'sending' : 'receiving'} ${formatSize(done)} of ${formatSize(total)} (${pct} %)`);
}

function sendFile() {
  const file = $('file-input').files?.[0];
  if (!app) return;
  if (!file) { showAlert('Choose a file to send first.'); $('file-input').focus(); return; }
  let target = session;
  if (target === null) {
    let t = $('target').value.trim();
    if (!t) { showAlert('Enter who to send the file to, or start a call first.'); $('target').focus(); return; }
    if (!t.includes('@') && !t.includes(':')) t = `${t}@${$('domain').value}`;
    target = t;
  }
  try {
    const id = app.sendFile(target, file);
    fileProgress('out', 0, file.size);
    setState($('file-status'), 'sending', `offering ${file.name} (${formatSize(file.size)})…`);
    if (session === null) {
      session = id;
      clearChat();
      beginHistory('outgoing', target);
      $('call').disabled = true; $('chat-call').disabled = true;
      $('chat-call').disabled = true;
      $('hangup').disabled = false;
      $('call-panel').dataset.call = 'calling';
      setMedia('idle', 'no audio (file transfer)');
    }
  } catch (e) {
    setState($('file-status'), 'failed', `cannot send the file: ${errorText(e)}`);
    showAlert(`Cannot send the file: ${errorText(e)}`);
  }
}

function showReceivedFile(file) {
  const a = $('received-file');
  if (receivedUrl) URL.revokeObjectURL(receivedUrl);
  receivedUrl = URL.createObjectURL(file.blob);
  a.href = receivedUrl;
  a.download = file.name;
  a.dataset.size = String(file.size);
  a.textContent = `Download ${file.name} (${formatSize(file.size)})`;
  a.hidden = false;
}

/** Chat and file notifications of the current session (sender: the session or one of its streams). */
function onChatNotification(n) {
  const d = n.data;
  const sid = n.sender?.type === 'Stream' ? n.sender.id.session : n.sender?.id;
  if (session === null || sid !== session) return;
  switch (n.name) {
    case 'SIPSessionGotStreamProposal': {
      if (d.proposer !== 'remote') break;
      // Chat and files are taken at once; audio cannot be added to a session without WebRTC.
      // A desktop the peer shares is shown; a browser cannot share its own.
      const viewer = d.streams.includes(DESKTOP) && app.desktopRole(session) === 'viewer';
      const types = d.streams.filter((t) => t === 'chat' || t === 'file-transfer' || (t === DESKTOP && viewer));
      try {
        if (types.length) app.acceptProposal(session, types); else app.rejectProposal(session);
        if (types.includes(DESKTOP)) {
          showDesktop(session, 'requesting', `${peerName(app.session(session)?.remote_uri)} shares their desktop…`);
        } else if (d.streams.includes(DESKTOP)) {
          showAlert('The other party asked to see your desktop: a browser cannot share it.');
        }
      } catch (e) { console.warn(e); }
      break;
    }
    case 'SIPSessionGotStreamUpdate':
    case 'SIPSessionAcceptedStreamProposal':
    case 'SIPSessionRejectedStreamProposal':
      updateChat();
      break;
    case 'SIPSessionGotMessage':
      setComposing(false);
      addChatLine('in', d.content);
      break;
    case 'SIPSessionDidDeliverMessage': {
      const li = chatLine(d.message_id);
      if (li) setTick(li, 'delivered');
      break;
    }
    case 'SIPSessionDidNotDeliverMessage': {
      const li = chatLine(d.message_id);
      if (li) setTick(li, 'failed', `${d.code} ${d.reason}`);
      break;
    }
    case 'ChatStreamGotComposingIndication':
      setComposing(d.state === 'active', d.refresh);
      break;
    case 'FileTransferStreamDidDeliverChunk':
      fileProgress('out', d.transferred_bytes, d.file_size);
      break;
    case 'FileTransferStreamGotChunk':
      fileProgress('in', d.transferred_bytes, d.file_size ?? 0);
      break;
    case 'FileTransferStreamDidFinish': {
      const file = app.receivedFile(session, n.sender.id.index);
      if (d.error) {
        setState($('file-status'), 'failed', `file transfer failed: ${d.error}`);
      } else if (file) {
        const bar = $('file-progress');
        bar.value = bar.max;
        setState($('file-status'), 'received', `received ${file.name} (${formatSize(file.size)})`);
        showReceivedFile(file);
      } else {
        const bar = $('file-progress');
        bar.value = bar.max;
        setState($('file-status'), 'sent', 'file sent');
      }
      break;
    }
  }
}

// ---- notifications ---------------------------------------------------------------------

function onNotification(n) {
  logEvent(n);
  const d = n.data;
  const mine = n.sender?.type === 'Session' && n.sender.id === session;
  onChatNotification(n);
  onDesktopNotification(n);
  switch (n.name) {
    case 'SIPApplicationMSRPRelayDidConnect':
      $('files').dataset.relay = 'connected';
      clearAlert('relay');
      break;
    case 'SIPApplicationMSRPRelayDidFail':
      $('files').dataset.relay = 'failed';
      showAlert(d.delay == null
        ? `Chat and file transfer are not available: ${d.reason}.`
        : `Lost the chat and file relay (${d.reason}); reconnecting in ${Math.round(d.delay / 1000)} s.`, 'relay');
      break;
    case 'SIPAccountRegistrationDidSucceed':
      setState($('reg-state'), 'registered', `registered as ${app.aor}`);
      $('reg-state').title = `contact ${d.contact_uri}, expires in ${d.expires} s`;
      $('call').disabled = session !== null || placing;
      $('chat-call').disabled = session !== null || placing;
      $('send-file').disabled = false;
      $('unregister').disabled = false;
      clearAlert('registration');
      try { localStorage.setItem(LAST_USER_KEY, creds.user); } catch { /* private mode */ }
      if (!recordingsLoaded) {
        recordingsLoaded = true;
        loadRecordings();
      }
      break;
    case 'SIPAccountRegistrationDidFail': {
      const plain = registrationFailureText(d.code, d.reason);
      const detail = statusDetail(d.code, d.reason);
      if (plain === 'Wrong user name or password') {
        // Retrying cannot help: stop, and let the user correct the credentials. The old
        // application's last notifications are not shown (the observer drops them).
        setState($('reg-state'), 'failed', `failed: ${plain} (${detail})`);
        showAlert(`${plain}.`, 'registration');
        const old = app;
        detachMedia();
        app = null;
        old.stop();
        $('call').disabled = true; $('chat-call').disabled = true;
        showSignedIn(false);
        forgetCredentials();
        $('password').focus();
        $('password').select();
      } else if (d.code == null && /transport|closed/i.test(d.reason)) {
        setState($('reg-state'), 'failed', `failed: lost the connection to the gateway (${d.reason})`);
        showAlert('Lost the connection to the gateway; reconnecting…', 'registration');
      } else {
        setState($('reg-state'), 'failed',
          `failed: ${plain} (${detail}); retrying in ${Math.round(d.delay)} s`);
        showAlert(`Cannot sign in: ${plain} (${detail}). Retrying in ${Math.round(d.delay)} s.`, 'registration');
      }
      break;
    }
    case 'SIPAccountRegistrationDidEnd':
      setState($('reg-state'), 'unregistered', 'not registered');
      $('call').disabled = true; $('chat-call').disabled = true;
      break;
    case 'SIPApplicationWillReconnect':
      // The SDK reopens the WebSocket by itself, then registers again.
      setState($('reg-state'), 'reconnecting',
        `reconnecting… (attempt ${d.attempt} in ${(d.delay / 1000).toFixed(1)} s)`);
      $('call').disabled = true; $('chat-call').disabled = true;
      break;
    case 'SIPApplicationDidReconnect':
      setState($('reg-state'), 'registering', 'reconnected, registering…');
      break;
    case 'SIPApplicationDidEnd':
      setState($('reg-state'), 'unregistered', `disconnected (${d.code} ${d.reason})`.replace(/ \)$/, ')'));
      $('call').disabled = true; $('chat-call').disabled = true;
      detachMedia();
      app = null;
      showSignedIn(false);
      forgetCredentials();
      break;
    case 'SIPSessionNewOutgoing':
      setState($('call-state'), 'calling', 'calling…');
      break;
    case 'SIPSessionNewIncoming': {
      const info = app.session(n.sender.id);
      if (session !== null || placing) {
        // One call at a time in this page: a second caller hears busy.
        app.reject(n.sender.id, true);
        addHistory({ direction: 'incoming', peer: info?.remote_uri ?? 'unknown', start: Date.now(),
          duration: null, outcome: 'missed', reason: 'busy on another call', recorded: false });
        break;
      }
      incomingStreams = d.streams ?? [];
      if (incomingStreams.includes(DESKTOP) && app.desktopRole(n.sender.id) !== 'viewer') {
        // The caller wants to see this end's desktop: a browser cannot share it.
        app.reject(n.sender.id, false);
        addHistory({ direction: 'incoming', peer: info?.remote_uri ?? 'unknown', start: Date.now(),
          duration: null, outcome: 'rejected', reason: 'asked to see the desktop', recorded: false });
        showAlert(`${peerName(info?.remote_uri)} asked to see your desktop: a browser cannot share it, so the request was declined.`);
        incomingStreams = [];
        break;
      }
      session = n.sender.id;
      clearChat();
      beginHistory('incoming', info?.remote_uri ?? 'unknown');
      $('incoming-from').textContent = (info?.remote_uri ?? 'unknown')
        + (incomingStreams.includes(DESKTOP) ? ' (sharing their desktop)' : '');
      $('incoming').dataset.streams = incomingStreams.join(' ');
      $('chat-call').disabled = true;
      $('incoming').hidden = false;
      $('call').disabled = true; $('chat-call').disabled = true;
      $('call-panel').dataset.call = 'incoming';
      setState($('call-state'), 'incoming', 'incoming call…');
      $('answer').focus();
      break;
    }
    case 'SIPSessionGotRingIndication':
      if (session !== null && !mine) break;
      setState($('call-state'), 'ringing', 'ringing…');
      break;
    case 'SIPSessionDidStart':
      if (!mine) break;
      setState($('call-state'), 'established', 'established');
      $('incoming').hidden = true;
      $('hangup').disabled = false;
      showInCall(true);
      startTimer();
      keepFocus($('hangup'));
      if (sessionStreams().includes('chat')) $('chat-input').focus();
      break;
    case 'SIPSessionGotHoldRequest':
      if (!mine) break;
      setState($('call-state'), 'held', `on hold (by ${d.originator})`);
      if (d.originator === 'local') { $('hold').textContent = 'Resume'; $('hold').setAttribute('aria-pressed', 'true'); }
      break;
    case 'SIPSessionGotUnholdRequest': {
      if (!mine) break;
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
      if (!mine) break;
      $('dtmf-received').textContent += d.digit;
      break;
    case 'SIPSessionWillStartRecordingAudio':
      if (mine) setRecording('starting');
      break;
    case 'SIPSessionDidStartRecordingAudio':
      if (!mine) break;
      setRecording('on');
      if (current) current.recorded = true;
      break;
    case 'SIPSessionWillStopRecordingAudio':
      if (mine) setRecording('stopping');
      break;
    case 'SIPSessionDidStopRecordingAudio':
      if (!mine) break;
      setRecording('off');
      showLastRecording(d.file_name);
      break;
    case 'SIPSessionDidFail': {
      if (!mine) break;
      const plain = callFailureText(d.code, d.reason);
      const detail = statusDetail(d.code, d.reason);
      const incoming = current?.direction === 'incoming';
      if (current) {
        if (incoming) {
          current.outcome = d.originator === 'local' ? 'rejected' : 'missed';
          if (d.originator === 'local' && d.code === 486) current.reason = 'busy';
        } else if (d.code === 486 || d.code === 600) {
          current.outcome = 'busy';
        } else if (d.code === 603) {
          current.outcome = 'rejected';
        } else if (d.originator === 'local' && d.code === 487) {
          current.outcome = 'cancelled';
        } else {
          current.outcome = 'failed';
          current.reason = `${plain} (${detail})`;
        }
      }
      if (d.originator === 'local') {
        // This end gave up or declined: no error to report.
        const text = incoming ? (d.code === 486 ? 'Rejected as busy' : 'Declined') : plain;
        setState($('call-state'), 'ended', `${text} (${detail})`);
      } else if (incoming) {
        setState($('call-state'), 'ended', `Missed call from ${peerName(current?.peer)} (${detail})`);
      } else {
        setState($('call-state'), 'failed', `${plain} (${detail})`);
        showAlert(`${plain}: the call to ${peerName(current?.peer)} did not go through (${detail}).`);
      }
      break;
    }
    case 'SIPSessionDidEnd':
      if (!mine) break;
      if (!['failed', 'ended'].includes($('call-state').dataset.state) || callStarted !== null) {
        const took = callStarted !== null ? ` after ${formatDuration(Date.now() - callStarted)}` : '';
        setState($('call-state'), 'ended', `ended by ${d.originator}${took}`);
      }
      if ($('media-state').dataset.state !== 'failed') setMedia('idle', 'no call');
      endHistory();
      resetCallControls();
      break;
  }
}

// ---- user actions ----------------------------------------------------------------------

async function placeCall(target) {
  placing = true;
  clearAlert();
  $('call').disabled = true; $('chat-call').disabled = true;
  $('call-panel').dataset.call = 'calling';
  setState($('call-state'), 'starting', 'opening the microphone…');
  setMedia('starting', 'opening the microphone…');
  beginHistory('outgoing', target);
  const entry = current;
  try {
    const id = await media.call(target);
    session = id;
    $('hangup').disabled = false;
    keepFocus($('hangup'));
    watchConnection(id, 'waiting for the answer');
  } catch (e) {
    // No microphone (permission refused, no device, an insecure page) or a bad target: no
    // call was placed.
    const plain = /not a SIP URI|invalid|target/i.test(errorText(e)) && !/microphone/i.test(errorText(e))
      ? 'Not a valid address' : mediaFailureText(e);
    setState($('call-state'), 'failed', `Cannot place the call: ${plain} (${errorText(e)})`);
    setMedia('failed', errorText(e));
    showAlert(`Cannot place the call: ${plain}.`);
    if (current === entry) {
      entry.outcome = 'failed';
      entry.reason = plain;
      endHistory();
    }
    $('call').disabled = !app;
    $('call-panel').dataset.call = 'idle';
    keepFocus($('target'));
  } finally {
    placing = false;
  }
}

async function answerCall(id) {
  if (!incomingStreams.includes('audio')) {
    // Chat, a file or a shared desktop only: nothing for WebRTC to answer.
    try {
      app.accept(id);
      setMedia('idle', 'no audio');
      if (incomingStreams.includes(DESKTOP)) {
        showDesktop(id, 'requesting', `connecting to the desktop of ${peerName(app.session(id)?.remote_uri)}…`);
      }
    } catch (e) { setState($('call-state'), 'failed', `failed: ${errorText(e)}`); }
    return;
  }
  for (const b of ['answer', 'decline', 'busy']) $(b).disabled = true;
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
      showAlert(`Answered without audio: ${mediaFailureText(e)}.`);
      try { app.accept(id); } catch (e2) { setState($('call-state'), 'failed', `failed: ${errorText(e2)}`); }
    }
  } finally {
    for (const b of ['answer', 'decline', 'busy']) $(b).disabled = false;
  }
}

function rejectCall(busy) {
  if (!app || session === null) return;
  // The core ends a rejected session at once (SIPSessionDidEnd inside reject()), without
  // SIPSessionDidFail: what to show and keep is set first.
  const entry = current;
  if (entry) {
    entry.outcome = 'rejected';
    entry.reason = busy ? 'busy' : null;
  }
  setState($('call-state'), 'ended', busy ? 'Rejected as busy (486 Busy Here)' : 'Declined (603 Decline)');
  try {
    app.reject(session, busy);
  } catch (e) {
    console.warn(e);
    if (entry) entry.outcome = null;
    setState($('call-state'), 'incoming', 'incoming call…');
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

async function signIn() {
  clearAlert();
  if (app) { detachMedia(); app.stop(); app = null; }
  const user = $('user').value.trim();
  const domain = $('domain').value.trim();
  const server = $('server').value.trim();
  if (!user) { showAlert('Enter your user name.'); $('user').focus(); return; }
  if (!domain || !/^wss?:\/\//i.test(server)) {
    $('server-settings').open = true;
    showAlert(!domain ? 'Enter the domain (server settings).' : 'The gateway address must start with ws:// or wss://.');
    (!domain ? $('domain') : $('server')).focus();
    return;
  }
  let base;
  try {
    const u = new URL(server);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = '/';
    u.search = '';
    u.hash = '';
    base = u.href;
  } catch {
    showAlert(`The gateway address ${server} is not a valid URL.`);
    return;
  }
  let started;
  try {
    started = new SIPApplication({ server, id: `${user}@${domain}`, password: $('password').value });
  } catch (e) {
    setState($('reg-state'), 'failed', `failed: ${errorText(e)}`);
    showAlert(`Cannot sign in: ${errorText(e)}`);
    return;
  }
  app = started;
  creds = { user, domain, password: $('password').value, base };
  recordingsLoaded = false;
  renderHistory();
  // Only the notifications of the application in use: an old one may still be ending.
  app.addObserver((n) => { if (app === started) onNotification(n); });
  attachMedia();
  setState($('reg-state'), 'registering', 'registering…');
  showSignedIn(true);
  $('unregister').disabled = true;
  try {
    await app.start();
    $('unregister').disabled = false;
  } catch (e) {
    if (app !== started && app !== null) return;
    setState($('reg-state'), 'failed', `failed: Cannot reach the gateway at ${server} (${errorText(e)})`);
    showAlert(`Cannot reach the gateway at ${server}. Check the address and that the gateway is running.`, 'registration');
    if (app === started) detachMedia();
    app = null;
    showSignedIn(false);
    forgetCredentials();
  }
}

async function main() {
  await init();
  const cfg = await fetch('api/config').then((r) => r.json()).catch(() => ({}));
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  $('domain').value = cfg.domain ?? location.hostname;
  $('server').value = `${scheme}://${location.host}${cfg.ws_path ?? '/ws'}`;
  try {
    const last = localStorage.getItem(LAST_USER_KEY);
    if (last) $('user').value = last;
  } catch { /* storage disabled */ }
  showSignedIn(false);
  renderHistory();
  if (!BrowserMedia.supported) {
    setMedia('failed', 'no microphone access here (the page needs https or localhost): calls are not possible');
    showAlert('This page cannot use the microphone here (it needs https or localhost): calls are not possible.');
  }
  listMicrophones();
  navigator.mediaDevices?.addEventListener?.('devicechange', listMicrophones);

  $('account-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    signIn();
  });
  for (const id of ['user', 'domain']) $(id).addEventListener('input', () => { if (!creds || !app) { creds = null; renderHistory(); } });

  $('unregister').addEventListener('click', () => {
    app?.stop();
    $('unregister').disabled = true;
  });

  $('alert-dismiss').addEventListener('click', () => { clearAlert(); keepFocus($('target')); });

  $('call-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!app || !media || session !== null || placing) return;
    let target = $('target').value.trim();
    if (!target) return;
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

  $('chat-call').addEventListener('click', () => {
    if (!app || session !== null || placing) return;
    let target = $('target').value.trim();
    if (!target) { $('target').focus(); $('target').reportValidity?.(); return; }
    if (!target.includes('@') && !target.includes(':')) target = `${target}@${$('domain').value}`;
    startChat(target);
  });
  $('add-chat').addEventListener('click', () => {
    if (!app || session === null) return;
    try { app.addChat(session); } catch (e) { showAlert(`Cannot add chat: ${errorText(e)}`); }
  });
  $('view-desktop').addEventListener('click', () => toggleDesktop());
  $('desktop-password').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !$('view-desktop').disabled) toggleDesktop();
  });
  $('remove-chat').addEventListener('click', () => {
    if (!app || session === null) return;
    try { app.removeChat(session); } catch (e) { showAlert(`Cannot remove chat: ${errorText(e)}`); }
  });
  $('chat-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendChat();
  });
  $('chat-input').addEventListener('input', () => {
    if (!app || session === null) return;
    try { app.typing(session); } catch { /* no chat stream (yet) */ }
  });
  $('send-file').addEventListener('click', () => sendFile());
  $('decline').addEventListener('click', () => rejectCall(false));
  $('busy').addEventListener('click', () => rejectCall(true));

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

  $('record').addEventListener('click', () => {
    if (!app || session === null) return;
    try {
      if (recording === 'on') app.stopRecordingAudio(session);
      else if (recording === 'off') app.startRecordingAudio(session);
    } catch (e) {
      showAlert(`Cannot ${recording === 'on' ? 'stop' : 'start'} the recording: ${errorText(e)}`);
    }
  });

  $('recordings-refresh').addEventListener('click', () => loadRecordings());

  $('history-clear').addEventListener('click', () => {
    try { localStorage.removeItem(historyKey()); } catch { /* storage disabled */ }
    renderHistory();
    $('target').focus();
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
      .catch((e) => {
        setMedia('failed', `microphone: ${errorText(e)}`);
        showAlert(mediaFailureText(e));
      });
  });
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  document.body.dataset.ready = 'error';
  setState($('reg-state'), 'failed', `the SDK failed to load: ${errorText(e)}`);
  showAlert(`The softphone failed to load: ${errorText(e)}`);
});

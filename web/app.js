// The softphone page: a thin UI over the sipsimple-wasm SDK. All SIP happens in the SDK;
// this file only maps notifications to what the user sees.
import init, { SIPApplication } from './pkg/sipsimple_wasm.js';

const $ = (id) => document.getElementById(id);
let app = null;
let session = null;

function setState(el, state, text) {
  el.dataset.state = state;
  el.textContent = text;
}

function logEvent(n) {
  const li = document.createElement('li');
  li.dataset.name = n.name;
  li.textContent = `${n.timestamp.toLocaleTimeString()} ${n.name} ${JSON.stringify(n.data)}`;
  $('events').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

function onNotification(n) {
  logEvent(n);
  const d = n.data;
  switch (n.name) {
    case 'SIPAccountRegistrationDidSucceed':
      setState($('reg-state'), 'registered', `registered as ${app.aor} (expires in ${d.expires} s)`);
      $('reg-state').title = `contact ${d.contact_uri}`;
      $('call').disabled = false;
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
      app = null;
      break;
    case 'SIPSessionNewOutgoing':
      setState($('call-state'), 'calling', 'calling…');
      break;
    case 'SIPSessionNewIncoming': {
      if (session !== null) {
        // One call at a time in this page: a second caller hears busy.
        app.reject(n.sender.id, true);
        break;
      }
      session = n.sender.id;
      const info = app.session(session);
      $('incoming-from').textContent = info?.remote_uri ?? 'unknown';
      $('incoming').hidden = false;
      $('call').disabled = true;
      setState($('call-state'), 'incoming', 'incoming call…');
      break;
    }
    case 'SIPSessionGotRingIndication':
      setState($('call-state'), 'ringing', 'ringing…');
      break;
    case 'SIPSessionDidStart':
      setState($('call-state'), 'established', 'established');
      $('incoming').hidden = true;
      $('hangup').disabled = false;
      $('hold').disabled = false;
      break;
    case 'SIPSessionGotHoldRequest':
      setState($('call-state'), 'held', `on hold (by ${d.originator})`);
      if (d.originator === 'local') { $('hold').textContent = 'Resume'; $('hold').setAttribute('aria-pressed', 'true'); }
      break;
    case 'SIPSessionGotUnholdRequest': {
      const info = app.session(n.sender.id);
      if (info?.on_hold) {
        setState($('call-state'), 'held', `on hold (by ${info.on_hold_by_local ? 'local' : 'remote'})`);
      } else {
        setState($('call-state'), 'established', 'established');
      }
      if (d.originator === 'local') { $('hold').textContent = 'Hold'; $('hold').setAttribute('aria-pressed', 'false'); }
      break;
    }
    case 'SIPSessionDidFail':
      if (n.sender.id !== session) break;
      setState($('call-state'), 'failed', `failed: ${d.code} ${d.reason}`);
      break;
    case 'SIPSessionDidEnd':
      if (n.sender.id !== session) break;
      if ($('call-state').dataset.state !== 'failed') {
        setState($('call-state'), 'ended', `ended by ${d.originator}`);
      }
      session = null;
      $('incoming').hidden = true;
      $('hangup').disabled = true;
      $('hold').disabled = true;
      $('hold').textContent = 'Hold';
      $('call').disabled = !app;
      break;
  }
}

async function main() {
  await init();
  const cfg = await fetch('api/config').then((r) => r.json()).catch(() => ({}));
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  $('domain').value = cfg.domain ?? location.hostname;
  $('server').value = `${scheme}://${location.host}${cfg.ws_path ?? '/ws'}`;

  $('account-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (app) app.stop();
    try {
      app = new SIPApplication({
        server: $('server').value,
        id: `${$('user').value}@${$('domain').value}`,
        password: $('password').value,
      });
    } catch (e) {
      setState($('reg-state'), 'failed', `failed: ${e.message ?? e}`);
      return;
    }
    app.addObserver(onNotification);
    setState($('reg-state'), 'registering', 'registering…');
    $('register').disabled = true;
    try {
      await app.start();
    } catch (e) {
      setState($('reg-state'), 'failed', `failed: ${e.message ?? e}`);
      $('register').disabled = false;
      app = null;
    }
  });

  $('unregister').addEventListener('click', () => {
    app?.stop();
    $('unregister').disabled = true;
  });

  $('call-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!app) return;
    let target = $('target').value.trim();
    if (!target.includes('@') && !target.includes(':')) target = `${target}@${$('domain').value}`;
    try {
      session = app.connect(target);
      $('hangup').disabled = false;
      $('call').disabled = true;
    } catch (e) {
      setState($('call-state'), 'failed', `failed: ${e.message ?? e}`);
    }
  });

  $('hangup').addEventListener('click', () => {
    if (app && session !== null) {
      try { app.end(session); } catch (e) { console.warn(e); }
    }
  });
  $('answer').addEventListener('click', () => {
    if (app && session !== null) {
      try { app.accept(session); } catch (e) { setState($('call-state'), 'failed', `failed: ${e.message ?? e}`); }
    }
  });

  $('decline').addEventListener('click', () => {
    if (app && session !== null) {
      try { app.reject(session, false); } catch (e) { console.warn(e); }
    }
  });

  $('hold').addEventListener('click', () => {
    if (!app || session === null) return;
    const info = app.session(session);
    try {
      if (info?.on_hold_by_local) app.unhold(session); else app.hold(session);
    } catch (e) { console.warn(e); }
  });
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  document.body.dataset.ready = 'error';
  setState($('reg-state'), 'failed', `the SDK failed to load: ${e.message ?? e}`);
});

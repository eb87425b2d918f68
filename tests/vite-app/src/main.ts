// A fresh app using the packed SDK the way its README shows: the gateway, the account and
// an optional call target come from the query string
// (?server=ws://127.0.0.1:8080/ws&id=alice@sipsimple.local&password=...&target=sip:...).
// The page's state is in <body data-state> and every notification in window.sdkEvents, for
// the e2e test (tests/e2e/sdk_package.test.mjs).
import init, { SIPApplication, type Notification } from '@sipsimple/client';

declare global {
  interface Window {
    sdkApp?: SIPApplication;
    sdkEvents: Notification[];
    sdkError?: string;
    sdkFiltered: { byName: number[]; bySession: string[]; on: number; offed: number };
  }
}

const params = new URLSearchParams(location.search);
const setState = (state: string, text = state) => {
  document.body.dataset.state = state;
  document.getElementById('state')!.textContent = text;
};
window.sdkEvents = [];
window.sdkFiltered = { byName: [], bySession: [], on: 0, offed: 0 };

async function main() {
  await init(); // fetches the .wasm Vite emitted beside the bundle
  const app = new SIPApplication({
    server: params.get('server') ?? `ws://${location.host}/ws`,
    id: params.get('id') ?? 'alice@sipsimple.local',
    password: params.get('password') ?? '',
  });
  window.sdkApp = app;
  const target = params.get('target');
  const hangupAfter = Number(params.get('hangupAfter') ?? 300);
  let callId: number | undefined;

  // The notification centre's filters: by name (the handler's type is narrowed), by name and
  // sender type, and the EventTarget-style on/off.
  app.addObserver('SIPAccountRegistrationDidSucceed', (n) => window.sdkFiltered.byName.push(n.data.code));
  app.addObserver('*', 'Session', (n) => window.sdkFiltered.bySession.push(n.name));
  const removed = () => { window.sdkFiltered.offed += 1; };
  app.on('SIPSessionDidStart', removed);
  app.off('SIPSessionDidStart', removed);
  app.on('SIPSessionDidEnd', () => { window.sdkFiltered.on += 1; });

  app.addObserver((n) => {
    window.sdkEvents.push(n);
    const li = document.createElement('li');
    li.textContent = n.name;
    document.getElementById('log')!.append(li);
    switch (n.name) {
      case 'SIPAccountRegistrationDidSucceed':
        setState('registered', `registered as ${app.aor} for ${n.data.expires} s`);
        if (target && callId === undefined) callId = app.connect(target);
        break;
      case 'SIPAccountRegistrationDidFail':
        setState('failed', `registration failed: ${n.data.code ?? 'no response'} ${n.data.reason}`);
        break;
      case 'SIPSessionChangedState':
        if (n.data.state === 'ESTABLISHED') setState('established');
        break;
      case 'SIPSessionDidStart':
        setTimeout(() => app.end(n.sender.id), hangupAfter);
        break;
      case 'SIPSessionDidFail':
        setState('call-failed', `call failed: ${n.data.code} ${n.data.reason}`);
        break;
      case 'SIPSessionDidEnd':
        setState('ended', `call ended by ${n.data.originator}`);
        app.stop();
        break;
      case 'SIPApplicationDidEnd':
        setState('stopped', `stopped (WebSocket closed with ${n.data.code})`);
        break;
    }
  });
  await app.start();
}

main().catch((e: unknown) => {
  window.sdkError = String(e);
  setState('error', `error: ${e}`);
});

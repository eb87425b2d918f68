// Interop with JsSIP, the most used JavaScript SIP stack, against the gateway:
// - JsSIP in Node (its WebSocketInterface over the `ws` package) registers with digest over
//   WebSocket: the right password gives `registered`, a wrong one `registrationFailed` 403;
// - JsSIP in headless Chromium (bundled from node_modules with esbuild) calls a SIPp UAS
//   through the gateway with a real RTCPeerConnection (fake capture device): the gateway
//   anchors the media (WebRTC towards JsSIP, RTP/AVP PCMU towards SIPp, which echoes it),
//   JsSIP confirms the call, receives audio back and hangs up; SIPp counts one successful call.
// Everything runs on loopback and is stopped by the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import JsSIP from 'jssip';
import { build } from 'esbuild';
import { launchBrowser, startGateway, startSippUas, startStaticServer, freeUdpPort } from './lib.mjs';

const require = createRequire(import.meta.url);

// JsSIP's WebSocketInterface uses the global WebSocket (Node 20 has none without a flag).
globalThis.WebSocket ??= WebSocket;
JsSIP.debug.disable();

const PASSWORD = 'jssip-interop-9';
let gateway;

before(async () => {
  gateway = await startGateway({ alice: PASSWORD });
});

after(async () => {
  await gateway?.stop();
});

const wsUrl = () => `${gateway.http.replace(/^http/, 'ws')}ws`;

/** Registers a JsSIP UA in Node; resolves with the first registered/registrationFailed event. */
function registerInNode(password) {
  const socket = new JsSIP.WebSocketInterface(wsUrl());
  const ua = new JsSIP.UA({
    sockets: [socket], uri: `sip:alice@${gateway.domain}`, password,
    register: true, session_timers: false, connection_recovery_min_interval: 60,
    connection_recovery_max_interval: 60,
  });
  const outcome = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('JsSIP: no registration outcome within 10 s')), 10000);
    ua.on('registered', (e) => { clearTimeout(timer); ok({ event: 'registered', code: e.response.status_code, response: e.response }); });
    ua.on('registrationFailed', (e) => {
      clearTimeout(timer);
      ok({ event: 'registrationFailed', code: e.response?.status_code ?? null, cause: e.cause });
    });
  });
  ua.start();
  return { ua, outcome };
}

/** Stops a UA: unregisters when registered (JsSIP closes its WebSocket 2 s later). */
function stopUa(ua) {
  return new Promise((ok) => {
    if (!ua.isRegistered()) { ua.stop(); ok(); return; }
    const timer = setTimeout(ok, 3000);
    ua.on('unregistered', () => { clearTimeout(timer); ok(); });
    ua.stop();
  });
}

test('JsSIP in Node registers over WebSocket with digest', async () => {
  const { ua, outcome } = registerInNode(PASSWORD);
  try {
    const r = await outcome;
    assert.equal(r.event, 'registered', JSON.stringify(r.cause));
    assert.equal(r.code, 200);
    // The registrar echoes JsSIP's binding (its Contact carries a `.invalid` host, RFC 7118).
    assert.match(r.response.getHeader('Contact') ?? '', /\.invalid/);
  } finally {
    await stopUa(ua);
  }
});

test('JsSIP in Node with a wrong password: registrationFailed with 403', async () => {
  const { ua, outcome } = registerInNode('not-the-password');
  try {
    const r = await outcome;
    assert.equal(r.event, 'registrationFailed');
    assert.equal(r.code, 403, `cause: ${r.cause}`);
  } finally {
    await stopUa(ua);
  }
});

/** JsSIP's npm package ships no browser build: bundle it (an IIFE defining `JsSIP`). */
async function jssipBundle() {
  const out = await build({
    entryPoints: [require.resolve('jssip')], bundle: true, format: 'iife', globalName: 'JsSIP',
    platform: 'browser', minify: true, write: false, logLevel: 'silent',
  });
  return out.outputFiles[0].contents;
}

test('JsSIP in Chromium calls SIPp through the gateway, which anchors the media (WebRTC to RTP/AVP PCMU)', async () => {
  const site = await startStaticServer({
    files: {
      '/index.html': '<!doctype html><meta charset="utf-8"><title>JsSIP</title><script src="jssip.js"></script>',
      '/jssip.js': await jssipBundle(),
    },
  });
  const browser = await launchBrowser();
  const port = await freeUdpPort();
  // SIPp answers with plain RTP/AVP PCMU and echoes the RTP it gets: the gateway anchors the
  // call (JsSIP's WebRTC offer becomes a plain offer, SIPp's answer a WebRTC answer from the
  // gateway's own peer connection), so JsSIP hears its own microphone back, transcoded twice.
  const sipp = startSippUas(port, null, ['-rtp_echo']);
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(site.url);
    // JSSIP_DEBUG=1 prints JsSIP's own log (every SIP message) and, at the end, SIPp's and
    // the gateway's output.
    if (process.env.JSSIP_DEBUG) page.on('console', (m) => console.log('page:', m.text()));
    const result = await page.evaluate(async ({ ws, uri, password, target, debug }) => {
      if (debug) JsSIP.debug.enable('JsSIP:*');
      const events = [];
      const ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(ws)], uri, password,
        register: true, session_timers: false });
      const done = new Promise((resolve) => {
        const timer = setTimeout(() => resolve({ events, error: 'timeout' }), 20000);
        const finish = (r) => { clearTimeout(timer); resolve(r); };
        ua.on('registrationFailed', (e) => finish({ events, error: `registrationFailed ${e.cause}` }));
        ua.on('registered', () => {
          events.push('registered');
          const session = ua.call(target, {
            mediaConstraints: { audio: true, video: false },
            pcConfig: { iceServers: [] },
            eventHandlers: {
              progress: (e) => events.push(`progress ${e.response?.status_code}`),
              accepted: (e) => events.push(`accepted ${e.response?.status_code}`),
              confirmed: () => {
                events.push('confirmed');
                // Audio must come back through the relay before the call ends.
                const started = Date.now();
                const poll = async () => {
                  let received = 0;
                  (await session.connection.getStats()).forEach((r) => {
                    if (r.type === 'inbound-rtp' && r.kind === 'audio') received = r.packetsReceived;
                  });
                  if (received > 25 || Date.now() - started > 8000) {
                    events.push(received > 25 ? 'audio received' : `audio missing (${received} packets)`);
                    session.terminate();
                  } else {
                    setTimeout(poll, 200);
                  }
                };
                poll();
              },
              ended: (e) => { events.push(`ended ${e.originator} ${e.cause}`); finish({ events }); },
              failed: (e) => { events.push(`failed ${e.originator} ${e.cause}`); finish({ events }); },
            },
          });
          events.push(`pc ${session.connection ? 'created' : 'missing'}`);
        });
      });
      ua.start();
      const r = await done;
      ua.stop();
      return r;
    }, { ws: wsUrl(), uri: `sip:alice@${gateway.domain}`, password: PASSWORD, target: `sip:service@127.0.0.1:${port}`,
      debug: Boolean(process.env.JSSIP_DEBUG) });

    if (process.env.JSSIP_DEBUG) {
      console.log('SIPp:', (await sipp.result).output.slice(-3000));
      console.log('gateway:', gateway.logs().slice(-5000));
    }
    assert.equal(result.error, undefined, JSON.stringify(result));
    assert.deepEqual(result.events, ['registered', 'pc created', 'progress 180', 'accepted 200', 'confirmed',
      'audio received', 'ended local Terminated'], JSON.stringify(result));
    const { code, stats, output } = await sipp.result;
    assert.equal(code, 0, `SIPp failed: ${output}`);
    assert.equal(stats['SuccessfulCall(C)'], '1', `SIPp statistics: ${JSON.stringify(stats)}`);
    assert.equal(stats['FailedCall(C)'], '0');
    assert.deepEqual(errors, []);
  } finally {
    sipp.stop();
    await browser.close();
    await site.stop();
  }
});

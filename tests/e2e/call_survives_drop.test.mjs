// A call survives a short WebSocket drop: Alice's page loses its connection to the gateway
// in the middle of a call with Bob (the socket is closed under the SDK), the SDK reconnects
// and registers again (RFC 5626 outbound: the registrar answers `Require: outbound`), and
// the call goes on: Bob's hold and unhold reach Alice over the new connection, audio keeps
// flowing (WebRTC is not tied to the WebSocket), and Alice's hang-up reaches Bob. Uses the
// packed SDK (target/npm/package) and its managers; everything on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, startGateway, startStaticServer } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const PACKAGE = process.env.SIPSIMPLE_NPM_PACKAGE ?? resolve(here, '..', '..', 'target', 'npm', 'package');
const USERS = { alice: 'drop-a1', bob: 'drop-b2' };

// The page keeps a hand on the WebSockets it opens, so that the test can drop the SIP one.
const PAGE = `<!doctype html><meta charset="utf-8"><title>drop</title>
<audio id="remote" autoplay></audio>
<script type="module">
const Native = window.WebSocket;
window.sockets = [];
window.WebSocket = class extends Native {
  constructor(...args) { super(...args); window.sockets.push(this); }
};
import init, * as sdk from './index.js';
await init();
window.sdk = sdk;
window.log = [];
window.ready = true;
</script>`;

let gateway;
let site;
let browser;

before(async () => {
  if (!existsSync(join(PACKAGE, 'managers.js'))) {
    throw new Error(`${PACKAGE}/managers.js is missing: run \`cargo xtask pack\` (cargo xtask test does)`);
  }
  gateway = await startGateway(USERS);
  site = await startStaticServer({ dir: PACKAGE, files: { '/index.html': PAGE } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await gateway?.stop();
});

const waitFor = (page, f, arg, timeout = 15000) => page.waitForFunction(f, arg, { timeout });
const packets = (page) => page.evaluate(async () => (await window.call.audioStatistics()).packetsReceived);

test('a call survives a short WebSocket drop', { timeout: 90000 }, async () => {
  const server = `${gateway.http.replace(/^http/, 'ws')}ws`;
  const pages = {};
  const contexts = [];
  try {
    for (const user of ['alice', 'bob']) {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(site.url);
      await page.waitForFunction(() => window.ready === true);
      await page.evaluate(async ({ id, server, password }) => {
        const { AccountManager, SessionManager, loopbackOnly } = window.sdk;
        window.accounts = new AccountManager();
        window.sessions = new SessionManager(window.accounts, {
          media: { candidateFilter: loopbackOnly, audioElement: document.getElementById('remote') },
        });
        window.accounts.addObserver((n) => window.log.push(n.name));
        window.sessions.on('SIPSessionNewIncoming', (n) => { window.call = n.session; n.session.accept(); });
        await window.accounts.start();
        await window.accounts.addAccount({ id, server, password });
      }, { id: `${user}@${gateway.domain}`, server, password: USERS[user] });
      await waitFor(page, () => window.accounts.getAccounts()[0].registrationState === 'registered');
      pages[user] = page;
    }
    const { alice, bob } = pages;
    await alice.evaluate(async (target) => { window.call = await window.sessions.connect(target); }, `sip:bob@${gateway.domain}`);
    await waitFor(bob, () => window.call?.state === 'ESTABLISHED');
    await waitFor(alice, () => window.call.state === 'ESTABLISHED');
    await waitFor(alice, async () => (await window.call.audioStatistics()).packetsReceived > 10);

    // The drop: Alice's SIP WebSocket closes under the SDK; it reconnects and registers again.
    const dropped = await alice.evaluate(() => {
      window.log.length = 0;
      const sip = window.sockets.filter((s) => s.protocol === 'sip' && s.readyState === WebSocket.OPEN);
      sip.forEach((s) => s.close());
      return sip.length;
    });
    assert.equal(dropped, 1, 'one open SIP WebSocket to drop');
    await waitFor(alice, () => window.log.includes('SIPApplicationDidReconnect')
      && window.log.lastIndexOf('SIPAccountRegistrationDidSucceed') > window.log.indexOf('SIPApplicationDidReconnect'));
    const afterDrop = await alice.evaluate(() => ({ log: [...window.log], state: window.call.state }));
    assert.equal(afterDrop.state, 'ESTABLISHED', `the call ended with the drop: ${JSON.stringify(afterDrop.log)}`);
    assert.ok(!afterDrop.log.includes('SIPSessionDidFail'), JSON.stringify(afterDrop.log));

    // Requests from Bob reach Alice over her new connection.
    await bob.evaluate(() => window.call.hold());
    await waitFor(alice, () => window.call.info?.on_hold_by_remote === true);
    await bob.evaluate(() => window.call.unhold());
    await waitFor(alice, () => window.call.info?.on_hold_by_remote === false);

    // Audio still flows to Alice after the drop.
    const before = await packets(alice);
    await waitFor(alice, async (n) => (await window.call.audioStatistics()).packetsReceived > n + 25, before);

    // Alice's hang-up reaches Bob.
    await alice.evaluate(() => window.call.end());
    await waitFor(bob, () => window.call.state === 'TERMINATED');
    assert.equal(await bob.evaluate(() => window.call.endReason.originator), 'remote');
  } finally {
    for (const c of contexts) await c.close();
  }
});

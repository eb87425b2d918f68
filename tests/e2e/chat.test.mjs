// Chat and file transfer in the softphone page (issues #7/#8): MSRP through the gateway's
// relay (RFC 4976) over the MSRP WebSocket (RFC 7977). Two browser contexts, alice and bob,
// sign in; alice starts a chat-only session with bob; messages go both ways with delivery
// ticks turning ✓✓ and "is typing…" shown on the other side; chat is removed and added back
// in-call; alice sends bob a 20 MB file made of random bytes in her page, bob's page shows the
// progress and a download link, and the SHA-1 of the received Blob equals the sent one's.
// Then a native peer (shared/examples/msrp_peer.rs: SIP over UDP with digest, the relay over
// TCP) chats with bob's page both ways and sends it a 5 MB file, SHA-1 checked in the page.
// Everything runs on loopback and is stopped by the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, openSoftphone, startGateway, freeTcpPort } from './lib.mjs';
import { startMsrpPeer } from './peers.mjs';

const USERS = { alice: 'looking-glass-7', bob: 'tweedle-dum-5', carol: 'red-queen-9' };
const FILE_SIZE = 20 * 1024 * 1024;

let gateway;
let browser;
let msrpTcp;

before(async () => {
  msrpTcp = await freeTcpPort();
  gateway = await startGateway(USERS, { env: {
    SIPSIMPLE_MSRP_TCP: `127.0.0.1:${msrpTcp}`, SIPSIMPLE_SIP_TCP: 'off', SIPSIMPLE_SIP_TLS: 'off',
  } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  if (process.env.E2E_DEBUG) console.log(gateway?.logs().slice(-20000));
});

const openPage = (user) => openSoftphone(browser, gateway, user,
  { password: USERS[user], viewport: { width: 1280, height: 900 }, relay: true });

const established = (page) => page.waitForSelector('#call-state[data-state="established"]', { timeout: 15000 });
const chatActive = (page, on = true) => page.waitForSelector(`#chat[data-active="${on}"]`, { timeout: 15000 });

/** Types `text` in the chat box (the other side sees "is typing…"), then sends it. */
async function say(from, to, text, n) {
  await from.page.click('#chat-input');
  await from.page.keyboard.type(text.slice(0, 5), { delay: 30 });
  await to.page.waitForSelector('#composing:not([hidden])', { timeout: 10000 });
  await from.page.keyboard.type(text.slice(5), { delay: 5 });
  await from.page.click('#chat-send');
  // Shown at once with ✓, then ✓✓ once delivered (the peer's success report).
  assert.ok(await from.page.$$eval('#chat-log li[data-direction="out"]', (l) => l.length) >= n);
  await from.page.waitForFunction((t) => [...document.querySelectorAll('#chat-log li[data-direction="out"]')]
    .some((li) => li.querySelector('.text').textContent === t && li.dataset.status === 'delivered'
      && li.querySelector('.tick').textContent === '✓✓'), text, { timeout: 10000 });
  await to.page.waitForFunction((t) => [...document.querySelectorAll('#chat-log li[data-direction="in"] .text')]
    .some((s) => s.textContent === t), text, { timeout: 10000 });
  // A message received ends the composing indication.
  await to.page.waitForSelector('#composing', { state: 'hidden', timeout: 5000 });
}

/** The SHA-1 (hex) of the file received on `page`, from its download link's blob URL. */
function receivedSha1(page) {
  return page.evaluate(async () => {
    const a = document.getElementById('received-file');
    const buf = await (await fetch(a.href)).arrayBuffer();
    const d = await crypto.subtle.digest('SHA-1', buf);
    return { sha1: [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join(''),
      size: buf.byteLength, name: a.download };
  });
}

/** Watches #file-progress on `page`: records every value seen while receiving. */
function watchProgress(page) {
  return page.evaluate(() => {
    window.__progress = [];
    const bar = document.getElementById('file-progress');
    new MutationObserver(() => {
      if (!bar.hidden && bar.dataset.direction === 'in') window.__progress.push(bar.value / bar.max);
    }).observe(bar, { attributes: true });
  });
}

test('browser ⇄ browser: chat with ticks and composing, remove/add chat, a 20 MB file', { timeout: 240000 }, async () => {
  const alice = await openPage('alice');
  const bob = await openPage('bob');
  try {
    await alice.page.fill('#target', 'bob');
    await alice.page.click('#chat-call');
    await bob.page.waitForSelector('#incoming:not([hidden])', { timeout: 15000 });
    assert.equal(await bob.page.getAttribute('#incoming', 'data-streams'), 'chat');
    await bob.page.click('#answer');
    await established(alice.page);
    await established(bob.page);
    await chatActive(alice.page);
    await chatActive(bob.page);
    assert.deepEqual(await alice.page.evaluate(() => window.softphone.app.streams(window.softphone.session)), ['chat']);
    // Both paths go through the relay: its Use-Path comes first in a=path.
    const sdp = await alice.page.evaluate(() => window.softphone.app.localSdp(window.softphone.session));
    assert.match(sdp, /a=path:msrp:\/\/127\.0\.0\.1:\d+\/\w+;tcp msrp:\/\/\S+\.invalid:\d+\/\S+;tcp/);

    await say(alice, bob, 'Hello Bob, how are you?', 1);
    await say(bob, alice, 'Fine thanks, Alice!', 1);
    await say(alice, bob, 'Sending you a file.', 2);

    // Chat removed, then added back in-call (re-INVITEs; the peer's page accepts chat).
    await alice.page.click('#remove-chat');
    await chatActive(alice.page, false);
    await chatActive(bob.page, false);
    assert.equal(await alice.page.isDisabled('#chat-input'), true);
    await alice.page.click('#add-chat');
    await chatActive(alice.page);
    await chatActive(bob.page);
    await say(bob, alice, 'Chat is back.', 2);

    // 20 MB of random bytes made in alice's page, handed to the file input.
    await watchProgress(bob.page);
    const sent = await alice.page.evaluate(async (size) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
      const d = await crypto.subtle.digest('SHA-1', bytes);
      const file = new File([bytes], 'random-20MB.bin', { type: 'application/octet-stream' });
      const dt = new DataTransfer();
      dt.items.add(file);
      document.getElementById('file-input').files = dt.files;
      return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
    }, FILE_SIZE);
    const t0 = Date.now();
    await alice.page.click('#send-file');
    await bob.page.waitForSelector('#file-progress[data-direction="in"]:not([hidden])', { timeout: 30000 });
    await bob.page.waitForSelector('#received-file:not([hidden])', { timeout: 180000 });
    const took = (Date.now() - t0) / 1000;
    await alice.page.waitForSelector('#file-status[data-state="sent"]', { timeout: 30000 });
    const got = await receivedSha1(bob.page);
    assert.equal(got.size, FILE_SIZE);
    assert.equal(got.name, 'random-20MB.bin');
    assert.equal(got.sha1, sent, 'the received file is the sent one');
    const progress = await bob.page.evaluate(() => window.__progress);
    assert.ok(progress.some((p) => p > 0.1 && p < 0.9), `bob's page showed progress (${progress.length} updates)`);
    console.log(`20 MB browser → browser through the relay in ${took.toFixed(1)} s`);

    // Chat still works after the transfer; hanging up ends it on both sides.
    await say(bob, alice, 'Got it!', 3);
    await alice.page.click('#hangup');
    await bob.page.waitForSelector('#call-state[data-state="ended"]', { timeout: 15000 });
    assert.deepEqual(alice.errors, []);
    assert.deepEqual(bob.errors, []);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

/** Starts the native peer (shared/examples/msrp_peer.rs) as `user`. */
function startPeer(user) {
  return startMsrpPeer({ gateway, user, password: USERS[user], relay: `127.0.0.1:${msrpTcp}` });
}

test('browser ⇄ native: chat both ways, a 5 MB file from the native peer, 16 MB from the page', { timeout: 180000 }, async () => {
  const carol = startPeer('carol');
  const bob = await openPage('bob');
  try {
    await carol.waitFor(/^registered$/);
    // The relay's Use-Path: the relay's TCP URI, issued to the peer's connection.
    await carol.waitFor(new RegExp(`^relay msrp://127\\.0\\.0\\.1:${msrpTcp}/\\w+;tcp$`));
    carol.send(`chat bob@${gateway.domain}`);
    const [, sid] = await carol.waitFor(/^session (\d+)$/);
    await bob.page.waitForSelector('#incoming:not([hidden])', { timeout: 15000 });
    await bob.page.click('#answer');
    await established(bob.page);
    await chatActive(bob.page);
    await carol.waitFor(new RegExp(`^started ${sid}$`));

    // Native → browser, with a composing indication first.
    carol.send(`composing ${sid} active`);
    await bob.page.waitForSelector('#composing:not([hidden])', { timeout: 10000 });
    carol.send(`say ${sid} Hello from the native side`);
    const [, mid] = await carol.waitFor(/^sent (\S+)$/);
    await bob.page.waitForFunction(() => [...document.querySelectorAll('#chat-log li[data-direction="in"] .text')]
      .some((s) => s.textContent === 'Hello from the native side'), null, { timeout: 10000 });
    await carol.waitFor(new RegExp(`^delivered ${mid.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));

    // Browser → native, with the typing indication and ✓✓ in the page.
    await bob.page.click('#chat-input');
    await bob.page.keyboard.type('Hi native peer', { delay: 20 });
    await carol.waitFor(new RegExp(`^composing ${sid} active$`));
    await bob.page.click('#chat-send');
    await carol.waitFor(new RegExp(`^message ${sid} Hi native peer$`));
    await bob.page.waitForSelector('#chat-log li[data-direction="out"][data-status="delivered"]', { timeout: 10000 });

    // A 5 MB file from the native peer, added to the chat session.
    const dir = mkdtempSync(join(tmpdir(), 'msrp-file-'));
    const path = join(dir, 'native-5MB.bin');
    const bytes = randomBytes(5 * 1024 * 1024);
    writeFileSync(path, bytes);
    const sha1 = createHash('sha1').update(bytes).digest('hex');
    await watchProgress(bob.page);
    carol.send(`file ${sid} ${path}`);
    await bob.page.waitForSelector('#received-file:not([hidden])', { timeout: 120000 });
    const got = await receivedSha1(bob.page);
    assert.equal(got.size, bytes.length);
    assert.equal(got.name, 'native-5MB.bin');
    assert.equal(got.sha1, sha1, 'the page received the native peer\'s file');
    await carol.waitFor(/^file-done \d+ \d+ ok$/);
    const progress = await bob.page.evaluate(() => window.__progress);
    assert.ok(progress.some((p) => p > 0.1 && p < 0.9), `bob's page showed progress (${progress.length} updates)`);

    // Browser → native: a 16 MB file from the page as a new session, timed end to end
    // (browser → gateway relay → native; docs/benchmarks.md quotes the figure).
    const MB = 16;
    const before = carol.lines.length;
    const { pageSha1, t0 } = await bob.page.evaluate(async ({ target, mb }) => {
      const bytes = new Uint8Array(mb * 1024 * 1024);
      for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
      const digest = await crypto.subtle.digest('SHA-1', bytes);
      const file = new File([bytes], `page-${mb}MB.bin`, { type: 'application/octet-stream' });
      const start = Date.now();
      window.softphone.app.sendFile(target, file);
      return { pageSha1: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join(''), t0: start };
    }, { target: `carol@${gateway.domain}`, mb: MB });
    const [, , , received] = await carol.waitFor(/^received (\d+) (\d+) (.+)$/, 120000);
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(carol.lines.length > before);
    const native = readFileSync(received);
    assert.equal(native.length, MB * 1024 * 1024);
    assert.equal(createHash('sha1').update(native).digest('hex'), pageSha1, 'the native peer received the page\'s file');
    console.log(`${MB} MB browser → gateway → native in ${seconds.toFixed(1)} s (${(MB / seconds).toFixed(1)} MB/s)`);

    carol.send(`end ${sid}`);
    await bob.page.waitForSelector('#call-state[data-state="ended"]', { timeout: 15000 });
    assert.deepEqual(bob.errors, []);
  } finally {
    await carol.stop();
    await bob.context.close();
  }
});

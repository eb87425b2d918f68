// The packed SDK in a fresh app: tests/vite-app depends on the tarball `cargo xtask pack`
// writes (target/npm/sipsimple-client-<version>.tgz), imports SIPApplication from
// '@sipsimple/client' and is built with `vite build` (cargo xtask test does both before the
// e2e step). Here the built app is served by a tiny static server, opened in headless
// Chromium with the gateway's URL in its query string, and must register, call a SIPp UAS
// through the gateway, hang up and stop. Everything runs on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, startGateway, startSippUas, startStaticServer, freeUdpPort } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const DIST = process.env.SIPSIMPLE_VITE_DIST ?? resolve(here, '..', 'vite-app', 'dist');
const PASSWORD = 'packed-sdk-3';

let gateway;
let site;
let browser;

before(async () => {
  if (!existsSync(join(DIST, 'index.html'))) {
    throw new Error(`${DIST}/index.html is missing: run \`cargo xtask test\`, or \`cargo xtask pack\` then in ` +
      'tests/vite-app `npm ci && npm install --no-save ../../target/npm/sipsimple-client-*.tgz && npx vite build`');
  }
  gateway = await startGateway({ alice: PASSWORD });
  site = await startStaticServer({ dir: DIST });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await gateway?.stop();
});

/** Opens the built app with these query parameters; collects page errors and responses. */
async function openApp(params) {
  const page = await browser.newPage();
  const errors = [];
  const responses = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => responses.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] }));
  const query = new URLSearchParams({
    server: `${gateway.http.replace(/^http/, 'ws')}ws`, id: `alice@${gateway.domain}`, ...params,
  });
  await page.goto(`${site.url}?${query}`);
  return { page, errors, responses };
}

const state = (page, s, timeout = 15000) => page.waitForSelector(`body[data-state="${s}"]`, { timeout });
const events = (page) => page.evaluate(() => window.sdkEvents.map(({ name, sender, data, timestamp }) => ({ name, sender, data, t: timestamp.getTime() })));

test('the packed SDK registers, calls SIPp through the gateway, hangs up and stops', async () => {
  const port = await freeUdpPort();
  const sipp = startSippUas(port);
  try {
    const { page, errors, responses } = await openApp({ password: PASSWORD, target: `sip:service@127.0.0.1:${port}` });
    await state(page, 'stopped');
    const got = await events(page);
    const names = got.map((n) => n.name);
    // SDK_DEBUG=1 prints the notifications with their times (ms since the first).
    if (process.env.SDK_DEBUG) console.log(got.map((n) => `${n.t - got[0].t} ${n.name}`).join('\n'));
    const order = ['SIPApplicationDidStart', 'SIPAccountRegistrationDidSucceed', 'SIPSessionNewOutgoing',
      'SIPSessionDidStart', 'SIPSessionWillEnd', 'SIPSessionDidEnd', 'SIPAccountRegistrationDidEnd',
      'SIPApplicationDidEnd'];
    const positions = order.map((n) => names.indexOf(n));
    assert.ok(positions.every((p) => p >= 0), `missing notifications: ${JSON.stringify(names)}`);
    assert.deepEqual([...positions].sort((a, b) => a - b), positions, `out of order: ${JSON.stringify(names)}`);

    // The data shapes index.d.ts declares.
    const reg = got.find((n) => n.name === 'SIPAccountRegistrationDidSucceed');
    assert.deepEqual(reg.sender, { type: 'Account', id: `alice@${gateway.domain}` });
    assert.equal(reg.data.code, 200);
    assert.equal(typeof reg.data.expires, 'number');
    assert.ok(Array.isArray(reg.data.contact_uri_list) && reg.data.contact_uri_list.includes(reg.data.contact_uri));
    const ended = got.find((n) => n.name === 'SIPSessionDidEnd');
    assert.equal(ended.sender.type, 'Session');
    assert.equal(typeof ended.sender.id, 'number');
    assert.deepEqual(ended.data, { originator: 'local' });
    const media = got.find((n) => n.name === 'MediaStreamDidStart');
    if (media) {
      assert.deepEqual(media.sender, { type: 'Stream', id: { session: ended.sender.id, index: 0 } });
      assert.equal(typeof media.data.stream, 'string');
    }
    const stopped = got.find((n) => n.name === 'SIPApplicationDidEnd');
    assert.equal(stopped.sender, null);
    assert.equal(typeof stopped.data.code, 'number');
    assert.ok(!names.includes('SIPSessionDidFail'), JSON.stringify(names));

    // Observers by name, by name and sender, and on/off got exactly their notifications.
    const filtered = await page.evaluate(() => window.sdkFiltered);
    assert.deepEqual(filtered.byName, [200]);
    assert.deepEqual(filtered.bySession, got.filter((n) => n.sender?.type === 'Session').map((n) => n.name));
    assert.ok(filtered.bySession.includes('SIPSessionDidEnd') && !filtered.bySession.includes('SIPAccountRegistrationDidSucceed'));
    assert.equal(filtered.on, 1);
    assert.equal(filtered.offed, 0, 'an observer removed with off was called');

    // The module came from the app's own build output, as application/wasm.
    const wasm = responses.filter((r) => r.url.endsWith('.wasm'));
    assert.equal(wasm.length, 1, JSON.stringify(responses));
    assert.match(wasm[0].url, /\/assets\/sipsimple_wasm_bg-[\w-]+\.wasm$/);
    assert.equal(wasm[0].status, 200);
    assert.equal(wasm[0].type, 'application/wasm');

    const { code, stats, output } = await sipp.result;
    assert.equal(code, 0, `SIPp failed: ${output}`);
    assert.equal(stats['SuccessfulCall(C)'], '1', `SIPp statistics: ${JSON.stringify(stats)}`);
    assert.equal(stats['FailedCall(C)'], '0');
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    sipp.stop();
  }
});

test('the packed SDK reports a wrong password as SIPAccountRegistrationDidFail 403', async () => {
  const { page, errors } = await openApp({ password: 'not-the-password' });
  await state(page, 'failed');
  assert.match(await page.textContent('#state'), /403/);
  const failed = (await events(page)).find((n) => n.name === 'SIPAccountRegistrationDidFail');
  assert.equal(failed.data.code, 403);
  assert.equal(typeof failed.data.reason, 'string');
  assert.equal(typeof failed.data.delay, 'number');
  await page.evaluate(() => window.sdkApp.stop());
  assert.deepEqual(errors, []);
  await page.close();
});

// The walking skeleton's thin path, end to end: the softphone page in headless Chromium loads
// the WASM SDK, registers over WebSocket with digest auth at the gateway, and calls a real
// SIPp UAS on UDP through it. Everything runs on loopback and is stopped by the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, startGateway, startSippUas, startSippUac, freeUdpPort } from './lib.mjs';

let browser;
let gateway;

before(async () => {
  gateway = await startGateway({ alice: 'wonderland-7' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
});

async function openPhone() {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(gateway.http);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  return { page, errors };
}

async function register(page, password) {
  await page.fill('#user', 'alice');
  await page.fill('#password', password);
  await page.click('#register');
}

const eventNames = (page) => page.$$eval('#events li', (lis) => lis.map((li) => li.dataset.name));

test('wrong password: registration fails with 403 and no call can be placed', async () => {
  const { page, errors } = await openPhone();
  await register(page, 'not-the-password');
  await page.waitForSelector('#reg-state[data-state="failed"]', { timeout: 15000 });
  assert.match(await page.textContent('#reg-state'), /403/);
  assert.equal(await page.isDisabled('#call'), true);
  assert.ok(!(await eventNames(page)).includes('SIPAccountRegistrationDidSucceed'));
  assert.deepEqual(errors, []);
  await page.close();
});

test('register, call SIPp through the gateway, hang up from the page', async () => {
  const port = await freeUdpPort();
  const sipp = startSippUas(port);
  try {
    const { page, errors } = await openPhone();
    await register(page, 'wonderland-7');
    await page.waitForSelector('#reg-state[data-state="registered"]', { timeout: 15000 });

    await page.fill('#target', `sip:service@127.0.0.1:${port}`);
    await page.click('#call');
    await page.waitForSelector('#call-state[data-state="established"]', { timeout: 15000 });
    await page.click('#hangup');
    await page.waitForSelector('#call-state[data-state="ended"]', { timeout: 15000 });
    assert.match(await page.textContent('#call-state'), /ended by local/);

    const names = await eventNames(page);
    const order = ['SIPAccountRegistrationDidSucceed', 'SIPSessionNewOutgoing', 'SIPSessionGotRingIndication',
      'SIPSessionWillStart', 'SIPSessionDidStart', 'SIPSessionWillEnd', 'SIPSessionDidEnd'];
    const positions = order.map((n) => names.indexOf(n));
    assert.ok(positions.every((p) => p >= 0), `missing notifications: ${JSON.stringify(names)}`);
    assert.deepEqual([...positions].sort((a, b) => a - b), positions, `out of order: ${JSON.stringify(names)}`);
    assert.ok(!names.includes('SIPSessionDidFail'));

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

test('SIPp hangs up: its BYE reaches the page through the gateway', async () => {
  const port = await freeUdpPort();
  const sipp = startSippUas(port, 'uas_bye.xml');
  try {
    const { page, errors } = await openPhone();
    await register(page, 'wonderland-7');
    await page.waitForSelector('#reg-state[data-state="registered"]', { timeout: 15000 });
    await page.fill('#target', `sip:service@127.0.0.1:${port}`);
    await page.click('#call');
    await page.waitForSelector('#call-state[data-state="ended"]', { timeout: 20000 });
    assert.match(await page.textContent('#call-state'), /ended by remote/);
    const names = await eventNames(page);
    assert.ok(names.includes('SIPSessionDidStart'), JSON.stringify(names));
    assert.ok(!names.includes('SIPSessionWillEnd'), 'a remote hang-up is not announced as WillEnd');

    const { code, stats, output } = await sipp.result;
    assert.equal(code, 0, `SIPp failed: ${output}`);
    assert.equal(stats['SuccessfulCall(C)'], '1');
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    sipp.stop();
  }
});

test('SIPp calls the page through the location service; the user answers; SIPp hangs up', async () => {
  const { page, errors } = await openPhone();
  await register(page, 'wonderland-7');
  await page.waitForSelector('#reg-state[data-state="registered"]', { timeout: 15000 });
  const sipp = await startSippUac(gateway.sipUdp, 'alice');
  try {
    await page.waitForSelector('#call-state[data-state="incoming"]', { timeout: 15000 });
    assert.match(await page.textContent('#incoming-from'), /sip:sipp@127\.0\.0\.1/);
    await page.click('#answer');
    await page.waitForSelector('#call-state[data-state="ended"]', { timeout: 20000 });
    assert.match(await page.textContent('#call-state'), /ended by remote/);
    const names = await eventNames(page);
    const order = ['SIPSessionNewIncoming', 'SIPSessionWillStart', 'SIPSessionDidStart', 'SIPSessionDidEnd'];
    const positions = order.map((n) => names.indexOf(n));
    assert.ok(positions.every((p) => p >= 0), `missing notifications: ${JSON.stringify(names)}`);
    assert.deepEqual([...positions].sort((a, b) => a - b), positions, `out of order: ${JSON.stringify(names)}`);

    const { code, stats, output } = await sipp.result;
    assert.equal(code, 0, `SIPp failed: ${output}`);
    assert.equal(stats['SuccessfulCall(C)'], '1');
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    sipp.stop();
  }
});

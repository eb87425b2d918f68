// The softphone page as a user meets it (issue #8): failures said in plain words, calls to
// SIPp that is busy or that answers and echoes, recording from the in-call screen with a
// download of the WAV (HTTP Basic with the credentials the user signed in with), the list of
// recordings, the call history kept in localStorage across a reload, the incoming call screen
// with Answer / Decline (603) / Busy (486), keyboard use, and a phone-sized screen (360x740:
// no horizontal scroll, named buttons, labelled inputs, big touch targets).
// Screenshots at 1280x900 and 360x740 go to target/screenshots/softphone-*.png.
// Everything runs on loopback (gateway, SIPp, Chromium) and is stopped by the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, openSoftphone, startGateway, startSippUas, freeUdpPort, freeTcpPort } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SHOTS = resolve(here, '..', '..', 'target', 'screenshots');
const USERS = { alice: 'through-the-glass-6', bob: 'tweedle-dee-4' };
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };

let gateway;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  gateway = await startGateway(USERS);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  if (process.env.E2E_DEBUG) console.log(gateway?.logs().slice(-20000));
});

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

const openPage = (user) => openSoftphone(browser, gateway, user, { viewport: DESKTOP });

async function signIn(page, user, password = USERS[user]) {
  await page.fill('#user', user);
  await page.fill('#password', password);
  await page.click('#register');
}

const registered = (page) => page.waitForSelector('#reg-state[data-state="registered"]', { timeout: 15000 });
const callState = (page, state, timeout = 15000) =>
  page.waitForSelector(`#call-state[data-state="${state}"]`, { timeout });
const alertText = async (page) => {
  await page.waitForSelector('#alert:not([hidden])', { timeout: 15000 });
  return page.textContent('#alert-text');
};
const history = (page) => page.$$eval('#history-list li', (lis) => lis.map((li) => ({
  outcome: li.dataset.outcome,
  direction: li.dataset.direction,
  text: li.textContent,
  duration: li.querySelector('.duration')?.textContent ?? null,
})));

/**
 * At 360x740: no horizontal scroll, every button and link has an accessible name, every
 * input a label, and the visible controls are big enough to touch.
 */
async function checkPhoneLayout(page, what) {
  const r = await page.evaluate(() => {
    const text = (el) => (el?.textContent ?? '').trim();
    const nameOf = (el) => (el.getAttribute('aria-label')
      || (el.getAttribute('aria-labelledby') ?? '').split(/\s+/).map((id) => text(document.getElementById(id))).join(' ')
      || text(el) || el.title || '').trim();
    const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const controls = [...document.querySelectorAll('button, a[href], summary, [role="button"]')];
    const inputs = [...document.querySelectorAll('input, select, textarea')];
    return {
      scrollWidth: document.scrollingElement.scrollWidth,
      innerWidth: window.innerWidth,
      unnamed: controls.filter((b) => !nameOf(b)).map((b) => b.outerHTML),
      unlabelled: inputs.filter((i) => !(i.labels?.length || i.getAttribute('aria-label'))).map((i) => i.outerHTML),
      small: controls.filter((b) => visible(b) && !b.classList.contains('skip-link'))
        .filter((b) => b.getBoundingClientRect().height < 44 || b.getBoundingClientRect().width < 44)
        .map((b) => `${b.outerHTML.slice(0, 80)} ${Math.round(b.getBoundingClientRect().width)}x${Math.round(b.getBoundingClientRect().height)}`),
      buttons: controls.filter(visible).length,
      wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className ? `.${e.className}` : ''}`).slice(0, 10),
    };
  });
  assert.ok(r.scrollWidth <= r.innerWidth, `${what}: horizontal scroll at 360 px (${r.scrollWidth} > ${r.innerWidth}): ${r.wide.join(', ')}`);
  assert.deepEqual(r.unnamed, [], `${what}: controls without an accessible name`);
  assert.deepEqual(r.unlabelled, [], `${what}: inputs without a label`);
  assert.deepEqual(r.small, [], `${what}: touch targets smaller than 44 px`);
  assert.ok(r.buttons > 0, what);
}

/**
 * Screenshots of the page at desktop and phone sizes (the viewport only, to keep the files
 * small), checking the phone layout on the way; `focus` scrolls that element to the top on
 * the phone first.
 */
async function shoot(page, name, focus = null) {
  const viewport = page.viewportSize();
  await page.setViewportSize(DESKTOP);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `softphone-desktop-${name}.png`) });
  await page.setViewportSize(PHONE);
  await checkPhoneLayout(page, name);
  if (focus) await page.$eval(focus, (el) => el.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: join(SHOTS, `softphone-phone-${name}.png`) });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.setViewportSize(viewport);
}

/** Clicks `selector` and returns the bytes and name of the file it downloads. */
async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), page.click(selector)]);
  return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
}

test('sign-in failures are said in plain words', async () => {
  const { page, context, errors } = await openPage('alice');
  await shoot(page, 'sign-in');
  for (const id of ['user', 'password']) {
    assert.equal(await page.$eval(`#${id}`, (i) => i.labels.length), 1, `#${id} has a label`);
  }

  // Wrong password: the registrar's 403 becomes words, the form comes back to correct it.
  await signIn(page, 'alice', 'not-the-password');
  assert.match(await alertText(page), /Wrong user name or password/);
  await page.waitForSelector('#reg-state[data-state="failed"]');
  assert.match(await page.textContent('#reg-state'), /Wrong user name or password.*403/);
  await page.waitForSelector('#password', { state: 'visible' });
  assert.equal(await page.isDisabled('#register'), false);
  assert.equal(await page.isDisabled('#call'), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password');

  // A gateway nobody listens on.
  const port = await freeTcpPort();
  const url = `ws://127.0.0.1:${port}/ws`;
  await page.click('#server-settings summary');
  await page.fill('#server', url);
  await signIn(page, 'alice');
  await page.waitForFunction((u) => document.getElementById('alert-text').textContent.includes(`Cannot reach the gateway at ${u}`),
    url, { timeout: 15000 });
  await page.waitForSelector('#reg-state[data-state="failed"]');
  assert.equal(await page.isDisabled('#register'), false);
  assert.deepEqual(errors, []);
  await context.close();
});

test('calls: busy, keyboard dialling, recording and its download, history across a reload', async () => {
  const { page, context, errors } = await openPage('alice');
  await signIn(page, 'alice');
  await registered(page);
  await page.waitForFunction(() => document.getElementById('recordings-status').textContent === 'No recordings yet.',
    null, { timeout: 10000 });

  // A callee that is busy; dialled with the keyboard only: Tab from the top reaches the
  // call button, Enter places the call.
  const busyPort = await freeUdpPort();
  const busy = startSippUas(busyPort, 'uas_busy.xml');
  try {
    await page.fill('#target', `sip:busy@127.0.0.1:${busyPort}`);
    await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
    let tabs = 0;
    while (await page.evaluate(() => document.activeElement?.id) !== 'call') {
      assert.ok(++tabs <= 20, 'Tab did not reach the call button');
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await callState(page, 'failed');
    assert.match(await page.textContent('#call-state'), /^Busy \(486 Busy Here\)/);
    assert.match(await alertText(page), /^Busy/);
    const { code, output } = await busy.result;
    assert.equal(code, 0, `SIPp failed: ${output}`);
  } finally {
    busy.stop();
  }
  await page.waitForSelector('#history-list li[data-outcome="busy"]');
  let h = await history(page);
  assert.equal(h.length, 1);
  assert.equal(h[0].direction, 'outgoing');
  assert.match(h[0].text, /busy@127\.0\.0\.1/);
  assert.match(h[0].text, /busy/i);

  // A callee that answers and echoes: record from the in-call screen, then download it.
  const echoPort = await freeUdpPort();
  const echo = startSippUas(echoPort, null, ['-rtp_echo']);
  let recordingName;
  try {
    await page.fill('#target', `sip:echo@127.0.0.1:${echoPort}`);
    await page.click('#call');
    await callState(page, 'established');
    assert.equal(await page.isVisible('#dtmf-keypad'), true);
    assert.equal(await page.getAttribute('#record', 'aria-pressed'), 'false');
    await page.click('#record');
    await page.waitForSelector('#record[aria-pressed="true"]', { timeout: 10000 });
    await page.waitForSelector('#recording-indicator', { state: 'visible' });
    assert.match(await page.textContent('#recording-indicator'), /Recording/);
    await page.waitForSelector('#media-state[data-state="connected"]', { timeout: 10000 });
    await sleep(1000); // a running call timer in the screenshots
    await shoot(page, 'in-call', '#call-panel');
    await sleep(1500);
    await page.click('#record');
    await page.waitForSelector('#record[aria-pressed="false"]', { timeout: 10000 });
    await page.waitForSelector('#recording-indicator', { state: 'hidden' });
    await page.waitForSelector('#recording-link[href^="blob:"]', { timeout: 10000 });
    const file = await download(page, '#recording-link');
    recordingName = file.name;
    assert.match(recordingName, /^alice-echo-\d{8}-\d{6}\.wav$/);
    assert.equal(file.bytes.subarray(0, 4).toString('latin1'), 'RIFF');
    assert.equal(file.bytes.subarray(8, 12).toString('latin1'), 'WAVE');
    assert.ok(file.bytes.length > 8000, `only ${file.bytes.length} bytes`);

    // The list of recordings shows it; its link downloads the same file.
    await page.waitForSelector(`#recordings-list li[data-name="${recordingName}"]`, { timeout: 10000 });
    assert.equal(await page.getAttribute(`#recordings-list li[data-name="${recordingName}"] a`, 'aria-label'),
      `Download ${recordingName}`);
    const again = await download(page, `#recordings-list li[data-name="${recordingName}"] a`);
    assert.equal(again.name, recordingName);
    assert.ok(again.bytes.equals(file.bytes), 'the listed recording differs from the one just made');

    await sleep(1000);
    await page.click('#hangup');
    await callState(page, 'ended');
    assert.match(await page.textContent('#call-state'), /ended by local after \d+:\d\d/);
    const { code, output } = await echo.result;
    assert.equal(code, 0, `SIPp failed: ${output}`);
  } finally {
    echo.stop();
  }
  h = await history(page);
  assert.deepEqual(h.map((e) => e.outcome), ['answered', 'busy']);
  assert.match(h[0].duration, /^\d+:\d\d$/);
  assert.ok(h[0].duration !== '0:00' && h[0].duration !== '0:01', `duration ${h[0].duration}`);
  assert.match(h[0].text, /echo@127\.0\.0\.1/);
  assert.match(h[0].text, /recorded/);
  assert.equal(await page.getAttribute('#history-list li:first-child button', 'aria-label'),
    `Call back echo@127.0.0.1:${echoPort}`);
  await shoot(page, 'idle-history', '#history');

  // Signing out forgets the recordings shown (and the password); the form comes back.
  await page.click('#unregister');
  await page.waitForSelector('#user', { state: 'visible', timeout: 15000 });
  await page.waitForSelector('#reg-state[data-state="unregistered"]');
  assert.equal(await page.$$eval('#recordings-list li', (l) => l.length), 0);
  assert.equal(await page.isHidden('#last-recording'), true);
  assert.equal((await history(page)).length, 2, 'the history stays');

  // The history survives a reload (localStorage, per account); the user name is remembered.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  assert.equal(await page.inputValue('#user'), 'alice');
  assert.equal(await page.inputValue('#password'), '', 'the password is not kept');
  h = await history(page);
  assert.deepEqual(h.map((e) => e.outcome), ['answered', 'busy']);
  assert.deepEqual(errors, []);

  // Clearing it.
  await page.click('#history-clear');
  assert.deepEqual(await history(page), []);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  assert.deepEqual(await history(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('incoming calls: Answer, Decline (603) and Busy (486) from the incoming call screen', async () => {
  const alice = await openPage('alice');
  const bob = await openPage('bob');
  for (const p of [alice, bob]) await signIn(p.page, p.user);
  for (const p of [alice, bob]) await registered(p.page);

  // bob calls, alice declines: 603 for bob, "rejected" in both histories.
  await bob.page.fill('#target', 'alice');
  await bob.page.click('#call');
  await callState(alice.page, 'incoming');
  for (const id of ['answer', 'decline', 'busy']) assert.equal(await alice.page.isVisible(`#${id}`), true, id);
  assert.equal(await alice.page.evaluate(() => document.activeElement.id), 'answer');
  assert.match(await alice.page.textContent('#incoming-from'), /sip:bob@/);
  await shoot(alice.page, 'incoming', '#call-panel');
  await alice.page.click('#decline');
  await callState(bob.page, 'failed');
  assert.match(await bob.page.textContent('#call-state'), /^Declined \(603/);
  await callState(alice.page, 'ended');
  assert.match(await alice.page.textContent('#call-state'), /^Declined/);
  await alice.page.waitForSelector('#incoming', { state: 'hidden' });

  // bob calls again, alice is busy: 486 for bob.
  await bob.page.waitForSelector('#call:not([disabled])');
  await bob.page.click('#call');
  await callState(alice.page, 'incoming');
  await alice.page.click('#busy');
  await callState(bob.page, 'failed');
  assert.match(await bob.page.textContent('#call-state'), /^Busy \(486/);
  assert.match(await alertText(bob.page), /^Busy/);
  await callState(alice.page, 'ended');

  // bob calls a third time and alice answers; bob hangs up.
  await bob.page.waitForSelector('#call:not([disabled])');
  await bob.page.click('#call');
  await callState(alice.page, 'incoming');
  await alice.page.click('#answer');
  await callState(alice.page, 'established');
  await callState(bob.page, 'established');
  await sleep(1200);
  await bob.page.click('#hangup');
  await callState(alice.page, 'ended');
  assert.match(await alice.page.textContent('#call-state'), /ended by remote/);

  const a = await history(alice.page);
  assert.deepEqual(a.map((e) => [e.direction, e.outcome]),
    [['incoming', 'answered'], ['incoming', 'rejected'], ['incoming', 'rejected']]);
  assert.match(a[1].text, /busy/);
  assert.match(a[0].duration, /^\d+:\d\d$/);
  const b = await history(bob.page);
  assert.deepEqual(b.map((e) => [e.direction, e.outcome]),
    [['outgoing', 'answered'], ['outgoing', 'busy'], ['outgoing', 'rejected']]);
  for (const p of [alice, bob]) {
    assert.deepEqual(p.errors, [], p.user);
    await p.context.close();
  }
});

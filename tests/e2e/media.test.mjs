// Media through the gateway's relay (issue #6): the softphone page in headless Chromium (fake
// microphone) calls SIP peers nobody here wrote, and the gateway anchors the audio: WebRTC
// (ICE, DTLS-SRTP, Opus) towards the page, RTP or SDES-SRTP towards the peer.
// - SIPp's uas with -rtp_echo: PCMU only, so the gateway transcodes Opus <-> PCMU both ways;
//   the page hears its microphone come back, and a recording started from the SDK holds audio
//   and can be listed and downloaded by its owner only (HTTP Basic, the SIP credentials).
// - baresip with mandatory SDES-SRTP (RTP/SAVP, PCMU): audio both ways, DTMF both ways (the
//   page's keypad becomes RFC 4733 events; baresip's key presses reach the page), hold stops
//   the flow and resume restarts it, and the recording holds both baresip's tone and the page's.
// - baresip calling the page with Opus over plain RTP: passed through without transcoding.
// Everything runs on loopback and is stopped by the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, openSoftphone, startGateway, startSippUas, freeUdpPort } from './lib.mjs';
import { startBaresip, readWav, bandPower, rms } from './peers.mjs';

const USERS = { alice: 'looking-glass-3', bob: 'mad-hatter-8', carol: 'queen-of-hearts-5' };
let browser;

before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

const openPhone = (gateway, user) => openSoftphone(browser, gateway, user, { password: USERS[user] });

const callState = (page, state, timeout = 15000) =>
  page.waitForSelector(`#call-state[data-state="${state}"]`, { timeout });
const stats = (page) => page.evaluate(() => window.softphone.media.stats(window.softphone.session));
const eventNames = (page) => page.$$eval('#events li', (lis) => lis.map((li) => li.dataset.name));
const waitForEvent = (page, name, timeout = 10000) =>
  page.waitForSelector(`#events li[data-name="${name}"]`, { timeout });

/** Waits until the page received more than `by` new RTP packets. */
async function waitForAudio(page, by = 25, timeout = 15000) {
  const start = await stats(page);
  const deadline = Date.now() + timeout;
  for (;;) {
    const now = await stats(page);
    if (now.packetsReceived - start.packetsReceived > by) return now;
    if (Date.now() > deadline) throw new Error(`no audio within ${timeout} ms: ${JSON.stringify({ start, now })}`);
    await sleep(200);
  }
}

/** The value of one line of the gateway's /metrics (labels included in `name`). */
async function metric(gateway, name) {
  const text = await (await fetch(new URL('/metrics', gateway.http))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** The WAV files recorded for `user`. */
function recordings(gateway, user) {
  const dir = join(gateway.dataDir, 'recordings', user);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.wav')).map((f) => join(dir, f)) : [];
}

test('page calls SIPp (PCMU + echo): transcoded audio both ways, recording from the SDK', async () => {
  const gateway = await startGateway(USERS);
  const port = await freeUdpPort();
  const sipp = startSippUas(port, null, ['-rtp_echo']);
  try {
    const { page, errors } = await openPhone(gateway, 'alice');
    await page.fill('#target', `sip:echo@127.0.0.1:${port}`);
    await page.click('#call');
    await callState(page, 'established');
    // Opus from the page -> PCMU to SIPp -> echoed -> PCMU to the gateway -> Opus to the page.
    const heard = await waitForAudio(page);
    assert.ok(heard.packetsSent > 0, JSON.stringify(heard));
    assert.ok(await metric(gateway, 'sipsimple_media_packets_relayed_total{to="sip"}') > 25);
    assert.ok(await metric(gateway, 'sipsimple_media_packets_relayed_total{to="browser"}') > 25);
    assert.equal(await metric(gateway, 'sipsimple_media_sessions_active'), 1);

    await page.evaluate(() => window.softphone.app.startRecordingAudio(window.softphone.session, 'echo-test.wav'));
    await waitForEvent(page, 'SIPSessionDidStartRecordingAudio');
    const name = await page.evaluate(() => window.softphone.app.audioRecordingFileName(window.softphone.session));
    assert.match(name, /alice\/echo-test\.wav$/);
    await sleep(500);
    // SIPp negotiated no telephone-event: the keypad's digit goes in band as its dual tone,
    // which SIPp echoes back into the recording.
    await page.click('#dtmf-keypad button[data-digit="5"]');
    await sleep(1500);
    await page.evaluate(() => window.softphone.app.stopRecordingAudio(window.softphone.session));
    await waitForEvent(page, 'SIPSessionDidStopRecordingAudio');

    await page.click('#hangup');
    await callState(page, 'ended');
    const { code, stats: s, output } = await sipp.result;
    assert.equal(code, 0, `SIPp failed: ${output}`);
    assert.equal(s['SuccessfulCall(C)'], '1');

    const files = recordings(gateway, 'alice');
    assert.deepEqual(files.map((f) => f.split('/').pop()), ['echo-test.wav']);
    const wav = readWav(files[0]);
    assert.equal(wav.rate, 8000);
    const seconds = wav.samples.length / wav.rate / wav.channels;
    assert.ok(seconds > 1.5 && seconds < 4, `recorded ${seconds} s`);
    // Chromium's fake microphone beeps; the recording must hold that sound (both the page's
    // leg and SIPp's echo of it), not silence.
    assert.ok(rms(wav.samples) > 100, `recording RMS ${rms(wav.samples)}`);
    const [low, high, none] = [770, 1336, 1500].map((hz) => bandPower(wav.samples, wav.rate, hz, 4));
    assert.ok(low > 20 * none && high > 20 * none, `DTMF 5 in band: 770 Hz ${low}, 1336 Hz ${high}, 1500 Hz ${none}`);
    assert.equal(await metric(gateway, 'sipsimple_media_dtmf_total{to="sip"}'), 1);
    // The owner lists and downloads it over HTTP with the SIP credentials; nobody else can.
    const basic = (u, p) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    const api = (path, headers = {}) => fetch(new URL(path, gateway.http), { headers });
    assert.equal((await api('/api/recordings')).status, 401);
    assert.equal((await api('/api/recordings', basic('alice', 'wrong'))).status, 401);
    const list = await (await api('/api/recordings', basic('alice', USERS.alice))).json();
    assert.deepEqual(list.map((r) => r.name), ['echo-test.wav']);
    assert.equal(list[0].size, readFileSync(files[0]).length);
    const got = await api('/api/recordings/echo-test.wav', basic('alice', USERS.alice));
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(readFileSync(files[0])));
    assert.deepEqual(await (await api('/api/recordings', basic('carol', USERS.carol))).json(), []);
    assert.equal((await api('/api/recordings/echo-test.wav', basic('carol', USERS.carol))).status, 404);
    assert.equal((await api('/api/recordings/..%2Falice%2Fecho-test.wav', basic('carol', USERS.carol))).status, 404);

    const order = ['SIPSessionWillStartRecordingAudio', 'SIPSessionDidStartRecordingAudio',
      'SIPSessionWillStopRecordingAudio', 'SIPSessionDidStopRecordingAudio'];
    const names = await eventNames(page);
    const at = order.map((n) => names.indexOf(n));
    assert.deepEqual([...at].sort((a, b) => a - b), at, JSON.stringify(names));
    assert.deepEqual(errors, []);
  } finally {
    sipp.stop();
    await gateway.stop();
  }
});

test('a SIP peer that sends no audio: the page gets SIPSessionGotNoAudio after 5 s', async () => {
  const gateway = await startGateway(USERS);
  const port = await freeUdpPort();
  const sipp = startSippUas(port); // answers, and sends no RTP at all
  try {
    const { page, errors } = await openPhone(gateway, 'alice');
    await page.fill('#target', `sip:silent@127.0.0.1:${port}`);
    await page.click('#call');
    await callState(page, 'established');
    const early = await eventNames(page);
    assert.ok(!early.includes('SIPSessionGotNoAudio'), 'reported before 5 s had passed');
    await waitForEvent(page, 'SIPSessionGotNoAudio', 9000);
    assert.equal(await metric(gateway, 'sipsimple_media_no_audio_total'), 1);
    // The gateway's relay and the page's BrowserMedia both noticed: one notification.
    await sleep(1500);
    assert.equal((await eventNames(page)).filter((n) => n === 'SIPSessionGotNoAudio').length, 1);
    await page.click('#hangup');
    await callState(page, 'ended');
    assert.deepEqual(errors, []);
  } finally {
    sipp.stop();
    await gateway.stop();
  }
});

test('browser to browser (end-to-end WebRTC, no relay): a peer that sends nothing gives SIPSessionGotNoAudio', async () => {
  const gateway = await startGateway(USERS);
  try {
    const alice = await openPhone(gateway, 'alice');
    const bob = await openPhone(gateway, 'bob');
    // bob's microphone track is ended before BrowserMedia adds it: his browser sends no RTP.
    await bob.page.evaluate(() => {
      const md = navigator.mediaDevices;
      const open = md.getUserMedia.bind(md);
      md.getUserMedia = async (c) => {
        const stream = await open(c);
        stream.getAudioTracks().forEach((t) => t.stop());
        return stream;
      };
    });
    await alice.page.fill('#target', 'bob');
    await alice.page.click('#call');
    await callState(bob.page, 'incoming');
    await bob.page.click('#answer');
    await callState(alice.page, 'established');
    await callState(bob.page, 'established');
    await waitForAudio(bob.page); // alice's audio reaches bob
    await waitForEvent(alice.page, 'SIPSessionGotNoAudio', 9000);
    assert.equal((await stats(alice.page)).packetsReceived, 0);
    assert.ok(!(await eventNames(bob.page)).includes('SIPSessionGotNoAudio'));
    // Nobody anchored this call: the report is BrowserMedia's, not the gateway's.
    assert.equal(await metric(gateway, 'sipsimple_media_no_audio_total') ?? 0, 0);
    await alice.page.click('#hangup');
    await callState(bob.page, 'ended');
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  } finally {
    await gateway.stop();
  }
});

test('page calls baresip over SDES-SRTP: audio, DTMF both ways, hold and resume, recording', async () => {
  const gateway = await startGateway(USERS, { env: { SIPSIMPLE_MEDIA_SRTP: 'required', SIPSIMPLE_MEDIA_RECORD_CALLS: 'true' } });
  const carol = await startBaresip({ user: 'carol', password: USERS.carol, domain: gateway.domain,
    gateway: gateway.sipUdp, codecs: 'PCMU', mediaenc: 'srtp-mand', toneHz: 1000 });
  try {
    const { page, errors } = await openPhone(gateway, 'alice');
    await page.fill('#target', 'carol');
    await page.click('#call');
    await callState(page, 'established');
    await waitForAudio(page);
    await carol.waitFor(/srtp|SRTP/);

    // The page's keypad -> SIP INFO -> RFC 4733 events on the SRTP leg -> baresip. The same
    // key twice: two whole events (start and end each), which needs every packet of the
    // first to arrive in sequence with the audio (baresip's jitter buffer drops late ones).
    for (let press = 0; press < 2; press += 1) {
      const mark = carol.output().length;
      await page.click('#dtmf-keypad button[data-digit="5"]');
      await carol.waitFor(/CALL_DTMF_START[^}]*"param":"5"/, 10000, mark);
      await carol.waitFor(/CALL_DTMF_END/, 10000, mark);
    }
    // baresip's key press -> RFC 4733 -> the gateway -> MESSAGE with Target-Dialog -> the page.
    await carol.key('7');
    await page.waitForFunction(() => document.querySelector('#dtmf-received')?.textContent.includes('7'), null, { timeout: 10000 });

    await page.click('#hold');
    await callState(page, 'held');
    await sleep(500);
    const before = await stats(page);
    await sleep(1500);
    const held = await stats(page);
    assert.equal(held.packetsReceived, before.packetsReceived, `audio while held: ${JSON.stringify({ before, held })}`);
    await page.click('#hold');
    await callState(page, 'established');
    await waitForAudio(page);

    await page.click('#hangup');
    await callState(page, 'ended');
    await sleep(300);
    const files = recordings(gateway, 'alice');
    assert.equal(files.length, 1, JSON.stringify(files));
    const wav = readWav(files[0]);
    // Both legs are in the recording: baresip's 1 kHz tone and the page's microphone (Chromium's
    // fake device beeps near 400 Hz), each well above a frequency nobody sent.
    const peer = bandPower(wav.samples, wav.rate, 1000);
    const mic = bandPower(wav.samples, wav.rate, 400);
    const none = bandPower(wav.samples, wav.rate, 1500);
    assert.ok(peer > 20 * none, `1 kHz (baresip) ${peer} vs 1.5 kHz ${none}`);
    assert.ok(mic > 20 * none, `400 Hz (page) ${mic} vs 1.5 kHz ${none}`);
    assert.deepEqual(errors, []);
  } finally {
    if (process.env.E2E_DEBUG) console.log(gateway.logs().slice(-20000), carol.output().slice(-5000));
    await carol.stop();
    await gateway.stop();
  }
});

test('baresip calls the page with Opus over plain RTP: passed through, audio both ways', async () => {
  const gateway = await startGateway(USERS);
  const carol = await startBaresip({ user: 'carol', password: USERS.carol, domain: gateway.domain,
    gateway: gateway.sipUdp, codecs: 'opus', toneHz: 600 });
  try {
    const { page, errors } = await openPhone(gateway, 'alice');
    await carol.command(`dial sip:alice@${gateway.domain}`);
    await callState(page, 'incoming');
    await page.click('#answer');
    await callState(page, 'established');
    await waitForAudio(page);
    assert.equal(await metric(gateway, 'sipsimple_media_sessions_codec_total{codec="opus"}'), 1);
    await page.click('#hangup');
    await callState(page, 'ended');
    assert.deepEqual(errors, []);
  } finally {
    if (process.env.E2E_DEBUG) console.log(gateway.logs().slice(-20000), carol.output().slice(-5000));
    await carol.stop();
    await gateway.stop();
  }
});

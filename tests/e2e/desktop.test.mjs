// Desktop sharing in the softphone page (the seed's DesktopSharingStream: RFB, RFC 6143, over
// MSRP through the gateway's relay). A real VNC server, TigerVNC's Xvnc, runs on a display of
// its own (RFB on loopback only, no X TCP listener, security type None) with a known picture
// painted by a tiny X client (tests/tools/x11-paint.mjs); the native peer (msrp_peer with
// --vnc) registers with the gateway and shares that VNC server. In bob's page:
//  1. in a chat session with the native peer, "View desktop" proposes a desktop-sharing
//     stream; the peer accepts it with its external server handler; the page's RFB client
//     draws the desktop on the canvas: its pixels match the picture, region by region;
//  2. a click on the canvas (an RFB PointerEvent) reaches Xvnc, the X client sees the button
//     press and turns its window yellow, and the canvas shows it;
//  3. the native peer then shares its desktop in a new session; the page answers it and
//     shows the desktop again.
// A second Xvnc asks for VNC Authentication: the page's first view fails with a clear
// reason and asks for the password; with it typed, View desktop shows the picture.
// Screenshots go to target/screenshots/. Everything runs on loopback and is stopped here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, openSoftphone, startGateway, freeTcpPort } from './lib.mjs';
import { startMsrpPeer } from './peers.mjs';
import { paint, PRESSED_RGB } from '../tools/x11-paint.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const XVNC = '/usr/bin/Xvnc';
const SHOTS = join(root, 'target', 'screenshots');
const USERS = { bob: 'tweedle-dum-5', carol: 'red-queen-9', dave: 'cheshire-cat-2', erin: 'mock-turtle-7' };
const VNC_PASSWORD = 'rabbit-hole';
const WIDTH = 320;
const HEIGHT = 240;

// The picture: three big areas and a row of 16 small squares of distinct colours (tiles of
// many colours, so ZRLE's palette subencodings are used, not only solid tiles). The blue
// area is the button: pressed, it turns yellow.
const SQUARES = Array.from({ length: 16 }, (_, i) => ({
  x: i * 20, y: 0, width: 20, height: 20,
  rgb: (((i * 37) % 256) << 16) | (((i * 91 + 50) % 256) << 8) | ((255 - i * 13) % 256),
}));
const AREAS = [
  { x: 0, y: 20, width: 160, height: 220, rgb: 0xd02020 },
  { x: 160, y: 20, width: 160, height: 100, rgb: 0x20b040 },
  { x: 160, y: 120, width: 160, height: 120, rgb: 0x2040e0 },
];
const WINDOWS = [...SQUARES, ...AREAS];
// The blue area's index in WINDOWS (as the X client numbers its windows).
const BUTTON = WINDOWS.length - 1;

let gateway;
let browser;
let msrpTcp;
let xvnc;
let xclient;

/**
 * Xvnc's password file for `password`: the first 8 bytes, zero-padded, encrypted by OpenSSL's
 * DES under VNC's fixed obfuscation key (d3des's 17 52 6b 06 23 4e 58 07 with each byte's
 * bits mirrored, as a standard DES wants them).
 */
function vncPasswordFile(password) {
  const dir = mkdtempSync(join(tmpdir(), 'vncpasswd-'));
  const plain = Buffer.alloc(8);
  Buffer.from(password).copy(plain, 0, 0, 8);
  const file = join(dir, 'passwd');
  writeFileSync(file, execFileSync('openssl', ['enc', '-des-ecb', '-nopad', '-K', 'e84ad660c4721ae0',
    '-provider', 'legacy', '-provider', 'default'], { input: plain }));
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts Xvnc on a free display: RFB on 127.0.0.1 only, no X over TCP; no authentication,
 * or VNC Authentication with `password`.
 */
async function startXvnc(password = null, extra = []) {
  if (!existsSync(XVNC)) throw new Error(`${XVNC} is missing: cargo xtask setup installs tigervnc-standalone-server`);
  const auth = password ? vncPasswordFile(password) : null;
  const security = auth ? ['-SecurityTypes', 'VncAuth', '-PasswordFile', auth.file] : ['-SecurityTypes', 'None'];
  const display = [...Array(150).keys()].map((i) => 50 + i)
    .find((d) => !existsSync(`/tmp/.X${d}-lock`) && !existsSync(`/tmp/.X11-unix/X${d}`));
  const port = await freeTcpPort();
  const child = spawn(XVNC, [`:${display}`, '-rfbport', String(port), '-localhost', '-interface', '127.0.0.1',
    '-nolisten', 'tcp', ...security, ...extra, '-geometry', `${WIDTH}x${HEIGHT}`, '-depth', '24',
    '-AlwaysShared'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const stop = () => new Promise((ok) => {
    if (child.exitCode === null) { child.once('exit', ok); child.kill('SIGTERM'); } else ok();
  }).then(() => {
    rmSync(`/tmp/.X${display}-lock`, { force: true });
    rmSync(`/tmp/.X11-unix/X${display}`, { force: true });
    auth?.remove();
  });
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`Xvnc :${display} exited: ${stderr}`);
    if (existsSync(`/tmp/.X11-unix/X${display}`)) return { display, port, stop, logs: () => stderr };
    await new Promise((ok) => setTimeout(ok, 100));
  }
  await stop();
  throw new Error(`Xvnc :${display} did not start: ${stderr}`);
}

before(async () => {
  // -retro: the X-shaped root cursor, which Xvnc sends as a shape (Cursor pseudo-encoding).
  xvnc = await startXvnc(null, ['-retro']);
  xclient = await paint(xvnc.display, WINDOWS);
  msrpTcp = await freeTcpPort();
  gateway = await startGateway(USERS, { env: {
    SIPSIMPLE_MSRP_TCP: `127.0.0.1:${msrpTcp}`, SIPSIMPLE_SIP_TCP: 'off', SIPSIMPLE_SIP_TLS: 'off',
  } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  await xclient?.close();
  await xvnc?.stop();
  if (process.env.E2E_DEBUG) console.log(gateway?.logs().slice(-20000));
});

/** Starts the native peer (shared/examples/msrp_peer.rs) as `user`, sharing `vnc`. */
function startPeer(user, vnc = xvnc) {
  return startMsrpPeer({ gateway, user, password: USERS[user], relay: `127.0.0.1:${msrpTcp}`, extra: ['--vnc', `127.0.0.1:${vnc.port}`] });
}

const openPage = (user) => openSoftphone(browser, gateway, user,
  { password: USERS[user], viewport: { width: 1280, height: 1000 }, relay: true });

/** The native `peer` starts a chat session with `user`, whose `page` answers it: its id. */
async function chatSession(peer, page, user) {
  await peer.waitFor(/^registered$/);
  await peer.waitFor(/^relay /);
  peer.send(`chat ${user}@${gateway.domain}`);
  const [, sid] = await peer.waitFor(/^session (\d+)$/);
  await page.waitForSelector('#incoming:not([hidden])', { timeout: 15000 });
  await page.click('#answer');
  await page.waitForSelector('#call-state[data-state="established"]', { timeout: 15000 });
  await peer.waitFor(new RegExp(`^started ${sid}$`));
  return sid;
}

const hex = (rgb) => `#${rgb.toString(16).padStart(6, '0')}`;

/**
 * The regions to compare: 5×5 pixels at the centre of each square and of each area (away
 * from the edges, and from the pointer, which Xvnc draws into the framebuffer).
 */
function expected(pressed = false) {
  return WINDOWS.map((w, i) => ({
    x: w.x + Math.floor(w.width / 2) - 2 + (i === BUTTON ? 40 : 0),
    y: w.y + Math.floor(w.height / 2) - 2 + (i === BUTTON ? 30 : 0),
    rgb: pressed && i === BUTTON ? PRESSED_RGB : w.rgb,
  }));
}

/** Waits until every region of the canvas is its expected colour; returns what it saw. */
async function waitForPicture(page, regions, what) {
  try {
    await page.waitForFunction(({ regions, w, h }) => {
      const c = document.getElementById('desktop-canvas');
      if (c.width !== w || c.height !== h) return false;
      const ctx = c.getContext('2d');
      return regions.every(({ x, y, rgb }) => {
        const px = ctx.getImageData(x, y, 5, 5).data;
        for (let i = 0; i < px.length; i += 4) {
          if (((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]) !== rgb || px[i + 3] !== 255) return false;
        }
        return true;
      });
    }, { regions, w: WIDTH, h: HEIGHT }, { timeout: 20000, polling: 100 });
  } catch (e) {
    await page.locator('#desktop-canvas').screenshot({ path: join(SHOTS, 'desktop-failure.png') }).catch(() => {});
    const seen = await page.evaluate((regions) => {
      const ctx = document.getElementById('desktop-canvas').getContext('2d');
      return regions.map(({ x, y }) => [...ctx.getImageData(x, y, 1, 1).data.slice(0, 3)]
        .map((v) => v.toString(16).padStart(2, '0')).join(''));
    }, regions);
    throw new Error(`${what}: the canvas does not show the picture; expected ${regions.map((r) => hex(r.rgb)).join(' ')}, `
      + `saw #${seen.join(' #')}; state: ${await page.textContent('#desktop-status')}\n${e.message}`);
  }
}

test('the page views the native peer\'s VNC desktop on a canvas; a click changes it', { timeout: 90000 }, async () => {
  mkdirSync(SHOTS, { recursive: true });
  const carol = startPeer('carol');
  const bob = await openPage('bob');
  try {
    // A chat session, carol → bob.
    const sid = await chatSession(carol, bob.page, 'bob');

    // 1. "View desktop": a desktop-sharing stream proposed, the native peer shares Xvnc.
    assert.equal(await bob.page.getAttribute('#view-desktop', 'aria-pressed'), 'false');
    // DesktopSharingStreamGotData comes to observers that ask for it by name.
    await bob.page.evaluate(() => {
      window.__rfb = { bytes: 0, typed: true };
      window.softphone.app.addObserver('DesktopSharingStreamGotData', (n) => {
        window.__rfb.bytes += n.data.data.length;
        window.__rfb.typed &&= n.data.data instanceof Uint8Array && n.sender.type === 'Stream';
      });
    });
    await bob.page.click('#view-desktop');
    await carol.waitFor(new RegExp(`^proposal ${sid} desktop-sharing$`));
    await carol.waitFor(new RegExp(`^desktop ${sid}$`));
    await bob.page.waitForSelector('#desktop:not([hidden])', { timeout: 5000 });
    await waitForPicture(bob.page, expected(), 'in-call view');
    assert.equal(await bob.page.getAttribute('#desktop', 'data-state'), 'viewing');
    // The remote pointer is drawn by the browser from the shape Xvnc sent, at its hotspot.
    await bob.page.mouse.move(1, 1);
    const box0 = await bob.page.locator('#desktop-canvas').boundingBox();
    await bob.page.mouse.move(box0.x + 30, box0.y + 30);
    await bob.page.waitForFunction(() => /^url\("data:image\/png;base64,[^"]+"\) \d+ \d+, default$/
      .test(document.getElementById('desktop-canvas').style.cursor), null, { timeout: 10000 });
    assert.equal(await bob.page.getAttribute('#view-desktop', 'aria-pressed'), 'true');
    assert.deepEqual(await bob.page.evaluate(() => window.softphone.app.streams(window.softphone.session)),
      ['chat', 'desktop-sharing']);
    const info = await bob.page.evaluate(() => window.softphone.app.desktop(window.softphone.session));
    assert.equal(info.width, WIDTH);
    assert.equal(info.height, HEIGHT);
    assert.ok(info.connected && info.updates >= 1, JSON.stringify(info));
    const rfb = await bob.page.evaluate(() => window.__rfb);
    assert.ok(rfb.typed && rfb.bytes > 12, `DesktopSharingStreamGotData: ${JSON.stringify(rfb)}`);
    // Both ends' desktop stream goes through the relay, as chat does.
    const sdp = await bob.page.evaluate(() => window.softphone.app.localSdp(window.softphone.session));
    assert.match(sdp, /m=application \d+ TCP\/MSRP \*[\s\S]*a=accept-types:application\/x-rfb[\s\S]*a=rfbsetup:active/);
    await bob.page.screenshot({ path: join(SHOTS, 'desktop-view.png'), fullPage: true });

    // 2. A click on the blue area of the canvas (CSS pixels scaled to the framebuffer).
    const box = await bob.page.locator('#desktop-canvas').boundingBox();
    const target = { x: WINDOWS[BUTTON].x + 80, y: WINDOWS[BUTTON].y + 60 };
    assert.equal(xclient.presses.length, 0);
    await bob.page.mouse.click(box.x + (target.x * box.width) / WIDTH, box.y + (target.y * box.height) / HEIGHT);
    const press = await xclient.waitForPress();
    assert.equal(press.index, BUTTON, 'the press reached the blue window');
    assert.equal(press.button, 1, 'the left button');
    assert.ok(Math.abs(press.x - 80) <= 2 && Math.abs(press.y - 60) <= 2, `at the clicked point: ${JSON.stringify(press)}`);
    await waitForPicture(bob.page, expected(true), 'after the click');
    await bob.page.screenshot({ path: join(SHOTS, 'desktop-clicked.png'), fullPage: true });

    // Stop viewing: the stream is removed, the chat goes on.
    await bob.page.click('#view-desktop');
    await bob.page.waitForFunction(() => !window.softphone.app.streams(window.softphone.session).includes('desktop-sharing'),
      null, { timeout: 10000 });
    assert.deepEqual(await bob.page.evaluate(() => window.softphone.app.streams(window.softphone.session)), ['chat']);
    carol.send(`end ${sid}`);
    await bob.page.waitForSelector('#call-state[data-state="ended"]', { timeout: 15000 });

    // 3. The native peer shares its desktop in a new session; the page answers it.
    const from = carol.lines.length;
    carol.send(`share bob@${gateway.domain}`);
    const [, sid2] = await carol.waitFor(/^session (\d+)$/, 20000, from);
    await bob.page.waitForSelector('#incoming:not([hidden])', { timeout: 15000 });
    assert.equal(await bob.page.getAttribute('#incoming', 'data-streams'), 'desktop-sharing');
    await bob.page.click('#answer');
    await carol.waitFor(new RegExp(`^started ${sid2}$`), 20000, from);
    await waitForPicture(bob.page, expected(true), 'shared by the peer');
    carol.send(`end ${sid2}`);
    await bob.page.waitForSelector('#call-state[data-state="ended"]', { timeout: 15000 });
    assert.equal(carol.lines.filter((l) => l.startsWith('desktop-failed')).length, 0, carol.lines.join('\n'));
    assert.deepEqual(bob.errors, []);
  } finally {
    await carol.stop();
    await bob.context.close();
  }
});

test('a VNC server that asks for a password: a clear failure, then the password typed in the page', { timeout: 60000 }, async () => {
  const locked = await startXvnc(VNC_PASSWORD);
  const painter = await paint(locked.display, WINDOWS);
  const erin = startPeer('erin', locked);
  const dave = await openPage('dave');
  try {
    const sid = await chatSession(erin, dave.page, 'dave');
    assert.equal(await dave.page.isVisible('#desktop-auth'), false);

    // No password: the RFB handshake stops at VNC Authentication and says why.
    await dave.page.click('#view-desktop');
    await dave.page.waitForSelector('#desktop[data-state="failed"]', { timeout: 15000 });
    assert.match(await dave.page.textContent('#desktop-status'), /asks for a password/);
    await dave.page.waitForSelector('#desktop-auth:not([hidden])', { timeout: 5000 });
    assert.equal(await dave.page.evaluate(() => document.activeElement?.id), 'desktop-password');
    // The failed stream is gone; the chat goes on.
    await dave.page.waitForFunction(() => !window.softphone.app.streams(window.softphone.session).includes('desktop-sharing'),
      null, { timeout: 10000 });
    await dave.page.screenshot({ path: join(SHOTS, 'desktop-password.png'), fullPage: true });

    // The password typed, Enter in its field views the desktop again: the picture.
    await dave.page.fill('#desktop-password', VNC_PASSWORD);
    await dave.page.press('#desktop-password', 'Enter');
    await waitForPicture(dave.page, expected(), 'with the VNC password');
    assert.equal(await dave.page.getAttribute('#desktop', 'data-state'), 'viewing');
    erin.send(`end ${sid}`);
    await dave.page.waitForSelector('#call-state[data-state="ended"]', { timeout: 15000 });
    assert.deepEqual(dave.errors, []);
  } finally {
    await erin.stop();
    await dave.context.close();
    await painter.close();
    await locked.stop();
  }
});

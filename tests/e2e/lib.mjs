// Shared helpers of the end-to-end suites: the gateway, SIPp and Chromium, each started on
// loopback by the test and stopped by it. The Chromium flags live here and nowhere else.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import dgram from 'node:dgram';
import { createServer as createNetServer } from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
export const GATEWAY_BIN = process.env.SIPSIMPLE_GATEWAY_BIN ?? join(root, 'target', 'debug', 'sipsimple-gateway');
export const WEB_DIR = process.env.SIPSIMPLE_WEB_DIR ?? join(root, 'web');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// SIPp scenarios are shared with the gateway's Rust suites.
export const SCENARIOS = join(root, 'gateway', 'tests', 'scenarios');

// Every flag is needed to keep the browser on loopback and quiet (see PEERS.md):
// no vendor DNS look-ups, no background connections, WebRTC candidates on 127.0.0.1.
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run cargo xtask setup --for test`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/**
 * Opens the softphone page of `gateway` in a new browser context of `browser` (its own
 * storage, as another person's browser) and waits until the page is ready; its uncaught
 * errors are collected in `errors`. With `password`, fills in `user` and the password and,
 * unless `register` is false, signs in and waits for Registered (and, with `relay`, for the
 * MSRP relay's WebSocket to have authenticated).
 */
export async function openSoftphone(browser, gateway, user, { password, viewport, register = true, relay = false } = {}) {
  const context = await browser.newContext(viewport ? { viewport } : {});
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (process.env.E2E_DEBUG) page.on('console', (m) => console.log(`${user}:`, m.text()));
  await page.goto(gateway.http);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  if (password !== undefined) {
    await page.fill('#user', user);
    await page.fill('#password', password);
    if (register) {
      await page.click('#register');
      await page.waitForSelector('#reg-state[data-state="registered"]', { timeout: 15000 });
      if (relay) await page.waitForSelector('#files[data-relay="connected"]', { timeout: 15000 });
    }
  }
  return { user, page, context, errors };
}

/** A UDP port free on 127.0.0.1 at the time of asking. */
export function freeUdpPort() {
  return new Promise((ok, fail) => {
    const s = dgram.createSocket('udp4');
    s.on('error', fail);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Waits for `child` to print a line matching `re` on stdout; rejects on exit or timeout. */
function waitForLine(child, re, what, ms = 30000) {
  return new Promise((ok, fail) => {
    let buf = '';
    const timer = setTimeout(() => fail(new Error(`${what}: no ${re} within ${ms} ms; output: ${buf}`)), ms);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(re);
      if (m) { clearTimeout(timer); ok(m); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`${what} exited (${code}): ${buf}`)); });
  });
}

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freeTcpPort() {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts a gateway with the given users added; returns its addresses. Options: `http`, the
 * HTTP/WebSocket listen address (default `127.0.0.1:0`, a free port), and `dataDir`, a data
 * dir to reuse (default a fresh one), so that a gateway can be restarted in place.
 * `kill()` stops it abruptly (SIGKILL), as a crash would.
 */
export async function startGateway(users = {}, { http = '127.0.0.1:0', dataDir: reuse = null, env = {} } = {}) {
  const dataDir = reuse ?? mkdtempSync(join(tmpdir(), 'sipsimple-e2e-'));
  for (const [name, password] of Object.entries(users)) {
    execFileSync(GATEWAY_BIN, ['--data-dir', dataDir, 'user', 'add', name, '--password', password], { stdio: 'pipe' });
  }
  const child = spawn(GATEWAY_BIN, ['--data-dir', dataDir, 'serve', '--http', http, '--https', 'off',
    '--sip-udp', '127.0.0.1:0', '--web-dir', WEB_DIR, '--no-demo'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info', ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const m = await waitForLine(child, /ready http=(\S+) https=\S+ sip_udp=(\S+) domain=(\S+)/, 'gateway');
  return {
    http: `http://${m[1]}/`, sipUdp: m[2], domain: m[3], dataDir,
    logs: () => stderr,
    stop: () => new Promise((ok) => { if (child.exitCode !== null) return ok(); child.once('exit', ok); child.kill('SIGTERM'); }),
    kill: () => new Promise((ok) => { if (child.exitCode !== null) return ok(); child.once('exit', ok); child.kill('SIGKILL'); }),
  };
}

/** Runs SIPp for one call with `args`; `result` resolves with its exit code and statistics. */
function runSipp(args) {
  const statFile = join(mkdtempSync(join(tmpdir(), 'sipp-')), 'stat.csv');
  const all = [...args, '-i', '127.0.0.1', '-mi', '127.0.0.1', '-m', '1',
    '-timeout', '40s', '-timeout_error', '-trace_stat', '-stf', statFile, '-fd', '1', '-nostdin'];
  const child = spawn('sipp', all, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const result = new Promise((ok) => child.on('exit', (code) => ok({ code, stats: readStats(statFile), output: out })));
  return { result, stop: () => { if (child.exitCode === null) child.kill('SIGKILL'); } };
}

/**
 * Starts SIPp as a UAS for one call on 127.0.0.1:`port`: the built-in `uas` scenario, or a
 * scenario file from the shared scenarios folder; `extra` arguments such as `-rtp_echo`.
 */
export function startSippUas(port, scenario = null, extra = []) {
  return runSipp([...(scenario ? ['-sf', join(SCENARIOS, scenario)] : ['-sn', 'uas']), '-p', String(port), ...extra]);
}

/** Starts SIPp as a UAC calling `user` at the gateway's SIP address `gateway` (host:port). */
export async function startSippUac(gateway, user, scenario = 'uac_call.xml') {
  const port = await freeUdpPort();
  return runSipp(['-sf', join(SCENARIOS, scenario), gateway, '-p', String(port), '-s', user, '-key', 'target', gateway]);
}

/** The last row of SIPp's statistics CSV as an object (`SuccessfulCall(C)`, `FailedCall(C)`...). */
function readStats(file) {
  if (!existsSync(file)) return {};
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  if (lines.length < 2) return {};
  const head = lines[0].split(';');
  const last = lines[lines.length - 1].split(';');
  return Object.fromEntries(head.map((h, i) => [h, last[i]]));
}

/**
 * Starts SIPp as a UAS for one call on 127.0.0.1:`port` with a scenario file given by its
 * path (for scenarios kept beside the e2e suites rather than in the gateway's folder).
 */
export function startSippUasFile(port, file) {
  return runSipp(['-sf', file, '-p', String(port)]);
}

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/**
 * A tiny static HTTP server on 127.0.0.1 (a free port): serves the files under `dir` (if
 * given) and the in-memory `files` (`{'/path': 'body'}`), `index.html` for `/`.
 * Resolves with `{url, stop}`; `url` ends with a slash.
 */
export async function startStaticServer({ dir = null, files = {} } = {}) {
  const { createServer } = await import('node:http');
  const { readFile } = await import('node:fs/promises');
  const { extname, normalize, sep } = await import('node:path');
  const server = createServer(async (req, res) => {
    let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path.endsWith('/')) path += 'index.html';
    const type = MIME[extname(path)] ?? 'application/octet-stream';
    let body = files[path];
    if (body === undefined && dir) {
      const file = normalize(join(dir, path));
      if (file.startsWith(normalize(dir) + sep)) body = await readFile(file).catch(() => undefined);
    }
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    } else {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    }
  });
  await new Promise((ok, fail) => { server.once('error', fail); server.listen(0, '127.0.0.1', ok); });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

// A page that loads the packed SDK (`cargo xtask pack` stages it in target/npm/package)
// without a bundler, for the tests that drive its API with `page.evaluate`: the page keeps
// the WebSockets it opens in `window.sockets` (so a test can drop one), the package's
// exports in `window.sdk`, and a `window.log` for the notifications a test records.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, startGateway, startStaticServer } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE = process.env.SIPSIMPLE_NPM_PACKAGE ?? resolve(here, '..', '..', 'target', 'npm', 'package');

const PAGE = `<!doctype html><meta charset="utf-8"><title>sdk</title>
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

/**
 * Starts a gateway with `users`, a static server for the package and the page, and
 * Chromium. Resolves with `{gateway, site, browser, server, stop}` (`server`: the gateway's
 * WebSocket URL).
 */
export async function startSdkSite(users, gatewayOptions = {}) {
  if (!existsSync(join(PACKAGE, 'managers.js'))) {
    throw new Error(`${PACKAGE}/managers.js is missing: run \`cargo xtask pack\` (cargo xtask test does)`);
  }
  const gateway = await startGateway(users, gatewayOptions);
  const site = await startStaticServer({ dir: PACKAGE, files: { '/index.html': PAGE } });
  const browser = await launchBrowser();
  const sdk = {
    gateway, site, browser,
    server: `${gateway.http.replace(/^http/, 'ws')}ws`,
    stop: async () => {
      await browser.close();
      await site.stop();
      await sdk.gateway.stop();
    },
  };
  return sdk;
}

/** Opens the page in `context` once the SDK is initialised; collects page errors. */
export async function openSdkPage(context, site) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(site.url);
  await page.waitForFunction(() => window.ready === true);
  return { page, errors };
}

/**
 * Creates `window.accounts` (AccountManager) and `window.sessions` (SessionManager, WebRTC on
 * loopback) in the page; every notification's name goes to `window.log`.
 */
export function createManagers(page) {
  return page.evaluate(() => {
    const { AccountManager, SessionManager, loopbackOnly } = window.sdk;
    window.accounts = new AccountManager();
    window.sessions = new SessionManager(window.accounts, {
      media: { candidateFilter: loopbackOnly, audioElement: document.getElementById('remote') },
    });
    window.accounts.addObserver((n) => window.log.push(n.name));
    window.sessions.addObserver((n) => window.log.push(`session:${n.name}`));
  });
}

export const waitFor = (page, f, arg, timeout = 15000) => page.waitForFunction(f, arg, { timeout });

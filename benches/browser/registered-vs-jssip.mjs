// Time from navigation to Registered: the packed SDK (@sipsimple/client, no bundler) beside
// JsSIP (bundled with esbuild, as PEERS.md measured its size), both as minimal pages that
// register on load against the same gateway, loads interleaved so both see the same machine.
// Not part of `cargo xtask test` (timings are never asserted). Run after `cargo xtask pack`
// (and `cargo xtask setup --for test` for tests/e2e/node_modules):
//   SIPSIMPLE_GATEWAY_BIN=target/release/sipsimple-gateway node benches/browser/registered-vs-jssip.mjs 15
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { launchBrowser, startGateway, startStaticServer } from '../../tests/e2e/lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, '../../tests/e2e/package.json'));
const esbuild = require('esbuild');
const PACKAGE = process.env.SIPSIMPLE_NPM_PACKAGE ?? resolve(here, '../../target/npm/package');
const runs = Number(process.argv[2] ?? 15);
const PASSWORD = 'bench-pw';

const gateway = await startGateway({ alice: PASSWORD });
const ws = `${gateway.http.replace(/^http/, 'ws')}ws`;
const id = `alice@${gateway.domain}`;

// JsSIP bundled once, minified, in memory.
const jssip = await esbuild.build({
  stdin: { contents: "import JsSIP from 'jssip'; window.JsSIP = JsSIP;", resolveDir: resolve(here, '../../tests/e2e') },
  bundle: true, minify: true, format: 'esm', write: false,
});

const params = `const q = new URLSearchParams(location.search);`;
const pages = {
  '/sdk.html': `<!doctype html><script type="module">
import init, { SIPApplication } from './index.js';
${params}
await init();
const app = new SIPApplication({ server: q.get('ws'), id: q.get('id'), password: q.get('pw'), msrpRelay: false });
app.on('SIPAccountRegistrationDidSucceed', () => { document.title = 'registered'; });
await app.start();
</script>`,
  '/jssip.js': jssip.outputFiles[0].text,
  '/jssip.html': `<!doctype html><script type="module">
import './jssip.js';
${params}
const socket = new JsSIP.WebSocketInterface(q.get('ws'));
const ua = new JsSIP.UA({ sockets: [socket], uri: 'sip:' + q.get('id'), password: q.get('pw'), register: true });
ua.on('registered', () => { document.title = 'registered'; });
ua.start();
</script>`,
};
const site = await startStaticServer({ dir: PACKAGE, files: pages });
const browser = await launchBrowser();
const times = { sdk: [], jssip: [] };
try {
  const query = new URLSearchParams({ ws, id, pw: PASSWORD });
  for (let i = 0; i < runs; i++) {
    for (const which of i % 2 ? ['jssip', 'sdk'] : ['sdk', 'jssip']) {
      const page = await browser.newPage();
      const t0 = Date.now();
      await page.goto(`${site.url}${which}.html?${query}`);
      await page.waitForFunction(() => document.title === 'registered', null, { timeout: 15000 });
      times[which].push(Date.now() - t0);
      await page.close();
    }
  }
} finally {
  await browser.close();
  await site.stop();
  await gateway.stop();
}
const summary = {};
for (const [k, t] of Object.entries(times)) {
  t.sort((a, b) => a - b);
  summary[k] = { median_ms: t[Math.floor(t.length / 2)], min_ms: t[0], max_ms: t[t.length - 1] };
}
console.log(JSON.stringify({ runs, jssip_bundle_bytes: pages['/jssip.js'].length, ...summary }));

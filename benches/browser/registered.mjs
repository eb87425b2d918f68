// Time from navigation to "Registered" for the softphone page, median of N loads, against a
// gateway started here on loopback. Not part of `cargo xtask test` (timings are not asserted);
// run after `cargo xtask build-web && cargo build --release -p sipsimple-gateway`:
//   SIPSIMPLE_GATEWAY_BIN=target/release/sipsimple-gateway node benches/browser/registered.mjs 10
import { launchBrowser, startGateway } from '../../tests/e2e/lib.mjs';

const runs = Number(process.argv[2] ?? 10);
const gateway = await startGateway({ alice: 'bench-pw' });
const browser = await launchBrowser();
const times = [];
try {
  for (let i = 0; i < runs; i++) {
    const page = await browser.newPage();
    const t0 = Date.now();
    await page.goto(gateway.http);
    await page.waitForSelector('body[data-ready="true"]');
    await page.fill('#password', 'bench-pw');
    await page.click('#register');
    await page.waitForSelector('#reg-state[data-state="registered"]', { timeout: 15000 });
    times.push(Date.now() - t0);
    await page.close();
  }
} finally {
  await browser.close();
  await gateway.stop();
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({ runs, median_ms: median, min_ms: times[0], max_ms: times[times.length - 1], times }));

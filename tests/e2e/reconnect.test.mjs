// Reconnection: the gateway crashes under a registered page and comes back on the same port
// with the same data dir; the SDK reopens the WebSocket by itself and registers again, and
// the page follows without a reload. Everything runs on loopback and is stopped by the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, startGateway, freeTcpPort } from './lib.mjs';

let browser;
let gateway;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
});

const eventNames = (page) => page.$$eval('#events li', (lis) => lis.map((li) => li.dataset.name));

test('the gateway is killed and restarted: the page reconnects and registers again without a reload', async () => {
  const http = `127.0.0.1:${await freeTcpPort()}`;
  gateway = await startGateway({ alice: 'wonderland-7' }, { http });
  const { dataDir } = gateway;

  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(gateway.http);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  await page.fill('#user', 'alice');
  await page.fill('#password', 'wonderland-7');
  await page.click('#register');
  await page.waitForSelector('#reg-state[data-state="registered"]', { timeout: 15000 });
  // Survives only if the page is not reloaded.
  await page.evaluate(() => { window.__sameDocument = true; });

  await gateway.kill();
  await page.waitForSelector('#reg-state[data-state="reconnecting"]', { timeout: 15000 });
  assert.match(await page.textContent('#reg-state'), /reconnecting/);
  assert.equal(await page.isDisabled('#call'), true);

  gateway = await startGateway({}, { http, dataDir });
  await page.waitForSelector('#reg-state[data-state="registered"]', { timeout: 40000 });
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
  assert.equal(await page.isDisabled('#call'), false);

  const names = await eventNames(page);
  const will = names.indexOf('SIPApplicationWillReconnect');
  const did = names.indexOf('SIPApplicationDidReconnect');
  const reRegistered = names.lastIndexOf('SIPAccountRegistrationDidSucceed');
  assert.ok(will >= 0 && did > will && reRegistered > did, `unexpected notifications: ${JSON.stringify(names)}`);
  assert.ok(!names.includes('SIPApplicationDidEnd'), 'a drop is not the end of the application');
  assert.deepEqual(errors, []);

  // stop() still ends the application for real.
  await page.click('#unregister');
  await page.waitForSelector('#events li[data-name="SIPApplicationDidEnd"]', { timeout: 15000 });
  await page.close();
});

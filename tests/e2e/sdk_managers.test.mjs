// The packed SDK's seed objects (managers.js) in headless Chromium: AccountManager keeps
// accounts in localStorage across reloads (the password only when asked), the enabled flag
// activates and deactivates, and SessionManager / Session carry a call between two
// browsers through the gateway: accept, hold, DTMF, a chat message, hang-up, with each
// Session object's own observers. The page imports the package `cargo xtask pack` staged
// (target/npm/package) without a bundler. Everything runs on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createManagers as managers, openSdkPage, startSdkSite, waitFor } from './sdk_page.mjs';

const USERS = { alice: 'managers-a1', bob: 'managers-b2' };

let sdk;
let gateway;

before(async () => {
  sdk = await startSdkSite(USERS);
  ({ gateway } = sdk);
});

after(async () => {
  await sdk?.stop();
});

const open = (context) => openSdkPage(context, sdk.site);
const registered = (page, id) => waitFor(page, (i) => window.accounts.getAccount(i).registrationState === 'registered', id);

test('AccountManager: saved accounts, password only on request, the enabled flag', async () => {
  const context = await sdk.browser.newContext();
  const alice = `alice@${gateway.domain}`;
  const { server } = sdk;
  try {
    let { page, errors } = await open(context);
    await managers(page);

    // Bad settings are refused with a clear error; an unknown id is an error too.
    const refused = await page.evaluate(async () => {
      const out = [];
      for (const s of [{ id: 'no-domain', server: 'ws://x/ws' }, { id: 'a@b', server: 'http://x/' }]) {
        try { await window.accounts.addAccount(s); out.push('accepted'); } catch (e) { out.push(`${e.name}: ${e.message}`); }
      }
      try { window.accounts.getAccount('nobody@x'); out.push('found'); } catch (e) { out.push(e.message); }
      return out;
    });
    assert.match(refused[0], /TypeError: an account id must be user@domain/);
    assert.match(refused[1], /TypeError: an account's server must be a ws:\/\/ or wss:\/\/ URL/);
    assert.match(refused[2], /no account "nobody@x"/);

    await page.evaluate(async ({ id, server, password }) => {
      await window.accounts.start();
      await window.accounts.addAccount({ id, server, password, displayName: 'Alice' });
    }, { id: alice, server, password: USERS.alice });
    await registered(page, alice);
    const first = await page.evaluate((id) => ({
      log: [...window.log],
      stored: JSON.parse(localStorage.getItem('sipsimple.accounts')),
      isDefault: window.accounts.defaultAccount?.id === id,
      active: window.accounts.getAccount(id).active,
    }), alice);
    for (const name of ['SIPAccountManagerDidAddAccount', 'SIPAccountManagerDidChangeDefaultAccount',
      'SIPAccountDidActivate', 'SIPApplicationDidStart', 'SIPAccountRegistrationDidSucceed']) {
      assert.ok(first.log.includes(name), `${name} missing from ${JSON.stringify(first.log)}`);
    }
    assert.ok(first.isDefault && first.active);
    assert.equal(first.stored.default, alice);
    assert.equal(first.stored.accounts.length, 1);
    assert.equal(first.stored.accounts[0].displayName, 'Alice');
    assert.equal(first.stored.accounts[0].password, undefined, 'the password was saved without rememberPassword');

    // A reload: the account comes back from localStorage; without its password it fails to
    // register (a clear reason), and registers once the password is set and saved.
    await page.close();
    ({ page, errors } = await open(context));
    await managers(page);
    await page.evaluate(() => window.accounts.start());
    await waitFor(page, (id) => window.accounts.getAccount(id).registrationState === 'failed', alice);
    const failed = await page.evaluate((id) => window.accounts.getAccount(id).lastError, alice);
    assert.ok(failed, 'a failed registration has a reason');
    await page.evaluate(async ({ id, password }) => {
      const a = window.accounts.getAccount(id);
      a.password = password;
      a.rememberPassword = true;
      window.changed = null;
      a.on('CFGSettingsObjectDidChange', (n) => { window.changed = Object.keys(n.data.modified).sort(); });
      await a.save();
    }, { id: alice, password: USERS.alice });
    await registered(page, alice);
    assert.deepEqual(await page.evaluate(() => window.changed), ['password', 'rememberPassword']);
    assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('sipsimple.accounts')).accounts[0].password), USERS.alice);

    // enabled = false deactivates (unregisters, closes); the flag is saved too.
    await page.evaluate(async (id) => {
      window.log.length = 0;
      const a = window.accounts.getAccount(id);
      a.enabled = false;
      await a.save();
    }, alice);
    const off = await page.evaluate((id) => ({ log: [...window.log], a: window.accounts.getAccount(id) }), alice);
    for (const name of ['SIPAccountRegistrationDidEnd', 'SIPApplicationDidEnd', 'SIPAccountDidDeactivate']) {
      assert.ok(off.log.includes(name), `${name} missing from ${JSON.stringify(off.log)}`);
    }
    assert.equal(await page.evaluate((id) => window.accounts.getAccount(id).active, alice), false);

    // Reloaded disabled, it stays inactive; enabling it again registers with the saved password.
    await page.close();
    ({ page, errors } = await open(context));
    await managers(page);
    await page.evaluate(() => window.accounts.start());
    assert.equal(await page.evaluate((id) => window.accounts.getAccount(id).active, alice), false);
    await page.evaluate(async (id) => { const a = window.accounts.getAccount(id); a.enabled = true; await a.save(); }, alice);
    await registered(page, alice);

    // delete() unregisters and forgets it.
    const gone = await page.evaluate(async (id) => {
      await window.accounts.getAccount(id).delete();
      return { has: window.accounts.hasAccount(id), stored: JSON.parse(localStorage.getItem('sipsimple.accounts')) };
    }, alice);
    assert.equal(gone.has, false);
    assert.deepEqual(gone.stored.accounts, []);
    assert.equal(gone.stored.default, null);
    assert.deepEqual(errors.filter((e) => !/WebSocket|401|Unauthorized/.test(e)), []);
  } finally {
    await context.close();
  }
});

test('SessionManager: a browser-to-browser call through Session objects', { timeout: 90000 }, async () => {
  const { server } = sdk;
  const alice = `alice@${gateway.domain}`;
  const bob = `bob@${gateway.domain}`;
  const ca = await sdk.browser.newContext();
  const cb = await sdk.browser.newContext();
  try {
    const a = await open(ca);
    const b = await open(cb);
    for (const [p, id, password] of [[a.page, alice, USERS.alice], [b.page, bob, USERS.bob]]) {
      await managers(p);
      await p.evaluate(async ({ id, server, password }) => {
        await window.accounts.start();
        await window.accounts.addAccount({ id, server, password });
      }, { id, server, password });
      await registered(p, id);
    }
    // Bob answers every call and accepts chat proposals; his Session objects record what they hear.
    await b.page.evaluate(() => {
      window.heard = [];
      window.sessions.on('SIPSessionNewIncoming', (n) => {
        const s = n.session;
        window.incoming = s;
        s.on('SIPSessionGotHoldRequest', (m) => window.heard.push(`hold:${m.data.originator}`));
        s.on('SIPSessionGotUnholdRequest', (m) => window.heard.push(`unhold:${m.data.originator}`));
        s.on('SIPSessionGotDTMF', (m) => window.heard.push(`dtmf:${m.data.digit}`));
        s.on('SIPSessionGotStreamProposal', () => s.acceptProposal(['chat']));
        s.on('ChatStreamGotMessage', (m) => window.heard.push(`chat:${m.data.content}`));
        s.accept();
      });
    });
    await a.page.evaluate(async (target) => {
      window.call = await window.sessions.connect(target);
      window.states = [];
      window.call.on('SIPSessionChangedState', (n) => window.states.push(n.data.state));
    }, `sip:${bob}`);
    await waitFor(a.page, () => window.call.state === 'ESTABLISHED');
    await waitFor(b.page, () => window.incoming?.state === 'ESTABLISHED');
    const up = await a.page.evaluate(() => ({
      direction: window.call.direction, audio: window.call.hasAudio, remote: window.call.remoteUri,
      listed: window.sessions.sessions.map((s) => s.id), id: window.call.id, streams: window.call.streams,
    }));
    assert.equal(up.direction, 'outgoing');
    assert.equal(up.audio, true);
    assert.match(up.remote, new RegExp(`bob@${gateway.domain}`));
    assert.deepEqual(up.listed, [up.id]);
    assert.deepEqual(up.streams, ['audio']);
    assert.equal(await b.page.evaluate(() => window.incoming.direction), 'incoming');

    // Audio flows both ways (WebRTC between the two pages).
    await waitFor(a.page, async () => ((await window.call.audioStatistics())?.packetsReceived ?? 0) > 20, null, 20000);

    await a.page.evaluate(() => window.call.hold());
    await waitFor(b.page, () => window.heard.includes('hold:remote'));
    await a.page.evaluate(() => window.call.unhold());
    await waitFor(b.page, () => window.heard.includes('unhold:remote'));
    await a.page.evaluate(() => window.call.sendDTMF('7'));
    await waitFor(b.page, () => window.heard.includes('dtmf:7'));

    // A chat stream added to the call; the message reaches Bob's Session object.
    await a.page.evaluate(() => window.call.addChat());
    await waitFor(a.page, () => window.call.streams.includes('chat'), null, 20000);
    await a.page.evaluate(() => window.call.sendMessage('hello from a Session object'));
    await waitFor(b.page, () => window.heard.includes('chat:hello from a Session object'), null, 20000);

    await a.page.evaluate(() => window.call.end());
    await waitFor(b.page, () => window.incoming.state === 'TERMINATED');
    await waitFor(a.page, () => window.call.state === 'TERMINATED');
    const ended = {
      a: await a.page.evaluate(() => ({ reason: window.call.endReason, listed: window.sessions.sessions.length, states: window.states })),
      b: await b.page.evaluate(() => ({ reason: window.incoming.endReason, listed: window.sessions.sessions.length })),
    };
    assert.equal(ended.a.reason.originator, 'local');
    assert.equal(ended.b.reason.originator, 'remote');
    assert.equal(ended.a.listed, 0);
    assert.equal(ended.b.listed, 0);
    assert.ok(ended.a.states.includes('TERMINATED'), JSON.stringify(ended.a.states));

    for (const p of [a.page, b.page]) await p.evaluate(() => window.accounts.stop());
    assert.deepEqual([...a.errors, ...b.errors], []);
  } finally {
    await ca.close();
    await cb.close();
  }
});

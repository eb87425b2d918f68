// The seed's objects for JavaScript: AccountManager / Account (settings kept in
// localStorage, the enabled flag, registration), SessionManager / Session (one object per
// call, with its commands and its own observers). See managers.d.ts for the documentation.
//
// This layer is plain JavaScript over the wasm SIPApplication (one per active account, one
// WebSocket each) and BrowserMedia (WebRTC audio); it adds no protocol of its own.
import { SIPApplication } from './sipsimple_wasm.js';
import { BrowserMedia } from './media.js';

/** The localStorage key the accounts are saved under, unless `storageKey` says otherwise. */
export const DEFAULT_STORAGE_KEY = 'sipsimple.accounts';

/** Settings an account saves, with their defaults (the password only with rememberPassword). */
const SETTINGS = {
  server: '',
  password: '',
  displayName: null,
  authUsername: null,
  enabled: true,
  rememberPassword: false,
  reconnect: true,
  maxReconnectDelay: null,
  msrpRelay: null,
};
/** Settings whose change needs a new SIPApplication when the account is active. */
const CONNECTION_SETTINGS = ['server', 'password', 'displayName', 'authUsername', 'reconnect',
  'maxReconnectDelay', 'msrpRelay'];
const ID_PATTERN = /^[^@\s:;]+@[^@\s:;]+$/;
/** How long `stop()`/deactivation waits for the un-REGISTER before giving up, in ms. */
const STOP_TIMEOUT = 3000;

function memoryStorage() {
  const items = new Map();
  return {
    getItem: (k) => (items.has(k) ? items.get(k) : null),
    setItem: (k, v) => { items.set(k, String(v)); },
    removeItem: (k) => { items.delete(k); },
  };
}

function defaultStorage() {
  try {
    if (globalThis.localStorage) return globalThis.localStorage;
  } catch {
    // A sandboxed frame or disabled storage throws on access: keep accounts in memory.
  }
  return memoryStorage();
}

function senderMatches(filter, n) {
  if (filter === undefined) return true;
  return filter === n.account || filter === n.session;
}

/**
 * Observers of one object: `addObserver(handler)`, `addObserver(name, handler)`,
 * `addObserver(name, sender, handler)` where sender is an Account or a Session object.
 */
class Observers {
  constructor() {
    this.list = [];
  }

  static parse(args, what) {
    let [name, sender, handler] = [undefined, undefined, undefined];
    if (args.length === 1) [handler] = args;
    else if (args.length === 2) [name, handler] = args;
    else if (args.length === 3) [name, sender, handler] = args;
    if (typeof handler !== 'function') {
      throw new TypeError(`${what}: expected ([name, [sender,]] handler) with a function handler`);
    }
    if (name !== undefined && name !== '*' && typeof name !== 'string') {
      throw new TypeError(`${what}: the name must be a notification name or '*'`);
    }
    return { name: name === '*' ? undefined : name, sender, handler };
  }

  add(args) {
    this.list.push(Observers.parse(args, 'addObserver'));
  }

  remove(args) {
    const o = Observers.parse(args, 'removeObserver');
    this.list = this.list.filter((x) => !(x.handler === o.handler
      && (o.name === undefined || x.name === o.name)
      && (o.sender === undefined || x.sender === o.sender)));
  }

  post(n) {
    for (const o of [...this.list]) {
      if (o.name !== undefined && o.name !== n.name) continue;
      if (!senderMatches(o.sender, n)) continue;
      try {
        o.handler(n);
      } catch (e) {
        console.error(`an observer of ${n.name} threw`, e);
      }
    }
  }
}

/** Adds `addObserver`/`removeObserver`/`on`/`off` backed by `this._observers`. */
function observable(cls) {
  Object.assign(cls.prototype, {
    addObserver(...args) { this._observers.add(args); },
    removeObserver(...args) { this._observers.remove(args); },
    on(name, handler) { this._observers.add([name, handler]); },
    off(name, handler) { this._observers.remove([name, handler]); },
  });
}

function notification(name, sender, data, extra) {
  return { name, sender, data, timestamp: new Date(), ...extra };
}

// ---------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------

export class Account {
  constructor(manager, settings) {
    if (typeof settings?.id !== 'string' || !ID_PATTERN.test(settings.id)) {
      throw new TypeError(`an account id must be user@domain, got ${JSON.stringify(settings?.id)}`);
    }
    this._manager = manager;
    this._id = settings.id;
    this._settings = {};
    for (const [key, value] of Object.entries(SETTINGS)) {
      this._settings[key] = settings[key] ?? value;
    }
    Account._validate(this._settings);
    this._saved = { ...this._settings };
    this._app = null;
    this._registration = 'unregistered';
    this._lastError = null;
    this._observers = new Observers();
    this._deleted = false;
    this._queue = Promise.resolve();
  }

  static _validate(s) {
    if (typeof s.server !== 'string' || !/^wss?:\/\//i.test(s.server)) {
      throw new TypeError(`an account's server must be a ws:// or wss:// URL, got ${JSON.stringify(s.server)}`);
    }
    if (typeof s.password !== 'string') throw new TypeError('an account\'s password must be a string');
  }

  get id() { return this._id; }
  get username() { return this._id.split('@')[0]; }
  get domain() { return this._id.split('@')[1]; }
  get uri() { return `sip:${this._id}`; }
  get manager() { return this._manager; }

  get server() { return this._settings.server; }
  set server(v) { this._settings.server = String(v); }
  get password() { return this._settings.password; }
  set password(v) { this._settings.password = String(v ?? ''); }
  get displayName() { return this._settings.displayName; }
  set displayName(v) { this._settings.displayName = v == null ? null : String(v); }
  get authUsername() { return this._settings.authUsername; }
  set authUsername(v) { this._settings.authUsername = v == null ? null : String(v); }
  get enabled() { return this._settings.enabled; }
  set enabled(v) { this._settings.enabled = !!v; }
  get rememberPassword() { return this._settings.rememberPassword; }
  set rememberPassword(v) { this._settings.rememberPassword = !!v; }
  get reconnect() { return this._settings.reconnect; }
  set reconnect(v) { this._settings.reconnect = !!v; }
  get msrpRelay() { return this._settings.msrpRelay; }
  set msrpRelay(v) { this._settings.msrpRelay = v ?? null; }

  /** Whether the account is active: enabled, the manager started, its SIPApplication running. */
  get active() { return this._app !== null; }
  /** `unregistered`, `registering`, `registered` or `failed`. */
  get registrationState() { return this._registration; }
  /** The last registration or connection failure, `null` after a success. */
  get lastError() { return this._lastError; }
  /** The account's SIPApplication while active, else `null`. */
  get app() { return this._app; }

  /** The settings as saved (the password only with rememberPassword). */
  toJSON() {
    const out = { id: this._id };
    for (const key of Object.keys(SETTINGS)) {
      if (key === 'password' && !this._saved.rememberPassword) continue;
      out[key] = this._saved[key];
    }
    return out;
  }

  /**
   * Saves the settings changed since the last save: writes them to storage, posts
   * CFGSettingsObjectDidChange, then applies them (activates, deactivates or restarts).
   */
  save() {
    if (this._deleted) return Promise.reject(new Error(`account ${this._id} was deleted`));
    Account._validate(this._settings);
    const modified = {};
    for (const key of Object.keys(SETTINGS)) {
      if (this._settings[key] !== this._saved[key]) {
        modified[key] = { old: key === 'password' ? '***' : this._saved[key],
          new: key === 'password' ? '***' : this._settings[key] };
      }
    }
    this._saved = { ...this._settings };
    this._manager._persist();
    const keys = Object.keys(modified);
    if (keys.length > 0) {
      this._post('CFGSettingsObjectDidChange', { modified });
    }
    const restart = keys.some((k) => CONNECTION_SETTINGS.includes(k));
    return this._serial(() => this._reconcile(restart));
  }

  /** Deactivates the account and removes it (SIPAccountManagerDidRemoveAccount). */
  async delete() {
    if (this._deleted) return;
    this._deleted = true;
    await this._serial(() => this._deactivate());
    this._manager._remove(this);
  }

  /** Sends a REGISTER now (after a failure, or to refresh early). */
  register() {
    this._requireActive().register();
    this._registration = 'registering';
  }

  /** Removes the registration while staying active. */
  unregister() {
    this._requireActive().unregister();
  }

  _requireActive() {
    if (!this._app) throw new Error(`account ${this._id} is not active`);
    return this._app;
  }

  // Activation changes run one after another.
  _serial(f) {
    const next = this._queue.then(f, f);
    this._queue = next.catch(() => {});
    return next;
  }

  async _reconcile(restart) {
    const wanted = this._manager.started && this._saved.enabled && !this._deleted;
    if (this._app && (!wanted || restart)) await this._deactivate();
    if (!this._app && wanted) await this._activate();
  }

  async _activate() {
    const s = this._saved;
    const options = { server: s.server, id: this._id, password: s.password, reconnect: s.reconnect };
    if (s.displayName) options.displayName = s.displayName;
    if (s.authUsername) options.authUsername = s.authUsername;
    if (s.maxReconnectDelay != null) options.maxReconnectDelay = s.maxReconnectDelay;
    if (s.msrpRelay != null) options.msrpRelay = s.msrpRelay;
    const app = new SIPApplication(options);
    this._app = app;
    this._registration = 'registering';
    app.addObserver((n) => this._onApp(app, n));
    this._manager._attached(this, app);
    this._post('SIPAccountDidActivate', {});
    try {
      await app.start();
    } catch (e) {
      // The WebSocket did not open: the application ended (SIPApplicationDidEnd), and the
      // account is inactive until the next save() or AccountManager.start().
      this._lastError = e?.message ?? String(e);
      this._detach(app);
      throw new Error(`account ${this._id}: cannot reach the gateway at ${s.server}: ${this._lastError}`, { cause: e });
    }
  }

  async _deactivate() {
    const app = this._app;
    if (!app) return;
    const ended = new Promise((resolve) => {
      const timer = setTimeout(resolve, STOP_TIMEOUT);
      app.addObserver('SIPApplicationDidEnd', () => { clearTimeout(timer); resolve(); });
    });
    try {
      app.stop();
      await ended;
    } finally {
      this._detach(app);
    }
  }

  _detach(app) {
    if (this._app !== app) return;
    this._app = null;
    this._registration = 'unregistered';
    this._manager._detached(this, app);
    this._post('SIPAccountDidDeactivate', {});
  }

  _onApp(app, n) {
    if (this._app !== app) return;
    switch (n.name) {
      case 'SIPAccountRegistrationDidSucceed':
        this._registration = 'registered';
        this._lastError = null;
        break;
      case 'SIPAccountRegistrationDidFail':
        this._registration = 'failed';
        this._lastError = n.data?.reason ?? 'registration failed';
        break;
      case 'SIPAccountRegistrationDidEnd':
        this._registration = 'unregistered';
        break;
      case 'SIPApplicationWillReconnect':
        this._registration = 'registering';
        break;
      default:
    }
    const relayed = { ...n, account: this };
    this._observers.post(relayed);
    this._manager._relay(relayed);
    // A drop the SDK does not reconnect ends the application: the account is inactive.
    if (n.name === 'SIPApplicationDidEnd') this._detach(app);
  }

  _post(name, data) {
    const n = notification(name, { type: 'Account', id: this._id }, data, { account: this });
    this._observers.post(n);
    this._manager._relay(n);
  }
}
observable(Account);

export class AccountManager {
  constructor(options = {}) {
    this._storage = options.storage ?? defaultStorage();
    this._key = options.storageKey ?? DEFAULT_STORAGE_KEY;
    this._accounts = new Map();
    this._default = null;
    this._started = false;
    this._loaded = false;
    this._observers = new Observers();
    /** SessionManagers attached to this manager: told of each account's SIPApplication. */
    this._sessionManagers = new Set();
  }

  get started() { return this._started; }

  /**
   * Loads the saved accounts (SIPAccountManagerDidAddAccount for each) and activates the
   * enabled ones. Resolves when each activation has been tried; an account whose gateway
   * cannot be reached keeps trying by itself (see its lastError).
   */
  async start() {
    if (this._started) return;
    this._load();
    this._started = true;
    await Promise.allSettled(this.getAccounts().map((a) => a._serial(() => a._reconcile(false))));
  }

  /** Deactivates every account (unregisters and closes their WebSockets). */
  async stop() {
    if (!this._started) return;
    this._started = false;
    await Promise.allSettled(this.getAccounts().map((a) => a._serial(() => a._deactivate())));
  }

  hasAccount(id) {
    this._load();
    return this._accounts.has(id);
  }

  /** @throws Error when there is no such account (the seed's KeyError). */
  getAccount(id) {
    this._load();
    const account = this._accounts.get(id);
    if (!account) throw new Error(`no account ${JSON.stringify(id)}`);
    return account;
  }

  getAccounts() {
    this._load();
    return [...this._accounts.values()];
  }

  [Symbol.iterator]() {
    return this.getAccounts()[Symbol.iterator]();
  }

  /** The enabled account whose address of record is `uri` (`sip:user@domain`), or null. */
  findAccount(uri) {
    const aor = String(uri).replace(/^sips?:/i, '').split(/[;?>]/)[0].toLowerCase();
    return this.getAccounts().find((a) => a.enabled && a.id.toLowerCase() === aor) ?? null;
  }

  /**
   * Creates and saves an account. It activates at once when the manager is started and
   * `enabled` is not false; the promise settles once that has been tried.
   * @throws TypeError for a bad id or server, Error when the id exists.
   */
  async addAccount(settings) {
    this._load();
    if (this._accounts.has(settings?.id)) throw new Error(`account ${settings.id} already exists`);
    const account = new Account(this, settings);
    this._accounts.set(account.id, account);
    const first = this._default === null;
    if (first) this._default = account.id;
    this._persist();
    this._post('SIPAccountManagerDidAddAccount', { account });
    if (first) this._post('SIPAccountManagerDidChangeDefaultAccount', { old_account: null, account });
    await account._serial(() => account._reconcile(false));
    return account;
  }

  get defaultAccount() {
    this._load();
    return this._default === null ? null : this._accounts.get(this._default) ?? null;
  }

  set defaultAccount(account) {
    this._load();
    const id = account == null ? null : typeof account === 'string' ? account : account.id;
    if (id !== null && !this._accounts.has(id)) throw new Error(`no account ${JSON.stringify(id)}`);
    if (id === this._default) return;
    const old = this.defaultAccount;
    this._default = id;
    this._persist();
    this._post('SIPAccountManagerDidChangeDefaultAccount', { old_account: old, account: this.defaultAccount });
  }

  _load() {
    if (this._loaded) return;
    this._loaded = true;
    let saved = null;
    try {
      const text = this._storage.getItem(this._key);
      saved = text ? JSON.parse(text) : null;
    } catch (e) {
      console.error(`sipsimple: the saved accounts (${this._key}) are unreadable and were ignored`, e);
    }
    for (const settings of saved?.accounts ?? []) {
      try {
        const account = new Account(this, settings);
        this._accounts.set(account.id, account);
        this._post('SIPAccountManagerDidAddAccount', { account });
      } catch (e) {
        console.error(`sipsimple: a saved account was ignored: ${e.message}`);
      }
    }
    if (saved?.default && this._accounts.has(saved.default)) this._default = saved.default;
    else this._default = this._accounts.keys().next().value ?? null;
  }

  _persist() {
    const data = { version: 1, default: this._default, accounts: this.getAccounts().map((a) => a.toJSON()) };
    this._storage.setItem(this._key, JSON.stringify(data));
  }

  _remove(account) {
    this._accounts.delete(account.id);
    if (this._default === account.id) {
      const old = account;
      this._default = this._accounts.keys().next().value ?? null;
      this._persist();
      this._post('SIPAccountManagerDidRemoveAccount', { account });
      this._post('SIPAccountManagerDidChangeDefaultAccount', { old_account: old, account: this.defaultAccount });
    } else {
      this._persist();
      this._post('SIPAccountManagerDidRemoveAccount', { account });
    }
  }

  _attached(account, app) {
    for (const sm of this._sessionManagers) sm._attach(account, app);
  }

  _detached(account, app) {
    for (const sm of this._sessionManagers) sm._detach(account, app);
  }

  _relay(n) {
    this._observers.post(n);
  }

  _post(name, data) {
    this._observers.post(notification(name, { type: 'AccountManager' }, data, { account: data.account ?? undefined }));
  }
}
observable(AccountManager);

// ---------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------

const ENDED = new Set(['TERMINATED']);

export class Session {
  constructor(manager, account, app, id, direction) {
    this._manager = manager;
    this._account = account;
    this._app = app;
    this._id = id;
    this._direction = direction;
    this._state = app.sessionState(id) ?? 'NULL';
    this._endReason = null;
    this._observers = new Observers();
  }

  get id() { return this._id; }
  get account() { return this._account; }
  get app() { return this._app; }
  get direction() { return this._direction; }
  /** The seed's state: NULL, CALLING, INCOMING, ACCEPTING, ESTABLISHED, PROPOSING, ... TERMINATED. */
  get state() { return this._state; }
  /** All the session's attributes (URIs, hold flags, audio codec...), or undefined once gone. */
  get info() { return this._app.session(this._id); }
  get remoteUri() { return this.info?.remote_uri ?? null; }
  get localUri() { return this.info?.local_uri ?? null; }
  get onHold() { return this.info?.on_hold ?? false; }
  /** The stream types in effect, in m-line order. */
  get streams() { return this._app.streams(this._id); }
  /** Why the session ended (`{originator, code, reason}`), `null` while it goes on. */
  get endReason() { return this._endReason; }
  /** Whether WebRTC audio is attached (BrowserMedia). */
  get hasAudio() { return this._manager._media.get(this._app)?.calls.has(this._id) ?? false; }

  /**
   * Accepts an incoming session. With `audio` (the default, when the offer has audio and the
   * browser can capture it) the microphone is opened and WebRTC answers; else the SDK answers.
   */
  async accept({ audio = true } = {}) {
    const media = this._manager._media.get(this._app);
    const offered = /^m=audio /m.test(this._app.remoteSdp(this._id) ?? '');
    if (audio && offered && media) {
      await media.answer(this._id);
    } else {
      this._app.accept(this._id);
    }
  }

  /** Rejects an incoming session: 486 Busy Here when `busy`, else 603 Decline. */
  reject(busy = false) { this._app.reject(this._id, !!busy); }
  /** Ends the session (CANCEL, decline or BYE as its state requires). */
  end() { this._app.end(this._id); }
  hold() {
    const media = this._media();
    if (media) media.hold(this._id); else this._app.hold(this._id);
  }
  unhold() {
    const media = this._media();
    if (media) media.unhold(this._id); else this._app.unhold(this._id);
  }
  /** Mutes or unmutes this call's microphone (needs WebRTC audio). */
  mute(muted = true) {
    const media = this._media();
    if (!media) throw new Error(`session ${this._id} has no WebRTC audio`);
    media.mute(this._id, muted);
  }
  get muted() { return this._media()?.isMuted(this._id) ?? false; }
  sendDTMF(digit) {
    const media = this._media();
    if (media) media.sendDTMF(this._id, digit); else this._app.sendDtmf(this._id, String(digit));
  }
  addChat() { this._app.addChat(this._id); }
  removeChat() { this._app.removeChat(this._id); }
  acceptProposal(types) { this._app.acceptProposal(this._id, types ?? null); }
  rejectProposal() { this._app.rejectProposal(this._id); }
  sendMessage(text, contentType) { return this._app.sendMessage(this._id, text, contentType ?? null); }
  sendComposingIndication(state) { this._app.sendComposingIndication(this._id, state); }
  typing() { this._app.typing(this._id); }
  sendFile(file) { return this._app.sendFile(this._id, file); }
  receivedFile(stream) { return this._app.receivedFile(this._id, stream); }
  startRecordingAudio(fileName) { this._app.startRecordingAudio(this._id, fileName ?? null); }
  stopRecordingAudio() { this._app.stopRecordingAudio(this._id); }
  get audioRecordingFileName() { return this._app.audioRecordingFileName(this._id); }
  /** The call's audio counters (BrowserMedia.stats), or null without WebRTC audio. */
  async audioStatistics() { return this._media() ? this._media().stats(this._id) : null; }

  _media() {
    const media = this._manager._media.get(this._app);
    return media?.calls.has(this._id) ? media : null;
  }

  _on(n) {
    if (n.name === 'SIPSessionChangedState') this._state = n.data.state;
    if (n.name === 'SIPSessionDidFail') {
      this._endReason = { originator: n.data.originator, code: n.data.code, reason: n.data.reason };
    }
    if (n.name === 'SIPSessionDidEnd') {
      this._state = 'TERMINATED';
      this._endReason ??= { originator: n.data.originator, code: null, reason: n.data.originator === 'local' ? 'hung up' : 'the other party hung up' };
    }
    this._observers.post(n);
  }
}
observable(Session);

/** The id of the session a notification is about (session or stream sender), else null. */
function sessionIdOf(sender) {
  if (sender?.type === 'Session') return sender.id;
  if (sender?.type === 'Stream') return sender.id?.session ?? null;
  return null;
}

export class SessionManager {
  /**
   * @param accountManager the accounts whose sessions this manager tracks.
   * @param options `{media}`: BrowserMedia options for WebRTC audio (`false`: no audio).
   */
  constructor(accountManager, options = {}) {
    if (!(accountManager instanceof AccountManager)) throw new TypeError('SessionManager needs an AccountManager');
    this._accounts = accountManager;
    this._mediaOptions = options.media === false ? null : (options.media ?? {});
    /** app -> BrowserMedia */
    this._media = new Map();
    /** app -> Map(id -> Session) */
    this._sessions = new Map();
    this._observers = new Observers();
    this._handlers = new Map();
    accountManager._sessionManagers.add(this);
    for (const account of accountManager.getAccounts()) {
      if (account.app) this._attach(account, account.app);
    }
  }

  /** The sessions not yet TERMINATED, over all accounts. */
  get sessions() {
    const out = [];
    for (const byId of this._sessions.values()) {
      for (const s of byId.values()) if (!ENDED.has(s.state)) out.push(s);
    }
    return out;
  }

  /** The Session object of an account's session id, or null. */
  session(account, id) {
    return this._sessions.get(account?.app)?.get(id) ?? null;
  }

  /**
   * Starts an outgoing session from `account` (default: the default account) to `target`.
   * `audio` (default true) opens the microphone and offers WebRTC audio; `chat` (default
   * false) starts a chat-only session instead when `audio` is false.
   */
  async connect(target, { account = this._accounts.defaultAccount, audio = true, chat = false } = {}) {
    if (!account) throw new Error('no account to call from: add one first');
    const app = account.app;
    if (!app) throw new Error(`account ${account.id} is not active (enable it and start the AccountManager)`);
    let id;
    if (audio) {
      const media = this._media.get(app);
      if (!media) throw new Error('this browser cannot capture audio (no getUserMedia or RTCPeerConnection)');
      id = await media.call(target);
    } else if (chat) {
      id = app.connectChat(target);
    } else {
      id = app.connect(target);
    }
    return this._sessionFor(account, app, id, 'outgoing');
  }

  _sessionFor(account, app, id, direction) {
    let byId = this._sessions.get(app);
    if (!byId) {
      byId = new Map();
      this._sessions.set(app, byId);
    }
    let s = byId.get(id);
    if (!s) {
      s = new Session(this, account, app, id, direction);
      byId.set(id, s);
    }
    return s;
  }

  _attach(account, app) {
    if (this._handlers.has(app)) return;
    if (this._mediaOptions && BrowserMedia.supported) {
      this._media.set(app, new BrowserMedia(app, this._mediaOptions));
    }
    const handler = (n) => this._onApp(account, app, n);
    this._handlers.set(app, handler);
    app.addObserver(handler);
  }

  _detach(account, app) {
    const handler = this._handlers.get(app);
    if (handler) app.removeObserver(handler);
    this._handlers.delete(app);
    this._media.get(app)?.close();
    this._media.delete(app);
    const byId = this._sessions.get(app);
    if (byId) {
      for (const s of byId.values()) {
        if (ENDED.has(s.state)) continue;
        // The account went away under the call: say so rather than leave it hanging.
        s._endReason ??= { originator: 'local', code: 0, reason: `account ${account.id} was deactivated` };
        s._state = 'TERMINATED';
      }
    }
    this._sessions.delete(app);
  }

  _onApp(account, app, n) {
    const id = sessionIdOf(n.sender);
    if (id === null) return;
    let session = this._sessions.get(app)?.get(id) ?? null;
    if (!session && (n.name === 'SIPSessionNewIncoming' || n.name === 'SIPSessionNewOutgoing')) {
      session = this._sessionFor(account, app, id, n.name === 'SIPSessionNewIncoming' ? 'incoming' : 'outgoing');
    }
    if (!session) return;
    const relayed = { ...n, account, session };
    session._on(relayed);
    this._observers.post(relayed);
    if (n.name === 'SIPSessionDidEnd') this._sessions.get(app)?.delete(id);
  }
}
observable(SessionManager);

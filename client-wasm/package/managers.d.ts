// The seed's AccountManager / Account / SessionManager / Session objects (managers.js).
import type {
  BrowserMediaOptions,
  BrowserMediaStats,
  Notification,
  NotificationName,
  NotificationNamed,
  ReceivedFile,
  SIPApplication,
  SessionInfo,
  SessionState,
  Originator,
} from './index.js';

/** The localStorage key the accounts are saved under by default: `"sipsimple.accounts"`. */
export const DEFAULT_STORAGE_KEY: string;

/** The part of the Web Storage API the AccountManager uses (`localStorage` fits). */
export interface SettingsStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Options of `new AccountManager(options)`. */
export interface AccountManagerOptions {
  /**
   * Where the accounts are saved. Defaults to `localStorage` (in memory when the page has
   * none, e.g. a sandboxed frame).
   */
  storage?: SettingsStorage;
  /** The key they are saved under; defaults to {@link DEFAULT_STORAGE_KEY}. */
  storageKey?: string;
}

/** An account's settings, as given to `addAccount` and saved. */
export interface AccountSettings {
  /** The SIP id, `user@domain`. Required; cannot change. */
  id: string;
  /** The gateway's WebSocket URL (`wss://gateway.example.com/ws`). Required. */
  server: string;
  /** The digest password. Saved only when `rememberPassword` is true. */
  password?: string;
  /** The display name put in From headers. */
  displayName?: string | null;
  /** The digest user name when it differs from the id's user part. */
  authUsername?: string | null;
  /** Whether the account activates (connects and registers) when the manager starts. Default true. */
  enabled?: boolean;
  /**
   * Save the password in the storage too. Default false: after a reload the application
   * sets `account.password` and calls `save()` before the account can register.
   * localStorage is readable by any script of the page's origin.
   */
  rememberPassword?: boolean;
  /** Reconnect by itself when the WebSocket drops (see SIPApplicationOptions.reconnect). Default true. */
  reconnect?: boolean;
  /** The cap of the reconnection delay, in ms. */
  maxReconnectDelay?: number | null;
  /** The MSRP relay WebSocket, or `false` for no chat and files (see SIPApplicationOptions.msrpRelay). */
  msrpRelay?: string | false | null;
}

/** What the layer adds to each notification it delivers. */
export interface ManagedExtras {
  /** The account the notification is about, when there is one. */
  account?: Account;
  /** The session the notification is about (session and stream notifications). */
  session?: Session;
}

/** A SIPApplication notification as the managers deliver it: the same, plus the objects. */
export type ManagedNotification = Notification & ManagedExtras;

/** The shape of the AccountManager's own notifications. */
export interface AccountManagerNotificationOf<Name extends string, Data> {
  name: Name;
  sender: { type: 'AccountManager' };
  data: Data;
  timestamp: Date;
  /** The account added or removed, or the new default account. */
  account?: Account;
}
/** Sent when an account is added (also for each account loaded from storage). */
export type SIPAccountManagerDidAddAccount = AccountManagerNotificationOf<'SIPAccountManagerDidAddAccount', { account: Account }>;
/** Sent when an account is deleted (`account.delete()`). */
export type SIPAccountManagerDidRemoveAccount = AccountManagerNotificationOf<'SIPAccountManagerDidRemoveAccount', { account: Account }>;
/** Sent when the default account changes. */
export type SIPAccountManagerDidChangeDefaultAccount = AccountManagerNotificationOf<
  'SIPAccountManagerDidChangeDefaultAccount',
  { old_account: Account | null; account: Account | null }
>;
/** Sent by `save()` when settings changed: `modified[key] = {old, new}` (the password as `***`). */
export interface CFGSettingsObjectDidChange {
  name: 'CFGSettingsObjectDidChange';
  sender: { type: 'Account'; id: string };
  data: { modified: Record<string, { old: unknown; new: unknown }> };
  timestamp: Date;
  account: Account;
}

/** Every notification an AccountManager or Account delivers. */
export type AccountNotification =
  | ManagedNotification
  | SIPAccountManagerDidAddAccount
  | SIPAccountManagerDidRemoveAccount
  | SIPAccountManagerDidChangeDefaultAccount
  | CFGSettingsObjectDidChange;

type ManagedNamed<N extends NotificationName> = NotificationNamed<N> & ManagedExtras;
type ObserverMethods<All, Names extends string, Named extends { [K in Names]: unknown }> = {
  addObserver(handler: (n: All) => void): void;
  addObserver<N extends Names>(name: N, handler: (n: Named[N]) => void): void;
  addObserver(name: '*', handler: (n: All) => void): void;
  /** Only the notifications about `sender` (an Account or a Session object). */
  addObserver<N extends Names>(name: N | '*', sender: Account | Session, handler: (n: Named[N]) => void): void;
  removeObserver(handler: (n: All) => void): void;
  removeObserver<N extends Names>(name: N | '*', handler: (n: Named[N]) => void): void;
  removeObserver<N extends Names>(name: N | '*', sender: Account | Session, handler: (n: Named[N]) => void): void;
  on<N extends Names>(name: N, handler: (n: Named[N]) => void): void;
  on(name: '*', handler: (n: All) => void): void;
  off<N extends Names>(name: N, handler: (n: Named[N]) => void): void;
  off(name: '*', handler: (n: All) => void): void;
};

type AccountNames = NotificationName | 'SIPAccountManagerDidAddAccount' | 'SIPAccountManagerDidRemoveAccount'
  | 'SIPAccountManagerDidChangeDefaultAccount' | 'CFGSettingsObjectDidChange';
type AccountNamed = { [N in NotificationName]: ManagedNamed<N> } & {
  SIPAccountManagerDidAddAccount: SIPAccountManagerDidAddAccount;
  SIPAccountManagerDidRemoveAccount: SIPAccountManagerDidRemoveAccount;
  SIPAccountManagerDidChangeDefaultAccount: SIPAccountManagerDidChangeDefaultAccount;
  CFGSettingsObjectDidChange: CFGSettingsObjectDidChange;
};
type SessionNamed = { [N in NotificationName]: ManagedNamed<N> };

/**
 * The accounts (the seed's AccountManager): loads them from storage, activates the enabled
 * ones, and delivers every account's notifications (registration, the account's
 * SIPApplication's) plus its own to its observers.
 * @example
 * const accounts = new AccountManager();
 * accounts.on('SIPAccountRegistrationDidSucceed', (n) => console.log(n.account.id, 'registered'));
 * if (!accounts.hasAccount('alice@example.com')) {
 *   await accounts.addAccount({ id: 'alice@example.com', server: 'wss://gw.example.com/ws', password: 's3cret' });
 * }
 * await accounts.start();
 */
export interface AccountManager extends ObserverMethods<AccountNotification, AccountNames, AccountNamed> {}
export class AccountManager implements Iterable<Account> {
  constructor(options?: AccountManagerOptions);
  /** Whether `start()` was called (and `stop()` not since). */
  readonly started: boolean;
  /**
   * Loads the saved accounts (`SIPAccountManagerDidAddAccount` for each) and activates the
   * enabled ones. Resolves when each activation has been tried; one that failed leaves its
   * account inactive with `lastError` set.
   */
  start(): Promise<void>;
  /** Deactivates every account: unregisters and closes the WebSockets (3 s at most each). */
  stop(): Promise<void>;
  hasAccount(id: string): boolean;
  /** @throws Error when there is no account with this id. */
  getAccount(id: string): Account;
  getAccounts(): Account[];
  [Symbol.iterator](): Iterator<Account>;
  /** The enabled account whose address of record is `uri` (`sip:alice@example.com`), or null. */
  findAccount(uri: string): Account | null;
  /**
   * Creates and saves an account (`SIPAccountManagerDidAddAccount`; the first one becomes the
   * default). When the manager is started and the account enabled it activates at once.
   * @throws TypeError for an id that is not `user@domain` or a server that is not ws(s)://;
   *   Error when the id exists.
   * @returns a promise that rejects when the activation failed (the account stays saved).
   */
  addAccount(settings: AccountSettings): Promise<Account>;
  /** The default account (the first added unless set), or null; set it with an Account or an id. */
  defaultAccount: Account | null;
}

/** Where an account's registration stands. */
export type RegistrationState = 'unregistered' | 'registering' | 'registered' | 'failed';

/**
 * An account (the seed's Account): its settings (change them, then `save()`), the enabled
 * flag, and its registration. While active it owns one SIPApplication (one WebSocket).
 */
export interface Account extends ObserverMethods<AccountNotification, AccountNames, AccountNamed> {}
export class Account {
  private constructor();
  /** `user@domain`. */
  readonly id: string;
  readonly username: string;
  readonly domain: string;
  /** `sip:user@domain`. */
  readonly uri: string;
  readonly manager: AccountManager;
  server: string;
  password: string;
  displayName: string | null;
  authUsername: string | null;
  /** Takes effect on `save()`: true activates (connects, registers), false deactivates. */
  enabled: boolean;
  rememberPassword: boolean;
  reconnect: boolean;
  msrpRelay: string | false | null;
  /** Whether the account is active (its SIPApplication runs). */
  readonly active: boolean;
  readonly registrationState: RegistrationState;
  /** The last registration or connection failure in words (`Unauthorized`...), null after a success. */
  readonly lastError: string | null;
  /** The account's SIPApplication while active, else null: the full API for what this layer lacks. */
  readonly app: SIPApplication | null;
  /**
   * Saves the settings changed since the last save (`CFGSettingsObjectDidChange`), then
   * applies them: activates (`SIPAccountDidActivate`), deactivates (`SIPAccountDidDeactivate`)
   * or reconnects with the new server or credentials.
   * @throws TypeError (synchronously, as a rejected promise) for a bad server.
   * @returns a promise that rejects when an activation failed to reach the gateway.
   */
  save(): Promise<void>;
  /** Deactivates and removes the account (`SIPAccountManagerDidRemoveAccount`). */
  delete(): Promise<void>;
  /** Sends a REGISTER now. @throws Error when the account is not active. */
  register(): void;
  /** Removes the registration, staying connected. @throws Error when the account is not active. */
  unregister(): void;
  /** The saved settings (without the password unless rememberPassword). */
  toJSON(): AccountSettings;
}

/** Options of `new SessionManager(accounts, options)`. */
export interface SessionManagerOptions {
  /** BrowserMedia options for the calls' WebRTC audio; `false`: no audio (chat and files only). */
  media?: BrowserMediaOptions | false;
}

/** Options of `SessionManager.connect`. */
export interface ConnectOptions {
  /** The account to call from; defaults to the default account. */
  account?: Account;
  /** Open the microphone and offer WebRTC audio. Default true. */
  audio?: boolean;
  /** Without audio: a chat session (MSRP). Default false. */
  chat?: boolean;
}

/** Why a session ended. */
export interface SessionEndReason {
  originator: Originator;
  /** The SIP status code of a failure (486, 603, 408...), 0 for a local error, null for a normal hang-up. */
  code: number | null;
  reason: string;
}

/**
 * The sessions of an AccountManager's accounts (the seed's SessionManager): a Session object
 * per call, WebRTC audio through BrowserMedia, and every session and stream notification of
 * every account delivered to its observers with `n.session` and `n.account`.
 * @example
 * const sessions = new SessionManager(accounts, { media: { audioElement: document.querySelector('audio') } });
 * sessions.on('SIPSessionNewIncoming', (n) => n.session.accept());
 * const call = await sessions.connect('sip:bob@example.com');
 * call.on('SIPSessionDidEnd', () => console.log('ended:', call.endReason));
 */
export interface SessionManager extends ObserverMethods<ManagedNotification, NotificationName, SessionNamed> {}
export class SessionManager {
  constructor(accounts: AccountManager, options?: SessionManagerOptions);
  /** The sessions that are not TERMINATED, over all accounts. */
  readonly sessions: Session[];
  /** The Session object of an account's session id (as in a notification's sender), or null. */
  session(account: Account, id: number): Session | null;
  /**
   * Calls `target` (`sip:bob@example.com` or `bob@example.com`).
   * @throws Error when there is no account, it is not active, or audio is asked for and the
   *   browser cannot capture it; rejects when the microphone is refused.
   */
  connect(target: string, options?: ConnectOptions): Promise<Session>;
}

/**
 * One session (the seed's Session): its state and attributes, its commands, and observers of
 * its own notifications (`session.on('SIPSessionDidStart', ...)`).
 */
export interface Session extends ObserverMethods<ManagedNotification, NotificationName, SessionNamed> {}
export class Session {
  private constructor();
  /** The id the account's SIPApplication uses (the notifications' `sender.id`). */
  readonly id: number;
  readonly account: Account;
  readonly app: SIPApplication;
  readonly direction: 'incoming' | 'outgoing';
  readonly state: SessionState;
  /** All attributes (URIs, hold flags, audio codec...); undefined once the session is gone. */
  readonly info: SessionInfo | undefined;
  readonly remoteUri: string | null;
  readonly localUri: string | null;
  readonly onHold: boolean;
  /** The stream types in effect, in m-line order (`['audio', 'chat']`). */
  readonly streams: string[];
  /** Why it ended; null while it goes on. */
  readonly endReason: SessionEndReason | null;
  /** Whether WebRTC audio is attached to it. */
  readonly hasAudio: boolean;
  readonly muted: boolean;
  /** The file being recorded to, when recording. */
  readonly audioRecordingFileName: string | undefined;
  /**
   * Accepts an incoming session; with `audio` (default true) and an audio offer, the
   * microphone opens and WebRTC answers.
   */
  accept(options?: { audio?: boolean }): Promise<void>;
  /** 486 Busy Here when `busy`, else 603 Decline. */
  reject(busy?: boolean): void;
  /** Ends the session: CANCEL, decline or BYE as its state requires. */
  end(): void;
  hold(): void;
  unhold(): void;
  /** @throws Error without WebRTC audio. */
  mute(muted?: boolean): void;
  /** One DTMF digit (0-9, *, #, A-D). */
  sendDTMF(digit: string): void;
  addChat(): void;
  removeChat(): void;
  acceptProposal(types?: string[] | null): void;
  rejectProposal(): void;
  /** @returns the message id that delivery notifications carry. */
  sendMessage(text: string, contentType?: string | null): string;
  sendComposingIndication(state: 'active' | 'idle'): void;
  typing(): void;
  /** Sends a file on this session (an added file-transfer stream). */
  sendFile(file: File | Blob): number;
  receivedFile(stream: number): ReceivedFile | undefined;
  startRecordingAudio(fileName?: string | null): void;
  stopRecordingAudio(): void;
  /** The call's audio counters, null without WebRTC audio. */
  audioStatistics(): Promise<BrowserMediaStats | null>;
}

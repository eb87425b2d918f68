// Type definitions for @sipsimple/client.
//
// Written by hand from client-wasm/src/lib.rs (the SIPApplication class), media.js (BrowserMedia) and
// shared/src/notification.rs (the notifications and their data). `cargo xtask pack` checks
// that every notification name those files emit appears here, and the Vite test app checks
// with `tsc --strict` that every method of the generated class is declared here with
// compatible parameters.

// ---------------------------------------------------------------------------------------
// Loading the WebAssembly module
// ---------------------------------------------------------------------------------------

/** Where the WebAssembly module comes from: a URL to fetch, a response, bytes or a compiled module. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/** What `initSync` accepts: bytes or a compiled module. */
export type SyncInitInput = BufferSource | WebAssembly.Module;

/** The instantiated module's exports. Only `memory` is meant for applications (diagnostics). */
export interface InitOutput {
  /** The module's linear memory. */
  readonly memory: WebAssembly.Memory;
}

/**
 * Loads and instantiates the WebAssembly module. Call it once, and await it, before
 * creating a {@link SIPApplication}; later calls return the same instance.
 *
 * Without an argument the module is fetched from `sipsimple_wasm_bg.wasm` beside the
 * package's JavaScript (`new URL(..., import.meta.url)`, which bundlers such as Vite
 * rewrite to the emitted asset). Pass `{ module_or_path }` to load it from elsewhere.
 *
 * @example
 * import init, { SIPApplication } from '@sipsimple/client';
 * await init();
 */
export default function init(
  module_or_path?:
    | { module_or_path: InitInput | Promise<InitInput> }
    | InitInput
    | Promise<InitInput>,
): Promise<InitOutput>;

/**
 * Instantiates the module synchronously from bytes or a compiled `WebAssembly.Module`
 * (browsers allow this only for small modules on the main thread; use it in workers).
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

// ---------------------------------------------------------------------------------------
// Options and session attributes
// ---------------------------------------------------------------------------------------

/** Options of `new SIPApplication(options)`. */
export interface SIPApplicationOptions {
  /**
   * The gateway's WebSocket URL, `ws://` or `wss://` (for example
   * `wss://gateway.example.com/ws`); the connection uses the subprotocol `sip` (RFC 7118).
   * Required.
   */
  server: string;
  /** The account's SIP id, `user@domain` (for example `alice@sipsimple.local`). Required. */
  id: string;
  /** The digest password. Defaults to the empty string. */
  password?: string;
  /** The display name put in From headers. Optional. */
  displayName?: string;
  /** The digest user name when it differs from the id's user part. Optional. */
  authUsername?: string;
  /**
   * Reopen the WebSocket by itself when it drops without `stop()` having been called, with
   * exponential back-off (0.5 s, 1 s, 2 s, ... with jitter), then re-register
   * (`SIPApplicationWillReconnect`, `SIPApplicationDidReconnect`). Defaults to `true`;
   * with `false` a drop ends the application (`SIPApplicationDidEnd`).
   */
  reconnect?: boolean;
  /** The cap of the reconnection delay, in milliseconds. Defaults to 30000. */
  maxReconnectDelay?: number;
  /**
   * The gateway's MSRP relay WebSocket (RFC 7977, subprotocol `msrp`) that chat and file
   * transfer go through: by default `/msrp` on the host of `server`; `false` turns chat and
   * files off. Opened once the account registered, authenticated with the account's digest
   * credentials, reopened with back-off when it drops.
   */
  msrpRelay?: string | false;
}

/** A file received by `receivedFile`: its name (made safe), media type, size and content. */
export interface ReceivedFile {
  /** The file's name as the sender gave it, made safe to save (no path, no control characters). */
  name: string;
  /** The media type (`application/octet-stream` when the sender said none). */
  type: string;
  /** The size in bytes. */
  size: number;
  /** The content. */
  blob: Blob;
}

/** The states of a session (the SIP SIMPLE middleware API's state diagram). */
export type SessionState =
  | 'NULL'
  | 'CALLING'
  | 'INCOMING'
  | 'ACCEPTING'
  | 'ESTABLISHED'
  /** A local stream proposal is pending. */
  | 'PROPOSING'
  /** A remote stream proposal awaits an answer. */
  | 'PROPOSED'
  | 'TERMINATING'
  | 'TERMINATED';

/** Who caused something: this end (`local`) or the other (`remote`). */
export type Originator = 'local' | 'remote';

/** A session's attributes, as returned by {@link SIPApplication.session}. */
export interface SessionInfo {
  /** The session id (as returned by `connect` or carried by `SIPSessionNewIncoming`). */
  id: number;
  /** The current state. */
  state: SessionState;
  /** Whether this end placed the call (`outgoing`) or received it (`incoming`). */
  direction: 'incoming' | 'outgoing';
  /** This end's URI. */
  local_uri: string;
  /** The other end's URI. */
  remote_uri: string;
  /** The caller's URI. */
  caller_uri: string;
  /** The callee's URI. */
  callee_uri: string;
  /** The peer's `User-Agent` (or `Server`) header, `null` when it sent none. */
  remote_user_agent: string | null;
  /**
   * The seed's `route`: the outbound proxy (`sip:host;lr`) in use when `connect` placed the
   * session; `null` for an incoming session and for the browser's one flow to the gateway
   * (no `routes` configured).
   */
  route: string | null;
  /** Whether this end put the session on hold. */
  on_hold_by_local: boolean;
  /** Whether the other end put the session on hold. */
  on_hold_by_remote: boolean;
  /** Either of the two. */
  on_hold: boolean;
  /** The negotiated audio codec (`opus`, `PCMU`...), from the SDP in effect; `null` without audio. */
  audio_codec: string | null;
  /** Its clock rate in Hz. */
  audio_sample_rate: number | null;
  /** Our audio address and port as our SDP says (a WebRTC offer's is often `0.0.0.0`/9: ICE decides). */
  audio_local_rtp_address: string | null;
  audio_local_rtp_port: number | null;
  /** The peer's audio address and port as its SDP says. */
  audio_remote_rtp_address: string | null;
  audio_remote_rtp_port: number | null;
  /** Both sides speak secure RTP (DTLS-SRTP or SDES). */
  audio_srtp_active: boolean;
}

// ---------------------------------------------------------------------------------------
// Notifications
// ---------------------------------------------------------------------------------------

/** The sender of an account notification: the account, by its SIP id. */
export interface AccountSender {
  type: 'Account';
  /** The account's SIP id (`alice@example.com`). */
  id: string;
}

/** The sender of a session notification: the session, by its id. */
export interface SessionSender {
  type: 'Session';
  /** The session id, as returned by `connect`. */
  id: number;
}

/** The sender of a media stream notification: the stream, by its session and m-line. */
export interface StreamSender {
  type: 'Stream';
  id: {
    /** The session's id. */
    session: number;
    /** The position of the stream's m-line in the session's SDP. */
    index: number;
  };
}

/** The sender of the core's own application notifications (not emitted by the browser SDK yet). */
export interface ApplicationSender {
  type: 'Application';
}

/** The stream types of the middleware API: `"audio"`, `"chat"`, ... */
export type StreamType = string;

/** No data: the notification's `data` is an empty object. */
export type NoData = Record<string, never>;

/**
 * The shape shared by all notifications: a `name`, the `sender` (`null` for the
 * application's own), the `data` that goes with the name, and the time it was delivered.
 */
export interface NotificationOf<Name extends string, Sender, Data> {
  /** The notification's name (the middleware API's names). */
  name: Name;
  /** Who sent it: `null` for the browser SDK's `SIPApplication*`, else the account, session or stream. */
  sender: Sender;
  /** The data of this notification name. */
  data: Data;
  /** When the SDK delivered it (the wall clock). */
  timestamp: Date;
}

/** The WebSocket is open; the REGISTER is on its way. */
export type SIPApplicationDidStart = NotificationOf<'SIPApplicationDidStart', null, NoData>;

/**
 * The WebSocket dropped (or a reconnection attempt failed) and will be reopened after
 * `delay` ms: the `attempt`-th attempt. Registration and sessions follow the core's rules
 * for a closed flow meanwhile (established calls are kept for 32 s when the registrar
 * confirmed RFC 5626 outbound, as the gateway's does). When the browser reports the network
 * back (the window's `online` event) while an attempt waits, it is made at once: this
 * notification comes again with `delay` 0.
 */
export type SIPApplicationWillReconnect = NotificationOf<'SIPApplicationWillReconnect', null, {
  /** The attempt about to be made, from 1. */
  attempt: number;
  /** The delay before it, in milliseconds (jittered back-off, at most `maxReconnectDelay`). */
  delay: number;
}>;

/** The WebSocket is open again after a drop; the registration is being renewed. */
export type SIPApplicationDidReconnect = NotificationOf<'SIPApplicationDidReconnect', null, {
  /** The attempt that succeeded, from 1. */
  attempt: number;
}>;

/**
 * The MSRP relay WebSocket authenticated: chat and file streams negotiated from now on go
 * through the relay (its `use_path` goes before our own URI in `a=path`).
 */
export type SIPApplicationMSRPRelayDidConnect = NotificationOf<'SIPApplicationMSRPRelayDidConnect', null, {
  /** The relay's `Use-Path` (RFC 4976), first relay first. */
  use_path: string[];
  /** Seconds the relay granted, when it said. */
  expires: number | null;
}>;

/**
 * The MSRP relay could not be used: its WebSocket failed to open or dropped (the chat and
 * file streams on it fail: undelivered messages, `FileTransferStreamDidFinish` with an
 * error), or it refused the AUTH. Chat and files are unavailable until
 * `SIPApplicationMSRPRelayDidConnect`.
 */
export type SIPApplicationMSRPRelayDidFail = NotificationOf<'SIPApplicationMSRPRelayDidFail', null, {
  /** The WebSocket close code, or the AUTH's MSRP status code (401, 403, ...). */
  code: number;
  /** What went wrong. */
  reason: string;
  /** The reconnection attempt coming, from 1 (0 when none). */
  attempt: number;
  /** Milliseconds until that attempt; `null`: no retry (the AUTH was refused; it is tried again after the next successful registration). */
  delay: number | null;
}>;

/**
 * The application ended: the WebSocket closed after `stop()`, the first connection failed,
 * or it dropped with `reconnect: false`; `code`/`reason` are the last close event's.
 */
export type SIPApplicationDidEnd = NotificationOf<'SIPApplicationDidEnd', null, {
  /** The WebSocket close code (1005 after `stop()`, 1006 when the connection was lost). */
  code: number;
  /** The WebSocket close reason, often empty. */
  reason: string;
}>;

/** The application is starting (declared by the core for native shells; the browser SDK does not emit it yet). */
export type SIPApplicationWillStart = NotificationOf<'SIPApplicationWillStart', ApplicationSender, NoData>;

/** The application is stopping (declared by the core for native shells; the browser SDK does not emit it yet). */
export type SIPApplicationWillEnd = NotificationOf<'SIPApplicationWillEnd', ApplicationSender, NoData>;

/** The account activated (declared by the core; the browser SDK does not emit it yet). */
export type SIPAccountDidActivate = NotificationOf<'SIPAccountDidActivate', AccountSender, NoData>;

/** The account deactivated (declared by the core; the browser SDK does not emit it yet). */
export type SIPAccountDidDeactivate = NotificationOf<'SIPAccountDidDeactivate', AccountSender, NoData>;

/** A REGISTER (or a refresh) succeeded. */
export type SIPAccountRegistrationDidSucceed = NotificationOf<'SIPAccountRegistrationDidSucceed', AccountSender, {
  /** Status code of the final response (2xx). */
  code: number;
  /** Reason phrase of the final response. */
  reason: string;
  /** The contact this user agent registered. */
  contact_uri: string;
  /** Every contact the registrar holds for the account. */
  contact_uri_list: string[];
  /** Seconds until the binding expires (the SDK refreshes it before). */
  expires: number;
}>;

/** A REGISTER failed (403 for a wrong password); the SDK retries after `delay` seconds. */
export type SIPAccountRegistrationDidFail = NotificationOf<'SIPAccountRegistrationDidFail', AccountSender, {
  /** Status code, `null` when no response came (timeout, transport error). */
  code: number | null;
  /** Why it failed (the reason phrase, or a description). */
  reason: string;
  /** Seconds until the next attempt. */
  delay: number;
  /**
   * The next outbound route the account will try (from its ordered route list), or `null`
   * when there is none or the same route is retried. The browser client has one gateway URL,
   * so this is `null` there.
   */
  next_route: { host: string; port: number | null; transport: string } | null;
}>;

/** The registration ended (after `unregister()` or `stop()`). */
export type SIPAccountRegistrationDidEnd = NotificationOf<'SIPAccountRegistrationDidEnd', AccountSender, {
  /** Status code of the response to the `Expires: 0` REGISTER, `null` if none came. */
  code: number | null;
  /** Its reason phrase, `null` if none came. */
  reason: string | null;
}>;

/** A session changed state. */
export type SIPSessionChangedState = NotificationOf<'SIPSessionChangedState', SessionSender, {
  /** The state before. */
  prev_state: SessionState;
  /** The state now. */
  state: SessionState;
}>;

/** `connect()` started an outgoing session. */
export type SIPSessionNewOutgoing = NotificationOf<'SIPSessionNewOutgoing', SessionSender, {
  /** The streams proposed (`"audio"`). */
  streams: string[];
}>;

/** A new incoming session arrived: answer it with `accept(id)` or `reject(id, busy)`. */
export type SIPSessionNewIncoming = NotificationOf<'SIPSessionNewIncoming', SessionSender, {
  /** The streams the remote party proposed (`"audio"`). */
  streams: string[];
}>;

/** The remote device is ringing (a 180 arrived). */
export type SIPSessionGotRingIndication = NotificationOf<'SIPSessionGotRingIndication', SessionSender, NoData>;

/** A final 2xx arrived (or `accept` was called); the session is about to start. */
export type SIPSessionWillStart = NotificationOf<'SIPSessionWillStart', SessionSender, NoData>;

/** The session is established. */
export type SIPSessionDidStart = NotificationOf<'SIPSessionDidStart', SessionSender, NoData>;

/** The session failed (rejected, cancelled, timed out); `SIPSessionDidEnd` follows. */
export type SIPSessionDidFail = NotificationOf<'SIPSessionDidFail', SessionSender, {
  /** Who failed it. */
  originator: Originator;
  /** The SIP status code (486, 603...), 0 for an internal error. */
  code: number;
  /** What happened. */
  reason: string;
}>;

/** `end()` was called: the session is being torn down. */
export type SIPSessionWillEnd = NotificationOf<'SIPSessionWillEnd', SessionSender, NoData>;

/** The session ended. */
export type SIPSessionDidEnd = NotificationOf<'SIPSessionDidEnd', SessionSender, {
  /** Who ended it. */
  originator: Originator;
}>;

/** The session was put on hold, by this end (`local`) or by the other (`remote`). */
export type SIPSessionGotHoldRequest = NotificationOf<'SIPSessionGotHoldRequest', SessionSender, {
  /** Who put the session on hold. */
  originator: Originator;
}>;

/** The session was taken out of hold by the party that had put it on hold. */
export type SIPSessionGotUnholdRequest = NotificationOf<'SIPSessionGotUnholdRequest', SessionSender, {
  /** Who took the session out of hold. */
  originator: Originator;
}>;

/** One party proposed to add streams to an established session (state PROPOSING or PROPOSED). */
export type SIPSessionGotStreamProposal = NotificationOf<'SIPSessionGotStreamProposal', SessionSender, {
  /** Who proposed. */
  proposer: Originator;
  /** The stream types proposed. */
  streams: StreamType[];
}>;

/** A stream proposal was rejected (by the other party, or by this end for a remote proposal). */
export type SIPSessionRejectedStreamProposal = NotificationOf<'SIPSessionRejectedStreamProposal', SessionSender, {
  /** Who proposed. */
  proposer: Originator;
  /** Why it was rejected. */
  reason: string;
}>;

/** A stream proposal was accepted; `SIPSessionGotStreamUpdate` follows. */
export type SIPSessionAcceptedStreamProposal = NotificationOf<'SIPSessionAcceptedStreamProposal', SessionSender, {
  /** Who proposed. */
  proposer: Originator;
}>;

/** Streams were activated or deactivated. */
export type SIPSessionGotStreamUpdate = NotificationOf<'SIPSessionGotStreamUpdate', SessionSender, {
  /** The stream types active from now on, in m-line order. */
  streams: StreamType[];
}>;

/**
 * A DTMF digit arrived from the other party: a SIP INFO `application/dtmf-relay` (or
 * `application/dtmf`) in the session's dialog.
 */
export type SIPSessionGotDTMF = NotificationOf<'SIPSessionGotDTMF', SessionSender, {
  /** The digit: `0`-`9`, `*`, `#` or `A`-`D`. */
  digit: string;
}>;

/** A chat message arrived on the session's chat stream (sender: the session; `ChatStreamGotMessage` comes first). */
export type SIPSessionGotMessage = NotificationOf<'SIPSessionGotMessage', SessionSender, {
  /** The MSRP Message-ID. */
  message_id: string;
  /** The content as text. */
  content: string;
  /** The Content-Type of the user's message (the wrapped one under CPIM). */
  content_type: string;
  /** The CPIM headers by name (`From`, `To`, `DateTime`...); empty without a CPIM wrapper. */
  cpim_headers: Record<string, string>;
}>;

/** A chat message `sendMessage` sent was delivered (sender: the session). */
export type SIPSessionDidDeliverMessage = NotificationOf<'SIPSessionDidDeliverMessage', SessionSender, {
  /** The id `sendMessage` returned. */
  message_id: string;
  /** The status code of the success report (200). */
  code: number;
  /** The status comment. */
  reason: string;
}>;

/** A chat message `sendMessage` sent was not delivered (sender: the session). */
export type SIPSessionDidNotDeliverMessage = NotificationOf<'SIPSessionDidNotDeliverMessage', SessionSender, {
  /** The id `sendMessage` returned. */
  message_id: string;
  /** The status code (408 when no response came or the connection closed). */
  code: number;
  /** The status comment. */
  reason: string;
}>;

/** A chat message arrived, unwrapped from CPIM when it came wrapped (sender: the chat stream). */
export type ChatStreamGotMessage = NotificationOf<'ChatStreamGotMessage', StreamSender, {
  /** The MSRP Message-ID. */
  message_id: string;
  /** The content as text. */
  content: string;
  /** The Content-Type of the user's message (the wrapped one under CPIM). */
  content_type: string;
  /** The CPIM headers by name (`From`, `To`, `DateTime`...); empty without a CPIM wrapper. */
  cpim_headers: Record<string, string>;
}>;

/** A success report for a sent chat message arrived (sender: the chat stream). */
export type ChatStreamDidDeliverMessage = NotificationOf<'ChatStreamDidDeliverMessage', StreamSender, {
  /** The Message-ID `sendMessage` returned. */
  message_id: string;
  /** The status code (200). */
  code: number;
  /** The status comment. */
  reason: string;
}>;

/** A chat message was not delivered: a failure report or response, or no response in time. */
export type ChatStreamDidNotDeliverMessage = NotificationOf<'ChatStreamDidNotDeliverMessage', StreamSender, {
  /** The Message-ID `sendMessage` returned. */
  message_id: string;
  /** The status code (408 when no response came). */
  code: number;
  /** The status comment. */
  reason: string;
}>;

/** A chat message was sent: its last chunk went out (sender: the chat stream). */
export type ChatStreamDidSendMessage = NotificationOf<'ChatStreamDidSendMessage', StreamSender, {
  /** The Message-ID `sendMessage` returned. */
  message_id: string;
}>;

/** The other party's composing state changed (RFC 3994) (sender: the chat stream). */
export type ChatStreamGotComposingIndication = NotificationOf<'ChatStreamGotComposingIndication', StreamSender, {
  /** `active` or `idle`. */
  state: string;
  /** Seconds until an `active` state expires unless refreshed. */
  refresh: number | null;
  /** What is being composed (`text/plain`, `audio`...), when said. */
  content_type: string | null;
  /** When the other party was last active (RFC 3339), with an idle indication. */
  last_active: string | null;
  /** The CPIM `From` of the indication, when it came wrapped. */
  sender: string | null;
}>;

/** A chunk of the file being received arrived (sender: the file-transfer stream). */
export type FileTransferStreamGotChunk = NotificationOf<'FileTransferStreamGotChunk', StreamSender, {
  /** The Content-Type of the file. */
  content_type: string | null;
  /** Where the chunk goes in the file, 0-based. */
  offset: number;
  /** The chunk's length. */
  length: number;
  /** Distinct bytes of the file received so far. */
  transferred_bytes: number;
  /** The file's size, when known. */
  file_size: number | null;
}>;

/** A chunk of the file being sent was acknowledged (sender: the file-transfer stream). */
export type FileTransferStreamDidDeliverChunk = NotificationOf<'FileTransferStreamDidDeliverChunk', StreamSender, {
  /** The MSRP Message-ID of the transfer. */
  message_id: string;
  /** Where the chunk starts in the file, 0-based. */
  offset: number;
  /** The chunk's length. */
  length: number;
  /** Bytes acknowledged so far. */
  transferred_bytes: number;
  /** The file's size. */
  file_size: number;
}>;

/** The file being sent could not be delivered; `FileTransferStreamDidFinish` with the error follows. */
export type FileTransferStreamDidNotDeliverChunk = NotificationOf<'FileTransferStreamDidNotDeliverChunk', StreamSender, {
  /** The MSRP Message-ID of the transfer. */
  message_id: string;
  /** The status code (408 when no response came). */
  code: number;
  /** The status comment. */
  reason: string;
}>;

/** The transfer ended (sender: the file-transfer stream). */
export type FileTransferStreamDidFinish = NotificationOf<'FileTransferStreamDidFinish', StreamSender, {
  /** `null` on success; otherwise what went wrong (hash mismatch, aborted, failure report...). */
  error: string | null;
}>;

/**
 * The desktop-sharing stream's handler failed: the VNC server could not be reached or
 * closed, the viewer went away; `MediaStreamDidFail` follows.
 */
export type DesktopSharingHandlerDidFail = NotificationOf<'DesktopSharingHandlerDidFail', StreamSender, {
  /** What the handler was doing: `connecting`, `reading` or `sending`. */
  context: string;
  /** What went wrong. */
  reason: string;
}>;

/**
 * RFB data arrived for the browser's viewer (sender: the desktop-sharing stream). Posted
 * only to observers added for this name (`addObserver('DesktopSharingStreamGotData', h)`):
 * every piece of the desktop's data is copied for them.
 */
export type DesktopSharingStreamGotData = NotificationOf<'DesktopSharingStreamGotData', StreamSender, {
  /** The RFB bytes, in order. */
  data: Uint8Array;
}>;

/**
 * No audio came from the other party in the first 5 s of the call's audio, once per session:
 * the gateway's media relay tells for calls it anchors, BrowserMedia (`reportNoAudio`) for
 * any call, end-to-end WebRTC ones included.
 */
export type SIPSessionGotNoAudio = NotificationOf<'SIPSessionGotNoAudio', SessionSender, Record<string, never>>;

/** `startRecordingAudio` was called: the request to record the session's audio is on its way. */
export type SIPSessionWillStartRecordingAudio = NotificationOf<'SIPSessionWillStartRecordingAudio', SessionSender, {
  /** The file name asked for. */
  file_name: string;
}>;

/** The recorder started recording the session's audio. */
export type SIPSessionDidStartRecordingAudio = NotificationOf<'SIPSessionDidStartRecordingAudio', SessionSender, {
  /** The file the recorder writes, as it named it (with its path). */
  file_name: string;
}>;

/** The recording is about to stop (`stopRecordingAudio` was called, or the session ends). */
export type SIPSessionWillStopRecordingAudio = NotificationOf<'SIPSessionWillStopRecordingAudio', SessionSender, {
  /** The file being recorded. */
  file_name: string;
}>;

/** The recording stopped. */
export type SIPSessionDidStopRecordingAudio = NotificationOf<'SIPSessionDidStopRecordingAudio', SessionSender, {
  /** The file recorded. */
  file_name: string;
}>;

/** A media stream was initialized. */
export type MediaStreamDidInitialize = NotificationOf<'MediaStreamDidInitialize', StreamSender, {
  /** The stream's type. */
  stream: StreamType;
}>;

/** A media stream started. */
export type MediaStreamDidStart = NotificationOf<'MediaStreamDidStart', StreamSender, {
  /** The stream's type. */
  stream: StreamType;
}>;

/** A media stream failed; `MediaStreamDidEnd` follows. */
export type MediaStreamDidFail = NotificationOf<'MediaStreamDidFail', StreamSender, {
  /** The stream's type. */
  stream: StreamType;
  /** What went wrong. */
  reason: string;
}>;

/** A media stream is about to end. */
export type MediaStreamWillEnd = NotificationOf<'MediaStreamWillEnd', StreamSender, {
  /** The stream's type. */
  stream: StreamType;
}>;

/** A media stream ended. */
export type MediaStreamDidEnd = NotificationOf<'MediaStreamDidEnd', StreamSender, {
  /** The stream's type. */
  stream: StreamType;
}>;

/**
 * Every notification an observer can receive: a union discriminated by `name`, so that
 * `switch (n.name)` narrows `n.data` and `n.sender`.
 *
 * @example
 * app.addObserver((n) => {
 *   switch (n.name) {
 *     case 'SIPAccountRegistrationDidSucceed': console.log('expires in', n.data.expires); break;
 *     case 'SIPSessionDidFail': console.log(n.sender.id, n.data.code, n.data.reason); break;
 *   }
 * });
 */
export type Notification =
  | SIPApplicationWillStart
  | SIPApplicationDidStart
  | SIPApplicationWillReconnect
  | SIPApplicationDidReconnect
  | SIPApplicationMSRPRelayDidConnect
  | SIPApplicationMSRPRelayDidFail
  | SIPApplicationWillEnd
  | SIPApplicationDidEnd
  | SIPAccountDidActivate
  | SIPAccountDidDeactivate
  | SIPAccountRegistrationDidSucceed
  | SIPAccountRegistrationDidFail
  | SIPAccountRegistrationDidEnd
  | SIPSessionChangedState
  | SIPSessionNewOutgoing
  | SIPSessionNewIncoming
  | SIPSessionGotRingIndication
  | SIPSessionWillStart
  | SIPSessionDidStart
  | SIPSessionDidFail
  | SIPSessionWillEnd
  | SIPSessionDidEnd
  | SIPSessionGotHoldRequest
  | SIPSessionGotUnholdRequest
  | SIPSessionGotStreamProposal
  | SIPSessionRejectedStreamProposal
  | SIPSessionAcceptedStreamProposal
  | SIPSessionGotStreamUpdate
  | SIPSessionGotDTMF
  | SIPSessionGotNoAudio
  | SIPSessionGotMessage
  | SIPSessionDidDeliverMessage
  | SIPSessionDidNotDeliverMessage
  | ChatStreamGotMessage
  | ChatStreamDidDeliverMessage
  | ChatStreamDidNotDeliverMessage
  | ChatStreamDidSendMessage
  | ChatStreamGotComposingIndication
  | FileTransferStreamGotChunk
  | FileTransferStreamDidDeliverChunk
  | FileTransferStreamDidNotDeliverChunk
  | FileTransferStreamDidFinish
  | DesktopSharingHandlerDidFail
  | DesktopSharingStreamGotData
  | SIPSessionWillStartRecordingAudio
  | SIPSessionDidStartRecordingAudio
  | SIPSessionWillStopRecordingAudio
  | SIPSessionDidStopRecordingAudio
  | MediaStreamDidInitialize
  | MediaStreamDidStart
  | MediaStreamDidFail
  | MediaStreamWillEnd
  | MediaStreamDidEnd;

/** Every notification name. */
export type NotificationName = Notification['name'];

/**
 * Which sender an observer is for: a session id, a sender type (`'Session'`, `'Account'`,
 * `'Stream'`...), or a sender object as notifications carry it (`n.sender`).
 */
export type SenderFilter = number | string | { type: string; id?: number; index?: number };

/** The notification of one name: `NotificationNamed<'SIPSessionDidFail'>`. */
export type NotificationNamed<N extends NotificationName> = Extract<Notification, { name: N }>;

/** An observer: called with every notification, synchronously, in order. */
export type Observer = (notification: Notification) => void;

// ---------------------------------------------------------------------------------------
// The application
// ---------------------------------------------------------------------------------------

/**
 * The application: one account, its registration and its sessions, over one WebSocket to
 * the gateway. Create it after `await init()`.
 *
 * Methods that act on a session throw an `Error` for an unknown id or a command the
 * session's state does not allow.
 */
export class SIPApplication {
  /**
   * Creates the application (nothing is sent until `start()`).
   * @throws Error when `options.server` is missing or not a `ws://`/`wss://` URL, or
   *   `options.id` is missing or not a valid `user@domain`.
   */
  constructor(options: SIPApplicationOptions);

  /** Frees the WebAssembly memory of the application; do not use it afterwards. */
  free(): void;

  /** The account's address of record, `sip:user@domain`. */
  readonly aor: string;

  /**
   * Adds an observer (the seed's NotificationCenter), called synchronously with every
   * notification it is for. An observer may call back into the application; an exception it
   * throws is logged to the console.
   * - `addObserver(handler)`: every notification;
   * - `addObserver(name, handler)`: notifications of one name (`'*'`: every one);
   * - `addObserver(name, sender, handler)`: of one name from one sender: a session id, a
   *   sender type (`'Session'`, `'Account'`, `'Stream'`...) or a sender object as in `n.sender`.
   * @throws Error for other arguments.
   * @example
   * app.addObserver('SIPSessionDidFail', (n) => console.log(n.data.code)); // n is narrowed
   * app.addObserver('SIPSessionDidEnd', sessionId, () => console.log('that call ended'));
   */
  addObserver(handler: Observer): void;
  addObserver<N extends NotificationName>(name: N, handler: (n: NotificationNamed<N>) => void): void;
  addObserver(name: '*', handler: Observer): void;
  addObserver<N extends NotificationName>(
    name: N | '*',
    sender: SenderFilter,
    handler: (n: NotificationNamed<N>) => void,
  ): void;

  /**
   * Removes what `addObserver` added with the same handler (the same function object); a
   * name or sender given too narrows which of its registrations go.
   */
  removeObserver(handler: Observer): void;
  removeObserver<N extends NotificationName>(name: N | '*', handler: (n: NotificationNamed<N>) => void): void;
  removeObserver<N extends NotificationName>(
    name: N | '*',
    sender: SenderFilter,
    handler: (n: NotificationNamed<N>) => void,
  ): void;

  /** EventTarget style: the same as `addObserver(name, handler)`. */
  on<N extends NotificationName>(name: N, handler: (n: NotificationNamed<N>) => void): void;
  on(name: '*', handler: Observer): void;

  /** Undoes `on(name, handler)`. */
  off<N extends NotificationName>(name: N, handler: (n: NotificationNamed<N>) => void): void;
  off(name: '*', handler: Observer): void;

  /**
   * Opens the WebSocket, then registers. Resolves once the WebSocket is open and the
   * REGISTER is on its way (`SIPApplicationDidStart`); registration's outcome comes as
   * `SIPAccountRegistrationDidSucceed` or `SIPAccountRegistrationDidFail`. Later drops are
   * reconnected by themselves until `stop()` (see {@link SIPApplicationOptions.reconnect}).
   * @throws Error when the application was already started (synchronously).
   * @returns a promise that rejects with an `Error` when the connection fails or closes
   *   before opening.
   */
  start(): Promise<void>;

  /**
   * Unregisters, then closes the WebSocket as soon as the registrar answered (after 2 s at
   * most): `SIPAccountRegistrationDidEnd`, then `SIPApplicationDidEnd`. While waiting to
   * reconnect it ends at once (`SIPApplicationDidEnd`). After that notification `start()`
   * may be called again.
   */
  stop(): void;

  /** Registers the account again (after `unregister()` or a failure). */
  register(): void;

  /** Removes the registration (`SIPAccountRegistrationDidEnd` follows). */
  unregister(): void;

  /**
   * Starts an outgoing session (INVITE) and returns its id; the session's notifications
   * carry `sender: {type: "Session", id}`.
   * @param target `sip:bob@example.com`, or `bob@example.com`.
   * @param sdp the SDP offer to send (e.g. an `RTCPeerConnection`'s local description);
   *   without it a placeholder audio offer is sent.
   * @throws Error for a target that is not a SIP URI.
   */
  connect(target: string, sdp?: string): number;

  /**
   * Ends a session: CANCEL while calling, 603 Decline while incoming, BYE once
   * established.
   * @throws Error in the NULL, TERMINATING and TERMINATED states.
   */
  end(session: number): void;

  /**
   * Accepts an incoming session (`SIPSessionNewIncoming`).
   * @param sdpAnswer the page's WebRTC answer to `remoteSdp(session)`; omitted, the SDK
   *   answers with a placeholder SDP.
   */
  accept(session: number, sdpAnswer?: string | null): void;

  /** Rejects an incoming session: 486 Busy Here when `busy`, else 603 Decline. */
  reject(session: number, busy: boolean): void;

  /** Puts an established session on hold (re-INVITE; `SIPSessionGotHoldRequest` follows). */
  hold(session: number): void;

  /** Takes a session off hold (re-INVITE; `SIPSessionGotUnholdRequest` follows). */
  unhold(session: number): void;

  /** The peer's SDP in effect for a session (its offer while incoming); `undefined` if none. */
  remoteSdp(session: number): string | undefined;

  /** This end's SDP in effect for a session; `undefined` if none. */
  localSdp(session: number): string | undefined;

  /**
   * Sends one DTMF digit to the other party as a SIP INFO `application/dtmf-relay` in the
   * session's dialog (the far end notifies `SIPSessionGotDTMF`).
   * @param digit `0`-`9`, `*`, `#` or `A`-`D`.
   * @throws Error for another digit, an unknown session or one that is not established.
   */
  sendDtmf(session: number, digit: string): void;

  /**
   * Says that no audio came from the other party in the first 5 s of an established
   * session's audio: `SIPSessionGotNoAudio` is posted, once per session. BrowserMedia calls
   * it from its WebRTC statistics (end-to-end WebRTC calls have no relay to watch them; for
   * calls the gateway anchors, its relay also reports, and the SDK posts one notification).
   * @throws Error for an unknown session, or one that is not established with audio.
   */
  reportNoAudio(session: number): void;

  /**
   * Asks the gateway to record the session's audio (`SIPSessionWillStartRecordingAudio`,
   * then `SIPSessionDidStartRecordingAudio` with the file it writes).
   * @param fileName the file name to record to; omitted, the gateway picks one.
   */
  startRecordingAudio(session: number, fileName?: string | null): void;

  /** Stops recording the session's audio (`SIPSessionWillStopRecordingAudio`, `SIPSessionDidStopRecordingAudio`). */
  stopRecordingAudio(session: number): void;

  /** The file the session's audio is being recorded to; `undefined` when it is not recorded. */
  audioRecordingFileName(session: number): string | undefined;

  /** The state of a session; `undefined` for an unknown id. */
  sessionState(session: number): SessionState | undefined;

  /** A session's attributes; `undefined` for an unknown id. */
  session(session: number): SessionInfo | undefined;

  // ---- chat and file transfer (MSRP through the gateway's relay) ----

  /**
   * Starts a chat-only session to `target` (the seed's `connect(..., chat=True)`); returns
   * its id. Needs the MSRP relay (`SIPApplicationMSRPRelayDidConnect`). To chat during an
   * audio call, `connect` first, then `addChat`.
   */
  connectChat(target: string): number;

  /** Proposes a chat stream to an established session (re-INVITE; `SIPSessionGotStreamUpdate` once accepted). */
  addChat(session: number): void;

  /** Removes the session's chat stream (re-INVITE). */
  removeChat(session: number): void;

  /**
   * Accepts the peer's stream proposal (`SIPSessionGotStreamProposal`) for `types`
   * (default: every proposed stream). A page without WebRTC for it should accept only
   * `'chat'` and `'file-transfer'`.
   */
  acceptProposal(session: number, types?: string[] | null): void;

  /** Rejects the peer's stream proposal (488). */
  rejectProposal(session: number): void;

  /**
   * Sends a chat message on the session's chat stream (queued until its MSRP connection is
   * up); returns the message id that `SIPSessionDidDeliverMessage` (✓✓) or
   * `SIPSessionDidNotDeliverMessage` carry.
   * @param contentType defaults to `text/plain`.
   */
  sendMessage(session: number, text: string, contentType?: string | null): string;

  /** Sends an RFC 3994 composing indication: `'active'` (refresh 60 s) or `'idle'`. */
  sendComposingIndication(session: number, state: 'active' | 'idle'): void;

  /**
   * The local user typed in the session's chat: `active`, then `idle` after 15 s without
   * typing, follow RFC 3994's timers by themselves (call it on every input event).
   */
  typing(session: number): void;

  /**
   * Sends `file`: to a new session with `target` (a SIP URI), or on the established session
   * `target` (a session id) as an added file-transfer stream. Returns the session id. The
   * file is read a slice at a time (never whole); progress comes as
   * `FileTransferStreamDidDeliverChunk`, the end as `FileTransferStreamDidFinish`.
   */
  sendFile(target: string | number, file: File | Blob): number;

  /**
   * The file received on stream `stream` (the `index` of the stream sender) of `session`,
   * once `FileTransferStreamDidFinish` reported success; `undefined` before or after a failure.
   * Progress while receiving comes as `FileTransferStreamGotChunk`.
   */
  receivedFile(session: number, stream: number): ReceivedFile | undefined;

  /** Forgets a received file, releasing its Blob. */
  forgetReceivedFile(session: number, stream: number): void;

  /** The MSRP relay's `Use-Path` once authenticated; empty before, or while the relay is down. */
  readonly msrpRelayPath: string[];

  /** The stream types of a session in effect, in m-line order (`['audio', 'chat']`); empty for an unknown id. */
  streams(session: number): string[];

  /**
   * Views the desktop of a peer (a `desktop-sharing` stream, RFB over MSRP through the
   * gateway's relay, we the viewer): `target` a SIP URI starts a new session; a session id
   * proposes the stream to that established session (re-INVITE; `SIPSessionAcceptedStreamProposal`
   * or `SIPSessionRejectedStreamProposal` follows). Returns the session id. The remote
   * framebuffer is drawn on `canvas` (its `width` and `height` set to the desktop's), whose
   * mouse and key events (canvas coordinates scaled to the framebuffer, the buttons held, X
   * keysyms) go to the remote desktop unless `options.viewOnly`. `MediaStreamDidStart`
   * says the stream is carried; `DesktopSharingHandlerDidFail` (context `reading`) says the
   * desktop's data could not be decoded (or the VNC server wants a password: see
   * {@link DesktopViewOptions.password}). The remote pointer's shape (RFB's Cursor
   * pseudo-encoding) becomes the canvas's inline CSS `cursor`, so the pointer follows the
   * mouse without a round trip.
   */
  viewDesktop(target: string | number, canvas?: HTMLCanvasElement | null, options?: DesktopViewOptions): number;

  /**
   * Shows the desktop of `session` on `canvas` (replacing the canvas it had; `null`
   * detaches): for a desktop the peer shares in an incoming session (`accept`) or a proposal
   * (`acceptProposal`), when {@link desktopRole} is `'viewer'`. A canvas attached late gets
   * the whole current picture.
   */
  attachDesktop(session: number, canvas: HTMLCanvasElement | null, options?: DesktopViewOptions): void;

  /** Removes the session's desktop-sharing stream (re-INVITE with its port 0). */
  removeDesktop(session: number): void;

  /**
   * Our role in the session's desktop-sharing stream, for an incoming session or proposal
   * not answered yet as for a stream in effect: `'viewer'` when the peer shares its desktop,
   * `'server'` when it asks to see ours (a browser cannot share its desktop: decline; if
   * accepted, the stream fails at once with `DesktopSharingHandlerDidFail`); `undefined`
   * without a desktop-sharing stream.
   */
  desktopRole(session: number): 'viewer' | 'server' | undefined;

  /** The remote desktop viewed in `session`, or `undefined` without a running viewer. */
  desktop(session: number): DesktopInfo | undefined;

  /**
   * Sends an RFB PointerEvent to the desktop viewed in `session`, in framebuffer
   * coordinates, with the button mask `buttons` (1 left, 2 middle, 4 right, 8 and 16 the
   * wheel up and down). The canvas's own mouse events do this by themselves.
   */
  sendPointerEvent(session: number, x: number, y: number, buttons: number): void;

  /** Sends an RFB KeyEvent (an X keysym, e.g. `0xff0d` Return, down or up) to the desktop viewed in `session`. */
  sendKeyEvent(session: number, keysym: number, down: boolean): void;
}

/** Options of `viewDesktop` and `attachDesktop`. */
export interface DesktopViewOptions {
  /** Only show the desktop: the canvas's mouse and key events are not sent. Defaults to `false`. */
  viewOnly?: boolean;
  /**
   * The password for a VNC server that asks for one (RFB's VNC Authentication: only its first
   * 8 characters count). Without it such a server fails the stream with
   * `DesktopSharingHandlerDidFail` and the reason "the VNC server asks for a password"; a
   * wrong one with the server's reason (TigerVNC says "Authentication failure").
   */
  password?: string;
}

/** What `desktop(session)` tells about the remote desktop viewed. */
export interface DesktopInfo {
  /** The framebuffer's width in pixels (0 until the RFB handshake is done). */
  width: number;
  /** The framebuffer's height in pixels. */
  height: number;
  /** The desktop's name, as the VNC server gives it. */
  name: string;
  /** The RFB handshake is done and the desktop is being drawn. */
  connected: boolean;
  /** Framebuffer updates drawn so far. */
  updates: number;
}

// ---------------------------------------------------------------------------------------
// Media: WebRTC audio for the application's calls (media.js)
// ---------------------------------------------------------------------------------------

/** Options of `new BrowserMedia(app, options)`. */
export interface BrowserMediaOptions {
  /**
   * Where the remote audio plays: its `srcObject` is set to the call's remote stream and
   * `autoplay` to `true`. Give an element of the page (`<audio id="remote-audio" autoplay>`,
   * not muted) to show controls or pick the output device with `setSinkId`. Omitted, each
   * call plays through its own detached `new Audio()` element.
   */
  audioElement?: HTMLAudioElement | null;
  /** The microphone's `deviceId` (from `navigator.mediaDevices.enumerateDevices()`), required exactly; omitted, the default one. */
  deviceId?: string | null;
  /**
   * STUN/TURN servers for the `RTCPeerConnection`s. Defaults to none: host candidates only,
   * enough on one network or through a media relay.
   */
  iceServers?: RTCIceServer[];
  /**
   * How long to wait for ICE gathering before sending an offer or answer with the candidates
   * gathered so far, in milliseconds (offers and answers are sent whole, without trickle ICE).
   * Defaults to 2000.
   */
  gatheringTimeout?: number;
  /**
   * Which ICE candidates to put in the SDP sent: called with each `candidate:...` attribute
   * value, keeps those it returns `true` for. Omitted, all are sent. {@link loopbackOnly}
   * keeps the loopback ones (tests on one machine).
   */
  candidateFilter?: ((candidate: string) => boolean) | null;
}

/** A call's audio counters, from `RTCPeerConnection.getStats()`. */
export interface BrowserMediaStats {
  /** RTP packets sent (`outbound-rtp`); stops growing while on hold. */
  packetsSent: number;
  /** RTP packets received (`inbound-rtp`). */
  packetsReceived: number;
  /** RTP payload bytes sent. */
  bytesSent: number;
  /** RTP payload bytes received. */
  bytesReceived: number;
  /** The level of the received audio, 0 to 1 (0 before any audio). */
  audioLevel: number;
}

/** What BrowserMedia's events carry in `detail`. */
export interface BrowserMediaEventMap {
  /** The remote party's audio arrived (and is playing in the audio element). */
  remotestream: CustomEvent<{ session: number | null; stream: MediaStream }>;
  /**
   * Something failed after the call was placed, e.g. the peer answered with an SDP WebRTC
   * cannot use (plain RTP): the call goes on without audio.
   */
  error: CustomEvent<{ session: number | null; error: Error }>;
  /** A call's media was closed (the session ended or failed, or `close()`). */
  ended: CustomEvent<{ session: number | null }>;
}

/**
 * The WebRTC side of a {@link SIPApplication}'s audio calls: one `RTCPeerConnection` per
 * session, the microphone, the remote audio, hold, mute, DTMF and statistics. It observes the
 * application: it applies the peer's answer (`remoteSdp`) when the session starts, stops
 * sending while either end holds the call (`SIPSessionGotHoldRequest`), and closes the
 * connection when the session ends or fails.
 *
 * Browsers allow the microphone only in secure contexts (https, or http on localhost).
 *
 * @example
 * import init, { SIPApplication, BrowserMedia } from '@sipsimple/client';
 * await init();
 * const app = new SIPApplication({ server: 'wss://gw.example.com/ws', id: 'alice@example.com', password: 's' });
 * const media = new BrowserMedia(app, { audioElement: document.querySelector('audio') });
 * app.addObserver(async (n) => {
 *   if (n.name === 'SIPSessionNewIncoming') await media.answer(n.sender.id);
 * });
 * await app.start();
 * const id = await media.call('sip:bob@example.com');
 */
export class BrowserMedia extends EventTarget {
  /**
   * Attaches to `app` (adds an observer; `close()` removes it).
   * @throws TypeError when `app` is not a SIPApplication.
   */
  constructor(app: SIPApplication, options?: BrowserMediaOptions);

  /** Whether this browser can capture audio: `navigator.mediaDevices.getUserMedia` and `RTCPeerConnection` exist. */
  static readonly supported: boolean;

  /** The application it attached to. */
  readonly app: SIPApplication;
  /** The element remote audio plays in, when one was given. */
  audioElement: HTMLAudioElement | null;
  /** The microphone in use for new calls (`null`: the default one). */
  deviceId: string | null;

  /**
   * Places an audio call: opens the microphone, creates the offer, gathers ICE candidates
   * (2 s at most), then `app.connect(target, offer)`. The answer is applied when the session
   * starts.
   * @returns the session id (as `connect` returns it).
   * @throws Error (rejects) when the microphone is unavailable (no permission, no device, an
   *   insecure page) or `connect` throws; no call is placed then.
   */
  call(target: string): Promise<number>;

  /**
   * Answers an incoming session (`SIPSessionNewIncoming`): applies its offer
   * (`app.remoteSdp(id)`), opens the microphone, creates the answer, gathers, then
   * `app.accept(id, answer)`.
   * @throws Error (rejects) when the offer is not a WebRTC one, the microphone is unavailable
   *   or the session ended meanwhile; the session is not accepted then.
   */
  answer(session: number): Promise<void>;

  /** Puts the call on hold (`app.hold`) and stops sending the microphone. */
  hold(session: number): void;

  /** Takes the call off hold (`app.unhold`) and sends the microphone again (unless the other end holds it). */
  unhold(session: number): void;

  /** Mutes (`true`, the default) or unmutes the call's microphone (`track.enabled`). */
  mute(session: number, muted?: boolean): void;

  /** Whether the call's microphone is muted. */
  isMuted(session: number): boolean;

  /**
   * Sends a DTMF digit with `app.sendDtmf` (SIP INFO `application/dtmf-relay`).
   * @throws RangeError for anything but one of `0`-`9`, `*`, `#`, `A`-`D`; Error when the
   *   SDK build has no `sendDtmf`.
   */
  sendDTMF(session: number, digit: string): void;

  /** The call's audio counters (`outbound-rtp`, `inbound-rtp`). */
  stats(session: number): Promise<BrowserMediaStats>;

  /** The call's `RTCPeerConnection`; `undefined` when the session has no media. */
  peerConnection(session: number): RTCPeerConnection | undefined;

  /** The call's remote audio; `undefined` until it arrives. */
  remoteStream(session: number): MediaStream | undefined;

  /**
   * Uses the microphone `deviceId` from now on (`null`: the default one) and switches the
   * live calls to it (`RTCRtpSender.replaceTrack`).
   */
  selectMicrophone(deviceId: string | null): Promise<void>;

  /** Closes every call's media and stops observing the application. */
  close(): void;

  addEventListener<K extends keyof BrowserMediaEventMap>(
    type: K,
    listener: (this: BrowserMedia, ev: BrowserMediaEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof BrowserMediaEventMap>(
    type: K,
    listener: (this: BrowserMedia, ev: BrowserMediaEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

/**
 * Removes the `a=candidate` lines `keep` refuses from an SDP (and moves the m-line's default
 * address to the first candidate kept). BrowserMedia applies it with `candidateFilter`.
 */
export function filterCandidates(sdp: string, keep: (candidate: string) => boolean): string;

/** A `candidateFilter` keeping only loopback candidates (127.0.0.0/8 and ::1). */
export function loopbackOnly(candidate: string): boolean;

// ---------------------------------------------------------------------------------------
// The seed's managers: AccountManager / Account / SessionManager / Session (managers.js)
// ---------------------------------------------------------------------------------------

export * from './managers.js';

// Type-level checks, run by `tsc --strict` (cargo xtask test): the hand-written index.d.ts of
// @sipsimple/client against the class wasm-bindgen generated from client-wasm/src/lib.rs.
// Nothing here runs; a mismatch is a compile error naming the method.
import type { SIPApplication, Notification, NotificationNamed } from '@sipsimple/client';
// The generated declarations ship in the package but are not exported: reach them by path.
import type { SIPApplication as Generated } from '../node_modules/@sipsimple/client/sipsimple_wasm.js';

type Methods<T> = Exclude<Extract<keyof T, string>, 'free'>;

/** Methods of the generated class that index.d.ts does not declare: must be none. */
type Undeclared = Exclude<Methods<Generated>, Methods<SIPApplication>>;
/** Methods index.d.ts declares that the module lacks: must be none. */
type Phantom = Exclude<Methods<SIPApplication>, Methods<Generated>>;

/** For each method, the declared parameters must be accepted by the generated ones. */
type ParamMismatch = {
  [K in Methods<Generated> & Methods<SIPApplication>]: SIPApplication[K] extends (...a: infer P) => unknown
    ? Generated[K] extends (...a: infer G) => unknown
      ? P extends G ? never : K
      : never
    : never;
}[Methods<Generated> & Methods<SIPApplication>];

/**
 * For each method, the generated return type and the declared one must be related: equal,
 * or the declared one a refinement (`SessionState` for `string`); `any` is not checked.
 */
type ReturnMismatch = {
  [K in Methods<Generated> & Methods<SIPApplication>]: Generated[K] extends (...a: never[]) => infer R
    ? SIPApplication[K] extends (...a: never[]) => infer D
      ? 0 extends 1 & R ? never : [R] extends [D] ? never : [D] extends [R] ? never : K
      : R extends SIPApplication[K] ? never : K
    : never;
}[Methods<Generated> & Methods<SIPApplication>];

// Each constant's type is 'ok' when the check passes, else the offending method names, so
// that tsc's error says which method: Type '"ok"' is not assignable to type '"hold"'.
type Check<T> = [T] extends [never] ? 'ok' : T;
export const undeclared: Check<Undeclared> = 'ok';
export const phantom: Check<Phantom> = 'ok';
export const paramMismatch: Check<ParamMismatch> = 'ok';
export const returnMismatch: Check<ReturnMismatch> = 'ok';

// The union is discriminated: a name picks exactly one member, with its data.
type Expect<T extends true> = T;
export type UnionChecks = [
  Expect<NotificationNamed<'SIPSessionDidFail'>['data'] extends { code: number } ? true : false>,
  Expect<NotificationNamed<'SIPAccountRegistrationDidSucceed'>['sender'] extends { type: 'Account' } ? true : false>,
  Expect<Notification['name'] extends string ? true : false>,
];

// The seed's managers (managers.d.ts): the overloads narrow notifications by name, and the
// objects' members have the declared types. Never called.
import { AccountManager, SessionManager } from '@sipsimple/client';
import type { Account, Session, SessionEndReason } from '@sipsimple/client';
export async function managersCheck(): Promise<string> {
  const accounts = new AccountManager({ storageKey: 'check' });
  accounts.on('SIPAccountRegistrationDidSucceed', (n) => {
    const expires: number = n.data.expires;
    const who: string | undefined = n.account?.id;
    void expires; void who;
  });
  accounts.on('SIPAccountManagerDidAddAccount', (n) => { const added: Account = n.data.account; void added; });
  const account: Account = await accounts.addAccount({ id: 'a@b.example', server: 'wss://b.example/ws' });
  account.enabled = false;
  await account.save();
  const sessions = new SessionManager(accounts, { media: false });
  const session: Session = await sessions.connect('sip:c@b.example', { audio: false, chat: true });
  session.on('SIPSessionDidFail', (n) => { const code: number = n.data.code; void code; });
  session.addObserver('SIPSessionGotDTMF', session, (n) => { const d: string = n.data.digit; void d; });
  const reason: SessionEndReason | null = session.endReason;
  void reason;
  return session.state;
}

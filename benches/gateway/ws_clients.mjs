// Memory per registered WebSocket client (RFC 7118): opens N WebSocket connections
// (subprotocol `sip`) to a SIP server, each REGISTERing a distinct user PREFIX0..PREFIX{N-1}
// with digest (MD5, qop=auth, answered with node's crypto), ramping at RATE connections/s,
// then reads the server's RSS (/proc/PID/status VmRSS) and PSS (/proc/PID/smaps_rollup,
// summed over PID and its children) before and after, and prints one JSON line.
//
//   node benches/gateway/ws_clients.mjs --url ws://127.0.0.1:28080/ws --n 1000 --pid PID \
//        [--rate 500] [--prefix u] [--password secret] [--domain bench.local] [--hold 3]
//
// Run it through ws_clients.sh, which creates the users, starts the gateway and raises
// `ulimit -n`. Bounded: at most N connections, each REGISTER answered within 20 s, the
// whole run within N/RATE + 60 s. Uses `ws` from tests/e2e/node_modules.
import { createRequire } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';

const require = createRequire(new URL('../../tests/e2e/package.json', import.meta.url));
const WebSocket = require('ws');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const url = args.url ?? 'ws://127.0.0.1:28080/ws';
const N = Number(args.n ?? 1000);
const RATE = Math.min(Number(args.rate ?? 500), 500);
const PREFIX = args.prefix ?? 'u';
const PASSWORD = args.password ?? 'secret';
const DOMAIN = args.domain ?? 'bench.local';
const PID = args.pid ? Number(args.pid) : null;
const HOLD = Number(args.hold ?? 3);

const md5 = (s) => createHash('md5').update(s).digest('hex');
const rand = () => randomBytes(6).toString('hex');

function pids(root) {
  // root and its descendants (Kamailio forks workers; the gateway is one process)
  const all = [root];
  try {
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === root) all.push(Number(p));
      } catch {}
    }
  } catch {}
  return all;
}
function memory() {
  if (!PID) return null;
  let rss = 0, pss = 0;
  for (const p of pids(PID)) {
    try {
      const st = readFileSync(`/proc/${p}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+)/.exec(st)[1]) * 1024;
      const sm = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      pss += Number(/^Pss:\s+(\d+)/m.exec(sm)[1]) * 1024;
    } catch {}
  }
  return { rss, pss };
}

function register(i, cseq, auth) {
  const c = this;
  const user = `${PREFIX}${i}`;
  return [
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/WSS ${c.host};branch=z9hG4bK${rand()}`,
    `Max-Forwards: 70`,
    `To: <sip:${user}@${DOMAIN}>`,
    `From: <sip:${user}@${DOMAIN}>;tag=${c.tag}`,
    `Call-ID: ${c.callId}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${c.contactUser}@${c.host};transport=ws>;expires=3600`,
    `Expires: 3600`,
    ...(auth ? [auth] : []),
    `User-Agent: ws_clients.mjs`,
    `Content-Length: 0`,
    '',
    '',
  ].join('\r\n');
}

function challenge(msg) {
  // every WWW-Authenticate line; pick the MD5 one (RFC 8760 servers may offer SHA-256 first)
  const lines = msg.split('\r\n').filter((l) => /^www-authenticate\s*:/i.test(l));
  for (const l of lines) {
    const v = l.slice(l.indexOf(':') + 1).trim();
    const params = {};
    for (const m of v.matchAll(/(\w+)=("([^"]*)"|[^,\s]+)/g)) params[m[1].toLowerCase()] = m[3] ?? m[2];
    const alg = (params.algorithm ?? 'MD5').toUpperCase();
    if (alg === 'MD5') return params;
  }
  return null;
}

function authorization(i, ch) {
  const user = `${PREFIX}${i}`;
  const uri = `sip:${DOMAIN}`;
  const ha1 = md5(`${user}:${ch.realm}:${PASSWORD}`);
  const ha2 = md5(`REGISTER:${uri}`);
  const qop = ch.qop ? ch.qop.split(',').map((s) => s.trim()).find((q) => q === 'auth') : null;
  let resp, extra = '';
  if (qop) {
    const cnonce = rand(), nc = '00000001';
    resp = md5(`${ha1}:${ch.nonce}:${nc}:${cnonce}:auth:${ha2}`);
    extra = `, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
  } else {
    resp = md5(`${ha1}:${ch.nonce}:${ha2}`);
  }
  const opaque = ch.opaque ? `, opaque="${ch.opaque}"` : '';
  return `Authorization: Digest username="${user}", realm="${ch.realm}", nonce="${ch.nonce}", uri="${uri}", response="${resp}", algorithm=MD5${extra}${opaque}`;
}

const sockets = [];
let registered = 0, failed = 0, done = 0;
const failures = {};
const fail = (why) => { failed++; done++; failures[why] = (failures[why] ?? 0) + 1; };

function client(i) {
  const c = { host: `${rand()}.invalid`, tag: rand(), callId: rand() + rand(), contactUser: rand(), settled: false };
  const ws = new WebSocket(url, 'sip');
  sockets.push(ws);
  const timer = setTimeout(() => { if (!c.settled) { c.settled = true; fail('timeout'); } }, 20000);
  const settle = (ok, why) => { if (c.settled) return; c.settled = true; clearTimeout(timer); if (ok) { registered++; done++; } else fail(why); };
  ws.on('open', () => ws.send(register.call(c, i, 1)));
  ws.on('message', (data) => {
    const msg = data.toString();
    const m = /^SIP\/2\.0 (\d{3})/.exec(msg);
    if (!m) { // a request from the server (e.g. OPTIONS): answer 200 blindly is not needed here
      return;
    }
    const code = Number(m[1]);
    if (code === 401) {
      const ch = challenge(msg);
      if (!ch || /^CSeq:\s*2 /im.test(msg)) return settle(false, '401');
      ws.send(register.call(c, i, 2, authorization(i, ch)));
    } else if (code >= 200 && code < 300) settle(true);
    else if (code >= 300) settle(false, String(code));
  });
  ws.on('error', (e) => settle(false, e.code ?? 'error'));
  ws.on('close', () => settle(false, 'closed'));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const deadline = Date.now() + (N / RATE) * 1000 + 60000;

await sleep(500);
const before = memory();
const t0 = Date.now();
const batch = Math.max(1, Math.round(RATE / 10)); // every 100 ms
for (let i = 0; i < N; i += batch) {
  for (let j = i; j < Math.min(N, i + batch); j++) client(j);
  const due = t0 + ((i + batch) / RATE) * 1000;
  await sleep(Math.max(0, due - Date.now()));
}
while (done < N && Date.now() < deadline) await sleep(100);
const rampSecs = (Date.now() - t0) / 1000;
await sleep(HOLD * 1000);
const after = memory();
const out = {
  url, n: N, rate: RATE, registered, failed, failures, ramp_s: Number(rampSecs.toFixed(1)),
  before, after,
  rss_per_client: after && registered ? Math.round((after.rss - before.rss) / registered) : null,
  pss_per_client: after && registered ? Math.round((after.pss - before.pss) / registered) : null,
};
console.log(JSON.stringify(out));
for (const ws of sockets) ws.terminate();
await sleep(200);
process.exit(registered === N ? 0 : 1);

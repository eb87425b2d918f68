// Peers and audio checks for the e2e suites: baresip (Debian's, headless: a WAV file as its
// microphone, another as its speaker, its TCP control and UDP console on loopback), the
// project's native chat/file/desktop peer (msrp_peer), and a WAV reader with a Goertzel
// filter to tell which tones a recording holds.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort, freeUdpPort } from './lib.mjs';

/** A mono 16-bit PCM WAV of a sine tone. */
export function toneWav(hz, { rate = 8000, seconds = 60, amplitude = 8000 } = {}) {
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    buf.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  }
  return buf;
}

/** Reads a PCM WAV: `{rate, channels, samples}` (samples interleaved, Int16). */
export function readWav(file) {
  const b = readFileSync(file);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file}: not a WAV`);
  let off = 12;
  let fmt = null;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') fmt = { channels: b.readUInt16LE(off + 10), rate: b.readUInt32LE(off + 12), bits: b.readUInt16LE(off + 22) };
    if (id === 'data') {
      if (!fmt || fmt.bits !== 16) throw new Error(`${file}: not 16-bit PCM`);
      const end = Math.min(b.length, off + 8 + size);
      const samples = new Int16Array(b.buffer.slice(b.byteOffset + off + 8, b.byteOffset + end - ((end - off - 8) % 2)));
      return { rate: fmt.rate, channels: fmt.channels, samples };
    }
    off += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

/** The mean power of `samples` (mono) at `hz` (Goertzel), normalised per sample. */
export function tonePower(samples, rate, hz) {
  const k = (2 * Math.cos((2 * Math.PI * hz) / rate));
  let s1 = 0; let s2 = 0;
  for (const x of samples) { const s = x + k * s1 - s2; s2 = s1; s1 = s; }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (samples.length * samples.length);
}

/**
 * The strongest `tonePower` within `width` Hz of `hz`: short or slightly detuned tones (such
 * as Chromium's fake-microphone beep near 400 Hz) spread over a few bins.
 */
export function bandPower(samples, rate, hz, width = 10) {
  let best = 0;
  for (let f = hz - width; f <= hz + width; f += 2) best = Math.max(best, tonePower(samples, rate, f));
  return best;
}

/** The RMS level of `samples`. */
export function rms(samples) {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/**
 * Starts baresip registered as `user` at the gateway's UDP address `gateway` (host:port), on
 * loopback only: auto-answer, `codecs` (baresip names: 'PCMU', 'opus'...), `mediaenc`
 * ('srtp', 'srtp-mand' or null). Its microphone is a `toneHz` sine (an 8 kHz WAV for G.711,
 * baresip's 48 kHz `ausine` for Opus); what it hears is written to `heard.wav`.
 * Resolves once it registered: `{ output(), command(cmd), key(k), waitFor(re), stop() }`.
 */
export async function startBaresip({ user, password, domain, gateway, codecs = 'PCMU', mediaenc = null, toneHz = 440 }) {
  const dir = mkdtempSync(join(tmpdir(), 'baresip-'));
  const [sip, ctrl, cons] = [await freeUdpPort(), await freeTcpPort(), await freeUdpPort()];
  const base = 30000 + Math.floor(Math.random() * 300) * 100;
  const opus = /opus/i.test(codecs);
  writeFileSync(join(dir, 'tone.wav'), toneWav(toneHz));
  writeFileSync(join(dir, 'config'), [
    'poll_method epoll', 'net_interface 127.0.0.1', `sip_listen 127.0.0.1:${sip}`, 'sip_trans_def udp',
    `audio_player aufile,${join(dir, 'heard.wav')}`,
    opus ? `audio_source ausine,${toneHz}` : `audio_source aufile,${join(dir, 'tone.wav')}`,
    'audio_alert aufile,/dev/null', `rtp_ports ${base}-${base + 99}`, 'module_path /usr/lib/baresip/modules',
    'module g711.so', 'module opus.so', 'module aufile.so', 'module ausine.so', 'module srtp.so',
    'module_app account.so', 'module_app menu.so', 'module_app ctrl_tcp.so', 'module_app cons.so',
    `ctrl_tcp_listen 127.0.0.1:${ctrl}`, `cons_listen 127.0.0.1:${cons}`, 'dns_server 127.0.0.1:53', '',
  ].join('\n'));
  writeFileSync(join(dir, 'accounts'), `<sip:${user}@${domain};transport=udp>;auth_user=${user};auth_pass=${password};`
    + `outbound="sip:${gateway}";regint=600;answermode=auto;audio_codecs=${codecs}`
    + `${mediaenc ? `;mediaenc=${mediaenc}` : ''}\n`);
  const child = spawn('baresip', ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters = [];
  const feed = (d) => {
    out += d;
    for (const w of [...waiters]) if (w.re.test(out.slice(w.from))) { waiters.splice(waiters.indexOf(w), 1); w.ok(); }
  };
  child.stdout.on('data', feed);
  child.stderr.on('data', feed);
  const waitFor = (re, timeout = 15000, from = 0) => new Promise((ok, fail) => {
    if (re.test(out.slice(from))) return ok();
    const w = { re, from, ok: () => { clearTimeout(timer); ok(); } };
    const timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(w), 1);
      fail(new Error(`baresip: no ${re} within ${timeout} ms:\n${out.slice(-3000)}`));
    }, timeout);
    waiters.push(w);
  });
  let events = null;
  const stop = () => new Promise((ok) => {
    events?.destroy();
    if (child.exitCode !== null) return ok();
    child.once('exit', ok);
    child.kill('SIGKILL');
  });
  try {
    await waitFor(/200 OK/);
  } catch (e) {
    await stop();
    throw e;
  }
  // A standing control connection: baresip sends its events (CALL_DTMF_START with the key...)
  // to it as netstring-framed JSON, which lands in the output for waitFor.
  events = connect(ctrl, '127.0.0.1');
  events.on('data', (d) => feed(`\n[ctrl] ${d}`));
  events.on('error', () => {});
  /** One ctrl_tcp command (netstring-framed JSON). */
  const command = (cmd) => new Promise((ok, fail) => {
    const [name, ...rest] = cmd.split(' ');
    const json = JSON.stringify({ command: name, params: rest.join(' '), token: '1' });
    const s = connect(ctrl, '127.0.0.1', () => s.end(`${Buffer.byteLength(json)}:${json},`));
    s.on('error', fail);
    s.on('close', () => ok());
    setTimeout(() => s.destroy(), 500);
  });
  /** One key press on the console (a digit during a call sends DTMF). */
  const key = (k) => new Promise((ok) => {
    const s = createSocket('udp4');
    s.send(k, cons, '127.0.0.1', () => { s.close(); ok(); });
  });
  return { dir, output: () => out, command, key, waitFor, stop, heard: join(dir, 'heard.wav') };
}

const MSRP_PEER_BIN = process.env.SIPSIMPLE_MSRP_PEER_BIN
  ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'target', 'debug', 'examples', 'msrp_peer');

/**
 * Starts the native peer (shared/examples/msrp_peer.rs, stdin-scripted) as `user` of
 * `gateway` with `password`, through the MSRP relay at `relay` (`host:port`); `extra` are
 * more arguments (`--vnc HOST:PORT`). The lines it prints are kept: `waitFor(re, ms, from)`
 * resolves with the match of the first line from index `from` (past or future) matching `re`.
 */
export function startMsrpPeer({ gateway, user, password, relay, extra = [] }) {
  if (!existsSync(MSRP_PEER_BIN)) {
    throw new Error(`${MSRP_PEER_BIN} is missing: cargo build -p sipsimple --features native --example msrp_peer`);
  }
  const child = spawn(MSRP_PEER_BIN, ['--proxy', gateway.sipUdp, '--account', `${user}@${gateway.domain}`,
    '--password', password, '--relay', relay, ...extra,
    '--receive-dir', mkdtempSync(join(tmpdir(), 'msrp-peer-'))], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  let buf = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (process.env.E2E_DEBUG) console.log(`${user} (native):`, line);
      lines.push(line);
      for (const w of [...waiters]) if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.ok(line.match(w.re)); }
    }
  });
  return {
    lines,
    send: (cmd) => child.stdin.write(`${cmd}\n`),
    waitFor: (re, ms = 20000, from = 0) => {
      const seen = lines.slice(from).find((l) => re.test(l));
      if (seen) return Promise.resolve(seen.match(re));
      return new Promise((ok, fail) => {
        const w = { re, ok: (m) => { clearTimeout(t); ok(m); } };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          fail(new Error(`native peer: no line matching ${re} in ${ms} ms; got:\n${lines.join('\n')}\n${stderr}`));
        }, ms);
        waiters.push(w);
      });
    },
    stop: () => new Promise((ok) => {
      if (child.exitCode !== null) return ok();
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => { clearTimeout(t); ok(); });
      child.stdin.write('quit\n');
    }),
  };
}

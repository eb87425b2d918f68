// A tiny X11 client in plain Node (no library, no Debian package): it speaks the core X
// protocol over the display's Unix socket, paints a known picture with coloured windows and
// turns a window yellow when a mouse button is pressed in it. The desktop-sharing e2e suite
// runs it against TigerVNC's Xvnc, so that a click sent from the browser's canvas (an RFB
// PointerEvent) is seen to reach the X server and change the picture.
//
//   const x = await paint(display, windows);   // windows: [{x, y, width, height, rgb}]
//   x.presses  // [{window index, button, x, y}], as they come
//   await x.close();
//
// Requests used (X11 protocol, little-endian): connection setup, CreateWindow (1),
// ChangeWindowAttributes (2), MapWindow (8), ClearArea (61) and GetInputFocus (43), whose
// reply serves as a round trip ("everything before is done").
import net from 'node:net';

/** The colour a window turns when pressed. */
export const PRESSED_RGB = 0xffff00;

const pad4 = (n) => (4 - (n % 4)) % 4;

/**
 * Connects to X display `display` (a number), maps one override-redirect window per entry
 * of `windows` (`{x, y, width, height, rgb}`, rgb as 0xRRGGBB) and waits until the server
 * has done so. Resolves with `{presses, waitForPress, close}`.
 */
export async function paint(display, windows) {
  const sock = net.connect(`/tmp/.X11-unix/X${display}`);
  await new Promise((ok, fail) => { sock.once('connect', ok); sock.once('error', fail); });
  let buf = Buffer.alloc(0);
  let waiting = null; // {need: fn(buf) -> bytes consumed or 0, ok}
  const presses = [];
  const pressWaiters = [];
  const syncs = [];
  let setup = null;
  let wids = [];
  const pump = () => {
    for (;;) {
      if (!setup) {
        if (buf.length < 8) return;
        const total = 8 + 4 * buf.readUInt16LE(6);
        if (buf.length < total) return;
        setup = buf.subarray(0, total);
        buf = buf.subarray(total);
        waiting?.(setup);
        continue;
      }
      if (buf.length < 32) return;
      const code = buf[0] & 0x7f;
      if (code === 1) {
        // A reply: 32 bytes plus 4 * length.
        const total = 32 + 4 * buf.readUInt32LE(4);
        if (buf.length < total) return;
        buf = buf.subarray(total);
        syncs.shift()?.();
        continue;
      }
      const ev = buf.subarray(0, 32);
      buf = buf.subarray(32);
      if (code === 0) {
        console.error(`x11-paint: X error ${ev[1]} on request ${ev[10]}`);
      } else if (code === 4) {
        // ButtonPress: detail = button, event window at 12, event-x/y at 24/26.
        const win = ev.readUInt32LE(12);
        const index = wids.indexOf(win);
        const press = { index, button: ev[1], x: ev.readInt16LE(24), y: ev.readInt16LE(26) };
        presses.push(press);
        if (index >= 0) {
          send(changeBackground(win, PRESSED_RGB), clearArea(win));
          sync().then(() => { for (const w of pressWaiters.splice(0)) w(press); });
        }
      }
    }
  };
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); pump(); });
  const send = (...reqs) => sock.write(Buffer.concat(reqs));
  const sync = () => new Promise((ok) => { syncs.push(ok); send(Buffer.from([43, 0, 1, 0])); });

  // Connection setup: little-endian, protocol 11.0, no authorization.
  const got = new Promise((ok) => { waiting = ok; });
  const hello = Buffer.alloc(12);
  hello[0] = 0x6c;
  hello.writeUInt16LE(11, 2);
  sock.write(hello);
  const s = await got;
  if (s[0] !== 1) throw new Error(`X display :${display} refused the connection: ${s.subarray(8, 8 + s[1]).toString()}`);
  const idBase = s.readUInt32LE(12);
  const vendorLen = s.readUInt16LE(24);
  const formats = s[29];
  const screen = 40 + vendorLen + pad4(vendorLen) + 8 * formats;
  const root = s.readUInt32LE(screen);

  wids = windows.map((_, i) => idBase + 1 + i);
  const reqs = [];
  windows.forEach((w, i) => {
    // CreateWindow: depth and visual from the parent, InputOutput, with background-pixel
    // (0x2), override-redirect (0x200) and event-mask (0x800: ButtonPress 0x4).
    const r = Buffer.alloc(44);
    r[0] = 1;
    r[1] = 0;
    r.writeUInt16LE(11, 2);
    r.writeUInt32LE(wids[i], 4);
    r.writeUInt32LE(root, 8);
    r.writeInt16LE(w.x, 12);
    r.writeInt16LE(w.y, 14);
    r.writeUInt16LE(w.width, 16);
    r.writeUInt16LE(w.height, 18);
    r.writeUInt16LE(0, 20);
    r.writeUInt16LE(1, 22);
    r.writeUInt32LE(0, 24);
    r.writeUInt32LE(0x2 | 0x200 | 0x800, 28);
    r.writeUInt32LE(w.rgb, 32);
    r.writeUInt32LE(1, 36);
    r.writeUInt32LE(0x4, 40);
    reqs.push(r, Buffer.from([8, 0, 2, 0, ...u32(wids[i])]));
  });
  send(...reqs);
  await sync();
  return {
    presses,
    /** Resolves with the next press once the window changed colour (or a past one). */
    waitForPress: (ms = 10000) => (presses.length
      ? Promise.resolve(presses[presses.length - 1])
      : new Promise((ok, fail) => {
        const t = setTimeout(() => fail(new Error(`no button press reached the X client in ${ms} ms`)), ms);
        pressWaiters.push((p) => { clearTimeout(t); ok(p); });
      })),
    close: () => new Promise((ok) => { sock.once('close', ok); sock.end(); }),
  };
}

function u32(v) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return [...b];
}

function changeBackground(win, rgb) {
  return Buffer.from([2, 0, 4, 0, ...u32(win), ...u32(0x2), ...u32(rgb)]);
}

function clearArea(win) {
  // The whole window (width and height 0: to its edges), no Expose.
  return Buffer.from([61, 0, 4, 0, ...u32(win), 0, 0, 0, 0, 0, 0, 0, 0]);
}

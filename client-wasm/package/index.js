// @sipsimple/client: the package's entry point.
//
// The module itself is wasm-bindgen's `--target web` glue (sipsimple_wasm.js), which finds
// its WebAssembly file with `new URL('sipsimple_wasm_bg.wasm', import.meta.url)`: bundlers
// (Vite, webpack 5, Rollup with a URL plugin, esbuild with a file loader) copy the file and
// rewrite the URL; without a bundler the browser fetches it beside this file.
// The public types are the hand-written index.d.ts, not the generated sipsimple_wasm.d.ts.
export { default, initSync, SIPApplication } from './sipsimple_wasm.js';
// The WebRTC side of audio calls (hand-written, no dependency on the glue): media.js.
export { BrowserMedia, filterCandidates, loopbackOnly } from './media.js';
// The seed's AccountManager / Account / SessionManager / Session objects over the two above,
// with accounts saved in localStorage (hand-written: managers.js).
export { AccountManager, Account, SessionManager, Session, DEFAULT_STORAGE_KEY } from './managers.js';

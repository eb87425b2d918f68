//! `build-web` and the check that the browser module imports nothing from `env`.

use crate::setup::{find_wasm_bindgen, wasm_bindgen_version, WASM_TARGET};
use crate::util::{cargo, command, human_size, root, run, target_dir, Result};
use std::path::{Path, PathBuf};

const CRATE: &str = "sipsimple-wasm";
const PROFILE: &str = "wasm-release";
const ARTIFACT: &str = "sipsimple_wasm";
/// The SDK's hand-written `BrowserMedia` (WebRTC for audio calls), copied into `web/pkg`.
const MEDIA_JS: &str = "client-wasm/package/media.js";

/// Builds the browser module and runs wasm-bindgen into `web/pkg`; returns the path of
/// the module wasm-bindgen wrote.
pub fn build_web() -> Result<PathBuf> {
    let built = build_module()?;
    let out_dir = root().join("web/pkg");
    let bound = bindgen(&built, &out_dir, &[])?;
    // The SDK's hand-written WebRTC half, which the page imports beside the glue.
    let media = root().join(MEDIA_JS);
    std::fs::copy(&media, out_dir.join("media.js"))
        .map_err(|e| format!("{} -> web/pkg: {e}", media.display()))?;
    println!("cargo's module:  {}  {}", size_of(&built)?, built.display());
    println!("web/pkg module:  {}  {}", size_of(&bound)?, bound.display());
    Ok(bound)
}

/// `cargo build` of the browser crate for wasm32 (profile wasm-release); returns the
/// module cargo wrote.
pub fn build_module() -> Result<PathBuf> {
    run(cargo().args([
        "build",
        "-p",
        CRATE,
        "--target",
        WASM_TARGET,
        "--profile",
        PROFILE,
    ]))?;
    Ok(target_dir()
        .join(WASM_TARGET)
        .join(PROFILE)
        .join(format!("{ARTIFACT}.wasm")))
}

/// `wasm-bindgen --target web` (plus `extra` flags) of `built` into `out_dir`; returns the
/// path of the module it wrote (`sipsimple_wasm_bg.wasm`) — the glue is
/// `sipsimple_wasm.js` beside it.
pub fn bindgen(built: &Path, out_dir: &Path, extra: &[&str]) -> Result<PathBuf> {
    let version = wasm_bindgen_version()?;
    let bindgen = find_wasm_bindgen(&version).ok_or_else(|| {
        format!("wasm-bindgen {version} not found: run `cargo xtask setup --for run` first")
    })?;
    // The name section (function names for stack traces) is 40% of the module; browsers
    // and users get the module without it, and without the producers section.
    run(command(&bindgen)
        .args([
            "--target",
            "web",
            "--remove-name-section",
            "--remove-producers-section",
        ])
        .args(extra)
        .arg("--out-dir")
        .arg(out_dir)
        .arg(built))?;
    Ok(out_dir.join(format!("{ARTIFACT}_bg.wasm")))
}

/// The glue's base name: wasm-bindgen writes `{ARTIFACT}.js`, `{ARTIFACT}.d.ts` and
/// `{ARTIFACT}_bg.wasm`.
pub const GLUE: &str = ARTIFACT;

pub fn size_of(path: &Path) -> Result<String> {
    let meta = path
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(human_size(meta.len()))
}

/// Fails when the module imports anything from `env`: that is where unresolved native
/// symbols land (C code, a crate without wasm support), which the browser cannot provide.
pub fn check_no_env_imports(path: &Path) -> Result {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let imports = imports(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut modules: Vec<(&str, usize)> = Vec::new();
    for (module, _) in &imports {
        match modules.iter_mut().find(|(m, _)| m == module) {
            Some((_, n)) => *n += 1,
            None => modules.push((module, 1)),
        }
    }
    for (module, n) in &modules {
        println!("imports from {module:?}: {n}");
    }
    let env: Vec<&str> = imports
        .iter()
        .filter(|(m, _)| m == "env")
        .map(|(_, f)| f.as_str())
        .collect();
    if env.is_empty() {
        println!("ok: {} imports nothing from `env`", path.display());
        Ok(())
    } else {
        Err(format!(
            "{} imports from `env` (native symbols the browser cannot provide): {}",
            path.display(),
            env.join(", ")
        ))
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.pos).ok_or("truncated module")?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or("bad length")?;
        let s = self.bytes.get(self.pos..end).ok_or("truncated module")?;
        self.pos = end;
        Ok(s)
    }

    /// An unsigned LEB128 number (also skips a signed one of the same length).
    fn leb(&mut self) -> Result<u64> {
        let (mut value, mut shift) = (0u64, 0u32);
        loop {
            let b = self.byte()?;
            if shift < 64 {
                value |= u64::from(b & 0x7f) << shift;
            }
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift > 70 {
                return Err("LEB128 number too long".into());
            }
        }
    }

    fn len(&mut self) -> Result<usize> {
        usize::try_from(self.leb()?).map_err(|_| "length too large".to_string())
    }

    fn name(&mut self) -> Result<String> {
        let n = self.len()?;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }

    fn limits(&mut self) -> Result {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }

    /// A value or reference type: one byte, or `(ref null? heaptype)`.
    fn val_type(&mut self) -> Result {
        if matches!(self.byte()?, 0x63 | 0x64) {
            self.leb()?;
        }
        Ok(())
    }
}

/// The `(module, name)` pairs of a WebAssembly module's import section.
pub fn imports(bytes: &[u8]) -> Result<Vec<(String, String)>> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4)? != b"\0asm" {
        return Err("not a WebAssembly module".into());
    }
    r.take(4)?; // version
    while r.pos < bytes.len() {
        let id = r.byte()?;
        let size = r.len()?;
        let body = r.take(size)?;
        if id != 2 {
            continue;
        }
        let mut s = Reader {
            bytes: body,
            pos: 0,
        };
        let count = s.len()?;
        let mut out = Vec::with_capacity(count.min(4096));
        for _ in 0..count {
            let module = s.name()?;
            let field = s.name()?;
            match s.byte()? {
                0x00 => drop(s.leb()?), // function: type index
                0x01 => {
                    s.val_type()?; // table: element type, limits
                    s.limits()?;
                }
                0x02 => s.limits()?, // memory
                0x03 => {
                    s.val_type()?; // global: type, mutability
                    s.byte()?;
                }
                0x04 => {
                    s.byte()?; // tag: attribute, type index
                    s.leb()?;
                }
                k => return Err(format!("unknown import kind {k:#x}")),
            }
            out.push((module, field));
        }
        return Ok(out);
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Vec<u8> {
        let mut v = vec![s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    /// A module with a type section and an import section of every kind.
    fn module(first_module: &str) -> Vec<u8> {
        let mut imports = vec![5u8];
        imports.extend(name(first_module));
        imports.extend(name("f"));
        imports.extend([0x00, 0x00]); // func, type 0
        imports.extend(name("wbg"));
        imports.extend(name("t"));
        imports.extend([0x01, 0x6f, 0x01, 0x80, 0x01, 0x90, 0x01]); // table externref 128..144
        imports.extend(name("wbg"));
        imports.extend(name("m"));
        imports.extend([0x02, 0x00, 0x11]); // memory min 17
        imports.extend(name("wbg"));
        imports.extend(name("g"));
        imports.extend([0x03, 0x7f, 0x01]); // global mut i32
        imports.extend(name("wbg"));
        imports.extend(name("e"));
        imports.extend([0x04, 0x00, 0x00]); // tag
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]); // type section: () -> ()
        m.push(0x02);
        m.push(imports.len() as u8);
        m.extend(imports);
        m.extend([0x00, 0x03, 0x01, b'x', 0x00]); // a custom section after it
        m
    }

    #[test]
    fn reads_imports_of_every_kind() {
        let got = imports(&module("./sipsimple_wasm_bg.js")).expect("parses");
        let fields: Vec<&str> = got.iter().map(|(_, f)| f.as_str()).collect();
        assert_eq!(fields, ["f", "t", "m", "g", "e"]);
        assert_eq!(got[0].0, "./sipsimple_wasm_bg.js");
    }

    #[test]
    fn env_imports_fail_the_check() {
        let dir = std::env::temp_dir().join(format!("xtask-wasm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (clean, dirty) = (dir.join("clean.wasm"), dir.join("dirty.wasm"));
        std::fs::write(&clean, module("wbg")).expect("write");
        std::fs::write(&dirty, module("env")).expect("write");
        assert!(check_no_env_imports(&clean).is_ok());
        let err = check_no_env_imports(&dirty).expect_err("env import");
        assert!(err.contains("imports from `env`"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn rejects_garbage() {
        assert!(imports(b"not wasm").is_err());
        assert!(imports(b"\0asm\x01\0\0\0\x02\x05\x01").is_err());
        assert_eq!(imports(b"\0asm\x01\0\0\0").expect("empty"), Vec::new());
    }
}

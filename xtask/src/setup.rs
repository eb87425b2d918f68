//! `setup`: installs what is missing, and only that.

use crate::util::{self, capture, cargo, command, is_executable, root, run, which, Result};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// `cargo xtask run`: what building the page and the gateway needs.
    Run,
    /// `cargo xtask test`: that plus the browser, the SIP peers and the guard's tools.
    Test,
}

impl Purpose {
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Run => "run",
            Purpose::Test => "test",
        }
    }
}

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Debian packages the gateway's build needs: the `opus` crate links libopus through
/// pkg-config (no cmake, no bundled sources).
const BUILD_PACKAGES: &[(&str, &str)] = &[
    ("libopus-dev", "/usr/include/opus/opus.h"),
    ("pkg-config", "pkg-config"),
];

/// Debian packages the test suites need, each with the program that shows it is there
/// (an absolute path, or a name looked up on PATH; a `.h` path for a library's header, a
/// `.py` path for a Python module).
const APT_PACKAGES: &[(&str, &str)] = &[
    ("libopus-dev", "/usr/include/opus/opus.h"),
    ("pkg-config", "pkg-config"),
    ("baresip", "/usr/bin/baresip"), // a SIP phone (SRTP, Opus, RFC 4733) for the media suite
    ("chromium", "/usr/bin/chromium"), // the e2e suite drives it through playwright-core
    ("sip-tester", "sipp"),          // a real SIP peer
    ("kamailio", "/usr/sbin/kamailio"), // registrar + proxy of the native driver's interop suite
    ("tcpdump", "tcpdump"),          // tests/tools/udp-egress-guard watches with it
    ("iproute2", "ip"),              // ... and lists the interfaces with it
    ("docker-compose", "docker-compose"), // validates docker-compose.yml (no engine needed)
    // the gateway store's PostgreSQL test starts a throwaway server with initdb/pg_ctl
    ("postgresql", "/usr/lib/postgresql/15/bin/initdb"),
    // Xvnc, the real VNC server behind the desktop-sharing suites (native_desktop, rfb_xvnc,
    // e2e desktop.test.mjs, whose X client is tests/tools/x11-paint.mjs: no X library needed)
    ("tigervnc-standalone-server", "/usr/bin/Xvnc"),
    // OpenSSL's DES writes Xvnc's password file for the VNC Authentication test (rfb_xvnc)
    ("openssl", "openssl"),
    // python-zeroconf, the mDNS/DNS-SD peer of the Bonjour suite (tests/tools/zeroconf_peer.py)
    (
        "python3-zeroconf",
        "/usr/lib/python3/dist-packages/zeroconf/__init__.py",
    ),
];

const MIN_NODE_MAJOR: u32 = 20;

pub fn setup(purpose: Purpose) -> Result {
    wasm_target()?;
    wasm_bindgen_cli()?;
    if purpose == Purpose::Test {
        apt_packages(APT_PACKAGES)?;
        node_modules("tests/e2e")?;
        node_modules("tests/vite-app")?;
    }
    if purpose != Purpose::Test {
        apt_packages(BUILD_PACKAGES)?;
    }
    Ok(())
}

fn wasm_target() -> Result {
    if let Some(list) = capture(command("rustup").args(["target", "list", "--installed"])) {
        if list.lines().any(|l| l.trim() == WASM_TARGET) {
            println!("ok: Rust target {WASM_TARGET}");
            return Ok(());
        }
        return run(command("rustup").args(["target", "add", WASM_TARGET]));
    }
    // No rustup: fine if the toolchain already has the target.
    let sysroot = capture(command("rustc").args(["--print", "sysroot"])).unwrap_or_default();
    let lib = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(WASM_TARGET);
    if !sysroot.trim().is_empty() && lib.is_dir() {
        println!("ok: Rust target {WASM_TARGET} (no rustup; found in the sysroot)");
        Ok(())
    } else {
        Err(format!(
            "the Rust target {WASM_TARGET} is missing and rustup is not there to add it; \
             install Rust with rustup (https://rustup.rs) or add the target to your toolchain"
        ))
    }
}

/// The version of a package in `Cargo.lock` (the first one, if several are locked).
pub fn locked_version(lock: &str, package: &str) -> Option<String> {
    let mut name: Option<&str> = None;
    for line in lock.lines().map(str::trim) {
        if line == "[[package]]" {
            name = None;
        } else if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"'));
        } else if let Some(v) = line.strip_prefix("version = ") {
            if name == Some(package) {
                return Some(v.trim_matches('"').to_string());
            }
        }
    }
    None
}

/// The `wasm-bindgen` version the workspace is locked to: the CLI must match it exactly.
pub fn wasm_bindgen_version() -> Result<String> {
    let path = root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    locked_version(&lock, "wasm-bindgen")
        .ok_or_else(|| format!("no wasm-bindgen package in {}", path.display()))
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// A `wasm-bindgen` binary of exactly this version: where `cargo install` puts it first
/// (`CARGO_INSTALL_ROOT`, else cargo's home), then PATH.
pub fn find_wasm_bindgen(version: &str) -> Option<PathBuf> {
    let install_root = std::env::var_os("CARGO_INSTALL_ROOT")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from);
    install_root
        .into_iter()
        .chain(cargo_home())
        .map(|dir| dir.join("bin/wasm-bindgen"))
        .chain(which("wasm-bindgen"))
        .filter(|p| is_executable(p))
        .find(|p| {
            capture(command(p).arg("--version"))
                .is_some_and(|out| out.split_whitespace().nth(1) == Some(version))
        })
}

fn wasm_bindgen_cli() -> Result {
    let version = wasm_bindgen_version()?;
    if let Some(bin) = find_wasm_bindgen(&version) {
        println!("ok: wasm-bindgen {version} ({})", bin.display());
        return Ok(());
    }
    println!("wasm-bindgen-cli {version} is missing: installing it (a few minutes, once)");
    // No `--locked`: the CLI's own lock file names versions this registry does not have.
    run(cargo().args(["install", "wasm-bindgen-cli", "--version", &version]))?;
    find_wasm_bindgen(&version).map(|_| ()).ok_or_else(|| {
        format!("wasm-bindgen {version} still not found after `cargo install`; is cargo's bin folder on PATH?")
    })
}

fn is_root() -> bool {
    capture(std::process::Command::new("id").arg("-u")).is_some_and(|s| s.trim() == "0")
}

fn present(probe: &str) -> bool {
    if probe.ends_with(".h") || probe.ends_with(".py") {
        // A library's development files: the header is there; a Python module: its source.
        Path::new(probe).is_file()
    } else if probe.starts_with('/') {
        is_executable(Path::new(probe))
    } else {
        which(probe).is_some()
    }
}

fn apt_packages(packages: &[(&str, &str)]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, probe)| !present(probe))
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        let names: Vec<&str> = packages.iter().map(|(p, _)| *p).collect();
        println!("ok: Debian packages {}", names.join(", "));
        return Ok(());
    }
    let list = missing.join(" ");
    if which("apt-get").is_none() {
        return Err(format!(
            "missing packages ({list}) and no apt-get here: install their equivalents by hand"
        ));
    }
    let sudo = if is_root() {
        false
    } else if which("sudo").is_some() {
        true
    } else {
        return Err(format!(
            "missing Debian packages ({list}): run as root, install sudo, or run \
             `apt-get update && apt-get install -y --no-install-recommends {list}` as root"
        ));
    };
    let apt = |args: &[&str]| {
        let mut cmd = if sudo {
            let mut c = command("sudo");
            c.args(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            c
        } else {
            let mut c = command("apt-get");
            c.env("DEBIAN_FRONTEND", "noninteractive");
            c
        };
        cmd.args(args);
        cmd
    };
    println!("installing Debian packages: {list}");
    run(&mut apt(&["update"]))?;
    let mut install = apt(&["install", "-y", "--no-install-recommends"]);
    install.args(&missing);
    run(&mut install)?;
    let still: Vec<&str> = packages
        .iter()
        .filter(|(_, probe)| !present(probe))
        .map(|(_, probe)| *probe)
        .collect();
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "installed {list}, but still missing: {}",
            still.join(", ")
        ))
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

fn node_major() -> Option<u32> {
    let v = capture(command("node").arg("--version"))?;
    v.trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// `npm ci` in `folder` (tests/e2e, tests/vite-app) when its node_modules is missing or
/// older than its lock file.
fn node_modules(folder: &str) -> Result {
    let dir = root().join(folder);
    let lock = dir.join("package-lock.json");
    let lock_time = mtime(&lock).ok_or_else(|| format!("{} is missing", lock.display()))?;
    match node_major() {
        Some(major) if major >= MIN_NODE_MAJOR => {}
        Some(major) => {
            return Err(format!(
                "node {major} found; {folder} needs node {MIN_NODE_MAJOR} or newer"
            ))
        }
        None => {
            return Err(format!(
                "node not found; {folder} needs node {MIN_NODE_MAJOR}+ with npm"
            ))
        }
    }
    let modules = dir.join("node_modules");
    // `npm ci` writes node_modules/.package-lock.json last; fall back to the folder itself.
    let installed = mtime(&modules.join(".package-lock.json")).or_else(|| mtime(&modules));
    if installed.is_some_and(|t| t >= lock_time) {
        println!("ok: {folder}/node_modules is up to date");
        return Ok(());
    }
    if which("npm").is_none() {
        return Err("npm not found (it comes with node 20+)".into());
    }
    let mut npm = util::command("npm");
    npm.args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        // playwright-core never downloads a browser; say so anyway for any other package.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    run(&mut npm)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "wasm-bindgen-macro"
version = "0.2.99"

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "cfg-if",
]
"#;

    #[test]
    fn finds_the_locked_version() {
        assert_eq!(
            locked_version(LOCK, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(
            locked_version(LOCK, "wasm-bindgen-macro").as_deref(),
            Some("0.2.99")
        );
        assert_eq!(locked_version(LOCK, "serde"), None);
    }

    #[test]
    fn the_workspace_lock_has_wasm_bindgen() {
        assert!(wasm_bindgen_version().is_ok());
    }
}

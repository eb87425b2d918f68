//! `pack`: the npm package `@sipsimple/client` in `target/npm/`, and the Vite app that
//! proves the packed tarball works in a fresh project.
//!
//! ```text
//! target/npm/package/                 the staged package (what the tarball holds)
//!   package.json                      client-wasm/package/package.json, version set
//!   index.js, index.d.ts, README.md   client-wasm/package/ (hand-written)
//!   media.js                          client-wasm/package/ (hand-written BrowserMedia)
//!   sipsimple_wasm.js, .d.ts          wasm-bindgen --target web --typescript
//!   sipsimple_wasm_bg.wasm
//! target/npm/sipsimple-client-<version>.tgz
//! ```

use crate::util::{capture, command, human_size, root, run, target_dir, which, Result};
use crate::wasm;
use std::path::{Path, PathBuf};

/// The hand-written files of the package, in `client-wasm/package/`.
const SOURCES: &str = "client-wasm/package";
/// What the template's `version` says until `pack` sets the workspace's.
const VERSION_PLACEHOLDER: &str = "0.0.0-set-by-xtask";
/// Every file the tarball must hold.
const FILES: &[&str] = &[
    "package.json",
    "README.md",
    "index.js",
    "index.d.ts",
    "media.js",
    "managers.js",
    "managers.d.ts",
    "sipsimple_wasm.js",
    "sipsimple_wasm.d.ts",
    "sipsimple_wasm_bg.wasm",
];

/// Builds the module and the package; returns the tarball's path.
pub fn pack() -> Result<PathBuf> {
    let version = workspace_version()?;
    let sources = root().join(SOURCES);
    let dts = read(&sources.join("index.d.ts"))?;
    check_declarations(&dts)?;

    let built = wasm::build_module()?;
    let npm_dir = target_dir().join("npm");
    let stage = npm_dir.join("package");
    if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    }
    mkdir(&stage)?;
    let bound = wasm::bindgen(&built, &stage, &["--typescript"])?;
    // The raw exports' types (`InitOutput` internals): not part of the package.
    let raw = stage.join(format!("{}_bg.wasm.d.ts", wasm::GLUE));
    if raw.exists() {
        std::fs::remove_file(&raw).map_err(|e| format!("{}: {e}", raw.display()))?;
    }
    for file in [
        "index.js",
        "index.d.ts",
        "media.js",
        "managers.js",
        "managers.d.ts",
        "README.md",
    ] {
        copy(&sources.join(file), &stage.join(file))?;
    }
    let manifest = read(&sources.join("package.json"))?;
    if !manifest.contains(VERSION_PLACEHOLDER) {
        return Err(format!(
            "{SOURCES}/package.json must say \"version\": \"{VERSION_PLACEHOLDER}\" (pack sets it)"
        ));
    }
    write(
        &stage.join("package.json"),
        &manifest.replace(VERSION_PLACEHOLDER, &version),
    )?;
    for file in FILES {
        if !stage.join(file).is_file() {
            return Err(format!("{} is missing from the package", file));
        }
    }

    let tarball = npm_dir.join(format!("sipsimple-client-{version}.tgz"));
    if tarball.exists() {
        std::fs::remove_file(&tarball).map_err(|e| format!("{}: {e}", tarball.display()))?;
    }
    if which("npm").is_none() {
        return Err("npm not found (it comes with node 20+)".into());
    }
    let mut npm = command("npm");
    npm.current_dir(&stage)
        .args(["pack", "--json", "--pack-destination"])
        .arg(&npm_dir);
    println!("$ npm pack --json --pack-destination {}", npm_dir.display());
    let listing = capture(&mut npm).ok_or("`npm pack` failed")?;
    for file in FILES {
        if !listing.contains(&format!("\"path\": \"{file}\"")) {
            return Err(format!(
                "`npm pack` left {file} out of the tarball:\n{listing}"
            ));
        }
    }
    if !tarball.is_file() {
        return Err(format!("`npm pack` did not write {}", tarball.display()));
    }
    println!("module:   {}", wasm::size_of(&bound)?);
    println!(
        "tarball:  {}  {}",
        wasm::size_of(&tarball)?,
        tarball.display()
    );
    Ok(tarball)
}

/// In `tests/vite-app` (after `npm ci`): installs the tarball without saving it (the lock
/// file stays the committed one), checks the types with `tsc --strict` and builds the app
/// with `vite build` into `tests/vite-app/dist`.
pub fn vite_app(tarball: &Path) -> Result {
    let dir = root().join("tests/vite-app");
    let installed = dir.join("node_modules/@sipsimple");
    if installed.exists() {
        // A tarball of the same version with new contents must replace the old one.
        std::fs::remove_dir_all(&installed).map_err(|e| format!("{}: {e}", installed.display()))?;
    }
    let in_app = |program: &Path| {
        let mut cmd = command(program);
        cmd.current_dir(&dir);
        cmd
    };
    run(in_app(Path::new("npm"))
        .args([
            "install",
            "--no-save",
            "--offline",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
        ])
        .arg(tarball))?;
    let bin = dir.join("node_modules/.bin");
    run(in_app(&bin.join("tsc")).args(["--noEmit", "-p", "."]))?;
    run(in_app(&bin.join("vite")).args(["build", "--logLevel", "warn"]))?;
    let dist = dir.join("dist");
    let mut total = 0;
    for entry in std::fs::read_dir(dist.join("assets"))
        .map_err(|e| format!("{}/assets: {e}", dist.display()))?
        .flatten()
    {
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        total += size;
        println!(
            "dist/assets/{}  {}",
            entry.file_name().to_string_lossy(),
            human_size(size)
        );
    }
    println!("dist/assets total: {}", human_size(total));
    Ok(())
}

/// The `version` of `[workspace.package]` in the root `Cargo.toml`.
pub fn workspace_version() -> Result<String> {
    let path = root().join("Cargo.toml");
    let text = read(&path)?;
    version_of_workspace(&text)
        .ok_or_else(|| format!("no [workspace.package] version in {}", path.display()))
}

fn version_of_workspace(manifest: &str) -> Option<String> {
    let mut in_section = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section {
            if let Some(rest) = line.strip_prefix("version") {
                let value = rest.trim_start().strip_prefix('=')?.trim();
                return Some(value.trim_matches('"').to_string());
            }
        }
    }
    None
}

/// The string literals starting with `prefix` in `text` (`"SIPSession..."`).
fn literals<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out: Vec<&str> = text
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with(prefix) && s.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The hand-written `index.d.ts` declares every notification the core and the browser
/// shell emit, and every session state, so that it cannot silently fall behind them.
fn check_declarations(dts: &str) -> Result {
    let core = read(&root().join("shared/src/notification.rs"))?;
    let shell = read(&root().join("client-wasm/src/lib.rs"))?;
    // The names `Event::name` returns, and the shell's own `SIPApplication*`.
    let mut names: Vec<&str> = core
        .lines()
        .filter(|l| l.contains("Event::") && l.contains("=> \""))
        .filter_map(|l| l.split('"').nth(1))
        .collect();
    names.extend(literals(&shell, "SIPApplication"));
    names.sort_unstable();
    names.dedup();
    let states: Vec<&str> = core
        .lines()
        .filter(|l| l.contains("SessionState::") && l.contains("=> \""))
        .filter_map(|l| l.split('"').nth(1))
        .collect();
    let missing = missing_declarations(dts, &names, &states);
    if names.len() < 10 || states.len() < 5 {
        return Err(format!(
            "found only {} notification names and {} states in the sources: has \
             shared/src/notification.rs changed shape? Update xtask/src/pack.rs",
            names.len(),
            states.len()
        ));
    }
    if missing.is_empty() {
        println!(
            "ok: index.d.ts declares all {} notifications and {} session states",
            names.len(),
            states.len()
        );
        Ok(())
    } else {
        Err(format!(
            "{SOURCES}/index.d.ts does not declare: {} (add each to the `Notification` union \
             with its data shape, or to `SessionState`)",
            missing.join(", ")
        ))
    }
}

fn missing_declarations(dts: &str, names: &[&str], states: &[&str]) -> Vec<String> {
    let mut missing = Vec::new();
    for name in names {
        let declared = dts.contains(&format!("NotificationOf<'{name}',"));
        let in_union = dts.contains(&format!("| {name}\n")) || dts.contains(&format!("| {name};"));
        if !(declared && in_union) {
            missing.push(name.to_string());
        }
    }
    for state in states {
        if !dts.contains(&format!("'{state}'")) {
            missing.push(format!("state {state}"));
        }
    }
    missing
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))
}

fn mkdir(path: &Path) -> Result {
    std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workspace_version() {
        let manifest = "[workspace]\nmembers = []\n\n[workspace.package]\nedition = \"2021\"\nversion = \"1.2.3\"\n\n[workspace.dependencies]\nversion = \"9\"\n";
        assert_eq!(version_of_workspace(manifest).as_deref(), Some("1.2.3"));
        assert_eq!(version_of_workspace("[package]\nversion = \"1\"\n"), None);
        assert!(workspace_version().is_ok());
    }

    #[test]
    fn finds_notification_literals() {
        let src = r#"Event::A {} => "SIPSessionDidStart", x => "SIPSessionDidEnd", "SIP/2.0 200", "SIPSessionDidStart""#;
        assert_eq!(
            literals(src, "SIP"),
            ["SIPSessionDidEnd", "SIPSessionDidStart"]
        );
    }

    #[test]
    fn reports_undeclared_names() {
        let dts = "export type A = NotificationOf<'SIPA', null, NoData>;\n\
                   export type Notification =\n  | SIPA\n  | SIPB;\nexport type S = 'NULL';\n";
        assert!(missing_declarations(dts, &["SIPA"], &["NULL"]).is_empty());
        assert_eq!(
            missing_declarations(dts, &["SIPA", "SIPB"], &["NULL", "CALLING"]),
            ["SIPB", "state CALLING"]
        );
    }

    #[test]
    fn the_package_declares_every_notification() {
        let dts = read(&root().join(SOURCES).join("index.d.ts")).expect("index.d.ts");
        check_declarations(&dts).expect("declarations");
    }
}

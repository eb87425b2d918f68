//! `test` (and `ci`): every suite, in order, stopping at the first failure.

use crate::setup::{self, wasm_bindgen_version, Purpose, WASM_TARGET};
use crate::util::{capture, cargo, command, header, root, run, target_dir, which, Result};
use crate::{pack, wasm};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The steps run so far, for the summary.
#[derive(Default)]
struct Steps {
    done: Vec<(String, Duration, bool)>,
}

impl Steps {
    fn step(&mut self, name: &str, f: impl FnOnce() -> Result) -> Result {
        header(name);
        let start = Instant::now();
        let result = f();
        self.done
            .push((name.to_string(), start.elapsed(), result.is_ok()));
        result.map_err(|e| format!("step `{name}` failed: {e}"))
    }

    fn summary(&self, failed: bool) {
        header("summary");
        let width = self.done.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
        let mut total = Duration::ZERO;
        for (name, took, ok) in &self.done {
            total += *took;
            let mark = if *ok { "ok" } else { "FAILED" };
            println!("  {mark:<6}  {name:<width$}  {:>7.1}s", took.as_secs_f64());
        }
        println!(
            "  {:<6}  {:<width$}  {:>7.1}s",
            "",
            "total",
            total.as_secs_f64()
        );
        if failed {
            println!("xtask test: FAILED (stopped at the first failing step)");
        } else {
            println!("xtask test: all {} steps passed", self.done.len());
        }
    }
}

pub fn test() -> Result {
    let mut steps = Steps::default();
    let result = pipeline(&mut steps);
    steps.summary(result.is_err());
    result
}

fn pipeline(s: &mut Steps) -> Result {
    s.step("setup --for test", || setup::setup(Purpose::Test))?;
    s.step("fmt", || run(cargo().args(["fmt", "--all", "--check"])))?;
    s.step("clippy", || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "-j2",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    s.step("clippy (sipsimple --features native)", || {
        run(cargo().args([
            "clippy",
            "-p",
            "sipsimple",
            "--features",
            "native",
            "--all-targets",
            "-j2",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    s.step("core builds for wasm32", || {
        run(cargo().args(["build", "-p", "sipsimple", "--target", WASM_TARGET]))
    })?;
    let mut module = PathBuf::new();
    s.step("build-web", || {
        module = wasm::build_web()?;
        Ok(())
    })?;
    s.step("wasm imports nothing from env", || {
        wasm::check_no_env_imports(&module)
    })?;
    s.step("gateway (debug)", || {
        run(cargo().args(["build", "-p", "sipsimple-gateway"]))
    })?;
    if capture(cargo().args(["nextest", "--version"])).is_some() {
        s.step("unit tests (nextest)", || {
            run(cargo().args(["nextest", "run", "--workspace", "-j2"]))
        })?;
        // nextest does not run doctests.
        s.step("doctests", || {
            run(cargo().args(["test", "--doc", "--workspace"]))
        })?;
    } else {
        s.step("unit tests (cargo test)", || {
            run(cargo().args(["test", "--workspace"]))
        })?;
    }
    s.step("native driver: Kamailio, audio, MSRP", native_interop)?;
    s.step("container files", container_files)?;
    let mut tarball = PathBuf::new();
    s.step("pack (npm package)", || {
        tarball = pack::pack()?;
        Ok(())
    })?;
    s.step("vite app (tarball, tsc, vite build)", || {
        pack::vite_app(&tarball)
    })?;
    s.step("e2e (browser and peers)", e2e)
}

/// `sipsimple::native` (feature `native`): its unit tests and doctest, then inside the UDP
/// egress guard `shared/tests/native_kamailio.rs` (Kamailio from `tests/kamailio/kamailio.cfg`
/// and a SIPp UAS, both started by the test on loopback), `native_audio.rs` (RTP against
/// SIPp's echo and between two drivers), `native_msrp.rs` (chat and files over TCP) and
/// `native_bonjour.rs` (two Bonjour peers in a network namespace), with the example binaries
/// the suites run built first.
fn native_interop() -> Result {
    let native = ["-p", "sipsimple", "--features", "native", "-j2"];
    run(cargo().arg("test").args(native).args(["--lib", "native::"]))?;
    // The workspace's doctest step builds without the feature: compile the driver's here.
    run(cargo().arg("test").args(native).args(["--doc", "native"]))?;
    // Kamailio interop, native RTP audio against SIPp's echo and between two drivers, and
    // MSRP chat and file transfer between two drivers.
    let suites = [
        "--test",
        "native_kamailio",
        "--test",
        "native_audio",
        "--test",
        "native_msrp",
        "--test",
        "native_desktop",
        // Two bonjour_peer processes in a network namespace of the test's own: mDNS
        // discovery, a call and a chat without a registrar (needs root).
        "--test",
        "native_bonjour",
    ];
    run(cargo()
        .arg("build")
        .args(native)
        // msrp_peer is the native chat peer of the e2e suite's chat.test.mjs.
        .args([
            "--example",
            "simple_outbound_call",
            "--example",
            "msrp_peer",
            // The peer native_bonjour runs in its namespace.
            "--example",
            "bonjour_peer",
        ])
        .args(suites))?;
    let mut cmd = command(root().join("tests/tools/udp-egress-guard"));
    cmd.arg(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .arg("test")
        .args(native)
        .args(suites)
        // Missing peers fail the step instead of skipping the tests.
        .env("SIPSIMPLE_REQUIRE_PEERS", "1");
    run(&mut cmd)
}

/// The compose files (one gateway; the cluster of docs/scaling.md) parse under
/// docker-compose 1.29, and the Dockerfile installs the
/// wasm-bindgen-cli the lock file wants.
fn container_files() -> Result {
    if which("docker-compose").is_none() {
        return Err("docker-compose not found (Debian package docker-compose)".into());
    }
    for file in ["docker-compose.yml", "docker-compose.cluster.yml"] {
        run(command("docker-compose").args(["-f", file, "config", "-q"]))?;
    }
    let version = wasm_bindgen_version()?;
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile"))
        .map_err(|e| format!("Dockerfile: {e}"))?;
    let pinned = dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("ARG WASM_BINDGEN_VERSION="))
        .map(str::trim);
    match pinned {
        Some(v) if v == version => {
            println!("ok: the Dockerfile pins wasm-bindgen-cli {v}, as Cargo.lock");
            Ok(())
        }
        Some(v) => Err(format!(
            "the Dockerfile pins wasm-bindgen-cli {v} but Cargo.lock has wasm-bindgen {version}: \
             update `ARG WASM_BINDGEN_VERSION=` in the Dockerfile"
        )),
        None => Err("the Dockerfile has no `ARG WASM_BINDGEN_VERSION=` line".into()),
    }
}

/// `tests/e2e/*.test.mjs` under node's test runner, one file at a time, inside the UDP
/// egress guard. Node 20 does not expand globs itself, so the files are listed here.
fn e2e() -> Result {
    let dir = root().join("tests/e2e");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.mjs"))
        .collect();
    files.sort();
    if files.is_empty() {
        println!("no tests/e2e/*.test.mjs files yet: node's test runner runs with none");
    } else {
        println!("test files: {}", files.join(" "));
    }
    let guard = root().join("tests/tools/udp-egress-guard");
    let gateway = target_dir().join("debug/sipsimple-gateway");
    if !gateway.is_file() {
        return Err(format!(
            "{} is missing (built by `gateway (debug)`)",
            gateway.display()
        ));
    }
    let mut cmd = command(&guard);
    cmd.current_dir(&dir)
        .args(["node", "--test", "--test-concurrency=1"])
        .args(&files)
        .env("SIPSIMPLE_GATEWAY_BIN", &gateway)
        .env("SIPSIMPLE_WEB_DIR", root().join("web"))
        .env("SIPSIMPLE_VITE_DIST", root().join("tests/vite-app/dist"))
        .env("SIPSIMPLE_NPM_PACKAGE", target_dir().join("npm/package"))
        .env("CHROMIUM", "/usr/bin/chromium");
    run(&mut cmd)
}

//! `cargo xtask` — the build chain of sipsimple-rs.
//!
//! ```text
//! cargo xtask setup [--for run|test]   install what is missing (idempotent, quick when done)
//! cargo xtask build-web                 build the browser module into web/pkg
//! cargo xtask pack                      the npm package @sipsimple/client in target/npm
//! cargo xtask run [-- ARGS]             setup, build-web, then `sipsimple-gateway serve ARGS`
//! cargo xtask test                      setup and every suite, stopping at the first failure
//! cargo xtask ci                        the same as `test` (what .ci/run calls)
//! ```
//!
//! Standard library only, so that it builds in seconds on a fresh machine.

mod pack;
mod setup;
mod test;
mod util;
mod wasm;

use setup::Purpose;
use std::process::ExitCode;
use util::Result;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup [--for run|test]  install what is missing: the wasm32 target and wasm-bindgen-cli
                          (both), plus for `test` (the default) chromium, sipp, kamailio,
                          tcpdump, docker-compose from apt and the npm packages of tests/e2e and
                          tests/vite-app
  build-web               build client-wasm (profile wasm-release) and run wasm-bindgen
                          into web/pkg
  pack                    build the npm package @sipsimple/client: the module
                          (wasm-bindgen --target web --typescript), index.js,
                          index.d.ts, README.md and package.json staged in
                          target/npm/package, then `npm pack` into
                          target/npm/sipsimple-client-<version>.tgz
  run [-- ARGS]           setup --for run, build-web, then
                          `cargo run --release -p sipsimple-gateway -- serve ARGS`
                          (http://127.0.0.1:8080/ by default)
  test                    setup --for test, then fmt, clippy, wasm builds, unit tests,
                          the native driver's Kamailio interop, compose check, pack and
                          the Vite app (tsc, vite build), and the browser suite; stops at
                          the first failure
  ci                      same as test
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: &[String]) -> Result {
    let Some((cmd, rest)) = args.split_first() else {
        print!("{USAGE}");
        return Err("no command given".into());
    };
    match cmd.as_str() {
        "setup" => {
            let purpose = parse_purpose(rest)?;
            util::header(&format!("setup --for {}", purpose.name()));
            setup::setup(purpose)
        }
        "build-web" => {
            no_args(cmd, rest)?;
            util::header("build-web");
            wasm::build_web().map(|_| ())
        }
        "pack" => {
            no_args(cmd, rest)?;
            util::header("pack");
            setup::setup(Purpose::Run)?;
            pack::pack().map(|_| ())
        }
        "run" => run_gateway(rest),
        "test" | "ci" => {
            no_args(cmd, rest)?;
            test::test()
        }
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            print!("{USAGE}");
            Err(format!("unknown command `{other}`"))
        }
    }
}

fn no_args(cmd: &str, rest: &[String]) -> Result {
    match rest.first() {
        None => Ok(()),
        Some(a) => Err(format!("`{cmd}` takes no arguments (got `{a}`)")),
    }
}

fn parse_purpose(rest: &[String]) -> Result<Purpose> {
    let value = match rest {
        [] => return Ok(Purpose::Test),
        [flag, v] if flag == "--for" => v.as_str(),
        [flag] if flag.starts_with("--for=") => &flag["--for=".len()..],
        _ => {
            return Err(format!(
                "usage: cargo xtask setup [--for run|test] (got {rest:?})"
            ))
        }
    };
    match value {
        "run" => Ok(Purpose::Run),
        "test" => Ok(Purpose::Test),
        other => Err(format!("setup --for takes `run` or `test`, not `{other}`")),
    }
}

/// `run [-- ARGS]`: everything a newcomer needs to get the softphone page up.
fn run_gateway(rest: &[String]) -> Result {
    let rest = match rest.first() {
        Some(a) if a == "--" => &rest[1..],
        _ => rest,
    };
    let (global, serve) = split_gateway_args(rest);
    util::header("setup --for run");
    setup::setup(Purpose::Run)?;
    util::header("build-web");
    wasm::build_web()?;
    util::header("gateway");
    let mut cmd = util::cargo();
    cmd.args(["run", "--release", "-p", "sipsimple-gateway", "--"])
        .args(&global)
        .arg("serve")
        .args(&serve);
    util::exec(cmd)
}

/// `--data-dir` is an option of the gateway itself, not of `serve`: move it before the
/// subcommand so that `cargo xtask run -- --data-dir /tmp/gw --no-demo` does what it says.
fn split_gateway_args(args: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut global, mut serve) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--data-dir" {
            global.push(a.clone());
            global.extend(it.next().cloned());
        } else if a.starts_with("--data-dir=") {
            global.push(a.clone());
        } else {
            serve.push(a.clone());
        }
    }
    (global, serve)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn purpose_parsing() {
        assert_eq!(parse_purpose(&[]), Ok(Purpose::Test));
        assert_eq!(parse_purpose(&s(&["--for", "run"])), Ok(Purpose::Run));
        assert_eq!(parse_purpose(&s(&["--for=test"])), Ok(Purpose::Test));
        assert!(parse_purpose(&s(&["--for", "deploy"])).is_err());
        assert!(parse_purpose(&s(&["run"])).is_err());
    }

    #[test]
    fn data_dir_goes_before_serve() {
        let (g, sv) = split_gateway_args(&s(&["--no-demo", "--data-dir", "/tmp/x", "--http", "a"]));
        assert_eq!(g, s(&["--data-dir", "/tmp/x"]));
        assert_eq!(sv, s(&["--no-demo", "--http", "a"]));
        let (g, sv) = split_gateway_args(&s(&["--data-dir=/d"]));
        assert_eq!(g, s(&["--data-dir=/d"]));
        assert!(sv.is_empty());
    }
}

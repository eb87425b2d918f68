//! Running commands, finding programs and paths.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (the parent of `xtask/`); every command runs from there.
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (relative to the root), else
/// `target/` under the root.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// A command run from the workspace root.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(root());
    cmd
}

/// `cargo`, the same one that runs xtask when cargo told us which.
pub fn cargo() -> Command {
    command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// A `==> name` header.
pub fn header(name: &str) {
    println!("\n==> {name}");
}

fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    if let Some(file) = Path::new(&s).file_name() {
        // `/root/.rustup/toolchains/.../bin/cargo` reads better as `cargo`.
        if file == "cargo" {
            s = "cargo".into();
        }
    }
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(char::is_whitespace) {
            s.push_str(&format!(" '{a}'"));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

/// Runs a command, echoing it, and fails unless it exits with 0.
pub fn run(cmd: &mut Command) -> Result {
    let shown = display(cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs a command quietly and returns its standard output when it exits with 0.
pub fn capture(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Replaces this process with the command (so Ctrl-C and the exit code are the command's).
pub fn exec(mut cmd: Command) -> Result {
    let shown = display(&cmd);
    println!("$ {shown}");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        Err(format!("could not start `{shown}`: {err}"))
    }
    #[cfg(not(unix))]
    {
        run(&mut cmd)
    }
}

/// The program's path if it is on PATH (or in the sbin folders, which a non-root PATH
/// often lacks: tcpdump lives there).
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

pub fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// `1234567` → `1.18 MiB (1234567 bytes)`.
pub fn human_size(bytes: u64) -> String {
    let kib = bytes as f64 / 1024.0;
    if kib < 1024.0 {
        format!("{kib:.1} KiB ({bytes} bytes)")
    } else {
        format!("{:.2} MiB ({bytes} bytes)", kib / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(2048), "2.0 KiB (2048 bytes)");
        assert_eq!(human_size(3 * 1024 * 1024), "3.00 MiB (3145728 bytes)");
    }

    #[test]
    fn commands_display_quoted() {
        let mut c = Command::new("echo");
        c.args(["a b", "c"]);
        assert_eq!(display(&c), "echo 'a b' c");
    }

    #[test]
    fn root_has_the_workspace_manifest() {
        assert!(root().join("Cargo.toml").is_file());
        assert!(root().join("xtask").is_dir());
    }
}

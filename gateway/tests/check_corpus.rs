//! `sipsimple-gateway check` over the RFC 4475 and RFC 5118 corpora: exit 0 with JSON for
//! every valid message, exit 1 with an error line for every invalid one (RFC 4475 §3.1.2,
//! §3.3.1, §3.3.8, §3.3.9; RFC 5118 §4.2 and §4.10).

use std::path::Path;
use std::process::Command;

/// The invalid RFC 4475 messages, from the list kept beside the vectors.
fn invalid_4475() -> Vec<String> {
    let list =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/vectors/rfc4475-invalid.txt");
    std::fs::read_to_string(list)
        .expect("the invalid list")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn check(file: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sipsimple-gateway"))
        .arg("check")
        .arg(file)
        .output()
        .expect("the gateway binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn rfc4475_torture_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/vectors/rfc4475");
    let invalid = invalid_4475();
    assert_eq!(invalid.len(), 22, "RFC 4475 lists 22 invalid messages");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("vectors") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if path.extension().and_then(|e| e.to_str()) != Some("dat") {
            continue;
        }
        seen += 1;
        let (ok, stdout, stderr) = check(&path);
        if invalid.contains(&name) {
            assert!(!ok, "{name} should be refused, got {stdout}");
            assert!(stderr.starts_with("error: invalid SIP"), "{name}: {stderr}");
        } else {
            assert!(ok, "{name} should be accepted: {stderr}");
            let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
            assert_eq!(v["kind"], "sip", "{name}");
        }
    }
    assert_eq!(seen, 49, "all RFC 4475 messages are checked");
}

#[test]
fn stdin_and_sdp_and_msrp() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipsimple-gateway"))
        .args(["check", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=message 2855 TCP/MSRP *\r\na=path:msrp://192.0.2.1:2855/abc;tcp\r\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["kind"], "sdp");
    assert_eq!(v["media"][0]["media"], "message");
}

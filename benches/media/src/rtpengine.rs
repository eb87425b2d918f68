//! rtpengine in userspace (`--table=-1`) on loopback, driven over its ng control protocol
//! (bencode over UDP): one offer/answer pair allocates a plain RTP → RTP relay.

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A bencode value (BitTorrent's encoding, which the ng protocol uses).
#[derive(Debug, Clone, PartialEq)]
pub enum Ben {
    /// `i...e`
    Int(i64),
    /// `N:bytes`
    Bytes(Vec<u8>),
    /// `l...e`
    List(Vec<Ben>),
    /// `d...e`, keys sorted.
    Dict(BTreeMap<Vec<u8>, Ben>),
}

impl Ben {
    fn s(v: &str) -> Ben {
        Ben::Bytes(v.as_bytes().to_vec())
    }

    /// Encodes the value.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Ben::Int(i) => out.extend_from_slice(format!("i{i}e").as_bytes()),
            Ben::Bytes(b) => {
                out.extend_from_slice(format!("{}:", b.len()).as_bytes());
                out.extend_from_slice(b);
            }
            Ben::List(l) => {
                out.push(b'l');
                l.iter().for_each(|v| v.encode(out));
                out.push(b'e');
            }
            Ben::Dict(d) => {
                out.push(b'd');
                for (k, v) in d {
                    Ben::Bytes(k.clone()).encode(out);
                    v.encode(out);
                }
                out.push(b'e');
            }
        }
    }

    /// Decodes one value from the start of `b`; returns it and the rest.
    pub fn decode(b: &[u8]) -> Option<(Ben, &[u8])> {
        match *b.first()? {
            b'i' => {
                let end = b.iter().position(|&c| c == b'e')?;
                let n = std::str::from_utf8(b.get(1..end)?).ok()?.parse().ok()?;
                Some((Ben::Int(n), b.get(end + 1..)?))
            }
            b'l' => {
                let mut rest = b.get(1..)?;
                let mut l = Vec::new();
                while *rest.first()? != b'e' {
                    let (v, r) = Ben::decode(rest)?;
                    l.push(v);
                    rest = r;
                }
                Some((Ben::List(l), rest.get(1..)?))
            }
            b'd' => {
                let mut rest = b.get(1..)?;
                let mut d = BTreeMap::new();
                while *rest.first()? != b'e' {
                    let (Ben::Bytes(k), r) = Ben::decode(rest)? else {
                        return None;
                    };
                    let (v, r) = Ben::decode(r)?;
                    d.insert(k, v);
                    rest = r;
                }
                Some((Ben::Dict(d), rest.get(1..)?))
            }
            _ => {
                let colon = b.iter().position(|&c| c == b':')?;
                let n: usize = std::str::from_utf8(b.get(..colon)?).ok()?.parse().ok()?;
                let body = b.get(colon + 1..colon + 1 + n)?;
                Some((Ben::Bytes(body.to_vec()), b.get(colon + 1 + n..)?))
            }
        }
    }

    /// A dictionary entry as text.
    pub fn text(&self, key: &str) -> Option<String> {
        match self {
            Ben::Dict(d) => match d.get(key.as_bytes())? {
                Ben::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
                _ => None,
            },
            _ => None,
        }
    }
}

fn dict(entries: &[(&str, Ben)]) -> Ben {
    Ben::Dict(
        entries
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
            .collect(),
    )
}

/// A running rtpengine, killed when dropped.
pub struct Rtpengine {
    child: Child,
    ng: SocketAddr,
    ctl: UdpSocket,
    cookie: u64,
}

impl Drop for Rtpengine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free UDP port on loopback (bound and released; the window is short).
pub fn free_udp_port() -> std::io::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The SDP of a plain endpoint sending Opus from `port`.
pub fn plain_sdp(port: u16, pt: u8) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {pt}\r\na=rtpmap:{pt} opus/48000/2\r\na=sendrecv\r\n"
    )
}

/// The port of the first `m=audio` line.
pub fn audio_port(sdp: &str) -> Option<u16> {
    sdp.lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|p| p.parse().ok())
}

impl Rtpengine {
    /// Starts `bin` in userspace mode on loopback with its files in `dir`; waits for `ping`.
    pub fn start(bin: &str, dir: &Path, threads: u32) -> Result<Rtpengine, String> {
        let ng_port = free_udp_port().map_err(|e| e.to_string())?;
        let ng: SocketAddr = SocketAddr::from(([127, 0, 0, 1], ng_port));
        // The log outlives the run (for a look after a surprising result).
        let log_path = std::env::temp_dir().join("media-relay-bench-rtpengine.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .args([
                "--config-file=none",
                "--table=-1",
                "--interface=127.0.0.1",
                &format!("--listen-ng=127.0.0.1:{ng_port}"),
                "--foreground",
                "--log-stderr",
                "--log-level=6",
                &format!("--pidfile={}", dir.join("rtpengine.pid").display()),
                "--port-min=40000",
                "--port-max=40999",
                &format!("--num-threads={threads}"),
                "--timeout=60",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {bin}: {e}"))?;
        let ctl = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        ctl.set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(|e| e.to_string())?;
        let mut r = Rtpengine {
            child,
            ng,
            ctl,
            cookie: 1,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(resp) = r.command(&dict(&[("command", Ben::s("ping"))])) {
                if resp.text("result").as_deref() == Some("pong") {
                    return Ok(r);
                }
            }
            if let Ok(Some(status)) = r.child.try_wait() {
                return Err(format!("rtpengine exited: {status}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("rtpengine did not answer ping".into())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one command and returns the response dictionary.
    pub fn command(&mut self, cmd: &Ben) -> Result<Ben, String> {
        self.cookie += 1;
        let cookie = format!("c{}", self.cookie);
        let mut msg = format!("{cookie} ").into_bytes();
        cmd.encode(&mut msg);
        self.ctl.send_to(&msg, self.ng).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 65_535];
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            let Ok((n, _)) = self.ctl.recv_from(&mut buf) else {
                continue;
            };
            let d = &buf[..n];
            let Some(sp) = d.iter().position(|&c| c == b' ') else {
                continue;
            };
            if &d[..sp] != cookie.as_bytes() {
                continue;
            }
            return Ben::decode(&d[sp + 1..])
                .map(|(v, _)| v)
                .ok_or_else(|| "undecodable ng response".to_string());
        }
        Err("no ng response".into())
    }

    /// Allocates a relay from `a` (the sender's port) to `b` (the receiver's port): returns
    /// the rtpengine port `a` sends to so that packets reach `b`.
    pub fn relay(&mut self, call_id: &str, a: u16, b: u16, pt: u8) -> Result<u16, String> {
        let offer = self.command(&dict(&[
            ("command", Ben::s("offer")),
            ("call-id", Ben::s(call_id)),
            ("from-tag", Ben::s("bench-a")),
            ("sdp", Ben::s(&plain_sdp(a, pt))),
            ("ICE", Ben::s("remove")),
            ("replace", Ben::List(vec![Ben::s("origin")])),
        ]))?;
        if offer.text("result").as_deref() != Some("ok") {
            return Err(format!("offer: {offer:?}"));
        }
        let answer = self.command(&dict(&[
            ("command", Ben::s("answer")),
            ("call-id", Ben::s(call_id)),
            ("from-tag", Ben::s("bench-a")),
            ("to-tag", Ben::s("bench-b")),
            ("sdp", Ben::s(&plain_sdp(b, pt))),
            ("ICE", Ben::s("remove")),
        ]))?;
        if answer.text("result").as_deref() != Some("ok") {
            return Err(format!("answer: {answer:?}"));
        }
        answer
            .text("sdp")
            .as_deref()
            .and_then(audio_port)
            .ok_or_else(|| "no m=audio port in rtpengine's answer".to_string())
    }

    /// Deletes the call.
    pub fn delete(&mut self, call_id: &str) {
        let _ = self.command(&dict(&[
            ("command", Ben::s("delete")),
            ("call-id", Ben::s(call_id)),
            ("from-tag", Ben::s("bench-a")),
        ]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bencode_round_trip() {
        let v = dict(&[
            ("command", Ben::s("offer")),
            ("n", Ben::Int(-3)),
            ("l", Ben::List(vec![Ben::s("origin"), Ben::Int(7)])),
        ]);
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(out, b"d7:command5:offer1:ll6:origini7ee1:ni-3ee".to_vec());
        let (back, rest) = Ben::decode(&out).expect("decodes");
        assert!(rest.is_empty());
        assert_eq!(back, v);
        assert_eq!(back.text("command").as_deref(), Some("offer"));
    }

    #[test]
    fn finds_the_audio_port() {
        assert_eq!(audio_port(&plain_sdp(40002, 111)), Some(40002));
        assert_eq!(audio_port("v=0\r\n"), None);
    }
}

//! The clock every timestamp is read from, the stamped payload, what the receivers record,
//! and the CPU time of a process from `/proc`.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// The first bytes of every stamped payload.
pub const MAGIC: &[u8; 4] = b"MRB1";
/// The step id of the warm-up packets (not reported).
pub const WARMUP: u32 = u32::MAX;
/// The smallest payload that holds the stamp.
pub const STAMP_LEN: usize = 24;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds on the process's monotonic clock; sender and receivers share it, so a
/// difference is a one-way latency on the same machine clock.
pub fn now_ns() -> u64 {
    let epoch = EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Writes the stamp (magic, step, sequence, send time) at the start of `payload`.
pub fn stamp(payload: &mut [u8], step: u32, seq: u64, sent_ns: u64) {
    if let Some(p) = payload.get_mut(..STAMP_LEN) {
        p[..4].copy_from_slice(MAGIC);
        p[4..8].copy_from_slice(&step.to_be_bytes());
        p[8..16].copy_from_slice(&seq.to_be_bytes());
        p[16..24].copy_from_slice(&sent_ns.to_be_bytes());
    }
}

fn read_stamp(payload: &[u8]) -> Option<(u32, u64)> {
    let p = payload.get(..STAMP_LEN)?;
    if &p[..4] != MAGIC {
        return None;
    }
    let step = u32::from_be_bytes(p[4..8].try_into().ok()?);
    let sent = u64::from_be_bytes(p[16..24].try_into().ok()?);
    Some((step, sent))
}

/// The RTP payload of a datagram (RFC 3550 §5.1: CSRCs and a header extension skipped).
pub fn rtp_payload(datagram: &[u8]) -> Option<&[u8]> {
    let first = *datagram.first()?;
    if first >> 6 != 2 {
        return None;
    }
    let mut off = 12 + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        let ext = datagram.get(off + 2..off + 4)?;
        off += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    datagram.get(off..)
}

/// What arrived in one step.
#[derive(Debug, Default, Clone)]
pub struct Step {
    /// One-way latencies in nanoseconds.
    pub latencies: Vec<u64>,
}

/// Shared by a receiver (which records) and the controller (which takes the steps).
#[derive(Debug, Default)]
pub struct Recorder {
    steps: Mutex<Vec<Step>>,
    warmup: Mutex<u64>,
}

impl Recorder {
    /// Records one received payload at `now`.
    pub fn record(&self, payload: &[u8], now: u64) {
        let Some((step, sent)) = read_stamp(payload) else {
            return;
        };
        if step == WARMUP {
            *self.warmup.lock().expect("recorder lock") += 1;
            return;
        }
        let Ok(i) = usize::try_from(step) else { return };
        let mut steps = self.steps.lock().expect("recorder lock");
        if steps.len() <= i {
            steps.resize_with(i + 1, Step::default);
        }
        steps[i].latencies.push(now.saturating_sub(sent));
    }

    /// How many warm-up packets arrived.
    pub fn warmup_seen(&self) -> u64 {
        *self.warmup.lock().expect("recorder lock")
    }

    /// Takes what step `i` recorded so far.
    pub fn take(&self, i: usize) -> Step {
        let mut steps = self.steps.lock().expect("recorder lock");
        steps.get_mut(i).map(std::mem::take).unwrap_or_default()
    }
}

/// The `q`-quantile (0..=1) of sorted values, nearest rank.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`, 100 on Linux).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process (all its threads), in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `rest` starts at field 3.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU ticks of the processes in `pids`, summed.
pub fn cpu_ticks_all(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|p| cpu_ticks(*p)).sum()
}

/// The kernel's count of UDP datagrams dropped for a full receive buffer (all sockets,
/// `RcvbufErrors` of `/proc/net/snmp`).
pub fn udp_rcvbuf_errors() -> u64 {
    let Ok(snmp) = std::fs::read_to_string("/proc/net/snmp") else {
        return 0;
    };
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

//! `media-relay-bench`: relayed RTP packets per second, loss and added one-way latency
//! through the gateway's media anchor (plain RTP in on the SIP leg, SRTP out to a webrtc-rs
//! "browser" over DTLS-SRTP) beside rtpengine's userspace relay (plain RTP in, plain RTP
//! out) and a direct loopback baseline, with the same sender, in one run.
//!
//! Everything stays on 127.0.0.1; every loop is bounded in count and time. See
//! `docs/benchmarks.md` ("Media relay") for the results and how to read them.
//!
//! ```text
//! media-relay-bench [--gateway PATH] [--rtpengine BIN] [--rtpengine-threads N]
//!                   [--rates 10000,20000,40000,80000] [--secs 3] [--payload 160]
//!                   [--targets direct,rtpengine,gateway]
//! ```

mod blast;
mod browser;
mod gateway;
mod rtpengine;
mod sip;
mod stats;

use blast::Stream;
use stats::{
    clock_ticks, cpu_ticks_all, now_ns, quantile, rtp_payload, udp_rcvbuf_errors, Recorder, WARMUP,
};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long after a step's last packet its stragglers are still counted.
const GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
struct Args {
    gateway: PathBuf,
    rtpengine: String,
    rtpengine_threads: u32,
    rates: Vec<u32>,
    secs: f64,
    payload: usize,
    targets: Vec<String>,
}

const USAGE: &str = "usage: media-relay-bench [--gateway PATH] [--rtpengine BIN] \
[--rtpengine-threads N] [--rates R1,R2,..] [--secs S] [--payload BYTES] \
[--targets direct,rtpengine,gateway]";

fn parse_args() -> Result<Args, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut a = Args {
        gateway: root.join("target/release/sipsimple-gateway"),
        rtpengine: "rtpengine".into(),
        rtpengine_threads: 2,
        rates: vec![10_000, 20_000, 40_000, 80_000],
        secs: 3.0,
        payload: 160,
        targets: vec!["direct".into(), "rtpengine".into(), "gateway".into()],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--gateway" => a.gateway = PathBuf::from(value()?),
            "--rtpengine" => a.rtpengine = value()?,
            "--rtpengine-threads" => {
                a.rtpengine_threads = value()?.parse().map_err(|_| "bad --rtpengine-threads")?
            }
            "--rates" => {
                a.rates = value()?
                    .split(',')
                    .map(|r| r.trim().parse::<u32>().map_err(|_| format!("bad rate {r}")))
                    .collect::<Result<_, _>>()?
            }
            "--secs" => a.secs = value()?.parse().map_err(|_| "bad --secs")?,
            "--payload" => a.payload = value()?.parse().map_err(|_| "bad --payload")?,
            "--targets" => a.targets = value()?.split(',').map(str::to_string).collect(),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if !(0.5..=30.0).contains(&a.secs) || a.rates.iter().any(|r| *r == 0 || *r > 1_000_000) {
        return Err("--secs must be 0.5..30 and rates 1..1000000".into());
    }
    Ok(a)
}

/// One measured step.
#[derive(Debug, Clone)]
struct Row {
    target: String,
    rate: u32,
    sent: u64,
    errors: u64,
    received: u64,
    send_secs: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    relay_cpu: Option<f64>,
    bench_cpu: f64,
    rcvbuf_drops: u64,
}

impl Row {
    fn loss_pct(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        100.0 * (self.sent.saturating_sub(self.received)) as f64 / self.sent as f64
    }

    fn received_rate(&self) -> f64 {
        self.received as f64 / self.send_secs.max(1e-9)
    }

    fn per_core(&self) -> Option<f64> {
        self.relay_cpu
            .filter(|c| *c > 0.5)
            .map(|c| self.received_rate() / (c / 100.0))
    }

    fn line(&self) -> String {
        let cpu = self
            .relay_cpu
            .map_or_else(|| "–".to_string(), |c| format!("{c:.0} %"));
        let per_core = self
            .per_core()
            .map_or_else(|| "–".to_string(), |p| format!("{:.0}", p));
        format!(
            "| {} | {} | {} | {:.0} | {:.2} % | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {:.0} % | {} |",
            self.target,
            self.rate,
            self.sent,
            self.received_rate(),
            self.loss_pct(),
            self.p50_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
            cpu,
            per_core,
            self.bench_cpu,
            self.rcvbuf_drops,
        )
    }
}

const HEADER: &str = "| target | offered pps | sent | received pps | loss | p50 µs | p99 µs | p99.9 µs | max µs | relay CPU | pps per relay core | bench CPU | UDP rcvbuf drops |\n\
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

/// Sends until a warm-up packet comes through (at most 10 s).
fn warm_up(
    sock: &UdpSocket,
    dest: SocketAddr,
    stream: &mut Stream,
    rec: &Recorder,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        stream.blast(sock, dest, 500, 0.2, WARMUP);
        if rec.warmup_seen() > 0 {
            std::thread::sleep(Duration::from_millis(300));
            return Ok(());
        }
    }
    Err("no warm-up packet came through in 10 s".into())
}

/// Runs every rate against `dest`, measuring what `rec` saw and the CPU of `pids`.
fn run_steps(
    name: &str,
    sock: &UdpSocket,
    dest: SocketAddr,
    stream: &mut Stream,
    rec: &Recorder,
    pids: &[u32],
    args: &Args,
) -> Result<Vec<Row>, String> {
    warm_up(sock, dest, stream, rec)?;
    let tck = clock_ticks();
    let me = [std::process::id()];
    let mut rows = Vec::new();
    for (i, &rate) in args.rates.iter().enumerate() {
        let step = u32::try_from(i).map_err(|e| e.to_string())?;
        let relay0 = cpu_ticks_all(pids);
        let me0 = cpu_ticks_all(&me);
        let drops0 = udp_rcvbuf_errors();
        let sent = stream.blast(sock, dest, rate, args.secs, step);
        std::thread::sleep(GRACE);
        let relay1 = cpu_ticks_all(pids);
        let me1 = cpu_ticks_all(&me);
        let drops1 = udp_rcvbuf_errors();
        let secs = sent.elapsed.as_secs_f64();
        let mut lat = rec.take(i).latencies;
        lat.sort_unstable();
        let us = |q: f64| quantile(&lat, q).map_or(f64::NAN, |v| v as f64 / 1000.0);
        let row = Row {
            target: name.to_string(),
            rate,
            sent: sent.packets,
            errors: sent.errors,
            received: lat.len() as u64,
            send_secs: secs,
            p50_us: us(0.50),
            p99_us: us(0.99),
            p999_us: us(0.999),
            max_us: lat.last().map_or(f64::NAN, |v| *v as f64 / 1000.0),
            relay_cpu: (!pids.is_empty())
                .then(|| 100.0 * (relay1.saturating_sub(relay0)) as f64 / tck / secs),
            bench_cpu: 100.0 * (me1.saturating_sub(me0)) as f64 / tck / secs,
            rcvbuf_drops: drops1.saturating_sub(drops0),
        };
        println!("{}", row.line());
        if row.errors > 0 {
            println!("  ({} send errors)", row.errors);
        }
        rows.push(row);
        std::thread::sleep(Duration::from_millis(300));
    }
    Ok(rows)
}

/// A plain UDP receiver recording stamped RTP until `stop` (or 10 minutes).
fn plain_receiver(sock: UdpSocket, rec: Arc<Recorder>, stop: Arc<AtomicBool>) {
    let _ = sock.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = vec![0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(600);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let now = now_ns();
            if let Some(p) = buf.get(..n).and_then(rtp_payload) {
                rec.record(p, now);
            }
        }
    }
}

fn bind() -> Result<UdpSocket, String> {
    UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())
}

fn port(s: &UdpSocket) -> Result<u16, String> {
    Ok(s.local_addr().map_err(|e| e.to_string())?.port())
}

/// Sender straight to a plain receiver: the floor of the loopback path.
fn run_direct(args: &Args) -> Result<Vec<Row>, String> {
    let (tx, rx) = (bind()?, bind()?);
    let dest = rx.local_addr().map_err(|e| e.to_string())?;
    let rec = Arc::new(Recorder::default());
    let stop = Arc::new(AtomicBool::new(false));
    let t = {
        let (rec, stop) = (Arc::clone(&rec), Arc::clone(&stop));
        std::thread::spawn(move || plain_receiver(rx, rec, stop))
    };
    let mut stream = Stream::new(111, 0x1111, args.payload);
    let rows = run_steps("direct", &tx, dest, &mut stream, &rec, &[], args);
    stop.store(true, Ordering::Relaxed);
    let _ = t.join();
    rows
}

/// Sender → rtpengine (userspace) → plain receiver.
fn run_rtpengine(args: &Args) -> Result<Vec<Row>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut engine =
        rtpengine::Rtpengine::start(&args.rtpengine, dir.path(), args.rtpengine_threads)?;
    let (tx, rx) = (bind()?, bind()?);
    let call_id = format!("media-bench-{}", std::process::id());
    let relay_port = engine.relay(&call_id, port(&tx)?, port(&rx)?, 111)?;
    let dest = SocketAddr::from(([127, 0, 0, 1], relay_port));
    let rec = Arc::new(Recorder::default());
    let stop = Arc::new(AtomicBool::new(false));
    let t = {
        let (rec, stop) = (Arc::clone(&rec), Arc::clone(&stop));
        std::thread::spawn(move || plain_receiver(rx, rec, stop))
    };
    let mut stream = Stream::new(111, 0x2222, args.payload);
    let name = format!("rtpengine ({} threads)", args.rtpengine_threads);
    println!("(rtpengine pid {}; relay port {relay_port})", engine.pid());
    let rows = run_steps(&name, &tx, dest, &mut stream, &rec, &[engine.pid()], args);
    stop.store(true, Ordering::Relaxed);
    let _ = t.join();
    engine.delete(&call_id);
    rows
}

/// `GET /metrics` of the gateway (plain HTTP/1.0 on loopback); empty on failure.
fn fetch_metrics(http: SocketAddr) -> String {
    use std::io::{Read, Write};
    let Ok(mut c) = std::net::TcpStream::connect_timeout(&http, Duration::from_secs(2)) else {
        return String::new();
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /metrics HTTP/1.0\r\nHost: {http}\r\n\r\n");
    if c.write_all(req.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out
}

/// Sender (the plain "SIP phone") → gateway SIP leg → DTLS-SRTP → webrtc-rs "browser".
async fn run_gateway(args: &Args) -> Result<Vec<Row>, String> {
    let gw = gateway::Gateway::start(&args.gateway)?;
    let rec = Arc::new(Recorder::default());
    let browser = browser::Browser::new(Arc::clone(&rec)).await?;
    let offer = browser.offer().await?;
    let tx = bind()?;
    let uas_sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let uas_addr = uas_sock.local_addr().map_err(|e| e.to_string())?;
    let (offer_tx, offer_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let uas = tokio::spawn(sip::uas(
        uas_sock,
        port(&tx)?,
        offer_tx,
        stop_rx,
        Duration::from_secs(900),
    ));
    let mut client = sip::Client::connect(gw.http, "alice", "secret").await?;
    client.register().await?;
    let (id, answer) = client
        .call(&format!("sip:phone@{uas_addr}"), &offer)
        .await?;
    let sip_offer = offer_rx
        .await
        .map_err(|_| "the phone saw no INVITE".to_string())?;
    if std::env::var_os("MEDIA_BENCH_DEBUG").is_some() {
        eprintln!(
            "browser offer:\n{offer}\ngateway answer:\n{answer}\nSIP-leg offer: {sip_offer:?}"
        );
    }
    browser.answer(&answer).await?;
    let pid = gw.pid();
    println!("(gateway pid {pid}; SIP leg RTP at {})", sip_offer.rtp);
    let owned = args.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let mut stream = Stream::new(sip_offer.opus_pt, 0x3333, owned.payload);
        run_steps(
            "gateway",
            &tx,
            sip_offer.rtp,
            &mut stream,
            &rec,
            &[pid],
            &owned,
        )
    })
    .await
    .map_err(|e| e.to_string())?;
    let metrics = fetch_metrics(gw.http);
    for l in metrics
        .lines()
        .filter(|l| l.starts_with("sipsimple_media_packets"))
    {
        println!("  {l}");
    }
    if !browser.has_track() {
        eprintln!("note: the browser never saw the gateway's track");
    }
    client.hang_up(id).await;
    let _ = stop_tx.send(());
    let _ = uas.await;
    browser.close().await;
    drop(gw);
    rows
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    now_ns(); // the shared clock starts here
    println!(
        "media-relay-bench: rates {:?} pps, {} s each, {}-byte payloads, targets {:?}",
        args.rates, args.secs, args.payload, args.targets
    );
    let mut all = Vec::new();
    let mut failed = false;
    for t in args.targets.clone() {
        println!("\n## {t}\n{HEADER}");
        let r = match t.as_str() {
            "direct" => {
                let a = args.clone();
                tokio::task::spawn_blocking(move || run_direct(&a))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r)
            }
            "rtpengine" => {
                let a = args.clone();
                tokio::task::spawn_blocking(move || run_rtpengine(&a))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r)
            }
            "gateway" => run_gateway(&args).await,
            other => Err(format!("unknown target {other}")),
        };
        match r {
            Ok(rows) => all.extend(rows),
            Err(e) => {
                eprintln!("{t}: {e}");
                failed = true;
            }
        }
    }
    println!("\n## all\n{HEADER}");
    for r in &all {
        println!("{}", r.line());
    }
    if failed {
        std::process::exit(1);
    }
}

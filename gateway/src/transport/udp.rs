//! The SIP UDP transport (RFC 3261 §18.1.1, §18.2.1): one socket, one datagram per message.
//! Datagrams are handled in arrival order so that a request and its CANCEL or ACK keep theirs.
//! A datagram over `security.max_message_size` is dropped unread: UDP cannot be answered
//! with 413 reliably, and the sender learns nothing it could abuse.
//!
//! The socket is read by one dedicated thread in blocking `recvfrom` (docs/decisions.md,
//! "UDP receive thread"): a datagram costs one system call and one wake-up of that thread,
//! where a tokio task costs a `recvfrom`, a second one that says `EAGAIN`, an `epoll_wait`
//! and the runtime waking a worker, often the other one. Sends stay on the tokio socket
//! (`Transports::send`), from whichever thread the core's outputs are carried out on. When
//! the thread cannot be set up, the socket is read by a tokio task as before.

use crate::gateway::Gateway;
use crate::metrics::Drop;
use sipsimple::transaction::{Dest, TransportKind};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tracing::{debug, info, warn};

/// The largest datagram UDP carries.
const MAX_DATAGRAM: usize = 65_535;
/// How often the receive thread looks at the shutdown flag while no datagram comes.
const POLL_SHUTDOWN: Duration = Duration::from_millis(200);
/// The receive buffer asked for (the kernel caps it at `net.core.rmem_max`): at thousands of
/// calls per second the default (~200 KB, a couple of hundred datagrams) overflows whenever
/// the receive thread is off the CPU for a few milliseconds, and every datagram lost there
/// costs a retransmission or a failed call.
const RECV_BUFFER: usize = 4 << 20;

/// Receives until shutdown.
pub async fn run(gw: Arc<Gateway>, udp: Arc<UdpSocket>) {
    let sock = socket2::SockRef::from(&*udp);
    match sock
        .set_recv_buffer_size(RECV_BUFFER)
        .and_then(|()| sock.recv_buffer_size())
    {
        Ok(size) => debug!(size, "UDP receive buffer"),
        Err(e) => warn!(error = %e, "could not size the UDP receive buffer"),
    }
    match blocking_socket(&udp) {
        Ok(sock) => run_thread(gw, sock).await,
        Err(e) => {
            warn!(error = %e, "no UDP receive thread; receiving on the runtime");
            run_task(gw, udp).await
        }
    }
    info!("UDP transport stopped");
}

/// A second handle on the socket for blocking reads with a timeout. The handles share the
/// open file, so the tokio socket becomes blocking too: its sends then wait for room in the
/// send buffer instead of failing with `EAGAIN`, and it is never read.
fn blocking_socket(udp: &UdpSocket) -> std::io::Result<std::net::UdpSocket> {
    let sock = std::net::UdpSocket::from(udp.as_fd().try_clone_to_owned()?);
    sock.set_nonblocking(false)?;
    sock.set_read_timeout(Some(POLL_SHUTDOWN))?;
    Ok(sock)
}

/// The receive thread's loop, with the runtime entered so that the core's outputs can spawn
/// tasks (user look-ups, name resolution); returns when the thread has stopped.
async fn run_thread(gw: Arc<Gateway>, sock: std::net::UdpSocket) {
    let runtime = tokio::runtime::Handle::current();
    let thread_gw = gw.clone();
    let spawned = std::thread::Builder::new()
        .name("sip-udp-recv".into())
        .spawn(move || {
            let _entered = runtime.enter();
            let gw = thread_gw;
            let mut buf = buffer(&gw);
            while !*gw.shutdown.borrow() {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => datagram(&gw, &buf, n, from),
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock
                                | std::io::ErrorKind::TimedOut
                                | std::io::ErrorKind::Interrupted
                        ) => {}
                    // ICMP errors from earlier sends surface here on some systems; keep going.
                    Err(e) => debug!(error = %e, "UDP receive error"),
                }
            }
        });
    let thread = match spawned {
        Ok(t) => t,
        Err(e) => {
            warn!(error = %e, "could not start the UDP receive thread");
            return;
        }
    };
    let mut shutdown = gw.shutdown.clone();
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
}

/// The runtime-task loop, used when the thread cannot be set up.
async fn run_task(gw: Arc<Gateway>, udp: Arc<UdpSocket>) {
    let mut buf = buffer(&gw);
    let mut shutdown = gw.shutdown.clone();
    loop {
        tokio::select! {
            r = udp.recv_from(&mut buf) => match r {
                Ok((n, from)) => datagram(&gw, &buf, n, from),
                // ICMP errors from earlier sends surface here on some systems; keep going.
                Err(e) => debug!(error = %e, "UDP receive error"),
            },
            _ = shutdown.changed() => break,
        }
    }
}

/// The receive buffer: one byte more than the limit tells a datagram at the limit from a
/// longer one, which the kernel would truncate silently.
fn buffer(gw: &Gateway) -> Vec<u8> {
    let max = gw.cfg.security.max_message_size;
    vec![0u8; max.saturating_add(1).min(MAX_DATAGRAM)]
}

/// Handles the `n` bytes of one datagram from `from` at the start of `buf`.
fn datagram(gw: &Arc<Gateway>, buf: &[u8], n: usize, from: SocketAddr) {
    if n > gw.cfg.security.max_message_size {
        gw.metrics.dropped(Drop::TooLarge);
        debug!(%from, "datagram over the size limit; dropped");
        return;
    }
    let Some(bytes) = buf.get(..n) else { return };
    // Keep-alive CRLFs (RFC 5626 §4.4.1) are not messages.
    if bytes.iter().all(|b| matches!(b, b'\r' | b'\n')) {
        return;
    }
    let source = Dest::new(TransportKind::Udp, from.ip().to_string(), from.port());
    gw.on_bytes(source, bytes);
}

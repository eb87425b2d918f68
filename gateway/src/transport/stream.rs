//! SIP over TCP and TLS (RFC 3261 §18.3, §26.2.1): the accept loops, outbound connections,
//! and one task per connection that frames what it reads (Content-Length, a size cap answered
//! with 413 where a response is possible), answers CRLF keep-alive pings (RFC 5626 §4.4.1)
//! and writes what the gateway queues for it.

use super::framing::{Frame, FrameError, Framer};
use super::{flow_dest, CONNECT_TIMEOUT};
use crate::gateway::Gateway;
use crate::metrics::Drop;
use rustls::pki_types::ServerName;
use sipsimple::transaction::{Dest, TransportKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tracing::{debug, info, warn};

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections idle (nothing read, no keep-alive) this long are closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Accepts TCP (with `tls: None`) or TLS connections until shutdown.
pub async fn accept(gw: Arc<Gateway>, listener: TcpListener, tls: Option<TlsAcceptor>) {
    let kind = if tls.is_some() {
        TransportKind::Tls
    } else {
        TransportKind::Tcp
    };
    let mut shutdown = gw.shutdown.clone();
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let gw = gw.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => run(gw, tcp, kind, peer, None).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => run(gw, stream, kind, peer, None).await,
                        Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    info!(transport = kind.via_name(), "SIP listener stopped");
}

/// Opens a connection to `addr` for `dest` and sends what waits for it; on failure the core
/// hears that sending to `dest` failed.
pub async fn connect(gw: Arc<Gateway>, kind: TransportKind, addr: SocketAddr, dest: Dest) {
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return fail(&gw, kind, addr, dest, &e.to_string()),
        Err(_) => return fail(&gw, kind, addr, dest, "timed out"),
    };
    let _ = tcp.set_nodelay(true);
    match kind {
        TransportKind::Tls => {
            let Ok(name) = ServerName::try_from(dest.host.clone()) else {
                return fail(&gw, kind, addr, dest, "not a TLS server name");
            };
            let connector = TlsConnector::from(gw.tls_client.clone());
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, tcp)).await {
                Ok(Ok(stream)) => run(gw, stream, kind, addr, Some(addr)).await,
                Ok(Err(e)) => fail(&gw, kind, addr, dest, &e.to_string()),
                Err(_) => fail(&gw, kind, addr, dest, "TLS handshake timed out"),
            }
        }
        _ => run(gw, tcp, kind, addr, Some(addr)).await,
    }
}

fn fail(gw: &Arc<Gateway>, kind: TransportKind, addr: SocketAddr, dest: Dest, why: &str) {
    gw.metrics.transport_error();
    debug!(%addr, transport = kind.via_name(), why, "could not connect");
    gw.transports.take_waiting(kind, addr);
    gw.input(crate::proxy::Input::SendFailed { dest });
}

/// Serves one connection until either side closes it, it idles out or the process stops.
/// `outbound` is the address we connected to (messages waiting for it are sent first).
async fn run<S>(
    gw: Arc<Gateway>,
    stream: S,
    kind: TransportKind,
    peer: SocketAddr,
    outbound: Option<SocketAddr>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (id, mut outbox) = gw.transports.open(kind, Some(outbound.unwrap_or(peer)));
    let source = flow_dest(kind, Some(peer), id);
    debug!(flow = id, %peer, transport = kind.via_name(), "connection open");
    if let Some(addr) = outbound {
        for bytes in gw.transports.take_waiting(kind, addr) {
            gw.transports.queue_on(id, bytes);
        }
    }
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut framer = Framer::new(gw.cfg.security.max_message_size);
    let mut buf = vec![0u8; 16 * 1024];
    let mut shutdown = gw.shutdown.clone();
    loop {
        tokio::select! {
            r = tokio::time::timeout(IDLE_TIMEOUT, reader.read(&mut buf)) => {
                let n = match r {
                    Ok(Ok(0)) | Err(_) => break,
                    Ok(Ok(n)) => n,
                    Ok(Err(e)) => {
                        gw.metrics.transport_error();
                        debug!(flow = id, error = %e, "read failed");
                        break;
                    }
                };
                framer.push(buf.get(..n).unwrap_or_default());
                if !drain(&gw, &mut framer, &mut writer, &source).await {
                    break;
                }
            }
            out = outbox.recv() => {
                let Some(bytes) = out else { break };
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    let _ = writer.shutdown().await;
    gw.transports.close(id);
    gw.input(crate::proxy::Input::FlowClosed { dest: source });
    debug!(flow = id, %peer, "connection closed");
}

/// Handles every whole frame in the buffer; `false` when the connection must close.
async fn drain<W: AsyncWrite + Unpin>(
    gw: &Arc<Gateway>,
    framer: &mut Framer,
    writer: &mut W,
    source: &Dest,
) -> bool {
    loop {
        match framer.next_frame() {
            Ok(None) => return true,
            Ok(Some(Frame::Ping)) => {
                if writer.write_all(b"\r\n").await.is_err() {
                    return false;
                }
            }
            Ok(Some(Frame::Message(bytes))) => gw.on_bytes(source.clone(), &bytes),
            Err(FrameError::TooLarge { request }) => {
                gw.metrics.dropped(Drop::TooLarge);
                warn!(peer = %source, "message over the size limit; closing the connection");
                if let Some(req) = request {
                    let r = crate::sipmsg::reply(&req, 413, "Request Entity Too Large");
                    let _ = writer.write_all(&r.to_bytes()).await;
                }
                return false;
            }
            Err(FrameError::Garbage(e)) => {
                gw.metrics.dropped(Drop::Malformed);
                warn!(peer = %source, error = %e, "unparseable bytes on a stream; closing");
                return false;
            }
        }
    }
}

//! The one flow to the outbound proxy: a connected UDP socket (RFC 3261 §18, one datagram
//! per message) or a TCP connection (§18.3, messages framed by Content-Length with
//! [`MessageRef::frame`], RFC 5626 §3.5.1 CRLF keep-alives answered); or, for the Bonjour
//! account, a direct UDP socket with no proxy, each message sent where it says
//! (`bonjour::destination`).

use crate::sip::raw::{MessageRef, Status, MAX_BODY_LEN, MAX_HEAD_LEN};
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// The largest datagram we accept; SIP over UDP stays well below it (RFC 3261 §18.1.1).
const MAX_DATAGRAM: usize = 65_535;
/// The most a TCP peer may make us buffer for one message.
const MAX_STREAM_BUFFER: usize = MAX_HEAD_LEN + MAX_BODY_LEN;

/// A socket connected to the proxy.
#[derive(Debug)]
pub(crate) enum Flow {
    Udp {
        socket: UdpSocket,
        buf: Vec<u8>,
    },
    Tcp {
        stream: TcpStream,
        /// Bytes received and not yet framed into a message.
        pending: Vec<u8>,
    },
    /// An unconnected socket: datagrams from anyone, each message sent to the address it
    /// names (a neighbour's contact, a Via).
    Direct {
        socket: UdpSocket,
        buf: Vec<u8>,
    },
}

/// What one read brought.
#[derive(Debug)]
pub(crate) enum Received {
    /// Whole messages, in order (none when a read held only part of one).
    Messages(Vec<Vec<u8>>),
    /// The flow is gone: the peer closed the connection, or its framing broke.
    Closed(io::Error),
}

impl Flow {
    /// A UDP socket bound to `bind` (or an ephemeral port on the proxy's loopback or
    /// unspecified address) and connected to `proxy`, so that only the proxy's datagrams
    /// come in.
    pub(crate) async fn udp(proxy: SocketAddr, bind: Option<SocketAddr>) -> io::Result<Flow> {
        let socket = UdpSocket::bind(bind.unwrap_or_else(|| any_for(proxy))).await?;
        socket.connect(proxy).await?;
        Ok(Flow::Udp {
            socket,
            buf: vec![0; MAX_DATAGRAM],
        })
    }

    /// An unconnected UDP socket bound to `bind`.
    pub(crate) async fn direct(bind: SocketAddr) -> io::Result<Flow> {
        Ok(Flow::Direct {
            socket: UdpSocket::bind(bind).await?,
            buf: vec![0; MAX_DATAGRAM],
        })
    }

    /// A TCP connection to `proxy`, from `bind` when given.
    pub(crate) async fn tcp(proxy: SocketAddr, bind: Option<SocketAddr>) -> io::Result<Flow> {
        let stream = match bind {
            Some(local) => {
                let socket = if local.is_ipv4() {
                    tokio::net::TcpSocket::new_v4()?
                } else {
                    tokio::net::TcpSocket::new_v6()?
                };
                socket.bind(local)?;
                socket.connect(proxy).await?
            }
            None => TcpStream::connect(proxy).await?,
        };
        stream.set_nodelay(true)?;
        Ok(Flow::Tcp {
            stream,
            pending: Vec::new(),
        })
    }

    /// The local address: what goes in Via and Contact.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Flow::Udp { socket, .. } | Flow::Direct { socket, .. } => socket.local_addr(),
            Flow::Tcp { stream, .. } => stream.local_addr(),
        }
    }

    /// Sends one message.
    pub(crate) async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Flow::Udp { socket, .. } => socket.send(bytes).await.map(|_| ()),
            Flow::Tcp { stream, .. } => stream.write_all(bytes).await,
            // A message without a reachable destination is lost, as a datagram may be:
            // its transaction times out.
            Flow::Direct { socket, .. } => match super::bonjour::destination(bytes) {
                Some(to) => socket.send_to(bytes, to).await.map(|_| ()),
                None => Ok(()),
            },
        }
    }

    /// Waits for the next read. Cancel-safe: nothing is lost when another branch of a
    /// `select!` wins.
    pub(crate) async fn recv(&mut self) -> Received {
        match self {
            Flow::Udp { socket, buf } | Flow::Direct { socket, buf } => {
                match socket.recv(buf).await {
                    Ok(n) => {
                        Received::Messages(buf.get(..n).map(<[u8]>::to_vec).into_iter().collect())
                    }
                    // An ICMP error for an earlier datagram (the proxy is not there yet):
                    // UDP has no connection to lose; the transactions time out on their own.
                    Err(e) if is_transient(&e) => Received::Messages(Vec::new()),
                    // Anything else would fail again at once: give the flow up.
                    Err(e) => Received::Closed(e),
                }
            }
            Flow::Tcp { stream, pending } => {
                let mut chunk = [0u8; 8192];
                match stream.read(&mut chunk).await {
                    Ok(0) => Received::Closed(io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => {
                        pending.extend_from_slice(chunk.get(..n).unwrap_or_default());
                        match frame(pending) {
                            Ok((messages, pong)) => {
                                if pong {
                                    // RFC 5626 §3.5.1: a CRLF answers a double-CRLF ping.
                                    if let Err(e) = stream.write_all(b"\r\n").await {
                                        return Received::Closed(e);
                                    }
                                }
                                Received::Messages(messages)
                            }
                            Err(e) => Received::Closed(e),
                        }
                    }
                    Err(e) => Received::Closed(e),
                }
            }
        }
    }
}

/// A receive error that says nothing about the socket's future (RFC 1122 §4.1.3.3: ICMP
/// errors on UDP are advisory).
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// The unspecified address of the proxy's family, or loopback for a loopback proxy (so a
/// test never binds beyond loopback).
fn any_for(proxy: SocketAddr) -> SocketAddr {
    use std::net::{Ipv4Addr, Ipv6Addr};
    match proxy {
        SocketAddr::V4(a) if a.ip().is_loopback() => (Ipv4Addr::LOCALHOST, 0).into(),
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(a) if a.ip().is_loopback() => (Ipv6Addr::LOCALHOST, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    }
}

/// Takes every whole message off the front of `pending`, and says whether a keep-alive
/// ping (a bare CRLFCRLF) came between them. Fails when the stream cannot be framed (no
/// Content-Length, a bad head) or a message grows past the limits.
fn frame(pending: &mut Vec<u8>) -> io::Result<(Vec<Vec<u8>>, bool)> {
    let mut messages = Vec::new();
    let mut pong = false;
    loop {
        let crlfs = pending
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .unwrap_or(pending.len());
        if crlfs >= 4 {
            pong = true;
        }
        pending.drain(..crlfs);
        if pending.is_empty() {
            return Ok((messages, pong));
        }
        match MessageRef::frame(pending) {
            Ok(Status::Complete(n)) if n <= pending.len() => {
                messages.push(pending.drain(..n).collect());
            }
            Ok(_) if pending.len() > MAX_STREAM_BUFFER => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a message larger than the stream limit",
                ));
            }
            Ok(_) => return Ok((messages, pong)),
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unframeable stream: {e:?}"),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"SIP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nhi";

    #[test]
    fn frames_messages_split_and_joined_with_keepalives() {
        let mut pending = b"\r\n\r\n".to_vec();
        pending.extend_from_slice(MSG);
        pending.extend_from_slice(&MSG[..10]);
        let (messages, pong) = frame(&mut pending).expect("framed");
        assert_eq!(messages, vec![MSG.to_vec()]);
        assert!(pong);
        assert_eq!(pending, &MSG[..10]);
        pending.extend_from_slice(&MSG[10..]);
        let (messages, pong) = frame(&mut pending).expect("framed");
        assert_eq!((messages.len(), pong, pending.len()), (1, false, 0));
    }

    #[test]
    fn a_stream_without_content_length_is_refused() {
        let mut pending = b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n".to_vec();
        assert!(frame(&mut pending).is_err());
    }
}

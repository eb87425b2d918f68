//! The Bonjour account's network side (feature `native`): the mDNS socket that drives
//! [`crate::mdns::Discovery`] (RFC 6762 §3: the group 224.0.0.251, port 5353, on one
//! interface the application names), and the destination of each SIP message of a direct
//! flow, which has no proxy (RFC 3261 §18.1.1 for requests, §18.2.2 for responses).
//!
//! The interface is always explicit ([`BonjourConfig::interface`], an address of it): the
//! socket joins the group there and sends there only (`IP_MULTICAST_IF`), so that a test
//! on a loopback address of a network namespace sends nothing on the machine's real
//! interface.

use crate::account::BonjourEvent;
use crate::mdns::{Discovery, Output, Service, GROUP_V4, PORT};
use crate::sip::header::Via;
use crate::sip::{Message, Uri};
use crate::time::Time;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// What the Bonjour service announces, and where.
#[derive(Debug, Clone)]
pub struct BonjourConfig {
    /// Our contact URI (the driver's [`Driver::contact`](super::Driver::contact)).
    pub contact: String,
    /// The display name for the TXT record.
    pub display_name: Option<String>,
    /// The TXT `instance_id` (a UUID without `urn:uuid:`).
    pub instance_id: Option<String>,
    /// The address of the interface to announce and browse on; also our A record.
    pub interface: Ipv4Addr,
    /// The SRV port: the contact's.
    pub port: u16,
    /// The group and port; 224.0.0.251:5353 by default.
    pub group: SocketAddrV4,
    /// The service types: `_sipuri._udp` by default, `_sipuri._tcp` for a TCP contact.
    pub types: Vec<String>,
}

impl BonjourConfig {
    /// Announces `contact` (reachable at `interface:port`) on `interface`.
    pub fn new(contact: &str, interface: Ipv4Addr, port: u16) -> BonjourConfig {
        BonjourConfig {
            contact: contact.to_string(),
            display_name: None,
            instance_id: None,
            interface,
            port,
            group: SocketAddrV4::new(GROUP_V4, PORT),
            types: vec!["_sipuri._udp".to_string()],
        }
    }
}

/// A running Bonjour service: announcing, browsing, and reporting neighbours on
/// [`Bonjour::events`]. [`Bonjour::stop`] says goodbye and waits for the thread; dropping
/// it says goodbye too, without waiting.
#[derive(Debug)]
pub struct Bonjour {
    /// `BonjourAccountDidAddNeighbour`, `...DidUpdateNeighbour`, `...DidRemoveNeighbour`, and
    /// `BonjourAccountDiscoveryDidFail` (then the service has stopped).
    pub events: mpsc::UnboundedReceiver<BonjourEvent>,
    stop: Option<oneshot::Sender<()>>,
    done: oneshot::Receiver<io::Result<()>>,
}

impl Bonjour {
    /// Opens the mDNS socket on the configured interface and starts announcing and
    /// browsing on a thread of its own. Fails when the socket cannot be opened (no such
    /// interface address, no multicast on it).
    pub async fn start(config: BonjourConfig) -> io::Result<Bonjour> {
        let socket = open_socket(config.interface, config.group)?;
        let (events_tx, events) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("sipsimple-bonjour".into())
            .spawn(move || {
                let result = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|rt| rt.block_on(run(config, socket, events_tx, stop_rx)));
                let _ = done_tx.send(result);
            })?;
        Ok(Bonjour {
            events,
            stop: Some(stop_tx),
            done,
        })
    }

    /// Says goodbye (RFC 6762 §10.1) and waits for the service to end.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.done).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::other("the Bonjour thread panicked")),
        }
    }
}

/// A UDP socket bound to the group's port with address reuse (other responders on the
/// host share it), member of the group on `interface` only, sending there with TTL 255
/// (RFC 6762 §11) and looping back to the host's other members.
fn open_socket(interface: Ipv4Addr, group: SocketAddrV4) -> io::Result<std::net::UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    // Bound to the group address: only the group's datagrams come in.
    socket.bind(&SocketAddr::V4(group).into())?;
    socket.join_multicast_v4(group.ip(), &interface)?;
    socket.set_multicast_if_v4(&interface)?;
    socket.set_multicast_ttl_v4(255)?;
    socket.set_multicast_loop_v4(true)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

async fn run(
    config: BonjourConfig,
    socket: std::net::UdpSocket,
    events: mpsc::UnboundedSender<BonjourEvent>,
    mut stop: oneshot::Receiver<()>,
) -> io::Result<()> {
    let socket = UdpSocket::from_std(socket)?;
    let group = SocketAddr::V4(config.group);
    let mut service = Service::new(&config.contact, IpAddr::V4(config.interface), config.port);
    service.display_name = config.display_name;
    service.instance_id = config.instance_id;
    service.types = config.types;
    let origin = Instant::now();
    let now = || {
        let ms = Instant::now().saturating_duration_since(origin).as_millis();
        Time::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    };
    let mut discovery = Discovery::new(service, super::seed(origin));
    discovery.start(now());
    let mut buf = vec![0u8; 9000];
    loop {
        while let Some(output) = discovery.poll_output() {
            match output {
                Output::Transmit(bytes) => {
                    // A lost announcement is repeated by the next one or the next query.
                    let _ = socket.send_to(&bytes, group).await;
                }
                Output::Event(e) => {
                    let _ = events.send(e.into());
                }
            }
        }
        let deadline = discovery
            .poll_timeout()
            .map(|t| origin + Duration::from_millis(t.as_millis()));
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut stop => {
                discovery.stop(now());
                while let Some(output) = discovery.poll_output() {
                    if let Output::Transmit(bytes) = output {
                        socket.send_to(&bytes, group).await?;
                    }
                }
                return Ok(());
            }
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, _from)) => {
                    // A malformed datagram from the LAN is dropped.
                    let _ = discovery.handle_packet(now(), buf.get(..n).unwrap_or_default());
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) => {}
                Err(e) => {
                    let _ = events.send(BonjourEvent::BonjourAccountDiscoveryDidFail {
                        reason: e.to_string(),
                    });
                    return Err(e);
                }
            },
            () = timer => discovery.handle_timeout(now()),
        }
    }
}

/// Where a message of a direct flow goes: a request to its top Route or else its
/// Request-URI (RFC 3261 §8.1.2), a response to its top Via's `received`/`rport` or else
/// its sent-by (§18.2.2, RFC 3581). Bonjour contacts carry IP addresses: a host name
/// (which would need DNS) gives `None`.
pub(crate) fn destination(bytes: &[u8]) -> Option<SocketAddr> {
    let msg = Message::parse(bytes).ok()?;
    if msg.is_request() {
        let route = msg
            .header_values("Route")
            .first()
            .and_then(|r| crate::sip::NameAddr::parse(r).ok())
            .map(|n| n.uri);
        let uri: Uri = match route {
            Some(u) => u,
            None => msg.request_uri()?.clone(),
        };
        let ip = host_ip(&uri.host)?;
        Some(SocketAddr::new(ip, uri.port.unwrap_or(5060)))
    } else {
        let via = Via::parse(msg.header("Via")?).ok()?;
        let ip = via.received().or_else(|| host_ip(&via.host))?;
        let port = via.rport().flatten().or(via.port).unwrap_or(5060);
        Some(SocketAddr::new(ip, port))
    }
}

fn host_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_to_the_request_uri_and_responses_to_via() {
        let invite = b"INVITE sip:bob@127.0.0.3:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK1;rport\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:bob@127.0.0.3>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(destination(invite), "127.0.0.3:5062".parse().ok());
        let ok = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK1;rport\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:bob@127.0.0.3>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(destination(ok), "127.0.0.2:5060".parse().ok());
        let routed = b"BYE sip:bob@127.0.0.3:5062 SIP/2.0\r\nRoute: <sip:[::1]:5070;lr>\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK2\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:bob@127.0.0.3>;tag=2\r\nCall-ID: x\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(destination(routed), "[::1]:5070".parse().ok());
        assert_eq!(
            destination(b"INVITE sip:bob@example.com SIP/2.0\r\n\r\n"),
            None
        );
        assert_eq!(destination(b"garbage"), None);
    }
}

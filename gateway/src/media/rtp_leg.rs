//! The SIP leg's sockets: an RTP port and the RTCP port after it (RFC 3550 §11), bound on
//! the media address in the configured range.

use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::net::UdpSocket;

/// An RTP socket and its RTCP companion.
#[derive(Debug)]
pub struct RtpPorts {
    /// Even port: RTP.
    pub rtp: UdpSocket,
    /// The next port: RTCP.
    pub rtcp: UdpSocket,
}

/// Binds an even/odd port pair in `range`, starting at a random even port so that
/// concurrent gateways and calls rarely collide.
pub async fn bind_pair(ip: IpAddr, range: (u16, u16), start: u32) -> io::Result<RtpPorts> {
    let (lo, hi) = range;
    let lo_even = lo + lo % 2;
    if hi <= lo_even {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the RTP port range holds no even/odd pair",
        ));
    }
    let pairs = u32::from((hi - lo_even) / 2).max(1);
    let first = start % pairs;
    for i in 0..pairs.min(200) {
        let n = (first + i) % pairs;
        let Ok(port) = u16::try_from(u32::from(lo_even) + n * 2) else {
            continue;
        };
        let Some(next) = port.checked_add(1) else {
            continue;
        };
        let Ok(rtp) = UdpSocket::bind(SocketAddr::new(ip, port)).await else {
            continue;
        };
        if let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(ip, next)).await {
            return Ok(RtpPorts { rtp, rtcp });
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("no free RTP port pair in {lo}-{hi}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_an_even_port_and_the_next() {
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let a = bind_pair(ip, (40000, 40100), 7).await.expect("a pair");
        let b = bind_pair(ip, (40000, 40100), 7)
            .await
            .expect("another pair");
        let pa = a.rtp.local_addr().expect("addr").port();
        assert_eq!(pa % 2, 0);
        assert_eq!(a.rtcp.local_addr().expect("addr").port(), pa + 1);
        assert_ne!(b.rtp.local_addr().expect("addr").port(), pa);
        assert!(bind_pair(ip, (40001, 40001), 0).await.is_err());
    }
}

//! The browser leg of an anchored call: a webrtc-rs peer connection (ICE, DTLS-SRTP,
//! rtcp-mux; RFC 8829 JSEP through webrtc-rs) with one Opus track each way.
//!
//! Every peer connection shares one UDP socket (ICE demultiplexes by username fragment), so a
//! deployment opens one port for all browser media. In a loopback-only configuration (the
//! tests, the default `cargo xtask run`) the socket wrapper drops datagrams from, and refuses
//! datagrams to, anything but loopback: browsers also send connectivity checks from their
//! other interfaces, and webrtc-rs would otherwise answer them (`docs/decisions.md`).

use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use webrtc::api::interceptor_registry::configure_rtcp_reports;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_OPUS};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice::udp_mux::{UDPMuxDefault, UDPMuxParams};
use webrtc::ice::udp_network::UDPNetwork;
use webrtc::ice_transport::ice_candidate_type::RTCIceCandidateType;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType,
};
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::TrackLocal;
use webrtc::track::track_remote::TrackRemote;

/// How long an SDP waits for ICE gathering (host candidates only: milliseconds in practice).
const GATHER_TIMEOUT: Duration = Duration::from_secs(2);
/// The Opus payload type the gateway's browser leg registers (Chromium's).
const OPUS_PT: u8 = 111;

/// A failure of the browser leg, with webrtc-rs's message.
#[derive(Debug)]
pub struct WebRtcError(pub String);

impl std::fmt::Display for WebRtcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebRTC: {}", self.0)
    }
}

impl std::error::Error for WebRtcError {}

fn err(e: impl std::fmt::Display) -> WebRtcError {
    WebRtcError(e.to_string())
}

/// The UDP socket under the ICE mux, optionally restricted to loopback peers.
struct Filtered {
    inner: UdpSocket,
    loopback_only: bool,
}

impl Filtered {
    fn allowed(&self, peer: SocketAddr) -> bool {
        !self.loopback_only || peer.ip().is_loopback()
    }
}

#[async_trait::async_trait]
impl webrtc::util::Conn for Filtered {
    async fn connect(&self, _addr: SocketAddr) -> webrtc::util::Result<()> {
        Err(webrtc::util::Error::Other(
            "the ICE socket is not connected".into(),
        ))
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc::util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc::util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.inner.recv_from(buf).await?;
            if self.allowed(from) {
                return Ok((n, from));
            }
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc::util::Result<usize> {
        Err(webrtc::util::Error::Other(
            "the ICE socket is not connected".into(),
        ))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc::util::Result<usize> {
        if !self.allowed(target) {
            // Pretend it left: an error here would make ICE give up on good pairs too.
            return Ok(buf.len());
        }
        Ok(self.inner.send_to(buf, target).await?)
    }

    fn local_addr(&self) -> webrtc::util::Result<SocketAddr> {
        Ok(self.inner.local_addr()?)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc::util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        self
    }
}

/// What every browser leg shares: the API object with its codecs, ICE settings and the
/// one muxed UDP socket.
pub struct WebRtcEngine {
    api: API,
    addr: SocketAddr,
}

impl std::fmt::Debug for WebRtcEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcEngine")
            .field("addr", &self.addr)
            .finish()
    }
}

fn opus() -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

impl WebRtcEngine {
    /// Binds the ICE socket on `bind` and prepares the API. `advertise` replaces the bound
    /// address in host candidates (a gateway behind 1:1 NAT); `loopback_only` keeps every
    /// packet on loopback.
    pub async fn new(
        bind: SocketAddr,
        advertise: Option<IpAddr>,
        loopback_only: bool,
    ) -> Result<WebRtcEngine, WebRtcError> {
        let socket = UdpSocket::bind(bind).await.map_err(err)?;
        let addr = socket.local_addr().map_err(err)?;
        let mux = UDPMuxDefault::new(UDPMuxParams::new(Filtered {
            inner: socket,
            loopback_only,
        }));

        let mut media = MediaEngine::default();
        media
            .register_codec(
                RTCRtpCodecParameters {
                    capability: opus(),
                    payload_type: OPUS_PT,
                    ..Default::default()
                },
                RTPCodecType::Audio,
            )
            .map_err(err)?;
        let registry = configure_rtcp_reports(Registry::new());

        let mut s = SettingEngine::default();
        s.set_udp_network(UDPNetwork::Muxed(mux));
        s.set_network_types(vec![if addr.is_ipv4() {
            NetworkType::Udp4
        } else {
            NetworkType::Udp6
        }]);
        s.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
        let ip = addr.ip();
        if ip.is_loopback() {
            s.set_include_loopback_candidate(true);
        }
        if loopback_only {
            s.set_ip_filter(Box::new(|ip: IpAddr| ip.is_loopback()));
        } else if !ip.is_unspecified() {
            s.set_ip_filter(Box::new(move |i: IpAddr| i == ip));
        }
        if let Some(a) = advertise {
            s.set_nat_1to1_ips(vec![a.to_string()], RTCIceCandidateType::Host);
        }
        let api = APIBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(s)
            .build();
        Ok(WebRtcEngine { api, addr })
    }

    /// The bound ICE socket.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A new browser leg with its outgoing Opus track (added before any remote description,
    /// so that an answer attaches it to the offer's transceiver).
    pub async fn leg(&self) -> Result<WebRtcLeg, WebRtcError> {
        let pc = self
            .api
            .new_peer_connection(RTCConfiguration::default())
            .await
            .map_err(err)?;
        let track = Arc::new(TrackLocalStaticRTP::new(
            opus(),
            "audio".to_owned(),
            "sipsimple-gateway".to_owned(),
        ));
        let sender = pc
            .add_track(Arc::clone(&track) as Arc<dyn TrackLocal + Send + Sync>)
            .await
            .map_err(err)?;
        // RTCP from the browser must be read or the sender's interceptors back up.
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1500];
            while sender.read(&mut buf).await.is_ok() {}
        });
        Ok(WebRtcLeg {
            pc: Arc::new(pc),
            track,
        })
    }
}

/// One browser leg.
#[derive(Clone)]
pub struct WebRtcLeg {
    /// The peer connection.
    pub pc: Arc<RTCPeerConnection>,
    /// What the gateway sends to the browser.
    pub track: Arc<TrackLocalStaticRTP>,
}

impl std::fmt::Debug for WebRtcLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebRtcLeg")
    }
}

fn transceiver_direction(sends: bool, receives: bool) -> RTCRtpTransceiverDirection {
    match (sends, receives) {
        (true, true) => RTCRtpTransceiverDirection::Sendrecv,
        (true, false) => RTCRtpTransceiverDirection::Sendonly,
        (false, true) => RTCRtpTransceiverDirection::Recvonly,
        (false, false) => RTCRtpTransceiverDirection::Inactive,
    }
}

impl WebRtcLeg {
    async fn gathered_local(&self) -> Result<String, WebRtcError> {
        let local = self
            .pc
            .local_description()
            .await
            .ok_or_else(|| WebRtcError("no local description".into()))?;
        Ok(local.sdp)
    }

    /// Applies the browser's offer and returns the gateway's answer, with every candidate.
    pub async fn answer(&self, offer: &str) -> Result<String, WebRtcError> {
        let desc = RTCSessionDescription::offer(offer.to_owned()).map_err(err)?;
        self.pc.set_remote_description(desc).await.map_err(err)?;
        let answer = self.pc.create_answer(None).await.map_err(err)?;
        let mut gathered = self.pc.gathering_complete_promise().await;
        self.pc.set_local_description(answer).await.map_err(err)?;
        let _ = tokio::time::timeout(GATHER_TIMEOUT, gathered.recv()).await;
        self.gathered_local().await
    }

    /// The gateway's offer to the browser, with every candidate; `sends`/`receives` are the
    /// gateway's direction (they mirror the SIP side's offer, so a hold reaches the browser).
    pub async fn offer(&self, sends: bool, receives: bool) -> Result<String, WebRtcError> {
        for t in self.pc.get_transceivers().await {
            t.set_direction(transceiver_direction(sends, receives))
                .await;
        }
        let offer = self.pc.create_offer(None).await.map_err(err)?;
        let mut gathered = self.pc.gathering_complete_promise().await;
        self.pc.set_local_description(offer).await.map_err(err)?;
        let _ = tokio::time::timeout(GATHER_TIMEOUT, gathered.recv()).await;
        self.gathered_local().await
    }

    /// Applies the browser's answer to the gateway's offer.
    pub async fn accept_answer(&self, answer: &str) -> Result<(), WebRtcError> {
        let desc = RTCSessionDescription::answer(answer.to_owned()).map_err(err)?;
        self.pc.set_remote_description(desc).await.map_err(err)
    }

    /// Calls `f` with the browser's audio track when it arrives.
    pub fn on_track(&self, f: impl Fn(Arc<TrackRemote>) + Send + Sync + 'static) {
        let f = Arc::new(f);
        self.pc
            .on_track(Box::new(move |track, _receiver, _transceiver| {
                let f = Arc::clone(&f);
                Box::pin(async move {
                    if track.kind() == RTPCodecType::Audio {
                        f(track);
                    }
                })
            }));
    }

    /// Closes the peer connection.
    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

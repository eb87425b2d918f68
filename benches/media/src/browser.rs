//! The "browser" of the gateway run: a webrtc-rs 0.17.2 peer connection on loopback (the
//! settings of PEERS.md: loopback candidates, UDP4, no multicast DNS, a muxed socket that
//! only talks to loopback) offering Opus, with a reader on the track the gateway sends.

use crate::stats::{now_ns, Recorder};
use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use webrtc::api::interceptor_registry::configure_rtcp_reports;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_OPUS};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice::udp_mux::{UDPMuxDefault, UDPMuxParams};
use webrtc::ice::udp_network::UDPNetwork;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType,
};
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::TrackLocal;

/// The ICE socket, talking to loopback only.
struct Loopback(UdpSocket);

#[async_trait::async_trait]
impl webrtc::util::Conn for Loopback {
    async fn connect(&self, _addr: SocketAddr) -> webrtc::util::Result<()> {
        Err(webrtc::util::Error::Other("not connected".into()))
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc::util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc::util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.0.recv_from(buf).await?;
            if from.ip().is_loopback() {
                return Ok((n, from));
            }
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc::util::Result<usize> {
        Err(webrtc::util::Error::Other("not connected".into()))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc::util::Result<usize> {
        if !target.ip().is_loopback() {
            return Ok(buf.len());
        }
        Ok(self.0.send_to(buf, target).await?)
    }

    fn local_addr(&self) -> webrtc::util::Result<SocketAddr> {
        Ok(self.0.local_addr()?)
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

fn opus() -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// The browser's peer connection.
pub struct Browser {
    /// The peer connection.
    pub pc: Arc<RTCPeerConnection>,
    connected: Arc<AtomicBool>,
    track_seen: Arc<AtomicBool>,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Browser {
    /// A peer connection with a send-receive Opus transceiver whose incoming packets go to
    /// `recorder`.
    pub async fn new(recorder: Arc<Recorder>) -> Result<Browser, String> {
        let socket = UdpSocket::bind("127.0.0.1:0").await.map_err(err)?;
        let mux = UDPMuxDefault::new(UDPMuxParams::new(Loopback(socket)));
        let mut media = MediaEngine::default();
        media
            .register_codec(
                RTCRtpCodecParameters {
                    capability: opus(),
                    payload_type: 111,
                    ..Default::default()
                },
                RTPCodecType::Audio,
            )
            .map_err(err)?;
        let registry = configure_rtcp_reports(Registry::new());
        let mut s = SettingEngine::default();
        s.set_udp_network(UDPNetwork::Muxed(mux));
        s.set_network_types(vec![NetworkType::Udp4]);
        s.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
        s.set_include_loopback_candidate(true);
        s.set_interface_filter(Box::new(|n: &str| n == "lo"));
        s.set_ip_filter(Box::new(|ip: IpAddr| ip.is_loopback()));
        let api = APIBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(s)
            .build();
        let pc = Arc::new(
            api.new_peer_connection(RTCConfiguration::default())
                .await
                .map_err(err)?,
        );
        // A microphone track, as a browser has (nothing is written to it).
        let mic = Arc::new(TrackLocalStaticRTP::new(
            opus(),
            "audio".to_owned(),
            "bench".to_owned(),
        ));
        let sender = pc
            .add_track(mic as Arc<dyn TrackLocal + Send + Sync>)
            .await
            .map_err(err)?;
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1500];
            while sender.read(&mut buf).await.is_ok() {}
        });
        let connected = Arc::new(AtomicBool::new(false));
        let c = Arc::clone(&connected);
        pc.on_peer_connection_state_change(Box::new(move |state| {
            c.store(
                matches!(state, RTCPeerConnectionState::Connected),
                Ordering::SeqCst,
            );
            Box::pin(async {})
        }));
        let track_seen = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&track_seen);
        pc.on_track(Box::new(move |track, _receiver, _transceiver| {
            let recorder = Arc::clone(&recorder);
            seen.store(true, Ordering::SeqCst);
            Box::pin(async move {
                if track.kind() != RTPCodecType::Audio {
                    return;
                }
                tokio::spawn(async move {
                    while let Ok((pkt, _)) = track.read_rtp().await {
                        recorder.record(&pkt.payload, now_ns());
                    }
                });
            })
        }));
        Ok(Browser {
            pc,
            connected,
            track_seen,
        })
    }

    /// The offer, with every (loopback host) candidate gathered.
    pub async fn offer(&self) -> Result<String, String> {
        let offer = self.pc.create_offer(None).await.map_err(err)?;
        let mut gathered = self.pc.gathering_complete_promise().await;
        self.pc.set_local_description(offer).await.map_err(err)?;
        let _ = tokio::time::timeout(Duration::from_secs(3), gathered.recv()).await;
        self.pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or_else(|| "no local description".to_string())
    }

    /// Applies the gateway's answer and waits until ICE and DTLS are up.
    pub async fn answer(&self, sdp: &str) -> Result<(), String> {
        let desc = RTCSessionDescription::answer(sdp.to_owned()).map_err(err)?;
        self.pc.set_remote_description(desc).await.map_err(err)?;
        for _ in 0..100 {
            if self.connected.load(Ordering::SeqCst) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("the peer connection did not connect in 10 s".into())
    }

    /// Whether the gateway's track arrived.
    pub fn has_track(&self) -> bool {
        self.track_seen.load(Ordering::SeqCst)
    }

    /// Closes the peer connection.
    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

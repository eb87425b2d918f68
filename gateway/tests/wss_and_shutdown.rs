//! End-to-end tests of the gateway's secure WebSocket (RFC 7118 §3 `wss:`, RFC 6455 §4.1)
//! with the self-signed certificate it makes in its data directory, and of a clean stop on
//! SIGTERM while a SIP WebSocket is open.

mod common;

use common::{start, Client, WAIT};
use futures_util::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use sipsimple::Event;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[tokio::test]
async fn register_over_wss_with_the_generated_certificate() {
    let gw = start(true);
    let https = gw.https.expect("https address");
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(gw.data.join("cert.pem")).expect("cert.pem") {
        roots.add(cert.expect("a certificate")).expect("trust it");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(config));
    // The certificate names both localhost and 127.0.0.1.
    for name in ["127.0.0.1", "localhost"] {
        let tcp = TcpStream::connect(https).await.expect("connect");
        let server_name = ServerName::try_from(name).expect("server name");
        let tls = connector
            .connect(server_name, tcp)
            .await
            .expect("TLS handshake");
        let mut req = format!("wss://{name}:{}/ws", https.port())
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
        let (ws, _) = tokio_tungstenite::client_async(req, tls)
            .await
            .expect("WebSocket upgrade over TLS");
        let mut c = Client::new(ws, "secret");
        let event = c.register().await;
        assert!(
            matches!(event, Event::SIPAccountRegistrationDidSucceed { .. }),
            "{event:?}"
        );
        assert_eq!(c.codes, vec![401, 200]);
    }
}

#[tokio::test]
async fn sigterm_closes_websockets_and_exits_cleanly() {
    let mut gw = start(false);
    let ws = common::open_sip_ws(gw.http).await;
    let mut c = Client::new(ws, "secret");
    assert!(matches!(
        c.register().await,
        Event::SIPAccountRegistrationDidSucceed { .. }
    ));
    let status = Command::new("kill")
        .args(["-TERM", &gw.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    // The open WebSocket is closed by the gateway rather than left hanging...
    let end = tokio::time::timeout(WAIT, async {
        while let Some(Ok(frame)) = c.ws.next().await {
            if frame.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the WebSocket stayed open after SIGTERM");
    // ...and the process exits with success.
    let deadline = Instant::now() + WAIT;
    let code = loop {
        if let Some(status) = gw.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not exit after SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(code.success(), "exit status {code}");
}

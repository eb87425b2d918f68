//! A TLS client shim for peers that cannot speak TLS themselves (Debian's SIPp is built
//! without OpenSSL): it accepts plain TCP on loopback and carries each connection over TLS
//! (RFC 3261 §26.2.1) to the gateway, trusting the gateway's own certificate.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

/// A TLS connector that trusts the certificate in `cert`.
pub fn connector(cert: &Path) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert).expect("cert.pem") {
        roots.add(c.expect("a certificate")).expect("trust it");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// Listens on `ip`:0 and relays every connection over TLS to `target`; returns the address.
/// The relay tasks end with the test's runtime.
pub async fn shim(ip: &str, target: SocketAddr, cert: &Path) -> SocketAddr {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connector = connector(cert);
    let name = ServerName::try_from(target.ip().to_string()).expect("server name");
    tokio::spawn(async move {
        while let Ok((mut plain, _)) = listener.accept().await {
            let connector = connector.clone();
            let name = name.clone();
            tokio::spawn(async move {
                let Ok(tcp) = TcpStream::connect(target).await else {
                    return;
                };
                let Ok(mut tls) = connector.connect(name, tcp).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut plain, &mut tls).await;
            });
        }
    });
    addr
}

//! The development TLS certificate for WSS (RFC 7118 §3, RFC 6455 §4.1 `wss:`) and SIP over
//! TLS (RFC 3261 §26.2.1): a self-signed certificate for `localhost`, `127.0.0.1` and `::1`,
//! made once per data directory; the rustls server configurations (ring provider; HTTP/1.1
//! only for HTTPS so that WebSocket upgrades work, no ALPN for SIP) and the client one for
//! outbound SIP over TLS.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The certificate file inside the data directory.
pub const CERT_FILE: &str = "cert.pem";
/// The private key file inside the data directory (mode 0600).
pub const KEY_FILE: &str = "key.pem";

/// Writes `bytes` to a new or truncated file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    // An existing file keeps its mode through open(): tighten it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    f.sync_all()
}

/// Makes `cert.pem` and `key.pem` in `data_dir` unless both exist; returns their paths and
/// whether they were made now.
pub fn ensure(data_dir: &Path) -> Result<(PathBuf, PathBuf, bool), Box<dyn Error>> {
    let cert_path = data_dir.join(CERT_FILE);
    let key_path = data_dir.join(KEY_FILE);
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path, false));
    }
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let certified = rcgen::generate_simple_self_signed(names)?;
    write_private(&key_path, certified.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert_path, certified.cert.pem())?;
    Ok((cert_path, key_path, true))
}

/// The TLS server configuration for the HTTPS listener.
pub fn server_config(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<ServerConfig>, Box<dyn Error>> {
    let mut config = sip_server_config(cert_path, key_path)?;
    // WebSocket upgrades are an HTTP/1.1 mechanism (RFC 6455); no h2 here.
    Arc::make_mut(&mut config).alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The TLS client configuration for outbound SIP over TLS: the public roots of
/// `webpki-roots` plus the data directory's own certificate and, when present,
/// `trusted.pem` beside it (the development peers' certificates).
pub fn client_config(data_dir: &Path) -> Result<Arc<ClientConfig>, Box<dyn Error>> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for file in [CERT_FILE, TRUSTED_FILE] {
        let path = data_dir.join(file);
        if path.exists() {
            for cert in CertificateDer::pem_file_iter(&path)? {
                roots.add(cert?)?;
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Extra certificates trusted for outbound SIP over TLS, in the data directory.
pub const TRUSTED_FILE: &str = "trusted.pem";

/// The TLS server configuration for the SIP TLS listener (no ALPN: SIP has none).
pub fn sip_server_config(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<ServerConfig>, Box<dyn Error>> {
    let certs = CertificateDer::pem_file_iter(cert_path)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key_path)?;
    // The provider is named rather than taken from the process default, so that another
    // crate enabling aws-lc-rs later cannot make the choice ambiguous.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_private_and_loadable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key, made) = ensure(dir.path()).expect("generate");
        assert!(made);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).expect("key").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = std::fs::read(&cert).expect("cert");
        let (_, _, made) = ensure(dir.path()).expect("reuse");
        assert!(!made);
        assert_eq!(std::fs::read(&cert).expect("cert"), before);
        server_config(&cert, &key).expect("rustls accepts the pair");
        client_config(dir.path()).expect("the client trusts it");
    }
}

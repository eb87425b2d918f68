//! `sipsimple-gateway serve`: prepares the data directory (database, RFC 7118 §3 TLS
//! certificate, demo accounts), binds HTTP, HTTPS and SIP UDP (RFC 3261 §18), announces the
//! ready line and runs until SIGINT or SIGTERM.

use crate::cert;
use crate::config::Config;
use crate::gateway::Gateway;
use crate::store::Store;
use std::error::Error;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tracing::{info, warn};

/// Demo accounts are listed in this file of the data directory (mode 0600).
pub const DEMO_FILE: &str = "demo-accounts.txt";
/// How long open connections get to finish at shutdown.
const GRACE: Duration = Duration::from_secs(5);

/// Creates `alice` and `bob` with random passwords when the user table is empty.
async fn create_demo_accounts(cfg: &Config, store: &Store) -> Result<(), Box<dyn Error>> {
    if store.count_users().await? > 0 {
        return Ok(());
    }
    let mut text = String::new();
    for name in ["alice", "bob"] {
        let password = crate::random::password();
        store.add_user(name, &cfg.domain, &password).await?;
        text.push_str(&format!("{name}@{} {password}\n", cfg.domain));
        println!("demo account {name}@{} password={password}", cfg.domain);
    }
    let path = cfg.data_dir.join(DEMO_FILE);
    cert::write_private(&path, text.as_bytes())?;
    println!("demo accounts written to {}", path.display());
    Ok(())
}

/// Resolves when SIGINT or SIGTERM arrives.
async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                warn!(error = %e, "cannot listen for SIGTERM");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The address written in Via and Record-Route: the bound one, or loopback when bound to the
/// unspecified address (a public address needs configuration that comes later).
fn advertised(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        warn!(%addr, "SIP UDP bound to the unspecified address; advertising 127.0.0.1");
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    }
}

/// Runs the gateway until a stop signal.
pub async fn run(cfg: Config) -> Result<(), Box<dyn Error>> {
    let store = Store::open(&cfg.data_dir).await?;
    let (cert_path, key_path, made) = cert::ensure(&cfg.data_dir)?;
    if made {
        info!(cert = %cert_path.display(), "made a self-signed certificate");
    }
    if cfg.demo {
        create_demo_accounts(&cfg, &store).await?;
    }

    let udp = Arc::new(UdpSocket::bind(cfg.sip_udp).await?);
    let udp_addr = advertised(udp.local_addr()?);
    let http = TcpListener::bind(cfg.http).await?;
    let http_addr = http.local_addr()?;
    let https = match cfg.https {
        Some(addr) => {
            let listener = std::net::TcpListener::bind(addr)?;
            listener.set_nonblocking(true)?;
            let local = listener.local_addr()?;
            Some((listener, local))
        }
        None => None,
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let gw = Arc::new(Gateway::new(
        cfg.clone(),
        store.clone(),
        udp,
        udp_addr,
        stop_rx.clone(),
    ));
    let app = crate::http::router(gw.clone());

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(crate::udp::run(gw.clone()));
    {
        let gw = gw.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = tick.tick() => gw.expire(),
                    _ = stop.changed() => break,
                }
            }
        });
    }
    {
        let app = app.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let done = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(http, app).with_graceful_shutdown(done).await {
                warn!(error = %e, "HTTP server failed");
            }
        });
    }
    let tls_handle = axum_server::Handle::<SocketAddr>::new();
    let https_addr = match https {
        Some((listener, local)) => {
            let config = cert::server_config(&cert_path, &key_path)?;
            let rustls = axum_server::tls_rustls::RustlsConfig::from_config(config);
            let server = axum_server::from_tcp_rustls(listener, rustls)?.handle(tls_handle.clone());
            let app = app.clone();
            tasks.spawn(async move {
                if let Err(e) = server.serve(app.into_make_service()).await {
                    warn!(error = %e, "HTTPS server failed");
                }
            });
            local.to_string()
        }
        None => "off".to_string(),
    };

    println!(
        "sipsimple-gateway ready http={http_addr} https={https_addr} sip_udp={udp_addr} domain={}",
        cfg.domain
    );
    std::io::stdout().flush()?;
    info!(%http_addr, https = %https_addr, %udp_addr, domain = %cfg.domain, "ready");

    stop_signal().await;
    info!("stopping");
    let _ = stop_tx.send(true);
    tls_handle.graceful_shutdown(Some(GRACE));
    let drained = tokio::time::timeout(GRACE * 2, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!("some tasks did not stop in time");
        tasks.abort_all();
    }
    store.close().await;
    info!("stopped");
    Ok(())
}

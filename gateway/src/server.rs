//! `sipsimple-gateway serve`: prepares the data directory (database, TLS certificate for
//! RFC 7118 §3 and RFC 3261 §26, demo accounts, the proxy's secret), restores persisted
//! registrations, binds HTTP, HTTPS and SIP over UDP, TCP and TLS (RFC 3261 §18), announces
//! the ready line and runs until SIGINT or SIGTERM.

use crate::cert;
use crate::config::Config;
use crate::gateway::Gateway;
use crate::proxy::route::Local;
use crate::proxy::Core;
use crate::store::Store;
use crate::transport::Transports;
use sipsimple::transaction::TransportKind;
use std::error::Error;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

/// Demo accounts are listed in this file of the data directory (mode 0600).
pub const DEMO_FILE: &str = "demo-accounts.txt";
/// The proxy's secret (flow tokens) inside the data directory (mode 0600).
pub const SECRET_FILE: &str = "proxy-secret";
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
        let lo = if addr.is_ipv4() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        };
        warn!(%addr, "SIP bound to the unspecified address; advertising loopback");
        SocketAddr::new(lo, addr.port())
    } else {
        addr
    }
}

/// The secret of flow tokens and branches, made once per data directory so that dialogs
/// record-routed before a restart still route after it.
fn proxy_secret(data_dir: &Path) -> Result<String, Box<dyn Error>> {
    let path = data_dir.join(SECRET_FILE);
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_string();
        if s.len() >= 32 {
            return Ok(s);
        }
    }
    let s = crate::random::hex(64);
    cert::write_private(&path, s.as_bytes())?;
    Ok(s)
}

/// Binds a TCP listener when `addr` is set.
async fn bind_tcp(
    addr: Option<SocketAddr>,
) -> Result<Option<(TcpListener, SocketAddr)>, Box<dyn Error>> {
    match addr {
        Some(a) => {
            let l = TcpListener::bind(a).await?;
            let local = advertised(l.local_addr()?);
            Ok(Some((l, local)))
        }
        None => Ok(None),
    }
}

fn show(addr: Option<SocketAddr>) -> String {
    addr.map_or_else(|| "off".to_string(), |a| a.to_string())
}

/// Runs the gateway until a stop signal.
pub async fn run(cfg: Config) -> Result<(), Box<dyn Error>> {
    let mut store = Store::connect(&cfg.data_dir, cfg.database_url.as_deref()).await?;
    if let Some(c) = &cfg.cluster {
        store = store.with_node(crate::store::Node {
            id: c.node_id.clone(),
            uri: c.uri.to_string(),
        });
        let gone = store.forget_node_flows().await?;
        info!(node = %c.node_id, address = %c.uri, forgotten = gone, "cluster node");
    }
    info!(backend = store.backend(), "database open");
    // With PostgreSQL nothing else has made the data directory (certificate, secrets).
    crate::store::create_private_dir(&cfg.data_dir)?;
    let (cert_path, key_path, made) = cert::ensure(&cfg.data_dir)?;
    if made {
        info!(cert = %cert_path.display(), "made a self-signed certificate");
    }
    if cfg.demo {
        create_demo_accounts(&cfg, &store).await?;
    }

    let udp = Arc::new(UdpSocket::bind(cfg.sip_udp).await?);
    // Bound to every interface in a cluster: the cluster address is the one the front and
    // the other nodes use, so Via and Record-Route name it.
    let cluster_ip = cfg
        .cluster
        .as_ref()
        .and_then(|c| crate::proxy::route::parse_ip(&c.dest.host));
    let in_cluster = |bound: Option<SocketAddr>, adv: SocketAddr| match (bound, cluster_ip) {
        (Some(b), Some(ip)) if b.ip().is_unspecified() && b.is_ipv4() == ip.is_ipv4() => {
            SocketAddr::new(ip, adv.port())
        }
        _ => adv,
    };
    let udp_bound = udp.local_addr()?;
    let udp_addr = match cluster_ip {
        Some(ip) if udp_bound.ip().is_unspecified() && udp_bound.is_ipv4() == ip.is_ipv4() => {
            SocketAddr::new(ip, udp_bound.port())
        }
        _ => advertised(udp_bound),
    };
    let sip_tcp = bind_tcp(cfg.sip_tcp).await?;
    let sip_tls = bind_tcp(cfg.sip_tls).await?;
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
    let msrp_tcp = crate::msrp::bind(&cfg.msrp).await?;
    let msrp_addr = match &msrp_tcp {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let msrp_tls = crate::msrp::bind_tls(&cfg.msrp).await?;
    let msrp_tls_addr = match &msrp_tls {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let tcp_addr = sip_tcp.as_ref().map(|(_, a)| in_cluster(cfg.sip_tcp, *a));
    let tls_addr = sip_tls.as_ref().map(|(_, a)| in_cluster(cfg.sip_tls, *a));

    let local = Local {
        domain: cfg.domain.clone(),
        udp: Some(udp_addr),
        tcp: tcp_addr,
        tls: tls_addr,
        secret: proxy_secret(&cfg.data_dir)?,
    };
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed)?;
    let mut core = Core::new(local, u64::from_le_bytes(seed));
    core.set_lockout_policy(cfg.security.lockout);
    core.set_trusted_proxies(cfg.security.trusted_proxies.clone());
    core.set_cluster(
        cfg.cluster
            .as_ref()
            .map(|c| crate::proxy::cluster::ClusterNode {
                node_id: c.node_id.clone(),
                secret: c.secret.clone(),
                peers: c.peers.clone(),
            }),
    );
    core.set_upstream(cfg.upstream.as_ref().map(|u| {
        crate::proxy::upstream::Upstream {
            dest: crate::proxy::Dest::new(
                u.transport,
                crate::proxy::route::bare_host(&u.host),
                u.port,
            ),
            credentials: u
                .username
                .clone()
                .map(|n| (n, u.password.clone().unwrap_or_default())),
        }
    }));
    core.set_edge(
        cfg.edge
            .iter()
            .map(|e| crate::proxy::edge::EdgeDomain {
                domain: e.domain.clone(),
                registrar: e.registrar.clone(),
            })
            .collect(),
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let (gw, writes) = Gateway::new(
        cfg.clone(),
        store.clone(),
        core,
        Transports::new(Some(udp.clone())),
        cert::client_config(&cfg.data_dir)?,
        stop_rx.clone(),
    );
    let gw = Arc::new(gw);
    let mut media_addr = "off".to_string();
    if cfg.media.enabled {
        let relay = crate::media::MediaRelay::new(cfg.media.clone()).await?;
        relay.attach(&gw);
        media_addr = relay.webrtc_addr().to_string();
        if !cfg.media.address.is_loopback() {
            warn!(addr = %media_addr, "media listening on an address other than loopback, as configured");
        }
        let _ = gw.media.set(relay);
    }
    let now = crate::gateway::unix_millis();
    store.delete_expired_bindings(now).await?;
    let restored = gw.restore_bindings().await?;
    if restored > 0 {
        info!(restored, "registrations restored from the database");
    }

    let mut tasks = tokio::task::JoinSet::new();
    // The MSRP relay (RFC 4976): its TCP listener, and `/msrp` on the HTTP listeners.
    let msrp = {
        let host = cfg
            .msrp
            .advertise
            .clone()
            .unwrap_or_else(|| crate::msrp::host_of(msrp_addr.unwrap_or(http_addr)));
        let local = crate::msrp::Local {
            host,
            tcp_port: msrp_addr.map(|a| a.port()),
            tls_port: msrp_tls_addr.map(|a| a.port()),
            http_port: Some(http_addr.port()),
            https_port: https.as_ref().map(|(_, a)| a.port()),
        };
        crate::msrp::Relay::new(
            &cfg.msrp,
            &cfg.domain,
            cfg.security.allowed_origins.clone(),
            store.clone(),
            local,
            cert::client_config(&cfg.data_dir)?,
            stop_rx.clone(),
        )
    };
    if let Some(listener) = msrp_tcp {
        tasks.spawn(msrp.clone().run_tcp(listener));
    }
    if let Some(listener) = msrp_tls {
        // msrps with the same certificate as SIP over TLS.
        let acceptor = TlsAcceptor::from(cert::sip_server_config(&cert_path, &key_path)?);
        tasks.spawn(msrp.clone().run_tls(listener, acceptor));
    }
    tasks.spawn(msrp.clone().run_sweeper());
    msrp.announce(msrp_addr);
    tasks.spawn(crate::transport::udp::run(gw.clone(), udp));
    if let Some((listener, _)) = sip_tcp {
        tasks.spawn(crate::transport::stream::accept(gw.clone(), listener, None));
    }
    if let Some((listener, _)) = sip_tls {
        let acceptor = TlsAcceptor::from(cert::sip_server_config(&cert_path, &key_path)?);
        tasks.spawn(crate::transport::stream::accept(
            gw.clone(),
            listener,
            Some(acceptor),
        ));
    }
    tasks.spawn(gw.clone().run_timer());
    let writer = tokio::spawn(Gateway::run_writer(store.clone(), writes));
    {
        let gw = gw.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        gw.expire();
                        let now = crate::gateway::unix_millis();
                        if let Err(e) = gw.store.delete_expired_bindings(now).await {
                            warn!(error = %e, "could not delete expired registrations");
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
        });
    }
    {
        let app = crate::http::router(gw.clone(), TransportKind::Ws, Some(msrp.clone()));
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let done = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            // The peer's address names the WebSocket's source for rate limits and lockouts.
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
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
            let app = crate::http::router(gw.clone(), TransportKind::Wss, Some(msrp.clone()));
            tasks.spawn(async move {
                let app = app.into_make_service_with_connect_info::<SocketAddr>();
                if let Err(e) = server.serve(app).await {
                    warn!(error = %e, "HTTPS server failed");
                }
            });
            local.to_string()
        }
        None => "off".to_string(),
    };

    // Nothing listens beyond loopback unless configured; say so when it was.
    let listening = [
        Some(cfg.http),
        cfg.https,
        Some(cfg.sip_udp),
        cfg.sip_tcp,
        cfg.sip_tls,
        msrp_addr,
        msrp_tls_addr,
    ];
    for addr in listening.into_iter().flatten() {
        if !addr.ip().is_loopback() {
            warn!(%addr, "listening on an address other than loopback, as configured");
        }
    }
    // The fields the e2e suite reads come first, in their order; new ones are appended.
    println!(
        "sipsimple-gateway ready http={http_addr} https={https_addr} sip_udp={udp_addr} domain={} sip_tcp={} sip_tls={} media={media_addr} msrp={} msrp_tls={}",
        cfg.domain,
        show(tcp_addr),
        show(tls_addr),
        show(msrp_addr),
        show(msrp_tls_addr),
    );
    std::io::stdout().flush()?;
    info!(%http_addr, https = %https_addr, %udp_addr, sip_tcp = %show(tcp_addr),
        sip_tls = %show(tls_addr), domain = %cfg.domain, "ready");

    stop_signal().await;
    info!("stopping");
    // Recordings are finalised before anything else stops (SIGTERM included).
    if let Some(m) = gw.media.get() {
        m.shutdown().await;
    }
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
    // The writer ends when the last sender (the gateway) goes: flush what is queued.
    drop(gw);
    if tokio::time::timeout(GRACE, writer).await.is_err() {
        warn!("database writes did not finish in time");
    }
    store.close().await;
    info!("stopped");
    Ok(())
}

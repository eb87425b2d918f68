//! `sipsimple-gateway`: SIP over WebSocket (RFC 7118) to SIP over UDP, TCP and TLS (RFC 3261
//! §18, §26), with an embedded registrar (§10.3, digest §22) and a transaction-stateful proxy
//! (§16), and the user management and call log commands of its SQLite store.
//!
//! ```text
//! sipsimple-gateway [--config FILE] [--data-dir DIR] [--domain NAME] serve [--http ADDR]
//!                   [--https ADDR|off] [--sip-udp ADDR] [--sip-tcp ADDR|off] [--sip-tls ADDR|off]
//!                   [--web-dir DIR] [--no-demo] [--log-sip] [--rate-limit N] [--rate-burst N]
//!                   [--lockout-after N] [--lockout-window SECS] [--lockout-duration SECS]
//!                   [--max-message-size BYTES] [--allowed-origin ORIGIN]...
//! sipsimple-gateway [--data-dir DIR] [--domain NAME] user add|list|remove|passwd ...
//! sipsimple-gateway [--data-dir DIR] calls [--limit N]
//! sipsimple-gateway check [FILE|-]
//! ```
//!
//! Every `serve` option can also come from the TOML file of `--config` or from the
//! environment (`config.rs`); `--help` lists the keys.

mod base64;
mod cert;
mod check;
mod config;
mod digest;
mod gateway;
mod guard;
mod http;
mod media;
mod metrics;
mod msrp;
mod proxy;
mod random;
mod recordings;
mod registrar;
mod server;
mod sipmsg;
mod store;
mod transport;
mod ws;

use clap::{Args, Parser, Subcommand};
use config::{ConfigError, Settings};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "sipsimple-gateway",
    version,
    about = "SIP over WebSocket gateway, registrar and proxy",
    after_help = config::HELP
)]
struct Cli {
    /// A TOML file with any of the keys listed below; flags and SIPSIMPLE_* variables
    /// override it.
    #[arg(long, global = true, value_name = "FILE", env = "SIPSIMPLE_CONFIG")]
    config: Option<PathBuf>,
    /// Holds gateway.db, cert.pem, key.pem and demo-accounts.txt [default: gateway-data].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The database: `postgres://user:pass@host/db` for PostgreSQL (several gateways may share
    /// it); unset means gateway.db (SQLite) in the data directory.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// The SIP domain served, also the digest realm the stored hashes are made for
    /// [default: sipsimple.local].
    #[arg(long, global = true, value_name = "NAME", value_parser = config::parse_domain)]
    domain: Option<String>,
    /// `serve`'s options, for when no subcommand is given.
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve(Box<ServeArgs>),
    /// Manage the registrar's users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Read one SIP, SDP or MSRP message from FILE (or `-`/nothing for standard input),
    /// print it as normalised JSON, or say precisely what is wrong; exit 0 or 1.
    Check {
        /// The message file; standard input when absent or `-`.
        file: Option<PathBuf>,
    },
    /// Show the call log, newest first.
    Calls {
        /// How many calls to show.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Debug, Clone, Default, Args)]
struct ServeArgs {
    /// HTTP and WS listen address [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// HTTPS and WSS listen address, or `off` [default: 127.0.0.1:8443].
    #[arg(long, value_name = "ADDR|off", value_parser = config::parse_optional_addr)]
    https: Option<config::OptionalAddr>,
    /// SIP UDP listen address [default: 127.0.0.1:5060].
    #[arg(long, value_name = "ADDR")]
    sip_udp: Option<SocketAddr>,
    /// SIP TCP listen address, or `off` [default: 127.0.0.1:5060].
    #[arg(long, value_name = "ADDR|off", value_parser = config::parse_optional_addr)]
    sip_tcp: Option<config::OptionalAddr>,
    /// SIP TLS listen address (the data directory's certificate), or `off`
    /// [default: 127.0.0.1:5061].
    #[arg(long, value_name = "ADDR|off", value_parser = config::parse_optional_addr)]
    sip_tls: Option<config::OptionalAddr>,
    /// Directory of the softphone page [default: web].
    #[arg(long, value_name = "DIR")]
    web_dir: Option<PathBuf>,
    /// Do not create the demo accounts alice and bob.
    #[arg(long)]
    no_demo: bool,
    /// Log every SIP message in full, with direction and peer (debug level, target
    /// sipsimple_gateway::sip).
    #[arg(long)]
    log_sip: bool,
    /// Requests per second accepted from one source address; 0 turns the limit off
    /// [default: 50].
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// Requests one source may send at once before the rate applies [default: 200].
    #[arg(long, value_name = "N")]
    rate_burst: Option<u32>,
    /// Wrong digest answers from one source that lock it out [default: 20].
    #[arg(long, value_name = "N")]
    lockout_after: Option<u32>,
    /// Seconds within which the wrong answers are counted [default: 300].
    #[arg(long, value_name = "SECS")]
    lockout_window: Option<u64>,
    /// Seconds a locked-out source gets 403 for [default: 900].
    #[arg(long, value_name = "SECS")]
    lockout_duration: Option<u64>,
    /// The largest SIP message on any transport, in bytes: larger UDP datagrams are
    /// dropped, streams get 413 and are closed, WebSockets are closed with 1009
    /// [default: 65536].
    #[arg(long, value_name = "BYTES")]
    max_message_size: Option<u64>,
    /// An Origin allowed to open the SIP WebSocket besides the page's own and localhost
    /// (repeatable; `*` allows any).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
}

impl ServeArgs {
    /// The flags given, as the top layer of settings; `sub` (after `serve`) wins over the
    /// flags before the subcommand.
    fn settings(self, sub: Option<ServeArgs>) -> Settings {
        let sub = sub.unwrap_or_default();
        let show = |a: Option<config::OptionalAddr>| {
            a.map(|a| a.0.map_or_else(|| "off".to_string(), |a| a.to_string()))
        };
        let origins = if sub.allowed_origins.is_empty() {
            self.allowed_origins
        } else {
            sub.allowed_origins
        };
        Settings {
            http: sub.http.or(self.http).map(|a| a.to_string()),
            https: show(sub.https.or(self.https)),
            sip_udp: sub.sip_udp.or(self.sip_udp).map(|a| a.to_string()),
            sip_tcp: show(sub.sip_tcp.or(self.sip_tcp)),
            sip_tls: show(sub.sip_tls.or(self.sip_tls)),
            web_dir: sub.web_dir.or(self.web_dir),
            demo: (sub.no_demo || self.no_demo).then_some(false),
            security: config::SecuritySettings {
                rate_limit: sub.rate_limit.or(self.rate_limit),
                rate_burst: sub.rate_burst.or(self.rate_burst),
                lockout_after: sub.lockout_after.or(self.lockout_after),
                lockout_window: sub.lockout_window.or(self.lockout_window),
                lockout_duration: sub.lockout_duration.or(self.lockout_duration),
                max_message_size: sub.max_message_size.or(self.max_message_size),
                allowed_origins: (!origins.is_empty()).then_some(origins),
                // The file or SIPSIMPLE_SECURITY_TRUSTED_PROXIES: a deployment setting.
                trusted_proxies: None,
            },
            log: config::LogSettings {
                sip: (sub.log_sip || self.log_sip).then_some(true),
            },
            ..Settings::default()
        }
    }
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; a password is generated and printed when none is given.
    Add {
        name: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// List the users.
    List,
    /// Remove a user.
    Remove { name: String },
    /// Set a user's password; a password is generated and printed when none is given.
    Passwd {
        name: String,
        #[arg(long)]
        password: Option<String>,
    },
}

async fn calls_command(
    data_dir: PathBuf,
    database_url: Option<String>,
    limit: i64,
) -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::connect(&data_dir, database_url.as_deref()).await?;
    let rows = store.calls(limit.max(0)).await;
    store.close().await;
    let opt = |v: Option<i64>| v.map_or("-".to_string(), |v| v.to_string());
    for c in rows? {
        println!(
            "{}\t{} -> {}\tstarted={} answered={} ended={} code={}\tcall-id={}",
            c.id,
            c.caller,
            c.callee,
            c.started_at,
            opt(c.answered_at),
            opt(c.ended_at),
            opt(c.final_code.map(i64::from)),
            c.call_id
        );
    }
    Ok(())
}

async fn user_command(
    cli_data_dir: PathBuf,
    database_url: Option<String>,
    domain: &str,
    cmd: UserCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::connect(&cli_data_dir, database_url.as_deref()).await?;
    let result = match cmd {
        UserCommand::Add { name, password } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(random::password);
            store.add_user(&name, domain, &password).await.map(|()| {
                if generated {
                    println!("added {name}@{domain} password={password}");
                } else {
                    println!("added {name}@{domain}");
                }
            })
        }
        UserCommand::List => store.list_users().await.map(|users| {
            for u in users {
                println!("{}@{}\tcreated={}", u.name, u.realm, u.created_at);
            }
        }),
        UserCommand::Remove { name } => store
            .remove_user(&name)
            .await
            .map(|()| println!("removed {name}")),
        UserCommand::Passwd { name, password } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(random::password);
            store
                .set_password(&name, domain, &password)
                .await
                .map(|()| {
                    if generated {
                        println!("changed {name}@{domain} password={password}");
                    } else {
                        println!("changed {name}@{domain}");
                    }
                })
        }
    };
    store.close().await;
    Ok(result?)
}

/// The settings of every layer merged: defaults < `--config` file < environment < flags.
fn settings(cli: &mut Cli, sub: Option<ServeArgs>) -> Result<Settings, ConfigError> {
    let file = match &cli.config {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    let env = Settings::from_env(|k| std::env::var(k).ok())?;
    let mut flags = std::mem::take(&mut cli.serve).settings(sub);
    flags.data_dir = cli.data_dir.clone();
    flags.domain = cli.domain.clone();
    flags.database.url = cli.database_url.clone();
    Ok(file.overlay(env).overlay(flags))
}

fn init_logging(log_sip: bool) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if log_sip {
        if let Ok(d) = format!("{}=trace", gateway::SIP_LOG_TARGET).parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Some(Command::Check { file }) = &cli.command {
        init_logging(false);
        return check::run(file.as_deref());
    }
    let command = cli.command.take();
    let sub = match &command {
        Some(Command::Serve(args)) => Some(ServeArgs::clone(args)),
        _ => None,
    };
    let serve = matches!(command, None | Some(Command::Serve(_)));
    // Configuration errors are usage errors: exit code 2, like clap's.
    let merged = match settings(&mut cli, sub) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let database_url = merged.database_url();
    let place = if serve {
        merged
            .resolve()
            .map(|c| (c.data_dir.clone(), c.domain.clone(), Some(c)))
    } else {
        merged.store_place().map(|(d, n)| (d, n, None))
    };
    let (data_dir, domain, cfg) = match place {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_logging(cfg.as_ref().is_some_and(|c| c.log_sip));
    let result = match (command, cfg) {
        (Some(Command::User { command }), _) => {
            user_command(data_dir, database_url, &domain, command).await
        }
        (Some(Command::Calls { limit }), _) => calls_command(data_dir, database_url, limit).await,
        (_, Some(cfg)) => server::run(cfg).await,
        _ => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sipsimple-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

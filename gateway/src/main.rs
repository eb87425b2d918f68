//! `sipsimple-gateway`: SIP over WebSocket (RFC 7118) to SIP over UDP, TCP and TLS (RFC 3261
//! §18, §26), with an embedded registrar (§10.3, digest §22) and a transaction-stateful proxy
//! (§16), and the user management and call log commands of its SQLite store.
//!
//! ```text
//! sipsimple-gateway [--data-dir DIR] [--domain NAME] serve [--http ADDR] [--https ADDR|off]
//!                   [--sip-udp ADDR] [--sip-tcp ADDR|off] [--sip-tls ADDR|off]
//!                   [--web-dir DIR] [--no-demo]
//! sipsimple-gateway [--data-dir DIR] [--domain NAME] user add|list|remove|passwd ...
//! sipsimple-gateway [--data-dir DIR] calls [--limit N]
//! sipsimple-gateway check [FILE|-]
//! ```

mod cert;
mod check;
mod config;
mod gateway;
mod http;
mod proxy;
mod random;
mod registrar;
mod server;
mod sipmsg;
mod store;
mod transport;
mod ws;

use clap::{Args, Parser, Subcommand};
use config::Config;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "sipsimple-gateway",
    version,
    about = "SIP over WebSocket gateway, registrar and proxy"
)]
struct Cli {
    /// Holds gateway.db, cert.pem, key.pem and demo-accounts.txt.
    #[arg(
        long,
        global = true,
        env = "SIPSIMPLE_DATA_DIR",
        default_value = "gateway-data"
    )]
    data_dir: PathBuf,
    /// The SIP domain served, also the digest realm the stored hashes are made for.
    #[arg(long, global = true, default_value = "sipsimple.local", value_parser = config::parse_domain)]
    domain: String,
    /// `serve`'s options, for when no subcommand is given.
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve(ServeArgs),
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

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// HTTP and WS listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// HTTPS and WSS listen address, or `off`.
    #[arg(long, default_value = "127.0.0.1:8443", value_parser = config::parse_optional_addr)]
    https: config::OptionalAddr,
    /// SIP UDP listen address.
    #[arg(long, default_value = "127.0.0.1:5060")]
    sip_udp: SocketAddr,
    /// SIP TCP listen address, or `off`.
    #[arg(long, default_value = "127.0.0.1:5060", value_parser = config::parse_optional_addr)]
    sip_tcp: config::OptionalAddr,
    /// SIP TLS listen address (the data directory's certificate), or `off`.
    #[arg(long, default_value = "127.0.0.1:5061", value_parser = config::parse_optional_addr)]
    sip_tls: config::OptionalAddr,
    /// Directory of the softphone page.
    #[arg(long, default_value = "web")]
    web_dir: PathBuf,
    /// Do not create the demo accounts alice and bob.
    #[arg(long)]
    no_demo: bool,
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

async fn calls_command(data_dir: PathBuf, limit: i64) -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::open(&data_dir).await?;
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
    domain: &str,
    cmd: UserCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::open(&cli_data_dir).await?;
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

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    if let Some(Command::Check { file }) = &cli.command {
        return check::run(file.as_deref());
    }
    let result = match cli.command {
        Some(Command::Check { .. }) => Ok(()),
        Some(Command::User { command }) => user_command(cli.data_dir, &cli.domain, command).await,
        Some(Command::Calls { limit }) => calls_command(cli.data_dir, limit).await,
        Some(Command::Serve(args)) => {
            server::run(serve_config(cli.data_dir, cli.domain, args)).await
        }
        None => server::run(serve_config(cli.data_dir, cli.domain, cli.serve)).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sipsimple-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve_config(data_dir: PathBuf, domain: String, a: ServeArgs) -> Config {
    Config {
        data_dir,
        http: a.http,
        https: a.https.0,
        sip_udp: a.sip_udp,
        sip_tcp: a.sip_tcp.0,
        sip_tls: a.sip_tls.0,
        domain,
        web_dir: a.web_dir,
        demo: !a.no_demo,
    }
}

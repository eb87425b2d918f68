//! `sipsimple-gateway`: SIP over WebSocket (RFC 7118) to SIP over UDP (RFC 3261 §18), with an
//! embedded registrar (§10.3, digest §22) and a stateless proxy (§16.11), and the user
//! management commands of its SQLite store.
//!
//! ```text
//! sipsimple-gateway [--data-dir DIR] [--domain NAME] serve [--http ADDR] [--https ADDR|off]
//!                   [--sip-udp ADDR] [--web-dir DIR] [--no-demo]
//! sipsimple-gateway [--data-dir DIR] [--domain NAME] user add|list|remove|passwd ...
//! ```

mod cert;
mod config;
mod gateway;
mod http;
mod proxy;
mod random;
mod registrar;
mod server;
mod sipmsg;
mod store;
mod udp;
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
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// HTTP and WS listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// HTTPS and WSS listen address, or `off`.
    #[arg(long, default_value = "127.0.0.1:8443", value_parser = config::parse_https)]
    https: config::HttpsAddr,
    /// SIP UDP listen address.
    #[arg(long, default_value = "127.0.0.1:5060")]
    sip_udp: SocketAddr,
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
    let result = match cli.command {
        Some(Command::User { command }) => user_command(cli.data_dir, &cli.domain, command).await,
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
        domain,
        web_dir: a.web_dir,
        demo: !a.no_demo,
    }
}

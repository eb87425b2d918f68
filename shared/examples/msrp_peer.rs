//! A scripted native chat, file-transfer and desktop-sharing peer (feature `native`), for end-to-end tests
//! and trying things by hand: it registers over UDP with digest, authenticates to an MSRP
//! relay over TCP (RFC 4976) so that its chat and file streams go through the relay, accepts
//! every incoming session, and then follows commands read from standard input, one a line:
//!
//! ```text
//! chat TARGET            start a chat session            → session ID
//! say ID TEXT            send a chat message             → sent MESSAGE-ID
//! composing ID STATE     active | idle
//! file TARGET|ID PATH    send a file (new session, or added to session ID) → session ID
//! share TARGET           share the VNC server of --vnc in a new session → session ID
//! end ID                 end a session
//! quit                   unregister and exit
//! ```
//!
//! It prints what happens, one line each: `registered`, `relay USE-PATH`, `incoming ID
//! STREAMS`, `started ID`, `ended ID`, `message ID TEXT`, `delivered MESSAGE-ID`,
//! `undelivered MESSAGE-ID CODE`, `composing ID STATE`, `file-done ID INDEX ok|ERROR`,
//! `received ID INDEX PATH`, `error TEXT`; for desktop sharing (the seed's
//! `DesktopSharingStream`, with `--vnc HOST:PORT`: a VNC server it shares) `desktop ID`
//! when an incoming session or a proposal asks to view its desktop (accepted with the
//! external server handler bridged to that VNC server), `desktop-failed ID CONTEXT REASON`.
//!
//! ```text
//! cargo run -p sipsimple --features native --example msrp_peer -- \
//!     --proxy 127.0.0.1:5060 --account carol@sipsimple.local --password secret \
//!     --relay 127.0.0.1:2855
//! ```

#[cfg(feature = "native")]
fn main() -> std::process::ExitCode {
    peer::main()
}

#[cfg(not(feature = "native"))]
fn main() {
    eprintln!("msrp_peer needs the `native` feature: cargo run -p sipsimple --features native --example msrp_peer");
}

#[cfg(feature = "native")]
mod peer {
    use sipsimple::iscomposing::State;
    use sipsimple::native::{Config, DesktopHandler, Driver};
    use sipsimple::notification::Originator;
    use sipsimple::stream::DESKTOP_SHARING;
    use sipsimple::{AccountConfig, Event, Sender, Transport};
    use std::net::SocketAddr;
    use std::process::ExitCode;
    use std::time::Duration;

    const USAGE: &str =
        "usage: msrp_peer --proxy HOST:PORT --account USER@DOMAIN --password PASSWORD \
    --relay HOST:PORT [--receive-dir DIR] [--vnc HOST:PORT]";

    struct Args {
        proxy: SocketAddr,
        account: String,
        password: String,
        relay: SocketAddr,
        receive_dir: Option<std::path::PathBuf>,
        /// The VNC server shared with peers that ask to view the desktop.
        vnc: Option<SocketAddr>,
    }

    fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let (mut proxy, mut account, mut password, mut relay, mut receive_dir, mut vnc) =
            (None, None, None, None, None, None);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--proxy" => {
                    let v = value("--proxy")?;
                    proxy = Some(v.parse().map_err(|_| format!("bad --proxy {v:?}"))?);
                }
                "--relay" => {
                    let v = value("--relay")?;
                    relay = Some(v.parse().map_err(|_| format!("bad --relay {v:?}"))?);
                }
                "--account" => account = Some(value("--account")?),
                "--password" => password = Some(value("--password")?),
                "--receive-dir" => receive_dir = Some(value("--receive-dir")?.into()),
                "--vnc" => {
                    let v = value("--vnc")?;
                    vnc = Some(v.parse().map_err(|_| format!("bad --vnc {v:?}"))?);
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(Args {
            proxy: proxy.ok_or("--proxy is required")?,
            account: account.ok_or("--account is required")?,
            password: password.unwrap_or_default(),
            relay: relay.ok_or("--relay is required")?,
            receive_dir,
            vnc,
        })
    }

    fn say(line: &str) {
        // One line at a time, flushed: the test reads them as they come.
        println!("{line}");
    }

    #[tokio::main(flavor = "current_thread")]
    pub async fn main() -> ExitCode {
        let args = match parse_args(std::env::args().skip(1)) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("{e}\n{USAGE}");
                return ExitCode::from(2);
            }
        };
        match run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                say(&format!("error {e}"));
                ExitCode::FAILURE
            }
        }
    }

    async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
        let user = args
            .account
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut config = Config::new(
            AccountConfig::new(&args.account, &args.password),
            args.proxy,
            Transport::Udp,
        );
        config.receive_dir = args.receive_dir.clone();
        let mut driver = Driver::start(config).await?;
        let handle = driver.handle().clone();
        handle.register().await?;
        // Registered first (the relay checks the same credentials), then the relay.
        loop {
            let n = tokio::time::timeout(Duration::from_secs(30), driver.notifications.recv())
                .await?
                .ok_or("the driver stopped")?;
            match &n.notification.event {
                Event::SIPAccountRegistrationDidSucceed { .. } => break,
                Event::SIPAccountRegistrationDidFail { code, reason, .. } => {
                    return Err(format!("registration failed: {code:?} {reason}").into())
                }
                _ => {}
            }
        }
        say("registered");
        let path = handle
            .use_msrp_relay(args.relay, &user, &args.password)
            .await?;
        say(&format!("relay {}", path.join(" ")));

        // Standard input on a thread of its own (tokio's is not enabled here).
        let (line_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        loop {
            tokio::select! {
                n = driver.notifications.recv() => {
                    let Some(n) = n else { break };
                    let n = n.notification;
                    let session = match n.sender.clone() {
                        Sender::Session(id) => Some(id),
                        Sender::Stream { session, .. } => Some(session),
                        _ => None,
                    };
                    let id = session.unwrap_or_default();
                    match &n.event {
                        Event::SIPSessionNewIncoming { streams } => {
                            say(&format!("incoming {id} {}", streams.join(",")));
                            let desktop = streams.iter().any(|s| s == DESKTOP_SHARING);
                            let r = match args.vnc {
                                Some(vnc) if desktop => {
                                    say(&format!("desktop {id}"));
                                    handle
                                        .accept_desktop(id, DesktopHandler::Server { vnc })
                                        .await
                                        .map(|_| ())
                                }
                                _ => handle.accept(id, None).await,
                            };
                            if let Err(e) = r {
                                say(&format!("error accept: {e}"));
                            }
                        }
                        Event::SIPSessionGotStreamProposal { proposer, streams }
                            if *proposer == Originator::Remote =>
                        {
                            say(&format!("proposal {id} {}", streams.join(",")));
                            if let (Some(vnc), true) =
                                (args.vnc, streams.iter().any(|s| s == DESKTOP_SHARING))
                            {
                                say(&format!("desktop {id}"));
                                let handler = DesktopHandler::Server { vnc };
                                if let Err(e) = handle.accept_desktop_proposal(id, handler).await {
                                    say(&format!("error accept: {e}"));
                                }
                            }
                        }
                        Event::DesktopSharingHandlerDidFail { context, reason } => {
                            say(&format!("desktop-failed {id} {context} {reason}"));
                        }
                        Event::SIPSessionDidStart {} => say(&format!("started {id}")),
                        Event::SIPSessionDidEnd { .. } => say(&format!("ended {id}")),
                        Event::SIPSessionDidFail { code, reason, .. } => {
                            say(&format!("failed {id} {code:?} {reason}"));
                        }
                        Event::SIPSessionGotMessage { content, .. } => {
                            say(&format!("message {id} {content}"));
                        }
                        Event::SIPSessionDidDeliverMessage { message_id, .. } => {
                            say(&format!("delivered {message_id}"));
                        }
                        Event::SIPSessionDidNotDeliverMessage { message_id, code, .. } => {
                            say(&format!("undelivered {message_id} {code}"));
                        }
                        Event::ChatStreamGotComposingIndication { state, .. } => {
                            say(&format!("composing {id} {state}"));
                        }
                        Event::FileTransferStreamDidFinish { error } => {
                            let Sender::Stream { session, index } = n.sender else { continue };
                            say(&format!(
                                "file-done {session} {index} {}",
                                error.as_deref().unwrap_or("ok")
                            ));
                            if error.is_none() {
                                if let Ok(Some(p)) = handle.received_file(session, index).await {
                                    say(&format!("received {session} {index} {}", p.display()));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                line = lines.recv() => {
                    let Some(line) = line else { break };
                    if !command(&handle, line.trim(), args.vnc).await {
                        break;
                    }
                }
            }
        }
        let _ = handle.unregister().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        driver.shutdown().await?;
        Ok(())
    }

    /// Runs one command line; `false` to quit.
    async fn command(
        handle: &sipsimple::native::Handle,
        line: &str,
        vnc: Option<SocketAddr>,
    ) -> bool {
        let mut words = line.splitn(3, ' ');
        let (cmd, a, b) = (words.next().unwrap_or(""), words.next(), words.next());
        let id = |s: Option<&str>| s.and_then(|s| s.parse::<u64>().ok());
        let r: Result<String, String> = match (cmd, a, b) {
            ("", _, _) => return true,
            ("quit", _, _) => return false,
            ("chat", Some(target), _) => handle
                .connect_chat(target)
                .await
                .map(|id| format!("session {id}"))
                .map_err(|e| e.to_string()),
            ("say", Some(s), Some(text)) => match id(Some(s)) {
                Some(s) => handle
                    .send_message(s, text, "text/plain")
                    .await
                    .map(|m| format!("sent {m}"))
                    .map_err(|e| e.to_string()),
                None => Err("say ID TEXT".into()),
            },
            ("composing", Some(s), Some(state)) => {
                let state = if state == "active" {
                    State::Active
                } else {
                    State::Idle
                };
                match id(Some(s)) {
                    Some(s) => handle
                        .send_composing_indication(s, state, Some(60))
                        .await
                        .map(|()| String::new())
                        .map_err(|e| e.to_string()),
                    None => Err("composing ID STATE".into()),
                }
            }
            ("file", Some(to), Some(path)) => match id(Some(to)) {
                Some(s) => handle
                    .add_file(s, path)
                    .await
                    .map(|()| format!("session {s}"))
                    .map_err(|e| e.to_string()),
                None => handle
                    .send_file(to, path)
                    .await
                    .map(|s| format!("session {s}"))
                    .map_err(|e| e.to_string()),
            },
            ("share", Some(target), _) => match vnc {
                Some(vnc) => handle
                    .share_desktop(target, vnc)
                    .await
                    .map(|s| format!("session {s}"))
                    .map_err(|e| e.to_string()),
                None => Err("share needs --vnc HOST:PORT".into()),
            },
            ("end", Some(s), _) => match id(Some(s)) {
                Some(s) => handle
                    .end(s)
                    .await
                    .map(|()| String::new())
                    .map_err(|e| e.to_string()),
                None => Err("end ID".into()),
            },
            _ => Err(format!("unknown command {line:?}")),
        };
        match r {
            Ok(s) if s.is_empty() => {}
            Ok(s) => say(&s),
            Err(e) => say(&format!("error {e}")),
        }
        true
    }
}

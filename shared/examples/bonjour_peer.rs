//! A scripted Bonjour peer (feature `native`): the Bonjour account `bonjour@local` on one
//! address, with no registrar. It announces its contact with mDNS/DNS-SD (`_sipuri._udp`),
//! browses for neighbours, accepts every incoming session (audio calls with a native audio
//! stream that sends silence, chats), and follows commands read from standard input, one a
//! line:
//!
//! ```text
//! call URI           an audio call to a neighbour's contact   → session ID
//! chat URI           a chat session                           → session ID
//! say ID TEXT        send a chat message                      → sent MESSAGE-ID
//! audio ID           whether the call received audio          → audio ID true|false
//! end ID             end a session
//! quit               say goodbye on mDNS and exit
//! ```
//!
//! It prints what happens, one line each: `activated ACCOUNT`, `contact URI`,
//! `neighbour-added URI NAME`, `neighbour-updated URI NAME`, `neighbour-removed URI`,
//! `discovery-failed REASON`, `incoming ID STREAMS`, `started ID`, `ended ID`,
//! `failed ID CODE REASON`, `message ID TEXT`, `delivered MESSAGE-ID`, `error TEXT`,
//! `deactivated ACCOUNT`.
//!
//! The multicast interface is the `--address` given: nothing is sent elsewhere. On a
//! loopback address it needs `ip link set lo multicast on` (tests run it in a network
//! namespace of their own):
//!
//! ```text
//! cargo run -p sipsimple --features native --example bonjour_peer -- \
//!     --address 127.0.0.2 --name Alice
//! ```

#[cfg(feature = "native")]
fn main() -> std::process::ExitCode {
    peer::main()
}

#[cfg(not(feature = "native"))]
fn main() {
    eprintln!("bonjour_peer needs the `native` feature: cargo run -p sipsimple --features native --example bonjour_peer");
}

#[cfg(feature = "native")]
mod peer {
    use sipsimple::account::{AccountEvent, AccountManager, BonjourAccount, BonjourEvent};
    use sipsimple::account::{ContactAddress, ContactUri};
    use sipsimple::native::{AudioOptions, Bonjour, BonjourConfig, Config, Driver, Handle};
    use sipsimple::rng::Rng;
    use sipsimple::settings::MemoryStorage;
    use sipsimple::{Event, Sender};
    use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
    use std::process::ExitCode;

    const USAGE: &str = "usage: bonjour_peer --address IPV4 [--port PORT] [--name NAME] \
        [--mdns-port PORT] [--receive-dir DIR]";

    struct Args {
        address: Ipv4Addr,
        port: u16,
        name: Option<String>,
        mdns_port: u16,
        receive_dir: Option<std::path::PathBuf>,
    }

    fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut a = Args {
            address: Ipv4Addr::UNSPECIFIED,
            port: 0,
            name: None,
            mdns_port: sipsimple::mdns::PORT,
            receive_dir: None,
        };
        let mut address = None;
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            let bad = |name: &str, v: &str| format!("bad {name} {v:?}");
            match arg.as_str() {
                "--address" => {
                    let v = value("--address")?;
                    address = Some(v.parse().map_err(|_| bad("--address", &v))?);
                }
                "--port" => {
                    let v = value("--port")?;
                    a.port = v.parse().map_err(|_| bad("--port", &v))?;
                }
                "--mdns-port" => {
                    let v = value("--mdns-port")?;
                    a.mdns_port = v.parse().map_err(|_| bad("--mdns-port", &v))?;
                }
                "--name" => a.name = Some(value("--name")?),
                "--receive-dir" => a.receive_dir = Some(value("--receive-dir")?.into()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        // No default: the interface is always chosen, never the machine's real one by
        // accident.
        a.address = address.ok_or("--address is required")?;
        Ok(a)
    }

    fn say(line: &str) {
        println!("{line}");
    }

    fn say_account(e: &AccountEvent) {
        match e {
            AccountEvent::SIPAccountDidActivate { account } => say(&format!("activated {account}")),
            AccountEvent::SIPAccountDidDeactivate { account } => {
                say(&format!("deactivated {account}"));
            }
            _ => {}
        }
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
        // The account: enabled and named in the settings, activated once the engine runs.
        let seed = u64::from(std::process::id()) ^ u64::from(args.address.to_bits());
        let mut store = MemoryStorage::new();
        let contact = ContactUri::random(
            &mut Rng::from_seed(seed),
            ContactAddress::new(args.address.to_string()),
        );
        let mut manager =
            AccountManager::with_contact_address(Rng::from_seed(seed), contact.address().clone());
        let bonjour = manager.bonjour_account_mut();
        bonjour.edit().enabled = true;
        bonjour.edit().display_name = args.name.clone();
        let report = manager.start(&store);
        report.events.iter().for_each(say_account);
        for e in manager.save_account(BonjourAccount::ID, &mut store)? {
            say_account(&e);
        }
        let account = manager.bonjour_account();
        if !account.is_active() {
            return Err("the Bonjour account did not activate".into());
        }

        let bind = SocketAddr::from((args.address, args.port));
        let mut config = Config::direct(account.account_config(), bind);
        config.receive_dir = args.receive_dir.clone();
        let mut driver = Driver::start(config).await?;
        let handle = driver.handle().clone();
        say(&format!("contact {}", driver.contact()));

        let mut bc = BonjourConfig::new(driver.contact(), args.address, driver.local_addr().port());
        bc.display_name = args.name.clone();
        bc.group = SocketAddrV4::new(sipsimple::mdns::GROUP_V4, args.mdns_port);
        let mut mdns = Bonjour::start(bc).await?;

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
                e = mdns.events.recv() => {
                    let Some(e) = e else { break };
                    let n = e.neighbour().cloned();
                    let uri = n.as_ref().map(|n| n.uri.clone()).unwrap_or_default();
                    let name = n.and_then(|n| n.display_name).unwrap_or_default();
                    match &e {
                        BonjourEvent::BonjourAccountDidAddNeighbour(_) => {
                            say(&format!("neighbour-added {uri} {name}"));
                        }
                        BonjourEvent::BonjourAccountDidUpdateNeighbour(_) => {
                            say(&format!("neighbour-updated {uri} {name}"));
                        }
                        BonjourEvent::BonjourAccountDidRemoveNeighbour(_) => {
                            say(&format!("neighbour-removed {uri}"));
                        }
                        BonjourEvent::BonjourAccountDiscoveryDidFail { reason } => {
                            say(&format!("discovery-failed {reason}"));
                        }
                        _ => {}
                    }
                }
                n = driver.notifications.recv() => {
                    let Some(n) = n else { break };
                    notification(&handle, n.notification).await;
                }
                line = lines.recv() => {
                    let Some(line) = line else { break };
                    if !command(&handle, line.trim()).await {
                        break;
                    }
                }
            }
        }
        mdns.stop().await?;
        driver.shutdown().await?;
        manager.stop().iter().for_each(say_account);
        Ok(())
    }

    async fn notification(handle: &Handle, n: sipsimple::Notification) {
        let id = match n.sender {
            Sender::Session(id) => id,
            Sender::Stream { session, .. } => session,
            _ => 0,
        };
        match &n.event {
            Event::SIPSessionNewIncoming { streams } => {
                say(&format!("incoming {id} {}", streams.join(",")));
                let accepted = if streams.iter().any(|s| s == "audio") {
                    handle.answer_with_audio(id, AudioOptions::default()).await
                } else {
                    handle.accept(id, None).await
                };
                if let Err(e) = accepted {
                    say(&format!("error accept: {e}"));
                }
            }
            Event::SIPSessionDidStart {} => say(&format!("started {id}")),
            Event::SIPSessionDidEnd { .. } => say(&format!("ended {id}")),
            Event::SIPSessionDidFail { code, reason, .. } => {
                say(&format!("failed {id} {code:?} {reason}"));
            }
            Event::SIPSessionGotMessage { content, .. } => say(&format!("message {id} {content}")),
            Event::SIPSessionDidDeliverMessage { message_id, .. } => {
                say(&format!("delivered {message_id}"));
            }
            _ => {}
        }
    }

    /// Runs one command line; `false` to quit.
    async fn command(handle: &Handle, line: &str) -> bool {
        let mut words = line.splitn(3, ' ');
        let (cmd, a, b) = (words.next().unwrap_or(""), words.next(), words.next());
        let id = a.and_then(|s| s.parse::<u64>().ok());
        let r: Result<String, String> = match (cmd, a, id, b) {
            ("", ..) => return true,
            ("quit", ..) => return false,
            ("call", Some(target), ..) => handle
                .call_with_audio(target, AudioOptions::default())
                .await
                .map(|id| format!("session {id}"))
                .map_err(|e| e.to_string()),
            ("chat", Some(target), ..) => handle
                .connect_chat(target)
                .await
                .map(|id| format!("session {id}"))
                .map_err(|e| e.to_string()),
            ("say", _, Some(s), Some(text)) => handle
                .send_message(s, text, "text/plain")
                .await
                .map(|m| format!("sent {m}"))
                .map_err(|e| e.to_string()),
            ("audio", _, Some(s), _) => handle
                .audio_was_received(s)
                .await
                .map(|got| format!("audio {s} {got}"))
                .map_err(|e| e.to_string()),
            ("end", _, Some(s), _) => handle
                .end(s)
                .await
                .map(|()| String::new())
                .map_err(|e| e.to_string()),
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

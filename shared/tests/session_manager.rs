//! SIPApplication and SessionManager: start and stop of the sub-systems with the
//! application's notifications through the NotificationCenter, and the list of active
//! sessions across user agents.

use sipsimple::application::{ApplicationError, SIPApplication};
use sipsimple::settings::{AccountSettings, MemoryStorage};
use sipsimple::{AccountConfig, Output, Sender, SessionState, Time, UserAgent};

const T0: Time = Time::from_millis(0);

fn ua(id: &str, seed: u64) -> UserAgent {
    UserAgent::new(AccountConfig::new(id, "secret"), seed).expect("valid")
}

#[test]
fn the_application_starts_and_stops_its_subsystems_in_order() {
    let mut store = MemoryStorage::new();
    let mut app = SIPApplication::new(1);
    app.notification_center
        .add_queue_observer("all", None, None);
    // An enabled account in storage activates on start.
    let mut manager = sipsimple::account::AccountManager::new(2);
    manager.start(&store);
    let mut alice = AccountSettings::new("alice@example.com");
    alice.enabled = true;
    manager.add_account(alice, &mut store).expect("valid");
    app.start(&store).expect("stopped");
    assert_eq!(
        app.start(&store).expect_err("running"),
        ApplicationError::AlreadyRunning
    );
    assert!(app.is_running());
    app.session_manager
        .add_user_agent(ua("alice@example.com", 3));
    app.session_manager.add_user_agent(ua("bob@example.com", 4));
    let alice = app
        .session_manager
        .user_agent_mut("alice@example.com")
        .expect("added");
    let id = alice.connect(T0, "carol@example.com", None).expect("valid");
    let bob = app
        .session_manager
        .user_agent_mut("bob@example.com")
        .expect("added");
    bob.connect_streams(T0, "carol@example.com", false, true)
        .expect("valid");
    let (account, invite) = app.poll_transmit().expect("alice's INVITE");
    assert_eq!(account, "alice@example.com");
    assert!(invite.starts_with(b"INVITE sip:carol@example.com"));
    let active = app.session_manager.sessions();
    assert_eq!(active.len(), 2);
    assert_eq!(active[0].account, "alice@example.com");
    assert_eq!(active[0].session.id(), id);
    assert_eq!(active[1].session.state(), SessionState::Calling);
    app.stop(T0);
    assert!(!app.is_running());
    // The calls are being cancelled (CANCEL waits for a provisional): still listed.
    assert!(app
        .session_manager
        .sessions()
        .iter()
        .all(|s| s.session.state() == SessionState::Terminating));
    while app.poll_transmit().is_some() {}
    app.notification_center.dispatch();
    let seen: Vec<String> = app
        .notification_center
        .drain_queue("all")
        .iter()
        .map(|n| {
            let who = match &n.sender {
                Sender::Application => "app".to_string(),
                Sender::Account(a) => a.clone(),
                Sender::Session(s) => format!("session{s}"),
                Sender::Stream { session, index } => format!("stream{session}/{index}"),
            };
            format!("{who}:{}", n.event.name())
        })
        .collect();
    assert_eq!(
        seen,
        [
            "app:SIPApplicationWillStart",
            "alice@example.com:SIPAccountDidActivate",
            "app:SIPApplicationDidStart",
            "session1:SIPSessionNewOutgoing",
            "session1:SIPSessionChangedState",
            "session1:SIPSessionNewOutgoing",
            "session1:SIPSessionChangedState",
            "app:SIPApplicationWillEnd",
            "session1:SIPSessionWillEnd",
            "session1:SIPSessionChangedState",
            "session1:SIPSessionWillEnd",
            "session1:SIPSessionChangedState",
            "alice@example.com:SIPAccountDidDeactivate",
            "app:SIPApplicationDidEnd",
        ]
    );
    // Stopping twice does nothing.
    assert!(app.stop(T0).is_empty());
    let _: Option<(String, Output)> = app.session_manager.poll_output();
}

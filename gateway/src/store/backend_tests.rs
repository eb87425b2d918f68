//! The store's behaviour on both backends: users add and verify, registrations persist and
//! expire, the call log. SQLite always runs; PostgreSQL runs when Debian's `postgresql` is
//! installed (a throwaway server on a loopback port in a temporary directory), is skipped with
//! a message otherwise, and is required when `CI` is set.

use super::*;
use crate::proxy::calls::CallEvent;
use crate::proxy::StoreOp;
use crate::registrar::Binding;
use sipsimple::sip::Uri;
use sipsimple::time::Time;
use sipsimple::transaction::{Dest, TransportKind};

/// Runs every check against `store`, which must be empty.
async fn exercise(store: &Store) {
    // Users: add, duplicate, verify the hashes, passwd, list, remove.
    assert_eq!(store.count_users().await.expect("count"), 0);
    store
        .add_user("alice", "sipsimple.local", "pw-1")
        .await
        .expect("add");
    assert!(matches!(
        store.add_user("alice", "sipsimple.local", "x").await,
        Err(StoreError::Exists(_))
    ));
    assert_eq!(
        store.hashes("alice", "sipsimple.local").await.expect("q"),
        Some(Hashes::new("alice", "sipsimple.local", "pw-1"))
    );
    assert_eq!(store.hashes("alice", "other").await.expect("q"), None);
    store
        .set_password("alice", "sipsimple.local", "pw-2")
        .await
        .expect("passwd");
    assert_eq!(
        store.hashes("alice", "sipsimple.local").await.expect("q"),
        Some(Hashes::new("alice", "sipsimple.local", "pw-2"))
    );
    assert!(matches!(
        store.set_password("nobody", "sipsimple.local", "x").await,
        Err(StoreError::NoSuchUser(_))
    ));
    store
        .add_user("bob", "sipsimple.local", "pw")
        .await
        .expect("add");
    let users = store.list_users().await.expect("list");
    assert_eq!(
        users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["alice", "bob"]
    );
    assert!(
        users[0].created_at > 1_700_000_000,
        "seconds since the epoch"
    );
    assert_eq!(store.count_users().await.expect("count"), 2);
    store.remove_user("bob").await.expect("remove");
    assert!(matches!(
        store.remove_user("bob").await,
        Err(StoreError::NoSuchUser(_))
    ));

    // Registrations: saved, refreshed in place, read back while live, expired, removed.
    let binding = |contact: &str, port: u16| Binding {
        contact: Uri::parse(contact).expect("uri"),
        expires_at: Time::from_millis(0),
        source: Dest::new(TransportKind::Udp, "127.0.0.1", port),
        updated: Time::from_millis(0),
    };
    let save = |user: &str, b: Binding, expires_in: u64| StoreOp::SaveBinding {
        user: user.to_string(),
        binding: b,
        expires_in,
    };
    let t0: i64 = 1_800_000_000_000;
    store
        .apply(
            &save("alice", binding("sip:alice@127.0.0.1:5070", 5070), 60),
            t0,
        )
        .await
        .expect("save");
    store
        .apply(
            &save("alice", binding("sip:alice@127.0.0.1:5070", 5071), 120),
            t0,
        )
        .await
        .expect("refresh");
    store
        .apply(
            &save("alice", binding("sip:alice@127.0.0.1:5080", 5080), 10),
            t0,
        )
        .await
        .expect("save 2");
    let live = store.live_bindings(t0 + 1).await.expect("live");
    assert_eq!(live.len(), 2);
    let first = live
        .iter()
        .find(|b| b.contact.port == Some(5070))
        .expect("refreshed binding");
    assert_eq!(first.source.port, 5071);
    assert_eq!(first.expires_at, t0 + 120_000);
    assert_eq!(
        store.live_bindings(t0 + 10_000).await.expect("live").len(),
        1
    );
    assert_eq!(
        store
            .delete_expired_bindings(t0 + 10_000)
            .await
            .expect("gc"),
        1
    );
    store
        .apply(
            &StoreOp::RemoveBinding {
                user: "alice".into(),
                contact: "sip:alice@127.0.0.1:5070".into(),
            },
            t0,
        )
        .await
        .expect("remove");
    assert!(store.live_bindings(t0).await.expect("live").is_empty());
    store
        .apply(
            &save("alice", binding("sip:alice@127.0.0.1:5090", 5090), 60),
            t0,
        )
        .await
        .expect("save 3");
    store
        .apply(
            &StoreOp::RemoveBindings {
                user: "alice".into(),
            },
            t0,
        )
        .await
        .expect("remove all");
    assert!(store.live_bindings(t0).await.expect("live").is_empty());

    // Cluster nodes: each row names the node that saved it; a node forgets only its own
    // WebSocket rows (start-up) and its own flows' rows (connection closed).
    let on = |id: &str| {
        store.clone().with_node(Node {
            id: id.into(),
            uri: format!(
                "sip:127.0.0.1:{};transport=udp",
                if id == "a" { 6001 } else { 6002 }
            ),
        })
    };
    let (a, b) = (on("a"), on("b"));
    let ws_binding = |contact: &str| Binding {
        source: Dest::new(TransportKind::Ws, "127.0.0.1", 40_000),
        ..binding(contact, 0)
    };
    a.apply(
        &save("alice", ws_binding("sip:a@one.invalid;transport=ws"), 60),
        t0,
    )
    .await
    .expect("ws on a");
    b.apply(
        &save("alice", ws_binding("sip:a@two.invalid;transport=ws"), 60),
        t0,
    )
    .await
    .expect("ws on b");
    b.apply(
        &save("alice", binding("sip:alice@127.0.0.1:7000", 7000), 60),
        t0,
    )
    .await
    .expect("udp on b");
    let rows = a.user_bindings("alice", t0).await.expect("locate");
    assert_eq!(rows.len(), 3);
    let one = rows
        .iter()
        .find(|r| r.contact.host == "one.invalid")
        .expect("one");
    assert_eq!(
        (one.node_id.as_str(), one.source.transport),
        ("a", TransportKind::Ws)
    );
    assert_eq!(one.node_uri, "sip:127.0.0.1:6001;transport=udp");
    assert!(a.user_bindings("bob", t0).await.expect("locate").is_empty());
    assert_eq!(a.forget_node_flows().await.expect("forget"), 1);
    // A's closed flow does not remove B's row of the same contact.
    a.apply(
        &StoreOp::ForgetFlowBinding {
            user: "alice".into(),
            contact: "sip:a@two.invalid;transport=ws".into(),
        },
        t0,
    )
    .await
    .expect("forget a");
    assert_eq!(a.user_bindings("alice", t0).await.expect("locate").len(), 2);
    b.apply(
        &StoreOp::ForgetFlowBinding {
            user: "alice".into(),
            contact: "sip:a@two.invalid;transport=ws".into(),
        },
        t0,
    )
    .await
    .expect("forget b");
    let rows = a.user_bindings("alice", t0).await.expect("locate");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].node_id, "b");
    b.apply(
        &StoreOp::RemoveBindings {
            user: "alice".into(),
        },
        t0,
    )
    .await
    .expect("remove all");

    // The call log: started, answered, ended; a failed call; newest first.
    let ev = |e: CallEvent, at: i64| async move { store.log_call(&e, at).await.expect("log") };
    ev(
        CallEvent::Started {
            id: "c1".into(),
            call_id: "call-1".into(),
            caller: "alice@sipsimple.local".into(),
            callee: "bob@sipsimple.local".into(),
        },
        t0,
    )
    .await;
    ev(
        CallEvent::Answered {
            id: "c1".into(),
            code: 200,
        },
        t0 + 5,
    )
    .await;
    ev(CallEvent::Ended { id: "c1".into() }, t0 + 9).await;
    ev(CallEvent::Ended { id: "c1".into() }, t0 + 99).await;
    ev(
        CallEvent::Started {
            id: "c2".into(),
            call_id: "call-2".into(),
            caller: "alice@sipsimple.local".into(),
            callee: "carol@elsewhere.example".into(),
        },
        t0 + 20,
    )
    .await;
    ev(
        CallEvent::Failed {
            id: "c2".into(),
            code: 486,
        },
        t0 + 21,
    )
    .await;
    let calls = store.calls(10).await.expect("calls");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, "c2");
    assert_eq!(calls[0].final_code, Some(486));
    assert_eq!(calls[0].answered_at, None);
    assert_eq!(calls[1].answered_at, Some(t0 + 5));
    assert_eq!(calls[1].ended_at, Some(t0 + 9), "the first end counts");
    assert_eq!(calls[1].final_code, Some(200));
    assert_eq!(store.calls(1).await.expect("calls").len(), 1);
}

#[tokio::test]
async fn sqlite_backend() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(&dir.path().join("data"), None)
        .await
        .expect("open");
    assert_eq!(store.backend(), "sqlite");
    exercise(&store).await;
    store.close().await;
    // A `sqlite:` URL names the file itself.
    let file = dir.path().join("other").join("x.db");
    let url = format!("sqlite:{}", file.display());
    let store = Store::connect(&dir.path().join("data"), Some(&url))
        .await
        .expect("open url");
    assert_eq!(store.count_users().await.expect("count"), 0);
    store.close().await;
    assert!(file.is_file());
}

#[path = "../../tests/common/postgres.rs"]
mod postgres;
use postgres::{postgres_bin, Postgres};

#[tokio::test]
async fn postgres_backend() {
    let Some(bin) = postgres_bin() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but PostgreSQL is not installed (cargo xtask setup --for test)"
        );
        eprintln!("skipped: PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb)");
        return;
    };
    let pg = Postgres::start(bin);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(dir.path(), Some(&pg.url))
        .await
        .expect("connect");
    assert_eq!(store.backend(), "postgres");
    exercise(&store).await;
    store.close().await;
    // A second gateway on the same database: migrations are not applied twice, data is shared.
    let again = Store::connect(dir.path(), Some(&pg.url))
        .await
        .expect("reconnect");
    assert_eq!(again.count_users().await.expect("count"), 1);
    assert_eq!(again.calls(10).await.expect("calls").len(), 2);
    again.close().await;
    assert!(
        !dir.path().join(DB_FILE).exists(),
        "no SQLite file when PostgreSQL is configured"
    );
}

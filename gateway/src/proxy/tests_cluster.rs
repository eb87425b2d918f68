//! Unit tests of the cluster's location service and hand-overs (`cluster.rs`): a request for
//! a user whose WebSocket flow is on another node is handed over there with a MAC, a valid
//! hand-over is delivered on our own flows only, and a forged one is refused.

use super::cluster::{ClusterNode, NodeBinding, NODE_HEADER};
use super::tests::*;
use super::*;

const OTHER: u16 = 5090;

fn node(id: &str) -> ClusterNode {
    ClusterNode {
        node_id: id.into(),
        secret: "cluster-secret-0123456789".into(),
        peers: Vec::new(),
    }
}

fn clustered(id: &str) -> H {
    let mut h = H::new();
    h.core.set_cluster(Some(node(id)));
    h
}

#[test]
fn a_user_on_another_node_gets_a_signed_hand_over() {
    let mut h = clustered("gw-a");
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:alice@sipsimple.local",
            "sip:c@example.com",
            "z9hG4bKh1",
            "",
        ),
    );
    let (token, user) = o.lookups.first().cloned().expect("a locate");
    assert_eq!(user, "alice");
    let ws_binding = NodeBinding {
        contact: sipsimple::sip::Uri::parse("sip:a@x1.invalid;transport=ws").expect("uri"),
        source: Dest::new(TransportKind::Ws, "127.0.0.1", 40_000),
        node_id: "gw-b".into(),
        node: Some(udp(OTHER)),
    };
    let o = h.input(Input::Located {
        token,
        answer: UserAnswer::Found(crate::store::Hashes::new("alice", DOMAIN, "secret")),
        bindings: vec![ws_binding],
    });
    let mut handed = o.request(&udp(OTHER), "INVITE");
    // As if node A had its own address (both test cores have the same one).
    handed.set_header("Via", "SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKa1");
    assert_eq!(
        handed.request_uri().map(ToString::to_string).as_deref(),
        Some("sip:alice@sipsimple.local")
    );
    let mark = handed.header(NODE_HEADER).expect("signed");
    assert!(mark.starts_with("gw-a;mac="), "{mark}");
    // Node B verifies it and delivers on its own flow.
    let mut b = clustered("gw-b");
    b.register(&ws(7), "alice", "sip:a@x1.invalid;transport=ws");
    let o = b.recv(&udp(5060), handed.clone());
    let delivered = o.request(&ws(7), "INVITE");
    assert!(delivered.header(NODE_HEADER).is_none(), "consumed");
    // Tampered (another Request-URI under the same MAC) or signed with another secret: 403.
    let mut forged = handed.clone();
    if let sipsimple::sip::StartLine::Request { uri, .. } = &mut forged.start {
        *uri = sipsimple::sip::Uri::parse("sip:victim@192.0.2.1").expect("uri");
    }
    forged.set_header("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKf2");
    let o = b.recv(&udp(5060), forged);
    assert_eq!(o.codes(&udp(5060)), vec![100, 403]);
    let mut c = H::new();
    c.core.set_cluster(Some(ClusterNode {
        secret: "another-secret-0123456789".into(),
        ..node("gw-c")
    }));
    let o = c.recv(&udp(5060), handed.clone());
    assert_eq!(o.codes(&udp(5060)), vec![100, 403]);
    // A gateway without a cluster refuses the header too.
    let o = H::new().recv(&udp(5060), handed);
    assert_eq!(o.codes(&udp(5060)), vec![100, 403]);
}

#[test]
fn udp_bindings_of_other_nodes_are_reached_directly() {
    let mut h = clustered("gw-a");
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:bob@sipsimple.local",
            "sip:c@example.com",
            "z9hG4bKh3",
            "",
        ),
    );
    let (token, _) = o.lookups.first().cloned().expect("a locate");
    let front = Dest::new(TransportKind::Udp, "127.0.0.1", 5999);
    let o = h.input(Input::Located {
        token,
        answer: UserAnswer::Found(crate::store::Hashes::new("bob", DOMAIN, "bobpass")),
        bindings: vec![NodeBinding {
            contact: sipsimple::sip::Uri::parse("sip:bob@127.0.0.1:7000").expect("uri"),
            source: front.clone(),
            node_id: "gw-b".into(),
            node: Some(udp(OTHER)),
        }],
    });
    let sent = o.request(&front, "INVITE");
    assert!(sent.header(NODE_HEADER).is_none());
    assert!(
        o.to(&udp(OTHER)).is_empty(),
        "no hand-over for a UDP binding"
    );
    // No binding anywhere: 480.
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:bob@sipsimple.local",
            "sip:c@example.com",
            "z9hG4bKh4",
            "",
        ),
    );
    let (token, _) = o.lookups.first().cloned().expect("a locate");
    let o = h.input(Input::Located {
        token,
        answer: UserAnswer::Found(crate::store::Hashes::new("bob", DOMAIN, "bobpass")),
        bindings: Vec::new(),
    });
    assert_eq!(o.codes(&udp(CALLER)), vec![480]);
}

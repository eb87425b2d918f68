//! Path rewriting and routing of the relay table (RFC 4976 §7.3), without sockets.

use super::*;
use sipsimple::msrp::Header;

fn uri(s: &str) -> Uri {
    Uri::parse(s).expect("valid")
}

fn local() -> Local {
    Local {
        host: "127.0.0.1".into(),
        tcp_port: Some(2855),
        tls_port: Some(2856),
        http_port: Some(8080),
        https_port: None,
    }
}

fn tx() -> Tx {
    mpsc::channel(1).0
}

/// A table with clients A (conn 1) and B (conn 2) authenticated, and an unauthenticated
/// TCP peer (conn 3). Returns their relay URIs.
fn table() -> (Table, Uri, Uri) {
    let mut t = Table::new(local(), 8);
    let ip: IpAddr = "127.0.0.1".parse().expect("ip");
    t.open(1, tx(), Transport::Ws, ip).expect("open");
    t.open(2, tx(), Transport::Tcp, ip).expect("open");
    t.open(3, tx(), Transport::Tcp, ip).expect("open");
    let later = Instant::now() + Duration::from_secs(60);
    let ra = t.issue(1, "alice", "aaaa1111", later).expect("issued");
    let rb = t.issue(2, "bob", "bbbb2222", later).expect("issued");
    (t, ra, rb)
}

fn send(to: Vec<Uri>, from: Vec<Uri>) -> Frame {
    let mut f = Frame::request(Method::Send, "tid12345".into(), to, from);
    f.message_id = Some("msg1".into());
    f.byte_range = Some(ByteRange::new(1, Some(2), Some(2)).expect("range"));
    f.body = Some(b"hi".to_vec());
    f.content_type = Some("text/plain".into());
    f
}

#[test]
fn issued_uris_are_the_tcp_listeners_or_the_websockets() {
    let (_, ra, rb) = table();
    assert_eq!(ra.to_string(), "msrp://127.0.0.1:2855/aaaa1111;tcp");
    assert_eq!(rb.to_string(), "msrp://127.0.0.1:2855/bbbb2222;tcp");
    assert_eq!(
        local().issue_uri("s0", Transport::Tls).to_string(),
        "msrps://127.0.0.1:2856/s0;tcp"
    );
    assert!(local().is_ours(&local().issue_uri("s0", Transport::Tls)));
    let ws_only = Local {
        tcp_port: None,
        https_port: Some(8443),
        ..local()
    };
    assert_eq!(
        ws_only.issue_uri("s1", Transport::Ws).to_string(),
        "msrp://127.0.0.1:8080/s1;ws"
    );
    assert_eq!(
        ws_only.issue_uri("s1", Transport::Wss).to_string(),
        "msrps://127.0.0.1:8443/s1;ws"
    );
    assert!(local().is_ours(&uri("msrp://127.0.0.1:2855/zz;tcp")));
    assert!(!local().is_ours(&uri("msrp://127.0.0.2:2855/zz;tcp")));
    assert!(!local().is_ours(&uri("msrp://127.0.0.1:2857/zz;tcp")));
}

/// A → relay → B on the same relay: both relay URIs move, in order, to From-Path.
#[test]
fn local_delivery_rewrites_both_hops() {
    let (t, ra, rb) = table();
    let a = uri("msrp://a.invalid:1/a1;ws");
    let b = uri("msrp://b.invalid:2/b2;tcp");
    let mut f = send(vec![ra.clone(), rb.clone(), b.clone()], vec![a.clone()]);
    assert_eq!(t.route(1, &mut f), Ok(Route::Conn(2)));
    assert_eq!(f.to_path, vec![b.clone()]);
    assert_eq!(f.from_path, vec![rb.clone(), ra.clone(), a.clone()]);
    // The REPORT back from B follows the reverse path to A.
    let mut r = Frame::request(
        Method::Report,
        "rep12345".into(),
        f.from_path.clone(),
        vec![b.clone()],
    );
    assert_eq!(t.route(2, &mut r), Ok(Route::Conn(1)));
    assert_eq!(r.to_path, vec![a]);
    assert_eq!(r.from_path, vec![ra, rb, b]);
}

/// A peer that did not authenticate may deliver to a client, and do nothing else.
#[test]
fn inbound_only_for_unauthenticated_peers() {
    let (t, _, rb) = table();
    let b = uri("msrp://b.invalid:2/b2;tcp");
    let far = uri("msrp://far.example:2855/f1;tcp");
    let mut f = send(vec![rb.clone(), b.clone()], vec![far.clone()]);
    assert_eq!(t.route(3, &mut f), Ok(Route::Conn(2)));
    assert_eq!(f.from_path, vec![rb.clone(), far.clone()]);
    // A foreign To-Path: 403, and the frame is not sent anywhere.
    let mut open = send(vec![far.clone(), b.clone()], vec![far.clone()]);
    assert_eq!(t.route(3, &mut open), Err(403));
    // Through B's URI onward to a foreign hop: B's URI delivers only to B.
    let mut onward = send(vec![rb.clone(), far.clone(), b.clone()], vec![far.clone()]);
    assert_eq!(t.route(3, &mut onward), Err(403));
    // A URI of ours that is not issued: 481.
    let mut gone = send(
        vec![uri("msrp://127.0.0.1:2855/nothere1;tcp"), b],
        vec![far],
    );
    assert_eq!(t.route(3, &mut gone), Err(481));
}

#[test]
fn outward_only_through_the_senders_own_uri() {
    let (t, ra, rb) = table();
    let a = uri("msrp://a.invalid:1/a1;ws");
    let far = uri("msrp://far.example:2999/f1;tcp");
    let mut f = send(vec![ra.clone(), far.clone()], vec![a.clone()]);
    assert_eq!(
        t.route(1, &mut f),
        Ok(Route::Remote {
            host: "far.example".into(),
            port: 2999,
            tls: false,
        })
    );
    // An msrps hop leaves over TLS; another transport does not leave at all.
    let secure = uri("msrps://far.example:2998/f2;tcp");
    let mut g = send(vec![ra.clone(), secure], vec![a.clone()]);
    assert_eq!(
        t.route(1, &mut g),
        Ok(Route::Remote {
            host: "far.example".into(),
            port: 2998,
            tls: true,
        })
    );
    assert_eq!(f.to_path, vec![far.clone()]);
    assert_eq!(f.from_path, vec![ra.clone(), a.clone()]);
    let mut h = send(
        vec![ra.clone(), uri("msrp://far.example:2997/f3;sctp")],
        vec![a.clone()],
    );
    assert_eq!(t.route(1, &mut h), Err(403));
    // Someone else's URI in From-Path: 403.
    let mut spoof = send(vec![ra.clone(), far.clone()], vec![rb.clone(), a.clone()]);
    assert_eq!(t.route(1, &mut spoof), Err(403));
    // The sender's own URI in From-Path is tolerated.
    let mut own = send(vec![ra.clone(), far.clone()], vec![ra.clone(), a.clone()]);
    assert!(t.route(1, &mut own).is_ok());
    // Addressed to the relay itself.
    let mut itself = send(vec![ra], vec![a]);
    assert_eq!(t.route(1, &mut itself), Err(400));
}

#[test]
fn per_ip_limit_and_close_fail_pending_back() {
    let (mut t, ra, rb) = table();
    let ip: IpAddr = "127.0.0.1".parse().expect("ip");
    let mut small = Table::new(local(), 1);
    small.open(7, tx(), Transport::Tcp, ip).expect("first");
    assert_eq!(
        small.open(8, tx(), Transport::Tcp, ip),
        Err(Refused::TooManyFromIp)
    );
    small
        .open(9, tx(), Transport::Outbound, ip)
        .expect("not counted");
    let mut rng = Rng::from_seed(1);
    small.close(7, &mut rng);
    assert!(!small.at_ip_limit(ip));

    let a = uri("msrp://a.invalid:1/a1;ws");
    let b = uri("msrp://b.invalid:2/b2;tcp");
    let original = send(vec![ra.clone(), rb.clone(), b.clone()], vec![a.clone()]);
    let mut stub = original.clone();
    stub.body = None;
    let pending = |acked| Pending {
        upstream: 1,
        request: stub.clone(),
        range: chunk_range(&original),
        acked,
        deadline: Instant::now(),
    };
    // Two chunks of one message waiting on B: one failure REPORT to A.
    t.add_pending(2, "down0001", pending(true));
    t.add_pending(2, "down0002", pending(true));
    let failed = t.close(2, &mut rng);
    assert_eq!(failed.len(), 1);
    let (conn, report) = &failed[0];
    assert_eq!(*conn, 1);
    assert_eq!(report.method(), Some(&Method::Report));
    assert_eq!(report.to_path, vec![a.clone()]);
    assert_eq!(report.from_path, vec![ra.clone()]);
    assert_eq!(report.status.as_ref().map(|s| s.code), Some(481));
    assert_eq!(
        report.byte_range.map(|r| (r.start, r.end)),
        Some((1, Some(2)))
    );
    // B's URI lapsed with its connection.
    assert!(t.lookup(&rb).is_none());
    // Not acknowledged: the response itself goes back; a timeout of `partial` is silent.
    t.add_pending(3, "down0003", pending(false));
    let expired = t.expire(Instant::now() + Duration::from_secs(1), &mut rng);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].1.code(), Some(408));
    let mut partial = pending(false);
    partial.request.failure_report = Some(FailureReport::Partial);
    t.add_pending(3, "down0004", partial);
    assert!(t
        .expire(Instant::now() + Duration::from_secs(1), &mut rng)
        .is_empty());
    // Responses keep the headers a relay needs to pass on (AUTH through relays).
    let mut auth = Frame::request(Method::Auth, "auth1234".into(), vec![ra], vec![a]);
    auth.headers.push(Header {
        name: "Expires".into(),
        value: "60".into(),
    });
    assert_eq!(
        auth.response(401, None).map(|r| r.to_path),
        Some(auth.from_path)
    );
}

//! Several gateways behind one front proxy, sharing the location service through the
//! database (docs/scaling.md). A WebSocket flow (RFC 7118 §5), like any connection, lives on
//! one node only; a binding made over UDP through the front proxy is reachable from every
//! node (its source is the front, which routes on the Request-URI, as a Path would).
//!
//! So the node that receives a request for one of our users (the *origin*) asks the store for
//! the user's bindings on every node and forks (RFC 3261 §16.6) to: its own bindings; the
//! UDP bindings other nodes saved, directly; and once to each other node that holds a
//! connection-bound binding — a *hand-over*, the request with its Request-URI unchanged (the
//! AOR) and an `X-Sipsimple-Node` header carrying a MAC made with the secret every node
//! shares. The receiving node delivers a hand-over to its own connection-bound bindings only
//! (never on to another node: no loops), and skips the digest challenge the origin already
//! made. A hand-over header that does not verify is refused with 403: the hand-over is no
//! open relay.

use super::forward::Prepared;
use super::Core;
use crate::config::cluster::Peer;
use sipsimple::auth::{constant_time_eq, Algorithm};
use sipsimple::sip::{Message, Uri};
use sipsimple::transaction::{Dest, TransportKind};
use sipsimple::Time;
use std::collections::HashSet;

/// The header of a hand-over: `X-Sipsimple-Node: <node id>;mac=<hex>`.
pub const NODE_HEADER: &str = "X-Sipsimple-Node";
/// Hex characters of a hand-over's MAC.
const MAC_LEN: usize = 32;

/// This node of a cluster.
#[derive(Debug, Clone)]
pub struct ClusterNode {
    /// Its id, as the store writes it beside its registrations.
    pub node_id: String,
    /// The secret every node shares.
    pub secret: String,
    /// The sources hand-overs are accepted from; empty: any with a valid MAC.
    pub peers: Vec<Peer>,
}

/// A registration as the shared store holds it, for the location service of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeBinding {
    /// The contact.
    pub contact: Uri,
    /// Where its REGISTER came from (for UDP: where requests for it go).
    pub source: Dest,
    /// The node that holds it.
    pub node_id: String,
    /// Where that node is reached, when it said.
    pub node: Option<Dest>,
}

/// What a hand-over header says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandOver {
    /// There is none: an ordinary request.
    None,
    /// A valid one from another node of the cluster.
    Valid,
    /// One that does not verify (or no cluster is configured to verify it).
    Forged,
}

impl ClusterNode {
    fn mac(&self, node_id: &str, msg: &Message) -> String {
        let from_tag = crate::sipmsg::name_addr(msg, "From")
            .and_then(|n| n.tag().map(str::to_string))
            .unwrap_or_default();
        let text = format!(
            "{}|{node_id}|{}|{}|{}|{}|{}",
            self.secret,
            msg.request_uri().map(Uri::to_string).unwrap_or_default(),
            msg.header("Call-ID").unwrap_or_default(),
            msg.header("CSeq").unwrap_or_default(),
            from_tag,
            self.secret,
        );
        let h = Algorithm::Sha256.hex(&text);
        h.get(..MAC_LEN).unwrap_or(&h).to_string()
    }

    /// The value of the hand-over header for `msg` as it will be sent.
    pub fn sign(&self, msg: &Message) -> String {
        format!("{};mac={}", self.node_id, self.mac(&self.node_id, msg))
    }

    /// Checks the hand-over header of `msg`, received from `source`.
    pub fn verify(&self, source: &Dest, msg: &Message) -> HandOver {
        let values = msg.header_values(NODE_HEADER);
        let [value] = values.as_slice() else {
            return if values.is_empty() {
                HandOver::None
            } else {
                HandOver::Forged
            };
        };
        let Some((node_id, mac)) = value.trim().split_once(";mac=") else {
            return HandOver::Forged;
        };
        let from_peer = self.peers.is_empty() || self.peers.iter().any(|p| p.matches(source));
        let expected = self.mac(node_id, msg);
        if from_peer
            && node_id != self.node_id
            && constant_time_eq(expected.as_bytes(), mac.as_bytes())
        {
            HandOver::Valid
        } else {
            HandOver::Forged
        }
    }
}

/// `true` for a binding whose requests must leave through the node holding its connection.
fn needs_its_node(source: &Dest) -> bool {
    source.transport != TransportKind::Udp
}

impl Core {
    /// Makes this core a node of a cluster.
    pub fn set_cluster(&mut self, node: Option<ClusterNode>) {
        if let Some(n) = &node {
            // Every node takes the answers to the others' challenges: the nonce key comes
            // from the shared secret (derived, so that no MAC of one kind serves the other).
            let key = Algorithm::Sha256.hex(&format!("sipsimple digest nonces|{}", n.secret));
            self.registrar.digest.set_key(&key);
        }
        self.cluster = node;
    }

    /// `true` when the location service is the shared store's.
    pub(super) fn clustered(&self) -> bool {
        self.cluster.is_some()
    }

    /// What the hand-over header of a request from `source` is worth.
    pub(super) fn hand_over(&self, source: &Dest, msg: &Message) -> HandOver {
        match &self.cluster {
            Some(c) => c.verify(source, msg),
            None if msg.header(NODE_HEADER).is_some() => HandOver::Forged,
            None => HandOver::None,
        }
    }

    /// Our own live bindings of `user` that a hand-over is delivered to: the ones tied to
    /// a connection of this node (the origin reached the others itself).
    pub(super) fn hand_over_targets(&self, now: Time, user: &str) -> super::forward::Targets {
        self.registrar
            .lookup(user, now)
            .into_iter()
            .filter(|b| needs_its_node(&b.source))
            .filter_map(|b| Some((Some(b.contact.clone()), b.dest()?)))
            .collect()
    }

    /// The branches of a request for `user` at the origin: our bindings, the other nodes'
    /// UDP bindings directly, and one hand-over to each other node holding a connection of
    /// the user's. Returns them with the destinations that are hand-overs.
    pub(super) fn cluster_targets(
        &self,
        now: Time,
        user: &str,
        stored: &[NodeBinding],
    ) -> (super::forward::Targets, Vec<Dest>) {
        let me = self
            .cluster
            .as_ref()
            .map(|c| c.node_id.as_str())
            .unwrap_or("");
        let mut targets = Vec::new();
        let mut nodes: Vec<Dest> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for b in stored.iter().filter(|b| b.node_id != me) {
            seen.insert(b.contact.to_string());
            if !needs_its_node(&b.source) {
                targets.push((Some(b.contact.clone()), b.source.clone()));
            } else if let Some(node) = b.node.as_ref().filter(|n| !nodes.contains(n)) {
                nodes.push(node.clone());
                targets.push((None, node.clone()));
            }
        }
        for b in self.registrar.lookup(user, now) {
            if seen.contains(&b.contact.to_string()) {
                // Registered again on another node since: the store's row is the truth.
                continue;
            }
            if let Some(d) = b.dest() {
                targets.push((Some(b.contact.clone()), d));
            }
        }
        (targets, nodes)
    }

    /// Signs the copy of a request that goes to another node.
    pub(super) fn sign_hand_over(&self, prep: &Prepared, dest: &Dest, msg: &mut Message) {
        if let Some(c) = &self.cluster {
            if prep.node_dests.contains(dest) {
                msg.remove_header(NODE_HEADER);
                let value = c.sign(msg);
                msg.push_header(NODE_HEADER, value);
            }
        }
    }
}

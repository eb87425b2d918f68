//! Multicast DNS service discovery for the Bonjour account (RFC 6762 multicast DNS, RFC 6763
//! DNS-based service discovery), sans-IO: announce our SIP contact as a `_sipuri._udp`
//! (and `_sipuri._tcp`) service instance and keep the list of neighbours that announce
//! theirs, as python-sipsimple's `BonjourServices` did over Apple's mDNSResponder.
//!
//! What goes on the wire follows python-sipsimple, so that the two can see each other: the
//! instance name is the contact URI itself, the SRV record names our host and the contact's
//! port, and the TXT record carries `txtvers=1`, `name=<display name>`,
//! `contact=<sip:...>` and `instance_id=<uuid>` (RFC 6763 §6 key/value strings).
//!
//! The drive loop is the crate's: [`Discovery::start`], then [`Discovery::handle_packet`]
//! for each datagram received on the mDNS group and [`Discovery::handle_timeout`] at
//! [`Discovery::poll_timeout`]; drain [`Discovery::poll_output`] after each: every
//! [`Output::Transmit`] goes to the group (224.0.0.251:5353, RFC 6762 §3) on the interface
//! the shell chose. [`Discovery::stop`] says goodbye (the records again with TTL 0,
//! RFC 6762 §10.1).
//!
//! Simplifications, for a LAN of SIP user agents: no probing for a unique name (RFC 6762
//! §8.1; the contact URI, with a random user part and our own address and port, is unique
//! already), responses always multicast (no unicast responses, §5.4), known-answer
//! suppression for the PTR question only (§7.1), and no duplicate-question suppression.
//!
//! ```
//! use sipsimple::mdns::{Discovery, Output, Service};
//! use sipsimple::Time;
//! let service = Service::new("sip:alice@192.0.2.1:5060", [192, 0, 2, 1].into(), 5060);
//! let mut d = Discovery::new(service, 7);
//! d.start(Time::from_millis(0));
//! assert!(matches!(d.poll_output(), Some(Output::Transmit(_)))); // the announcement
//! ```

pub mod dns;

use crate::rng::Rng;
use crate::time::Time;
use core::time::Duration;
use dns::{Message, Name, Question, Rdata, Record};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

/// The mDNS port (RFC 6762 §3).
pub const PORT: u16 = 5353;
/// The IPv4 group (RFC 6762 §3).
pub const GROUP_V4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(224, 0, 0, 251);
/// The TTL of records naming a host (SRV, A): RFC 6762 §10's 120 seconds.
pub const HOST_TTL: u32 = 120;
/// The TTL of the other records (PTR, TXT): RFC 6762 §10's 75 minutes.
pub const OTHER_TTL: u32 = 4500;
/// How often the browsing query is repeated at most (RFC 6762 §5.2 lets the interval grow
/// to an hour; a minute keeps a LAN list fresh).
pub const MAX_QUERY_INTERVAL: Duration = Duration::from_secs(60);

/// Our service instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The contact URI (`sip:user@host:port`, with `;transport=tcp` over TCP); also the
    /// instance name.
    pub contact: String,
    /// The display name, for the TXT `name` key.
    pub display_name: Option<String>,
    /// The TXT `instance_id` key (a UUID, without `urn:uuid:`).
    pub instance_id: Option<String>,
    /// The address of the A (or AAAA) record.
    pub address: IpAddr,
    /// The SRV port: the contact's.
    pub port: u16,
    /// The service types announced and browsed, `_sipuri._udp` and/or `_sipuri._tcp`.
    pub types: Vec<String>,
}

impl Service {
    /// A `_sipuri._udp` service for `contact` at `address:port`.
    pub fn new(contact: &str, address: IpAddr, port: u16) -> Service {
        Service {
            contact: contact.to_string(),
            display_name: None,
            instance_id: None,
            address,
            port,
            types: vec!["_sipuri._udp".to_string()],
        }
    }

    fn txt(&self) -> Vec<Vec<u8>> {
        let mut v = vec![b"txtvers=1".to_vec()];
        if let Some(n) = &self.display_name {
            v.push(format!("name={n}").into_bytes());
        }
        v.push(format!("contact=<{}>", self.contact).into_bytes());
        if let Some(id) = &self.instance_id {
            v.push(format!("instance_id={id}").into_bytes());
        }
        v
    }
}

/// A neighbour as its records describe it (python-sipsimple's `BonjourNeighbourRecord`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neighbour {
    /// The service instance's full name (`<contact>._sipuri._udp.local.`): the neighbour's
    /// key.
    pub neighbour: String,
    /// The contact URI from the TXT `contact` key (else the instance name): where to call.
    pub uri: String,
    /// The TXT `name`.
    pub display_name: Option<String>,
    /// The SRV target without `.local`.
    pub host: String,
    /// The TXT `instance_id`.
    pub id: Option<String>,
}

/// What discovery reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A neighbour appeared.
    Added(Neighbour),
    /// A neighbour's records changed (a new contact or display name).
    Updated(Neighbour),
    /// A neighbour said goodbye or its records expired.
    Removed(Neighbour),
}

/// Something the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this datagram to the mDNS group.
    Transmit(Vec<u8>),
    /// Report this.
    Event(Event),
}

/// What is known of one instance, complete or not.
#[derive(Debug, Clone, Default)]
struct Entry {
    txt: Option<Vec<Vec<u8>>>,
    target: Option<Name>,
    /// When the PTR expires.
    expires: Option<Time>,
    /// What was reported last.
    reported: Option<Neighbour>,
    /// Asked for its SRV and TXT once already.
    queried: bool,
}

/// Announces one service and browses for the others of its types.
#[derive(Debug)]
pub struct Discovery {
    service: Service,
    host: Name,
    types: Vec<Name>,
    instances: Vec<Name>,
    entries: BTreeMap<String, (Name, Entry)>,
    out: VecDeque<Output>,
    running: bool,
    announcements_left: u8,
    next_announcement: Option<Time>,
    next_query: Option<Time>,
    query_interval: Duration,
}

impl Discovery {
    /// Discovery for `service`; `seed` names our host (`<random>.local`).
    pub fn new(service: Service, seed: u64) -> Discovery {
        let host = Name::parse_dotted(&format!(
            "sipsimple-{}.local",
            Rng::from_seed(seed).letters(10)
        ));
        let types: Vec<Name> = service
            .types
            .iter()
            .map(|t| Name::parse_dotted(&format!("{t}.local")))
            .collect();
        let instances = types
            .iter()
            .map(|t| Name::child(service.contact.as_bytes(), t))
            .collect();
        Discovery {
            service,
            host,
            types,
            instances,
            entries: BTreeMap::new(),
            out: VecDeque::new(),
            running: false,
            announcements_left: 0,
            next_announcement: None,
            next_query: None,
            query_interval: Duration::from_secs(1),
        }
    }

    /// Our service.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The neighbours known now.
    pub fn neighbours(&self) -> impl Iterator<Item = &Neighbour> {
        self.entries
            .values()
            .filter_map(|(_, e)| e.reported.as_ref())
    }

    /// Announces the service (three times, one then two seconds apart, RFC 6762 §8.3) and
    /// starts browsing.
    pub fn start(&mut self, now: Time) {
        self.running = true;
        self.announce(now, false);
        self.announcements_left = 2;
        self.next_announcement = Some(now + Duration::from_secs(1));
        self.query(now);
        self.query_interval = Duration::from_secs(1);
        self.next_query = Some(now + self.query_interval);
    }

    /// Says goodbye and stops; the neighbours are forgotten without events.
    pub fn stop(&mut self, now: Time) {
        if self.running {
            self.announce(now, true);
        }
        self.running = false;
        self.next_announcement = None;
        self.next_query = None;
        self.entries.clear();
    }

    /// The next output, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Discovery::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Time> {
        let expiries = self.entries.values().filter_map(|(_, e)| e.expires);
        [self.next_announcement, self.next_query]
            .into_iter()
            .flatten()
            .chain(expiries)
            .min()
    }

    /// Repeats announcements and queries, and drops neighbours whose records expired.
    pub fn handle_timeout(&mut self, now: Time) {
        if !self.running {
            return;
        }
        if self.next_announcement.is_some_and(|t| t <= now) {
            self.announce(now, false);
            self.announcements_left = self.announcements_left.saturating_sub(1);
            self.next_announcement =
                (self.announcements_left > 0).then(|| now + Duration::from_secs(2));
        }
        if self.next_query.is_some_and(|t| t <= now) {
            self.query(now);
            self.query_interval = (self.query_interval * 2).min(MAX_QUERY_INTERVAL);
            self.next_query = Some(now + self.query_interval);
        }
        let expired: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, (_, e))| e.expires.is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.forget(&key);
        }
    }

    /// A datagram received on the group. Malformed ones are ignored (they are returned as
    /// the error, for logging).
    pub fn handle_packet(&mut self, now: Time, bytes: &[u8]) -> Result<(), dns::Error> {
        let msg = Message::parse(bytes)?;
        // Our own datagrams come back (multicast loops): our records are skipped when
        // learning, and answering our own query costs one datagram.
        if !self.running {
            return Ok(());
        }
        if msg.is_response() {
            self.learn(now, &msg);
        } else {
            self.answer(&msg);
        }
        Ok(())
    }

    /// Our records: PTR (shared), SRV, TXT and the address (unique, cache-flush).
    fn records(&self, ttl_zero: bool) -> Vec<Record> {
        let ttl = |t: u32| if ttl_zero { 0 } else { t };
        let mut v = Vec::new();
        for (t, instance) in self.types.iter().zip(&self.instances) {
            v.push(Record {
                name: t.clone(),
                cache_flush: false,
                ttl: ttl(OTHER_TTL),
                data: Rdata::Ptr(instance.clone()),
            });
            v.push(Record {
                name: instance.clone(),
                cache_flush: true,
                ttl: ttl(HOST_TTL),
                data: Rdata::Srv {
                    priority: 0,
                    weight: 0,
                    port: self.service.port,
                    target: self.host.clone(),
                },
            });
            v.push(Record {
                name: instance.clone(),
                cache_flush: true,
                ttl: ttl(OTHER_TTL),
                data: Rdata::Txt(self.service.txt()),
            });
        }
        v.push(Record {
            name: self.host.clone(),
            cache_flush: true,
            ttl: ttl(HOST_TTL),
            data: match self.service.address {
                IpAddr::V4(a) => Rdata::A(a),
                IpAddr::V6(a) => Rdata::Aaaa(a),
            },
        });
        v
    }

    fn response(answers: Vec<Record>) -> Message {
        Message {
            flags: dns::FLAG_RESPONSE | dns::FLAG_AUTHORITATIVE,
            answers,
            ..Message::default()
        }
    }

    fn announce(&mut self, _now: Time, goodbye: bool) {
        let msg = Self::response(self.records(goodbye));
        self.transmit(msg);
    }

    fn transmit(&mut self, msg: Message) {
        self.out.push_back(Output::Transmit(msg.to_bytes()));
    }

    /// Asks for the instances of our types, listing those we know as known answers
    /// (RFC 6762 §7.1) so that they do not answer again.
    fn query(&mut self, now: Time) {
        let questions = self
            .types
            .iter()
            .map(|t| Question {
                name: t.clone(),
                qtype: dns::TYPE_PTR,
                unicast_response: false,
            })
            .collect();
        // A known answer goes out only while more than half its TTL is left (§7.1).
        let answers = self
            .entries
            .values()
            .filter(|(_, e)| e.reported.is_some())
            .filter_map(|(name, e)| {
                let left = e.expires?.saturating_since(now).as_secs();
                let ttl = u32::try_from(left).unwrap_or(u32::MAX);
                let t = self.types.iter().find(|t| name.ends_with(t))?;
                (ttl > OTHER_TTL / 2).then(|| Record {
                    name: t.clone(),
                    cache_flush: false,
                    ttl,
                    data: Rdata::Ptr(name.clone()),
                })
            })
            .collect();
        let msg = Message {
            questions,
            answers,
            ..Message::default()
        };
        self.transmit(msg);
    }

    /// Answers a query that asks about us with all our records.
    fn answer(&mut self, query: &Message) {
        let ours = |q: &Question| {
            let type_ok = |want: &[u16]| q.qtype == dns::TYPE_ANY || want.contains(&q.qtype);
            (self.types.contains(&q.name) && type_ok(&[dns::TYPE_PTR]))
                || (self.instances.contains(&q.name) && type_ok(&[dns::TYPE_SRV, dns::TYPE_TXT]))
                || (q.name == self.host && type_ok(&[dns::TYPE_A, dns::TYPE_AAAA]))
        };
        if !query.questions.iter().any(ours) {
            return;
        }
        // Known-answer suppression: the asker lists our PTR with at least half its TTL.
        let known = self.instances.iter().all(|instance| {
            query.answers.iter().any(|r| {
                r.ttl >= OTHER_TTL / 2 && matches!(&r.data, Rdata::Ptr(n) if n == instance)
            })
        });
        let only_ptr = query.questions.iter().all(|q| q.qtype == dns::TYPE_PTR);
        if known && only_ptr {
            return;
        }
        let msg = Self::response(self.records(false));
        self.transmit(msg);
    }

    /// Takes in a response's records: PTRs of our types name instances; SRV and TXT
    /// describe them; a TTL of 0 removes.
    fn learn(&mut self, now: Time, msg: &Message) {
        let mut touched = Vec::new();
        for r in msg.records() {
            match &r.data {
                Rdata::Ptr(instance)
                    if self.types.contains(&r.name) && instance.ends_with(&r.name) =>
                {
                    if self.instances.contains(instance) {
                        continue;
                    }
                    let key = instance.to_string().to_ascii_lowercase();
                    if r.ttl == 0 {
                        self.forget(&key);
                        continue;
                    }
                    let (_, e) = self
                        .entries
                        .entry(key.clone())
                        .or_insert_with(|| (instance.clone(), Entry::default()));
                    e.expires = Some(now + Duration::from_secs(u64::from(r.ttl)));
                    touched.push(key);
                }
                Rdata::Srv { target, .. } => {
                    if let Some((_, e)) = self.entry_mut(&r.name) {
                        e.target = Some(target.clone());
                        touched.push(r.name.to_string().to_ascii_lowercase());
                    }
                }
                Rdata::Txt(strings) => {
                    if let Some((_, e)) = self.entry_mut(&r.name) {
                        if r.ttl == 0 {
                            continue;
                        }
                        e.txt = Some(strings.clone());
                        touched.push(r.name.to_string().to_ascii_lowercase());
                    }
                }
                _ => {}
            }
        }
        touched.sort();
        touched.dedup();
        for key in touched {
            self.report(&key);
        }
    }

    fn entry_mut(&mut self, name: &Name) -> Option<&mut (Name, Entry)> {
        self.entries.get_mut(&name.to_string().to_ascii_lowercase())
    }

    /// Reports an instance whose description is complete, or asks for what is missing.
    fn report(&mut self, key: &str) {
        let Some((name, e)) = self.entries.get_mut(key) else {
            return;
        };
        let Some(txt) = &e.txt else {
            if !e.queried {
                e.queried = true;
                let name = name.clone();
                self.ask_instance(name);
            }
            return;
        };
        let value = |k: &str| {
            txt.iter().find_map(|s| {
                let s = String::from_utf8_lossy(s);
                let (key, v) = s.split_once('=')?;
                key.eq_ignore_ascii_case(k).then(|| v.to_string())
            })
        };
        let uri = value("contact")
            .map(|c| c.trim_matches(|c| c == '<' || c == '>').to_string())
            .unwrap_or_else(|| name.first_label());
        if uri == self.service.contact {
            return;
        }
        let host = e
            .target
            .as_ref()
            .map(|t| {
                let mut labels = t.0.clone();
                if labels
                    .last()
                    .is_some_and(|l| l.eq_ignore_ascii_case(b"local"))
                {
                    labels.pop();
                }
                Name(labels).to_string().trim_end_matches('.').to_string()
            })
            .unwrap_or_default();
        let neighbour = Neighbour {
            neighbour: name.to_string(),
            uri,
            display_name: value("name").filter(|n| !n.is_empty()),
            host,
            id: value("instance_id"),
        };
        let event = match &e.reported {
            None => Event::Added(neighbour.clone()),
            Some(old) if *old != neighbour => Event::Updated(neighbour.clone()),
            Some(_) => return,
        };
        e.reported = Some(neighbour);
        self.out.push_back(Output::Event(event));
    }

    fn ask_instance(&mut self, instance: Name) {
        let questions = [dns::TYPE_SRV, dns::TYPE_TXT]
            .into_iter()
            .map(|qtype| Question {
                name: instance.clone(),
                qtype,
                unicast_response: false,
            })
            .collect();
        let msg = Message {
            questions,
            ..Message::default()
        };
        self.transmit(msg);
    }

    fn forget(&mut self, key: &str) {
        if let Some((_, e)) = self.entries.remove(key) {
            if let Some(n) = e.reported {
                self.out.push_back(Output::Event(Event::Removed(n)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Discovery, Discovery) {
        let mut a = Service::new(
            "sip:alice@127.0.0.2:5060",
            IpAddr::from([127, 0, 0, 2]),
            5060,
        );
        a.display_name = Some("Alice".into());
        a.instance_id = Some("id-a".into());
        let b = Service::new("sip:bob@127.0.0.3:5062", IpAddr::from([127, 0, 0, 3]), 5062);
        (Discovery::new(a, 1), Discovery::new(b, 2))
    }

    /// Delivers every datagram of `from` to both (multicast loops back); returns `to`'s
    /// events and `from`'s.
    fn deliver(now: Time, from: &mut Discovery, to: &mut Discovery) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(o) = from.poll_output() {
            match o {
                Output::Transmit(b) => {
                    to.handle_packet(now, &b).expect("valid");
                    from.handle_packet(now, &b).expect("valid");
                }
                Output::Event(e) => events.push(e),
            }
        }
        events
    }

    fn events_of(d: &mut Discovery) -> Vec<Event> {
        let mut v = Vec::new();
        let mut rest = VecDeque::new();
        while let Some(o) = d.poll_output() {
            match o {
                Output::Event(e) => v.push(e),
                other => rest.push_back(other),
            }
        }
        d.out = rest;
        v
    }

    #[test]
    fn two_neighbours_find_each_other_and_say_goodbye() {
        let (mut a, mut b) = pair();
        let t0 = Time::from_millis(0);
        a.start(t0);
        b.start(t0);
        deliver(t0, &mut a, &mut b);
        let got = events_of(&mut b);
        assert_eq!(got.len(), 1, "{got:?}");
        let Event::Added(n) = &got[0] else {
            panic!("added")
        };
        assert_eq!(n.uri, "sip:alice@127.0.0.2:5060");
        assert_eq!(n.display_name.as_deref(), Some("Alice"));
        assert_eq!(n.id.as_deref(), Some("id-a"));
        assert!(n.host.starts_with("sipsimple-"), "{}", n.host);
        assert!(events_of(&mut a).is_empty(), "not ourselves");
        deliver(t0, &mut b, &mut a);
        let got = events_of(&mut a);
        assert!(
            matches!(&got[..], [Event::Added(n)] if n.uri == "sip:bob@127.0.0.3:5062"),
            "{got:?}"
        );
        deliver(t0, &mut a, &mut b);
        assert!(events_of(&mut b).is_empty(), "no duplicate add");
        assert_eq!(a.neighbours().count(), 1);
        b.stop(Time::from_millis(500));
        deliver(t0, &mut b, &mut a);
        let got = events_of(&mut a);
        assert!(
            matches!(&got[..], [Event::Removed(n)] if n.uri == "sip:bob@127.0.0.3:5062"),
            "{got:?}"
        );
        assert_eq!(a.neighbours().count(), 0);
    }

    #[test]
    fn a_changed_txt_is_an_update_and_expiry_a_removal() {
        let (mut a, mut b) = pair();
        let t0 = Time::from_millis(0);
        a.start(t0);
        b.start(t0);
        deliver(t0, &mut a, &mut b);
        assert_eq!(events_of(&mut b).len(), 1);
        a.service.display_name = Some("Alice Liddell".into());
        a.announce(t0, false);
        deliver(t0, &mut a, &mut b);
        let got = events_of(&mut b);
        assert!(
            matches!(&got[..], [Event::Updated(n)] if n.display_name.as_deref() == Some("Alice Liddell")),
            "{got:?}"
        );
        let late = Time::from_millis(u64::from(OTHER_TTL) * 1000 + 1);
        b.handle_timeout(late);
        let got = events_of(&mut b);
        assert!(matches!(&got[..], [Event::Removed(_)]), "{got:?}");
    }

    #[test]
    fn a_known_answer_suppresses_the_response_and_a_ptr_alone_asks_for_more() {
        let (mut a, mut b) = pair();
        let t0 = Time::from_millis(0);
        a.start(t0);
        b.start(t0);
        deliver(t0, &mut a, &mut b);
        while b.poll_output().is_some() {}
        b.query(t0);
        let Some(Output::Transmit(q)) = b.poll_output() else {
            panic!("a query")
        };
        a.handle_packet(t0, &q).expect("valid");
        assert_eq!(a.poll_output(), None, "B knows A already");
        // A PTR without its SRV and TXT: B asks for them.
        let ptr = Message {
            flags: dns::FLAG_RESPONSE,
            answers: a.records(false).into_iter().take(1).collect(),
            ..Message::default()
        };
        let mut c = Discovery::new(
            Service::new("sip:c@127.0.0.4", IpAddr::from([127, 0, 0, 4]), 5060),
            3,
        );
        c.start(t0);
        while c.poll_output().is_some() {}
        c.handle_packet(t0, &ptr.to_bytes()).expect("valid");
        let Some(Output::Transmit(ask)) = c.poll_output() else {
            panic!("a question")
        };
        let ask = Message::parse(&ask).expect("valid");
        assert_eq!(ask.questions.len(), 2);
        assert_eq!(ask.questions[0].name, a.instances[0]);
    }

    #[test]
    fn garbage_is_an_error_and_changes_nothing() {
        let (mut a, _) = pair();
        a.start(Time::from_millis(0));
        while a.poll_output().is_some() {}
        assert!(a.handle_packet(Time::from_millis(0), b"\x00\x01").is_err());
        assert_eq!(a.poll_output(), None);
    }
}

//! Runs rsip 0.4 and the core's parser on the 49 RFC 4475 messages and the 12 RFC 5118 ones and
//! counts how many each handles as the RFCs expect: valid ones read (To, From, CSeq, Via and
//! Call-ID typed), invalid ones refused. `cargo test -p sip-parse-bench -- --nocapture` prints
//! the table recorded in `docs/decisions.md`.

use sip_parse_bench::{rsip_outcome, RsipOutcome};
use sipsimple::sip::Message;

/// The messages RFC 4475 and RFC 5118 (as `shared/tests/sip_torture.rs` and `sip_ipv6.rs`
/// classify them) say must be refused; all others must be accepted.
/// RFC 5118's two invalid messages; RFC 4475's come from `rfc4475-invalid.txt`.
const INVALID_5118: &[&str] = &["ipv6-bad", "ipv6-bug-abnf-3-colons"];

fn invalid() -> Vec<String> {
    let list = format!(
        "{}/../../shared/tests/vectors/rfc4475-invalid.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut names: Vec<String> = std::fs::read_to_string(list)
        .expect("the invalid list")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    names.extend(INVALID_5118.iter().map(|s| s.to_string()));
    names
}

fn corpus(dir: &str) -> Vec<(String, Vec<u8>)> {
    let path = format!(
        "{}/../../shared/tests/vectors/{dir}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(path)
        .expect("vectors")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "dat"))
        .map(|p| {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read(&p).expect("readable"))
        })
        .collect();
    out.sort();
    out
}

struct Tally {
    ours: usize,
    rsip: usize,
    rsip_framing: usize,
    total: usize,
}

fn run(dir: &str) -> Tally {
    let mut t = Tally {
        ours: 0,
        rsip: 0,
        rsip_framing: 0,
        total: 0,
    };
    let invalid = invalid();
    for (name, bytes) in corpus(dir) {
        let valid = !invalid.contains(&name);
        let ours_ok = Message::parse_strict(&bytes).is_ok();
        let rsip = rsip_outcome(&bytes);
        let rsip_ok = rsip == RsipOutcome::Accepted;
        let rsip_framed = matches!(
            rsip,
            RsipOutcome::Accepted | RsipOutcome::ParsedButTypedFailed
        );
        println!(
            "{dir:8} {name:30} expect {:7} ours {:7} rsip {rsip:?}",
            if valid { "accept" } else { "refuse" },
            if ours_ok { "accept" } else { "refuse" },
        );
        t.ours += usize::from(ours_ok == valid);
        t.rsip += usize::from(rsip_ok == valid);
        t.rsip_framing += usize::from(rsip_framed == valid);
        t.total += 1;
    }
    println!(
        "{dir}: ours {}/{}, rsip {}/{} (typed headers), rsip {}/{} (message parse only)",
        t.ours, t.total, t.rsip, t.total, t.rsip_framing, t.total
    );
    t
}

#[test]
fn torture_scores() {
    let t = run("rfc4475");
    assert_eq!(t.total, 49);
    assert_eq!(
        t.ours, 49,
        "the core handles every RFC 4475 message as expected"
    );
    // rsip's score is recorded in docs/decisions.md; pinned so that a change is noticed.
    assert_eq!(
        (t.rsip, t.rsip_framing),
        (RSIP_4475_TYPED, RSIP_4475_FRAMING)
    );
    let t = run("rfc5118");
    assert_eq!(t.total, 12);
    assert_eq!(t.ours, 12);
    assert_eq!(
        (t.rsip, t.rsip_framing),
        (RSIP_5118_TYPED, RSIP_5118_FRAMING)
    );
}

const RSIP_4475_TYPED: usize = 29;
const RSIP_4475_FRAMING: usize = 28;
const RSIP_5118_TYPED: usize = 2;
const RSIP_5118_FRAMING: usize = 4;

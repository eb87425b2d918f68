//! The composer and receiver state machines of RFC 3994 §3.2–§3.3 on a virtual clock: no
//! sleeps, time only moves when the test moves it.

use core::num::NonZeroU32;
use core::time::Duration;
use sipsimple::cpim::DateTime;
use sipsimple::iscomposing::{
    ComposingConfig, ComposingOutput, ComposingReceiver, ComposingState, IsComposing,
    RemoteComposing, State,
};
use sipsimple::Time;

const T0: Time = Time::from_millis(1_000_000);

fn at(secs: u64) -> Time {
    T0 + Duration::from_secs(secs)
}

fn at_ms(ms: u64) -> Time {
    T0 + Duration::from_millis(ms)
}

#[test]
fn typing_then_pause_sends_active_then_idle_after_15_s() {
    let mut c = ComposingState::new(ComposingConfig::default());
    assert_eq!(c.state(), State::Idle);
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(c.typing(at(0)), Some(ComposingOutput::SendActive));
    assert_eq!(c.state(), State::Active);
    assert_eq!(c.poll_timeout(), Some(at(15)));
    // More keystrokes send nothing; they push the idle timeout back.
    assert_eq!(c.typing(at(2)), None);
    assert_eq!(c.typing(at(5)), None);
    assert_eq!(c.poll_timeout(), Some(at(20)));
    assert_eq!(
        c.handle_timeout(at(15)),
        None,
        "an early timer does nothing"
    );
    assert_eq!(
        c.handle_timeout(at(20)),
        Some(ComposingOutput::SendIdle { last_active: at(5) })
    );
    assert_eq!(c.state(), State::Idle);
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(c.handle_timeout(at(30)), None);
    // Typing again starts a new active period at once.
    assert_eq!(c.typing(at(40)), Some(ComposingOutput::SendActive));
}

#[test]
fn sending_the_message_goes_idle_silently() {
    let mut c = ComposingState::new(ComposingConfig::default());
    assert_eq!(c.typing(at(0)), Some(ComposingOutput::SendActive));
    c.message_sent(at(3));
    assert_eq!(c.state(), State::Idle);
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(c.handle_timeout(at(100)), None);
}

/// Drives the composer like a shell: a key press every `every` ms until `until` ms, always
/// advancing to the earlier of the next key press and the composer's timeout.
fn drive(c: &mut ComposingState, every: u64, until: u64, end: u64) -> Vec<(u64, ComposingOutput)> {
    let mut out = Vec::new();
    let mut next_key = 0;
    let mut now = 0;
    while now <= end {
        let timer = c.poll_timeout().map(|t| t.as_millis() - T0.as_millis());
        let key = (next_key <= until).then_some(next_key);
        now = match (timer, key) {
            (Some(t), Some(k)) => t.min(k),
            (Some(t), None) => t,
            (None, Some(k)) => k,
            (None, None) => break,
        };
        if timer == Some(now) {
            if let Some(o) = c.handle_timeout(at_ms(now)) {
                out.push((now, o));
            }
        }
        if key == Some(now) {
            if let Some(o) = c.typing(at_ms(now)) {
                out.push((now, o));
            }
            next_key += every;
        }
    }
    out
}

#[test]
fn continuous_typing_refreshes_every_120_s_then_idles() {
    let mut c = ComposingState::new(ComposingConfig::default());
    let out = drive(&mut c, 4_000, 300_000, 1_000_000);
    assert_eq!(
        out,
        [
            (0, ComposingOutput::SendActive),
            (120_000, ComposingOutput::SendActive),
            (240_000, ComposingOutput::SendActive),
            (
                315_000,
                ComposingOutput::SendIdle {
                    last_active: at_ms(300_000)
                }
            ),
        ]
    );
}

#[test]
fn configured_intervals_are_used() {
    let config = ComposingConfig {
        idle_timeout: Duration::from_secs(5),
        refresh: Duration::from_secs(60),
        content_type: Some("audio".into()),
    };
    let mut c = ComposingState::new(config);
    let out = drive(&mut c, 2_000, 130_000, 500_000);
    let actives: Vec<u64> = out
        .iter()
        .filter(|(_, o)| *o == ComposingOutput::SendActive)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(actives, [0, 60_000, 120_000]);
    assert_eq!(
        out.last(),
        Some(&(
            135_000,
            ComposingOutput::SendIdle {
                last_active: at_ms(130_000)
            }
        ))
    );
    let doc = c.document(
        &ComposingOutput::SendActive,
        at(0),
        DateTime::from_unix(0, 0, 0).expect("epoch"),
    );
    assert_eq!(doc, IsComposing::active(Some("audio"), NonZeroU32::new(60)));
}

#[test]
fn a_late_timer_still_yields_one_refresh() {
    let mut c = ComposingState::new(ComposingConfig::default());
    c.typing(at(0));
    for s in (10..=130).step_by(10) {
        // The shell's timer was not serviced: the keystroke itself triggers the refresh.
        let o = c.typing(at(s));
        assert_eq!(o.is_some(), s == 120, "at {s}");
    }
}

#[test]
fn documents_carry_refresh_and_wall_clock_lastactive() {
    let mut c = ComposingState::new(ComposingConfig::default());
    let wall_now = DateTime::parse_rfc3339("2003-01-27T10:43:20Z").expect("valid");
    let active = c.typing(at(0)).expect("active");
    assert_eq!(
        c.document(&active, at(0), wall_now),
        IsComposing::active(None, NonZeroU32::new(120))
    );
    c.typing(at_ms(4_500));
    let idle = c.handle_timeout(at_ms(19_500)).expect("idle");
    let doc = c.document(&idle, at_ms(19_500), wall_now);
    assert_eq!(doc.state, State::Idle);
    assert_eq!(
        doc.last_active.map(|t| t.to_string()),
        Some("2003-01-27T10:43:05Z".to_string())
    );
    // A sub-second refresh interval is announced as one second, never zero.
    let c = ComposingState::new(ComposingConfig {
        refresh: Duration::from_millis(300),
        ..ComposingConfig::default()
    });
    let doc = c.document(&ComposingOutput::SendActive, at(0), wall_now);
    assert_eq!(doc.refresh, NonZeroU32::new(1));
}

#[test]
fn receiver_expires_active_after_refresh_or_120_s() {
    let mut r = ComposingReceiver::new();
    let active60 = IsComposing::active(Some("text/plain"), NonZeroU32::new(60));
    assert_eq!(
        r.handle_status(at(0), &active60),
        Some(RemoteComposing::Active {
            content_type: Some("text/plain".into())
        })
    );
    assert_eq!(r.poll_timeout(), Some(at(60)));
    assert_eq!(
        r.handle_status(at(50), &active60),
        None,
        "a refresh is no change"
    );
    assert_eq!(r.poll_timeout(), Some(at(110)));
    assert_eq!(r.handle_timeout(at(109)), None);
    assert_eq!(
        r.handle_timeout(at(110)),
        Some(RemoteComposing::Idle { last_active: None })
    );
    assert_eq!(r.state(), State::Idle);

    // Without <refresh>, 120 s.
    let active = IsComposing::active(None, None);
    assert!(r.handle_status(at(200), &active).is_some());
    assert_eq!(r.poll_timeout(), Some(at(320)));
    assert_eq!(r.handle_timeout(at(319)), None);
    assert!(r.handle_timeout(at(320)).is_some());
}

#[test]
fn receiver_goes_idle_on_idle_documents_and_messages() {
    let mut r = ComposingReceiver::new();
    let when = DateTime::parse_rfc3339("2003-01-27T10:43:00Z").expect("valid");
    let idle = IsComposing::idle(None, Some(when));
    assert_eq!(r.handle_status(at(0), &idle), None, "already idle");
    r.handle_status(at(1), &IsComposing::active(None, None));
    assert_eq!(
        r.handle_status(at(2), &idle),
        Some(RemoteComposing::Idle {
            last_active: Some(when)
        })
    );
    assert_eq!(r.poll_timeout(), None);
    r.handle_status(at(3), &IsComposing::active(None, None));
    assert_eq!(
        r.message_received(at(4)),
        Some(RemoteComposing::Idle { last_active: None })
    );
    assert_eq!(r.message_received(at(5)), None);
}

/// A composer and a receiver joined by a link with 300 ms latency; documents go through
/// their wire form. The user types for five minutes, pauses, then types and sends.
#[test]
fn composer_and_receiver_agree_over_a_delayed_link() {
    const LATENCY: u64 = 300;
    let mut c = ComposingState::new(ComposingConfig::default());
    let mut r = ComposingReceiver::new().with_grace(Duration::from_secs(2));
    let wall0 = DateTime::parse_rfc3339("2024-05-01T12:00:00Z").expect("valid");
    let mut in_flight: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut shown: Vec<(u64, State)> = Vec::new();
    let keys: Vec<u64> = (0..=300_000)
        .step_by(3_000)
        .chain((400_000..=410_000).step_by(1_000))
        .collect();
    let mut keys = keys.into_iter().peekable();
    let send_at = 410_500;
    let mut sent = false;
    loop {
        let candidates = [
            keys.peek().copied(),
            c.poll_timeout().map(|t| t.as_millis() - T0.as_millis()),
            r.poll_timeout().map(|t| t.as_millis() - T0.as_millis()),
            in_flight.first().map(|(t, _)| *t),
            (!sent).then_some(send_at),
        ];
        let Some(now) = candidates.iter().flatten().min().copied() else {
            break;
        };
        let mut outputs = Vec::new();
        if keys.peek() == Some(&now) {
            keys.next();
            outputs.extend(c.typing(at_ms(now)));
        }
        outputs.extend(c.handle_timeout(at_ms(now)));
        if !sent && now == send_at {
            sent = true;
            c.message_sent(at_ms(now));
            in_flight.push((now + LATENCY, b"the message".to_vec()));
        }
        for o in outputs {
            let wall = wall0
                .checked_add(Duration::from_millis(now))
                .expect("in range");
            let doc = c.document(&o, at_ms(now), wall);
            in_flight.push((now + LATENCY, doc.to_bytes()));
        }
        while in_flight.first().is_some_and(|(t, _)| *t == now) {
            let (_, bytes) = in_flight.remove(0);
            let change = match IsComposing::parse(&bytes) {
                Ok(doc) => r.handle_status(at_ms(now), &doc),
                Err(_) => r.message_received(at_ms(now)),
            };
            if change.is_some() {
                shown.push((now, r.state()));
            }
        }
        if let Some(change) = r.handle_timeout(at_ms(now)) {
            assert!(matches!(change, RemoteComposing::Idle { .. }));
            shown.push((now, State::Idle));
        }
    }
    assert_eq!(
        shown,
        [
            (300, State::Active),
            (315_300, State::Idle),
            (400_300, State::Active),
            (410_800, State::Idle),
        ]
    );
}

//! Property tests of the is-composing document and state machines: round trips, no panic on
//! arbitrary input, and the composer's invariants under arbitrary event sequences.

use core::num::NonZeroU32;
use core::time::Duration;
use proptest::prelude::*;
use sipsimple::cpim::DateTime;
use sipsimple::iscomposing::{
    ComposingConfig, ComposingOutput, ComposingState, IsComposing, State,
};
use sipsimple::Time;

fn datetime() -> impl Strategy<Value = DateTime> {
    (0i64..253_402_300_799, 0u32..1_000_000_000, -1439i16..=1439)
        .prop_map(|(s, ns, off)| DateTime::from_unix(s, ns, off).expect("in range"))
}

fn document() -> impl Strategy<Value = IsComposing> {
    (
        prop_oneof![Just(State::Active), Just(State::Idle)],
        proptest::option::of(datetime()),
        // XML has no way to carry most controls, and surrounding white space is trimmed.
        proptest::option::of("[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,30}")
            .prop_map(|o| o.map(|s| s.trim_matches([' ', '\t', '\r', '\n']).to_string())),
        proptest::option::of(1u32..).prop_map(|r| r.and_then(NonZeroU32::new)),
    )
        .prop_map(|(state, last_active, content_type, refresh)| IsComposing {
            state,
            last_active,
            content_type,
            refresh,
        })
}

#[derive(Debug, Clone)]
enum Event {
    Type,
    Timeout,
    Sent,
}

proptest! {
    #[test]
    fn encode_then_parse_is_identity(doc in document()) {
        prop_assert_eq!(IsComposing::parse(&doc.to_bytes()), Ok(doc));
    }

    #[test]
    fn parse_never_panics_on_bytes(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = IsComposing::parse(&input);
    }

    #[test]
    fn parse_never_panics_on_xml_like_text(
        input in "(<[/?!]?[a-z:]{0,6}( [a-z:]{1,6}=['\"][^<'\"]{0,8}['\"])?/?>|&[#a-z0-9]{0,5};?|[a-z \n]{0,6}|<!\\[CDATA\\[|\\]\\]>|<!--|-->){0,40}"
    ) {
        let _ = IsComposing::parse(input.as_bytes());
    }

    #[test]
    fn mangled_documents_never_panic(doc in document(), i in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut bytes = doc.to_bytes();
        let at = i.index(bytes.len());
        bytes[at] = b;
        let _ = IsComposing::parse(&bytes);
        bytes.truncate(at);
        let _ = IsComposing::parse(&bytes);
    }

    /// Whatever the user does, the composer alternates active and idle sensibly: idle is
    /// sent only when active, never sooner than the idle timeout after the last keystroke,
    /// and a timeout is pending exactly while active.
    #[test]
    fn composer_invariants(steps in proptest::collection::vec((0u64..40_000, prop_oneof![Just(Event::Type), Just(Event::Timeout), Just(Event::Sent)]), 1..60)) {
        let mut c = ComposingState::new(ComposingConfig::default());
        let mut now = Time::from_millis(0);
        let mut last_key = None;
        for (dt, ev) in steps {
            now = now + Duration::from_millis(dt);
            let was = c.state();
            let out = match ev {
                Event::Type => { last_key = Some(now); c.typing(now) }
                Event::Timeout => c.handle_timeout(now),
                Event::Sent => { c.message_sent(now); None }
            };
            match out {
                Some(ComposingOutput::SendIdle { last_active }) => {
                    prop_assert_eq!(was, State::Active);
                    prop_assert_eq!(Some(last_active), last_key);
                    prop_assert!(now.saturating_since(last_active) >= Duration::from_secs(15));
                }
                Some(ComposingOutput::SendActive) => prop_assert_eq!(c.state(), State::Active),
                None => {}
            }
            prop_assert_eq!(c.poll_timeout().is_some(), c.state() == State::Active);
            if let Some(t) = c.poll_timeout() {
                prop_assert!(t > now || matches!(ev, Event::Type));
            }
        }
    }
}

//! Helpers shared by the `sip_*` test files: the accept-and-round-trip check of RFC 4475 §3.1.1
//! ("must parse, and re-serialise to an equivalent message").

#![allow(dead_code)]

use sipsimple::sip::{Message, StrictError, ValidationError};

/// Parses strictly, re-serialises, parses the result strictly again and checks that both
/// parses hold the same values. Content-Length is left out of the comparison, as
/// [`Message::encode`] adds one when the original had none.
pub fn accept(bytes: &[u8]) -> Message {
    let m = Message::parse_strict(bytes).unwrap_or_else(|e| panic!("refused: {e}"));
    let again = Message::parse_strict(&m.to_bytes())
        .unwrap_or_else(|e| panic!("re-serialised form refused: {e}"));
    assert_same_values(&m, &again);
    m
}

/// Asserts that two messages hold the same start line, headers (Content-Length aside) and body.
pub fn assert_same_values(a: &Message, b: &Message) {
    assert_eq!(a.start, b.start, "start lines differ");
    assert_eq!(a.body, b.body, "bodies differ");
    let strip = |m: &Message| {
        let mut m = m.clone();
        m.remove_header("Content-Length");
        m.headers
    };
    assert_eq!(strip(a), strip(b), "headers differ");
}

/// The validation error of a message that parses but breaks a header rule.
pub fn invalid(bytes: &[u8]) -> ValidationError {
    let m = Message::parse(bytes).unwrap_or_else(|e| panic!("syntax layer refused: {e}"));
    let e = m.validate().expect_err("validation must refuse");
    match Message::parse_strict(bytes) {
        Err(StrictError::Invalid(strict)) => {
            // The same rule fires; only the line numbering may differ (input vs encoded).
            assert_eq!(
                core::mem::discriminant(&strict),
                core::mem::discriminant(&e)
            );
            strict
        }
        other => panic!("parse_strict gave {other:?}"),
    }
}

//! Refused session descriptions: each error variant with the line it names (RFC 8866 §5, §9)
//! and the limits of the parser.

use sipsimple::sdp::{
    SdpError, SessionDescription, MAX_ATTRIBUTES, MAX_LINE_LEN, MAX_MEDIA, MAX_SDP_LEN,
};

const HEAD: &str = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n";

fn err(input: &str) -> SdpError {
    SessionDescription::parse(input.as_bytes()).expect_err("the input is refused")
}

/// `HEAD` (4 lines) followed by `tail`: the tail's first line is line 5.
fn after_head(tail: &str) -> SdpError {
    err(&format!("{HEAD}{tail}"))
}

#[test]
fn empty_input() {
    assert_eq!(err(""), SdpError::Empty);
    assert_eq!(err("\r\n\n\r\n"), SdpError::Empty);
}

#[test]
fn too_large() {
    let mut big = String::from(HEAD);
    while big.len() <= MAX_SDP_LEN {
        big.push_str("a=x-padding:0123456789012345678901234567890123456789\r\n");
    }
    assert_eq!(err(&big), SdpError::TooLarge);
}

#[test]
fn version_first() {
    assert_eq!(
        err("o=- 1 1 IN IP4 h\nv=0\n"),
        SdpError::MissingVersion { line: 1 }
    );
    assert_eq!(err("\r\n\r\ns=x\n"), SdpError::MissingVersion { line: 3 });
    assert_eq!(err("v=1\n"), SdpError::UnsupportedVersion { line: 1 });
    assert_eq!(err(" v=0\n"), SdpError::BadLine { line: 1 });
}

#[test]
fn unknown_line_type() {
    assert_eq!(
        after_head("x=what\n"),
        SdpError::UnknownLineType {
            line: 5,
            letter: 'x'
        }
    );
    assert_eq!(
        after_head("m=audio 1 RTP/AVP 0\nq=1\n"),
        SdpError::UnknownLineType {
            line: 6,
            letter: 'q'
        }
    );
    assert_eq!(
        after_head("A=sendrecv\n"),
        SdpError::UnknownLineType {
            line: 5,
            letter: 'A'
        }
    );
}

#[test]
fn lines_that_are_not_type_equals_value() {
    assert_eq!(after_head("garbage\n"), SdpError::BadLine { line: 5 });
    assert_eq!(after_head("=x\n"), SdpError::BadLine { line: 5 });
    assert_eq!(after_head("a =x\n"), SdpError::BadLine { line: 5 });
    assert_eq!(after_head("1=x\n"), SdpError::BadLine { line: 5 });
    assert_eq!(after_head("\u{e9}=x\n"), SdpError::BadLine { line: 5 });
}

#[test]
fn not_text() {
    let mut bytes = HEAD.as_bytes().to_vec();
    bytes.extend_from_slice(b"m=audio 1 RTP/AVP 0\na=x:\xff\xfe\n");
    assert_eq!(
        SessionDescription::parse(&bytes),
        Err(SdpError::NotText { line: 6 })
    );
}

#[test]
fn value_too_long() {
    let long = format!("a=x:{}\n", "y".repeat(MAX_LINE_LEN));
    assert_eq!(after_head(&long), SdpError::ValueTooLong { line: 5 });
    let just_fits = format!("a=x:{}\n", "y".repeat(MAX_LINE_LEN - 4));
    assert!(SessionDescription::parse(format!("{HEAD}{just_fits}").as_bytes()).is_ok());
}

#[test]
fn missing_required_lines() {
    assert_eq!(err("v=0\ns=-\nt=0 0\n"), SdpError::Missing { letter: 'o' });
    assert_eq!(
        err("v=0\no=- 1 1 IN IP4 h\nt=0 0\nm=audio 1 RTP/AVP 0\n"),
        SdpError::Missing { letter: 's' }
    );
    // t= is required by RFC 8866 but missing in some agents' output: tolerated.
    let no_t = SessionDescription::parse(b"v=0\no=- 1 1 IN IP4 h\ns=-\n").expect("tolerated");
    assert!(no_t.timings.is_empty());
}

#[test]
fn duplicate_lines() {
    assert_eq!(
        after_head("o=- 2 2 IN IP4 h\n"),
        SdpError::DuplicateLine {
            line: 5,
            letter: 'o'
        }
    );
    assert_eq!(
        after_head("s=again\n"),
        SdpError::DuplicateLine {
            line: 5,
            letter: 's'
        }
    );
    assert_eq!(
        after_head("c=IN IP4 h\nc=IN IP4 h\n"),
        SdpError::DuplicateLine {
            line: 6,
            letter: 'c'
        }
    );
    assert_eq!(
        after_head("m=audio 1 RTP/AVP 0\ni=a\nk=clear:x\ni=b\n"),
        SdpError::DuplicateLine {
            line: 8,
            letter: 'i'
        }
    );
    // One i= per section: the session's and each media's are separate.
    let ok = format!("{HEAD}i=s\nm=audio 1 RTP/AVP 0\ni=a\nm=audio 2 RTP/AVP 0\ni=b\n");
    assert!(SessionDescription::parse(ok.as_bytes()).is_ok());
}

#[test]
fn misplaced_lines() {
    assert_eq!(
        after_head("m=audio 1 RTP/AVP 0\nt=0 0\n"),
        SdpError::MisplacedLine {
            line: 6,
            letter: 't'
        }
    );
    assert_eq!(
        after_head("m=audio 1 RTP/AVP 0\ns=-\n"),
        SdpError::MisplacedLine {
            line: 6,
            letter: 's'
        }
    );
    assert_eq!(
        err("v=0\no=- 1 1 IN IP4 h\ns=-\nr=7d 1h 0 25h\nt=0 0\n"),
        SdpError::MisplacedLine {
            line: 4,
            letter: 'r'
        }
    );
    assert_eq!(
        after_head("v=0\n"),
        SdpError::MisplacedLine {
            line: 5,
            letter: 'v'
        }
    );
}

#[test]
fn malformed_structured_lines() {
    assert_eq!(
        err("v=0\no=- 1 1 IN IP4\n"),
        SdpError::BadOrigin { line: 2 }
    );
    assert_eq!(
        err("v=0\no=- 1 x IN IP4 h\n"),
        SdpError::BadOrigin { line: 2 }
    );
    assert_eq!(
        err("v=0\no=- a 1 IN IP4 h\n"),
        SdpError::BadOrigin { line: 2 }
    );
    assert_eq!(
        err("v=0\no=- 1 1 IN IP4 h extra\n"),
        SdpError::BadOrigin { line: 2 }
    );
    assert_eq!(
        after_head("c=IN IP4\n"),
        SdpError::BadConnection { line: 5 }
    );
    assert_eq!(
        after_head("m=audio 1 RTP/AVP 0\nc=IN IP4 a b\n"),
        SdpError::BadConnection { line: 6 }
    );
    assert_eq!(after_head("b=AS\n"), SdpError::BadBandwidth { line: 5 });
    assert_eq!(after_head("b=AS:-1\n"), SdpError::BadBandwidth { line: 5 });
    assert_eq!(after_head("b=:64\n"), SdpError::BadBandwidth { line: 5 });
    assert_eq!(after_head("t=0\n"), SdpError::BadTiming { line: 5 });
    assert_eq!(after_head("t=now 0\n"), SdpError::BadTiming { line: 5 });
}

#[test]
fn bad_media_lines() {
    assert_eq!(after_head("m=audio\n"), SdpError::BadMedia { line: 5 });
    assert_eq!(
        after_head("m=audio 49170\n"),
        SdpError::BadMedia { line: 5 }
    );
    assert_eq!(
        after_head("m=audio 49170 RTP/AVP\n"),
        SdpError::BadMedia { line: 5 },
        "an active stream needs a format"
    );
    assert_eq!(
        after_head("m=au:dio 1 RTP/AVP 0\n"),
        SdpError::BadMedia { line: 5 }
    );
    assert_eq!(
        after_head("m=audio 1 RTP//AVP 0\n"),
        SdpError::BadMedia { line: 5 }
    );
    // A rejected stream without formats is tolerated.
    let rejected = format!("{HEAD}m=audio 0 RTP/AVP\n");
    let sdp = SessionDescription::parse(rejected.as_bytes()).expect("tolerated");
    assert!(sdp.media[0].formats.is_empty());
}

#[test]
fn bad_ports() {
    for m in [
        "m=audio 65536 RTP/AVP 0\n",
        "m=audio -1 RTP/AVP 0\n",
        "m=audio +5 RTP/AVP 0\n",
        "m=audio x RTP/AVP 0\n",
        "m=audio 5/x RTP/AVP 0\n",
        "m=audio 5/ RTP/AVP 0\n",
        "m=audio 5/70000 RTP/AVP 0\n",
    ] {
        assert_eq!(after_head(m), SdpError::BadPort { line: 5 }, "{m:?}");
    }
    let pair = format!("{HEAD}m=video 49170/2 RTP/AVP 31\n");
    let sdp = SessionDescription::parse(pair.as_bytes()).expect("a port count");
    assert_eq!(
        (sdp.media[0].port, sdp.media[0].port_count),
        (49170, Some(2))
    );
}

#[test]
fn bad_attributes() {
    assert_eq!(after_head("a=\n"), SdpError::BadAttribute { line: 5 });
    assert_eq!(after_head("a=:value\n"), SdpError::BadAttribute { line: 5 });
    assert_eq!(
        after_head("a=two words\n"),
        SdpError::BadAttribute { line: 5 }
    );
    assert_eq!(
        after_head("m=audio 1 RTP/AVP 0\na=ok\na=bad(name):1\n"),
        SdpError::BadAttribute { line: 7 }
    );
}

#[test]
fn too_many_media() {
    let mut s = String::from(HEAD);
    for i in 0..=MAX_MEDIA {
        s.push_str(&format!("m=audio {} RTP/AVP 0\na=sendrecv\n", 1000 + i));
    }
    // The (MAX_MEDIA + 1)-th m= line: after 4 head lines and MAX_MEDIA sections of 2 lines.
    assert_eq!(
        err(&s),
        SdpError::TooManyMedia {
            line: 5 + 2 * MAX_MEDIA
        }
    );
}

#[test]
fn too_many_attributes() {
    let session = format!("{HEAD}{}", "a=x\n".repeat(MAX_ATTRIBUTES + 1));
    assert_eq!(
        err(&session),
        SdpError::TooManyAttributes {
            line: 5 + MAX_ATTRIBUTES
        }
    );
    let fits = format!(
        "{HEAD}{}m=audio 1 RTP/AVP 0\n{}",
        "a=x\n".repeat(MAX_ATTRIBUTES),
        "a=y\n".repeat(MAX_ATTRIBUTES)
    );
    assert!(
        SessionDescription::parse(fits.as_bytes()).is_ok(),
        "the limit is per section"
    );
    let media = format!("{fits}a=z\n");
    assert_eq!(
        err(&media),
        SdpError::TooManyAttributes {
            line: 6 + 2 * MAX_ATTRIBUTES
        }
    );
}

#[test]
fn errors_display_what_and_where() {
    let e = after_head("x=1\n");
    assert_eq!(e.to_string(), "unknown line type 'x' on line 5");
    assert_eq!(
        after_head("m=audio 99999 RTP/AVP 0\n").to_string(),
        "bad port in m= line 5"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(SdpError::Empty);
    assert_eq!(boxed.to_string(), "empty session description");
}

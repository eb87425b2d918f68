//! The `application/im-iscomposing+xml` document (RFC 3994 §4–§6) and the strictness of its
//! XML reader.

use core::num::NonZeroU32;
use sipsimple::cpim::DateTime;
use sipsimple::iscomposing::{IsComposing, IsComposingError, State, MAX_DOCUMENT_LEN};

/// The example document of RFC 3994 §6.
const RFC_EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="urn:ietf:params:xml:ns:im-composing
  iscomposing.xsd">
  <state>idle</state>
  <lastactive>2003-01-27T10:43:00Z</lastactive>
  <contenttype>audio</contenttype>
</isComposing>
"#;

fn parse(s: &str) -> Result<IsComposing, IsComposingError> {
    IsComposing::parse(s.as_bytes())
}

/// A document whose root carries `body` and the namespace.
fn doc(body: &str) -> String {
    format!(r#"<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">{body}</isComposing>"#)
}

#[test]
fn rfc_example_document() {
    let d = parse(RFC_EXAMPLE).expect("the RFC example parses");
    assert_eq!(d.state, State::Idle);
    assert_eq!(
        d.last_active,
        Some(DateTime::parse_rfc3339("2003-01-27T10:43:00Z").expect("valid"))
    );
    assert_eq!(d.content_type.as_deref(), Some("audio"));
    assert_eq!(d.refresh, None);
    assert_eq!(IsComposing::parse(&d.to_bytes()), Ok(d));
}

#[test]
fn active_document_is_written_as_expected() {
    let d = IsComposing::active(Some("text/plain"), NonZeroU32::new(60));
    let text = String::from_utf8(d.to_bytes()).expect("UTF-8");
    assert_eq!(
        text,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\n  \
         <state>active</state>\n  <contenttype>text/plain</contenttype>\n  \
         <refresh>60</refresh>\n</isComposing>\n"
    );
    assert_eq!(parse(&text), Ok(d));
}

#[test]
fn prefixes_order_comments_cdata_and_entities() {
    let d = parse(
        "\u{FEFF}<?xml version='1.0' standalone='yes'?>\r\n<!-- status -->\
         <?app hint?>\
         <ic:isComposing xmlns:ic='urn:ietf:params:xml:ns:im-iscomposing' xmlns:x='urn:x'>\
           <ic:refresh> 90 </ic:refresh>\
           <x:mood xmlns:y='urn:y'><y:deep a='1'/>ignored &amp; fine</x:mood>\
           <ic:contenttype>text/plain;p=&quot;a&amp;b&quot;&#x20;&#65;<![CDATA[<&>]]></ic:contenttype>\
           <!-- in the middle -->\
           <ic:state>\n active\n</ic:state>\
         </ic:isComposing>\n<!-- after -->\n",
    )
    .expect("a valid document");
    assert_eq!(d.state, State::Active);
    assert_eq!(d.refresh, NonZeroU32::new(90));
    assert_eq!(d.content_type.as_deref(), Some("text/plain;p=\"a&b\" A<&>"));
}

#[test]
fn doctype_is_refused_before_any_entity_is_read() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>&lol2;</state></isComposing>"#;
    assert_eq!(
        parse(laughs),
        Err(IsComposingError::DoctypeForbidden { line: 2 })
    );
    let inside = doc("<!DOCTYPE x><state>idle</state>");
    assert_eq!(
        parse(&inside),
        Err(IsComposingError::DoctypeForbidden { line: 1 })
    );
    let external = doc("<state>&ext;</state>");
    assert_eq!(
        parse(&external),
        Err(IsComposingError::BadReference { line: 1 })
    );
}

#[test]
fn overlong_and_deep_input_is_refused() {
    let padding = " ".repeat(MAX_DOCUMENT_LEN);
    assert_eq!(
        parse(&doc(&format!("<state>idle</state>{padding}"))),
        Err(IsComposingError::TooLong)
    );
    let deep = format!(
        "{}{}",
        "<x:a xmlns:x='urn:x'>".repeat(20),
        "</x:a>".repeat(20)
    );
    assert_eq!(
        parse(&doc(&format!("<state>idle</state>{deep}"))),
        Err(IsComposingError::TooDeep)
    );
    assert_eq!(
        IsComposing::parse(b"<isComposing>\xff</isComposing>"),
        Err(IsComposingError::NotUtf8)
    );
}

#[test]
fn well_formedness_errors() {
    let malformed = |s: &str| matches!(parse(s), Err(IsComposingError::Malformed { .. }));
    for bad in [
        doc("<state>idle</State>"),
        doc("<state>idle"),
        doc("<state a=1>idle</state>"),
        doc("<state a='1' a='2'>idle</state>"),
        doc("<state a='1'b='2'>idle</state>"),
        doc("<state a='<'>idle</state>"),
        doc("<state>idle</state>]]>"),
        doc("<state>idle</state><!-- a -- b -->"),
        doc("<state>idle</state><?xml version='1.0'?>"),
        doc("<state>idle</state><!ELEMENT x ANY>"),
        doc("<state>id\u{1}le</state>"),
        format!("{}<more/>", doc("<state>idle</state>")),
        format!("text{}", doc("<state>idle</state>")),
        format!(
            "<?xml version='1.0' encoding='ISO-8859-1'?>{}",
            doc("<state>idle</state>")
        ),
        format!("<?xml encoding='UTF-8'?>{}", doc("<state>idle</state>")),
        format!(" <?xml version='1.0'?>{}", doc("<state>idle</state>")),
        "<1bad xmlns='urn:ietf:params:xml:ns:im-iscomposing'/>".to_string(),
        String::new(),
    ] {
        assert!(malformed(&bad), "{bad:?} gave {:?}", parse(&bad));
    }
    assert_eq!(
        parse(&doc("\n\n<state>idle</stat>")),
        Err(IsComposingError::Malformed {
            line: 3,
            reason: "mismatched end tag"
        })
    );
    for bad_ref in [
        "&amp",
        "&#0;",
        "&#xD800;",
        "&#x110000;",
        "&#xFFFE;",
        "&nbsp;",
        "&#;",
    ] {
        assert_eq!(
            parse(&doc(&format!(
                "<state>idle</state><contenttype>{bad_ref}</contenttype>"
            ))),
            Err(IsComposingError::BadReference { line: 1 }),
            "{bad_ref}"
        );
    }
}

#[test]
fn namespace_errors() {
    let bad_ns = |s: &str| matches!(parse(s), Err(IsComposingError::BadNamespace { .. }));
    assert!(bad_ns(
        "<ic:isComposing><ic:state>idle</ic:state></ic:isComposing>"
    ));
    assert!(bad_ns(&doc("<state x:a='1'>idle</state>")));
    assert!(bad_ns(&doc("<state xmlns:p=''>idle</state>")));
    assert!(bad_ns(&doc(
        "<state xmlns:p='urn:p' xmlns:q='urn:p' p:a='1' q:a='2'>idle</state>"
    )));
    assert!(bad_ns(&doc("<state xmlns:xml='urn:x'>idle</state>")));
    // No namespace, or another one, is not an isComposing document.
    assert_eq!(
        parse("<isComposing><state>idle</state></isComposing>"),
        Err(IsComposingError::WrongRoot)
    );
    assert_eq!(
        parse("<isComposing xmlns='urn:ietf:params:xml:ns:im-composing'><state>idle</state></isComposing>"),
        Err(IsComposingError::WrongRoot)
    );
    // The default namespace can be undeclared below the root: the child is then foreign.
    assert_eq!(
        parse(&doc("<state>idle</state><state xmlns=''>x</state>")).map(|d| d.state),
        Ok(State::Idle)
    );
}

#[test]
fn schema_errors() {
    use IsComposingError as E;
    assert_eq!(parse(&doc("")), Err(E::MissingState));
    assert_eq!(parse(&doc("<state>typing</state>")), Err(E::UnknownState));
    assert_eq!(parse(&doc("<state>ACTIVE</state>")), Err(E::UnknownState));
    assert_eq!(
        parse(&doc("<state>idle</state>\n<state>idle</state>")),
        Err(E::UnexpectedElement { line: 2 })
    );
    assert_eq!(
        parse(&doc("<state>idle</state><status>x</status>")),
        Err(E::UnexpectedElement { line: 1 })
    );
    assert_eq!(
        parse(&doc("<state><b>idle</b></state>")),
        Err(E::UnexpectedElement { line: 1 })
    );
    assert_eq!(
        parse(&doc("<state>idle</state>stray")),
        Err(E::UnexpectedText)
    );
    for r in ["0", "-5", "+5", "abc", "", "99999999999"] {
        assert_eq!(
            parse(&doc(&format!(
                "<state>active</state><refresh>{r}</refresh>"
            ))),
            Err(E::BadRefresh),
            "{r}"
        );
    }
    assert!(matches!(
        parse(&doc(
            "<state>idle</state><lastactive>yesterday</lastactive>"
        )),
        Err(E::BadLastActive(_))
    ));
}

#[test]
fn idle_document_with_offset_and_fraction() {
    let when = DateTime::parse_rfc3339("2024-02-29T23:59:59.5+01:00").expect("valid");
    let d = IsComposing::idle(None, Some(when));
    let text = String::from_utf8(d.to_bytes()).expect("UTF-8");
    assert!(text.contains("<lastactive>2024-02-29T23:59:59.5+01:00</lastactive>"));
    assert_eq!(parse(&text), Ok(d));
}

#[test]
fn content_type_is_escaped_on_output() {
    let d = IsComposing::active(Some("a<b>&c\r\"d'"), None);
    let text = String::from_utf8(d.to_bytes()).expect("UTF-8");
    assert!(text.contains("<contenttype>a&lt;b&gt;&amp;c&#13;\"d'</contenttype>"));
    assert_eq!(parse(&text), Ok(d));
}

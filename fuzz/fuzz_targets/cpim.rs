//! CPIM, is-composing and file-selector parsing on arbitrary bytes: never a panic, and what
//! parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipsimple::cpim::CpimMessage;
use sipsimple::file_selector::FileSelector;
use sipsimple::iscomposing::IsComposing;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = CpimMessage::parse(data) {
        let again = CpimMessage::parse(&m.to_bytes()).expect("our own CPIM parses");
        assert_eq!(m, again);
    }
    if let Ok(doc) = IsComposing::parse(data) {
        let mut out = Vec::new();
        doc.encode(&mut out);
        assert_eq!(IsComposing::parse(&out).expect("our own XML parses"), doc);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(fs) = FileSelector::parse(text) {
            let again = FileSelector::parse(&fs.to_string()).expect("our own selector parses");
            assert_eq!(fs, again);
        }
    }
});

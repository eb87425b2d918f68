//! Property tests of the RFC 5547 attributes: `parse(format(x)) == x` and no panic on
//! arbitrary input.

use proptest::prelude::*;
use sipsimple::cpim::DateTime;
use sipsimple::file_selector::{
    parse_rfc5322, parse_transfer_id, Disposition, FileDate, FileHash, FileHasher, FileIcon,
    FileRange, FileSelector, HashAlgorithm, MediaType,
};

const TOKEN: &str = "[A-Za-z0-9!#$%&'*+.^_`{|}~-]{1,12}";

fn media_type() -> impl Strategy<Value = MediaType> {
    (
        TOKEN,
        TOKEN,
        proptest::collection::vec((TOKEN, any::<String>()), 0..3),
    )
        .prop_map(|(main, sub, params)| MediaType { main, sub, params })
}

fn hash() -> impl Strategy<Value = FileHash> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 20).prop_map(|digest| FileHash {
            algorithm: HashAlgorithm::Sha1,
            digest
        }),
        proptest::collection::vec(any::<u8>(), 32).prop_map(|digest| FileHash {
            algorithm: HashAlgorithm::Sha256,
            digest
        }),
        (
            "[a-z][a-z0-9-]{0,10}",
            proptest::collection::vec(any::<u8>(), 1..64)
        )
            .prop_filter("not a known name", |(a, _)| a != "sha-1" && a != "sha-256")
            .prop_map(|(a, digest)| FileHash {
                algorithm: HashAlgorithm::Other(a),
                digest
            }),
    ]
}

fn selector() -> impl Strategy<Value = FileSelector> {
    (
        proptest::option::of(".{1,40}"),
        proptest::option::of(media_type()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(hash()),
    )
        .prop_map(|(name, media_type, size, hash)| FileSelector {
            name,
            media_type,
            size,
            hash,
        })
}

/// A date-time without fraction, as RFC 5322 carries it.
fn date() -> impl Strategy<Value = DateTime> {
    (0i64..253_402_300_799, -1439i16..=1439)
        .prop_map(|(s, off)| DateTime::from_unix(s, 0, off).expect("in range"))
}

fn file_date() -> impl Strategy<Value = FileDate> {
    (
        proptest::option::of(date()),
        proptest::option::of(date()),
        proptest::option::of(date()),
    )
        .prop_filter("at least one date", |(c, m, r)| {
            c.is_some() || m.is_some() || r.is_some()
        })
        .prop_map(|(creation, modification, read)| FileDate {
            creation,
            modification,
            read,
        })
}

proptest! {
    #[test]
    fn selector_round_trip(sel in selector()) {
        prop_assert_eq!(FileSelector::parse(&sel.to_string()), Ok(sel));
    }

    #[test]
    fn file_date_round_trip(d in file_date()) {
        prop_assert_eq!(FileDate::parse(&d.to_string()), Ok(d));
    }

    #[test]
    fn range_round_trip(start in 1u64.., len in proptest::option::of(any::<u64>())) {
        let r = FileRange { start, stop: len.map(|l| start.saturating_add(l)) };
        prop_assert_eq!(FileRange::parse(&r.to_string()), Ok(r));
    }

    #[test]
    fn icon_round_trip(content_id in any::<String>().prop_filter("non-empty", |s| !s.is_empty())) {
        let icon = FileIcon { content_id };
        prop_assert_eq!(FileIcon::parse(&icon.to_string()), Ok(icon));
    }

    #[test]
    fn disposition_round_trip(d in prop_oneof![
        Just(Disposition::Render),
        Just(Disposition::Attachment),
        TOKEN.prop_filter("not builtin", |t| !t.eq_ignore_ascii_case("render") && !t.eq_ignore_ascii_case("attachment")).prop_map(Disposition::Other),
    ]) {
        prop_assert_eq!(Disposition::parse(&d.to_string()), Ok(d));
    }

    #[test]
    fn hashing_in_chunks_equals_hashing_at_once(data in proptest::collection::vec(any::<u8>(), 0..2048), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        for alg in [HashAlgorithm::Sha1, HashAlgorithm::Sha256] {
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            points.sort_unstable();
            let mut h = FileHasher::new(&alg).expect("computable");
            let mut from = 0;
            for p in points.into_iter().chain([data.len()]) {
                h.update(&data[from..p]);
                from = p;
            }
            prop_assert_eq!(Some(h.finish()), FileHash::of(&alg, &data));
        }
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,80}|((name|type|size|hash):[\"%a-zA-Z0-9:/;= -]{0,20} ?){0,5}") {
        let _ = FileSelector::parse(&s);
        let _ = MediaType::parse(&s);
        let _ = FileHash::parse(&s);
        let _ = FileDate::parse(&s);
        let _ = FileIcon::parse(&s);
        let _ = FileRange::parse(&s);
        let _ = Disposition::parse(&s);
        let _ = parse_transfer_id(&s);
        let _ = parse_rfc5322(&s);
    }

    #[test]
    fn date_parsers_never_panic(s in "((creation|read|x):\"[A-Za-z0-9,:+ -]{0,32}\" ?){0,3}") {
        let _ = FileDate::parse(&s);
    }
}

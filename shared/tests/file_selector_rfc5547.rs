//! The file-transfer SDP attributes of RFC 5547 §6, with the RFC's example offer (§9),
//! and the hash selector computed from file contents.

use sipsimple::cpim::DateTime;
use sipsimple::file_selector::{
    format_rfc5322, parse_rfc5322, parse_transfer_id, Disposition, FileAttributeError, FileDate,
    FileHash, FileHasher, FileIcon, FileRange, FileSelector, HashAlgorithm, MediaType,
    MAX_ATTRIBUTE_LEN,
};

/// The file-selector of the RFC's example offer, its hash joined back onto one line.
const RFC_SELECTOR: &str = "name:\"My cool picture.jpg\" type:image/jpeg size:32349 \
    hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E";
const RFC_DIGEST: [u8; 20] = [
    0x72, 0x24, 0x5F, 0xE8, 0x65, 0x3D, 0xDA, 0xF3, 0x71, 0x36, 0x2F, 0x86, 0xD4, 0x71, 0x91, 0x3E,
    0xE4, 0xA2, 0xCE, 0x2E,
];

#[test]
fn rfc_example_file_selector() {
    let sel = FileSelector::parse(RFC_SELECTOR).expect("the RFC example parses");
    assert_eq!(sel.name.as_deref(), Some("My cool picture.jpg"));
    assert_eq!(sel.media_type, Some(MediaType::new("image", "jpeg")));
    assert_eq!(sel.size, Some(32349));
    assert_eq!(
        sel.hash,
        Some(FileHash {
            algorithm: HashAlgorithm::Sha1,
            digest: RFC_DIGEST.to_vec()
        })
    );
    assert_eq!(sel.to_string(), RFC_SELECTOR);
}

#[test]
fn rfc_example_other_attributes() {
    assert_eq!(
        parse_transfer_id("vBnG916bdberum2fFEABR1FR3ExZMUrd"),
        Ok("vBnG916bdberum2fFEABR1FR3ExZMUrd")
    );
    assert_eq!(
        Disposition::parse("attachment"),
        Ok(Disposition::Attachment)
    );
    assert_eq!(Disposition::parse("render"), Ok(Disposition::Render));
    assert_eq!(Disposition::default(), Disposition::Render);

    let date = FileDate::parse("creation:\"Mon, 15 May 2006 15:01:31 +0300\"").expect("parses");
    let creation = date.creation.expect("a creation date");
    assert_eq!(
        creation,
        DateTime::parse_rfc3339("2006-05-15T15:01:31+03:00").expect("valid")
    );
    assert_eq!(creation.weekday(), 1);
    assert_eq!(
        date.to_string(),
        "creation:\"Mon, 15 May 2006 15:01:31 +0300\""
    );

    let icon = FileIcon::parse("cid:id2@alicepc.example.com").expect("parses");
    assert_eq!(icon.content_id, "id2@alicepc.example.com");
    assert!(icon.matches_content_id("<id2@alicepc.example.com>"));
    assert!(!icon.matches_content_id("<id3@alicepc.example.com>"));
    assert_eq!(icon.to_string(), "cid:id2@alicepc.example.com");

    let range = FileRange::parse("1-32349").expect("parses");
    assert_eq!(
        range,
        FileRange {
            start: 1,
            stop: Some(32349)
        }
    );
    assert_eq!(range.len(), Some(32349));
    assert_eq!(range.to_string(), "1-32349");
}

#[test]
fn names_with_spaces_and_percent_escapes() {
    let sel = FileSelector::parse("name:\"a%22quoted%22 100%25 caf%C3%A9\tv2.txt\" size:1")
        .expect("parses");
    assert_eq!(sel.name.as_deref(), Some("a\"quoted\" 100% café\tv2.txt"));
    // Quotes, percent signs and controls are encoded again on output.
    assert_eq!(
        sel.to_string(),
        "name:\"a%22quoted%22 100%25 café%09v2.txt\" size:1"
    );
    assert_eq!(FileSelector::parse(&sel.to_string()), Ok(sel));
    for (bad, column) in [
        ("name:\"unterminated", 1),
        ("size:1 name:\"\"", 8),
        ("name:\"bad %zz\"", 1),
        ("name:\"not utf-8 %FF\"", 1),
        ("name:\"half %4\"", 1),
        ("name:unquoted", 1),
        ("name:\"a\"b\"", 1),
    ] {
        assert_eq!(
            FileSelector::parse(bad),
            Err(FileAttributeError::BadName { column }),
            "{bad}"
        );
    }
}

#[test]
fn type_selector_with_parameters() {
    let sel = FileSelector::parse("type:text/plain;charset=\"UTF-8\";format=\"flowed text\"")
        .expect("parses");
    let t = sel.media_type.expect("a type");
    assert_eq!(t.essence(), "text/plain");
    assert_eq!(
        t.params,
        [
            ("charset".to_string(), "UTF-8".to_string()),
            ("format".to_string(), "flowed text".to_string())
        ]
    );
    assert_eq!(
        t.to_string(),
        "text/plain;charset=\"UTF-8\";format=\"flowed%20text\""
    );
    // An unquoted token value is read leniently.
    let t = MediaType::parse("text/plain;charset=utf-8").expect("parses");
    assert_eq!(t.params[0].1, "utf-8");
    for bad in [
        "type:text",
        "type:text/",
        "type:te xt/plain",
        "type:a/b;c",
        "type:a/b;c=\"x",
    ] {
        assert!(
            matches!(
                FileSelector::parse(bad),
                Err(FileAttributeError::BadType { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn hash_selector_algorithms_and_lengths() {
    let sha256 = format!("hash:sha-256:{}", vec!["ab"; 32].join(":"));
    let sel = FileSelector::parse(&sha256).expect("parses");
    let h = sel.hash.expect("a hash");
    assert_eq!(h.algorithm, HashAlgorithm::Sha256);
    assert_eq!(h.digest, [0xAB; 32]);
    assert_eq!(
        h.selector(),
        sha256
            .to_uppercase()
            .replace("HASH:SHA-256", "hash:sha-256")
    );
    // Other registered names are kept, with any digest length.
    let h = FileHash::parse("SHA-512:01:02").expect("parses");
    assert_eq!(h.algorithm, HashAlgorithm::Other("sha-512".into()));
    assert_eq!(FileHasher::new(&h.algorithm).map(|_| ()), None);
    for bad in [
        "hash:sha-1:72:24",
        "hash:sha-1:",
        "hash:sha-1:7:24",
        "hash:sha-1:7224",
        "hash:sha-1:GG:24",
        "hash:sha-256:AB",
        "hash::AB",
    ] {
        assert!(
            matches!(
                FileSelector::parse(bad),
                Err(FileAttributeError::BadHash { column: 1 })
            ),
            "{bad}"
        );
    }
}

#[test]
fn selector_list_errors_and_extensions() {
    assert_eq!(FileSelector::parse(""), Ok(FileSelector::default()));
    assert_eq!(
        FileSelector::parse("  size:10   future:\"x y\" Type:a/b "),
        Ok(FileSelector {
            size: Some(10),
            media_type: Some(MediaType::new("a", "b")),
            ..FileSelector::default()
        })
    );
    assert_eq!(
        FileSelector::parse("size:1 size:2"),
        Err(FileAttributeError::Duplicate { column: 8 })
    );
    for (bad, column) in [
        ("size:18446744073709551616", 1),
        ("size:", 1),
        ("size:-1", 1),
        ("name:\"x\" size:1x", 10),
    ] {
        assert_eq!(
            FileSelector::parse(bad),
            Err(FileAttributeError::BadSize { column }),
            "{bad}"
        );
    }
    assert_eq!(
        FileSelector::parse("size:18446744073709551615").map(|s| s.size),
        Ok(Some(u64::MAX))
    );
    assert_eq!(
        FileSelector::parse("size:1 junk"),
        Err(FileAttributeError::BadSyntax { column: 8 })
    );
    assert_eq!(
        FileSelector::parse(&"x".repeat(MAX_ATTRIBUTE_LEN + 1)),
        Err(FileAttributeError::TooLong)
    );
}

#[test]
fn hasher_is_incremental_and_matches_known_digests() {
    let mut h = FileHasher::sha1();
    h.update(b"a");
    h.update(b"");
    h.update(b"bc");
    assert_eq!(
        h.finish().selector(),
        "hash:sha-1:A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"
    );
    let mut h = FileHasher::sha256();
    h.update(b"ab");
    h.update(b"c");
    assert_eq!(
        h.finish().to_string(),
        "sha-256:BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
    );
    // A "large file" fed in uneven chunks hashes like the whole.
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 255) as u8).collect();
    let mut chunked = FileHasher::sha1();
    for chunk in data.chunks(4093) {
        chunked.update(chunk);
    }
    assert_eq!(
        Some(chunked.finish()),
        FileHash::of(&HashAlgorithm::Sha1, &data)
    );
    // The computed hash round-trips through the selector.
    let hash = FileHash::of(&HashAlgorithm::Sha1, &data).expect("sha-1");
    let sel = FileSelector::parse(&hash.selector()).expect("parses");
    assert_eq!(sel.hash, Some(hash));
}

#[test]
fn selector_matches_a_local_file() {
    let sel = FileSelector::parse(RFC_SELECTOR).expect("parses");
    let hash = FileHash {
        algorithm: HashAlgorithm::Sha1,
        digest: RFC_DIGEST.to_vec(),
    };
    assert!(sel.matches("My cool picture.jpg", "IMAGE/JPEG; q=1", 32349, &hash));
    assert!(!sel.matches("My cool picture.jpg", "image/png", 32349, &hash));
    assert!(!sel.matches("My cool picture.jpg", "image/jpeg", 32348, &hash));
    assert!(!sel.matches("other.jpg", "image/jpeg", 32349, &hash));
    assert!(FileSelector::default().matches("x", "y/z", 0, &hash));
}

#[test]
fn file_date_parameters() {
    let d = FileDate::parse(
        "creation:\"Mon, 15 May 2006 15:01:31 +0300\" modification:\"15 May 2006 16:00 -0000\"  \
         read:\"Tue,  1 Jan 2030 00:00:59 GMT\"",
    )
    .expect("parses");
    assert_eq!(
        d.modification.map(|t| t.to_string()).as_deref(),
        Some("2006-05-15T16:00:00Z")
    );
    assert_eq!(
        d.read.map(|t| t.to_string()).as_deref(),
        Some("2030-01-01T00:00:59Z")
    );
    assert_eq!(
        d.to_string(),
        "creation:\"Mon, 15 May 2006 15:01:31 +0300\" \
         modification:\"Mon, 15 May 2006 16:00:00 +0000\" \
         read:\"Tue, 1 Jan 2030 00:00:59 +0000\""
    );
    assert_eq!(FileDate::parse(&d.to_string()), Ok(d));
    for bad in [
        "",
        "creation:Mon, 15 May 2006 15:01:31 +0300",
        "creation:\"Mon, 15 May 2006 15:01:31\"",
        "creation:\"Mon, 15 May 2006 15:01:31 EST\"",
        "creation:\"Mon, 31 Jun 2006 15:01:31 +0300\"",
        "creation:\"Xyz, 15 May 2006 15:01:31 +0300\"",
        "creation:\"15 May 06 15:01:31 +0300\"",
    ] {
        assert!(
            matches!(
                FileDate::parse(bad),
                Err(FileAttributeError::BadDate { .. })
            ),
            "{bad}"
        );
    }
    assert_eq!(
        FileDate::parse("read:\"1 Jan 2000 00:00 +0000\" read:\"1 Jan 2000 00:00 +0000\""),
        Err(FileAttributeError::Duplicate { column: 31 })
    );
}

#[test]
fn rfc5322_dates() {
    let d = parse_rfc5322("Fri, 21 Nov 1997 09:55:06 -0600").expect("RFC 5322 §A.1.1");
    assert_eq!(d.to_string(), "1997-11-21T09:55:06-06:00");
    assert_eq!(format_rfc5322(&d), "Fri, 21 Nov 1997 09:55:06 -0600");
    let d = parse_rfc5322("1 jan 2000 00:00 +2359").expect("no weekday, no seconds");
    assert_eq!(d.offset_minutes(), 23 * 60 + 59);
    assert!(parse_rfc5322("1 Jan 2000 00:00 +2400").is_err());
}

#[test]
fn other_attribute_errors() {
    for bad in ["", "a b", "a\"b", "é"] {
        assert_eq!(
            parse_transfer_id(bad),
            Err(FileAttributeError::BadToken),
            "{bad}"
        );
        assert_eq!(
            Disposition::parse(bad),
            Err(FileAttributeError::BadToken),
            "{bad}"
        );
    }
    assert_eq!(
        Disposition::parse("Inline"),
        Ok(Disposition::Other("Inline".into()))
    );
    for bad in ["0-5", "5-4", "1-", "-5", "a-b", "1-2-3", "1", "+1-2"] {
        assert_eq!(
            FileRange::parse(bad),
            Err(FileAttributeError::BadRange),
            "{bad}"
        );
    }
    assert_eq!(
        FileRange::parse("10-*"),
        Ok(FileRange {
            start: 10,
            stop: None
        })
    );
    for bad in ["", "cid:", "mid:x@y", "cid:a b", "cid:%FF", "ci"] {
        assert_eq!(
            FileIcon::parse(bad),
            Err(FileAttributeError::BadIcon),
            "{bad}"
        );
    }
    assert_eq!(
        FileIcon::parse("CID:a%40b").map(|i| i.content_id),
        Ok("a@b".to_string())
    );
}

//! `safe_file_name` against hostile received names (RFC 5547 §11), and its invariants on
//! arbitrary input.

use proptest::prelude::*;
use sipsimple::file_selector::{safe_file_name, MAX_SAFE_NAME_LEN};

/// What every returned name must satisfy.
fn assert_safe(name: &str) {
    assert!(!name.is_empty(), "empty name");
    assert!(name.len() <= MAX_SAFE_NAME_LEN, "{} bytes", name.len());
    assert!(
        !name.contains(['/', '\\', ':', '<', '>', '"', '|', '?', '*']),
        "{name:?}"
    );
    assert!(!name.chars().any(char::is_control), "{name:?}");
    assert!(
        !name.starts_with(['.', ' ']) && !name.ends_with(['.', ' ']),
        "{name:?}"
    );
    assert_ne!(name, "..");
    let stem = name
        .split('.')
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_ascii_uppercase();
    for reserved in ["CON", "PRN", "AUX", "NUL", "COM1", "LPT1", "COM9", "LPT9"] {
        assert_ne!(stem, reserved, "{name:?}");
    }
    assert_eq!(safe_file_name(name), name, "not stable");
}

#[test]
fn path_traversal_keeps_only_the_last_component() {
    for (hostile, expected) in [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\drivers\\etc\\hosts", "hosts"),
        ("/etc/shadow", "shadow"),
        ("C:\\x", "x"),
        ("C:x", "C_x"),
        ("\\\\server\\share\\doc.txt", "doc.txt"),
        ("photos/", "photos"),
        ("..", "file"),
        ("../..", "file"),
        ("./.", "file"),
        ("a/../", "file"),
    ] {
        let safe = safe_file_name(hostile);
        assert_eq!(safe, expected, "{hostile}");
        assert_safe(&safe);
    }
}

#[test]
fn reserved_windows_names_are_prefixed() {
    for (hostile, expected) in [
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("Nul.tar.gz", "_Nul.tar.gz"),
        ("COM1", "_COM1"),
        ("lpt9.log", "_lpt9.log"),
        ("AUX .txt", "_AUX .txt"),
        ("PRN.", "_PRN"),
        ("CONSOLE.txt", "CONSOLE.txt"),
        ("COM10", "COM10"),
        ("COM0", "COM0"),
    ] {
        let safe = safe_file_name(hostile);
        assert_eq!(safe, expected, "{hostile}");
        assert_safe(&safe);
    }
}

#[test]
fn controls_dots_and_disguises_are_removed() {
    for (hostile, expected) in [
        ("\u{0}", "file"),
        ("a\u{0}b.txt", "ab.txt"),
        ("line\r\nbreak.txt", "linebreak.txt"),
        (".bashrc", "bashrc"),
        ("...hidden...", "hidden"),
        ("  spaced  .txt  ", "spaced  .txt"),
        ("invoice\u{202E}fdp.exe", "invoicefdp.exe"),
        ("what?<is>|this*\".txt", "what__is__this__.txt"),
        ("", "file"),
        ("\u{7f}\u{85}", "file"),
        ("My cool picture.jpg", "My cool picture.jpg"),
        ("résumé 履歴書.pdf", "résumé 履歴書.pdf"),
    ] {
        let safe = safe_file_name(hostile);
        assert_eq!(safe, expected, "{hostile:?}");
        assert_safe(&safe);
    }
}

#[test]
fn long_names_are_cut_keeping_the_extension() {
    let long = format!("{}.jpeg", "a".repeat(10_000));
    let safe = safe_file_name(&long);
    assert_eq!(safe.len(), MAX_SAFE_NAME_LEN);
    assert!(safe.ends_with("a.jpeg"));
    assert_safe(&safe);

    // Multi-byte characters are never split.
    let wide = "履".repeat(4_000);
    let safe = safe_file_name(&wide);
    assert!(safe.len() <= MAX_SAFE_NAME_LEN && safe.len() > MAX_SAFE_NAME_LEN - 3);
    assert_safe(&safe);

    // A huge extension is not kept; a cut that lands on spaces or dots is trimmed.
    let safe = safe_file_name(&format!("x.{}", "y".repeat(10_000)));
    assert_eq!(safe.len(), MAX_SAFE_NAME_LEN);
    assert_safe(&safe);
    let safe = safe_file_name(&format!("x{}y", " ".repeat(10_000)));
    assert_eq!(safe, "x");
    let safe = safe_file_name(&format!("CON{}y", " ".repeat(300)));
    assert_eq!(safe, "_CON");
    let safe = safe_file_name(&format!("CON.{}", "z".repeat(300)));
    assert_safe(&safe);
    assert!(safe.starts_with("_CON."));
    assert_safe(&safe_file_name(&"../".repeat(5_000)));
    assert_safe(&safe_file_name(&".".repeat(10_000)));
}

proptest! {
    #[test]
    fn any_name_becomes_safe_and_stable(name in any::<String>()) {
        assert_safe(&safe_file_name(&name));
    }

    #[test]
    fn path_like_names_become_safe(name in "([a-zA-Z.]{0,4}[/\\\\:]){0,6}[ .a-zA-Z0-9\u{0}-\u{1f}\u{202e}]{0,300}") {
        assert_safe(&safe_file_name(&name));
    }
}

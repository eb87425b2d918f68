//! A local file name for a received file. The name selector (RFC 5547 §5) is peer input and
//! RFC 5547 §11 warns that it must not be trusted as a path.

/// Longest name returned, in bytes (the common file system limit).
pub const MAX_SAFE_NAME_LEN: usize = 255;
/// The name used when nothing of the received one survives.
const FALLBACK: &str = "file";
/// Longest extension kept when a name is cut to length.
const MAX_KEPT_EXTENSION: usize = 16;

/// Turns a received file name into one that is safe to create in a download folder on any
/// common system:
/// - only the last path component is kept (`/` and `\` both separate), so `../../etc/passwd`
///   becomes `passwd` and `C:\x` becomes `x`;
/// - control characters and the bidirectional overrides used to disguise extensions are
///   removed, and the characters Windows forbids (`<>:"|?*`) become `_`;
/// - dots and spaces are trimmed at both ends (no hidden files, no `..`, no names that
///   Windows silently changes);
/// - Windows device names (`CON`, `nul.txt`, `COM1`, `LPT9.tar.gz`, ...) get a `_` prefix;
/// - the result is at most [`MAX_SAFE_NAME_LEN`] bytes, keeping a short extension, and is
///   never empty (`file` when nothing is left).
///
/// The result is stable: applying the function to its own output returns it unchanged.
pub fn safe_file_name(received: &str) -> String {
    let last = received
        .rsplit(['/', '\\'])
        .find(|c| !c.trim_matches(is_dropped).is_empty())
        .unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !is_dropped(*c))
        .map(|c| if "<>:\"|?*".contains(c) { '_' } else { c })
        .collect();
    let mut name = trim(&cleaned).to_string();
    if name.len() > MAX_SAFE_NAME_LEN {
        name = shorten(&name);
    }
    if name.is_empty() {
        name = FALLBACK.to_string();
    }
    if is_reserved(&name) {
        name.insert(0, '_');
        if name.len() > MAX_SAFE_NAME_LEN {
            // Still starts with `_`, so neither empty nor reserved once cut.
            name = shorten(&name);
        }
    }
    name
}

/// Characters removed outright: controls (C0, DEL, C1) and invisible direction marks.
fn is_dropped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
        )
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c == '.' || c.is_whitespace())
}

/// Cuts a name to [`MAX_SAFE_NAME_LEN`] bytes on a character boundary, keeping a short
/// extension, then trims again.
fn shorten(name: &str) -> String {
    let ext = name
        .rfind('.')
        .map(|i| &name[i..])
        .filter(|e| e.len() <= MAX_KEPT_EXTENSION && trim(e).len() + 1 == e.len());
    let ext = ext.unwrap_or_default();
    let mut budget = MAX_SAFE_NAME_LEN - ext.len();
    while !name.is_char_boundary(budget) {
        budget -= 1;
    }
    let stem = trim(name.get(..budget).unwrap_or_default());
    let mut out = String::with_capacity(MAX_SAFE_NAME_LEN);
    out.push_str(stem);
    if !stem.is_empty() {
        out.push_str(ext);
    }
    trim(&out).to_string()
}

/// Windows device names, reserved with any extension and in any case.
fn is_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default().trim_end();
    let upper = stem.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ["COM", "LPT"].iter().any(|p| {
        upper.strip_prefix(p).is_some_and(|n| {
            matches!(
                n,
                "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "¹" | "²" | "³"
            )
        })
    })
}

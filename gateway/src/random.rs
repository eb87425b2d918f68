//! Randomness from the operating system for digest nonces (RFC 3261 §22.4, RFC 7616 §3.3),
//! To tags (RFC 3261 §19.3), the branch salt (§16.11) and generated passwords.

/// `n` random bytes from the operating system's generator.
///
/// The gateway cannot run safely without an entropy source, so a failure (which does not
/// happen on the platforms we support) is fatal rather than silently weakening nonces.
fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if let Err(e) = getrandom::fill(&mut buf) {
        panic!("the operating system's random number generator failed: {e}");
    }
    buf
}

/// `len` characters from `alphabet`, each drawn without modulo bias.
fn from_alphabet(alphabet: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    // Rejection sampling: keep bytes below the largest multiple of the alphabet size.
    let limit = 256 - (256 % alphabet.len());
    while out.len() < len {
        for b in bytes::<32>() {
            if usize::from(b) < limit && out.len() < len {
                if let Some(c) = alphabet.get(usize::from(b) % alphabet.len()) {
                    out.push(char::from(*c));
                }
            }
        }
    }
    out
}

/// A lower-case hex string of `len` random characters (nonces, tags, salts).
pub fn hex(len: usize) -> String {
    from_alphabet(b"0123456789abcdef", len)
}

/// A password for generated accounts: 16 characters, about 95 bits.
pub fn password() -> String {
    from_alphabet(
        b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789",
        16,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_alphabets() {
        let h = hex(40);
        assert_eq!(h.len(), 40);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(hex(32), hex(32));
        let p = password();
        assert_eq!(p.len(), 16);
        assert!(p.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}

//! The CSeq header (RFC 3261 §8.1.1.5, §20.16).

use super::HeaderError;
use core::fmt;

/// The CSeq header (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number, below 2**31.
    pub seq: u32,
    /// The method.
    pub method: String,
}

impl CSeq {
    /// The largest sequence number RFC 3261 §8.1.1.5 allows: "MUST be expressible as a 32-bit
    /// unsigned integer and MUST be less than 2**31".
    pub const MAX: u32 = (1 << 31) - 1;

    /// Parses `314159 INVITE` (whitespace between the two may include line folds).
    pub fn parse(s: &str) -> Result<CSeq, HeaderError> {
        let (seq, method) = parts(s)?;
        Ok(CSeq {
            seq,
            method: method.to_string(),
        })
    }
}

/// The sequence number and method of a CSeq value, borrowed.
pub(crate) fn parts(s: &str) -> Result<(u32, &str), HeaderError> {
    let bad = HeaderError::Malformed("CSeq");
    let mut it = s.split_whitespace();
    let (Some(n), Some(m), None) = (it.next(), it.next(), it.next()) else {
        return Err(bad);
    };
    if !n.bytes().all(|b| b.is_ascii_digit()) || !super::super::is_token(m) {
        return Err(bad);
    }
    // RFC 4475 §3.1.2.4 (scalar02) and §3.1.2.5 (scalarlg) carry 20-digit values.
    let seq = match n.trim_start_matches('0') {
        "" => 0,
        d if d.len() > 10 => return Err(HeaderError::OutOfRange("CSeq")),
        d => d.parse::<u64>().map_err(|_| bad)?,
    };
    let seq = u32::try_from(seq)
        .ok()
        .filter(|s| *s <= CSeq::MAX)
        .ok_or(HeaderError::OutOfRange("CSeq"))?;
    Ok((seq, m))
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq() {
        assert_eq!(
            CSeq::parse("12  REGISTER").expect("valid"),
            CSeq {
                seq: 12,
                method: "REGISTER".into()
            }
        );
        assert_eq!(CSeq::parse("0009 INVITE").map(|c| c.seq), Ok(9));
        assert!(CSeq::parse("x INVITE").is_err());
        assert!(CSeq::parse("1").is_err());
        assert_eq!(
            CSeq::parse("2147483648 INVITE"),
            Err(HeaderError::OutOfRange("CSeq"))
        );
        assert_eq!(
            CSeq::parse("2147483647 INVITE").map(|c| c.seq),
            Ok(CSeq::MAX)
        );
        assert_eq!(
            CSeq::parse("36893488147419103232 REGISTER"),
            Err(HeaderError::OutOfRange("CSeq"))
        );
    }
}

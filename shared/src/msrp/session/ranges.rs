//! A set of byte ranges, for what a receiver got of a message (RFC 4975 §7.1.1: chunks may
//! arrive in any order and overlap) and what a sender's success REPORTs cover (§7.1.2).

/// Sorted, disjoint, non-adjacent half-open ranges of 0-based byte positions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct RangeSet {
    ranges: Vec<(u64, u64)>,
}

impl RangeSet {
    /// Adds `[a, b)`, merging with the ranges it touches. Empty ranges are ignored.
    pub fn insert(&mut self, a: u64, b: u64) {
        if a >= b {
            return;
        }
        let (mut a, mut b) = (a, b);
        let mut out = Vec::with_capacity(self.ranges.len() + 1);
        for &(s, e) in &self.ranges {
            if e < a || s > b {
                out.push((s, e));
            } else {
                a = a.min(s);
                b = b.max(e);
            }
        }
        out.push((a, b));
        out.sort_unstable();
        self.ranges = out;
    }

    /// Distinct bytes covered.
    pub fn covered(&self) -> u64 {
        self.ranges.iter().map(|(a, b)| b - a).sum()
    }

    /// Bytes covered from position 0 without a gap.
    pub fn prefix(&self) -> u64 {
        match self.ranges.first() {
            Some(&(0, e)) => e,
            _ => 0,
        }
    }

    /// The end of the last range.
    pub fn max_end(&self) -> u64 {
        self.ranges.last().map_or(0, |r| r.1)
    }

    /// `true` when `[0, total)` is covered (always for an empty message).
    pub fn covers(&self, total: u64) -> bool {
        total == 0 || self.prefix() >= total
    }

    /// The number of disjoint ranges.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_measures() {
        let mut r = RangeSet::default();
        r.insert(10, 20);
        r.insert(30, 40);
        assert_eq!((r.covered(), r.prefix(), r.len()), (20, 0, 2));
        r.insert(0, 10);
        assert_eq!((r.prefix(), r.len()), (20, 2));
        r.insert(15, 35);
        assert_eq!((r.covered(), r.prefix(), r.len()), (40, 40, 1));
        assert!(r.covers(40) && !r.covers(41));
        r.insert(5, 5);
        assert_eq!(r.len(), 1);
        assert!(RangeSet::default().covers(0));
        assert_eq!(r.max_end(), 40);
    }
}

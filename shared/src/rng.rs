//! Randomness handed in by the shell.
//!
//! Tags, branches, Call-IDs and cnonces need unpredictable values, but the core may not
//! read the operating system. The shell seeds this generator from its entropy source
//! (`getrandom` natively, `crypto.getRandomValues` in the browser); simulations seed it with
//! a fixed number so that runs are repeatable.

/// A small xoshiro256** generator. Not a CSPRNG on its own: its strength is the seed's.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator expanded from `seed` with SplitMix64.
    pub fn from_seed(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A string of `len` characters from `[a-z0-9]`.
    pub fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| {
                let i = (self.next_u64() % ALPHABET.len() as u64) as usize;
                char::from(ALPHABET[i])
            })
            .collect()
    }

    /// A string of `len` lowercase letters, as the spec asks for contact user parts.
    pub fn letters(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'a' + (self.next_u64() % 26) as u8))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_tokens_use_the_alphabet() {
        let mut a = Rng::from_seed(7);
        let mut b = Rng::from_seed(7);
        assert_eq!(a.token(16), b.token(16));
        let t = a.token(64);
        assert!(t
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(Rng::from_seed(1).next_u64(), Rng::from_seed(2).next_u64());
    }
}

//! Randomness, injected: the core asks an [`Entropy`] for bytes instead of reaching for a global
//! generator, so tests can pin every salt and nonce.

use crate::error::{Error, Result};

/// A source of random bytes.
pub trait Entropy {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]) -> Result<()>;

    /// 32 random bits.
    fn next_u32(&mut self) -> Result<u32> {
        let mut bytes = [0u8; 4];
        self.fill(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }
}

/// The operating system's (or, in wasm, the browser's `crypto.getRandomValues`) generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, dest: &mut [u8]) -> Result<()> {
        getrandom::fill(dest).map_err(|_| Error::Randomness)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Replays a fixed byte pattern: byte `i` of the stream is `seed + i` (wrapping).
    #[derive(Debug, Clone)]
    pub struct CountingEntropy {
        next: u8,
    }

    impl CountingEntropy {
        pub fn new(seed: u8) -> Self {
            Self { next: seed }
        }
    }

    impl Entropy for CountingEntropy {
        fn fill(&mut self, dest: &mut [u8]) -> Result<()> {
            for byte in dest {
                *byte = self.next;
                self.next = self.next.wrapping_add(1);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_entropy_fills() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        OsEntropy.fill(&mut a).unwrap_or_else(|e| panic!("{e}"));
        OsEntropy.fill(&mut b).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a, b);
    }
}

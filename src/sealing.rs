//! Keys from passphrases and sealed bytes: what the vault and the backup both use.
//!
//! A passphrase is stretched with Argon2id (version 0x13) into a 32-byte key, and bytes are sealed
//! with XChaCha20-Poly1305 under it: a fresh 24-byte random nonce per seal, associated data bound
//! by the caller. Each format documents its own layout and associated data.

use argon2::{Algorithm, Argon2, Block, Params, Version};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use zeroize::Zeroizing;

use crate::entropy::Entropy;
use crate::error::{Error, Result};
use crate::secret::{SecretBytes, SecretKey};

/// Salt length: 16 bytes is Argon2's recommendation and Bitwarden's.
pub(crate) const SALT_LEN: usize = 16;
/// XChaCha20's extended nonce: long enough that random nonces never collide in practice.
pub(crate) const NONCE_LEN: usize = 24;
/// Poly1305 tag length; every ciphertext is at least this long.
pub(crate) const TAG_LEN: usize = 16;

/// A key derived from a passphrase.
pub type Key = SecretKey<32>;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Number of passes over the memory.
    pub iterations: u32,
    /// Number of lanes. Wasm runs them one after another, so p = 4 costs what p = 1 does there.
    pub parallelism: u32,
}

impl KdfParams {
    /// The floor accepted when opening a vault: OWASP's Argon2id minimum (19 MiB, t = 2, p = 1),
    /// which is also Bitwarden's downgrade guard. Anything lower is refused.
    pub const MINIMUM: KdfParams = KdfParams { memory_kib: 19_456, iterations: 2, parallelism: 1 };

    /// The ceiling: Bitwarden's upper bounds (1 GiB, t = 10, p = 16). Above this a vault is
    /// refused, so an edited header cannot ask the browser for unbounded memory or time.
    pub const MAXIMUM: KdfParams =
        KdfParams { memory_kib: 1_048_576, iterations: 10, parallelism: 16 };

    /// Refuses parameters outside the accepted range: absurd ones first, then weak ones.
    pub(crate) fn check(&self) -> Result<()> {
        let max = Self::MAXIMUM;
        if self.memory_kib > max.memory_kib
            || self.iterations > max.iterations
            || self.parallelism > max.parallelism
        {
            return Err(Error::UnsupportedVault);
        }
        let min = Self::MINIMUM;
        if self.memory_kib < min.memory_kib
            || self.iterations < min.iterations
            || self.parallelism < min.parallelism
        {
            return Err(Error::WeakKdfParameters);
        }
        Ok(())
    }
}

impl Default for KdfParams {
    /// Bitwarden's Argon2id default (64 MiB, t = 3, p = 4): about 130 ms in an extension page.
    fn default() -> Self {
        KdfParams { memory_kib: 65_536, iterations: 3, parallelism: 4 }
    }
}

/// A nonce and the ciphertext (with tag) it sealed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Sealed {
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) ct: Vec<u8>,
}

/// Argon2id (version 0x13) of `passphrase` with `salt`, written straight into a zeroizing key.
///
/// The working memory is owned here and wiped afterwards: its last blocks determine the key, and
/// argon2 frees its own allocation without zeroing it, so a memory dump of a page left open after
/// Lock would otherwise still yield the key. (argon2's `zeroize` feature wipes its own smaller
/// intermediate values.)
pub(crate) fn argon2id(passphrase: &[u8], salt: &[u8], params: KdfParams) -> Result<Key> {
    // Neither call can fail for checked parameters and a 16-byte salt, except when the memory
    // cannot be allocated: then this device cannot open this vault.
    let params = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))
        .map_err(|_| Error::UnsupportedVault)?;
    let mut memory: Zeroizing<Vec<Block>> = Zeroizing::new(vec![Block::new(); params.block_count()]);
    let mut key = Key::zeroed();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(passphrase, salt, key.expose_mut(), memory.as_mut_slice())
        .map_err(|_| Error::UnsupportedVault)?;
    Ok(key)
}

/// Encrypts `plaintext` under `key` with a fresh nonce drawn from `entropy`.
pub(crate) fn seal(key: &Key, aad: &[u8], plaintext: &[u8], entropy: &mut dyn Entropy) -> Result<Sealed> {
    let mut nonce = [0u8; NONCE_LEN];
    entropy.fill(&mut nonce)?;
    let ct = XChaCha20Poly1305::new(key.expose().into())
        .encrypt((&nonce).into(), Payload { msg: plaintext, aad })
        // Only a plaintext of more than 256 GiB could fail; nothing Cartera seals is near that.
        .map_err(|_| Error::UnsupportedVault)?;
    Ok(Sealed { nonce, ct })
}

/// Decrypts and authenticates; any mismatch of key, nonce, ciphertext or AAD is the same error.
pub(crate) fn open(key: &Key, aad: &[u8], sealed: &Sealed) -> Result<SecretBytes> {
    XChaCha20Poly1305::new(key.expose().into())
        .decrypt((&sealed.nonce).into(), Payload { msg: &sealed.ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| Error::WrongPassphrase)
}


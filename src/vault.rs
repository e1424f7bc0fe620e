//! The vault: exchange API credentials sealed at rest under a passphrase.
//!
//! `chrome.storage.local` is not encrypted (Chrome's docs: "Confidential user information should
//! not be stored"), so every credential is encrypted before it is written. The passphrase is
//! stretched with Argon2id into a 32-byte vault key, and each account's credentials are sealed
//! with XChaCha20-Poly1305 under that key. Only the derived key is ever cached (in
//! `chrome.storage.session`, see [`encode_key`]); the passphrase is never stored.
//!
//! Every operation is a pure function from one vault to a *new* vault: a failure, at any point,
//! leaves the caller's vault (and the text it came from) untouched, so the background can write
//! the result with one `storage.local.set` or not at all.
//!
//! # Format, version 3
//!
//! The vault is one JSON object, written without spaces, keys in this order:
//!
//! ```text
//! {"v":3,
//!  "kdf":{"alg":"argon2id","m":65536,"t":3,"p":4},
//!  "salt":"<base64, 16 bytes>",
//!  "check":{"nonce":"<base64, 24 bytes>","ct":"<base64>"},
//!  "accounts":[{"id":"3f0c…","exchange":"kraken","nonce":"<base64, 24 bytes>","ct":"<base64>"}, …]}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `v` | format version, the integer `3` (versions `1` and `2` are still read, see below). Any other integer is [`Error::UnsupportedVault`]. |
//! | `kdf.alg` | always `"argon2id"` (Argon2 version 0x13). |
//! | `kdf.m` | Argon2 memory in KiB, accepted range 19456 ..= 1048576. |
//! | `kdf.t` | Argon2 passes, accepted range 2 ..= 10. |
//! | `kdf.p` | Argon2 lanes, accepted range 1 ..= 16. |
//! | `salt` | 16 random bytes, new for every vault and every passphrase change. |
//! | `check` | the marker `cartera vault check v1` sealed under the header AAD: detects a wrong passphrase with no accounts. |
//! | `accounts[].id` | 1 to 64 characters of `[A-Za-z0-9_-]`, unique within the vault. |
//! | `accounts[].exchange` | the exchange id (`bitso`, `kraken`, …) whose adapter may use this key. |
//! | `*.nonce` | 24 random bytes, new for every seal. |
//! | `*.ct` | XChaCha20-Poly1305 ciphertext followed by its 16-byte tag. |
//!
//! Base64 is the standard alphabet with padding (RFC 4648 §4), canonical only.
//!
//! The Argon2id input is the UTF-8 of the passphrase in Unicode Normalization Form C, so the same
//! passphrase typed on another system, which may compose accented letters differently, derives the
//! same key. Its output (32 bytes, no secret or associated data) is the XChaCha20-Poly1305 key.
//!
//! ## Associated data
//!
//! The AEAD's associated data is a canonical byte encoding of the header, not the JSON text (so
//! whitespace or key order could never change what is authenticated):
//!
//! ```text
//! header_aad  = "cartera-vault"      13 ASCII bytes
//!               || v                 u8      (3)
//!               || m                 u32 big-endian
//!               || t                 u32 big-endian
//!               || p                 u32 big-endian
//!               || salt_len          u8      (16)
//!               || salt              16 bytes
//! check AAD   = header_aad
//! account AAD = header_aad || id_len u16 big-endian || id (ASCII bytes)
//!               || exchange_len u8 || exchange (ASCII bytes)
//! ```
//!
//! Binding the header means a key cached for one vault cannot open a vault whose parameters or
//! salt were edited. Binding the id means an entry copied under another account id fails to
//! open; binding the exchange means an entry relabelled for another exchange (to send a Bitso
//! key to another host, say) fails to open too. An account AAD is always longer than the check
//! AAD, so the two can never be confused.
//!
//! ## Earlier versions and their migration
//!
//! Version 2 is version 3 with the passphrase stretched as typed, without normalisation. It
//! still opens; [`Vault::normalize`] re-seals it as version 3 when the page unlocks it with the
//! passphrase in hand: under the same key and salt when the passphrase was already in NFC (as
//! nearly every passphrase is), or under a new salt and the key of its NFC form otherwise.
//!
//! Version 1 had no `exchange` field either, and its account AAD ended after the id (its `v` byte
//! is 1). It still opens; [`Vault::upgrade`] re-seals it as version 2 under the same key and salt
//! (the background does so on the first unlock, taking each account's exchange from its account
//! list), and the next unlock takes it on to version 3. Adding, replacing or removing a key keeps
//! a vault's version; creating a vault or changing its passphrase writes version 3.
//!
//! ## Account plaintext
//!
//! ```text
//! api_key_len u16 big-endian || api_key UTF-8 || api_secret_len u16 big-endian || api_secret UTF-8
//!   [ || api_passphrase_len u16 big-endian || api_passphrase UTF-8 ]
//! ```
//!
//! The API passphrase is there only for the exchanges that issue one (OKX, KuCoin); an entry
//! without one is byte for byte what every earlier version wrote, so the field needs no new
//! format version and older entries read as having none.
//!
//! ## Failures
//!
//! - A wrong passphrase, a wrong cached key and any edited byte give [`Error::WrongPassphrase`]
//!   ("Wrong passphrase, or the vault is damaged"), as MetaMask and Bitwarden do: an AEAD cannot
//!   tell the two apart, and it should not try.
//! - Text that is not a well-formed vault (not JSON, a missing or extra field, bad base64, a salt
//!   or nonce of the wrong length, a duplicated id, an unknown exchange) is also
//!   [`Error::WrongPassphrase`]. Damage then reads the same whether it hit a byte the parser
//!   rejects or a byte only the AEAD tag notices, and the user gets one instruction.
//! - [`Error::UnsupportedVault`] means "this version cannot read it": a `v` other than 1, 2 or 3, or
//!   parameters above the ceiling (so an edited header cannot make the browser allocate gigabytes).
//! - [`Error::WeakKdfParameters`] means parameters below the floor, refused before any key is
//!   derived, so a downgraded vault never turns the passphrase into a cheaply guessable key.
//!
//! ## Limits
//!
//! The list of accounts is not authenticated as a whole: someone who can write
//! `chrome.storage.local` can delete an entry, or put back an older entry for the same id that
//! was sealed under the same passphrase. They could delete the whole vault anyway; they cannot
//! read or forge credentials.

use std::fmt;

use base64ct::{Base64, Encoding as _};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub use crate::sealing::KdfParams;
use crate::entropy::Entropy;
use crate::sealing::{SALT_LEN, Sealed, TAG_LEN, argon2id, open, seal};
use crate::error::{Error, Result};
use crate::exchange_id::ExchangeId;
use crate::secret::{Credentials, Passphrase, SecretBytes};

/// The shortest passphrase a new vault accepts, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 10;

/// The version before accounts were bound to their exchange; still read, never written.
const VERSION_1: u8 = 1;
/// The version before passphrases were normalised; still read and written to until the next
/// unlock with the passphrase moves it on ([`Vault::normalize`]).
const VERSION_2: u8 = 2;
/// The version new vaults are created in: the passphrase is stretched in NFC.
const VERSION_3: u8 = 3;
/// Names the header encoding, so these bytes can never be mistaken for another protocol's AAD.
const AAD_DOMAIN: &[u8] = b"cartera-vault";
/// What the check block seals. Public knowledge: it proves the key, it hides nothing.
const CHECK_MARKER: &[u8] = b"cartera vault check v1";
/// The only KDF version 1 knows.
const KDF_ALG: &str = "argon2id";
/// Account ids are this long at most; they also end up in pages as `data-account-id` values.
const MAX_ACCOUNT_ID_CHARS: usize = 64;

/// The key derived from the passphrase; opens every entry of one vault.
pub type VaultKey = crate::sealing::Key;

/// The authenticated header: the format version and everything the key derivation depends on.
#[derive(Clone, PartialEq, Eq)]
struct Header {
    version: u8,
    params: KdfParams,
    salt: [u8; SALT_LEN],
}

impl Header {
    /// The canonical header bytes described in the module docs.
    fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(AAD_DOMAIN.len() + 1 + 12 + 1 + SALT_LEN);
        aad.extend_from_slice(AAD_DOMAIN);
        aad.push(self.version);
        aad.extend_from_slice(&self.params.memory_kib.to_be_bytes());
        aad.extend_from_slice(&self.params.iterations.to_be_bytes());
        aad.extend_from_slice(&self.params.parallelism.to_be_bytes());
        aad.push(SALT_LEN as u8);
        aad.extend_from_slice(&self.salt);
        aad
    }

    /// The header bytes followed by the account id and (from version 2) its exchange, so an
    /// entry only opens under its own id and for its own exchange.
    fn account_aad(&self, id: &AccountId, exchange: Option<ExchangeId>) -> Vec<u8> {
        let mut aad = self.aad();
        // An `AccountId` has at most 64 ASCII bytes, so its length always fits in a u16.
        aad.extend_from_slice(&(id.0.len() as u16).to_be_bytes());
        aad.extend_from_slice(id.0.as_bytes());
        if let Some(exchange) = exchange.filter(|_| self.version >= VERSION_2) {
            // Exchange ids are a few ASCII letters.
            aad.push(exchange.as_str().len() as u8);
            aad.extend_from_slice(exchange.as_str().as_bytes());
        }
        aad
    }

    /// Runs Argon2id with this header's parameters and salt, on the passphrase as this version
    /// stretches it.
    fn derive(&self, passphrase: &Passphrase) -> Result<VaultKey> {
        // The floor is what stops a downgraded vault from making the passphrase cheap to guess,
        // so it is checked here, right before the work, even though every `Vault` was checked
        // when it was built.
        self.params.check()?;
        let stretched = if self.version >= VERSION_3 { passphrase.nfc() } else { passphrase.as_typed() };
        argon2id(stretched.expose().as_bytes(), &self.salt, self.params)
    }
}

/// An account id that passed validation: 1 to 64 characters of `[A-Za-z0-9_-]`, which keeps
/// it safe to write into JSON unescaped and to use as an HTML attribute value.
#[derive(Clone, PartialEq, Eq)]
struct AccountId(String);

impl AccountId {
    fn parse(id: &str) -> Result<Self> {
        let valid = (1..=MAX_ACCOUNT_ID_CHARS).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(id.to_owned()))
        } else {
            Err(Error::InvalidInput { field: "account_id" })
        }
    }
}

/// One sealed account.
#[derive(Clone, PartialEq, Eq)]
struct Account {
    id: AccountId,
    /// Always present from version 2; version 1 did not record it.
    exchange: Option<ExchangeId>,
    sealed: Sealed,
}

/// The sealed credentials of every account, plus what is needed to derive the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Vault {
    header: Header,
    check: Sealed,
    accounts: Vec<Account>,
}

impl fmt::Debug for Vault {
    /// Shows the parameters and the account ids only; salt, nonces and ciphertexts are noise in
    /// a log and have no business in one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("version", &self.header.version)
            .field("params", &self.header.params)
            .field("accounts", &self.account_ids())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A new, empty vault for `passphrase`, and its key.
    ///
    /// Draws the salt (16 bytes) and then the check block's nonce (24 bytes) from `entropy`.
    /// Refuses a passphrase shorter than [`MIN_PASSPHRASE_CHARS`] (or only whitespace), and
    /// parameters a vault could not later be opened with.
    pub fn create(
        passphrase: &Passphrase,
        params: KdfParams,
        entropy: &mut dyn Entropy,
    ) -> Result<(Vault, VaultKey)> {
        check_new_passphrase(passphrase)?;
        params.check()?;
        let mut salt = [0u8; SALT_LEN];
        entropy.fill(&mut salt)?;
        let header = Header { version: VERSION_3, params, salt };
        let key = header.derive(passphrase)?;
        let check = seal(&key, &header.aad(), CHECK_MARKER, entropy)?;
        Ok((Vault { header, check, accounts: Vec::new() }, key))
    }

    /// Reads a stored vault. Only the structure and the parameters are checked here; nothing is
    /// decrypted. See the module docs for which error means what.
    pub fn from_json(text: &str) -> Result<Vault> {
        wire::read(text)
    }

    /// The vault as JSON text, byte for byte as documented in the module docs.
    pub fn to_json(&self) -> String {
        wire::write(self)
    }

    /// The format version this vault was read in (new vaults are version 3).
    pub fn version(&self) -> u8 {
        self.header.version
    }

    /// The Argon2id parameters this vault was sealed with.
    pub fn params(&self) -> KdfParams {
        self.header.params
    }

    /// Derives the key from `passphrase` and proves it against the check block.
    ///
    /// The parameter floor is checked before Argon2id runs. A wrong passphrase and a damaged
    /// vault both give [`Error::WrongPassphrase`].
    pub fn derive_key(&self, passphrase: &Passphrase) -> Result<VaultKey> {
        let key = self.header.derive(passphrase)?;
        self.check_key(&key)?;
        Ok(key)
    }

    /// Proves that `key` (for example one cached in `chrome.storage.session`) opens this vault.
    pub fn check_key(&self, key: &VaultKey) -> Result<()> {
        let marker = open(key, &self.header.aad(), &self.check)?;
        // The tag already proved it; comparing the marker too costs nothing.
        if bool::from(marker.as_slice().ct_eq(CHECK_MARKER)) {
            Ok(())
        } else {
            Err(Error::WrongPassphrase)
        }
    }

    /// A version 2 copy of this vault under the same key and salt: the check block and every
    /// account re-sealed with the version 2 AAD, each account bound to the exchange `exchange_of`
    /// gives for its id. A version 2 vault comes back as it is.
    ///
    /// Draws one 24-byte nonce for the check block and one per account.
    pub fn upgrade(
        &self,
        key: &VaultKey,
        exchange_of: &dyn Fn(&str) -> Option<ExchangeId>,
        entropy: &mut dyn Entropy,
    ) -> Result<Vault> {
        self.check_key(key)?;
        if self.header.version >= VERSION_2 {
            return Ok(self.clone());
        }
        let header = Header { version: VERSION_2, ..self.header.clone() };
        self.reseal(key, header, key, exchange_of, entropy)
    }

    /// The key `passphrase` derives, and for a version 2 vault a version 3 copy to store in its
    /// place, with the key that opens the copy. The copy is under the same salt and key when the
    /// passphrase is already in NFC, so a key cached elsewhere keeps working; otherwise it takes
    /// a new salt, the current parameters and the key of the NFC form (a second Argon2id run).
    /// Versions 1 ([`Vault::upgrade`] first) and 3 come back with no copy.
    ///
    /// Draws one 24-byte nonce for the check block and one per account, and a 16-byte salt when
    /// the key changes.
    pub fn normalize(&self, passphrase: &Passphrase, entropy: &mut dyn Entropy) -> Result<(VaultKey, Option<(Vault, VaultKey)>)> {
        let key = self.derive_key(passphrase)?;
        if self.header.version != VERSION_2 {
            return Ok((key, None));
        }
        let (header, new_key) = if passphrase.was_normalized() {
            (Header { version: VERSION_3, ..self.header.clone() }, key.clone())
        } else {
            let mut salt = [0u8; SALT_LEN];
            entropy.fill(&mut salt)?;
            let header = Header { version: VERSION_3, params: KdfParams::default(), salt };
            let new_key = header.derive(passphrase)?;
            (header, new_key)
        };
        let copy = self.reseal(&key, header, &new_key, &|_| None, entropy)?;
        Ok((key, Some((copy, new_key))))
    }

    /// A new vault with `credentials` sealed for `account_id` on `exchange`, replacing any entry
    /// with that id in place (so account order stays stable) or appending a new one.
    ///
    /// Only version 2 vaults are written to ([`Vault::upgrade`] first). Draws one 24-byte nonce
    /// from `entropy`.
    pub fn seal_account(
        &self,
        key: &VaultKey,
        account_id: &str,
        exchange: ExchangeId,
        credentials: &Credentials,
        entropy: &mut dyn Entropy,
    ) -> Result<Vault> {
        let id = AccountId::parse(account_id)?;
        // A wrong key would seal an entry nobody can open; refuse it up front.
        self.check_key(key)?;
        self.require_current()?;
        let plaintext = encode_credentials(credentials)?;
        let sealed = seal(key, &self.header.account_aad(&id, Some(exchange)), &plaintext, entropy)?;
        let mut vault = self.clone();
        let account = Account { id, exchange: Some(exchange), sealed };
        match vault.accounts.iter_mut().find(|existing| existing.id == account.id) {
            Some(existing) => *existing = account,
            None => vault.accounts.push(account),
        }
        Ok(vault)
    }

    /// Opens the credentials sealed for `account_id`, for use on `exchange`. From version 2 an
    /// entry sealed for another exchange does not open ([`Error::WrongPassphrase`], as any
    /// tampering).
    pub fn open_account(&self, key: &VaultKey, account_id: &str, exchange: ExchangeId) -> Result<Credentials> {
        // The key is checked first so that a wrong key is always reported as such, whatever
        // the id.
        self.check_key(key)?;
        let account = self.find(account_id)?;
        if account.exchange.is_some_and(|sealed_for| sealed_for != exchange) {
            return Err(Error::WrongPassphrase);
        }
        let plaintext = open(key, &self.header.account_aad(&account.id, Some(exchange)), &account.sealed)?;
        decode_credentials(&plaintext)
    }

    /// A new vault without `account_id`.
    pub fn remove_account(&self, key: &VaultKey, account_id: &str) -> Result<Vault> {
        self.check_key(key)?;
        let account = self.find(account_id)?;
        let mut vault = self.clone();
        vault.accounts.retain(|other| other.id != account.id);
        Ok(vault)
    }

    /// A new vault with only the entries `keep` accepts: with the key proven, the entries no
    /// account lists any more (left behind by an interrupted edit, or a damaged account list) are
    /// dropped, so every edit works again. The others are kept as they are; the list of entries is
    /// not sealed as a whole (see "Limits"), so nothing is re-sealed.
    pub fn retain_accounts(&self, key: &VaultKey, keep: &dyn Fn(&str) -> bool) -> Result<Vault> {
        self.check_key(key)?;
        let mut vault = self.clone();
        vault.accounts.retain(|account| keep(&account.id.0));
        Ok(vault)
    }

    /// The ids of the sealed accounts, in the order they were first added.
    pub fn account_ids(&self) -> Vec<String> {
        self.accounts.iter().map(|account| account.id.0.clone()).collect()
    }

    /// A new version 3 vault with every entry re-sealed under `new`: a new salt, a new key, new
    /// nonces and the current Argon2id parameters ([`KdfParams::default`]). Version 1 entries
    /// are bound to the exchange `exchange_of` gives for their id.
    ///
    /// Everything is built in memory before anything is returned, so if any step fails (the old
    /// passphrase is wrong, the new one is too short, randomness runs out halfway) the result is
    /// an error and this vault, and its stored text, still open with `old`.
    ///
    /// Draws the new salt (16 bytes), the check nonce (24) and one nonce (24) per account.
    pub fn change_passphrase(
        &self,
        old: &Passphrase,
        new: &Passphrase,
        exchange_of: &dyn Fn(&str) -> Option<ExchangeId>,
        entropy: &mut dyn Entropy,
    ) -> Result<(Vault, VaultKey)> {
        check_new_passphrase(new)?;
        let old_key = self.derive_key(old)?;
        let mut salt = [0u8; SALT_LEN];
        entropy.fill(&mut salt)?;
        // A new passphrase takes the current parameters: a vault made with weaker ones is
        // strengthened whenever its passphrase changes.
        let header = Header { version: VERSION_3, params: KdfParams::default(), salt };
        let key = header.derive(new)?;
        let vault = self.reseal(&old_key, header, &key, exchange_of, entropy)?;
        Ok((vault, key))
    }

    /// Opens every entry with `old_key` and seals it again under `new_key` and `header`.
    fn reseal(
        &self,
        old_key: &VaultKey,
        header: Header,
        new_key: &VaultKey,
        exchange_of: &dyn Fn(&str) -> Option<ExchangeId>,
        entropy: &mut dyn Entropy,
    ) -> Result<Vault> {
        let plaintexts = self
            .accounts
            .iter()
            .map(|account| {
                let exchange = match account.exchange {
                    Some(exchange) => exchange,
                    None => exchange_of(&account.id.0).ok_or(Error::InvalidInput { field: "exchange" })?,
                };
                let plaintext = open(old_key, &self.header.account_aad(&account.id, Some(exchange)), &account.sealed)?;
                Ok((exchange, plaintext))
            })
            .collect::<Result<Vec<_>>>()?;
        let check = seal(new_key, &header.aad(), CHECK_MARKER, entropy)?;
        let accounts = self
            .accounts
            .iter()
            .zip(&plaintexts)
            .map(|(account, (exchange, plaintext))| {
                let sealed = seal(new_key, &header.account_aad(&account.id, Some(*exchange)), plaintext, entropy)?;
                Ok(Account { id: account.id.clone(), exchange: Some(*exchange), sealed })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Vault { header, check, accounts })
    }

    /// Entries are bound to their exchange from version 2 only; [`Vault::upgrade`] comes first.
    fn require_current(&self) -> Result<()> {
        if self.header.version >= VERSION_2 { Ok(()) } else { Err(Error::InvalidInput { field: "vault" }) }
    }

    fn find(&self, account_id: &str) -> Result<&Account> {
        self.accounts
            .iter()
            .find(|account| account.id.0 == account_id)
            .ok_or(Error::AccountNotFound)
    }
}

/// Refuses a new passphrase that is too short, or blank however long.
fn check_new_passphrase(passphrase: &Passphrase) -> Result<()> {
    let passphrase = passphrase.nfc();
    if passphrase.char_count() < MIN_PASSPHRASE_CHARS || passphrase.is_blank() {
        return Err(Error::PassphraseTooShort { min_chars: MIN_PASSPHRASE_CHARS });
    }
    Ok(())
}

/// The account plaintext: both halves, then the API passphrase when there is one, each prefixed
/// with its length as a big-endian u16.
fn encode_credentials(credentials: &Credentials) -> Result<SecretBytes> {
    let passphrase = credentials.api_passphrase.as_ref().map(|passphrase| passphrase.expose().as_bytes());
    let fields = [
        ("api_key", Some(credentials.api_key.expose().as_bytes())),
        ("api_secret", Some(credentials.api_secret.expose().as_bytes())),
        ("api_passphrase", passphrase),
    ];
    let fields = fields.iter().filter_map(|(name, bytes)| Some((*name, (*bytes)?)));
    // Sized up front so the buffer never reallocates and leaves a copy behind.
    let capacity = fields.clone().map(|(_, bytes)| 2 + bytes.len()).sum();
    let mut out = Zeroizing::new(Vec::with_capacity(capacity));
    for (field, bytes) in fields {
        let len = u16::try_from(bytes.len()).map_err(|_| Error::InvalidInput { field })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

/// Reads what [`encode_credentials`] wrote. The bytes were authenticated, so a failure here means
/// a damaged vault, reported like any other damage.
fn decode_credentials(plaintext: &[u8]) -> Result<Credentials> {
    fn field(rest: &[u8]) -> Option<(&str, &[u8])> {
        let (len, rest) = rest.split_first_chunk::<2>()?;
        let (bytes, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
        Some((std::str::from_utf8(bytes).ok()?, rest))
    }
    let (api_key, rest) = field(plaintext).ok_or(Error::WrongPassphrase)?;
    let (api_secret, rest) = field(rest).ok_or(Error::WrongPassphrase)?;
    let credentials = Credentials::new(api_key, api_secret).map_err(|_| Error::WrongPassphrase)?;
    if rest.is_empty() {
        return Ok(credentials);
    }
    let (api_passphrase, rest) = field(rest).ok_or(Error::WrongPassphrase)?;
    if !rest.is_empty() {
        return Err(Error::WrongPassphrase);
    }
    credentials.with_passphrase(api_passphrase).map_err(|_| Error::WrongPassphrase)
}

/// The vault key as standard base64 (44 characters), for `chrome.storage.session`.
pub fn encode_key(key: &VaultKey) -> Zeroizing<String> {
    Zeroizing::new(Base64::encode_string(key.expose()))
}

/// Reads a key written by [`encode_key`].
pub fn decode_key(text: &str) -> Result<VaultKey> {
    let invalid = Error::InvalidInput { field: "vault_key" };
    // 32 bytes are exactly 44 base64 characters; anything else is refused before decoding.
    if text.len() != 44 {
        return Err(invalid);
    }
    let bytes = Zeroizing::new(Base64::decode_vec(text).map_err(|_| invalid.clone())?);
    VaultKey::from_slice(&bytes).ok_or(invalid)
}

/// The JSON shape of each stored version, declared once for reading and writing, and its checks.
mod wire {
    use serde::{Deserialize, Serialize};

    use super::*;

    /// Only the version, read before anything else so that a future format is reported as
    /// unsupported rather than damaged.
    #[derive(Deserialize)]
    struct VersionProbe {
        v: u64,
    }

    /// The whole vault. Every object is exact: a member missing, unknown or given twice is damage.
    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct VaultRecord {
        v: u64,
        kdf: KdfRecord,
        salt: String,
        check: SealedRecord,
        accounts: Vec<AccountRecord>,
    }

    /// Integers are read as u64 so that a value past u32 is an unsupported vault (too big), not
    /// a damaged one.
    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct KdfRecord {
        alg: String,
        m: u64,
        t: u64,
        p: u64,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SealedRecord {
        nonce: String,
        ct: String,
    }

    /// An account entry: `exchange` is absent in version 1 and required from version 2.
    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AccountRecord {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exchange: Option<String>,
        nonce: String,
        ct: String,
    }

    impl From<&Sealed> for SealedRecord {
        fn from(sealed: &Sealed) -> SealedRecord {
            SealedRecord { nonce: Base64::encode_string(&sealed.nonce), ct: Base64::encode_string(&sealed.ct) }
        }
    }

    pub(super) fn write(vault: &Vault) -> String {
        let params = vault.header.params;
        let record = VaultRecord {
            v: u64::from(vault.header.version),
            kdf: KdfRecord {
                alg: KDF_ALG.to_owned(),
                m: u64::from(params.memory_kib),
                t: u64::from(params.iterations),
                p: u64::from(params.parallelism),
            },
            salt: Base64::encode_string(&vault.header.salt),
            check: SealedRecord::from(&vault.check),
            accounts: vault
                .accounts
                .iter()
                .map(|account| {
                    let sealed = SealedRecord::from(&account.sealed);
                    AccountRecord {
                        id: account.id.0.clone(),
                        exchange: account.exchange.map(|exchange| exchange.as_str().to_owned()),
                        nonce: sealed.nonce,
                        ct: sealed.ct,
                    }
                })
                .collect(),
        };
        // Strings and integers always serialise.
        serde_json::to_string(&record).unwrap_or_default()
    }

    /// Parses and checks a vault. The whole shape is read first, so that any damage is reported
    /// as such before the version or the parameters are judged.
    pub(super) fn read(text: &str) -> Result<Vault> {
        let damaged = || Error::WrongPassphrase;
        let probe: VersionProbe = serde_json::from_str(text).map_err(|_| damaged())?;
        // One arm per format this code can read; each older format stays here for good.
        let version = match probe.v {
            1 => VERSION_1,
            2 => VERSION_2,
            3 => VERSION_3,
            _ => return Err(Error::UnsupportedVault),
        };
        let record: VaultRecord = serde_json::from_str(text).map_err(|_| damaged())?;
        if record.kdf.alg != KDF_ALG {
            return Err(damaged());
        }
        let params = KdfParams { memory_kib: to_u32(record.kdf.m)?, iterations: to_u32(record.kdf.t)?, parallelism: to_u32(record.kdf.p)? };
        params.check()?;
        let header = Header { version, params, salt: fixed(&record.salt)? };
        let check = sealed(&record.check.nonce, &record.check.ct)?;
        let mut accounts: Vec<Account> = Vec::with_capacity(record.accounts.len());
        for entry in record.accounts {
            let id = AccountId::parse(&entry.id).map_err(|_| damaged())?;
            if accounts.iter().any(|account| account.id == id) {
                return Err(damaged());
            }
            let exchange = match (version, entry.exchange) {
                (VERSION_1, None) => None,
                (VERSION_2 | VERSION_3, Some(exchange)) => Some(ExchangeId::parse(&exchange).ok_or_else(damaged)?),
                _ => return Err(damaged()),
            };
            accounts.push(Account { id, exchange, sealed: sealed(&entry.nonce, &entry.ct)? });
        }
        Ok(Vault { header, check, accounts })
    }

    fn to_u32(value: u64) -> Result<u32> {
        u32::try_from(value).map_err(|_| Error::UnsupportedVault)
    }

    fn bytes(text: &str) -> Result<Vec<u8>> {
        Base64::decode_vec(text).map_err(|_| Error::WrongPassphrase)
    }

    fn fixed<const N: usize>(text: &str) -> Result<[u8; N]> {
        bytes(text)?.try_into().map_err(|_| Error::WrongPassphrase)
    }

    fn sealed(nonce: &str, ct: &str) -> Result<Sealed> {
        let ct = bytes(ct)?;
        if ct.len() < TAG_LEN {
            return Err(Error::WrongPassphrase);
        }
        Ok(Sealed { nonce: fixed(nonce)?, ct })
    }
}

#[cfg(test)]
mod tests;

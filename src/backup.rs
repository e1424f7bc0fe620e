//! The encrypted backup: everything Cartera keeps, sealed as a whole under the user's passphrase,
//! in one file that restores in any browser Cartera runs in.
//!
//! # Format, version 1
//!
//! One JSON object, written without spaces, members in this order:
//!
//! ```text
//! {"format":"cartera-backup","v":1,"createdAt":1796500000000,
//!  "kdf":{"alg":"argon2id","m":65536,"t":3,"p":4},
//!  "salt":"<base64, 16 bytes>","nonce":"<base64, 24 bytes>","ct":"<base64>"}
//! ```
//!
//! The key is Argon2id of the passphrase (the UTF-8 of its NFC form, as the vault's) with `salt`
//! and the `kdf` parameters (the vault's defaults, refused outside the vault's floor and
//! ceiling); `ct` is the XChaCha20-Poly1305 encryption of the contents under it, tag included.
//! Every member of the header is authenticated as associated data, in a canonical byte encoding:
//!
//! ```text
//! aad = "cartera-backup" || v u8 || createdAt u64 big-endian
//!       || m u32 || t u32 || p u32 (big-endian) || salt_len u8 || salt
//! ```
//!
//! so a header edited to another date, other parameters or another salt opens nothing. The
//! contents are the JSON object `{"storage":{…}}`: every item of `storage.local` worth keeping,
//! by key, as stored (the vault inside is still sealed by its own key, so the passphrase opens it
//! twice). What one device works out for itself (the sync plan, rate limits, the popup's
//! precomputed views) is left out.
//!
//! # Failures
//!
//! Text that is not this shape (not JSON, a member missing or extra, cut short) is
//! [`Error::BackupUnreadable`]; a `v` above 1, or contents in a storage format newer than this
//! version's, is [`Error::BackupNewer`]; a passphrase that does not open it, and any byte changed
//! after it was made, is [`Error::BackupWrongPassphrase`] (an AEAD cannot tell the two apart).
//! Nothing is restored until all of it has read.

use std::collections::BTreeMap;

use base64ct::{Base64, Encoding as _};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{
    alerts::Alert,
    entropy::Entropy,
    error::{Error, Result},
    history::{self, KEY_PREFIX},
    profile::{Account, ManualEntry, Portfolio, STORAGE_FORMAT},
    sealing::{Key, KdfParams, NONCE_LEN, SALT_LEN, Sealed, TAG_LEN, argon2id, open, seal},
    secret::Passphrase,
    vault::Vault,
};

/// The format this code writes and reads.
const VERSION: u8 = 1;
/// What the file says it is.
const FORMAT: &str = "cartera-backup";
/// Names the header encoding in the associated data.
const AAD_DOMAIN: &[u8] = b"cartera-backup";
const KDF_ALG: &str = "argon2id";

/// Storage items a backup leaves out: what each device works out for itself.
const DEVICE_ONLY: &[&str] = &[
    "syncState", "lockouts", "historyView", "portfolioHistoryViews", "historyCompactedAt", "pendingRemoval", "backupReminder", "whatsNew",
    // Fetched headlines and each feed's last answer: fetched again on the device that restores.
    "newsItems", "newsFeeds",
];

/// The file.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BackupFile {
    format: String,
    v: u64,
    created_at: u64,
    kdf: KdfRecord,
    salt: String,
    nonce: String,
    ct: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfRecord {
    alg: String,
    m: u64,
    t: u64,
    p: u64,
}

/// What is sealed.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    storage: BTreeMap<String, Box<RawValue>>,
}

/// The header's canonical bytes (see the module docs).
fn aad(created_at: u64, params: KdfParams, salt: &[u8; SALT_LEN]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_DOMAIN.len() + 1 + 8 + 12 + 1 + SALT_LEN);
    aad.extend_from_slice(AAD_DOMAIN);
    aad.push(VERSION);
    aad.extend_from_slice(&created_at.to_be_bytes());
    aad.extend_from_slice(&params.memory_kib.to_be_bytes());
    aad.extend_from_slice(&params.iterations.to_be_bytes());
    aad.extend_from_slice(&params.parallelism.to_be_bytes());
    // SALT_LEN is 16.
    aad.push(SALT_LEN as u8);
    aad.extend_from_slice(salt);
    aad
}

/// The storage items a backup keeps, from everything `storage.local` holds (as JSON text of an
/// object keyed by storage key).
pub fn contents_of(storage: &str) -> Result<String> {
    let mut storage: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(storage).map_err(|_| Error::InvalidInput { field: "backup" })?;
    storage.retain(|key, _| !DEVICE_ONLY.contains(&key.as_str()));
    serde_json::to_string(&Contents { storage }).map_err(|_| Error::InvalidInput { field: "backup" })
}

/// Seals `contents` (what [`contents_of`] returned) under `passphrase` at `created_at_ms`: the
/// file's text. Draws the salt (16 bytes) and the nonce (24) from `entropy`.
pub fn seal_backup(contents: &str, passphrase: &Passphrase, created_at_ms: u64, entropy: &mut dyn Entropy) -> Result<String> {
    seal_with(contents, passphrase, created_at_ms, KdfParams::default(), entropy)
}

/// [`seal_backup`] with `params` (the tests seal with the floor's, to run fast).
fn seal_with(contents: &str, passphrase: &Passphrase, created_at_ms: u64, params: KdfParams, entropy: &mut dyn Entropy) -> Result<String> {
    let mut salt = [0u8; SALT_LEN];
    entropy.fill(&mut salt)?;
    let key = argon2id(passphrase.nfc().expose().as_bytes(), &salt, params)?;
    let sealed = seal(&key, &aad(created_at_ms, params, &salt), contents.as_bytes(), entropy)?;
    let file = BackupFile {
        format: FORMAT.to_owned(),
        v: u64::from(VERSION),
        created_at: created_at_ms,
        kdf: KdfRecord {
            alg: KDF_ALG.to_owned(),
            m: u64::from(params.memory_kib),
            t: u64::from(params.iterations),
            p: u64::from(params.parallelism),
        },
        salt: Base64::encode_string(&salt),
        nonce: Base64::encode_string(&sealed.nonce),
        ct: Base64::encode_string(&sealed.ct),
    };
    serde_json::to_string(&file).map_err(|_| Error::InvalidInput { field: "backup" })
}

/// What a backup holds, shown before it replaces anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// When it was made, ms since the epoch.
    pub created_at: u64,
    /// Exchange accounts.
    pub accounts: usize,
    /// Portfolios.
    pub portfolios: usize,
    /// Typed-in holdings.
    pub manual: usize,
    /// Alerts.
    pub alerts: usize,
    /// Value history points, every series together.
    pub history_points: usize,
}

/// An opened backup: what it holds, and the storage items to restore (JSON text of an object
/// keyed by storage key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Opened {
    /// What it holds.
    pub summary: Summary,
    /// The storage items, as [`check_storage`] accepts them.
    pub storage: String,
}

/// A backup file read and checked, before anything is decrypted.
struct Parsed {
    created_at: u64,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    sealed: Sealed,
}

impl Parsed {
    /// Reads the file's text. The version first, so that a newer file says so rather than that
    /// it is damaged.
    fn read(text: &str) -> Result<Parsed> {
        let unreadable = || Error::BackupUnreadable;
        let header: serde_json::Value = serde_json::from_str(text).map_err(|_| unreadable())?;
        if header.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT) {
            return Err(unreadable());
        }
        match header.get("v").and_then(serde_json::Value::as_u64) {
            Some(version) if version == u64::from(VERSION) => {}
            Some(_) => return Err(Error::BackupNewer),
            None => return Err(unreadable()),
        }
        let file: BackupFile = serde_json::from_str(text).map_err(|_| unreadable())?;
        if file.kdf.alg != KDF_ALG {
            return Err(unreadable());
        }
        let to_u32 = |value: u64| u32::try_from(value).map_err(|_| unreadable());
        let params = KdfParams { memory_kib: to_u32(file.kdf.m)?, iterations: to_u32(file.kdf.t)?, parallelism: to_u32(file.kdf.p)? };
        // The vault's floor and ceiling: a file can neither make the browser allocate gigabytes
        // nor offer a cheaply guessable key.
        params.check().map_err(|_| unreadable())?;
        let bytes = |text: &str| Base64::decode_vec(text).map_err(|_| unreadable());
        let salt: [u8; SALT_LEN] = bytes(&file.salt)?.try_into().map_err(|_| unreadable())?;
        let nonce: [u8; NONCE_LEN] = bytes(&file.nonce)?.try_into().map_err(|_| unreadable())?;
        let ct = bytes(&file.ct)?;
        if ct.len() < TAG_LEN {
            return Err(unreadable());
        }
        Ok(Parsed { created_at: file.created_at, params, salt, sealed: Sealed { nonce, ct } })
    }

    /// The key `passphrase` gives for this file.
    fn key(&self, passphrase: &Passphrase) -> Result<Key> {
        argon2id(passphrase.nfc().expose().as_bytes(), &self.salt, self.params)
    }

    /// Decrypts and checks the contents with `key`.
    fn open(&self, key: &Key) -> Result<Opened> {
        let plaintext =
            open(key, &aad(self.created_at, self.params, &self.salt), &self.sealed).map_err(|_| Error::BackupWrongPassphrase)?;
        let contents: Contents = serde_json::from_slice(&plaintext).map_err(|_| Error::BackupUnreadable)?;
        let storage = serde_json::to_string(&contents.storage).map_err(|_| Error::BackupUnreadable)?;
        let summary = Summary { created_at: self.created_at, ..check_storage(&storage)? };
        Ok(Opened { summary, storage })
    }
}

/// Opens a backup file with `passphrase` and checks everything in it.
pub fn open_backup(text: &str, passphrase: &Passphrase) -> Result<Opened> {
    let parsed = Parsed::read(text)?;
    parsed.open(&parsed.key(passphrase)?)
}

/// What a restore may write: the items of a storage format this version reads, with a vault
/// whose accounts are exactly the listed ones. Returns what they hold (`created_at` is 0: the
/// items do not say when they were saved).
pub fn check_storage(storage: &str) -> Result<Summary> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Kept {
        #[serde(default)]
        format_version: Option<u32>,
        #[serde(default)]
        vault: Option<String>,
        #[serde(default)]
        accounts: Vec<Account>,
        #[serde(default)]
        portfolios: Vec<Portfolio>,
        #[serde(default)]
        manual: Vec<ManualEntry>,
        #[serde(default)]
        alerts: Vec<Alert>,
    }
    let unreadable = || Error::BackupUnreadable;
    let kept: Kept = serde_json::from_str(storage).map_err(|_| unreadable())?;
    if kept.format_version.is_some_and(|version| version > STORAGE_FORMAT) {
        return Err(Error::BackupNewer);
    }
    let sealed = match &kept.vault {
        Some(vault) => Vault::from_json(vault).map_err(|_| unreadable())?.account_ids(),
        None => Vec::new(),
    };
    let mut listed: Vec<&str> = kept.accounts.iter().map(|account| account.id.as_str()).collect();
    let mut sealed: Vec<&str> = sealed.iter().map(String::as_str).collect();
    listed.sort_unstable();
    sealed.sort_unstable();
    if listed != sealed {
        return Err(unreadable());
    }
    let items: BTreeMap<String, Box<RawValue>> = serde_json::from_str(storage).map_err(|_| unreadable())?;
    let chunks: history::Chunks = items
        .iter()
        .filter(|(key, _)| key.starts_with(KEY_PREFIX))
        .map(|(key, value)| Ok((key.clone(), serde_json::from_str::<String>(value.get()).map_err(|_| unreadable())?)))
        .collect::<Result<_>>()?;
    Ok(Summary {
        created_at: 0,
        accounts: kept.accounts.len(),
        portfolios: kept.portfolios.len(),
        manual: kept.manual.len(),
        alerts: kept.alerts.len(),
        history_points: history::point_count(&chunks),
    })
}

#[cfg(test)]
mod tests;

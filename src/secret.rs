//! Types for secret material: API secrets, passphrases and derived keys.
//!
//! Every type here zeroizes its bytes on drop, prints `[REDACTED]` in `Debug`, implements
//! neither `Display` nor `Serialize` (so it cannot be logged or stored by accident) and
//! compares in constant time.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A secret text: an exchange API secret or a vault passphrase.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretString(String);

impl SecretString {
    /// Takes ownership of `value`; the caller's copy is moved, not duplicated.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret's text, for the few places that must feed it to a primitive.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in Unicode scalar values, for passphrase rules.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }

    /// True when the secret is empty or only whitespace.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

/// A passphrase as typed and in Unicode Normalization Form C, the form a vault (from format 3)
/// and a backup stretch, so that one passphrase gives one key however a keyboard composed it
/// ("é" as U+00E9, or as "e" followed by U+0301). The typed form opens older vaults.
///
/// The NFC form comes from the platform (`String.prototype.normalize`, ECMA-262 §22.1.3.15),
/// whose Unicode tables the browser already carries: the Rust copy of them (the
/// `unicode-normalization` crate) added 62 KiB gzip to the shipped wasm.
#[derive(Clone)]
pub struct Passphrase {
    as_typed: SecretString,
    nfc: SecretString,
}

impl Passphrase {
    /// A passphrase from its typed form and that text in NFC.
    pub fn new(as_typed: SecretString, nfc: SecretString) -> Self {
        Self { as_typed, nfc }
    }

    /// The passphrase as the user typed it: what format 1 and 2 vaults stretch.
    pub fn as_typed(&self) -> &SecretString {
        &self.as_typed
    }

    /// The passphrase in NFC: what current vaults and backups stretch.
    pub fn nfc(&self) -> &SecretString {
        &self.nfc
    }

    /// Whether the typed form was in NFC already (as nearly every passphrase is).
    pub fn was_normalized(&self) -> bool {
        self.as_typed == self.nfc
    }

    /// `text` and its NFC form, for tests.
    #[cfg(test)]
    pub fn normalizing(text: &str) -> Self {
        use unicode_normalization::UnicodeNormalization as _;
        Self::new(SecretString::from(text), SecretString(text.nfc().collect()))
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretString {}

/// Secret bytes of a fixed length, such as a vault key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey<const N: usize>(Box<[u8; N]>);

impl<const N: usize> SecretKey<N> {
    /// Wraps key bytes, zeroizing the caller's array.
    pub fn from_array(mut bytes: [u8; N]) -> Self {
        let key = Self(Box::new(bytes));
        bytes.zeroize();
        key
    }

    /// Copies key bytes from a slice of exactly `N` bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: &[u8; N] = bytes.try_into().ok()?;
        Some(Self(Box::new(*array)))
    }

    /// The key bytes, for a primitive that needs them.
    pub fn expose(&self) -> &[u8; N] {
        &self.0
    }

    /// Gives mutable access for primitives that write the key in place (a KDF's output).
    pub(crate) fn zeroed() -> Self {
        Self(Box::new([0u8; N]))
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }
}

impl<const N: usize> fmt::Debug for SecretKey<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<const N: usize> PartialEq for SecretKey<N> {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_slice().ct_eq(other.0.as_slice()).into()
    }
}

impl<const N: usize> Eq for SecretKey<N> {}

/// Bytes that are secret while they live, such as a decrypted plaintext.
pub type SecretBytes = Zeroizing<Vec<u8>>;

/// A bearer token an exchange issued in exchange for a key (Mercado Bitcoin's `/authorize`), and
/// when the exchange stops accepting it. Kept in memory only, for the conversations that follow
/// with the same key while the vault is open, so the key's secret is sent once per token rather
/// than once per conversation.
#[derive(Clone)]
pub struct BearerToken {
    token: SecretString,
    expires_ms: u64,
}

impl BearerToken {
    /// How long before its expiry a token is no longer used: a conversation begun with it then
    /// ends before the exchange refuses it.
    pub const EXPIRY_MARGIN_MS: u64 = 120_000;

    /// `token`, accepted until `expires_ms` (ms since the Unix epoch).
    pub fn new(token: SecretString, expires_ms: u64) -> Self {
        Self { token, expires_ms }
    }

    /// The token, for the `Authorization` header.
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// Whether a conversation beginning at `now_ms` may still use it.
    pub fn usable_at(&self, now_ms: u64) -> bool {
        now_ms.saturating_add(Self::EXPIRY_MARGIN_MS) < self.expires_ms
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([REDACTED])")
    }
}

/// An exchange credential pair, and the API passphrase of an exchange that issues one. The API
/// key is not secret on its own, but together with the secret it grants access, so it is kept
/// just as carefully.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The public half, sent in headers.
    pub api_key: SecretString,
    /// The private half, used only as an HMAC key.
    pub api_secret: SecretString,
    /// The passphrase the user chose when creating the key, for the exchanges that ask for one
    /// with every request (OKX's and KuCoin's "Passphrase"). Not Cartera's vault passphrase.
    pub api_passphrase: Option<SecretString>,
}

impl Credentials {
    /// Validates a pasted key and secret. Surrounding whitespace (a common paste artefact) is
    /// trimmed; the key must be visible ASCII without `:` because it travels inside an
    /// `Authorization` header whose fields are separated by colons.
    pub fn new(api_key: &str, api_secret: &str) -> crate::error::Result<Self> {
        use crate::error::Error;
        let api_key = api_key.trim();
        let api_secret = api_secret.trim();
        if api_key.is_empty() || !api_key.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(Error::InvalidInput { field: "api_key" });
        }
        if api_secret.is_empty() || api_secret.chars().any(char::is_control) {
            return Err(Error::InvalidInput { field: "api_secret" });
        }
        Ok(Self { api_key: api_key.into(), api_secret: api_secret.into(), api_passphrase: None })
    }

    /// These credentials with the key's API passphrase. Surrounding whitespace is trimmed; the
    /// rest must be visible ASCII or spaces, since it travels in a header as typed.
    pub fn with_passphrase(self, api_passphrase: &str) -> crate::error::Result<Self> {
        let api_passphrase = api_passphrase.trim();
        if api_passphrase.is_empty() || !api_passphrase.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(crate::error::Error::InvalidInput { field: "api_passphrase" });
        }
        Ok(Self { api_passphrase: Some(api_passphrase.into()), ..self })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let secret = SecretString::from("hunter2-very-secret");
        assert_eq!(format!("{secret:?}"), "[REDACTED]");
        let key = SecretKey::<32>::from_array([7u8; 32]);
        assert_eq!(format!("{key:?}"), "[REDACTED]");
        let creds = Credentials {
            api_key: "public-key".into(),
            api_secret: "private-secret".into(),
            api_passphrase: Some("api-passphrase".into()),
        };
        let printed = format!("{creds:?}");
        assert!(!printed.contains("public-key") && !printed.contains("private-secret") && !printed.contains("api-passphrase"));
    }

    #[test]
    fn a_bearer_token_is_redacted_and_retired_before_it_expires() {
        let token = BearerToken::new("opaque-bearer-token".into(), 1_000_000);
        assert_eq!(format!("{token:?}"), "BearerToken([REDACTED])");
        assert_eq!(token.token().expose(), "opaque-bearer-token");
        assert!(token.usable_at(1_000_000 - BearerToken::EXPIRY_MARGIN_MS - 1));
        assert!(!token.usable_at(1_000_000 - BearerToken::EXPIRY_MARGIN_MS));
        assert!(!token.usable_at(u64::MAX));
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(SecretString::from("abc"), SecretString::from("abc"));
        assert_ne!(SecretString::from("abc"), SecretString::from("abd"));
        assert_ne!(SecretString::from("abc"), SecretString::from("abcd"));
        assert_eq!(SecretKey::<4>::from_array([1, 2, 3, 4]), SecretKey::<4>::from_array([1, 2, 3, 4]));
        assert_ne!(SecretKey::<4>::from_array([1, 2, 3, 4]), SecretKey::<4>::from_array([1, 2, 3, 5]));
    }

    #[test]
    fn from_slice_checks_length() {
        assert!(SecretKey::<32>::from_slice(&[0u8; 31]).is_none());
        assert!(SecretKey::<32>::from_slice(&[0u8; 32]).is_some());
    }

    #[test]
    fn credentials_are_trimmed_and_validated() {
        use crate::error::Error;
        let creds = Credentials::new("  abc123\n", "\tsecret ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(creds.api_key.expose(), "abc123");
        assert_eq!(creds.api_secret.expose(), "secret");
        assert_eq!(Credentials::new("", "s"), Err(Error::InvalidInput { field: "api_key" }));
        assert_eq!(Credentials::new("a:b", "s"), Err(Error::InvalidInput { field: "api_key" }));
        assert_eq!(Credentials::new("a b", "s"), Err(Error::InvalidInput { field: "api_key" }));
        assert_eq!(Credentials::new("ab", "  "), Err(Error::InvalidInput { field: "api_secret" }));
        assert_eq!(Credentials::new("ab", "x\ny"), Err(Error::InvalidInput { field: "api_secret" }));
    }

    #[test]
    fn an_api_passphrase_is_trimmed_and_validated() {
        use crate::error::Error;
        let creds = Credentials::new("key", "secret").and_then(|creds| creds.with_passphrase(" Pass phrase#1\n"));
        let creds = creds.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(creds.api_passphrase.as_ref().map(SecretString::expose), Some("Pass phrase#1"));
        assert_eq!(creds.api_secret.expose(), "secret", "the pair is kept");
        for refused in ["", "   ", "pass\u{7f}", "pass\tword", "contraseña"] {
            let refused = Credentials::new("key", "secret").and_then(|creds| creds.with_passphrase(refused));
            assert_eq!(refused, Err(Error::InvalidInput { field: "api_passphrase" }));
        }
    }

    #[test]
    fn blank_and_length() {
        assert!(SecretString::from("  \t").is_blank());
        assert_eq!(SecretString::from("ñandú").char_count(), 5);
    }
}

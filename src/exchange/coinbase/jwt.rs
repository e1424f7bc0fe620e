//! Coinbase's private keys as users paste them, and the JWT each request carries.
//!
//! A CDP key's private half comes in one of these forms
//! (<https://docs.cdp.coinbase.com/get-started/authentication/jwt-authentication>, the official
//! Advanced Trade SDK's `jwt_generator.py` and its tests):
//! - ECDSA P-256 as a SEC1 PEM (`-----BEGIN EC PRIVATE KEY-----`), the portal's form;
//! - Ed25519 as base64 of the 32-byte seed followed by the 32-byte public key (the portal's
//!   form), or of the seed alone;
//! - either one as a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
//!
//! Pastes arrive mangled in known ways: the line breaks of a PEM become literal `\n` escapes
//! (copied out of the JSON key file) or disappear (a single-line input field drops them), and
//! spaces or CRLFs surround it. The armor lines and the base64 in between are therefore read
//! without regard to whitespace or escapes.
//!
//! What is read is stored in a canonical single line, `es256:<base64 scalar>` or
//! `eddsa:<base64 seed>`, so that signing parses no PEM and the vault's credential rules (no
//! control characters) hold. The PEM armor (RFC 7468), SEC1 `ECPrivateKey` (RFC 5915) and
//! PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey` (RFC 5208, RFC 5958, RFC 8410) are read with
//! RustCrypto's formats crates (pem-rfc7468, der, sec1, pkcs8), fuzzed and reviewed, rather than
//! by hand; the paste is only repaired into the canonical PEM layout they expect. A public key
//! stored next to the private one must be the private key's, as those crates check.
//!
//! The token is the one the official SDK builds: header `{"alg","typ","kid","nonce"}`, claims
//! `{"sub","iss":"cdp","nbf","exp","uri"}`, two minutes of validity, `uri` = method, space,
//! host and path without the query string. ES256 signatures are raw `r‖s` with RFC 6979
//! nonces (so tests can pin them); EdDSA is deterministic by design.

use base64ct::{Base64, Base64Unpadded, Base64UrlUnpadded, Encoding as _};
use p256::pkcs8::der::{self, Decode as _, SecretDocument, pem, pem::PemLabel as _};
use p256::pkcs8::{AssociatedOid as _, PrivateKeyInfoRef, SubjectPublicKeyInfoRef};
use sec1::EcPrivateKey;
use zeroize::Zeroizing;

use super::Method;
use crate::error::{Error, Result};

/// The host named in every token's `uri` claim.
const HOST: &str = "api.coinbase.com";

/// How long a token is valid, in seconds: Coinbase's own two minutes.
pub const VALIDITY_SECS: u64 = 120;

/// Standard base64 with or without its `=` padding (a paste may lose it), decoded in constant
/// time: it holds a private key.
fn decode_any_padding(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    Base64Unpadded::decode_vec(text.trim_end_matches('=')).ok().map(Zeroizing::new)
}

const ES256_PREFIX: &str = "es256:";
const EDDSA_PREFIX: &str = "eddsa:";

/// A private key ready to sign, wiped when dropped.
pub enum PrivateKey {
    /// A P-256 scalar, big-endian.
    Es256(Zeroizing<[u8; 32]>),
    /// An Ed25519 seed.
    EdDsa(Zeroizing<[u8; 32]>),
}

impl PrivateKey {
    /// Reads a private key in any form Coinbase issues it (see the module docs).
    pub fn from_pasted(text: &str) -> Result<Self> {
        let text = text.trim();
        if let Some(key) = Self::from_canonical(text) {
            return Ok(key);
        }
        if text.contains("-----BEGIN ") {
            return from_pem(text);
        }
        let base64 = without_whitespace(text);
        let bytes = decode_any_padding(&base64).ok_or(Error::PrivateKeyMalformed)?;
        from_raw_bytes(&bytes)
    }

    /// Reads the canonical form [`PrivateKey::canonical`] writes; `None` for anything else.
    pub fn from_canonical(text: &str) -> Option<Self> {
        let (scalar, prefix_is_es256) = match (text.strip_prefix(ES256_PREFIX), text.strip_prefix(EDDSA_PREFIX)) {
            (Some(scalar), _) => (scalar, true),
            (None, Some(seed)) => (seed, false),
            (None, None) => return None,
        };
        let bytes = Zeroizing::new(Base64::decode_vec(scalar).ok()?);
        let array = secret_array(&bytes)?;
        if prefix_is_es256 {
            // Refuses 0 and values beyond the group order, which no genuine key has.
            es256_key(&array)?;
            Some(Self::Es256(array))
        } else {
            Some(Self::EdDsa(array))
        }
    }

    /// The single-line form stored in the vault.
    pub fn canonical(&self) -> Zeroizing<String> {
        let (prefix, bytes) = match self {
            Self::Es256(scalar) => (ES256_PREFIX, scalar),
            Self::EdDsa(seed) => (EDDSA_PREFIX, seed),
        };
        let base64 = Zeroizing::new(Base64::encode_string(bytes.as_slice()));
        let mut text = Zeroizing::new(String::with_capacity(prefix.len() + base64.len()));
        text.push_str(prefix);
        text.push_str(&base64);
        text
    }

    /// The JWS `alg` of tokens this key signs.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Es256(_) => "ES256",
            Self::EdDsa(_) => "EdDSA",
        }
    }

    /// The 64-byte JWS signature of `message`: raw `r‖s` for ES256, the Ed25519 signature for
    /// EdDSA. The signing key lives only for this call and is wiped when dropped.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        match self {
            Self::Es256(scalar) => {
                use p256::ecdsa::signature::Signer as _;
                let key = es256_key(scalar).ok_or(Error::InvalidInput { field: "api_secret" })?;
                let signature: p256::ecdsa::Signature = key.sign(message);
                Ok(signature.to_bytes().into())
            }
            Self::EdDsa(seed) => {
                use ed25519_dalek::Signer as _;
                Ok(ed25519_dalek::SigningKey::from_bytes(seed).sign(message).to_bytes())
            }
        }
    }
}

/// The P-256 signing key of a scalar; `None` for 0 and values beyond the group order, which no
/// genuine key has.
fn es256_key(scalar: &[u8; 32]) -> Option<p256::ecdsa::SigningKey> {
    p256::ecdsa::SigningKey::from_slice(scalar).ok()
}

/// Whether `name` is a CDP key name: `organizations/{org_id}/apiKeys/{key_id}`, or a key id on
/// its own (Ed25519 keys are shown by id). Ids are letters, digits, `-` and `_`, so a name
/// never needs escaping inside the token's JSON.
pub fn is_key_name(name: &str) -> bool {
    let is_id = |part: &str| {
        let id_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        !part.is_empty() && part.len() <= 128 && part.bytes().all(id_byte)
    };
    match name.strip_prefix("organizations/").and_then(|rest| rest.split_once("/apiKeys/")) {
        Some((organization, id)) => is_id(organization) && is_id(id),
        None => is_id(name),
    }
}

/// The `Authorization: Bearer` token for one request: `method` on `path` (no query string),
/// valid from `now_s` for [`VALIDITY_SECS`], with `nonce` (hex) making it unique.
pub fn token(key: &PrivateKey, key_name: &str, nonce: &str, now_s: u64, method: Method, path: &str) -> Result<String> {
    // Everything spliced into the JSON below is checked to need no escaping.
    if !is_key_name(key_name) {
        return Err(Error::InvalidInput { field: "key_name" });
    }
    let plain = |text: &str| text.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b'?');
    if !nonce.bytes().all(|b| b.is_ascii_hexdigit()) || !path.starts_with('/') || !plain(path) {
        return Err(Error::InvalidInput { field: "refresh" });
    }
    // Key order and spacing exactly as the official SDK's tokens (PyJWT's header order, then
    // the claims in the order the SDK lists them), so its test vectors apply byte for byte.
    let header = format!(r#"{{"alg":"{}","typ":"JWT","kid":"{key_name}","nonce":"{nonce}"}}"#, key.algorithm());
    let claims = format!(
        r#"{{"sub":"{key_name}","iss":"cdp","nbf":{now_s},"exp":{},"uri":"{} {HOST}{path}"}}"#,
        now_s.saturating_add(VALIDITY_SECS),
        method.as_str(),
    );
    let signing_input = format!("{}.{}", Base64UrlUnpadded::encode_string(header.as_bytes()), Base64UrlUnpadded::encode_string(claims.as_bytes()));
    let signature = key.sign(signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", Base64UrlUnpadded::encode_string(&signature)))
}

/// `text` without whitespace and without the literal `\n`, `\r` escapes a copy out of JSON
/// leaves.
fn without_whitespace(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('n' | 'r')) {
            chars.next();
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

fn secret_array(bytes: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let mut array = Zeroizing::new([0u8; 32]);
    array.copy_from_slice(bytes.get(..32).filter(|_| bytes.len() == 32)?);
    Some(array)
}

/// Reads the private key of the PEM block `text`
/// (`-----BEGIN <label>-----<base64>-----END <label>-----`). The paste is first repaired into
/// canonical PEM; pem-rfc7468 then reads the armor (and checks that the labels match), der the
/// base64 body, and the document is read by its label.
fn from_pem(text: &str) -> Result<PrivateKey> {
    let malformed = || Error::PrivateKeyMalformed;
    let blank = |text: &str| without_whitespace(text).is_empty();
    let (before, block) = text.split_once("-----BEGIN ").ok_or_else(malformed)?;
    let (label, rest) = block.split_once("-----").ok_or_else(malformed)?;
    let (body, end) = rest.split_once("-----END ").ok_or_else(malformed)?;
    let (end_label, after) = end.split_once("-----").ok_or_else(malformed)?;
    // One block and nothing else: pem-rfc7468 would skip text before it, and a second block
    // (`openssl ecparam -genkey` writes the parameters, then the key) means no single key.
    if !blank(before) || !blank(after) {
        return Err(malformed());
    }
    // Legacy OpenSSL encryption puts `Proc-Type: 4,ENCRYPTED` headers in the body, which RFC 7468
    // has no place for and the repair below would garble.
    if body.contains("ENCRYPTED") {
        return Err(Error::PrivateKeyUnsupported);
    }
    let pem = rewrapped_pem(label, &without_whitespace(body), end_label);

    let label = pem::decode_label(pem.as_bytes()).map_err(|_| malformed())?;
    let document = || SecretDocument::from_pem(&pem).map(|(_, document)| document).map_err(|_| malformed());
    match label {
        EcPrivateKey::PEM_LABEL => from_sec1(document()?.as_bytes()),
        PrivateKeyInfoRef::PEM_LABEL => {
            let document = document()?;
            from_pkcs8(PrivateKeyInfoRef::from_der(document.as_bytes()).map_err(|_| malformed())?)
        }
        SubjectPublicKeyInfoRef::PEM_LABEL | "EC PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => Err(Error::PrivateKeyPublic),
        // RSA, DSA, OpenSSH, encrypted PKCS#8, bare curve parameters and whatever else a PEM can
        // hold.
        _ => Err(Error::PrivateKeyUnsupported),
    }
}

/// A PEM block in the one layout pem-rfc7468 reads. It follows RFC 7468's strict grammar: the
/// base64 between the armor lines in lines of exactly 64 characters (the last one shorter) and
/// nothing else. In a paste the line breaks may be gone, or be spaces, CRLFs or literal `\n`
/// escapes; so `base64`, the body with all of those removed, is wrapped anew here, and its `=`
/// padding, which a paste may lose too, restored. The labels are passed on as pasted, for
/// pem-rfc7468 to check.
fn rewrapped_pem(label: &str, base64: &str, end_label: &str) -> Zeroizing<String> {
    const WIDTH: usize = 64;
    let base64 = base64.trim_end_matches('=');
    // Three for a remainder of one character, which no padding makes base64: the decoder refuses it.
    let padding = (4 - base64.len() % 4) % 4;
    let length = base64.len() + padding;
    // Sized up front so that the secret is never copied by a reallocation.
    let capacity = label.len() + end_label.len() + length + length / WIDTH + 40;
    let mut pem = Zeroizing::new(String::with_capacity(capacity));
    pem.push_str("-----BEGIN ");
    pem.push_str(label);
    pem.push_str("-----\n");
    for (index, c) in base64.chars().chain(std::iter::repeat_n('=', padding)).enumerate() {
        if index > 0 && index % WIDTH == 0 {
            pem.push('\n');
        }
        pem.push(c);
    }
    if length > 0 {
        pem.push('\n');
    }
    pem.push_str("-----END ");
    pem.push_str(end_label);
    pem.push_str("-----\n");
    pem
}

/// Reads base64-decoded bytes without PEM armor: an Ed25519 seed (32 bytes), seed and public
/// key (64 bytes), or a PEM's body pasted without its armor lines (DER).
fn from_raw_bytes(bytes: &[u8]) -> Result<PrivateKey> {
    match (bytes.len(), bytes.first()) {
        (32, _) => secret_array(bytes).map(PrivateKey::EdDsa).ok_or(Error::PrivateKeyMalformed),
        (64, _) => {
            let (seed, public) = bytes.split_at(32);
            let seed = secret_array(seed).ok_or(Error::PrivateKeyMalformed)?;
            // Anything else of that length is no private key: a public key, a signature.
            if ed25519_public(&seed) != public {
                return Err(Error::PrivateKeyPublic);
            }
            Ok(PrivateKey::EdDsa(seed))
        }
        // An uncompressed or a compressed P-256 public point.
        (65, Some(0x04)) | (33, Some(0x02 | 0x03)) => Err(Error::PrivateKeyPublic),
        _ => from_der(bytes),
    }
}

fn ed25519_public(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// A DER document without the PEM label that would name it: a PKCS#8 `PrivateKeyInfo`, a
/// `SubjectPublicKeyInfo` (a public key, refused as such) or else a SEC1 `ECPrivateKey`.
fn from_der(der: &[u8]) -> Result<PrivateKey> {
    if let Ok(info) = PrivateKeyInfoRef::from_der(der) {
        return from_pkcs8(info);
    }
    if SubjectPublicKeyInfoRef::from_der(der).is_ok() {
        return Err(Error::PrivateKeyPublic);
    }
    from_sec1(der)
}

/// A PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey`, by its algorithm: Ed25519 (RFC 8410), or
/// an EC key (RFC 5915) on P-256.
fn from_pkcs8(info: PrivateKeyInfoRef<'_>) -> Result<PrivateKey> {
    match info.algorithm.oid {
        ed25519_dalek::pkcs8::ALGORITHM_OID => {
            // Also checks the public key PKCS#8 v2 may carry against the seed's.
            let key = ed25519_dalek::SigningKey::try_from(info).map_err(|_| Error::PrivateKeyMalformed)?;
            Ok(PrivateKey::EdDsa(Zeroizing::new(key.to_bytes())))
        }
        p256::elliptic_curve::ALGORITHM_OID => match info.algorithm.parameters_oid() {
            Ok(p256::NistP256::OID) => from_sec1(info.private_key.as_bytes()),
            // Another curve, or a curve spelled out instead of named.
            _ => Err(Error::PrivateKeyUnsupported),
        },
        // RSA, Ed448, X25519, DSA and the rest.
        _ => Err(Error::PrivateKeyUnsupported),
    }
}

/// A SEC1 `ECPrivateKey`. Parameters, when present, must name P-256; without them (as inside
/// PKCS#8) the key is taken as P-256, the only curve Coinbase issues. p256 refuses a scalar of
/// 0 or beyond the group order, and a public key that is not the scalar's.
fn from_sec1(der: &[u8]) -> Result<PrivateKey> {
    let key = EcPrivateKey::from_der(der).map_err(|error| match error.kind() {
        // sec1 reads named curves only: a curve spelled out (`specifiedCurve`, a SEQUENCE)
        // where the parameters' OBJECT IDENTIFIER belongs.
        der::ErrorKind::TagUnexpected { expected: Some(der::Tag::ObjectIdentifier), .. } => Error::PrivateKeyUnsupported,
        _ => Error::PrivateKeyMalformed,
    })?;
    if key.parameters.is_some_and(|parameters| parameters.named_curve() != Some(p256::NistP256::OID)) {
        return Err(Error::PrivateKeyUnsupported);
    }
    let key = p256::SecretKey::try_from(key).map_err(|_| Error::PrivateKeyMalformed)?;
    Ok(PrivateKey::Es256(Zeroizing::new(key.to_bytes().into())))
}

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
//! control characters) hold. Only the few DER structures a key comes in are read, by hand:
//! SEC1 `ECPrivateKey` (RFC 5915) and PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey` (RFC 5208,
//! RFC 5958, RFC 8410); the crates' PEM and PKCS#8 features would cost more wasm than this.
//! A public key stored next to the private one is not compared with it (that would cost wasm
//! too): the signature is always made with, and checked by Coinbase against, the key itself.
//!
//! The token is the one the official SDK builds: header `{"alg","typ","kid","nonce"}`, claims
//! `{"sub","iss":"cdp","nbf","exp","uri"}`, two minutes of validity, `uri` = method, space,
//! host and path without the query string. ES256 signatures are raw `r‖s` with RFC 6979
//! nonces (so tests can pin them); EdDSA is deterministic by design.

use base64ct::{Base64, Base64Unpadded, Base64UrlUnpadded, Encoding as _};
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
/// (`-----BEGIN <label>-----<base64>-----END <label>-----`).
fn from_pem(text: &str) -> Result<PrivateKey> {
    let malformed = || Error::PrivateKeyMalformed;
    let blank = |text: &str| without_whitespace(text).is_empty();
    let (before, block) = text.split_once("-----BEGIN ").ok_or_else(malformed)?;
    let (label, rest) = block.split_once("-----").ok_or_else(malformed)?;
    let (body, end) = rest.split_once("-----END ").ok_or_else(malformed)?;
    // One block and nothing else, its END line naming the same label.
    if !blank(before) || !end.strip_prefix(label).and_then(|end| end.strip_prefix("-----")).is_some_and(blank) {
        return Err(malformed());
    }
    match label {
        "EC PRIVATE KEY" | "PRIVATE KEY" => {}
        "PUBLIC KEY" | "EC PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => return Err(Error::PrivateKeyPublic),
        // RSA, DSA, OpenSSH, encrypted PKCS#8 and whatever else a PEM can hold.
        _ => return Err(Error::PrivateKeyUnsupported),
    }
    // Legacy OpenSSL encryption puts `Proc-Type: 4,ENCRYPTED` headers in the body.
    if body.contains("ENCRYPTED") {
        return Err(Error::PrivateKeyUnsupported);
    }
    let der = decode_any_padding(&without_whitespace(body)).ok_or_else(malformed)?;
    from_der(&der)
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
        (_, Some(&SEQUENCE)) => from_der(bytes),
        _ => Err(Error::PrivateKeyMalformed),
    }
}

fn ed25519_public(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

// DER tags and object identifiers (contents only) of the structures read here.
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OBJECT_IDENTIFIER: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
/// `[0]` constructed: SEC1's curve parameters, PKCS#8's attributes.
const CONTEXT_0: u8 = 0xa0;
/// `[1]` constructed: SEC1's public key.
const CONTEXT_1: u8 = 0xa1;
/// `[1]` implicit BIT STRING: PKCS#8 v2's public key.
const CONTEXT_1_PRIMITIVE: u8 = 0x81;
/// 1.2.840.10045.2.1, id-ecPublicKey.
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// 1.2.840.10045.3.1.7, prime256v1 (P-256).
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// 1.3.101.112, id-Ed25519.
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// One DER element of `input`: its tag, its contents and what follows it. Definite lengths of
/// up to 65535 bytes only; keys are far smaller.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = match first {
        0x00..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&length, rest) = rest.split_first()?;
            (usize::from(length), rest)
        }
        0x82 => {
            let (length, rest) = rest.split_first_chunk::<2>()?;
            (usize::from(u16::from_be_bytes(*length)), rest)
        }
        _ => return None,
    };
    let (contents, rest) = rest.split_at_checked(length)?;
    Some((tag, contents, rest))
}

/// The contents of the element of `input` tagged `tag`, and what follows it.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    element(input).filter(|(found, ..)| *found == tag).map(|(_, contents, rest)| (contents, rest))
}

/// What a DER document turned out to be.
enum Der {
    Key(PrivateKey),
    Public,
    Unsupported,
}

/// A whole DER document: an `ECPrivateKey`, a `PrivateKeyInfo` or a `SubjectPublicKeyInfo`
/// (a public key, refused as such), told apart by their second element.
fn from_der(der: &[u8]) -> Result<PrivateKey> {
    match read_der(der) {
        Some(Der::Key(key)) => Ok(key),
        Some(Der::Public) => Err(Error::PrivateKeyPublic),
        Some(Der::Unsupported) => Err(Error::PrivateKeyUnsupported),
        None => Err(Error::PrivateKeyMalformed),
    }
}

fn read_der(der: &[u8]) -> Option<Der> {
    let body = only(der, SEQUENCE)?;
    match element(body)? {
        // SubjectPublicKeyInfo starts with its AlgorithmIdentifier.
        (SEQUENCE, ..) => Some(Der::Public),
        (INTEGER, [1], rest) if expect(rest, OCTET_STRING).is_some() => ec_private_key(body),
        (INTEGER, [0 | 1], rest) => private_key_info(rest),
        _ => None,
    }
}

/// The contents of the one element `input` holds, which must be tagged `tag`.
fn only(input: &[u8], tag: u8) -> Option<&[u8]> {
    expect(input, tag).and_then(|(contents, rest)| rest.is_empty().then_some(contents))
}

/// The contents of an element tagged `tag` if `input` starts with one, and what follows.
fn optional(input: &[u8], tag: u8) -> (Option<&[u8]>, &[u8]) {
    match expect(input, tag) {
        Some((contents, rest)) => (Some(contents), rest),
        None => (None, input),
    }
}

/// The contents of an `ECPrivateKey`: `version INTEGER (1), privateKey OCTET STRING,
/// parameters [0] OPTIONAL, publicKey [1] OPTIONAL`. Parameters, when present, must name
/// P-256; without them (as inside PKCS#8) the key is taken as P-256, the only curve Coinbase
/// issues.
fn ec_private_key(body: &[u8]) -> Option<Der> {
    let (version, rest) = expect(body, INTEGER)?;
    let (scalar, rest) = expect(rest, OCTET_STRING).filter(|_| version == [1])?;
    let (parameters, rest) = optional(rest, CONTEXT_0);
    // The public key that may follow is not needed: it is the scalar's, derived when signing.
    let (_public, rest) = optional(rest, CONTEXT_1);
    if !rest.is_empty() {
        return None;
    }
    // Another named curve, or a curve spelled out instead of named.
    if parameters.is_some_and(|parameters| !matches!(expect(parameters, OBJECT_IDENTIFIER), Some((OID_P256, _)))) {
        return Some(Der::Unsupported);
    }
    // RFC 5915 fixes the length at 32 bytes for P-256; a few encoders drop leading zeros.
    let padding = 32usize.checked_sub(scalar.len()).filter(|_| !scalar.is_empty())?;
    let mut padded = Zeroizing::new([0u8; 32]);
    padded.get_mut(padding..)?.copy_from_slice(scalar);
    es256_key(&padded)?;
    Some(Der::Key(PrivateKey::Es256(padded)))
}

/// The rest of a `PrivateKeyInfo` / `OneAsymmetricKey` after its version:
/// `privateKeyAlgorithm SEQUENCE, privateKey OCTET STRING, attributes [0] OPTIONAL,
/// publicKey [1] OPTIONAL`.
fn private_key_info(rest: &[u8]) -> Option<Der> {
    let (algorithm, rest) = expect(rest, SEQUENCE)?;
    let (private_key, rest) = expect(rest, OCTET_STRING)?;
    let (_attributes, rest) = optional(rest, CONTEXT_0);
    // PKCS#8 v2's public key, like SEC1's, is derived when signing, not read.
    let (_public, rest) = optional(rest, CONTEXT_1_PRIMITIVE);
    if !rest.is_empty() {
        return None;
    }
    let (oid, parameters) = expect(algorithm, OBJECT_IDENTIFIER)?;
    match oid {
        OID_EC_PUBLIC_KEY => match expect(parameters, OBJECT_IDENTIFIER) {
            Some((OID_P256, _)) => ec_private_key(only(private_key, SEQUENCE)?),
            _ => Some(Der::Unsupported),
        },
        OID_ED25519 if parameters.is_empty() => {
            // RFC 8410: the key is itself an OCTET STRING holding the 32-byte seed.
            Some(Der::Key(PrivateKey::EdDsa(secret_array(only(private_key, OCTET_STRING)?)?)))
        }
        // RSA, Ed448, X25519, DSA and the rest.
        _ => Some(Der::Unsupported),
    }
}

use std::collections::BTreeSet;

use base64ct::{Base64, Base64UrlUnpadded, Encoding as _};
use p256::ecdsa::signature::Verifier as _;
use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::{
    exchange::testing,
    nonce::NonceFormat,
    transactions::{Amount, Kind, Side, Transaction},
};

/// The key name of the official Advanced Trade SDK's tests (coinbase-advanced-py
/// `tests/constants.py`), also shared/reference/exchanges-2.md §5.
const SDK_KEY_NAME: &str = "organizations/test-organization/apiKeys/test-api-key";

/// The SDK's test EC key, a SEC1 PEM as the portal hands it out.
const SDK_EC_PEM: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKwf3Uox30cRWzRBOPoPOH5p0Gpb0Dt8zUKXUEM5fMkGoAoGCCqGSM49\nAwEHoUQDQgAEbAtpLlSZYVOwYICz+uEyxcS29vRIujiES/gQ1DC7FV4zK4JuYE9v\nqDyGZQYjdXHLM7I6f/QnnOITL+dXYWBHRA==\n-----END EC PRIVATE KEY-----\n";
/// Its scalar and uncompressed public key (exchanges-2.md §5).
const SDK_EC_SCALAR: &str = "ac1fdd4a31df47115b344138fa0f387e69d06a5bd03b7ccd42975043397cc906";
const SDK_EC_PUBLIC: &str = "046c0b692e54996153b06080b3fae132c5c4b6f6f448ba38844bf810d430bb155e332b826e604f6fa83c866506237571cb33b23a7ff4279ce2132fe75761604744";

/// The SDK's test Ed25519 key: base64 of seed ‖ public key, as the portal hands it out.
const SDK_ED25519: &str = "k0BUni0p0vZG1BdpVjS6ogBJ7kxm630AJ2dN+tuputDOKsRAwgyrpEQLeBtS1znTmzPX6Xr2eOWpzx6nW8knkA==";
const SDK_ED25519_SEED: &str = "9340549e2d29d2f646d417695634baa20049ee4c66eb7d0027674dfadba9bad0";
const SDK_ED25519_PUBLIC: &str = "ce2ac440c20caba4440b781b52d739d39b33d7e97af678e5a9cf1ea75bc92790";

/// C1 and C2 of exchanges-2.md §5: the SDK's token for `GET /api/v3/brokerage/accounts` at
/// 1700000000 with nonce `0123456789abcdef0123456789abcdef`, reproduced there with ccxt (noble),
/// Python (`cryptography`, RFC 6979) and RustCrypto.
const C1: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Im9yZ2FuaXphdGlvbnMvdGVzdC1vcmdhbml6YXRpb24vYXBpS2V5cy90ZXN0LWFwaS1rZXkiLCJub25jZSI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIn0.eyJzdWIiOiJvcmdhbml6YXRpb25zL3Rlc3Qtb3JnYW5pemF0aW9uL2FwaUtleXMvdGVzdC1hcGkta2V5IiwiaXNzIjoiY2RwIiwibmJmIjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAxMjAsInVyaSI6IkdFVCBhcGkuY29pbmJhc2UuY29tL2FwaS92My9icm9rZXJhZ2UvYWNjb3VudHMifQ.bb5fKS-IuuWYqZ2hGgcz9c7lQeWGMYaQYOswehlNj9I7AZQQGJGJDhdyUsHEMpD_xXFyWo8dPhJDkOfZuW2uzQ";
const C2: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6Im9yZ2FuaXphdGlvbnMvdGVzdC1vcmdhbml6YXRpb24vYXBpS2V5cy90ZXN0LWFwaS1rZXkiLCJub25jZSI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIn0.eyJzdWIiOiJvcmdhbml6YXRpb25zL3Rlc3Qtb3JnYW5pemF0aW9uL2FwaUtleXMvdGVzdC1hcGkta2V5IiwiaXNzIjoiY2RwIiwibmJmIjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAxMjAsInVyaSI6IkdFVCBhcGkuY29pbmJhc2UuY29tL2FwaS92My9icm9rZXJhZ2UvYWNjb3VudHMifQ.QQBdMBG6eM67RzlcmhP7PUTAARblY92tIUURjYEwoZwr7ASDhC5VAODre-l_F26wI04eU2lscoUi39_9B4SgDA";

/// 2024-11-11T18:20:00.123Z: the flows sign at second 1731349200.
const NOW_MS: u64 = 1_731_349_200_123;
const NOW_S: u64 = 1_731_349_200;

const EXCHANGE_ID: ExchangeId = ExchangeId::Coinbase;

fn es256() -> Credentials {
    Coinbase.credentials(SDK_KEY_NAME, SDK_EC_PEM).unwrap_or_else(|e| panic!("{e}"))
}

fn eddsa() -> Credentials {
    Coinbase.credentials(SDK_KEY_NAME, SDK_ED25519).unwrap_or_else(|e| panic!("{e}"))
}

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap_or_else(|e| panic!("{e}"))
}

fn dec(text: &str) -> Decimal {
    crate::money::parse_decimal(text).unwrap_or_else(|| panic!("not a decimal: {text}"))
}

fn ok(body: &str) -> HttpResponse<'_> {
    HttpResponse::new(200, body.as_bytes())
}

fn with_status(status: u16, body: &str) -> HttpResponse<'_> {
    HttpResponse::new(status, body.as_bytes())
}

/// A token's header and claims as JSON, and its signing input and signature bytes.
struct Decoded {
    header: Value,
    claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

fn decode(token: &str) -> Decoded {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS in compact form");
    let json = |part: &str| -> Value {
        let bytes = Base64UrlUnpadded::decode_vec(part).unwrap_or_else(|e| panic!("{e}"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"))
    };
    Decoded {
        header: json(parts[0]),
        claims: json(parts[1]),
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature: Base64UrlUnpadded::decode_vec(parts[2]).unwrap_or_else(|e| panic!("{e}")),
    }
}

/// Checks `token`'s signature with the public key of the credentials' private key.
fn verify(credentials: &Credentials, token: &str) {
    let decoded = decode(token);
    match PrivateKey::from_canonical(credentials.api_secret.expose()) {
        Some(PrivateKey::Es256(scalar)) => {
            let public = p256::ecdsa::SigningKey::from_slice(scalar.as_slice()).unwrap_or_else(|e| panic!("{e}"));
            let signature = p256::ecdsa::Signature::from_slice(&decoded.signature).unwrap_or_else(|e| panic!("{e}"));
            public
                .verifying_key()
                .verify(decoded.signing_input.as_bytes(), &signature)
                .unwrap_or_else(|e| panic!("ES256 signature does not verify: {e}"));
        }
        Some(PrivateKey::EdDsa(seed)) => {
            let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
            let signature: [u8; 64] = decoded.signature.as_slice().try_into().unwrap_or_else(|e| panic!("{e}"));
            public
                .verify_strict(decoded.signing_input.as_bytes(), &ed25519_dalek::Signature::from_bytes(&signature))
                .unwrap_or_else(|e| panic!("EdDSA signature does not verify: {e}"));
        }
        None => panic!("not a canonical key"),
    }
}

fn bearer(request: &HttpRequest) -> &str {
    request.header("authorization").and_then(|value| value.strip_prefix("Bearer ")).unwrap_or_else(|| panic!("no bearer token"))
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// C1 and C2, byte for byte, from the official SDK test keys; then checked with the public keys
/// of the reference (not derived by the code under test) and decoded.
#[test]
fn official_sdk_vectors_c1_and_c2() {
    for (credentials, expected, alg) in [(es256(), C1, "ES256"), (eddsa(), C2, "EdDSA")] {
        let request = signed_request(&credentials, "0123456789abcdef0123456789abcdef", 1_700_000_000, ACCOUNTS_PATH, "limit=250")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bearer(&request), expected, "{alg}");
        assert_eq!(request.url, "https://api.coinbase.com/api/v3/brokerage/accounts?limit=250");

        let decoded = decode(expected);
        assert_eq!(decoded.header["alg"], alg);
        assert_eq!(decoded.header["typ"], "JWT");
        assert_eq!(decoded.header["kid"], SDK_KEY_NAME);
        assert_eq!(decoded.header["nonce"], "0123456789abcdef0123456789abcdef");
        assert_eq!(decoded.claims["sub"], SDK_KEY_NAME);
        assert_eq!(decoded.claims["iss"], "cdp");
        assert_eq!(decoded.claims["nbf"], 1_700_000_000);
        assert_eq!(decoded.claims["exp"], 1_700_000_120);
        assert_eq!(decoded.claims["uri"], "GET api.coinbase.com/api/v3/brokerage/accounts", "no query string");
    }
    let c1 = decode(C1);
    let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(&unhex(SDK_EC_PUBLIC)).unwrap_or_else(|e| panic!("{e}"));
    let signature = p256::ecdsa::Signature::from_slice(&c1.signature).unwrap_or_else(|e| panic!("{e}"));
    assert!(public.verify(c1.signing_input.as_bytes(), &signature).is_ok());
    let c2 = decode(C2);
    let public: [u8; 32] = unhex(SDK_ED25519_PUBLIC).try_into().unwrap_or_else(|_| panic!("32 bytes"));
    let public = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap_or_else(|e| panic!("{e}"));
    let signature: [u8; 64] = c2.signature.as_slice().try_into().unwrap_or_else(|_| panic!("64 bytes"));
    assert!(public.verify_strict(c2.signing_input.as_bytes(), &ed25519_dalek::Signature::from_bytes(&signature)).is_ok());
}

// The key-scope request of a flow (CountingEntropy(7) gives the 32 nonce bytes 07 08 … 26, the
// clock says NOW_MS), reproduced with two independent implementations. Python (cryptography 48,
// RFC 6979 ES256 and Ed25519), printing both tokens:
//   python3 -c '
//   import base64, json
//   from cryptography.hazmat.primitives import hashes, serialization as s
//   from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils
//   b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
//   kid = "organizations/test-organization/apiKeys/test-api-key"
//   pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKwf3Uox30cRWzRBOPoPOH5p0Gpb0Dt8zUKXUEM5fMkGoAoGCCqGSM49\nAwEHoUQDQgAEbAtpLlSZYVOwYICz+uEyxcS29vRIujiES/gQ1DC7FV4zK4JuYE9v\nqDyGZQYjdXHLM7I6f/QnnOITL+dXYWBHRA==\n-----END EC PRIVATE KEY-----\n"
//   seed = base64.b64decode("k0BUni0p0vZG1BdpVjS6ogBJ7kxm630AJ2dN+tuputDOKsRAwgyrpEQLeBtS1znTmzPX6Xr2eOWpzx6nW8knkA==")[:32]
//   j = lambda d: b(json.dumps(d, separators=(",", ":")).encode())
//   for alg in ("ES256", "EdDSA"):
//       m = (j({"alg": alg, "typ": "JWT", "kid": kid, "nonce": bytes(range(7, 39)).hex()}) + "." + j({"sub": kid,
//            "iss": "cdp", "nbf": 1731349200, "exp": 1731349320, "uri": "GET api.coinbase.com/api/v3/brokerage/key_permissions"})).encode()
//       if alg == "ES256":
//           r, s_ = utils.decode_dss_signature(s.load_pem_private_key(pem.encode(), None).sign(m, ec.ECDSA(hashes.SHA256(), deterministic_signing=True)))
//           sig = r.to_bytes(32, "big") + s_.to_bytes(32, "big")
//       else:
//           sig = ed25519.Ed25519PrivateKey.from_private_bytes(seed).sign(m)
//       print(m.decode() + "." + b(sig))'
// and, for EdDSA (node:crypto signs ECDSA with random nonces only), node:crypto:
//   node -e 'const c=require("node:crypto");const kid="organizations/test-organization/apiKeys/test-api-key";
//     const raw=Buffer.from("k0BUni0p0vZG1BdpVjS6ogBJ7kxm630AJ2dN+tuputDOKsRAwgyrpEQLeBtS1znTmzPX6Xr2eOWpzx6nW8knkA==","base64");
//     const key=c.createPrivateKey({key:Buffer.concat([Buffer.from("302e020100300506032b657004220420","hex"),raw.subarray(0,32)]),format:"der",type:"pkcs8"});
//     const b=(s)=>Buffer.from(s).toString("base64url");const nonce=Buffer.from([...Array(32).keys()].map(i=>i+7)).toString("hex");
//     const input=b(JSON.stringify({alg:"EdDSA",typ:"JWT",kid,nonce}))+"."+b(JSON.stringify({sub:kid,iss:"cdp",nbf:1731349200,
//       exp:1731349320,uri:"GET api.coinbase.com/api/v3/brokerage/key_permissions"}));
//     console.log(input+"."+c.sign(null,Buffer.from(input),key).toString("base64url"))'
// The mock's own tests (tests/e2e/mocks/coinbase.test.mjs) check ES256 tokens with node:crypto.
#[test]
fn key_scope_request_matches_python_and_node() {
    let cases = [
        (
            es256(),
            "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Im9yZ2FuaXphdGlvbnMvdGVzdC1vcmdhbml6YXRpb24vYXBpS2V5cy90ZXN0LWFwaS1rZXkiLCJub25jZSI6IjA3MDgwOTBhMGIwYzBkMGUwZjEwMTExMjEzMTQxNTE2MTcxODE5MWExYjFjMWQxZTFmMjAyMTIyMjMyNDI1MjYifQ.eyJzdWIiOiJvcmdhbml6YXRpb25zL3Rlc3Qtb3JnYW5pemF0aW9uL2FwaUtleXMvdGVzdC1hcGkta2V5IiwiaXNzIjoiY2RwIiwibmJmIjoxNzMxMzQ5MjAwLCJleHAiOjE3MzEzNDkzMjAsInVyaSI6IkdFVCBhcGkuY29pbmJhc2UuY29tL2FwaS92My9icm9rZXJhZ2Uva2V5X3Blcm1pc3Npb25zIn0.9KSmWvHnOd-tiQn4IS7VMwmQ3GrnGsMqPTNiyDB9X-H5jhQs6c7aamDP_hrVUJ7QP16CioLpKq00zm1hk-cs2Q",
        ),
        (
            eddsa(),
            "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6Im9yZ2FuaXphdGlvbnMvdGVzdC1vcmdhbml6YXRpb24vYXBpS2V5cy90ZXN0LWFwaS1rZXkiLCJub25jZSI6IjA3MDgwOTBhMGIwYzBkMGUwZjEwMTExMjEzMTQxNTE2MTcxODE5MWExYjFjMWQxZTFmMjAyMTIyMjMyNDI1MjYifQ.eyJzdWIiOiJvcmdhbml6YXRpb25zL3Rlc3Qtb3JnYW5pemF0aW9uL2FwaUtleXMvdGVzdC1hcGkta2V5IiwiaXNzIjoiY2RwIiwibmJmIjoxNzMxMzQ5MjAwLCJleHAiOjE3MzEzNDkzMjAsInVyaSI6IkdFVCBhcGkuY29pbmJhc2UuY29tL2FwaS92My9icm9rZXJhZ2Uva2V5X3Blcm1pc3Npb25zIn0.xlw6Ss1WxJ2emj3HStXkPceNCY110CazitXEFMHFvLiCVxfxa8bPUbBlNEzZt2Bwb2S5Evucd8yfyqN0f7ruAQ",
        ),
    ];
    for (credentials, expected) in cases {
        let flow = Coinbase.key_scope().unwrap_or_else(|| panic!("Coinbase reports key permissions"));
        let request = testing::first_request(flow, &credentials, NonceFormat::Salted19, None, NOW_MS);
        assert_eq!(request.method, Method::Get);
        assert_eq!(request.url, "https://api.coinbase.com/api/v3/brokerage/key_permissions");
        assert_eq!(request.body, None);
        assert_eq!(request.headers.len(), 1, "only Authorization");
        assert_eq!(bearer(&request), expected);
        let decoded = decode(expected);
        assert_eq!(decoded.header["nonce"].as_str().map(str::len), Some(64), "32 random bytes in hex");
        verify(&credentials, expected);
        assert!(!format!("{request:?}").contains(&expected[..40]), "Debug must not print the token");
    }
}

#[test]
fn every_token_is_fresh_and_bound_to_its_request() {
    let credentials = es256();
    let request = |nonce: &str, now_s: u64, path: &str| {
        let request = signed_request(&credentials, nonce, now_s, path, "").unwrap_or_else(|e| panic!("{e}"));
        bearer(&request).to_owned()
    };
    let a = request("00", NOW_S, ACCOUNTS_PATH);
    assert_ne!(a, request("01", NOW_S, ACCOUNTS_PATH), "another nonce, another token");
    assert_ne!(a, request("00", NOW_S + 1, ACCOUNTS_PATH), "another second, another token");
    assert_ne!(a, request("00", NOW_S, KEY_PERMISSIONS_PATH), "another path, another token");
    let claims = decode(&a).claims;
    assert_eq!(claims["exp"].as_u64().zip(claims["nbf"].as_u64()).map(|(exp, nbf)| exp - nbf), Some(120));
    // What cannot be spliced into the JSON safely is refused rather than escaped.
    assert_eq!(
        signed_request(&credentials, "not hex", NOW_S, ACCOUNTS_PATH, ""),
        Err(Error::InvalidInput { field: "refresh" })
    );
    let odd = Credentials::new("organizations/x/apiKeys/\"y\"", "es256:rB/dSjHfRxFbNEE4+g84fmnQalvQO3zNQpdQQzl8yQY=")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(signed_request(&odd, "00", NOW_S, ACCOUNTS_PATH, ""), Err(Error::InvalidInput { field: "key_name" }));
    let not_canonical = Credentials::new(SDK_KEY_NAME, "nope").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        signed_request(&not_canonical, "00", NOW_S, ACCOUNTS_PATH, ""),
        Err(Error::InvalidInput { field: "api_secret" })
    );
}

// ---------------------------------------------------------------------------------------------
// Keys as users paste them

/// The SDK's EC key as PKCS#8 (`openssl pkcs8 -topk8 -nocrypt -in sdk.pem`).
const SDK_EC_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrB/dSjHfRxFbNEE4
+g84fmnQalvQO3zNQpdQQzl8yQahRANCAARsC2kuVJlhU7BggLP64TLFxLb29Ei6
OIRL+BDUMLsVXjMrgm5gT2+oPIZlBiN1ccszsjp/9Cec4hMv51dhYEdE
-----END PRIVATE KEY-----
";
/// Its public key (`openssl ec -in sdk.pem -pubout`).
const SDK_EC_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbAtpLlSZYVOwYICz+uEyxcS29vRI
ujiES/gQ1DC7FV4zK4JuYE9vqDyGZQYjdXHLM7I6f/QnnOITL+dXYWBHRA==
-----END PUBLIC KEY-----
";
/// The SDK's Ed25519 seed as PKCS#8 v1 (RFC 8410: `302e020100300506032b657004220420` ‖ seed),
/// as v2 with its public key (`3051020101…` ‖ seed ‖ `812100` ‖ public), and its public key.
const SDK_ED25519_PKCS8: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJNAVJ4tKdL2RtQXaVY0uqIASe5MZut9ACdnTfrbqbrQ\n-----END PRIVATE KEY-----\n";
const SDK_ED25519_PKCS8_V2: &str = "-----BEGIN PRIVATE KEY-----\nMFECAQEwBQYDK2VwBCIEIJNAVJ4tKdL2RtQXaVY0uqIASe5MZut9ACdnTfrbqbrQgSEAzirEQMIMq6REC3gbUtc505sz1+l69njlqc8ep1vJJ5A=\n-----END PRIVATE KEY-----\n";
const SDK_ED25519_PUBLIC_PEM: &str =
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAzirEQMIMq6REC3gbUtc505sz1+l69njlqc8ep1vJJ5A=\n-----END PUBLIC KEY-----\n";
/// `openssl ecparam -name prime256v1 -genkey`: curve parameters, then the key (a throwaway).
const ECPARAM_GENKEY: &str = "-----BEGIN EC PARAMETERS-----
BggqhkjOPQMBBw==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEICWWKEDxaVbK8d9PPeTvl3zld43Lgyip9NHGhxBEGAE8oAoGCCqGSM49
AwEHoUQDQgAEyAfDS9gs8px2O7cgdrlgL5SW51sq9ydYPCOTxTkJ80nnWlHNHcNO
WWwyRBa4Ou+zcb9whqrFmaQwpQCuXJVHNA==
-----END EC PRIVATE KEY-----
";
/// Throwaway keys of types Coinbase never issues, made with openssl 3.0: secp256k1
/// (`ecparam -name secp256k1 -genkey -noout`), P-384 PKCS#8 (`genpkey -algorithm EC -pkeyopt
/// ec_paramgen_curve:P-384`), X25519 (`genpkey -algorithm X25519`), RSA-512 PKCS#8 and
/// traditional (`genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512`, `pkey -traditional`), and
/// the SDK key encrypted (`pkcs8 -topk8 -v2 aes-256-cbc`, `ec -aes256`).
const SECP256K1_PEM: &str = "-----BEGIN EC PRIVATE KEY-----
MHQCAQEEIIiV8HrPp+dd5H0fDLecpcy+WaGwHGntTP9uN2LiRdfcoAcGBSuBBAAK
oUQDQgAEIgLCROTyqPoMWhfE2IqJas+B+8H3dvqpr6wqlHb2RmZ2y+dglWnTeUwx
+aFGyOL6VMK8lziqJAAWgdSsoBFUFw==
-----END EC PRIVATE KEY-----
";
const P384_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDADJwxJGts5OqI2aSIl
lMuwmRwY9v59+nMjApbA9nTDMzPJPGVZOo4XPrBcXmok1iShZANiAATZGB+m5xrN
Vr6vzQoBuOeI/81EvmZle7InLN/RQ0+iKBZip8NuL5AyDxP3XZD8OluymmVrOZoG
NRkQMCgJiIt7Y0Nh0Lv5j3k2Kju5eEh8GJihWFCcKXb/hnzWcvm/otk=
-----END PRIVATE KEY-----
";
const X25519_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEIICi1GNq6hOfaKbuXF9JXoL9FcYJx7wVCM1uVpeYhmt8
-----END PRIVATE KEY-----
";
const RSA_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA1merq/UTzKrS9xOa
gOnwtlbUzFH53iawiP8nl3H1SVlD0cUpmtIj6wu9ba41sRLXZIKoy22W2J4elllf
qBiVbQIDAQABAkAiV06O5105fe72diRcG5xbiELjSwoLhATonH256x3PlnpdnijU
hpfPfmCQjEND+kEmxlGqkQySPlAtccck3NW9AiEA/FHYcgq8snLOhRrWnZ4D+Wbj
Yo85p+2KEYv11w3UB/sCIQDZiECmOw6hfMVNnbegQ08gTP5NpuHwDrAAXWHJp2nT
twIgSVTkKijStK5HNUoai86L6yUq+s8Te6m+0eCyf2EGeZcCIQCq1KjIorpjsYOU
55YMIq/iEvTm8HagujgXoT4pSfL+0wIgCTlotXrxOgf4SofhBJHhVX+1IE3jlTAk
xylhu8VuS80=
-----END PRIVATE KEY-----
";
const RSA_TRADITIONAL: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIBOgIBAAJBAK5YYvIEJmgwusWbn/IxYJiTMlbo0bMSY4zPsBuJ+mtR/PIdSc9x
6AorBURqYubhDl9OscRidKDYJBmxKYX5Q7MCAwEAAQJALExw96VuTNL04fjk7xj0
vk/IXqTRg3qMqN6slJK+ej3zW/ifx1Y7Q0IY0nUAum9HvYUNmVEBOct4y3fhY7NW
QQIhANzk8746L9DK1XNp6aAoxsQXkvUwMtKGB7anhGlD7/LLAiEAyg2XztuzE7gm
N9FP8mi/rQcHgsyovM/H1ww1Ch5rjbkCIQDM3Flhlr05uqNzQkq1ipusyOA2HNlF
faAxufKHXcZvOQIgK1XPAWbNeaU9TStvYiZlNc8UJVGPvy8xRUYw+gKcPsECIAcy
Wywy2FC8mNrl/D3FGupdYeX2zRuc+sb7jTh4xG7r
-----END RSA PRIVATE KEY-----
";
const ENCRYPTED_PKCS8: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjIyECwOudHowICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEMSWqFSYwtYQSA5Chy941NkEgZCA
+eUGf7AeJQYvRxMzzs0FcBc6M6HlYOv2DXa2Wbdwc+wO8s52uj7cWtJLGeaZLs4m
mk4ycfgAoj6uy7EV52OnmFk9bMObAzpByJ4fwPCqbcveKofN4H3Ap53zI4s/vlIN
QR+3bylF/D1WndqUYJGo243ILv5Pbd2RV4YrdEIBM+N7s1gRSmbNqz4eVprtJiY=
-----END ENCRYPTED PRIVATE KEY-----
";
const LEGACY_ENCRYPTED_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-256-CBC,CA2F78F700D7E8732698ED8654586991

VZwwfE/sd7BHC+jOOgqvFpxRp5kmAZFeuoyR8HcrF2fG+gdYOWuvDiAoPfQ8ZcVA
RNRU9bS5qEuUMyStnW+kcRY4ffpnXfZvuzzIjf2Z4GuESnr/8UqAurbcIfSOjgRC
qfRohxoiiskmCONcmP2qLhtjycF0AcM9MmCcZL6LKhk=
-----END EC PRIVATE KEY-----
";

/// The SDK's EC key as OpenSSL 3.0 writes it in other shapes, `sdk.pem` being [`SDK_EC_PEM`]:
/// SEC1 without the optional public key (`openssl ec -in sdk.pem -no_public`) and that as
/// PKCS#8 (`| openssl pkcs8 -topk8 -nocrypt`), SEC1 with the public key compressed (`openssl
/// ec -in sdk.pem -conv_form compressed`), and SEC1 and PKCS#8 with the curve spelled out
/// instead of named (`openssl ec -in sdk.pem -param_enc explicit`, `| openssl pkcs8 -topk8
/// -nocrypt`).
const SDK_EC_NO_PUBLIC: &str = "-----BEGIN EC PRIVATE KEY-----
MDECAQEEIKwf3Uox30cRWzRBOPoPOH5p0Gpb0Dt8zUKXUEM5fMkGoAoGCCqGSM49
AwEH
-----END EC PRIVATE KEY-----
";
const SDK_EC_PKCS8_NO_PUBLIC: &str = "-----BEGIN PRIVATE KEY-----
MEECAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQcEJzAlAgEBBCCsH91KMd9HEVs0QTj6
Dzh+adBqW9A7fM1Cl1BDOXzJBg==
-----END PRIVATE KEY-----
";
const SDK_EC_COMPRESSED: &str = "-----BEGIN EC PRIVATE KEY-----
MFcCAQEEIKwf3Uox30cRWzRBOPoPOH5p0Gpb0Dt8zUKXUEM5fMkGoAoGCCqGSM49
AwEHoSQDIgACbAtpLlSZYVOwYICz+uEyxcS29vRIujiES/gQ1DC7FV4=
-----END EC PRIVATE KEY-----
";
const SDK_EC_EXPLICIT: &str = "-----BEGIN EC PRIVATE KEY-----
MIIBaAIBAQQgrB/dSjHfRxFbNEE4+g84fmnQalvQO3zNQpdQQzl8yQaggfowgfcC
AQEwLAYHKoZIzj0BAQIhAP////8AAAABAAAAAAAAAAAAAAAA////////////////
MFsEIP////8AAAABAAAAAAAAAAAAAAAA///////////////8BCBaxjXYqjqT57Pr
vVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMVAMSdNgiG5wSTamZ44ROdJreBn36QBEEE
axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpZP40Li/hp/m47n60p8D54W
K84zV2sxXs7LtkBoN79R9QIhAP////8AAAAA//////////+85vqtpxeehPO5ysL8
YyVRAgEBoUQDQgAEbAtpLlSZYVOwYICz+uEyxcS29vRIujiES/gQ1DC7FV4zK4Ju
YE9vqDyGZQYjdXHLM7I6f/QnnOITL+dXYWBHRA==
-----END EC PRIVATE KEY-----
";
const SDK_EC_PKCS8_EXPLICIT: &str = "-----BEGIN PRIVATE KEY-----
MIIBeQIBADCCAQMGByqGSM49AgEwgfcCAQEwLAYHKoZIzj0BAQIhAP////8AAAAB
AAAAAAAAAAAAAAAA////////////////MFsEIP////8AAAABAAAAAAAAAAAAAAAA
///////////////8BCBaxjXYqjqT57PrvVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMV
AMSdNgiG5wSTamZ44ROdJreBn36QBEEEaxfR8uEsQkf4vOblY6RA8ncDfYEt6zOg
9KE5RdiYwpZP40Li/hp/m47n60p8D54WK84zV2sxXs7LtkBoN79R9QIhAP////8A
AAAA//////////+85vqtpxeehPO5ysL8YyVRAgEBBG0wawIBAQQgrB/dSjHfRxFb
NEE4+g84fmnQalvQO3zNQpdQQzl8yQahRANCAARsC2kuVJlhU7BggLP64TLFxLb2
9Ei6OIRL+BDUMLsVXjMrgm5gT2+oPIZlBiN1ccszsjp/9Cec4hMv51dhYEdE
-----END PRIVATE KEY-----
";
/// The public key of [`ECPARAM_GENKEY`]'s key, another key than the SDK's
/// (`openssl ec -in ecparam-genkey.pem -pubout -outform DER | tail -c 65 | xxd -p -c 65`).
const OTHER_EC_PUBLIC: &str = "04c807c34bd82cf29c763bb72076b9602f9496e75b2af727583c2393c53909f349e75a51cd1dc34e596c324416b83aefb371bf7086aac599a430a500ae5c954734";

/// What a paste should become: the SDK's EC key, its Ed25519 key, or an error.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    SdkEc,
    SdkEd25519,
    Refused(Error),
}

#[test]
fn pasted_keys_table() {
    use Expect::*;
    let sdk_ec_body = "MHcCAQEEIKwf3Uox30cRWzRBOPoPOH5p0Gpb0Dt8zUKXUEM5fMkGoAoGCCqGSM49AwEHoUQDQgAEbAtpLlSZYVOwYICz+uEyxcS29vRIujiES/gQ1DC7FV4zK4JuYE9vqDyGZQYjdXHLM7I6f/QnnOITL+dXYWBHRA==";
    let ed_raw = Base64::decode_vec(SDK_ED25519).unwrap_or_else(|e| panic!("{e}"));
    let mut wrong_half = ed_raw.clone();
    wrong_half[63] ^= 1;
    let b64 = |bytes: &[u8]| Base64::encode_string(bytes);
    let pem = |label: &str, der: &[u8]| format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", b64(der));
    // SEC1 by hand: version 1, the SDK's scalar, then optional fields.
    let sec1 = |optional: &[u8]| {
        let body = [&[0x02, 0x01, 0x01, 0x04, 0x20][..], &unhex(SDK_EC_SCALAR), optional].concat();
        [&[0x30, u8::try_from(body.len()).unwrap_or_default()][..], &body].concat()
    };
    let p256_parameters = [0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let secp256k1_parameters = [0xa0, 0x07, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a];
    let explicit_parameters = [0xa0, 0x03, 0x30, 0x01, 0x00];
    // The base64 between a PEM's armor lines, on one line.
    let pem_body = |pem: &str| pem.lines().filter(|line| !line.starts_with("-----")).collect::<String>();
    let sdk_ec_pkcs8_der = Base64::decode_vec(&pem_body(SDK_EC_PKCS8)).unwrap_or_else(|e| panic!("{e}"));
    // PKCS#8 v2 (RFC 8410) by hand: the SDK's seed with the public key of another seed.
    let other_public = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]).verifying_key().to_bytes();
    let ed25519_v2_other_public = [
        &[0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20][..],
        &unhex(SDK_ED25519_SEED),
        &[0x81, 0x21, 0x00],
        &other_public,
    ]
    .concat();
    let cases: Vec<(&str, String, Expect)> = vec![
        ("SEC1 PEM as issued", SDK_EC_PEM.into(), SdkEc),
        ("SEC1 PEM with literal \\n escapes", SDK_EC_PEM.replace('\n', "\\n"), SdkEc),
        ("SEC1 PEM with CRLF", SDK_EC_PEM.replace('\n', "\r\n"), SdkEc),
        ("SEC1 PEM with literal \\r\\n escapes", SDK_EC_PEM.replace('\n', "\\r\\n"), SdkEc),
        ("SEC1 PEM in surrounding spaces", format!("  \n\t{SDK_EC_PEM}  \n"), SdkEc),
        ("SEC1 PEM on one line (an input field drops line breaks)", SDK_EC_PEM.replace('\n', ""), SdkEc),
        ("SEC1 PEM with spaces for line breaks", SDK_EC_PEM.replace('\n', " "), SdkEc),
        ("SEC1 PEM body without armor", sdk_ec_body.into(), SdkEc),
        ("PKCS#8 EC PEM", SDK_EC_PKCS8.into(), SdkEc),
        ("SEC1 without its public key", pem("EC PRIVATE KEY", &sec1(&p256_parameters)), SdkEc),
        ("SEC1 without parameters or public key", pem("EC PRIVATE KEY", &sec1(&[])), SdkEc),
        ("SEC1 body pasted without armor", b64(&sec1(&p256_parameters)), SdkEc),
        ("Ed25519 seed ‖ public, base64", SDK_ED25519.into(), SdkEd25519),
        ("Ed25519 seed ‖ public without padding", SDK_ED25519.trim_end_matches('=').into(), SdkEd25519),
        ("Ed25519 seed alone, 32 bytes", b64(&ed_raw[..32]), SdkEd25519),
        ("Ed25519 with spaces around", format!("  {SDK_ED25519}\n"), SdkEd25519),
        ("Ed25519 PKCS#8 v1", SDK_ED25519_PKCS8.into(), SdkEd25519),
        ("Ed25519 PKCS#8 v2 with its public key", SDK_ED25519_PKCS8_V2.into(), SdkEd25519),
        ("Ed25519 PKCS#8 with literal escapes", SDK_ED25519_PKCS8.replace('\n', "\\n"), SdkEd25519),
        ("SEC1 without its public key (openssl -no_public)", SDK_EC_NO_PUBLIC.into(), SdkEc),
        ("SEC1 with a compressed public key", SDK_EC_COMPRESSED.into(), SdkEc),
        ("PKCS#8 EC without the optional public key", SDK_EC_PKCS8_NO_PUBLIC.into(), SdkEc),
        ("PKCS#8 EC on one line with literal \\n escapes", SDK_EC_PKCS8.replace('\n', "\\n"), SdkEc),
        ("PKCS#8 EC body without armor", pem_body(SDK_EC_PKCS8), SdkEc),
        ("Ed25519 PKCS#8 v2 body without armor", pem_body(SDK_ED25519_PKCS8_V2), SdkEd25519),
        ("SEC1 PEM without its = padding", SDK_EC_PEM.replace("RA==", "RA"), SdkEc),
        ("SEC1 PEM wrapped at 76 columns", format!("-----BEGIN EC PRIVATE KEY-----\n{}\n{}\n-----END EC PRIVATE KEY-----\n", &sdk_ec_body[..76], &sdk_ec_body[76..]), SdkEc),
        // Malformed: not a key at all.
        ("empty base64", "====".into(), Refused(Error::PrivateKeyMalformed)),
        ("not base64", "this is my secret".into(), Refused(Error::PrivateKeyMalformed)),
        ("base64 of 31 bytes", b64(&[7u8; 31]), Refused(Error::PrivateKeyMalformed)),
        ("base64 of 48 bytes", b64(&[7u8; 48]), Refused(Error::PrivateKeyMalformed)),
        ("truncated PEM (no END line)", SDK_EC_PEM[..120].into(), Refused(Error::PrivateKeyMalformed)),
        ("PEM cut inside the body", format!("{}\n-----END EC PRIVATE KEY-----", &SDK_EC_PEM[..100]), Refused(Error::PrivateKeyMalformed)),
        ("wrong armor: END of another label", SDK_EC_PEM.replace("END EC PRIVATE", "END"), Refused(Error::PrivateKeyMalformed)),
        ("wrong armor: four dashes", SDK_EC_PEM.replace("-----BEGIN", "----BEGIN"), Refused(Error::PrivateKeyMalformed)),
        ("text before the PEM", format!("key: {SDK_EC_PEM}"), Refused(Error::PrivateKeyMalformed)),
        ("text after the PEM", format!("{SDK_EC_PEM}thanks"), Refused(Error::PrivateKeyMalformed)),
        ("two private keys", format!("{SDK_EC_PEM}{SDK_EC_PKCS8}"), Refused(Error::PrivateKeyMalformed)),
        ("ecparam -genkey output: parameters, then the key", ECPARAM_GENKEY.into(), Refused(Error::PrivateKeyMalformed)),
        ("SEC1 with trailing garbage inside", pem("EC PRIVATE KEY", &sec1(&[0x05, 0x00])), Refused(Error::PrivateKeyMalformed)),
        ("broken base64 in PEM", SDK_EC_PEM.replace("MHcC", "MH*C"), Refused(Error::PrivateKeyMalformed)),
        ("a DER length beyond the data", "-----BEGIN EC PRIVATE KEY-----\nMHgCAQE=\n-----END EC PRIVATE KEY-----".into(), Refused(Error::PrivateKeyMalformed)),
        ("SEC1 with version 2", SDK_EC_PEM.replace("MHcCAQEE", "MHcCAQIE"), Refused(Error::PrivateKeyMalformed)),
        ("zero scalar", format!("-----BEGIN EC PRIVATE KEY-----{}-----END EC PRIVATE KEY-----", b64(&[&[0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20][..], &[0u8; 32]].concat())), Refused(Error::PrivateKeyMalformed)),
        ("empty PEM", "-----BEGIN EC PRIVATE KEY-----\n-----END EC PRIVATE KEY-----".into(), Refused(Error::PrivateKeyMalformed)),
        ("SEC1 whose public key is another key's", pem("EC PRIVATE KEY", &sec1(&[&p256_parameters[..], &[0xa1, 0x44, 0x03, 0x42, 0x00], &unhex(OTHER_EC_PUBLIC)].concat())), Refused(Error::PrivateKeyMalformed)),
        ("Ed25519 PKCS#8 v2 whose public key is another key's", pem("PRIVATE KEY", &ed25519_v2_other_public), Refused(Error::PrivateKeyMalformed)),
        ("PKCS#8 cut short, re-armored", pem("PRIVATE KEY", &sdk_ec_pkcs8_der[..100]), Refused(Error::PrivateKeyMalformed)),
        ("PKCS#8 cut short, without armor", b64(&sdk_ec_pkcs8_der[..100]), Refused(Error::PrivateKeyMalformed)),
        ("PKCS#8 PEM cut inside the body", format!("{}\n-----END PRIVATE KEY-----", &SDK_EC_PKCS8[..120]), Refused(Error::PrivateKeyMalformed)),
        ("label that is no RFC 7468 label", SDK_EC_PEM.replace("EC PRIVATE KEY", "EC  PRIVATE KEY"), Refused(Error::PrivateKeyMalformed)),
        // A public key pasted by mistake.
        ("PUBLIC KEY PEM", SDK_EC_PUBLIC_PEM.into(), Refused(Error::PrivateKeyPublic)),
        ("EC PUBLIC KEY PEM", SDK_EC_PUBLIC_PEM.replace("PUBLIC KEY", "EC PUBLIC KEY"), Refused(Error::PrivateKeyPublic)),
        ("Ed25519 PUBLIC KEY PEM", SDK_ED25519_PUBLIC_PEM.into(), Refused(Error::PrivateKeyPublic)),
        ("public key DER without armor", "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbAtpLlSZYVOwYICz+uEyxcS29vRIujiES/gQ1DC7FV4zK4JuYE9vqDyGZQYjdXHLM7I6f/QnnOITL+dXYWBHRA==".into(), Refused(Error::PrivateKeyPublic)),
        ("uncompressed EC point, base64", b64(&unhex(SDK_EC_PUBLIC)), Refused(Error::PrivateKeyPublic)),
        ("64 bytes, second half not the seed's public key", b64(&wrong_half), Refused(Error::PrivateKeyPublic)),
        ("64 bytes, public key first", b64(&[&ed_raw[32..], &ed_raw[..32]].concat()), Refused(Error::PrivateKeyPublic)),
        ("PUBLIC KEY PEM on one line", SDK_EC_PUBLIC_PEM.replace('\n', ""), Refused(Error::PrivateKeyPublic)),
        ("Ed25519 public key DER without armor", pem_body(SDK_ED25519_PUBLIC_PEM), Refused(Error::PrivateKeyPublic)),
        // Keys of other types.
        ("RSA PKCS#8", RSA_PKCS8.into(), Refused(Error::PrivateKeyUnsupported)),
        ("RSA traditional", RSA_TRADITIONAL.into(), Refused(Error::PrivateKeyUnsupported)),
        ("secp256k1", SECP256K1_PEM.into(), Refused(Error::PrivateKeyUnsupported)),
        ("SEC1 naming secp256k1", pem("EC PRIVATE KEY", &sec1(&secp256k1_parameters)), Refused(Error::PrivateKeyUnsupported)),
        ("SEC1 with a curve spelled out", pem("EC PRIVATE KEY", &sec1(&explicit_parameters)), Refused(Error::PrivateKeyUnsupported)),
        ("only curve parameters", ECPARAM_GENKEY.split_inclusive("-----END EC PARAMETERS-----").next().unwrap_or_default().into(), Refused(Error::PrivateKeyUnsupported)),
        ("P-384 PKCS#8", P384_PKCS8.into(), Refused(Error::PrivateKeyUnsupported)),
        ("X25519 PKCS#8", X25519_PKCS8.into(), Refused(Error::PrivateKeyUnsupported)),
        ("encrypted PKCS#8", ENCRYPTED_PKCS8.into(), Refused(Error::PrivateKeyUnsupported)),
        ("encrypted PKCS#8 on one line", ENCRYPTED_PKCS8.replace('\n', ""), Refused(Error::PrivateKeyUnsupported)),
        ("SEC1 with the curve spelled out (openssl -param_enc explicit)", SDK_EC_EXPLICIT.into(), Refused(Error::PrivateKeyUnsupported)),
        ("PKCS#8 with the curve spelled out", SDK_EC_PKCS8_EXPLICIT.into(), Refused(Error::PrivateKeyUnsupported)),
        ("RSA PKCS#8 body without armor", pem_body(RSA_PKCS8), Refused(Error::PrivateKeyUnsupported)),
        ("X25519 PKCS#8 body without armor", pem_body(X25519_PKCS8), Refused(Error::PrivateKeyUnsupported)),
        ("legacy encrypted SEC1", LEGACY_ENCRYPTED_SEC1.into(), Refused(Error::PrivateKeyUnsupported)),
        ("OpenSSH", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----".into(), Refused(Error::PrivateKeyUnsupported)),
    ];
    let sdk_ec = format!("es256:{}", Base64::encode_string(&unhex(SDK_EC_SCALAR)));
    let sdk_ed = format!("eddsa:{}", Base64::encode_string(&unhex(SDK_ED25519_SEED)));
    for (name, pasted, expected) in cases {
        let got = match Coinbase.credentials(SDK_KEY_NAME, &pasted) {
            Ok(credentials) if credentials.api_secret.expose() == sdk_ec => SdkEc,
            Ok(credentials) if credentials.api_secret.expose() == sdk_ed => SdkEd25519,
            Ok(_) => panic!("{name}: unexpected key"),
            Err(error) => Refused(error),
        };
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn credentials_keep_the_key_name_and_a_canonical_single_line_key() {
    let credentials = es256();
    assert_eq!(credentials.api_key.expose(), SDK_KEY_NAME);
    assert_eq!(credentials.api_secret.expose(), "es256:rB/dSjHfRxFbNEE4+g84fmnQalvQO3zNQpdQQzl8yQY=");
    assert_eq!(eddsa().api_secret.expose(), "eddsa:k0BUni0p0vZG1BdpVjS6ogBJ7kxm630AJ2dN+tuputA=");
    // Reading the canonical form again changes nothing.
    for credentials in [es256(), eddsa()] {
        let again = Coinbase.credentials(credentials.api_key.expose(), credentials.api_secret.expose());
        assert_eq!(again, Ok(credentials));
    }
    // A canonical prefix in front of something that is no key is refused like any paste.
    assert_eq!(Coinbase.credentials(SDK_KEY_NAME, "es256:AAAA"), Err(Error::PrivateKeyMalformed));
    let zero = format!("es256:{}", Base64::encode_string(&[0u8; 32]));
    assert_eq!(Coinbase.credentials(SDK_KEY_NAME, &zero), Err(Error::PrivateKeyMalformed));
}

#[test]
fn key_names() {
    let ok_name = |name: &str| Coinbase.credentials(name, SDK_ED25519).map(|c| c.api_key.expose().to_owned());
    assert_eq!(ok_name(" organizations/1a2b/apiKeys/c3d4-e5 ").as_deref(), Ok("organizations/1a2b/apiKeys/c3d4-e5"));
    assert_eq!(ok_name("1f0e8c52-7d0a-4b8e-9c1d-2a3b4c5d6e7f").as_deref(), Ok("1f0e8c52-7d0a-4b8e-9c1d-2a3b4c5d6e7f"));
    for bad in ["", "organizations//apiKeys/x", "organizations/x/apiKeys/", "orgs/x/apiKeys/y", "a/b", "my key", "x\"y", "organizations/x/apiKeys/y/z"] {
        assert_eq!(ok_name(bad), Err(Error::InvalidInput { field: "key_name" }), "{bad:?}");
    }
    // The private key pasted into the key field is a wrong key name, not a key.
    assert_eq!(Coinbase.credentials(SDK_EC_PEM, SDK_EC_PEM), Err(Error::InvalidInput { field: "key_name" }));
    assert_eq!(Coinbase.credentials(SDK_KEY_NAME, "  "), Err(Error::InvalidInput { field: "private_key" }));

    // The downloaded key file is split by the page; pasted whole, it is no key.
    let file = serde_json::json!({"name": SDK_KEY_NAME, "privateKey": SDK_EC_PEM}).to_string();
    assert_eq!(Coinbase.credentials(SDK_KEY_NAME, &file), Err(Error::PrivateKeyMalformed));
}

// ---------------------------------------------------------------------------------------------
// Holdings

fn account(currency: &str, available: &str, hold: &str, kind: &str) -> Value {
    serde_json::json!({
        "uuid": format!("8bfc20d7-f7c6-4422-bf07-8243ca4169fe-{currency}-{kind}"),
        "name": format!("{currency} Wallet"),
        "currency": currency,
        "available_balance": {"value": available, "currency": currency},
        "default": kind != "ACCOUNT_TYPE_VAULT",
        "active": true,
        "created_at": "2023-01-04T06:20:06.456Z",
        "updated_at": "2026-11-20T11:02:44.127Z",
        "deleted_at": null,
        "type": kind,
        "ready": true,
        "hold": {"value": hold, "currency": currency},
        "retail_portfolio_id": "b87a2d3f-8d3e-4ac4-9b2a-1c2d3e4f5a6b",
        "platform": "ACCOUNT_PLATFORM_CONSUMER"
    })
}

fn page(accounts: &[Value], cursor: Option<&str>) -> String {
    serde_json::json!({
        "accounts": accounts,
        "has_next": cursor.is_some(),
        "cursor": cursor.unwrap_or(""),
        "size": accounts.len()
    })
    .to_string()
}

/// One page read on its own: its balances (parts added up) and the next page's cursor.
fn read_page(response: HttpResponse<'_>) -> Result<(Vec<Balance>, Option<String>)> {
    let mut parts = Vec::new();
    let next = read_accounts_page(response, &mut parts)?;
    Ok((merge_balances(EXCHANGE_ID, parts)?, next))
}

fn page_balances(response: HttpResponse<'_>) -> Result<Vec<Balance>> {
    read_page(response).map(|(balances, _)| balances)
}

const CRYPTO: &str = "ACCOUNT_TYPE_CRYPTO";
const FIAT: &str = "ACCOUNT_TYPE_FIAT";
const VAULT: &str = "ACCOUNT_TYPE_VAULT";

/// Three pages, answered by cursor: every request must carry its own token for the path
/// without its query, and the holding is the sum of all pages.
#[test]
fn holdings_follow_the_cursor_over_three_pages() {
    let pages = [
        page(
            &[
                account("BTC", "0.0123450000000000", "0.0010000000000000", CRYPTO),
                account("USD", "1520.3300000000000000", "100", FIAT),
                account("DOGE", "0", "0", CRYPTO),
            ],
            Some("0b2c5b1e-1d2f-4d73-9c3a-1f2e3d4c5b6a"),
        ),
        page(
            &[account("ETH", "1.5", "0", CRYPTO), account("BTC", "0.5", "0", VAULT), account("XBT", "0.0000001", "0", CRYPTO)],
            Some("cursor with/odd+chars="),
        ),
        page(&[account("CGLD", "12", "0", CRYPTO), account("USDC", "250.000001", "0.5", CRYPTO)], None),
    ];
    for credentials in [es256(), eddsa()] {
        let (result, sent) = testing::run(Coinbase.holdings(), Some(&credentials), NonceFormat::Salted19, NOW_MS, |request| {
            let index = match request.url.split_once("cursor=").map(|(_, cursor)| cursor) {
                None => 0,
                Some("0b2c5b1e-1d2f-4d73-9c3a-1f2e3d4c5b6a") => 1,
                Some("cursor%20with%2Fodd%2Bchars%3D") => 2,
                Some(other) => panic!("unexpected cursor {other}"),
            };
            (200, pages[index].clone())
        });
        let balances = result.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sent.iter().map(|request| request.url.as_str()).collect::<Vec<_>>(),
            [
                "https://api.coinbase.com/api/v3/brokerage/accounts?limit=250",
                "https://api.coinbase.com/api/v3/brokerage/accounts?limit=250&cursor=0b2c5b1e-1d2f-4d73-9c3a-1f2e3d4c5b6a",
                "https://api.coinbase.com/api/v3/brokerage/accounts?limit=250&cursor=cursor%20with%2Fodd%2Bchars%3D",
            ]
        );
        let mut nonces = BTreeSet::new();
        for request in &sent {
            assert_eq!(request.method, Method::Get);
            assert_eq!(request.body, None);
            let token = bearer(request);
            verify(&credentials, token);
            let decoded = decode(token);
            assert_eq!(decoded.claims["uri"], "GET api.coinbase.com/api/v3/brokerage/accounts");
            assert_eq!(decoded.claims["nbf"], NOW_S);
            assert_eq!(decoded.claims["sub"], SDK_KEY_NAME);
            assert!(nonces.insert(decoded.header["nonce"].as_str().unwrap_or_default().to_owned()), "a fresh nonce per page");
        }
        let summary: Vec<(&str, String, String, String)> = balances
            .iter()
            .map(|b| (b.currency.as_str(), b.total.to_string(), b.available.to_string(), b.locked.to_string()))
            .collect();
        let expected = [
            // Crypto and vault accounts of the same currency add up; XBT is ccxt's BTC too.
            ("btc", "0.5133451000000000", "0.5123451000000000", "0.0010000000000000"),
            ("usd", "1620.3300000000000000", "1520.3300000000000000", "100"),
            ("eth", "1.5", "1.5", "0"),
            ("celo", "12", "12", "0"),
            ("usdc", "250.500001", "250.000001", "0.5"),
        ];
        assert_eq!(summary.len(), expected.len(), "{summary:?}");
        for (got, want) in summary.iter().zip(expected) {
            assert_eq!((got.0, got.1.as_str(), got.2.as_str(), got.3.as_str()), want);
        }
    }
}

#[test]
fn account_kinds_and_names() {
    let body = page(
        &[
            account("BTC", "1", "0", CRYPTO),
            account("EUR", "10.5", "0", FIAT),
            account("ETH", "2", "0", VAULT),
            account("SOL", "3", "0", "ACCOUNT_TYPE_PERP_FUTURES"),
            account("ADA", "4", "0", "ACCOUNT_TYPE_UNSPECIFIED"),
            account("BCHSV", "5", "0", CRYPTO),
            account("xbt", "0.1", "0", CRYPTO),
            account("1INCH", "7", "0", CRYPTO),
            account("USDT", "0", "0", CRYPTO),
        ],
        None,
    );
    let (balances, next) = read_page(ok(&body)).unwrap_or_else(|e| panic!("{e}"));
    let codes: Vec<(&str, String)> = balances.iter().map(|b| (b.currency.as_str(), b.total.to_string())).collect();
    assert_eq!(
        codes,
        [
            ("btc", "1.1".to_owned()),
            ("eur", "10.5".to_owned()),
            ("eth", "2".to_owned()),
            ("bsv", "5".to_owned()),
            ("1inch", "7".to_owned())
        ]
    );
    assert_eq!(next, None);
    // No hold field: nothing held.
    let no_hold = r#"{"accounts":[{"currency":"BTC","available_balance":{"value":"1"},"type":"ACCOUNT_TYPE_CRYPTO"}],"has_next":false}"#;
    let balances = page_balances(ok(no_hold)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((balances[0].total, balances[0].locked), (dec("1"), Decimal::ZERO));
}

#[test]
fn account_pages_that_cannot_be_read() {
    let malformed = Err(Error::MalformedResponse { exchange: EXCHANGE_ID });
    let cases = [
        ("no accounts", r#"{"has_next":false}"#.to_owned()),
        ("no has_next", r#"{"accounts":[]}"#.to_owned()),
        ("has_next as string", r#"{"accounts":[],"has_next":"false"}"#.to_owned()),
        ("has_next without cursor", r#"{"accounts":[],"has_next":true}"#.to_owned()),
        ("has_next with empty cursor", r#"{"accounts":[],"has_next":true,"cursor":""}"#.to_owned()),
        ("amount with a comma", page(&[account("BTC", "1,5", "0", CRYPTO)], None)),
        ("negative amount", page(&[account("BTC", "-1", "0", CRYPTO)], None)),
        ("negative hold", page(&[account("BTC", "1", "-0.1", CRYPTO)], None)),
        ("no currency", r#"{"accounts":[{"available_balance":{"value":"1"},"type":"ACCOUNT_TYPE_CRYPTO"}],"has_next":false}"#.to_owned()),
        ("odd currency", page(&[account("BTC-USD", "1", "0", CRYPTO)], None)),
        ("balance without value", r#"{"accounts":[{"currency":"BTC","available_balance":{},"type":"ACCOUNT_TYPE_CRYPTO"}],"has_next":false}"#.to_owned()),
        ("hold not an object", r#"{"accounts":[{"currency":"BTC","available_balance":{"value":"1"},"hold":"0","type":"ACCOUNT_TYPE_CRYPTO"}],"has_next":false}"#.to_owned()),
        ("account not an object", r#"{"accounts":[7],"has_next":false}"#.to_owned()),
        ("truncated", r#"{"accounts":[{"currency":"BT"#.to_owned()),
        ("empty", String::new()),
    ];
    for (name, body) in cases {
        assert_eq!(page_balances(ok(&body)), malformed, "{name}");
    }
    // Amounts as JSON numbers stay exact.
    let numbers = r#"{"accounts":[{"currency":"ETH","available_balance":{"value":0.1},"hold":{"value":1e-8},"type":"ACCOUNT_TYPE_CRYPTO"}],"has_next":false}"#;
    let balances = page_balances(ok(numbers)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(balances[0].total.to_string(), "0.10000001");
}

#[test]
fn paging_ends_at_the_cap_and_on_a_cursor_that_does_not_move() {
    let credentials = es256();
    let mut count = 0usize;
    let (result, sent) = testing::run(Coinbase.holdings(), Some(&credentials), NonceFormat::Salted19, NOW_MS, |_| {
        count += 1;
        (200, page(&[], Some(&format!("page-{count}"))))
    });
    assert_eq!(result, Err(Error::MalformedResponse { exchange: EXCHANGE_ID }));
    assert_eq!(sent.len(), MAX_ACCOUNT_PAGES);
    assert_eq!(MAX_ACCOUNT_PAGES, 80);

    let same = testing::run(Coinbase.holdings(), Some(&credentials), NonceFormat::Salted19, NOW_MS, |_| {
        (200, page(&[], Some("same")))
    });
    assert_eq!(same.0, Err(Error::MalformedResponse { exchange: EXCHANGE_ID }));
    assert_eq!(same.1.len(), 2);

    // An error on a later page ends the flow with that error.
    let mut calls = 0;
    let (result, sent) = testing::run(Coinbase.holdings(), Some(&credentials), NonceFormat::Salted19, NOW_MS, |_| {
        calls += 1;
        if calls == 1 { (200, page(&[account("BTC", "1", "0", CRYPTO)], Some("next"))) } else { (503, String::new()) }
    });
    assert_eq!(result, Err(Error::ExchangeUnavailable { exchange: EXCHANGE_ID, status: 503 }));
    assert_eq!(sent.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Key permissions

#[test]
fn key_permissions() {
    let answer = |view: bool, trade: bool, transfer: bool| {
        format!(
            r#"{{"can_view":{view},"can_trade":{trade},"can_transfer":{transfer},"portfolio_uuid":"b87a2d3f-8d3e-4ac4-9b2a-1c2d3e4f5a6b","portfolio_type":"DEFAULT"}}"#
        )
    };
    let scope = |body: &str| parse_key_permissions(ok(body));
    assert_eq!(scope(&answer(true, false, false)), Ok(KeyScope::default()));
    assert_eq!(scope(&answer(true, true, false)), Ok(KeyScope { trade: true, withdraw: false, transfer: false, other: false }));
    assert_eq!(scope(&answer(true, false, true)), Ok(KeyScope { trade: false, withdraw: true, transfer: true, other: false }));
    assert_eq!(scope(&answer(true, true, true)), Ok(KeyScope { trade: true, withdraw: true, transfer: true, other: false }));
    assert_eq!(scope(&answer(false, false, false)), Err(Error::MissingPermission { exchange: EXCHANGE_ID }));
    let malformed = Err(Error::MalformedResponse { exchange: EXCHANGE_ID });
    assert_eq!(scope(r#"{"can_view":true,"can_trade":false}"#), malformed, "a missing flag is not a false one");
    assert_eq!(scope(r#"{"can_view":true,"can_trade":"false","can_transfer":false}"#), malformed);
    assert_eq!(scope("[]"), malformed);

    let flow = Coinbase.key_scope().unwrap_or_else(|| panic!("Coinbase reports key permissions"));
    let (result, sent) = testing::run(flow, Some(&eddsa()), NonceFormat::Salted19, NOW_MS, |_| (200, answer(true, true, false)));
    assert_eq!(result, Ok(KeyScope { trade: true, withdraw: false, transfer: false, other: false }));
    assert_eq!(decode(bearer(&sent[0])).claims["uri"], "GET api.coinbase.com/api/v3/brokerage/key_permissions");
}

// ---------------------------------------------------------------------------------------------
// Prices

fn product(id: &str, base: &str, quote: &str, price: &str, percent: &str, volume: &str) -> Value {
    serde_json::json!({
        "product_id": id, "price": price, "price_percentage_change_24h": percent, "volume_24h": volume,
        "volume_percentage_change_24h": "-12.5", "base_increment": "0.00000001", "quote_increment": "0.01",
        "quote_min_size": "1", "quote_max_size": "150000000", "base_min_size": "0.00000001", "base_max_size": "3400",
        "base_name": base, "quote_name": quote, "watched": false, "is_disabled": false, "new": false, "status": "online",
        "cancel_only": false, "limit_only": false, "post_only": false, "trading_disabled": false, "auction_mode": false,
        "product_type": "SPOT", "quote_currency_id": quote, "base_currency_id": base, "fcm_trading_session_details": null,
        "mid_market_price": "", "alias": "", "alias_to": [], "base_display_symbol": base, "quote_display_symbol": quote,
        "view_only": false, "price_increment": "0.01", "display_name": id, "product_venue": "CBE"
    })
}

fn with(mut product: Value, field: &str, value: Value) -> Value {
    product[field] = value;
    product
}

#[test]
fn products_to_tickers() {
    let products = vec![
        with(product("BTC-USD", "BTC", "USD", "95123.45", "2.5", "12345.67890123"), "alias_to", serde_json::json!(["BTC-USDC"])),
        with(with(product("BTC-USDC", "BTC", "USDC", "95123.45", "2.5", "12345.67890123"), "alias", "BTC-USD".into()), "quote_display_symbol", "USD".into()),
        product("ETH-USD", "ETH", "USD", "3500.10", "-4", "98765.4321"),
        product("USDT-USD", "USDT", "USD", "1.0001", "0", "250000000"),
        product("USDC-EUR", "USDC", "EUR", "0.9224", "", "5000000"),
        product("SOL-USD", "SOL", "USD", "172.5", "-100", "900000"),
        product("CGLD-USD", "CGLD", "USD", "0.75", "1.5", "100000"),
        with(product("OLD-USD", "OLD", "USD", "1.5", "0", "10"), "trading_disabled", true.into()),
        with(product("DIS-USD", "DIS", "USD", "1.5", "0", "10"), "is_disabled", true.into()),
        with(product("VIEW-USD", "VIEW", "USD", "1.5", "0", "10"), "view_only", true.into()),
        with(product("DELISTED-USD", "DELISTED", "USD", "1.5", "0", "10"), "status", "delisted".into()),
        with(product("BIT-24APR26-CDE", "", "USD", "68730", "0", "10"), "product_type", "FUTURE".into()),
        product("ZERO-USD", "ZERO", "USD", "0", "0", "10"),
        product("EMPTY-USD", "EMPTY", "USD", "", "0", "10"),
        product("SAME-SAME", "SAME", "SAME", "1", "0", "10"),
        serde_json::json!({"product_id": "BROKEN"}),
        serde_json::json!("not an object"),
        with(product("ETH-USDC", "ETH", "USDC", "3500.10", "-4", "98765.4321"), "alias", "ETH-USD".into()),
    ];
    let body = serde_json::json!({"products": products, "num_products": 18}).to_string();
    let tickers = parse_products(ok(&body)).unwrap_or_else(|e| panic!("{e}"));
    let summary: Vec<(String, String, String, String, String, Option<String>)> = tickers
        .iter()
        .map(|t| (t.book.clone(), t.base.clone(), t.quote.clone(), t.last.to_string(), t.volume.to_string(), t.change_24h.map(|c| c.round_dp(10).normalize().to_string())))
        .collect();
    let row = |book: &str, base: &str, quote: &str, last: &str, volume: &str, change: Option<&str>| {
        (book.to_owned(), base.to_owned(), quote.to_owned(), last.to_owned(), volume.to_owned(), change.map(str::to_owned))
    };
    assert_eq!(
        summary,
        [
            // 95123.45 − 95123.45 / 1.025 = 2320.0841463414…
            row("coinbase:BTC-USD", "btc", "usd", "95123.45", "12345.67890123", Some("2320.0841463415")),
            // 3500.10 − 3500.10 / 0.96 = −145.8375
            row("coinbase:ETH-USD", "eth", "usd", "3500.10", "98765.4321", Some("-145.8375")),
            row("coinbase:USDT-USD", "usdt", "usd", "1.0001", "250000000", Some("0")),
            row("coinbase:USDC-EUR", "usdc", "eur", "0.9224", "5000000", None),
            // −100 % would mean the price was infinite a day ago: no change reported.
            row("coinbase:SOL-USD", "sol", "usd", "172.5", "900000", None),
            row("coinbase:CGLD-USD", "celo", "usd", "0.75", "100000", Some("0.0110837438")),
        ]
    );
    assert!(tickers.iter().all(|t| t.created_at.is_none()));
    assert_eq!(change_from_percent(dec("100"), dec("-150")), None);
    assert_eq!(change_from_percent(dec("110"), dec("10")), Some(dec("10")));

    let (_, sent) = testing::run(Coinbase.prices(), None, NonceFormat::Salted19, NOW_MS, |_| (200, body.clone()));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, "https://api.coinbase.com/api/v3/brokerage/market/products?product_type=SPOT");
    assert!(sent[0].headers.is_empty(), "public, no token");

    let malformed = Err(Error::MalformedResponse { exchange: EXCHANGE_ID });
    assert_eq!(parse_products(ok(r#"{"num_products":0}"#)), malformed);
    assert_eq!(parse_products(ok(r#"{"products":{}}"#)), malformed);
    assert_eq!(parse_products(ok("[]")), malformed);
    assert_eq!(parse_products(ok(r#"{"products":[]}"#)), Ok(Vec::new()));
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn error_table() {
    use Error as E;
    const X: ExchangeId = ExchangeId::Coinbase;
    let cases: Vec<(&str, u16, &str, Option<u64>, Error)> = vec![
        ("401 plain Unauthorized", 401, "Unauthorized", None, E::InvalidCredentials { exchange: X }),
        ("401 empty", 401, "", None, E::InvalidCredentials { exchange: X }),
        ("401 JSON unauthenticated", 401, r#"{"error":"UNAUTHENTICATED","error_details":"invalid signature","message":"invalid signature"}"#, None, E::InvalidCredentials { exchange: X }),
        ("401 v2 timestamp", 401, r#"{"errors":[{"id":"authentication_error","message":"request timestamp expired"}]}"#, None, E::ClockSkew { exchange: X }),
        ("401 token is expired", 401, "token is expired", None, E::ClockSkew { exchange: X }),
        ("401 JWT not yet valid", 401, r#"{"error":"UNAUTHENTICATED","message":"Token used before issued (nbf)"}"#, None, E::ClockSkew { exchange: X }),
        ("401 v2 invalid token", 401, r#"{"errors":[{"id":"invalid_token","message":"The access token is invalid"}]}"#, None, E::InvalidCredentials { exchange: X }),
        ("400 UNAUTHENTICATED with time", 400, r#"{"error":"UNAUTHENTICATED","message":"token is expired"}"#, None, E::ClockSkew { exchange: X }),
        ("400 UNAUTHENTICATED", 400, r#"{"error":"UNAUTHENTICATED","message":"bad key"}"#, None, E::InvalidCredentials { exchange: X }),
        ("403 missing scopes", 403, r#"{"error":"PERMISSION_DENIED","error_details":"Missing required scopes","message":"Missing required scopes"}"#, None, E::MissingPermission { exchange: X }),
        ("403 permission text", 403, "permission denied", None, E::MissingPermission { exchange: X }),
        ("400 PERMISSION_DENIED", 400, r#"{"error":"PERMISSION_DENIED","message":"x"}"#, None, E::MissingPermission { exchange: X }),
        ("403 Cloudflare page", 403, "<!DOCTYPE html><title>Attention Required! | Cloudflare</title>", None, E::ExchangeUnavailable { exchange: X, status: 403 }),
        ("429 with Retry-After", 429, r#"{"errors":[{"id":"rate_limit_exceeded","message":"Too many requests"}]}"#, Some(7000), E::RateLimited { exchange: X, retry_after_ms: 7000 }),
        ("429 without Retry-After", 429, "Too Many Requests", None, E::RateLimited { exchange: X, retry_after_ms: 60_000 }),
        ("400 resource exhausted", 400, r#"{"error":"RESOURCE_EXHAUSTED","message":"rate limit"}"#, None, E::RateLimited { exchange: X, retry_after_ms: 60_000 }),
        ("500 internal", 500, r#"{"error":"INTERNAL","message":"internal error"}"#, None, E::ExchangeUnavailable { exchange: X, status: 500 }),
        ("502 HTML", 502, "<html><body>Bad Gateway</body></html>", None, E::ExchangeUnavailable { exchange: X, status: 502 }),
        ("503 empty", 503, "", None, E::ExchangeUnavailable { exchange: X, status: 503 }),
        ("404 HTML", 404, "<html>Not Found</html>", None, E::ExchangeUnavailable { exchange: X, status: 404 }),
        ("400 UNAVAILABLE", 400, r#"{"error":"UNAVAILABLE","message":"maintenance"}"#, None, E::ExchangeUnavailable { exchange: X, status: 400 }),
        ("400 invalid argument", 400, r#"{"error":"INVALID_ARGUMENT","error_details":"limit","message":"limit"}"#, None, E::ExchangeRejected { exchange: X, code: "INVALIDARGUMENT".into() }),
        ("404 not found", 404, r#"{"error":"NOT_FOUND","error_details":"","message":"not found"}"#, None, E::ExchangeRejected { exchange: X, code: "NOTFOUND".into() }),
        ("400 v2 form, not v3's", 400, r#"{"errors":[{"id":"validation_error","message":"bad"}]}"#, None, E::ExchangeUnavailable { exchange: X, status: 400 }),
        ("400 code with junk", 400, r#"{"error":"<script>alert(1)</script>","message":"x"}"#, None, E::ExchangeRejected { exchange: X, code: "unknown".into() }),
        ("400 error not a string", 400, r#"{"error":{"code":1}}"#, None, E::ExchangeUnavailable { exchange: X, status: 400 }),
        ("200 empty", 200, "", None, E::MalformedResponse { exchange: X }),
        ("200 HTML", 200, "<html></html>", None, E::MalformedResponse { exchange: X }),
        ("200 error body", 200, r#"{"error":"INTERNAL","message":"x"}"#, None, E::MalformedResponse { exchange: X }),
    ];
    for (name, status, body, retry_after_ms, expected) in cases {
        let response = HttpResponse { retry_after_ms, ..with_status(status, body) };
        assert_eq!(page_balances(response), Err(expected.clone()), "{name}: accounts");
        assert_eq!(parse_key_permissions(response), Err(expected.clone()), "{name}: key permissions");
        assert_eq!(parse_products(response), Err(expected), "{name}: products");
    }
    // Invalid UTF-8 in a 200.
    assert_eq!(parse_products(HttpResponse::new(200, &[0xff, 0xfe])), Err(E::MalformedResponse { exchange: X }));
}

#[test]
fn no_error_carries_the_body() {
    let marker = "SECRET-PAYLOAD-MARKER";
    let bodies = [
        (401, format!("Unauthorized {marker}")),
        (403, format!(r#"{{"error":"PERMISSION_DENIED","message":"{marker}"}}"#)),
        (400, format!(r#"{{"error":"{marker}","message":"{marker}"}}"#)),
        (429, format!(r#"{{"errors":[{{"id":"rate_limit_exceeded","message":"{marker}"}}]}}"#)),
    ];
    for (status, body) in bodies {
        let error = page_balances(with_status(status, &body)).err().unwrap_or(Error::AccountNotFound);
        let view = serde_json::to_string(&crate::error::ErrorView::new(&error, 0)).unwrap_or_default();
        assert!(!format!("{error:?} {error} {view}").contains(marker), "{status}");
    }
    let credentials = es256();
    assert!(!format!("{credentials:?}").contains("es256"), "Debug must not print the key");
}

// ---------------------------------------------------------------------------------------------
// Parsers never panic

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let response = HttpResponse::new(status, &body);
        let _ = page_balances(response);
        let _ = parse_key_permissions(response);
        let _ = parse_products(response);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_json(status in prop_oneof![Just(200u16), Just(401), Just(403), Just(429), Just(400)], value in arb_json()) {
        let body = value.to_string();
        let response = HttpResponse::new(status, body.as_bytes());
        let _ = page_balances(response);
        let _ = parse_key_permissions(response);
        let _ = parse_products(response);
    }

    #[test]
    fn key_parser_never_panics_on_arbitrary_text(key in ".{0,64}", text in ".{0,300}") {
        let _ = Coinbase.credentials(&key, &text);
        let _ = Coinbase.credentials(SDK_KEY_NAME, &format!("-----BEGIN EC PRIVATE KEY-----{text}-----END EC PRIVATE KEY-----"));
    }

    #[test]
    fn key_parser_never_panics_on_arbitrary_der(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        for label in ["EC PRIVATE KEY", "PRIVATE KEY"] {
            let pem = format!("-----BEGIN {label}-----\n{}\n-----END {label}-----", Base64::encode_string(&bytes));
            let _ = Coinbase.credentials(SDK_KEY_NAME, &pem);
        }
        let _ = Coinbase.credentials(SDK_KEY_NAME, &Base64::encode_string(&bytes));
    }

    /// Every single-byte change of a genuine key's DER is read or refused, never a panic, and
    /// whatever is read still signs.
    #[test]
    fn mutated_keys_are_read_or_refused(which in 0usize..4, at in 0usize..160, byte in any::<u8>()) {
        let der = [SDK_EC_PEM, SDK_EC_PKCS8, SDK_ED25519_PKCS8_V2, ECPARAM_GENKEY][which]
            .lines()
            .filter(|line| !line.starts_with("-----") && !line.starts_with("Bgg"))
            .collect::<String>();
        let mut der = Base64::decode_vec(&der).unwrap_or_default();
        let position = at % der.len();
        der[position] = byte;
        if let Ok(credentials) = Coinbase.credentials(SDK_KEY_NAME, &Base64::encode_string(&der)) {
            let request = signed_request(&credentials, "00", NOW_S, ACCOUNTS_PATH, "");
            prop_assert!(request.is_ok());
        }
    }
}

/// JSON values shaped like Coinbase's answers often enough to reach the inner parsers.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "-?[0-9]{1,6}(\\.[0-9]{1,8})?".prop_map(Value::String),
        "[A-Z]{1,5}(-[A-Z]{1,5})?".prop_map(Value::String),
        prop_oneof![Just("ACCOUNT_TYPE_CRYPTO"), Just("SPOT"), Just("online"), Just("UNAUTHENTICATED")].prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("accounts".to_owned()), Just("has_next".to_owned()), Just("cursor".to_owned()),
                    Just("currency".to_owned()), Just("available_balance".to_owned()), Just("hold".to_owned()),
                    Just("value".to_owned()), Just("type".to_owned()), Just("can_view".to_owned()),
                    Just("can_trade".to_owned()), Just("can_transfer".to_owned()), Just("products".to_owned()),
                    Just("product_id".to_owned()), Just("price".to_owned()), Just("alias".to_owned()),
                    Just("base_currency_id".to_owned()), Just("quote_currency_id".to_owned()),
                    Just("product_type".to_owned()), Just("status".to_owned()),
                    Just("price_percentage_change_24h".to_owned()), Just("error".to_owned()), Just("errors".to_owned()),
                    Just("id".to_owned()), "[a-z_]{1,8}",
                ],
                inner,
                0..10
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// Transaction history: v2 wallets, Advanced Trade fills, daily closes
//
// Fixtures in the shapes of the reference pages: wallets
// <https://docs.cdp.coinbase.com/coinbase-app/track-apis/accounts>, transactions
// <https://docs.cdp.coinbase.com/coinbase-app/track-apis/transactions>, fills
// <https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/list-fills>.

const WALLETS: &str = include_str!("../../../tests/fixtures/coinbase/v2-accounts.json");
const TX_BTC: &str = include_str!("../../../tests/fixtures/coinbase/v2-transactions-btc.json");
const TX_ETH: &str = include_str!("../../../tests/fixtures/coinbase/v2-transactions-eth.json");
const TX_ATOM: &str = include_str!("../../../tests/fixtures/coinbase/v2-transactions-atom.json");
const TX_USDC: &str = include_str!("../../../tests/fixtures/coinbase/v2-transactions-usdc.json");
const TX_USD: &str = include_str!("../../../tests/fixtures/coinbase/v2-transactions-usd.json");
const FILLS_1: &str = include_str!("../../../tests/fixtures/coinbase/fills-page-1.json");
const FILLS_2: &str = include_str!("../../../tests/fixtures/coinbase/fills-page-2.json");

const W_BTC: &str = "2bbf394c-193b-5b2a-9155-3b4732659ede";
const W_ETH: &str = "7f7b8b8e-6a4c-5f0e-8d1e-1a2b3c4d5e6f";
const W_ATOM: &str = "c1d2e3f4-a5b6-5c7d-8e9f-0a1b2c3d4e5f";
const W_USDC: &str = "d4c3b2a1-0f9e-5d8c-7b6a-5f4e3d2c1b0a";
const W_USD: &str = "9a8b7c6d-5e4f-5a3b-2c1d-0e9f8a7b6c5d";
const EMPTY_LIST: &str = r#"{"pagination":{"next_uri":null},"data":[]}"#;
const NO_FILLS: &str = r#"{"fills":[],"cursor":""}"#;

/// The fixture account as Coinbase would answer it: each request's path (and fills cursor) to
/// its fixture; a wallet asked for after its last row has nothing new.
fn fixture_answer(request: &HttpRequest) -> (u16, String) {
    let url = request.url.strip_prefix(API_ORIGIN).unwrap_or_else(|| panic!("another host: {}", request.url));
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let body = match path {
        "/v2/accounts" => WALLETS,
        "/api/v3/brokerage/orders/historical/fills" if query.contains("cursor=789100") => FILLS_2,
        "/api/v3/brokerage/orders/historical/fills" if query.contains("start_sequence_timestamp") => NO_FILLS,
        "/api/v3/brokerage/orders/historical/fills" => FILLS_1,
        _ if query.contains("starting_after") => EMPTY_LIST,
        _ => match path.strip_prefix("/v2/accounts/").and_then(|rest| rest.strip_suffix("/transactions")) {
            Some(W_BTC) => TX_BTC,
            Some(W_ETH) => TX_ETH,
            Some(W_ATOM) => TX_ATOM,
            Some(W_USDC) => TX_USDC,
            Some(W_USD) => TX_USD,
            _ => panic!("unexpected request {url}"),
        },
    };
    (200, body.to_owned())
}

/// Runs one page of the import from `cursor`.
fn history_page(
    credentials: &Credentials,
    cursor: Option<&str>,
    answer: impl FnMut(&HttpRequest) -> (u16, String),
) -> (Result<HistoryPage>, Vec<HttpRequest>) {
    let flow = Coinbase.history(cursor, &[]).unwrap_or_else(|| panic!("Coinbase reads its history"));
    testing::run(flow, Some(credentials), NonceFormat::Salted19, NOW_MS, answer)
}

/// Pages from `cursor` until caught up: every page, and every request.
fn import(
    credentials: &Credentials,
    cursor: Option<&str>,
    mut answer: impl FnMut(&HttpRequest) -> (u16, String),
) -> (Vec<HistoryPage>, Vec<HttpRequest>) {
    let (mut pages, mut sent) = (Vec::new(), Vec::new());
    let mut cursor = cursor.map(str::to_owned);
    for _ in 0..50 {
        let (page, requests) = history_page(credentials, cursor.as_deref(), &mut answer);
        let page = page.unwrap_or_else(|e| panic!("{e}"));
        sent.extend(requests);
        cursor = Some(page.cursor.clone());
        let caught_up = page.caught_up;
        pages.push(page);
        if caught_up {
            return (pages, sent);
        }
    }
    panic!("the import never caught up")
}

type Leg<'a> = Option<(&'a str, Decimal)>;

fn legs(transaction: &Transaction) -> (&str, Kind, Option<Side>, Leg<'_>, Leg<'_>, Leg<'_>) {
    fn leg(leg: &Option<Amount>) -> Leg<'_> {
        leg.as_ref().map(|leg| (leg.asset.as_str(), leg.amount))
    }
    (transaction.id.as_str(), transaction.kind, transaction.side, leg(&transaction.received), leg(&transaction.sent), leg(&transaction.fee))
}

#[test]
fn a_first_import_reads_every_kind_once() {
    let credentials = es256();
    let (pages, sent) = import(&credentials, None, fixture_answer);
    let urls: Vec<&str> = sent.iter().map(|request| request.url.as_str()).collect();
    let list = "limit=100&order=asc";
    assert_eq!(
        urls,
        [
            format!("https://api.coinbase.com/v2/accounts?{list}"),
            format!("https://api.coinbase.com/v2/accounts/{W_BTC}/transactions?{list}"),
            format!("https://api.coinbase.com/v2/accounts/{W_ETH}/transactions?{list}"),
            format!("https://api.coinbase.com/v2/accounts/{W_ATOM}/transactions?{list}"),
            format!("https://api.coinbase.com/v2/accounts/{W_USDC}/transactions?{list}"),
            format!("https://api.coinbase.com/v2/accounts/{W_USD}/transactions?{list}"),
            "https://api.coinbase.com/api/v3/brokerage/orders/historical/fills?limit=100".to_owned(),
            "https://api.coinbase.com/api/v3/brokerage/orders/historical/fills?limit=100&cursor=789100".to_owned(),
        ]
    );
    // Every request is a GET with its own token, bound to its path without the query.
    let nonce = |request: &HttpRequest| decode(bearer(request)).header["nonce"].clone();
    assert_ne!(nonce(&sent[0]), nonce(&sent[1]), "a fresh nonce per request of a page");
    for request in &sent {
        assert_eq!((request.method, request.body.as_ref()), (Method::Get, None));
        let token = bearer(request);
        verify(&credentials, token);
        let decoded = decode(token);
        let path = request.url.trim_start_matches("https://").split('?').next().unwrap_or_default();
        assert_eq!(decoded.claims["uri"], format!("GET {path}"));
        assert_eq!(decoded.claims["nbf"], NOW_S);
    }
    // A page ends once it has read rows: the listing and the BTC wallet, then one wallet or one
    // fills page each; the wait pays for the requests of the page just sent.
    let shape: Vec<(usize, bool, u64, u64)> =
        pages.iter().map(|page| (page.transactions.len(), page.caught_up, page.read, page.wait_ms)).collect();
    assert_eq!(
        shape,
        [(4, false, 7, 2 * HISTORY_PACE_MS), (2, false, 10, HISTORY_PACE_MS), (1, false, 11, HISTORY_PACE_MS), (1, false, 12, HISTORY_PACE_MS),
         (2, false, 16, HISTORY_PACE_MS), (1, false, 18, HISTORY_PACE_MS), (2, true, 20, 0)]
    );
    let all: Vec<&Transaction> = pages.iter().flat_map(|page| &page.transactions).collect();
    assert!(all.iter().all(|transaction| transaction.check().is_ok()));
    let got: Vec<_> = all.iter().map(|transaction| legs(transaction)).collect();
    let usd = |text| Some(("usd", dec(text)));
    let btc = |text| Some(("btc", dec(text)));
    assert_eq!(
        got,
        [
            // BTC wallet: an app buy (its USD row is skipped), a receive, a send with its network
            // fee, a sale; the fill row is skipped, the conversion leg waits, the pending send is
            // watched.
            ("tx:4117f7d6-5694-5b36-bc8f-847509850ea4", Kind::Trade, Some(Side::Buy), btc("0.01"), usd("500.00"), usd("7.50")),
            ("tx:6f3d8a21-2c4b-5e7f-9a1b-3c5d7e9f1a2b", Kind::Deposit, None, btc("0.05"), None, None),
            ("tx:8e2c7b14-5d3a-5f6e-9c8b-7a6d5e4f3c2b", Kind::Withdrawal, None, None, btc("0.01"), btc("0.0001")),
            ("tx:0e1d2c3b-4a59-5687-9a0b-c1d2e3f4a5b6", Kind::Trade, Some(Side::Sell), usd("192.00"), btc("0.002"), usd("2.00")),
            // ETH wallet: the conversion's second leg makes the pair; a staking reward; the move
            // into staking changes nothing.
            ("convert:5c6d7e8f-9a0b-5c1d-2e3f-4a5b6c7d8e9f", Kind::Trade, Some(Side::Buy), Some(("eth", dec("0.08"))), btc("0.00498"), btc("0.00002")),
            ("tx:1c2d3e4f-5a6b-5c7d-8e9f-0a1b2c3d4e5f", Kind::Reward, None, Some(("eth", dec("0.0012"))), None, None),
            ("tx:3e4f5a6b-7c8d-5e9f-0a1b-2c3d4e5f6a7b", Kind::Reward, None, Some(("atom", dec("0.125"))), None, None),
            ("tx:4f5a6b7c-8d9e-5f0a-1b2c-3d4e5f6a7b8c", Kind::Reward, None, Some(("usdc", dec("0.42"))), None, None),
            ("tx:5a6b7c8d-9e0f-5a1b-2c3d-4e5f6a7b8c9d", Kind::Deposit, None, usd("1000.00"), None, None),
            ("tx:9e0f1a2b-3c4d-5e5f-6a7b-8c9d0e1f2a3b", Kind::Withdrawal, None, None, usd("200.00"), None),
            // Fills, newest first; the reversal is left out.
            ("fill:22222-2222222-22222225", Kind::Trade, Some(Side::Buy), btc("0.002"), Some(("usdc", dec("100"))), Some(("usdc", dec("0.60")))),
            ("fill:22222-2222222-22222223", Kind::Trade, Some(Side::Sell), usd("99.9999"), Some(("eth", dec("0.0325"))), usd("0.50")),
            ("fill:22222-2222222-22222222", Kind::Trade, Some(Side::Buy), btc("0.002"), usd("90.2469"), usd("0.54")),
        ]
    );
    // 2025-01-03T17:52:31Z = 1735926751; 2025-03-01T12:00:00-05:00 = 1740848400;
    // 2025-04-01T00:00:00Z = 1743465600; 2025-06-02T11:00:00Z = 1748862000 (`date -u -d … +%s`).
    assert_eq!(all[0].at, 1_735_926_751_000);
    assert_eq!(all[1].at, 1_740_848_400_000);
    assert_eq!(all[4].at, 1_743_465_600_000);
    assert_eq!(all[10].at, 1_748_862_000_000);
    // The cursor: each wallet's last row, the pending send, the newest fill's sequence time.
    let cursor: Value = serde_json::from_str(&pages[6].cursor).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cursor["wallets"][0], serde_json::json!({"id": W_BTC, "last": "b2c3d4e5-f6a7-5b8c-9d0e-1f2a3b4c5d6e"}));
    assert_eq!(cursor["watched"], serde_json::json!([{"wallet": W_BTC, "id": "b2c3d4e5-f6a7-5b8c-9d0e-1f2a3b4c5d6e"}]));
    assert_eq!(cursor["fills_since"], 1_748_862_000_123u64);
    assert!(cursor.get("pass").is_none() && cursor.get("halves").is_none());
}

#[test]
fn a_sync_reads_only_what_is_new_and_rechecks_what_was_pending() {
    let credentials = eddsa();
    let (pages, _) = import(&credentials, None, fixture_answer);
    let caught_up = pages.last().map(|page| page.cursor.clone()).unwrap_or_default();
    let pending = "b2c3d4e5-f6a7-5b8c-9d0e-1f2a3b4c5d6e";
    // The pending send has completed since.
    let completed = TX_BTC.replace(r#""status": "pending""#, r#""status": "completed""#);
    let completed: Value = serde_json::from_str(&completed).unwrap_or_else(|e| panic!("{e}"));
    let row = completed["data"].as_array().and_then(|rows| rows.iter().find(|row| row["id"] == pending)).cloned().unwrap_or_default();
    let (pages, sent) = import(&credentials, Some(&caught_up), |request| {
        if request.url.ends_with(&format!("/transactions/{pending}")) {
            return (200, serde_json::json!({"data": row}).to_string());
        }
        fixture_answer(request)
    });
    let urls: Vec<&str> = sent.iter().map(|request| request.url.as_str()).collect();
    assert_eq!(urls[0], format!("https://api.coinbase.com/v2/accounts/{W_BTC}/transactions/{pending}"));
    assert_eq!(urls[2], format!("https://api.coinbase.com/v2/accounts/{W_BTC}/transactions?limit=100&order=asc&starting_after={pending}"));
    assert_eq!(
        urls.last().copied(),
        Some("https://api.coinbase.com/api/v3/brokerage/orders/historical/fills?limit=100&start_sequence_timestamp=2025-06-02T11%3A00%3A00.123Z")
    );
    let found: Vec<&str> = pages.iter().flat_map(|page| &page.transactions).map(|transaction| transaction.id.as_str()).collect();
    assert_eq!(found, [format!("tx:{pending}")]);
    let last = pages.last().map(|page| page.cursor.as_str()).unwrap_or_default();
    let cursor: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}"));
    assert!(cursor.get("watched").is_none());
    assert_eq!(cursor["fills_since"], 1_748_862_000_123u64, "no newer fill: the start stays");
    // Nothing new at all: one request per wallet and the listing and fills, all in one page.
    let (pages, sent) = import(&credentials, Some(last), fixture_answer);
    assert_eq!((pages.len(), sent.len()), (1, 7));
    assert!(pages[0].transactions.is_empty() && pages[0].caught_up);
}

#[test]
fn rows_arriving_during_an_import_are_read_once() {
    let credentials = es256();
    // The first page read the listing and the BTC wallet; a new fill and a new BTC row arrive.
    let (first, _) = history_page(&credentials, None, fixture_answer);
    let first = first.unwrap_or_else(|e| panic!("{e}"));
    let newer_fill = FILLS_1.replace("22222-2222222-22222225", "22222-2222222-22222226").replace("2025-06-02T11:00:00.123456Z", "2025-06-04T00:00:00Z");
    let (pages, _) = import(&credentials, Some(&first.cursor), |request| {
        if request.url.contains("/fills") && !request.url.contains("cursor=") && !request.url.contains("start_") {
            return (200, newer_fill.clone());
        }
        fixture_answer(request)
    });
    let ids: Vec<&str> = pages.iter().flat_map(|page| &page.transactions).map(|transaction| transaction.id.as_str()).collect();
    assert!(ids.contains(&"fill:22222-2222222-22222226"));
    let last = pages.last().map(|page| page.cursor.clone()).unwrap_or_default();
    let cursor: Value = serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}"));
    // 2025-06-04T00:00:00Z = 1748995200 (`date -u -d … +%s`).
    assert_eq!(cursor["fills_since"], 1_748_995_200_000u64);
}

#[test]
fn wallet_and_fills_pages_follow_their_cursors() {
    let credentials = es256();
    let full: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"id":"r{i}","type":"receive","status":"completed","amount":{{"amount":"0.001","currency":"BTC"}},"native_amount":null,"created_at":"2025-05-01T00:00:00Z"}}"#))
        .collect();
    let more = format!(r#"{{"pagination":{{"next_uri":"/v2/accounts/{W_BTC}/transactions?starting_after=r99"}},"data":[{}]}}"#, full.join(","));
    let cursor = format!(r#"{{"wallets":[{{"id":"{W_BTC}"}}],"pass":{{"began":0,"stage":{{"reading":0}}}}}}"#);
    let (page, sent) = history_page(&credentials, Some(&cursor), |_| (200, more.clone()));
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sent.len(), 1);
    assert_eq!((page.transactions.len(), page.caught_up, page.read), (100, false, 100));
    let cursor: Value = serde_json::from_str(&page.cursor).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cursor["wallets"][0]["last"], "r99");
    assert_eq!(cursor["pass"]["stage"], serde_json::json!({"reading": 0}), "more to read in this wallet");
    // A fills cursor is percent-encoded; one that does not move is refused.
    let run = r#"{"pass":{"began":0,"stage":{"fills":{"next":"a b/c"}}}}"#;
    let (page, sent) = history_page(&credentials, Some(run), |_| (200, FILLS_2.replace(r#""cursor": """#, r#""cursor": "a b/c""#)));
    assert_eq!(sent[0].url, "https://api.coinbase.com/api/v3/brokerage/orders/historical/fills?limit=100&cursor=a%20b%2Fc");
    assert_eq!(page, Err(Error::MalformedResponse { exchange: EXCHANGE_ID }));
}

#[test]
fn a_key_without_the_history_permission_says_so() {
    let credentials = es256();
    for (status, body) in [
        (403, r#"{"errors":[{"id":"invalid_scope","message":"Invalid scope","url":"https://developers.coinbase.com/api#permissions"}]}"#),
        (403, r#"{"error":"PERMISSION_DENIED","error_details":"Missing required scopes","message":"Missing required scopes"}"#),
    ] {
        let (page, _) = history_page(&credentials, None, |_| (status, body.to_owned()));
        assert_eq!(page, Err(Error::HistoryPermission { exchange: EXCHANGE_ID }), "{body}");
    }
    // The fills list refused after the wallets were read.
    let (page, _) = history_page(&credentials, Some(r#"{"pass":{"began":0,"stage":{"fills":{}}}}"#), |_| {
        (403, r#"{"error":"PERMISSION_DENIED","error_details":"Missing required scopes","message":"Missing required scopes"}"#.to_owned())
    });
    assert_eq!(page, Err(Error::HistoryPermission { exchange: EXCHANGE_ID }));
    // Everything else keeps its meaning.
    let (page, _) = history_page(&credentials, None, |_| (401, "Unauthorized".to_owned()));
    assert_eq!(page, Err(Error::InvalidCredentials { exchange: EXCHANGE_ID }));
    let (page, _) = history_page(&credentials, None, |_| (403, "<html>Attention Required! | Cloudflare</html>".to_owned()));
    assert_eq!(page, Err(Error::ExchangeUnavailable { exchange: EXCHANGE_ID, status: 403 }));
    let (page, _) = history_page(&credentials, None, |_| (429, r#"{"errors":[{"id":"rate_limit_exceeded","message":"Too many requests"}]}"#.to_owned()));
    assert!(matches!(page, Err(Error::RateLimited { .. })));
}

#[test]
fn a_row_that_cannot_be_read_fails_the_page() {
    let credentials = es256();
    let wallet = format!(r#"{{"wallets":[{{"id":"{W_BTC}"}}],"pass":{{"began":0,"stage":{{"reading":0}}}}}}"#);
    for row in [
        r#"{"id":"x1","type":"receive","status":"completed","amount":{"amount":"1","currency":"BTC"},"created_at":"yesterday"}"#,
        r#"{"id":"x1","type":"receive","status":"completed","amount":{"amount":"one","currency":"BTC"},"created_at":"2025-05-01T00:00:00Z"}"#,
        r#"{"id":"x1","type":"receive","status":"completed","amount":{"amount":"1","currency":"B T C"},"created_at":"2025-05-01T00:00:00Z"}"#,
        r#"{"id":"x/1","type":"receive","status":"completed","amount":{"amount":"1","currency":"BTC"},"created_at":"2025-05-01T00:00:00Z"}"#,
        r#"{"type":"receive","status":"completed","amount":{"amount":"1","currency":"BTC"},"created_at":"2025-05-01T00:00:00Z"}"#,
    ] {
        let body = format!(r#"{{"pagination":{{"next_uri":null}},"data":[{row}]}}"#);
        let (page, _) = history_page(&credentials, Some(&wallet), |_| (200, body.clone()));
        assert_eq!(page, Err(Error::MalformedResponse { exchange: EXCHANGE_ID }), "{row}");
    }
    // A row that moves nothing is skipped.
    let zero = r#"{"pagination":{"next_uri":null},"data":[{"id":"z1","type":"receive","status":"completed","amount":{"amount":"0","currency":"BTC"},"created_at":"2025-05-01T00:00:00Z"}]}"#;
    let (page, _) = history_page(&credentials, Some(&wallet), |request| (200, if request.url.contains("/v2/") { zero.to_owned() } else { NO_FILLS.to_owned() }));
    assert_eq!(page.map(|page| page.transactions), Ok(Vec::new()));
    let fills = r#"{"pass":{"began":0,"stage":{"fills":{}}}}"#;
    for fill in [
        r#"{"entry_id":"e1","trade_type":"FILL","product_id":"BTCUSD","side":"BUY","price":"1","size":"1","commission":"0","trade_time":"2025-05-01T00:00:00Z"}"#,
        r#"{"entry_id":"e1","trade_type":"FILL","product_id":"BTC-USD","side":"HOLD","price":"1","size":"1","commission":"0","trade_time":"2025-05-01T00:00:00Z"}"#,
        r#"{"entry_id":"e1","trade_type":"FILL","product_id":"BTC-USD","side":"BUY","price":"0","size":"1","commission":"0","trade_time":"2025-05-01T00:00:00Z"}"#,
        r#"{"entry_id":"e1","trade_type":"FILL","product_id":"BTC-USD","side":"BUY","price":"1","size":"1","commission":"-1","trade_time":"2025-05-01T00:00:00Z"}"#,
        r#"{"entry_id":"e1","trade_type":"FILL","product_id":"BTC-USD","side":"BUY","price":"1","size":"1","size_in_quote":"yes","trade_time":"2025-05-01T00:00:00Z"}"#,
        r#"{"trade_type":"FILL","product_id":"BTC-USD","side":"BUY","price":"1","size":"1","trade_time":"2025-05-01T00:00:00Z"}"#,
    ] {
        let body = format!(r#"{{"fills":[{fill}],"cursor":""}}"#);
        let (page, _) = history_page(&credentials, Some(fills), |_| (200, body.clone()));
        assert_eq!(page, Err(Error::MalformedResponse { exchange: EXCHANGE_ID }), "{fill}");
    }
    for cursor in ["not json", r#"{"wallets":[{"id":"a/b"}]}"#, r#"{"unknown":1}"#] {
        let (page, _) = history_page(&credentials, Some(cursor), fixture_answer);
        assert_eq!(page, Err(Error::InvalidInput { field: "cursor" }), "{cursor}");
    }
}

#[test]
fn daily_closes_come_300_days_at_a_time() {
    // 2025-01-01 is day 20089 (1735689600 / 86400).
    let flow = Coinbase.daily_closes("BTC-USD", 20_089, 20_089 + 400).unwrap_or_else(|| panic!("Coinbase has candles"));
    // <https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/get-public-product-candles>
    let body = r#"{"candles":[{"start":"1735776000","low":"96000.1","high":"98200","open":"96800","close":"97512.34","volume":"812.5"},{"start":"1735689600","low":"93000","high":"95000","open":"93500","close":"94591.79","volume":"900"},{"start":"1735603200","low":"1","high":"1","open":"1","close":"0","volume":"0"}]}"#;
    let (closes, sent) = testing::run(flow, None, NonceFormat::Salted19, 0, |_| (200, body.to_owned()));
    let closes = closes.unwrap_or_else(|e| panic!("{e}"));
    let urls: Vec<&str> = sent.iter().map(|request| request.url.as_str()).collect();
    // Days 20089..=20388, then 20389..=20489: 1735689600 + 300 × 86400 − 1 = 1761609599.
    assert_eq!(
        urls,
        [
            "https://api.coinbase.com/api/v3/brokerage/market/products/BTC-USD/candles?start=1735689600&end=1761609599&granularity=ONE_DAY",
            "https://api.coinbase.com/api/v3/brokerage/market/products/BTC-USD/candles?start=1761609600&end=1770335999&granularity=ONE_DAY",
        ]
    );
    assert!(sent.iter().all(|request| request.header("authorization").is_none()), "public");
    assert_eq!(closes[0], DailyClose { day: 20_090, close: dec("97512.34") });
    assert_eq!(closes[1], DailyClose { day: 20_089, close: dec("94591.79") });
    assert_eq!(closes.len(), 4, "two a request, a close of zero dropped");
    for market in ["BTC-USD&x=1", "", "BTC/USD", "../x"] {
        assert!(Coinbase.daily_closes(market, 0, 1).is_none(), "{market}");
    }
}

proptest! {
    #[test]
    fn history_pages_never_panic(status in prop_oneof![Just(200u16), Just(403), Just(404)], body in "\\PC{0,300}", stage in 0usize..3) {
        let cursor = [None, Some(format!(r#"{{"wallets":[{{"id":"{W_BTC}"}}],"pass":{{"began":0,"stage":{{"reading":0}}}}}}"#)), Some(r#"{"pass":{"began":0,"stage":{"fills":{}}}}"#.to_owned())];
        let _ = history_page(&es256(), cursor[stage].as_deref(), |_| (status, body.clone()));
    }

    #[test]
    fn history_shapes_never_panic(value in arb_json(), stage in 0usize..3) {
        let cursor = [None, Some(format!(r#"{{"wallets":[{{"id":"{W_BTC}"}}],"pass":{{"began":0,"stage":{{"reading":0}}}}}}"#)), Some(r#"{"pass":{"began":0,"stage":{"fills":{}}}}"#.to_owned())];
        let envelopes = [
            serde_json::json!({"pagination": {"next_uri": null}, "data": [value.clone()]}),
            serde_json::json!({"fills": [value.clone()], "cursor": ""}),
            serde_json::json!({"data": value.clone()}),
        ];
        for body in envelopes {
            let _ = history_page(&es256(), cursor[stage].as_deref(), |_| (200, body.to_string()));
        }
    }

    #[test]
    fn stored_cursors_never_panic(text in "\\PC{0,200}") {
        let _ = history_page(&es256(), Some(&text), fixture_answer);
    }
}

//! Request-signing primitives shared by the exchange adapters.
//!
//! Each exchange feeds its own string-to-sign in parts (no intermediate concatenated copy) and
//! picks the encoding it expects: Bitso and Binance want lowercase hex of HMAC-SHA256, Kraken
//! base64 of HMAC-SHA512 over a SHA-256 digest, Bitfinex hex of HMAC-SHA384, OKX base64 of
//! HMAC-SHA256.
//!
//! HMAC takes keys of every length (RFC 2104 §2 hashes long ones first); the error case of
//! `KeyInit` exists only for fixed-size MACs and is reported as an invalid secret. The MAC states
//! hold key material, so `hmac` is built with its `zeroize` feature and they are wiped on drop.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::{Error, Result};

fn mac<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Result<M> {
    let mut mac = <M as KeyInit>::new_from_slice(key).map_err(|_| Error::InvalidInput { field: "api_secret" })?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac)
}

/// Lowercase hex of HMAC-SHA256 over the concatenation of `parts`, keyed with `key`.
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> Result<String> {
    Ok(hex::encode(mac::<Hmac<Sha256>>(key, parts)?.finalize().into_bytes()))
}

/// The 32 bytes of HMAC-SHA256 over the concatenation of `parts`, keyed with `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32]> {
    Ok(mac::<Hmac<Sha256>>(key, parts)?.finalize().into_bytes().into())
}

/// Lowercase hex of HMAC-SHA384 over the concatenation of `parts`, keyed with `key`.
pub fn hmac_sha384_hex(key: &[u8], parts: &[&[u8]]) -> Result<String> {
    Ok(hex::encode(mac::<Hmac<Sha384>>(key, parts)?.finalize().into_bytes()))
}

/// The 64 bytes of HMAC-SHA512 over the concatenation of `parts`, keyed with `key`.
pub fn hmac_sha512(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 64]> {
    Ok(mac::<Hmac<Sha512>>(key, parts)?.finalize().into_bytes().into())
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// RFC 4231 §4 test cases 1–4, 6 and 7 (HMAC-SHA-256). Case 5 truncates the output to
    /// 128 bits and is covered by the prefix check below.
    #[test]
    fn rfc4231_hmac_sha256() {
        let cases: [(&str, &[u8], Vec<u8>, &str); 6] = [
            (
                "case 1",
                &[0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                "case 2",
                b"Jefe",
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                "case 3",
                &[0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                "case 4",
                &unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                "case 6",
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                "case 7",
                &[0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. \
                  The key needs to be hashed before being used by the HMAC algorithm."
                    .to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (name, key, data, expected) in cases {
            assert_eq!(hmac_sha256_hex(key, &[&data]).as_deref(), Ok(expected), "RFC 4231 {name}");
        }
    }

    #[test]
    fn rfc4231_case5_truncated() {
        let tag = hmac_sha256_hex(&[0x0c; 20], &[b"Test With Truncation"]).unwrap_or_default();
        assert_eq!(tag.get(..32).unwrap_or_default(), "a3b6167473100ee06e0c796c2955552b", "RFC 4231 case 5");
    }

    #[test]
    fn parts_are_concatenated() {
        assert_eq!(
            hmac_sha256_hex(b"Jefe", &[b"what do ya ", b"", b"want for nothing?"]),
            hmac_sha256_hex(b"Jefe", &[b"what do ya want for nothing?"])
        );
    }

    /// RFC 4231 §4.2 test case 1 for the two longer hashes.
    #[test]
    fn rfc4231_case1_sha384_and_sha512() {
        assert_eq!(
            hmac_sha384_hex(&[0x0b; 20], &[b"Hi There"]).as_deref(),
            Ok("afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"),
            "RFC 4231 case 1, SHA-384"
        );
        assert_eq!(
            hmac_sha512(&[0x0b; 20], &[b"Hi There"]).map(hex::encode).as_deref(),
            Ok("87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
            "RFC 4231 case 1, SHA-512"
        );
    }

    /// FIPS 180-2 appendix B.1: SHA-256("abc").
    #[test]
    fn sha256_fips_180_abc() {
        assert_eq!(
            hex::encode(sha256(&[b"a", b"bc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

//! Asset codes: how the core names an asset, whichever exchange reported it or the user typed it.

use crate::error::{Error, Result};

/// An asset code as the core keys assets: 1 to 20 ASCII letters or digits, made lowercase. One
/// rule for every exchange's codes and for the codes users type.
pub fn asset_code(text: &str) -> Result<String> {
    let code = text.trim().to_ascii_lowercase();
    if is_asset_code(&code) { Ok(code) } else { Err(Error::InvalidInput { field: "asset" }) }
}

/// Whether `code` is already an asset code as [`asset_code`] writes it: checked without a copy,
/// for codes read back from storage.
pub fn is_asset_code(code: &str) -> bool {
    (1..=20).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

//! Identifiers and clocks the way Mattermost mints them.
//!
//! Every Mattermost id is the base32 encoding (alphabet `ybndrfg8ejkmcpqxot1uwisza345h769`,
//! no padding) of 16 random bytes, which is always 26 characters. Tokens are ids too. We encode
//! real random bytes rather than picking random characters so that the last character has the
//! same restricted range as on a real server.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;

/// Mattermost's base32 alphabet.
const ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// A fresh 26-character Mattermost id.
pub(crate) fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    encode(&bytes)
}

/// Base32 without padding, five bits at a time, most significant first.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

pub(crate) use crate::mattermost::is_valid_id;

/// Milliseconds since the Unix epoch (`model.GetMillis`).
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
// Tests may unwrap: a panic is the failure report (see the lint comment in Cargo.toml).
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_26_chars_from_the_mattermost_alphabet() {
        for _ in 0..100 {
            let id = new_id();
            assert_eq!(id.len(), 26, "{id}");
            assert!(id.bytes().all(|b| ALPHABET.contains(&b)), "{id}");
            assert!(is_valid_id(&id));
        }
    }

    #[test]
    fn encoding_matches_base32_bit_order() {
        // 0x00.. encodes to the first alphabet letter everywhere.
        assert_eq!(encode(&[0u8; 16]), "y".repeat(26));
        // 0xff.. : 25 full groups of 31, then the 3 leftover bits shifted left (11100 = 28).
        let all = encode(&[0xffu8; 16]);
        assert_eq!(&all[..25], "9".repeat(25));
        assert_eq!(&all[25..], "h");
    }
}

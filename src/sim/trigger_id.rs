//! Trigger ids (PROTOCOL.md §3.5), minted and verified with the simulator's own key.
//!
//! Format as on Mattermost: standard base64 of `<clientTriggerId>:<userId>:<unixMillis>:<sig>`,
//! where `<sig>` is the base64 signature of the first three parts each followed by `:`.
//! Mattermost signs with ECDSA; we use HMAC-SHA256, which integrations cannot tell apart since
//! they treat the id as opaque. Validity is `OutgoingIntegrationRequestsTimeout`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::app_error::AppError;
use super::ids::{new_id, now_millis};

type HmacSha256 = Hmac<Sha256>;

fn sign(key: &[u8; 32], data: &str) -> Vec<u8> {
    // An HMAC key of any length is accepted, so this cannot fail.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Mints `(client_trigger_id, trigger_id)` for `user_id` (`GenerateTriggerId`).
pub(crate) fn generate(key: &[u8; 32], user_id: &str) -> (String, String) {
    let client_id = new_id();
    let data = format!("{client_id}:{user_id}:{}:", now_millis());
    let signature = STANDARD.encode(sign(key, &data));
    (client_id, STANDARD.encode(format!("{data}{signature}")))
}

/// A verified trigger id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerId {
    /// The short id the client got.
    pub client_trigger_id: String,
    /// The user the trigger id was minted for.
    pub user_id: String,
}

fn decode_error(id: &str) -> AppError {
    AppError::new(
        &format!("interactive_message.decode_trigger_id.{id}"),
        400,
        "Unable to decode the trigger id.",
    )
}

/// Verifies a trigger id (`DecodeAndVerifyTriggerId`), with Mattermost's error ids.
pub(crate) fn verify(
    key: &[u8; 32],
    trigger_id: &str,
    ttl: Duration,
) -> Result<TriggerId, AppError> {
    let decoded = STANDARD
        .decode(trigger_id)
        .map_err(|_| decode_error("base64_decode_failed"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| decode_error("base64_decode_failed"))?;
    let parts: Vec<&str> = decoded.split(':').collect();
    let [client_id, user_id, millis, signature] = parts.as_slice() else {
        return Err(decode_error("missing_data"));
    };
    let millis: i64 = millis.parse().map_err(|_| decode_error("missing_data"))?;
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    if now_millis() - millis > ttl_ms {
        return Err(decode_error("expired"));
    }
    let signature = STANDARD
        .decode(signature)
        .map_err(|_| decode_error("base64_decode_failed_signature"))?;
    let data = format!("{client_id}:{user_id}:{millis}:");
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return Err(decode_error("signature_decode_failed"));
    };
    mac.update(data.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| decode_error("verify_signature_failed"))?;
    Ok(TriggerId {
        client_trigger_id: (*client_id).to_owned(),
        user_id: (*user_id).to_owned(),
    })
}

#[cfg(test)]
// Tests may unwrap: a panic is the failure report (see the lint comment in Cargo.toml).
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_verify_and_tampered_ones_do_not() {
        let key = [7u8; 32];
        let (client, long) = generate(&key, "u1");
        let ok = verify(&key, &long, Duration::from_secs(30)).unwrap();
        assert_eq!(ok.client_trigger_id, client);
        assert_eq!(ok.user_id, "u1");
        let err = verify(&[8u8; 32], &long, Duration::from_secs(30)).unwrap_err();
        assert_eq!(
            err.id,
            "interactive_message.decode_trigger_id.verify_signature_failed"
        );
        let err = verify(&key, "!!", Duration::from_secs(30)).unwrap_err();
        assert_eq!(
            err.id,
            "interactive_message.decode_trigger_id.base64_decode_failed"
        );
    }
}

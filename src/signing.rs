//! Signed dialog state and action context.
//!
//! Mattermost signs nothing it forwards from a dialog submission or a button click, and most
//! of those payloads pass through the user's browser: any logged-in user can forge them, and
//! anyone who reaches our URL can forge everything. So everything Switchboard hands out — a
//! dialog's `state`, an action's `context` — carries an HMAC-SHA256 signature over what it
//! is for ([`Claims`]): its purpose (dialog or action), the route, the step or action name,
//! the user it was issued for (dialogs), the channel, an expiry and the route's own data.
//!
//! # Format
//!
//! `sb1.<key id>.<payload>.<mac>`, where `<payload>` is the URL-safe base64 (no padding) of the
//! claims as compact JSON and `<mac>` the URL-safe base64 of
//! `HMAC-SHA256(key, "sb1." + key id + "." + payload)`. The MAC covers the exact bytes sent,
//! so there is no canonicalisation to get wrong, and the key id is inside what is signed.
//!
//! # Keys and rotation
//!
//! Several keys may be configured, each with an id: the **first** signs, **all** verify. To
//! rotate, put the new key first and keep the old one until what it signed has expired
//! (dialogs: [`SigningSettings`](crate::config::SigningSettings) `dialog_ttl_secs`; buttons:
//! `action_ttl_secs`). Keys come as `kid:BASE64SECRET`, comma-separated (environment
//! `SWITCHBOARD_SIGNING__KEYS`) or one per line (`keys_file`); secrets are at least 32 bytes and
//! never printed.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::zeroize::Zeroizing;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Format prefix; a new format gets a new prefix.
const VERSION: &str = "sb1";
/// Shortest accepted secret.
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest accepted token; anything longer is refused before any work is done.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// One signing key: an id and a secret.
#[derive(Clone)]
pub struct SigningKey {
    id: String,
    /// HMAC keyed with the secret (its inner and outer pads already hashed; the secret itself
    /// is not kept), cloned per use: keying costs two SHA-256 blocks, as much as hashing a
    /// dialog state's payload.
    keyed: HmacSha256,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// A key from its id and raw secret (≥ 32 bytes; id of letters, digits, `_`, `-`).
    pub fn new(id: impl Into<String>, secret: Vec<u8>) -> Result<Self, KeyError> {
        let id = id.into();
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(KeyError::BadId(id));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::TooShort {
                id,
                len: secret.len(),
            });
        }
        Ok(SigningKey {
            id,
            keyed: keyed(&Zeroizing::new(secret)),
        })
    }

    /// A fresh random key (for `switchboard dev` and tests).
    pub fn generate(id: impl Into<String>) -> Self {
        let mut secret = vec![0u8; 32];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut secret);
        SigningKey {
            id: id.into(),
            keyed: keyed(&Zeroizing::new(secret)),
        }
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac(&self, signed: &str) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(signed.as_bytes());
        mac
    }
}

/// HMAC-SHA256 keyed with `secret`.
fn keyed(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails; the fallback keeps it total.
    HmacSha256::new_from_slice(secret).unwrap_or_else(|_| HmacSha256::new(&Default::default()))
}

/// Why a key list could not be read. Messages name the key id or position, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// An entry is not `kid:BASE64SECRET`.
    #[error("signing key #{0} is not of the form kid:BASE64SECRET")]
    Syntax(usize),
    /// A key id has characters other than letters, digits, `_` and `-`.
    #[error("signing key id `{0}` must be 1–64 letters, digits, `_` or `-`")]
    BadId(String),
    /// A secret is not valid base64.
    #[error("signing key `{0}`: the secret is not valid base64")]
    Base64(String),
    /// A secret is too short to be safe.
    #[error("signing key `{id}`: the secret has {len} bytes, at least 32 are needed")]
    TooShort {
        /// The key id.
        id: String,
        /// Its length in bytes.
        len: usize,
    },
    /// Two keys share an id.
    #[error("signing key id `{0}` is used twice")]
    Duplicate(String),
    /// No key at all.
    #[error("no signing key given")]
    Empty,
}

/// Parses `kid:BASE64SECRET` entries separated by commas or newlines (blank lines and lines
/// starting with `#` are skipped). Standard or URL-safe base64, padded or not.
pub fn parse_keys(text: &str) -> Result<Vec<SigningKey>, KeyError> {
    let mut keys: Vec<SigningKey> = Vec::new();
    let entries = text
        .split(['\n', ','])
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.starts_with('#'));
    for (i, entry) in entries.enumerate() {
        let (id, secret) = entry.split_once(':').ok_or(KeyError::Syntax(i + 1))?;
        let (id, secret) = (id.trim(), secret.trim());
        let bytes = decode_base64(secret).ok_or_else(|| KeyError::Base64(id.to_owned()))?;
        let key = SigningKey::new(id, bytes)?;
        if keys.iter().any(|k| k.id == key.id) {
            return Err(KeyError::Duplicate(key.id));
        }
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(KeyError::Empty);
    }
    Ok(keys)
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let unpadded = text.trim_end_matches('=');
    STANDARD
        .decode(text)
        .ok()
        .or_else(|| URL_SAFE_NO_PAD.decode(unpadded).ok())
        .or_else(|| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(unpadded)
                .ok()
        })
}

/// What a signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Purpose {
    /// A dialog's `state`.
    #[serde(rename = "d")]
    Dialog,
    /// An action's `context`.
    #[serde(rename = "a")]
    Action,
}

/// What a signed token asserts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// Dialog state or action context.
    #[serde(rename = "p")]
    pub purpose: Purpose,
    /// The route whose URL receives the callback.
    #[serde(rename = "r")]
    pub route: String,
    /// The dialog step (its `callback_id`) or the action's name.
    #[serde(rename = "s")]
    pub step: String,
    /// The user it was issued for; `""` means any user (buttons anyone in the channel may use).
    #[serde(rename = "u", default, skip_serializing_if = "String::is_empty")]
    pub user_id: String,
    /// The channel it was issued in; `""` means any channel.
    #[serde(rename = "c", default, skip_serializing_if = "String::is_empty")]
    pub channel_id: String,
    /// Unix seconds after which it is refused.
    #[serde(rename = "x")]
    pub expires_at: i64,
    /// The route's own data, returned verbatim after verification.
    #[serde(rename = "d", default)]
    pub data: serde_json::Value,
    /// Usable once: the server records its use until it expires and refuses it again (dialog
    /// states are always single-use; an action context only when its button says `once`).
    #[serde(rename = "o", default, skip_serializing_if = "std::ops::Not::not")]
    pub once: bool,
    /// A random value, so two tokens issued with the same claims in the same second differ
    /// (each single-use token is then used up on its own).
    #[serde(rename = "n", default, skip_serializing_if = "String::is_empty")]
    pub nonce: String,
}

impl Claims {
    /// Claims for `purpose` on `route`/`step`, expiring at `expires_at` (Unix seconds).
    pub fn new(
        purpose: Purpose,
        route: impl Into<String>,
        step: impl Into<String>,
        expires_at: i64,
    ) -> Self {
        Claims {
            purpose,
            route: route.into(),
            step: step.into(),
            user_id: String::new(),
            channel_id: String::new(),
            expires_at,
            data: serde_json::Value::Null,
            once: false,
            nonce: String::new(),
        }
    }

    /// Makes the token single-use (and unique, with a fresh nonce).
    pub fn once(mut self) -> Self {
        self.once = true;
        self.unique()
    }

    /// Adds a fresh random nonce, so this token differs from any other with the same claims.
    pub fn unique(mut self) -> Self {
        let mut bytes = [0u8; 12];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
        self.nonce = URL_SAFE_NO_PAD.encode(bytes);
        self
    }

    /// Binds the token to a user.
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = user_id.into();
        self
    }

    /// Binds the token to a channel.
    pub fn channel(mut self, channel_id: impl Into<String>) -> Self {
        self.channel_id = channel_id.into();
        self
    }

    /// Attaches the route's own data.
    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

/// What the callback must match, checked after the signature.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// Dialog or action.
    pub purpose: Purpose,
    /// The route the callback arrived on.
    pub route: &'a str,
    /// The user Mattermost says is acting.
    pub user_id: &'a str,
    /// The channel of the callback.
    pub channel_id: &'a str,
    /// Now, Unix seconds.
    pub now: i64,
}

/// Why a token was refused. Logged, never sent to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No token where one must be.
    #[error("not signed")]
    Missing,
    /// Not of the `sb1.kid.payload.mac` shape, or too long.
    #[error("malformed signed token")]
    Malformed,
    /// Signed with a key id we do not hold (retired or never ours).
    #[error("unknown signing key id")]
    UnknownKey,
    /// The MAC does not match: tampered, or signed with another secret.
    #[error("bad signature")]
    BadSignature,
    /// Past its expiry.
    #[error("expired")]
    Expired,
    /// Issued for another purpose (e.g. a dialog state pasted into an action).
    #[error("issued for another purpose")]
    WrongPurpose,
    /// Issued for another route.
    #[error("issued for another route")]
    WrongRoute,
    /// Issued for another user.
    #[error("issued for another user")]
    WrongUser,
    /// Issued for another channel.
    #[error("issued for another channel")]
    WrongChannel,
}

/// Signs with the first key, verifies with any. Cheap to clone.
#[derive(Clone)]
pub struct Signer {
    keys: Arc<[SigningKey]>,
    /// Made up for this process ([`Signer::ephemeral`]), not configured.
    ephemeral: bool,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Signer").field("key_ids", &ids).finish()
    }
}

impl Signer {
    /// A signer over `keys`: the first signs, all verify.
    pub fn new(keys: Vec<SigningKey>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.id == key.id) {
                return Err(KeyError::Duplicate(key.id.clone()));
            }
        }
        Ok(Signer {
            keys: keys.into(),
            ephemeral: false,
        })
    }

    /// A signer with one fresh random key, id `ephemeral`: what it signs dies with the process.
    pub fn ephemeral() -> Self {
        Signer {
            keys: vec![SigningKey::generate("ephemeral")].into(),
            ephemeral: true,
        }
    }

    /// Whether this is an [`ephemeral`](Signer::ephemeral) signer.
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }

    /// The id of the key that signs.
    pub fn signing_key_id(&self) -> &str {
        self.keys.first().map(|k| k.id.as_str()).unwrap_or("")
    }

    /// Signs `claims` into a token.
    pub fn sign(&self, claims: &Claims) -> String {
        let Some(key) = self.keys.first() else {
            return String::new();
        };
        // Serialising plain strings, numbers and a `Value` cannot fail.
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let signed = format!("{VERSION}.{}.{}", key.id, URL_SAFE_NO_PAD.encode(json));
        let mac = key.mac(&signed).finalize().into_bytes();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// Checks the signature and expiry of `token` only; returns its claims.
    pub fn verify_signature(&self, token: &str, now: i64) -> Result<Claims, VerifyError> {
        if token.is_empty() {
            return Err(VerifyError::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::Malformed);
        }
        let (signed, mac) = token.rsplit_once('.').ok_or(VerifyError::Malformed)?;
        let mut parts = signed.splitn(3, '.');
        let (Some(VERSION), Some(kid), Some(payload)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Malformed);
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or(VerifyError::UnknownKey)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| VerifyError::Malformed)?;
        // `verify_slice` compares in constant time.
        key.mac(signed)
            .verify_slice(&mac)
            .map_err(|_| VerifyError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| VerifyError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| VerifyError::Malformed)?;
        if claims.expires_at < now {
            return Err(VerifyError::Expired);
        }
        Ok(claims)
    }

    /// Verifies `token` and that it was issued for this callback.
    pub fn verify(&self, token: &str, expect: Expect<'_>) -> Result<Claims, VerifyError> {
        let claims = self.verify_signature(token, expect.now)?;
        if claims.purpose != expect.purpose {
            return Err(VerifyError::WrongPurpose);
        }
        if claims.route != expect.route {
            return Err(VerifyError::WrongRoute);
        }
        if !claims.user_id.is_empty() && claims.user_id != expect.user_id {
            return Err(VerifyError::WrongUser);
        }
        if !claims.channel_id.is_empty() && claims.channel_id != expect.channel_id {
            return Err(VerifyError::WrongChannel);
        }
        Ok(claims)
    }
}

/// What identifies one signed token for its single-use record: its MAC (unique per token,
/// and nothing secret). `None` when the token is not of the signed shape.
pub fn token_id(token: &str) -> Option<&str> {
    token
        .rsplit_once('.')
        .map(|(_, mac)| mac)
        .filter(|mac| !mac.is_empty())
}

/// Now, in Unix seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> SigningKey {
        SigningKey::new(id, vec![byte; 32]).unwrap()
    }

    fn expect(now: i64) -> Expect<'static> {
        Expect {
            purpose: Purpose::Dialog,
            route: "deploy",
            user_id: "alice",
            channel_id: "c1",
            now,
        }
    }

    fn claims() -> Claims {
        Claims::new(Purpose::Dialog, "deploy", "confirm", 1_000)
            .user("alice")
            .channel("c1")
            .data(serde_json::json!({"env": "prod"}))
    }

    #[test]
    fn a_signed_token_verifies_and_returns_its_data() {
        let signer = Signer::new(vec![key("k1", 1)]).unwrap();
        let token = signer.sign(&claims());
        let back = signer.verify(&token, expect(999)).unwrap();
        assert_eq!(back.data["env"], "prod");
        assert_eq!(back.step, "confirm");
    }

    #[test]
    fn every_check_refuses_what_it_should() {
        let signer = Signer::new(vec![key("k1", 1)]).unwrap();
        let token = signer.sign(&claims());
        assert_eq!(
            signer.verify(&token, expect(1_001)),
            Err(VerifyError::Expired)
        );
        let e = |f: fn(&mut Expect<'static>)| {
            let mut x = expect(0);
            f(&mut x);
            signer.verify(&token, x).unwrap_err()
        };
        assert_eq!(e(|x| x.user_id = "bob"), VerifyError::WrongUser);
        assert_eq!(e(|x| x.channel_id = "c2"), VerifyError::WrongChannel);
        assert_eq!(e(|x| x.route = "other"), VerifyError::WrongRoute);
        assert_eq!(
            e(|x| x.purpose = Purpose::Action),
            VerifyError::WrongPurpose
        );
        assert_eq!(signer.verify("", expect(0)), Err(VerifyError::Missing));
        assert_eq!(
            signer.verify("sb1.k1", expect(0)),
            Err(VerifyError::Malformed)
        );
    }

    #[test]
    fn tampering_with_the_payload_breaks_the_signature() {
        let signer = Signer::new(vec![key("k1", 1)]).unwrap();
        let token = signer.sign(&claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = Claims {
            data: serde_json::json!({"env": "dev"}),
            ..claims()
        };
        parts[2] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            signer.verify(&parts.join("."), expect(0)),
            Err(VerifyError::BadSignature)
        );
        let other = Signer::new(vec![key("k1", 2)]).unwrap();
        assert_eq!(
            other.verify(&token, expect(0)),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn single_use_tokens_with_equal_claims_differ_and_say_so() {
        let signer = Signer::new(vec![key("k1", 1)]).unwrap();
        let a = signer.sign(&claims().once());
        let b = signer.sign(&claims().once());
        assert_ne!(token_id(&a), token_id(&b));
        assert!(signer.verify(&a, expect(0)).unwrap().once);
        // Plain tokens stay as they were: no `o`, no `n`.
        let plain = signer.sign(&claims());
        assert!(!signer.verify(&plain, expect(0)).unwrap().once);
        assert_eq!(token_id(&plain), Some(plain.rsplit('.').next().unwrap()));
    }

    #[test]
    fn after_rotation_the_old_key_verifies_and_the_new_key_signs() {
        let old = Signer::new(vec![key("k1", 1)]).unwrap();
        let rotated = Signer::new(vec![key("k2", 2), key("k1", 1)]).unwrap();
        let retired = Signer::new(vec![key("k2", 2)]).unwrap();
        let before = old.sign(&claims());
        assert!(rotated.verify(&before, expect(0)).is_ok());
        let after = rotated.sign(&claims());
        assert!(after.starts_with("sb1.k2."), "{after}");
        assert!(old.verify(&after, expect(0)).is_err());
        assert_eq!(
            retired.verify(&before, expect(0)),
            Err(VerifyError::UnknownKey)
        );
    }

    #[test]
    fn key_lists_parse_from_env_and_file_forms_and_name_no_secret_in_errors() {
        let secret = STANDARD.encode([9u8; 32]);
        let keys = parse_keys(&format!("new:{secret}, old:{secret}")).unwrap();
        assert_eq!(keys[0].id(), "new");
        assert_eq!(keys[1].id(), "old");
        let keys = parse_keys(&format!("# comment\nk1:{secret}\n\nk2:{secret}\n")).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(parse_keys("").unwrap_err(), KeyError::Empty);
        assert!(matches!(
            parse_keys("k1:c2hvcnQ="),
            Err(KeyError::TooShort { .. })
        ));
        assert_eq!(parse_keys("nocolon").unwrap_err(), KeyError::Syntax(1));
        assert_eq!(
            parse_keys(&format!("k:{secret},k:{secret}")).unwrap_err(),
            KeyError::Duplicate("k".into())
        );
        let debug = format!("{:?}", keys[0]);
        assert!(
            !debug.contains(&secret) && debug.contains("redacted"),
            "{debug}"
        );
    }
}

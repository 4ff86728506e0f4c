//! `[webhook]`: `POST /webhooks/<route>` from other systems (Alertmanager, GitHub …).
//!
//! Order: the route must declare `[webhook]` (else 404); every verification it declares must
//! pass — the TCP peer in `allow_from` (403), `Authorization: Bearer <secret>` against
//! `secret_env` (401), an HMAC-SHA256 of the raw body in `signature_header` against
//! `hmac_secret_env` (401); secrets are compared in constant time and read from the
//! environment at each request, so a rotated secret needs no restart. Then the body must be
//! JSON (400). The route fires with `body` (the JSON) and `headers` (lower-case names; the
//! authorization and signature headers left out) in its templates, its answer posted to the
//! declared channel. With `group_key`, the first body of a group creates the post and later
//! ones edit it (the post id is kept in the shared store for `group_ttl_secs`).
//!
//! Replays. With `delivery_id_header` (GitHub: `X-GitHub-Delivery`) each delivery id runs
//! once: it is claimed in the shared store (so across replicas) before the route runs, and a
//! second delivery with the same id is answered 200 `{"outcome": "already handled"}` with
//! nothing run (GitHub's "Redeliver" included: that is what it is for). A failed run gives
//! its id back, so a redelivery can retry. GitHub does not sign this header, so the body's
//! digest is claimed too: a captured delivery replayed under a new id is refused the same
//! way. Senders that can should also sign a timestamp (`timestamp_header`: the HMAC covers
//! `<timestamp>.<raw body>` and a time more than `timestamp_tolerance_secs` from now is
//! refused with 401). Use TLS between the sender and Switchboard either way.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::integrations::{Context, Delivery, Fired, WebhookTrigger, resolve_channel};
use crate::server::{AppError, AppState};

/// Why a request was refused before the route ran.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 401: the bearer secret or the signature is missing or wrong.
    Unauthorized(&'static str),
    /// 401: the signed timestamp is missing, malformed or outside the tolerance.
    Stale(String),
    /// 403: the source address is not allowed.
    Forbidden(String),
}

impl From<Refusal> for AppError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unauthorized(why) => AppError::Unauthorized(why),
            Refusal::Stale(why) => AppError::StaleRequest(why),
            Refusal::Forbidden(why) => AppError::Forbidden(why),
        }
    }
}

/// The signed timestamp's check: `Ok(Some(ts))` to prefix the signed bytes with.
fn signed_timestamp(
    trigger: &WebhookTrigger,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<String>, Refusal> {
    let Some(header) = &trigger.spec.timestamp_header else {
        return Ok(None);
    };
    let tolerance = trigger.spec.timestamp_tolerance_secs;
    let text = headers
        .get(header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    let at: i64 = text.parse().map_err(|_| {
        Refusal::Stale(format!(
            "the {header} header must hold the Unix time (seconds) the request was signed at"
        ))
    })?;
    if now.abs_diff(at) > tolerance {
        return Err(Refusal::Stale(format!(
            "the signed time in {header} is {} s from now, more than the {tolerance} s allowed: a replayed request, or a clock to fix",
            now.abs_diff(at)
        )));
    }
    Ok(Some(text.to_owned()))
}

/// Checks every verification `trigger` declares; `secret` reads an environment variable.
pub fn verify(
    trigger: &WebhookTrigger,
    headers: &HeaderMap,
    body: &[u8],
    peer: Option<IpAddr>,
    secret: impl Fn(&str) -> Option<String>,
) -> Result<(), Refusal> {
    if !trigger.allow.is_empty() {
        let Some(peer) = peer.map(|ip| ip.to_canonical()) else {
            return Err(Refusal::Forbidden("source address unknown".into()));
        };
        if !trigger.allow.iter().any(|net| net.contains(&peer)) {
            return Err(Refusal::Forbidden(format!(
                "source {peer} is not in allow_from"
            )));
        }
    }
    if let Some(var) = &trigger.spec.secret_env {
        let Some(expected) = secret(var) else {
            tracing::error!(var = %var, "the webhook's secret_env is not set; refusing every request");
            return Err(Refusal::Unauthorized("webhook secret not configured"));
        };
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Digests first, so the comparison's time says nothing about the secret's length.
        let same: bool = digest(given.trim().as_bytes())
            .ct_eq(&digest(expected.trim().as_bytes()))
            .into();
        if given.is_empty() || !same {
            return Err(Refusal::Unauthorized(
                "webhook bearer secret does not match",
            ));
        }
    }
    if let Some(var) = &trigger.spec.hmac_secret_env {
        let Some(key) = secret(var) else {
            tracing::error!(var = %var, "the webhook's hmac_secret_env is not set; refusing every request");
            return Err(Refusal::Unauthorized("webhook signing key not configured"));
        };
        let signature = headers
            .get(trigger.spec.signature_header.as_str())
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.trim()
                    .strip_prefix(trigger.spec.signature_prefix.as_str())
            })
            .and_then(decode_hex)
            .ok_or(Refusal::Unauthorized(
                "webhook signature missing or malformed",
            ))?;
        let timestamp = signed_timestamp(trigger, headers, chrono::Utc::now().timestamp())?;
        let mut mac = Hmac::<Sha256>::new_from_slice(key.trim().as_bytes())
            .map_err(|_| Refusal::Unauthorized("webhook signing key unusable"))?;
        if let Some(timestamp) = &timestamp {
            mac.update(timestamp.as_bytes());
            mac.update(b".");
        }
        mac.update(body);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&signature)
            .map_err(|_| Refusal::Unauthorized("webhook signature does not match"))?;
    }
    Ok(())
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    Sha256::digest(bytes).into()
}

/// Hex digits only: `u8::from_str_radix` alone also takes a sign (`+a` is 10), which would let
/// one signature be written several ways.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The request's headers as templates see them: lower-case names, secrets left out.
fn visible_headers(headers: &HeaderMap, trigger: &WebhookTrigger) -> Value {
    let hidden = trigger.spec.signature_header.to_ascii_lowercase();
    let map: Map<String, Value> = headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name != "authorization" && name != "cookie" && name != hidden
        })
        .filter_map(|(name, value)| {
            Some((
                name.as_str().to_owned(),
                Value::String(value.to_str().ok()?.to_owned()),
            ))
        })
        .collect();
    Value::Object(map)
}

/// Handles `POST /webhooks/<name>`: verifies, parses, fires; the JSON answer says what
/// happened (`{"outcome": "posted", "post_id": …}`).
pub async fn handle(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
    peer: Option<IpAddr>,
) -> Result<Value, AppError> {
    let routes = state.routes.current();
    let trigger = routes
        .get(name)
        .and_then(|r| r.webhook.clone())
        .ok_or(AppError::NotFound)?;
    if let Err(refusal) = verify(&trigger, headers, body, peer, |var| std::env::var(var).ok()) {
        crate::metrics::trigger("webhook", name, "refused");
        return Err(refusal.into());
    }
    let raw = body;
    let body: Value = serde_json::from_slice(raw)
        .map_err(|e| AppError::BadRequest(format!("the body is not JSON: {e}")))?;
    let Some(header) = &trigger.spec.delivery_id_header else {
        return deliver(state, name, &trigger, headers, body).await;
    };
    let id = headers
        .get(header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= 200)
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "the {header} header (a unique id per delivery, at most 200 characters) is missing"
            ))
        })?;
    // The id runs once, and so does the body: GitHub signs the body but not the id header,
    // so a captured delivery sent again with a new id is still a replay. GitHub's own
    // redeliveries keep their id, and two real events never have the same body.
    let keys = [
        state.store.key(
            "webhook-delivery",
            &format!("{name}:{}", crate::store::digest(id)),
        ),
        state.store.key(
            "webhook-body",
            &format!("{name}:{}", crate::store::digest(raw)),
        ),
    ];
    let ttl = Duration::from_secs(trigger.spec.delivery_id_ttl_secs.max(1));
    for (n, key) in keys.iter().enumerate() {
        let refusal = match state.store.claim_once(key, ttl).await {
            Ok(true) => continue,
            Ok(false) => {
                tracing::warn!(route = %name, delivery = %id, "a webhook delivery was sent again; already handled, nothing run");
                crate::metrics::trigger("webhook", name, "replayed");
                Ok(json!({
                    "outcome": "already handled",
                    "delivery": id,
                    "message": format!("delivery {id} was already handled (or its body was, under another id); nothing was run again"),
                }))
            }
            Err(e) => {
                tracing::error!(route = %name, error = %e, "cannot record the webhook delivery id; refusing it so it cannot run twice");
                Err(AppError::Unavailable(
                    "the shared store does not answer; deliver again shortly".to_owned(),
                ))
            }
        };
        give_back(state, name, &keys[..n]).await;
        return refusal;
    }
    let answer = deliver(state, name, &trigger, headers, body).await;
    if answer.is_err() {
        // Not run to the end: a redelivery may try again.
        give_back(state, name, &keys).await;
    }
    answer
}

/// Forgets a delivery's claimed records, so that it may come again.
async fn give_back(state: &AppState, name: &str, keys: &[String]) {
    for key in keys {
        if let Err(e) = state.store.forget(key).await {
            tracing::warn!(route = %name, error = %e, "cannot give a delivery's record back");
        }
    }
}

/// Fires `name` with a verified JSON `body` (`dev`'s `!webhook` comes here directly).
pub async fn deliver(
    state: &AppState,
    name: &str,
    trigger: &WebhookTrigger,
    headers: &HeaderMap,
    body: Value,
) -> Result<Value, AppError> {
    let route = super::declared(state, name).ok_or(AppError::NotFound)?;
    let mut context = Context {
        route: name.to_owned(),
        ..Context::default()
    };
    let team = super::team_of(state, trigger.spec.team.as_deref());
    match (&team, &trigger.spec.channel) {
        (Some(team), Some(channel)) => match resolve_channel(&state.client, team, channel).await {
            Ok((team, channel)) => {
                context.team = team;
                context.channel = channel;
            }
            Err(e) => {
                tracing::error!(route = %name, %team, %channel, error = %e, "the webhook's channel cannot be found");
                crate::metrics::trigger("webhook", name, "failed");
                return Err(AppError::Internal(format!(
                    "channel `{channel}` in team `{team}` cannot be found"
                )));
            }
        },
        (Some(team), None) => context.team.name.clone_from(team),
        _ => {}
    }
    let context = context
        .with_result("body", body)
        .with_result("headers", visible_headers(headers, trigger));

    let group = match &trigger.group_key {
        Some(template) => match template.render(&context) {
            Ok(key) if !key.trim().is_empty() => Some(state.store.key(
                "webhook-group",
                &format!("{name}:{}", crate::store::digest(key.trim())),
            )),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(route = %name, error = %e, "group_key did not render; posting anew");
                None
            }
        },
        None => None,
    };
    let replace = match &group {
        Some(key) => state.store.cache_get(key).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the group's post cannot be looked up; posting anew");
            None
        }),
        None => None,
    };
    let delivery = Delivery {
        replace,
        ..Delivery::default()
    };
    let cx = state.cx(name, String::new());
    let fired = route.fire(&cx, context, &delivery).await;
    let (outcome, post_id) = match &fired {
        Fired::Posted(id) => ("posted", Some(id.clone())),
        Fired::Edited(id) => ("edited", Some(id.clone())),
        Fired::Refused(_) => ("refused", None),
        Fired::Failed(_) => ("failed", None),
        _ => ("nothing", None),
    };
    crate::metrics::trigger("webhook", name, outcome);
    if let (Some(key), Some(id)) = (&group, &post_id) {
        let ttl = Duration::from_secs(trigger.spec.group_ttl_secs.max(1));
        if let Err(e) = state.store.cache_put(key, id, ttl).await {
            tracing::warn!(error = %e, "the group's post id could not be kept; the next body posts anew");
        }
    }
    if let Fired::Failed(why) = fired {
        return Err(AppError::Internal(why));
    }
    Ok(json!({ "outcome": outcome, "post_id": post_id }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn trigger(toml_text: &str) -> WebhookTrigger {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("w.toml"),
            format!("[webhook]\n{toml_text}\nchannel = \"c\"\n[reply]\ntext = \"x\"\n"),
        )
        .unwrap();
        let routes = crate::integrations::load_dir(dir.path()).unwrap();
        routes.get("w").unwrap().webhook.clone().unwrap()
    }

    fn sign(key: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(body);
        let bytes = mac.finalize().into_bytes();
        format!(
            "sha256={}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }

    #[test]
    fn a_github_signature_is_checked_over_the_raw_body() {
        let t = trigger("hmac_secret_env = \"GH_SECRET\"");
        let env = |_: &str| Some("It's a Secret to Everybody".to_owned());
        let body = b"Hello, World!";
        let mut headers = HeaderMap::new();
        // GitHub's documented test vector for this secret and body.
        let documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign("It's a Secret to Everybody", body), documented);
        headers.insert("x-hub-signature-256", documented.parse().unwrap());
        assert_eq!(verify(&t, &headers, body, None, env), Ok(()));
        assert!(matches!(
            verify(&t, &headers, b"Hello, World?", None, env),
            Err(Refusal::Unauthorized(_))
        ));
        headers.insert("x-hub-signature-256", "sha256=zz".parse().unwrap());
        assert!(verify(&t, &headers, body, None, env).is_err());
        // The same bytes with the byte 0e written `+e` (14 to `from_str_radix`): not hex.
        let signed = documented.replacen("ea0eb2", "ea+eb2", 1);
        assert_ne!(signed, documented);
        headers.insert("x-hub-signature-256", signed.parse().unwrap());
        assert!(matches!(
            verify(&t, &headers, body, None, env),
            Err(Refusal::Unauthorized(
                "webhook signature missing or malformed"
            ))
        ));
        headers.remove("x-hub-signature-256");
        assert!(verify(&t, &headers, body, None, env).is_err());
        // An unset secret refuses everything.
        let mut headers = HeaderMap::new();
        headers.insert("x-hub-signature-256", documented.parse().unwrap());
        assert!(verify(&t, &headers, body, None, |_: &str| None).is_err());
    }

    #[test]
    fn a_bearer_secret_and_an_allow_list_are_both_enforced() {
        let t = trigger("secret_env = \"AM_TOKEN\"\nallow_from = [\"10.1.0.0/16\"]");
        let env = |_: &str| Some("s3cret".to_owned());
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer s3cret".parse().unwrap());
        let inside: IpAddr = "10.1.2.3".parse().unwrap();
        let outside: IpAddr = "10.2.0.1".parse().unwrap();
        assert_eq!(verify(&t, &headers, b"{}", Some(inside), env), Ok(()));
        // An IPv4 peer seen on a dual-stack socket.
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(verify(&t, &headers, b"{}", Some(mapped), env), Ok(()));
        assert!(matches!(
            verify(&t, &headers, b"{}", Some(outside), env),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            verify(&t, &headers, b"{}", None, env),
            Err(Refusal::Forbidden(_))
        ));
        headers.insert("authorization", "Bearer s3cre".parse().unwrap());
        assert!(matches!(
            verify(&t, &headers, b"{}", Some(inside), env),
            Err(Refusal::Unauthorized(_))
        ));
    }

    #[test]
    fn a_signed_timestamp_is_covered_by_the_signature_and_must_be_recent() {
        let t = trigger(
            "hmac_secret_env = \"K\"\nsignature_header = \"X-Signature\"\nsignature_prefix = \"\"\ntimestamp_header = \"X-Timestamp\"\ntimestamp_tolerance_secs = 60",
        );
        let env = |_: &str| Some("key".to_owned());
        let body = br#"{"a": 1}"#;
        let now = chrono::Utc::now().timestamp();
        let signed = |at: i64| {
            let mut signed = format!("{at}.").into_bytes();
            signed.extend_from_slice(body);
            let mut headers = HeaderMap::new();
            headers.insert("x-timestamp", at.to_string().parse().unwrap());
            let signature = sign("key", &signed);
            headers.insert(
                "x-signature",
                signature.trim_start_matches("sha256=").parse().unwrap(),
            );
            headers
        };
        assert_eq!(verify(&t, &signed(now), body, None, env), Ok(()));
        assert_eq!(verify(&t, &signed(now + 30), body, None, env), Ok(()));
        // Too old (a replay) or too far ahead: refused, saying why.
        let Err(Refusal::Stale(why)) = verify(&t, &signed(now - 600), body, None, env) else {
            panic!("a stale time passed");
        };
        assert!(why.contains("more than the 60 s allowed"), "{why}");
        assert!(matches!(
            verify(&t, &signed(now + 600), body, None, env),
            Err(Refusal::Stale(_))
        ));
        // A fresh time put on an old signature: the signature does not match.
        let mut moved = signed(now - 600);
        moved.insert("x-timestamp", now.to_string().parse().unwrap());
        assert_eq!(
            verify(&t, &moved, body, None, env),
            Err(Refusal::Unauthorized("webhook signature does not match"))
        );
        // No time at all, or not a number.
        let mut missing = signed(now);
        missing.remove("x-timestamp");
        assert!(matches!(
            verify(&t, &missing, body, None, env),
            Err(Refusal::Stale(_))
        ));
        missing.insert("x-timestamp", "yesterday".parse().unwrap());
        assert!(matches!(
            verify(&t, &missing, body, None, env),
            Err(Refusal::Stale(_))
        ));
    }

    #[test]
    fn check_refuses_a_timestamp_without_a_signature_and_odd_tolerances() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("w.toml"),
            "[webhook]\nsecret_env = \"T\"\ntimestamp_header = \"X-Timestamp\"\ntimestamp_tolerance_secs = 0\nchannel = \"c\"\n[reply]\ntext = \"x\"\n",
        )
        .unwrap();
        let error = format!(
            "{:?}",
            crate::integrations::load_dir(dir.path()).unwrap_err()
        );
        assert!(
            error.contains("a signed timestamp needs `hmac_secret_env`"),
            "{error}"
        );
        assert!(
            error.contains("0 is not between 1 and 3600 seconds"),
            "{error}"
        );
    }
}

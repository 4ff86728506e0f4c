//! The harness functions behind every fuzz target. Each takes arbitrary bytes, must never
//! panic, and asserts the invariants the server relies on. The targets in `fuzz_targets/`
//! are one line each, so the same functions can run under any driver.

use std::sync::OnceLock;

use switchboard::protocol::{
    DialogSubmissionRequest, OutgoingWebhookRequest, PostActionRequest, SlashCommandRequest,
    split_text,
};
use switchboard::signing::{Claims, Expect, Purpose, Signer, SigningKey};

/// Slash-command form / query parsing: no panic; a parsed request has its required fields
/// (the token is checked by verification, not parsing) and never shows its token in `Debug`.
pub fn slash_command(data: &[u8]) {
    if let Ok(r) = SlashCommandRequest::from_form(data) {
        assert!(!r.team_id.is_empty() && !r.user_id.is_empty());
        let mut other = r.clone();
        other.token = "something else".into();
        assert_eq!(
            format!("{r:?}"),
            format!("{other:?}"),
            "Debug shows the token"
        );
    }
}

/// Outgoing-hook parsing in both encodings: no panic; timestamps normalised to ms.
pub fn outgoing_hook(data: &[u8]) {
    if let Ok(r) = OutgoingWebhookRequest::from_form(data) {
        assert_eq!(
            r.timestamp_ms % 1000,
            0,
            "form timestamps are whole seconds"
        );
        assert!(r.file_ids.iter().all(|f| !f.is_empty() && !f.contains(',')));
    }
    if let Ok(r) = OutgoingWebhookRequest::from_json(data) {
        let json = serde_json::to_value(&r).expect("serialisable");
        assert!(json.get("token").is_none(), "token serialised");
    }
}

/// Dialog-submission parsing: no panic; values read as text without panicking.
pub fn dialog_submission(data: &[u8]) {
    if let Ok(r) = DialogSubmissionRequest::from_json(data) {
        for name in r.submission.keys() {
            let _ = r.value(name);
            let _ = r.flag(name);
        }
    }
}

/// Action parsing: no panic.
pub fn action(data: &[u8]) {
    if let Ok(r) = PostActionRequest::from_json(data) {
        let _ = r.selected_option();
    }
}

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        Signer::new(vec![
            SigningKey::new("k2", vec![2; 32]).expect("valid key"),
            SigningKey::new("k1", vec![1; 32]).expect("valid key"),
        ])
        .expect("valid signer")
    })
}

/// Signature verification on arbitrary tokens never panics and never accepts a token that
/// was not signed; a token signed over arbitrary data verifies, and flipping any byte of it
/// makes verification fail.
pub fn verify_signature(data: &[u8]) {
    let signer = signer();
    let expect = Expect {
        purpose: Purpose::Dialog,
        route: "r",
        user_id: "u",
        channel_id: "c",
        now: 0,
    };
    if let Ok(text) = std::str::from_utf8(data) {
        // Arbitrary input must not verify (a forgery would need the key).
        assert!(
            signer.verify(text, expect).is_err(),
            "forged token accepted: {text:?}"
        );
    }
    let payload = String::from_utf8_lossy(data).into_owned();
    let claims = Claims::new(Purpose::Dialog, "r", &payload, i64::MAX)
        .user("u")
        .channel("c")
        .data(serde_json::Value::String(payload.clone()));
    let token = signer.sign(&claims);
    let back = signer.verify(&token, expect).expect("own token verifies");
    assert_eq!(back.step, payload);
    if let Some(&first) = data.first() {
        let mut bytes = token.into_bytes();
        let i = usize::from(first) % bytes.len();
        bytes[i] ^= 0x01;
        if let Ok(tampered) = String::from_utf8(bytes) {
            assert!(
                signer.verify(&tampered, expect).is_err(),
                "tampered token accepted"
            );
        }
    }
}

/// Splitting long text: no panic, nothing lost, every chunk within the limit.
pub fn split(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let max = 1 + data.first().map_or(0, |&b| usize::from(b) % 64);
    let chunks = split_text(&text, max);
    assert!(chunks.iter().all(|c| c.chars().count() <= max));
    let joined: String = chunks.concat();
    let stripped: String = text.chars().filter(|&c| c != '\n').collect();
    let joined_stripped: String = joined.chars().filter(|&c| c != '\n').collect();
    assert_eq!(stripped, joined_stripped, "characters lost or added");
}

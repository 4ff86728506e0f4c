//! The triggers beyond slash commands and outgoing hooks, compiled and checked at load time:
//! [`WebhookTrigger`] (`[webhook]`), [`ScheduleTrigger`] (`[schedule]`) and
//! [`MessageTrigger`] (`[message]`). Each `check_*` returns every problem as
//! `(key, message)`, which the loader turns into `file:line` reports.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use regex::Regex;
use serde_json::Value;

use super::spec::{MessageSpec, ScheduleSpec, WebhookSpec};
use super::template::Template;

/// A compiled `[webhook]`.
#[derive(Debug, Clone)]
pub struct WebhookTrigger {
    /// The declaration.
    pub spec: WebhookSpec,
    /// `allow_from`, parsed.
    pub allow: Vec<IpNet>,
    /// `group_key`, compiled.
    pub group_key: Option<Template>,
    /// The `sample` body, read at load time.
    pub sample: Option<Value>,
}

/// Every problem of a `[webhook]`, as `(key, message)`; the trigger when there is none.
pub(super) fn check_webhook(
    route: &str,
    spec: &WebhookSpec,
    base: &Path,
) -> Result<WebhookTrigger, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    if spec.secret_env.is_none() && spec.hmac_secret_env.is_none() && spec.allow_from.is_empty() {
        problems.push((
            "secret_env",
            "a webhook needs a verification: `secret_env` (bearer secret), `hmac_secret_env` \
             (HMAC-SHA256 signature) and/or `allow_from` (source addresses)"
                .to_owned(),
        ));
    }
    for (key, var) in [
        ("secret_env", &spec.secret_env),
        ("hmac_secret_env", &spec.hmac_secret_env),
    ] {
        if let Some(var) = var {
            if !is_env_name(var) {
                problems.push((
                    key,
                    format!("`{var}` is not an environment variable name (A-Z, 0-9, _)"),
                ));
            }
        }
    }
    for (key, header) in [
        ("signature_header", Some(&spec.signature_header)),
        ("delivery_id_header", spec.delivery_id_header.as_ref()),
        ("timestamp_header", spec.timestamp_header.as_ref()),
    ] {
        if let Some(header) = header
            && http::HeaderName::from_bytes(header.as_bytes()).is_err()
        {
            problems.push((key, format!("`{header}` is not a header name")));
        }
    }
    if spec.timestamp_header.is_some() && spec.hmac_secret_env.is_none() {
        problems.push((
            "timestamp_header",
            "a signed timestamp needs `hmac_secret_env` (the signature covers it)".to_owned(),
        ));
    }
    if spec.timestamp_header.is_some() && !(1..=3600).contains(&spec.timestamp_tolerance_secs) {
        problems.push((
            "timestamp_tolerance_secs",
            format!(
                "{} is not between 1 and 3600 seconds",
                spec.timestamp_tolerance_secs
            ),
        ));
    }
    if spec.delivery_id_header.is_some() && spec.delivery_id_ttl_secs == 0 {
        problems.push(("delivery_id_ttl_secs", "must be greater than 0".to_owned()));
    }
    let mut allow = Vec::new();
    for entry in &spec.allow_from {
        match parse_net(entry) {
            Some(net) => allow.push(net),
            None => problems.push((
                "allow_from",
                format!("`{entry}` is not an address or network (e.g. `10.0.0.0/8`, `::1`)"),
            )),
        }
    }
    let group_key = match spec.group_key.as_deref() {
        Some(source) => match Template::compile(&format!("{route}.webhook.group_key"), source) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(("group_key", format!("template: {}", e.message)));
                None
            }
        },
        None => None,
    };
    let sample = match &spec.sample {
        Some(file) => {
            let path = base.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => match serde_json::from_str::<Value>(&text) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        problems.push(("sample", format!("{}: not JSON: {e}", path.display())));
                        None
                    }
                },
                Err(e) => {
                    problems.push(("sample", format!("{}: {e}", path.display())));
                    None
                }
            }
        }
        None => None,
    };
    if problems.is_empty() {
        Ok(WebhookTrigger {
            spec: spec.clone(),
            allow,
            group_key,
            sample,
        })
    } else {
        Err(problems)
    }
}

fn parse_net(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    IpNet::from_str(entry)
        .ok()
        .or_else(|| std::net::IpAddr::from_str(entry).ok().map(IpNet::from))
}

/// Whether `name` is a portable environment variable name.
pub(super) fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// When a schedule fires.
#[derive(Debug, Clone)]
pub enum When {
    /// A cron expression in a time zone.
    Cron(Box<croner::Cron>, chrono_tz::Tz),
    /// A fixed interval, aligned on multiples of it since the Unix epoch (so every replica
    /// computes the same tick times).
    Every(Duration),
}

impl When {
    /// The first tick strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            When::Cron(cron, tz) => cron
                .find_next_occurrence(&after.with_timezone(tz), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            When::Every(every) => {
                let every_ms = i64::try_from(every.as_millis()).ok()?.max(1);
                let now_ms = after.timestamp_millis();
                let next = (now_ms.div_euclid(every_ms) + 1) * every_ms;
                DateTime::from_timestamp_millis(next)
            }
        }
    }
}

/// A compiled `[schedule]`.
#[derive(Debug, Clone)]
pub struct ScheduleTrigger {
    /// The declaration.
    pub spec: ScheduleSpec,
    /// When it fires.
    pub when: When,
}

/// Every problem of a `[schedule]`, as `(key, message)`; the trigger when there is none.
pub(super) fn check_schedule(
    spec: &ScheduleSpec,
) -> Result<ScheduleTrigger, Vec<(&'static str, String)>> {
    let tz = match chrono_tz::Tz::from_str(&spec.timezone) {
        Ok(tz) => Some(tz),
        Err(_) => {
            return Err(vec![(
                "timezone",
                format!(
                    "`{}` is not an IANA time zone (e.g. `UTC`, `Europe/Berlin`)",
                    spec.timezone
                ),
            )]);
        }
    };
    let when = match (&spec.cron, spec.every_secs) {
        (Some(_), Some(_)) => {
            return Err(vec![(
                "every_secs",
                "give `cron` or `every_secs`, not both".to_owned(),
            )]);
        }
        (None, None) => {
            return Err(vec![(
                "cron",
                "a schedule needs `cron` (e.g. \"0 9 * * MON-FRI\") or `every_secs`".to_owned(),
            )]);
        }
        (None, Some(0)) => return Err(vec![("every_secs", "at least 1".to_owned())]),
        (None, Some(secs)) => When::Every(Duration::from_secs(secs)),
        (Some(expr), None) => {
            // Five fields, or six with seconds first (croner's default parser).
            match croner::Cron::from_str(expr) {
                Ok(cron) => When::Cron(Box::new(cron), tz.unwrap_or(chrono_tz::UTC)),
                Err(e) => return Err(vec![("cron", format!("`{expr}`: {e}"))]),
            }
        }
    };
    if spec.channel.trim().is_empty() {
        return Err(vec![("channel", "the channel to post in".to_owned())]);
    }
    Ok(ScheduleTrigger {
        spec: spec.clone(),
        when,
    })
}

/// A compiled `[message]`.
#[derive(Debug, Clone)]
pub struct MessageTrigger {
    /// The declaration.
    pub spec: MessageSpec,
    /// `pattern`, compiled.
    pub pattern: Option<Regex>,
}

impl MessageTrigger {
    /// Whether `text` holds a trigger word (or there are none): a word of the text, as
    /// written or without the punctuation around it (`deploy,` is `deploy`; `!deploy` is
    /// `!deploy` and `deploy`), equal to one ignoring case.
    pub fn has_trigger_word(&self, text: &str) -> bool {
        self.spec.trigger_words.is_empty()
            || text.split_whitespace().any(|word| {
                let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
                self.spec.trigger_words.iter().any(|t| {
                    let t = t.to_lowercase();
                    word.to_lowercase() == t || bare.to_lowercase() == t
                })
            })
    }
}

/// Every problem of a `[message]`, as `(key, message)`; the trigger when there is none.
pub(super) fn check_message(
    spec: &MessageSpec,
) -> Result<MessageTrigger, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    if spec.trigger_words.iter().any(|w| w.trim().is_empty()) {
        problems.push(("trigger_words", "a trigger word is empty".to_owned()));
    } else if spec
        .trigger_words
        .iter()
        .any(|w| w.chars().any(char::is_whitespace))
    {
        // Posts are matched word by word: a phrase would never match (as for `[hook]`).
        problems.push((
            "trigger_words",
            "trigger words are single words (match a phrase with `pattern`)".to_owned(),
        ));
    }
    if spec.trigger_words.is_empty() && spec.pattern.is_none() && !spec.mentioned {
        problems.push((
            "trigger_words",
            "a message route needs `trigger_words`, a `pattern` or `mentioned = true` \
             (else it answers every message)"
                .to_owned(),
        ));
    }
    let pattern = match &spec.pattern {
        // Same semantics as `[hook] pattern`: the `regex` crate's syntax.
        Some(p) => match Regex::new(p) {
            Ok(r) => Some(r),
            Err(e) => {
                problems.push(("pattern", format!("not a valid regular expression: {e}")));
                None
            }
        },
        None => None,
    };
    if problems.is_empty() {
        Ok(MessageTrigger {
            spec: spec.clone(),
            pattern,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn schedule(toml_text: &str) -> Result<ScheduleTrigger, Vec<(&'static str, String)>> {
        check_schedule(&toml::from_str(toml_text).unwrap())
    }

    #[test]
    fn a_cron_tick_is_computed_in_its_time_zone() {
        let s = schedule("cron = \"0 9 * * *\"\ntimezone = \"Europe/Berlin\"\nchannel = \"c\"")
            .unwrap();
        let after = DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let next = s.when.next_after(after).unwrap();
        // 09:00 in Berlin in winter is 08:00 UTC, the next day.
        assert_eq!(next.to_rfc3339(), "2026-01-11T08:00:00+00:00");
    }

    #[test]
    fn an_interval_ticks_on_multiples_since_the_epoch() {
        let s = schedule("every_secs = 60\nchannel = \"c\"").unwrap();
        let after = DateTime::from_timestamp(120 + 7, 0).unwrap();
        assert_eq!(s.when.next_after(after).unwrap().timestamp(), 180);
    }

    #[test]
    fn bad_schedules_are_refused_with_their_key() {
        let e = schedule("cron = \"61 * * * *\"\nchannel = \"c\"").unwrap_err();
        assert_eq!(e[0].0, "cron");
        let e = schedule("cron = \"* * * * *\"\ntimezone = \"Mars/Olympus\"\nchannel = \"c\"")
            .unwrap_err();
        assert_eq!(e[0].0, "timezone");
        let e = schedule("channel = \"c\"").unwrap_err();
        assert_eq!(e[0].0, "cron");
    }

    #[test]
    fn a_webhook_without_verification_or_with_a_bad_network_is_refused() {
        let spec: WebhookSpec = toml::from_str("channel = \"c\"").unwrap();
        let e = check_webhook("r", &spec, Path::new(".")).unwrap_err();
        assert_eq!(e[0].0, "secret_env");
        let spec: WebhookSpec = toml::from_str("allow_from = [\"10.0.0.0/33\"]").unwrap();
        let e = check_webhook("r", &spec, Path::new(".")).unwrap_err();
        assert_eq!(e[0].0, "allow_from");
        let spec: WebhookSpec =
            toml::from_str("allow_from = [\"10.0.0.0/8\", \"::1\"]\nsecret_env = \"X_Y\"").unwrap();
        assert_eq!(
            check_webhook("r", &spec, Path::new("."))
                .unwrap()
                .allow
                .len(),
            2
        );
    }

    #[test]
    fn trigger_words_match_whole_words_case_insensitively() {
        let t = check_message(&toml::from_str("trigger_words = [\"deploy\"]").unwrap()).unwrap();
        assert!(t.has_trigger_word("please Deploy, now"));
        assert!(!t.has_trigger_word("redeployment"));
        // A trigger word with punctuation of its own matches as written.
        let t = check_message(&toml::from_str("trigger_words = [\"!Deploy\", \"état\"]").unwrap())
            .unwrap();
        assert!(t.has_trigger_word("!deploy staging"));
        assert!(t.has_trigger_word("ÉTAT?"));
        assert!(!t.has_trigger_word("deploy staging"));
    }

    /// Posts are matched word by word, so a phrase as a trigger word could never match.
    #[test]
    fn a_message_trigger_word_with_a_space_is_refused() {
        let e = check_message(&toml::from_str("trigger_words = [\"good morning\"]").unwrap())
            .unwrap_err();
        assert_eq!(e[0].0, "trigger_words");
        assert!(e[0].1.contains("single words"), "{e:?}");
    }
}

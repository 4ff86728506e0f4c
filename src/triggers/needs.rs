//! What each trigger needs, for `plan` (one line per route) and `doctor` (checked against
//! the server and the environment).

use std::time::Duration;

use futures::StreamExt;

use crate::config::Settings;
use crate::integrations::RouteSet;
use crate::mattermost::Client;
use crate::mattermost::websocket::{WebSocketOptions, WsEventKind, WsItem};
use crate::reconcile::doctor::{Finding, Status};

/// One line per `[webhook]`, `[schedule]` and `[message]` route saying what it needs.
pub fn describe(routes: &RouteSet, settings: &Settings) -> Vec<String> {
    let base = settings.server.public_url.as_str().trim_end_matches('/');
    let team = |t: &Option<String>| {
        t.clone()
            .or_else(|| {
                settings
                    .mattermost
                    .teams
                    .iter()
                    .find(|t| *t != "*")
                    .cloned()
            })
            .unwrap_or_else(|| "(no team)".to_owned())
    };
    let mut lines = Vec::new();
    let coordination = &settings.coordination;
    let mode = coordination.mode.effective(settings.store.url.is_some());
    for route in routes.iter() {
        if let Some(w) = &route.webhook {
            let mut needs: Vec<String> = [&w.spec.secret_env, &w.spec.hmac_secret_env]
                .into_iter()
                .flatten()
                .map(|v| format!("${v} set"))
                .collect();
            if !w.spec.allow_from.is_empty() {
                needs.push(format!("senders from {}", w.spec.allow_from.join(", ")));
            }
            if let Some(channel) = &w.spec.channel {
                needs.push(format!(
                    "the bot posting in ~{channel} of {}",
                    team(&w.spec.team)
                ));
            }
            lines.push(format!(
                "webhook  {}: POST {base}/webhooks/{}; needs {}",
                route.name,
                route.name,
                needs.join(", ")
            ));
        }
        if let Some(s) = &route.schedule {
            let when = match (&s.spec.cron, s.spec.every_secs) {
                (Some(cron), _) => format!("cron `{cron}` in {}", s.spec.timezone),
                (None, Some(secs)) => format!("every {secs} s"),
                (None, None) => String::new(),
            };
            lines.push(format!(
                "schedule {}: {when}; needs the bot posting in ~{} of {}, and (coordination {mode}) {}",
                route.name,
                s.spec.channel,
                team(&s.spec.team),
                mode.needs(coordination)
            ));
        }
        if let Some(m) = &route.message {
            let wher = if m.spec.channels.is_empty() {
                "every channel the bot is a member of, and its direct messages".to_owned()
            } else {
                format!("the bot as a member of ~{}", m.spec.channels.join(", ~"))
            };
            lines.push(format!(
                "message  {}: needs WebSocket access, {wher}, and (coordination {mode}) {}",
                route.name,
                mode.needs(coordination)
            ));
        }
    }
    lines
}

/// Doctor's findings for the triggers: secrets in the environment, channels the bot can post
/// in, the WebSocket event stream, and whether replicas would answer once.
pub async fn doctor(client: &Client, settings: &Settings, routes: &RouteSet) -> Vec<Finding> {
    let mut findings = Vec::new();
    let finding = |check, status, message: String, fix: Option<&str>| Finding {
        check,
        status,
        message,
        fix: fix.map(str::to_owned),
    };
    let default_team = settings
        .mattermost
        .teams
        .iter()
        .find(|t| *t != "*")
        .cloned();
    for route in routes.iter() {
        let mut channels = Vec::new();
        if let Some(w) = &route.webhook {
            for var in [&w.spec.secret_env, &w.spec.hmac_secret_env]
                .into_iter()
                .flatten()
            {
                if std::env::var_os(var).is_some() {
                    findings.push(finding(
                        "webhook secret",
                        Status::Ok,
                        format!("{}: ${var} is set", route.name),
                        None,
                    ));
                } else {
                    // A warning: the server runs, only this route refuses its senders.
                    findings.push(finding(
                        "webhook secret",
                        Status::Warn,
                        format!(
                            "{}: ${var} is not set; every request would be refused",
                            route.name
                        ),
                        Some("set it to the secret the sender uses (never in a committed file)"),
                    ));
                }
            }
            if let Some(c) = &w.spec.channel {
                channels.push((w.spec.team.clone(), c.clone()));
            }
        }
        if let Some(s) = &route.schedule {
            channels.push((s.spec.team.clone(), s.spec.channel.clone()));
        }
        if let Some(m) = &route.message {
            channels.extend(m.spec.channels.iter().map(|c| (None, c.clone())));
        }
        for (team, channel) in channels {
            let Some(team) = team.or_else(|| default_team.clone()) else {
                continue;
            };
            let found = crate::integrations::resolve_channel(client, &team, &channel).await;
            findings.push(match found {
                Ok(_) => finding(
                    "trigger channel",
                    Status::Ok,
                    format!("{}: the bot sees ~{channel} in {team}", route.name),
                    None,
                ),
                Err(e) => finding(
                    "trigger channel",
                    Status::Fail,
                    format!("{}: the bot cannot see ~{channel} in {team}: {e}", route.name),
                    Some("add the bot to the channel (and the team), or fix the route's channel/team"),
                ),
            });
        }
    }
    let listens = routes.iter().any(|r| r.message.is_some());
    if listens {
        findings.push(websocket(client).await);
    }
    if listens || routes.iter().any(|r| r.schedule.is_some()) {
        findings.push(coordination(settings).await);
    }
    findings
}

/// Whether replicas would handle each tick and message once, and in lease mode whether the
/// service account may read the Lease.
async fn coordination(settings: &Settings) -> Finding {
    use crate::coordination::{Mode, kube};
    const CHECK: &str = "schedules and messages";
    let coordination = &settings.coordination;
    let mode = coordination.mode.effective(settings.store.url.is_some());
    let needs = mode.needs(coordination);
    let finding = |status, message: String, fix: Option<String>| Finding {
        check: CHECK,
        status,
        message,
        fix,
    };
    match mode {
        Mode::Store => finding(
            Status::Ok,
            format!("coordination store: each tick and message is claimed in {needs}"),
            None,
        ),
        Mode::Single | Mode::Auto => finding(
            if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
                Status::Warn
            } else {
                Status::Ok
            },
            "single replica: with several, each would post every tick and answer every message"
                .to_owned(),
            Some("with more than one replica, set [store] url (Redis) or run in Kubernetes with deploy/kubernetes/rbac.yaml (a Lease)".to_owned()),
        ),
        Mode::Lease => {
            let rbac = "apply deploy/kubernetes/rbac.yaml (a Role with get, create and update on \
                        leases.coordination.k8s.io, bound to the pods' service account) and \
                        set serviceAccountName and automountServiceAccountToken: true";
            let api = match kube::InCluster::from_environment() {
                Ok(api) => api,
                Err(e) => {
                    return finding(
                        Status::Fail,
                        format!("coordination lease: the service account cannot be used: {e}"),
                        Some(rbac.to_owned()),
                    );
                }
            };
            let lease = format!("{}/{}", api.namespace(), coordination.lease_name);
            match api.get_lease(&coordination.lease_name).await {
                Ok(found) => {
                    let holder = found
                        .and_then(|l| l.spec.holder_identity)
                        .filter(|h| !h.is_empty())
                        .map_or_else(|| "no leader yet".to_owned(), |h| format!("led by {h}"));
                    finding(
                        Status::Ok,
                        format!(
                            "coordination lease: the Lease {lease} is readable ({holder}); the \
                             leader handles each tick and message. Needs: {needs}"
                        ),
                        None,
                    )
                }
                Err(e @ kube::KubeError::Forbidden { .. }) => finding(
                    Status::Fail,
                    format!("coordination lease: {e}"),
                    Some(rbac.to_owned()),
                ),
                Err(e) => finding(
                    Status::Fail,
                    format!("coordination lease: the Lease {lease} cannot be read: {e}"),
                    Some("let the pods reach the Kubernetes API server".to_owned()),
                ),
            }
        }
    }
}

/// Whether the event stream opens and says hello within 5 s.
async fn websocket(client: &Client) -> Finding {
    let mut events = client.events(WebSocketOptions {
        connect_timeout: Duration::from_secs(5),
        ..WebSocketOptions::default()
    });
    let hello = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(item) = events.next().await {
            match item {
                WsItem::Event(e) if e.kind() == WsEventKind::Hello => return Ok(()),
                WsItem::Disconnected { reason, .. } | WsItem::Unauthorized { reason } => {
                    return Err(reason);
                }
                _ => {}
            }
        }
        Err("the stream ended".to_owned())
    })
    .await;
    events.close().await;
    match hello {
        Ok(Ok(())) => Finding {
            check: "WebSocket",
            status: Status::Ok,
            message: "the event stream opens ([message] routes)".to_owned(),
            fix: None,
        },
        Ok(Err(reason)) => Finding {
            check: "WebSocket",
            status: Status::Fail,
            message: format!("the event stream does not open: {reason}"),
            fix: Some(
                "let WebSocket upgrades through to /api/v4/websocket (proxy, Ingress)".to_owned(),
            ),
        },
        Err(_) => Finding {
            check: "WebSocket",
            status: Status::Fail,
            message: "no hello on the event stream within 5 s".to_owned(),
            fix: Some(
                "let WebSocket upgrades through to /api/v4/websocket (proxy, Ingress)".to_owned(),
            ),
        },
    }
}

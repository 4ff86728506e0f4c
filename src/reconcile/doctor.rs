//! `switchboard doctor`: checks the setup the way users most often get it wrong, and says how
//! to fix each problem. Read-only: it never writes to Mattermost.
//!
//! Checks, in order (later ones are skipped when an earlier one makes them meaningless):
//! Mattermost reachable at the configured URL (and really Mattermost) → the bot token accepted →
//! the client configuration the bot can read (`GET /config/client?format=old`: `Version`,
//! `SiteURL`, `EnableCommands`, `EnableOutgoingWebhooks`, `EnablePostUsernameOverride`,
//! `EnablePostIconOverride`) → the bot a member of every configured team → permission to list
//! the team's slash commands → the public URL: not loopback/private (or else a reminder of
//! `AllowedUntrustedInternalConnections`), and reachable from here. First of all, the signing
//! keys, with no network (missing keys fail when a route hands out dialogs or buttons, as
//! `serve` refuses to start then), and the shared store: in-process is right for one replica
//! only; a configured Redis must answer.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::config::Settings;
use crate::integrations::RouteSet;
use crate::mattermost::{Client, RetryPolicy};

use super::actual::TeamRef;
use super::error::ReconcileError;

/// The oldest Mattermost version Switchboard supports: bot accounts (which own the commands)
/// arrived in 5.10. Every feature a declared route can use is older: custom slash commands,
/// outgoing webhooks and message buttons, and interactive dialogs ("Minimum server version:
/// 5.6" in the official API spec). So meeting this version means no route lacks a feature.
pub const MIN_VERSION: (u32, u32) = (5, 10);

/// The integration features the routes use, with the version that introduced each when it is
/// newer than the 5.0 line (from the official API spec), for doctor's version finding.
fn features_used(routes: &RouteSet) -> Vec<&'static str> {
    let mut features = Vec::new();
    if routes.iter().any(|r| r.command.is_some()) {
        features.push("slash commands");
    }
    if routes.iter().any(|r| r.hook.is_some()) {
        features.push("outgoing webhooks");
    }
    let dialogs = routes.iter().any(|r| {
        std::iter::once(&r.action)
            .chain(r.actions.values())
            .any(|a| matches!(a, crate::integrations::Action::Dialog(_)))
    });
    if dialogs {
        features.push("interactive dialogs (5.6+)");
    }
    features.push("bot accounts (5.10+)");
    features
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but something users usually want is off.
    Warn,
    /// Switchboard cannot work like this.
    Fail,
    /// Not checked because an earlier check failed.
    Skipped,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was checked.
    pub check: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// How to fix it, when not OK.
    pub fix: Option<String>,
}

impl Finding {
    fn ok(check: &'static str, message: impl Into<String>) -> Self {
        Finding {
            check,
            status: Status::Ok,
            message: message.into(),
            fix: None,
        }
    }

    fn bad(
        check: &'static str,
        status: Status,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            check,
            status,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    fn skipped(check: &'static str, why: &str) -> Self {
        Finding {
            check,
            status: Status::Skipped,
            message: format!("not checked: {why}"),
            fix: None,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.status {
            Status::Ok => "ok  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skipped => "skip",
        };
        writeln!(f, "[{mark}] {}: {}", self.check, self.message)?;
        if let Some(fix) = &self.fix {
            writeln!(f, "       fix: {fix}")?;
        }
        Ok(())
    }
}

/// Runs every check. `routes` is `None` when the route files did not load (reported by the
/// caller); checks that need them are then skipped.
pub async fn run(settings: &Settings, routes: Option<&RouteSet>) -> Vec<Finding> {
    let mut findings = vec![check_signing(settings, routes), check_store(settings).await];
    let url = settings.mattermost.url.as_str().trim_end_matches('/');
    let token = match settings.mattermost.token() {
        Ok(token) => token,
        Err(e) => {
            findings.push(Finding::bad(
                "bot token",
                Status::Fail,
                e.to_string(),
                "set SWITCHBOARD_MATTERMOST__TOKEN to the bot's access token",
            ));
            return findings;
        }
    };
    // Doctor answers quickly: no retries, short timeouts.
    let client = match Client::builder(url)
        .secret_token(token)
        .retry_policy(RetryPolicy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            findings.push(Finding::bad(
                "Mattermost URL",
                Status::Fail,
                e.to_string(),
                "set mattermost.url to the address users open in their browser, e.g. https://chat.example.com",
            ));
            return findings;
        }
    };

    // 1. Reachable, and Mattermost.
    match client.system().ping().await {
        Ok(body) if body.get("status").is_some() => {
            findings.push(Finding::ok("Mattermost URL", format!("{url} answers")));
        }
        Ok(_) => {
            findings.push(Finding::bad(
                "Mattermost URL",
                Status::Fail,
                format!("{url}/api/v4/system/ping answered, but not as Mattermost does"),
                "mattermost.url must be the server's base URL, without /api/v4",
            ));
            return findings;
        }
        Err(e) => {
            let (message, fix) = if e.is_unreachable() {
                (
                    format!("cannot reach {url}: {e}"),
                    "check mattermost.url (scheme, host, port) and that Mattermost runs and is reachable from here (DNS, firewall, proxy)",
                )
            } else {
                (
                    format!("{url} does not answer like Mattermost: {e}"),
                    "mattermost.url must be the server's base URL, without /api/v4",
                )
            };
            findings.push(Finding::bad("Mattermost URL", Status::Fail, message, fix));
            return findings;
        }
    }

    // 2. The token.
    let me = match client.users().me().await {
        Ok(me) => me,
        Err(e) => {
            let fix = if e.is_unauthorized() {
                "the token is wrong, revoked, or its bot is disabled: create a new token under System Console › Integrations › Bot Accounts and set SWITCHBOARD_MATTERMOST__TOKEN"
            } else {
                "see the error; Mattermost must answer GET /api/v4/users/me"
            };
            findings.push(Finding::bad(
                "bot token",
                Status::Fail,
                format!("Mattermost refused the token: {e}"),
                fix,
            ));
            return findings;
        }
    };
    if me.is_bot {
        findings.push(Finding::ok(
            "bot token",
            format!("accepted for bot @{}", me.username),
        ));
    } else {
        findings.push(Finding::bad(
            "bot token",
            Status::Warn,
            format!("accepted, but @{} is a person, not a bot account", me.username),
            "use a bot account (System Console › Integrations › Bot Accounts), so commands survive when people leave",
        ));
    }

    // 3. What the client configuration says.
    match client.system().client_config().await {
        Ok(config) => check_config(&config, routes, &mut findings),
        Err(e) => findings.push(Finding::bad(
            "server settings",
            Status::Warn,
            format!("cannot read GET /config/client: {e}"),
            "doctor cannot check EnableCommands, SiteURL and the override settings",
        )),
    }

    // 4. Teams and permission.
    check_teams(&client, settings, &me.id, &mut findings).await;

    // 5. The public URL.
    check_public_url(settings, &mut findings).await;

    // 6. Webhooks, schedules and messages.
    if let Some(routes) = routes {
        findings.extend(crate::triggers::needs::doctor(&client, settings, routes).await);
    }
    findings
}

/// Signing keys: present and valid, or not needed by any route.
fn check_signing(settings: &Settings, routes: Option<&RouteSet>) -> Finding {
    const CHECK: &str = "signing keys";
    const FIX: &str = "set SWITCHBOARD_SIGNING__KEYS=\"k1:$(openssl rand -base64 32)\" (or signing.keys_file); every replica needs the same keys";
    match settings.signing.signer() {
        Ok(Some(signer)) => Finding::ok(
            CHECK,
            format!("configured; key `{}` signs", signer.signing_key_id()),
        ),
        Err(e) => Finding::bad(CHECK, Status::Fail, e.to_string(), FIX),
        Ok(None) => {
            let needing = routes.map(RouteSet::needing_signing).unwrap_or_default();
            if needing.is_empty() {
                Finding::bad(
                    CHECK,
                    Status::Warn,
                    "none configured; no route hands out dialogs or buttons yet, and `serve` \
                     will refuse a reload that adds one",
                    FIX,
                )
            } else {
                Finding::bad(
                    CHECK,
                    Status::Fail,
                    format!(
                        "none configured, but routes {} hand out dialogs or buttons: `serve` \
                         refuses to start",
                        needing.join(", ")
                    ),
                    FIX,
                )
            }
        }
    }
}

fn check_config(
    config: &HashMap<String, String>,
    routes: Option<&RouteSet>,
    findings: &mut Vec<Finding>,
) {
    let flag = |key: &str| config.get(key).map(|v| v == "true");
    let version = config.get("Version").cloned().unwrap_or_default();
    match parse_version(&version) {
        Some(v) if v < MIN_VERSION => findings.push(Finding::bad(
            "server version",
            Status::Fail,
            format!("Mattermost {version}"),
            format!(
                "upgrade Mattermost to {}.{} or later (bot accounts)",
                MIN_VERSION.0, MIN_VERSION.1
            ),
        )),
        Some(v)
            if routes.is_some_and(|r| !crate::integrations::versions::unmet(r, v).is_empty()) =>
        {
            for need in routes
                .map(|r| crate::integrations::versions::unmet(r, v))
                .unwrap_or_default()
            {
                let (major, minor) = need.feature.since();
                findings.push(Finding::bad(
                    "server version",
                    Status::Warn,
                    format!(
                        "Mattermost {version}: route `{}` uses {}, which needs {major}.{minor} or later",
                        need.route,
                        need.feature.name()
                    ),
                    format!("upgrade Mattermost to {major}.{minor} or later, or change route `{}`", need.route),
                ));
            }
        }
        Some(_) => findings.push(Finding::ok(
            "server version",
            match routes {
                Some(routes) => format!(
                    "Mattermost {version}: has every feature the routes use ({})",
                    features_used(routes).join(", ")
                ),
                None => format!("Mattermost {version}"),
            },
        )),
        None => findings.push(Finding::bad(
            "server version",
            Status::Warn,
            format!("unknown version `{version}`"),
            "doctor cannot compare features with the server version",
        )),
    }
    match config.get("SiteURL").map(String::as_str) {
        Some("") | None => findings.push(Finding::bad(
            "SiteURL",
            Status::Fail,
            "SiteURL is empty",
            "set System Console › Environment › Web Server › Site URL: recent Mattermost versions refuse to run slash commands without it, and response_url links are built from it",
        )),
        Some(site) => findings.push(Finding::ok("SiteURL", site.to_owned())),
    }
    match flag("EnableCommands") {
        Some(false) => findings.push(Finding::bad(
            "custom slash commands",
            Status::Fail,
            "disabled on the server (EnableCommands = false)",
            "enable System Console › Integrations › Integration Management › Enable Custom Slash Commands",
        )),
        Some(true) => findings.push(Finding::ok("custom slash commands", "enabled")),
        None => {}
    }
    if flag("EnableOutgoingWebhooks") == Some(false) {
        findings.push(Finding::bad(
            "outgoing webhooks",
            Status::Warn,
            "disabled on the server (EnableOutgoingWebhooks = false)",
            "routes with outgoing webhooks need System Console › Integrations › Integration Management › Enable Outgoing Webhooks",
        ));
    }
    let Some(routes) = routes else {
        findings.push(Finding::skipped(
            "post overrides",
            "the route files did not load",
        ));
        return;
    };
    let uses = |pick: fn(&crate::integrations::CommandSpec) -> &str| -> Vec<String> {
        routes
            .commands()
            .filter(|(_, spec)| !pick(spec).is_empty())
            .map(|(r, _)| r.name.clone())
            .collect()
    };
    for (key, what, users) in [
        (
            "EnablePostUsernameOverride",
            "username",
            uses(|c| c.username.as_str()),
        ),
        (
            "EnablePostIconOverride",
            "icon_url",
            uses(|c| c.icon_url.as_str()),
        ),
    ] {
        if !users.is_empty() && flag(key) == Some(false) {
            findings.push(Finding::bad(
                "post overrides",
                Status::Warn,
                format!(
                    "routes {} set `{what}`, but {key} is off: Mattermost silently ignores it",
                    users.join(", ")
                ),
                format!(
                    "enable System Console › Integrations › Integration Management › {}",
                    match key {
                        "EnablePostUsernameOverride" => "Enable integrations to override usernames",
                        _ => "Enable integrations to override profile picture icons",
                    }
                ),
            ));
        }
    }
}

async fn check_teams(
    client: &Client,
    settings: &Settings,
    me: &crate::mattermost::UserId,
    findings: &mut Vec<Finding>,
) {
    let member_of = match client.teams().for_user(Some(me)).await {
        Ok(teams) => teams,
        Err(e) => {
            findings.push(Finding::bad(
                "teams",
                Status::Fail,
                format!("cannot list the bot's teams: {e}"),
                "see the error",
            ));
            return;
        }
    };
    let wanted: Vec<&str> = if settings.mattermost.all_teams() {
        member_of.iter().map(|t| t.name.as_str()).collect()
    } else {
        settings
            .mattermost
            .teams
            .iter()
            .map(String::as_str)
            .collect()
    };
    if wanted.is_empty() {
        findings.push(Finding::bad(
            "teams",
            Status::Fail,
            "no team to register in",
            "set mattermost.teams (SWITCHBOARD_MATTERMOST__TEAMS), or add the bot to a team when using \"*\"",
        ));
        return;
    }
    for name in wanted {
        let Some(team) = member_of.iter().find(|t| t.name == name) else {
            findings.push(Finding::bad(
                "teams",
                Status::Fail,
                format!("the bot is not a member of team `{name}` (or it does not exist)"),
                format!("add the bot to `{name}` (team menu › Add Members, or `mmctl team users add {name} <bot>`); mattermost.teams takes URL names, not display names"),
            ));
            continue;
        };
        let team = TeamRef::from(team);
        match super::actual::list_commands(client, &team).await {
            Ok(_) => findings.push(Finding::ok(
                "teams",
                format!("member of `{name}`, may manage its slash commands"),
            )),
            Err(e @ (ReconcileError::Forbidden { .. } | ReconcileError::Disabled { .. })) => {
                let text = e.to_string();
                let (message, fix) = text.split_once(": ").unwrap_or((&text, ""));
                findings.push(Finding::bad("teams", Status::Fail, message, fix));
            }
            Err(e) => findings.push(Finding::bad(
                "teams",
                Status::Fail,
                format!("cannot list the slash commands of `{name}`: {e}"),
                "see the error",
            )),
        }
    }
}

/// The shared store: needed with more than one replica; when configured, it must answer.
async fn check_store(settings: &Settings) -> Finding {
    const CHECK: &str = "shared store";
    let store = match crate::store::Store::from_settings(&settings.store) {
        Ok(store) => store,
        Err(e) => {
            return Finding::bad(
                CHECK,
                Status::Fail,
                e.to_string(),
                "set store.url (SWITCHBOARD_STORE__URL) to redis://HOST:6379/DB, or unset it for one replica",
            );
        }
    };
    if !store.is_shared() {
        let message = "in-process: right for one replica; replicas would each allow a replayed dialog and their own exec limits";
        let fix = "with more than one replica, set [store] url = \"redis://HOST:6379/0\" (password in SWITCHBOARD_STORE__PASSWORD)";
        // In a cluster, more than one replica is the usual case.
        return if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            Finding::bad(CHECK, Status::Warn, message, fix)
        } else {
            Finding::ok(CHECK, format!("{message}; {fix}"))
        };
    }
    match tokio::time::timeout(Duration::from_secs(5), store.ping()).await {
        Ok(Ok(())) => Finding::ok(
            CHECK,
            format!(
                "{} answers; replicas share state through it",
                store.describe()
            ),
        ),
        Ok(Err(e)) => Finding::bad(
            CHECK,
            Status::Fail,
            format!("{}: {e}", store.describe()),
            "check store.url (host, port, database) and the password (SWITCHBOARD_STORE__PASSWORD), and that Redis is reachable from here",
        ),
        Err(_) => Finding::bad(
            CHECK,
            Status::Fail,
            format!("{} did not answer within 5 s", store.describe()),
            "check store.url and that Redis is reachable from here (firewall, NetworkPolicy)",
        ),
    }
}

async fn check_public_url(settings: &Settings, findings: &mut Vec<Finding>) {
    let public = &settings.server.public_url;
    let host = public.host_str().unwrap_or_default();
    let private = match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => is_internal(ip),
        Err(_) => host == "localhost" || host.ends_with(".localhost") || !host.contains('.'),
    };
    if private {
        findings.push(Finding::bad(
            "public URL",
            Status::Warn,
            format!("{public} points at a loopback, private or local-only address"),
            format!(
                "Mattermost refuses to call such addresses unless they are listed in ServiceSettings.AllowedUntrustedInternalConnections (System Console › Environment › Developer › Allow untrusted internal connections to): add `{host}` there, or set server.public_url to an address Mattermost reaches"
            ),
        ));
    }
    let health = settings.server.public_url_for("/healthz");
    let answered = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(http) => http.get(&health).send().await.map(|r| r.status()),
        Err(e) => {
            findings.push(Finding::bad(
                "public URL",
                Status::Warn,
                format!("cannot build an HTTP client: {e}"),
                "",
            ));
            return;
        }
    };
    match answered {
        Ok(status) if status.is_success() => findings.push(Finding::ok(
            "public URL",
            format!("{health} answers {status}"),
        )),
        Ok(status) => findings.push(Finding::bad(
            "public URL",
            Status::Warn,
            format!("{health} answers {status}: something other than Switchboard is there"),
            "server.public_url must be where Mattermost reaches this Switchboard (check the reverse proxy's path and host)",
        )),
        Err(e) => findings.push(Finding::bad(
            "public URL",
            Status::Warn,
            format!("{health} is not reachable from here: {}", e.without_url()),
            "start `switchboard serve` first, and check server.public_url, DNS and the reverse proxy; Mattermost must reach this URL too",
        )),
    }
}

/// Loopback, private, link-local, CGNAT, unique-local and unspecified addresses: those
/// Mattermost calls only when allowed by `AllowedUntrustedInternalConnections`.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// `major.minor` of a version such as `10.11.0`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Whether any finding is a failure.
pub fn has_failures(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.status == Status::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "100.64.0.1",
            "::1",
            "fd00::1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "100.128.0.1", "2001:4860::8888"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn versions_parse_to_major_minor() {
        assert_eq!(parse_version("10.11.0"), Some((10, 11)));
        assert_eq!(parse_version("5.9.1"), Some((5, 9)));
        assert!(parse_version("5.9.1") < Some(MIN_VERSION));
        assert_eq!(parse_version("dev"), None);
    }
}

//! Settings: defaults in code, then `config.toml`, then `SWITCHBOARD_*` environment variables.
//!
//! Environment variables use `__` for nesting: `SWITCHBOARD_SERVER__LISTEN=127.0.0.1:9000`
//! overrides `[server] listen`. These names are a compatibility promise: operators keep them in
//! environment files across versions.
//!
//! Secrets (the bot token) are held as [`SecretString`]: never printed by `Debug`, never
//! serialised. They come from the environment or from a file named by `*_file`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use url::Url;

mod error;
pub use error::ConfigError;
use error::render_figment_error;

/// The defaults, as TOML, so the layering is the same for every source.
pub const DEFAULTS: &str = r#"
[server]
listen = "127.0.0.1:3000"
public_url = "http://127.0.0.1:3000"
request_timeout_secs = 30
body_limit_bytes = 262144
shutdown_grace_secs = 20
header_read_timeout_secs = 10
idle_timeout_secs = 60
max_connections = 512

[mattermost]
url = "http://127.0.0.1:8065"
teams = []

[routes]
dir = "routes"
reload_poll_ms = 1000

[log]
format = "text"
filter = "info"
access = true

[signing]
dialog_ttl_secs = 3600
action_ttl_secs = 2592000

[callbacks]
budget_ms = 2500
ack_text = "Working on it…"
action_inline_ms = 20000

[metrics]
enabled = true
path = "/metrics"
"#;

/// Every setting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[server]`: the HTTP listener Mattermost calls back.
    pub server: ServerSettings,
    /// `[mattermost]`: the server Switchboard registers with and calls.
    pub mattermost: MattermostSettings,
    /// `[routes]`: where the integrations are declared.
    pub routes: RoutesSettings,
    /// `[log]`: log format and filter.
    pub log: LogSettings,
    /// `[signing]`: keys that sign dialog state and action context.
    pub signing: SigningSettings,
    /// `[callbacks]`: deadlines and deferred replies.
    pub callbacks: CallbacksSettings,
    /// `[metrics]`: the Prometheus scrape endpoint.
    pub metrics: MetricsSettings,
    /// `[store]`: what replicas share (unset: in-process, for one replica).
    #[serde(default)]
    pub store: crate::store::StoreSettings,
    /// `[http]`: what routes' `http` actions may reach.
    #[serde(default)]
    pub http: HttpSettings,
    /// `[coordination]`: how replicas handle each tick and message once.
    #[serde(default)]
    pub coordination: crate::coordination::CoordinationSettings,
}

/// `[http]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Hosts (`name` or `name:port`) every route's `http` action is limited to; empty: no
    /// limit beyond each route's own `allowed_hosts`.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind, e.g. `0.0.0.0:3000`.
    pub listen: SocketAddr,
    /// Base URL at which Mattermost reaches Switchboard; callback URLs are built from it.
    #[serde(deserialize_with = "http_url")]
    pub public_url: Url,
    /// Longest time one callback may take before the server answers 408.
    pub request_timeout_secs: u64,
    /// Largest accepted request body, in bytes (larger → 413).
    pub body_limit_bytes: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace_secs: u64,
    /// How long a client may take to send a request's head (from its first byte, or from
    /// opening the connection); then the connection is closed.
    pub header_read_timeout_secs: u64,
    /// How long a kept-alive connection may wait, silent, for its next request.
    pub idle_timeout_secs: u64,
    /// Most connections open at once; beyond it new ones wait and idle ones are closed.
    pub max_connections: usize,
}

impl ServerSettings {
    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The shutdown grace period as a duration.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// The public URL of a path on this server (`path` starts with `/`).
    pub fn public_url_for(&self, path: &str) -> String {
        format!("{}{}", self.public_url.as_str().trim_end_matches('/'), path)
    }
}

/// `[mattermost]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MattermostSettings {
    /// The Mattermost server, e.g. `https://chat.example.com`.
    #[serde(deserialize_with = "http_url")]
    pub url: Url,
    /// The bot's access token; normally from `SWITCHBOARD_MATTERMOST__TOKEN`.
    #[serde(default)]
    pub token: Option<SecretString>,
    /// A file holding the token (e.g. a mounted Kubernetes secret).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Team names to register in; `["*"]` means every team the bot belongs to. In the
    /// environment: a comma-separated list or a TOML array.
    #[serde(deserialize_with = "string_list")]
    pub teams: Vec<String>,
    /// The oldest Mattermost version (`"11.10"`) the routes must work with: `switchboard
    /// check` refuses a dialog feature newer than it (e.g. `file` elements need 11.10).
    /// Unset: every feature is accepted and `serve`/`doctor` warn against the real server.
    #[serde(default)]
    pub min_version: Option<String>,
}

impl fmt::Debug for MattermostSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MattermostSettings")
            .field("url", &self.url.as_str())
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("token_file", &self.token_file)
            .field("teams", &self.teams)
            .field("min_version", &self.min_version)
            .finish()
    }
}

impl MattermostSettings {
    /// The bot token, from `token` or else `token_file`.
    pub fn token(&self) -> Result<SecretString, ConfigError> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        let Some(path) = &self.token_file else {
            return Err(ConfigError::Missing {
                setting: "mattermost.token",
                hint: "set SWITCHBOARD_MATTERMOST__TOKEN, or mattermost.token_file \
                       (SWITCHBOARD_MATTERMOST__TOKEN_FILE) to a file holding the bot token",
            });
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::TokenFile {
            path: path.clone(),
            source,
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(ConfigError::Invalid {
                setting: "mattermost.token_file",
                message: format!("{} is empty", path.display()),
            });
        }
        Ok(SecretString::from(token.to_owned()))
    }

    /// Whether every team the bot belongs to is meant.
    pub fn all_teams(&self) -> bool {
        self.teams.iter().any(|t| t == "*")
    }
}

/// `[routes]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesSettings {
    /// Directory of `*.toml` route files, relative to the working directory.
    pub dir: PathBuf,
    /// How often the directory is checked for changes, in milliseconds (0: only on SIGHUP).
    pub reload_poll_ms: u64,
}

impl RoutesSettings {
    /// The polling interval for hot reload (zero: SIGHUP only).
    pub fn reload_poll(&self) -> Duration {
        Duration::from_millis(self.reload_poll_ms)
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` (human readable) or `json` (one object per line).
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `switchboard=debug,hyper=info`; `RUST_LOG`
    /// wins when set.
    pub filter: String,
    /// One "callback answered" line per callback (status, outcome, latency, route and
    /// caller), at `info`.
    pub access: bool,
}

/// `[metrics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Whether metrics are recorded and served at all.
    pub enabled: bool,
    /// Path of the scrape endpoint, e.g. `/metrics`.
    pub path: String,
    /// A separate address to serve metrics on (e.g. `127.0.0.1:9100`), keeping them off the
    /// listener Mattermost reaches; when absent they are served on `[server] listen`.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[signing]`: the keys that sign dialog state and action context (see [`crate::signing`]).
///
/// Keys are `kid:BASE64SECRET` entries: comma-separated in `keys` (normally the environment
/// variable `SWITCHBOARD_SIGNING__KEYS`), or one per line in the file named by `keys_file`
/// (`SWITCHBOARD_SIGNING__KEYS_FILE`). The first key signs, all verify.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningSettings {
    /// `kid:BASE64SECRET[,kid:BASE64SECRET…]`.
    #[serde(default)]
    pub keys: Option<SecretString>,
    /// A file of `kid:BASE64SECRET` lines (e.g. a mounted Kubernetes secret).
    #[serde(default)]
    pub keys_file: Option<PathBuf>,
    /// How long an opened dialog can be submitted.
    pub dialog_ttl_secs: u64,
    /// How long a posted button or menu can be used.
    pub action_ttl_secs: u64,
}

impl fmt::Debug for SigningSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningSettings")
            .field("keys", &self.keys.as_ref().map(|_| "[redacted]"))
            .field("keys_file", &self.keys_file)
            .field("dialog_ttl_secs", &self.dialog_ttl_secs)
            .field("action_ttl_secs", &self.action_ttl_secs)
            .finish()
    }
}

impl SigningSettings {
    /// The configured signer: keys from `keys`, then from `keys_file` (both may be given; ids
    /// must differ). `None` when neither is set.
    pub fn signer(&self) -> Result<Option<crate::signing::Signer>, ConfigError> {
        use secrecy::ExposeSecret as _;
        let mut text = String::new();
        if let Some(keys) = &self.keys {
            text.push_str(keys.expose_secret());
            text.push('\n');
        }
        if let Some(path) = &self.keys_file {
            let file = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
                setting: "signing.keys_file",
                message: format!("cannot read {}: {e}", path.display()),
            })?;
            text.push_str(&file);
        }
        if self.keys.is_none() && self.keys_file.is_none() {
            return Ok(None);
        }
        let invalid = |e: crate::signing::KeyError| ConfigError::Invalid {
            setting: "signing.keys",
            message: e.to_string(),
        };
        let keys = crate::signing::parse_keys(&text).map_err(invalid)?;
        crate::signing::Signer::new(keys).map(Some).map_err(invalid)
    }

    /// The dialog state lifetime.
    pub fn dialog_ttl(&self) -> Duration {
        Duration::from_secs(self.dialog_ttl_secs)
    }

    /// The action context lifetime.
    pub fn action_ttl(&self) -> Duration {
        Duration::from_secs(self.action_ttl_secs)
    }
}

/// `[callbacks]`: how long a handler may take before the callback is acknowledged and the
/// answer delivered later.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbacksSettings {
    /// Budget for answering inline, in milliseconds (older Mattermost servers let a trigger id
    /// live 3 s, and everything waits at most 30 s).
    pub budget_ms: u64,
    /// The ephemeral acknowledgement sent when the budget runs out.
    pub ack_text: String,
    /// How long a button click on a post the bot did not write (so may not edit) is still
    /// answered inline, so Mattermost applies its `update` itself (capped below the request
    /// timeout).
    pub action_inline_ms: u64,
}

impl CallbacksSettings {
    /// The budget as a duration.
    pub fn budget(&self) -> Duration {
        Duration::from_millis(self.budget_ms)
    }
}

/// The settings that hold secrets, as dotted keys (each also has a `*_file` twin).
const SECRET_SETTINGS: [&str; 3] = ["mattermost.token", "signing.keys", "store.password"];

/// Secrets come from the environment or a file of their own, never from the configuration
/// file, which is committed or shipped in a ConfigMap: one set there is refused, by name.
fn secrets_not_in_a_file(figment: &Figment) -> Result<(), ConfigError> {
    for (setting, variable, file_setting) in [
        (
            "mattermost.token",
            "SWITCHBOARD_MATTERMOST__TOKEN",
            "mattermost.token_file",
        ),
        (
            "signing.keys",
            "SWITCHBOARD_SIGNING__KEYS",
            "signing.keys_file",
        ),
        (
            "store.password",
            "SWITCHBOARD_STORE__PASSWORD",
            "store.password_file",
        ),
    ] {
        let from_file = figment
            .find_metadata(setting)
            .and_then(|metadata| metadata.source.as_ref())
            .and_then(|source| source.file_path());
        if let Some(path) = from_file {
            return Err(ConfigError::Invalid {
                setting,
                message: format!(
                    "is set in {}; a secret comes only from the environment ({variable}) \
                     or from a file of its own ({file_setting}), never from the configuration file",
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

impl Settings {
    /// The layered figment: defaults, the TOML file (when it exists or is required), and
    /// `SWITCHBOARD_*` environment variables.
    ///
    /// Secrets are taken from their variables verbatim: figment reads every other variable as
    /// a TOML-like value, which would turn a numeric password into a number (`007` into `7`),
    /// refuse `[x]` or `true` as "not a string", and print the value in that error.
    pub fn figment(config_file: &Path) -> Figment {
        let env = Env::prefixed("SWITCHBOARD_").split("__");
        let mut figment = Figment::from(Toml::string(DEFAULTS))
            .merge(Toml::file(config_file))
            .merge(env.clone().ignore(&SECRET_SETTINGS));
        for (key, value) in env.only(&SECRET_SETTINGS).iter() {
            // Trimmed, as figment trims every other value (and `*_file` contents are trimmed):
            // a space or newline around a secret is a mistake of the env file.
            figment = figment.merge(Serialized::default(key.as_str(), value.trim()));
        }
        figment
    }

    /// Loads settings from `config_file` (which must exist when `required`) and the environment.
    pub fn load(config_file: &Path, required: bool) -> Result<Settings, ConfigError> {
        if required && !config_file.exists() {
            return Err(ConfigError::FileNotFound(config_file.to_path_buf()));
        }
        Self::from_figment(&Self::figment(config_file))
    }

    /// Extracts and validates settings from any figment (tests build their own).
    pub fn from_figment(figment: &Figment) -> Result<Settings, ConfigError> {
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Load(render_figment_error(e)))?;
        if settings.server.body_limit_bytes == 0 {
            return Err(ConfigError::Invalid {
                setting: "server.body_limit_bytes",
                message: "must be greater than 0".into(),
            });
        }
        if settings.callbacks.budget_ms == 0 {
            return Err(ConfigError::Invalid {
                setting: "callbacks.budget_ms",
                message: "must be greater than 0".into(),
            });
        }
        secrets_not_in_a_file(figment)?;
        if settings.mattermost.token.is_some() && settings.mattermost.token_file.is_some() {
            return Err(ConfigError::Invalid {
                setting: "mattermost.token_file",
                message: "is set together with mattermost.token (SWITCHBOARD_MATTERMOST__TOKEN); \
                          set one of them, so that the token used is the one you meant"
                    .into(),
            });
        }
        // Unreadable or malformed keys are a startup error, not a surprise at the first click.
        settings.signing.signer()?;
        if let Some(problem) = settings.coordination.problems().into_iter().next() {
            return Err(ConfigError::Invalid {
                setting: "coordination",
                message: problem,
            });
        }
        for (setting, value) in [
            (
                "server.request_timeout_secs",
                settings.server.request_timeout_secs,
            ),
            (
                "server.header_read_timeout_secs",
                settings.server.header_read_timeout_secs,
            ),
            (
                "server.idle_timeout_secs",
                settings.server.idle_timeout_secs,
            ),
            (
                "server.max_connections",
                u64::try_from(settings.server.max_connections).unwrap_or(u64::MAX),
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    setting,
                    message: "must be greater than 0".into(),
                });
            }
        }
        let metrics_path = &settings.metrics.path;
        if !metrics_path.starts_with('/')
            || metrics_path.len() < 2
            || metrics_path.contains(['{', '}', '*', '?', '#'])
            || metrics_path.contains("//")
            || ["/healthz", "/readyz"].contains(&metrics_path.as_str())
            || metrics_path.starts_with("/commands/")
        {
            return Err(ConfigError::Invalid {
                setting: "metrics.path",
                message: format!(
                    "`{metrics_path}` must start with `/` and not be a health or callback path"
                ),
            });
        }
        Ok(settings)
    }
}

fn http_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let text = String::deserialize(d)?;
    let url = Url::parse(&text)
        .map_err(|e| serde::de::Error::custom(format!("`{text}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(serde::de::Error::custom(format!(
            "`{text}` must be an http:// or https:// URL with a host"
        )));
    }
    Ok(url)
}

/// A list given as a TOML array or as one comma-separated string.
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<String>),
        Text(String),
    }
    let items = match Form::deserialize(d)? {
        Form::List(items) => items,
        Form::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

#[cfg(test)]
// `Jail::expect_with` closures return figment's own (large) error type; that is its API.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;
    use secrecy::ExposeSecret;

    #[test]
    fn environment_overrides_the_file_with_double_underscore_nesting() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "config.toml",
                "[server]\nlisten = \"127.0.0.1:4000\"\n[mattermost]\nurl = \"http://mm:8065\"\nteams = [\"a\"]\n",
            )?;
            jail.set_env("SWITCHBOARD_SERVER__LISTEN", "127.0.0.1:9000");
            jail.set_env("SWITCHBOARD_MATTERMOST__TEAMS", "main, ops");
            jail.set_env("SWITCHBOARD_MATTERMOST__TOKEN", "sekrit");
            let s = Settings::load(Path::new("config.toml"), true).map_err(|e| e.to_string())?;
            assert_eq!(s.server.listen.port(), 9000);
            assert_eq!(s.mattermost.teams, ["main", "ops"]);
            assert_eq!(
                s.mattermost
                    .token()
                    .map_err(|e| e.to_string())?
                    .expose_secret(),
                "sekrit"
            );
            assert!(
                !format!("{s:?}").contains("sekrit"),
                "Debug must not show the token"
            );
            Ok(())
        });
    }

    #[test]
    fn teams_may_be_a_toml_array_in_the_environment() {
        Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_MATTERMOST__TEAMS", "[\"main\",\"ops\"]");
            let s = Settings::load(Path::new("none.toml"), false).map_err(|e| e.to_string())?;
            assert_eq!(s.mattermost.teams, ["main", "ops"]);
            Ok(())
        });
    }

    #[test]
    fn a_malformed_value_names_the_setting_and_its_source() {
        Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_SERVER__LISTEN", "not-an-address");
            let err = Settings::load(Path::new("none.toml"), false)
                .unwrap_err()
                .to_string();
            assert!(err.contains("server.listen"), "{err}");
            assert!(err.contains("SWITCHBOARD_SERVER__LISTEN"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_in_the_file_is_refused() {
        Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[server]\nlisten_addr = \"127.0.0.1:1\"\n")?;
            let err = Settings::load(Path::new("c.toml"), true)
                .unwrap_err()
                .to_string();
            assert!(err.contains("listen_addr"), "{err}");
            assert!(
                err.contains("expected one of `listen`,") && !err.contains("`one of"),
                "backticks around each name, not around the list: {err}"
            );
            Ok(())
        });
    }

    #[test]
    fn the_token_can_come_from_a_file() {
        Jail::expect_with(|jail| {
            jail.create_file("token", "abc123\n")?;
            jail.set_env("SWITCHBOARD_MATTERMOST__TOKEN_FILE", "token");
            let s = Settings::load(Path::new("none.toml"), false).map_err(|e| e.to_string())?;
            assert_eq!(
                s.mattermost
                    .token()
                    .map_err(|e| e.to_string())?
                    .expose_secret(),
                "abc123"
            );
            Ok(())
        });
    }

    #[test]
    fn signing_keys_come_from_the_environment_and_from_a_file() {
        Jail::expect_with(|jail| {
            let a = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
            let b = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
            jail.set_env("SWITCHBOARD_SIGNING__KEYS", format!("new:{a},old:{b}"));
            let s = Settings::load(Path::new("none.toml"), false).map_err(|e| e.to_string())?;
            let signer = s.signing.signer().map_err(|e| e.to_string())?;
            assert_eq!(
                signer.map(|s| s.signing_key_id().to_owned()).as_deref(),
                Some("new")
            );
            assert!(!format!("{s:?}").contains(a), "secrets never in Debug");

            jail.create_file("keys", &format!("# rotated 2026-11\nfile1:{b}\n"))?;
            jail.set_env("SWITCHBOARD_SIGNING__KEYS_FILE", "keys");
            let s = Settings::load(Path::new("none.toml"), false).map_err(|e| e.to_string())?;
            let signer = s.signing.signer().map_err(|e| e.to_string())?;
            assert_eq!(
                signer.map(|s| format!("{s:?}")).unwrap_or_default(),
                "Signer { key_ids: [\"new\", \"old\", \"file1\"] }"
            );
            Ok(())
        });
    }

    #[test]
    fn a_malformed_signing_key_stops_loading_without_showing_the_secret() {
        Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_SIGNING__KEYS", "k1:c2hvcnRzZWNyZXQ=");
            let err = Settings::load(Path::new("none.toml"), false)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains("signing.keys") && err.contains("at least 32"),
                "{err}"
            );
            assert!(!err.contains("c2hvcnRzZWNyZXQ"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_from_the_environment_are_taken_verbatim() {
        Jail::expect_with(|jail| {
            // Each would be a number, a list or a boolean to figment's value parser.
            jail.set_env("SWITCHBOARD_MATTERMOST__TOKEN", " 007\n");
            jail.set_env("SWITCHBOARD_STORE__PASSWORD", "[true]");
            let s = Settings::load(Path::new("none.toml"), false).map_err(|e| e.to_string())?;
            let token = s.mattermost.token().map_err(|e| e.to_string())?;
            assert_eq!(token.expose_secret(), "007");
            let password = s
                .store
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned());
            assert_eq!(password.as_deref(), Some("[true]"));
            Ok(())
        });
    }

    #[test]
    fn a_missing_token_says_how_to_set_it() {
        Jail::expect_with(|_| {
            let s = Settings::load(Path::new("none.toml"), false).map_err(|e| e.to_string())?;
            let err = s.mattermost.token().unwrap_err().to_string();
            assert!(err.contains("SWITCHBOARD_MATTERMOST__TOKEN"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn metrics_default_to_the_main_listener_and_a_bad_path_is_refused() {
        Jail::expect_with(|jail| {
            let s = Settings::load(Path::new("none.toml"), false).map_err(|e| e.to_string())?;
            assert!(s.metrics.enabled);
            assert_eq!(s.metrics.path, "/metrics");
            assert_eq!(s.metrics.listen, None);
            jail.set_env("SWITCHBOARD_METRICS__LISTEN", "127.0.0.1:9100");
            let s = Settings::load(Path::new("none.toml"), false).map_err(|e| e.to_string())?;
            assert_eq!(s.metrics.listen, Some("127.0.0.1:9100".parse().unwrap()));
            for bad in ["metrics", "/healthz", "/commands/x", "/{x}", "/"] {
                jail.set_env("SWITCHBOARD_METRICS__PATH", bad);
                let err = Settings::load(Path::new("none.toml"), false)
                    .unwrap_err()
                    .to_string();
                assert!(err.contains("metrics.path"), "{bad}: {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn a_required_file_that_is_missing_is_reported() {
        let err = Settings::load(Path::new("/nonexistent/switchboard.toml"), true).unwrap_err();
        assert!(matches!(err, ConfigError::FileNotFound(_)));
    }
}

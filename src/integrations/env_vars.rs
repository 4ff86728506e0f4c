//! The environment variables routes read: secrets are named in route files, never written
//! there. `command.token_env`, `webhook.secret_env`, `webhook.hmac_secret_env`, and
//! `headers_from_env` of `[http]` actions and of dialog lookups.
//!
//! `check` warns about each one that is unset, and still passes: it runs where the secrets
//! are not (CI, an editor, a laptop) and "needs no Mattermost and no token". What happens
//! without the variable is said with the warning, from the place that reads it: `serve`
//! refuses to start without a `token_env` (`StartupError::StaticToken`), a webhook refuses
//! every sender, an `[http]` action or lookup fails at its request (`HttpError::MissingEnv`).

use std::fmt;
use std::path::PathBuf;

use super::locate::{KeyFinder, key_line};
use super::spec::{ActionSpec, RouteFile};
use super::{Route, RouteSet};

/// A variable a route reads that is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVariable {
    /// The route's file.
    pub file: PathBuf,
    /// The line of the key naming the variable, when found.
    pub line: Option<usize>,
    /// The route's name.
    pub route: String,
    /// The key naming the variable, e.g. `webhook.secret_env`.
    pub key: String,
    /// The variable.
    pub var: String,
    /// What happens while it is unset.
    pub effect: &'static str,
}

impl fmt::Display for UnsetVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(
            f,
            ": `{}`: route `{}` reads the environment variable {}, which is not set: {}",
            self.key, self.route, self.var, self.effect
        )
    }
}

/// Every variable the routes read that `is_set` says is not set, in route and file order.
pub fn unset_variables(routes: &RouteSet, is_set: impl Fn(&str) -> bool) -> Vec<UnsetVariable> {
    let mut unset = Vec::new();
    for route in routes.iter() {
        let keys = KeyFinder::new(&route.source);
        for (key, var, effect) in references(route) {
            if is_set(&var) {
                continue;
            }
            unset.push(UnsetVariable {
                file: route.file.clone(),
                line: key_line(&keys, &key),
                route: route.name.clone(),
                key,
                var,
                effect,
            });
        }
    }
    unset
}

/// The variables `route` reads, as (full key, variable, what happens without it).
fn references(route: &Route) -> Vec<(String, String, &'static str)> {
    // The declaration as written: the compiled route keeps these where each is used.
    let Ok(spec) = toml::from_str::<RouteFile>(&route.source) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    if let Some(var) = spec.command.as_ref().and_then(|c| c.token_env.clone()) {
        found.push((
            "command.token_env".to_owned(),
            var,
            "`serve` refuses to start without it (it holds the command's token)",
        ));
    }
    if let Some(webhook) = &spec.webhook {
        for (key, var) in [
            ("webhook.secret_env", &webhook.secret_env),
            ("webhook.hmac_secret_env", &webhook.hmac_secret_env),
        ] {
            if let Some(var) = var {
                found.push((
                    key.to_owned(),
                    var.clone(),
                    "every request to the webhook is refused",
                ));
            }
        }
    }
    let main = spec.main_action();
    let actions = std::iter::once((String::new(), &main)).chain(
        spec.actions
            .iter()
            .map(|(name, action)| (format!("actions.{name}."), action)),
    );
    for (prefix, action) in actions {
        action_references(&prefix, action, &mut found);
    }
    found
}

/// The variables one action reads (`prefix`: `""` or `actions.<name>.`).
fn action_references(
    prefix: &str,
    action: &ActionSpec,
    found: &mut Vec<(String, String, &'static str)>,
) {
    if let Some(http) = &action.http {
        for (header, var) in &http.headers_from_env {
            found.push((
                format!("{prefix}http.headers_from_env.{header}"),
                var.clone(),
                "the request fails and the user is told so",
            ));
        }
    }
    let elements = action.dialog.iter().flat_map(|d| d.elements.iter());
    for (i, element) in elements.enumerate() {
        let lookup = element.lookup.as_ref().and_then(|l| l.http.as_ref());
        for (header, var) in lookup.into_iter().flat_map(|h| &h.headers_from_env) {
            found.push((
                format!("{prefix}dialog.elements[{i}].lookup.http.headers_from_env.{header}"),
                var.clone(),
                "the lookup fails: the select offers nothing",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(files: &[(&str, &str)]) -> (tempfile::TempDir, RouteSet) {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        let set = super::super::load_dir(dir.path()).unwrap();
        (dir, set)
    }

    #[test]
    fn every_kind_of_reference_is_found_with_its_key_and_line() {
        let (_dir, set) = routes(&[
            (
                "hand.toml",
                "[command]\ntrigger = \"hand\"\ntoken_env = \"HAND_TOKEN\"\n[reply]\ntext = \"hi\"\n",
            ),
            (
                "hook.toml",
                "[webhook]\nchannel = \"c\"\nsecret_env = \"HOOK_SECRET\"\nhmac_secret_env = \"HOOK_HMAC\"\n[reply]\ntext = \"x\"\n",
            ),
            (
                "fwd.toml",
                "[command]\ntrigger = \"fwd\"\n[http]\nurl = \"http://svc/x\"\nheaders_from_env = { Authorization = \"FWD_AUTH\" }\n[http.reply]\ntext = \"ok\"\n",
            ),
            (
                "pick.toml",
                "[command]\ntrigger = \"pick\"\n[dialog]\ntitle = \"t\"\n[[dialog.elements]]\nname = \"s\"\ndisplay_name = \"S\"\ntype = \"select\"\ndata_source = \"dynamic\"\n[dialog.elements.lookup.http]\nurl = \"http://svc/q\"\nheaders_from_env = { \"X-Key\" = \"PICK_KEY\" }\n",
            ),
        ]);

        let unset: Vec<String> = unset_variables(&set, |var| var == "HOOK_HMAC")
            .iter()
            .map(ToString::to_string)
            .collect();

        let expected = [
            (
                "fwd.toml:5: `http.headers_from_env.Authorization`: route `fwd` reads the environment variable FWD_AUTH",
                "request fails",
            ),
            (
                "hand.toml:3: `command.token_env`: route `hand` reads the environment variable HAND_TOKEN",
                "`serve` refuses to start",
            ),
            (
                "hook.toml:3: `webhook.secret_env`: route `hook` reads the environment variable HOOK_SECRET",
                "refused",
            ),
            (
                "pick.toml:",
                "`dialog.elements[0].lookup.http.headers_from_env.X-Key`: route `pick` reads the environment variable PICK_KEY",
            ),
        ];
        assert_eq!(unset.len(), expected.len(), "{unset:#?}");
        for (line, (a, b)) in unset.iter().zip(expected) {
            assert!(line.contains(a) && line.contains(b), "{line}");
        }
    }

    #[test]
    fn nothing_is_reported_when_every_variable_is_set() {
        let (_dir, set) = routes(&[(
            "hand.toml",
            "[command]\ntrigger = \"hand\"\ntoken_env = \"HAND_TOKEN\"\n[reply]\ntext = \"hi\"\n",
        )]);
        assert_eq!(unset_variables(&set, |_| true), Vec::new());
    }
}

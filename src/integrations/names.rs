//! Names and ids of users, channels and teams: looked up through the API only when a route
//! needs them, and cached.
//!
//! - [`Needs`] says which names a route reads, from its templates (minijinja's own list of
//!   the variables a template reaches), its `[access]` lists and its `exec` actions (which
//!   hand every name to the program). A dialog submission carries
//!   ids only; its names are looked up only for a route that reads them. Slash commands,
//!   hooks and buttons carry names in their payload and are never looked up.
//! - [`Directory`] is the cache every run shares: bounded ([`CAPACITY`] entries), each entry
//!   trusted for [`TTL`] like the role cache, an unknown name for [`MISSING_TTL`] only (so a
//!   user created a moment ago is found soon). Concurrent misses for one key make one call.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::context::Who;
use crate::mattermost::{ChannelId, Client, TeamId, UserId};

/// How long a looked-up name is trusted.
const TTL: Duration = Duration::from_secs(60);
/// How long "no such user/channel" is trusted.
const MISSING_TTL: Duration = Duration::from_secs(5);
/// Entries kept at most (least recently used go first).
const CAPACITY: usize = 10_000;

/// Which names a route reads, so only those are looked up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// `user.name` (or the whole `user`).
    pub user_name: bool,
    /// `channel.name` (or the whole `channel`).
    pub channel_name: bool,
    /// `team.name` (or the whole `team`).
    pub team_name: bool,
    /// `post_props` (a button's post is fetched only then).
    pub post_props: bool,
}

impl Needs {
    /// Everything (when a route cannot be analysed).
    pub const ALL: Needs = Needs {
        user_name: true,
        channel_name: true,
        team_name: true,
        post_props: true,
    };

    /// What the route file `source` reads: every string in it that holds template syntax is
    /// compiled and asked for the variables it reaches (`user`, `user.name` …); `[access]`
    /// lists of users, teams or channels compare names. Conservative: a template reading the
    /// whole `user` needs its name, and a file that does not parse needs everything.
    pub fn of_route(source: &str) -> Needs {
        let Ok(file) = toml::from_str::<toml::Table>(source) else {
            return Needs::ALL;
        };
        let mut needs = Needs::default();
        let mut strings = Vec::new();
        file.values().for_each(|v| collect_strings(v, &mut strings));
        let env = minijinja::Environment::new();
        for text in strings {
            if !(text.contains("{{") || text.contains("{%")) {
                continue;
            }
            let Ok(template) = env.template_from_str(text) else {
                return Needs::ALL;
            };
            needs.add(&template.undeclared_variables(true));
        }
        // An exec run shows who started it and hands every name to the program
        // (`SWITCHBOARD_USER_NAME` …), whatever its templates read.
        let actions = file.get("actions").and_then(toml::Value::as_table);
        let execs = file.contains_key("exec")
            || actions.is_some_and(|a| {
                a.values()
                    .any(|action| action.as_table().is_some_and(|t| t.contains_key("exec")))
            });
        if execs {
            needs.user_name = true;
            needs.channel_name = true;
            needs.team_name = true;
        }
        if let Some(access) = file.get("access").and_then(toml::Value::as_table) {
            let listed = |key: &str| {
                access
                    .get(key)
                    .and_then(toml::Value::as_array)
                    .is_some_and(|list| !list.is_empty())
            };
            needs.user_name |= listed("users");
            needs.team_name |= listed("teams");
            needs.channel_name |= listed("channels");
        }
        needs
    }

    fn add(&mut self, variables: &HashSet<String>) {
        for variable in variables {
            let mut parts = variable.splitn(2, '.');
            let root = parts.next().unwrap_or_default();
            let name = matches!(parts.next(), None | Some("name"));
            match root {
                "user" => self.user_name |= name,
                "channel" => self.channel_name |= name,
                "team" => self.team_name |= name,
                "post_props" => self.post_props = true,
                _ => {}
            }
        }
    }
}

fn collect_strings<'a>(value: &'a toml::Value, out: &mut Vec<&'a str>) {
    match value {
        toml::Value::String(s) => out.push(s),
        toml::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        toml::Value::Table(table) => table.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// What a lookup is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Channel(String),
    Team(String),
    Username(String),
    ChannelName { team_id: String, name: String },
}

#[derive(Debug, Clone)]
struct Entry {
    at: Instant,
    /// `None`: Mattermost answered 404.
    found: Option<Who>,
}

impl Entry {
    fn fresh(&self) -> bool {
        let ttl = if self.found.is_some() {
            TTL
        } else {
            MISSING_TTL
        };
        self.at.elapsed() < ttl
    }
}

/// The shared name cache; see the module docs.
pub struct Directory {
    cache: quick_cache::sync::Cache<Key, Entry>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("entries", &self.cache.len())
            .finish()
    }
}

impl Default for Directory {
    fn default() -> Self {
        Directory::new(CAPACITY)
    }
}

impl Directory {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Directory {
            cache: quick_cache::sync::Cache::new(capacity.max(1)),
        }
    }

    /// The user with id `id` (`GET /users/{id}`).
    pub async fn user(
        &self,
        client: &Client,
        id: &str,
    ) -> Result<Option<Who>, crate::mattermost::Error> {
        self.lookup(Key::User(id.to_owned()), || async {
            let user = client.users().get(&UserId::new(id.to_owned())).await?;
            Ok(who(user.id.as_str(), &user.username))
        })
        .await
    }

    /// The channel with id `id` (`GET /channels/{id}`).
    pub async fn channel(
        &self,
        client: &Client,
        id: &str,
    ) -> Result<Option<Who>, crate::mattermost::Error> {
        self.lookup(Key::Channel(id.to_owned()), || async {
            let channel = client
                .channels()
                .get(&ChannelId::new(id.to_owned()))
                .await?;
            Ok(who(channel.id.as_str(), &channel.name))
        })
        .await
    }

    /// The team with id `id` (`GET /teams/{id}`).
    pub async fn team(
        &self,
        client: &Client,
        id: &str,
    ) -> Result<Option<Who>, crate::mattermost::Error> {
        self.lookup(Key::Team(id.to_owned()), || async {
            let team = client.teams().get(&TeamId::new(id.to_owned())).await?;
            Ok(who(team.id.as_str(), &team.name))
        })
        .await
    }

    /// The user named `username` (`GET /users/username/{username}`).
    pub async fn user_by_name(
        &self,
        client: &Client,
        username: &str,
    ) -> Result<Option<Who>, crate::mattermost::Error> {
        self.lookup(Key::Username(username.to_owned()), || async {
            let user = client.users().by_username(username).await?;
            Ok(who(user.id.as_str(), &user.username))
        })
        .await
    }

    /// The channel named `name` in team `team_id`
    /// (`GET /teams/{team_id}/channels/name/{name}`).
    pub async fn channel_by_name(
        &self,
        client: &Client,
        team_id: &str,
        name: &str,
    ) -> Result<Option<Who>, crate::mattermost::Error> {
        let key = Key::ChannelName {
            team_id: team_id.to_owned(),
            name: name.to_owned(),
        };
        self.lookup(key, || async {
            let channel = client
                .channels()
                .by_name(&TeamId::new(team_id.to_owned()), name)
                .await?;
            Ok(who(channel.id.as_str(), &channel.name))
        })
        .await
    }

    /// From the cache while fresh, else from `fetch()` (one call for concurrent misses). A
    /// 404 is remembered as `None`; other errors are not remembered.
    async fn lookup<F>(
        &self,
        key: Key,
        fetch: impl FnOnce() -> F,
    ) -> Result<Option<Who>, crate::mattermost::Error>
    where
        F: Future<Output = Result<Who, crate::mattermost::Error>>,
    {
        if let Some(entry) = self.cache.get(&key) {
            if entry.fresh() {
                return Ok(entry.found);
            }
            self.cache.remove(&key);
        }
        let entry = self
            .cache
            .get_or_insert_async(&key, async {
                // Made and boxed only on a miss: an API call's future is large (about 1.7 kB),
                // and held in place it made this future, and every caller's, larger still
                // (a `[post]`'s 8.5 kB, copied on each move: #12).
                let found = match Box::pin(fetch()).await {
                    Ok(who) => Some(who),
                    Err(e) if e.is_not_found() => None,
                    Err(e) => return Err(e),
                };
                Ok(Entry {
                    at: Instant::now(),
                    found,
                })
            })
            .await?;
        Ok(entry.found)
    }
}

fn who(id: &str, name: &str) -> Who {
    Who {
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_needs_only_the_names_its_templates_or_access_lists_read() {
        let none = Needs::of_route(
            "[command]\ntrigger = \"s\"\n[reply]\ntext = \"{{ text }} {{ user.id }} {{ args.x }}\"\n",
        );
        assert_eq!(none, Needs::default());
        let user = Needs::of_route("[reply]\ntext = \"{% if text %}{{ user.name }}{% endif %}\"\n");
        assert_eq!(
            user,
            Needs {
                user_name: true,
                ..Needs::default()
            }
        );
        let whole =
            Needs::of_route("[reply]\ntext = \"{{ channel|tojson }}{{ post_props.votes }}\"\n");
        assert!(whole.channel_name && whole.post_props && !whole.user_name && !whole.team_name);
        let access =
            Needs::of_route("[access]\nteams = [\"main\"]\nusers = []\n[reply]\ntext = \"hi\"\n");
        assert!(access.team_name && !access.user_name && !access.channel_name);
        assert_eq!(Needs::of_route("not toml ["), Needs::ALL);
        let exec = Needs::of_route(
            "[dialog]\ntitle = \"t\"\non_submit = \"run\"\n[actions.run.exec]\nprogram = \"x\"\n",
        );
        assert!(exec.user_name && exec.channel_name && exec.team_name && !exec.post_props);
    }
}

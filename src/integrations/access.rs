//! Who may use a route: allow lists of users, teams and channels, and system roles.
//!
//! Every non-empty list must match (an empty list allows everyone). Roles are looked up
//! through the API only when a route asks for them, and cached per user for a minute so a
//! busy route costs one lookup a minute per user (in the [`Store`], so replicas sharing one
//! share the cache; when the store cannot answer, the roles are looked up). A refusal is an ephemeral reply naming what
//! is missing; nothing runs. When the role lookup itself fails, the user is refused (fail
//! closed) and the error is logged.

use std::time::Duration;

use super::context::Context;
use super::spec::AccessSpec;
use crate::mattermost::Client;
use crate::mattermost::UserId;
use crate::store::Store;

/// How long a user's roles are trusted.
const ROLE_TTL: Duration = Duration::from_secs(60);

/// Checks one route's `[access]`.
#[derive(Debug, Clone, Default)]
pub struct Access {
    spec: AccessSpec,
}

impl Access {
    /// From the spec.
    pub fn new(spec: AccessSpec) -> Self {
        Access { spec }
    }

    /// Whether roles must be looked up.
    pub fn needs_roles(&self) -> bool {
        !self.spec.roles.is_empty()
    }

    /// `Err(reason)` when `context`'s user may not use the route.
    pub async fn check(
        &self,
        context: &Context,
        roles: &RoleCache,
        client: &Client,
    ) -> Result<(), String> {
        let spec = &self.spec;
        let listed =
            |list: &[String], name: &str| list.is_empty() || list.iter().any(|n| n == name);
        if !listed(&spec.users, &context.user.name) {
            return Err("you are not on this command's list of users".into());
        }
        if !listed(&spec.teams, &context.team.name) {
            return Err(format!("it cannot be used in team `{}`", context.team.name));
        }
        if !listed(&spec.channels, &context.channel.name) {
            return Err(format!(
                "it can only be used in {}",
                spec.channels
                    .iter()
                    .map(|c| format!("~{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if self.needs_roles() {
            // Boxed: the lookup's future is large, and every check (most need no lookup)
            // would otherwise carry its size inline.
            let held = Box::pin(roles.roles(client, &context.user.id))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "looking up the user's roles failed");
                    "your roles could not be checked".to_owned()
                })?;
            if !spec.roles.iter().any(|r| held.iter().any(|h| h == r)) {
                return Err(format!("it needs the role {}", spec.roles.join(" or ")));
            }
        }
        Ok(())
    }
}

/// Users' system roles, cached for `ROLE_TTL`.
#[derive(Debug, Default)]
pub struct RoleCache {
    store: Store,
}

impl RoleCache {
    /// A cache kept in `store`.
    pub fn new(store: Store) -> Self {
        RoleCache { store }
    }

    /// The roles of `user_id`, from the cache or the API.
    pub async fn roles(
        &self,
        client: &Client,
        user_id: &str,
    ) -> Result<Vec<String>, crate::mattermost::Error> {
        let key = self.store.key("roles", user_id);
        match self.store.cache_get(&key).await {
            Ok(Some(roles)) => return Ok(roles.split_whitespace().map(str::to_owned).collect()),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "role cache unavailable; asking Mattermost"),
        }
        let user = client.users().get(&UserId::new(user_id.to_owned())).await?;
        let roles: Vec<String> = user.roles.split_whitespace().map(str::to_owned).collect();
        if let Err(e) = self.store.cache_put(&key, &roles.join(" "), ROLE_TTL).await {
            tracing::warn!(error = %e, "role cache unavailable; roles not cached");
        }
        Ok(roles)
    }
}

//! Mattermost's default role permissions, reduced to the ones the simulator checks.
//!
//! Mattermost resolves a permission from the system roles, then the team member's roles, then
//! (for channel scope) the channel member's roles. The defaults below follow `model/role.go`:
//! `team_user` cannot manage integrations, `team_admin` can manage its own and others',
//! `system_admin` can do everything, and only `system_admin` may create ephemeral posts;
//! `system_user` (every account, bots included) may open direct channels.

/// A permission the simulator checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Permission {
    /// `view_team`.
    ViewTeam,
    /// `read_public_channel`.
    ReadPublicChannel,
    /// `read_channel`.
    ReadChannel,
    /// `create_post`.
    CreatePost,
    /// `edit_post` (own posts).
    EditPost,
    /// `edit_others_posts`.
    EditOthersPosts,
    /// `manage_own_slash_commands`.
    ManageOwnSlashCommands,
    /// `manage_others_slash_commands`.
    ManageOthersSlashCommands,
    /// `manage_own_outgoing_webhooks`.
    ManageOwnOutgoingWebhooks,
    /// `manage_others_outgoing_webhooks`.
    ManageOthersOutgoingWebhooks,
    /// `manage_team`.
    ManageTeam,
    /// `create_post_ephemeral` (system scope).
    CreatePostEphemeral,
    /// `create_direct_channel` (system scope).
    CreateDirectChannel,
    /// `manage_system` (system scope).
    ManageSystem,
}

impl Permission {
    /// Mattermost's permission id, used in error details.
    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::ViewTeam => "view_team",
            Self::ReadPublicChannel => "read_public_channel",
            Self::ReadChannel => "read_channel",
            Self::CreatePost => "create_post",
            Self::EditPost => "edit_post",
            Self::EditOthersPosts => "edit_others_posts",
            Self::ManageOwnSlashCommands => "manage_own_slash_commands",
            Self::ManageOthersSlashCommands => "manage_others_slash_commands",
            Self::ManageOwnOutgoingWebhooks => "manage_own_outgoing_webhooks",
            Self::ManageOthersOutgoingWebhooks => "manage_others_outgoing_webhooks",
            Self::ManageTeam => "manage_team",
            Self::CreatePostEphemeral => "create_post_ephemeral",
            Self::CreateDirectChannel => "create_direct_channel",
            Self::ManageSystem => "manage_system",
        }
    }
}

/// Whether the `system_user` role holds `p` (the system-scope permissions we check; the
/// others are `system_admin`'s alone).
pub(crate) fn system_user_has(p: Permission) -> bool {
    matches!(p, Permission::CreateDirectChannel)
}

/// Whether the `team_user` role holds `p`.
pub(crate) fn team_user_has(p: Permission) -> bool {
    matches!(p, Permission::ViewTeam | Permission::ReadPublicChannel)
}

/// Whether the `team_admin` role holds `p` (on top of `team_user`).
pub(crate) fn team_admin_has(p: Permission) -> bool {
    team_user_has(p)
        || matches!(
            p,
            Permission::ManageOwnSlashCommands
                | Permission::ManageOthersSlashCommands
                | Permission::ManageOwnOutgoingWebhooks
                | Permission::ManageOthersOutgoingWebhooks
                | Permission::ManageTeam
                | Permission::EditOthersPosts
        )
}

/// Whether the `channel_user` role holds `p`.
pub(crate) fn channel_user_has(p: Permission) -> bool {
    matches!(
        p,
        Permission::ReadChannel | Permission::CreatePost | Permission::EditPost
    )
}

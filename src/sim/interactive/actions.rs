//! Message actions: clicks on buttons and menus, and the integration's answer (PROTOCOL.md §4).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::sim::api::{Session, decode, json as json_response, null_default, require_id};
use crate::sim::app_error::AppError;
use crate::sim::error::SimError;
use crate::sim::ids::new_id;
use crate::sim::model::SimPost;
use crate::sim::permissions::Permission;
use crate::sim::state::{SimEvent, World, make_ephemeral};
use crate::sim::trigger_id;

use super::call_integration;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ClickBody {
    #[serde(deserialize_with = "null_default")]
    selected_option: String,
    #[serde(deserialize_with = "null_default")]
    cookie: String,
}

/// `POST /api/v4/posts/{post_id}/actions/{action_id}`.
pub(crate) async fn do_post_action(
    State(world): State<World>,
    session: Session,
    Path((post_id, action_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AppError> {
    let post_id = require_id(&post_id, "post_id")?;
    let clicked: ClickBody = if body.is_empty() {
        ClickBody::default()
    } else {
        decode(&body, "post_action")?
    };
    let _ = clicked.cookie;
    let reply = click(
        &world,
        &session.user_id,
        &post_id,
        &action_id,
        &clicked.selected_option,
    )
    .await?;
    Ok(json_response(StatusCode::OK, reply))
}

fn action_missing() -> AppError {
    AppError::new(
        "api.post.do_action.action_id.app_error",
        404,
        "Invalid action id.",
    )
}

/// `DoPostActionWithCookie` for a stored post, then the reply applied.
async fn click(
    world: &World,
    user_id: &str,
    post_id: &str,
    action_id: &str,
    selected_option: &str,
) -> Result<Value, AppError> {
    let (post, action, request, client_trigger_id) = {
        let store = world.lock();
        let post = store
            .post(post_id)
            .filter(|p| p.delete_at == 0)
            .cloned()
            .ok_or_else(|| {
                AppError::new("app.post.get.app_error", 404, "Unable to get the post.")
            })?;
        let channel = store
            .channel(&post.channel_id)
            .cloned()
            .ok_or_else(action_missing)?;
        if !store.can_read_channel(user_id, &channel) {
            return Err(AppError::permission(Permission::ReadChannel.id()));
        }
        let action = find_action(&post.props, action_id).ok_or_else(action_missing)?;
        let user = store
            .user(user_id)
            .cloned()
            .ok_or_else(AppError::session_expired)?;
        let team = store.team(&channel.team_id).cloned();
        let (client_id, long_id) = trigger_id::generate(&world.inner.trigger_key, user_id);
        let action_type = action.get("type").and_then(Value::as_str).unwrap_or("");
        let mut context = action
            .get("integration")
            .and_then(|i| i.get("context"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut data_source = "";
        if !selected_option.is_empty() {
            context.insert(
                "selected_option".into(),
                Value::String(selected_option.into()),
            );
            data_source = action
                .get("data_source")
                .and_then(Value::as_str)
                .unwrap_or("");
        }
        let mut request = json!({
            "user_id": user_id,
            "user_name": user.username,
            "channel_id": channel.id,
            "channel_name": channel.name,
            "team_id": team.as_ref().map(|t| t.id.clone()).unwrap_or_default(),
            "team_domain": team.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
            "post_id": post.id,
            "trigger_id": long_id,
            "type": action_type,
            "data_source": data_source,
        });
        if !context.is_empty() {
            request["context"] = Value::Object(context);
        }
        (post, action, request, client_id)
    };
    let url = action
        .get("integration")
        .and_then(|i| i.get("url"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if url.is_empty() {
        return Err(action_missing());
    }
    let reply = call_integration(world, "action", &url, &request).await?;
    if !reply.is_empty() {
        let reply: Map<String, Value> = serde_json::from_slice(&reply).map_err(|e| {
            AppError::new(
                "api.post.do_action.action_integration.app_error",
                400,
                "Action integration error.",
            )
            .detail(e.to_string())
        })?;
        apply_reply(world, user_id, &post, &reply);
    }
    Ok(json!({"status": "OK", "trigger_id": client_trigger_id}))
}

/// Applies `update` and `ephemeral_text` of an action reply (§4.3).
fn apply_reply(world: &World, user_id: &str, post: &SimPost, reply: &Map<String, Value>) {
    if let Some(Value::Object(update)) = reply.get("update") {
        let mut store = world.lock();
        if let Some(slot) = store.post_mut(&post.id) {
            let old = slot.clone();
            slot.message = update
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            slot.file_ids = update
                .get("file_ids")
                .and_then(Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(Value::Object(props)) = update.get("props") {
                let mut props = props.clone();
                for key in ["from_webhook", "override_username", "override_icon_url"] {
                    match old.props.get(key) {
                        Some(v) => {
                            props.insert(key.to_owned(), v.clone());
                        }
                        None => {
                            props.remove(key);
                        }
                    }
                }
                fill_action_ids(&mut props);
                slot.props = props;
            }
            let now = crate::sim::ids::now_millis();
            slot.update_at = now;
            if slot.message != old.message {
                slot.edit_at = now;
            }
            let edited = slot.clone();
            drop(store);
            world.publish(SimEvent::PostEdited(edited));
        }
    }
    if let Some(text) = reply.get("ephemeral_text").and_then(Value::as_str) {
        if !text.is_empty() {
            let root = if post.root_id.is_empty() {
                post.id.clone()
            } else {
                post.root_id.clone()
            };
            let skip = reply
                .get("skip_slack_parsing")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let text = if skip {
                text.to_owned()
            } else {
                crate::sim::slack::parse_slack_links(text)
            };
            let bot = world
                .lock()
                .users
                .iter()
                .find(|u| u.is_bot)
                .map(|u| u.id.clone())
                .unwrap_or_default();
            let eph = make_ephemeral(SimPost::new(&post.channel_id, &bot, &root, &text), user_id);
            world.publish(SimEvent::EphemeralPost(eph));
        }
    }
}

/// The action `action_id` among the post's attachments.
fn find_action(props: &Map<String, Value>, action_id: &str) -> Option<Map<String, Value>> {
    props
        .get("attachments")?
        .as_array()?
        .iter()
        .filter_map(|a| a.get("actions").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_object)
        .find(|a| a.get("id").and_then(Value::as_str) == Some(action_id))
        .cloned()
}

/// Gives every action without an id a fresh 26-char id (Mattermost does this on save).
pub(crate) fn fill_action_ids(props: &mut Map<String, Value>) {
    let Some(Value::Array(attachments)) = props.get_mut("attachments") else {
        return;
    };
    for attachment in attachments {
        if let Some(Value::Array(actions)) = attachment.get_mut("actions") {
            for action in actions.iter_mut().filter_map(Value::as_object_mut) {
                let has_id = action
                    .get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| !id.is_empty());
                if !has_id {
                    action.insert("id".into(), Value::String(new_id()));
                }
            }
        }
    }
}

impl World {
    /// `username` clicks action `action_id` of post `post_id` (with `selected_option` for a
    /// menu), as the web client does; returns `{"status":"OK","trigger_id":…}`.
    pub async fn click_action(
        &self,
        username: &str,
        post_id: &str,
        action_id: &str,
        selected_option: Option<&str>,
    ) -> Result<Value, SimError> {
        let user_id = self.resolve_user(username)?;
        Ok(click(
            self,
            &user_id,
            post_id,
            action_id,
            selected_option.unwrap_or(""),
        )
        .await?)
    }

    /// A stored post by id.
    pub fn post(&self, post_id: &str) -> Option<SimPost> {
        self.lock().post(post_id).cloned()
    }

    /// The ids of the actions of a stored post, in order, with their labels.
    pub fn action_ids(&self, post_id: &str) -> Vec<(String, String)> {
        let Some(post) = self.post(post_id) else {
            return Vec::new();
        };
        post.props
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("actions").and_then(Value::as_array))
            .flatten()
            .filter_map(|a| {
                Some((
                    a.get("id")?.as_str()?.to_owned(),
                    a.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                ))
            })
            .collect()
    }
}

//! The `reply` action: templates rendered into a reply — text, username/icon, attachments with
//! fields and buttons/menus, and post props.
//!
//! Buttons carry the route, the follow-up action's name and the rendered context in their
//! integration; [`ButtonLinks`] turns those into the URL and (signed) context Mattermost posts
//! back on a click.

use serde::Serialize;

use super::context::Context;
use serde_json::{Map, Value};

use super::spec::{AttachmentSpec, ButtonKind, ReplySpec, Visibility};
use super::template::{Template, TemplateError};
use crate::mattermost::models::{
    ActionIntegration, ActionOption, AttachmentField, CommandResponse, MessageAttachment,
    PostAction,
};

/// Builds a button's integration from the route, the action to run and its context.
pub trait ButtonLinks: Send + Sync {
    /// The integration Mattermost calls when the button is clicked; `once`: the first click
    /// uses it up (`once = true` on the button).
    fn integration(
        &self,
        route: &str,
        action: &str,
        context: Map<String, Value>,
        once: bool,
    ) -> ActionIntegration;
}

/// Links for rendering without a server (`check`): a relative URL, the context unsigned.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLinks;

impl ButtonLinks for NoLinks {
    fn integration(
        &self,
        route: &str,
        action: &str,
        context: Map<String, Value>,
        _once: bool,
    ) -> ActionIntegration {
        ActionIntegration {
            url: format!("/actions/{route}/{action}"),
            context: Some(context),
        }
    }
}

/// A compiled `[reply]`.
#[derive(Debug, Clone)]
pub struct ReplyAction {
    route: String,
    visibility: Visibility,
    text: Template,
    username: Option<Template>,
    icon_url: Option<Template>,
    attachments: Vec<CompiledAttachment>,
    props: Vec<(String, Template)>,
    /// Replace the clicked post instead of answering.
    pub update: bool,
}

#[derive(Debug, Clone)]
struct CompiledAttachment {
    title: Template,
    text: Template,
    pretext: Template,
    color: String,
    fallback: String,
    fields: Vec<(Template, Template, bool)>,
    buttons: Vec<CompiledButton>,
}

#[derive(Debug, Clone)]
struct CompiledButton {
    id: String,
    name: Template,
    kind: ButtonKind,
    style: Option<String>,
    action: String,
    once: bool,
    context: Vec<(String, Template)>,
    options: Vec<ActionOption>,
    data_source: Option<String>,
}

/// What a click may carry for one follow-up action, from every button and menu declared to
/// run it. Mattermost forwards any `selected_option` a client sends, so a static menu's
/// choice is checked here against its declared options.
#[derive(Debug, Clone, Default)]
pub(crate) struct Choices {
    /// A plain button runs the action (a click without an option is fine).
    buttons: bool,
    /// A user or channel menu runs the action (the option is a Mattermost id).
    dynamic: bool,
    /// Options of the static menus that run the action.
    options: Vec<String>,
}

impl Choices {
    /// Why a click with `selected` cannot be accepted, if it cannot.
    pub(crate) fn refusal(&self, selected: Option<&str>) -> Option<String> {
        match selected.filter(|s| !s.is_empty()) {
            None if self.buttons => None,
            None if self.options.is_empty() && !self.dynamic => {
                Some("This button belongs to an older version of the integration.".into())
            }
            None => Some("Choose one of the menu's options.".into()),
            Some(s) if self.options.iter().any(|o| o == s) => None,
            Some(s) if self.dynamic && crate::mattermost::is_valid_id(s) => None,
            Some(s) => Some(format!(
                "`{}` is not one of the menu's options.",
                s.chars().take(64).collect::<String>().replace('`', "'")
            )),
        }
    }
}

/// What a reply renders to, before it becomes a slash-command response, a post or an action
/// update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// Whether everyone in the channel sees it.
    pub in_channel: bool,
    /// The message.
    pub text: String,
    /// Username override.
    pub username: Option<String>,
    /// Icon override.
    pub icon_url: Option<String>,
    /// Attachments.
    pub attachments: Vec<MessageAttachment>,
    /// Extra post props.
    pub props: Map<String, Value>,
}

impl Rendered {
    /// As a slash-command (or hook) response.
    pub fn into_command_response(self) -> CommandResponse {
        let mut response = if self.in_channel {
            CommandResponse::in_channel(self.text)
        } else {
            CommandResponse::ephemeral(self.text)
        };
        response.username = self.username;
        response.icon_url = self.icon_url;
        if !self.attachments.is_empty() {
            response.attachments = Some(self.attachments);
        }
        if !self.props.is_empty() {
            response.props = Some(self.props);
        }
        response
    }

    /// The post props this reply sets, attachments included (for posts and updates).
    pub fn post_props(&self) -> Map<String, Value> {
        let mut props = self.props.clone();
        if !self.attachments.is_empty() {
            props.insert(
                "attachments".into(),
                serde_json::to_value(&self.attachments).unwrap_or(Value::Null),
            );
        }
        props
    }
}

impl ReplyAction {
    /// Whether any attachment carries buttons or menus (whose context Switchboard signs).
    pub fn has_buttons(&self) -> bool {
        self.attachments.iter().any(|a| !a.buttons.is_empty())
    }

    /// Compiles the spec's templates; `name` prefixes template names in errors.
    pub fn compile(
        route: &str,
        name: &str,
        spec: &ReplySpec,
    ) -> Result<ReplyAction, TemplateError> {
        let t = |key: &str, source: &str| Template::compile(&format!("{name}.{key}"), source);
        let m =
            |key: &str, source: &str| Template::compile_message(&format!("{name}.{key}"), source);
        let optional =
            |key: &str, source: &Option<String>| source.as_deref().map(|s| t(key, s)).transpose();
        let attachments = spec
            .attachments
            .iter()
            .enumerate()
            .map(|(i, a)| compile_attachment(&format!("{name}.attachments[{i}]"), a))
            .collect::<Result<_, _>>()?;
        Ok(ReplyAction {
            route: route.to_owned(),
            visibility: spec.visibility,
            text: m("text", &spec.text)?,
            username: optional("username", &spec.username)?,
            icon_url: optional("icon_url", &spec.icon_url)?,
            attachments,
            props: spec
                .props
                .iter()
                .map(|(k, v)| Ok((k.clone(), t(&format!("props.{k}"), v)?)))
                .collect::<Result<_, TemplateError>>()?,
            update: spec.update,
        })
    }

    /// The follow-up actions its buttons name, with the button id.
    pub fn button_actions(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attachments
            .iter()
            .flat_map(|a| a.buttons.iter())
            .map(|b| (b.id.as_str(), b.action.as_str()))
    }

    /// The context keys its buttons pass on.
    pub fn button_context_keys(&self) -> Vec<String> {
        self.attachments
            .iter()
            .flat_map(|a| a.buttons.iter())
            .flat_map(|b| b.context.iter().map(|(k, _)| k.clone()))
            .collect()
    }

    /// Adds what the buttons and menus of this reply that run `action` allow a click to
    /// carry (see [`Choices`]).
    pub(crate) fn choices_for(&self, action: &str, choices: &mut Choices) {
        for b in self
            .attachments
            .iter()
            .flat_map(|a| a.buttons.iter())
            .filter(|b| b.action == action)
        {
            match (b.kind, &b.data_source) {
                (ButtonKind::Button, _) => choices.buttons = true,
                (ButtonKind::Select, Some(_)) => choices.dynamic = true,
                (ButtonKind::Select, None) => choices
                    .options
                    .extend(b.options.iter().map(|o| o.value.clone())),
            }
        }
    }

    /// Renders for one request. Props are rendered first; the other templates then see them
    /// in `post_props`, so a message can show the state it just stored (e.g. vote counts).
    pub fn render(
        &self,
        context: Box<Context>,
        links: &dyn ButtonLinks,
    ) -> Result<Rendered, TemplateError> {
        let mut props = Map::new();
        for (key, template) in &self.props {
            let text = template.render(&*context)?;
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            props.insert(key.clone(), value);
        }
        let mut context = context;
        for (key, value) in &props {
            context.post_props.insert(key.clone(), value.clone());
        }
        // Converted once for every template below, keys on first use.
        let context = &(*context).into_template_value();
        let optional = |t: &Option<Template>| -> Result<Option<String>, TemplateError> {
            t.as_ref().map(|t| t.render(context)).transpose()
        };
        let mut attachments = Vec::with_capacity(self.attachments.len());
        for a in &self.attachments {
            attachments.push(self.render_attachment(a, context, links)?);
        }
        Ok(Rendered {
            in_channel: self.visibility == Visibility::InChannel,
            text: self.text.render(context)?,
            username: optional(&self.username)?,
            icon_url: optional(&self.icon_url)?,
            attachments,
            props,
        })
    }

    /// Renders a slash-command response.
    pub fn respond(
        &self,
        context: Box<Context>,
        links: &dyn ButtonLinks,
    ) -> Result<CommandResponse, TemplateError> {
        Ok(self.render(context, links)?.into_command_response())
    }

    fn render_attachment(
        &self,
        a: &CompiledAttachment,
        context: &impl Serialize,
        links: &dyn ButtonLinks,
    ) -> Result<MessageAttachment, TemplateError> {
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let mut fields = Vec::with_capacity(a.fields.len());
        for (title, value, short) in &a.fields {
            fields.push(AttachmentField {
                short: *short,
                title: title.render(context)?,
                value: Value::String(value.render(context)?),
            });
        }
        let mut actions = Vec::with_capacity(a.buttons.len());
        for b in &a.buttons {
            let mut button_context = Map::new();
            for (key, template) in &b.context {
                button_context.insert(key.clone(), Value::String(template.render(context)?));
            }
            actions.push(PostAction {
                id: Some(b.id.clone()),
                name: b.name.render(context)?,
                action_type: match b.kind {
                    ButtonKind::Button => "button".into(),
                    ButtonKind::Select => "select".into(),
                },
                style: b.style.clone(),
                options: b.options.clone(),
                data_source: b.data_source.clone(),
                integration: Some(links.integration(
                    &self.route,
                    &b.action,
                    button_context,
                    b.once,
                )),
                ..PostAction::default()
            });
        }
        Ok(MessageAttachment {
            title: non_empty(a.title.render(context)?),
            text: non_empty(a.text.render(context)?),
            pretext: non_empty(a.pretext.render(context)?),
            color: non_empty(a.color.clone()),
            fallback: non_empty(a.fallback.clone()),
            fields,
            actions,
            ..MessageAttachment::default()
        })
    }
}

fn compile_attachment(name: &str, a: &AttachmentSpec) -> Result<CompiledAttachment, TemplateError> {
    let t = |key: &str, source: &str| Template::compile(&format!("{name}.{key}"), source);
    let m = |key: &str, source: &str| Template::compile_message(&format!("{name}.{key}"), source);
    Ok(CompiledAttachment {
        title: m("title", &a.title)?,
        text: m("text", &a.text)?,
        pretext: m("pretext", &a.pretext)?,
        color: a.color.clone(),
        fallback: a.fallback.clone(),
        fields: a
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                Ok((
                    t(&format!("fields[{i}].title"), &f.title)?,
                    m(&format!("fields[{i}].value"), &f.value)?,
                    f.short,
                ))
            })
            .collect::<Result<_, TemplateError>>()?,
        buttons: a
            .actions
            .iter()
            .enumerate()
            .map(|(i, b)| {
                Ok(CompiledButton {
                    id: b.id.clone(),
                    name: t(&format!("actions[{i}].name"), &b.name)?,
                    kind: b.kind,
                    style: b.style.clone(),
                    action: b.action.clone(),
                    once: b.once,
                    context: b
                        .context
                        .iter()
                        .map(|(k, v)| Ok((k.clone(), t(&format!("actions[{i}].context.{k}"), v)?)))
                        .collect::<Result<_, TemplateError>>()?,
                    options: b
                        .options
                        .iter()
                        .map(|o| ActionOption {
                            text: o.text.clone(),
                            value: o.value.clone(),
                        })
                        .collect(),
                    data_source: b.data_source.clone(),
                })
            })
            .collect::<Result<_, TemplateError>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices(action: &str) -> Choices {
        let spec: ReplySpec = toml::from_str(
            r#"
            text = "Lunch?"
            [[attachments]]
            actions = [
              { id = "menu", name = "Pick", type = "select", action = "chosen", options = [
                { text = "Pizza", value = "pizza" }, { text = "Salad", value = "salad" } ] },
              { id = "who", name = "Who", type = "select", action = "person", data_source = "users" },
              { id = "skip", name = "Skip", action = "skipped" },
            ]
            "#,
        )
        .unwrap();
        let reply = ReplyAction::compile("lunch", "lunch.reply", &spec).unwrap();
        let mut choices = Choices::default();
        reply.choices_for(action, &mut choices);
        choices
    }

    #[test]
    fn a_menu_choice_must_be_one_of_the_declared_options() {
        let menu = choices("chosen");
        assert_eq!(menu.refusal(Some("pizza")), None);
        assert_eq!(
            menu.refusal(Some("burger")).as_deref(),
            Some("`burger` is not one of the menu's options.")
        );
        assert!(
            menu.refusal(None).is_some(),
            "a menu click carries an option"
        );
        let people = choices("person");
        assert_eq!(people.refusal(Some("u1b2c3d4e5f6g7h8i9j0k1l2m3")), None);
        assert!(people.refusal(Some("@alice")).is_some());
        let button = choices("skipped");
        assert_eq!(button.refusal(None), None);
        assert!(
            button.refusal(Some("pizza")).is_some(),
            "a button sends no option"
        );
        assert!(choices("nowhere").refusal(None).is_some());
    }
}

//! The `reply` action: render a template into a slash-command reply.

use serde::Serialize;

use super::spec::{ReplySpec, Visibility};
use super::template::{Template, TemplateError};
use crate::mattermost::models::CommandResponse;

/// A compiled `[reply]`.
#[derive(Debug, Clone)]
pub struct ReplyAction {
    visibility: Visibility,
    text: Template,
}

impl ReplyAction {
    /// Compiles the spec's templates.
    pub fn compile(route: &str, spec: &ReplySpec) -> Result<ReplyAction, TemplateError> {
        Ok(ReplyAction {
            visibility: spec.visibility,
            text: Template::compile(&format!("{route}.reply.text"), &spec.text)?,
        })
    }

    /// Renders the reply for one request.
    pub fn respond(&self, context: &impl Serialize) -> Result<CommandResponse, TemplateError> {
        let text = self.text.render(context)?;
        Ok(match self.visibility {
            Visibility::Ephemeral => CommandResponse::ephemeral(text),
            Visibility::InChannel => CommandResponse::in_channel(text),
        })
    }
}

impl super::Handler for ReplyAction {
    fn slash_command<'a>(
        &'a self,
        _cx: &'a super::Cx,
        request: &'a crate::protocol::SlashCommandRequest,
    ) -> super::BoxFuture<'a, Result<CommandResponse, super::HandlerError>> {
        Box::pin(async move {
            self.respond(&super::CommandContext::from_request(request))
                .map_err(|e| super::HandlerError::failed(format!("reply template failed: {e}")))
        })
    }
}

//! `GET /api/events`: the simulator's events as server-sent events, one JSON object each
//! (`{"type": "post" | "ephemeral" | "edited" | "dialog" | "integration" | "api", …}`).
//! The page decides what the chosen user sees (ephemeral posts and dialogs name their user,
//! a post in a direct channel its two members).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::Page;
use crate::sim::{OpenedDialog, SimEvent};

/// A dialog as the page needs it.
pub(super) fn dialog_json(opened: &OpenedDialog) -> Value {
    json!({ "id": opened.id, "user_id": opened.user_id, "dialog": opened.dialog })
}

fn event_json(event: &SimEvent, world: &crate::sim::World) -> Value {
    match event {
        // A post in a direct channel names its two members: the page lists the channel
        // for them only.
        SimEvent::PostCreated(post) => match world.direct_members(&post.channel_id) {
            Some((a, b)) => json!({ "type": "post", "post": post.to_json(), "direct": [a, b] }),
            None => json!({ "type": "post", "post": post.to_json() }),
        },
        SimEvent::EphemeralPost(post) => json!({
            "type": "ephemeral",
            "post": post.to_json(),
            "user_id": post.ephemeral_for,
        }),
        SimEvent::PostEdited(post) => json!({ "type": "edited", "post": post.to_json() }),
        SimEvent::DialogOpened(opened) => {
            json!({ "type": "dialog", "dialog": dialog_json(opened) })
        }
        SimEvent::IntegrationCalled(call) => json!({ "type": "integration", "call": call }),
        SimEvent::ApiCalled(request) => json!({ "type": "api", "request": request }),
    }
}

/// The event stream; a client that falls behind is told how many events it missed.
pub(super) async fn stream(
    State(page): State<Page>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = page.world.subscribe();
    let stopping = page.stopping.clone();
    let world = page.world.clone();
    let stream = futures::stream::unfold(events, move |mut events| {
        let stopping = stopping.clone();
        let world = world.clone();
        async move {
            let received = tokio::select! {
                () = stopping.cancelled() => return None,
                received = events.recv() => received,
            };
            let data = match received {
                Ok(event) => event_json(&event, &world),
                Err(RecvError::Lagged(n)) => json!({ "type": "lagged", "missed": n }),
                Err(RecvError::Closed) => return None,
            };
            Some((Ok(Event::default().data(data.to_string())), events))
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

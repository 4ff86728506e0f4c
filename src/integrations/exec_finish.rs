//! The last word of an exec job: its final status reaches the thread even when Mattermost
//! refuses the edit that should show it.
//!
//! The live output post is edited one last time with the output's tail and ✅/❌. If that
//! edit failed and nothing else were done, the thread would say "⏳ running…" for good and the
//! user would never learn how the program ended. So:
//! - a failure that may pass (Mattermost unreachable, a 5xx, a 429; the client has already
//!   retried what is safe to retry) gets **one** more edit after [`RETRY_PAUSE`];
//! - when that fails too, or the failure will not pass (the post was deleted, the bot may no
//!   longer edit it: Mattermost answers 403 for both), the same text goes to the thread as a
//!   **new reply**, which needs nothing of the old post.
//!
//! Each step is logged with the route and the post. Only a refused reply leaves the user
//! without the status, and that is an error ([`FinalStatusError`]) for the caller to log.

use std::time::Duration;

use crate::mattermost::{ChannelId, Client, Error, PostId};

/// The pause before the one repeat of a failed final edit: long enough for a proxy's blip to
/// pass, short enough to fit the notice that interrupted jobs get at shutdown.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// The post whose final edit shows a job's status, and the thread it is in.
#[derive(Debug, Clone, Copy)]
pub(super) struct OutputPost<'a> {
    /// The route, for the log.
    pub(super) route: &'a str,
    /// The channel of the thread.
    pub(super) channel: &'a ChannelId,
    /// The thread's root post.
    pub(super) thread: &'a PostId,
    /// The live output post.
    pub(super) post: &'a PostId,
}

/// How the final status reached the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shown {
    /// The live output post was edited.
    Edited,
    /// The live output post was edited on the second try.
    EditedOnRetry,
    /// A new reply in the thread says it (the edit was refused).
    Replied,
}

/// Why a job's final status did not reach its thread.
#[derive(Debug, thiserror::Error)]
pub(super) enum FinalStatusError {
    /// Neither the edit of the output post (nor its repeat) nor a new reply was accepted.
    #[error(
        "the final status of `{route}` reached no one: editing post {post} failed ({edit}), \
         and so did a reply in its thread"
    )]
    NotShown {
        /// The route.
        route: String,
        /// The output post that could not be edited.
        post: PostId,
        /// Why the (last) edit failed.
        edit: Error,
        /// Why the reply failed.
        #[source]
        reply: Error,
    },
}

/// Shows `text` (the output's tail and the final status) in the job's thread: by editing the
/// output post, once more if the failure may pass, else as a new reply.
pub(super) async fn show_final(
    client: &Client,
    at: OutputPost<'_>,
    text: String,
) -> Result<Shown, FinalStatusError> {
    let edit = |text: String| async move {
        client
            .posts()
            .patch(at.post)
            .message(text)
            .send()
            .await
            .map(|_| ())
    };
    let mut failed = match edit(text.clone()).await {
        Ok(()) => return Ok(Shown::Edited),
        Err(e) => e,
    };
    if may_pass(&failed) {
        tracing::warn!(
            route = at.route, post = %at.post, error = %failed,
            "the final edit of an exec job's output failed; trying once more"
        );
        tokio::time::sleep(RETRY_PAUSE).await;
        match edit(text.clone()).await {
            Ok(()) => {
                tracing::info!(route = at.route, post = %at.post, "the final edit went through on the second try");
                return Ok(Shown::EditedOnRetry);
            }
            Err(e) => failed = e,
        }
    }
    let reply = client
        .posts()
        .create(at.channel, text)
        .root_id(at.thread)
        .send()
        .await;
    match reply {
        Ok(post) => {
            tracing::warn!(
                route = at.route, post = %at.post, error = %failed, reply = %post.id,
                "the final edit of an exec job's output was refused; its status was posted as a new reply in the thread"
            );
            Ok(Shown::Replied)
        }
        Err(reply) => Err(FinalStatusError::NotShown {
            route: at.route.to_owned(),
            post: at.post.clone(),
            edit: failed,
            reply,
        }),
    }
}

/// Whether trying the same edit again a moment later may succeed: Mattermost was unreachable,
/// overloaded or failing (any 5xx, which the client does not repeat for every status), or
/// rate limited. A 4xx other than 429 (the post deleted, the permission gone) stays as it is.
fn may_pass(error: &Error) -> bool {
    error.is_unreachable() || error.is_rate_limited()
}

#[cfg(test)]
// Tests may unwrap: a panic is the failure report (see the lint comment in Cargo.toml).
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::mattermost::RetryPolicy;
    use crate::sim::{Fault, FaultKind, Simulator};

    struct Stand {
        sim: Simulator,
        client: Client,
        channel: ChannelId,
        thread: PostId,
        post: PostId,
    }

    /// The simulator, the bot's client, and a thread holding a live output post.
    async fn stand() -> Stand {
        let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
        let client = Client::builder(sim.url().as_str())
            .token(sim.bot_token())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let channel = ChannelId::new(sim.world().channel_id("main", "town-square").unwrap());
        let root = client
            .posts()
            .create(&channel, "⏳ `job` started by @alice")
            .send()
            .await
            .unwrap();
        let output = client
            .posts()
            .create(&channel, "```\nhalfway\n```\n⏳ running…")
            .root_id(&root.id)
            .send()
            .await
            .unwrap();
        Stand {
            sim,
            client,
            channel,
            thread: root.id,
            post: output.id,
        }
    }

    impl Stand {
        fn at(&self) -> OutputPost<'_> {
            OutputPost {
                route: "job",
                channel: &self.channel,
                thread: &self.thread,
                post: &self.post,
            }
        }

        fn patch_path(&self) -> String {
            format!("/api/v4/posts/{}/patch", self.post)
        }

        /// Edits of the output post sent so far (whatever the answer).
        fn edits_sent(&self) -> usize {
            let path = self.patch_path();
            self.sim
                .world()
                .api_requests()
                .iter()
                .filter(|r| r.method == "PUT" && r.path == path)
                .count()
        }

        /// The thread's replies, oldest first.
        fn replies(&self) -> Vec<String> {
            self.sim
                .world()
                .posts_in("main", "town-square")
                .into_iter()
                .filter(|p| p.root_id == self.thread.as_str())
                .map(|p| p.message)
                .collect()
        }
    }

    const FINAL: &str = "```\nhalfway\ndone\n```\n✅ exit 0 in 0.2 s";

    #[tokio::test]
    async fn a_final_edit_that_goes_through_is_all_there_is() {
        let stand = stand().await;
        let shown = show_final(&stand.client, stand.at(), FINAL.into()).await;
        assert_eq!(shown.unwrap(), Shown::Edited);
        assert_eq!(
            stand.replies(),
            [FINAL],
            "the output post says it, no new reply"
        );
    }

    #[tokio::test]
    async fn a_final_edit_refused_once_with_a_500_is_tried_once_more() {
        let stand = stand().await;
        stand.sim.world().inject(
            Fault::on(&stand.patch_path(), FaultKind::Status(500))
                .method("PUT")
                .times(1),
        );
        let shown = show_final(&stand.client, stand.at(), FINAL.into()).await;
        assert_eq!(shown.unwrap(), Shown::EditedOnRetry);
        assert_eq!(stand.edits_sent(), 2);
        assert_eq!(stand.replies(), [FINAL]);
    }

    #[tokio::test]
    async fn a_final_edit_that_keeps_failing_becomes_a_reply_in_the_thread() {
        let stand = stand().await;
        stand
            .sim
            .world()
            .inject(Fault::on(&stand.patch_path(), FaultKind::Status(500)).method("PUT"));
        let shown = show_final(&stand.client, stand.at(), FINAL.into()).await;
        assert_eq!(shown.unwrap(), Shown::Replied);
        assert_eq!(stand.edits_sent(), 2, "one repeat, no more");
        let replies = stand.replies();
        assert_eq!(
            replies,
            ["```\nhalfway\n```\n⏳ running…", FINAL],
            "the status follows the stuck post in the thread"
        );
    }

    #[tokio::test]
    async fn an_output_post_that_is_gone_gets_a_reply_without_a_repeat() {
        let mut stand = stand().await;
        // What Mattermost answers for a deleted post: 403 (the permission check runs first).
        stand.post = PostId::new("ybndrfg8ejkmcpqxot1uwisza3");
        let shown = show_final(&stand.client, stand.at(), FINAL.into()).await;
        assert_eq!(shown.unwrap(), Shown::Replied);
        assert_eq!(
            stand.edits_sent(),
            1,
            "a refusal that will not pass is not repeated"
        );
        assert_eq!(stand.replies().last().map(String::as_str), Some(FINAL));
    }

    #[tokio::test]
    async fn when_the_reply_is_refused_too_the_error_names_both_failures() {
        let stand = stand().await;
        stand
            .sim
            .world()
            .inject(Fault::on(&stand.patch_path(), FaultKind::Status(500)).method("PUT"));
        stand
            .sim
            .world()
            .inject(Fault::on("/api/v4/posts", FaultKind::Status(403)).method("POST"));
        let error = show_final(&stand.client, stand.at(), FINAL.into())
            .await
            .unwrap_err();
        let FinalStatusError::NotShown { edit, reply, .. } = &error;
        assert_eq!(edit.status().map(|s| s.as_u16()), Some(500), "{error}");
        assert_eq!(reply.status().map(|s| s.as_u16()), Some(403), "{error}");
        assert!(error.to_string().contains("`job`"), "{error}");
    }
}

//! Pagination streams: multi-page, short page, stuck server.

use futures::TryStreamExt;
use serde_json::json;
use switchboard::mattermost::Error;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fixtures::user;
use crate::support::client_for;

fn users(from: usize, n: usize) -> serde_json::Value {
    json!(
        (from..from + n)
            .map(|i| user(&format!("user{i}")))
            .collect::<Vec<_>>()
    )
}

#[tokio::test]
async fn a_stream_walks_pages_until_a_short_one() {
    let server = MockServer::start().await;
    for (page, n) in [(0, 3), (1, 3), (2, 1)] {
        Mock::given(method("GET"))
            .and(path("/api/v4/users"))
            .and(query_param("page", page.to_string()))
            .and(query_param("per_page", "3"))
            .respond_with(ResponseTemplate::new(200).set_body_json(users(page * 3, n)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client_for(&server);
    let all: Vec<_> = client
        .users()
        .list()
        .per_page(3)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(all[6].id, *"user6");
}

#[tokio::test]
async fn an_exactly_full_last_page_ends_on_the_empty_page_after_it() {
    let server = MockServer::start().await;
    Mock::given(query_param("page", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(users(0, 2)))
        .mount(&server)
        .await;
    Mock::given(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let client = client_for(&server);
    let all: Vec<_> = client
        .users()
        .list()
        .per_page(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn a_server_that_ignores_page_ends_in_an_error_not_a_hang() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(users(0, 2)))
        .mount(&server)
        .await;
    let client = client_for(&server);
    let result: Result<Vec<_>, _> = client
        .users()
        .list()
        .per_page(2)
        .stream()
        .try_collect()
        .await;
    assert!(
        matches!(result, Err(Error::PaginationStuck { .. })),
        "{result:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn channel_posts_stream_in_order_across_pages() {
    let server = MockServer::start().await;
    Mock::given(query_param("page", "0"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(crate::fixtures::post_list(&["p3", "p2"])),
        )
        .mount(&server)
        .await;
    Mock::given(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(crate::fixtures::post_list(&["p1"])))
        .mount(&server)
        .await;
    let client = client_for(&server);
    let posts: Vec<_> = client
        .posts()
        .for_channel(&"chan1".into())
        .per_page(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p3", "p2", "p1"]);
}

/// `since` is answered with every post changed since then, unpaged (Mattermost ignores `page`
/// and `per_page` then), so a stream sends one request and yields each post once, however
/// many came back.
#[tokio::test]
async fn channel_posts_since_a_time_are_one_unpaged_request() {
    use wiremock::matchers::query_param_is_missing;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/channels/chan1/posts"))
        .and(query_param("since", "1700000000000"))
        .and(query_param_is_missing("page"))
        .and(query_param_is_missing("per_page"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(crate::fixtures::post_list(&["p3", "p2", "p1"])),
        )
        .expect(2)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let channel = "chan1".into();
    let posts: Result<Vec<_>, _> = client
        .posts()
        .for_channel(&channel)
        .since(1_700_000_000_000)
        .per_page(2)
        .stream()
        .try_collect()
        .await;
    let ids: Vec<String> = posts
        .unwrap()
        .into_iter()
        .map(|p| p.id.into_string())
        .collect();
    assert_eq!(ids, ["p3", "p2", "p1"]);
    let list = client
        .posts()
        .for_channel(&channel)
        .since(1_700_000_000_000)
        .page(0)
        .await
        .unwrap();
    assert_eq!(list.order.len(), 3);
}

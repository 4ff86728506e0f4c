//! Pagination as [`Stream`]s.
//!
//! Mattermost pages with `page` (0-based) and `per_page` (at most 200). Every listing here sends
//! `per_page` explicitly, stops after a short page, and, when a page is byte-for-byte the same
//! as the one before (a server or proxy that ignores `page`), ends with
//! [`Error::PaginationStuck`] instead of looping forever. Only one page is held at a time, so
//! memory stays flat however long the listing.
//!
//! ```no_run
//! # async fn demo(client: switchboard::mattermost::Client) -> Result<(), switchboard::mattermost::Error> {
//! use futures::TryStreamExt;
//! let mut users = client.users().list().per_page(200).stream();
//! while let Some(user) = users.try_next().await? {
//!     println!("{}", user.username);
//! }
//! # Ok(()) }
//! ```

use std::hash::{DefaultHasher, Hash, Hasher};

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use super::client::decode;
use super::{ApiRequest, Client, Error, Result};

/// Largest `per_page` Mattermost honours.
///
/// API: <https://api.mattermost.com/> (introduction, *Schema & Conventions*: paging).
pub const MAX_PER_PAGE: u32 = 200;
/// `per_page` used when the caller sets none.
///
/// API: <https://api.mattermost.com/> (introduction, *Schema & Conventions*: paging).
pub const DEFAULT_PER_PAGE: u32 = 200;

/// A stream of items, one page fetched at a time.
///
/// API: <https://api.mattermost.com/> (introduction, *Schema & Conventions*: paging).
pub type ItemStream<T> = BoxStream<'static, Result<T>>;

struct State<F> {
    client: Client,
    make: F,
    page: u32,
    previous: Option<u64>,
    done: bool,
}

/// Streams the items of a paged listing. `make(page)` builds the request for one page, without
/// `page`/`per_page` (added here); `extract` turns a decoded page into its items.
pub(crate) fn paginate<P, T, F, X>(
    client: Client,
    per_page: u32,
    make: F,
    extract: X,
) -> ItemStream<T>
where
    P: DeserializeOwned + Send + 'static,
    T: Send + 'static,
    F: Fn() -> Result<ApiRequest> + Send + 'static,
    X: Fn(P) -> Vec<T> + Send + Sync + 'static,
{
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let state = State {
        client,
        make,
        page: 0,
        previous: None,
        done: false,
    };
    let extract = std::sync::Arc::new(extract);
    let pages = stream::try_unfold(state, move |mut state| {
        let extract = extract.clone();
        async move {
            if state.done {
                return Ok(None);
            }
            let request = (state.make)()?
                .query("page", &state.page)
                .query("per_page", &per_page);
            let endpoint = request.endpoint();
            let bytes = state.client.send_bytes(&request).await?;
            let page: P = decode(endpoint, &bytes)?;
            let items = (*extract)(page);
            if items.is_empty() {
                return Ok(None);
            }
            let mut hasher = DefaultHasher::new();
            bytes.hash(&mut hasher);
            let digest = hasher.finish();
            if state.previous == Some(digest) {
                return Err(Error::PaginationStuck { endpoint });
            }
            state.previous = Some(digest);
            state.done = items.len() < per_page as usize;
            state.page += 1;
            Ok(Some((items, state)))
        }
    });
    pages
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

/// Streams a listing whose pages are plain JSON arrays.
pub(crate) fn paginate_list<T, F>(client: Client, per_page: u32, make: F) -> ItemStream<T>
where
    T: DeserializeOwned + Send + 'static,
    F: Fn() -> Result<ApiRequest> + Send + 'static,
{
    paginate::<Vec<T>, T, F, _>(client, per_page, make, |items| items)
}

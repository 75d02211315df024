//! Harbor's pagination as a `Stream`: follow `Link: <...>; rel="next"` (re-encoding the query
//! Harbor un-escaped) until there is none, reading `X-Total-Count` on the way.

use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use http::HeaderMap;
use serde::de::DeserializeOwned;

use crate::client::HarborClient;
use crate::error::HarborError;
use crate::operation::{Operation, decode, encode};

/// The largest `page_size` Harbor accepts (above it answers 422).
pub const MAX_PAGE_SIZE: i64 = 100;

/// The page size the handlers ask for unless told otherwise.
pub const DEFAULT_PAGE_SIZE: i64 = 50;

/// Checks a page size against Harbor's limits (1 to 100).
pub fn check_page_size(page_size: i64) -> Result<i64, HarborError> {
    if (1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Ok(page_size);
    }
    Err(HarborError::InvalidArgument {
        name: "page_size",
        reason: format!("{page_size} is outside 1..={MAX_PAGE_SIZE}"),
    })
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// `X-Total-Count`: the items of all pages, when Harbor sent it.
    pub total_count: Option<u64>,
    /// The next page's path and query (re-encoded), when there is one.
    pub next: Option<String>,
}

/// A stream over every item of a list operation, page by page.
pub fn stream<O, T>(client: HarborClient, first: O) -> BoxStream<'static, Result<T, HarborError>>
where
    O: Operation<Output = Vec<T>> + 'static,
    T: DeserializeOwned + Send + 'static,
{
    enum Next<O> {
        First(O),
        Link(String),
        Done,
    }
    let pages = stream::try_unfold(Next::First(first), move |next| {
        let client = client.clone();
        async move {
            let page = match next {
                Next::Done => return Ok::<_, HarborError>(None),
                Next::First(operation) => first_page(&client, &operation).await?,
                Next::Link(link) => follow(&client, O::ID, &link).await?,
            };
            let state = page.next.clone().map_or(Next::Done, Next::Link);
            Ok(Some((
                stream::iter(page.items.into_iter().map(Ok::<T, HarborError>)),
                state,
            )))
        }
    });
    pages.try_flatten().boxed()
}

/// Fetches the first page.
pub async fn first_page<O, T>(client: &HarborClient, operation: &O) -> Result<Page<T>, HarborError>
where
    O: Operation<Output = Vec<T>>,
{
    let response = client.execute(operation).await?;
    let total_count = response.total_count();
    let next = next_link(&response.headers).map(|link| reencode_link(&link));
    Ok(Page {
        items: response.value,
        total_count,
        next,
    })
}

async fn follow<T: DeserializeOwned>(
    client: &HarborClient,
    operation: &'static str,
    link: &str,
) -> Result<Page<T>, HarborError> {
    let parts = client.get_link(operation, link).await?;
    let items = decode::json_list(&parts).map_err(|source| HarborError::Decode {
        operation,
        request_id: parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        source,
    })?;
    let total_count = parts
        .headers
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let next = next_link(&parts.headers).map(|link| reencode_link(&link));
    Ok(Page {
        items,
        total_count,
        next,
    })
}

/// The `rel="next"` target of the `Link` headers, as written.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|part| part.contains("rel=\"next\"") || part.contains("rel=next"))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part[start..].find('>')? + start;
            Some(part[start..end].to_owned())
        })
}

/// Re-encodes the query of a `Link` target, which Harbor writes un-escaped
/// (`q=name=~a b` becomes `q=name%3D~a%20b`). The path is kept; `&` still separates pairs.
pub fn reencode_link(link: &str) -> String {
    let Some((path, query)) = link.split_once('?') else {
        return link.to_owned();
    };
    let path = path
        .split_once("://")
        .map_or(path, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    let pairs: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => format!(
                "{}={}",
                encode::query_component(key),
                encode::query_component(value)
            ),
            None => encode::query_component(pair),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_targets_are_found_and_reencoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::LINK,
            r#"</api/v2.0/projects?page=1&page_size=2>; rel="prev" , </api/v2.0/projects?page=3&page_size=2&q=name=~a b>; rel="next""#
                .parse()
                .unwrap(),
        );
        let next = next_link(&headers).unwrap();
        assert_eq!(next, "/api/v2.0/projects?page=3&page_size=2&q=name=~a b");
        assert_eq!(
            reencode_link(&next),
            "/api/v2.0/projects?page=3&page_size=2&q=name%3D~a%20b"
        );
    }

    #[test]
    fn page_size_is_limited_to_100() {
        assert!(check_page_size(100).is_ok());
        assert!(check_page_size(101).is_err());
        assert!(check_page_size(0).is_err());
    }
}

//! Harbor's HTTP conventions: error bodies, `X-Request-Id`, pagination headers, time format.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use tracing::Instrument as _;

/// The request id header Harbor echoes (or generates) on every response.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Harbor's largest accepted `page_size`.
const MAX_PAGE_SIZE: u64 = 100;
/// Harbor's default `page_size`.
const DEFAULT_PAGE_SIZE: u64 = 10;

/// Go's `strfmt.DateTime` layout, which Harbor uses for every time in a body.
const TIME_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Formats a UTC time as Harbor does (`2024-05-01T10:00:00.000Z`).
pub(crate) fn harbor_time(time: OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .format(TIME_FORMAT)
        .expect("a UTC time formats")
}

/// Harbor's "never" time (Go's zero time).
pub(crate) const ZERO_TIME: &str = "0001-01-01T00:00:00.000Z";

/// An API failure, answered as `{"errors":[{"code","message"}]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub(crate) fn precondition(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, message)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized")
    }

    pub(crate) fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden")
    }

    pub(crate) fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// A 500 whose message Harbor masks; the cause goes to the log only.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "harbor simulator internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    }

    fn code(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "BAD_REQUEST",
            StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
            StatusCode::FORBIDDEN => "FORBIDDEN",
            StatusCode::NOT_FOUND => "NOT_FOUND",
            StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
            StatusCode::CONFLICT => "CONFLICT",
            StatusCode::PRECONDITION_FAILED => "PRECONDITION",
            StatusCode::UNPROCESSABLE_ENTITY => "UNPROCESSABLE_ENTITY",
            _ => "UNKNOWN",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{"code": self.code(), "message": self.message}]});
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"harbor\""),
            );
        }
        response
    }
}

/// The result type of every API handler.
pub(crate) type ApiResult = Result<Response, ApiError>;

/// Middleware: echoes `X-Request-Id`, or generates one, on every response.
pub(crate) async fn request_id(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("uuid is ASCII")
        });
    let span = tracing::info_span!(
        "harbor_sim",
        method = %request.method(),
        path = request.uri().path(),
        request_id = id.to_str().unwrap_or(""),
    );
    let mut response = next.run(request).instrument(span).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// A 201 with `Location` and no body, as Harbor answers creates.
pub(crate) fn created(location: &str) -> Response {
    let mut response = StatusCode::CREATED.into_response();
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(location).expect("locations are ASCII"),
    );
    response
}

/// A 200 with an empty body, as Harbor answers updates and deletes.
pub(crate) fn ok_empty() -> Response {
    StatusCode::OK.into_response()
}

/// Decoded query parameters, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        Self { pairs }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// A boolean flag (`true`/`false`), `default` when absent.
    pub(crate) fn flag(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::unprocessable(format!(
                "{key} in query must be of type boolean: \"{other}\""
            ))),
        }
    }

    /// The `page` and `page_size` parameters, validated as Harbor's generated server does.
    pub(crate) fn page(&self) -> Result<Page, ApiError> {
        let number = self.number("page", 1)?;
        let size = self.number("page_size", DEFAULT_PAGE_SIZE)?;
        if size > MAX_PAGE_SIZE {
            return Err(ApiError::unprocessable(format!(
                "page_size in query should be less than or equal to {MAX_PAGE_SIZE}"
            )));
        }
        Ok(Page {
            number: number.max(1),
            size,
        })
    }

    fn number(&self, key: &str, default: u64) -> Result<u64, ApiError> {
        self.get(key).map_or(Ok(default), |value| {
            value.parse().map_err(|_| {
                ApiError::unprocessable(format!(
                    "{key} in query must be of type int64: \"{value}\""
                ))
            })
        })
    }

    /// The query re-encoded with `page` and `page_size` replaced, keys sorted as Go's
    /// `url.Values.Encode` sorts them, then un-escaped as Harbor does for `Link`.
    fn with_page(&self, number: u64, size: u64) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(key, _)| key != "page" && key != "page_size")
            .cloned()
            .collect();
        pairs.push(("page".to_owned(), number.to_string()));
        pairs.push(("page_size".to_owned(), size.to_string()));
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// One requested page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) number: u64,
    pub(crate) size: u64,
}

impl Page {
    /// The items of this page out of `all`.
    pub(crate) fn slice<T: Clone>(&self, all: &[T]) -> Vec<T> {
        if self.size == 0 {
            return all.to_vec();
        }
        let start = ((self.number - 1) * self.size) as usize;
        all.iter()
            .skip(start)
            .take(self.size as usize)
            .cloned()
            .collect()
    }
}

/// A JSON list answer with `X-Total-Count` and, when more pages exist, `Link` headers built as
/// Harbor builds them (un-escaped query, `prev` then `next`, joined by `" , "`).
pub(crate) fn paged_json<T: serde::Serialize + Clone>(
    path: &str,
    query: &Query,
    page: Page,
    all: &[T],
) -> Response {
    let total = all.len() as u64;
    let items = page.slice(all);
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-total-count"),
        HeaderValue::from(total),
    );
    let links = link_header(path, query, page, total);
    if !links.is_empty()
        && let Ok(value) = HeaderValue::from_str(&links)
    {
        headers.insert(header::LINK, value);
    }
    (headers, Json(items)).into_response()
}

fn link_header(path: &str, query: &Query, page: Page, total: u64) -> String {
    if page.size == 0 {
        return String::new();
    }
    let mut links = Vec::new();
    if page.number > 1 && (page.number - 1) * page.size < total {
        let query = query.with_page(page.number - 1, page.size);
        links.push(format!("<{path}?{query}>; rel=\"prev\""));
    }
    if page.size * page.number < total {
        let query = query.with_page(page.number + 1, page.size);
        links.push(format!("<{path}?{query}>; rel=\"next\""));
    }
    links.join(" , ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_keeps_other_parameters_unescaped_and_sorted() {
        let query = Query::parse(Some("q=name%3D~app&page_size=2"));
        let page = query.page().unwrap();
        let links = link_header("/api/v2.0/projects", &query, page, 5);
        assert_eq!(
            links,
            "</api/v2.0/projects?page=2&page_size=2&q=name=~app>; rel=\"next\""
        );

        let middle = Query::parse(Some("page=2&page_size=2"));
        let links = link_header("/p", &middle, middle.page().unwrap(), 5);
        assert_eq!(
            links,
            "</p?page=1&page_size=2>; rel=\"prev\" , </p?page=3&page_size=2>; rel=\"next\""
        );
        assert_eq!(
            link_header("/p", &middle, Page { number: 3, size: 2 }, 5)
                .matches("next")
                .count(),
            0
        );
    }

    #[test]
    fn page_size_above_hundred_is_unprocessable() {
        let error = Query::parse(Some("page_size=101")).page().unwrap_err();
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            Query::parse(None).page().unwrap(),
            Page {
                number: 1,
                size: 10
            }
        );
    }

    #[test]
    fn time_has_milliseconds_and_zulu() {
        let time = OffsetDateTime::from_unix_timestamp(0).unwrap();
        assert_eq!(harbor_time(time), "1970-01-01T00:00:00.000Z");
    }
}

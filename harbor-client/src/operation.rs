//! What every generated request type implements, and the small runtime the generated code
//! uses: parameter lists, path encoding and response decoding.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::Serialize;

/// One operation of Harbor's API as a typed request: method, path, parameters, body and the
/// type of a successful answer. Implemented by every type in
/// [`generated::operations`](crate::generated::operations); send one with
/// [`RawClient::send`](crate::raw::RawClient::send).
pub trait Operation: Send + Sync {
    /// The decoded body of a successful answer.
    type Output: Send;
    /// The spec's `operationId`.
    const ID: &'static str;
    /// The HTTP method.
    const METHOD: Method;
    /// The path template under `/api/v2.0`, as the spec writes it.
    const PATH: &'static str;
    /// The media type asked for with `Accept`.
    const ACCEPT: &'static str;

    /// The path under `/api/v2.0` with the parameters filled in and encoded.
    fn path(&self) -> String;

    /// Adds the query parameters.
    fn query(&self, out: &mut Params) {
        let _ = out;
    }

    /// Adds the header parameters other than `X-Request-Id`.
    fn headers(&self, out: &mut Params) {
        let _ = out;
    }

    /// The request id the caller chose, if any; the client generates one otherwise.
    fn request_id(&self) -> Option<&str> {
        None
    }

    /// The JSON body, if the operation has one.
    fn body(&self) -> Result<Option<Vec<u8>>, serde_json::Error> {
        Ok(None)
    }

    /// Decodes a successful (2xx) answer.
    fn decode(response: &ResponseParts) -> Result<Self::Output, DecodeError>;
}

/// A list operation with `page` and `page_size` parameters.
pub trait Paginated: Operation {
    /// Sets the page (from 1) and the page size.
    fn set_page(&mut self, page: i64, page_size: i64);
}

/// A row of the generated operation catalogue ([`OPERATIONS`](crate::generated::OPERATIONS)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationInfo {
    /// The spec's `operationId`.
    pub id: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template under `/api/v2.0`.
    pub path: &'static str,
    /// The spec's first tag.
    pub tag: &'static str,
    /// The name of the request type in [`generated::operations`](crate::generated::operations).
    pub request_type: &'static str,
}

/// Name and value pairs for a query string or headers, in insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// Adds a parameter.
    pub fn put(&mut self, name: &'static str, value: &impl ParamValue) {
        self.0.push((name, value.to_param()));
    }

    /// Adds a parameter when it is set.
    pub fn opt(&mut self, name: &'static str, value: Option<&impl ParamValue>) {
        if let Some(value) = value {
            self.put(name, value);
        }
    }

    /// The pairs.
    pub fn pairs(&self) -> &[(&'static str, String)] {
        &self.0
    }
}

/// A value that can travel as a query or header parameter.
pub trait ParamValue {
    /// The parameter text (not yet percent-encoded).
    fn to_param(&self) -> String;
}

impl ParamValue for String {
    fn to_param(&self) -> String {
        self.clone()
    }
}

impl ParamValue for i64 {
    fn to_param(&self) -> String {
        self.to_string()
    }
}

impl ParamValue for bool {
    fn to_param(&self) -> String {
        self.to_string()
    }
}

/// Lists travel comma-separated (Swagger's default `csv` collection format).
impl ParamValue for Vec<String> {
    fn to_param(&self) -> String {
        self.join(",")
    }
}

/// Serialises a request body.
pub fn json_body<T: Serialize>(body: Option<&T>) -> Result<Option<Vec<u8>>, serde_json::Error> {
    body.map(serde_json::to_vec).transpose()
}

/// A received answer: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct ResponseParts {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl ResponseParts {
    /// The `Content-Type` without parameters, lower case.
    pub fn media_type(&self) -> Option<String> {
        let value = self
            .headers
            .get(http::header::CONTENT_TYPE)?
            .to_str()
            .ok()?;
        Some(
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase(),
        )
    }
}

/// The answer to a create: Harbor replies 201 with a `Location` and no body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Created {
    /// The `Location` header, if sent.
    pub location: Option<String>,
}

impl Created {
    /// The new resource's numeric id: the last path segment of `Location`.
    pub fn id(&self) -> Option<i64> {
        self.last_segment()?.parse().ok()
    }

    /// The last path segment of `Location`, percent-decoded (a name when the request asked
    /// for `X-Resource-Name-In-Location`).
    pub fn last_segment(&self) -> Option<String> {
        let location = self.location.as_deref()?;
        let path = location.split(['?', '#']).next().unwrap_or_default();
        let segment = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())?;
        Some(
            percent_encoding::percent_decode_str(segment)
                .decode_utf8_lossy()
                .into_owned(),
        )
    }
}

/// Why a successful answer could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is not the JSON the operation expects.
    #[error("invalid JSON body")]
    Json(#[from] serde_json::Error),
    /// The body is not UTF-8 text.
    #[error("body is not UTF-8 text")]
    Text(#[from] std::string::FromUtf8Error),
}

/// Response decoders used by the generated operations.
pub mod decode {
    use bytes::Bytes;
    use serde::de::DeserializeOwned;

    use super::{Created, DecodeError, ResponseParts};

    /// A JSON body; an empty body reads as JSON `null`.
    pub fn json<T: DeserializeOwned>(response: &ResponseParts) -> Result<T, DecodeError> {
        let body: &[u8] = if response.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &response.body
        };
        Ok(serde_json::from_slice(body)?)
    }

    /// A JSON array; `null` or an empty body reads as an empty list (Harbor sends `null`).
    pub fn json_list<T: DeserializeOwned>(response: &ResponseParts) -> Result<Vec<T>, DecodeError> {
        let list: Option<Vec<T>> = json(response)?;
        Ok(list.unwrap_or_default())
    }

    /// A text body. A JSON string (what a spec-driven mock sends) is unquoted.
    pub fn text(response: &ResponseParts) -> Result<String, DecodeError> {
        let text = String::from_utf8(response.body.to_vec())?;
        if response.media_type().as_deref() == Some("application/json")
            && let Ok(unquoted) = serde_json::from_str::<String>(&text)
        {
            return Ok(unquoted);
        }
        Ok(text)
    }

    /// The body bytes as they are.
    pub fn bytes(response: &ResponseParts) -> Result<Bytes, DecodeError> {
        Ok(response.body.clone())
    }

    /// A 201 (or any 2xx) whose `Location` names the new resource.
    pub fn created(response: &ResponseParts) -> Result<Created, DecodeError> {
        let location = response
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok());
        Ok(Created {
            location: location.map(str::to_owned),
        })
    }

    /// An answer whose body, if any, carries nothing the caller needs.
    pub fn empty(response: &ResponseParts) -> Result<(), DecodeError> {
        let _ = response;
        Ok(())
    }
}

/// Path segment encoding.
pub mod encode {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

    /// Everything but RFC 3986 unreserved characters is escaped.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');

    /// One path segment, percent-encoded once.
    pub fn segment(value: &str) -> String {
        utf8_percent_encode(value, SEGMENT).to_string()
    }

    /// A repository name (without the project), percent-encoded twice as Harbor requires:
    /// `a/b` becomes `a%252Fb`.
    pub fn repository(name: &str) -> String {
        segment(&segment(name))
    }

    /// A query component (key or value), percent-encoded once.
    pub fn query_component(value: &str) -> String {
        utf8_percent_encode(value, SEGMENT).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_are_encoded_twice() {
        assert_eq!(encode::repository("a/b"), "a%252Fb");
        assert_eq!(encode::repository("plain"), "plain");
        assert_eq!(encode::segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn created_reads_the_id_from_location() {
        let created = Created {
            location: Some("/api/v2.0/projects/42".to_owned()),
        };
        assert_eq!(created.id(), Some(42));
        let named = Created {
            location: Some("/api/v2.0/projects/my%20proj".to_owned()),
        };
        assert_eq!(named.id(), None);
        assert_eq!(named.last_segment().as_deref(), Some("my proj"));
        assert_eq!(Created::default().id(), None);
    }

    #[test]
    fn null_lists_read_as_empty() {
        let parts = ResponseParts {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"null"),
        };
        assert!(decode::json_list::<i64>(&parts).unwrap().is_empty());
        let empty = ResponseParts {
            body: Bytes::new(),
            ..parts
        };
        assert!(decode::json_list::<i64>(&empty).unwrap().is_empty());
    }
}

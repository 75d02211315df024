//! The crate's error type.

use std::error::Error as StdError;

/// A boxed error from a lower layer (the AWS SDK, a TOML parser, a resolver).
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Everything that can go wrong in ecr-compat.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EcrError {
    /// An ECR API call failed (after the SDK's own retries).
    #[error("ECR {operation} failed{}", code.as_ref().map(|c| format!(" with {c}")).unwrap_or_default())]
    Api {
        /// The API operation, e.g. `DescribeImages`.
        operation: &'static str,
        /// The service error code without namespace, e.g. `ThrottlingException`.
        code: Option<String>,
        /// The service's message, if it sent one.
        message: Option<String>,
        /// The `x-amzn-RequestId` of the failed request, if known.
        request_id: Option<String>,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// No AWS region was given and the SDK's chain found none.
    #[error("no AWS region configured")]
    NoRegion,
    /// ECR answered, but without a field the operation needs.
    #[error("ECR {operation} answered without {field}")]
    MissingField {
        /// The API operation.
        operation: &'static str,
        /// The missing field, e.g. `authorizationToken`.
        field: &'static str,
    },
    /// The authorization token is not base64 of `user:password`.
    #[error("ECR authorization token is malformed")]
    MalformedToken,
    /// ECR handed out a token that is already expired (or about to), e.g. because of clock
    /// skew; it is not used.
    #[error("ECR returned an authorization token that is already expired")]
    StaleToken {
        /// The expiry ECR reported.
        expires_at: std::time::SystemTime,
    },
    /// `BatchGetImage` could not return one image.
    #[error("ECR returned no manifest for {repository} {image}: {code}")]
    ImageNotRetrieved {
        /// The repository.
        repository: String,
        /// The tag or digest that was asked for.
        image: String,
        /// The failure code, e.g. `ImageNotFound`.
        code: String,
        /// ECR's explanation.
        reason: Option<String>,
    },
    /// A digest from ECR or a resolver is not a valid digest.
    #[error("invalid digest {digest:?}")]
    InvalidDigest {
        /// The text that failed to parse.
        digest: String,
        /// Why it is invalid.
        #[source]
        source: wharf_oci_core::digest::DigestError,
    },
    /// A string is not an ECR image URI.
    #[error("{input:?} is not an ECR image URI")]
    NotAnEcrUri {
        /// The text that failed to parse.
        input: String,
    },
    /// A repository filter pattern is not a valid regular expression.
    #[error("invalid repository pattern {pattern:?}")]
    InvalidPattern {
        /// The pattern.
        pattern: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// The mapping configuration is invalid.
    #[error("invalid mapping configuration: {reason}")]
    InvalidMapping {
        /// What is wrong, e.g. which rule.
        reason: String,
        /// The parse error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// A digest resolver could not pin a reference.
    #[error("cannot resolve the digest of {reference}")]
    Resolve {
        /// The reference that was to be pinned.
        reference: String,
        /// What failed.
        #[source]
        source: BoxError,
    },
}

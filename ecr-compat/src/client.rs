//! The ECR API client: configuration, enumeration streams and the authorization token.
//!
//! Requests go through the official AWS SDK, so the credential chain (environment, shared
//! profile, web identity for IRSA, ECS and EC2 instance roles), SigV4 signing and the retry of
//! throttled calls are the SDK's. TLS is rustls with ring.

use std::time::SystemTime;

use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::operation::RequestId;
use aws_sdk_ecr::types as sdk;
use aws_smithy_http_client::tls;
use futures::{Stream, StreamExt, TryStreamExt, stream};
use tracing::Instrument as _;
use wharf_oci_core::digest::Digest;
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::secret::Secret;

use crate::auth::AuthorizationToken;
use crate::error::EcrError;
use crate::model::{ImageDetail, ImageId, ImageManifest, Repository, RepositoryFilter, TagStatus};

/// The most image ids `BatchGetImage` accepts in one call.
pub const BATCH_GET_IMAGE_LIMIT: usize = 100;

/// The page size asked of the list operations (ECR's maximum).
const PAGE_SIZE: i32 = 1000;

/// Manifest media types accepted by [`EcrClient::manifests`] unless the caller chooses others.
pub const DEFAULT_ACCEPTED_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Builds an [`EcrClient`]. Every setter is optional.
#[derive(Debug, Default)]
#[must_use]
pub struct EcrClientBuilder {
    region: Option<String>,
    endpoint_url: Option<String>,
    static_credentials: Option<(String, Secret)>,
    retry: Option<RetryPolicy>,
}

impl EcrClientBuilder {
    /// The AWS region. Default: the SDK's chain (`AWS_REGION`, the profile, IMDS).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sends ECR API calls to this URL instead of `https://api.ecr.<region>.amazonaws.com`
    /// (moto or a mock in tests, a VPC endpoint in production). Default: the SDK's resolution.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Uses fixed access keys instead of the SDK's credential chain. Default: the chain.
    pub fn static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<Secret>,
    ) -> Self {
        self.static_credentials = Some((access_key_id.into(), secret_access_key.into()));
        self
    }

    /// How throttled and failed calls are retried: attempts, first backoff step and largest
    /// step (the SDK adds jitter). Default: the SDK's standard mode (3 attempts, 1 s to 20 s).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Loads the SDK configuration and builds the client.
    pub async fn build(self) -> Result<EcrClient, EcrError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        );
        if let Some(region) = self.region {
            loader = loader.region(Region::new(region));
        }
        if let Some((key_id, secret)) = self.static_credentials {
            let credentials = Credentials::new(
                key_id,
                secret.expose(),
                None,
                None,
                "wharf-static-credentials",
            );
            loader = loader.credentials_provider(credentials);
        }
        let shared = loader.load().await;
        let Some(region) = shared.region().map(ToString::to_string) else {
            return Err(EcrError::NoRegion);
        };

        let mut config = aws_sdk_ecr::config::Builder::from(&shared);
        if let Some(url) = self.endpoint_url {
            config = config.endpoint_url(url);
        }
        if let Some(policy) = self.retry {
            config = config.retry_config(sdk_retry_config(&policy));
        }
        Ok(EcrClient {
            sdk: aws_sdk_ecr::Client::from_conf(config.build()),
            region,
        })
    }
}

/// The SDK's retry configuration equivalent to a workspace [`RetryPolicy`].
fn sdk_retry_config(policy: &RetryPolicy) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(policy.attempts())
        .with_initial_backoff(policy.backoff_step(1))
        .with_max_backoff(policy.backoff_step(u32::MAX))
}

/// A client for the ECR API of one region.
///
/// Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct EcrClient {
    sdk: aws_sdk_ecr::Client,
    region: String,
}

impl EcrClient {
    /// A builder with the SDK's defaults.
    pub fn builder() -> EcrClientBuilder {
        EcrClientBuilder::default()
    }

    /// Wraps an SDK client configured elsewhere.
    pub fn from_sdk(sdk: aws_sdk_ecr::Client) -> Self {
        let region = sdk
            .config()
            .region()
            .map(ToString::to_string)
            .unwrap_or_default();
        Self { sdk, region }
    }

    /// The SDK client, for the operations this crate does not wrap.
    pub fn sdk(&self) -> &aws_sdk_ecr::Client {
        &self.sdk
    }

    /// The region the client talks to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Every repository that passes `filter`, following `nextToken` until the last page.
    pub fn repositories(
        &self,
        filter: RepositoryFilter,
    ) -> impl Stream<Item = Result<Repository, EcrError>> + Send + 'static {
        let pages = self
            .sdk
            .describe_repositories()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .items()
            .send();
        stream::unfold(pages, |mut pages| async move {
            pages.next().await.map(|item| (item, pages))
        })
        .map_err(|error| api_error("DescribeRepositories", error))
        .map_ok(|repository| convert_repository(&repository))
        .try_filter(move |repository| std::future::ready(filter.matches(&repository.name)))
    }

    /// Every image of `repository` with tags, digest, media types, size and push time.
    pub fn images(
        &self,
        repository: &str,
    ) -> impl Stream<Item = Result<ImageDetail, EcrError>> + Send + 'static {
        let pages = self
            .sdk
            .describe_images()
            .repository_name(repository)
            .into_paginator()
            .page_size(PAGE_SIZE)
            .items()
            .send();
        stream::unfold(pages, |mut pages| async move {
            pages.next().await.map(|item| (item, pages))
        })
        .map_err(|error| api_error("DescribeImages", error))
        .and_then(|detail| std::future::ready(convert_image_detail(&detail)))
    }

    /// The image ids of `repository` (one per tag, plus one per untagged digest).
    pub fn image_ids(
        &self,
        repository: &str,
        status: TagStatus,
    ) -> impl Stream<Item = Result<ImageId, EcrError>> + Send + 'static {
        let mut request = self.sdk.list_images().repository_name(repository);
        if let Some(tag_status) = sdk_tag_status(status) {
            request = request.filter(
                sdk::ListImagesFilter::builder()
                    .tag_status(tag_status)
                    .build(),
            );
        }
        let pages = request.into_paginator().page_size(PAGE_SIZE).items().send();
        stream::unfold(pages, |mut pages| async move {
            pages.next().await.map(|item| (item, pages))
        })
        .map_err(|error| api_error("ListImages", error))
        .and_then(|id| std::future::ready(convert_image_id(&id)))
    }

    /// The manifests of `ids`, fetched with `BatchGetImage` in batches of at most 100.
    ///
    /// `accepted_media_types` empty means [`DEFAULT_ACCEPTED_MEDIA_TYPES`]. An image ECR cannot
    /// return appears in the stream as [`EcrError::ImageNotRetrieved`] and the stream goes on.
    pub fn manifests(
        &self,
        repository: &str,
        ids: &[ImageId],
        accepted_media_types: &[&str],
    ) -> impl Stream<Item = Result<ImageManifest, EcrError>> + Send + 'static {
        let accepted: Vec<String> = if accepted_media_types.is_empty() {
            DEFAULT_ACCEPTED_MEDIA_TYPES
                .iter()
                .map(|t| (*t).to_owned())
                .collect()
        } else {
            accepted_media_types
                .iter()
                .map(|t| (*t).to_owned())
                .collect()
        };
        let batches: Vec<Vec<ImageId>> = ids
            .chunks(BATCH_GET_IMAGE_LIMIT)
            .map(<[ImageId]>::to_vec)
            .collect();
        let client = self.clone();
        let repository = repository.to_owned();
        stream::iter(batches)
            .then(move |batch| {
                let (client, repository, accepted) =
                    (client.clone(), repository.clone(), accepted.clone());
                async move { client.batch_get_image(&repository, batch, accepted).await }
            })
            .flat_map(|outcome| match outcome {
                Ok(items) => stream::iter(items),
                Err(error) => stream::iter(vec![Err(error)]),
            })
    }

    async fn batch_get_image(
        &self,
        repository: &str,
        batch: Vec<ImageId>,
        accepted: Vec<String>,
    ) -> Result<Vec<Result<ImageManifest, EcrError>>, EcrError> {
        let span = tracing::debug_span!("ecr.batch_get_image", repository, images = batch.len());
        let output = self
            .sdk
            .batch_get_image()
            .repository_name(repository)
            .set_image_ids(Some(batch.iter().map(sdk_image_id).collect()))
            .set_accepted_media_types(Some(accepted))
            .send()
            .instrument(span)
            .await
            .map_err(|error| api_error("BatchGetImage", error))?;

        let images = output
            .images()
            .iter()
            .map(|image| convert_image(repository, image));
        let failures = output
            .failures()
            .iter()
            .map(|failure| Err(convert_failure(repository, failure)));
        Ok(images.chain(failures).collect())
    }

    /// A fresh authorization token for the registry of the client's account and region.
    pub async fn authorization_token(&self) -> Result<AuthorizationToken, EcrError> {
        const OPERATION: &str = "GetAuthorizationToken";
        let output = self
            .sdk
            .get_authorization_token()
            .send()
            .instrument(tracing::debug_span!("ecr.get_authorization_token"))
            .await
            .map_err(|error| api_error(OPERATION, error))?;
        let data = output
            .authorization_data()
            .first()
            .ok_or(EcrError::MissingField {
                operation: OPERATION,
                field: "authorizationData",
            })?;
        let token = data.authorization_token().ok_or(EcrError::MissingField {
            operation: OPERATION,
            field: "authorizationToken",
        })?;
        let expires_at = data
            .expires_at()
            .and_then(|at| SystemTime::try_from(*at).ok())
            .ok_or(EcrError::MissingField {
                operation: OPERATION,
                field: "expiresAt",
            })?;
        AuthorizationToken::decode(token, expires_at, data.proxy_endpoint().map(str::to_owned))
    }

    /// The digest of `tag` in `repository` of account `registry_id` (`None`: the caller's).
    pub async fn digest_of_tag(
        &self,
        registry_id: Option<&str>,
        repository: &str,
        tag: &str,
    ) -> Result<Digest, EcrError> {
        let output = self
            .sdk
            .describe_images()
            .set_registry_id(registry_id.map(str::to_owned))
            .repository_name(repository)
            .image_ids(sdk::ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .instrument(tracing::debug_span!("ecr.describe_image", repository, tag))
            .await
            .map_err(|error| api_error("DescribeImages", error))?;
        let detail = output
            .image_details()
            .first()
            .ok_or(EcrError::MissingField {
                operation: "DescribeImages",
                field: "imageDetails",
            })?;
        Ok(convert_image_detail(detail)?.digest)
    }
}

/// Turns an SDK error into the crate's error, keeping the code, message and request id.
fn api_error<E>(operation: &'static str, error: SdkError<E>) -> EcrError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error
        .code()
        .map(|code| code.rsplit('#').next().unwrap_or(code).to_owned());
    let message = error.message().map(str::to_owned);
    let request_id = error.request_id().map(str::to_owned);
    tracing::debug!(operation, ?code, ?request_id, "ECR call failed");
    EcrError::Api {
        operation,
        code,
        message,
        request_id,
        source: Box::new(error),
    }
}

fn to_system_time(time: Option<&aws_sdk_ecr::primitives::DateTime>) -> Option<SystemTime> {
    time.and_then(|time| SystemTime::try_from(*time).ok())
}

fn parse_digest(text: &str) -> Result<Digest, EcrError> {
    Digest::parse(text).map_err(|source| EcrError::InvalidDigest {
        digest: text.to_owned(),
        source,
    })
}

fn convert_repository(repository: &sdk::Repository) -> Repository {
    Repository {
        name: repository.repository_name().unwrap_or_default().to_owned(),
        uri: repository.repository_uri().map(str::to_owned),
        registry_id: repository.registry_id().map(str::to_owned),
        arn: repository.repository_arn().map(str::to_owned),
        created_at: to_system_time(repository.created_at()),
    }
}

fn convert_image_detail(detail: &sdk::ImageDetail) -> Result<ImageDetail, EcrError> {
    let digest = detail.image_digest().ok_or(EcrError::MissingField {
        operation: "DescribeImages",
        field: "imageDigest",
    })?;
    Ok(ImageDetail {
        repository: detail.repository_name().unwrap_or_default().to_owned(),
        digest: parse_digest(digest)?,
        tags: detail.image_tags().to_vec(),
        manifest_media_type: detail.image_manifest_media_type().map(str::to_owned),
        artifact_media_type: detail.artifact_media_type().map(str::to_owned),
        size_bytes: detail
            .image_size_in_bytes()
            .and_then(|size| u64::try_from(size).ok()),
        pushed_at: to_system_time(detail.image_pushed_at()),
    })
}

fn convert_image_id(id: &sdk::ImageIdentifier) -> Result<ImageId, EcrError> {
    Ok(ImageId {
        digest: id.image_digest().map(parse_digest).transpose()?,
        tag: id.image_tag().map(str::to_owned),
    })
}

fn convert_image(repository: &str, image: &sdk::Image) -> Result<ImageManifest, EcrError> {
    let id = image.image_id().map(convert_image_id).transpose()?;
    let manifest = image.image_manifest().ok_or(EcrError::MissingField {
        operation: "BatchGetImage",
        field: "imageManifest",
    })?;
    Ok(ImageManifest {
        repository: repository.to_owned(),
        id: id.unwrap_or(ImageId {
            digest: None,
            tag: None,
        }),
        media_type: image.image_manifest_media_type().map(str::to_owned),
        manifest: manifest.to_owned(),
    })
}

fn convert_failure(repository: &str, failure: &sdk::ImageFailure) -> EcrError {
    let image = failure.image_id().map_or_else(String::new, |id| {
        id.image_tag()
            .map(|tag| format!(":{tag}"))
            .or_else(|| id.image_digest().map(|digest| format!("@{digest}")))
            .unwrap_or_default()
    });
    EcrError::ImageNotRetrieved {
        repository: repository.to_owned(),
        image,
        code: failure
            .failure_code()
            .map_or_else(|| "Unknown".to_owned(), |c| c.as_str().to_owned()),
        reason: failure.failure_reason().map(str::to_owned),
    }
}

fn sdk_image_id(id: &ImageId) -> sdk::ImageIdentifier {
    sdk::ImageIdentifier::builder()
        .set_image_digest(id.digest.as_ref().map(ToString::to_string))
        .set_image_tag(id.tag.clone())
        .build()
}

fn sdk_tag_status(status: TagStatus) -> Option<sdk::TagStatus> {
    match status {
        TagStatus::Any => None,
        TagStatus::Tagged => Some(sdk::TagStatus::Tagged),
        TagStatus::Untagged => Some(sdk::TagStatus::Untagged),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn retry_policy_maps_to_the_sdk() {
        let policy = RetryPolicy::default()
            .max_attempts(5)
            .base_delay(Duration::from_millis(10))
            .max_delay(Duration::from_millis(80));
        let config = sdk_retry_config(&policy);
        assert_eq!(config.max_attempts(), 5);
        assert_eq!(config.initial_backoff(), Duration::from_millis(10));
        assert_eq!(config.max_backoff(), Duration::from_millis(80));
    }
}

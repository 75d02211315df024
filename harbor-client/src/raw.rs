//! The escape hatch: any generated operation, sent as the spec describes it.

use crate::client::{ApiResponse, HarborClient};
use crate::error::HarborError;
use crate::operation::Operation;

/// Sends generated operations ([`generated::operations`](crate::generated::operations))
/// through the client's pipeline (auth, request ids, retries, typed errors).
///
/// ```no_run
/// # async fn demo(harbor: wharf_harbor_client::HarborClient) -> Result<(), wharf_harbor_client::HarborError> {
/// use wharf_harbor_client::generated::operations::GetProjectSummary;
///
/// let summary = harbor
///     .raw()
///     .send(GetProjectSummary { project_name_or_id: "library".into(), ..Default::default() })
///     .await?;
/// println!("{:?} (request {})", summary.value.repo_count, summary.request_id);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RawClient {
    client: HarborClient,
}

impl RawClient {
    pub(crate) fn new(client: HarborClient) -> Self {
        Self { client }
    }

    /// Sends the operation; any 2xx is a success, declared in the spec or not.
    pub async fn send<O: Operation>(
        &self,
        operation: O,
    ) -> Result<ApiResponse<O::Output>, HarborError> {
        self.client.execute(&operation).await
    }
}

//! ECR image URIs: `<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag][@digest]`.
//!
//! The registry host comes in the forms listed in AWS's "Amazon ECR endpoints and quotas"
//! and "Making requests to Amazon ECR registries" pages:
//!
//! | endpoint | host |
//! |---|---|
//! | IPv4 | `<account>.dkr.ecr.<region>.amazonaws.com` |
//! | IPv4, China regions | `<account>.dkr.ecr.<region>.amazonaws.com.cn` |
//! | FIPS | `<account>.dkr.ecr-fips.<region>.amazonaws.com` |
//! | dual-stack | `<account>.dkr-ecr.<region>.on.aws` |
//! | dual-stack FIPS | `<account>.dkr-ecr-fips.<region>.on.aws` |
//!
//! ```
//! use wharf_ecr_compat::uri::{EcrImage, EndpointKind};
//!
//! let image = EcrImage::parse("123456789012.dkr-ecr.eu-west-1.on.aws/team/api:1.4").unwrap();
//! assert_eq!(image.registry().account(), "123456789012");
//! assert_eq!(image.registry().region(), "eu-west-1");
//! assert_eq!(image.registry().endpoint(), EndpointKind::DualStack);
//! assert_eq!(image.repository(), "team/api");
//! assert_eq!(image.tag(), Some("1.4"));
//! ```

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use wharf_oci_core::digest::Digest;
use wharf_oci_core::reference::Reference;

use crate::error::EcrError;

static ECR_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([0-9]{12})\.(dkr\.ecr|dkr\.ecr-fips|dkr-ecr|dkr-ecr-fips)\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.(amazonaws\.com|amazonaws\.com\.cn|on\.aws)$",
    )
    .expect("the ECR host pattern compiles")
});

/// Which of ECR's registry endpoints a host names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EndpointKind {
    /// `dkr.ecr.<region>.amazonaws.com`.
    Standard,
    /// `dkr.ecr.<region>.amazonaws.com.cn` (China regions).
    China,
    /// `dkr.ecr-fips.<region>.amazonaws.com`.
    Fips,
    /// `dkr-ecr.<region>.on.aws` (IPv4 and IPv6).
    DualStack,
    /// `dkr-ecr-fips.<region>.on.aws`.
    DualStackFips,
}

/// An ECR private registry: an account in a region, reached through one endpoint kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EcrRegistry {
    account: String,
    region: String,
    endpoint: EndpointKind,
}

impl EcrRegistry {
    /// The standard (IPv4) registry of `account` in `region`.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        let region = region.into();
        let endpoint = if region.starts_with("cn-") {
            EndpointKind::China
        } else {
            EndpointKind::Standard
        };
        Self {
            account: account.into(),
            region,
            endpoint,
        }
    }

    /// Reads a registry host; `None` when the host is not an ECR private registry.
    pub fn from_host(host: &str) -> Option<Self> {
        let host = host.to_ascii_lowercase();
        let parts = ECR_HOST.captures(&host)?;
        let endpoint = match (&parts[2], &parts[4]) {
            ("dkr.ecr", "amazonaws.com") => EndpointKind::Standard,
            ("dkr.ecr", "amazonaws.com.cn") => EndpointKind::China,
            ("dkr.ecr-fips", "amazonaws.com") => EndpointKind::Fips,
            ("dkr-ecr", "on.aws") => EndpointKind::DualStack,
            ("dkr-ecr-fips", "on.aws") => EndpointKind::DualStackFips,
            _ => return None,
        };
        Some(Self {
            account: parts[1].to_owned(),
            region: parts[3].to_owned(),
            endpoint,
        })
    }

    /// The 12-digit account id (ECR's registry id).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The region, e.g. `eu-west-1`.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The endpoint kind of the host this registry was read from.
    pub fn endpoint(&self) -> EndpointKind {
        self.endpoint
    }

    /// The same registry reached through another endpoint kind.
    #[must_use]
    pub fn with_endpoint(&self, endpoint: EndpointKind) -> Self {
        Self {
            endpoint,
            ..self.clone()
        }
    }

    /// The registry host, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`.
    pub fn host(&self) -> String {
        let (service, suffix) = match self.endpoint {
            EndpointKind::Standard => ("dkr.ecr", "amazonaws.com"),
            EndpointKind::China => ("dkr.ecr", "amazonaws.com.cn"),
            EndpointKind::Fips => ("dkr.ecr-fips", "amazonaws.com"),
            EndpointKind::DualStack => ("dkr-ecr", "on.aws"),
            EndpointKind::DualStackFips => ("dkr-ecr-fips", "on.aws"),
        };
        format!("{}.{service}.{}.{suffix}", self.account, self.region)
    }
}

impl fmt::Display for EcrRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host())
    }
}

/// An image in an ECR private registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EcrImage {
    registry: EcrRegistry,
    reference: Reference,
}

impl EcrImage {
    /// Parses an ECR image URI.
    pub fn parse(input: &str) -> Result<Self, EcrError> {
        let not_ecr = || EcrError::NotAnEcrUri {
            input: input.to_owned(),
        };
        let reference = Reference::parse(input).map_err(|_| not_ecr())?;
        Self::from_reference(reference).ok_or_else(not_ecr)
    }

    /// The image when `reference` points into an ECR private registry.
    pub fn from_reference(reference: Reference) -> Option<Self> {
        let registry = EcrRegistry::from_host(reference.registry())?;
        Some(Self {
            registry,
            reference,
        })
    }

    /// The registry.
    pub fn registry(&self) -> &EcrRegistry {
        &self.registry
    }

    /// The repository, e.g. `team/api`.
    pub fn repository(&self) -> &str {
        self.reference.repository()
    }

    /// The tag, if the URI has one.
    pub fn tag(&self) -> Option<&str> {
        self.reference.tag()
    }

    /// The digest, if the URI has one.
    pub fn digest(&self) -> Option<&Digest> {
        self.reference.digest()
    }

    /// The whole URI as an oci-core reference.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }
}

impl fmt::Display for EcrImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reference.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_endpoint_kind() {
        let cases = [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                EndpointKind::Standard,
                "us-east-1",
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                EndpointKind::China,
                "cn-north-1",
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
                EndpointKind::Fips,
                "us-gov-west-1",
            ),
            (
                "123456789012.dkr-ecr.ap-southeast-2.on.aws",
                EndpointKind::DualStack,
                "ap-southeast-2",
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-2.on.aws",
                EndpointKind::DualStackFips,
                "us-east-2",
            ),
        ];
        for (host, kind, region) in cases {
            let registry = EcrRegistry::from_host(host).unwrap_or_else(|| panic!("{host}"));
            assert_eq!(registry.endpoint(), kind, "{host}");
            assert_eq!(registry.region(), region);
            assert_eq!(registry.account(), "123456789012");
            assert_eq!(registry.host(), host, "round trip");
        }
    }

    #[test]
    fn rejects_hosts_that_only_look_similar() {
        for host in [
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.on.aws",
            "123456789012.dkr-ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "public.ecr.aws",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
        ] {
            assert!(EcrRegistry::from_host(host).is_none(), "{host}");
        }
    }

    #[test]
    fn parses_tags_and_digests() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let uri = format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api@{digest}");
        let image = EcrImage::parse(&uri).unwrap();
        assert_eq!(image.repository(), "team/api");
        assert_eq!(image.tag(), None);
        assert_eq!(image.digest().map(ToString::to_string), Some(digest));
        assert_eq!(image.to_string(), uri);

        let china =
            EcrImage::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app").unwrap();
        assert_eq!(
            china.registry(),
            &EcrRegistry::new("123456789012", "cn-north-1")
        );
        assert!(EcrImage::parse("nginx:1.27").is_err());
        assert!(EcrImage::parse("ghcr.io/team/app:1").is_err());
    }
}

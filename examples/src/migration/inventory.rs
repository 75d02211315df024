//! Listing what a migration moves: every tag of every source repository and its Harbor name.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash as _, Hasher as _};

use anyhow::Context as _;
use futures::TryStreamExt as _;
use serde::Serialize;
use wharf_ecr_compat::EcrClient;
use wharf_ecr_compat::mapping::Mapping;
use wharf_ecr_compat::model::RepositoryFilter;
use wharf_ecr_compat::uri::{EcrImage, EcrRegistry};
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::reference::Reference;

use super::config::SourceConfig;

/// One tag to move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Where it is read from.
    #[serde(serialize_with = "as_string")]
    pub source: Reference,
    /// Where it goes in Harbor.
    #[serde(serialize_with = "as_string")]
    pub target: Reference,
}

impl Item {
    /// The Harbor project of the target (its first path component).
    pub fn project(&self) -> &str {
        self.target
            .repository()
            .split('/')
            .next()
            .unwrap_or_default()
    }
}

fn as_string<S: serde::Serializer>(
    reference: &Reference,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(reference)
}

/// An image that cannot be migrated as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The source image.
    pub source: String,
    /// Why.
    pub reason: String,
}

/// Everything the sources hold, mapped to Harbor.
#[derive(Debug, Default, Serialize)]
pub struct Inventory {
    /// Tags to move.
    pub items: Vec<Item>,
    /// Images without a Harbor name.
    pub skipped: Vec<Skipped>,
}

impl Inventory {
    /// Keeps this shard's part: whole repositories (so their shared layers mount) are dealt to
    /// shards by a hash of the source repository. `DefaultHasher::new()` uses fixed keys, so
    /// every pod running the same binary deals the same way.
    #[must_use]
    pub fn shard(mut self, index: usize, count: usize) -> Self {
        self.items.retain(|item| {
            let mut hasher = DefaultHasher::new();
            item.source.registry().hash(&mut hasher);
            item.source.repository().hash(&mut hasher);
            (hasher.finish() % count as u64) as usize == index
        });
        self
    }
}

/// Lists every source.
pub async fn collect(
    sources: &[SourceConfig],
    registry: &RegistryClient,
    harbor_registry: &str,
    ecr_clients: &[Option<EcrClient>],
) -> anyhow::Result<Inventory> {
    let mut inventory = Inventory::default();
    for (source, ecr) in sources.iter().zip(ecr_clients) {
        match (source, ecr) {
            (SourceConfig::Ecr { .. }, Some(ecr)) => {
                collect_ecr(source, ecr, &mut inventory).await?;
            }
            (
                SourceConfig::Registry {
                    registry: host,
                    repositories,
                    project,
                },
                _,
            ) => {
                collect_registry(
                    registry,
                    host,
                    repositories,
                    project,
                    harbor_registry,
                    &mut inventory,
                )
                .await?;
            }
            (SourceConfig::Ecr { .. }, None) => unreachable!("every ECR source has a client"),
        }
    }
    inventory
        .items
        .sort_by_key(|item| (item.source.to_string(), item.target.to_string()));
    Ok(inventory)
}

async fn collect_ecr(
    source: &SourceConfig,
    ecr: &EcrClient,
    inventory: &mut Inventory,
) -> anyhow::Result<()> {
    let SourceConfig::Ecr {
        account,
        region,
        prefix,
        pattern,
        registry_host,
        mapping,
        ..
    } = source
    else {
        return Ok(());
    };
    let mapping_text = std::fs::read_to_string(mapping)
        .with_context(|| format!("cannot read {}", mapping.display()))?;
    let mapping = Mapping::from_toml(&mapping_text)?;
    let filter = match (prefix, pattern) {
        (_, Some(pattern)) => RepositoryFilter::pattern(pattern)?,
        (Some(prefix), None) => RepositoryFilter::prefix(prefix.clone()),
        (None, None) => RepositoryFilter::All,
    };
    let ecr_host = EcrRegistry::new(account.clone(), region.clone()).host();
    let read_host = registry_host.clone().unwrap_or_else(|| ecr_host.clone());
    let repositories: Vec<_> = ecr.repositories(filter).try_collect().await?;
    for repository in repositories {
        let images: Vec<_> = ecr.images(&repository.name).try_collect().await?;
        for image in images {
            for tag in &image.tags {
                let uri = format!("{ecr_host}/{}:{tag}", repository.name);
                let ecr_image = EcrImage::parse(&uri)?;
                match mapping.map(&ecr_image) {
                    Ok(target) => {
                        let source =
                            Reference::parse(&format!("{read_host}/{}:{tag}", repository.name))?;
                        inventory.items.push(Item { source, target });
                    }
                    Err(unmapped) => inventory.skipped.push(Skipped {
                        source: uri,
                        reason: unmapped.to_string(),
                    }),
                }
            }
        }
    }
    Ok(())
}

async fn collect_registry(
    client: &RegistryClient,
    host: &str,
    repositories: &[String],
    project: &str,
    harbor_registry: &str,
    inventory: &mut Inventory,
) -> anyhow::Result<()> {
    let repositories: Vec<String> = if repositories.is_empty() {
        client
            .catalog(host, None)
            .try_collect()
            .await
            .with_context(|| format!("cannot list the catalog of {host}"))?
    } else {
        repositories.to_vec()
    };
    for repository in repositories {
        let source_repo = Reference::parse(&format!("{host}/{repository}"))?;
        let tags: Vec<String> = client
            .list_tags(&source_repo, None)
            .try_collect()
            .await
            .with_context(|| format!("cannot list the tags of {source_repo}"))?;
        let target_repo = Reference::parse(&format!("{harbor_registry}/{project}/{repository}"))?;
        for tag in tags {
            inventory.items.push(Item {
                source: source_repo.with_tag(&tag)?,
                target: target_repo.with_tag(&tag)?,
            });
        }
    }
    Ok(())
}

//! The corpus copied through fault-injecting proxies in front of the source and the
//! destination: everything arrives byte for byte; a repository failing permanently fails
//! alone, leaves no tag behind, and a second run completes it.

use futures::StreamExt as _;
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::copy::{BatchReport, CopyEngine, CopyOptions, CopyRequest};
use wharf_testkit::fault_proxy::{FaultConfig, FaultProxy};
use wharf_testkit::services;

use super::corpus::{self, CorpusImage, Verified};

const FAULT_RATE: f64 = 0.1;

struct Setup {
    registry: String,
    prefix: String,
    corpus: Vec<CorpusImage>,
    source: FaultProxy,
    destination: FaultProxy,
    client: RegistryClient,
}

async fn setup(seed: u64) -> Setup {
    let registry = services::registry_plain().host;
    let prefix = format!("reliability-{}", uuid::Uuid::new_v4().simple());
    let corpus = corpus::build(&format!("{prefix}/src"), seed);
    let direct = corpus::client(&[&registry]);
    corpus::push(&direct, &registry, &corpus).await;
    let source = FaultProxy::start(&registry, FaultConfig::new(seed).rate(FAULT_RATE))
        .await
        .expect("source proxy");
    let destination = FaultProxy::start(&registry, FaultConfig::new(seed + 1).rate(FAULT_RATE))
        .await
        .expect("destination proxy");
    let client = corpus::client(&[&registry, &source.host(), &destination.host()]);
    Setup {
        registry,
        prefix,
        corpus,
        source,
        destination,
        client,
    }
}

impl Setup {
    fn destination_repository(&self, run: &str, entry: &CorpusImage) -> String {
        let name = entry
            .repository
            .rsplit('/')
            .next()
            .expect("repository name");
        format!("{}/{run}/{name}", self.prefix)
    }

    fn requests(&self, run: &str) -> Vec<CopyRequest> {
        self.corpus
            .iter()
            .map(|entry| {
                let source = corpus::reference(&self.source.host(), &entry.repository, entry.tag);
                let target = self.destination_repository(run, entry);
                let destination = corpus::reference(&self.destination.host(), &target, entry.tag);
                CopyRequest::new(source, [destination])
            })
            .collect()
    }

    async fn copy(&self, run: &str) -> BatchReport {
        let options = CopyOptions::default()
            .blob_jobs(4)
            .retry(corpus::quick_retries());
        let engine = CopyEngine::new(self.client.clone(), options);
        engine.copy(&self.requests(run)).await
    }

    /// Verifies every image of the run whose repository is not `except`, straight from the
    /// registry (no proxy).
    async fn verify(&self, run: &str, except: Option<&str>) -> Verified {
        let checks = self
            .corpus
            .iter()
            .map(|entry| (entry, self.destination_repository(run, entry)))
            .filter(|(_, repository)| Some(repository.as_str()) != except)
            .map(|(entry, repository)| async move {
                corpus::verify_image(&self.client, &self.registry, &repository, entry).await
            });
        let results: Vec<_> = futures::stream::iter(checks)
            .buffer_unordered(4)
            .collect()
            .await;
        let mut total = Verified::default();
        for result in results {
            let verified = result.unwrap_or_else(|problem| panic!("{problem}"));
            total.manifests += verified.manifests;
            total.blobs += verified.blobs;
            total.bytes += verified.bytes;
        }
        total
    }
}

fn assert_all_copied(report: &BatchReport) {
    let failures: Vec<_> = report
        .failures()
        .map(|failure| format!("{}: {:?}", failure.source, failure.error))
        .collect();
    assert!(failures.is_empty(), "copy failed: {failures:#?}");
    assert_eq!(
        report.references.len(),
        corpus::REPOSITORIES * corpus::TAGS.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_corpus_survives_a_ten_percent_fault_rate_byte_for_byte() {
    let setup = setup(rand::random::<u32>().into()).await;
    let report = setup.copy("dst").await;
    assert_all_copied(&report);
    let verified = setup.verify("dst", None).await;
    let (source, destination) = (setup.source.counts(), setup.destination.counts());
    println!(
        "copy under faults: {} images, {} manifests and {} blobs ({} bytes) verified; \
         source proxy {source:?}; destination proxy {destination:?}",
        report.references.len(),
        verified.manifests,
        verified.blobs,
        verified.bytes,
    );
    assert_eq!(
        verified.manifests,
        corpus::REPOSITORIES * corpus::TAGS.len()
    );
    assert!(
        source.injected() + destination.injected() > 0,
        "no fault was injected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_repository_failing_for_good_fails_alone_and_a_rerun_completes_it() {
    let setup = setup(rand::random::<u32>().into()).await;
    let broken = setup.destination_repository("dst", &setup.corpus[3 * corpus::TAGS.len()]);
    setup.destination.fail_repository(&broken);

    let report = setup.copy("dst").await;
    let failed: Vec<_> = report.failures().collect();
    assert_eq!(failed.len(), corpus::TAGS.len(), "{failed:#?}");
    for failure in &failed {
        assert!(
            failure.destinations.iter().all(|d| d.contains(&broken)),
            "{failure:?}"
        );
        assert!(failure.error.as_ref().is_some_and(|e| !e.is_empty()));
    }
    setup.verify("dst", Some(&broken)).await;
    for tag in corpus::TAGS {
        let raw = corpus::skopeo_raw(&setup.registry, &broken, tag).await;
        assert!(raw.is_none(), "{broken}:{tag} exists after a failed copy");
    }
    println!(
        "permanent failure: {} of {} references failed, naming {broken}: {:?}; destination \
         proxy {:?}",
        failed.len(),
        report.references.len(),
        failed[0].error,
        setup.destination.counts(),
    );

    setup.destination.heal_repository(&broken);
    setup.destination.set_rate(0.0);
    setup.source.set_rate(0.0);
    let rerun = setup.copy("dst").await;
    assert_all_copied(&rerun);
    let verified = setup.verify("dst", None).await;
    assert_eq!(
        verified.manifests,
        corpus::REPOSITORIES * corpus::TAGS.len()
    );
}

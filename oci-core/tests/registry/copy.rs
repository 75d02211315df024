//! The copy engine against real registries: plain HTTP source, token-auth destination.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::copy::{CopyEngine, CopyEvent, CopyOptions, CopyRequest, CopyStatus};
use wharf_oci_core::credentials::{Credential, StaticCredentials};
use wharf_oci_core::reference::Reference;
use wharf_oci_core::transport::TransportConfig;
use wharf_testkit::fault_proxy::{FaultConfig, FaultProxy};
use wharf_testkit::image::{ArtifactBuilder, Flavor, ImageBuilder, IndexBuilder};
use wharf_testkit::services::{self, RegistryEndpoint};

use super::support::{skopeo_inspect, unique_reference};

/// One client for both registries, with the token registry's credentials.
fn client(source: &RegistryEndpoint, target: &RegistryEndpoint) -> RegistryClient {
    let mut credentials = StaticCredentials::new();
    for endpoint in [source, target] {
        if let Some((user, password)) = endpoint.credentials() {
            credentials = credentials.with(&endpoint.host, Credential::basic(user, password));
        }
    }
    let transport = TransportConfig::builder()
        .plain_http_host(&source.host)
        .plain_http_host(&target.host)
        .build()
        .expect("transport");
    RegistryClient::builder()
        .transport(transport)
        .credentials(Arc::new(credentials))
        .build()
        .expect("client")
}

/// The same repository path and tag on another registry.
fn on(endpoint: &RegistryEndpoint, reference: &Reference) -> Reference {
    let tag = reference.tag().unwrap_or("latest");
    Reference::parse(&format!(
        "{}/{}:{tag}",
        endpoint.host,
        reference.repository()
    ))
    .expect("reference")
}

#[tokio::test]
async fn multi_arch_index_arrives_byte_identical_and_a_rerun_sends_nothing() {
    let (source, target) = (services::registry_plain(), services::registry_token());
    let client = client(&source, &target);
    let amd64 = ImageBuilder::new(Flavor::Oci)
        .layer(300_000)
        .layer(50_000)
        .build()
        .unwrap();
    let arm64 = ImageBuilder::new(Flavor::Oci)
        .platform("linux", "arm64", Some("v8"))
        .layer(200_000)
        .build()
        .unwrap();
    let index = IndexBuilder::new(Flavor::Oci)
        .image(amd64)
        .image(arm64)
        .build();
    let from = unique_reference(&source, "copy-index", "1.0");
    index.push(&client, &from).await.unwrap();
    let to = on(&target, &from);

    let engine = CopyEngine::new(client.clone(), CopyOptions::default());
    let report = engine
        .copy(&[CopyRequest::new(from.clone(), [to.clone()])])
        .await;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.references[0].status, CopyStatus::Copied);
    assert_eq!(
        report.references[0].blobs_copied, 5,
        "two configs and three layers"
    );
    assert_eq!(
        skopeo_inspect(&target, &to, true),
        index.bytes.to_vec(),
        "index bytes unchanged"
    );
    for child in &index.images {
        let child_ref = to.repository_reference().with_digest(child.digest.clone());
        assert_eq!(
            skopeo_inspect(&target, &child_ref, true),
            child.manifest.to_vec()
        );
    }

    let again = engine.copy(&[CopyRequest::new(from, [to])]).await;
    assert_eq!(again.references[0].status, CopyStatus::UpToDate);
    assert_eq!(again.bytes_copied(), 0);
}

#[tokio::test]
async fn a_batch_mounts_shared_layers_instead_of_sending_them_twice() {
    let (source, target) = (services::registry_plain(), services::registry_token());
    let client = client(&source, &target);
    let first = unique_reference(&source, "copy-shared-a", "v1");
    let second = unique_reference(&source, "copy-shared-b", "v1");
    let shared_seed: u64 = rand::random();
    let image_a = ImageBuilder::new(Flavor::Docker)
        .seed(shared_seed)
        .layer(400_000)
        .build()
        .unwrap();
    let image_b = ImageBuilder::new(Flavor::Docker)
        .seed(shared_seed)
        .layer(400_000)
        .label("app", "b")
        .build()
        .unwrap();
    image_a.push(&client, &first).await.unwrap();
    image_b.push(&client, &second).await.unwrap();

    let requests = [
        CopyRequest::new(first.clone(), [on(&target, &first)]),
        CopyRequest::new(second.clone(), [on(&target, &second)]),
    ];
    let engine = CopyEngine::new(client.clone(), CopyOptions::default());
    let plan = engine.plan(&requests).await;
    assert_eq!(
        plan.totals.blobs_to_mount, 1,
        "the shared layer is planned as a mount: {plan:#?}"
    );
    let report = engine.copy(&requests).await;
    assert!(report.succeeded(), "{report:#?}");
    let mounted: usize = report.references.iter().map(|r| r.blobs_mounted).sum();
    assert_eq!(mounted, 1, "{report:#?}");
    let digest = &image_b.layers[0].blob.digest;
    let mounted_into = on(&target, &second).repository_reference();
    assert!(
        client
            .blob_exists(&mounted_into, digest)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn referrers_follow_their_image() {
    let (source, target) = (services::registry_plain(), services::registry_token());
    let client = client(&source, &target);
    let image = ImageBuilder::new(Flavor::Oci)
        .layer(10_000)
        .build()
        .unwrap();
    let from = unique_reference(&source, "copy-referrers", "signed");
    image.push(&client, &from).await.unwrap();
    let signature =
        ArtifactBuilder::for_image("application/vnd.dev.cosign.artifact.sig.v1+json", &image)
            .payload(
                "application/vnd.dev.cosign.simplesigning.v1+json",
                &b"{\"critical\":{}}"[..],
            )
            .build();
    signature.push(&client, &from).await.unwrap();

    let to = on(&target, &from);
    let engine = CopyEngine::new(client.clone(), CopyOptions::default().referrers(true));
    let tagged_source = from.with_digest(image.digest.clone());
    let report = engine
        .copy(&[CopyRequest::new(tagged_source, [to.clone()])])
        .await;
    assert!(report.succeeded(), "{report:#?}");
    let referrers = client.referrers(&to, &image.digest, None).await.unwrap();
    let digests: Vec<_> = referrers
        .descriptors
        .iter()
        .map(|d| d.digest.clone())
        .collect();
    assert_eq!(digests, vec![signature.digest.clone()]);
}

#[tokio::test]
async fn an_interrupted_copy_resumes_without_resending_what_arrived() {
    let (source, target) = (services::registry_plain(), services::registry_token());
    let client = client(&source, &target);
    let image = ImageBuilder::new(Flavor::Oci)
        .layer(600_000)
        .layer(600_000)
        .layer(600_000)
        .build()
        .unwrap();
    let from = unique_reference(&source, "copy-resume", "v1");
    image.push(&client, &from).await.unwrap();
    let to = on(&target, &from);

    let stop = Arc::new(tokio::sync::Notify::new());
    let first_blob_done = Arc::new(AtomicBool::new(false));
    let observer = {
        let (stop, done) = (Arc::clone(&stop), Arc::clone(&first_blob_done));
        Arc::new(move |event: &CopyEvent, _: &_| {
            if matches!(event, CopyEvent::BlobFinished { .. }) && !done.swap(true, Ordering::SeqCst)
            {
                stop.notify_one();
            }
        })
    };
    let interrupted = CopyEngine::new(
        client.clone(),
        CopyOptions::default().blob_jobs(1).observer(observer),
    );
    let requests = [CopyRequest::new(from.clone(), [to.clone()])];
    tokio::select! {
        _ = interrupted.copy(&requests) => panic!("the copy should have been interrupted"),
        () = stop.notified() => {}
    }
    assert!(
        client.head_manifest(&to).await.unwrap().is_none(),
        "no tag before every blob is in"
    );

    let resumed = CopyEngine::new(client.clone(), CopyOptions::default())
        .copy(&requests)
        .await;
    assert!(resumed.succeeded(), "{resumed:#?}");
    let reference = &resumed.references[0];
    assert!(
        reference.blobs_skipped >= 1,
        "what arrived is not sent again: {reference:#?}"
    );
    assert!(reference.blobs_copied < 4, "{reference:#?}");
    assert_eq!(skopeo_inspect(&target, &to, true), image.manifest.to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_copy_stops_its_transfers() {
    let (source, target) = (services::registry_plain(), services::registry_token());
    let image = ImageBuilder::new(Flavor::Oci)
        .layer(600_000)
        .layer(600_000)
        .layer(600_000)
        .build()
        .unwrap();
    let from = unique_reference(&source, "copy-cancel", "v1");
    image.push(&client(&source, &target), &from).await.unwrap();
    // The source is read at 1 MB/s: the three layers need about 1.8 s together.
    let paced = FaultProxy::start(&source.host, FaultConfig::new(0).bandwidth(1_000_000))
        .await
        .unwrap();
    let mut paced_source = source.clone();
    paced_source.host = paced.host();
    let client = client(&paced_source, &target);
    let slow_from = on(&paced_source, &from);
    let to = on(&target, &from);

    let stop = Arc::new(tokio::sync::Notify::new());
    let observer = {
        let stop = Arc::clone(&stop);
        Arc::new(move |event: &CopyEvent, _: &_| {
            // The config is small and arrives first; the layers are still on their way.
            if matches!(event, CopyEvent::BlobFinished { .. }) {
                stop.notify_one();
            }
        })
    };
    let engine = CopyEngine::new(client.clone(), CopyOptions::default().observer(observer));
    let requests = [CopyRequest::new(slow_from, [to.clone()])];
    tokio::select! {
        _ = engine.copy(&requests) => panic!("the copy should have been cancelled"),
        () = stop.notified() => {}
    }
    // Long enough for every transfer to have finished, had it kept running.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let mut arrived = 0;
    for layer in &image.layers {
        if client
            .blob_exists(&to, &layer.blob.digest)
            .await
            .unwrap()
            .is_some()
        {
            arrived += 1;
        }
    }
    assert!(
        arrived < image.layers.len(),
        "every layer arrived after the copy was dropped: its transfers kept running"
    );
    assert!(client.head_manifest(&to).await.unwrap().is_none());
}

#[tokio::test]
async fn one_broken_repository_fails_alone_and_leaves_no_tag() {
    let (source, target) = (services::registry_plain(), services::registry_token());
    let client = client(&source, &target);
    let good = unique_reference(&source, "copy-good", "v1");
    let broken = unique_reference(&source, "copy-broken", "v1");
    let good_image = ImageBuilder::new(Flavor::Oci)
        .layer(20_000)
        .build()
        .unwrap();
    let broken_image = ImageBuilder::new(Flavor::Oci)
        .layer(20_000)
        .build()
        .unwrap();
    good_image.push(&client, &good).await.unwrap();
    broken_image.push(&client, &broken).await.unwrap();
    client
        .delete_blob(&broken, &broken_image.layers[0].blob.digest)
        .await
        .unwrap();

    let requests = [
        CopyRequest::new(broken.clone(), [on(&target, &broken)]),
        CopyRequest::new(good.clone(), [on(&target, &good)]),
    ];
    let report = CopyEngine::new(client.clone(), CopyOptions::default())
        .copy(&requests)
        .await;
    assert!(!report.succeeded());
    assert_eq!(report.references[0].status, CopyStatus::Failed);
    assert!(
        report.references[0]
            .error
            .as_deref()
            .is_some_and(|e| !e.is_empty())
    );
    assert_eq!(report.references[1].status, CopyStatus::Copied);
    assert!(
        client
            .head_manifest(&on(&target, &broken))
            .await
            .unwrap()
            .is_none(),
        "no tag on the broken image"
    );
    assert!(
        client
            .head_manifest(&on(&target, &good))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_destination_behind_a_1_mib_body_cap_gets_its_layers_in_smaller_chunks() {
    // nginx's default `client_max_body_size` (1 MiB) in front of the destination: the 3 MB
    // layer is refused whole (413), then as one 3 MB chunk, then as 1.5 MB chunks; 750 kB
    // chunks pass. The small layer and the config pass as they are.
    let (source, target) = (services::registry_plain(), services::registry_plain());
    let image = ImageBuilder::new(Flavor::Oci)
        .layer(3_000_000)
        .layer(100_000)
        .build()
        .unwrap();
    let from = unique_reference(&source, "copy-capped", "v1");
    image.push(&client(&source, &source), &from).await.unwrap();
    let cap = FaultProxy::start(&target.host, FaultConfig::new(0).max_request_body(1 << 20))
        .await
        .unwrap();
    let mut capped = target.clone();
    capped.host = cap.host();
    // Another repository: source and destination are the same registry behind the cap.
    let to = Reference::parse(&format!("{}/{}-capped:v1", capped.host, from.repository())).unwrap();

    let report = CopyEngine::new(client(&source, &capped), CopyOptions::default())
        .copy(&[CopyRequest::new(from, [to.clone()])])
        .await;

    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(cap.counts().too_large, 3, "{:?}", cap.counts());
    assert_eq!(
        skopeo_inspect(&target, &on(&target, &to), true),
        image.manifest.to_vec()
    );
}

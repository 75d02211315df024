//! A blob download whose connection drops halfway resumes with `Range` and still verifies.

use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::digest::Digest;
use wharf_oci_core::reference::Reference;
use wharf_oci_core::transport::TransportConfig;

/// How the fake server answers a `Range` request.
#[derive(Clone, Copy)]
enum RangeSupport {
    /// `206` from the asked offset.
    Honoured,
    /// `200` with the whole blob again.
    Ignored,
}

/// Serves `data` for any GET: the first answer is cut off after `cut` bytes (the connection
/// closes), later ones follow `support`. Returns the address and the `Range` headers seen.
async fn flaky_server(
    data: Vec<u8>,
    cut: usize,
    support: RangeSupport,
) -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut socket, _)) = listener.accept().await {
            let range = read_request_range(&mut socket).await;
            seen.lock().unwrap().push(range.clone());
            let start = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
            let response = match (first, start, support) {
                (true, _, _) => {
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", data.len());
                    [head.as_bytes(), &data[..cut]].concat()
                }
                (false, Some(start), RangeSupport::Honoured) => {
                    let head = format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                        data.len() - start,
                        data.len() - 1,
                        data.len()
                    );
                    [head.as_bytes(), &data[start..]].concat()
                }
                _ => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        data.len()
                    );
                    [head.as_bytes(), &data[..]].concat()
                }
            };
            first = false;
            let _ = socket.write_all(&response).await;
            let _ = socket.shutdown().await;
        }
    });
    (address, ranges)
}

async fn read_request_range(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buffer).await.ok()?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&request).lines().find_map(|line| {
        line.to_ascii_lowercase()
            .strip_prefix("range:")
            .map(|v| v.trim().to_owned())
    })
}

async fn download(
    support: RangeSupport,
) -> (Result<Vec<u8>, String>, Vec<Option<String>>, Vec<u8>) {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let digest = Digest::sha256_of(&data);
    let (address, ranges) = flaky_server(data.clone(), 70_000, support).await;
    let transport = TransportConfig::builder()
        .plain_http_host(&address)
        .build()
        .unwrap();
    let client = RegistryClient::builder()
        .transport(transport)
        .build()
        .unwrap();
    let repo = Reference::parse(&format!("{address}/team/app")).unwrap();
    let stream = client.get_blob(&repo, &digest).await.unwrap();
    let result = stream
        .try_collect::<Vec<bytes::Bytes>>()
        .await
        .map(|c| c.concat())
        .map_err(|e| e.to_string());
    let seen = ranges.lock().unwrap().clone();
    (result, seen, data)
}

#[tokio::test]
async fn dropped_download_resumes_with_range() {
    let (result, ranges, data) = download(RangeSupport::Honoured).await;
    assert_eq!(result.expect("resumed download verifies"), data);
    assert_eq!(ranges, [None, Some("bytes=70000-".to_owned())]);
}

#[tokio::test]
async fn resume_from_a_server_that_ignores_range_skips_what_was_received() {
    let (result, ranges, data) = download(RangeSupport::Ignored).await;
    assert_eq!(result.expect("download verifies"), data);
    assert_eq!(ranges.len(), 2);
}

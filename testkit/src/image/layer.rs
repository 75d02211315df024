//! Layer generation: a valid tar holding one file of chosen size, optionally gzip-compressed,
//! written to memory or to a file while both digests (compressed and uncompressed) are computed.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use flate2::Compression as GzipLevel;
use flate2::write::GzEncoder;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::{Digest as _, Sha256};
use wharf_oci_core::digest::Digest;

/// How a layer's tar is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip (the default, as almost every registry image is).
    #[default]
    Gzip,
}

/// Where a generated blob's bytes live.
#[derive(Debug, Clone)]
pub enum BlobData {
    /// In memory.
    Memory(Bytes),
    /// In a file (large layers).
    File(PathBuf),
}

/// A generated blob: its bytes (or file), digest, size and media type.
#[derive(Debug, Clone)]
pub struct Blob {
    /// The digest of the stored (possibly compressed) bytes.
    pub digest: Digest,
    /// The size of the stored bytes.
    pub size: u64,
    /// The media type used in descriptors.
    pub media_type: String,
    /// The bytes themselves.
    pub data: BlobData,
}

impl Blob {
    /// A blob held in memory.
    pub fn from_bytes(media_type: &str, bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self {
            digest: Digest::sha256_of(&bytes),
            size: bytes.len() as u64,
            media_type: media_type.to_owned(),
            data: BlobData::Memory(bytes),
        }
    }

    /// The blob's OCI descriptor as JSON.
    pub fn descriptor(&self) -> serde_json::Value {
        serde_json::json!({
            "mediaType": self.media_type,
            "digest": self.digest.as_str(),
            "size": self.size,
        })
    }

    /// Reads the whole blob (file-backed blobs are read from disk).
    pub fn read_all(&self) -> io::Result<Bytes> {
        match &self.data {
            BlobData::Memory(bytes) => Ok(bytes.clone()),
            BlobData::File(path) => std::fs::read(path).map(Bytes::from),
        }
    }
}

/// A generated layer: the stored blob and the digest of its uncompressed tar (the `diff_id`).
#[derive(Debug, Clone)]
pub struct Layer {
    /// The layer blob as stored in the registry.
    pub blob: Blob,
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
}

/// Generates a layer whose tar holds one file of `content_size` pseudo-random bytes from
/// `seed`. With `dir`, the blob is written to a file there; otherwise it stays in memory.
pub(crate) fn generate(
    content_size: u64,
    seed: u64,
    compression: Compression,
    media_type: &str,
    dir: Option<&Path>,
) -> io::Result<Layer> {
    match dir {
        None => {
            let mut buffer = Vec::new();
            let digests = write_layer(&mut buffer, content_size, seed, compression)?;
            Ok(layer(
                digests,
                media_type,
                BlobData::Memory(Bytes::from(buffer)),
            ))
        }
        Some(dir) => {
            let path = dir.join(format!(
                "layer-{seed}-{content_size}.{}",
                extension(compression)
            ));
            let file = BufWriter::with_capacity(1 << 20, File::create(&path)?);
            let digests = write_layer(file, content_size, seed, compression)?;
            Ok(layer(digests, media_type, BlobData::File(path)))
        }
    }
}

fn extension(compression: Compression) -> &'static str {
    match compression {
        Compression::None => "tar",
        Compression::Gzip => "tar.gz",
    }
}

fn layer(digests: LayerDigests, media_type: &str, data: BlobData) -> Layer {
    Layer {
        blob: Blob {
            digest: digests.stored,
            size: digests.stored_size,
            media_type: media_type.to_owned(),
            data,
        },
        diff_id: digests.uncompressed,
    }
}

struct LayerDigests {
    stored: Digest,
    stored_size: u64,
    uncompressed: Digest,
}

fn write_layer<W: Write>(
    out: W,
    content_size: u64,
    seed: u64,
    compression: Compression,
) -> io::Result<LayerDigests> {
    let stored = HashingWriter::new(out);
    match compression {
        Compression::None => {
            let stored = write_tar(stored, content_size, seed)?;
            let (digest, size, _) = stored.finish();
            Ok(LayerDigests {
                uncompressed: digest.clone(),
                stored: digest,
                stored_size: size,
            })
        }
        Compression::Gzip => {
            let gzip = GzEncoder::new(stored, GzipLevel::fast());
            let tar_side = HashingWriter::new(gzip);
            let tar_side = write_tar(tar_side, content_size, seed)?;
            let (uncompressed, _, gzip) = tar_side.finish();
            let (stored, stored_size, mut out) = gzip.finish()?.finish();
            out.flush()?;
            Ok(LayerDigests {
                stored,
                stored_size,
                uncompressed,
            })
        }
    }
}

fn write_tar<W: Write>(out: W, content_size: u64, seed: u64) -> io::Result<W> {
    let mut builder = tar::Builder::new(out);
    let mut header = tar::Header::new_ustar();
    header.set_size(content_size);
    header.set_mode(0o644);
    header.set_mtime(1_700_000_000);
    header.set_entry_type(tar::EntryType::Regular);
    let name = format!("wharf/data-{seed:016x}.bin");
    builder.append_data(&mut header, name, SeededReader::new(seed, content_size))?;
    let mut out = builder.into_inner()?;
    out.flush()?;
    Ok(out)
}

/// Pseudo-random bytes from a seed, `remaining` of them.
struct SeededReader {
    rng: StdRng,
    remaining: u64,
}

impl SeededReader {
    fn new(seed: u64, size: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            remaining: size,
        }
    }
}

impl Read for SeededReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        self.rng.fill_bytes(&mut buf[..n]);
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Passes bytes through while hashing and counting them.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    fn finish(self) -> (Digest, u64, W) {
        let hex = hex_string(&self.hasher.finalize());
        let digest = Digest::parse(&format!("sha256:{hex}")).expect("sha256 hex is a valid digest");
        (digest, self.written, self.inner)
    }
}

fn hex_string(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_layer_is_a_valid_tar_with_matching_digests() {
        let layer = generate(10_000, 7, Compression::Gzip, "m", None).unwrap();
        let bytes = layer.blob.read_all().unwrap();
        assert_eq!(layer.blob.digest, Digest::sha256_of(&bytes));
        assert_eq!(layer.blob.size, bytes.len() as u64);

        let mut tar_bytes = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut tar_bytes)
            .unwrap();
        assert_eq!(layer.diff_id, Digest::sha256_of(&tar_bytes));
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        let sizes: Vec<u64> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().size())
            .collect();
        assert_eq!(sizes, [10_000]);
    }

    #[test]
    fn same_seed_same_layer_other_seed_other_layer() {
        let a = generate(1000, 1, Compression::None, "m", None).unwrap();
        let b = generate(1000, 1, Compression::None, "m", None).unwrap();
        let c = generate(1000, 2, Compression::None, "m", None).unwrap();
        assert_eq!(a.blob.digest, b.blob.digest);
        assert_ne!(a.blob.digest, c.blob.digest);
        assert_eq!(a.blob.digest, a.diff_id);
    }

    #[test]
    fn file_backed_layer_matches_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let layer = generate(300_000, 3, Compression::Gzip, "m", Some(dir.path())).unwrap();
        assert!(matches!(layer.blob.data, BlobData::File(_)));
        let bytes = layer.blob.read_all().unwrap();
        assert_eq!(layer.blob.digest, Digest::sha256_of(&bytes));
    }
}

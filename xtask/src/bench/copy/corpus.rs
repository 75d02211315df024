//! The benchmark corpus: an OCI image layout on disk shaped like a small company's services.
//!
//! 13 repositories with 3 tags each. Every image has two base layers (30 MB and 10 MB) shared by
//! all images, a 60 MB dependency layer shared by the tags of its repository, and an app layer
//! of 6 to 18 MB unique to the tag. Layers are uncompressed tars of pseudo-random bytes, so
//! nothing compresses and nothing deduplicates by accident.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde_json::json;
use sha2::{Digest as _, Sha256};

const MB: u64 = 1_000_000;
const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// A blob written into the layout.
#[derive(Debug, Clone)]
pub struct Blob {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Where it lies on disk.
    pub path: PathBuf,
    /// Its media type.
    pub media_type: &'static str,
}

/// One image of the corpus: repository, tag and the name it has in the layout.
#[derive(Debug, Clone)]
pub struct Image {
    /// Repository path, e.g. `seed/svc00`.
    pub repository: String,
    /// Tag, e.g. `v1`.
    pub tag: String,
    /// `org.opencontainers.image.ref.name` in the layout's index.
    pub layout_name: String,
}

/// A layout on disk with its images and every distinct blob.
#[derive(Debug)]
pub struct Corpus {
    /// The layout folder.
    pub layout: PathBuf,
    /// The images.
    pub images: Vec<Image>,
    /// Distinct layer and config blobs (manifests excluded).
    pub blobs: Vec<Blob>,
}

impl Corpus {
    /// Total bytes of distinct blobs.
    pub fn unique_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
}

/// Writes the 39-image corpus, with every layer size multiplied by `scale`.
pub fn write_services_corpus(dir: &Path, scale: f64, repositories: usize) -> Result<Corpus> {
    let mut layout = Layout::create(dir)?;
    let sized = |mb: u64| ((mb * MB) as f64 * scale).max(1024.0) as u64;
    let base = [
        layout.random_layer(sized(30), 1)?,
        layout.random_layer(sized(10), 2)?,
    ];
    for repo in 0..repositories {
        let deps = layout.random_layer(sized(60), 100 + repo as u64)?;
        for tag in 0..3 {
            let app_mb = 6 + ((repo * 3 + tag) % 13) as u64;
            let app = layout.random_layer(sized(app_mb), 10_000 + (repo * 3 + tag) as u64)?;
            let image = Image {
                repository: format!("seed/svc{repo:02}"),
                tag: format!("v{}", tag + 1),
                layout_name: format!("svc{repo:02}-v{}", tag + 1),
            };
            layout.add_image(
                &image,
                &[base[0].clone(), base[1].clone(), deps.clone(), app],
            )?;
        }
    }
    layout.finish()
}

/// Writes a one-image corpus with a single layer of `bytes`.
pub fn write_single_layer_corpus(dir: &Path, bytes: u64) -> Result<Corpus> {
    let mut layout = Layout::create(dir)?;
    let layer = layout.random_layer(bytes, 7)?;
    let image = Image {
        repository: "big/one-layer".into(),
        tag: "v1".into(),
        layout_name: "big-v1".into(),
    };
    layout.add_image(&image, &[layer])?;
    layout.finish()
}

struct Layout {
    dir: PathBuf,
    images: Vec<Image>,
    blobs: Vec<Blob>,
    index_entries: Vec<serde_json::Value>,
}

impl Layout {
    fn create(dir: &Path) -> Result<Self> {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        fs::create_dir_all(dir.join("blobs/sha256"))?;
        fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            images: Vec::new(),
            blobs: Vec::new(),
            index_entries: Vec::new(),
        })
    }

    /// A tar holding one file of `payload` pseudo-random bytes from `seed`.
    fn random_layer(&mut self, payload: u64, seed: u64) -> Result<Blob> {
        let temp = self.dir.join(format!("layer-{seed}.tmp"));
        let mut writer =
            HashingWriter::new(BufWriter::with_capacity(1 << 20, File::create(&temp)?));
        {
            let mut builder = tar::Builder::new(&mut writer);
            let mut header = tar::Header::new_ustar();
            header.set_size(payload);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            builder.append_data(
                &mut header,
                format!("data-{seed}.bin"),
                PseudoRandom::new(seed).take(payload),
            )?;
            builder.finish()?;
        }
        let (size, digest) = writer.finish()?;
        self.store(&temp, size, digest, LAYER_MEDIA_TYPE)
    }

    fn add_image(&mut self, image: &Image, layers: &[Blob]) -> Result<()> {
        let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "config": { "Labels": { "bench.image": image.layout_name } },
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        });
        let config = self.json_blob(&config, CONFIG_MEDIA_TYPE)?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": descriptor(&config),
            "layers": layers.iter().map(descriptor).collect::<Vec<_>>(),
        });
        let manifest = self.json_blob(&manifest, MANIFEST_MEDIA_TYPE)?;
        self.blobs.retain(|b| b.digest != manifest.digest);
        let mut entry = descriptor(&manifest);
        entry["annotations"] = json!({ "org.opencontainers.image.ref.name": image.layout_name });
        self.index_entries.push(entry);
        self.images.push(image.clone());
        Ok(())
    }

    fn json_blob(&mut self, value: &serde_json::Value, media_type: &'static str) -> Result<Blob> {
        let bytes = serde_json::to_vec(value)?;
        let temp = self.dir.join("json.tmp");
        fs::write(&temp, &bytes)?;
        let digest = format!("sha256:{}", hex(&Sha256::digest(&bytes)));
        self.store(&temp, bytes.len() as u64, digest, media_type)
    }

    fn store(
        &mut self,
        temp: &Path,
        size: u64,
        digest: String,
        media_type: &'static str,
    ) -> Result<Blob> {
        let path = self
            .dir
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        fs::rename(temp, &path)?;
        let blob = Blob {
            digest,
            size,
            path,
            media_type,
        };
        if !self.blobs.iter().any(|b| b.digest == blob.digest) {
            self.blobs.push(blob.clone());
        }
        Ok(blob)
    }

    fn finish(self) -> Result<Corpus> {
        let index = json!({ "schemaVersion": 2, "manifests": self.index_entries });
        fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec_pretty(&index)?,
        )?;
        Ok(Corpus {
            layout: self.dir,
            images: self.images,
            blobs: self.blobs,
        })
    }
}

fn descriptor(blob: &Blob) -> serde_json::Value {
    json!({ "mediaType": blob.media_type, "digest": blob.digest, "size": blob.size })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

/// xorshift64*: fast, seedable, incompressible enough for a registry benchmark.
struct PseudoRandom(u64);

impl PseudoRandom {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
}

impl Read for PseudoRandom {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let word = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(buf.len())
    }
}

/// Counts and hashes what passes through.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    fn finish(mut self) -> Result<(u64, String)> {
        self.inner.flush()?;
        Ok((
            self.size,
            format!("sha256:{}", hex(&self.hasher.finalize())),
        ))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

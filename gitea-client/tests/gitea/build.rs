//! Package files built by the tests themselves: wheels, sdists, npm tarballs, crates, charts.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// A suffix that makes package names unique per test run (indexes keep their storage).
pub fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}{}", std::process::id(), nanos % 1_000_000_000)
}

/// A gzip-compressed tar of `(path, contents)` entries.
pub fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (path, contents) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append_data(&mut header, path, *contents).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A Python distribution with one importable module whose `VALUE` is `value`.
pub struct PythonProject {
    /// Project name, e.g. `wharf-demo-123`.
    pub name: String,
    /// Module (and normalised distribution) name, e.g. `wharf_demo_123`.
    pub module: String,
    /// Version.
    pub version: String,
    /// The value the module exports.
    pub value: String,
}

impl PythonProject {
    pub fn new(version: &str) -> Self {
        let suffix = unique_suffix();
        Self {
            name: format!("wharf-demo-{suffix}"),
            module: format!("wharf_demo_{suffix}"),
            version: version.to_owned(),
            value: format!("built-by-wharf-{suffix}"),
        }
    }

    fn metadata(&self) -> String {
        format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {}\nSummary: Wharf test package\n\
             Requires-Python: >=3.8\nLicense: MIT\nClassifier: Programming Language :: Python :: 3\n\
             Description-Content-Type: text/plain\n\nA package built by the gitea-client tests.\n",
            self.name, self.version
        )
    }

    fn module_source(&self) -> String {
        format!("VALUE = {:?}\n", self.value)
    }

    /// `(file name, bytes)` of a pure-Python wheel with a correct `RECORD`.
    pub fn wheel(&self) -> (String, Vec<u8>) {
        let dist_info = format!("{}-{}.dist-info", self.module, self.version);
        let files: Vec<(String, Vec<u8>)> = vec![
            (format!("{}/__init__.py", self.module), self.module_source().into_bytes()),
            (format!("{dist_info}/METADATA"), self.metadata().into_bytes()),
            (
                format!("{dist_info}/WHEEL"),
                b"Wheel-Version: 1.0\nGenerator: wharf-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
            ),
        ];
        let mut record = String::new();
        for (path, bytes) in &files {
            let hash =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
            writeln!(record, "{path},sha256={hash},{}", bytes.len()).unwrap();
        }
        writeln!(record, "{dist_info}/RECORD,,").unwrap();

        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (path, bytes) in files
            .iter()
            .chain([(format!("{dist_info}/RECORD"), record.into_bytes())].iter())
        {
            writer.start_file(path.as_str(), options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        let bytes = writer.finish().unwrap().into_inner();
        (
            format!("{}-{}-py3-none-any.whl", self.module, self.version),
            bytes,
        )
    }

    /// `(file name, bytes)` of an sdist with `PKG-INFO` and the module.
    pub fn sdist(&self) -> (String, Vec<u8>) {
        let root = format!("{}-{}", self.module, self.version);
        let pkg_info = self.metadata();
        let module = self.module_source();
        let setup = format!(
            "from setuptools import setup\nsetup(name={:?}, version={:?}, packages=[{:?}])\n",
            self.name, self.version, self.module
        );
        let bytes = tar_gz(&[
            (&format!("{root}/PKG-INFO"), pkg_info.as_bytes()),
            (&format!("{root}/setup.py"), setup.as_bytes()),
            (
                &format!("{root}/{}/__init__.py", self.module),
                module.as_bytes(),
            ),
        ]);
        (format!("{root}.tar.gz"), bytes)
    }
}

/// An npm package tarball with `index.js` exporting `{ answer }`.
pub fn npm_tarball(name: &str, version: &str, answer: u32) -> Vec<u8> {
    let manifest = format!(
        r#"{{"name":"{name}","version":"{version}","description":"Wharf test package","main":"index.js","license":"MIT"}}"#
    );
    let index = format!("module.exports = {{ answer: {answer} }};\n");
    tar_gz(&[
        ("package/package.json", manifest.as_bytes()),
        ("package/index.js", index.as_bytes()),
    ])
}

/// A `.crate` with a `Cargo.toml` and `src/lib.rs`.
pub fn crate_file(name: &str, version: &str) -> Vec<u8> {
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\
         description = \"Wharf test crate\"\nlicense = \"MIT\"\n\n[dependencies]\nserde = {{ version = \"1\", features = [\"derive\"] }}\n"
    );
    let root = format!("{name}-{version}");
    tar_gz(&[
        (&format!("{root}/Cargo.toml"), manifest.as_bytes()),
        (
            &format!("{root}/src/lib.rs"),
            b"pub fn answer() -> u32 { 42 }\n",
        ),
    ])
}

/// A Helm chart archive.
pub fn chart(name: &str, version: &str) -> Vec<u8> {
    let chart = format!(
        "apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"1.0\"\ndescription: Wharf test chart\n"
    );
    tar_gz(&[
        (&format!("{name}/Chart.yaml"), chart.as_bytes()),
        (&format!("{name}/values.yaml"), b"replicas: 1\n"),
    ])
}

//! Content digests (`sha256:<hex>`, `sha512:<hex>`) and a streaming verifier.
//!
//! A [`Digest`] that exists is valid: the algorithm is one this crate can compute and the
//! encoded part is lowercase hex of exactly the algorithm's length. Parsing is where that is
//! checked, so the rest of the crate never re-validates a digest.
//!
//! ```
//! use wharf_oci_core::digest::{Algorithm, Digest, DigestVerifier};
//!
//! let digest = Digest::sha256_of(b"hello");
//! assert_eq!(digest.algorithm(), Algorithm::Sha256);
//! assert_eq!(digest, Digest::parse(digest.as_str()).unwrap());
//!
//! let mut verifier = DigestVerifier::new(&digest);
//! verifier.update(b"hel");
//! verifier.update(b"lo");
//! assert_eq!(verifier.bytes_seen(), 5);
//! verifier.finish().unwrap();
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

/// A digest algorithm this crate can compute and verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// SHA-256, 64 lowercase hex characters.
    Sha256,
    /// SHA-512, 128 lowercase hex characters.
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as written before the `:` of a digest.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// The number of hex characters of an encoded digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a digest could not be parsed, or why content did not match its digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The input has no `algorithm:` prefix.
    #[error("digest has no algorithm prefix")]
    MissingAlgorithm {
        /// The rejected input.
        input: String,
    },
    /// The algorithm is not `sha256` or `sha512`.
    #[error("unsupported digest algorithm `{algorithm}`")]
    UnsupportedAlgorithm {
        /// The algorithm named by the input.
        algorithm: String,
    },
    /// The encoded part has the wrong number of characters for its algorithm.
    #[error("{algorithm} digest has {actual} hex characters instead of {expected}")]
    InvalidLength {
        /// The digest's algorithm.
        algorithm: Algorithm,
        /// The length the algorithm requires.
        expected: usize,
        /// The length of the input's encoded part.
        actual: usize,
    },
    /// The encoded part contains a character other than `0-9a-f`.
    #[error("digest contains characters other than lowercase hex")]
    InvalidHex {
        /// The rejected input.
        input: String,
    },
    /// Content hashed to a different digest than the one expected.
    #[error("content digest {actual} does not match expected {expected}")]
    Mismatch {
        /// The digest the content should have had.
        expected: Digest,
        /// The digest the content actually has.
        actual: Digest,
    },
}

/// A validated content digest such as `sha256:2cf24dba…`.
///
/// Ordering, equality and hashing follow the canonical string. Serialises as that string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    value: String,
    algorithm: Algorithm,
}

impl Digest {
    /// Parses and validates `algorithm:hex`.
    pub fn parse(input: &str) -> Result<Self, DigestError> {
        let Some((name, hex)) = input.split_once(':') else {
            return Err(DigestError::MissingAlgorithm {
                input: input.to_owned(),
            });
        };

        let algorithm =
            Algorithm::from_name(name).ok_or_else(|| DigestError::UnsupportedAlgorithm {
                algorithm: name.to_owned(),
            })?;

        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::InvalidLength {
                algorithm,
                expected: algorithm.hex_len(),
                actual: hex.len(),
            });
        }

        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::InvalidHex {
                input: input.to_owned(),
            });
        }

        Ok(Self {
            value: input.to_owned(),
            algorithm,
        })
    }

    /// The SHA-256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        Self::from_hash(Algorithm::Sha256, &sha2::Sha256::digest(bytes))
    }

    /// The SHA-512 digest of `bytes`.
    pub fn sha512_of(bytes: &[u8]) -> Self {
        Self::from_hash(Algorithm::Sha512, &sha2::Sha512::digest(bytes))
    }

    /// The digest of `bytes` computed with `algorithm`.
    pub fn compute(algorithm: Algorithm, bytes: &[u8]) -> Self {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    fn from_hash(algorithm: Algorithm, hash: &[u8]) -> Self {
        Self {
            value: format!("{algorithm}:{}", hex::encode(hash)),
            algorithm,
        }
    }

    /// The digest's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The encoded (lowercase hex) part after the `:`.
    pub fn hex(&self) -> &str {
        &self.value[self.algorithm.as_str().len() + 1..]
    }

    /// The canonical `algorithm:hex` string.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Checks that `bytes` hash to this digest.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), DigestError> {
        let mut verifier = DigestVerifier::new(self);
        verifier.update(bytes);
        verifier.finish()
    }

    /// The tag under which the referrers tag schema stores an index of this digest's referrers
    /// (`sha256-<hex>`), for registries without the referrers API.
    ///
    /// The algorithm is cut to 32 characters and the hex to 64, as the OCI distribution spec
    /// prescribes, so a sha512 digest yields a 64-character hex part.
    pub fn referrers_tag(&self) -> String {
        let algorithm = self.algorithm.as_str();
        let algorithm = &algorithm[..algorithm.len().min(32)];
        let hex = self.hex();
        format!("{algorithm}-{}", &hex[..hex.len().min(64)])
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.value)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher for one [`Algorithm`].
#[derive(Clone)]
pub struct Hasher {
    state: HasherState,
}

#[derive(Clone)]
enum HasherState {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A hasher with no input yet.
    pub fn new(algorithm: Algorithm) -> Self {
        let state = match algorithm {
            Algorithm::Sha256 => HasherState::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => HasherState::Sha512(sha2::Sha512::new()),
        };
        Self { state }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            HasherState::Sha256(hasher) => hasher.update(bytes),
            HasherState::Sha512(hasher) => hasher.update(bytes),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        match self.state {
            HasherState::Sha256(hasher) => Digest::from_hash(Algorithm::Sha256, &hasher.finalize()),
            HasherState::Sha512(hasher) => Digest::from_hash(Algorithm::Sha512, &hasher.finalize()),
        }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algorithm = match self.state {
            HasherState::Sha256(_) => Algorithm::Sha256,
            HasherState::Sha512(_) => Algorithm::Sha512,
        };
        f.debug_struct("Hasher")
            .field("algorithm", &algorithm)
            .finish()
    }
}

/// Checks streamed content against an expected digest.
///
/// Feed every chunk with [`update`](Self::update) as it arrives, then call
/// [`finish`](Self::finish) once the stream ends.
#[derive(Debug, Clone)]
pub struct DigestVerifier {
    expected: Digest,
    hasher: Hasher,
    bytes_seen: u64,
}

impl DigestVerifier {
    /// A verifier for content that should hash to `expected`.
    pub fn new(expected: &Digest) -> Self {
        Self {
            expected: expected.clone(),
            hasher: Hasher::new(expected.algorithm()),
            bytes_seen: 0,
        }
    }

    /// Feeds the next chunk of content.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.bytes_seen += bytes.len() as u64;
    }

    /// How many bytes have been fed so far.
    pub fn bytes_seen(&self) -> u64 {
        self.bytes_seen
    }

    /// The digest the content should have.
    pub fn expected(&self) -> &Digest {
        &self.expected
    }

    /// Succeeds when the content fed so far hashes to the expected digest.
    pub fn finish(self) -> Result<(), DigestError> {
        let actual = self.hasher.finish();
        if actual == self.expected {
            Ok(())
        } else {
            Err(DigestError::Mismatch {
                expected: self.expected,
                actual,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HELLO_SHA256: &str =
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn known_sha256_value() {
        let digest = Digest::sha256_of(b"hello");
        assert_eq!(digest.as_str(), HELLO_SHA256);
        assert_eq!(digest.algorithm(), Algorithm::Sha256);
        assert_eq!(&digest.hex()[..8], "2cf24dba");
    }

    #[test]
    fn known_sha512_value() {
        let digest = Digest::sha512_of(b"");
        assert!(
            digest
                .as_str()
                .starts_with("sha512:cf83e1357eefb8bdf1542850d66d8007")
        );
        assert_eq!(digest.hex().len(), 128);
        assert_eq!(Digest::compute(Algorithm::Sha512, b""), digest);
    }

    #[test]
    fn parse_table() {
        let sha256_hex = &HELLO_SHA256[7..];
        let sha512 = Digest::sha512_of(b"x");
        let cases: Vec<(String, Result<(), &str>)> = vec![
            (HELLO_SHA256.to_owned(), Ok(())),
            (sha512.to_string(), Ok(())),
            (sha256_hex.to_owned(), Err("missing")),
            (String::new(), Err("missing")),
            (format!("sha384:{sha256_hex}"), Err("unsupported")),
            (format!("SHA256:{sha256_hex}"), Err("unsupported")),
            (format!(":{sha256_hex}"), Err("unsupported")),
            (format!("sha256:{}", &sha256_hex[1..]), Err("length")),
            (format!("sha256:{sha256_hex}0"), Err("length")),
            ("sha256:".to_owned(), Err("length")),
            (format!("sha512:{sha256_hex}"), Err("length")),
            (format!("sha256:{}", sha256_hex.to_uppercase()), Err("hex")),
            (format!("sha256:{}g", &sha256_hex[1..]), Err("hex")),
            (format!("sha256:{}é", &sha256_hex[2..]), Err("hex")),
        ];

        for (input, expected) in cases {
            let result = Digest::parse(&input);
            match (expected, result) {
                (Ok(()), Ok(digest)) => assert_eq!(digest.as_str(), input),
                (Err("missing"), Err(DigestError::MissingAlgorithm { .. }))
                | (Err("unsupported"), Err(DigestError::UnsupportedAlgorithm { .. }))
                | (Err("length"), Err(DigestError::InvalidLength { .. }))
                | (Err("hex"), Err(DigestError::InvalidHex { .. })) => {}
                (expected, result) => panic!("{input:?}: expected {expected:?}, got {result:?}"),
            }
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let digest = Digest::sha256_of(b"hello");
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{HELLO_SHA256}\""));
        let back: Digest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, digest);
        assert!(serde_json::from_str::<Digest>("\"sha256:abc\"").is_err());
    }

    #[test]
    fn verifier_reports_expected_and_actual_on_mismatch() {
        let expected = Digest::sha256_of(b"hello");
        let mut verifier = DigestVerifier::new(&expected);
        verifier.update(b"hellO");
        let error = verifier.finish().unwrap_err();
        assert_eq!(
            error,
            DigestError::Mismatch {
                expected,
                actual: Digest::sha256_of(b"hellO"),
            }
        );
    }

    #[test]
    fn referrers_tag_cuts_the_hex_to_64_characters() {
        let sha256 = Digest::sha256_of(b"hello");
        assert_eq!(sha256.referrers_tag(), format!("sha256-{}", sha256.hex()));

        let sha512 = Digest::sha512_of(b"hello");
        assert_eq!(
            sha512.referrers_tag(),
            format!("sha512-{}", &sha512.hex()[..64])
        );
    }

    proptest! {
        #[test]
        fn verifier_accepts_any_chunking(
            content in proptest::collection::vec(any::<u8>(), 0..2048),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
            sha512 in any::<bool>(),
        ) {
            let algorithm = if sha512 { Algorithm::Sha512 } else { Algorithm::Sha256 };
            let expected = Digest::compute(algorithm, &content);
            let mut offsets: Vec<usize> = cuts.iter().map(|i| i.index(content.len() + 1)).collect();
            offsets.sort_unstable();

            let mut verifier = DigestVerifier::new(&expected);
            let mut start = 0;
            for offset in offsets.into_iter().chain([content.len()]) {
                verifier.update(&content[start..offset]);
                start = offset;
            }
            prop_assert_eq!(verifier.bytes_seen(), content.len() as u64);
            prop_assert!(verifier.finish().is_ok());
        }

        #[test]
        fn verifier_rejects_any_single_bit_flip(
            content in proptest::collection::vec(any::<u8>(), 1..512),
            position in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let expected = Digest::sha256_of(&content);
            let mut tampered = content.clone();
            tampered[position.index(content.len())] ^= 1 << bit;
            prop_assert!(expected.verify(&tampered).is_err());
        }

        #[test]
        fn parse_never_panics(input in ".{0,200}") {
            let _ = Digest::parse(&input);
        }
    }
}

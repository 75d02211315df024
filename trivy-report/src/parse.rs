//! Reading and writing whole reports.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};

use crate::error::Error;
use crate::model::Report;

/// The only `SchemaVersion` this crate reads.
pub const SCHEMA_VERSION: u32 = 2;

impl Report {
    /// Parses a report from JSON bytes (the fastest way: strings and keys are read in place).
    pub fn from_slice(json: &[u8]) -> Result<Report, Error> {
        // Checking the UTF-8 of the whole input once, in bulk, is several times cheaper than
        // serde_json checking each of a report's million strings; invalid input goes the
        // checking way so that the error names the position.
        if let Ok(text) = std::str::from_utf8(json) {
            return Report::from_str(text);
        }
        reject_legacy(first_significant_byte(json))?;
        let report: Report = serde_json::from_slice(json).map_err(Error::Json)?;
        report.check_schema()
    }

    /// Parses a report from a JSON string.
    #[expect(
        clippy::should_implement_trait,
        reason = "returns this crate's Error, which FromStr could only do with a wrapper"
    )]
    pub fn from_str(json: &str) -> Result<Report, Error> {
        reject_legacy(first_significant_byte(json.as_bytes()))?;
        let report: Report = serde_json::from_str(json).map_err(Error::Json)?;
        report.check_schema()
    }

    /// Parses a report from a reader without holding the whole input in memory.
    pub fn from_reader(reader: impl Read) -> Result<Report, Error> {
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let head = reader
            .fill_buf()
            .map_err(|source| Error::Json(serde_json::Error::io(source)))?;
        reject_legacy(first_significant_byte(head))?;
        let report: Report = serde_json::from_reader(reader).map_err(Error::Json)?;
        report.check_schema()
    }

    /// Reads and parses a report file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Report, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Report::from_slice(&bytes)
    }

    /// Serialises the report as Trivy writes it: two-space indentation and Go's string
    /// escaping (`&`, `<`, `>` as `\u0026`, `\u003c`, `\u003e`).
    pub fn to_json_pretty(&self) -> String {
        let mut out = Vec::with_capacity(4096);
        let formatter = GoFormatter(PrettyFormatter::with_indent(b"  "));
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        self.serialize(&mut serializer)
            .expect("a report always serialises");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    fn check_schema(self) -> Result<Report, Error> {
        match self.schema_version {
            Some(found) if found != SCHEMA_VERSION => Err(Error::UnsupportedSchema { found }),
            _ => Ok(self),
        }
    }
}

/// Pretty printing with the escapes of Go's `encoding/json`.
struct GoFormatter<'a>(PrettyFormatter<'a>);

macro_rules! delegate {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<W: ?Sized + std::io::Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
                self.0.$method(writer $(, $arg)*)
            }
        )*
    };
}

impl Formatter for GoFormatter<'_> {
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (index, character) in fragment.char_indices() {
            let escape = match character {
                '&' => "\\u0026",
                '<' => "\\u003c",
                '>' => "\\u003e",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..index])?;
            writer.write_all(escape.as_bytes())?;
            start = index + character.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> std::io::Result<()> {
        match escape {
            CharEscape::Backspace => writer.write_all(b"\\u0008"),
            CharEscape::FormFeed => writer.write_all(b"\\u000c"),
            other => serde_json::ser::CompactFormatter.write_char_escape(writer, other),
        }
    }
}

fn first_significant_byte(json: &[u8]) -> Option<u8> {
    json.iter()
        .copied()
        .find(|byte| !byte.is_ascii_whitespace() && *byte != 0xEF && *byte != 0xBB && *byte != 0xBF)
}

fn reject_legacy(first: Option<u8>) -> Result<(), Error> {
    match first {
        Some(b'[') => Err(Error::LegacyFormat),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_array_is_the_legacy_format() {
        let legacy = r#"[{"Target": "alpine:3.9 (alpine 3.9.4)", "Vulnerabilities": null}]"#;
        let error = Report::from_str(legacy).unwrap_err();
        assert!(matches!(error, Error::LegacyFormat));
        assert!(error.to_string().contains("pre-0.20"));
        let error = Report::from_reader(legacy.as_bytes()).unwrap_err();
        assert!(matches!(error, Error::LegacyFormat));
    }

    #[test]
    fn invalid_utf8_is_an_error_with_its_position() {
        let json = b"{\"SchemaVersion\": 2,\n \"ArtifactName\": \"\xff\"}";
        let error = Report::from_slice(json).unwrap_err();
        let Error::Json(error) = error else {
            panic!("expected a JSON error, got {error:?}");
        };
        assert_eq!(error.line(), 2);
    }

    #[test]
    fn other_schema_versions_are_rejected() {
        let error = Report::from_str(r#"{"SchemaVersion": 3}"#).unwrap_err();
        assert!(matches!(error, Error::UnsupportedSchema { found: 3 }));
    }

    #[test]
    fn unknown_fields_and_nulls_survive() {
        let json = r#"{"SchemaVersion":2,"Future":{"x":[1,2]},"Results":[{"Target":"t","Vulnerabilities":null,"New":1}]}"#;
        let report = Report::from_str(json).unwrap();
        let back = serde_json::to_value(&report).unwrap();
        let original: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, original);
    }
}

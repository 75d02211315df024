//! Reading and writing whole reports.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};

use crate::buffer::{ReadBuffer, TextBuffer};
use crate::error::Error;
use crate::model::Report;
use crate::text::parse_sharing;

/// The only `SchemaVersion` this crate reads.
pub const SCHEMA_VERSION: u32 = 2;

impl Report {
    /// Parses a report from a buffer the report may keep: the fastest way and the smallest
    /// model. Long strings without escapes point into the buffer instead of being copied
    /// (see [`Text`](crate::Text)), so the buffer lives as long as any of them; the model
    /// costs its structure on top of the input instead of a second copy of the text.
    pub fn from_vec(json: Vec<u8>) -> Result<Report, Error> {
        match String::from_utf8(json) {
            Ok(text) => Report::from_string(text),
            // The checking way, so that the error names the position.
            Err(not_utf8) => Report::from_slice(not_utf8.as_bytes()),
        }
    }

    /// Parses a report from a string the report may keep, as [`Report::from_vec`] does.
    pub fn from_string(json: String) -> Result<Report, Error> {
        Report::from_text_buffer(TextBuffer::from(json))
    }

    /// The sharing parse of [`Report::from_string`] and [`Report::from_path`].
    fn from_text_buffer(json: TextBuffer) -> Result<Report, Error> {
        reject_legacy(first_significant_byte(json.as_str().as_bytes()))?;
        let input = Arc::new(json);
        let report: Report =
            parse_sharing(&input, |json| serde_json::from_str(json)).map_err(Error::Json)?;
        report.check_schema()
    }

    /// Parses a report from JSON bytes that stay the caller's: every string is copied.
    /// [`Report::from_vec`] is faster and smaller when the buffer can be handed over.
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

    /// Reads and parses a report file: the fastest way and the smallest model.
    ///
    /// The file is read without the indentation of its lines (Trivy indents its JSON, and
    /// about a quarter of a report is indentation), then parsed as [`Report::from_vec`] does,
    /// so the model shares the text it was read from. A large file is read into memory
    /// mapped for it (on Linux, populated a few MiB ahead of the reading instead of page by
    /// page), which the model keeps while any of its strings point into it. A syntax error
    /// still names the line and column in the file: the file is read again as it is to find
    /// them.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Report, Error> {
        let path = path.as_ref();
        let cannot_read = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(cannot_read)?;
        let size = file.metadata().map_or(0, |metadata| metadata.len());
        let json = read_without_indentation(file, usize::try_from(size).unwrap_or(0))
            .map_err(cannot_read)?;
        let parsed = json.into_text().map(Report::from_text_buffer);
        match parsed {
            Some(Err(Error::Json(_))) | None => {
                // Not JSON or not UTF-8: the checking way names the position in the file.
                Report::from_slice(&std::fs::read(path).map_err(cannot_read)?)
            }
            Some(parsed) => parsed,
        }
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

/// Reads `reader` to its end without the spaces and tabs that start its lines.
///
/// Only blanks right after a line feed go, so the JSON means the same: outside strings they
/// are insignificant whitespace, and inside a string a raw line feed is already invalid JSON
/// (it must be written `\n`), which stays invalid. Lines keep their numbers.
fn read_without_indentation(mut reader: impl Read, expected_size: usize) -> io::Result<ReadBuffer> {
    // Small enough to stay in the CPU cache between the kernel's copy and ours: reading and
    // compacting the 100 MB benchmark report took 0.14 s with 64 KiB chunks and 0.19 s with
    // 256 KiB (medians of 8 interleaved runs of a scratch program, busy host).
    const CHUNK_BYTES: usize = 64 * 1024;
    let mut json = ReadBuffer::with_capacity(expected_size);
    let mut chunk = vec![0; CHUNK_BYTES];
    let mut indentation_ahead = false;
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        indentation_ahead =
            append_without_indentation(&mut json, &chunk[..read], indentation_ahead);
    }
    Ok(json)
}

/// Appends `chunk` to `json` without the blanks that follow its line feeds; `at_line_start`
/// says whether the chunk starts a line (the previous chunk ended in a line feed or in the
/// indentation after one). Returns the same for the next chunk.
fn append_without_indentation(json: &mut ReadBuffer, chunk: &[u8], at_line_start: bool) -> bool {
    let mut rest = chunk;
    if at_line_start {
        rest = skip_blanks(rest);
        if rest.is_empty() {
            return true;
        }
    }
    while let Some(line_feed) = find_line_feed(rest) {
        json.extend_from_slice(&rest[..=line_feed]);
        rest = skip_blanks(&rest[line_feed + 1..]);
        if rest.is_empty() {
            return true;
        }
    }
    json.extend_from_slice(rest);
    false
}

/// The position of the first line feed in `text`, looked for eight bytes at a time (a
/// report's lines are short, so a call per line must be cheap): in `word ^ 0x0a0a…`, a line
/// feed is a zero byte, and `(x - 0x0101…) & !x & 0x8080…` marks zero bytes, the lowest mark
/// exactly.
fn find_line_feed(text: &[u8]) -> Option<usize> {
    const LINE_FEEDS: u64 = u64::from_le_bytes([b'\n'; 8]);
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let mut words = text.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        let bytes: [u8; 8] = word.try_into().expect("chunks of eight bytes");
        let x = u64::from_le_bytes(bytes) ^ LINE_FEEDS;
        let zero_bytes = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero_bytes != 0 {
            return Some(offset + (zero_bytes.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let tail = words.remainder().iter().position(|&byte| byte == b'\n')?;
    Some(offset + tail)
}

/// `text` without its leading spaces and tabs (indentation is mostly spaces, eight at a time).
fn skip_blanks(mut text: &[u8]) -> &[u8] {
    while let Some(rest) = text.strip_prefix(b"        ") {
        text = rest;
    }
    let blanks = text
        .iter()
        .take_while(|byte| matches!(byte, b' ' | b'\t'))
        .count();
    &text[blanks..]
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
        let error = Report::from_string(legacy.to_owned()).unwrap_err();
        assert!(matches!(error, Error::LegacyFormat));
    }

    #[test]
    fn invalid_utf8_is_an_error_with_its_position() {
        let json = b"{\"SchemaVersion\": 2,\n \"ArtifactName\": \"\xff\"}";
        for error in [
            Report::from_slice(json).unwrap_err(),
            Report::from_vec(json.to_vec()).unwrap_err(),
        ] {
            let Error::Json(error) = error else {
                panic!("expected a JSON error, got {error:?}");
            };
            assert_eq!(error.line(), 2);
        }
    }

    #[test]
    fn other_schema_versions_are_rejected() {
        let error = Report::from_str(r#"{"SchemaVersion": 3}"#).unwrap_err();
        assert!(matches!(error, Error::UnsupportedSchema { found: 3 }));
    }

    #[test]
    fn a_report_parsed_from_a_handed_over_buffer_shares_it_and_outlives_the_parse() {
        let description = "A long description, with no escapes, of a vulnerability in musl";
        let json = format!(
            r#"{{"SchemaVersion":2,"Results":[{{"Target":"alpine","Vulnerabilities":[
                {{"VulnerabilityID":"CVE-2019-14697","Description":"{description}",
                  "References":["https://nvd.nist.gov/vuln/detail/CVE-2019-14697"]}}]}}]}}"#
        );
        let shared = Report::from_vec(json.clone().into_bytes()).unwrap();
        let copied = Report::from_slice(json.as_bytes()).unwrap();
        drop(json);
        assert_eq!(shared, copied);
        let vulnerability = &shared.results()[0].vulnerabilities()[0];
        let text = vulnerability.description.as_ref().unwrap();
        assert!(text.is_shared());
        assert_eq!(text, description);
        assert!(
            !copied.results()[0].vulnerabilities()[0]
                .description
                .as_ref()
                .unwrap()
                .is_shared()
        );
        assert_eq!(shared.to_json_pretty(), copied.to_json_pretty());
    }

    /// What `read_without_indentation` must give: every blank run after a line feed removed.
    fn expected_without_indentation(text: &str) -> String {
        let mut lines = text.split('\n');
        let first = lines.next().unwrap_or_default().to_owned();
        lines.fold(first, |mut out, line| {
            out.push('\n');
            out.push_str(line.trim_start_matches([' ', '\t']));
            out
        })
    }

    /// Reads one byte at a time, so that every chunk boundary is exercised.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            let Some((first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buffer[0] = *first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn indentation_goes_and_everything_else_stays_whatever_the_chunks() {
        let text = "{\n  \"A\": \"x  y\\n  z\",\r\n\t \"B\": [\n    1,\n\n      2\n  ]\n}\n   ";
        let expected = expected_without_indentation(text);
        assert_eq!(
            expected,
            "{\n\"A\": \"x  y\\n  z\",\r\n\"B\": [\n1,\n\n2\n]\n}\n"
        );
        let whole = read_without_indentation(text.as_bytes(), 0).unwrap();
        assert_eq!(whole.into_text().unwrap().as_str(), expected);
        let trickled = read_without_indentation(Trickle(text.as_bytes()), 4).unwrap();
        assert_eq!(trickled.into_text().unwrap().as_str(), expected);
    }

    #[test]
    fn line_feeds_are_found_at_every_position_of_a_word() {
        for length in 0..40 {
            for at in 0..=length {
                let mut text = vec![b'x'; length];
                if at < length {
                    text[at] = b'\n';
                    // A later line feed and bytes near it must not confuse the first one.
                    text.iter_mut()
                        .skip(at + 1)
                        .step_by(3)
                        .for_each(|b| *b = b'\n' + 1);
                }
                let expected = text.iter().position(|&b| b == b'\n');
                assert_eq!(find_line_feed(&text), expected, "length {length}, at {at}");
            }
        }
        assert_eq!(find_line_feed(b"\x0b\x09\x0a\x80\xff"), Some(2));
    }

    #[test]
    fn a_raw_line_feed_in_a_string_stays_an_error() {
        let invalid = "{\"SchemaVersion\": 2, \"ArtifactName\": \"two\n   lines\"}";
        assert!(Report::from_str(invalid).is_err());
        let read = read_without_indentation(invalid.as_bytes(), 0).unwrap();
        assert!(Report::from_text_buffer(read.into_text().unwrap()).is_err());
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

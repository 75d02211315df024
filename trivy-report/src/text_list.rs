//! [`TextList`]: Trivy's lists of strings (`References`, `CweIDs`, `DependsOn`, ...) as
//! ranges of one buffer.

use std::cell::RefCell;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::buffer::TextBuffer;
use crate::text::{Span, with_input};
use crate::wire::Tighten;

/// A list of strings kept as ranges of one buffer: Trivy's string lists (`References`,
/// `CweIDs`, `DependsOn`, `RepoTags`, ...). A vulnerability's `References` alone are about
/// ten URLs; one buffer per list instead of one allocation per string halves the
/// allocations of a large report. A list read by a sharing parse ([`Report::from_vec`] and
/// the like, see [`Text`](crate::Text)) points into the parsed document instead of copying
/// it, unless one of its strings has escapes.
///
/// It reads like a slice of `&str` and serialises as a JSON array of strings:
///
/// ```
/// use wharf_trivy_report::TextList;
///
/// let mut references: TextList = ["https://example.com/a", "https://example.com/b"]
///     .into_iter()
///     .collect();
/// references.push("https://example.com/c");
/// assert_eq!(references.len(), 3);
/// assert_eq!(references.get(1), Some("https://example.com/b"));
/// assert!(references.contains("https://example.com/c"));
/// let all: Vec<&str> = references.iter().collect();
/// assert_eq!(all[0], "https://example.com/a");
/// assert_eq!(serde_json::to_string(&references)?, serde_json::to_string(&all)?);
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// [`Report::from_vec`]: crate::Report::from_vec
#[derive(Clone, Default)]
pub struct TextList {
    /// The buffer the spans point into: the list's own, or the document it was parsed from.
    buffer: Option<Arc<TextBuffer>>,
    /// Where each string is in `buffer`.
    spans: Vec<Span>,
}

impl TextList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of strings.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the list has no strings.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The string at `index`.
    pub fn get(&self, index: usize) -> Option<&str> {
        let span = self.spans.get(index)?;
        Some(span.get(self.buffer.as_deref().map_or("", TextBuffer::as_str)))
    }

    /// The first string.
    pub fn first(&self) -> Option<&str> {
        self.get(0)
    }

    /// Whether one of the strings equals `text`.
    pub fn contains(&self, text: &str) -> bool {
        self.iter().any(|item| item == text)
    }

    /// Appends a string.
    ///
    /// # Panics
    ///
    /// When the list's text would exceed 4 GiB.
    pub fn push(&mut self, text: &str) {
        let buffer = self.own_buffer();
        let start = buffer.len();
        buffer.push_str(text);
        let span = Span::new(start, text.len()).expect("a TextList holds at most 4 GiB of text");
        self.spans.push(span);
    }

    /// The strings in order.
    pub fn iter(&self) -> Texts<'_> {
        Texts {
            list: self,
            front: 0,
            back: self.len(),
        }
    }

    /// The strings as owned `String`s.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// The list's own buffer, made first if the list has none or shares it (with the
    /// document it was parsed from, or with a clone).
    fn own_buffer(&mut self) -> &mut String {
        if self.growable_buffer().is_none() {
            *self = collect_into_own_buffer(self.iter());
        }
        self.growable_buffer()
            .expect("a list collected into its own buffer owns a growable one")
    }

    /// The buffer, if it is the list's own (not shared with a document or a clone) and can
    /// grow.
    fn growable_buffer(&mut self) -> Option<&mut String> {
        self.buffer
            .as_mut()
            .and_then(Arc::get_mut)
            .and_then(TextBuffer::as_mut_string)
    }
}

impl Tighten for TextList {
    fn tighten(&mut self) {
        self.spans.shrink_to_fit();
    }
}

impl PartialEq for TextList {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for TextList {}

impl Hash for TextList {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for text in self {
            text.hash(state);
        }
    }
}

/// The iterator of [`TextList::iter`].
#[derive(Debug, Clone)]
pub struct Texts<'a> {
    list: &'a TextList,
    front: usize,
    back: usize,
}

/// A list of `texts` in a buffer of its own of exactly their size.
fn collect_into_own_buffer<'a>(texts: impl Iterator<Item = &'a str> + Clone) -> TextList {
    let mut buffer = String::with_capacity(texts.clone().map(str::len).sum());
    let spans = texts
        .map(|text| {
            let start = buffer.len();
            buffer.push_str(text);
            Span::new(start, text.len()).expect("a TextList holds at most 4 GiB of text")
        })
        .collect();
    TextList {
        buffer: Some(Arc::new(TextBuffer::from(buffer))),
        spans,
    }
}

impl<'a> Iterator for Texts<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.front == self.back {
            return None;
        }
        let item = self.list.get(self.front);
        self.front += 1;
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back - self.front;
        (left, Some(left))
    }
}

impl DoubleEndedIterator for Texts<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.list.get(self.back)
    }
}

impl ExactSizeIterator for Texts<'_> {}

impl<'a> IntoIterator for &'a TextList {
    type Item = &'a str;
    type IntoIter = Texts<'a>;

    fn into_iter(self) -> Texts<'a> {
        self.iter()
    }
}

impl<S: AsRef<str>> FromIterator<S> for TextList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut list = TextList::new();
        list.extend(iter);
        list
    }
}

impl<S: AsRef<str>> Extend<S> for TextList {
    fn extend<I: IntoIterator<Item = S>>(&mut self, iter: I) {
        for text in iter {
            self.push(text.as_ref());
        }
    }
}

impl From<Vec<String>> for TextList {
    fn from(texts: Vec<String>) -> Self {
        texts.into_iter().collect()
    }
}

impl fmt::Debug for TextList {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for TextList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for text in self {
            seq.serialize_element(text)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for TextList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ListVisitor)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = TextList;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextList, A::Error> {
        let input: Option<Arc<TextBuffer>> = with_input(|input| input.map(Arc::clone));
        READER.with(|reader| {
            let Ok(mut reader) = reader.try_borrow_mut() else {
                // Only reachable if a deserializer nests lists inside a string: read directly.
                return read_list(&mut seq, &mut ListReader::starting(input));
            };
            reader.start(input);
            let list = read_list(&mut seq, &mut reader);
            reader.release();
            list
        })
    }
}

fn read_list<'de, A: SeqAccess<'de>>(
    seq: &mut A,
    reader: &mut ListReader,
) -> Result<TextList, A::Error> {
    while seq.next_element_seed(AddTo(reader))?.is_some() {}
    Ok(reader.finish())
}

thread_local! {
    /// The buffers each thread reads lists with, kept between lists.
    static READER: RefCell<ListReader> = RefCell::new(ListReader::default());
}

/// Where one string of a list being read is.
#[derive(Clone, Copy)]
enum Piece {
    /// In the document of the sharing parse.
    InInput(Span),
    /// Copied into the reader's buffer (escaped strings, or no sharing parse).
    Copied(Span),
}

/// The strings of a list being read, before the list is made at its final size.
#[derive(Default)]
struct ListReader {
    input: Option<Arc<TextBuffer>>,
    copied: String,
    pieces: Vec<Piece>,
}

impl ListReader {
    fn starting(input: Option<Arc<TextBuffer>>) -> Self {
        let mut reader = ListReader::default();
        reader.start(input);
        reader
    }

    fn start(&mut self, input: Option<Arc<TextBuffer>>) {
        self.input = input;
        self.copied.clear();
        self.pieces.clear();
    }

    /// Adds a string: as a span of the input when it lies in the document of a sharing parse
    /// (a string the parser had to unescape lies in its scratch buffer instead), otherwise
    /// copied.
    fn add(&mut self, text: &str) {
        let in_input = self
            .input
            .as_deref()
            .and_then(|input| Span::within(input.as_str(), text));
        if let Some(span) = in_input {
            self.pieces.push(Piece::InInput(span));
            return;
        }
        let start = self.copied.len();
        self.copied.push_str(text);
        let span = Span::new(start, text.len()).expect("a TextList holds at most 4 GiB of text");
        self.pieces.push(Piece::Copied(span));
    }

    fn text(&self, piece: Piece) -> &str {
        match piece {
            Piece::InInput(span) => span.get(self.input.as_deref().map_or("", TextBuffer::as_str)),
            Piece::Copied(span) => span.get(&self.copied),
        }
    }

    /// The list: pointing into the input when every string is in it, otherwise in a buffer of
    /// its own holding exactly its strings.
    fn finish(&self) -> TextList {
        let all_in_input = self
            .pieces
            .iter()
            .all(|piece| matches!(piece, Piece::InInput(_)));
        match &self.input {
            Some(input) if all_in_input && !self.pieces.is_empty() => TextList {
                buffer: Some(Arc::clone(input)),
                spans: self
                    .pieces
                    .iter()
                    .map(|piece| match piece {
                        Piece::InInput(span) | Piece::Copied(span) => *span,
                    })
                    .collect(),
            },
            _ if self.pieces.is_empty() => TextList::new(),
            _ => collect_into_own_buffer(self.pieces.iter().map(|piece| self.text(*piece))),
        }
    }

    /// Lets go of the input and frees buffers that an unusually long list grew, so that
    /// neither is kept for the life of the thread.
    fn release(&mut self) {
        const KEEP_BYTES: usize = 64 * 1024;
        self.input = None;
        if self.copied.capacity() > KEEP_BYTES || self.pieces.capacity() > KEEP_BYTES / 8 {
            *self = ListReader::default();
        }
    }
}

/// Reads one string of an array into a [`ListReader`].
struct AddTo<'a>(&'a mut ListReader);

impl<'de> DeserializeSeed<'de> for AddTo<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for AddTo<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        self.0.add(text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::parse_sharing;

    fn parse_shared(json: &str) -> TextList {
        let input = Arc::new(TextBuffer::from(json.to_owned()));
        parse_sharing(&input, |json| serde_json::from_str(json)).unwrap()
    }

    fn shares_input(list: &TextList) -> bool {
        list.buffer
            .as_ref()
            .is_some_and(|buffer| buffer.as_str().len() > list.iter().map(str::len).sum())
    }

    #[test]
    fn round_trips_as_an_array_with_empty_and_escaped_strings() {
        let json = r#"["a","","\"quoted\"\n","ünïcode"]"#;
        for list in [
            serde_json::from_str::<TextList>(json).unwrap(),
            parse_shared(json),
        ] {
            assert_eq!(list.len(), 4);
            assert_eq!(list.get(1), Some(""));
            assert_eq!(list.get(2), Some("\"quoted\"\n"));
            assert_eq!(list.get(4), None);
            assert_eq!(serde_json::to_string(&list).unwrap(), json);
            assert_eq!(
                list.iter().rev().collect::<Vec<_>>(),
                ["ünïcode", "\"quoted\"\n", "", "a"]
            );
            assert!(
                !shares_input(&list),
                "a list with an escaped string has its own copy"
            );
        }
    }

    #[test]
    fn a_list_of_a_sharing_parse_points_into_the_input_until_it_is_changed() {
        let mut list = parse_shared(r#"  ["https://example.com/a", "https://example.com/b"]  "#);
        assert!(shares_input(&list));
        let clone = list.clone();
        list.push("https://example.com/c");
        assert!(!shares_input(&list));
        assert_eq!(
            list.to_vec(),
            [
                "https://example.com/a",
                "https://example.com/b",
                "https://example.com/c"
            ]
        );
        assert_eq!(
            clone.to_vec(),
            ["https://example.com/a", "https://example.com/b"]
        );
        assert_eq!(
            clone,
            parse_shared(r#"["https://example.com/a","https://example.com/b"]"#)
        );
        assert_ne!(clone, list);
    }

    #[test]
    fn rejects_non_strings() {
        assert!(serde_json::from_str::<TextList>("[1]").is_err());
        assert!(serde_json::from_str::<TextList>("[null]").is_err());
        assert!(serde_json::from_str::<TextList>("\"a\"").is_err());
    }

    #[test]
    fn empty_list_is_not_absent() {
        for list in [
            serde_json::from_str::<TextList>("[]").unwrap(),
            parse_shared("[]"),
        ] {
            assert!(list.is_empty());
            assert_eq!(serde_json::to_string(&list).unwrap(), "[]");
        }
    }

    #[test]
    fn a_list_is_smaller_than_a_string_and_a_vec() {
        assert_eq!(std::mem::size_of::<Option<TextList>>(), 32);
    }
}

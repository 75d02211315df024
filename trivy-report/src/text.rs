//! The model's string types: [`Text`] for one string, [`TextList`] for Trivy's lists of
//! strings. A large report holds about a million strings, so how they are stored decides
//! most of the parse time and memory.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::wire::Tighten;

/// The string type of every text field of the model: a small-string type that stores up to
/// 24 bytes inline (most ids, versions, package names and severity sources) and only
/// allocates for longer text, such as descriptions and URLs. In the benchmark report about
/// two strings in five fit inline.
///
/// It dereferences to `&str`, compares with `&str` and `String`, and converts from both:
///
/// ```
/// use wharf_trivy_report::{Text, Vulnerability};
///
/// let mut vulnerability = Vulnerability::default();
/// vulnerability.vulnerability_id = Some(Text::from("CVE-2019-14697"));
/// vulnerability.pkg_name = Some("musl".into());
/// assert_eq!(vulnerability.id(), "CVE-2019-14697");
/// assert_eq!(vulnerability.pkg_name.as_deref(), Some("musl"));
/// let owned: String = vulnerability.pkg_name.unwrap_or_default().into();
/// assert_eq!(owned, "musl");
/// ```
pub type Text = compact_str::CompactString;

/// A list of strings kept in one buffer: Trivy's string lists (`References`, `CweIDs`,
/// `DependsOn`, `RepoTags`, ...). A vulnerability's `References` alone are about ten URLs;
/// one buffer per list instead of one allocation per string halves the allocations of a
/// large report.
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
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct TextList {
    /// The strings, one after the other.
    text: String,
    /// Where each string ends in `text`.
    ends: Vec<usize>,
}

impl TextList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the list has no strings.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The string at `index`.
    pub fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
        self.text.get(start..end)
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
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
        self.ends.push(self.text.len());
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
}

impl Tighten for TextList {
    fn tighten(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// The iterator of [`TextList::iter`].
#[derive(Debug, Clone)]
pub struct Texts<'a> {
    list: &'a TextList,
    front: usize,
    back: usize,
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
        SCRATCH.with(|scratch| {
            let Ok(mut scratch) = scratch.try_borrow_mut() else {
                // Only reachable if a deserializer nests lists inside a string: read directly.
                return read_items(&mut seq, &mut TextList::new());
            };
            scratch.text.clear();
            scratch.ends.clear();
            let list = read_items(&mut seq, &mut scratch)?;
            scratch.release_if_large();
            Ok(list)
        })
    }
}

/// Reads the strings into `buffer`, then copies them into a list of exactly their size: two
/// allocations per list, none per string and no growth.
fn read_items<'de, A: SeqAccess<'de>>(
    seq: &mut A,
    buffer: &mut TextList,
) -> Result<TextList, A::Error> {
    while seq.next_element_seed(AppendTo(buffer))?.is_some() {}
    Ok(TextList {
        text: buffer.text.as_str().to_owned(),
        ends: buffer.ends.clone(),
    })
}

impl TextList {
    /// Frees a scratch buffer that an unusually long list grew, so that it is not kept for
    /// the life of the thread.
    fn release_if_large(&mut self) {
        const KEEP_BYTES: usize = 64 * 1024;
        if self.text.capacity() > KEEP_BYTES || self.ends.capacity() > KEEP_BYTES / 8 {
            *self = TextList::new();
        }
    }
}

thread_local! {
    /// The buffer each thread reads lists into before they are copied out at their size.
    static SCRATCH: RefCell<TextList> = RefCell::new(TextList::new());
}

/// Reads one string of an array straight into the list's buffer (no allocation per string).
struct AppendTo<'a>(&'a mut TextList);

impl<'de> DeserializeSeed<'de> for AppendTo<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for AppendTo<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        self.0.push(text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_as_an_array_with_empty_and_escaped_strings() {
        let json = r#"["a","","\"quoted\"\n","ünïcode"]"#;
        let list: TextList = serde_json::from_str(json).unwrap();
        assert_eq!(list.len(), 4);
        assert_eq!(list.get(1), Some(""));
        assert_eq!(list.get(2), Some("\"quoted\"\n"));
        assert_eq!(list.get(4), None);
        assert_eq!(serde_json::to_string(&list).unwrap(), json);
        assert_eq!(
            list.iter().rev().collect::<Vec<_>>(),
            ["ünïcode", "\"quoted\"\n", "", "a"]
        );
    }

    #[test]
    fn rejects_non_strings() {
        assert!(serde_json::from_str::<TextList>("[1]").is_err());
        assert!(serde_json::from_str::<TextList>("[null]").is_err());
        assert!(serde_json::from_str::<TextList>("\"a\"").is_err());
    }

    #[test]
    fn empty_list_is_not_absent() {
        let list: TextList = serde_json::from_str("[]").unwrap();
        assert!(list.is_empty());
        assert_eq!(serde_json::to_string(&list).unwrap(), "[]");
    }
}

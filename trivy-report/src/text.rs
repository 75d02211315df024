//! The model's string types: [`Text`] for one string, [`TextList`](crate::TextList) for
//! Trivy's lists of strings. A large report holds about a million strings, so how they are
//! stored decides most of the parse time and memory.
//!
//! Two ways keep them cheap:
//!
//! - Short strings (up to 24 bytes: most ids, versions, package names and severity sources)
//!   are stored inline, without an allocation.
//! - When a report is parsed from a buffer the parser owns ([`Report::from_vec`],
//!   [`Report::from_string`], [`Report::from_path`]), longer strings without escapes are
//!   not copied: they point into that buffer, which is shared (reference counted) by every
//!   string that points into it. The model then costs its structure on top of the input,
//!   not a second copy of the input's text, and the buffer is freed with the last string
//!   that uses it.
//!
//! [`Report::from_vec`]: crate::Report::from_vec
//! [`Report::from_string`]: crate::Report::from_string
//! [`Report::from_path`]: crate::Report::from_path

use std::borrow::Borrow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use compact_str::CompactString;
use serde::de::Visitor;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::buffer::TextBuffer;

/// The longest string stored inline, without an allocation.
const INLINE_CAPACITY: usize = std::mem::size_of::<String>();

/// The string type of every text field of the model.
///
/// It stores up to 24 bytes inline. A longer string is either in its own allocation or,
/// when the report was parsed from a buffer the parser owns ([`Report::from_vec`],
/// [`Report::from_string`], [`Report::from_path`]) and the string has no escapes, a slice
/// of that buffer, which stays alive (reference counted) while any of its strings do.
/// Either way it reads as a `&str`: it dereferences to `str`, compares with `&str` and
/// `String`, and converts from and into both:
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
///
/// [`Report::from_vec`]: crate::Report::from_vec
/// [`Report::from_string`]: crate::Report::from_string
/// [`Report::from_path`]: crate::Report::from_path
#[derive(Clone, Default)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    /// Inline up to 24 bytes, otherwise in the string's own allocation.
    Owned(CompactString),
    /// A slice of the document the report was parsed from.
    Shared(Arc<TextBuffer>, Span),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Owned(CompactString::default())
    }
}

impl Text {
    /// The text as a string slice.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Owned(text) => text.as_str(),
            Repr::Shared(input, span) => span.get(input.as_str()),
        }
    }

    /// Whether the text points into the document it was parsed from rather than holding its
    /// own copy (see the type's documentation).
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Repr::Shared(..))
    }

    /// Reads a string that the parser lent from its input: a slice of the shared input when
    /// it lies in it and is too long to store inline, otherwise a copy.
    fn read(text: &str) -> Text {
        if text.len() > INLINE_CAPACITY
            && let Some((input, span)) = with_input(|input| {
                let input = input?;
                Some((Arc::clone(input), Span::within(input.as_str(), text)?))
            })
        {
            return Text(Repr::Shared(input, span));
        }
        Text::from(text)
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text(Repr::Owned(CompactString::from(text)))
    }
}

impl From<&String> for Text {
    fn from(text: &String) -> Self {
        Text::from(text.as_str())
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text(Repr::Owned(CompactString::from(text)))
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        match text.0 {
            Repr::Owned(text) => text.into_string(),
            Repr::Shared(input, span) => span.get(input.as_str()).to_owned(),
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `str` hashes, so that lookups through `Borrow<str>` find the same entries.
        self.as_str().hash(state);
    }
}

macro_rules! compare_with_strings {
    ($($other:ty),*) => {
        $(
            impl PartialEq<$other> for Text {
                fn eq(&self, other: &$other) -> bool {
                    self.as_str() == AsRef::<str>::as_ref(other)
                }
            }

            impl PartialEq<Text> for $other {
                fn eq(&self, other: &Text) -> bool {
                    AsRef::<str>::as_ref(self) == other.as_str()
                }
            }
        )*
    };
}

compare_with_strings!(str, &str, String);

impl fmt::Debug for Text {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), formatter)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Text, E> {
                Ok(Text::read(text))
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Text, E> {
                Ok(Text::from(text))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Text, E> {
                Ok(Text::from(text))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

/// Where a string lies in a buffer: a byte range stored in eight bytes (a report larger than
/// 4 GiB is read with copies instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// The span `start..start + len`, if it fits.
    pub(crate) fn new(start: usize, len: usize) -> Option<Span> {
        Some(Span {
            start: u32::try_from(start).ok()?,
            len: u32::try_from(len).ok()?,
        })
    }

    /// The span of `text` in `buffer`, if `text` is a slice of `buffer`.
    pub(crate) fn within(buffer: &str, text: &str) -> Option<Span> {
        let start = (text.as_ptr() as usize).checked_sub(buffer.as_ptr() as usize)?;
        if start.checked_add(text.len())? > buffer.len() {
            return None;
        }
        Span::new(start, text.len())
    }

    /// The text of the span in `buffer`.
    pub(crate) fn get(self, buffer: &str) -> &str {
        let start = self.start as usize;
        &buffer[start..start + self.len as usize]
    }
}

thread_local! {
    /// The document being parsed by a sharing parse on this thread, if any.
    static INPUT: RefCell<Option<Arc<TextBuffer>>> = const { RefCell::new(None) };
}

/// Runs `parse` on `input` with `input` registered as the document that the strings read
/// during the parse may point into (on this thread, for the length of the call).
pub(crate) fn parse_sharing<T>(input: &Arc<TextBuffer>, parse: impl FnOnce(&str) -> T) -> T {
    /// Puts back the registration of an enclosing parse, also when `parse` panics.
    struct Restore(Option<Arc<TextBuffer>>);

    impl Drop for Restore {
        fn drop(&mut self) {
            let enclosing = self.0.take();
            INPUT.with(|registered| *registered.borrow_mut() = enclosing);
        }
    }

    let enclosing = INPUT.with(|registered| registered.replace(Some(Arc::clone(input))));
    let _restore = Restore(enclosing);
    parse(input.as_str())
}

/// Calls `use_input` with the document of the sharing parse running on this thread, if any.
pub(crate) fn with_input<T>(use_input: impl FnOnce(Option<&Arc<TextBuffer>>) -> T) -> T {
    INPUT.with(|registered| use_input(registered.borrow().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_shared<T: serde::de::DeserializeOwned>(json: &str) -> T {
        let input = Arc::new(TextBuffer::from(json.to_owned()));
        parse_sharing(&input, |json| serde_json::from_str(json)).unwrap()
    }

    #[test]
    fn long_unescaped_strings_of_a_sharing_parse_point_into_the_input() {
        let long = "https://nvd.nist.gov/vuln/detail/CVE-2019-14697";
        let [short, shared, escaped]: [Text; 3] = parse_shared(&format!(
            r#"["musl", "{long}", "line one\nline two and more"]"#
        ));
        assert!(!short.is_shared());
        assert!(shared.is_shared());
        assert_eq!(shared, long);
        assert!(!escaped.is_shared());
        assert_eq!(escaped, "line one\nline two and more");
    }

    #[test]
    fn strings_outside_a_sharing_parse_are_copies() {
        let text: Text = serde_json::from_str(r#""https://nvd.nist.gov/vuln/detail/CVE""#).unwrap();
        assert!(!text.is_shared());
        with_input(|input| assert!(input.is_none()));
    }

    #[test]
    fn shared_and_owned_texts_compare_hash_and_convert_alike() {
        use std::collections::HashSet;

        let long = "a description longer than twenty-four bytes";
        let shared: Text = parse_shared(&format!("\"{long}\""));
        let owned = Text::from(long);
        assert!(shared.is_shared());
        assert_eq!(shared, owned);
        assert_eq!(format!("{shared:?}"), format!("{long:?}"));
        let set: HashSet<Text> = [owned].into_iter().collect();
        assert!(set.contains(long));
        assert!(set.contains(&shared));
        assert_eq!(String::from(shared), long);
    }

    #[test]
    fn a_text_is_as_small_as_a_string() {
        assert_eq!(std::mem::size_of::<Text>(), std::mem::size_of::<String>());
        assert_eq!(
            std::mem::size_of::<Option<Text>>(),
            std::mem::size_of::<String>()
        );
    }

    #[test]
    fn a_span_is_only_found_inside_its_buffer() {
        let buffer = String::from("0123456789");
        assert_eq!(Span::within(&buffer, &buffer[2..5]), Span::new(2, 3));
        assert_eq!(Span::within(&buffer, "elsewhere"), None);
        assert_eq!(Span::new(2, 3).unwrap().get(&buffer), "234");
    }
}

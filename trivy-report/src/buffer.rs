//! The buffers that shared strings point into: [`TextBuffer`], and [`ReadBuffer`], which
//! [`Report::from_path`](crate::Report::from_path) reads a file into.
//!
//! A large file is read into memory mapped for it alone, and on Linux the pages just ahead of
//! the write position are asked for a few MiB at a time (`madvise(MADV_POPULATE_WRITE)`,
//! Linux 5.14 and later): the kernel then provides them in one call instead of one page fault
//! per 4 KiB page, which on the benchmark machine was a third of the cost of reading a file
//! into fresh memory (measured in `BENCHMARKS.md`, "trivy, notes"). Huge pages were tried
//! instead and dropped there: faster while the kernel had free memory at hand, slower than
//! ordinary pages when it did not.
use bytes::Bytes;
use bytestring::ByteString;
use memmap2::MmapMut;

/// A read-only UTF-8 buffer that shared [`Text`](crate::Text)s and
/// [`TextList`](crate::TextList)s point into.
#[derive(Debug)]
pub(crate) enum TextBuffer {
    /// An ordinary string: a handed-over input, or a list's own buffer.
    Heap(String),
    /// A file read by [`ReadBuffer`] into memory of its own.
    Pages(ByteString),
}

impl TextBuffer {
    /// The whole buffer.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            TextBuffer::Heap(text) => text,
            TextBuffer::Pages(text) => text,
        }
    }

    /// The buffer as a `String` that can grow, if it is one.
    pub(crate) fn as_mut_string(&mut self) -> Option<&mut String> {
        match self {
            TextBuffer::Heap(text) => Some(text),
            TextBuffer::Pages(_) => None,
        }
    }
}

impl From<String> for TextBuffer {
    fn from(text: String) -> Self {
        TextBuffer::Heap(text)
    }
}

/// Where [`Report::from_path`](crate::Report::from_path) collects a file's bytes: an
/// append-only buffer with a capacity fixed up front.
pub(crate) struct ReadBuffer(Storage);

enum Storage {
    /// Memory mapped for this buffer alone, filled up to `len` and populated up to
    /// `populated`.
    Pages {
        pages: MmapMut,
        len: usize,
        populated: usize,
    },
    /// Small files, and any file that grew beyond the expected size while it was read.
    Heap(Vec<u8>),
}

impl ReadBuffer {
    /// Below this, a mapping costs more than it saves.
    const PAGES_FROM_BYTES: usize = 4 << 20;

    /// How far ahead of the write position pages are populated at a time. 1, 4 and 16 MiB
    /// gave the same speed in a scratch program; 4 MiB keeps the memory touched ahead small.
    const POPULATE_STEP_BYTES: usize = 4 << 20;

    /// A buffer for about `capacity` bytes: mapped pages for a large file, otherwise a `Vec`.
    pub(crate) fn with_capacity(capacity: usize) -> ReadBuffer {
        ReadBuffer::with_pages_from(capacity, Self::PAGES_FROM_BYTES)
    }

    /// [`ReadBuffer::with_capacity`] with the size from which pages are mapped as a parameter,
    /// so that tests can map small buffers.
    fn with_pages_from(capacity: usize, pages_from_bytes: usize) -> ReadBuffer {
        if capacity >= pages_from_bytes
            && let Ok(pages) = MmapMut::map_anon(capacity)
        {
            return ReadBuffer(Storage::Pages {
                pages,
                len: 0,
                populated: 0,
            });
        }
        ReadBuffer(Storage::Heap(Vec::with_capacity(capacity)))
    }

    /// Appends `bytes`, moving to the heap if they do not fit in the mapped pages.
    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        if let Storage::Pages {
            pages,
            len,
            populated,
        } = &mut self.0
        {
            let end = *len + bytes.len();
            if end <= pages.len() {
                populate_ahead(pages, populated, end);
            }
            if let Some(room) = pages.get_mut(*len..end) {
                room.copy_from_slice(bytes);
                *len = end;
                return;
            }
            let mut heap = Vec::with_capacity(end.max(pages.len()) * 2);
            heap.extend_from_slice(&pages[..*len]);
            self.0 = Storage::Heap(heap);
        }
        if let Storage::Heap(heap) = &mut self.0 {
            heap.extend_from_slice(bytes);
        }
    }

    /// The bytes appended so far.
    #[cfg(test)]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Storage::Pages { pages, len, .. } => &pages[..*len],
            Storage::Heap(heap) => heap,
        }
    }

    /// Whether the bytes are in mapped pages.
    #[cfg(test)]
    fn is_mapped(&self) -> bool {
        matches!(self.0, Storage::Pages { .. })
    }

    /// The bytes as text, without copying them; `None` when they are not UTF-8.
    pub(crate) fn into_text(self) -> Option<TextBuffer> {
        match self.0 {
            Storage::Pages { pages, len, .. } => {
                // FIXME: the mapping keeps its full size for the life of the report; past
                // `len` it costs address space, and memory for the up to one populate step
                // there (returning it needs `MADV_DONTNEED`, which `memmap2` offers only as
                // `unsafe`, forbidden here).
                let bytes = Bytes::from_owner(pages).slice(..len);
                ByteString::try_from(bytes).ok().map(TextBuffer::Pages)
            }
            Storage::Heap(mut heap) => {
                heap.shrink_to_fit();
                String::from_utf8(heap).ok().map(TextBuffer::Heap)
            }
        }
    }
}

/// Makes sure the kernel has provided `pages` up to at least `end`, asking for
/// [`ReadBuffer::POPULATE_STEP_BYTES`] at a time from `populated` on. Only advice: where the
/// kernel does not know the request (before Linux 5.14) or cannot grant it, the pages are
/// faulted in one by one as they are written, as without it.
fn populate_ahead(pages: &MmapMut, populated: &mut usize, end: usize) {
    while *populated < end {
        let step = ReadBuffer::POPULATE_STEP_BYTES.min(pages.len() - *populated);
        #[cfg(target_os = "linux")]
        let _advice_only = pages.advise_range(memmap2::Advice::PopulateWrite, *populated, step);
        *populated += step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_buffer_is_mapped_and_becomes_shared_text() {
        let mut buffer = ReadBuffer::with_pages_from(16, 8);
        assert!(buffer.is_mapped());
        buffer.extend_from_slice(b"{\"A\":");
        buffer.extend_from_slice("\"ü\"}".as_bytes());
        assert_eq!(buffer.as_bytes(), "{\"A\":\"ü\"}".as_bytes());
        let text = buffer.into_text().unwrap();
        assert!(matches!(text, TextBuffer::Pages(_)));
        assert_eq!(text.as_str(), "{\"A\":\"ü\"}");
    }

    #[test]
    fn a_file_that_grows_while_read_moves_to_the_heap_without_losing_bytes() {
        let mut buffer = ReadBuffer::with_pages_from(8, 8);
        buffer.extend_from_slice(b"0123456");
        assert!(buffer.is_mapped());
        buffer.extend_from_slice(b"789");
        assert!(!buffer.is_mapped());
        buffer.extend_from_slice(b"abc");
        assert_eq!(buffer.as_bytes(), b"0123456789abc");
        assert_eq!(buffer.into_text().unwrap().as_str(), "0123456789abc");
    }

    #[test]
    fn pages_are_populated_a_step_ahead_and_never_past_the_mapping() {
        let step = ReadBuffer::POPULATE_STEP_BYTES;
        let mut buffer = ReadBuffer::with_pages_from(step * 2 + 10, 8);
        let populated = |buffer: &ReadBuffer| match buffer.0 {
            Storage::Pages { populated, .. } => populated,
            Storage::Heap(_) => unreachable!("the buffer is mapped"),
        };
        assert_eq!(populated(&buffer), 0);
        buffer.extend_from_slice(b"{");
        assert_eq!(populated(&buffer), step);
        buffer.extend_from_slice(&vec![b' '; step]);
        assert_eq!(populated(&buffer), step * 2);
        buffer.extend_from_slice(&vec![b' '; step + 9]);
        assert_eq!(populated(&buffer), step * 2 + 10);
        assert_eq!(buffer.as_bytes().len(), step * 2 + 10);
        buffer.extend_from_slice(b"}");
        assert!(!buffer.is_mapped());
        assert_eq!(buffer.as_bytes().len(), step * 2 + 11);
    }

    #[test]
    fn small_buffers_stay_on_the_heap() {
        let buffer = ReadBuffer::with_capacity(1000);
        assert!(!buffer.is_mapped());
        assert_eq!(buffer.into_text().unwrap().as_str(), "");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_not_text_in_either_storage() {
        for pages_from in [1, usize::MAX] {
            let mut buffer = ReadBuffer::with_pages_from(4, pages_from);
            buffer.extend_from_slice(b"\"\xff\"");
            assert!(buffer.into_text().is_none());
        }
    }
}

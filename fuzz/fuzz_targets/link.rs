//! `parse_links` never panics on any `Link` header value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_oci_core::link::parse_links;

fuzz_target!(|header: &str| {
    let _ = parse_links(header);
});

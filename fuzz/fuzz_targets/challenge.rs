//! `Challenge::parse_all` never panics on any `WWW-Authenticate` value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_oci_core::challenge::Challenge;

fuzz_target!(|header: &str| {
    let _ = Challenge::parse_all(header);
});

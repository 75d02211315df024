//! `Report::from_slice` never panics on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_trivy_report::Report;

fuzz_target!(|bytes: &[u8]| {
    let _ = Report::from_slice(bytes);
});

//! `Report::from_slice` never panics on any bytes, and the sharing parse
//! (`Report::from_vec`) accepts exactly what it accepts and builds the same model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_trivy_report::Report;

fuzz_target!(|bytes: &[u8]| {
    let copied = Report::from_slice(bytes);
    let shared = Report::from_vec(bytes.to_vec());
    match (copied, shared) {
        (Ok(copied), Ok(shared)) => assert_eq!(copied, shared),
        (Err(_), Err(_)) => {}
        (copied, shared) => panic!("from_slice gave {copied:?}, from_vec gave {shared:?}"),
    }
});

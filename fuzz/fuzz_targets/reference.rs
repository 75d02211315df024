//! `Reference::parse` never panics; what it accepts prints back to something it accepts again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_oci_core::reference::Reference;

fuzz_target!(|input: &str| {
    if let Ok(reference) = Reference::parse(input) {
        let printed = reference.to_string();
        let again = Reference::parse(&printed).expect("a printed reference parses again");
        assert_eq!(again.to_string(), printed);
    }
});

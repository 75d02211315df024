//! Test-only helpers for Wharf: simulators, token service, fault injection and image builders.

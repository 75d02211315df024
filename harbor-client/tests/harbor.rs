//! Integration tests of wharf-harbor-client, in one binary:
//!
//! - `prism`: every generated operation against `prism mock` serving Harbor's spec (needs
//!   `cargo xtask services up`; `WHARF_PRISM_HARBOR_URL`);
//! - `wire`: wiremock for the conventions and quirks (double encoding, Link, errors, retries,
//!   `null` lists, zero times, string booleans, MIME-keyed reports, undeclared statuses);
//! - `flows`: end-to-end flows on the Harbor simulator from `wharf-testkit`.

mod harbor {
    mod common;
    mod flows;
    mod generated_calls;
    mod prism;
    mod wire;
}

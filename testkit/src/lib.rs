//! Test-only helpers for Wharf: simulators, token service, fault injection and image builders.
//!
//! Integration tests find the local service stack through [`services`]:
//!
//! ```no_run
//! let registry = wharf_testkit::services::registry_plain();
//! println!("pushing to {}", registry.base_url());
//! ```

pub mod fault_proxy;
pub mod harbor_sim;
pub mod hostile;
pub mod image;
pub mod pki;
pub mod services;
pub mod token;

//! The `migrate` flow: list the sources, create the Harbor projects, copy every tag.
//!
//! Resuming is the copy engine's: a second run finds what arrived (one `HEAD` each) and sends
//! only the rest, so an interrupted migration is finished by running it again.

pub mod config;
pub mod inventory;

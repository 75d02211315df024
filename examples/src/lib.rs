//! Shared plumbing for the Wharf command-line tools in `src/bin/`.

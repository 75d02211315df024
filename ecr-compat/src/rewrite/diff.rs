//! Unified diffs for reviewing a rewrite.

use similar::TextDiff;

/// A unified diff (three lines of context) from `before` to `after`, with headers
/// `a/<path>` and `b/<path>`; empty when nothing changed.
///
/// ```
/// let diff = wharf_ecr_compat::rewrite::unified_diff("a\nb\n", "a\nc\n", "x.yaml");
/// assert!(diff.starts_with("--- a/x.yaml\n+++ b/x.yaml\n@@ -1,2 +1,2 @@\n"));
/// assert!(diff.contains("-b\n+c\n"));
/// ```
pub fn unified_diff(before: &str, after: &str, path: &str) -> String {
    if before == after {
        return String::new();
    }
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

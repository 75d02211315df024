//! Comparing Harbor versions such as `v2.10.0-4f2b3c1`.

/// True when `actual` is at least `required`, comparing the numeric parts in order
/// (`v2.10.1-abc` >= `2.9`). An unreadable version counts as new enough, with a warning.
pub fn at_least(actual: &str, required: &str) -> bool {
    let (Some(actual_parts), Some(required_parts)) = (numbers(actual), numbers(required)) else {
        tracing::warn!(
            actual,
            required,
            "cannot compare Harbor versions; assuming the feature exists"
        );
        return true;
    };
    for i in 0..actual_parts.len().max(required_parts.len()) {
        let a = actual_parts.get(i).copied().unwrap_or(0);
        let r = required_parts.get(i).copied().unwrap_or(0);
        if a != r {
            return a > r;
        }
    }
    true
}

fn numbers(version: &str) -> Option<Vec<u64>> {
    let core = version.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next()?;
    core.split('.').map(|part| part.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::at_least;

    #[test]
    fn versions_compare_numerically() {
        assert!(at_least("v2.10.0-4f2b3c1", "2.9"));
        assert!(at_least("2.10", "2.10.0"));
        assert!(!at_least("v2.8.4", "2.10"));
        assert!(at_least("dev", "2.10"));
    }
}

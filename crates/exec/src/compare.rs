//! Ordering of field values as stats orders groups.

use std::cmp::Ordering;

/// The order of groups in `tstats` output: numbers as numbers when both values are numbers,
/// everything else by bytes (UTF-8 byte order: digits before upper case before lower case);
/// values equal as numbers (`2.5`, `2.50`) are ordered by bytes, so the order is total.
pub fn compare_values(a: &str, b: &str) -> Ordering {
    cimhunt_spl::compare_values(a, b).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_numerically_text_by_bytes() {
        assert_eq!(compare_values("9", "10"), Ordering::Less);
        assert_eq!(compare_values("0x9", "0x10"), Ordering::Greater);
        assert_eq!(compare_values("B", "a"), Ordering::Less);
        assert_eq!(compare_values("10", "abc"), Ordering::Less);
        assert_eq!(compare_values("2.5", "2.50"), Ordering::Less);
        assert_eq!(compare_values("2.5", "2.5"), Ordering::Equal);
    }
}

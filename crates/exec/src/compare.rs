//! Ordering of field values as stats orders groups.

use std::cmp::Ordering;

use cimhunt_spl::parse_number;

/// The order of groups in `tstats` output: numbers among themselves as numbers, before every
/// other value; other values by bytes (UTF-8 byte order: digits before upper case before lower
/// case). Values equal as numbers (`2.5`, `2.50`) are ordered by bytes.
///
/// This must be a total order, or sorting the groups would depend on the order they were
/// collected in. Comparing two values as numbers only when both are numbers is not one:
/// `9 < 10` (numbers), `10 < 1a` (bytes), `1a < 9` (bytes).
pub fn compare_values(a: &str, b: &str) -> Ordering {
    match (parse_number(a), parse_number(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
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

    #[test]
    fn order_is_transitive_across_numbers_and_text() {
        let mut values = ["1a", "10", "9", "-", "b", "-2", "A", "9.0"];
        values.sort_by(|a, b| compare_values(a, b));
        assert_eq!(values, ["-2", "9", "9.0", "10", "-", "1a", "A", "b"]);
        for a in values {
            for b in values {
                for c in values {
                    if compare_values(a, b).is_le() && compare_values(b, c).is_le() {
                        assert!(compare_values(a, c).is_le(), "{a} <= {b} <= {c}");
                    }
                }
            }
        }
    }
}

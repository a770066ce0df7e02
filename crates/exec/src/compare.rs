//! Ordering of field values as stats orders groups.

use std::cmp::Ordering;

/// Numbers compare as numbers when both values are numbers, everything else by bytes
/// (UTF-8 byte order: digits before upper case before lower case).
pub fn compare_values(a: &str, b: &str) -> Ordering {
    match (parse_number(a), parse_number(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.cmp(b)),
        _ => a.cmp(b),
    }
}

fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    // Only plain decimal numbers: "0xf84", "inf" or "1e5" stay text.
    let digits = t.strip_prefix('-').unwrap_or(t);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits != ".";
    if ok { t.parse().ok() } else { None }
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
    }
}

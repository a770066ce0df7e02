//! Pattern tests: wildcard semantics (CV-14, CV-15, CV-19–CV-21 at pattern level) and a
//! property test against a naive reference matcher.

use proptest::prelude::*;

use super::*;

/// Reference: lower-case both sides into `char` vectors, then backtrack.
fn naive(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('*', rest)) => (0..=v.len()).any(|i| go(rest, &v[i..])),
            Some((c, rest)) => v.first() == Some(c) && go(rest, &v[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let v: Vec<char> = value.chars().flat_map(char::to_lowercase).collect();
    go(&p, &v)
}

#[test]
fn anchored_case_insensitive_star_matches_any_run() {
    let p = Pattern::new("*http://*");
    assert!(p.matches("msiexec /i HTTP://x"));
    assert!(
        p.matches("http://"),
        "leading star matches the empty string (CV-14a)"
    );
    assert!(!p.matches("msiexec /i hxxp://x"), "CV-14b");
    assert!(!p.matches("msiexec /i http:/x"), "CV-14c");
    assert!(Pattern::new("msi*").matches("MsiExec.exe"));
    assert!(
        !Pattern::new("msi*").matches("xmsiexec.exe"),
        "anchored at the start"
    );
    assert!(
        !Pattern::new("*.exe").matches("a.exe.bak"),
        "anchored at the end"
    );
    assert!(Pattern::new("a*b*c").matches("aXbYc"));
    assert!(Pattern::new("a*b*c").matches("abc"));
    assert!(!Pattern::new("a*b*c").matches("acb"));
    assert!(
        !Pattern::new("ab*ba").matches("aba"),
        "prefix and suffix must not overlap"
    );
    assert!(Pattern::new("**").matches(""));
    assert!(Pattern::new("").matches(""));
    assert!(!Pattern::new("").matches("x"));
    assert!(Pattern::new("x**y").matches("xy"));
}

#[test]
fn cv15_only_star_is_a_wildcard() {
    assert!(!Pattern::new("msiexe?.exe").matches("msiexec.exe"));
    assert!(Pattern::new("msiexe?.exe").matches("MSIEXE?.EXE"));
    assert!(Pattern::new("msiexe*.exe").matches("msiexec.exe"));
    for lit in ["%", "_", "[a]", ".", "\\d"] {
        let p = Pattern::new(&format!("x{lit}y"));
        assert!(p.matches(&format!("x{lit}y")), "{lit} is literal");
        assert!(!p.matches("xzy"), "{lit} is not a wildcard");
    }
}

#[test]
fn cv19_backslashes_after_unescaping_are_literal() {
    let path = r"C:\Windows\Temp\msiexec.exe";
    assert!(Pattern::new(r"*\Windows\Temp\*").matches(path));
    assert!(!Pattern::new(r"*\\Windows*").matches(path));
    // `\*` is a literal backslash followed by a wildcard.
    assert!(Pattern::new(r"C:\*").matches(path));
}

#[test]
fn cv20_cv21_quotes_and_entities_are_plain_text() {
    let quoted = r#"msiexec /i "http://x.example/a.msi""#;
    assert!(Pattern::new(r#"*"http://*"#).matches(quoted));
    assert!(!Pattern::new("*/i http://*").matches(quoted));
    let escaped = "msiexec /i http://x.example/a.msi &amp;&amp; calc.exe";
    assert!(Pattern::new("*&amp;&amp; calc*").matches(escaped));
    assert!(!Pattern::new("*&& calc*").matches(escaped));
}

#[test]
fn non_ascii_values_and_patterns_fold_case() {
    assert!(Pattern::new("*STRASSE*").matches("die strasse"));
    assert!(Pattern::new("ÄRGER*").matches("ärger.txt"));
    assert!(Pattern::new("*ärger").matches("X-ÄRGER"));
    // 'İ' lower-cases to two characters ("i̇"); both sides fold the same way.
    assert!(Pattern::new("İ*").matches("i\u{307}x"));
    assert!(!Pattern::new("İ").matches("i"));
    // The Kelvin sign lower-cases to ASCII 'k'.
    assert!(Pattern::new("\u{212A}*").matches("Kelvin"));
    assert!(Pattern::new("k").matches("\u{212A}"));
    // 'ß' has no single-character lower/upper difference to fold.
    assert!(!Pattern::new("ss").matches("ß"));
}

#[test]
fn accessors_report_the_text_as_written() {
    let p = Pattern::new("*Foo*Bar");
    assert_eq!(p.text(), "*Foo*Bar");
    assert!(p.has_wildcard());
    assert_eq!(p.literal_segments().collect::<Vec<_>>(), ["Foo", "Bar"]);
    assert!(!Pattern::new("x").has_wildcard());
}

/// A value made from `pattern`: each `*` replaced by the next fill, the other characters kept,
/// upper-cased when `upper`.
fn derive(pattern: &str, fills: Vec<String>, upper: bool) -> String {
    let mut fills = fills.into_iter();
    let mut value = String::new();
    for c in pattern.chars() {
        if c == '*' {
            value.push_str(&fills.next().unwrap_or_default());
        } else if upper {
            value.extend(c.to_uppercase());
        } else {
            value.push(c);
        }
    }
    value
}

/// Characters that exercise case folding, wildcards and multi-byte encodings.
fn alphabet() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        'a', 'A', 'b', 'B', 's', 'S', 'i', 'I', 'k', '*', '?', '\\', '.', ' ', 'İ', 'ß', 'ẞ',
        '\u{212A}', 'é', 'É', '\u{307}',
    ])
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(alphabet(), 0..max).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn matches_agrees_with_the_naive_matcher(pattern in text(8), value in text(12)) {
        prop_assert_eq!(Pattern::new(&pattern).matches(&value), naive(&pattern, &value));
    }

    /// Values built from the pattern (each `*` replaced by random text, case flipped) match far
    /// more often than random values, which exercises the positive paths.
    #[test]
    fn matches_agrees_on_values_derived_from_the_pattern(
        pattern in text(8),
        fills in prop::collection::vec(text(4), 8),
        upper in any::<bool>(),
    ) {
        let value = derive(&pattern, fills, upper);
        prop_assert_eq!(Pattern::new(&pattern).matches(&value), naive(&pattern, &value));
    }
}

/// Bytes of event text, common and rare, in both cases.
fn event_byte() -> impl Strategy<Value = u8> {
    prop::sample::select(b"aAeEiIgGqQzZ01 <>=\\-.:\xc3\xa9".to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Looking for the rarest byte first finds the leftmost match the plain scan finds.
    #[test]
    fn find_folded_finds_what_a_plain_scan_finds(
        hay in prop::collection::vec(event_byte(), 0..40),
        needle in prop::collection::vec(event_byte(), 0..5),
    ) {
        let needle = needle.to_ascii_lowercase();
        let plain = if needle.is_empty() {
            Some(0)
        } else {
            hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(&needle))
        };
        prop_assert_eq!(find_folded(&hay, &needle), plain);
    }
}

#[test]
fn the_rarest_byte_of_a_needle_is_looked_for() {
    // `imageloaded`: `g` rather than the `i` of nearly every event's markup.
    assert!(commonness(b'g') < commonness(b'i'));
    assert!(commonness(b'z') < commonness(b'e'));
    assert_eq!(commonness(b'#'), 0, "bytes outside the list count as rare");
    assert!(commonness(b' ') > commonness(b'e'), "the space comes first");
}

/// [`naive`] by dynamic programming, for values too long to backtrack over.
fn naive_dp(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let v: Vec<char> = value.chars().flat_map(char::to_lowercase).collect();
    // `row[j]`: the pattern's first `i` characters match the value's first `j`.
    let mut row = vec![false; v.len() + 1];
    row[0] = true;
    for c in &p {
        let mut next = vec![false; v.len() + 1];
        if *c == '*' {
            let mut any = false;
            for j in 0..=v.len() {
                any |= row[j];
                next[j] = any;
            }
        } else {
            for j in 1..=v.len() {
                next[j] = row[j - 1] && v[j - 1] == *c;
            }
        }
        row = next;
    }
    row[v.len()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Values of `LOWER_FROM` bytes and more are lower-cased once and their middle segments
    /// found with `memmem`: they match as the reference says, whether they were made from the
    /// pattern (case flipped, stars filled) or not.
    #[test]
    fn long_values_match_as_the_reference_says(
        inner in text(8),
        fills in prop::collection::vec(text(40), 8),
        pads in prop::collection::vec(text(200), 2),
        upper in any::<bool>(),
        derived in any::<bool>(),
        ascii in any::<bool>(),
    ) {
        // Half the cases ASCII only: a long ASCII value is lower-cased by `fold`, a value with
        // other characters by `lowercase`.
        let keep = |s: &String| -> String { s.chars().filter(|c| !ascii || c.is_ascii()).collect() };
        let (inner, pads) = (keep(&inner), [keep(&pads[0]), keep(&pads[1])]);
        let fills: Vec<String> = fills.iter().map(keep).collect();
        let pattern = format!("*{inner}*");
        let mut value = pads[0].clone();
        if derived {
            value.push_str(&derive(&inner, fills, upper));
        }
        value.push_str(&pads[1]);
        while value.len() < LOWER_FROM {
            value.push_str(" padding ");
        }
        let p = Pattern::new(&pattern);
        let expected = naive_dp(&pattern, &value);
        prop_assert_eq!(p.matches(&value), expected);
        prop_assert_eq!(p.matches_folded(&fold(&value)), expected);
    }
}

#[test]
fn the_dynamic_reference_agrees_with_the_backtracking_one() {
    for (p, v) in [
        ("*a*b*", "xxaxxbxx"),
        ("*a*b*", "xxbxxaxx"),
        ("a*", "A"),
        ("*İ*", "xİx"),
        ("*k*", "\u{212A}"),
        ("", ""),
        ("*", ""),
        ("a", "b"),
    ] {
        assert_eq!(naive_dp(p, v), naive(p, v), "{p} {v}");
    }
}

#[test]
fn long_values_of_one_length_are_not_mistaken_for_each_other() {
    // Each lower-cased long value is kept for the next patterns that search it, and found
    // again by its bytes: two values of the same length, in turns, each match their own pattern.
    let pad = "x".repeat(LOWER_FROM);
    let a = format!("{pad} Invoke-Mimikatz {pad}");
    let b = format!("{pad} Invoke-Nothing! {pad}");
    assert_eq!(a.len(), b.len());
    let p = Pattern::new("*invoke-mimikatz*");
    for _ in 0..3 {
        assert!(p.matches_folded(&fold(&a)));
        assert!(!p.matches_folded(&fold(&b)));
        assert!(p.matches(&a));
        assert!(!p.matches(&b));
    }
}

#[test]
fn a_huge_value_is_matched_but_not_kept() {
    let huge = format!("{} Invoke-Mimikatz", "x".repeat(LOWERED_MAX));
    let p = Pattern::new("*invoke-mimikatz*");
    assert!(p.matches(&huge));
    assert!(p.matches_folded(&fold(&huge)));
    let kept = LOWERED.with_borrow(|k| k.iter().map(|(v, _)| v.len()).max().unwrap_or(0));
    assert!(kept <= LOWERED_MAX, "{kept}");
}

#[test]
fn searchers_are_built_only_for_the_segments_searched_for() {
    // The first and last segments of a pattern anchored at either end are compared in place,
    // and a pattern without `*` whole: a subsearch's thousands of exact values build none.
    let count = |p: &str| Pattern::new(p).finders.len();
    assert_eq!(count("calc.exe"), 0);
    assert_eq!(count("a*b"), 0);
    assert_eq!(count("*a"), 0);
    assert_eq!(count("a*"), 0);
    assert_eq!(count("*a*b*"), 2);
    assert_eq!(count("x*a*y"), 1);
    assert_eq!(count("*"), 0);
}

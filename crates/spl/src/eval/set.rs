//! `IN` lists of literals, checked without allocating.
//!
//! Membership is eval equality ([`super::equals`]) against each literal, so a field's number
//! matches a string literal with the same text and a numeric literal with the same value
//! (`EventCode IN ("1","7")` and `EventCode IN (1, 7)` both hold for the field text `7`). Lists
//! longer than [`HASH_FROM`] look strings up in a hash set.

use hashbrown::HashSet;

use crate::value::Value;

use super::ast::Node;

/// From this many string literals on, lookups hash.
const HASH_FROM: usize = 12;

/// The literals of an `IN` list.
#[derive(Debug)]
pub(crate) struct LiteralSet {
    strings: Strings,
    /// Numeric literals: their value and text.
    numbers: Vec<(f64, Box<str>)>,
    /// Boolean literals (`true()`, `false()`).
    bools: Vec<bool>,
}

#[derive(Debug)]
enum Strings {
    Few(Vec<Box<str>>),
    Many(HashSet<Box<str>>),
}

impl Strings {
    fn contains(&self, s: &str) -> bool {
        match self {
            Strings::Few(v) => v.iter().any(|x| x.as_ref() == s),
            Strings::Many(set) => set.contains(s),
        }
    }
}

impl LiteralSet {
    /// The set of `items` when every item is a string, number or Boolean literal.
    pub(crate) fn from_nodes(items: &[Node]) -> Option<LiteralSet> {
        let mut strings = Vec::new();
        let mut numbers = Vec::new();
        let mut bools = Vec::new();
        for item in items {
            match item {
                Node::Lit(Value::Str(s)) => strings.push(Box::from(s.as_ref())),
                Node::Lit(Value::Num(n)) => numbers.push((n.get(), Box::from(n.text().as_ref()))),
                Node::Lit(Value::Bool(b)) => bools.push(*b),
                _ => return None,
            }
        }
        let strings = if strings.len() >= HASH_FROM {
            Strings::Many(strings.into_iter().collect())
        } else {
            Strings::Few(strings)
        };
        Some(LiteralSet {
            strings,
            numbers,
            bools,
        })
    }

    /// Whether the single value `v` equals one of the literals.
    pub(crate) fn contains(&self, v: &Value<'_>) -> bool {
        match v {
            Value::Str(s) => {
                self.strings.contains(s)
                    || self.numbers.iter().any(|(_, t)| t.as_ref() == s.as_ref())
                    || self.bools.iter().any(|b| bool_text(*b) == s.as_ref())
            }
            Value::Num(n) => {
                let x = n.get();
                self.numbers.iter().any(|(y, _)| *y == x) || self.strings.contains(&n.text())
            }
            Value::Bool(b) => self.bools.contains(b) || self.strings.contains(bool_text(*b)),
            Value::Null | Value::Multi(_) => false,
        }
    }
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::equals;

    fn set(items: Vec<Value<'static>>) -> LiteralSet {
        let nodes: Vec<Node> = items.into_iter().map(Node::Lit).collect();
        LiteralSet::from_nodes(&nodes).unwrap()
    }

    #[test]
    fn membership_is_eval_equality() {
        let lits = vec![
            Value::str("1"),
            Value::str("7"),
            Value::num(12.0),
            Value::str("x"),
        ];
        let s = set(lits.clone());
        for probe in [
            Value::from_field("7"),
            Value::from_field("12"),
            Value::from_field("12.0"),
            Value::from_field("07"),
            Value::str("x"),
            Value::str("X"),
            Value::str("12"),
            Value::num(1.0),
        ] {
            let expected = lits.iter().any(|l| equals(&probe, l));
            assert_eq!(s.contains(&probe), expected, "{probe:?}");
        }
    }

    #[test]
    fn long_lists_hash_with_the_same_answers() {
        let lits: Vec<Value<'static>> = (0..30).map(|i| Value::str(i.to_string())).collect();
        let s = set(lits);
        assert!(s.contains(&Value::from_field("29")));
        assert!(!s.contains(&Value::from_field("30")));
        assert!(matches!(s.strings, Strings::Many(_)));
    }
}

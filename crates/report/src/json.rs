//! A small writer of JSON objects whose keys keep the order they were written in (the order of
//! result columns), independent of how `serde_json` was built.

use std::fmt::Write;

/// Builds one JSON object.
#[derive(Debug, Default)]
pub struct Object {
    buf: String,
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object {
            buf: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        push_str(&mut self.buf, key);
        self.buf.push(':');
    }

    /// `"key": "value"`.
    pub fn string(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_str(&mut self.buf, value);
        self
    }

    /// `"key": ["a", "b"]`.
    pub fn strings<'a>(
        &mut self,
        key: &str,
        values: impl IntoIterator<Item = &'a str>,
    ) -> &mut Self {
        self.key(key);
        self.buf.push('[');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            push_str(&mut self.buf, v);
        }
        self.buf.push(']');
        self
    }

    /// `"key": <number>`; written as a string when `text` is not a JSON number.
    pub fn number(&mut self, key: &str, text: &str) -> &mut Self {
        if is_json_number(text) {
            self.key(key);
            self.buf.push_str(text);
            self
        } else {
            self.string(key, text)
        }
    }

    /// `"key": <u64>`.
    pub fn integer(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.buf, "{value}");
        self
    }

    /// `"key": <already serialized JSON>`.
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.buf.push_str(json);
        self
    }

    /// The finished object.
    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_str(buf: &mut String, s: &str) {
    // serde_json escapes exactly as JSON requires; a &str always serializes.
    buf.push_str(&serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\"")));
}

fn is_json_number(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'))
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (!t.contains('.') || !frac.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_order_and_strings_are_escaped() {
        let mut o = Object::new();
        o.string("z", "a\"b\\c\n")
            .number("count", "2")
            .number("n", "0x1")
            .strings("v", ["x", "y"]);
        assert_eq!(
            o.finish(),
            r#"{"z":"a\"b\\c\n","count":2,"n":"0x1","v":["x","y"]}"#
        );
    }

    #[test]
    fn json_numbers() {
        for good in ["0", "12", "-3", "1.5"] {
            assert!(is_json_number(good), "{good}");
        }
        for bad in ["", "01", "1.", ".5", "1e5", "NaN", "-"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}

//! Splunk `macros.conf`.

use std::path::Path;

use cimhunt_spl::Macro;

use crate::error::ContentError;

/// Parses `macros.conf` text; `origin` is used for `Macro::origin` and in errors.
///
/// - `[name]` is a macro without arguments, `[name(n)]` one with `n`; `[default]` and keys
///   before the first stanza are ignored.
/// - `definition = ...` is the body; a line ending in `\` continues on the next line, and the
///   line break is kept in the value (SPL treats it as white space).
/// - `args = a, b` names the parameters; their number must equal the stanza's `(n)`.
/// - Lines starting with `#` are comments; other keys (`iseval`, `description`, `validation`,
///   `errormsg`, ...) are ignored.
///
/// A stanza repeated later in the file yields a second macro; inserted into a `MacroSet` in
/// order, the later one wins.
pub fn parse_macros_conf(text: &str, origin: &Path) -> Result<Vec<Macro>, ContentError> {
    let err = |line: usize, message: String| ContentError::Macro {
        path: origin.to_path_buf(),
        line,
        message,
    };
    let mut macros = Vec::new();
    let mut current: Option<Stanza> = None;
    for logical in logical_lines(text) {
        let LogicalLine { number, text: line } = logical;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with('[') {
            let header = trimmed
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .ok_or_else(|| err(number, format!("malformed stanza header `{trimmed}`")))?;
            if let Some(done) = current.take() {
                macros.extend(done.finish(origin)?);
            }
            current = Some(Stanza::new(header, number).map_err(|m| err(number, m))?);
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(err(
                number,
                format!("expected `key = value`, a [stanza] or a # comment, found `{trimmed}`"),
            ));
        };
        if let Some(stanza) = current.as_mut() {
            match key.trim() {
                "definition" => stanza.definition = Some(value.trim().to_owned()),
                "args" => stanza.args = Some((value.to_owned(), number)),
                _ => {}
            }
        }
    }
    if let Some(done) = current.take() {
        macros.extend(done.finish(origin)?);
    }
    Ok(macros)
}

/// One physical-or-continued line, numbered by its first physical line.
struct LogicalLine {
    number: usize,
    text: String,
}

/// Joins lines ending in a backslash with the next one, keeping the line break.
fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut out = Vec::new();
    let mut pending: Option<LogicalLine> = None;
    for (index, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (body, continues) = match raw.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (raw, false),
        };
        let line = match pending.take() {
            Some(mut p) => {
                p.text.push('\n');
                p.text.push_str(body);
                p
            }
            None => LogicalLine {
                number: index + 1,
                text: body.to_owned(),
            },
        };
        if continues {
            pending = Some(line);
        } else {
            out.push(line);
        }
    }
    out.extend(pending);
    out
}

/// A stanza being read.
struct Stanza {
    header: String,
    name: String,
    arity: usize,
    line: usize,
    definition: Option<String>,
    args: Option<(String, usize)>,
    ignored: bool,
}

impl Stanza {
    fn new(header: &str, line: usize) -> Result<Self, String> {
        let (name, arity) = super::split_arity(header)?;
        if name.is_empty() {
            return Err("empty stanza name".to_owned());
        }
        Ok(Stanza {
            header: header.trim().to_owned(),
            name: name.to_owned(),
            arity: arity.unwrap_or(0),
            line,
            definition: None,
            args: None,
            ignored: name == "default" && arity.is_none(),
        })
    }

    fn finish(self, origin: &Path) -> Result<Option<Macro>, ContentError> {
        if self.ignored {
            return Ok(None);
        }
        let err = |line: usize, message: String| ContentError::Macro {
            path: origin.to_path_buf(),
            line,
            message,
        };
        let (args, args_line) = match &self.args {
            Some((text, line)) => (
                text.split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
                *line,
            ),
            None => (Vec::new(), self.line),
        };
        if args.len() != self.arity {
            return Err(err(
                args_line,
                format!(
                    "stanza [{}] takes {} argument(s) but `args` names {} ({})",
                    self.header,
                    self.arity,
                    args.len(),
                    if args.is_empty() {
                        "none".to_owned()
                    } else {
                        args.join(", ")
                    }
                ),
            ));
        }
        let definition = self.definition.ok_or_else(|| {
            err(
                self.line,
                format!("stanza [{}] has no `definition`", self.header),
            )
        })?;
        Ok(Some(Macro {
            name: self.name,
            args,
            definition,
            origin: origin.display().to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Macro>, ContentError> {
        parse_macros_conf(text, Path::new("local/macros.conf"))
    }

    #[test]
    fn stanzas_with_and_without_arity() {
        let m = parse(
            "[plain]\ndefinition = index=main\n\n[pair(2)]\nargs = a, b\ndefinition = $a$=$b$\n",
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, "plain");
        assert!(m[0].args.is_empty());
        assert_eq!(m[0].definition, "index=main");
        assert_eq!(m[0].origin, "local/macros.conf");
        assert_eq!(m[1].name, "pair");
        assert_eq!(m[1].args, ["a", "b"]);
        assert_eq!(m[1].definition, "$a$=$b$");
    }

    #[test]
    fn backslash_continuation_joins_lines_keeping_the_break() {
        let m = parse("[long]\ndefinition = a \\\n  OR b \\\n  OR c\niseval = 0\n").unwrap();
        assert_eq!(m[0].definition, "a \n  OR b \n  OR c");
    }

    #[test]
    fn continuation_with_crlf_line_endings() {
        let m = parse("[long]\r\ndefinition = a \\\r\nb\r\n").unwrap();
        assert_eq!(m[0].definition, "a \nb");
    }

    #[test]
    fn comments_default_stanza_and_unknown_keys_are_ignored() {
        let text = "# top comment\nglobal = 1\n[default]\ndefinition = nope\n[m]\n  # indented comment\n\
                    description = words\ndefinition = x = y\nvalidation = true\n";
        let m = parse(text).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].name, "m");
        // Only the first `=` separates key and value.
        assert_eq!(m[0].definition, "x = y");
    }

    #[test]
    fn args_count_must_match_stanza_arity() {
        let e = parse("[m(2)]\ndefinition = $a$\nargs = a\n").unwrap_err();
        match &e {
            ContentError::Macro { line, message, .. } => {
                assert_eq!(*line, 3);
                assert!(
                    message.contains("[m(2)]") && message.contains('2') && message.contains('1')
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(e.to_string().starts_with("local/macros.conf:3:"), "{e}");
    }

    #[test]
    fn args_without_arity_is_an_error() {
        let e = parse("[m]\nargs = a\ndefinition = $a$\n").unwrap_err();
        assert!(matches!(e, ContentError::Macro { line: 2, .. }), "{e:?}");
    }

    #[test]
    fn arity_without_args_is_an_error_at_the_stanza() {
        let e = parse("\n[m(1)]\ndefinition = $a$\n").unwrap_err();
        assert!(matches!(e, ContentError::Macro { line: 2, .. }), "{e:?}");
    }

    #[test]
    fn missing_definition_is_an_error() {
        let e = parse("[m]\niseval = 0\n").unwrap_err();
        assert!(e.to_string().contains("no `definition`"), "{e}");
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let e = parse("[m]\ndefinition = a\nthis is not conf\n").unwrap_err();
        assert!(matches!(e, ContentError::Macro { line: 3, .. }), "{e:?}");
        let e = parse("[m\ndefinition = a\n").unwrap_err();
        assert!(matches!(e, ContentError::Macro { line: 1, .. }), "{e:?}");
        let e = parse("[m(x)]\ndefinition = a\n").unwrap_err();
        assert!(matches!(e, ContentError::Macro { line: 1, .. }), "{e:?}");
    }

    #[test]
    fn repeated_stanza_yields_both_in_order() {
        let m = parse("[m]\ndefinition = first\n[m]\ndefinition = second\n").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].definition, "second");
    }
}

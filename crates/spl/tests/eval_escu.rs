//! ESCU's eval language: every `eval` and `where` expression of the Windows endpoint detections
//! parses, and every regular expression ESCU and the add-ons write compiles. Needs the shared
//! reference material (run with `--ignored`); prints the figures for the report.

mod eval_support;

use cimhunt_spl::eval::{EvalExpr, Regex};
use eval_support::{Detection, escu_macros, eval_assignments, shared_dir, split_pipes, yaml_files};

/// Which of `eval` / `where` a command is, and its arguments.
fn eval_or_where(command: &str) -> Option<(&'static str, &str)> {
    let c = command.trim_start();
    for kw in ["eval", "where"] {
        if let Some(rest) = c.strip_prefix(kw)
            && rest.starts_with(char::is_whitespace)
        {
            return Some((kw, rest.trim()));
        }
    }
    None
}

/// The expanded searches of the non-deprecated detections under `detections/<dir>`.
fn searches(dir: &str) -> Vec<(String, String)> {
    let content = shared_dir().join("content/security_content");
    let macros = escu_macros(&content);
    let mut out = Vec::new();
    for path in yaml_files(&content.join("detections").join(dir)) {
        let text = std::fs::read_to_string(&path).expect("detection file is readable");
        let det: Detection =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if det.status.as_deref() == Some("deprecated") {
            continue;
        }
        let Some(search) = det.search else { continue };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let expanded = macros
            .expand(&search)
            .map(|e| e.text().to_owned())
            .unwrap_or(search);
        out.push((name, expanded));
    }
    out
}

#[test]
#[ignore = "needs ../shared"]
fn every_eval_and_where_expression_of_the_endpoint_detections_parses() {
    let (mut evals, mut wheres, mut failures) = (0, 0, Vec::new());
    let mut detections = 0;
    for (name, search) in searches("endpoint") {
        let mut any = false;
        for command in split_pipes(&search) {
            let Some((kind, args)) = eval_or_where(command) else {
                continue;
            };
            any = true;
            let exprs: Vec<String> = if kind == "where" {
                vec![args.to_owned()]
            } else {
                eval_assignments(args).into_iter().map(|(_, e)| e).collect()
            };
            for expr in exprs {
                if kind == "where" {
                    wheres += 1;
                } else {
                    evals += 1;
                }
                if let Err(e) = EvalExpr::parse(&expr) {
                    failures.push(format!("{name}: {kind} {expr}\n    {e}"));
                }
            }
        }
        detections += usize::from(any);
    }
    let total = evals + wheres;
    println!(
        "{detections} endpoint detections have eval/where: {} of {total} expressions parse \
         ({evals} eval assignments, {wheres} where clauses)",
        total - failures.len()
    );
    for f in &failures {
        println!("  {f}");
    }
    assert!(total > 300, "only {total} expressions found");
    // Content bugs, which Splunk rejects as well: the detection quotes a macro whose definition
    // is already quoted, giving `relative_time(now(), ""-70m@m"")`.
    let known_bad = ["first_time_seen_child_process_of_zoom.yml"];
    let unexpected: Vec<_> = failures
        .iter()
        .filter(|f| !known_bad.iter().any(|k| f.starts_with(k)))
        .collect();
    assert!(unexpected.is_empty(), "{} do not parse", unexpected.len());
    assert_eq!(
        failures.len(),
        known_bad.len(),
        "a known content bug was fixed"
    );
}

/// The first double-quoted string of a search command, unescaped as the search language does
/// (`\\` and `\"` stand for the second character; other backslashes stay).
fn first_quoted(command: &str) -> Option<String> {
    let start = command.find('"')?;
    let mut out = String::new();
    let mut chars = command[start + 1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next() {
                Some(n @ ('\\' | '"' | '|')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    None
}

/// The literal (as written, quotes included) of argument `index` of every call to `func` in an
/// eval expression.
fn literal_args(expr: &str, func: &str, index: usize) -> Vec<String> {
    let mut out = Vec::new();
    let lower = expr.to_ascii_lowercase();
    let needle = format!("{func}(");
    let mut from = 0;
    while let Some(at) = lower[from..].find(&needle) {
        let open = from + at + needle.len();
        from = open;
        let before = lower[..from - needle.len()].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        // Walk the arguments at depth 0.
        let bytes = expr.as_bytes();
        let (mut i, mut depth, mut arg, mut arg_start) = (open, 0i32, 0usize, open);
        let mut in_str = false;
        while i < bytes.len() {
            let b = bytes[i];
            if in_str {
                if b == b'\\' {
                    i += 1;
                } else if b == b'"' {
                    in_str = false;
                }
            } else {
                match b {
                    b'"' => in_str = true,
                    b'(' => depth += 1,
                    b')' if depth == 0 => {
                        if arg == index {
                            push_literal(&expr[arg_start..i], &mut out);
                        }
                        break;
                    }
                    b')' => depth -= 1,
                    b',' if depth == 0 => {
                        if arg == index {
                            push_literal(&expr[arg_start..i], &mut out);
                        }
                        arg += 1;
                        arg_start = i + 1;
                    }
                    _ => {}
                }
            }
            i += 1;
        }
    }
    out
}

/// An eval string literal's text: `\\`, `\"`, `\t`, `\n`, `\r` are read, other backslashes kept.
fn unescape_eval(lit: &str) -> String {
    let inner = &lit[1..lit.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn push_literal(arg: &str, out: &mut Vec<String>) {
    let arg = arg.trim();
    if arg.len() >= 2 && arg.starts_with('"') && arg.ends_with('"') {
        out.push(arg.to_owned());
    }
}

#[test]
#[ignore = "needs ../shared"]
fn every_regular_expression_of_escu_and_the_addons_compiles() {
    let mut patterns: Vec<(String, String, Result<(), String>)> = Vec::new();
    // Each pattern as the regular-expression engine sees it, for the linear `regex` crate.
    let mut raw: Vec<String> = Vec::new();
    // Eval regexes: `match`, `replace`, `mvfind` literals, compiled as the parser compiles them.
    let mut sed = 0;
    for (name, search) in searches("") {
        for command in split_pipes(&search) {
            let c = command.trim_start();
            if let Some((kind, args)) = eval_or_where(c) {
                let exprs: Vec<String> = if kind == "where" {
                    vec![args.to_owned()]
                } else {
                    eval_assignments(args).into_iter().map(|(_, e)| e).collect()
                };
                for expr in exprs {
                    for func in ["match", "replace", "mvfind"] {
                        for lit in literal_args(&expr, func, 1) {
                            let probe = format!(
                                "{func}(x, {lit}{})",
                                if func == "replace" { ", \"\"" } else { "" }
                            );
                            let result = EvalExpr::parse(&probe)
                                .map(|_| ())
                                .map_err(|e| e.to_string());
                            patterns.push((name.clone(), format!("{func} {lit}"), result));
                            raw.push(unescape_eval(&lit));
                        }
                    }
                }
            } else if c.starts_with("rex ") || c.starts_with("regex ") {
                if c.contains("mode=sed") {
                    sed += 1;
                    continue;
                }
                if let Some(p) = first_quoted(c) {
                    let result = Regex::new(&p).map(|_| ()).map_err(|e| e.to_string());
                    let kind = if c.starts_with("rex") { "rex" } else { "regex" };
                    patterns.push((name.clone(), format!("{kind} {p}"), result));
                    raw.push(p);
                }
            }
        }
    }
    // The add-ons' extractions (`REGEX = …`, `EXTRACT-x = …`), as ADDON_FIELDS.md quotes them.
    let spec = std::fs::read_to_string(shared_dir().join("spec/ADDON_FIELDS.md"))
        .expect("ADDON_FIELDS.md is readable");
    for line in spec.lines() {
        let t = line.trim();
        let pattern = if let Some(r) = t.strip_prefix("REGEX = ") {
            r
        } else if t.starts_with("EXTRACT-") {
            match t.split_once('=') {
                Some((_, r)) => r.trim(),
                None => continue,
            }
        } else {
            continue;
        };
        let result = Regex::new(pattern).map(|_| ()).map_err(|e| e.to_string());
        patterns.push(("ADDON_FIELDS.md".into(), pattern.to_owned(), result));
        raw.push(pattern.to_owned());
    }
    let failures: Vec<_> = patterns.iter().filter(|p| p.2.is_err()).collect();
    println!(
        "{} of {} regular expressions compile ({sed} `rex mode=sed` expressions not counted)",
        patterns.len() - failures.len(),
        patterns.len()
    );
    // For the record: what the linear-time `regex` crate alone would reject.
    let linear_rejects: Vec<&String> = raw
        .iter()
        .filter(|p| regex::Regex::new(p).is_err())
        .collect();
    println!(
        "the `regex` crate alone rejects {} of {} (look-around, back-references, `{{` as a literal, …):",
        linear_rejects.len(),
        raw.len(),
    );
    for p in &linear_rejects {
        println!("  {p}");
    }
    for (file, p, e) in &failures {
        println!(
            "  {file}: {p}\n    {}",
            e.as_ref().err().map_or("", |s| s.as_str())
        );
    }
    assert!(
        patterns.len() > 200,
        "only {} patterns found",
        patterns.len()
    );
    assert!(
        failures.is_empty(),
        "{} patterns do not compile",
        failures.len()
    );
}

//! Macro expansion tests, including conformance vectors CV-23 and CV-24.

use super::*;
use crate::error::ErrorKind;

fn mac(name: &str, args: &[&str], definition: &str) -> Macro {
    Macro {
        name: name.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        definition: definition.to_owned(),
        origin: "test".to_owned(),
    }
}

fn set(macros: &[Macro]) -> MacroSet {
    let mut s = MacroSet::with_builtins();
    for m in macros {
        s.insert(m.clone());
    }
    s
}

fn expand(s: &MacroSet, text: &str) -> String {
    s.expand(text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .into_text()
}

/// The CV-24 definitions (spec section 0).
fn escu_like() -> MacroSet {
    set(&[
        mac(
            "security_content_summariesonly",
            &[],
            "summariesonly=`summariesonly_config` allow_old_summaries=`oldsummaries_config` fillnull_value=`fillnull_config`",
        ),
        mac("summariesonly_config", &[], "false"),
        mac("oldsummaries_config", &[], "true"),
        mac("fillnull_config", &[], "null"),
        mac(
            "security_content_ctime",
            &["field"],
            r#"convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)"#,
        ),
        mac(
            "process_msiexec",
            &[],
            "(Processes.process_name=msiexec.exe OR Processes.original_file_name=msiexec.exe)",
        ),
        // As the content layer generates it for the detection.
        mac("windows_msiexec_remote_download_filter", &[], "search *"),
    ])
}

#[test]
fn cv24_exact_expansions() {
    let s = escu_like();
    assert_eq!(
        expand(&s, "`security_content_summariesonly`"),
        "summariesonly=false allow_old_summaries=true fillnull_value=null"
    );
    assert_eq!(
        expand(&s, "`security_content_ctime(firstTime)`"),
        r#"convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime)"#
    );
    assert_eq!(
        expand(&s, "`process_msiexec`"),
        "(Processes.process_name=msiexec.exe OR Processes.original_file_name=msiexec.exe)"
    );
    assert_eq!(
        expand(&s, "`windows_msiexec_remote_download_filter`"),
        "search *"
    );
}

#[test]
fn cv24_drop_dm_object_name_without_arguments_is_an_unknown_macro() {
    let s = escu_like();
    let e = s.expand("| x | `drop_dm_object_name`").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Macro);
    assert_eq!(e.message(), "unknown macro `drop_dm_object_name`");
    assert_eq!(e.span(), 6..27);
    assert_eq!((e.line(), e.column()), (1, 7));
    assert_eq!(e.help_text(), Some("defined: drop_dm_object_name(1)"));
}

#[test]
fn cv23_quoted_and_unquoted_arguments_expand_the_same() {
    let s = MacroSet::with_builtins();
    let plain = expand(&s, "`drop_dm_object_name(Processes)`");
    assert_eq!(plain, r#"rename "Processes.*" as *"#);
    assert_eq!(expand(&s, r#"`drop_dm_object_name("Processes")`"#), plain);
    assert_eq!(expand(&s, r#"`drop_dm_object_name( "Processes" )`"#), plain);
    assert_eq!(
        s.get("drop_dm_object_name", 1).map(|m| m.origin.as_str()),
        Some("built-in")
    );
}

#[test]
fn name_and_arity_are_the_key() {
    let s = set(&[
        mac("m", &[], "zero"),
        mac("m", &["a"], "one:$a$"),
        mac("m", &["a", "b"], "two:$b$,$a$"),
    ]);
    assert_eq!(expand(&s, "`m` `m(x)` `m(x, y)`"), "zero one:x two:y,x");
    assert_eq!(s.len(), 4, "three `m`s and the built-in");
}

#[test]
fn arguments_split_at_top_level_commas_only() {
    let s = set(&[mac("two", &["a", "b"], "[$a$][$b$]")]);
    assert_eq!(expand(&s, r#"`two("x, y", f(1, 2))`"#), "[x, y][f(1, 2)]");
    assert_eq!(expand(&s, r#"`two( a ,b )`"#), "[a][b]");
    // Escaped quotes inside a quoted argument do not end it.
    assert_eq!(expand(&s, r#"`two("a\",b", c)`"#), r#"[a\",b][c]"#);
}

#[test]
fn every_occurrence_of_a_parameter_is_replaced_and_other_dollars_stay() {
    let s = set(&[mac("m", &["f"], "$f$=1 OR $f$=2 $other$ $ $$")]);
    assert_eq!(expand(&s, "`m(x)`"), "x=1 OR x=2 $other$ $ $$");
    // An argument containing `$f$` is not substituted again.
    assert_eq!(expand(&s, "`m($f$)`"), "$f$=1 OR $f$=2 $other$ $ $$");
}

#[test]
fn expansion_is_repeated_until_no_macro_remains() {
    let s = set(&[
        mac("outer", &["x"], "(`inner($x$)`)"),
        mac("inner", &["y"], "`leaf`=$y$"),
        mac("leaf", &[], "f"),
    ]);
    assert_eq!(expand(&s, "a `outer(1)` b"), "a (f=1) b");
}

#[test]
fn comments_are_removed() {
    let s = MacroSet::new();
    assert_eq!(expand(&s, "a ```a comment with `tick```b"), "a  b");
    let e = s.expand("a ```never closed").unwrap_err();
    assert_eq!(e.message(), "unterminated comment");
    assert_eq!(e.span(), 2..17);
}

#[test]
fn back_ticks_inside_quotes_are_literal_unless_they_form_an_invocation() {
    let s = set(&[mac("idx", &[], "index=main")]);
    assert_eq!(
        expand(&s, r#"eval n=split(p, "`") | x"#),
        r#"eval n=split(p, "`") | x"#
    );
    assert_eq!(
        expand(&s, r#"map search="search `idx` a=b""#),
        r#"map search="search index=main a=b""#
    );
}

/// The content layer defines each detection's filter; a filter name no detection owns is a
/// typo (the search would otherwise silently run unfiltered), so it is an unknown macro.
#[test]
fn filter_macros_are_macros_like_any_other() {
    let s = set(&[mac("mine_filter", &[], "search user!=admin")]);
    assert_eq!(expand(&s, "`mine_filter`"), "search user!=admin");
    let e = s.expand("`mine_filter` | `mine_filtr`").unwrap_err();
    assert!(e.to_string().contains("unknown macro `mine_filtr`"), "{e}");
}

#[test]
fn unknown_and_malformed_invocations_are_errors_with_spans() {
    let s = MacroSet::new();
    let text = "| tstats count\n  | `nope(a)`";
    let e = s.expand(text).unwrap_err();
    assert_eq!(e.message(), "unknown macro `nope(1)`");
    assert_eq!((e.line(), e.column()), (2, 5));
    assert_eq!(e.span(), 19..28);

    let e = s.expand("a `unclosed").unwrap_err();
    assert_eq!(e.message(), "unterminated macro invocation");
    assert_eq!(e.span(), 2..11);

    let e = s.expand("a `bad(x` b").unwrap_err();
    assert!(
        e.message().starts_with("malformed macro invocation"),
        "{}",
        e.message()
    );
    let e = s.expand("a `two words` b").unwrap_err();
    assert!(
        e.message().starts_with("malformed macro invocation"),
        "{}",
        e.message()
    );
}

#[test]
fn cycles_are_errors_naming_the_chain_at_the_original_invocation() {
    let s = set(&[
        mac("a", &[], "x `b`"),
        mac("b", &[], "`c(1)`"),
        mac("c", &["v"], "`a`"),
    ]);
    let e = s.expand("search `a` y").unwrap_err();
    assert_eq!(
        e.message(),
        "macro cycle: `a` → `b` → `c(1)` → `a` (in the expansion of `a` → `b` → `c(1)`)"
    );
    assert_eq!(e.span(), 7..10);
    let selfref = set(&[mac("s", &[], "`s`")]);
    assert!(
        selfref
            .expand("`s`")
            .unwrap_err()
            .message()
            .starts_with("macro cycle: `s` → `s`")
    );
}

#[test]
fn runaway_nesting_is_an_error() {
    // m0 → m1 → … → m39: deeper than the limit without a cycle.
    let macros: Vec<Macro> = (0..40)
        .map(|i| mac(&format!("m{i}"), &[], &format!("`m{}`", i + 1)))
        .collect();
    let e = set(&macros).expand("`m0`").unwrap_err();
    assert!(
        e.message()
            .starts_with("macros nested too deeply: `m0` → `m1`"),
        "{}",
        e.message()
    );
}

/// Review finding Q1: a macro invoking the next one twice doubles the expansion at every level;
/// 21 levels took 21 s and 2.85 GB, 25 never finished. The invocation budget stops it at once.
#[test]
fn doubling_macro_bomb_of_25_levels_fails_fast_naming_the_chain() {
    let mut macros: Vec<Macro> = (0..24)
        .map(|i| {
            mac(
                &format!("m{i}"),
                &[],
                &format!("`m{n}` OR `m{n}`", n = i + 1),
            )
        })
        .collect();
    macros.push(mac("m24", &[], "x"));
    let e = set(&macros).expand("search `m0`").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Macro);
    assert!(
        e.message().starts_with(
            "macro expansion over budget: more than 10000 invocations: `m0` → `m1` → "
        ),
        "{}",
        e.message()
    );
    assert_eq!(
        e.span(),
        7..11,
        "the error points at the invocation as written"
    );
}

#[test]
fn expansion_longer_than_its_budget_is_an_error() {
    // Each level repeats a 64 KiB body 4 times: a few invocations pass 1 MiB.
    let big = "x".repeat(64 << 10);
    let macros = [
        mac("a", &[], "`b` `b` `b` `b`"),
        mac("b", &[], "`c` `c` `c` `c`"),
        mac("c", &[], &big),
    ];
    let e = set(&macros).expand("`a`").unwrap_err();
    assert!(
        e.message()
            .starts_with("macro expansion over budget: longer than 1048576 bytes: `a` → `b` → `c`"),
        "{}",
        e.message()
    );
    // Below the budget the same shape expands.
    let small = [
        mac("a", &[], "`b` `b`"),
        mac("b", &[], "`c` `c`"),
        mac("c", &[], "y"),
    ];
    assert_eq!(expand(&set(&small), "`a`"), "y y y y");
}

#[test]
fn errors_inside_an_expansion_name_the_macro_and_quote_its_body() {
    let s = set(&[mac("outer", &[], "`inner`"), mac("inner", &[], "`missing`")]);
    let e = s.expand("ab `outer` cd").unwrap_err();
    assert_eq!(
        e.message(),
        "unknown macro `missing` (in the expansion of `outer` → `inner`)"
    );
    assert_eq!(e.span(), 3..10);
    assert_eq!(e.help_text(), Some("`inner` expands to: `missing`"));
}

#[test]
fn the_expansion_maps_back_to_the_original() {
    let s = set(&[mac("m", &[], "XYZ")]);
    let ex = s.expand("ab `m` cd").unwrap();
    assert_eq!(ex.text(), "ab XYZ cd");
    assert_eq!(ex.original_span(&(7..9)), (7..9, None));
    assert_eq!(
        ex.original_span(&(3..6)),
        (3..6, Some("in the expansion of `m`".to_owned()))
    );
}

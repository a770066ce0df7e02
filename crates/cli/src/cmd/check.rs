//! `cimhunt check`: compile every detection of a content checkout and report coverage.
//!
//! Detections are grouped by what they read: the dataset of a `tstats` (`Endpoint.Processes`),
//! or, for a search over raw events, the macro it starts with (`raw: sysmon`,
//! `raw: wineventlog_security`). A detection *runs* when its search compiles end to end against
//! the model's catalog and the content's lookups (whether events for it exist is another
//! matter: `cimhunt events` shows what the model presents). A detection that does not run is
//! named with its reason (`--list`, and always in `-f json`); one that needs another Splunk app
//! (`apply` from the Machine Learning Toolkit, a URL Toolbox lookup) is counted apart from
//! unsupported SPL, under that app. The Windows endpoint detections
//! ([`cimhunt_content::is_windows_endpoint`]) are summarized on their own.
//!
//! JSON: `all` and `datamodels` (per group) hold `total`, `parsed` (every command parses),
//! `tstats_compiled` (the generating command compiles), `runs`, `needs_app`, `blocked` and the
//! ranked `blockers`; `windows_endpoint` the same for the Windows endpoint detections with
//! their `definition`; `apps` the detections each app is needed by; `not_running` every
//! detection that does not run with its `group`, `path`, `reason` and `app`.

use std::collections::BTreeMap;
use std::path::Path;

use cimhunt_content::{ContentOptions, ContentSet, Detection, is_windows_endpoint, leading_macro};
use cimhunt_report::Object;
use cimhunt_spl::{Analysis, ErrorKind, Source, SplError, WithLookups, analyze};

use crate::args::{CheckArgs, CheckFormat};
use crate::cmd::Exit;
use crate::setup;
use crate::ui::{Out, Ui};

/// Coverage counts for one group of detections.
#[derive(Debug, Default, Clone)]
struct Counts {
    total: u64,
    /// The search reads: macros expand and every command parses (supported or not).
    parsed: u64,
    /// The generating command compiles.
    source: u64,
    /// Every command compiles: the detection runs end to end.
    runs: u64,
    /// Blocked only by a construct another app provides.
    needs_app: u64,
    /// What stops the others: the first unsupported construct or error, with a count.
    blockers: BTreeMap<String, u64>,
}

/// Why one detection does not run.
#[derive(Debug, Clone)]
struct NotRunning {
    name: String,
    path: String,
    group: String,
    reason: String,
    app: Option<String>,
    windows: bool,
}

/// Runs the subcommand.
pub fn run_check(args: CheckArgs) -> Exit {
    let mut ui = Ui::new(20);
    let Some(model) = setup::model(&args.model, &mut ui) else {
        return Exit::Error;
    };
    let options = ContentOptions {
        content_dir: Some(args.content.clone()),
        detections: vec![args.content.join("detections")],
        macro_files: args.macros.clone(),
    };
    let loaded = ContentSet::load(&options).and_then(|set| match &args.lookups {
        Some(dir) => set.with_lookups_dir(dir),
        None => Ok(set),
    });
    let set = match loaded {
        Ok(set) => set,
        Err(e) => {
            ui.error(e);
            return Exit::Error;
        }
    };
    for e in &set.lookup_problems {
        ui.warn(e);
    }
    if set.detections.is_empty() {
        for e in &set.skipped {
            ui.warn(e);
        }
        ui.error(format!(
            "{}: no detection loads from it",
            options.detections[0].display()
        ));
        return Exit::Error;
    }
    let catalog = WithLookups::new(model.as_ref(), &set.lookups);
    let mut report = Report::default();
    for d in &set.detections {
        let outcome = analyze(&d.search, &set.macros, &catalog);
        report.add(d, &args.content, &outcome);
    }
    for e in &set.skipped {
        report.all.total += 1;
        *report
            .all
            .blockers
            .entry("file does not load".to_owned())
            .or_default() += 1;
        report.not_running.push(NotRunning {
            name: String::new(),
            path: e.path().display().to_string(),
            group: "(does not load)".to_owned(),
            reason: e.to_string(),
            app: None,
            windows: false,
        });
    }
    let text = match args.format {
        CheckFormat::Text => report.text(args.list),
        CheckFormat::Json => report.json() + "\n",
    };
    // Through `Out`: a closed pipe (`cimhunt check | head`) ends quietly, a full disk is an error.
    let mut out = Out::stdout();
    out.with(|w| w.write_all(text.as_bytes()));
    out.finish(&mut ui);
    ui.exit(false)
}

#[derive(Debug, Default)]
struct Report {
    all: Counts,
    groups: BTreeMap<String, Counts>,
    windows: Counts,
    windows_groups: BTreeMap<String, Counts>,
    apps: BTreeMap<String, Vec<String>>,
    not_running: Vec<NotRunning>,
}

impl Report {
    fn add(&mut self, d: &Detection, content: &Path, outcome: &Result<Analysis, SplError>) {
        let group = group_of(&d.search, outcome.as_ref().ok());
        let windows = is_windows_endpoint(d, content);
        let first_error = match outcome {
            Ok(a) => a.errors().next(),
            Err(e) => Some(e),
        };
        let mut targets: Vec<&mut Counts> = vec![&mut self.all];
        targets.push(self.groups.entry(group.clone()).or_default());
        if windows {
            targets.push(&mut self.windows);
            targets.push(self.windows_groups.entry(group.clone()).or_default());
        }
        let app = first_error.and_then(|e| e.needed_app()).map(str::to_owned);
        let parsed = match outcome {
            Ok(a) => a
                .errors()
                .all(|e| !matches!(e.kind(), ErrorKind::Syntax | ErrorKind::Macro)),
            Err(_) => false,
        };
        let source = outcome.as_ref().is_ok_and(|a| a.source.is_ok());
        for c in targets {
            c.total += 1;
            c.parsed += u64::from(parsed);
            c.source += u64::from(source);
            match (first_error, &app) {
                (None, _) => c.runs += 1,
                (Some(_), Some(_)) => c.needs_app += 1,
                (Some(e), None) => *c.blockers.entry(label(e)).or_default() += 1,
            }
        }
        if let Some(e) = first_error {
            if let Some(app) = &app {
                self.apps
                    .entry(app.clone())
                    .or_default()
                    .push(d.name.clone());
            }
            self.not_running.push(NotRunning {
                name: d.name.clone(),
                path: d
                    .path
                    .as_ref()
                    .map(|p| p.strip_prefix(content).unwrap_or(p).display().to_string())
                    .unwrap_or_default(),
                group,
                reason: reason(e),
                app,
                windows,
            });
        }
    }

    /// The text report.
    fn text(&self, list: bool) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let header = |o: &mut String| {
            let _ = writeln!(
                o,
                "{:<40} {:>6} {:>6} {:>9} {:>8}",
                "group", "total", "runs", "needs app", "blocked"
            );
        };
        let line = |o: &mut String, name: &str, c: &Counts| {
            let _ = writeln!(
                o,
                "{name:<40} {:>6} {:>6} {:>9} {:>8}",
                c.total,
                c.runs,
                c.needs_app,
                c.total - c.runs - c.needs_app
            );
        };
        header(&mut o);
        for (g, c) in &self.groups {
            line(&mut o, g, c);
        }
        line(&mut o, "all", &self.all);
        let _ = writeln!(
            o,
            "\nWindows endpoint detections (under detections/endpoint, not deprecated, reading \
             Windows data sources or event macros): {} of {} run end to end, {} need another app",
            self.windows.runs, self.windows.total, self.windows.needs_app
        );
        header(&mut o);
        for (g, c) in &self.windows_groups {
            line(&mut o, g, c);
        }
        line(&mut o, "Windows endpoint", &self.windows);
        if !self.apps.is_empty() {
            let _ = writeln!(o, "\napps needed:");
            for (app, names) in &self.apps {
                let _ = writeln!(o, "  {app}: {} detections", names.len());
                for n in names {
                    let _ = writeln!(o, "    {n}");
                }
            }
        }
        let _ = writeln!(
            o,
            "\nWindows endpoint detections: what stops the {} that do not run (apart from apps):",
            self.windows.total - self.windows.runs - self.windows.needs_app
        );
        for (label, n) in ranked(&self.windows.blockers) {
            let _ = writeln!(o, "  {n:>5}  {label}");
        }
        let _ = writeln!(
            o,
            "\nall detections: what stops the {} that do not run (apart from apps):",
            self.all.total - self.all.runs - self.all.needs_app
        );
        for (label, n) in ranked(&self.all.blockers).into_iter().take(30) {
            let _ = writeln!(o, "  {n:>5}  {label}");
        }
        if list {
            let _ = writeln!(o, "\ndetections that do not run:");
            for n in &self.not_running {
                let mark = if n.windows { "W" } else { " " };
                let _ = writeln!(
                    o,
                    "{mark} {} [{}] {}: {}",
                    n.name, n.group, n.path, n.reason
                );
            }
        } else {
            let _ = writeln!(
                o,
                "\n(--list names every detection that does not run, with why)"
            );
        }
        o
    }

    fn json(&self) -> String {
        let groups = |g: &BTreeMap<String, Counts>| {
            let mut o = Object::new();
            for (name, c) in g {
                o.raw(name, &counts_json(c));
            }
            o.finish()
        };
        let mut apps = Object::new();
        for (app, names) in &self.apps {
            apps.strings(app, names.iter().map(String::as_str));
        }
        let not_running: Vec<String> = self
            .not_running
            .iter()
            .map(|n| {
                let mut o = Object::new();
                o.string("name", &n.name)
                    .string("path", &n.path)
                    .string("group", &n.group)
                    .string("reason", &n.reason)
                    .raw("windows_endpoint", if n.windows { "true" } else { "false" });
                if let Some(app) = &n.app {
                    o.string("app", app);
                }
                o.finish()
            })
            .collect();
        let mut windows = Object::new();
        windows
            .string(
                "definition",
                "under detections/endpoint, status not deprecated, a Windows data source \
                 (Windows…, Sysmon EventID…, Powershell…, NTLM…, CrowdStrike ProcessRollup2) or \
                 a Windows event macro first, and not only Linux/macOS data sources",
            )
            .raw("all", &counts_json(&self.windows))
            .raw("datamodels", &groups(&self.windows_groups));
        let mut o = Object::new();
        o.raw("all", &counts_json(&self.all))
            .raw("datamodels", &groups(&self.groups))
            .raw("windows_endpoint", &windows.finish())
            .raw("apps", &apps.finish())
            .raw("not_running", &format!("[{}]", not_running.join(",")));
        o.finish()
    }
}

fn label(e: &SplError) -> String {
    match e.kind() {
        ErrorKind::Unsupported(label) => label.clone(),
        ErrorKind::Syntax => "syntax error".to_owned(),
        ErrorKind::Macro => "macro error".to_owned(),
    }
}

fn reason(e: &SplError) -> String {
    match e.kind() {
        ErrorKind::Unsupported(label) => format!("unsupported: {label}"),
        _ => e.to_string(),
    }
}

/// The group of a detection: the dataset of its `tstats`, `raw: <macro>` for a search over raw
/// events (the macro it starts with), `(no data model)` otherwise.
fn group_of(search: &str, analysis: Option<&Analysis>) -> String {
    match analysis.map(|a| &a.source) {
        Some(Ok(Source::Tstats(t))) => return t.dataset.clone(),
        Some(Ok(Source::Search(_))) => {
            return format!("raw: {}", leading_macro(search).unwrap_or("(other)"));
        }
        Some(Ok(_)) => return "(no data model)".to_owned(),
        _ => {}
    }
    let text = analysis.map_or(search, |a| a.expanded.text());
    if !text.trim_start().starts_with('|') {
        return format!("raw: {}", leading_macro(search).unwrap_or("(other)"));
    }
    let Some(at) = text.find("datamodel") else {
        return "(no data model)".to_owned();
    };
    let rest = text[at + "datamodel".len()..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
        .collect();
    if name.is_empty() {
        "(no data model)".to_owned()
    } else {
        name
    }
}

fn ranked(blockers: &BTreeMap<String, u64>) -> Vec<(&str, u64)> {
    let mut v: Vec<(&str, u64)> = blockers.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

fn counts_json(c: &Counts) -> String {
    let mut o = Object::new();
    o.integer("total", c.total)
        .integer("parsed", c.parsed)
        .integer("tstats_compiled", c.source)
        .integer("runs", c.runs)
        .integer("needs_app", c.needs_app)
        .integer("blocked", c.total - c.runs - c.needs_app);
    let blockers: Vec<String> = ranked(&c.blockers)
        .into_iter()
        .map(|(label, n)| {
            let mut b = Object::new();
            b.string("construct", label).integer("detections", n);
            b.finish()
        })
        .collect();
    o.raw("blockers", &format!("[{}]", blockers.join(",")));
    o.finish()
}

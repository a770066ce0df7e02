//! `cimhunt check`: compile every detection of a content checkout and report coverage.

use std::collections::BTreeMap;

use cimhunt_content::{ContentOptions, ContentSet};
use cimhunt_report::Object;
use cimhunt_spl::{Analysis, ErrorKind, Source, analyze};

use crate::args::{CheckArgs, CheckFormat};
use crate::cmd::Exit;
use crate::setup;
use crate::ui::Ui;

/// Coverage counts for one group of detections.
#[derive(Debug, Default, Clone)]
struct Counts {
    total: u64,
    /// The search reads: macros expand and every command parses (supported or not).
    parsed: u64,
    /// The generating command compiles.
    tstats: u64,
    /// Every command compiles: the detection runs end to end.
    complete: u64,
    /// What stops the others: the first unsupported construct or error, with a count.
    blockers: BTreeMap<String, u64>,
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
    let set = match ContentSet::load(&options) {
        Ok(set) => set,
        Err(e) => {
            ui.error(e);
            return Exit::Error;
        }
    };
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
    let mut overall = Counts::default();
    let mut by_model: BTreeMap<String, Counts> = BTreeMap::new();
    for d in &set.detections {
        let outcome = analyze(&d.search, &set.macros, model.as_ref());
        let model = datamodel_of(&d.search, outcome.as_ref().ok());
        for counts in [&mut overall, by_model.entry(model).or_default()] {
            tally(counts, &outcome);
        }
    }
    for e in &set.skipped {
        overall.total += 1;
        *overall
            .blockers
            .entry("file does not load".to_owned())
            .or_default() += 1;
        ui.warn(e);
    }
    match args.format {
        CheckFormat::Text => print_text(&overall, &by_model),
        CheckFormat::Json => println!("{}", json(&overall, &by_model)),
    }
    Exit::Ok
}

fn tally(c: &mut Counts, outcome: &Result<Analysis, cimhunt_spl::SplError>) {
    c.total += 1;
    let analysis = match outcome {
        Ok(a) => a,
        Err(e) => {
            *c.blockers.entry(label(e)).or_default() += 1;
            return;
        }
    };
    let parses = analysis
        .errors()
        .all(|e| !matches!(e.kind(), ErrorKind::Syntax | ErrorKind::Macro));
    c.parsed += u64::from(parses);
    c.tstats += u64::from(analysis.source.is_ok());
    match analysis.errors().next() {
        None => c.complete += 1,
        Some(e) => *c.blockers.entry(label(e)).or_default() += 1,
    }
}

fn label(e: &cimhunt_spl::SplError) -> String {
    match e.kind() {
        ErrorKind::Unsupported(label) => label.clone(),
        ErrorKind::Syntax => "syntax error".to_owned(),
        ErrorKind::Macro => "macro error".to_owned(),
    }
}

/// `Endpoint.Processes` for a search over that dataset, `(no data model)` for searches over raw
/// events or lookups.
fn datamodel_of(search: &str, analysis: Option<&Analysis>) -> String {
    match analysis.map(|a| &a.source) {
        Some(Ok(Source::Tstats(t))) => return t.dataset.clone(),
        Some(Ok(_)) => return "(raw events)".to_owned(),
        _ => {}
    }
    let text = analysis.map_or(search, |a| a.expanded.text());
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

fn print_text(overall: &Counts, by_model: &BTreeMap<String, Counts>) {
    let line = |name: &str, c: &Counts| {
        format!(
            "{name:<36} {:>6} {:>7} {:>7} {:>6}",
            c.total, c.parsed, c.tstats, c.complete
        )
    };
    println!(
        "{:<36} {:>6} {:>7} {:>7} {:>6}",
        "data model", "total", "parsed", "tstats", "runs"
    );
    for (model, c) in by_model {
        println!("{}", line(model, c));
    }
    println!("{}", line("all", overall));
    if let Some(c) = by_model.get("Endpoint.Processes") {
        println!(
            "\nEndpoint.Processes: what stops the {} that do not run:",
            c.total - c.complete
        );
        for (label, n) in ranked(&c.blockers) {
            println!("  {n:>5}  {label}");
        }
    }
    println!(
        "\nall detections: what stops the {} that do not run:",
        overall.total - overall.complete
    );
    for (label, n) in ranked(&overall.blockers).into_iter().take(25) {
        println!("  {n:>5}  {label}");
    }
}

fn counts_json(c: &Counts) -> String {
    let mut o = Object::new();
    o.integer("total", c.total)
        .integer("parsed", c.parsed)
        .integer("tstats_compiled", c.tstats)
        .integer("runs", c.complete);
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

fn json(overall: &Counts, by_model: &BTreeMap<String, Counts>) -> String {
    let mut models = Object::new();
    for (model, c) in by_model {
        models.raw(model, &counts_json(c));
    }
    let mut o = Object::new();
    o.raw("all", &counts_json(overall))
        .raw("datamodels", &models.finish());
    o.finish()
}

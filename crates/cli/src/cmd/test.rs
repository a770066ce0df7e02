//! `cimhunt test`: replay each detection's `tests:` attack data and decide PASS/FAIL as
//! contentctl's unit test does (spec 8.2–8.3).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;

use cimhunt_content::AttackData;
use cimhunt_engine::{Meta, Options, finish_all, run};
use cimhunt_model::Model;
use cimhunt_read::Input;
use cimhunt_report::{TestCase, TestOutcome, Verdict, junit_xml, verdict};

use crate::args::TestArgs;
use crate::cmd::Exit;
use crate::setup::{self, Loaded};
use crate::ui::{RunObserver, Ui};

/// Where splunk/attack_data URLs put the repository path.
const ATTACK_DATA_MARKER: &str = "/attack_data/master/";

/// Runs the subcommand.
pub fn run_test(args: TestArgs) -> Exit {
    let mut ui = Ui::new(args.run.max_errors);
    if !args.attack_data.is_dir() {
        ui.error(format!(
            "--attack-data {}: not a directory",
            args.attack_data.display()
        ));
        return Exit::Error;
    }
    let Some(model) = setup::model(&args.model, &mut ui) else {
        return Exit::Error;
    };
    let Some((_, loaded)) = setup::load(&args.content, &model, &mut ui) else {
        return Exit::Error;
    };
    let Some(options) = setup::options(&args.run, &mut ui) else {
        return Exit::Error;
    };
    let mut cases = Vec::new();
    for l in &loaded {
        if l.detection.tests.is_empty() {
            ui.note(format!("{}: no tests", l.detection.name));
        }
        for test in &l.detection.tests {
            let started = Instant::now();
            let (outcome, rows) = run_one(l, &test.attack_data, &args, &model, &options, &mut ui);
            let case = TestCase {
                detection: l.detection.name.clone(),
                test: test.name.clone(),
                outcome,
                rows,
                seconds: started.elapsed().as_secs_f64(),
            };
            print_case(&case);
            cases.push(case);
        }
    }
    let count = |f: fn(&TestOutcome) -> bool| cases.iter().filter(|c| f(&c.outcome)).count();
    let passed = count(|o| *o == TestOutcome::Pass);
    let failed = count(|o| matches!(o, TestOutcome::Fail(_)));
    let errors = count(|o| matches!(o, TestOutcome::Error(_)));
    let unavailable = count(|o| matches!(o, TestOutcome::Unavailable(_)));
    println!(
        "\n{passed} passed, {failed} failed, {errors} errors, {unavailable} dataset unavailable"
    );
    if passed + failed + errors == 0 {
        ui.warn("no test could run");
    }
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, junit_xml(&cases))
    {
        ui.error(format!(
            "{}: cannot write the JUnit report: {e}",
            path.display()
        ));
    }
    if ui.failures > 0 || errors > 0 {
        Exit::Error
    } else if failed > 0 {
        Exit::Matched
    } else {
        Exit::Ok
    }
}

fn print_case(case: &TestCase) {
    let name = format!("{} › {}", case.detection, case.test);
    match &case.outcome {
        TestOutcome::Pass => {
            println!("PASS  {name}  ({} rows, {:.2} s)", case.rows, case.seconds)
        }
        TestOutcome::Fail(why) => println!("FAIL  {name}: {why}"),
        TestOutcome::Error(why) => println!("ERROR {name}: {why}"),
        TestOutcome::Unavailable(why) => println!("SKIP  {name}: {why}"),
    }
}

/// Runs one test: its datasets through the detection, over all time.
fn run_one(
    l: &Loaded,
    attack_data: &[AttackData],
    args: &TestArgs,
    model: &Arc<Model>,
    options: &Options,
    ui: &mut Ui,
) -> (TestOutcome, usize) {
    if attack_data.is_empty() {
        return (
            TestOutcome::Unavailable("the test lists no attack data".into()),
            0,
        );
    }
    let mut inputs = Vec::new();
    for data in attack_data {
        if !sourcetype_supported(&data.sourcetype) {
            let why = format!("sourcetype `{}` is not one cimhunt reads", data.sourcetype);
            return (TestOutcome::Unavailable(why), 0);
        }
        match locate(&data.data, &args.attack_data) {
            Ok(path) => inputs.push((Input::path(path), meta_of(data))),
            Err(why) => return (TestOutcome::Unavailable(why), 0),
        }
    }
    let Some(job) = setup::job(model, std::slice::from_ref(l), &args.run, ui) else {
        return (TestOutcome::Error("the detection cannot run".into()), 0);
    };
    let mut observer = RunObserver::new(ui, !args.run.no_progress, |_, _| {});
    let result = run(&job, options, inputs, &mut observer);
    observer.finish();
    if result.stats.inputs_failed > 0 {
        return (TestOutcome::Error("a dataset could not be read".into()), 0);
    }
    if args.run.strict && result.stats.skipped_records > 0 {
        let why = format!(
            "{} records of the dataset were skipped (--strict)",
            result.stats.skipped_records
        );
        return (TestOutcome::Error(why), 0);
    }
    // The detection's subsearches (hidden detections of the job) are finished first.
    let finished = finish_all(&job, result.states, &options.exec_ctx(), 1);
    let rows = match finished.into_iter().next() {
        Some(Ok(rows)) => rows,
        Some(Err(e)) => return (TestOutcome::Error(e.to_string()), 0),
        None => return (TestOutcome::Error("no state".into()), 0),
    };
    let outcome = match verdict(&rows, &l.detection.rba()) {
        Verdict::Pass => TestOutcome::Pass,
        Verdict::Fail(why) => TestOutcome::Fail(why),
    };
    (outcome, rows.len())
}

/// The metadata a test dataset declares. `XmlWinEventLog` sourcetypes (any case, with or
/// without a channel) become `xmlwineventlog`, as the Windows add-on 8.x renames them
/// (ADDON_FIELDS 1.1).
fn meta_of(data: &AttackData) -> Meta {
    let st = if data
        .sourcetype
        .to_ascii_lowercase()
        .starts_with("xmlwineventlog")
    {
        cimhunt_model::XML_SOURCETYPE.to_owned()
    } else {
        data.sourcetype.clone()
    };
    Meta {
        source: (!data.source.is_empty()).then(|| data.source.as_str().into()),
        sourcetype: (!st.is_empty()).then(|| st.as_str().into()),
        host: None,
        index: None,
    }
}

/// Sourcetypes whose events cimhunt reads: Windows event XML and CrowdStrike JSON.
fn sourcetype_supported(sourcetype: &str) -> bool {
    let st = sourcetype.to_ascii_lowercase();
    st.starts_with("xmlwineventlog") || st == "crowdstrike:events:sensor" || st == "_json"
}

/// The local file for an attack-data reference: a splunk/attack_data URL mapped onto the
/// checkout, or a path relative to it. A missing file or a Git LFS pointer is "unavailable".
pub fn locate(data: &str, root: &Path) -> Result<PathBuf, String> {
    let relative = match data.find(ATTACK_DATA_MARKER) {
        Some(i) => &data[i + ATTACK_DATA_MARKER.len()..],
        None if data.contains("://") => {
            return Err(format!(
                "dataset unavailable: {data} is not a splunk/attack_data URL"
            ));
        }
        None => data,
    };
    let path = root.join(relative);
    let mut head = [0u8; 64];
    let n = match File::open(&path).and_then(|mut f| f.read(&mut head)) {
        Ok(n) => n,
        Err(e) => return Err(format!("dataset unavailable: {}: {e}", path.display())),
    };
    if head[..n].starts_with(b"version https://git-lfs") {
        return Err(format!(
            "dataset unavailable: {} is a Git LFS pointer (fetch the LFS objects)",
            path.display()
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_map_onto_the_checkout() {
        let dir = std::env::temp_dir().join(format!("cimhunt-locate-{}", std::process::id()));
        let file = dir.join("datasets/T1/x.log");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "<Event/>").unwrap();
        let url = "https://example.invalid/media/splunk/attack_data/master/datasets/T1/x.log";
        assert_eq!(locate(url, &dir), Ok(file.clone()));
        assert_eq!(locate("datasets/T1/x.log", &dir), Ok(file.clone()));
        assert!(
            locate("https://example.invalid/other.log", &dir)
                .unwrap_err()
                .contains("unavailable")
        );
        assert!(
            locate("datasets/T1/missing.log", &dir)
                .unwrap_err()
                .contains("unavailable")
        );
        std::fs::write(
            &file,
            "version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n",
        )
        .unwrap();
        assert!(locate(url, &dir).unwrap_err().contains("Git LFS pointer"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn supported_sourcetypes() {
        assert!(sourcetype_supported("xmlwineventlog"));
        assert!(sourcetype_supported("XmlWinEventLog:Security"));
        assert!(sourcetype_supported("crowdstrike:events:sensor"));
        assert!(!sourcetype_supported("WinEventLog"));
    }
}

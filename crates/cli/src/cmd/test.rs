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
use crate::ui::{Out, RunObserver, Ui};

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
    let Some(options) = setup::options(&args.run, &mut ui) else {
        return Exit::Error;
    };
    let Some((_, loaded)) = setup::load(&args.content, &model, &mut ui) else {
        return ui.exit(false);
    };
    let mut out = Out::stdout();
    let mut cases = Vec::new();
    for l in &loaded {
        if l.detection.tests.is_empty() {
            ui.note(format!("{}: no tests", l.detection.name));
        }
        for test in &l.detection.tests {
            if !out.is_open() {
                break;
            }
            let started = Instant::now();
            let (outcome, rows) = run_one(l, &test.attack_data, &args, &model, &options, &mut ui);
            let case = TestCase {
                detection: l.detection.name.clone(),
                test: test.name.clone(),
                outcome,
                rows,
                seconds: started.elapsed().as_secs_f64(),
            };
            print_case(&mut out, &case);
            cases.push(case);
        }
    }
    let count = |f: fn(&TestOutcome) -> bool| cases.iter().filter(|c| f(&c.outcome)).count();
    let passed = count(|o| *o == TestOutcome::Pass);
    let failed = count(|o| matches!(o, TestOutcome::Fail(_)));
    let errors = count(|o| matches!(o, TestOutcome::Error(_)));
    let unavailable = count(|o| matches!(o, TestOutcome::Unavailable(_)));
    writeln!(
        out,
        "\n{passed} passed, {failed} failed, {errors} errors, {unavailable} dataset unavailable"
    );
    let output_closed = !out.finish(&mut ui);
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, junit_xml(&cases))
    {
        ui.error(format!(
            "{}: cannot write the JUnit report: {e}",
            path.display()
        ));
    }
    if errors > 0 {
        ui.error(format!(
            "{errors} test{} could not run because of an error",
            if errors == 1 { "" } else { "s" }
        ));
    }
    if passed + failed + errors == 0 && !output_closed {
        ui.error(format!(
            "no test ran ({unavailable} with data unavailable under --attack-data {}): \
             nothing was tested",
            args.attack_data.display()
        ));
    }
    ui.exit(failed > 0)
}

fn print_case(out: &mut Out, case: &TestCase) {
    let name = format!("{} › {}", case.detection, case.test);
    match &case.outcome {
        TestOutcome::Pass => {
            writeln!(
                out,
                "PASS  {name}  ({} rows, {:.2} s)",
                case.rows, case.seconds
            )
        }
        TestOutcome::Fail(why) => writeln!(out, "FAIL  {name}: {why}"),
        TestOutcome::Error(why) => writeln!(out, "ERROR {name}: {why}"),
        TestOutcome::Unavailable(why) => writeln!(out, "SKIP  {name}: {why}"),
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
    let unavailable = |why: Unavailable| (TestOutcome::Unavailable(why.to_string()), 0);
    if attack_data.is_empty() {
        return unavailable(Unavailable::NoData);
    }
    let mut inputs = Vec::new();
    for data in attack_data {
        if !sourcetype_supported(&data.sourcetype) {
            return unavailable(Unavailable::Sourcetype(data.sourcetype.clone()));
        }
        match locate(&data.data, &args.attack_data) {
            Ok(path) => inputs.push((Input::path(path), meta_of(data))),
            Err(why) => return unavailable(why),
        }
    }
    let Some(job) = setup::job(model, std::slice::from_ref(l), &args.run, false, ui) else {
        return (TestOutcome::Error("the detection cannot run".into()), 0);
    };
    let mut observer = RunObserver::new(ui, !args.run.no_progress);
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
        ..Meta::default()
    }
}

/// Sourcetypes whose events cimhunt reads: Windows event XML and CrowdStrike JSON.
fn sourcetype_supported(sourcetype: &str) -> bool {
    let st = sourcetype.to_ascii_lowercase();
    st.starts_with("xmlwineventlog") || st == "crowdstrike:events:sensor" || st == "_json"
}

/// Why a test's data cannot be replayed. None of these is a failure of the detection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// The test names no data.
    #[error("the test lists no attack data")]
    NoData,
    /// The data is of a kind cimhunt does not read.
    #[error("sourcetype `{0}` is not one cimhunt reads")]
    Sourcetype(String),
    /// A URL that is not a splunk/attack_data one.
    #[error("dataset unavailable: {0} is not a splunk/attack_data URL")]
    NotAttackData(String),
    /// A path that leads outside the checkout (`..`, an absolute path, a symbolic link).
    #[error("dataset unavailable: {data} points outside --attack-data {}", root.display())]
    Outside {
        /// The reference as the test writes it.
        data: String,
        /// The checkout.
        root: PathBuf,
    },
    /// The file cannot be opened or read.
    #[error("dataset unavailable: {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A Git LFS pointer: the checkout was cloned without its LFS objects.
    #[error("dataset unavailable: {} is a Git LFS pointer (fetch the LFS objects)", path.display())]
    LfsPointer {
        /// The file.
        path: PathBuf,
    },
}

/// The local file for an attack-data reference: a splunk/attack_data URL mapped onto the
/// checkout, or a path relative to it.
pub fn locate(data: &str, root: &Path) -> Result<PathBuf, Unavailable> {
    let relative = match data.find(ATTACK_DATA_MARKER) {
        Some(i) => &data[i + ATTACK_DATA_MARKER.len()..],
        None if data.contains("://") => return Err(Unavailable::NotAttackData(data.to_owned())),
        None => data,
    };
    let path = root.join(relative);
    if !stays_inside(root, &path) {
        return Err(Unavailable::Outside {
            data: data.to_owned(),
            root: root.to_path_buf(),
        });
    }
    let mut head = [0u8; 64];
    let n = match File::open(&path).and_then(|mut f| f.read(&mut head)) {
        Ok(n) => n,
        Err(source) => return Err(Unavailable::Unreadable { path, source }),
    };
    if head[..n].starts_with(b"version https://git-lfs") {
        return Err(Unavailable::LfsPointer { path });
    }
    Ok(path)
}

/// Whether `path` (an existing file or not) lies inside `root` once `..`, `.` and symbolic
/// links are resolved: a detection's test cannot name a file outside the checkout.
fn stays_inside(root: &Path, path: &Path) -> bool {
    let Ok(root) = root.canonicalize() else {
        return false;
    };
    match path.canonicalize() {
        Ok(p) => p.starts_with(&root),
        // A missing file: judge the words of the path (it will be "unavailable" anyway).
        Err(_) => {
            let mut depth = 0i64;
            for c in path.strip_prefix(&root).unwrap_or(path).components() {
                match c {
                    std::path::Component::Normal(_) => depth += 1,
                    std::path::Component::ParentDir => depth -= 1,
                    std::path::Component::CurDir => {}
                    _ => return path.starts_with(&root) && depth >= 0,
                }
                if depth < 0 {
                    return false;
                }
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_map_onto_the_checkout() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        let file = dir.join("datasets/T1/x.log");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "<Event/>").unwrap();
        let url = "https://example.invalid/media/splunk/attack_data/master/datasets/T1/x.log";
        assert_eq!(locate(url, &dir).unwrap(), file);
        assert_eq!(locate("datasets/T1/x.log", &dir).unwrap(), file);
        assert!(matches!(
            locate("https://example.invalid/other.log", &dir),
            Err(Unavailable::NotAttackData(_))
        ));
        assert!(matches!(
            locate("datasets/T1/missing.log", &dir),
            Err(Unavailable::Unreadable { .. })
        ));
        std::fs::write(
            &file,
            "version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n",
        )
        .unwrap();
        let lfs = locate(url, &dir).unwrap_err();
        assert!(lfs.to_string().contains("Git LFS pointer"), "{lfs}");
    }

    #[test]
    fn test_data_paths_cannot_escape_the_checkout() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("attack_data");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(tmp.path().join("secret.log"), "<Event/>").unwrap();
        let absolute = tmp.path().join("secret.log");
        let absolute = absolute.to_str().unwrap();
        for data in ["../secret.log", "datasets/../../secret.log", absolute] {
            let err = locate(data, &root).unwrap_err();
            assert!(matches!(err, Unavailable::Outside { .. }), "{data}: {err}");
        }
    }

    #[test]
    fn supported_sourcetypes() {
        assert!(sourcetype_supported("xmlwineventlog"));
        assert!(sourcetype_supported("XmlWinEventLog:Security"));
        assert!(sourcetype_supported("crowdstrike:events:sensor"));
        assert!(!sourcetype_supported("WinEventLog"));
    }
}

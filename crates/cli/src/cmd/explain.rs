//! `cimhunt explain`: the expanded search, the plan and the prefilter literals.

use std::sync::Arc;

use cimhunt_engine::Job;

use crate::args::ExplainArgs;
use crate::cmd::Exit;
use crate::setup;
use crate::ui::{Out, Ui};

/// Runs the subcommand.
pub fn run_explain(args: ExplainArgs) -> Exit {
    let mut ui = Ui::new(20);
    let Some(model) = setup::model(&args.model, &mut ui) else {
        return Exit::Error;
    };
    let Some((_, loaded)) = setup::load(&args.content, &model, &mut ui) else {
        return ui.exit(false);
    };
    let mut out = Out::stdout();
    for (i, l) in loaded.iter().enumerate() {
        if !out.is_open() {
            break;
        }
        if i > 0 {
            writeln!(out);
        }
        writeln!(out, "detection: {}  ({})", l.detection.name, l.origin());
        write!(out, "{}", l.compiled.explain());
        let job = Job::builder(Arc::clone(&model))
            .detection(
                l.detection.name.clone(),
                l.compiled.plan.clone(),
                &l.compiled.expanded,
            )
            .build();
        match job {
            Ok(job) if job.prefilter().is_active() => writeln!(
                out,
                "prefilter: records are decoded only if they contain one of {:?}",
                job.prefilter().needles()
            ),
            Ok(_) => writeln!(
                out,
                "prefilter: none (no literal outside the record envelope is required)"
            ),
            Err(e) => ui.error(e),
        }
    }
    out.finish(&mut ui);
    ui.exit(false)
}

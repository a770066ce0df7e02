//! `cimhunt explain`: the expanded search, the plan and the prefilter literals.

use std::sync::Arc;

use cimhunt_engine::Job;

use crate::args::ExplainArgs;
use crate::cmd::Exit;
use crate::setup;
use crate::ui::Ui;

/// Runs the subcommand.
pub fn run_explain(args: ExplainArgs) -> Exit {
    let mut ui = Ui::new(20);
    let Some(model) = setup::model(&args.model, &mut ui) else {
        return Exit::Error;
    };
    let Some((_, loaded)) = setup::load(&args.content, &model, &mut ui) else {
        return Exit::Error;
    };
    for (i, l) in loaded.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("detection: {}  ({})", l.detection.name, l.origin());
        print!("{}", l.compiled.explain());
        let job = Job::builder(Arc::clone(&model))
            .detection(
                l.detection.name.clone(),
                l.compiled.plan.clone(),
                &l.compiled.expanded,
            )
            .build();
        match job {
            Ok(job) if job.prefilter().is_active() => println!(
                "prefilter: records are decoded only if they contain one of {:?}",
                job.prefilter().needles()
            ),
            Ok(_) => {
                println!("prefilter: none (no literal outside the record envelope is required)")
            }
            Err(e) => ui.error(e),
        }
    }
    if ui.failures > 0 {
        Exit::Error
    } else {
        Exit::Ok
    }
}

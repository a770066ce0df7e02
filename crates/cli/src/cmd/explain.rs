//! `cimhunt explain`: the expanded search, the plan and the prefilter literals.

use cimhunt_pipeline::Prefilter;

use crate::args::ExplainArgs;
use crate::cmd::Exit;
use crate::setup;
use crate::ui::Ui;

/// Runs the subcommand.
pub fn run_explain(args: ExplainArgs) -> Exit {
    let mut ui = Ui::new(20);
    let Some((_, loaded)) = setup::load(&args.content, &mut ui) else {
        return Exit::Error;
    };
    for (i, l) in loaded.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("detection: {}  ({})", l.detection.name, l.origin());
        print!("{}", l.compiled.explain());
        let literals = l.compiled.plan.required_literals();
        let prefilter = Prefilter::new([&literals]);
        if prefilter.is_active() {
            println!(
                "prefilter: records are decoded only if they contain one of {:?}",
                prefilter.needles()
            );
        } else {
            println!("prefilter: none (no literal outside the record envelope is required)");
        }
    }
    if ui.failures > 0 {
        Exit::Error
    } else {
        Exit::Ok
    }
}

//! `cimhunt serve` runs each detection on the schedule its content gives it: its own
//! `deployment.scheduling`, else contentctl's default for its type.

use std::path::Path;
use std::sync::Arc;

use cimhunt_engine::Job;
use cimhunt_model::Model;
use cimhunt_serve::Sink;
use cimhunt_serve_engine::{EngineSink, SinkError};
use cimhunt_spl::{MacroSet, compile};

fn sink(yamls: &[&str]) -> Result<EngineSink, SinkError> {
    let model = Arc::new(Model::escu().unwrap());
    let mut b = Job::builder(Arc::clone(&model));
    let mut details = Vec::new();
    for y in yamls {
        let d = cimhunt_content::parse_detection(y, Path::new("d.yml")).unwrap();
        let c = compile(&d.search, &MacroSet::new(), model.as_ref()).unwrap();
        b = b.detection(d.name.clone(), c.plan, &c.expanded);
        details.push(d);
    }
    EngineSink::builder(Arc::new(b.build().unwrap()), details).build()
}

#[test]
fn each_detection_runs_on_the_schedule_its_content_gives_it() {
    let s = sink(&[
        "name: Default\ntype: TTP\nsearch: 'index=main a'\n",
        "name: Own\ntype: TTP\nsearch: 'index=main b'\ndeployment:\n  scheduling:\n    cron_schedule: '*/15 * * * *'\n    earliest_time: -20m@m\n    latest_time: -5m@m\n",
    ])
    .unwrap();
    let d = s.detections();
    let got: Vec<(&str, &str, String, String)> = d
        .iter()
        .map(|d| {
            (
                d.id.as_str(),
                d.cron_schedule.as_str(),
                d.earliest.text().to_owned(),
                d.latest.text().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Default", "0 * * * *", "-70m@m".into(), "-10m@m".into()),
            ("Own", "*/15 * * * *", "-20m@m".into(), "-5m@m".into()),
        ]
    );
}

#[test]
fn a_schedule_that_does_not_parse_stops_the_sink_naming_the_detection() {
    let e = sink(&[
        "name: Bad\ntype: TTP\nsearch: 'index=main a'\ndeployment:\n  scheduling:\n    earliest_time: yesterday-ish\n",
    ])
    .unwrap_err();
    assert!(e.to_string().contains("detection `Bad`"), "{e}");
}

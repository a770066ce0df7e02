//! Reading an event's fields again gives what a first reading gives: an event remembers where
//! each field it has read was found and the number it read as (`Event`'s `seen` table), and
//! that must never hand one field's value to another.

mod support;

use cimhunt_decode::decode_xml;
use cimhunt_model::Decoded;
use cimhunt_spl::{Record, Sym};
use support::*;

/// `n` distinct `Data` fields, numbers and text alternately, plus one field given twice.
fn data(n: usize) -> Vec<(String, String)> {
    let mut d: Vec<(String, String)> = (0..n)
        .map(|i| {
            let v = if i % 2 == 0 {
                (1000 + i).to_string()
            } else {
                format!(r"C:\dir{i}\tool{i}.exe")
            };
            (format!("ReadField{i}"), v)
        })
        .collect();
    d.push(("ReadTwice".into(), "first".into()));
    d.push(("ReadTwice".into(), "2".into()));
    d
}

fn each_read_matches_a_fresh_event(n: usize) {
    let data = data(n);
    let pairs: Vec<(&str, &str)> = data.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let xml = sysmon("1", &pairs);
    let win = decode_xml(xml.as_bytes()).expect("decodes");
    let meta = sysmon_meta();
    let want = want_all();
    let mut names: Vec<String> = data.iter().map(|(k, _)| k.clone()).collect();
    names.extend(["EventCode", "Computer", "ProcessId", "NoSuchField"].map(String::from));
    // What each field reads as on an event that has read nothing else.
    let fresh: Vec<String> = names
        .iter()
        .map(|name| {
            let ev = escu().event(Decoded::Windows(&win), &meta, &want, Some(&xml));
            format!("{:?}", ev.value(Sym::new(name)))
        })
        .collect();
    // One event reads them all, forwards, backwards and forwards again: with more fields than
    // its table has places, fields share places.
    let ev = escu().event(Decoded::Windows(&win), &meta, &want, Some(&xml));
    let order: Vec<usize> = (0..names.len())
        .chain((0..names.len()).rev())
        .chain(0..names.len())
        .collect();
    for i in order {
        let got = format!("{:?}", ev.value(Sym::new(&names[i])));
        assert_eq!(got, fresh[i], "{}", names[i]);
    }
    // The numbers stay numbers and the text text.
    assert!(fresh[0].starts_with("Num"), "{}", fresh[0]);
    assert!(fresh[1].starts_with("Str"), "{}", fresh[1]);
    assert!(fresh[n].starts_with("Multi"), "{}", fresh[n]);
}

#[test]
fn fields_read_again_on_a_small_event_are_what_they_were() {
    each_read_matches_a_fresh_event(6);
}

#[test]
fn fields_read_again_on_an_event_with_more_fields_than_places_are_what_they_were() {
    each_read_matches_a_fresh_event(80);
}

/// The `eventtype` and `tag` fields of an event, as text.
fn classes(model: &cimhunt_model::Model, xml: &str, meta: &cimhunt_model::Meta) -> String {
    let win = decode_xml(xml.as_bytes()).expect("decodes");
    let want = want_all();
    let ev = model.event(Decoded::Windows(&win), meta, &want, Some(xml));
    format!(
        "{:?} {:?}",
        ev.value(Sym::new("eventtype")),
        ev.value(Sym::new("tag"))
    )
}

#[test]
fn event_types_found_again_are_what_a_fresh_model_finds() {
    // The event types an event's program finds are remembered by the values their searches
    // read (`cimhunt_spl::memo`): events of one program in turns, each compared with a model
    // that has seen nothing.
    let security = meta("XmlWinEventLog:Security", "xmlwineventlog");
    let events: Vec<(String, cimhunt_model::Meta)> = vec![
        (sysmon("1", &[("Image", r"C:\a.exe")]), sysmon_meta()),
        (sysmon("3", &[("Image", r"C:\a.exe")]), sysmon_meta()),
        (
            sysmon("11", &[("TargetFilename", r"C:\b.txt")]),
            sysmon_meta(),
        ),
        (sysmon("13", &[("TargetObject", r"HKLM\x")]), sysmon_meta()),
        (sysmon("22", &[("QueryName", "example.org")]), sysmon_meta()),
        (sysmon("999", &[]), sysmon_meta()),
        (
            xml_event(
                "Microsoft-Windows-Security-Auditing",
                "Security",
                "4688",
                &[],
            ),
            security.clone(),
        ),
        (
            xml_event(
                "Microsoft-Windows-Security-Auditing",
                "Security",
                "4670",
                &[("ObjectType", "Registry")],
            ),
            security.clone(),
        ),
        (
            xml_event(
                "Microsoft-Windows-Security-Auditing",
                "Security",
                "4670",
                &[("ObjectType", "File")],
            ),
            security.clone(),
        ),
    ];
    let fresh: Vec<String> = events
        .iter()
        .map(|(xml, m)| {
            let model = cimhunt_model::Model::escu().expect("compiles");
            classes(&model, xml, m)
        })
        .collect();
    let model = cimhunt_model::Model::escu().expect("compiles");
    for round in 0..3 {
        for (i, (xml, m)) in events.iter().enumerate().rev() {
            assert_eq!(
                classes(&model, xml, m),
                fresh[i],
                "round {round}, event {i}"
            );
        }
    }
    // Not every event is alike: the test would hold for a memo that gave every event one answer
    // only if all the answers were the same.
    assert_ne!(fresh[0], fresh[1]);
    assert_ne!(fresh[7], fresh[8]);
}

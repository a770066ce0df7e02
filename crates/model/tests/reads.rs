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

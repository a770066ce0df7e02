//! Acceptance on the shared EVTX corpus (ISSUE item 7): every event presented as `events --raw`
//! and through every dataset (`events --datamodel`), checked against structural invariants
//! derived from ADDON_FIELDS.md and read independently from the decoded event (no add-on table
//! is consulted here). Also reports how long presentation takes.
//!
//! Run with `cargo test -p cimhunt-engine --release --test model_acceptance -- --ignored
//! --nocapture`.

mod model_support;

use std::collections::BTreeMap;
use std::time::Instant;

use cimhunt_decode::{EvtxChunkDecoder, WinEvent, decode_json, decode_xml};
use cimhunt_engine::Meta;
use cimhunt_model::{Decoded, Model, Want};
use cimhunt_read::{Format, ReadEvent, Reader, ReaderOptions, expand_paths};
use cimhunt_spl::{Record, Sym, Value};
use model_support::*;

/// The fields of a record, as text values.
type Fields = BTreeMap<String, Vec<String>>;

fn fields(list: Vec<(Sym, Value<'_>)>) -> Fields {
    let mut out = Fields::new();
    for (k, v) in list {
        out.entry(k.as_str().to_owned())
            .or_default()
            .extend(v.texts().map(|t| t.into_owned()));
    }
    out
}

/// Failed invariants, by name, with a few examples.
#[derive(Default)]
struct Failures(BTreeMap<String, (u64, Vec<String>)>);

impl Failures {
    fn check(&mut self, ok: bool, name: &str, at: &str, detail: impl FnOnce() -> String) {
        if !ok {
            let e = self.0.entry(name.to_owned()).or_default();
            e.0 += 1;
            if e.1.len() < 3 {
                e.1.push(format!("{at}: {}", detail()));
            }
        }
    }
}

fn one<'f>(f: &'f Fields, k: &str) -> Option<&'f str> {
    match f.get(k).map(Vec::as_slice) {
        Some([v]) => Some(v.as_str()),
        _ => None,
    }
}

fn data<'w>(w: &'w WinEvent<'_>, name: &str) -> Option<&'w str> {
    w.data(name).filter(|v| !v.is_empty())
}

/// Sysmon's basename rule (ADDON_FIELDS §1.9), read from its description: the text after the
/// last backslash when it ends in `.<word chars>` or is all word characters; else the path.
fn basename(path: &str) -> String {
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    for (i, _) in path
        .match_indices('\\')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let rest = &path[i + 1..];
        let ext_ok = rest.rfind('.').is_some_and(|d| {
            rest[d + 1..]
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_')
        });
        if ext_ok || word(rest) {
            return rest.to_owned();
        }
    }
    path.to_owned()
}

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

fn expected_datasets(channel: &str, id: &str, w: &WinEvent<'_>) -> Vec<&'static str> {
    let mut out = Vec::new();
    let sysmon = channel == SYSMON;
    let security = channel == "Security";
    let system = channel == "System";
    let ids = |l: &[&str]| l.contains(&id);
    if (sysmon
        && ids(&[
            "1", "5", "6", "7", "8", "9", "10", "15", "17", "18", "24", "25",
        ]))
        || (security && ids(&["4688", "4689", "4696", "4673", "4674"]))
    {
        out.push("Endpoint.Processes");
    }
    let registry_object = ["ObjectType", "Object_Type"]
        .iter()
        .any(|n| data(w, n).is_some_and(|v| v.eq_ignore_ascii_case("Registry")));
    if (sysmon && ids(&["12", "13", "14"]))
        || (security && (id == "4657" || (id == "4670" && registry_object)))
    {
        out.push("Endpoint.Registry");
    }
    if sysmon && ids(&["2", "11", "23", "26", "27", "28", "29"]) {
        out.push("Endpoint.Filesystem");
    }
    if (sysmon && ids(&["4", "16", "255"]))
        || ((security || system)
            && ids(&[
                "1100", "4697", "5024", "5025", "5030", "5033", "5034", "5035", "5478", "7036",
                "7040", "7045",
            ]))
    {
        out.push("Endpoint.Services");
    }
    if security && ids(&["5158", "4957", "861"]) {
        out.push("Endpoint.Ports");
    }
    if sysmon && id == "3" {
        out.push("Network_Traffic.All_Traffic");
    }
    if sysmon && id == "22" {
        out.push("Network_Resolution.DNS");
    }
    out
}

fn check_raw(w: &WinEvent<'_>, f: &Fields, bad: &mut Failures, at: &str) {
    let channel = w.channel().unwrap_or("");
    let id = w.event_id().unwrap_or("");
    let eq = |bad: &mut Failures, name: &str, field: &str, want: Option<&str>| {
        let got = one(f, field);
        bad.check(got == want, name, at, || {
            format!("{field}={:?}, expected {want:?}", f.get(field))
        });
    };
    eq(
        bad,
        "source is XmlWinEventLog:<Channel>",
        "source",
        Some(&format!("XmlWinEventLog:{channel}")),
    );
    eq(bad, "sourcetype", "sourcetype", Some("xmlwineventlog"));
    eq(
        bad,
        "EventCode is the EventID text",
        "EventCode",
        Some(id).filter(|i| !i.is_empty()),
    );
    eq(
        bad,
        "RecordNumber is EventRecordID",
        "RecordNumber",
        w.record_id().filter(|r| !r.is_empty()),
    );
    let computer = w.computer().filter(|c| !c.is_empty());
    eq(bad, "dvc is Computer", "dvc", computer);
    eq(bad, "host is Computer", "host", computer);
    if let Some(u) = w.user_id() {
        let quoted = format!("'{u}'");
        eq(bad, "UserID keeps its quotes", "UserID", Some(&quoted));
        eq(
            bad,
            "user_id is the quoted UserID",
            "user_id",
            Some(&quoted),
        );
    } else {
        bad.check(
            !f.contains_key("user_id"),
            "no user_id without UserID",
            at,
            || format!("{:?}", f.get("user_id")),
        );
    }
    for a in [
        "SystemTime",
        "ProcessID",
        "ThreadID",
        "Name",
        "Guid",
        "ActivityID",
    ] {
        // An EventData value of the same name (Sysmon 19-21 have `Name`) adds a value.
        let own = |v: &String| w.data.iter().any(|(n, d)| n == a && d == v);
        for v in f.get(a).into_iter().flatten().filter(|v| !own(v)) {
            bad.check(
                v.len() >= 2 && v.starts_with('\'') && v.ends_with('\''),
                "System attributes are quoted",
                at,
                || format!("{a}={v}"),
            );
        }
    }
    // Every named EventData value is a value of its (cleaned) field.
    for (name, value) in &w.data {
        if name.is_empty()
            || value.is_empty()
            || ["Error_Code", "Group_Name", "Group_Domain"].contains(&name.as_ref())
        {
            continue;
        }
        let clean: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let clean = clean
            .trim_start_matches(|c: char| c == '_' || c.is_ascii_digit())
            .to_owned();
        let has = f
            .get(&clean)
            .is_some_and(|vs| vs.iter().any(|v| v == value.as_ref()));
        bad.check(has, "every EventData value is a field", at, || {
            format!("{clean}: {:?} vs {value:?}", f.get(&clean))
        });
    }
    let vendor = if channel == SYSMON {
        "Microsoft Sysmon"
    } else {
        "Microsoft Windows"
    };
    eq(
        bad,
        "vendor_product by channel",
        "vendor_product",
        Some(vendor),
    );
    if channel == SYSMON && data(w, "UtcTime").is_some() {
        let utc = data(w, "UtcTime").unwrap_or("");
        let t = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S%.f", utc)
            .ok()
            .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp().as_millisecond());
        let got = one(f, "_time")
            .and_then(|s| s.parse::<f64>().ok())
            .map(|s| (s * 1000.0).round() as i64);
        bad.check(
            t.is_some() && t == got,
            "Sysmon _time is UtcTime",
            at,
            || format!("{utc} vs {got:?}"),
        );
    } else if let Some(st) = w.system_time() {
        let t = jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.f%#z", st)
            .ok()
            .map(|t| t.as_millisecond());
        let got = one(f, "_time")
            .and_then(|s| s.parse::<f64>().ok())
            .map(|s| (s * 1000.0).floor() as i64);
        bad.check(t.is_none() || t == got, "_time is SystemTime", at, || {
            format!("{st} vs {got:?}")
        });
    }
    if channel == "Microsoft-Windows-PowerShell/Operational" && id == "4104" {
        bad.check(
            !f.contains_key("dest") && !f.contains_key("user"),
            "4104 has no dest or user",
            at,
            || format!("{:?} {:?}", f.get("dest"), f.get("user")),
        );
        let text = data(w, "ScriptBlockText").is_some();
        bad.check(
            f.contains_key("ScriptBlockText") == text,
            "4104 has ScriptBlockText",
            at,
            String::new,
        );
    }
    if channel == SYSMON {
        if let Some(u) = data(w, "User").filter(|u| *u != "-") {
            let short = u.rsplit('\\').next().unwrap_or(u);
            eq(bad, "Sysmon user drops the domain", "user", Some(short));
        }
        if [
            "1", "2", "3", "5", "7", "9", "11", "12", "13", "14", "15", "17", "18", "22", "23",
            "24", "26",
        ]
        .contains(&id)
            && let Some(image) = data(w, "Image")
        {
            eq(
                bad,
                "Sysmon process_name is the Image basename",
                "process_name",
                Some(&basename(image)),
            );
        }
    }
}

fn check_view(ds: &str, w: &WinEvent<'_>, v: &Fields, bad: &mut Failures, at: &str) {
    let id = w.event_id().unwrap_or("");
    let channel = w.channel().unwrap_or("");
    let eq = |bad: &mut Failures, field: &str, want: Option<&str>| {
        let got = one(v, field);
        bad.check(got == want, &format!("{ds} {field}"), at, || {
            format!("{:?}, expected {want:?}", v.get(field))
        });
    };
    let filled = |x: Option<&str>| x.filter(|s| !s.is_empty()).unwrap_or("unknown").to_owned();
    let computer = w.computer().filter(|c| !c.is_empty());
    match ds {
        "Endpoint.Registry" if channel == SYSMON => {
            eq(bad, "status", Some("success"));
            eq(bad, "vendor_product", Some("Microsoft Sysmon"));
            eq(bad, "registry_path", Some(&filled(data(w, "TargetObject"))));
            eq(bad, "dest", Some(&filled(computer)));
            if id == "13" {
                eq(bad, "action", Some("modified"));
                bad.check(
                    one(v, "registry_value_name").is_some_and(|n| !n.is_empty()),
                    "Registry 13 registry_value_name",
                    at,
                    String::new,
                );
                let details = data(w, "Details").unwrap_or("");
                let re = regex::Regex::new(r"^\w+\s\((.+)\)$").unwrap();
                let want = match re.captures(details) {
                    Some(c) => c[1].to_owned(),
                    None => filled(Some(details)),
                };
                eq(bad, "registry_value_data", Some(&want));
            }
            if id == "12" {
                let action = match data(w, "EventType") {
                    Some("CreateKey") => "created",
                    Some("DeleteKey" | "DeleteValue") => "deleted",
                    _ => "unknown",
                };
                eq(bad, "action", Some(action));
                eq(
                    bad,
                    "registry_key_name",
                    Some(&filled(data(w, "TargetObject"))),
                );
                for f in [
                    "registry_value_name",
                    "registry_value_data",
                    "registry_value_type",
                ] {
                    eq(bad, f, Some("unknown"));
                }
            }
        }
        "Endpoint.Filesystem" => {
            let target = data(w, "TargetFilename").unwrap_or("");
            let ads = regex::Regex::new(r"(:[\w\. ]+)").unwrap();
            let path = ads.replace_all(target, "").into_owned();
            let name = ads
                .replace_all(target.rsplit('\\').next().unwrap_or(target), "")
                .into_owned();
            eq(bad, "file_path", Some(&filled(Some(&path))));
            eq(bad, "file_name", Some(&filled(Some(&name))));
            let action = match id {
                "11" if data(w, "UtcTime") == data(w, "CreationUtcTime") => "created",
                "2" | "11" => "modified",
                "23" | "26" => "deleted",
                "27" | "28" => "blocked",
                "29" => "created",
                _ => "unknown",
            };
            eq(bad, "action", Some(action));
            eq(bad, "vendor_product", Some("Microsoft Sysmon"));
        }
        "Network_Traffic.All_Traffic" => {
            eq(bad, "action", Some("allowed"));
            eq(bad, "protocol", Some("ip"));
            eq(bad, "src_ip", data(w, "SourceIp"));
            eq(bad, "dest_ip", data(w, "DestinationIp"));
            let dir = if data(w, "Initiated") == Some("true") {
                "outbound"
            } else {
                "inbound"
            };
            eq(bad, "direction", Some(dir));
            eq(
                bad,
                "transport",
                Some(&filled(data(w, "Protocol")).to_lowercase()),
            );
            let dest = data(w, "DestinationHostname")
                .filter(|h| *h != "-")
                .or(data(w, "DestinationIp"));
            eq(bad, "dest", Some(&filled(dest)));
            eq(bad, "app", data(w, "Image"));
        }
        "Network_Resolution.DNS" => {
            eq(bad, "query", Some(&filled(data(w, "QueryName"))));
            eq(bad, "reply_code_id", Some(&filled(data(w, "QueryStatus"))));
            eq(bad, "message_type", Some("unknown"));
            eq(bad, "dest", Some("unknown"));
            eq(bad, "src", computer);
            let answers = v.get("answer").map_or(0, Vec::len);
            let count = one(v, "answer_count").and_then(|c| c.parse::<usize>().ok());
            bad.check(
                count == Some(answers.max(1)) || answers == 1,
                "DNS answer_count",
                at,
                || format!("{count:?} for {answers} answers"),
            );
        }
        "Endpoint.Processes" if channel == SYSMON && id == "1" => {
            eq(bad, "process", Some(&filled(data(w, "CommandLine"))));
            eq(bad, "process_path", data(w, "Image"));
            eq(bad, "process_id", data(w, "ProcessId"));
            eq(bad, "parent_process_id", data(w, "ParentProcessId"));
            if let Some(p) = data(w, "ParentImage") {
                eq(bad, "parent_process_name", Some(&basename(p)));
            }
            eq(
                bad,
                "original_file_name",
                Some(&filled(data(w, "OriginalFileName").filter(|o| *o != "-"))),
            );
            eq(bad, "action", Some("allowed"));
        }
        "Endpoint.Processes" if channel == SYSMON && ["8", "10"].contains(&id) => {
            if let Some(t) = data(w, "TargetImage") {
                eq(bad, "process_name", Some(&basename(t)));
            }
        }
        _ => {}
    }
}

#[test]
#[ignore = "needs ../shared; reads the whole EVTX corpus (use --release)"]
fn every_corpus_event_is_presented_as_the_add_ons_would() {
    let model: std::sync::Arc<Model> = model();
    let datasets: Vec<(&str, cimhunt_model::DatasetId)> = [
        "Endpoint.Processes",
        "Endpoint.Registry",
        "Endpoint.Filesystem",
        "Endpoint.Services",
        "Endpoint.Ports",
        "Network_Traffic.All_Traffic",
        "Network_Resolution.DNS",
    ]
    .iter()
    .map(|n| (*n, model.dataset(n).unwrap()))
    .collect();
    let mut want = Want::default();
    want.all();
    let meta = Meta::default();
    let mut bad = Failures::default();
    let mut per_channel: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_dataset: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut events, mut present_time, mut field_count) = (0u64, std::time::Duration::ZERO, 0u64);
    let (inputs, errors) = expand_paths(&[shared().join("corpus/evtx")]);
    assert!(errors.is_empty());
    let reader = Reader::new(ReaderOptions::default());
    let mut evtx = EvtxChunkDecoder::new();
    let mut one_event = |w: &WinEvent<'_>, text: Option<&str>, at: &str| {
        let started = Instant::now();
        let e = model.event(Decoded::Windows(w), &meta, &want, text);
        let raw = fields(e.all_fields());
        let mut views = Vec::new();
        for (name, ds) in &datasets {
            if let Some(v) = model.view(&e, *ds) {
                views.push((*name, fields(v.fields())));
            }
        }
        present_time += started.elapsed();
        events += 1;
        field_count += raw.len() as u64;
        let channel = w.channel().unwrap_or("").to_owned();
        let id = w.event_id().unwrap_or("");
        *per_channel.entry(channel.clone()).or_default() += 1;
        check_raw(w, &raw, &mut bad, at);
        let got: Vec<&str> = views.iter().map(|(n, _)| *n).collect();
        let expected = expected_datasets(&channel, id, w);
        bad.check(
            got == expected,
            "the datasets an event belongs to",
            at,
            || format!("{channel} {id}: {got:?}, expected {expected:?}"),
        );
        for (name, v) in &views {
            *per_dataset.entry(*name).or_default() += 1;
            check_view(name, w, v, &mut bad, at);
        }
        let _ = e.value(Sym::new("tag"));
    };
    for input in inputs {
        for ev in reader.read(input) {
            let ReadEvent::Batch(batch) = ev else {
                continue;
            };
            let mut lines = batch.lines();
            for (span, bytes) in batch.iter() {
                let at = format!("{}:{}", batch.input, lines.line(span).unwrap_or(0));
                match batch.format {
                    Format::Evtx => {
                        let _ = evtx.decode_chunk(bytes, |rid, d| {
                            if let Ok(w) = d {
                                one_event(&w, None, &format!("{at} record {:?}", rid.number));
                            }
                        });
                    }
                    Format::XmlEvents => {
                        if let Ok(w) = decode_xml(bytes) {
                            one_event(&w, std::str::from_utf8(bytes).ok(), &at);
                        }
                    }
                    Format::Json => {
                        if let Ok(cimhunt_decode::Decoded::Windows(w)) = decode_json(bytes) {
                            one_event(&w, None, &at);
                        }
                    }
                }
            }
        }
    }
    println!(
        "{events} events, {} channels; per dataset: {per_dataset:?}",
        per_channel.len()
    );
    println!(
        "presentation (all fields and every dataset view): {:.1} µs per event, {:.1} fields per event",
        present_time.as_secs_f64() * 1e6 / events.max(1) as f64,
        field_count as f64 / events.max(1) as f64
    );
    for (name, (n, examples)) in &bad.0 {
        println!("FAILED {name}: {n}\n    {}", examples.join("\n    "));
    }
    assert!(events >= 24_000, "{events}");
    assert!(bad.0.is_empty(), "{} invariants failed", bad.0.len());
}

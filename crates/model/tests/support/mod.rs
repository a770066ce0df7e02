//! Helpers shared by the model's integration tests: events built from XML text, the ESCU
//! `data_sources/*.yml` example events read from `../shared`, and field maps to compare.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cimhunt_decode::{WinEvent, decode_xml};
use cimhunt_model::tables::Profile;
use cimhunt_model::{Decoded, Meta, Model, Want};
use cimhunt_spl::{Record, Sym, Value};

/// The shared reference material (`../shared`, or `CIMHUNT_SHARED`).
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(
        dir.is_dir(),
        "{} not found: these tests need ../shared (or CIMHUNT_SHARED)",
        dir.display()
    );
    dir
}

/// The default profile's model, compiled once.
pub fn escu() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| Model::escu().expect("the default profile compiles"))
}

/// A model of the default profile with overlays.
pub fn with_overlays(overlays: &[&str]) -> Model {
    Model::new(&Profile::embedded("escu", overlays).expect("profile loads")).expect("compiles")
}

/// Keeps every field.
pub fn want_all() -> Want {
    let mut w = Want::default();
    w.all();
    w
}

/// One value per text, multivalues as several.
pub fn texts(v: &Value<'_>) -> Vec<String> {
    v.texts().map(|t| t.into_owned()).collect()
}

/// An ESCU data source: its metadata, field list and example event.
#[derive(Debug, serde::Deserialize)]
pub struct DataSource {
    pub name: String,
    pub source: String,
    pub sourcetype: String,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub example_log: Option<String>,
}

/// Reads `data_sources/<file>.yml`.
pub fn data_source(file: &str) -> DataSource {
    let path = shared()
        .join("content/security_content/data_sources")
        .join(format!("{file}.yml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every Windows XML data source with an example event, by file stem.
pub fn windows_data_sources() -> Vec<(String, DataSource)> {
    let dir = shared().join("content/security_content/data_sources");
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    paths.sort();
    for p in paths {
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        let ds = data_source(&stem);
        if ds.sourcetype.eq_ignore_ascii_case("xmlwineventlog")
            && ds
                .example_log
                .as_deref()
                .is_some_and(|l| l.trim_start().starts_with("<Event"))
        {
            out.push((stem, ds));
        }
    }
    out
}

/// An event's fields as text, for comparing.
pub type Fields = BTreeMap<String, Vec<String>>;

/// The search-time fields of an XML event (`events --raw`), with the metadata `meta` sets.
pub fn raw_fields(model: &Model, xml: &str, meta: &Meta) -> Fields {
    let win = decode_xml(xml.as_bytes()).expect("the XML decodes");
    fields_of(model, &win, meta, Some(xml))
}

/// The search-time fields of a decoded Windows event.
pub fn fields_of(model: &Model, win: &WinEvent<'_>, meta: &Meta, text: Option<&str>) -> Fields {
    let want = want_all();
    let ev = model.event(Decoded::Windows(win), meta, &want, text);
    ev.all_fields()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_owned(), texts(&v)))
        .collect()
}

/// The dataset view of an XML event (`events --datamodel`), or `None` when it is not in it.
pub fn view_fields(model: &Model, xml: &str, meta: &Meta, dataset: &str) -> Option<Fields> {
    let win = decode_xml(xml.as_bytes()).expect("the XML decodes");
    let want = want_all();
    let ev = model.event(Decoded::Windows(&win), meta, &want, Some(xml));
    let ds = model.dataset(dataset).expect("dataset exists");
    let view = model.view(&ev, ds)?;
    Some(
        view.fields()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_owned(), texts(&v)))
            .collect(),
    )
}

/// One field of an event (final search-time value).
pub fn field(model: &Model, xml: &str, meta: &Meta, name: &str) -> Vec<String> {
    let win = decode_xml(xml.as_bytes()).expect("the XML decodes");
    let want = want_all();
    let ev = model.event(Decoded::Windows(&win), meta, &want, Some(xml));
    texts(&ev.value(Sym::new(name)))
}

/// Metadata with a source and sourcetype, as ESCU replays its data.
pub fn meta(source: &str, sourcetype: &str) -> Meta {
    Meta {
        source: Some(source.into()),
        sourcetype: Some(sourcetype.into()),
        ..Meta::default()
    }
}

/// A Windows event in XML: a `System` block for `provider`/`channel`/`event_id` and the given
/// `EventData` pairs.
pub fn xml_event(provider: &str, channel: &str, event_id: &str, data: &[(&str, &str)]) -> String {
    let mut s = format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='{provider}' Guid='{{5770385F-C22A-43E0-BF4C-06F5698FFBD9}}'/><EventID>{event_id}</EventID><Version>2</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='2020-10-08T11:03:46.617920300Z'/><EventRecordID>4522</EventRecordID><Correlation/><Execution ProcessID='2912' ThreadID='3424'/><Channel>{channel}</Channel><Computer>win-host.example.local</Computer><Security UserID='S-1-5-18'/></System><EventData>"
    );
    for (k, v) in data {
        if v.is_empty() {
            s.push_str(&format!("<Data Name='{k}'/>"));
        } else {
            s.push_str(&format!("<Data Name='{k}'>{v}</Data>"));
        }
    }
    s.push_str("</EventData></Event>");
    s
}

/// A Sysmon event.
pub fn sysmon(event_id: &str, data: &[(&str, &str)]) -> String {
    xml_event(
        "Microsoft-Windows-Sysmon",
        "Microsoft-Windows-Sysmon/Operational",
        event_id,
        data,
    )
}

/// Metadata of a Sysmon event as ESCU replays it.
pub fn sysmon_meta() -> Meta {
    meta(
        "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
        "xmlwineventlog",
    )
}

/// An example event completed where the YAML cut it short: the open `<Data>` element,
/// `EventData` and `Event` are closed. `None` when that does not make it decode (an example
/// with other damage).
pub fn complete(xml: &str) -> Option<String> {
    if decode_xml(xml.as_bytes()).is_ok() {
        return Some(xml.to_owned());
    }
    let open = xml.rfind("<Data").unwrap_or(0);
    let close = xml.rfind("</Data>").map_or(0, |i| i + "</Data>".len());
    let mut s = if open >= close && xml[open..].contains('>') {
        format!("{xml}</Data>")
    } else {
        xml[..close].to_owned()
    };
    s.push_str("</EventData></Event>");
    decode_xml(s.as_bytes()).is_ok().then_some(s)
}

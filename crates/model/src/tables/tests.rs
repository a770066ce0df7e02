//! The embedded tables load, resolve and agree with the directory; profiles load from disk
//! too; overlays change what they say and nothing else.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::embedded::FILES;
use super::*;

fn tables_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tables")
}

fn escu() -> Profile {
    Profile::escu().unwrap()
}

fn assert_no_problems(profile: &Profile) {
    let problems: Vec<String> = profile.check().iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_default_profile_loads_and_every_reference_resolves() {
    let p = escu();
    assert_eq!(p.name(), "escu");
    assert_eq!(
        p.layers(),
        ["windows-8.8.0", "sysmon-4.0.0", "crowdstrike", "cim-5.2.0"]
    );
    assert_no_problems(&p);
}

#[test]
fn every_overlay_loads_and_resolves() {
    let catalogue = Catalogue::embedded().unwrap();
    assert!(!catalogue.overlays().is_empty());
    for overlay in catalogue.overlays() {
        let p = Profile::embedded(DEFAULT_PROFILE, &[&overlay.name]).unwrap();
        assert_no_problems(&p);
        assert!(!overlay.description.is_empty(), "{}", overlay.name);
    }
}

#[test]
fn the_embedded_list_is_the_tables_directory() {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.file_name().unwrap() != "README.md" {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy();
                out.insert(rel.replace('\\', "/"));
            }
        }
    }
    let mut on_disk = BTreeSet::new();
    walk(&tables_dir(), &tables_dir(), &mut on_disk);
    let embedded: BTreeSet<String> = FILES.iter().map(|(p, _)| (*p).to_owned()).collect();
    assert_eq!(embedded, on_disk, "update src/tables/embedded.rs");
}

#[test]
fn every_table_file_opens_with_a_comment_saying_what_it_is() {
    for (path, text) in FILES {
        if path.ends_with(".conf") {
            assert!(text.starts_with("# "), "{path} has no header comment");
        }
        // No machine path may be written into a table.
        for forbidden in ["/tmp/", "/work/", "/home/", "C:\\Users\\"] {
            assert!(!text.contains(forbidden), "{path} contains {forbidden}");
        }
    }
}

#[test]
fn every_lookup_definition_has_its_file_and_every_file_is_used() {
    let p = escu();
    let mut used = BTreeSet::new();
    for t in p.transforms().all() {
        if let Transform::Lookup(def) = t {
            let LookupSource::File {
                filename,
                supplied_at_run_time,
            } = &def.source
            else {
                panic!("{} is not file-based", def.name)
            };
            assert_eq!(
                p.lookup_file(filename).is_none(),
                *supplied_at_run_time,
                "{filename}"
            );
            used.insert(filename.as_str());
        }
    }
    for (file, table) in p.lookup_files() {
        assert!(
            used.contains(file),
            "{file} is not used by any lookup definition"
        );
        assert!(!table.rows().is_empty(), "{file} has no rows");
    }
}

#[test]
fn a_profile_loads_the_same_from_a_directory() {
    let from_dir = Profile::from_dir(&tables_dir(), "escu", &["cim-6-process-name"]).unwrap();
    let embedded = Profile::embedded("escu", &["cim-6-process-name"]).unwrap();
    assert_no_problems(&from_dir);
    assert_eq!(
        from_dir.props().stanzas().len(),
        embedded.props().stanzas().len()
    );
    let names = |p: &Profile| -> Vec<String> {
        p.transforms()
            .all()
            .iter()
            .map(|t| t.name().to_owned())
            .collect()
    };
    assert_eq!(names(&from_dir), names(&embedded));
    let ds = |p: &Profile| {
        p.datamodels()
            .get("Endpoint.Processes")
            .unwrap()
            .calculations()
            .len()
    };
    assert_eq!(ds(&from_dir), 10);
    assert_eq!(ds(&embedded), 10);
    // Origins name the file on disk there, the embedded path here.
    let origin = |p: &Profile| {
        p.props()
            .get("xmlwineventlog")
            .unwrap()
            .origin()
            .file()
            .to_owned()
    };
    assert!(origin(&from_dir).ends_with("props.conf"));
    assert_eq!(origin(&embedded), "tables/windows-8.8.0/props.conf");
}

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("cimhunt-tables-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn an_unpacked_add_on_is_a_layer_and_later_layers_win() {
    let dir = Scratch::new("layers");
    // An add-on as Splunk unpacks it: default/*.conf and lookups/*.csv.
    dir.write(
        "addon/default/props.conf",
        "[st]\nREPORT-a = x\nEVAL-v = \"old\"\nLOOKUP-l = l k OUTPUT v AS w\n",
    );
    dir.write(
        "addon/default/transforms.conf",
        "[x]\nREGEX = (?<f>.)\n[l]\nfilename = l.csv\n",
    );
    dir.write("addon/default/app.conf", "[launcher]\nversion = 1\n");
    dir.write("addon/lookups/l.csv", "k,v\n1,a\n");
    // A plain table directory on top.
    dir.write("local/props.conf", "[st]\nEVAL-v = \"new\"\n");
    dir.write("local/lookups/l.csv", "k,v\n1,b\n2,c\n");
    let p = Profile::from_layers("mine", &[dir.0.join("addon"), dir.0.join("local")]).unwrap();
    let st = p.props().get("st").unwrap();
    assert_eq!(st.evals()[0].expression, "\"new\"");
    assert_eq!(st.reports()[0].transforms, ["x"]);
    assert_eq!(p.lookup_table("l").unwrap().rows().len(), 2);
    assert_no_problems(&p);
    assert!(Profile::from_layers("x", &[dir.0.join("missing")]).is_err());
}

#[test]
fn unresolved_references_are_reported_with_their_place() {
    let dir = Scratch::new("check");
    dir.write(
        "a/props.conf",
        "[st]\nREPORT-a = nope\nLOOKUP-b = l k OUTPUTNEW missing_col\nLOOKUP-c = undefined_lookup k\n",
    );
    dir.write(
        "a/transforms.conf",
        "[l]\nfilename = l.csv\n[m]\nfilename = absent.csv\n",
    );
    dir.write("a/lookups/l.csv", "k,v\n1,a\n");
    dir.write("a/eventtypes.conf", "[e]\nsearch = eventtype=ghost\n");
    dir.write("a/tags.conf", "[eventtype=phantom]\nx = enabled\n");
    dir.write(
        "a/datamodels.conf",
        "[M.D]\nparent = BaseEvent\nconstraint = (`undefined_macro`) tag=x\nfield.01 = a string\n\
         calc.01.type = Eval\ncalc.01.expression = 1\ncalc.01.output.1 = a string\n\
         calc.02.type = Rex\ncalc.02.input = a\ncalc.02.expression = (?<z>.)\ncalc.02.output.1 = y string\n\
         calc.03.type = Lookup\ncalc.03.lookup = m\ncalc.03.input.1 = k\ncalc.03.output.1 = v string\n",
    );
    let p = Profile::from_layers("broken", &[dir.0.join("a")]).unwrap();
    let problems: Vec<String> = p.check().iter().map(ToString::to_string).collect();
    let expect = [
        "props.conf:2: [st] REPORT-a: refers to transform \"nope\"",
        "props.conf:3: [st] LOOKUP-b: lookup file \"l.csv\" has no column \"missing_col\"",
        "props.conf:4: [st] LOOKUP-c: refers to lookup \"undefined_lookup\"",
        "eventtypes.conf:1: [e] search: refers to event type \"ghost\"",
        "tags.conf:1: [eventtype=phantom]: refers to event type \"phantom\"",
        "datamodels.conf:1: [M.D]: field \"a\" is declared twice",
        "datamodels.conf:1: [M.D]: the expression has no named group (?<y>…)",
        "datamodels.conf:1: [M.D]: refers to lookup file \"absent.csv\"",
        "datamodels.conf:1: [M.D]: refers to macro \"undefined_macro\"",
    ];
    assert_eq!(problems.len(), expect.len(), "{problems:#?}");
    for (got, want) in problems.iter().zip(expect) {
        assert!(got.contains(want), "{got}\n  does not contain\n{want}");
    }
}

#[test]
fn unknown_profiles_overlays_and_catalogue_stanzas_are_errors() {
    let e = Profile::embedded("nope", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tables/profiles.conf: no [profile:nope] stanza"
    );
    let e = Profile::embedded("escu", &["nope"]).unwrap_err();
    assert!(matches!(
        e,
        TableError::UnknownProfile {
            kind: "overlay",
            ..
        }
    ));
    let dir = Scratch::new("catalogue");
    dir.write(
        "profiles.conf",
        "[profile:p]\nlayers = missing\n[other]\nlayers = x\n",
    );
    let e = Profile::from_dir(&dir.0, "p", &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("[other]: a catalogue stanza is named"),
        "{e}"
    );
    dir.write("profiles.conf", "[profile:p]\nlayers = missing\n");
    assert!(matches!(
        Profile::from_dir(&dir.0, "p", &[]),
        Err(TableError::Read { .. })
    ));
}

#[test]
fn a_lookup_supplied_at_run_time_is_used_and_checked() {
    let mut p = escu();
    assert!(p.lookup_table("crowdstrike_aidmaster").is_none());
    let inventory =
        LookupTable::parse("aid_master.csv", "cid,aid,ComputerName\nc,abc,WIN-HOST1\n").unwrap();
    p.supply_lookup("crowdstrike_aidmaster", inventory).unwrap();
    assert_eq!(
        p.lookup_table("crowdstrike_aidmaster")
            .unwrap()
            .rows()
            .len(),
        1
    );
    assert_no_problems(&p);
    let wrong = LookupTable::parse("aid_master.csv", "aid,hostname\nabc,WIN-HOST1\n").unwrap();
    p.supply_lookup("crowdstrike_aidmaster", wrong).unwrap();
    let problems: Vec<String> = p.check().iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("no column \"ComputerName\""),
        "{}",
        problems[0]
    );
    let table = LookupTable::parse("x.csv", "a\n1\n").unwrap();
    assert!(p.supply_lookup("ms-sysmon-process", table).is_err());
}

mod fuzz {
    use proptest::prelude::*;

    use super::super::*;
    use crate::conf::Conf;

    const KEYS: &[&str] = &[
        "REPORT-a",
        "TRANSFORMS-b",
        "EXTRACT-x",
        "FIELDALIAS-a",
        "EVAL-x",
        "LOOKUP-l",
        "KV_MODE",
        "TIME_PREFIX",
        "MAX_TIMESTAMP_LOOKAHEAD",
        "rename",
        "REGEX",
        "FORMAT",
        "DEST_KEY",
        "SOURCE_KEY",
        "MV_ADD",
        "CLEAN_KEYS",
        "DELIMS",
        "FIELDS",
        "filename",
        "external_cmd",
        "match_type",
        "min_matches",
        "max_matches",
        "case_sensitive_match",
        "search",
        "disabled",
        "enabled_tag",
        "field.01",
        "field.x",
        "field.1",
        "calc.01.type",
        "calc.01.expression",
        "calc.1.output.1",
        "calc.01.output.x",
        "calc.01.input.1",
        "calc.01.input",
        "calc.01.lookup",
        "calc.01.id",
        "calc.02.type",
        "calc.2.output.1",
        "parent",
        "constraint",
        "base_search",
        "display_name",
        "definition",
        "args",
        "layers",
    ];

    const VALUES: &[&str] = &[
        "",
        "a AS b",
        "a ASNEW b, c AS",
        "t f OUTPUT",
        "t f AS g OUTPUTNEW h AS",
        "$1::$2",
        "a::\"$1\" b::$",
        "nullQueue",
        "WILDCARD(x), CIDR(",
        "Eval",
        "Lookup",
        "Rex",
        "GeoIP",
        "BaseEvent",
        "BaseSearch",
        "x string multivalue column=y",
        "x number",
        "1",
        "yes",
        "-3",
        "enabled",
        "disabled",
        "json",
        "multi:x",
        "%",
        "%zz%C3%28",
    ];

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(VALUES).prop_map(str::to_owned),
            "[ -~]{0,30}",
        ]
    }

    proptest! {
        #[test]
        fn typing_any_settings_never_panics(
            stanzas in prop::collection::vec(
                ("[A-Za-z.=%:_]{1,12}",
                 prop::collection::vec((prop::sample::select(KEYS), value()), 0..10)),
                0..4)
        ) {
            let mut text = String::new();
            for (name, settings) in &stanzas {
                text.push_str(&format!("[{name}]\n"));
                for (k, v) in settings {
                    text.push_str(&format!("{k} = {v}\n"));
                }
            }
            let Ok(conf) = Conf::parse("fuzz.conf", &text) else { return Ok(()) };
            let _ = Props::from_conf(&conf);
            let _ = Transforms::from_conf(&conf);
            let _ = EventTypes::from_conf(&conf);
            let _ = Tags::from_conf(&conf);
            let _ = DataModels::from_conf(&conf);
            let _ = Macros::from_conf(&conf);
            let _ = Catalogue::from_conf("fuzz.conf", &conf);
        }

        #[test]
        fn reading_any_csv_never_panics(text in "[a-z,\"\\n\\r ]{0,80}") {
            if let Ok(table) = LookupTable::parse("fuzz.csv", &text) {
                for row in table.rows() {
                    prop_assert_eq!(row.len(), table.columns().len());
                }
            }
        }
    }
}

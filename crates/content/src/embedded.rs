//! The built-in default: ESCU "Windows MSIExec Remote Download" and the macros it needs,
//! compiled into the binary from files written for cimhunt (`embedded/`).

use std::path::Path;

use cimhunt_spl::{Macro, MacroSet};

use crate::content_set::base_macros;
use crate::detection::Detection;
use crate::load::parse_detection;
use crate::macros::parse_macro_yaml;

/// The default detection's YAML.
pub const DEFAULT_DETECTION_YAML: &str =
    include_str!("../embedded/windows_msiexec_remote_download.yml");

/// The ESCU macros the default detection uses (a YAML sequence).
pub const EMBEDDED_MACROS_YAML: &str = include_str!("../embedded/macros.yml");

/// `Macro::origin` of the embedded macros.
pub const EMBEDDED_ORIGIN: &str = "embedded";

/// `Macro::origin` of a filter macro generated because the content has none.
pub const GENERATED_FILTER_ORIGIN: &str = "generated (contentctl default filter)";

/// The embedded ESCU macros (without the CIM built-ins and filter macros).
pub fn embedded_macros() -> Vec<Macro> {
    // Compile-time constant; the test `embedded_macros_parse` proves it parses, so the empty
    // fallback is unreachable in a tested build.
    parse_macro_yaml(EMBEDDED_MACROS_YAML, Path::new(EMBEDDED_ORIGIN)).unwrap_or_default()
}

/// The filter macro contentctl generates for a detection whose content has none:
/// `<stem>_filter` defined as `search *`, which keeps every row (spec 1.9).
pub fn generated_filter_macro(detection: &Detection) -> Macro {
    Macro {
        name: detection.filter_macro_name(),
        args: Vec::new(),
        definition: "search *".to_owned(),
        origin: GENERATED_FILTER_ORIGIN.to_owned(),
    }
}

/// The built-in default detection and every macro it needs: the CIM built-ins
/// (`drop_dm_object_name`), its generated `windows_msiexec_remote_download_filter` and the
/// embedded ESCU macros — the same set as [`crate::ContentSet::embedded`].
pub fn embedded_default() -> (Detection, MacroSet) {
    let detection = default_detection();
    let macros = base_macros(std::slice::from_ref(&detection));
    (detection, macros)
}

/// The built-in default detection alone.
pub(crate) fn default_detection() -> Detection {
    // Compile-time constant; the test `embedded_default_parses` proves it parses, so the
    // default value is unreachable in a tested build.
    parse_detection(DEFAULT_DETECTION_YAML, Path::new(EMBEDDED_ORIGIN)).unwrap_or_default()
}

//! ESCU content for cimhunt: detections, search macros and the built-in default detection.
//!
//! This crate reads Splunk ESCU detection YAML into a typed [`Detection`], derives what
//! contentctl would configure in Splunk from it (the risk objects of [`Detection::rba`], the
//! [`Detection::annotations`] with ATT&CK tactics and kill-chain phases, the saved-search name
//! and severity), loads macros from ESCU `macros/*.yml` and Splunk `macros.conf` files, and
//! assembles a [`ContentSet`]: the detections to run plus the effective macro set, layered as
//! CIM built-ins ← generated filter macros ← embedded macros ← content directory ← user
//! override files.
//!
//! Key design decision: the model is permissive and the derivations follow contentctl, not the
//! YAML's own summaries. Unknown keys are ignored and optional things are optional, so every
//! ESCU detection (4.x and 5.x format) loads; but derived values are computed the way contentctl
//! computes them (a 4.x risk score is `round(confidence × impact / 100)` even where
//! `tags.risk_score` says otherwise), because that is what Splunk runs. The default detection
//! and the ATT&CK table are files written for this crate and compiled in with `include_str!`,
//! so the binary runs without a content checkout.

mod attack;
mod content_set;
mod de;
mod detection;
mod embedded;
mod error;
mod load;
mod lookups;
mod macros;
mod risk;
mod schedule;
mod tuning;
mod walk;
mod windows;

pub use attack::{Annotations, kill_chain_phase, tactics_for};
pub use content_set::{ContentOptions, ContentSet, builtin_macros};
pub use detection::{
    AttackData, Detection, DetectionTest, DrilldownSearch, Observable, RbaBlock, RbaRiskObject,
    RbaThreatObject, Tags,
};
pub use embedded::{
    DEFAULT_DETECTION_YAML, EMBEDDED_MACROS_YAML, EMBEDDED_ORIGIN, GENERATED_FILTER_ORIGIN,
    embedded_default, embedded_macros, generated_filter_macro,
};
pub use error::{ContentError, NotADetection, RequiredKey};
pub use load::{
    MAX_CONTENT_FILE, find_detection_files, load_detection, load_detections, parse_detection,
};
pub use lookups::{LookupDef, MAX_LOOKUP_BYTES, load_lookups, read_csv};
pub use macros::{
    load_macro_file, load_macro_path, load_macro_yaml, load_macros_conf, load_macros_dir,
    parse_macro_yaml, parse_macros_conf,
};
pub use risk::{RiskConfig, RiskObject, RiskObjectKind, Severity, ThreatObject, v4_risk_score};
pub use schedule::{
    Deployment, ESCU_CRON, ESCU_EARLIEST, ESCU_LATEST, Schedule, ScheduleOrigin, Scheduling,
};
pub use tuning::{FilterMismatch, UnmatchedFilter, filter_mismatch, unmatched_filter_macros};
pub use windows::{WINDOWS_MACROS, is_windows_endpoint, leading_macro};

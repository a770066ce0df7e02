//! Normalizers: map a decoded event to the CIM `Endpoint.Processes` dataset exactly as Splunk's
//! add-ons and the CIM data model would present it to a search.
//!
//! One module per source, each a plain mapping table written from the add-on's configuration
//! (`../shared/spec/SPLUNK_SEMANTICS.md` sections 5.3–5.6): [`sysmon`] for Sysmon Event ID 1,
//! [`security`] for Windows Security 4688, [`crowdstrike`] for CrowdStrike ProcessRollup2. After
//! the mapping, [`cimhunt_cim::DataModel`] applies the data model's calculated fields.
//!
//! Key design decision: we hard-code one mapping per (source, event type) instead of emulating
//! `props.conf`/`transforms.conf` generically (spec 5.7 recommends this). Values are borrowed from
//! the decoded event wherever the add-on takes them verbatim, so normalizing copies no text in the
//! common case. Events of other types are recognised and counted, not mapped.

mod aidmaster;
pub mod crowdstrike;
pub mod security;
pub mod sysmon;

use std::fmt;

use cimhunt_cim::{CimEvent, CimVersion, DataModel, Field, Timestamp};
use cimhunt_decode::{Decoded, FlatEvent, WinEvent};

pub use aidmaster::{AidMaster, AidMasterError};

/// What to do with the `DOMAIN\` prefix of Sysmon's `User` (spec 5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserDomain {
    /// `ATTACKRANGE\Administrator` → `Administrator`, as the Sysmon add-on does (the default).
    #[default]
    Strip,
    /// Keep `ATTACKRANGE\Administrator`.
    Keep,
}

/// Normalizer settings.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Sysmon `user` domain handling.
    pub user_domain: UserDomain,
    /// Which CIM version's calculated fields to apply.
    pub cim_version: CimVersion,
    /// CrowdStrike `aid` → host name inventory.
    pub aidmaster: Option<AidMaster>,
}

/// What a decoded event is, once normalized.
// The event is returned by value on the hot path; boxing it would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Outcome<'a> {
    /// A process-creation event in the `Processes` dataset.
    Process(CimEvent<'a>),
    /// An event of another type, e.g. `Sysmon 3` or `Security 4624`; belongs to other data
    /// models, passed over.
    Other(EventKind),
    /// A process event that cannot be presented (e.g. no readable time).
    Invalid(NormalizeError),
}

/// The source and type of an event that is not a process creation, for counting.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKind(pub String);

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a process event could not be normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizeError(pub String);

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NormalizeError {}

/// Maps decoded events to CIM process events.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    options: Options,
    datamodel: DataModel,
}

impl Normalizer {
    /// A normalizer with these options.
    pub fn new(options: Options) -> Self {
        let datamodel = DataModel::new(options.cim_version);
        Normalizer { options, datamodel }
    }

    /// Normalizes one decoded event: the add-on mapping, then the data model's calculations.
    pub fn normalize<'a>(&'a self, decoded: &'a Decoded<'_>) -> Outcome<'a> {
        let mapped = match decoded {
            Decoded::Windows(win) => self.windows(win),
            Decoded::Flat(flat) => self.flat(flat),
            // `Decoded` is `#[non_exhaustive]`: a record kind this crate does not know yet.
            _ => Outcome::Other(EventKind("record of an unknown kind".to_owned())),
        };
        match mapped {
            Outcome::Process(mut event) => {
                self.datamodel.apply(&mut event);
                Outcome::Process(event)
            }
            other => other,
        }
    }

    fn windows<'a>(&self, win: &'a WinEvent<'_>) -> Outcome<'a> {
        match (
            sysmon::is_process_creation(win),
            security::is_process_creation(win),
        ) {
            (true, _) => sysmon::map(win, self.options.user_domain),
            (_, true) => security::map(win),
            _ => Outcome::Other(windows_kind(win)),
        }
    }

    fn flat<'a>(&'a self, flat: &'a FlatEvent<'_>) -> Outcome<'a> {
        if crowdstrike::is_process_creation(flat) {
            crowdstrike::map(flat, self.options.aidmaster.as_ref())
        } else {
            let kind = match flat.get("event_simpleName") {
                Some(name) => format!("CrowdStrike {name}"),
                None => "JSON (unrecognised)".to_owned(),
            };
            Outcome::Other(EventKind(kind))
        }
    }
}

/// `Sysmon 3`, `Security 4624`, or the provider and id for anything else.
fn windows_kind(win: &WinEvent<'_>) -> EventKind {
    let id = win.event_id().unwrap_or("?");
    let provider = win.provider().unwrap_or("unknown provider");
    let source = match provider {
        "Microsoft-Windows-Sysmon" => "Sysmon",
        "Microsoft-Windows-Security-Auditing" => "Security",
        other => other,
    };
    EventKind(format!("{source} {id}"))
}

/// A value as the add-ons extract it: Splunk creates no field for an empty value.
fn nonempty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// The part after the last backslash, as the add-ons derive `process_name` from a path.
fn basename(path: &str) -> &str {
    path.rsplit('\\').next().unwrap_or(path)
}

/// The fields both Windows add-ons take from the `System` element: `_time` from
/// `TimeCreated/@SystemTime`, `dest` and `host` from `Computer`.
fn windows_base<'a>(win: &'a WinEvent<'_>) -> Result<CimEvent<'a>, NormalizeError> {
    let mut e = CimEvent::new();
    e.time = Some(windows_time(win)?);
    e.set_opt(Field::Dest, nonempty(win.computer()));
    e.set_opt(Field::Host, nonempty(win.computer()));
    Ok(e)
}

/// `_time` from a Windows event's `TimeCreated/@SystemTime`.
fn windows_time(win: &WinEvent<'_>) -> Result<Timestamp, NormalizeError> {
    let text = win
        .system_time()
        .ok_or_else(|| NormalizeError("no TimeCreated/@SystemTime".to_owned()))?;
    Timestamp::parse_rfc3339(text.trim())
        .map_err(|_| NormalizeError(format!("unreadable TimeCreated/@SystemTime {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basename_takes_the_last_path_component_and_keeps_case() {
        assert_eq!(basename(r"C:\Windows\SysWOW64\MsiExec.exe"), "MsiExec.exe");
        assert_eq!(basename("msiexec.exe"), "msiexec.exe");
        assert_eq!(basename(r"C:\dir\"), "");
    }
}

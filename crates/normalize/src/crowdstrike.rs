//! CrowdStrike FDR `ProcessRollup2` / `SyntheticProcessRollup2`
//! (sourcetype `crowdstrike:events:sensor`), spec 5.6.

use std::borrow::Cow;

use cimhunt_cim::{CimEvent, Field, Timestamp};
use cimhunt_decode::FlatEvent;

use crate::{AidMaster, NormalizeError, Outcome, basename, nonempty};

/// Whether the event is a process creation.
pub fn is_process_creation(flat: &FlatEvent<'_>) -> bool {
    matches!(
        flat.get("event_simpleName"),
        Some("ProcessRollup2" | "SyntheticProcessRollup2")
    )
}

/// The FDR add-on's mapping of a process event to `Processes` fields.
pub fn map<'a>(flat: &'a FlatEvent<'_>, aidmaster: Option<&'a AidMaster>) -> Outcome<'a> {
    let get = |name| nonempty(flat.get(name));
    let time = match get("timestamp").map(parse_millis) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return Outcome::Invalid(e),
        None => return Outcome::Invalid(NormalizeError("no timestamp".to_owned())),
    };
    let mut e = CimEvent::new();
    e.time = Some(time);
    let aid = get("aid");
    let dest = get("ComputerName")
        .or_else(|| aid.and_then(|aid| aidmaster.and_then(|m| m.computer_name(aid))))
        .or(aid);
    e.set_opt(Field::Dest, dest);
    e.set_opt(Field::User, get("UserName").or_else(|| get("UserSid")));
    e.set_opt(Field::UserId, get("UserSid"));
    e.set_opt(Field::Process, get("CommandLine"));
    if let Some(image) = get("ImageFileName") {
        e.set(Field::ProcessPath, image);
        e.set(Field::ProcessName, basename(image));
        e.set(Field::ProcessExec, basename(image));
    }
    if let Some(parent) = get("ParentBaseFileName") {
        e.set(Field::ParentProcessName, parent);
        e.set(Field::ParentProcessExec, parent);
    }
    e.set_opt(Field::ProcessId, get("RawProcessId"));
    e.set_opt(Field::ParentProcessId, get("ParentProcessId"));
    e.set_opt(Field::ProcessHash, get("SHA256HashData"));
    e.set_opt(
        Field::ProcessIntegrityLevel,
        get("IntegrityLevel").map(integrity_level),
    );
    e.set(Field::VendorProduct, "CrowdStrike Falcon");
    e.set(Field::Action, "allowed");
    e.push(Field::Tag, "process");
    e.push(Field::Tag, "report");
    e.set(Field::Source, "crowdstrike");
    e.set(Field::Sourcetype, "crowdstrike:events:sensor");
    Outcome::Process(e)
}

/// `timestamp`: epoch milliseconds as text.
fn parse_millis(text: &str) -> Result<Timestamp, NormalizeError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|ms| ms.checked_mul(1_000_000).is_some())
        .map(Timestamp::from_millis)
        .ok_or_else(|| {
            NormalizeError(format!(
                "unreadable timestamp {text:?} (epoch milliseconds)"
            ))
        })
}

/// The numeric `IntegrityLevel` (a Windows mandatory-label RID) as its meaning; unknown values
/// stay numeric. The add-on resolves it through a lookup whose exact table was not read (spec
/// 5.6 marks this unverified); these are the RIDs Windows defines.
fn integrity_level(value: &str) -> Cow<'_, str> {
    let meaning = match value.trim() {
        "0" => "untrusted",
        "4096" => "low",
        "8192" => "medium",
        "8448" => "medium high",
        "12288" => "high",
        "16384" => "system",
        "20480" => "protected process",
        _ => return Cow::Borrowed(value),
    };
    Cow::Borrowed(meaning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_millis_become_time() {
        let t = parse_millis("1713805173418").unwrap();
        assert_eq!(t.to_string(), "2024-04-22T16:59:33.418Z");
        assert!(parse_millis("17138x").is_err());
        assert!(parse_millis("99999999999999999").is_err());
    }

    #[test]
    fn integrity_rids_have_meanings() {
        assert_eq!(integrity_level("12288"), "high");
        assert_eq!(integrity_level("77"), "77");
    }
}

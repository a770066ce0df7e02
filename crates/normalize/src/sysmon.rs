//! Sysmon Event ID 1 (`XmlWinEventLog:Microsoft-Windows-Sysmon/Operational`), spec 5.3.

use cimhunt_cim::Field;
use cimhunt_decode::WinEvent;

use crate::{Outcome, UserDomain, basename, nonempty, windows_base};

const PROVIDER: &str = "Microsoft-Windows-Sysmon";
const CHANNEL: &str = "Microsoft-Windows-Sysmon/Operational";
const SOURCE: &str = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational";

/// Whether the event is a Sysmon process creation (Event ID 1).
pub fn is_process_creation(win: &WinEvent<'_>) -> bool {
    let sysmon = win.provider() == Some(PROVIDER) || win.channel() == Some(CHANNEL);
    sysmon && win.event_id_number() == Some(1)
}

/// The `EventData` values the mapping reads, found in one pass (first value of each name, empty
/// values left out as the add-ons' extractions leave them out).
#[derive(Default)]
struct Data<'a> {
    user: Option<&'a str>,
    command_line: Option<&'a str>,
    image: Option<&'a str>,
    parent_command_line: Option<&'a str>,
    parent_image: Option<&'a str>,
    process_id: Option<&'a str>,
    parent_process_id: Option<&'a str>,
    process_guid: Option<&'a str>,
    parent_process_guid: Option<&'a str>,
    hashes: Option<&'a str>,
    integrity_level: Option<&'a str>,
    current_directory: Option<&'a str>,
    original_file_name: Option<&'a str>,
}

impl<'a> Data<'a> {
    fn read(win: &'a WinEvent<'_>) -> Self {
        let mut d = Data::default();
        for (name, value) in &win.data {
            let slot = match name.as_ref() {
                "User" => &mut d.user,
                "CommandLine" => &mut d.command_line,
                "Image" => &mut d.image,
                "ParentCommandLine" => &mut d.parent_command_line,
                "ParentImage" => &mut d.parent_image,
                "ProcessId" => &mut d.process_id,
                "ParentProcessId" => &mut d.parent_process_id,
                "ProcessGuid" => &mut d.process_guid,
                "ParentProcessGuid" => &mut d.parent_process_guid,
                "Hashes" => &mut d.hashes,
                "IntegrityLevel" => &mut d.integrity_level,
                "CurrentDirectory" => &mut d.current_directory,
                "OriginalFileName" => &mut d.original_file_name,
                _ => continue,
            };
            if slot.is_none() {
                // The first element of a name decides, even when it is empty.
                *slot = Some(value.as_ref());
            }
        }
        d
    }
}

/// The Sysmon add-on's mapping of Event ID 1 to `Processes` fields.
pub fn map<'a>(win: &'a WinEvent<'_>, user_domain: UserDomain) -> Outcome<'a> {
    let mut e = match windows_base(win) {
        Ok(e) => e,
        Err(e) => return Outcome::Invalid(e),
    };
    let d = Data::read(win);
    e.set_opt(
        Field::User,
        nonempty(d.user).map(|u| user_name(u, user_domain)),
    );
    e.set_opt(Field::Process, nonempty(d.command_line));
    if let Some(image) = nonempty(d.image) {
        e.set(Field::ProcessPath, image);
        e.set(Field::ProcessName, basename(image));
        e.set(Field::ProcessExec, basename(image));
    }
    e.set_opt(Field::ParentProcess, nonempty(d.parent_command_line));
    if let Some(parent) = nonempty(d.parent_image) {
        e.set(Field::ParentProcessPath, parent);
        e.set(Field::ParentProcessName, basename(parent));
        e.set(Field::ParentProcessExec, basename(parent));
    }
    e.set_opt(Field::ProcessId, nonempty(d.process_id));
    e.set_opt(Field::ParentProcessId, nonempty(d.parent_process_id));
    e.set_opt(Field::ProcessGuid, nonempty(d.process_guid));
    e.set_opt(Field::ParentProcessGuid, nonempty(d.parent_process_guid));
    e.set_opt(Field::ProcessHash, nonempty(d.hashes));
    e.set_opt(Field::ProcessIntegrityLevel, nonempty(d.integrity_level));
    e.set_opt(
        Field::ProcessCurrentDirectory,
        nonempty(d.current_directory),
    );
    e.set_opt(Field::OriginalFileName, nonempty(d.original_file_name));
    e.set_opt(Field::UserId, nonempty(win.user_id()));
    e.set(Field::VendorProduct, "Microsoft Sysmon");
    e.set(Field::Action, "allowed");
    e.push(Field::Tag, "process");
    e.push(Field::Tag, "report");
    e.set(Field::Source, SOURCE);
    e.set(Field::Sourcetype, "xmlwineventlog");
    Outcome::Process(e)
}

/// `User` with its leading `DOMAIN\` removed (or kept).
fn user_name(user: &str, domain: UserDomain) -> &str {
    match domain {
        UserDomain::Keep => user,
        UserDomain::Strip => user.split_once('\\').map_or(user, |(_, name)| name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_stripped_or_kept() {
        assert_eq!(
            user_name(r"ATTACKRANGE\Administrator", UserDomain::Strip),
            "Administrator"
        );
        assert_eq!(
            user_name(r"NT AUTHORITY\SYSTEM", UserDomain::Strip),
            "SYSTEM"
        );
        assert_eq!(user_name("alice", UserDomain::Strip), "alice");
        assert_eq!(user_name(r"CORP\bob", UserDomain::Keep), r"CORP\bob");
    }
}

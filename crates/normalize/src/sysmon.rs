//! Sysmon Event ID 1 (`XmlWinEventLog:Microsoft-Windows-Sysmon/Operational`), spec 5.3.

use std::borrow::Cow;

use cimhunt_cim::{CimEvent, Field};
use cimhunt_decode::WinEvent;

use crate::{Outcome, UserDomain, basename, nonempty, windows_time};

const PROVIDER: &str = "Microsoft-Windows-Sysmon";
const CHANNEL: &str = "Microsoft-Windows-Sysmon/Operational";

/// Whether the event is a Sysmon process creation (Event ID 1).
pub fn is_process_creation(win: &WinEvent<'_>) -> bool {
    let sysmon =
        win.provider.as_deref() == Some(PROVIDER) || win.channel.as_deref() == Some(CHANNEL);
    sysmon && win.event_id_number() == Some(1)
}

/// The Sysmon add-on's mapping of Event ID 1 to `Processes` fields.
pub fn map<'a>(win: &'a WinEvent<'_>, user_domain: UserDomain) -> Outcome<'a> {
    let time = match windows_time(win) {
        Ok(t) => t,
        Err(e) => return Outcome::Invalid(e),
    };
    let data = |name| nonempty(win.data(name));
    let mut e = CimEvent::new();
    e.time = Some(time);
    e.set_opt(Field::Dest, nonempty(win.computer.as_deref()));
    e.set_opt(Field::Host, nonempty(win.computer.as_deref()));
    e.set_opt(Field::User, data("User").map(|u| user_name(u, user_domain)));
    e.set_opt(Field::Process, data("CommandLine"));
    if let Some(image) = data("Image") {
        e.set(Field::ProcessPath, image);
        e.set(Field::ProcessName, basename(image));
        e.set(Field::ProcessExec, basename(image));
    }
    e.set_opt(Field::ParentProcess, data("ParentCommandLine"));
    if let Some(parent) = data("ParentImage") {
        e.set(Field::ParentProcessPath, parent);
        e.set(Field::ParentProcessName, basename(parent));
        e.set(Field::ParentProcessExec, basename(parent));
    }
    e.set_opt(Field::ProcessId, data("ProcessId"));
    e.set_opt(Field::ParentProcessId, data("ParentProcessId"));
    e.set_opt(Field::ProcessGuid, data("ProcessGuid"));
    e.set_opt(Field::ParentProcessGuid, data("ParentProcessGuid"));
    e.set_opt(Field::ProcessHash, data("Hashes"));
    e.set_opt(Field::ProcessIntegrityLevel, data("IntegrityLevel"));
    e.set_opt(Field::ProcessCurrentDirectory, data("CurrentDirectory"));
    e.set_opt(Field::OriginalFileName, data("OriginalFileName"));
    e.set_opt(Field::UserId, nonempty(win.user_id.as_deref()));
    e.set(Field::VendorProduct, "Microsoft Sysmon");
    e.set(Field::Action, "allowed");
    e.push(Field::Tag, "process");
    e.push(Field::Tag, "report");
    e.set(
        Field::Source,
        Cow::Owned(format!("XmlWinEventLog:{CHANNEL}")),
    );
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

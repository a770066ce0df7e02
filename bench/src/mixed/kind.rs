//! The event types of the mixed corpus, the channels they come from, and how often a fleet
//! writes each.
//!
//! The proportions are a judgement, not a measurement of one fleet. What they rest on:
//! - With an untuned Sysmon configuration, process access (EID 10) is over 95% of all Sysmon
//!   events (a published 5-hour sample of Sysmon 6: 1,605,725 of 1,669,855 events were EID 10,
//!   50,561 EID 12; rawsec.lu, "Sysmon events table", 2017). Every deployed configuration
//!   (SwiftOnSecurity's, sysmon-modular) therefore filters 10 and 7 hard, and what remains is
//!   dominated by network connections (3), registry writes (12/13), file creation (11), DNS
//!   (22) and image loads (7) of chosen DLLs; process creation (1) and termination (5) are a
//!   few percent each.
//! - In the Security log of a fleet, logons (4624) and, on file servers, share access (5145) are
//!   the bulk; Kerberos service tickets (4769) outnumber TGT requests (4768) several times on
//!   domain controllers; directory-service access (4662) is frequent on DCs where it is
//!   audited; object access (4663) depends on SACLs; failed logons (4625) are a small share
//!   outside an attack; directory changes (5136) and service installs (7045) are rare.
//! - PowerShell script block logging (4104) writes few events but large ones (module bodies
//!   and scripts of several KB, split over several events past about 20,000 characters), so it
//!   is about 1% of the events and a larger share of the bytes.
//!
//! Domain-controller events (4662, 4768, 4769, 5136) come only from the fleet's DCs and share
//! access (5145) mostly from file servers and DCs; the rest come from every host, mostly
//! workstations.

/// One event type of the mixed corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Sysmon1,
    Sysmon3,
    Sysmon5,
    Sysmon7,
    Sysmon10,
    Sysmon11,
    Sysmon12,
    Sysmon13,
    Sysmon22,
    Security4624,
    Security4625,
    Security4662,
    Security4663,
    Security4688,
    Security4768,
    Security4769,
    Security5136,
    Security5145,
    System7045,
    PowerShell4104,
}

/// Which hosts write an event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Every host; most events therefore come from workstations.
    AnyHost,
    /// Domain controllers only.
    DomainControllers,
    /// File servers (most) and domain controllers (SYSVOL, NETLOGON, IPC$).
    FileServers,
}

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const POWERSHELL: &str = "Microsoft-Windows-PowerShell/Operational";

impl Kind {
    /// Every kind, in the order manifests list them.
    pub const ALL: [Kind; 20] = [
        Kind::Sysmon1,
        Kind::Sysmon3,
        Kind::Sysmon5,
        Kind::Sysmon7,
        Kind::Sysmon10,
        Kind::Sysmon11,
        Kind::Sysmon12,
        Kind::Sysmon13,
        Kind::Sysmon22,
        Kind::Security4624,
        Kind::Security4625,
        Kind::Security4662,
        Kind::Security4663,
        Kind::Security4688,
        Kind::Security4768,
        Kind::Security4769,
        Kind::Security5136,
        Kind::Security5145,
        Kind::System7045,
        Kind::PowerShell4104,
    ];

    /// The event log channel.
    pub fn channel(self) -> &'static str {
        use Kind::*;
        match self {
            Sysmon1 | Sysmon3 | Sysmon5 | Sysmon7 | Sysmon10 | Sysmon11 | Sysmon12 | Sysmon13
            | Sysmon22 => SYSMON,
            Security4624 | Security4625 | Security4662 | Security4663 | Security4688
            | Security4768 | Security4769 | Security5136 | Security5145 => "Security",
            System7045 => "System",
            PowerShell4104 => POWERSHELL,
        }
    }

    /// The event id.
    pub fn event_id(self) -> u32 {
        use Kind::*;
        match self {
            Sysmon1 => 1,
            Sysmon3 => 3,
            Sysmon5 => 5,
            Sysmon7 => 7,
            Sysmon10 => 10,
            Sysmon11 => 11,
            Sysmon12 => 12,
            Sysmon13 => 13,
            Sysmon22 => 22,
            Security4624 => 4624,
            Security4625 => 4625,
            Security4662 => 4662,
            Security4663 => 4663,
            Security4688 => 4688,
            Security4768 => 4768,
            Security4769 => 4769,
            Security5136 => 5136,
            Security5145 => 5145,
            System7045 => 7045,
            PowerShell4104 => 4104,
        }
    }

    /// A short name for manifests and reports: `sysmon:1`, `security:4624`, `system:7045`,
    /// `powershell:4104`.
    pub fn label(self) -> &'static str {
        use Kind::*;
        match self {
            Sysmon1 => "sysmon:1",
            Sysmon3 => "sysmon:3",
            Sysmon5 => "sysmon:5",
            Sysmon7 => "sysmon:7",
            Sysmon10 => "sysmon:10",
            Sysmon11 => "sysmon:11",
            Sysmon12 => "sysmon:12",
            Sysmon13 => "sysmon:13",
            Sysmon22 => "sysmon:22",
            Security4624 => "security:4624",
            Security4625 => "security:4625",
            Security4662 => "security:4662",
            Security4663 => "security:4663",
            Security4688 => "security:4688",
            Security4768 => "security:4768",
            Security4769 => "security:4769",
            Security5136 => "security:5136",
            Security5145 => "security:5145",
            System7045 => "system:7045",
            PowerShell4104 => "powershell:4104",
        }
    }

    /// The kind a label names.
    pub fn from_label(label: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.label() == label)
    }

    /// The kind of an event from its channel and event id, if it is one of ours.
    pub fn of(channel: &str, event_id: u32) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.event_id() == event_id && k.channel().eq_ignore_ascii_case(channel))
    }

    /// How many of every 10,000 events are of this kind (see the module documentation).
    pub fn weight(self) -> u64 {
        use Kind::*;
        match self {
            Sysmon1 => 500,
            Sysmon3 => 1400,
            Sysmon5 => 450,
            Sysmon7 => 900,
            Sysmon10 => 400,
            Sysmon11 => 1000,
            Sysmon12 => 500,
            Sysmon13 => 1300,
            Sysmon22 => 700,
            Security4624 => 700,
            Security4625 => 60,
            Security4662 => 300,
            Security4663 => 250,
            Security4688 => 450,
            Security4768 => 120,
            Security4769 => 350,
            Security5136 => 15,
            Security5145 => 500,
            System7045 => 5,
            PowerShell4104 => 100,
        }
    }

    /// Which hosts write it.
    pub fn origin(self) -> Origin {
        use Kind::*;
        match self {
            Security4662 | Security4768 | Security4769 | Security5136 => Origin::DomainControllers,
            Security5145 => Origin::FileServers,
            _ => Origin::AnyHost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_per_ten_thousand() {
        let total: u64 = Kind::ALL.iter().map(|k| k.weight()).sum();
        assert_eq!(total, 10_000);
    }

    #[test]
    fn labels_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_label(k.label()), Some(k));
            assert_eq!(Kind::of(k.channel(), k.event_id()), Some(k));
        }
    }
}

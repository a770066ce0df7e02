//! The fleet the mixed corpus comes from: hosts with roles, addresses and per-host state
//! (record numbers per channel, well-known process ids), and the domain's users.
//!
//! Key decision: everything that identifies an occurrence is drawn per host and per event
//! (record ids increase per host and channel, process ids and GUIDs are new for every process),
//! so that a search grouping by host, user, process id or command line sees a real fleet's
//! cardinality rather than a few repeated values.

use std::fmt::Write;

use super::kind::{Kind, Origin};
use super::rng::Rng;

/// The domain's NetBIOS name.
pub const DOMAIN: &str = "CORP";
/// The domain's DNS name.
pub const DNS_DOMAIN: &str = "corp.example";
/// The domain's SID prefix.
pub const DOMAIN_SID: &str = "S-1-5-21-1004336348-1177238915-682003330";

/// What a host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Workstation,
    Server,
    FileServer,
    DomainController,
}

/// One host.
#[derive(Debug, Clone)]
pub struct Host {
    /// Lower-case FQDN, as `Computer` shows it: `ws-fin-0412.corp.example`.
    pub fqdn: String,
    /// Upper-case NetBIOS name: `WS-FIN-0412`.
    pub netbios: String,
    pub role: Role,
    pub ip: [u8; 4],
    /// The user who mostly works on it (an index into [`Fleet::users`]).
    pub owner: usize,
    /// The first eight hex digits of the host's Sysmon process GUIDs.
    pub guid_prefix: u32,
    pub lsass_pid: u32,
    pub services_pid: u32,
    pub sysmon_pid: u32,
    pub explorer_pid: u32,
    /// Next record id per channel: Sysmon, Security, System, PowerShell.
    records: [u64; 4],
}

impl Host {
    /// `10.1.2.3`.
    pub fn ip_text(&self) -> String {
        let [a, b, c, d] = self.ip;
        format!("{a}.{b}.{c}.{d}")
    }

    /// The next record id of the channel `kind` is written to.
    pub fn next_record(&mut self, kind: Kind) -> u64 {
        let channel = match kind.channel() {
            "Security" => 1,
            "System" => 2,
            "Microsoft-Windows-PowerShell/Operational" => 3,
            _ => 0,
        };
        let id = self.records[channel];
        self.records[channel] += 1;
        id
    }
}

/// A domain user.
#[derive(Debug, Clone)]
pub struct User {
    /// sAMAccountName: `anguyen`.
    pub sam: String,
    /// `S-1-5-21-…-1104`.
    pub sid: String,
}

/// Hosts and users.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub hosts: Vec<Host>,
    pub users: Vec<User>,
    workstations: Vec<usize>,
    servers: Vec<usize>,
    file_servers: Vec<usize>,
    dcs: Vec<usize>,
}

const DEPARTMENTS: &[&str] = &[
    "fin", "hr", "eng", "ops", "mkt", "sales", "legal", "it", "rnd", "sup", "exec", "fac",
];
const SERVER_KINDS: &[&str] = &[
    "app", "sql", "web", "ci", "rds", "print", "ca", "mgmt", "sccm", "splunk", "backup", "exch",
];
const FIRST: &[&str] = &[
    "adam", "alice", "amir", "ana", "ben", "bianca", "carlos", "chen", "chloe", "daniel", "diana",
    "elena", "emma", "farid", "fatima", "george", "grace", "hana", "hugo", "ines", "ivan", "jack",
    "jana", "jon", "julia", "karim", "kate", "leo", "lina", "luca", "maria", "marta", "max", "mei",
    "nadia", "nina", "noah", "olga", "omar", "paul", "priya", "rafael", "rosa", "sam", "sara",
    "sofia", "tariq", "theo", "tom", "uma", "victor", "wei", "yara", "yusuf", "zoe",
];
const LAST: &[&str] = &[
    "adams", "ali", "baker", "bauer", "brown", "chen", "costa", "davis", "diaz", "dubois", "evans",
    "fischer", "garcia", "gomez", "gupta", "hansen", "hill", "ito", "jensen", "khan", "kim",
    "kowalski", "lee", "lopez", "martin", "meyer", "miller", "moreau", "muller", "nagy", "nguyen",
    "novak", "olsen", "park", "patel", "perez", "petrov", "quinn", "reyes", "rossi", "santos",
    "sato", "schmidt", "silva", "singh", "smith", "suzuki", "tanaka", "taylor", "wagner", "walker",
    "wang", "weber", "white", "wilson", "wong", "young", "zhang",
];

impl Fleet {
    /// The fewest and most hosts a fleet has (the most keeps user names and addresses
    /// distinct).
    pub const HOSTS: std::ops::RangeInclusive<usize> = 20..=50_000;

    /// A fleet of `hosts` hosts (clamped to [`Self::HOSTS`]) and 1.2 users per host.
    pub fn new(rng: &mut Rng, hosts: usize) -> Fleet {
        let hosts = hosts.clamp(*Self::HOSTS.start(), *Self::HOSTS.end());
        let n_users = hosts + hosts / 5;
        let mut users = Vec::with_capacity(n_users);
        let mut seen = std::collections::HashSet::new();
        let mut rid = 1100 + rng.below(400);
        while users.len() < n_users {
            let first = rng.pick(FIRST);
            let last = rng.pick(LAST);
            let mut sam = format!("{}{last}", &first[..1]);
            if !seen.insert(sam.clone()) {
                sam = format!("{first}.{last}");
                if !seen.insert(sam.clone()) {
                    sam = format!("{}{last}{}", &first[..1], 2 + rng.below(98));
                    if !seen.insert(sam.clone()) {
                        continue;
                    }
                }
            }
            rid += 1 + rng.below(7);
            users.push(User {
                sam,
                sid: format!("{DOMAIN_SID}-{rid}"),
            });
        }
        let dcs = (hosts / 250).max(2);
        let file_servers = (hosts / 160).max(2);
        let servers = (hosts / 11).max(4);
        let mut fleet = Fleet {
            hosts: Vec::with_capacity(hosts),
            users,
            workstations: Vec::new(),
            servers: Vec::new(),
            file_servers: Vec::new(),
            dcs: Vec::new(),
        };
        for i in 0..hosts {
            let (role, name, ip) = if i < dcs {
                (
                    Role::DomainController,
                    format!("dc-{:02}", i + 1),
                    [10, 0, (i / 200) as u8, 10 + (i % 200) as u8],
                )
            } else if i < dcs + file_servers {
                let k = i - dcs;
                (
                    Role::FileServer,
                    format!("fs-{:02}", k + 1),
                    [10, 0, 10 + (k / 200) as u8, 10 + (k % 200) as u8],
                )
            } else if i < dcs + file_servers + servers {
                let k = i - dcs - file_servers;
                (
                    Role::Server,
                    format!(
                        "srv-{}-{:02}",
                        SERVER_KINDS[k % SERVER_KINDS.len()],
                        k / SERVER_KINDS.len() + 1
                    ),
                    [10, 1, (k / 200) as u8, 10 + (k % 200) as u8],
                )
            } else {
                let k = i - dcs - file_servers - servers;
                let dept = k % DEPARTMENTS.len();
                (
                    Role::Workstation,
                    format!("ws-{}-{:04}", DEPARTMENTS[dept], 100 + k),
                    [10, 20 + dept as u8, (k / 250) as u8, 5 + (k % 250) as u8],
                )
            };
            let owner = rng.below(fleet.users.len() as u64) as usize;
            let base = 1_000_000 + rng.below(40_000_000);
            let host = Host {
                fqdn: format!("{name}.{DNS_DOMAIN}"),
                netbios: name.to_ascii_uppercase(),
                role,
                ip,
                owner,
                guid_prefix: rng.next() as u32,
                lsass_pid: 600 + 4 * rng.below(100) as u32,
                services_pid: 560 + 4 * rng.below(20) as u32,
                sysmon_pid: 2_000 + 4 * rng.below(500) as u32,
                explorer_pid: 4_000 + 4 * rng.below(2_000) as u32,
                records: [base, base * 3, base / 10, base / 50 + 1],
            };
            let list = match role {
                Role::Workstation => &mut fleet.workstations,
                Role::Server => &mut fleet.servers,
                Role::FileServer => &mut fleet.file_servers,
                Role::DomainController => &mut fleet.dcs,
            };
            list.push(i);
            fleet.hosts.push(host);
        }
        fleet
    }

    /// A host that writes events of `kind`: for events every host writes, nine in ten come
    /// from workstations.
    pub fn host_for(&self, kind: Kind, rng: &mut Rng) -> usize {
        match kind.origin() {
            Origin::DomainControllers => rng.one(&self.dcs),
            Origin::FileServers => {
                if rng.chance(800) {
                    rng.one(&self.file_servers)
                } else {
                    rng.one(&self.dcs)
                }
            }
            Origin::AnyHost => {
                if rng.chance(900) {
                    rng.one(&self.workstations)
                } else if rng.chance(900) {
                    rng.one(&self.servers)
                } else if rng.chance(500) {
                    rng.one(&self.file_servers)
                } else {
                    rng.one(&self.dcs)
                }
            }
        }
    }

    /// Some domain controller.
    pub fn dc(&self, rng: &mut Rng) -> &Host {
        &self.hosts[rng.one(&self.dcs)]
    }

    /// Some file server.
    pub fn file_server(&self, rng: &mut Rng) -> &Host {
        &self.hosts[rng.one(&self.file_servers)]
    }

    /// Some workstation.
    pub fn workstation(&self, rng: &mut Rng) -> &Host {
        &self.hosts[rng.one(&self.workstations)]
    }

    /// The user acting on a host: mostly its owner, sometimes another (shared machines,
    /// servers with several administrators).
    pub fn user_on(&self, host: usize, rng: &mut Rng) -> usize {
        let h = &self.hosts[host];
        if h.role == Role::Workstation && rng.chance(850) {
            h.owner
        } else {
            rng.below(self.users.len() as u64) as usize
        }
    }
}

/// A Sysmon process GUID: the host's prefix, the process start time's seconds as Sysmon lays
/// them out, and a per-process counter: `{6B3C1A20-ABAC-5F8E-3900-000000000C00}`.
pub fn sysmon_guid(out: &mut String, prefix: u32, start_secs: i64, counter: u64) {
    let secs = start_secs as u32;
    let _ = write!(
        out,
        "{{{prefix:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
        secs & 0xFFFF,
        secs >> 16,
        (counter & 0xFFFF) as u16,
        (counter >> 16) & 0xFFFF_FFFF_FFFF
    );
}

/// A random GUID, upper case in braces.
pub fn guid(out: &mut String, rng: &mut Rng) {
    let a = rng.next();
    let b = rng.next();
    let _ = write!(
        out,
        "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_has_every_role_and_distinct_names() {
        let fleet = Fleet::new(&mut Rng::new(7), 2_000);
        assert_eq!(fleet.hosts.len(), 2_000);
        let names: std::collections::HashSet<_> = fleet.hosts.iter().map(|h| &h.fqdn).collect();
        assert_eq!(names.len(), 2_000);
        let users: std::collections::HashSet<_> = fleet.users.iter().map(|u| &u.sam).collect();
        assert_eq!(users.len(), fleet.users.len());
        for role in [
            Role::Workstation,
            Role::Server,
            Role::FileServer,
            Role::DomainController,
        ] {
            assert!(fleet.hosts.iter().any(|h| h.role == role), "{role:?}");
        }
    }

    #[test]
    fn the_largest_fleet_has_distinct_users_and_addresses() {
        let fleet = Fleet::new(&mut Rng::new(9), usize::MAX);
        assert_eq!(fleet.hosts.len(), *Fleet::HOSTS.end());
        let ips: std::collections::HashSet<_> = fleet.hosts.iter().map(|h| h.ip).collect();
        assert_eq!(ips.len(), fleet.hosts.len());
        assert_eq!(fleet.users.len(), fleet.hosts.len() * 6 / 5);
    }

    #[test]
    fn record_ids_increase_per_channel() {
        let mut fleet = Fleet::new(&mut Rng::new(7), 20);
        let h = &mut fleet.hosts[0];
        let a = h.next_record(Kind::Sysmon1);
        let b = h.next_record(Kind::Sysmon3);
        let s = h.next_record(Kind::Security4624);
        assert_eq!(b, a + 1);
        assert_eq!(h.next_record(Kind::Security4688), s + 1);
    }
}

//! Network connections (Sysmon 3) and DNS queries (Sysmon 22) of a fleet: browsers and
//! collaboration clients to the internet, Kerberos, LDAP, DNS and RPC to domain controllers,
//! SMB to file servers, agents to their management servers, peers' delivery optimisation.

use std::fmt::Write;

use super::process::Account;
use super::{Ctx, expand, public_ip};
use crate::mixed::fleet::DNS_DOMAIN;
use crate::mixed::rng::Rng;

/// Where a connection goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// An internet address, with one of the names given.
    Public(&'static [&'static str]),
    Dc,
    FileServer,
    /// A server of the fleet whose name starts with this (`srv-splunk`).
    Server(&'static str),
    /// Another workstation.
    Workstation,
    /// A workstation connecting to this host (`Initiated` false).
    Inbound,
}

#[derive(Debug, Clone, Copy)]
struct Conn {
    weight: u64,
    image: &'static str,
    account: Account,
    peer: Peer,
    port: u16,
    udp: bool,
}

const WEB: &[&str] = &[
    "www.google.com",
    "clients4.google.com",
    "update.googleapis.com",
    "fonts.gstatic.com",
    "www.bing.com",
    "git.corp.example",
    "dev.azure.com",
    "login.live.com",
    "www.wikipedia.org",
    "cdn.jsdelivr.net",
    "-",
    "-",
];
const M365: &[&str] = &[
    "teams.microsoft.com",
    "presence.teams.microsoft.com",
    "outlook.office365.com",
    "login.microsoftonline.com",
    "graph.microsoft.com",
    "corp-my.sharepoint.com",
    "ecs.office.com",
    "-",
];
const DEFENDER: &[&str] = &[
    "wdcp.microsoft.com",
    "winatp-gw-eus.microsoft.com",
    "go.microsoft.com",
    "-",
];
const UPDATE: &[&str] = &[
    "fe3cr.delivery.mp.microsoft.com",
    "slscr.update.microsoft.com",
    "tlu.dl.delivery.mp.microsoft.com",
    "-",
];

const CHROME: &str = r"C:\Program Files\Google\Chrome\Application\chrome.exe";
const EDGE: &str = r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe";
const SVCHOST: &str = r"C:\Windows\System32\svchost.exe";
const TEAMS: &str =
    r"C:\Program Files\WindowsApps\MSTeams_24295.605.3225.8804_x64__8wekyb3d8bbwe\ms-teams.exe";

const fn c(
    weight: u64,
    image: &'static str,
    account: Account,
    peer: Peer,
    port: u16,
    udp: bool,
) -> Conn {
    Conn {
        weight,
        image,
        account,
        peer,
        port,
        udp,
    }
}

use Account::*;
const CONNS: &[Conn] = &[
    c(2_300, CHROME, User, Peer::Public(WEB), 443, false),
    c(250, CHROME, User, Peer::Public(WEB), 443, true),
    c(1_100, EDGE, User, Peer::Public(M365), 443, false),
    c(800, TEAMS, User, Peer::Public(M365), 443, false),
    c(
        500,
        r"C:\Users\{user}\AppData\Local\Microsoft\OneDrive\OneDrive.exe",
        User,
        Peer::Public(M365),
        443,
        false,
    ),
    c(
        300,
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
        User,
        Peer::Public(M365),
        443,
        false,
    ),
    c(
        250,
        r"C:\Program Files\Common Files\microsoft shared\ClickToRun\OfficeClickToRun.exe",
        System,
        Peer::Public(M365),
        443,
        false,
    ),
    c(600, SVCHOST, NetworkService, Peer::Dc, 53, true),
    c(
        450,
        r"C:\Windows\System32\lsass.exe",
        System,
        Peer::Dc,
        88,
        false,
    ),
    c(
        350,
        r"C:\Windows\System32\lsass.exe",
        System,
        Peer::Dc,
        389,
        false,
    ),
    c(400, SVCHOST, System, Peer::Dc, 135, false),
    c(250, SVCHOST, System, Peer::Dc, 49_668, false),
    c(600, "System", System, Peer::FileServer, 445, false),
    c(200, "System", System, Peer::Dc, 445, false),
    c(
        400,
        r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe",
        System,
        Peer::Public(DEFENDER),
        443,
        false,
    ),
    c(200, SVCHOST, System, Peer::Public(UPDATE), 443, false),
    c(
        150,
        SVCHOST,
        NetworkService,
        Peer::Workstation,
        7_680,
        false,
    ),
    c(
        300,
        r"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe",
        System,
        Peer::Server("srv-splunk"),
        9_997,
        false,
    ),
    c(
        60,
        r"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe",
        System,
        Peer::Server("srv-splunk"),
        8_089,
        false,
    ),
    c(
        200,
        r"C:\Windows\CCM\CcmExec.exe",
        System,
        Peer::Server("srv-sccm"),
        443,
        false,
    ),
    c(
        80,
        r"C:\Windows\CCM\CcmExec.exe",
        System,
        Peer::Server("srv-sccm"),
        10_123,
        false,
    ),
    c(
        100,
        r"C:\Program Files\Java\jre1.8.0_411\bin\java.exe",
        System,
        Peer::Server("srv-app"),
        8_443,
        false,
    ),
    c(
        100,
        r"C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe",
        User,
        Peer::Public(WEB),
        443,
        false,
    ),
    c(
        80,
        r"C:\Program Files\Git\mingw64\bin\git-remote-https.exe",
        User,
        Peer::Public(WEB),
        443,
        false,
    ),
    c(300, "System", System, Peer::Inbound, 445, false),
    c(80, SVCHOST, NetworkService, Peer::Inbound, 3_389, false),
];

/// A connection to write.
#[derive(Debug, Clone)]
pub struct Connection {
    pub image: String,
    pub account: Account,
    pub protocol: &'static str,
    pub initiated: bool,
    pub source_ip: String,
    pub source_host: String,
    pub source_port: u16,
    pub dest_ip: String,
    pub dest_host: String,
    pub dest_port: u16,
}

/// Draws a connection from the event's host.
pub fn connection(ctx: &Ctx<'_>, rng: &mut Rng) -> Connection {
    let conn = &CONNS[rng.weighted(CONNS.iter().map(|c| c.weight))];
    let mut image = String::with_capacity(80);
    expand(&mut image, conn.image, ctx, rng);
    let local_ip = ctx.host.ip_text();
    let local_host = ctx.host.fqdn.clone();
    let ephemeral = rng.range(49_152, 65_535) as u16;
    let fleet_host = |h: &crate::mixed::fleet::Host| (h.ip_text(), h.fqdn.clone());
    let (remote_ip, remote_host) = match conn.peer {
        Peer::Public(names) => {
            let mut ip = String::new();
            public_ip(&mut ip, rng);
            (ip, rng.one(names).to_owned())
        }
        Peer::Dc => fleet_host(ctx.fleet.dc(rng)),
        Peer::FileServer => fleet_host(ctx.fleet.file_server(rng)),
        Peer::Workstation | Peer::Inbound => fleet_host(ctx.fleet.workstation(rng)),
        Peer::Server(prefix) => {
            let n = rng.range(1, 2);
            (
                format!("10.1.0.{}", 10 + n),
                format!("{prefix}-{n:02}.{DNS_DOMAIN}"),
            )
        }
    };
    let inbound = conn.peer == Peer::Inbound;
    let (source_ip, source_host, source_port, dest_ip, dest_host, dest_port) = if inbound {
        (
            remote_ip,
            remote_host,
            ephemeral,
            local_ip,
            local_host,
            conn.port,
        )
    } else {
        (
            local_ip,
            local_host,
            ephemeral,
            remote_ip,
            remote_host,
            conn.port,
        )
    };
    Connection {
        image,
        account: conn.account,
        protocol: if conn.udp { "udp" } else { "tcp" },
        initiated: !inbound,
        source_ip,
        source_host,
        source_port,
        dest_ip,
        dest_host,
        dest_port,
    }
}

/// The service name Sysmon gives a port, or `-`.
pub fn port_name(port: u16) -> &'static str {
    match port {
        53 => "domain",
        80 => "http",
        88 => "kerberos",
        135 => "epmap",
        389 => "ldap",
        443 => "https",
        445 => "microsoft-ds",
        3_389 => "ms-wbt-server",
        _ => "-",
    }
}

/// A DNS query to write.
#[derive(Debug, Clone)]
pub struct Query {
    pub image: String,
    pub account: Account,
    pub name: String,
    pub status: &'static str,
    pub results: String,
}

#[derive(Debug, Clone, Copy)]
enum Answer {
    /// A public address, sometimes behind a CNAME.
    Public,
    /// A fleet address.
    Internal,
    /// No such name (`9003`, results `-`).
    NxDomain,
}

#[derive(Debug, Clone, Copy)]
struct Name {
    weight: u64,
    image: &'static str,
    name: &'static str,
    answer: Answer,
}

const fn q(weight: u64, image: &'static str, name: &'static str, answer: Answer) -> Name {
    Name {
        weight,
        image,
        name,
        answer,
    }
}

const NAMES: &[Name] = &[
    q(900, CHROME, "www.google.com", Answer::Public),
    q(400, CHROME, "clients{n2}.google.com", Answer::Public),
    q(300, CHROME, "{rand}", Answer::NxDomain),
    q(
        300,
        CHROME,
        "{rand}{n2}.cdn.shopify-assets.example",
        Answer::Public,
    ),
    q(250, CHROME, "www.{word}-news.example", Answer::Public),
    q(200, CHROME, "dev.azure.com", Answer::Public),
    q(500, EDGE, "login.microsoftonline.com", Answer::Public),
    q(300, EDGE, "{hex}.fp.measure.office.com", Answer::Public),
    q(500, TEAMS, "teams.microsoft.com", Answer::Public),
    q(300, TEAMS, "presence.teams.microsoft.com", Answer::Public),
    q(
        300,
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
        "outlook.office365.com",
        Answer::Public,
    ),
    q(
        300,
        r"C:\Users\{user}\AppData\Local\Microsoft\OneDrive\OneDrive.exe",
        "corp-my.sharepoint.com",
        Answer::Public,
    ),
    q(
        300,
        SVCHOST,
        "settings-win.data.microsoft.com",
        Answer::Public,
    ),
    q(
        250,
        SVCHOST,
        "v10.events.data.microsoft.com",
        Answer::Public,
    ),
    q(200, SVCHOST, "ctldl.windowsupdate.com", Answer::Public),
    q(150, SVCHOST, "wpad", Answer::NxDomain),
    q(500, SVCHOST, "{dc}.{domain}", Answer::Internal),
    q(
        300,
        SVCHOST,
        "_ldap._tcp.dc._msdcs.{domain}",
        Answer::Internal,
    ),
    q(400, "System", "{fs}.{domain}", Answer::Internal),
    q(300, SVCHOST, "{ws}.{domain}", Answer::Internal),
    q(
        200,
        r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe",
        "wdcp.microsoft.com",
        Answer::Public,
    ),
    q(
        150,
        r"C:\Windows\CCM\CcmExec.exe",
        "srv-sccm-01.{domain}",
        Answer::Internal,
    ),
    q(
        150,
        r"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe",
        "srv-splunk-0{n2}.{domain}",
        Answer::NxDomain,
    ),
    q(
        100,
        r"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe",
        "srv-splunk-01.{domain}",
        Answer::Internal,
    ),
    q(
        100,
        r"C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe",
        "marketplace.visualstudio.com",
        Answer::Public,
    ),
    q(
        80,
        r"C:\Program Files\Git\mingw64\bin\git-remote-https.exe",
        "git.{domain}",
        Answer::Internal,
    ),
    q(
        80,
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        "srv-sccm-01.{domain}",
        Answer::Internal,
    ),
];

const CNAMES: &[&str] = &[
    "star-mini.c10r.example-edge.net",
    "e13678.dscb.akamaiedge.net",
    "s-0005.s-msedge.net",
    "prod.cdn-ms.trafficmanager.net",
];

/// Draws a DNS query made on the event's host.
pub fn query(ctx: &Ctx<'_>, rng: &mut Rng) -> Query {
    let n = &NAMES[rng.weighted(NAMES.iter().map(|n| n.weight))];
    let mut image = String::with_capacity(80);
    expand(&mut image, n.image, ctx, rng);
    let mut name = String::with_capacity(48);
    expand(&mut name, n.name, ctx, rng);
    let mut results = String::with_capacity(64);
    let status = match n.answer {
        Answer::NxDomain => {
            results.push('-');
            "9003"
        }
        Answer::Internal => {
            let host = if name.starts_with("_ldap") {
                ctx.fleet.dc(rng)
            } else {
                ctx.fleet.workstation(rng)
            };
            let _ = write!(results, "::ffff:{};", host.ip_text());
            "0"
        }
        Answer::Public => {
            if rng.chance(400) {
                let _ = write!(results, "type:  5 {};", rng.pick(CNAMES));
            }
            for _ in 0..=rng.below(2) {
                results.push_str("::ffff:");
                public_ip(&mut results, rng);
                results.push(';');
            }
            "0"
        }
    };
    Query {
        image,
        account: if n.image == "System"
            || n.image.starts_with(r"C:\Windows\")
            || n.image.starts_with(r"C:\ProgramData\")
            || n.image.contains("SplunkUniversalForwarder")
        {
            Account::NetworkService
        } else {
            Account::User
        },
        name,
        status,
        results,
    }
}

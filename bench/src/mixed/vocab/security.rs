//! Security and System log events of a fleet: logons and failed logons, directory-service
//! access and changes on domain controllers, object access, Kerberos tickets, share access,
//! service installs. Each writes the fields it knows onto the draft; fields a template has
//! beyond these keep the real event's values.
//!
//! Field values follow Windows' XML rendering: insertion strings (`%%1833`), hex ids (`0x3e7`),
//! `-` for empty names, `::ffff:`-mapped addresses in Kerberos events, and the CR LF TAB runs
//! Windows writes inside 4662 and 5145 lists (so those events span lines, as 4104 does).

use std::fmt::Write;

use super::{Ctx, expanded};
use crate::mixed::draft::Draft;
use crate::mixed::fleet::{DNS_DOMAIN, DOMAIN, DOMAIN_SID, Role, guid};
use crate::mixed::rng::Rng;

fn hex(value: u64) -> String {
    format!("0x{value:x}")
}

/// A logon id for a user on a host: stable for the host and user, as one session's would be.
pub fn logon_id(ctx: &Ctx<'_>) -> u64 {
    let mut h: u64 = 0x1234_5678;
    for b in ctx.host.netbios.bytes().chain(ctx.user.sam.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    0x10_0000 + (h % 0x3F_0000)
}

fn subject_system(d: &mut Draft<'_>, ctx: &Ctx<'_>) {
    d.set("SubjectUserSid", "S-1-5-18");
    d.set("SubjectUserName", &format!("{}$", ctx.host.netbios));
    d.set("SubjectDomainName", DOMAIN);
    d.set("SubjectLogonId", "0x3e7");
}

fn subject_user(d: &mut Draft<'_>, ctx: &Ctx<'_>) {
    d.set("SubjectUserSid", &ctx.user.sid);
    d.set("SubjectUserName", &ctx.user.sam);
    d.set("SubjectDomainName", DOMAIN);
    d.set("SubjectLogonId", &hex(logon_id(ctx)));
}

fn subject_none(d: &mut Draft<'_>) {
    d.set("SubjectUserSid", "S-1-0-0");
    d.set("SubjectUserName", "-");
    d.set("SubjectDomainName", "-");
    d.set("SubjectLogonId", "0x0");
}

/// Security 4624: network logons (Kerberos, NTLM), service logons, interactive, unlock and
/// remote-desktop logons.
pub fn logon(d: &mut Draft<'_>, ctx: &Ctx<'_>, rng: &mut Rng) {
    let peer = ctx.fleet.workstation(rng);
    let machine = rng.chance(450);
    let (target_sid, target_name) = if machine {
        (
            format!("{DOMAIN_SID}-{}", 3_000 + rng.below(5_000)),
            format!("{}$", peer.netbios),
        )
    } else {
        (ctx.user.sid.clone(), ctx.user.sam.clone())
    };
    let scenario = rng.below(100);
    d.set("TargetLogonId", &hex(0x10_0000 + rng.below(0xFFF_0000)));
    d.set("LogonGuid", "{00000000-0000-0000-0000-000000000000}");
    d.set("TransmittedServices", "-");
    d.set("RestrictedAdminMode", "-");
    d.set("TargetOutboundUserName", "-");
    d.set("TargetOutboundDomainName", "-");
    d.set("VirtualAccount", "%%1843");
    d.set("TargetLinkedLogonId", "0x0");
    d.set("ImpersonationLevel", "%%1833");
    d.set("LmPackageName", "-");
    d.set("KeyLength", "0");
    d.set("WorkstationName", "-");
    d.set("TargetDomainName", DOMAIN);
    d.set("TargetUserSid", &target_sid);
    d.set("TargetUserName", &target_name);
    let ip = peer.ip_text();
    let port = rng.range(49_152, 65_535).to_string();
    if scenario < 50 {
        subject_none(d);
        d.set("LogonType", "3");
        d.set("LogonProcessName", "Kerberos");
        d.set("AuthenticationPackageName", "Kerberos");
        let mut g = String::new();
        guid(&mut g, rng);
        d.set("LogonGuid", &g);
        d.set("ProcessId", "0x0");
        d.set("ProcessName", "-");
        d.set("IpAddress", &ip);
        d.set("IpPort", &port);
        d.set("ElevatedToken", if machine { "%%1842" } else { "%%1843" });
    } else if scenario < 65 {
        subject_none(d);
        d.set("LogonType", "3");
        d.set("LogonProcessName", "NtLmSsp ");
        d.set("AuthenticationPackageName", "NTLM");
        d.set("WorkstationName", &peer.netbios);
        d.set("LmPackageName", "NTLM V2");
        d.set("KeyLength", "128");
        d.set("ProcessId", "0x0");
        d.set("ProcessName", "-");
        d.set("IpAddress", &ip);
        d.set("IpPort", &port);
        d.set("ElevatedToken", "%%1843");
    } else if scenario < 87 {
        subject_system(d, ctx);
        d.set("TargetUserSid", "S-1-5-18");
        d.set("TargetUserName", "SYSTEM");
        d.set("TargetDomainName", "NT AUTHORITY");
        d.set("TargetLogonId", "0x3e7");
        d.set("LogonType", "5");
        d.set("LogonProcessName", "Advapi  ");
        d.set("AuthenticationPackageName", "Negotiate");
        d.set("ProcessId", &hex(u64::from(ctx.host.services_pid)));
        d.set("ProcessName", r"C:\Windows\System32\services.exe");
        d.set("IpAddress", "-");
        d.set("IpPort", "-");
        d.set("ElevatedToken", "%%1842");
    } else {
        subject_system(d, ctx);
        d.set("TargetUserSid", &ctx.user.sid);
        d.set("TargetUserName", &ctx.user.sam);
        let remote = ctx.host.role != Role::Workstation && scenario >= 95;
        d.set(
            "LogonType",
            if remote {
                "10"
            } else if scenario < 92 {
                "7"
            } else {
                "2"
            },
        );
        d.set("LogonProcessName", "User32 ");
        d.set("AuthenticationPackageName", "Negotiate");
        d.set("WorkstationName", &ctx.host.netbios);
        d.set("ProcessId", &hex(u64::from(ctx.host.lsass_pid) + 120));
        d.set("ProcessName", r"C:\Windows\System32\svchost.exe");
        d.set("IpAddress", if remote { &ip } else { "127.0.0.1" });
        d.set("IpPort", if remote { &port } else { "0" });
        d.set("ElevatedToken", "%%1843");
    }
}

/// Security 4625: wrong passwords and unknown user names, over the network and at the console.
pub fn failed_logon(d: &mut Draft<'_>, ctx: &Ctx<'_>, rng: &mut Rng) {
    let peer = ctx.fleet.workstation(rng);
    let unknown = rng.chance(250);
    d.set("TargetUserSid", "S-1-0-0");
    let name = if unknown {
        format!("{}{}", ctx.user.sam, rng.range(1, 9))
    } else {
        ctx.user.sam.clone()
    };
    d.set("TargetUserName", &name);
    d.set("TargetDomainName", DOMAIN);
    d.set("Status", "0xc000006d");
    d.set("FailureReason", "%%2313");
    d.set(
        "SubStatus",
        if unknown { "0xc0000064" } else { "0xc000006a" },
    );
    d.set("TransmittedServices", "-");
    if rng.chance(700) {
        subject_none(d);
        d.set("LogonType", "3");
        d.set("LogonProcessName", "NtLmSsp ");
        d.set("AuthenticationPackageName", "NTLM");
        d.set("WorkstationName", &peer.netbios);
        d.set("LmPackageName", "-");
        d.set("KeyLength", "0");
        d.set("ProcessId", "0x0");
        d.set("ProcessName", "-");
        d.set("IpAddress", &peer.ip_text());
        d.set("IpPort", &rng.range(49_152, 65_535).to_string());
    } else {
        subject_system(d, ctx);
        d.set("LogonType", "2");
        d.set("LogonProcessName", "User32 ");
        d.set("AuthenticationPackageName", "Negotiate");
        d.set("WorkstationName", &ctx.host.netbios);
        d.set("LmPackageName", "-");
        d.set("KeyLength", "0");
        d.set("ProcessId", &hex(u64::from(ctx.host.lsass_pid) + 120));
        d.set("ProcessName", r"C:\Windows\System32\svchost.exe");
        d.set("IpAddress", "127.0.0.1");
        d.set("IpPort", "0");
    }
}

/// Directory schema GUIDs: classes and property sets reads touch (user, computer, group, GPO
/// container; User-Account-Restrictions, User-Logon, Membership, Public-Information,
/// Personal-Information).
const CLASSES: &[(&str, &str)] = &[
    ("bf967aba-0de6-11d0-a285-00aa003049e2", "user"),
    ("bf967a86-0de6-11d0-a285-00aa003049e2", "computer"),
    ("bf967a9c-0de6-11d0-a285-00aa003049e2", "group"),
    (
        "f30e3bc2-9ff0-11d1-b603-0000f80367c1",
        "groupPolicyContainer",
    ),
];
const PROPERTY_SETS: &[&str] = &[
    "4c164200-20c0-11d0-a768-00aa006e0529",
    "5f202010-79a5-11d0-9020-00c04fc2d4cf",
    "bc0ac240-79a9-11d0-9020-00c04fc2d4cf",
    "e48d0154-bcf8-11d1-8702-00c04fb96050",
    "77b5b886-944a-11d1-aebd-0000f80367c1",
];

/// Security 4662 on a domain controller: reads of directory objects, mostly by machine
/// accounts.
pub fn ds_access(d: &mut Draft<'_>, ctx: &Ctx<'_>, rng: &mut Rng) {
    let peer = ctx.fleet.workstation(rng);
    if rng.chance(700) {
        d.set(
            "SubjectUserSid",
            &format!("{DOMAIN_SID}-{}", 3_000 + rng.below(5_000)),
        );
        d.set("SubjectUserName", &format!("{}$", peer.netbios));
        d.set("SubjectDomainName", DOMAIN);
        d.set("SubjectLogonId", &hex(0x10_0000 + rng.below(0xFFF_0000)));
    } else {
        subject_user(d, ctx);
    }
    let (class, _) = rng.one(CLASSES);
    d.set("ObjectServer", "DS");
    d.set("ObjectType", &format!("%{{{class}}}"));
    let object = expanded("%{{lguid}}", ctx, rng);
    d.set("ObjectName", &object);
    d.set("OperationType", "Object Access");
    d.set("HandleId", "0x0");
    d.set("AccessList", "%%7688\r\n\t\t\t\t");
    d.set("AccessMask", "0x10");
    let mut props = String::from("%%7688\r\n");
    for _ in 0..=rng.below(2) {
        let _ = write!(props, "\t\t{{{}}}\r\n", rng.pick(PROPERTY_SETS));
    }
    let _ = write!(props, "\t{{{class}}}\r\n");
    d.set("Properties", &props);
    d.set("AdditionalInfo", "-");
    d.set("AdditionalInfo2", "");
}

/// Security 4663: files on audited shares and folders, registry keys read by inventory agents.
pub fn object_access(d: &mut Draft<'_>, ctx: &Ctx<'_>, rng: &mut Rng) {
    const FILES: &[(&str, &str)] = &[
        (
            r"C:\Shares\{word}\{word} {n4}.xlsx",
            r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
        ),
        (
            r"C:\Shares\{word}\{word}_{date}.docx",
            r"C:\Windows\explorer.exe",
        ),
        (
            r"C:\Users\{user}\AppData\Local\Google\Chrome\User Data\Default\Cookies",
            r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        ),
        (
            r"C:\ProgramData\{word}\config\settings-{n2}.xml",
            r"C:\Program Files\Java\jre1.8.0_411\bin\java.exe",
        ),
    ];
    const KEYS: &[(&str, &str)] = &[
        (
            r"\REGISTRY\MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{guid}",
            r"C:\Windows\CCM\CcmExec.exe",
        ),
        (
            r"\REGISTRY\MACHINE\SYSTEM\ControlSet001\Services\{word}Svc\Parameters",
            r"C:\Windows\System32\svchost.exe",
        ),
    ];
    subject_user(d, ctx);
    let file = rng.chance(650);
    let (object, process) = if file { rng.one(FILES) } else { rng.one(KEYS) };
    d.set("ObjectServer", "Security");
    d.set("ObjectType", if file { "File" } else { "Key" });
    let object = expanded(object, ctx, rng);
    d.set("ObjectName", &object);
    d.set("HandleId", &hex(0x100 + 4 * rng.below(0x4000)));
    let write = file && rng.chance(200);
    d.set(
        "AccessList",
        if write {
            "%%4417\r\n\t\t\t\t"
        } else {
            "%%4416\r\n\t\t\t\t"
        },
    );
    d.set("AccessMask", if write { "0x2" } else { "0x1" });
    d.set(
        "ProcessId",
        &hex(u64::from(1_000 + 4 * rng.below(15_000) as u32)),
    );
    d.set("ProcessName", process);
    d.set("ResourceAttributes", "S:AI");
}

/// Security 4768 on a domain controller: TGT requests by users and computers, AES only.
pub fn tgt(d: &mut Draft<'_>, ctx: &Ctx<'_>, rng: &mut Rng) {
    let peer = ctx.fleet.workstation(rng);
    if rng.chance(400) {
        d.set("TargetUserName", &format!("{}$", peer.netbios));
        d.set(
            "TargetSid",
            &format!("{DOMAIN_SID}-{}", 3_000 + rng.below(5_000)),
        );
    } else {
        d.set("TargetUserName", &ctx.user.sam);
        d.set("TargetSid", &ctx.user.sid);
    }
    d.set("TargetDomainName", DOMAIN);
    d.set("ServiceName", "krbtgt");
    d.set("ServiceSid", &format!("{DOMAIN_SID}-502"));
    d.set("TicketOptions", "0x40810010");
    d.set("Status", "0x0");
    d.set("TicketEncryptionType", "0x12");
    d.set("PreAuthType", "2");
    d.set("IpAddress", &format!("::ffff:{}", peer.ip_text()));
    d.set("IpPort", &rng.range(49_152, 65_535).to_string());
    d.set("CertIssuerName", "");
    d.set("CertSerialNumber", "");
    d.set("CertThumbprint", "");
}

/// Security 4769 on a domain controller: service tickets for hosts and service accounts, AES.
pub fn service_ticket(d: &mut Draft<'_>, ctx: &Ctx<'_>, rng: &mut Rng) {
    let peer = ctx.fleet.workstation(rng);
    let upper = DNS_DOMAIN.to_ascii_uppercase();
    d.set("TargetUserName", &format!("{}@{upper}", ctx.user.sam));
    d.set("TargetDomainName", &upper);
    let service = match rng.below(10) {
        0..=3 => format!("{}$", ctx.fleet.file_server(rng).netbios),
        4..=6 => format!("{}$", ctx.fleet.dc(rng).netbios),
        7 => "krbtgt".to_owned(),
        8 => format!("{}$", peer.netbios),
        _ => rng.one(&["svc-sql", "svc-web", "svc-sccm"]).to_owned(),
    };
    d.set("ServiceName", &service);
    d.set(
        "ServiceSid",
        &format!("{DOMAIN_SID}-{}", 1_000 + rng.below(8_000)),
    );
    d.set(
        "TicketOptions",
        rng.one(&["0x40810000", "0x60810010", "0x40810010"]),
    );
    d.set("TicketEncryptionType", "0x12");
    d.set("IpAddress", &format!("::ffff:{}", peer.ip_text()));
    d.set("IpPort", &rng.range(49_152, 65_535).to_string());
    d.set("Status", "0x0");
    let mut g = String::new();
    guid(&mut g, rng);
    d.set("LogonGuid", &g);
    d.set("TransmittedServices", "-");
}

/// Security 5136 on a domain controller: DNS dynamic updates, help-desk edits of user
/// attributes, group membership changes.
pub fn ds_change(d: &mut Draft<'_>, ctx: &Ctx<'_>, rng: &mut Rng) {
    let mut g = String::new();
    guid(&mut g, rng);
    d.set("OpCorrelationID", &g);
    d.set("AppCorrelationID", "-");
    d.set("DSName", DNS_DOMAIN);
    d.set("DSType", "%%14676");
    let mut object_guid = String::new();
    guid(&mut object_guid, rng);
    d.set("ObjectGUID", &object_guid);
    let base = "DC=corp,DC=example";
    let added = rng.chance(600);
    d.set("OperationType", if added { "%%14674" } else { "%%14675" });
    match rng.below(10) {
        0..=5 => {
            let dc = ctx.fleet.dc(rng);
            d.set("SubjectUserSid", &format!("{DOMAIN_SID}-1001"));
            d.set("SubjectUserName", &format!("{}$", dc.netbios));
            d.set("SubjectDomainName", DOMAIN);
            d.set("SubjectLogonId", "0x3e7");
            let node = ctx.fleet.workstation(rng);
            d.set(
                "ObjectDN",
                &format!(
                    "DC={},DC={DNS_DOMAIN},CN=MicrosoftDNS,DC=DomainDnsZones,{base}",
                    node.netbios.to_ascii_lowercase()
                ),
            );
            d.set("ObjectClass", "dnsNode");
            d.set("AttributeLDAPDisplayName", "dNSTombstoned");
            d.set("AttributeSyntaxOID", "2.5.5.8");
            d.set("AttributeValue", if added { "FALSE" } else { "TRUE" });
        }
        6..=8 => {
            subject_user(d, ctx);
            let who = &ctx.fleet.users[rng.below(ctx.fleet.users.len() as u64) as usize];
            d.set(
                "ObjectDN",
                &format!("CN={},OU=Users,OU=Corp,{base}", who.sam),
            );
            d.set("ObjectClass", "user");
            let (attr, value) = match rng.below(3) {
                0 => ("telephoneNumber", format!("+1 555 01{:02}", rng.below(100))),
                1 => (
                    "title",
                    rng.one(&["Analyst", "Engineer", "Manager", "Specialist"])
                        .to_owned(),
                ),
                _ => ("description", expanded("{word} team, desk {n4}", ctx, rng)),
            };
            d.set("AttributeLDAPDisplayName", attr);
            d.set("AttributeSyntaxOID", "2.5.5.12");
            d.set("AttributeValue", &value);
        }
        _ => {
            subject_user(d, ctx);
            let group = expanded(
                "CN=GRP-{word}-{n2},OU=Groups,OU=Corp,DC=corp,DC=example",
                ctx,
                rng,
            );
            d.set("ObjectDN", &group);
            d.set("ObjectClass", "group");
            d.set("AttributeLDAPDisplayName", "member");
            d.set("AttributeSyntaxOID", "2.5.5.1");
            let who = &ctx.fleet.users[rng.below(ctx.fleet.users.len() as u64) as usize];
            d.set(
                "AttributeValue",
                &format!("CN={},OU=Users,OU=Corp,{base}", who.sam),
            );
        }
    }
}

/// Security 5145: file-share access on file servers and domain controllers (SYSVOL, NETLOGON,
/// named pipes on IPC$).
pub fn share_access(d: &mut Draft<'_>, ctx: &Ctx<'_>, rng: &mut Rng) {
    let peer = ctx.fleet.workstation(rng);
    subject_user(d, ctx);
    d.set("ObjectType", "File");
    d.set("IpAddress", &peer.ip_text());
    d.set("IpPort", &rng.range(49_152, 65_535).to_string());
    const READ: &str = "%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416\r\n\t\t\t\t%%4419\r\n\t\t\t\t%%4423\r\n\t\t\t\t";
    const PIPE: &str = "%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416\r\n\t\t\t\t%%4417\r\n\t\t\t\t%%4418\r\n\t\t\t\t%%4419\r\n\t\t\t\t%%4420\r\n\t\t\t\t%%4423\r\n\t\t\t\t%%4424\r\n\t\t\t\t";
    let roll = rng.below(100);
    let pipe = (
        r"\\*\IPC$",
        "",
        rng.one(&["srvsvc", "lsarpc", "samr", "winreg", "netlogon", "spoolss"])
            .to_owned(),
        "0x12019f",
        PIPE,
    );
    let (share, local, target, mask, list) = if ctx.host.role == Role::FileServer {
        if roll < 80 {
            let write = rng.chance(200);
            (
                r"\\*\Shares",
                r"\??\C:\Shares",
                expanded(r"{word}\{word} {n4}.xlsx", ctx, rng),
                if write { "0x2" } else { "0x120089" },
                if write { "%%4417\r\n\t\t\t\t" } else { READ },
            )
        } else {
            pipe
        }
    } else if roll < 60 {
        let policy = rng.pick(&[
            "31B2F340-016D-11D2-945F-00C04FB984F9",
            "6AC1786C-016F-11D2-945F-00C04FB984F9",
            "8F3B2E51-3A1D-4C0E-9E4B-2B5E1D0C7A11",
        ]);
        (
            r"\\*\SYSVOL",
            r"\??\C:\Windows\SYSVOL\sysvol",
            format!(r"{DNS_DOMAIN}\Policies\{{{policy}}}\gpt.ini"),
            "0x120089",
            READ,
        )
    } else if roll < 75 {
        (
            r"\\*\NETLOGON",
            r"\??\C:\Windows\SYSVOL\sysvol\corp.example\SCRIPTS",
            rng.one(&["logon.cmd", "inventory.cmd", "drives.vbs"])
                .to_owned(),
            "0x120089",
            READ,
        )
    } else {
        pipe
    };
    d.set("ShareName", share);
    d.set("ShareLocalPath", local);
    d.set("RelativeTargetName", &target);
    d.set("AccessMask", mask);
    d.set("AccessList", list);
    d.set("AccessReason", "-");
}

/// System 7045: services installed by software updates, drivers of Defender's engine, and
/// administrators' tools.
pub fn service_install(d: &mut Draft<'_>, ctx: &Ctx<'_>, rng: &mut Rng) {
    let (name, path, kind, start, account) = match rng.below(10) {
        0..=3 => {
            let id = expanded("{HEX}", ctx, rng);
            (
                format!("MpKsl{}", &id[..8].to_ascii_lowercase()),
                expanded(
                    r"\??\C:\ProgramData\Microsoft\Windows Defender\Definition Updates\{guid}\MpKsl",
                    ctx,
                    rng,
                ) + &id[..8].to_ascii_lowercase()
                    + ".sys",
                "kernel mode driver",
                "demand start",
                "",
            )
        }
        4..=5 => (
            "GoogleUpdaterService131.0.6778.140".to_owned(),
            r#""C:\Program Files (x86)\Google\GoogleUpdater\131.0.6778.140\updater.exe" --system --windows-service --service=update"#.to_owned(),
            "user mode service",
            "auto start",
            "LocalSystem",
        ),
        6..=7 => (
            "Microsoft Edge Update Service (edgeupdate)".to_owned(),
            r#""C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe" /svc"#.to_owned(),
            "user mode service",
            "auto start",
            "LocalSystem",
        ),
        8 => (
            "Splunk Universal Forwarder".to_owned(),
            r#""C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe" service"#.to_owned(),
            "user mode service",
            "auto start",
            "LocalSystem",
        ),
        _ => (
            "PSEXESVC".to_owned(),
            r"%SystemRoot%\PSEXESVC.exe".to_owned(),
            "user mode service",
            "demand start",
            "LocalSystem",
        ),
    };
    d.set("ServiceName", &name);
    d.set("ImagePath", &path);
    d.set("ServiceType", kind);
    d.set("StartType", start);
    d.set("AccountName", account);
    d.user_id = Some(ctx.user.sid.clone());
}

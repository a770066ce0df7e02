//! Filling a drafted event with a fleet's benign activity, per event type: identifiers (process
//! ids, GUIDs, logon ids, times), the acting host and user, and the content drawn from the
//! vocabulary. Fields the template has and this does not set keep the real event's values.

use std::fmt::Write;

use super::draft::{Draft, Fields, utc_time};
use super::fleet::{DOMAIN, sysmon_guid};
use super::kind::Kind;
use super::rng::Rng;
use super::vocab::process::{Account, Start, hashes};
use super::vocab::security::logon_id;
use super::vocab::{Ctx, basename, network, powershell, process, security, sysmon};

/// What a filler needs besides the draft.
#[derive(Debug)]
pub struct Env<'a, 'r> {
    pub ctx: Ctx<'a>,
    pub rng: &'r mut Rng,
    /// A corpus-wide counter that makes every process GUID unique.
    pub serial: &'r mut u64,
    /// The script of the last PowerShell event (reused buffer).
    pub script: &'r mut powershell::Script,
}

impl Env<'_, '_> {
    /// A new process id.
    pub fn pid(&mut self) -> u32 {
        1_000 + 4 * self.rng.below(16_000) as u32
    }

    /// A new Sysmon process GUID for a process started between `lo` and `hi` seconds before
    /// `now`.
    pub fn guid_started(&mut self, now: i64, lo: u64, hi: u64) -> String {
        let secs = now - self.rng.range(lo, hi) as i64;
        self.process_guid(secs)
    }

    /// A new Sysmon process GUID for a process started at `secs`.
    pub fn process_guid(&mut self, secs: i64) -> String {
        *self.serial += 1;
        let mut s = String::with_capacity(38);
        sysmon_guid(&mut s, self.ctx.host.guid_prefix, secs, *self.serial);
        s
    }
}

/// `NT AUTHORITY\SYSTEM` or `CORP\jdoe`, as Sysmon writes `User`.
pub fn sysmon_user(account: Account, ctx: &Ctx<'_>) -> String {
    match account {
        Account::System => r"NT AUTHORITY\SYSTEM".to_owned(),
        Account::LocalService => r"NT AUTHORITY\LOCAL SERVICE".to_owned(),
        Account::NetworkService => r"NT AUTHORITY\NETWORK SERVICE".to_owned(),
        Account::User | Account::Admin => format!(r"{DOMAIN}\{}", ctx.user.sam),
    }
}

fn logon(account: Account, ctx: &Ctx<'_>) -> u64 {
    match account {
        Account::System => 0x3e7,
        Account::LocalService => 0x3e5,
        Account::NetworkService => 0x3e4,
        Account::User | Account::Admin => logon_id(ctx),
    }
}

fn secs(ticks: i64) -> i64 {
    ticks.div_euclid(10_000_000)
}

/// Sets the Sysmon `System` values and `UtcTime` (a few milliseconds before the event is
/// written, as Sysmon's are).
fn sysmon_common(d: &mut Draft<'_>, env: &mut Env<'_, '_>) {
    d.execution = (
        env.ctx.host.sysmon_pid,
        1_000 + 4 * env.rng.below(2_000) as u32,
    );
    d.user_id = Some("S-1-5-18".to_owned());
    let mut t = String::with_capacity(24);
    utc_time(&mut t, d.time - env.rng.below(30_000) as i64);
    d.set("UtcTime", &t);
    d.set("RuleName", "-");
}

/// Fills `d` (already reset to its template, with host, time and record id set) with
/// background activity of its kind.
pub fn background(d: &mut Draft<'_>, env: &mut Env<'_, '_>) {
    match d.kind {
        Kind::Sysmon1 | Kind::Security4688 => {
            let start = process::start(&env.ctx, env.rng);
            process_start(d, env, &start);
        }
        Kind::Sysmon3 => connection(d, env),
        Kind::Sysmon5 => {
            sysmon_common(d, env);
            let start = process::start(&env.ctx, env.rng);
            let began = secs(d.time) - env.rng.range(1, 36_000) as i64;
            let g = env.process_guid(began);
            let pid = env.pid().to_string();
            d.set("ProcessGuid", &g);
            d.set("ProcessId", &pid);
            d.set("Image", &start.image);
            d.set("User", &sysmon_user(start.account, &env.ctx));
        }
        Kind::Sysmon7 => {
            sysmon_common(d, env);
            let l = sysmon::load(&env.ctx, env.rng);
            let began = secs(d.time) - env.rng.range(0, 600) as i64;
            let g = env.process_guid(began);
            let pid = env.pid().to_string();
            d.set("ProcessGuid", &g);
            d.set("ProcessId", &pid);
            d.set("Image", &l.image);
            d.set("ImageLoaded", &l.loaded);
            d.set("FileVersion", l.pe.version);
            d.set("Description", l.pe.description);
            d.set("Product", l.pe.product);
            d.set("Company", l.pe.company);
            d.set("OriginalFileName", l.pe.original);
            d.set("Hashes", &l.hashes);
            d.set("Signed", "true");
            d.set("Signature", l.signature);
            d.set("SignatureStatus", "Valid");
            d.set("User", &sysmon_user(l.account, &env.ctx));
        }
        Kind::Sysmon10 => {
            sysmon_common(d, env);
            let a = sysmon::access(&env.ctx, env.rng);
            let now = secs(d.time);
            let sg = env.guid_started(now, 10, 80_000);
            let tg = env.guid_started(now, 10, 80_000);
            let spid = env.pid().to_string();
            let tpid = if a.target_is_lsass {
                env.ctx.host.lsass_pid.to_string()
            } else {
                env.pid().to_string()
            };
            let tid = (1_000 + 4 * env.rng.below(5_000)).to_string();
            d.set("SourceProcessGUID", &sg);
            d.set("SourceProcessId", &spid);
            d.set("SourceThreadId", &tid);
            d.set("SourceImage", &a.source);
            d.set("TargetProcessGUID", &tg);
            d.set("TargetProcessId", &tpid);
            d.set("TargetImage", &a.target);
            d.set("GrantedAccess", a.granted);
            d.set("CallTrace", &a.call_trace);
            d.set("SourceUser", &sysmon_user(a.source_account, &env.ctx));
            d.set("TargetUser", &sysmon_user(a.target_account, &env.ctx));
        }
        Kind::Sysmon11 => {
            sysmon_common(d, env);
            let f = sysmon::file(&env.ctx, env.rng);
            let g = env.guid_started(secs(d.time), 1, 3_600);
            let pid = env.pid().to_string();
            d.set("ProcessGuid", &g);
            d.set("ProcessId", &pid);
            d.set("Image", &f.image);
            d.set("TargetFilename", &f.path);
            let created = if f.existed {
                let mut t = String::new();
                utc_time(
                    &mut t,
                    d.time - env.rng.range(10, 900_000) as i64 * 10_000_000,
                );
                t
            } else {
                d.get("UtcTime").unwrap_or_default().to_owned()
            };
            d.set("CreationUtcTime", &created);
            d.set("User", &sysmon_user(f.account, &env.ctx));
        }
        Kind::Sysmon12 | Kind::Sysmon13 => {
            sysmon_common(d, env);
            let r = sysmon::registry(&env.ctx, env.rng, d.kind == Kind::Sysmon13);
            let g = env.guid_started(secs(d.time), 1, 36_000);
            let pid = env.pid().to_string();
            d.set("EventType", r.event_type);
            d.set("ProcessGuid", &g);
            d.set("ProcessId", &pid);
            d.set("Image", &r.image);
            d.set("TargetObject", &r.target);
            d.set("Details", &r.details);
            d.set("User", &sysmon_user(r.account, &env.ctx));
        }
        Kind::Sysmon22 => {
            sysmon_common(d, env);
            let q = network::query(&env.ctx, env.rng);
            let g = env.guid_started(secs(d.time), 1, 36_000);
            let pid = env.pid().to_string();
            d.set("ProcessGuid", &g);
            d.set("ProcessId", &pid);
            d.set("QueryName", &q.name);
            d.set("QueryStatus", q.status);
            d.set("QueryResults", &q.results);
            d.set("Image", &q.image);
            d.set("User", &sysmon_user(q.account, &env.ctx));
        }
        Kind::Security4624 => {
            security_common(d, env);
            security::logon(d, &env.ctx, env.rng);
        }
        Kind::Security4625 => {
            security_common(d, env);
            security::failed_logon(d, &env.ctx, env.rng);
        }
        Kind::Security4662 => {
            security_common(d, env);
            security::ds_access(d, &env.ctx, env.rng);
        }
        Kind::Security4663 => {
            security_common(d, env);
            security::object_access(d, &env.ctx, env.rng);
        }
        Kind::Security4768 => {
            security_common(d, env);
            security::tgt(d, &env.ctx, env.rng);
        }
        Kind::Security4769 => {
            security_common(d, env);
            security::service_ticket(d, &env.ctx, env.rng);
        }
        Kind::Security5136 => {
            security_common(d, env);
            security::ds_change(d, &env.ctx, env.rng);
        }
        Kind::Security5145 => {
            security_common(d, env);
            d.execution.0 = 4;
            security::share_access(d, &env.ctx, env.rng);
        }
        Kind::System7045 => {
            d.execution = (
                env.ctx.host.services_pid,
                1_000 + 4 * env.rng.below(2_000) as u32,
            );
            security::service_install(d, &env.ctx, env.rng);
        }
        Kind::PowerShell4104 => {
            powershell::script(&env.ctx, env.rng, env.script);
            let text = std::mem::take(&mut env.script.text);
            let path = std::mem::take(&mut env.script.path);
            script_block(d, env, &text, &path);
            env.script.text = text;
            env.script.path = path;
        }
    }
}

fn security_common(d: &mut Draft<'_>, env: &mut Env<'_, '_>) {
    d.execution = (
        env.ctx.host.lsass_pid,
        1_000 + 4 * env.rng.below(2_000) as u32,
    );
    if d.template().system.activity {
        let mut a = String::with_capacity(38);
        super::fleet::guid(&mut a, env.rng);
        d.activity = Some(a);
    }
}

/// Writes a PowerShell 4104 event holding `text` (already escaped) from a script at `path`.
pub fn script_block(d: &mut Draft<'_>, env: &mut Env<'_, '_>, text: &str, path: &str) {
    let system = path.starts_with(r"C:\Windows\CCM") || path.contains("NETLOGON");
    d.user_id = Some(if system {
        "S-1-5-18".to_owned()
    } else {
        env.ctx.user.sid.clone()
    });
    let mut a = String::with_capacity(38);
    super::fleet::guid(&mut a, env.rng);
    d.activity = Some(a);
    d.execution = (env.pid(), 1_000 + 4 * env.rng.below(2_000) as u32);
    let mut id = String::with_capacity(38);
    super::fleet::guid(&mut id, env.rng);
    d.set("MessageNumber", "1");
    d.set("MessageTotal", "1");
    d.set("ScriptBlockText", text);
    d.set("ScriptBlockId", &id[1..37].to_ascii_lowercase());
    d.set("Path", path);
}

/// Writes a process start (Sysmon 1 or Security 4688).
pub fn process_start(d: &mut Draft<'_>, env: &mut Env<'_, '_>, s: &Start) {
    let pid = env.pid();
    let parent_pid = match basename(&s.parent_image).to_ascii_lowercase().as_str() {
        "explorer.exe" => env.ctx.host.explorer_pid,
        "services.exe" => env.ctx.host.services_pid,
        _ => env.pid(),
    };
    if d.kind == Kind::Security4688 {
        security_common(d, env);
        d.execution.0 = 4;
        let user = matches!(s.account, Account::User | Account::Admin);
        if user {
            d.set("SubjectUserSid", &env.ctx.user.sid);
            d.set("SubjectUserName", &env.ctx.user.sam);
            d.set("SubjectLogonId", &format!("0x{:x}", logon_id(&env.ctx)));
        } else {
            d.set("SubjectUserSid", "S-1-5-18");
            d.set("SubjectUserName", &format!("{}$", env.ctx.host.netbios));
            d.set("SubjectLogonId", "0x3e7");
        }
        d.set("SubjectDomainName", DOMAIN);
        d.set("NewProcessId", &format!("0x{pid:x}"));
        d.set("NewProcessName", &s.image);
        d.set(
            "TokenElevationType",
            if s.account == Account::User {
                "%%1938"
            } else {
                "%%1936"
            },
        );
        d.set("ProcessId", &format!("0x{parent_pid:x}"));
        d.set("CommandLine", &s.command);
        d.set("TargetUserSid", "S-1-0-0");
        d.set("TargetUserName", "-");
        d.set("TargetDomainName", "-");
        d.set("TargetLogonId", "0x0");
        d.set("ParentProcessName", &s.parent_image);
        d.set(
            "MandatoryLabel",
            match s.account {
                Account::User => "S-1-16-8192",
                Account::Admin => "S-1-16-12288",
                _ => "S-1-16-16384",
            },
        );
        return;
    }
    sysmon_common(d, env);
    let now = secs(d.time);
    let guid = env.process_guid(now);
    let parent_guid = env.guid_started(now, 1, 86_400);
    let lid = logon(s.account, &env.ctx);
    let mut logon_guid = String::with_capacity(38);
    let _ = write!(
        logon_guid,
        "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
        env.ctx.host.guid_prefix,
        (now as u32 / 86_400) & 0xFFFF,
        0x6745,
        (lid & 0xFFFF) as u16,
        lid >> 16
    );
    let parent_system = matches!(
        basename(&s.parent_image).to_ascii_lowercase().as_str(),
        "services.exe" | "svchost.exe" | "ccmexec.exe" | "searchindexer.exe" | "splunkd.exe"
    );
    let user = sysmon_user(s.account, &env.ctx);
    let parent_user = if parent_system {
        r"NT AUTHORITY\SYSTEM".to_owned()
    } else {
        user.clone()
    };
    let mut h = String::with_capacity(160);
    hashes(&mut h, &s.image, s.pe.version);
    d.set("ProcessGuid", &guid);
    d.set("ProcessId", &pid.to_string());
    d.set("Image", &s.image);
    d.set("FileVersion", s.pe.version);
    d.set("Description", s.pe.description);
    d.set("Product", s.pe.product);
    d.set("Company", s.pe.company);
    d.set("OriginalFileName", s.pe.original);
    d.set("CommandLine", &s.command);
    let cwd = if matches!(s.account, Account::User | Account::Admin) {
        format!(r"C:\Users\{}\", env.ctx.user.sam)
    } else {
        r"C:\Windows\system32\".to_owned()
    };
    d.set("CurrentDirectory", &cwd);
    d.set("User", &user);
    d.set("LogonGuid", &logon_guid);
    d.set("LogonId", &format!("0x{lid:x}"));
    d.set(
        "TerminalSessionId",
        if matches!(s.account, Account::User | Account::Admin) {
            "1"
        } else {
            "0"
        },
    );
    d.set(
        "IntegrityLevel",
        match s.account {
            Account::User => "Medium",
            Account::Admin => "High",
            _ => "System",
        },
    );
    d.set("Hashes", &h);
    d.set("ParentProcessGuid", &parent_guid);
    d.set("ParentProcessId", &parent_pid.to_string());
    d.set("ParentImage", &s.parent_image);
    d.set("ParentCommandLine", &s.parent_command);
    d.set("ParentUser", &parent_user);
}

fn connection(d: &mut Draft<'_>, env: &mut Env<'_, '_>) {
    sysmon_common(d, env);
    let c = network::connection(&env.ctx, env.rng);
    let pid = match basename(&c.image).to_ascii_lowercase().as_str() {
        "system" => 4,
        "lsass.exe" => env.ctx.host.lsass_pid,
        _ => env.pid(),
    };
    let g = env.guid_started(secs(d.time), 1, 86_400);
    d.set("ProcessGuid", &g);
    d.set("ProcessId", &pid.to_string());
    d.set("Image", &c.image);
    d.set("User", &sysmon_user(c.account, &env.ctx));
    d.set("Protocol", c.protocol);
    d.set("Initiated", if c.initiated { "true" } else { "false" });
    d.set("SourceIsIpv6", "false");
    d.set("SourceIp", &c.source_ip);
    d.set("SourceHostname", &c.source_host);
    d.set("SourcePort", &c.source_port.to_string());
    d.set("SourcePortName", network::port_name(c.source_port));
    d.set("DestinationIsIpv6", "false");
    d.set("DestinationIp", &c.dest_ip);
    d.set("DestinationHostname", &c.dest_host);
    d.set("DestinationPort", &c.dest_port.to_string());
    d.set("DestinationPortName", network::port_name(c.dest_port));
}

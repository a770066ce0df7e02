//! A deterministic benchmark corpus: Sysmon Event ID 1 and Security 4688 events as Splunk
//! `XmlWinEventLog` lines, from templates written for cimhunt, with a known number of true
//! positives for the seed detection and of near misses.

use std::io::{self, Write};

/// What a generated corpus holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Manifest {
    /// Events written.
    pub events: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Events the seed detection matches; each forms its own result row.
    pub true_positives: u64,
    /// msiexec events without a URL, or URLs in other processes: must not match.
    pub near_misses: u64,
}

/// splitmix64: a small deterministic generator (the corpus must be identical on every machine).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const HOSTS: &[&str] = &[
    "ws-fin-01.corp.example",
    "ws-fin-02.corp.example",
    "ws-hr-03.corp.example",
    "ws-eng-14.corp.example",
    "ws-eng-22.corp.example",
    "srv-app-02.corp.example",
    "srv-db-01.corp.example",
    "srv-dc-01.corp.example",
    "lt-sales-11.corp.example",
    "ws-build-07.corp.example",
];
const USERS: &[&str] = &[
    r"CORP\jdoe",
    r"CORP\asmith",
    r"CORP\mlopez",
    r"CORP\kchen",
    r"CORP\svc-backup",
    r"NT AUTHORITY\SYSTEM",
    r"CORP\rpatel",
    r"CORP\tnguyen",
];
/// A kind of process start: how often it occurs, its parent, and the new process.
struct Template {
    /// Relative frequency.
    weight: u64,
    parent_image: &'static str,
    parent_command: &'static str,
    image: &'static str,
    original_file_name: &'static str,
    /// `{n}` becomes a random number, `{g}` a random GUID.
    command: &'static str,
}

const fn t(
    weight: u64,
    parent_image: &'static str,
    parent_command: &'static str,
    image: &'static str,
    original_file_name: &'static str,
    command: &'static str,
) -> Template {
    Template {
        weight,
        parent_image,
        parent_command,
        image,
        original_file_name,
        command,
    }
}

/// A workstation and server fleet's process starts, benign background work first, then the
/// rarer administrative activity that security content looks at. Weights are per 10,000 events.
const TEMPLATES: &[Template] = &[
    t(
        1500,
        r"C:\Windows\System32\services.exe",
        r"C:\Windows\system32\services.exe",
        r"C:\Windows\System32\svchost.exe",
        "svchost.exe",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
    ),
    t(
        700,
        r"C:\Windows\System32\services.exe",
        r"C:\Windows\system32\services.exe",
        r"C:\Windows\System32\svchost.exe",
        "svchost.exe",
        r"C:\Windows\System32\svchost.exe -k LocalServiceNetworkRestricted -p -s Dhcp",
    ),
    t(
        500,
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k DcomLaunch -p",
        r"C:\Windows\System32\RuntimeBroker.exe",
        "RuntimeBroker.exe",
        r"C:\Windows\System32\RuntimeBroker.exe -Embedding",
    ),
    t(
        500,
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k DcomLaunch -p",
        r"C:\Windows\System32\dllhost.exe",
        "dllhost.exe",
        r"C:\Windows\system32\DllHost.exe /Processid:{g}",
    ),
    t(
        400,
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k DcomLaunch -p",
        r"C:\Windows\System32\backgroundTaskHost.exe",
        "backgroundTaskHost.exe",
        r#""C:\Windows\system32\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider{n}"#,
    ),
    t(
        300,
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
        r"C:\Windows\System32\taskhostw.exe",
        "taskhostw.exe",
        "taskhostw.exe KEYROAMING",
    ),
    t(
        300,
        r"C:\Windows\System32\SearchIndexer.exe",
        r"C:\Windows\system32\SearchIndexer.exe /Embedding",
        r"C:\Windows\System32\SearchProtocolHost.exe",
        "SearchProtocolHost.exe",
        r#""C:\Windows\system32\SearchProtocolHost.exe" Global\UsGthrFltPipeMssGthrPipe{n}_ Global\UsGthrCtrlFltPipeMssGthrPipe{n} 1 -2147483646 "Software\Microsoft\Windows Search""#,
    ),
    t(
        1800,
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe""#,
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        "chrome.exe",
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --display-capture-permissions-policy-allowed --lang=en-US --device-scale-factor=1 --num-raster-threads=4 --renderer-client-id={n} --field-trial-handle=1984,i,{n},262144 /prefetch:1"#,
    ),
    t(
        800,
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --no-startup-window"#,
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        "msedge.exe",
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none --field-trial-handle=2020,i,{n},131072 /prefetch:3"#,
    ),
    t(
        300,
        r"C:\Windows\explorer.exe",
        r"C:\Windows\Explorer.EXE",
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        "msedge.exe",
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --single-argument https://intranet.corp.example/wiki/page{n}"#,
    ),
    t(
        300,
        r"C:\Users\Public\AppData\Local\Programs\Microsoft VS Code\Code.exe",
        r#""C:\Users\Public\AppData\Local\Programs\Microsoft VS Code\Code.exe""#,
        r"C:\Program Files\Git\cmd\git.exe",
        "git.exe",
        r"git.exe -c core.quotepath=false status -z -uall",
    ),
    t(
        300,
        r"C:\Users\Public\AppData\Local\Programs\Microsoft VS Code\Code.exe",
        r#""C:\Users\Public\AppData\Local\Programs\Microsoft VS Code\Code.exe""#,
        r"C:\Users\Public\AppData\Local\Programs\Microsoft VS Code\Code.exe",
        "Code.exe",
        r#""C:\Users\Public\AppData\Local\Programs\Microsoft VS Code\Code.exe" --type=utility --utility-sub-type=node.mojom.NodeService --lang=en-US --field-trial-handle={n}"#,
    ),
    t(
        300,
        r"C:\Windows\System32\cmd.exe",
        r#""C:\Windows\system32\cmd.exe""#,
        r"C:\Windows\System32\conhost.exe",
        "CONHOST.EXE",
        r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1",
    ),
    t(
        250,
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k DcomLaunch -p",
        r"C:\Windows\System32\wbem\WmiPrvSE.exe",
        "Wmiprvse.exe",
        r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
    ),
    t(
        200,
        r"C:\Windows\explorer.exe",
        r"C:\Windows\Explorer.EXE",
        r"C:\Users\Public\AppData\Local\Microsoft\OneDrive\OneDrive.exe",
        "OneDrive.exe",
        r#""C:\Users\Public\AppData\Local\Microsoft\OneDrive\OneDrive.exe" /background"#,
    ),
    t(
        150,
        r"C:\Windows\explorer.exe",
        r"C:\Windows\Explorer.EXE",
        r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
        "Excel.exe",
        r#""C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE" "C:\Users\Public\Documents\Budget{n}.xlsx""#,
    ),
    t(
        150,
        r"C:\Windows\explorer.exe",
        r"C:\Windows\Explorer.EXE",
        r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
        "WinWord.exe",
        r#""C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE" /n "C:\Users\Public\Documents\Report{n}.docx""#,
    ),
    t(
        100,
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s wuauserv",
        r"C:\Windows\System32\MoUsoCoreWorker.exe",
        "MoUsoCoreWorker.exe",
        r"C:\Windows\System32\mousocoreworker.exe -Embedding",
    ),
    t(
        100,
        r"C:\Windows\System32\services.exe",
        r"C:\Windows\system32\services.exe",
        r"C:\Program Files\Java\jre1.8.0_401\bin\java.exe",
        "java.exe",
        r#""C:\Program Files\Java\jre1.8.0_401\bin\java.exe" -Xmx512m -jar C:\Apps\inventory\agent{n}.jar"#,
    ),
    t(
        100,
        r"C:\Windows\explorer.exe",
        r"C:\Windows\Explorer.EXE",
        r"C:\Windows\System32\notepad.exe",
        "NOTEPAD.EXE",
        r#""C:\Windows\system32\NOTEPAD.EXE" C:\Users\Public\Documents\notes{n}.txt"#,
    ),
    t(
        80,
        r"C:\Windows\System32\services.exe",
        r"C:\Windows\system32\services.exe",
        r"C:\Windows\System32\msiexec.exe",
        "msiexec.exe",
        r"C:\Windows\system32\msiexec.exe /V",
    ),
    t(
        50,
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k WerSvcGroup",
        r"C:\Windows\System32\wermgr.exe",
        "WerMgr",
        r"C:\Windows\system32\wermgr.exe -upload",
    ),
    t(
        40,
        r"C:\Windows\CCM\CcmExec.exe",
        r"C:\Windows\CCM\CcmExec.exe",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        "PowerShell.EXE",
        r"powershell.exe -NoProfile -NonInteractive -File C:\Windows\CCM\SystemTemp\{g}.ps1",
    ),
    t(
        30,
        r"C:\Windows\explorer.exe",
        r"C:\Windows\Explorer.EXE",
        r"C:\Windows\System32\cmd.exe",
        "Cmd.Exe",
        r#""C:\Windows\system32\cmd.exe""#,
    ),
    t(
        10,
        r"C:\Windows\CCM\CcmExec.exe",
        r"C:\Windows\CCM\CcmExec.exe",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        "PowerShell.EXE",
        r"powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\Windows\CCM\SystemTemp\inventory{n}.ps1",
    ),
    t(
        10,
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
        r"C:\Windows\System32\cmd.exe",
        "Cmd.Exe",
        r#"C:\Windows\system32\cmd.exe /c "C:\Scripts\rotate-logs.cmd &gt;&gt; C:\Scripts\rotate{n}.log""#,
    ),
    t(
        5,
        r"C:\Windows\System32\cmd.exe",
        r#""C:\Windows\system32\cmd.exe""#,
        r"C:\Windows\System32\reg.exe",
        "reg.exe",
        r#"reg query "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run" /v Updater{n}"#,
    ),
    t(
        3,
        r"C:\Windows\System32\cmd.exe",
        r#""C:\Windows\system32\cmd.exe""#,
        r"C:\Windows\System32\whoami.exe",
        "whoami.exe",
        "whoami /groups",
    ),
];
const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// One process start to write.
struct Start<'a> {
    record: u64,
    time: &'a str,
    pid: u64,
    image: &'a str,
    original_file_name: &'a str,
    command: &'a str,
    parent_image: &'a str,
    parent_command: &'a str,
}

fn sysmon_line(out: &mut String, rng: &mut Rng, e: &Start<'_>) {
    let host = rng.pick(HOSTS);
    let user = rng.pick(USERS);
    let ppid = 1000 + rng.below(60_000);
    let guid = rng.next();
    let Start {
        record,
        time,
        pid,
        image,
        original_file_name,
        command,
        parent_image,
        parent_command,
    } = e;
    out.push_str(&format!(
        "<Event xmlns='{NS}'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{{5770385F-C22A-43E0-BF4C-06F5698FFBD9}}'/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='{time}'/><EventRecordID>{record}</EventRecordID><Correlation/><Execution ProcessID='3012' ThreadID='4120'/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>{host}</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'>-</Data><Data Name='UtcTime'>{}</Data><Data Name='ProcessGuid'>{{6B3C1A20-{:04X}-{:04X}-{:04X}-{:012X}}}</Data><Data Name='ProcessId'>{pid}</Data><Data Name='Image'>{image}</Data><Data Name='FileVersion'>10.0.19041.1</Data><Data Name='Description'>-</Data><Data Name='Product'>Microsoft® Windows® Operating System</Data><Data Name='Company'>Microsoft Corporation</Data><Data Name='OriginalFileName'>{original_file_name}</Data><Data Name='CommandLine'>{command}</Data><Data Name='CurrentDirectory'>C:\\Windows\\system32\\</Data><Data Name='User'>{user}</Data><Data Name='LogonGuid'>{{6B3C1A20-0E41-6745-9A03-000000000000}}</Data><Data Name='LogonId'>0x{:x}</Data><Data Name='TerminalSessionId'>1</Data><Data Name='IntegrityLevel'>Medium</Data><Data Name='Hashes'>SHA256={:016X}{:016X}{:016X}{:016X}</Data><Data Name='ParentProcessGuid'>{{6B3C1A20-11A9-6745-0E01-{:012X}}}</Data><Data Name='ParentProcessId'>{ppid}</Data><Data Name='ParentImage'>{parent_image}</Data><Data Name='ParentCommandLine'>{parent_command}</Data></EventData></Event>\n",
        time.replace('T', " ").trim_end_matches('Z'),
        guid & 0xFFFF,
        (guid >> 16) & 0xFFFF,
        (guid >> 32) & 0xFFFF,
        guid >> 16,
        rng.below(1 << 24),
        rng.next(),
        rng.next(),
        rng.next(),
        rng.next(),
        rng.below(1 << 40),
    ));
}

fn security_line(out: &mut String, rng: &mut Rng, e: &Start<'_>) {
    let host = rng.pick(HOSTS);
    let user = rng.pick(USERS).rsplit('\\').next().unwrap_or("user");
    let Start {
        record,
        time,
        pid,
        image,
        command,
        parent_image,
        ..
    } = e;
    out.push_str(&format!(
        "<Event xmlns='{NS}'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{{54849625-5478-4994-A5BA-3E3B0328C30D}}'/><EventID>4688</EventID><Version>2</Version><Level>0</Level><Task>13312</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='{time}'/><EventRecordID>{record}</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='276'/><Channel>Security</Channel><Computer>{host}</Computer><Security/></System><EventData><Data Name='SubjectUserSid'>S-1-5-18</Data><Data Name='SubjectUserName'>{}$</Data><Data Name='SubjectDomainName'>CORP</Data><Data Name='SubjectLogonId'>0x3e7</Data><Data Name='NewProcessId'>0x{pid:x}</Data><Data Name='NewProcessName'>{image}</Data><Data Name='TokenElevationType'>%%1936</Data><Data Name='ProcessId'>0x{:x}</Data><Data Name='CommandLine'>{command}</Data><Data Name='TargetUserSid'>S-1-0-0</Data><Data Name='TargetUserName'>{user}</Data><Data Name='TargetDomainName'>CORP</Data><Data Name='TargetLogonId'>0x{:x}</Data><Data Name='ParentProcessName'>{parent_image}</Data><Data Name='MandatoryLabel'>Mandatory Label\\Medium Mandatory Level</Data></EventData></Event>\n",
        host.split('.').next().unwrap_or(host).to_uppercase(),
        1000 + rng.below(60_000),
        rng.below(1 << 32),
    ));
}

/// Picks a template by weight.
fn pick_template(rng: &mut Rng, total: u64) -> &'static Template {
    let mut x = rng.below(total);
    for t in TEMPLATES {
        if x < t.weight {
            return t;
        }
        x -= t.weight;
    }
    &TEMPLATES[0]
}

fn fill(template: &str, rng: &mut Rng) -> String {
    let mut out = template.replace("{n}", &rng.below(100_000).to_string());
    if out.contains("{g}") {
        let g = rng.next();
        let guid = format!(
            "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
            g >> 32,
            (g >> 16) & 0xFFFF,
            g & 0xFFFF,
            rng.below(1 << 16),
            rng.below(1 << 48)
        );
        out = out.replace("{g}", &guid);
    }
    out
}

/// Writes about `target_bytes` of events, two thirds Sysmon, one third 4688; every 5,000th
/// event is a true positive (with a unique process id, so one row each) and every 400th a near
/// miss; the rest follow [`TEMPLATES`].
pub fn generate(out: &mut dyn Write, target_bytes: u64) -> io::Result<Manifest> {
    let mut rng = Rng(0x00C1_3A47_u64);
    let total: u64 = TEMPLATES.iter().map(|t| t.weight).sum();
    let mut m = Manifest::default();
    let mut buf = String::with_capacity(1 << 20);
    let start: i64 = 1_795_000_000; // 2026-11-18
    while m.bytes < target_bytes {
        let n = m.events;
        let secs = start + (n / 20) as i64;
        let time = format!("{}.{:07}00Z", civil(secs), rng.below(10_000_000));
        let msiexec = r"C:\Windows\System32\msiexec.exe";
        let (image, original, command, parent_image, parent_command) = if n % 5_000 == 4_999 {
            m.true_positives += 1;
            let scheme = if n % 2 == 0 { "http" } else { "HTTPS" };
            let command = format!(
                "msiexec.exe /q /i {scheme}://dl{}.example.net/pkg/agent{n}.msi",
                n % 97
            );
            (
                msiexec,
                "msiexec.exe",
                command,
                r"C:\Windows\System32\cmd.exe",
                r#""C:\Windows\system32\cmd.exe""#.to_owned(),
            )
        } else if n % 400 == 199 {
            m.near_misses += 1;
            let command = if n % 800 == 199 {
                format!(r"msiexec.exe /i C:\Installers\tool{n}.msi /qn")
            } else {
                format!(r"msiexec.exe /i \\fileserver\share\pkg{n}.msi http:/not-a-url")
            };
            (
                msiexec,
                "msiexec.exe",
                command,
                r"C:\Windows\explorer.exe",
                r"C:\Windows\Explorer.EXE".to_owned(),
            )
        } else {
            let t = pick_template(&mut rng, total);
            let command = fill(t.command, &mut rng);
            (
                t.image,
                t.original_file_name,
                command,
                t.parent_image,
                t.parent_command.to_owned(),
            )
        };
        let e = Start {
            record: n,
            time: &time,
            pid: 100_000 + n,
            image,
            original_file_name: original,
            command: &command,
            parent_image,
            parent_command: &parent_command,
        };
        if n % 3 == 2 {
            security_line(&mut buf, &mut rng, &e);
        } else {
            sysmon_line(&mut buf, &mut rng, &e);
        }
        m.events += 1;
        if buf.len() >= 1 << 20 {
            m.bytes += buf.len() as u64;
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    m.bytes += buf.len() as u64;
    out.write_all(buf.as_bytes())?;
    Ok(m)
}

/// `YYYY-MM-DDTHH:MM:SS` of epoch seconds (UTC).
fn civil(secs: i64) -> String {
    let t = cimhunt_spl::Timestamp::from_nanos(secs * 1_000_000_000, 0).to_string();
    t.trim_end_matches('Z').to_owned()
}

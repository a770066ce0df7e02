//! Process starts of a Windows fleet (Sysmon 1 and Security 4688 share them), with the
//! version information Sysmon reads from each binary.
//!
//! Weights are per 10,000 starts: background services and browser and collaboration processes
//! first, then office work, developer tools, management agents (SCCM, Defender, the Splunk
//! forwarder) and the rarer administrative commands.

use super::{Ctx, basename, expand};
use crate::mixed::rng::Rng;

/// What Sysmon reads from a binary's version resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pe {
    pub original: &'static str,
    pub description: &'static str,
    pub product: &'static str,
    pub company: &'static str,
    pub version: &'static str,
}

const WIN: &str = "Microsoft® Windows® Operating System";
const MS: &str = "Microsoft Corporation";
const BUILD: &str = "10.0.19041.4355 (WinBuild.160101.0800)";

const fn win(original: &'static str, description: &'static str) -> Pe {
    Pe {
        original,
        description,
        product: WIN,
        company: MS,
        version: BUILD,
    }
}

pub const SVCHOST: Pe = win("svchost.exe", "Host Process for Windows Services");
pub const CMD: Pe = win("Cmd.Exe", "Windows Command Processor");
pub const POWERSHELL: Pe = win("PowerShell.EXE", "Windows PowerShell");
pub const RUNDLL32: Pe = win("RUNDLL32.EXE", "Windows host process (Rundll32)");
pub const EXPLORER: Pe = win("EXPLORER.EXE", "Windows Explorer");
pub const MSIEXEC: Pe = win("msiexec.exe", "Windows® installer");
pub const VSSADMIN: Pe = win(
    "VSSADMIN.EXE",
    "Command Line Interface for Microsoft® Volume Shadow Copy Service ",
);
pub const WMIC: Pe = win("wmic.exe", "WMI Commandline Utility");
pub const CERTUTIL: Pe = win("CertUtil.exe", "CertUtil.exe");
pub const NTDSUTIL: Pe = win("ntdsutil.exe", "NT5DS");
pub const BCDEDIT: Pe = win("bcdedit.exe", "Boot Configuration Data Editor");
pub const WEVTUTIL: Pe = win("wevtutil.exe", "Eventing Command Line Utility");

const CHROME: Pe = Pe {
    original: "chrome.exe",
    description: "Google Chrome",
    product: "Google Chrome",
    company: "Google LLC",
    version: "131.0.6778.140",
};
const EDGE: Pe = Pe {
    original: "msedge.exe",
    description: "Microsoft Edge",
    product: "Microsoft Edge",
    company: MS,
    version: "131.0.2903.86",
};
const WEBVIEW: Pe = Pe {
    original: "msedgewebview2.exe",
    description: "Microsoft Edge WebView2",
    product: "Microsoft Edge WebView2",
    company: MS,
    version: "131.0.2903.86",
};
const ONEDRIVE: Pe = Pe {
    original: "OneDrive.exe",
    description: "Microsoft OneDrive",
    product: "Microsoft OneDrive",
    company: MS,
    version: "24.216.1027.0001",
};
const CODE: Pe = Pe {
    original: "electron.exe",
    description: "Visual Studio Code",
    product: "Visual Studio Code",
    company: MS,
    version: "1.95.3",
};
const GIT: Pe = Pe {
    original: "git.exe",
    description: "Git for Windows",
    product: "Git",
    company: "The Git Development Community",
    version: "2.47.1.windows.1",
};
const OFFICE: &str = "Microsoft Office";
const EXCEL: Pe = Pe {
    original: "Excel.exe",
    description: "Microsoft Excel",
    product: OFFICE,
    company: MS,
    version: "16.0.18129.20158",
};
const WORD: Pe = Pe {
    original: "WinWord.exe",
    description: "Microsoft Word",
    product: OFFICE,
    company: MS,
    version: "16.0.18129.20158",
};
const OUTLOOK: Pe = Pe {
    original: "Outlook.exe",
    description: "Microsoft Outlook",
    product: OFFICE,
    company: MS,
    version: "16.0.18129.20158",
};
const C2R: Pe = Pe {
    original: "OfficeC2RClient.exe",
    description: "Microsoft Office Click-to-Run Client",
    product: OFFICE,
    company: MS,
    version: "16.0.18129.20158",
};
const MPCMDRUN: Pe = Pe {
    original: "MpCmdRun.exe",
    description: "Microsoft Malware Protection Command Line Utility",
    product: WIN,
    company: MS,
    version: "4.18.24090.11 (a6ad5a3c2b0ea0c8dce7c5e9e8f7a6f2b2fd4e16)",
};
const JAVA: Pe = Pe {
    original: "java.exe",
    description: "Java(TM) Platform SE binary",
    product: "Java(TM) Platform SE 8",
    company: "Oracle Corporation",
    version: "8.0.4110.9",
};
const SPLUNK: Pe = Pe {
    original: "splunk-winevtlog.exe",
    description: "Windows Event Log monitor",
    product: "splunk Application",
    company: "Splunk Inc.",
    version: "9.3.2",
};
const PYTHON: Pe = Pe {
    original: "python.exe",
    description: "Python",
    product: "Python",
    company: "Python Software Foundation",
    version: "3.11.9",
};
const NODE: Pe = Pe {
    original: "node.exe",
    description: "Node.js JavaScript Runtime",
    product: "Node.js",
    company: "Node.js",
    version: "20.18.1",
};

/// Who a process runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    System,
    LocalService,
    NetworkService,
    /// The event's user, at medium integrity.
    User,
    /// The event's user, elevated.
    Admin,
}

/// A kind of process start.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub weight: u64,
    pub image: &'static str,
    pub pe: Pe,
    pub command: &'static str,
    pub parent: &'static str,
    pub parent_command: &'static str,
    pub account: Account,
}

const fn k(
    weight: u64,
    image: &'static str,
    pe: Pe,
    command: &'static str,
    parent: &'static str,
    parent_command: &'static str,
    account: Account,
) -> Kind {
    Kind {
        weight,
        image,
        pe,
        command,
        parent,
        parent_command,
        account,
    }
}

const SVC_EXE: &str = r"C:\Windows\System32\svchost.exe";
const SERVICES_EXE: &str = r"C:\Windows\System32\services.exe";
const DCOM: &str = r"C:\Windows\system32\svchost.exe -k DcomLaunch -p";
const SCHEDULE: &str = r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule";
const EXPLORER_EXE: &str = r"C:\Windows\explorer.exe";
const CHROME_EXE: &str = r"C:\Program Files\Google\Chrome\Application\chrome.exe";
const EDGE_EXE: &str = r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe";
const CMD_EXE: &str = r"C:\Windows\System32\cmd.exe";
const CCM: &str = r"C:\Windows\CCM\CcmExec.exe";
const CODE_EXE: &str = r"C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe";
use Account::*;

/// The fleet's process starts.
pub const KINDS: &[Kind] = &[
    k(
        900,
        SVC_EXE,
        SVCHOST,
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
        SERVICES_EXE,
        r"C:\Windows\system32\services.exe",
        System,
    ),
    k(
        350,
        SVC_EXE,
        SVCHOST,
        r"C:\Windows\System32\svchost.exe -k LocalServiceNetworkRestricted -p -s Dhcp",
        SERVICES_EXE,
        r"C:\Windows\system32\services.exe",
        LocalService,
    ),
    k(
        300,
        SVC_EXE,
        SVCHOST,
        r"C:\Windows\system32\svchost.exe -k NetworkService -p -s Dnscache",
        SERVICES_EXE,
        r"C:\Windows\system32\services.exe",
        NetworkService,
    ),
    k(
        200,
        SVC_EXE,
        SVCHOST,
        r"C:\Windows\system32\svchost.exe -k UnistackSvcGroup -s CDPUserSvc_{hex}",
        SERVICES_EXE,
        r"C:\Windows\system32\services.exe",
        User,
    ),
    k(
        400,
        r"C:\Windows\System32\RuntimeBroker.exe",
        win("RuntimeBroker.exe", "Runtime Broker"),
        r"C:\Windows\System32\RuntimeBroker.exe -Embedding",
        SVC_EXE,
        DCOM,
        User,
    ),
    k(
        350,
        r"C:\Windows\System32\dllhost.exe",
        win("dllhost.exe", "COM Surrogate"),
        r"C:\Windows\system32\DllHost.exe /Processid:{guid}",
        SVC_EXE,
        DCOM,
        User,
    ),
    k(
        300,
        r"C:\Windows\System32\backgroundTaskHost.exe",
        win("backgroundTaskHost.exe", "Background Task Host"),
        r#""C:\Windows\system32\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider"#,
        SVC_EXE,
        DCOM,
        User,
    ),
    k(
        250,
        r"C:\Windows\System32\taskhostw.exe",
        win("taskhostw.exe", "Host Process for Windows Tasks"),
        "taskhostw.exe -RegisterDevice -ProtectionStateChanged -FreeNetworkOnly",
        SVC_EXE,
        SCHEDULE,
        System,
    ),
    k(
        250,
        r"C:\Windows\System32\SearchProtocolHost.exe",
        win(
            "SearchProtocolHost.exe",
            "Microsoft Windows Search Protocol Host",
        ),
        r#""C:\Windows\system32\SearchProtocolHost.exe" Global\UsGthrFltPipeMssGthrPipe{n}_ Global\UsGthrCtrlFltPipeMssGthrPipe{n} 1 -2147483646 "Software\Microsoft\Windows Search" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)" "C:\ProgramData\Microsoft\Search\Data\Temp\usgthrsvc" "DownLevelDaemon" "1""#,
        r"C:\Windows\System32\SearchIndexer.exe",
        r"C:\Windows\system32\SearchIndexer.exe /Embedding",
        System,
    ),
    k(
        200,
        r"C:\Windows\System32\SearchFilterHost.exe",
        win(
            "SearchFilterHost.exe",
            "Microsoft Windows Search Filter Host",
        ),
        r#""C:\Windows\system32\SearchFilterHost.exe" 0 {n4} {n4} {n4} 8192 {n4} "#,
        r"C:\Windows\System32\SearchIndexer.exe",
        r"C:\Windows\system32\SearchIndexer.exe /Embedding",
        System,
    ),
    k(
        1300,
        CHROME_EXE,
        CHROME,
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=en-US --device-scale-factor=1 --num-raster-threads=4 --enable-main-frame-before-activation --renderer-client-id={n} --time-ticks-at-unix-epoch=-{n}{n4} --launch-time-ticks={n}{n4} --field-trial-handle=1984,i,{n}{n4},{n4},262144 --variations-seed-version=20241203-{n2}0{n4}.{n2}000 --mojo-platform-channel-handle={n4} /prefetch:1"#,
        CHROME_EXE,
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe""#,
        User,
    ),
    k(
        400,
        CHROME_EXE,
        CHROME,
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe" --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none --field-trial-handle=1984,i,{n}{n4},{n4},262144 --variations-seed-version=20241203-{n2}0{n4}.{n2}000 --mojo-platform-channel-handle={n4} /prefetch:11"#,
        CHROME_EXE,
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe""#,
        User,
    ),
    k(
        500,
        EDGE_EXE,
        EDGE,
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --type=renderer --instant-process --lang=en-US --js-flags=--ms-user-locale= --device-scale-factor=1 --num-raster-threads=4 --renderer-client-id={n} --field-trial-handle=2020,i,{n}{n4},{n4},262144 --mojo-platform-channel-handle={n4} /prefetch:1"#,
        EDGE_EXE,
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --no-startup-window"#,
        User,
    ),
    k(
        150,
        EDGE_EXE,
        EDGE,
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --single-argument https://intranet.{domain}/sites/{word}/page{n}"#,
        EXPLORER_EXE,
        r"C:\Windows\Explorer.EXE",
        User,
    ),
    k(
        300,
        r"C:\Program Files (x86)\Microsoft\EdgeWebView\Application\131.0.2903.86\msedgewebview2.exe",
        WEBVIEW,
        r#""C:\Program Files (x86)\Microsoft\EdgeWebView\Application\131.0.2903.86\msedgewebview2.exe" --type=renderer --noerrdialogs --user-data-dir="C:\Users\{user}\AppData\Local\Packages\MSTeams_8wekyb3d8bbwe\LocalCache\Microsoft\MSTeams\EBWebView" --webview-exe-name=ms-teams.exe --webview-exe-version=24295.605.3225.8804 --embedded-browser-webview=1 --renderer-client-id={n} --mojo-platform-channel-handle={n4} /prefetch:1"#,
        r"C:\Program Files\WindowsApps\MSTeams_24295.605.3225.8804_x64__8wekyb3d8bbwe\ms-teams.exe",
        r#""C:\Program Files\WindowsApps\MSTeams_24295.605.3225.8804_x64__8wekyb3d8bbwe\ms-teams.exe" msteams:system-initiated"#,
        User,
    ),
    k(
        200,
        r"C:\Users\{user}\AppData\Local\Microsoft\OneDrive\OneDrive.exe",
        ONEDRIVE,
        r#""C:\Users\{user}\AppData\Local\Microsoft\OneDrive\OneDrive.exe" /background"#,
        EXPLORER_EXE,
        r"C:\Windows\Explorer.EXE",
        User,
    ),
    k(
        60,
        r"C:\Users\{user}\AppData\Local\Microsoft\OneDrive\24.216.1027.0001\FileSyncHelper.exe",
        ONEDRIVE,
        r#""C:\Users\{user}\AppData\Local\Microsoft\OneDrive\24.216.1027.0001\FileSyncHelper.exe" -Embedding"#,
        SVC_EXE,
        DCOM,
        User,
    ),
    k(
        200,
        r"C:\Program Files\Git\cmd\git.exe",
        GIT,
        "git.exe -c core.quotepath=false -c color.ui=false rev-parse --show-toplevel",
        CODE_EXE,
        r#""C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe""#,
        User,
    ),
    k(
        150,
        r"C:\Program Files\Git\cmd\git.exe",
        GIT,
        "git.exe -c core.quotepath=false -c color.ui=false fetch --prune origin",
        CODE_EXE,
        r#""C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe""#,
        User,
    ),
    k(
        150,
        CODE_EXE,
        CODE,
        r#""C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe" --type=utility --utility-sub-type=node.mojom.NodeService --lang=en-US --service-sandbox-type=none --field-trial-handle={n4},i,{n}{n4},{n4},262144 --mojo-platform-channel-handle={n4} /prefetch:8"#,
        CODE_EXE,
        r#""C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe""#,
        User,
    ),
    k(
        250,
        r"C:\Windows\System32\conhost.exe",
        win("CONHOST.EXE", "Console Window Host"),
        r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1",
        CMD_EXE,
        r#"C:\Windows\system32\cmd.exe /c "C:\ProgramData\{word}\Tasks\sync-{n2}.cmd""#,
        System,
    ),
    k(
        200,
        r"C:\Windows\System32\wbem\WmiPrvSE.exe",
        win("Wmiprvse.exe", "WMI Provider Host"),
        r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
        SVC_EXE,
        DCOM,
        NetworkService,
    ),
    k(
        120,
        r"C:\Program Files\Common Files\microsoft shared\ClickToRun\OfficeC2RClient.exe",
        C2R,
        r#""C:\Program Files\Common Files\microsoft shared\ClickToRun\OfficeC2RClient.exe" /frequentupdate SCHEDULEDTASK displaylevel=False"#,
        SVC_EXE,
        SCHEDULE,
        System,
    ),
    k(
        150,
        r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
        EXCEL,
        r#""C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE" "C:\Users\{user}\OneDrive - Corp\Documents\{word} {n4}.xlsx""#,
        EXPLORER_EXE,
        r"C:\Windows\Explorer.EXE",
        User,
    ),
    k(
        150,
        r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
        WORD,
        r#""C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE" /n "C:\Users\{user}\Documents\{word}_{date}.docx" /o """#,
        EXPLORER_EXE,
        r"C:\Windows\Explorer.EXE",
        User,
    ),
    k(
        100,
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
        OUTLOOK,
        r#""C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE" "#,
        EXPLORER_EXE,
        r"C:\Windows\Explorer.EXE",
        User,
    ),
    k(
        100,
        r"C:\Windows\System32\MoUsoCoreWorker.exe",
        win("MoUsoCoreWorker.exe", "MoUSO Core Worker Process"),
        r"C:\Windows\System32\mousocoreworker.exe -Embedding",
        SVC_EXE,
        DCOM,
        System,
    ),
    k(
        100,
        r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe",
        MPCMDRUN,
        r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe" SignatureUpdate -ScheduleJob -RestrictPrivileges -DailyReleases"#,
        SVC_EXE,
        SCHEDULE,
        System,
    ),
    k(
        80,
        r"C:\Program Files\Java\jre1.8.0_411\bin\java.exe",
        JAVA,
        r#""C:\Program Files\Java\jre1.8.0_411\bin\java.exe" -Xmx512m -Dapp.node={host} -jar C:\Apps\inventory\agent-{n4}.jar --poll {n2}"#,
        SERVICES_EXE,
        r"C:\Windows\system32\services.exe",
        System,
    ),
    k(
        80,
        r"C:\Program Files\SplunkUniversalForwarder\bin\splunk-winevtlog.exe",
        SPLUNK,
        r#""C:\Program Files\SplunkUniversalForwarder\bin\splunk-winevtlog.exe""#,
        r"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe",
        r#""C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe" service"#,
        System,
    ),
    k(
        70,
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        POWERSHELL,
        r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoLogo -Noninteractive -NoProfile -ExecutionPolicy Bypass -File "C:\Windows\CCM\SystemTemp\{lguid}.ps1""#,
        CCM,
        r#""C:\Windows\CCM\CcmExec.exe""#,
        System,
    ),
    k(
        40,
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        POWERSHELL,
        r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoLogo -NonInteractive -Command "Get-Service -Name Spooler, W32Time | Select-Object Name, Status""#,
        EXPLORER_EXE,
        r"C:\Windows\Explorer.EXE",
        Admin,
    ),
    k(
        60,
        CMD_EXE,
        CMD,
        r#"C:\Windows\system32\cmd.exe /c "C:\Scripts\rotate-logs.cmd &gt;&gt; C:\Scripts\logs\rotate-{date}.log 2&gt;&amp;1""#,
        SVC_EXE,
        SCHEDULE,
        System,
    ),
    k(
        40,
        CMD_EXE,
        CMD,
        r#""C:\Windows\system32\cmd.exe" "#,
        EXPLORER_EXE,
        r"C:\Windows\Explorer.EXE",
        User,
    ),
    k(
        60,
        r"C:\Windows\System32\msiexec.exe",
        MSIEXEC,
        r"C:\Windows\system32\msiexec.exe /V",
        SERVICES_EXE,
        r"C:\Windows\system32\services.exe",
        System,
    ),
    k(
        40,
        r"C:\Windows\System32\msiexec.exe",
        MSIEXEC,
        r#""C:\Windows\system32\msiexec.exe" /i "C:\Windows\ccmcache\{n2}\{word}Setup.msi" /qn REBOOT=ReallySuppress"#,
        CCM,
        r#""C:\Windows\CCM\CcmExec.exe""#,
        System,
    ),
    k(
        80,
        r"C:\Windows\System32\rundll32.exe",
        RUNDLL32,
        r"C:\Windows\system32\rundll32.exe C:\Windows\system32\shell32.dll,SHCreateLocalServerRunDll {9aa46009-3ce0-458a-a354-715610a075e6} -Embedding",
        SVC_EXE,
        DCOM,
        User,
    ),
    k(
        60,
        r"C:\Windows\System32\smartscreen.exe",
        win("smartscreen.exe", "Windows Defender SmartScreen"),
        r"C:\Windows\System32\smartscreen.exe -Embedding",
        SVC_EXE,
        DCOM,
        User,
    ),
    k(
        50,
        r"C:\Windows\System32\sihost.exe",
        win("sihost.exe", "Shell Infrastructure Host"),
        "sihost.exe",
        SVC_EXE,
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s UserManager",
        User,
    ),
    k(
        40,
        r"C:\Windows\System32\consent.exe",
        win("consent.exe", "Consent UI for administrative applications"),
        "consent.exe {n4} 316 000001F2{HEX}",
        SVC_EXE,
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Appinfo",
        System,
    ),
    k(
        50,
        r"C:\Windows\servicing\TrustedInstaller.exe",
        win("TrustedInstaller.exe", "Windows Modules Installer"),
        r"C:\Windows\servicing\TrustedInstaller.exe",
        SERVICES_EXE,
        r"C:\Windows\system32\services.exe",
        System,
    ),
    k(
        30,
        r"C:\Windows\System32\DeviceCensus.exe",
        win("DeviceCensus.exe", "Device Census"),
        r"C:\Windows\system32\devicecensus.exe UserCxt",
        SVC_EXE,
        SCHEDULE,
        User,
    ),
    k(
        30,
        r"C:\Windows\System32\CompatTelRunner.exe",
        win("CompatTelRunner.exe", "Microsoft Compatibility Telemetry"),
        r"C:\Windows\system32\compattelrunner.exe -m:appraiser.dll -f:DoScheduledTelemetryRun -cv:{rand}.{n2}",
        SVC_EXE,
        SCHEDULE,
        System,
    ),
    k(
        50,
        r"C:\Python311\python.exe",
        PYTHON,
        r"C:\Python311\python.exe -m pytest tests\test_{rand}.py -q --junitxml=C:\ci\builds\{n}\results.xml",
        CMD_EXE,
        r#"C:\Windows\system32\cmd.exe /c "C:\ci\agent\run-step.cmd {n}""#,
        User,
    ),
    k(
        40,
        r"C:\Program Files\nodejs\node.exe",
        NODE,
        r#""C:\Program Files\nodejs\node.exe" C:\Users\{user}\source\repos\{rand}\node_modules\typescript\bin\tsc -p ."#,
        CODE_EXE,
        r#""C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe""#,
        User,
    ),
    k(
        30,
        r"C:\Windows\System32\net.exe",
        win("net.exe", "Net Command"),
        r"net  use \\{fs}\Shares /persistent:no",
        CMD_EXE,
        r#"C:\Windows\system32\cmd.exe /c \\{dc}\NETLOGON\logon.cmd"#,
        User,
    ),
    k(
        25,
        r"C:\Windows\System32\gpupdate.exe",
        win(
            "GPUpdate.exe",
            "Microsoft® Windows Group Policy Update Utility",
        ),
        "gpupdate  /target:computer",
        CMD_EXE,
        r#""C:\Windows\system32\cmd.exe" "#,
        Admin,
    ),
    k(
        20,
        r"C:\Windows\System32\reg.exe",
        win("reg.exe", "Registry Console Tool"),
        r#"reg  query "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion" /v ProductName"#,
        CMD_EXE,
        r#"C:\Windows\system32\cmd.exe /c \\{dc}\NETLOGON\inventory.cmd"#,
        System,
    ),
    k(
        20,
        r"C:\Windows\System32\ipconfig.exe",
        win("ipconfig.exe", "IP Configuration Utility"),
        "ipconfig  /all",
        CMD_EXE,
        r#""C:\Windows\system32\cmd.exe" "#,
        User,
    ),
    k(
        15,
        r"C:\Windows\System32\whoami.exe",
        win("whoami.exe", "whoami - displays logged on user information"),
        "whoami  /upn",
        CMD_EXE,
        r#"C:\Windows\system32\cmd.exe /c \\{dc}\NETLOGON\logon.cmd"#,
        User,
    ),
    k(
        20,
        r"C:\Windows\System32\sc.exe",
        win("sc.exe", "Service Control Manager Configuration Tool"),
        "sc  query wuauserv",
        CMD_EXE,
        r#""C:\Windows\system32\cmd.exe" "#,
        Admin,
    ),
    k(
        15,
        r"C:\Windows\System32\schtasks.exe",
        win("schtasks.exe", "Task Scheduler Configuration Tool"),
        r#"schtasks  /query /tn "\Microsoft\Office\Office Automatic Updates 2.0" /fo LIST"#,
        CMD_EXE,
        r#""C:\Windows\system32\cmd.exe" "#,
        Admin,
    ),
    k(
        30,
        EXPLORER_EXE,
        EXPLORER,
        r"C:\Windows\Explorer.EXE",
        r"C:\Windows\System32\userinit.exe",
        r"C:\Windows\system32\userinit.exe",
        User,
    ),
];

/// A process start to write.
#[derive(Debug, Clone)]
pub struct Start {
    pub image: String,
    pub pe: Pe,
    pub command: String,
    pub parent_image: String,
    pub parent_command: String,
    pub account: Account,
}

/// Draws a process start of the fleet.
pub fn start(ctx: &Ctx<'_>, rng: &mut Rng) -> Start {
    let kind = &KINDS[rng.weighted(KINDS.iter().map(|k| k.weight))];
    let mut s = Start {
        image: String::with_capacity(80),
        pe: kind.pe,
        command: String::with_capacity(kind.command.len() + 64),
        parent_image: String::with_capacity(80),
        parent_command: String::with_capacity(80),
        account: kind.account,
    };
    expand(&mut s.image, kind.image, ctx, rng);
    expand(&mut s.command, kind.command, ctx, rng);
    expand(&mut s.parent_image, kind.parent, ctx, rng);
    expand(&mut s.parent_command, kind.parent_command, ctx, rng);
    s
}

/// A stable fake hash of a binary, by file name and version: the same binary has the same
/// hashes on every host, as in a real fleet.
pub fn hashes(out: &mut String, image: &str, version: &str) {
    use std::fmt::Write;
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in basename(image)
        .bytes()
        .map(|b| b.to_ascii_lowercase())
        .chain(version.bytes())
    {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    let mut r = Rng::new(h);
    let _ = write!(
        out,
        "MD5={:016X}{:016X},SHA256={:016X}{:016X}{:016X}{:016X},IMPHASH={:016X}{:016X}",
        r.next(),
        r.next(),
        r.next(),
        r.next(),
        r.next(),
        r.next(),
        r.next(),
        r.next()
    );
}

//! The other Sysmon events of a fleet: image loads (7), process access (10), file creation
//! (11), registry key and value creation and deletion (12) and value writes (13). Process
//! termination (5) reuses the process starts.

use super::process::{Account, Pe, hashes};
use super::{Ctx, expand};
use crate::mixed::rng::Rng;

const CHROME: &str = r"C:\Program Files\Google\Chrome\Application\chrome.exe";
const SVCHOST: &str = r"C:\Windows\System32\svchost.exe";
const EXPLORER: &str = r"C:\Windows\explorer.exe";
const MSMPENG: &str =
    r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe";
const TEAMS: &str =
    r"C:\Program Files\WindowsApps\MSTeams_24295.605.3225.8804_x64__8wekyb3d8bbwe\ms-teams.exe";
const ONEDRIVE: &str = r"C:\Users\{user}\AppData\Local\Microsoft\OneDrive\OneDrive.exe";
const WORD: &str = r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE";
const OUTLOOK: &str = r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE";
const MS: &str = "Microsoft Corporation";
const WIN: &str = "Microsoft® Windows® Operating System";

/// An image load (Sysmon 7).
#[derive(Debug, Clone)]
pub struct Load {
    pub image: String,
    pub loaded: String,
    pub pe: Pe,
    pub hashes: String,
    pub signature: &'static str,
    pub account: Account,
}

#[derive(Debug, Clone, Copy)]
struct LoadKind {
    weight: u64,
    image: &'static str,
    loaded: &'static str,
    pe: Pe,
    signature: &'static str,
    account: Account,
}

const fn dll(original: &'static str, description: &'static str) -> Pe {
    Pe {
        original,
        description,
        product: WIN,
        company: MS,
        version: "10.0.19041.4355 (WinBuild.160101.0800)",
    }
}

const fn l(
    weight: u64,
    image: &'static str,
    loaded: &'static str,
    pe: Pe,
    signature: &'static str,
    account: Account,
) -> LoadKind {
    LoadKind {
        weight,
        image,
        loaded,
        pe,
        signature,
        account,
    }
}

const MSWIN: &str = "Microsoft Windows";
use Account::*;
const LOADS: &[LoadKind] = &[
    l(
        900,
        CHROME,
        r"C:\Program Files\Google\Chrome\Application\131.0.6778.140\chrome_elf.dll",
        Pe {
            original: "chrome_elf.dll",
            description: "Google Chrome",
            product: "Google Chrome",
            company: "Google LLC",
            version: "131.0.6778.140",
        },
        "Google LLC",
        User,
    ),
    l(
        500,
        CHROME,
        r"C:\Windows\System32\dwrite.dll",
        dll("DWrite.dll", "Microsoft DirectX Typography Services"),
        MSWIN,
        User,
    ),
    l(
        700,
        SVCHOST,
        r"C:\Windows\System32\wldp.dll",
        dll("wldp.dll", "Windows Lockdown Policy"),
        MSWIN,
        System,
    ),
    l(
        500,
        SVCHOST,
        r"C:\Windows\System32\mswsock.dll",
        dll(
            "mswsock.dll",
            "Microsoft Windows Sockets 2.0 Service Provider",
        ),
        MSWIN,
        NetworkService,
    ),
    l(
        400,
        EXPLORER,
        r"C:\Windows\System32\windows.storage.dll",
        dll("Windows.Storage.dll", "Microsoft WinRT Storage API"),
        MSWIN,
        User,
    ),
    l(
        500,
        TEAMS,
        r"C:\Program Files (x86)\Microsoft\EdgeWebView\Application\131.0.2903.86\msedge_elf.dll",
        Pe {
            original: "msedge_elf.dll",
            description: "Microsoft Edge",
            product: "Microsoft Edge",
            company: MS,
            version: "131.0.2903.86",
        },
        "Microsoft Corporation",
        User,
    ),
    l(
        400,
        ONEDRIVE,
        r"C:\Users\{user}\AppData\Local\Microsoft\OneDrive\24.216.1027.0001\FileSyncShell64.dll",
        Pe {
            original: "FileSyncShell64.dll",
            description: "Microsoft OneDrive Shell Extension",
            product: "Microsoft OneDrive",
            company: MS,
            version: "24.216.1027.0001",
        },
        "Microsoft Corporation",
        User,
    ),
    l(
        300,
        WORD,
        r"C:\Program Files\Common Files\Microsoft Shared\Office16\mso20win32client.dll",
        Pe {
            original: "mso20win32client.dll",
            description: "Microsoft Office 2016 component",
            product: "Microsoft Office",
            company: MS,
            version: "16.0.18129.20158",
        },
        "Microsoft Corporation",
        User,
    ),
    l(
        250,
        OUTLOOK,
        r"C:\Program Files\Microsoft Office\root\Office16\OLMAPI32.DLL",
        Pe {
            original: "OLMAPI32.DLL",
            description: "Microsoft Outlook Extended MAPI",
            product: "Microsoft Office",
            company: MS,
            version: "16.0.18129.20158",
        },
        "Microsoft Corporation",
        User,
    ),
    l(
        400,
        MSMPENG,
        r"C:\ProgramData\Microsoft\Windows Defender\Definition Updates\{C5C2D4D4-7E1D-4C5E-9D0A-5B3C6B6E1F21}\mpengine.dll",
        Pe {
            original: "mpengine.dll",
            description: "Microsoft Malware Protection Engine",
            product: "Microsoft Malware Protection",
            company: MS,
            version: "1.1.24090.11",
        },
        "Microsoft Windows",
        System,
    ),
    l(
        300,
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r"C:\Windows\System32\amsi.dll",
        dll("amsi.dll", "Anti-Malware Scan Interface"),
        MSWIN,
        System,
    ),
    l(
        200,
        r"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe",
        r"C:\Program Files\SplunkUniversalForwarder\bin\libcrypto-3-x64.dll",
        Pe {
            original: "libcrypto-3-x64.dll",
            description: "OpenSSL library",
            product: "The OpenSSL Toolkit",
            company: "The OpenSSL Project, https://www.openssl.org/",
            version: "3.0.15",
        },
        "Splunk Inc.",
        System,
    ),
];

/// Draws an image load.
pub fn load(ctx: &Ctx<'_>, rng: &mut Rng) -> Load {
    let k = &LOADS[rng.weighted(LOADS.iter().map(|l| l.weight))];
    let mut image = String::with_capacity(80);
    expand(&mut image, k.image, ctx, rng);
    let mut loaded = String::with_capacity(100);
    expand(&mut loaded, k.loaded, ctx, rng);
    let mut h = String::with_capacity(160);
    hashes(&mut h, k.loaded, k.pe.version);
    Load {
        image,
        loaded,
        pe: k.pe,
        hashes: h,
        signature: k.signature,
        account: k.account,
    }
}

/// A process access (Sysmon 10).
#[derive(Debug, Clone)]
pub struct Access {
    pub source: String,
    pub source_account: Account,
    pub target: String,
    pub target_account: Account,
    /// The target is the host's LSASS (its well-known process id applies).
    pub target_is_lsass: bool,
    pub granted: &'static str,
    pub call_trace: String,
}

#[derive(Debug, Clone, Copy)]
struct AccessKind {
    weight: u64,
    source: &'static str,
    source_account: Account,
    target: &'static str,
    target_account: Account,
    granted: &'static [&'static str],
    trace: &'static str,
}

const LSASS: &str = r"C:\Windows\system32\lsass.exe";
const NTDLL: &str = r"C:\Windows\SYSTEM32\ntdll.dll+{hex}|C:\Windows\System32\KERNELBASE.dll+{hex}";
const ACCESSES: &[AccessKind] = &[
    AccessKind {
        weight: 900,
        source: MSMPENG,
        source_account: System,
        target: CHROME,
        target_account: User,
        granted: &["0x1000", "0x101000"],
        trace: r"C:\Windows\SYSTEM32\ntdll.dll+{hex}|C:\Windows\System32\KERNELBASE.dll+{hex}|C:\ProgramData\Microsoft\Windows Defender\Definition Updates\{C5C2D4D4-7E1D-4C5E-9D0A-5B3C6B6E1F21}\mpengine.dll+{hex}",
    },
    AccessKind {
        weight: 800,
        source: CHROME,
        source_account: User,
        target: CHROME,
        target_account: User,
        granted: &["0x1000", "0x1fffff", "0x101541"],
        trace: r"C:\Windows\SYSTEM32\ntdll.dll+{hex}|C:\Windows\System32\KERNELBASE.dll+{hex}|C:\Program Files\Google\Chrome\Application\131.0.6778.140\chrome.dll+{hex}",
    },
    AccessKind {
        weight: 500,
        source: r"C:\Windows\system32\wininit.exe",
        source_account: System,
        target: LSASS,
        target_account: System,
        granted: &["0x1000", "0x1400"],
        trace: NTDLL,
    },
    AccessKind {
        weight: 600,
        source: SVCHOST,
        source_account: System,
        target: LSASS,
        target_account: System,
        granted: &["0x1000", "0x3000"],
        trace: r"C:\Windows\SYSTEM32\ntdll.dll+{hex}|C:\Windows\System32\KERNELBASE.dll+{hex}|c:\windows\system32\lsm.dll+{hex}|C:\Windows\System32\RPCRT4.dll+{hex}",
    },
    AccessKind {
        weight: 400,
        source: MSMPENG,
        source_account: System,
        target: LSASS,
        target_account: System,
        granted: &["0x1000", "0x101000"],
        trace: r"C:\Windows\SYSTEM32\ntdll.dll+{hex}|C:\Windows\System32\KERNELBASE.dll+{hex}|C:\ProgramData\Microsoft\Windows Defender\Definition Updates\{C5C2D4D4-7E1D-4C5E-9D0A-5B3C6B6E1F21}\mpengine.dll+{hex}",
    },
    AccessKind {
        weight: 500,
        source: r"C:\Windows\system32\csrss.exe",
        source_account: System,
        target: EXPLORER,
        target_account: User,
        granted: &["0x1fffff"],
        trace: r"C:\Windows\SYSTEM32\ntdll.dll+{hex}|C:\Windows\system32\CSRSRV.dll+{hex}|C:\Windows\system32\basesrv.DLL+{hex}",
    },
    AccessKind {
        weight: 400,
        source: SVCHOST,
        source_account: System,
        target: TEAMS,
        target_account: User,
        granted: &["0x1000"],
        trace: NTDLL,
    },
    AccessKind {
        weight: 300,
        source: r"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe",
        source_account: System,
        target: SVCHOST,
        target_account: System,
        granted: &["0x1410", "0x1000"],
        trace: r"C:\Windows\SYSTEM32\ntdll.dll+{hex}|C:\Windows\System32\KERNELBASE.dll+{hex}|C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe+{hex}",
    },
    AccessKind {
        weight: 300,
        source: r"C:\Windows\System32\taskhostw.exe",
        source_account: User,
        target: EXPLORER,
        target_account: User,
        granted: &["0x1000"],
        trace: NTDLL,
    },
];

/// Draws a process access.
pub fn access(ctx: &Ctx<'_>, rng: &mut Rng) -> Access {
    let k = &ACCESSES[rng.weighted(ACCESSES.iter().map(|a| a.weight))];
    let mut source = String::with_capacity(80);
    expand(&mut source, k.source, ctx, rng);
    let mut target = String::with_capacity(80);
    expand(&mut target, k.target, ctx, rng);
    let mut call_trace = String::with_capacity(200);
    expand(&mut call_trace, k.trace, ctx, rng);
    Access {
        source,
        source_account: k.source_account,
        target,
        target_account: k.target_account,
        target_is_lsass: k.target == LSASS,
        granted: rng.one(k.granted),
        call_trace,
    }
}

/// A file creation (Sysmon 11).
#[derive(Debug, Clone)]
pub struct FileCreate {
    pub image: String,
    pub path: String,
    pub account: Account,
    /// Whether the file existed before (then `CreationUtcTime` is older than `UtcTime`).
    pub existed: bool,
}

#[derive(Debug, Clone, Copy)]
struct FileKind {
    weight: u64,
    image: &'static str,
    path: &'static str,
    account: Account,
    existed_per_mille: u64,
}

const fn f(
    weight: u64,
    image: &'static str,
    path: &'static str,
    account: Account,
    existed_per_mille: u64,
) -> FileKind {
    FileKind {
        weight,
        image,
        path,
        account,
        existed_per_mille,
    }
}

const FILES: &[FileKind] = &[
    f(
        900,
        CHROME,
        r"C:\Users\{user}\Downloads\{word} {n4}.pdf",
        User,
        100,
    ),
    f(
        400,
        CHROME,
        r"C:\Users\{user}\Downloads\Unconfirmed {n}.crdownload",
        User,
        0,
    ),
    f(
        500,
        CHROME,
        r"C:\Users\{user}\AppData\Local\Google\Chrome\User Data\Default\{rand}.tmp",
        User,
        0,
    ),
    f(
        800,
        SVCHOST,
        r"C:\Windows\Prefetch\{HEX}-{HEX}.pf",
        System,
        700,
    ),
    f(
        400,
        MSMPENG,
        r"C:\ProgramData\Microsoft\Windows Defender\Scans\mpcache-{HEX}{HEX}.bin.{n2}",
        System,
        200,
    ),
    f(
        500,
        ONEDRIVE,
        r"C:\Users\{user}\OneDrive - Corp\{word}\{word} {n4}.docx",
        User,
        400,
    ),
    f(
        300,
        WORD,
        r"C:\Users\{user}\AppData\Roaming\Microsoft\Word\~WRL{n4}.tmp",
        User,
        0,
    ),
    f(
        300,
        WORD,
        r"C:\Users\{user}\Documents\~${word}_{date}.docx",
        User,
        0,
    ),
    f(
        300,
        r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
        r"C:\Users\{user}\AppData\Local\Microsoft\Windows\INetCache\Content.MSO\{HEX}.tmp",
        User,
        0,
    ),
    f(
        500,
        EXPLORER,
        r"C:\Users\{user}\AppData\Roaming\Microsoft\Windows\Recent\{word} {n4}.lnk",
        User,
        500,
    ),
    f(
        300,
        r"C:\Windows\servicing\TrustedInstaller.exe",
        r"C:\Windows\SoftwareDistribution\Download\{hex}{hex}{hex}{hex}\windows10.0-kb50{n4}-x64.cab",
        System,
        0,
    ),
    f(
        200,
        r"C:\Windows\CCM\CcmExec.exe",
        r"C:\Windows\ccmcache\{n2}\{word}Setup.msi",
        System,
        0,
    ),
    f(
        300,
        r"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe",
        r"C:\Program Files\SplunkUniversalForwarder\var\lib\splunk\fishbucket\splunk_private_db\snapshot\{n}.tmp",
        System,
        0,
    ),
    f(
        300,
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r"C:\Users\{user}\AppData\Local\Temp\__PSScriptPolicyTest_{rand}.{n2}x.ps1",
        User,
        0,
    ),
    f(
        200,
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r"C:\Windows\CCM\SystemTemp\__PSScriptPolicyTest_{rand}.{n2}x.psm1",
        System,
        0,
    ),
    f(
        150,
        r"C:\Python311\python.exe",
        r"C:\ci\builds\{n}\results.xml",
        User,
        0,
    ),
    f(
        200,
        OUTLOOK,
        r"C:\Users\{user}\AppData\Local\Microsoft\Windows\INetCache\Content.Outlook\{HEX}\{word} {n4}.xlsx",
        User,
        0,
    ),
];

/// Draws a file creation.
pub fn file(ctx: &Ctx<'_>, rng: &mut Rng) -> FileCreate {
    let k = &FILES[rng.weighted(FILES.iter().map(|f| f.weight))];
    let mut image = String::with_capacity(80);
    expand(&mut image, k.image, ctx, rng);
    let mut path = String::with_capacity(120);
    expand(&mut path, k.path, ctx, rng);
    FileCreate {
        image,
        path,
        account: k.account,
        existed: rng.chance(k.existed_per_mille),
    }
}

/// A registry event (Sysmon 12 or 13).
#[derive(Debug, Clone)]
pub struct RegistryEvent {
    pub image: String,
    /// `CreateKey`, `DeleteKey`, `DeleteValue` (12) or `SetValue` (13).
    pub event_type: &'static str,
    pub target: String,
    /// `Details` of a value write.
    pub details: String,
    pub account: Account,
}

#[derive(Debug, Clone, Copy)]
struct RegKind {
    weight: u64,
    image: &'static str,
    event_type: &'static str,
    target: &'static str,
    details: &'static str,
    account: Account,
}

const fn r(
    weight: u64,
    image: &'static str,
    event_type: &'static str,
    target: &'static str,
    details: &'static str,
    account: Account,
) -> RegKind {
    RegKind {
        weight,
        image,
        event_type,
        target,
        details,
        account,
    }
}

const BAM: &str =
    r"HKLM\System\CurrentControlSet\Services\bam\State\UserSettings\{sid}\\Device\HarddiskVolume3";
const KEY_EVENTS: &[RegKind] = &[
    r(
        900,
        SVCHOST,
        "CreateKey",
        r"HKLM\System\CurrentControlSet\Services\bam\State\UserSettings\{sid}",
        "",
        System,
    ),
    r(
        600,
        EXPLORER,
        "CreateKey",
        r"HKU\{sid}\Software\Microsoft\Windows\CurrentVersion\Explorer\FileExts\.{rand}\OpenWithList",
        "",
        User,
    ),
    r(
        500,
        EXPLORER,
        "DeleteValue",
        r"HKU\{sid}\Software\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs\.docx\{n2}",
        "",
        User,
    ),
    r(
        400,
        SVCHOST,
        "CreateKey",
        r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tasks\{guid}",
        "",
        System,
    ),
    r(
        300,
        SVCHOST,
        "DeleteKey",
        r"HKU\{sid}_Classes\Local Settings\Software\Microsoft\Windows\CurrentVersion\AppModel\SystemAppData\Microsoft.Windows.Photos_8wekyb3d8bbwe\PersistedStorageItemTable\ManagedByApp\{hex}",
        "",
        User,
    ),
    r(
        300,
        r"C:\Windows\System32\msiexec.exe",
        "CreateKey",
        r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Installer\UserData\S-1-5-18\Products\{HEX}{HEX}{HEX}{HEX}",
        "",
        System,
    ),
    r(
        300,
        ONEDRIVE,
        "CreateKey",
        r"HKU\{sid}\Software\Microsoft\OneDrive\Accounts\Business1\ScopeIdToMountPointPathCache",
        "",
        User,
    ),
    r(
        200,
        SVCHOST,
        "DeleteValue",
        r"HKLM\System\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{guid}\DhcpServer",
        "",
        NetworkService,
    ),
];
const VALUE_EVENTS: &[RegKind] = &[
    r(1_200, SVCHOST, "SetValue", BAM, "Binary Data", System),
    r(
        700,
        EXPLORER,
        "SetValue",
        r"HKU\{sid}\Software\Microsoft\Windows\CurrentVersion\Explorer\UserAssist\{CEBFF5CD-ACE2-4F4F-9178-9926F41749EA}\Count\{rand}",
        "Binary Data",
        User,
    ),
    r(
        500,
        SVCHOST,
        "SetValue",
        r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tasks\{guid}\DynamicInfo",
        "Binary Data",
        System,
    ),
    r(
        300,
        SVCHOST,
        "SetValue",
        r"HKLM\System\CurrentControlSet\Services\W32Time\SecureTimeLimits\SecureTimeHigh",
        "QWORD (0x01db{hex}-0x{hex})",
        LocalService,
    ),
    r(
        300,
        WORD,
        "SetValue",
        r"HKU\{sid}\Software\Microsoft\Office\16.0\Word\Reading Locations\Document {n2}\File Path",
        r"C:\Users\{user}\Documents\{word}_{date}.docx",
        User,
    ),
    r(
        400,
        SVCHOST,
        "SetValue",
        r"HKU\{sid}\Software\Microsoft\Windows\CurrentVersion\Internet Settings\ZoneMap\ProxyBypass",
        "DWORD (0x00000001)",
        User,
    ),
    r(
        300,
        SVCHOST,
        "SetValue",
        r"HKU\{sid}\Software\Microsoft\Windows\CurrentVersion\Internet Settings\ZoneMap\IntranetName",
        "DWORD (0x00000001)",
        User,
    ),
    r(
        300,
        MSMPENG,
        "SetValue",
        r"HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates\AVSignatureVersion",
        "1.421.{n4}.0",
        System,
    ),
    r(
        200,
        MSMPENG,
        "SetValue",
        r"HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates\SignaturesLastUpdated",
        "Binary Data",
        System,
    ),
    r(
        300,
        r"C:\Windows\system32\services.exe",
        "SetValue",
        r"HKLM\System\CurrentControlSet\Services\edgeupdate\Start",
        "DWORD (0x00000002)",
        System,
    ),
    r(
        200,
        r"C:\Windows\system32\services.exe",
        "SetValue",
        r"HKLM\System\CurrentControlSet\Services\gupdatem\Start",
        "DWORD (0x00000003)",
        System,
    ),
    r(
        300,
        SVCHOST,
        "SetValue",
        r"HKLM\System\CurrentControlSet\Services\Tcpip\Parameters\Interfaces\{guid}\DhcpIPAddress",
        "{ip}",
        NetworkService,
    ),
    r(
        200,
        SVCHOST,
        "SetValue",
        r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Group Policy\State\Machine\Extension-List\{00000000-0000-0000-0000-000000000000}\EndTimeLo",
        "DWORD (0x{hex})",
        System,
    ),
    r(
        150,
        r"C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe",
        "SetValue",
        r"HKLM\SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\ClientState\{56EB18F8-B008-4CBD-B6D2-8C97FE7E9062}\pv",
        "131.0.2903.86",
        System,
    ),
    r(
        100,
        ONEDRIVE,
        "SetValue",
        r"HKU\{sid}\Software\Microsoft\Windows\CurrentVersion\Run\OneDrive",
        r#""C:\Users\{user}\AppData\Local\Microsoft\OneDrive\OneDrive.exe" /background"#,
        User,
    ),
];

/// The programs whose last run BAM records, per user: the most frequent registry write on
/// workstations (the program part is added by [`registry`]).
const BAM_PROGRAMS: &[&str] = &[
    r"\Program Files\Google\Chrome\Application\chrome.exe",
    r"\Windows\System32\cmd.exe",
    r"\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
    r"\Windows\explorer.exe",
    r"\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe",
    r"\Windows\System32\notepad.exe",
];

/// Draws a key event (Sysmon 12) when `value` is false, else a value write (13).
pub fn registry(ctx: &Ctx<'_>, rng: &mut Rng, value: bool) -> RegistryEvent {
    let list = if value { VALUE_EVENTS } else { KEY_EVENTS };
    let k = &list[rng.weighted(list.iter().map(|r| r.weight))];
    let mut image = String::with_capacity(80);
    expand(&mut image, k.image, ctx, rng);
    let mut target = String::with_capacity(160);
    expand(&mut target, k.target, ctx, rng);
    if value && k.target == BAM {
        expand(&mut target, rng.one(BAM_PROGRAMS), ctx, rng);
    }
    let mut details = String::new();
    expand(&mut details, k.details, ctx, rng);
    RegistryEvent {
        image,
        event_type: k.event_type,
        target,
        details,
        account: k.account,
    }
}

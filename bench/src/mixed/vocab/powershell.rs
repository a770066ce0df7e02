//! PowerShell script blocks (4104) of a fleet: the one-line blocks the engine logs for every
//! prompt and formatting call, management scripts of a few KB (software inventory, log
//! rotation, health checks run by SCCM or scheduled tasks), and module bodies of tens of KB.
//!
//! Scripts are assembled from functions written here, with names, paths and values that vary
//! per host and run, joined with CR LF as Windows scripts are. Text is XML-escaped as it is
//! appended, so a script's `&`, `<` and `>` appear as the entities the event holds.

use super::{Ctx, escape_into, expand, expanded};
use crate::mixed::rng::Rng;

/// The one-line script blocks PowerShell logs for interactive and formatting work.
const TINY: &[&str] = &[
    "prompt",
    "{ Set-StrictMode -Version 1; $_.PSMessageDetails }",
    "{ Set-StrictMode -Version 1; $_.OriginInfo }",
    "{ Set-StrictMode -Version 1; $_.ErrorCategory_Message }",
    "$global:?",
    "{ $_.Name -like 'Microsoft.*' }",
    "Import-Module -Name PSReadLine",
    "& 'C:\\Windows\\CCM\\SystemTemp\\{lguid}.ps1'",
    "Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion' -Name DisplayVersion",
    "Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object -ExpandProperty LastBootUpTime",
    "Get-Service -Name 'Spooler','W32Time','WinRM' | Where-Object Status -ne 'Running'",
    "Test-NetConnection -ComputerName {fs}.{domain} -Port 445 -InformationLevel Quiet",
    "(Get-Item 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe').VersionInfo.ProductVersion",
    "Get-ChildItem -Path 'C:\\Users\\{user}\\Downloads' -Filter *.tmp | Remove-Item -Force",
    "[Environment]::GetEnvironmentVariable('PSModulePath', 'Machine')",
];

/// Functions of management scripts; `{word}` and the other placeholders vary per script.
const FUNCTIONS: &[&str] = &[
    r#"function Get-{word}Inventory {
    [CmdletBinding()]
    param(
        [string]$ComputerName = $env:COMPUTERNAME,
        [int]$TimeoutSeconds = {n2}
    )
    $os = Get-CimInstance -ClassName Win32_OperatingSystem -ComputerName $ComputerName -OperationTimeoutSec $TimeoutSeconds
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem -ComputerName $ComputerName -OperationTimeoutSec $TimeoutSeconds
    $disks = Get-CimInstance -ClassName Win32_LogicalDisk -Filter "DriveType=3" -ComputerName $ComputerName
    [pscustomobject]@{
        Computer     = $ComputerName
        OS           = $os.Caption
        Build        = $os.BuildNumber
        LastBoot     = $os.LastBootUpTime
        Model        = $cs.Model
        MemoryGB     = [math]::Round($cs.TotalPhysicalMemory / 1GB, 1)
        FreeSpaceGB  = ($disks | Measure-Object -Property FreeSpace -Sum).Sum / 1GB
        CollectedAt  = (Get-Date).ToUniversalTime().ToString('o')
    }
}"#,
    r#"function Invoke-LogRotation {
    param(
        [Parameter(Mandatory)] [string]$Path,
        [int]$KeepDays = {n2},
        [long]$MaxBytes = {n}000
    )
    if (-not (Test-Path -LiteralPath $Path)) { return }
    $cutoff = (Get-Date).AddDays(-$KeepDays)
    Get-ChildItem -LiteralPath $Path -Filter '*.log' -File |
        Where-Object { $_.LastWriteTime -lt $cutoff -or $_.Length -gt $MaxBytes } |
        ForEach-Object {
            $archive = Join-Path $Path ('archive\' + $_.BaseName + '-' + $_.LastWriteTime.ToString('yyyyMMdd') + '.zip')
            Compress-Archive -LiteralPath $_.FullName -DestinationPath $archive -Force
            Remove-Item -LiteralPath $_.FullName -Force
            Write-Verbose "rotated $($_.Name) -> $archive"
        }
}"#,
    r#"function Test-{word}Health {
    $results = @()
    foreach ($name in @('wuauserv', 'BITS', 'CcmExec', 'SplunkForwarder', 'WinDefend')) {
        $svc = Get-Service -Name $name -ErrorAction SilentlyContinue
        $results += [pscustomobject]@{
            Service = $name
            Status  = if ($svc) { $svc.Status.ToString() } else { 'Missing' }
            Start   = if ($svc) { $svc.StartType.ToString() } else { '' }
        }
    }
    $pending = Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
    $results += [pscustomobject]@{ Service = 'RebootPending'; Status = $pending; Start = '' }
    $results | Where-Object { $_.Status -ne 'Running' } | ForEach-Object {
        Write-Output ("{0}: {1}" -f $_.Service, $_.Status)
    }
    return $results
}"#,
    r#"function Get-InstalledSoftware {
    $keys = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
        'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*'
    )
    Get-ItemProperty -Path $keys -ErrorAction SilentlyContinue |
        Where-Object { $_.DisplayName -and -not $_.SystemComponent } |
        Select-Object DisplayName, DisplayVersion, Publisher, InstallDate |
        Sort-Object DisplayName -Unique
}"#,
    r#"function Send-{word}Report {
    param([object[]]$Rows, [string]$Share = '\\{fs}\Reports$\{word}')
    $stamp = Get-Date -Format 'yyyyMMdd-HHmmss'
    $file = Join-Path $Share ("$env:COMPUTERNAME-$stamp.csv")
    try {
        $Rows | Export-Csv -LiteralPath $file -NoTypeInformation -Encoding UTF8
        Write-Output "report written to $file ($($Rows.Count) rows)"
    } catch {
        Write-Warning "could not write $file: $($_.Exception.Message)"
        $Rows | Export-Csv -LiteralPath "$env:TEMP\$stamp.csv" -NoTypeInformation
    }
}"#,
    r#"function Repair-PrinterMapping {
    param([string]$Server = '{fs}.{domain}')
    $wanted = @('Floor{n2}-Color', 'Floor{n2}-Mono', 'Reception')
    $mapped = Get-Printer | Where-Object { $_.Type -eq 'Connection' } | Select-Object -ExpandProperty Name
    foreach ($p in $wanted) {
        $unc = "\\$Server\$p"
        if ($mapped -notcontains $unc) {
            Add-Printer -ConnectionName $unc -ErrorAction SilentlyContinue
            Start-Sleep -Milliseconds {n2}0
        }
    }
    (New-Object -ComObject WScript.Network).SetDefaultPrinter("\\$Server\Floor{n2}-Mono") 2>&1 | Out-Null
}"#,
    r#"function Update-{word}Cache {
    param([string]$Uri = 'https://intranet.{domain}/api/v2/{word}/config', [string]$Cache = "$env:ProgramData\{word}\cache.json")
    $dir = Split-Path $Cache -Parent
    if (-not (Test-Path $dir)) { New-Item -ItemType Directory -Path $dir -Force | Out-Null }
    $headers = @{ 'X-Client' = $env:COMPUTERNAME; 'Accept' = 'application/json' }
    $response = Invoke-RestMethod -Uri $Uri -Headers $headers -UseDefaultCredentials -TimeoutSec {n2}
    if ($response.version -gt (Get-Content $Cache -Raw -ErrorAction SilentlyContinue | ConvertFrom-Json).version) {
        $response | ConvertTo-Json -Depth 6 | Set-Content -Path $Cache -Encoding UTF8
    }
}"#,
    r#"function Get-DiskUsageReport {
    param([string[]]$Paths = @('C:\Users', 'C:\ProgramData', 'C:\Windows\Temp'))
    foreach ($p in $Paths) {
        $size = 0
        Get-ChildItem -LiteralPath $p -Recurse -File -ErrorAction SilentlyContinue | ForEach-Object { $size += $_.Length }
        [pscustomobject]@{ Path = $p; SizeMB = [math]::Round($size / 1MB, 2); Host = '{host}' }
    }
}"#,
    r#"$ErrorActionPreference = 'Stop'
$logFile = Join-Path $env:ProgramData ('{word}\logs\run-' + (Get-Date -Format 'yyyyMMdd') + '.log')
function Write-Log([string]$Message, [string]$Level = 'INFO') {
    $line = '{0} [{1}] {2}' -f (Get-Date -Format 's'), $Level, $Message
    Add-Content -LiteralPath $logFile -Value $line
    if ($Level -eq 'ERROR') { Write-Error $Message -ErrorAction Continue }
}"#,
    r#"function Sync-TimeSource {
    $peer = '{dc}.{domain}'
    $status = w32tm /query /status 2>&1
    if ($status -notmatch [regex]::Escape($peer)) {
        w32tm /config /manualpeerlist:$peer /syncfromflags:manual /update | Out-Null
        Restart-Service -Name W32Time -Force
    }
    w32tm /resync /nowait | Out-Null
}"#,
    r#"function Clear-{word}Temp {
    param([int]$OlderThanHours = {n2})
    $limit = (Get-Date).AddHours(-$OlderThanHours)
    foreach ($folder in @("$env:windir\Temp", "C:\Users\{user}\AppData\Local\Temp")) {
        Get-ChildItem -LiteralPath $folder -File -ErrorAction SilentlyContinue |
            Where-Object { $_.LastWriteTime -lt $limit -and $_.Extension -in '.tmp', '.log', '.etl' } |
            Remove-Item -Force -ErrorAction SilentlyContinue
    }
}"#,
    r#"function Get-PatchCompliance {
    $session = New-Object -ComObject Microsoft.Update.Session
    $searcher = $session.CreateUpdateSearcher()
    $result = $searcher.Search("IsInstalled=0 and Type='Software' and IsHidden=0")
    [pscustomobject]@{
        Host      = $env:COMPUTERNAME
        Missing   = $result.Updates.Count
        Critical  = @($result.Updates | Where-Object { $_.MsrcSeverity -eq 'Critical' }).Count
        CheckedAt = Get-Date
    }
}"#,
];

/// Calls at the end of a script.
const MAIN: &[&str] = &[
    "$rows = Get-{word}Inventory\r\nSend-{word}Report -Rows $rows",
    "Invoke-LogRotation -Path 'C:\\ProgramData\\{word}\\logs' -KeepDays {n2} -Verbose",
    "Test-{word}Health | Out-File -FilePath \"$env:TEMP\\health-{n4}.txt\" -Encoding utf8",
    "Get-InstalledSoftware | Export-Csv -Path \"C:\\Windows\\CCM\\Inventory\\{host}-{date}.csv\" -NoTypeInformation",
    "Write-Log \"finished in $([int]((Get-Date) - $start).TotalSeconds) s\"",
];

const SCRIPT_PATHS: &[&str] = &[
    r"C:\Windows\CCM\SystemTemp\{lguid}.ps1",
    r"C:\Scripts\{word}-maintenance.ps1",
    r"\\{dc}\NETLOGON\{word}.ps1",
    r"C:\Users\{user}\Documents\WindowsPowerShell\Microsoft.PowerShell_profile.ps1",
    r"C:\ProgramData\{word}\bin\agent-task.ps1",
];

const MODULES: &[&str] = &[
    "PSReadLine",
    "PackageManagement",
    "PowerShellGet",
    "Microsoft.PowerShell.Archive",
    "{word}Tools",
];

/// The script block of a 4104 event, as the event holds it (escaped).
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub text: String,
    pub path: String,
}

/// Draws a script block: 45% one-liners, 42% scripts of a few KB, 13% module bodies of
/// 20–60 KB (which the generator splits into several events).
pub fn script(ctx: &Ctx<'_>, rng: &mut Rng, out: &mut Script) {
    out.text.clear();
    out.path.clear();
    let roll = rng.below(100);
    let mut raw = String::with_capacity(8_192);
    if roll < 45 {
        expand(&mut raw, rng.one(TINY), ctx, rng);
    } else if roll < 87 {
        expand(&mut out.path, rng.one(SCRIPT_PATHS), ctx, rng);
        let _ = std::fmt::Write::write_fmt(
            &mut raw,
            format_args!(
                "<#\r\n.SYNOPSIS\r\n    {} maintenance for {}.\r\n.NOTES\r\n    Owner: IT Operations ({}), revision {}\r\n#>\r\n$start = Get-Date\r\n",
                expanded("{word}", ctx, rng),
                ctx.host.netbios,
                expanded("{user}", ctx, rng),
                rng.range(2, 40)
            ),
        );
        let target = rng.range(1_000, 8_000) as usize;
        while raw.len() < target {
            expand(&mut raw, rng.one(FUNCTIONS), ctx, rng);
            raw.push_str("\r\n\r\n");
        }
        expand(&mut raw, rng.one(MAIN), ctx, rng);
        raw.push_str("\r\n");
    } else {
        let module = expanded(rng.one(MODULES), ctx, rng);
        out.path = format!(
            r"C:\Program Files\WindowsPowerShell\Modules\{module}\2.{}.{}\{module}.psm1",
            rng.below(5),
            rng.below(10)
        );
        let _ = std::fmt::Write::write_fmt(
            &mut raw,
            format_args!(
                "# Copyright (c) Corp IT. Module {module}.\r\n#Requires -Version 5.1\r\nSet-StrictMode -Version Latest\r\n$script:ModuleRoot = $PSScriptRoot\r\n\r\n"
            ),
        );
        let target = rng.range(20_000, 60_000) as usize;
        while raw.len() < target {
            expand(&mut raw, rng.one(FUNCTIONS), ctx, rng);
            raw.push_str("\r\n\r\n");
        }
        raw.push_str("Export-ModuleMember -Function * -Alias *\r\n");
    }
    escape_into(&mut out.text, &raw);
}

/// Splits an escaped script into parts of at most `limit` bytes, never inside an entity or a
/// UTF-8 character.
pub fn parts(text: &str, limit: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(amp) = rest[..cut].rfind('&')
            && !rest[amp..cut].contains(';')
            && cut - amp < 8
        {
            cut = amp;
        }
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    parts.push(rest);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_never_split_an_entity() {
        let text = "ab&amp;cd&lt;ef";
        for limit in 1..text.len() + 1 {
            let p = parts(text, limit.max(5));
            assert_eq!(p.concat(), text);
            for part in &p {
                let opens = part.matches('&').count();
                let closes = part.matches(';').count();
                assert_eq!(opens, closes, "{part:?} of {p:?}");
            }
        }
    }
}

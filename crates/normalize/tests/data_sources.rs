//! The `example_log` events of ESCU's data source definitions for the three sources
//! (`../shared/content/security_content/data_sources/`), normalized as spec section 5 says.

use std::path::{Path, PathBuf};

use cimhunt_cim::{CimEvent, Field};
use cimhunt_decode::{Decoded, decode_json, decode_xml};
use cimhunt_normalize::{Normalizer, Outcome};

fn example_log(file: &str) -> String {
    let dir = std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = dir.join("content/security_content/data_sources").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (these tests need ../shared)", path.display()));
    #[derive(serde::Deserialize)]
    struct DataSource {
        example_log: String,
    }
    let ds: DataSource = serde_saphyr::from_str(&text).expect("data source YAML");
    ds.example_log
}

fn normalized(decoded: &Decoded<'_>) -> CimEvent<'static> {
    match Normalizer::default().normalize(decoded) {
        Outcome::Process(e) => e.into_owned(),
        other => panic!("{other:?}"),
    }
}

fn check(e: &CimEvent<'_>, expected: &[(Field, &str)]) {
    for (f, v) in expected {
        assert_eq!(e.get(*f), Some(*v), "{f}");
    }
}

#[test]
#[ignore = "needs ../shared"]
fn sysmon_event_id_1_example() {
    let log = example_log("sysmon_eventid_1.yml");
    let e = normalized(&Decoded::Windows(decode_xml(log.as_bytes()).unwrap()));
    check(
        &e,
        &[
            (Field::Dest, "win-dc-6764986.attackrange.local"),
            (Field::User, "Administrator"),
            (
                Field::Process,
                r#""C:\Windows\system32\cmd.exe" /c "reg save HKLM\sam %%temp%%\sam &amp; reg save HKLM\system %%temp%%\system &amp; reg save HKLM\security %%temp%%\security" "#,
            ),
            (Field::ProcessName, "cmd.exe"),
            (Field::ProcessPath, r"C:\Windows\System32\cmd.exe"),
            (Field::OriginalFileName, "Cmd.Exe"),
            (Field::ParentProcessName, "powershell.exe"),
            (Field::ProcessId, "2296"),
            (Field::ParentProcessId, "4624"),
            (Field::ProcessGuid, "{96128EA2-F212-5F7E-E400-000000007F01}"),
            (Field::ProcessIntegrityLevel, "high"),
            (Field::VendorProduct, "Microsoft Sysmon"),
        ],
    );
    assert_eq!(
        e.time.unwrap().to_string(),
        "2020-10-08T11:03:46.617920300Z"
    );
}

#[test]
#[ignore = "needs ../shared"]
fn security_4688_example() {
    let log = example_log("windows_event_log_security_4688.yml");
    let e = normalized(&Decoded::Windows(decode_xml(log.as_bytes()).unwrap()));
    check(
        &e,
        &[
            (Field::Dest, "ar-win-1"),
            // TargetUserName is `-`, so the subject (a machine account) is the user.
            (Field::User, "AR-WIN-1$"),
            (
                Field::Process,
                r#""C:\Program Files\SplunkUniversalForwarder\bin\splunk-powershell.exe" --ps2"#,
            ),
            (Field::ProcessName, "splunk-powershell.exe"),
            (Field::ProcessId, "0xf84"),
            (Field::ParentProcessId, "0xb2c"),
            (
                Field::ParentProcess,
                r"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe",
            ),
            (Field::ParentProcessName, "splunkd.exe"),
            (Field::OriginalFileName, "unknown"),
            (Field::Action, "allowed"),
        ],
    );
}

#[test]
#[ignore = "needs ../shared"]
fn crowdstrike_process_rollup2_example() {
    let log = example_log("crowdstrike_processrollup2.yml");
    let e = normalized(&decode_json(log.as_bytes()).unwrap());
    check(
        &e,
        &[
            // No ComputerName and no inventory: the aid stands in for the host.
            (Field::Dest, "168a90e125d443beb2a4e2914985084d"),
            (Field::User, "S-1-5-21-586445407-708991241-1829972403-500"),
            (
                Field::Process,
                r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" "#,
            ),
            (Field::ProcessName, "powershell.exe"),
            (Field::ParentProcessName, "explorer.exe"),
            (Field::ProcessId, "5012"),
            (Field::ParentProcessId, "5459598860"),
            (
                Field::ProcessHash,
                "ba4038fd20e474c047be8aad5bfacdb1bfc1ddbe12f803f473b7918d8d819436",
            ),
            (Field::ProcessIntegrityLevel, "high"),
            (Field::OriginalFileName, "unknown"),
        ],
    );
    assert_eq!(e.time.unwrap().to_string(), "2024-04-22T16:59:33.418Z");
}

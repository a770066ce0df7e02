//! `cimhunt serve` runs with mimalloc returning freed memory after 10 ms (it executes itself
//! again with `MIMALLOC_PURGE_DELAY=10`), unless the operator set the variable; the service is
//! the same process the caller started, so signals reach it.
#![cfg(target_os = "linux")]

mod serve_support;

use serve_support::*;

/// The variables of a running process's environment, as `/proc` shows them.
fn environment(pid: u32) -> Vec<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    bytes
        .split(|&b| b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[test]
fn serve_runs_with_a_short_purge_delay_unless_the_operator_set_one() {
    for (given, expected) in [(None, "10"), (Some("1000"), "1000")] {
        let dir = tempfile::tempdir().unwrap();
        let env: Vec<(&str, &str)> = given
            .map(|v| ("MIMALLOC_PURGE_DELAY", v))
            .into_iter()
            .collect();
        let server = spawn_with_env(&dir.path().join("state"), &[], &env);
        let vars = environment(server.child.id());
        let found: Vec<&String> = vars
            .iter()
            .filter(|v| v.starts_with("MIMALLOC_PURGE_DELAY="))
            .collect();
        assert_eq!(
            found,
            [&format!("MIMALLOC_PURGE_DELAY={expected}")],
            "given {given:?}"
        );
        // The pid the caller holds is the service: SIGTERM stops it cleanly.
        let (status, _) = server.terminate();
        assert!(status.success(), "{status:?}");
    }
}

//! What a fleet's benign activity looks like: process starts, connections, files, registry
//! writes, DNS names, logons, share access, services and PowerShell script blocks, written for
//! cimhunt's benchmark.
//!
//! Key decision: the background must never satisfy a planted detection, so that the manifest's
//! counts are exact. It is written to avoid the planted detections' patterns (no shadow-copy
//! deletion, no LSASS dump access masks, no RC4 tickets...), and the generator still checks every
//! background event against every planted detection and draws again if one matches (the tests
//! assert that this never happens). Everything else a real fleet does is fair game, including
//! what broad ESCU detections flag (scheduled-task scripts run with `-ExecutionPolicy Bypass`,
//! `cmd.exe /c`, `reg query`), because that is where real false positives and high-cardinality
//! results come from.
//!
//! Templates of values use placeholders that [`expand`] fills per host, user and event:
//! `{user}`, `{host}`, `{fqdn}`, `{dc}`, `{fs}`, `{ws}`, `{n}`, `{n2}`, `{n4}`, `{hex}`, `{HEX}`,
//! `{guid}`, `{lguid}`, `{port}`, `{pub}`, `{ip}`, `{wsip}`, `{date}`, `{word}`, `{ver}`,
//! `{sid}`, `{rand}`, `{domain}`. Any other text in braces (a literal GUID) is written as it is.

pub mod network;
pub mod powershell;
pub mod process;
pub mod security;
pub mod sysmon;

use std::fmt::Write;

use super::fleet::{DNS_DOMAIN, Fleet, Host, User, guid};
use super::rng::Rng;

/// Who and where an event happens, for [`expand`].
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub fleet: &'a Fleet,
    pub host: &'a Host,
    pub user: &'a User,
}

const WORDS: &[&str] = &[
    "Budget",
    "Forecast",
    "Invoice",
    "Roadmap",
    "Minutes",
    "Report",
    "Contract",
    "Payroll",
    "Onboarding",
    "Inventory",
    "Proposal",
    "Timesheet",
    "Review",
    "Plan",
    "Summary",
    "Audit",
    "Quote",
    "Schedule",
    "Design",
    "Specs",
    "Backlog",
    "Release",
    "Survey",
    "Policy",
];

/// Appends `template` with its placeholders filled.
pub fn expand(out: &mut String, template: &str, ctx: &Ctx<'_>, rng: &mut Rng) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return;
        };
        let name = &after[..close];
        if placeholder(out, name, ctx, rng) {
            rest = &after[close + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
}

/// A new string from [`expand`].
pub fn expanded(template: &str, ctx: &Ctx<'_>, rng: &mut Rng) -> String {
    let mut s = String::with_capacity(template.len() + 16);
    expand(&mut s, template, ctx, rng);
    s
}

fn placeholder(out: &mut String, name: &str, ctx: &Ctx<'_>, rng: &mut Rng) -> bool {
    match name {
        "user" => out.push_str(&ctx.user.sam),
        "sid" => out.push_str(&ctx.user.sid),
        "host" => out.push_str(&ctx.host.netbios),
        "fqdn" => out.push_str(&ctx.host.fqdn),
        "ip" => out.push_str(&ctx.host.ip_text()),
        "dc" => out.push_str(&ctx.fleet.dc(rng).netbios),
        "fs" => out.push_str(&ctx.fleet.file_server(rng).netbios),
        "ws" => out.push_str(&ctx.fleet.workstation(rng).netbios),
        "wsip" => out.push_str(&ctx.fleet.workstation(rng).ip_text()),
        "n" => {
            let _ = write!(out, "{}", rng.range(1, 99_999));
        }
        "n2" => {
            let _ = write!(out, "{}", rng.range(10, 99));
        }
        "n4" => {
            let _ = write!(out, "{}", rng.range(1_000, 9_999));
        }
        "hex" => {
            let _ = write!(out, "{:08x}", rng.next() as u32);
        }
        "HEX" => {
            let _ = write!(out, "{:08X}", rng.next() as u32);
        }
        "guid" => guid(out, rng),
        "lguid" => {
            let mut g = String::with_capacity(38);
            guid(&mut g, rng);
            out.push_str(&g[1..37].to_ascii_lowercase());
        }
        "port" => {
            let _ = write!(out, "{}", rng.range(49_152, 65_535));
        }
        "pub" => public_ip(out, rng),
        "date" => {
            let _ = write!(out, "2026{:02}{:02}", rng.range(1, 11), rng.range(1, 28));
        }
        "word" => out.push_str(rng.one(WORDS)),
        "ver" => {
            let _ = write!(out, "131.0.6778.{}", rng.range(70, 265));
        }
        "rand" => {
            for _ in 0..8 {
                out.push((b'a' + rng.below(26) as u8) as char);
            }
        }
        "domain" => out.push_str(DNS_DOMAIN),
        _ => return false,
    }
    true
}

/// A public IPv4 address from ranges large providers use (never private, loopback or
/// link-local).
pub fn public_ip(out: &mut String, rng: &mut Rng) {
    const NETS: &[[u8; 2]] = &[
        [13, 107],
        [20, 190],
        [40, 126],
        [52, 96],
        [142, 250],
        [172, 217],
        [151, 101],
        [104, 16],
        [23, 212],
        [34, 117],
    ];
    let [a, b] = rng.one(NETS);
    let _ = write!(out, "{a}.{b}.{}.{}", rng.below(256), 1 + rng.below(254));
}

/// XML-escapes `text` (`&`, `<`, `>`) onto `out`, as Windows writes element text.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// The file name of a Windows path.
pub fn basename(path: &str) -> &str {
    path.rsplit('\\').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_fills_known_names_and_keeps_literal_braces() {
        let mut rng = Rng::new(1);
        let fleet = Fleet::new(&mut rng, 20);
        let ctx = Ctx {
            fleet: &fleet,
            host: &fleet.hosts[0],
            user: &fleet.users[0],
        };
        let s = expanded(
            r"C:\Users\{user}\x {5770385F-C22A} {nothing} {n2}",
            &ctx,
            &mut rng,
        );
        let prefix = format!(
            r"C:\Users\{}\x {{5770385F-C22A}} {{nothing}} ",
            fleet.users[0].sam
        );
        assert!(s.starts_with(&prefix), "{s}");
        let n: u32 = s[prefix.len()..].parse().unwrap();
        assert!((10..=99).contains(&n));
    }

    #[test]
    fn escape_writes_entities() {
        let mut s = String::new();
        escape_into(&mut s, "a < b && c > d");
        assert_eq!(s, "a &lt; b &amp;&amp; c &gt; d");
    }
}

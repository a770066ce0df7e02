//! The prefilter: skip records that no detection can match, before decoding them.
//!
//! Each compiled detection states which literals any record it matches must contain
//! ([`RecordLiterals`]: clauses of alternatives). For every detection we pick one clause whose
//! alternatives are not part of the record envelope (markup, element and key names, provider
//! names — they occur in every record, so they select nothing), and one case-insensitive
//! multi-literal search looks for any chosen literal in the raw record bytes. A detection
//! without such a clause means every record must be decoded, and the prefilter admits all.

use cimhunt_spl::search::RecordLiterals;
use regex::bytes::{Regex, RegexBuilder};

/// Text that occurs in every record of some supported format, whatever the event: a literal
/// contained in one of these selects nothing.
const ENVELOPE: &[&str] = &[
    // Windows event XML markup (XmlWinEventLog, and element names in EVTX string tables).
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>",
    "<System><Provider Name='' Guid=''/><EventID Qualifiers=''></EventID><Version></Version>",
    "<Level></Level><Task></Task><Opcode></Opcode><Keywords>0x8000000000000000</Keywords>",
    "<Keywords>0x8020000000000000</Keywords><Keywords>0x8010000000000000</Keywords>",
    "<TimeCreated SystemTime=''/><EventRecordID></EventRecordID><Correlation ActivityID=''",
    "RelatedActivityID=''/><Execution ProcessID='' ThreadID=''/><Channel></Channel>",
    "<Computer></Computer><Security UserID=''/></System><EventData><Data Name=''></Data>",
    "</EventData><UserData></UserData><RenderingInfo Culture='en-US'><Message></Message>",
    "</Event><?xml version=\"1.0\" encoding=\"utf-8\"?>",
    "Microsoft-Windows-Sysmon/Operational Microsoft-Windows-Security-Auditing",
    "{5770385F-C22A-43E0-BF4C-06F5698FFBD9} {54849625-5478-4994-A5BA-3E3B0328C30D}",
    // Sysmon Event ID 1 and Security 4688 data names.
    "RuleName UtcTime ProcessGuid ProcessId Image FileVersion Description Product Company",
    "OriginalFileName CommandLine CurrentDirectory User LogonGuid LogonId TerminalSessionId",
    "IntegrityLevel Hashes ParentProcessGuid ParentProcessId ParentImage ParentCommandLine",
    "ParentUser SubjectUserSid SubjectUserName SubjectDomainName SubjectLogonId NewProcessId",
    "NewProcessName TokenElevationType TargetUserSid TargetUserName TargetDomainName",
    "TargetLogonId ParentProcessName MandatoryLabel %%1936 %%1937 %%1938",
    // evtx_dump JSON keys.
    "{\"Event\":{\"#attributes\":{\"xmlns\":\"\"},\"System\":{\"#text\":\"\"}}}",
    // CrowdStrike FDR keys.
    "event_simpleName ProcessRollup2 SyntheticProcessRollup2 timestamp aid cid aip",
    "RawProcessId ParentProcessId ImageFileName CommandLine ParentBaseFileName UserSid",
    "SHA256HashData MD5HashData SHA1HashData ComputerName UserName event_platform",
    "ConfigBuild ConfigStateHash EffectiveTransmissionClass name id",
];

/// Characters whose Unicode lowercase contains an ASCII letter (the Kelvin sign → `k`, dotted
/// capital I → `i̇`): a value holding one can match a pattern's ASCII literal without the record
/// holding that literal.
const FOLDS_TO_ASCII: [char; 2] = ['\u{212A}', '\u{0130}'];

/// Whether a literal occurs (ASCII case-insensitively) in the envelope of every record.
fn in_envelope(literal: &str) -> bool {
    let lit = literal.to_ascii_lowercase();
    ENVELOPE
        .iter()
        .any(|e| e.to_ascii_lowercase().contains(&lit))
}

/// Decides from raw bytes whether a record can match any detection.
#[derive(Debug, Clone)]
pub struct Prefilter {
    needles: Vec<String>,
    /// For XML records: the needles, and the characters that fold to ASCII.
    text: Option<Regex>,
    /// For JSON records: as `text`, and JSON's `\uXXXX` and `\/` escapes.
    json: Option<Regex>,
    /// For EVTX chunks: as `text`, in UTF-8 and UTF-16LE.
    evtx: Option<Regex>,
}

impl Prefilter {
    /// A prefilter that admits every record.
    pub fn admit_all() -> Prefilter {
        Prefilter {
            needles: Vec::new(),
            text: None,
            json: None,
            evtx: None,
        }
    }

    /// The prefilter for a set of detections: admits a record when it contains a chosen literal
    /// of at least one detection; admits everything when some detection has no usable clause.
    ///
    /// EVTX chunks get their own needles: a clause counts there only when every alternative
    /// is text an EVTX chunk holds ([`cimhunt_spl::search::Literal::evtx_safe`]); when some
    /// detection has no such clause, chunks are all admitted while text records are still
    /// filtered.
    pub fn new<'a>(requirements: impl IntoIterator<Item = &'a RecordLiterals>) -> Prefilter {
        let mut needles: Vec<String> = Vec::new();
        let mut evtx_needles: Option<Vec<String>> = Some(Vec::new());
        for req in requirements {
            match best_clause(req, false) {
                Some(clause) => needles.extend(clause),
                None => return Prefilter::admit_all(),
            }
            match (best_clause(req, true), evtx_needles.as_mut()) {
                (Some(clause), Some(e)) => e.extend(clause),
                _ => evtx_needles = None,
            }
        }
        needles.sort();
        needles.dedup();
        if needles.is_empty() {
            return Prefilter::admit_all();
        }
        // A value holding a character that folds to ASCII can match without holding the
        // literal, and JSON can spell any character as an escape: records holding those are
        // admitted. All of it goes into one regex per format, so a record is scanned once.
        let folds: Vec<String> = FOLDS_TO_ASCII.iter().map(char::to_string).collect();
        let utf8 = || needles.iter().chain(&folds).map(|n| n.as_bytes().to_vec());
        let text = build(utf8());
        let json = build(utf8().chain([b"\\u".to_vec(), b"\\/".to_vec()]));
        let evtx = evtx_needles.filter(|n| !n.is_empty()).map(|n| {
            let utf8 = n.iter().chain(&folds).map(|n| n.as_bytes().to_vec());
            build(utf8.chain(n.iter().chain(&folds).map(|n| utf16le(n))))
        });
        match (text, json, evtx) {
            (Some(text), Some(json), evtx) if !matches!(evtx, Some(None)) => Prefilter {
                needles,
                text: Some(text),
                json: Some(json),
                evtx: evtx.flatten(),
            },
            // Too many literals for the regex engine's limits: the prefilter is only a speed-up.
            _ => Prefilter::admit_all(),
        }
    }

    /// The literals looked for; empty when every record is admitted.
    pub fn needles(&self) -> &[String] {
        &self.needles
    }

    /// Whether the prefilter skips anything.
    pub fn is_active(&self) -> bool {
        self.text.is_some()
    }

    /// Whether an XML or JSON record may match. JSON can spell any character as `\uXXXX` (and
    /// `/` as `\/`), so a JSON record with such escapes is admitted when no literal is found;
    /// so is a record holding one of the two characters whose lowercase is an ASCII letter.
    pub fn admits_text(&self, record: &[u8], json: bool) -> bool {
        let re = if json { &self.json } else { &self.text };
        re.as_ref().is_none_or(|re| re.is_match(record))
    }

    /// Whether an EVTX chunk may hold a matching record: its strings are UTF-16LE (or ANSI).
    pub fn admits_evtx_chunk(&self, chunk: &[u8]) -> bool {
        self.evtx.as_ref().is_none_or(|re| re.is_match(chunk))
    }
}

/// The clause whose alternatives are all outside the envelope (and, for EVTX, all text a chunk
/// holds) and whose shortest alternative is longest (a longer literal is rarer).
fn best_clause(req: &RecordLiterals, evtx: bool) -> Option<Vec<String>> {
    req.clauses
        .iter()
        .filter(|c| {
            !c.is_empty()
                && c.iter()
                    .all(|l| !l.text.is_empty() && !in_envelope(&l.text) && (!evtx || l.evtx_safe))
        })
        .map(|c| {
            let mut texts: Vec<String> = c.iter().map(|l| l.text.clone()).collect();
            texts.dedup();
            texts
        })
        .max_by_key(|c| c.iter().map(String::len).min().unwrap_or(0))
}

/// One case-insensitive (ASCII) byte regex matching any of the byte strings. The regex engine
/// picks a fast literal search for it (SIMD for one or a few needles, Teddy or Aho-Corasick for
/// many), several times faster than a plain case-insensitive automaton on a single literal.
fn build(patterns: impl Iterator<Item = Vec<u8>>) -> Option<Regex> {
    let alternatives: Vec<String> = patterns
        .map(|p| p.iter().map(|b| format!("\\x{b:02x}")).collect::<String>())
        .collect();
    RegexBuilder::new(&alternatives.join("|"))
        .unicode(false)
        .case_insensitive(true)
        .size_limit(64 << 20)
        .build()
        .ok()
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::raw_req as req;

    #[test]
    fn envelope_literals_are_not_chosen() {
        let seed = req(&[&["msiexec.exe"], &["http://", "https://"]]);
        let p = Prefilter::new([&seed]);
        assert_eq!(p.needles(), ["msiexec.exe"]);
        assert!(in_envelope("http://"));
        assert!(in_envelope("process"));
        assert!(in_envelope("system"));
        assert!(!in_envelope("msiexec"));
    }

    #[test]
    fn a_detection_without_literals_disables_the_prefilter() {
        let seed = req(&[&["msiexec.exe"]]);
        let none = req(&[]);
        let envelope_only = req(&[&["process"]]);
        assert!(!Prefilter::new([&seed, &none]).is_active());
        assert!(!Prefilter::new([&envelope_only]).is_active());
        assert!(Prefilter::new([&seed]).is_active());
    }

    #[test]
    fn matching_is_ascii_case_insensitive_in_text_and_utf16() {
        let p = Prefilter::new([&req(&[&["msiexec.exe"]])]);
        assert!(p.admits_text(b"<Data>C:\\Windows\\MSIEXEC.EXE</Data>", false));
        assert!(!p.admits_text(b"<Data>cmd.exe</Data>", false));
        assert!(p.admits_evtx_chunk(&utf16le("x\\MsiExec.exe y")));
        assert!(p.admits_evtx_chunk(b"ansi MSIEXEC.exe"));
        assert!(!p.admits_evtx_chunk(&utf16le("cmd.exe")));
    }

    #[test]
    fn characters_that_lowercase_to_ascii_are_admitted() {
        let p = Prefilter::new([&req(&[&["kill.exe"]])]);
        assert!(p.admits_text("<Data>\u{212A}ILL.exe</Data>".as_bytes(), false));
        assert!(!p.admits_text(b"<Data>cmd.exe</Data>", false));
        assert!(p.admits_evtx_chunk(&utf16le("x \u{0130}nstall")));
    }

    #[test]
    fn json_escapes_are_admitted() {
        let p = Prefilter::new([&req(&[&["msiexec.exe"]])]);
        assert!(p.admits_text(br#"{"Image":"\u006dsiexec.exe"}"#, true));
        assert!(!p.admits_text(br#"{"Image":"\u006dsiexec.exe"}"#, false));
        assert!(!p.admits_text(br#"{"Image":"cmd.exe"}"#, true));
        assert!(p.admits_text(br#"{"Image":"C:\/x"}"#, true));
        assert!(p.admits_text("{\"Image\":\"\u{212A}\"}".as_bytes(), true));
    }
}

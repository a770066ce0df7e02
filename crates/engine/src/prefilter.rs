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

    /// A scan of one block's text records in input order: [`TextScan::admits`] answers as
    /// [`Prefilter::admits_text`] does for each record, but searches the block in one pass, so
    /// a record without a literal costs no call of its own (the per-call set-up of a regex
    /// search is most of the time a short record takes). `None` when every record is admitted.
    pub fn text_scan<'p, 'b>(&'p self, block: &'b [u8], json: bool) -> Option<TextScan<'p, 'b>> {
        let re = if json { &self.json } else { &self.text };
        re.as_ref().map(|re| TextScan {
            re,
            block,
            hit: Hit::Unknown,
        })
    }

    /// Whether an EVTX chunk may hold a matching record: its strings are UTF-16LE (or ANSI).
    pub fn admits_evtx_chunk(&self, chunk: &[u8]) -> bool {
        self.evtx.as_ref().is_none_or(|re| re.is_match(chunk))
    }
}

/// The prefilter's search over one block; see [`Prefilter::text_scan`].
#[derive(Debug)]
pub struct TextScan<'p, 'b> {
    re: &'p Regex,
    block: &'b [u8],
    /// The first match at or after the last record asked about.
    hit: Hit,
}

/// What a [`TextScan`] knows of the next match.
#[derive(Debug, Clone, Copy)]
enum Hit {
    /// Not searched yet, or the last match lies before the record asked about.
    Unknown,
    /// The leftmost match starting at or after `from` spans `start..end`.
    At {
        from: usize,
        start: usize,
        end: usize,
    },
    /// No match starts at or after `from`.
    None { from: usize },
}

impl TextScan<'_, '_> {
    /// Whether the record at `start..end` of the block may match. Records must be asked about
    /// in input order (ascending, not overlapping).
    ///
    /// A match inside the record admits it; a match starting after it rejects it without a
    /// search of its own. A match that starts inside the record and runs past its end proves
    /// nothing (a shorter alternative may end inside), so that record alone is searched again.
    pub fn admits(&mut self, start: usize, end: usize) -> bool {
        let record = self.block.get(start..end).unwrap_or_default();
        let (m_start, m_end) = match self.hit {
            Hit::None { from } if from <= start => return false,
            Hit::At {
                from,
                start: s,
                end: e,
            } if from <= start && s >= start => (s, e),
            _ => match self.re.find_at(self.block, start) {
                Some(m) => {
                    self.hit = Hit::At {
                        from: start,
                        start: m.start(),
                        end: m.end(),
                    };
                    (m.start(), m.end())
                }
                None => {
                    self.hit = Hit::None { from: start };
                    return false;
                }
            },
        };
        if m_start >= end {
            false
        } else if m_end <= end {
            true
        } else {
            self.re.is_match(record)
        }
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

    /// Every record's verdict from a one-pass [`TextScan`] equals the per-record search's, for
    /// blocks of random bytes over a small alphabet cut into random records with gaps, where
    /// matches often straddle a record's end or a gap.
    #[test]
    fn a_block_scan_admits_exactly_the_records_a_per_record_search_admits() {
        let p = Prefilter::new([&req(&[&["abc", "ca", "bcab"]])]);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as usize
        };
        let mut checked = (0, 0);
        for _ in 0..2_000 {
            let len = 1 + next(60);
            let block: Vec<u8> = (0..len).map(|_| b"abcAB x"[next(7)]).collect();
            let mut spans = Vec::new();
            let mut at = next(3);
            while at < len {
                let end = (at + 1 + next(8)).min(len);
                spans.push((at, end));
                at = end + next(3);
            }
            for json in [false, true] {
                let mut scan = p.text_scan(&block, json).expect("active");
                for &(start, end) in &spans {
                    let want = p.admits_text(&block[start..end], json);
                    assert_eq!(scan.admits(start, end), want, "{block:?} {start}..{end}");
                    checked.0 += usize::from(want);
                    checked.1 += usize::from(!want);
                }
            }
        }
        assert!(checked.0 > 1_000 && checked.1 > 1_000, "{checked:?}");
    }

    #[test]
    fn a_match_running_past_a_record_does_not_hide_a_shorter_one_inside_it() {
        // The block's leftmost match is `bcab`, which runs past the record `bca`; the record
        // still holds `ca`, which a search of the record alone finds.
        let p = Prefilter::new([&req(&[&["bcab", "ca"]])]);
        let block = b"bcab";
        let mut scan = p.text_scan(block, false).expect("active");
        assert!(scan.admits(0, 3), "`bca` holds `ca`");
        assert!(!scan.admits(3, 4), "`b` holds nothing");
        let mut scan = p.text_scan(b"xbcab", false).expect("active");
        assert!(
            !scan.admits(0, 3),
            "`xbc` holds nothing though a match starts in it"
        );
        assert!(!scan.admits(3, 5), "`ab` holds nothing");
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

//! Regular expressions of `match`, `replace` and `mvfind`: PCRE syntax, with limits.
//!
//! Splunk's regular expressions are PCRE ("perl-compatible regular expressions (PCRE) syntax",
//! Search Reference, Text functions, `replace`). ESCU and the add-ons use look-ahead, look-behind,
//! back-references, named groups (`(?<name>…)`) and inline flags (`(?i)`), which the linear-time
//! `regex` crate rejects; `fancy-regex` accepts them and hands every part that needs no
//! backtracking to `regex`. See `docs/spl-eval.md` for the survey of ESCU's patterns.
//!
//! Limits, so that hostile content cannot run away: a pattern is at most [`MAX_PATTERN`] bytes;
//! compiled programs are bounded ([`SIZE_LIMIT`]); a match gives up after [`BACKTRACK_LIMIT`]
//! backtracking steps, and the function that asked then yields null (counted in
//! [`super::EvalExpr::limit_hits`]).
//!
//! `\<`, `\>` (the characters `<`, `>` in PCRE, word boundaries in fancy-regex), `\h` and `\H`
//! are rewritten to their PCRE meaning before compiling. Differences from PCRE that remain
//! [inferred]: `\w`, `\d`, `\s` and `\b` follow Unicode (PCRE without `UCP` is ASCII-only);
//! `\v` is the vertical tab (PCRE: vertical white space); recursion and callouts are not
//! supported (none of ESCU's or the add-ons' patterns uses them).
//!
//! `replace`'s replacement refers to groups as `\1` … `\9` (`\0` is the whole match), as the
//! Text functions page's example `"\2/\1/"` does; any other backslash is kept as written.

use hashbrown::HashMap;
use std::borrow::Cow;
use std::cell::RefCell;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

/// The longest pattern accepted, in bytes.
pub const MAX_PATTERN: usize = 32 * 1024;
/// Patterns [`Regex::shared`] keeps compiled.
pub const SHARED_MAX: usize = 4096;
/// Backtracking steps one match may take.
pub const BACKTRACK_LIMIT: usize = 1_000_000;
/// Approximate bound on a compiled program (and its lazy DFA cache), in bytes.
pub const SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// A compiled regular expression with cimhunt's limits, for eval and for the commands that take
/// regular expressions (`rex`, `regex`, the add-ons' `EXTRACT-`/`REGEX`).
///
/// A regular expression is compiled when it is made ([`Regex::new`]), or, for the add-ons'
/// tables, when it is first used ([`Regex::deferred`]): a run uses few of the hundreds the
/// tables hold, and compiling them all was 40% of start-up (8 of 21 ms).
#[derive(Debug)]
pub struct Regex {
    /// The pattern as fancy-regex reads it ([`pcre_to_fancy`]).
    pattern: Box<str>,
    re: OnceLock<Result<fancy_regex::Regex, RegexError>>,
    /// Unique for the life of the process: the key of this expression's memoized results.
    id: u64,
}

/// A pattern that does not compile, or is longer than [`MAX_PATTERN`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression: {0}")]
pub struct RegexError(String);

/// A match gave up: it hit the backtracking limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("regular expression gave up after {BACKTRACK_LIMIT} backtracking steps")]
pub struct RegexAborted;

impl Regex {
    /// Compiles `pattern` (PCRE syntax as fancy-regex reads it), with the limits above.
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        let re = Regex::deferred(pattern)?;
        re.compiled().map_err(Clone::clone)?;
        Ok(re)
    }

    /// `pattern`, whose syntax is checked now and which is compiled when first used. A pattern
    /// that parses but does not compile (a program beyond [`SIZE_LIMIT`], a back-reference to
    /// no group) then matches nothing, each use counting as one that gave up
    /// ([`Regex::failed`] says why): for the add-ons' tables, whose every pattern a test
    /// compiles (`cimhunt_model`, `every_pattern_of_the_tables_compiles`).
    pub fn deferred(pattern: &str) -> Result<Regex, RegexError> {
        if pattern.len() > MAX_PATTERN {
            return Err(RegexError(format!(
                "pattern of {} bytes is longer than the limit of {MAX_PATTERN}",
                pattern.len()
            )));
        }
        let pattern = pcre_to_fancy(pattern);
        fancy_regex::Expr::parse_tree(&pattern).map_err(|e| RegexError(e.to_string()))?;
        Ok(Regex {
            pattern: pattern.into(),
            re: OnceLock::new(),
            id: crate::unique_id(),
        })
    }

    /// The compiled expression (compiling it the first time).
    fn compiled(&self) -> Result<&fancy_regex::Regex, &RegexError> {
        self.re
            .get_or_init(|| {
                fancy_regex::RegexBuilder::new(&self.pattern)
                    .backtrack_limit(BACKTRACK_LIMIT)
                    .delegate_size_limit(SIZE_LIMIT)
                    .delegate_dfa_size_limit(SIZE_LIMIT)
                    .build()
                    .map_err(|e| RegexError(e.to_string()))
            })
            .as_ref()
    }

    /// Why a [`Regex::deferred`] pattern did not compile (compiling it if it was not yet).
    pub fn failed(&self) -> Option<&RegexError> {
        self.compiled().err()
    }

    /// The pattern as compiled (after the PCRE rewrites), without compiling it.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The names of the named groups with their numbers, in order, without compiling the
    /// pattern.
    pub fn group_names(&self) -> Vec<(usize, String)> {
        let Ok(tree) = fancy_regex::Expr::parse_tree(&self.pattern) else {
            return Vec::new();
        };
        let mut names: Vec<(usize, String)> = tree
            .named_groups
            .iter()
            .flat_map(|(name, at)| at.iter().map(|&i| (i, name.clone())))
            .collect();
        names.sort();
        names
    }

    /// [`Regex::new`], compiled once per pattern in the process: ESCU's macros put the same
    /// patterns in many detections (451 compilations of 200 patterns for the endpoint
    /// library, a sixth of its start-up), and a compiled expression is immutable, so detections
    /// share it. At most [`SHARED_MAX`] patterns are kept; beyond that (hostile content) each
    /// is compiled on its own. Errors are not kept.
    pub fn shared(pattern: &str) -> Result<Arc<Regex>, RegexError> {
        let re = Regex::shared_deferred(pattern)?;
        re.compiled().map_err(Clone::clone)?;
        Ok(re)
    }

    /// [`Regex::shared`] for a [`Regex::deferred`] pattern: checked now, compiled (once for
    /// every holder) when first used.
    pub fn shared_deferred(pattern: &str) -> Result<Arc<Regex>, RegexError> {
        static SHARED: OnceLock<Mutex<HashMap<Box<str>, Arc<Regex>>>> = OnceLock::new();
        let shared = SHARED.get_or_init(Mutex::default);
        let lock = || shared.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(re) = lock().get(pattern) {
            return Ok(Arc::clone(re));
        }
        // Checked without the lock held: two threads may check the same pattern once each,
        // and the first kept is the one shared.
        let re = Arc::new(Regex::deferred(pattern)?);
        let mut kept = lock();
        if let Some(first) = kept.get(pattern) {
            return Ok(Arc::clone(first));
        }
        if kept.len() < SHARED_MAX {
            kept.insert(Box::from(pattern), Arc::clone(&re));
        }
        Ok(re)
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> Result<bool, RegexAborted> {
        let re = self.compiled().map_err(|_| RegexAborted)?;
        re.is_match(text).map_err(|_| RegexAborted)
    }

    /// The compiled expression, for captures (`rex`): it carries the same backtracking limit.
    /// For a [`Regex::deferred`] pattern that did not compile, an expression that matches
    /// nothing.
    pub fn as_fancy(&self) -> &fancy_regex::Regex {
        static NOTHING: OnceLock<fancy_regex::Regex> = OnceLock::new();
        match self.compiled() {
            Ok(re) => re,
            Err(_) => NOTHING.get_or_init(|| {
                fancy_regex::Regex::new(r"[^\s\S]").expect("a class of no character compiles")
            }),
        }
    }

    /// [`Regex::replace_all`], remembering recent results per thread: add-on fields such as
    /// `process_name` apply a look-around regex to values (`Image`) that repeat from event to
    /// event, and a remembered result costs a hash lookup instead of a backtracking search. At
    /// most [`MEMO_SIZE`] results of texts up to [`MEMO_MAX_TEXT`] bytes are kept per thread (a
    /// few megabytes at most); results that gave up are not kept.
    pub fn replace_all_memo<'t>(
        &self,
        text: &'t str,
        replacement: &str,
    ) -> Result<Cow<'t, str>, RegexAborted> {
        if text.len() + replacement.len() > MEMO_MAX_TEXT {
            return self.replace_all(text, replacement);
        }
        static KEYS: OnceLock<hashbrown::DefaultHashBuilder> = OnceLock::new();
        let mut h = KEYS.get_or_init(Default::default).build_hasher();
        h.write_u64(self.id);
        h.write(replacement.as_bytes());
        h.write_u8(0xff);
        h.write(text.as_bytes());
        let key = h.finish();
        let hit = MEMO.with_borrow(|memo| {
            memo.get(&key)
                .filter(|m| {
                    m.regex == self.id && &*m.replacement == replacement && &*m.text == text
                })
                .map(|m| m.result.clone())
        });
        if let Some(result) = hit {
            return Ok(match result {
                None => Cow::Borrowed(text),
                Some(out) => Cow::Owned(out.into_string()),
            });
        }
        let out = self.replace_all(text, replacement)?;
        MEMO.with_borrow_mut(|memo| {
            if memo.len() >= MEMO_SIZE {
                memo.clear();
            }
            memo.insert(
                key,
                Memo {
                    regex: self.id,
                    replacement: replacement.into(),
                    text: text.into(),
                    result: match &out {
                        Cow::Borrowed(_) => None,
                        Cow::Owned(s) => Some(s.as_str().into()),
                    },
                },
            );
        });
        Ok(out)
    }

    /// `text` with every match replaced by `replacement` (`\1` … `\9` are groups). Borrows `text`
    /// when nothing matches.
    pub fn replace_all<'t>(
        &self,
        text: &'t str,
        replacement: &str,
    ) -> Result<Cow<'t, str>, RegexAborted> {
        // Groups cost a capturing search; most replacements (`""`) need none.
        let groups = replacement
            .as_bytes()
            .windows(2)
            .any(|w| w[0] == b'\\' && w[1].is_ascii_digit());
        let re = self.compiled().map_err(|_| RegexAborted)?;
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut pos = 0;
        while pos <= text.len() {
            let (whole, caps) = if groups {
                let Some(caps) = re.captures_from_pos(text, pos).map_err(|_| RegexAborted)? else {
                    break;
                };
                let Some(whole) = caps.get(0) else { break };
                ((whole.start(), whole.end()), Some(caps))
            } else {
                let Some(m) = re.find_from_pos(text, pos).map_err(|_| RegexAborted)? else {
                    break;
                };
                ((m.start(), m.end()), None)
            };
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            buf.push_str(&text[copied..whole.0]);
            match &caps {
                Some(caps) => expand(replacement, caps, buf),
                None => buf.push_str(replacement),
            }
            copied = whole.1;
            pos = if whole.1 > whole.0 {
                whole.1
            } else {
                // An empty match: step over one character.
                match text[whole.1..].chars().next() {
                    Some(c) => whole.1 + c.len_utf8(),
                    None => break,
                }
            };
        }
        Ok(match out {
            None => Cow::Borrowed(text),
            Some(mut buf) => {
                buf.push_str(&text[copied..]);
                Cow::Owned(buf)
            }
        })
    }
}

/// How many `replace` results each thread remembers.
pub const MEMO_SIZE: usize = 4096;
/// The longest text (with its replacement) whose `replace` result is remembered, in bytes.
pub const MEMO_MAX_TEXT: usize = 512;

/// A remembered `replace` result.
struct Memo {
    regex: u64,
    replacement: Box<str>,
    text: Box<str>,
    /// `None`: nothing matched, the text is unchanged.
    result: Option<Box<str>>,
}

thread_local! {
    static MEMO: RefCell<HashMap<u64, Memo>> = RefCell::new(HashMap::new());
}

/// PCRE horizontal white space, the meaning of `\h` in PCRE (fancy-regex reads a hex digit).
const HSPACE: &str = r"\t \x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}";

/// `pattern` with the escapes whose meaning differs between PCRE and fancy-regex rewritten to
/// PCRE's meaning: `\<` and `\>` are the characters `<` and `>` in PCRE (word boundaries in
/// fancy-regex; the Windows add-on writes `\<Data Name\=…\>`), `\h` is horizontal white space
/// and `\H` its complement (outside character classes).
fn pcre_to_fancy(pattern: &str) -> Cow<'_, str> {
    if !pattern.contains(['<', '>', 'h', 'H']) || !pattern.contains('\\') {
        return Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        match c {
            '\\' => match chars.next() {
                Some('<') => out.push('<'),
                Some('>') => out.push('>'),
                Some('h') if in_class => out.push_str(HSPACE),
                Some('h') => {
                    out.push('[');
                    out.push_str(HSPACE);
                    out.push(']');
                }
                Some('H') if !in_class => {
                    out.push_str("[^");
                    out.push_str(HSPACE);
                    out.push(']');
                }
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                class_start = true;
            }
            // A `]` right after `[` or `[^` is a member, not the end.
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Appends `replacement` to `out`, with `\0` … `\9` standing for the groups of `caps`.
fn expand(replacement: &str, caps: &fancy_regex::Captures<'_, str>, out: &mut String) {
    let mut rest = replacement;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.bytes().next() {
            Some(d @ b'0'..=b'9') => {
                if let Some(m) = caps.get(usize::from(d - b'0')) {
                    out.push_str(m.as_str());
                }
                rest = &after[1..];
            }
            _ => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// Regular expressions built from computed patterns, kept per expression so that a pattern
/// that comes from a field is compiled once, not once per event.
#[derive(Debug, Default)]
pub(crate) struct RegexCache {
    entries: Mutex<CacheEntries>,
}

#[derive(Debug, Default)]
struct CacheEntries {
    /// Each pattern's expression (`None`: it does not compile, which is remembered too, or a
    /// field holding a bad pattern would be compiled again for every event) and when it was
    /// last asked for.
    map: HashMap<Box<str>, (Option<Arc<Regex>>, u64)>,
    clock: u64,
}

/// How many computed patterns a cache keeps; past that, the least recently used is dropped.
/// ESCU's `match(browser_process_name, extracted_process_name)` asks for one pattern per
/// process name: sixteen, the first bound, recompiled them over and over on the EVTX corpus.
const CACHE_SIZE: usize = 128;

impl RegexCache {
    /// The compiled `pattern` (`None` if it does not compile).
    pub(crate) fn get(&self, pattern: &str) -> Option<Arc<Regex>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.clock += 1;
        let now = entries.clock;
        if let Some((re, used)) = entries.map.get_mut(pattern) {
            *used = now;
            return re.clone();
        }
        let re = Regex::new(pattern).ok().map(Arc::new);
        if entries.map.len() >= CACHE_SIZE {
            let oldest = entries
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(p, _)| p.clone());
            if let Some(p) = oldest {
                entries.map.remove(&p);
            }
        }
        entries.map.insert(Box::from(pattern), (re.clone(), now));
        re
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(text: &str, re: &str, rep: &str) -> String {
        Regex::new(re)
            .unwrap()
            .replace_all(text, rep)
            .unwrap()
            .into_owned()
    }

    #[test]
    fn a_pattern_is_compiled_once_and_shared() {
        let a = Regex::shared(r"(?i)\\cmd\.exe$").unwrap();
        let b = Regex::shared(r"(?i)\\cmd\.exe$").unwrap();
        let c = Regex::shared(r"(?i)\\powershell\.exe$").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(a.is_match(r"C:\Windows\CMD.EXE"), Ok(true));
        assert_eq!(c.is_match(r"C:\Windows\CMD.EXE"), Ok(false));
        assert!(Regex::shared("(unclosed").is_err());
    }

    /// A deferred pattern's syntax is checked when it is made; one that parses but does not
    /// compile matches nothing and says why, where `new` refuses it.
    #[test]
    fn a_deferred_pattern_compiles_on_first_use_and_a_failure_matches_nothing() {
        assert!(Regex::deferred("(unclosed").is_err());
        let ok = Regex::deferred(r"(?<user>\w+)@(?<host>\w+)").unwrap();
        assert!(ok.re.get().is_none(), "not compiled when made");
        assert_eq!(
            ok.group_names(),
            [(1, "user".to_owned()), (2, "host".to_owned())]
        );
        assert_eq!(ok.is_match("a@b"), Ok(true));
        assert!(ok.re.get().is_some());
        assert_eq!(ok.failed(), None);
        // A program far beyond the size limit parses, and does not compile.
        let huge = r"\w{1000}\w{1000}\w{1000}\w{1000}\w{1000}";
        assert!(Regex::new(huge).is_err());
        let deferred = Regex::deferred(huge).unwrap();
        assert!(deferred.failed().is_some());
        assert_eq!(deferred.is_match(&"a".repeat(6000)), Err(RegexAborted));
        assert!(deferred.as_fancy().captures("anything").unwrap().is_none());
        assert!(Regex::shared(huge).is_err());
    }

    #[test]
    fn replace_with_back_references() {
        assert_eq!(
            replace("1/14/2023", r"^(\d{1,2})/(\d{1,2})/", r"\2/\1/"),
            "14/1/2023"
        );
        assert_eq!(
            replace("NT AUTHORITY\\SYSTEM", r"(.*)\\(.+)$", r"\2"),
            "SYSTEM"
        );
        assert_eq!(replace("abc", "x*", "-"), "-a-b-c-");
        assert_eq!(replace("aaa", "a", r"\0\0"), "aaaaaa");
        assert_eq!(replace("a.b", r"\.", r"\x"), r"a\xb");
    }

    #[test]
    fn sysmon_process_name_uses_look_ahead() {
        let re = r"(.*\\)(?=.*(\.\w*)$|(\w+)$)";
        assert_eq!(replace(r"C:\Tools\nc64.exe", re, ""), "nc64.exe");
        assert_eq!(replace(r"C:\Tools\evil-bin", re, ""), r"C:\Tools\evil-bin");
        assert_eq!(replace(r"C:\x\a b.exe", re, ""), "a b.exe");
        assert_eq!(replace(r"C:\Windows\System32\cmd", re, ""), "cmd");
    }

    #[test]
    fn memoized_replace_gives_the_same_results() {
        let re = Regex::new(r"(.*\\)(.+)$").unwrap();
        let other = Regex::new(r"x").unwrap();
        for _ in 0..3 {
            assert_eq!(re.replace_all_memo(r"A\b", r"\2").unwrap(), "b");
            assert_eq!(re.replace_all_memo(r"A\b", r"<\1>").unwrap(), r"<A\>");
            assert_eq!(other.replace_all_memo(r"A\b", r"\2").unwrap(), r"A\b");
            assert!(matches!(
                re.replace_all_memo("ab", ""),
                Ok(Cow::Borrowed("ab"))
            ));
        }
        for i in 0..MEMO_SIZE + 10 {
            let t = format!("x{i}");
            assert_eq!(other.replace_all_memo(&t, "y").unwrap(), format!("y{i}"));
        }
        assert!(MEMO.with_borrow(|m| m.len()) <= MEMO_SIZE);
    }

    #[test]
    fn no_match_borrows() {
        let re = Regex::new("z").unwrap();
        assert!(matches!(re.replace_all("abc", "y"), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn look_behind_sees_text_before_the_start_position() {
        // SY400's Guid cleanup: `replace(Guid, "^[']|[']$|'(?=,')|(?<=',)", "")`.
        assert_eq!(
            replace("'{5770385F-C22A}'", r"^[']|[']$|'(?=,')|(?<=',)", ""),
            "{5770385F-C22A}"
        );
    }

    #[test]
    fn catastrophic_backtracking_aborts() {
        let re = Regex::new(r"^(\w+\s?)*\1$").unwrap();
        let hostile = format!("{}b", "a".repeat(40));
        assert_eq!(re.is_match(&hostile), Err(RegexAborted));
    }

    #[test]
    fn pcre_escapes_keep_their_pcre_meaning() {
        // W88's `EXTRACT-1IpAddress_for_windows_security_from_xml`.
        let re = Regex::new(
            r#"\<Data Name\=[}}\{\{'"]IpAddress['}}\{\{"]\>(?!\:\:1)(?!127\.0\.0\.1)(?<src_ip>[^\<]+)\<\/Data\>"#,
        )
        .unwrap();
        assert_eq!(
            re.is_match("<Data Name='IpAddress'>10.1.2.3</Data>"),
            Ok(true)
        );
        assert_eq!(re.is_match("<Data Name='IpAddress'>::1</Data>"), Ok(false));
        assert_eq!(Regex::new(r"a\hb").unwrap().is_match("a b"), Ok(true));
        assert_eq!(Regex::new(r"a\hb").unwrap().is_match("a1b"), Ok(false));
        assert_eq!(Regex::new(r"a[\h]b").unwrap().is_match("a\tb"), Ok(true));
        assert_eq!(Regex::new(r"a\Hb").unwrap().is_match("axb"), Ok(true));
        assert_eq!(Regex::new(r"[]\<]").unwrap().is_match("<"), Ok(true));
        assert_eq!(pcre_to_fancy(r"a\\<"), r"a\\<");
    }

    #[test]
    fn over_long_patterns_are_refused() {
        assert!(Regex::new(&"a".repeat(MAX_PATTERN + 1)).is_err());
    }

    #[test]
    fn cache_compiles_once_and_stays_bounded() {
        let cache = RegexCache::default();
        let a = cache.get("a+").unwrap();
        let b = cache.get("a+").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        for i in 0..CACHE_SIZE + 40 {
            cache.get(&format!("x{i}")).unwrap();
            // The first pattern, asked for all along, stays.
            assert!(Arc::ptr_eq(&a, &cache.get("a+").unwrap()));
        }
        assert_eq!(cache.entries.lock().unwrap().map.len(), CACHE_SIZE);
        // The least recently used went: the first of the others, not the last.
        let last = format!("x{}", CACHE_SIZE + 39);
        assert!(
            cache
                .entries
                .lock()
                .unwrap()
                .map
                .contains_key(last.as_str())
        );
        assert!(!cache.entries.lock().unwrap().map.contains_key("x0"));
        // A pattern that does not compile is remembered as such, not compiled again.
        assert!(cache.get("(").is_none());
        assert!(matches!(
            cache.entries.lock().unwrap().map.get("("),
            Some((None, _))
        ));
        assert!(cache.get("(").is_none());
    }
}

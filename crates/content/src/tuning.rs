//! Checks that help a user tune detections with filter macros: a filter macro that no loaded
//! detection calls (a typo, or a detection renamed), and a detection whose search calls a filter
//! macro other than the one contentctl derives from its name.
//!
//! Key design decision: these are advice computed from a loaded [`ContentSet`], kept apart from
//! loading; loading itself stays as permissive as contentctl's build. The closest detection is
//! found by Jaro–Winkler similarity (`strsim`) of filter-macro names, which favours a shared
//! prefix, the way detection names differ (`..._remote_download` and `..._remote_downlod`).

use crate::content_set::ContentSet;
use crate::detection::Detection;
use crate::embedded::{EMBEDDED_ORIGIN, GENERATED_FILTER_ORIGIN};

/// A user-defined filter macro that no loaded detection calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmatchedFilter {
    /// The macro's name, e.g. `windows_msiexec_remote_downlod_filter`.
    pub name: String,
    /// Where it was defined (the file).
    pub origin: String,
    /// The loaded detection whose filter macro name is closest: its name and its filter macro.
    pub closest: Option<(String, String)>,
}

impl std::fmt::Display for UnmatchedFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: filter macro `{}` matches no loaded detection",
            self.origin, self.name
        )?;
        if let Some((detection, filter)) = &self.closest {
            write!(
                f,
                "; the closest is `{detection}`, whose filter macro is `{filter}`"
            )?;
        }
        Ok(())
    }
}

/// The filter macros (`*_filter`, no arguments) defined outside the generated, embedded and
/// built-in layers that no loaded detection calls, in the order of the macro set.
pub fn unmatched_filter_macros(set: &ContentSet) -> Vec<UnmatchedFilter> {
    let called: Vec<String> = set
        .detections
        .iter()
        .flat_map(|d| {
            std::iter::once(d.filter_macro_name()).chain(d.filter_macro_called().map(str::to_owned))
        })
        .collect();
    let mut out: Vec<UnmatchedFilter> = set
        .macros
        .iter()
        .filter(|m| m.args.is_empty() && m.name.ends_with("_filter"))
        .filter(|m| {
            m.origin != GENERATED_FILTER_ORIGIN
                && m.origin != EMBEDDED_ORIGIN
                && !m.origin.is_empty()
        })
        .filter(|m| !called.iter().any(|c| c == &m.name))
        .map(|m| UnmatchedFilter {
            name: m.name.clone(),
            origin: m.origin.clone(),
            closest: closest(&m.name, &set.detections),
        })
        .collect();
    out.sort_by(|a, b| a.origin.cmp(&b.origin).then(a.name.cmp(&b.name)));
    out
}

fn closest(name: &str, detections: &[Detection]) -> Option<(String, String)> {
    detections
        .iter()
        .map(|d| {
            let filter = d.filter_macro_name();
            (strsim::jaro_winkler(name, &filter), d.name.clone(), filter)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name, filter)| (name, filter))
}

/// A detection whose search calls a filter macro that is not defined and is not the one
/// contentctl derives from its name (a detection renamed without its search, or content written
/// by hand). The search cannot expand until one of the two is fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterMismatch {
    /// The detection's name.
    pub detection: String,
    /// The macro the search calls.
    pub called: String,
    /// The filter macro derived from the name (generated as `search *`).
    pub derived: String,
}

impl std::fmt::Display for FilterMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the search calls `{}`, which is not defined; contentctl derives the filter macro \
             `{}` from the name `{}`. Fix: call `{}` in the search, or define `{}` (for \
             example `search *`) in a file given with --macros",
            self.called, self.derived, self.detection, self.derived, self.called
        )
    }
}

/// Whether the detection calls an undefined filter macro other than its derived one.
pub fn filter_mismatch(detection: &Detection, set: &ContentSet) -> Option<FilterMismatch> {
    let called = detection.filter_macro_called()?;
    let derived = detection.filter_macro_name();
    if called == derived || set.macros.get(called, 0).is_some() {
        return None;
    }
    Some(FilterMismatch {
        detection: detection.name.clone(),
        called: called.to_owned(),
        derived,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content_set::ContentSet;
    use cimhunt_spl::Macro;

    fn user_macro(name: &str) -> Macro {
        Macro {
            name: name.to_owned(),
            args: Vec::new(),
            definition: "search dest!=lab-*".to_owned(),
            origin: "filters.yml".to_owned(),
        }
    }

    #[test]
    fn a_misspelt_filter_macro_names_the_closest_detection() {
        let mut set = ContentSet::embedded();
        set.macros
            .insert(user_macro("windows_msiexec_remote_downlod_filter"));
        set.macros
            .insert(user_macro("windows_msiexec_remote_download_filter"));
        let unmatched = unmatched_filter_macros(&set);
        assert_eq!(unmatched.len(), 1, "{unmatched:?}");
        assert_eq!(unmatched[0].name, "windows_msiexec_remote_downlod_filter");
        assert_eq!(
            unmatched[0].closest,
            Some((
                "Windows MSIExec Remote Download".to_owned(),
                "windows_msiexec_remote_download_filter".to_owned()
            ))
        );
        let text = unmatched[0].to_string();
        assert!(text.starts_with("filters.yml: filter macro"), "{text}");
    }

    #[test]
    fn a_search_calling_another_filter_macro_says_how_to_fix_it() {
        let mut set = ContentSet::embedded();
        let mut d = set.detections[0].clone();
        assert_eq!(filter_mismatch(&d, &set), None, "the seed calls its own");
        d.name = "My Copy".to_owned();
        set.macros = crate::content_set::base_macros(std::slice::from_ref(&d));
        set.detections = vec![d.clone()];
        let m = filter_mismatch(&d, &set).expect("renamed without its search");
        assert_eq!(m.called, "windows_msiexec_remote_download_filter");
        assert_eq!(m.derived, "my_copy_filter");
        assert!(
            m.to_string()
                .contains("call `my_copy_filter` in the search"),
            "{m}"
        );
    }

    #[test]
    fn the_called_filter_macro_is_found_past_backticks_in_strings() {
        let d = Detection {
            name: "Obfuscation".into(),
            search: "| tstats count by x | eval n=mvcount(split(process,\"`\")) | `obfuscation_filter` | search n > 10".into(),
            ..Detection::default()
        };
        assert_eq!(d.filter_macro_called(), Some("obfuscation_filter"));
        let none = Detection {
            search: "| tstats count by x | `drop_dm_object_name(Processes)`".into(),
            ..Detection::default()
        };
        assert_eq!(none.filter_macro_called(), None);
    }
}

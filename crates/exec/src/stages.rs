//! The row stages after `tstats`: `rename`, `convert`, `search`, `table`, `fields`.

use cimhunt_cim::Timestamp;
use cimhunt_spl::{Conversion, ConvertFunc, Expr, Stage};
use jiff::tz::TimeZone;

use crate::ExecError;
use crate::row::{Row, Value};

/// Applies one stage to the rows.
pub(crate) fn apply(stage: &Stage, rows: Vec<Row>, tz: &TimeZone) -> Result<Vec<Row>, ExecError> {
    Ok(match stage {
        Stage::Rename(pairs) => {
            let pairs: Vec<(Glob<'_>, &str)> = pairs
                .iter()
                .map(|(from, to)| (Glob::new(from), to.as_str()))
                .collect();
            rows.into_iter().map(|r| rename(r, &pairs)).collect()
        }
        Stage::Convert { timeformat, items } => {
            let mut rows = rows;
            for row in &mut rows {
                for item in items {
                    convert(row, item, timeformat, tz)?;
                }
            }
            rows
        }
        Stage::Search(Expr::True) => rows,
        Stage::Search(expr) => rows.into_iter().filter(|r| expr.matches(r)).collect(),
        Stage::Table(patterns) => rows.into_iter().map(|r| table(r, patterns)).collect(),
        Stage::Fields { remove, fields } => rows
            .into_iter()
            .map(|r| keep_fields(r, fields, *remove))
            .collect(),
    })
}

/// A case-sensitive glob over column names, split once: `*` matches any run.
struct Glob<'p> {
    parts: Vec<&'p str>,
}

impl<'p> Glob<'p> {
    fn new(pattern: &'p str) -> Self {
        Glob {
            parts: pattern.split('*').collect(),
        }
    }

    /// The runs the `*`s matched, or `None` when the name does not match.
    fn captures<'n>(&self, name: &'n str) -> Option<Vec<&'n str>> {
        let parts = &self.parts;
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if parts.len() == 1 {
            return (first == name).then(Vec::new);
        }
        if name.len() < first.len() + last.len()
            || !name.starts_with(first)
            || !name.ends_with(last)
        {
            return None;
        }
        let mut caps = Vec::with_capacity(parts.len() - 1);
        let end = name.len() - last.len();
        let mut pos = first.len();
        for mid in &parts[1..parts.len() - 1] {
            let found = name[pos..end].find(mid)?;
            caps.push(&name[pos..pos + found]);
            pos += found + mid.len();
        }
        caps.push(&name[pos..end]);
        Some(caps)
    }
}

/// Whether a column name matches a glob.
fn glob_captures<'n>(pattern: &str, name: &'n str) -> Option<Vec<&'n str>> {
    Glob::new(pattern).captures(name)
}

/// Fills the `*`s of `template` with the captures, in order (extra `*` become empty).
fn substitute(template: &str, caps: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut caps = caps.iter();
    for (i, part) in template.split('*').enumerate() {
        if i > 0 {
            out.push_str(caps.next().copied().unwrap_or(""));
        }
        out.push_str(part);
    }
    out
}

/// `rename`, pair by pair. Column order is kept; when a new name collides with another column,
/// the renamed column wins (and among renamed columns, the last).
fn rename(mut row: Row, pairs: &[(Glob<'_>, &str)]) -> Row {
    for (glob, to) in pairs {
        let cells = std::mem::take(row.cells_mut());
        let renamed: Vec<(String, Value, bool)> = cells
            .into_iter()
            .map(|(name, value)| match glob.captures(&name) {
                Some(caps) => (substitute(to, &caps), value, true),
                None => (name, value, false),
            })
            .collect();
        // Column j displaces column i of the same name when j was renamed and i was not, or
        // when both were renamed and j comes later.
        let displaces = |j: usize, i: usize| {
            let ((a, _, a_renamed), (b, _, b_renamed)) = (&renamed[j], &renamed[i]);
            j != i && a == b && *a_renamed && (!b_renamed || j > i)
        };
        let keep: Vec<bool> = (0..renamed.len())
            .map(|i| !(0..renamed.len()).any(|j| displaces(j, i)))
            .collect();
        *row.cells_mut() = renamed
            .into_iter()
            .zip(keep)
            .filter_map(|((name, value, _), k)| k.then_some((name, value)))
            .collect();
    }
    row
}

fn convert(row: &mut Row, item: &Conversion, format: &str, tz: &TimeZone) -> Result<(), ExecError> {
    let ConvertFunc::Ctime = item.func;
    let Some(value) = row.get(&item.field) else {
        return Ok(());
    };
    let converted = match value {
        Value::Null => return Ok(()),
        Value::Multi(vs) => {
            let vs = vs
                .iter()
                .map(|v| ctime(v, format, tz))
                .collect::<Result<_, _>>()?;
            Value::Multi(vs)
        }
        Value::Text(v) | Value::Number(v) => Value::Text(ctime(v, format, tz)?),
    };
    let out = item.output.as_deref().unwrap_or(&item.field).to_owned();
    row.set(out, converted);
    Ok(())
}

/// Epoch seconds → the formatted time in `tz`, sub-seconds truncated by the format; text that
/// is not a number is left as it is (spec 4.2).
pub(crate) fn ctime(value: &str, format: &str, tz: &TimeZone) -> Result<String, ExecError> {
    let Ok(t) = Timestamp::parse_epoch_secs(value.trim()) else {
        return Ok(value.to_owned());
    };
    let Ok(ts) = jiff::Timestamp::from_nanosecond(i128::from(t.as_nanos())) else {
        return Ok(value.to_owned());
    };
    let zoned = ts.to_zoned_datetime(tz.clone());
    jiff::fmt::strtime::format(format, &zoned).map_err(|e| ExecError::TimeFormat {
        format: format.to_owned(),
        message: e.to_string(),
    })
}

fn table(row: Row, patterns: &[String]) -> Row {
    let mut out = Row::new();
    for pattern in patterns {
        if pattern.contains('*') {
            for (name, value) in row.cells() {
                if glob_captures(pattern, name).is_some() && out.get(name).is_none() {
                    out.set(name.clone(), value.clone());
                }
            }
        } else if out.get(pattern).is_none() {
            out.set(
                pattern.clone(),
                row.get(pattern).cloned().unwrap_or(Value::Null),
            );
        }
    }
    out
}

fn keep_fields(row: Row, patterns: &[String], remove: bool) -> Row {
    let matches = |name: &str| patterns.iter().any(|p| glob_captures(p, name).is_some());
    if remove {
        return row
            .cells()
            .iter()
            .filter(|(n, _)| !matches(n))
            .cloned()
            .collect();
    }
    let mut out = Row::new();
    for pattern in patterns {
        for (name, value) in row.cells() {
            if glob_captures(pattern, name).is_some() && out.get(name).is_none() {
                out.set(name.clone(), value.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[(&str, &str)]) -> Row {
        Row::from_texts(cells)
    }

    #[test]
    fn drop_dm_object_name_renames_only_prefixed_columns_cv23() {
        let mut r = row(&[
            ("Processes.dest", "d"),
            ("Processes.user", "u"),
            ("count", "1"),
        ]);
        r.set("values(Processes.process)", Value::Multi(vec!["p".into()]));
        let r = rename_all(r, "Processes.*", "*");
        let names: Vec<_> = r.names().collect();
        assert_eq!(
            names,
            ["dest", "user", "count", "values(Processes.process)"]
        );
    }

    fn rename_all(r: Row, from: &str, to: &str) -> Row {
        rename(r, &[(Glob::new(from), to)])
    }

    #[test]
    fn rename_collision_keeps_the_renamed_value_wherever_it_stands() {
        let r = row(&[("dest", "old"), ("Processes.dest", "new")]);
        let r = rename_all(r, "Processes.*", "*");
        assert_eq!(r.cells(), &[("dest".to_owned(), Value::Text("new".into()))]);
        let r = row(&[("Processes.dest", "new"), ("dest", "old"), ("count", "1")]);
        let r = rename_all(r, "Processes.*", "*");
        assert_eq!(r.names().collect::<Vec<_>>(), ["dest", "count"]);
        assert_eq!(r.get("dest"), Some(&Value::Text("new".into())));
        let r = row(&[("a", "1"), ("b", "2")]);
        let r = rename_all(r, "*", "x");
        assert_eq!(r.cells(), &[("x".to_owned(), Value::Text("2".into()))]);
    }

    #[test]
    fn ctime_truncates_and_honours_the_zone_cv12_cv13() {
        let f = "%Y-%m-%dT%H:%M:%S";
        assert_eq!(
            ctime("1602155026.999", f, &TimeZone::UTC).unwrap(),
            "2020-10-08T11:03:46"
        );
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(
            ctime("1602155026.617", f, &ny).unwrap(),
            "2020-10-08T07:03:46"
        );
        assert_eq!(
            ctime("not a time", f, &TimeZone::UTC).unwrap(),
            "not a time"
        );
    }

    #[test]
    fn globs_capture_and_substitute() {
        assert_eq!(glob_captures("a*c*", "abbcdd"), Some(vec!["bb", "dd"]));
        assert_eq!(glob_captures("a*", "b"), None);
        assert_eq!(glob_captures("*", ""), Some(vec![""]));
        assert_eq!(substitute("x*y*", &["1", "2"]), "x1y2");
    }

    #[test]
    fn table_and_fields_select_and_order() {
        let r = row(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let t = table(r.clone(), &["c".into(), "a".into(), "zz".into()]);
        assert_eq!(t.names().collect::<Vec<_>>(), ["c", "a", "zz"]);
        assert_eq!(t.get("zz"), Some(&Value::Null));
        let f = keep_fields(r.clone(), &["b".into()], true);
        assert_eq!(f.names().collect::<Vec<_>>(), ["a", "c"]);
        let k = keep_fields(r, &["c".into(), "a*".into()], false);
        assert_eq!(k.names().collect::<Vec<_>>(), ["c", "a"]);
    }
}

//! Risk events and notables, as Enterprise Security writes them for an ESCU correlation search
//! (spec section 7): one risk event per risk object of each result row, one notable per row.

use cimhunt_content::{Annotations, Detection, RiskConfig};
use cimhunt_spl::{Row, Sym, Timestamp, Value};

use crate::json::Object;
use crate::rows::put_value;

/// What a detection's alert actions need, derived once per detection.
#[derive(Debug, Clone)]
pub struct AlertContext {
    /// `ESCU - <name> - Rule`.
    pub search_name: String,
    /// The detection's name (the notable's `rule_title`).
    pub name: String,
    /// The detection's description (the notable's `rule_description`).
    pub description: String,
    /// `tags.security_domain`.
    pub security_domain: String,
    /// The detection's risk score ([`Detection::risk_score`]): the notable's `risk_score`.
    pub risk_score: u32,
    /// Notable severity from the risk score.
    pub severity: String,
    /// Risk and threat objects and the message.
    pub rba: RiskConfig,
    /// Correlation-search annotations.
    pub annotations: Annotations,
    /// When the search ran: the `_time` of the events it raises (tstats rows have no `_time`).
    pub time: Timestamp,
}

impl AlertContext {
    /// The context of a detection run at `time`.
    pub fn new(detection: &Detection, time: Timestamp) -> Self {
        AlertContext {
            search_name: detection.search_name(),
            name: detection.name.clone(),
            description: detection.description.clone(),
            security_domain: detection.tags.security_domain.clone(),
            risk_score: detection.risk_score(),
            severity: detection.severity().as_str().to_owned(),
            rba: detection.rba(),
            annotations: detection.annotations(),
            time,
        }
    }
}

/// Replaces every `$field$` in a message with the row's value of that field (several values
/// joined with `, `; a field the row lacks becomes empty, which ES also does — unverified, spec
/// 7.3). `$` signs that do not enclose a field name are kept.
pub fn render_message(template: &str, row: &Row) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        let Some(len) = after.find('$') else { break };
        let name = &after[..len];
        let is_field = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'));
        if !is_field {
            out.push_str(&rest[..=start]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..start]);
        if let Some(v) = field(row, name) {
            out.push_str(&v.texts().collect::<Vec<_>>().join(", "));
        }
        rest = &after[len + 1..];
    }
    out.push_str(rest);
    out
}

/// The risk events of one row, as JSON objects: one per value of each risk-object field.
pub fn risk_events(ctx: &AlertContext, row: &Row) -> Vec<String> {
    let message = render_message(&ctx.rba.message, row);
    let (threats, threat_types) = threat_objects(ctx, row);
    let mut events = Vec::new();
    for object in &ctx.rba.risk_objects {
        let values: Vec<String> = field(row, &object.field)
            .map(|v| v.texts().map(|t| t.into_owned()).collect())
            .unwrap_or_default();
        for value in values.iter().map(String::as_str).filter(|v| !v.is_empty()) {
            let mut o = Object::new();
            o.number("_time", &ctx.time.epoch_text());
            o.string("search_name", &ctx.search_name);
            o.string("source", &ctx.search_name);
            o.string("risk_object", value);
            o.string("risk_object_type", object.kind.as_str());
            o.string("risk_object_field", &object.field);
            o.integer("risk_score", u64::from(object.score));
            o.string("risk_message", &message);
            o.strings("threat_object", threats.iter().map(String::as_str));
            o.strings(
                "threat_object_type",
                threat_types.iter().map(String::as_str),
            );
            o.strings(
                "analyticstories",
                ctx.annotations.analytic_story.iter().map(String::as_str),
            );
            o.raw("annotations", &annotations_json(&ctx.annotations));
            let search = format!(
                "| savedsearch \"{}\" | search {}={}",
                ctx.search_name,
                object.field,
                quote_spl(value)
            );
            o.string("contributing_events_search", &search);
            put_row(&mut o, row);
            events.push(o.finish());
        }
    }
    events
}

/// The notable event of one row.
pub fn notable_event(ctx: &AlertContext, row: &Row) -> String {
    let mut o = Object::new();
    o.number("_time", &ctx.time.epoch_text());
    o.string("search_name", &ctx.search_name);
    o.string("rule_name", &ctx.search_name);
    o.string("rule_title", &ctx.name);
    o.string("rule_description", &ctx.description);
    o.string("security_domain", &ctx.security_domain);
    o.string("severity", &ctx.severity);
    o.integer("risk_score", u64::from(ctx.risk_score));
    o.string("risk_message", &render_message(&ctx.rba.message, row));
    o.raw("annotations", &annotations_json(&ctx.annotations));
    put_row(&mut o, row);
    o.finish()
}

/// Values of the threat-object fields, in order, with their types alongside.
fn threat_objects(ctx: &AlertContext, row: &Row) -> (Vec<String>, Vec<String>) {
    let mut values = Vec::new();
    let mut types = Vec::new();
    for t in &ctx.rba.threat_objects {
        for v in field(row, &t.field).into_iter().flat_map(Value::texts) {
            values.push(v.into_owned());
            types.push(t.kind.clone());
        }
    }
    (values, types)
}

/// The row's columns, copied onto the event (skipping names the event already uses).
fn put_row(o: &mut Object, row: &Row) {
    const RESERVED: &[&str] = &[
        "_time",
        "search_name",
        "source",
        "annotations",
        "risk_score",
        "rule_name",
        "rule_title",
        "rule_description",
        "security_domain",
        "severity",
        "analyticstories",
        "contributing_events_search",
    ];
    for (name, value) in row.cells() {
        let name = name.as_str();
        if !RESERVED.contains(&name) && !name.starts_with("risk_") && !name.starts_with("threat_") {
            put_value(o, name, value);
        }
    }
}

/// A row's column by name (`None` when no column has it).
pub(crate) fn field<'r>(row: &'r Row, name: &str) -> Option<&'r Value<'static>> {
    row.get(Sym::get(name)?)
}

/// `annotations` as contentctl writes them (keys sorted), plus the tactics ES adds.
fn annotations_json(a: &Annotations) -> String {
    let mut o = Object::new();
    o.strings(
        "analytic_story",
        a.analytic_story.iter().map(String::as_str),
    );
    o.strings("cis20", a.cis20.iter().map(String::as_str));
    if let Some(c) = a.confidence {
        o.integer("confidence", u64::from(c));
    }
    if let Some(i) = a.impact {
        o.integer("impact", u64::from(i));
    }
    o.strings(
        "kill_chain_phases",
        a.kill_chain_phases.iter().map(String::as_str),
    );
    o.strings("mitre_attack", a.mitre_attack.iter().map(String::as_str));
    o.strings(
        "mitre_attack.mitre_tactic",
        a.mitre_tactics.iter().map(String::as_str),
    );
    o.strings("nist", a.nist.iter().map(String::as_str));
    o.string("type", &a.kind);
    o.finish()
}

/// A value quoted for a `search` command: double quotes, with `\` and `"` escaped.
fn quote_spl(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[(&str, &str)]) -> Row {
        Row::from_texts(cells)
    }

    #[test]
    fn message_tokens_are_substituted() {
        let r = row(&[("user", "bob"), ("dest", "h1")]);
        assert_eq!(render_message("$user$ on $dest$", &r), "bob on h1");
        assert_eq!(
            render_message("cost $5 and $ x $missing$.", &r),
            "cost $5 and $ x ."
        );
        assert_eq!(render_message("trailing $user", &r), "trailing $user");
    }

    #[test]
    fn multi_values_are_joined() {
        let mut r = Row::new();
        r.set(
            Sym::new("user"),
            Value::multi(vec![Value::str("a"), Value::str("b")]),
        );
        assert_eq!(render_message("u=$user$", &r), "u=a, b");
    }

    #[test]
    fn spl_quoting_escapes() {
        assert_eq!(quote_spl(r#"a\b"c"#), r#""a\\b\"c""#);
    }
}

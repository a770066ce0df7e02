//! Data-model datasets in cimhunt's `datamodels.conf` format (tables/README.md): one stanza per
//! dataset, named `<Model>.<Root>(.<Child>)*`, with its base search or constraint, its declared
//! fields and its calculations, each list numbered so that order survives layering.
//!
//! What the CIM JSON says and this module keeps: a root dataset's parent is `BaseEvent` (a
//! `constraint` search) or `BaseSearch` (a `base_search`, which may contain pipes); a child
//! inherits its parent's fields, calculations and constraints and adds its own constraint.
//! Calculations are `Eval` (an eval expression, kept as text), `Lookup` (a lookup definition
//! with input and output fields), `Rex` (a regex with named groups on one input field) and
//! `GeoIP`. ADDON_FIELDS.md 2.1 applies them in JSON order, as successive evals \[I\].
//! Every root dataset also has `_time`, `host`, `source` and `sourcetype` (SPLUNK_SEMANTICS.md
//! 5.1 \[I\]); they are not declared here.

use std::collections::{BTreeMap, HashMap};

use crate::conf::{Conf, Origin, Setting, Stanza};

use super::error::{Problem, TableError};
use super::text::{At, index_by};

/// A field's type in the data model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    /// `string`
    String,
    /// `number`
    Number,
    /// `boolean`
    Boolean,
    /// `ipv4`
    Ipv4,
    /// `timestamp`
    Timestamp,
}

impl FieldType {
    fn parse(text: &str) -> Option<FieldType> {
        Some(match text {
            "string" => FieldType::String,
            "number" => FieldType::Number,
            "boolean" => FieldType::Boolean,
            "ipv4" => FieldType::Ipv4,
            "timestamp" => FieldType::Timestamp,
            _ => return None,
        })
    }
}

/// A declared field (in `field.NN` or a calculation's `output.M`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDecl {
    /// The field name.
    pub name: String,
    /// Its type.
    pub field_type: FieldType,
    /// Whether it holds several values.
    pub multivalue: bool,
    /// Whether the JSON marks it required.
    pub required: bool,
    /// Whether the JSON marks it hidden.
    pub hidden: bool,
    /// For a Lookup or GeoIP output: the lookup's column, when it differs from the name.
    pub column: Option<String>,
    /// Where it was declared.
    pub origin: Origin,
}

/// What a calculation computes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CalcKind {
    /// An eval expression (its single output gets the value).
    Eval {
        /// The expression, as in the JSON.
        expression: String,
    },
    /// A lookup through a lookup definition.
    Lookup {
        /// The transforms.conf lookup definition.
        lookup: String,
        /// Input fields: (lookup column, event field), in order.
        inputs: Vec<(String, String)>,
    },
    /// A regex with named groups applied to one field.
    Rex {
        /// The field read.
        input: String,
        /// The regex, as in the JSON.
        expression: String,
    },
    /// A GeoIP lookup of an IP field.
    GeoIp {
        /// The field read.
        input: String,
    },
}

/// One calculation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calculation {
    /// Its position number (`calc.NN`).
    pub number: u32,
    /// The JSON `calculationID`, if given.
    pub id: Option<String>,
    /// What it computes.
    pub kind: CalcKind,
    /// The fields it sets, in order.
    pub outputs: Vec<FieldDecl>,
    /// Where its `type` was written.
    pub origin: Origin,
}

/// What a dataset is built on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetParent {
    /// A root dataset constrained by a search without pipes.
    BaseEvent,
    /// A root dataset defined by a full search (which may have pipes).
    BaseSearch,
    /// A child dataset: its parent's full name (`Network_Traffic.All_Traffic`).
    Dataset(String),
}

/// One dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    name: String,
    parent: DatasetParent,
    display_name: Option<String>,
    base_search: Option<String>,
    constraint: Option<String>,
    fields: Vec<FieldDecl>,
    calculations: Vec<Calculation>,
    origin: Origin,
}

impl Dataset {
    /// Types one stanza.
    pub fn from_stanza(stanza: &Stanza) -> Result<Dataset, TableError> {
        let at = At(stanza);
        let name = stanza.name();
        let Some((lineage, _)) = name.rsplit_once('.') else {
            return Err(at.stanza(Problem::BadDatasetName));
        };
        let is_root = !lineage.contains('.');
        let parent = match (is_root, stanza.get("parent")) {
            (true, Some(s)) => match s.value() {
                "BaseEvent" => DatasetParent::BaseEvent,
                "BaseSearch" => DatasetParent::BaseSearch,
                _ => return Err(at.setting(s, Problem::UnknownParent(s.value().to_owned()))),
            },
            (true, None) => return Err(at.stanza(Problem::MissingKey("parent".to_owned()))),
            (false, Some(s)) => return Err(at.setting(s, Problem::UnexpectedKey)),
            (false, None) => DatasetParent::Dataset(lineage.to_owned()),
        };
        let mut fields = BTreeMap::new();
        let mut calcs: BTreeMap<u32, CalcBuilder> = BTreeMap::new();
        for s in stanza.settings() {
            let key = s.key();
            if matches!(
                key,
                "parent" | "display_name" | "base_search" | "constraint"
            ) {
                continue;
            }
            if let Some(n) = key.strip_prefix("field.") {
                let n = numbered(at, s, n)?;
                let decl = field_decl(at, s, false)?;
                if fields.insert(n, decl).is_some() {
                    return Err(at.setting(s, duplicate("field", n)));
                }
            } else if let Some(rest) = key.strip_prefix("calc.") {
                let (n, sub) = rest.split_once('.').unwrap_or((rest, ""));
                let n = numbered(at, s, n)?;
                calcs.entry(n).or_default().add(at, s, sub)?;
            } else {
                return Err(at.setting(s, Problem::UnexpectedKey));
            }
        }
        let calculations = calcs
            .into_iter()
            .map(|(n, b)| b.build(at, n))
            .collect::<Result<_, _>>()?;
        let base_search = stanza.value("base_search").map(str::to_owned);
        if parent == DatasetParent::BaseSearch && base_search.is_none() {
            return Err(at.stanza(Problem::MissingKey("base_search".to_owned())));
        }
        Ok(Dataset {
            name: name.to_owned(),
            parent,
            display_name: stanza.value("display_name").map(str::to_owned),
            base_search,
            constraint: stanza.value("constraint").map(str::to_owned),
            fields: fields.into_values().collect(),
            calculations,
            origin: stanza.origin().clone(),
        })
    }

    /// The full name, `<Model>.<lineage>` (`Network_Traffic.All_Traffic.Traffic_By_Action`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The data model (`Endpoint`).
    pub fn model(&self) -> &str {
        self.name.split('.').next().unwrap_or(&self.name)
    }

    /// The dataset's own name, the last component (`Registry`, `Blocked_Traffic`).
    pub fn object_name(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }

    /// The lineage without the model (`All_Traffic.Traffic_By_Action`): what `tstats` calls
    /// the node name.
    pub fn node_name(&self) -> &str {
        self.name.split_once('.').map_or("", |(_, l)| l)
    }

    /// What the dataset is built on.
    pub fn parent(&self) -> &DatasetParent {
        &self.parent
    }

    /// The display name, when it differs from the object name.
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// The base search of a `BaseSearch` root, verbatim.
    pub fn base_search(&self) -> Option<&str> {
        self.base_search.as_deref()
    }

    /// The constraint search of a `BaseEvent` root or a child, verbatim.
    pub fn constraint(&self) -> Option<&str> {
        self.constraint.as_deref()
    }

    /// The declared fields, in order.
    pub fn fields(&self) -> &[FieldDecl] {
        &self.fields
    }

    /// The calculations, in order.
    pub fn calculations(&self) -> &[Calculation] {
        &self.calculations
    }

    /// Declared fields and calculation outputs, in that order (not the parent's).
    pub fn own_fields(&self) -> impl Iterator<Item = &FieldDecl> {
        self.fields
            .iter()
            .chain(self.calculations.iter().flat_map(|c| &c.outputs))
    }

    /// Where the stanza header was written.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

fn duplicate(what: &'static str, number: u32) -> Problem {
    Problem::DuplicateNumber { what, number }
}

fn numbered(at: At<'_>, s: &Setting, text: &str) -> Result<u32, TableError> {
    text.parse()
        .map_err(|_| at.setting(s, Problem::NotNumber(text.to_owned())))
}

/// `<name> <type> [multivalue] [required] [hidden] [column=<c>]`.
fn field_decl(at: At<'_>, s: &Setting, allow_column: bool) -> Result<FieldDecl, TableError> {
    let mut words = s.value().split_whitespace();
    let name = words
        .next()
        .ok_or_else(|| at.setting(s, Problem::MissingKey("a field name".to_owned())))?;
    let ty = words
        .next()
        .ok_or_else(|| at.setting(s, Problem::MissingKey("a field type".to_owned())))?;
    let field_type =
        FieldType::parse(ty).ok_or_else(|| at.setting(s, Problem::UnknownFieldType(ty.into())))?;
    let mut decl = FieldDecl {
        name: name.to_owned(),
        field_type,
        multivalue: false,
        required: false,
        hidden: false,
        column: None,
        origin: s.origin().clone(),
    };
    for flag in words {
        match flag {
            "multivalue" => decl.multivalue = true,
            "required" => decl.required = true,
            "hidden" => decl.hidden = true,
            _ => match flag.strip_prefix("column=") {
                Some(c) if allow_column && !c.is_empty() => decl.column = Some(c.to_owned()),
                _ => return Err(at.setting(s, Problem::UnknownFieldFlag(flag.to_owned()))),
            },
        }
    }
    Ok(decl)
}

/// The `calc.NN.*` keys of one calculation, gathered before typing.
#[derive(Debug, Default)]
struct CalcBuilder<'a> {
    id: Option<&'a Setting>,
    kind: Option<&'a Setting>,
    expression: Option<&'a Setting>,
    lookup: Option<&'a Setting>,
    input: Option<&'a Setting>,
    inputs: BTreeMap<u32, &'a Setting>,
    outputs: BTreeMap<u32, &'a Setting>,
}

impl<'a> CalcBuilder<'a> {
    fn add(&mut self, at: At<'_>, s: &'a Setting, sub: &str) -> Result<(), TableError> {
        let slot = match sub {
            "id" => &mut self.id,
            "type" => &mut self.kind,
            "expression" => &mut self.expression,
            "lookup" => &mut self.lookup,
            "input" => &mut self.input,
            _ => {
                let (map, n, what) = if let Some(n) = sub.strip_prefix("input.") {
                    (&mut self.inputs, n, "input")
                } else if let Some(n) = sub.strip_prefix("output.") {
                    (&mut self.outputs, n, "output")
                } else {
                    return Err(at.setting(s, Problem::UnexpectedKey));
                };
                let n = numbered(at, s, n)?;
                if map.insert(n, s).is_some() {
                    return Err(at.setting(s, duplicate(what, n)));
                }
                return Ok(());
            }
        };
        *slot = Some(s);
        Ok(())
    }

    fn build(self, at: At<'_>, number: u32) -> Result<Calculation, TableError> {
        let missing = |key: &str| at.stanza(Problem::MissingKey(format!("calc.{number:02}.{key}")));
        let kind_setting = self.kind.ok_or_else(|| missing("type"))?;
        let value = |s: Option<&Setting>, key: &str| {
            s.map(|s| s.value().to_owned()).ok_or_else(|| missing(key))
        };
        let unexpected = |s: Option<&Setting>| match s {
            Some(s) => Err(at.setting(s, Problem::UnexpectedKey)),
            None => Ok(()),
        };
        let kind = match kind_setting.value() {
            "Eval" => {
                unexpected(self.lookup)?;
                unexpected(self.input)?;
                unexpected(self.inputs.values().next().copied())?;
                CalcKind::Eval {
                    expression: value(self.expression, "expression")?,
                }
            }
            "Lookup" => {
                unexpected(self.expression)?;
                unexpected(self.input)?;
                let mut inputs = Vec::new();
                for s in self.inputs.values() {
                    let words: Vec<&str> = s.value().split_whitespace().collect();
                    inputs.push(match words.as_slice() {
                        [field] => (field.to_string(), field.to_string()),
                        [column, kw, field] if kw.eq_ignore_ascii_case("AS") => {
                            (column.to_string(), field.to_string())
                        }
                        _ => {
                            let why = format!("calculation input {:?}", s.value());
                            return Err(at.setting(s, Problem::BadLookup(why)));
                        }
                    });
                }
                if inputs.is_empty() {
                    return Err(missing("input.1"));
                }
                CalcKind::Lookup {
                    lookup: value(self.lookup, "lookup")?,
                    inputs,
                }
            }
            "Rex" => {
                unexpected(self.lookup)?;
                unexpected(self.inputs.values().next().copied())?;
                CalcKind::Rex {
                    input: value(self.input, "input")?,
                    expression: value(self.expression, "expression")?,
                }
            }
            "GeoIP" => {
                unexpected(self.lookup)?;
                unexpected(self.expression)?;
                CalcKind::GeoIp {
                    input: value(self.input, "input")?,
                }
            }
            other => {
                return Err(at.setting(
                    kind_setting,
                    Problem::UnknownCalculationType(other.to_owned()),
                ));
            }
        };
        let allow_column = matches!(kind, CalcKind::Lookup { .. } | CalcKind::GeoIp { .. });
        let outputs = self
            .outputs
            .values()
            .map(|s| field_decl(at, s, allow_column))
            .collect::<Result<Vec<_>, _>>()?;
        if outputs.is_empty() {
            return Err(missing("output.1"));
        }
        Ok(Calculation {
            number,
            id: self.id.map(|s| s.value().to_owned()),
            kind,
            outputs,
            origin: kind_setting.origin().clone(),
        })
    }
}

/// All datasets of a profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataModels {
    list: Vec<Dataset>,
    index: HashMap<String, usize>,
}

impl DataModels {
    /// Types every stanza of a (layered) datamodels configuration; a child whose parent
    /// dataset is not defined is an error.
    pub fn from_conf(conf: &Conf) -> Result<DataModels, TableError> {
        let list: Vec<Dataset> = conf
            .stanzas()
            .iter()
            .map(Dataset::from_stanza)
            .collect::<Result<_, _>>()?;
        for (d, stanza) in list.iter().zip(conf.stanzas()) {
            if let DatasetParent::Dataset(parent) = &d.parent
                && !list.iter().any(|p| &p.name == parent)
            {
                return Err(At(stanza).stanza(Problem::UnknownParent(parent.clone())));
            }
        }
        let index = index_by(&list, |d| &d.name);
        Ok(DataModels { list, index })
    }

    /// Every dataset, in the order the stanzas first appeared.
    pub fn all(&self) -> &[Dataset] {
        &self.list
    }

    /// The dataset with this full name (`Endpoint.Registry`).
    pub fn get(&self, name: &str) -> Option<&Dataset> {
        self.index.get(name).map(|&i| &self.list[i])
    }

    /// The dataset and its ancestors, root first.
    pub fn lineage<'a>(&'a self, name: &str) -> Vec<&'a Dataset> {
        let mut out = Vec::new();
        let mut next = self.get(name);
        while let Some(d) = next {
            out.push(d);
            next = match &d.parent {
                DatasetParent::Dataset(p) => self.get(p),
                _ => None,
            };
        }
        out.reverse();
        out
    }

    /// The direct children of a dataset.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Dataset> + 'a {
        self.list
            .iter()
            .filter(move |d| matches!(&d.parent, DatasetParent::Dataset(p) if p == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(text: &str) -> Result<DataModels, TableError> {
        DataModels::from_conf(&Conf::parse("datamodels.conf", text).unwrap())
    }

    const DNS: &str = "[Network_Resolution.DNS]\nparent = BaseEvent\n\
        constraint = (`cim_Network_Resolution_indexes`) tag=network tag=resolution tag=dns\n\
        field.01 = additional_answer_count number\nfield.02 = src_port number multivalue\n\
        calc.01.id = DNS_0fillnull_answer\ncalc.01.type = Eval\n\
        calc.01.expression = if(isnull(answer) OR answer=\"\",\"unknown\",answer)\n\
        calc.01.output.1 = answer string multivalue\n\
        calc.02.id = DNS_reply_code\ncalc.02.type = Lookup\ncalc.02.lookup = cim_dns_reply_code_lookup\n\
        calc.02.input.1 = reply_code_id\ncalc.02.output.1 = reply_code string\n";

    #[test]
    fn a_dataset_with_fields_and_calculations() {
        let m = models(DNS).unwrap();
        let d = m.get("Network_Resolution.DNS").unwrap();
        assert_eq!(
            (d.model(), d.object_name(), d.node_name()),
            ("Network_Resolution", "DNS", "DNS")
        );
        assert_eq!(d.parent(), &DatasetParent::BaseEvent);
        assert!(d.constraint().unwrap().ends_with("tag=dns"));
        assert_eq!(d.fields()[1].name, "src_port");
        assert!(d.fields()[1].multivalue);
        assert_eq!(d.fields()[1].field_type, FieldType::Number);
        let c = &d.calculations()[1];
        assert_eq!(c.id.as_deref(), Some("DNS_reply_code"));
        assert_eq!(
            c.kind,
            CalcKind::Lookup {
                lookup: "cim_dns_reply_code_lookup".into(),
                inputs: vec![("reply_code_id".into(), "reply_code_id".into())]
            }
        );
        let names: Vec<&str> = d.own_fields().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "additional_answer_count",
                "src_port",
                "answer",
                "reply_code"
            ]
        );
    }

    #[test]
    fn numbers_order_entries_whatever_the_line_order() {
        let m = models(
            "[M.D]\nparent = BaseEvent\nfield.10 = b string\nfield.2 = a string\n\
             calc.2.type = Eval\ncalc.2.expression = 2\ncalc.2.output.1 = y number\n\
             calc.1.type = Eval\ncalc.1.expression = 1\ncalc.1.output.1 = x number\n",
        )
        .unwrap();
        let d = &m.all()[0];
        assert_eq!(d.fields()[0].name, "a");
        assert_eq!(d.calculations()[0].outputs[0].name, "x");
        assert_eq!(d.calculations()[1].number, 2);
    }

    #[test]
    fn children_lineage_and_unknown_parents() {
        let m = models(
            "[N.All]\nparent = BaseEvent\nconstraint = tag=network\n\
             [N.All.By]\nconstraint = action=*\n[N.All.By.Blocked]\nconstraint = action=blocked\n",
        )
        .unwrap();
        let names: Vec<&str> = m
            .lineage("N.All.By.Blocked")
            .iter()
            .map(|d| d.name())
            .collect();
        assert_eq!(names, ["N.All", "N.All.By", "N.All.By.Blocked"]);
        assert_eq!(m.children("N.All").count(), 1);
        let e = models("[N.All.By]\nconstraint = x\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "datamodels.conf:1: [N.All.By]: parent dataset \"N.All\" is not defined"
        );
    }

    #[test]
    fn malformed_datasets_are_errors_naming_the_line() {
        let cases = [
            ("[M.D]\nfield.01 = a string\n", "missing `parent`"),
            ("[M.D]\nparent = BaseSearch\n", "missing `base_search`"),
            ("[M.D]\nparent = Base\n", "parent dataset \"Base\""),
            (
                "[M.D]\nparent = BaseEvent\nfield.01 = a text\n",
                "unknown field type \"text\"",
            ),
            (
                "[M.D]\nparent = BaseEvent\nfield.01 = a string mv\n",
                "unknown field flag \"mv\"",
            ),
            (
                "[M.D]\nparent = BaseEvent\nfield.1 = a string\nfield.01 = b string\n",
                "field number 1 appears twice",
            ),
            (
                "[M.D]\nparent = BaseEvent\nfield.x = a string\n",
                "not a non-negative integer",
            ),
            (
                "[M.D]\nparent = BaseEvent\ncalc.01.type = Eval\ncalc.01.output.1 = a string\n",
                "missing `calc.01.expression`",
            ),
            (
                "[M.D]\nparent = BaseEvent\ncalc.01.type = Eval\ncalc.01.expression = 1\n",
                "missing `calc.01.output.1`",
            ),
            (
                "[M.D]\nparent = BaseEvent\ncalc.01.type = Script\n",
                "unknown calculation type",
            ),
            (
                "[M.D]\nparent = BaseEvent\ncalc.01.type = Eval\ncalc.01.expression = 1\ncalc.01.output.1 = a string column=b\n",
                "unknown field flag \"column=b\"",
            ),
            (
                "[M.D]\nparent = BaseEvent\ncalc.01.type = Eval\ncalc.01.lookup = l\n",
                "unexpected key",
            ),
            ("[M.D]\nparent = BaseEvent\nfields = a\n", "unexpected key"),
            ("[M.D.E]\nparent = BaseEvent\n", "unexpected key"),
            ("[D]\nparent = BaseEvent\n", "named `<Model>.<Dataset>`"),
        ];
        for (text, expected) in cases {
            let e = models(text).unwrap_err().to_string();
            assert!(e.contains(expected), "{text:?}: {e}");
            assert!(e.starts_with("datamodels.conf:"), "{e}");
        }
    }

    #[test]
    fn lookup_inputs_with_as_and_output_columns() {
        let m = models(
            "[M.D]\nparent = BaseEvent\ncalc.01.type = Lookup\ncalc.01.lookup = l\n\
             calc.01.input.1 = col AS field\ncalc.01.output.1 = out string column=c\n\
             calc.02.type = Rex\ncalc.02.input = url\ncalc.02.expression = ^(?<d>x)\ncalc.02.output.1 = d string\n",
        )
        .unwrap();
        let c = &m.all()[0].calculations()[0];
        assert_eq!(
            c.kind,
            CalcKind::Lookup {
                lookup: "l".into(),
                inputs: vec![("col".into(), "field".into())]
            }
        );
        assert_eq!(c.outputs[0].column.as_deref(), Some("c"));
        assert!(
            matches!(&m.all()[0].calculations()[1].kind, CalcKind::Rex { input, .. } if input == "url")
        );
    }
}

//! ESCU macro YAML: `{name, definition, arguments?, description?}`, or a list of those.

use std::fmt;
use std::path::Path;

use cimhunt_spl::Macro;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::de as lenient;
use crate::error::ContentError;
use crate::load::yaml_options;

/// One macro as the YAML states it.
#[derive(Debug, Deserialize)]
struct MacroYaml {
    #[serde(deserialize_with = "lenient::string")]
    name: String,
    #[serde(deserialize_with = "lenient::string")]
    definition: String,
    #[serde(default, deserialize_with = "lenient::strings")]
    arguments: Vec<String>,
}

/// Parses macro YAML text; `origin` is used for `Macro::origin` and in errors. The document is
/// either one macro mapping or a sequence of them (several overrides in one file). A name may
/// carry its arity, `name(2)`, which must then match the number of `arguments`.
pub fn parse_macro_yaml(text: &str, origin: &Path) -> Result<Vec<Macro>, ContentError> {
    let shape = serde_saphyr::from_str_with_options::<Shape>(text, yaml_options())
        .map_err(|e| ContentError::yaml(origin, &e))?;
    let raw = match shape {
        Shape::Map => {
            serde_saphyr::from_str_with_options::<MacroYaml>(text, yaml_options()).map(|m| vec![m])
        }
        Shape::Seq => serde_saphyr::from_str_with_options::<Vec<MacroYaml>>(text, yaml_options()),
        Shape::Empty => Ok(Vec::new()),
        Shape::Scalar => {
            let line = text
                .lines()
                .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .map_or(1, |i| i + 1);
            return Err(ContentError::Macro {
                path: origin.to_path_buf(),
                line,
                message: "expected a mapping with `name` and `definition`, or a list of them"
                    .to_owned(),
            });
        }
    }
    .map_err(|e| ContentError::yaml(origin, &e))?;
    raw.into_iter().map(|m| to_macro(m, origin)).collect()
}

fn to_macro(m: MacroYaml, origin: &Path) -> Result<Macro, ContentError> {
    let invalid = |message: String| ContentError::InvalidMacro {
        path: origin.to_path_buf(),
        name: m.name.clone(),
        message,
    };
    let (name, arity) = super::split_arity(&m.name).map_err(&invalid)?;
    if name.is_empty() {
        return Err(invalid("the name is empty".to_owned()));
    }
    let args: Vec<String> = m.arguments.iter().map(|a| a.trim().to_owned()).collect();
    if let Some(n) = arity
        && n != args.len()
    {
        return Err(invalid(format!(
            "the name declares {n} argument(s) but `arguments` lists {}",
            args.len()
        )));
    }
    Ok(Macro {
        name: name.to_owned(),
        args,
        definition: m.definition.clone(),
        origin: origin.display().to_string(),
    })
}

/// The shape of a YAML document's root node.
enum Shape {
    Map,
    Seq,
    Scalar,
    Empty,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Shape::Map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Shape::Seq)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::Empty)
    }
    fn visit_none<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::Empty)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Scalar)
    }
}

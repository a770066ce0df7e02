//! `macros.conf`: search macros such as the CIM's `cim_Endpoint_indexes` (all `()` in CIM
//! 5.2.0), which data-model constraints start with. A stanza `name(n)` takes n arguments,
//! named by `args`; expansion is the search parser's work.

use crate::conf::{Conf, Origin};

use super::error::TableError;
use super::text::{At, comma_list};

/// One macro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    /// The name without the argument count.
    pub name: String,
    /// The argument names (`args`), in order; empty for a macro without arguments.
    pub args: Vec<String>,
    /// The definition, as written.
    pub definition: String,
    /// Where the stanza header was written.
    pub origin: Origin,
}

/// All macros of a profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Macros {
    list: Vec<Macro>,
}

impl Macros {
    /// Types every stanza of a (layered) macros configuration.
    pub fn from_conf(conf: &Conf) -> Result<Macros, TableError> {
        let mut list = Vec::new();
        for stanza in conf.stanzas() {
            let at = At(stanza);
            let name = match stanza.name().split_once('(') {
                Some((name, count)) if count.ends_with(')') => name,
                _ => stanza.name(),
            };
            list.push(Macro {
                name: name.to_owned(),
                args: stanza.value("args").map(comma_list).unwrap_or_default(),
                definition: at.required("definition")?.to_owned(),
                origin: stanza.origin().clone(),
            });
        }
        Ok(Macros { list })
    }

    /// Every macro.
    pub fn all(&self) -> &[Macro] {
        &self.list
    }

    /// The macro with this name and number of arguments.
    pub fn get(&self, name: &str, arity: usize) -> Option<&Macro> {
        self.list
            .iter()
            .find(|m| m.name == name && m.args.len() == arity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_with_and_without_arguments() {
        let conf = Conf::parse(
            "macros.conf",
            "[cim_Endpoint_indexes]\ndefinition = ()\n[m(2)]\nargs = model, object\ndefinition = x $model$\n",
        )
        .unwrap();
        let m = Macros::from_conf(&conf).unwrap();
        assert_eq!(m.get("cim_Endpoint_indexes", 0).unwrap().definition, "()");
        assert_eq!(m.get("m", 2).unwrap().args, ["model", "object"]);
        assert!(m.get("m", 0).is_none());
    }
}

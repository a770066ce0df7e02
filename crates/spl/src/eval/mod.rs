//! TEMPORARY STUB of the eval language, replaced by the real module when it lands.
#![allow(missing_docs)]

use crate::error::SplError;
use crate::record::Record;
use crate::sym::Sym;
use crate::time::Timestamp;
use crate::value::Value;

#[derive(Debug, Clone)]
pub struct EvalExpr {
    fields: Vec<Sym>,
}

impl EvalExpr {
    pub fn parse(_text: &str) -> Result<EvalExpr, SplError> {
        Ok(EvalExpr { fields: Vec::new() })
    }
    pub fn fields(&self) -> impl Iterator<Item = Sym> + '_ {
        self.fields.iter().copied()
    }
    pub fn uses_now(&self) -> bool {
        false
    }
    pub fn eval<'r>(&'r self, _rec: &'r dyn Record, _ctx: &EvalCtx) -> Value<'r> {
        Value::Null
    }
}

#[derive(Debug, Clone, Default)]
pub struct EvalCtx {
    pub now: Option<Timestamp>,
}

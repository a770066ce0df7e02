//! Plan pieces that several test files compare compiled searches against.

use cimhunt_cim::Field;
use cimhunt_spl::{AggFunc, Aggregate, CompareOp, Expr, FieldRef, Pattern};

/// `field=value` as the compiler builds it.
pub fn eq(f: Field, v: &str) -> Expr {
    Expr::Compare {
        field: FieldRef::Cim(f),
        op: CompareOp::Eq,
        value: Pattern::new(v),
    }
}

/// ESCU's usual `count min(_time) as firstTime max(_time) as lastTime`.
pub fn count_first_last() -> [Aggregate; 3] {
    [
        Aggregate {
            func: AggFunc::Count,
            field: None,
            output: "count".into(),
        },
        Aggregate {
            func: AggFunc::Min,
            field: Some(FieldRef::Time),
            output: "firstTime".into(),
        },
        Aggregate {
            func: AggFunc::Max,
            field: Some(FieldRef::Time),
            output: "lastTime".into(),
        },
    ]
}

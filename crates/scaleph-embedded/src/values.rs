//! Arrow values to JSON for previews.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Number, Value};

/// Rows of `batches` as JSON arrays: integers, floats and booleans as JSON numbers/booleans,
/// strings as strings, NULL as null, everything else (decimal, temporal, nested) in its text form.
pub(crate) fn rows(batches: &[RecordBatch], limit: usize) -> Result<Vec<Vec<Value>>, ArrowError> {
    let opts = FormatOptions::default();
    let mut out = Vec::new();
    for b in batches {
        let fmts = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..b.num_rows() {
            if out.len() >= limit {
                return Ok(out);
            }
            let row = b
                .columns()
                .iter()
                .zip(&fmts)
                .map(|(c, f)| {
                    if c.is_null(r) {
                        return Value::Null;
                    }
                    macro_rules! num {
                        ($t:ty) => {
                            Value::Number(c.as_primitive::<$t>().value(r).into())
                        };
                    }
                    match c.data_type() {
                        DataType::Boolean => Value::Bool(c.as_boolean().value(r)),
                        DataType::Int8 => num!(Int8Type),
                        DataType::Int16 => num!(Int16Type),
                        DataType::Int32 => num!(Int32Type),
                        DataType::Int64 => num!(Int64Type),
                        DataType::UInt8 => num!(UInt8Type),
                        DataType::UInt16 => num!(UInt16Type),
                        DataType::UInt32 => num!(UInt32Type),
                        DataType::UInt64 => num!(UInt64Type),
                        DataType::Float32 => {
                            Number::from_f64(c.as_primitive::<Float32Type>().value(r) as f64)
                                .map_or(Value::Null, Value::Number)
                        }
                        DataType::Float64 => {
                            Number::from_f64(c.as_primitive::<Float64Type>().value(r))
                                .map_or(Value::Null, Value::Number)
                        }
                        _ => Value::String(f.value(r).to_string()),
                    }
                })
                .collect();
            out.push(row);
        }
    }
    Ok(out)
}

/// Length of `v` as JSON text, in bytes (for the preview's size limit).
pub(crate) fn json_len(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(b) => 4 + usize::from(!*b),
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => s.len() + 2,
        other => other.to_string().len(),
    }
}

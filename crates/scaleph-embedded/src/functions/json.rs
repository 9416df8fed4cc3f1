//! Flink's SQL/JSON constructors and predicates: `JSON_OBJECT`, `JSON_ARRAY`,
//! `JSON_OBJECTAGG`, `JSON_ARRAYAGG`, `IS [NOT] JSON [VALUE|SCALAR|ARRAY|OBJECT]` and
//! `JSON_VALUE(… RETURNING INT|DOUBLE|BOOLEAN|STRING)`.
//!
//! Output text is what Flink 2.3 writes (Jackson, checked by running Flink): object keys sorted,
//! no spaces, numbers as Java's `BigDecimal.toString` of the value (`1e20` → `1.0E+20`, `1e-5` →
//! `0.000010`, DECIMAL keeps its scale), strings escaped with `\"`, `\\`, `\n`, `\t`, `\r`,
//! `\b`, `\f` and `\uXXXX` for other control characters. A value that is itself the result of a
//! JSON constructor is inserted as JSON, not as a string. `DATE`/`TIME`/`TIMESTAMP` values are
//! refused at planning, as Flink refuses them ("not scalar or cannot be converted into JSON").
//!
//! Each UDF's first argument is a flags literal the front end writes: `N` (`NULL ON NULL`) or
//! `A` (`ABSENT ON NULL`), then one letter per value argument, `r` (raw JSON) or `v`.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use scaleph_connectors::text::{big_decimal_text, write_json_string};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum JsonFn {
    /// `flink_json_object(flags, k1, v1, …)` → STRING, keys sorted, a later duplicate wins.
    Object,
    /// `flink_json_array(flags, v1, …)` → STRING.
    Array,
    /// `flink_json_arrayagg(flags, array_agg(v))` → STRING, `[]` for no rows.
    ArrayAgg,
    /// `flink_json_objectagg(flags, array_agg(k), array_agg(v))` → STRING, `{}` for no rows;
    /// a duplicate or NULL key is an error (Flink).
    ObjectAgg,
    /// `flink_is_json(s, kind)` → BOOLEAN; kind `V`, `S`, `A` or `O`; NULL → FALSE (Flink).
    IsJson,
    /// `flink_json_value_as(doc, path, type)` → INT, DOUBLE or BOOLEAN: the JSON value must
    /// already be of that kind (an integer in INT range, a number with a fraction or exponent,
    /// a boolean), otherwise an error, as Flink's cast of the extracted value fails.
    ValueAs(Returning),
}

/// The `RETURNING` types of `JSON_VALUE` besides STRING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Returning {
    /// INT / INTEGER.
    Int,
    /// DOUBLE.
    Double,
    /// BOOLEAN.
    Boolean,
}

/// One of [`JsonFn`] as a DataFusion UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct JsonUdf {
    kind: JsonFn,
    signature: Signature,
}

impl JsonUdf {
    pub(crate) fn new(kind: JsonFn) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonUdf {
    fn name(&self) -> &str {
        match self.kind {
            JsonFn::Object => "flink_json_object",
            JsonFn::Array => "flink_json_array",
            JsonFn::ArrayAgg => "flink_json_arrayagg",
            JsonFn::ObjectAgg => "flink_json_objectagg",
            JsonFn::IsJson => "flink_is_json",
            JsonFn::ValueAs(Returning::Int) => "flink_json_value_int",
            JsonFn::ValueAs(Returning::Double) => "flink_json_value_double",
            JsonFn::ValueAs(Returning::Boolean) => "flink_json_value_boolean",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let (lo, hi) = match self.kind {
            JsonFn::Object | JsonFn::Array => (1, usize::MAX),
            JsonFn::ArrayAgg | JsonFn::IsJson | JsonFn::ValueAs(_) => (2, 2),
            JsonFn::ObjectAgg => (3, 3),
        };
        if t.len() < lo || t.len() > hi {
            return plan_err!("{name}: wrong number of arguments ({})", t.len());
        }
        if self.kind == JsonFn::Object && t.len().is_multiple_of(2) {
            return plan_err!("JSON_OBJECT takes KEY … VALUE … pairs");
        }
        let values: Vec<&DataType> = match self.kind {
            JsonFn::Object => t.iter().skip(2).step_by(2).collect(),
            JsonFn::Array => t.iter().skip(1).collect(),
            JsonFn::ArrayAgg => t.iter().skip(1).collect(),
            JsonFn::ObjectAgg => t.iter().skip(2).collect(),
            _ => vec![],
        };
        for v in values {
            check_convertible(v)?;
        }
        Ok(match self.kind {
            JsonFn::Object => t
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    if i % 2 == 1 {
                        DataType::Utf8
                    } else {
                        d.clone()
                    }
                })
                .collect(),
            JsonFn::IsJson | JsonFn::ValueAs(_) => vec![DataType::Utf8; 2],
            _ => t.to_vec(),
        })
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            JsonFn::IsJson | JsonFn::ValueAs(Returning::Boolean) => DataType::Boolean,
            JsonFn::ValueAs(Returning::Int) => DataType::Int32,
            JsonFn::ValueAs(Returning::Double) => DataType::Float64,
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = super::arg_arrays(&args)?;
        let out: ArrayRef = match self.kind {
            JsonFn::IsJson => {
                let s = arrays[0].as_string::<i32>();
                let kind = arrays[1].as_string::<i32>();
                let mut b = BooleanBuilder::with_capacity(n);
                for r in 0..n {
                    let ok = !s.is_null(r)
                        && !kind.is_null(r)
                        && is_json(s.value(r), kind.value(r).chars().next().unwrap_or('V'));
                    b.append_value(ok);
                }
                Arc::new(b.finish())
            }
            JsonFn::ValueAs(ret) => value_as(ret, &arrays, n)?,
            _ => {
                let flags = arrays[0].as_string::<i32>();
                let mut b = StringBuilder::with_capacity(n, n * 16);
                for r in 0..n {
                    let f = if flags.is_null(r) {
                        "N"
                    } else {
                        flags.value(r)
                    };
                    let absent = f.starts_with('A');
                    let raw = |i: usize| f.as_bytes().get(1 + i) == Some(&b'r');
                    let text = match self.kind {
                        JsonFn::Object => object(&arrays[1..], r, absent, raw)?,
                        JsonFn::Array => {
                            let mut out = String::from("[");
                            for (i, a) in arrays[1..].iter().enumerate() {
                                if absent && a.is_null(r) {
                                    continue;
                                }
                                if out.len() > 1 {
                                    out.push(',');
                                }
                                write_value(&mut out, a, r, raw(i))?;
                            }
                            out.push(']');
                            out
                        }
                        JsonFn::ArrayAgg => array_agg(&arrays[1], r, absent, raw(0))?,
                        _ => object_agg(&arrays[1], &arrays[2], r, absent, raw(0))?,
                    };
                    b.append_value(text);
                }
                Arc::new(b.finish())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// Flink refuses temporal values in its JSON constructors.
pub(crate) fn check_convertible(t: &DataType) -> Result<()> {
    use DataType::*;
    match t {
        Date32 | Date64 | Time32(_) | Time64(_) | Timestamp(..) | Interval(_) | Duration(_)
        | Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => {
            plan_err!("Type '{t}' is not scalar or cannot be converted into JSON")
        }
        List(f) | LargeList(f) | FixedSizeList(f, _) => check_convertible(f.data_type()),
        _ => Ok(()),
    }
}

fn object(
    pairs: &[ArrayRef],
    r: usize,
    absent: bool,
    raw: impl Fn(usize) -> bool,
) -> Result<String> {
    let mut m = BTreeMap::new();
    for (i, kv) in pairs.chunks(2).enumerate() {
        let (k, v) = (kv[0].as_string::<i32>(), &kv[1]);
        if k.is_null(r) {
            return exec_err!("JSON_OBJECT: a key is NULL");
        }
        if absent && v.is_null(r) {
            continue;
        }
        let mut s = String::new();
        write_value(&mut s, v, r, raw(i))?;
        m.insert(k.value(r).to_string(), s);
    }
    Ok(object_text(&m))
}

fn object_text(m: &BTreeMap<String, String>) -> String {
    let mut out = String::from("{");
    for (k, v) in m {
        if out.len() > 1 {
            out.push(',');
        }
        write_json_string(&mut out, k);
        out.push(':');
        out.push_str(v);
    }
    out.push('}');
    out
}

fn array_agg(list: &ArrayRef, r: usize, absent: bool, raw: bool) -> Result<String> {
    let mut out = String::from("[");
    if !list.is_null(r) {
        let items = list_values(list, r)?;
        for i in 0..items.len() {
            if absent && items.is_null(i) {
                continue;
            }
            if out.len() > 1 {
                out.push(',');
            }
            write_value(&mut out, &items, i, raw)?;
        }
    }
    out.push(']');
    Ok(out)
}

fn object_agg(
    keys: &ArrayRef,
    values: &ArrayRef,
    r: usize,
    absent: bool,
    raw: bool,
) -> Result<String> {
    let mut m = BTreeMap::new();
    if !keys.is_null(r) {
        let k = list_values(keys, r)?;
        let v = list_values(values, r)?;
        let k = datafusion::arrow::compute::cast(&k, &DataType::Utf8)?;
        let k = k.as_string::<i32>();
        for i in 0..k.len() {
            if k.is_null(i) {
                return exec_err!("JSON_OBJECTAGG: a key is NULL");
            }
            if absent && v.is_null(i) {
                continue;
            }
            let mut s = String::new();
            write_value(&mut s, &v, i, raw)?;
            if m.insert(k.value(i).to_string(), s).is_some() {
                return exec_err!(
                    "Key '{}' is already present. Duplicate keys are not allowed in \
                     JSON_OBJECTAGG. Please ensure that keys are unique.",
                    k.value(i)
                );
            }
        }
    }
    Ok(object_text(&m))
}

fn list_values(list: &ArrayRef, r: usize) -> Result<ArrayRef> {
    Ok(match list.data_type() {
        DataType::List(_) => list.as_list::<i32>().value(r),
        DataType::LargeList(_) => list.as_list::<i64>().value(r),
        DataType::FixedSizeList(..) => list.as_fixed_size_list().value(r),
        other => return exec_err!("expected a list, got {other}"),
    })
}

/// Appends row `r` of `a` as JSON text.
pub(crate) fn write_value(out: &mut String, a: &ArrayRef, r: usize, raw: bool) -> Result<()> {
    if a.is_null(r) {
        out.push_str("null");
        return Ok(());
    }
    if raw {
        if let Some(s) = a.as_string_opt::<i32>() {
            out.push_str(s.value(r));
            return Ok(());
        }
    }
    let v = ScalarValue::try_from_array(a, r)?;
    use ScalarValue::*;
    match &v {
        Boolean(Some(b)) => out.push_str(if *b { "true" } else { "false" }),
        Int8(Some(_)) | Int16(Some(_)) | Int32(Some(_)) | Int64(Some(_)) | UInt8(Some(_))
        | UInt16(Some(_)) | UInt32(Some(_)) | UInt64(Some(_)) => {
            let _ = write!(out, "{v}");
        }
        Float32(Some(x)) => out.push_str(&double_text(f64::from(*x))),
        Float64(Some(x)) => out.push_str(&double_text(*x)),
        Decimal128(Some(u), _, s) => out.push_str(&big_decimal_text(&u.to_string(), *s as i32)),
        Utf8(Some(s)) | Utf8View(Some(s)) | LargeUtf8(Some(s)) => write_json_string(out, s),
        List(_) | LargeList(_) | FixedSizeList(_) => {
            let inner = match &v {
                List(l) => l.value(0),
                LargeList(l) => l.value(0),
                FixedSizeList(l) => l.value(0),
                _ => unreachable!("matched above"),
            };
            out.push('[');
            for i in 0..inner.len() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, &inner, i, false)?;
            }
            out.push(']');
        }
        Struct(s) => {
            let mut m = BTreeMap::new();
            for (f, c) in s.fields().iter().zip(s.columns()) {
                let mut t = String::new();
                write_value(&mut t, c, 0, false)?;
                m.insert(f.name().clone(), t);
            }
            out.push_str(&object_text(&m));
        }
        Map(m) => {
            let entries = m.value(0);
            let keys = datafusion::arrow::compute::cast(entries.column(0), &DataType::Utf8)?;
            let keys = keys.as_string::<i32>();
            let mut obj = BTreeMap::new();
            for i in 0..entries.len() {
                let mut t = String::new();
                write_value(&mut t, entries.column(1), i, false)?;
                obj.insert(keys.value(i).to_string(), t);
            }
            out.push_str(&object_text(&obj));
        }
        other => return exec_err!("cannot write {} as JSON", other.data_type()),
    }
    Ok(())
}

/// A DOUBLE as Flink's JSON functions write it: Java's `Double.toString`, read back as a
/// `BigDecimal` and written with `BigDecimal.toString` (`1.0E20` → `1.0E+20`).
pub(crate) fn double_text(d: f64) -> String {
    if !d.is_finite() {
        return format!("\"{}\"", scaleph_connectors::text::java_double(d));
    }
    let java = scaleph_connectors::text::java_double(d);
    let (mantissa, exp) = match java.split_once('E') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (java.as_str(), 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let unscaled = format!("{int}{frac}");
    big_decimal_text(&unscaled, frac.len() as i32 - exp)
}

/// `s IS JSON <kind>`: valid JSON text (duplicate keys allowed, numbers of any size) whose top
/// level is a value (`V`), a scalar (`S`), an array (`A`) or an object (`O`).
fn is_json(s: &str, kind: char) -> bool {
    if serde_json::from_str::<serde::de::IgnoredAny>(s).is_err() {
        return false;
    }
    match (kind, s.trim_start().chars().next()) {
        ('A', Some(c)) => c == '[',
        ('O', Some(c)) => c == '{',
        ('S', Some(c)) => c != '[' && c != '{',
        _ => true,
    }
}

fn value_as(ret: Returning, arrays: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    let doc = arrays[0].as_string::<i32>();
    let path = arrays[1].as_string::<i32>();
    let mut found = Vec::with_capacity(n);
    for r in 0..n {
        if doc.is_null(r) || path.is_null(r) {
            found.push(None);
            continue;
        }
        let Some(steps) = super::compat::parse_path(path.value(r)) else {
            return exec_err!("JSON_VALUE: unsupported JSON path '{}'", path.value(r));
        };
        let parsed: Option<serde_json::Value> = serde_json::from_str(doc.value(r)).ok();
        found.push(
            parsed
                .as_ref()
                .and_then(|j| super::compat::walk(j, &steps))
                .filter(|v| !v.is_null() && !v.is_array() && !v.is_object())
                .cloned(),
        );
    }
    let mismatch = |v: &serde_json::Value, to: &str| {
        exec_err!("JSON_VALUE: the value {v} cannot be returned as {to}")
    };
    Ok(match ret {
        Returning::Int => {
            let mut b = datafusion::arrow::array::PrimitiveBuilder::<Int32Type>::with_capacity(n);
            for v in &found {
                match v {
                    None => b.append_null(),
                    Some(j) => match j.as_i64().and_then(|x| i32::try_from(x).ok()) {
                        Some(x) if j.is_i64() || j.is_u64() => b.append_value(x),
                        _ => return mismatch(j, "INT"),
                    },
                }
            }
            Arc::new(b.finish())
        }
        Returning::Double => {
            let mut b = datafusion::arrow::array::Float64Builder::with_capacity(n);
            for v in &found {
                match v {
                    None => b.append_null(),
                    Some(j) if j.is_f64() => b.append_value(j.as_f64().unwrap_or(f64::NAN)),
                    Some(j) => return mismatch(j, "DOUBLE"),
                }
            }
            Arc::new(b.finish())
        }
        Returning::Boolean => {
            let mut b = BooleanBuilder::with_capacity(n);
            for v in &found {
                match v {
                    None => b.append_null(),
                    Some(serde_json::Value::Bool(x)) => b.append_value(*x),
                    Some(j) => return mismatch(j, "BOOLEAN"),
                }
            }
            Arc::new(b.finish())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_flink_writes_them() {
        assert_eq!(double_text(1e20), "1.0E+20");
        assert_eq!(double_text(1e-5), "0.000010");
        assert_eq!(double_text(100.0), "100.0");
        assert_eq!(double_text(f64::from(0.1f32)), "0.10000000149011612");
        assert_eq!(big_decimal_text("150", 2), "1.50");
        assert_eq!(big_decimal_text("1", 7), "1E-7");
        assert_eq!(big_decimal_text("-5", 1), "-0.5");
    }

    #[test]
    fn is_json_follows_flink() {
        assert!(is_json(r#"{"a":1,"a":2}"#, 'O'));
        assert!(is_json(" [1] ", 'A'));
        assert!(is_json("1.5e3", 'S'));
        assert!(is_json("1e400", 'V'));
        assert!(!is_json("01", 'V'));
        assert!(!is_json("[1,]", 'V'));
        assert!(!is_json("[1]", 'O'));
    }

    #[test]
    fn strings_are_escaped_as_jackson_does() {
        let mut s = String::new();
        write_json_string(&mut s, "a\"b\\c\n\u{1}é/");
        assert_eq!(s, r#""a\"b\\c\n\u0001é/""#);
    }
}

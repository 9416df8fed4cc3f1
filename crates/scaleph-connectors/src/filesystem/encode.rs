//! Rows as Flink's `csv` and `json` formats write them, byte for byte (Flink 2.3 with its
//! shaded Jackson, checked by writing the same rows with Flink):
//!
//! - DOUBLE/FLOAT: Java's `Double.toString`/`Float.toString` (`1.0E20`, `1.0E-5`).
//! - DECIMAL: Jackson's node of the value with trailing zeros stripped, `BigDecimal.toString`
//!   (`100.000` → `1E+2`, `0.000` → `0`); JSON with `json.encode.decimal-as-plain-number` writes
//!   the exact value plainly (`100.000`).
//! - TIMESTAMP: `yyyy-MM-dd HH:mm:ss[.f]` with the fraction's trailing zeros dropped;
//!   TIMESTAMP_LTZ the same in UTC with `Z`; JSON with `json.timestamp-format.standard` =
//!   `ISO-8601` puts `T` between date and time. DATE `yyyy-MM-dd`, TIME `HH:mm:ss[.f]`.
//! - BYTES: Base64 (RFC 4648, padded). BOOLEAN: `true`/`false`.
//! - CSV: a string value is quoted when it holds a character below Jackson's "minimum safe
//!   character" (one above the largest of the field delimiter, the quote character and `\n`:
//!   with `,` that is `-`, so spaces, `+`, `"` … are quoted) or the escape character; the quote
//!   inside is doubled, and so is `csv.escape-character`. Numbers and booleans are never
//!   quoted. ARRAY elements and ROW fields are joined with `csv.array-element-delimiter`
//!   (default `;`). NULL is empty, or `csv.null-literal`.
//! - JSON: one object per line in column order, strings escaped as Jackson does, NULL as
//!   `null` or left out with `json.encode.ignore-null-fields`; ARRAY → array, ROW and MAP →
//!   object.

use crate::text::{big_decimal_text, java_double, java_float, write_json_string};
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, TimeUnit, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::error::{DataFusionError, Result};

/// Flink `csv.*` options that change the written text.
#[derive(Debug, Clone)]
pub(crate) struct CsvStyle {
    /// `csv.field-delimiter`.
    pub delimiter: u8,
    /// `csv.quote-character`; `None` with `csv.disable-quote-character`.
    pub quote: Option<u8>,
    /// `csv.escape-character`.
    pub escape: Option<u8>,
    /// `csv.null-literal`.
    pub null_literal: Option<String>,
    /// `csv.array-element-delimiter`.
    pub array_delimiter: String,
}

/// Flink `json.*` options that change the written text.
#[derive(Debug, Clone, Default)]
pub(crate) struct JsonStyle {
    /// `json.timestamp-format.standard` = `ISO-8601` (else `SQL`).
    pub iso_timestamps: bool,
    /// `json.encode.decimal-as-plain-number`.
    pub plain_decimals: bool,
    /// `json.encode.ignore-null-fields`.
    pub ignore_null_fields: bool,
}

/// One value's text and whether it is a JSON/CSV string (quoted/escaped) or a bare token.
enum Cell {
    Bare(String),
    Text(String),
}

fn err(msg: String) -> DataFusionError {
    DataFusionError::Execution(msg)
}

fn fraction(nanos: u32) -> String {
    if nanos == 0 {
        return String::new();
    }
    let f = format!(".{nanos:09}");
    f.trim_end_matches('0').to_string()
}

fn timestamp_text(dt: NaiveDateTime, iso: bool) -> String {
    format!(
        "{}{}{}",
        dt.format("%Y-%m-%d"),
        if iso { 'T' } else { ' ' },
        time_text(dt.time())
    )
}

fn time_text(t: NaiveTime) -> String {
    format!("{}{}", t.format("%H:%M:%S"), fraction(t.nanosecond()))
}

/// Jackson's text of a DECIMAL node: zero is `0`; otherwise trailing zeros stripped and
/// `BigDecimal.toString`.
fn decimal_text(unscaled: i128, scale: i8, plain: bool) -> String {
    if plain {
        return plain_decimal(unscaled, scale as i32);
    }
    if unscaled == 0 {
        return "0".into();
    }
    let (mut u, mut s) = (unscaled, scale as i32);
    while u % 10 == 0 {
        u /= 10;
        s -= 1;
    }
    big_decimal_text(&u.to_string(), s)
}

fn plain_decimal(unscaled: i128, scale: i32) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    if scale <= 0 {
        return format!("{sign}{digits}{}", "0".repeat((-scale) as usize));
    }
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (i, f) = padded.split_at(padded.len() - scale);
    format!("{sign}{i}.{f}")
}

/// The text of row `r` of `a` (not NULL) as a scalar cell.
fn scalar(a: &ArrayRef, r: usize, iso: bool, plain: bool) -> Result<Cell> {
    use DataType::*;
    let bare = |s: String| Ok(Cell::Bare(s));
    match a.data_type() {
        Boolean => bare(a.as_boolean().value(r).to_string()),
        Int8 => bare(a.as_primitive::<Int8Type>().value(r).to_string()),
        Int16 => bare(a.as_primitive::<Int16Type>().value(r).to_string()),
        Int32 => bare(a.as_primitive::<Int32Type>().value(r).to_string()),
        Int64 => bare(a.as_primitive::<Int64Type>().value(r).to_string()),
        UInt8 => bare(a.as_primitive::<UInt8Type>().value(r).to_string()),
        UInt16 => bare(a.as_primitive::<UInt16Type>().value(r).to_string()),
        UInt32 => bare(a.as_primitive::<UInt32Type>().value(r).to_string()),
        UInt64 => bare(a.as_primitive::<UInt64Type>().value(r).to_string()),
        Float32 => bare(java_float(a.as_primitive::<Float32Type>().value(r))),
        Float64 => bare(java_double(a.as_primitive::<Float64Type>().value(r))),
        Decimal128(_, s) => bare(decimal_text(
            a.as_primitive::<Decimal128Type>().value(r),
            *s,
            plain,
        )),
        Utf8 => Ok(Cell::Text(a.as_string::<i32>().value(r).to_string())),
        LargeUtf8 => Ok(Cell::Text(a.as_string::<i64>().value(r).to_string())),
        Utf8View => Ok(Cell::Text(a.as_string_view().value(r).to_string())),
        Binary | LargeBinary | BinaryView => {
            let bytes: Vec<u8> = match a.data_type() {
                Binary => a.as_binary::<i32>().value(r).to_vec(),
                LargeBinary => a.as_binary::<i64>().value(r).to_vec(),
                _ => a.as_binary_view().value(r).to_vec(),
            };
            Ok(Cell::Text(
                base64::engine::general_purpose::STANDARD.encode(bytes),
            ))
        }
        Date32 => {
            let days = a.as_primitive::<Date32Type>().value(r);
            let d = NaiveDate::from_num_days_from_ce_opt(days + 719_163)
                .ok_or_else(|| err(format!("DATE out of range: {days}")))?;
            Ok(Cell::Text(d.format("%Y-%m-%d").to_string()))
        }
        Time32(_) | Time64(_) => {
            let nanos: i64 = match a.data_type() {
                Time32(TimeUnit::Second) => {
                    i64::from(a.as_primitive::<Time32SecondType>().value(r)) * 1_000_000_000
                }
                Time32(_) => {
                    i64::from(a.as_primitive::<Time32MillisecondType>().value(r)) * 1_000_000
                }
                Time64(TimeUnit::Microsecond) => {
                    a.as_primitive::<Time64MicrosecondType>().value(r) * 1_000
                }
                _ => a.as_primitive::<Time64NanosecondType>().value(r),
            };
            let t = NaiveTime::from_num_seconds_from_midnight_opt(
                (nanos / 1_000_000_000) as u32,
                (nanos % 1_000_000_000) as u32,
            )
            .ok_or_else(|| err(format!("TIME out of range: {nanos} ns")))?;
            Ok(Cell::Text(time_text(t)))
        }
        Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => a
                    .as_primitive::<datafusion::arrow::datatypes::TimestampSecondType>()
                    .value(r)
                    .checked_mul(1_000_000_000),
                TimeUnit::Millisecond => a
                    .as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>()
                    .value(r)
                    .checked_mul(1_000_000),
                TimeUnit::Microsecond => a
                    .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
                    .value(r)
                    .checked_mul(1_000),
                TimeUnit::Nanosecond => Some(
                    a.as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>()
                        .value(r),
                ),
            }
            .ok_or_else(|| err("TIMESTAMP out of range".into()))?;
            let dt = DateTime::from_timestamp_nanos(v).naive_utc();
            let mut s = timestamp_text(dt, iso);
            if tz.is_some() {
                s.push('Z');
            }
            Ok(Cell::Text(s))
        }
        other => Err(err(format!("cannot write a {other} value in this format"))),
    }
}

/// `r` of `a` is a NULL (the array's nulls, or a NULL-typed column).
fn is_null(a: &ArrayRef, r: usize) -> bool {
    a.is_null(r) || a.data_type().is_null()
}

/// Lines of `batch` in Flink's CSV text.
pub(crate) fn csv(batch: &RecordBatch, style: &CsvStyle) -> Result<Vec<u8>> {
    let min_safe = style
        .delimiter
        .max(style.quote.unwrap_or(0))
        .max(b'\n')
        .saturating_add(1);
    let mut out = String::with_capacity(batch.num_rows() * 64);
    for r in 0..batch.num_rows() {
        for (i, col) in batch.columns().iter().enumerate() {
            if i > 0 {
                out.push(style.delimiter as char);
            }
            if is_null(col, r) {
                if let Some(n) = &style.null_literal {
                    out.push_str(n);
                }
                continue;
            }
            let cell = csv_cell(col, r, style)?;
            match cell {
                Cell::Bare(s) => out.push_str(&s),
                Cell::Text(s) => push_csv_text(&mut out, &s, style, min_safe),
            }
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
}

fn csv_cell(a: &ArrayRef, r: usize, style: &CsvStyle) -> Result<Cell> {
    let join = |items: Vec<Cell>| {
        let texts: Vec<String> = items
            .into_iter()
            .map(|c| match c {
                Cell::Bare(s) | Cell::Text(s) => s,
            })
            .collect();
        Cell::Text(texts.join(&style.array_delimiter))
    };
    match a.data_type() {
        DataType::List(_) | DataType::LargeList(_) => {
            let items = list_item(a, r)?;
            let mut cells = Vec::with_capacity(items.len());
            for i in 0..items.len() {
                cells.push(if is_null(&items, i) {
                    Cell::Text(String::new())
                } else {
                    csv_cell(&items, i, style)?
                });
            }
            Ok(join(cells))
        }
        DataType::Struct(_) => {
            let s = a.as_struct();
            let mut cells = Vec::with_capacity(s.num_columns());
            for c in s.columns() {
                cells.push(if is_null(c, r) {
                    Cell::Text(String::new())
                } else {
                    csv_cell(c, r, style)?
                });
            }
            Ok(join(cells))
        }
        _ => scalar(a, r, false, false),
    }
}

/// A text cell as Jackson's CSV generator writes it for Flink (checked against Flink 2.3's
/// files): with quoting, a cell holding a character below `min_safe`, the quote or the escape
/// character is quoted, and its quotes and escape characters are written twice. Without
/// quoting the text is written as it is (not even the delimiter is escaped, as in Flink).
fn push_csv_text(out: &mut String, s: &str, style: &CsvStyle, min_safe: u8) {
    let esc = style.escape.map(char::from);
    let Some(q) = style.quote else {
        out.push_str(s);
        return;
    };
    let needs = s
        .bytes()
        .any(|b| b < min_safe || b == q || style.escape == Some(b));
    if !needs {
        out.push_str(s);
        return;
    }
    let q = q as char;
    out.push(q);
    for c in s.chars() {
        if c == q || Some(c) == esc {
            out.push(c);
        }
        out.push(c);
    }
    out.push(q);
}

fn list_item(a: &ArrayRef, r: usize) -> Result<ArrayRef> {
    Ok(match a.data_type() {
        DataType::List(_) => a.as_list::<i32>().value(r),
        DataType::LargeList(_) => a.as_list::<i64>().value(r),
        other => return Err(err(format!("not a list: {other}"))),
    })
}

/// Lines of `batch` in Flink's JSON text.
pub(crate) fn json(batch: &RecordBatch, style: &JsonStyle) -> Result<Vec<u8>> {
    let schema = batch.schema();
    let mut out = String::with_capacity(batch.num_rows() * 96);
    for r in 0..batch.num_rows() {
        out.push('{');
        let mut first = true;
        for (f, col) in schema.fields().iter().zip(batch.columns()) {
            if style.ignore_null_fields && is_null(col, r) {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            write_json_string(&mut out, f.name());
            out.push(':');
            json_value(&mut out, col, r, style)?;
        }
        out.push_str("}\n");
    }
    Ok(out.into_bytes())
}

fn json_value(out: &mut String, a: &ArrayRef, r: usize, style: &JsonStyle) -> Result<()> {
    if is_null(a, r) {
        out.push_str("null");
        return Ok(());
    }
    match a.data_type() {
        DataType::List(_) | DataType::LargeList(_) => {
            let items = list_item(a, r)?;
            out.push('[');
            for i in 0..items.len() {
                if i > 0 {
                    out.push(',');
                }
                json_value(out, &items, i, style)?;
            }
            out.push(']');
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            out.push('{');
            for (i, (f, c)) in fields.iter().zip(s.columns()).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, f.name());
                out.push(':');
                json_value(out, c, r, style)?;
            }
            out.push('}');
        }
        DataType::Map(..) => {
            let m = a.as_map();
            let entries = m.value(r);
            let (k, v) = (entries.column(0), entries.column(1));
            out.push('{');
            for i in 0..entries.len() {
                if i > 0 {
                    out.push(',');
                }
                let key = match scalar(k, i, style.iso_timestamps, style.plain_decimals)? {
                    Cell::Bare(s) | Cell::Text(s) => s,
                };
                write_json_string(out, &key);
                out.push(':');
                json_value(out, v, i, style)?;
            }
            out.push('}');
        }
        _ => match scalar(a, r, style.iso_timestamps, style.plain_decimals)? {
            Cell::Bare(s) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => {
                write_json_string(out, &s)
            }
            Cell::Bare(s) => out.push_str(&s),
            Cell::Text(s) => write_json_string(out, &s),
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Decimal128Array, StringArray, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn style() -> CsvStyle {
        CsvStyle {
            delimiter: b',',
            quote: Some(b'"'),
            escape: None,
            null_literal: None,
            array_delimiter: ";".into(),
        }
    }

    /// Expected lines: what Flink 2.3 wrote for the same values.
    #[test]
    fn csv_and_json_text_is_flinks() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Decimal128(10, 3), true),
            Field::new("s", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        ]));
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(
                    Decimal128Array::from(vec![Some(100_000), Some(0), None])
                        .with_precision_and_scale(10, 3)
                        .unwrap(),
                ),
                Arc::new(StringArray::from(vec![
                    Some("a b"),
                    Some("x\\y\"z"),
                    Some("+"),
                ])),
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_704_164_645_500),
                    Some(1_704_153_600_000),
                    None,
                ])),
            ],
        )
        .unwrap();
        let text = String::from_utf8(csv(&b, &style()).unwrap()).unwrap();
        assert_eq!(
            text,
            "1E+2,\"a b\",\"2024-01-02 03:04:05.5\"\n0,\"x\\y\"\"z\",\"2024-01-02 00:00:00\"\n,\"+\",\n"
        );
        let text = String::from_utf8(json(&b, &JsonStyle::default()).unwrap()).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            r#"{"a":1E+2,"s":"a b","ts":"2024-01-02 03:04:05.5"}"#
        );
        let plain = JsonStyle {
            iso_timestamps: true,
            plain_decimals: true,
            ignore_null_fields: true,
        };
        let text = String::from_utf8(json(&b, &plain).unwrap()).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            r#"{"a":100.000,"s":"a b","ts":"2024-01-02T03:04:05.5"}"#
        );
        assert_eq!(text.lines().nth(2).unwrap(), r#"{"s":"+"}"#);
    }
}

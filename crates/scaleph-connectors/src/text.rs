//! Values as Flink writes them as text: Java's `Double.toString` / `Float.toString` for `DOUBLE`
//! and `FLOAT` (what Flink's print sink, its CSV format and `CAST(… AS STRING)` produce).
//!
//! Java's rule (`java.lang.Double#toString`, JDK 19+ shortest-digits algorithm, which Flink's
//! outputs match for the values tested): NaN, `Infinity`, `-Infinity`; `0.0`/`-0.0`; for
//! 10⁻³ ≤ |d| < 10⁷ plain decimal with at least one digit after the point (`123.0`, `0.001`);
//! otherwise `d.dddE±n` with at least one digit after the point (`1.0E20`, `1.0E-5`). The
//! digits are the shortest that read back to the same value (Rust's `{:e}` gives them).
//! ARRAY, MAP and ROW values print as Flink prints them: `[1, 2]`, `{a=1, b=2}`, `(1, a)`.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Field, Float32Type, Float64Type, Schema, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::sync::Arc;

/// `d` as Java's `Double.toString(d)`.
pub fn java_double(d: f64) -> String {
    java_float_text(
        d.is_nan(),
        d.is_infinite(),
        d == 0.0,
        d.is_sign_negative(),
        || format!("{d:e}"),
    )
}

/// `f` as Java's `Float.toString(f)`.
pub fn java_float(f: f32) -> String {
    java_float_text(
        f.is_nan(),
        f.is_infinite(),
        f == 0.0,
        f.is_sign_negative(),
        || format!("{f:e}"),
    )
}

fn java_float_text(
    nan: bool,
    inf: bool,
    zero: bool,
    negative: bool,
    sci: impl Fn() -> String,
) -> String {
    if nan {
        return "NaN".into();
    }
    let sign = if negative { "-" } else { "" };
    if inf {
        return format!("{sign}Infinity");
    }
    if zero {
        return format!("{sign}0.0");
    }
    // `{:e}` → "-1.2345e-7": shortest digits and the decimal exponent.
    let s = sci();
    let s = s.trim_start_matches('-');
    let (mantissa, exp) = s.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-3..7).contains(&exp) {
        // Plain notation: the point goes after digit `exp + 1` (padding with zeros).
        let point = exp + 1;
        let (int, frac) = if point <= 0 {
            (
                "0".to_string(),
                format!("{}{digits}", "0".repeat((-point) as usize)),
            )
        } else if (point as usize) >= digits.len() {
            (
                format!("{digits}{}", "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        let frac = if frac.is_empty() { "0".into() } else { frac };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// A `FLOAT`/`DOUBLE` column as Java text, an ARRAY/MAP/ROW column as Flink's text and a BYTES
/// column as `x'…'` (NULLs stay NULL); other columns are returned as they are.
pub fn java_floats_as_text(a: &ArrayRef) -> ArrayRef {
    let text = |n: usize, f: &dyn Fn(usize) -> String| {
        let mut b = StringBuilder::with_capacity(n, n * 12);
        for r in 0..n {
            if a.is_null(r) {
                b.append_null();
            } else {
                b.append_value(f(r));
            }
        }
        Arc::new(b.finish()) as ArrayRef
    };
    match a.data_type() {
        DataType::Float64 => {
            let v = a.as_primitive::<Float64Type>();
            text(a.len(), &|r| java_double(v.value(r)))
        }
        DataType::Float32 => {
            let v = a.as_primitive::<Float32Type>();
            text(a.len(), &|r| java_float(v.value(r)))
        }
        t if is_nested(t) || is_binary(t) => {
            let fmt = FormatOptions::default();
            text(a.len(), &|r| {
                let mut out = String::new();
                nested_text(a.as_ref(), r, &fmt, &mut out);
                out
            })
        }
        _ => a.clone(),
    }
}

fn is_nested(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(..)
            | DataType::Map(..)
            | DataType::Struct(_)
    )
}

/// Appends Flink's text of `a[row]` to `out`: ARRAY `[a, b]`, MAP `{k=v, …}`, ROW `(a, b)`,
/// NULL inside them as `NULL`, DOUBLE/FLOAT as Java writes them, other values as Arrow's
/// display (Flink's `RowDataToStringConverter` for its print output).
fn nested_text(a: &dyn Array, row: usize, fmt: &FormatOptions, out: &mut String) {
    value_text(a, row, fmt, Mode::Print, out)
}

/// Where a value's text goes: Flink's print output, or `CAST(… AS STRING)`, which differs for
/// BOOLEAN (`TRUE`) and TIMESTAMP (`2024-01-02 03:04:05.120`, digits per precision).
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Print,
    Cast,
    /// What Flink's `print` connector writes: the value as its external Java object's
    /// `toString()` (see [`java_text`]).
    Java,
}

/// Appends the text Flink's `print` connector writes for `a[row]`: the value converted to its
/// external Java class, then `toString()` (`Row.toString` → `RowUtils.deepToStringRow` →
/// `StringUtils.arrayAwareToString`). NULL `null`; BOOLEAN `true`; DECIMAL
/// `BigDecimal.toString` (`1.50`, `1.000E-7`); DOUBLE/FLOAT as Java; DATE `2024-01-01`; TIME
/// `LocalTime` (`10:00`, `10:00:05.250`); TIMESTAMP `LocalDateTime` (`2024-01-01T10:00`);
/// TIMESTAMP_LTZ `Instant` in UTC (`2024-01-01T10:00:00Z`); BYTES `byte[]` as signed bytes
/// (`[10, -1]`); ARRAY `[…]`; MAP `{k=v, …}`; ROW `+I[…]`, elements written the same way.
pub fn java_text(a: &dyn Array, row: usize, out: &mut String) {
    value_text(a, row, &FormatOptions::default(), Mode::Java, out)
}

/// Java's `LocalTime.toString` of `nanos` since midnight: `HH:mm`, then `:ss` unless seconds
/// and fraction are 0, then the fraction in 3, 6 or 9 digits, as few as hold it.
fn java_local_time(nanos: i64, out: &mut String) {
    use std::fmt::Write;
    let (secs, frac) = (
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000),
    );
    let (h, m, sec) = (secs / 3600, secs / 60 % 60, secs % 60);
    let _ = write!(out, "{h:02}:{m:02}");
    if sec > 0 || frac > 0 {
        let _ = write!(out, ":{sec:02}");
    }
    java_fraction(frac, out);
}

/// `.SSS`, `.SSSSSS` or `.SSSSSSSSS`: the fewest groups of three digits that hold `frac`
/// nanoseconds (nothing for 0), as `java.time` writes fractions.
fn java_fraction(frac: i64, out: &mut String) {
    use std::fmt::Write;
    if frac == 0 {
    } else if frac % 1_000_000 == 0 {
        let _ = write!(out, ".{:03}", frac / 1_000_000);
    } else if frac % 1_000 == 0 {
        let _ = write!(out, ".{:06}", frac / 1_000);
    } else {
        let _ = write!(out, ".{frac:09}");
    }
}

/// The nanoseconds since the epoch of a timestamp value in `unit`.
fn epoch_nanos(v: i64, unit: &TimeUnit) -> i128 {
    let per = match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    v as i128 * per
}

/// Java's `LocalDateTime.toString` (`zone` false) or `Instant.toString` (`zone` true: seconds
/// always written, then `Z`) of `nanos` since the epoch.
fn java_date_time(nanos: i128, zone: bool, out: &mut String) {
    use std::fmt::Write;
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let frac = nanos.rem_euclid(1_000_000_000) as i64;
    let Some(dt) = chrono::DateTime::from_timestamp(secs, 0) else {
        out.push('?');
        return;
    };
    let _ = write!(out, "{}T", dt.date_naive().format("%Y-%m-%d"));
    let of_day = secs.rem_euclid(86_400);
    if zone {
        let _ = write!(
            out,
            "{:02}:{:02}:{:02}",
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60
        );
        java_fraction(frac, out);
        out.push('Z');
    } else {
        java_local_time(of_day * 1_000_000_000 + frac, out);
    }
}

/// chrono format of a timestamp's text in `CAST(… AS STRING)`: as many fraction digits as the
/// unit holds (Flink writes the precision's digits); nanoseconds — DataFusion's type of a
/// literal — as many as needed in groups of three.
fn cast_timestamp_format(unit: &TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "%Y-%m-%d %H:%M:%S",
        TimeUnit::Millisecond => "%Y-%m-%d %H:%M:%S%.3f",
        TimeUnit::Microsecond => "%Y-%m-%d %H:%M:%S%.6f",
        TimeUnit::Nanosecond => "%Y-%m-%d %H:%M:%S%.f",
    }
}

fn value_text(a: &dyn Array, row: usize, fmt: &FormatOptions, mode: Mode, out: &mut String) {
    if a.is_null(row) {
        out.push_str(if mode == Mode::Java { "null" } else { "NULL" });
        return;
    }
    if mode == Mode::Java && java_scalar_text(a, row, out) {
        return;
    }
    let list = |vals: ArrayRef, out: &mut String| {
        seq(out, ('[', ']'), vals.len(), |i, o| {
            value_text(vals.as_ref(), i, fmt, mode, o)
        })
    };
    match a.data_type() {
        DataType::List(_) => list(a.as_list::<i32>().value(row), out),
        DataType::LargeList(_) => list(a.as_list::<i64>().value(row), out),
        DataType::FixedSizeList(..) => list(a.as_fixed_size_list().value(row), out),
        DataType::Map(..) => {
            let entries = a.as_map().value(row);
            let (k, v) = (entries.column(0), entries.column(1));
            seq(out, ('{', '}'), entries.len(), |i, o| {
                value_text(k.as_ref(), i, fmt, mode, o);
                o.push('=');
                value_text(v.as_ref(), i, fmt, mode, o);
            });
        }
        DataType::Struct(_) => {
            let cols = a.as_struct().columns();
            if mode == Mode::Java {
                out.push_str("+I");
            }
            let brackets = if mode == Mode::Java {
                ('[', ']')
            } else {
                ('(', ')')
            };
            seq(out, brackets, cols.len(), |i, o| {
                value_text(cols[i].as_ref(), row, fmt, mode, o)
            });
        }
        DataType::Float64 => out.push_str(&java_double(a.as_primitive::<Float64Type>().value(row))),
        DataType::Float32 => out.push_str(&java_float(a.as_primitive::<Float32Type>().value(row))),
        DataType::Boolean if mode == Mode::Cast => out.push_str(if a.as_boolean().value(row) {
            "TRUE"
        } else {
            "FALSE"
        }),
        DataType::Timestamp(unit, _) if mode == Mode::Cast => {
            let f = cast_timestamp_format(unit);
            let fmt = fmt
                .clone()
                .with_timestamp_format(Some(f))
                .with_timestamp_tz_format(Some(f));
            match ArrayFormatter::try_new(a, &fmt) {
                Ok(v) => out.push_str(&v.value(row).to_string()),
                Err(_) => out.push('?'),
            }
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_)
            if mode == Mode::Print =>
        {
            // Flink prints BYTES as a hex literal, `x'616263'`.
            match ArrayFormatter::try_new(a, fmt) {
                Ok(f) => {
                    out.push_str("x'");
                    out.push_str(&f.value(row).to_string().to_ascii_lowercase());
                    out.push('\'');
                }
                Err(_) => out.push('?'),
            }
        }
        _ => match ArrayFormatter::try_new(a, fmt) {
            Ok(f) => out.push_str(&f.value(row).to_string()),
            Err(_) => out.push('?'),
        },
    }
}

/// [`Mode::Java`]'s text of the non-NULL scalar types whose Java text differs from Arrow's
/// display; false (nothing written) for the others.
fn java_scalar_text(a: &dyn Array, row: usize, out: &mut String) -> bool {
    use datafusion::arrow::datatypes::{
        Decimal128Type, Decimal256Type, Time32MillisecondType, Time32SecondType,
        Time64MicrosecondType, Time64NanosecondType, TimestampMicrosecondType,
        TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
    };
    match a.data_type() {
        DataType::Decimal128(_, scale) => {
            let v = a.as_primitive::<Decimal128Type>().value(row);
            out.push_str(&big_decimal_text(&v.to_string(), *scale as i32));
        }
        DataType::Decimal256(_, scale) => {
            let v = a.as_primitive::<Decimal256Type>().value(row);
            out.push_str(&big_decimal_text(&v.to_string(), *scale as i32));
        }
        DataType::Time32(TimeUnit::Second) => {
            let v = a.as_primitive::<Time32SecondType>().value(row);
            java_local_time(v as i64 * 1_000_000_000, out);
        }
        DataType::Time32(_) => {
            let v = a.as_primitive::<Time32MillisecondType>().value(row);
            java_local_time(v as i64 * 1_000_000, out);
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            let v = a.as_primitive::<Time64MicrosecondType>().value(row);
            java_local_time(v * 1_000, out);
        }
        DataType::Time64(_) => {
            java_local_time(a.as_primitive::<Time64NanosecondType>().value(row), out);
        }
        DataType::Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => a.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => a.as_primitive::<TimestampMillisecondType>().value(row),
                TimeUnit::Microsecond => a.as_primitive::<TimestampMicrosecondType>().value(row),
                TimeUnit::Nanosecond => a.as_primitive::<TimestampNanosecondType>().value(row),
            };
            java_date_time(epoch_nanos(v, unit), tz.is_some(), out);
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let bytes: &[u8] = match a.data_type() {
                DataType::Binary => a.as_binary::<i32>().value(row),
                DataType::LargeBinary => a.as_binary::<i64>().value(row),
                _ => a.as_binary_view().value(row),
            };
            seq(out, ('[', ']'), bytes.len(), |i, o| {
                o.push_str(&(bytes[i] as i8).to_string())
            });
        }
        DataType::FixedSizeBinary(_) => {
            let bytes = a.as_fixed_size_binary().value(row);
            seq(out, ('[', ']'), bytes.len(), |i, o| {
                o.push_str(&(bytes[i] as i8).to_string())
            });
        }
        _ => return false,
    }
    true
}

fn is_binary(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_)
    )
}

/// Appends `open`, `n` items written by `each` separated by `, `, then `close`.
fn seq(
    out: &mut String,
    (open, close): (char, char),
    n: usize,
    mut each: impl FnMut(usize, &mut String),
) {
    out.push(open);
    for i in 0..n {
        if i > 0 {
            out.push_str(", ");
        }
        each(i, out);
    }
    out.push(close);
}

/// `CAST(a AS STRING)` as Flink computes it, for `a` of any type (NULL stays NULL): DOUBLE and
/// FLOAT as Java writes them, BOOLEAN `TRUE`/`FALSE`, TIMESTAMP `yyyy-MM-dd HH:mm:ss[.f…]` (a
/// TIMESTAMP_LTZ in its session time zone), ARRAY `[…]`, MAP `{k=v, …}`, ROW `(…)` with their
/// elements written the same way; other types as Arrow writes them (DATE, TIME, DECIMAL,
/// integers, strings match Flink's text).
///
/// # Errors
/// When a value has no text (Arrow cannot format the type).
pub fn cast_text(a: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let fmt = FormatOptions::default().with_null("NULL");
    if let DataType::Timestamp(unit, _) = a.data_type() {
        let f = cast_timestamp_format(unit);
        let opts = CastOptions {
            safe: false,
            format_options: fmt
                .with_timestamp_format(Some(f))
                .with_timestamp_tz_format(Some(f)),
        };
        return cast_with_options(a, &DataType::Utf8, &opts);
    }
    // Fail on a type Arrow cannot write rather than writing '?'.
    if !is_nested(a.data_type()) {
        ArrayFormatter::try_new(a.as_ref(), &fmt)?;
    }
    let mut b = StringBuilder::with_capacity(a.len(), a.len() * 12);
    let mut s = String::new();
    for r in 0..a.len() {
        if a.is_null(r) {
            b.append_null();
        } else {
            s.clear();
            value_text(a.as_ref(), r, &fmt, Mode::Cast, &mut s);
            b.append_value(&s);
        }
    }
    Ok(Arc::new(b.finish()))
}

/// `b` with its `FLOAT`/`DOUBLE` columns as Java text and its ARRAY/MAP/ROW columns as Flink
/// prints them, for the print sink and printed query results.
///
/// # Errors
/// Never in practice: the new columns match the new schema.
pub fn printed_batch(b: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    as_text(b, |t| {
        matches!(t, DataType::Float32 | DataType::Float64) || is_nested(t) || is_binary(t)
    })
}

fn as_text(
    b: &RecordBatch,
    convert: impl Fn(&DataType) -> bool,
) -> Result<RecordBatch, ArrowError> {
    if !b.schema().fields().iter().any(|f| convert(f.data_type())) {
        return Ok(b.clone());
    }
    let fields: Vec<Field> = b
        .schema()
        .fields()
        .iter()
        .map(|f| {
            if convert(f.data_type()) {
                Field::new(f.name(), DataType::Utf8, f.is_nullable())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let columns = b
        .columns()
        .iter()
        .map(|c| {
            if convert(c.data_type()) {
                java_floats_as_text(c)
            } else {
                c.clone()
            }
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// A JSON string literal, escaped as Jackson escapes it.
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = std::fmt::Write::write_fmt(out, format_args!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Java's `BigDecimal.toString` of `unscaled × 10^-scale` (`unscaled` in decimal, maybe
/// signed): plain when `scale ≥ 0` and the adjusted exponent is ≥ −6, else scientific.
pub fn big_decimal_text(unscaled: &str, scale: i32) -> String {
    let (sign, digits) = match unscaled.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", unscaled),
    };
    let digits = {
        let t = digits.trim_start_matches('0');
        if t.is_empty() {
            "0"
        } else {
            t
        }
    };
    let adjusted = -(scale as i64) + (digits.len() as i64 - 1);
    if scale >= 0 && adjusted >= -6 {
        let scale = scale as usize;
        if scale == 0 {
            return format!("{sign}{digits}");
        }
        if digits.len() > scale {
            let (i, f) = digits.split_at(digits.len() - scale);
            return format!("{sign}{i}.{f}");
        }
        return format!("{sign}0.{}{digits}", "0".repeat(scale - digits.len()));
    }
    let (first, rest) = digits.split_at(1);
    let mut s = format!("{sign}{first}");
    if !rest.is_empty() {
        s.push('.');
        s.push_str(rest);
    }
    if adjusted != 0 {
        s.push_str(&format!(
            "E{}{adjusted}",
            if adjusted > 0 { "+" } else { "" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings are Java's (`jshell`: `Double.toString(x)`), as Flink 2.3 printed them
    /// for `CAST(… AS STRING)`.
    #[test]
    fn doubles_as_java_writes_them() {
        for (d, java) in [
            (1.0e20, "1.0E20"),
            (123.0, "123.0"),
            (0.00001, "1.0E-5"),
            (0.001, "0.001"),
            (1234567.0, "1234567.0"),
            (12345678.0, "1.2345678E7"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-2.5, "-2.5"),
            (1.0 / 3.0, "0.3333333333333333"),
            (4.605170185988092, "4.605170185988092"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (1e-300, "1.0E-300"),
            (123456.789, "123456.789"),
        ] {
            assert_eq!(java_double(d), java, "{d:?}");
        }
        assert_eq!(java_float(1.5), "1.5");
        assert_eq!(java_float(0.1), "0.1");
        assert_eq!(java_float(1.0e10), "1.0E10");
    }
}

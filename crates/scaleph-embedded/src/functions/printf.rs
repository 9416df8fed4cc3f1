//! `PRINTF(format, args…)` as Flink evaluates it: Java's `String.format` (`java.util.Formatter`,
//! `Locale.US`) over the arguments as Java objects (INT → `Integer`, BIGINT → `Long`, DOUBLE →
//! `Double`, DECIMAL → `BigDecimal`, STRING → `String`, BOOLEAN → `Boolean`).
//!
//! Conversions `s S b B c C d o x X f e E h`… of the Formatter spec with flags `- # + space 0 , (`,
//! width, precision and `n$` argument indexes; `%%` and `%n`. Floating conversions round
//! half-up on the value's shortest decimal text, as Java's `Formatter` does (`%.1f` of 0.25 is
//! `0.3`). Where Java throws (a conversion that does not apply to its argument, a missing
//! argument) the result is NULL, as Flink's `PRINTF` answers; DECIMAL arguments reach Java as
//! Flink's `DecimalData`, so only `%s`/`%b`/`%h` apply to them. `%a` and date/time conversions
//! are not supported (the query fails naming them).

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
};
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::Arc;

/// Why a format fails: Java throws (Flink's `PRINTF` then answers NULL), or the conversion is
/// one the embedded engine does not write (the query fails).
#[derive(Debug)]
enum Fail {
    /// The exception Java would throw (read by the tests).
    Java(#[allow(dead_code)] String),
    Unsupported(char),
}

type Out<T> = std::result::Result<T, Fail>;

/// One argument as the Java object Flink passes.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Null,
    /// Value and the Java type's width in bits (8 Byte, 16 Short, 32 Integer, 64 Long).
    Int(i64, u32),
    /// Value; `true` for a `Float`.
    Float(f64, bool),
    /// Unscaled value and scale (`BigDecimal`).
    Decimal(i128, i8),
    Str(String),
    Bool(bool),
}

impl Arg {
    fn java_class(&self) -> &'static str {
        match self {
            Arg::Null => "null",
            Arg::Int(_, 8) => "java.lang.Byte",
            Arg::Int(_, 16) => "java.lang.Short",
            Arg::Int(_, 32) => "java.lang.Integer",
            Arg::Int(..) => "java.lang.Long",
            Arg::Float(_, true) => "java.lang.Float",
            Arg::Float(..) => "java.lang.Double",
            Arg::Decimal(..) => "java.math.BigDecimal",
            Arg::Str(_) => "java.lang.String",
            Arg::Bool(_) => "java.lang.Boolean",
        }
    }

    /// `String.valueOf(arg)`.
    fn text(&self) -> String {
        match self {
            Arg::Null => "null".into(),
            Arg::Int(v, _) => v.to_string(),
            Arg::Float(v, true) => scaleph_connectors::text::java_float(*v as f32),
            Arg::Float(v, false) => scaleph_connectors::text::java_double(*v),
            Arg::Decimal(u, s) => {
                scaleph_connectors::text::big_decimal_text(&u.to_string(), i32::from(*s))
            }
            Arg::Str(s) => s.clone(),
            Arg::Bool(b) => b.to_string(),
        }
    }
}

/// A parsed `%…` specifier.
#[derive(Debug, Default, Clone)]
struct Spec {
    index: Option<usize>,
    left: bool,
    alt: bool,
    plus: bool,
    space: bool,
    zero: bool,
    group: bool,
    paren: bool,
    width: Option<usize>,
    precision: Option<usize>,
    conv: char,
}

fn bad(spec: &Spec, a: &Arg) -> Fail {
    Fail::Java(format!(
        "java.util.IllegalFormatConversionException: {} != {}",
        spec.conv,
        a.java_class()
    ))
}

/// Pads `s` to the width (spaces; left-justified with `-`).
fn pad(spec: &Spec, s: String) -> String {
    let n = s.chars().count();
    match spec.width {
        Some(w) if w > n && spec.left => format!("{s}{}", " ".repeat(w - n)),
        Some(w) if w > n => format!("{}{s}", " ".repeat(w - n)),
        _ => s,
    }
}

/// Groups the integer digits by thousands.
fn grouped(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed number's text from its magnitude (`int` and optional `.frac`/exponent part):
/// sign flags, grouping, zero padding, parentheses.
fn number(spec: &Spec, negative: bool, int: &str, rest: &str) -> String {
    let int = if spec.group {
        grouped(int)
    } else {
        int.to_string()
    };
    let (pre, post) = match (negative, spec.paren, spec.plus, spec.space) {
        (true, true, ..) => ("(", ")"),
        (true, false, ..) => ("-", ""),
        (false, _, true, _) => ("+", ""),
        (false, _, _, true) => (" ", ""),
        _ => ("", ""),
    };
    let body = format!("{int}{rest}");
    if spec.zero {
        let w = spec.width.unwrap_or(0);
        let len = pre.len() + body.chars().count() + post.len();
        let zeros = "0".repeat(w.saturating_sub(len));
        return format!("{pre}{zeros}{body}{post}");
    }
    pad(spec, format!("{pre}{body}{post}"))
}

/// The decimal digits and exponent of `|v|` (`v = 0.d1d2… × 10^exp`): a double's shortest
/// text (as Java's `Double.toString` digits), a decimal's exact digits.
fn digits_of(a: &Arg) -> Option<(bool, Vec<u8>, i32)> {
    let (neg, text) = match a {
        Arg::Float(v, f32) => {
            if !v.is_finite() {
                return None;
            }
            let t = if *f32 {
                format!("{:e}", *v as f32)
            } else {
                format!("{v:e}")
            };
            (v.is_sign_negative() && *v != 0.0, t)
        }
        Arg::Decimal(u, s) => {
            let d = u.unsigned_abs().to_string();
            let exp = d.len() as i32 - 1 - i32::from(*s);
            let mantissa = if d.len() > 1 {
                format!("{}.{}", &d[..1], &d[1..])
            } else {
                d.clone()
            };
            (*u < 0, format!("{mantissa}e{exp}"))
        }
        _ => return None,
    };
    let t = text.trim_start_matches('-');
    let (m, e) = t.split_once('e')?;
    let e: i32 = e.parse().ok()?;
    let digits: Vec<u8> = m
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    Some((neg, digits, e + 1))
}

/// Rounds `digits` (value `0.d… × 10^exp`) half-up to `keep` digits; returns the digits and
/// the exponent (which grows on a carry out).
fn round_half_up(mut digits: Vec<u8>, mut exp: i32, keep: i64) -> (Vec<u8>, i32) {
    if keep < 0 {
        return (vec![0], exp);
    }
    let keep = keep as usize;
    if digits.len() > keep {
        let up = digits[keep] >= 5;
        digits.truncate(keep);
        if up {
            let mut i = keep;
            loop {
                if i == 0 {
                    digits.insert(0, 1);
                    exp += 1;
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
    }
    (digits, exp)
}

fn fixed(spec: &Spec, a: &Arg) -> Out<String> {
    let Some((neg, digits, exp)) = digits_of(a) else {
        return nonfinite(spec, a);
    };
    let prec = spec.precision.unwrap_or(6);
    let (d, exp) = round_half_up(digits, exp, i64::from(exp) + prec as i64);
    let at = |i: i64| -> char {
        if i >= 0 && (i as usize) < d.len() {
            (b'0' + d[i as usize]) as char
        } else {
            '0'
        }
    };
    let int: String = if exp <= 0 {
        "0".into()
    } else {
        (0..i64::from(exp)).map(at).collect()
    };
    let frac: String = (0..prec as i64).map(|k| at(i64::from(exp) + k)).collect();
    let rest = if prec > 0 || spec.alt {
        format!(".{frac}")
    } else {
        String::new()
    };
    let zero = d.iter().all(|x| *x == 0);
    Ok(number(spec, neg && !zero, &int, &rest))
}

fn scientific(spec: &Spec, a: &Arg) -> Out<String> {
    let Some((neg, digits, exp)) = digits_of(a) else {
        return nonfinite(spec, a);
    };
    let prec = spec.precision.unwrap_or(6);
    let zero = digits.iter().all(|x| *x == 0);
    let (d, exp) = round_half_up(digits, exp, prec as i64 + 1);
    let at = |i: usize| (b'0' + d.get(i).copied().unwrap_or(0)) as char;
    let e = if zero { 0 } else { exp - 1 };
    let frac: String = (1..=prec).map(at).collect();
    let mut rest = if prec > 0 || spec.alt {
        format!(".{frac}")
    } else {
        String::new()
    };
    rest.push_str(&format!(
        "{}{}{:02}",
        if spec.conv == 'E' { 'E' } else { 'e' },
        if e < 0 { '-' } else { '+' },
        e.abs()
    ));
    Ok(number(spec, neg && !zero, &at(0).to_string(), &rest))
}

/// `%g`: `precision` significant digits (default 6, 0 counts as 1), fixed when the rounded
/// value is in [10^-4, 10^precision), else scientific; trailing zeros kept (Java's rule).
fn general(spec: &Spec, a: &Arg) -> Out<String> {
    let Some((_, digits, exp)) = digits_of(a) else {
        return nonfinite(spec, a);
    };
    let p = spec.precision.unwrap_or(6).max(1);
    let zero = digits.iter().all(|x| *x == 0);
    let (_, rounded) = round_half_up(digits, exp, p as i64);
    let e = if zero { 0 } else { rounded - 1 };
    let s = if (-4..p as i32).contains(&e) {
        let sub = Spec {
            precision: Some((p as i32 - 1 - e) as usize),
            conv: 'f',
            ..spec.clone()
        };
        fixed(&sub, a)?
    } else {
        let sub = Spec {
            precision: Some(p - 1),
            conv: 'e',
            ..spec.clone()
        };
        scientific(&sub, a)?
    };
    Ok(s)
}

fn nonfinite(spec: &Spec, a: &Arg) -> Out<String> {
    match a {
        Arg::Float(v, _) if v.is_nan() => Ok(pad(spec, "NaN".into())),
        Arg::Float(v, _) if *v > 0.0 => Ok(number(spec, false, "Infinity", "")),
        Arg::Float(..) => Ok(number(spec, true, "Infinity", "")),
        _ => Err(bad(spec, a)),
    }
}

fn integral(spec: &Spec, a: &Arg) -> Out<String> {
    let Arg::Int(v, bits) = a else {
        return Err(bad(spec, a));
    };
    Ok(match spec.conv {
        'd' => number(spec, *v < 0, &v.unsigned_abs().to_string(), ""),
        conv => {
            // Two's complement within the Java type's width.
            let mask = if *bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            let u = (*v as u64) & mask;
            let (mut s, prefix) = match conv {
                'o' => (format!("{u:o}"), "0"),
                'x' => (format!("{u:x}"), "0x"),
                _ => (format!("{u:X}"), "0X"),
            };
            if spec.alt {
                s = format!("{prefix}{s}");
            }
            if spec.zero {
                let w = spec.width.unwrap_or(0);
                s = format!("{}{s}", "0".repeat(w.saturating_sub(s.len())));
            }
            pad(spec, s)
        }
    })
}

/// Formats `fmt` with `args` as Java's `String.format(Locale.US, fmt, args)`.
fn format(fmt: &str, args: &[Arg]) -> Out<String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next_arg = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        let mut num = String::new();
        // `n$` index, flags, width, precision, conversion.
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() && !(num.is_empty() && d == '0') {
                num.push(d);
                chars.next();
            } else {
                break;
            }
        }
        if chars.peek() == Some(&'$') && !num.is_empty() {
            chars.next();
            spec.index = num.parse::<usize>().ok().filter(|i| *i >= 1);
            num.clear();
        }
        if num.is_empty() {
            while let Some(&f) = chars.peek() {
                match f {
                    '-' => spec.left = true,
                    '#' => spec.alt = true,
                    '+' => spec.plus = true,
                    ' ' => spec.space = true,
                    '0' => spec.zero = true,
                    ',' => spec.group = true,
                    '(' => spec.paren = true,
                    _ => break,
                }
                chars.next();
            }
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() {
                    num.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
        }
        spec.width = num.parse().ok();
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() {
                    p.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            spec.precision = Some(p.parse().map_err(|_| {
                Fail::Java(format!(
                    "java.util.IllegalFormatPrecisionException in '{fmt}'"
                ))
            })?);
        }
        let Some(conv) = chars.next() else {
            return Err(Fail::Java(
                "java.util.UnknownFormatConversionException: Conversion = '%'".into(),
            ));
        };
        spec.conv = conv;
        if (spec.left || spec.zero) && spec.width.is_none() && !matches!(conv, '%' | 'n') {
            return Err(Fail::Java(format!(
                "java.util.MissingFormatWidthException: %{}{conv}",
                if spec.left { "-" } else { "0" }
            )));
        }
        match conv {
            '%' => {
                out.push_str(&pad(&spec, "%".into()));
                continue;
            }
            'n' => {
                out.push('\n');
                continue;
            }
            _ => {}
        }
        let i = match spec.index {
            Some(i) => i - 1,
            None => {
                next_arg += 1;
                next_arg - 1
            }
        };
        let Some(a) = args.get(i) else {
            return Err(Fail::Java(format!(
                "java.util.MissingFormatArgumentException: Format specifier '%{conv}'"
            )));
        };
        let upper = conv.is_ascii_uppercase();
        let text = match (conv.to_ascii_lowercase(), a) {
            ('s', _) | ('h', Arg::Null) => {
                let mut s = a.text();
                if let Some(p) = spec.precision {
                    s = s.chars().take(p).collect();
                }
                pad(&spec, s)
            }
            ('b', _) => {
                let b = match a {
                    Arg::Null => false,
                    Arg::Bool(b) => *b,
                    _ => true,
                };
                let mut s = b.to_string();
                if let Some(p) = spec.precision {
                    s = s.chars().take(p).collect();
                }
                pad(&spec, s)
            }
            (_, Arg::Null) => pad(&spec, "null".into()),
            ('c', Arg::Int(v, bits)) if *bits <= 32 => {
                let c = u32::try_from(*v)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| {
                        Fail::Java(format!(
                            "java.util.IllegalFormatCodePointException: Code point = {v:#x}"
                        ))
                    })?;
                pad(&spec, c.to_string())
            }
            ('d' | 'o' | 'x', _) => integral(&spec, a)?,
            // DECIMAL arrives as Flink's DecimalData, not a BigDecimal: only %s applies.
            ('f', Arg::Float(..)) => fixed(&spec, a)?,
            ('e', Arg::Float(..)) => scientific(&spec, a)?,
            ('g', Arg::Float(..)) => general(&spec, a)?,
            ('a' | 't', _) => return Err(Fail::Unsupported(conv)),
            ('c' | 'f' | 'e' | 'g', _) => return Err(bad(&spec, a)),
            _ => {
                return Err(Fail::Java(format!(
                    "java.util.UnknownFormatConversionException: Conversion = '{conv}'"
                )))
            }
        };
        if upper {
            out.push_str(&text.to_uppercase());
        } else {
            out.push_str(&text);
        }
    }
    Ok(out)
}

/// `flink_printf(format, args…)`, from `PRINTF`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct PrintfUdf {
    signature: Signature,
}

impl PrintfUdf {
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for PrintfUdf {
    fn name(&self) -> &str {
        "flink_printf"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        if t.is_empty() {
            return plan_err!("PRINTF: wrong number of arguments (0)");
        }
        let mut v = vec![DataType::Utf8];
        for d in &t[1..] {
            v.push(match d {
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::Float32
                | DataType::Float64
                | DataType::Decimal128(..)
                | DataType::Boolean
                | DataType::Null => d.clone(),
                DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                    DataType::Int64
                }
                _ => DataType::Utf8,
            });
        }
        Ok(v)
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = super::arg_arrays(&args)?;
        let fmt = arrays[0].as_string::<i32>();
        let mut b = StringBuilder::with_capacity(n, n * 16);
        let mut row_args = Vec::with_capacity(arrays.len() - 1);
        for r in 0..n {
            if fmt.is_null(r) {
                b.append_null();
                continue;
            }
            row_args.clear();
            for a in &arrays[1..] {
                row_args.push(arg(a, r));
            }
            match format(fmt.value(r), &row_args) {
                Ok(s) => b.append_value(s),
                // Flink's PRINTF answers NULL when String.format throws.
                Err(Fail::Java(_)) => b.append_null(),
                Err(Fail::Unsupported(c)) => {
                    return Err(DataFusionError::Execution(format!(
                        "PRINTF: the conversion %{c} is not supported on the embedded engine — run it on a Flink cluster"
                    )))
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(b.finish()) as ArrayRef))
    }
}

fn arg(a: &ArrayRef, r: usize) -> Arg {
    if a.is_null(r) {
        return Arg::Null;
    }
    match a.data_type() {
        DataType::Int8 => Arg::Int(i64::from(a.as_primitive::<Int8Type>().value(r)), 8),
        DataType::Int16 => Arg::Int(i64::from(a.as_primitive::<Int16Type>().value(r)), 16),
        DataType::Int32 => Arg::Int(i64::from(a.as_primitive::<Int32Type>().value(r)), 32),
        DataType::Int64 => Arg::Int(a.as_primitive::<Int64Type>().value(r), 64),
        DataType::Float32 => Arg::Float(f64::from(a.as_primitive::<Float32Type>().value(r)), true),
        DataType::Float64 => Arg::Float(a.as_primitive::<Float64Type>().value(r), false),
        DataType::Decimal128(_, s) => Arg::Decimal(a.as_primitive::<Decimal128Type>().value(r), *s),
        DataType::Boolean => Arg::Bool(a.as_boolean().value(r)),
        _ => Arg::Str(a.as_string::<i32>().value(r).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::{format, Arg};

    fn f(fmt: &str, args: &[Arg]) -> String {
        format(fmt, args).unwrap()
    }

    #[test]
    fn as_java_string_format() {
        // Expected values: Java 17's String.format(Locale.US, …).
        assert_eq!(f("%s-%d", &[Arg::Str("a".into()), Arg::Int(5, 32)]), "a-5");
        assert_eq!(f("%.1f", &[Arg::Float(0.25, false)]), "0.3");
        assert_eq!(f("%.2f", &[Arg::Float(1.005, false)]), "1.01");
        assert_eq!(
            f(
                "%8.3f|%-8.2f|",
                &[Arg::Float(1.23456, false), Arg::Float(-2.5, false)]
            ),
            "   1.235|-2.50   |"
        );
        assert_eq!(
            f(
                "%,d %+d %(d %05d",
                &[
                    Arg::Int(1234567, 32),
                    Arg::Int(5, 32),
                    Arg::Int(-7, 32),
                    Arg::Int(-42, 32)
                ]
            ),
            "1,234,567 +5 (7) -0042"
        );
        assert_eq!(
            f(
                "%x %X %#x %o",
                &[
                    Arg::Int(-1, 32),
                    Arg::Int(255, 64),
                    Arg::Int(255, 32),
                    Arg::Int(8, 32)
                ]
            ),
            "ffffffff FF 0xff 10"
        );
        assert_eq!(f("%x", &[Arg::Int(-1, 64)]), "ffffffffffffffff");
        assert_eq!(
            f(
                "%e|%.2E",
                &[Arg::Float(12345.678, false), Arg::Float(0.000123, false)]
            ),
            "1.234568e+04|1.23E-04"
        );
        assert_eq!(
            f(
                "%s %s %b %b",
                &[
                    Arg::Null,
                    Arg::Float(1.0, false),
                    Arg::Null,
                    Arg::Str("x".into())
                ]
            ),
            "null 1.0 false true"
        );
        assert_eq!(
            f(
                "%2$s %1$s %%%n",
                &[Arg::Str("a".into()), Arg::Str("b".into())]
            ),
            "b a %\n"
        );
        assert!(
            format("%.2f", &[Arg::Decimal(12345, 3)]).is_err(),
            "DecimalData: NULL"
        );
        assert_eq!(f("%s", &[Arg::Decimal(12345, 3)]), "12.345");
        assert_eq!(
            f(
                "%g|%.3g|%g",
                &[
                    Arg::Float(1.5, false),
                    Arg::Float(0.0001234, false),
                    Arg::Float(1.5e10, false)
                ]
            ),
            "1.50000|0.000123|1.50000e+10"
        );
        assert_eq!(
            f(
                "%10.3s|%S",
                &[Arg::Str("abcdef".into()), Arg::Str("up".into())]
            ),
            "       abc|UP"
        );
        assert_eq!(f("%c", &[Arg::Int(65, 32)]), "A");
        assert_eq!(
            f("%.0f %f", &[Arg::Float(2.5, false), Arg::Float(0.0, false)]),
            "3 0.000000"
        );
        assert!(
            matches!(format("%d", &[Arg::Str("x".into())]), Err(super::Fail::Java(m)) if m.contains("d != java.lang.String"))
        );
        assert!(format("%s %s", &[Arg::Str("x".into())]).is_err());
    }
}

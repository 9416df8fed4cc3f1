//! Flink string, hash and JSON functions that DataFusion lacks or evaluates differently:
//! `REGEXP_EXTRACT`, `HEX`, `BIN`, `SHA1`, `SHA2`, `JSON_VALUE`, `JSON_QUERY`, `JSON_EXISTS`,
//! `JSON_STRING` (written as [`super::json`] writes values).
//!
//! Semantics follow Flink 2.x (`SqlFunctionUtils`, `SqlJsonUtils`): NULL in, NULL out; regular
//! expressions use Java's syntax where Rust's `regex` has the same meaning (look-around and
//! back-references are refused at run time); JSON paths are SQL/JSON paths in lax mode (`$`,
//! `.key`, `."key"`, `['key']`, `[n]`), and a path that does not apply gives NULL (`JSON_VALUE`,
//! `JSON_QUERY`) or FALSE (`JSON_EXISTS`), like Flink's default `NULL ON EMPTY/ERROR`.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use serde_json::Value as Json;
use sha1::Digest;
use std::sync::Arc;

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CompatFn {
    /// `REGEXP_EXTRACT(s, re [, group])` → STRING.
    RegexpExtract,
    /// `HEX(integer | string)` → STRING, upper case.
    Hex,
    /// `BIN(integer)` → STRING.
    Bin,
    /// `SHA1(s)` → hex STRING.
    Sha1,
    /// `SHA2(s, bits)` → hex STRING (224, 256, 384, 512; NULL otherwise).
    Sha2,
    /// `JSON_VALUE(json, path)` → STRING.
    JsonValue,
    /// `JSON_QUERY(json, path)` → STRING (JSON text of an object or array).
    JsonQuery,
    /// `JSON_EXISTS(json, path)` → BOOLEAN.
    JsonExists,
    /// `JSON_STRING(value)` → STRING.
    JsonString,
    /// `flink_cast_string(v)`, from `CAST(v AS STRING)`: DOUBLE/FLOAT as Java writes them,
    /// BOOLEAN as `TRUE`/`FALSE`, the rest as Arrow's cast.
    CastString,
    /// `flink_encode(s, charset)`, from `ENCODE`: the string's bytes in a Java charset
    /// (`UTF-8`, `US-ASCII`, `ISO-8859-1`, `UTF-16BE`, `UTF-16LE`, `UTF-16` with a big-endian
    /// byte order mark); characters the charset lacks become `?` as Java encodes them.
    Encode,
    /// `flink_decode(bytes, charset)`, from `DECODE`: the bytes read in the charset; malformed
    /// input becomes U+FFFD as Java decodes it.
    Decode,
    /// `flink_avg(sum, count)`, from `AVG(x)`: integers → the sum's integer type, truncated
    /// toward zero; `DECIMAL(p, s)` → `DECIMAL(38, max(6, s))` rounded half-up; floats →
    /// DOUBLE. NULL when the count is 0. (Flink's `AvgAggFunction` result types.)
    Avg,
}

/// One of [`CompatFn`] as a DataFusion UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CompatUdf {
    kind: CompatFn,
    signature: Signature,
}

impl CompatUdf {
    pub(crate) fn new(kind: CompatFn) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for CompatUdf {
    fn name(&self) -> &str {
        match self.kind {
            CompatFn::RegexpExtract => "regexp_extract",
            CompatFn::Hex => "hex",
            CompatFn::Bin => "bin",
            CompatFn::Sha1 => "sha1",
            CompatFn::Sha2 => "sha2",
            CompatFn::JsonValue => "json_value",
            CompatFn::JsonQuery => "json_query",
            CompatFn::JsonExists => "json_exists",
            CompatFn::JsonString => "json_string",
            CompatFn::CastString => "flink_cast_string",
            CompatFn::Encode => "flink_encode",
            CompatFn::Decode => "flink_decode",
            CompatFn::Avg => "flink_avg",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        use CompatFn::*;
        let name = self.name().to_uppercase();
        let s = DataType::Utf8;
        let arity_ok = match self.kind {
            RegexpExtract => (2..=3).contains(&t.len()),
            Hex | Bin | Sha1 | JsonString | CastString => t.len() == 1,
            Sha2 | JsonValue | JsonQuery | JsonExists | Avg | Encode | Decode => t.len() == 2,
        };
        if !arity_ok {
            return plan_err!("{name}: wrong number of arguments ({})", t.len());
        }
        Ok(match self.kind {
            RegexpExtract => {
                let mut v = vec![s.clone(), s];
                if t.len() == 3 {
                    v.push(DataType::Int64);
                }
                v
            }
            Hex if t[0].is_integer() => vec![DataType::Int64],
            Hex | Sha1 => vec![s],
            Bin => vec![DataType::Int64],
            Sha2 => vec![s, DataType::Int64],
            JsonValue | JsonQuery | JsonExists => vec![s.clone(), s],
            JsonString => {
                super::json::check_convertible(&t[0])?;
                t.to_vec()
            }
            CastString => t.to_vec(),
            Encode => vec![s.clone(), s],
            Decode => vec![DataType::Binary, s],
            Avg => vec![
                match &t[0] {
                    d @ (DataType::Decimal128(..) | DataType::Null) => d.clone(),
                    d if d.is_integer() => DataType::Int64,
                    _ => DataType::Float64,
                },
                DataType::Int64,
            ],
        })
    }

    fn return_type(&self, t: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            CompatFn::JsonExists => DataType::Boolean,
            CompatFn::Encode => DataType::Binary,
            CompatFn::Avg => match &t[0] {
                DataType::Decimal128(_, s) => DataType::Decimal128(38, (*s).max(6)),
                DataType::Int64 => DataType::Int64,
                // A NULL sum (decorrelation evaluates the expression over no rows).
                DataType::Null => DataType::Null,
                _ => DataType::Float64,
            },
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = super::arg_arrays(&args)?;
        let out: ArrayRef = match self.kind {
            CompatFn::RegexpExtract => regexp_extract(&arrays, n)?,
            CompatFn::Encode => {
                let v = text(&arrays[0])?;
                let v = v.as_string::<i32>();
                let cs = text(&arrays[1])?;
                let cs = cs.as_string::<i32>();
                let mut b = datafusion::arrow::array::BinaryBuilder::new();
                for r in 0..n {
                    if v.is_null(r) || cs.is_null(r) {
                        b.append_null();
                    } else {
                        b.append_value(Charset::named(cs.value(r))?.encode(v.value(r)));
                    }
                }
                Arc::new(b.finish())
            }
            CompatFn::Decode => {
                let v = cast(&arrays[0], &DataType::Binary)?;
                let v = v.as_binary::<i32>();
                let cs = text(&arrays[1])?;
                let cs = cs.as_string::<i32>();
                let mut out = Vec::with_capacity(n);
                for r in 0..n {
                    out.push(if v.is_null(r) || cs.is_null(r) {
                        None
                    } else {
                        Some(Charset::named(cs.value(r))?.decode(v.value(r)))
                    });
                }
                strings(n, |r| out[r].clone())
            }
            CompatFn::Hex if arrays[0].data_type().is_integer() => {
                let v = arrays[0].as_primitive::<Int64Type>();
                strings(n, |r| (!v.is_null(r)).then(|| format!("{:X}", v.value(r))))
            }
            CompatFn::Hex => {
                let v = text(&arrays[0])?;
                let v = v.as_string::<i32>();
                strings(n, |r| {
                    (!v.is_null(r)).then(|| {
                        v.value(r)
                            .bytes()
                            .map(|b| format!("{b:02X}"))
                            .collect::<String>()
                    })
                })
            }
            CompatFn::Bin => {
                let v = arrays[0].as_primitive::<Int64Type>();
                strings(n, |r| (!v.is_null(r)).then(|| format!("{:b}", v.value(r))))
            }
            CompatFn::Sha1 => {
                let v = text(&arrays[0])?;
                let v = v.as_string::<i32>();
                strings(n, |r| {
                    (!v.is_null(r)).then(|| hex_lower(&sha1::Sha1::digest(v.value(r).as_bytes())))
                })
            }
            CompatFn::Sha2 => {
                let v = text(&arrays[0])?;
                let v = v.as_string::<i32>();
                let bits = arrays[1].as_primitive::<Int64Type>();
                strings(n, |r| {
                    if v.is_null(r) || bits.is_null(r) {
                        return None;
                    }
                    let b = v.value(r).as_bytes();
                    Some(match bits.value(r) {
                        224 => hex_lower(&sha2::Sha224::digest(b)),
                        256 => hex_lower(&sha2::Sha256::digest(b)),
                        384 => hex_lower(&sha2::Sha384::digest(b)),
                        512 => hex_lower(&sha2::Sha512::digest(b)),
                        _ => return None,
                    })
                })
            }
            CompatFn::Avg => avg(&arrays[0], &arrays[1])?,
            CompatFn::CastString => match arrays[0].data_type() {
                // Strings, numbers and dates: Arrow's cast is Flink's text and faster.
                t if t.is_integer()
                    || t.is_null()
                    || matches!(
                        t,
                        DataType::Utf8
                            | DataType::LargeUtf8
                            | DataType::Utf8View
                            | DataType::Decimal128(..)
                            | DataType::Date32
                    ) =>
                {
                    cast(&arrays[0], &DataType::Utf8)?
                }
                // BYTES: the bytes read as UTF-8, invalid sequences as U+FFFD (Java's decoder).
                DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
                | DataType::FixedSizeBinary(_) => {
                    let b = cast(&arrays[0], &DataType::LargeBinary)?;
                    let b = b.as_binary::<i64>();
                    strings(n, |r| {
                        (!b.is_null(r)).then(|| String::from_utf8_lossy(b.value(r)).into_owned())
                    })
                }
                // TIMESTAMP_LTZ: its wall clock in the session time zone, as Flink casts it.
                DataType::Timestamp(unit, Some(_)) => {
                    let tz = super::temporal::session_tz(&args);
                    let local = cast(
                        &arrays[0],
                        &DataType::Timestamp(*unit, Some(tz.name().into())),
                    )?;
                    scaleph_connectors::text::cast_text(&local).map_err(|e| {
                        datafusion::common::DataFusionError::Execution(format!(
                            "CAST AS STRING: {e}"
                        ))
                    })?
                }
                _ => scaleph_connectors::text::cast_text(&arrays[0]).map_err(|e| {
                    datafusion::common::DataFusionError::Execution(format!("CAST AS STRING: {e}"))
                })?,
            },
            CompatFn::JsonValue | CompatFn::JsonQuery | CompatFn::JsonExists => {
                json_path_fn(self.kind, &arrays, n)?
            }
            CompatFn::JsonString => {
                let a = &arrays[0];
                let mut b = StringBuilder::with_capacity(n, n * 8);
                for r in 0..n {
                    if a.is_null(r) {
                        b.append_null();
                    } else {
                        let mut t = String::new();
                        super::json::write_value(&mut t, a, r, false)?;
                        b.append_value(t);
                    }
                }
                Arc::new(b.finish())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// `sum / count` with Flink's AVG result type (see [`CompatFn::Avg`]).
fn avg(sum: &ArrayRef, count: &ArrayRef) -> Result<ArrayRef> {
    use datafusion::arrow::array::{Decimal128Builder, Float64Builder, Int64Builder};
    use datafusion::arrow::datatypes::Decimal128Type;
    let n = sum.len();
    let count = count.as_primitive::<Int64Type>();
    let valid = |r: usize| !sum.is_null(r) && !count.is_null(r) && count.value(r) != 0;
    Ok(match sum.data_type() {
        DataType::Null => Arc::new(datafusion::arrow::array::NullArray::new(n)),
        DataType::Int64 => {
            let s = sum.as_primitive::<Int64Type>();
            let mut b = Int64Builder::with_capacity(n);
            for r in 0..n {
                b.append_option(valid(r).then(|| s.value(r) / count.value(r)));
            }
            Arc::new(b.finish())
        }
        DataType::Decimal128(_, scale) => {
            let s = sum.as_primitive::<Decimal128Type>();
            let out_scale = (*scale).max(6);
            let shift = 10i128.pow(u32::try_from(out_scale - *scale).unwrap_or(0));
            let mut b = Decimal128Builder::with_capacity(n);
            for r in 0..n {
                if !valid(r) {
                    b.append_null();
                    continue;
                }
                // sum·10^(out−s) / count, rounded half away from zero (Java's HALF_UP).
                let (num, den) = (s.value(r).checked_mul(shift), i128::from(count.value(r)));
                let Some(num) = num else {
                    return exec_err!("AVG: DECIMAL overflow");
                };
                let q = num / den;
                let rem = num % den;
                let q = if 2 * rem.abs() >= den.abs() {
                    q + if (num < 0) != (den < 0) { -1 } else { 1 }
                } else {
                    q
                };
                b.append_value(q);
            }
            Arc::new(b.finish().with_precision_and_scale(38, out_scale)?)
        }
        _ => {
            let s = cast(sum, &DataType::Float64)?;
            let s = s.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
            let mut b = Float64Builder::with_capacity(n);
            for r in 0..n {
                b.append_option(valid(r).then(|| s.value(r) / count.value(r) as f64));
            }
            Arc::new(b.finish())
        }
    })
}

fn text(a: &ArrayRef) -> Result<ArrayRef> {
    if a.data_type() == &DataType::Utf8 {
        Ok(a.clone())
    } else {
        Ok(cast(a, &DataType::Utf8)?)
    }
}

fn strings(n: usize, f: impl Fn(usize) -> Option<String>) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(n, n * 8);
    for r in 0..n {
        b.append_option(f(r));
    }
    Arc::new(b.finish())
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Flink's `REGEXP_EXTRACT`: the `group`-th group (default 0: the whole match) of the first
/// match; NULL when
/// there is no match, the group did not take part, or the group index is out of range.
fn regexp_extract(arrays: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    let s = arrays[0].as_string::<i32>();
    let re = arrays[1].as_string::<i32>();
    let group = arrays.get(2).map(|g| g.as_primitive::<Int64Type>());
    let mut cache: Option<(String, regex::Regex)> = None;
    let mut b = StringBuilder::with_capacity(n, n * 8);
    for r in 0..n {
        if s.is_null(r) || re.is_null(r) || group.is_some_and(|g| g.is_null(r)) {
            b.append_null();
            continue;
        }
        let pattern = re.value(r);
        if cache.as_ref().is_none_or(|(p, _)| p != pattern) {
            match regex::Regex::new(pattern) {
                Ok(c) => cache = Some((pattern.to_string(), c)),
                Err(e) => {
                    return exec_err!("REGEXP_EXTRACT: pattern '{pattern}' is not supported: {e}")
                }
            }
        }
        let (_, compiled) = cache.as_ref().expect("compiled above");
        let idx = group.map_or(0, |g| g.value(r));
        let value = usize::try_from(idx)
            .ok()
            .filter(|i| *i < compiled.captures_len())
            .and_then(|i| compiled.captures(s.value(r))?.get(i))
            .map(|m| m.as_str());
        b.append_option(value);
    }
    Ok(Arc::new(b.finish()))
}

/// One step of a JSON path.
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// Parses `$`, `.key`, `."key"`, `['key']`, `[n]` (lax mode; a leading `lax` is accepted).
pub(crate) fn parse_path(p: &str) -> Option<Vec<Step>> {
    let p = p.trim();
    let p = p.strip_prefix("lax").map(str::trim_start).unwrap_or(p);
    let mut rest = p.strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            if let Some(r) = r.strip_prefix('"') {
                let end = r.find('"')?;
                steps.push(Step::Key(r[..end].to_string()));
                rest = &r[end + 1..];
            } else {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return None;
                }
                steps.push(Step::Key(r[..end].to_string()));
                rest = &r[end..];
            }
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            if let Some(k) = inner
                .strip_prefix('\'')
                .and_then(|k| k.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|k| k.strip_suffix('"')))
            {
                steps.push(Step::Key(k.to_string()));
            } else {
                steps.push(Step::Index(inner.parse().ok()?));
            }
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

pub(crate) fn walk<'a>(mut v: &'a Json, steps: &[Step]) -> Option<&'a Json> {
    for s in steps {
        v = match (s, v) {
            (Step::Key(k), Json::Object(m)) => m.get(k)?,
            (Step::Index(i), Json::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

fn json_path_fn(kind: CompatFn, arrays: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    let doc = arrays[0].as_string::<i32>();
    let path = arrays[1].as_string::<i32>();
    let mut values = StringBuilder::with_capacity(n, n * 8);
    let mut exists = BooleanBuilder::with_capacity(n);
    for r in 0..n {
        if doc.is_null(r) || path.is_null(r) {
            values.append_null();
            exists.append_null();
            continue;
        }
        let Some(steps) = parse_path(path.value(r)) else {
            return exec_err!(
                "{}: unsupported JSON path '{}' (supported: $, .key, .\"key\", ['key'], [n])",
                match kind {
                    CompatFn::JsonValue => "JSON_VALUE",
                    CompatFn::JsonQuery => "JSON_QUERY",
                    _ => "JSON_EXISTS",
                },
                path.value(r)
            );
        };
        let parsed: Option<Json> = serde_json::from_str(doc.value(r)).ok();
        let found = parsed.as_ref().and_then(|j| walk(j, &steps));
        match kind {
            CompatFn::JsonValue => values.append_option(match found {
                Some(Json::String(s)) => Some(s.clone()),
                Some(Json::Number(x)) => Some(x.to_string()),
                Some(Json::Bool(b)) => Some(b.to_string()),
                _ => None,
            }),
            CompatFn::JsonQuery => values.append_option(match found {
                Some(v @ (Json::Object(_) | Json::Array(_))) => Some(v.to_string()),
                _ => None,
            }),
            // A JSON null does not count as existing (Flink).
            _ => exists.append_value(found.is_some_and(|v| !v.is_null())),
        }
    }
    Ok(if kind == CompatFn::JsonExists {
        Arc::new(exists.finish())
    } else {
        Arc::new(values.finish())
    })
}

/// The Java charsets `ENCODE` / `DECODE` take (names and aliases as `Charset.forName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Utf8,
    Ascii,
    Latin1,
    Utf16Be,
    Utf16Le,
    /// UTF-16 with a byte order mark: written big-endian with `FE FF`, read by its mark.
    Utf16,
}

impl Charset {
    fn named(name: &str) -> Result<Self> {
        Ok(match name.trim().to_ascii_uppercase().as_str() {
            "UTF-8" | "UTF8" => Charset::Utf8,
            "US-ASCII" | "ASCII" => Charset::Ascii,
            "ISO-8859-1" | "ISO8859-1" | "ISO8859_1" | "LATIN1" => Charset::Latin1,
            "UTF-16BE" | "UTF_16BE" => Charset::Utf16Be,
            "UTF-16LE" | "UTF_16LE" => Charset::Utf16Le,
            "UTF-16" | "UTF_16" | "UTF16" => Charset::Utf16,
            _ => return exec_err!("java.nio.charset.UnsupportedCharsetException: {name}"),
        })
    }

    fn encode(self, s: &str) -> Vec<u8> {
        let narrow = |max: u32| {
            s.chars()
                .map(|c| if (c as u32) <= max { c as u8 } else { b'?' })
                .collect::<Vec<u8>>()
        };
        match self {
            Charset::Utf8 => s.as_bytes().to_vec(),
            Charset::Ascii => narrow(0x7f),
            Charset::Latin1 => narrow(0xff),
            Charset::Utf16Be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            Charset::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Charset::Utf16 => [0xfe, 0xff]
                .into_iter()
                .chain(s.encode_utf16().flat_map(u16::to_be_bytes))
                .collect(),
        }
    }

    fn decode(self, b: &[u8]) -> String {
        let utf16 = |b: &[u8], big: bool| {
            let units = b.chunks(2).map(|c| match c {
                [x, y] if big => Ok(u16::from_be_bytes([*x, *y])),
                [x, y] => Ok(u16::from_le_bytes([*x, *y])),
                _ => Err(()),
            });
            let mut s = String::new();
            let whole: Vec<u16> = units.clone().filter_map(|u| u.ok()).collect();
            s.extend(char::decode_utf16(whole).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
            if units.into_iter().any(|u| u.is_err()) {
                s.push(char::REPLACEMENT_CHARACTER);
            }
            s
        };
        match self {
            Charset::Utf8 => String::from_utf8_lossy(b).into_owned(),
            Charset::Ascii => b
                .iter()
                .map(|x| {
                    if *x < 0x80 {
                        *x as char
                    } else {
                        char::REPLACEMENT_CHARACTER
                    }
                })
                .collect(),
            Charset::Latin1 => b.iter().map(|x| *x as char).collect(),
            Charset::Utf16Be => utf16(b, true),
            Charset::Utf16Le => utf16(b, false),
            Charset::Utf16 => match b {
                [0xfe, 0xff, rest @ ..] => utf16(rest, true),
                [0xff, 0xfe, rest @ ..] => utf16(rest, false),
                _ => utf16(b, true),
            },
        }
    }
}

#[cfg(test)]
mod charset_tests {
    use super::Charset;

    #[test]
    fn java_charsets_round_trip_and_replace_as_java() {
        let s = "héllo €";
        for cs in ["UTF-8", "UTF-16BE", "UTF-16LE", "UTF-16"] {
            let c = Charset::named(cs).unwrap();
            assert_eq!(c.decode(&c.encode(s)), s, "{cs}");
        }
        assert_eq!(
            Charset::named("utf-16").unwrap().encode("A"),
            [0xfe, 0xff, 0, 0x41]
        );
        assert_eq!(Charset::named("US-ASCII").unwrap().encode("hé€"), b"h??");
        assert_eq!(
            Charset::named("ISO-8859-1").unwrap().encode("hé€"),
            [b'h', 0xe9, b'?']
        );
        assert_eq!(
            Charset::named("UTF-8").unwrap().decode(&[0x61, 0xff]),
            "a\u{fffd}"
        );
        assert!(Charset::named("EBCDIC").is_err());
    }
}

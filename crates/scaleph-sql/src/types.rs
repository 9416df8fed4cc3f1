//! Flink logical types and their Arrow mapping.
//!
//! Source: Flink 2.x documentation "Data Types" (type names, defaults such as `DECIMAL` =
//! `DECIMAL(10, 0)`, `TIMESTAMP` = `TIMESTAMP(6)`).

use crate::cursor::Cursor;
use crate::error::SqlError;
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;
use std::fmt;
use std::sync::Arc;

/// A Flink SQL data type. `nullable` lives on the column, not here, except for nested fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlinkType {
    /// `CHAR(n)`.
    Char(u32),
    /// `VARCHAR(n)`; `STRING` is `VARCHAR(2147483647)`.
    Varchar(u32),
    /// `BOOLEAN`.
    Boolean,
    /// `BINARY(n)`.
    Binary(u32),
    /// `VARBINARY(n)`; `BYTES` is `VARBINARY(2147483647)`.
    Varbinary(u32),
    /// `DECIMAL(p, s)`, 1 ≤ p ≤ 38, 0 ≤ s ≤ p.
    Decimal(u8, i8),
    /// `TINYINT` (8-bit).
    TinyInt,
    /// `SMALLINT` (16-bit).
    SmallInt,
    /// `INT` / `INTEGER` (32-bit).
    Int,
    /// `BIGINT` (64-bit).
    BigInt,
    /// `FLOAT` (32-bit IEEE 754).
    Float,
    /// `DOUBLE` (64-bit IEEE 754).
    Double,
    /// `DATE`.
    Date,
    /// `TIME(p)`, p = fractional second digits 0..=9.
    Time(u8),
    /// `TIMESTAMP(p)` without time zone.
    Timestamp(u8),
    /// `TIMESTAMP_LTZ(p)` / `TIMESTAMP(p) WITH LOCAL TIME ZONE`.
    TimestampLtz(u8),
    /// `ARRAY<t>` (element nullable unless `NOT NULL`).
    Array(Box<FlinkType>, bool),
    /// `MAP<k, v>`; the bool is value nullability.
    Map(Box<FlinkType>, Box<FlinkType>, bool),
    /// `ROW<name type, …>`: (name, type, nullable).
    Row(Vec<(String, FlinkType, bool)>),
}

const MAX_LEN: u32 = i32::MAX as u32;

/// How deeply `ARRAY`, `MAP` and `ROW` types may nest. Every pass over a type (parsing, Arrow
/// conversion, display, drop) recurses once per level, so an unbounded depth would let a script
/// overflow the stack.
pub(crate) const MAX_TYPE_DEPTH: usize = 64;

impl FlinkType {
    /// Parses a type at the cursor, including `ARRAY<…>`, `MAP<…>`, `ROW<…>`/`ROW(…)`, nested at
    /// most [`MAX_TYPE_DEPTH`] levels.
    pub(crate) fn parse(c: &mut Cursor<'_>) -> Result<FlinkType, SqlError> {
        Self::parse_at(c, 1)
    }

    /// [`Self::parse`] for a type at nesting level `depth` (1 = a column's type).
    fn parse_at(c: &mut Cursor<'_>, depth: usize) -> Result<FlinkType, SqlError> {
        let pos = c.pos();
        if depth > MAX_TYPE_DEPTH {
            return Err(SqlError::unsupported(
                pos,
                format!("data types nested more than {MAX_TYPE_DEPTH} levels deep"),
            ));
        }
        let name = match c.peek() {
            Some(Token::Word(w)) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            _ => return Err(c.unexpected("a data type")),
        };
        c.next();
        let ty = match name.as_str() {
            "STRING" => FlinkType::Varchar(MAX_LEN),
            "VARCHAR" => FlinkType::Varchar(opt_len(c, 1)?),
            "CHAR" | "CHARACTER" => FlinkType::Char(opt_len(c, 1)?),
            "BOOLEAN" | "BOOL" => FlinkType::Boolean,
            "BYTES" => FlinkType::Varbinary(MAX_LEN),
            "BINARY" => FlinkType::Binary(opt_len(c, 1)?),
            "VARBINARY" => FlinkType::Varbinary(opt_len(c, 1)?),
            "TINYINT" => FlinkType::TinyInt,
            "SMALLINT" => FlinkType::SmallInt,
            "INT" | "INTEGER" => FlinkType::Int,
            "BIGINT" => FlinkType::BigInt,
            "FLOAT" => FlinkType::Float,
            "DOUBLE" => {
                c.eat_word("PRECISION");
                FlinkType::Double
            }
            "DECIMAL" | "DEC" | "NUMERIC" => {
                let (mut p, mut s) = (10u64, 0u64);
                if c.eat(&Token::LParen) {
                    p = c.number("decimal precision")?;
                    if c.eat(&Token::Comma) {
                        s = c.number("decimal scale")?;
                    }
                    c.expect(&Token::RParen)?;
                }
                if !(1..=38).contains(&p) || s > p {
                    return Err(SqlError::invalid(
                        pos,
                        format!(
                            "DECIMAL({p}, {s}): precision must be 1..38 and scale 0..precision"
                        ),
                    ));
                }
                FlinkType::Decimal(p as u8, s as i8)
            }
            "DATE" => FlinkType::Date,
            "TIME" => {
                let p = opt_precision(c, 0)?;
                if c.eat_kw(Keyword::WITHOUT) {
                    c.expect_kw(Keyword::TIME)?;
                    c.expect_kw(Keyword::ZONE)?;
                }
                FlinkType::Time(p)
            }
            "TIMESTAMP" => {
                let p = opt_precision(c, 6)?;
                if c.eat_kw(Keyword::WITH) {
                    c.expect_kw(Keyword::LOCAL)?;
                    c.expect_kw(Keyword::TIME)?;
                    c.expect_kw(Keyword::ZONE)?;
                    FlinkType::TimestampLtz(p)
                } else {
                    if c.eat_kw(Keyword::WITHOUT) {
                        c.expect_kw(Keyword::TIME)?;
                        c.expect_kw(Keyword::ZONE)?;
                    }
                    FlinkType::Timestamp(p)
                }
            }
            "TIMESTAMP_LTZ" => FlinkType::TimestampLtz(opt_precision(c, 6)?),
            "ARRAY" => {
                c.expect(&Token::Lt)?;
                let (t, nullable) = parse_nested(c, depth)?;
                c.expect(&Token::Gt)?;
                FlinkType::Array(Box::new(t), nullable)
            }
            "MAP" => {
                c.expect(&Token::Lt)?;
                let (k, _) = parse_nested(c, depth)?;
                c.expect(&Token::Comma)?;
                let (v, nullable) = parse_nested(c, depth)?;
                c.expect(&Token::Gt)?;
                FlinkType::Map(Box::new(k), Box::new(v), nullable)
            }
            "ROW" => {
                let close = if c.eat(&Token::Lt) {
                    Token::Gt
                } else {
                    c.expect(&Token::LParen)?;
                    Token::RParen
                };
                let mut fields = Vec::new();
                loop {
                    let name = c.ident("a ROW field name")?;
                    let (t, nullable) = parse_nested(c, depth)?;
                    if c.eat_kw(Keyword::COMMENT) {
                        c.string("a comment string")?;
                    }
                    fields.push((name, t, nullable));
                    if !c.eat(&Token::Comma) {
                        break;
                    }
                }
                c.expect(&close)?;
                FlinkType::Row(fields)
            }
            "MULTISET" | "RAW" | "INTERVAL" | "VARIANT" | "STRUCTURED" => {
                return Err(SqlError::unsupported(pos, format!("data type {name}")))
            }
            other => {
                return Err(SqlError::invalid(pos, format!("unknown data type {other}")));
            }
        };
        // Flink's postfix array syntax: `INT ARRAY`.
        if c.eat_kw(Keyword::ARRAY) {
            return Ok(FlinkType::Array(Box::new(ty), true));
        }
        Ok(ty)
    }

    /// The Arrow type the embedded engine uses for this Flink type.
    ///
    /// Strings map to `Utf8`, `TIMESTAMP(p)` to `Timestamp(ms|µs|ns, None)` by precision
    /// (p ≤ 3, ≤ 6, else), `TIMESTAMP_LTZ` to the same with time zone `UTC`, `TIME(p)` to
    /// `Time32(ms)` / `Time64(µs|ns)`, `ROW` to `Struct`, `MAP` to Arrow `Map`.
    pub fn to_arrow(&self) -> DataType {
        match self {
            FlinkType::Char(_) | FlinkType::Varchar(_) => DataType::Utf8,
            FlinkType::Boolean => DataType::Boolean,
            FlinkType::Binary(_) | FlinkType::Varbinary(_) => DataType::Binary,
            FlinkType::Decimal(p, s) => DataType::Decimal128(*p, *s),
            FlinkType::TinyInt => DataType::Int8,
            FlinkType::SmallInt => DataType::Int16,
            FlinkType::Int => DataType::Int32,
            FlinkType::BigInt => DataType::Int64,
            FlinkType::Float => DataType::Float32,
            FlinkType::Double => DataType::Float64,
            FlinkType::Date => DataType::Date32,
            FlinkType::Time(p) => match p {
                0..=3 => DataType::Time32(TimeUnit::Millisecond),
                4..=6 => DataType::Time64(TimeUnit::Microsecond),
                _ => DataType::Time64(TimeUnit::Nanosecond),
            },
            FlinkType::Timestamp(p) => DataType::Timestamp(ts_unit(*p), None),
            FlinkType::TimestampLtz(p) => DataType::Timestamp(ts_unit(*p), Some(Arc::from("UTC"))),
            FlinkType::Array(t, n) => {
                DataType::List(Arc::new(Field::new("element", t.to_arrow(), *n)))
            }
            FlinkType::Map(k, v, n) => {
                let entries = Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", k.to_arrow(), false),
                        Field::new("value", v.to_arrow(), *n),
                    ])),
                    false,
                );
                DataType::Map(Arc::new(entries), false)
            }
            FlinkType::Row(fields) => DataType::Struct(Fields::from(
                fields
                    .iter()
                    .map(|(n, t, nullable)| Field::new(n, t.to_arrow(), *nullable))
                    .collect::<Vec<_>>(),
            )),
        }
    }

    /// The Flink type that best describes an Arrow type (used to show result schemas in Flink's
    /// vocabulary). `None` for Arrow types with no Flink counterpart.
    pub fn from_arrow(dt: &DataType) -> Option<FlinkType> {
        Some(match dt {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                FlinkType::Varchar(MAX_LEN)
            }
            DataType::Boolean => FlinkType::Boolean,
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => FlinkType::Varbinary(MAX_LEN),
            DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
                FlinkType::Decimal((*p).min(38), *s)
            }
            DataType::Int8 | DataType::UInt8 => FlinkType::TinyInt,
            DataType::Int16 | DataType::UInt16 => FlinkType::SmallInt,
            DataType::Int32 | DataType::UInt32 => FlinkType::Int,
            DataType::Int64 | DataType::UInt64 => FlinkType::BigInt,
            DataType::Float16 | DataType::Float32 => FlinkType::Float,
            DataType::Float64 => FlinkType::Double,
            DataType::Date32 | DataType::Date64 => FlinkType::Date,
            DataType::Time32(u) | DataType::Time64(u) => FlinkType::Time(unit_precision(u)),
            DataType::Timestamp(u, None) => FlinkType::Timestamp(unit_precision(u)),
            DataType::Timestamp(u, Some(_)) => FlinkType::TimestampLtz(unit_precision(u)),
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                FlinkType::Array(Box::new(Self::from_arrow(f.data_type())?), f.is_nullable())
            }
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => FlinkType::Map(
                    Box::new(Self::from_arrow(kv[0].data_type())?),
                    Box::new(Self::from_arrow(kv[1].data_type())?),
                    kv[1].is_nullable(),
                ),
                _ => return None,
            },
            DataType::Struct(fields) => FlinkType::Row(
                fields
                    .iter()
                    .map(|f| {
                        Some((
                            f.name().clone(),
                            Self::from_arrow(f.data_type())?,
                            f.is_nullable(),
                        ))
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
            _ => return None,
        })
    }
}

fn ts_unit(p: u8) -> TimeUnit {
    match p {
        0..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

fn unit_precision(u: &TimeUnit) -> u8 {
    match u {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

fn opt_len(c: &mut Cursor<'_>, default: u32) -> Result<u32, SqlError> {
    if c.eat(&Token::LParen) {
        let pos = c.pos();
        let n = c.number("a length")?;
        c.expect(&Token::RParen)?;
        if n == 0 || n > MAX_LEN as u64 {
            return Err(SqlError::invalid(
                pos,
                format!("length {n} out of range 1..2147483647"),
            ));
        }
        Ok(n as u32)
    } else {
        Ok(default)
    }
}

fn opt_precision(c: &mut Cursor<'_>, default: u8) -> Result<u8, SqlError> {
    if c.eat(&Token::LParen) {
        let pos = c.pos();
        let n = c.number("a precision")?;
        c.expect(&Token::RParen)?;
        if n > 9 {
            return Err(SqlError::invalid(
                pos,
                format!("precision {n} out of range 0..9"),
            ));
        }
        Ok(n as u8)
    } else {
        Ok(default)
    }
}

/// A type nested in one at level `depth`, with optional `NOT NULL` / `NULL`; returns (type,
/// nullable).
fn parse_nested(c: &mut Cursor<'_>, depth: usize) -> Result<(FlinkType, bool), SqlError> {
    let t = FlinkType::parse_at(c, depth + 1)?;
    if c.eat_kw(Keyword::NOT) {
        c.expect_kw(Keyword::NULL)?;
        return Ok((t, false));
    }
    c.eat_kw(Keyword::NULL);
    Ok((t, true))
}

impl fmt::Display for FlinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlinkType::Char(n) => write!(f, "CHAR({n})"),
            FlinkType::Varchar(n) if *n == MAX_LEN => write!(f, "STRING"),
            FlinkType::Varchar(n) => write!(f, "VARCHAR({n})"),
            FlinkType::Boolean => write!(f, "BOOLEAN"),
            FlinkType::Binary(n) => write!(f, "BINARY({n})"),
            FlinkType::Varbinary(n) if *n == MAX_LEN => write!(f, "BYTES"),
            FlinkType::Varbinary(n) => write!(f, "VARBINARY({n})"),
            FlinkType::Decimal(p, s) => write!(f, "DECIMAL({p}, {s})"),
            FlinkType::TinyInt => write!(f, "TINYINT"),
            FlinkType::SmallInt => write!(f, "SMALLINT"),
            FlinkType::Int => write!(f, "INT"),
            FlinkType::BigInt => write!(f, "BIGINT"),
            FlinkType::Float => write!(f, "FLOAT"),
            FlinkType::Double => write!(f, "DOUBLE"),
            FlinkType::Date => write!(f, "DATE"),
            FlinkType::Time(p) => write!(f, "TIME({p})"),
            FlinkType::Timestamp(p) => write!(f, "TIMESTAMP({p})"),
            FlinkType::TimestampLtz(p) => write!(f, "TIMESTAMP_LTZ({p})"),
            FlinkType::Array(t, n) => write!(f, "ARRAY<{t}{}>", nn(*n)),
            FlinkType::Map(k, v, n) => write!(f, "MAP<{k}, {v}{}>", nn(*n)),
            FlinkType::Row(fields) => {
                write!(f, "ROW<")?;
                for (i, (name, t, n)) in fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "`{name}` {t}{}", nn(*n))?;
                }
                write!(f, ">")
            }
        }
    }
}

fn nn(nullable: bool) -> &'static str {
    if nullable {
        ""
    } else {
        " NOT NULL"
    }
}

#[cfg(test)]
mod tests {
    use super::{FlinkType, MAX_TYPE_DEPTH};
    use crate::{parse_script, Pos, SqlErrorKind, StatementKind};

    /// A table with one column of `levels` nested `ARRAY<…>` around `INT`.
    fn nested_arrays(levels: usize) -> String {
        format!(
            "CREATE TABLE t (a {}INT{}) WITH ('connector' = 'blackhole');",
            "ARRAY<".repeat(levels),
            ">".repeat(levels)
        )
    }

    #[test]
    fn nesting_is_bounded() {
        let stmts = parse_script(&nested_arrays(MAX_TYPE_DEPTH - 1)).unwrap();
        let StatementKind::CreateTable(t) = &stmts[0].kind else {
            panic!("a table")
        };
        let mut ty = &t.columns[0].data_type;
        let mut levels = 1;
        while let FlinkType::Array(inner, _) = ty {
            ty = inner;
            levels += 1;
        }
        assert_eq!((levels, ty), (MAX_TYPE_DEPTH, &FlinkType::Int));

        let e = parse_script(&nested_arrays(MAX_TYPE_DEPTH)).unwrap_err();
        assert_eq!(e.kind, SqlErrorKind::Unsupported);
        assert_eq!(
            e.to_string(),
            "1:403: unsupported: data types nested more than 64 levels deep"
        );

        // Deep enough to overflow the stack before the limit; refused like any other.
        let e = parse_script(&nested_arrays(200_000)).unwrap_err();
        assert_eq!(e.pos, Pos::new(1, 403));
        let e = parse_script(&format!(
            "CREATE TABLE t (a {}INT) WITH ('connector' = 'blackhole');",
            "ROW<a MAP<INT, ".repeat(100_000)
        ))
        .unwrap_err();
        assert_eq!(e.kind, SqlErrorKind::Unsupported, "{e}");
    }
}

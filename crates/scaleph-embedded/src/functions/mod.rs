//! Flink built-in functions that DataFusion names, types or evaluates differently.
//!
//! Rewritten in the AST before planning:
//!
//! | Flink | becomes | why |
//! |---|---|---|
//! | `IF(c, a, b)` | `CASE WHEN c THEN a ELSE b END` | lazy branches |
//! | `CONCAT(a, b, …)` | `a \|\| b \|\| …` | Flink returns NULL if any argument is NULL |
//! | `IFNULL(a, b)` | `COALESCE(a, b)` | |
//! | `REGEXP_REPLACE(s, re, r)` | `regexp_replace(s, re, r, 'g')` | Flink replaces every match |
//! | `LOCATE(needle, s)` | `strpos(s, needle)` | argument order |
//! | `MOD(a, b)` | `a % b` | |
//! | `LISTAGG(x [, sep])` | `string_agg(x, sep)` (default `,`) | |
//! | `YEAR/QUARTER/MONTH/WEEK/DAYOFYEAR/DAYOFMONTH/DAYOFWEEK/HOUR/MINUTE/SECOND(t)` | `CAST(date_part(…) AS BIGINT)` | Flink returns BIGINT |
//! | `REGEXP(s, re)` | `regexp_like(s, re)` | |
//! | `SPLIT(s, d)` | `string_to_array(s, d)` | |
//! | `TRUNCATE(x [, d])` | `trunc(x [, d])` | |
//! | `ARRAY_CONTAINS`, `ARRAY_JOIN`, `ARRAY_REMOVE`, `MAP_FROM_ARRAYS` | `array_has`, `array_to_string`, `array_remove_all`, `map` | Flink removes every match |
//! | `SHA224/256/384/512(s)` | `sha2(s, bits)` | hex strings, as Flink |
//! | `CARDINALITY(x)` | `CAST(cardinality(x) AS INT)` | Flink returns INT |
//! | `GREATEST/LEAST(a, …)` | `CASE WHEN a IS NULL OR … THEN NULL ELSE greatest(…) END` | NULL if any argument is NULL |
//! | `ELT(n, e1, …)` | `CASE WHEN n = 1 THEN e1 … END` | |
//! | `TIMESTAMPDIFF/TIMESTAMPADD(UNIT, …)` | `timestampdiff/timestampadd('UNIT', …)` | [`temporal`] |
//! | `FLOOR/CEIL(t TO UNIT)` | `flink_floor/flink_ceil('UNIT', t)` | [`temporal`] |
//! | `COLLECT(x)` | `flink_multiset(array_agg(x))` | [`collection`]: Flink's `HashMap` order |
//! | `CURRENT_TIMESTAMP`, `NOW()` | `arrow_cast(now(), 'Timestamp(Millisecond, Some("UTC"))')` | `TIMESTAMP_LTZ(3)` |
//! | `LOCALTIMESTAMP`, `LOCALTIME`, `CURRENT_TIME`, `CURRENT_DATE` | `flink_to_local(now())` (cast) | wall clock of `table.local-time-zone` |
//! | `x BETWEEN SYMMETRIC a AND b` | `(x >= a AND x <= b) OR (x >= b AND x <= a)` | Calcite's expansion |
//!
//! UDFs in [`temporal`] (`CONVERT_TZ`, `TO_TIMESTAMP_LTZ`, …) and [`compat`] (`REGEXP_EXTRACT`,
//! `HEX`, `BIN`, `SHA1`, `SHA2`, `JSON_VALUE`, `JSON_QUERY`, `JSON_EXISTS`, `JSON_STRING`,
//! `JSON_ARRAY`). The full coverage of Flink's function list, each checked by running it, is
//! `docs/functions.md` (from `tests/functions/coverage.tsv`).
//!
//! Registered as UDFs with Flink's semantics and Java `SimpleDateFormat` patterns:
//! `DATE_FORMAT(ts, fmt)`, `TO_TIMESTAMP(s [, fmt])` → `TIMESTAMP(3)`, `TO_DATE(s [, fmt])`,
//! `FROM_UNIXTIME(secs [, fmt])` → STRING (UTC), `UNIX_TIMESTAMP([s [, fmt]])` → BIGINT,
//! `SPLIT_INDEX(s, sep, i)` (0-based, NULL when out of range).
//!
//! UDFs in [`json`] (`JSON_OBJECT`, `JSON_ARRAY`, `JSON_OBJECTAGG`, `JSON_ARRAYAGG`,
//! `IS [NOT] JSON`, `JSON_VALUE … RETURNING`), [`collection`] (`MAP[…]`, `STR_TO_MAP`,
//! `MAP_UNION`, `ELEMENT`, `REGEXP_EXTRACT_ALL`) and [`url`] (`URL_ENCODE`, `URL_DECODE`,
//! `PARSE_URL`); [`syntax`] turns the Flink syntax the parser does not read (`MAP[…]`,
//! `KEY … VALUE …`, `IS JSON`) into calls, keeping positions.
//!
//! Rejected with `unsupported: … — run it on a Flink cluster` (not implemented here yet, or they
//! need streaming): `TYPEOF`, `GROUP_ID`, `GROUPING_ID` over expressions, SQL/JSON clauses `… ON ERROR/EMPTY`, `WRAPPER` and `RETURNING` types other
//! than INT/DOUBLE/BOOLEAN/STRING, legacy group windows `TUMBLE(ts, …)`,
//! `HOP`, `CUMULATE`, `SESSION` and their `_START`/`_END`/`_ROWTIME` helpers (the window TVFs
//! run; `PROCTIME()` is implemented in `temporal`), `MATCH_RECOGNIZE`,
//! `FOR SYSTEM_TIME AS OF`, `LATERAL TABLE`.
//!
//! Known differences that remain (not silent, documented): `AVG(DECIMAL(p, s))` has Flink's
//! result type `DECIMAL(38, max(6, s))` but DataFusion truncates the last digit where Flink
//! rounds half-up (at most 1e-6 apart); integer literals are `BIGINT` (Flink: `INT`), so
//! `int_col * 2` is `BIGINT` — same values, wider type.
//!
//! Same name and meaning in both, used as is: `CHAR_LENGTH`, `CHARACTER_LENGTH`,
//! `SUBSTRING(s FROM i FOR n)`, `SUBSTR`, `CONCAT_WS`, `UPPER`, `LOWER`, `TRIM`, `LTRIM`,
//! `RTRIM`, `REPLACE`, `POSITION`, `INITCAP`, `LPAD`, `RPAD`, `REPEAT`, `REVERSE`, `LEFT`,
//! `RIGHT`, `MD5`, `COALESCE`, `NULLIF`, `CAST`, `TRY_CAST`, `EXTRACT`,
//! `ABS`, `CEIL`, `FLOOR`, `ROUND`, `TRUNCATE`, `POWER`, `SQRT`,
//! `LN`, `LOG10`, `EXP`, aggregates (`COUNT`, `SUM`, `AVG`, `MIN`, `MAX`, `STDDEV_*`,
//! `VAR_*`, `FIRST_VALUE`, `LAST_VALUE`) and window functions (`ROW_NUMBER`, `RANK`, …).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::ast::visit_expressions_mut;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CastKind, CeilFloorKind, DataType as SqlType, DateTimeField, Expr, Function,
    FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, Statement, Value, ValueWithSpan,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use scaleph_sql::{Pos, QueryText, SqlError};
use std::ops::ControlFlow;
use std::sync::Arc;

mod collection;
mod compat;
mod decimal;
mod json;
mod printf;
mod random;
mod syntax;
mod temporal;
mod url;

use collection::{CollectionFn, CollectionUdf};
use compat::{CompatFn, CompatUdf};
use json::{JsonFn, JsonUdf, Returning};
pub(crate) use syntax::flink_syntax;
use temporal::{Proctime, TimeFn, TimeUdf};
use url::{UrlFn, UrlUdf};

/// Rejects Flink constructs the embedded engine does not run, by scanning the query's tokens.
/// `streaming`: the query runs in streaming mode (where `CURRENT_WATERMARK` exists).
pub(crate) fn check_unsupported(q: &QueryText, streaming: bool) -> Result<(), SqlError> {
    let text = q.padded();
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, &text).tokenize_with_location() else {
        return Ok(()); // the parser reports it
    };
    let words: Vec<(String, Pos, bool)> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .map(|t| {
            let pos = Pos::new(t.span.start.line as u32, t.span.start.column as u32);
            match &t.token {
                Token::Word(w) if w.quote_style.is_none() => {
                    (w.value.to_ascii_uppercase(), pos, true)
                }
                other => (other.to_string(), pos, false),
            }
        })
        .collect();
    for (i, (w, pos, is_word)) in words.iter().enumerate() {
        if !is_word {
            continue;
        }
        let next = words.get(i + 1).map(|x| x.0.as_str());
        let streaming_fn = matches!(
            w.as_str(),
            "TUMBLE_START"
                | "TUMBLE_END"
                | "TUMBLE_ROWTIME"
                | "HOP_START"
                | "HOP_END"
                | "HOP_ROWTIME"
                | "SESSION_START"
                | "SESSION_END"
                | "SESSION_ROWTIME"
        );
        if w == "CURRENT_WATERMARK" && next == Some("(") && !streaming {
            // As on Flink: batch mode has no rowtime attributes.
            return Err(SqlError::invalid(
                *pos,
                "The argument of CURRENT_WATERMARK() must be a rowtime attribute; rowtime attributes exist in streaming mode (`execution.runtime-mode` = 'streaming')",
            ));
        }
        // `TUMBLE(`, `HOP(`, `CUMULATE(` outside `TABLE(…)`: Flink's legacy group windows.
        let legacy_window = matches!(w.as_str(), "TUMBLE" | "HOP" | "CUMULATE" | "SESSION")
            && next == Some("(")
            && !(i >= 2 && words[i - 1].0 == "(" && words[i - 2].0 == "TABLE");
        if legacy_window {
            return Err(crate::support::refuse(
                *pos,
                format!(
                    "{w}() as a group window (use the window table-valued function TABLE({w}(…)))"
                ),
            ));
        }
        if streaming_fn && next == Some("(") {
            return Err(crate::support::refuse(
                *pos,
                format!(
                    "{w}() (streaming windows and time attributes come with the streaming engine)"
                ),
            ));
        }
        // GROUP_ID: `support::group_ids` decides with the query's grouping sets at hand.
        if w == "TYPEOF" && next == Some("(") {
            return Err(crate::support::refuse(*pos, format!("function {w}")));
        }
        // GROUPING_ID over column names runs (DataFusion's `grouping`); over expressions it
        // would not plan.
        if w == "GROUPING_ID" && next == Some("(") {
            let plain = words[i + 2..]
                .iter()
                .take_while(|x| x.0 != ")")
                .all(|(t, _, word)| *word || t == "," || t == ".");
            if !plain {
                return Err(crate::support::refuse(
                    *pos,
                    "GROUPING_ID over expressions (group by a named column)",
                ));
            }
        }
        let construct = match (w.as_str(), next) {
            // Batch: `set_ops::SetOpsAll` gives them SQL's counts; streaming has no such operator.
            ("INTERSECT" | "EXCEPT", Some("ALL")) if streaming => Some(format!("{w} ALL")),
            // A one-character escape after a literal pattern is rewritten to `\\` (see
            // `like_escapes`); other forms are not.
            ("ESCAPE", Some(lit))
                if lit != "'\\'"
                    && !(lit.len() == 3
                        && lit.starts_with('\'')
                        && i > 0
                        && words[i - 1].0.starts_with('\'')) =>
            {
                Some(format!("LIKE … ESCAPE {lit}"))
            }
            _ => None,
        };
        if let Some(c) = construct {
            return Err(crate::support::refuse(*pos, c));
        }
        // Clauses of the SQL/JSON functions beyond their defaults.
        // `RETURNING` of JSON_VALUE: the types Flink 2.3 returns (it fails at run time on
        // others, e.g. BIGINT or DECIMAL).
        let returning_ok = w == "RETURNING"
            && matches!(
                next,
                Some("INT" | "INTEGER" | "DOUBLE" | "BOOLEAN" | "STRING" | "VARCHAR")
            );
        let json_clause = (w == "RETURNING" && !returning_ok)
            || w == "WRAPPER"
            || (w == "ON" && matches!(next, Some("ERROR" | "EMPTY")))
            || (w == "ON"
                && next == Some("NULL")
                && !matches!(
                    i.checked_sub(1).map(|p| words[p].0.as_str()),
                    Some("NULL" | "ABSENT")
                ));
        if json_clause {
            return Err(crate::support::refuse(
                *pos,
                format!("SQL/JSON clause {w} {}", next.unwrap_or_default()),
            ));
        }
        if w == "MATCH_RECOGNIZE" {
            return Err(crate::support::refuse(*pos, "MATCH_RECOGNIZE"));
        }
        if w == "FOR" && next == Some("SYSTEM_TIME") {
            return Err(crate::support::refuse(
                *pos,
                "FOR SYSTEM_TIME AS OF (temporal join)",
            ));
        }
        if w == "LATERAL" && next == Some("TABLE") {
            return Err(crate::support::refuse(
                *pos,
                "LATERAL TABLE (table function)",
            ));
        }
    }
    Ok(())
}

fn fname(f: &Function) -> Option<String> {
    match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] if id.quote_style.is_none() => {
            Some(id.value.to_ascii_uppercase())
        }
        _ => None,
    }
}

fn plain_args(f: &Function) -> Option<Vec<Expr>> {
    match &f.args {
        FunctionArguments::List(l) if l.clauses.is_empty() && l.duplicate_treatment.is_none() => l
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                _ => None,
            })
            .collect(),
        FunctionArguments::None => Some(vec![]),
        _ => None,
    }
}

/// [`renamed`] with the name quoted: DataFusion's function `name` (lower case), which this
/// rewrite does not match again.
fn renamed_final(f: &Function, name: &str, args: Vec<Expr>) -> Expr {
    let mut e = renamed(f, name, args);
    if let Expr::Function(g) = &mut e {
        g.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote(
            '"', name,
        ))]);
    }
    e
}

fn renamed(f: &Function, name: &str, args: Vec<Expr>) -> Expr {
    let mut g = f.clone();
    g.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]);
    if let FunctionArguments::List(l) = &mut g.args {
        l.args = args
            .into_iter()
            .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
            .collect();
    }
    Expr::Function(g)
}

/// The SQL-standard interval ranges Flink reads (`'Y-M' YEAR TO MONTH`, `'D H' DAY TO HOUR`,
/// `'D H:M' DAY TO MINUTE`, `'D H:M:S[.f]' DAY TO SECOND`, `'H:M' HOUR TO MINUTE`,
/// `'H:M:S[.f]' HOUR TO SECOND`, `'M:S[.f]' MINUTE TO SECOND`; a leading `-` negates the whole)
/// as `'<n> months'` or `'<n> milliseconds'` (Flink's day-time intervals are milliseconds).
/// `None` for other intervals, and for fields out of range (minutes ≥ 60, a leading field with
/// more digits than its precision …), which DataFusion then refuses.
fn interval_range(iv: &datafusion::sql::sqlparser::ast::Interval) -> Option<String> {
    use DateTimeField as F;
    let (Some(lead), Some(last)) = (&iv.leading_field, &iv.last_field) else {
        return None;
    };
    let Expr::Value(ValueWithSpan {
        value: Value::SingleQuotedString(text),
        ..
    }) = iv.value.as_ref()
    else {
        return None;
    };
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let sign = if neg { "-" } else { "" };
    let int = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    // Seconds with an optional fraction, as milliseconds (below 60 s).
    let secs = |s: &str| -> Option<i64> {
        let (w, f) = s.split_once('.').unwrap_or((s, ""));
        let w = int(w)?;
        if w >= 60 || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let ms: String = f.chars().chain(std::iter::repeat('0')).take(3).collect();
        Some(w * 1000 + ms.parse::<i64>().ok()?)
    };
    let below = |v: i64, max: i64| (v < max).then_some(v);
    // The leading field has at most its precision's digits (Flink: 2 by default, `DAY(3)`…),
    // which also keeps the millisecond total far from overflowing.
    let digits = iv.leading_precision.unwrap_or(2).min(9) as u32;
    let first = |s: &str| int(s).filter(|v| *v < 10i64.pow(digits));
    let ms = match (lead, last) {
        (F::Year, F::Month) => {
            let (y, m) = t.split_once('-')?;
            let months = first(y)? * 12 + below(int(m)?, 12)?;
            return Some(format!("{sign}{months} months"));
        }
        (F::Day, F::Hour) => {
            let (d, h) = t.split_once(' ')?;
            (first(d)? * 24 + below(int(h)?, 24)?) * 3_600_000
        }
        (F::Day, F::Minute) => {
            let (d, hm) = t.split_once(' ')?;
            let (h, m) = hm.split_once(':')?;
            ((first(d)? * 24 + below(int(h)?, 24)?) * 60 + below(int(m)?, 60)?) * 60_000
        }
        (F::Day, F::Second) => {
            let (d, hms) = t.split_once(' ')?;
            let mut p = hms.splitn(3, ':');
            let (h, m, s) = (p.next()?, p.next()?, p.next()?);
            ((first(d)? * 24 + below(int(h)?, 24)?) * 60 + below(int(m)?, 60)?) * 60_000 + secs(s)?
        }
        (F::Hour, F::Minute) => {
            let (h, m) = t.split_once(':')?;
            (first(h)? * 60 + below(int(m)?, 60)?) * 60_000
        }
        (F::Hour, F::Second) => {
            let mut p = t.splitn(3, ':');
            let (h, m, s) = (p.next()?, p.next()?, p.next()?);
            (first(h)? * 60 + below(int(m)?, 60)?) * 60_000 + secs(s)?
        }
        (F::Minute, F::Second) => {
            let (m, s) = t.split_once(':')?;
            first(m)? * 60_000 + secs(s)?
        }
        _ => return None,
    };
    Some(format!("{sign}{ms} milliseconds"))
}

/// The ordered bounds `(lo, hi)` of an `OVERLAPS` operand `(start, end | interval)`.
fn period(e: &Expr) -> Option<(Expr, Expr)> {
    let Expr::Tuple(items) = e else { return None };
    let [s, end] = items.as_slice() else {
        return None;
    };
    let end = match end {
        Expr::Interval(_) => call(
            "flink_time_add",
            vec![s.clone(), end.clone(), number_lit("1")],
        ),
        other => other.clone(),
    };
    let ordered = Expr::BinaryOp {
        left: Box::new(s.clone()),
        op: BinaryOperator::LtEq,
        right: Box::new(end.clone()),
    };
    Some((
        case_when(vec![(ordered.clone(), s.clone())], Some(end.clone())),
        case_when(vec![(ordered, end)], Some(s.clone())),
    ))
}

/// `flink_to_local(now())`: the query's start as the session zone's wall clock.
fn local_now() -> Expr {
    call("flink_to_local", vec![call("now", vec![])])
}

fn string_lit(s: &str) -> Expr {
    Expr::Value(ValueWithSpan::from(Value::SingleQuotedString(
        s.to_string(),
    )))
}

/// `e` wrapped in `CAST(… AS INT)` when it is an integer literal (optionally negated) that
/// fits an INT, as Flink types such literals.
fn int_literal_as_int(e: Expr) -> Expr {
    let (neg, inner) = match &e {
        Expr::UnaryOp {
            op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus,
            expr,
        } => (true, expr.as_ref()),
        other => (false, other),
    };
    let fits = match inner {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n
                .parse::<i64>()
                .ok()
                .map(|x| if neg { -x } else { x })
                .is_some_and(|x| i32::try_from(x).is_ok()),
            _ => false,
        },
        _ => false,
    };
    if !fits {
        return e;
    }
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(e),
        data_type: SqlType::Int(None),
        array: false,
        format: None,
    }
}

fn number_lit(n: &str) -> Expr {
    Expr::Value(ValueWithSpan::from(Value::Number(n.to_string(), false)))
}

/// `name(args…)`, a plain function call.
fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// `CASE WHEN c1 THEN r1 … [ELSE e] END`.
fn case_when(branches: Vec<(Expr, Expr)>, else_result: Option<Expr>) -> Expr {
    Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: None,
        conditions: branches
            .into_iter()
            .map(
                |(condition, result)| datafusion::sql::sqlparser::ast::CaseWhen {
                    condition,
                    result,
                },
            )
            .collect(),
        else_result: else_result.map(Box::new),
    }
}

fn nested(e: Expr) -> Expr {
    Expr::Nested(Box::new(e))
}

/// `a || b || …` over `args` (at least one) as a balanced tree: depth log2(n), not n, so that a
/// `CONCAT` of thousands of arguments does not become an expression deep enough to overflow the
/// planner's stack. `||` is associative and NULL in any argument gives NULL in any grouping.
fn concat_tree(mut args: Vec<Expr>) -> Expr {
    if args.len() == 1 {
        return args.pop().expect("one argument");
    }
    let right = args.split_off(args.len() / 2);
    Expr::BinaryOp {
        left: Box::new(concat_tree(args)),
        op: BinaryOperator::StringConcat,
        right: Box::new(concat_tree(right)),
    }
}

/// Arrow's name of a SQL type for `arrow_cast`, for the types an aggregate argument is commonly
/// cast to.
fn arrow_type_name(t: &SqlType) -> Option<String> {
    use datafusion::sql::sqlparser::ast::ExactNumberInfo;
    Some(match t {
        SqlType::Double(_) | SqlType::DoublePrecision | SqlType::Float8 => "Float64".into(),
        SqlType::Float(_) | SqlType::Real | SqlType::Float4 => "Float32".into(),
        SqlType::Int(_) | SqlType::Integer(_) => "Int32".into(),
        SqlType::BigInt(_) => "Int64".into(),
        SqlType::SmallInt(_) => "Int16".into(),
        SqlType::TinyInt(_) => "Int8".into(),
        SqlType::Decimal(ExactNumberInfo::PrecisionAndScale(p, s))
        | SqlType::Numeric(ExactNumberInfo::PrecisionAndScale(p, s)) => {
            format!("Decimal128({p}, {s})")
        }
        _ => return None,
    })
}

/// Arrow's name (for `arrow_cast`) of a Flink type DataFusion's SQL planner refuses:
/// `TIMESTAMP_LTZ(p)` → `Timestamp(ms|µs|ns, "UTC")` (as DDL columns of that type), binary
/// strings → `Binary`.
fn flink_only_type(t: &SqlType) -> Option<String> {
    match t {
        SqlType::Bytes(_) | SqlType::Binary(_) | SqlType::Varbinary(_) => Some("Binary".into()),
        SqlType::Custom(name, modifiers) => {
            let [ObjectNamePart::Identifier(id)] = name.0.as_slice() else {
                return None;
            };
            if !id.value.eq_ignore_ascii_case("TIMESTAMP_LTZ") {
                return None;
            }
            let p: u8 = match modifiers.as_slice() {
                [] => 6,
                [p] => p.parse().ok()?,
                _ => return None,
            };
            let unit = match p {
                0..=3 => "Millisecond",
                4..=6 => "Microsecond",
                _ => "Nanosecond",
            };
            Some(format!("Timestamp({unit}, Some(\"UTC\"))"))
        }
        _ => None,
    }
}

/// DataFusion names `agg(CAST(x AS T))` like `agg(x)`, so `SUM(x)` beside
/// `SUM(CAST(x AS DOUBLE))` is refused as a duplicate field. Casts directly inside aggregate
/// arguments become `arrow_cast(x, 'T')` (the same conversion, a distinct name).
fn distinct_cast_names(stmt: &mut Statement) {
    const AGGREGATES: [&str; 12] = [
        "SUM",
        "COUNT",
        "MIN",
        "MAX",
        "AVG",
        "STDDEV_POP",
        "STDDEV_SAMP",
        "STDDEV",
        "VAR_POP",
        "VAR_SAMP",
        "VARIANCE",
        "FIRST_VALUE",
    ];
    let _ = visit_expressions_mut(stmt, |e: &mut Expr| {
        let Expr::Function(f) = e else {
            return ControlFlow::<()>::Continue(());
        };
        if !fname(f).is_some_and(|n| AGGREGATES.contains(&n.as_str())) {
            return ControlFlow::Continue(());
        }
        if let FunctionArguments::List(l) = &mut f.args {
            for a in &mut l.args {
                if let FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Cast {
                    kind: CastKind::Cast,
                    expr,
                    data_type,
                    format: None,
                    ..
                })) = a
                {
                    if let Some(t) = arrow_type_name(data_type) {
                        let inner = (**expr).clone();
                        *a = FunctionArg::Unnamed(FunctionArgExpr::Expr(call(
                            "arrow_cast",
                            vec![inner, string_lit(&t)],
                        )));
                    }
                }
            }
        }
        ControlFlow::Continue(())
    });
}

/// Rewrites Flink functions in a parsed query, as listed in this module's docs.
pub(crate) fn rewrite(stmt: &mut Statement) {
    distinct_from_precedence(stmt);
    like_escapes(stmt);
    rewrite_functions(stmt);
    distinct_cast_names(stmt);
    double_literals(stmt);
    first_last_skip_nulls(stmt);
    similar_to(stmt);
    char_lengths(stmt);
}

/// `CAST(x AS VARCHAR(n))` keeps the first `n` characters and `CAST(x AS CHAR(n))` also pads
/// with spaces to `n`, as Flink's casts do (`CharVarCharTrimPadCastRule`); DataFusion ignores
/// the length.
fn char_lengths(stmt: &mut Statement) {
    use datafusion::sql::sqlparser::ast::CharacterLength;
    let _ = visit_expressions_mut(stmt, |e: &mut Expr| {
        let Expr::Cast {
            kind,
            expr,
            data_type,
            format: None,
            ..
        } = e
        else {
            return ControlFlow::<()>::Continue(());
        };
        let (len, pad) = match data_type {
            SqlType::Varchar(Some(CharacterLength::IntegerLength { length, .. }))
            | SqlType::CharVarying(Some(CharacterLength::IntegerLength { length, .. }))
            | SqlType::CharacterVarying(Some(CharacterLength::IntegerLength { length, .. })) => {
                (*length, false)
            }
            SqlType::Char(Some(CharacterLength::IntegerLength { length, .. }))
            | SqlType::Character(Some(CharacterLength::IntegerLength { length, .. })) => {
                (*length, true)
            }
            _ => return ControlFlow::Continue(()),
        };
        let text = Expr::Cast {
            kind: kind.clone(),
            expr: expr.clone(),
            data_type: SqlType::Varchar(None),
            array: false,
            format: None,
        };
        let n = number_lit(&len.to_string());
        *e = if pad {
            call("rpad", vec![text, n, string_lit(" ")])
        } else {
            call("left", vec![text, n])
        };
        ControlFlow::Continue(())
    });
}

/// `a IS [NOT] DISTINCT FROM b AND c` is `(a IS [NOT] DISTINCT FROM b) AND c`, as in Flink:
/// the parser reads the whole `b AND c` (or `b OR c`) as the right operand; this moves the
/// `AND`/`OR` chain back above the comparison (a parenthesised operand is left alone).
fn distinct_from_precedence(stmt: &mut Statement) {
    fn lift(e: Expr) -> Expr {
        let (a, b, negated) = match e {
            Expr::IsDistinctFrom(a, b) => (a, b, false),
            Expr::IsNotDistinctFrom(a, b) => (a, b, true),
            other => return other,
        };
        match *b {
            Expr::BinaryOp {
                left,
                op: op @ (BinaryOperator::And | BinaryOperator::Or),
                right,
            } => {
                let inner = if negated {
                    Expr::IsNotDistinctFrom(a, left)
                } else {
                    Expr::IsDistinctFrom(a, left)
                };
                Expr::BinaryOp {
                    left: Box::new(lift(inner)),
                    op,
                    right,
                }
            }
            b if negated => Expr::IsNotDistinctFrom(a, Box::new(b)),
            b => Expr::IsDistinctFrom(a, Box::new(b)),
        }
    }
    let _ = visit_expressions_mut(stmt, |e: &mut Expr| {
        if matches!(e, Expr::IsDistinctFrom(..) | Expr::IsNotDistinctFrom(..)) {
            let taken = std::mem::replace(e, Expr::Value(ValueWithSpan::from(Value::Null)));
            *e = lift(taken);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `x [NOT] SIMILAR TO 'pattern' [ESCAPE 'c']` with a literal pattern → `[NOT]
/// regexp_like(x, '^(?:…)$')`: the pattern translated as Calcite's `Like.sqlToRegexSimilar`
/// does for Flink — `%` any string, `_` any character, the escape character making the next
/// one literal, every other character as in a regular expression; the whole value must match.
/// (DataFusion's `SIMILAR TO` reads `%` and `_` as literal characters.)
fn similar_to(stmt: &mut Statement) {
    let _ = visit_expressions_mut(stmt, |e: &mut Expr| {
        let Expr::SimilarTo {
            negated,
            expr,
            pattern,
            escape_char,
        } = e
        else {
            return ControlFlow::<()>::Continue(());
        };
        let Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(p),
            ..
        }) = pattern.as_ref()
        else {
            return ControlFlow::Continue(());
        };
        let esc = match escape_char.as_ref().map(|v| &v.value) {
            None => None,
            Some(Value::SingleQuotedString(c)) if c.chars().count() == 1 => c.chars().next(),
            Some(_) => return ControlFlow::Continue(()),
        };
        let mut re = String::from("^(?:");
        let mut chars = p.chars();
        while let Some(c) = chars.next() {
            match c {
                c if Some(c) == esc => match chars.next() {
                    Some(n) => re.push_str(&regex_literal(n)),
                    None => return ControlFlow::Continue(()),
                },
                '%' => re.push_str("(?s:.*)"),
                '_' => re.push('.'),
                c => re.push(c),
            }
        }
        re.push_str(")$");
        let test = call("regexp_like", vec![(**expr).clone(), string_lit(&re)]);
        *e = if *negated {
            Expr::UnaryOp {
                op: datafusion::sql::sqlparser::ast::UnaryOperator::Not,
                expr: Box::new(nested(test)),
            }
        } else {
            test
        };
        ControlFlow::Continue(())
    });
}

/// `c` as a regular expression matching itself.
fn regex_literal(c: char) -> String {
    if c.is_ascii_punctuation() {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// `FIRST_VALUE(x)` and `LAST_VALUE(x)` skip NULL values, as Flink's `FirstValueAggFunction`
/// and `LastValueAggFunction` do (a group whose values are all NULL gives NULL); DataFusion's
/// keep them unless the call says `IGNORE NULLS`.
fn first_last_skip_nulls(stmt: &mut Statement) {
    use datafusion::sql::sqlparser::ast::{FunctionArgumentClause, NullTreatment};
    let _ = visit_expressions_mut(stmt, |e: &mut Expr| {
        if let Expr::Function(f) = e {
            let first_last = fname(f).is_some_and(|n| n == "FIRST_VALUE" || n == "LAST_VALUE");
            let stated = f.null_treatment.is_some()
                || matches!(&f.args, FunctionArguments::List(l) if l.clauses.iter().any(
                    |c| matches!(c, FunctionArgumentClause::IgnoreOrRespectNulls(_))));
            if first_last && !stated {
                f.null_treatment = Some(NullTreatment::IgnoreNulls);
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `p LIKE 'pat' ESCAPE 'c'` → the same pattern with backslash as its escape (DataFusion's
/// only one): `c%`, `c_`, `cc` become `\%`, `\_`, `c`; a literal backslash is doubled. Only
/// literal patterns and one-character escapes get here (`check_unsupported` refuses the rest).
fn like_escapes(stmt: &mut Statement) {
    let _ = visit_expressions_mut(stmt, |e: &mut Expr| {
        let (Expr::Like {
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            pattern,
            escape_char,
            ..
        }) = e
        else {
            return ControlFlow::<()>::Continue(());
        };
        let esc = match escape_char.as_ref().map(|v| &v.value) {
            Some(Value::SingleQuotedString(c)) if c.chars().count() == 1 => c.chars().next(),
            _ => None,
        };
        let Some(esc) = esc else {
            return ControlFlow::Continue(());
        };
        if let Expr::Value(v) = pattern.as_mut() {
            if let Value::SingleQuotedString(p) = &mut v.value {
                if esc != '\\' {
                    let mut out = String::with_capacity(p.len() + 4);
                    let mut chars = p.chars();
                    while let Some(ch) = chars.next() {
                        if ch == esc {
                            match chars.next() {
                                Some(n @ ('%' | '_')) => {
                                    out.push('\\');
                                    out.push(n);
                                }
                                Some('\\') => out.push_str("\\\\"),
                                Some(n) => out.push(n),
                                None => out.push(ch),
                            }
                        } else if ch == '\\' {
                            out.push_str("\\\\");
                        } else {
                            out.push(ch);
                        }
                    }
                    *p = out;
                }
                *escape_char = None;
            }
        }
        ControlFlow::Continue(())
    });
}

/// A number with an exponent (`1e3`) is a DOUBLE in Flink; other numbers with a point are
/// DECIMALs (the session parses them so). `1e3` → `CAST('1e3' AS DOUBLE)`.
fn double_literals(stmt: &mut Statement) {
    let _ = visit_expressions_mut(stmt, |e: &mut Expr| {
        if let Expr::Value(v) = e {
            if let Value::Number(n, _) = &v.value {
                if n.contains(['e', 'E']) {
                    *e = Expr::Cast {
                        kind: CastKind::Cast,
                        expr: Box::new(string_lit(n)),
                        data_type: SqlType::Double(
                            datafusion::sql::sqlparser::ast::ExactNumberInfo::None,
                        ),
                        array: false,
                        format: None,
                    };
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

fn rewrite_functions(stmt: &mut Statement) {
    let _ = visit_expressions_mut(stmt, |e: &mut Expr| {
        // FLOOR/CEIL(t TO unit) → flink_floor/flink_ceil('UNIT', t)
        let name = if matches!(e, Expr::Floor { .. }) {
            "flink_floor"
        } else {
            "flink_ceil"
        };
        if let Expr::Floor { expr, field } | Expr::Ceil { expr, field } = e {
            if let CeilFloorKind::DateTimeField(u) = field {
                if *u != DateTimeField::NoDateTime {
                    let unit = u.to_string();
                    let arg = (**expr).clone();
                    *e = call(name, vec![string_lit(&unit), arg]);
                }
            }
            return ControlFlow::<()>::Continue(());
        }
        // SUBSTRING/SUBSTR(s, start …): Flink counts a negative start from the end and reads
        // 0 as 1.
        if let Expr::Substring {
            expr,
            substring_from: Some(from),
            ..
        } = e
        {
            let start = (**from).clone();
            let is = |op, n: &str| Expr::BinaryOp {
                left: Box::new(start.clone()),
                op,
                right: Box::new(number_lit(n)),
            };
            let from_end = Expr::BinaryOp {
                left: Box::new(Expr::BinaryOp {
                    left: Box::new(call("char_length", vec![(**expr).clone()])),
                    op: BinaryOperator::Plus,
                    right: Box::new(start.clone()),
                }),
                op: BinaryOperator::Plus,
                right: Box::new(number_lit("1")),
            };
            **from = nested(case_when(
                vec![
                    (is(BinaryOperator::Lt, "0"), from_end),
                    (is(BinaryOperator::Eq, "0"), number_lit("1")),
                ],
                Some(start),
            ));
            return ControlFlow::<()>::Continue(());
        }
        // CAST(v AS STRING): Flink's text of DOUBLE/FLOAT/BOOLEAN (see compat::CompatFn).
        if let Expr::Cast {
            kind: CastKind::Cast | CastKind::TryCast | CastKind::SafeCast,
            expr,
            data_type: SqlType::String(_) | SqlType::Varchar(None) | SqlType::Text,
            format: None,
            ..
        } = e
        {
            *e = call("flink_cast_string", vec![(**expr).clone()]);
            return ControlFlow::<()>::Continue(());
        }
        // CAST to a Flink type DataFusion's planner does not name (`TIMESTAMP_LTZ(p)`,
        // `BYTES`, `BINARY(n)`, `VARBINARY(n)`): the same conversion as `arrow_cast`.
        if let Expr::Cast {
            kind: kind @ (CastKind::Cast | CastKind::TryCast | CastKind::SafeCast),
            expr,
            data_type,
            format: None,
            ..
        } = e
        {
            if let Some(arrow) = flink_only_type(data_type) {
                let f = if *kind == CastKind::Cast {
                    "arrow_cast"
                } else {
                    "arrow_try_cast"
                };
                *e = call(f, vec![(**expr).clone(), string_lit(&arrow)]);
                return ControlFlow::<()>::Continue(());
            }
        }
        // `INTERVAL '1 02:03' DAY TO MINUTE` and the other field ranges: one unit (months or
        // milliseconds), which DataFusion reads.
        if let Expr::Interval(iv) = e {
            if let Some(text) = interval_range(iv) {
                *iv.value = string_lit(&text);
                iv.leading_field = None;
                iv.leading_precision = None;
                iv.last_field = None;
                iv.fractional_seconds_precision = None;
            }
            return ControlFlow::<()>::Continue(());
        }
        // `(s0, e0) OVERLAPS (s1, e1)`: Calcite's expansion — an interval end is `s + e`, each
        // pair ordered, then `lo0 <= hi1 AND lo1 <= hi0` (touching periods overlap; NULL
        // gives NULL).
        if let Expr::BinaryOp {
            left,
            op: BinaryOperator::Overlaps,
            right,
        } = e
        {
            if let (Some(a), Some(b)) = (period(left), period(right)) {
                let le = |l: &Expr, r: &Expr| Expr::BinaryOp {
                    left: Box::new(l.clone()),
                    op: BinaryOperator::LtEq,
                    right: Box::new(r.clone()),
                };
                *e = nested(Expr::BinaryOp {
                    left: Box::new(le(&a.0, &b.1)),
                    op: BinaryOperator::And,
                    right: Box::new(le(&b.0, &a.1)),
                });
            }
            return ControlFlow::<()>::Continue(());
        }
        // `x [NOT] BETWEEN SYMMETRIC a AND b` (marked `+(+a)` by `syntax`): Calcite's
        // `(x >= a AND x <= b) OR (x >= b AND x <= a)`, negated for NOT.
        if let Expr::Between {
            expr,
            negated,
            low,
            high,
        } = e
        {
            let plus = datafusion::sql::sqlparser::ast::UnaryOperator::Plus;
            if let Expr::UnaryOp { op, expr: inner } = low.as_ref() {
                if *op == plus {
                    if let Expr::UnaryOp { op: op2, expr: a } = inner.as_ref() {
                        if *op2 == plus {
                            let bin = |l: &Expr, op, r: &Expr| Expr::BinaryOp {
                                left: Box::new(nested(l.clone())),
                                op,
                                right: Box::new(nested(r.clone())),
                            };
                            let within = |lo: &Expr, hi: &Expr| {
                                nested(bin(
                                    &bin(expr, BinaryOperator::GtEq, lo),
                                    BinaryOperator::And,
                                    &bin(expr, BinaryOperator::LtEq, hi),
                                ))
                            };
                            let either =
                                nested(bin(&within(a, high), BinaryOperator::Or, &within(high, a)));
                            *e = if *negated {
                                Expr::UnaryOp {
                                    op: datafusion::sql::sqlparser::ast::UnaryOperator::Not,
                                    expr: Box::new(either),
                                }
                            } else {
                                either
                            };
                        }
                    }
                }
            }
            return ControlFlow::<()>::Continue(());
        }
        // EXTRACT(MILLISECOND | MICROSECOND FROM t): the fraction of the second only, as
        // Flink (DataFusion counts the seconds in too).
        if let Expr::Extract {
            field: field @ (DateTimeField::Millisecond | DateTimeField::Microsecond),
            expr,
            ..
        } = e
        {
            let (unit, per) = match field {
                DateTimeField::Millisecond => ("millisecond", "1000"),
                _ => ("microsecond", "1000000"),
            };
            let part = call("date_part", vec![string_lit(unit), (**expr).clone()]);
            *e = Expr::Cast {
                kind: CastKind::Cast,
                expr: Box::new(nested(Expr::BinaryOp {
                    left: Box::new(Expr::Cast {
                        kind: CastKind::Cast,
                        expr: Box::new(part),
                        data_type: SqlType::BigInt(None),
                        array: false,
                        format: None,
                    }),
                    op: BinaryOperator::Modulo,
                    right: Box::new(number_lit(per)),
                })),
                data_type: SqlType::BigInt(None),
                array: false,
                format: None,
            };
            return ControlFlow::<()>::Continue(());
        }
        // EXTRACT(DOW FROM t): Flink counts Sunday as 1 (DataFusion: 0).
        if let Expr::Extract {
            field: DateTimeField::Dow,
            expr,
            ..
        } = e
        {
            let part = call("date_part", vec![string_lit("dow"), (**expr).clone()]);
            *e = Expr::Cast {
                kind: CastKind::Cast,
                expr: Box::new(nested(Expr::BinaryOp {
                    left: Box::new(part),
                    op: BinaryOperator::Plus,
                    right: Box::new(number_lit("1")),
                })),
                data_type: SqlType::BigInt(None),
                array: false,
                format: None,
            };
            return ControlFlow::<()>::Continue(());
        }
        // `x @> 'K'` / `x <@ 'K'` from `x IS [NOT] JSON <kind>` (see `syntax`).
        if let Expr::BinaryOp {
            left,
            op: op @ (BinaryOperator::AtArrow | BinaryOperator::ArrowAt),
            right,
        } = e
        {
            if let Expr::Value(ValueWithSpan {
                value: Value::SingleQuotedString(kind),
                ..
            }) = right.as_ref()
            {
                let test = call("flink_is_json", vec![(**left).clone(), string_lit(kind)]);
                *e = if *op == BinaryOperator::ArrowAt {
                    Expr::UnaryOp {
                        op: datafusion::sql::sqlparser::ast::UnaryOperator::Not,
                        expr: Box::new(nested(test)),
                    }
                } else {
                    test
                };
            }
            return ControlFlow::<()>::Continue(());
        }
        let Expr::Function(f) = e else {
            return ControlFlow::<()>::Continue(());
        };
        // Function names are case-insensitive in Flink, quoted or not (`LEFT` must be
        // quoted there, being a keyword).
        if let [ObjectNamePart::Identifier(id)] = f.name.0.as_mut_slice() {
            if id.quote_style.is_some() {
                id.value = id.value.to_ascii_lowercase();
                id.quote_style = None;
            }
        }
        if let Some(j) = json_call(f) {
            *e = j;
            return ControlFlow::Continue(());
        }
        // AVG(x) = flink_avg(SUM(x), COUNT(x)) with DISTINCT, FILTER and OVER kept: Flink's
        // result type (the input's for integers, truncated; DECIMAL(38, max(6, s)) rounded
        // half-up for decimals), see `compat::CompatFn::Avg`.
        if fname(f).as_deref() == Some("AVG") {
            if let FunctionArguments::List(l) = &f.args {
                if l.args.len() == 1 && l.clauses.is_empty() {
                    let mut sum = f.clone();
                    sum.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("sum"))]);
                    let mut count = f.clone();
                    count.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("count"))]);
                    *e = call(
                        "flink_avg",
                        vec![Expr::Function(sum), Expr::Function(count)],
                    );
                    return ControlFlow::Continue(());
                }
            }
        }
        // COLLECT(x) = flink_multiset(array_agg(x)), DISTINCT, FILTER and OVER kept.
        if fname(f).as_deref() == Some("COLLECT") {
            let mut agg = f.clone();
            agg.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("array_agg"))]);
            *e = call("flink_multiset", vec![Expr::Function(agg)]);
            return ControlFlow::Continue(());
        }
        if f.over.is_some() && !matches!(fname(f).as_deref(), Some("LISTAGG")) {
            return ControlFlow::Continue(());
        }
        let (Some(name), Some(args)) = (fname(f), plain_args(f)) else {
            return ControlFlow::Continue(());
        };
        let new = match (name.as_str(), args.len()) {
            ("IF", 3) => Some(Expr::Case {
                case_token: AttachedToken::empty(),
                end_token: AttachedToken::empty(),
                operand: None,
                conditions: vec![datafusion::sql::sqlparser::ast::CaseWhen {
                    condition: args[0].clone(),
                    result: args[1].clone(),
                }],
                else_result: Some(Box::new(args[2].clone())),
            }),
            ("CONCAT", n) if n >= 1 => Some(nested(concat_tree(args))),
            ("IFNULL", 2) => Some(renamed(f, "coalesce", args)),
            // A negative length gives '' (DataFusion counts it from the other end).
            (side @ ("LEFT" | "RIGHT"), 2) => {
                let negative = Expr::BinaryOp {
                    left: Box::new(args[1].clone()),
                    op: BinaryOperator::Lt,
                    right: Box::new(number_lit("0")),
                };
                let inner = renamed_final(f, &side.to_ascii_lowercase(), args);
                Some(case_when(vec![(negative, string_lit(""))], Some(inner)))
            }
            // Flink: ARRAY_PREPEND(array, element); DataFusion takes the element first.
            ("ARRAY_PREPEND", 2) => Some(renamed_final(
                f,
                "array_prepend",
                vec![args[1].clone(), args[0].clone()],
            )),
            // Flink's one-argument LOG is the natural logarithm (DataFusion's: base 10).
            ("LOG", 1) => Some(renamed(f, "ln", args)),
            // NULL when an argument is NULL (DataFusion's counts 0 matches in NULL).
            ("REGEXP_COUNT", 2) => {
                let null = Expr::Value(ValueWithSpan::from(Value::Null));
                let any_null = Expr::BinaryOp {
                    left: Box::new(Expr::IsNull(Box::new(args[0].clone()))),
                    op: BinaryOperator::Or,
                    right: Box::new(Expr::IsNull(Box::new(args[1].clone()))),
                };
                Some(case_when(
                    vec![(any_null, null)],
                    Some(renamed(f, "regexp_count", args)),
                ))
            }
            ("ENCODE", 2) => Some(renamed(f, "flink_encode", args)),
            // A java.util.Random per call site (see `random`).
            ("RAND", 1) => {
                let mut a = vec![number_lit(&random::next_site().to_string())];
                a.extend(args);
                Some(renamed(f, "flink_rand", a))
            }
            ("RAND_INTEGER", n @ (1 | 2)) => {
                let mut a = vec![
                    number_lit(&random::next_site().to_string()),
                    number_lit(if n == 2 { "1" } else { "0" }),
                ];
                if n == 1 {
                    a.push(number_lit("0"));
                }
                a.extend(args);
                Some(renamed(f, "flink_rand_integer", a))
            }
            // Integer literals are INT in Flink (DataFusion reads them as BIGINT): `%x` of -1
            // is `ffffffff`, as Java formats an Integer.
            ("PRINTF", n) if n >= 1 => Some(renamed(
                f,
                "flink_printf",
                args.into_iter().map(int_literal_as_int).collect(),
            )),
            // The bit vector of the grouping expressions (first = highest bit), BIGINT.
            ("GROUPING_ID", n) if n >= 1 => Some(Expr::Cast {
                kind: CastKind::Cast,
                expr: Box::new(renamed(f, "grouping", args)),
                data_type: SqlType::BigInt(None),
                array: false,
                format: None,
            }),
            ("DECODE", 2) => Some(renamed(f, "flink_decode", args)),
            ("REGEXP", 2) => Some(renamed(f, "regexp_like", args)),
            ("REGEXP_SUBSTR", 2) => Some(renamed(f, "regexp_extract", args)),
            ("CEILING", 1) => Some(renamed(f, "ceil", args)),
            ("SIGN", 1) => Some(renamed(f, "signum", args)),
            ("E", 0) => Some(call("exp", vec![number_lit("1.0")])),
            ("STARTSWITH", 2) => Some(renamed(f, "starts_with", args)),
            ("ENDSWITH", 2) => Some(renamed(f, "ends_with", args)),
            ("VARIANCE", 1) => Some(renamed(f, "var_samp", args)),
            ("CURRENT_DATABASE", 0) => Some(string_lit("default_database")),
            // The query's start instant (as Flink's batch mode: one value per query);
            // `CURRENT_TIMESTAMP` is `TIMESTAMP_LTZ(3)`, the others the wall clock of
            // `table.local-time-zone`: `LOCALTIMESTAMP` `TIMESTAMP(3)`, `LOCALTIME` and
            // `CURRENT_TIME` `TIME(0)`, `CURRENT_DATE` `DATE`.
            ("CURRENT_TIMESTAMP" | "NOW", 0) => Some(call(
                "arrow_cast",
                vec![
                    call("now", vec![]),
                    string_lit("Timestamp(Millisecond, Some(\"UTC\"))"),
                ],
            )),
            ("LOCALTIMESTAMP", 0) => Some(local_now()),
            // The time each row is evaluated, `TIMESTAMP_LTZ(3)`.
            ("CURRENT_ROW_TIMESTAMP", 0) => Some(call("proctime", vec![])),
            ("LOCALTIME" | "CURRENT_TIME", 0) => Some(call(
                "arrow_cast",
                vec![
                    call("date_trunc", vec![string_lit("second"), local_now()]),
                    string_lit("Time32(Millisecond)"),
                ],
            )),
            ("CURRENT_DATE", 0) => {
                Some(call("arrow_cast", vec![local_now(), string_lit("Date32")]))
            }
            ("TO_BASE64", 1) => {
                let mut a = args;
                a.push(string_lit("base64pad"));
                Some(renamed(f, "encode", a))
            }
            ("FROM_BASE64", 1) => {
                let mut a = args;
                a.push(string_lit("base64pad"));
                Some(Expr::Cast {
                    kind: CastKind::Cast,
                    expr: Box::new(renamed(f, "decode", a)),
                    data_type: SqlType::Varchar(None),
                    array: false,
                    format: None,
                })
            }
            // Java's Character classes over the whole (non-empty) string; NULL → FALSE.
            (kind @ ("IS_DIGIT" | "IS_ALPHA" | "IS_DECIMAL"), 1) => {
                let re = match kind {
                    "IS_DIGIT" => "^[0-9]+$",
                    "IS_ALPHA" => r"^\p{L}+$",
                    _ => r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$",
                };
                let mut a = args;
                a.push(string_lit(re));
                Some(call(
                    "coalesce",
                    vec![
                        renamed(f, "regexp_like", a),
                        Expr::Value(ValueWithSpan::from(Value::Boolean(false))),
                    ],
                ))
            }
            ("ATAN2", 2) => Some(renamed(
                f,
                "atan2",
                args.into_iter()
                    .map(|a| Expr::Cast {
                        kind: CastKind::Cast,
                        expr: Box::new(a),
                        data_type: SqlType::Double(
                            datafusion::sql::sqlparser::ast::ExactNumberInfo::None,
                        ),
                        array: false,
                        format: None,
                    })
                    .collect(),
            )),
            // LOCATE(needle, s, from): 1-based position at or after `from`, 0 when absent.
            ("LOCATE", 3) => {
                let (needle, s, from) = (args[0].clone(), args[1].clone(), args[2].clone());
                let found = call(
                    "strpos",
                    vec![call("substr", vec![s, from.clone()]), needle],
                );
                Some(case_when(
                    vec![(
                        Expr::BinaryOp {
                            left: Box::new(found.clone()),
                            op: BinaryOperator::Eq,
                            right: Box::new(number_lit("0")),
                        },
                        number_lit("0"),
                    )],
                    Some(Expr::BinaryOp {
                        left: Box::new(Expr::BinaryOp {
                            left: Box::new(found),
                            op: BinaryOperator::Plus,
                            right: Box::new(from),
                        }),
                        op: BinaryOperator::Minus,
                        right: Box::new(number_lit("1")),
                    }),
                ))
            }
            ("SPLIT", 2) => Some(renamed(f, "string_to_array", args)),
            ("TRUNCATE", 1 | 2) => Some(renamed(f, "trunc", args)),
            ("ARRAY_CONTAINS", 2) => Some(renamed(f, "array_has", args)),
            ("ARRAY_JOIN", 2 | 3) => Some(renamed(f, "array_to_string", args)),
            ("ARRAY_REMOVE", 2) => Some(renamed(f, "array_remove_all", args)),
            ("MAP_FROM_ARRAYS", 2) => Some(renamed(f, "map", args)),
            // MAP(k, v, …) is `MAP[k, v, …]` (see `syntax`).
            ("MAP", n) if n >= 2 => Some(renamed(f, "flink_map", args)),
            ("SHA224" | "SHA256" | "SHA384" | "SHA512", 1) => {
                let bits = &name[3..];
                let mut a = args;
                a.push(number_lit(bits));
                Some(renamed(f, "sha2", a))
            }
            ("CARDINALITY", 1) => Some(Expr::Cast {
                kind: CastKind::Cast,
                expr: Box::new(renamed(f, "cardinality", args)),
                data_type: SqlType::Int(None),
                array: false,
                format: None,
            }),
            // Flink: NULL when any argument is NULL (DataFusion skips NULLs).
            ("GREATEST" | "LEAST", n) if n >= 1 => {
                let any_null = args
                    .iter()
                    .map(|a| Expr::IsNull(Box::new(a.clone())))
                    .reduce(|a, b| Expr::BinaryOp {
                        left: Box::new(a),
                        op: BinaryOperator::Or,
                        right: Box::new(b),
                    })
                    .expect("at least one argument");
                Some(case_when(
                    vec![(any_null, Expr::Value(ValueWithSpan::from(Value::Null)))],
                    Some(renamed(f, &name.to_ascii_lowercase(), args)),
                ))
            }
            // ELT(n, e1, e2, …): the n-th expression, NULL when out of range.
            ("ELT", n) if n >= 2 => {
                let index = args[0].clone();
                let branches = args[1..]
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        (
                            Expr::BinaryOp {
                                left: Box::new(index.clone()),
                                op: BinaryOperator::Eq,
                                right: Box::new(number_lit(&(i + 1).to_string())),
                            },
                            e.clone(),
                        )
                    })
                    .collect();
                Some(case_when(branches, None))
            }
            // TIMESTAMPDIFF(DAY, a, b) → timestampdiff('DAY', a, b); TIMESTAMPADD likewise.
            ("TIMESTAMPDIFF" | "TIMESTAMPADD", 3) => match &args[0] {
                Expr::Identifier(unit) => {
                    let mut a = args.clone();
                    a[0] = string_lit(&unit.value.to_ascii_uppercase());
                    Some(renamed(f, &name.to_ascii_lowercase(), a))
                }
                _ => None,
            },
            // The replacement is literal text (Flink: `Matcher.quoteReplacement`).
            ("REGEXP_REPLACE", 3) => {
                let mut a = args;
                a[2] = call(
                    "replace",
                    vec![a[2].clone(), string_lit("$"), string_lit("$$")],
                );
                a.push(string_lit("g"));
                Some(renamed(f, "regexp_replace", a))
            }
            ("LOCATE", 2) => Some(renamed(f, "strpos", vec![args[1].clone(), args[0].clone()])),
            ("MOD", 2) => Some(nested(Expr::BinaryOp {
                left: Box::new(args[0].clone()),
                op: BinaryOperator::Modulo,
                right: Box::new(args[1].clone()),
            })),
            ("LISTAGG", 1 | 2) => {
                let mut a = args;
                if a.len() == 1 {
                    a.push(string_lit(","));
                }
                Some(renamed(f, "string_agg", a))
            }
            (
                unit @ ("YEAR" | "QUARTER" | "MONTH" | "WEEK" | "DAYOFYEAR" | "DAYOFMONTH"
                | "DAYOFWEEK" | "HOUR" | "MINUTE" | "SECOND"),
                1,
            ) => {
                let field = match unit {
                    "DAYOFYEAR" => "doy",
                    "DAYOFMONTH" => "day",
                    // Flink: 1 = Sunday … 7 = Saturday; date_part('dow') is 0 = Sunday.
                    "DAYOFWEEK" => "dow",
                    u => u,
                };
                let part = renamed(
                    f,
                    "date_part",
                    vec![string_lit(&field.to_ascii_lowercase()), args[0].clone()],
                );
                let part = if unit == "DAYOFWEEK" {
                    nested(Expr::BinaryOp {
                        left: Box::new(part),
                        op: BinaryOperator::Plus,
                        right: Box::new(Expr::Value(ValueWithSpan::from(Value::Number(
                            "1".into(),
                            false,
                        )))),
                    })
                } else {
                    part
                };
                Some(Expr::Cast {
                    kind: CastKind::Cast,
                    expr: Box::new(part),
                    data_type: SqlType::BigInt(None),
                    array: false,
                    format: None,
                })
            }
            _ => None,
        };
        if let Some(n) = new {
            *e = n;
        }
        ControlFlow::Continue(())
    });
}

/// The JSON constructors (`JSON_OBJECT`, `JSON_ARRAY`, `JSON_OBJECTAGG`, `JSON_ARRAYAGG`) and
/// `JSON_VALUE(… RETURNING T)` as the UDFs of [`json`]: the first argument carries the
/// `ON NULL` behaviour (Flink's defaults: `NULL ON NULL` for objects, `ABSENT ON NULL` for
/// arrays) and which values are JSON from a nested constructor; aggregates collect their
/// inputs with `array_agg` (same input order, FILTER kept).
fn json_call(f: &Function) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::{FunctionArgumentClause, JsonNullClause};
    let name = fname(f)?;
    if !matches!(
        name.as_str(),
        "JSON_OBJECT" | "JSON_ARRAY" | "JSON_OBJECTAGG" | "JSON_ARRAYAGG" | "JSON_VALUE"
    ) {
        return None;
    }
    let FunctionArguments::List(l) = &f.args else {
        return None;
    };
    let args: Vec<Expr> = l
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let mut absent = matches!(name.as_str(), "JSON_ARRAY" | "JSON_ARRAYAGG");
    let mut returning = None;
    for c in &l.clauses {
        match c {
            FunctionArgumentClause::JsonNullClause(JsonNullClause::AbsentOnNull) => absent = true,
            FunctionArgumentClause::JsonNullClause(JsonNullClause::NullOnNull) => absent = false,
            FunctionArgumentClause::JsonReturningClause(r) => returning = Some(r.data_type.clone()),
            _ => return None,
        }
    }
    if name == "JSON_VALUE" {
        let target = match returning? {
            SqlType::Int(_) | SqlType::Integer(_) => "flink_json_value_int",
            SqlType::Double(_) | SqlType::DoublePrecision => "flink_json_value_double",
            SqlType::Boolean | SqlType::Bool => "flink_json_value_boolean",
            _ => "json_value",
        };
        return Some(call(target, args));
    }
    let is_json = |e: &Expr| matches!(e, Expr::Function(g) if fname(g).is_some_and(|n| n.starts_with("FLINK_JSON_")));
    let values: Vec<&Expr> = match name.as_str() {
        "JSON_OBJECT" | "JSON_OBJECTAGG" => args.iter().skip(1).step_by(2).collect(),
        _ => args.iter().collect(),
    };
    let mut flags = String::from(if absent { "A" } else { "N" });
    flags.extend(values.iter().map(|v| if is_json(v) { 'r' } else { 'v' }));
    let collect = |e: Expr| {
        let Expr::Function(mut agg) = call("array_agg", vec![e]) else {
            unreachable!("call builds a function")
        };
        agg.filter = f.filter.clone();
        Expr::Function(agg)
    };
    let mut out = vec![string_lit(&flags)];
    let target = match name.as_str() {
        "JSON_OBJECT" => {
            out.extend(args);
            "flink_json_object"
        }
        "JSON_ARRAY" => {
            out.extend(args);
            "flink_json_array"
        }
        "JSON_ARRAYAGG" if args.len() == 1 => {
            out.extend(args.into_iter().map(collect));
            "flink_json_arrayagg"
        }
        "JSON_OBJECTAGG" if args.len() == 2 => {
            out.extend(args.into_iter().map(collect));
            "flink_json_objectagg"
        }
        _ => return None,
    };
    Some(call(target, out))
}

/// A UDF's arguments as arrays of `args.number_rows` rows.
fn arg_arrays(args: &ScalarFunctionArgs) -> Result<Vec<ArrayRef>> {
    args.args
        .iter()
        .map(|a| a.to_array(args.number_rows))
        .collect()
}

/// `ctx` with Flink's typing rules ([`decimal::FlinkDecimals`]) in its analyzer, before
/// DataFusion's type coercion.
pub(crate) fn with_flink_rules(ctx: SessionContext) -> SessionContext {
    use datafusion::execution::session_state::SessionStateBuilder;
    let state = ctx.state();
    let mut rules = state.analyzer().rules.clone();
    let at = rules
        .iter()
        .position(|r| r.name() == "type_coercion")
        .unwrap_or(rules.len());
    rules.insert(at, Arc::new(decimal::FlinkDecimals));
    rules.insert(0, Arc::new(crate::set_ops::SetOpsAll));
    SessionContext::new_with_state(
        SessionStateBuilder::new_from_existing(state)
            .with_analyzer_rules(rules)
            .build(),
    )
}

/// Registers the Flink UDFs on a session.
pub(crate) fn register(ctx: &SessionContext) {
    for f in decimal::udfs() {
        ctx.register_udf(f);
    }
    for k in [
        FnKind::DateFormat,
        FnKind::ToTimestamp,
        FnKind::ToDate,
        FnKind::FromUnixtime,
        FnKind::UnixTimestamp,
        FnKind::SplitIndex,
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(FlinkFn::new(k)));
    }
    for k in [
        TimeFn::Floor,
        TimeFn::Ceil,
        TimeFn::Diff,
        TimeFn::Add,
        TimeFn::ConvertTz,
        TimeFn::ToLtz,
        TimeFn::ToLocal,
        TimeFn::TimeAdd,
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(TimeUdf::new(k)));
    }
    ctx.register_udf(ScalarUDF::new_from_impl(Proctime::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(
        crate::stream::current_watermark::CurrentWatermark::unbound(),
    ));
    for k in [
        CompatFn::RegexpExtract,
        CompatFn::Hex,
        CompatFn::Bin,
        CompatFn::Sha1,
        CompatFn::Sha2,
        CompatFn::JsonValue,
        CompatFn::JsonQuery,
        CompatFn::JsonExists,
        CompatFn::JsonString,
        CompatFn::CastString,
        CompatFn::Encode,
        CompatFn::Decode,
        CompatFn::Avg,
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(CompatUdf::new(k)));
    }
    ctx.register_udf(ScalarUDF::new_from_impl(printf::PrintfUdf::new()));
    for k in [random::RandFn::Rand, random::RandFn::RandInteger] {
        ctx.register_udf(ScalarUDF::new_from_impl(random::RandUdf::new(k)));
    }
    {}
    for k in [
        JsonFn::Object,
        JsonFn::Array,
        JsonFn::ArrayAgg,
        JsonFn::ObjectAgg,
        JsonFn::IsJson,
        JsonFn::ValueAs(Returning::Int),
        JsonFn::ValueAs(Returning::Double),
        JsonFn::ValueAs(Returning::Boolean),
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(JsonUdf::new(k)));
    }
    for k in [
        CollectionFn::Map,
        CollectionFn::StrToMap,
        CollectionFn::MapUnion,
        CollectionFn::Element,
        CollectionFn::RegexpExtractAll,
        CollectionFn::Multiset,
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(CollectionUdf::new(k)));
    }
    for k in [UrlFn::Encode, UrlFn::Decode, UrlFn::Parse] {
        ctx.register_udf(ScalarUDF::new_from_impl(UrlUdf::new(k)));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum FnKind {
    DateFormat,
    ToTimestamp,
    ToDate,
    FromUnixtime,
    UnixTimestamp,
    SplitIndex,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkFn {
    kind: FnKind,
    signature: Signature,
}

impl FlinkFn {
    fn new(kind: FnKind) -> Self {
        let vol = if kind == FnKind::UnixTimestamp {
            Volatility::Volatile
        } else {
            Volatility::Immutable
        };
        Self {
            kind,
            signature: Signature::user_defined(vol),
        }
    }

    fn arity(&self) -> (usize, usize) {
        match self.kind {
            FnKind::DateFormat => (2, 2),
            FnKind::ToTimestamp | FnKind::ToDate | FnKind::FromUnixtime => (1, 2),
            FnKind::UnixTimestamp => (0, 2),
            FnKind::SplitIndex => (3, 3),
        }
    }
}

impl ScalarUDFImpl for FlinkFn {
    fn name(&self) -> &str {
        match self.kind {
            FnKind::DateFormat => "date_format",
            FnKind::ToTimestamp => "to_timestamp",
            FnKind::ToDate => "to_date",
            FnKind::FromUnixtime => "from_unixtime",
            FnKind::UnixTimestamp => "unix_timestamp",
            FnKind::SplitIndex => "split_index",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (lo, hi) = self.arity();
        if arg_types.len() < lo || arg_types.len() > hi {
            return plan_err!(
                "{} takes {lo} to {hi} arguments, got {}",
                self.name().to_uppercase(),
                arg_types.len()
            );
        }
        Ok(arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| match (self.kind, i) {
                (FnKind::DateFormat, 0) => match t {
                    DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                    _ => DataType::Timestamp(TimeUnit::Microsecond, None),
                },
                (FnKind::FromUnixtime, 0) => DataType::Int64,
                (FnKind::SplitIndex, 2) => DataType::Int64,
                _ => DataType::Utf8,
            })
            .collect())
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            FnKind::DateFormat | FnKind::FromUnixtime | FnKind::SplitIndex => DataType::Utf8,
            FnKind::ToTimestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            FnKind::ToDate => DataType::Date32,
            FnKind::UnixTimestamp => DataType::Int64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = arg_arrays(&args)?;
        let fmt_at = |i: usize, default: &str| -> Result<Vec<Option<String>>> {
            match arrays.get(i) {
                None => Ok(vec![Some(java_to_chrono(default)?); n]),
                Some(a) => {
                    let a = a.as_string::<i32>();
                    (0..n)
                        .map(|r| {
                            if a.is_null(r) {
                                Ok(None)
                            } else {
                                java_to_chrono(a.value(r)).map(Some)
                            }
                        })
                        .collect()
                }
            }
        };
        let out: ArrayRef = match self.kind {
            FnKind::DateFormat => {
                let ts = cast(
                    &arrays[0],
                    &DataType::Timestamp(TimeUnit::Microsecond, None),
                )?;
                let ts = ts.as_primitive::<TimestampMicrosecondType>();
                format_rows(n, arrays.get(1), |r| {
                    (!ts.is_null(r))
                        .then(|| DateTime::from_timestamp_micros(ts.value(r)))
                        .flatten()
                })?
            }
            FnKind::ToTimestamp | FnKind::UnixTimestamp if !arrays.is_empty() => {
                let fmts = fmt_at(1, "yyyy-MM-dd HH:mm:ss")?;
                let s = arrays[0].as_string::<i32>();
                let parsed: Vec<Option<NaiveDateTime>> = (0..n)
                    .map(|r| {
                        if s.is_null(r) {
                            None
                        } else {
                            fmts[r].as_deref().and_then(|f| {
                                let v = s.value(r);
                                if arrays.len() == 1 && self.kind == FnKind::ToTimestamp {
                                    return parse_default_timestamp(v);
                                }
                                parse_datetime(v, f).or_else(|| {
                                    // `UNIX_TIMESTAMP` parses as `SimpleDateFormat.parse`:
                                    // text after the pattern's match is ignored.
                                    (self.kind == FnKind::UnixTimestamp)
                                        .then(|| NaiveDateTime::parse_and_remainder(v.trim(), f))
                                        .and_then(|p| p.ok())
                                        .map(|(d, _)| d)
                                })
                            })
                        }
                    })
                    .collect();
                if self.kind == FnKind::ToTimestamp {
                    let mut b = TimestampMillisecondBuilder::with_capacity(n);
                    parsed
                        .iter()
                        .for_each(|p| b.append_option(p.map(|d| d.and_utc().timestamp_millis())));
                    Arc::new(b.finish())
                } else {
                    // Text that does not parse gives `Long.MIN_VALUE`, as Flink's
                    // `DateTimeUtils.unixTimestamp`; NULL text or pattern gives NULL.
                    let mut b = Int64Builder::with_capacity(n);
                    for (r, p) in parsed.iter().enumerate() {
                        b.append_option(match p {
                            Some(d) => Some(d.and_utc().timestamp()),
                            None if s.is_null(r) || fmts[r].is_none() => None,
                            None => Some(i64::MIN),
                        });
                    }
                    Arc::new(b.finish())
                }
            }
            FnKind::ToTimestamp => return exec_err!("TO_TIMESTAMP needs a string argument"),
            FnKind::UnixTimestamp => {
                let now = chrono::Utc::now().timestamp();
                Arc::new(datafusion::arrow::array::Int64Array::from(vec![now; n]))
            }
            FnKind::ToDate => {
                let fmts = fmt_at(1, "yyyy-MM-dd")?;
                let s = arrays[0].as_string::<i32>();
                let mut b = Date32Builder::with_capacity(n);
                let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
                for (r, fmt) in fmts.iter().enumerate() {
                    let d = if s.is_null(r) {
                        None
                    } else {
                        fmt.as_deref()
                            .and_then(|f| NaiveDate::parse_from_str(s.value(r).trim(), f).ok())
                    };
                    b.append_option(d.map(|d| (d - epoch).num_days() as i32));
                }
                Arc::new(b.finish())
            }
            FnKind::FromUnixtime => {
                let secs = arrays[0].as_primitive::<Int64Type>();
                format_rows(n, arrays.get(1), |r| {
                    (!secs.is_null(r))
                        .then(|| DateTime::from_timestamp(secs.value(r), 0))
                        .flatten()
                })?
            }
            FnKind::SplitIndex => {
                let s = arrays[0].as_string::<i32>();
                let sep = arrays[1].as_string::<i32>();
                let idx = arrays[2].as_primitive::<Int64Type>();
                let mut b = StringBuilder::with_capacity(n, n * 8);
                for r in 0..n {
                    if s.is_null(r)
                        || sep.is_null(r)
                        || idx.is_null(r)
                        || idx.value(r) < 0
                        || sep.value(r).is_empty()
                    {
                        b.append_null();
                        continue;
                    }
                    b.append_option(s.value(r).split(sep.value(r)).nth(idx.value(r) as usize));
                }
                Arc::new(b.finish())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn parse_datetime(s: &str, fmt: &str) -> Option<NaiveDateTime> {
    use chrono::format::{parse, Parsed, StrftimeItems};
    let s = s.trim();
    let mut p = Parsed::new();
    parse(&mut p, s, StrftimeItems::new(fmt)).ok()?;
    // Fields the pattern leaves out are 0, as Java's `DateTimeFormatter` defaults them (a
    // pattern with an hour and no minutes keeps the hour).
    if p.hour_div_12().is_none() && p.hour_mod_12().is_none() {
        let _ = p.set_hour(0);
    }
    if p.minute().is_none() {
        let _ = p.set_minute(0);
    }
    if p.second().is_none() {
        let _ = p.set_second(0);
    }
    p.to_naive_date()
        .ok()
        .and_then(|d| p.to_naive_time().ok().map(|t| d.and_time(t)))
}

/// `TO_TIMESTAMP(s)` without a pattern: Flink's `DateTimeUtils.parseTimestampData` accepts
/// `yyyy-MM-dd[ HH:mm[:ss[.f…]]]`, with `T` or a space before the time.
fn parse_default_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .map(|d| d.and_time(NaiveTime::MIN))
    })
}

/// `DATE_FORMAT`/`FROM_UNIXTIME`: row `r`'s instant (`at(r)`, `None` for NULL) formatted with
/// row `r`'s Java pattern (`fmts`, absent: `yyyy-MM-dd HH:mm:ss`) into a string column of `n`
/// rows. Each distinct pattern is translated and parsed once per run of equal patterns (a
/// format is nearly always a constant).
///
/// # Errors
/// A pattern chrono cannot render.
fn format_rows(
    n: usize,
    fmts: Option<&ArrayRef>,
    at: impl Fn(usize) -> Option<DateTime<chrono::Utc>>,
) -> Result<ArrayRef> {
    use chrono::format::{Item, StrftimeItems};
    use std::fmt::Write;
    let fmts = fmts.map(|a| a.as_string::<i32>());
    let mut parsed: Option<(String, Vec<Item<'static>>, Option<Vec<Piece>>)> = None;
    let mut scratch = Vec::new();
    let mut b = StringBuilder::with_capacity(n, n * 20);
    for r in 0..n {
        let java = match fmts {
            None => "yyyy-MM-dd HH:mm:ss",
            Some(f) if f.is_null(r) => {
                b.append_null();
                continue;
            }
            Some(f) => f.value(r),
        };
        let Some(dt) = at(r) else {
            b.append_null();
            continue;
        };
        if parsed.as_ref().is_none_or(|(j, _, _)| j != java) {
            let items = StrftimeItems::new(&java_to_chrono(java)?)
                .parse_to_owned()
                .map_err(|e| {
                    datafusion::common::DataFusionError::Execution(format!("format '{java}': {e}"))
                })?;
            parsed = Some((java.to_string(), items, digit_pattern(java)));
        }
        let (_, items, pieces) = parsed.as_ref().expect("parsed above");
        if let Some(pieces) = pieces {
            if write_digits(pieces, &dt.naive_utc(), &mut scratch, &mut b) {
                continue;
            }
        }
        write!(b, "{}", dt.naive_utc().format_with_items(items.iter())).map_err(|e| {
            datafusion::common::DataFusionError::Execution(format!("format '{java}': {e}"))
        })?;
        b.append_value("");
    }
    Ok(Arc::new(b.finish()))
}

/// A piece of a pattern made of fixed-width numeric fields and literals only (`yyyy`, `MM`,
/// `dd`, `HH`, `mm`, `ss`, `SSS`), which [`write_digits`] renders without chrono's formatter.
#[derive(Debug, PartialEq)]
enum Piece {
    Lit(String),
    /// A field in [`NumField::width`] zero-padded digits.
    Num(NumField),
}

#[derive(Debug, PartialEq, Clone, Copy)]
enum NumField {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Milli,
}

impl NumField {
    /// Digits written: 4 for the year, 3 for milliseconds, 2 otherwise.
    fn width(self) -> u32 {
        match self {
            NumField::Year => 4,
            NumField::Milli => 3,
            _ => 2,
        }
    }
}

/// A token of a Java date pattern: literal text (quoted or not; `''` is a quote) or a run of
/// `n` equal letters.
enum PatternToken {
    Lit(char),
    Letters(char, usize),
}

/// The tokens of Java pattern `p` (`SimpleDateFormat` / `DateTimeFormatter` syntax).
fn pattern_tokens(p: &str) -> Vec<PatternToken> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            if chars.get(i) == Some(&'\'') {
                out.push(PatternToken::Lit('\''));
                i += 1;
                continue;
            }
            while i < chars.len() && chars[i] != '\'' {
                out.push(PatternToken::Lit(chars[i]));
                i += 1;
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(PatternToken::Lit(c));
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        out.push(PatternToken::Letters(c, n));
        i += n;
    }
    out
}

/// `java` as [`Piece`]s, or `None` when it has any other letter run (then chrono renders it).
fn digit_pattern(java: &str) -> Option<Vec<Piece>> {
    let mut out = Vec::new();
    let mut lit = String::new();
    for t in pattern_tokens(java) {
        let field = match t {
            PatternToken::Lit(c) => {
                lit.push(c);
                continue;
            }
            PatternToken::Letters('y', 4) => NumField::Year,
            PatternToken::Letters('M', 2) => NumField::Month,
            PatternToken::Letters('d', 2) => NumField::Day,
            PatternToken::Letters('H', 2) => NumField::Hour,
            PatternToken::Letters('m', 2) => NumField::Minute,
            PatternToken::Letters('s', 2) => NumField::Second,
            PatternToken::Letters('S', 3) => NumField::Milli,
            PatternToken::Letters(..) => return None,
        };
        if !lit.is_empty() {
            out.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        out.push(Piece::Num(field));
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Some(out)
}

/// Appends `t` rendered by `pieces` to `b`; false (nothing appended) for a year outside
/// 0..=9999, which chrono renders with a sign.
/// `buf` is scratch space.
fn write_digits(
    pieces: &[Piece],
    t: &NaiveDateTime,
    buf: &mut Vec<u8>,
    b: &mut StringBuilder,
) -> bool {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return false;
    }
    buf.clear();
    for p in pieces {
        match p {
            Piece::Lit(s) => buf.extend_from_slice(s.as_bytes()),
            Piece::Num(f) => {
                let v = match f {
                    NumField::Year => year as u32,
                    NumField::Month => t.month(),
                    NumField::Day => t.day(),
                    NumField::Hour => t.hour(),
                    NumField::Minute => t.minute(),
                    NumField::Second => t.second(),
                    NumField::Milli => (t.nanosecond() % 1_000_000_000) / 1_000_000,
                };
                let mut div = 10u32.pow(f.width() - 1);
                for _ in 0..f.width() {
                    buf.push(b'0' + ((v / div) % 10) as u8);
                    div /= 10;
                }
            }
        }
    }
    // Only ASCII digits and the pattern's own (UTF-8) literals were written.
    b.append_value(std::str::from_utf8(buf).expect("digits and UTF-8 literals"));
    true
}

/// Converts a Java `SimpleDateFormat` / `DateTimeFormatter` pattern to chrono's strftime.
///
/// # Errors
/// An execution error naming the pattern letter that has no chrono counterpart.
pub(crate) fn java_to_chrono(p: &str) -> Result<String> {
    let mut out = String::new();
    for t in pattern_tokens(p) {
        let (c, n) = match t {
            PatternToken::Lit(c) => {
                if c == '%' {
                    out.push('%');
                }
                out.push(c);
                continue;
            }
            PatternToken::Letters(c, n) => (c, n),
        };
        let spec = match (c, n) {
            ('y', 2) => "%y".to_string(),
            ('y', _) | ('u', _) => "%Y".to_string(),
            ('M', 1) => "%-m".to_string(),
            ('M', 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('d', _) => "%d".to_string(),
            ('D', _) => "%j".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', 1) => "%-I".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', n) if n <= 3 => "%3f".to_string(),
            ('S', n) if n <= 6 => "%6f".to_string(),
            ('S', _) => "%9f".to_string(),
            ('a', _) => "%p".to_string(),
            ('E', n) if n <= 3 => "%a".to_string(),
            ('E', _) => "%A".to_string(),
            ('Z', _) => "%z".to_string(),
            ('X', _) | ('x', _) => "%:z".to_string(),
            _ => return exec_err!("unsupported date pattern letter '{c}' in '{p}'"),
        };
        out.push_str(&spec);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{digit_pattern, format_rows, java_to_chrono, rewrite};
    use datafusion::sql::sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    /// The digit writer renders what chrono renders, for every pattern it takes, over instants
    /// from year 0 to 9999 (leap days, milliseconds, midnight), and leaves other patterns and
    /// years to chrono.
    #[test]
    fn digit_patterns_match_chrono() {
        use chrono::format::StrftimeItems;
        use datafusion::arrow::array::{Array, AsArray};
        let patterns = [
            "yyyy-MM-dd",
            "HH:mm",
            "yyyy-MM-dd HH:mm:ss.SSS",
            "'at' HH'h'mm''ss dd/MM/yyyy",
            "yyyyMMddHHmmss",
            "dd. MM. yyyy — HH:mm",
        ];
        let mut ms: Vec<i64> = vec![
            -62_167_219_200_000,
            -1,
            0,
            951_782_400_000,
            951_868_799_999,
            1_700_000_000_123,
            253_402_300_799_999,
        ];
        let mut x: i64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ms.push(x.rem_euclid(253_402_300_800_000 + 62_167_219_200_000) - 62_167_219_200_000);
        }
        for p in patterns {
            assert!(digit_pattern(p).is_some(), "{p}");
            let items = StrftimeItems::new(&java_to_chrono(p).unwrap())
                .parse_to_owned()
                .unwrap();
            let fmts: datafusion::arrow::array::ArrayRef =
                std::sync::Arc::new(datafusion::arrow::array::StringArray::from(vec![
                    p;
                    ms.len()
                ]));
            let at = |r: usize| chrono::DateTime::from_timestamp_millis(ms[r]);
            let got = format_rows(ms.len(), Some(&fmts), at).unwrap();
            let got = got.as_string::<i32>();
            for (r, m) in ms.iter().enumerate() {
                let want = chrono::DateTime::from_timestamp_millis(*m)
                    .unwrap()
                    .naive_utc()
                    .format_with_items(items.iter())
                    .to_string();
                assert_eq!(got.value(r), want, "{p} at {m}");
            }
            assert_eq!(got.null_count(), 0);
        }
        for p in ["yy-M-d", "EEE", "hh a", "yyyyy", "S"] {
            assert_eq!(digit_pattern(p), None, "{p}");
        }
        let far = chrono::DateTime::from_timestamp_millis(253_402_300_800_000).unwrap();
        let got = format_rows(1, None, |_| Some(far)).unwrap();
        assert_eq!(got.as_string::<i32>().value(0), "+10000-01-01 00:00:00");
    }

    /// Depth of nested binary operators and parentheses.
    fn depth(e: &Expr) -> usize {
        match e {
            Expr::BinaryOp { left, right, .. } => 1 + depth(left).max(depth(right)),
            Expr::Nested(e) => 1 + depth(e),
            _ => 0,
        }
    }

    #[test]
    fn concat_of_many_arguments_stays_shallow() {
        let args = vec!["'x'"; 5000].join(", ");
        let mut stmt = Parser::parse_sql(&GenericDialect {}, &format!("SELECT CONCAT({args})"))
            .unwrap()
            .remove(0);
        rewrite(&mut stmt);
        let Statement::Query(q) = &stmt else {
            panic!("a query")
        };
        let SetExpr::Select(s) = q.body.as_ref() else {
            panic!("a select")
        };
        let SelectItem::UnnamedExpr(e) = &s.projection[0] else {
            panic!("an expression")
        };
        let text = e.to_string();
        assert_eq!(text.matches("'x'").count(), 5000, "{text:.80}");
        assert_eq!(text.matches("||").count(), 4999);
        // 1 for the parentheses + ceil(log2(5000)) = 13 levels of `||`.
        assert_eq!(depth(e), 14);
    }

    #[test]
    fn java_patterns() {
        assert_eq!(
            java_to_chrono("yyyy-MM-dd HH:mm:ss").unwrap(),
            "%Y-%m-%d %H:%M:%S"
        );
        assert_eq!(
            java_to_chrono("yyyyMMdd'T'HH.SSS").unwrap(),
            "%Y%m%dT%H.%3f"
        );
        assert!(java_to_chrono("yyyy-QQ").is_err());
    }
}

//! Flink's window table-valued functions `TUMBLE`, `HOP` and `CUMULATE`
//! (Flink docs `dev/table/sql/queries/window-tvf`), in batch and streaming mode.
//!
//! `FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' MINUTE))` is rewritten in the query
//! tree into a derived table: every column of `t`, then `window_start`, `window_end` and
//! `window_time` (= `window_end` − 1 ms), all `TIMESTAMP(3)`. A `HOP` or `CUMULATE` row belongs to
//! several windows and is repeated once per window (an `UNNEST` of the window list):
//! - `TUMBLE(data, timecol, size [, offset])`: `[floor(ts − offset, size) + offset, + size)`;
//! - `HOP(data, timecol, slide, size [, offset])`: every window of `size` starting at a multiple
//!   of `slide` (plus offset) that contains `ts`, latest start first (Flink's
//!   `SlidingWindowAssigner` order);
//! - `CUMULATE(data, timecol, step, size [, offset])`: windows from the `size`-aligned start to
//!   each `step` end after `ts`, smallest first.
//!
//! Named arguments (`DATA =>`, `TIMECOL =>`, `SIZE =>`, `SLIDE =>`, `STEP =>`, `OFFSET =>`) are
//! accepted. Sizes are interval literals of one unit (`DAY` … `MILLISECOND`). The streaming
//! planner recognises the rewritten form by the [`WINDOW_ADD`] call named `window_time`.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, ListBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit, TimestampMillisecondType};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArgOperator, FunctionArguments, GroupByExpr, Query,
    SetExpr, Spanned, Statement, TableFactor, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use scaleph_sql::{Pos, SqlError};
use std::ops::ControlFlow;
use std::sync::Arc;

/// `scaleph_window_add(ts, ms)`: `ts` + `ms` milliseconds, as `TIMESTAMP(3)`.
pub(crate) const WINDOW_ADD: &str = "scaleph_window_add";
pub(crate) const TUMBLE_START: &str = "scaleph_tumble_start";
pub(crate) const HOP_STARTS: &str = "scaleph_hop_starts";
pub(crate) const CUMULATE_ENDS: &str = "scaleph_cumulate_ends";
/// `scaleph_session_end(ts, gap_ms, partition columns…)`: a row's own session window end
/// (`ts + gap`); the streaming engine merges sessions and reads the gap and partition columns
/// from the call.
pub(crate) const SESSION_END: &str = "scaleph_session_end";

/// Rewrites every window TVF in `stmt` (see the module docs); `base` is the position of the
/// statement's first character, for errors.
///
/// # Errors
/// A malformed call (unknown or missing argument, a size that is not a one-unit interval
/// literal, a `CUMULATE` size that is not a multiple of its step, `SESSION`), at the call.
pub(crate) fn rewrite(stmt: &mut Statement, base: Pos, streaming: bool) -> Result<(), SqlError> {
    let mut v = Tvf {
        base,
        streaming,
        grouped: Vec::new(),
        err: None,
    };
    let _ = stmt.visit(&mut v);
    match v.err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The UDFs the rewritten form calls.
pub(crate) fn register(ctx: &SessionContext) {
    for k in [
        Kind::Add,
        Kind::TumbleStart,
        Kind::HopStarts,
        Kind::CumulateEnds,
        Kind::SessionEnd,
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(WindowUdf::new(k)));
    }
}

struct Tvf {
    base: Pos,
    /// `SESSION` windows run in streaming mode only (they merge).
    streaming: bool,
    /// Per enclosing query: whether it is a `SELECT … GROUP BY` (a window aggregate then).
    grouped: Vec<bool>,
    err: Option<SqlError>,
}

impl VisitorMut for Tvf {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        let grouped = matches!(q.body.as_ref(), SetExpr::Select(s)
            if !matches!(&s.group_by, GroupByExpr::Expressions(e, _) if e.is_empty()));
        self.grouped.push(grouped);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _q: &mut Query) -> ControlFlow<()> {
        self.grouped.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::TableFunction { expr, alias } = t else {
            return ControlFlow::Continue(());
        };
        let alias = alias.as_ref().map(|a| a.to_string());
        let aggregated = self.grouped.iter().any(|g| *g);
        match window_table(expr, alias, self.base, self.streaming, aggregated) {
            Ok(Some(derived)) => *t = derived,
            Ok(None) => {}
            Err(e) => {
                self.err = Some(e);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

fn pos_of(e: &Expr, base: Pos) -> Pos {
    let s = e.span().start;
    if s.line == 0 {
        base
    } else {
        Pos::new(s.line as u32, s.column as u32)
    }
}

/// The derived table for a window TVF call, or `None` when `expr` is another table function.
fn window_table(
    expr: &Expr,
    alias: Option<String>,
    base: Pos,
    streaming: bool,
    aggregated: bool,
) -> Result<Option<TableFactor>, SqlError> {
    let Expr::Function(f) = expr else {
        return Ok(None);
    };
    let name = f.name.to_string().to_ascii_uppercase();
    let at = pos_of(expr, base);
    let params: &[&str] = match name.as_str() {
        "TUMBLE" => &["DATA", "TIMECOL", "SIZE", "OFFSET"],
        "HOP" => &["DATA", "TIMECOL", "SLIDE", "SIZE", "OFFSET"],
        "CUMULATE" => &["DATA", "TIMECOL", "STEP", "SIZE", "OFFSET"],
        "SESSION" if !streaming => {
            return Err(crate::support::refuse(
                at,
                "the SESSION window function in batch mode (it runs in streaming mode)",
            ));
        }
        "SESSION" => &["DATA", "TIMECOL", "GAP"],
        _ => return Ok(None),
    };
    let FunctionArguments::List(list) = &f.args else {
        return Err(SqlError::invalid(at, format!("{name} needs arguments")));
    };
    // `PARTITION BY k` of `SESSION` (read as `_p => k` by the syntax pass).
    let mut partition: Vec<String> = Vec::new();
    let is_partition = |a: &FunctionArg| matches!(a, FunctionArg::Named { name, .. } if name.value.eq_ignore_ascii_case("_p"));
    for a in list.args.iter().filter(|a| is_partition(a)) {
        if let FunctionArg::Named {
            arg: FunctionArgExpr::Expr(e),
            ..
        } = a
        {
            match e {
                Expr::Tuple(items) => partition.extend(items.iter().map(ToString::to_string)),
                Expr::Nested(inner) => partition.push(inner.to_string()),
                other => partition.push(other.to_string()),
            }
        }
    }
    let mut args: Vec<Option<&Expr>> = vec![None; params.len()];
    for (i, a) in list.args.iter().filter(|a| !is_partition(a)).enumerate() {
        let (slot, e) = match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => (i, e),
            FunctionArg::Named {
                name: n,
                arg: FunctionArgExpr::Expr(e),
                operator: FunctionArgOperator::RightArrow,
            } => {
                let n = n.value.to_ascii_uppercase();
                match params.iter().position(|p| *p == n) {
                    Some(k) => (k, e),
                    None => {
                        return Err(SqlError::invalid(
                            at,
                            format!(
                                "{name} has no parameter {n}; parameters: {}",
                                params.join(", ")
                            ),
                        ))
                    }
                }
            }
            _ => {
                return Err(SqlError::invalid(
                    at,
                    format!("{name}: unexpected argument `{a}`"),
                ))
            }
        };
        if slot >= params.len() {
            return Err(SqlError::invalid(
                at,
                format!("{name} takes at most {} arguments", params.len()),
            ));
        }
        args[slot] = Some(e);
    }
    let need = |k: usize| {
        args[k]
            .ok_or_else(|| SqlError::invalid(at, format!("{name}: missing argument {}", params[k])))
    };
    let data = match need(0)? {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => need(0)?.to_string(),
        Expr::Subquery(q) => format!("({q})"),
        other => {
            return Err(SqlError::invalid(
                pos_of(other, at),
                format!("{name}: DATA must be `TABLE name` or a subquery"),
            ))
        }
    };
    let timecol = match need(1)? {
        Expr::Function(d) if d.name.to_string().eq_ignore_ascii_case("DESCRIPTOR") => {
            match &d.args {
                FunctionArguments::List(l) if l.args.len() == 1 => l.args[0].to_string(),
                _ => {
                    return Err(SqlError::invalid(
                        pos_of(need(1)?, at),
                        format!("{name}: DESCRIPTOR takes one column"),
                    ))
                }
            }
        }
        other => {
            return Err(SqlError::invalid(
                pos_of(other, at),
                format!("{name}: TIMECOL must be DESCRIPTOR(column)"),
            ))
        }
    };
    let ms = |k: usize| -> Result<i64, SqlError> {
        let e = need(k)?;
        interval_ms(e).ok_or_else(|| {
            SqlError::invalid(
                pos_of(e, at),
                format!(
                    "{name}: {} must be an interval literal of one unit, e.g. INTERVAL '10' MINUTE",
                    params[k]
                ),
            )
        })
    };
    let offset = match args[params.len() - 1] {
        Some(_) if name != "SESSION" => ms(params.len() - 1)?,
        _ => 0,
    };
    let (ws, we) = match name.as_str() {
        "TUMBLE" => {
            let size = positive(ms(2)?, "SIZE", at)?;
            (
                format!("{TUMBLE_START}({timecol}, {size}, {offset})"),
                format!("{WINDOW_ADD}(window_start, {size})"),
            )
        }
        "SESSION" => {
            let gap = positive(ms(2)?, "GAP", at)?;
            let keys: String = partition.iter().map(|k| format!(", {k}")).collect();
            (
                timecol.clone(),
                format!("{SESSION_END}(window_start, {gap}{keys})"),
            )
        }
        "HOP" => {
            let slide = positive(ms(2)?, "SLIDE", at)?;
            let size = positive(ms(3)?, "SIZE", at)?;
            if aggregated && size % slide != 0 {
                return Err(SqlError::invalid(
                    at,
                    format!("HOP table function based aggregate requires size must be an integral multiple of slide, but got size {size} ms and slide {slide} ms"),
                ));
            }
            (
                format!("unnest({HOP_STARTS}({timecol}, {slide}, {size}, {offset}))"),
                format!("{WINDOW_ADD}(window_start, {size})"),
            )
        }
        _ => {
            let step = positive(ms(2)?, "STEP", at)?;
            let size = positive(ms(3)?, "SIZE", at)?;
            if size % step != 0 {
                return Err(SqlError::invalid(
                    at,
                    "CUMULATE: SIZE must be an integral multiple of STEP",
                ));
            }
            (
                format!("{TUMBLE_START}({timecol}, {size}, {offset}) AS window_start, unnest({CUMULATE_ENDS}({timecol}, {step}, {size}, {offset}))"),
                String::new(),
            )
        }
    };
    let alias = alias.unwrap_or_else(|| match need(0) {
        Ok(Expr::Identifier(i)) => i.to_string(),
        Ok(Expr::CompoundIdentifier(p)) => p.last().map(|i| i.to_string()).unwrap_or_default(),
        _ => "__scaleph_window".into(),
    });
    let (inner, end) = if we.is_empty() {
        (
            format!("SELECT *, {ws} AS window_end FROM {data}"),
            String::new(),
        )
    } else {
        (
            format!("SELECT *, {ws} AS window_start FROM {data}"),
            format!("{we} AS window_end, "),
        )
    };
    let end_col = if end.is_empty() {
        "window_end".to_string()
    } else {
        we.clone()
    };
    let sql = format!(
        "SELECT * FROM (SELECT *, {end}{WINDOW_ADD}({end_col}, -1) AS window_time FROM ({inner}) AS __scaleph_tvf) AS {alias}"
    );
    let stmt = Parser::new(&GenericDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_statement())
        .map_err(|e| SqlError::invalid(at, format!("{name}: {e}")))?;
    let Statement::Query(q) = stmt else {
        unreachable!("a SELECT")
    };
    let datafusion::sql::sqlparser::ast::SetExpr::Select(s) = *q.body else {
        unreachable!("a SELECT")
    };
    Ok(s.from.into_iter().next().map(|t| t.relation))
}

fn positive(ms: i64, what: &str, at: Pos) -> Result<i64, SqlError> {
    if ms > 0 {
        Ok(ms)
    } else {
        Err(SqlError::invalid(
            at,
            format!("window {what} must be positive"),
        ))
    }
}

/// Milliseconds of `INTERVAL 'n' UNIT` (one unit, `n` may have a fraction for seconds).
pub(crate) fn interval_ms(e: &Expr) -> Option<i64> {
    let Expr::Interval(iv) = e else { return None };
    if iv.last_field.is_some() {
        return None;
    }
    let text = iv.value.to_string();
    let n = text.trim_matches('\'').trim();
    let unit = iv.leading_field.as_ref()?.to_string().to_ascii_uppercase();
    let per: f64 = match unit.trim_end_matches('S') {
        "DAY" => 86_400_000.0,
        "HOUR" => 3_600_000.0,
        "MINUTE" => 60_000.0,
        "SECOND" => 1000.0,
        "MILLISECOND" => 1.0,
        _ => return None,
    };
    let v: f64 = n.parse().ok()?;
    Some((v * per).round() as i64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Add,
    TumbleStart,
    HopStarts,
    CumulateEnds,
    SessionEnd,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct WindowUdf {
    kind: Kind,
    signature: Signature,
}

impl WindowUdf {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn ms_ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

/// Floor of `ts − offset` to a multiple of `size`, plus `offset` (Flink's
/// `TimeWindow.getWindowStartWithOffset`).
pub(crate) fn window_start(ts: i64, size: i64, offset: i64) -> i64 {
    ts - (ts - offset).rem_euclid(size)
}

impl ScalarUDFImpl for WindowUdf {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Add => WINDOW_ADD,
            Kind::TumbleStart => TUMBLE_START,
            Kind::HopStarts => HOP_STARTS,
            Kind::CumulateEnds => CUMULATE_ENDS,
            Kind::SessionEnd => SESSION_END,
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        let Some(first) = t.first() else {
            return plan_err!("{}: no arguments", self.name());
        };
        if !matches!(first, DataType::Timestamp(..) | DataType::Null) {
            return plan_err!(
                "the window time column must be a TIMESTAMP or TIMESTAMP_LTZ, found {first}"
            );
        }
        let mut v = vec![ms_ts()];
        if self.kind == Kind::SessionEnd {
            // The gap, then the partition columns as they are.
            v.push(DataType::Int64);
            v.extend(t.iter().skip(2).cloned());
            return Ok(v);
        }
        v.extend(std::iter::repeat_n(DataType::Int64, t.len() - 1));
        Ok(v)
    }

    fn return_type(&self, _t: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Add | Kind::TumbleStart | Kind::SessionEnd => ms_ts(),
            Kind::HopStarts | Kind::CumulateEnds => {
                DataType::List(Arc::new(Field::new("item", ms_ts(), true)))
            }
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let last = if self.kind == Kind::SessionEnd {
            2.min(args.args.len())
        } else {
            args.args.len()
        };
        let consts: Vec<i64> = args.args[1..last]
            .iter()
            .map(|a| match a {
                ColumnarValue::Scalar(ScalarValue::Int64(Some(v))) => Ok(*v),
                _ => exec_err!("{}: window sizes must be constants", self.name()),
            })
            .collect::<Result<_>>()?;
        let ts = args.args[0].to_array(n)?;
        let ts = ts.as_primitive::<TimestampMillisecondType>();
        let out: ArrayRef =
            match self.kind {
                Kind::Add | Kind::SessionEnd => {
                    Arc::new(ts.unary::<_, TimestampMillisecondType>(|v| v + consts[0]))
                }
                Kind::TumbleStart => Arc::new(ts.unary::<_, TimestampMillisecondType>(|v| {
                    window_start(v, consts[0], consts[1])
                })),
                Kind::HopStarts | Kind::CumulateEnds => {
                    let mut b = ListBuilder::new(TimestampMillisecondBuilder::new());
                    for i in 0..ts.len() {
                        if ts.is_null(i) {
                            b.append_null();
                            continue;
                        }
                        let v = ts.value(i);
                        if self.kind == Kind::HopStarts {
                            let (slide, size, offset) = (consts[0], consts[1], consts[2]);
                            let mut s = window_start(v, slide, offset);
                            while s > v - size {
                                b.values().append_value(s);
                                s -= slide;
                            }
                        } else {
                            let (step, size, offset) = (consts[0], consts[1], consts[2]);
                            let start = window_start(v, size, offset);
                            let mut e = start + step;
                            while e <= start + size {
                                if e > v {
                                    b.values().append_value(e);
                                }
                                e += step;
                            }
                        }
                        b.append(true);
                    }
                    Arc::new(b.finish())
                }
            };
        Ok(ColumnarValue::Array(out))
    }
}

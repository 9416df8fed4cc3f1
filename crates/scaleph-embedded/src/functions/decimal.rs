//! Flink's DECIMAL arithmetic on the embedded engine.
//!
//! DataFusion types `DECIMAL` arithmetic its own way (e.g. `DECIMAL(15, 2) / DECIMAL(15, 2)` has
//! 6 fractional digits where Flink has 18), so results printed differently. An analyzer rule,
//! [`FlinkDecimals`], runs before DataFusion's type coercion and gives every expression Flink's
//! type (Flink 2.x `LogicalTypeMerging`):
//!
//! | operation | precision | scale |
//! |---|---|---|
//! | `a + b`, `a - b` | `max(p1 - s1, p2 - s2) + s + 1` | `max(s1, s2)` |
//! | `a * b` | `p1 + p2` | `s1 + s2` |
//! | `a / b` | `p1 - s1 + s2 + s` | `max(6, s1 + p2 + 1)` |
//! | `a % b`, `MOD` | `min(p1 - s1, p2 - s2) + s` | `max(s1, s2)` |
//!
//! A precision above 38 becomes 38 and the scale `max(38 - (p - s), min(s, 6))`. Integer
//! operands count as `DECIMAL(3|5|10|19, 0)` (an integer literal that fits is an `INT`), and a
//! decimal literal's precision counts its digits as written (`0.07` is `DECIMAL(3, 2)`, as in
//! Calcite). Division and modulo (and the others when Flink's scale differs from DataFusion's)
//! run as `flink_decimal_*` functions: exact in 256 bits, rounded half-up to the result scale,
//! NULL when the result does not fit its precision (Flink's `DecimalData.fromBigDecimal`), an
//! error on division by zero.
//!
//! The rule also gives `SUM(DECIMAL(p, s))` Flink's `DECIMAL(38, s)`; `STDDEV_POP`,
//! `STDDEV_SAMP`, `VAR_POP` and `VAR_SAMP` of a DECIMAL Flink's `DECIMAL(38, max(s, 6))`
//! (computed in DOUBLE, as Flink's `SQRT` of the reduced form does), and of an integer column
//! the column's type (the DOUBLE narrowed as Java narrows it: `(byte) 4060.3` is -36); and trims blanks around a
//! string cast to a number or a date (`CAST(' 42 ' AS INT)` is 42 in Flink). A string cast to
//! DECIMAL and `FLOOR`/`CEIL` of a DECIMAL follow Flink too (see [`ParseDecimalUdf`],
//! [`RoundUdf`]). `LEAD`/`LAG` with a default fail on a NULL value, as Flink does (it types
//! their result NOT NULL).
//! Math functions Flink computes in DOUBLE (`POWER`, `SQRT`, `LN`, …) get DOUBLE arguments.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Builder};
use datafusion::arrow::datatypes::{i256, DataType, Decimal128Type};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{exec_err, plan_err, Column, DFSchema, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::{AggregateFunction, Cast, ScalarFunction, TryCast};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::type_coercion::binary::BinaryTypeCoercer;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::ExprSchemable;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, LogicalPlan, Operator, Projection, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use std::sync::{Arc, OnceLock};

/// Largest DECIMAL precision (Flink and Arrow `Decimal128`).
const MAX_PRECISION: i32 = 38;
/// Smallest scale an adjusted type keeps (Flink `LogicalTypeMerging.MINIMUM_ADJUSTED_SCALE`).
const MIN_ADJUSTED_SCALE: i32 = 6;

/// An arithmetic operator over DECIMALs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum DecOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl DecOp {
    fn of(op: Operator) -> Option<DecOp> {
        Some(match op {
            Operator::Plus => DecOp::Add,
            Operator::Minus => DecOp::Sub,
            Operator::Multiply => DecOp::Mul,
            Operator::Divide => DecOp::Div,
            Operator::Modulo => DecOp::Mod,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            DecOp::Add => "flink_decimal_add",
            DecOp::Sub => "flink_decimal_sub",
            DecOp::Mul => "flink_decimal_mul",
            DecOp::Div => "flink_decimal_div",
            DecOp::Mod => "flink_decimal_mod",
        }
    }
}

/// Flink's result type `(precision, scale)` of `a op b` for `DECIMAL(p1, s1)` and
/// `DECIMAL(p2, s2)` (see the module table).
pub(crate) fn result_type(op: DecOp, (p1, s1): (u8, i8), (p2, s2): (u8, i8)) -> (u8, i8) {
    let (p1, s1, p2, s2) = (p1 as i32, s1 as i32, p2 as i32, s2 as i32);
    let (p, s) = match op {
        DecOp::Add | DecOp::Sub => {
            let s = s1.max(s2);
            ((p1 - s1).max(p2 - s2) + s + 1, s)
        }
        DecOp::Mul => (p1 + p2, s1 + s2),
        DecOp::Div => {
            let s = MIN_ADJUSTED_SCALE.max(s1 + p2 + 1);
            (p1 - s1 + s2 + s, s)
        }
        DecOp::Mod => {
            let s = s1.max(s2);
            ((p1 - s1).min(p2 - s2) + s, s)
        }
    };
    let (p, s) = if p <= MAX_PRECISION {
        (p, s)
    } else {
        let digits = p - s;
        let s = (MAX_PRECISION - digits).max(s.min(MIN_ADJUSTED_SCALE));
        (MAX_PRECISION, s)
    };
    (p.max(1) as u8, s as i8)
}

/// The DECIMAL type Flink gives an integer or decimal type in arithmetic.
fn decimal_of(t: &DataType) -> Option<(u8, i8)> {
    Some(match t {
        DataType::Decimal128(p, s) => (*p, *s),
        DataType::Int8 | DataType::UInt8 => (3, 0),
        DataType::Int16 | DataType::UInt16 => (5, 0),
        DataType::Int32 | DataType::UInt32 => (10, 0),
        DataType::Int64 => (19, 0),
        DataType::UInt64 => (20, 0),
        _ => return None,
    })
}

/// `e` with a literal retyped as Flink types it: an integer that fits in 32 bits is an `INT`,
/// and a decimal below 1 has one digit before the point (`0.07` is `DECIMAL(3, 2)`).
fn flink_literal(e: Expr) -> Expr {
    match e {
        Expr::Literal(ScalarValue::Int64(Some(v)), m) if i32::try_from(v).is_ok() => {
            Expr::Literal(ScalarValue::Int32(Some(v as i32)), m)
        }
        Expr::Literal(ScalarValue::Decimal128(Some(v), p, s), m)
            if s > 0 && (p as i32) < s as i32 + 1 =>
        {
            Expr::Literal(ScalarValue::Decimal128(Some(v), s as u8 + 1, s), m)
        }
        e => e,
    }
}

/// `10^n` for `n` in `0..=76`.
fn pow10(n: u32) -> i256 {
    static TABLE: OnceLock<Vec<i256>> = OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let ten = i256::from_i128(10);
        let mut v = vec![i256::ONE];
        for i in 1..=76 {
            v.push(v[i - 1].wrapping_mul(ten));
        }
        v
    });
    t[n as usize]
}

/// `n / d` rounded half away from zero (Java's `HALF_UP`); `d != 0`.
fn div_half_up(n: i256, d: i256) -> i256 {
    let q = n.wrapping_div(d);
    let r = n.wrapping_rem(d);
    let twice = r.wrapping_abs().wrapping_mul(i256::from_i128(2));
    if twice >= d.wrapping_abs() {
        if n.is_negative() != d.is_negative() {
            q.wrapping_sub(i256::ONE)
        } else {
            q.wrapping_add(i256::ONE)
        }
    } else {
        q
    }
}

/// `v` (at scale `from`) at scale `to`, rounded half-up; `None` on overflow.
fn rescale(v: i256, from: i32, to: i32) -> Option<i256> {
    if to >= from {
        v.checked_mul(pow10((to - from) as u32))
    } else {
        Some(div_half_up(v, pow10((from - to) as u32)))
    }
}

/// One row: `a` (scale `s1`) op `b` (scale `s2`) as an unscaled value of `DECIMAL(p, s)`;
/// `Ok(None)` when it does not fit.
fn apply(op: DecOp, a: i128, s1: i32, b: i128, s2: i32, p: i32, s: i32) -> Result<Option<i128>> {
    let (a, b) = (i256::from_i128(a), i256::from_i128(b));
    let v = match op {
        DecOp::Add | DecOp::Sub | DecOp::Mod => {
            let m = s1.max(s2);
            let (Some(a), Some(b)) = (rescale(a, s1, m), rescale(b, s2, m)) else {
                return Ok(None);
            };
            let r = match op {
                DecOp::Add => a.checked_add(b),
                DecOp::Sub => a.checked_sub(b),
                _ if b == i256::ZERO => return exec_err!("Division by zero (DECIMAL %)"),
                _ => Some(a.wrapping_rem(b)),
            };
            r.and_then(|r| rescale(r, m, s))
        }
        DecOp::Mul => a.checked_mul(b).and_then(|r| rescale(r, s1 + s2, s)),
        DecOp::Div => {
            if b == i256::ZERO {
                return exec_err!("Division by zero (DECIMAL /)");
            }
            let e = s - s1 + s2;
            if e >= 0 {
                a.checked_mul(pow10(e as u32)).map(|n| div_half_up(n, b))
            } else {
                b.checked_mul(pow10((-e) as u32)).map(|d| div_half_up(a, d))
            }
        }
    };
    Ok(v.filter(|v| v.wrapping_abs() < pow10(p as u32))
        .and_then(|v| v.to_i128()))
}

/// `flink_decimal_{add,sub,mul,div,mod}(a, b)`: DECIMAL arithmetic with Flink's result type.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct DecimalUdf {
    op: DecOp,
    signature: Signature,
}

impl DecimalUdf {
    pub(crate) fn new(op: DecOp) -> Self {
        Self {
            op,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DecimalUdf {
    fn name(&self) -> &str {
        self.op.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        if t.len() != 2 {
            return plan_err!("{}: two arguments expected", self.name());
        }
        t.iter()
            .map(|t| match decimal_of(t) {
                Some((p, s)) => Ok(DataType::Decimal128(p, s)),
                None if t.is_null() => Ok(DataType::Decimal128(1, 0)),
                None => plan_err!("{}: not a DECIMAL or integer: {t}", self.name()),
            })
            .collect()
    }

    fn return_type(&self, t: &[DataType]) -> Result<DataType> {
        match (decimal_of(&t[0]), decimal_of(&t[1])) {
            (Some(a), Some(b)) => {
                let (p, s) = result_type(self.op, a, b);
                Ok(DataType::Decimal128(p, s))
            }
            _ => plan_err!("{}: DECIMAL arguments expected", self.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let n = if scalar { 1 } else { args.number_rows };
        let a = args.args[0].to_array(n)?;
        let b = args.args[1].to_array(n)?;
        let (DataType::Decimal128(_, s1), DataType::Decimal128(_, s2)) =
            (a.data_type(), b.data_type())
        else {
            return exec_err!("{}: DECIMAL arguments expected", self.name());
        };
        let DataType::Decimal128(p, s) = args.return_field.data_type().clone() else {
            return exec_err!("{}: DECIMAL result expected", self.name());
        };
        let (s1, s2) = (*s1 as i32, *s2 as i32);
        let (av, bv) = (
            a.as_primitive::<Decimal128Type>(),
            b.as_primitive::<Decimal128Type>(),
        );
        let mut out = Decimal128Builder::with_capacity(n);
        for r in 0..n {
            if av.is_null(r) || bv.is_null(r) {
                out.append_null();
                continue;
            }
            let v = apply(
                self.op,
                av.value(r),
                s1,
                bv.value(r),
                s2,
                p as i32,
                s as i32,
            )?;
            out.append_option(v);
        }
        let out: ArrayRef = Arc::new(out.finish().with_precision_and_scale(p, s)?);
        columnar(out, scalar)
    }
}

/// `flink_decimal_{add,sub,mul}_exact(a, b)`: DECIMAL(p1, s1) op DECIMAL(p2, s2) where Flink's
/// result type needs no adjustment, so no row can overflow and none needs a check:
/// - `+`/`-` when `max(p1 - s1, p2 - s2) + max(s1, s2) + 1 <= 38`: both sides are rescaled to
///   the result scale (at most `p` digits each) and added in `i128`;
/// - `*` when `p1 + p2 <= 38`: a p1-digit by p2-digit product has at most p1 + p2 digits;
///   when the product's type is capped at 38 digits with scale `s1 + s2`, a batch whose largest
///   magnitudes multiply to less than `10^38` is computed the same way, any other batch row by
///   row with Flink's overflow to NULL.
///
/// Arrow's kernels multiply both sides by their scale factor with overflow checks per row even
/// when it is 1, and DataFusion types a product one digit wider (a narrowing cast per row).
/// A scalar side is rescaled once.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ExactArith {
    op: DecOp,
    signature: Signature,
}

impl ExactArith {
    /// `None` for an operator or types this does not cover (see the type's doc).
    fn for_types(op: DecOp, a: (u8, i8), b: (u8, i8)) -> Option<Self> {
        let (p1, s1, p2, s2) = (a.0 as i32, a.1 as i32, b.0 as i32, b.1 as i32);
        let fits = match op {
            DecOp::Add | DecOp::Sub => {
                s1 >= 0 && s2 >= 0 && (p1 - s1).max(p2 - s2) + s1.max(s2) < MAX_PRECISION
            }
            // Beyond 38 digits only when the scale is kept; then rows are checked per batch.
            DecOp::Mul => p1 + p2 <= MAX_PRECISION || result_type(op, a, b).1 as i32 == s1 + s2,
            DecOp::Div | DecOp::Mod => false,
        };
        fits.then(|| Self {
            op,
            signature: Signature::user_defined(Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for ExactArith {
    fn name(&self) -> &str {
        match self.op {
            DecOp::Add => "flink_decimal_add_exact",
            DecOp::Sub => "flink_decimal_sub_exact",
            _ => "flink_decimal_mul_exact",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        DecimalUdf::new(self.op).coerce_types(t)
    }

    fn return_type(&self, t: &[DataType]) -> Result<DataType> {
        match (decimal_of(&t[0]), decimal_of(&t[1])) {
            (Some(a), Some(b)) if Self::for_types(self.op, a, b).is_some() => {
                let (p, s) = result_type(self.op, a, b);
                Ok(DataType::Decimal128(p, s))
            }
            _ => plan_err!(
                "{}: DECIMALs whose result needs no adjustment expected",
                self.name()
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::Decimal128Array;
        use datafusion::arrow::compute::kernels::arity::binary;
        let DataType::Decimal128(p, s) = args.return_field.data_type().clone() else {
            return exec_err!("{}: DECIMAL result expected", self.name());
        };
        let scale_of = |c: &ColumnarValue| match c.data_type() {
            DataType::Decimal128(_, s) => Ok(s),
            t => exec_err!("{}: DECIMAL arguments expected, got {t}", self.name()),
        };
        let (s1, s2) = (scale_of(&args.args[0])?, scale_of(&args.args[1])?);
        if self.op == DecOp::Mul && !bounded_product(&args.args[0], &args.args[1], p) {
            return DecimalUdf::new(DecOp::Mul).invoke_with_args(args);
        }
        // Factors bringing each side to the result scale (1 for a product).
        let factor = |from: i8| match self.op {
            DecOp::Mul => 1,
            _ => 10i128.pow((s - from) as u32),
        };
        let (f1, f2) = (factor(s1), factor(s2));
        let op = self.op;
        let f = move |x: i128, y: i128| match op {
            DecOp::Add => x.wrapping_mul(f1).wrapping_add(y.wrapping_mul(f2)),
            DecOp::Sub => x.wrapping_mul(f1).wrapping_sub(y.wrapping_mul(f2)),
            _ => x.wrapping_mul(y),
        };
        let typed = |a: Decimal128Array| -> Result<ColumnarValue> {
            Ok(ColumnarValue::Array(Arc::new(
                a.with_precision_and_scale(p, s)?,
            )))
        };
        match (&args.args[0], &args.args[1]) {
            (ColumnarValue::Array(a), ColumnarValue::Array(b)) => typed(binary(
                a.as_primitive::<Decimal128Type>(),
                b.as_primitive::<Decimal128Type>(),
                f,
            )?),
            (ColumnarValue::Array(a), ColumnarValue::Scalar(b)) => match b {
                ScalarValue::Decimal128(Some(y), ..) => {
                    let y = *y;
                    typed(a.as_primitive::<Decimal128Type>().unary(|x| f(x, y)))
                }
                _ => Ok(ColumnarValue::Scalar(ScalarValue::Decimal128(None, p, s))),
            },
            (ColumnarValue::Scalar(a), ColumnarValue::Array(b)) => match a {
                ScalarValue::Decimal128(Some(x), ..) => {
                    let x = *x;
                    typed(b.as_primitive::<Decimal128Type>().unary(|y| f(x, y)))
                }
                _ => Ok(ColumnarValue::Scalar(ScalarValue::Decimal128(None, p, s))),
            },
            (ColumnarValue::Scalar(a), ColumnarValue::Scalar(b)) => {
                Ok(ColumnarValue::Scalar(match (a, b) {
                    (
                        ScalarValue::Decimal128(Some(x), ..),
                        ScalarValue::Decimal128(Some(y), ..),
                    ) => ScalarValue::Decimal128(Some(f(*x, *y)), p, s),
                    _ => ScalarValue::Decimal128(None, p, s),
                }))
            }
        }
    }
}

/// Whether every product of a value of `a` by one of `b` has fewer than `p` digits (from
/// the largest magnitude of each side; NULL slots count too, which is only conservative).
fn bounded_product(a: &ColumnarValue, b: &ColumnarValue, p: u8) -> bool {
    fn max_abs(c: &ColumnarValue) -> Option<u128> {
        match c {
            ColumnarValue::Array(a) => Some(
                a.as_primitive_opt::<Decimal128Type>()?
                    .values()
                    .iter()
                    .map(|v| v.unsigned_abs())
                    .max()
                    .unwrap_or(0),
            ),
            ColumnarValue::Scalar(ScalarValue::Decimal128(v, ..)) => {
                Some(v.map_or(0, i128::unsigned_abs))
            }
            ColumnarValue::Scalar(_) => None,
        }
    }
    let limit = 10u128.pow(p as u32);
    match (max_abs(a), max_abs(b)) {
        (Some(x), Some(y)) => x.checked_mul(y).is_some_and(|m| m < limit),
        _ => false,
    }
}

/// `out` as the UDF's answer: a scalar when every argument was one (`out` has one row).
fn columnar(out: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    Ok(if scalar {
        ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
    } else {
        ColumnarValue::Array(out)
    })
}

/// Registers `flink_decimal_*` on a session.
pub(crate) fn udfs() -> Vec<ScalarUDF> {
    [DecOp::Add, DecOp::Sub, DecOp::Mul, DecOp::Div, DecOp::Mod]
        .into_iter()
        .map(|op| ScalarUDF::new_from_impl(DecimalUdf::new(op)))
        .collect()
}

/// The analyzer rule of this module; runs before DataFusion's type coercion.
#[derive(Debug, Default)]
pub(crate) struct FlinkDecimals;

impl AnalyzerRule for FlinkDecimals {
    fn name(&self) -> &str {
        "flink_decimals"
    }

    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(rewrite_node)
            .map(|t| t.data)
    }
}

/// Aggregates whose DECIMAL result Flink computes in DOUBLE and types `DECIMAL(38, max(s, 6))`
/// (DataFusion's names after planning).
const VARIANCE_FAMILY: [&str; 4] = ["stddev", "stddev_pop", "var", "var_pop"];

fn rewrite_node(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let schema = merge_schema(&plan.inputs());
    let names = NamePreserver::new(&plan);
    // Aggregate outputs to convert above the aggregate: (name, Flink's type).
    let mut casts: Vec<(String, DataType)> = Vec::new();
    let is_aggregate = matches!(plan, LogicalPlan::Aggregate(_));
    let t = plan.map_expressions(|e| {
        let saved = names.save(&e);
        if is_aggregate {
            if let Some(to) = variance_type(&e, &schema)? {
                casts.push((e.schema_name().to_string(), to));
            }
        }
        let t = e.transform_up(|e| rewrite_expr(e, &schema))?;
        Ok(t.update_data(|e| saved.restore(e)))
    })?;
    let mut t = if t.transformed {
        t.map_data(|p| p.recompute_schema())?
    } else {
        t
    };
    if !casts.is_empty() {
        let agg = t.data;
        let exprs = agg
            .schema()
            .iter()
            .map(|(q, f)| {
                let col = Expr::Column(Column::from((q, f)));
                match casts.iter().find(|(n, _)| n == f.name()) {
                    Some((_, to @ DataType::Decimal128(..))) => {
                        Expr::Cast(Cast::new(Box::new(col), to.clone()))
                            .alias_qualified(q.cloned(), f.name())
                    }
                    Some((_, to)) => Expr::ScalarFunction(ScalarFunction::new_udf(
                        Arc::new(ScalarUDF::new_from_impl(JavaNarrowUdf::new(to.clone()))),
                        vec![col],
                    ))
                    .alias_qualified(q.cloned(), f.name()),
                    None => col,
                }
            })
            .collect();
        t = Transformed::yes(LogicalPlan::Projection(Projection::try_new(
            exprs,
            Arc::new(agg),
        )?));
    }
    Ok(t)
}

/// Flink's result type of a variance-family aggregate over a DECIMAL (`DECIMAL(38, max(s,
/// 6))`) or an integer type (the argument's own type; the DOUBLE result narrowed as Java
/// narrows it), when `e` is one.
fn variance_type(e: &Expr, schema: &DFSchema) -> Result<Option<DataType>> {
    let e = match e {
        Expr::Alias(a) => a.expr.as_ref(),
        e => e,
    };
    if let Expr::AggregateFunction(AggregateFunction { func, params }) = e {
        if VARIANCE_FAMILY.contains(&func.name()) && params.args.len() == 1 {
            return Ok(match params.args[0].get_type(schema)? {
                DataType::Decimal128(_, s) => {
                    Some(DataType::Decimal128(38, s.max(MIN_ADJUSTED_SCALE as i8)))
                }
                t @ (DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64) => {
                    Some(t)
                }
                _ => None,
            });
        }
    }
    Ok(None)
}

/// A DOUBLE narrowed to an integer type as Java's `(int) d` / `(long) d` / `(short) d` /
/// `(byte) d` do (saturating to `int`/`long`, NaN → 0, then wrapping to `short`/`byte`): how
/// Flink's `VAR_*`/`STDDEV_*` of an integer column, computed in DOUBLE, get the column's type.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JavaNarrowUdf {
    to: DataType,
    signature: Signature,
}

impl JavaNarrowUdf {
    fn new(to: DataType) -> Self {
        Self {
            to,
            signature: Signature::exact(vec![DataType::Float64], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JavaNarrowUdf {
    fn name(&self) -> &str {
        "flink_narrow"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.to.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::datatypes::{
            Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
        };
        let a = args.args[0].to_array(args.number_rows)?;
        let d = a.as_primitive::<Float64Type>();
        let out: ArrayRef = match self.to {
            DataType::Int8 => Arc::new(d.unary::<_, Int8Type>(|x| x as i32 as i8)),
            DataType::Int16 => Arc::new(d.unary::<_, Int16Type>(|x| x as i32 as i16)),
            DataType::Int32 => Arc::new(d.unary::<_, Int32Type>(|x| x as i32)),
            _ => Arc::new(d.unary::<_, Int64Type>(|x| x as i64)),
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// Functions that Flink computes in DOUBLE whatever the numeric argument (DataFusion keeps
/// some in DECIMAL, e.g. `POWER(2.0, n)`).
const DOUBLE_FUNCTIONS: [&str; 19] = [
    "power", "sqrt", "cbrt", "exp", "ln", "log", "log2", "log10", "sin", "cos", "tan", "cot",
    "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
];

fn rewrite_expr(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if matches!(op, Operator::Plus | Operator::Minus)
                && matches!(
                    left.get_type(schema)?,
                    DataType::Time32(_) | DataType::Time64(_)
                )
                && matches!(right.get_type(schema)?, DataType::Interval(_)) =>
        {
            let sign = if op == Operator::Plus { 1i64 } else { -1 };
            let udf = super::temporal::TimeUdf::new(super::temporal::TimeFn::TimeAdd);
            Ok(Transformed::yes(Expr::ScalarFunction(
                ScalarFunction::new_udf(
                    Arc::new(ScalarUDF::new_from_impl(udf)),
                    vec![
                        *left,
                        *right,
                        Expr::Literal(ScalarValue::Int64(Some(sign)), None),
                    ],
                ),
            )))
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let Some(dop) = DecOp::of(op) else {
                return Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                    left,
                    op,
                    right,
                })));
            };
            let (l, r) = (flink_literal(*left), flink_literal(*right));
            let (lt, rt) = (l.get_type(schema)?, r.get_type(schema)?);
            let decimal =
                matches!(lt, DataType::Decimal128(..)) || matches!(rt, DataType::Decimal128(..));
            let (Some(a), Some(b), true) = (decimal_of(&lt), decimal_of(&rt), decimal) else {
                return Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr::new(
                    Box::new(l),
                    op,
                    Box::new(r),
                ))));
            };
            let (p, s) = result_type(dop, a, b);
            let native = BinaryTypeCoercer::new(&lt, &op, &rt).get_result_type()?;
            let bin = Expr::BinaryExpr(BinaryExpr::new(
                Box::new(l.clone()),
                op,
                Box::new(r.clone()),
            ));
            Ok(Transformed::yes(match (dop, native) {
                (_, _) if ExactArith::for_types(dop, a, b).is_some() => {
                    let udf = ExactArith::for_types(dop, a, b).expect("checked by the guard");
                    Expr::ScalarFunction(ScalarFunction::new_udf(
                        Arc::new(ScalarUDF::new_from_impl(udf)),
                        vec![l, r],
                    ))
                }
                (DecOp::Add | DecOp::Sub | DecOp::Mul, DataType::Decimal128(np, ns)) if ns == s => {
                    if np == p {
                        bin
                    } else {
                        Expr::TryCast(TryCast::new(Box::new(bin), DataType::Decimal128(p, s)))
                    }
                }
                _ => Expr::ScalarFunction(ScalarFunction::new_udf(
                    Arc::new(ScalarUDF::new_from_impl(DecimalUdf::new(dop))),
                    vec![l, r],
                )),
            }))
        }
        Expr::AggregateFunction(AggregateFunction { func, mut params })
            if func.name() == "sum" && params.args.len() == 1 =>
        {
            match params.args[0].get_type(schema)? {
                DataType::Decimal128(p, s) if (p as i32) < MAX_PRECISION => {
                    let arg = params.args.remove(0);
                    params.args.push(Expr::Cast(Cast::new(
                        Box::new(arg),
                        DataType::Decimal128(38, s),
                    )));
                    Ok(Transformed::yes(Expr::AggregateFunction(
                        AggregateFunction { func, params },
                    )))
                }
                _ => Ok(Transformed::no(Expr::AggregateFunction(
                    AggregateFunction { func, params },
                ))),
            }
        }
        Expr::ScalarFunction(ScalarFunction { func, args })
            if DOUBLE_FUNCTIONS.contains(&func.name()) =>
        {
            let mut changed = false;
            let mut out = Vec::with_capacity(args.len());
            for a in args {
                if matches!(a.get_type(schema)?, DataType::Decimal128(..)) {
                    changed = true;
                    out.push(Expr::Cast(Cast::new(Box::new(a), DataType::Float64)));
                } else {
                    out.push(a);
                }
            }
            let e = Expr::ScalarFunction(ScalarFunction { func, args: out });
            Ok(if changed {
                Transformed::yes(e)
            } else {
                Transformed::no(e)
            })
        }
        Expr::WindowFunction(mut w)
            if matches!(w.fun.name(), "lead" | "lag")
                && w.params.args.len() == 3
                && w.params.args[0].nullable(schema)?
                && !matches!(&w.params.args[2], Expr::Literal(v, _) if v.is_null()) =>
        {
            let name = w.fun.name().to_uppercase();
            let v = w.params.args.remove(0);
            w.params.args.insert(
                0,
                Expr::ScalarFunction(ScalarFunction::new_udf(
                    Arc::new(ScalarUDF::new_from_impl(NotNullUdf::new(name))),
                    vec![v],
                )),
            );
            Ok(Transformed::yes(Expr::WindowFunction(w)))
        }
        Expr::ScalarFunction(ScalarFunction { func, args })
            if matches!(func.name(), "floor" | "ceil" | "signum") && args.len() == 1 =>
        {
            if let DataType::Decimal128(..) = args[0].get_type(schema)? {
                let udf = RoundUdf::new(match func.name() {
                    "floor" => Rounding::Floor,
                    "ceil" => Rounding::Ceil,
                    _ => Rounding::Sign,
                });
                Ok(Transformed::yes(Expr::ScalarFunction(
                    ScalarFunction::new_udf(Arc::new(ScalarUDF::new_from_impl(udf)), args),
                )))
            } else {
                Ok(Transformed::no(Expr::ScalarFunction(ScalarFunction {
                    func,
                    args,
                })))
            }
        }
        Expr::Cast(Cast { expr, field }) => cast_from_text(*expr, field, false, schema),
        Expr::TryCast(TryCast { expr, field }) => cast_from_text(*expr, field, true, schema),
        e => Ok(Transformed::no(e)),
    }
}

/// `CAST`/`TRY_CAST` of `expr` to `field`'s type as Flink does it from text: to DECIMAL by
/// [`ParseDecimalUdf`]; to other numbers and dates with surrounding blanks ignored (not to
/// BOOLEAN or TIMESTAMP: Flink fails on those). Casts from other types are left as they are.
fn cast_from_text(
    expr: Expr,
    field: datafusion::arrow::datatypes::FieldRef,
    try_cast: bool,
    schema: &DFSchema,
) -> Result<Transformed<Expr>> {
    let rebuild = |e: Expr, field| {
        if try_cast {
            Expr::TryCast(TryCast::new_from_field(Box::new(e), field))
        } else {
            Expr::Cast(Cast::new_from_field(Box::new(e), field))
        }
    };
    if !is_string(&expr.get_type(schema)?) {
        return Ok(Transformed::no(rebuild(expr, field)));
    }
    let to = field.data_type();
    Ok(if matches!(to, DataType::Decimal128(..)) {
        Transformed::yes(string_to_decimal(expr, to, try_cast))
    } else if to.is_numeric() || matches!(to, DataType::Date32 | DataType::Date64) {
        Transformed::yes(rebuild(btrim(expr), field))
    } else {
        Transformed::no(rebuild(expr, field))
    })
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn string_to_decimal(e: Expr, to: &DataType, try_cast: bool) -> Expr {
    let DataType::Decimal128(p, s) = to else {
        return e;
    };
    Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(ScalarUDF::new_from_impl(ParseDecimalUdf::new(
            *p, *s, try_cast,
        ))),
        vec![e],
    ))
}

/// Parses `text` (blanks around it ignored) as Java's `BigDecimal` does (`[+-]digits[.digits]
/// [e[+-]digits]`) into an unscaled value at `scale`, rounded half-up. `Err(())` when it is not
/// a number; `Ok(None)` when it does not fit `precision` digits.
fn parse_decimal(text: &str, precision: u8, scale: i8) -> std::result::Result<Option<i128>, ()> {
    let t = text.trim();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| ())?),
        None => (t, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(());
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 76 {
        return Ok(None);
    }
    let mut v = i256::ZERO;
    for b in digits.bytes() {
        v = v
            .wrapping_mul(i256::from_i128(10))
            .wrapping_add(i256::from_i128((b - b'0') as i128));
    }
    // v · 10^(exp − frac.len()) at scale `scale`
    // In i64: a hostile exponent (`1e-2147483648`) must not overflow.
    let from = frac.len() as i64 - i64::from(exp);
    let shift = i64::from(scale) - from;
    let Some(v) = (if shift > 76 {
        (v == i256::ZERO).then_some(i256::ZERO)
    } else if shift < -76 {
        Some(i256::ZERO)
    } else {
        rescale(v, scale as i32 - shift as i32, scale as i32)
    }) else {
        return Ok(None);
    };
    let v = if neg { v.wrapping_neg() } else { v };
    Ok((v.wrapping_abs() < pow10(precision as u32))
        .then(|| v.to_i128())
        .flatten())
}

/// `CAST(s AS DECIMAL(p, s))` / `TRY_CAST` from a string with Flink's results: blanks ignored,
/// exponents allowed, rounded half-up; text that is not a number gives 0 (Flink 2.3 does, for
/// both); a value too large for the precision fails the cast (`TRY_CAST`: NULL).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ParseDecimalUdf {
    precision: u8,
    scale: i8,
    try_cast: bool,
    signature: Signature,
}

impl ParseDecimalUdf {
    fn new(precision: u8, scale: i8, try_cast: bool) -> Self {
        Self {
            precision,
            scale,
            try_cast,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ParseDecimalUdf {
    fn name(&self) -> &str {
        if self.try_cast {
            "flink_try_cast_decimal"
        } else {
            "flink_cast_decimal"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, _: &[DataType]) -> Result<Vec<DataType>> {
        Ok(vec![DataType::Utf8])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(self.precision, self.scale))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let n = if scalar { 1 } else { args.number_rows };
        let a = args.args[0].to_array(n)?;
        let a = a.as_string::<i32>();
        let mut out = Decimal128Builder::with_capacity(n);
        for r in 0..n {
            if a.is_null(r) {
                out.append_null();
                continue;
            }
            match parse_decimal(a.value(r), self.precision, self.scale) {
                Ok(Some(v)) => out.append_value(v),
                // Not a number: 0, as Flink's planner folds a constant `CAST` or `TRY_CAST`;
                // `TRY_CAST` of a column gives NULL, as Flink at run time.
                Err(()) if self.try_cast && !scalar => out.append_null(),
                Err(()) => out.append_value(0),
                Ok(None) if self.try_cast => out.append_null(),
                Ok(None) => {
                    return exec_err!(
                        "CAST: '{}' does not fit DECIMAL({}, {}) (overflow)",
                        a.value(r),
                        self.precision,
                        self.scale
                    )
                }
            }
        }
        let out: ArrayRef = Arc::new(
            out.finish()
                .with_precision_and_scale(self.precision, self.scale)?,
        );
        columnar(out, scalar)
    }
}

/// Which of [`RoundUdf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Rounding {
    Floor,
    Ceil,
    Sign,
}

/// `FLOOR` / `CEIL` of `DECIMAL(p, s)`: `DECIMAL(p − s + 1, 0)` for `s > 0`; `SIGN` keeps the
/// type (`SIGN(-2.50)` = `-1.00`). Flink's types; DataFusion answers in DOUBLE.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RoundUdf {
    kind: Rounding,
    signature: Signature,
}

impl RoundUdf {
    fn new(kind: Rounding) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RoundUdf {
    fn name(&self) -> &str {
        match self.kind {
            Rounding::Floor => "flink_decimal_floor",
            Rounding::Ceil => "flink_decimal_ceil",
            Rounding::Sign => "flink_decimal_sign",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        match t {
            [d @ DataType::Decimal128(..)] => Ok(vec![d.clone()]),
            _ => plan_err!("{}: one DECIMAL argument expected", self.name()),
        }
    }

    fn return_type(&self, t: &[DataType]) -> Result<DataType> {
        match t {
            [DataType::Decimal128(p, s)] if *s > 0 && self.kind != Rounding::Sign => {
                Ok(DataType::Decimal128(
                    ((*p as i32 - *s as i32 + 1).clamp(1, MAX_PRECISION)) as u8,
                    0,
                ))
            }
            [d @ DataType::Decimal128(..)] => Ok(d.clone()),
            _ => plan_err!("{}: one DECIMAL argument expected", self.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let n = if scalar { 1 } else { args.number_rows };
        let a = args.args[0].to_array(n)?;
        let DataType::Decimal128(_, s) = a.data_type().clone() else {
            return exec_err!("{}: DECIMAL argument expected", self.name());
        };
        let DataType::Decimal128(p, rs) = args.return_field.data_type().clone() else {
            return exec_err!("{}: DECIMAL result expected", self.name());
        };
        let unit = 10i128.pow(u32::try_from(s - rs).unwrap_or(0));
        let a = a.as_primitive::<Decimal128Type>();
        let mut out = Decimal128Builder::with_capacity(n);
        for r in 0..n {
            if a.is_null(r) {
                out.append_null();
                continue;
            }
            let v = a.value(r);
            out.append_value(match self.kind {
                Rounding::Sign => v.signum() * 10i128.pow(u32::try_from(s).unwrap_or(0)),
                Rounding::Floor => v.div_euclid(unit),
                Rounding::Ceil => v.div_euclid(unit) + i128::from(v.rem_euclid(unit) != 0),
            });
        }
        let out: ArrayRef = Arc::new(out.finish().with_precision_and_scale(p, rs)?);
        columnar(out, scalar)
    }
}

/// The value argument of `LEAD`/`LAG` with a default: Flink types their result NOT NULL, so a
/// NULL value fails the job there (`table.exec.sink.not-null-enforcer`); here too.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NotNullUdf {
    function: String,
    signature: Signature,
}

impl NotNullUdf {
    fn new(function: String) -> Self {
        Self {
            function,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for NotNullUdf {
    fn name(&self) -> &str {
        "flink_not_null"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        Ok(t.to_vec())
    }

    fn return_type(&self, t: &[DataType]) -> Result<DataType> {
        match t {
            [t] => Ok(t.clone()),
            _ => plan_err!("flink_not_null: one argument expected"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let v = &args.args[0];
        let has_null = match v {
            ColumnarValue::Scalar(s) => s.is_null(),
            ColumnarValue::Array(a) => a.null_count() > 0,
        };
        if has_null {
            return exec_err!(
                "{} with a default met a NULL value: Flink types the result NOT NULL and fails \
                 the job here",
                self.function
            );
        }
        Ok(v.clone())
    }
}

fn btrim(e: Expr) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(
        datafusion::functions::string::btrim(),
        vec![e],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_types_follow_flink() {
        assert_eq!(result_type(DecOp::Div, (10, 2), (10, 2)), (23, 13));
        assert_eq!(result_type(DecOp::Div, (15, 2), (10, 0)), (26, 13));
        assert_eq!(result_type(DecOp::Div, (15, 2), (3, 2)), (21, 6));
        assert_eq!(result_type(DecOp::Div, (20, 10), (10, 0)), (31, 21));
        assert_eq!(result_type(DecOp::Mod, (10, 2), (2, 1)), (3, 2));
        assert_eq!(result_type(DecOp::Mod, (10, 2), (10, 0)), (10, 2));
        // 100.00 * SUM(DECIMAL(38, 4)) / SUM(DECIMAL(38, 4)), TPC-H q14
        let m = result_type(DecOp::Mul, (5, 2), (38, 4));
        assert_eq!(m, (38, 6));
        assert_eq!(result_type(DecOp::Div, m, (38, 4)), (38, 6));
    }

    #[test]
    fn strings_parse_as_flink_decimals() {
        assert_eq!(parse_decimal(" 1.5 ", 5, 2), Ok(Some(150)));
        assert_eq!(parse_decimal("1e2", 5, 2), Ok(Some(10000)));
        assert_eq!(parse_decimal("-0.125", 5, 2), Ok(Some(-13)));
        assert_eq!(parse_decimal("123456", 5, 2), Ok(None));
        assert_eq!(parse_decimal("x", 5, 2), Err(()));
        assert_eq!(parse_decimal("", 5, 2), Err(()));
        assert_eq!(parse_decimal(".5", 5, 2), Ok(Some(50)));
        assert_eq!(parse_decimal("1e-2147483648", 5, 2), Ok(Some(0)));
        assert_eq!(parse_decimal("1e2147483647", 5, 2), Ok(None));
    }

    #[test]
    fn division_rounds_half_up_and_overflow_is_null() {
        // 7.00 / 3.00 at scale 13
        assert_eq!(
            apply(DecOp::Div, 700, 2, 300, 2, 23, 13).unwrap(),
            Some(23_333_333_333_333)
        );
        // -2 / 3 at scale 1 → -0.7
        assert_eq!(apply(DecOp::Div, -2, 0, 3, 0, 5, 1).unwrap(), Some(-7));
        // 1 / 8 at scale 2 → 0.13 (0.125 half-up)
        assert_eq!(apply(DecOp::Div, 1, 0, 8, 0, 5, 2).unwrap(), Some(13));
        assert!(apply(DecOp::Div, 1, 0, 0, 0, 5, 2).is_err());
        // 99.9 * 99.9 does not fit DECIMAL(3, 1)
        assert_eq!(apply(DecOp::Mul, 999, 1, 999, 1, 3, 1).unwrap(), None);
        // -3.10 % 2.5 = -0.60 (sign of the dividend)
        assert_eq!(apply(DecOp::Mod, -310, 2, 25, 1, 3, 2).unwrap(), Some(-60));
    }

    #[test]
    fn exact_arithmetic_equals_the_checked_path() {
        use datafusion::arrow::array::Decimal128Array;
        use datafusion::arrow::datatypes::Field;
        let cases = [
            (DecOp::Sub, (10, 0), (15, 2)),
            (DecOp::Add, (15, 2), (10, 0)),
            (DecOp::Add, (20, 5), (18, 2)),
            (DecOp::Sub, (36, 0), (36, 0)),
            (DecOp::Mul, (15, 2), (16, 2)),
            (DecOp::Mul, (19, 0), (19, 19)),
            // Capped at DECIMAL(38, 6): batches with large values go row by row (NULL when
            // the product does not fit), others straight.
            (DecOp::Mul, (31, 4), (16, 2)),
        ];
        for (op, (p1, s1), (p2, s2)) in cases {
            let udf = ExactArith::for_types(op, (p1, s1), (p2, s2)).expect("covered");
            let (p, s) = result_type(op, (p1, s1), (p2, s2));
            let edge = |p: u8| {
                let max = 10i128.pow(p as u32) - 1;
                vec![
                    Some(0),
                    Some(1),
                    Some(-1),
                    Some(max),
                    Some(-max),
                    Some(max / 7),
                    None,
                ]
            };
            let (xs, ys) = (edge(p1), edge(p2));
            // Every pair: row i of `a` against row i of `b`, as arrays and with `b` a scalar.
            let a: Vec<Option<i128>> = xs.iter().flat_map(|x| ys.iter().map(move |_| *x)).collect();
            let b: Vec<Option<i128>> = xs.iter().flat_map(|_| ys.iter().copied()).collect();
            let col = |v: &[Option<i128>], p: u8, s: i8| {
                Arc::new(
                    Decimal128Array::from(v.to_vec())
                        .with_precision_and_scale(p, s)
                        .unwrap(),
                ) as ArrayRef
            };
            let call = |x: ColumnarValue, y: ColumnarValue, n: usize| {
                let args = ScalarFunctionArgs {
                    arg_fields: vec![
                        Arc::new(Field::new("a", x.data_type(), true)),
                        Arc::new(Field::new("b", y.data_type(), true)),
                    ],
                    args: vec![x, y],
                    number_rows: n,
                    return_field: Arc::new(Field::new("r", DataType::Decimal128(p, s), true)),
                    config_options: Arc::new(ConfigOptions::default()),
                };
                udf.invoke_with_args(args).unwrap().to_array(n).unwrap()
            };
            let expect = |x: Option<i128>, y: Option<i128>| {
                x.zip(y).and_then(|(x, y)| {
                    apply(op, x, s1 as i32, y, s2 as i32, p as i32, s as i32).unwrap()
                })
            };
            let got = call(
                ColumnarValue::Array(col(&a, p1, s1)),
                ColumnarValue::Array(col(&b, p2, s2)),
                a.len(),
            );
            let got = got.as_primitive::<Decimal128Type>();
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                let g = got.is_valid(i).then(|| got.value(i));
                assert_eq!(g, expect(*x, *y), "{op:?} {x:?} {y:?}");
            }
            for y in &ys {
                let got = call(
                    ColumnarValue::Array(col(&xs, p1, s1)),
                    ColumnarValue::Scalar(ScalarValue::Decimal128(*y, p2, s2)),
                    xs.len(),
                );
                let got = got.as_primitive::<Decimal128Type>();
                for (i, x) in xs.iter().enumerate() {
                    let g = got.is_valid(i).then(|| got.value(i));
                    assert_eq!(g, expect(*x, *y), "{op:?} {x:?} scalar {y:?}");
                }
            }
        }
        // Adjusted result types stay on the checked path.
        assert!(ExactArith::for_types(DecOp::Add, (38, 2), (10, 0)).is_none());
        assert!(ExactArith::for_types(DecOp::Mul, (30, 10), (20, 10)).is_none());
    }
}

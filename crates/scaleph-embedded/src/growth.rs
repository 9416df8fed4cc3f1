//! Size limits for functions whose output grows with an argument (`REPEAT('x', 2000000000)`,
//! `RANGE(0, 10000000000)`): their results are allocated outside the query's memory pool, so
//! each call first bounds its output and refuses one larger than the query memory limit.
//!
//! Guarded: `repeat`, `lpad`, `rpad` (bytes: count × string length, or 4 bytes per padded
//! character), `array_repeat`, `array_resize`, `range`, `generate_series` over integers
//! (8 bytes per element). Everything else is delegated to DataFusion's implementation.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{cast, kernels::length::length};
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::{exec_err, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;

/// How a function's output size follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// `repeat(s, n)`: Σ len(s) × n bytes.
    Repeat,
    /// `lpad/rpad(s, n [, fill])`: Σ 4 × n bytes.
    Pad,
    /// `array_repeat(x, n)`, `array_resize(a, n [, v])`: Σ 8 × n bytes.
    Count,
    /// `range/generate_series([start,] stop [, step])` over integers: Σ 8 × |stop − start| / |step|.
    Range,
}

/// A DataFusion function with an output-size check before each call.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Guarded {
    inner: ScalarUDF,
    growth: Growth,
    max_bytes: usize,
}

/// Replaces the growing functions of `ctx` with guarded ones allowing `max_bytes` of output
/// per call (the query memory limit).
pub(crate) fn register(ctx: &SessionContext, max_bytes: usize) {
    for (name, growth) in [
        ("repeat", Growth::Repeat),
        ("lpad", Growth::Pad),
        ("rpad", Growth::Pad),
        ("array_repeat", Growth::Count),
        ("array_resize", Growth::Count),
        ("range", Growth::Range),
        ("generate_series", Growth::Range),
    ] {
        if let Ok(f) = ctx.udf(name) {
            ctx.register_udf(ScalarUDF::new_from_impl(Guarded {
                inner: f.as_ref().clone(),
                growth,
                max_bytes,
            }));
        }
    }
}

/// Per-row integer argument `i` (NULL → 0), as i64.
fn ints(args: &[ArrayRef], i: usize) -> Option<Vec<i64>> {
    let a = args.get(i)?;
    if !a.data_type().is_integer() {
        return None;
    }
    let a = cast(a, &DataType::Int64).ok()?;
    let a = a.as_primitive::<Int64Type>();
    Some(
        (0..a.len())
            .map(|r| if a.is_null(r) { 0 } else { a.value(r) })
            .collect(),
    )
}

impl Guarded {
    /// An upper bound of the call's output, bytes; `None` when it cannot be told (then the
    /// call goes ahead: DataFusion's own checks apply).
    fn bound(&self, args: &[ArrayRef]) -> Option<u128> {
        let pos = |v: i64| u128::try_from(v.max(0)).unwrap_or(0);
        match self.growth {
            Growth::Repeat => {
                let lens = length(args.first()?).ok()?;
                let lens = cast(&lens, &DataType::Int64).ok()?;
                let lens = lens.as_primitive::<Int64Type>();
                let counts = ints(args, 1)?;
                Some(
                    counts
                        .iter()
                        .enumerate()
                        .map(|(r, n)| pos(*n) * pos(lens.value(r)))
                        .sum(),
                )
            }
            Growth::Pad => Some(ints(args, 1)?.into_iter().map(|n| 4 * pos(n)).sum()),
            Growth::Count => Some(ints(args, 1)?.into_iter().map(|n| 8 * pos(n)).sum()),
            Growth::Range => {
                let (start, stop, step) = match args.len() {
                    1 => (None, ints(args, 0)?, None),
                    2 => (Some(ints(args, 0)?), ints(args, 1)?, None),
                    3 => (Some(ints(args, 0)?), ints(args, 1)?, Some(ints(args, 2)?)),
                    _ => return None,
                };
                Some(
                    (0..stop.len())
                        .map(|r| {
                            let from = start.as_ref().map_or(0, |s| s[r]);
                            let step = step.as_ref().map_or(1, |s| s[r]).unsigned_abs().max(1);
                            let span = (i128::from(stop[r]) - i128::from(from)).unsigned_abs();
                            8 * (span / u128::from(step) + 1)
                        })
                        .sum(),
                )
            }
        }
    }
}

impl ScalarUDFImpl for Guarded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        // Constant folding evaluates through `invoke_with_args` (guarded); other rewrites of
        // the inner function are kept.
        self.inner.simplify(args, info)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(n.max(1)))
            .collect::<Result<_>>()?;
        if let Some(bytes) = self.bound(&arrays) {
            if bytes > self.max_bytes as u128 {
                return exec_err!(
                    "{}(…) would produce about {bytes} bytes in one batch, more than the query memory limit of {} bytes (server setting --query-memory-mb)",
                    self.name().to_uppercase(),
                    self.max_bytes
                );
            }
        }
        self.inner.invoke_with_args(args)
    }
}

//! `RAND(seed)`, `RAND_INTEGER(bound)` and `RAND_INTEGER(seed, bound)` as Flink evaluates
//! them: a `java.util.Random` per call site, created once (from the seed, or unseeded) and
//! drawn once per row (`nextDouble()`, `nextInt(bound)`), so a seeded call gives Flink's
//! sequence of values in row order. A NULL seed or bound gives NULL.
//!
//! The generator is Java's 48-bit linear congruential generator (`java.util.Random`, after
//! Knuth, TAOCP vol. 2 §3.2.1): multiplier `0x5DEECE66D`, increment `0xB`.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Builder, Int32Builder};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// `java.util.Random`.
#[derive(Debug, Clone)]
pub(crate) struct JavaRandom(u64);

const MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    /// `new Random(seed)`.
    pub(crate) fn new(seed: i64) -> Self {
        JavaRandom((seed as u64 ^ 0x5DEE_CE66D) & MASK)
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.0 = self.0.wrapping_mul(0x5DEE_CE66D).wrapping_add(0xB) & MASK;
        (self.0 >> (48 - bits)) as u32 as i32
    }

    /// `nextDouble()`: [0, 1).
    pub(crate) fn next_double(&mut self) -> f64 {
        let hi = i64::from(self.next(26)) << 27;
        let lo = i64::from(self.next(27));
        (hi + lo) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `nextInt(bound)`: [0, bound), `bound > 0`.
    pub(crate) fn next_int(&mut self, bound: i32) -> i32 {
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }
}

/// Call sites numbered at planning, so each `RAND(…)` in a script has its own generator.
static SITES: AtomicI64 = AtomicI64::new(1);

/// A new call-site number.
pub(crate) fn next_site() -> i64 {
    SITES.fetch_add(1, Ordering::Relaxed)
}

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RandFn {
    /// `flink_rand(site, seed)` → DOUBLE.
    Rand,
    /// `flink_rand_integer(site, seeded (0/1), seed, bound)` → INT.
    RandInteger,
}

/// One of [`RandFn`] as a DataFusion UDF; holds the generators of its call sites.
#[derive(Debug)]
pub(crate) struct RandUdf {
    kind: RandFn,
    signature: Signature,
    generators: Mutex<HashMap<i64, JavaRandom>>,
}

impl PartialEq for RandUdf {
    fn eq(&self, o: &Self) -> bool {
        self.kind == o.kind
    }
}
impl Eq for RandUdf {}
impl std::hash::Hash for RandUdf {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.kind.hash(h)
    }
}

impl RandUdf {
    pub(crate) fn new(kind: RandFn) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Volatile),
            generators: Mutex::new(HashMap::new()),
        }
    }
}

impl ScalarUDFImpl for RandUdf {
    fn name(&self) -> &str {
        match self.kind {
            RandFn::Rand => "flink_rand",
            RandFn::RandInteger => "flink_rand_integer",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        let want = match self.kind {
            RandFn::Rand => 2,
            RandFn::RandInteger => 4,
        };
        if t.len() != want {
            return plan_err!("{}: wrong number of arguments", self.name());
        }
        Ok(vec![DataType::Int64; want])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            RandFn::Rand => DataType::Float64,
            RandFn::RandInteger => DataType::Int32,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = super::arg_arrays(&args)?;
        let site = arrays[0].as_primitive::<Int64Type>();
        // RAND(seed): (site, seed); RAND_INTEGER: (site, seeded, seed, bound).
        let (seeded, seed, bound) = match self.kind {
            RandFn::Rand => (None, arrays[1].as_primitive::<Int64Type>(), None),
            RandFn::RandInteger => (
                Some(arrays[1].as_primitive::<Int64Type>()),
                arrays[2].as_primitive::<Int64Type>(),
                Some(arrays[3].as_primitive::<Int64Type>()),
            ),
        };
        let is_seeded = |r: usize| seeded.is_none_or(|s| s.value(r) != 0);
        let mut gens = self.generators.lock().unwrap_or_else(|e| e.into_inner());
        let mut draw = |r: usize, f: &mut dyn FnMut(&mut JavaRandom)| {
            let g = gens.entry(site.value(r)).or_insert_with(|| {
                if is_seeded(r) {
                    JavaRandom::new(seed.value(r))
                } else {
                    let t = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as i64);
                    JavaRandom::new(t ^ site.value(r).rotate_left(32))
                }
            });
            f(g)
        };
        let out: ArrayRef = match bound {
            None => {
                let mut b = Float64Builder::with_capacity(n);
                for r in 0..n {
                    if seed.is_null(r) {
                        b.append_null();
                    } else {
                        draw(r, &mut |g| b.append_value(g.next_double()));
                    }
                }
                Arc::new(b.finish())
            }
            Some(bound) => {
                let mut b = Int32Builder::with_capacity(n);
                for r in 0..n {
                    if bound.is_null(r) || (is_seeded(r) && seed.is_null(r)) {
                        b.append_null();
                        continue;
                    }
                    let bd = match i32::try_from(bound.value(r)) {
                        Ok(bd) if bd > 0 => bd,
                        _ => {
                            return exec_err!(
                                "java.lang.IllegalArgumentException: bound must be positive (RAND_INTEGER bound {})",
                                bound.value(r)
                            )
                        }
                    };
                    draw(r, &mut |g| b.append_value(g.next_int(bd)));
                }
                Arc::new(b.finish())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::JavaRandom;

    #[test]
    fn java_random_sequences() {
        // As Flink 2.3 printed RAND(42), RAND_INTEGER(1, 1000) over three rows,
        // RAND_INTEGER(42, 100) and RAND_INTEGER(7, 16) (a power of two).
        assert_eq!(JavaRandom::new(42).next_double(), 0.7275636800328681);
        let mut r = JavaRandom::new(1);
        let v: Vec<i32> = (0..3).map(|_| r.next_int(1000)).collect();
        assert_eq!(v, [985, 588, 847]);
        assert_eq!(JavaRandom::new(42).next_int(100), 30);
        assert_eq!(JavaRandom::new(7).next_int(16), 11);
    }
}

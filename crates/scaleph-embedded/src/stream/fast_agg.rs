//! Native accumulators for group and window aggregates: `COUNT`, `SUM`, `MIN`, `MAX` over
//! integers, floating point, dates and timestamps, kept as one `i64`/`f64` and a count
//! instead of DataFusion accumulators (which the per-row changelog would call with one-row
//! arrays and evaluate into `ScalarValue`s for every input row).
//!
//! Results equal DataFusion's for these aggregates: `SUM` of integers wraps as Java's `long`
//! (DataFusion and Flink both), `SUM` of an empty or all-NULL input is NULL, `COUNT` counts
//! non-NULL arguments. Over a changelog (`-U`/`-D` input) `COUNT` and `SUM` subtract, and
//! `MIN`/`MAX` keep a count per distinct value (Flink's `MinWithRetractAggFunction` keeps a
//! map of value → count the same way), so their state can be checkpointed. `COUNT(DISTINCT)`
//! of integers keeps the same value → count map (Flink's distinct `MapView`), of strings over a
//! changelog a string → count map. `MIN`/`MAX` of strings keep the extreme (or, over a
//! changelog, a count per string); strings compare by their UTF-8 bytes, as Flink's
//! `BinaryStringData` and DataFusion's `MIN`/`MAX` do.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, NullBufferBuilder, StringArray,
    StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::Result;
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Bytes counted per value of a value-count map (a B-tree entry of two `i64`s and its share
/// of the node).
const VALUE_BYTES: isize = 32;

/// Which native aggregate a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FastKind {
    Count,
    SumInt,
    SumFloat,
    MinInt,
    MaxInt,
    MinFloat,
    MaxFloat,
    /// `MIN`/`MAX` over a changelog: counts per value.
    MinIntRetract,
    MaxIntRetract,
    MinFloatRetract,
    MaxFloatRetract,
    /// `COUNT(DISTINCT x)` of integers: counts per value, the result is how many there are.
    CountDistinct,
    /// `MIN`/`MAX` of strings.
    MinText,
    MaxText,
    /// `MIN`/`MAX` of strings over a changelog: counts per string.
    MinTextRetract,
    MaxTextRetract,
    /// `COUNT(DISTINCT x)` of strings over a changelog: counts per string, the result is how
    /// many there are.
    CountDistinctText,
}

/// Every kind, in the order of their snapshot codes (`kind as u64`).
pub(crate) const KINDS: [FastKind; 17] = [
    FastKind::Count,
    FastKind::SumInt,
    FastKind::SumFloat,
    FastKind::MinInt,
    FastKind::MaxInt,
    FastKind::MinFloat,
    FastKind::MaxFloat,
    FastKind::MinIntRetract,
    FastKind::MaxIntRetract,
    FastKind::MinFloatRetract,
    FastKind::MaxFloatRetract,
    FastKind::CountDistinct,
    FastKind::MinText,
    FastKind::MaxText,
    FastKind::MinTextRetract,
    FastKind::MaxTextRetract,
    FastKind::CountDistinctText,
];

/// An `f64` as an `i64` of the same total order (`f64::total_cmp`).
fn ordered(f: f64) -> i64 {
    let b = f.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// The inverse of [`ordered`].
fn unordered(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

fn int_like(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::Date32
            | DataType::Timestamp(..)
    )
}

impl FastKind {
    /// The native kind of aggregate `name` (DataFusion's function name) over `args`, when
    /// there is one; `retract`: the input is a changelog.
    pub(crate) fn of(name: &str, distinct: bool, args: &[DataType], retract: bool) -> Option<Self> {
        if args.len() != 1 {
            return None;
        }
        let t = &args[0];
        if distinct {
            // Flink's `COUNT(DISTINCT)` keeps a map of value -> count (`MapView`), so it
            // retracts; other DISTINCT aggregates stay on DataFusion's accumulators.
            let text = matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
            return match name {
                "count" if int_like(t) => Some(FastKind::CountDistinct),
                "count" if text && retract => Some(FastKind::CountDistinctText),
                _ => None,
            };
        }
        let float = matches!(t, DataType::Float32 | DataType::Float64);
        let text = matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
        let sum_int = int_like(t) && !matches!(t, DataType::Date32 | DataType::Timestamp(..));
        Some(match name {
            "count" => FastKind::Count,
            "sum" if sum_int => FastKind::SumInt,
            "sum" if float => FastKind::SumFloat,
            "min" if int_like(t) && retract => FastKind::MinIntRetract,
            "max" if int_like(t) && retract => FastKind::MaxIntRetract,
            "min" if float && retract => FastKind::MinFloatRetract,
            "max" if float && retract => FastKind::MaxFloatRetract,
            "min" if int_like(t) => FastKind::MinInt,
            "max" if int_like(t) => FastKind::MaxInt,
            "min" if float => FastKind::MinFloat,
            "max" if float => FastKind::MaxFloat,
            "min" if text && retract => FastKind::MinTextRetract,
            "max" if text && retract => FastKind::MaxTextRetract,
            "min" if text => FastKind::MinText,
            "max" if text => FastKind::MaxText,
            _ => return None,
        })
    }

    fn float(self) -> bool {
        matches!(
            self,
            FastKind::SumFloat
                | FastKind::MinFloat
                | FastKind::MaxFloat
                | FastKind::MinFloatRetract
                | FastKind::MaxFloatRetract
        )
    }

    /// Reads strings and keeps them in its state (`MIN`/`MAX` and `COUNT(DISTINCT)` of
    /// strings; checkpointed as [`FastExtra::One`] or [`FastExtra::Counts`]).
    pub(crate) fn text_state(self) -> bool {
        self.text() || self == FastKind::CountDistinctText
    }

    /// Retracts by keeping a count per distinct value, number or string: what `MIN`/`MAX` and
    /// `COUNT(DISTINCT)` over a changelog need.
    pub(crate) fn keeps_values(self) -> bool {
        self.counts_values()
            || matches!(
                self,
                FastKind::MinTextRetract | FastKind::MaxTextRetract | FastKind::CountDistinctText
            )
    }

    /// `MIN`/`MAX` of strings (a string result).
    pub(crate) fn text(self) -> bool {
        matches!(
            self,
            FastKind::MinText
                | FastKind::MaxText
                | FastKind::MinTextRetract
                | FastKind::MaxTextRetract
        )
    }

    /// Keeps a count per value (integer or float keys: [`FastAcc::counts`]).
    pub(crate) fn counts_values(self) -> bool {
        matches!(
            self,
            FastKind::MinIntRetract
                | FastKind::MaxIntRetract
                | FastKind::MinFloatRetract
                | FastKind::MaxFloatRetract
                | FastKind::CountDistinct
        )
    }
}

/// One call's argument over a batch, as the accumulator reads it.
pub(crate) enum FastArg {
    /// `COUNT`: only whether the value is NULL.
    Nulls(ArrayRef),
    Int(datafusion::arrow::array::PrimitiveArray<Int64Type>),
    Float(datafusion::arrow::array::PrimitiveArray<Float64Type>),
    Text(StringArray),
}

impl FastArg {
    /// The arguments of calls `kinds` (each call's first argument column in `args`).
    ///
    /// # Errors
    /// An argument cannot be cast to the kind's native type.
    pub(crate) fn all(kinds: &[FastKind], args: &[Vec<ArrayRef>]) -> Result<Vec<Self>> {
        kinds
            .iter()
            .zip(args)
            .map(|(k, a)| Self::new(*k, &a[0]))
            .collect()
    }

    /// `arg` (the call's evaluated argument) for `kind`.
    ///
    /// # Errors
    /// The cast to `i64`/`f64` fails.
    pub(crate) fn new(kind: FastKind, arg: &ArrayRef) -> Result<Self> {
        Ok(match kind {
            FastKind::Count => FastArg::Nulls(arg.clone()),
            k if k.text_state() => {
                FastArg::Text(cast(arg, &DataType::Utf8)?.as_string::<i32>().clone())
            }
            k if k.float() => FastArg::Float(
                cast(arg, &DataType::Float64)?
                    .as_primitive::<Float64Type>()
                    .clone(),
            ),
            _ => FastArg::Int(
                cast(arg, &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
        })
    }
}

/// A call's value: NULL, an integer, a float or a string.
#[derive(Debug, Clone)]
pub(crate) enum FastValue {
    Null,
    Int(i64),
    Float(f64),
    Text(Arc<str>),
}

impl PartialEq for FastValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (FastValue::Null, FastValue::Null) => true,
            (FastValue::Int(a), FastValue::Int(b)) => a == b,
            (FastValue::Float(a), FastValue::Float(b)) => a.to_bits() == b.to_bits(),
            (FastValue::Text(a), FastValue::Text(b)) => a == b,
            _ => false,
        }
    }
}

/// The state of one native accumulator: 24 bytes (a group holds one per call).
#[derive(Debug, Clone, Default)]
pub(crate) struct FastAcc {
    /// Sum or extreme: an `i64`, or an `f64`'s bits for the float kinds.
    v: i64,
    /// Non-NULL values accumulated minus retracted.
    pub(crate) n: i64,
    /// Value counts and strings (boxed: most accumulators have none).
    pub(crate) extra: Option<Box<FastExtra>>,
}

/// The state of a native accumulator beyond one number.
#[derive(Debug, Clone)]
pub(crate) enum FastExtra {
    /// `MIN`/`MAX` over a changelog: count per value (floats as [`ordered`] keys).
    Ordered(BTreeMap<i64, i64>),
    /// `COUNT(DISTINCT)`: count per value, unordered (a hash lookup instead of a B-tree
    /// descent per row).
    Distinct(datafusion::common::HashMap<i64, i64>),
    /// Append-only string `MIN`/`MAX`: the extreme so far.
    One(Arc<str>),
    /// String `MIN`/`MAX` over a changelog: count per string.
    Counts(BTreeMap<Arc<str>, i64>),
    /// `COUNT(DISTINCT x)` calls sharing one map (see [`Layout`]), held by the first: per value,
    /// one count per call.
    Shared(datafusion::common::HashMap<i64, SmallVec<[i64; 4]>>),
}

/// The bytes a value count's change by `d` made the state grow by, `c` being the count after.
fn count_growth(c: i64, d: i64, len: usize) -> isize {
    let entry = len as isize + VALUE_BYTES;
    if c == 0 {
        -entry
    } else if c == d {
        entry
    } else {
        0
    }
}

impl FastAcc {
    /// A state from a snapshot's `int`, `float` and `n` columns.
    pub(crate) fn restored(kind: FastKind, int: i64, float: f64, n: i64) -> Self {
        let v = if kind.float() {
            float.to_bits() as i64
        } else {
            int
        };
        Self { v, n, extra: None }
    }

    /// The integer sum or extreme (0 for float kinds).
    pub(crate) fn int(&self, kind: FastKind) -> i64 {
        if kind.float() {
            0
        } else {
            self.v
        }
    }

    /// The float sum or extreme (0 for integer kinds).
    pub(crate) fn float(&self, kind: FastKind) -> f64 {
        if kind.float() {
            f64::from_bits(self.v as u64)
        } else {
            0.0
        }
    }

    /// Adds (or, `retract`, removes) string `v` for text kind `kind`; returns the bytes the
    /// state grew by.
    fn update_text(&mut self, kind: FastKind, v: &str, retract: bool) -> isize {
        let d = if retract { -1 } else { 1 };
        self.n += d;
        if matches!(kind, FastKind::MinText | FastKind::MaxText) {
            let better = |cur: &str| match kind {
                FastKind::MinText => v < cur,
                _ => v > cur,
            };
            return match self.extra.as_deref_mut() {
                Some(FastExtra::One(cur)) if !better(cur) => 0,
                Some(FastExtra::One(cur)) => {
                    let grew = v.len() as isize - cur.len() as isize;
                    *cur = Arc::from(v);
                    grew
                }
                _ => {
                    self.extra = Some(Box::new(FastExtra::One(Arc::from(v))));
                    v.len() as isize + VALUE_BYTES
                }
            };
        }
        let extra = self
            .extra
            .get_or_insert_with(|| Box::new(FastExtra::Counts(BTreeMap::new())));
        let FastExtra::Counts(m) = &mut **extra else {
            unreachable!("a text kind's state")
        };
        let c = match m.get_mut(v) {
            Some(c) => {
                *c += d;
                *c
            }
            None => *m.entry(Arc::from(v)).or_insert(d),
        };
        if c == 0 {
            m.remove(v);
        }
        count_growth(c, d, v.len())
    }

    /// `MIN`/`MAX` over a changelog and `COUNT(DISTINCT)`: `d` more (negative: fewer) of
    /// `key`; returns the bytes the state grew by.
    fn count_value(&mut self, kind: FastKind, key: i64, d: i64) -> isize {
        self.n += d;
        let extra = self.extra.get_or_insert_with(|| {
            Box::new(if kind == FastKind::CountDistinct {
                FastExtra::Distinct(Default::default())
            } else {
                FastExtra::Ordered(Default::default())
            })
        });
        let c = match &mut **extra {
            FastExtra::Distinct(m) => {
                let c = m.entry(key).or_insert(0);
                *c += d;
                let c = *c;
                if c == 0 {
                    m.remove(&key);
                }
                c
            }
            FastExtra::Ordered(m) => {
                let c = m.entry(key).or_insert(0);
                *c += d;
                let c = *c;
                if c == 0 {
                    m.remove(&key);
                }
                c
            }
            _ => unreachable!("a value-counting kind's state"),
        };
        count_growth(c, d, 0)
    }

    /// The (value, count) pairs of a value-counting kind (see [`FastKind::counts_values`]),
    /// for a snapshot.
    pub(crate) fn counts(&self) -> Vec<(i64, i64)> {
        match self.extra.as_deref() {
            Some(FastExtra::Ordered(m)) => m.iter().map(|(v, c)| (*v, *c)).collect(),
            Some(FastExtra::Distinct(m)) => m.iter().map(|(v, c)| (*v, *c)).collect(),
            _ => Vec::new(),
        }
    }

    /// Restores what [`Self::counts`] returned for `kind`.
    pub(crate) fn set_counts(&mut self, kind: FastKind, pairs: Vec<(i64, i64)>) {
        if pairs.is_empty() {
            return;
        }
        self.extra = Some(Box::new(if kind == FastKind::CountDistinct {
            FastExtra::Distinct(pairs.into_iter().collect())
        } else {
            FastExtra::Ordered(pairs.into_iter().collect())
        }));
    }

    /// Bytes held outside the accumulator itself (value counts, strings), as [`Self::update`]
    /// charges them: for a state restored from a checkpoint.
    pub(crate) fn heap_bytes(&self) -> usize {
        let entry = VALUE_BYTES as usize;
        match self.extra.as_deref() {
            None => 0,
            Some(FastExtra::Ordered(m)) => m.len() * entry,
            Some(FastExtra::Distinct(m)) => m.len() * entry,
            Some(FastExtra::One(v)) => v.len() + entry,
            Some(FastExtra::Counts(m)) => m.keys().map(|k| k.len() + entry).sum(),
            Some(FastExtra::Shared(m)) => m.len() * SHARED_BYTES as usize,
        }
    }

    /// The current string extreme of text kind `kind`.
    fn text_value(&self, kind: FastKind) -> FastValue {
        let v = match self.extra.as_deref() {
            Some(FastExtra::One(v)) if self.n > 0 => Some(v),
            Some(FastExtra::Counts(m)) => match kind {
                FastKind::MinTextRetract => m.first_key_value().map(|(k, _)| k),
                _ => m.last_key_value().map(|(k, _)| k),
            },
            _ => None,
        };
        v.map_or(FastValue::Null, |v| FastValue::Text(v.clone()))
    }
}

impl FastAcc {
    /// Adds (or, `retract`, removes) row `r` of `arg`; returns by how many bytes the state grew
    /// (negative: shrank), for the operator's memory accounting.
    #[inline]
    pub(crate) fn update(
        &mut self,
        kind: FastKind,
        arg: &FastArg,
        r: usize,
        retract: bool,
    ) -> isize {
        let d = if retract { -1 } else { 1 };
        if kind.counts_values() {
            let key = match arg {
                FastArg::Int(a) if a.is_valid(r) => a.value(r),
                FastArg::Float(a) if a.is_valid(r) => ordered(a.value(r)),
                _ => return 0,
            };
            return self.count_value(kind, key, d);
        }
        match arg {
            FastArg::Text(a) => {
                if a.is_valid(r) {
                    return self.update_text(kind, a.value(r), retract);
                }
            }
            FastArg::Nulls(a) => {
                if a.is_valid(r) {
                    self.n += d;
                }
            }
            FastArg::Int(a) => {
                if a.is_null(r) {
                    return 0;
                }
                let v = a.value(r);
                match kind {
                    FastKind::SumInt => {
                        self.v = if retract {
                            self.v.wrapping_sub(v)
                        } else {
                            self.v.wrapping_add(v)
                        }
                    }
                    FastKind::MinInt if self.n == 0 || v < self.v => self.v = v,
                    FastKind::MaxInt if self.n == 0 || v > self.v => self.v = v,
                    _ => {}
                }
                self.n += d;
            }
            FastArg::Float(a) => {
                if a.is_null(r) {
                    return 0;
                }
                let v = a.value(r);
                let cur = f64::from_bits(self.v as u64);
                let new = match kind {
                    FastKind::SumFloat if retract => Some(cur - v),
                    FastKind::SumFloat => Some(cur + v),
                    // As DataFusion's MIN/MAX of floats: NaN is the largest value.
                    FastKind::MinFloat if self.n == 0 || v.total_cmp(&cur).is_lt() => Some(v),
                    FastKind::MaxFloat if self.n == 0 || v.total_cmp(&cur).is_gt() => Some(v),
                    _ => None,
                };
                if let Some(new) = new {
                    self.v = new.to_bits() as i64;
                }
                self.n += d;
            }
        }
        0
    }

    /// The aggregate's current result.
    #[inline]
    pub(crate) fn value(&self, kind: FastKind) -> FastValue {
        if kind.text() {
            return self.text_value(kind);
        }
        if kind == FastKind::CountDistinctText {
            return FastValue::Int(match self.extra.as_deref() {
                Some(FastExtra::Counts(m)) => m.len() as i64,
                _ => 0,
            });
        }
        if kind == FastKind::CountDistinct {
            // A shared map's calls count their distinct values in `v`.
            return FastValue::Int(match self.extra.as_deref() {
                Some(FastExtra::Distinct(m)) => m.len() as i64,
                _ => self.v,
            });
        }
        if kind.counts_values() {
            let m = match self.extra.as_deref() {
                Some(FastExtra::Ordered(m)) => Some(m),
                _ => None,
            };
            let key = match kind {
                FastKind::MinIntRetract | FastKind::MinFloatRetract => {
                    m.and_then(|m| m.first_key_value())
                }
                _ => m.and_then(|m| m.last_key_value()),
            };
            return match (key, kind.float()) {
                (None, _) => FastValue::Null,
                (Some((k, _)), true) => FastValue::Float(unordered(*k)),
                (Some((k, _)), false) => FastValue::Int(*k),
            };
        }
        match kind {
            FastKind::Count => FastValue::Int(self.n),
            _ if self.n <= 0 => FastValue::Null,
            k if k.float() => FastValue::Float(f64::from_bits(self.v as u64)),
            _ => FastValue::Int(self.v),
        }
    }
}

/// Bytes counted per value of a shared distinct map (its key, inline counts and table share).
const SHARED_BYTES: isize = 56;

/// A call's part in a [`Layout`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    /// Its own state.
    Own,
    /// The first `COUNT(DISTINCT x)` call of its argument: holds the shared map, whose counts
    /// are these calls' (itself first).
    Lead(Vec<usize>),
    /// Another `COUNT(DISTINCT x)` call of the same argument: its counts are at `pos` in
    /// `lead`'s map.
    Member { lead: usize, pos: usize },
}

/// Where each call of an aggregate keeps its state: `COUNT(DISTINCT x)` calls over the same
/// argument (with different `FILTER`s) share one map of value → per-call counts, so a row
/// looks its value up once. Flink shares a distinct `MapView` per field the same way
/// (`AggregateUtil`'s `DistinctInfo`, a count per filter). A shared call's result (its number
/// of values with a non-zero count) is kept in its accumulator's `v`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    roles: Vec<Role>,
}

impl Layout {
    /// The layout of calls `kinds` whose first arguments are `args` (calls whose arguments
    /// compare equal share).
    pub(crate) fn new(
        kinds: &[FastKind],
        args: &[Option<&Arc<dyn datafusion::physical_expr::PhysicalExpr>>],
    ) -> Self {
        let mut roles = vec![Role::Own; kinds.len()];
        for i in 0..kinds.len() {
            if kinds[i] != FastKind::CountDistinct || roles[i] != Role::Own {
                continue;
            }
            let Some(a) = args[i] else { continue };
            let same: Vec<usize> = (i..kinds.len())
                .filter(|&j| {
                    kinds[j] == FastKind::CountDistinct
                        && roles[j] == Role::Own
                        && args[j].is_some_and(|b| b == a)
                })
                .collect();
            if same.len() < 2 {
                continue;
            }
            for (pos, &j) in same.iter().enumerate().skip(1) {
                roles[j] = Role::Member { lead: i, pos };
            }
            roles[i] = Role::Lead(same);
        }
        Self { roles }
    }

    /// Adds (or, `retract`, removes) row `r` of `args` to one group's accumulators `accs`:
    /// every call `i` for which `passes(i)` (its `FILTER`); returns by how many bytes the
    /// state grew.
    #[inline]
    pub(crate) fn update(
        &self,
        kinds: &[FastKind],
        accs: &mut [FastAcc],
        args: &[FastArg],
        r: usize,
        retract: bool,
        passes: impl Fn(usize) -> bool,
    ) -> isize {
        let mut grew = 0;
        for (i, k) in kinds.iter().enumerate() {
            match self.roles.get(i) {
                Some(Role::Lead(calls)) => {
                    grew += Self::update_shared(calls, accs, &args[i], r, retract, &passes);
                }
                Some(Role::Member { .. }) => {}
                _ if passes(i) => grew += accs[i].update(*k, &args[i], r, retract),
                _ => {}
            }
        }
        grew
    }

    /// [`Self::update`] of the calls `calls` sharing a map (held by `calls[0]`).
    fn update_shared(
        calls: &[usize],
        accs: &mut [FastAcc],
        arg: &FastArg,
        r: usize,
        retract: bool,
        passes: &impl Fn(usize) -> bool,
    ) -> isize {
        let FastArg::Int(a) = arg else { return 0 };
        if a.is_null(r) || !calls.iter().any(|&j| passes(j)) {
            return 0;
        }
        let d = if retract { -1 } else { 1 };
        let mut extra = accs[calls[0]]
            .extra
            .take()
            .unwrap_or_else(|| Box::new(FastExtra::Shared(Default::default())));
        let FastExtra::Shared(m) = &mut *extra else {
            unreachable!("a shared distinct call's state")
        };
        let mut grew = 0;
        let counts = m.entry(a.value(r)).or_insert_with(|| {
            grew = SHARED_BYTES;
            smallvec::smallvec![0; calls.len()]
        });
        for (pos, &j) in calls.iter().enumerate() {
            if !passes(j) {
                continue;
            }
            let before = counts[pos];
            counts[pos] += d;
            if before == 0 {
                accs[j].v += 1;
            } else if counts[pos] == 0 {
                accs[j].v -= 1;
            }
        }
        if counts.iter().all(|c| *c == 0) {
            m.remove(&a.value(r));
            grew -= SHARED_BYTES;
        }
        accs[calls[0]].extra = Some(extra);
        grew
    }

    /// Call `i`'s (value, count) pairs in `accs`, as [`FastAcc::counts`] gives them.
    pub(crate) fn counts(&self, accs: &[FastAcc], i: usize) -> Vec<(i64, i64)> {
        let (lead, pos) = match &self.roles[i] {
            Role::Own => return accs[i].counts(),
            Role::Lead(_) => (i, 0),
            Role::Member { lead, pos } => (*lead, *pos),
        };
        match accs[lead].extra.as_deref() {
            Some(FastExtra::Shared(m)) => m
                .iter()
                .filter(|(_, c)| c[pos] != 0)
                .map(|(v, c)| (*v, c[pos]))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Restores call `i`'s pairs (see [`Self::counts`]) into `accs`.
    pub(crate) fn set_counts(
        &self,
        kind: FastKind,
        accs: &mut [FastAcc],
        i: usize,
        pairs: Vec<(i64, i64)>,
    ) {
        let (lead, pos, n) = match &self.roles[i] {
            Role::Own => return accs[i].set_counts(kind, pairs),
            Role::Lead(calls) => (i, 0, calls.len()),
            Role::Member { lead, pos } => match &self.roles[*lead] {
                Role::Lead(calls) => (*lead, *pos, calls.len()),
                _ => return,
            },
        };
        accs[i].v = pairs.len() as i64;
        let extra = accs[lead]
            .extra
            .get_or_insert_with(|| Box::new(FastExtra::Shared(Default::default())));
        if let FastExtra::Shared(m) = &mut **extra {
            for (v, c) in pairs {
                m.entry(v).or_insert_with(|| smallvec::smallvec![0; n])[pos] = c;
            }
        }
    }
}

/// A column of `values` typed `to` (built as `Int64`/`Float64`, then cast).
///
/// # Errors
/// The cast fails.
pub(crate) fn column(kind: FastKind, values: &[FastValue], to: &DataType) -> Result<ArrayRef> {
    let mut c = OutColumn::new(kind, values.len());
    values.iter().for_each(|v| c.push(v));
    c.finish(to)
}

/// A call's output column being built, one [`FastValue`] at a time (a value of another type
/// than the call's is NULL).
pub(crate) enum OutColumn {
    Int(Vec<i64>, NullBufferBuilder),
    Float(Vec<f64>, NullBufferBuilder),
    Text(StringBuilder),
}

impl OutColumn {
    /// An empty column of `kind`'s results, room for `rows`.
    pub(crate) fn new(kind: FastKind, rows: usize) -> Self {
        if kind.text() {
            OutColumn::Text(StringBuilder::with_capacity(rows, 16 * rows))
        } else if kind.float() {
            OutColumn::Float(Vec::with_capacity(rows), NullBufferBuilder::new(rows))
        } else {
            OutColumn::Int(Vec::with_capacity(rows), NullBufferBuilder::new(rows))
        }
    }

    pub(crate) fn push(&mut self, v: &FastValue) {
        match (self, v) {
            (OutColumn::Int(c, n), FastValue::Int(i)) => {
                c.push(*i);
                n.append_non_null();
            }
            (OutColumn::Int(c, n), _) => {
                c.push(0);
                n.append_null();
            }
            (OutColumn::Float(c, n), FastValue::Float(f)) => {
                c.push(*f);
                n.append_non_null();
            }
            (OutColumn::Float(c, n), _) => {
                c.push(0.0);
                n.append_null();
            }
            (OutColumn::Text(b), FastValue::Text(s)) => b.append_value(s),
            (OutColumn::Text(b), _) => b.append_null(),
        }
    }

    /// The column, cast to `to` (built as `Int64`/`Float64`/`Utf8`).
    ///
    /// # Errors
    /// The cast fails.
    pub(crate) fn finish(self, to: &DataType) -> Result<ArrayRef> {
        let a: ArrayRef = match self {
            OutColumn::Int(c, mut n) => Arc::new(Int64Array::new(c.into(), n.finish())),
            OutColumn::Float(c, mut n) => Arc::new(Float64Array::new(c.into(), n.finish())),
            OutColumn::Text(mut b) => Arc::new(b.finish()),
        };
        Ok(if a.data_type() == to {
            a
        } else {
            cast(&a, to)?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int32Array};

    #[test]
    fn sums_counts_and_extremes_with_nulls_and_retraction() {
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(3), None, Some(-5), Some(7)]));
        let a = FastArg::new(FastKind::SumInt, &ints).unwrap();
        let mut sum = FastAcc::default();
        let mut min = FastAcc::default();
        let mut count = FastAcc::default();
        let c = FastArg::new(FastKind::Count, &ints).unwrap();
        assert_eq!(sum.value(FastKind::SumInt), FastValue::Null);
        for r in 0..4 {
            sum.update(FastKind::SumInt, &a, r, false);
            min.update(FastKind::MinInt, &a, r, false);
            count.update(FastKind::Count, &c, r, false);
        }
        assert_eq!(sum.value(FastKind::SumInt), FastValue::Int(5));
        assert_eq!(min.value(FastKind::MinInt), FastValue::Int(-5));
        assert_eq!(count.value(FastKind::Count), FastValue::Int(3));
        for r in [0, 2, 3] {
            sum.update(FastKind::SumInt, &a, r, true);
        }
        assert_eq!(sum.value(FastKind::SumInt), FastValue::Null);
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![1.5, f64::NAN, -2.0]));
        let f = FastArg::new(FastKind::MaxFloat, &floats).unwrap();
        let mut max = FastAcc::default();
        for r in 0..3 {
            max.update(FastKind::MaxFloat, &f, r, false);
        }
        assert!(matches!(max.value(FastKind::MaxFloat), FastValue::Float(v) if v.is_nan()));
        let kind = FastKind::of("max", false, &[DataType::Int64], true).unwrap();
        assert_eq!(kind, FastKind::MaxIntRetract);
        let mut max = FastAcc::default();
        for r in 0..4 {
            max.update(kind, &a, r, false);
        }
        assert_eq!(max.value(kind), FastValue::Int(7));
        max.update(kind, &a, 3, true);
        assert_eq!(max.value(kind), FastValue::Int(3));
        for r in [0, 2] {
            max.update(kind, &a, r, true);
        }
        assert_eq!(max.value(kind), FastValue::Null);
        let kind = FastKind::of("count", true, &[DataType::Int32], false).unwrap();
        assert_eq!(kind, FastKind::CountDistinct);
        assert_eq!(FastKind::of("sum", true, &[DataType::Int32], false), None);
        let dup: ArrayRef = Arc::new(Int32Array::from(vec![Some(4), None, Some(4), Some(9)]));
        let d = FastArg::new(kind, &dup).unwrap();
        let mut distinct = FastAcc::default();
        assert_eq!(distinct.value(kind), FastValue::Int(0));
        for r in 0..4 {
            distinct.update(kind, &d, r, false);
        }
        assert_eq!(distinct.value(kind), FastValue::Int(2));
        distinct.update(kind, &d, 0, true);
        assert_eq!(distinct.value(kind), FastValue::Int(2));
        // The last 4 leaves the map: its bytes are given back.
        assert_eq!(distinct.update(kind, &d, 2, true), -VALUE_BYTES);
        assert_eq!(distinct.value(kind), FastValue::Int(1));
        for f in [-0.0, 0.0, -3.5, 2.25, f64::NAN, f64::NEG_INFINITY] {
            assert_eq!(unordered(ordered(f)).to_bits(), f.to_bits());
        }
        assert!(ordered(-3.5) < ordered(-0.0) && ordered(-0.0) < ordered(0.0));
        assert!(ordered(2.25) < ordered(f64::NAN));
    }

    /// `COUNT(DISTINCT x)` calls over one argument with different filters give, sharing one
    /// map, what each gives with its own map, through retractions, and their snapshot pairs
    /// restore into the same results.
    #[test]
    fn shared_distinct_counts_equal_separate_ones() {
        use datafusion::physical_expr::expressions::Column;
        use datafusion::physical_expr::PhysicalExpr;
        let x: Arc<dyn PhysicalExpr> = Arc::new(Column::new("x", 0));
        let y: Arc<dyn PhysicalExpr> = Arc::new(Column::new("y", 1));
        let kinds = [
            FastKind::CountDistinct,
            FastKind::Count,
            FastKind::CountDistinct,
            FastKind::CountDistinct,
            FastKind::CountDistinct,
        ];
        let args = [Some(&x), Some(&x), Some(&x), Some(&y), Some(&x)];
        let layout = Layout::new(&kinds, &args);
        assert_eq!(layout.roles[0], Role::Lead(vec![0, 2, 4]));
        assert_eq!(layout.roles[3], Role::Own, "another argument");
        let mut rng = crate::stream::store::tests::Lcg(11);
        let vals: ArrayRef = Arc::new(datafusion::arrow::array::Int64Array::from_iter(
            (0..4_000).map(|i| (i % 13 != 0).then(|| (rng.next() % 300) as i64)),
        ));
        let fargs: Vec<FastArg> = kinds
            .iter()
            .map(|k| FastArg::new(*k, &vals).unwrap())
            .collect();
        let mut shared = vec![FastAcc::default(); kinds.len()];
        let mut own = vec![FastAcc::default(); kinds.len()];
        // Filters: call i takes row r when (r + i) % (i + 1) != 0.
        let passes = |i: usize, r: usize| !(r + i).is_multiple_of(i + 1) || i == 0;
        let mut bytes = 0isize;
        for step in 0..7_000usize {
            let (r, retract) = if step < 4_000 {
                (step, false)
            } else {
                (step - 4_000, true)
            };
            bytes += layout.update(&kinds, &mut shared, &fargs, r, retract, |i| passes(i, r));
            for (i, k) in kinds.iter().enumerate() {
                if passes(i, r) {
                    own[i].update(*k, &fargs[i], r, retract);
                }
            }
            if step % 250 == 0 || step == 6_999 {
                for (i, k) in kinds.iter().enumerate() {
                    assert_eq!(shared[i].value(*k), own[i].value(*k), "call {i} at {step}");
                }
            }
        }
        assert!(own[4].value(FastKind::CountDistinct) != FastValue::Int(0));
        let held: usize = shared.iter().map(FastAcc::heap_bytes).sum();
        assert_eq!(bytes, held as isize, "growth charged as held");
        let mut restored = vec![FastAcc::default(); kinds.len()];
        for (i, k) in kinds.iter().enumerate() {
            let mut pairs = layout.counts(&shared, i);
            pairs.sort();
            let mut want = own[i].counts();
            want.sort();
            assert_eq!(pairs, want, "call {i}'s pairs");
            if k.counts_values() {
                layout.set_counts(*k, &mut restored, i, pairs);
            } else {
                restored[i] = shared[i].clone();
            }
        }
        for (i, k) in kinds.iter().enumerate() {
            assert_eq!(restored[i].value(*k), own[i].value(*k), "restored call {i}");
        }
    }
}

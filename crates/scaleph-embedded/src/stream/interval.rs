//! Event-time interval joins (Flink's `IntervalJoin`, runtime `TimeIntervalJoin` /
//! `RowTimeIntervalJoin`): `l.k = r.k AND r.ts BETWEEN l.ts - a AND l.ts + b` over
//! insert-only inputs, with Flink's rules:
//!
//! - a row joins the cached rows of the other side whose time is in its window, unless that
//!   side's expiration time (the watermark minus the window, minus 1 ms) has passed the window's
//!   upper bound; expired rows met on the way are removed (outer: padded with NULLs if they
//!   never joined);
//! - a row is cached while the watermark has not passed its window's upper bound; otherwise an
//!   outer row that joined nothing is emitted padded at once;
//! - per key and side one clean-up timer, at the first cached row's time + the window + half
//!   of both windows + 1 ms; when the watermark passes it, expired rows go (padded when outer
//!   and never joined) and the timer moves to the earliest row left.
//!
//! The output is insert-only and keeps both time attributes; the watermark passed on is held
//! back by the larger window, as Flink's `KeyedCoProcessOperatorWithWatermarkDelay`.

use super::checkpoint::{get_rows, put_keys, put_rows, StateReader, StateWriter};
use super::join::JoinSide;
use super::ops::{Operator, ENTRY_OVERHEAD};
use super::Chunk;
use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions, UInt32Array,
};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::row::{OwnedRow, RowConverter};
use datafusion::common::HashMap;
use datafusion::common::{DataFusionError, Result};
use datafusion::physical_expr::PhysicalExpr;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A cached row and whether it has joined (emitted) a row.
struct Cached {
    row: OwnedRow,
    emitted: bool,
}

/// One side's cache: per join key, rows by time.
#[derive(Default)]
struct Cache {
    rows: HashMap<Box<[u8]>, BTreeMap<i64, Vec<Cached>>>,
    /// The clean-up timer of each key.
    timer: HashMap<Box<[u8]>, i64>,
    bytes: usize,
}

/// Clean-up timers: at each time, the (join key, side) whose cache is cleaned then.
type Timers = BTreeMap<i64, Vec<(Box<[u8]>, usize)>>;

/// The interval join operator; `sides[0]` is the left input.
pub(crate) struct IntervalJoin {
    keys: [Vec<Arc<dyn PhysicalExpr>>; 2],
    outer: [bool; 2],
    types: [Vec<datafusion::arrow::datatypes::DataType>; 2],
    /// Index of each side's rowtime column.
    times: [usize; 2],
    /// Flink's `leftRelativeSize` (= −lower bound of `l.ts − r.ts`) and `rightRelativeSize`
    /// (= its upper bound), ms.
    rel: [i64; 2],
    key_types: Vec<datafusion::arrow::datatypes::DataType>,
    condition: Option<Arc<dyn PhysicalExpr>>,
    schema: SchemaRef,
    caches: [Cache; 2],
    /// `leftExpirationTime` / `rightExpirationTime`.
    expiration: [i64; 2],
    timers: Timers,
    wm: i64,
    key_conv: Option<RowConverter>,
    row_conv: [Option<RowConverter>; 2],
}

/// Flink's `calExpirationTime` (allowed lateness 0).
fn expiration_time(operator_time: i64, relative: i64) -> i64 {
    if operator_time == i64::MAX {
        i64::MAX
    } else {
        operator_time.saturating_sub(relative).saturating_sub(1)
    }
}

impl IntervalJoin {
    /// A join of `left` and `right` where `lower <= l.ts − r.ts <= upper` (ms); `times` are the
    /// rowtime column indexes of each side.
    pub(crate) fn new(
        left: JoinSide,
        right: JoinSide,
        key_types: Vec<datafusion::arrow::datatypes::DataType>,
        condition: Option<Arc<dyn PhysicalExpr>>,
        schema: SchemaRef,
        times: [usize; 2],
        (lower, upper): (i64, i64),
    ) -> Self {
        Self {
            keys: [left.keys, right.keys],
            outer: [left.outer, right.outer],
            types: [left.types, right.types],
            times,
            rel: [-lower, upper],
            key_types,
            condition,
            schema,
            caches: [Cache::default(), Cache::default()],
            expiration: [0, 0],
            timers: BTreeMap::new(),
            wm: i64::MIN,
            key_conv: None,
            row_conv: [None, None],
        }
    }

    /// Half of both windows: how long clean-up waits past expiration (`minCleanUpInterval`).
    fn min_cleanup(&self) -> i64 {
        (self.rel[0] + self.rel[1]) / 2
    }

    /// Registers side `s`'s clean-up timer for `key` from a row at `time`.
    fn register(&mut self, s: usize, key: &[u8], time: i64) {
        let at = time
            .saturating_add(self.rel[s])
            .saturating_add(self.min_cleanup())
            .saturating_add(1);
        self.caches[s].timer.insert(key.into(), at);
        self.timers.entry(at).or_default().push((key.into(), s));
    }

    /// Output rows: `(left part, right part)`, each a row of its side or NULL padding.
    fn emit(
        &self,
        rows: Vec<(Option<OwnedRow>, Option<OwnedRow>)>,
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let mut cols: Vec<ArrayRef> = Vec::new();
        for s in 0..2 {
            let present: Vec<&OwnedRow> = rows
                .iter()
                .filter_map(|r| if s == 0 { r.0.as_ref() } else { r.1.as_ref() })
                .collect();
            if present.is_empty() {
                cols.extend(self.types[s].iter().map(|t| new_null_array(t, n)));
                continue;
            }
            let conv = self.row_conv[s]
                .as_ref()
                .ok_or_else(|| DataFusionError::Internal("interval join without rows".into()))?;
            let arrays = conv.convert_rows(present.iter().map(|r| r.row()))?;
            let mut next = 0u32;
            let idx: UInt32Array = rows
                .iter()
                .map(|r| {
                    let has = if s == 0 { r.0.is_some() } else { r.1.is_some() };
                    has.then(|| {
                        next += 1;
                        next - 1
                    })
                })
                .collect();
            for a in arrays {
                cols.push(take(a.as_ref(), &idx, None)?);
            }
        }
        out.push(super::changelog(&self.schema, cols, vec![0; n])?);
        Ok(())
    }

    /// Whether the non-equi condition holds for `left` and `right`.
    fn matches(&self, left: &OwnedRow, right: &OwnedRow) -> Result<bool> {
        let Some(cond) = &self.condition else {
            return Ok(true);
        };
        let mut cols = Vec::new();
        for (s, r) in [(0, left), (1, right)] {
            let conv = self.row_conv[s]
                .as_ref()
                .ok_or_else(|| DataFusionError::Internal("interval join without rows".into()))?;
            cols.extend(conv.convert_rows(std::iter::once(r.row()))?);
        }
        let pair = RecordBatch::try_new_with_options(
            self.schema.clone(),
            super::conform(cols, self.schema.fields().iter().map(|f| f.data_type()))?,
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )?;
        let m = cond.evaluate(&pair)?.into_array(1)?;
        let m = m
            .as_boolean_opt()
            .ok_or_else(|| DataFusionError::Execution("join condition is not a BOOLEAN".into()))?;
        Ok(m.is_valid(0) && m.value(0))
    }

    /// Removes side `s`'s rows under `key` at or before `expiry`; returns the padded rows of
    /// those that never joined (outer side).
    fn expire(&mut self, s: usize, key: &[u8], expiry: i64) -> Vec<OwnedRow> {
        let mut padded = Vec::new();
        let cache = &mut self.caches[s];
        let Some(times) = cache.rows.get_mut(key) else {
            return padded;
        };
        let keep = times.split_off(&expiry.saturating_add(1));
        let gone = std::mem::replace(times, keep);
        for (_, rows) in gone {
            for c in rows {
                cache.bytes -= c.row.row().data().len() + key.len() + ENTRY_OVERHEAD;
                if self.outer[s] && !c.emitted {
                    padded.push(c.row);
                }
            }
        }
        if times.is_empty() {
            cache.rows.remove(key);
        }
        padded
    }
}

impl Operator for IntervalJoin {
    fn process(&mut self, input: usize, c: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        let s = input.min(1);
        let o = 1 - s;
        let b = &c.batch;
        let n = b.num_rows();
        let keys = self.keys[s]
            .iter()
            .map(|k| k.evaluate(b)?.into_array(n))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let mut keys = super::conform(keys, &self.key_types)?;
        if keys.is_empty() {
            keys.push(Arc::new(datafusion::arrow::array::BooleanArray::from(
                vec![true; n],
            )));
        }
        let null_key: Vec<bool> = (0..n).map(|r| keys.iter().any(|k| k.is_null(r))).collect();
        let key_rows = super::encode(&mut self.key_conv, &keys)?;
        let cols = super::conform(b.columns().iter().cloned(), &self.types[s])?;
        let rows = super::encode(&mut self.row_conv[s], &cols)?;
        if self.row_conv[o].is_none() {
            let empty: Vec<ArrayRef> = self.types[o].iter().map(|t| new_null_array(t, 0)).collect();
            super::encode(&mut self.row_conv[o], &empty)?;
        }
        let times = super::exec::millis(b.column(self.times[s]).as_ref())?;
        // Flink's operator time: the watermark (0 before the first one).
        let operator_time = self.wm.max(0);
        let mut output = Vec::new();
        for r in 0..n {
            let Some(t) = times[r] else { continue };
            let me = rows.row(r).owned();
            // The other side's qualifying window for this row.
            let (lo, hi) = if s == 0 {
                (t - self.rel[1], t + self.rel[0])
            } else {
                (t - self.rel[0], t + self.rel[1])
            };
            let key: Box<[u8]> = key_rows.row(r).data().into();
            let mut emitted = false;
            if !null_key[r] && self.expiration[o] < hi {
                self.expiration[o] = expiration_time(operator_time, self.rel[o]);
                let expiry = self.expiration[o];
                if let Some(cached) = self.caches[o].rows.get(&key) {
                    let mut joined = Vec::new();
                    for (&ot, list) in cached.range(lo..=hi) {
                        for (i, other) in list.iter().enumerate() {
                            let ok = if s == 0 {
                                self.matches(&me, &other.row)?
                            } else {
                                self.matches(&other.row, &me)?
                            };
                            if ok {
                                joined.push((ot, i));
                                output.push(if s == 0 {
                                    (Some(me.clone()), Some(other.row.clone()))
                                } else {
                                    (Some(other.row.clone()), Some(me.clone()))
                                });
                            }
                        }
                    }
                    emitted = !joined.is_empty();
                    if let Some(cached) = self.caches[o].rows.get_mut(&key) {
                        for (ot, i) in joined {
                            if let Some(c) = cached.get_mut(&ot).and_then(|l| l.get_mut(i)) {
                                c.emitted = true;
                            }
                        }
                    }
                }
                for padded in self.expire(o, &key, expiry) {
                    output.push(if o == 0 {
                        (Some(padded), None)
                    } else {
                        (None, Some(padded))
                    });
                }
            }
            if operator_time < hi && !null_key[r] {
                let cache = &mut self.caches[s];
                cache.bytes += me.row().data().len() + key.len() + ENTRY_OVERHEAD;
                cache
                    .rows
                    .entry(key.clone())
                    .or_default()
                    .entry(t)
                    .or_default()
                    .push(Cached { row: me, emitted });
                if !cache.timer.contains_key(&key) {
                    self.register(s, &key, t);
                }
            } else if !emitted && self.outer[s] {
                output.push(if s == 0 {
                    (Some(me), None)
                } else {
                    (None, Some(me))
                });
            }
        }
        self.emit(output, out)
    }

    fn watermark(&mut self, wm: i64, out: &mut Vec<Chunk>) -> Result<()> {
        self.wm = wm;
        let mut output = Vec::new();
        while let Some((&at, _)) = self.timers.first_key_value() {
            if at > wm {
                break;
            }
            let (_, due) = self.timers.pop_first().expect("checked");
            for (key, s) in due {
                if self.caches[s].timer.get(&key) != Some(&at) {
                    continue;
                }
                self.caches[s].timer.remove(&key);
                let expiry = expiration_time(wm.max(0), self.rel[s]);
                self.expiration[s] = expiry;
                for padded in self.expire(s, &key, expiry) {
                    output.push(if s == 0 {
                        (Some(padded), None)
                    } else {
                        (None, Some(padded))
                    });
                }
                let earliest = self.caches[s]
                    .rows
                    .get(&key)
                    .and_then(|t| t.keys().next().copied());
                if let Some(earliest) = earliest {
                    self.register(s, &key, earliest);
                }
            }
        }
        self.emit(output, out)
    }

    fn output_watermark(&self, wm: i64) -> i64 {
        if wm == i64::MAX {
            wm
        } else {
            wm.saturating_sub(self.rel[0].max(self.rel[1]))
        }
    }

    fn state_rows(&self) -> usize {
        self.caches
            .iter()
            .flat_map(|c| c.rows.values())
            .flat_map(|t| t.values())
            .map(Vec::len)
            .sum()
    }

    fn state_bytes(&self) -> usize {
        self.caches[0].bytes + self.caches[1].bytes
    }
    fn name(&self) -> &'static str {
        "IntervalJoin"
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn signature(&self) -> String {
        let name = format!(
            "IntervalJoin({}, {}, {}..{} ms)",
            if self.outer[0] { "outer" } else { "inner" },
            if self.outer[1] { "outer" } else { "inner" },
            -self.rel[0],
            self.rel[1]
        );
        super::ops::schema_signature(&name, &self.schema)
    }

    /// Watermark and expiration times; per side, per key: per time the rows' joined flags and
    /// the clean-up timer; then the keys and rows as Arrow columns.
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        w.i64(self.wm);
        w.i64(self.expiration[0]);
        w.i64(self.expiration[1]);
        for s in 0..2 {
            let c = &self.caches[s];
            w.u64(c.rows.len() as u64);
            let mut n = 0;
            for (key, by_time) in &c.rows {
                w.u64(by_time.len() as u64);
                for (t, rows) in by_time {
                    w.i64(*t);
                    w.u64(rows.len() as u64);
                    for r in rows {
                        w.u64(u64::from(r.emitted));
                    }
                    n += rows.len();
                }
                w.i64(c.timer.get(key).copied().unwrap_or(i64::MIN));
            }
            put_keys(
                w,
                self.key_conv.as_ref(),
                c.rows.keys().map(|k| &k[..]),
                c.rows.len(),
            )?;
            let rows = c
                .rows
                .values()
                .flat_map(|bt| bt.values().flat_map(|v| v.iter().map(|r| r.row.row())));
            put_rows(w, self.row_conv[s].as_ref(), rows, n)?;
        }
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        self.wm = r.i64()?;
        self.expiration = [r.i64()?, r.i64()?];
        for s in 0..2 {
            let nk = r.u64()? as usize;
            let mut shape = Vec::with_capacity(nk.min(1 << 20));
            for _ in 0..nk {
                let nt = r.u64()? as usize;
                let mut times = Vec::with_capacity(nt.min(1 << 20));
                for _ in 0..nt {
                    let t = r.i64()?;
                    let n = r.u64()? as usize;
                    let flags = (0..n)
                        .map(|_| r.u64().map(|f| f == 1))
                        .collect::<Result<Vec<_>>>()?;
                    times.push((t, flags));
                }
                shape.push((times, r.i64()?));
            }
            let keys = get_rows(r, &mut self.key_conv)?;
            let rows = get_rows(r, &mut self.row_conv[s])?;
            let mut at = 0;
            for (i, (times, timer)) in shape.into_iter().enumerate() {
                let (Some(k), Some(rr)) = (&keys, &rows) else {
                    return Err(DataFusionError::Execution(
                        "checkpoint: an interval join's state lacks its rows".into(),
                    ));
                };
                let key: Box<[u8]> = k.row(i).data().into();
                let cache = &mut self.caches[s];
                let mut by_time = BTreeMap::new();
                for (t, flags) in times {
                    let mut v = Vec::with_capacity(flags.len());
                    for emitted in flags {
                        let row = rr.row(at).owned();
                        at += 1;
                        cache.bytes += row.row().data().len() + key.len() + ENTRY_OVERHEAD;
                        v.push(Cached { row, emitted });
                    }
                    by_time.insert(t, v);
                }
                if timer != i64::MIN {
                    cache.timer.insert(key.clone(), timer);
                    self.timers.entry(timer).or_default().push((key.clone(), s));
                }
                cache.rows.insert(key, by_time);
            }
        }
        Ok(())
    }
}

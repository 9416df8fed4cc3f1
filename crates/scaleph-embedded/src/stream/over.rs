//! Streaming `OVER` aggregation ordered by the time attribute (Flink 2.3's `OverAggregate`:
//! `RowTimeRowsUnboundedPrecedingFunction`, `RowTimeRangeUnboundedPrecedingFunction`,
//! `RowTimeRowsBoundedPrecedingFunction`, `RowTimeRangeBoundedPrecedingFunction`).
//!
//! Rows wait until the watermark reaches their rowtime; then, per key and rowtime in ascending
//! order, each is emitted once (`+I`) with the aggregates over its frame:
//! - `ROWS … PRECEDING`: rows of equal rowtime enter one by one, in arrival order;
//! - `RANGE … PRECEDING`: rows of equal rowtime enter together and share their values;
//! - a bounded frame retracts rows leaving it (`n` rows back, or rowtime older than the
//!   current one minus the interval).
//!
//! Late rows are dropped and counted as on Flink: with an unbounded frame, rows at or behind the
//! watermark; with a bounded one, rows not after the key's last emitted rowtime (0 before any).

use super::checkpoint::{get_rows, put_rows, row_slices, StateReader, StateWriter};
use super::ops::{passes, schema_signature, AggCall, Operator, ENTRY_OVERHEAD};
use super::Chunk;
use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::row::{OwnedRow, RowConverter};
use datafusion::common::HashMap;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::PhysicalExpr;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// The frame of an `OVER` window; it always ends at the current row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// `ROWS BETWEEN n PRECEDING` (`None`: `UNBOUNDED`).
    Rows(Option<u64>),
    /// `RANGE BETWEEN INTERVAL … PRECEDING`, in ms (`None`: `UNBOUNDED`).
    Range(Option<i64>),
}

impl Frame {
    fn bounded(self) -> bool {
        matches!(self, Frame::Rows(Some(_)) | Frame::Range(Some(_)))
    }
}

/// A row (Arrow row format) and its key.
type Keyed = (Box<[u8]>, OwnedRow);

/// One key's state.
struct Key {
    accs: Vec<Box<dyn Accumulator>>,
    /// Bounded frames: the rows in the frame, oldest first, with their rowtimes.
    frame: VecDeque<(i64, OwnedRow)>,
    /// The last rowtime emitted (Flink's `lastTriggeringTs`; 0 before any).
    last: i64,
}

/// The `OVER` operator: output = the input columns, then one column per aggregate.
pub(crate) struct OverAggregate {
    partition: Vec<Arc<dyn PhysicalExpr>>,
    rowtime: usize,
    frame: Frame,
    calls: Vec<AggCall>,
    schema: SchemaRef,
    /// Input column types (rows are kept in Arrow's row format of these).
    types: Vec<DataType>,
    /// The input columns (nullable), for evaluating aggregate arguments over kept rows.
    in_schema: SchemaRef,
    part_conv: Option<RowConverter>,
    row_conv: Option<RowConverter>,
    /// Rows waiting for the watermark, by rowtime, in arrival order.
    pending: BTreeMap<i64, Vec<Keyed>>,
    keys: HashMap<Box<[u8]>, Key>,
    wm: i64,
    late: u64,
    bytes: usize,
    pending_rows: usize,
}

impl OverAggregate {
    /// `calls` over `frame` per `partition` key, ordered by input column `rowtime`.
    pub(crate) fn new(
        partition: Vec<Arc<dyn PhysicalExpr>>,
        rowtime: usize,
        frame: Frame,
        calls: Vec<AggCall>,
        schema: SchemaRef,
        types: Vec<DataType>,
    ) -> Self {
        let in_schema = Arc::new(Schema::new(
            types
                .iter()
                .enumerate()
                .map(|(i, t)| Field::new(schema.field(i).name(), t.clone(), true))
                .collect::<Vec<_>>(),
        ));
        Self {
            partition,
            rowtime,
            frame,
            calls,
            schema,
            types,
            in_schema,
            part_conv: None,
            row_conv: None,
            pending: BTreeMap::new(),
            keys: HashMap::new(),
            wm: i64::MIN,
            late: 0,
            bytes: 0,
            pending_rows: 0,
        }
    }

    fn new_key(&self) -> Result<Key> {
        let accs = self
            .calls
            .iter()
            .map(|c| {
                if self.frame.bounded() {
                    c.expr.create_sliding_accumulator()
                } else {
                    c.expr.create_accumulator()
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Key {
            accs,
            frame: VecDeque::new(),
            last: 0,
        })
    }

    /// Adds (`retract` false) or retracts `rows` (input rows) to the accumulators of `key`.
    fn apply(&self, key: &mut Key, rows: &[&OwnedRow], retract: bool) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let conv = self.row_conv.as_ref().expect("rows came");
        let cols = conv.convert_rows(rows.iter().map(|r| r.row()))?;
        let batch = RecordBatch::try_new(self.in_schema.clone(), cols)?;
        let (args, masks) = AggCall::inputs(&self.calls, &batch)?;
        for (i, acc) in key.accs.iter_mut().enumerate() {
            let args = match &masks[i] {
                None => args[i].clone(),
                Some(_) => {
                    let keep: Vec<u32> = (0..batch.num_rows())
                        .filter(|r| passes(&masks, i, *r))
                        .map(|r| r as u32)
                        .collect();
                    let idx = UInt32Array::from(keep);
                    args[i]
                        .iter()
                        .map(|a| Ok(take(a.as_ref(), &idx, None)?))
                        .collect::<Result<Vec<ArrayRef>>>()?
                }
            };
            if retract {
                acc.retract_batch(&args)?;
            } else {
                acc.update_batch(&args)?;
            }
        }
        Ok(())
    }

    fn values(key: &mut Key) -> Result<Vec<ScalarValue>> {
        key.accs.iter_mut().map(|a| a.evaluate()).collect()
    }

    /// Emits `rows` (all of rowtime `t`, one key) with their aggregates into `out_rows`.
    fn fire(
        &self,
        key: &mut Key,
        t: i64,
        rows: Vec<OwnedRow>,
        out_rows: &mut Vec<OwnedRow>,
        out_vals: &mut Vec<Vec<ScalarValue>>,
    ) -> Result<usize> {
        let mut freed = 0;
        match self.frame {
            Frame::Rows(bound) => {
                for row in rows {
                    self.apply(key, &[&row], false)?;
                    if let Some(n) = bound {
                        key.frame.push_back((t, row.clone()));
                        while key.frame.len() as u64 > n + 1 {
                            let (_, old) = key.frame.pop_front().expect("non-empty");
                            self.apply(key, &[&old], true)?;
                            freed += old.row().data().len() + ENTRY_OVERHEAD;
                        }
                    }
                    out_vals.push(Self::values(key)?);
                    out_rows.push(row);
                }
            }
            Frame::Range(bound) => {
                let refs: Vec<&OwnedRow> = rows.iter().collect();
                self.apply(key, &refs, false)?;
                if let Some(ms) = bound {
                    key.frame.extend(rows.iter().map(|r| (t, r.clone())));
                    let mut gone = Vec::new();
                    while key.frame.front().is_some_and(|(ft, _)| *ft < t - ms) {
                        gone.push(key.frame.pop_front().expect("non-empty").1);
                    }
                    let refs: Vec<&OwnedRow> = gone.iter().collect();
                    self.apply(key, &refs, true)?;
                    freed += gone
                        .iter()
                        .map(|r| r.row().data().len() + ENTRY_OVERHEAD)
                        .sum::<usize>();
                }
                let v = Self::values(key)?;
                for row in rows {
                    out_vals.push(v.clone());
                    out_rows.push(row);
                }
            }
        }
        key.last = t;
        Ok(freed)
    }
}

impl Operator for OverAggregate {
    fn process(&mut self, _input: usize, c: Chunk, _out: &mut Vec<Chunk>) -> Result<()> {
        let b = &c.batch;
        let n = b.num_rows();
        let parts = self
            .partition
            .iter()
            .map(|e| e.evaluate(b)?.into_array(n))
            .collect::<Result<Vec<_>>>()?;
        // No PARTITION BY: one key (the empty one).
        let prow = if parts.is_empty() {
            None
        } else {
            Some(super::encode(&mut self.part_conv, &parts)?)
        };
        let cols = super::conform(b.columns().iter().cloned(), &self.types)?;
        let rrow = super::encode(&mut self.row_conv, &cols)?;
        let ts = super::exec::millis(b.column(self.rowtime).as_ref())?;
        for (r, t) in ts.into_iter().enumerate() {
            let Some(t) = t else { continue };
            let key: Box<[u8]> = prow
                .as_ref()
                .map_or(Box::default(), |p| p.row(r).data().into());
            let late = if self.frame.bounded() {
                t <= self.keys.get(&key).map_or(0, |k| k.last)
            } else {
                t <= self.wm
            };
            if late {
                self.late += 1;
                continue;
            }
            let row = rrow.row(r).owned();
            self.bytes += row.row().data().len() + key.len() + ENTRY_OVERHEAD;
            self.pending_rows += 1;
            self.pending.entry(t).or_default().push((key, row));
        }
        Ok(())
    }

    fn watermark(&mut self, wm: i64, out: &mut Vec<Chunk>) -> Result<()> {
        self.wm = wm;
        let mut out_rows = Vec::new();
        let mut out_vals = Vec::new();
        while let Some((&t, _)) = self.pending.first_key_value() {
            if t > wm {
                break;
            }
            let (_, rows) = self.pending.pop_first().expect("checked");
            self.pending_rows -= rows.len();
            // Per key, in the order keys first appeared at this rowtime.
            let mut order: Vec<Box<[u8]>> = Vec::new();
            let mut by_key: HashMap<Box<[u8]>, Vec<OwnedRow>> = HashMap::new();
            for (k, row) in rows {
                self.bytes -= k.len();
                if !self.frame.bounded() {
                    self.bytes -= row.row().data().len() + ENTRY_OVERHEAD;
                }
                let e = by_key.entry(k.clone()).or_default();
                if e.is_empty() {
                    order.push(k);
                }
                e.push(row);
            }
            for k in order {
                let rows = by_key.remove(&k).expect("grouped");
                let mut key = match self.keys.remove(&k) {
                    Some(key) => key,
                    None => {
                        self.bytes += k.len() + ENTRY_OVERHEAD;
                        self.new_key()?
                    }
                };
                let freed = self.fire(&mut key, t, rows, &mut out_rows, &mut out_vals)?;
                self.bytes = self.bytes.saturating_sub(freed);
                self.keys.insert(k, key);
            }
        }
        if out_rows.is_empty() {
            return Ok(());
        }
        let rc = self.row_conv.as_ref().expect("rows came");
        let mut cols = rc.convert_rows(out_rows.iter().map(|r| r.row()))?;
        for i in 0..self.calls.len() {
            cols.push(ScalarValue::iter_to_array(
                out_vals.iter().map(|v| v[i].clone()),
            )?);
        }
        let n = out_rows.len();
        out.push(super::changelog(&self.schema, cols, vec![0; n])?);
        Ok(())
    }

    fn late_rows(&self) -> u64 {
        self.late
    }

    fn state_rows(&self) -> usize {
        self.pending_rows
            + self
                .keys
                .values()
                .map(|k| k.frame.len().max(1))
                .sum::<usize>()
    }

    fn state_bytes(&self) -> usize {
        self.bytes
    }

    fn name(&self) -> &'static str {
        "OverAggregate"
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn signature(&self) -> String {
        schema_signature(&format!("OverAggregate({:?})", self.frame), &self.schema)
    }

    /// Watermark, counters; pending rowtimes, keys and rows; per key its last rowtime, frame
    /// rowtimes and rows and (unbounded frames) accumulator states.
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        w.i64(self.wm);
        w.u64(self.late);
        let pending: Vec<(i64, &Box<[u8]>, &OwnedRow)> = self
            .pending
            .iter()
            .flat_map(|(t, rows)| rows.iter().map(move |(k, r)| (*t, k, r)))
            .collect();
        w.u64(pending.len() as u64);
        for (t, k, _) in &pending {
            w.i64(*t);
            w.bytes(k);
        }
        let rc = self.row_conv.as_ref();
        put_rows(
            w,
            rc,
            pending.iter().map(|(_, _, r)| r.row()),
            pending.len(),
        )?;
        let mut keys: Vec<(&Box<[u8]>, &mut Key)> = self.keys.iter_mut().collect();
        w.u64(keys.len() as u64);
        for (k, key) in keys.iter_mut() {
            w.bytes(k);
            w.i64(key.last);
            w.u64(key.frame.len() as u64);
            for (t, _) in &key.frame {
                w.i64(*t);
            }
            put_rows(
                w,
                rc,
                key.frame.iter().map(|(_, r)| r.row()),
                key.frame.len(),
            )?;
            if !self.frame.bounded() {
                let states = key
                    .accs
                    .iter_mut()
                    .map(|a| a.state())
                    .collect::<Result<Vec<_>>>()?;
                for st in states {
                    w.rows(st.len(), &[st])?;
                }
            }
        }
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        let bad =
            || DataFusionError::Execution("checkpoint: OverAggregate state is truncated".into());
        self.wm = r.i64()?;
        self.late = r.u64()?;
        let n = r.u64()? as usize;
        let mut heads = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            let t = r.i64()?;
            heads.push((t, Box::<[u8]>::from(r.bytes()?)));
        }
        let prows = get_rows(r, &mut self.row_conv)?;
        for (i, (t, key)) in heads.into_iter().enumerate() {
            let Some(rows) = &prows else {
                return Err(bad());
            };
            let row = rows.row(i).owned();
            self.bytes += row.row().data().len() + key.len() + ENTRY_OVERHEAD;
            self.pending_rows += 1;
            self.pending.entry(t).or_default().push((key, row));
        }
        let nkeys = r.u64()? as usize;
        for _ in 0..nkeys {
            let k: Box<[u8]> = r.bytes()?.into();
            let last = r.i64()?;
            let nf = r.u64()? as usize;
            let fts = (0..nf).map(|_| r.i64()).collect::<Result<Vec<_>>>()?;
            let frows = get_rows(r, &mut self.row_conv)?;
            let mut key = self.new_key()?;
            key.last = last;
            if let Some(rows) = frows {
                for (i, t) in fts.into_iter().enumerate() {
                    key.frame.push_back((t, rows.row(i).owned()));
                }
                let all: Vec<OwnedRow> = key.frame.iter().map(|(_, r)| r.clone()).collect();
                let refs: Vec<&OwnedRow> = all.iter().collect();
                self.apply(&mut key, &refs, false)?;
                self.bytes += all
                    .iter()
                    .map(|r| r.row().data().len() + ENTRY_OVERHEAD)
                    .sum::<usize>();
            }
            if !self.frame.bounded() {
                for acc in key.accs.iter_mut() {
                    let (n, cols) = r.rows()?;
                    if n > 0 {
                        acc.merge_batch(&row_slices(&cols, 0, cols.len(), 0))?;
                    }
                }
            }
            self.bytes += k.len() + ENTRY_OVERHEAD;
            self.keys.insert(k, key);
        }
        Ok(())
    }
}

//! Top-N, deduplication and `LIMIT` over streams (Flink's `Rank`, `Deduplicate`, `Limit`,
//! `SortLimit`, `WindowRank`, `WindowDeduplicate` nodes), with `ROW_NUMBER` semantics.
//!
//! Per partition the rows are kept sorted by the `ORDER BY` key, ties in arrival order (for
//! [`Ties::Newest`], the newest first: Flink's keep-last deduplication). After each input row the
//! rows ranked `lo..=hi` are compared, rank by rank, with what was emitted before: a new rank is
//! `+I`, a changed one `-U` old / `+U` new, a vanished one `-D` (Flink's retract Top-N output
//! keyed by partition and rank). Over an insert-only input only the first `hi` rows are kept.
//!
//! In window mode (the partition holds `window_start` and `window_end`) rows wait for the
//! watermark to reach `window_end − 1`; then the window's ranks are emitted once, as `+I`, and
//! its state purged. Rows of a window that has fired are late: dropped and counted.
//!
//! Kept rows are shared (`Arc`) between the sorted rows, the emitted ranks and the changes of
//! one input chunk; a chunk's changes decode each distinct row once (a shift of ranks emits
//! every moved row twice, as `+U` of one rank and `-U` of the next).

use super::checkpoint::{get_cols, get_rows, put_keys, put_rows, StateReader, StateWriter};
use super::ops::{schema_signature, Operator};
use super::{Chunk, RowKind};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, UInt64Array};
use datafusion::arrow::compute::{cast, SortOptions};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit, TimestampMillisecondType};
use datafusion::arrow::row::{OwnedRow, RowConverter, SortField};
use datafusion::common::HashMap;
use datafusion::common::Result;
use datafusion::physical_expr::PhysicalExpr;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which of two rows with equal `ORDER BY` keys ranks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ties {
    /// The one that arrived first (Top-N, keep-first deduplication).
    Oldest,
    /// The one that arrived last (keep-last deduplication).
    Newest,
}

/// A kept row, shared by a partition's rows, its emitted ranks and pending changes.
type Shared = Arc<OwnedRow>;

/// A sorted partition.
#[derive(Default)]
struct Part {
    /// (sort key, arrival, row), ascending by (sort key, arrival order per [`Ties`]).
    rows: Vec<(OwnedRow, u64, Shared)>,
    /// Rows emitted for ranks `lo..=hi` (index 0 is rank `lo`).
    emitted: Vec<Shared>,
    /// Window mode: the window's end (epoch ms).
    end: i64,
}

/// The Top-N operator. Output: the input columns, then — when `number` — the rank (`BIGINT`).
pub(crate) struct Rank {
    pub(crate) partition: Vec<Arc<dyn PhysicalExpr>>,
    pub(crate) order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
    /// Ranks kept, 1-based inclusive.
    pub(crate) lo: u64,
    pub(crate) hi: u64,
    pub(crate) ties: Ties,
    /// The input is insert-only: rows beyond `hi` can never come back. (The planner sends an
    /// insert-only input without windows to [`super::topn::TopN`]; this path is its reference
    /// in the tests.)
    pub(crate) append_only: bool,
    /// Window mode: index of the `window_end` input column.
    pub(crate) window_end: Option<usize>,
    /// Append the rank number column.
    pub(crate) number: bool,
    pub(crate) schema: SchemaRef,
    /// Input column types.
    pub(crate) types: Vec<DataType>,
    part_conv: Option<RowConverter>,
    sort_conv: Option<RowConverter>,
    row_conv: Option<RowConverter>,
    parts: HashMap<Box<[u8]>, Part>,
    by_end: BTreeMap<i64, Vec<Box<[u8]>>>,
    seq: u64,
    wm: i64,
    late: u64,
    bytes: usize,
}

/// Bytes counted for one kept row.
fn kept_bytes(sort: &OwnedRow, row: &OwnedRow) -> usize {
    sort.row().data().len() + row.row().data().len() + super::ops::ENTRY_OVERHEAD
}

impl Rank {
    /// A Top-N of rows ranked `lo..=hi` per partition.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        partition: Vec<Arc<dyn PhysicalExpr>>,
        order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
        (lo, hi): (u64, u64),
        ties: Ties,
        append_only: bool,
        window_end: Option<usize>,
        number: bool,
        schema: SchemaRef,
        types: Vec<DataType>,
    ) -> Self {
        Self {
            partition,
            order,
            lo,
            hi,
            ties,
            append_only,
            window_end,
            number,
            schema,
            types,
            part_conv: None,
            sort_conv: None,
            row_conv: None,
            parts: HashMap::new(),
            by_end: BTreeMap::new(),
            seq: 0,
            wm: i64::MIN,
            late: 0,
            bytes: 0,
        }
    }

    /// `exprs` evaluated over `b`; no expression: one constant column (so every row has the
    /// same encodable key).
    pub(crate) fn eval(
        exprs: impl Iterator<Item = Arc<dyn PhysicalExpr>>,
        b: &RecordBatch,
    ) -> Result<Vec<ArrayRef>> {
        let n = b.num_rows();
        let mut cols = exprs
            .map(|e| e.evaluate(b)?.into_array(n))
            .collect::<Result<Vec<_>>>()?;
        if cols.is_empty() {
            // No key: one constant column, so every row has the same (encodable) key.
            cols.push(Arc::new(BooleanArray::from(vec![true; n])));
        }
        Ok(cols)
    }

    /// The row converter of the `ORDER BY` keys `sorts` (with their directions).
    fn sort_converter(&self, sorts: &[ArrayRef]) -> Result<RowConverter> {
        sort_converter(&self.order, sorts)
    }

    /// Over an insert-only input without windows, a row whose sort key cannot enter the kept
    /// ranks of partition `part` (full, and the row would rank after the last) changes
    /// nothing.
    fn cannot_enter(&self, part: &[u8], sort: datafusion::arrow::row::Row<'_>) -> bool {
        if !self.append_only || self.window_end.is_some() {
            return false;
        }
        let Some(p) = self.parts.get(part) else {
            return false;
        };
        match p.rows.get(self.hi as usize - 1) {
            None => false,
            Some((last, _, _)) => match self.ties {
                Ties::Oldest => sort >= last.row(),
                Ties::Newest => sort > last.row(),
            },
        }
    }

    /// Keeps `row` (sort key `sort`) in partition `part`; returns the kept row's address.
    fn insert(&mut self, part: &[u8], sort: OwnedRow, row: OwnedRow) -> *const OwnedRow {
        self.seq += 1;
        let seq = self.seq;
        let row = Arc::new(row);
        let at_addr = Arc::as_ptr(&row);
        let p = self.parts.get_mut(part).expect("partition exists");
        let at = match self.ties {
            Ties::Oldest => p.rows.partition_point(|(k, _, _)| k.row() <= sort.row()),
            Ties::Newest => p.rows.partition_point(|(k, _, _)| k.row() < sort.row()),
        };
        self.bytes += kept_bytes(&sort, &row);
        p.rows.insert(at, (sort, seq, row));
        if self.append_only && self.window_end.is_none() && p.rows.len() > self.hi as usize {
            for (s, _, r) in p.rows.drain(self.hi as usize..) {
                self.bytes -= kept_bytes(&s, &r);
            }
        }
        at_addr
    }

    /// The changes of partition `part`'s ranks since the last emission; `true` when the
    /// partition is left empty (nothing kept, nothing emitted).
    fn diff(&mut self, part: &[u8], changes: &mut Vec<(RowKind, Shared, u64)>) -> bool {
        let (lo, hi) = (self.lo as usize, self.hi as usize);
        let p = self.parts.get_mut(part).expect("partition exists");
        let Part { rows, emitted, .. } = p;
        // Only ranks whose row changed are copied (most input rows change none).
        let mut i = 0;
        for (_, _, n) in rows.iter().skip(lo - 1).take(hi + 1 - lo) {
            let rank = (lo + i) as u64;
            match emitted.get_mut(i) {
                None => {
                    changes.push((RowKind::Insert, n.clone(), rank));
                    emitted.push(n.clone());
                }
                Some(o) if o != n => {
                    let old = std::mem::replace(o, n.clone());
                    changes.push((RowKind::UpdateBefore, old, rank));
                    changes.push((RowKind::UpdateAfter, n.clone(), rank));
                }
                Some(_) => {}
            }
            i += 1;
        }
        for (k, o) in emitted.drain(i..).enumerate() {
            changes.push((RowKind::Delete, o, (lo + i + k) as u64));
        }
        rows.is_empty() && emitted.is_empty()
    }

    /// Emits `changes` as one chunk. `fresh`: rows kept from the batch being processed (by
    /// address, valid while `changes` holds them) and that batch's columns — those rows are
    /// copied from the columns, the others decoded from their row format.
    fn emit(
        &mut self,
        changes: Vec<(RowKind, Shared, u64)>,
        fresh: Option<(&HashMap<*const OwnedRow, u32>, &[ArrayRef])>,
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let conv = self
            .row_conv
            .as_ref()
            .expect("converters exist once rows came");
        // Each distinct kept row decoded once, then gathered in the changes' order.
        let mut first: HashMap<*const OwnedRow, u32> = HashMap::with_capacity(changes.len());
        let mut unique: Vec<&OwnedRow> = Vec::with_capacity(changes.len());
        if let Some((fresh, input)) = fresh {
            // (0, i): the i-th decoded row; (1, r): row r of the input.
            let mut at: Vec<(usize, usize)> = Vec::with_capacity(changes.len());
            for (_, r, _) in &changes {
                let p = Arc::as_ptr(r);
                at.push(match fresh.get(&p) {
                    Some(&i) => (1, i as usize),
                    None => (
                        0,
                        *first.entry(p).or_insert_with(|| {
                            unique.push(r);
                            unique.len() as u32 - 1
                        }) as usize,
                    ),
                });
            }
            let decoded = conv.convert_rows(unique.iter().map(|r| r.row()))?;
            let mut cols = decoded
                .iter()
                .zip(input)
                .map(|(d, i)| {
                    // Decoding may normalise a type (a dictionary to its values).
                    let i = if i.data_type() == d.data_type() {
                        i.clone()
                    } else {
                        cast(i, d.data_type())?
                    };
                    datafusion::arrow::compute::interleave(&[d.as_ref(), i.as_ref()], &at)
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            self.finish(&changes, &mut cols, out)?;
            return Ok(());
        }
        let idx: Vec<u32> = changes
            .iter()
            .map(|(_, r, _)| {
                *first.entry(Arc::as_ptr(r)).or_insert_with(|| {
                    unique.push(r);
                    unique.len() as u32 - 1
                })
            })
            .collect();
        let mut cols = conv.convert_rows(unique.iter().map(|r| r.row()))?;
        if unique.len() < changes.len() {
            let idx = datafusion::arrow::array::UInt32Array::from(idx);
            cols = cols
                .iter()
                .map(|c| datafusion::arrow::compute::take(c.as_ref(), &idx, None))
                .collect::<std::result::Result<_, _>>()?;
        }
        self.finish(&changes, &mut cols, out)
    }

    /// Adds the rank column (when numbered) and the kinds of `changes` to their rows `cols`.
    fn finish(
        &self,
        changes: &[(RowKind, Shared, u64)],
        cols: &mut Vec<ArrayRef>,
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        if self.number {
            cols.push(Arc::new(UInt64Array::from_iter_values(
                changes.iter().map(|(_, _, n)| *n),
            )));
        }
        let kinds: Vec<u8> = changes.iter().map(|(k, _, _)| *k as u8).collect();
        out.push(super::changelog(&self.schema, std::mem::take(cols), kinds)?);
        Ok(())
    }
}

impl Operator for Rank {
    fn process(&mut self, _input: usize, c: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        let b = &c.batch;
        let n = b.num_rows();
        let parts = Self::eval(self.partition.iter().cloned(), b)?;
        let sorts = Self::eval(self.order.iter().map(|(e, _)| e.clone()), b)?;
        if self.sort_conv.is_none() {
            self.sort_conv = Some(self.sort_converter(&sorts)?);
        }
        let prow = super::encode(&mut self.part_conv, &parts)?;
        let srow = self
            .sort_conv
            .as_ref()
            .expect("set above")
            .convert_columns(&sorts)?;
        let cols = super::conform(b.columns().iter().cloned(), &self.types)?;
        let rrow = super::encode(&mut self.row_conv, &cols)?;
        let ends = match self.window_end {
            Some(i) => Some(
                cast(
                    b.column(i),
                    &DataType::Timestamp(TimeUnit::Millisecond, None),
                )?
                .as_primitive::<TimestampMillisecondType>()
                .clone(),
            ),
            None => None,
        };
        let mut changes = Vec::new();
        // Rows of this batch kept, by address: a row freed within the batch may leave its
        // address to a later one, whose entry then replaces its own. A row that `changes`
        // holds at emission and that was kept before the batch held its address throughout
        // the batch, so no entry names it.
        let mut fresh: HashMap<*const OwnedRow, u32> = HashMap::new();
        for r in 0..n {
            let kind = c.kinds.as_ref().map_or(0, |k| k[r]);
            let retract = kind == RowKind::UpdateBefore as u8 || kind == RowKind::Delete as u8;
            if !retract && self.cannot_enter(prow.row(r).data(), srow.row(r)) {
                continue;
            }
            // The partition's key is copied only when the partition is new.
            let part = prow.row(r).data();
            if let Some(ends) = &ends {
                let end = ends.value(r);
                if ends.is_null(r) || end - 1 <= self.wm {
                    self.late += 1;
                    continue;
                }
                if !self.parts.contains_key(part) {
                    let key: Box<[u8]> = part.into();
                    self.by_end.entry(end).or_default().push(key.clone());
                    self.parts.insert(
                        key,
                        Part {
                            end,
                            ..Default::default()
                        },
                    );
                }
                self.insert(part, srow.row(r).owned(), rrow.row(r).owned());
                continue;
            }
            if retract {
                let me = rrow.row(r);
                let Some(p) = self.parts.get_mut(part) else {
                    continue;
                };
                if let Some(i) = p.rows.iter().position(|(_, _, x)| x.row() == me) {
                    let (s, _, r) = p.rows.remove(i);
                    self.bytes -= kept_bytes(&s, &r);
                }
            } else {
                if !self.parts.contains_key(part) {
                    self.parts.insert(part.into(), Part::default());
                }
                let kept = self.insert(part, srow.row(r).owned(), rrow.row(r).owned());
                fresh.insert(kept, r as u32);
            }
            if self.diff(part, &mut changes) {
                self.parts.remove(part);
            }
        }
        self.emit(changes, Some((&fresh, &cols)), out)
    }

    fn watermark(&mut self, wm: i64, out: &mut Vec<Chunk>) -> Result<()> {
        self.wm = wm;
        if self.window_end.is_none() {
            return Ok(());
        }
        let mut changes = Vec::new();
        while let Some((&end, _)) = self.by_end.first_key_value() {
            if end - 1 > wm {
                break;
            }
            let (_, parts) = self.by_end.pop_first().expect("checked");
            for part in parts {
                self.diff(&part, &mut changes);
                let p = self.parts.remove(&part).expect("partition of a window");
                debug_assert_eq!(p.end, end);
                for (s, _, r) in &p.rows {
                    self.bytes -= kept_bytes(s, r);
                }
            }
        }
        self.emit(changes, None, out)
    }

    fn late_rows(&self) -> u64 {
        self.late
    }

    fn state_rows(&self) -> usize {
        self.parts.values().map(|p| p.rows.len()).sum()
    }

    fn state_bytes(&self) -> usize {
        self.bytes
    }

    fn name(&self) -> &'static str {
        match (self.window_end.is_some(), self.ties) {
            (true, _) => "WindowRank",
            (false, Ties::Newest) => "Deduplicate",
            (false, Ties::Oldest) => "Rank",
        }
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn signature(&self) -> String {
        schema_signature(self.name(), &self.schema)
    }

    /// Counters; per partition its window end, arrival numbers and counts; then partition
    /// keys, sort keys, rows and emitted rows as Arrow columns.
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        w.i64(self.wm);
        w.u64(self.late);
        w.u64(self.seq);
        w.u64(self.parts.len() as u64);
        for p in self.parts.values() {
            w.i64(p.end);
            w.u64(p.rows.len() as u64);
            w.u64(p.emitted.len() as u64);
            for (_, seq, _) in &p.rows {
                w.u64(*seq);
            }
        }
        let n: usize = self.parts.values().map(|p| p.rows.len()).sum();
        let e: usize = self.parts.values().map(|p| p.emitted.len()).sum();
        put_keys(
            w,
            self.part_conv.as_ref(),
            self.parts.keys().map(|k| &k[..]),
            self.parts.len(),
        )?;
        let sorts = self
            .parts
            .values()
            .flat_map(|p| p.rows.iter().map(|(s, _, _)| s.row()));
        put_rows(w, self.sort_conv.as_ref(), sorts, n)?;
        let rows = self
            .parts
            .values()
            .flat_map(|p| p.rows.iter().map(|(_, _, r)| r.row()));
        put_rows(w, self.row_conv.as_ref(), rows, n)?;
        let emitted = self
            .parts
            .values()
            .flat_map(|p| p.emitted.iter().map(|r| r.row()));
        put_rows(w, self.row_conv.as_ref(), emitted, e)?;
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        self.wm = r.i64()?;
        self.late = r.u64()?;
        self.seq = r.u64()?;
        let np = r.u64()? as usize;
        let mut heads = Vec::with_capacity(np.min(1 << 20));
        for _ in 0..np {
            let (end, rows, emitted) = (r.i64()?, r.u64()? as usize, r.u64()? as usize);
            let seqs = (0..rows).map(|_| r.u64()).collect::<Result<Vec<_>>>()?;
            heads.push((end, seqs, emitted));
        }
        let keys = get_rows(r, &mut self.part_conv)?;
        let sort_cols = get_cols(r)?;
        if !sort_cols.is_empty() {
            self.sort_conv = Some(self.sort_converter(&sort_cols)?);
        }
        let sorts = match &self.sort_conv {
            Some(c) if !sort_cols.is_empty() => Some(c.convert_columns(&sort_cols)?),
            _ => None,
        };
        let rows = get_rows(r, &mut self.row_conv)?;
        let emitted = get_rows(r, &mut self.row_conv)?;
        let (mut at, mut at_e) = (0, 0);
        for (i, (end, seqs, ne)) in heads.into_iter().enumerate() {
            let key: Box<[u8]> = keys
                .as_ref()
                .ok_or_else(|| truncated("partition keys"))?
                .row(i)
                .data()
                .into();
            let mut p = Part {
                end,
                ..Default::default()
            };
            for seq in seqs {
                let (s, rr) = match (&sorts, &rows) {
                    (Some(s), Some(rr)) => (s.row(at).owned(), rr.row(at).owned()),
                    _ => return Err(truncated("rows")),
                };
                at += 1;
                self.bytes += kept_bytes(&s, &rr);
                p.rows.push((s, seq, Arc::new(rr)));
            }
            for _ in 0..ne {
                let e = emitted.as_ref().ok_or_else(|| truncated("emitted rows"))?;
                p.emitted.push(Arc::new(e.row(at_e).owned()));
                at_e += 1;
            }
            if self.window_end.is_some() {
                self.by_end.entry(end).or_default().push(key.clone());
            }
            self.parts.insert(key, p);
        }
        Ok(())
    }
}

/// The row converter of the `ORDER BY` keys `sorts`, with the directions of `order` (keys
/// beyond it ascending).
///
/// # Errors
/// A type the row format does not encode.
pub(crate) fn sort_converter(
    order: &[(Arc<dyn PhysicalExpr>, SortOptions)],
    sorts: &[ArrayRef],
) -> Result<RowConverter> {
    let fields = sorts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let o = order.get(i).map(|(_, o)| *o).unwrap_or_default();
            SortField::new_with_options(a.data_type().clone(), o)
        })
        .collect();
    Ok(RowConverter::new(fields)?)
}

/// A checkpoint whose state lacks `what`.
fn truncated(what: &str) -> datafusion::common::DataFusionError {
    datafusion::common::DataFusionError::Execution(format!(
        "checkpoint: an operator's state lacks its {what}"
    ))
}

/// Keep-first deduplication on event time (Flink 2.3's `Deduplicate(keep=[FirstRow],
/// order=[ROWTIME])`): per key, the row with the smallest rowtime (the earliest arrival among
/// equals) is emitted once, as `+I`, when the watermark reaches its rowtime; rows at or behind
/// the watermark are late (dropped, counted) and rows of an emitted key are dropped. Output: the
/// input columns and the rank (1).
pub(crate) struct FirstOnTime {
    pub(crate) partition: Vec<Arc<dyn PhysicalExpr>>,
    /// Index of the rowtime input column.
    pub(crate) rowtime: usize,
    pub(crate) schema: SchemaRef,
    pub(crate) types: Vec<DataType>,
    part_conv: Option<RowConverter>,
    row_conv: Option<RowConverter>,
    /// Candidate per key not yet emitted: (rowtime, row).
    best: HashMap<Box<[u8]>, (i64, OwnedRow)>,
    /// Keys already emitted.
    done: std::collections::HashSet<Box<[u8]>>,
    timers: BTreeMap<i64, Vec<Box<[u8]>>>,
    wm: i64,
    late: u64,
    bytes: usize,
}

impl FirstOnTime {
    /// Keep-first per `partition` key by the rowtime column `rowtime`.
    pub(crate) fn new(
        partition: Vec<Arc<dyn PhysicalExpr>>,
        rowtime: usize,
        schema: SchemaRef,
        types: Vec<DataType>,
    ) -> Self {
        Self {
            partition,
            rowtime,
            schema,
            types,
            part_conv: None,
            row_conv: None,
            best: HashMap::new(),
            done: Default::default(),
            timers: BTreeMap::new(),
            wm: i64::MIN,
            late: 0,
            bytes: 0,
        }
    }
}

impl Operator for FirstOnTime {
    fn process(&mut self, _input: usize, c: Chunk, _out: &mut Vec<Chunk>) -> Result<()> {
        let b = &c.batch;
        let parts = Rank::eval(self.partition.iter().cloned(), b)?;
        let prow = super::encode(&mut self.part_conv, &parts)?;
        let cols = super::conform(b.columns().iter().cloned(), &self.types)?;
        let rrow = super::encode(&mut self.row_conv, &cols)?;
        let ts = super::exec::millis(b.column(self.rowtime).as_ref())?;
        for (r, t) in ts.into_iter().enumerate() {
            let Some(t) = t else { continue };
            if t <= self.wm {
                self.late += 1;
                continue;
            }
            let key: Box<[u8]> = prow.row(r).data().into();
            if self.done.contains(&key) {
                continue;
            }
            let better = self.best.get(&key).is_none_or(|(bt, _)| t < *bt);
            if better {
                let row = rrow.row(r).owned();
                self.bytes += row.row().data().len() + 2 * key.len() + super::ops::ENTRY_OVERHEAD;
                if let Some((_, old)) = self.best.insert(key.clone(), (t, row)) {
                    self.bytes -= old.row().data().len() + key.len();
                }
                self.timers.entry(t).or_default().push(key);
            }
        }
        Ok(())
    }

    fn watermark(&mut self, wm: i64, out: &mut Vec<Chunk>) -> Result<()> {
        self.wm = wm;
        let mut rows = Vec::new();
        while let Some((&t, _)) = self.timers.first_key_value() {
            if t > wm {
                break;
            }
            let (_, keys) = self.timers.pop_first().expect("checked");
            for key in keys {
                if let Some((bt, _)) = self.best.get(&key) {
                    if *bt <= wm {
                        let (_, row) = self.best.remove(&key).expect("present");
                        self.bytes -= row.row().data().len();
                        rows.push(row);
                        self.done.insert(key);
                    }
                }
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let rc = self.row_conv.as_ref().expect("rows came");
        let mut cols = rc.convert_rows(rows.iter().map(|r| r.row()))?;
        cols.push(Arc::new(UInt64Array::from(vec![1u64; rows.len()])));
        let n = rows.len();
        out.push(super::changelog(&self.schema, cols, vec![0; n])?);
        Ok(())
    }

    fn late_rows(&self) -> u64 {
        self.late
    }

    fn state_rows(&self) -> usize {
        self.best.len() + self.done.len()
    }

    fn state_bytes(&self) -> usize {
        self.bytes
    }

    fn name(&self) -> &'static str {
        "Deduplicate"
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn signature(&self) -> String {
        schema_signature("Deduplicate(keep first, rowtime)", &self.schema)
    }

    /// Counters; candidate rowtimes; candidate keys and rows; emitted keys.
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        w.i64(self.wm);
        w.u64(self.late);
        let best: Vec<_> = self.best.iter().collect();
        w.u64(best.len() as u64);
        for (_, (t, _)) in &best {
            w.i64(*t);
        }
        let pc = self.part_conv.as_ref();
        put_keys(w, pc, best.iter().map(|(k, _)| &k[..]), best.len())?;
        put_rows(
            w,
            self.row_conv.as_ref(),
            best.iter().map(|(_, (_, r))| r.row()),
            best.len(),
        )?;
        put_keys(w, pc, self.done.iter().map(|k| &k[..]), self.done.len())?;
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        self.wm = r.i64()?;
        self.late = r.u64()?;
        let n = r.u64()? as usize;
        let ts = (0..n).map(|_| r.i64()).collect::<Result<Vec<_>>>()?;
        let keys = get_rows(r, &mut self.part_conv)?;
        let rows = get_rows(r, &mut self.row_conv)?;
        for (i, t) in ts.into_iter().enumerate() {
            let (Some(k), Some(rr)) = (&keys, &rows) else {
                return Err(truncated("candidates"));
            };
            let key: Box<[u8]> = k.row(i).data().into();
            let row = rr.row(i).owned();
            self.bytes += row.row().data().len() + 2 * key.len() + super::ops::ENTRY_OVERHEAD;
            self.timers.entry(t).or_default().push(key.clone());
            self.best.insert(key, (t, row));
        }
        if let Some(done) = get_rows(r, &mut self.part_conv)? {
            for i in 0..done.num_rows() {
                self.done.insert(done.row(i).data().into());
            }
        }
        Ok(())
    }
}

//! Streaming operators: each consumes [`Chunk`]s and watermarks and produces chunks.

use super::checkpoint::{row_slices, row_values, StateReader, StateWriter};
use super::fast_agg::{FastAcc, FastArg, FastKind, FastValue, Layout, OutColumn};
use super::{Chunk, RowKind};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, RecordBatchOptions, UInt32Array,
};
use datafusion::arrow::compute::{cast, filter_record_batch, prep_null_mask_filter, take};
use datafusion::arrow::datatypes::{SchemaRef, TimestampMillisecondType};
use datafusion::arrow::row::RowConverter;
use datafusion::common::HashMap;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::PhysicalExpr;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One streaming operator (single-threaded; the driver calls it in order).
pub(crate) trait Operator: Send {
    /// Consumes `chunk` from input `input`, appending output to `out`.
    fn process(&mut self, input: usize, chunk: Chunk, out: &mut Vec<Chunk>) -> Result<()>;

    /// The combined watermark of the inputs advanced to `wm` (epoch ms); output of windows it
    /// closes goes to `out`. The driver forwards the watermark afterwards.
    fn watermark(&mut self, _wm: i64, _out: &mut Vec<Chunk>) -> Result<()> {
        Ok(())
    }

    /// Rows dropped because they arrived after the watermark had passed their window.
    fn late_rows(&self) -> u64 {
        0
    }

    /// Rows (or groups) held in state.
    fn state_rows(&self) -> usize {
        0
    }

    /// The watermark passed on downstream when the inputs' watermark is `wm` (operators that
    /// emit rows older than their input watermark hold it back).
    fn output_watermark(&self, wm: i64) -> i64 {
        wm
    }

    /// Approximate bytes held in state (kept up to date as state changes: cheap to ask).
    fn state_bytes(&self) -> usize {
        0
    }

    /// Flink's name of the operator (messages, checkpoint signatures).
    fn name(&self) -> &'static str {
        "operator"
    }

    /// Keeps no state between chunks (a projection, filter, union or unnest).
    fn stateless(&self) -> bool {
        false
    }

    /// Whether checkpoints can hold this operator's state; `Err` names what cannot.
    fn checkpointable(&self) -> std::result::Result<(), String> {
        Err(format!("checkpointing a {}", self.name()))
    }

    /// What restore checks against a checkpoint: kind and output schema.
    fn signature(&self) -> String {
        self.name().to_string()
    }

    /// Writes the state for a checkpoint; `false`: the operator keeps no state.
    ///
    /// # Errors
    /// State that cannot be written.
    fn snapshot(&mut self, _w: &mut StateWriter) -> Result<bool> {
        Ok(false)
    }

    /// Loads state written by [`Operator::snapshot`] into a fresh operator.
    ///
    /// # Errors
    /// State that does not fit the operator.
    fn restore(&mut self, _r: &mut StateReader) -> Result<()> {
        Err(DataFusionError::Execution(format!(
            "checkpoint: a {} keeps no state to restore",
            self.name()
        )))
    }
}

/// The output schema as text, for [`Operator::signature`].
pub(crate) fn schema_signature(name: &str, schema: &SchemaRef) -> String {
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect();
    format!("{name}({})", cols.join(", "))
}

/// Bookkeeping bytes counted per state entry on top of its encoded rows.
pub(crate) const ENTRY_OVERHEAD: usize = 48;

/// Forwards chunks unchanged (sources, `UNION ALL`).
pub(crate) struct Pass;

impl Operator for Pass {
    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "Union"
    }

    fn stateless(&self) -> bool {
        true
    }

    fn process(&mut self, _input: usize, chunk: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        out.push(chunk);
        Ok(())
    }
}

/// A projection: one expression per output column.
pub(crate) struct Project {
    pub(crate) exprs: Vec<Arc<dyn PhysicalExpr>>,
    pub(crate) schema: SchemaRef,
    /// Read by the expressions' `CURRENT_WATERMARK` calls: the input watermark.
    pub(crate) wm: Option<super::current_watermark::Cell>,
    /// Assigns processing-time windows (a window TVF over a `PROCTIME()` column): the watermark
    /// it passes on is the wall clock (ms since the epoch), or the end of input; the driver
    /// also ticks it (see [`super::plan::Dataflow::clocks`]).
    pub(crate) clock: bool,
}

/// The wall clock as a watermark: ms since the epoch.
pub(crate) fn wall_clock() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Stores `wm` in the cell a `CURRENT_WATERMARK` call reads.
fn set_cell(cell: &Option<super::current_watermark::Cell>, wm: i64) {
    if let Some(c) = cell {
        c.store(wm, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Operator for Project {
    fn watermark(&mut self, wm: i64, _out: &mut Vec<Chunk>) -> Result<()> {
        set_cell(&self.wm, wm);
        Ok(())
    }

    fn output_watermark(&self, wm: i64) -> i64 {
        if self.clock && wm != i64::MAX {
            wall_clock()
        } else {
            wm
        }
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "Calc"
    }

    fn stateless(&self) -> bool {
        true
    }

    fn process(&mut self, _input: usize, c: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        let n = c.batch.num_rows();
        let cols = self
            .exprs
            .iter()
            .map(|e| e.evaluate(&c.batch)?.into_array(n))
            .collect::<Result<Vec<_>>>()?;
        let cols = super::conform(cols, self.schema.fields().iter().map(|f| f.data_type()))?;
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            cols,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        out.push(Chunk {
            batch,
            kinds: c.kinds,
        });
        Ok(())
    }
}

/// A filter: rows whose predicate is TRUE pass (NULL drops, as in SQL).
pub(crate) struct Filter {
    pub(crate) predicate: Arc<dyn PhysicalExpr>,
    /// Read by the predicate's `CURRENT_WATERMARK` calls: the input watermark.
    pub(crate) wm: Option<super::current_watermark::Cell>,
}

impl Operator for Filter {
    fn watermark(&mut self, wm: i64, _out: &mut Vec<Chunk>) -> Result<()> {
        set_cell(&self.wm, wm);
        Ok(())
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "Calc"
    }

    fn stateless(&self) -> bool {
        true
    }

    fn process(&mut self, _input: usize, c: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        let n = c.batch.num_rows();
        let mask = self.predicate.evaluate(&c.batch)?.into_array(n)?;
        let mask = mask
            .as_boolean_opt()
            .ok_or_else(|| DataFusionError::Execution("filter is not a BOOLEAN".into()))?;
        let mask = if mask.null_count() > 0 {
            prep_null_mask_filter(mask)
        } else {
            mask.clone()
        };
        if mask.true_count() == 0 {
            return Ok(());
        }
        let batch = filter_record_batch(&c.batch, &mask)?;
        let kinds = c.kinds.map(|k| {
            k.iter()
                .zip(mask.iter())
                .filter(|(_, m)| *m == Some(true))
                .map(|(k, _)| *k)
                .collect()
        });
        out.push(Chunk { batch, kinds });
        Ok(())
    }
}

/// `UNNEST` of one list column: each row repeated once per element, the column replaced by the
/// element (an empty or NULL list drops the row).
pub(crate) struct Unnest {
    /// Input column of each output column.
    pub(crate) deps: Vec<usize>,
    /// The unnested input column.
    pub(crate) list: usize,
    pub(crate) schema: SchemaRef,
}

impl Operator for Unnest {
    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "Correlate"
    }

    fn stateless(&self) -> bool {
        true
    }

    fn process(&mut self, _input: usize, c: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        let list = c.batch.column(self.list).as_list::<i32>();
        let offsets = list.value_offsets();
        let mut rows = Vec::new();
        let mut elems = Vec::new();
        for r in 0..list.len() {
            if list.is_null(r) {
                continue;
            }
            for e in offsets[r]..offsets[r + 1] {
                rows.push(r as u32);
                elems.push(e as u32);
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let rows = UInt32Array::from(rows);
        let elems = UInt32Array::from(elems);
        let cols = self
            .deps
            .iter()
            .map(|&d| {
                if d == self.list {
                    Ok(take(list.values().as_ref(), &elems, None)?)
                } else {
                    Ok(take(c.batch.column(d).as_ref(), &rows, None)?)
                }
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let batch = RecordBatch::try_new(self.schema.clone(), cols)?;
        let kinds = c
            .kinds
            .map(|k| rows.values().iter().map(|&r| k[r as usize]).collect());
        out.push(Chunk { batch, kinds });
        Ok(())
    }
}

/// One aggregate call of an [`Aggregate`].
pub(crate) struct AggCall {
    pub(crate) expr: Arc<AggregateFunctionExpr>,
    pub(crate) args: Vec<Arc<dyn PhysicalExpr>>,
    pub(crate) filter: Option<Arc<dyn PhysicalExpr>>,
    /// The input is a changelog: accumulators must retract.
    pub(crate) retract: bool,
}

/// Whether row `r` passes call `i`'s `FILTER (WHERE …)` (no filter: yes).
pub(crate) fn passes(masks: &[Option<BooleanArray>], i: usize, r: usize) -> bool {
    masks[i]
        .as_ref()
        .is_none_or(|m| m.is_valid(r) && m.value(r))
}

/// `rows` (one value per output column each) as an insert-only chunk of `schema`.
pub(crate) fn scalar_rows(
    schema: &SchemaRef,
    rows: Vec<Vec<ScalarValue>>,
    kinds: Vec<u8>,
) -> Result<Chunk> {
    // Transposed by moving the values (cloning each one cost a quarter of a GROUP BY with
    // string results).
    let width = schema.fields().len();
    let mut cols: Vec<Vec<ScalarValue>> =
        (0..width).map(|_| Vec::with_capacity(rows.len())).collect();
    for row in rows {
        for (c, v) in row.into_iter().enumerate().take(width) {
            cols[c].push(v);
        }
    }
    let cols = cols
        .into_iter()
        .map(ScalarValue::iter_to_array)
        .collect::<Result<Vec<_>>>()?;
    super::changelog(schema, cols, kinds)
}

impl AggCall {
    /// The argument columns and `FILTER` masks of `calls` over `b`.
    #[allow(clippy::type_complexity)]
    pub(crate) fn inputs(
        calls: &[AggCall],
        b: &RecordBatch,
    ) -> Result<(Vec<Vec<ArrayRef>>, Vec<Option<BooleanArray>>)> {
        let n = b.num_rows();
        let args = calls
            .iter()
            .map(|c| {
                c.args
                    .iter()
                    .map(|a| a.evaluate(b)?.into_array(n))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let masks = calls
            .iter()
            .map(|c| {
                c.filter
                    .as_ref()
                    .map(|f| {
                        let m = f.evaluate(b)?.into_array(n)?;
                        m.as_boolean_opt().cloned().ok_or_else(|| {
                            DataFusionError::Execution("FILTER is not a BOOLEAN".into())
                        })
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((args, masks))
    }

    fn accumulator(&self) -> Result<Box<dyn Accumulator>> {
        if self.retract {
            self.expr.create_sliding_accumulator()
        } else {
            self.expr.create_accumulator()
        }
    }
}

/// One group's state: 80 bytes, plus its key bytes and accumulators. Group aggregates and
/// window aggregates on DataFusion accumulators keep these; window groups on native
/// accumulators live in [`super::panes`] instead (about 120 bytes per group in all).
struct Group {
    key_bytes: Box<[u8]>,
    /// Rows accumulated minus rows retracted.
    count: i64,
    /// Bytes counted for this group in [`Aggregate::bytes`].
    bytes: usize,
    /// When a row last updated it (`table.exec.state.ttl`).
    written: std::time::Instant,
    /// DataFusion accumulators: groups without native ones.
    df: Option<Box<DfGroup>>,
    /// Native accumulators (see [`super::fast_agg`]).
    fast: Box<[FastAcc]>,
    /// The results last emitted, when `fast`.
    last_fast: Option<Box<[FastValue]>>,
}

/// A group's state on DataFusion accumulators.
#[derive(Default)]
struct DfGroup {
    /// The key's values (native groups keep only bytes: see [`Aggregate::decode_keys`]).
    key: Vec<ScalarValue>,
    accs: Vec<Box<dyn Accumulator>>,
    /// The result last emitted.
    last: Option<Vec<ScalarValue>>,
}

/// One group on native accumulators, as a snapshot writes it.
struct FastGroup<'a> {
    key: &'a [u8],
    count: i64,
    /// The window's end (0 without a window).
    end: i64,
    accs: &'a [FastAcc],
    /// The results last emitted (group aggregates).
    last: Option<&'a [FastValue]>,
}

/// Marks a snapshot of an [`Aggregate`] whose groups use native accumulators (older snapshots
/// start with the watermark, which is never this value).
const FAST_SNAPSHOT: u64 = 0x5343_4150_4641_5354;

/// A grouped aggregation (Flink's `GroupAggregate` / `WindowAggregate`).
///
/// - Without a window (`window_end` = `None`) every input row updates its group at once and the
///   change is emitted as Flink does without mini-batch: `+I` for a new group, `-U` old / `+U`
///   new when the result changed, `-D` when every row of the group was retracted.
/// - With a window (`window_end` = the group key that is `window_end`), rows accumulate until
///   the watermark reaches `window_end − 1`; then the window's final rows are emitted as `+I`
///   and its state purged. A row whose window has already fired is late: dropped and counted.
pub(crate) struct Aggregate {
    pub(crate) keys: Vec<Arc<dyn PhysicalExpr>>,
    pub(crate) calls: Vec<AggCall>,
    pub(crate) schema: SchemaRef,
    pub(crate) window_end: Option<usize>,
    converter: Option<RowConverter>,
    groups: HashMap<Box<[u8]>, usize>,
    slots: Vec<Option<Group>>,
    free: Vec<usize>,
    by_end: BTreeMap<i64, Vec<usize>>,
    wm: i64,
    late: u64,
    bytes: usize,
    /// `table.exec.state.ttl` of a group aggregate: a group not updated for this long is
    /// dropped silently (Flink's `OnCreateAndWrite`, `NeverReturnExpired`); its key's next row
    /// starts it anew (`+I`).
    pub(crate) ttl: Option<std::time::Duration>,
    last_sweep: std::time::Instant,
    /// The native accumulator kinds, chosen by [`Aggregate::decide_fast`] at planning (or by
    /// a restore): `Some(kinds)` when every call has one, else `None`.
    fast: Option<Option<Vec<FastKind>>>,
    /// A window aggregate's groups on native accumulators (then `slots` stays empty).
    panes: Option<super::panes::Panes>,
    /// Which native calls share state (set with the kinds).
    layout: Layout,
}

impl Aggregate {
    pub(crate) fn new(
        keys: Vec<Arc<dyn PhysicalExpr>>,
        calls: Vec<AggCall>,
        schema: SchemaRef,
        window_end: Option<usize>,
    ) -> Self {
        Self {
            keys,
            calls,
            schema,
            window_end,
            converter: None,
            groups: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            by_end: BTreeMap::new(),
            wm: i64::MIN,
            late: 0,
            bytes: 0,
            ttl: None,
            last_sweep: std::time::Instant::now(),
            fast: None,
            panes: None,
            layout: Layout::default(),
        }
    }

    /// The window groups on native accumulators, created on first use.
    fn panes(&mut self, kinds: &[FastKind]) -> &mut super::panes::Panes {
        let layout = &self.layout;
        self.panes
            .get_or_insert_with(|| super::panes::Panes::new(kinds.to_vec(), layout.clone()))
    }

    /// Uses native accumulators `chosen` (and lays out their state).
    fn set_fast(&mut self, chosen: Option<Vec<FastKind>>) {
        if let Some(k) = &chosen {
            let args: Vec<_> = self.calls.iter().map(|c| c.args.first()).collect();
            self.layout = Layout::new(k, &args);
        }
        self.fast = Some(chosen);
    }

    /// The native kinds in use.
    fn fast_kinds(&self) -> Option<&Vec<FastKind>> {
        match &self.fast {
            Some(Some(k)) => Some(k),
            _ => None,
        }
    }

    /// Whether group `s` outlived the state TTL.
    fn expired(&self, s: usize) -> bool {
        self.ttl.is_some_and(|ttl| {
            self.slots[s]
                .as_ref()
                .is_some_and(|g| g.written.elapsed() > ttl)
        })
    }

    /// Drops every expired group (at most once per TTL period).
    fn sweep(&mut self) {
        let Some(ttl) = self.ttl else { return };
        if self.last_sweep.elapsed() < ttl {
            return;
        }
        self.last_sweep = std::time::Instant::now();
        let dead: Vec<usize> = (0..self.slots.len())
            .filter(|&s| self.slots[s].is_some() && self.expired(s))
            .collect();
        for s in dead {
            self.release(s);
        }
    }

    fn slot(&mut self, key_bytes: &[u8], keys: &[ArrayRef], row: usize, end: i64) -> Result<usize> {
        if let Some(&s) = self.groups.get(key_bytes) {
            return Ok(s);
        }
        let fast_n = self.fast_kinds().map_or(0, Vec::len);
        // Native groups keep only the key's bytes, decoded when the group is emitted.
        let key = if fast_n > 0 {
            Vec::new()
        } else {
            keys.iter()
                .map(|k| ScalarValue::try_from_array(k, row))
                .collect::<Result<Vec<_>>>()?
        };
        let accs = if fast_n > 0 {
            Vec::new()
        } else {
            self.calls
                .iter()
                .map(|c| c.accumulator())
                .collect::<Result<Vec<_>>>()?
        };
        let bytes = 2 * key_bytes.len()
            + key.iter().map(ScalarValue::size).sum::<usize>()
            + accs.iter().map(|a| a.size()).sum::<usize>()
            + fast_n * 2 * std::mem::size_of::<FastAcc>()
            + ENTRY_OVERHEAD;
        self.bytes += bytes;
        let g = Group {
            key_bytes: key_bytes.into(),
            count: 0,
            bytes,
            written: std::time::Instant::now(),
            df: (fast_n == 0).then(|| {
                Box::new(DfGroup {
                    key,
                    accs,
                    last: None,
                })
            }),
            fast: vec![FastAcc::default(); fast_n].into_boxed_slice(),
            last_fast: None,
        };
        let s = match self.free.pop() {
            Some(s) => {
                self.slots[s] = Some(g);
                s
            }
            None => {
                self.slots.push(Some(g));
                self.slots.len() - 1
            }
        };
        self.groups.insert(key_bytes.into(), s);
        if self.window_end.is_some() {
            self.by_end.entry(end).or_default().push(s);
        }
        Ok(s)
    }

    /// The live group of input row `r` (key `key`), created for an accumulating row; an
    /// expired group (state TTL) is dropped first. `None`: a retraction of a group that does
    /// not exist, ignored as in Flink.
    fn row_group(
        &mut self,
        key: &[u8],
        keys: &[ArrayRef],
        r: usize,
        retract: bool,
    ) -> Result<Option<usize>> {
        let live = match self.groups.get(key) {
            Some(&s) if self.expired(s) => {
                self.release(s);
                None
            }
            other => other.copied(),
        };
        Ok(match live {
            Some(s) => Some(s),
            None if retract => None,
            None => Some(self.slot(key, keys, r, 0)?),
        })
    }

    /// A new group for `key_bytes` whose key values are `key` (restoring a checkpoint).
    fn slot_for(&mut self, key_bytes: &[u8], key: Vec<ScalarValue>, end: i64) -> Result<usize> {
        let arrays = key
            .iter()
            .map(|v| v.to_array_of_size(1))
            .collect::<Result<Vec<_>>>()?;
        self.slot(key_bytes, &arrays, 0, end)
    }

    /// Key columns of groups from their key bytes (the key converter's row format).
    ///
    /// # Errors
    /// Groups without a converter (none was ever keyed), or bytes it cannot decode.
    fn decode_keys<'a>(&self, keys: impl Iterator<Item = &'a [u8]>) -> Result<Vec<ArrayRef>> {
        if self.keys.is_empty() {
            return Ok(Vec::new());
        }
        let conv = self.converter.as_ref().ok_or_else(|| {
            DataFusionError::Internal("aggregate groups without a key converter".into())
        })?;
        let parser = conv.parser();
        Ok(conv.convert_rows(keys.map(|k| parser.parse(k)))?)
    }

    fn release(&mut self, s: usize) -> Group {
        let g = self.slots[s].take().expect("live group");
        self.bytes -= g.bytes;
        self.groups.remove(&g.key_bytes);
        self.free.push(s);
        g
    }

    /// Builds a chunk of `rows` (kind, group key, results).
    fn emit(&self, rows: Vec<(RowKind, Vec<ScalarValue>)>, out: &mut Vec<Chunk>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let kinds: Vec<u8> = rows.iter().map(|(k, _)| *k as u8).collect();
        let rows: Vec<Vec<ScalarValue>> = rows.into_iter().map(|(_, r)| r).collect();
        out.push(scalar_rows(&self.schema, rows, kinds)?);
        Ok(())
    }
}

impl Aggregate {
    /// [`FAST_SNAPSHOT`], the kinds, counters, per group its key bytes and row count; then the
    /// keys as rows and per call its states (`int`, `float`, `n`) and last results as columns.
    fn snapshot_fast(&mut self, kinds: &[FastKind], w: &mut StateWriter) -> Result<bool> {
        use datafusion::arrow::array::{Float64Array, Int64Array};
        w.u64(FAST_SNAPSHOT);
        w.u64(kinds.len() as u64);
        for k in kinds {
            w.u64(*k as u64);
        }
        w.i64(self.wm);
        w.u64(self.late);
        // Every group: group aggregates' from the slots, window groups' from the panes (native
        // window groups never live in slots).
        let mut live: Vec<FastGroup<'_>> = self
            .slots
            .iter()
            .filter_map(|g| {
                g.as_ref().map(|g| FastGroup {
                    key: &g.key_bytes,
                    count: g.count,
                    end: 0,
                    accs: &g.fast,
                    last: g.last_fast.as_deref(),
                })
            })
            .collect();
        if let Some(p) = &self.panes {
            live.extend(p.iter().map(|g| FastGroup {
                key: g.key,
                count: g.count,
                end: g.end,
                accs: g.accs,
                last: None,
            }));
        }
        w.u64(live.len() as u64);
        for g in &live {
            w.bytes(g.key);
            w.i64(g.count);
            if self.window_end.is_some() {
                w.i64(g.end);
            }
        }
        let cols = self.decode_keys(live.iter().map(|g| g.key))?;
        let keys = (0..live.len())
            .map(|r| row_values(&cols, 0, cols.len(), r))
            .collect::<Result<Vec<_>>>()?;
        w.rows(self.keys.len(), &keys)?;
        let mut cols: Vec<ArrayRef> = Vec::new();
        for i in 0..kinds.len() {
            let last = |g: &FastGroup<'_>| g.last.map_or(FastValue::Null, |l| l[i].clone());
            cols.push(Arc::new(Int64Array::from_iter_values(
                live.iter().map(|g| g.accs[i].int(kinds[i])),
            )));
            cols.push(Arc::new(Float64Array::from_iter_values(
                live.iter().map(|g| g.accs[i].float(kinds[i])),
            )));
            cols.push(Arc::new(Int64Array::from_iter_values(
                live.iter().map(|g| g.accs[i].n),
            )));
            cols.push(Arc::new(Int64Array::from_iter(live.iter().map(
                |g| match last(g) {
                    FastValue::Int(v) => Some(v),
                    _ => None,
                },
            ))));
            cols.push(Arc::new(Float64Array::from_iter(live.iter().map(
                |g| match last(g) {
                    FastValue::Float(v) => Some(v),
                    _ => None,
                },
            ))));
        }
        cols.push(Arc::new(datafusion::arrow::array::BooleanArray::from_iter(
            live.iter().map(|g| Some(g.last.is_some())),
        )));
        w.arrays(cols)?;
        // Per group, each value-counting call's (value, count) pairs, and each string
        // call's state and last result.
        for g in &live {
            for (i, k) in kinds.iter().enumerate() {
                if k.counts_values() {
                    let pairs = self.layout.counts(g.accs, i);
                    w.u64(pairs.len() as u64);
                    for (v, c) in pairs {
                        w.i64(v);
                        w.i64(c);
                    }
                }
                if k.text_state() {
                    write_text(w, &g.accs[i], g.last.map(|l| &l[i]));
                }
            }
        }
        Ok(true)
    }

    /// Chooses native accumulators from the calls' argument types over `input` (the rows the
    /// operator consumes).
    pub(crate) fn decide_fast(&mut self, input: &datafusion::arrow::datatypes::Schema) {
        let kinds: Option<Vec<FastKind>> = self
            .calls
            .iter()
            .map(|c| {
                let types: Option<Vec<_>> =
                    c.args.iter().map(|a| a.data_type(input).ok()).collect();
                let name = c.expr.fun().name().to_ascii_lowercase();
                FastKind::of(&name, c.expr.is_distinct(), &types?, c.retract)
            })
            .collect();
        self.set_fast(kinds);
    }

    fn restore_fast(&mut self, r: &mut StateReader) -> Result<()> {
        use super::fast_agg::KINDS;
        use datafusion::arrow::datatypes::{Float64Type, Int64Type};
        let nk = r.u64()? as usize;
        let kinds = (0..nk)
            .map(|_| {
                let k = r.u64()? as usize;
                KINDS.get(k).copied().ok_or_else(|| {
                    DataFusionError::Execution("checkpoint: unknown aggregate state".into())
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if kinds.len() != self.calls.len() {
            return Err(DataFusionError::Execution(
                "checkpoint: the aggregate's calls changed".into(),
            ));
        }
        self.set_fast(Some(kinds.clone()));
        self.wm = r.i64()?;
        self.late = r.u64()?;
        let n = r.u64()? as usize;
        let mut heads = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            let (key, count) = (r.bytes()?.to_vec(), r.i64()?);
            let end = if self.window_end.is_some() {
                r.i64()?
            } else {
                0
            };
            heads.push((key, count, end));
        }
        let (_, key_cols) = r.rows()?;
        if !key_cols.is_empty() {
            // The converter the key bytes were written with (same key types).
            super::encode(&mut self.converter, &key_cols)?;
        }
        let cols = r.arrays()?;
        let bad = || DataFusionError::Execution("checkpoint: malformed aggregate state".into());
        if cols.len() != 5 * kinds.len() + 1 || cols.iter().any(|c| c.len() != n) {
            return Err(bad());
        }
        let int = |c: &ArrayRef| c.as_primitive_opt::<Int64Type>().cloned().ok_or_else(bad);
        let float = |c: &ArrayRef| c.as_primitive_opt::<Float64Type>().cloned().ok_or_else(bad);
        let has_last = cols[5 * kinds.len()]
            .as_boolean_opt()
            .cloned()
            .ok_or_else(bad)?;
        for (g, (key_bytes, count, end)) in heads.into_iter().enumerate() {
            let mut accs = Vec::with_capacity(kinds.len());
            let mut last = Vec::with_capacity(kinds.len());
            for i in 0..kinds.len() {
                let c = &cols[5 * i..5 * i + 5];
                accs.push(FastAcc::restored(
                    kinds[i],
                    int(&c[0])?.value(g),
                    float(&c[1])?.value(g),
                    int(&c[2])?.value(g),
                ));
                let (li, lf) = (int(&c[3])?, float(&c[4])?);
                last.push(if li.is_valid(g) {
                    FastValue::Int(li.value(g))
                } else if lf.is_valid(g) {
                    FastValue::Float(lf.value(g))
                } else {
                    FastValue::Null
                });
            }
            for (i, k) in kinds.iter().enumerate() {
                if k.counts_values() {
                    let len = r.u64()? as usize;
                    let mut pairs = Vec::with_capacity(len.min(1 << 16));
                    for _ in 0..len {
                        pairs.push((r.i64()?, r.i64()?));
                    }
                    self.layout.set_counts(*k, &mut accs, i, pairs);
                }
                if k.text_state() {
                    let l = read_text(r, &mut accs[i])?;
                    // A string result's last value is kept with the strings.
                    if k.text() {
                        last[i] = l;
                    }
                }
            }
            if self.window_end.is_some() {
                // Window groups live in panes (no results were emitted for them yet).
                self.panes(&kinds).restore(end, &key_bytes, count, accs)?;
                continue;
            }
            let key = row_values(&key_cols, 0, key_cols.len(), g)?;
            let s = self.slot_for(&key_bytes, key, end)?;
            let grp = self.slots[s].as_mut().expect("created");
            grp.count = count;
            grp.fast = accs.into_boxed_slice();
            grp.last_fast = has_last.value(g).then(|| last.into_boxed_slice());
            // What the restored maps and strings hold, charged as their growth was.
            let held: usize = grp.fast.iter().map(FastAcc::heap_bytes).sum();
            grp.bytes += held;
            self.bytes += held;
        }
        Ok(())
    }
}

/// A string `MIN`/`MAX`'s state (tag 0: none, 1: the extreme, 2: counts per string) and its
/// last result (tag 0: none, 1: the string).
fn write_text(w: &mut StateWriter, acc: &FastAcc, last: Option<&FastValue>) {
    use super::fast_agg::FastExtra;
    match acc.extra.as_deref() {
        None | Some(FastExtra::Distinct(_) | FastExtra::Ordered(_) | FastExtra::Shared(_)) => {
            w.u64(0)
        }
        Some(FastExtra::One(v)) => {
            w.u64(1);
            w.bytes(v.as_bytes());
        }
        Some(FastExtra::Counts(m)) => {
            w.u64(2);
            w.u64(m.len() as u64);
            for (v, c) in m {
                w.bytes(v.as_bytes());
                w.i64(*c);
            }
        }
    }
    match last {
        Some(FastValue::Text(v)) => {
            w.u64(1);
            w.bytes(v.as_bytes());
        }
        _ => w.u64(0),
    }
}

/// Reads what [`write_text`] wrote into `acc`; returns the last result.
fn read_text(r: &mut StateReader, acc: &mut FastAcc) -> Result<FastValue> {
    use super::fast_agg::FastExtra;
    let text = |b: &[u8]| -> Result<Arc<str>> {
        std::str::from_utf8(b).map(Arc::from).map_err(|_| {
            DataFusionError::Execution("checkpoint: malformed aggregate string".into())
        })
    };
    acc.extra = match r.u64()? {
        0 => None,
        1 => Some(Box::new(FastExtra::One(text(r.bytes()?)?))),
        _ => {
            let len = r.u64()? as usize;
            let mut m = std::collections::BTreeMap::new();
            for _ in 0..len {
                let v = text(r.bytes()?)?;
                m.insert(v, r.i64()?);
            }
            Some(Box::new(FastExtra::Counts(m)))
        }
    };
    Ok(match r.u64()? {
        0 => FastValue::Null,
        _ => FastValue::Text(text(r.bytes()?)?),
    })
}

fn evaluate_all(accs: &mut [Box<dyn Accumulator>]) -> Result<Vec<ScalarValue>> {
    accs.iter_mut().map(|a| a.evaluate()).collect()
}

impl Operator for Aggregate {
    fn process(&mut self, _input: usize, c: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        let b = &c.batch;
        let n = b.num_rows();
        let keys = self
            .keys
            .iter()
            .map(|k| k.evaluate(b)?.into_array(n))
            .collect::<Result<Vec<_>>>()?;
        let rows = super::encode(&mut self.converter, &keys)?;
        // A global aggregate (no keys) has one group, whose key is empty.
        let global = keys.is_empty();
        let key_of = |r: usize| -> &[u8] {
            if global {
                &[]
            } else {
                rows.row(r).data()
            }
        };
        let (args, masks) = AggCall::inputs(&self.calls, b)?;
        let passes = |i: usize, r: usize| passes(&masks, i, r);
        if let Some(end_key) = self.window_end {
            // Window: rows accumulate per group until the watermark passes the window's end.
            let ends = cast(
                &keys[end_key],
                &datafusion::arrow::datatypes::DataType::Timestamp(
                    datafusion::arrow::datatypes::TimeUnit::Millisecond,
                    None,
                ),
            )?;
            let ends = ends.as_primitive::<TimestampMillisecondType>().clone();
            // Native accumulators: each row updates its window's group in its pane; otherwise
            // rows are gathered per group and accumulated per group once.
            if let Some(kinds) = self.fast_kinds().cloned() {
                let fargs = FastArg::all(&kinds, &args)?;
                let wm = self.wm;
                let mut late = 0;
                let panes = self.panes(&kinds);
                for r in 0..n {
                    let end = ends.value(r);
                    if end - 1 <= wm {
                        late += 1;
                        continue;
                    }
                    panes.add(end, key_of(r), &fargs, r, |i| passes(i, r))?;
                }
                self.late += late;
                return Ok(());
            }
            let mut per_slot: HashMap<usize, Vec<u32>> = HashMap::new();
            for r in 0..n {
                let end = ends.value(r);
                if end - 1 <= self.wm {
                    self.late += 1;
                    continue;
                }
                let s = self.slot(key_of(r), &keys, r, end)?;
                per_slot.entry(s).or_default().push(r as u32);
            }
            for (s, idx) in per_slot {
                let g = self.slots[s].as_mut().expect("live group");
                g.count += idx.len() as i64;
                let d = g.df.get_or_insert_default();
                for (i, acc) in d.accs.iter_mut().enumerate() {
                    let sel: Vec<u32> = idx
                        .iter()
                        .copied()
                        .filter(|&r| passes(i, r as usize))
                        .collect();
                    if sel.is_empty() {
                        continue;
                    }
                    let sel = UInt32Array::from(sel);
                    let cols = args[i]
                        .iter()
                        .map(|a| Ok(take(a.as_ref(), &sel, None)?))
                        .collect::<Result<Vec<_>>>()?;
                    acc.update_batch(&cols)?;
                }
            }
            return Ok(());
        }
        // Group aggregate: one change per input row, in order.
        self.sweep();
        let now = std::time::Instant::now();
        if let Some(kinds) = self.fast_kinds().cloned() {
            let fargs = FastArg::all(&kinds, &args)?;
            let nc = kinds.len();
            let mut out_rows: Vec<u32> = Vec::new();
            let mut out_kinds: Vec<u8> = Vec::new();
            // Per call, the output rows' results.
            let mut out_vals: Vec<OutColumn> =
                kinds.iter().map(|k| OutColumn::new(*k, 2 * n)).collect();
            let mut now_vals = vec![FastValue::Null; nc];
            for r in 0..n {
                let kind = c.kinds.as_ref().map_or(0, |k| k[r]);
                let retract = kind == RowKind::UpdateBefore as u8 || kind == RowKind::Delete as u8;
                let Some(s) = self.row_group(key_of(r), &keys, r, retract)? else {
                    continue;
                };
                let g = self.slots[s].as_mut().expect("live group");
                g.written = now;
                let grew = self
                    .layout
                    .update(&kinds, &mut g.fast, &fargs, r, retract, |i| passes(i, r));
                // Value-count maps (MIN/MAX over a changelog, COUNT(DISTINCT)) grow with their
                // values: charged so the memory limit bounds them.
                g.bytes = g.bytes.saturating_add_signed(grew);
                self.bytes = self.bytes.saturating_add_signed(grew);
                g.count += if retract { -1 } else { 1 };
                if g.count <= 0 {
                    let g = self.release(s);
                    if let Some(last) = g.last_fast {
                        out_rows.push(r as u32);
                        out_kinds.push(RowKind::Delete as u8);
                        for (o, v) in out_vals.iter_mut().zip(last.iter()) {
                            o.push(v);
                        }
                    }
                    continue;
                }
                for (i, k) in kinds.iter().enumerate() {
                    now_vals[i] = g.fast[i].value(*k);
                }
                match &mut g.last_fast {
                    None => {
                        out_rows.push(r as u32);
                        out_kinds.push(RowKind::Insert as u8);
                        for (o, v) in out_vals.iter_mut().zip(&now_vals) {
                            o.push(v);
                        }
                        g.last_fast = Some(now_vals.clone().into_boxed_slice());
                    }
                    Some(old) if old[..] != now_vals[..] => {
                        out_rows.extend([r as u32, r as u32]);
                        out_kinds.extend([RowKind::UpdateBefore as u8, RowKind::UpdateAfter as u8]);
                        for ((o, old), new) in out_vals.iter_mut().zip(old.iter()).zip(&now_vals) {
                            o.push(old);
                            o.push(new);
                        }
                        // The group keeps the new results; `now_vals` is rewritten next row.
                        old.swap_with_slice(&mut now_vals);
                    }
                    Some(_) => {}
                }
            }
            if out_kinds.is_empty() {
                return Ok(());
            }
            let idx = UInt32Array::from(out_rows);
            let mut cols = keys
                .iter()
                .map(|k| Ok(take(k.as_ref(), &idx, None)?))
                .collect::<Result<Vec<ArrayRef>>>()?;
            let nk = keys.len();
            for (i, o) in out_vals.into_iter().enumerate() {
                cols.push(o.finish(self.schema.field(nk + i).data_type())?);
            }
            out.push(super::changelog(&self.schema, cols, out_kinds)?);
            return Ok(());
        }
        let mut emitted: Vec<(RowKind, Vec<ScalarValue>)> = Vec::new();
        for r in 0..n {
            let kind = c.kinds.as_ref().map_or(0, |k| k[r]);
            let retract = kind == RowKind::UpdateBefore as u8 || kind == RowKind::Delete as u8;
            let Some(s) = self.row_group(key_of(r), &keys, r, retract)? else {
                continue;
            };
            let g = self.slots[s].as_mut().expect("live group");
            g.written = now;
            let d = g.df.get_or_insert_default();
            for (i, acc) in d.accs.iter_mut().enumerate() {
                if !passes(i, r) {
                    continue;
                }
                let cols: Vec<ArrayRef> = args[i].iter().map(|a| a.slice(r, 1)).collect();
                if retract {
                    acc.retract_batch(&cols)?;
                } else {
                    acc.update_batch(&cols)?;
                }
            }
            g.count += if retract { -1 } else { 1 };
            if g.count <= 0 {
                let g = self.release(s);
                if let Some(DfGroup {
                    key,
                    last: Some(last),
                    ..
                }) = g.df.map(|d| *d)
                {
                    emitted.push((RowKind::Delete, [key, last].concat()));
                }
                continue;
            }
            let new = evaluate_all(&mut d.accs)?;
            match d.last.replace(new.clone()) {
                None => emitted.push((RowKind::Insert, [d.key.clone(), new].concat())),
                Some(old) if old != new => {
                    emitted.push((RowKind::UpdateBefore, [d.key.clone(), old].concat()));
                    emitted.push((RowKind::UpdateAfter, [d.key.clone(), new].concat()));
                }
                Some(_) => {}
            }
        }
        self.emit(emitted, out)
    }

    fn watermark(&mut self, wm: i64, out: &mut Vec<Chunk>) -> Result<()> {
        self.wm = wm;
        if self.window_end.is_none() {
            return Ok(());
        }
        let kinds = self.fast_kinds().cloned().unwrap_or_default();
        if let Some(fired) = self.panes.as_mut().map(|p| p.fire(wm)) {
            let nk = self.keys.len();
            for f in fired {
                let m = f.len();
                let mut cols = self.decode_keys((0..m).map(|g| f.key(g)))?;
                for (i, k) in kinds.iter().enumerate() {
                    let vals: Vec<FastValue> =
                        (0..m).map(|g| f.acc(g, i, kinds.len()).value(*k)).collect();
                    let to = self.schema.field(nk + i).data_type();
                    cols.push(super::fast_agg::column(*k, &vals, to)?);
                }
                out.push(super::changelog(&self.schema, cols, vec![0; m])?);
            }
        }
        let mut slots = Vec::new();
        while let Some((&end, _)) = self.by_end.first_key_value() {
            if end - 1 > wm {
                break;
            }
            slots.extend(self.by_end.pop_first().expect("checked").1);
        }
        if slots.is_empty() {
            return Ok(());
        }
        let Some(kinds) = self.fast_kinds().cloned() else {
            let mut fired = Vec::with_capacity(slots.len());
            for s in slots {
                let mut d = self.release(s).df.unwrap_or_default();
                let vals = evaluate_all(&mut d.accs)?;
                fired.push((RowKind::Insert, [std::mem::take(&mut d.key), vals].concat()));
            }
            return self.emit(fired, out);
        };
        // Native accumulators: the fired groups' keys and results as columns.
        let nk = self.keys.len();
        let mut key_bytes = Vec::with_capacity(slots.len());
        let mut vals: Vec<Vec<FastValue>> = vec![Vec::with_capacity(slots.len()); kinds.len()];
        let m = slots.len();
        for s in slots {
            let g = self.release(s);
            for (i, k) in kinds.iter().enumerate() {
                vals[i].push(g.fast[i].value(*k));
            }
            key_bytes.push(g.key_bytes);
        }
        let mut cols = self.decode_keys(key_bytes.iter().map(|k| &k[..]))?;
        for (i, k) in kinds.iter().enumerate() {
            let to = self.schema.field(nk + i).data_type();
            cols.push(super::fast_agg::column(*k, &vals[i], to)?);
        }
        out.push(super::changelog(&self.schema, cols, vec![0; m])?);
        Ok(())
    }

    fn late_rows(&self) -> u64 {
        self.late
    }

    fn state_rows(&self) -> usize {
        self.groups.len() + self.panes.as_ref().map_or(0, super::panes::Panes::groups)
    }

    fn state_bytes(&self) -> usize {
        self.bytes + self.panes.as_ref().map_or(0, super::panes::Panes::bytes)
    }

    fn name(&self) -> &'static str {
        if self.window_end.is_some() {
            "WindowAggregate"
        } else {
            "GroupAggregate"
        }
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        // Native accumulators snapshot everything, retracting MIN/MAX's value counts included.
        if self.fast_kinds().is_some() {
            return Ok(());
        }
        // DataFusion's retracting MIN/MAX keeps every value seen; its `state()` holds only the
        // result.
        for c in self.calls.iter().filter(|c| c.retract) {
            let f = c.expr.fun().name().to_ascii_lowercase();
            if c.expr.is_distinct() || !matches!(f.as_str(), "sum" | "count" | "avg") {
                return Err(format!(
                    "checkpointing {} over a changelog (updating input)",
                    f.to_uppercase()
                ));
            }
        }
        Ok(())
    }

    fn signature(&self) -> String {
        schema_signature(self.name(), &self.schema)
    }

    /// Groups in slot order: key bytes, window end, row count; then the keys, each call's
    /// accumulator states and (group aggregates) the results last emitted, as rows.
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        if let Some(kinds) = self.fast_kinds().cloned() {
            return self.snapshot_fast(&kinds, w);
        }
        let mut end_of = HashMap::new();
        for (end, slots) in &self.by_end {
            for s in slots {
                end_of.insert(*s, *end);
            }
        }
        w.i64(self.wm);
        w.u64(self.late);
        let live: Vec<usize> = (0..self.slots.len())
            .filter(|s| self.slots[*s].is_some())
            .collect();
        w.u64(live.len() as u64);
        let mut keys = Vec::with_capacity(live.len());
        let mut states: Vec<Vec<Vec<ScalarValue>>> = vec![Vec::new(); self.calls.len()];
        let mut lasts = Vec::new();
        for s in &live {
            let g = self.slots[*s].as_mut().expect("live");
            w.bytes(&g.key_bytes);
            w.i64(end_of.get(s).copied().unwrap_or(0));
            w.i64(g.count);
            let d = g.df.get_or_insert_default();
            keys.push(d.key.clone());
            for (i, acc) in d.accs.iter_mut().enumerate() {
                states[i].push(acc.state()?);
            }
            if let Some(l) = &d.last {
                lasts.push(l.clone());
            }
        }
        w.rows(self.keys.len(), &keys)?;
        for st in &states {
            w.rows(st.first().map_or(0, Vec::len), st)?;
        }
        let has_last = !lasts.is_empty() && lasts.len() == live.len();
        w.u64(u64::from(has_last));
        if has_last {
            w.rows(lasts[0].len(), &lasts)?;
        }
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        let first = r.u64()?;
        if first == FAST_SNAPSHOT {
            return self.restore_fast(r);
        }
        self.wm = first as i64;
        self.late = r.u64()?;
        let n = r.u64()? as usize;
        if n > 0 {
            // Groups restored into DataFusion accumulators stay on them.
            self.fast = Some(None);
        }
        let mut heads = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            heads.push((r.bytes()?.to_vec(), r.i64()?, r.i64()?));
        }
        let (_, key_cols) = r.rows()?;
        let mut call_cols = Vec::with_capacity(self.calls.len());
        for _ in &self.calls {
            call_cols.push(r.rows()?.1);
        }
        let last_cols = if r.u64()? == 1 {
            Some(r.rows()?.1)
        } else {
            None
        };
        for (g, (key_bytes, end, count)) in heads.into_iter().enumerate() {
            let key = row_values(&key_cols, 0, key_cols.len(), g)?;
            let s = if self.window_end.is_some() {
                self.slot_for(&key_bytes, key, end)?
            } else {
                self.slot_for(&key_bytes, key, 0)?
            };
            let grp = self.slots[s].as_mut().expect("created");
            grp.count = count;
            let d = grp.df.get_or_insert_default();
            for (i, acc) in d.accs.iter_mut().enumerate() {
                let cols = &call_cols[i];
                if !cols.is_empty() {
                    acc.merge_batch(&row_slices(cols, 0, cols.len(), g))?;
                }
            }
            if let Some(lc) = &last_cols {
                d.last = Some(row_values(lc, 0, lc.len(), g)?);
            }
        }
        Ok(())
    }
}

//! Regular (unbounded) joins over changelogs, with the output rules of Flink's
//! `StreamingJoinOperator` (flink-table-runtime, `operators/join/stream`), without mini-batch:
//!
//! - a row that accumulates (`+I`/`+U`) is stored on its side and joined with the matching rows
//!   of the other side; a row that retracts (`-U`/`-D`) is removed and its joined rows retracted;
//! - inner side against inner side: the joined rows carry the input's kind;
//! - an outer side keeps, per stored row, how many rows of the other side it matches: its
//!   null-padded row is emitted (`+I`) while that number is 0 and retracted (`-D`) when it leaves
//!   0; joined rows of outer joins are `+I` / `-D`.
//!
//! State: per side, the stored rows (columnar, in a [`RowStore`]) and, by join key, their ids;
//! duplicates are separate entries. A row whose join key has a NULL matches nothing (SQL
//! equality).

use super::checkpoint::{get_cols, get_rows, put_keys, StateReader, StateWriter};
use super::ops::Operator;
use super::store::RowStore;
use super::{Chunk, RowKind};
use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions, UInt32Array,
};
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::HashMap;
use datafusion::common::{DataFusionError, Result};
use datafusion::physical_expr::PhysicalExpr;
use std::sync::Arc;

/// A stored row and the number of other-side rows it matches (kept for outer sides only).
///
/// 8 bytes besides the row's: a join can hold millions.
struct Entry {
    /// The row's id in its side's [`JoinSide::store`].
    id: u32,
    assoc: u32,
}

/// One input of a [`Join`].
pub(crate) struct JoinSide {
    /// Join key expressions over this side's rows.
    pub(crate) keys: Vec<Arc<dyn PhysicalExpr>>,
    /// Types of this side's columns.
    pub(crate) types: Vec<DataType>,
    /// Rows of this side without a match are emitted padded with NULLs.
    pub(crate) outer: bool,
    store: RowStore,
    state: HashMap<Box<[u8]>, Vec<Entry>>,
    /// With `table.exec.state.ttl`, per store id: when the row was stored, in ms since the
    /// operator started (empty without a TTL).
    written: Vec<u64>,
    /// Bytes of the key map (keys and entries), besides the store's.
    bytes: usize,
}

impl JoinSide {
    /// A side with its key expressions, column types and outer-ness.
    pub(crate) fn new(keys: Vec<Arc<dyn PhysicalExpr>>, types: Vec<DataType>, outer: bool) -> Self {
        Self {
            store: RowStore::new(types.clone()),
            keys,
            types,
            outer,
            state: HashMap::new(),
            written: Vec::new(),
            bytes: 0,
        }
    }

    /// Number of stored rows.
    fn len(&self) -> usize {
        self.store.len()
    }

    /// Rewrites the store when most of its rows are dead.
    fn compact(&mut self) -> Result<()> {
        if !self.store.needs_compaction() {
            return Ok(());
        }
        let mut ids: Vec<&mut u32> = self
            .state
            .values_mut()
            .flat_map(|es| es.iter_mut().map(|e| &mut e.id))
            .collect();
        if !self.written.is_empty() {
            // New ids follow the old ones' order.
            let mut old: Vec<u32> = ids.iter().map(|i| **i).collect();
            old.sort_unstable();
            self.written = old.iter().map(|&i| self.written[i as usize]).collect();
        }
        self.store.compact(&mut ids)
    }

    /// Whether row `id` is within the state TTL `ttl` (ms) at `now`.
    fn fresh(&self, id: u32, now: u64, ttl: Option<u64>) -> bool {
        ttl.is_none_or(|ttl| now.saturating_sub(self.written[id as usize]) <= ttl)
    }
}

/// A regular join (Flink's `Join` node): `sides[0]` is the left input, `sides[1]` the right.
/// As a semi or anti join (`semi` set) it emits left rows only: those with at least one
/// match (semi) or none (anti), as Flink's `StreamingSemiAntiJoinOperator`.
pub(crate) struct Join {
    pub(crate) sides: [JoinSide; 2],
    /// The non-equi part of the condition, over `pairs`' columns.
    pub(crate) condition: Option<Arc<dyn PhysicalExpr>>,
    /// Output: left columns then right columns (semi/anti: left columns).
    pub(crate) schema: SchemaRef,
    /// Left columns then right columns: what `condition` reads.
    pub(crate) pairs: SchemaRef,
    /// `Some(false)`: semi join; `Some(true)`: anti join.
    pub(crate) semi: Option<bool>,
    /// `table.exec.state.ttl`: a stored row older than this is gone (not matched, dropped).
    pub(crate) ttl: Option<std::time::Duration>,
    last_sweep: std::time::Instant,
    /// The origin of [`JoinSide::written`].
    started: std::time::Instant,
    /// Common types of the join keys.
    key_types: Vec<DataType>,
    keys: Option<RowConverter>,
}

/// Most candidate pairs a [`Join`] decodes at once.
const CANDIDATES_PER_RUN: usize = 65_536;

/// The other side's stored rows that a run of input rows matches by key, decoded.
struct Matches {
    /// The run is the input rows `start..end`.
    end: usize,
    /// The candidates of the run's `k`-th row are `offsets[k]..offsets[k + 1]`.
    offsets: Vec<usize>,
    /// Per candidate: its index among the entries stored under its key.
    entry: Vec<u32>,
    /// Per candidate: whether it satisfies the non-equi condition with its input row.
    ok: Vec<bool>,
    /// The candidates' columns (the other side's types); empty when not decoded.
    cols: Vec<ArrayRef>,
}

impl Matches {
    /// The candidates of the run's `k`-th row that satisfy the condition.
    fn of(&self, k: usize) -> impl Iterator<Item = usize> + '_ {
        (self.offsets[k]..self.offsets[k + 1]).filter(|&j| self.ok[j])
    }
}

/// One output row under construction: the input row, the other side's row (index into the
/// run's decoded candidates), either may be NULL padding.
struct OutRow {
    kind: RowKind,
    input: Option<u32>,
    other: Option<u32>,
}

impl Join {
    /// A join of `left` and `right` on key expressions of the same count; `key_types` are the
    /// types both sides' keys are cast to.
    pub(crate) fn new(
        left: JoinSide,
        right: JoinSide,
        key_types: Vec<DataType>,
        condition: Option<Arc<dyn PhysicalExpr>>,
        schema: SchemaRef,
    ) -> Self {
        Self {
            sides: [left, right],
            condition,
            pairs: schema.clone(),
            schema,
            semi: None,
            ttl: None,
            last_sweep: std::time::Instant::now(),
            started: std::time::Instant::now(),
            key_types,
            keys: None,
        }
    }

    /// Encoded join keys of `batch` (from side `s`), and which rows have a NULL key.
    fn key_rows(&mut self, s: usize, batch: &RecordBatch) -> Result<(Rows, Vec<bool>)> {
        let n = batch.num_rows();
        let arrays = self.sides[s]
            .keys
            .iter()
            .map(|k| k.evaluate(batch)?.into_array(n))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let arrays = super::conform(arrays, &self.key_types)?;
        // No equi key (a cross or non-equi join): one constant key for every row.
        let arrays = if arrays.is_empty() {
            vec![Arc::new(datafusion::arrow::array::BooleanArray::from(vec![true; n])) as ArrayRef]
        } else {
            arrays
        };
        let nulls = (0..n)
            .map(|r| arrays.iter().any(|a| a.is_null(r)))
            .collect();
        Ok((super::encode(&mut self.keys, &arrays)?, nulls))
    }

    /// Looks up the rows of side `1 - s` stored under the keys of rows `start..` of `batch`
    /// (side `s`), decodes them in one call (when `decode` or a condition needs them) and
    /// evaluates the non-equi condition over all pairs at once. The run ends after the row
    /// that brings the candidates to [`CANDIDATES_PER_RUN`] (at least one row), so memory
    /// stays bounded on hot keys. The other side's stored rows do not change membership
    /// while a chunk is processed, so candidates gathered up front stay valid.
    fn gather(
        &self,
        s: usize,
        batch: &RecordBatch,
        keys: &Rows,
        null_key: &[bool],
        start: usize,
        decode: bool,
    ) -> Result<Matches> {
        let o = 1 - s;
        let n = batch.num_rows();
        let now = self.now_ms();
        let ttl = self.ttl.map(ttl_ms);
        let mut offsets = vec![0];
        let mut input: Vec<u32> = Vec::new();
        let mut entry = Vec::new();
        let mut ids = Vec::new();
        let mut end = start;
        while end < n && (end == start || input.len() < CANDIDATES_PER_RUN) {
            if !null_key[end] {
                if let Some(entries) = self.sides[o].state.get(keys.row(end).data()) {
                    for (i, e) in entries.iter().enumerate() {
                        if self.sides[o].fresh(e.id, now, ttl) {
                            input.push(end as u32);
                            entry.push(i as u32);
                            ids.push(e.id);
                        }
                    }
                }
            }
            end += 1;
            offsets.push(input.len());
        }
        let m = input.len();
        let cols = if m > 0 && (decode || self.condition.is_some()) {
            self.sides[o].store.take(&ids)?
        } else {
            Vec::new()
        };
        let ok = match &self.condition {
            Some(cond) if m > 0 => {
                let idx = UInt32Array::from(input);
                let mine = batch
                    .columns()
                    .iter()
                    .map(|c| Ok(take(c.as_ref(), &idx, None)?))
                    .collect::<Result<Vec<_>>>()?;
                let both = if s == 0 {
                    [mine, cols.clone()].concat()
                } else {
                    [cols.clone(), mine].concat()
                };
                let pairs = RecordBatch::try_new_with_options(
                    self.pairs.clone(),
                    both,
                    &RecordBatchOptions::new().with_row_count(Some(m)),
                )?;
                let mask = cond.evaluate(&pairs)?.into_array(m)?;
                let mask = mask.as_boolean_opt().ok_or_else(|| {
                    DataFusionError::Execution("join condition is not a BOOLEAN".into())
                })?;
                (0..m).map(|i| mask.is_valid(i) && mask.value(i)).collect()
            }
            _ => vec![true; m],
        };
        Ok(Matches {
            end,
            offsets,
            entry,
            ok,
            cols,
        })
    }

    /// Builds the output chunk of `rows` (input rows from `batch` of side `s`, other rows from
    /// `cands`, the decoded candidates of the other side).
    fn emit(
        &self,
        s: usize,
        batch: &RecordBatch,
        cands: &[ArrayRef],
        rows: &[OutRow],
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let o = 1 - s;
        let n = rows.len();
        let input_idx: UInt32Array = rows.iter().map(|r| r.input).collect();
        let mine = batch
            .columns()
            .iter()
            .map(|c| Ok(take(c.as_ref(), &input_idx, None)?))
            .collect::<Result<Vec<_>>>()?;
        let theirs = if cands.is_empty() {
            self.sides[o]
                .types
                .iter()
                .map(|t| new_null_array(t, n))
                .collect()
        } else {
            let other_idx: UInt32Array = rows.iter().map(|r| r.other).collect();
            cands
                .iter()
                .map(|c| Ok(take(c.as_ref(), &other_idx, None)?))
                .collect::<Result<Vec<_>>>()?
        };
        let cols = match (self.semi, s) {
            (Some(_), 0) => mine,
            (Some(_), _) => theirs,
            (None, 0) => [mine, theirs].concat(),
            (None, _) => [theirs, mine].concat(),
        };
        let kinds: Vec<u8> = rows.iter().map(|r| r.kind as u8).collect();
        out.push(super::changelog(&self.schema, cols, kinds)?);
        Ok(())
    }
}

impl Join {
    /// A semi (`anti` = false) or anti join of `left` and `right`; `pairs` is what the
    /// condition reads (left columns then right columns), the output the left columns.
    pub(crate) fn semi_join(
        mut left: JoinSide,
        right: JoinSide,
        key_types: Vec<DataType>,
        condition: Option<Arc<dyn PhysicalExpr>>,
        schema: SchemaRef,
        pairs: SchemaRef,
        anti: bool,
    ) -> Self {
        left.outer = true;
        let mut j = Self::new(left, right, key_types, condition, schema);
        j.pairs = pairs;
        j.semi = Some(anti);
        j
    }

    /// A semi join (`semi` = `Some(false)`), an anti join (`Some(true)`) or an inner/outer
    /// join (`None`, `pairs` unused) of `sides`, as [`Self::semi_join`] and [`Self::new`].
    pub(crate) fn of_kind(
        semi: Option<bool>,
        [left, right]: [JoinSide; 2],
        key_types: Vec<DataType>,
        condition: Option<Arc<dyn PhysicalExpr>>,
        schema: SchemaRef,
        pairs: SchemaRef,
    ) -> Self {
        match semi {
            Some(anti) => Self::semi_join(left, right, key_types, condition, schema, pairs, anti),
            None => Self::new(left, right, key_types, condition, schema),
        }
    }

    /// One chunk into a semi or anti join. Left rows keep how many right rows match them; a
    /// left row is out while it has a match (semi) or none (anti), and goes in or out (`+I` /
    /// `-D`) as right rows come and go.
    #[allow(clippy::too_many_arguments)]
    fn semi_anti(
        &mut self,
        anti: bool,
        s: usize,
        c: &Chunk,
        keys: &Rows,
        null_key: &[bool],
        inp: &mut ChunkRows,
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        let batch = &c.batch;
        let mut start = 0;
        while start < batch.num_rows() {
            // Left rows only count their matches; right rows may flip left rows (decoded).
            let m = self.gather(s, batch, keys, null_key, start, s == 1)?;
            let mut rows: Vec<OutRow> = Vec::new();
            for r in start..m.end {
                let k = r - start;
                let kind = RowKind::from_byte(c.kinds.as_ref().map_or(0, |k| k[r]));
                let accumulate = matches!(kind, RowKind::Insert | RowKind::UpdateAfter);
                let key = keys.row(r).data();
                if s == 0 {
                    // A left row: out now if its match count says so.
                    let count = m.of(k).count();
                    if (count == 0) == anti {
                        rows.push(OutRow {
                            kind,
                            input: Some(r as u32),
                            other: None,
                        });
                    }
                    if accumulate {
                        self.store(0, key, inp.next_id(), count as u32);
                    } else {
                        self.remove(0, key, inp, r)?;
                    }
                    continue;
                }
                // A right row: left rows whose match count leaves or reaches 0 flip.
                if let Some(entries) = self.sides[0].state.get_mut(key) {
                    for j in m.of(k) {
                        let e = &mut entries[m.entry[j] as usize];
                        let flips = if accumulate {
                            e.assoc += 1;
                            e.assoc == 1
                        } else {
                            e.assoc = e.assoc.saturating_sub(1);
                            e.assoc == 0
                        };
                        if flips {
                            let goes_in = accumulate != anti;
                            rows.push(OutRow {
                                kind: if goes_in {
                                    RowKind::Insert
                                } else {
                                    RowKind::Delete
                                },
                                input: None,
                                other: Some(j as u32),
                            });
                        }
                    }
                }
                if accumulate {
                    self.store(1, key, inp.next_id(), 0);
                } else {
                    self.remove(1, key, inp, r)?;
                }
            }
            self.emit(s, batch, &m.cols, &rows, out)?;
            start = m.end;
        }
        Ok(())
    }

    /// ms since the operator started (the clock of [`JoinSide::written`]).
    fn now_ms(&self) -> u64 {
        ttl_ms(self.started.elapsed())
    }

    /// Stores the row with id `id` (in side `s`'s store) under `key` with `assoc` matches.
    fn store(&mut self, s: usize, key: &[u8], id: u32, assoc: u32) {
        let now = self.ttl.is_some().then(|| self.now_ms());
        let side = &mut self.sides[s];
        if let Some(now) = now {
            let at = id as usize;
            if side.written.len() <= at {
                side.written.resize(at + 1, 0);
            }
            side.written[at] = now;
        }
        side.bytes += ENTRY_BYTES;
        let e = Entry { id, assoc };
        match side.state.get_mut(key) {
            Some(entries) => entries.push(e),
            None => {
                side.bytes += key_bytes(key);
                side.state.insert(key.into(), vec![e]);
            }
        }
    }

    /// Drops the rows stored longer than the state TTL (at most once per TTL period).
    fn sweep(&mut self) {
        let Some(ttl) = self.ttl else { return };
        if self.last_sweep.elapsed() < ttl {
            return;
        }
        self.last_sweep = std::time::Instant::now();
        let now = self.now_ms();
        let ttl = ttl_ms(ttl);
        for side in &mut self.sides {
            let mut freed = 0;
            let store = &mut side.store;
            let written = &side.written;
            side.state.retain(|key, entries| {
                entries.retain(|e| {
                    let keep = now.saturating_sub(written[e.id as usize]) <= ttl;
                    if !keep {
                        store.remove(e.id);
                        freed += ENTRY_BYTES;
                    }
                    keep
                });
                if entries.is_empty() {
                    freed += key_bytes(key);
                }
                !entries.is_empty()
            });
            side.bytes -= freed;
        }
    }

    /// Removes one stored row equal to row `r` of `inp` under `key` from side `s`.
    fn remove(&mut self, s: usize, key: &[u8], inp: &mut ChunkRows, r: usize) -> Result<()> {
        let side = &mut self.sides[s];
        let Some(entries) = side.state.get_mut(key) else {
            return Ok(());
        };
        side.store.ensure_hashes()?;
        let h = inp.hash(&side.store, r)?;
        let mut found = None;
        for (i, e) in entries.iter().enumerate() {
            if side.store.hash(e.id) == Some(h) && side.store.equals(e.id, &inp.cols, r)? {
                found = Some(i);
                break;
            }
        }
        if let Some(i) = found {
            let gone = entries.swap_remove(i);
            side.store.remove(gone.id);
            side.bytes -= ENTRY_BYTES;
        }
        if entries.is_empty() {
            side.state.remove(key);
            side.bytes -= key_bytes(key);
        }
        Ok(())
    }
}

/// The rows of the chunk being processed, cast to their side's types: the ones that accumulate
/// are appended to the side's store up front and take their ids in order as they are stored;
/// hashes are computed on the first retraction.
struct ChunkRows {
    cols: Vec<ArrayRef>,
    next: u32,
    hashes: Option<Vec<u64>>,
}

impl ChunkRows {
    /// Appends the accumulating rows (`+I`/`+U`) of chunk `c` to `side`'s store.
    fn new(side: &mut JoinSide, c: &Chunk) -> Result<Self> {
        let n = c.batch.num_rows();
        let cols = super::conform(c.batch.columns().iter().cloned(), &side.types)?;
        let acc: Vec<u32> = match &c.kinds {
            None => (0..n as u32).collect(),
            Some(k) => (0..n as u32)
                .filter(|&r| {
                    let k = RowKind::from_byte(k[r as usize]);
                    matches!(k, RowKind::Insert | RowKind::UpdateAfter)
                })
                .collect(),
        };
        let next = if acc.is_empty() {
            0
        } else if acc.len() == n {
            side.store.append(cols.clone(), n)?
        } else {
            let idx = UInt32Array::from(acc.clone());
            let kept = cols
                .iter()
                .map(|c| Ok(take(c.as_ref(), &idx, None)?))
                .collect::<Result<Vec<_>>>()?;
            side.store.append(kept, acc.len())?
        };
        Ok(Self {
            cols,
            next,
            hashes: None,
        })
    }

    /// The id of the next accumulating row, in row order.
    fn next_id(&mut self) -> u32 {
        self.next += 1;
        self.next - 1
    }

    /// Row `r`'s hash as `store` hashes rows.
    fn hash(&mut self, store: &RowStore, r: usize) -> Result<u64> {
        if self.hashes.is_none() {
            let n = self.cols.first().map_or(0, |c| c.len());
            self.hashes = Some(store.hash_rows(&self.cols, n)?);
        }
        Ok(self.hashes.as_ref().map_or(0, |h| h[r]))
    }
}

impl Operator for Join {
    fn process(&mut self, input: usize, c: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        self.sweep();
        let s = input.min(1);
        let o = 1 - s;
        let batch = c.batch.clone();
        let n = batch.num_rows();
        let (keys, null_key) = self.key_rows(s, &batch)?;
        let mut inp = ChunkRows::new(&mut self.sides[s], &c)?;
        if let Some(anti) = self.semi {
            self.semi_anti(anti, s, &c, &keys, &null_key, &mut inp, out)?;
            self.sides[0].compact()?;
            return self.sides[1].compact();
        }
        let (input_outer, other_outer) = (self.sides[s].outer, self.sides[o].outer);
        let mut start = 0;
        while start < n {
            let m = self.gather(s, &batch, &keys, &null_key, start, true)?;
            let mut rows: Vec<OutRow> = Vec::new();
            for r in start..m.end {
                let k = r - start;
                let kind = RowKind::from_byte(c.kinds.as_ref().map_or(0, |k| k[r]));
                let accumulate = matches!(kind, RowKind::Insert | RowKind::UpdateAfter);
                let key = keys.row(r).data();
                let count = m.of(k).count();
                if accumulate {
                    if input_outer && count == 0 {
                        rows.push(OutRow {
                            kind: RowKind::Insert,
                            input: Some(r as u32),
                            other: None,
                        });
                    } else if count > 0 {
                        // The matched rows' association counts change only on an outer side.
                        let mut entries = other_outer
                            .then(|| self.sides[o].state.get_mut(key))
                            .flatten();
                        let joined = if input_outer || other_outer {
                            RowKind::Insert
                        } else {
                            kind
                        };
                        for j in m.of(k) {
                            if let Some(entries) = entries.as_mut() {
                                let e = &mut entries[m.entry[j] as usize];
                                if e.assoc == 0 {
                                    rows.push(OutRow {
                                        kind: RowKind::Delete,
                                        input: None,
                                        other: Some(j as u32),
                                    });
                                }
                                e.assoc += 1;
                            }
                            rows.push(OutRow {
                                kind: joined,
                                input: Some(r as u32),
                                other: Some(j as u32),
                            });
                        }
                    }
                    self.store(s, key, inp.next_id(), count as u32);
                } else {
                    self.remove(s, key, &mut inp, r)?;
                    if count == 0 {
                        if input_outer {
                            rows.push(OutRow {
                                kind: RowKind::Delete,
                                input: Some(r as u32),
                                other: None,
                            });
                        }
                    } else {
                        // The matched rows' association counts change only on an outer side.
                        let mut entries = other_outer
                            .then(|| self.sides[o].state.get_mut(key))
                            .flatten();
                        for j in m.of(k) {
                            rows.push(OutRow {
                                kind: if input_outer { RowKind::Delete } else { kind },
                                input: Some(r as u32),
                                other: Some(j as u32),
                            });
                            if let Some(entries) = entries.as_mut() {
                                let e = &mut entries[m.entry[j] as usize];
                                if e.assoc == 1 {
                                    rows.push(OutRow {
                                        kind: RowKind::Insert,
                                        input: None,
                                        other: Some(j as u32),
                                    });
                                }
                                e.assoc = e.assoc.saturating_sub(1);
                            }
                        }
                    }
                }
            }
            self.emit(s, &batch, &m.cols, &rows, out)?;
            start = m.end;
        }
        self.sides[0].compact()?;
        self.sides[1].compact()
    }

    fn state_rows(&self) -> usize {
        self.sides[0].len() + self.sides[1].len()
    }

    fn state_bytes(&self) -> usize {
        self.sides.iter().map(|s| s.bytes + s.store.bytes()).sum()
    }

    fn name(&self) -> &'static str {
        match self.semi {
            Some(false) => "SemiJoin",
            Some(true) => "AntiJoin",
            None => "Join",
        }
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn signature(&self) -> String {
        let outer = |s: &JoinSide| if s.outer { "outer" } else { "inner" };
        let name = format!(
            "{}({}, {})",
            self.name(),
            outer(&self.sides[0]),
            outer(&self.sides[1])
        );
        super::ops::schema_signature(&name, &self.schema)
    }

    /// Per side: per key its rows' association counts; the keys; the rows.
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        for side in &self.sides {
            w.u64(side.state.len() as u64);
            for entries in side.state.values() {
                w.u64(entries.len() as u64);
                for e in entries {
                    w.u64(u64::from(e.assoc));
                }
            }
            let keys = side.state.keys().map(|k| &k[..]);
            put_keys(w, self.keys.as_ref(), keys, side.state.len())?;
            // As `put_rows` writes them.
            let ids: Vec<u32> = side.state.values().flatten().map(|e| e.id).collect();
            w.u64(ids.len() as u64);
            if !ids.is_empty() {
                w.arrays(side.store.scan(&ids)?)?;
            }
        }
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        // Restored rows count as written now, as before.
        let restored_at = if self.ttl.is_some() { self.now_ms() } else { 0 };
        for s in 0..2 {
            let nk = r.u64()? as usize;
            let mut counts = Vec::with_capacity(nk.min(1 << 20));
            for _ in 0..nk {
                let n = r.u64()? as usize;
                let assocs = (0..n)
                    .map(|_| r.u64().map(|a| a as u32))
                    .collect::<Result<Vec<_>>>()?;
                counts.push(assocs);
            }
            let keys = get_rows(r, &mut self.keys)?;
            let cols = get_cols(r)?;
            let side = &mut self.sides[s];
            let total: usize = counts.iter().map(Vec::len).sum();
            let rows = cols.first().map_or(0, |c| c.len());
            let columns = !side.types.is_empty();
            if (columns && rows != total) || (total > 0 && cols.len() != side.types.len()) {
                return Err(DataFusionError::Execution(
                    "checkpoint: a join's state does not match its rows".into(),
                ));
            }
            let mut id = if total > 0 {
                side.store.append(cols, total)?
            } else {
                0
            };
            if self.ttl.is_some() {
                side.written.resize(id as usize + total, restored_at);
            }
            for (i, assocs) in counts.into_iter().enumerate() {
                let Some(k) = &keys else {
                    return Err(DataFusionError::Execution(
                        "checkpoint: a join's state lacks its keys".into(),
                    ));
                };
                let key: Box<[u8]> = k.row(i).data().into();
                side.bytes += key_bytes(&key) + assocs.len() * ENTRY_BYTES;
                let mut entries = Vec::with_capacity(assocs.len());
                for assoc in assocs {
                    entries.push(Entry { id, assoc });
                    id += 1;
                }
                side.state.insert(key, entries);
            }
        }
        Ok(())
    }
}

/// `d` in whole ms, saturating (a `table.exec.state.ttl` beyond 584 million years is forever).
fn ttl_ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Bytes counted for a key of the key map.
fn key_bytes(key: &[u8]) -> usize {
    key.len() + super::ops::ENTRY_OVERHEAD
}

/// Bytes of one [`Entry`].
const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();

/// A window join (Flink's `WindowJoin`): both inputs windowed, joined per window when the
/// watermark reaches `window_end − 1`; the output is insert-only (outer joins pad the rows
/// without a match in the window). Rows of a window that has fired are late: dropped and
/// counted.
pub(crate) struct WindowJoin {
    join: Join,
    /// Index of `window_end` in the left and the right input.
    ends: [usize; 2],
    /// Rows waiting per window end, per side.
    pending: std::collections::BTreeMap<i64, [Vec<RecordBatch>; 2]>,
    wm: i64,
    late: u64,
    bytes: usize,
}

impl WindowJoin {
    /// `join` (its state unused) applied per window; `ends` as in the struct.
    pub(crate) fn new(join: Join, ends: [usize; 2]) -> Self {
        Self {
            join,
            ends,
            pending: std::collections::BTreeMap::new(),
            wm: i64::MIN,
            late: 0,
            bytes: 0,
        }
    }

    /// Joins one window's rows: a fresh join state fed the left rows, then the right rows; its
    /// changelog is materialised into inserts.
    fn fire(&mut self, sides: [Vec<RecordBatch>; 2], out: &mut Vec<Chunk>) -> Result<()> {
        let fresh = |s: &JoinSide| JoinSide::new(s.keys.clone(), s.types.clone(), s.outer);
        let mut join = Join::new(
            fresh(&self.join.sides[0]),
            fresh(&self.join.sides[1]),
            self.join.key_types.clone(),
            self.join.condition.clone(),
            self.join.schema.clone(),
        );
        join.pairs = self.join.pairs.clone();
        join.semi = self.join.semi;
        let mut changes = Vec::new();
        for (s, batches) in sides.into_iter().enumerate() {
            for b in batches {
                join.process(s, Chunk::inserts(b), &mut changes)?;
            }
        }
        if let Some(c) = materialise(&self.join.schema, changes)? {
            out.push(c);
        }
        Ok(())
    }
}

/// The rows a changelog leaves (`+I`/`+U` add a row, `-U`/`-D` remove an equal one), as one
/// insert-only chunk in first-arrival order.
fn materialise(schema: &SchemaRef, changes: Vec<Chunk>) -> Result<Option<Chunk>> {
    if changes.is_empty() {
        return Ok(None);
    }
    let batches: Vec<&RecordBatch> = changes.iter().map(|c| &c.batch).collect();
    let all = datafusion::arrow::compute::concat_batches(schema, batches.iter().copied())?;
    let kinds: Vec<u8> = changes
        .iter()
        .flat_map(|c| match &c.kinds {
            Some(k) => k.clone(),
            None => vec![0; c.batch.num_rows()],
        })
        .collect();
    let conv = RowConverter::new(
        schema
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect(),
    )?;
    let rows = conv.convert_columns(all.columns())?;
    let mut live: HashMap<Box<[u8]>, Vec<u32>> = HashMap::new();
    for (r, k) in kinds.iter().enumerate() {
        let key: Box<[u8]> = rows.row(r).data().into();
        if *k == RowKind::Insert as u8 || *k == RowKind::UpdateAfter as u8 {
            live.entry(key).or_default().push(r as u32);
        } else if let Some(v) = live.get_mut(&key) {
            v.pop();
        }
    }
    let mut keep: Vec<u32> = live.into_values().flatten().collect();
    if keep.is_empty() {
        return Ok(None);
    }
    keep.sort_unstable();
    let idx = UInt32Array::from(keep);
    let cols = all
        .columns()
        .iter()
        .map(|c| Ok(take(c.as_ref(), &idx, None)?))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Chunk::inserts(RecordBatch::try_new(
        schema.clone(),
        cols,
    )?)))
}

impl Operator for WindowJoin {
    fn process(&mut self, input: usize, c: Chunk, _out: &mut Vec<Chunk>) -> Result<()> {
        let s = input.min(1);
        let b = c.batch;
        let ends = cast(
            b.column(self.ends[s]),
            &DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Millisecond, None),
        )?;
        let ends = ends.as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>();
        let mut per_end: std::collections::BTreeMap<i64, Vec<u32>> = Default::default();
        for r in 0..b.num_rows() {
            if ends.is_null(r) || ends.value(r) - 1 <= self.wm {
                self.late += 1;
                continue;
            }
            per_end.entry(ends.value(r)).or_default().push(r as u32);
        }
        for (end, idx) in per_end {
            let idx = UInt32Array::from(idx);
            let cols = b
                .columns()
                .iter()
                .map(|c| Ok(take(c.as_ref(), &idx, None)?))
                .collect::<Result<Vec<_>>>()?;
            let part = RecordBatch::try_new(b.schema(), cols)?;
            self.bytes += part.get_array_memory_size();
            self.pending.entry(end).or_default()[s].push(part);
        }
        Ok(())
    }

    fn watermark(&mut self, wm: i64, out: &mut Vec<Chunk>) -> Result<()> {
        self.wm = wm;
        while let Some((&end, _)) = self.pending.first_key_value() {
            if end - 1 > wm {
                break;
            }
            let (_, sides) = self.pending.pop_first().expect("checked");
            let freed: usize = sides
                .iter()
                .flatten()
                .map(RecordBatch::get_array_memory_size)
                .sum();
            self.bytes = self.bytes.saturating_sub(freed);
            self.fire(sides, out)?;
        }
        Ok(())
    }

    fn late_rows(&self) -> u64 {
        self.late
    }

    fn state_rows(&self) -> usize {
        self.pending
            .values()
            .flat_map(|s| s.iter().flatten())
            .map(RecordBatch::num_rows)
            .sum()
    }

    fn state_bytes(&self) -> usize {
        self.bytes
    }

    fn name(&self) -> &'static str {
        "WindowJoin"
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn signature(&self) -> String {
        format!("WindowJoin/{}", self.join.signature())
    }

    /// Counters; per pending window its end and per side its batches (Arrow columns).
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        w.i64(self.wm);
        w.u64(self.late);
        w.u64(self.pending.len() as u64);
        for (end, sides) in &self.pending {
            w.i64(*end);
            for batches in sides {
                w.u64(batches.len() as u64);
                for b in batches {
                    w.u64(b.num_rows() as u64);
                    w.arrays(b.columns().to_vec())?;
                }
            }
        }
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        self.wm = r.i64()?;
        self.late = r.u64()?;
        let n = r.u64()?;
        for _ in 0..n {
            let end = r.i64()?;
            let mut sides: [Vec<RecordBatch>; 2] = Default::default();
            for side in &mut sides {
                let nb = r.u64()?;
                for _ in 0..nb {
                    let rows = r.u64()? as usize;
                    let cols = r.arrays()?;
                    let fields: Vec<_> = cols
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            datafusion::arrow::datatypes::Field::new(
                                format!("c{i}"),
                                c.data_type().clone(),
                                true,
                            )
                        })
                        .collect();
                    let b = RecordBatch::try_new_with_options(
                        Arc::new(datafusion::arrow::datatypes::Schema::new(fields)),
                        cols,
                        &datafusion::arrow::array::RecordBatchOptions::new()
                            .with_row_count(Some(rows)),
                    )?;
                    self.bytes += b.get_array_memory_size();
                    side.push(b);
                }
            }
            self.pending.insert(end, sides);
        }
        Ok(())
    }
}

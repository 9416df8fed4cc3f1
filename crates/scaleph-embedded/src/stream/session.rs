//! Session window aggregation (`GROUP BY window_start, window_end, …` over
//! `TABLE(SESSION(TABLE t [PARTITION BY k], DESCRIPTOR(ts), gap))`), with Flink's merging
//! windows (`MergingWindowSet`, `TimeWindow.intersects`):
//!
//! - per partition key, a row at `ts` opens the window `[ts, ts + gap)`; every session it
//!   intersects (touching counts) is merged into it, their aggregates merged per group key;
//! - a row is late (dropped, counted) when its own window already closed
//!   (`ts + gap − 1 <= watermark`) and it intersects no open session: as in Flink, lateness is
//!   judged on the merged window;
//! - a session fires when the watermark reaches `end − 1`: one `+I` row per group key, with the
//!   session's `window_start`, `window_end`, `window_time` (`end − 1`), and its state goes.

use super::checkpoint::{get_rows, put_keys, row_slices, row_values, StateReader, StateWriter};
use super::ops::{AggCall, Operator, ENTRY_OVERHEAD};
use super::Chunk;
use datafusion::arrow::array::{ArrayRef, UInt32Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::row::RowConverter;
use datafusion::common::HashMap;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::PhysicalExpr;
use std::sync::Arc;

/// Aggregates of one group key within a session.
struct Group {
    key: Vec<ScalarValue>,
    accs: Vec<Box<dyn Accumulator>>,
}

/// One session of a partition.
struct Session {
    start: i64,
    end: i64,
    groups: HashMap<Box<[u8]>, Group>,
}

/// Which output column of the group keys is a window column.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowCol {
    Start,
    End,
    Time,
}

/// The session window aggregate operator.
pub(crate) struct SessionAggregate {
    /// Group key expressions (window columns included; their values are replaced).
    pub(crate) keys: Vec<Arc<dyn PhysicalExpr>>,
    /// Per group key: the window column it is, if any.
    pub(crate) window_cols: Vec<Option<WindowCol>>,
    pub(crate) partition: Vec<Arc<dyn PhysicalExpr>>,
    /// Input column holding each row's time (the TVF's per-row `window_start`).
    pub(crate) time: usize,
    pub(crate) gap: i64,
    pub(crate) calls: Vec<AggCall>,
    pub(crate) schema: SchemaRef,
    part_conv: Option<RowConverter>,
    key_conv: Option<RowConverter>,
    sessions: HashMap<Box<[u8]>, Vec<Session>>,
    /// At most the least end of an open session (ends only grow until a session fires), so
    /// a watermark below it fires nothing.
    min_end: i64,
    wm: i64,
    late: u64,
    bytes: usize,
}

impl SessionAggregate {
    /// The operator; `window_cols[i]` tells which of `keys` are window columns.
    pub(crate) fn new(
        keys: Vec<Arc<dyn PhysicalExpr>>,
        window_cols: Vec<Option<WindowCol>>,
        partition: Vec<Arc<dyn PhysicalExpr>>,
        time: usize,
        gap: i64,
        calls: Vec<AggCall>,
        schema: SchemaRef,
    ) -> Self {
        Self {
            keys,
            window_cols,
            partition,
            time,
            gap,
            calls,
            schema,
            part_conv: None,
            key_conv: None,
            sessions: HashMap::new(),
            min_end: i64::MAX,
            wm: i64::MIN,
            late: 0,
            bytes: 0,
        }
    }
}

/// A new group of key values `key` with fresh accumulators for `calls`.
fn new_group(calls: &[AggCall], key: Vec<ScalarValue>) -> Result<Group> {
    Ok(Group {
        key,
        accs: calls
            .iter()
            .map(|c| c.expr.create_accumulator())
            .collect::<Result<Vec<_>>>()?,
    })
}

/// Merges `from`'s aggregates into `into` (accumulator states, as partial aggregation does).
fn merge(into: &mut Group, from: Group) -> Result<()> {
    for (a, mut b) in into.accs.iter_mut().zip(from.accs) {
        let state = b
            .state()?
            .into_iter()
            .map(|v| v.to_array())
            .collect::<Result<Vec<ArrayRef>>>()?;
        a.merge_batch(&state)?;
    }
    Ok(())
}

impl Operator for SessionAggregate {
    fn process(&mut self, _input: usize, c: Chunk, _out: &mut Vec<Chunk>) -> Result<()> {
        let b = &c.batch;
        let n = b.num_rows();
        let eval = |es: &[Arc<dyn PhysicalExpr>]| -> Result<Vec<ArrayRef>> {
            es.iter().map(|e| e.evaluate(b)?.into_array(n)).collect()
        };
        let mut parts = eval(&self.partition)?;
        if parts.is_empty() {
            parts.push(Arc::new(datafusion::arrow::array::BooleanArray::from(
                vec![true; n],
            )));
        }
        let keys = eval(&self.keys)?;
        let plain: Vec<ArrayRef> = keys
            .iter()
            .zip(&self.window_cols)
            .filter(|(_, w)| w.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        let plain = if plain.is_empty() {
            vec![Arc::new(datafusion::arrow::array::BooleanArray::from(vec![true; n])) as ArrayRef]
        } else {
            plain
        };
        let prow = super::encode(&mut self.part_conv, &parts)?;
        let krow = super::encode(&mut self.key_conv, &plain)?;
        let times = super::exec::millis(b.column(self.time).as_ref())?;
        let (args, masks) = AggCall::inputs(&self.calls, b)?;
        for (r, t) in times.into_iter().enumerate() {
            let Some(t) = t else { continue };
            let end = t.saturating_add(self.gap);
            let part = prow.row(r).data();
            // Late: the row's own window has closed and it joins no open session (Flink checks
            // the merged window).
            if end - 1 <= self.wm {
                let joins_open = self
                    .sessions
                    .get(part)
                    .is_some_and(|list| list.iter().any(|s| s.start <= end && s.end >= t));
                if !joins_open {
                    self.late += 1;
                    continue;
                }
            }
            let list = match self.sessions.get_mut(part) {
                Some(list) => list,
                None => self.sessions.entry(part.into()).or_default(),
            };
            // The sessions the row's window intersects.
            let hits = list.iter().filter(|s| s.start <= end && s.end >= t).count();
            let at = if hits == 1 {
                // One session: it grows in place.
                let i = list
                    .iter()
                    .position(|s| s.start <= end && s.end >= t)
                    .expect("counted");
                let s = &mut list[i];
                s.start = s.start.min(t);
                s.end = s.end.max(end);
                i
            } else {
                // None or several: every intersecting session merges into the row's window.
                let (mut start, mut stop) = (t, end);
                let mut merged: Vec<Session> = Vec::new();
                let mut i = 0;
                while i < list.len() {
                    let s = &list[i];
                    if s.start <= stop && s.end >= start {
                        let s = list.swap_remove(i);
                        start = start.min(s.start);
                        stop = stop.max(s.end);
                        merged.push(s);
                        // The window grew: earlier sessions may intersect now.
                        i = 0;
                    } else {
                        i += 1;
                    }
                }
                let mut session = Session {
                    start,
                    end: stop,
                    groups: HashMap::new(),
                };
                for s in merged {
                    for (k, g) in s.groups {
                        match session.groups.get_mut(&k) {
                            Some(into) => merge(into, g)?,
                            None => {
                                session.groups.insert(k, g);
                            }
                        }
                    }
                }
                list.push(session);
                list.len() - 1
            };
            self.min_end = self.min_end.min(list[at].end);
            let key = krow.row(r).data();
            let groups = &mut list[at].groups;
            if !groups.contains_key(key) {
                let values = keys
                    .iter()
                    .map(|k| ScalarValue::try_from_array(k, r))
                    .collect::<Result<Vec<_>>>()?;
                self.bytes += key.len() + ENTRY_OVERHEAD * (1 + self.calls.len());
                groups.insert(key.into(), new_group(&self.calls, values)?);
            }
            let g = groups.get_mut(key).expect("inserted");
            for (i, acc) in g.accs.iter_mut().enumerate() {
                if !super::ops::passes(&masks, i, r) {
                    continue;
                }
                let cols: Vec<ArrayRef> = args[i].iter().map(|a| a.slice(r, 1)).collect();
                acc.update_batch(&cols)?;
            }
        }
        Ok(())
    }

    fn watermark(&mut self, wm: i64, out: &mut Vec<Chunk>) -> Result<()> {
        self.wm = wm;
        if self.min_end.saturating_sub(1) > wm {
            // No session can close yet: no pass over every partition.
            return Ok(());
        }
        let mut fired: Vec<Session> = Vec::new();
        let mut min_end = i64::MAX;
        self.sessions.retain(|_, list| {
            let (done, open): (Vec<Session>, Vec<Session>) =
                list.drain(..).partition(|s| s.end - 1 <= wm);
            fired.extend(done);
            *list = open;
            min_end = list.iter().map(|s| s.end).fold(min_end, i64::min);
            !list.is_empty()
        });
        self.min_end = min_end;
        if fired.is_empty() {
            return Ok(());
        }
        let ts = |v: i64| ScalarValue::TimestampMillisecond(Some(v), None);
        let mut rows: Vec<Vec<ScalarValue>> = Vec::new();
        for s in fired {
            for (k, mut g) in s.groups {
                self.bytes = self
                    .bytes
                    .saturating_sub(k.len() + ENTRY_OVERHEAD * (1 + self.calls.len()));
                let mut row: Vec<ScalarValue> = g
                    .key
                    .iter()
                    .zip(&self.window_cols)
                    .map(|(v, w)| match w {
                        Some(WindowCol::Start) => ts(s.start),
                        Some(WindowCol::End) => ts(s.end),
                        Some(WindowCol::Time) => ts(s.end - 1),
                        None => v.clone(),
                    })
                    .collect();
                for a in g.accs.iter_mut() {
                    row.push(a.evaluate()?);
                }
                rows.push(row);
            }
        }
        let n = rows.len();
        out.push(super::ops::scalar_rows(&self.schema, rows, vec![0; n])?);
        Ok(())
    }

    fn late_rows(&self) -> u64 {
        self.late
    }

    fn state_rows(&self) -> usize {
        self.sessions
            .values()
            .flatten()
            .map(|s| s.groups.len())
            .sum()
    }

    fn state_bytes(&self) -> usize {
        self.bytes
    }
    fn name(&self) -> &'static str {
        "SessionWindowAggregate"
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn signature(&self) -> String {
        let name = format!("SessionWindowAggregate(gap {} ms)", self.gap);
        super::ops::schema_signature(&name, &self.schema)
    }

    /// Counters; per partition its sessions (start, end, group key bytes); partition keys as
    /// Arrow columns; group keys and each call's accumulator states as rows.
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        w.i64(self.wm);
        w.u64(self.late);
        w.u64(self.sessions.len() as u64);
        let mut keys = Vec::new();
        let mut states: Vec<Vec<Vec<ScalarValue>>> = vec![Vec::new(); self.calls.len()];
        for sessions in self.sessions.values_mut() {
            w.u64(sessions.len() as u64);
            for sess in sessions.iter_mut() {
                w.i64(sess.start);
                w.i64(sess.end);
                w.u64(sess.groups.len() as u64);
                for (kb, g) in sess.groups.iter_mut() {
                    w.bytes(kb);
                    keys.push(g.key.clone());
                    for (i, acc) in g.accs.iter_mut().enumerate() {
                        states[i].push(acc.state()?);
                    }
                }
            }
        }
        put_keys(
            w,
            self.part_conv.as_ref(),
            self.sessions.keys().map(|k| &k[..]),
            self.sessions.len(),
        )?;
        w.rows(self.keys.len(), &keys)?;
        for st in &states {
            w.rows(st.first().map_or(0, Vec::len), st)?;
        }
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        self.wm = r.i64()?;
        self.late = r.u64()?;
        let np = r.u64()? as usize;
        let mut shape = Vec::with_capacity(np.min(1 << 20));
        for _ in 0..np {
            let ns = r.u64()? as usize;
            let mut sessions = Vec::with_capacity(ns.min(1 << 20));
            for _ in 0..ns {
                let (start, end, ng) = (r.i64()?, r.i64()?, r.u64()? as usize);
                let kbs = (0..ng)
                    .map(|_| r.bytes().map(<[u8]>::to_vec))
                    .collect::<Result<Vec<_>>>()?;
                sessions.push((start, end, kbs));
            }
            shape.push(sessions);
        }
        let parts = get_rows(r, &mut self.part_conv)?;
        let (_, key_cols) = r.rows()?;
        let mut call_cols = Vec::with_capacity(self.calls.len());
        for _ in &self.calls {
            call_cols.push(r.rows()?.1);
        }
        let mut g_at = 0;
        for (p, sessions) in shape.into_iter().enumerate() {
            let part: Box<[u8]> = parts
                .as_ref()
                .ok_or_else(|| {
                    datafusion::common::DataFusionError::Execution(
                        "checkpoint: a session window's state lacks its partitions".into(),
                    )
                })?
                .row(p)
                .data()
                .into();
            let mut list = Vec::with_capacity(sessions.len());
            for (start, end, kbs) in sessions {
                let mut groups = HashMap::new();
                for kb in kbs {
                    let key = row_values(&key_cols, 0, key_cols.len(), g_at)?;
                    let mut g = new_group(&self.calls, key)?;
                    for (i, acc) in g.accs.iter_mut().enumerate() {
                        let cols = &call_cols[i];
                        if !cols.is_empty() {
                            acc.merge_batch(&row_slices(cols, 0, cols.len(), g_at))?;
                        }
                    }
                    g_at += 1;
                    self.bytes += kb.len() + ENTRY_OVERHEAD * (1 + self.calls.len());
                    groups.insert(kb.into_boxed_slice(), g);
                }
                self.min_end = self.min_end.min(end);
                list.push(Session { start, end, groups });
            }
            self.sessions.insert(part, list);
        }
        Ok(())
    }
}

/// Rows of one session, buffered until it fires.
struct Buffered {
    start: i64,
    end: i64,
    batches: Vec<datafusion::arrow::array::RecordBatch>,
    /// Rows of the batch being processed that joined this session.
    pending: Vec<u32>,
}

/// Flink's standalone session `WindowTableFunction`: the SESSION TVF's rows, buffered per
/// partition and merged into sessions as [`SessionAggregate`] merges them, are emitted when
/// the watermark reaches a session's `end − 1`, with its `window_start`, `window_end` and
/// `window_time` (`end − 1`). What follows (a projection, Top-N, deduplication, a window join)
/// sees final windows, as on Flink 2.3. Late rows as in [`SessionAggregate`].
pub(crate) struct SessionAssign {
    /// Input columns of the partition keys.
    pub(crate) partition: Vec<usize>,
    /// Input columns `window_start` (the row's time before merging), `window_end`,
    /// `window_time`, where the input has them (one of the first two at least).
    pub(crate) start: Option<usize>,
    pub(crate) end: Option<usize>,
    pub(crate) time: Option<usize>,
    pub(crate) gap: i64,
    pub(crate) schema: SchemaRef,
    conv: Option<RowConverter>,
    sessions: HashMap<Box<[u8]>, Vec<Buffered>>,
    wm: i64,
    late: u64,
    rows: usize,
    bytes: usize,
}

impl SessionAssign {
    /// The operator over rows of `schema`.
    pub(crate) fn new(
        partition: Vec<usize>,
        (start, end, time): (Option<usize>, Option<usize>, Option<usize>),
        gap: i64,
        schema: SchemaRef,
    ) -> Self {
        Self {
            partition,
            start,
            end,
            time,
            gap,
            schema,
            conv: None,
            sessions: HashMap::new(),
            wm: i64::MIN,
            late: 0,
            rows: 0,
            bytes: 0,
        }
    }

    /// Each row's time: its own `window_start`, else `window_end − gap`.
    fn times(&self, b: &datafusion::arrow::array::RecordBatch) -> Result<Vec<Option<i64>>> {
        match (self.start, self.end) {
            (Some(s), _) => super::exec::millis(b.column(s).as_ref()),
            (None, Some(e)) => Ok(super::exec::millis(b.column(e).as_ref())?
                .into_iter()
                .map(|v| v.map(|v| v - self.gap))
                .collect()),
            (None, None) => Err(datafusion::common::DataFusionError::Internal(
                "session rows without window columns".into(),
            )),
        }
    }

    /// A window column of `n` rows holding `ms`, typed as input column `col`.
    fn constant(&self, col: usize, ms: i64, n: usize) -> Result<ArrayRef> {
        let t = self.schema.field(col).data_type();
        let tz = match t {
            datafusion::arrow::datatypes::DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        };
        let a = ScalarValue::TimestampMillisecond(Some(ms), tz).to_array_of_size(n)?;
        Ok(datafusion::arrow::compute::cast(&a, t)?)
    }
}

impl Operator for SessionAssign {
    fn process(&mut self, _input: usize, c: Chunk, _out: &mut Vec<Chunk>) -> Result<()> {
        let b = &c.batch;
        let n = b.num_rows();
        let mut parts: Vec<ArrayRef> = self
            .partition
            .iter()
            .map(|&i| b.column(i).clone())
            .collect();
        if parts.is_empty() {
            parts.push(Arc::new(datafusion::arrow::array::BooleanArray::from(
                vec![true; n],
            )));
        }
        let prow = super::encode(&mut self.conv, &parts)?;
        let mut touched: Vec<Box<[u8]>> = Vec::new();
        for (r, t) in self.times(b)?.into_iter().enumerate() {
            let Some(t) = t else { continue };
            let end = t.saturating_add(self.gap);
            let part = prow.row(r).data();
            let joins_open = self
                .sessions
                .get(part)
                .is_some_and(|list| list.iter().any(|s| s.start <= end && s.end >= t));
            if end - 1 <= self.wm && !joins_open {
                self.late += 1;
                continue;
            }
            if !self.sessions.contains_key(part) {
                self.sessions.insert(part.into(), Vec::new());
            }
            let list = self.sessions.get_mut(part).expect("inserted");
            let mut session = Buffered {
                start: t,
                end,
                batches: Vec::new(),
                pending: vec![r as u32],
            };
            let mut i = 0;
            while i < list.len() {
                let s = &list[i];
                if s.start <= session.end && s.end >= session.start {
                    let s = list.swap_remove(i);
                    session.start = session.start.min(s.start);
                    session.end = session.end.max(s.end);
                    session.batches.extend(s.batches);
                    session.pending.extend(s.pending);
                    i = 0;
                } else {
                    i += 1;
                }
            }
            list.push(session);
            touched.push(part.into());
        }
        touched.sort();
        touched.dedup();
        for part in touched {
            for s in self.sessions.get_mut(&part).into_iter().flatten() {
                if s.pending.is_empty() {
                    continue;
                }
                let mut idx = std::mem::take(&mut s.pending);
                idx.sort_unstable();
                let rows =
                    datafusion::arrow::compute::take_record_batch(b, &UInt32Array::from(idx))?;
                self.rows += rows.num_rows();
                self.bytes += rows.get_array_memory_size();
                s.batches.push(rows);
            }
        }
        Ok(())
    }

    fn watermark(&mut self, wm: i64, out: &mut Vec<Chunk>) -> Result<()> {
        self.wm = wm;
        let mut fired: Vec<Buffered> = Vec::new();
        self.sessions.retain(|_, list| {
            let (done, open): (Vec<Buffered>, Vec<Buffered>) =
                list.drain(..).partition(|s| s.end - 1 <= wm);
            fired.extend(done);
            *list = open;
            !list.is_empty()
        });
        fired.sort_by_key(|s| (s.end, s.start));
        for s in fired {
            let batch = datafusion::arrow::compute::concat_batches(&self.schema, &s.batches)?;
            let n = batch.num_rows();
            self.rows = self.rows.saturating_sub(n);
            self.bytes = self.bytes.saturating_sub(
                s.batches
                    .iter()
                    .map(|b| b.get_array_memory_size())
                    .sum::<usize>(),
            );
            let mut cols = batch.columns().to_vec();
            for (col, ms) in [
                (self.start, s.start),
                (self.end, s.end),
                (self.time, s.end - 1),
            ] {
                if let Some(col) = col {
                    cols[col] = self.constant(col, ms, n)?;
                }
            }
            let batch = datafusion::arrow::array::RecordBatch::try_new(self.schema.clone(), cols)?;
            out.push(Chunk::inserts(batch));
        }
        Ok(())
    }

    fn late_rows(&self) -> u64 {
        self.late
    }

    fn state_rows(&self) -> usize {
        self.rows
    }

    fn state_bytes(&self) -> usize {
        self.bytes
    }

    fn name(&self) -> &'static str {
        "SessionWindowTableFunction"
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn signature(&self) -> String {
        let name = format!("SessionWindowTableFunction(gap {} ms)", self.gap);
        super::ops::schema_signature(&name, &self.schema)
    }

    /// Counters; per session its bounds and row count; all buffered rows as Arrow columns in
    /// session order (partition keys are read back from the rows).
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        w.i64(self.wm);
        w.u64(self.late);
        let sessions: Vec<&Buffered> = self.sessions.values().flatten().collect();
        w.u64(sessions.len() as u64);
        let mut batches = Vec::new();
        for s in &sessions {
            w.i64(s.start);
            w.i64(s.end);
            w.u64(s.batches.iter().map(|b| b.num_rows() as u64).sum());
            batches.extend(s.batches.iter().cloned());
        }
        let all = datafusion::arrow::compute::concat_batches(&self.schema, &batches)?;
        w.arrays(all.columns().to_vec())?;
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        self.wm = r.i64()?;
        self.late = r.u64()?;
        let ns = r.u64()? as usize;
        let mut shape = Vec::with_capacity(ns.min(1 << 20));
        for _ in 0..ns {
            shape.push((r.i64()?, r.i64()?, r.u64()? as usize));
        }
        let cols = super::conform(
            r.arrays()?,
            self.schema.fields().iter().map(|f| f.data_type()),
        )?;
        let all = datafusion::arrow::array::RecordBatch::try_new_with_options(
            self.schema.clone(),
            cols,
            &datafusion::arrow::array::RecordBatchOptions::new()
                .with_row_count(Some(shape.iter().map(|s| s.2).sum())),
        )?;
        let mut at = 0;
        for (start, end, n) in shape {
            let rows = all.slice(at, n);
            at += n;
            if n == 0 {
                continue;
            }
            let mut parts: Vec<ArrayRef> = self
                .partition
                .iter()
                .map(|&i| rows.column(i).clone())
                .collect();
            if parts.is_empty() {
                parts.push(Arc::new(datafusion::arrow::array::BooleanArray::from(
                    vec![true; 1],
                )));
            }
            let key: Box<[u8]> = super::encode(&mut self.conv, &parts)?.row(0).data().into();
            self.rows += n;
            self.bytes += rows.get_array_memory_size();
            self.sessions.entry(key).or_default().push(Buffered {
                start,
                end,
                batches: vec![rows],
                pending: Vec::new(),
            });
        }
        Ok(())
    }
}

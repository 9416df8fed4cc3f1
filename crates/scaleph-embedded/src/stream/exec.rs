//! The driver of a dataflow: reads its sources, generates watermarks, pushes rows through the
//! operators and hands the root's chunks to the consumer.
//!
//! Watermarks follow Flink (`WatermarkAssignerOperator`, `StatusWatermarkValve`):
//! - a source's watermark is the largest value of its `WATERMARK FOR … AS expr` seen so far;
//! - it is emitted every `pipeline.auto-watermark-interval` (default 200 ms) when it advanced, or
//!   after every row that advances it when the interval is 0;
//! - a node's watermark is the minimum over its inputs; a bounded source that ends emits
//!   `i64::MAX`, which closes every window.

use super::checkpoint::{self, CheckpointConfig, Manifest, StateReader, StateWriter};
use super::plan::Dataflow;
use super::Chunk;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::execution::TaskContext;
use futures::stream::{BoxStream, SelectAll};
use futures::StreamExt;
use scaleph_connectors::{StartAt, StreamWriter};
use scaleph_engine::{CheckpointMetrics, OperatorMetrics};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

enum Ev {
    Batch(usize, Result<RecordBatch>),
    End(usize),
}

struct Src {
    node: usize,
    /// When its last rows came (for `table.exec.source.idle-timeout`).
    last_rows: std::time::Instant,
    idle: bool,
    watermark: bool,
    /// Processing time: the watermark follows the clock between rows too.
    proctime: bool,
    /// The event-time attribute's column ([`super::plan::SourceSpec::rowtime`]).
    rowtime: Option<usize>,
    /// Largest watermark value seen.
    pending: i64,
    /// Last watermark emitted.
    emitted: i64,
    /// Rows delivered (its checkpointed position).
    rows: u64,
    /// Rows still to drop after a restore (a source that cannot seek).
    skip: u64,
}

/// Where the root's chunks go.
pub(crate) enum Output {
    /// To a consumer task (printed rows, previews, sinks without a stream writer).
    Channel(mpsc::Sender<Result<Chunk>>),
    /// To a sink's two-phase-commit writer, each chunk mapped to the sink's schema first.
    Writer(
        Box<dyn StreamWriter>,
        Box<dyn FnMut(Chunk) -> Result<RecordBatch> + Send>,
    ),
}

/// Checkpointing of a run: its configuration and the checkpoint restored, if any.
pub(crate) struct Checkpointing {
    pub(crate) cfg: CheckpointConfig,
    /// The restored checkpoint's directory and manifest.
    pub(crate) restored: Option<(std::path::PathBuf, Manifest)>,
    /// Restore even when some of the checkpoint's state maps to no operator of the job.
    pub(crate) allow_non_restored_state: bool,
}

/// A request to a running dataflow.
pub(crate) enum DriveCmd {
    /// Take a savepoint into `dir` (created); stop after it when `stop` is `Some(drain)`.
    Savepoint {
        dir: std::path::PathBuf,
        stop: Option<bool>,
        reply: SavepointReply,
    },
    /// Report the operators' and checkpoints' metrics.
    Metrics {
        reply: tokio::sync::oneshot::Sender<(Vec<OperatorMetrics>, CheckpointMetrics)>,
    },
}

/// The answers of a job's statements to one savepoint request, gathered without a task: the
/// last statement to answer sends the job's reply (the savepoint's directory, or the first
/// error), so a stop-with-savepoint that ends the job cannot lose it.
struct Gather {
    left: usize,
    result: std::result::Result<std::path::PathBuf, String>,
    reply: Option<tokio::sync::oneshot::Sender<std::result::Result<std::path::PathBuf, String>>>,
}

/// One statement's part of a savepoint request ([`DriveCmd::Savepoint`]). Dropped unanswered
/// (the statement ended first), it answers "the job ended before the savepoint".
pub(crate) struct SavepointReply(Option<Arc<std::sync::Mutex<Gather>>>);

impl SavepointReply {
    /// One part per statement (`n` ≥ 1) of a request answered on `reply` with `dir`.
    pub(crate) fn split(
        n: usize,
        dir: std::path::PathBuf,
        reply: tokio::sync::oneshot::Sender<std::result::Result<std::path::PathBuf, String>>,
    ) -> Vec<Self> {
        let g = Arc::new(std::sync::Mutex::new(Gather {
            left: n,
            result: Ok(dir),
            reply: Some(reply),
        }));
        (0..n).map(|_| Self(Some(g.clone()))).collect()
    }

    /// Records this statement's answer; the last one sends the job's reply.
    pub(crate) fn send(mut self, r: std::result::Result<(), String>) {
        self.answer(r);
    }

    fn answer(&mut self, r: std::result::Result<(), String>) {
        let Some(g) = self.0.take() else { return };
        let mut g = g.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = r {
            if g.result.is_ok() {
                g.result = Err(e);
            }
        }
        g.left -= 1;
        if g.left == 0 {
            if let Some(reply) = g.reply.take() {
                let _ = reply.send(g.result.clone());
            }
        }
    }
}

impl Drop for SavepointReply {
    fn drop(&mut self) {
        self.answer(Err("the job ended before the savepoint".into()));
    }
}

/// Per-operator rates: counts at the last sample and the rates derived then.
struct Rates {
    at: std::time::Instant,
    prev: Vec<(u64, u64)>,
    per_second: Vec<(f64, f64)>,
}

impl Rates {
    /// Samples `counts` (in, out per operator) when a second has passed since the last sample.
    fn sample(&mut self, counts: &[(u64, u64)]) {
        let dt = self.at.elapsed().as_secs_f64();
        if dt < 1.0 && self.prev.len() == counts.len() {
            return;
        }
        self.per_second = counts
            .iter()
            .zip(self.prev.iter().chain(std::iter::repeat(&(0, 0))))
            .map(|(c, p)| {
                (
                    c.0.saturating_sub(p.0) as f64 / dt.max(1e-3),
                    c.1.saturating_sub(p.1) as f64 / dt.max(1e-3),
                )
            })
            .collect();
        self.prev = counts.to_vec();
        self.at = std::time::Instant::now();
    }
}

/// What a run of a dataflow observed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DriveStats {
    /// Rows dropped as late by window operators.
    pub(crate) late_rows: u64,
    /// Rows (or groups) operators held in state when the run ended.
    pub(crate) state_rows: usize,
    /// Checkpoints completed, and the id of the last one.
    pub(crate) checkpoints: u64,
    pub(crate) last_checkpoint: Option<u64>,
    /// The checkpoint restored from.
    pub(crate) restored: Option<u64>,
    /// Stopped with a savepoint (not at the end of its input).
    pub(crate) stopped: bool,
}

struct Driver {
    df: Dataflow,
    /// Per node: watermark of each input, and the node's combined watermark.
    input_wms: Vec<Vec<i64>>,
    wms: Vec<i64>,
    /// Per node: which inputs are idle (Flink's `WatermarkStatus`), and whether all are.
    idle_inputs: Vec<Vec<bool>>,
    idle: Vec<bool>,
    /// Per node: rows received and emitted.
    counts: Vec<(u64, u64)>,
}

/// Epoch milliseconds of a timestamp column (NULL: `None`).
pub(crate) fn millis(a: &dyn Array) -> Result<Vec<Option<i64>>> {
    let div = match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => -1000,
        DataType::Timestamp(TimeUnit::Millisecond, _) => 1,
        DataType::Timestamp(TimeUnit::Microsecond, _) => 1000,
        DataType::Timestamp(TimeUnit::Nanosecond, _) => 1_000_000,
        other => {
            return Err(DataFusionError::Execution(format!(
                "a watermark must be a TIMESTAMP or TIMESTAMP_LTZ, found {other}"
            )))
        }
    };
    let raw = cast(a, &DataType::Int64)?;
    let raw = raw.as_primitive::<Int64Type>();
    Ok(raw
        .iter()
        .map(|v| v.map(|v| if div < 0 { v * 1000 } else { v.div_euclid(div) }))
        .collect())
}

impl Driver {
    fn push(&mut self, node: usize, input: usize, c: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        if c.batch.num_rows() == 0 {
            return Ok(());
        }
        self.counts[node].0 += c.batch.num_rows() as u64;
        let mut produced = Vec::new();
        self.df.nodes[node].op.process(input, c, &mut produced)?;
        self.forward(node, produced, out)
    }

    fn forward(&mut self, node: usize, chunks: Vec<Chunk>, out: &mut Vec<Chunk>) -> Result<()> {
        self.counts[node].1 += chunks
            .iter()
            .map(|c| c.batch.num_rows() as u64)
            .sum::<u64>();
        let parents = self.df.nodes[node].parents.clone();
        match parents.as_slice() {
            [] => out.extend(chunks),
            [(p, k)] => {
                for c in chunks {
                    self.push(*p, *k, c, out)?;
                }
            }
            many => {
                for c in chunks {
                    for &(p, k) in many {
                        self.push(p, k, c.clone(), out)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn watermark(
        &mut self,
        node: usize,
        input: usize,
        wm: i64,
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        let slot = &mut self.input_wms[node][input];
        *slot = (*slot).max(wm);
        self.advance(node, out)
    }

    /// Recomputes `node`'s watermark: the minimum over its active inputs (none active: it
    /// stays); when it advanced, the operator fires and the watermark goes on downstream.
    fn advance(&mut self, node: usize, out: &mut Vec<Chunk>) -> Result<()> {
        let Some(combined) = self.input_wms[node]
            .iter()
            .zip(&self.idle_inputs[node])
            .filter(|(_, idle)| !**idle)
            .map(|(w, _)| *w)
            .min()
        else {
            return Ok(());
        };
        if combined <= self.wms[node] {
            return Ok(());
        }
        self.wms[node] = combined;
        let mut produced = Vec::new();
        self.df.nodes[node].op.watermark(combined, &mut produced)?;
        self.forward(node, produced, out)?;
        let passed = self.df.nodes[node].op.output_watermark(combined);
        for (p, k) in self.df.nodes[node].parents.clone() {
            self.watermark(p, k, passed, out)?;
        }
        Ok(())
    }

    /// Passes the wall clock `now` (ms) on from a processing-time window node (see
    /// [`super::plan::Dataflow::clocks`]), unless its input has ended.
    fn clock(&mut self, node: usize, now: i64, out: &mut Vec<Chunk>) -> Result<()> {
        if self.wms[node] == i64::MAX {
            return Ok(());
        }
        for (p, k) in self.df.nodes[node].parents.clone() {
            self.watermark(p, k, now, out)?;
        }
        Ok(())
    }

    /// Marks input `input` of `node` idle or active again; a node whose inputs are all idle is
    /// idle for its parent. An input going idle may let the watermark advance.
    fn set_idle(
        &mut self,
        node: usize,
        input: usize,
        idle: bool,
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        if self.idle_inputs[node][input] == idle {
            return Ok(());
        }
        self.idle_inputs[node][input] = idle;
        let all = self.idle_inputs[node].iter().all(|i| *i);
        if all != self.idle[node] {
            self.idle[node] = all;
            for (p, k) in self.df.nodes[node].parents.clone() {
                self.set_idle(p, k, all, out)?;
            }
        }
        if idle {
            self.advance(node, out)?;
        }
        Ok(())
    }
}

/// Runs `df` until its sources end (or forever), sending the root's chunks to `output`;
/// returns early without error when a channel's receiver is gone. `interval` is
/// `pipeline.auto-watermark-interval`. With `ckpt`, the run first restores the checkpoint it
/// names and takes one every interval ([`checkpoint`] module); a [`Output::Writer`] publishes
/// on each and everything when the sources end.
///
/// # Errors
/// A source or operator failing; a checkpoint that does not match the dataflow or cannot be
/// written.
pub(crate) async fn drive(
    df: Dataflow,
    state: &SessionState,
    task: Arc<TaskContext>,
    interval: Duration,
    mut output: Output,
    mut ckpt: Option<Checkpointing>,
    mut commands: Option<mpsc::UnboundedReceiver<DriveCmd>>,
) -> Result<DriveStats> {
    let restored = ckpt.as_mut().and_then(|c| c.restored.take());
    // Persisted checkpoints may be restored after a failure: the sink keeps its files then.
    if let (Output::Writer(w, _), Some(c)) = (&mut output, &ckpt) {
        if c.cfg.dir.is_some() {
            w.retain_on_drop();
        }
    }
    let allow = ckpt.as_ref().is_some_and(|c| c.allow_non_restored_state);
    let (src_map, op_map) = match &restored {
        Some((_, m)) => assign(&df, m, allow)?,
        None => (vec![None; df.sources.len()], vec![None; df.nodes.len()]),
    };
    let mut streams: SelectAll<BoxStream<'static, Ev>> = SelectAll::new();
    let mut tasks = Vec::new();
    // Sources run apart from the operators when some operator keeps state, as Flink chains
    // stateless operators into the source's task and runs keyed ones after an exchange: a
    // stateless pipeline gains nothing from a hand-over between threads (it cost Nexmark q0
    // and q1 about 10 % here).
    let own_tasks = df.nodes.iter().any(|n| !n.op.stateless());
    let mut srcs = Vec::new();
    for (i, s) in df.sources.iter().enumerate() {
        let physical = state.create_physical_plan(&s.plan).await?;
        let pos = restored
            .as_ref()
            .zip(src_map[i])
            .map(|((_, m), j)| &m.sources[j]);
        let at = Arc::new(StartAt {
            rows: pos.map_or(0, |p| p.rows),
            ..Default::default()
        });
        let src_task = match pos {
            Some(_) => Arc::new(TaskContext::new(
                task.task_id(),
                task.session_id(),
                task.session_config().clone().with_extension(at.clone()),
                task.scalar_functions().clone(),
                task.higher_order_functions().clone(),
                task.aggregate_functions().clone(),
                task.window_functions().clone(),
                task.runtime_env(),
            )),
            None => task.clone(),
        };
        // Partitions are read one after another, so a position is a row count.
        let parts = physical.properties().partitioning.partition_count();
        let mut parts_streams = Vec::with_capacity(parts);
        for p in 0..parts {
            parts_streams.push(physical.execute(p, src_task.clone())?);
        }
        let st = futures::stream::iter(parts_streams).flatten();
        let honored = at.honored.load(std::sync::atomic::Ordering::SeqCst);
        let st = st
            .map(move |b| Ev::Batch(i, b))
            .chain(futures::stream::once(async move { Ev::End(i) }))
            .boxed();
        if own_tasks {
            let (rx, task) = source_task(i, st);
            tasks.push(task);
            streams.push(rx);
        } else {
            streams.push(st);
        }
        srcs.push(Src {
            node: s.node,
            last_rows: std::time::Instant::now(),
            idle: false,
            watermark: s.watermark,
            proctime: s.proctime,
            rowtime: s.rowtime,
            pending: pos.map_or(i64::MIN, |p| p.pending),
            emitted: pos.map_or(i64::MIN, |p| p.emitted),
            rows: pos.map_or(0, |p| p.rows),
            skip: if honored { 0 } else { at.rows },
        });
    }
    let n = df.nodes.len();
    let mut input_wms: Vec<Vec<i64>> = df
        .nodes
        .iter()
        .map(|nd| vec![i64::MIN; nd.inputs])
        .collect();
    let mut wms = vec![i64::MIN; n];
    let idle_inputs = df.nodes.iter().map(|nd| vec![false; nd.inputs]).collect();
    let idle_timeout = df.idle_timeout;
    let mut df = df;
    let mut stats = DriveStats::default();
    if let Some((dir, m)) = &restored {
        for (i, node) in df.nodes.iter_mut().enumerate() {
            let Some(o) = op_map[i].map(|j| &m.operators[j]) else {
                continue;
            };
            input_wms[i] = o.input_watermarks.clone();
            wms[i] = o.watermark;
            if let Some(f) = &o.file {
                if !f.starts_with("op-") || f.contains(['/', '\\']) {
                    return Err(DataFusionError::Execution(format!(
                        "checkpoint: bad state file name '{f}'"
                    )));
                }
                let bytes = checkpoint::read_state(dir, f)?;
                node.op.restore(&mut StateReader::new(&bytes))?;
            }
        }
        stats.restored = Some(m.id);
    }
    let mut d = Driver {
        df,
        input_wms,
        wms,
        idle_inputs,
        idle: vec![false; n],
        counts: vec![(0, 0); n],
    };
    let mut rates = Rates {
        at: std::time::Instant::now(),
        prev: Vec::new(),
        per_second: Vec::new(),
    };
    let mut ckpt_metrics = CheckpointMetrics {
        restored_from: stats.restored,
        ..Default::default()
    };
    // Operator state is charged to the query's memory pool: a job whose state outgrows it
    // fails instead of exhausting the process.
    let reservation =
        datafusion::execution::memory_pool::MemoryConsumer::new("streaming operator state")
            .register(task.memory_pool());
    let per_row = interval.is_zero();
    // Per-row watermarks need no tick, unless idleness is watched (then a quarter of the
    // timeout).
    let clocks = d.df.clocks.clone();
    let period = match (per_row, idle_timeout) {
        (false, _) => Some(interval),
        (true, Some(t)) => Some(t / 4),
        // Processing-time windows fire by the clock: at Flink's default interval.
        (true, None) if !clocks.is_empty() => Some(Duration::from_millis(200)),
        (true, None) => None,
    };
    let every = |p: Duration| {
        let mut t = tokio::time::interval_at(
            tokio::time::Instant::now() + p.max(Duration::from_millis(1)),
            p.max(Duration::from_millis(1)),
        );
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    };
    let mut tick = period.map(every);
    let mut ckpt_tick = ckpt.as_ref().map(|c| every(c.cfg.interval));
    let mut next_id = restored.as_ref().map_or(1, |(_, m)| m.id + 1);
    drop(restored);
    let mut out = Vec::new();
    loop {
        let ev = tokio::select! {
            ev = streams.next() => ev,
            _ = async { match tick.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending().await } } => {
                let now = chrono::Utc::now().timestamp_millis();
                if let Some(timeout) = idle_timeout {
                    for s in &mut srcs {
                        if !s.idle && s.emitted != i64::MAX && s.last_rows.elapsed() >= timeout {
                            s.idle = true;
                            d.set_idle(s.node, 0, true, &mut out)?;
                        }
                    }
                }
                for &n in &clocks {
                    d.clock(n, now, &mut out)?;
                }
                for s in &mut srcs {
                    if s.proctime && s.emitted != i64::MAX {
                        s.pending = s.pending.max(now);
                    }
                    if s.pending > s.emitted {
                        s.emitted = s.pending;
                        let (node, wm) = (s.node, s.pending);
                        d.watermark(node, 0, wm, &mut out)?;
                    }
                }
                if !send(&mut output, &mut out).await? {
                    break;
                }
                continue;
            }
            _ = async { match ckpt_tick.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending().await } } => {
                if !send(&mut output, &mut out).await? {
                    break;
                }
                let c = ckpt.as_ref().expect("ticks only with checkpointing");
                let t0 = std::time::Instant::now();
                let size = take_checkpoint(&mut d, &srcs, Target::Checkpoint(&c.cfg), next_id, &mut output)?;
                note_checkpoint(&mut ckpt_metrics, next_id, t0, size);
                stats.checkpoints += 1;
                stats.last_checkpoint = Some(next_id);
                next_id += 1;
                continue;
            }
            cmd = async { match commands.as_mut() { Some(c) => c.recv().await, None => std::future::pending().await } } => {
                let (dir, stop, reply) = match cmd {
                    None => {
                        commands = None;
                        continue;
                    }
                    Some(DriveCmd::Metrics { reply }) => {
                        rates.sample(&d.counts);
                        let _ = reply.send((operator_metrics(&d, &rates), ckpt_metrics.clone()));
                        continue;
                    }
                    Some(DriveCmd::Savepoint { dir, stop, reply }) => (dir, stop, reply),
                };
                if stop == Some(true) {
                    // Drain: every source at its end, so every event-time window fires.
                    for s in &mut srcs {
                        s.emitted = i64::MAX;
                        let node = s.node;
                        d.watermark(node, 0, i64::MAX, &mut out)?;
                    }
                }
                if !send(&mut output, &mut out).await? {
                    break;
                }
                let t0 = std::time::Instant::now();
                let r = take_checkpoint(&mut d, &srcs, Target::Savepoint(&dir), next_id, &mut output);
                if let Ok(size) = &r {
                    note_checkpoint(&mut ckpt_metrics, next_id, t0, *size);
                }
                next_id += 1;
                let failed = r.as_ref().err().map(ToString::to_string);
                reply.send(r.map(|_| ()).map_err(|e| e.to_string()));
                if stop.is_some() && failed.is_none() {
                    // Stopped with a savepoint: open files stay for a restore (no final commit).
                    if let Output::Writer(w, _) = output {
                        w.abort(true);
                    }
                    stats.stopped = true;
                    return Ok(stats_of(&d, stats));
                }
                continue;
            }
        };
        match ev {
            None => break,
            Some(Ev::End(i)) => {
                srcs[i].emitted = i64::MAX;
                d.watermark(srcs[i].node, 0, i64::MAX, &mut out)?;
            }
            Some(Ev::Batch(i, b)) => {
                let mut b = b?;
                let s = &mut srcs[i];
                if s.skip > 0 {
                    let drop = s.skip.min(b.num_rows() as u64) as usize;
                    s.skip -= drop as u64;
                    b = b.slice(drop, b.num_rows() - drop);
                    if b.num_rows() == 0 {
                        continue;
                    }
                }
                s.rows += b.num_rows() as u64;
                let node = s.node;
                s.last_rows = std::time::Instant::now();
                if s.idle {
                    s.idle = false;
                    d.set_idle(node, 0, false, &mut out)?;
                }
                let s = &mut srcs[i];
                if s.rowtime.is_some_and(|r| b.column(r).null_count() > 0) {
                    return Err(DataFusionError::Execution(
                        "RowTime field should not be null, please convert it to a non-null long value."
                            .into(),
                    ));
                }
                if !s.watermark {
                    d.push(node, 0, Chunk::inserts(b), &mut out)?;
                } else {
                    let last = b.num_columns() - 1;
                    let wm = millis(b.column(last).as_ref())?;
                    let data = b.project(&(0..last).collect::<Vec<_>>())?;
                    if per_row {
                        let mut start = 0;
                        for (r, v) in wm.iter().enumerate() {
                            if let Some(v) = v {
                                s.pending = s.pending.max(*v);
                            }
                            if s.pending > s.emitted {
                                s.emitted = s.pending;
                                let wm = s.pending;
                                d.push(
                                    node,
                                    0,
                                    Chunk::inserts(data.slice(start, r + 1 - start)),
                                    &mut out,
                                )?;
                                d.watermark(node, 0, wm, &mut out)?;
                                start = r + 1;
                            }
                            if !out.is_empty() && !send(&mut output, &mut out).await? {
                                return Ok(stats_of(&d, stats));
                            }
                        }
                        if start < data.num_rows() {
                            d.push(
                                node,
                                0,
                                Chunk::inserts(data.slice(start, data.num_rows() - start)),
                                &mut out,
                            )?;
                        }
                    } else {
                        if let Some(m) = wm.iter().flatten().max() {
                            s.pending = s.pending.max(*m);
                        }
                        d.push(node, 0, Chunk::inserts(data), &mut out)?;
                    }
                }
            }
        }
        let held: usize = d.df.nodes.iter().map(|n| n.op.state_bytes()).sum();
        if held != reservation.size() && reservation.try_resize(held).is_err() {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "the job's operator state ({} MiB) exceeds the query memory limit \
                 (--query-memory-mb); bound it with a window, a filter on the keys or fewer groups",
                held >> 20
            )));
        }
        if !send(&mut output, &mut out).await? {
            break;
        }
    }
    if let Output::Writer(w, _) = output {
        // End of input: everything is published (Flink's final checkpoint).
        w.finish()?;
    }
    // Requests that came too late: savepoints cannot be taken, metrics are final.
    if let Some(mut c) = commands {
        c.close();
        while let Ok(cmd) = c.try_recv() {
            match cmd {
                DriveCmd::Savepoint { reply, .. } => {
                    reply.send(Err("the job ended before the savepoint".into()));
                }
                DriveCmd::Metrics { reply } => {
                    rates.sample(&d.counts);
                    let _ = reply.send((operator_metrics(&d, &rates), ckpt_metrics.clone()));
                }
            }
        }
    }
    Ok(stats_of(&d, stats))
}

/// Batches a source task reads ahead of the operators.
const READ_AHEAD: usize = 2;

/// Aborts its task when dropped (the run ended or failed: its sources stop reading).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a source's stream (reading, decoding, its pushed-down filter and projection) as a task
/// of its own, [`READ_AHEAD`] batches ahead of the operators, as Flink runs a source in a task
/// apart from the operators after its first exchange. Positions stay exact: a source's
/// checkpointed position counts the rows the driver took, not the rows read ahead.
/// A task that ends without its source's `End` (it panicked) fails the run.
fn source_task(i: usize, mut s: BoxStream<'static, Ev>) -> (BoxStream<'static, Ev>, AbortOnDrop) {
    let (tx, rx) = mpsc::channel::<Ev>(READ_AHEAD);
    let task = tokio::spawn(async move {
        while let Some(ev) = s.next().await {
            if tx.send(ev).await.is_err() {
                return;
            }
        }
    });
    let rx = futures::stream::unfold(Some(rx), move |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(e @ Ev::End(_)) => Some((e, None)),
            Some(e) => Some((e, Some(rx))),
            None => Some((
                Ev::Batch(
                    i,
                    Err(DataFusionError::Execution(format!(
                        "source {i} stopped before its end"
                    ))),
                ),
                None,
            )),
        }
    });
    (rx.boxed(), AbortOnDrop(task))
}

/// Records a completed checkpoint or savepoint in `m`.
fn note_checkpoint(m: &mut CheckpointMetrics, id: u64, t0: std::time::Instant, size: u64) {
    m.completed += 1;
    m.last_id = Some(id);
    m.last_duration_ms = Some(t0.elapsed().as_millis() as u64);
    m.last_size_bytes = Some(size);
    m.last_completed_at = Some(chrono::Utc::now().timestamp_millis());
}

/// The live metrics of every operator of `d`.
fn operator_metrics(d: &Driver, rates: &Rates) -> Vec<OperatorMetrics> {
    let now = chrono::Utc::now().timestamp_millis();
    d.df.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let wm = (d.wms[i] != i64::MIN).then_some(d.wms[i]);
            let is_source = d.df.sources.iter().any(|s| s.node == i);
            let (rin, rout) = rates.per_second.get(i).copied().unwrap_or_default();
            OperatorMetrics {
                statement: 0,
                id: i,
                name: if is_source {
                    "TableSourceScan".into()
                } else {
                    n.op.name().into()
                },
                parent: n.parents.first().map(|(p, _)| *p),
                records_in: d.counts[i].0,
                records_out: d.counts[i].1,
                records_in_per_second: rin,
                records_out_per_second: rout,
                watermark: wm,
                watermark_lag_ms: wm.filter(|w| *w != i64::MAX).map(|w| now - w),
                late_records_dropped: n.op.late_rows(),
                state_rows: n.op.state_rows() as u64,
                state_bytes: n.op.state_bytes() as u64,
            }
        })
        .collect()
}

/// A source's signature: its columns and types.
pub(crate) fn source_signature(s: &super::plan::SourceSpec) -> String {
    let cols: Vec<String> = s
        .plan
        .schema()
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect();
    format!("Source({})", cols.join(", "))
}

/// Maps a checkpoint onto the dataflow, as Flink maps state by operator id: each operator
/// takes the state of the checkpoint's operator with the same signature and the same ordinal
/// among equal signatures (sources likewise). Operators without a match start empty. State of
/// the checkpoint that no operator takes refuses the restore, listing it, unless `allow`.
///
/// # Errors
/// Unclaimed state without `allow`.
#[allow(clippy::type_complexity)]
pub(crate) fn assign(
    df: &Dataflow,
    m: &Manifest,
    allow: bool,
) -> Result<(Vec<Option<usize>>, Vec<Option<usize>>)> {
    fn by_signature<'a>(
        job: impl Iterator<Item = String>,
        saved: impl Iterator<Item = (&'a str, bool)>,
    ) -> (Vec<Option<usize>>, Vec<usize>) {
        let saved: Vec<(&str, bool)> = saved.collect();
        let mut taken = vec![false; saved.len()];
        let map = job
            .map(|sig| {
                let j = (0..saved.len()).find(|&j| !taken[j] && saved[j].0 == sig)?;
                taken[j] = true;
                Some(j)
            })
            .collect();
        // Unclaimed: state that no operator takes (stateless entries do not count).
        let unclaimed = (0..saved.len())
            .filter(|&j| !taken[j] && saved[j].1)
            .collect();
        (map, unclaimed)
    }
    let (src_map, src_left) = by_signature(
        df.sources.iter().map(source_signature),
        m.sources.iter().map(|s| (s.signature.as_str(), s.rows > 0)),
    );
    let (op_map, op_left) = by_signature(
        df.nodes.iter().map(|n| n.op.signature()),
        m.operators
            .iter()
            .map(|o| (o.signature.as_str(), o.file.is_some())),
    );
    if (src_left.is_empty() && op_left.is_empty()) || allow {
        return Ok((src_map, op_map));
    }
    let mut listed: Vec<String> = src_left
        .iter()
        .map(|&j| m.sources[j].signature.clone())
        .collect();
    listed.extend(op_left.iter().map(|&j| m.operators[j].signature.clone()));
    Err(DataFusionError::Execution(format!(
        "the state of {} operator(s) of checkpoint {} maps to no operator of the changed job: {}; \
         restore with allow_non_restored_state (execution.state-recovery.ignore-unclaimed-state) \
         to drop it",
        listed.len(),
        m.id,
        listed.join("; ")
    )))
}

/// Where a checkpoint goes.
enum Target<'a> {
    /// A periodic checkpoint: `chk-<id>` under the configured directory (or memory).
    Checkpoint(&'a CheckpointConfig),
    /// A savepoint: exactly this directory.
    Savepoint(&'a std::path::Path),
}

/// Takes checkpoint `id`: operator state, source positions, the sink's pre-commit, the
/// manifest (when there is a directory), then the sink's commit.
fn take_checkpoint(
    d: &mut Driver,
    srcs: &[Src],
    target: Target,
    id: u64,
    output: &mut Output,
) -> Result<u64> {
    for node in &d.df.nodes {
        node.op.checkpointable().map_err(|what| {
            DataFusionError::Execution(format!("unsupported: {what} — run it on a Flink cluster"))
        })?;
    }
    let mut operators = Vec::with_capacity(d.df.nodes.len());
    let mut states = Vec::new();
    let mut root_wm = i64::MIN;
    for (i, node) in d.df.nodes.iter_mut().enumerate() {
        let mut w = StateWriter::default();
        let file = if node.op.snapshot(&mut w)? {
            let name = format!("op-{i}.state");
            states.push((name.clone(), w.buf));
            Some(name)
        } else {
            None
        };
        if node.parents.is_empty() {
            root_wm = node.op.output_watermark(d.wms[i]);
        }
        operators.push(checkpoint::OperatorState {
            signature: node.op.signature(),
            input_watermarks: d.input_wms[i].clone(),
            watermark: d.wms[i],
            file,
        });
    }
    let sink = match output {
        Output::Writer(w, _) => w.pre_commit(id, root_wm)?,
        Output::Channel(_) => serde_json::Value::Null,
    };
    let m = Manifest {
        format: checkpoint::FORMAT,
        id,
        timestamp: chrono::Utc::now().timestamp_millis(),
        sources: srcs
            .iter()
            .zip(&d.df.sources)
            .map(|(s, spec)| checkpoint::SourceState {
                signature: source_signature(spec),
                rows: s.rows,
                pending: s.pending,
                emitted: s.emitted,
            })
            .collect(),
        operators,
        sink,
    };
    match target {
        Target::Checkpoint(cfg) => {
            if let Some(dir) = &cfg.dir {
                checkpoint::write(dir, &m, &states, cfg.retained)?;
            }
        }
        Target::Savepoint(dir) => checkpoint::write_into(dir, &m, &states)?,
    }
    if let Output::Writer(w, _) = output {
        w.commit(id)?;
    }
    Ok(states.iter().map(|(_, b)| b.len() as u64).sum())
}

fn stats_of(d: &Driver, base: DriveStats) -> DriveStats {
    DriveStats {
        late_rows: d.df.nodes.iter().map(|n| n.op.late_rows()).sum(),
        state_rows: d.df.nodes.iter().map(|n| n.op.state_rows()).sum(),
        ..base
    }
}

/// Sends `out`'s chunks; `false` when a channel's receiver is gone.
///
/// # Errors
/// A writer failing.
async fn send(output: &mut Output, out: &mut Vec<Chunk>) -> Result<bool> {
    match output {
        Output::Channel(tx) => {
            for c in out.drain(..) {
                if tx.send(Ok(c)).await.is_err() {
                    return Ok(false);
                }
            }
        }
        Output::Writer(w, map) => {
            for c in out.drain(..) {
                let b = map(c)?;
                w.write(&b)?;
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::{source_task, Ev};
    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use futures::StreamExt;
    use std::sync::Arc;

    fn batch(v: i64) -> RecordBatch {
        RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![v])) as _)]).unwrap()
    }

    /// A source task hands its batches over in order, then its end; one that panics midway
    /// fails the run instead of looking finished.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn source_task_keeps_order_and_reports_a_panic() {
        let events = (0..100).map(|v| Ev::Batch(3, Ok(batch(v))));
        let s = futures::stream::iter(events).chain(futures::stream::once(async { Ev::End(3) }));
        let (rx, _task) = source_task(3, s.boxed());
        let got: Vec<Ev> = rx.collect().await;
        assert_eq!(got.len(), 101);
        for (v, ev) in got.iter().enumerate() {
            match ev {
                Ev::Batch(3, Ok(b)) => {
                    let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                    assert_eq!(col.value(0), v as i64);
                }
                Ev::End(3) => assert_eq!(v, 100),
                _ => panic!("unexpected event at {v}"),
            }
        }

        let s = futures::stream::iter([Ev::Batch(1, Ok(batch(7)))]).chain(futures::stream::once(
            async {
                panic!("decoder bug");
            },
        ));
        let (rx, _task) = source_task(1, s.boxed());
        let got: Vec<Ev> = rx.collect().await;
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0], Ev::Batch(1, Ok(_))));
        match &got[1] {
            Ev::Batch(1, Err(e)) => assert!(e.to_string().contains("stopped before its end")),
            _ => panic!("a panicked source must fail the run"),
        }
    }
}

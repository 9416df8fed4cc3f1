//! The driver of a dataflow: reads its sources, generates watermarks, pushes rows through the
//! operators and hands the root's chunks to the consumer.
//!
//! Watermarks follow Flink (`WatermarkAssignerOperator`, `StatusWatermarkValve`):
//! - a source's watermark is the largest value of its `WATERMARK FOR … AS expr` seen so far;
//! - it is emitted every `pipeline.auto-watermark-interval` (default 200 ms) when it advanced, or
//!   after every row that advances it when the interval is 0;
//! - a node's watermark is the minimum over its inputs; a bounded source that ends emits
//!   `i64::MAX`, which closes every window.

use super::plan::Dataflow;
use super::Chunk;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::execute_stream;
use futures::stream::{BoxStream, SelectAll};
use futures::StreamExt;
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
    /// Largest watermark value seen.
    pending: i64,
    /// Last watermark emitted.
    emitted: i64,
}

/// What a run of a dataflow observed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DriveStats {
    /// Rows dropped as late by window operators.
    pub(crate) late_rows: u64,
    /// Rows (or groups) operators held in state when the run ended.
    pub(crate) state_rows: usize,
}

struct Driver {
    df: Dataflow,
    /// Per node: watermark of each input, and the node's combined watermark.
    input_wms: Vec<Vec<i64>>,
    wms: Vec<i64>,
    /// Per node: which inputs are idle (Flink's `WatermarkStatus`), and whether all are.
    idle_inputs: Vec<Vec<bool>>,
    idle: Vec<bool>,
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
        let mut produced = Vec::new();
        self.df.nodes[node].op.process(input, c, &mut produced)?;
        self.forward(node, produced, out)
    }

    fn forward(&mut self, node: usize, chunks: Vec<Chunk>, out: &mut Vec<Chunk>) -> Result<()> {
        match self.df.nodes[node].parent {
            Some((p, k)) => {
                for c in chunks {
                    self.push(p, k, c, out)?;
                }
            }
            None => out.extend(chunks),
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
        if let Some((p, k)) = self.df.nodes[node].parent {
            let passed = self.df.nodes[node].op.output_watermark(combined);
            self.watermark(p, k, passed, out)?;
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
            if let Some((p, k)) = self.df.nodes[node].parent {
                self.set_idle(p, k, all, out)?;
            }
        }
        if idle {
            self.advance(node, out)?;
        }
        Ok(())
    }
}

/// Runs `df` until its sources end (or forever), sending the root's chunks to `tx`; returns
/// early without error when `tx`'s receiver is gone. `interval` is
/// `pipeline.auto-watermark-interval`.
///
/// # Errors
/// A source or operator failing.
pub(crate) async fn drive(
    df: Dataflow,
    state: &SessionState,
    task: Arc<TaskContext>,
    interval: Duration,
    tx: mpsc::Sender<Result<Chunk>>,
) -> Result<DriveStats> {
    let mut streams: SelectAll<BoxStream<'static, Ev>> = SelectAll::new();
    let mut srcs = Vec::new();
    for (i, s) in df.sources.iter().enumerate() {
        let physical = state.create_physical_plan(&s.plan).await?;
        let st = execute_stream(physical, task.clone())?;
        streams.push(
            st.map(move |b| Ev::Batch(i, b))
                .chain(futures::stream::once(async move { Ev::End(i) }))
                .boxed(),
        );
        srcs.push(Src {
            node: s.node,
            last_rows: std::time::Instant::now(),
            idle: false,
            watermark: s.watermark,
            proctime: s.proctime,
            pending: i64::MIN,
            emitted: i64::MIN,
        });
    }
    let n = df.nodes.len();
    let input_wms = df
        .nodes
        .iter()
        .map(|nd| vec![i64::MIN; nd.inputs])
        .collect();
    let idle_inputs = df.nodes.iter().map(|nd| vec![false; nd.inputs]).collect();
    let idle_timeout = df.idle_timeout;
    let mut d = Driver {
        df,
        input_wms,
        wms: vec![i64::MIN; n],
        idle_inputs,
        idle: vec![false; n],
    };
    // Operator state is charged to the query's memory pool: a job whose state outgrows it
    // fails instead of exhausting the process.
    let reservation =
        datafusion::execution::memory_pool::MemoryConsumer::new("streaming operator state")
            .register(task.memory_pool());
    let per_row = interval.is_zero();
    // Per-row watermarks need no tick, unless idleness is watched (then a quarter of the
    // timeout).
    let period = match (per_row, idle_timeout) {
        (false, _) => Some(interval),
        (true, Some(t)) => Some(t / 4),
        (true, None) => None,
    };
    let mut tick = tokio::time::interval(
        period
            .unwrap_or(Duration::from_secs(1))
            .max(Duration::from_millis(1)),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut out = Vec::new();
    loop {
        let ev = if period.is_none() {
            streams.next().await
        } else {
            tokio::select! {
                ev = streams.next() => ev,
                _ = tick.tick() => {
                    let now = chrono::Utc::now().timestamp_millis();
                    if let Some(timeout) = idle_timeout {
                        for s in &mut srcs {
                            if !s.idle && s.emitted != i64::MAX && s.last_rows.elapsed() >= timeout {
                                s.idle = true;
                                d.set_idle(s.node, 0, true, &mut out)?;
                            }
                        }
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
                    if !send(&tx, &mut out).await {
                        break;
                    }
                    continue;
                }
            }
        };
        match ev {
            None => break,
            Some(Ev::End(i)) => {
                srcs[i].emitted = i64::MAX;
                d.watermark(srcs[i].node, 0, i64::MAX, &mut out)?;
            }
            Some(Ev::Batch(i, b)) => {
                let b = b?;
                let s = &mut srcs[i];
                let node = s.node;
                s.last_rows = std::time::Instant::now();
                if s.idle {
                    s.idle = false;
                    d.set_idle(node, 0, false, &mut out)?;
                }
                let s = &mut srcs[i];
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
                            if !out.is_empty() && !send(&tx, &mut out).await {
                                return Ok(stats(&d));
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
        if !send(&tx, &mut out).await {
            break;
        }
    }
    Ok(stats(&d))
}

fn stats(d: &Driver) -> DriveStats {
    DriveStats {
        late_rows: d.df.nodes.iter().map(|n| n.op.late_rows()).sum(),
        state_rows: d.df.nodes.iter().map(|n| n.op.state_rows()).sum(),
    }
}

/// Sends `out`'s chunks; false when the receiver is gone.
async fn send(tx: &mpsc::Sender<Result<Chunk>>, out: &mut Vec<Chunk>) -> bool {
    for c in out.drain(..) {
        if tx.send(Ok(c)).await.is_err() {
            return false;
        }
    }
    true
}

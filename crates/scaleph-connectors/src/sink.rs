//! The sink side of connectors.

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use scaleph_engine::LogLevel;
use std::sync::Arc;

use crate::Counter;

/// Where a sink sends log lines (the `print` connector's rows, warnings).
pub type LogFn = Arc<dyn Fn(LogLevel, String) + Send + Sync>;

/// Name of the trailing column that carries each row's kind when a sink that
/// [accepts updates](Sink::accepts_updates) is written a changelog: `Int8`, Flink's `RowKind`
/// byte values 0 `+I`, 1 `-U`, 2 `+U`, 3 `-D`.
pub const ROW_KIND_COLUMN: &str = "$row_kind";

/// Context of one write.
#[derive(Clone)]
pub struct SinkContext {
    /// Rows and bytes written so far.
    pub counter: Arc<Counter>,
    /// `INSERT OVERWRITE`.
    pub overwrite: bool,
    /// Log output.
    pub log: LogFn,
}

/// A table that accepts rows.
#[async_trait]
pub trait Sink: Send + Sync + std::fmt::Debug {
    /// The declared schema; input batches must have exactly this schema.
    fn schema(&self) -> SchemaRef;

    /// Whether the sink consumes update changes (Flink's changelog mode beyond insert-only):
    /// then a changelog's batches carry the [`ROW_KIND_COLUMN`] after the declared columns.
    fn accepts_updates(&self) -> bool {
        false
    }

    /// A writer for a streaming job (Flink's two-phase-commit sinks: output published by
    /// checkpoints), resuming from `restored` (what [`StreamWriter::pre_commit`] returned at
    /// the checkpoint restored from). `None`: the sink has no such writer and streaming jobs
    /// use [`Sink::write`].
    ///
    /// # Errors
    /// The restored state does not fit this sink, or its files cannot be recovered.
    fn stream_writer(
        &self,
        _ctx: SinkContext,
        _restored: Option<&serde_json::Value>,
    ) -> Result<Option<Box<dyn StreamWriter>>> {
        Ok(None)
    }

    /// Writes every batch of `input` and returns what publishes them. Nothing written is
    /// visible to readers before [`PendingCommit::commit`].
    async fn write(
        &self,
        input: SendableRecordBatchStream,
        ctx: SinkContext,
    ) -> Result<Box<dyn PendingCommit>>;
}

/// Output staged by a [`Sink`], waiting to be published or discarded.
#[async_trait]
pub trait PendingCommit: Send {
    /// Makes the output visible.
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Discards the output (failure or cancel).
    async fn abort(self: Box<Self>);
}

/// The writer of a streaming sink with exactly-once output (Flink's `TwoPhaseCommittingSink`):
/// rows go to hidden in-progress files; [`pre_commit`](Self::pre_commit) at a checkpoint makes
/// them durable, [`commit`](Self::commit) after the checkpoint completed publishes them.
/// Called from one task, in order.
pub trait StreamWriter: Send {
    /// Writes rows (the sink's schema; a changelog carries [`ROW_KIND_COLUMN`]).
    ///
    /// # Errors
    /// I/O errors.
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;

    /// Checkpoint or savepoint `id` is being taken, with the sink's input watermark
    /// `watermark` (epoch ms): rolls every open file (as Flink's file sink does at each
    /// checkpoint, so a savepoint outlives this run too) and returns the state to keep in the
    /// checkpoint (JSON).
    ///
    /// # Errors
    /// I/O errors (the checkpoint fails).
    fn pre_commit(&mut self, id: u64, watermark: i64) -> Result<serde_json::Value>;

    /// Checkpoint `id` completed (its manifest is durable): publishes what it covers and
    /// commits partitions whose trigger fired.
    ///
    /// # Errors
    /// I/O errors.
    fn commit(&mut self, id: u64) -> Result<()>;

    /// The input ended: publishes everything and commits every partition (Flink's final
    /// checkpoint at end of input).
    ///
    /// # Errors
    /// I/O errors.
    fn finish(self: Box<Self>) -> Result<()>;

    /// Checkpoints outlive this process (a restart or an auto-restart may restore them): a
    /// writer dropped without `finish` or `abort` keeps its files.
    fn retain_on_drop(&mut self) {}

    /// Stopped without finishing. `keep`: a checkpoint may restore this writer, so its
    /// in-progress files stay (hidden); otherwise they are removed. A writer dropped without
    /// `finish` or `abort` (cancel, failure) removes them too.
    fn abort(self: Box<Self>, keep: bool);
}

/// A commit with nothing to publish (sinks that emit as they go, like `print`).
pub(crate) struct NothingToCommit;

#[async_trait]
impl PendingCommit for NothingToCommit {
    async fn commit(self: Box<Self>) -> Result<()> {
        Ok(())
    }
    async fn abort(self: Box<Self>) {}
}

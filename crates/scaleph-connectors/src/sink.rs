//! The sink side of connectors.

use async_trait::async_trait;
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

/// A commit with nothing to publish (sinks that emit as they go, like `print`).
pub(crate) struct NothingToCommit;

#[async_trait]
impl PendingCommit for NothingToCommit {
    async fn commit(self: Box<Self>) -> Result<()> {
        Ok(())
    }
    async fn abort(self: Box<Self>) {}
}

//! `'connector' = 'print'`: each row into the instance log as Flink prints it,
//! `[identifier> ]+I[v1, v2, …]` (Flink Print SQL connector: `Row.toString` of the row's
//! external Java objects, see [`crate::text::java_text`]).

use crate::blackhole::write_only;
use crate::sink::NothingToCommit;
use crate::{Connector, Options, PendingCommit, Sink, SinkContext};
use async_trait::async_trait;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use scaleph_engine::LogLevel;
use scaleph_sql::{SqlError, TableDef};
use std::sync::Arc;

pub(crate) struct Print {
    def: TableDef,
    identifier: Option<String>,
    stderr: bool,
}

impl Print {
    pub(crate) fn new(def: &TableDef) -> Result<Self, SqlError> {
        let mut o = Options::new(def);
        let identifier = o.get("print-identifier").map(str::to_string);
        let stderr = o.bool("standard-error", false)?;
        o.get("sink.parallelism");
        o.finish()?;
        Ok(Self {
            def: def.clone(),
            identifier,
            stderr,
        })
    }
}

impl Connector for Print {
    fn source(&self) -> Result<Arc<dyn TableProvider>, SqlError> {
        Err(write_only(&self.def, "print"))
    }

    fn sink(&self) -> Result<Arc<dyn Sink>, SqlError> {
        Ok(Arc::new(PrintSink {
            schema: Arc::new(self.def.arrow_schema()),
            prefix: self
                .identifier
                .as_ref()
                .map(|i| format!("{i}> "))
                .unwrap_or_default(),
            level: if self.stderr {
                LogLevel::Warn
            } else {
                LogLevel::Stdout
            },
        }))
    }
}

#[derive(Debug)]
struct PrintSink {
    schema: SchemaRef,
    prefix: String,
    level: LogLevel,
}

#[async_trait]
impl Sink for PrintSink {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn accepts_updates(&self) -> bool {
        true
    }

    async fn write(
        &self,
        mut input: SendableRecordBatchStream,
        ctx: SinkContext,
    ) -> Result<Box<dyn PendingCommit>> {
        while let Some(b) = input.next().await {
            let b = b?;
            // A changelog's row kinds come in a trailing column.
            let kinds = (b.num_columns() == self.schema.fields().len() + 1
                && b.schema().field(b.num_columns() - 1).name() == crate::ROW_KIND_COLUMN)
                .then(|| b.column(b.num_columns() - 1).clone());
            let b = if kinds.is_some() {
                b.project(&(0..b.num_columns() - 1).collect::<Vec<_>>())?
            } else {
                b
            };
            let kinds = kinds
                .as_ref()
                .map(|k| k.as_primitive::<datafusion::arrow::datatypes::Int8Type>());
            let mut bytes = 0u64;
            for row in 0..b.num_rows() {
                let kind = kinds.map_or(0, |k| k.value(row));
                let mut line = format!("{}{}[", self.prefix, row_kind(kind));
                for (i, c) in b.columns().iter().enumerate() {
                    if i > 0 {
                        line.push_str(", ");
                    }
                    crate::text::java_text(c.as_ref(), row, &mut line);
                }
                line.push(']');
                bytes += line.len() as u64 + 1;
                (ctx.log)(self.level, line);
            }
            // Bytes printed, newline included.
            ctx.counter.add(b.num_rows() as u64, bytes);
        }
        Ok(Box::new(NothingToCommit))
    }
}

/// Flink's short string of a `RowKind` byte (see [`crate::ROW_KIND_COLUMN`]).
pub fn row_kind(kind: i8) -> &'static str {
    match kind {
        1 => "-U",
        2 => "+U",
        3 => "-D",
        _ => "+I",
    }
}

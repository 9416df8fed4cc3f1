//! `'connector' = 'blackhole'`: swallows rows (Flink's BlackHole connector).

use crate::sink::NothingToCommit;
use crate::{Connector, Options, PendingCommit, Sink, SinkContext};
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use scaleph_sql::{SqlError, TableDef};
use std::sync::Arc;

pub(crate) struct Blackhole {
    def: TableDef,
}

impl Blackhole {
    pub(crate) fn new(def: &TableDef) -> Result<Self, SqlError> {
        Options::new(def).finish()?;
        Ok(Self { def: def.clone() })
    }
}

impl Connector for Blackhole {
    fn source(&self) -> Result<Arc<dyn TableProvider>, SqlError> {
        Err(write_only(&self.def, "blackhole"))
    }

    fn sink(&self) -> Result<Arc<dyn Sink>, SqlError> {
        Ok(Arc::new(BlackholeSink {
            schema: Arc::new(self.def.arrow_schema()),
        }))
    }
}

pub(crate) fn write_only(def: &TableDef, connector: &str) -> SqlError {
    SqlError::invalid(
        def.pos,
        format!(
            "table `{}` uses connector '{connector}', which can only be written",
            def.name
        ),
    )
}

#[derive(Debug)]
struct BlackholeSink {
    schema: SchemaRef,
}

#[async_trait]
impl Sink for BlackholeSink {
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
            ctx.counter
                .add(b.num_rows() as u64, b.get_array_memory_size() as u64);
        }
        Ok(Box::new(NothingToCommit))
    }
}

//! The embedded engine: runs Flink SQL scripts in-process on Apache DataFusion 54.
//!
//! A script is parsed by `scaleph-sql`; DDL registers connectors from `scaleph-connectors`;
//! queries are parsed with sqlparser, Flink functions are mapped (see [`functions`]) and
//! DataFusion plans and executes them. Execution is bounded (batch). All `INSERT`s of a run
//! publish together once every one succeeded (`SET 'table.dml-sync' = 'true'` publishes each
//! before the next starts). Cancelling drops the running streams and discards staged output.
#![warn(missing_docs)]

mod errors;
pub mod functions;
mod run;
mod session;
mod values;

use async_trait::async_trait;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::physical_plan::collect;
use scaleph_engine::{
    CancellationToken, Engine, EngineError, EngineKind, EventSender, JobSettings, JobSpec, Preview,
    PreviewRequest, RunSummary, ValidationReport,
};
use scaleph_sql::{parse_script, SqlError, Statement, StatementKind};
use session::{columns_of, ScriptSession};

/// The in-process DataFusion engine. Cheap to clone; holds no state between calls.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedEngine;

impl EmbeddedEngine {
    /// A new engine.
    pub fn new() -> Self {
        Self
    }
}

/// Applies a DDL/SET statement to the session; returns false for statements that produce work
/// (INSERT, statement set, query).
async fn apply_ddl(s: &mut ScriptSession, st: &Statement) -> Result<bool, SqlError> {
    match &st.kind {
        StatementKind::Set { key, value } => s.set(key, value, st.pos)?,
        StatementKind::Reset { key } => s.reset(key.as_deref()),
        StatementKind::CreateTable(t) => s.create_table(t)?,
        StatementKind::CreateView(v) => s.create_view(v).await?,
        _ => return Ok(false),
    }
    Ok(true)
}

#[async_trait]
impl Engine for EmbeddedEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Embedded
    }

    async fn validate(
        &self,
        script: &str,
        settings: &JobSettings,
    ) -> Result<ValidationReport, EngineError> {
        let stmts = parse_script(script)?;
        let mut s = ScriptSession::new(settings);
        let mut report = ValidationReport {
            statements: stmts.len(),
            ..Default::default()
        };
        for st in &stmts {
            if apply_ddl(&mut s, st).await? {
                if let StatementKind::CreateTable(t) = &st.kind {
                    report.tables.push(t.name.clone());
                }
                continue;
            }
            match &st.kind {
                StatementKind::Insert(i) => {
                    s.plan_insert(i).await?;
                    report.sinks.push(i.target.clone());
                }
                StatementKind::StatementSet(set) => {
                    for i in set {
                        s.plan_insert(i).await?;
                        report.sinks.push(i.target.clone());
                    }
                }
                StatementKind::Query(q) => {
                    let plan = s.plan_query(q).await?;
                    report.query_schema = Some(columns_of(&plan.schema().inner().clone()));
                }
                _ => unreachable!("handled by apply_ddl"),
            }
        }
        report.table_columns = s.table_columns();
        Ok(report)
    }

    async fn preview(&self, req: PreviewRequest) -> Result<Preview, EngineError> {
        let stmts = parse_script(&req.script)?;
        let Some(last) = stmts
            .iter()
            .rposition(|s| matches!(s.kind, StatementKind::Query(_)))
        else {
            let pos = stmts.last().map(|s| s.pos).unwrap_or_default();
            return Err(SqlError::invalid(pos, "preview needs a SELECT statement").into());
        };
        let mut s = ScriptSession::new(&req.settings);
        for st in &stmts[..last] {
            apply_ddl(&mut s, st).await?;
        }
        let StatementKind::Query(q) = &stmts[last].kind else {
            unreachable!()
        };
        let plan = s.plan_query(q).await?;
        let columns = columns_of(&plan.schema().inner().clone());
        let limited = LogicalPlanBuilder::from(plan)
            .limit(0, Some(req.limit + 1))
            .and_then(|b| b.build())
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let work = async {
            let physical = s.ctx.state().create_physical_plan(&limited).await?;
            collect(physical, s.ctx.task_ctx()).await
        };
        let batches = tokio::time::timeout(req.timeout, work)
            .await
            .map_err(|_| EngineError::Timeout(req.timeout))?
            .map_err(|e| EngineError::Execution(e.strip_backtrace()))?;
        let total: usize = batches.iter().map(|b| b.num_rows()).sum();
        let rows =
            values::rows(&batches, req.limit).map_err(|e| EngineError::Execution(e.to_string()))?;
        Ok(Preview {
            columns,
            rows,
            truncated: total > req.limit,
        })
    }

    async fn run(
        &self,
        spec: JobSpec,
        events: EventSender,
        cancel: CancellationToken,
    ) -> Result<RunSummary, EngineError> {
        tokio::select! {
            r = run::run(spec, events) => r,
            _ = cancel.cancelled() => Err(EngineError::Cancelled),
        }
    }
}

//! Server-wide settings of the embedded engine: resource limits, the file-access policy, and
//! the runtime its work runs on.

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::sql::sqlparser::ast::{Expr, Query, Statement, Visit, Visitor};
use scaleph_connectors::ConnectorContext;
use scaleph_engine::EngineError;
use scaleph_sql::{Pos, SqlError};
use std::future::Future;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

/// Configuration of an [`crate::EmbeddedEngine`].
#[derive(Debug, Clone, Default)]
pub struct EmbeddedConfig {
    /// What connectors may reach (local paths).
    pub connectors: ConnectorContext,
    /// Resource limits.
    pub limits: Limits,
}

/// Resource limits of the embedded engine. Beyond them a script is refused with a positioned
/// 422-class [`SqlError`], or a run fails with a clear message — never an unbounded allocation.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Highest `parallelism.default` (partitions per query) a script or job may ask for.
    pub max_parallelism: usize,
    /// Memory per query, in bytes (DataFusion's fair spill pool: sorts, aggregations and joins
    /// that can spill do so under `spill_dir`; the others fail with "Resources exhausted").
    pub query_memory_bytes: usize,
    /// Where queries spill; `None` = the OS temporary directory.
    pub spill_dir: Option<PathBuf>,
    /// Largest script, in bytes.
    pub max_script_bytes: usize,
    /// Deepest expression nesting in one query (`1+1+…` counts one level per operator).
    pub max_expression_depth: usize,
    /// Largest preview answer: rows past this many bytes of JSON values are cut off (and the
    /// preview marked truncated).
    pub preview_bytes: usize,
    /// Worker threads of the engine's runtime (default: the number of cores).
    pub threads: usize,
    /// Stack size of the engine's threads, in bytes. DataFusion's recursive passes grow their
    /// stack on the heap when this runs low; the size covers our own recursion in between.
    pub stack_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_parallelism: 64,
            query_memory_bytes: 2 << 30,
            spill_dir: None,
            max_script_bytes: 512 << 10,
            max_expression_depth: 2000,
            preview_bytes: 8 << 20,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            stack_bytes: 64 << 20,
        }
    }
}

impl Limits {
    /// Refuses scripts over [`Limits::max_script_bytes`].
    ///
    /// # Errors
    /// A [`SqlError`] at 1:1 naming the size and the limit.
    pub fn check_script(&self, script: &str) -> Result<(), SqlError> {
        if script.len() > self.max_script_bytes {
            return Err(SqlError::invalid(
                Pos::new(1, 1),
                format!(
                    "the script is {} bytes; the limit is {} bytes (server setting --max-script-bytes)",
                    script.len(),
                    self.max_script_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Checks a parallelism (`parallelism.default`, a job's `settings.parallelism`) given as
    /// text: an integer from 1 to [`Limits::max_parallelism`].
    ///
    /// # Errors
    /// A sentence naming `what`, the allowed range and the value found.
    pub fn check_parallelism(&self, what: &str, value: &str) -> Result<usize, String> {
        match value.parse::<usize>() {
            Ok(p) if (1..=self.max_parallelism).contains(&p) => Ok(p),
            _ => Err(format!(
                "{what} must be an integer from 1 to {} (server setting --max-parallelism), found '{value}'",
                self.max_parallelism
            )),
        }
    }

    /// The runtime environment of one query: its own memory pool and spill directory.
    pub(crate) fn runtime_env(&self) -> datafusion::error::Result<Arc<RuntimeEnv>> {
        let mut disk = DiskManagerBuilder::default();
        if let Some(d) = &self.spill_dir {
            disk = disk.with_mode(DiskManagerMode::Directories(vec![d.clone()]));
        }
        RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(self.query_memory_bytes)))
            .with_disk_manager_builder(disk)
            .build_arc()
    }
}

/// Refuses a parsed query whose expressions (or nested queries) are more than `max` levels
/// deep, before any recursive pass of ours or DataFusion's walks it. The walk stops at the
/// limit, so it never recurses deeper than `max` itself.
///
/// # Errors
/// A [`SqlError`] at `pos` (the query's start) naming the limit.
pub(crate) fn check_depth(stmt: &Statement, max: usize, pos: Pos) -> Result<(), SqlError> {
    struct Depth {
        now: usize,
        max: usize,
    }
    impl Depth {
        fn enter(&mut self) -> ControlFlow<()> {
            self.now += 1;
            if self.now > self.max {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    impl Visitor for Depth {
        type Break = ();
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.enter()
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.enter()
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut d = Depth { now: 0, max };
    if stmt.visit(&mut d).is_break() {
        return Err(SqlError::invalid(
            pos,
            format!("the query nests expressions more than {max} levels deep (server setting --max-expression-depth); split it up, e.g. into views"),
        ));
    }
    Ok(())
}

/// The engine's own multi-threaded Tokio runtime (threads `scaleph-engine`).
#[derive(Debug)]
pub(crate) struct EngineRuntime(Option<tokio::runtime::Runtime>);

impl EngineRuntime {
    pub(crate) fn new(l: &Limits) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(l.threads.max(1))
            .thread_name("scaleph-engine")
            .thread_stack_size(l.stack_bytes)
            .enable_all()
            .build()
            .expect("start the embedded engine's threads");
        Self(Some(rt))
    }

    /// Runs `fut` on the engine's threads. Dropping the returned future aborts the work.
    pub(crate) async fn spawn<T, F>(&self, fut: F) -> Result<T, EngineError>
    where
        F: Future<Output = Result<T, EngineError>> + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_until(fut, std::future::pending()).await
    }

    /// Like [`EngineRuntime::spawn`], but when `cancel` resolves first the work is aborted and
    /// awaited (so whatever it held, like staged output, is gone) before answering
    /// [`EngineError::Cancelled`].
    pub(crate) async fn spawn_until<T, F>(
        &self,
        fut: F,
        cancel: impl Future<Output = ()>,
    ) -> Result<T, EngineError>
    where
        F: Future<Output = Result<T, EngineError>> + Send + 'static,
        T: Send + 'static,
    {
        let rt = self.0.as_ref().expect("runtime lives until drop");
        let mut task = AbortOnDrop(rt.spawn(fut));
        tokio::select! {
            r = &mut task.0 => match r {
                Ok(r) => r,
                Err(e) if e.is_panic() => Err(EngineError::Internal(format!(
                    "the engine panicked: {}",
                    panic_message(e.into_panic())
                ))),
                Err(_) => Err(EngineError::Cancelled),
            },
            _ = cancel => {
                task.0.abort();
                let _ = (&mut task.0).await;
                Err(EngineError::Cancelled)
            }
        }
    }
}

impl Drop for EngineRuntime {
    fn drop(&mut self) {
        // Dropping a runtime inside another runtime's context panics; this does not block.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// A task handle that aborts the task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A Flink duration option value (`TimeUtils.parseDuration`): a number and an optional unit
/// (`ms`, `s`, `min`, `h`, `d` and their long forms; none means milliseconds).
pub(crate) fn parse_duration(v: &str) -> Option<std::time::Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: u64 = v[..split].parse().ok()?;
    let ms = match v[split..].trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1000,
        "min" | "m" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return None,
    };
    Some(std::time::Duration::from_millis(n.checked_mul(ms)?))
}

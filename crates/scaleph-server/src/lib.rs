//! The scaleph control plane: REST API (`/api/v1`, OpenAPI at `/api/v1/openapi.json`, Swagger UI
//! at `/swagger-ui`), the service layer, and the job runner.
//!
//! Request flow: axum handler (`api/`) → service (`service/`) or store (`scaleph-meta`) →
//! engine (`scaleph-embedded`) for validation, preview and runs. Errors are
//! `application/problem+json` ([`ApiError`]).
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod error;
pub mod service;
pub mod ui;

pub use error::{ApiError, ApiJson};

use auth::AuthConfig;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::Router;
use scaleph_auth::throttle::{LoginThrottle, ThrottleConfig};
use scaleph_connectors::ConnectorContext;
use scaleph_embedded::{EmbeddedConfig, EmbeddedEngine, Limits};
use scaleph_engine::{Engine, EngineKind};
use scaleph_meta::Store;
use scaleph_secrets::Keyring;
use service::flink::{Flink, FlinkConfig};
use service::runner::{RunLimits, Runner};
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

/// Largest accepted request body, in bytes (1 MiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// Metadata store.
    pub store: Store,
    /// The embedded engine, for validate and preview.
    pub engine: Arc<dyn Engine>,
    /// Job runner.
    pub runner: Runner,
    /// Key that seals stored secrets.
    pub keyring: Arc<Keyring>,
    /// Failed-login throttle.
    pub throttle: Arc<LoginThrottle>,
    /// Session settings.
    pub auth: Arc<AuthConfig>,
    /// Flink clusters, submission and reconciliation.
    pub flink: Flink,
    /// What SQL and datasources may reach: local paths and network endpoints.
    pub access: ConnectorContext,
    /// The embedded engine's resource limits (parallelism, memory, script size).
    pub limits: Arc<Limits>,
    /// Delivers alerts (one pooled HTTP client for the alert loop and "send test").
    pub alerts: scaleph_alert::Sender,
}

/// How the server runs SQL: the embedded engine's policy and limits, and how many runs may go
/// at once.
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    /// The embedded engine's file-access policy and limits.
    pub embedded: EmbeddedConfig,
    /// Concurrent runs.
    pub runs: RunLimits,
    /// Where embedded streaming instances keep checkpoints and savepoints (`checkpoints/`,
    /// `savepoints/` under it); `None`: checkpoints in memory (no resume after a restart), no
    /// savepoints.
    pub state_dir: Option<std::path::PathBuf>,
}

impl AppState {
    /// The lifecycle of instances on engine `kind` (the one place that maps an engine to its
    /// operations).
    pub fn lifecycle(&self, kind: EngineKind) -> &dyn service::lifecycle::Lifecycle {
        match kind {
            EngineKind::Embedded => &self.runner,
            EngineKind::Flink => &self.flink,
        }
    }

    /// State over `store` with the embedded engine; secrets sealed with `keyring`.
    pub fn new(
        store: Store,
        keyring: Keyring,
        auth: AuthConfig,
        throttle: ThrottleConfig,
        mut flink: FlinkConfig,
        run: RunConfig,
    ) -> Self {
        let access = run.embedded.connectors.clone();
        flink.access = access.clone();
        let limits = Arc::new(run.embedded.limits.clone());
        let engine: Arc<dyn Engine> = Arc::new(EmbeddedEngine::with_config(run.embedded));
        let runner = Runner::new(store.clone(), engine.clone(), run.runs, run.state_dir);
        let keyring = Arc::new(keyring);
        Self {
            access,
            limits,
            flink: Flink::new(store.clone(), keyring.clone(), flink),
            store,
            engine,
            runner,
            keyring,
            throttle: Arc::new(LoginThrottle::new(throttle)),
            auth: Arc::new(auth),
            alerts: scaleph_alert::Sender::new(),
        }
    }
}

/// The HTTP application: API routes, OpenAPI document, Swagger UI, health checks.
pub fn app(state: AppState) -> Router {
    let (api_router, openapi) = api::router().split_for_parts();
    // route_layer: runs only for matched routes, so MatchedPath is known to the middleware.
    let api_router = api_router.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::middleware::authorize,
    ));
    let router = Router::new()
        .merge(api_router)
        .merge(SwaggerUi::new("/swagger-ui").url("/api/v1/openapi.json", openapi))
        .fallback(ui::serve)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(error::problem_responses));
    let router = SECURITY_HEADERS
        .into_iter()
        .fold(router, |r, (name, value)| {
            r.layer(SetResponseHeaderLayer::if_not_present(
                name,
                HeaderValue::from_static(value),
            ))
        });
    router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A handler that panicked (a bug) answers 500 problem+json; the process and the other
/// requests go on. The panic message is logged, not sent.
fn panic_response(p: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %msg, "request handler panicked");
    axum::response::IntoResponse::into_response(ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
    ))
}

/// Headers on every response: no MIME sniffing, no framing, no referrer, no caching of API
/// answers (OWASP Secure Headers Project recommendations for APIs).
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// Sends the server's log to stderr, filtered by `SCALEPH_LOG` (a tracing `EnvFilter`;
/// default `info,sqlx=warn,tower_http=info`). Call once, at start-up.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCALEPH_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Removes staging leftovers of crashed runs, recovers unfinished instances, then serves on `addr` until `shutdown` resolves.
///
/// # Errors
/// Bind and I/O errors; store errors during recovery.
pub async fn serve(
    state: AppState,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let swept = state.access.files.sweep_staging();
    if swept > 0 {
        tracing::warn!(
            count = swept,
            "removed staging directories left by runs a previous process did not finish"
        );
    }
    let n = state
        .runner
        .recover()
        .await
        .map_err(std::io::Error::other)?;
    if n.failed > 0 {
        tracing::warn!(
            count = n.failed,
            "marked unfinished job instances FAILED: platform restarted"
        );
    }
    if n.resumed > 0 {
        tracing::warn!(
            count = n.resumed,
            "resumed streaming job instances from their latest checkpoints"
        );
    }
    state
        .flink
        .start_all()
        .await
        .map_err(std::io::Error::other)?;
    // Schedules: fires claimed before a restart start first, then the loop runs.
    service::scheduler::Scheduler::new(state.clone()).spawn();
    service::alerts::Alerter::new(state.clone()).spawn();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_bound(listener.local_addr()?);
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

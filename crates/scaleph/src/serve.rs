//! `scaleph serve`.

use anyhow::Context;
use clap::Args;
use scaleph_auth::throttle::ThrottleConfig;
use scaleph_auth::ScopeSet;
use scaleph_connectors::{ConnectorContext, FileAccess, HostAccess};
use scaleph_embedded::{EmbeddedConfig, Limits};
use scaleph_meta::{Store, StoreOptions};
use scaleph_secrets::Keyring;
use scaleph_server::auth::AuthConfig;
use scaleph_server::service::accounts;
use scaleph_server::service::flink::FlinkConfig;
use scaleph_server::service::runner::RunLimits;
use scaleph_server::{AppState, RunConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct Opts {
    /// Address to listen on.
    #[arg(long, env = "SCALEPH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the SQLite metadata file and example data.
    #[arg(long, env = "SCALEPH_DATA_DIR", default_value = "./scaleph-data")]
    pub data_dir: PathBuf,
    /// Metadata database (`postgres://…`); default: SQLite under --data-dir.
    #[arg(long, env = "SCALEPH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Connections for read-only metadata queries. SQLite keeps them beside its single writer
    /// (WAL mode); `0` = one connection for reads and writes in rollback-journal mode, the
    /// setting before WAL, kept to compare (`bench/src/bin/store_load.rs`). PostgreSQL: that
    /// many readers beside one writer connection; `0` = one pool of 12 for both.
    #[arg(long, env = "SCALEPH_DB_READ_CONNECTIONS", default_value_t = 8)]
    pub db_read_connections: u32,
    /// Load an example project and run its jobs: `tpch`.
    #[arg(long)]
    pub example: Option<String>,
    /// Scale factor of the TPC-H example.
    #[arg(long, default_value_t = 0.1)]
    pub example_scale: f64,
    /// Mark the session cookie `Secure` (serve over HTTPS or behind a TLS proxy).
    #[arg(long, env = "SCALEPH_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Browser session lifetime, hours.
    #[arg(long, env = "SCALEPH_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u64,
    /// Failed sign-ins per user name within 15 minutes before further attempts are refused
    /// (per client address: 4 times this).
    #[arg(long, env = "SCALEPH_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: usize,
    /// The Flink SQL runner jar (`runners/flink-sql-runner/build.sh <FLINK_HOME> <dir>` builds
    /// it); needed to run SQL jobs on Flink clusters.
    #[arg(long, env = "SCALEPH_FLINK_SQL_RUNNER")]
    pub flink_sql_runner: Option<PathBuf>,
    /// A Flink distribution (a directory with `lib/`): Flink SQL jobs are then validated by
    /// Flink's own planner in a local JVM (with the SQL runner jar); without it only the
    /// platform's structural checks run.
    #[arg(long, env = "SCALEPH_FLINK_HOME")]
    pub flink_home: Option<PathBuf>,
    /// How often each Flink cluster's jobs are reconciled, in milliseconds.
    #[arg(long, env = "SCALEPH_RECONCILE_MS", default_value_t = 1000)]
    pub reconcile_ms: u64,
    /// A directory that SQL (filesystem tables) and filesystem datasources may read and write;
    /// repeat for several. Default: `<data-dir>/files`. The data dir's own files (store, keys,
    /// artifacts) stay unreachable even inside an allowed path.
    #[arg(
        long = "allowed-path",
        env = "SCALEPH_ALLOWED_PATHS",
        value_delimiter = ','
    )]
    pub allowed_paths: Vec<PathBuf>,
    /// A network endpoint that SQL jobs (connector options such as `url`, `hostname`,
    /// `properties.bootstrap.servers`) and database datasources may name; repeat for several.
    /// `db.example.com`, `db.example.com:5432`, `*.example.com`, `10.0.0.0/8`, `[fd00::]/8:9092`,
    /// or `*` for any. Default: none. Names match names only (no DNS lookup).
    #[arg(
        long = "allowed-host",
        env = "SCALEPH_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Highest parallelism a job or script may ask for.
    #[arg(long, env = "SCALEPH_MAX_PARALLELISM", default_value_t = 64)]
    pub max_parallelism: usize,
    /// Memory per embedded query, MiB (spillable operators spill under `<data-dir>/tmp`).
    #[arg(long, env = "SCALEPH_QUERY_MEMORY_MB", default_value_t = 2048)]
    pub query_memory_mb: usize,
    /// Largest script accepted, bytes.
    #[arg(long, env = "SCALEPH_MAX_SCRIPT_BYTES", default_value_t = 512 * 1024)]
    pub max_script_bytes: usize,
    /// Deepest expression nesting accepted in one query.
    #[arg(long, env = "SCALEPH_MAX_EXPRESSION_DEPTH", default_value_t = 2000)]
    pub max_expression_depth: usize,
    /// Largest preview answer, bytes of row values (more rows are cut off, marked truncated).
    #[arg(long, env = "SCALEPH_PREVIEW_MAX_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub preview_max_bytes: usize,
    /// Embedded job runs at once in this server (more submits get 429).
    #[arg(long, env = "SCALEPH_MAX_RUNNING_JOBS", default_value_t = 16)]
    pub max_running_jobs: usize,
    /// Embedded job runs at once per project (more submits get 429).
    #[arg(
        long,
        env = "SCALEPH_MAX_RUNNING_JOBS_PER_PROJECT",
        default_value_t = 8
    )]
    pub max_running_jobs_per_project: usize,
}

impl Opts {
    /// The embedded engine's policy and limits, and the run limits, from the flags.
    fn run_config(&self) -> anyhow::Result<RunConfig> {
        let roots = if self.allowed_paths.is_empty() {
            vec![self.data_dir.join("files")]
        } else {
            self.allowed_paths.clone()
        };
        let files = FileAccess::restricted(&roots, &self.data_dir)
            .context("cannot prepare the allowed paths (--allowed-path)")?;
        let hosts = HostAccess::restricted(&self.allowed_hosts)?;
        let spill = self.data_dir.join("tmp");
        std::fs::create_dir_all(&spill)
            .with_context(|| format!("cannot create {}", spill.display()))?;
        let limits = Limits {
            max_parallelism: self.max_parallelism.max(1),
            query_memory_bytes: self.query_memory_mb.max(16) << 20,
            spill_dir: Some(spill),
            max_script_bytes: self.max_script_bytes.max(1024),
            max_expression_depth: self.max_expression_depth.max(16),
            preview_bytes: self.preview_max_bytes.max(1024),
            ..Limits::default()
        };
        Ok(RunConfig {
            embedded: EmbeddedConfig {
                connectors: ConnectorContext { files, hosts },
                limits,
            },
            runs: RunLimits {
                per_server: self.max_running_jobs.max(1),
                per_project: self.max_running_jobs_per_project.max(1),
            },
            state_dir: Some(self.data_dir.clone()),
        })
    }
}

pub async fn cmd(o: Opts) -> anyhow::Result<()> {
    scaleph_server::init_logging();
    std::fs::create_dir_all(&o.data_dir)
        .with_context(|| format!("cannot create data dir {}", o.data_dir.display()))?;
    let url = match &o.database_url {
        Some(u) => u.clone(),
        None => format!(
            "sqlite://{}?mode=rwc",
            o.data_dir.join("scaleph.db").display()
        ),
    };
    let store_opts = StoreOptions {
        read_connections: o.db_read_connections,
        ..StoreOptions::default()
    };
    let store = Store::connect_with(&url, store_opts)
        .await
        .context("cannot open the metadata store")?;
    tracing::info!(backend = ?store.backend(), "metadata store ready");
    let key_path = o.data_dir.join("secret.key");
    let env_key = std::env::var("SCALEPH_SECRET_KEY").ok();
    let (keyring, created) = Keyring::load_or_create(env_key.as_deref(), &key_path)
        .context("cannot load the secret key")?;
    if created {
        tracing::warn!(path = %key_path.display(), key_id = keyring.id(), "generated a new secret key; back it up: stored credentials cannot be read without it");
    }
    // First start: create `admin`. The password is read here once and never logged.
    let admin_password = std::env::var("SCALEPH_ADMIN_PASSWORD").ok();
    let bootstrap = accounts::bootstrap_admin(&store, admin_password.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the admin user: {}", e.detail()))?;
    let auth = AuthConfig {
        session_ttl: Duration::from_secs(o.session_hours.max(1) * 3600),
        secure_cookies: o.secure_cookies,
    };
    let throttle = ThrottleConfig {
        max_per_user: o.login_max_failures.max(1),
        max_per_ip: o.login_max_failures.max(1) * 4,
        ..ThrottleConfig::default()
    };
    let flink = FlinkConfig {
        sql_runner_jar: o.flink_sql_runner.clone(),
        reconcile_every: Duration::from_millis(o.reconcile_ms.max(100)),
        artifacts_dir: o.data_dir.join("artifacts"),
        // Set from the run configuration by AppState::new.
        access: ConnectorContext::default(),
        flink_home: o.flink_home.clone(),
    };
    let run = o.run_config()?;
    let files_root = run.embedded.connectors.files.roots()[0].clone();
    let state = AppState::new(store.clone(), keyring, auth, throttle, flink, run);
    if let Some(ex) = &o.example {
        if ex != "tpch" {
            anyhow::bail!("unknown example '{ex}'; available: tpch");
        }
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(scaleph_server::serve(
        state,
        o.listen,
        shutdown,
        move |addr| {
            let _ = bound_tx.send(addr);
        },
    ));
    let addr = match bound_rx.await {
        Ok(a) => a,
        Err(_) => return server.await?.context("server failed to start"),
    };
    println!("scaleph listening on http://{addr}  (web UI: /, API: /api/v1, OpenAPI: /api/v1/openapi.json, Swagger UI: /swagger-ui)");
    match &bootstrap {
        Some((u, Some(generated))) => println!(
            "first start: created user '{}' with password {generated}  (shown once; change it with `scaleph user reset-password {}`)",
            u.username, u.username
        ),
        Some((u, None)) => println!(
            "first start: created user '{}' with the password from SCALEPH_ADMIN_PASSWORD",
            u.username
        ),
        None => {}
    }
    println!("sign in: open http://{addr} in a browser, or `scaleph login --server http://{addr} --username admin`");
    if o.example.is_some() {
        let scale = o.example_scale;
        // The example acts as the first enabled admin with a one-day token, revoked after.
        let (admin, token, token_id) = example_token(&store).await?;
        tokio::spawn(async move {
            let r = crate::example::run_tpch(&format!("http://{addr}"), &files_root, scale, &token)
                .await;
            if let Err(e) = r {
                eprintln!("TPC-H example failed: {e:#}");
            }
            let _ = store.revoke_token(&admin, &token_id).await;
        });
    }
    server.await?.context("server error")?;
    Ok(())
}

/// (admin user id, token, token id) for the example run.
async fn example_token(store: &Store) -> anyhow::Result<(String, String, String)> {
    let users = store
        .list_users(scaleph_meta::PageRequest {
            page: 1,
            page_size: 500,
        })
        .await?;
    let admin = users
        .items
        .into_iter()
        .find(|u| u.enabled && u.role == scaleph_auth::PlatformRole::Admin)
        .context("the example needs an enabled admin user")?;
    let (token, info) =
        accounts::issue_token(store, &admin.id, "tpch-example", ScopeSet::all(), Some(1))
            .await
            .map_err(|e| anyhow::anyhow!("cannot issue the example's token: {}", e.detail()))?;
    Ok((admin.id, token, info.id))
}

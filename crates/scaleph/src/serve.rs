//! `scaleph serve`.

use anyhow::Context;
use clap::Args;
use scaleph_meta::Store;
use scaleph_secrets::Keyring;
use scaleph_server::AppState;
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Load an example project and run its jobs: `tpch`.
    #[arg(long)]
    pub example: Option<String>,
    /// Scale factor of the TPC-H example.
    #[arg(long, default_value_t = 0.1)]
    pub example_scale: f64,
}

pub async fn cmd(o: Opts) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCALEPH_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    std::fs::create_dir_all(&o.data_dir)
        .with_context(|| format!("cannot create data dir {}", o.data_dir.display()))?;
    let url = match &o.database_url {
        Some(u) => u.clone(),
        None => format!(
            "sqlite://{}?mode=rwc",
            o.data_dir.join("scaleph.db").display()
        ),
    };
    let store = Store::connect(&url)
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
    let state = AppState::new(store.clone(), keyring);
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
    println!("scaleph listening on http://{addr}  (API: /api/v1, OpenAPI: /api/v1/openapi.json, Swagger UI: /swagger-ui)");
    if o.example.is_some() {
        let data_dir = o.data_dir.clone();
        let scale = o.example_scale;
        tokio::spawn(async move {
            if let Err(e) =
                crate::example::run_tpch(&format!("http://{addr}"), &data_dir, scale).await
            {
                eprintln!("TPC-H example failed: {e:#}");
            }
        });
    }
    server.await?.context("server error")?;
    Ok(())
}

//! Options of subcommands that open the metadata store directly (run them where the server
//! runs; they work while it is stopped or locked out).

use anyhow::Context;
use clap::Args;
use scaleph_meta::Store;
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct StoreOpts {
    /// Data directory (holds the SQLite metadata by default and `secret.key`).
    #[arg(long, env = "SCALEPH_DATA_DIR", default_value = "./scaleph-data")]
    pub data_dir: PathBuf,
    /// Metadata database (`postgres://…`); default: SQLite under --data-dir.
    #[arg(long, env = "SCALEPH_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreOpts {
    /// The database URL: --database-url, or `scaleph.db` under --data-dir (`mode`: `rw` to
    /// require an existing file, `rwc` to create it).
    pub fn url(&self, mode: &str) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode={mode}",
                self.data_dir.join("scaleph.db").display()
            )
        })
    }

    /// Opens an existing store.
    pub async fn open(&self) -> anyhow::Result<Store> {
        Store::connect(&self.url("rw"))
            .await
            .with_context(|| "cannot open the metadata store (wrong --data-dir or --database-url?)")
    }

    /// Opens the store, creating the data dir and SQLite file when missing (for commands that
    /// may run before the first `serve`).
    pub async fn open_or_create(&self) -> anyhow::Result<Store> {
        std::fs::create_dir_all(&self.data_dir)?;
        Store::connect(&self.url("rwc"))
            .await
            .context("cannot open the metadata store")
    }
}

//! `scaleph secrets rotate`: re-seal every stored secret under a new key.

use anyhow::{bail, Context};
use clap::Subcommand;
use scaleph_meta::Store;
use scaleph_secrets::Keyring;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Cmd {
    /// Generate a new key and re-seal all stored secrets with it, in one transaction. Run it with
    /// the server stopped. With a key file, the old key is kept as `secret.key.old`; with
    /// `SCALEPH_SECRET_KEY`, pass the new key with --new-key and set the variable to it after.
    Rotate {
        /// Data directory holding `secret.key` (and the SQLite metadata by default).
        #[arg(long, env = "SCALEPH_DATA_DIR", default_value = "./scaleph-data")]
        data_dir: PathBuf,
        /// Metadata database; default: SQLite under --data-dir.
        #[arg(long, env = "SCALEPH_DATABASE_URL")]
        database_url: Option<String>,
        /// The new key (base64 of 32 bytes); generated when omitted.
        #[arg(long)]
        new_key: Option<String>,
    },
}

pub async fn cmd(c: Cmd) -> anyhow::Result<()> {
    let Cmd::Rotate {
        data_dir,
        database_url,
        new_key,
    } = c;
    let key_path = data_dir.join("secret.key");
    let from_env = std::env::var("SCALEPH_SECRET_KEY").ok();
    let old = match &from_env {
        Some(k) => Keyring::from_base64(k)?,
        None => Keyring::read_file(&key_path)
            .with_context(|| format!("cannot read {}", key_path.display()))?,
    };
    let new = match &new_key {
        Some(k) => Keyring::from_base64(k)?,
        None if from_env.is_some() => {
            bail!("the key comes from SCALEPH_SECRET_KEY: pass the new key with --new-key")
        }
        None => Keyring::generate(),
    };
    if new.id() == old.id() {
        bail!("the new key is the current key");
    }
    let url = database_url
        .unwrap_or_else(|| format!("sqlite://{}?mode=rw", data_dir.join("scaleph.db").display()));
    let store = Store::connect(&url)
        .await
        .context("cannot open the metadata store")?;
    // The new key is on disk before any secret depends on it.
    let staged = data_dir.join("secret.key.new");
    if from_env.is_none() {
        new.write_file(&staged)?;
    }
    let changed = store
        .rewrite_datasource_properties(|d| {
            let mut props = d.properties.clone();
            let mut any = false;
            for (_, v) in props.iter_mut() {
                if let Value::String(s) = v {
                    if Keyring::is_sealed(s) {
                        *s = new.seal(&old.open(s).map_err(|e| e.to_string())?);
                        any = true;
                    }
                }
            }
            Ok(any.then_some(props))
        })
        .await;
    let changed = match changed {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e.into());
        }
    };
    store.close().await;
    if from_env.is_none() {
        std::fs::rename(&key_path, data_dir.join("secret.key.old"))?;
        std::fs::rename(&staged, &key_path)?;
        println!(
            "re-sealed {changed} datasources: key {} → {} ({}; old key kept in secret.key.old)",
            old.id(),
            new.id(),
            key_path.display()
        );
    } else {
        println!("re-sealed {changed} datasources: key {} → {}; now set SCALEPH_SECRET_KEY to the new key", old.id(), new.id());
    }
    Ok(())
}

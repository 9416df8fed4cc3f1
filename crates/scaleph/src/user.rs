//! `scaleph user`: manage accounts directly in the metadata store.

use crate::store_opts::StoreOpts;
use anyhow::{anyhow, Context};
use clap::Subcommand;
use scaleph_auth::{PlatformRole, Scope, ScopeSet};
use scaleph_server::service::accounts;
use scaleph_server::ApiError;

#[derive(Subcommand)]
pub enum Cmd {
    /// Create a user; prints a generated password unless --password-stdin is given.
    Create {
        #[command(flatten)]
        store: StoreOpts,
        /// Login name (a-z, 0-9, '.', '_', '-').
        username: String,
        /// Make the user a platform admin.
        #[arg(long)]
        admin: bool,
        #[arg(long, default_value = "")]
        display_name: String,
        #[arg(long, default_value = "")]
        email: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (generated and printed unless --password-stdin); ends the user's
    /// browser sessions.
    ResetPassword {
        #[command(flatten)]
        store: StoreOpts,
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Issue a personal access token and print it (shown once).
    Token {
        #[command(flatten)]
        store: StoreOpts,
        username: String,
        /// Token label.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Scopes (repeatable): read, write, operate, admin. Default: read, write, operate.
        #[arg(long = "scope", value_parser = parse_scope)]
        scopes: Vec<Scope>,
        /// Lifetime in days.
        #[arg(long, default_value_t = accounts::DEFAULT_TOKEN_DAYS)]
        expires_in_days: u32,
    },
    /// List users.
    List {
        #[command(flatten)]
        store: StoreOpts,
    },
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s)
        .ok_or_else(|| format!("unknown scope '{s}'; valid: read, write, operate, admin"))
}

fn api(e: ApiError) -> anyhow::Error {
    anyhow!("{}", e.detail())
}

/// Reads one line from stdin, without its line ending.
pub fn password_from_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_line(&mut s)
        .context("cannot read the password from stdin")?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

async fn find(store: &scaleph_meta::Store, username: &str) -> anyhow::Result<scaleph_meta::User> {
    Ok(store
        .user_for_login(username)
        .await?
        .with_context(|| format!("no user '{username}'"))?
        .0)
}

pub async fn cmd(c: Cmd) -> anyhow::Result<()> {
    match c {
        Cmd::Create {
            store,
            username,
            admin,
            display_name,
            email,
            password_stdin,
        } => {
            let s = store.open_or_create().await?;
            let pw = password_stdin.then(password_from_stdin).transpose()?;
            let role = if admin {
                PlatformRole::Admin
            } else {
                PlatformRole::User
            };
            let (u, generated) =
                accounts::create_user(&s, &username, &display_name, &email, role, pw.as_deref())
                    .await
                    .map_err(api)?;
            println!("created user '{}' ({}, {})", u.username, u.id, u.role);
            if let Some(p) = generated {
                println!("password: {p}");
            }
        }
        Cmd::ResetPassword {
            store,
            username,
            password_stdin,
        } => {
            let s = store.open().await?;
            let u = find(&s, &username).await?;
            let (pw, generated) = if password_stdin {
                (password_from_stdin()?, false)
            } else {
                (accounts::generate_password(), true)
            };
            accounts::set_password(&s, &u.id, &pw).await.map_err(api)?;
            println!("password of '{username}' changed; their browser sessions ended");
            if generated {
                println!("password: {pw}");
            }
        }
        Cmd::Token {
            store,
            username,
            name,
            scopes,
            expires_in_days,
        } => {
            let s = store.open().await?;
            let u = find(&s, &username).await?;
            let scopes: ScopeSet = if scopes.is_empty() {
                [Scope::Read, Scope::Write, Scope::Operate]
                    .into_iter()
                    .collect()
            } else {
                scopes.into_iter().collect()
            };
            let (token, info) =
                accounts::issue_token(&s, &u.id, &name, scopes, Some(expires_in_days))
                    .await
                    .map_err(api)?;
            eprintln!(
                "token '{}' for '{username}' ({scopes}), expires {}; shown once:",
                info.name,
                chrono::DateTime::from_timestamp_millis(info.expires_at.unwrap_or(0))
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            );
            println!("{token}");
        }
        Cmd::List { store } => {
            let s = store.open().await?;
            let page = s
                .list_users(scaleph_meta::PageRequest {
                    page: 1,
                    page_size: 500,
                })
                .await?;
            for u in page.items {
                println!(
                    "{}  {:<20} {:<6} {}",
                    u.id,
                    u.username,
                    u.role,
                    if u.enabled { "enabled" } else { "disabled" }
                );
            }
        }
    }
    Ok(())
}

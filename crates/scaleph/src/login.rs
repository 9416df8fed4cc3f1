//! `scaleph login` / `scaleph logout`: a personal access token per server, kept in
//! `<config dir>/scaleph/credentials.json` (mode 0600; `SCALEPH_CONFIG_DIR` overrides the
//! directory). Client subcommands send it as `Authorization: Bearer`.

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Args)]
pub struct LoginOpts {
    /// User name.
    #[arg(long, default_value = "admin")]
    pub username: String,
    /// Read the password from the first line of stdin (default: prompt).
    #[arg(long)]
    pub password_stdin: bool,
    /// Token lifetime in days.
    #[arg(long, default_value_t = 90)]
    pub expires_in_days: u32,
}

fn credentials_path() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("SCALEPH_CONFIG_DIR") {
        Some(d) => PathBuf::from(d),
        None => dirs::config_dir()
            .context("no config directory (set SCALEPH_CONFIG_DIR)")?
            .join("scaleph"),
    };
    Ok(dir.join("credentials.json"))
}

fn read_credentials() -> anyhow::Result<Value> {
    let p = credentials_path()?;
    match std::fs::read_to_string(&p) {
        Ok(s) => {
            serde_json::from_str(&s).with_context(|| format!("{} is not valid JSON", p.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({"servers": {}})),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", p.display())),
    }
}

fn write_credentials(v: &Value) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let p = credentials_path()?;
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d)?;
    }
    let tmp = p.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(serde_json::to_string_pretty(v)?.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &p)?;
    Ok(p)
}

fn key(server: &str) -> String {
    server.trim_end_matches('/').to_string()
}

/// The stored token for `server`, if any.
pub fn stored_token(server: &str) -> Option<String> {
    read_credentials().ok()?["servers"][key(server)]["token"]
        .as_str()
        .map(str::to_string)
}

async fn send(req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<reqwest::Response> {
    let r = req
        .send()
        .await
        .with_context(|| format!("{what}: server unreachable"))?;
    if !r.status().is_success() {
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        bail!(
            "{what}: {status}: {}",
            body["detail"].as_str().unwrap_or("")
        );
    }
    Ok(r)
}

/// Signs in with a password, creates a token named `cli@<host>` with every scope, ends the
/// browser session again, and stores the token.
pub async fn login(server: &str, o: LoginOpts) -> anyhow::Result<()> {
    let base = key(server);
    let password = if o.password_stdin {
        crate::user::password_from_stdin()?
    } else {
        rpassword::prompt_password(format!("password for {} at {base}: ", o.username))?
    };
    let http = reqwest::Client::new();
    let r = send(
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": o.username, "password": password})),
        "sign-in failed",
    )
    .await?;
    let cookie = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .filter(|c| c.starts_with("scaleph_session="))
        })
        .context("the server set no session cookie")?
        .to_string();
    let session: Value = r.json().await?;
    let csrf = session["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let issued: Value = send(
        http.post(format!("{base}/api/v1/me/tokens"))
            .header(reqwest::header::COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .json(&json!({
                "name": format!("cli@{host}"),
                "scopes": ["read", "write", "operate", "admin"],
                "expires_in_days": o.expires_in_days,
            })),
        "cannot create a token",
    )
    .await?
    .json()
    .await?;
    let _ = http
        .post(format!("{base}/api/v1/auth/logout"))
        .header(reqwest::header::COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await;
    let mut creds = read_credentials()?;
    creds["servers"][&base] = json!({
        "username": o.username,
        "token": issued["token"],
        "token_id": issued["info"]["id"],
        "expires_at": issued["info"]["expires_at"],
    });
    let p = write_credentials(&creds)?;
    println!(
        "signed in to {base} as {}; token stored in {}",
        o.username,
        p.display()
    );
    Ok(())
}

/// Revokes the stored token on the server and forgets it.
pub async fn logout(server: &str) -> anyhow::Result<()> {
    let base = key(server);
    let mut creds = read_credentials()?;
    let entry = creds["servers"][&base].clone();
    let (Some(token), Some(id)) = (entry["token"].as_str(), entry["token_id"].as_str()) else {
        bail!("not signed in to {base}");
    };
    let revoked = reqwest::Client::new()
        .delete(format!("{base}/api/v1/me/tokens/{id}"))
        .bearer_auth(token)
        .send()
        .await;
    if let Some(m) = creds["servers"].as_object_mut() {
        m.remove(&base);
    }
    write_credentials(&creds)?;
    match revoked {
        Ok(r) if r.status().is_success() => println!("token revoked; signed out of {base}"),
        Ok(r) => println!(
            "signed out of {base} (server answered {} to the revocation)",
            r.status()
        ),
        Err(_) => println!("signed out of {base} (server unreachable: token not revoked)"),
    }
    Ok(())
}

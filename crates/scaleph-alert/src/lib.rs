//! Alert channels: where an alert is delivered, and the delivery itself.
//!
//! A channel is a kind plus a JSON configuration ([`Channel::parse`] checks it):
//!
//! | kind | configuration | secrets (sealed at rest by the caller) |
//! |---|---|---|
//! | `webhook` | `url` (http/https), `secret` (optional) | `secret` |
//! | `email` | `host`, `port`, `security` (`none` / `starttls` / `tls`), `username`, `password`, `from`, `to` (list) | `password` |
//! | `dingtalk` | `url` (the robot's webhook with its `access_token`), `secret` (optional, "加签") | `url`, `secret` |
//! | `feishu` | `url` (the bot's hook), `secret` (optional, signature check) | `url`, `secret` |
//! | `wecom` | `url` (the robot's webhook with its `key`) | `url` |
//!
//! Webhook requests carry the [`Message`] as JSON and, with a secret, the header
//! `X-Scaleph-Signature-256: sha256=<hex HMAC-SHA256 of the body keyed by the secret>` (GitHub's
//! convention); robots get their vendor's message and signature formats ([`sign`]).
//! Which hosts a channel may reach is the caller's policy: [`Channel::endpoint`] names it.

mod send;
pub mod sign;

pub use send::{Delivered, Sender};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Errors of channel configuration and delivery.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The configuration is wrong: the field and why.
    #[error("{0}")]
    Invalid(String),
    /// The receiver refused or could not be reached: what happened.
    #[error("{0}")]
    Delivery(String),
}

/// Kinds of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// Generic JSON webhook, optionally HMAC-SHA256 signed.
    Webhook,
    /// Email over SMTP.
    Email,
    /// DingTalk group robot.
    Dingtalk,
    /// Feishu / Lark custom bot.
    Feishu,
    /// WeCom (WeChat Work) group robot.
    Wecom,
}

impl ChannelKind {
    /// Every kind.
    pub const ALL: [ChannelKind; 5] = [
        ChannelKind::Webhook,
        ChannelKind::Email,
        ChannelKind::Dingtalk,
        ChannelKind::Feishu,
        ChannelKind::Wecom,
    ];

    /// Lower-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
            ChannelKind::Dingtalk => "dingtalk",
            ChannelKind::Feishu => "feishu",
            ChannelKind::Wecom => "wecom",
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Configuration keys that hold secrets: sealed at rest, never shown again.
    pub fn secret_keys(&self) -> &'static [&'static str] {
        match self {
            ChannelKind::Webhook => &["secret"],
            ChannelKind::Email => &["password"],
            ChannelKind::Dingtalk | ChannelKind::Feishu => &["url", "secret"],
            ChannelKind::Wecom => &["url"],
        }
    }

    fn keys(&self) -> &'static [&'static str] {
        match self {
            ChannelKind::Webhook => &["url", "secret"],
            ChannelKind::Email => &[
                "host", "port", "security", "username", "password", "from", "to",
            ],
            ChannelKind::Dingtalk | ChannelKind::Feishu => &["url", "secret"],
            ChannelKind::Wecom => &["url"],
        }
    }
}

/// Transport security of an SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP (a relay on a trusted network).
    None,
    /// SMTP upgraded with STARTTLS (port 587).
    Starttls,
    /// SMTP over TLS from the start (port 465).
    Tls,
}

/// A checked email channel.
#[derive(Debug, Clone)]
pub struct EmailChannel {
    /// SMTP server.
    pub host: String,
    /// SMTP port (default 25 / 587 / 465 by security).
    pub port: u16,
    /// Transport security.
    pub security: Security,
    /// Login, when the server wants one.
    pub credentials: Option<(String, String)>,
    /// Sender mailbox.
    pub from: lettre::message::Mailbox,
    /// Recipients (1–50).
    pub to: Vec<lettre::message::Mailbox>,
}

/// A checked channel with its secrets in plain text, ready to deliver.
#[derive(Debug, Clone)]
pub enum Channel {
    /// JSON POST, signed when `secret` is set.
    Webhook {
        /// Receiver.
        url: url::Url,
        /// HMAC key.
        secret: Option<String>,
    },
    /// Email.
    Email(EmailChannel),
    /// A chat robot (DingTalk, Feishu or WeCom).
    Robot {
        /// Which vendor's format.
        kind: ChannelKind,
        /// The robot's webhook.
        url: url::Url,
        /// Signing secret (DingTalk, Feishu).
        secret: Option<String>,
    },
}

fn text<'a>(c: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>, AlertError> {
    match c.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(AlertError::Invalid(format!("'{k}' must be a string"))),
    }
}

fn required<'a>(c: &'a Map<String, Value>, k: &str) -> Result<&'a str, AlertError> {
    text(c, k)?.ok_or_else(|| AlertError::Invalid(format!("'{k}' is required")))
}

fn http_url(c: &Map<String, Value>) -> Result<url::Url, AlertError> {
    let raw = required(c, "url")?;
    let u = url::Url::parse(raw).map_err(|e| AlertError::Invalid(format!("'url': {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(AlertError::Invalid(
            "'url' must be an http:// or https:// address".into(),
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(AlertError::Invalid("'url' has no host".into()));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(AlertError::Invalid(
            "'url' must not carry a user name or password".into(),
        ));
    }
    Ok(u)
}

fn mailbox(s: &str, what: &str) -> Result<lettre::message::Mailbox, AlertError> {
    s.parse()
        .map_err(|e| AlertError::Invalid(format!("'{what}': '{s}' is not a mail address ({e})")))
}

impl Channel {
    /// Checks `config` for `kind`: required keys, URL schemes, mail addresses; unknown keys are
    /// refused.
    ///
    /// # Errors
    /// [`AlertError::Invalid`] naming the key.
    pub fn parse(kind: ChannelKind, config: &Map<String, Value>) -> Result<Channel, AlertError> {
        if let Some(k) = config.keys().find(|k| !kind.keys().contains(&k.as_str())) {
            return Err(AlertError::Invalid(format!(
                "unknown key '{k}' for a {} channel (known: {})",
                kind.as_str(),
                kind.keys().join(", ")
            )));
        }
        let secret = text(config, "secret")?.map(str::to_string);
        Ok(match kind {
            ChannelKind::Webhook => Channel::Webhook {
                url: http_url(config)?,
                secret,
            },
            ChannelKind::Dingtalk | ChannelKind::Feishu | ChannelKind::Wecom => Channel::Robot {
                kind,
                url: http_url(config)?,
                secret,
            },
            ChannelKind::Email => {
                let security = match text(config, "security")?.unwrap_or("starttls") {
                    "none" => Security::None,
                    "starttls" => Security::Starttls,
                    "tls" => Security::Tls,
                    other => {
                        return Err(AlertError::Invalid(format!(
                            "'security' is none, starttls or tls, not '{other}'"
                        )))
                    }
                };
                let default_port = match security {
                    Security::None => 25,
                    Security::Starttls => 587,
                    Security::Tls => 465,
                };
                let port = match config.get("port") {
                    None | Some(Value::Null) => default_port,
                    Some(v) => v
                        .as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        .filter(|p| (1..=65535).contains(p))
                        .ok_or_else(|| AlertError::Invalid("'port' must be 1–65535".into()))?
                        as u16,
                };
                let host = required(config, "host")?;
                if host
                    .chars()
                    .any(|c| c.is_whitespace() || c == '/' || c == '@')
                {
                    return Err(AlertError::Invalid(format!(
                        "'host': '{host}' is not a host name"
                    )));
                }
                let to: Vec<_> = match config.get("to") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .ok_or_else(|| AlertError::Invalid("'to' lists strings".into()))
                                .and_then(|s| mailbox(s.trim(), "to"))
                        })
                        .collect::<Result<_, _>>()?,
                    Some(Value::String(s)) => s
                        .split(',')
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| mailbox(s.trim(), "to"))
                        .collect::<Result<_, _>>()?,
                    _ => Vec::new(),
                };
                if to.is_empty() || to.len() > 50 {
                    return Err(AlertError::Invalid("'to' lists 1 to 50 recipients".into()));
                }
                let credentials = match (text(config, "username")?, text(config, "password")?) {
                    (Some(u), Some(p)) => Some((u.to_string(), p.to_string())),
                    (Some(_), None) => {
                        return Err(AlertError::Invalid(
                            "'password' is required with 'username'".into(),
                        ))
                    }
                    _ => None,
                };
                Channel::Email(EmailChannel {
                    host: host.to_string(),
                    port,
                    security,
                    credentials,
                    from: mailbox(required(config, "from")?, "from")?,
                    to,
                })
            }
        })
    }

    /// The host and port this channel connects to.
    pub fn endpoint(&self) -> (String, u16) {
        match self {
            Channel::Webhook { url, .. } | Channel::Robot { url, .. } => (
                url.host_str()
                    .unwrap_or_default()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                url.port_or_known_default().unwrap_or(443),
            ),
            Channel::Email(e) => (e.host.clone(), e.port),
        }
    }
}

/// What an alert says; the webhook body is this object as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    /// The alert event's id (the same on every retry: receivers may deduplicate by it).
    pub event_id: String,
    /// The rule kind that raised it (`instance_failed`, …), or `test`.
    pub kind: String,
    /// Project name.
    pub project: String,
    /// Rule name (none for a test).
    pub rule: Option<String>,
    /// One line, e.g. `Job instance FAILED: orders_hourly`.
    pub title: String,
    /// Details, one fact per line.
    pub text: String,
    /// What it is about: ids and states (`job_id`, `instance_id`, `state`, `workflow_run_id`, …).
    #[schema(value_type = Object)]
    pub subject: Value,
    /// When it happened, epoch ms.
    pub at: i64,
}

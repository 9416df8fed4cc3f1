//! Delivery of one [`Message`] to one [`Channel`].

use crate::{sign, AlertError, Channel, ChannelKind, EmailChannel, Message, Security};
use serde_json::{json, Value};
use std::time::Duration;

/// How long one delivery may take (connect, send, answer).
const TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a receiver's answer read (for its error code).
const MAX_ANSWER: usize = 64 * 1024;
/// Most characters of a robot message (WeCom's markdown limit is 4096 bytes).
const ROBOT_TEXT: usize = 3000;

/// A successful delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// What the receiver answered, e.g. `HTTP 200` or `SMTP 250`.
    pub detail: String,
}

/// Delivers messages; one per server (it pools connections). Redirects are not followed (a
/// receiver cannot send alerts on to a host the admin did not allow).
#[derive(Debug, Clone)]
pub struct Sender {
    http: reqwest::Client,
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender {
    /// A sender with a 10 s time limit per delivery.
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("scaleph-alert/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS backend is compiled in");
        Self { http }
    }

    /// Delivers `msg` on `ch`.
    ///
    /// # Errors
    /// [`AlertError::Delivery`] with the receiver's status and answer, the robot's error code,
    /// the SMTP reply, or the network error.
    pub async fn send(&self, ch: &Channel, msg: &Message) -> Result<Delivered, AlertError> {
        match ch {
            Channel::Webhook { url, secret } => {
                let body = serde_json::to_vec(msg).expect("messages serialize");
                let mut req = self
                    .http
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .header("x-scaleph-event", &msg.kind)
                    .header("x-scaleph-delivery", &msg.event_id);
                if let Some(s) = secret {
                    req = req.header("x-scaleph-signature-256", sign::webhook(s, &body));
                }
                let (status, _) = self.exchange(req.body(body)).await?;
                Ok(Delivered {
                    detail: format!("HTTP {status}"),
                })
            }
            Channel::Robot { kind, url, secret } => self.robot(*kind, url, secret, msg).await,
            Channel::Email(e) => email(e, msg).await,
        }
    }

    /// Sends a request; a 2xx answer gives its status and (bounded) body.
    async fn exchange(&self, req: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), AlertError> {
        // Errors name no URL: robot URLs carry their access token.
        let mut resp = req.send().await.map_err(|e| {
            AlertError::Delivery(format!(
                "cannot reach the receiver: {}",
                chain(&e.without_url())
            ))
        })?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            let room = MAX_ANSWER - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_ANSWER {
                break;
            }
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(AlertError::Delivery(format!(
                "the receiver answered HTTP {}: {}",
                status.as_u16(),
                text.chars().take(300).collect::<String>()
            )));
        }
        Ok((status.as_u16(), body))
    }

    async fn robot(
        &self,
        kind: ChannelKind,
        url: &url::Url,
        secret: &Option<String>,
        msg: &Message,
    ) -> Result<Delivered, AlertError> {
        let text: String = msg.text.chars().take(ROBOT_TEXT).collect();
        let now_ms = chrono_now_ms();
        let mut url = url.clone();
        let body = match kind {
            ChannelKind::Dingtalk => {
                if let Some(s) = secret {
                    url.query_pairs_mut()
                        .append_pair("timestamp", &now_ms.to_string())
                        .append_pair("sign", &sign::dingtalk(s, now_ms));
                }
                json!({
                    "msgtype": "markdown",
                    "markdown": {
                        "title": msg.title,
                        "text": format!("#### {}\n\n{}", msg.title, markdown_lines(&text)),
                    },
                })
            }
            ChannelKind::Feishu => {
                let mut b = json!({
                    "msg_type": "text",
                    "content": { "text": format!("{}\n{}", msg.title, text) },
                });
                if let Some(s) = secret {
                    let ts = now_ms / 1000;
                    b["timestamp"] = json!(ts.to_string());
                    b["sign"] = json!(sign::feishu(s, ts));
                }
                b
            }
            _ => json!({
                "msgtype": "markdown",
                "markdown": {
                    "content": format!("**{}**\n{}", msg.title, text),
                },
            }),
        };
        let (status, answer) = self.exchange(self.http.post(url).json(&body)).await?;
        // The robots answer 200 with an error code in the body.
        let v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        let code = v
            .get("errcode")
            .or_else(|| v.get("code"))
            .or_else(|| v.get("StatusCode"))
            .and_then(Value::as_i64);
        match code {
            Some(0) => Ok(Delivered {
                detail: format!("HTTP {status}, code 0"),
            }),
            Some(c) => {
                let m = v
                    .get("errmsg")
                    .or_else(|| v.get("msg"))
                    .or_else(|| v.get("StatusMessage"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                Err(AlertError::Delivery(format!(
                    "the {} robot refused the message: code {c} {m}",
                    kind.as_str()
                )))
            }
            None => Err(AlertError::Delivery(format!(
                "the {} robot's answer has no result code: {}",
                kind.as_str(),
                String::from_utf8_lossy(&answer)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))),
        }
    }
}

/// Markdown line breaks for DingTalk (a single newline is not a break there).
fn markdown_lines(text: &str) -> String {
    text.lines().collect::<Vec<_>>().join("  \n")
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// An error with its causes, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

async fn email(e: &EmailChannel, msg: &Message) -> Result<Delivered, AlertError> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let mut b = lettre::Message::builder()
        .from(e.from.clone())
        .subject(format!("[scaleph] {}", msg.title));
    for to in &e.to {
        b = b.to(to.clone());
    }
    let mail = b
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(format!(
            "{}\n\n{}\n\nProject: {}\nRule: {}\nEvent: {}\n",
            msg.title,
            msg.text,
            msg.project,
            msg.rule.as_deref().unwrap_or("-"),
            msg.event_id
        ))
        .map_err(|err| AlertError::Invalid(format!("cannot build the mail: {err}")))?;
    let builder = match e.security {
        Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&e.host),
        Security::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&e.host)
            .map_err(|err| AlertError::Invalid(format!("'host': {err}")))?,
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&e.host)
            .map_err(|err| AlertError::Invalid(format!("'host': {err}")))?,
    };
    let mut builder = builder.port(e.port).timeout(Some(TIMEOUT));
    if let Some((u, p)) = &e.credentials {
        builder = builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
            u.clone(),
            p.clone(),
        ));
    }
    let transport = builder.build();
    let sent = tokio::time::timeout(TIMEOUT * 2, transport.send(mail)).await;
    match sent {
        Ok(Ok(r)) => Ok(Delivered {
            detail: format!("SMTP {}", r.code()),
        }),
        Ok(Err(err)) => Err(AlertError::Delivery(format!(
            "SMTP {}:{}: {}",
            e.host,
            e.port,
            chain(&err)
        ))),
        Err(_) => Err(AlertError::Delivery(format!(
            "SMTP {}:{}: no answer within {} s",
            e.host,
            e.port,
            (TIMEOUT * 2).as_secs()
        ))),
    }
}

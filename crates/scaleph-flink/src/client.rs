use crate::types::*;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// Client errors; the variant says whose fault.
#[derive(Debug, thiserror::Error)]
pub enum FlinkError {
    /// The JobManager did not answer (connection refused, timeout).
    #[error("Flink JobManager unreachable: {0}")]
    Unreachable(String),
    /// Flink answered an error: `root_cause` is the last `Caused by:` line of its text.
    #[error("Flink answered {status}: {root_cause}")]
    Api {
        /// HTTP status.
        status: u16,
        /// One line naming the cause.
        root_cause: String,
        /// Flink's `errors` array as answered.
        errors: Vec<String>,
    },
    /// The answer was not the expected JSON.
    #[error("unexpected answer from Flink: {0}")]
    Decode(String),
}

impl FlinkError {
    /// True for 404 (unknown job, jar or trigger).
    pub fn is_not_found(&self) -> bool {
        matches!(self, FlinkError::Api { status: 404, .. })
    }
}

/// Result alias.
pub type Result<T, E = FlinkError> = std::result::Result<T, E>;

/// The last `Caused by: X: message` line of a Java stack trace, or its first line.
pub fn root_cause(text: &str) -> String {
    let line = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Caused by: "))
        .next_back()
        .unwrap_or_else(|| text.lines().next().unwrap_or(text));
    line.trim().to_string()
}

/// A JobManager REST endpoint, e.g. `http://jm:8081`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct FlinkClient {
    base: String,
    http: reqwest::Client,
    auth: Option<String>,
}

impl FlinkClient {
    /// A client of `base` (no trailing `/v1`); `auth` is sent as the `Authorization` header.
    /// Requests time out after `timeout`.
    pub fn new(base: &str, auth: Option<String>, timeout: Duration) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(3)))
                .build()
                .expect("reqwest client"),
            auth,
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn req(&self, m: Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(m, format!("{}{path}", self.base));
        match &self.auth {
            Some(a) => r.header(reqwest::header::AUTHORIZATION, a),
            None => r,
        }
    }

    async fn send(&self, r: reqwest::RequestBuilder) -> Result<(StatusCode, String)> {
        let resp = r
            .send()
            .await
            .map_err(|e| FlinkError::Unreachable(without_url(&e)))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| FlinkError::Unreachable(without_url(&e)))?;
        if !status.is_success() {
            let errors: Vec<String> = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| serde_json::from_value(v["errors"].clone()).ok())
                .unwrap_or_else(|| vec![text.clone()]);
            return Err(FlinkError::Api {
                status: status.as_u16(),
                root_cause: root_cause(&errors.join("\n")),
                errors,
            });
        }
        Ok((status, text))
    }

    async fn json<T: DeserializeOwned>(&self, r: reqwest::RequestBuilder) -> Result<T> {
        let (_, text) = self.send(r).await?;
        serde_json::from_str(&text).map_err(|e| FlinkError::Decode(format!("{e}: {}", clip(&text))))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.json(self.req(Method::GET, path)).await
    }

    /// `GET /overview`: TaskManagers, slots, version.
    pub async fn overview(&self) -> Result<ClusterOverview> {
        self.get("/overview").await
    }

    /// `GET /config`: the web UI configuration (version, features).
    pub async fn config(&self) -> Result<Value> {
        self.get("/config").await
    }

    /// `POST /jars/upload`; returns the jar id (the uploaded file's name).
    pub async fn upload_jar(&self, path: &Path) -> Result<String> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| FlinkError::Decode(format!("cannot read {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "job.jar".into());
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name)
            .mime_str("application/x-java-archive")
            .map_err(|e| FlinkError::Decode(e.to_string()))?;
        let form = reqwest::multipart::Form::new().part("jarfile", part);
        let v: Value = self
            .json(self.req(Method::POST, "/jars/upload").multipart(form))
            .await?;
        let file = v["filename"]
            .as_str()
            .ok_or_else(|| FlinkError::Decode(format!("no filename in {v}")))?;
        Ok(file.rsplit('/').next().unwrap_or(file).to_string())
    }

    /// `GET /jars`: ids of the uploaded jars.
    pub async fn jar_ids(&self) -> Result<Vec<String>> {
        let v: Value = self.get("/jars").await?;
        Ok(v["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["id"].as_str().map(str::to_string))
            .collect())
    }

    /// `DELETE /jars/{id}`.
    pub async fn delete_jar(&self, id: &str) -> Result<()> {
        self.send(self.req(Method::DELETE, &format!("/jars/{id}")))
            .await
            .map(|_| ())
    }

    /// `POST /jars/{id}/run`; returns the job id.
    pub async fn run_jar(&self, jar_id: &str, run: &JarRun) -> Result<String> {
        let v: Value = self
            .json(
                self.req(Method::POST, &format!("/jars/{jar_id}/run"))
                    .json(run),
            )
            .await?;
        v["jobid"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| FlinkError::Decode(format!("no jobid in {v}")))
    }

    /// `GET /jobs/overview`: every job the JobManager knows, in one call.
    pub async fn jobs_overview(&self) -> Result<Vec<JobOverview>> {
        Ok(self.get::<JobsOverview>("/jobs/overview").await?.jobs)
    }

    /// `GET /jobs/{id}`: details with vertices.
    pub async fn job(&self, id: &str) -> Result<Value> {
        self.get(&format!("/jobs/{id}")).await
    }

    /// `GET /jobs/{id}/plan`.
    pub async fn job_plan(&self, id: &str) -> Result<Value> {
        self.get(&format!("/jobs/{id}/plan")).await
    }

    /// `GET /jobs/{id}/config`.
    pub async fn job_config(&self, id: &str) -> Result<Value> {
        self.get(&format!("/jobs/{id}/config")).await
    }

    /// `GET /jobs/{id}/exceptions`: the exception history, newest first.
    pub async fn exceptions(&self, id: &str) -> Result<JobExceptions> {
        self.get(&format!("/jobs/{id}/exceptions")).await
    }

    /// `GET /jobs/{id}/checkpoints`: counts, summary, latest and history.
    pub async fn checkpoints(&self, id: &str) -> Result<Value> {
        self.get(&format!("/jobs/{id}/checkpoints")).await
    }

    /// `GET /jobs/{id}/vertices/{vertex}/metrics?get=…`: `[{id, value}]`.
    pub async fn vertex_metrics(&self, id: &str, vertex: &str, names: &[&str]) -> Result<Value> {
        self.get(&format!(
            "/jobs/{id}/vertices/{vertex}/metrics?get={}",
            names.join(",")
        ))
        .await
    }

    /// `GET /jobs/{id}/vertices/{vertex}/subtasks/metrics?get=…&agg=sum`: metrics summed over
    /// the vertex's subtasks, `[{id, sum}]` (e.g. `numRecordsInPerSecond`).
    pub async fn subtask_metrics_sum(
        &self,
        id: &str,
        vertex: &str,
        names: &[&str],
    ) -> Result<Value> {
        self.get(&format!(
            "/jobs/{id}/vertices/{vertex}/subtasks/metrics?get={}&agg=sum",
            names.join(",")
        ))
        .await
    }

    /// `GET /jobs/{id}/vertices/{vertex}/backpressure`.
    pub async fn backpressure(&self, id: &str, vertex: &str) -> Result<Value> {
        self.get(&format!("/jobs/{id}/vertices/{vertex}/backpressure"))
            .await
    }

    /// `GET /jobs/{id}/metrics?get=…`.
    pub async fn job_metrics(&self, id: &str, names: &[&str]) -> Result<Value> {
        self.get(&format!("/jobs/{id}/metrics?get={}", names.join(",")))
            .await
    }

    /// `PATCH /jobs/{id}?mode=cancel`.
    pub async fn cancel(&self, id: &str) -> Result<()> {
        self.send(self.req(Method::PATCH, &format!("/jobs/{id}?mode=cancel")))
            .await
            .map(|_| ())
    }

    /// `POST /jobs/{id}/stop`: stop with a savepoint (optionally draining); returns the
    /// trigger id to poll with [`FlinkClient::savepoint_status`].
    pub async fn stop_with_savepoint(
        &self,
        id: &str,
        dir: Option<&str>,
        drain: bool,
    ) -> Result<String> {
        let body = json!({"targetDirectory": dir, "drain": drain});
        self.trigger(
            self.req(Method::POST, &format!("/jobs/{id}/stop"))
                .json(&body),
        )
        .await
    }

    /// `POST /jobs/{id}/savepoints`: trigger a savepoint; returns the trigger id.
    pub async fn trigger_savepoint(&self, id: &str, dir: Option<&str>) -> Result<String> {
        let body = json!({"target-directory": dir, "cancel-job": false});
        self.trigger(
            self.req(Method::POST, &format!("/jobs/{id}/savepoints"))
                .json(&body),
        )
        .await
    }

    async fn trigger(&self, r: reqwest::RequestBuilder) -> Result<String> {
        let v: Value = self.json(r).await?;
        v["request-id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| FlinkError::Decode(format!("no request-id in {v}")))
    }

    /// `GET /jobs/{id}/savepoints/{trigger}`: state of a stop or savepoint trigger.
    pub async fn savepoint_status(&self, id: &str, trigger: &str) -> Result<Operation> {
        let v: Value = self
            .get(&format!("/jobs/{id}/savepoints/{trigger}"))
            .await?;
        Ok(operation(&v))
    }

    /// Polls a trigger every `every` until it completes or fails, at most `limit`.
    pub async fn wait_savepoint(
        &self,
        id: &str,
        trigger: &str,
        every: Duration,
        limit: Duration,
    ) -> Result<Operation> {
        let t0 = std::time::Instant::now();
        loop {
            match self.savepoint_status(id, trigger).await? {
                Operation::InProgress if t0.elapsed() < limit => tokio::time::sleep(every).await,
                Operation::InProgress => {
                    return Ok(Operation::Failed(format!(
                        "still in progress after {} s",
                        limit.as_secs()
                    )))
                }
                done => return Ok(done),
            }
        }
    }

    /// `POST /savepoint-disposal` and its polling: deletes a savepoint's files.
    pub async fn dispose_savepoint(&self, path: &str, limit: Duration) -> Result<Operation> {
        let trigger = self
            .trigger(
                self.req(Method::POST, "/savepoint-disposal")
                    .json(&json!({"savepoint-path": path})),
            )
            .await?;
        let t0 = std::time::Instant::now();
        loop {
            let v: Value = self.get(&format!("/savepoint-disposal/{trigger}")).await?;
            match operation(&v) {
                Operation::InProgress if t0.elapsed() < limit => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                op => return Ok(op),
            }
        }
    }

    /// `GET /taskmanagers`.
    pub async fn taskmanagers(&self) -> Result<Vec<TaskManager>> {
        let v: Value = self.get("/taskmanagers").await?;
        serde_json::from_value(v["taskmanagers"].clone())
            .map_err(|e| FlinkError::Decode(e.to_string()))
    }

    /// `GET /taskmanagers/{tm}/stdout` (text: what `print` sinks wrote).
    pub async fn taskmanager_stdout(&self, tm: &str) -> Result<String> {
        Ok(self
            .send(self.req(Method::GET, &format!("/taskmanagers/{tm}/stdout")))
            .await?
            .1)
    }

    /// `GET /taskmanagers/{tm}/log` (text).
    pub async fn taskmanager_log(&self, tm: &str) -> Result<String> {
        Ok(self
            .send(self.req(Method::GET, &format!("/taskmanagers/{tm}/log")))
            .await?
            .1)
    }

    /// `GET /taskmanagers/{tm}/logs`: the TaskManager's log files `[{name, size}]`.
    pub async fn taskmanager_logs(&self, tm: &str) -> Result<Value> {
        self.get(&format!("/taskmanagers/{tm}/logs")).await
    }

    /// `GET /jobmanager/log` (text).
    pub async fn jobmanager_log(&self) -> Result<String> {
        Ok(self.send(self.req(Method::GET, "/jobmanager/log")).await?.1)
    }

    /// `GET /jobmanager/logs`: log files `[{name, size}]`.
    pub async fn jobmanager_logs(&self) -> Result<Value> {
        self.get("/jobmanager/logs").await
    }
}

fn operation(v: &Value) -> Operation {
    match v["status"]["id"].as_str() {
        Some("COMPLETED") => {
            let op = &v["operation"];
            if let Some(cause) = op.get("failure-cause").filter(|c| !c.is_null()) {
                let text = cause["stack-trace"]
                    .as_str()
                    .or(cause["serialized-throwable"].as_str())
                    .map(root_cause)
                    .unwrap_or_else(|| cause.to_string());
                Operation::Failed(text)
            } else {
                Operation::Completed(op["location"].as_str().map(str::to_string))
            }
        }
        _ => Operation::InProgress,
    }
}

fn clip(s: &str) -> String {
    s.chars().take(300).collect()
}

/// reqwest's message with its causes ("connection refused" is in a source).
fn without_url(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_cause_is_the_last_caused_by() {
        let t = "org.x.RestHandlerException: Could not execute application.\n\tat a.b\nCaused by: java.util.concurrent.CompletionException: wrapped\nCaused by: org.apache.flink.table.api.ValidationException: Column 'nope' not found\n\tat c.d";
        assert_eq!(
            super::root_cause(t),
            "org.apache.flink.table.api.ValidationException: Column 'nope' not found"
        );
        assert_eq!(super::root_cause("plain"), "plain");
    }
}

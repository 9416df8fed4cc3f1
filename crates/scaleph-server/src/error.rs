//! The one API error type: RFC 9457 `application/problem+json`.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scaleph_engine::EngineError;
use scaleph_meta::StoreError;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

/// Media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The problem document of an error answer (RFC 9457), for the OpenAPI document. SQL errors
/// add `line`, `column`, `kind` and `message`; other members may be added.
#[derive(Debug, serde::Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    kind: String,
    /// The status's reason phrase (`Not Found`).
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong, naming the field or parameter.
    detail: String,
}

/// An error answered as `application/problem+json`: `{type, title, status, detail, …}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    extra: Map<String, Value>,
    headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    /// An error with a status and a message naming the problem.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            extra: Map::new(),
            headers: Vec::new(),
        }
    }

    /// 401 with `WWW-Authenticate: Bearer` (RFC 6750).
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
            .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"scaleph\"")
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The message.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, what)
    }

    /// 422: well-formed request with invalid content.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    /// 409.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// Adds a member to the problem document.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The problem document (RFC 9457) the response would carry.
    pub fn problem(&self) -> Value {
        let mut body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Value::Object(m) = &mut body {
            for (k, v) in &self.extra {
                m.insert(k.clone(), v.clone());
            }
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.problem();
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, PROBLEM_JSON)],
            body.to_string(),
        )
            .into_response();
        for (name, value) in self.headers {
            if let Ok(v) = header::HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(w) => ApiError::not_found(format!("{w} not found")),
            StoreError::Conflict(m) => ApiError::conflict(m),
            StoreError::IllegalTransition(t) => ApiError::conflict(format!(
                "job instance is {}; cannot move to {}",
                t.from, t.to
            )),
            StoreError::Invalid(m) => ApiError::invalid(m),
            StoreError::Database(m) => {
                tracing::error!(error = %m, "store error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Sql(s) => ApiError::invalid(s.to_string())
                .with("line", s.pos.line)
                .with("column", s.pos.column)
                .with("kind", serde_json::to_value(s.kind).unwrap_or(Value::Null))
                .with("message", s.message),
            EngineError::Execution(m) => ApiError::invalid(m),
            EngineError::Timeout(d) => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("query timed out after {} ms", d.as_millis()),
            ),
            EngineError::Cancelled => ApiError::conflict("cancelled"),
            EngineError::Internal(m) => {
                tracing::error!(error = %m, "engine internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

/// `Json<T>` whose rejections are problem documents: 400 malformed JSON, 413 body too large,
/// 415 wrong content type, 422 JSON of the wrong shape (the message names the field).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rej| {
                if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "request body is larger than the limit",
                    )
                } else {
                    ApiError::new(rej.status(), rej.body_text())
                }
            })?;
        // Every request body of this API is a JSON object; serde would also read a struct
        // from an array by position (`[null, null]`), which the OpenAPI schema does not allow.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
            && serde_json::from_slice::<Value>(&bytes).is_ok()
        {
            return Err(ApiError::invalid(
                "invalid request body: expected a JSON object",
            ));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                // JSON Schema counts `29.0` as an integer; accept it where one is expected.
                if let JsonRejection::JsonDataError(_) = &rej {
                    if let Some(v) = serde_json::from_slice::<Value>(&bytes)
                        .ok()
                        .map(integral_floats_as_integers)
                        .and_then(|v| serde_json::from_value::<T>(v).ok())
                    {
                        return Ok(ApiJson(v));
                    }
                }
                Err(match &rej {
                    JsonRejection::JsonDataError(e) => ApiError::invalid(format!(
                        "invalid request body: {}",
                        e.body_text().trim_start_matches(
                            "Failed to deserialize the JSON body into the target type: "
                        )
                    )),
                    JsonRejection::JsonSyntaxError(e) => ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "malformed JSON: {}",
                            e.body_text()
                                .trim_start_matches("Failed to parse the request body as JSON: ")
                        ),
                    ),
                    _ => ApiError::new(rej.status(), rej.body_text()),
                })
            }
        }
    }
}

/// `application/json` or `application/*+json`, as axum's `Json` requires.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `v` with every float that has no fractional part (and fits an `i64`) as an integer.
fn integral_floats_as_integers(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(integral_floats_as_integers).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, integral_floats_as_integers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// `Query<T>` with problem-document rejections (400, naming the parameter).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(ApiQuery(q.0)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                Err(ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
            }
            Err(e) => Err(ApiError::new(e.status(), e.body_text())),
        }
    }
}

/// `Path<T>` with problem-document rejections: 400 naming the parameter that does not parse.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let e = match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(p) => return Ok(ApiPath(p.0)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => e,
            Err(e) => return Err(ApiError::new(e.status(), e.body_text())),
        };
        let detail = match e.kind() {
            // Tuple extractors know the position only: name the parameter from the route.
            ErrorKind::ParseErrorAtIndex {
                index,
                value,
                expected_type,
            } => {
                let raw = RawPathParams::from_request_parts(parts, state).await;
                let name = raw
                    .ok()
                    .and_then(|r| r.iter().nth(*index).map(|(k, _)| k.to_owned()))
                    .unwrap_or_else(|| index.to_string());
                format!("path parameter '{name}': cannot parse '{value}' as {expected_type}")
            }
            _ => format!("invalid path parameter: {}", e.body_text()),
        };
        Err(ApiError::new(StatusCode::BAD_REQUEST, detail))
    }
}

/// Largest error body [`problem_responses`] rewrites; longer ones become the reason phrase.
const MAX_REWRITTEN: usize = 8 * 1024;

/// Middleware: an error answer (4xx/5xx) that is not already a problem document — axum's own
/// 405 and rejections outside the API handlers, a layer's refusal — becomes one, with the same
/// status and headers (`Allow`, `Retry-After`, …) and the original text as `detail`.
pub async fn problem_responses(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, MAX_REWRITTEN)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let mut out = ApiError::new(status, text).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out.extensions_mut().extend(parts.extensions);
    out
}

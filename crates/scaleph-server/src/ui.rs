//! The web UI: the files of `web/dist`, embedded in the binary at build time (rust-embed with
//! `debug-embed`, so debug builds too; `build.rs` builds them first), with `index.html` for
//! every other non-API path (client-side routing). When the UI was not built, a page says how
//! to build it.

use crate::error::ApiError;
use axum::http::{header, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../../web/dist/"]
#[allow_missing = true]
struct Assets;

const NOT_BUILT: &str =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>scaleph</title></head>\
<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>scaleph</h1>\
<p>The web UI was not built into this binary. Build it with Node.js 20+:</p>\
<pre>npm --prefix web install &amp;&amp; npm --prefix web run build</pre>\
<p>then rebuild and restart <code>scaleph serve</code>. The REST API is \
at <a href=\"/swagger-ui\">/swagger-ui</a>.</p></body></html>";

/// Fallback of the router: unknown `/api/…` paths get a 404 problem; anything else is a UI
/// file, or `index.html`.
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("api/") {
        return ApiError::not_found("no such route").into_response();
    }
    if let Some(f) = Assets::get(path).filter(|_| !path.is_empty()) {
        let cache = if path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return (
            [
                (header::CONTENT_TYPE, f.metadata.mimetype().to_string()),
                (header::CACHE_CONTROL, cache.to_string()),
            ],
            f.data,
        )
            .into_response();
    }
    match Assets::get("index.html") {
        Some(f) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], f.data).into_response(),
        None => (StatusCode::OK, Html(NOT_BUILT)).into_response(),
    }
}

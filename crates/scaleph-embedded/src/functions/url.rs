//! Flink's URL functions: `URL_ENCODE`, `URL_DECODE`, `PARSE_URL`.
//!
//! `URL_ENCODE`/`URL_DECODE` are Java's `URLEncoder`/`URLDecoder` in UTF-8
//! (`application/x-www-form-urlencoded`: `a-zA-Z0-9.-*_` kept, space ↔ `+`, the rest `%XX`);
//! a malformed escape decodes to NULL, as in Flink. `PARSE_URL(url, part [, key])` splits the
//! URL as `java.net.URL` does (RFC 2396: `protocol://userinfo@host:port/path?query#ref`) for
//! the protocols a JVM knows (`http`, `https`, `ftp`, `file`, `jar`, `mailto`) and answers
//! `HOST`, `PATH`, `QUERY`, `REF`, `PROTOCOL`, `FILE`, `AUTHORITY` or `USERINFO`; with a key,
//! the first `key=value` of the query. A URL Java refuses, or an unknown part, gives NULL.

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::fmt::Write;
use std::sync::Arc;

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum UrlFn {
    /// `url_encode(s)`.
    Encode,
    /// `url_decode(s)`.
    Decode,
    /// `parse_url(url, part [, key])`.
    Parse,
}

/// One of [`UrlFn`] as a DataFusion UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct UrlUdf {
    kind: UrlFn,
    signature: Signature,
}

impl UrlUdf {
    pub(crate) fn new(kind: UrlFn) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for UrlUdf {
    fn name(&self) -> &str {
        match self.kind {
            UrlFn::Encode => "url_encode",
            UrlFn::Decode => "url_decode",
            UrlFn::Parse => "parse_url",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        let ok = match self.kind {
            UrlFn::Encode | UrlFn::Decode => t.len() == 1,
            UrlFn::Parse => (2..=3).contains(&t.len()),
        };
        if !ok {
            return plan_err!(
                "{}: wrong number of arguments ({})",
                self.name().to_uppercase(),
                t.len()
            );
        }
        Ok(vec![DataType::Utf8; t.len()])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = super::arg_arrays(&args)?;
        let strs: Vec<_> = arrays.iter().map(|a| a.as_string::<i32>()).collect();
        let mut b = StringBuilder::with_capacity(n, n * 16);
        for r in 0..n {
            if strs.iter().any(|s| s.is_null(r)) {
                b.append_null();
                continue;
            }
            let s = strs[0].value(r);
            b.append_option(match self.kind {
                UrlFn::Encode => Some(encode(s)),
                UrlFn::Decode => decode(s),
                UrlFn::Parse => {
                    let key = strs.get(2).map(|k| k.value(r));
                    parse_url(s, strs[1].value(r), key)
                }
            });
        }
        Ok(ColumnarValue::Array(Arc::new(b.finish())))
    }
}

/// Java's `URLEncoder.encode(s, UTF_8)`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Java's `URLDecoder.decode(s, UTF_8)`; `None` where Java throws (a bad `%` escape).
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                if hex.starts_with(['+', '-']) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The parts of a URL as `java.net.URL` splits it.
struct Url<'a> {
    protocol: String,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    reference: Option<&'a str>,
}

fn split_url(s: &str) -> Option<Url<'_>> {
    let s = s.trim();
    let colon = s.find(':')?;
    let scheme = &s[..colon];
    let valid = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let protocol = scheme.to_ascii_lowercase();
    if !valid
        || !matches!(
            protocol.as_str(),
            "http" | "https" | "ftp" | "file" | "jar" | "mailto"
        )
    {
        return None;
    }
    let mut rest = &s[colon + 1..];
    let mut reference = None;
    if let Some(h) = rest.find('#') {
        reference = Some(&rest[h + 1..]);
        rest = &rest[..h];
    }
    let mut authority = None;
    if let Some(r) = rest.strip_prefix("//") {
        let end = r.find(['/', '?']).unwrap_or(r.len());
        authority = Some(&r[..end]);
        rest = &r[end..];
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if let Some(a) = authority {
        let host_port = a.rsplit_once('@').map_or(a, |(_, h)| h);
        let port = if host_port.starts_with('[') {
            let close = host_port.find(']')?;
            host_port[close + 1..].strip_prefix(':')
        } else {
            host_port.rsplit_once(':').map(|(_, p)| p)
        };
        if port.is_some_and(|p| !p.is_empty() && !p.bytes().all(|c| c.is_ascii_digit())) {
            return None;
        }
    }
    Some(Url {
        protocol,
        authority,
        path,
        query,
        reference,
    })
}

/// Flink's `PARSE_URL`.
fn parse_url(s: &str, part: &str, key: Option<&str>) -> Option<String> {
    let u = split_url(s)?;
    if let Some(key) = key {
        if part != "QUERY" {
            return None;
        }
        return u.query?.split('&').find_map(|kv| {
            kv.strip_prefix(key)
                .and_then(|v| v.strip_prefix('='))
                .map(str::to_string)
        });
    }
    let host = || {
        let a = u.authority.unwrap_or("");
        let hp = a.rsplit_once('@').map_or(a, |(_, h)| h);
        if hp.starts_with('[') {
            hp[..=hp.find(']').unwrap_or(hp.len() - 1)].to_string()
        } else {
            hp.rsplit_once(':').map_or(hp, |(h, _)| h).to_string()
        }
    };
    Some(match part {
        "HOST" => host(),
        "PATH" => u.path.to_string(),
        "QUERY" => u.query?.to_string(),
        "REF" => u.reference?.to_string(),
        "PROTOCOL" => u.protocol.clone(),
        "FILE" => match u.query {
            Some(q) => format!("{}?{q}", u.path),
            None => u.path.to_string(),
        },
        "AUTHORITY" => u.authority?.to_string(),
        "USERINFO" => u.authority?.rsplit_once('@')?.0.to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_javas() {
        assert_eq!(encode("a b&c/é~*"), "a+b%26c%2F%C3%A9%7E*");
        assert_eq!(decode("a+b%26c%2F%C3%A9").as_deref(), Some("a b&c/é"));
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%4"), None);
    }

    #[test]
    fn urls_split_as_java_splits_them() {
        let u = "http://u:p@ex.com:8080/p/q?k1=v1&k2=v2#frag";
        let part = |p: &str| parse_url(u, p, None);
        assert_eq!(part("HOST").as_deref(), Some("ex.com"));
        assert_eq!(part("PATH").as_deref(), Some("/p/q"));
        assert_eq!(part("QUERY").as_deref(), Some("k1=v1&k2=v2"));
        assert_eq!(part("REF").as_deref(), Some("frag"));
        assert_eq!(part("AUTHORITY").as_deref(), Some("u:p@ex.com:8080"));
        assert_eq!(part("FILE").as_deref(), Some("/p/q?k1=v1&k2=v2"));
        assert_eq!(part("USERINFO").as_deref(), Some("u:p"));
        assert_eq!(parse_url(u, "QUERY", Some("k2")).as_deref(), Some("v2"));
        assert_eq!(
            parse_url("HTTP://EX.COM:80/a", "HOST", None).as_deref(),
            Some("EX.COM")
        );
        assert_eq!(
            parse_url("https://ex.com", "PATH", None).as_deref(),
            Some("")
        );
        assert_eq!(parse_url("foo://ex.com/p", "HOST", None), None);
        assert_eq!(parse_url("not a url", "HOST", None), None);
        assert_eq!(
            parse_url("http://[::1]:8/p", "HOST", None).as_deref(),
            Some("[::1]")
        );
        assert_eq!(
            parse_url("mailto:a@b.c", "PATH", None).as_deref(),
            Some("a@b.c")
        );
    }
}

//! Signatures of outgoing alerts.
//!
//! - Webhook: `sha256=` + lower-case hex of HMAC-SHA256(key = secret, message = body), sent as
//!   `X-Scaleph-Signature-256` (GitHub's `X-Hub-Signature-256` convention; HMAC: RFC 2104).
//! - DingTalk robot "加签": base64 of HMAC-SHA256(key = secret, message = `"{ms}\n{secret}"`),
//!   appended URL-encoded as `&timestamp={ms}&sign=…` (DingTalk open platform, custom robot
//!   security settings).
//! - Feishu custom bot: base64 of HMAC-SHA256(key = `"{s}\n{secret}"`, message = empty), sent
//!   with `timestamp` (seconds) in the body (Feishu open platform, custom bot signature check).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The webhook signature header value, `sha256=<64 hex digits>`.
pub fn webhook(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex(&hmac_sha256(secret.as_bytes(), body)))
}

/// DingTalk's `sign` for `timestamp_ms` (base64, not yet URL-encoded).
pub fn dingtalk(secret: &str, timestamp_ms: i64) -> String {
    let msg = format!("{timestamp_ms}\n{secret}");
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(secret.as_bytes(), msg.as_bytes()))
}

/// Feishu's `sign` for `timestamp_s` (base64).
pub fn feishu(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key.as_bytes(), b""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        assert_eq!(
            webhook("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn robot_signatures_key_and_message_as_documented() {
        // Key and message swapped would give another value: both are checked against the
        // plain HMAC of the documented inputs.
        let d = dingtalk("SECxyz", 1_700_000_000_000);
        let raw = hmac_sha256(b"SECxyz", b"1700000000000\nSECxyz");
        assert_eq!(d, base64::engine::general_purpose::STANDARD.encode(raw));
        let f = feishu("s3", 1_700_000_000);
        let raw = hmac_sha256(b"1700000000\ns3", b"");
        assert_eq!(f, base64::engine::general_purpose::STANDARD.encode(raw));
        assert_ne!(f, feishu("s3", 1_700_000_001));
    }
}

//! Credential material: argon2id password hashes, random bearer secrets stored as SHA-256
//! digests, constant-time comparison.
//!
//! Passwords use argon2id with the `argon2` crate's defaults (19 MiB, 2 passes, 1 lane — the
//! OWASP Password Storage Cheat Sheet minimum) in PHC string format. API tokens and session ids
//! are 192-bit random values; being unguessable, they are stored as plain SHA-256 digests
//! (a slow hash adds nothing there) and looked up by digest.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of personal access tokens, so that leaked tokens are recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "sph_";

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The password breaks the policy (user's fault).
    #[error("password must be at least {MIN_PASSWORD_LEN} characters")]
    WeakPassword,
    /// A stored hash is not a valid PHC string (a corrupted row).
    #[error("stored password hash is invalid: {0}")]
    BadHash(String),
}

/// Hashes `password` with argon2id and a fresh salt; returns the PHC string.
///
/// # Errors
/// [`SecretError::WeakPassword`] when shorter than [`MIN_PASSWORD_LEN`].
pub fn hash_password(password: &str) -> Result<String, SecretError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(SecretError::WeakPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SecretError::BadHash(e.to_string()))
}

/// True when `password` matches the PHC string `hash` (argon2's comparison is constant-time).
///
/// # Errors
/// [`SecretError::BadHash`] when `hash` does not parse.
pub fn verify_password(password: &str, hash: &str) -> Result<bool, SecretError> {
    let parsed = PasswordHash::new(hash).map_err(|e| SecretError::BadHash(e.to_string()))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// Spends the time of one password verification, for unknown user names, so that response
/// time does not tell which names exist.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default());
    let _ = verify_password(password, hash);
}

/// A random value (24 bytes, URL-safe base64 without padding: 32 characters).
pub fn random_secret() -> String {
    let mut b = [0u8; 24];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A new personal access token: `sph_` + 32 random characters. Returns (token, digest).
pub fn new_token() -> (String, String) {
    let t = format!("{TOKEN_PREFIX}{}", random_secret());
    let d = digest(&t);
    (t, d)
}

/// SHA-256 of `s`, lower-case hex: how tokens and session ids are stored.
pub fn digest(s: &str) -> String {
    let h = Sha256::digest(s.as_bytes());
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time independent of where they differ.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h).unwrap());
        assert!(!verify_password("correct horsf", &h).unwrap());
        assert_ne!(h, hash_password("correct horse").unwrap(), "salted");
        assert!(matches!(
            hash_password("short"),
            Err(SecretError::WeakPassword)
        ));
        assert!(verify_password("x", "not a hash").is_err());
    }

    #[test]
    fn tokens_are_random_and_stored_as_digests() {
        let (t1, d1) = new_token();
        let (t2, _) = new_token();
        assert!(t1.starts_with("sph_") && t1.len() == 36);
        assert_ne!(t1, t2);
        assert_eq!(d1, digest(&t1));
        assert_eq!(d1.len(), 64);
        assert!(ct_eq(&t1, &t1.clone()) && !ct_eq(&t1, &t2) && !ct_eq("a", "ab"));
    }
}

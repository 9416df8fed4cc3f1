//! Secrets at rest.
//!
//! Credentials the platform stores (datasource passwords, later cluster credentials) are sealed
//! with XChaCha20-Poly1305 (ChaCha20-Poly1305 of RFC 8439 with 192-bit random nonces,
//! draft-irtf-cfrg-xchacha; implementation: the RustCrypto `chacha20poly1305` crate) under one
//! 256-bit platform key. A sealed value is text:
//!
//! ```text
//! enc:v1:<key id, 8 hex>:<base64(nonce (24 bytes) ‖ ciphertext ‖ tag (16 bytes))>
//! ```
//!
//! The key comes from `SCALEPH_SECRET_KEY` (base64 of 32 bytes) or from a key file
//! (`<data dir>/secret.key`, base64, created with mode 0600 when missing). The key id names
//! the key a value was sealed with, so a wrong key is reported as such, not as corrupt data.
#![warn(missing_docs)]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use std::fmt;
use std::io::Write;
use std::path::Path;

const PREFIX: &str = "enc:v1:";

/// Errors of key handling and decryption.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The configured key is malformed (user's fault).
    #[error("invalid secret key: {0}")]
    InvalidKey(String),
    /// A key file is readable or writable by others.
    #[error("secret key file {path} has mode {mode:o}; it must be 0600 (chmod 600 {path})")]
    Permissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The value was sealed with another key.
    #[error("secret was sealed with key {sealed_with}, but the current key is {current}")]
    WrongKey {
        /// Key id in the value.
        sealed_with: String,
        /// Key id of the current key.
        current: String,
    },
    /// The value is not a sealed secret or was altered.
    #[error("secret cannot be decrypted: {0}")]
    Corrupt(String),
    /// Reading or writing a key file failed.
    #[error("key file I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// The platform key.
#[derive(Clone)]
pub struct Keyring {
    cipher: XChaCha20Poly1305,
    key: [u8; 32],
    id: String,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keyring({})", self.id)
    }
}

impl Keyring {
    /// A new random key (from the operating system's CSPRNG).
    pub fn generate() -> Keyring {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        Self::from_bytes(key.into())
    }

    fn from_bytes(key: [u8; 32]) -> Keyring {
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&key));
        // Id: the first 4 bytes of the tag over a fixed text with the all-zero nonce; reveals
        // nothing about the key, identifies it.
        let tag = cipher
            .encrypt(XNonce::from_slice(&[0u8; 24]), b"scaleph key id".as_ref())
            .expect("encryption of a fixed text");
        let id = tag[tag.len() - 4..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Keyring { cipher, key, id }
    }

    /// A key from base64 text (32 bytes).
    ///
    /// # Errors
    /// [`SecretError::InvalidKey`] for bad base64 or a length other than 32 bytes.
    pub fn from_base64(text: &str) -> Result<Keyring, SecretError> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|e| SecretError::InvalidKey(format!("not base64: {e}")))?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            SecretError::InvalidKey(format!(
                "{} bytes; a key has 32 (base64 of 32 random bytes)",
                b.len()
            ))
        })?;
        Ok(Self::from_bytes(key))
    }

    /// The key as base64 text.
    pub fn to_base64(&self) -> String {
        B64.encode(self.key)
    }

    /// 8 hex digits naming this key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads a key file, refusing files that others may read or write.
    ///
    /// # Errors
    /// I/O errors, [`SecretError::Permissions`], [`SecretError::InvalidKey`].
    pub fn read_file(path: &Path) -> Result<Keyring, SecretError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(SecretError::Permissions {
                    path: path.display().to_string(),
                    mode,
                });
            }
        }
        Self::from_base64(&std::fs::read_to_string(path)?)
    }

    /// Writes the key to `path` with mode 0600 (through a temporary file and a rename, so a crash
    /// never leaves a half-written key).
    ///
    /// # Errors
    /// I/O errors.
    pub fn write_file(&self, path: &Path) -> Result<(), SecretError> {
        let tmp = path.with_extension("tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        writeln!(f, "{}", self.to_base64())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// The platform key: `env` (the value of `SCALEPH_SECRET_KEY`) if given, else the key file
    /// at `path`, created when missing. Returns the key and whether it was just created.
    ///
    /// # Errors
    /// As [`Keyring::from_base64`], [`Keyring::read_file`], [`Keyring::write_file`].
    pub fn load_or_create(env: Option<&str>, path: &Path) -> Result<(Keyring, bool), SecretError> {
        if let Some(k) = env {
            return Ok((Self::from_base64(k)?, false));
        }
        if path.exists() {
            return Ok((Self::read_file(path)?, false));
        }
        let k = Self::generate();
        k.write_file(path)?;
        Ok((k, true))
    }

    /// Seals `plaintext` with a fresh random nonce.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory data");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        format!("{PREFIX}{}:{}", self.id, B64.encode(blob))
    }

    /// Opens a value made by [`Keyring::seal`].
    ///
    /// # Errors
    /// [`SecretError::WrongKey`] when sealed with another key, [`SecretError::Corrupt`] when it
    /// is not a sealed value or fails authentication.
    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let rest = sealed
            .strip_prefix(PREFIX)
            .ok_or_else(|| SecretError::Corrupt("not a sealed value".into()))?;
        let (id, b64) = rest
            .split_once(':')
            .ok_or_else(|| SecretError::Corrupt("no key id".into()))?;
        if id != self.id {
            return Err(SecretError::WrongKey {
                sealed_with: id.into(),
                current: self.id.clone(),
            });
        }
        let blob = B64
            .decode(b64)
            .map_err(|e| SecretError::Corrupt(e.to_string()))?;
        if blob.len() < 24 + 16 {
            return Err(SecretError::Corrupt("too short".into()));
        }
        let (nonce, ct) = blob.split_at(24);
        let pt = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| {
                SecretError::Corrupt("authentication failed (altered or truncated)".into())
            })?;
        String::from_utf8(pt).map_err(|e| SecretError::Corrupt(e.to_string()))
    }

    /// True for text produced by [`Keyring::seal`].
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let k = Keyring::generate();
        let s = k.seal("hunter2");
        assert!(Keyring::is_sealed(&s));
        assert!(!s.contains("hunter2"));
        assert_ne!(s, k.seal("hunter2"), "fresh nonce every time");
        assert_eq!(k.open(&s).unwrap(), "hunter2");
        assert_eq!(k.id().len(), 8);
    }

    #[test]
    fn tampering_and_wrong_keys_are_detected() {
        let k = Keyring::generate();
        let s = k.seal("secret");
        let mut bytes = s.clone().into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(matches!(k.open(&tampered), Err(SecretError::Corrupt(_))));
        let other = Keyring::generate();
        let e = other.open(&s).unwrap_err();
        assert!(matches!(e, SecretError::WrongKey { .. }), "{e}");
        assert!(e.to_string().contains(k.id()));
        assert!(matches!(k.open("plain"), Err(SecretError::Corrupt(_))));
    }

    #[test]
    fn keys_from_text_and_files() {
        let k = Keyring::generate();
        assert_eq!(Keyring::from_base64(&k.to_base64()).unwrap().id(), k.id());
        assert!(Keyring::from_base64("not base64!").is_err());
        assert!(Keyring::from_base64(&B64.encode([1u8; 16]))
            .unwrap_err()
            .to_string()
            .contains("16 bytes"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let (a, created) = Keyring::load_or_create(None, &path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            let (b, created) = Keyring::load_or_create(None, &path).unwrap();
            assert!(!created);
            assert_eq!(a.id(), b.id());
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = Keyring::read_file(&path).unwrap_err();
            assert!(e.to_string().contains("must be 0600"), "{e}");
        }
        let (c, _) = Keyring::load_or_create(Some(&k.to_base64()), &path).unwrap();
        assert_eq!(c.id(), k.id(), "the environment wins over the file");
    }
}

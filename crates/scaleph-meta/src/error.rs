use scaleph_engine::IllegalTransition;

/// Store errors; the variant says whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist (client's fault: 404).
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule was violated (client's fault: 409), e.g. a duplicate project name.
    #[error("{0}")]
    Conflict(String),
    /// The state machine refused a transition (409).
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// The request is malformed in a way only the store can tell (422).
    #[error("{0}")]
    Invalid(String),
    /// The database failed (server's fault: 500).
    #[error("database error: {0}")]
    Database(String),
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// SQLSTATE `character_not_in_repertoire`, PostgreSQL's answer to a NUL in text.
const PG_BAD_CHARACTER: &str = "22021";

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
            // PostgreSQL text cannot hold U+0000 ("invalid byte sequence"): the input's fault.
            sqlx::Error::Database(db) if db.code().as_deref() == Some(PG_BAD_CHARACTER) => {
                StoreError::Invalid("text must not contain NUL (U+0000) characters".into())
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

/// Maps a unique violation to [`StoreError::Conflict`] with `msg`; other errors pass through.
pub(crate) fn on_unique(e: sqlx::Error, msg: impl FnOnce() -> String) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(msg());
        }
    }
    e.into()
}
